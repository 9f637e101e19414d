//! A bulk seed on PostgreSQL sets the credentials table's secondary indexes and the foreign
//! keys of the tables it fills aside, and restores them once at its end; stopped halfway
//! (SIGKILL), the next start of the binary restores them.

use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::support::{Deployment, PgDatabase, Scratch};

const INDEXES: &str = "SELECT COUNT(*) FROM pg_indexes WHERE tablename = 'credentials'";
const WAITING: &str = "SELECT COUNT(*) FROM set_aside_indexes";
/// Foreign keys of the tables a seed fills, and how many of them are validated.
const KEYS: &str = "SELECT COUNT(*) FROM pg_constraint WHERE contype = 'f'
    AND conrelid::regclass::text IN ('credentials', 'completion_periods', 'issuances', 'audit_events')";
const VALID_KEYS: &str = "SELECT COUNT(*) FROM pg_constraint WHERE contype = 'f' AND convalidated
    AND conrelid::regclass::text IN ('credentials', 'completion_periods', 'issuances', 'audit_events')";

#[test]
fn a_bulk_seed_builds_every_index_it_set_aside() {
    let dir = Scratch::new("seed-indexes");
    let db = PgDatabase::create();
    let deployment = Deployment::postgres(&dir.0, &db);
    let (slug, _) = deployment.agency("Metro Fire");
    let indexes = deployment.count(INDEXES);
    assert!(indexes > 10, "{indexes} indexes on credentials");
    let keys = deployment.count(KEYS);
    assert!(keys >= 9, "{keys} foreign keys");
    deployment.run(&[
        "seed",
        "--agency",
        &slug,
        "--members",
        "300",
        "--credentials-per-member",
        "3",
    ]);
    assert_eq!(deployment.count("SELECT COUNT(*) FROM credentials"), 900);
    assert_eq!(deployment.count(INDEXES), indexes);
    assert_eq!(deployment.count(WAITING), 0);
    let invalid = "SELECT COUNT(*) FROM pg_index WHERE NOT indisvalid";
    assert_eq!(deployment.count(invalid), 0);
    assert_eq!(deployment.count(VALID_KEYS), keys);
    // The keys hold again: a credential of a member who does not exist is refused.
    let orphan = deployment.refused(
        "UPDATE credentials SET member_id = -1 WHERE id = (SELECT MIN(id) FROM credentials)",
    );
    assert_eq!(
        orphan.as_deref(),
        Some("constraint credentials_member_id_fkey violated")
    );
}

#[test]
fn a_seed_killed_halfway_leaves_its_indexes_to_the_next_start() {
    let dir = Scratch::new("seed-killed");
    let db = PgDatabase::create();
    let deployment = Deployment::postgres(&dir.0, &db);
    let (slug, _) = deployment.agency("Metro Fire");
    let indexes = deployment.count(INDEXES);
    let keys = deployment.count(KEYS);
    let mut seed = deployment
        .command_for(&[
            "seed",
            "--agency",
            &slug,
            "--members",
            "30000",
            "--credentials-per-member",
            "4",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    while deployment.count(WAITING) == 0 {
        assert!(
            Instant::now() < deadline,
            "the seed never set its indexes aside"
        );
        assert!(
            seed.try_wait().unwrap().is_none(),
            "the seed ended before it was killed"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    seed.kill().unwrap();
    seed.wait().unwrap();
    let waiting = deployment.count(WAITING);
    assert_eq!(waiting, indexes - deployment.count(INDEXES) + keys);
    assert_eq!(deployment.count(KEYS), 0);
    // Any start of the binary migrates the database first, and restores them there.
    deployment.run(&["migrate"]);
    assert_eq!(deployment.count(WAITING), 0);
    assert_eq!(deployment.count(INDEXES), indexes);
    assert_eq!(deployment.count(VALID_KEYS), keys);
}
