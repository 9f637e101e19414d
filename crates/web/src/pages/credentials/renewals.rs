//! The renewal planner page (seed 001): pick a type, see expired and expiring credentials
//! with suggested periods, switch the period logic, edit, preview, renew in one step.

use askama::Template;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use credence_app::catalog::credential_types::CredentialTypeView;
use credence_app::credentials::renewal_plan::{
    Candidate, CandidateParams, NewRenewalPlan, PlanItem, RenewalPlanResult,
};
use credence_app::ids::{AnyId, CredentialId, CredentialTypeId, RenewalPlanId};
use credence_app::App;
use serde::Deserialize;

use crate::pages::auth::session::{CsrfForm, HtmlQuery};
use crate::pages::credentials::manage::all_types;
use crate::pages::{
    error_text, form_encode, redirect_with, render, Layout, PageError, PageResult, WebUser,
};

#[derive(Debug, Clone, Default, Deserialize)]
pub struct PlannerQuery {
    credential_type_id: Option<CredentialTypeId>,
    within_days: Option<u32>,
    logic: Option<String>,
    period_start: Option<NaiveDate>,
    period_end: Option<NaiveDate>,
    period_days: Option<u32>,
    due_days_before: Option<u32>,
}

impl PlannerQuery {
    /// The settings as a query string, so a form posted from the page comes back to the
    /// same view.
    fn query_string(&self) -> String {
        let mut pairs: Vec<(&str, String)> = Vec::new();
        if let Some(t) = self.credential_type_id {
            pairs.push(("credential_type_id", t.to_string()));
        }
        let numbers = [
            ("within_days", self.within_days),
            ("period_days", self.period_days),
            ("due_days_before", self.due_days_before),
        ];
        pairs.extend(
            numbers
                .iter()
                .filter_map(|(k, v)| Some((*k, (*v)?.to_string()))),
        );
        if let Some(l) = &self.logic {
            pairs.push(("logic", l.clone()));
        }
        let dates = [
            ("period_start", self.period_start),
            ("period_end", self.period_end),
        ];
        pairs.extend(
            dates
                .iter()
                .filter_map(|(k, v)| Some((*k, (*v)?.to_string()))),
        );
        pairs
            .iter()
            .map(|(k, v)| format!("{k}={}", form_encode(v)))
            .collect::<Vec<_>>()
            .join("&")
    }

    /// The settings a planner address carries (`/renewals?…`); none if it has none.
    fn from_address(address: &str) -> PlannerQuery {
        address
            .split_once('?')
            .and_then(|(_, q)| serde_html_form::from_str(q).ok())
            .unwrap_or_default()
    }
}

/// One candidate as the page shows it: ticked or not, with the dates in its inputs and,
/// after a preview, what renewing would do to it.
pub struct PlannerRow {
    c: Candidate,
    chosen: bool,
    replace: bool,
    start: String,
    end: String,
    due: String,
    outcome: Option<String>,
}

impl PlannerRow {
    /// As suggested: ticked unless a plan already renewed it.
    fn suggested(c: Candidate) -> PlannerRow {
        PlannerRow {
            chosen: !c.planned,
            replace: false,
            start: c.suggested.period_start.to_string(),
            end: c.suggested.period_end.to_string(),
            due: c.suggested.due_date.to_string(),
            outcome: None,
            c,
        }
    }
}

#[derive(Template)]
#[template(path = "renewals.html")]
struct PlannerPage {
    layout: Layout,
    types: Vec<CredentialTypeView>,
    q: PlannerQuery,
    rows: Vec<PlannerRow>,
    plan_id: Option<RenewalPlanId>,
    can_manage: bool,
}

impl PlannerPage {
    /// The rows carry a preview's results.
    fn previewed(&self) -> bool {
        self.rows.iter().any(|r| r.outcome.is_some())
    }

    fn selected(&self, id: &CredentialTypeId) -> bool {
        self.q.credential_type_id == Some(*id)
    }

    fn relative(&self) -> bool {
        self.q.logic.as_deref() != Some("same_dates")
    }

    fn num(&self, field: &str) -> String {
        match field {
            "within_days" => self.q.within_days.unwrap_or(90).to_string(),
            "period_days" => self.q.period_days.unwrap_or(90).to_string(),
            "due_days_before" => self.q.due_days_before.unwrap_or(14).to_string(),
            "period_start" => self
                .q
                .period_start
                .map(|d| d.to_string())
                .unwrap_or_default(),
            "period_end" => self.q.period_end.map(|d| d.to_string()).unwrap_or_default(),
            _ => String::new(),
        }
    }
}

/// The candidates for the query's type, or an error to show (none without a type).
async fn candidates(
    app: &App,
    user: &WebUser,
    q: &PlannerQuery,
) -> Result<(Vec<Candidate>, Option<RenewalPlanId>), PageError> {
    let Some(t) = q.credential_type_id else {
        return Ok((Vec::new(), None));
    };
    let params = CandidateParams {
        within_days: q.within_days,
        logic: q.logic.clone(),
        period_start: q.period_start,
        period_end: q.period_end,
        period_days: q.period_days,
        due_days_before: q.due_days_before,
    };
    let c = app
        .renewal_candidates(&user.actor.reader()?, t, &params)
        .await?;
    Ok((c.items, c.plan_id))
}

async fn planner_page(
    app: &App,
    user: &WebUser,
    q: PlannerQuery,
    edit: impl FnOnce(Vec<Candidate>) -> Vec<PlannerRow>,
    notice: Option<String>,
    error: Option<String>,
) -> PageResult {
    let types = all_types(app, &user.actor).await?;
    let (rows, plan_id, error) = match candidates(app, user, &q).await {
        Ok((c, plan)) => (edit(c), plan, error),
        Err(PageError(e)) => (Vec::new(), None, Some(error_text(&e))),
    };
    let mut layout = Layout::new(user, "Renewals", "renewals").with_error(error);
    if notice.is_some() {
        layout.notice = notice;
    }
    Ok(render(&PlannerPage {
        layout,
        types,
        rows,
        plan_id,
        can_manage: user.actor.role().manages_credentials(),
        q,
    }))
}

pub async fn page(
    State(app): State<App>,
    user: WebUser,
    HtmlQuery(q): HtmlQuery<PlannerQuery>,
) -> PageResult {
    user.actor.reader()?;
    let suggested = |c: Vec<Candidate>| c.into_iter().map(PlannerRow::suggested).collect();
    planner_page(&app, &user, q, suggested, None, None).await
}

#[derive(Deserialize)]
pub struct RenewForm {
    credential_type_id: CredentialTypeId,
    mode: String,
    /// The rows chosen (credential ids).
    #[serde(default)]
    chosen: Vec<CredentialId>,
    /// Chosen rows a plan already renewed, to renew again (their period is replaced).
    #[serde(default)]
    replace: Vec<CredentialId>,
    #[serde(default)]
    credential_id: Vec<CredentialId>,
    #[serde(default)]
    period_start: Vec<String>,
    #[serde(default)]
    period_end: Vec<String>,
    #[serde(default)]
    due_date: Vec<String>,
    back: Option<String>,
}

impl RenewForm {
    /// The rows as the officer left them: candidates keep their place in the list, with the
    /// dates typed and the boxes ticked in the form, and `outcome` per row when known.
    fn overlay(
        &self,
        candidates: Vec<Candidate>,
        outcome: impl Fn(&CredentialId, bool) -> Option<String>,
    ) -> Vec<PlannerRow> {
        candidates
            .into_iter()
            .map(|c| {
                let mut row = PlannerRow::suggested(c);
                if let Some(i) = self
                    .credential_id
                    .iter()
                    .position(|id| *id == row.c.credential_id)
                {
                    let typed = |list: &Vec<String>| list.get(i).cloned().unwrap_or_default();
                    row.start = typed(&self.period_start);
                    row.end = typed(&self.period_end);
                    row.due = typed(&self.due_date);
                    row.chosen = self.chosen.contains(&row.c.credential_id);
                    row.replace = self.replace.contains(&row.c.credential_id);
                }
                row.outcome = outcome(&row.c.credential_id, row.chosen);
                row
            })
            .collect()
    }

    /// The chosen rows as plan items, or the words of what is missing.
    fn items(&self) -> Result<Vec<PlanItem>, &'static str> {
        let mut items = Vec::new();
        for (i, id) in self.credential_id.iter().enumerate() {
            if !self.chosen.contains(id) {
                continue;
            }
            let day = |list: &Vec<String>| list.get(i).and_then(|d| d.parse::<NaiveDate>().ok());
            let (Some(start), Some(end)) = (day(&self.period_start), day(&self.period_end)) else {
                return Err("Every chosen row needs a start and an end date.");
            };
            items.push(PlanItem {
                credential_id: *id,
                period_start: start,
                period_end: end,
                due_date: day(&self.due_date),
                replace: Some(self.replace.contains(id)),
            });
        }
        if items.is_empty() {
            return Err("Choose at least one credential to renew.");
        }
        Ok(items)
    }
}

/// What a preview says about one row.
fn preview_outcome(result: &RenewalPlanResult, id: &CredentialId, chosen: bool) -> Option<String> {
    if !chosen {
        return Some("Not chosen".into());
    }
    if result.renewed.contains(id) {
        return Some("Will be renewed".into());
    }
    let reason = result
        .skipped
        .iter()
        .find(|s| s.id == AnyId::from(*id))
        .map(|s| s.reason.as_str())?;
    Some(match reason {
        "already_planned" => "Skipped: already in the plan (tick Replace to renew it again)".into(),
        "revoked" => "Skipped: revoked".into(),
        other => format!("Skipped: {other}"),
    })
}

pub async fn renew(State(app): State<App>, CsrfForm(user, f): CsrfForm<RenewForm>) -> Response {
    let back = f
        .back
        .clone()
        .filter(|b| b.starts_with("/renewals") && crate::pages::is_local_path(b))
        .unwrap_or_else(|| {
            format!(
                "/renewals?credential_type_id={}",
                form_encode(&f.credential_type_id.to_string())
            )
        });
    let q = PlannerQuery {
        credential_type_id: Some(f.credential_type_id),
        ..PlannerQuery::from_address(&back)
    };
    let items = match f.items() {
        Ok(items) => items,
        Err(words) => return keep_form(&app, &user, q, &f, words.into()).await,
    };
    let dry_run = f.mode == "preview";
    let result = app
        .create_renewal_plan(
            &capability!(user.actor, officer),
            NewRenewalPlan {
                credential_type_id: f.credential_type_id,
                items,
                dry_run: Some(dry_run),
            },
        )
        .await;
    match result {
        Ok(r) if dry_run => {
            let notice = format!(
                "Preview: {} credential(s) would be renewed, {} skipped. Nothing was changed.",
                r.renewed.len(),
                r.skipped.len()
            );
            let rows = |c| f.overlay(c, |id, chosen| preview_outcome(&r, id, chosen));
            planner_page(&app, &user, q, rows, Some(notice), None)
                .await
                .into_response()
        }
        Ok(r) => {
            let skipped = if r.skipped.is_empty() {
                String::new()
            } else {
                format!(" {} skipped (already planned or revoked).", r.skipped.len())
            };
            redirect_with(
                &back,
                "notice",
                &format!(
                    "Renewed {} credential(s) in plan {}.{skipped}",
                    r.renewed.len(),
                    r.plan_id.map(|p| p.to_string()).unwrap_or_default()
                ),
            )
        }
        Err(e) => {
            let words = named_error(&app, &user, &f, &e).await;
            keep_form(&app, &user, q, &f, words).await
        }
    }
}

/// The plan's error with each item named by its member ("Smith, Ava, end date: …"), not
/// `items[3].period_end`: items are the chosen rows, in order.
async fn named_error(
    app: &App,
    user: &WebUser,
    f: &RenewForm,
    e: &credence_app::AppError,
) -> String {
    let chosen: Vec<CredentialId> = f
        .credential_id
        .iter()
        .filter(|id| f.chosen.contains(id))
        .copied()
        .collect();
    let actor = &user.actor;
    let Ok(items) = app.credentials_by_ids(actor, &chosen).await else {
        return error_text(e);
    };
    let member_ids: Vec<_> = items.iter().map(|c| c.member_id).collect();
    let Ok(names) = app.names(actor, &member_ids).await else {
        return error_text(e);
    };
    crate::pages::error_text_naming(e, |row| {
        let id = chosen.get(row)?;
        let c = items.iter().find(|c| c.id == *id)?;
        Some(names.member(&c.member_id))
    })
}

/// The planner again with the form as it was posted and `error` above it: a mistake costs
/// the officer none of their edits.
async fn keep_form(
    app: &App,
    user: &WebUser,
    q: PlannerQuery,
    f: &RenewForm,
    error: String,
) -> Response {
    let rows = |c| f.overlay(c, |_, _| None);
    planner_page(app, user, q, rows, None, Some(error))
        .await
        .into_response()
}
