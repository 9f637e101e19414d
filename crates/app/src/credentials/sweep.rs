//! The daily sweep: moves date-driven statuses (Overdue, Expired, expiring soon, periods
//! opening). It reads only credentials whose stored `status_changes_on` has come, computes
//! with the domain rules, and writes changed rows grouped by value; it is idempotent and
//! safe to run from several instances at once (each batch is its own transaction, and a
//! second run finds nothing due).

use credence_domain::ids::{AgencyId, CredentialId, CredentialTypeId};
use credence_domain::status::Status;
use credence_store::auth::identity;
use credence_store::credentials as store;
use credence_store::credentials::exemptions;

use crate::credentials::lifecycle::{computed, load_rules, refresh, StoredFacts};
use crate::{App, AppError, Result};

/// Rows per transaction: keeps locks short while staying set-based.
const BATCH: i64 = 20_000;

/// Advisory-lock namespace of the sweep (plus the agency id).
pub(crate) const SWEEP_LOCK: i64 = 0x5357_0000_0000;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SweepReport {
    pub examined: usize,
    pub auto_issued: usize,
}

impl App {
    /// Sweeps one agency for its today.
    pub async fn sweep(&self, agency_slug: &str) -> Result<SweepReport> {
        let agency = {
            let mut tx = self.store.read().await?;
            identity::agency_by_slug(&mut tx, agency_slug)
                .await?
                .ok_or(AppError::NotFound)?
        };
        self.sweep_agency(agency.id).await
    }

    pub async fn sweep_all(&self) -> Result<SweepReport> {
        let agencies = {
            let mut tx = self.store.read().await?;
            identity::all_agencies(&mut tx).await?
        };
        let mut total = SweepReport::default();
        for a in agencies {
            let r = self.sweep_agency(a.id).await?;
            total.examined += r.examined;
            total.auto_issued += r.auto_issued;
        }
        Ok(total)
    }

    pub async fn sweep_agency(&self, agency_id: AgencyId) -> Result<SweepReport> {
        let mut report = SweepReport::default();
        let mut after = 0;
        loop {
            let mut tx = self.store.begin().await?;
            let ctx = self.ctx_for(&mut tx, agency_id, "system:sweep").await?;
            // One sweeper per agency at a time; another instance already on it finishes it.
            if !credence_store::try_lock(&mut tx, SWEEP_LOCK + agency_id.get()).await? {
                break;
            }
            let rows = store::due_for_sweep(&mut tx, agency_id, ctx.today, after, BATCH).await?;
            let Some(last) = rows.last() else {
                break;
            };
            after = last.id.get();
            report.auto_issued += recompute(&mut tx, &ctx, &rows).await?;
            report.examined += rows.len();
            tx.commit().await?;
        }
        Ok(report)
    }
}

/// Computes the rows' status, expiring-soon flag and next change from their stored facts for
/// `ctx`'s day and window, writes those that changed (grouped by value), and issues the ones
/// an auto-issue type completes. Answers how many it issued.
async fn recompute(
    tx: &mut credence_store::Tx,
    ctx: &crate::credentials::lifecycle::Ctx,
    rows: &[store::SweepRow],
) -> Result<usize> {
    let mut type_ids: Vec<CredentialTypeId> = rows.iter().map(|r| r.credential_type_id).collect();
    type_ids.sort_unstable();
    type_ids.dedup();
    let rules = load_rules(tx, ctx.agency_id, &type_ids).await?;
    // Progress is stored, and only an exemption lapsing changes it with the date alone:
    // credentials with exemptions get a full refresh, which reads them.
    let ids: Vec<CredentialId> = rows.iter().map(|r| r.id).collect();
    let mut exempted: Vec<CredentialId> =
        exemptions::exemptions_of_credentials(tx, ctx.agency_id, &ids)
            .await?
            .into_iter()
            .map(|e| e.credential_id)
            .collect();
    exempted.sort_unstable();
    exempted.dedup();
    let mut writes = Vec::with_capacity(rows.len());
    let mut to_issue = Vec::new();
    for row in rows {
        if exempted.binary_search(&row.id).is_ok() {
            continue;
        }
        let auto_issue = rules
            .get(&row.credential_type_id)
            .is_some_and(|r| r.row.auto_issue);
        let progress = u8::try_from(row.progress).unwrap_or(0);
        let c = computed(ctx, &stored_facts(row).facts(progress, auto_issue));
        // A period that opens on a complete auto-issue credential issues it: the
        // full refresh does that.
        if auto_issue && c.status == Status::ReadyToBeIssued {
            to_issue.push(row.id);
        }
        if !unchanged(row, &c) {
            writes.push((row.id, c));
        }
    }
    let by_id: std::collections::HashMap<_, _> = rows.iter().map(|r| (r.id, r)).collect();
    let changes = writes
        .iter()
        .filter_map(|(id, c)| {
            let row = by_id.get(id)?;
            Some(crate::notify::webhooks::StatusChange {
                credential_id: row.id,
                member_id: None,
                credential_type_id: row.credential_type_id,
                from: *row.status,
                to: c.status,
                issuance_id: None,
                expiration_date: row.expiration_date,
            })
        })
        .collect();
    // `credential.expired` comes from here: the day's pass is what moves a credential past
    // its expiration date.
    crate::notify::webhooks::emit_status_changes(tx, ctx.agency_id, ctx.today, changes).await?;
    store::set_computed(tx, ctx.agency_id, &writes).await?;
    refresh(tx, ctx, &to_issue).await?;
    refresh(tx, ctx, &exempted).await?;
    Ok(to_issue.len())
}

/// After the agency's expiring-soon window changed (in `tx`, which `ctx` was read in):
/// recomputes every credential whose flag or next change depends on it, in batches of
/// [`BATCH`] rows within the same transaction, so lists and counts agree with the new window
/// as soon as it commits. Answers how many credentials it examined.
pub(crate) async fn apply_expiring_window(
    tx: &mut credence_store::Tx,
    ctx: &crate::credentials::lifecycle::Ctx,
) -> Result<usize> {
    let mut examined = 0;
    let mut after = 0;
    loop {
        let rows = store::with_expiration(tx, ctx.agency_id, after, BATCH).await?;
        let Some(last) = rows.last() else {
            return Ok(examined);
        };
        after = last.id.get();
        examined += rows.len();
        recompute(tx, ctx, &rows).await?;
    }
}

/// How long a claim on an agency's daily jobs keeps other instances off them. The instance
/// running them renews it every [`DAILY_JOB_RENEWAL`], so a long sweep keeps its claim, and
/// an instance killed mid-run holds the day's jobs up for at most this long (it was 15
/// minutes without renewal: a server killed and restarted sent the day's reminders a quarter
/// of an hour late). Were a claim to lapse all the same, running twice at once is harmless:
/// the sweep is idempotent and each batch takes the sweep lock; reminders are queued once.
pub const DAILY_JOB_LEASE: chrono::Duration = chrono::Duration::seconds(30);

/// How often a running claim is renewed: well inside the lease.
const DAILY_JOB_RENEWAL: std::time::Duration = std::time::Duration::from_secs(10);

const DAILY_JOB: &str = "sweep";

impl App {
    /// Runs the sweep, then queues reminders, for every agency whose local day has turned
    /// since its last finished run. The server calls this at start (catching up) and every
    /// 15 seconds after. The day is marked done only once both have run: a claim left by an
    /// instance that died is taken over when its lease expires, and the sweep simply runs
    /// again (it is idempotent).
    pub async fn run_daily_jobs(&self) -> Result<usize> {
        let agencies = {
            let mut tx = self.store.read().await?;
            identity::all_agencies(&mut tx).await?
        };
        let mut ran = 0;
        for a in agencies {
            let today = self.clock.today(&a.time_zone);
            let mut tx = self.store.begin().await?;
            let lease_until = credence_store::now() + DAILY_JOB_LEASE;
            let claimed =
                credence_store::claim_daily_job(&mut tx, a.id, DAILY_JOB, today, lease_until)
                    .await?;
            tx.commit().await?;
            if !claimed {
                continue;
            }
            let renewing = self.renew_while_running(a.id, today);
            let done = self.daily_jobs_of(a.id, today).await;
            renewing.abort();
            match done {
                Ok((report, queued)) => {
                    tracing::info!(agency = %a.slug, %today, examined = report.examined, auto_issued = report.auto_issued, reminders = queued, "daily jobs");
                    ran += 1;
                }
                Err(e) => {
                    // Let the next attempt (a minute from now) retry without waiting out the lease.
                    let mut tx = self.store.begin().await?;
                    credence_store::release_daily_job(&mut tx, a.id, DAILY_JOB, today).await?;
                    tx.commit().await?;
                    return Err(e);
                }
            }
        }
        Ok(ran)
    }

    /// Renews the claim on an agency's daily jobs until aborted.
    fn renew_while_running(
        &self,
        agency_id: AgencyId,
        today: chrono::NaiveDate,
    ) -> tokio::task::JoinHandle<()> {
        let store = self.store.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(DAILY_JOB_RENEWAL).await;
                let renewed = async {
                    let mut tx = store.begin().await?;
                    let lease_until = credence_store::now() + DAILY_JOB_LEASE;
                    let live = credence_store::renew_daily_job(
                        &mut tx,
                        agency_id,
                        DAILY_JOB,
                        today,
                        lease_until,
                    )
                    .await?;
                    tx.commit().await?;
                    Ok::<_, credence_store::StoreError>(live)
                };
                match renewed.await {
                    Ok(true) => {}
                    Ok(false) => return,
                    Err(e) => {
                        tracing::warn!(error = %e, "could not renew the claim on the daily jobs")
                    }
                }
            }
        })
    }

    /// One agency's daily jobs for `today`, then the mark that they are done.
    async fn daily_jobs_of(
        &self,
        agency_id: AgencyId,
        today: chrono::NaiveDate,
    ) -> Result<(SweepReport, u64)> {
        let report = self.sweep_agency(agency_id).await?;
        let queued = self.queue_reminders(agency_id).await?;
        let mut tx = self.store.begin().await?;
        credence_store::finish_daily_job(&mut tx, agency_id, DAILY_JOB, today).await?;
        tx.commit().await?;
        Ok((report, queued))
    }
}

fn stored_facts(row: &store::SweepRow) -> StoredFacts {
    StoredFacts {
        issue_date: row.issue_date,
        expiration_date: row.expiration_date,
        revoked: row.revoked,
        period_start: row.period_start,
        period_end: row.period_end,
    }
}

/// Whether the row already stores these values (the sweep writes only changes).
fn unchanged(row: &store::SweepRow, c: &store::Computed) -> bool {
    row.status == c.status
        && row.progress == c.progress
        && row.expiring_soon == c.expiring_soon
        && row.status_changes_on == c.status_changes_on
}
