//! Compliance counts and lists, grouped on stored status.

use chrono::{DateTime, NaiveDate, Utc};
use credence_domain::ids::{AgencyId, CredentialId, CredentialTypeId, GroupId, MemberId};

use crate::credentials::CredentialRow;
use crate::query::fetch_in_batches;
use crate::{query, Conn, Query, Result};

/// Optional narrowing of a report.
#[derive(Debug, Clone, Copy, Default)]
pub struct Scope {
    pub group_id: Option<GroupId>,
    pub credential_type_id: Option<CredentialTypeId>,
}

/// Narrows to the scope; tracks withdrawn with their retired type never count.
fn push_scope(q: &mut Query, scope: Scope) {
    q.push(" AND c.withdrawn = ").bind(false);
    if let Some(t) = scope.credential_type_id {
        q.push(" AND c.credential_type_id = ").bind(t);
    }
    if let Some(g) = scope.group_id {
        q.push(" AND gm.group_id = ").bind(g);
    }
}

/// Whether the credential was ever issued, as a column.
const ISSUED: &str = "(c.issuance_id IS NOT NULL)";

/// `(group_id, credential_type_id, status, issued, count)`: `issued` tells whether the
/// credentials were ever issued, which with the status gives their standing
/// (`credence_domain::status::standing`). Members in no group count under `None`.
pub async fn status_counts(
    db: &mut impl Conn,
    agency_id: AgencyId,
    scope: Scope,
) -> Result<Vec<(Option<GroupId>, CredentialTypeId, String, bool, i64)>> {
    let mut q = Query::new(format!(
        "SELECT gm.group_id, c.credential_type_id, c.status, {ISSUED} AS issued, COUNT(*) FROM credentials c
         LEFT JOIN group_memberships gm ON gm.agency_id = c.agency_id AND gm.member_id = c.member_id
         WHERE c.agency_id = "
    ));
    q.bind(agency_id);
    push_scope(&mut q, scope);
    q.push(&format!(" GROUP BY gm.group_id, c.credential_type_id, c.status, {ISSUED} ORDER BY gm.group_id, c.credential_type_id, c.status"));
    q.fetch_all(db).await
}

/// Credentials in scope with the groups their member was in on `on`, from the membership
/// history (members in no group that day under `None`), for a report as of another day.
pub async fn credentials_in_scope_on(
    db: &mut impl Conn,
    agency_id: AgencyId,
    scope: Scope,
    on: NaiveDate,
) -> Result<Vec<(CredentialRow, Option<GroupId>)>> {
    let mut q = Query::new(
        "SELECT c.id, c.member_id, c.credential_type_id, c.status, c.progress, c.expiring_soon, c.status_changes_on,
             c.issuance_id, c.issue_date, c.expiration_date, c.revoked, c.withdrawn, c.period_id, c.period_start, c.period_end, c.due_date,
             c.version, c.member_sort_name, c.created_at, c.updated_at, gm.group_id
         FROM credentials c
         LEFT JOIN group_membership_periods gm ON gm.agency_id = c.agency_id AND gm.member_id = c.member_id
             AND gm.from_date <= ",
    );
    q.bind(on)
        .push(" AND (gm.to_date IS NULL OR gm.to_date > ")
        .bind(on)
        .push(") WHERE c.agency_id = ")
        .bind(agency_id);
    push_scope(&mut q, scope);
    q.push(" ORDER BY c.member_sort_name, c.id");
    let rows: Vec<ScopedRow> = q.fetch_all(db).await?;
    Ok(rows
        .into_iter()
        .map(|r| (r.credential, r.group_id))
        .collect())
}

#[derive(sqlx::FromRow)]
struct ScopedRow {
    #[sqlx(flatten)]
    credential: CredentialRow,
    group_id: Option<GroupId>,
}

/// A credential that is not compliant, with its member's name.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Gap {
    pub credential_id: CredentialId,
    pub member_id: MemberId,
    pub first_name: String,
    pub last_name: String,
    pub employee_number: Option<String>,
    pub credential_type_id: CredentialTypeId,
    pub status: String,
    /// Ever issued: with a non-compliant status, lapsed.
    pub issued: bool,
    pub expiration_date: Option<NaiveDate>,
    pub due_date: Option<NaiveDate>,
}

/// Credentials in scope whose stored status is one of `statuses`, by member name.
pub async fn gaps(
    db: &mut impl Conn,
    agency_id: AgencyId,
    scope: Scope,
    statuses: &[&str],
    limit: i64,
) -> Result<Vec<Gap>> {
    let mut q = Query::new(
        "SELECT DISTINCT c.id AS credential_id, c.member_id, m.first_name, m.last_name, m.employee_number, c.credential_type_id,
             c.status, (c.issuance_id IS NOT NULL) AS issued, c.expiration_date, c.due_date, c.member_sort_name
         FROM credentials c JOIN members m ON m.id = c.member_id
         LEFT JOIN group_memberships gm ON gm.agency_id = c.agency_id AND gm.member_id = c.member_id
         WHERE c.agency_id = ",
    );
    q.bind(agency_id)
        .push(" AND c.status IN ")
        .bind_list(statuses.iter().copied());
    push_scope(&mut q, scope);
    q.push(" ORDER BY c.member_sort_name, c.id LIMIT ")
        .bind(limit);
    q.fetch_all(db).await
}

/// Members' names by id (for a report as of another day).
pub async fn member_names(
    db: &mut impl Conn,
    agency_id: AgencyId,
    ids: &[MemberId],
) -> Result<Vec<(MemberId, String, String, Option<String>)>> {
    let mut out = Vec::new();
    fetch_in_batches(
        db,
        ids,
        |chunk| {
            let mut q = Query::new(
                "SELECT id, first_name, last_name, employee_number FROM members WHERE +agency_id = ",
            );
            q.bind(agency_id).push(" AND id IN ").bind_ids(chunk);
            q
        },
        |rows| out.extend(rows),
    )
    .await?;
    Ok(out)
}

/// `(credential_type_id, status, issued, count)` over the whole agency (each credential once).
pub async fn type_status_counts(
    db: &mut impl Conn,
    agency_id: AgencyId,
) -> Result<Vec<(CredentialTypeId, String, bool, i64)>> {
    query(format!(
        "SELECT c.credential_type_id, c.status, {ISSUED} AS issued, COUNT(*) FROM credentials c
         WHERE c.agency_id = $1 AND c.withdrawn = $2
         GROUP BY c.credential_type_id, c.status, {ISSUED} ORDER BY c.credential_type_id, c.status"
    ))
    .arg(agency_id)
    .arg(false)
    .fetch_all(db)
    .await
}

/// `(group_id, status, issued, count)`: each credential counted once per group of its member.
pub async fn group_status_counts(
    db: &mut impl Conn,
    agency_id: AgencyId,
) -> Result<Vec<(GroupId, String, bool, i64)>> {
    query(format!(
        "SELECT gm.group_id, c.status, {ISSUED} AS issued, COUNT(*) FROM credentials c
         JOIN group_memberships gm ON gm.agency_id = c.agency_id AND gm.member_id = c.member_id
         WHERE c.agency_id = $1 AND c.withdrawn = $2
         GROUP BY gm.group_id, c.status, {ISSUED} ORDER BY gm.group_id, c.status"
    ))
    .arg(agency_id)
    .arg(false)
    .fetch_all(db)
    .await
}

/// Valid issuances expiring between the dates, and credentials with a status, counted.
pub async fn headline_counts(
    db: &mut impl Conn,
    agency_id: AgencyId,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<(i64, i64)> {
    let expiring: i64 = query("SELECT COUNT(*) FROM credentials WHERE agency_id = $1 AND expiration_date >= $2 AND expiration_date <= $3 AND revoked = FALSE").arg(agency_id).arg(from).arg(to)
        .scalar(db).await?;
    let overdue: i64 =
        query("SELECT COUNT(*) FROM credentials WHERE agency_id = $1 AND status = 'overdue' AND withdrawn = $2")
            .arg(agency_id)
            .arg(false)
            .scalar(db)
            .await?;
    Ok((expiring, overdue))
}

/// What the agency's counts depend on besides the clock: its newest audit event (every write
/// records one) and the last time its daily jobs finished (the sweep rewrites statuses
/// without one). Two equal versions mean equal counts on the same day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::FromRow)]
pub struct CountsVersion {
    pub last_event: Option<i64>,
    pub last_daily_jobs: Option<DateTime<Utc>>,
}

pub async fn counts_version(db: &mut impl Conn, agency_id: AgencyId) -> Result<CountsVersion> {
    query(
        "SELECT (SELECT MAX(id) FROM audit_events WHERE agency_id = $1) AS last_event,
                (SELECT MAX(finished_at) FROM daily_job_runs WHERE agency_id = $1) AS last_daily_jobs",
    )
    .arg(agency_id)
    .fetch_one(db)
    .await
}
