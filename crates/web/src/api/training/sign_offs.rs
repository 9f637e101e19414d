//! `/sign-offs`: one checklist requirement signed off for a whole crew at once.

use axum::extract::State;
use axum::Json;
use credence_app::training::sign_offs::{BulkSignOff, BulkSignOffResult};
use credence_app::{App, Officer};

use crate::extract::{ApiJson, Can};
use crate::problem::{ApiResult, Problem};

/// Sign off a checklist requirement on every chosen credential in one transaction (officer).
/// Credentials already signed in their open period, without one, or the caller's own are
/// answered in `skipped`; an unknown requirement or credential, a credential of another type,
/// a future date or no evaluator is a 422 and nothing is written. `dry_run` writes nothing;
/// the answer's `operation_id` undoes it.
#[utoipa::path(post, path = "/sign-offs", tag = "training", request_body = BulkSignOff,
    responses((status = 200, body = BulkSignOffResult), (status = 422, body = Problem)), security(("bearer" = [])))]
pub async fn create(
    State(app): State<App>,
    Can(officer): Can<Officer>,
    ApiJson(input): ApiJson<BulkSignOff>,
) -> ApiResult<Json<BulkSignOffResult>> {
    Ok(Json(app.sign_off_many(&officer, input).await?))
}
