//! Training records and checklist sign-offs: what progress is computed from.

use chrono::{DateTime, NaiveDate, Utc};

use crate::{bind_args, db, now, on_conn, Result, SqlBuilder, Tx};

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct TrainingRecord {
    pub id: i64,
    pub member_id: i64,
    pub course_id: Option<i64>,
    pub completed_on: NaiveDate,
    pub score: Option<f64>,
    pub hours: f64,
    pub category: Option<String>,
    pub source: String,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewRecord {
    pub member_id: i64,
    pub course_id: Option<i64>,
    pub completed_on: NaiveDate,
    pub score: Option<f64>,
    pub hours: f64,
    pub category: Option<String>,
    pub source: String,
}

const COLUMNS: &str = "id, member_id, course_id, completed_on, score, hours, category, source, created_by, created_at";

/// Inserts records in multi-row statements; returns them with their ids.
pub async fn insert_records(
    tx: &mut Tx,
    agency_id: i64,
    records: &[NewRecord],
    created_by: &str,
) -> Result<Vec<TrainingRecord>> {
    let at = now();
    let mut out = Vec::with_capacity(records.len());
    for chunk in records.chunks(crate::rows_per_statement(10)) {
        let mut q = SqlBuilder::new(
            "INSERT INTO training_records (agency_id, member_id, course_id, completed_on, score, hours, category, source, created_by, created_at) VALUES ",
        );
        for (i, r) in chunk.iter().enumerate() {
            if i > 0 {
                q.push(", ");
            }
            q.push("(")
                .bind(agency_id)
                .push(", ")
                .bind(r.member_id)
                .push(", ")
                .bind(r.course_id)
                .push(", ")
                .bind(r.completed_on);
            q.push(", ")
                .bind(r.score)
                .push(", ")
                .bind(r.hours)
                .push(", ")
                .bind(r.category.clone())
                .push(", ")
                .bind(r.source.as_str());
            q.push(", ").bind(created_by).push(", ").bind(at).push(")");
        }
        q.push(&format!(" RETURNING {COLUMNS}"));
        let rows: Vec<TrainingRecord> =
            on_conn!(tx, c => bind_args!(sqlx::query_as(&q.sql), &q.args).fetch_all(c).await)
                .map_err(db)?;
        out.extend(rows);
    }
    out.sort_by_key(|r| r.id);
    Ok(out)
}

/// Records of these members completed on or after `from`.
pub async fn records_of_members(
    tx: &mut Tx,
    agency_id: i64,
    member_ids: &[i64],
    from: NaiveDate,
) -> Result<Vec<TrainingRecord>> {
    let mut out = Vec::new();
    for chunk in member_ids.chunks(crate::JSON_BATCH) {
        let mut q = SqlBuilder::new(format!(
            "SELECT {COLUMNS} FROM training_records WHERE agency_id = "
        ));
        q.bind(agency_id)
            .push(" AND completed_on >= ")
            .bind(from)
            .push(" AND member_id IN ")
            .bind_json_ids(tx.backend(), chunk);
        let rows: Vec<TrainingRecord> =
            on_conn!(tx, c => bind_args!(sqlx::query_as(&q.sql), &q.args).fetch_all(c).await)
                .map_err(db)?;
        out.extend(rows);
    }
    Ok(out)
}

/// Newest first, optionally for one member or course.
pub async fn records_page(
    tx: &mut Tx,
    agency_id: i64,
    member_id: Option<i64>,
    course_id: Option<i64>,
    before_id: Option<i64>,
    limit: i64,
) -> Result<Vec<TrainingRecord>> {
    let mut q = SqlBuilder::new(format!(
        "SELECT {COLUMNS} FROM training_records WHERE agency_id = "
    ));
    q.bind(agency_id);
    if let Some(m) = member_id {
        q.push(" AND member_id = ").bind(m);
    }
    if let Some(c) = course_id {
        q.push(" AND course_id = ").bind(c);
    }
    if let Some(b) = before_id {
        q.push(" AND id < ").bind(b);
    }
    q.push(" ORDER BY id DESC LIMIT ").bind(limit);
    on_conn!(tx, c => bind_args!(sqlx::query_as(&q.sql), &q.args).fetch_all(c).await).map_err(db)
}

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct SignOffRow {
    pub id: i64,
    pub credential_id: i64,
    pub requirement_id: i64,
    pub period_id: i64,
    pub signed_on: NaiveDate,
    pub evaluator: String,
}

/// A checklist sign-off to record.
pub struct NewSignOff<'a> {
    pub credential_id: i64,
    pub requirement_id: i64,
    pub period_id: i64,
    pub signed_on: NaiveDate,
    pub evaluator: &'a str,
}

pub async fn insert_sign_off(
    tx: &mut Tx,
    agency_id: i64,
    s: &NewSignOff<'_>,
    created_by: &str,
) -> Result<i64> {
    on_conn!(tx, c => sqlx::query_scalar(
        "INSERT INTO sign_offs (agency_id, credential_id, requirement_id, period_id, signed_on, evaluator, created_by, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id")
        .bind(agency_id).bind(s.credential_id).bind(s.requirement_id).bind(s.period_id).bind(s.signed_on).bind(s.evaluator)
        .bind(created_by).bind(now()).fetch_one(c).await).map_err(db)
}

/// Sign-offs made in the given periods.
pub async fn sign_offs_of_periods(
    tx: &mut Tx,
    agency_id: i64,
    period_ids: &[i64],
) -> Result<Vec<SignOffRow>> {
    let mut out = Vec::new();
    for chunk in period_ids.chunks(crate::JSON_BATCH) {
        let mut q = SqlBuilder::new("SELECT id, credential_id, requirement_id, period_id, signed_on, evaluator FROM sign_offs WHERE agency_id = ");
        q.bind(agency_id)
            .push(" AND period_id IN ")
            .bind_json_ids(tx.backend(), chunk);
        let rows: Vec<SignOffRow> =
            on_conn!(tx, c => bind_args!(sqlx::query_as(&q.sql), &q.args).fetch_all(c).await)
                .map_err(db)?;
        out.extend(rows);
    }
    Ok(out)
}
