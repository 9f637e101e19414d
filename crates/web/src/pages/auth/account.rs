//! `/account`: the signed-in person's own login — changing their password (the current one
//! is required; their other sessions end).

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use credence_app::auth::links::NewPassword;
use credence_app::{App, AppError};
use credence_domain::FieldError;
use serde::Deserialize;

use crate::pages::auth::session::CsrfForm;
use crate::pages::{redirect_with, render, Layout, PageError, WebUser};

#[derive(Template)]
#[template(path = "account.html")]
struct AccountPage {
    layout: Layout,
    role: &'static str,
    errors: Vec<FieldError>,
    min_chars: usize,
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
}

fn account_page(user: &WebUser, errors: Vec<FieldError>) -> Response {
    let page = AccountPage {
        layout: Layout::new(user, "Account", "account"),
        role: user.actor.role().as_str(),
        errors,
        min_chars: credence_domain::passwords::MIN_CHARS,
    };
    render(&page)
}

pub async fn page(user: WebUser) -> Response {
    account_page(&user, vec![])
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
    CsrfForm(user, form): CsrfForm<PasswordForm>,
) -> Response {
    let password = NewPassword {
        password: form.password,
        confirm: form.confirm,
    };
    match app
        .change_own_password(&user.secret, &form.current_password, &password)
        .await
    {
        Ok(()) => redirect_with(
            "/account",
            "notice",
            "Your password is changed. Your other sessions were signed out.",
        ),
        Err(AppError::Invalid(invalid)) => {
            let mut response = account_page(&user, invalid.errors);
            *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            response
        }
        Err(e) => PageError(e).into_response(),
    }
}
