//! Qualifications (`/qualifications`): the list with each rule in words, a form to add one
//! (a name, ticks among the published credential types, all or any), and a page to edit or
//! delete one (`/qualifications/{id}`, admin). The same app functions as the API.

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use credence_app::catalog::credential_types::CredentialTypeView;
use credence_app::catalog::qualifications::{
    NewQualification, QualificationPatch, QualificationView,
};
use credence_app::ids::{CredentialTypeId, QualificationId};
use credence_app::page::PageParams;
use credence_app::{App, AppError};
use serde::Deserialize;

use crate::extract::PathIds;
use crate::pages::auth::session::CsrfForm;
use crate::pages::credentials::manage::all_types;
use crate::pages::{error_text, redirect_with, render, Layout, PageError, PageResult, WebUser};

/// The form as typed.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct QualificationForm {
    version: Option<i64>,
    #[serde(default)]
    name: String,
    #[serde(default)]
    credential_type_ids: Vec<CredentialTypeId>,
    #[serde(default)]
    rule: String,
}

/// Field errors of a refused form, and a line for the top of the page.
#[derive(Default)]
pub struct Errors {
    fields: BTreeMap<String, String>,
    general: Option<String>,
}

impl Errors {
    fn of(e: AppError) -> Result<Errors, PageError> {
        match e {
            AppError::Invalid(i) => {
                let mut fields = BTreeMap::new();
                for e in i.errors {
                    // `credential_type_ids[2]` is shown under the list of types.
                    let field = if e.field.starts_with("credential_type_ids") {
                        "credential_type_ids".to_string()
                    } else {
                        e.field
                    };
                    fields
                        .entry(field)
                        .and_modify(|m: &mut String| {
                            m.push_str("; ");
                            m.push_str(&e.message)
                        })
                        .or_insert(e.message);
                }
                Ok(Errors {
                    fields,
                    general: Some("Not saved: correct the fields marked below.".into()),
                })
            }
            e @ AppError::Conflict(_) => Ok(Errors {
                fields: BTreeMap::new(),
                general: Some(format!(
                    "{} Not saved: reload the page to see the qualification as it is now.",
                    error_text(&e)
                )),
            }),
            other => Err(PageError(other)),
        }
    }

    fn get(&self, field: &str) -> Option<&str> {
        self.fields.get(field).map(String::as_str)
    }

    fn invalid(&self, field: &str) -> &'static str {
        if self.fields.contains_key(field) {
            "true"
        } else {
            "false"
        }
    }

    fn status(&self) -> StatusCode {
        if !self.fields.is_empty() {
            StatusCode::UNPROCESSABLE_ENTITY
        } else if self.general.is_some() {
            StatusCode::CONFLICT
        } else {
            StatusCode::OK
        }
    }
}

/// A qualification as the list shows it.
pub struct Listed {
    q: QualificationView,
    types: String,
}

#[derive(Template)]
#[template(path = "qualifications.html")]
struct ListPage {
    layout: Layout,
    items: Vec<Listed>,
    /// Types that may be ticked: published ones.
    types: Vec<CredentialTypeView>,
    can_admin: bool,
    f: QualificationForm,
    errors: Errors,
}

#[derive(Template)]
#[template(path = "qualification.html")]
struct EditPage {
    layout: Layout,
    id: QualificationId,
    /// Published types, and the retired ones the qualification still names.
    types: Vec<CredentialTypeView>,
    f: QualificationForm,
    errors: Errors,
}

trait Ticks {
    fn form(&self) -> &QualificationForm;

    fn ticked(&self, id: &CredentialTypeId) -> bool {
        self.form().credential_type_ids.contains(id)
    }

    fn rule_is(&self, rule: &str) -> bool {
        self.form().rule == rule
    }
}

impl Ticks for ListPage {
    fn form(&self) -> &QualificationForm {
        &self.f
    }
}

impl Ticks for EditPage {
    fn form(&self) -> &QualificationForm {
        &self.f
    }
}

fn names_of(ids: &[CredentialTypeId], types: &[CredentialTypeView]) -> String {
    ids.iter()
        .map(|id| {
            types.iter().find(|t| t.id == *id).map_or_else(
                || id.to_string(),
                |t| {
                    if t.state == "retired" {
                        format!("{} (retired)", t.name)
                    } else {
                        t.name.clone()
                    }
                },
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

async fn list_page(app: &App, user: &WebUser, f: QualificationForm, errors: Errors) -> PageResult {
    let reader = user.actor.reader()?;
    let all = all_types(app, &user.actor).await?;
    let items = app
        .qualifications(
            &reader,
            &PageParams {
                limit: Some(500),
                cursor: None,
            },
        )
        .await?
        .items
        .into_iter()
        .map(|q| Listed {
            types: names_of(&q.credential_type_ids, &all),
            q,
        })
        .collect();
    let status = errors.status();
    let mut response = render(&ListPage {
        layout: Layout::new(user, "Qualifications", "reports").with_error(errors.general.clone()),
        items,
        types: all.into_iter().filter(|t| t.state == "published").collect(),
        can_admin: user.actor.role().administers(),
        f,
        errors,
    });
    *response.status_mut() = status;
    Ok(response)
}

pub async fn list(State(app): State<App>, user: WebUser) -> PageResult {
    let f = QualificationForm {
        rule: "all".into(),
        ..Default::default()
    };
    list_page(&app, &user, f, Errors::default()).await
}

pub async fn create(
    State(app): State<App>,
    CsrfForm(user, f): CsrfForm<QualificationForm>,
) -> Response {
    let admin = capability!(user.actor, admin);
    let input = NewQualification {
        name: f.name.clone(),
        credential_type_ids: f.credential_type_ids.clone(),
        rule: f.rule.clone(),
    };
    match app.create_qualification(&admin, input).await {
        Ok(q) => redirect_with(
            &format!("/readiness?qualification_id={}", q.id),
            "notice",
            &format!("{} was added.", q.name),
        ),
        Err(e) => match Errors::of(e) {
            Ok(errors) => list_page(&app, &user, f, errors).await.into_response(),
            Err(page) => page.into_response(),
        },
    }
}

async fn edit_page(
    app: &App,
    user: &WebUser,
    id: QualificationId,
    f: QualificationForm,
    errors: Errors,
) -> PageResult {
    user.actor.admin()?;
    let status = errors.status();
    let types = all_types(app, &user.actor)
        .await?
        .into_iter()
        .filter(|t| t.state == "published" || f.credential_type_ids.contains(&t.id))
        .collect();
    let mut response = render(&EditPage {
        layout: Layout::new(user, "Edit qualification", "reports")
            .with_error(errors.general.clone()),
        id,
        types,
        f,
        errors,
    });
    *response.status_mut() = status;
    Ok(response)
}

pub async fn edit(
    State(app): State<App>,
    user: WebUser,
    PathIds(id): PathIds<QualificationId>,
) -> PageResult {
    let q = app.qualification(&user.actor.reader()?, id).await?;
    let f = QualificationForm {
        version: Some(q.version),
        name: q.name,
        credential_type_ids: q.credential_type_ids,
        rule: q.rule.as_str().to_string(),
    };
    edit_page(&app, &user, id, f, Errors::default()).await
}

pub async fn update(
    State(app): State<App>,
    PathIds(id): PathIds<QualificationId>,
    CsrfForm(user, f): CsrfForm<QualificationForm>,
) -> Response {
    let admin = capability!(user.actor, admin);
    let input = QualificationPatch {
        version: f.version.unwrap_or(0),
        name: Some(f.name.clone()),
        credential_type_ids: Some(f.credential_type_ids.clone()),
        rule: Some(f.rule.clone()),
    };
    match app.update_qualification(&admin, id, input).await {
        Ok(q) => redirect_with(
            "/qualifications",
            "notice",
            &format!("{} was saved.", q.name),
        ),
        Err(e) => match Errors::of(e) {
            Ok(errors) => edit_page(&app, &user, id, f, errors).await.into_response(),
            Err(page) => page.into_response(),
        },
    }
}

/// The delete form carries only the CSRF token.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Empty {}

pub async fn delete(
    State(app): State<App>,
    PathIds(id): PathIds<QualificationId>,
    CsrfForm(user, _): CsrfForm<Empty>,
) -> Response {
    let admin = capability!(user.actor, admin);
    match app.delete_qualification(&admin, id).await {
        Ok(()) => redirect_with(
            "/qualifications",
            "notice",
            "The qualification was deleted.",
        ),
        Err(e) => PageError(e).into_response(),
    }
}
