//! Members: the searchable list (`/members`), a member's page (profile, groups, every
//! credential with its requirement checklist, training records, recording training, and
//! assigning a credential type to this one member), and deactivating or reactivating them.
//! Adding and editing are in `member_form.rs`.

use std::collections::HashMap;

use crate::extract::PathIds;
use askama::Template;
use axum::extract::State;
use axum::response::Response;
use chrono::NaiveDate;
use credence_app::catalog::courses::CourseView;
use credence_app::catalog::credential_types::CredentialTypeView;
use credence_app::credentials::assign::{AssignMode, Assignment};
use credence_app::credentials::views::CredentialDetail;
use credence_app::ids::{CourseId, CredentialTypeId, GroupId, MemberId};
use credence_app::page::PageParams;
use credence_app::people::groups::GroupChoice;
use credence_app::people::members::{MemberListFilter, MemberPatch, MemberView};
use credence_app::training::records::{NewTrainingRecord, Source, TrainingRecordView};
use credence_app::App;
use serde::Deserialize;

use crate::pages::auth::session::{CsrfForm, HtmlQuery};
use crate::pages::credentials::manage::{all_groups, all_types};
use crate::pages::{
    error_text, form_encode, redirect_with, render, DownloadFormat, Layout, PageResult, WebUser,
};

/// Members per page of the list.
const PAGE: i64 = 50;

/// The list's query string, kept as typed so links and forms repeat it.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ListQuery {
    q: Option<String>,
    group_id: Option<GroupId>,
    /// `true` (the default), `false` or `all`.
    active: Option<String>,
    cursor: Option<String>,
}

impl ListQuery {
    fn active(&self) -> &str {
        match self.active.as_deref() {
            Some("false") => "false",
            Some("all") => "all",
            _ => "true",
        }
    }

    fn filter(&self) -> MemberListFilter {
        MemberListFilter {
            q: self.q.clone().filter(|q| !q.trim().is_empty()),
            group_id: self.group_id,
            active: match self.active() {
                "false" => Some(false),
                "all" => None,
                _ => Some(true),
            },
        }
    }

    /// The filter as a query string (no cursor).
    fn query_string(&self) -> String {
        let mut pairs = vec![format!("active={}", self.active())];
        if let Some(q) = self.q.as_deref().filter(|q| !q.trim().is_empty()) {
            pairs.push(format!("q={}", form_encode(q)));
        }
        if let Some(g) = self.group_id {
            pairs.push(format!("group_id={g}"));
        }
        pairs.join("&")
    }

    fn is_group(&self, id: &GroupId) -> bool {
        self.group_id == Some(*id)
    }
}

pub struct ListRow {
    m: MemberView,
    groups: Vec<String>,
}

#[derive(Template)]
#[template(path = "members.html")]
struct ListPage {
    layout: Layout,
    query: ListQuery,
    rows: Vec<ListRow>,
    count: i64,
    next: Option<String>,
    groups: Vec<GroupChoice>,
    can_admin: bool,
}

impl ListPage {
    fn next_link(&self) -> Option<String> {
        self.next
            .as_ref()
            .map(|c| format!("/members?{}&cursor={c}", self.query.query_string()))
    }
}

/// `/members.csv` and `.xlsx`: every member the list's filters match.
pub async fn export(
    State(app): State<App>,
    user: WebUser,
    DownloadFormat(format): DownloadFormat,
    HtmlQuery(query): HtmlQuery<ListQuery>,
) -> PageResult {
    let reader = user.actor.reader()?;
    let export = app.export_members(&reader, query.filter(), format).await?;
    Ok(crate::pages::export_response(export))
}

pub async fn list(
    State(app): State<App>,
    user: WebUser,
    HtmlQuery(query): HtmlQuery<ListQuery>,
) -> PageResult {
    let actor = &user.actor;
    let reader = actor.reader()?;
    let filter = query.filter();
    let page = app
        .members(
            actor,
            &filter,
            &PageParams {
                limit: Some(PAGE),
                cursor: query.cursor.clone(),
            },
        )
        .await;
    let (items, next, error) = match page {
        Ok(p) => (p.items, p.next_cursor, None),
        Err(e) => (Vec::new(), None, Some(error_text(&e))),
    };
    let groups = all_groups(&app, actor).await?;
    let names: HashMap<GroupId, &str> = groups.iter().map(|g| (g.id, g.name.as_str())).collect();
    let rows = items
        .into_iter()
        .map(|m| ListRow {
            groups: m
                .group_ids
                .iter()
                .filter_map(|g| names.get(g).map(|n| n.to_string()))
                .collect(),
            m,
        })
        .collect();
    let count = app.members_count(&reader, &filter).await?;
    Ok(render(&ListPage {
        layout: Layout::new(&user, "Members", "members").with_error(error),
        query,
        rows,
        count,
        next,
        groups,
        can_admin: actor.role().administers(),
    }))
}

#[derive(Template)]
#[template(path = "member.html")]
struct MemberPage {
    layout: Layout,
    m: MemberView,
    groups: Vec<String>,
    supervisor: Option<String>,
    credentials: Vec<(CredentialDetail, String)>,
    records: Vec<(TrainingRecordView, String)>,
    courses: Vec<CourseView>,
    certificates: Vec<credence_app::documents::certificates::CertificateView>,
    can_manage: bool,
    can_admin: bool,
    /// Published types, for assigning one to this member (officers).
    types: Vec<CredentialTypeView>,
    today: String,
    /// Leaves of absence, for readers of the agency.
    leaves: Vec<credence_app::credentials::exemptions::LeaveView>,
}

impl MemberPage {
    /// Exemptions in force today, with the credential each belongs to.
    fn active_exemptions(
        &self,
    ) -> Vec<(&credence_app::credentials::exemptions::ExemptionView, &str)> {
        self.credentials
            .iter()
            .flat_map(|(d, name)| {
                d.exemptions
                    .iter()
                    .filter(|e| e.active)
                    .map(move |e| (e, name.as_str()))
            })
            .collect()
    }

    /// A leave not yet begun may be withdrawn (its extension undone).
    fn withdrawable(&self, leave: &credence_app::credentials::exemptions::LeaveView) -> bool {
        !leave.withdrawn && leave.starts_on.to_string() > self.today
    }
}

pub async fn page(
    State(app): State<App>,
    user: WebUser,
    PathIds(id): PathIds<MemberId>,
) -> PageResult {
    let p = app.member_profile(&user.actor, id).await?;
    let can_manage = user.actor.role().manages_credentials();
    let types = if can_manage {
        all_types(&app, &user.actor)
            .await?
            .into_iter()
            .filter(|t| t.state == "published")
            .collect()
    } else {
        Vec::new()
    };
    let leaves = match user.actor.reader() {
        Ok(reader) => {
            let filter = credence_app::credentials::exemptions::LeaveListFilter {
                member_id: Some(id),
            };
            app.leaves(
                &reader,
                &filter,
                &credence_app::page::PageParams::first(100),
            )
            .await?
            .items
        }
        Err(_) => Vec::new(),
    };
    Ok(render(&MemberPage {
        leaves,
        layout: Layout::new(
            &user,
            format!("{} {}", p.member.first_name, p.member.last_name),
            "members",
        ),
        today: p.today.to_string(),
        can_manage,
        can_admin: user.actor.role().administers(),
        types,
        m: p.member,
        groups: p.groups,
        supervisor: p.supervisor,
        credentials: p.credentials,
        records: p.records,
        courses: p.courses,
        certificates: p.certificates,
    }))
}

#[derive(Deserialize)]
pub struct TrainingForm {
    course_id: Option<CourseId>,
    completed_on: String,
    score: Option<String>,
    hours: Option<String>,
    category: Option<String>,
}

pub async fn record_training(
    State(app): State<App>,
    PathIds(id): PathIds<MemberId>,
    CsrfForm(user, f): CsrfForm<TrainingForm>,
) -> Response {
    let back = format!("/members/{id}");
    let number = |v: &Option<String>| {
        v.as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::parse::<f64>)
    };
    let (Ok(completed_on), Ok(score), Ok(hours)) = (
        f.completed_on.parse(),
        number(&f.score).transpose(),
        number(&f.hours).transpose(),
    ) else {
        return redirect_with(
            &back,
            "error",
            "Enter a completion date, and numbers for score and hours.",
        );
    };
    let input = NewTrainingRecord {
        member_id: id,
        course_id: f.course_id,
        completed_on,
        score,
        hours,
        category: f.category.filter(|c| !c.trim().is_empty()),
    };
    match app
        .record_training(&capability!(user.actor, officer), input, Source::Manual)
        .await
    {
        Ok(_) => redirect_with(
            &back,
            "notice",
            "Training recorded; progress is up to date.",
        ),
        Err(e) => redirect_with(&back, "error", &error_text(&e)),
    }
}

/// Assigning one credential type to this member: the Assign page's fields for one member.
#[derive(Deserialize)]
pub struct AssignForm {
    credential_type_id: Option<CredentialTypeId>,
    mode: String,
    period_start: Option<String>,
    period_end: Option<String>,
    issue_date: Option<String>,
    expiration_date: Option<String>,
}

/// A date field: blank is "not given"; text that is no date is refused by name.
fn date_field(field: &str, v: &Option<String>) -> Result<Option<NaiveDate>, String> {
    match v.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => s
            .parse()
            .map(Some)
            .map_err(|_| format!("{field}: {s:?} is not a date (YYYY-MM-DD)")),
    }
}

impl AssignForm {
    fn assignment(&self, member: MemberId) -> Result<Assignment, String> {
        let Some(credential_type_id) = self.credential_type_id else {
            return Err("credential_type_id: choose a credential type".into());
        };
        let completion = self.mode != "active_with_period";
        let (period_start, period_end, issue_date, expiration_date) = if completion {
            (
                date_field("period_start", &self.period_start)?,
                date_field("period_end", &self.period_end)?,
                None,
                None,
            )
        } else {
            (
                None,
                None,
                date_field("issue_date", &self.issue_date)?,
                date_field("expiration_date", &self.expiration_date)?,
            )
        };
        Ok(Assignment {
            credential_type_id,
            mode: if completion {
                AssignMode::CompletionPeriod
            } else {
                AssignMode::ActiveWithPeriod
            },
            period_start,
            period_end,
            due_date: None,
            issue_date,
            expiration_date,
            member_ids: Some(vec![member]),
            group_ids: None,
            all_members: None,
            dry_run: None,
        })
    }
}

pub async fn assign(
    State(app): State<App>,
    PathIds(id): PathIds<MemberId>,
    CsrfForm(user, f): CsrfForm<AssignForm>,
) -> Response {
    let officer = capability!(user.actor, officer);
    let back = format!("/members/{id}");
    // Another agency's member is a 404, as on every page.
    if let Err(e) = app.member(&user.actor, id).await {
        return axum::response::IntoResponse::into_response(crate::pages::PageError(e));
    }
    let input = match f.assignment(id) {
        Ok(i) => i,
        Err(e) => return redirect_with(&back, "error", &format!("Not assigned: {e}.")),
    };
    match app.assign(&officer, input).await {
        Ok(r) if !r.created.is_empty() => redirect_with(
            &back,
            "notice",
            "Assigned; the new credential is listed below.",
        ),
        Ok(r) => {
            let why = match r.skipped.first().map(|s| s.reason.as_str()) {
                Some("inactive") => "the member is inactive",
                _ => "the member already holds this credential",
            };
            redirect_with(&back, "error", &format!("Not assigned: {why}."))
        }
        Err(e) => redirect_with(
            &back,
            "error",
            &format!("Not assigned: {}.", error_text(&e)),
        ),
    }
}

pub async fn deactivate(
    State(app): State<App>,
    PathIds(id): PathIds<MemberId>,
    CsrfForm(user, _): CsrfForm<NoFields>,
) -> Response {
    let admin = capability!(user.actor, admin);
    let back = format!("/members/{id}");
    match app.deactivate_member(&admin, id).await {
        Ok(m) => redirect_with(
            &back,
            "notice",
            &format!(
                "{} {} is deactivated: their sign-in sessions and API tokens ended. Their credentials and history stay.",
                m.first_name, m.last_name
            ),
        ),
        Err(credence_app::AppError::NotFound) => axum::response::IntoResponse::into_response(
            crate::pages::PageError(credence_app::AppError::NotFound),
        ),
        Err(e) => redirect_with(&back, "error", &error_text(&e)),
    }
}

/// A form with only its CSRF token.
#[derive(Deserialize)]
pub struct NoFields {}

#[derive(Deserialize)]
pub struct VersionForm {
    version: Option<i64>,
}

pub async fn reactivate(
    State(app): State<App>,
    PathIds(id): PathIds<MemberId>,
    CsrfForm(user, f): CsrfForm<VersionForm>,
) -> Response {
    let admin = capability!(user.actor, admin);
    let back = format!("/members/{id}");
    let patch = MemberPatch {
        version: f.version.unwrap_or_default(),
        first_name: None,
        last_name: None,
        email: None,
        employee_number: None,
        active: Some(true),
        position: None,
        supervisor_member_id: None,
        group_ids: None,
    };
    match app.update_member(&admin, id, patch).await {
        Ok(m) => redirect_with(
            &back,
            "notice",
            &format!(
                "{} {} is active again. Their old API tokens stay revoked.",
                m.first_name, m.last_name
            ),
        ),
        Err(credence_app::AppError::NotFound) => axum::response::IntoResponse::into_response(
            crate::pages::PageError(credence_app::AppError::NotFound),
        ),
        Err(e) => redirect_with(&back, "error", &error_text(&e)),
    }
}

/// `/members/{id}/transcript.pdf`: the member's training transcript (a member may have only
/// their own; anyone else's is the 404 page).
pub async fn transcript(
    State(app): State<App>,
    user: WebUser,
    PathIds(id): PathIds<MemberId>,
) -> PageResult {
    let t = app.transcript_pdf(&user.actor, id).await?;
    Ok(crate::api::documents::certificates::file_response(
        &t.file_name,
        "application/pdf",
        t.pdf,
        crate::api::documents::certificates::Served::Rendered,
    ))
}
