//! `/webhooks` (admins, under the Agency menu): the subscriptions with their latest
//! deliveries, a form to add one, and per webhook Send test event, Disable/Enable and
//! Delete. The same app functions as the API.

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use credence_app::ids::WebhookId;
use credence_app::notify::reminders::OutboxMessage;
use credence_app::notify::webhooks::{NewWebhook, WebhookPatch, WebhookView};
use credence_app::page::PageParams;
use credence_app::{App, AppError};
use credence_domain::webhooks::EventType;
use serde::Deserialize;

use crate::extract::PathIds;
use crate::pages::auth::session::CsrfForm;
use crate::pages::{error_text, redirect_with, render, Layout, PageError, PageResult, WebUser};

/// Deliveries shown under each webhook.
const RECENT: i64 = 5;

#[derive(Debug, Clone, Default, Deserialize)]
pub struct WebhookForm {
    #[serde(default)]
    url: String,
    #[serde(default)]
    events: Vec<String>,
    #[serde(default)]
    secret: String,
}

#[derive(Template)]
#[template(path = "webhooks.html")]
struct WebhooksPage {
    layout: Layout,
    items: Vec<(WebhookView, Vec<OutboxMessage>)>,
    events: Vec<(&'static str, &'static str)>,
    f: WebhookForm,
    errors: BTreeMap<String, String>,
}

impl WebhooksPage {
    fn ticked(&self, event: &str) -> bool {
        self.f.events.iter().any(|e| e == event)
    }

    fn error(&self, field: &str) -> Option<&str> {
        self.errors.get(field).map(String::as_str)
    }

    fn invalid(&self, field: &str) -> &'static str {
        if self.errors.contains_key(field) {
            "true"
        } else {
            "false"
        }
    }
}

/// Each event with words for it.
fn event_choices() -> Vec<(&'static str, &'static str)> {
    EventType::ALL
        .into_iter()
        .map(|e| {
            let words = match e {
                EventType::StatusChanged => "a credential's status changes",
                EventType::Issued => "a credential is issued",
                EventType::Revoked => "a credential is revoked",
                EventType::Expired => "a credential expires",
                EventType::TrainingRecordCreated => "training is recorded",
            };
            (e.as_str(), words)
        })
        .collect()
}

async fn list_page(
    app: &App,
    user: &WebUser,
    f: WebhookForm,
    errors: BTreeMap<String, String>,
) -> PageResult {
    let admin = user.actor.admin()?;
    let hooks = app
        .webhooks(
            &admin,
            &PageParams {
                limit: Some(200),
                cursor: None,
            },
        )
        .await?
        .items;
    let mut items = Vec::with_capacity(hooks.len());
    for w in hooks {
        let recent = app.webhook_deliveries(&admin, w.id, RECENT).await?;
        items.push((w, recent));
    }
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let general =
        (!errors.is_empty()).then(|| "Not added: correct the fields marked below.".to_string());
    let mut response = render(&WebhooksPage {
        layout: Layout::new(user, "Webhooks", "webhooks").with_error(general),
        items,
        events: event_choices(),
        f,
        errors,
    });
    *response.status_mut() = status;
    Ok(response)
}

pub async fn list(State(app): State<App>, user: WebUser) -> PageResult {
    let f = WebhookForm {
        secret: credence_app::auth::new_secret("whsec_"),
        ..Default::default()
    };
    list_page(&app, &user, f, BTreeMap::new()).await
}

pub async fn create(State(app): State<App>, CsrfForm(user, f): CsrfForm<WebhookForm>) -> Response {
    let admin = capability!(user.actor, admin);
    let input = NewWebhook {
        url: f.url.clone(),
        events: f.events.clone(),
        secret: f.secret.clone(),
    };
    match app.create_webhook(&admin, input).await {
        Ok(w) => redirect_with(
            "/webhooks",
            "notice",
            &format!(
                "Events now go to {}. Send a test event to check the receiver.",
                w.url
            ),
        ),
        Err(AppError::Invalid(i)) => {
            let mut errors = BTreeMap::new();
            for e in i.errors {
                // `events[2]` is shown under the list of events.
                let field = if e.field.starts_with("events") {
                    "events".to_string()
                } else {
                    e.field
                };
                errors
                    .entry(field)
                    .and_modify(|m: &mut String| {
                        m.push_str("; ");
                        m.push_str(&e.message)
                    })
                    .or_insert(e.message);
            }
            list_page(&app, &user, f, errors).await.into_response()
        }
        Err(e) => PageError(e).into_response(),
    }
}

/// Disable or enable: the form says which.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct EnableForm {
    enabled: bool,
}

pub async fn set_enabled(
    State(app): State<App>,
    PathIds(id): PathIds<WebhookId>,
    CsrfForm(user, f): CsrfForm<EnableForm>,
) -> Response {
    let admin = capability!(user.actor, admin);
    let patch = WebhookPatch {
        enabled: Some(f.enabled),
        ..Default::default()
    };
    match app.update_webhook(&admin, id, patch).await {
        Ok(w) => redirect_with(
            "/webhooks",
            "notice",
            &if w.enabled {
                format!("Events go to {} again.", w.url)
            } else {
                format!("{} receives no events until it is enabled.", w.url)
            },
        ),
        Err(e) => redirect_with("/webhooks", "error", &error_text(&e)),
    }
}

/// The test and delete forms carry only the CSRF token.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Empty {}

pub async fn test(
    State(app): State<App>,
    PathIds(id): PathIds<WebhookId>,
    CsrfForm(user, _): CsrfForm<Empty>,
) -> Response {
    let admin = capability!(user.actor, admin);
    match app.test_webhook(&admin, id).await {
        Ok(m) => redirect_with(
            "/webhooks",
            "notice",
            &format!(
                "A test event is queued for {}; its delivery shows below within a minute.",
                m.to
            ),
        ),
        Err(e) => redirect_with("/webhooks", "error", &error_text(&e)),
    }
}

pub async fn delete(
    State(app): State<App>,
    PathIds(id): PathIds<WebhookId>,
    CsrfForm(user, _): CsrfForm<Empty>,
) -> Response {
    let admin = capability!(user.actor, admin);
    match app.delete_webhook(&admin, id).await {
        Ok(()) => redirect_with(
            "/webhooks",
            "notice",
            "The webhook was deleted; its past deliveries stay in the outbox.",
        ),
        Err(e) => redirect_with("/webhooks", "error", &error_text(&e)),
    }
}
