//! The two kinds of database handle: a [`Read`] connection and a write [`Tx`]ansaction, and
//! the [`Conn`] trait every query runs on.
//!
//! A function that only reads takes `&mut impl Conn` and works on either; a function that
//! writes takes `&mut Tx`, so a write cannot be handed a read connection (on SQLite those are
//! opened read-only, on PostgreSQL each statement would commit by itself).

use sqlx::pool::PoolConnection;
use sqlx::{PgConnection, Postgres, Sqlite, SqliteConnection, Transaction};

use crate::sqlite_reads::ReadConnection;
use crate::{Backend, Result};

/// A borrowed connection of either database, for [`crate::Query`]'s runners.
pub enum AnyConn<'c> {
    Sqlite(&'c mut SqliteConnection),
    Postgres(&'c mut PgConnection),
}

/// Something a query can run on: a [`Read`] connection or a [`Tx`].
pub trait Conn: Send {
    fn backend(&self) -> Backend;
    /// The underlying connection; only the query runners need it.
    fn any(&mut self) -> AnyConn<'_>;
}

/// A connection for reads, outside any transaction (see [`crate::Store::read`]).
pub struct Read(ReadInner);

enum ReadInner {
    Sqlite(ReadConnection),
    Postgres(PoolConnection<Postgres>),
}

/// A write transaction; dropped without [`Tx::commit`], it rolls back. It also carries the
/// audit events recorded in it, appended to the agency's chain when it commits (see
/// `ops::audit`).
pub struct Tx {
    inner: TxInner,
    pub(crate) audit: Vec<crate::ops::audit::Pending>,
}

enum TxInner {
    Sqlite(Transaction<'static, Sqlite>),
    Postgres(Transaction<'static, Postgres>),
}

impl Read {
    pub(crate) fn sqlite(conn: ReadConnection) -> Read {
        Read(ReadInner::Sqlite(conn))
    }

    pub(crate) fn postgres(conn: PoolConnection<Postgres>) -> Read {
        Read(ReadInner::Postgres(conn))
    }
}

impl Conn for Read {
    fn backend(&self) -> Backend {
        match self.0 {
            ReadInner::Sqlite(_) => Backend::Sqlite,
            ReadInner::Postgres(_) => Backend::Postgres,
        }
    }

    fn any(&mut self) -> AnyConn<'_> {
        match &mut self.0 {
            ReadInner::Sqlite(c) => AnyConn::Sqlite(c),
            ReadInner::Postgres(c) => AnyConn::Postgres(c),
        }
    }
}

impl Tx {
    pub(crate) fn sqlite(t: Transaction<'static, Sqlite>) -> Tx {
        Tx {
            inner: TxInner::Sqlite(t),
            audit: Vec::new(),
        }
    }

    pub(crate) fn postgres(t: Transaction<'static, Postgres>) -> Tx {
        Tx {
            inner: TxInner::Postgres(t),
            audit: Vec::new(),
        }
    }

    /// Appends the audit events recorded in the transaction, then commits.
    pub async fn commit(mut self) -> Result<()> {
        let audit = std::mem::take(&mut self.audit);
        if !audit.is_empty() {
            crate::ops::audit::append(&mut self, audit).await?;
        }
        match self.inner {
            TxInner::Sqlite(t) => t.commit().await?,
            TxInner::Postgres(t) => t.commit().await?,
        }
        Ok(())
    }

    /// Ends the transaction writing nothing (a dry run), at once rather than on drop; its
    /// audit events are dropped with it.
    pub async fn rollback(self) -> Result<()> {
        match self.inner {
            TxInner::Sqlite(t) => t.rollback().await?,
            TxInner::Postgres(t) => t.rollback().await?,
        }
        Ok(())
    }

    /// Runs a script of several statements without parameters (migrations).
    pub(crate) async fn execute_script(&mut self, sql: &str) -> Result<(), sqlx::Error> {
        match &mut self.inner {
            TxInner::Sqlite(t) => sqlx::raw_sql(sql).execute(&mut **t).await.map(drop),
            TxInner::Postgres(t) => sqlx::raw_sql(sql).execute(&mut **t).await.map(drop),
        }
    }
}

impl Conn for Tx {
    fn backend(&self) -> Backend {
        match self.inner {
            TxInner::Sqlite(_) => Backend::Sqlite,
            TxInner::Postgres(_) => Backend::Postgres,
        }
    }

    fn any(&mut self) -> AnyConn<'_> {
        match &mut self.inner {
            TxInner::Sqlite(t) => AnyConn::Sqlite(t),
            TxInner::Postgres(t) => AnyConn::Postgres(t),
        }
    }
}
