//! `/users`: the agency's logins (admin). Creating one is an invitation: the login has no
//! password until its one-time link, sent through the outbox, is used.

use crate::extract::PathIds;
use axum::extract::State;
use axum::response::Response;
use axum::Json;
use credence_app::auth::users::{NewLogin, UserPatch, UserView};
use credence_app::ids::UserId;
use credence_app::page::{Page, PageParams};
use credence_app::{Admin, App};

use crate::api::created;
use crate::extract::{ApiJson, ApiQuery, Can};
use crate::problem::{ApiResult, Problem};

/// The agency's logins, by e-mail (admin).
#[utoipa::path(get, path = "/users", tag = "users", params(PageParams),
    responses((status = 200, body = Page<UserView>), (status = 403, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn list(
    State(app): State<App>,
    Can(admin): Can<Admin>,
    ApiQuery(page): ApiQuery<PageParams>,
) -> ApiResult<Json<Page<UserView>>> {
    Ok(Json(app.users(&admin, &page).await?))
}

/// Invite a login (admin): it is created without a password, and an e-mail with a one-time
/// link to choose one (valid 72 hours) is queued in the outbox. E-mails are compared without
/// regard to case: an address that already has a login, in any case, is a 422.
#[utoipa::path(post, path = "/users", tag = "users", request_body = NewLogin,
    responses((status = 201, body = UserView), (status = 403, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn create(
    State(app): State<App>,
    Can(admin): Can<Admin>,
    ApiJson(input): ApiJson<NewLogin>,
) -> ApiResult<Response> {
    let user = app.invite_user(&admin, input).await?;
    Ok(created("users", user.id, user))
}

/// Change a login's role or deactivate / reactivate it (admin). Deactivating ends its
/// sessions and revokes its member's API tokens at once. A change that would leave the agency
/// without an active admin login is a 409.
#[utoipa::path(patch, path = "/users/{id}", tag = "users", params(("id" = String, Path)), request_body = UserPatch,
    responses((status = 200, body = UserView), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn update(
    State(app): State<App>,
    Can(admin): Can<Admin>,
    PathIds(id): PathIds<UserId>,
    ApiJson(input): ApiJson<UserPatch>,
) -> ApiResult<Json<UserView>> {
    Ok(Json(app.update_user(&admin, id, input).await?))
}

/// Send the login a one-time link to choose a new password (admin), valid 72 hours, through
/// the outbox; earlier unused links stop working. 409 for a deactivated login.
#[utoipa::path(post, path = "/users/{id}/password-reset", tag = "users", params(("id" = String, Path)),
    responses((status = 200, body = UserView), (status = 404, body = Problem), (status = 409, body = Problem)),
    security(("bearer" = [])))]
pub async fn password_reset(
    State(app): State<App>,
    Can(admin): Can<Admin>,
    PathIds(id): PathIds<UserId>,
) -> ApiResult<Json<UserView>> {
    Ok(Json(app.send_password_reset(&admin, id).await?))
}
