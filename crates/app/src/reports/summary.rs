//! The dashboard's agency-wide numbers. Counting a million credentials by type and group
//! takes longer than a page should wait on every view, so each instance keeps the last summary
//! per agency — and serves it only while nothing it counts has changed: the agency's newest
//! audit event (every write records one), its last finished daily jobs and its today (see
//! `counts_version`). A change anywhere, on any instance, shows on the next view.

use credence_domain::ids::{AgencyId, CredentialTypeId, GroupId};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

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

/// What a cached summary was computed from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Basis {
    version: CountsVersion,
    today: NaiveDate,
}

/// Per-instance cache of summaries by agency.
#[derive(Default)]
pub struct SummaryCache(Mutex<HashMap<AgencyId, (Basis, Arc<Summary>)>>);

impl App {
    /// The agency's summary as of now: the cached one if nothing it counts has changed since,
    /// else computed afresh.
    #[tracing::instrument(skip_all, fields(agency = %actor.agency_id, actor = %actor.label))]
    pub async fn summary(&self, actor: &Reader) -> Result<Arc<Summary>> {
        let agency = actor.agency_id;
        let basis = {
            let mut db = self.store.read().await?;
            let today = self.ctx_for(&mut db, agency, "system:summary").await?.today;
            let version = compliance::counts_version(&mut db, agency).await?;
            Basis { version, today }
        };
        if let Some((cached, summary)) = self.cached_summary(agency) {
            if cached == basis {
                return Ok(summary);
            }
        }
        let summary = Arc::new(self.compute_summary(agency).await?);
        let mut map = self.summaries.0.lock().unwrap_or_else(|p| p.into_inner());
        map.insert(agency, (basis, summary.clone()));
        Ok(summary)
    }

    fn cached_summary(&self, agency: AgencyId) -> Option<(Basis, Arc<Summary>)> {
        let map = self.summaries.0.lock().unwrap_or_else(|p| p.into_inner());
        map.get(&agency).cloned()
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
