//! Spreadsheet imports as previewed and committed (see migration 0023): the rows a preview
//! parsed and validated wait here until the commit writes them.

use chrono::{DateTime, Utc};
use credence_domain::ids::{AgencyId, ImportId};

use crate::{now, query, Conn, Result, Tx};

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct ImportRow {
    pub id: ImportId,
    pub kind: String,
    pub status: String,
    pub file_name: String,
    pub row_count: i64,
    pub created_count: i64,
    pub updated_count: i64,
    pub unchanged_count: i64,
    pub errors: String,
    pub payload: String,
    pub sample: String,
    pub actor: String,
    pub created_at: DateTime<Utc>,
    pub committed_at: Option<DateTime<Utc>>,
}

/// A preview's row.
pub struct NewImport<'a> {
    pub kind: &'a str,
    pub file_name: &'a str,
    pub rows: i64,
    pub created: i64,
    pub updated: i64,
    pub unchanged: i64,
    pub errors: &'a str,
    pub payload: &'a str,
    pub sample: &'a str,
    pub actor: &'a str,
}

const COLUMNS: &str = "id, kind, status, file_name, row_count, created_count, updated_count, unchanged_count, errors, payload, sample, actor, created_at, committed_at";

pub async fn insert_import(
    tx: &mut Tx,
    agency_id: AgencyId,
    i: NewImport<'_>,
) -> Result<ImportRow> {
    query(format!(
        "INSERT INTO imports (agency_id, kind, status, file_name, row_count, created_count, updated_count, unchanged_count, errors, payload, sample, actor, created_at)
         VALUES ($1, $2, 'previewed', $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING {COLUMNS}"
    ))
    .arg(agency_id)
    .arg(i.kind)
    .arg(i.file_name)
    .arg(i.rows)
    .arg(i.created)
    .arg(i.updated)
    .arg(i.unchanged)
    .arg(i.errors)
    .arg(i.payload)
    .arg(i.sample)
    .arg(i.actor)
    .arg(now())
    .fetch_one(tx)
    .await
}

pub async fn import(
    db: &mut impl Conn,
    agency_id: AgencyId,
    id: ImportId,
) -> Result<Option<ImportRow>> {
    query(format!(
        "SELECT {COLUMNS} FROM imports WHERE agency_id = $1 AND id = $2"
    ))
    .arg(agency_id)
    .arg(id)
    .fetch_optional(db)
    .await
}

/// Marks the preview committed with the counts it wrote, unless it already is (then
/// `false`: a second commit lost the race).
pub async fn mark_committed(
    tx: &mut Tx,
    agency_id: AgencyId,
    id: ImportId,
    (created, updated, unchanged): (i64, i64, i64),
) -> Result<bool> {
    let n = query(
        "UPDATE imports SET status = 'committed', committed_at = $1, created_count = $2, updated_count = $3, unchanged_count = $4
         WHERE agency_id = $5 AND id = $6 AND status = 'previewed'",
    )
    .arg(now())
    .arg(created)
    .arg(updated)
    .arg(unchanged)
    .arg(agency_id)
    .arg(id)
    .execute(tx)
    .await?;
    Ok(n == 1)
}
