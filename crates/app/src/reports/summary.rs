//! The dashboard's agency-wide numbers. Counting a million credentials by type and group
//! takes longer than a page should wait on every view, so each instance keeps the last summary
//! per agency — and knows it current only while nothing it counts has changed: the agency's
//! newest audit event (every write records one), its last finished daily jobs and its today
//! (see `counts_version`). A change anywhere, on any instance, shows on the next view — at
//! once where counting is quick. Where it is slow (a large agency, [`SLOW_COUNT`]) and the
//! agency is writing, the view shows the last counts with their time and one recount per
//! agency runs in the background: waiting for a recount on every view would make each view
//! as slow as the count, and under steady writes every view would wait.

use credence_domain::ids::{AgencyId, CredentialTypeId, GroupId};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{Days, NaiveDate};
use credence_domain::status::{self, Standing, Status};
use credence_store::reports::compliance::{self, CountsVersion};

use crate::{App, AppError, Reader, Result};

/// The standing of credentials counted under a stored status.
fn standing_of(status: String, issued: bool) -> Result<Standing> {
    let status = Status::try_from(status).map_err(|e| AppError::internal(e.to_string()))?;
    Ok(status::standing(status, issued))
}

/// Counts by standing (compliant, in training, lapsed) per credential type and per group,
/// and the headline numbers. Withdrawn tracks are not counted.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    pub by_type: BTreeMap<CredentialTypeId, BTreeMap<Standing, i64>>,
    pub by_group: BTreeMap<GroupId, BTreeMap<Standing, i64>>,
    pub expiring_90_days: i64,
    pub overdue: i64,
    pub computed_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// A count slower than this is done in the background while the last one is shown.
pub const SLOW_COUNT: Duration = Duration::from_millis(100);

/// A background recount starts no sooner than this many times its last duration after the
/// last count: under steady writes a large agency's recounts then take at most a sixth of
/// one core, instead of all of it (5 s counts of a million credentials one after another).
const RECOUNT_SPACING: u32 = 5;

/// What a cached summary was computed from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Basis {
    version: CountsVersion,
    today: NaiveDate,
}

/// An agency's last summary: what it was counted from, how long counting took, and whether
/// a recount is under way.
#[derive(Clone)]
struct Cached {
    basis: Basis,
    summary: Arc<Summary>,
    took: Duration,
    counted_at: Instant,
    recounting: bool,
}

/// Per-instance cache of summaries by agency, and how slow a count must be to be done in the
/// background.
pub struct SummaryCache {
    agencies: Mutex<HashMap<AgencyId, Cached>>,
    slow: Mutex<Duration>,
}

impl Default for SummaryCache {
    fn default() -> Self {
        SummaryCache {
            agencies: Mutex::default(),
            slow: Mutex::new(SLOW_COUNT),
        }
    }
}

impl SummaryCache {
    fn is_slow(&self, took: Duration) -> bool {
        took >= *self.slow.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn get(&self, agency: AgencyId) -> Option<Cached> {
        self.lock().get(&agency).cloned()
    }

    fn put(&self, agency: AgencyId, basis: Basis, summary: Arc<Summary>, took: Duration) {
        let cached = Cached {
            basis,
            summary,
            took,
            counted_at: Instant::now(),
            recounting: false,
        };
        self.lock().insert(agency, cached);
    }

    /// Marks a recount of the agency under way; false when one already is, or the last
    /// count is too recent (see [`RECOUNT_SPACING`]).
    fn start_recount(&self, agency: AgencyId) -> bool {
        match self.lock().get_mut(&agency) {
            Some(c) if !c.recounting && c.counted_at.elapsed() >= c.took * RECOUNT_SPACING => {
                c.recounting = true;
                true
            }
            _ => false,
        }
    }

    fn recount_failed(&self, agency: AgencyId) {
        if let Some(c) = self.lock().get_mut(&agency) {
            c.recounting = false;
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<AgencyId, Cached>> {
        self.agencies.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A summary and whether it counts everything up to now (false: newer changes are being
/// recounted in the background).
#[derive(Debug, Clone)]
pub struct SummaryView {
    pub summary: Arc<Summary>,
    pub current: bool,
}

impl App {
    /// Sets how slow a count must be for views to show the last counts while the next is
    /// counted in the background ([`SLOW_COUNT`] unless set).
    pub fn count_in_background_from(&self, slow: Duration) {
        *self
            .summaries
            .slow
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = slow;
    }

    /// The agency's summary as of now: the cached one if nothing it counts has changed since,
    /// else counted afresh — or, where counting is slow, the cached one while a recount runs.
    #[tracing::instrument(skip_all, fields(agency = %actor.agency_id, actor = %actor.label))]
    pub async fn summary(&self, actor: &Reader) -> Result<SummaryView> {
        let agency = actor.agency_id;
        let basis = {
            let mut db = self.store.read().await?;
            let today = self.ctx_for(&mut db, agency, "system:summary").await?.today;
            let version = compliance::counts_version(&mut db, agency).await?;
            Basis { version, today }
        };
        match self.summaries.get(agency) {
            Some(c) if c.basis == basis => Ok(SummaryView {
                summary: c.summary,
                current: true,
            }),
            // A new day is counted before it is shown: statuses change with it.
            Some(c) if self.summaries.is_slow(c.took) && c.basis.today == basis.today => {
                if self.summaries.start_recount(agency) {
                    let app = self.clone();
                    tokio::spawn(async move { app.recount(agency, basis).await });
                }
                Ok(SummaryView {
                    summary: c.summary,
                    current: false,
                })
            }
            _ => Ok(SummaryView {
                summary: self.count(agency, basis).await?,
                current: true,
            }),
        }
    }

    async fn count(&self, agency: AgencyId, basis: Basis) -> Result<Arc<Summary>> {
        let started = Instant::now();
        let summary = Arc::new(self.compute_summary(agency).await?);
        self.summaries
            .put(agency, basis, summary.clone(), started.elapsed());
        Ok(summary)
    }

    /// A background recount; the next view after it shows its counts.
    async fn recount(&self, agency: AgencyId, basis: Basis) {
        if let Err(e) = self.count(agency, basis).await {
            tracing::warn!(error = %e, agency = %agency, "recounting the dashboard failed");
            self.summaries.recount_failed(agency);
        }
    }

    async fn compute_summary(&self, agency_id: AgencyId) -> Result<Summary> {
        let mut tx = self.store.read().await?;
        let ctx = self.ctx_for(&mut tx, agency_id, "system:summary").await?;
        let mut by_type: BTreeMap<CredentialTypeId, BTreeMap<Standing, i64>> = BTreeMap::new();
        for (t, status, issued, n) in compliance::type_status_counts(&mut tx, agency_id).await? {
            *by_type
                .entry(t)
                .or_default()
                .entry(standing_of(status, issued)?)
                .or_default() += n;
        }
        let mut by_group: BTreeMap<GroupId, BTreeMap<Standing, i64>> = BTreeMap::new();
        for (g, status, issued, n) in compliance::group_status_counts(&mut tx, agency_id).await? {
            *by_group
                .entry(g)
                .or_default()
                .entry(standing_of(status, issued)?)
                .or_default() += n;
        }
        let (expiring_90_days, overdue) =
            compliance::headline_counts(&mut tx, agency_id, ctx.today, ctx.today + Days::new(90))
                .await?;
        Ok(Summary {
            by_type,
            by_group,
            expiring_90_days,
            overdue,
            computed_at: Some(chrono::Utc::now()),
        })
    }
}
