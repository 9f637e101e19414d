//! The dashboard's agency-wide numbers. Counting a million credentials by type and group
//! takes longer than a page may, so each instance keeps the last summary per agency and
//! serves it while a fresh one is computed in the background (at most one at a time).

use credence_domain::ids::{AgencyId, CredentialTypeId, GroupId};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Days;
use credence_store::reports::compliance;

use crate::{App, Reader, Result};

/// How old a summary may be before a refresh starts.
const FRESH_FOR: Duration = Duration::from_secs(30);

/// Status counts per credential type and per group, and the headline numbers.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    pub by_type: BTreeMap<CredentialTypeId, BTreeMap<String, i64>>,
    pub by_group: BTreeMap<GroupId, BTreeMap<String, i64>>,
    pub expiring_90_days: i64,
    pub overdue: i64,
    pub computed_at: Option<chrono::DateTime<chrono::Utc>>,
}

struct Entry {
    at: Instant,
    summary: Arc<Summary>,
    refreshing: bool,
}

/// Per-instance cache of summaries by agency.
#[derive(Default)]
pub struct SummaryCache(Mutex<HashMap<AgencyId, Entry>>);

impl App {
    /// The agency's summary: cached if fresh, else the cached one while a refresh runs,
    /// else computed now (the first time).
    #[tracing::instrument(skip_all, fields(agency = %actor.agency_id, actor = %actor.label))]
    pub async fn summary(&self, actor: &Reader) -> Result<Arc<Summary>> {
        let agency = actor.agency_id;
        let cached = {
            let mut map = self.summaries.0.lock().unwrap_or_else(|p| p.into_inner());
            match map.get_mut(&agency) {
                Some(e) if e.at.elapsed() < FRESH_FOR => return Ok(e.summary.clone()),
                Some(e) if !e.refreshing => {
                    e.refreshing = true;
                    Some((e.summary.clone(), true))
                }
                Some(e) => Some((e.summary.clone(), false)),
                None => None,
            }
        };
        match cached {
            Some((stale, start_refresh)) => {
                if start_refresh {
                    let app = self.clone();
                    tokio::spawn(async move {
                        if let Err(e) = app.refresh_summary(agency).await {
                            tracing::warn!(error = %e, "refreshing the dashboard summary failed");
                        }
                    });
                }
                Ok(stale)
            }
            None => self.refresh_summary(agency).await,
        }
    }

    async fn refresh_summary(&self, agency_id: AgencyId) -> Result<Arc<Summary>> {
        let result = self.compute_summary(agency_id).await;
        let mut map = self.summaries.0.lock().unwrap_or_else(|p| p.into_inner());
        match result {
            Ok(summary) => {
                let summary = Arc::new(summary);
                map.insert(
                    agency_id,
                    Entry {
                        at: Instant::now(),
                        summary: summary.clone(),
                        refreshing: false,
                    },
                );
                Ok(summary)
            }
            Err(e) => {
                if let Some(entry) = map.get_mut(&agency_id) {
                    entry.refreshing = false;
                }
                Err(e)
            }
        }
    }

    async fn compute_summary(&self, agency_id: AgencyId) -> Result<Summary> {
        let mut tx = self.store.read().await?;
        let ctx = self.ctx_for(&mut tx, agency_id, "system:summary").await?;
        let mut by_type: BTreeMap<CredentialTypeId, BTreeMap<String, i64>> = BTreeMap::new();
        for (t, status, n) in compliance::type_status_counts(&mut tx, agency_id).await? {
            by_type.entry(t).or_default().insert(status, n);
        }
        let mut by_group: BTreeMap<GroupId, BTreeMap<String, i64>> = BTreeMap::new();
        for (g, status, n) in compliance::group_status_counts(&mut tx, agency_id).await? {
            by_group.entry(g).or_default().insert(status, n);
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
