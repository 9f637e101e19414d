//! `/credentials`: the Manage Credentials list, one credential, issue, bulk update,
//! checklist sign-off and revoke.

use crate::extract::PathIds;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;
use credence_app::credentials::issue::{BulkUpdate, BulkUpdateResult, IssueInput};
use credence_app::credentials::revoke::{BulkRevoke, BulkRevokeResult, RevokeInput};
use credence_app::credentials::views::{CredentialDetail, CredentialListFilter, CredentialView};
use credence_app::ids::{CredentialId, RequirementId};
use credence_app::imports::exports::FormatParam;
use credence_app::page::{Page, PageParams};
use credence_app::training::records::SignOffInput;
use credence_app::App;
use credence_app::Officer;

use crate::extract::{ApiJson, ApiQuery, Auth, Can};
use crate::problem::{ApiResult, Problem};

/// Credentials of the agency, filtered and sorted on stored columns (a member sees their
/// own); `format=csv|xlsx` for every match as a spreadsheet naming members (employee number,
/// groups), types and issuing officers.
#[utoipa::path(get, path = "/credentials", tag = "credentials", params(PageParams, CredentialListFilter, FormatParam),
    responses((status = 200, body = Page<CredentialView>), (status = 422, body = Problem)), security(("bearer" = [])))]
pub async fn list(
    State(app): State<App>,
    Auth(actor): Auth,
    ApiQuery(page): ApiQuery<PageParams>,
    ApiQuery(filter): ApiQuery<CredentialListFilter>,
    ApiQuery(format): ApiQuery<FormatParam>,
) -> ApiResult<Response> {
    if let Some(format) = format.export() {
        let export = app
            .export_credentials(&actor.reader()?, filter, format)
            .await?;
        return Ok(crate::pages::export_response(export));
    }
    Ok(Json(app.credentials(&actor, &filter, &page).await?).into_response())
}

/// One credential with requirement progress, periods and issuances.
#[utoipa::path(get, path = "/credentials/{id}", tag = "credentials", params(("id" = String, Path)),
    responses((status = 200, body = CredentialDetail), (status = 404, body = Problem)), security(("bearer" = [])))]
pub async fn get(
    State(app): State<App>,
    Auth(actor): Auth,
    PathIds(id): PathIds<CredentialId>,
) -> ApiResult<Json<CredentialDetail>> {
    Ok(Json(app.credential(&actor, id).await?))
}

/// Issue the credential (officer); omitted expiration and number default from the type.
#[utoipa::path(post, path = "/credentials/{id}/issue", tag = "credentials", params(("id" = String, Path)), request_body = IssueInput,
    responses((status = 200, body = CredentialDetail), (status = 404, body = Problem), (status = 422, body = Problem)), security(("bearer" = [])))]
pub async fn issue(
    State(app): State<App>,
    Can(officer): Can<Officer>,
    PathIds(id): PathIds<CredentialId>,
    ApiJson(input): ApiJson<IssueInput>,
) -> ApiResult<Json<CredentialDetail>> {
    Ok(Json(app.issue(&officer, id, input).await?))
}

/// Set chosen issue fields on many credentials at once; any error is a 422 listing each and
/// nothing is written.
#[utoipa::path(post, path = "/credentials/bulk-update", tag = "credentials", request_body = BulkUpdate,
    responses((status = 200, body = BulkUpdateResult), (status = 422, body = Problem)), security(("bearer" = [])))]
pub async fn bulk_update(
    State(app): State<App>,
    Can(officer): Can<Officer>,
    ApiJson(input): ApiJson<BulkUpdate>,
) -> ApiResult<Json<BulkUpdateResult>> {
    Ok(Json(app.bulk_update(&officer, input).await?))
}

/// Sign off a checklist requirement in the open period (officer).
#[utoipa::path(post, path = "/credentials/{id}/requirements/{requirement_id}/sign-off", tag = "credentials",
    params(("id" = String, Path), ("requirement_id" = String, Path)), request_body = SignOffInput,
    responses((status = 200, body = CredentialDetail), (status = 404, body = Problem), (status = 409, body = Problem)), security(("bearer" = [])))]
pub async fn sign_off(
    State(app): State<App>,
    Can(officer): Can<Officer>,
    PathIds((id, requirement_id)): PathIds<(CredentialId, RequirementId)>,
    ApiJson(input): ApiJson<SignOffInput>,
) -> ApiResult<Json<CredentialDetail>> {
    Ok(Json(
        app.sign_off(&officer, id, requirement_id, input).await?,
    ))
}

/// Revoke the current issuance with a reason (officer).
#[utoipa::path(post, path = "/credentials/{id}/revoke", tag = "credentials", params(("id" = String, Path)), request_body = RevokeInput,
    responses((status = 200, body = CredentialDetail), (status = 409, body = Problem)), security(("bearer" = [])))]
pub async fn revoke(
    State(app): State<App>,
    Can(officer): Can<Officer>,
    PathIds(id): PathIds<CredentialId>,
    ApiJson(input): ApiJson<RevokeInput>,
) -> ApiResult<Json<CredentialDetail>> {
    Ok(Json(app.revoke(&officer, id, input).await?))
}

/// Revoke many credentials at once with one reason, all or nothing: any credential that
/// cannot be revoked is a 422 naming it, and nothing is written (officer).
#[utoipa::path(post, path = "/credentials/bulk-revoke", tag = "credentials", request_body = BulkRevoke,
    responses((status = 200, body = BulkRevokeResult), (status = 422, body = Problem)), security(("bearer" = [])))]
pub async fn bulk_revoke(
    State(app): State<App>,
    Can(officer): Can<Officer>,
    ApiJson(input): ApiJson<BulkRevoke>,
) -> ApiResult<Json<BulkRevokeResult>> {
    Ok(Json(app.bulk_revoke(&officer, input).await?))
}
