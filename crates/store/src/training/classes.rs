//! Classes and their rosters: one offering of a course on one day, the members on it with
//! their results, and the training records completing it writes — each a set-based
//! statement, whatever the size of the roster.

use chrono::{DateTime, NaiveDate, Utc};
use credence_domain::ids::{AgencyId, ClassId, CourseId, GroupId, MemberId, TrainingRecordId};

use crate::query::{json_rows, JsonType};
use crate::{now, query, Conn, Query, Result, Tx};

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct ClassRow {
    pub id: ClassId,
    pub course_id: CourseId,
    pub course_code: String,
    pub course_name: String,
    pub course_hours: f64,
    pub course_graded: bool,
    pub course_passing_grade: Option<f64>,
    pub course_retired_at: Option<DateTime<Utc>>,
    pub held_on: NaiveDate,
    pub instructor: Option<String>,
    pub location: Option<String>,
    pub capacity: Option<i64>,
    /// `scheduled` or `completed`.
    pub status: String,
    pub completed_at: Option<DateTime<Utc>>,
    pub completed_by: Option<String>,
    pub roster_count: i64,
    pub attended_count: i64,
    pub version: i64,
    pub created_at: DateTime<Utc>,
}

const CLASS: &str = "SELECT k.id, k.course_id, c.code AS course_code, c.name AS course_name,
        c.hours AS course_hours, c.graded AS course_graded, c.passing_grade AS course_passing_grade,
        c.retired_at AS course_retired_at, k.held_on, k.instructor, k.location, k.capacity, k.status,
        k.completed_at, k.completed_by,
        (SELECT COUNT(*) FROM class_roster r WHERE r.agency_id = k.agency_id AND r.class_id = k.id) AS roster_count,
        (SELECT COUNT(*) FROM class_roster r WHERE r.agency_id = k.agency_id AND r.class_id = k.id
            AND r.attended = TRUE) AS attended_count,
        k.version, k.created_at
    FROM classes k JOIN courses c ON c.agency_id = k.agency_id AND c.id = k.course_id";

pub struct NewClass<'a> {
    pub course_id: CourseId,
    pub held_on: NaiveDate,
    pub instructor: &'a str,
    pub location: &'a str,
    pub capacity: Option<i64>,
}

pub async fn insert_class(tx: &mut Tx, agency_id: AgencyId, n: &NewClass<'_>) -> Result<ClassId> {
    query(
        "INSERT INTO classes (agency_id, course_id, held_on, instructor, location, capacity, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .arg(agency_id)
    .arg(n.course_id)
    .arg(n.held_on)
    .arg(n.instructor)
    .arg(n.location)
    .arg(n.capacity)
    .arg(now())
    .scalar(tx)
    .await
}

pub async fn class(
    db: &mut impl Conn,
    agency_id: AgencyId,
    id: ClassId,
) -> Result<Option<ClassRow>> {
    query(format!("{CLASS} WHERE k.agency_id = $1 AND k.id = $2"))
        .arg(agency_id)
        .arg(id)
        .fetch_optional(db)
        .await
}

/// Holds the class's row until the transaction ends, so two roster changes or completions
/// of one class run one after the other (PostgreSQL; SQLite's write transaction already
/// excludes every other writer): capacity and "completed once" hold under concurrency.
pub async fn lock_class(tx: &mut Tx, agency_id: AgencyId, id: ClassId) -> Result<()> {
    if tx.backend() == crate::Backend::Postgres {
        query("SELECT id FROM classes WHERE agency_id = $1 AND id = $2 FOR UPDATE")
            .arg(agency_id)
            .arg(id)
            .execute(tx)
            .await?;
    }
    Ok(())
}

/// Which classes a page lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    /// Held today or later, soonest first.
    Upcoming,
    /// Held before today, latest first.
    Past,
    /// Every class, latest first.
    All,
}

/// A page of classes; `after` continues from the last row's `(held_on, id)`.
pub async fn classes_page(
    db: &mut impl Conn,
    agency_id: AgencyId,
    when: When,
    today: NaiveDate,
    course_id: Option<CourseId>,
    after: Option<(NaiveDate, i64)>,
    limit: i64,
) -> Result<Vec<ClassRow>> {
    let mut q = Query::new(format!("{CLASS} WHERE k.agency_id = "));
    q.bind(agency_id);
    match when {
        When::Upcoming => {
            q.push(" AND k.held_on >= ").bind(today);
        }
        When::Past => {
            q.push(" AND k.held_on < ").bind(today);
        }
        When::All => {}
    }
    if let Some(c) = course_id {
        q.push(" AND k.course_id = ").bind(c);
    }
    let ascending = when == When::Upcoming;
    if let Some((day, id)) = after {
        q.push_after(("k.held_on", "k.id"), !ascending, day, id);
    }
    if ascending {
        q.push(" ORDER BY k.held_on, k.id LIMIT ");
    } else {
        q.push(" ORDER BY k.held_on DESC, k.id DESC LIMIT ");
    }
    q.bind(limit);
    q.fetch_all(db).await
}

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct RosterRow {
    pub member_id: MemberId,
    pub first_name: String,
    pub last_name: String,
    pub employee_number: Option<String>,
    pub active: bool,
    /// `None` until results are typed.
    pub attended: Option<bool>,
    pub score: Option<f64>,
    pub hours: Option<f64>,
    /// The record the class's completion wrote for the member.
    pub training_record_id: Option<TrainingRecordId>,
}

/// The roster by name, with each member's result and record.
pub async fn roster(
    db: &mut impl Conn,
    agency_id: AgencyId,
    class_id: ClassId,
) -> Result<Vec<RosterRow>> {
    query(
        "SELECT r.member_id, m.first_name, m.last_name, m.employee_number, m.active, r.attended, r.score,
                r.hours, t.id AS training_record_id
         FROM class_roster r
         JOIN members m ON m.agency_id = r.agency_id AND m.id = r.member_id
         LEFT JOIN training_records t ON t.agency_id = r.agency_id AND t.class_id = r.class_id
             AND t.member_id = r.member_id
         WHERE r.agency_id = $1 AND r.class_id = $2
         ORDER BY m.sort_name, m.id",
    )
    .arg(agency_id)
    .arg(class_id)
    .fetch_all(db)
    .await
}

pub async fn roster_member_ids(
    db: &mut impl Conn,
    agency_id: AgencyId,
    class_id: ClassId,
) -> Result<Vec<MemberId>> {
    query("SELECT member_id FROM class_roster WHERE agency_id = $1 AND class_id = $2 ORDER BY member_id")
        .arg(agency_id)
        .arg(class_id)
        .scalars(db)
        .await
}

/// A member who may be put on a roster: found in the agency, active or not.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Candidate {
    pub id: MemberId,
    pub first_name: String,
    pub last_name: String,
    pub active: bool,
}

/// The agency's members among `ids`.
pub async fn members_by_ids(
    db: &mut impl Conn,
    agency_id: AgencyId,
    ids: &[MemberId],
) -> Result<Vec<Candidate>> {
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(crate::JSON_BATCH) {
        let mut q =
            Query::new("SELECT id, first_name, last_name, active FROM members WHERE +agency_id = ");
        q.bind(agency_id)
            .push(" AND id IN ")
            .bind_json_ids(db.backend(), chunk);
        let rows: Vec<Candidate> = q.fetch_all(db).await?;
        out.extend(rows);
    }
    Ok(out)
}

/// The active members of these groups today, each once.
pub async fn active_members_of_groups(
    db: &mut impl Conn,
    agency_id: AgencyId,
    group_ids: &[GroupId],
) -> Result<Vec<MemberId>> {
    if group_ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut q = Query::new(
        "SELECT DISTINCT g.member_id FROM group_memberships g
         JOIN members m ON m.agency_id = g.agency_id AND m.id = g.member_id AND m.active = TRUE
         WHERE g.agency_id = ",
    );
    q.bind(agency_id)
        .push(" AND g.group_id IN ")
        .bind_json_ids(db.backend(), group_ids)
        .push(" ORDER BY g.member_id");
    q.scalars(db).await
}

/// Puts these members on the roster (those already on it stay as they are).
pub async fn add_to_roster(
    tx: &mut Tx,
    agency_id: AgencyId,
    class_id: ClassId,
    member_ids: &[MemberId],
) -> Result<u64> {
    let mut added = 0;
    for chunk in member_ids.chunks(crate::JSON_BATCH) {
        let mut q = Query::new(
            "INSERT INTO class_roster (agency_id, class_id, member_id, added_at) SELECT ",
        );
        q.bind(agency_id)
            .push(", ")
            .bind(class_id)
            .push(", v.id, ")
            .bind(now())
            .push(" FROM ")
            .bind_json_ids(tx.backend(), chunk)
            .push(
                " AS v WHERE NOT EXISTS (SELECT 1 FROM class_roster r WHERE r.agency_id = $1
                  AND r.class_id = $2 AND r.member_id = v.id)",
            );
        added += q.execute(tx).await?;
    }
    Ok(added)
}

/// Takes these members off the roster (those not on it are ignored).
pub async fn remove_from_roster(
    tx: &mut Tx,
    agency_id: AgencyId,
    class_id: ClassId,
    member_ids: &[MemberId],
) -> Result<u64> {
    let mut removed = 0;
    for chunk in member_ids.chunks(crate::JSON_BATCH) {
        let mut q = Query::new("DELETE FROM class_roster WHERE agency_id = ");
        q.bind(agency_id)
            .push(" AND class_id = ")
            .bind(class_id)
            .push(" AND member_id IN ")
            .bind_json_ids(tx.backend(), chunk);
        removed += q.execute(tx).await?;
    }
    Ok(removed)
}

/// One member's result to store.
pub struct ResultRow {
    pub member_id: MemberId,
    pub attended: bool,
    pub score: Option<f64>,
    pub hours: Option<f64>,
}

/// Stores the results: the members named get theirs, everyone else on the roster is marked
/// absent. Two statements, whatever the roster's size.
pub async fn set_results(
    tx: &mut Tx,
    agency_id: AgencyId,
    class_id: ClassId,
    results: &[ResultRow],
) -> Result<()> {
    query("UPDATE class_roster SET attended = FALSE, score = NULL, hours = NULL WHERE agency_id = $1 AND class_id = $2")
        .arg(agency_id)
        .arg(class_id)
        .execute(tx)
        .await?;
    use JsonType::{BigInt, Bool, Double};
    let source = json_rows(
        tx.backend(),
        "$3",
        &[
            ("member_id", BigInt),
            ("attended", Bool),
            ("score", Double),
            ("hours", Double),
        ],
    );
    // The ORDER BY keeps SQLite from flattening the rows into the join, where it would
    // re-read the whole JSON for every roster row (quadratic: ~0.5 s for 500); sorted, they
    // are the outer loop and each finds its roster row by the primary key.
    let sql = format!(
        "UPDATE class_roster SET attended = v.attended, score = v.score, hours = v.hours
         FROM (SELECT * FROM {source} AS j ORDER BY j.member_id) AS v
         WHERE class_roster.agency_id = $1 AND class_roster.class_id = $2 AND class_roster.member_id = v.member_id"
    );
    for chunk in results.chunks(crate::JSON_BATCH) {
        let rows: Vec<serde_json::Value> = chunk
            .iter()
            .map(|r| crate::cells![r.member_id, r.attended, r.score, r.hours])
            .collect();
        query(sql.as_str())
            .arg(agency_id)
            .arg(class_id)
            .arg(serde_json::Value::from(rows).to_string())
            .execute(tx)
            .await?;
    }
    Ok(())
}

/// Deletes the training records an earlier completion of the class wrote; answers
/// `(record, member)` of each.
pub async fn delete_class_records(
    tx: &mut Tx,
    agency_id: AgencyId,
    class_id: ClassId,
) -> Result<Vec<(TrainingRecordId, MemberId)>> {
    query("DELETE FROM training_records WHERE agency_id = $1 AND class_id = $2 RETURNING id, member_id")
        .arg(agency_id)
        .arg(class_id)
        .fetch_all(tx)
        .await
}

/// Writes one training record per attendee (source `class`): dated the day the class was
/// held, for its course, with the typed score and hours (the course's hours when none was
/// typed) and the course's category. One statement; answers `(record, member)` of each.
pub async fn insert_class_records(
    tx: &mut Tx,
    agency_id: AgencyId,
    class_id: ClassId,
    created_by: &str,
) -> Result<Vec<(TrainingRecordId, MemberId)>> {
    query(
        "INSERT INTO training_records (agency_id, member_id, course_id, completed_on, score, hours, category,
             source, class_id, created_by, created_at)
         SELECT r.agency_id, r.member_id, k.course_id, k.held_on, r.score, COALESCE(r.hours, c.hours), c.category,
             'class', k.id, $3, $4
         FROM class_roster r
         JOIN classes k ON k.agency_id = r.agency_id AND k.id = r.class_id
         JOIN courses c ON c.agency_id = k.agency_id AND c.id = k.course_id
         WHERE r.agency_id = $1 AND r.class_id = $2 AND r.attended = TRUE
         ORDER BY r.member_id
         RETURNING id, member_id",
    )
    .arg(agency_id)
    .arg(class_id)
    .arg(created_by)
    .arg(now())
    .fetch_all(tx)
    .await
}

/// Marks the class completed; `false` when it already was.
pub async fn mark_completed(
    tx: &mut Tx,
    agency_id: AgencyId,
    class_id: ClassId,
    by: &str,
) -> Result<bool> {
    let n = query(
        "UPDATE classes SET status = 'completed', completed_at = $1, completed_by = $2, version = version + 1
         WHERE agency_id = $3 AND id = $4 AND status = 'scheduled'",
    )
    .arg(now())
    .arg(by)
    .arg(agency_id)
    .arg(class_id)
    .execute(tx)
    .await?;
    Ok(n == 1)
}

/// Opens a completed class again for corrections; `false` when it was not completed.
pub async fn reopen(tx: &mut Tx, agency_id: AgencyId, class_id: ClassId) -> Result<bool> {
    let n = query(
        "UPDATE classes SET status = 'scheduled', completed_at = NULL, completed_by = NULL, version = version + 1
         WHERE agency_id = $1 AND id = $2 AND status = 'completed'",
    )
    .arg(agency_id)
    .arg(class_id)
    .execute(tx)
    .await?;
    Ok(n == 1)
}

/// A roster change bumps the class's version, so a stale page is told.
pub async fn touch(tx: &mut Tx, agency_id: AgencyId, class_id: ClassId) -> Result<()> {
    query("UPDATE classes SET version = version + 1 WHERE agency_id = $1 AND id = $2")
        .arg(agency_id)
        .arg(class_id)
        .execute(tx)
        .await?;
    Ok(())
}
