//! SQLite's read connections, kept in a small pool of our own instead of sqlx's.
//!
//! sqlx's pool pings every connection it takes back, and a SQLite ping is a round trip
//! through the connection's worker thread: two more thread wake-ups for each read, which perf
//! showed as a large share of a list request's CPU on SQLite. A read-only SQLite connection
//! is an open file with nothing to go stale, so this pool hands connections back as they are.
//! A read whose future is dropped half-way is safe to reuse: the worker finishes or abandons
//! that statement before it takes the next command, and read connections hold no transaction.

use std::ops::{Deref, DerefMut};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use sqlx::{ConnectOptions, Connection};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// How long a read waits for a free connection before it fails, as sqlx's pool did.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(30);

/// Up to `max` read connections, opened on first need and reused most-recent-first (the
/// connection whose worker thread and pages were used last is the warmest).
#[derive(Clone)]
pub(crate) struct ReadPool {
    inner: Arc<Inner>,
}

struct Inner {
    options: SqliteConnectOptions,
    idle: Mutex<Vec<SqliteConnection>>,
    permits: Arc<Semaphore>,
}

/// A read connection out of the pool; it goes back when dropped.
pub struct ReadConnection {
    conn: Option<SqliteConnection>,
    pool: Arc<Inner>,
    _permit: OwnedSemaphorePermit,
}

impl ReadPool {
    /// Opens one connection at once, so a bad path or option fails at start-up.
    pub(crate) async fn connect(options: SqliteConnectOptions, max: usize) -> sqlx::Result<Self> {
        let first = options.connect().await?;
        Ok(ReadPool {
            inner: Arc::new(Inner {
                options,
                idle: Mutex::new(vec![first]),
                permits: Arc::new(Semaphore::new(max)),
            }),
        })
    }

    pub(crate) async fn acquire(&self) -> sqlx::Result<ReadConnection> {
        let permit =
            tokio::time::timeout(ACQUIRE_TIMEOUT, self.inner.permits.clone().acquire_owned())
                .await
                .map_err(|_| sqlx::Error::PoolTimedOut)?
                .map_err(|_| sqlx::Error::PoolClosed)?;
        let idle = self.inner.idle().pop();
        let conn = match idle {
            Some(conn) => conn,
            None => self.inner.options.connect().await?,
        };
        Ok(ReadConnection {
            conn: Some(conn),
            pool: Arc::clone(&self.inner),
            _permit: permit,
        })
    }

    /// Refuses new reads and closes the idle connections; ones in use close when dropped.
    pub(crate) async fn close(&self) {
        self.inner.permits.close();
        let idle = std::mem::take(&mut *self.inner.idle());
        for conn in idle {
            // Closing only fails on a connection that is already broken.
            let _ = conn.close().await;
        }
    }
}

impl Inner {
    fn idle(&self) -> MutexGuard<'_, Vec<SqliteConnection>> {
        // The list stays consistent even if a holder panicked: push and pop are whole.
        self.idle
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Deref for ReadConnection {
    type Target = SqliteConnection;

    fn deref(&self) -> &SqliteConnection {
        self.conn
            .as_ref()
            .expect("a read connection is present until dropped")
    }
}

impl DerefMut for ReadConnection {
    fn deref_mut(&mut self) -> &mut SqliteConnection {
        self.conn
            .as_mut()
            .expect("a read connection is present until dropped")
    }
}

impl Drop for ReadConnection {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            if !self.pool.permits.is_closed() {
                self.pool.idle().push(conn);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use super::*;

    /// Each in-memory connection is its own database, so a table marks a connection.
    fn options() -> SqliteConnectOptions {
        SqliteConnectOptions::from_str("sqlite::memory:").expect("valid url")
    }

    #[tokio::test]
    async fn the_last_returned_connection_is_reused_and_reads_wait_when_all_are_out() {
        let pool = ReadPool::connect(options(), 2).await.unwrap();
        let mut first = pool.acquire().await.unwrap();
        sqlx::query("CREATE TABLE marker (x)")
            .execute(&mut *first)
            .await
            .unwrap();
        let second = pool.acquire().await.unwrap();
        let third = tokio::time::timeout(Duration::from_millis(50), pool.acquire()).await;
        assert!(third.is_err(), "a third read must wait while two are out");

        drop(second);
        drop(first);
        let mut again = pool.acquire().await.unwrap();
        let marked = sqlx::query("SELECT x FROM marker")
            .fetch_all(&mut *again)
            .await;
        assert!(
            marked.is_ok(),
            "the most recently returned connection comes back first"
        );
    }

    #[tokio::test]
    async fn a_read_abandoned_half_way_leaves_its_connection_usable() {
        let pool = ReadPool::connect(options(), 1).await.unwrap();
        let mut conn = pool.acquire().await.unwrap();
        let long = sqlx::query_scalar::<_, i64>(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 5000000)
             SELECT count(*) FROM n",
        )
        .fetch_one(&mut *conn);
        let abandoned = tokio::time::timeout(Duration::from_millis(20), long).await;
        assert!(abandoned.is_err(), "the long read should still be running");
        drop(conn);

        let mut conn = pool.acquire().await.unwrap();
        let one: i64 = sqlx::query_scalar("SELECT 1")
            .fetch_one(&mut *conn)
            .await
            .unwrap();
        assert_eq!(one, 1);
    }

    #[tokio::test]
    async fn a_closed_pool_refuses_reads() {
        let pool = ReadPool::connect(options(), 1).await.unwrap();
        pool.close().await;
        assert!(matches!(pool.acquire().await, Err(sqlx::Error::PoolClosed)));
    }
}
