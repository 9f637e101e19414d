//! Open Badges (#21): a credential's badge as a VC-JWT, verifying one, and rotating the
//! agency's signing key. The issuer profile, keys and status lists are public pages
//! (`pages::documents::badges`), outside the API.

use axum::extract::State;
use axum::response::Response;
use axum::Json;
use credence_app::documents::badges::keys::RotatedKey;
use credence_app::documents::badges::verify::{VerifyRequest, VerifyResult};
use credence_app::documents::badges::MEDIA_TYPE;
use credence_app::ids::CredentialId;
use credence_app::{Admin, App};

use crate::api::documents::certificates::{file_response, Served};
use crate::extract::{ApiJson, Auth, Can, PathIds};
use crate::problem::{ApiResult, Problem};

/// The credential's current issuance as an Open Badges 3.0 `OpenBadgeCredential`, signed by
/// the agency as a VC-JWT (`application/vc+jwt`, EdDSA). A member may fetch their own; a
/// credential never issued, or revoked, is a 409; 503 when this server cannot sign.
#[utoipa::path(get, path = "/credentials/{id}/badge", tag = "badges", params(("id" = String, Path)),
    responses((status = 200, content_type = "application/vc+jwt", body = String, description = "the badge (compact JWS)"),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 503, body = Problem)),
    security(("bearer" = [])))]
pub async fn badge(
    State(app): State<App>,
    Auth(actor): Auth,
    PathIds(id): PathIds<CredentialId>,
) -> ApiResult<Response> {
    let badge = app.credential_badge(&actor, id).await?;
    Ok(file_response(
        &badge.file_name,
        MEDIA_TYPE,
        badge.jwt.into_bytes(),
        Served::Download,
    ))
}

/// Check a badge (no login needed): signature against the issuer's keys, dates, and its
/// status list bit. `unknown` when this server cannot check it (an issuer, key or status
/// list it does not know) — never `valid`. Input that is not a JWT is a 422. Each client
/// address may verify 30 times a minute (a burst of 30); beyond that a 429 with
/// `Retry-After`.
#[utoipa::path(post, path = "/verify", tag = "badges", request_body = VerifyRequest,
    responses((status = 200, body = VerifyResult), (status = 422, body = Problem), (status = 429, body = Problem, description = "too many verifications from this address; see Retry-After")))]
pub async fn verify(
    State(app): State<App>,
    ApiJson(input): ApiJson<VerifyRequest>,
) -> ApiResult<Json<VerifyResult>> {
    Ok(Json(app.verify_badge(&input.jwt).await?))
}

/// Retire the agency's signing key and make a new one (admin). The retired key stays in
/// jwks.json, so badges it signed still verify.
#[utoipa::path(post, path = "/issuer/keys/rotate", tag = "badges",
    responses((status = 200, body = RotatedKey), (status = 403, body = Problem), (status = 503, body = Problem)),
    security(("bearer" = [])))]
pub async fn rotate(State(app): State<App>, Can(admin): Can<Admin>) -> ApiResult<Json<RotatedKey>> {
    Ok(Json(app.rotate_issuer_key(&admin).await?))
}
