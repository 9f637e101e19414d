//! Writing and reading the audit log.

use credence_store::ops::audit::{self, NewEvent};
use credence_store::Tx;
use serde::{Deserialize, Serialize};

use crate::ids::{self, Kind};
use crate::page::{paginate, Page, PageParams};
use crate::{audit_json, Actor, App, AppError, Reader, Result};

/// Records one change: `before` is `None` for a creation.
pub(crate) async fn record<T: Serialize>(
    tx: &mut Tx,
    actor: &Actor,
    action: &str,
    kind: Kind,
    id: i64,
    before: Option<&T>,
    after: Option<&T>,
) -> Result<()> {
    audit::record(
        tx,
        NewEvent {
            agency_id: actor.agency_id,
            actor: &actor.label,
            action,
            subject_type: kind.subject_type(),
            subject_id: id,
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
    credential_ids: &[i64],
    after: &serde_json::Value,
) -> Result<()> {
    audit::record_many(
        tx,
        ctx.agency_id,
        &ctx.actor,
        action,
        Kind::Credential.subject_type(),
        credential_ids,
        Some(&after.to_string()),
    )
    .await?;
    Ok(())
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AuditEventView {
    pub id: String,
    pub at: chrono::DateTime<chrono::Utc>,
    pub actor: String,
    /// `create`, `update`, `publish`, `retire`, `deactivate`, `set_members`…
    pub action: String,
    pub subject_type: String,
    pub subject_id: String,
    #[schema(value_type = Option<Object>)]
    pub before: Option<serde_json::Value>,
    #[schema(value_type = Option<Object>)]
    pub after: Option<serde_json::Value>,
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
pub struct AuditFilter {
    /// Only events about this resource (any public id).
    pub subject_id: Option<String>,
}

fn parse_json(text: Option<String>) -> Option<serde_json::Value> {
    text.and_then(|t| serde_json::from_str(&t).ok())
}

impl App {
    /// The agency's audit events, newest first.
    #[tracing::instrument(skip_all, fields(agency = actor.agency_id, actor = %actor.label))]
    pub async fn audit_events(
        &self,
        actor: &Reader,
        filter: &AuditFilter,
        page: &PageParams,
    ) -> Result<Page<AuditEventView>> {
        let limit = page.limit()?;
        let subject = match filter.subject_id.as_deref() {
            None => None,
            Some(s) => Some(
                ids::decode_any(s)
                    .ok_or_else(|| AppError::invalid("subject_id", "is not an id"))?,
            ),
        };
        let mut tx = self.store.read().await?;
        // Row numbers are per table, so the kind prefix narrows the subject precisely.
        let subject = subject.map(|(kind, id)| (kind.subject_type(), id));
        let rows =
            audit::events_page(&mut tx, actor.agency_id, subject, page.after()?, limit + 1).await?;
        Ok(paginate(
            rows,
            limit,
            |r| r.id,
            |r| {
                let kind = Kind::ALL
                    .into_iter()
                    .find(|k| k.subject_type() == r.subject_type)
                    .unwrap_or(Kind::AuditEvent);
                AuditEventView {
                    id: ids::encode(Kind::AuditEvent, r.id),
                    at: r.at,
                    actor: r.actor,
                    action: r.action,
                    subject_type: r.subject_type,
                    subject_id: ids::encode(kind, r.subject_id),
                    before: parse_json(r.before_json),
                    after: parse_json(r.after_json),
                }
            },
        ))
    }
}
