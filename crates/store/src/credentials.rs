//! Credentials, their completion periods and issuances.
//!
//! History rows (periods, issuances) are only ever added or closed; the credential row keeps a
//! denormalised copy of the facts its status depends on (latest issuance, unclosed period),
//! refreshed from history by [`sync_facts`], plus the computed status written by
//! [`set_computed`]. Everything here works on sets of ids or rows, each set bound as one JSON
//! value so one statement carries thousands of them (see [`crate::args::json_rows`]).

use chrono::{DateTime, NaiveDate, Utc};

use crate::args::{json_ids, json_rows, IdChunk, JsonType};
use crate::{bind_args, db, now, on_conn, Arg, Backend, Result, SqlBuilder, Tx};

pub use crate::CHUNK;

/// A credential row. Read through sqlx (`FromRow`) or, for thousands of rows at once, as
/// one JSON array (`Deserialize`, fields in [`ROW_FIELDS`] order; see [`fetch_json`]).
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, serde::Deserialize)]
pub struct CredentialRow {
    pub id: i64,
    pub member_id: i64,
    pub credential_type_id: i64,
    pub status: String,
    pub progress: i64,
    #[serde(deserialize_with = "flag")]
    pub expiring_soon: bool,
    pub status_changes_on: Option<NaiveDate>,
    pub issuance_id: Option<i64>,
    pub issue_date: Option<NaiveDate>,
    pub expiration_date: Option<NaiveDate>,
    #[serde(deserialize_with = "flag")]
    pub revoked: bool,
    pub period_id: Option<i64>,
    pub period_start: Option<NaiveDate>,
    pub period_end: Option<NaiveDate>,
    pub due_date: Option<NaiveDate>,
    pub version: i64,
    pub member_sort_name: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A credential with its current issuance's details, as lists show it.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct CredentialListRow {
    #[sqlx(flatten)]
    pub credential: CredentialRow,
    pub credential_number: Option<String>,
    pub issuing_officer: Option<String>,
    pub status_reason: Option<String>,
    pub status_rank: i64,
}

const COLUMNS: &str = "c.id, c.member_id, c.credential_type_id, c.status, c.progress, c.expiring_soon, c.status_changes_on,
    c.issuance_id, c.issue_date, c.expiration_date, c.revoked, c.period_id, c.period_start, c.period_end, c.due_date,
    c.version, c.member_sort_name, c.created_at, c.updated_at";

/// The columns of [`COLUMNS`] as the rows of a subquery selecting them name them.
const ROW_FIELDS: &str = "id, member_id, credential_type_id, status, progress, expiring_soon, status_changes_on,
    issuance_id, issue_date, expiration_date, revoked, period_id, period_start, period_end, due_date,
    version, member_sort_name, created_at, updated_at";

const LIST_COLUMNS: &str = "i.credential_number, i.issuing_officer, i.status_reason, c.status_rank";

/// Runs `build` once per [`crate::JSON_BATCH`] of `ids` (the builder binds them with
/// [`SqlBuilder::bind_ids`]) and hands each batch's rows to `each`.
pub(crate) async fn for_chunks<T>(
    tx: &mut Tx,
    ids: &[i64],
    build: impl Fn(IdChunk<'_>) -> SqlBuilder,
    mut each: impl FnMut(Vec<T>),
) -> Result<()>
where
    T: Send,
    for<'r> T: sqlx::FromRow<'r, sqlx::sqlite::SqliteRow>
        + sqlx::FromRow<'r, sqlx::postgres::PgRow>
        + Unpin
        + Send,
{
    let backend = tx.backend();
    for chunk in ids.chunks(crate::JSON_BATCH) {
        let q = build(IdChunk {
            backend,
            ids: chunk,
        });
        let rows: Vec<T> =
            on_conn!(tx, c => bind_args!(sqlx::query_as(&q.sql), &q.args).fetch_all(c).await)
                .map_err(db)?;
        each(rows);
    }
    Ok(())
}

/// Runs one statement per [`crate::JSON_BATCH`] of `ids`, built by `build` as in
/// [`for_chunks`]; answers the rows changed.
pub(crate) async fn execute_chunks(
    tx: &mut Tx,
    ids: &[i64],
    build: impl Fn(IdChunk<'_>) -> SqlBuilder,
) -> Result<u64> {
    let backend = tx.backend();
    let mut changed = 0;
    for chunk in ids.chunks(crate::JSON_BATCH) {
        changed += execute(
            tx,
            &build(IdChunk {
                backend,
                ids: chunk,
            }),
        )
        .await?;
    }
    Ok(changed)
}

async fn execute(tx: &mut Tx, q: &SqlBuilder) -> Result<u64> {
    on_conn!(tx, c => bind_args!(sqlx::query(&q.sql), &q.args).execute(c).await.map(|r| r.rows_affected())).map_err(db)
}

pub async fn credentials_by_ids(
    tx: &mut Tx,
    agency_id: i64,
    ids: &[i64],
) -> Result<Vec<CredentialRow>> {
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(crate::JSON_BATCH) {
        let mut q = SqlBuilder::new(format!(
            "SELECT {COLUMNS} FROM credentials c WHERE +c.agency_id = "
        ));
        q.bind(agency_id)
            .push(" AND c.id IN ")
            .bind_json_ids(tx.backend(), chunk);
        // As one JSON value on SQLite (see `fetch_json`); PostgreSQL's rows are cheap.
        let rows: Vec<CredentialRow> = match tx.backend() {
            Backend::Sqlite => fetch_json(tx, ROW_FIELDS, &q).await?,
            Backend::Postgres => {
                on_conn!(tx, c => bind_args!(sqlx::query_as(&q.sql), &q.args).fetch_all(c).await)
                    .map_err(db)?
            }
        };
        out.extend(rows);
    }
    out.sort_unstable_by_key(|r| r.id);
    Ok(out)
}

/// Runs `inner`, a SELECT of `fields`, and reads all of its rows as one JSON array (of
/// arrays, fields in order) that the database builds.
///
/// sqlx hands SQLite rows over one at a time between threads and copies every value: for
/// thousands of rows that was most of a renewal plan's reads and 40 % of the sweep (perf),
/// while one text value costs a fraction of that. (Measured on SQLite; the sweep uses it on
/// both databases, list pages and reads by id only on SQLite, see [`fetch_list_rows`].)
async fn fetch_json<T: serde::de::DeserializeOwned>(
    tx: &mut Tx,
    fields: &str,
    inner: &SqlBuilder,
) -> Result<Vec<T>> {
    fetch_json_ordered(tx, fields, inner, None).await
}

/// [`fetch_json`] keeping the rows in `order` (an ORDER BY list over `inner`'s output
/// columns): an aggregate is not bound to the order of the rows it reads.
async fn fetch_json_ordered<T: serde::de::DeserializeOwned>(
    tx: &mut Tx,
    fields: &str,
    inner: &SqlBuilder,
    order: Option<&str>,
) -> Result<Vec<T>> {
    let array = json_array_fn(tx.backend());
    let order = order.map(|o| format!(" ORDER BY {o}")).unwrap_or_default();
    let aggregate = match tx.backend() {
        Backend::Sqlite => format!("json_group_array({array}({fields}){order})"),
        Backend::Postgres => format!("json_agg({array}({fields}){order})::text"),
    };
    let sql = format!("SELECT {aggregate} FROM ({}) rows_as_json", inner.sql);
    let json: Option<String> =
        on_conn!(tx, c => bind_args!(sqlx::query_scalar(&sql), &inner.args).fetch_one(c).await)
            .map_err(db)?;
    match json {
        Some(text) => serde_json::from_str(&text).map_err(|e| db(sqlx::Error::Decode(Box::new(e)))),
        None => Ok(Vec::new()),
    }
}

/// The SQL function that builds a JSON array of its arguments.
fn json_array_fn(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "json_array",
        Backend::Postgres => "json_build_array",
    }
}

/// A page of the list, in `order` (see [`fetch_json_ordered`]). On SQLite the page is read
/// as one JSON value, which cut an SQLite list request's time beyond its query by more
/// than half (perf: the per-row hand-over between threads was most of it). PostgreSQL's
/// rows arrive cheaply off the wire, and building JSON there made a page slower
/// (+0.5 ms), so it reads rows.
async fn fetch_list_rows(
    tx: &mut Tx,
    inner: &SqlBuilder,
    order: &str,
) -> Result<Vec<CredentialListRow>> {
    if tx.backend() == Backend::Postgres {
        return on_conn!(tx, c => bind_args!(sqlx::query_as(&inner.sql), &inner.args).fetch_all(c).await)
            .map_err(db);
    }
    type ListJson = (
        CredentialRow,
        Option<String>,
        Option<String>,
        Option<String>,
        i64,
    );
    let array = json_array_fn(tx.backend());
    let fields = format!(
        "{array}({ROW_FIELDS}), credential_number, issuing_officer, status_reason, status_rank"
    );
    let rows: Vec<ListJson> = fetch_json_ordered(tx, &fields, inner, Some(order)).await?;
    Ok(rows
        .into_iter()
        .map(
            |(credential, credential_number, issuing_officer, status_reason, status_rank)| {
                CredentialListRow {
                    credential,
                    credential_number,
                    issuing_officer,
                    status_reason,
                    status_rank,
                }
            },
        )
        .collect())
}

pub async fn credential(tx: &mut Tx, agency_id: i64, id: i64) -> Result<Option<CredentialListRow>> {
    let sql = format!(
        "SELECT {COLUMNS}, {LIST_COLUMNS} FROM credentials c LEFT JOIN issuances i ON i.id = c.issuance_id
         WHERE c.agency_id = $1 AND c.id = $2"
    );
    on_conn!(tx, c => sqlx::query_as(&sql).bind(agency_id).bind(id).fetch_optional(c).await)
        .map_err(db)
}

/// Ids of the credentials of `type_id` held by `member_ids`, as `(member_id, credential_id)`.
pub async fn credentials_of_members(
    tx: &mut Tx,
    agency_id: i64,
    type_id: i64,
    member_ids: &[i64],
) -> Result<Vec<(i64, i64)>> {
    let mut out = Vec::new();
    for_chunks(
        tx,
        member_ids,
        |chunk| {
            let mut q = SqlBuilder::new("SELECT member_id, id FROM credentials WHERE agency_id = ");
            q.bind(agency_id)
                .push(" AND credential_type_id = ")
                .bind(type_id);
            q.push(" AND member_id IN ").bind_ids(chunk);
            q
        },
        |rows: Vec<(i64, i64)>| out.extend(rows),
    )
    .await?;
    Ok(out)
}

/// Credentials with an unclosed period held by the given members: those a new training
/// record can move.
pub async fn tracking_credentials_of_members(
    tx: &mut Tx,
    agency_id: i64,
    member_ids: &[i64],
) -> Result<Vec<i64>> {
    let mut out = Vec::new();
    for_chunks(
        tx,
        member_ids,
        |chunk| {
            let mut q = SqlBuilder::new("SELECT id FROM credentials WHERE agency_id = ");
            q.bind(agency_id)
                .push(" AND period_id IS NOT NULL AND member_id IN ")
                .bind_ids(chunk);
            q
        },
        |rows: Vec<(i64,)>| out.extend(rows.into_iter().map(|(id,)| id)),
    )
    .await?;
    Ok(out)
}

/// Who an assignment is for.
#[derive(Debug, Clone)]
pub enum Selection {
    Members(Vec<i64>),
    Groups(Vec<i64>),
    All,
}

/// Active members the selection names, as `(member_id, already holds the type)`.
pub async fn selected_members(
    tx: &mut Tx,
    agency_id: i64,
    type_id: i64,
    selection: &Selection,
) -> Result<Vec<(i64, bool, bool)>> {
    let mut q = SqlBuilder::new(
        "SELECT m.id, m.active, EXISTS (SELECT 1 FROM credentials c WHERE c.agency_id = m.agency_id AND c.member_id = m.id AND c.credential_type_id = ",
    );
    q.bind(type_id)
        .push(") FROM members m WHERE m.agency_id = ")
        .bind(agency_id);
    match selection {
        Selection::All => {
            q.push(" AND m.active = ").bind(true);
        }
        Selection::Groups(groups) => {
            q.push(" AND m.active = ").bind(true);
            // Driven from the group's memberships: members of a 10,000-member group are
            // found through the membership key, not by testing every member of the agency.
            q.push(
                " AND m.id IN (SELECT gm.member_id FROM group_memberships gm WHERE gm.agency_id = ",
            )
            .bind(agency_id)
            .push(" AND gm.group_id IN ")
            .bind_list(groups.iter().copied())
            .push(")");
        }
        Selection::Members(ids) => {
            let mut out = Vec::with_capacity(ids.len());
            for_chunks(
                tx,
                ids,
                |chunk| {
                    let mut c = q.clone();
                    c.push(" AND m.id IN ").bind_ids(chunk);
                    c
                },
                |rows: Vec<(i64, bool, bool)>| out.extend(rows),
            )
            .await?;
            return Ok(out);
        }
    }
    q.push(" ORDER BY m.id");
    on_conn!(tx, c => bind_args!(sqlx::query_as(&q.sql), &q.args).fetch_all(c).await).map_err(db)
}

/// What a new track starts with: its computed status and the dates of its first issuance
/// and period (their ids are filled in by [`sync_ids`] once those rows exist).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TrackStart {
    pub computed: Computed,
    pub issue_date: Option<NaiveDate>,
    pub expiration_date: Option<NaiveDate>,
    pub period: Option<PeriodDates>,
}

/// Creates the tracks of `member_ids` with their final status, their first issuance and
/// their first period (as `start` names them); returns `(credential_id, member_id)`.
///
/// Every row is written once: the ids of the issuances and periods are reserved first
/// (see [`reserve_ids`]), so a credential row is inserted already pointing at them instead
/// of being updated afterwards, which would write all of its indexes a second time.
pub async fn insert_tracks(
    tx: &mut Tx,
    agency_id: i64,
    type_id: i64,
    member_ids: &[i64],
    start: &TrackStart,
    created_by: &str,
) -> Result<Vec<(i64, i64)>> {
    let mut out = Vec::with_capacity(member_ids.len());
    for chunk in member_ids.chunks(crate::JSON_BATCH) {
        let issuance_ids = match start.issue_date {
            Some(_) => Some(reserve_ids(tx, "issuances", chunk.len()).await?),
            None => None,
        };
        let period_ids = match start.period {
            Some(_) => Some(reserve_ids(tx, "completion_periods", chunk.len()).await?),
            None => None,
        };
        // Each member's reserved (issuance id, period id).
        let reserved: std::collections::HashMap<i64, (Option<i64>, Option<i64>)> = chunk
            .iter()
            .enumerate()
            .map(|(i, m)| {
                let at = |ids: &Option<Vec<i64>>| ids.as_ref().map(|v| v[i]);
                (*m, (at(&issuance_ids), at(&period_ids)))
            })
            .collect();
        let rows = chunk
            .iter()
            .map(|m| serde_json::json!([m, reserved[m].0, reserved[m].1]))
            .collect();
        let created = insert_track_rows(tx, agency_id, type_id, start, rows).await?;
        if let Some(issue_date) = start.issue_date {
            let rows = created
                .iter()
                .filter_map(|(c, m)| Some(serde_json::json!([reserved[m].0?, c])))
                .collect();
            let dates = (issue_date, start.expiration_date);
            insert_first_issuances(tx, agency_id, type_id, dates, created_by, rows).await?;
        }
        if let Some(dates) = start.period {
            let rows = created
                .iter()
                .filter_map(|(c, m)| {
                    let (issuance, period) = reserved[m];
                    Some(serde_json::json!([period?, c, issuance]))
                })
                .collect();
            insert_first_periods(tx, agency_id, dates, rows).await?;
        }
        out.extend(created);
    }
    Ok(out)
}

/// The first issuances of new tracks: `rows` are `[issuance_id, credential_id]`.
async fn insert_first_issuances(
    tx: &mut Tx,
    agency_id: i64,
    type_id: i64,
    (issue_date, expiration_date): (NaiveDate, Option<NaiveDate>),
    created_by: &str,
    rows: Vec<serde_json::Value>,
) -> Result<()> {
    use JsonType::BigInt;
    let source = json_rows(
        tx.backend(),
        "$2",
        &[("id", BigInt), ("credential_id", BigInt)],
    );
    let mut q = SqlBuilder::new(format!(
        "INSERT INTO issuances (id, agency_id, credential_id, credential_type_id, issue_date, expiration_date, created_by, created_at)
         SELECT v.id, $3, v.credential_id, $4, $5, $6, $7, $1 FROM {source} AS v"
    ));
    q.args = vec![
        now().into(),
        serde_json::Value::from(rows).to_string().into(),
        agency_id.into(),
        type_id.into(),
        issue_date.into(),
        expiration_date.into(),
        created_by.into(),
    ];
    execute(tx, &q).await.map(|_| ())
}

/// The first periods of new tracks: `rows` are `[period_id, credential_id,
/// opened_by_issuance_id]`.
async fn insert_first_periods(
    tx: &mut Tx,
    agency_id: i64,
    dates: PeriodDates,
    rows: Vec<serde_json::Value>,
) -> Result<()> {
    use JsonType::BigInt;
    let source = json_rows(
        tx.backend(),
        "$2",
        &[
            ("id", BigInt),
            ("credential_id", BigInt),
            ("opened_by", BigInt),
        ],
    );
    let mut q = SqlBuilder::new(format!(
        "INSERT INTO completion_periods (id, agency_id, credential_id, start_date, end_date, due_date, opened_by_issuance_id, created_at)
         SELECT v.id, $3, v.credential_id, $4, $5, $6, v.opened_by, $1 FROM {source} AS v"
    ));
    q.args = vec![
        now().into(),
        serde_json::Value::from(rows).to_string().into(),
        agency_id.into(),
        dates.start.into(),
        dates.end.into(),
        dates.due.into(),
    ];
    execute(tx, &q).await.map(|_| ())
}

/// The credential rows of [`insert_tracks`]: `rows` are `[member_id, issuance_id,
/// period_id]`; members of other agencies are left out.
async fn insert_track_rows(
    tx: &mut Tx,
    agency_id: i64,
    type_id: i64,
    start: &TrackStart,
    rows: Vec<serde_json::Value>,
) -> Result<Vec<(i64, i64)>> {
    use JsonType::BigInt;
    let source = json_rows(
        tx.backend(),
        "$2",
        &[
            ("member_id", BigInt),
            ("issuance_id", BigInt),
            ("period_id", BigInt),
        ],
    );
    let sql = format!(
        "INSERT INTO credentials (agency_id, member_id, credential_type_id, status, status_rank, progress, expiring_soon,
             status_changes_on, member_sort_name, issuance_id, issue_date, expiration_date, period_id, period_start, period_end,
             due_date, created_at, updated_at)
         SELECT m.agency_id, m.id, $4, $5, $6, $7, $8, $9, m.sort_name, v.issuance_id, $10, $11, v.period_id, $12, $13, $14, $1, $1
         FROM {source} AS v JOIN members m ON m.id = v.member_id
         WHERE +m.agency_id = $3
         RETURNING id, member_id"
    );
    let c = &start.computed;
    let mut q = SqlBuilder::new(sql);
    q.args = vec![
        now().into(),
        serde_json::Value::from(rows).to_string().into(),
        agency_id.into(),
        type_id.into(),
        c.status.as_str().into(),
        c.status_rank.into(),
        c.progress.into(),
        c.expiring_soon.into(),
        c.status_changes_on.into(),
        start.issue_date.into(),
        start.expiration_date.into(),
        start.period.map(|p| p.start).into(),
        start.period.map(|p| p.end).into(),
        start.period.map(|p| p.due).into(),
    ];
    on_conn!(tx, conn => bind_args!(sqlx::query_as(&q.sql), &q.args).fetch_all(conn).await)
        .map_err(db)
}

/// `count` fresh ids of `table`, which must be one of ours with an `id` key, for rows the
/// caller inserts with explicit ids in this transaction. SQLite: the write transaction
/// holds the database's only write lock, so the ids after the largest are free, as
/// SQLite itself would assign them. PostgreSQL: drawn from the column's sequence.
pub async fn reserve_ids(tx: &mut Tx, table: &'static str, count: usize) -> Result<Vec<i64>> {
    match tx.backend() {
        Backend::Sqlite => {
            let sql = format!("SELECT COALESCE(MAX(id), 0) FROM {table}");
            let max: i64 =
                on_conn!(tx, c => sqlx::query_scalar(&sql).fetch_one(c).await).map_err(db)?;
            Ok((1..=count as i64).map(|i| max + i).collect())
        }
        Backend::Postgres => {
            let sql = format!(
                "SELECT nextval(pg_get_serial_sequence('{table}', 'id')) FROM generate_series(1, $1)"
            );
            on_conn!(tx, c => sqlx::query_scalar(&sql).bind(count as i64).fetch_all(c).await)
                .map_err(db)
        }
    }
}

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
    agency_id: i64,
    credential_ids: &[i64],
    dates: PeriodDates,
    opened_by_current_issuance: bool,
    renewal_plan_id: Option<i64>,
) -> Result<()> {
    let at = now();
    execute_chunks(tx, credential_ids, |chunk| {
        let mut q = SqlBuilder::new(
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
    agency_id: i64,
    items: &[(i64, PeriodDates)],
    opened_by_current_issuance: bool,
    renewal_plan_id: Option<i64>,
) -> Result<Vec<(i64, i64)>> {
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
                serde_json::json!([
                    credential_id,
                    d.start.to_string(),
                    d.end.to_string(),
                    d.due.to_string()
                ])
            })
            .collect();
        let mut q = SqlBuilder::new(sql.as_str());
        q.args = vec![
            agency_id.into(),
            serde_json::Value::from(rows).to_string().into(),
            renewal_plan_id.into(),
            at.into(),
        ];
        let rows: Vec<(i64, i64)> =
            on_conn!(tx, c => bind_args!(sqlx::query_as(&q.sql), &q.args).fetch_all(c).await)
                .map_err(db)?;
        opened.extend(rows);
    }
    Ok(opened)
}

/// Closes the unclosed periods of these credentials (issuing closes the period it answers),
/// thousands per statement (see [`json_ids`]).
pub async fn close_periods(
    tx: &mut Tx,
    agency_id: i64,
    credential_ids: &[i64],
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
        let mut q = SqlBuilder::new(sql.as_str());
        q.args = vec![
            now().into(),
            agency_id.into(),
            serde_json::Value::from(chunk).to_string().into(),
        ];
        execute(tx, &q).await?;
    }
    Ok(())
}

/// A new issuance.
#[derive(Debug, Clone, PartialEq)]
pub struct NewIssuance {
    pub credential_id: i64,
    pub issue_date: NaiveDate,
    pub expiration_date: Option<NaiveDate>,
    pub credential_number: Option<String>,
    pub issuing_officer: Option<String>,
    pub status_reason: Option<String>,
}

pub async fn insert_issuances(
    tx: &mut Tx,
    agency_id: i64,
    type_id: i64,
    items: &[NewIssuance],
    created_by: &str,
) -> Result<()> {
    let at = now();
    for chunk in items.chunks(crate::rows_per_statement(10)) {
        let mut q = SqlBuilder::new(
            "INSERT INTO issuances (agency_id, credential_id, credential_type_id, issue_date, expiration_date, credential_number,
                 issuing_officer, status_reason, created_by, created_at) VALUES ",
        );
        for (i, n) in chunk.iter().enumerate() {
            if i > 0 {
                q.push(", ");
            }
            q.push("(")
                .bind(agency_id)
                .push(", ")
                .bind(n.credential_id)
                .push(", ")
                .bind(type_id)
                .push(", ")
                .bind(n.issue_date);
            q.push(", ")
                .bind(n.expiration_date)
                .push(", ")
                .bind(n.credential_number.clone())
                .push(", ");
            q.bind(n.issuing_officer.clone())
                .push(", ")
                .bind(n.status_reason.clone())
                .push(", ")
                .bind(created_by)
                .push(", ")
                .bind(at)
                .push(")");
        }
        execute(tx, &q).await?;
    }
    Ok(())
}

/// Changes fields of existing issuances in place (a correction, not a new issuance).
pub async fn amend_issuance(
    tx: &mut Tx,
    agency_id: i64,
    issuance_id: i64,
    fields: &[(&str, Arg)],
) -> Result<()> {
    if fields.is_empty() {
        return Ok(());
    }
    let mut q = SqlBuilder::new("UPDATE issuances SET ");
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
    execute(tx, &q).await?;
    Ok(())
}

pub async fn revoke_issuance(
    tx: &mut Tx,
    agency_id: i64,
    issuance_id: i64,
    reason: &str,
) -> Result<()> {
    on_conn!(tx, c => sqlx::query("UPDATE issuances SET revoked_at = $1, revoke_reason = $2 WHERE agency_id = $3 AND id = $4")
        .bind(now()).bind(reason).bind(agency_id).bind(issuance_id).execute(c).await.map(|r| r.rows_affected())).map_err(db)?;
    Ok(())
}

/// Reserves `count` consecutive numbers of the type's sequence; returns the first.
pub async fn reserve_numbers(tx: &mut Tx, agency_id: i64, type_id: i64, count: i64) -> Result<i64> {
    let next: i64 = on_conn!(tx, c => sqlx::query_scalar(
        "UPDATE credential_types SET next_number = next_number + $1 WHERE agency_id = $2 AND id = $3 RETURNING next_number")
        .bind(count).bind(agency_id).bind(type_id).fetch_one(c).await).map_err(db)?;
    Ok(next - count)
}

/// Of `numbers`, those already used by an issuance of the type.
pub async fn used_numbers(
    tx: &mut Tx,
    agency_id: i64,
    type_id: i64,
    numbers: &[String],
) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for chunk in numbers.chunks(CHUNK) {
        let mut q = SqlBuilder::new("SELECT credential_number FROM issuances WHERE agency_id = ");
        q.bind(agency_id)
            .push(" AND credential_type_id = ")
            .bind(type_id)
            .push(" AND credential_number IN ");
        q.bind_list(chunk.iter().map(String::as_str));
        let rows: Vec<String> =
            on_conn!(tx, c => bind_args!(sqlx::query_scalar(&q.sql), &q.args).fetch_all(c).await)
                .map_err(db)?;
        out.extend(rows);
    }
    Ok(out)
}

/// Points each credential at its latest issuance and its unclosed period. Only id columns
/// change (no index covers them), so PostgreSQL can update in place.
pub async fn sync_ids(tx: &mut Tx, agency_id: i64, credential_ids: &[i64]) -> Result<()> {
    execute_chunks(tx, credential_ids, |chunk| {
        let mut q = SqlBuilder::new(
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
pub async fn sync_facts(tx: &mut Tx, agency_id: i64, credential_ids: &[i64]) -> Result<()> {
    sync_ids(tx, agency_id, credential_ids).await?;
    execute_chunks(tx, credential_ids, |chunk| {
        let mut q = SqlBuilder::new(
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
    pub status: String,
    pub status_rank: i64,
    pub progress: i64,
    pub expiring_soon: bool,
    pub status_changes_on: Option<NaiveDate>,
}

/// Writes each credential's computed values, thousands of rows per statement (see
/// [`json_rows`]).
pub async fn set_computed(tx: &mut Tx, agency_id: i64, items: &[(i64, Computed)]) -> Result<()> {
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
    pub credential_id: i64,
    pub period_id: i64,
    pub period: PeriodDates,
    pub computed: Computed,
}

/// Points each credential at its new open period and writes the values computed with it,
/// in one write per row (a renewal would otherwise rewrite each row, and its indexes,
/// twice: once for the period, once for the status).
pub async fn set_period_and_computed(
    tx: &mut Tx,
    agency_id: i64,
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
            item.period_id.into(),
            d.start.to_string().into(),
            d.end.to_string().into(),
            d.due.to_string().into(),
        ]);
        row
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
fn computed_row(id: i64, c: &Computed) -> Vec<serde_json::Value> {
    vec![
        id.into(),
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
    agency_id: i64,
    rows: impl Iterator<Item = Vec<serde_json::Value>>,
) -> Result<()> {
    let at = now();
    let rows: Vec<serde_json::Value> = rows.map(serde_json::Value::from).collect();
    for chunk in rows.chunks(crate::JSON_BATCH) {
        let mut q = SqlBuilder::new(sql);
        q.args = vec![
            at.into(),
            serde_json::Value::from(chunk).to_string().into(),
            agency_id.into(),
        ];
        execute(tx, &q).await?;
    }
    Ok(())
}

/// What the sweep reads of a credential: the stored facts its status is computed from,
/// and the computed values stored last time.
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
pub struct SweepRow {
    pub id: i64,
    pub credential_type_id: i64,
    pub status: String,
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

/// A boolean as either database puts it into JSON (SQLite: 0 or 1).
fn flag<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<bool, D::Error> {
    match <serde_json::Value as serde::Deserialize>::deserialize(d)? {
        serde_json::Value::Bool(b) => Ok(b),
        serde_json::Value::Number(n) => Ok(n.as_i64() != Some(0)),
        other => Err(serde::de::Error::custom(format!("not a boolean: {other}"))),
    }
}

/// Credentials whose stored status may be stale on `today`, in id order after `after_id`;
/// a batch is read as one JSON value (see [`fetch_json`]).
pub async fn due_for_sweep(
    tx: &mut Tx,
    agency_id: i64,
    today: NaiveDate,
    after_id: i64,
    limit: i64,
) -> Result<Vec<SweepRow>> {
    let mut q = SqlBuilder::new(format!(
        "SELECT {SWEEP_COLUMNS} FROM credentials
         WHERE agency_id = $1 AND status_changes_on <= $2 AND id > $3 ORDER BY id LIMIT $4"
    ));
    q.args = vec![
        agency_id.into(),
        today.into(),
        after_id.into(),
        limit.into(),
    ];
    let mut rows: Vec<SweepRow> = fetch_json(tx, SWEEP_COLUMNS, &q).await?;
    rows.sort_unstable_by_key(|r| r.id);
    Ok(rows)
}

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct PeriodRow {
    pub id: i64,
    pub credential_id: i64,
    pub start_date: NaiveDate,
    pub end_date: NaiveDate,
    pub due_date: NaiveDate,
    pub opened_by_issuance_id: Option<i64>,
    pub renewal_plan_id: Option<i64>,
    pub closed_at: Option<DateTime<Utc>>,
    pub closed_by_issuance_id: Option<i64>,
    pub opened_by_issue_date: Option<NaiveDate>,
}

/// Periods by id, with the issue date of the issuance that opened each.
pub async fn periods_by_ids(tx: &mut Tx, agency_id: i64, ids: &[i64]) -> Result<Vec<PeriodRow>> {
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(crate::JSON_BATCH) {
        let q = period_query(tx.backend(), agency_id, "p.id", chunk);
        let rows: Vec<PeriodRow> =
            on_conn!(tx, c => bind_args!(sqlx::query_as(&q.sql), &q.args).fetch_all(c).await)
                .map_err(db)?;
        out.extend(rows);
    }
    Ok(out)
}

pub async fn periods_of(tx: &mut Tx, agency_id: i64, credential_id: i64) -> Result<Vec<PeriodRow>> {
    let q = period_query(tx.backend(), agency_id, "p.credential_id", &[credential_id]);
    on_conn!(tx, c => bind_args!(sqlx::query_as(&q.sql), &q.args).fetch_all(c).await).map_err(db)
}

fn period_query(backend: Backend, agency_id: i64, column: &str, ids: &[i64]) -> SqlBuilder {
    // By primary key, the tenant test must not pick the agency-wide index (see `CHUNK`).
    let tenant = if column == "p.id" {
        "+p.agency_id"
    } else {
        "p.agency_id"
    };
    let mut q = SqlBuilder::new(format!(
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
    pub id: i64,
    pub credential_id: i64,
    pub issue_date: NaiveDate,
    pub expiration_date: Option<NaiveDate>,
    pub credential_number: Option<String>,
    pub issuing_officer: Option<String>,
    pub status_reason: Option<String>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub revoke_reason: Option<String>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
}

pub async fn issuances_of(
    tx: &mut Tx,
    agency_id: i64,
    credential_id: i64,
) -> Result<Vec<IssuanceRow>> {
    on_conn!(tx, c => sqlx::query_as(
        "SELECT id, credential_id, issue_date, expiration_date, credential_number, issuing_officer, status_reason,
             revoked_at, revoke_reason, created_by, created_at
         FROM issuances WHERE agency_id = $1 AND credential_id = $2 ORDER BY id")
        .bind(agency_id).bind(credential_id).fetch_all(c).await).map_err(db)
}

/// How the credentials list is sorted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortKey {
    Member,
    Status,
    ExpirationDate,
    Progress,
}

/// The last row of a page, to continue after.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum After {
    Text(String, i64),
    Int(i64, i64),
    Date(Option<NaiveDate>, i64),
}

#[derive(Debug, Clone, Default)]
pub struct CredentialFilter {
    pub statuses: Vec<String>,
    pub credential_type_id: Option<i64>,
    pub member_id: Option<i64>,
    pub group_id: Option<i64>,
    /// Valid issuances expiring between these dates inclusive.
    pub expiring_between: Option<(NaiveDate, NaiveDate)>,
    /// Start of the member's "last, first" name.
    pub q: Option<String>,
    /// The member whose employee number was searched for.
    pub employee_member_id: Option<i64>,
    /// Hide invisible types (a member's own view).
    pub visible_only: bool,
}

/// A keyset page of credentials: filters on indexed columns, ordered by `sort` then id.
///
/// Every query here orders by an indexed column and id only, so the database can walk an
/// index and stop after `limit` rows. Credentials never issued have no expiration; sorted
/// by expiration they come last in either direction, fetched by a second query once the
/// dated ones run out (an `IS NULL` sort term would defeat the index).
pub async fn credentials_page(
    tx: &mut Tx,
    agency_id: i64,
    filter: &CredentialFilter,
    sort: SortKey,
    descending: bool,
    after: Option<&After>,
    limit: i64,
) -> Result<Vec<CredentialListRow>> {
    let (cmp, dir) = if descending {
        ("<", "DESC")
    } else {
        (">", "ASC")
    };
    let column = match sort {
        SortKey::Member => "c.member_sort_name",
        SortKey::Status => "c.status_rank",
        SortKey::ExpirationDate => "c.expiration_date",
        SortKey::Progress => "c.progress",
    };
    // The same order over the page's output columns, for reading it as JSON.
    let output = column.trim_start_matches("c.");
    let base = |filter: &CredentialFilter| {
        let mut q = SqlBuilder::new(format!(
            "SELECT {COLUMNS}, {LIST_COLUMNS} FROM credentials c LEFT JOIN issuances i ON i.id = c.issuance_id WHERE c.agency_id = "
        ));
        q.bind(agency_id);
        push_filter(&mut q, agency_id, filter);
        q
    };
    if sort == SortKey::ExpirationDate {
        let mut rows = Vec::new();
        if !matches!(after, Some(After::Date(None, _))) {
            let mut q = base(filter);
            q.push(&format!(" AND {column} IS NOT NULL"));
            if let Some(After::Date(Some(v), id)) = after {
                push_keyset(&mut q, column, cmp, Arg::from(*v), *id);
            }
            q.push(&format!(" ORDER BY {column} {dir}, c.id {dir} LIMIT "))
                .bind(limit);
            rows = fetch_list_rows(tx, &q, &format!("{output} {dir}, id {dir}")).await?;
        }
        let missing = limit - rows.len() as i64;
        if missing > 0 && filter.expiring_between.is_none() {
            let mut q = base(filter);
            q.push(&format!(" AND {column} IS NULL"));
            if let Some(After::Date(None, id)) = after {
                q.push(&format!(" AND c.id {cmp} ")).bind(*id);
            }
            q.push(&format!(" ORDER BY c.id {dir} LIMIT "))
                .bind(missing);
            rows.extend(fetch_list_rows(tx, &q, &format!("id {dir}")).await?);
        }
        return Ok(rows);
    }
    let mut q = base(filter);
    match after {
        Some(After::Text(v, id)) => push_keyset(&mut q, column, cmp, Arg::from(v.as_str()), *id),
        Some(After::Int(v, id)) => push_keyset(&mut q, column, cmp, Arg::from(*v), *id),
        _ => {}
    }
    q.push(&format!(" ORDER BY {column} {dir}, c.id {dir} LIMIT "))
        .bind(limit);
    fetch_list_rows(tx, &q, &format!("{output} {dir}, id {dir}")).await
}

/// `AND (col > v OR (col = v AND id > last))`, the keyset continuation.
fn push_keyset(q: &mut SqlBuilder, column: &str, cmp: &str, value: Arg, id: i64) {
    q.push(&format!(" AND ({column} {cmp} "))
        .bind(value.clone());
    q.push(&format!(" OR ({column} = "))
        .bind(value)
        .push(&format!(" AND c.id {cmp} "))
        .bind(id)
        .push("))");
}

fn push_filter(q: &mut SqlBuilder, agency_id: i64, f: &CredentialFilter) {
    if !f.statuses.is_empty() {
        q.push(" AND c.status IN ")
            .bind_list(f.statuses.iter().map(String::as_str));
    }
    if let Some(t) = f.credential_type_id {
        q.push(" AND c.credential_type_id = ").bind(t);
    }
    if let Some(m) = f.member_id {
        q.push(" AND c.member_id = ").bind(m);
    }
    if let Some(g) = f.group_id {
        q.push(" AND EXISTS (SELECT 1 FROM group_memberships gm WHERE gm.agency_id = c.agency_id AND gm.member_id = c.member_id AND gm.group_id = ")
            .bind(g)
            .push(")");
    }
    if let Some((from, to)) = f.expiring_between {
        q.push(" AND c.revoked = ").bind(false);
        q.push(" AND c.expiration_date >= ")
            .bind(from)
            .push(" AND c.expiration_date <= ")
            .bind(to);
    }
    if let Some(text) = f.q.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        // A prefix as a range on the byte-ordered sort key: an index range scan on both
        // databases, where LIKE would scan.
        let prefix = text.to_lowercase();
        q.push(" AND c.member_sort_name >= ").bind(prefix.clone());
        q.push(" AND c.member_sort_name < ")
            .bind(format!("{prefix}\u{10FFFF}"));
    }
    if let Some(m) = f.employee_member_id {
        q.push(" AND c.member_id = ").bind(m);
    }
    if f.visible_only {
        q.push(" AND c.credential_type_id IN (SELECT id FROM credential_types WHERE agency_id = ")
            .bind(agency_id);
        q.push(" AND invisible = ").bind(false).push(")");
    }
}

/// Credentials with their current issuance's details, by id (in chunks).
pub async fn list_rows_by_ids(
    tx: &mut Tx,
    agency_id: i64,
    ids: &[i64],
) -> Result<Vec<CredentialListRow>> {
    let mut out = Vec::with_capacity(ids.len());
    for_chunks(
        tx,
        ids,
        |chunk| {
            let mut q = SqlBuilder::new(format!(
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
