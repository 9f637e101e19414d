//! `/exemptions` (a member excused from a credential's requirements until a date) and
//! `/leaves` (a leave of absence that pushes back the member's due dates).

use axum::extract::State;
use axum::response::Response;
use axum::Json;
use credence_app::credentials::exemptions::{
    ExemptionListFilter, ExemptionView, LeaveListFilter, LeaveView, NewExemption, NewLeave,
};
use credence_app::ids::{ExemptionId, LeaveId};
use credence_app::page::{Page, PageParams};
use credence_app::{App, Officer, Reader};

use crate::api::created;
use crate::extract::{ApiJson, ApiQuery, Can, PathIds};
use crate::problem::{ApiResult, Problem};

/// Exemptions of the agency, oldest first; `active=true` for those in force today.
#[utoipa::path(get, path = "/exemptions", tag = "exemptions", params(PageParams, ExemptionListFilter),
    responses((status = 200, body = Page<ExemptionView>), (status = 422, body = Problem)), security(("bearer" = [])))]
pub async fn list(
    State(app): State<App>,
    Can(reader): Can<Reader>,
    ApiQuery(page): ApiQuery<PageParams>,
    ApiQuery(filter): ApiQuery<ExemptionListFilter>,
) -> ApiResult<Json<Page<ExemptionView>>> {
    Ok(Json(app.exemptions(&reader, &filter, &page).await?))
}

/// Excuse a member from one requirement of a credential (or, without `requirement_id`, from
/// all of them) from today until `until` inclusive (officer): while in force the requirement
/// counts as done. The member must hold a track for the type.
#[utoipa::path(post, path = "/exemptions", tag = "exemptions", request_body = NewExemption,
    responses((status = 201, body = ExemptionView), (status = 404, body = Problem), (status = 422, body = Problem)), security(("bearer" = [])))]
pub async fn create(
    State(app): State<App>,
    Can(officer): Can<Officer>,
    ApiJson(input): ApiJson<NewExemption>,
) -> ApiResult<Response> {
    let e = app.create_exemption(&officer, input).await?;
    Ok(created("exemptions", e.id, e))
}

/// End an exemption today (officer); answers it as it now is. Already ended: 409.
#[utoipa::path(delete, path = "/exemptions/{id}", tag = "exemptions", params(("id" = String, Path)),
    responses((status = 200, body = ExemptionView), (status = 404, body = Problem), (status = 409, body = Problem)), security(("bearer" = [])))]
pub async fn end(
    State(app): State<App>,
    Can(officer): Can<Officer>,
    PathIds(id): PathIds<ExemptionId>,
) -> ApiResult<Json<ExemptionView>> {
    Ok(Json(app.end_exemption(&officer, id).await?))
}

/// Leaves of absence, of the agency or one member, oldest first.
#[utoipa::path(get, path = "/leaves", tag = "exemptions", params(PageParams, LeaveListFilter),
    responses((status = 200, body = Page<LeaveView>), (status = 422, body = Problem)), security(("bearer" = [])))]
pub async fn list_leaves(
    State(app): State<App>,
    Can(reader): Can<Reader>,
    ApiQuery(page): ApiQuery<PageParams>,
    ApiQuery(filter): ApiQuery<LeaveListFilter>,
) -> ApiResult<Json<Page<LeaveView>>> {
    Ok(Json(app.leaves(&reader, &filter, &page).await?))
}

/// Record a leave of absence (officer): each of the member's open periods that has not ended
/// before it starts has its end and due date pushed back by the leave's length.
#[utoipa::path(post, path = "/leaves", tag = "exemptions", request_body = NewLeave,
    responses((status = 201, body = LeaveView), (status = 404, body = Problem), (status = 422, body = Problem)), security(("bearer" = [])))]
pub async fn create_leave(
    State(app): State<App>,
    Can(officer): Can<Officer>,
    ApiJson(input): ApiJson<NewLeave>,
) -> ApiResult<Response> {
    let l = app.create_leave(&officer, input).await?;
    Ok(created("leaves", l.id, l))
}

/// Withdraw a leave before it starts (officer): the due dates it moved go back. Once it has
/// begun: 409.
#[utoipa::path(delete, path = "/leaves/{id}", tag = "exemptions", params(("id" = String, Path)),
    responses((status = 200, body = LeaveView), (status = 404, body = Problem), (status = 409, body = Problem)), security(("bearer" = [])))]
pub async fn withdraw_leave(
    State(app): State<App>,
    Can(officer): Can<Officer>,
    PathIds(id): PathIds<LeaveId>,
) -> ApiResult<Json<LeaveView>> {
    Ok(Json(app.withdraw_leave(&officer, id).await?))
}
