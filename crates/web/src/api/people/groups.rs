//! `/groups`: stations, shifts, ranks, departments, cohorts.

use crate::extract::PathIds;
use axum::extract::State;
use axum::response::Response;
use axum::Json;
use credence_app::ids::GroupId;
use credence_app::page::{Page, PageParams};
use credence_app::people::groups::{
    GroupMembers, GroupMembersView, GroupPatch, GroupView, NewGroup,
};
use credence_app::Admin;
use credence_app::App;

use crate::api::created;
use crate::extract::{ApiJson, ApiQuery, Auth, Can};
use crate::problem::{ApiResult, Problem};

/// List groups.
#[utoipa::path(get, path = "/groups", tag = "groups", params(PageParams),
    responses((status = 200, body = Page<GroupView>), (status = 401, body = Problem)), security(("bearer" = [])))]
pub async fn list(
    State(app): State<App>,
    Auth(actor): Auth,
    ApiQuery(page): ApiQuery<PageParams>,
) -> ApiResult<Json<Page<GroupView>>> {
    Ok(Json(app.groups(&actor.reader()?, &page).await?))
}

/// Create a group (admin).
#[utoipa::path(post, path = "/groups", tag = "groups", request_body = NewGroup,
    responses((status = 201, body = GroupView), (status = 422, body = Problem)), security(("bearer" = [])))]
pub async fn create(
    State(app): State<App>,
    Can(admin): Can<Admin>,
    ApiJson(input): ApiJson<NewGroup>,
) -> ApiResult<Response> {
    let g = app.create_group(&admin, input).await?;
    Ok(created("groups", g.id, g))
}

/// One group.
#[utoipa::path(get, path = "/groups/{id}", tag = "groups", params(("id" = String, Path)),
    responses((status = 200, body = GroupView), (status = 404, body = Problem)), security(("bearer" = [])))]
pub async fn get(
    State(app): State<App>,
    Auth(actor): Auth,
    PathIds(id): PathIds<GroupId>,
) -> ApiResult<Json<GroupView>> {
    Ok(Json(app.group(&actor.reader()?, id).await?))
}

/// Rename or re-kind a group (admin).
#[utoipa::path(patch, path = "/groups/{id}", tag = "groups", params(("id" = String, Path)), request_body = GroupPatch,
    responses((status = 200, body = GroupView), (status = 409, body = Problem), (status = 422, body = Problem)), security(("bearer" = [])))]
pub async fn update(
    State(app): State<App>,
    Can(admin): Can<Admin>,
    PathIds(id): PathIds<GroupId>,
    ApiJson(input): ApiJson<GroupPatch>,
) -> ApiResult<Json<GroupView>> {
    Ok(Json(app.update_group(&admin, id, input).await?))
}

/// Replace the group's members (admin).
#[utoipa::path(put, path = "/groups/{id}/members", tag = "groups", params(("id" = String, Path)), request_body = GroupMembers,
    responses((status = 200, body = GroupMembersView), (status = 404, body = Problem), (status = 422, body = Problem)), security(("bearer" = [])))]
pub async fn set_members(
    State(app): State<App>,
    Can(admin): Can<Admin>,
    PathIds(id): PathIds<GroupId>,
    ApiJson(input): ApiJson<GroupMembers>,
) -> ApiResult<Json<GroupMembersView>> {
    Ok(Json(app.set_group_members(&admin, id, input).await?))
}

/// Add members to the group (admin); those already in it stay as they are. Their membership
/// history starts today.
#[utoipa::path(post, path = "/groups/{id}/members/add", tag = "groups", params(("id" = String, Path)), request_body = GroupMembers,
    responses((status = 200, body = GroupMembersView), (status = 404, body = Problem), (status = 422, body = Problem)), security(("bearer" = [])))]
pub async fn add_members(
    State(app): State<App>,
    Can(admin): Can<Admin>,
    PathIds(id): PathIds<GroupId>,
    ApiJson(input): ApiJson<GroupMembers>,
) -> ApiResult<Json<GroupMembersView>> {
    Ok(Json(app.add_group_members(&admin, id, input).await?))
}

/// Remove members from the group (admin); those not in it are ignored. Their membership
/// history ends today; their credentials stay.
#[utoipa::path(post, path = "/groups/{id}/members/remove", tag = "groups", params(("id" = String, Path)), request_body = GroupMembers,
    responses((status = 200, body = GroupMembersView), (status = 404, body = Problem), (status = 422, body = Problem)), security(("bearer" = [])))]
pub async fn remove_members(
    State(app): State<App>,
    Can(admin): Can<Admin>,
    PathIds(id): PathIds<GroupId>,
    ApiJson(input): ApiJson<GroupMembers>,
) -> ApiResult<Json<GroupMembersView>> {
    Ok(Json(app.remove_group_members(&admin, id, input).await?))
}
