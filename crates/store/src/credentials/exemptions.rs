//! Exemptions (a member excused from requirements until a date) and leaves of absence (the
//! member's open periods pushed back by the leave's length). Rows are never deleted: an
//! exemption ended early keeps its row with `ended_on`, a withdrawn leave its
//! `withdrawn_at`.

use chrono::{DateTime, NaiveDate, Utc};
use credence_domain::ids::{
    AgencyId, CredentialId, CredentialTypeId, ExemptionId, LeaveId, MemberId, PeriodId,
    RequirementId,
};

use crate::{now, query, Conn, Query, Result, Tx};

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct ExemptionRow {
    pub id: ExemptionId,
    pub member_id: MemberId,
    pub credential_type_id: CredentialTypeId,
    pub credential_id: CredentialId,
    pub requirement_id: Option<RequirementId>,
    /// What the requirement is called: its title, else its course's name, else its
    /// hours category.
    pub requirement_title: Option<String>,
    pub reason: String,
    pub starts_on: NaiveDate,
    pub until_date: NaiveDate,
    pub ended_on: Option<NaiveDate>,
    pub ended_by: Option<String>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
}

const COLUMNS: &str = "e.id, e.member_id, e.credential_type_id, e.credential_id, e.requirement_id,
    COALESCE(r.title, co.name, r.category) AS requirement_title, e.reason, e.starts_on, e.until_date, e.ended_on, e.ended_by,
    e.created_by, e.created_at";

const FROM: &str = "FROM exemptions e LEFT JOIN requirements r
    ON r.agency_id = e.agency_id AND r.id = e.requirement_id
    LEFT JOIN courses co ON co.agency_id = r.agency_id AND co.id = r.course_id";

/// The member's track for the type, if they hold one.
pub async fn credential_of(
    db: &mut impl Conn,
    agency_id: AgencyId,
    member_id: MemberId,
    credential_type_id: CredentialTypeId,
) -> Result<Option<CredentialId>> {
    query(
        "SELECT id FROM credentials WHERE agency_id = $1 AND member_id = $2 AND credential_type_id = $3",
    )
    .arg(agency_id)
    .arg(member_id)
    .arg(credential_type_id)
    .scalar_optional(db)
    .await
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewExemption<'a> {
    pub member_id: MemberId,
    pub credential_type_id: CredentialTypeId,
    pub credential_id: CredentialId,
    pub requirement_id: Option<RequirementId>,
    pub reason: &'a str,
    pub starts_on: NaiveDate,
    pub until: NaiveDate,
    pub created_by: &'a str,
}

pub async fn insert_exemption(
    tx: &mut Tx,
    agency_id: AgencyId,
    new: &NewExemption<'_>,
) -> Result<ExemptionId> {
    query(
        "INSERT INTO exemptions (agency_id, member_id, credential_type_id, credential_id,
             requirement_id, reason, starts_on, until_date, created_by, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
    )
    .arg(agency_id)
    .arg(new.member_id)
    .arg(new.credential_type_id)
    .arg(new.credential_id)
    .arg(new.requirement_id)
    .arg(new.reason)
    .arg(new.starts_on)
    .arg(new.until)
    .arg(new.created_by)
    .arg(now())
    .scalar(tx)
    .await
}

pub async fn exemption(
    db: &mut impl Conn,
    agency_id: AgencyId,
    id: ExemptionId,
) -> Result<Option<ExemptionRow>> {
    let sql = format!("SELECT {COLUMNS} {FROM} WHERE e.agency_id = $1 AND e.id = $2");
    query(sql).arg(agency_id).arg(id).fetch_optional(db).await
}

/// Ends an exemption on `on` (it no longer counts from that day); `false` when it had
/// already ended.
pub async fn end_exemption(
    tx: &mut Tx,
    agency_id: AgencyId,
    id: ExemptionId,
    on: NaiveDate,
    by: &str,
) -> Result<bool> {
    let n = query(
        "UPDATE exemptions SET ended_on = $1, ended_by = $2
         WHERE agency_id = $3 AND id = $4 AND ended_on IS NULL",
    )
    .arg(on)
    .arg(by)
    .arg(agency_id)
    .arg(id)
    .execute(tx)
    .await?;
    Ok(n > 0)
}

/// Ends each of the exemptions on `on` (see [`end_exemption`]); an issue ends the handful
/// in force on its credentials.
pub async fn end_exemptions(
    tx: &mut Tx,
    agency_id: AgencyId,
    ids: &[ExemptionId],
    on: NaiveDate,
    by: &str,
) -> Result<()> {
    for id in ids {
        end_exemption(tx, agency_id, *id, on, by).await?;
    }
    Ok(())
}

/// Filters of [`exemptions_page`]; `in_force_on` keeps those in force (`Some((true, d))`)
/// or not in force (`Some((false, d))`) on day `d`.
#[derive(Debug, Clone, Default)]
pub struct ExemptionFilter {
    pub member_id: Option<MemberId>,
    pub credential_type_id: Option<CredentialTypeId>,
    pub in_force_on: Option<(bool, NaiveDate)>,
}

/// A page of exemptions by id.
pub async fn exemptions_page(
    db: &mut impl Conn,
    agency_id: AgencyId,
    filter: &ExemptionFilter,
    after_id: Option<i64>,
    limit: i64,
) -> Result<Vec<ExemptionRow>> {
    let mut q = Query::new(format!("SELECT {COLUMNS} {FROM} WHERE e.agency_id = "));
    q.bind(agency_id);
    if let Some(m) = filter.member_id {
        q.push(" AND e.member_id = ").bind(m);
    }
    if let Some(t) = filter.credential_type_id {
        q.push(" AND e.credential_type_id = ").bind(t);
    }
    if let Some((active, day)) = filter.in_force_on {
        q.push(if active { " AND " } else { " AND NOT " });
        in_force(&mut q, day);
    }
    q.push(" AND e.id > ")
        .bind(after_id.unwrap_or(0))
        .push(" ORDER BY e.id LIMIT ")
        .bind(limit);
    q.fetch_all(db).await
}

/// `(e.starts_on <= d AND d <= e.until_date AND (e.ended_on IS NULL OR d < e.ended_on))`:
/// the domain's `Exemption::in_force`, as a filter so lists need not read ended ones.
fn in_force(q: &mut Query, day: NaiveDate) {
    q.push("(e.starts_on <= ")
        .bind(day)
        .push(" AND e.until_date >= ")
        .bind(day)
        .push(" AND (e.ended_on IS NULL OR e.ended_on > ")
        .bind(day)
        .push("))");
}

/// Every exemption of the credentials that has not lapsed by `day` (in force or still to
/// come), for computing progress; the domain decides which count.
pub async fn current_exemptions_of(
    db: &mut impl Conn,
    agency_id: AgencyId,
    credential_ids: &[CredentialId],
    day: NaiveDate,
) -> Result<Vec<ExemptionRow>> {
    let mut out = Vec::new();
    for chunk in credential_ids.chunks(crate::JSON_BATCH) {
        let mut q = Query::new(format!("SELECT {COLUMNS} {FROM} WHERE e.agency_id = "));
        q.bind(agency_id)
            .push(" AND e.credential_id IN ")
            .bind_json_ids(db.backend(), chunk)
            .push(" AND e.until_date >= ")
            .bind(day)
            .push(" AND (e.ended_on IS NULL OR e.ended_on > ")
            .bind(day)
            .push(") ORDER BY e.id");
        out.extend(q.fetch_all::<ExemptionRow>(db).await?);
    }
    Ok(out)
}

/// Every exemption of the credentials, ended or not, oldest first: their history.
pub async fn exemptions_of_credentials(
    db: &mut impl Conn,
    agency_id: AgencyId,
    credential_ids: &[CredentialId],
) -> Result<Vec<ExemptionRow>> {
    let mut out = Vec::new();
    for chunk in credential_ids.chunks(crate::JSON_BATCH) {
        let mut q = Query::new(format!("SELECT {COLUMNS} {FROM} WHERE e.agency_id = "));
        q.bind(agency_id)
            .push(" AND e.credential_id IN ")
            .bind_json_ids(db.backend(), chunk)
            .push(" ORDER BY e.id");
        out.extend(q.fetch_all::<ExemptionRow>(db).await?);
    }
    Ok(out)
}

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct LeaveRow {
    pub id: LeaveId,
    pub member_id: MemberId,
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
    pub reason: String,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub withdrawn_at: Option<DateTime<Utc>>,
    pub withdrawn_by: Option<String>,
}

const LEAVE_COLUMNS: &str =
    "id, member_id, starts_on, ends_on, reason, created_by, created_at, withdrawn_at, withdrawn_by";

pub async fn insert_leave(
    tx: &mut Tx,
    agency_id: AgencyId,
    member_id: MemberId,
    starts_on: NaiveDate,
    ends_on: NaiveDate,
    reason: &str,
    created_by: &str,
) -> Result<LeaveRow> {
    let sql = format!(
        "INSERT INTO leaves (agency_id, member_id, starts_on, ends_on, reason, created_by, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {LEAVE_COLUMNS}"
    );
    query(sql)
        .arg(agency_id)
        .arg(member_id)
        .arg(starts_on)
        .arg(ends_on)
        .arg(reason)
        .arg(created_by)
        .arg(now())
        .fetch_one(tx)
        .await
}

pub async fn leave(
    db: &mut impl Conn,
    agency_id: AgencyId,
    id: LeaveId,
) -> Result<Option<LeaveRow>> {
    let sql = format!("SELECT {LEAVE_COLUMNS} FROM leaves WHERE agency_id = $1 AND id = $2");
    query(sql).arg(agency_id).arg(id).fetch_optional(db).await
}

/// Marks a leave withdrawn; `false` when it already was.
pub async fn withdraw_leave(
    tx: &mut Tx,
    agency_id: AgencyId,
    id: LeaveId,
    by: &str,
) -> Result<bool> {
    let n = query(
        "UPDATE leaves SET withdrawn_at = $1, withdrawn_by = $2
         WHERE agency_id = $3 AND id = $4 AND withdrawn_at IS NULL",
    )
    .arg(now())
    .arg(by)
    .arg(agency_id)
    .arg(id)
    .execute(tx)
    .await?;
    Ok(n > 0)
}

/// A page of leaves by id, of one member or of the agency.
pub async fn leaves_page(
    db: &mut impl Conn,
    agency_id: AgencyId,
    member_id: Option<MemberId>,
    after_id: Option<i64>,
    limit: i64,
) -> Result<Vec<LeaveRow>> {
    let mut q = Query::new(format!(
        "SELECT {LEAVE_COLUMNS} FROM leaves WHERE agency_id = "
    ));
    q.bind(agency_id);
    if let Some(m) = member_id {
        q.push(" AND member_id = ").bind(m);
    }
    q.push(" AND id > ")
        .bind(after_id.unwrap_or(0))
        .push(" ORDER BY id LIMIT ")
        .bind(limit);
    q.fetch_all(db).await
}

/// An unclosed period of a member, with its dates.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct OpenPeriodDates {
    pub id: PeriodId,
    pub credential_id: CredentialId,
    pub end_date: NaiveDate,
    pub due_date: NaiveDate,
}

/// The member's unclosed periods.
pub async fn unclosed_periods_of_member(
    db: &mut impl Conn,
    agency_id: AgencyId,
    member_id: MemberId,
) -> Result<Vec<OpenPeriodDates>> {
    query(
        "SELECT p.id, p.credential_id, p.end_date, p.due_date
         FROM completion_periods p JOIN credentials c ON c.agency_id = p.agency_id AND c.id = p.credential_id
         WHERE c.agency_id = $1 AND c.member_id = $2 AND p.closed_at IS NULL ORDER BY p.id",
    )
    .arg(agency_id)
    .arg(member_id)
    .fetch_all(db)
    .await
}

/// The unclosed periods a leave extended, with their dates now and the days it added.
pub async fn extended_by_leave(
    db: &mut impl Conn,
    agency_id: AgencyId,
    leave_id: LeaveId,
) -> Result<Vec<(OpenPeriodDates, i64)>> {
    #[derive(sqlx::FromRow)]
    struct Row {
        id: PeriodId,
        credential_id: CredentialId,
        end_date: NaiveDate,
        due_date: NaiveDate,
        days: i64,
    }
    let rows: Vec<Row> = query(
        "SELECT p.id, p.credential_id, p.end_date, p.due_date, x.days
         FROM leave_extensions x JOIN completion_periods p ON p.agency_id = x.agency_id AND p.id = x.period_id
         WHERE x.agency_id = $1 AND x.leave_id = $2 AND p.closed_at IS NULL ORDER BY p.id",
    )
    .arg(agency_id)
    .arg(leave_id)
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            (
                OpenPeriodDates {
                    id: r.id,
                    credential_id: r.credential_id,
                    end_date: r.end_date,
                    due_date: r.due_date,
                },
                r.days,
            )
        })
        .collect())
}

/// Sets periods' end and due dates. A leave moves one member's handful of periods, so one
/// statement each is fine.
pub async fn set_period_ends(
    tx: &mut Tx,
    agency_id: AgencyId,
    periods: &[(PeriodId, NaiveDate, NaiveDate)],
) -> Result<()> {
    for (id, end, due) in periods {
        query("UPDATE completion_periods SET end_date = $1, due_date = $2 WHERE agency_id = $3 AND id = $4")
            .arg(*end)
            .arg(*due)
            .arg(agency_id)
            .arg(*id)
            .execute(tx)
            .await?;
    }
    Ok(())
}

/// Records which periods a leave extended and by how many days.
pub async fn record_extensions(
    tx: &mut Tx,
    agency_id: AgencyId,
    leave_id: LeaveId,
    periods: &[PeriodId],
    days: i64,
) -> Result<()> {
    for p in periods {
        query("INSERT INTO leave_extensions (agency_id, leave_id, period_id, days) VALUES ($1, $2, $3, $4)")
            .arg(agency_id)
            .arg(leave_id)
            .arg(*p)
            .arg(days)
            .execute(tx)
            .await?;
    }
    Ok(())
}
