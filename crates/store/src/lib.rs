//! Persistence for Credence on SQLite or PostgreSQL with one set of SQL.
//!
//! Queries are written once with `$n` placeholders (both drivers accept them) and run through
//! [`Query`] on a [`Read`] connection or a write [`Tx`] of whichever database the [`Store`]
//! was opened on (see `conn` and `query`). Multi-row work is set-based, and every write runs
//! inside a [`Tx`] the caller commits.

use credence_domain::ids::AgencyId;
// The areas of DESIGN.md's architecture, as in the app and web crates.
pub mod auth;
pub mod backup;
pub mod catalog;
pub mod credentials;
pub mod documents;
pub mod imports;
pub mod notify;
pub mod ops;
pub mod people;
pub mod reports;
pub mod training;

mod conn;
pub mod migrate;
pub mod query;
mod sqlite_reads;
pub mod stored;

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgPool, SqlitePool};

pub use conn::{Conn, Read, Tx};
pub use query::{query, Arg, Query, Record, Scalar};
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

/// A database failure, with the violated constraint's name when there is one so callers can
/// turn it into a field error at one place.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("constraint {constraint} violated")]
    Constraint { constraint: String },
    #[error("database error: {0}")]
    Database(#[source] sqlx::Error),
    #[error("migration {version} failed: {source}")]
    Migration { version: i64, source: sqlx::Error },
    #[error("unsupported database url {0:?}: use sqlite://… or postgres://…")]
    UnsupportedUrl(String),
    /// A stored value the code cannot read (a JSON batch, an unknown enum value).
    #[error("corrupt data: {0}")]
    Corrupt(String),
    /// Something this database or deployment cannot do (a backup of PostgreSQL).
    #[error("{0}")]
    Unsupported(String),
}

/// Every driver error goes through [`StoreError::from_sqlx`], so `?` keeps the name of a
/// violated constraint wherever it is used.
impl From<sqlx::Error> for StoreError {
    fn from(err: sqlx::Error) -> Self {
        StoreError::from_sqlx(err)
    }
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
    ("users.email_folded", "users_email_folded_key"),
    ("one_time_links.token_hash", "one_time_links_hash_key"),
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
    (
        "qualifications.agency_id, qualifications.name",
        "qualifications_name_key",
    ),
];

fn sqlite_unique_name(columns: &str) -> String {
    SQLITE_UNIQUE_KEYS
        .iter()
        .find(|(cols, _)| *cols == columns)
        .map_or_else(|| columns.to_string(), |(_, name)| (*name).to_string())
}

/// Rows or ids per statement where they go as one JSON value (`query::json_rows`,
/// [`Query::bind_json_ids`]): a whole sweep batch is one statement.
pub const JSON_BATCH: usize = 20_000;

/// SQLite read connections: reads run in parallel with each other and with the writer (WAL).
const SQLITE_READERS: usize = 8;

/// Each SQLite connection's page cache unless the URL says otherwise (KiB; 64 MiB).
const SQLITE_CACHE_KIB: u64 = 65_536;

/// Takes Credence's own `cache_mib=N` option (each connection's page cache, in MiB) out of a
/// SQLite URL: the URL without it, and the cache size in KiB. sqlx refuses options it does not
/// know, and the cache is what an operator trades memory for speed with.
fn sqlite_cache_option(url: &str) -> Result<(String, u64)> {
    let Some((path, query)) = url.split_once('?') else {
        return Ok((url.to_string(), SQLITE_CACHE_KIB));
    };
    let mut cache_kib = SQLITE_CACHE_KIB;
    let mut rest = Vec::new();
    for pair in query.split('&') {
        match pair.strip_prefix("cache_mib=") {
            Some(mib) => {
                cache_kib = mib
                    .parse::<u64>()
                    .ok()
                    .filter(|m| (1..=65_536).contains(m))
                    .ok_or_else(|| {
                        StoreError::UnsupportedUrl(format!(
                            "{url} (cache_mib must be a whole number of MiB from 1 to 65536)"
                        ))
                    })?
                    * 1024;
            }
            None => rest.push(pair),
        }
    }
    let url = if rest.is_empty() {
        path.to_string()
    } else {
        format!("{path}?{}", rest.join("&"))
    };
    Ok((url, cache_kib))
}

/// SQLite's largest memory map (its compile-time cap, just under 2 GiB); a larger file is
/// mapped up to this size and read normally beyond it.
const SQLITE_MMAP_BYTES: &str = "2147418112";

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Converts any sqlx error to a [`StoreError`]; used as ``.
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
            let (url, cache_kib) = sqlite_cache_option(url)?;
            let options = SqliteConnectOptions::from_str(&url)?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(30))
                .foreign_keys(true)
                .pragma("cache_size", format!("-{cache_kib}"))
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
            Pools::Sqlite { write, .. } => Tx::sqlite(write.begin_with("BEGIN IMMEDIATE").await?),
            Pools::Postgres(pool) => Tx::postgres(pool.begin().await?),
        })
    }

    /// A connection for reads, outside any transaction: each statement sees what was
    /// committed when it started, as in PostgreSQL's READ COMMITTED transactions (a read
    /// transaction gave no more there), and a request saves the round trips of `BEGIN` and
    /// `COMMIT` — on PostgreSQL, four of an authenticated list request's six. SQLite's
    /// read connections are opened read-only, so nothing can write through them.
    pub async fn read(&self) -> Result<Read> {
        Ok(match &self.pools {
            Pools::Sqlite { read, .. } => Read::sqlite(read.acquire().await?),
            Pools::Postgres(pool) => Read::postgres(pool.acquire().await?),
        })
    }

    /// True when the database answers a trivial query.
    pub async fn ping(&self) -> bool {
        let mut tx = match self.read().await {
            Ok(tx) => tx,
            Err(_) => return false,
        };
        query("SELECT 1").execute(&mut tx).await.is_ok()
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

/// Current instant, as stored in `{TIMESTAMP}` columns.
pub fn now() -> chrono::DateTime<chrono::Utc> {
    chrono::Utc::now()
}

/// Takes a transaction-scoped lock named by `key` if no one else holds it. PostgreSQL uses an
/// advisory lock; SQLite's write transaction already excludes every other writer.
pub async fn try_lock(tx: &mut Tx, key: i64) -> Result<bool> {
    match tx.backend() {
        Backend::Sqlite => Ok(true),
        Backend::Postgres => {
            query("SELECT pg_try_advisory_xact_lock($1)")
                .arg(key)
                .scalar(tx)
                .await
        }
    }
}

/// Takes the transaction-scoped lock named by `key`, waiting for whoever holds it (see
/// [`try_lock`]).
pub async fn lock(tx: &mut Tx, key: i64) -> Result<()> {
    if tx.backend() == Backend::Postgres {
        query("SELECT pg_advisory_xact_lock($1)")
            .arg(key)
            .execute(tx)
            .await?;
    }
    Ok(())
}

/// Claims a daily job for `day` until `lease_until`: true when this caller should run it,
/// because no one has claimed it, or a claim was never finished and its lease has passed
/// (the instance running it died). False when it is finished, or another claim is live. The
/// conditional upsert decides in one statement, so two instances never both win.
pub async fn claim_daily_job(
    tx: &mut Tx,
    agency_id: AgencyId,
    job: &str,
    day: chrono::NaiveDate,
    lease_until: chrono::DateTime<chrono::Utc>,
) -> Result<bool> {
    let claimed = query(
        "INSERT INTO daily_job_runs (agency_id, job, ran_for, claimed_at, lease_until) \
         VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (agency_id, job, ran_for) DO UPDATE \
         SET claimed_at = excluded.claimed_at, lease_until = excluded.lease_until \
         WHERE daily_job_runs.finished_at IS NULL AND daily_job_runs.lease_until < excluded.claimed_at",
    )
    .arg(agency_id)
    .arg(job)
    .arg(day)
    .arg(now())
    .arg(lease_until)
    .execute(tx)
    .await?;
    Ok(claimed == 1)
}

/// Marks a claimed daily job done for `day`: it is not run again that day.
pub async fn finish_daily_job(
    tx: &mut Tx,
    agency_id: AgencyId,
    job: &str,
    day: chrono::NaiveDate,
) -> Result<()> {
    query("UPDATE daily_job_runs SET finished_at = $4 WHERE agency_id = $1 AND job = $2 AND ran_for = $3")
        .arg(agency_id)
        .arg(job)
        .arg(day)
        .arg(now())
        .execute(tx)
        .await?;
    Ok(())
}

/// Extends an unfinished claim to `lease_until`: the instance running the job is still at it.
/// (Should its claim have lapsed and been taken over, this extends the new claim, which is
/// just as well: that one is running.) False when the job is finished.
pub async fn renew_daily_job(
    tx: &mut Tx,
    agency_id: AgencyId,
    job: &str,
    day: chrono::NaiveDate,
    lease_until: chrono::DateTime<chrono::Utc>,
) -> Result<bool> {
    let renewed = query(
        "UPDATE daily_job_runs SET lease_until = $4 \
         WHERE agency_id = $1 AND job = $2 AND ran_for = $3 AND finished_at IS NULL",
    )
    .arg(agency_id)
    .arg(job)
    .arg(day)
    .arg(lease_until)
    .execute(tx)
    .await?;
    Ok(renewed == 1)
}

/// Gives up an unfinished claim at once (the job failed), so the next attempt need not wait
/// for the lease.
pub async fn release_daily_job(
    tx: &mut Tx,
    agency_id: AgencyId,
    job: &str,
    day: chrono::NaiveDate,
) -> Result<()> {
    query("UPDATE daily_job_runs SET lease_until = claimed_at WHERE agency_id = $1 AND job = $2 AND ran_for = $3 AND finished_at IS NULL")
        .arg(agency_id)
        .arg(job)
        .arg(day)
        .execute(tx)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cache_option_is_taken_out_of_a_sqlite_url() {
        assert_eq!(
            sqlite_cache_option("sqlite:///d/c.db").unwrap(),
            ("sqlite:///d/c.db".to_string(), SQLITE_CACHE_KIB)
        );
        assert_eq!(
            sqlite_cache_option("sqlite:///d/c.db?cache_mib=2").unwrap(),
            ("sqlite:///d/c.db".to_string(), 2048)
        );
        assert_eq!(
            sqlite_cache_option("sqlite:///d/c.db?mode=rwc&cache_mib=8").unwrap(),
            ("sqlite:///d/c.db?mode=rwc".to_string(), 8192)
        );
        for bad in ["0", "-1", "lots", "70000"] {
            let err = sqlite_cache_option(&format!("sqlite:///d/c.db?cache_mib={bad}"));
            assert!(err.is_err(), "{bad}");
        }
    }

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
