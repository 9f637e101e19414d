//! The agency's logo (issue 7): a PNG or JPEG an admin uploads for certificates to show.
//! A certificate's recorded data names the logo it was made with by a virtual path
//! (`/logo-12.png`) and the render job carries those files, so every logo ever uploaded is
//! kept: re-rendering a certificate later shows the logo it was made with.

use credence_domain::ids::{AgencyId, FileId};
use credence_store::Conn;
use std::collections::BTreeSet;

use credence_documents::{Document, Job, JobFile, Template};
use credence_store::documents::certificates::{self as store, FileRow, LOGO_OWNER};
use credence_store::training::submissions::{insert_file, NewFile};

use crate::documents::supporting::{file_view, FileView};
use crate::training::submissions::{display_name, sniff};
use crate::{Actor, Admin, App, AppError, Reader, Result};

/// Logos larger than this are refused: a certificate prints one at under an inch.
pub const MAX_LOGO_BYTES: usize = 1024 * 1024;

/// Renders the logo alone, to prove Typst can decode it before it is accepted.
const PROBE_TEMPLATE: &str = "#let certificate(data) = {\n  \
    set page(width: 1in, height: 1in, margin: 0pt)\n  \
    image(data.agency.logo, width: 100%, height: 100%, fit: \"contain\")\n}\n";

impl App {
    /// The agency's current logo, if it has one.
    #[tracing::instrument(skip_all, fields(agency = %actor.agency_id, actor = %actor.label))]
    pub async fn agency_logo(&self, actor: &Reader) -> Result<Option<FileView>> {
        let mut tx = self.store.read().await?;
        Ok(store::agency_logo(&mut tx, actor.agency_id)
            .await?
            .map(file_view))
    }

    /// The current logo's content type and bytes; 404 when the agency has none.
    #[tracing::instrument(skip_all, fields(agency = %actor.agency_id, actor = %actor.label))]
    pub async fn agency_logo_image(&self, actor: &Reader) -> Result<(String, Vec<u8>)> {
        let mut tx = self.store.read().await?;
        let file = store::agency_logo(&mut tx, actor.agency_id)
            .await?
            .ok_or(AppError::NotFound)?;
        drop(tx);
        let bytes = self.files.get(&file.storage_key).await?;
        Ok((file.content_type, bytes))
    }

    /// Makes an uploaded image the agency's logo (admin). The previous one stays stored
    /// for the certificates made with it.
    #[tracing::instrument(skip_all, fields(agency = %actor.agency_id, actor = %actor.label))]
    pub async fn set_agency_logo(
        &self,
        actor: &Admin,
        file_name: &str,
        bytes: Vec<u8>,
    ) -> Result<FileView> {
        let (content_type, ext) = check_logo(&bytes).map_err(|m| AppError::invalid("file", m))?;
        self.probe_logo(actor.agency_id, ext, &bytes).await?;
        let name = display_name(file_name);
        let key = crate::documents::files::new_key(actor.agency_id, ext);
        let sha = crate::documents::files::sha256_hex(&bytes);
        let size = bytes.len() as i64;
        self.files.put(&key, bytes).await?;
        let new_file = NewFile {
            storage_key: &key,
            original_name: &name,
            content_type,
            size_bytes: size,
            sha256: &sha,
            owner_kind: LOGO_OWNER,
            owner_id: actor.agency_id.get(),
            uploaded_by: &actor.label,
        };
        let written = self.replace_logo(actor, Some(&new_file)).await;
        if written.is_err() {
            self.files.delete(&key).await;
        }
        written?.ok_or_else(|| AppError::internal("the new logo was not read back"))
    }

    /// Leaves the agency without a logo (admin); 404 when it has none. The file stays.
    #[tracing::instrument(skip_all, fields(agency = %actor.agency_id, actor = %actor.label))]
    pub async fn remove_agency_logo(&self, actor: &Admin) -> Result<()> {
        self.replace_logo(actor, None).await.map(|_| ())
    }

    /// In one transaction: records the new logo file (if any), points the agency at it and
    /// audits the change. Answers the new current logo.
    async fn replace_logo(
        &self,
        actor: &Actor,
        new_file: Option<&NewFile<'_>>,
    ) -> Result<Option<FileView>> {
        let mut tx = self.store.begin().await?;
        let before = store::agency_logo(&mut tx, actor.agency_id).await?;
        if new_file.is_none() && before.is_none() {
            return Err(AppError::NotFound);
        }
        let file_id = match new_file {
            Some(f) => Some(insert_file(&mut tx, actor.agency_id, f).await?),
            None => None,
        };
        store::set_agency_logo(&mut tx, actor.agency_id, file_id).await?;
        let after = store::agency_logo(&mut tx, actor.agency_id).await?;
        let audited =
            |f: &Option<FileRow>| serde_json::json!({ "logo_file_id": f.as_ref().map(|f| f.id) });
        let action = if file_id.is_some() {
            "set_logo"
        } else {
            "remove_logo"
        };
        crate::ops::audit::record(
            &mut tx,
            actor,
            action,
            actor.agency_id,
            Some(&audited(&before)),
            Some(&audited(&after)),
        )
        .await?;
        tx.commit().await?;
        Ok(after.map(file_view))
    }

    /// A file can start like a PNG and still not be one; Typst decoding it once here
    /// refuses it at upload instead of failing every certificate afterwards.
    async fn probe_logo(&self, agency_id: AgencyId, ext: &str, bytes: &[u8]) -> Result<()> {
        let path = format!("/logo-probe.{ext}");
        let job = Job {
            templates: vec![Template {
                source: PROBE_TEMPLATE.into(),
            }],
            documents: vec![Document {
                template: 0,
                data: serde_json::json!({ "agency": { "logo": path } }),
            }],
            merge: false,
            files: vec![JobFile {
                path,
                bytes: bytes.to_vec(),
            }],
        };
        let unreadable = |detail: String| {
            AppError::invalid("file", format!("could not be read as an image: {detail}"))
        };
        let output = match self.render(agency_id, job).await {
            Ok(mut outputs) => outputs.pop(),
            // The renderer's limits (time, memory) answer an invalid "template".
            Err(AppError::Invalid(i)) => {
                let messages: Vec<&str> = i.errors.iter().map(|e| e.message.as_str()).collect();
                let detail = messages.join("; ");
                return Err(unreadable(detail));
            }
            Err(e) => return Err(e),
        };
        match output {
            Some(Ok(_)) => Ok(()),
            Some(Err(e)) => Err(unreadable(e.message)),
            None => Err(AppError::internal("the renderer answered nothing")),
        }
    }

    /// The files a render job needs for `data`: each logo its documents name, loaded once
    /// from the agency's own files.
    pub(crate) async fn job_files<'a>(
        &self,
        agency_id: AgencyId,
        data: impl IntoIterator<Item = &'a serde_json::Value>,
    ) -> Result<Vec<JobFile>> {
        let paths: BTreeSet<&str> = data
            .into_iter()
            .filter_map(|d| d.pointer("/agency/logo")?.as_str())
            .collect();
        if paths.is_empty() {
            return Ok(Vec::new());
        }
        let missing = |path: &str| {
            AppError::internal(format!(
                "certificate data names the logo {path}, which is missing"
            ))
        };
        let file_ids = paths
            .iter()
            .map(|p| logo_file_id(p).ok_or_else(|| missing(p)))
            .collect::<Result<Vec<FileId>>>()?;
        let mut tx = self.store.read().await?;
        let rows = store::logo_files(&mut tx, agency_id, &file_ids).await?;
        drop(tx);
        let mut files = Vec::with_capacity(paths.len());
        for path in paths {
            let row = rows
                .iter()
                .find(|r| logo_path(r) == path)
                .ok_or_else(|| missing(path))?;
            files.push(JobFile {
                path: path.to_owned(),
                bytes: self.files.get(&row.storage_key).await?,
            });
        }
        Ok(files)
    }
}

/// The path under which templates find the agency's current logo, if it has one.
pub(crate) async fn current_logo_path(
    db: &mut impl Conn,
    agency_id: AgencyId,
) -> Result<Option<String>> {
    Ok(store::agency_logo(db, agency_id)
        .await?
        .map(|f| logo_path(&f)))
}

/// `/logo-12.png`: the file id keeps earlier logos apart; the extension tells Typst the
/// format.
fn logo_path(file: &FileRow) -> String {
    let ext = if file.content_type == "image/jpeg" {
        "jpg"
    } else {
        "png"
    };
    format!("/logo-{}.{ext}", file.id.get())
}

fn logo_file_id(path: &str) -> Option<FileId> {
    let (id, _ext) = path.strip_prefix("/logo-")?.split_once('.')?;
    id.parse().ok().map(FileId::new)
}

/// Not empty, at most [`MAX_LOGO_BYTES`], and a PNG or JPEG by its content. Returns its
/// content type and extension, or what is wrong with it.
fn check_logo(bytes: &[u8]) -> std::result::Result<(&'static str, &'static str), String> {
    if bytes.is_empty() {
        return Err("is empty".into());
    }
    if bytes.len() > MAX_LOGO_BYTES {
        return Err(format!(
            "is larger than {} MB",
            MAX_LOGO_BYTES / 1024 / 1024
        ));
    }
    match sniff(bytes) {
        Some(kind @ (_, "png" | "jpg")) => {
            crate::documents::image_size::check_pixels(kind.1, bytes)?;
            Ok(kind)
        }
        _ => Err("must be a PNG or JPEG image".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logo_paths_name_their_file() {
        assert_eq!(logo_file_id("/logo-12.png"), Some(FileId::new(12)));
        assert_eq!(logo_file_id("/logo-7.jpg"), Some(FileId::new(7)));
        assert_eq!(logo_file_id("/logo-x.png"), None);
        assert_eq!(logo_file_id("/other-3.png"), None);
    }

    #[test]
    fn only_png_and_jpeg_of_at_most_a_megabyte_are_logos() {
        // Signatures followed by headers declaring 1 × 1 pixel.
        let png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR\x00\x00\x00\x01\x00\x00\x00\x01";
        assert_eq!(check_logo(png), Ok(("image/png", "png")));
        let jpeg = b"\xFF\xD8\xFF\xC0\x00\x11\x08\x00\x01\x00\x01\x03";
        assert_eq!(check_logo(jpeg), Ok(("image/jpeg", "jpg")));
        assert!(
            check_logo(b"\x89PNG\r\n\x1a\nrest").is_err(),
            "no readable size"
        );
        assert!(check_logo(b"").is_err());
        assert!(check_logo(b"%PDF-1.7").is_err());
        assert!(check_logo(b"plain text").is_err());
        let mut big = b"\x89PNG\r\n\x1a\n".to_vec();
        big.resize(MAX_LOGO_BYTES + 1, 0);
        assert!(check_logo(&big).is_err());
    }
}
