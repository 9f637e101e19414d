//! Training records and checklist sign-offs: what progress is computed from.

use chrono::{DateTime, NaiveDate, Utc};
use credence_domain::ids::{
    AgencyId, CourseId, CredentialId, MemberId, PeriodId, RequirementId, TrainingRecordId,
};

use crate::query::{json_rows, JsonType};
use crate::{now, query, Conn, Query, Result, Tx};

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct TrainingRecord {
    pub id: TrainingRecordId,
    pub member_id: MemberId,
    pub course_id: Option<CourseId>,
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
    pub member_id: MemberId,
    pub course_id: Option<CourseId>,
    pub completed_on: NaiveDate,
    pub score: Option<f64>,
    pub hours: f64,
    pub category: Option<String>,
    pub source: String,
}

const COLUMNS: &str = "id, member_id, course_id, completed_on, score, hours, category, source, created_by, created_at";

/// Inserts records, a batch per statement; returns them with their ids, in `records`' order.
pub async fn insert_records(
    tx: &mut Tx,
    agency_id: AgencyId,
    records: &[NewRecord],
    created_by: &str,
) -> Result<Vec<TrainingRecord>> {
    use JsonType::{BigInt, Date, Double, Text};
    let source = json_rows(
        tx.backend(),
        "$2",
        &[
            ("member_id", BigInt),
            ("course_id", BigInt),
            ("completed_on", Date),
            ("score", Double),
            ("hours", Double),
            ("category", Text),
            ("source", Text),
        ],
    );
    let sql = format!(
        "INSERT INTO training_records (agency_id, member_id, course_id, completed_on, score, hours, category, source, created_by, created_at)
         SELECT $1, v.member_id, v.course_id, v.completed_on, v.score, v.hours, v.category, v.source, $3, $4
         FROM {source} AS v ORDER BY v.ord
         RETURNING {COLUMNS}"
    );
    let at = now();
    let mut out = Vec::with_capacity(records.len());
    for chunk in records.chunks(crate::JSON_BATCH) {
        let rows: Vec<serde_json::Value> = chunk
            .iter()
            .map(|r| {
                crate::cells![
                    r.member_id,
                    r.course_id,
                    r.completed_on.to_string(),
                    r.score,
                    r.hours,
                    r.category,
                    r.source
                ]
            })
            .collect();
        let inserted: Vec<TrainingRecord> = query(sql.as_str())
            .arg(agency_id)
            .arg(serde_json::Value::from(rows).to_string())
            .arg(created_by)
            .arg(at)
            .fetch_all(tx)
            .await?;
        out.extend(inserted);
    }
    out.sort_by_key(|r| r.id);
    Ok(out)
}

/// Records of these members completed on or after `from`.
pub async fn records_of_members(
    db: &mut impl Conn,
    agency_id: AgencyId,
    member_ids: &[MemberId],
    from: NaiveDate,
) -> Result<Vec<TrainingRecord>> {
    let mut out = Vec::new();
    for chunk in member_ids.chunks(crate::JSON_BATCH) {
        let mut q = Query::new(format!(
            "SELECT {COLUMNS} FROM training_records WHERE agency_id = "
        ));
        q.bind(agency_id)
            .push(" AND completed_on >= ")
            .bind(from)
            .push(" AND member_id IN ")
            .bind_json_ids(db.backend(), chunk);
        let rows: Vec<TrainingRecord> = q.fetch_all(db).await?;
        out.extend(rows);
    }
    Ok(out)
}

/// Newest first, optionally for one member or course.
pub async fn records_page(
    db: &mut impl Conn,
    agency_id: AgencyId,
    member_id: Option<MemberId>,
    course_id: Option<CourseId>,
    before_id: Option<i64>,
    limit: i64,
) -> Result<Vec<TrainingRecord>> {
    let mut q = Query::new(format!(
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
    q.fetch_all(db).await
}

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct SignOffRow {
    pub id: i64,
    pub credential_id: CredentialId,
    pub requirement_id: RequirementId,
    pub period_id: PeriodId,
    pub signed_on: NaiveDate,
    pub evaluator: String,
    /// The login that recorded it.
    pub created_by: String,
    pub created_at: DateTime<Utc>,
}

/// A checklist sign-off to record.
pub struct NewSignOff<'a> {
    pub credential_id: CredentialId,
    pub requirement_id: RequirementId,
    pub period_id: PeriodId,
    pub signed_on: NaiveDate,
    pub evaluator: &'a str,
}

pub async fn insert_sign_off(
    tx: &mut Tx,
    agency_id: AgencyId,
    s: &NewSignOff<'_>,
    created_by: &str,
) -> Result<i64> {
    query("INSERT INTO sign_offs (agency_id, credential_id, requirement_id, period_id, signed_on, evaluator, created_by, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id").arg(agency_id).arg(s.credential_id).arg(s.requirement_id).arg(s.period_id).arg(s.signed_on).arg(s.evaluator).arg(created_by).arg(now())
        .scalar(tx).await
}

/// Records sign-offs, a batch per statement.
pub async fn insert_sign_offs(
    tx: &mut Tx,
    agency_id: AgencyId,
    sign_offs: &[NewSignOff<'_>],
    created_by: &str,
) -> Result<()> {
    use JsonType::{BigInt, Date, Text};
    let source = json_rows(
        tx.backend(),
        "$2",
        &[
            ("credential_id", BigInt),
            ("requirement_id", BigInt),
            ("period_id", BigInt),
            ("signed_on", Date),
            ("evaluator", Text),
        ],
    );
    let sql = format!(
        "INSERT INTO sign_offs (agency_id, credential_id, requirement_id, period_id, signed_on, evaluator, created_by, created_at)
         SELECT $1, v.credential_id, v.requirement_id, v.period_id, v.signed_on, v.evaluator, $3, $4
         FROM {source} AS v ORDER BY v.ord"
    );
    let at = now();
    for chunk in sign_offs.chunks(crate::JSON_BATCH) {
        let rows: Vec<serde_json::Value> = chunk
            .iter()
            .map(|s| {
                crate::cells![
                    s.credential_id,
                    s.requirement_id,
                    s.period_id,
                    s.signed_on.to_string(),
                    s.evaluator
                ]
            })
            .collect();
        query(sql.as_str())
            .arg(agency_id)
            .arg(serde_json::Value::from(rows).to_string())
            .arg(created_by)
            .arg(at)
            .execute(tx)
            .await?;
    }
    Ok(())
}

/// Sign-offs made in the given periods.
pub async fn sign_offs_of_periods(
    db: &mut impl Conn,
    agency_id: AgencyId,
    period_ids: &[PeriodId],
) -> Result<Vec<SignOffRow>> {
    let mut out = Vec::new();
    for chunk in period_ids.chunks(crate::JSON_BATCH) {
        let mut q = Query::new("SELECT id, credential_id, requirement_id, period_id, signed_on, evaluator, created_by, created_at FROM sign_offs WHERE agency_id = ");
        q.bind(agency_id)
            .push(" AND period_id IN ")
            .bind_json_ids(db.backend(), chunk);
        let rows: Vec<SignOffRow> = q.fetch_all(db).await?;
        out.extend(rows);
    }
    Ok(out)
}
