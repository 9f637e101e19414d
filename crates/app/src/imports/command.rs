//! The `credence import` command: preview and commit in one go, as the operator.

use credence_store::auth::identity;

use super::{ImportKind, ImportView};
use crate::{Actor, App, AppError, Result};

impl App {
    /// Previews `bytes` as an import of `kind` into the agency and, when the preview has no
    /// errors, commits it. The answer is the import as it ended: committed with its counts,
    /// or previewed with its errors (nothing written).
    pub async fn import_file(
        &self,
        agency_slug: &str,
        kind: ImportKind,
        file_name: &str,
        bytes: Vec<u8>,
    ) -> Result<ImportView> {
        let agency = {
            let mut db = self.store.read().await?;
            identity::agency_by_slug(&mut db, agency_slug)
                .await?
                .ok_or(AppError::NotFound)?
        };
        let actor = Actor::system(agency.id, format!("import:{}", kind.as_str()));
        let preview = self.preview_import(&actor, kind, file_name, bytes).await?;
        if !preview.errors.is_empty() {
            return Ok(preview);
        }
        self.commit_import(&actor, preview.id).await
    }
}
