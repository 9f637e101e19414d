//! The daily jobs are claimed with a lease and marked done only when they have run: a day
//! claimed by an instance that died is swept once the lease expires, and a finished day is
//! not run again (#19, Medium 11).

use chrono::{Duration, NaiveDate, Utc};
use credence_app::{App, Clock};
use credence_store::query;

use crate::both_databases;
use crate::fixtures::{CredentialTypeBuilder, Track};
use crate::harness::TestApp;

/// The stored status of a credential (what lists filter on), read past the API's clock.
async fn stored_status(t: &TestApp, credential_id: &str) -> String {
    let id: credence_app::ids::CredentialId = credential_id.parse().unwrap();
    let mut db = t.app.store.read().await.unwrap();
    query("SELECT status FROM credentials WHERE id = $1")
        .arg(id)
        .scalar(&mut db)
        .await
        .unwrap()
}

async fn claim(t: &TestApp, day: NaiveDate, lease_until: chrono::DateTime<Utc>) -> bool {
    let mut tx = t.app.store.begin().await.unwrap();
    let claimed = credence_store::claim_daily_job(&mut tx, t.agency_id, "sweep", day, lease_until)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    claimed
}

async fn set_lease(t: &TestApp, day: NaiveDate, lease_until: chrono::DateTime<Utc>) {
    let mut tx = t.app.store.begin().await.unwrap();
    query("UPDATE daily_job_runs SET lease_until = $3 WHERE agency_id = $1 AND ran_for = $2")
        .arg(t.agency_id)
        .arg(day)
        .arg(lease_until)
        .execute(&mut tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
}

both_databases! {
    async fn a_day_claimed_by_a_dead_instance_is_swept_after_its_lease(t) {
        let ty = CredentialTypeBuilder::new("CPR").publish(t).await;
        // Issued 2025-02-01 for 24 months: on 2027-03-01 the issuance has expired and, the
        // renewal period (no requirements) being complete, it is Ready to Be Issued, once swept.
        let (_, credential) = Track::of(&ty).active("2025-02-01").build(t).await;
        let held = stored_status(t, &credential).await;
        assert!(held.starts_with("active"), "{held}");
        let day: NaiveDate = "2027-03-01".parse().unwrap();
        let later = App::new(t.app.store.clone(), Clock::fixed(day));

        // An instance claimed the day and is (as far as anyone knows) still sweeping.
        assert!(claim(t, day, Utc::now() + Duration::hours(1)).await);
        assert!(!claim(t, day, Utc::now() + Duration::hours(1)).await, "a live claim is not taken twice");
        assert_eq!(later.run_daily_jobs().await.unwrap(), 0, "a live claim is left alone");
        assert_eq!(stored_status(t, &credential).await, held);

        // It was killed mid-sweep: once its lease has passed, the next run takes over.
        set_lease(t, day, Utc::now() - Duration::seconds(1)).await;
        assert_eq!(later.run_daily_jobs().await.unwrap(), 1);
        assert_eq!(stored_status(t, &credential).await, "ready_to_be_issued");

        // Finished: not run again that day, whatever the lease says.
        set_lease(t, day, Utc::now() - Duration::hours(1)).await;
        assert!(!claim(t, day, Utc::now() + Duration::hours(1)).await);
        assert_eq!(later.run_daily_jobs().await.unwrap(), 0);
        // The next day is a new claim.
        let next = App::new(t.app.store.clone(), Clock::fixed(day.succ_opt().unwrap()));
        assert_eq!(next.run_daily_jobs().await.unwrap(), 1);
    }
}
