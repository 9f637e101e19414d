//! `/outbox`: every message Credence queued, sent or gave up on, newest first, by status,
//! with Retry on failed ones (officers). Readers see it, as they do the API's list.

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use credence_app::ids::{Kind, MessageId};
use credence_app::notify::reminders::{OutboxFilter, OutboxMessage};
use credence_app::page::PageParams;
use credence_app::App;
use serde::Deserialize;

use crate::extract::PathIds;
use crate::pages::auth::session::{CsrfForm, HtmlQuery};
use crate::pages::{
    error_text, form_encode, is_local_path, redirect_with, render, Layout, PageResult, WebUser,
};

/// The statuses the filter offers, with their words.
const STATUSES: [(&str, &str); 4] = [
    ("queued", "Queued"),
    ("sending", "Sending"),
    ("sent", "Sent"),
    ("failed", "Failed"),
];

#[derive(Debug, Clone, Default, Deserialize)]
pub struct OutboxQuery {
    status: Option<String>,
    cursor: Option<String>,
}

impl OutboxQuery {
    fn status(&self) -> Option<&str> {
        self.status.as_deref().filter(|s| !s.is_empty())
    }

    /// This view's address without the cursor (Retry comes back to it).
    fn first_page(&self) -> String {
        match self.status() {
            Some(s) => format!("/outbox?status={}", form_encode(s)),
            None => "/outbox".into(),
        }
    }

    /// This view's address, cursor included.
    fn here(&self) -> String {
        match self.cursor.as_deref().filter(|c| !c.is_empty()) {
            Some(c) => {
                let sep = if self.status().is_some() { '&' } else { '?' };
                format!("{}{sep}cursor={}", self.first_page(), form_encode(c))
            }
            None => self.first_page(),
        }
    }
}

#[derive(Template)]
#[template(path = "outbox.html")]
struct OutboxPage {
    layout: Layout,
    query: OutboxQuery,
    items: Vec<OutboxMessage>,
    next_cursor: Option<String>,
    statuses: [(&'static str, &'static str); 4],
    can_retry: bool,
    sends_mail: bool,
}

impl OutboxPage {
    fn next_link(&self) -> Option<String> {
        self.next_cursor.as_ref().map(|c| {
            let sep = if self.query.status().is_some() {
                '&'
            } else {
                '?'
            };
            format!("{}{sep}cursor={}", self.query.first_page(), form_encode(c))
        })
    }

    fn is_status(&self, s: &str) -> bool {
        self.query.status() == Some(s)
    }

    /// Where the message's subject is shown, if it has a page.
    fn subject_link(m: &OutboxMessage) -> Option<String> {
        let id = m.subject_id?;
        match id.kind {
            Kind::Credential => Some(format!("/credentials/{id}")),
            _ => None,
        }
    }

    fn kind_label(kind: &str) -> &str {
        match kind {
            "expiration" => "Expiration reminder",
            "period_due" => "Training due reminder",
            "digest" => "Admin digest",
            "certificate" => "Certificate",
            "webhook" => "Webhook",
            other => other,
        }
    }
}

pub async fn page(
    State(app): State<App>,
    user: WebUser,
    HtmlQuery(query): HtmlQuery<OutboxQuery>,
) -> PageResult {
    let reader = user.actor.reader()?;
    let filter = OutboxFilter {
        status: query.status().map(str::to_string),
    };
    let page = PageParams {
        limit: Some(50),
        cursor: query.cursor.clone(),
    };
    let (items, next_cursor, error) = match app.outbox(&reader, &filter, &page).await {
        Ok(p) => (p.items, p.next_cursor, None),
        Err(e) => (Vec::new(), None, Some(error_text(&e))),
    };
    Ok(render(&OutboxPage {
        layout: Layout::new(&user, "Outbox", "outbox").with_error(error),
        query,
        items,
        next_cursor,
        statuses: STATUSES,
        can_retry: user.actor.role().manages_credentials(),
        sends_mail: user.sends_mail,
    }))
}

#[derive(Deserialize)]
pub struct RetryForm {
    back: Option<String>,
}

pub async fn retry(
    State(app): State<App>,
    PathIds(id): PathIds<MessageId>,
    CsrfForm(user, f): CsrfForm<RetryForm>,
) -> Response {
    let back = f
        .back
        .filter(|b| is_local_path(b) && b.starts_with("/outbox"))
        .unwrap_or_else(|| "/outbox".into());
    match app
        .retry_message(&capability!(user.actor, officer), id)
        .await
    {
        Ok(m) => redirect_with(
            &back,
            "notice",
            &format!("The message to {} is queued again.", m.to),
        ),
        Err(e) => redirect_with(&back, "error", &error_text(&e)),
    }
}
