//! A bulk seed on PostgreSQL sets the credentials table's secondary indexes aside and builds
//! them once at its end; stopped halfway (SIGKILL), the next start of the binary builds them.

use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::support::{Deployment, PgDatabase, Scratch};

const INDEXES: &str = "SELECT COUNT(*) FROM pg_indexes WHERE tablename = 'credentials'";
const WAITING: &str = "SELECT COUNT(*) FROM set_aside_indexes";

#[test]
fn a_bulk_seed_builds_every_index_it_set_aside() {
    let dir = Scratch::new("seed-indexes");
    let db = PgDatabase::create();
    let deployment = Deployment::postgres(&dir.0, &db);
    let (slug, _) = deployment.agency("Metro Fire");
    let indexes = deployment.count(INDEXES);
    assert!(indexes > 10, "{indexes} indexes on credentials");
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
}

#[test]
fn a_seed_killed_halfway_leaves_its_indexes_to_the_next_start() {
    let dir = Scratch::new("seed-killed");
    let db = PgDatabase::create();
    let deployment = Deployment::postgres(&dir.0, &db);
    let (slug, _) = deployment.agency("Metro Fire");
    let indexes = deployment.count(INDEXES);
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
    assert!(waiting > 0);
    assert_eq!(deployment.count(INDEXES), indexes - waiting);
    // Any start of the binary migrates the database first, and builds them there.
    deployment.run(&["migrate"]);
    assert_eq!(deployment.count(WAITING), 0);
    assert_eq!(deployment.count(INDEXES), indexes);
}
