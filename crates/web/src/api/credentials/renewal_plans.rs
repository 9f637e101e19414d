//! The renewal planner: `/credential-types/{id}/renewal-candidates` and `/renewal-plans`.

use crate::extract::PathIds;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;
use credence_app::credentials::renewal_plan::{
    CandidateParams, Candidates, NewRenewalPlan, RenewalPlanResult, RenewalPlanView,
};
use credence_app::ids::{CredentialTypeId, RenewalPlanId};
use credence_app::App;
use credence_app::Officer;

use crate::extract::{ApiJson, ApiQuery, Auth, Can};
use crate::problem::{ApiResult, Problem};

/// Expired and expiring credentials of a type, each with a suggested new period.
#[utoipa::path(get, path = "/credential-types/{id}/renewal-candidates", tag = "renewals", params(("id" = String, Path), CandidateParams),
    responses((status = 200, body = Candidates), (status = 404, body = Problem), (status = 422, body = Problem)), security(("bearer" = [])))]
pub async fn candidates(
    State(app): State<App>,
    Auth(actor): Auth,
    PathIds(id): PathIds<CredentialTypeId>,
    ApiQuery(params): ApiQuery<CandidateParams>,
) -> ApiResult<Json<Candidates>> {
    Ok(Json(
        app.renewal_candidates(&actor.reader()?, id, &params)
            .await?,
    ))
}

/// Renew the chosen credentials in one step (officer); joins the type's existing plan.
/// With `dry_run` nothing is written.
#[utoipa::path(post, path = "/renewal-plans", tag = "renewals", request_body = NewRenewalPlan,
    responses((status = 201, body = RenewalPlanResult), (status = 200, body = RenewalPlanResult, description = "dry run"), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn create(
    State(app): State<App>,
    Can(officer): Can<Officer>,
    ApiJson(input): ApiJson<NewRenewalPlan>,
) -> ApiResult<Response> {
    let result = app.create_renewal_plan(&officer, input).await?;
    let status = if result.dry_run {
        axum::http::StatusCode::OK
    } else {
        axum::http::StatusCode::CREATED
    };
    Ok((status, Json(result)).into_response())
}

/// A plan and every renewal in it.
#[utoipa::path(get, path = "/renewal-plans/{id}", tag = "renewals", params(("id" = String, Path)),
    responses((status = 200, body = RenewalPlanView), (status = 404, body = Problem)), security(("bearer" = [])))]
pub async fn get(
    State(app): State<App>,
    Auth(actor): Auth,
    PathIds(id): PathIds<RenewalPlanId>,
) -> ApiResult<Json<RenewalPlanView>> {
    Ok(Json(app.renewal_plan(&actor.reader()?, id).await?))
}
