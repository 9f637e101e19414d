//! `/members`: people who hold credentials.

use crate::extract::PathIds;
use crate::pages::export_response;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;
use credence_app::ids::MemberId;
use credence_app::imports::exports::FormatParam;
use credence_app::page::{Page, PageParams};
use credence_app::people::members::{MemberListFilter, MemberPatch, MemberView, NewMember};
use credence_app::Admin;
use credence_app::App;

use crate::api::created;
use crate::extract::{ApiJson, ApiQuery, Auth, Can};
use crate::problem::{ApiResult, Problem};

/// List members, ordered by name (a member token sees only itself); `format=csv|xlsx` for
/// every match as a spreadsheet.
#[utoipa::path(get, path = "/members", tag = "members", params(PageParams, MemberListFilter, FormatParam),
    responses((status = 200, body = Page<MemberView>), (status = 401, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn list(
    State(app): State<App>,
    Auth(actor): Auth,
    ApiQuery(page): ApiQuery<PageParams>,
    ApiQuery(filter): ApiQuery<MemberListFilter>,
    ApiQuery(format): ApiQuery<FormatParam>,
) -> ApiResult<Response> {
    if let Some(format) = format.export() {
        let export = app.export_members(&actor.reader()?, filter, format).await?;
        return Ok(export_response(export));
    }
    Ok(Json(app.members(&actor, &filter, &page).await?).into_response())
}

/// Add a member (admin).
#[utoipa::path(post, path = "/members", tag = "members", request_body = NewMember,
    responses((status = 201, body = MemberView), (status = 403, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn create(
    State(app): State<App>,
    Can(admin): Can<Admin>,
    ApiJson(input): ApiJson<NewMember>,
) -> ApiResult<Response> {
    let m = app.create_member(&admin, input).await?;
    Ok(created("members", m.id, m))
}

/// One member.
#[utoipa::path(get, path = "/members/{id}", tag = "members", params(("id" = String, Path)),
    responses((status = 200, body = MemberView), (status = 404, body = Problem)), security(("bearer" = [])))]
pub async fn get(
    State(app): State<App>,
    Auth(actor): Auth,
    PathIds(id): PathIds<MemberId>,
) -> ApiResult<Json<MemberView>> {
    Ok(Json(app.member(&actor, id).await?))
}

/// Change a member (admin); send the `version` you read.
#[utoipa::path(patch, path = "/members/{id}", tag = "members", params(("id" = String, Path)), request_body = MemberPatch,
    responses((status = 200, body = MemberView), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn update(
    State(app): State<App>,
    Can(admin): Can<Admin>,
    PathIds(id): PathIds<MemberId>,
    ApiJson(input): ApiJson<MemberPatch>,
) -> ApiResult<Json<MemberView>> {
    Ok(Json(app.update_member(&admin, id, input).await?))
}

/// Deactivate a member (admin). Their credentials and history stay.
#[utoipa::path(delete, path = "/members/{id}", tag = "members", params(("id" = String, Path)),
    responses((status = 200, body = MemberView), (status = 404, body = Problem)), security(("bearer" = [])))]
pub async fn deactivate(
    State(app): State<App>,
    Auth(actor): Auth,
    PathIds(id): PathIds<MemberId>,
) -> ApiResult<Json<MemberView>> {
    Ok(Json(app.deactivate_member(&actor.admin()?, id).await?))
}

/// The member's training transcript as a PDF: hours by category, by year and by each
/// credential's completion periods, credentials held, every training record. Readers may have
/// anyone's; a member only their own (anyone else's is a 404).
#[utoipa::path(get, path = "/members/{id}/transcript.pdf", tag = "members", params(("id" = String, Path)),
    responses((status = 200, content_type = "application/pdf", description = "the transcript"), (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub async fn transcript(
    State(app): State<App>,
    Auth(actor): Auth,
    PathIds(id): PathIds<MemberId>,
) -> ApiResult<Response> {
    let t = app.transcript_pdf(&actor, id).await?;
    Ok(crate::api::documents::certificates::file_response(
        &t.file_name,
        "application/pdf",
        t.pdf,
        crate::api::documents::certificates::Served::Rendered,
    ))
}
