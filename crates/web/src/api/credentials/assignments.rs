//! `/assignments`: assign a credential type to members, groups or everyone.

use axum::extract::State;
use axum::Json;
use credence_app::credentials::assign::{Assignment, AssignmentResult};
use credence_app::App;

use crate::extract::{ApiJson, Can};
use crate::problem::{ApiResult, Problem};
use credence_app::Officer;

/// Assign a type (officer): `completion_period` (→ Not Started) or `active_with_period`
/// (→ Active – Renewal in Progress). Members already holding it come back in `skipped`.
#[utoipa::path(post, path = "/assignments", tag = "credentials", request_body = Assignment,
    responses((status = 200, body = AssignmentResult), (status = 422, body = Problem)), security(("bearer" = [])))]
pub async fn create(
    State(app): State<App>,
    Can(officer): Can<Officer>,
    ApiJson(input): ApiJson<Assignment>,
) -> ApiResult<Json<AssignmentResult>> {
    Ok(Json(app.assign(&officer, input).await?))
}
