//! Courses: units of training that can be completed, optionally graded.

use credence_domain::ids::CourseId;
use credence_domain::validation::{check_code, check_text, clean_name, Invalid};
use credence_store::catalog::courses::{self as store, Course, CourseFields};
use credence_store::Conn;
use serde::{Deserialize, Serialize};

use crate::catalog::credential_types::LifecycleAction;
use crate::input::{clean, double_option, patch};
use crate::ops::audit::record;
use crate::page::{paginate, Page, PageParams};
use crate::{Actor, Admin, App, AppError, Reader, Result};

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct CourseView {
    #[schema(value_type = String)]
    pub id: CourseId,
    pub code: String,
    pub name: String,
    /// Hours a completion earns by default.
    pub hours: f64,
    /// The continuing-education category its hours count toward.
    pub category: Option<String>,
    pub graded: bool,
    pub passing_grade: Option<f64>,
    /// Delivered online (distributive education): its records count against an hours
    /// requirement's `online` cap.
    pub online: bool,
    /// A retired course is kept for history but offered nowhere new: pickers hide it, and
    /// new classes and training records refuse it.
    pub retired: bool,
    pub retired_at: Option<chrono::DateTime<chrono::Utc>>,
    pub version: i64,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

/// The catalogue's filters: a search, and whether retired courses are listed too.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
pub struct CourseFilter {
    /// Matches the code or the name, ignoring case.
    pub q: Option<String>,
    /// List retired courses too (default false).
    pub include_retired: Option<bool>,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCourse {
    pub code: String,
    pub name: String,
    pub hours: Option<f64>,
    pub category: Option<String>,
    pub graded: Option<bool>,
    pub passing_grade: Option<f64>,
    /// Delivered online (default false).
    pub online: Option<bool>,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CoursePatch {
    pub version: i64,
    pub code: Option<String>,
    pub name: Option<String>,
    pub hours: Option<f64>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub category: Option<Option<String>>,
    pub graded: Option<bool>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<f64>)]
    pub passing_grade: Option<Option<f64>>,
    pub online: Option<bool>,
}

pub(crate) fn view(c: Course) -> CourseView {
    CourseView {
        id: c.id,
        code: c.code,
        name: c.name,
        hours: c.hours,
        category: c.category,
        graded: c.graded,
        passing_grade: c.passing_grade,
        online: c.online,
        retired: c.retired_at.is_some(),
        retired_at: c.retired_at,
        version: c.version,
        created_at: c.created_at,
        updated_at: c.updated_at,
    }
}

fn validate(f: &CourseFields) -> Result<()> {
    let mut invalid = Invalid::new();
    check_code(&mut invalid, "code", &f.code);
    check_text(&mut invalid, "name", &f.name, 200);
    invalid.check(
        f.hours.is_finite() && (0.0..=10_000.0).contains(&f.hours),
        "hours",
        "must be between 0 and 10000",
    );
    if let Some(c) = &f.category {
        invalid.check(
            c.chars().count() <= 60,
            "category",
            "must be at most 60 characters",
        );
    }
    if let Some(g) = f.passing_grade {
        invalid.check(
            (0.0..=100.0).contains(&g),
            "passing_grade",
            "must be between 0 and 100",
        );
        invalid.check(
            f.graded,
            "passing_grade",
            "only a graded course has a passing grade",
        );
    }
    Ok(invalid.into_result()?)
}

fn normalise(mut f: CourseFields) -> CourseFields {
    f.code = f.code.trim().to_string();
    f.name = clean_name(&f.name);
    f.category = clean(f.category);
    f
}

impl App {
    async fn load_course(&self, db: &mut impl Conn, actor: &Actor, id: CourseId) -> Result<Course> {
        store::course(db, actor.agency_id, id)
            .await?
            .ok_or(AppError::NotFound)
    }

    #[tracing::instrument(skip_all, fields(agency = %actor.agency_id, actor = %actor.label))]
    pub async fn course(&self, actor: &Reader, id: CourseId) -> Result<CourseView> {
        let mut tx = self.store.read().await?;
        Ok(view(self.load_course(&mut tx, actor, id).await?))
    }

    #[tracing::instrument(skip_all, fields(agency = %actor.agency_id, actor = %actor.label))]
    pub async fn courses(&self, actor: &Reader, page: &PageParams) -> Result<Page<CourseView>> {
        let limit = page.limit()?;
        let mut tx = self.store.read().await?;
        let rows = store::courses_page(&mut tx, actor.agency_id, page.after()?, limit + 1).await?;
        Ok(paginate(rows, limit, |c| c.id.get(), view))
    }

    /// The catalogue in code order, searched, without retired courses unless asked.
    #[tracing::instrument(skip_all, fields(agency = %actor.agency_id, actor = %actor.label))]
    pub async fn find_courses(
        &self,
        actor: &Reader,
        filter: &CourseFilter,
        page: &PageParams,
    ) -> Result<Page<CourseView>> {
        let limit = page.limit()?;
        let after: Option<(String, i64)> = page.after()?;
        let mut tx = self.store.read().await?;
        let rows = store::find_courses(
            &mut tx,
            actor.agency_id,
            filter.q.as_deref(),
            filter.include_retired.unwrap_or(false),
            after,
            limit + 1,
        )
        .await?;
        Ok(paginate(
            rows,
            limit,
            |c| (c.code.clone(), c.id.get()),
            view,
        ))
    }

    /// Retires a course: it stays on records and requirements, and is offered nowhere new.
    #[tracing::instrument(skip_all, fields(agency = %actor.agency_id, actor = %actor.label))]
    pub async fn retire_course(
        &self,
        actor: &Admin,
        id: CourseId,
        action: LifecycleAction,
    ) -> Result<CourseView> {
        let mut tx = self.store.begin().await?;
        let current = self.load_course(&mut tx, actor, id).await?;
        if action.version.is_some_and(|v| v != current.version) {
            return Err(AppError::stale());
        }
        if current.retired_at.is_some() {
            return Err(AppError::Conflict(format!(
                "the course {} is already retired",
                current.code
            )));
        }
        let version = current.version;
        let before = view(current);
        let after = view(
            store::retire_course(&mut tx, actor.agency_id, id, version)
                .await?
                .ok_or_else(AppError::stale)?,
        );
        record(&mut tx, actor, "retire", id, Some(&before), Some(&after)).await?;
        tx.commit().await?;
        Ok(after)
    }

    #[tracing::instrument(skip_all, fields(agency = %actor.agency_id, actor = %actor.label))]
    pub async fn create_course(&self, actor: &Admin, input: NewCourse) -> Result<CourseView> {
        let fields = normalise(CourseFields {
            code: input.code,
            name: input.name,
            hours: input.hours.unwrap_or(0.0),
            category: input.category,
            graded: input.graded.unwrap_or(input.passing_grade.is_some()),
            passing_grade: input.passing_grade,
            online: input.online.unwrap_or(false),
        });
        validate(&fields)?;
        let mut tx = self.store.begin().await?;
        let row = store::insert_course(&mut tx, actor.agency_id, &fields).await?;
        let id = row.id;
        let created = view(row);
        record(&mut tx, actor, "create", id, None, Some(&created)).await?;
        tx.commit().await?;
        Ok(created)
    }

    #[tracing::instrument(skip_all, fields(agency = %actor.agency_id, actor = %actor.label))]
    pub async fn update_course(
        &self,
        actor: &Admin,
        id: CourseId,
        input: CoursePatch,
    ) -> Result<CourseView> {
        let mut tx = self.store.begin().await?;
        let current = self.load_course(&mut tx, actor, id).await?;
        if current.version != input.version {
            return Err(AppError::stale());
        }
        let fields = normalise(CourseFields {
            code: patch(current.code.clone(), input.code),
            name: patch(current.name.clone(), input.name),
            hours: patch(current.hours, input.hours),
            category: patch(current.category.clone(), input.category),
            graded: patch(current.graded, input.graded),
            passing_grade: patch(current.passing_grade, input.passing_grade),
            online: patch(current.online, input.online),
        });
        validate(&fields)?;
        let row_id = current.id;
        let before = view(current);
        let after = view(
            store::update_course(&mut tx, actor.agency_id, row_id, input.version, &fields)
                .await?
                .ok_or_else(AppError::stale)?,
        );
        record(
            &mut tx,
            actor,
            "update",
            row_id,
            Some(&before),
            Some(&after),
        )
        .await?;
        tx.commit().await?;
        Ok(after)
    }
}
