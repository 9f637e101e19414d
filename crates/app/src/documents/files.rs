//! Stored files (external certificates, generated certificates, supporting documents)
//! through `object_store`: a local directory by default, an S3-compatible bucket when
//! configured. Keys are generated here; nothing a user sends ever becomes part of a path.

use credence_domain::ids::AgencyId;
use std::sync::Arc;

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
    /// the usual `AWS_*` variables (`AWS_ENDPOINT` for MinIO and the like).
    pub fn s3(url: &str) -> std::result::Result<Files, String> {
        let bucket = url
            .strip_prefix("s3://")
            .map(|b| b.trim_end_matches('/'))
            .filter(|b| !b.is_empty() && !b.contains('/'))
            .ok_or_else(|| format!("the files URL {url:?} must look like s3://bucket"))?;
        // reqwest is built without a default TLS provider (see the workspace manifest).
        let _ = rustls::crypto::ring::default_provider().install_default();
        let store = object_store::aws::AmazonS3Builder::from_env()
            .with_bucket_name(bucket)
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
            .map_err(|e| AppError::internal(format!("storing {key}: {e}")))
    }

    pub async fn get(&self, key: &str) -> Result<Vec<u8>> {
        let found = self
            .store
            .get(&ObjectPath::from(key))
            .await
            .map_err(|e| AppError::internal(format!("reading {key}: {e}")))?;
        let bytes = found
            .bytes()
            .await
            .map_err(|e| AppError::internal(format!("reading {key}: {e}")))?;
        Ok(bytes.to_vec())
    }

    /// Best effort: used to undo a write whose transaction failed.
    pub async fn delete(&self, key: &str) {
        if let Err(e) = self.store.delete(&ObjectPath::from(key)).await {
            tracing::warn!(key, error = %e, "could not remove an orphaned file");
        }
    }
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
