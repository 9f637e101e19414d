//! Classes in the browser: `/classes` lists upcoming and past classes with a form to
//! schedule one; `/classes/{id}` is one class — its roster (add members or a whole group,
//! remove), a results grid where attendance, scores and hours are typed in one go, complete
//! and reopen, a checklist skill signed off for the whole roster at once (#17's crew
//! sign-off), and certificates for the roster through the register's own request and merge
//! (seed 004's "Course Offer > Credentials").

use std::collections::HashMap;

use askama::Template;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use credence_app::catalog::courses::{CourseFilter, CourseView};
use credence_app::catalog::credential_types::TypeListFilter;
use credence_app::documents::certificates::{CertificateStatus, CertificateView, RegisterQuery};
use credence_app::ids::{CertificateId, ClassId, CourseId, GroupId, MemberId, RequirementId};
use credence_app::page::PageParams;
use credence_app::people::groups::GroupView;
use credence_app::training::classes::{
    ClassDetail, ClassListFilter, ClassResult, ClassView, CompleteClass, NewClass, ReopenClass,
    RosterAdd, RosterMembers,
};
use credence_app::training::sign_offs::RosterSignOff;
use credence_app::{App, AppError};
use serde::Deserialize;

use crate::extract::PathIds;
use crate::pages::auth::session::{CsrfForm, HtmlQuery};
use crate::pages::catalog::courses::{number, Errors};
use crate::pages::people::picker::{MemberPicker, Picked};
use crate::pages::{error_text, redirect_with, render, Layout, PageError, PageResult, WebUser};

const PAGE: i64 = 50;

/// Every current course, for a picker (retired courses are offered nowhere new).
pub(crate) async fn current_courses(
    app: &App,
    user: &WebUser,
) -> Result<Vec<CourseView>, AppError> {
    Ok(app
        .find_courses(
            &user.actor.reader()?,
            &CourseFilter::default(),
            &PageParams {
                limit: Some(500),
                cursor: None,
            },
        )
        .await?
        .items)
}

// ---- The list ----

#[derive(Debug, Clone, Default, Deserialize)]
pub struct ListQuery {
    /// The page of past classes.
    cursor: Option<String>,
}

/// The schedule form as typed.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ClassForm {
    #[serde(default)]
    course_id: String,
    #[serde(default)]
    held_on: String,
    #[serde(default)]
    instructor: String,
    #[serde(default)]
    location: String,
    #[serde(default)]
    capacity: String,
}

impl ClassForm {
    fn input(&self) -> Result<NewClass, Errors> {
        let course_id: CourseId = self
            .course_id
            .parse()
            .map_err(|_| Errors::field("course_id", "choose a course"))?;
        let held_on: NaiveDate = self
            .held_on
            .trim()
            .parse()
            .map_err(|_| Errors::field("held_on", "must be a date"))?;
        let capacity = match number("capacity", &self.capacity)? {
            None => None,
            // The app says which range; the page only needs a whole number.
            Some(c) if c.fract() == 0.0 && c.abs() < 1e9 => Some(c as i64),
            Some(_) => return Err(Errors::field("capacity", "must be a whole number")),
        };
        Ok(NewClass {
            course_id,
            held_on,
            instructor: self.instructor.clone(),
            location: self.location.clone(),
            capacity,
        })
    }

    fn is_course(&self, id: &CourseId) -> bool {
        self.course_id == id.to_string()
    }
}

/// The groups with their member counts, for enrolling a whole group into a class: the
/// count tells the officer how many seats the choice takes.
async fn counted_groups(
    app: &App,
    actor: &credence_app::Actor,
) -> Result<Vec<GroupView>, AppError> {
    Ok(app
        .groups(&actor.reader()?, &PageParams::first(500))
        .await?
        .items)
}

#[derive(Template)]
#[template(path = "classes.html")]
struct ListPage {
    layout: Layout,
    upcoming: Vec<ClassView>,
    more_upcoming: bool,
    past: Vec<ClassView>,
    first: bool,
    next: Option<String>,
    courses: Vec<CourseView>,
    can_manage: bool,
    f: ClassForm,
    errors: Errors,
}

async fn list_page(
    app: &App,
    user: &WebUser,
    q: ListQuery,
    f: ClassForm,
    errors: Errors,
) -> PageResult {
    let reader = user.actor.reader()?;
    let first = q.cursor.is_none();
    let upcoming = if first {
        app.classes(
            &reader,
            &ClassListFilter {
                when: Some("upcoming".into()),
                course_id: None,
            },
            &PageParams {
                limit: Some(PAGE),
                cursor: None,
            },
        )
        .await?
    } else {
        credence_app::page::Page {
            items: Vec::new(),
            next_cursor: None,
        }
    };
    let past = app
        .classes(
            &reader,
            &ClassListFilter {
                when: Some("past".into()),
                course_id: None,
            },
            &PageParams {
                limit: Some(PAGE),
                cursor: q.cursor,
            },
        )
        .await?;
    let can_manage = user.actor.role().manages_credentials();
    let courses = if can_manage {
        current_courses(app, user).await?
    } else {
        Vec::new()
    };
    let status = errors.status();
    let mut response = render(&ListPage {
        layout: Layout::new(user, "Classes", "classes").with_error(errors.general.clone()),
        more_upcoming: upcoming.next_cursor.is_some(),
        upcoming: upcoming.items,
        past: past.items,
        first,
        next: past.next_cursor,
        courses,
        can_manage,
        f,
        errors,
    });
    *response.status_mut() = status;
    Ok(response)
}

pub async fn list(
    State(app): State<App>,
    user: WebUser,
    HtmlQuery(q): HtmlQuery<ListQuery>,
) -> PageResult {
    let f = ClassForm {
        held_on: app.today(&user.actor).await?.to_string(),
        ..Default::default()
    };
    list_page(&app, &user, q, f, Errors::default()).await
}

pub async fn create(State(app): State<App>, CsrfForm(user, f): CsrfForm<ClassForm>) -> Response {
    let officer = capability!(user.actor, officer);
    let errors = match f.input() {
        Err(errors) => errors,
        Ok(input) => match app.create_class(&officer, input).await {
            Ok(k) => {
                return redirect_with(
                    &format!("/classes/{}", k.class.id),
                    "notice",
                    &format!(
                        "{} on {} is scheduled; add its roster below.",
                        k.class.course_name, k.class.held_on
                    ),
                )
            }
            Err(e) => match Errors::of(e) {
                Ok(errors) => errors,
                Err(page) => return page.into_response(),
            },
        },
    };
    list_page(&app, &user, ListQuery::default(), f, errors)
        .await
        .into_response()
}

// ---- One class ----

/// A row of the results grid: the roster entry and what the grid shows for it.
pub struct GridRow {
    member_id: MemberId,
    name: String,
    employee_number: Option<String>,
    attended: bool,
    score: String,
    hours: String,
    record: bool,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "class.html")]
struct ClassPage {
    layout: Layout,
    k: ClassView,
    rows: Vec<GridRow>,
    /// Choosing members to add (officers, before completion).
    picker: Option<MemberPicker>,
    groups: Vec<GroupView>,
    certificates: Vec<CertificateView>,
    /// The certificates with a PDF to merge (generated or issued, not revoked).
    printable: Vec<CertificateId>,
    can_manage: bool,
    today: NaiveDate,
    /// Checklist items of published types, for the roster sign-off: (id, "Type — item").
    skills: Vec<(RequirementId, String)>,
}

impl ClassPage {
    fn completed(&self) -> bool {
        self.k.status == "completed"
    }

    fn status_label(&self, c: &CertificateView) -> &'static str {
        match c.status {
            CertificateStatus::ReadyToBeRequested => "Ready to Be Requested",
            CertificateStatus::Generated => "Generated",
            CertificateStatus::Issued => "Issued",
            CertificateStatus::Revoked => "Revoked",
        }
    }

    fn full(&self) -> bool {
        self.k.capacity.is_some_and(|c| self.k.roster_count >= c)
    }
}

/// The results as typed into the grid, to show again when they were refused.
struct Typed {
    by_member: HashMap<MemberId, (bool, String, String)>,
    errors: HashMap<MemberId, String>,
}

async fn class_page(
    app: &App,
    user: &WebUser,
    id: ClassId,
    typed: Option<Typed>,
    error: Option<String>,
    picked: Option<Picked>,
) -> PageResult {
    let actor = &user.actor;
    let reader = actor.reader()?;
    let ClassDetail { class: k, roster } = app.class(&reader, id).await?;
    let can_manage = actor.role().manages_credentials();
    let (picker, groups) = if can_manage && k.status != "completed" {
        let picked = picked.unwrap_or_default();
        let picker = MemberPicker::load(app, actor, &picked).await?;
        (Some(picker), counted_groups(app, actor).await?)
    } else {
        (None, Vec::new())
    };
    let certificates = app
        .certificate_register(
            actor,
            &RegisterQuery {
                class_id: Some(id),
                ..Default::default()
            },
            &PageParams {
                limit: Some(500),
                cursor: None,
            },
        )
        .await?
        .items;
    let skills = if can_manage && !roster.is_empty() {
        checklist_items(app, user).await?
    } else {
        Vec::new()
    };
    let fmt = |v: Option<f64>| v.map(|n| n.to_string()).unwrap_or_default();
    let rows = roster
        .into_iter()
        .map(|r| {
            let (attended, score, hours) =
                match typed.as_ref().and_then(|t| t.by_member.get(&r.member_id)) {
                    Some((a, s, h)) => (*a, s.clone(), h.clone()),
                    None => (r.attended.unwrap_or(true), fmt(r.score), fmt(r.hours)),
                };
            GridRow {
                error: typed
                    .as_ref()
                    .and_then(|t| t.errors.get(&r.member_id).cloned()),
                member_id: r.member_id,
                name: r.name,
                employee_number: r.employee_number,
                attended,
                score,
                hours,
                record: r.training_record_id.is_some(),
            }
        })
        .collect();
    let status = if typed.is_some() {
        axum::http::StatusCode::UNPROCESSABLE_ENTITY
    } else {
        axum::http::StatusCode::OK
    };
    let title = format!("{} · {}", k.course_name, k.held_on);
    let mut response = render(&ClassPage {
        layout: Layout::new(user, title, "classes").with_error(error),
        today: app.today(actor).await?,
        k,
        rows,
        picker,
        groups,
        printable: certificates
            .iter()
            .filter(|c| {
                matches!(
                    c.status,
                    CertificateStatus::Generated | CertificateStatus::Issued
                )
            })
            .map(|c| c.id)
            .collect(),
        certificates,
        can_manage,
        skills,
    });
    *response.status_mut() = status;
    Ok(response)
}

pub async fn page(
    State(app): State<App>,
    user: WebUser,
    PathIds(id): PathIds<ClassId>,
) -> PageResult {
    class_page(&app, &user, id, None, None, None).await
}

/// Every checklist item of the agency's published types, named "Type — item", for the
/// roster sign-off's picker.
async fn checklist_items(
    app: &App,
    user: &WebUser,
) -> Result<Vec<(RequirementId, String)>, AppError> {
    let filter = TypeListFilter {
        state: Some("published".into()),
    };
    let types = app
        .credential_types(&user.actor, &filter, &PageParams::first(500))
        .await?
        .items;
    Ok(types
        .into_iter()
        .flat_map(|t| {
            let name = t.name;
            t.requirements
                .into_iter()
                .filter(|r| r.kind == "checklist")
                .map(move |r| {
                    let item = r.title.unwrap_or_else(|| "Checklist item".into());
                    (r.id, format!("{name} — {item}"))
                })
        })
        .collect())
}

/// Members ticked or chosen on the class page (the member picker's fields), and a group to
/// add whole.
#[derive(Debug, Deserialize)]
pub struct RosterForm {
    #[serde(default)]
    member_ids: Vec<MemberId>,
    #[serde(default)]
    group_ids: Vec<GroupId>,
    pick_q: Option<String>,
    pick_group_id: Option<GroupId>,
    pick_all: Option<String>,
    /// The picker's Search button without script: the page again, filtered, ticks kept.
    pick_search: Option<String>,
}

pub async fn add_to_roster(
    State(app): State<App>,
    PathIds(id): PathIds<ClassId>,
    CsrfForm(user, f): CsrfForm<RosterForm>,
) -> Response {
    let officer = capability!(user.actor, officer);
    let back = format!("/classes/{id}");
    let picked = Picked::new(&f.member_ids, &f.pick_q, f.pick_group_id, &f.pick_all);
    if f.pick_search.is_some() {
        return class_page(&app, &user, id, None, None, Some(picked))
            .await
            .into_response();
    }
    let member_ids = match picked.resolve(&app, &user.actor).await {
        Ok(ids) => ids,
        Err(e) => return PageError(e).into_response(),
    };
    if member_ids.is_empty() && f.group_ids.is_empty() {
        return redirect_with(&back, "error", "Choose members or a group to add.");
    }
    let input = RosterAdd {
        member_ids: Some(member_ids),
        group_ids: Some(f.group_ids),
    };
    let before = match app.class(&officer.as_reader(), id).await {
        Ok(k) => k.class.roster_count,
        Err(e) => return PageError(e).into_response(),
    };
    match app.add_to_roster(&officer, id, input).await {
        Ok(k) => {
            let n = k.class.roster_count - before;
            let message = match n {
                0 => "Everyone chosen is already on the roster.".to_string(),
                1 => "1 member joined the roster.".to_string(),
                n => format!("{n} members joined the roster."),
            };
            redirect_with(&back, "notice", &message)
        }
        Err(e @ (AppError::NotFound | AppError::Forbidden(_))) => PageError(e).into_response(),
        Err(e) => redirect_with(&back, "error", &error_text(&e)),
    }
}

pub async fn remove_from_roster(
    State(app): State<App>,
    PathIds(id): PathIds<ClassId>,
    CsrfForm(user, f): CsrfForm<RosterForm>,
) -> Response {
    let officer = capability!(user.actor, officer);
    let back = format!("/classes/{id}");
    if f.member_ids.is_empty() {
        return redirect_with(&back, "error", "Choose a member to remove.");
    }
    let n = f.member_ids.len();
    let input = RosterMembers {
        member_ids: f.member_ids,
    };
    match app.remove_from_roster(&officer, id, input).await {
        Ok(_) if n == 1 => redirect_with(&back, "notice", "1 member left the roster."),
        Ok(_) => redirect_with(&back, "notice", &format!("{n} members left the roster.")),
        Err(e @ (AppError::NotFound | AppError::Forbidden(_))) => PageError(e).into_response(),
        Err(e) => redirect_with(&back, "error", &error_text(&e)),
    }
}

/// The results grid: one `member_id`, `score` and `hours` per row (blank: none), and the
/// ticked `attended` members.
#[derive(Debug, Deserialize)]
pub struct ResultsForm {
    #[serde(default)]
    member_id: Vec<MemberId>,
    #[serde(default)]
    attended: Vec<MemberId>,
    #[serde(default)]
    score: Vec<String>,
    #[serde(default)]
    hours: Vec<String>,
}

pub async fn complete(
    State(app): State<App>,
    PathIds(id): PathIds<ClassId>,
    CsrfForm(user, f): CsrfForm<ResultsForm>,
) -> Response {
    let officer = capability!(user.actor, officer);
    let attended: std::collections::HashSet<MemberId> = f.attended.iter().copied().collect();
    let mut typed = Typed {
        by_member: HashMap::new(),
        errors: HashMap::new(),
    };
    let mut results = Vec::with_capacity(f.member_id.len());
    for (i, m) in f.member_id.iter().enumerate() {
        let score = f.score.get(i).cloned().unwrap_or_default();
        let hours = f.hours.get(i).cloned().unwrap_or_default();
        let came = attended.contains(m);
        typed
            .by_member
            .insert(*m, (came, score.clone(), hours.clone()));
        let score = number("score", &score);
        let hours = number("hours", &hours);
        match (score, hours) {
            (Ok(score), Ok(hours)) => results.push(ClassResult {
                member_id: *m,
                attended: came,
                score,
                hours,
            }),
            (s, _) => {
                let what = if s.is_err() { "Score" } else { "Hours" };
                typed.errors.insert(*m, format!("{what} must be a number."));
            }
        }
    }
    if !typed.errors.is_empty() {
        let message = "Not completed: correct the results marked below.".to_string();
        return class_page(&app, &user, id, Some(typed), Some(message), None)
            .await
            .into_response();
    }
    let n = results.iter().filter(|r| r.attended).count();
    let sent: Vec<MemberId> = results.iter().map(|r| r.member_id).collect();
    match app
        .complete_class(&officer, id, CompleteClass { results })
        .await
    {
        Ok(_) => redirect_with(
            &format!("/classes/{id}"),
            "notice",
            &format!(
                "Completed: {n} training record(s) written and their credentials' progress updated."
            ),
        ),
        Err(AppError::Invalid(invalid)) => {
            let mut general = Vec::new();
            for e in invalid.errors {
                let row = e
                    .field
                    .strip_prefix("results[")
                    .and_then(|rest| rest.split(']').next())
                    .and_then(|i| i.parse::<usize>().ok())
                    .and_then(|i| sent.get(i));
                let part = e.field.rsplit('.').next().unwrap_or("").replace('_', " ");
                match row {
                    Some(m) => {
                        let text = format!("{} {}.", capitalise(&part), e.message);
                        typed
                            .errors
                            .entry(*m)
                            .and_modify(|t| {
                                t.push(' ');
                                t.push_str(&text)
                            })
                            .or_insert(text);
                    }
                    None => general.push(format!("{}: {}", e.field.replace('_', " "), e.message)),
                }
            }
            let mut message = "Not completed; nothing was recorded.".to_string();
            for g in general {
                message.push(' ');
                message.push_str(&capitalise(&g));
                message.push('.');
            }
            class_page(&app, &user, id, Some(typed), Some(message), None)
                .await
                .into_response()
        }
        Err(e @ (AppError::NotFound | AppError::Forbidden(_))) => PageError(e).into_response(),
        Err(e) => redirect_with(&format!("/classes/{id}"), "error", &error_text(&e)),
    }
}

fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[derive(Debug, Deserialize)]
pub struct ReopenForm {
    reason: Option<String>,
}

pub async fn reopen(
    State(app): State<App>,
    PathIds(id): PathIds<ClassId>,
    CsrfForm(user, f): CsrfForm<ReopenForm>,
) -> Response {
    let officer = capability!(user.actor, officer);
    let back = format!("/classes/{id}");
    match app
        .reopen_class(&officer, id, ReopenClass { reason: f.reason })
        .await
    {
        Ok(_) => redirect_with(
            &back,
            "notice",
            "Reopened: correct the roster or results, then complete it again to rewrite its training records.",
        ),
        Err(e @ (AppError::NotFound | AppError::Forbidden(_))) => PageError(e).into_response(),
        Err(e) => redirect_with(&back, "error", &error_text(&e)),
    }
}

/// The roster sign-off form: one checklist item, the day and who evaluated.
#[derive(Debug, Deserialize)]
pub struct RosterSignOffForm {
    requirement_id: RequirementId,
    signed_on: NaiveDate,
    evaluator: String,
}

/// Signs one checklist item off for everyone on the roster who holds that credential; the
/// notice names who was skipped and why.
pub async fn sign_off(
    State(app): State<App>,
    PathIds(id): PathIds<ClassId>,
    CsrfForm(user, f): CsrfForm<RosterSignOffForm>,
) -> Response {
    let officer = capability!(user.actor, officer);
    let back = format!("/classes/{id}");
    let roster = match app.class(&officer.as_reader(), id).await {
        Ok(k) => k.roster,
        Err(e) => return PageError(e).into_response(),
    };
    let names: HashMap<MemberId, String> = roster
        .iter()
        .map(|r| (r.member_id, r.name.clone()))
        .collect();
    let input = RosterSignOff {
        requirement_id: f.requirement_id,
        signed_on: f.signed_on,
        evaluator: f.evaluator,
        dry_run: None,
    };
    match app.sign_off_roster(&officer, id, input).await {
        Ok(done) => {
            let signed = done.result.signed.len();
            let mut message = match signed {
                1 => "Signed off for 1 member.".to_string(),
                n => format!("Signed off for {n} members."),
            };
            let not_assigned: Vec<&str> = done
                .not_assigned
                .iter()
                .filter_map(|m| names.get(m).map(String::as_str))
                .collect();
            if !not_assigned.is_empty() {
                message.push_str(&format!(
                    " Not assigned this credential: {}.",
                    not_assigned.join("; ")
                ));
            }
            let skipped = done.result.skipped.len();
            if skipped > 0 {
                message.push_str(&format!(
                    " {skipped} skipped (already signed this period, no open period, or their own); see each credential."
                ));
            }
            // Like every bulk action: its operation page lists each credential and undoes it.
            match done.result.operation_id {
                Some(op) => redirect_with(&format!("/operations/{op}"), "notice", &message),
                None => redirect_with(&back, "notice", &message),
            }
        }
        Err(e @ (AppError::NotFound | AppError::Forbidden(_))) => PageError(e).into_response(),
        Err(e) => redirect_with(&back, "error", &error_text(&e)),
    }
}
