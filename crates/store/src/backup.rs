//! Backups of a SQLite deployment while it runs (`credence backup` / `credence restore`).
//!
//! A backup is `VACUUM INTO` through a read connection: SQLite writes a compact copy of one
//! consistent snapshot (the database as of the moment the statement started) while writers
//! carry on in the WAL. It goes to a temporary file beside the target and is renamed into
//! place only once complete and synced, so a failed or interrupted backup never leaves a
//! half-written file under the name asked for. PostgreSQL deployments use `pg_dump`, which
//! does the same job better than anything this binary could.

use std::path::{Path, PathBuf};

use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Connection};

use crate::{query, Backend, Result, Store, StoreError};

/// Why a file cannot be restored.
#[derive(Debug, thiserror::Error)]
pub enum RestoreError {
    #[error("{0} is not a SQLite database: {1}")]
    NotSqlite(String, String),
    #[error("{0} failed SQLite's integrity check: {1}")]
    Damaged(String, String),
    #[error("{0} is a SQLite database but not a Credence one (no credence_migrations table)")]
    NotCredence(String),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

impl Store {
    /// Writes a consistent copy of the whole database to `to` (which must not exist).
    pub async fn backup_to(&self, to: &Path) -> Result<()> {
        if self.backend() == Backend::Postgres {
            return Err(StoreError::Unsupported(
                "backup copies SQLite deployments; for PostgreSQL use pg_dump (see docs/operations.md)"
                    .into(),
            ));
        }
        if to.exists() {
            return Err(StoreError::Unsupported(format!(
                "{} exists; a backup never overwrites a file",
                to.display()
            )));
        }
        let partial = partial_path(to);
        let _ = std::fs::remove_file(&partial);
        let mut db = self.read().await?;
        let written = query("VACUUM INTO $1")
            .arg(partial.display().to_string())
            .execute(&mut db)
            .await;
        drop(db);
        if let Err(e) = written.and_then(|_| sync_and_rename(&partial, to).map_err(io)) {
            let _ = std::fs::remove_file(&partial);
            return Err(e);
        }
        Ok(())
    }
}

/// Checks that `file` is an intact Credence SQLite database; answers its schema version.
pub async fn check_backup(file: &Path) -> std::result::Result<i64, RestoreError> {
    let name = file.display().to_string();
    if !file.is_file() {
        return Err(RestoreError::NotSqlite(name, "no such file".into()));
    }
    let options = SqliteConnectOptions::new().filename(file).read_only(true);
    let mut conn = options
        .connect()
        .await
        .map_err(|e| RestoreError::NotSqlite(name.clone(), e.to_string()))?;
    let check: std::result::Result<String, sqlx::Error> =
        sqlx::query_scalar("PRAGMA integrity_check")
            .fetch_one(&mut conn)
            .await;
    match check {
        Ok(ok) if ok == "ok" => {}
        Ok(problem) => return Err(RestoreError::Damaged(name, problem)),
        Err(e) => return Err(RestoreError::NotSqlite(name, e.to_string())),
    }
    let version: std::result::Result<Option<i64>, sqlx::Error> =
        sqlx::query_scalar("SELECT MAX(version) FROM credence_migrations")
            .fetch_one(&mut conn)
            .await;
    let _ = conn.close().await;
    match version {
        Ok(Some(v)) => Ok(v),
        _ => Err(RestoreError::NotCredence(name)),
    }
}

/// Puts the backup `from` in place of the SQLite database at `database` (the server must be
/// stopped): checked first, copied beside the database, synced, then renamed over it, with
/// the old write-ahead log removed so none of it is replayed onto the restored file.
pub async fn restore(from: &Path, database: &Path) -> std::result::Result<i64, RestoreError> {
    let version = check_backup(from).await?;
    if let Some(dir) = database.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let partial = partial_path(database);
    std::fs::copy(from, &partial)?;
    for suffix in ["-wal", "-shm"] {
        let mut side = database.as_os_str().to_owned();
        side.push(suffix);
        match std::fs::remove_file(PathBuf::from(side)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e.into()),
            _ => {}
        }
    }
    sync_and_rename(&partial, database)?;
    Ok(version)
}

fn partial_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(format!(".partial-{}", std::process::id()));
    PathBuf::from(name)
}

/// Flushes `partial` to disk and renames it to `to`, then flushes the directory entry.
fn sync_and_rename(partial: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::File::open(partial)?.sync_all()?;
    std::fs::rename(partial, to)?;
    if let Some(dir) = to.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}

fn io(e: std::io::Error) -> StoreError {
    StoreError::Unsupported(format!("writing the backup: {e}"))
}
