use serde_json::{json, Value};

use crate::both_databases;
use crate::courses::create_course;
use crate::harness::TestApp;

pub async fn emt_type(t: &TestApp) -> Value {
    let cpr = create_course(t, "CPR", Some(80.0)).await;
    let station = t
        .post(
            "/api/v1/groups",
            json!({"name": "Station 1", "kind": "station"}),
        )
        .await
        .expect(201);
    t.post("/api/v1/credential-types", json!({
        "code": "EMT-B", "name": "EMT-Basic", "description": "State EMT", "validity_months": 24,
        "expiration_rounding": "end_of_month", "renewal": "auto", "renewal_window_days": 365, "grace_period_days": 5,
        "requirements": [
            {"kind": "hours", "hours": 24, "category": "CE"},
            {"kind": "course", "course_id": cpr},
            {"kind": "checklist", "title": "Skills check-off"}
        ],
        "enrolment_group_ids": [station["id"]]
    })).await.expect(201)
}

both_databases! {
    async fn a_type_is_defined_with_requirements_and_defaults(t) {
        let ty = emt_type(t).await;
        assert_eq!((ty["state"].as_str(), ty["version"].as_i64(), ty["number_pattern"].as_str()), (Some("draft"), Some(1), Some("{CODE}-{YYYY}-{SEQ:5}")));
        let reqs = ty["requirements"].as_array().unwrap();
        assert_eq!(reqs.len(), 3);
        assert_eq!(reqs[1]["min_grade"], 80.0, "a graded course's passing grade is the default minimum");
        assert_eq!(reqs[1]["title"], "CPR course", "a course requirement is titled after its course");
        assert_eq!(ty["enrolment_group_ids"].as_array().unwrap().len(), 1);
        let id = ty["id"].as_str().unwrap();
        assert_eq!(t.get(&format!("/api/v1/credential-types/{id}")).await.expect(200), ty);
    }

    async fn editing_keeps_requirements_by_id(t) {
        let ty = emt_type(t).await;
        let id = ty["id"].as_str().unwrap();
        let keep = ty["requirements"][0]["id"].clone();
        let updated = t.patch(&format!("/api/v1/credential-types/{id}"), json!({
            "version": 1, "name": "EMT-Basic (State)", "due_date": null,
            "requirements": [{"id": keep, "kind": "hours", "hours": 30, "category": "CE"}, {"kind": "checklist", "title": "Ride-along"}]
        })).await.expect(200);
        let reqs = updated["requirements"].as_array().unwrap();
        assert_eq!((reqs.len(), &reqs[0]["id"], reqs[0]["hours"].as_f64()), (2, &keep, Some(30.0)));
        assert_eq!((updated["name"].as_str(), updated["version"].as_i64()), (Some("EMT-Basic (State)"), Some(2)));
        let fields = t.patch(&format!("/api/v1/credential-types/{id}"), json!({
            "version": 2, "requirements": [{"id": "req_999999", "kind": "checklist", "title": "x"}]
        })).await.invalid_fields();
        assert_eq!(fields, ["requirements[0].id"]);
        t.patch(&format!("/api/v1/credential-types/{id}"), json!({"version": 1, "name": "x"})).await.problem(409);
    }

    async fn lifecycle_runs_draft_published_retired(t) {
        let ty = emt_type(t).await;
        let id = ty["id"].as_str().unwrap();
        let published = t.post(&format!("/api/v1/credential-types/{id}/publish"), json!({})).await.expect(200);
        assert_eq!(published["state"], "published");
        let again = t.post(&format!("/api/v1/credential-types/{id}/publish"), json!({})).await.problem(409);
        assert!(again["detail"].as_str().unwrap().contains("draft"));
        t.post(&format!("/api/v1/credential-types/{id}/retire"), json!({"version": 1})).await.problem(409);
        let retired = t.send(axum::http::Method::POST, &format!("/api/v1/credential-types/{id}/retire"), Some(&t.admin), None).await.expect(200);
        assert_eq!(retired["state"], "retired");
        t.patch(&format!("/api/v1/credential-types/{id}"), json!({"version": retired["version"], "name": "x"})).await.problem(409);
        let listed = t.get("/api/v1/credential-types?state=retired").await.expect(200);
        assert_eq!(listed["items"][0]["id"], id);
        assert_eq!(t.get("/api/v1/credential-types?state=draft").await.expect(200)["items"], json!([]));
    }

    async fn type_rules_name_their_fields(t) {
        emt_type(t).await;
        let fields = t.post("/api/v1/credential-types", json!({"code": "EMT-B", "name": "Dup"})).await.invalid_fields();
        assert_eq!(fields, ["code"]);
        let fields = t.post("/api/v1/credential-types", json!({
            "code": "X", "name": "X", "validity_months": 0, "grace_period_days": -2, "number_pattern": "{NOPE}",
            "effective_from": "2026-05-01", "due_date": "2026-04-01",
            "requirements": [{"kind": "course", "course_id": "crs_424242"}, {"kind": "hours", "category": "CE"}]
        })).await.invalid_fields();
        assert_eq!(fields, ["grace_period_days", "validity_months", "due_date", "number_pattern", "requirements[1].hours", "requirements[0].course_id"]);
        let fields = t.post("/api/v1/credential-types", json!({"code": "Y", "name": "Y", "renewal": "sometimes"})).await.invalid_fields();
        assert_eq!(fields, ["renewal"]);
    }

    async fn another_agencys_course_cannot_be_required(t) {
        let other = t.other_agency_admin().await;
        let foreign = t.send(axum::http::Method::POST, "/api/v1/courses", Some(&other), Some(json!({"code": "F", "name": "Foreign"}))).await.expect(201);
        let fields = t.post("/api/v1/credential-types", json!({
            "code": "Z", "name": "Z", "requirements": [{"kind": "course", "course_id": foreign["id"]}]
        })).await.invalid_fields();
        assert_eq!(fields, ["requirements[0].course_id"]);
    }
}
