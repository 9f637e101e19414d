//! Revoke credentials (one, or a whole selection in one transaction): the current issuance is
//! marked revoked with a reason, the status becomes Revoked, and each change is audited.

use credence_domain::ids::{CredentialId, IssuanceId, OperationId};
use credence_domain::Invalid;
use credence_store::credentials::{self as store, CredentialListRow};
use serde::{Deserialize, Serialize};

use crate::credentials::lifecycle::refresh_from_history;
use crate::credentials::operations::{settle, Recording};
use crate::credentials::views::{view, CredentialDetail, CredentialView};
use crate::{App, AppError, Officer, Result};

/// Credentials revoked at once, at most.
const MAX_BULK: usize = 10_000;

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RevokeInput {
    pub reason: String,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BulkRevoke {
    #[schema(value_type = Vec<String>)]
    pub credential_ids: Vec<CredentialId>,
    pub reason: String,
    /// Answer what would happen and write nothing.
    pub dry_run: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct BulkRevokeResult {
    pub revoked: Vec<CredentialView>,
    /// The operation to undo it with; none on a dry run.
    #[schema(value_type = Option<String>)]
    pub operation_id: Option<OperationId>,
    pub dry_run: bool,
}

fn checked_reason(reason: &str) -> Result<&str> {
    let reason = reason.trim();
    if reason.is_empty() || reason.chars().count() > 500 {
        return Err(AppError::invalid(
            "reason",
            "say why the credential is revoked (at most 500 characters)",
        ));
    }
    Ok(reason)
}

/// The current issuance a revocation ends, or why there is none to end.
fn revocable(row: &CredentialListRow) -> std::result::Result<IssuanceId, &'static str> {
    match (row.credential.issuance_id, row.credential.revoked) {
        (Some(issuance), false) => Ok(issuance),
        (Some(_), true) => Err("is already revoked"),
        (None, _) => Err("has never been issued"),
    }
}

impl App {
    /// Revokes one credential's current issuance.
    #[tracing::instrument(skip_all, fields(agency = %actor.agency_id, actor = %actor.label))]
    pub async fn revoke(
        &self,
        actor: &Officer,
        id: CredentialId,
        input: RevokeInput,
    ) -> Result<CredentialDetail> {
        let reason = checked_reason(&input.reason)?;
        let mut tx = self.store.begin().await?;
        let ctx = self.ctx(&mut tx, actor).await?;
        let row = self.load_credential(&mut tx, actor, id).await?;
        let issuance =
            revocable(&row).map_err(|why| AppError::Conflict(format!("the credential {why}")))?;
        let c = &row.credential;
        let before = view(row.clone());
        store::revoke_issuances(&mut tx, ctx.agency_id, &[issuance], reason).await?;
        refresh_from_history(&mut tx, &ctx, &[c.id]).await?;
        let fresh = store::credential(&mut tx, ctx.agency_id, c.id)
            .await?
            .ok_or(AppError::NotFound)?;
        let detail = self.detail(&mut tx, ctx.agency_id, fresh).await?;
        crate::ops::audit::record(
            &mut tx,
            actor,
            "revoke",
            c.id,
            Some(&before),
            Some(&detail.credential),
        )
        .await?;
        tx.commit().await?;
        Ok(detail)
    }

    /// Revokes every credential of the selection, or none: each id is checked first and any
    /// that cannot be revoked is a 422 naming it.
    #[tracing::instrument(skip_all, fields(agency = %actor.agency_id, actor = %actor.label, count = input.credential_ids.len()))]
    pub async fn bulk_revoke(
        &self,
        actor: &Officer,
        input: BulkRevoke,
    ) -> Result<BulkRevokeResult> {
        let reason = checked_reason(&input.reason)?;
        if input.credential_ids.is_empty() || input.credential_ids.len() > MAX_BULK {
            return Err(AppError::invalid(
                "credential_ids",
                format!("give between 1 and {MAX_BULK} credentials"),
            ));
        }
        let mut tx = self.store.begin().await?;
        let ctx = self.ctx(&mut tx, actor).await?;
        let (found, missing) = self
            .load_credentials(&mut tx, actor, &input.credential_ids)
            .await?;
        let mut invalid = Invalid::new();
        for i in missing {
            invalid.add(
                format!("credential_ids[{i}]"),
                "is not a credential of this agency",
            );
        }
        let position = |id: CredentialId| {
            input
                .credential_ids
                .iter()
                .position(|c| *c == id)
                .unwrap_or(0)
        };
        let mut issuances = Vec::with_capacity(found.len());
        let mut credential_ids = Vec::with_capacity(found.len());
        for row in &found {
            match revocable(row) {
                Ok(issuance) => {
                    issuances.push(issuance);
                    credential_ids.push(row.credential.id);
                }
                Err(why) => invalid.add(
                    format!("credential_ids[{}]", position(row.credential.id)),
                    why,
                ),
            }
        }
        invalid.into_result()?;
        let recording = Recording::start(&mut tx, &ctx, "bulk_revoke", &credential_ids).await?;
        store::revoke_issuances(&mut tx, ctx.agency_id, &issuances, reason).await?;
        refresh_from_history(&mut tx, &ctx, &credential_ids).await?;
        crate::ops::audit::record_credentials(
            &mut tx,
            &ctx,
            "revoke",
            &credential_ids,
            &serde_json::json!({ "reason": reason }),
        )
        .await?;
        let revoked = store::list_rows_by_ids(&mut tx, ctx.agency_id, &credential_ids)
            .await?
            .into_iter()
            .map(view)
            .collect();
        let dry_run = input.dry_run.unwrap_or(false);
        let summary = format!("Revoked {} credential(s): {reason}", credential_ids.len());
        let operation_id = match dry_run {
            true => None,
            false => Some(
                recording
                    .finish(&mut tx, &ctx, &credential_ids, &summary)
                    .await?,
            ),
        };
        settle(tx, dry_run).await?;
        Ok(BulkRevokeResult {
            revoked,
            operation_id,
            dry_run,
        })
    }
}
