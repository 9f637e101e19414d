//! API tokens end when they should: revoked, expired, or their member deactivated — at once.

use axum::http::Method;
use credence_app::Role;
use serde_json::json;

use crate::both_databases;
use crate::harness::TestApp;
use crate::members::create_member;

/// The web session cookie of a login, signed in through the app as the login page does.
async fn session_of(t: &TestApp, email: &str) -> String {
    t.app
        .login(email, "a long enough password", "192.0.2.1")
        .await
        .unwrap()
        .secret
}

both_databases! {
    async fn deactivating_a_member_ends_their_tokens_and_sessions_at_once(t) {
        let m = create_member(t, "Ava", "Smith").await;
        let mid = m["id"].as_str().unwrap();
        let token = t.token(Role::Member, Some(mid)).await;
        t.send(Method::GET, "/api/v1/members", Some(&token), None).await.expect(200);
        let member_row = mid.parse::<credence_app::ids::MemberId>().ok();
        t.app.create_user(t.agency_id, "ava@test.example", Role::Member, "a long enough password", member_row).await.unwrap();
        let session = session_of(t, "ava@test.example").await;
        assert!(t.app.web_session(&session).await.is_ok());

        t.delete(&format!("/api/v1/members/{mid}")).await.expect(200);

        t.send(Method::GET, "/api/v1/members", Some(&token), None).await.problem(401);
        assert!(t.app.web_session(&session).await.is_err(), "the session ended");
        assert!(t.app.login("ava@test.example", "a long enough password", "192.0.2.1").await.is_err(), "no new session either");
        // Reactivating the member does not bring the old token back.
        let again = t.get(&format!("/api/v1/members/{mid}")).await.expect(200);
        t.patch(&format!("/api/v1/members/{mid}"), json!({"active": true, "version": again["version"]})).await.expect(200);
        t.send(Method::GET, "/api/v1/members", Some(&token), None).await.problem(401);
        assert!(t.app.login("ava@test.example", "a long enough password", "192.0.2.1").await.is_ok(), "the login works again");
    }

    async fn admins_list_and_revoke_tokens(t) {
        let officer = t.app.create_token_expiring(t.agency_id, Role::Officer, None, Some("scheduler"),
            Some(chrono::Utc::now() + chrono::Duration::days(30))).await.unwrap();
        t.send(Method::GET, "/api/v1/courses", Some(&officer), None).await.expect(200);
        let list = t.get("/api/v1/tokens").await.expect(200);
        let row = list["items"].as_array().unwrap().iter().find(|r| r["name"] == "scheduler").unwrap().clone();
        assert_eq!(row["role"], "officer");
        assert!(row["expires_at"].is_string());
        assert!(list.to_string().find("cred_").is_none(), "secrets are never listed");
        // Last use is written in the background, shortly after.
        let mut used = serde_json::Value::Null;
        for _ in 0..50 {
            let list = t.get("/api/v1/tokens").await.expect(200);
            used = list["items"].as_array().unwrap().iter().find(|r| r["name"] == "scheduler").unwrap()["last_used_at"].clone();
            if used.is_string() { break; }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        assert!(used.is_string(), "last_used_at is recorded");

        let id = row["id"].as_str().unwrap();
        let other = t.other_agency_admin().await;
        t.send(Method::DELETE, &format!("/api/v1/tokens/{id}"), Some(&other), None).await.problem(404);
        t.send(Method::DELETE, &format!("/api/v1/tokens/{id}"), Some(&t.admin), None).await.expect(204);
        t.send(Method::GET, "/api/v1/courses", Some(&officer), None).await.problem(401);
        t.send(Method::DELETE, &format!("/api/v1/tokens/{id}"), Some(&t.admin), None).await.problem(404);
        let events = t.get(&format!("/api/v1/audit-events?subject_id={id}")).await.expect(200);
        assert_eq!(events["items"][0]["action"], "revoke");
    }

    async fn expired_tokens_are_refused(t) {
        let soon = t.app.create_token_expiring(t.agency_id, Role::Auditor, None, Some("short"),
            Some(chrono::Utc::now() + chrono::Duration::days(1))).await.unwrap();
        t.send(Method::GET, "/api/v1/courses", Some(&soon), None).await.expect(200);
        let mut tx = t.app.store.begin().await.unwrap();
        credence_store::query("UPDATE api_tokens SET expires_at = $1 WHERE label = 'short'")
            .arg(chrono::Utc::now() - chrono::Duration::seconds(1)).execute(&mut tx).await.unwrap();
        tx.commit().await.unwrap();
        t.send(Method::GET, "/api/v1/courses", Some(&soon), None).await.problem(401);
        let past = t.app.create_token_expiring(t.agency_id, Role::Auditor, None, None,
            Some(chrono::Utc::now() - chrono::Duration::days(1))).await;
        assert!(matches!(past, Err(credence_app::AppError::Invalid(_))));
    }
}
