//! Courses (`/courses`): the catalogue with a search and a form to add one, and a course's
//! page (`/courses/{id}`) to edit or retire it, with its classes. Retired courses are kept
//! for history and listed on request; every course picker leaves them out.

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use credence_app::catalog::courses::{CourseFilter, CoursePatch, CourseView, NewCourse};
use credence_app::catalog::credential_types::LifecycleAction;
use credence_app::ids::CourseId;
use credence_app::page::PageParams;
use credence_app::training::classes::{ClassListFilter, ClassView};
use credence_app::{App, AppError};
use serde::Deserialize;

use crate::extract::PathIds;
use crate::pages::auth::session::{CsrfForm, HtmlQuery};
use crate::pages::{
    error_text, form_encode, redirect_with, render, Layout, PageError, PageResult, WebUser,
};

const PAGE: i64 = 50;

/// Field errors of a refused form, by field; a conflict (stale version) has no field.
#[derive(Default)]
pub(crate) struct Errors {
    fields: BTreeMap<String, String>,
    pub(crate) general: Option<String>,
}

impl Errors {
    /// The errors of `e`, or the error page for failures that are no fault of the form.
    pub(crate) fn of(e: AppError) -> Result<Errors, PageError> {
        match e {
            AppError::Invalid(i) => Ok(Errors {
                fields: i.errors.into_iter().map(|e| (e.field, e.message)).collect(),
                general: Some("Not saved: correct the fields marked below.".into()),
            }),
            e @ AppError::Conflict(_) => Ok(Errors {
                fields: BTreeMap::new(),
                general: Some(format!(
                    "{} Not saved: reload the page to see it as it is now.",
                    error_text(&e)
                )),
            }),
            other => Err(PageError(other)),
        }
    }

    pub(crate) fn field(field: &str, message: &str) -> Errors {
        let mut e = Errors {
            general: Some("Not saved: correct the fields marked below.".into()),
            ..Default::default()
        };
        e.fields.insert(field.into(), message.into());
        e
    }

    pub(crate) fn get(&self, field: &str) -> Option<&str> {
        self.fields.get(field).map(String::as_str)
    }

    pub(crate) fn invalid(&self, field: &str) -> &'static str {
        if self.fields.contains_key(field) {
            "true"
        } else {
            "false"
        }
    }

    pub(crate) fn status(&self) -> StatusCode {
        if !self.fields.is_empty() {
            StatusCode::UNPROCESSABLE_ENTITY
        } else if self.general.is_some() {
            StatusCode::CONFLICT
        } else {
            StatusCode::OK
        }
    }
}

/// A number field as typed: blank is none, anything else must be a number.
pub(crate) fn number(field: &str, text: &str) -> Result<Option<f64>, Errors> {
    let t = text.trim();
    if t.is_empty() {
        return Ok(None);
    }
    t.parse::<f64>()
        .ok()
        .filter(|n| n.is_finite())
        .map(Some)
        .ok_or_else(|| Errors::field(field, "must be a number"))
}

/// The course form as typed.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct CourseForm {
    version: Option<i64>,
    #[serde(default)]
    code: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    hours: String,
    #[serde(default)]
    category: String,
    graded: Option<String>,
    #[serde(default)]
    passing_grade: String,
    online: Option<String>,
}

impl CourseForm {
    fn of(c: &CourseView) -> CourseForm {
        CourseForm {
            version: Some(c.version),
            code: c.code.clone(),
            name: c.name.clone(),
            hours: c.hours.to_string(),
            category: c.category.clone().unwrap_or_default(),
            graded: c.graded.then(|| "on".into()),
            passing_grade: c.passing_grade.map(|g| g.to_string()).unwrap_or_default(),
            online: c.online.then(|| "on".into()),
        }
    }

    fn is_graded(&self) -> bool {
        self.graded.is_some()
    }

    fn is_online(&self) -> bool {
        self.online.is_some()
    }

    fn numbers(&self) -> Result<(Option<f64>, Option<f64>), Errors> {
        Ok((
            number("hours", &self.hours)?,
            number("passing_grade", &self.passing_grade)?,
        ))
    }
}

// ---- The catalogue ----

#[derive(Debug, Clone, Default, Deserialize)]
pub struct ListQuery {
    q: Option<String>,
    /// "1": list retired courses too.
    retired: Option<String>,
    cursor: Option<String>,
}

impl ListQuery {
    fn search(&self) -> &str {
        self.q.as_deref().map(str::trim).unwrap_or("")
    }

    fn with_retired(&self) -> bool {
        self.retired.as_deref() == Some("1")
    }
}

#[derive(Template)]
#[template(path = "courses.html")]
struct ListPage {
    layout: Layout,
    q: ListQuery,
    courses: Vec<CourseView>,
    next: Option<String>,
    can_admin: bool,
    f: CourseForm,
    errors: Errors,
}

impl ListPage {
    fn next_link(&self) -> Option<String> {
        let mut filters = String::new();
        if !self.q.search().is_empty() {
            filters.push_str(&format!("&q={}", form_encode(self.q.search())));
        }
        if self.q.with_retired() {
            filters.push_str("&retired=1");
        }
        self.next
            .as_ref()
            .map(|c| format!("/courses?cursor={c}{filters}"))
    }
}

async fn list_page(
    app: &App,
    user: &WebUser,
    q: ListQuery,
    f: CourseForm,
    errors: Errors,
) -> PageResult {
    let reader = user.actor.reader()?;
    let filter = CourseFilter {
        q: Some(q.search().to_string()).filter(|s| !s.is_empty()),
        include_retired: Some(q.with_retired()),
    };
    let page = app
        .find_courses(
            &reader,
            &filter,
            &PageParams {
                limit: Some(PAGE),
                cursor: q.cursor.clone(),
            },
        )
        .await?;
    let status = errors.status();
    let mut response = render(&ListPage {
        layout: Layout::new(user, "Courses", "courses").with_error(errors.general.clone()),
        q,
        courses: page.items,
        next: page.next_cursor,
        can_admin: user.actor.role().administers(),
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
    let f = CourseForm {
        hours: "0".into(),
        ..Default::default()
    };
    list_page(&app, &user, q, f, Errors::default()).await
}

pub async fn create(State(app): State<App>, CsrfForm(user, f): CsrfForm<CourseForm>) -> Response {
    let admin = capability!(user.actor, admin);
    let errors = match f.numbers() {
        Err(errors) => errors,
        Ok((hours, passing_grade)) => {
            let input = NewCourse {
                code: f.code.clone(),
                name: f.name.clone(),
                hours,
                category: Some(f.category.clone()),
                graded: Some(f.is_graded() || passing_grade.is_some()),
                passing_grade,
                online: Some(f.is_online()),
            };
            match app.create_course(&admin, input).await {
                Ok(c) => {
                    return redirect_with(
                        "/courses",
                        "notice",
                        &format!("{} ({}) was added to the catalogue.", c.name, c.code),
                    )
                }
                Err(e) => match Errors::of(e) {
                    Ok(errors) => errors,
                    Err(page) => return page.into_response(),
                },
            }
        }
    };
    list_page(&app, &user, ListQuery::default(), f, errors)
        .await
        .into_response()
}

// ---- One course ----

#[derive(Template)]
#[template(path = "course.html")]
struct CoursePage {
    layout: Layout,
    c: CourseView,
    classes: Vec<ClassView>,
    can_admin: bool,
    f: CourseForm,
    errors: Errors,
}

async fn course_page(
    app: &App,
    user: &WebUser,
    id: CourseId,
    f: Option<CourseForm>,
    errors: Errors,
) -> PageResult {
    let reader = user.actor.reader()?;
    let c = app.course(&reader, id).await?;
    let classes = app
        .classes(
            &reader,
            &ClassListFilter {
                when: None,
                course_id: Some(id),
            },
            &PageParams {
                limit: Some(20),
                cursor: None,
            },
        )
        .await?
        .items;
    let status = errors.status();
    let mut response = render(&CoursePage {
        layout: Layout::new(user, c.name.clone(), "courses").with_error(errors.general.clone()),
        f: f.unwrap_or_else(|| CourseForm::of(&c)),
        c,
        classes,
        can_admin: user.actor.role().administers(),
        errors,
    });
    *response.status_mut() = status;
    Ok(response)
}

pub async fn page(
    State(app): State<App>,
    user: WebUser,
    PathIds(id): PathIds<CourseId>,
) -> PageResult {
    course_page(&app, &user, id, None, Errors::default()).await
}

pub async fn update(
    State(app): State<App>,
    PathIds(id): PathIds<CourseId>,
    CsrfForm(user, f): CsrfForm<CourseForm>,
) -> Response {
    let admin = capability!(user.actor, admin);
    let (hours, passing_grade) = match f.numbers() {
        Ok(n) => n,
        Err(errors) => {
            return course_page(&app, &user, id, Some(f), errors)
                .await
                .into_response()
        }
    };
    let graded = f.is_graded() || passing_grade.is_some();
    let patch = CoursePatch {
        version: f.version.unwrap_or_default(),
        code: Some(f.code.clone()),
        name: Some(f.name.clone()),
        hours: Some(hours.unwrap_or(0.0)),
        category: Some(Some(f.category.clone()).filter(|c| !c.trim().is_empty())),
        graded: Some(graded),
        passing_grade: Some(passing_grade),
        online: Some(f.is_online()),
    };
    match app.update_course(&admin, id, patch).await {
        Ok(c) => redirect_with(
            &format!("/courses/{id}"),
            "notice",
            &format!("Saved {}.", c.name),
        ),
        Err(e) => match Errors::of(e) {
            Ok(errors) => course_page(&app, &user, id, Some(f), errors)
                .await
                .into_response(),
            Err(page) => page.into_response(),
        },
    }
}

#[derive(Debug, Deserialize)]
pub struct RetireForm {
    version: Option<i64>,
}

pub async fn retire(
    State(app): State<App>,
    PathIds(id): PathIds<CourseId>,
    CsrfForm(user, f): CsrfForm<RetireForm>,
) -> Response {
    let admin = capability!(user.actor, admin);
    match app
        .retire_course(&admin, id, LifecycleAction { version: f.version })
        .await
    {
        Ok(c) => redirect_with(
            &format!("/courses/{id}"),
            "notice",
            &format!(
                "{} is retired: its records stay, and it is offered nowhere new.",
                c.name
            ),
        ),
        Err(e @ AppError::NotFound) | Err(e @ AppError::Forbidden(_)) => {
            PageError(e).into_response()
        }
        Err(e) => redirect_with(&format!("/courses/{id}"), "error", &error_text(&e)),
    }
}
