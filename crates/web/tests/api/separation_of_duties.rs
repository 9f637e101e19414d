//! Nobody records training for, signs off, approves or issues to themselves, and the source
//! of a training record is the server's to say (#19, Medium 4).

use axum::http::Method;
use credence_app::Role;
use serde_json::json;

use crate::both_databases;
use crate::harness::TestApp;

/// A published type with one checklist item, its credential for a member "Ava", and an
/// officer token that is Ava's own login.
async fn officer_who_holds_a_track(t: &TestApp) -> (String, String, String, String) {
    let ty = t
        .post(
            "/api/v1/credential-types",
            json!({"code": "DO", "name": "Driver/Operator", "validity_months": 36, "renewal": "manual",
                   "requirements": [{"kind": "checklist", "title": "Apparatus check-off"}]}),
        )
        .await
        .expect(201);
    let ty = ty["id"].as_str().unwrap().to_string();
    t.post(&format!("/api/v1/credential-types/{ty}/publish"), json!({}))
        .await
        .expect(200);
    let member = t
        .post(
            "/api/v1/members",
            json!({"first_name": "Ava", "last_name": "Officer"}),
        )
        .await
        .expect(201);
    let mid = member["id"].as_str().unwrap().to_string();
    let cred = t
        .post(
            "/api/v1/assignments",
            json!({"credential_type_id": ty, "mode": "completion_period", "period_end": "2026-06-30", "member_ids": [mid]}),
        )
        .await
        .expect(200)["created"][0]
        .as_str()
        .unwrap()
        .to_string();
    let req = t
        .get(&format!("/api/v1/credentials/{cred}"))
        .await
        .expect(200)["requirements"][0]["requirement_id"]
        .as_str()
        .unwrap()
        .to_string();
    let own = t.token(Role::Officer, Some(&mid)).await;
    (mid, cred, req, own)
}

both_databases! {
    async fn an_officer_cannot_record_sign_off_or_issue_for_themselves(t) {
        let (mid, cred, req, own) = officer_who_holds_a_track(t).await;
        let record = json!({"member_id": mid, "completed_on": "2026-03-01", "hours": 40, "category": "CE"});

        let refused = t.send(Method::POST, "/api/v1/training-records", Some(&own), Some(record.clone())).await.problem(403);
        assert!(refused["detail"].as_str().unwrap().contains("yourself"), "{refused}");
        t.send(Method::POST, "/api/v1/training-records/bulk", Some(&own), Some(json!({"records": [record]}))).await.problem(403);
        t.send(Method::POST, &format!("/api/v1/credentials/{cred}/requirements/{req}/sign-off"), Some(&own),
            Some(json!({"signed_on": "2026-03-01", "evaluator": "Myself"}))).await.problem(403);
        t.send(Method::POST, &format!("/api/v1/credentials/{cred}/issue"), Some(&own),
            Some(json!({"issue_date": "2026-03-01"}))).await.problem(403);
        t.send(Method::POST, "/api/v1/credentials/bulk-update", Some(&own),
            Some(json!({"credential_ids": [cred], "fields": {"issuing_officer": "Myself"}}))).await.problem(403);

        // Nothing changed, and another officer may do each of these.
        let detail = t.get(&format!("/api/v1/credentials/{cred}")).await.expect(200);
        assert_eq!(detail["progress"], 0, "the refused sign-off wrote nothing");
        let records = t.get(&format!("/api/v1/training-records?member_id={mid}")).await.expect(200);
        assert_eq!(records["items"].as_array().unwrap().len(), 0, "the refused records wrote nothing");
        let signed = t.post(&format!("/api/v1/credentials/{cred}/requirements/{req}/sign-off"),
            json!({"signed_on": "2026-03-01", "evaluator": "Lt. Okafor"})).await.expect(200);
        assert_eq!(signed["status"], "ready_to_be_issued");
        t.post(&format!("/api/v1/credentials/{cred}/issue"), json!({"issue_date": "2026-03-01"})).await.expect(200);
    }

    async fn the_server_sets_where_a_training_record_came_from(t) {
        let member = t.post("/api/v1/members", json!({"first_name": "Ben", "last_name": "Lee"})).await.expect(201);
        let mid = member["id"].as_str().unwrap();
        // A caller cannot claim an approved external certificate (or any other source).
        let claimed = t.post("/api/v1/training-records", json!({"member_id": mid, "completed_on": "2026-03-01",
            "hours": 40, "category": "CE", "source": "external"})).await.problem(422);
        assert!(claimed.to_string().contains("source"), "{claimed}");
        let created = t.post("/api/v1/training-records", json!({"member_id": mid, "completed_on": "2026-03-01",
            "hours": 40, "category": "CE"})).await.expect(201);
        assert_eq!(created["source"], "api");
    }
}
