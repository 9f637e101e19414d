//! `/qualifications`: named rules over credential types (`all` or `any`) that readiness and
//! the scheduler check answer.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;
use credence_app::catalog::qualifications::{
    NewQualification, QualificationPatch, QualificationView,
};
use credence_app::ids::QualificationId;
use credence_app::page::{Page, PageParams};
use credence_app::{Admin, App};

use crate::api::created;
use crate::extract::{ApiJson, ApiQuery, Auth, Can, PathIds};
use crate::problem::{ApiResult, Problem};

/// List qualifications.
#[utoipa::path(get, path = "/qualifications", tag = "qualifications", params(PageParams),
    responses((status = 200, body = Page<QualificationView>), (status = 401, body = Problem)), security(("bearer" = [])))]
pub async fn list(
    State(app): State<App>,
    Auth(actor): Auth,
    ApiQuery(page): ApiQuery<PageParams>,
) -> ApiResult<Json<Page<QualificationView>>> {
    Ok(Json(app.qualifications(&actor.reader()?, &page).await?))
}

/// Create a qualification over published credential types (admin).
#[utoipa::path(post, path = "/qualifications", tag = "qualifications", request_body = NewQualification,
    responses((status = 201, body = QualificationView), (status = 422, body = Problem)), security(("bearer" = [])))]
pub async fn create(
    State(app): State<App>,
    Can(admin): Can<Admin>,
    ApiJson(input): ApiJson<NewQualification>,
) -> ApiResult<Response> {
    let q = app.create_qualification(&admin, input).await?;
    Ok(created("qualifications", q.id, q))
}

/// One qualification.
#[utoipa::path(get, path = "/qualifications/{id}", tag = "qualifications", params(("id" = String, Path)),
    responses((status = 200, body = QualificationView), (status = 404, body = Problem)), security(("bearer" = [])))]
pub async fn get(
    State(app): State<App>,
    Auth(actor): Auth,
    PathIds(id): PathIds<QualificationId>,
) -> ApiResult<Json<QualificationView>> {
    Ok(Json(app.qualification(&actor.reader()?, id).await?))
}

/// Change a qualification (admin); a stale `version` is 409.
#[utoipa::path(patch, path = "/qualifications/{id}", tag = "qualifications", params(("id" = String, Path)), request_body = QualificationPatch,
    responses((status = 200, body = QualificationView), (status = 409, body = Problem), (status = 422, body = Problem)), security(("bearer" = [])))]
pub async fn update(
    State(app): State<App>,
    Can(admin): Can<Admin>,
    PathIds(id): PathIds<QualificationId>,
    ApiJson(input): ApiJson<QualificationPatch>,
) -> ApiResult<Json<QualificationView>> {
    Ok(Json(app.update_qualification(&admin, id, input).await?))
}

/// Delete a qualification (admin); the audit log keeps what it was.
#[utoipa::path(delete, path = "/qualifications/{id}", tag = "qualifications", params(("id" = String, Path)),
    responses((status = 204), (status = 404, body = Problem)), security(("bearer" = [])))]
pub async fn delete(
    State(app): State<App>,
    Can(admin): Can<Admin>,
    PathIds(id): PathIds<QualificationId>,
) -> ApiResult<StatusCode> {
    app.delete_qualification(&admin, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
