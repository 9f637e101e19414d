//! Writing and reading the audit log.

use credence_domain::ids::{AnyId, AuditEventId, CredentialId, Kind};
use credence_store::ops::audit::{self, NewEvent};
use credence_store::Tx;
use serde::{Deserialize, Serialize};

use crate::page::{paginate, Page, PageParams};
use crate::{audit_json, Actor, App, AppError, Reader, Result};

/// Records one change: `before` is `None` for a creation.
pub(crate) async fn record<T: Serialize>(
    tx: &mut Tx,
    actor: &Actor,
    action: &str,
    subject: impl Into<AnyId>,
    before: Option<&T>,
    after: Option<&T>,
) -> Result<()> {
    audit::record(
        tx,
        NewEvent {
            agency_id: actor.agency_id,
            actor: &actor.label,
            action,
            subject: subject.into(),
            before: before.and_then(audit_json),
            after: after.and_then(audit_json),
        },
    )
    .await?;
    Ok(())
}

/// Records one event per credential of a bulk workflow, set-based.
pub(crate) async fn record_credentials(
    tx: &mut Tx,
    ctx: &crate::credentials::lifecycle::Ctx,
    action: &str,
    credential_ids: &[CredentialId],
    after: &serde_json::Value,
) -> Result<()> {
    audit::record_many(
        tx,
        ctx.agency_id,
        &ctx.actor,
        action,
        credential_ids,
        Some(&after.to_string()),
    )
    .await?;
    Ok(())
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AuditEventView {
    #[schema(value_type = String)]
    pub id: AuditEventId,
    pub at: chrono::DateTime<chrono::Utc>,
    pub actor: String,
    /// `create`, `update`, `publish`, `retire`, `deactivate`, `set_members`…
    pub action: String,
    pub subject_type: String,
    #[schema(value_type = String)]
    pub subject_id: AnyId,
    #[schema(value_type = Option<Object>)]
    pub before: Option<serde_json::Value>,
    #[schema(value_type = Option<Object>)]
    pub after: Option<serde_json::Value>,
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
pub struct AuditFilter {
    /// Only events about this resource (any public id).
    #[param(value_type = Option<String>)]
    pub subject_id: Option<AnyId>,
}

fn parse_json(text: Option<String>) -> Option<serde_json::Value> {
    text.and_then(|t| serde_json::from_str(&t).ok())
}

impl App {
    /// The agency's audit events, newest first.
    #[tracing::instrument(skip_all, fields(agency = %actor.agency_id, actor = %actor.label))]
    pub async fn audit_events(
        &self,
        actor: &Reader,
        filter: &AuditFilter,
        page: &PageParams,
    ) -> Result<Page<AuditEventView>> {
        let limit = page.limit()?;
        let mut tx = self.store.read().await?;
        let rows = audit::events_page(
            &mut tx,
            actor.agency_id,
            filter.subject_id,
            page.after()?,
            limit + 1,
        )
        .await?;
        // A subject type this code does not know is corrupt data: said, not guessed.
        let rows = rows
            .into_iter()
            .map(|r| match Kind::from_subject_type(&r.subject_type) {
                Some(kind) => Ok((
                    AnyId {
                        kind,
                        row: r.subject_id,
                    },
                    r,
                )),
                None => Err(AppError::internal(format!(
                    "audit event {} names an unknown subject type {:?}",
                    r.id, r.subject_type
                ))),
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(paginate(
            rows,
            limit,
            |(_, r)| r.id.get(),
            |(subject_id, r)| AuditEventView {
                id: r.id,
                at: r.at,
                actor: r.actor,
                action: r.action,
                subject_type: r.subject_type,
                subject_id,
                before: parse_json(r.before_json),
                after: parse_json(r.after_json),
            },
        ))
    }
}
