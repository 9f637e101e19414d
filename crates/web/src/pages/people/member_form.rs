//! Adding and editing a member (`/members/new`, `/members/{id}/edit`): names, e-mail,
//! employee number, position, supervisor and groups. A form the app refuses comes back as
//! typed, each error in words beside its field; nothing is written.

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use credence_app::ids::{GroupId, MemberId};
use credence_app::page::PageParams;
use credence_app::people::groups::GroupChoice;
use credence_app::people::members::{MemberListFilter, MemberPatch, MemberView, NewMember};
use credence_app::{Actor, App, AppError};
use serde::Deserialize;

use crate::extract::PathIds;
use crate::pages::auth::session::CsrfForm;
use crate::pages::credentials::manage::all_groups;
use crate::pages::{error_text, redirect_with, render, Layout, PageError, PageResult, WebUser};

/// At most this many members are offered as supervisors (pages of 500, by name).
const SUPERVISOR_CHOICES: usize = 2000;

/// The form's fields as typed (all text, so a refused form shows exactly what was sent).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct MemberForm {
    version: Option<i64>,
    #[serde(default)]
    first_name: String,
    #[serde(default)]
    last_name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    employee_number: String,
    #[serde(default)]
    position: String,
    #[serde(default)]
    supervisor_member_id: String,
    #[serde(default)]
    group_ids: Vec<GroupId>,
}

impl MemberForm {
    fn of(m: &MemberView) -> MemberForm {
        MemberForm {
            version: Some(m.version),
            first_name: m.first_name.clone(),
            last_name: m.last_name.clone(),
            email: m.email.clone().unwrap_or_default(),
            employee_number: m.employee_number.clone().unwrap_or_default(),
            position: m.position.clone().unwrap_or_default(),
            supervisor_member_id: m
                .supervisor_member_id
                .map(|s| s.to_string())
                .unwrap_or_default(),
            group_ids: m.group_ids.clone(),
        }
    }

    /// Blank text is "none".
    fn text(v: &str) -> Option<String> {
        let t = v.trim();
        (!t.is_empty()).then(|| t.to_string())
    }

    /// The supervisor picked, if any; a value that is no member id is a field error.
    fn supervisor(&self) -> Result<Option<MemberId>, AppError> {
        Self::text(&self.supervisor_member_id)
            .map(|s| {
                s.parse().map_err(|_| {
                    AppError::invalid("supervisor_member_id", "choose a member from the list")
                })
            })
            .transpose()
    }
}

/// One choice of the supervisor list.
pub struct Choice {
    id: String,
    label: String,
}

#[derive(Template)]
#[template(path = "member_form.html")]
struct FormPage {
    layout: Layout,
    /// The member being edited; `None` when adding one.
    m: Option<MemberView>,
    f: MemberForm,
    errors: BTreeMap<String, String>,
    groups: Vec<GroupChoice>,
    supervisors: Vec<Choice>,
    supervisors_cut: bool,
}

impl FormPage {
    fn error(&self, field: &str) -> Option<&str> {
        self.errors.get(field).map(String::as_str)
    }

    fn invalid(&self, field: &str) -> &'static str {
        if self.errors.contains_key(field) {
            "true"
        } else {
            "false"
        }
    }

    fn in_group(&self, id: &GroupId) -> bool {
        self.f.group_ids.contains(id)
    }

    fn action(&self) -> String {
        match &self.m {
            Some(m) => format!("/members/{}/edit", m.id),
            None => "/members".into(),
        }
    }
}

/// Active members, by name, that may supervise `editing` (everyone but themself), plus the
/// current supervisor even when no longer active, so saving keeps them.
async fn supervisor_choices(
    app: &App,
    actor: &Actor,
    editing: Option<&MemberView>,
    chosen: Option<MemberId>,
) -> Result<(Vec<Choice>, bool), AppError> {
    let mut out = Vec::new();
    let mut cursor = None;
    let mut cut = false;
    loop {
        let page = app
            .members(
                actor,
                &MemberListFilter {
                    active: Some(true),
                    ..Default::default()
                },
                &PageParams {
                    limit: Some(500),
                    cursor,
                },
            )
            .await?;
        out.extend(
            page.items
                .into_iter()
                .filter(|m| editing.is_none_or(|e| e.id != m.id)),
        );
        match page.next_cursor {
            Some(c) if out.len() < SUPERVISOR_CHOICES => cursor = Some(c),
            Some(_) => {
                cut = true;
                break;
            }
            None => break,
        }
    }
    let mut choices: Vec<Choice> = out.iter().map(label).collect();
    if let Some(id) = chosen {
        if !out.iter().any(|m| m.id == id) {
            if let Ok(m) = app.member(actor, id).await {
                let mut c = label(&m);
                if !m.active {
                    c.label.push_str(" (inactive)");
                }
                choices.insert(0, c);
            }
        }
    }
    Ok((choices, cut))
}

fn label(m: &MemberView) -> Choice {
    let mut label = format!("{}, {}", m.last_name, m.first_name);
    if let Some(n) = &m.employee_number {
        label.push_str(&format!(" · {n}"));
    }
    if let Some(p) = &m.position {
        label.push_str(&format!(" · {p}"));
    }
    Choice {
        id: m.id.to_string(),
        label,
    }
}

/// Renders the form; with errors it answers 422, as the API does.
async fn form_page(
    app: &App,
    user: &WebUser,
    m: Option<MemberView>,
    f: MemberForm,
    failure: Option<AppError>,
) -> PageResult {
    let actor = &user.actor;
    let chosen = f.supervisor().ok().flatten();
    let (supervisors, supervisors_cut) = supervisor_choices(app, actor, m.as_ref(), chosen).await?;
    let mut errors = BTreeMap::new();
    let mut general = None;
    let status = match failure {
        None => StatusCode::OK,
        Some(AppError::Invalid(i)) => {
            for e in i.errors {
                errors.entry(e.field).or_insert(e.message);
            }
            StatusCode::UNPROCESSABLE_ENTITY
        }
        Some(e @ AppError::Conflict(_)) => {
            general = Some(format!(
                "{} Your changes are below, not saved: reload the page to see the member as it is now.",
                error_text(&e)
            ));
            StatusCode::CONFLICT
        }
        Some(other) => return Err(PageError(other)),
    };
    let title = match &m {
        Some(m) => format!("Edit {} {}", m.first_name, m.last_name),
        None => "Add a member".to_string(),
    };
    let summary = (!errors.is_empty())
        .then(|| "The member was not saved: correct the fields marked below.".to_string());
    let mut response = render(&FormPage {
        layout: Layout::new(user, title, "members").with_error(general.or(summary)),
        m,
        f,
        errors,
        groups: all_groups(app, actor).await?,
        supervisors,
        supervisors_cut,
    });
    *response.status_mut() = status;
    Ok(response)
}

pub async fn new_form(State(app): State<App>, user: WebUser) -> PageResult {
    user.actor.admin()?;
    form_page(&app, &user, None, MemberForm::default(), None).await
}

pub async fn edit_form(
    State(app): State<App>,
    user: WebUser,
    PathIds(id): PathIds<MemberId>,
) -> PageResult {
    user.actor.admin()?;
    let m = app.member(&user.actor, id).await?;
    let f = MemberForm::of(&m);
    form_page(&app, &user, Some(m), f, None).await
}

pub async fn create(State(app): State<App>, CsrfForm(user, f): CsrfForm<MemberForm>) -> Response {
    let admin = capability!(user.actor, admin);
    let result = match f.supervisor() {
        Ok(supervisor) => {
            app.create_member(
                &admin,
                NewMember {
                    first_name: f.first_name.clone(),
                    last_name: f.last_name.clone(),
                    email: MemberForm::text(&f.email),
                    employee_number: MemberForm::text(&f.employee_number),
                    active: Some(true),
                    position: MemberForm::text(&f.position),
                    supervisor_member_id: supervisor,
                    group_ids: Some(f.group_ids.clone()),
                },
            )
            .await
        }
        Err(e) => Err(e),
    };
    match result {
        Ok(m) => redirect_with(
            &format!("/members/{}", m.id),
            "notice",
            &format!("{} {} was added.", m.first_name, m.last_name),
        ),
        Err(e) => form_page(&app, &user, None, f, Some(e))
            .await
            .into_response(),
    }
}

pub async fn update(
    State(app): State<App>,
    PathIds(id): PathIds<MemberId>,
    CsrfForm(user, f): CsrfForm<MemberForm>,
) -> Response {
    let admin = capability!(user.actor, admin);
    // Another agency's member is a 404 before anything about the form.
    let current = match app.member(&user.actor, id).await {
        Ok(m) => m,
        Err(e) => return PageError(e).into_response(),
    };
    let result = match f.supervisor() {
        Ok(supervisor) => {
            app.update_member(
                &admin,
                id,
                MemberPatch {
                    version: f.version.unwrap_or_default(),
                    first_name: Some(f.first_name.clone()),
                    last_name: Some(f.last_name.clone()),
                    email: Some(MemberForm::text(&f.email)),
                    employee_number: Some(MemberForm::text(&f.employee_number)),
                    active: None,
                    position: Some(MemberForm::text(&f.position)),
                    supervisor_member_id: Some(supervisor),
                    group_ids: Some(f.group_ids.clone()),
                },
            )
            .await
        }
        Err(e) => Err(e),
    };
    match result {
        Ok(m) => redirect_with(
            &format!("/members/{id}"),
            "notice",
            &format!("{} {} was saved.", m.first_name, m.last_name),
        ),
        Err(e) => form_page(&app, &user, Some(current), f, Some(e))
            .await
            .into_response(),
    }
}
