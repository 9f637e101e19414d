//! The signed-in user of a page, from the session cookie, and form bodies that must carry
//! the session's CSRF token.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use credence_app::{Actor, App};
use serde::de::DeserializeOwned;
use serde::Deserialize;

pub const COOKIE: &str = "credence_session";

/// A signed-in user; pages without one redirect to the login.
#[derive(Debug, Clone)]
pub struct WebUser {
    pub actor: Actor,
    pub email: String,
    pub csrf: String,
    pub secret: String,
    /// The message stored for this session by the previous answer, shown once.
    pub flash: crate::pages::flash::Flash,
    /// Whether the server has a mail server to send through (else mail is only queued).
    pub sends_mail: bool,
}

pub fn session_secret(parts: &Parts) -> Option<String> {
    parts
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == COOKIE)
        .map(|(_, v)| v.to_string())
}

impl FromRequestParts<App> for WebUser {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Response> {
        let to_login = || {
            let next = parts
                .uri
                .path_and_query()
                .map(|p| p.as_str().to_string())
                .unwrap_or_else(|| "/".into());
            Redirect::to(&format!("/login?next={}", crate::pages::form_encode(&next)))
                .into_response()
        };
        let Some(secret) = session_secret(parts) else {
            return Err(to_login());
        };
        match app.web_session(&secret).await {
            Ok(s) => Ok(WebUser {
                actor: s.actor,
                email: s.email,
                csrf: s.csrf_token,
                secret,
                flash: parts
                    .extensions
                    .get::<crate::pages::flash::Flash>()
                    .cloned()
                    .unwrap_or_default(),
                sends_mail: app.sends_mail(),
            }),
            Err(_) => Err(to_login()),
        }
    }
}

#[derive(Deserialize)]
struct CsrfField {
    csrf: Option<String>,
}

/// A form body from a signed-in user whose CSRF token matches their session. Repeated
/// fields (`credential_ids=a&credential_ids=b`) fill `Vec`s.
pub struct CsrfForm<T>(pub WebUser, pub T);

impl<T: DeserializeOwned> FromRequest<App> for CsrfForm<T> {
    type Rejection = Response;

    async fn from_request(req: Request, app: &App) -> Result<Self, Response> {
        let (mut parts, body) = req.into_parts();
        let user = WebUser::from_request_parts(&mut parts, app).await?;
        let bytes = Bytes::from_request(Request::from_parts(parts, body), app)
            .await
            .map_err(IntoResponse::into_response)?;
        if crate::extract::has_nul(&bytes) {
            return Err(bad(
                "the form has a NUL character, which no field may contain",
            ));
        }
        let token: CsrfField =
            serde_html_form::from_bytes(&bytes).map_err(|_| bad("the form could not be read"))?;
        if token.csrf.as_deref() != Some(user.csrf.as_str()) {
            return Err(bad(
                "the form expired or did not come from this site; reload the page and try again",
            ));
        }
        let form = serde_html_form::from_bytes(&bytes)
            .map_err(|e| bad(&format!("the form has an invalid field: {e}")))?;
        Ok(CsrfForm(user, form))
    }
}

fn bad(message: &str) -> Response {
    (StatusCode::BAD_REQUEST, format!("{message}\n")).into_response()
}

/// Query-string parameters for pages; repeated keys (`status=a&status=b`) fill `Vec`s.
pub struct HtmlQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for HtmlQuery<T> {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Response> {
        let query = parts.uri.query().unwrap_or("");
        if crate::extract::has_nul(query.as_bytes()) {
            return Err(bad("the address has a NUL character"));
        }
        serde_html_form::from_str(query)
            .map(HtmlQuery)
            .map_err(|e| bad(&format!("the address has an invalid parameter: {e}")))
    }
}
