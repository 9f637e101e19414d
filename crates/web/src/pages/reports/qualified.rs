//! Reports: the index at `/reports` and "Qualified on a date" (`/reports/qualified`): pick a
//! credential type, a day and optionally a group, and see who held it that day, from history
//! (the same answer as `GET /api/v1/reports/qualified`), with a CSV download. Forms are GET:
//! nothing here writes.

use askama::Template;
use axum::extract::State;
use chrono::NaiveDate;
use credence_app::catalog::credential_types::CredentialTypeView;
use credence_app::ids::{CredentialTypeId, GroupId};
use credence_app::people::groups::GroupChoice;
use credence_app::reports::qualified::{QualifiedNames, QualifiedParams, QualifiedReport};
use credence_app::{App, AppError};
use serde::Deserialize;

use crate::pages::auth::session::HtmlQuery;
use crate::pages::credentials::manage::{all_groups, all_types};
use crate::pages::{
    error_text, export_response, form_encode, render, DownloadFormat, Layout, PageResult, WebUser,
};

#[derive(Template)]
#[template(path = "reports.html")]
struct ReportsPage {
    layout: Layout,
}

pub async fn index(user: WebUser) -> PageResult {
    user.actor.reader()?;
    Ok(render(&ReportsPage {
        layout: Layout::new(&user, "Reports", "reports"),
    }))
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct QualifiedQuery {
    credential_type_id: Option<CredentialTypeId>,
    /// Text, so a mistyped day is shown on the page rather than refused.
    on: Option<String>,
    group_id: Option<GroupId>,
    /// Where the page starts (the report's `next_cursor`).
    cursor: Option<String>,
}

/// Members per page of the report on screen; the CSV has everyone.
const PAGE_ROWS: i64 = 100;

impl QualifiedQuery {
    fn day(&self) -> Result<Option<NaiveDate>, AppError> {
        match self.on.as_deref().map(str::trim) {
            None | Some("") => Ok(None),
            Some(text) => text
                .parse()
                .map(Some)
                .map_err(|_| AppError::invalid("on", "must be a date (YYYY-MM-DD)")),
        }
    }

    fn params(&self) -> Result<QualifiedParams, AppError> {
        Ok(QualifiedParams {
            credential_type_id: self.credential_type_id,
            on: self.day()?,
            group_id: self.group_id,
            format: None,
            limit: Some(PAGE_ROWS),
            cursor: self.cursor.clone(),
        })
    }
}

#[derive(Template)]
#[template(path = "qualified.html")]
struct QualifiedPage {
    layout: Layout,
    types: Vec<CredentialTypeView>,
    groups: Vec<GroupChoice>,
    q: QualifiedQuery,
    /// The day in the date field: the one asked about, else today.
    on: String,
    report: Option<QualifiedReport>,
    names: Option<QualifiedNames>,
}

impl QualifiedPage {
    fn type_is(&self, id: &CredentialTypeId) -> bool {
        self.q.credential_type_id == Some(*id)
    }

    fn group_is(&self, id: &GroupId) -> bool {
        self.q.group_id == Some(*id)
    }

    fn held(&self) -> usize {
        self.report
            .as_ref()
            .map_or(0, |r| r.items.iter().filter(|i| i.holds).count())
    }

    fn listed(&self) -> usize {
        self.report.as_ref().map_or(0, |r| r.items.len())
    }

    /// This page is not the first.
    fn paged(&self) -> bool {
        self.q.cursor.as_deref().is_some_and(|c| !c.is_empty())
    }

    /// The report's next page, when there is one.
    fn next_href(&self) -> Option<String> {
        let next = self.report.as_ref()?.next_cursor.as_ref()?;
        Some(format!(
            "{}&cursor={}",
            self.query_href("/reports/qualified"),
            form_encode(next)
        ))
    }

    /// The report on the page as a download.
    /// The whole report as `csv` or `xlsx`.
    fn export_href(&self, extension: &str) -> String {
        self.query_href(&format!("/reports/qualified.{extension}"))
    }

    /// The report's first page.
    fn first_href(&self) -> String {
        self.query_href("/reports/qualified")
    }

    /// `path` asking the report's question (type, day, group), without a page.
    fn query_href(&self, path: &str) -> String {
        let mut href = format!("{path}?credential_type_id=");
        if let Some(t) = self.q.credential_type_id {
            href.push_str(&form_encode(&t.to_string()));
        }
        if let Some(r) = &self.report {
            href.push_str("&on=");
            href.push_str(&r.on.to_string());
        }
        if let Some(g) = self.q.group_id {
            href.push_str("&group_id=");
            href.push_str(&form_encode(&g.to_string()));
        }
        href
    }
}

pub async fn page(
    State(app): State<App>,
    user: WebUser,
    HtmlQuery(q): HtmlQuery<QualifiedQuery>,
) -> PageResult {
    let actor = &user.actor;
    let reader = actor.reader()?;
    let types = all_types(&app, actor).await?;
    let groups = all_groups(&app, actor).await?;
    let today = app.today(actor).await?;
    let mut error = None;
    let (report, names) = match (q.credential_type_id, q.params()) {
        (_, Err(e)) => {
            error = Some(error_text(&e));
            (None, None)
        }
        (None, Ok(_)) => (None, None),
        (Some(_), Ok(params)) => match app.qualified(&reader, &params).await {
            Ok((r, n)) => (Some(r), Some(n)),
            Err(e) => {
                error = Some(match e {
                    AppError::NotFound => {
                        "That credential type or group does not exist in this agency.".into()
                    }
                    e => error_text(&e),
                });
                (None, None)
            }
        },
    };
    let on = report.as_ref().map_or_else(
        || {
            q.on.clone()
                .filter(|d| !d.is_empty())
                .unwrap_or_else(|| today.to_string())
        },
        |r| r.on.to_string(),
    );
    Ok(render(&QualifiedPage {
        layout: Layout::new(&user, "Qualified on a date", "reports").with_error(error),
        types,
        groups,
        q,
        on,
        report,
        names,
    }))
}

/// `/reports/qualified.csv` and `.xlsx`: the whole report (every page), streamed.
pub async fn export(
    State(app): State<App>,
    user: WebUser,
    DownloadFormat(format): DownloadFormat,
    HtmlQuery(q): HtmlQuery<QualifiedQuery>,
) -> PageResult {
    let reader = user.actor.reader()?;
    let export = app.export_qualified(&reader, &q.params()?, format).await?;
    Ok(export_response(export))
}
