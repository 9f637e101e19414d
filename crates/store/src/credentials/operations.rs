//! Bulk actions recorded as operations that can be undone: the operation rows, the history
//! state an undo compares (see `credence_domain::undo`) and the statements that put it back.

use chrono::{DateTime, NaiveDate, Utc};
use credence_domain::ids::{
    AgencyId, CertificateId, CredentialId, IssuanceId, OperationId, PeriodId,
};

use crate::query::{json_ids, json_rows, JsonType};
use crate::{now, query, Conn, Query, Result, Tx};

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct OperationRow {
    pub id: OperationId,
    pub kind: String,
    pub actor: String,
    pub summary: String,
    pub snapshot: String,
    pub touched: String,
    pub after_state: String,
    pub created_at: DateTime<Utc>,
    pub undone_at: Option<DateTime<Utc>>,
    pub undone_by: Option<String>,
}

/// A new operation's row.
pub struct NewOperation<'a> {
    pub kind: &'a str,
    pub actor: &'a str,
    pub summary: &'a str,
    pub snapshot: &'a str,
    pub after_state: &'a str,
    pub touched: &'a str,
}

/// Records an operation whose writes are done, in the same transaction.
pub async fn insert(tx: &mut Tx, agency_id: AgencyId, op: NewOperation<'_>) -> Result<OperationId> {
    query(
        "INSERT INTO operations (agency_id, kind, actor, summary, snapshot, touched, after_state, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
    )
    .arg(agency_id)
    .arg(op.kind)
    .arg(op.actor)
    .arg(op.summary)
    .arg(op.snapshot)
    .arg(op.touched)
    .arg(op.after_state)
    .arg(now())
    .scalar(tx)
    .await
}

const COLUMNS: &str =
    "id, kind, actor, summary, snapshot, touched, after_state, created_at, undone_at, undone_by";

pub async fn operation(
    db: &mut impl Conn,
    agency_id: AgencyId,
    id: OperationId,
) -> Result<Option<OperationRow>> {
    query(format!(
        "SELECT {COLUMNS} FROM operations WHERE agency_id = $1 AND id = $2"
    ))
    .arg(agency_id)
    .arg(id)
    .fetch_optional(db)
    .await
}

/// The agency's operations, newest first, before `before_id` when given.
pub async fn operations_page(
    db: &mut impl Conn,
    agency_id: AgencyId,
    before_id: Option<i64>,
    limit: i64,
) -> Result<Vec<OperationRow>> {
    let mut q = Query::new(format!(
        "SELECT {COLUMNS} FROM operations WHERE agency_id = "
    ));
    q.bind(agency_id);
    if let Some(b) = before_id {
        q.push(" AND id < ").bind(b);
    }
    q.push(" ORDER BY id DESC LIMIT ").bind(limit);
    q.fetch_all(db).await
}

/// Marks it undone, unless it already is; answers whether this call did.
pub async fn mark_undone(
    tx: &mut Tx,
    agency_id: AgencyId,
    id: OperationId,
    by: &str,
) -> Result<bool> {
    let n = query(
        "UPDATE operations SET undone_at = $1, undone_by = $2
         WHERE agency_id = $3 AND id = $4 AND undone_at IS NULL",
    )
    .arg(now())
    .arg(by)
    .arg(agency_id)
    .arg(id)
    .execute(tx)
    .await?;
    Ok(n == 1)
}

/// The part of a period an action changes: whether it is closed.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, serde::Serialize, serde::Deserialize)]
pub struct PeriodState {
    pub id: PeriodId,
    pub closed: bool,
}

/// The part of an issuance an action changes: its correctable fields and revocation.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, serde::Serialize, serde::Deserialize)]
pub struct IssuanceState {
    pub id: IssuanceId,
    pub issue_date: NaiveDate,
    pub expiration_date: Option<NaiveDate>,
    pub credential_number: Option<String>,
    pub issuing_officer: Option<String>,
    pub status_reason: Option<String>,
    pub revoked: bool,
}

/// The part of a certificate an action changes: its state.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, serde::Serialize, serde::Deserialize)]
pub struct CertificateState {
    pub id: CertificateId,
    pub status: String,
}

/// The history of some credentials as an undo compares it. Sign-offs and supporting
/// documents are only ever added, by later work an undo must not discard: their ids are
/// kept so that any new one shows as a later change.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct HistoryState {
    pub credentials: Vec<CredentialId>,
    pub periods: Vec<PeriodState>,
    pub issuances: Vec<IssuanceState>,
    pub certificates: Vec<CertificateState>,
    #[serde(default)]
    pub sign_offs: Vec<i64>,
    #[serde(default)]
    pub documents: Vec<i64>,
}

/// Reads the history state of the credentials (those that exist).
pub async fn history_state(
    db: &mut impl Conn,
    agency_id: AgencyId,
    credential_ids: &[CredentialId],
) -> Result<HistoryState> {
    let mut state = HistoryState::default();
    for chunk in credential_ids.chunks(crate::JSON_BATCH) {
        let ids = crate::query::ids_json(chunk);
        let mut rows = Of {
            db: &mut *db,
            agency_id,
            ids: &ids,
        };
        let credentials: Vec<(CredentialId,)> = rows
            .fetch("SELECT id FROM credentials WHERE +agency_id = $1 AND id IN {set} ORDER BY id")
            .await?;
        state
            .credentials
            .extend(credentials.into_iter().map(|(id,)| id));
        state.periods.extend(
            rows.fetch::<PeriodState>(
                "SELECT id, closed_at IS NOT NULL AS closed FROM completion_periods
                 WHERE agency_id = $1 AND credential_id IN {set} ORDER BY id",
            )
            .await?,
        );
        state.issuances.extend(
            rows.fetch::<IssuanceState>(
                "SELECT id, issue_date, expiration_date, credential_number, issuing_officer, status_reason,
                     revoked_at IS NOT NULL AS revoked
                 FROM issuances WHERE agency_id = $1 AND credential_id IN {set} ORDER BY id",
            )
            .await?,
        );
        state.certificates.extend(
            rows.fetch::<CertificateState>(
                "SELECT id, status FROM certificates WHERE agency_id = $1 AND credential_id IN {set} ORDER BY id",
            )
            .await?,
        );
        let sign_offs: Vec<(i64,)> = rows
            .fetch("SELECT id FROM sign_offs WHERE agency_id = $1 AND credential_id IN {set} ORDER BY id")
            .await?;
        state
            .sign_offs
            .extend(sign_offs.into_iter().map(|(id,)| id));
        let documents: Vec<(i64,)> = rows
            .fetch(
                "SELECT f.id FROM files f JOIN issuances i ON i.id = f.owner_id
                 WHERE f.agency_id = $1 AND f.owner_kind = 'issuance' AND i.credential_id IN {set} ORDER BY f.id",
            )
            .await?;
        state
            .documents
            .extend(documents.into_iter().map(|(id,)| id));
    }
    Ok(state)
}

/// Rows about one batch of credentials: `$1` the agency, `{set}` the credential ids.
struct Of<'a, C> {
    db: &'a mut C,
    agency_id: AgencyId,
    ids: &'a str,
}

impl<C: Conn> Of<'_, C> {
    async fn fetch<T: crate::query::Record>(&mut self, sql: &str) -> Result<Vec<T>> {
        let set = json_ids(self.db.backend(), "$2");
        query(sql.replace("{set}", &set))
            .arg(self.agency_id)
            .arg(self.ids)
            .fetch_all(self.db)
            .await
    }
}

/// `DELETE FROM table WHERE id IN ids` (the agency's rows only), in batches.
///
/// Statements by id write `+agency_id` so that SQLite looks rows up by primary key: with the
/// agency's index it scanned the agency once per id (a 10,000-issuance undo took minutes,
/// bench/results-undo.md).
async fn delete_rows(tx: &mut Tx, table: &str, agency_id: AgencyId, ids: &[i64]) -> Result<()> {
    for chunk in ids.chunks(crate::JSON_BATCH) {
        let set = json_ids(tx.backend(), "$2");
        query(format!(
            "DELETE FROM {table} WHERE +agency_id = $1 AND id IN {set}"
        ))
        .arg(agency_id)
        .arg(crate::query::ids_json(chunk))
        .execute(tx)
        .await?;
    }
    Ok(())
}

/// What an undo removes: rows the action added, children before parents.
pub struct Removals<'a> {
    pub sign_offs: &'a [i64],
    pub certificates: &'a [i64],
    pub issuances: &'a [i64],
    pub periods: &'a [i64],
    pub credentials: &'a [i64],
}

pub async fn remove_added(tx: &mut Tx, agency_id: AgencyId, r: Removals<'_>) -> Result<()> {
    delete_rows(tx, "sign_offs", agency_id, r.sign_offs).await?;
    delete_rows(tx, "certificates", agency_id, r.certificates).await?;
    delete_rows(tx, "issuances", agency_id, r.issuances).await?;
    delete_rows(tx, "completion_periods", agency_id, r.periods).await?;
    delete_rows(tx, "credentials", agency_id, r.credentials).await?;
    Ok(())
}

/// Reopens periods an action closed.
pub async fn reopen_periods(tx: &mut Tx, agency_id: AgencyId, ids: &[i64]) -> Result<()> {
    for chunk in ids.chunks(crate::JSON_BATCH) {
        let set = json_ids(tx.backend(), "$2");
        query(format!(
            "UPDATE completion_periods SET closed_at = NULL, closed_by_issuance_id = NULL
             WHERE +agency_id = $1 AND id IN {set}"
        ))
        .arg(agency_id)
        .arg(crate::query::ids_json(chunk))
        .execute(tx)
        .await?;
    }
    Ok(())
}

/// Puts issuances' fields back; one the action revoked is valid again.
pub async fn restore_issuances(
    tx: &mut Tx,
    agency_id: AgencyId,
    rows: &[IssuanceState],
) -> Result<()> {
    use JsonType::{BigInt, Bool, Date, Text};
    let source = json_rows(
        tx.backend(),
        "$2",
        &[
            ("id", BigInt),
            ("issue_date", Date),
            ("expiration_date", Date),
            ("credential_number", Text),
            ("issuing_officer", Text),
            ("status_reason", Text),
            ("revoked", Bool),
        ],
    );
    let sql = format!(
        "UPDATE issuances SET issue_date = v.issue_date, expiration_date = v.expiration_date,
             credential_number = v.credential_number, issuing_officer = v.issuing_officer,
             status_reason = v.status_reason,
             revoked_at = CASE WHEN v.revoked THEN revoked_at END,
             revoke_reason = CASE WHEN v.revoked THEN revoke_reason END
         FROM {source} AS v WHERE issuances.id = v.id AND +issuances.agency_id = $1"
    );
    for chunk in rows.chunks(crate::JSON_BATCH) {
        let cells: Vec<serde_json::Value> = chunk
            .iter()
            .map(|r| {
                crate::cells![
                    r.id,
                    r.issue_date.to_string(),
                    r.expiration_date.map(|d| d.to_string()),
                    r.credential_number,
                    r.issuing_officer,
                    r.status_reason,
                    r.revoked
                ]
            })
            .collect();
        query(sql.as_str())
            .arg(agency_id)
            .arg(serde_json::Value::from(cells).to_string())
            .execute(tx)
            .await?;
    }
    Ok(())
}

/// Puts certificates' states back.
pub async fn restore_certificates(
    tx: &mut Tx,
    agency_id: AgencyId,
    rows: &[CertificateState],
) -> Result<()> {
    use JsonType::{BigInt, Text};
    let source = json_rows(tx.backend(), "$2", &[("id", BigInt), ("status", Text)]);
    let sql = format!(
        "UPDATE certificates SET status = v.status
         FROM {source} AS v WHERE certificates.id = v.id AND +certificates.agency_id = $1"
    );
    for chunk in rows.chunks(crate::JSON_BATCH) {
        let cells: Vec<serde_json::Value> = chunk
            .iter()
            .map(|r| crate::cells![r.id, r.status])
            .collect();
        query(sql.as_str())
            .arg(agency_id)
            .arg(serde_json::Value::from(cells).to_string())
            .execute(tx)
            .await?;
    }
    Ok(())
}
