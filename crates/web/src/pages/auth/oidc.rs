//! Sign-in through an agency's identity provider (OpenID Connect, #21): the start
//! (`/login/oidc/{agency_slug}`), the provider's callback (`/login/oidc/callback`), and the
//! admin's page for the provider (`/settings/sign-in`).
//!
//! The start sets a short-lived cookie that binds the sign-in to this browser; it is
//! `SameSite=Lax` because the callback is a top-level navigation from the provider's site.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use credence_app::auth::oidc::{Callback, SignInProviderInput, SignInProviderView};
use credence_app::{App, AppError};
use credence_domain::validation::FieldError;
use serde::Deserialize;

use crate::extract::ClientAddress;
use crate::pages::auth::login::{cookie, safe_next, secure};
use crate::pages::auth::session::{CsrfForm, HtmlQuery, COOKIE};
use crate::pages::{error_text, redirect_with, render, Layout, PageResult, WebUser};

/// The cookie that binds a sign-in under way to the browser that started it.
const OIDC_COOKIE: &str = "credence_oidc";

fn set_cookie(response: &mut Response, value: &str) {
    if let Ok(v) = value.parse() {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
}

fn clear_binding(response: &mut Response) {
    set_cookie(
        response,
        &format!("{OIDC_COOKIE}=; Path=/login/oidc; HttpOnly; SameSite=Lax; Max-Age=0"),
    );
}

#[derive(Deserialize, Default)]
pub struct StartQuery {
    next: Option<String>,
}

/// `GET /login/oidc/{agency_slug}`: off to the agency's provider.
pub async fn start(
    State(app): State<App>,
    headers: HeaderMap,
    Path(slug): Path<String>,
    HtmlQuery(q): HtmlQuery<StartQuery>,
) -> Response {
    let next = safe_next(q.next.as_deref());
    match app.start_oidc(&slug, next.as_deref()).await {
        Ok(started) => {
            let mut response = Redirect::to(&started.authorization_url).into_response();
            set_cookie(
                &mut response,
                &format!(
                    "{OIDC_COOKIE}={}; Path=/login/oidc; HttpOnly; SameSite=Lax; Max-Age={}{}",
                    started.browser_secret,
                    credence_app::auth::oidc::SIGN_IN_MINUTES * 60,
                    secure(&headers)
                ),
            );
            response
        }
        Err(e) => {
            let slug = (!matches!(e, AppError::NotFound)).then_some(slug);
            refusal(&app, &headers, slug.as_deref(), &e).await
        }
    }
}

/// `GET /login/oidc/callback`: the provider's answer. Signed in, the browser goes where the
/// sign-in started for (or home); refused, the sign-in page says why.
pub async fn callback(
    State(app): State<App>,
    ClientAddress(address): ClientAddress,
    headers: HeaderMap,
    HtmlQuery(answer): HtmlQuery<Callback>,
) -> Response {
    let browser = cookie(&headers, OIDC_COOKIE);
    match app.finish_oidc(&answer, browser.as_deref(), &address).await {
        Ok(signed_in) => {
            let home = match app.web_session(&signed_in.session.secret).await {
                Ok(s) if !s.actor.role().reads_agency() => "/me",
                _ => "/",
            };
            let to = signed_in.next.unwrap_or_else(|| home.to_string());
            let mut response = Redirect::to(&to).into_response();
            clear_binding(&mut response);
            set_cookie(
                &mut response,
                &format!(
                    "{COOKIE}={}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{}",
                    signed_in.session.secret,
                    credence_app::auth::SESSION_HOURS * 3600,
                    secure(&headers)
                ),
            );
            response
        }
        Err(e) => {
            let mut response = refusal(&app, &headers, None, &e).await;
            clear_binding(&mut response);
            response
        }
    }
}

/// The sign-in page with why signing in through the provider did not work.
async fn refusal(app: &App, headers: &HeaderMap, slug: Option<&str>, e: &AppError) -> Response {
    let status = match e {
        AppError::NotFound => StatusCode::NOT_FOUND,
        AppError::Forbidden(_) => StatusCode::FORBIDDEN,
        AppError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        AppError::Internal { .. } => {
            tracing::error!(error = %e.chain(), "sign-in through a provider failed");
            StatusCode::INTERNAL_SERVER_ERROR
        }
        _ => StatusCode::BAD_REQUEST,
    };
    let message = match e {
        AppError::NotFound => "There is no agency with that address.".to_string(),
        other => format!(
            "Signing in through your provider did not work: {}",
            error_text(other)
        ),
    };
    let button = app.oidc_button(slug).await.ok().flatten();
    let mut response =
        crate::pages::auth::login::page_for(headers, String::new(), button, Some(message));
    *response.status_mut() = status;
    response
}

/// The form's fields as typed.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ProviderForm {
    version: Option<i64>,
    #[serde(default)]
    name: String,
    #[serde(default)]
    issuer: String,
    #[serde(default)]
    client_id: String,
    #[serde(default)]
    client_secret: String,
    create_accounts: Option<String>,
}

impl ProviderForm {
    fn of(p: &SignInProviderView) -> ProviderForm {
        ProviderForm {
            version: Some(p.version),
            name: p.name.clone(),
            issuer: p.issuer.clone(),
            client_id: p.client_id.clone(),
            client_secret: String::new(),
            create_accounts: p.create_accounts.then(|| "true".into()),
        }
    }
}

#[derive(Template)]
#[template(path = "sign_in_settings.html")]
struct SettingsPage {
    layout: Layout,
    provider: Option<SignInProviderView>,
    form: ProviderForm,
    errors: Vec<FieldError>,
    redirect_uri: String,
}

impl SettingsPage {
    fn error_of(&self, field: &str) -> Option<String> {
        crate::pages::messages_for(&self.errors, field)
    }

    fn label(field: &str) -> &str {
        match field {
            "name" => "Button name",
            "issuer" => "Issuer URL",
            "client_id" => "Client ID",
            "client_secret" => "Client secret",
            other => other,
        }
    }
}

async fn show(
    app: &App,
    user: &WebUser,
    form: Option<ProviderForm>,
    errors: Vec<FieldError>,
    error: Option<String>,
) -> PageResult {
    let admin = user.actor.admin()?;
    let provider = app.oidc_provider(&admin).await?;
    let summary = error.or_else(|| {
        (!errors.is_empty())
            .then(|| "The provider was not saved: correct the fields marked below.".to_string())
    });
    let status = if summary.is_none() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let mut response = render(&SettingsPage {
        layout: Layout::new(user, "Single sign-on", "settings").with_error(summary),
        form: form.unwrap_or_else(|| provider.as_ref().map(ProviderForm::of).unwrap_or_default()),
        redirect_uri: app.oidc_redirect_uri(),
        provider,
        errors,
    });
    *response.status_mut() = status;
    Ok(response)
}

/// `GET /settings/sign-in` (admin).
pub async fn page(State(app): State<App>, user: WebUser) -> PageResult {
    show(&app, &user, None, Vec::new(), None).await
}

/// `POST /settings/sign-in` (admin): saves the provider, after fetching its discovery
/// document; the secret field left empty keeps the stored secret.
pub async fn save(
    State(app): State<App>,
    CsrfForm(user, form): CsrfForm<ProviderForm>,
) -> Response {
    let admin = capability!(user.actor, admin);
    let input = SignInProviderInput {
        version: form.version,
        name: form.name.clone(),
        issuer: form.issuer.clone(),
        client_id: form.client_id.clone(),
        client_secret: Some(form.client_secret.clone()),
        create_accounts: form.create_accounts.is_some(),
    };
    // What was typed comes back on an error, except the secret.
    let mut typed = form;
    typed.client_secret.clear();
    let result = match app.save_oidc_provider(&admin, input).await {
        Ok(_) => return redirect_with("/settings/sign-in", "notice", "Single sign-on saved."),
        Err(AppError::Invalid(i)) => show(&app, &user, Some(typed), i.errors, None).await,
        Err(e @ (AppError::Conflict(_) | AppError::Unavailable(_))) => {
            show(&app, &user, Some(typed), Vec::new(), Some(error_text(&e))).await
        }
        Err(e) => return redirect_with("/settings/sign-in", "error", &error_text(&e)),
    };
    result.unwrap_or_else(IntoResponse::into_response)
}

#[derive(Deserialize)]
pub struct Empty {}

/// `POST /settings/sign-in/remove` (admin): passwords only from now on.
pub async fn remove(State(app): State<App>, CsrfForm(user, _): CsrfForm<Empty>) -> Response {
    let admin = capability!(user.actor, admin);
    match app.remove_oidc_provider(&admin).await {
        Ok(()) => redirect_with(
            "/settings/sign-in",
            "notice",
            "Single sign-on removed: people sign in with their passwords.",
        ),
        Err(e) => redirect_with("/settings/sign-in", "error", &error_text(&e)),
    }
}
