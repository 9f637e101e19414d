//! Realistic bulk data for load tests and the demo: members spread over stations and shifts.

use chrono::{Days, Months};
use credence_domain::ids::MemberId;
use credence_store::credentials::PeriodDates;
use credence_store::ops::seed::{insert_members, SeedMember};
use credence_store::{auth::identity, people::groups};

use crate::catalog::credential_types::{LifecycleAction, NewCredentialType};
use crate::credentials::assign::{create_tracks, Plan};
use crate::credentials::lifecycle::load_rules;
use crate::ops::demo::checklist_req;
use crate::{Actor, Admin, App, AppError, Result};

const FIRST_NAMES: [&str; 32] = [
    "Ava", "Liam", "Noah", "Emma", "Olivia", "Mason", "Sofia", "Lucas", "Mia", "Ethan", "Amara",
    "Diego", "Priya", "Kenji", "Fatima", "Mateo", "Chloe", "Owen", "Leah", "Caleb", "Zoe", "Isaac",
    "Nora", "Elijah", "Hana", "Samuel", "Grace", "Omar", "Ruby", "Julian", "Ines", "Marcus",
];
const LAST_NAMES: [&str; 32] = [
    "Garcia", "Johnson", "Nguyen", "Okafor", "Smith", "Patel", "Kowalski", "Martinez", "Brown",
    "Lee", "Rossi", "Murphy", "Haddad", "Schmidt", "Kim", "Lopez", "Walker", "Novak", "Hughes",
    "Ibrahim", "Carter", "Silva", "Fischer", "Reyes", "Campbell", "Yamamoto", "Dubois", "Moreno",
    "Quinn", "Adeyemi", "Larsen", "Baker",
];

/// The stations and shifts every seeded agency has.
pub const STATIONS: [&str; 4] = ["Station 1", "Station 2", "Station 3", "Station 4"];
pub const SHIFTS: [&str; 3] = ["A Shift", "B Shift", "C Shift"];

/// What a seed run created.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeedReport {
    pub members: usize,
    pub memberships: usize,
    pub credentials: usize,
}

/// The i-th seeded person: deterministic, varied, and unique by employee number.
pub fn seed_member(i: usize, prefix: &str) -> SeedMember {
    let first = FIRST_NAMES[i % FIRST_NAMES.len()];
    let last = LAST_NAMES[(i / FIRST_NAMES.len() + i * 7) % LAST_NAMES.len()];
    SeedMember {
        first_name: first.to_string(),
        last_name: last.to_string(),
        email: format!(
            "{}.{}.{prefix}{i}@example.org",
            first.to_lowercase(),
            last.to_lowercase()
        ),
        employee_number: format!("{prefix}{i:06}"),
    }
}

/// The `i`-th member's number scrambled (a multiplicative hash), so what is derived from it
/// does not line up with anything else derived from `i`.
fn scrambled(i: usize) -> usize {
    ((i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 40) as usize
}

/// The cohort (of `cohorts`) the `j`-th member falls in for the `k`-th type: rotated per type
/// so every member has a mix, and scrambled per member so a cohort does not line up with a
/// station. (A plain `(j + k) % 4` put every member of a station in one status for each type,
/// which no agency has, and which sent a station's overdue list through every other
/// station's overdue credentials first.)
fn cohort_of(j: usize, k: usize, cohorts: usize) -> usize {
    (scrambled(j) + k) % cohorts
}

/// The station and the shift (indexes into [`STATIONS`] and [`SHIFTS`]) of the `i`-th
/// member. Scrambled, because first names repeat every 32 members: a plain `i % 4` put
/// every Ava in Station 1 and no Amara, so a station's list in name order first read
/// through whole names it holds none of (at 10M, 2,490 overdue credentials for a page of 51).
/// A different mix from [`scrambled`] (SplitMix64's finaliser), which is linear in `i`: the
/// two derived from one hash would make stations follow cohorts instead.
fn station_and_shift(i: usize) -> (usize, usize) {
    let mut z = (i as u64).wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    let s = ((z ^ (z >> 31)) >> 32) as usize;
    (s % STATIONS.len(), (s / STATIONS.len()) % SHIFTS.len())
}

impl App {
    /// Adds `count` members to the agency, each in one station and one shift, in one
    /// transaction of multi-row inserts. Groups are created when missing.
    pub async fn seed_members(&self, agency_slug: &str, count: usize) -> Result<SeedReport> {
        let mut tx = self.store.begin().await?;
        let agency = identity::agency_by_slug(&mut tx, agency_slug)
            .await?
            .ok_or(AppError::NotFound)?;
        let mut group_ids = Vec::new();
        let existing = groups::groups_page(&mut tx, agency.id, None, 10_000).await?;
        for (name, kind) in STATIONS
            .iter()
            .map(|s| (s, "station"))
            .chain(SHIFTS.iter().map(|s| (s, "shift")))
        {
            let id = match existing.iter().find(|g| g.name == *name) {
                Some(g) => g.id,
                None => {
                    groups::insert_group(&mut tx, agency.id, name, kind)
                        .await?
                        .id
                }
            };
            group_ids.push(id);
        }
        // A prefix per run keeps employee numbers unique when seeding twice.
        let prefix = format!("S{}-", chrono::Utc::now().timestamp_millis() % 1_000_000);
        let people: Vec<SeedMember> = (0..count).map(|i| seed_member(i, &prefix)).collect();
        let ids = insert_members(&mut tx, agency.id, &people).await?;
        let mut pairs = Vec::with_capacity(ids.len() * 2);
        for (i, m) in ids.iter().enumerate() {
            let (station, shift) = station_and_shift(i);
            pairs.push((group_ids[station], *m));
            pairs.push((group_ids[STATIONS.len() + shift], *m));
        }
        let today = self.clock.today(&agency.time_zone);
        groups::add_memberships(&mut tx, agency.id, &pairs, today).await?;
        tx.commit().await?;
        Ok(SeedReport {
            members: ids.len(),
            memberships: pairs.len(),
            credentials: 0,
        })
    }

    /// Seeds members, then gives each `per_member` credentials of load-test types, spread
    /// over the statuses a real agency has (in progress, active, renewal due, overdue),
    /// through the same set-based assignment path the API uses.
    pub async fn seed(
        &self,
        agency_slug: &str,
        members: usize,
        per_member: usize,
    ) -> Result<SeedReport> {
        let mut report = self.seed_members(agency_slug, members).await?;
        if per_member == 0 {
            return Ok(report);
        }
        let agency = self.agency_by_slug(agency_slug).await?;
        let actor = Actor::system(agency.id, "system:seed").admin()?;
        let member_ids = {
            let mut tx = self.store.read().await?;
            credence_store::ops::seed::newest_member_ids(&mut tx, agency.id, members as i64).await?
        };
        let adding = (member_ids.len() * per_member) as u64;
        let set_aside =
            credence_store::ops::seed::set_aside_for_load(&self.store, "credentials", adding)
                .await?;
        let created = self.seed_types(&actor, &member_ids, per_member).await;
        // Restored even when the seed failed: a table without its indexes answers slowly.
        if set_aside > 0 {
            credence_store::ops::seed::restore_set_aside(&self.store).await?;
        }
        report.credentials = created?;
        Ok(report)
    }

    /// Gives every member `per_member` new load-test types; answers the credentials created.
    async fn seed_types(
        &self,
        actor: &Admin,
        member_ids: &[MemberId],
        per_member: usize,
    ) -> Result<usize> {
        use futures_util::StreamExt;
        let stamp = chrono::Utc::now().timestamp_millis() % 1_000_000;
        // PostgreSQL does the work of a seed (index entries, foreign-key checks) in the
        // backend of the connection, one core each: two types at once use both cores of a
        // small machine. SQLite has one writer, so there the types go one after another.
        // Each worker takes the next type when its last one commits: the commits, which
        // append to the audit chain one at a time, fall apart instead of meeting again.
        let at_once = match self.store.backend() {
            credence_store::Backend::Postgres => 2,
            credence_store::Backend::Sqlite => 1,
        };
        let mut runs = futures_util::stream::iter(0..per_member)
            .map(|k| self.seed_type(actor, member_ids, stamp, k))
            .buffer_unordered(at_once);
        let mut created = 0;
        while let Some(n) = runs.next().await {
            created += n?;
        }
        Ok(created)
    }

    /// Creates and publishes the `k`-th load-test type and gives it to every member, in
    /// four cohorts of different statuses; returns the credentials created.
    async fn seed_type(
        &self,
        actor: &Admin,
        member_ids: &[MemberId],
        stamp: i64,
        k: usize,
    ) -> Result<usize> {
        let ty = self
            .create_credential_type(
                actor,
                NewCredentialType {
                    code: format!("LOAD-{stamp}-{k}"),
                    name: format!("Load test credential {k}"),
                    description: None,
                    invisible: None,
                    effective_from: None,
                    due_date: None,
                    grace_period_days: None,
                    validity_months: Some(24),
                    expiration_rounding: None,
                    auto_issue: None,
                    auto_certificate: None,
                    renewal: None,
                    renewal_window_days: Some(180),
                    number_pattern: None,
                    reminder_days: None,
                    requirements: Some(vec![checklist_req("Skills check-off")]),
                    enrolment_group_ids: None,
                },
            )
            .await?;
        self.publish_credential_type(actor, ty.id, LifecycleAction::default())
            .await?;
        let type_id = ty.id;
        let mut tx = self.store.begin().await?;
        let ctx = self.ctx(&mut tx, actor).await?;
        let rules = load_rules(&mut tx, actor.agency_id, &[type_id]).await?;
        let rule = &rules[&type_id];
        let today = ctx.today;
        let month = |n: u32| today.checked_sub_months(Months::new(n)).unwrap_or(today);
        // Four cohorts, rotated per type so every member has a mix.
        let plans = [
            Plan::Period(PeriodDates {
                start: month(1),
                end: today + Days::new(180),
                due: today + Days::new(180),
            }),
            Plan::Active {
                issue_date: month(4),
                expiration_date: rule.expiration_for(month(4)),
            },
            Plan::Active {
                issue_date: month(22),
                expiration_date: rule.expiration_for(month(22)),
            },
            Plan::Period(PeriodDates {
                start: month(8),
                end: month(2),
                due: month(2),
            }),
        ];
        let mut created = 0;
        for (i, plan) in plans.iter().enumerate() {
            let cohort: Vec<MemberId> = member_ids
                .iter()
                .enumerate()
                .filter(|(j, _)| cohort_of(*j, k, plans.len()) == i)
                .map(|(_, m)| *m)
                .collect();
            created += create_tracks(&mut tx, &ctx, rule, &cohort, plan, "seed")
                .await?
                .len();
        }
        tx.commit().await?;
        Ok(created)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every station gets every cohort of a type in about equal shares.
    #[test]
    fn cohorts_do_not_follow_stations() {
        for k in 0..4 {
            let mut counts = [[0usize; 4]; STATIONS.len()];
            for j in 0..40_000 {
                counts[station_and_shift(j).0][cohort_of(j, k, 4)] += 1;
            }
            for (station, cohorts) in counts.iter().enumerate() {
                for n in cohorts {
                    assert!((2_200..2_800).contains(n), "{station} {k} {counts:?}");
                }
            }
        }
    }

    /// Everyone of a first name is not in one station: each name is spread over all four
    /// stations and all three shifts, and every station has about a quarter of the members.
    #[test]
    fn stations_do_not_follow_names() {
        let members = 40_000;
        let mut by_name = vec![[0usize; 4]; FIRST_NAMES.len()];
        let mut shifts = [0usize; 3];
        for i in 0..members {
            let (station, shift) = station_and_shift(i);
            by_name[i % FIRST_NAMES.len()][station] += 1;
            shifts[shift] += 1;
        }
        for counts in &by_name {
            let per_station = members / FIRST_NAMES.len() / STATIONS.len();
            for n in counts {
                assert!(
                    n * 10 > per_station * 8 && n * 10 < per_station * 12,
                    "{counts:?}"
                );
            }
        }
        for n in shifts {
            assert!(
                n * 10 > members / 3 * 9 && n * 10 < members / 3 * 11,
                "{shifts:?}"
            );
        }
    }

    /// Each member's cohort turns with the type, so a member holds a mix of statuses.
    #[test]
    fn a_member_has_every_cohort_over_four_types() {
        for j in 0..1_000 {
            let mut seen: Vec<usize> = (0..4).map(|k| cohort_of(j, k, 4)).collect();
            seen.sort_unstable();
            assert_eq!(seen, vec![0, 1, 2, 3]);
        }
    }
}
