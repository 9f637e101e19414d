//! The public side of Open Badges (no login): an agency's issuer profile, its public keys
//! and its status lists, at the addresses its badges name; and the badge download of the
//! credential page and `/me`.

use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use credence_app::documents::badges::MEDIA_TYPE;
use credence_app::ids::CredentialId;
use credence_app::{App, AppError};

use crate::api::documents::certificates::{file_response, Served};
use crate::extract::PathIds;
use crate::pages::{PageResult, WebUser};
use crate::problem::{ApiResult, Problem};

/// `/issuers/{slug}`: the agency as an Open Badges issuer `Profile`.
pub async fn issuer(State(app): State<App>, Path(slug): Path<String>) -> ApiResult<Response> {
    Ok(Json(app.issuer(&slug).await?).into_response())
}

/// `/issuers/{slug}/jwks.json`: the agency's public keys, retired ones included.
pub async fn jwks(State(app): State<App>, Path(slug): Path<String>) -> ApiResult<Response> {
    let mut response = Json(app.issuer_jwks(&slug).await?).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/jwk-set+json"),
    );
    Ok(response)
}

/// `/status-lists/{slug}/{n}`: revocation list `n` as a signed `BitstringStatusListCredential`.
pub async fn status_list(
    State(app): State<App>,
    Path((slug, n)): Path<(String, String)>,
) -> ApiResult<Response> {
    let n: u64 = n.parse().map_err(|_| Problem::from(AppError::NotFound))?;
    let jwt = app.status_list_credential(&slug, n).await?;
    Ok((
        [
            (header::CONTENT_TYPE, MEDIA_TYPE),
            // Verifiers may keep it a little; a revocation shows within a minute.
            (header::CACHE_CONTROL, "public, max-age=60"),
        ],
        jwt,
    )
        .into_response())
}

/// `/credentials/{id}/badge`: the badge as a file (officers, and a member for their own).
pub async fn download(
    State(app): State<App>,
    user: WebUser,
    PathIds(id): PathIds<CredentialId>,
) -> PageResult {
    let badge = app.credential_badge(&user.actor, id).await?;
    Ok(file_response(
        &badge.file_name,
        MEDIA_TYPE,
        badge.jwt.into_bytes(),
        Served::Download,
    ))
}
