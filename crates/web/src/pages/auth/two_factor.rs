//! The sign-in step after a correct password, for a login with a second factor
//! (`/login/two-factor`), or for an admin whose agency requires one and who has none yet
//! (`/login/enrol`). The step is a challenge, not a session: its cookie is another one, sent
//! only to `/login…`, lasting minutes, and its forms carry the challenge's own CSRF token.
//! Also the QR code an authenticator app scans, shared with `/account`.

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use base64::Engine;
use credence_app::auth::two_factor::{
    Enrolment, PendingSignIn, Purpose, SecondFactor, CHALLENGE_MINUTES,
};
use credence_app::auth::NewSession;
use credence_app::{App, AppError};
use serde::Deserialize;

use crate::extract::ClientAddress;
use crate::pages::auth::login::{cookie, safe_next, secure};
use crate::pages::auth::session::COOKIE;
use crate::pages::{assets, error_text, render};

/// The challenge's cookie.
pub const PENDING: &str = "credence_pending";

/// The authenticator's QR code as an image address: an SVG the `qrcode` crate draws, as a
/// `data:` URI, so nothing of it is markup in the page.
pub fn qr_image(uri: &str) -> String {
    let svg = qrcode::QrCode::new(uri.as_bytes())
        .map(|code| {
            code.render::<qrcode::render::svg::Color>()
                .min_dimensions(200, 200)
                .quiet_zone(true)
                .build()
        })
        .unwrap_or_default();
    format!(
        "data:image/svg+xml;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(svg)
    )
}

/// A base32 key in groups of four, for typing into an app.
pub fn key_groups(secret: &str) -> String {
    secret
        .as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

#[derive(Template)]
#[template(path = "sign_in_step.html")]
struct StepPage {
    css: String,
    /// `code`, `enrol` or `codes` (the recovery codes after enrolling).
    step: &'static str,
    email: String,
    csrf: String,
    next: String,
    error: Option<String>,
    /// Enrolment: the QR image and the key (base32, and grouped for reading).
    qr: String,
    secret: String,
    key: String,
    recovery_codes: Vec<String>,
    /// Where "Continue" leads once signed in.
    continue_to: String,
    minutes: i64,
}

impl StepPage {
    fn new(step: &'static str, email: String, csrf: String, next: String) -> StepPage {
        StepPage {
            css: assets::url("app.css"),
            step,
            email,
            csrf,
            next,
            error: None,
            qr: String::new(),
            secret: String::new(),
            key: String::new(),
            recovery_codes: Vec::new(),
            continue_to: String::new(),
            minutes: CHALLENGE_MINUTES,
        }
    }

    fn with_enrolment(mut self, secret: &str, uri: &str) -> StepPage {
        self.qr = qr_image(uri);
        self.secret = secret.to_string();
        self.key = key_groups(secret);
        self
    }
}

fn with_status(mut response: Response, status: StatusCode) -> Response {
    *response.status_mut() = status;
    response
}

/// Sets the challenge cookie and sends the browser to its page.
pub fn start(
    headers: &HeaderMap,
    pending: &PendingSignIn,
    purpose: Purpose,
    next: Option<&str>,
) -> Response {
    let path = match purpose {
        Purpose::Code => "/login/two-factor",
        Purpose::Enrol => "/login/enrol",
    };
    let to = match next {
        Some(n) => format!("{path}?next={}", crate::pages::form_encode(n)),
        None => path.to_string(),
    };
    let mut response = Redirect::to(&to).into_response();
    let set = format!(
        "{PENDING}={}; Path=/login; HttpOnly; SameSite=Strict; Max-Age={}{}",
        pending.secret,
        CHALLENGE_MINUTES * 60,
        secure(headers)
    );
    if let Ok(v) = set.parse() {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
    response
}

/// Back to the login form, saying the step expired, with the challenge cookie cleared.
fn expired() -> Response {
    let mut response = Redirect::to("/login?done=expired").into_response();
    clear_pending(&mut response);
    response
}

fn clear_pending(response: &mut Response) {
    if let Ok(v) = format!("{PENDING}=; Path=/login; HttpOnly; SameSite=Strict; Max-Age=0").parse()
    {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
}

/// Sets the session cookie of a completed sign-in on `response` and clears the challenge's.
fn signed_in(headers: &HeaderMap, response: &mut Response, session: &NewSession) {
    let set = format!(
        "{COOKIE}={}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{}",
        session.secret,
        credence_app::auth::SESSION_HOURS * 3600,
        secure(headers)
    );
    if let Ok(v) = set.parse() {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
    clear_pending(response);
}

/// Where a completed sign-in goes: `next`, else the login's home.
async fn home(app: &App, session: &NewSession, next: Option<String>) -> String {
    if let Some(next) = next {
        return next;
    }
    match app.web_session(&session.secret).await {
        Ok(s) if !s.actor.role().reads_agency() => "/me".into(),
        _ => "/".into(),
    }
}

#[derive(Deserialize, Default)]
pub struct StepQuery {
    next: Option<String>,
}

pub async fn code_form(
    State(app): State<App>,
    headers: HeaderMap,
    Query(q): Query<StepQuery>,
) -> Response {
    let Some(secret) = cookie(&headers, PENDING) else {
        return expired();
    };
    match app.sign_in_challenge(&secret).await {
        Ok(c) if c.purpose == Purpose::Code => render(&StepPage::new(
            "code",
            c.email,
            c.csrf_token,
            safe_next(q.next.as_deref()).unwrap_or_default(),
        )),
        Ok(_) => Redirect::to("/login/enrol").into_response(),
        Err(_) => expired(),
    }
}

#[derive(Deserialize)]
pub struct CodeForm {
    #[serde(default)]
    csrf: String,
    next: Option<String>,
    code: Option<String>,
    recovery_code: Option<String>,
}

pub async fn code_submit(
    State(app): State<App>,
    ClientAddress(address): ClientAddress,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(secret) = cookie(&headers, PENDING) else {
        return expired();
    };
    let Ok(challenge) = app.sign_in_challenge(&secret).await else {
        return expired();
    };
    let form = serde_html_form::from_bytes::<CodeForm>(&body).ok();
    let next = form.as_ref().and_then(|f| safe_next(f.next.as_deref()));
    let mut page = StepPage::new(
        "code",
        challenge.email.clone(),
        challenge.csrf_token.clone(),
        next.clone().unwrap_or_default(),
    );
    let Some(form) = form.filter(|f| f.csrf == challenge.csrf_token) else {
        page.error =
            Some("The form expired or did not come from this site; enter the code again.".into());
        return with_status(render(&page), StatusCode::BAD_REQUEST);
    };
    let answer = match (form.code, form.recovery_code) {
        (_, Some(r)) if !r.trim().is_empty() => SecondFactor::RecoveryCode(r),
        (Some(c), _) => SecondFactor::Code(c),
        _ => SecondFactor::Code(String::new()),
    };
    match app
        .answer_sign_in_challenge(&secret, &answer, &address)
        .await
    {
        Ok(session) => {
            let to = home(&app, &session, next).await;
            let mut response = Redirect::to(&to).into_response();
            signed_in(&headers, &mut response, &session);
            response
        }
        Err(AppError::Unauthenticated) => expired(),
        Err(e) => {
            let status = match e {
                AppError::RateLimited(_) => StatusCode::TOO_MANY_REQUESTS,
                _ => StatusCode::UNPROCESSABLE_ENTITY,
            };
            page.error = Some(step_error(&e));
            with_status(render(&page), status)
        }
    }
}

/// A refused answer in words: the field's message, which says what was wrong.
fn step_error(e: &AppError) -> String {
    match e {
        AppError::Invalid(i) => i
            .errors
            .iter()
            .map(|e| match e.field.as_str() {
                "code" if e.message.starts_with("this code") => {
                    let mut m = e.message.clone();
                    m[..1].make_ascii_uppercase();
                    format!("{m}.")
                }
                "code" => format!("The code {}.", e.message),
                "recovery_code" => format!("The recovery code {}.", e.message),
                "secret" => format!("The key {}.", e.message),
                _ => format!("{}: {}", e.field, e.message),
            })
            .collect::<Vec<_>>()
            .join(" "),
        other => error_text(other),
    }
}

pub async fn enrol_form(
    State(app): State<App>,
    headers: HeaderMap,
    Query(q): Query<StepQuery>,
) -> Response {
    let Some(secret) = cookie(&headers, PENDING) else {
        return expired();
    };
    match app.sign_in_challenge(&secret).await {
        Ok(c) if c.purpose == Purpose::Enrol => {
            let agency = app.challenge_agency_name(&secret).await.unwrap_or_default();
            let Enrolment { secret: key, uri } = app.new_enrolment(&agency, &c.email);
            render(
                &StepPage::new(
                    "enrol",
                    c.email,
                    c.csrf_token,
                    safe_next(q.next.as_deref()).unwrap_or_default(),
                )
                .with_enrolment(&key, &uri),
            )
        }
        Ok(_) => Redirect::to("/login/two-factor").into_response(),
        Err(_) => expired(),
    }
}

#[derive(Deserialize)]
pub struct EnrolForm {
    #[serde(default)]
    csrf: String,
    next: Option<String>,
    #[serde(default)]
    secret: String,
    #[serde(default)]
    code: String,
}

pub async fn enrol_submit(
    State(app): State<App>,
    ClientAddress(address): ClientAddress,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(secret) = cookie(&headers, PENDING) else {
        return expired();
    };
    let challenge = match app.sign_in_challenge(&secret).await {
        Ok(c) if c.purpose == Purpose::Enrol => c,
        _ => return expired(),
    };
    let agency = app.challenge_agency_name(&secret).await.unwrap_or_default();
    let form = serde_html_form::from_bytes::<EnrolForm>(&body).ok();
    let next = form.as_ref().and_then(|f| safe_next(f.next.as_deref()));
    let page = |key: Option<&str>, error: String| {
        let fresh = app.new_enrolment(&agency, &challenge.email);
        // The key the person already scanned stays on the page when it is a real one.
        let key = key
            .filter(|k| {
                credence_domain::totp::base32_decode(k)
                    .is_some_and(|b| b.len() == credence_domain::totp::SECRET_BYTES)
            })
            .map(str::to_string)
            .unwrap_or(fresh.secret);
        let bytes = credence_domain::totp::base32_decode(&key).unwrap_or_default();
        let uri = credence_domain::totp::otpauth_uri(
            &format!("Credence ({agency})"),
            &challenge.email,
            &bytes,
        );
        let mut p = StepPage::new(
            "enrol",
            challenge.email.clone(),
            challenge.csrf_token.clone(),
            next.clone().unwrap_or_default(),
        )
        .with_enrolment(&key, &uri);
        p.error = Some(error);
        p
    };
    let Some(form) = form.filter(|f| f.csrf == challenge.csrf_token) else {
        let p = page(
            None,
            "The form expired or did not come from this site; scan the code and enter it again."
                .into(),
        );
        return with_status(render(&p), StatusCode::BAD_REQUEST);
    };
    match app
        .enrol_at_sign_in(&secret, &form.secret, &form.code, &address)
        .await
    {
        Ok((session, codes)) => {
            let mut p = StepPage::new(
                "codes",
                challenge.email.clone(),
                String::new(),
                String::new(),
            );
            p.recovery_codes = codes;
            p.continue_to = home(&app, &session, next.clone()).await;
            let mut response = render(&p);
            signed_in(&headers, &mut response, &session);
            response
        }
        Err(AppError::Unauthenticated) => expired(),
        Err(e) => with_status(
            render(&page(Some(&form.secret), step_error(&e))),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    }
}
