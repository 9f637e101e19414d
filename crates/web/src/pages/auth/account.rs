//! `/account`: the signed-in person's own login — changing their password (the current one
//! is required; their other sessions end) and two-factor sign-in: turning it on with an
//! authenticator app (the QR code and key are shown until then, never after), turning it off
//! (password and a current code), and new recovery codes (shown once).

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use credence_app::auth::links::NewPassword;
use credence_app::auth::two_factor::TwoFactorStatus;
use credence_app::{App, AppError};
use credence_domain::FieldError;
use serde::Deserialize;

use crate::extract::ClientAddress;
use crate::pages::auth::session::CsrfForm;
use crate::pages::auth::two_factor::{key_groups, qr_image};
use crate::pages::{error_text, redirect_with, render, Layout, PageError, WebUser};

#[derive(Template)]
#[template(path = "account.html")]
struct AccountPage {
    layout: Layout,
    role: &'static str,
    errors: Vec<FieldError>,
    min_chars: usize,
    two_factor: TwoFactorStatus,
    /// Errors of the two-factor forms.
    tf_errors: Vec<FieldError>,
    /// While two-factor sign-in is off: a fresh key to enrol (base32), grouped, and its QR.
    secret: String,
    key: String,
    qr: String,
    /// Recovery codes just made, shown this once.
    recovery_codes: Vec<String>,
    recovery_total: usize,
}

impl AccountPage {
    fn label(&self, field: &str) -> &'static str {
        match field {
            "current_password" => "Current password:",
            "password" => "New password:",
            "confirm" => "New password again:",
            _ => "",
        }
    }

    fn has_error(&self, field: &str) -> bool {
        self.errors.iter().any(|e| e.field == field)
    }

    fn tf_label(&self, field: &str) -> &'static str {
        match field {
            "password" => "Password:",
            "code" => "Code:",
            "secret" => "Key:",
            _ => "",
        }
    }

    fn tf_has_error(&self, field: &str) -> bool {
        self.tf_errors.iter().any(|e| e.field == field)
    }
}

/// What the two-factor section shows besides its state.
#[derive(Default)]
struct TwoFactorShown {
    errors: Vec<FieldError>,
    /// The key the person scanned, kept when their first code was wrong.
    secret: Option<String>,
    recovery_codes: Vec<String>,
}

async fn account_page(
    app: &App,
    user: &WebUser,
    errors: Vec<FieldError>,
    shown: TwoFactorShown,
) -> Response {
    let two_factor = match app.two_factor_status(&user.secret).await {
        Ok(s) => s,
        Err(e) => return PageError(e).into_response(),
    };
    let (secret, qr) = if two_factor.enabled_at.is_none() {
        let agency = app
            .agency(user.actor.agency_id())
            .await
            .map(|a| a.name)
            .unwrap_or_default();
        let fresh = app.new_enrolment(&agency, &user.email);
        let kept = shown.secret.filter(|s| {
            credence_domain::totp::base32_decode(s)
                .is_some_and(|b| b.len() == credence_domain::totp::SECRET_BYTES)
        });
        match kept {
            Some(secret) => {
                let bytes = credence_domain::totp::base32_decode(&secret).unwrap_or_default();
                let uri = credence_domain::totp::otpauth_uri(
                    &format!("Credence ({agency})"),
                    &user.email,
                    &bytes,
                );
                (secret, qr_image(&uri))
            }
            None => (fresh.secret, qr_image(&fresh.uri)),
        }
    } else {
        (String::new(), String::new())
    };
    let page = AccountPage {
        layout: Layout::new(user, "Account", "account"),
        role: user.actor.role().as_str(),
        errors,
        min_chars: credence_domain::passwords::MIN_CHARS,
        two_factor,
        tf_errors: shown.errors,
        key: key_groups(&secret),
        secret,
        qr,
        recovery_codes: shown.recovery_codes,
        recovery_total: credence_domain::totp::RECOVERY_CODES,
    };
    render(&page)
}

pub async fn page(State(app): State<App>, user: WebUser) -> Response {
    account_page(&app, &user, vec![], TwoFactorShown::default()).await
}

#[derive(Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    confirm: String,
}

pub async fn change_password(
    State(app): State<App>,
    ClientAddress(address): ClientAddress,
    CsrfForm(user, form): CsrfForm<PasswordForm>,
) -> Response {
    let password = NewPassword {
        password: form.password,
        confirm: form.confirm,
    };
    match app
        .change_own_password(&user.secret, &form.current_password, &password, &address)
        .await
    {
        Ok(()) => redirect_with(
            "/account",
            "notice",
            "Your password is changed. Your other sessions were signed out.",
        ),
        Err(AppError::Invalid(invalid)) => {
            let mut response =
                account_page(&app, &user, invalid.errors, TwoFactorShown::default()).await;
            *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            response
        }
        Err(e) => PageError(e).into_response(),
    }
}

#[derive(Deserialize)]
pub struct TwoFactorForm {
    #[serde(default)]
    secret: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    password: String,
}

/// The answer to a two-factor form: the page with the new recovery codes, the page with the
/// form's errors (422), or back to the page with a message.
async fn answer(
    app: &App,
    user: &WebUser,
    outcome: Result<Vec<String>, AppError>,
    done: &str,
    secret: Option<String>,
) -> Response {
    match outcome {
        Ok(codes) if !codes.is_empty() => {
            let shown = TwoFactorShown {
                recovery_codes: codes,
                ..Default::default()
            };
            account_page(app, user, vec![], shown).await
        }
        Ok(_) => redirect_with("/account", "notice", done),
        Err(AppError::Invalid(invalid)) => {
            let shown = TwoFactorShown {
                errors: invalid.errors,
                secret,
                ..Default::default()
            };
            let mut response = account_page(app, user, vec![], shown).await;
            *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            response
        }
        Err(e @ AppError::Conflict(_)) => redirect_with("/account", "error", &error_text(&e)),
        Err(e) => PageError(e).into_response(),
    }
}

pub async fn enable_two_factor(
    State(app): State<App>,
    CsrfForm(user, form): CsrfForm<TwoFactorForm>,
) -> Response {
    let outcome = app
        .enable_two_factor(&user.secret, &form.secret, &form.code)
        .await;
    answer(&app, &user, outcome, "", Some(form.secret)).await
}

pub async fn disable_two_factor(
    State(app): State<App>,
    CsrfForm(user, form): CsrfForm<TwoFactorForm>,
) -> Response {
    let outcome = app
        .disable_two_factor(&user.secret, &form.password, &form.code)
        .await
        .map(|()| Vec::new());
    answer(
        &app,
        &user,
        outcome,
        "Two-factor sign-in is off: your password alone signs you in.",
        None,
    )
    .await
}

pub async fn regenerate_recovery_codes(
    State(app): State<App>,
    CsrfForm(user, form): CsrfForm<TwoFactorForm>,
) -> Response {
    let outcome = app
        .regenerate_recovery_codes(&user.secret, &form.code)
        .await;
    answer(&app, &user, outcome, "", None).await
}
