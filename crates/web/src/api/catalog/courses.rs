//! `/courses`: units of training, optionally graded.

use crate::extract::PathIds;
use axum::extract::State;
use axum::response::Response;
use axum::Json;
use credence_app::catalog::courses::{CourseFilter, CoursePatch, CourseView, NewCourse};
use credence_app::catalog::credential_types::LifecycleAction;
use credence_app::ids::CourseId;
use credence_app::page::{Page, PageParams};
use credence_app::Admin;
use credence_app::App;

use crate::api::created;
use crate::extract::{ApiJson, ApiQuery, Auth, Can, OptionalJson};
use crate::problem::{ApiResult, Problem};

/// List courses in code order: `q` searches code and name; retired courses only with
/// `include_retired=true`.
#[utoipa::path(get, path = "/courses", tag = "courses", params(PageParams, CourseFilter),
    responses((status = 200, body = Page<CourseView>), (status = 401, body = Problem)), security(("bearer" = [])))]
pub async fn list(
    State(app): State<App>,
    Auth(actor): Auth,
    ApiQuery(page): ApiQuery<PageParams>,
    ApiQuery(filter): ApiQuery<CourseFilter>,
) -> ApiResult<Json<Page<CourseView>>> {
    Ok(Json(
        app.find_courses(&actor.reader()?, &filter, &page).await?,
    ))
}

/// Create a course (admin).
#[utoipa::path(post, path = "/courses", tag = "courses", request_body = NewCourse,
    responses((status = 201, body = CourseView), (status = 422, body = Problem)), security(("bearer" = [])))]
pub async fn create(
    State(app): State<App>,
    Can(admin): Can<Admin>,
    ApiJson(input): ApiJson<NewCourse>,
) -> ApiResult<Response> {
    let c = app.create_course(&admin, input).await?;
    Ok(created("courses", c.id, c))
}

/// One course.
#[utoipa::path(get, path = "/courses/{id}", tag = "courses", params(("id" = String, Path)),
    responses((status = 200, body = CourseView), (status = 404, body = Problem)), security(("bearer" = [])))]
pub async fn get(
    State(app): State<App>,
    Auth(actor): Auth,
    PathIds(id): PathIds<CourseId>,
) -> ApiResult<Json<CourseView>> {
    Ok(Json(app.course(&actor.reader()?, id).await?))
}

/// Change a course (admin).
#[utoipa::path(patch, path = "/courses/{id}", tag = "courses", params(("id" = String, Path)), request_body = CoursePatch,
    responses((status = 200, body = CourseView), (status = 409, body = Problem), (status = 422, body = Problem)), security(("bearer" = [])))]
pub async fn update(
    State(app): State<App>,
    Can(admin): Can<Admin>,
    PathIds(id): PathIds<CourseId>,
    ApiJson(input): ApiJson<CoursePatch>,
) -> ApiResult<Json<CourseView>> {
    Ok(Json(app.update_course(&admin, id, input).await?))
}

/// Retire a course (admin): kept on records and requirements, hidden from pickers, and
/// refused for new classes and training records.
#[utoipa::path(post, path = "/courses/{id}/retire", tag = "courses", params(("id" = String, Path)), request_body(content = Option<LifecycleAction>),
    responses((status = 200, body = CourseView), (status = 409, body = Problem)), security(("bearer" = [])))]
pub async fn retire(
    State(app): State<App>,
    Can(admin): Can<Admin>,
    PathIds(id): PathIds<CourseId>,
    OptionalJson(action): OptionalJson<LifecycleAction>,
) -> ApiResult<Json<CourseView>> {
    Ok(Json(app.retire_course(&admin, id, action).await?))
}
