//! Writing and reading the audit log.

use credence_domain::ids::{AgencyId, AnyId, AuditEventId, CredentialId, Kind};
pub use credence_store::ops::audit::ChainReport;
use credence_store::ops::audit::{self, NewEvent};
use credence_store::Tx;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

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
    /// The caller's own agency: its row number is part of what `hash` covers.
    #[schema(value_type = String)]
    pub agency_id: AgencyId,
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
    /// The `hash` of the agency's previous event (64 zeros for its first): the audit chain,
    /// SHA-256 per agency (`credence audit verify`). `null` for events from before the
    /// chain, which the first chained event seals.
    pub prev_hash: Option<String>,
    /// Lowercase hex SHA-256 of `prev_hash` (64 hex digits) followed by the event's canonical
    /// form: the compact JSON array `[id, agency_id, at, actor, action, subject_type,
    /// subject_id, before, after]` (ids as row numbers, `evt_42` as `42`; `at` in UTC with
    /// nine fraction digits; payloads with sorted keys). Keep the newest event's hash to
    /// prove later that nothing up to it changed.
    pub hash: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
pub struct AuditFilter {
    /// Only events about this resource (any public id).
    #[param(value_type = Option<String>)]
    pub subject_id: Option<AnyId>,
    /// Only events by this actor, exactly as events name it (`user:ada@example.org`,
    /// `token:12`, `system:sweep`).
    pub actor: Option<String>,
    /// Only events with this action (`update`, `issue`, `retry`…).
    pub action: Option<String>,
}

/// Display names for a page of events: who acted and what they acted on.
#[derive(Debug, Clone, Default)]
pub struct AuditNames {
    actors: HashMap<String, String>,
    subjects: HashMap<AnyId, String>,
}

impl AuditNames {
    /// The actor as people know them: the member a login speaks for ("Smith, Ava
    /// (ava@example.org)"), else the login's e-mail, an API token, or Credence itself.
    pub fn actor(&self, label: &str) -> String {
        if let Some(name) = self.actors.get(label) {
            return name.clone();
        }
        match label.split_once(':') {
            Some(("user", email)) => email.to_string(),
            Some(("token", id)) => format!("API token {id}"),
            Some(("system", job)) => format!("Credence ({job})"),
            _ => label.to_string(),
        }
    }

    /// The subject's name ("Smith, Ava — EMT-Basic" for a credential), or its public id.
    pub fn subject(&self, id: &AnyId) -> String {
        self.subjects
            .get(id)
            .cloned()
            .unwrap_or_else(|| id.to_string())
    }

    /// Whether the subject has a name (a deleted or unnamed one shows only its id).
    pub fn has_subject(&self, id: &AnyId) -> bool {
        self.subjects.contains_key(id)
    }
}

/// The actors and actions an agency's log holds, for filter pickers.
#[derive(Debug, Clone, Default)]
pub struct AuditChoices {
    pub actors: Vec<String>,
    pub actions: Vec<String>,
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
        let clean = |v: &Option<String>| {
            v.as_deref()
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_string)
        };
        let (who, action) = (clean(&filter.actor), clean(&filter.action));
        let narrowed = audit::EventFilter {
            subject: filter.subject_id,
            actor: who.as_deref(),
            action: action.as_deref(),
        };
        let rows = audit::events_page(&mut tx, actor.agency_id, narrowed, page.after()?, limit + 1)
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
                agency_id: actor.agency_id,
                at: r.at,
                actor: r.actor,
                action: r.action,
                subject_type: r.subject_type,
                subject_id,
                before: parse_json(r.before_json),
                after: parse_json(r.after_json),
                prev_hash: r.prev_hash,
                hash: r.hash,
            },
        ))
    }

    /// Names for the actors and subjects of `events` and for the actor labels in
    /// `more_actors`, one query per kind of subject.
    #[tracing::instrument(skip_all, fields(agency = %actor.agency_id, actor = %actor.label))]
    pub async fn audit_names(
        &self,
        actor: &Reader,
        events: &[AuditEventView],
        more_actors: &[String],
    ) -> Result<AuditNames> {
        let mut db = self.store.read().await?;
        let mut by_kind: HashMap<Kind, Vec<i64>> = HashMap::new();
        for e in events {
            by_kind
                .entry(e.subject_id.kind)
                .or_default()
                .push(e.subject_id.row);
        }
        let mut subjects = HashMap::new();
        for (kind, mut rows) in by_kind {
            rows.sort_unstable();
            rows.dedup();
            for (row, name) in audit::subject_names(&mut db, actor.agency_id, kind, &rows).await? {
                subjects.insert(AnyId { kind, row }, name);
            }
        }
        let mut emails: Vec<String> = events
            .iter()
            .map(|e| &e.actor)
            .chain(more_actors)
            .filter_map(|a| a.strip_prefix("user:"))
            .map(str::to_string)
            .collect();
        emails.sort_unstable();
        emails.dedup();
        let actors = audit::login_member_names(&mut db, actor.agency_id, &emails)
            .await?
            .into_iter()
            .map(|(email, name)| (format!("user:{email}"), format!("{name} ({email})")))
            .collect();
        Ok(AuditNames { actors, subjects })
    }

    /// Every actor and action in the agency's log, for the filters of the audit page.
    #[tracing::instrument(skip_all, fields(agency = %actor.agency_id, actor = %actor.label))]
    pub async fn audit_choices(&self, actor: &Reader) -> Result<AuditChoices> {
        let mut db = self.store.read().await?;
        Ok(AuditChoices {
            actors: audit::distinct_values(&mut db, actor.agency_id, audit::EventColumn::Actor)
                .await?,
            actions: audit::distinct_values(&mut db, actor.agency_id, audit::EventColumn::Action)
                .await?,
        })
    }

    /// Checks the agency's audit chain link by link, in id order, and answers the first
    /// broken one. An operator's command (`credence audit verify`), like the sweep: it names
    /// the agency by slug and is not a role's API.
    #[tracing::instrument(skip(self))]
    pub async fn verify_audit_chain(&self, agency_slug: &str) -> Result<ChainReport> {
        let mut db = self.store.read().await?;
        let agency = credence_store::auth::identity::agency_by_slug(&mut db, agency_slug)
            .await?
            .ok_or(AppError::NotFound)?;
        Ok(audit::verify_chain(&mut db, agency.id).await?)
    }
}
