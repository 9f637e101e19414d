//! `/invitations/{token}` and `/password-reset/{token}`: choosing a password through a
//! one-time link from an e-mail, without a session.
//!
//! A link that does not work — unknown, expired, used, replaced, or its login deactivated —
//! gets one and the same page, which never names an e-mail. The form is protected from
//! cross-site posts by a double-submit token (a cookie and a field that must match), as the
//! login form is. The pages send no referrer, so the link's secret stays on this site.

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use credence_app::auth::links::{LinkPurpose, NewPassword};
use credence_app::{App, AppError};
use credence_domain::FieldError;
use serde::Deserialize;

use crate::pages::auth::login::{cookie, secure};
use crate::pages::{assets, PageError};

const LINK_CSRF: &str = "credence_link";

#[derive(Template)]
#[template(path = "set_password.html")]
struct SetPasswordPage {
    css: String,
    title: &'static str,
    button: &'static str,
    action: String,
    csrf: String,
    /// The login's e-mail; `None` when the link does not work.
    email: Option<String>,
    errors: Vec<FieldError>,
    min_chars: usize,
    max_chars: usize,
}

impl SetPasswordPage {
    fn label(&self, field: &str) -> &'static str {
        match field {
            "password" => "The password",
            "confirm" => "The second password",
            _ => "The form:",
        }
    }

    fn has_error(&self, field: &str) -> bool {
        self.errors.iter().any(|e| e.field == field)
    }
}

#[derive(Deserialize)]
pub struct SetPasswordForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    confirm: String,
}

fn words(purpose: LinkPurpose) -> (&'static str, &'static str) {
    match purpose {
        LinkPurpose::Invitation => ("Welcome to Credence", "Set password"),
        LinkPurpose::PasswordReset => ("Choose a new password", "Save new password"),
    }
}

/// The page for `email` (`None`: the link does not work), with a fresh form token.
fn page(
    headers: &HeaderMap,
    purpose: LinkPurpose,
    token: &str,
    email: Option<String>,
    errors: Vec<FieldError>,
) -> Response {
    let (title, button) = words(purpose);
    let csrf = credence_app::auth::new_secret("");
    let status = match (&email, errors.is_empty()) {
        (None, _) => StatusCode::NOT_FOUND,
        (Some(_), false) => StatusCode::UNPROCESSABLE_ENTITY,
        (Some(_), true) => StatusCode::OK,
    };
    let page = SetPasswordPage {
        css: assets::url("app.css"),
        title,
        button,
        action: format!("/{}/{token}", purpose.path()),
        csrf: csrf.clone(),
        email,
        errors,
        min_chars: credence_domain::passwords::MIN_CHARS,
        max_chars: credence_domain::passwords::MAX_CHARS,
    };
    let mut response = crate::pages::render(&page);
    *response.status_mut() = status;
    let set = format!(
        "{LINK_CSRF}={csrf}; Path=/{}; HttpOnly; SameSite=Strict; Max-Age=3600{}",
        purpose.path(),
        secure(headers)
    );
    let response_headers = response.headers_mut();
    if let Ok(v) = set.parse() {
        response_headers.append(header::SET_COOKIE, v);
    }
    response_headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}

/// A secret we could have made: URL-safe base64 of 32 bytes. Anything else is not looked up.
fn plausible(token: &str) -> bool {
    token.len() == 43
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

async fn show(app: &App, headers: &HeaderMap, purpose: LinkPurpose, token: &str) -> Response {
    if !plausible(token) {
        return page(headers, purpose, token, None, vec![]);
    }
    match app.link_email(purpose, token).await {
        Ok(email) => page(headers, purpose, token, Some(email), vec![]),
        Err(AppError::NotFound) => page(headers, purpose, token, None, vec![]),
        Err(e) => PageError(e).into_response(),
    }
}

async fn submit(
    app: &App,
    headers: &HeaderMap,
    purpose: LinkPurpose,
    token: &str,
    body: &Bytes,
) -> Response {
    if !plausible(token) {
        return page(headers, purpose, token, None, vec![]);
    }
    let email = match app.link_email(purpose, token).await {
        Ok(email) => email,
        Err(AppError::NotFound) => return page(headers, purpose, token, None, vec![]),
        Err(e) => return PageError(e).into_response(),
    };
    let form = serde_html_form::from_bytes::<SetPasswordForm>(body).ok();
    let csrf_ok = form.as_ref().is_some_and(|f| {
        !f.csrf.is_empty() && cookie(headers, LINK_CSRF).as_deref() == Some(f.csrf.as_str())
    });
    let Some(form) = form.filter(|_| csrf_ok) else {
        let expired = FieldError {
            field: "form".into(),
            message: "expired or did not come from this site; enter the password again".into(),
        };
        return page(headers, purpose, token, Some(email), vec![expired]);
    };
    let password = NewPassword {
        password: form.password,
        confirm: form.confirm,
    };
    match app.set_password_by_link(purpose, token, &password).await {
        Ok(()) => Redirect::to("/login?done=password").into_response(),
        Err(AppError::Invalid(invalid)) => {
            page(headers, purpose, token, Some(email), invalid.errors)
        }
        Err(AppError::NotFound) => page(headers, purpose, token, None, vec![]),
        Err(e) => PageError(e).into_response(),
    }
}

pub async fn invitation(
    State(app): State<App>,
    headers: HeaderMap,
    Path(token): Path<String>,
) -> Response {
    show(&app, &headers, LinkPurpose::Invitation, &token).await
}

pub async fn accept_invitation(
    State(app): State<App>,
    headers: HeaderMap,
    Path(token): Path<String>,
    body: Bytes,
) -> Response {
    submit(&app, &headers, LinkPurpose::Invitation, &token, &body).await
}

pub async fn password_reset(
    State(app): State<App>,
    headers: HeaderMap,
    Path(token): Path<String>,
) -> Response {
    show(&app, &headers, LinkPurpose::PasswordReset, &token).await
}

pub async fn reset_password(
    State(app): State<App>,
    headers: HeaderMap,
    Path(token): Path<String>,
    body: Bytes,
) -> Response {
    submit(&app, &headers, LinkPurpose::PasswordReset, &token, &body).await
}
