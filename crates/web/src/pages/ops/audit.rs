//! `/audit`: who did what, when, to what, with names; filtered by person, subject and
//! action, in keyset pages. Readers see it, as they do the API's log. Each credential's page
//! shows its own events through [`history`].

use askama::Template;
use axum::extract::State;
use credence_app::ids::{AnyId, Kind};
use credence_app::ops::audit::{AuditEventView, AuditFilter, AuditNames};
use credence_app::page::PageParams;
use credence_app::{App, AppError, Reader};
use serde::Deserialize;

use crate::pages::auth::session::HtmlQuery;
use crate::pages::{error_text, form_encode, render, DownloadFormat, Layout, PageResult, WebUser};

/// The page's filters as typed (a subject id that is not one is said, not dropped).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct AuditQuery {
    actor: Option<String>,
    subject_id: Option<String>,
    action: Option<String>,
    cursor: Option<String>,
}

impl AuditQuery {
    fn value(v: &Option<String>) -> Option<&str> {
        v.as_deref().map(str::trim).filter(|v| !v.is_empty())
    }

    fn actor(&self) -> Option<&str> {
        Self::value(&self.actor)
    }

    fn action(&self) -> Option<&str> {
        Self::value(&self.action)
    }

    fn subject(&self) -> Option<&str> {
        Self::value(&self.subject_id)
    }

    /// The filters as a query string (no cursor).
    fn query_string(&self) -> String {
        [
            ("actor", self.actor()),
            ("subject_id", self.subject()),
            ("action", self.action()),
        ]
        .iter()
        .filter_map(|(k, v)| v.map(|v| format!("{k}={}", form_encode(v))))
        .collect::<Vec<_>>()
        .join("&")
    }

    /// The filters as the log reads them, or what is wrong with them.
    fn filter(&self) -> Result<AuditFilter, String> {
        let subject_id = match self.subject() {
            Some(s) => Some(s.parse::<AnyId>().map_err(|_| {
                format!("Subject: {s:?} is not an id (ids look like crd_12 or mem_3).")
            })?),
            None => None,
        };
        Ok(AuditFilter {
            subject_id,
            actor: self.actor().map(str::to_string),
            action: self.action().map(str::to_string),
        })
    }

    fn is_filtered(&self) -> bool {
        self.actor().is_some() || self.subject().is_some() || self.action().is_some()
    }
}

/// One event as the page shows it.
pub struct EventRow {
    pub at: String,
    /// The actor as events name them (for the filter link) and as people know them.
    pub actor: String,
    pub actor_name: String,
    pub action: String,
    pub subject_id: AnyId,
    pub subject_name: String,
    pub subject_link: Option<String>,
    /// The noun of the subject's kind ("credential type").
    pub subject_kind: String,
    /// What changed, in words: the fields whose value differs.
    pub changes: String,
}

/// The fields an event changed: top-level keys whose value differs between before and
/// after (version and timestamps left out, which change every time).
fn changes(e: &AuditEventView) -> String {
    let (Some(after), before) = (e.after.as_ref(), e.before.as_ref()) else {
        return match e.before {
            Some(_) => "removed".into(),
            None => String::new(),
        };
    };
    let Some(after) = after.as_object() else {
        return String::new();
    };
    let Some(before) = before.and_then(|b| b.as_object()) else {
        let keys: Vec<&str> = after
            .iter()
            .filter(|(k, v)| !v.is_null() && !skipped(k))
            .map(|(k, _)| k.as_str())
            .take(6)
            .collect();
        return keys.join(", ");
    };
    let changed: Vec<&str> = after
        .iter()
        .filter(|(k, v)| !skipped(k) && before.get(k.as_str()) != Some(v))
        .map(|(k, _)| k.as_str())
        .collect();
    changed.join(", ")
}

fn skipped(key: &str) -> bool {
    matches!(key, "version" | "updated_at" | "created_at" | "id")
}

/// Where a subject is shown, if it has a page.
fn subject_link(id: &AnyId) -> Option<String> {
    match id.kind {
        Kind::Credential => Some(format!("/credentials/{id}")),
        Kind::Member => Some(format!("/members/{id}")),
        Kind::CredentialType => Some(format!("/credential-types/{id}")),
        Kind::Operation => Some(format!("/operations/{id}")),
        Kind::Agency => Some("/settings".into()),
        _ => None,
    }
}

pub(crate) fn rows(events: Vec<AuditEventView>, names: &AuditNames) -> Vec<EventRow> {
    events
        .into_iter()
        .map(|e| EventRow {
            at: e.at.format("%Y-%m-%d %H:%M:%S").to_string(),
            actor_name: names.actor(&e.actor),
            subject_name: names.subject(&e.subject_id),
            subject_link: subject_link(&e.subject_id),
            subject_kind: e.subject_id.kind.noun(),
            changes: changes(&e),
            actor: e.actor,
            action: e.action,
            subject_id: e.subject_id,
        })
        .collect()
}

/// A credential's own events, newest first, named: its page's "who changed this".
pub(crate) async fn history(
    app: &App,
    reader: &Reader,
    subject: AnyId,
) -> Result<(Vec<EventRow>, bool), AppError> {
    let filter = AuditFilter {
        subject_id: Some(subject),
        ..Default::default()
    };
    let page = PageParams {
        limit: Some(50),
        cursor: None,
    };
    let events = app.audit_events(reader, &filter, &page).await?;
    let names = app.audit_names(reader, &events.items, &[]).await?;
    Ok((rows(events.items, &names), events.next_cursor.is_some()))
}

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    layout: Layout,
    query: AuditQuery,
    rows: Vec<EventRow>,
    next_cursor: Option<String>,
    /// Every actor of the log with its name, and every action, for the filters.
    actors: Vec<(String, String)>,
    actions: Vec<String>,
}

impl AuditPage {
    fn next_link(&self) -> Option<String> {
        self.next_cursor.as_ref().map(|c| {
            let q = self.query.query_string();
            let sep = if q.is_empty() { "" } else { "&" };
            format!("/audit?{q}{sep}cursor={}", form_encode(c))
        })
    }

    fn is_actor(&self, actor: &str) -> bool {
        self.query.actor() == Some(actor)
    }

    fn is_action(&self, action: &str) -> bool {
        self.query.action() == Some(action)
    }

    fn link(&self, key: &str, value: &str) -> String {
        format!("/audit?{key}={}", form_encode(value))
    }
}

pub async fn page(
    State(app): State<App>,
    user: WebUser,
    HtmlQuery(query): HtmlQuery<AuditQuery>,
) -> PageResult {
    let reader = user.actor.reader()?;
    let mut error = None;
    let (events, next_cursor) = match query.filter() {
        Err(e) => {
            error = Some(e);
            (Vec::new(), None)
        }
        Ok(filter) => {
            let page = PageParams {
                limit: Some(50),
                cursor: query.cursor.clone(),
            };
            match app.audit_events(&reader, &filter, &page).await {
                Ok(p) => (p.items, p.next_cursor),
                Err(e) => {
                    error = Some(error_text(&e));
                    (Vec::new(), None)
                }
            }
        }
    };
    let choices = app.audit_choices(&reader).await?;
    // The picker names every actor of the log, not only this page's.
    let names = app.audit_names(&reader, &events, &choices.actors).await?;
    let mut actors: Vec<(String, String)> = choices
        .actors
        .iter()
        .map(|a| (a.clone(), names.actor(a)))
        .collect();
    actors.sort_by_key(|a| a.1.to_lowercase());
    Ok(render(&AuditPage {
        layout: Layout::new(&user, "Audit log", "audit").with_error(error),
        rows: rows(events, &names),
        next_cursor,
        actors,
        actions: choices.actions,
        query,
    }))
}

/// `/audit.csv` and `.xlsx`: every event the page's filters match, with names.
pub async fn export(
    State(app): State<App>,
    user: WebUser,
    DownloadFormat(format): DownloadFormat,
    HtmlQuery(query): HtmlQuery<AuditQuery>,
) -> PageResult {
    let reader = user.actor.reader()?;
    let filter = query
        .filter()
        .map_err(|e| credence_app::AppError::invalid("subject_id", e))?;
    let export = app.export_audit_events(&reader, filter, format).await?;
    Ok(crate::pages::export_response(export))
}
