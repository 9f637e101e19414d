//! Readiness (`/readiness`): pick a qualification, a group and a day, and see who met it —
//! yes or no, and what each lacked by name — with a summary ("7 of 9 qualified"), a print
//! stylesheet and a PDF roster (`/readiness.pdf`). The same answer as
//! `GET /api/v1/readiness`. Forms are GET: nothing here writes.

use askama::Template;
use axum::extract::State;
use chrono::NaiveDate;
use credence_app::catalog::qualifications::QualificationView;
use credence_app::ids::{GroupId, QualificationId};
use credence_app::page::PageParams;
use credence_app::people::groups::GroupChoice;
use credence_app::reports::readiness::{ReadinessNames, ReadinessParams, ReadinessReport};
use credence_app::{App, AppError};
use serde::Deserialize;

use crate::pages::auth::session::HtmlQuery;
use crate::pages::credentials::manage::all_groups;
use crate::pages::{error_text, form_encode, render, Layout, PageResult, WebUser};

#[derive(Debug, Clone, Default, Deserialize)]
pub struct ReadinessQuery {
    qualification_id: Option<QualificationId>,
    group_id: Option<GroupId>,
    /// Text, so a mistyped day is shown on the page rather than refused.
    on: Option<String>,
    cursor: Option<String>,
}

/// Members per page on screen; the PDF has everyone.
const PAGE_ROWS: i64 = 200;

impl ReadinessQuery {
    fn params(&self) -> Result<ReadinessParams, AppError> {
        let on = match self.on.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(text) => Some(
                text.parse::<NaiveDate>()
                    .map_err(|_| AppError::invalid("on", "must be a date (YYYY-MM-DD)"))?,
            ),
        };
        Ok(ReadinessParams {
            qualification_id: self.qualification_id,
            group_id: self.group_id,
            on,
            limit: Some(PAGE_ROWS),
            cursor: self.cursor.clone(),
        })
    }
}

/// One row as the page shows it: what is missing, by name.
pub struct Row {
    member_id: String,
    name: String,
    qualified: bool,
    missing: Vec<String>,
}

#[derive(Template)]
#[template(path = "readiness.html")]
struct ReadinessPage {
    layout: Layout,
    qualifications: Vec<QualificationView>,
    groups: Vec<GroupChoice>,
    q: ReadinessQuery,
    on: String,
    report: Option<ReadinessReport>,
    names: Option<ReadinessNames>,
    rows: Vec<Row>,
    can_admin: bool,
}

impl ReadinessPage {
    fn qualification_is(&self, id: &QualificationId) -> bool {
        self.q.qualification_id == Some(*id)
    }

    fn group_is(&self, id: &GroupId) -> bool {
        self.q.group_id == Some(*id)
    }

    fn qualified(&self) -> usize {
        self.rows.iter().filter(|r| r.qualified).count()
    }

    fn paged(&self) -> bool {
        self.q.cursor.as_deref().is_some_and(|c| !c.is_empty())
    }

    fn more(&self) -> bool {
        self.report
            .as_ref()
            .is_some_and(|r| r.next_cursor.is_some())
    }

    fn next_href(&self) -> Option<String> {
        let next = self.report.as_ref()?.next_cursor.as_ref()?;
        Some(format!(
            "{}&cursor={}",
            self.query_href("/readiness"),
            form_encode(next)
        ))
    }

    fn first_href(&self) -> String {
        self.query_href("/readiness")
    }

    fn pdf_href(&self) -> String {
        self.query_href("/readiness.pdf")
    }

    /// "Every one of" or "Any one of", for the rule's sentence.
    fn rule_text(&self) -> &'static str {
        match self.names.as_ref().map(|n| n.rule) {
            Some(credence_domain::qualification::Rule::Any) => "any one of",
            _ => "every one of",
        }
    }

    fn type_names(&self) -> String {
        self.names.as_ref().map_or_else(String::new, |n| {
            n.types
                .iter()
                .map(|(_, name, retired)| {
                    if *retired {
                        format!("{name} (retired)")
                    } else {
                        name.clone()
                    }
                })
                .collect::<Vec<_>>()
                .join(", ")
        })
    }

    fn query_href(&self, path: &str) -> String {
        let mut href = format!("{path}?qualification_id=");
        if let Some(id) = self.q.qualification_id {
            href.push_str(&form_encode(&id.to_string()));
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
    HtmlQuery(q): HtmlQuery<ReadinessQuery>,
) -> PageResult {
    let actor = &user.actor;
    let reader = actor.reader()?;
    let qualifications = app
        .qualifications(
            &reader,
            &PageParams {
                limit: Some(500),
                cursor: None,
            },
        )
        .await?
        .items;
    let groups = all_groups(&app, actor).await?;
    let today = app.today(actor).await?;
    let mut error = None;
    let (report, names) = match (q.qualification_id, q.params()) {
        (_, Err(e)) => {
            error = Some(error_text(&e));
            (None, None)
        }
        (None, Ok(_)) => (None, None),
        (Some(_), Ok(params)) => match app.readiness(&reader, &params).await {
            Ok((r, n)) => (Some(r), Some(n)),
            Err(AppError::NotFound) => {
                error = Some("That qualification or group does not exist in this agency.".into());
                (None, None)
            }
            Err(e) => {
                error = Some(error_text(&e));
                (None, None)
            }
        },
    };
    let rows = match (&report, &names) {
        (Some(r), Some(n)) => r
            .items
            .iter()
            .map(|i| Row {
                member_id: i.member_id.to_string(),
                name: i.name.clone(),
                qualified: i.qualified,
                missing: i.missing.iter().map(|t| n.type_name(t)).collect(),
            })
            .collect(),
        _ => Vec::new(),
    };
    let on = report.as_ref().map_or_else(
        || {
            q.on.clone()
                .filter(|d| !d.is_empty())
                .unwrap_or_else(|| today.to_string())
        },
        |r| r.on.to_string(),
    );
    Ok(render(&ReadinessPage {
        layout: Layout::new(&user, "Readiness", "reports").with_error(error),
        qualifications,
        groups,
        q,
        on,
        report,
        names,
        rows,
        can_admin: actor.role().administers(),
    }))
}

/// `/readiness.pdf`: the roster of everyone asked about, as a PDF.
pub async fn pdf(
    State(app): State<App>,
    user: WebUser,
    HtmlQuery(q): HtmlQuery<ReadinessQuery>,
) -> PageResult {
    let reader = user.actor.reader()?;
    let mut params = q.params()?;
    params.cursor = None;
    let (on, pdf) = app.readiness_pdf(&reader, &params).await?;
    Ok(crate::api::reports::readiness::pdf_response(on, pdf))
}
