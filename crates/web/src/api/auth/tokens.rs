//! `/tokens`: the agency's API tokens (admin). Secrets are never shown again after creation.

use crate::extract::PathIds;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use credence_app::auth::tokens::TokenView;
use credence_app::ids::TokenId;
use credence_app::page::{Page, PageParams};
use credence_app::App;

use crate::extract::{ApiQuery, Auth};
use crate::problem::{ApiResult, Problem};

/// Live tokens, newest first, with when each was last used (admin).
#[utoipa::path(get, path = "/tokens", tag = "tokens", params(PageParams),
    responses((status = 200, body = Page<TokenView>), (status = 403, body = Problem)), security(("bearer" = [])))]
pub async fn list(
    State(app): State<App>,
    Auth(actor): Auth,
    ApiQuery(page): ApiQuery<PageParams>,
) -> ApiResult<Json<Page<TokenView>>> {
    Ok(Json(app.tokens(&actor.admin()?, &page).await?))
}

/// Revoke a token at once: its next request is 401 (admin).
#[utoipa::path(delete, path = "/tokens/{id}", tag = "tokens", params(("id" = String, Path)),
    responses((status = 204), (status = 404, body = Problem)), security(("bearer" = [])))]
pub async fn revoke(
    State(app): State<App>,
    Auth(actor): Auth,
    PathIds(id): PathIds<TokenId>,
) -> ApiResult<StatusCode> {
    app.revoke_token(&actor.admin()?, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
