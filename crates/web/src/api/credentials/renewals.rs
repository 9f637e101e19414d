//! `/renewals`: manual renewal of types that do not renew automatically.

use axum::extract::State;
use axum::Json;
use credence_app::credentials::renew::{RenewalInput, RenewalResult};
use credence_app::App;

use crate::extract::{ApiJson, Can};
use crate::problem::{ApiResult, Problem};
use credence_app::Officer;

/// Open a new period on each chosen credential of a manual-renewal type (officer).
#[utoipa::path(post, path = "/renewals", tag = "credentials", request_body = RenewalInput,
    responses((status = 200, body = RenewalResult), (status = 422, body = Problem)), security(("bearer" = [])))]
pub async fn create(
    State(app): State<App>,
    Can(officer): Can<Officer>,
    ApiJson(input): ApiJson<RenewalInput>,
) -> ApiResult<Json<RenewalResult>> {
    Ok(Json(app.renew(&officer, input).await?))
}
