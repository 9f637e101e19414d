//! The seeds, step by step through the HTTP API, asserting every status and progress the
//! articles show (today is 2026-03-01 in every test).

use axum::http::Method;
use credence_app::Role;
use serde_json::{json, Value};

use crate::both_databases;
use crate::courses::create_course;
use crate::harness::TestApp;
use crate::members::create_member;

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_string()
}

async fn published_type(t: &TestApp, body: Value) -> String {
    let ty = t.post("/api/v1/credential-types", body).await.expect(201);
    t.post(
        &format!("/api/v1/credential-types/{}/publish", id(&ty)),
        json!({}),
    )
    .await
    .expect(200);
    id(&ty)
}

async fn credential(t: &TestApp, cid: &str) -> Value {
    t.get(&format!("/api/v1/credentials/{cid}"))
        .await
        .expect(200)
}

async fn status_of(t: &TestApp, cid: &str) -> (String, i64) {
    let c = credential(t, cid).await;
    (
        c["status"].as_str().unwrap().to_string(),
        c["progress"].as_i64().unwrap(),
    )
}

async fn record(t: &TestApp, member: &str, body: Value) {
    let mut body = body;
    body["member_id"] = json!(member);
    t.post("/api/v1/training-records", body).await.expect(201);
}

/// EMT-Basic as seed 000 describes it: a graded CPR course and 8 CE hours, auto renewal.
async fn emt(t: &TestApp) -> (String, String) {
    let cpr = t.post("/api/v1/courses", json!({"code": "CPR", "name": "CPR / BLS", "hours": 4, "category": "Medical", "passing_grade": 80})).await.expect(201);
    let cpr = id(&cpr);
    let ty = published_type(t, json!({
        "code": "EMT-B", "name": "EMT-Basic", "validity_months": 24, "renewal": "auto",
        "requirements": [{"kind": "course", "course_id": cpr}, {"kind": "hours", "hours": 8, "category": "CE"}]
    })).await;
    (ty, cpr)
}

both_databases! {
    async fn seed_000_assign_complete_and_issue(t) {
        let (ty, cpr) = emt(t).await;
        let a = id(&create_member(t, "Ava", "Smith").await);
        let b = id(&create_member(t, "Liam", "Brown").await);
        let c = id(&create_member(t, "Noah", "Lee").await);
        let station = id(&t.post("/api/v1/groups", json!({"name": "Station 1", "kind": "station"})).await.expect(201));
        t.put(&format!("/api/v1/groups/{station}/members"), json!({"member_ids": [a, b]})).await.expect(200);

        // Step 3–5: a completion period only, for a group → Not Started with an empty bar.
        let assigned = t.post("/api/v1/assignments", json!({
            "credential_type_id": ty, "mode": "completion_period", "period_start": "2026-03-01", "period_end": "2026-12-31",
            "group_ids": [station]
        })).await.expect(200);
        let created: Vec<String> = assigned["created"].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_string()).collect();
        assert_eq!(created.len(), 2);
        let list = t.get(&format!("/api/v1/credentials?credential_type_id={ty}")).await.expect(200);
        for item in list["items"].as_array().unwrap() {
            assert_eq!((item["status"].as_str(), item["status_label"].as_str(), item["progress"].as_i64()), (Some("not_started"), Some("Not Started"), Some(0)));
            assert_eq!(item["open_period"], json!({"start": "2026-03-01", "end": "2026-12-31", "due_date": "2026-12-31"}));
        }

        // An active credential with a completion period → Active – Renewal in Progress.
        let active = t.post("/api/v1/assignments", json!({
            "credential_type_id": ty, "mode": "active_with_period", "issue_date": "2025-06-01", "expiration_date": "2027-06-01",
            "member_ids": [c]
        })).await.expect(200);
        let c_cred = active["created"][0].as_str().unwrap().to_string();
        let view = credential(t, &c_cred).await;
        assert_eq!((view["status"].as_str(), view["status_label"].as_str()), (Some("active_renewal_in_progress"), Some("Active – Renewal in Progress")));
        assert_eq!(view["current_issuance"]["expiration_date"], "2027-06-01");
        assert_eq!(view["open_period"]["start"], "2025-06-01");

        // Members who already hold the type are reported, never duplicated.
        let again = t.post("/api/v1/assignments", json!({
            "credential_type_id": ty, "mode": "completion_period", "period_end": "2026-12-31", "all_members": true
        })).await.expect(200);
        assert_eq!(again["created"], json!([]));
        assert_eq!(again["skipped"].as_array().unwrap().len(), 3);
        assert!(again["skipped"].as_array().unwrap().iter().all(|s| s["reason"] == "already_assigned"));

        // Step 6: progress rises with each requirement; a failing grade does not count.
        let a_cred = t.get(&format!("/api/v1/credentials?member_id={a}")).await.expect(200)["items"][0]["id"].as_str().unwrap().to_string();
        record(t, &a, json!({"course_id": cpr, "completed_on": "2026-03-01", "score": 70})).await;
        assert_eq!(status_of(t, &a_cred).await, ("not_started".into(), 0));
        record(t, &a, json!({"course_id": cpr, "completed_on": "2026-03-01", "score": 92})).await;
        assert_eq!(status_of(t, &a_cred).await, ("in_progress".into(), 50));
        record(t, &a, json!({"completed_on": "2026-03-01", "hours": 4, "category": "CE"})).await;
        assert_eq!(status_of(t, &a_cred).await, ("in_progress".into(), 75));
        record(t, &a, json!({"completed_on": "2026-03-01", "hours": 4, "category": "CE"})).await;
        assert_eq!(status_of(t, &a_cred).await, ("ready_to_be_issued".into(), 100));
        let detail = credential(t, &a_cred).await;
        assert!(detail["requirements"].as_array().unwrap().iter().all(|r| r["done"] == true));

        // Issue singly: dates and number default from the type; auto renewal opens the next period.
        let issued = t.post(&format!("/api/v1/credentials/{a_cred}/issue"), json!({"issue_date": "2026-03-01", "issuing_officer": "Capt. Ruiz"})).await.expect(200);
        assert_eq!(issued["status"], "active_renewal_in_progress");
        assert_eq!(issued["current_issuance"]["expiration_date"], "2028-03-01");
        assert_eq!(issued["current_issuance"]["credential_number"], "EMT-B-2026-00001");
        assert_eq!(issued["open_period"], json!({"start": "2026-03-01", "end": "2028-03-01", "due_date": "2028-03-01"}));
        assert_eq!(issued["progress"], 0, "records that earned this issuance do not count toward the next");
        assert_eq!(issued["periods"].as_array().unwrap().len(), 2);
        assert_eq!(issued["periods"][0]["closed"], true);

        // Bulk: B completes; Update with chosen fields issues it; an incomplete one is refused.
        let b_cred = t.get(&format!("/api/v1/credentials?member_id={b}")).await.expect(200)["items"][0]["id"].as_str().unwrap().to_string();
        let refused = t.post("/api/v1/credentials/bulk-update", json!({"credential_ids": [b_cred], "fields": {"issue_date": "2026-03-01"}})).await.problem(422);
        assert!(refused["errors"][0]["message"].as_str().unwrap().contains("not complete"));
        t.post("/api/v1/training-records/bulk", json!({"records": [
            {"member_id": b, "course_id": cpr, "completed_on": "2026-03-01", "score": 88},
            {"member_id": b, "completed_on": "2026-03-01", "hours": 8, "category": "CE"}
        ]})).await.expect(201);
        let bulk = t.post("/api/v1/credentials/bulk-update", json!({
            "credential_ids": [b_cred], "fields": {"issue_date": "2026-03-01", "expiration_date": "2028-02-29"}
        })).await.expect(200);
        assert_eq!(bulk["updated"][0]["status"], "active_renewal_in_progress");
        assert_eq!(bulk["updated"][0]["current_issuance"]["expiration_date"], "2028-02-29");
        assert_eq!(bulk["updated"][0]["current_issuance"]["credential_number"], "EMT-B-2026-00002");
    }

    async fn seed_000_manual_types_do_not_renew_on_issue(t) {
        let ty = published_type(t, json!({"code": "DO", "name": "Driver/Operator", "validity_months": 36, "renewal": "manual",
            "requirements": [{"kind": "checklist", "title": "Apparatus check-off"}]})).await;
        let m = id(&create_member(t, "Ava", "Smith").await);
        let cid = t.post("/api/v1/assignments", json!({"credential_type_id": ty, "mode": "completion_period", "period_end": "2026-06-30", "member_ids": [m]}))
            .await.expect(200)["created"][0].as_str().unwrap().to_string();
        let req = credential(t, &cid).await["requirements"][0]["requirement_id"].as_str().unwrap().to_string();
        let signed = t.post(&format!("/api/v1/credentials/{cid}/requirements/{req}/sign-off"), json!({"signed_on": "2026-03-01", "evaluator": "Lt. Okafor"})).await.expect(200);
        assert_eq!((signed["status"].as_str(), signed["progress"].as_i64()), (Some("ready_to_be_issued"), Some(100)));
        let issued = t.post(&format!("/api/v1/credentials/{cid}/issue"), json!({"issue_date": "2026-03-01"})).await.expect(200);
        assert_eq!(issued["status"], "active");
        assert!(issued["open_period"].is_null(), "Does Not Automatically Renew: no new period");
        assert_eq!(issued["current_issuance"]["expiration_date"], "2029-03-01");
    }

    async fn auto_issue_types_issue_on_the_completion_that_finishes_them(t) {
        let cpr = create_course(t, "CPR", Some(80.0)).await;
        let ty = published_type(t, json!({"code": "CPR", "name": "CPR", "validity_months": 24, "auto_issue": true, "renewal_window_days": 90,
            "requirements": [{"kind": "course", "course_id": cpr}]})).await;
        let m = id(&create_member(t, "Ava", "Smith").await);
        let cid = t.post("/api/v1/assignments", json!({"credential_type_id": ty, "mode": "completion_period", "period_start": "2026-01-01", "period_end": "2026-12-31", "member_ids": [m]}))
            .await.expect(200)["created"][0].as_str().unwrap().to_string();
        record(t, &m, json!({"course_id": cpr, "completed_on": "2026-02-10", "score": 90})).await;
        let c = credential(t, &cid).await;
        assert_eq!(c["status"], "active", "the renewal period opens 90 days before expiration");
        assert_eq!(c["current_issuance"]["issue_date"], "2026-02-10");
        assert_eq!(c["current_issuance"]["expiration_date"], "2028-02-10");
        assert_eq!(c["open_period"]["start"], "2027-11-12");
    }

    async fn seed_002_renew_manual_types_then_enter_dates(t) {
        let fi = published_type(t, json!({"code": "FI", "name": "Fire Instructor I", "validity_months": 36, "renewal": "manual"})).await;
        let (emt, _) = emt(t).await;
        let a = id(&create_member(t, "Ava", "Smith").await);
        let b = id(&create_member(t, "Liam", "Brown").await);
        let c = id(&create_member(t, "Noah", "Lee").await);
        let logged = t.post("/api/v1/assignments", json!({"credential_type_id": fi, "mode": "active_with_period", "issue_date": "2023-02-01", "member_ids": [a, b]})).await.expect(200);
        let (a_cred, b_cred) = (logged["created"][0].as_str().unwrap().to_string(), logged["created"][1].as_str().unwrap().to_string());
        assert_eq!(credential(t, &a_cred).await["current_issuance"]["expiration_date"], "2026-02-01");

        // Only types without auto renewal are offered.
        let refused = t.post("/api/v1/renewals", json!({"credential_type_id": emt, "member_ids": [a], "period_start": "2026-03-01", "period_end": "2026-06-30"})).await.problem(422);
        assert!(refused["errors"][0]["message"].as_str().unwrap().contains("automatically"));

        let renewed = t.post("/api/v1/renewals", json!({"credential_type_id": fi, "member_ids": [a, b, c], "period_start": "2026-03-01", "period_end": "2026-06-30"})).await.expect(200);
        assert_eq!(renewed["renewed"].as_array().unwrap().len(), 2);
        assert_eq!(renewed["skipped"], json!([{"id": c, "reason": "not_assigned"}]));
        let view = credential(t, &a_cred).await;
        assert_eq!((view["status"].as_str(), view["progress"].as_i64()), (Some("ready_to_be_issued"), Some(100)), "expired, renewal period open, nothing to complete");
        assert_eq!(view["open_period"]["start"], "2026-03-01");

        // Step 5: individually, with a number and an officer.
        let issued = t.post(&format!("/api/v1/credentials/{a_cred}/issue"), json!({
            "issue_date": "2026-03-01", "credential_number": "FI-2026-0777", "issuing_officer": "Chief Diaz"
        })).await.expect(200);
        assert_eq!((issued["status"].as_str(), issued["current_issuance"]["expiration_date"].as_str()), (Some("active"), Some("2029-03-01")));
        assert_eq!(issued["issuances"].as_array().unwrap().len(), 2, "the old issuance stays in history");
        assert!(issued["open_period"].is_null());

        // Step 6: in bulk, all validated first; one bad id writes nothing.
        let bad = t.post("/api/v1/credentials/bulk-update", json!({
            "credential_ids": [b_cred, "crd_999999"], "fields": {"issue_date": "2026-03-01", "expiration_date": "2029-03-31"}
        })).await.invalid_fields();
        assert_eq!(bad, ["credential_ids[1]"]);
        assert_eq!(status_of(t, &b_cred).await.0, "ready_to_be_issued", "nothing was written");
        let bulk = t.post("/api/v1/credentials/bulk-update", json!({
            "credential_ids": [b_cred], "fields": {"issue_date": "2026-03-01", "expiration_date": "2029-03-31"}
        })).await.expect(200);
        assert_eq!((bulk["updated"][0]["status"].as_str(), bulk["updated"][0]["current_issuance"]["expiration_date"].as_str()), (Some("active"), Some("2029-03-31")));

        // Bulk update on active credentials corrects the current issuance in place.
        let fixed = t.post("/api/v1/credentials/bulk-update", json!({"credential_ids": [a_cred, b_cred], "fields": {"status_reason": "State roster 2026"}})).await.expect(200);
        assert!(fixed["updated"].as_array().unwrap().iter().all(|c| c["current_issuance"]["status_reason"] == "State roster 2026"));
        assert_eq!(credential(t, &a_cred).await["issuances"].as_array().unwrap().len(), 2);

        // A number used by another credential of the type is refused.
        let dup = t.post("/api/v1/credentials/bulk-update", json!({"credential_ids": [b_cred], "fields": {"credential_number": "FI-2026-0777"}})).await.invalid_fields();
        assert_eq!(dup, ["fields.credential_number"]);

        // Revoke with a reason.
        let revoked = t.post(&format!("/api/v1/credentials/{b_cred}/revoke"), json!({"reason": "Failed recertification audit"})).await.expect(200);
        assert_eq!((revoked["status"].as_str(), revoked["status_label"].as_str()), (Some("revoked"), Some("Revoked")));
        t.post(&format!("/api/v1/credentials/{b_cred}/revoke"), json!({"reason": "again"})).await.problem(409);

        // Revoke a selection: all or nothing. One already revoked names its row and writes nothing.
        let refused = t.post("/api/v1/credentials/bulk-revoke", json!({"credential_ids": [a_cred, b_cred], "reason": "Audit"})).await.invalid_fields();
        assert_eq!(refused, ["credential_ids[1]"]);
        assert_eq!(status_of(t, &a_cred).await.0, "active", "nothing was revoked");
        let blank = t.post("/api/v1/credentials/bulk-revoke", json!({"credential_ids": [a_cred], "reason": "  "})).await.invalid_fields();
        assert_eq!(blank, ["reason"]);
        let done = t.post("/api/v1/credentials/bulk-revoke", json!({"credential_ids": [a_cred], "reason": "Audit"})).await.expect(200);
        assert_eq!(done["revoked"][0]["status"], "revoked");
        assert_eq!(status_of(t, &a_cred).await.0, "revoked");
        let events = t.get(&format!("/api/v1/audit-events?subject_id={a_cred}")).await.expect(200);
        assert_eq!(events["items"][0]["action"], "revoke");
        assert_eq!(events["items"][0]["after"]["reason"], "Audit");

        // A member page reads many credentials' details in one batch: each is exactly what
        // reading it alone gives, whatever its state (revoked, issued, in a period…).
        let actor = t.app.authenticate_token(&t.admin).await.unwrap();
        let batch = t.app.credential_details(&actor, &Default::default(), 100).await.unwrap();
        assert!(batch.len() >= 2, "{}", batch.len());
        for d in &batch {
            let alone = t.app.credential(&actor, d.credential.id).await.unwrap();
            assert_eq!(serde_json::to_value(d).unwrap(), serde_json::to_value(&alone).unwrap());
        }
    }

    async fn seed_003_definition_rules_apply(t) {
        let safety = create_course(t, "SAFETY-101", Some(80.0)).await;
        let group = id(&t.post("/api/v1/groups", json!({"name": "Targeted", "kind": "cohort"})).await.expect(201));
        let bob = id(&create_member(t, "Bob", "Baker").await);
        let alice = id(&create_member(t, "Alice", "Adeyemi").await);
        let carol = id(&create_member(t, "Carol", "Carter").await);
        t.put(&format!("/api/v1/groups/{group}/members"), json!({"member_ids": [bob, alice, carol]})).await.expect(200);
        // Bob completed the course five days before the certification reaches him; Alice
        // nine days before; Carol scored below the minimum passing grade.
        record(t, &bob, json!({"course_id": safety, "completed_on": "2026-02-24", "score": 85})).await;
        record(t, &alice, json!({"course_id": safety, "completed_on": "2026-02-20", "score": 95})).await;
        record(t, &carol, json!({"course_id": safety, "completed_on": "2026-02-26", "score": 70})).await;

        let ty = t.post("/api/v1/credential-types", json!({
            "code": "SAFE", "name": "Safety Certification", "invisible": true, "effective_from": "2026-02-01", "due_date": "2026-06-30",
            "grace_period_days": 5, "requirements": [{"kind": "course", "course_id": safety}], "enrolment_group_ids": [group]
        })).await.expect(201);
        let ty = id(&ty);
        // A draft cannot be assigned; nobody is enrolled until it is published.
        let draft = t.post("/api/v1/assignments", json!({"credential_type_id": ty, "mode": "completion_period", "all_members": true})).await.invalid_fields();
        assert_eq!(draft, ["credential_type_id"]);
        assert_eq!(t.get(&format!("/api/v1/credentials?credential_type_id={ty}")).await.expect(200)["items"], json!([]));

        t.post(&format!("/api/v1/credential-types/{ty}/publish"), json!({})).await.expect(200);
        let statuses = |list: &Value| -> Vec<(String, String, i64)> {
            list["items"].as_array().unwrap().iter().map(|c| (c["member_id"].as_str().unwrap().to_string(), c["status"].as_str().unwrap().to_string(), c["progress"].as_i64().unwrap())).collect()
        };
        let list = t.get(&format!("/api/v1/credentials?credential_type_id={ty}")).await.expect(200);
        assert_eq!(statuses(&list), [
            (alice.clone(), "not_started".to_string(), 0),
            (bob.clone(), "ready_to_be_issued".to_string(), 100),
            (carol.clone(), "not_started".to_string(), 0),
        ]);
        assert_eq!(list["items"][0]["open_period"], json!({"start": "2026-03-01", "end": "2026-06-30", "due_date": "2026-06-30"}), "a non-recurring type's period ends on its due date");

        // A member who joins the group later is enrolled too.
        let dave = id(&create_member(t, "Dave", "Dubois").await);
        t.put(&format!("/api/v1/groups/{group}/members"), json!({"member_ids": [bob, alice, carol, dave]})).await.expect(200);
        assert_eq!(t.get(&format!("/api/v1/credentials?member_id={dave}")).await.expect(200)["items"].as_array().unwrap().len(), 1);

        // Invisible: the member does not see it.
        let bob_token = t.token(Role::Member, Some(&bob)).await;
        let own = t.send(Method::GET, "/api/v1/credentials", Some(&bob_token), None).await.expect(200);
        assert_eq!(own["items"], json!([]));

        // Retiring never removes issued credentials, and stops new assignments.
        let bob_cred = t.get(&format!("/api/v1/credentials?member_id={bob}")).await.expect(200)["items"][0]["id"].as_str().unwrap().to_string();
        t.post(&format!("/api/v1/credentials/{bob_cred}/issue"), json!({"issue_date": "2026-03-01"})).await.expect(200);
        t.post(&format!("/api/v1/credential-types/{ty}/retire"), json!({})).await.expect(200);
        assert_eq!(status_of(t, &bob_cred).await.0, "active");
        let retired = t.post("/api/v1/assignments", json!({"credential_type_id": ty, "mode": "completion_period", "all_members": true})).await.problem(422);
        assert!(retired["detail"].as_str().unwrap().contains("retired"));
    }

    async fn lifecycle_bad_input_is_refused_and_writes_nothing(t) {
        let (ty, cpr) = emt(t).await;
        let m = id(&create_member(t, "Ava", "Smith").await);
        let assign = |body: Value| async move { t.post("/api/v1/assignments", body).await };
        assert_eq!(assign(json!({"credential_type_id": ty, "mode": "completion_period", "period_start": "2026-05-01", "period_end": "2026-04-01", "member_ids": [m]})).await.invalid_fields(), ["period_end"]);
        assert_eq!(assign(json!({"credential_type_id": ty, "mode": "active_with_period", "issue_date": "2026-02-01", "expiration_date": "2026-01-01", "member_ids": [m]})).await.invalid_fields(), ["expiration_date"]);
        assert_eq!(assign(json!({"credential_type_id": ty, "mode": "completion_period", "period_end": "2026-12-31", "member_ids": ["mem_99999"]})).await.invalid_fields(), ["member_ids"]);
        assert_eq!(assign(json!({"credential_type_id": ty, "mode": "completion_period", "period_end": "2026-12-31", "member_ids": [m], "all_members": true})).await.invalid_fields(), ["member_ids"]);
        let other = t.other_agency_admin().await;
        let theirs = t.send(Method::POST, "/api/v1/members", Some(&other), Some(json!({"first_name": "X", "last_name": "Y"}))).await.expect(201);
        assert_eq!(assign(json!({"credential_type_id": ty, "mode": "completion_period", "period_end": "2026-12-31", "member_ids": [theirs["id"]]})).await.invalid_fields(), ["member_ids"]);
        assert_eq!(t.get("/api/v1/credentials").await.expect(200)["items"], json!([]), "nothing was assigned");

        let bad = t.post("/api/v1/training-records/bulk", json!({"records": [
            {"member_id": m, "course_id": cpr, "completed_on": "2026-03-01", "score": 101},
            {"member_id": m, "completed_on": "2026-03-01", "hours": -2, "category": "CE"},
            {"member_id": m, "completed_on": "2026-03-02", "hours": 2, "category": "CE"},
            {"member_id": m, "course_id": cpr, "completed_on": "2026-01-01"}
        ]})).await.invalid_fields();
        assert_eq!(bad, ["records[0].score", "records[1].hours", "records[2].completed_on"]);
        assert_eq!(t.get("/api/v1/training-records").await.expect(200)["items"], json!([]), "all or nothing");

        let cid = assign(json!({"credential_type_id": ty, "mode": "completion_period", "period_end": "2026-12-31", "member_ids": [m]})).await.expect(200)["created"][0].as_str().unwrap().to_string();
        assert_eq!(t.post(&format!("/api/v1/credentials/{cid}/issue"), json!({"issue_date": "2026-03-01"})).await.invalid_fields(), ["issue_date"]);
        t.post(&format!("/api/v1/credentials/{cid}/revoke"), json!({"reason": "x"})).await.problem(409);
        t.post(&format!("/api/v1/credentials/{cid}/revoke"), json!({"reason": " "})).await.problem(422);
        t.send(Method::GET, &format!("/api/v1/credentials/{cid}"), Some(&other), None).await.problem(404);
        t.send(Method::POST, &format!("/api/v1/credentials/{cid}/issue"), Some(&other), Some(json!({"issue_date": "2026-03-01"}))).await.problem(404);
        assert_eq!(t.get("/api/v1/credentials?status=bogus").await.invalid_fields(), ["status"]);
        assert_eq!(t.get("/api/v1/credentials?sort=colour").await.invalid_fields(), ["sort"]);
        let auditor = t.token(Role::Auditor, None).await;
        t.send(Method::POST, "/api/v1/assignments", Some(&auditor), Some(json!({"credential_type_id": ty, "mode": "completion_period", "all_members": true}))).await.problem(403);
    }

    async fn list_filters_sorts_and_pages(t) {
        let (ty, _) = emt(t).await;
        let mut members = Vec::new();
        for (f, l) in [("Ava", "Smith"), ("Liam", "Brown"), ("Noah", "Adeyemi"), ("Emma", "Lee"), ("Mia", "Garcia")] {
            members.push(id(&create_member(t, f, l).await));
        }
        t.post("/api/v1/assignments", json!({"credential_type_id": ty, "mode": "active_with_period", "issue_date": "2024-04-01", "member_ids": [members[0], members[1]]})).await.expect(200);
        t.post("/api/v1/assignments", json!({"credential_type_id": ty, "mode": "active_with_period", "issue_date": "2024-01-15", "expiration_date": "2026-01-15", "member_ids": [members[2]]})).await.expect(200);
        t.post("/api/v1/assignments", json!({"credential_type_id": ty, "mode": "completion_period", "period_end": "2026-12-31", "member_ids": [members[3], members[4]]})).await.expect(200);

        let names = |v: &Value| -> Vec<String> { v["items"].as_array().unwrap().iter().map(|c| c["member_id"].as_str().unwrap().to_string()).collect() };
        let by_member = t.get("/api/v1/credentials?sort=member&limit=2").await.expect(200);
        assert_eq!(names(&by_member), [members[2].clone(), members[1].clone()]);
        let next = t.get(&format!("/api/v1/credentials?sort=member&limit=2&cursor={}", by_member["next_cursor"].as_str().unwrap())).await.expect(200);
        assert_eq!(names(&next), [members[4].clone(), members[3].clone()]);

        let expiring = t.get("/api/v1/credentials?expiring_within_days=60").await.expect(200);
        assert_eq!(names(&expiring), [members[1].clone(), members[0].clone()], "expire 2026-04-01");
        assert!(expiring["items"].as_array().unwrap().iter().all(|c| c["expiring_soon"] == true));

        let overdue = t.get("/api/v1/credentials?status=overdue&status=not_started").await.expect(200);
        assert_eq!(overdue["items"].as_array().unwrap().len(), 3);

        let by_exp = t.get("/api/v1/credentials?sort=-expiration_date&limit=4").await.expect(200);
        let exps: Vec<Value> = by_exp["items"].as_array().unwrap().iter().map(|c| c["current_issuance"]["expiration_date"].clone()).collect();
        assert_eq!(exps, [json!("2026-04-01"), json!("2026-04-01"), json!("2026-01-15"), Value::Null], "never-issued come last");
        let rest = t.get(&format!("/api/v1/credentials?sort=-expiration_date&limit=4&cursor={}", by_exp["next_cursor"].as_str().unwrap())).await.expect(200);
        assert_eq!(rest["items"].as_array().unwrap().len(), 1);

        let by_status = t.get("/api/v1/credentials?sort=status").await.expect(200);
        assert_eq!(by_status["items"][0]["status"], "overdue", "what needs attention first");
        let q = t.get("/api/v1/credentials?q=gar").await.expect(200);
        assert_eq!(names(&q), [members[4].clone()]);
    }

    // Paging two at a time by any sort, filter and direction lists exactly the rows of one
    // big page, in the same order: ties (same name, same date, same status) continue by id,
    // and the undated rows follow the dated ones when sorted by expiration.
    async fn every_sort_pages_through_the_same_rows(t) {
        let (ty, _) = emt(t).await;
        let mut members = Vec::new();
        for (f, l) in [("Ava", "Smith"), ("Ava", "Smith"), ("Noah", "Adeyemi"), ("Emma", "Lee"), ("Mia", "Garcia"), ("Liam", "Brown"), ("Zoe", "Park")] {
            members.push(id(&create_member(t, f, l).await));
        }
        let assign = |body: Value| async move { t.post("/api/v1/assignments", body).await.expect(200) };
        assign(json!({"credential_type_id": ty, "mode": "active_with_period", "issue_date": "2024-04-01", "member_ids": [members[0], members[1], members[5]]})).await;
        assign(json!({"credential_type_id": ty, "mode": "active_with_period", "issue_date": "2024-01-15", "expiration_date": "2026-01-15", "member_ids": [members[2]]})).await;
        assign(json!({"credential_type_id": ty, "mode": "completion_period", "period_end": "2026-12-31", "member_ids": [members[3], members[4]]})).await;
        assign(json!({"credential_type_id": ty, "mode": "completion_period", "period_start": "2025-01-01", "period_end": "2026-01-31", "member_ids": [members[6]]})).await;
        let g = id(&t.post("/api/v1/groups", json!({"name": "Station 1", "kind": "station"})).await.expect(201));
        t.put(&format!("/api/v1/groups/{g}/members"), json!({"member_ids": [members[0], members[2], members[3], members[6]]})).await.expect(200);

        let ids = |v: &Value| -> Vec<String> { v["items"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap().to_string()).collect() };
        let in_group = format!("group_id={g}&status=overdue&status=not_started");
        let filters = [("", 7), ("status=overdue&status=active&status=active_ready_to_renew&status=active_renewal_in_progress", 5), ("status=not_started", 2), (in_group.as_str(), 3)];
        for (filter, count) in filters {
            for sort in ["member", "status", "expiration_date", "progress"] {
                for sort in [sort.to_string(), format!("-{sort}")] {
                    let whole = ids(&t.get(&format!("/api/v1/credentials?{filter}&sort={sort}&limit=100")).await.expect(200));
                    assert_eq!(whole.len(), count, "{filter} by {sort}");
                    let mut paged = Vec::new();
                    let mut page = t.get(&format!("/api/v1/credentials?{filter}&sort={sort}&limit=2")).await.expect(200);
                    loop {
                        paged.extend(ids(&page));
                        let Some(cursor) = page["next_cursor"].as_str().map(str::to_string) else { break };
                        page = t.get(&format!("/api/v1/credentials?{filter}&sort={sort}&limit=2&cursor={cursor}")).await.expect(200);
                    }
                    assert_eq!(paged, whole, "{filter} by {sort}, two at a time");
                }
            }
        }
    }

    async fn the_sweep_moves_date_driven_statuses(t) {
        let (ty, _) = emt(t).await;
        let m = id(&create_member(t, "Ava", "Smith").await);
        let n = id(&create_member(t, "Liam", "Brown").await);
        let a = t.post("/api/v1/assignments", json!({"credential_type_id": ty, "mode": "completion_period", "period_end": "2026-03-31", "member_ids": [m]})).await.expect(200)["created"][0].as_str().unwrap().to_string();
        let b = t.post("/api/v1/assignments", json!({"credential_type_id": ty, "mode": "active_with_period", "issue_date": "2024-04-15", "expiration_date": "2026-04-15", "member_ids": [n]})).await.expect(200)["created"][0].as_str().unwrap().to_string();
        assert_eq!(status_of(t, &a).await.0, "not_started");
        assert!(credential(t, &b).await["expiring_soon"].as_bool().unwrap());

        // Two months later, on the same database.
        let later = credence_app::App::new(t.app.store.clone(), credence_app::Clock::fixed("2026-05-01".parse().unwrap()));
        let report = later.sweep("test").await.unwrap();
        assert_eq!(report.examined, 2);
        assert_eq!(status_of(t, &a).await.0, "overdue");
        let bv = credential(t, &b).await;
        assert_eq!((bv["status"].as_str(), bv["expiring_soon"].as_bool()), (Some("overdue"), Some(false)), "its renewal period ended with it");
        assert_eq!(later.sweep("test").await.unwrap().examined, 0, "idempotent: nothing more is due today");
    }
}

both_databases! {
    async fn csv_import_is_all_or_nothing_and_updates_progress(t) {
        let (ty, _) = emt(t).await;
        let m = t.post("/api/v1/members", json!({"first_name": "Ava", "last_name": "Smith", "employee_number": "E-7"})).await.expect(201);
        let cid = t.post("/api/v1/assignments", json!({"credential_type_id": ty, "mode": "completion_period", "period_end": "2026-12-31", "member_ids": [id(&m)]}))
            .await.expect(200)["created"][0].as_str().unwrap().to_string();
        let kind = credence_app::imports::ImportKind::TrainingRecords;
        let bad = "member,course,completed_on,score,hours,category\nE-7,CPR,2026-03-01,91,,\nE-8,CPR,2026-03-01,91,,\nE-7,,2026-03-01,,four,CE\n";
        let p = t.app.import_file("test", kind, "t.csv", bad.as_bytes().to_vec()).await.unwrap();
        let cells: Vec<(usize, &str)> = p.errors.iter().map(|e| (e.row, e.column.as_str())).collect();
        assert_eq!(cells, [(3, "member"), (4, "hours")]);
        assert_eq!(t.get("/api/v1/training-records").await.expect(200)["items"], json!([]), "nothing imported");

        let good = "member,course,completed_on,score,hours,category\nE-7,CPR,2026-03-01,91,,\nava.smith@nowhere.test,,2026-02-01,,1,CE\n";
        assert!(!t.app.import_file("test", kind, "t.csv", good.as_bytes().to_vec()).await.unwrap().errors.is_empty(), "unknown e-mail");
        let good = "member,course,completed_on,score,hours,category\nE-7,CPR,2026-03-01,91,,\nE-7,,2026-03-01,,8,CE\n";
        let done = t.app.import_file("test", kind, "t.csv", good.as_bytes().to_vec()).await.unwrap();
        assert_eq!((done.status.as_str(), done.created), ("committed", 2));
        assert_eq!(status_of(t, &cid).await, ("ready_to_be_issued".into(), 100));
    }
}

both_databases! {
    async fn bulk_revoke_names_each_credential_it_cannot_revoke(t) {
        use crate::fixtures::{CredentialTypeBuilder, Track};
        let card = CredentialTypeBuilder::new("HAZ").publish(t).await;
        let (_, held) = Track::of(&card).active("2026-01-05").build(t).await;
        let (_, never) = Track::of(&card).for_member("Liam").build(t).await;
        let refused = t.post("/api/v1/credentials/bulk-revoke",
            json!({"credential_ids": [held, never, "crd_999999"], "reason": "Audit"})).await;
        let body = refused.problem(422);
        let errors: Vec<(&str, &str)> = body["errors"].as_array().unwrap().iter()
            .map(|e| (e["field"].as_str().unwrap(), e["message"].as_str().unwrap())).collect();
        assert!(errors.contains(&("credential_ids[1]", "has never been issued")), "{errors:?}");
        assert!(errors.contains(&("credential_ids[2]", "is not a credential of this agency")), "{errors:?}");
        assert_eq!(status_of(t, &held).await.0, "active_ready_to_renew", "nothing was revoked");
        let member = t.token(credence_app::Role::Officer, None).await;
        let done = t.send(axum::http::Method::POST, "/api/v1/credentials/bulk-revoke", Some(&member),
            Some(json!({"credential_ids": [held], "reason": "Audit"}))).await.expect(200);
        assert_eq!(done["revoked"][0]["status"], "revoked", "officers revoke");
    }
}

both_databases! {
    // #18.5: an auto-renewing type always has a period open; its issuance stays correctable.
    async fn bulk_update_corrects_an_issuance_while_its_renewal_is_open(t) {
        let ty = published_type(t, json!({"code": "EVOC", "name": "EVOC", "validity_months": 24, "renewal": "auto",
            "renewal_window_days": 365})).await;
        let (_, cid) = crate::fixtures::Track::of(&ty).active("2026-01-05").build(t).await;
        let before = credential(t, &cid).await;
        assert!(!before["open_period"].is_null(), "renewing: a period is open");

        let fixed = t.post("/api/v1/credentials/bulk-update", json!({"credential_ids": [cid], "fields": {"issuing_officer": "Capt. Ruiz"}}))
            .await.expect(200);
        let after = &fixed["updated"][0];
        assert_eq!(after["current_issuance"]["issuing_officer"], "Capt. Ruiz");
        assert_eq!(after["current_issuance"]["issue_date"], before["current_issuance"]["issue_date"], "corrected, not reissued");
        assert_eq!(after["open_period"], before["open_period"], "the renewal period is untouched");
    }
}
