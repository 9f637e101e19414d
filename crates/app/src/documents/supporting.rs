//! Supporting documents of an issuance (seed 002): files an officer attaches when issuing
//! (an exam result, a signed skills sheet). Checked by content like every upload and
//! stored under generated keys.

use chrono::{DateTime, Utc};
use credence_domain::ids::{FileId, IssuanceId, MemberId};
use credence_store::documents::certificates::{self as store, FileRow};
use credence_store::training::submissions::{insert_file, NewFile};
use serde::Serialize;

use crate::training::submissions::{check_upload, display_name};
use crate::{Actor, App, AppError, Officer, Result};

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FileView {
    #[schema(value_type = String)]
    pub id: FileId,
    pub name: String,
    pub content_type: String,
    pub size_bytes: i64,
    pub sha256: String,
    pub uploaded_by: String,
    pub created_at: DateTime<Utc>,
}

pub(crate) fn file_view(f: FileRow) -> FileView {
    FileView {
        id: f.id,
        name: f.original_name,
        content_type: f.content_type,
        size_bytes: f.size_bytes,
        sha256: f.sha256,
        uploaded_by: f.uploaded_by,
        created_at: f.created_at,
    }
}

impl App {
    /// The member an issuance belongs to, if it is the agency's.
    async fn issuance_member(
        &self,
        actor: &Actor,
        id: IssuanceId,
    ) -> Result<(IssuanceId, MemberId)> {
        let mut tx = self.store.read().await?;
        let facts = store::issuance_facts(&mut tx, actor.agency_id, &[id]).await?;
        let (facts, _) = facts.into_iter().next().ok_or(AppError::NotFound)?;
        if !actor.sees_member(facts.member_id) {
            return Err(AppError::NotFound);
        }
        Ok((id, facts.member_id))
    }

    /// Attaches a supporting document to an issuance.
    #[tracing::instrument(skip_all, fields(agency = %actor.agency_id, actor = %actor.label))]
    pub async fn attach_document(
        &self,
        actor: &Officer,
        issuance_id: IssuanceId,
        file_name: &str,
        bytes: Vec<u8>,
    ) -> Result<FileView> {
        let (issuance, _) = self.issuance_member(actor, issuance_id).await?;
        let name = display_name(file_name);
        let (content_type, ext) =
            check_upload(&name, &bytes).map_err(|m| AppError::invalid("file", m))?;
        let key = crate::documents::files::new_key(actor.agency_id, ext);
        let sha = crate::documents::files::sha256_hex(&bytes);
        let size = bytes.len() as i64;
        self.files.put(&key, bytes).await?;
        let written = async {
            let mut tx = self.store.begin().await?;
            let file_id = insert_file(
                &mut tx,
                actor.agency_id,
                &NewFile {
                    storage_key: &key,
                    original_name: &name,
                    content_type,
                    size_bytes: size,
                    sha256: &sha,
                    owner_kind: "issuance",
                    owner_id: issuance.get(),
                    uploaded_by: &actor.label,
                },
            )
            .await?;
            crate::ops::audit::record(
                &mut tx,
                actor,
                "attach",
                issuance,
                None,
                Some(&serde_json::json!({"file": name, "size_bytes": size})),
            )
            .await?;
            let row = store::file(&mut tx, actor.agency_id, file_id)
                .await?
                .ok_or(AppError::NotFound)?;
            tx.commit().await?;
            Ok::<_, AppError>(file_view(row))
        }
        .await;
        if written.is_err() {
            self.files.delete(&key).await;
        }
        written
    }

    /// The documents attached to an issuance, newest first.
    #[tracing::instrument(skip_all, fields(agency = %actor.agency_id, actor = %actor.label))]
    pub async fn issuance_documents(
        &self,
        actor: &Actor,
        issuance_id: IssuanceId,
    ) -> Result<Vec<FileView>> {
        let (issuance, _) = self.issuance_member(actor, issuance_id).await?;
        let mut tx = self.store.read().await?;
        let rows = store::files_of(&mut tx, actor.agency_id, "issuance", issuance.get()).await?;
        Ok(rows.into_iter().map(file_view).collect())
    }

    /// A stored document or certificate file: (name, content type, bytes). Officers read any
    /// of the agency's; members only files of their own issuances and certificates.
    #[tracing::instrument(skip_all, fields(agency = %actor.agency_id, actor = %actor.label))]
    pub async fn file_download(
        &self,
        actor: &Actor,
        id: FileId,
    ) -> Result<(String, String, Vec<u8>)> {
        let mut tx = self.store.read().await?;
        let file = store::file(&mut tx, actor.agency_id, id)
            .await?
            .ok_or(AppError::NotFound)?;
        if !actor.role.reads_agency() {
            let owner = store::file_member(&mut tx, actor.agency_id, id).await?;
            if owner.is_none() || owner != actor.member_id {
                return Err(AppError::NotFound);
            }
        }
        drop(tx);
        let bytes = self.files.get(&file.storage_key).await?;
        Ok((file.original_name, file.content_type, bytes))
    }
}
