//! `/classes`: offerings of a course with a roster, completed into training records.

use axum::extract::State;
use axum::response::Response;
use axum::Json;
use credence_app::ids::ClassId;
use credence_app::page::{Page, PageParams};
use credence_app::training::classes::{
    ClassDetail, ClassListFilter, ClassView, CompleteClass, NewClass, ReopenClass, RosterAdd,
    RosterMembers,
};
use credence_app::training::sign_offs::{RosterSignOff, RosterSignOffResult};
use credence_app::{App, Officer};

use crate::api::created;
use crate::extract::{ApiJson, ApiQuery, Auth, Can, OptionalJson, PathIds};
use crate::problem::{ApiResult, Problem};

/// Classes: `when=upcoming` (soonest first), `past` or `all` (latest first).
#[utoipa::path(get, path = "/classes", tag = "classes", params(PageParams, ClassListFilter),
    responses((status = 200, body = Page<ClassView>), (status = 422, body = Problem)), security(("bearer" = [])))]
pub async fn list(
    State(app): State<App>,
    Auth(actor): Auth,
    ApiQuery(page): ApiQuery<PageParams>,
    ApiQuery(filter): ApiQuery<ClassListFilter>,
) -> ApiResult<Json<Page<ClassView>>> {
    Ok(Json(app.classes(&actor.reader()?, &filter, &page).await?))
}

/// Schedule a class of a current course (officer).
#[utoipa::path(post, path = "/classes", tag = "classes", request_body = NewClass,
    responses((status = 201, body = ClassDetail), (status = 422, body = Problem)), security(("bearer" = [])))]
pub async fn create(
    State(app): State<App>,
    Can(officer): Can<Officer>,
    ApiJson(input): ApiJson<NewClass>,
) -> ApiResult<Response> {
    let c = app.create_class(&officer, input).await?;
    Ok(created("classes", c.class.id, c))
}

/// One class with its roster and results.
#[utoipa::path(get, path = "/classes/{id}", tag = "classes", params(("id" = String, Path)),
    responses((status = 200, body = ClassDetail), (status = 404, body = Problem)), security(("bearer" = [])))]
pub async fn get(
    State(app): State<App>,
    Auth(actor): Auth,
    PathIds(id): PathIds<ClassId>,
) -> ApiResult<Json<ClassDetail>> {
    Ok(Json(app.class(&actor.reader()?, id).await?))
}

/// Make the roster exactly these members (officer); within the class's capacity, and only
/// while the class is not completed (409).
#[utoipa::path(put, path = "/classes/{id}/roster", tag = "classes", params(("id" = String, Path)), request_body = RosterMembers,
    responses((status = 200, body = ClassDetail), (status = 409, body = Problem), (status = 422, body = Problem)), security(("bearer" = [])))]
pub async fn set_roster(
    State(app): State<App>,
    Can(officer): Can<Officer>,
    PathIds(id): PathIds<ClassId>,
    ApiJson(input): ApiJson<RosterMembers>,
) -> ApiResult<Json<ClassDetail>> {
    Ok(Json(app.set_roster(&officer, id, input).await?))
}

/// Add members, and the active members of whole groups, to the roster (officer); those
/// already on it stay as they are. Within the class's capacity.
#[utoipa::path(post, path = "/classes/{id}/roster/add", tag = "classes", params(("id" = String, Path)), request_body = RosterAdd,
    responses((status = 200, body = ClassDetail), (status = 409, body = Problem), (status = 422, body = Problem)), security(("bearer" = [])))]
pub async fn add_to_roster(
    State(app): State<App>,
    Can(officer): Can<Officer>,
    PathIds(id): PathIds<ClassId>,
    ApiJson(input): ApiJson<RosterAdd>,
) -> ApiResult<Json<ClassDetail>> {
    Ok(Json(app.add_to_roster(&officer, id, input).await?))
}

/// Take members off the roster (officer); those not on it are ignored.
#[utoipa::path(post, path = "/classes/{id}/roster/remove", tag = "classes", params(("id" = String, Path)), request_body = RosterMembers,
    responses((status = 200, body = ClassDetail), (status = 409, body = Problem), (status = 422, body = Problem)), security(("bearer" = [])))]
pub async fn remove_from_roster(
    State(app): State<App>,
    Can(officer): Can<Officer>,
    PathIds(id): PathIds<ClassId>,
    ApiJson(input): ApiJson<RosterMembers>,
) -> ApiResult<Json<ClassDetail>> {
    Ok(Json(app.remove_from_roster(&officer, id, input).await?))
}

/// Complete the class with every attendee's result (officer): one training record per
/// attendee (source `class`), progress recomputed, in one transaction. Roster members
/// without a result did not attend. A bad result is a 422 naming each; completing twice is
/// a 409 (reopen first).
#[utoipa::path(post, path = "/classes/{id}/complete", tag = "classes", params(("id" = String, Path)), request_body = CompleteClass,
    responses((status = 200, body = ClassDetail), (status = 409, body = Problem), (status = 422, body = Problem)), security(("bearer" = [])))]
pub async fn complete(
    State(app): State<App>,
    Can(officer): Can<Officer>,
    PathIds(id): PathIds<ClassId>,
    ApiJson(input): ApiJson<CompleteClass>,
) -> ApiResult<Json<ClassDetail>> {
    Ok(Json(app.complete_class(&officer, id, input).await?))
}

/// Reopen a completed class to correct it (officer). Its training records stay until it is
/// completed again, which rewrites them from the corrected results.
#[utoipa::path(post, path = "/classes/{id}/reopen", tag = "classes", params(("id" = String, Path)), request_body(content = Option<ReopenClass>),
    responses((status = 200, body = ClassDetail), (status = 409, body = Problem)), security(("bearer" = [])))]
pub async fn reopen(
    State(app): State<App>,
    Can(officer): Can<Officer>,
    PathIds(id): PathIds<ClassId>,
    OptionalJson(input): OptionalJson<ReopenClass>,
) -> ApiResult<Json<ClassDetail>> {
    Ok(Json(app.reopen_class(&officer, id, input).await?))
}

/// Sign off one checklist requirement for everyone on the roster who holds that credential,
/// in one transaction (officer): an undoable operation, like `POST /sign-offs`. Members
/// without the credential are answered in `not_assigned`.
#[utoipa::path(post, path = "/classes/{id}/sign-off", tag = "classes", params(("id" = String, Path)), request_body = RosterSignOff,
    responses((status = 200, body = RosterSignOffResult), (status = 404, body = Problem), (status = 422, body = Problem)), security(("bearer" = [])))]
pub async fn sign_off(
    State(app): State<App>,
    Can(officer): Can<Officer>,
    PathIds(id): PathIds<ClassId>,
    ApiJson(input): ApiJson<RosterSignOff>,
) -> ApiResult<Json<RosterSignOffResult>> {
    Ok(Json(app.sign_off_roster(&officer, id, input).await?))
}
