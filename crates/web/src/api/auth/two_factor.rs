//! The signed-in login's own second factor (`/account/two-factor…`, #21): what the account
//! page does, for a client that signed in through `/login` (a single-page or mobile app).
//!
//! A second factor belongs to a password login, and API tokens are not logins, so these
//! endpoints answer the session cookie (`credence_session`) and nothing else: a bearer token
//! alone is a 403 that says so (it is someone, but no login), no credentials at all a 401. Because a browser sends the cookie by itself, every request
//! that changes something must also carry the session's CSRF token in `X-CSRF-Token` (the
//! status answers it), as the account page's forms carry it in a field.

use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, Utc};
use credence_app::App;
use serde::{Deserialize, Serialize};

use crate::extract::ApiJson;
use crate::pages::auth::session::session_secret;
use crate::problem::{ApiResult, Problem};

/// The header a changing request carries the session's CSRF token in.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// The login of the session cookie; for anything but a read, its CSRF token checked too.
pub struct SessionLogin {
    secret: String,
    email: String,
    csrf: String,
    agency_id: credence_app::ids::AgencyId,
}

impl FromRequestParts<App> for SessionLogin {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Problem> {
        let unauthenticated = || {
            Problem::new(
                StatusCode::UNAUTHORIZED,
                "unauthenticated",
                "Not signed in",
                "sign in at /login first: a second factor belongs to a password login, so this answers the session cookie, not an API token",
            )
        };
        let Some(secret) = session_secret(parts) else {
            if parts
                .headers
                .contains_key(axum::http::header::AUTHORIZATION)
            {
                return Err(Problem::new(
                    StatusCode::FORBIDDEN,
                    "forbidden",
                    "Not allowed",
                    "an API token has no second factor of its own: sign in at /login and call this with the login's session",
                ));
            }
            return Err(unauthenticated());
        };
        let session = app
            .web_session(&secret)
            .await
            .map_err(|_| unauthenticated())?;
        if parts.method != Method::GET && parts.method != Method::HEAD {
            let sent = parts
                .headers
                .get(CSRF_HEADER)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            if !same(sent, &session.csrf_token) {
                return Err(Problem::new(
                    StatusCode::FORBIDDEN,
                    "csrf",
                    "Missing CSRF token",
                    "send the session's csrf_token (GET /api/v1/account/two-factor answers it) in the X-CSRF-Token header",
                ));
            }
        }
        Ok(SessionLogin {
            agency_id: session.actor.agency_id(),
            secret,
            email: session.email,
            csrf: session.csrf_token,
        })
    }
}

/// Compares without stopping at the first difference, so timing tells nothing of the token.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// The login's second factor.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TwoFactorStatus {
    pub enabled: bool,
    pub enabled_at: Option<DateTime<Utc>>,
    pub recovery_codes_left: i64,
    /// The agency requires a second factor of this login (admins, when it says so).
    pub required: bool,
    /// The token changing requests carry in `X-CSRF-Token`.
    pub csrf_token: String,
}

/// A new authenticator key to scan or type; nothing is stored until a code confirms it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Enrolment {
    /// Base32; send it back with the first code.
    pub secret: String,
    /// The `otpauth://totp/…` URI a QR code carries.
    pub otpauth_uri: String,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfirmEnrolment {
    /// The secret the enrolment answered.
    pub secret: String,
    /// A current six-digit code from the app.
    pub code: String,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CurrentCode {
    /// A current six-digit code from the app (each code is accepted once).
    pub code: String,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DisableTwoFactor {
    pub password: String,
    /// A current six-digit code from the app.
    pub code: String,
}

/// Recovery codes, shown this once: each signs in once in place of a code.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RecoveryCodes {
    pub recovery_codes: Vec<String>,
}

async fn status_of(app: &App, login: &SessionLogin) -> ApiResult<TwoFactorStatus> {
    let s = app.two_factor_status(&login.secret).await?;
    Ok(TwoFactorStatus {
        enabled: s.enabled_at.is_some(),
        enabled_at: s.enabled_at,
        recovery_codes_left: s.recovery_codes_left,
        required: s.required,
        csrf_token: login.csrf.clone(),
    })
}

/// The signed-in login's second factor, and the CSRF token for the calls that change it.
#[utoipa::path(get, path = "/account/two-factor", tag = "account",
    responses((status = 200, body = TwoFactorStatus), (status = 401, body = Problem), (status = 403, body = Problem)),
    security(("session" = [])))]
pub async fn status(
    State(app): State<App>,
    login: SessionLogin,
) -> ApiResult<Json<TwoFactorStatus>> {
    Ok(Json(status_of(&app, &login).await?))
}

/// Begin enrolment: a fresh key and its `otpauth://` URI. Nothing is stored; confirming
/// with the key and a code turns two-factor sign-in on. 409 when it is on already.
#[utoipa::path(post, path = "/account/two-factor/enrolment", tag = "account",
    responses((status = 200, body = Enrolment), (status = 401, body = Problem), (status = 403, body = Problem), (status = 409, body = Problem)),
    security(("session" = [])))]
pub async fn begin(State(app): State<App>, login: SessionLogin) -> ApiResult<Json<Enrolment>> {
    if app
        .two_factor_status(&login.secret)
        .await?
        .enabled_at
        .is_some()
    {
        return Err(
            credence_app::AppError::Conflict("two-factor sign-in is already on".into()).into(),
        );
    }
    let agency = app
        .agency(login.agency_id)
        .await
        .map(|a| a.name)
        .unwrap_or_default();
    let fresh = app.new_enrolment(&agency, &login.email);
    Ok(Json(Enrolment {
        secret: fresh.secret,
        otpauth_uri: fresh.uri,
    }))
}

/// Confirm enrolment with the key and a current code: two-factor sign-in is on, the login's
/// other sessions end, and the recovery codes are answered this once. A wrong or malformed
/// code is a 422 and nothing changes.
#[utoipa::path(post, path = "/account/two-factor", tag = "account", request_body = ConfirmEnrolment,
    responses((status = 201, body = RecoveryCodes), (status = 401, body = Problem), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("session" = [])))]
pub async fn confirm(
    State(app): State<App>,
    login: SessionLogin,
    ApiJson(input): ApiJson<ConfirmEnrolment>,
) -> ApiResult<Response> {
    let codes = app
        .enable_two_factor(&login.secret, &input.secret, &input.code)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(RecoveryCodes {
            recovery_codes: codes,
        }),
    )
        .into_response())
}

/// New recovery codes in place of the old ones (which stop working), for a current code.
/// A code already used is refused: each is accepted once.
#[utoipa::path(post, path = "/account/two-factor/recovery-codes", tag = "account", request_body = CurrentCode,
    responses((status = 200, body = RecoveryCodes), (status = 401, body = Problem), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("session" = [])))]
pub async fn recovery_codes(
    State(app): State<App>,
    login: SessionLogin,
    ApiJson(input): ApiJson<CurrentCode>,
) -> ApiResult<Json<RecoveryCodes>> {
    let codes = app
        .regenerate_recovery_codes(&login.secret, &input.code)
        .await?;
    Ok(Json(RecoveryCodes {
        recovery_codes: codes,
    }))
}

/// Turn two-factor sign-in off, with the password and a current code. 409 for an admin
/// whose agency requires it.
#[utoipa::path(post, path = "/account/two-factor/disable", tag = "account", request_body = DisableTwoFactor,
    responses((status = 200, body = TwoFactorStatus), (status = 401, body = Problem), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("session" = [])))]
pub async fn disable(
    State(app): State<App>,
    login: SessionLogin,
    ApiJson(input): ApiJson<DisableTwoFactor>,
) -> ApiResult<Json<TwoFactorStatus>> {
    app.disable_two_factor(&login.secret, &input.password, &input.code)
        .await?;
    Ok(Json(status_of(&app, &login).await?))
}
