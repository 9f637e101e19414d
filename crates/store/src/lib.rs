//! Persistence for Credence on SQLite or PostgreSQL with one set of SQL.
//!
//! Queries are written once with `$n` placeholders (both drivers accept them) and run on
//! whichever database the [`Store`] was opened on; the [`on_conn!`] macro expands one query
//! expression for both connection types so the code path stays single. Multi-row work is
//! set-based, and every write runs inside a [`Tx`] the caller commits.

mod args;
pub mod audit;
pub mod catalog;
pub mod certificates;
pub mod credential_types;
pub mod credentials;
pub mod identity;
pub mod members;
pub mod migrate;
pub mod outbox;
pub mod renewal_plans;
pub mod reports;
pub mod seed;
mod sqlite_reads;
pub mod submissions;
pub mod training;

use std::str::FromStr;
use std::time::Duration;

use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgPool, Postgres, Sqlite, SqlitePool, Transaction};

pub use args::{Arg, SqlBuilder};
pub use sqlite_reads::ReadConnection;
use sqlite_reads::ReadPool;

/// Which database a store talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Clone)]
enum Pools {
    /// One writer connection: SQLite allows one writer at a time, so writers queue in the
    /// pool instead of failing with SQLITE_BUSY; readers use their own connections (WAL).
    Sqlite {
        read: ReadPool,
        write: SqlitePool,
    },
    Postgres(PgPool),
}

/// A handle to the database, cheap to clone.
#[derive(Clone)]
pub struct Store {
    pools: Pools,
}

/// A unit of work on either database: a transaction for writes, a plain pooled connection
/// for reads (see [`Store::read`]).
pub enum Tx {
    Sqlite(Transaction<'static, Sqlite>),
    Postgres(Transaction<'static, Postgres>),
    SqliteRead(ReadConnection),
    PostgresRead(PoolConnection<Postgres>),
}

/// Runs `$body` with `$c` bound to the transaction's connection, for either database.
#[macro_export]
macro_rules! on_conn {
    ($tx:expr, $c:ident => $body:expr) => {
        match $tx {
            $crate::Tx::Sqlite(t) => {
                let $c = &mut **t;
                $body
            }
            $crate::Tx::Postgres(t) => {
                let $c = &mut **t;
                $body
            }
            $crate::Tx::SqliteRead(t) => {
                let $c = &mut **t;
                $body
            }
            $crate::Tx::PostgresRead(t) => {
                let $c = &mut **t;
                $body
            }
        }
    };
}

/// A database failure, with the violated constraint's name when there is one so callers can
/// turn it into a field error at one place.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("constraint {constraint} violated")]
    Constraint { constraint: String },
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration {version} failed: {source}")]
    Migration { version: i64, source: sqlx::Error },
    #[error("unsupported database url {0:?}: use sqlite://… or postgres://…")]
    UnsupportedUrl(String),
    /// A programming error: the call needs a write transaction.
    #[error("{0}")]
    Misuse(&'static str),
}

impl StoreError {
    /// Converts a driver error, pulling out the constraint name of unique, check and
    /// foreign-key violations on both databases.
    pub fn from_sqlx(err: sqlx::Error) -> StoreError {
        if let sqlx::Error::Database(db) = &err {
            if let Some(name) = db.constraint() {
                return StoreError::Constraint {
                    constraint: name.to_string(),
                };
            }
            // SQLite reports the columns, not the constraint name, of UNIQUE violations;
            // map them back to the names the migrations give.
            let msg = db.message();
            if let Some(cols) = msg.strip_prefix("UNIQUE constraint failed: ") {
                return StoreError::Constraint {
                    constraint: sqlite_unique_name(cols),
                };
            }
            if let Some(rest) = msg.strip_prefix("CHECK constraint failed: ") {
                return StoreError::Constraint {
                    constraint: rest.trim().to_string(),
                };
            }
        }
        StoreError::Database(err)
    }

    pub fn constraint(&self) -> Option<&str> {
        match self {
            StoreError::Constraint { constraint } => Some(constraint),
            _ => None,
        }
    }
}

/// SQLite names the columns of a violated UNIQUE constraint, not the constraint; this is the
/// one place that maps them back to the names the migrations give.
const SQLITE_UNIQUE_KEYS: &[(&str, &str)] = &[
    ("agencies.slug", "agencies_slug_key"),
    ("users.email", "users_email_key"),
    ("api_tokens.token_hash", "api_tokens_hash_key"),
    (
        "members.agency_id, members.employee_number",
        "members_employee_number_key",
    ),
    ("members.agency_id, members.email", "members_email_key"),
    (
        "agency_groups.agency_id, agency_groups.name",
        "agency_groups_name_key",
    ),
    ("courses.agency_id, courses.code", "courses_code_key"),
    (
        "credential_types.agency_id, credential_types.code",
        "credential_types_code_key",
    ),
    (
        "certificate_templates.agency_id, certificate_templates.name",
        "certificate_templates_name_key",
    ),
    (
        "credentials.agency_id, credentials.member_id, credentials.credential_type_id",
        "credentials_member_type_key",
    ),
    (
        "issuances.agency_id, issuances.credential_type_id, issuances.credential_number",
        "issuances_number_key",
    ),
    (
        "renewal_plans.agency_id, renewal_plans.credential_type_id",
        "renewal_plans_type_key",
    ),
    ("outbox.agency_id, outbox.dedupe_key", "outbox_dedupe_key"),
    ("certificates.public_id", "certificates_public_id_key"),
];

fn sqlite_unique_name(columns: &str) -> String {
    SQLITE_UNIQUE_KEYS
        .iter()
        .find(|(cols, _)| *cols == columns)
        .map_or_else(|| columns.to_string(), |(_, name)| (*name).to_string())
}

/// Values bound per statement. SQLite finds each numbered parameter by a linear scan of
/// the statement's parameter names, so binding costs grow with the square of their count:
/// at 1,000 that scan was a quarter of the SQLite sweep's time (perf); 250 makes it small
/// while a statement still writes dozens of rows.
pub const MAX_BINDS: usize = 250;

/// Ids per `IN (…)` list, leaving room for a few other values.
///
/// Lookups of a chunk of row ids write the tenant test as `+agency_id = $1 AND id IN (…)`.
/// Every secondary index leads with `agency_id`, and SQLite without statistics assumes an
/// equality on an indexed column matches a handful of rows, so it would walk the whole
/// agency through such an index (~100 ms per chunk at 1M credentials) instead of doing
/// 990 primary-key lookups (~0.1 ms). The unary plus makes the term unindexable on both
/// databases; it still filters every row, so tenancy holds.
pub const CHUNK: usize = MAX_BINDS - 10;

/// Rows or ids per statement where they go as one JSON value (`args::json_rows`,
/// `args::json_ids`, [`SqlBuilder::bind_json_ids`]): a whole sweep batch is one statement.
pub const JSON_BATCH: usize = 20_000;

/// Rows per multi-row statement for rows of `binds_per_row` values.
pub const fn rows_per_statement(binds_per_row: usize) -> usize {
    MAX_BINDS / binds_per_row
}

/// SQLite read connections: reads run in parallel with each other and with the writer (WAL).
const SQLITE_READERS: usize = 8;

/// SQLite's largest memory map (its compile-time cap, just under 2 GiB); a larger file is
/// mapped up to this size and read normally beyond it.
const SQLITE_MMAP_BYTES: &str = "2147418112";

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Converts any sqlx error to a [`StoreError`]; used as `.map_err(db)`.
pub fn db(err: sqlx::Error) -> StoreError {
    StoreError::from_sqlx(err)
}

impl Store {
    /// Opens the database at `url` (`sqlite://PATH` or `postgres://…`), creating a SQLite
    /// file when missing.
    pub async fn connect(url: &str) -> Result<Store> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            // PostgreSQL's default plan caching stays on: forcing a custom plan per execution
            // also re-plans every foreign-key check (they are cached SPI plans), which made
            // bulk inserts twice as slow. A connection is not pinged before each use (a round
            // trip per request); sqlx pings it when it goes back to the pool, so one that
            // died drops out after its failing use.
            let options = PgConnectOptions::from_str(url)?;
            let pool = PgPoolOptions::new()
                .max_connections(16)
                .test_before_acquire(false)
                .acquire_timeout(Duration::from_secs(10))
                .connect_with(options)
                .await?;
            Ok(Store {
                pools: Pools::Postgres(pool),
            })
        } else if url.starts_with("sqlite:") {
            let options = SqliteConnectOptions::from_str(url)?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(30))
                .foreign_keys(true)
                .pragma("cache_size", "-65536")
                // Reads through a memory map share the operating system's page cache: the
                // pool's connections take turns, and each one's private page cache (copies
                // of the same pages) made a warm list query twice as slow.
                .pragma("mmap_size", SQLITE_MMAP_BYTES);
            let write = SqlitePoolOptions::new()
                .max_connections(1)
                .acquire_timeout(Duration::from_secs(60))
                .connect_with(options.clone())
                .await?;
            // A SQLite connection is a file handle: nothing to ping before or after each use.
            let read = ReadPool::connect(options.read_only(true), SQLITE_READERS).await?;
            Ok(Store {
                pools: Pools::Sqlite { read, write },
            })
        } else {
            Err(StoreError::UnsupportedUrl(url.to_string()))
        }
    }

    pub fn backend(&self) -> Backend {
        match self.pools {
            Pools::Sqlite { .. } => Backend::Sqlite,
            Pools::Postgres(_) => Backend::Postgres,
        }
    }

    /// Starts a write transaction. On SQLite it takes the write lock up front
    /// (`BEGIN IMMEDIATE`), so a second process queues on the busy timeout instead of
    /// failing halfway.
    pub async fn begin(&self) -> Result<Tx> {
        Ok(match &self.pools {
            Pools::Sqlite { write, .. } => Tx::Sqlite(write.begin_with("BEGIN IMMEDIATE").await?),
            Pools::Postgres(pool) => Tx::Postgres(pool.begin().await?),
        })
    }

    /// A connection for reads, outside any transaction: each statement sees what was
    /// committed when it started, as in PostgreSQL's READ COMMITTED transactions (a read
    /// transaction gave no more there), and a request saves the round trips of `BEGIN` and
    /// `COMMIT` — on PostgreSQL, four of an authenticated list request's six. SQLite's
    /// read connections are opened read-only, so nothing can write through them.
    pub async fn read(&self) -> Result<Tx> {
        Ok(match &self.pools {
            Pools::Sqlite { read, .. } => Tx::SqliteRead(read.acquire().await?),
            Pools::Postgres(pool) => Tx::PostgresRead(pool.acquire().await?),
        })
    }

    /// True when the database answers a trivial query.
    pub async fn ping(&self) -> bool {
        let mut tx = match self.read().await {
            Ok(tx) => tx,
            Err(_) => return false,
        };
        on_conn!(&mut tx, c => sqlx::query("SELECT 1").execute(c).await.map(|r| r.rows_affected()))
            .is_ok()
    }

    pub async fn close(&self) {
        match &self.pools {
            Pools::Sqlite { read, write } => {
                read.close().await;
                write.close().await;
            }
            Pools::Postgres(pool) => pool.close().await,
        }
    }
}

impl Tx {
    pub async fn commit(self) -> Result<()> {
        match self {
            Tx::Sqlite(t) => t.commit().await?,
            Tx::Postgres(t) => t.commit().await?,
            Tx::SqliteRead(_) | Tx::PostgresRead(_) => {}
        }
        Ok(())
    }

    pub fn backend(&self) -> Backend {
        match self {
            Tx::Sqlite(_) | Tx::SqliteRead(_) => Backend::Sqlite,
            Tx::Postgres(_) | Tx::PostgresRead(_) => Backend::Postgres,
        }
    }
}

/// Current instant, as stored in `{TIMESTAMP}` columns.
pub fn now() -> chrono::DateTime<chrono::Utc> {
    chrono::Utc::now()
}

/// Takes a transaction-scoped lock named by `key` if no one else holds it. PostgreSQL uses an
/// advisory lock; SQLite's write transaction already excludes every other writer.
pub async fn try_lock(tx: &mut Tx, key: i64) -> Result<bool> {
    match tx {
        Tx::Sqlite(_) => Ok(true),
        Tx::Postgres(t) => Ok(sqlx::query_scalar("SELECT pg_try_advisory_xact_lock($1)")
            .bind(key)
            .fetch_one(&mut **t)
            .await?),
        // A lock held until the end of a transaction needs one.
        Tx::SqliteRead(_) | Tx::PostgresRead(_) => {
            Err(StoreError::Misuse("try_lock needs a write transaction"))
        }
    }
}

/// Records that a daily job ran for `day`; false when it already had (another instance, or
/// an earlier start the same day).
pub async fn claim_daily_job(
    tx: &mut Tx,
    agency_id: i64,
    job: &str,
    day: chrono::NaiveDate,
) -> Result<bool> {
    let inserted = on_conn!(tx, c => sqlx::query(
        "INSERT INTO job_runs (agency_id, job, ran_for, finished_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING")
        .bind(agency_id).bind(job).bind(day).bind(now()).execute(c).await.map(|r| r.rows_affected())).map_err(db)?;
    Ok(inserted == 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_unique_violations_map_to_migration_names() {
        assert_eq!(
            sqlite_unique_name("members.agency_id, members.employee_number"),
            "members_employee_number_key"
        );
        assert_eq!(
            sqlite_unique_name("credential_types.agency_id, credential_types.code"),
            "credential_types_code_key"
        );
        assert_eq!(sqlite_unique_name("agencies.slug"), "agencies_slug_key");
        assert_eq!(sqlite_unique_name("users.email"), "users_email_key");
        assert_eq!(
            sqlite_unique_name("api_tokens.token_hash"),
            "api_tokens_hash_key"
        );
        assert_eq!(
            sqlite_unique_name(
                "issuances.agency_id, issuances.credential_type_id, issuances.credential_number"
            ),
            "issuances_number_key"
        );
        assert_eq!(
            sqlite_unique_name(
                "credentials.agency_id, credentials.member_id, credentials.credential_type_id"
            ),
            "credentials_member_type_key"
        );
    }
}
