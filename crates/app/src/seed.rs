//! Realistic bulk data for load tests and the demo: members spread over stations and shifts.

use credence_store::seed::{insert_members, SeedMember};
use credence_store::{catalog, identity};

use crate::{App, AppError, Result};

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

impl App {
    /// Adds `count` members to the agency, each in one station and one shift, in one
    /// transaction of multi-row inserts. Groups are created when missing.
    pub async fn seed_members(&self, agency_slug: &str, count: usize) -> Result<SeedReport> {
        let mut tx = self.store.begin().await?;
        let agency = identity::agency_by_slug(&mut tx, agency_slug)
            .await?
            .ok_or(AppError::NotFound)?;
        let mut group_ids = Vec::new();
        let existing = catalog::groups_page(&mut tx, agency.id, None, 10_000).await?;
        for (name, kind) in STATIONS
            .iter()
            .map(|s| (s, "station"))
            .chain(SHIFTS.iter().map(|s| (s, "shift")))
        {
            let id = match existing.iter().find(|g| g.name == *name) {
                Some(g) => g.id,
                None => {
                    catalog::insert_group(&mut tx, agency.id, name, kind)
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
            pairs.push((group_ids[i % STATIONS.len()], *m));
            pairs.push((
                group_ids[STATIONS.len() + (i / STATIONS.len()) % SHIFTS.len()],
                *m,
            ));
        }
        catalog::add_memberships(&mut tx, agency.id, &pairs).await?;
        tx.commit().await?;
        Ok(SeedReport {
            members: ids.len(),
            memberships: pairs.len(),
        })
    }
}
