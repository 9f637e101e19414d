//! Sign in and out (a second factor, when due, is `two_factor`'s step). The login form is
//! protected from cross-site posts by a double-submit token (a cookie and a field that must
//! match), since there is no session yet.

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::header;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use credence_app::{App, AppError};
use serde::Deserialize;

use credence_app::auth::oidc::SignInButton;
use credence_app::auth::two_factor::{Purpose, SignIn};

use crate::extract::ClientAddress;
use crate::pages::auth::session::{CsrfForm, COOKIE};
use crate::pages::auth::two_factor;
use crate::pages::{assets, error_text, render};

const LOGIN_CSRF: &str = "credence_login";

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    css: String,
    csrf: String,
    next: String,
    email: String,
    notice: Option<String>,
    error: Option<String>,
    /// "Sign in with …" through the agency's identity provider, when it has one.
    oidc: Option<SignInButton>,
}

impl LoginPage {
    /// The provider's start address, carrying `next`.
    fn oidc_href(&self, button: &SignInButton) -> String {
        let mut href = format!("/login/oidc/{}", button.agency_slug);
        if !self.next.is_empty() {
            href.push_str("?next=");
            href.push_str(&crate::pages::form_encode(&self.next));
        }
        href
    }
}

#[derive(Deserialize, Default)]
pub struct LoginQuery {
    next: Option<String>,
    /// The agency whose identity provider to offer (`/login?agency=metro-fire`); without it,
    /// the server's only agency's, if there is one agency.
    agency: Option<String>,
    /// `password`: a password was just set through an e-mailed link. Only known values show
    /// a message, and its words are the server's, so a link cannot put text on the page.
    done: Option<String>,
}

/// The message for a `done` the server itself redirects with.
fn done_notice(done: Option<&str>) -> Option<String> {
    match done {
        Some("password") => {
            Some("Your password is set. Sign in with your e-mail and the new password.".into())
        }
        Some("expired") => Some(format!(
            "Your sign-in was not finished within {} minutes; sign in again.",
            credence_app::auth::two_factor::CHALLENGE_MINUTES
        )),
        _ => None,
    }
}

#[derive(Deserialize)]
pub struct LoginForm {
    email: String,
    password: String,
    csrf: String,
    next: Option<String>,
}

/// Only same-site paths are followed after login.
pub(crate) fn safe_next(next: Option<&str>) -> Option<String> {
    next.filter(|n| crate::pages::is_local_path(n))
        .map(str::to_string)
}

/// The value of the request cookie `name` (the session, the login form's token, the flash).
pub(crate) fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

/// `Secure` when the request came over HTTPS (directly or through a proxy).
pub(crate) fn secure(headers: &HeaderMap) -> &'static str {
    let https = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        == Some("https");
    if https {
        "; Secure"
    } else {
        ""
    }
}

async fn page(
    app: &App,
    headers: &HeaderMap,
    next: String,
    email: String,
    error: Option<String>,
) -> Response {
    let oidc = app.oidc_button(None).await.ok().flatten();
    page_with(headers, next, email, None, error, oidc)
}

/// The sign-in page with `error`, offering `oidc` (for the provider's refusals).
pub(crate) fn page_for(
    headers: &HeaderMap,
    next: String,
    oidc: Option<SignInButton>,
    error: Option<String>,
) -> Response {
    page_with(headers, next, String::new(), None, error, oidc)
}

fn page_with(
    headers: &HeaderMap,
    next: String,
    email: String,
    notice: Option<String>,
    error: Option<String>,
    oidc: Option<SignInButton>,
) -> Response {
    let token = credence_app::auth::new_secret("");
    let mut response = render(&LoginPage {
        css: assets::url("app.css"),
        csrf: token.clone(),
        next,
        email,
        notice,
        error,
        oidc,
    });
    let set = format!(
        "{LOGIN_CSRF}={token}; Path=/login; HttpOnly; SameSite=Strict; Max-Age=3600{}",
        secure(headers)
    );
    if let Ok(v) = set.parse() {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
    response
}

pub async fn form(
    State(app): State<App>,
    headers: HeaderMap,
    Query(q): Query<LoginQuery>,
) -> Response {
    let oidc = app.oidc_button(q.agency.as_deref()).await.ok().flatten();
    page_with(
        &headers,
        safe_next(q.next.as_deref()).unwrap_or_default(),
        String::new(),
        done_notice(q.done.as_deref()),
        None,
        oidc,
    )
}

pub async fn submit(
    State(app): State<App>,
    ClientAddress(address): ClientAddress,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Ok(form) = serde_html_form::from_bytes::<LoginForm>(&body) else {
        return page(
            &app,
            &headers,
            String::new(),
            String::new(),
            Some("Enter your e-mail and password.".into()),
        )
        .await;
    };
    let next = safe_next(form.next.as_deref());
    if cookie(&headers, LOGIN_CSRF).as_deref() != Some(form.csrf.as_str()) {
        return page(
            &app,
            &headers,
            next.unwrap_or_default(),
            form.email,
            Some("The form expired; please sign in again.".into()),
        )
        .await;
    }
    match app.sign_in(&form.email, &form.password, &address).await {
        Ok(SignIn::Code(pending)) => {
            two_factor::start(&headers, &pending, Purpose::Code, next.as_deref())
        }
        Ok(SignIn::Enrol(pending)) => {
            two_factor::start(&headers, &pending, Purpose::Enrol, next.as_deref())
        }
        Ok(SignIn::Session(session)) => {
            let actor = app.web_session(&session.secret).await.map(|s| s.actor);
            let home = match actor {
                Ok(a) if !a.role().reads_agency() => "/me".to_string(),
                _ => "/".to_string(),
            };
            let mut response = Redirect::to(&next.unwrap_or(home)).into_response();
            let set = format!(
                "{COOKIE}={}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{}",
                session.secret,
                credence_app::auth::SESSION_HOURS * 3600,
                secure(&headers)
            );
            if let Ok(v) = set.parse() {
                response.headers_mut().append(header::SET_COOKIE, v);
            }
            response
        }
        Err(AppError::Unauthenticated) => {
            page(
                &app,
                &headers,
                next.unwrap_or_default(),
                form.email,
                Some("That e-mail and password do not match.".into()),
            )
            .await
        }
        Err(e) => {
            page(
                &app,
                &headers,
                next.unwrap_or_default(),
                form.email,
                Some(error_text(&e)),
            )
            .await
        }
    }
}

#[derive(Deserialize)]
pub struct Empty {}

pub async fn logout(State(app): State<App>, CsrfForm(user, _): CsrfForm<Empty>) -> Response {
    let _ = app.logout(&user.secret).await;
    let mut response = Redirect::to("/login").into_response();
    if let Ok(v) = format!("{COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0").parse() {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_are_followed() {
        assert_eq!(
            safe_next(Some("/credentials?x=1")),
            Some("/credentials?x=1".into())
        );
        assert_eq!(safe_next(Some("//evil.example")), None);
        assert_eq!(safe_next(Some("https://evil.example")), None);
        // Browsers drop TAB and newlines and read a backslash as a slash: all `//evil`.
        for forged in [
            "/\t/evil.example/",
            "/\n/evil.example",
            "/\\evil.example",
            "/ /evil",
            "/\u{0}x",
        ] {
            assert_eq!(safe_next(Some(forged)), None, "{forged:?}");
        }
    }
}
