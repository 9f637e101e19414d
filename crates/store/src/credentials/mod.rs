//! Credentials, their completion periods and issuances.
//!
//! History rows (periods, issuances) are only ever added or closed; the credential row keeps a
//! denormalised copy of the facts its status depends on (latest issuance, unclosed period),
//! refreshed from history by [`sync_facts`] (or read from history and written together with
//! the status by [`set_facts_and_computed`]), plus the computed status written by
//! [`set_computed`]. Everything here works on sets of ids or rows, each set bound as one JSON
//! value so one statement carries thousands of them (see [`crate::query::json_rows`]).

use chrono::{DateTime, NaiveDate, Utc};
use credence_domain::ids::{
    self as ids, AgencyId, CredentialId, CredentialTypeId, IssuanceId, MemberId, PeriodId,
};
use credence_domain::Status;

use crate::query::{execute_in_batches, fetch_in_batches, json_ids, json_rows, JsonType};
use crate::stored::Stored;
use crate::{now, query, Arg, Backend, Conn, Query, Result, StoreError, Tx};

mod computed;
pub mod exemptions;
mod history;
mod list;
pub mod operations;
pub mod renewal_plans;
mod sweep;
mod tracks;

pub use computed::*;
pub use history::*;
pub use list::*;
pub use sweep::*;
pub use tracks::*;

/// A credential row. Read through sqlx (`FromRow`) or, for thousands of rows at once, as
/// one JSON array of objects (`Deserialize`; see [`fetch_json`]): by column name either way.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, serde::Deserialize)]
pub struct CredentialRow {
    #[serde(deserialize_with = "ids::row")]
    pub id: CredentialId,
    #[serde(deserialize_with = "ids::row")]
    pub member_id: MemberId,
    #[serde(deserialize_with = "ids::row")]
    pub credential_type_id: CredentialTypeId,
    pub status: Stored<Status>,
    pub progress: i64,
    #[serde(deserialize_with = "flag")]
    pub expiring_soon: bool,
    pub status_changes_on: Option<NaiveDate>,
    #[serde(deserialize_with = "ids::row_opt")]
    pub issuance_id: Option<IssuanceId>,
    pub issue_date: Option<NaiveDate>,
    pub expiration_date: Option<NaiveDate>,
    #[serde(deserialize_with = "flag")]
    pub revoked: bool,
    /// Its type was retired before it was ever issued (hidden unless asked for).
    #[serde(deserialize_with = "flag")]
    pub withdrawn: bool,
    #[serde(deserialize_with = "ids::row_opt")]
    pub period_id: Option<PeriodId>,
    pub period_start: Option<NaiveDate>,
    pub period_end: Option<NaiveDate>,
    pub due_date: Option<NaiveDate>,
    pub version: i64,
    pub member_sort_name: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A credential with its current issuance's details, as lists show it.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, serde::Deserialize)]
pub struct CredentialListRow {
    #[sqlx(flatten)]
    pub credential: CredentialRow,
    pub credential_number: Option<String>,
    pub issuing_officer: Option<String>,
    pub status_reason: Option<String>,
    pub status_rank: i64,
}

const COLUMNS: &str = "c.id, c.member_id, c.credential_type_id, c.status, c.progress, c.expiring_soon, c.status_changes_on,
    c.issuance_id, c.issue_date, c.expiration_date, c.revoked, c.withdrawn, c.period_id, c.period_start, c.period_end, c.due_date,
    c.version, c.member_sort_name, c.created_at, c.updated_at";

/// The columns of [`COLUMNS`] as the rows of a subquery selecting them name them.
const ROW_FIELDS: &str = "id, member_id, credential_type_id, status, progress, expiring_soon, status_changes_on,
    issuance_id, issue_date, expiration_date, revoked, withdrawn, period_id, period_start, period_end, due_date,
    version, member_sort_name, created_at, updated_at";

const LIST_COLUMNS: &str = "i.credential_number, i.issuing_officer, i.status_reason, c.status_rank";

/// The columns of [`LIST_COLUMNS`] as a subquery's rows name them.
const LIST_FIELDS: &str = "credential_number, issuing_officer, status_reason, status_rank";

pub async fn credentials_by_ids(
    db: &mut impl Conn,
    agency_id: AgencyId,
    ids: &[CredentialId],
) -> Result<Vec<CredentialRow>> {
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(crate::JSON_BATCH) {
        let mut q = Query::new(format!(
            "SELECT {COLUMNS} FROM credentials c WHERE +c.agency_id = "
        ));
        q.bind(agency_id)
            .push(" AND c.id IN ")
            .bind_json_ids(db.backend(), chunk);
        // As one JSON value on SQLite (see `fetch_json`); PostgreSQL's rows are cheap.
        let rows: Vec<CredentialRow> = match db.backend() {
            Backend::Sqlite => fetch_json(db, ROW_FIELDS, &q).await?,
            Backend::Postgres => q.fetch_all(db).await?,
        };
        out.extend(rows);
    }
    out.sort_unstable_by_key(|r| r.id);
    Ok(out)
}

/// Runs `inner`, a SELECT of `fields`, and reads all of its rows as one JSON array of
/// objects that the database builds, each field under its column name, so rows decode by
/// name on both databases exactly as `FromRow` does.
///
/// sqlx hands SQLite rows over one at a time between threads and copies every value: for
/// thousands of rows that was most of a renewal plan's reads and 40 % of the sweep (perf),
/// while one text value costs a fraction of that. (Measured on SQLite; the sweep uses it on
/// both databases, list pages and reads by id only on SQLite, see [`fetch_list_rows`].)
async fn fetch_json<T: serde::de::DeserializeOwned>(
    db: &mut impl Conn,
    fields: &str,
    inner: &Query,
) -> Result<Vec<T>> {
    fetch_json_ordered(db, fields, inner, None).await
}

/// [`fetch_json`] keeping the rows in `order` (an ORDER BY list over `inner`'s output
/// columns): an aggregate is not bound to the order of the rows it reads.
async fn fetch_json_ordered<T: serde::de::DeserializeOwned>(
    db: &mut impl Conn,
    fields: &str,
    inner: &Query,
    order: Option<&str>,
) -> Result<Vec<T>> {
    let object = json_object(db.backend(), fields);
    fetch_json_objects(db, &object, inner, order).await
}

/// Runs `inner` and reads its rows as one JSON array of `object` (a JSON-building SQL
/// expression over `inner`'s output columns), in `order`.
async fn fetch_json_objects<T: serde::de::DeserializeOwned>(
    db: &mut impl Conn,
    object: &str,
    inner: &Query,
    order: Option<&str>,
) -> Result<Vec<T>> {
    let order = order.map(|o| format!(" ORDER BY {o}")).unwrap_or_default();
    let aggregate = match db.backend() {
        Backend::Sqlite => format!("json_group_array({object}{order})"),
        Backend::Postgres => format!("json_agg({object}{order})::text"),
    };
    let outer = Query {
        sql: format!("SELECT {aggregate} FROM ({}) rows_as_json", inner.sql),
        args: inner.args.clone(),
    };
    match outer.scalar::<Option<String>>(db).await? {
        Some(text) => serde_json::from_str(&text)
            .map_err(|e| StoreError::Corrupt(format!("a batch of rows: {e}"))),
        None => Ok(Vec::new()),
    }
}

/// A JSON object of the comma-separated column names `fields`, each under its own name.
fn json_object(backend: Backend, fields: &str) -> String {
    format!("{}({})", json_object_fn(backend), json_pairs(fields))
}

/// `'a', a, 'b', b` for the comma-separated column names `fields`.
fn json_pairs(fields: &str) -> String {
    let pairs: Vec<String> = fields
        .split(',')
        .map(str::trim)
        .map(|name| format!("'{name}', {name}"))
        .collect();
    pairs.join(", ")
}

/// The SQL function that builds a JSON object of name/value pairs.
fn json_object_fn(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "json_object",
        Backend::Postgres => "json_build_object",
    }
}

/// A page of the list, in `order` (see [`fetch_json_ordered`]). On SQLite the page is read
/// as one JSON value, which cut an SQLite list request's time beyond its query by more
/// than half (perf: the per-row hand-over between threads was most of it). PostgreSQL's
/// rows arrive cheaply off the wire, and building JSON there made a page slower
/// (+0.5 ms), so it reads rows.
async fn fetch_list_rows(
    db: &mut impl Conn,
    inner: &Query,
    order: &str,
) -> Result<Vec<CredentialListRow>> {
    if db.backend() == Backend::Postgres {
        return inner.fetch_all(db).await;
    }
    // The credential as a nested object: serde's `flatten` buffers every field of every row
    // (it cost a list page ~0.2 ms on SQLite).
    let backend = db.backend();
    let object = format!(
        "{}('credential', {}, {})",
        json_object_fn(backend),
        json_object(backend, ROW_FIELDS),
        json_pairs(LIST_FIELDS)
    );
    fetch_json_objects(db, &object, inner, Some(order)).await
}

pub async fn credential(
    db: &mut impl Conn,
    agency_id: AgencyId,
    id: CredentialId,
) -> Result<Option<CredentialListRow>> {
    let sql = format!(
        "SELECT {COLUMNS}, {LIST_COLUMNS} FROM credentials c LEFT JOIN issuances i ON i.id = c.issuance_id
         WHERE c.agency_id = $1 AND c.id = $2"
    );
    query(&sql).arg(agency_id).arg(id).fetch_optional(db).await
}

/// Ids of the credentials of `type_id` held by `member_ids`, as `(member_id, credential_id)`.
pub async fn credentials_of_members(
    db: &mut impl Conn,
    agency_id: AgencyId,
    type_id: CredentialTypeId,
    member_ids: &[MemberId],
) -> Result<Vec<(MemberId, CredentialId)>> {
    let mut out = Vec::new();
    fetch_in_batches(
        db,
        member_ids,
        |chunk| {
            let mut q = Query::new("SELECT member_id, id FROM credentials WHERE agency_id = ");
            q.bind(agency_id)
                .push(" AND credential_type_id = ")
                .bind(type_id);
            q.push(" AND member_id IN ").bind_ids(chunk);
            q
        },
        |rows: Vec<(MemberId, CredentialId)>| out.extend(rows),
    )
    .await?;
    Ok(out)
}

/// Credentials with an unclosed period held by the given members: those a new training
/// record can move.
pub async fn tracking_credentials_of_members(
    db: &mut impl Conn,
    agency_id: AgencyId,
    member_ids: &[MemberId],
) -> Result<Vec<CredentialId>> {
    let mut out = Vec::new();
    fetch_in_batches(
        db,
        member_ids,
        |chunk| {
            let mut q = Query::new("SELECT id FROM credentials WHERE agency_id = ");
            q.bind(agency_id)
                .push(" AND period_id IS NOT NULL AND member_id IN ")
                .bind_ids(chunk);
            q
        },
        |rows: Vec<(CredentialId,)>| out.extend(rows.into_iter().map(|(id,)| id)),
    )
    .await?;
    Ok(out)
}

/// A boolean as either database puts it into JSON (SQLite: 0 or 1).
fn flag<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<bool, D::Error> {
    match <serde_json::Value as serde::Deserialize>::deserialize(d)? {
        serde_json::Value::Bool(b) => Ok(b),
        serde_json::Value::Number(n) => Ok(n.as_i64() != Some(0)),
        other => Err(serde::de::Error::custom(format!("not a boolean: {other}"))),
    }
}

/// Credentials with their current issuance's details, by id (in chunks).
pub async fn list_rows_by_ids(
    db: &mut impl Conn,
    agency_id: AgencyId,
    ids: &[CredentialId],
) -> Result<Vec<CredentialListRow>> {
    let mut out = Vec::with_capacity(ids.len());
    fetch_in_batches(
        db,
        ids,
        |chunk| {
            let mut q = Query::new(format!(
                "SELECT {COLUMNS}, {LIST_COLUMNS} FROM credentials c LEFT JOIN issuances i ON i.id = c.issuance_id WHERE +c.agency_id = "
            ));
            q.bind(agency_id).push(" AND c.id IN ").bind_ids(chunk).push(" ORDER BY c.id");
            q
        },
        |rows| out.extend(rows),
    )
    .await?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_rows_carry_column_names() {
        assert_eq!(
            json_object(Backend::Sqlite, "id, member_id,\n    status"),
            "json_object('id', id, 'member_id', member_id, 'status', status)"
        );
        assert_eq!(
            json_object(Backend::Postgres, "id"),
            "json_build_object('id', id)"
        );
    }

    #[test]
    fn credential_rows_decode_by_name_whatever_the_order() {
        let row: CredentialRow = serde_json::from_str(
            r#"{"member_id": 7, "id": 3, "credential_type_id": 5, "status": "active", "progress": 100,
                "expiring_soon": 0, "status_changes_on": null, "issuance_id": 9, "issue_date": "2026-01-02",
                "expiration_date": "2028-01-02", "revoked": 1, "withdrawn": 0, "period_id": null, "period_start": null,
                "period_end": null, "due_date": null, "version": 2, "member_sort_name": "doe, jane",
                "created_at": "2026-01-02T00:00:00Z", "updated_at": "2026-01-02T00:00:00Z"}"#,
        )
        .unwrap();
        assert_eq!(
            (
                row.id.get(),
                row.member_id.get(),
                row.credential_type_id.get()
            ),
            (3, 7, 5)
        );
        assert!(row.revoked && !row.expiring_soon);
    }
}
