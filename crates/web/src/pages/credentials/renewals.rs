//! The renewal planner page (seed 001): pick a type, see expired and expiring credentials
//! with suggested periods, switch the period logic, edit, preview, renew in one step.

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use chrono::NaiveDate;
use credence_app::catalog::credential_types::CredentialTypeView;
use credence_app::credentials::renewal_plan::{
    Candidate, CandidateParams, NewRenewalPlan, PlanItem,
};
use credence_app::ids::{CredentialId, CredentialTypeId, RenewalPlanId};
use credence_app::App;
use serde::Deserialize;

use crate::pages::auth::session::{CsrfForm, HtmlQuery};
use crate::pages::credentials::manage::all_types;
use crate::pages::{error_text, form_encode, redirect_with, render, Layout, PageResult, WebUser};

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

#[derive(Template)]
#[template(path = "renewals.html")]
struct PlannerPage {
    layout: Layout,
    types: Vec<CredentialTypeView>,
    q: PlannerQuery,
    candidates: Vec<Candidate>,
    plan_id: Option<RenewalPlanId>,
    can_manage: bool,
}

impl PlannerPage {
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

pub async fn page(
    State(app): State<App>,
    user: WebUser,
    HtmlQuery(q): HtmlQuery<PlannerQuery>,
) -> PageResult {
    let actor = &user.actor;
    actor.reader()?;
    let types = all_types(&app, actor).await?;
    let mut error = None;
    let (candidates, plan_id) = match q.credential_type_id {
        Some(t) => {
            let params = CandidateParams {
                within_days: q.within_days,
                logic: q.logic.clone(),
                period_start: q.period_start,
                period_end: q.period_end,
                period_days: q.period_days,
                due_days_before: q.due_days_before,
            };
            match app.renewal_candidates(&actor.reader()?, t, &params).await {
                Ok(c) => (c.items, c.plan_id),
                Err(e) => {
                    error = Some(error_text(&e));
                    (Vec::new(), None)
                }
            }
        }
        None => (Vec::new(), None),
    };
    Ok(render(&PlannerPage {
        layout: Layout::new(&user, "Renewals", "renewals").with_error(error),
        types,
        candidates,
        plan_id,
        can_manage: actor.role().manages_credentials(),
        q,
    }))
}

#[derive(Deserialize)]
pub struct RenewForm {
    credential_type_id: CredentialTypeId,
    mode: String,
    /// The rows chosen (credential ids).
    #[serde(default)]
    chosen: Vec<CredentialId>,
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
    let mut items = Vec::new();
    for (i, id) in f.credential_id.iter().enumerate() {
        if !f.chosen.contains(id) {
            continue;
        }
        let day = |list: &Vec<String>| list.get(i).and_then(|d| d.parse::<NaiveDate>().ok());
        let (Some(start), Some(end)) = (day(&f.period_start), day(&f.period_end)) else {
            return redirect_with(
                &back,
                "error",
                "Every chosen row needs a start and an end date.",
            );
        };
        items.push(PlanItem {
            credential_id: *id,
            period_start: start,
            period_end: end,
            due_date: day(&f.due_date),
        });
    }
    if items.is_empty() {
        return redirect_with(&back, "error", "Choose at least one credential to renew.");
    }
    let dry_run = f.mode == "preview";
    match app
        .create_renewal_plan(
            &capability!(user.actor, officer),
            NewRenewalPlan {
                credential_type_id: f.credential_type_id,
                items,
                dry_run: Some(dry_run),
            },
        )
        .await
    {
        Ok(r) if dry_run => redirect_with(
            &back,
            "notice",
            &format!(
                "Preview: {} credential(s) would be renewed, {} skipped. Nothing was changed.",
                r.renewed.len(),
                r.skipped.len()
            ),
        ),
        Ok(r) => redirect_with(
            &back,
            "notice",
            &format!(
                "Renewed {} credential(s) in plan {}.",
                r.renewed.len(),
                r.plan_id.map(|p| p.to_string()).unwrap_or_default()
            ),
        ),
        Err(e) => redirect_with(&back, "error", &error_text(&e)),
    }
}
