//! Credential types: the list, and one form with every field of seed 003 for creating and
//! editing (requirements with courses and minimum grades, enrolment groups), plus publish
//! and retire behind a confirmation.

use crate::extract::PathIds;
use askama::Template;
use axum::extract::State;
use axum::response::Response;
use chrono::NaiveDate;
use credence_app::catalog::courses::CourseView;
use credence_app::catalog::credential_types::{
    ComponentInput, CredentialTypePatch, CredentialTypeView, LifecycleAction, NewCredentialType,
    RequirementInput,
};
use credence_app::catalog::templates::{TemplateCopy, TemplateView};
use credence_app::ids::{CredentialTypeId, GroupId, Id, IdKind, ParseIdError};
use credence_app::page::PageParams;
use credence_app::people::groups::GroupChoice;
use credence_app::App;
use credence_domain::credential_type::RequirementKind;
use credence_domain::{ExpirationRounding, RenewalPolicy};
use serde::Deserialize;

use crate::pages::auth::session::CsrfForm;
use crate::pages::credentials::manage::{all_groups, all_types};
use crate::pages::{error_text, redirect_with, render, Layout, PageResult, WebUser};

#[derive(Template)]
#[template(path = "credential_types.html")]
struct ListPage {
    layout: Layout,
    types: Vec<CredentialTypeView>,
    can_admin: bool,
    templates: Vec<TemplateView>,
}

pub async fn list(State(app): State<App>, user: WebUser) -> PageResult {
    let actor = &user.actor;
    actor.reader()?;
    let can_admin = actor.role().administers();
    Ok(render(&ListPage {
        layout: Layout::new(&user, "Credential Types", "types"),
        types: all_types(&app, actor).await?,
        can_admin,
        templates: if can_admin {
            app.credential_type_templates(actor)?
        } else {
            Vec::new()
        },
    }))
}

/// The copy form of a starter template: an optional code of its own (to copy one twice).
#[derive(Deserialize)]
pub struct CopyForm {
    code: Option<String>,
}

/// Copies a starter template into the agency and opens the new draft to adapt.
pub async fn copy_template(
    State(app): State<App>,
    PathIds(key): PathIds<String>,
    CsrfForm(user, form): CsrfForm<CopyForm>,
) -> Response {
    let copy = TemplateCopy {
        code: text(&form.code),
        name: None,
    };
    match app
        .copy_credential_type_template(&capability!(user.actor, admin), &key, copy)
        .await
    {
        Ok(t) => redirect_with(
            &format!("/credential-types/{}", t.id),
            "notice",
            &format!(
                "Copied {} as a draft. Check its figures against the certifying body's \
                 current ones and adapt it, then publish.",
                t.name
            ),
        ),
        Err(e) => redirect_with("/credential-types", "error", &error_text(&e)),
    }
}

/// A requirement row of the form (blank rows let the admin add some).
pub struct ReqRow {
    pub id: String,
    pub kind: String,
    pub course_id: Option<credence_app::ids::CourseId>,
    pub min_grade: String,
    pub hours: String,
    pub category: String,
    pub title: String,
    /// Caps, components and `repeatable` of an hours requirement as JSON (blank: none).
    pub rules: String,
}

/// The continuing-education rules of a requirement row, as the form's JSON field holds them.
#[derive(Debug, Default, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
struct RowRules {
    #[serde(skip_serializing_if = "Option::is_none")]
    max_hours_per_category: Option<f64>,
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    max_hours_by_source: std::collections::BTreeMap<String, f64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    components: Vec<ComponentInput>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    repeatable: bool,
}

impl RowRules {
    fn text(r: &credence_app::catalog::credential_types::RequirementView) -> String {
        let rules = RowRules {
            max_hours_per_category: r.max_hours_per_category,
            max_hours_by_source: r.max_hours_by_source.clone(),
            components: r.components.clone(),
            repeatable: r.repeatable,
        };
        if rules.max_hours_per_category.is_none()
            && rules.max_hours_by_source.is_empty()
            && rules.components.is_empty()
            && !rules.repeatable
        {
            return String::new();
        }
        serde_json::to_string(&rules).unwrap_or_default()
    }
}

#[derive(Template)]
#[template(path = "credential_type_form.html")]
struct FormPage {
    layout: Layout,
    t: Option<CredentialTypeView>,
    reqs: Vec<ReqRow>,
    courses: Vec<CourseView>,
    groups: Vec<GroupChoice>,
}

impl FormPage {
    fn value(&self, field: &str) -> String {
        let Some(t) = &self.t else {
            return match field {
                "grace_period_days" => "0".into(),
                "number_pattern" => credence_domain::numbering::DEFAULT_PATTERN.into(),
                _ => String::new(),
            };
        };
        let opt = |v: Option<String>| v.unwrap_or_default();
        match field {
            "code" => t.code.clone(),
            "name" => t.name.clone(),
            "description" => t.description.clone(),
            "effective_from" => opt(t.effective_from.map(|d| d.to_string())),
            "due_date" => opt(t.due_date.map(|d| d.to_string())),
            "grace_period_days" => t.grace_period_days.to_string(),
            "validity_months" => opt(t.validity_months.map(|v| v.to_string())),
            "renewal_window_days" => opt(t.renewal_window_days.map(|v| v.to_string())),
            "number_pattern" => t.number_pattern.clone(),
            "expiration_rounding" => t.expiration_rounding.clone(),
            "renewal" => t.renewal.clone(),
            "reminder_days" => opt(t.reminder_days.as_ref().map(|days| {
                days.iter()
                    .map(u32::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            })),
            _ => String::new(),
        }
    }

    fn checked(&self, field: &str) -> bool {
        match (&self.t, field) {
            (Some(t), "invisible") => t.invisible,
            (Some(t), "auto_issue") => t.auto_issue,
            (Some(t), "auto_certificate") => t.auto_certificate,
            _ => false,
        }
    }

    fn in_group(&self, id: &GroupId) -> bool {
        self.t
            .as_ref()
            .is_some_and(|t| t.enrolment_group_ids.contains(id))
    }
}

async fn form_page(app: &App, user: &WebUser, t: Option<CredentialTypeView>) -> PageResult {
    let actor = &user.actor;
    let mut reqs: Vec<ReqRow> = t
        .as_ref()
        .map(|t| {
            t.requirements
                .iter()
                .map(|r| ReqRow {
                    id: r.id.to_string(),
                    kind: r.kind.clone(),
                    course_id: r.course_id,
                    min_grade: r.min_grade.map(|g| g.to_string()).unwrap_or_default(),
                    hours: r.hours.map(|h| h.to_string()).unwrap_or_default(),
                    category: r.category.clone().unwrap_or_default(),
                    title: r.title.clone().unwrap_or_default(),
                    rules: RowRules::text(r),
                })
                .collect()
        })
        .unwrap_or_default();
    for _ in 0..3 {
        reqs.push(ReqRow {
            id: String::new(),
            kind: String::new(),
            course_id: None,
            min_grade: String::new(),
            hours: String::new(),
            category: String::new(),
            title: String::new(),
            rules: String::new(),
        });
    }
    let title = t
        .as_ref()
        .map_or_else(|| "New credential type".to_string(), |t| t.name.clone());
    Ok(render(&FormPage {
        layout: Layout::new(user, title, "types"),
        t,
        reqs,
        courses: app
            .courses(
                &actor.reader()?,
                &PageParams {
                    limit: Some(500),
                    cursor: None,
                },
            )
            .await?
            .items,
        groups: all_groups(app, actor).await?,
    }))
}

pub async fn new_form(State(app): State<App>, user: WebUser) -> PageResult {
    user.actor.admin()?;
    form_page(&app, &user, None).await
}

pub async fn edit_form(
    State(app): State<App>,
    user: WebUser,
    PathIds(id): PathIds<CredentialTypeId>,
) -> PageResult {
    user.actor.reader()?;
    let t = app.credential_type(&user.actor, id).await?;
    form_page(&app, &user, Some(t)).await
}

/// The form's fields; requirement rows come as parallel lists.
#[derive(Deserialize)]
pub struct TypeForm {
    version: Option<i64>,
    code: String,
    name: String,
    description: Option<String>,
    invisible: Option<String>,
    effective_from: Option<String>,
    due_date: Option<String>,
    grace_period_days: Option<String>,
    validity_months: Option<String>,
    expiration_rounding: Option<String>,
    auto_issue: Option<String>,
    auto_certificate: Option<String>,
    renewal: Option<String>,
    renewal_window_days: Option<String>,
    number_pattern: Option<String>,
    /// Its own reminder thresholds ("60, 14"); blank: the agency's.
    reminder_days: Option<String>,
    #[serde(default)]
    enrolment_group_ids: Vec<GroupId>,
    #[serde(default)]
    req_id: Vec<String>,
    #[serde(default)]
    req_kind: Vec<String>,
    #[serde(default)]
    req_course: Vec<String>,
    #[serde(default)]
    req_min_grade: Vec<String>,
    #[serde(default)]
    req_hours: Vec<String>,
    #[serde(default)]
    req_category: Vec<String>,
    #[serde(default)]
    req_title: Vec<String>,
    #[serde(default)]
    req_rules: Vec<String>,
}

fn text(v: &Option<String>) -> Option<String> {
    v.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

fn day(v: &Option<String>) -> Result<Option<NaiveDate>, String> {
    text(v)
        .map(|s| s.parse().map_err(|_| format!("{s:?} is not a date")))
        .transpose()
}

fn int(field: &str, v: &Option<String>) -> Result<Option<i64>, String> {
    text(v)
        .map(|s| {
            s.parse()
                .map_err(|_| format!("{field}: {s:?} is not a whole number"))
        })
        .transpose()
}

/// Reminder thresholds typed as "60, 14": `None` when blank (the agency's).
fn reminder_days(v: &Option<String>) -> Result<Option<Vec<i64>>, String> {
    let Some(text) = text(v) else {
        return Ok(None);
    };
    text.split([',', ' ', ';'])
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| {
            p.parse()
                .map_err(|_| format!("reminder_days: {p:?} is not a whole number of days"))
        })
        .collect::<Result<Vec<i64>, String>>()
        .map(Some)
}

/// The id in requirement row `i` of the form, if one was given.
fn row_id<K: IdKind>(value: Option<String>, i: usize) -> Result<Option<Id<K>>, String> {
    value
        .map(|s| {
            s.parse()
                .map_err(|e: ParseIdError| format!("requirement {}: {s:?} {e}", i + 1))
        })
        .transpose()
}

impl ReqRow {
    fn has_course(&self, id: &credence_app::ids::CourseId) -> bool {
        self.course_id == Some(*id)
    }
}

impl TypeForm {
    fn requirements(&self) -> Result<Vec<RequirementInput>, String> {
        let at = |list: &Vec<String>, i: usize| {
            list.get(i)
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
        };
        let mut out = Vec::new();
        for (i, kind) in self.req_kind.iter().enumerate() {
            let Some(kind) = RequirementKind::parse(kind.trim()) else {
                continue;
            };
            let num = |list: &Vec<String>| {
                at(list, i)
                    .map(|s| {
                        s.parse::<f64>()
                            .map_err(|_| format!("requirement {}: {s:?} is not a number", i + 1))
                    })
                    .transpose()
            };
            let rules: RowRules = match at(&self.req_rules, i) {
                None => RowRules::default(),
                Some(json) => serde_json::from_str(&json).map_err(|e| {
                    format!("requirement {}: the hours rules are not valid: {e}", i + 1)
                })?,
            };
            out.push(RequirementInput {
                id: row_id(at(&self.req_id, i), i)?,
                kind,
                course_id: row_id(at(&self.req_course, i), i)?,
                min_grade: num(&self.req_min_grade)?,
                hours: num(&self.req_hours)?,
                category: at(&self.req_category, i),
                title: at(&self.req_title, i),
                max_hours_per_category: rules.max_hours_per_category,
                max_hours_by_source: Some(rules.max_hours_by_source),
                components: Some(rules.components),
                repeatable: Some(rules.repeatable),
            });
        }
        Ok(out)
    }

    fn new_type(&self) -> Result<NewCredentialType, String> {
        Ok(NewCredentialType {
            code: self.code.clone(),
            name: self.name.clone(),
            description: text(&self.description),
            invisible: Some(self.invisible.is_some()),
            effective_from: day(&self.effective_from)?,
            due_date: day(&self.due_date)?,
            grace_period_days: int("grace period", &self.grace_period_days)?,
            validity_months: int("validity", &self.validity_months)?,
            expiration_rounding: text(&self.expiration_rounding)
                .and_then(|r| ExpirationRounding::parse(&r)),
            auto_issue: Some(self.auto_issue.is_some()),
            auto_certificate: Some(self.auto_certificate.is_some()),
            renewal: text(&self.renewal).and_then(|r| RenewalPolicy::parse(&r)),
            renewal_window_days: int("renewal window", &self.renewal_window_days)?,
            number_pattern: text(&self.number_pattern),
            reminder_days: reminder_days(&self.reminder_days)?,
            requirements: Some(self.requirements()?),
            enrolment_group_ids: Some(self.enrolment_group_ids.clone()),
        })
    }
}

pub async fn create(State(app): State<App>, CsrfForm(user, form): CsrfForm<TypeForm>) -> Response {
    let input = match form.new_type() {
        Ok(i) => i,
        Err(e) => return redirect_with("/credential-types/new", "error", &e),
    };
    match app
        .create_credential_type(&capability!(user.actor, admin), input)
        .await
    {
        Ok(t) => redirect_with(
            &format!("/credential-types/{}", t.id),
            "notice",
            "Saved as a draft. Publish it to assign it.",
        ),
        Err(e) => redirect_with("/credential-types/new", "error", &error_text(&e)),
    }
}

pub async fn update(
    State(app): State<App>,
    PathIds(id): PathIds<CredentialTypeId>,
    CsrfForm(user, form): CsrfForm<TypeForm>,
) -> Response {
    let back = format!("/credential-types/{id}");
    let n = match form.new_type() {
        Ok(n) => n,
        Err(e) => return redirect_with(&back, "error", &e),
    };
    let patch = CredentialTypePatch {
        version: form.version.unwrap_or_default(),
        code: Some(n.code),
        name: Some(n.name),
        description: Some(n.description.unwrap_or_default()),
        invisible: n.invisible,
        effective_from: Some(n.effective_from),
        due_date: Some(n.due_date),
        grace_period_days: Some(n.grace_period_days.unwrap_or(0)),
        validity_months: Some(n.validity_months),
        expiration_rounding: n.expiration_rounding,
        auto_issue: n.auto_issue,
        auto_certificate: n.auto_certificate,
        renewal: n.renewal,
        renewal_window_days: Some(n.renewal_window_days),
        number_pattern: n.number_pattern,
        reminder_days: Some(n.reminder_days),
        requirements: n.requirements,
        enrolment_group_ids: n.enrolment_group_ids,
    };
    match app
        .update_credential_type(&capability!(user.actor, admin), id, patch)
        .await
    {
        Ok(_) => redirect_with(&back, "notice", "Saved."),
        Err(e) => redirect_with(&back, "error", &error_text(&e)),
    }
}

#[derive(Deserialize)]
pub struct VersionForm {
    version: Option<i64>,
}

pub async fn publish(
    State(app): State<App>,
    PathIds(id): PathIds<CredentialTypeId>,
    CsrfForm(user, f): CsrfForm<VersionForm>,
) -> Response {
    let back = format!("/credential-types/{id}");
    match app
        .publish_credential_type(
            &capability!(user.actor, admin),
            id,
            LifecycleAction { version: f.version },
        )
        .await
    {
        Ok(t) => redirect_with(
            &back,
            "notice",
            &format!(
                "{} is published; members of its enrolment groups were assigned.",
                t.name
            ),
        ),
        Err(e) => redirect_with(&back, "error", &error_text(&e)),
    }
}

pub async fn retire(
    State(app): State<App>,
    PathIds(id): PathIds<CredentialTypeId>,
    CsrfForm(user, f): CsrfForm<VersionForm>,
) -> Response {
    let back = format!("/credential-types/{id}");
    match app
        .retire_credential_type(
            &capability!(user.actor, admin),
            id,
            LifecycleAction { version: f.version },
        )
        .await
    {
        Ok(t) => redirect_with(
            &back,
            "notice",
            &format!("{} is retired; issued credentials stay.", t.name),
        ),
        Err(e) => redirect_with(&back, "error", &error_text(&e)),
    }
}
