use credence_app::{Backend, Role};
use credence_domain::audit_chain::{self, canonical, canonical_json, link, LinkProblem, GENESIS};
use credence_domain::ids::AnyId;
use serde_json::json;

use crate::both_databases;
use crate::credential_types::emt_type;
use crate::fixtures::CredentialTypeBuilder;
use crate::harness::TestApp;

both_databases! {
    async fn every_change_is_audited_with_before_and_after(t) {
        let ty = emt_type(t).await;
        let id = ty["id"].as_str().unwrap();
        t.patch(&format!("/api/v1/credential-types/{id}"), json!({"version": 1, "name": "EMT-B (State)"})).await.expect(200);
        t.post(&format!("/api/v1/credential-types/{id}/publish"), json!({})).await.expect(200);
        let events = t.get(&format!("/api/v1/audit-events?subject_id={id}")).await.expect(200);
        let items = events["items"].as_array().unwrap();
        let actions: Vec<&str> = items.iter().map(|e| e["action"].as_str().unwrap()).collect();
        assert_eq!(actions, ["publish", "update", "create"], "newest first");
        assert_eq!(items[1]["before"]["name"], "EMT-Basic");
        assert_eq!(items[1]["after"]["name"], "EMT-B (State)");
        assert!(items[2]["before"].is_null());
        assert!(items[0]["actor"].as_str().unwrap().starts_with("token:"));
        assert_eq!(items[0]["subject_id"], id);

        let all = t.get("/api/v1/audit-events?limit=2").await.expect(200);
        assert_eq!(all["items"].as_array().unwrap().len(), 2);
        let next = t.get(&format!("/api/v1/audit-events?limit=2&cursor={}", all["next_cursor"].as_str().unwrap())).await.expect(200);
        assert!(next["items"][0]["id"] != all["items"][1]["id"]);
    }

    async fn the_audit_log_refuses_update_and_delete(t) {
        emt_type(t).await;
        let mut tx = t.app.store.begin().await.unwrap();
        let result = credence_store::query("UPDATE audit_events SET actor = 'forged'").execute(&mut tx).await;
        assert!(result.is_err(), "UPDATE must be refused");
        drop(tx);
        let mut tx = t.app.store.begin().await.unwrap();
        let result = credence_store::query("DELETE FROM audit_events").execute(&mut tx).await;
        assert!(result.is_err(), "DELETE must be refused");
    }
}

// The audit chain (`credence_domain::audit_chain`): each event names its predecessor's hash.

/// The first broken link of the chain of the agency with this slug, as `(event id, problem)`.
async fn first_broken_link(t: &TestApp, slug: &str) -> Option<(String, LinkProblem)> {
    let report = t.app.verify_audit_chain(slug).await.unwrap();
    report.broken.map(|b| (b.event_id.to_string(), b.problem))
}

fn row(id: &serde_json::Value) -> i64 {
    id.as_str().unwrap().parse::<AnyId>().unwrap().row
}

/// The test agency's events through the API, oldest first.
async fn events(t: &TestApp) -> Vec<serde_json::Value> {
    let page = t.get("/api/v1/audit-events?limit=500").await.expect(200);
    let mut items = page["items"].as_array().unwrap().clone();
    items.reverse();
    items
}

const SQLITE_TRIGGERS: [&str; 2] = [
    "CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END",
    "CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END",
];

/// Runs `statements` with the audit log's append-only triggers off, as someone holding the
/// database's password could, then turns them back on.
async fn behind_the_apps_back(t: &TestApp, statements: &[String]) {
    let (off, on): (Vec<&str>, Vec<&str>) = match t.app.store.backend() {
        Backend::Sqlite => (
            vec![
                "DROP TRIGGER audit_events_no_update",
                "DROP TRIGGER audit_events_no_delete",
            ],
            SQLITE_TRIGGERS.to_vec(),
        ),
        Backend::Postgres => (
            vec!["ALTER TABLE audit_events DISABLE TRIGGER USER"],
            vec!["ALTER TABLE audit_events ENABLE TRIGGER USER"],
        ),
    };
    let mut tx = t.app.store.begin().await.unwrap();
    let statements = statements.iter().map(String::as_str);
    for sql in off.into_iter().chain(statements).chain(on) {
        credence_store::query(sql).execute(&mut tx).await.unwrap();
    }
    tx.commit().await.unwrap();
}

both_databases! {
    async fn the_api_shows_a_chain_anyone_can_recompute(t) {
        let ty = CredentialTypeBuilder::new("CPR").publish(t).await;
        let mut members = Vec::new();
        for name in ["Ava", "Ben", "Cy"] {
            let m = t.post("/api/v1/members", json!({"first_name": name, "last_name": "Chain"})).await.expect(201);
            members.push(m["id"].as_str().unwrap().to_string());
        }
        // A bulk workflow: one batch of events.
        t.post("/api/v1/assignments", json!({"credential_type_id": ty, "mode": "completion_period",
            "period_start": "2026-01-01", "period_end": "2026-12-31", "member_ids": members})).await.expect(200);

        let items = events(t).await;
        assert!(items.len() >= 9, "{items:?}");
        assert_eq!(items[0]["prev_hash"], GENESIS);
        assert_eq!(items[0]["agency_id"], t.agency_id.to_string());
        let mut head = GENESIS.to_string();
        for e in &items {
            assert_eq!(e["prev_hash"].as_str(), Some(head.as_str()), "{e}");
            // Recomputed from the API's own fields, as an inspector would.
            let payload = |v: &serde_json::Value| (!v.is_null()).then(|| canonical_json(&v.to_string()).unwrap());
            let (before, after) = (payload(&e["before"]), payload(&e["after"]));
            let event = audit_chain::Event {
                id: row(&e["id"]),
                agency_id: row(&e["agency_id"]),
                at: e["at"].as_str().unwrap().parse().unwrap(),
                actor: e["actor"].as_str().unwrap(),
                action: e["action"].as_str().unwrap(),
                subject_type: e["subject_type"].as_str().unwrap(),
                subject_id: row(&e["subject_id"]),
                before: before.as_deref(),
                after: after.as_deref(),
            };
            head = link(&head, &canonical(&event));
            assert_eq!(e["hash"].as_str(), Some(head.as_str()), "{e}");
        }
        let report = t.app.verify_audit_chain("test").await.unwrap();
        assert_eq!((report.broken, report.events, report.head), (None, items.len() as u64, head));
    }

    async fn the_chain_names_the_first_event_changed_behind_the_applications_back(t) {
        let ty = CredentialTypeBuilder::new("CPR").publish(t).await;
        for name in ["Ava", "Ben"] {
            let m = t.post("/api/v1/members", json!({"first_name": name, "last_name": "Chain"})).await.expect(201);
            t.post("/api/v1/assignments", json!({"credential_type_id": ty, "mode": "completion_period",
                "period_start": "2026-01-01", "period_end": "2026-12-31", "member_ids": [m["id"]]})).await.expect(200);
        }
        assert_eq!(first_broken_link(t, "test").await, None);
        let items = events(t).await;
        let (victim, next) = (&items[3], &items[4]);
        let (v, n) = (row(&victim["id"]), row(&next["id"]));
        let victim_id = victim["id"].as_str().unwrap().to_string();
        let next_id = next["id"].as_str().unwrap().to_string();
        let actor = victim["actor"].as_str().unwrap();
        let hash = victim["hash"].as_str().unwrap();

        // Its content changed: that event.
        behind_the_apps_back(t, &[format!("UPDATE audit_events SET actor = 'someone else' WHERE id = {v}")]).await;
        let (at, problem) = first_broken_link(t, "test").await.unwrap();
        assert_eq!(at, victim_id);
        assert!(matches!(problem, LinkProblem::HashMismatch { .. }), "{problem}");
        behind_the_apps_back(t, &[format!("UPDATE audit_events SET actor = '{actor}' WHERE id = {v}")]).await;
        assert_eq!(first_broken_link(t, "test").await, None, "restored exactly");

        // Its hash forged: that event.
        behind_the_apps_back(t, &[format!("UPDATE audit_events SET hash = '{}' WHERE id = {v}", "f".repeat(64))]).await;
        assert_eq!(first_broken_link(t, "test").await.unwrap().0, victim_id);
        behind_the_apps_back(t, &[format!("UPDATE audit_events SET hash = '{hash}' WHERE id = {v}")]).await;
        assert_eq!(first_broken_link(t, "test").await, None);

        // Content and hash rewritten together: the next event still names the old hash.
        let prev = victim["prev_hash"].as_str().unwrap();
        let after = canonical_json(&victim["after"].to_string()).unwrap();
        let forged = audit_chain::Event {
            id: v,
            agency_id: t.agency_id.get(),
            at: victim["at"].as_str().unwrap().parse().unwrap(),
            actor: "mallory",
            action: victim["action"].as_str().unwrap(),
            subject_type: victim["subject_type"].as_str().unwrap(),
            subject_id: row(&victim["subject_id"]),
            before: None,
            after: Some(&after),
        };
        assert!(victim["before"].is_null());
        let forged_hash = link(prev, &canonical(&forged));
        behind_the_apps_back(t, &[format!("UPDATE audit_events SET actor = 'mallory', hash = '{forged_hash}' WHERE id = {v}")]).await;
        let (at, problem) = first_broken_link(t, "test").await.unwrap();
        assert_eq!(at, next_id);
        assert!(matches!(problem, LinkProblem::PrevHashMismatch { .. }), "{problem}");
        behind_the_apps_back(t, &[format!("UPDATE audit_events SET actor = '{actor}', hash = '{hash}' WHERE id = {v}")]).await;
        assert_eq!(first_broken_link(t, "test").await, None);

        // Two events swapped: the first place out of order.
        let swap = |a: i64, b: i64| vec![
            format!("UPDATE audit_events SET id = -1 WHERE id = {a}"),
            format!("UPDATE audit_events SET id = {a} WHERE id = {b}"),
            format!("UPDATE audit_events SET id = {b} WHERE id = -1"),
        ];
        behind_the_apps_back(t, &swap(v, n)).await;
        assert_eq!(first_broken_link(t, "test").await.unwrap().0, victim_id);
        behind_the_apps_back(t, &swap(v, n)).await;
        assert_eq!(first_broken_link(t, "test").await, None);

        // Removed: the event after it.
        behind_the_apps_back(t, &[format!("DELETE FROM audit_events WHERE id = {v}")]).await;
        let (at, problem) = first_broken_link(t, "test").await.unwrap();
        assert_eq!(at, next_id);
        assert!(matches!(problem, LinkProblem::PrevHashMismatch { .. }), "{problem}");

        // Writing goes on after the break, and the verifier still stops at the first one.
        t.post("/api/v1/members", json!({"first_name": "Dee", "last_name": "Chain"})).await.expect(201);
        assert_eq!(first_broken_link(t, "test").await.unwrap().0, next_id);
    }

    async fn events_from_before_the_chain_are_sealed_by_the_first_chained_one(t) {
        let old = t.app.create_agency("Old Records EMS", Some("old"), "UTC").await.unwrap();
        // Two events as written before migration 16: no hashes.
        let mut tx = t.app.store.begin().await.unwrap();
        for (action, after) in [("create", r#"{"name":"CPR card"}"#), ("publish", r#"{"state":"published"}"#)] {
            credence_store::query("INSERT INTO audit_events (agency_id, at, actor, action, subject_type, subject_id, after_json)
                 VALUES ($1, $2, 'token:legacy', $3, 'credential_type', 1, $4)")
                .arg(old.id).arg(chrono::Utc::now()).arg(action).arg(after)
                .execute(&mut tx).await.unwrap();
        }
        tx.commit().await.unwrap();
        assert_eq!(first_broken_link(t, "old").await, None);

        // The first write afterwards seals them.
        t.app.create_token(old.id, Role::Admin, None, Some("after the upgrade")).await.unwrap();
        let report = t.app.verify_audit_chain("old").await.unwrap();
        assert_eq!((report.broken, report.events), (None, 3));
        let mut db = t.app.store.read().await.unwrap();
        let rows: Vec<(i64, Option<String>)> = credence_store::query(
            "SELECT id, prev_hash FROM audit_events WHERE agency_id = $1 ORDER BY id")
            .arg(old.id).fetch_all(&mut db).await.unwrap();
        drop(db);
        assert_eq!(rows[0].1, None);
        assert_ne!(rows[2].1.as_deref(), Some(GENESIS), "the seal covers the two before it");

        behind_the_apps_back(t, &[format!("UPDATE audit_events SET after_json = '{{\"name\":\"forged\"}}' WHERE id = {}", rows[0].0)]).await;
        let (at, problem) = first_broken_link(t, "old").await.unwrap();
        assert_eq!(at, format!("evt_{}", rows[2].0));
        assert!(matches!(problem, LinkProblem::PrevHashMismatch { .. }), "{problem}");
        assert_eq!(first_broken_link(t, "test").await, None, "another agency's chain is its own");
    }

    async fn concurrent_writers_of_one_agency_do_not_fork_the_chain(t) {
        use axum::body::Body;
        use axum::http::{header, Request};
        use tower::ServiceExt;

        let mut writers = tokio::task::JoinSet::new();
        for i in 0..16 {
            let router = t.router.clone();
            let request = Request::post("/api/v1/members")
                .header(header::AUTHORIZATION, format!("Bearer {}", t.admin))
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(json!({"first_name": format!("Writer{i}"), "last_name": "Concurrent"}).to_string()))
                .unwrap();
            writers.spawn(async move { router.oneshot(request).await.unwrap().status() });
        }
        while let Some(status) = writers.join_next().await {
            assert_eq!(status.unwrap().as_u16(), 201);
        }
        let report = t.app.verify_audit_chain("test").await.unwrap();
        assert_eq!(report.broken, None);
        assert!(report.events >= 17, "{report:?}");
    }
}
