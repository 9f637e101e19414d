//! "Training hours" (`/reports/hours`): hours per member and category over a date range,
//! optionally for one group, with CSV and XLSX downloads (the same answer as
//! `GET /api/v1/reports/hours`). Forms are GET: nothing here writes.

use askama::Template;
use axum::extract::State;
use chrono::NaiveDate;
use credence_app::ids::GroupId;
use credence_app::people::groups::GroupChoice;
use credence_app::reports::hours::{HoursParams, HoursReport};
use credence_app::{App, AppError};
use serde::Deserialize;

use crate::pages::auth::session::HtmlQuery;
use crate::pages::credentials::manage::all_groups;
use crate::pages::{
    error_text, export_response, form_encode, render, DownloadFormat, Layout, PageResult, WebUser,
};

#[derive(Debug, Clone, Default, Deserialize)]
pub struct HoursQuery {
    /// Text, so a mistyped day is shown on the page rather than refused.
    from: Option<String>,
    to: Option<String>,
    /// Empty: everyone.
    group_id: Option<String>,
    cursor: Option<String>,
}

/// Members per page on screen; the CSV has everyone.
const PAGE_ROWS: i64 = 100;

fn day(field: &str, text: Option<&str>) -> Result<Option<NaiveDate>, AppError> {
    match text.map(str::trim) {
        None | Some("") => Ok(None),
        Some(t) => t
            .parse()
            .map(Some)
            .map_err(|_| AppError::invalid(field, "must be a date (YYYY-MM-DD)")),
    }
}

impl HoursQuery {
    fn group(&self) -> Result<Option<GroupId>, AppError> {
        match self.group_id.as_deref().map(str::trim) {
            None | Some("") => Ok(None),
            Some(g) => g
                .parse()
                .map(Some)
                .map_err(|_| AppError::invalid("group_id", "is not a group")),
        }
    }

    fn params(&self) -> Result<HoursParams, AppError> {
        Ok(HoursParams {
            from: day("from", self.from.as_deref())?,
            to: day("to", self.to.as_deref())?,
            group_id: self.group()?,
            format: None,
            limit: Some(PAGE_ROWS),
            cursor: self.cursor.clone(),
        })
    }
}

#[derive(Template)]
#[template(path = "hours.html")]
struct HoursPage {
    layout: Layout,
    groups: Vec<GroupChoice>,
    q: HoursQuery,
    from: String,
    to: String,
    report: Option<HoursReport>,
}

impl HoursPage {
    fn group_is(&self, id: &GroupId) -> bool {
        self.q.group_id.as_deref() == Some(id.to_string().as_str())
    }

    fn paged(&self) -> bool {
        self.q.cursor.as_deref().is_some_and(|c| !c.is_empty())
    }

    /// `path` asking the report's question (range, group), without a page.
    fn query_href(&self, path: &str) -> String {
        let mut href = format!("{path}?from={}&to={}", self.from, self.to);
        if let Some(g) = self.q.group_id.as_deref().filter(|g| !g.is_empty()) {
            href.push_str("&group_id=");
            href.push_str(&form_encode(g));
        }
        href
    }

    /// The download of the whole report as `ext` (`csv`, `xlsx`).
    fn download_href(&self, ext: &str) -> String {
        self.query_href(&format!("/reports/hours.{ext}"))
    }

    fn first_href(&self) -> String {
        self.query_href("/reports/hours")
    }

    fn next_href(&self) -> Option<String> {
        let next = self.report.as_ref()?.next_cursor.as_ref()?;
        Some(format!(
            "{}&cursor={}",
            self.query_href("/reports/hours"),
            form_encode(next)
        ))
    }

    /// Hours as the page shows them: whole numbers plain, others to one decimal.
    fn h<T: std::borrow::Borrow<f64>>(&self, hours: T) -> String {
        let hours = *hours.borrow();
        if hours.fract() == 0.0 {
            format!("{hours:.0}")
        } else {
            format!("{hours:.1}")
        }
    }

    fn total(&self) -> f64 {
        self.report
            .as_ref()
            .map_or(0.0, |r| r.items.iter().map(|i| i.total_hours).sum())
    }
}

pub async fn page(
    State(app): State<App>,
    user: WebUser,
    HtmlQuery(q): HtmlQuery<HoursQuery>,
) -> PageResult {
    let actor = &user.actor;
    let reader = actor.reader()?;
    let groups = all_groups(&app, actor).await?;
    let mut error = None;
    let report = match q.params() {
        Err(e) => {
            error = Some(error_text(&e));
            None
        }
        Ok(params) => match app.hours_report(&reader, &params).await {
            Ok(r) => Some(r),
            Err(AppError::NotFound) => {
                error = Some("That group does not exist in this agency.".into());
                None
            }
            Err(e) => {
                error = Some(error_text(&e));
                None
            }
        },
    };
    let (from, to) = match &report {
        Some(r) => (r.from.to_string(), r.to.to_string()),
        None => (
            q.from.clone().unwrap_or_default(),
            q.to.clone().unwrap_or_default(),
        ),
    };
    Ok(render(&HoursPage {
        layout: Layout::new(&user, "Training hours", "reports").with_error(error),
        groups,
        q,
        from,
        to,
        report,
    }))
}

/// `/reports/hours.csv` and `.xlsx`: the whole report as a download, streamed.
pub async fn export(
    State(app): State<App>,
    user: WebUser,
    DownloadFormat(format): DownloadFormat,
    HtmlQuery(q): HtmlQuery<HoursQuery>,
) -> PageResult {
    let reader = user.actor.reader()?;
    let export = app.hours_export(&reader, &q.params()?, format).await?;
    Ok(export_response(export))
}
