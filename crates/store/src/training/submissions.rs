//! Uploaded files and the external certificates members submit for approval.

use chrono::{DateTime, NaiveDate, Utc};
use credence_domain::ids::{AgencyId, CourseId, FileId, MemberId, SubmissionId, TrainingRecordId};

use crate::{now, query, Conn, Result, Tx};

pub struct NewFile<'a> {
    pub storage_key: &'a str,
    pub original_name: &'a str,
    pub content_type: &'a str,
    pub size_bytes: i64,
    pub sha256: &'a str,
    pub owner_kind: &'a str,
    /// The row the file belongs to, of the table `owner_kind` names.
    pub owner_id: i64,
    pub uploaded_by: &'a str,
}

pub async fn insert_file(tx: &mut Tx, agency_id: AgencyId, f: &NewFile<'_>) -> Result<FileId> {
    query("INSERT INTO files (agency_id, storage_key, original_name, content_type, size_bytes, sha256, owner_kind, owner_id, uploaded_by, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id").arg(agency_id).arg(f.storage_key).arg(f.original_name).arg(f.content_type).arg(f.size_bytes).arg(f.sha256).arg(f.owner_kind).arg(f.owner_id).arg(f.uploaded_by).arg(now())
        .scalar(tx).await
}

pub struct NewSubmission<'a> {
    pub member_id: MemberId,
    pub file_id: FileId,
    pub course_id: Option<CourseId>,
    pub completed_on: NaiveDate,
    pub hours: Option<f64>,
    pub category: Option<&'a str>,
    pub note: Option<&'a str>,
}

pub async fn insert_submission(
    tx: &mut Tx,
    agency_id: AgencyId,
    s: &NewSubmission<'_>,
) -> Result<SubmissionId> {
    query("INSERT INTO external_submissions (agency_id, member_id, file_id, course_id, completed_on, hours, category, note, status, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'pending', $9) RETURNING id").arg(agency_id).arg(s.member_id).arg(s.file_id).arg(s.course_id).arg(s.completed_on).arg(s.hours).arg(s.category).arg(s.note).arg(now())
        .scalar(tx).await
}

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Submission {
    pub id: SubmissionId,
    pub member_id: MemberId,
    pub first_name: String,
    pub last_name: String,
    pub file_id: FileId,
    pub original_name: String,
    pub content_type: String,
    pub storage_key: String,
    pub size_bytes: i64,
    pub course_id: Option<CourseId>,
    pub course_name: Option<String>,
    pub completed_on: NaiveDate,
    pub hours: Option<f64>,
    pub category: Option<String>,
    pub note: Option<String>,
    pub status: String,
    pub reviewed_by: Option<String>,
    pub review_reason: Option<String>,
    pub created_at: DateTime<Utc>,
}

const SELECT: &str = "SELECT s.id, s.member_id, m.first_name, m.last_name, s.file_id, f.original_name, f.content_type, f.storage_key,
        f.size_bytes, s.course_id, c.name AS course_name, s.completed_on, s.hours, s.category, s.note, s.status, s.reviewed_by, s.review_reason, s.created_at
    FROM external_submissions s JOIN members m ON m.id = s.member_id JOIN files f ON f.id = s.file_id
    LEFT JOIN courses c ON c.id = s.course_id";

/// Submissions with a status (oldest first, the order officers review them in), optionally
/// of one member.
pub async fn submissions(
    db: &mut impl Conn,
    agency_id: AgencyId,
    status: Option<&str>,
    member_id: Option<MemberId>,
    limit: i64,
) -> Result<Vec<Submission>> {
    let sql = format!(
        "{SELECT} WHERE s.agency_id = $1 AND ($2 IS NULL OR s.status = $2) AND ($3 IS NULL OR s.member_id = $3) ORDER BY s.id LIMIT $4"
    );
    query(&sql)
        .arg(agency_id)
        .arg(status)
        .arg(member_id)
        .arg(limit)
        .fetch_all(db)
        .await
}

pub async fn submission(
    db: &mut impl Conn,
    agency_id: AgencyId,
    id: SubmissionId,
) -> Result<Option<Submission>> {
    let sql = format!("{SELECT} WHERE s.agency_id = $1 AND s.id = $2");
    query(&sql).arg(agency_id).arg(id).fetch_optional(db).await
}

/// Records the review of a pending submission; false when it was already reviewed.
pub async fn review(
    tx: &mut Tx,
    agency_id: AgencyId,
    id: SubmissionId,
    status: &str,
    reviewer: &str,
    record_id: Option<TrainingRecordId>,
    reason: Option<&str>,
) -> Result<bool> {
    let n = query("UPDATE external_submissions SET status = $1, reviewed_by = $2, reviewed_at = $3, training_record_id = $4,
             review_reason = $7
         WHERE agency_id = $5 AND id = $6 AND status = 'pending'").arg(status).arg(reviewer).arg(now()).arg(record_id).arg(agency_id).arg(id).arg(reason)
        .execute(tx).await?;
    Ok(n == 1)
}
