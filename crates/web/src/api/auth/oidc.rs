//! `/agency/sign-in`: the agency's identity provider for single sign-on (OpenID Connect),
//! admin only. The client secret is write-only.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use credence_app::auth::oidc::{SignInProviderInput, SignInProviderView};
use credence_app::{Admin, App, AppError};

use crate::extract::{ApiJson, Can};
use crate::problem::{ApiResult, Problem};

/// The agency's identity provider (admin); 404 when it has none.
#[utoipa::path(get, path = "/agency/sign-in", tag = "agency",
    responses((status = 200, body = SignInProviderView), (status = 403, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub async fn get(
    State(app): State<App>,
    Can(admin): Can<Admin>,
) -> ApiResult<Json<SignInProviderView>> {
    Ok(Json(
        app.oidc_provider(&admin).await?.ok_or(AppError::NotFound)?,
    ))
}

/// Set the agency's identity provider (admin). The issuer's discovery document and keys are
/// fetched first: an issuer that cannot be reached, or that names itself otherwise, is a 422
/// on `issuer`. `client_secret` is required the first time and kept when left out later; it
/// is stored encrypted and never returned. Send the `version` you read when changing one; a
/// stale one is a 409. 503 when the server has no key-encryption key to store the secret.
#[utoipa::path(put, path = "/agency/sign-in", tag = "agency", request_body = SignInProviderInput,
    responses((status = 200, body = SignInProviderView), (status = 403, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem), (status = 503, body = Problem)),
    security(("bearer" = [])))]
pub async fn put(
    State(app): State<App>,
    Can(admin): Can<Admin>,
    ApiJson(input): ApiJson<SignInProviderInput>,
) -> ApiResult<Json<SignInProviderView>> {
    Ok(Json(app.save_oidc_provider(&admin, input).await?))
}

/// Remove the agency's identity provider (admin): passwords only from then on.
#[utoipa::path(delete, path = "/agency/sign-in", tag = "agency",
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub async fn delete(State(app): State<App>, Can(admin): Can<Admin>) -> ApiResult<StatusCode> {
    app.remove_oidc_provider(&admin).await?;
    Ok(StatusCode::NO_CONTENT)
}
