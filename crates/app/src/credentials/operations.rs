//! Bulk actions as operations (#18): a dry run gives the same answer and writes nothing; a
//! real one is recorded with the history it is about to change, so it can be undone as one
//! audited transaction — refused while a later change has touched the same credentials, so
//! an undo never throws away someone else's work.

use std::collections::{BTreeMap, HashSet};

use credence_domain::ids::{CredentialId, OperationId};
use credence_domain::undo::undo;
use credence_store::credentials::operations::{
    self as store, HistoryState, NewOperation, Removals,
};
use credence_store::Tx;
use serde::Serialize;

use crate::credentials::lifecycle::{refresh_from_history, Ctx};
use crate::page::{Page, PageParams};
use crate::{App, AppError, Officer, Reader, Result};

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct OperationView {
    #[schema(value_type = String)]
    pub id: OperationId,
    /// assign, bulk_update, bulk_revoke, renew, renewal_plan, certificates or sign_off.
    pub kind: String,
    pub actor: String,
    /// What it did, in words.
    pub summary: String,
    /// The credentials it wrote.
    #[schema(value_type = Vec<String>)]
    pub credential_ids: Vec<CredentialId>,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub undone_at: Option<chrono::DateTime<chrono::Utc>>,
    pub undone_by: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct UndoResult {
    #[schema(value_type = String)]
    pub operation_id: OperationId,
    /// Credentials put back as they were.
    #[schema(value_type = Vec<String>)]
    pub restored: Vec<CredentialId>,
    /// Credentials the operation had created (an assignment), removed again.
    #[schema(value_type = Vec<String>)]
    pub removed: Vec<CredentialId>,
}

/// One operation being recorded: the history of the credentials it will change, read before
/// it writes anything.
pub(crate) struct Recording {
    kind: &'static str,
    before: HistoryState,
}

impl Recording {
    pub(crate) async fn start(
        tx: &mut Tx,
        ctx: &Ctx,
        kind: &'static str,
        credential_ids: &[CredentialId],
    ) -> Result<Recording> {
        let before = store::history_state(tx, ctx.agency_id, credential_ids).await?;
        Ok(Recording { kind, before })
    }

    /// Records the operation after its writes and audit events, in the same transaction.
    /// `touched` are the credentials it wrote, including any it created.
    pub(crate) async fn finish(
        self,
        tx: &mut Tx,
        ctx: &Ctx,
        touched: &[CredentialId],
        summary: &str,
    ) -> Result<OperationId> {
        let mut ids: Vec<CredentialId> = touched.to_vec();
        ids.sort_unstable();
        ids.dedup();
        let snapshot = serde_json::to_string(&self.before).map_err(internal)?;
        let after = store::history_state(tx, ctx.agency_id, &ids).await?;
        let after_state = serde_json::to_string(&after).map_err(internal)?;
        let touched = serde_json::to_string(&ids).map_err(internal)?;
        let id = store::insert(
            tx,
            ctx.agency_id,
            NewOperation {
                kind: self.kind,
                actor: &ctx.actor,
                summary,
                snapshot: &snapshot,
                after_state: &after_state,
                touched: &touched,
            },
        )
        .await?;
        Ok(id)
    }
}

fn internal(e: serde_json::Error) -> AppError {
    AppError::internal(e.to_string())
}

/// Ends a bulk action's transaction: commits it, or on a dry run rolls it back so the answer
/// is exactly what the action would do and nothing is written.
pub(crate) async fn settle(tx: Tx, dry_run: bool) -> Result<()> {
    if dry_run {
        tx.rollback().await?;
    } else {
        tx.commit().await?;
    }
    Ok(())
}

fn view(row: store::OperationRow) -> Result<OperationView> {
    Ok(OperationView {
        id: row.id,
        kind: row.kind,
        actor: row.actor,
        summary: row.summary,
        credential_ids: serde_json::from_str(&row.touched).map_err(internal)?,
        created_at: row.created_at,
        undone_at: row.undone_at,
        undone_by: row.undone_by,
    })
}

/// Rows by id, as the domain's undo compares them.
fn by_id<T: Clone>(rows: &[T], id: impl Fn(&T) -> i64) -> BTreeMap<i64, T> {
    rows.iter().map(|r| (id(r), r.clone())).collect()
}

impl App {
    #[tracing::instrument(skip_all, fields(agency = %actor.agency_id, actor = %actor.label))]
    pub async fn operation(&self, actor: &Reader, id: OperationId) -> Result<OperationView> {
        let mut db = self.store.read().await?;
        let row = store::operation(&mut db, actor.agency_id, id)
            .await?
            .ok_or(AppError::NotFound)?;
        view(row)
    }

    /// The agency's operations, newest first.
    #[tracing::instrument(skip_all, fields(agency = %actor.agency_id, actor = %actor.label))]
    pub async fn operations(
        &self,
        actor: &Reader,
        page: &PageParams,
    ) -> Result<Page<OperationView>> {
        let limit = page.limit()?;
        let before: Option<i64> = page.after()?;
        let mut db = self.store.read().await?;
        let mut rows = store::operations_page(&mut db, actor.agency_id, before, limit + 1).await?;
        let more = rows.len() as i64 > limit;
        rows.truncate(limit as usize);
        let next_cursor = if more {
            rows.last().map(|r| crate::page::encode_cursor(&r.id.get()))
        } else {
            None
        };
        Ok(Page {
            items: rows.into_iter().map(view).collect::<Result<_>>()?,
            next_cursor,
        })
    }

    /// Reverses an operation as one audited transaction: rows it added are removed, rows it
    /// changed are put back, statuses recomputed. 409 when it was undone already or a later
    /// change touched its credentials or certificates.
    #[tracing::instrument(skip_all, fields(agency = %actor.agency_id, actor = %actor.label))]
    pub async fn undo_operation(&self, actor: &Officer, id: OperationId) -> Result<UndoResult> {
        let mut tx = self.store.begin().await?;
        let ctx = self.ctx(&mut tx, actor).await?;
        let op = store::operation(&mut tx, actor.agency_id, id)
            .await?
            .ok_or(AppError::NotFound)?;
        if op.undone_at.is_some() {
            return Err(AppError::Conflict(format!(
                "this operation was already undone by {}",
                op.undone_by.unwrap_or_default()
            )));
        }
        let before: HistoryState = serde_json::from_str(&op.snapshot).map_err(internal)?;
        let touched: Vec<CredentialId> = serde_json::from_str(&op.touched).map_err(internal)?;
        let now = store::history_state(&mut tx, actor.agency_id, &touched).await?;

        // What the operation left must be what is there now: anything else is a later
        // change (an issue, a sign-off, a document, a certificate…) an undo would discard.
        let left: HistoryState = serde_json::from_str(&op.after_state).map_err(internal)?;
        if now != rendered_since(left, &now) {
            return Err(AppError::Conflict(
                "a later change touched the credentials of this operation; undoing it would discard that change".into(),
            ));
        }
        let certificates = undo(
            &by_id(&before.certificates, |c| c.id.get()),
            &by_id(&now.certificates, |c| c.id.get()),
        );
        let credentials = undo(
            &by_id(&before.credentials, |c| c.get()),
            &by_id(&now.credentials, |c| c.get()),
        );
        let periods = undo(
            &by_id(&before.periods, |p| p.id.get()),
            &by_id(&now.periods, |p| p.id.get()),
        );
        let issuances = undo(
            &by_id(&before.issuances, |i| i.id.get()),
            &by_id(&now.issuances, |i| i.id.get()),
        );
        // Sign-offs are only ever added (by a crew sign-off operation): those not there
        // before are the operation's own.
        let signed_before: HashSet<i64> = before.sign_offs.iter().copied().collect();
        let sign_offs: Vec<i64> = now
            .sign_offs
            .iter()
            .copied()
            .filter(|id| !signed_before.contains(id))
            .collect();
        store::remove_added(
            &mut tx,
            actor.agency_id,
            Removals {
                sign_offs: &sign_offs,
                certificates: &certificates.remove,
                issuances: &issuances.remove,
                periods: &periods.remove,
                credentials: &credentials.remove,
            },
        )
        .await?;
        // Operations only close periods, so a period to restore is one to reopen.
        let reopen: Vec<i64> = periods
            .restore
            .iter()
            .filter(|(_, p)| !p.closed)
            .map(|(id, _)| *id)
            .collect();
        store::reopen_periods(&mut tx, actor.agency_id, &reopen).await?;
        let restored_issuances: Vec<_> = issuances.restore.into_iter().map(|(_, i)| i).collect();
        store::restore_issuances(&mut tx, actor.agency_id, &restored_issuances).await?;
        let restored_certificates: Vec<_> =
            certificates.restore.into_iter().map(|(_, c)| c).collect();
        store::restore_certificates(&mut tx, actor.agency_id, &restored_certificates).await?;

        let removed: HashSet<i64> = credentials.remove.iter().copied().collect();
        let (gone, kept): (Vec<CredentialId>, Vec<CredentialId>) =
            touched.iter().partition(|c| removed.contains(&c.get()));
        refresh_from_history(&mut tx, &ctx, &kept).await?;
        let after = serde_json::json!({"operation_id": id, "kind": op.kind});
        crate::ops::audit::record_credentials(&mut tx, &ctx, "undo", &touched, &after).await?;
        if !store::mark_undone(&mut tx, actor.agency_id, id, &actor.label).await? {
            return Err(AppError::Conflict(
                "this operation was already undone".into(),
            ));
        }
        tx.commit().await?;
        Ok(UndoResult {
            operation_id: id,
            restored: kept,
            removed: gone,
        })
    }
}

/// What an operation left, with the certificate requests it queued that the background
/// renderer has generated since counted as generated: that is the operation's own work
/// finishing, not a later change. An issued certificate still is one.
fn rendered_since(mut left: HistoryState, now: &HistoryState) -> HistoryState {
    let generated: HashSet<i64> = now
        .certificates
        .iter()
        .filter(|c| c.status == "generated")
        .map(|c| c.id.get())
        .collect();
    for c in &mut left.certificates {
        if c.status == "ready_to_be_requested" && generated.contains(&c.id.get()) {
            c.status = "generated".to_string();
        }
    }
    left
}
