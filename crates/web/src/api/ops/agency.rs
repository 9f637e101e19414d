//! `/agency`: the caller's agency's settings (its logo is under `/agency/logo`).

use axum::extract::State;
use axum::Json;
use credence_app::ops::agency::{AgencyPatch, AgencyView};
use credence_app::{Admin, App};

use crate::extract::{ApiJson, Auth, Can};
use crate::problem::{ApiResult, Problem};

/// The agency's settings.
#[utoipa::path(get, path = "/agency", tag = "agency",
    responses((status = 200, body = AgencyView), (status = 403, body = Problem)), security(("bearer" = [])))]
pub async fn get(State(app): State<App>, Auth(actor): Auth) -> ApiResult<Json<AgencyView>> {
    Ok(Json(app.agency_settings(&actor.reader()?).await?))
}

/// Change the agency's settings (admin); send the `version` you read. Every field is
/// checked before anything is written; a new expiring-soon window applies to every
/// credential at once.
#[utoipa::path(patch, path = "/agency", tag = "agency", request_body = AgencyPatch,
    responses((status = 200, body = AgencyView), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn update(
    State(app): State<App>,
    Can(admin): Can<Admin>,
    ApiJson(input): ApiJson<AgencyPatch>,
) -> ApiResult<Json<AgencyView>> {
    Ok(Json(app.update_agency_settings(&admin, input).await?))
}
