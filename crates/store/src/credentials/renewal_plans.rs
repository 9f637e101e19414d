//! Renewal plans (seed 001): one per credential type, which later renewals join.

use chrono::{DateTime, NaiveDate, Utc};
use credence_domain::ids::{
    AgencyId, CredentialId, CredentialTypeId, MemberId, PeriodId, RenewalPlanId,
};

use crate::credentials::CredentialRow;
use crate::{now, query, Conn, Result, Tx};

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Plan {
    pub id: RenewalPlanId,
    pub credential_type_id: CredentialTypeId,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
}

/// Credentials of the type that expired or expire by `until` (revoked ones excluded),
/// soonest first.
pub async fn candidates(
    db: &mut impl Conn,
    agency_id: AgencyId,
    type_id: CredentialTypeId,
    until: NaiveDate,
) -> Result<Vec<CredentialRow>> {
    query("SELECT c.id, c.member_id, c.credential_type_id, c.status, c.progress, c.expiring_soon, c.status_changes_on,
             c.issuance_id, c.issue_date, c.expiration_date, c.revoked, c.withdrawn, c.period_id, c.period_start, c.period_end, c.due_date,
             c.version, c.member_sort_name, c.created_at, c.updated_at
         FROM credentials c
         WHERE c.agency_id = $1 AND c.credential_type_id = $2 AND c.expiration_date <= $3 AND c.revoked = FALSE
         ORDER BY c.expiration_date, c.id").arg(agency_id).arg(type_id).arg(until)
        .fetch_all(db).await
}

pub async fn plan_for_type(
    db: &mut impl Conn,
    agency_id: AgencyId,
    type_id: CredentialTypeId,
) -> Result<Option<Plan>> {
    query("SELECT id, credential_type_id, created_by, created_at FROM renewal_plans WHERE agency_id = $1 AND credential_type_id = $2").arg(agency_id).arg(type_id)
        .fetch_optional(db).await
}

pub async fn plan(
    db: &mut impl Conn,
    agency_id: AgencyId,
    id: RenewalPlanId,
) -> Result<Option<Plan>> {
    query("SELECT id, credential_type_id, created_by, created_at FROM renewal_plans WHERE agency_id = $1 AND id = $2").arg(agency_id).arg(id)
        .fetch_optional(db).await
}

/// The type's plan, created on first use; concurrent first uses meet at the unique key.
pub async fn ensure_plan(
    tx: &mut Tx,
    agency_id: AgencyId,
    type_id: CredentialTypeId,
    created_by: &str,
) -> Result<Plan> {
    query("INSERT INTO renewal_plans (agency_id, credential_type_id, created_by, created_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (agency_id, credential_type_id) DO NOTHING").arg(agency_id).arg(type_id).arg(created_by).arg(now())
        .execute(tx).await?;
    plan_for_type(tx, agency_id, type_id)
        .await?
        .ok_or(crate::StoreError::Database(sqlx::Error::RowNotFound))
}

/// One renewal in a plan: the period it opened and where the credential stands now.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct PlanEntry {
    pub period_id: PeriodId,
    pub credential_id: CredentialId,
    pub member_id: MemberId,
    pub start_date: NaiveDate,
    pub end_date: NaiveDate,
    pub due_date: NaiveDate,
    pub closed: bool,
    pub status: String,
    pub progress: i64,
}

pub async fn plan_entries(
    db: &mut impl Conn,
    agency_id: AgencyId,
    plan_id: RenewalPlanId,
) -> Result<Vec<PlanEntry>> {
    query("SELECT p.id AS period_id, p.credential_id, c.member_id, p.start_date, p.end_date, p.due_date,
             p.closed_at IS NOT NULL AS closed, c.status, c.progress
         FROM completion_periods p JOIN credentials c ON c.id = p.credential_id
         WHERE p.agency_id = $1 AND p.renewal_plan_id = $2 ORDER BY c.member_sort_name, p.id").arg(agency_id).arg(plan_id)
        .fetch_all(db).await
}

/// Of these credentials, those whose unclosed period a renewal plan opened, with its end.
pub async fn plan_periods_of(
    db: &mut impl Conn,
    agency_id: AgencyId,
    credential_ids: &[CredentialId],
) -> Result<Vec<(CredentialId, NaiveDate)>> {
    let mut out = Vec::new();
    crate::query::fetch_in_batches(
        db,
        credential_ids,
        |chunk| {
            let mut q = crate::Query::new(
                "SELECT credential_id, end_date FROM completion_periods WHERE agency_id = ",
            );
            q.bind(agency_id)
                .push(
                    " AND closed_at IS NULL AND renewal_plan_id IS NOT NULL AND credential_id IN ",
                )
                .bind_ids(chunk);
            q
        },
        |rows: Vec<(CredentialId, NaiveDate)>| out.extend(rows),
    )
    .await?;
    Ok(out)
}
