//! The credential row's copy of its history (latest issuance, open period) and its computed status.

use super::*;
use credence_domain::ids::{AgencyId, CredentialId, PeriodId};

/// Points each credential at its latest issuance and its unclosed period. Only id columns
/// change (no index covers them), so PostgreSQL can update in place.
pub async fn sync_ids(
    tx: &mut Tx,
    agency_id: AgencyId,
    credential_ids: &[CredentialId],
) -> Result<()> {
    execute_in_batches(tx, credential_ids, |chunk| {
        let mut q = Query::new(
            "UPDATE credentials SET
                 issuance_id = (SELECT MAX(i.id) FROM issuances i WHERE i.agency_id = credentials.agency_id AND i.credential_id = credentials.id),
                 period_id = (SELECT MAX(p.id) FROM completion_periods p
                              WHERE p.agency_id = credentials.agency_id AND p.credential_id = credentials.id AND p.closed_at IS NULL)
             WHERE +agency_id = ",
        );
        q.bind(agency_id)
            .push(" AND id IN ")
            .bind_ids(chunk);
        q
    })
    .await?;
    Ok(())
}

/// Copies the latest issuance and the unclosed period of each credential onto its row.
pub async fn sync_facts(
    tx: &mut Tx,
    agency_id: AgencyId,
    credential_ids: &[CredentialId],
) -> Result<()> {
    sync_ids(tx, agency_id, credential_ids).await?;
    execute_in_batches(tx, credential_ids, |chunk| {
        let mut q = Query::new(
            "UPDATE credentials SET
                 issue_date = (SELECT i.issue_date FROM issuances i WHERE i.id = credentials.issuance_id),
                 expiration_date = (SELECT i.expiration_date FROM issuances i WHERE i.id = credentials.issuance_id),
                 revoked = COALESCE((SELECT i.revoked_at IS NOT NULL FROM issuances i WHERE i.id = credentials.issuance_id), FALSE),
                 period_start = (SELECT p.start_date FROM completion_periods p WHERE p.id = credentials.period_id),
                 period_end = (SELECT p.end_date FROM completion_periods p WHERE p.id = credentials.period_id),
                 due_date = (SELECT p.due_date FROM completion_periods p WHERE p.id = credentials.period_id)
             WHERE +agency_id = ",
        );
        q.bind(agency_id)
            .push(" AND id IN ")
            .bind_ids(chunk);
        q
    })
    .await?;
    Ok(())
}

/// The computed part of a credential row.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Computed {
    pub status: Status,
    pub status_rank: i64,
    pub progress: i64,
    pub expiring_soon: bool,
    pub status_changes_on: Option<NaiveDate>,
}

/// Writes each credential's computed values, thousands of rows per statement (see
/// [`json_rows`]).
pub async fn set_computed(
    tx: &mut Tx,
    agency_id: AgencyId,
    items: &[(CredentialId, Computed)],
) -> Result<()> {
    let source = json_rows(tx.backend(), "$2", &computed_columns());
    let sql = format!(
        "UPDATE credentials SET {COMPUTED_SET}
         FROM {source} AS v WHERE credentials.id = v.id AND +credentials.agency_id = $3"
    );
    let rows = items.iter().map(|(id, c)| computed_row(*id, c));
    write_json_rows(tx, &sql, agency_id, rows).await
}

/// A credential's new open period and the values computed with it.
#[derive(Debug, Clone, PartialEq)]
pub struct PeriodAndComputed {
    pub credential_id: CredentialId,
    pub period_id: PeriodId,
    pub period: PeriodDates,
    pub computed: Computed,
}

/// Points each credential at its new open period and writes the values computed with it,
/// in one write per row (a renewal would otherwise rewrite each row, and its indexes,
/// twice: once for the period, once for the status).
pub async fn set_period_and_computed(
    tx: &mut Tx,
    agency_id: AgencyId,
    items: &[PeriodAndComputed],
) -> Result<()> {
    use JsonType::{BigInt, Date};
    let mut columns = computed_columns().to_vec();
    columns.extend([
        ("period_id", BigInt),
        ("period_start", Date),
        ("period_end", Date),
        ("due_date", Date),
    ]);
    let source = json_rows(tx.backend(), "$2", &columns);
    let sql = format!(
        "UPDATE credentials SET {COMPUTED_SET}, period_id = v.period_id, period_start = v.period_start,
             period_end = v.period_end, due_date = v.due_date
         FROM {source} AS v WHERE credentials.id = v.id AND +credentials.agency_id = $3"
    );
    let rows = items.iter().map(|item| {
        let mut row = computed_row(item.credential_id, &item.computed);
        let d = item.period;
        row.extend([
            item.period_id.get().into(),
            d.start.to_string().into(),
            d.end.to_string().into(),
            d.due.to_string().into(),
        ]);
        row
    });
    write_json_rows(tx, &sql, agency_id, rows).await
}

/// The credentials as rows whose history columns (latest issuance, unclosed period) are read
/// from the history tables instead of the row's own copy: what [`sync_facts`] would write,
/// without writing it, so that [`set_facts_and_computed`] can write them together with the
/// status computed from them.
pub async fn credentials_from_history(
    db: &mut impl Conn,
    agency_id: AgencyId,
    ids: &[CredentialId],
) -> Result<Vec<CredentialRow>> {
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(crate::JSON_BATCH) {
        let mut q = Query::new(
            "SELECT c.id, c.member_id, c.credential_type_id, c.status, c.progress, c.expiring_soon,
                 c.status_changes_on, i.id AS issuance_id, i.issue_date, i.expiration_date,
                 COALESCE(i.revoked_at IS NOT NULL, FALSE) AS revoked, c.withdrawn,
                 p.id AS period_id, p.start_date AS period_start, p.end_date AS period_end, p.due_date,
                 c.version, c.member_sort_name, c.created_at, c.updated_at
             FROM credentials c
             LEFT JOIN issuances i ON i.id = (SELECT MAX(x.id) FROM issuances x
                 WHERE x.agency_id = c.agency_id AND x.credential_id = c.id)
             LEFT JOIN completion_periods p ON p.id = (SELECT MAX(y.id) FROM completion_periods y
                 WHERE y.agency_id = c.agency_id AND y.credential_id = c.id AND y.closed_at IS NULL)
             WHERE +c.agency_id = ",
        );
        q.bind(agency_id)
            .push(" AND c.id IN ")
            .bind_json_ids(db.backend(), chunk);
        let rows: Vec<CredentialRow> = match db.backend() {
            Backend::Sqlite => super::fetch_json(db, super::ROW_FIELDS, &q).await?,
            Backend::Postgres => q.fetch_all(db).await?,
        };
        out.extend(rows);
    }
    out.sort_unstable_by_key(|r| r.id);
    Ok(out)
}

/// Writes each row's history columns (as [`credentials_from_history`] read them) and its
/// computed values in one write per row: on PostgreSQL every UPDATE writes a new version of
/// the row and its index entries, and syncing the facts and then the status was three.
pub async fn set_facts_and_computed(
    tx: &mut Tx,
    agency_id: AgencyId,
    items: &[(&CredentialRow, Computed)],
) -> Result<()> {
    use JsonType::{BigInt, Bool, Date};
    let mut columns = computed_columns().to_vec();
    columns.extend([
        ("issuance_id", BigInt),
        ("issue_date", Date),
        ("expiration_date", Date),
        ("revoked", Bool),
        ("period_id", BigInt),
        ("period_start", Date),
        ("period_end", Date),
        ("due_date", Date),
    ]);
    let source = json_rows(tx.backend(), "$2", &columns);
    let sql = format!(
        "UPDATE credentials SET {COMPUTED_SET}, issuance_id = v.issuance_id, issue_date = v.issue_date,
             expiration_date = v.expiration_date, revoked = v.revoked, period_id = v.period_id,
             period_start = v.period_start, period_end = v.period_end, due_date = v.due_date
         FROM {source} AS v WHERE credentials.id = v.id AND +credentials.agency_id = $3"
    );
    let date = |d: Option<NaiveDate>| serde_json::Value::from(d.map(|d| d.to_string()));
    let rows = items.iter().map(|(row, computed)| {
        let mut out = computed_row(row.id, computed);
        out.extend([
            row.issuance_id.map(|i| i.get()).into(),
            date(row.issue_date),
            date(row.expiration_date),
            row.revoked.into(),
            row.period_id.map(|p| p.get()).into(),
            date(row.period_start),
            date(row.period_end),
            date(row.due_date),
        ]);
        out
    });
    write_json_rows(tx, &sql, agency_id, rows).await
}

/// The columns of [`computed_row`], in its order.
fn computed_columns() -> [(&'static str, JsonType); 6] {
    use JsonType::{BigInt, Bool, Date, Text};
    [
        ("id", BigInt),
        ("status", Text),
        ("status_rank", BigInt),
        ("progress", BigInt),
        ("expiring_soon", Bool),
        ("status_changes_on", Date),
    ]
}

/// The `SET` list writing [`computed_columns`] from `v`; `$1` is the time of the write.
const COMPUTED_SET: &str = "status = v.status, status_rank = v.status_rank, progress = v.progress,
     expiring_soon = v.expiring_soon, status_changes_on = v.status_changes_on,
     version = version + 1, updated_at = $1";

/// One credential's id and computed values as a JSON row.
fn computed_row(id: CredentialId, c: &Computed) -> Vec<serde_json::Value> {
    vec![
        id.get().into(),
        c.status.as_str().into(),
        c.status_rank.into(),
        c.progress.into(),
        c.expiring_soon.into(),
        c.status_changes_on.map(|d| d.to_string()).into(),
    ]
}

/// Runs `sql` (`$1` the time, `$2` the JSON rows, `$3` the agency) over the rows, a few
/// thousand per statement.
async fn write_json_rows(
    tx: &mut Tx,
    sql: &str,
    agency_id: AgencyId,
    rows: impl Iterator<Item = Vec<serde_json::Value>>,
) -> Result<()> {
    let at = now();
    let rows: Vec<serde_json::Value> = rows.map(serde_json::Value::from).collect();
    for chunk in rows.chunks(crate::JSON_BATCH) {
        let mut q = Query::new(sql);
        q.args = vec![
            at.into(),
            serde_json::Value::from(chunk).to_string().into(),
            agency_id.into(),
        ];
        q.execute(tx).await?;
    }
    Ok(())
}
