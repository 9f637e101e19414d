//! Courses: the catalogue of training that requirements refer to.

use chrono::{DateTime, Utc};
use credence_domain::ids::{AgencyId, CourseId};

use crate::query::{escape_like, fetch_in_batches, LIKE_ESCAPE};
use crate::{now, query, Conn, Query, Result, Tx};

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Course {
    pub id: CourseId,
    pub code: String,
    pub name: String,
    pub hours: f64,
    pub category: Option<String>,
    pub graded: bool,
    pub passing_grade: Option<f64>,
    /// Delivered online: its records count against an `online` cap.
    pub online: bool,
    /// Set when the course was retired: kept for history, offered nowhere new.
    pub retired_at: Option<DateTime<Utc>>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct CourseFields {
    pub code: String,
    pub name: String,
    pub hours: f64,
    pub category: Option<String>,
    pub graded: bool,
    pub passing_grade: Option<f64>,
    pub online: bool,
}

const COURSE_COLUMNS: &str =
    "id, code, name, hours, category, graded, passing_grade, online, retired_at, version, created_at, updated_at";

pub async fn insert_course(tx: &mut Tx, agency_id: AgencyId, f: &CourseFields) -> Result<Course> {
    let sql = format!(
        "INSERT INTO courses (agency_id, code, name, hours, category, graded, passing_grade, online, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) RETURNING {COURSE_COLUMNS}"
    );
    query(&sql)
        .arg(agency_id)
        .arg(&f.code)
        .arg(&f.name)
        .arg(f.hours)
        .arg(&f.category)
        .arg(f.graded)
        .arg(f.passing_grade)
        .arg(f.online)
        .arg(now())
        .fetch_one(tx)
        .await
}

pub async fn update_course(
    tx: &mut Tx,
    agency_id: AgencyId,
    id: CourseId,
    version: i64,
    f: &CourseFields,
) -> Result<Option<Course>> {
    let sql = format!(
        "UPDATE courses SET code = $1, name = $2, hours = $3, category = $4, graded = $5, passing_grade = $6,
             online = $11, version = version + 1, updated_at = $7
         WHERE agency_id = $8 AND id = $9 AND version = $10 RETURNING {COURSE_COLUMNS}"
    );
    query(&sql)
        .arg(&f.code)
        .arg(&f.name)
        .arg(f.hours)
        .arg(&f.category)
        .arg(f.graded)
        .arg(f.passing_grade)
        .arg(now())
        .arg(agency_id)
        .arg(id)
        .arg(version)
        .arg(f.online)
        .fetch_optional(tx)
        .await
}

pub async fn course(
    db: &mut impl Conn,
    agency_id: AgencyId,
    id: CourseId,
) -> Result<Option<Course>> {
    let sql = format!("SELECT {COURSE_COLUMNS} FROM courses WHERE agency_id = $1 AND id = $2");
    query(&sql).arg(agency_id).arg(id).fetch_optional(db).await
}

pub async fn courses_page(
    db: &mut impl Conn,
    agency_id: AgencyId,
    after_id: Option<i64>,
    limit: i64,
) -> Result<Vec<Course>> {
    let sql = format!("SELECT {COURSE_COLUMNS} FROM courses WHERE agency_id = $1 AND id > $2 ORDER BY id LIMIT $3");
    query(&sql)
        .arg(agency_id)
        .arg(after_id.unwrap_or(0))
        .arg(limit)
        .fetch_all(db)
        .await
}

/// Retires a course (once); `None` when the version is stale or it was already retired.
pub async fn retire_course(
    tx: &mut Tx,
    agency_id: AgencyId,
    id: CourseId,
    version: i64,
) -> Result<Option<Course>> {
    let sql = format!(
        "UPDATE courses SET retired_at = $1, version = version + 1, updated_at = $1
         WHERE agency_id = $2 AND id = $3 AND version = $4 AND retired_at IS NULL RETURNING {COURSE_COLUMNS}"
    );
    query(&sql)
        .arg(now())
        .arg(agency_id)
        .arg(id)
        .arg(version)
        .fetch_optional(tx)
        .await
}

/// The catalogue in code order, optionally matching `search` (code or name) and with the
/// retired courses; `after` continues a page from the last row's `(code, id)`.
pub async fn find_courses(
    db: &mut impl Conn,
    agency_id: AgencyId,
    search: Option<&str>,
    include_retired: bool,
    after: Option<(String, i64)>,
    limit: i64,
) -> Result<Vec<Course>> {
    let mut q = Query::new(format!(
        "SELECT {COURSE_COLUMNS} FROM courses WHERE agency_id = "
    ));
    q.bind(agency_id);
    if !include_retired {
        q.push(" AND retired_at IS NULL");
    }
    if let Some(s) = search.map(str::trim).filter(|s| !s.is_empty()) {
        let pattern = format!("%{}%", escape_like(&s.to_lowercase()));
        q.push(" AND (LOWER(code) LIKE ")
            .bind(pattern.clone())
            .push(LIKE_ESCAPE)
            .push(" OR LOWER(name) LIKE ")
            .bind(pattern)
            .push(LIKE_ESCAPE)
            .push(")");
    }
    if let Some((code, id)) = after {
        q.push_after(("code", "id"), false, code, id);
    }
    q.push(" ORDER BY code, id LIMIT ").bind(limit);
    q.fetch_all(db).await
}

/// Of `ids`, those that are courses of the agency.
pub async fn existing_course_ids(
    db: &mut impl Conn,
    agency_id: AgencyId,
    ids: &[CourseId],
) -> Result<Vec<CourseId>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut q = Query::new("SELECT id FROM courses WHERE agency_id = ");
    q.bind(agency_id)
        .push(" AND id IN ")
        .bind_json_ids(db.backend(), ids);
    q.scalars(db).await
}

/// The agency's courses among `ids`.
pub async fn courses_by_ids(
    db: &mut impl Conn,
    agency_id: AgencyId,
    ids: &[CourseId],
) -> Result<Vec<Course>> {
    let mut out = Vec::new();
    fetch_in_batches(
        db,
        ids,
        |chunk| {
            let mut q = Query::new(format!(
                "SELECT {COURSE_COLUMNS} FROM courses WHERE +agency_id = "
            ));
            q.bind(agency_id).push(" AND id IN ").bind_ids(chunk);
            q
        },
        |rows| out.extend(rows),
    )
    .await?;
    Ok(out)
}

/// Ids of the agency's courses delivered online: their records count as `online` for caps.
pub async fn online_course_ids(db: &mut impl Conn, agency_id: AgencyId) -> Result<Vec<CourseId>> {
    query("SELECT id FROM courses WHERE agency_id = $1 AND online = TRUE ORDER BY id")
        .arg(agency_id)
        .scalars(db)
        .await
}
