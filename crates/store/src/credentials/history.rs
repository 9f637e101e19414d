//! History rows: completion periods and issuances, only ever added, closed or corrected.

use super::*;
use credence_domain::ids::{
    AgencyId, CredentialId, CredentialTypeId, IssuanceId, PeriodId, RenewalPlanId,
};

/// The dates of a new completion period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PeriodDates {
    pub start: NaiveDate,
    pub end: NaiveDate,
    pub due: NaiveDate,
}

/// Opens the same period for every credential; with `opened_by_current_issuance`, records
/// the credential's current issuance as the one that opened it (a renewal period).
pub async fn open_periods(
    tx: &mut Tx,
    agency_id: AgencyId,
    credential_ids: &[CredentialId],
    dates: PeriodDates,
    opened_by_current_issuance: bool,
    renewal_plan_id: Option<RenewalPlanId>,
) -> Result<()> {
    let at = now();
    execute_in_batches(tx, credential_ids, |chunk| {
        let mut q = Query::new(
            "INSERT INTO completion_periods (agency_id, credential_id, start_date, end_date, due_date, opened_by_issuance_id, renewal_plan_id, created_at)
             SELECT agency_id, id, ",
        );
        q.bind(dates.start)
            .push(", ")
            .bind(dates.end)
            .push(", ")
            .bind(dates.due)
            .push(", ");
        q.push(if opened_by_current_issuance {
            "(SELECT MAX(i.id) FROM issuances i WHERE i.agency_id = credentials.agency_id AND i.credential_id = credentials.id)"
        } else {
            "NULL"
        })
        .push(", ");
        q.bind(renewal_plan_id).push(", ").bind(at);
        q.push(" FROM credentials WHERE +agency_id = ")
            .bind(agency_id)
            .push(" AND id IN ")
            .bind_ids(chunk);
        q
    })
    .await?;
    Ok(())
}

/// One period per credential, each with its own dates (renewal plans, auto renewal);
/// answers the new periods' ids as `(credential_id, period_id)`. All rows go in one
/// statement per [`crate::JSON_BATCH`] (see [`json_rows`]).
pub async fn open_period_each(
    tx: &mut Tx,
    agency_id: AgencyId,
    items: &[(CredentialId, PeriodDates)],
    opened_by_current_issuance: bool,
    renewal_plan_id: Option<RenewalPlanId>,
) -> Result<Vec<(CredentialId, PeriodId)>> {
    use JsonType::{BigInt, Date};
    let source = json_rows(
        tx.backend(),
        "$2",
        &[
            ("credential_id", BigInt),
            ("start_date", Date),
            ("end_date", Date),
            ("due_date", Date),
        ],
    );
    let opened_by = if opened_by_current_issuance {
        "(SELECT MAX(i.id) FROM issuances i WHERE i.agency_id = $1 AND i.credential_id = v.credential_id)"
    } else {
        "NULL"
    };
    let sql = format!(
        "INSERT INTO completion_periods (agency_id, credential_id, start_date, end_date, due_date,
             opened_by_issuance_id, renewal_plan_id, created_at)
         SELECT $1, v.credential_id, v.start_date, v.end_date, v.due_date, {opened_by}, $3, $4
         FROM {source} AS v
         RETURNING credential_id, id"
    );
    let at = now();
    let mut opened = Vec::with_capacity(items.len());
    for chunk in items.chunks(crate::JSON_BATCH) {
        let rows: Vec<serde_json::Value> = chunk
            .iter()
            .map(|(credential_id, d)| {
                crate::cells![
                    credential_id,
                    d.start.to_string(),
                    d.end.to_string(),
                    d.due.to_string()
                ]
            })
            .collect();
        let mut q = Query::new(sql.as_str());
        q.args = vec![
            agency_id.into(),
            serde_json::Value::from(rows).to_string().into(),
            renewal_plan_id.into(),
            at.into(),
        ];
        let rows: Vec<(CredentialId, PeriodId)> = q.fetch_all(tx).await?;
        opened.extend(rows);
    }
    Ok(opened)
}

/// Closes the unclosed periods of these credentials (issuing closes the period it answers),
/// thousands per statement (see [`json_ids`]).
pub async fn close_periods(
    tx: &mut Tx,
    agency_id: AgencyId,
    credential_ids: &[CredentialId],
    closed_by_latest_issuance: bool,
) -> Result<()> {
    let closed_by = if closed_by_latest_issuance {
        ", closed_by_issuance_id = (SELECT MAX(i.id) FROM issuances i WHERE i.agency_id = completion_periods.agency_id AND i.credential_id = completion_periods.credential_id)"
    } else {
        ""
    };
    let ids = json_ids(tx.backend(), "$3");
    let sql = format!(
        "UPDATE completion_periods SET closed_at = $1{closed_by}
         WHERE agency_id = $2 AND closed_at IS NULL AND credential_id IN {ids}"
    );
    for chunk in credential_ids.chunks(crate::JSON_BATCH) {
        let mut q = Query::new(sql.as_str());
        q.args = vec![
            now().into(),
            agency_id.into(),
            crate::query::ids_json(chunk).into(),
        ];
        q.execute(tx).await?;
    }
    Ok(())
}

/// A new issuance.
#[derive(Debug, Clone, PartialEq)]
pub struct NewIssuance {
    pub credential_id: CredentialId,
    pub issue_date: NaiveDate,
    pub expiration_date: Option<NaiveDate>,
    pub credential_number: Option<String>,
    pub issuing_officer: Option<String>,
    pub status_reason: Option<String>,
    /// Set when an administrator issued over incomplete requirements.
    pub override_reason: Option<String>,
    /// The exemptions in force when it was issued, in words.
    pub exemption_note: Option<String>,
}

pub async fn insert_issuances(
    tx: &mut Tx,
    agency_id: AgencyId,
    type_id: CredentialTypeId,
    items: &[NewIssuance],
    created_by: &str,
) -> Result<()> {
    use JsonType::{BigInt, Date, Text};
    let source = json_rows(
        tx.backend(),
        "$2",
        &[
            ("credential_id", BigInt),
            ("issue_date", Date),
            ("expiration_date", Date),
            ("credential_number", Text),
            ("issuing_officer", Text),
            ("status_reason", Text),
            ("override_reason", Text),
            ("exemption_note", Text),
        ],
    );
    let sql = format!(
        "INSERT INTO issuances (agency_id, credential_id, credential_type_id, issue_date, expiration_date, credential_number,
             issuing_officer, status_reason, override_reason, exemption_note, created_by, created_at)
         SELECT $1, v.credential_id, $3, v.issue_date, v.expiration_date, v.credential_number, v.issuing_officer,
             v.status_reason, v.override_reason, v.exemption_note, $4, $5
         FROM {source} AS v ORDER BY v.ord"
    );
    let at = now();
    for chunk in items.chunks(crate::JSON_BATCH) {
        let rows: Vec<serde_json::Value> = chunk
            .iter()
            .map(|n| {
                crate::cells![
                    n.credential_id,
                    n.issue_date.to_string(),
                    n.expiration_date.map(|d| d.to_string()),
                    n.credential_number,
                    n.issuing_officer,
                    n.status_reason,
                    n.override_reason,
                    n.exemption_note
                ]
            })
            .collect();
        query(sql.as_str())
            .arg(agency_id)
            .arg(serde_json::Value::from(rows).to_string())
            .arg(type_id)
            .arg(created_by)
            .arg(at)
            .execute(tx)
            .await?;
    }
    Ok(())
}

/// Changes fields of existing issuances in place (a correction, not a new issuance).
pub async fn amend_issuance(
    tx: &mut Tx,
    agency_id: AgencyId,
    issuance_id: IssuanceId,
    fields: &[(&str, Arg)],
) -> Result<()> {
    if fields.is_empty() {
        return Ok(());
    }
    let mut q = Query::new("UPDATE issuances SET ");
    for (i, (column, value)) in fields.iter().enumerate() {
        if i > 0 {
            q.push(", ");
        }
        q.push(column).push(" = ").bind(value.clone());
    }
    q.push(" WHERE agency_id = ")
        .bind(agency_id)
        .push(" AND id = ")
        .bind(issuance_id);
    q.execute(tx).await?;
    Ok(())
}

/// Marks these issuances revoked with `reason`; ones already revoked keep their first reason.
pub async fn revoke_issuances(
    tx: &mut Tx,
    agency_id: AgencyId,
    issuance_ids: &[IssuanceId],
    reason: &str,
) -> Result<u64> {
    let at = now();
    execute_in_batches(tx, issuance_ids, |batch| {
        let mut q = Query::new("UPDATE issuances SET revoked_at = ");
        q.bind(at).push(", revoke_reason = ").bind(reason);
        q.push(" WHERE +agency_id = ")
            .bind(agency_id)
            .push(" AND revoked_at IS NULL AND id IN ")
            .bind_ids(batch);
        q
    })
    .await
}

/// Reserves `count` consecutive numbers of the type's sequence; returns the first.
pub async fn reserve_numbers(
    tx: &mut Tx,
    agency_id: AgencyId,
    type_id: CredentialTypeId,
    count: i64,
) -> Result<i64> {
    let next: i64 = query("UPDATE credential_types SET next_number = next_number + $1 WHERE agency_id = $2 AND id = $3 RETURNING next_number").arg(count).arg(agency_id).arg(type_id)
        .scalar(tx).await?;
    Ok(next - count)
}

/// Of `numbers`, those already used by an issuance of the type.
pub async fn used_numbers(
    db: &mut impl Conn,
    agency_id: AgencyId,
    type_id: CredentialTypeId,
    numbers: &[String],
) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for chunk in numbers.chunks(crate::JSON_BATCH) {
        let mut q = Query::new("SELECT credential_number FROM issuances WHERE agency_id = ");
        q.bind(agency_id)
            .push(" AND credential_type_id = ")
            .bind(type_id)
            .push(" AND credential_number IN ")
            .bind_json_texts(db.backend(), chunk);
        out.extend(q.scalars::<String>(db).await?);
    }
    Ok(out)
}

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct PeriodRow {
    pub id: PeriodId,
    pub credential_id: CredentialId,
    pub start_date: NaiveDate,
    pub end_date: NaiveDate,
    pub due_date: NaiveDate,
    pub opened_by_issuance_id: Option<IssuanceId>,
    pub renewal_plan_id: Option<RenewalPlanId>,
    pub closed_at: Option<DateTime<Utc>>,
    pub closed_by_issuance_id: Option<IssuanceId>,
    pub opened_by_issue_date: Option<NaiveDate>,
}

/// Periods by id, with the issue date of the issuance that opened each.
pub async fn periods_by_ids(
    db: &mut impl Conn,
    agency_id: AgencyId,
    ids: &[PeriodId],
) -> Result<Vec<PeriodRow>> {
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(crate::JSON_BATCH) {
        let q = period_query(db.backend(), agency_id, "p.id", chunk);
        let rows: Vec<PeriodRow> = q.fetch_all(db).await?;
        out.extend(rows);
    }
    Ok(out)
}

pub async fn periods_of(
    db: &mut impl Conn,
    agency_id: AgencyId,
    credential_id: CredentialId,
) -> Result<Vec<PeriodRow>> {
    periods_of_credentials(db, agency_id, &[credential_id]).await
}

/// The periods of every credential in `credential_ids`, in id order.
pub async fn periods_of_credentials(
    db: &mut impl Conn,
    agency_id: AgencyId,
    credential_ids: &[CredentialId],
) -> Result<Vec<PeriodRow>> {
    let mut out = Vec::new();
    for batch in credential_ids.chunks(crate::JSON_BATCH) {
        let q = period_query(db.backend(), agency_id, "p.credential_id", batch);
        out.extend(q.fetch_all::<PeriodRow>(db).await?);
    }
    Ok(out)
}

fn period_query<I: crate::query::RowId>(
    backend: Backend,
    agency_id: AgencyId,
    column: &str,
    ids: &[I],
) -> Query {
    // By primary key, the tenant test must not pick the agency-wide index (see
    // `credentials_by_ids`).
    let tenant = if column == "p.id" {
        "+p.agency_id"
    } else {
        "p.agency_id"
    };
    let mut q = Query::new(format!(
        "SELECT p.id, p.credential_id, p.start_date, p.end_date, p.due_date, p.opened_by_issuance_id, p.renewal_plan_id,
             p.closed_at, p.closed_by_issuance_id, i.issue_date AS opened_by_issue_date
         FROM completion_periods p LEFT JOIN issuances i ON i.id = p.opened_by_issuance_id
         WHERE {tenant} = "
    ));
    q.bind(agency_id)
        .push(" AND ")
        .push(column)
        .push(" IN ")
        .bind_json_ids(backend, ids)
        .push(" ORDER BY p.id");
    q
}

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct IssuanceRow {
    pub id: IssuanceId,
    pub credential_id: CredentialId,
    pub issue_date: NaiveDate,
    pub expiration_date: Option<NaiveDate>,
    pub credential_number: Option<String>,
    pub issuing_officer: Option<String>,
    pub status_reason: Option<String>,
    pub override_reason: Option<String>,
    pub exemption_note: Option<String>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub revoke_reason: Option<String>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
}

pub async fn issuances_of(
    db: &mut impl Conn,
    agency_id: AgencyId,
    credential_id: CredentialId,
) -> Result<Vec<IssuanceRow>> {
    issuances_of_credentials(db, agency_id, &[credential_id]).await
}

/// The issuances of every credential in `credential_ids`, in id order.
pub async fn issuances_of_credentials(
    db: &mut impl Conn,
    agency_id: AgencyId,
    credential_ids: &[CredentialId],
) -> Result<Vec<IssuanceRow>> {
    let mut out = Vec::new();
    for batch in credential_ids.chunks(crate::JSON_BATCH) {
        let mut q = Query::new(
            "SELECT id, credential_id, issue_date, expiration_date, credential_number, issuing_officer, status_reason,
                 override_reason, exemption_note, revoked_at, revoke_reason, created_by, created_at
             FROM issuances WHERE agency_id = ",
        );
        q.bind(agency_id)
            .push(" AND credential_id IN ")
            .bind_json_ids(db.backend(), batch)
            .push(" ORDER BY id");
        out.extend(q.fetch_all::<IssuanceRow>(db).await?);
    }
    Ok(out)
}
