//! Stored files (external certificates, generated certificates, supporting documents)
//! through `object_store`: a local directory by default, an S3-compatible bucket when
//! configured. Keys are generated here; nothing a user sends ever becomes part of a path.

use credence_domain::ids::AgencyId;
use std::sync::Arc;
use std::time::Duration;

use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use sha2::{Digest, Sha256};

use crate::{AppError, Result};

#[derive(Clone, Debug)]
pub struct Files {
    store: Arc<dyn ObjectStore>,
}

impl Files {
    /// Files kept in memory only: for tests and short-lived tools.
    pub fn in_memory() -> Files {
        Files {
            store: Arc::new(object_store::memory::InMemory::new()),
        }
    }

    /// Files under a local directory, created if missing.
    pub fn local(dir: &std::path::Path) -> Result<Files> {
        std::fs::create_dir_all(dir)
            .map_err(|e| AppError::internal(format!("creating {}: {e}", dir.display())))?;
        let store = object_store::local::LocalFileSystem::new_with_prefix(dir)
            .map_err(|e| AppError::internal(e.to_string()))?;
        Ok(Files {
            store: Arc::new(store),
        })
    }

    /// Files in an S3-compatible bucket (`s3://bucket`); endpoint, region and keys come from
    /// the usual `AWS_*` variables (`AWS_ENDPOINT` for MinIO and the like; see
    /// docs/operations.md).
    ///
    /// object_store's defaults retry a failed request ten times within up to three minutes
    /// (each attempt may wait 30 s for a server that does not answer), holding the user's
    /// request all along. Here a request gives up after three retries within ten seconds
    /// and the caller is told the storage is unreachable (see [`storage_error`]).
    pub fn s3(url: &str) -> std::result::Result<Files, String> {
        let bucket = url
            .strip_prefix("s3://")
            .map(|b| b.trim_end_matches('/'))
            .filter(|b| !b.is_empty() && !b.contains('/'))
            .ok_or_else(|| format!("the files URL {url:?} must look like s3://bucket"))?;
        // reqwest is built without a default TLS provider (see the workspace manifest).
        let _ = rustls::crypto::ring::default_provider().install_default();
        let retry = object_store::RetryConfig {
            backoff: object_store::BackoffConfig {
                init_backoff: Duration::from_millis(100),
                max_backoff: Duration::from_secs(2),
                base: 2.0,
            },
            max_retries: 3,
            retry_timeout: Duration::from_secs(10),
        };
        let store = object_store::aws::AmazonS3Builder::from_env()
            .with_bucket_name(bucket)
            .with_retry(retry)
            .build()
            .map_err(|e| format!("configuring S3 for {url:?}: {e}"))?;
        Ok(Files {
            store: Arc::new(store),
        })
    }

    pub async fn put(&self, key: &str, bytes: Vec<u8>) -> Result<()> {
        self.store
            .put(&ObjectPath::from(key), PutPayload::from(bytes))
            .await
            .map(|_| ())
            .map_err(|e| storage_error("storing", key, e))
    }

    pub async fn get(&self, key: &str) -> Result<Vec<u8>> {
        let found = self
            .store
            .get(&ObjectPath::from(key))
            .await
            .map_err(|e| storage_error("reading", key, e))?;
        let bytes = found
            .bytes()
            .await
            .map_err(|e| storage_error("reading", key, e))?;
        Ok(bytes.to_vec())
    }

    /// Best effort: used to undo a write whose transaction failed.
    pub async fn delete(&self, key: &str) {
        if let Err(e) = self.store.delete(&ObjectPath::from(key)).await {
            tracing::warn!(key, error = %e, "could not remove an orphaned file");
        }
    }
}

/// A storage failure as the caller should see it. A file that is not there although a row
/// names it is our fault (500, logged). Anything else (the storage server down, refusing
/// the credentials, timing out) is the operator's to fix: 503 with words that say so and
/// that nothing was saved; the cause goes to the log, not to the client.
fn storage_error(doing: &str, key: &str, e: object_store::Error) -> AppError {
    if let object_store::Error::NotFound { .. } = e {
        return AppError::internal(format!("{doing} {key}: the stored file is missing: {e}"));
    }
    tracing::error!(key, error = %e, "file storage failed while {doing} a file");
    let what = if doing == "storing" {
        "the file storage could not be reached, so nothing was saved; try again in a moment"
    } else {
        "the file storage could not be reached; try again in a moment"
    };
    AppError::Unavailable(what.to_string())
}

/// A fresh storage key for a file of an agency: `{agency}/{random}.{ext}`.
pub fn new_key(agency_id: AgencyId, ext: &str) -> String {
    let random = crate::auth::new_secret("").replace(['-', '_'], "x");
    format!("{agency_id}/{random}.{ext}")
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
