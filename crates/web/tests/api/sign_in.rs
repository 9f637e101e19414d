//! Sign-in throttling: atomic under parallel attempts, per account and address, per address.

use credence_app::{AppError, Role};

use crate::both_databases;

const PASSWORD: &str = "a long enough password";

both_databases! {
    async fn a_burst_of_parallel_guesses_gets_no_more_tries_than_the_rules_allow(t) {
        t.app.create_user(t.agency_id, "chief@test.example", Role::Admin, PASSWORD, None).await.unwrap();
        // 29 wrong passwords and the right one, all at once from one address.
        let attempts = (0..30).map(|i| {
            let app = t.app.clone();
            tokio::spawn(async move {
                let password = if i == 29 { PASSWORD.to_string() } else { format!("wrong guess {i}") };
                app.login("chief@test.example", &password, "198.51.100.1").await
            })
        });
        let handles: Vec<_> = attempts.collect();
        // A password was checked when the answer is a sign-in or a wrong password; on a busy
        // machine an attempt may also time out waiting for a connection, which checks none.
        let mut checked = 0;
        for handle in handles {
            if matches!(handle.await.unwrap(), Ok(_) | Err(AppError::Unauthenticated)) {
                checked += 1;
            }
        }
        assert!(checked <= 5, "{checked} passwords were checked in the burst; at most 5 may be");
        // The owner, elsewhere, is not locked out by the burst.
        assert!(t.app.login("chief@test.example", PASSWORD, "203.0.113.5").await.is_ok(), "the owner signs in from their own address");
    }

    async fn a_strangers_failures_slow_the_stranger_not_the_owner(t) {
        t.app.create_user(t.agency_id, "chief@test.example", Role::Admin, PASSWORD, None).await.unwrap();
        for i in 0..5 {
            let wrong = t.app.login("chief@test.example", &format!("guess {i}"), "198.51.100.2").await;
            assert!(matches!(wrong, Err(AppError::Unauthenticated)), "try {i}: {wrong:?}");
        }
        let sixth = t.app.login("chief@test.example", PASSWORD, "198.51.100.2").await;
        assert!(matches!(sixth, Err(AppError::RateLimited(_))), "the stranger waits: {sixth:?}");
        assert!(t.app.login("chief@test.example", PASSWORD, "203.0.113.5").await.is_ok());
    }

    async fn spraying_many_accounts_from_one_address_is_stopped(t) {
        let mut refused = 0;
        for i in 0..40 {
            let email = format!("user{i}@test.example");
            t.app.create_user(t.agency_id, &email, Role::Auditor, PASSWORD, None).await.unwrap();
            match t.app.login(&email, "Spring2026!", "198.51.100.3").await {
                Err(AppError::RateLimited(_)) => refused += 1,
                Err(AppError::Unauthenticated) => {}
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(refused, 40 - credence_domain::sign_in::ADDRESS_LIMIT as usize, "after the address limit every try is refused");
    }
}

both_databases! {
    async fn sign_ins_tokens_and_logins_are_audited(t) {
        let user = t.app.create_user(t.agency_id, "chief@test.example", Role::Admin, PASSWORD, None).await.unwrap();
        let _ = t.app.login("chief@test.example", "wrong guess", "198.51.100.9").await;
        t.app.login("chief@test.example", PASSWORD, "198.51.100.9").await.unwrap();
        let subject = user.to_string();
        let events = t.get(&format!("/api/v1/audit-events?subject_id={subject}")).await.expect(200);
        let actions: Vec<&str> = events["items"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
        assert_eq!(actions, ["sign_in", "sign_in_failed", "create"], "newest first");
        assert_eq!(events["items"][0]["after"]["address"], "198.51.100.9");
        // The harness's own admin token was audited when it was made.
        let tokens = t.get("/api/v1/audit-events").await.expect(200);
        assert!(tokens["items"].as_array().unwrap().iter().any(|e| e["subject_type"] == "api_token" && e["action"] == "create"));
    }
}
