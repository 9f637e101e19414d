//! Manage Credentials (seed 000's main screen): filters, search, sort, keyset pages and a
//! selection (or everything matching) that the toolbar actions work on: assign, issue or
//! update dates, renew (manual types), revoke, export. One credential's page shows its
//! requirements, periods and issuances, with single issue and sign-off.

use crate::extract::PathIds;
use askama::Template;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use credence_app::catalog::credential_types::{CredentialTypeView, TypeListFilter};
use credence_app::credentials::assign::{AssignMode, Assignment};
use credence_app::credentials::issue::{BulkUpdate, IssueFields, IssueInput};
use credence_app::credentials::renew::RenewalInput;
use credence_app::credentials::revoke::BulkRevoke;
use credence_app::credentials::views::{
    CredentialDetail, CredentialListFilter, CredentialView, Names,
};
use credence_app::ids::{
    CredentialId, CredentialTypeId, GroupId, IssuanceId, MemberId, OperationId, RequirementId,
};
use credence_app::page::PageParams;
use credence_app::people::groups::GroupChoice;
use credence_app::training::records::SignOffInput;
use credence_app::training::sign_offs::BulkSignOff;
use credence_app::{Actor, App, AppError};
use credence_domain::status::Status;
use serde::Deserialize;

use crate::pages::auth::session::{CsrfForm, HtmlQuery};
use crate::pages::people::picker::{thousands, MemberPicker, Picked};
use crate::pages::{
    error_text, error_text_naming, errors_in_words, field_label, form_encode, redirect_with,
    render, DownloadFormat, Layout, PageResult, WebUser,
};

/// The list's query string, kept as typed so links and forms can repeat it.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    status: Vec<String>,
    credential_type_id: Option<CredentialTypeId>,
    group_id: Option<GroupId>,
    expiring_within_days: Option<String>,
    /// "true" or "false"; empty or absent: either.
    lapsed: Option<String>,
    /// "true": also tracks withdrawn with their retired type.
    include_withdrawn: Option<String>,
    q: Option<String>,
    sort: Option<String>,
    cursor: Option<String>,
}

impl ListQuery {
    fn filter(&self) -> CredentialListFilter {
        CredentialListFilter {
            status: self
                .status
                .iter()
                .filter(|s| !s.is_empty())
                .cloned()
                .collect(),
            credential_type_id: self.credential_type_id,
            member_id: None,
            group_id: self.group_id,
            expiring_within_days: self
                .expiring_within_days
                .as_deref()
                .and_then(|d| d.parse().ok()),
            q: self.q.clone().filter(|s| !s.is_empty()),
            sort: self.sort.clone().filter(|s| !s.is_empty()),
            lapsed: self.lapsed.as_deref().and_then(|v| v.parse().ok()),
            include_withdrawn: Some(self.include_withdrawn.as_deref() == Some("true")),
        }
    }

    /// The filter as query-string pairs (no cursor, no messages).
    fn pairs(&self) -> Vec<(&'static str, String)> {
        let mut out: Vec<(&'static str, String)> = self
            .status
            .iter()
            .filter(|s| !s.is_empty())
            .map(|s| ("status", s.clone()))
            .collect();
        if let Some(t) = self.credential_type_id {
            out.push(("credential_type_id", t.to_string()));
        }
        if let Some(g) = self.group_id {
            out.push(("group_id", g.to_string()));
        }
        for (k, v) in [
            ("expiring_within_days", &self.expiring_within_days),
            ("lapsed", &self.lapsed),
            ("include_withdrawn", &self.include_withdrawn),
            ("q", &self.q),
            ("sort", &self.sort),
        ] {
            if let Some(v) = v.as_ref().filter(|v| !v.is_empty()) {
                out.push((k, v.clone()));
            }
        }
        out
    }

    fn query_string(&self) -> String {
        self.pairs()
            .iter()
            .map(|(k, v)| format!("{k}={}", form_encode(v)))
            .collect::<Vec<_>>()
            .join("&")
    }

    fn has_status(&self, s: &str) -> bool {
        self.status.iter().any(|x| x == s)
    }

    /// True when the filter `field` is set to `value` (a select option in the template).
    fn is(&self, field: &str, value: impl std::fmt::Display) -> bool {
        let v = match field {
            "credential_type_id" => self.credential_type_id.map(|t| t.to_string()),
            "group_id" => self.group_id.map(|g| g.to_string()),
            "sort" => self.sort.clone(),
            "expiring_within_days" => self.expiring_within_days.clone(),
            "lapsed" => self.lapsed.clone(),
            "include_withdrawn" => self.include_withdrawn.clone(),
            _ => return false,
        };
        v.as_deref() == Some(value.to_string().as_str())
    }
}

pub struct Row {
    pub c: CredentialView,
    pub member: String,
    pub type_name: String,
}

#[derive(Template)]
#[template(path = "credentials.html")]
struct ListPage {
    layout: Layout,
    query: ListQuery,
    rows: Vec<Row>,
    next: Option<String>,
    types: Vec<CredentialTypeView>,
    groups: Vec<GroupChoice>,
    statuses: Vec<(&'static str, &'static str)>,
    can_manage: bool,
}

impl ListPage {
    fn next_link(&self) -> Option<String> {
        self.next
            .as_ref()
            .map(|c| format!("/credentials?{}&cursor={c}", self.query.query_string()))
    }
}

pub(crate) async fn all_types(
    app: &App,
    actor: &Actor,
) -> Result<Vec<CredentialTypeView>, AppError> {
    Ok(app
        .credential_types(
            actor,
            &TypeListFilter::default(),
            &PageParams {
                limit: Some(500),
                cursor: None,
            },
        )
        .await?
        .items)
}

pub(crate) async fn all_groups(app: &App, actor: &Actor) -> Result<Vec<GroupChoice>, AppError> {
    app.group_choices(&actor.reader()?).await
}

/// Member and type names for a list of credentials.
pub(crate) async fn names_for(
    app: &App,
    actor: &Actor,
    items: &[CredentialView],
) -> Result<Names, AppError> {
    let member_ids: Vec<MemberId> = items.iter().map(|c| c.member_id).collect();
    app.names(actor, &member_ids).await
}

pub(crate) fn rows(items: Vec<CredentialView>, names: &Names) -> Vec<Row> {
    items
        .into_iter()
        .map(|c| Row {
            member: names.member(&c.member_id),
            type_name: names.type_name(&c.credential_type_id),
            c,
        })
        .collect()
}

pub async fn list(
    State(app): State<App>,
    user: WebUser,
    HtmlQuery(query): HtmlQuery<ListQuery>,
) -> PageResult {
    let actor = &user.actor;
    actor.reader()?;
    let page = PageParams {
        limit: Some(50),
        cursor: query.cursor.clone(),
    };
    let result = app.credentials(actor, &query.filter(), &page).await;
    let (items, next, error) = match result {
        Ok(p) => (p.items, p.next_cursor, None),
        Err(e) => (Vec::new(), None, Some(error_text(&e))),
    };
    let names = names_for(&app, actor, &items).await?;
    Ok(render(&ListPage {
        layout: Layout::new(&user, "Manage Credentials", "credentials").with_error(error),
        rows: rows(items, &names),
        next,
        types: all_types(&app, actor).await?,
        groups: all_groups(&app, actor).await?,
        statuses: Status::ALL
            .iter()
            .map(|s| (s.as_str(), s.label()))
            .collect(),
        can_manage: actor.role().manages_credentials(),
        query,
    }))
}

/// Every credential matching the filter, in pages of 500 (for CSV and "all matching").
async fn all_matching(
    app: &App,
    actor: &Actor,
    filter: &CredentialListFilter,
    cap: usize,
) -> Result<Vec<CredentialView>, AppError> {
    let mut out = Vec::new();
    let mut cursor = None;
    loop {
        let page = app
            .credentials(
                actor,
                filter,
                &PageParams {
                    limit: Some(500),
                    cursor,
                },
            )
            .await?;
        out.extend(page.items);
        match page.next_cursor {
            Some(c) if out.len() < cap => cursor = Some(c),
            _ => return Ok(out),
        }
    }
}

/// `/credentials.csv` and `.xlsx`: every credential the page's filters match.
pub async fn export(
    State(app): State<App>,
    user: WebUser,
    DownloadFormat(format): DownloadFormat,
    HtmlQuery(query): HtmlQuery<ListQuery>,
) -> PageResult {
    let reader = user.actor.reader()?;
    let export = app
        .export_credentials(&reader, query.filter(), format)
        .await?;
    Ok(crate::pages::export_response(export))
}

// ---- Assign (seed 000's two-step modal, as one page) ----

#[derive(Template)]
#[template(path = "assign.html")]
struct AssignPage {
    layout: Layout,
    types: Vec<CredentialTypeView>,
    /// The form as typed (kept when it is refused or searched without script).
    f: AssignForm,
    picker: MemberPicker,
    /// Each refused field, in words.
    errors: Vec<String>,
}

impl AssignPage {
    fn is_type(&self, id: &CredentialTypeId) -> bool {
        self.f.credential_type_id == Some(*id)
    }

    fn active_mode(&self) -> bool {
        self.f.mode.as_deref() == Some("active_with_period")
    }

    /// The value typed into a date field.
    fn val(&self, field: &str) -> String {
        let f = &self.f;
        match field {
            "period_start" => &f.period_start,
            "period_end" => &f.period_end,
            "issue_date" => &f.issue_date,
            "expiration_date" => &f.expiration_date,
            _ => &None,
        }
        .clone()
        .unwrap_or_default()
    }
}

/// Published types, for the Assign form.
async fn published_types(app: &App, actor: &Actor) -> Result<Vec<CredentialTypeView>, AppError> {
    Ok(all_types(app, actor)
        .await?
        .into_iter()
        .filter(|t| t.state == "published")
        .collect())
}

async fn assign_page(app: &App, user: &WebUser, f: AssignForm, errors: Vec<String>) -> PageResult {
    let actor = &user.actor;
    let picker = MemberPicker::load(app, actor, &f.picked()).await?;
    let mut layout = Layout::new(user, "Assign a credential", "credentials");
    if !errors.is_empty() {
        layout.error = Some("The credential was not assigned: see below.".into());
    }
    let status = if errors.is_empty() {
        axum::http::StatusCode::OK
    } else {
        axum::http::StatusCode::UNPROCESSABLE_ENTITY
    };
    Ok((
        status,
        render(&AssignPage {
            layout,
            types: published_types(app, actor).await?,
            f,
            picker,
            errors,
        }),
    )
        .into_response())
}

pub async fn assign_form(
    State(app): State<App>,
    user: WebUser,
    HtmlQuery(start): HtmlQuery<AssignStart>,
) -> PageResult {
    user.actor.officer()?;
    let f = AssignForm {
        credential_type_id: start.credential_type_id,
        period_start: Some(app.today(&user.actor).await?.to_string()),
        pick_group_id: start.group_id,
        ..Default::default()
    };
    assign_page(&app, &user, f, Vec::new()).await
}

/// Where the Assign page may start: a type or a group already chosen (links from a type's
/// or a group's page).
#[derive(Debug, Default, Deserialize)]
pub struct AssignStart {
    credential_type_id: Option<CredentialTypeId>,
    group_id: Option<GroupId>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct AssignForm {
    credential_type_id: Option<CredentialTypeId>,
    mode: Option<String>,
    period_start: Option<String>,
    period_end: Option<String>,
    issue_date: Option<String>,
    expiration_date: Option<String>,
    #[serde(default)]
    member_ids: Vec<MemberId>,
    pick_q: Option<String>,
    pick_group_id: Option<GroupId>,
    pick_all: Option<String>,
    /// The picker's Search button without script: show the form again, filtered.
    pick_search: Option<String>,
}

impl AssignForm {
    fn picked(&self) -> Picked {
        Picked::new(
            &self.member_ids,
            &self.pick_q,
            self.pick_group_id,
            &self.pick_all,
        )
    }
}

fn date(v: &Option<String>) -> Option<NaiveDate> {
    v.as_deref()
        .filter(|s| !s.is_empty())
        .and_then(|s| s.parse().ok())
}

/// A typed date that is not a date is refused in words, not read as blank.
fn check_dates(fields: &[(&str, &Option<String>)]) -> Vec<String> {
    fields
        .iter()
        .filter(|(_, v)| v.as_deref().is_some_and(|s| !s.trim().is_empty()) && date(v).is_none())
        .map(|(name, _)| format!("{}: is not a date (YYYY-MM-DD)", field_label(name)))
        .collect()
}

/// What Assign and Renew members answer: how many, and who was skipped and why, by name.
#[derive(Template)]
#[template(path = "bulk_result.html")]
struct BulkResultPage {
    layout: Layout,
    heading: String,
    summary: String,
    type_id: CredentialTypeId,
    type_name: String,
    /// "Smith, Ava — already holds CPR".
    skipped: Vec<String>,
    operation_id: Option<OperationId>,
    /// Where "again" goes: `/credentials/assign` or `/credentials/renew`.
    again: &'static str,
}

pub async fn assign(
    State(app): State<App>,
    CsrfForm(user, form): CsrfForm<AssignForm>,
) -> Response {
    let _ = capability!(user.actor, officer);
    if form.pick_search.is_some() {
        return assign_page(&app, &user, form, Vec::new())
            .await
            .into_response();
    }
    match try_assign(&app, &user, &form).await {
        Ok(page) => page,
        Err(errors) => assign_page(&app, &user, form, errors).await.into_response(),
    }
}

async fn try_assign(app: &App, user: &WebUser, form: &AssignForm) -> Result<Response, Vec<String>> {
    let actor = &user.actor;
    let officer = actor.officer().map_err(|e| errors_in_words(&e))?;
    let completion = form.mode.as_deref() != Some("active_with_period");
    let mut errors = match completion {
        true => check_dates(&[
            ("period_start", &form.period_start),
            ("period_end", &form.period_end),
        ]),
        false => check_dates(&[
            ("issue_date", &form.issue_date),
            ("expiration_date", &form.expiration_date),
        ]),
    };
    let Some(type_id) = form.credential_type_id else {
        errors.insert(
            0,
            "Credential: choose one (publish a credential type first)".into(),
        );
        return Err(errors);
    };
    let picked = form.picked();
    if picked.is_empty() {
        errors.push("Members: tick at least one member, or add all matching".into());
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let member_ids = picked
        .resolve(app, actor)
        .await
        .map_err(|e| errors_in_words(&e))?;
    if member_ids.is_empty() {
        return Err(vec!["Members: no active member matches the search".into()]);
    }
    let keep = |on: bool, v: &Option<String>| if on { date(v) } else { None };
    let input = Assignment {
        credential_type_id: type_id,
        mode: if completion {
            AssignMode::CompletionPeriod
        } else {
            AssignMode::ActiveWithPeriod
        },
        period_start: keep(completion, &form.period_start),
        period_end: keep(completion, &form.period_end),
        due_date: None,
        issue_date: keep(!completion, &form.issue_date),
        expiration_date: keep(!completion, &form.expiration_date),
        member_ids: Some(member_ids),
        group_ids: None,
        all_members: None,
        dry_run: None,
    };
    let r = app
        .assign(&officer, input)
        .await
        .map_err(|e| errors_in_words(&e))?;
    let skipped_ids: Vec<MemberId> = r.skipped.iter().map(|s| s.member_id).collect();
    let names = app
        .names(actor, &skipped_ids)
        .await
        .map_err(|e| errors_in_words(&e))?;
    let type_name = names.type_name(&type_id);
    let skipped = r
        .skipped
        .iter()
        .map(|s| {
            let why = match s.reason.as_str() {
                "already_assigned" => format!("already holds {type_name}"),
                "inactive" => "is inactive".to_string(),
                other => other.replace('_', " "),
            };
            format!("{} — {why}", names.member(&s.member_id))
        })
        .collect();
    let mut layout = Layout::new(user, "Assigned", "credentials");
    layout.notice = Some(format!(
        "Assigned {type_name} to {} member(s).",
        thousands(r.created.len() as i64)
    ));
    Ok(render(&BulkResultPage {
        layout,
        heading: format!("Assigned {type_name}"),
        summary: match r.created.len() {
            1 => format!("1 member now has a {type_name} credential."),
            n => format!(
                "{} members now have a {type_name} credential.",
                thousands(n as i64)
            ),
        },
        type_id,
        type_name,
        skipped,
        operation_id: r.operation_id,
        again: "/credentials/assign",
    }))
}

// ---- Renew members (seed 002: pick a manual type, pick members, each gets a new period) ----

#[derive(Template)]
#[template(path = "renew_members.html")]
struct RenewMembersPage {
    layout: Layout,
    /// Published types that do not renew automatically.
    types: Vec<CredentialTypeView>,
    f: RenewMembersForm,
    picker: MemberPicker,
    errors: Vec<String>,
}

impl RenewMembersPage {
    fn is_type(&self, id: &CredentialTypeId) -> bool {
        self.f.credential_type_id == Some(*id)
    }

    fn val(&self, field: &str) -> String {
        let f = &self.f;
        match field {
            "period_start" => &f.period_start,
            "period_end" => &f.period_end,
            "due_date" => &f.due_date,
            _ => &None,
        }
        .clone()
        .unwrap_or_default()
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct RenewMembersForm {
    credential_type_id: Option<CredentialTypeId>,
    period_start: Option<String>,
    period_end: Option<String>,
    due_date: Option<String>,
    #[serde(default)]
    member_ids: Vec<MemberId>,
    pick_q: Option<String>,
    pick_group_id: Option<GroupId>,
    pick_all: Option<String>,
    pick_search: Option<String>,
}

impl RenewMembersForm {
    fn picked(&self) -> Picked {
        Picked::new(
            &self.member_ids,
            &self.pick_q,
            self.pick_group_id,
            &self.pick_all,
        )
    }
}

async fn renew_members_page(
    app: &App,
    user: &WebUser,
    f: RenewMembersForm,
    errors: Vec<String>,
) -> PageResult {
    let actor = &user.actor;
    let picker = MemberPicker::load(app, actor, &f.picked()).await?;
    let types = published_types(app, actor)
        .await?
        .into_iter()
        .filter(|t| t.renewal == "manual")
        .collect();
    let mut layout = Layout::new(user, "Renew members", "credentials");
    if !errors.is_empty() {
        layout.error = Some("Nothing was renewed: see below.".into());
    }
    let mut response = render(&RenewMembersPage {
        layout,
        types,
        f,
        picker,
        errors: errors.clone(),
    });
    if !errors.is_empty() {
        *response.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(response)
}

pub async fn renew_members_form(
    State(app): State<App>,
    user: WebUser,
    HtmlQuery(start): HtmlQuery<AssignStart>,
) -> PageResult {
    user.actor.officer()?;
    let f = RenewMembersForm {
        credential_type_id: start.credential_type_id,
        period_start: Some(app.today(&user.actor).await?.to_string()),
        pick_group_id: start.group_id,
        ..Default::default()
    };
    renew_members_page(&app, &user, f, Vec::new()).await
}

pub async fn renew_members(
    State(app): State<App>,
    CsrfForm(user, form): CsrfForm<RenewMembersForm>,
) -> Response {
    let _ = capability!(user.actor, officer);
    if form.pick_search.is_some() {
        return renew_members_page(&app, &user, form, Vec::new())
            .await
            .into_response();
    }
    match try_renew_members(&app, &user, &form).await {
        Ok(page) => page,
        Err(errors) => renew_members_page(&app, &user, form, errors)
            .await
            .into_response(),
    }
}

async fn try_renew_members(
    app: &App,
    user: &WebUser,
    form: &RenewMembersForm,
) -> Result<Response, Vec<String>> {
    let actor = &user.actor;
    let officer = actor.officer().map_err(|e| errors_in_words(&e))?;
    let mut errors = check_dates(&[
        ("period_start", &form.period_start),
        ("period_end", &form.period_end),
        ("due_date", &form.due_date),
    ]);
    let Some(type_id) = form.credential_type_id else {
        errors.insert(
            0,
            "Credential: choose one that does not renew automatically".into(),
        );
        return Err(errors);
    };
    let (start, end) = (date(&form.period_start), date(&form.period_end));
    if start.is_none() && errors.is_empty() {
        errors.push("Start date: enter the start of the new period".into());
    }
    if end.is_none() && errors.iter().all(|e| !e.starts_with("End date")) {
        errors.push("End date: enter the end of the new period".into());
    }
    let picked = form.picked();
    if picked.is_empty() {
        errors.push("Members: tick at least one member, or add all matching".into());
    }
    let (Some(start), Some(end), true) = (start, end, errors.is_empty()) else {
        return Err(errors);
    };
    let member_ids = picked
        .resolve(app, actor)
        .await
        .map_err(|e| errors_in_words(&e))?;
    if member_ids.is_empty() {
        return Err(vec!["Members: no active member matches the search".into()]);
    }
    let r = app
        .renew(
            &officer,
            RenewalInput {
                credential_type_id: type_id,
                credential_ids: None,
                member_ids: Some(member_ids),
                period_start: start,
                period_end: end,
                due_date: date(&form.due_date),
                dry_run: None,
            },
        )
        .await
        .map_err(|e| errors_in_words(&e))?;
    let skipped_ids: Vec<MemberId> = r
        .skipped
        .iter()
        .filter_map(|s| s.id.to_string().parse().ok())
        .collect();
    let names = app
        .names(actor, &skipped_ids)
        .await
        .map_err(|e| errors_in_words(&e))?;
    let type_name = names.type_name(&type_id);
    let skipped = r
        .skipped
        .iter()
        .map(|s| {
            let who =
                s.id.to_string()
                    .parse::<MemberId>()
                    .map(|m| names.member(&m))
                    .unwrap_or_else(|_| s.id.to_string());
            let why = match s.reason.as_str() {
                "not_assigned" => format!("does not hold {type_name}: assign it first"),
                other => other.replace('_', " "),
            };
            format!("{who} — {why}")
        })
        .collect();
    let mut layout = Layout::new(user, "Renewed", "credentials");
    layout.notice = Some(format!(
        "Renewed {} {type_name} credential(s): new period {start} to {end}.",
        thousands(r.renewed.len() as i64)
    ));
    Ok(render(&BulkResultPage {
        layout,
        heading: format!("Renewed {type_name}"),
        summary: match r.renewed.len() {
            1 => format!("1 member has a new period from {start} to {end}; enter the dates once they qualify."),
            n => format!("{} members have a new period from {start} to {end}; enter the dates once they qualify.", thousands(n as i64)),
        },
        type_id,
        type_name,
        skipped,
        operation_id: r.operation_id,
        again: "/credentials/renew",
    }))
}

// ---- Actions on a selection ----

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Selection {
    #[serde(default)]
    credential_ids: Vec<CredentialId>,
    /// "1": act on everything matching the filter, across pages.
    all_matching: Option<String>,
    action: Option<String>,
    #[serde(default)]
    status: Vec<String>,
    credential_type_id: Option<CredentialTypeId>,
    group_id: Option<GroupId>,
    expiring_within_days: Option<String>,
    lapsed: Option<String>,
    include_withdrawn: Option<String>,
    q: Option<String>,
    sort: Option<String>,
}

impl Selection {
    fn query(&self) -> ListQuery {
        ListQuery {
            status: self.status.clone(),
            credential_type_id: self.credential_type_id,
            group_id: self.group_id,
            expiring_within_days: self.expiring_within_days.clone(),
            lapsed: self.lapsed.clone(),
            include_withdrawn: self.include_withdrawn.clone(),
            q: self.q.clone(),
            sort: self.sort.clone(),
            ..Default::default()
        }
    }
}

#[derive(Template)]
#[template(path = "action.html")]
struct ActionPage {
    layout: Layout,
    action: String,
    rows: Vec<Row>,
    total: usize,
    manual_type: Option<CredentialTypeId>,
    /// Sign off: the checklist items of the selection's type, as (id, title).
    checklist: Vec<(RequirementId, String)>,
    /// The action was applied: the page reports what it did (and names its operation).
    finished: Option<Option<OperationId>>,
    /// The form as posted, when the page shows a preview of it.
    kept: ActionForm,
    /// After a preview: what the action would do to each credential.
    preview: std::collections::HashMap<CredentialId, String>,
}

impl ActionPage {
    /// The value the officer typed into `field`, kept across a preview.
    fn val(&self, field: &str) -> String {
        let k = &self.kept;
        let v = match field {
            "issue_date" => &k.issue_date,
            "expiration_date" => &k.expiration_date,
            "credential_number" => &k.credential_number,
            "issuing_officer" => &k.issuing_officer,
            "status_reason" => &k.status_reason,
            "reason" => &k.reason,
            "period_start" => &k.period_start,
            "period_end" => &k.period_end,
            "due_date" => &k.due_date,
            "signed_on" => &k.signed_on,
            "evaluator" => &k.evaluator,
            _ => &None,
        };
        v.clone().unwrap_or_default()
    }

    /// Whether the field is among the chosen ones (issue date by default).
    fn is_set(&self, field: &str) -> bool {
        if self.kept.action.is_empty() {
            return field == "issue_date";
        }
        self.kept.set.iter().any(|s| s == field)
    }

    fn requirement_is(&self, id: &RequirementId) -> bool {
        self.kept.requirement_id == Some(*id)
    }

    /// The checklist item the form names, by its title.
    fn requirement_title(&self) -> String {
        self.checklist
            .iter()
            .find(|(id, _)| self.kept.requirement_id == Some(*id))
            .map(|(_, title)| title.clone())
            .unwrap_or_default()
    }

    fn outcome(&self, id: &CredentialId) -> &str {
        self.preview.get(id).map(String::as_str).unwrap_or("")
    }
}

async fn resolve(
    app: &App,
    actor: &Actor,
    sel: &Selection,
) -> Result<Vec<CredentialView>, AppError> {
    if sel.all_matching.as_deref() == Some("1") {
        return all_matching(app, actor, &sel.query().filter(), 10_000).await;
    }
    app.credentials_by_ids(
        actor,
        &sel.credential_ids[..sel.credential_ids.len().min(10_000)],
    )
    .await
}

pub async fn action_form(
    State(app): State<App>,
    user: WebUser,
    HtmlQuery(sel): HtmlQuery<Selection>,
) -> PageResult {
    let actor = &user.actor;
    actor.officer()?;
    let action = sel.action.clone().unwrap_or_else(|| "update".into());
    let items = resolve(&app, actor, &sel).await?;
    if items.is_empty() {
        return Ok(redirect_with(
            &format!("/credentials?{}", sel.query().query_string()),
            "error",
            "Select at least one credential first.",
        ));
    }
    let names = names_for(&app, actor, &items).await?;
    let mut manual_type = None;
    if action == "renew" {
        let mut type_ids: Vec<CredentialTypeId> =
            items.iter().map(|c| c.credential_type_id).collect();
        type_ids.sort();
        type_ids.dedup();
        let ty = match type_ids.as_slice() {
            [one] => app.credential_type(actor, *one).await?,
            _ => {
                return Ok(redirect_with(
                    "/credentials",
                    "error",
                    "Renew works on one credential type at a time: filter by type first.",
                ))
            }
        };
        if ty.renewal != "manual" {
            return Ok(redirect_with("/credentials", "error", &format!("{} renews automatically when it is issued; only types that do not automatically renew are renewed here.", ty.name)));
        }
        manual_type = Some(ty.id);
    }
    let mut checklist = Vec::new();
    let mut kept = ActionForm::default();
    if action == "sign_off" {
        let mut type_ids: Vec<CredentialTypeId> =
            items.iter().map(|c| c.credential_type_id).collect();
        type_ids.sort();
        type_ids.dedup();
        let [one] = type_ids.as_slice() else {
            return Ok(redirect_with(
                "/credentials",
                "error",
                "Sign off works on one credential type at a time: filter by type first.",
            ));
        };
        checklist = checklist_of(&app, actor, *one).await?;
        if checklist.is_empty() {
            let ty = app.credential_type(actor, *one).await?;
            return Ok(redirect_with(
                "/credentials",
                "error",
                &format!("{} has no checklist item to sign off.", ty.name),
            ));
        }
        manual_type = Some(*one);
        kept.signed_on = Some(app.today(actor).await?.to_string());
    }
    let total = items.len();
    Ok(render(&ActionPage {
        layout: Layout::new(&user, action_title(&action), "credentials"),
        action,
        rows: rows(items, &names),
        total,
        manual_type,
        checklist,
        finished: None,
        kept,
        preview: Default::default(),
    }))
}

fn action_title(action: &str) -> &'static str {
    match action {
        "sign_off" => "Sign off",
        _ => "Update credentials",
    }
}

/// The checklist items of a credential type, as (id, title).
async fn checklist_of(
    app: &App,
    actor: &Actor,
    type_id: CredentialTypeId,
) -> Result<Vec<(RequirementId, String)>, AppError> {
    let ty = app.credential_type(actor, type_id).await?;
    Ok(ty
        .requirements
        .into_iter()
        .filter(|r| r.kind == "checklist")
        .map(|r| {
            let title = r.title.unwrap_or_else(|| "Checklist item".into());
            (r.id, title)
        })
        .collect())
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct ActionForm {
    action: String,
    /// "preview": answer what the action would do, writing nothing.
    mode: Option<String>,
    #[serde(default)]
    credential_ids: Vec<CredentialId>,
    #[serde(default)]
    set: Vec<String>,
    issue_date: Option<String>,
    expiration_date: Option<String>,
    credential_number: Option<String>,
    issuing_officer: Option<String>,
    status_reason: Option<String>,
    reason: Option<String>,
    credential_type_id: Option<CredentialTypeId>,
    period_start: Option<String>,
    period_end: Option<String>,
    due_date: Option<String>,
    requirement_id: Option<RequirementId>,
    signed_on: Option<String>,
    evaluator: Option<String>,
}

/// What a bulk action did, or on a preview would do.
struct Outcome {
    message: String,
    operation_id: Option<OperationId>,
    /// Per credential, in words.
    each: std::collections::HashMap<CredentialId, String>,
}

impl Outcome {
    fn of_views(
        message: String,
        operation_id: Option<OperationId>,
        views: &[CredentialView],
    ) -> Self {
        let each = views
            .iter()
            .map(|c| (c.id, format!("→ {}", c.status_label)))
            .collect();
        Outcome {
            message,
            operation_id,
            each,
        }
    }
}

pub async fn action(
    State(app): State<App>,
    CsrfForm(user, form): CsrfForm<ActionForm>,
) -> Response {
    let actor = &user.actor;
    let officer = capability!(actor, officer);
    let dry_run = form.mode.as_deref() == Some("preview");
    match run_action(&app, &officer, &form, dry_run).await {
        Ok(outcome) if dry_run => preview_page(&app, &user, form, outcome, None)
            .await
            .into_response(),
        // A sign-off answers on the page who was signed and who skipped, and why.
        Ok(outcome) if form.action == "sign_off" => {
            let op = outcome.operation_id;
            preview_page(&app, &user, form, outcome, Some(op))
                .await
                .into_response()
        }
        Ok(Outcome {
            message,
            operation_id: Some(op),
            ..
        }) => redirect_with(&format!("/operations/{op}"), "notice", &message),
        Ok(outcome) => redirect_with("/credentials", "notice", &outcome.message),
        Err(e) => refused_page(&app, &user, form, &e).await.into_response(),
    }
}

/// The action page again with the form as posted, and the error naming each credential by
/// its member and type rather than its place in the list.
async fn refused_page(app: &App, user: &WebUser, form: ActionForm, e: &AppError) -> PageResult {
    let actor = &user.actor;
    let items = app.credentials_by_ids(actor, &form.credential_ids).await?;
    let names = names_for(app, actor, &items).await?;
    let label = |row: usize| {
        let id = form.credential_ids.get(row)?;
        let c = items.iter().find(|c| c.id == *id)?;
        Some(format!(
            "{} ({})",
            names.member(&c.member_id),
            names.type_name(&c.credential_type_id)
        ))
    };
    let error = error_text_naming(e, label);
    let layout = Layout::new(user, "Update credentials", "credentials").with_error(Some(error));
    let checklist = sign_off_checklist(app, actor, &form).await?;
    let mut response = render(&ActionPage {
        layout,
        action: form.action.clone(),
        total: items.len(),
        rows: rows(items.clone(), &names),
        manual_type: form.credential_type_id,
        checklist,
        finished: None,
        preview: Default::default(),
        kept: form,
    });
    *response.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
    Ok(response)
}

/// The action page again, the form as posted, each credential with what would happen to it
/// (or, once `finished`, what happened to it).
async fn preview_page(
    app: &App,
    user: &WebUser,
    form: ActionForm,
    outcome: Outcome,
    finished: Option<Option<OperationId>>,
) -> PageResult {
    let actor = &user.actor;
    let items = app.credentials_by_ids(actor, &form.credential_ids).await?;
    let names = names_for(app, actor, &items).await?;
    let mut layout = Layout::new(user, action_title(&form.action), "credentials");
    layout.notice = Some(match finished {
        Some(_) => outcome.message.clone(),
        None => format!("Preview: {} Nothing was changed.", outcome.message),
    });
    let checklist = sign_off_checklist(app, actor, &form).await?;
    Ok(render(&ActionPage {
        layout,
        action: form.action.clone(),
        total: items.len(),
        rows: rows(items, &names),
        manual_type: form.credential_type_id,
        checklist,
        finished,
        preview: outcome.each,
        kept: form,
    }))
}

/// The checklist items a sign-off form offers: those of the chosen type, else none.
async fn sign_off_checklist(
    app: &App,
    actor: &Actor,
    form: &ActionForm,
) -> Result<Vec<(RequirementId, String)>, AppError> {
    match (form.action.as_str(), form.credential_type_id) {
        ("sign_off", Some(t)) => checklist_of(app, actor, t).await,
        _ => Ok(Vec::new()),
    }
}

async fn run_action(
    app: &App,
    officer: &credence_app::Officer,
    form: &ActionForm,
    dry_run: bool,
) -> Result<Outcome, AppError> {
    let chosen = |f: &str| form.set.iter().any(|s| s == f);
    let text = |v: &Option<String>| v.clone().filter(|s| !s.trim().is_empty());
    match form.action.as_str() {
        "update" => {
            let day = |f: &str, v: &Option<String>| if chosen(f) { date(v) } else { None };
            let words = |f: &str, v: &Option<String>| if chosen(f) { text(v) } else { None };
            let fields = IssueFields {
                issue_date: day("issue_date", &form.issue_date),
                expiration_date: day("expiration_date", &form.expiration_date),
                credential_number: words("credential_number", &form.credential_number),
                issuing_officer: words("issuing_officer", &form.issuing_officer),
                status_reason: words("status_reason", &form.status_reason),
            };
            let r = app
                .bulk_update(
                    officer,
                    BulkUpdate {
                        credential_ids: form.credential_ids.clone(),
                        fields,
                        dry_run: Some(dry_run),
                    },
                )
                .await?;
            let message = match dry_run {
                true => format!("{} credential(s) would be updated.", r.updated.len()),
                false => format!("Updated {} credential(s).", r.updated.len()),
            };
            Ok(Outcome::of_views(message, r.operation_id, &r.updated))
        }
        "revoke" => {
            let r = app
                .bulk_revoke(
                    officer,
                    BulkRevoke {
                        credential_ids: form.credential_ids.clone(),
                        reason: form.reason.clone().unwrap_or_default(),
                        dry_run: Some(dry_run),
                    },
                )
                .await?;
            let message = match dry_run {
                true => format!("{} credential(s) would be revoked.", r.revoked.len()),
                false => format!("Revoked {} credential(s).", r.revoked.len()),
            };
            Ok(Outcome::of_views(message, r.operation_id, &r.revoked))
        }
        "renew" => {
            let (Some(start), Some(end)) = (date(&form.period_start), date(&form.period_end))
            else {
                return Err(AppError::invalid(
                    "period",
                    "enter the start and end of the new period",
                ));
            };
            let type_id = form.credential_type_id.ok_or_else(|| {
                AppError::invalid(
                    "credential_type_id",
                    "renew works on one credential type: filter by type first",
                )
            })?;
            let r = app
                .renew(
                    officer,
                    RenewalInput {
                        credential_type_id: type_id,
                        credential_ids: Some(form.credential_ids.clone()),
                        member_ids: None,
                        period_start: start,
                        period_end: end,
                        due_date: date(&form.due_date),
                        dry_run: Some(dry_run),
                    },
                )
                .await?;
            let mut each: std::collections::HashMap<CredentialId, String> = r
                .renewed
                .iter()
                .map(|c| (*c, format!("new period {start} to {end}")))
                .collect();
            for s in &r.skipped {
                if let Ok(c) = s.id.to_string().parse::<CredentialId>() {
                    each.insert(c, format!("skipped: {}", s.reason.replace('_', " ")));
                }
            }
            Ok(Outcome {
                message: match dry_run {
                    true => format!("{} credential(s) would be renewed.", r.renewed.len()),
                    false => format!(
                        "Renewed {} credential(s); enter their new dates once they qualify.",
                        r.renewed.len()
                    ),
                },
                operation_id: r.operation_id,
                each,
            })
        }
        "sign_off" => {
            let requirement_id = form.requirement_id.ok_or_else(|| {
                AppError::invalid("requirement_id", "choose the checklist item to sign off")
            })?;
            let signed_on = date(&form.signed_on)
                .ok_or_else(|| AppError::invalid("signed_on", "enter the date of the sign-off"))?;
            let r = app
                .sign_off_many(
                    officer,
                    BulkSignOff {
                        credential_ids: form.credential_ids.clone(),
                        requirement_id,
                        signed_on,
                        evaluator: form.evaluator.clone().unwrap_or_default(),
                        dry_run: Some(dry_run),
                    },
                )
                .await?;
            let mut each: std::collections::HashMap<CredentialId, String> = r
                .signed
                .iter()
                .map(|c| {
                    let word = if dry_run {
                        "Would be signed off"
                    } else {
                        "Signed off"
                    };
                    (*c, word.to_string())
                })
                .collect();
            for s in &r.skipped {
                each.insert(
                    s.credential_id,
                    format!("Skipped: {}", skip_reason(&s.reason)),
                );
            }
            let message = match dry_run {
                true => format!(
                    "{} credential(s) would be signed off; {} skipped.",
                    r.signed.len(),
                    r.skipped.len()
                ),
                false => format!(
                    "Signed off {} credential(s); {} skipped.",
                    r.signed.len(),
                    r.skipped.len()
                ),
            };
            Ok(Outcome {
                message,
                operation_id: r.operation_id,
                each,
            })
        }
        _ => Err(AppError::BadRequest("unknown action".into())),
    }
}

/// A sign-off's reason for skipping a credential, in words.
fn skip_reason(reason: &str) -> &str {
    match reason {
        "already_signed" => "already signed off in this period",
        "no_open_period" => "no open completion period",
        "own_credential" => "your own credential (another officer must sign it off)",
        other => other,
    }
}

// ---- One credential ----

#[derive(Template)]
#[template(path = "credential.html")]
struct DetailPage {
    layout: Layout,
    d: CredentialDetail,
    member: String,
    type_name: String,
    can_manage: bool,
    /// An administrator may issue over incomplete requirements.
    can_override: bool,
    today: String,
    certificates: Vec<credence_app::documents::certificates::CertificateView>,
    templates: Vec<credence_app::documents::templates::TemplateView>,
    /// The supporting documents of each issuance, by issuance id.
    documents:
        std::collections::HashMap<IssuanceId, Vec<credence_app::documents::supporting::FileView>>,
    /// Its audit events, newest first ("who changed this"): `None` for a member, who does
    /// not read the log.
    changes: Option<Vec<crate::pages::ops::audit::EventRow>>,
    /// More events than the page lists (the audit page has them all).
    more_changes: bool,
}

impl DetailPage {
    /// Whether the issue form offers the administrator's override: the requirements of the
    /// open period are incomplete.
    fn needs_override(&self) -> bool {
        self.can_override
            && self.d.credential.open_period.is_some()
            && self.d.credential.progress < 100
    }

    /// Who recorded something, as the audit log's actor label names them: the login's e-mail,
    /// or the API token.
    fn who(&self, label: &str) -> String {
        match label.split_once(':') {
            Some(("user", email)) => email.to_string(),
            Some(("token", id)) => format!("API token {id}"),
            _ => label.to_string(),
        }
    }

    fn documents_of(
        &self,
        issuance_id: &IssuanceId,
    ) -> &[credence_app::documents::supporting::FileView] {
        self.documents
            .get(issuance_id)
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }
}

pub async fn detail(
    State(app): State<App>,
    user: WebUser,
    PathIds(id): PathIds<CredentialId>,
) -> PageResult {
    let actor = &user.actor;
    let d = app.credential(actor, id).await?;
    let names = app
        .names(actor, std::slice::from_ref(&d.credential.member_id))
        .await?;
    let register = credence_app::documents::certificates::RegisterQuery {
        credential_id: Some(d.credential.id),
        ..Default::default()
    };
    let certificates = app
        .certificate_register(actor, &register, &Default::default())
        .await?
        .items;
    let mut documents = std::collections::HashMap::new();
    for i in &d.issuances {
        documents.insert(i.id, app.issuance_documents(actor, i.id).await?);
    }
    let templates = if actor.role().manages_credentials() {
        app.certificate_templates(&actor.reader()?).await?
    } else {
        Vec::new()
    };
    let (changes, more_changes) = match actor.reader() {
        Ok(reader) => {
            let (rows, more) =
                crate::pages::ops::audit::history(&app, &reader, d.credential.id.into()).await?;
            (Some(rows), more)
        }
        Err(_) => (None, false),
    };
    Ok(render(&DetailPage {
        changes,
        more_changes,
        certificates,
        templates,
        documents,
        layout: Layout::new(
            &user,
            "Credential",
            if actor.role().reads_agency() {
                "credentials"
            } else {
                "me"
            },
        ),
        member: names.member(&d.credential.member_id),
        type_name: names.type_name(&d.credential.credential_type_id),
        can_manage: actor.role().manages_credentials(),
        can_override: actor.role().administers(),
        today: app.today(actor).await?.to_string(),
        d,
    }))
}

#[derive(Deserialize)]
pub struct IssueForm {
    issue_date: String,
    expiration_date: Option<String>,
    credential_number: Option<String>,
    issuing_officer: Option<String>,
    status_reason: Option<String>,
    override_reason: Option<String>,
}

pub async fn issue(
    State(app): State<App>,
    PathIds(id): PathIds<CredentialId>,
    CsrfForm(user, f): CsrfForm<IssueForm>,
) -> Response {
    let back = format!("/credentials/{id}");
    let Ok(issue_date) = f.issue_date.parse() else {
        return redirect_with(&back, "error", "Enter the issue date.");
    };
    let clean = |v: Option<String>| v.filter(|s| !s.trim().is_empty());
    let input = IssueInput {
        issue_date,
        expiration_date: date(&f.expiration_date),
        credential_number: clean(f.credential_number),
        issuing_officer: clean(f.issuing_officer),
        status_reason: clean(f.status_reason),
        override_reason: clean(f.override_reason),
    };
    match app
        .issue(&capability!(user.actor, officer), id, input)
        .await
    {
        Ok(d) => redirect_with(
            &back,
            "notice",
            &format!("Issued: {}.", d.credential.status_label),
        ),
        Err(e) => redirect_with(&back, "error", &error_text(&e)),
    }
}

#[derive(Deserialize)]
pub struct SignOffForm {
    requirement_id: RequirementId,
    signed_on: String,
    evaluator: String,
}

pub async fn sign_off(
    State(app): State<App>,
    PathIds(id): PathIds<CredentialId>,
    CsrfForm(user, f): CsrfForm<SignOffForm>,
) -> Response {
    let back = format!("/credentials/{id}");
    let Ok(signed_on) = f.signed_on.parse() else {
        return redirect_with(&back, "error", "Enter the date of the sign-off.");
    };
    match app
        .sign_off(
            &capability!(user.actor, officer),
            id,
            f.requirement_id,
            SignOffInput {
                signed_on,
                evaluator: f.evaluator,
            },
        )
        .await
    {
        Ok(d) => redirect_with(
            &back,
            "notice",
            &format!("Signed off. Progress {}%.", d.credential.progress),
        ),
        Err(e) => redirect_with(&back, "error", &error_text(&e)),
    }
}
