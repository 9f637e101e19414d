//! What the daily sweep reads: credentials whose stored status may have gone stale.

use super::*;
use credence_domain::ids::{self as ids, AgencyId, CredentialId, CredentialTypeId};

/// What the sweep reads of a credential: the stored facts its status is computed from,
/// and the computed values stored last time.
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
pub struct SweepRow {
    #[serde(deserialize_with = "ids::row")]
    pub id: CredentialId,
    #[serde(deserialize_with = "ids::row")]
    pub credential_type_id: CredentialTypeId,
    pub status: Stored<Status>,
    pub progress: i64,
    #[serde(deserialize_with = "flag")]
    pub expiring_soon: bool,
    pub status_changes_on: Option<NaiveDate>,
    pub issue_date: Option<NaiveDate>,
    pub expiration_date: Option<NaiveDate>,
    #[serde(deserialize_with = "flag")]
    pub revoked: bool,
    pub period_start: Option<NaiveDate>,
    pub period_end: Option<NaiveDate>,
}

/// The columns of [`SweepRow`], in its order.
const SWEEP_COLUMNS: &str =
    "id, credential_type_id, status, progress, expiring_soon, status_changes_on,
    issue_date, expiration_date, revoked, period_start, period_end";

/// Credentials whose stored status may be stale on `today`, in id order after `after_id`;
/// a batch is read as one JSON value (see [`fetch_json`]).
pub async fn due_for_sweep(
    db: &mut impl Conn,
    agency_id: AgencyId,
    today: NaiveDate,
    after_id: i64,
    limit: i64,
) -> Result<Vec<SweepRow>> {
    let mut q = Query::new(format!(
        "SELECT {SWEEP_COLUMNS} FROM credentials
         WHERE agency_id = $1 AND status_changes_on <= $2 AND id > $3 ORDER BY id LIMIT $4"
    ));
    q.args = vec![
        agency_id.into(),
        today.into(),
        after_id.into(),
        limit.into(),
    ];
    let mut rows: Vec<SweepRow> = fetch_json(db, SWEEP_COLUMNS, &q).await?;
    rows.sort_unstable_by_key(|r| r.id);
    Ok(rows)
}

/// Credentials whose expiring-soon flag and next change depend on the agency's window (an
/// unrevoked issuance with an expiration date), in id order after `after_id`; read as
/// [`due_for_sweep`] reads.
pub async fn with_expiration(
    db: &mut impl Conn,
    agency_id: AgencyId,
    after_id: i64,
    limit: i64,
) -> Result<Vec<SweepRow>> {
    let mut q = Query::new(format!(
        "SELECT {SWEEP_COLUMNS} FROM credentials
         WHERE agency_id = $1 AND expiration_date IS NOT NULL AND revoked = FALSE AND id > $2
         ORDER BY id LIMIT $3"
    ));
    q.args = vec![agency_id.into(), after_id.into(), limit.into()];
    let mut rows: Vec<SweepRow> = fetch_json(db, SWEEP_COLUMNS, &q).await?;
    rows.sort_unstable_by_key(|r| r.id);
    Ok(rows)
}
