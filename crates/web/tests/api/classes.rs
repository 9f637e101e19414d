//! Courses retired and searched, and classes (#17): scheduling, rosters within capacity (by
//! member or whole group), completing with results into training records that move
//! progress, reopening so the records follow, certificates for a class, every bad input
//! refused with nothing written, and another agency's classes answering 404.

use axum::http::Method;
use serde_json::{json, Value};

use crate::both_databases;
use crate::harness::TestApp;
use crate::members::create_member;

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_string()
}

/// A graded course, a credential type asking for it, and B Shift's three members assigned it.
pub struct Drill {
    pub course: String,
    pub ty: String,
    pub group: String,
    pub members: Vec<String>,
}

pub async fn drill(t: &TestApp, auto_issue: bool) -> Drill {
    let course = t.post("/api/v1/courses", json!({"code": "CPR-BLS", "name": "CPR / BLS", "hours": 4, "category": "Medical", "passing_grade": 80})).await.expect(201);
    let ty = t.post("/api/v1/credential-types", json!({"code": "CPR", "name": "CPR Provider", "validity_months": 24,
        "renewal": "auto", "auto_issue": auto_issue, "requirements": [{"kind": "course", "course_id": course["id"]}]})).await.expect(201);
    t.post(
        &format!("/api/v1/credential-types/{}/publish", id(&ty)),
        json!({}),
    )
    .await
    .expect(200);
    let group = t
        .post(
            "/api/v1/groups",
            json!({"name": "B Shift", "kind": "shift"}),
        )
        .await
        .expect(201);
    let mut members = Vec::new();
    for (first, last) in [("Ava", "Smith"), ("Liam", "Brown"), ("Noah", "Lee")] {
        members.push(id(&create_member(t, first, last).await));
    }
    t.put(
        &format!("/api/v1/groups/{}/members", id(&group)),
        json!({"member_ids": members}),
    )
    .await
    .expect(200);
    t.post(
        "/api/v1/assignments",
        json!({"credential_type_id": ty["id"], "mode": "completion_period",
        "period_start": "2026-01-01", "period_end": "2026-12-31", "group_ids": [group["id"]]}),
    )
    .await
    .expect(200);
    Drill {
        course: id(&course),
        ty: id(&ty),
        group: id(&group),
        members,
    }
}

pub async fn schedule(t: &TestApp, course: &str, held_on: &str, capacity: Option<i64>) -> String {
    let k = t
        .post(
            "/api/v1/classes",
            json!({"course_id": course, "held_on": held_on,
        "instructor": "Capt. Ruiz", "location": "Station 2 bay", "capacity": capacity}),
        )
        .await
        .expect(201);
    id(&k)
}

/// The member's credential of the type: (status, progress).
async fn standing(t: &TestApp, member: &str) -> (String, i64) {
    let c = &t
        .get(&format!("/api/v1/credentials?member_id={member}"))
        .await
        .expect(200)["items"][0];
    (
        c["status"].as_str().unwrap().to_string(),
        c["progress"].as_i64().unwrap(),
    )
}

async fn records(t: &TestApp) -> Vec<Value> {
    t.get("/api/v1/training-records").await.expect(200)["items"]
        .as_array()
        .unwrap()
        .clone()
}

both_databases! {
    async fn courses_are_searched_and_a_retired_one_is_kept_but_refused(t) {
        let cpr = t.post("/api/v1/courses", json!({"code": "CPR-BLS", "name": "CPR / BLS", "hours": 4})).await.expect(201);
        t.post("/api/v1/courses", json!({"code": "HAZ-AWR", "name": "Hazmat Awareness", "hours": 8})).await.expect(201);
        t.post("/api/v1/courses", json!({"code": "EVOC", "name": "Emergency Vehicle Operations", "hours": 16})).await.expect(201);
        let codes = |v: Value| v["items"].as_array().unwrap().iter().map(|c| c["code"].as_str().unwrap().to_string()).collect::<Vec<_>>();
        assert_eq!(codes(t.get("/api/v1/courses").await.expect(200)), ["CPR-BLS", "EVOC", "HAZ-AWR"], "code order");
        assert_eq!(codes(t.get("/api/v1/courses?q=hazmat").await.expect(200)), ["HAZ-AWR"]);
        assert_eq!(codes(t.get("/api/v1/courses?q=S").await.expect(200)), ["CPR-BLS", "EVOC", "HAZ-AWR"]);
        let first = t.get("/api/v1/courses?limit=2").await.expect(200);
        let next = first["next_cursor"].as_str().unwrap();
        assert_eq!(codes(t.get(&format!("/api/v1/courses?limit=2&cursor={next}")).await.expect(200)), ["HAZ-AWR"]);

        let retired = t.post(&format!("/api/v1/courses/{}/retire", id(&cpr)), json!({"version": 1})).await.expect(200);
        assert_eq!((retired["retired"].as_bool(), retired["version"].as_i64()), (Some(true), Some(2)));
        let again = t.post(&format!("/api/v1/courses/{}/retire", id(&cpr)), json!({})).await.problem(409);
        assert!(again["detail"].as_str().unwrap().contains("already retired"));
        assert_eq!(codes(t.get("/api/v1/courses").await.expect(200)), ["EVOC", "HAZ-AWR"], "hidden from lists");
        assert_eq!(codes(t.get("/api/v1/courses?include_retired=true").await.expect(200)), ["CPR-BLS", "EVOC", "HAZ-AWR"]);
        assert_eq!(t.get(&format!("/api/v1/courses/{}", id(&cpr))).await.expect(200)["retired"], true, "kept for history");

        // Refused for new classes and new training records, naming the course.
        let m = id(&create_member(t, "Ava", "Smith").await);
        let refused = t.post("/api/v1/classes", json!({"course_id": cpr["id"], "held_on": "2026-02-20", "instructor": "Ruiz", "location": "Bay"})).await.problem(422);
        assert_eq!(refused["errors"][0]["field"], "course_id");
        assert!(refused["errors"][0]["message"].as_str().unwrap().contains("CPR-BLS, which is retired"), "{refused}");
        let refused = t.post("/api/v1/training-records", json!({"member_id": m, "course_id": cpr["id"], "completed_on": "2026-02-20"})).await.problem(422);
        assert_eq!(refused["errors"][0]["field"], "course_id");
        assert!(refused["errors"][0]["message"].as_str().unwrap().contains("retired"));
        assert_eq!(t.get("/api/v1/classes").await.expect(200)["items"], json!([]));
        assert!(records(t).await.is_empty());
    }

    async fn a_class_of_a_group_is_completed_and_progress_moves(t) {
        let d = drill(t, false).await;
        let k = schedule(t, &d.course, "2026-02-20", Some(10)).await;
        assert_eq!(standing(t, &d.members[0]).await, ("not_started".into(), 0));

        let added = t.post(&format!("/api/v1/classes/{k}/roster/add"), json!({"group_ids": [d.group]})).await.expect(200);
        assert_eq!(added["roster_count"], 3);
        assert_eq!(added["roster"].as_array().unwrap().iter().map(|r| r["name"].as_str().unwrap()).collect::<Vec<_>>(),
            ["Brown, Liam", "Lee, Noah", "Smith, Ava"]);
        assert_eq!(added["roster"][0]["attended"], Value::Null);

        let [ava, liam, noah] = [&d.members[0], &d.members[1], &d.members[2]];
        let done = t.post(&format!("/api/v1/classes/{k}/complete"), json!({"results": [
            {"member_id": ava, "attended": true, "score": 92},
            {"member_id": liam, "attended": true, "score": 64, "hours": 3.5},
            {"member_id": noah, "attended": false},
        ]})).await.expect(200);
        assert_eq!((done["status"].as_str(), done["attended_count"].as_i64()), (Some("completed"), Some(2)));
        assert!(done["completed_by"].as_str().unwrap().starts_with("token:"));
        let by_name = |name: &str| done["roster"].as_array().unwrap().iter().find(|r| r["name"] == name).unwrap().clone();
        assert!(by_name("Smith, Ava")["training_record_id"].as_str().unwrap().starts_with("trn_"));
        assert_eq!(by_name("Lee, Noah")["training_record_id"], Value::Null);
        assert_eq!(by_name("Lee, Noah")["attended"], false);

        // One record per attendee: dated the class's day, source class, the course's hours
        // and category unless typed.
        let mut recs = records(t).await;
        recs.sort_by_key(|r| r["member_id"].as_str().unwrap().to_string());
        assert_eq!(recs.len(), 2);
        let ava_rec = recs.iter().find(|r| r["member_id"] == ava.as_str()).unwrap();
        let liam_rec = recs.iter().find(|r| r["member_id"] == liam.as_str()).unwrap();
        assert_eq!((ava_rec["source"].as_str(), ava_rec["completed_on"].as_str(), ava_rec["hours"].as_f64(), ava_rec["category"].as_str(), ava_rec["score"].as_f64()),
            (Some("class"), Some("2026-02-20"), Some(4.0), Some("Medical"), Some(92.0)));
        assert_eq!((liam_rec["hours"].as_f64(), liam_rec["score"].as_f64()), (Some(3.5), Some(64.0)));
        // Progress moved for the one who passed; not for the one below the passing grade.
        assert_eq!(standing(t, ava).await, ("ready_to_be_issued".into(), 100));
        assert_eq!(standing(t, liam).await, ("not_started".into(), 0));
        assert_eq!(standing(t, noah).await, ("not_started".into(), 0));
        // The completion is audited: the class, and each record.
        let events = t.get(&format!("/api/v1/audit-events?subject_id={k}")).await.expect(200);
        let actions: Vec<&str> = events["items"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
        assert_eq!(actions, ["complete", "add_to_roster", "create"]);
        let rec_events = t.get(&format!("/api/v1/audit-events?subject_id={}", ava_rec["id"].as_str().unwrap())).await.expect(200);
        assert_eq!(rec_events["items"][0]["action"], "create");
        // The class reads back the same.
        let got = t.get(&format!("/api/v1/classes/{k}")).await.expect(200);
        assert_eq!(got, done);
    }

    async fn bad_results_are_refused_naming_each_and_nothing_is_written(t) {
        let d = drill(t, false).await;
        let k = schedule(t, &d.course, "2026-02-20", None).await;
        let empty = t.post(&format!("/api/v1/classes/{k}/complete"), json!({"results": []})).await.invalid_fields();
        assert_eq!(empty, ["roster"], "an empty roster");
        t.put(&format!("/api/v1/classes/{k}/roster"), json!({"member_ids": [d.members[0], d.members[1]]})).await.expect(200);
        let outsider = id(&create_member(t, "Zoe", "Outsider").await);
        let [ava, liam] = [&d.members[0], &d.members[1]];
        let refused = t.post(&format!("/api/v1/classes/{k}/complete"), json!({"results": [
            {"member_id": outsider, "attended": true},
            {"member_id": ava, "attended": true, "score": 101, "hours": 25},
            {"member_id": liam, "attended": true, "score": -1, "hours": -0.5},
            {"member_id": ava, "attended": false, "score": 50},
        ]})).await.problem(422);
        let errors: Vec<(String, String)> = refused["errors"].as_array().unwrap().iter()
            .map(|e| (e["field"].as_str().unwrap().to_string(), e["message"].as_str().unwrap().to_string())).collect();
        assert_eq!(errors, [
            ("results[0].member_id".to_string(), "is not on the class's roster".to_string()),
            ("results[1].score".into(), "must be between 0 and 100".into()),
            ("results[1].hours".into(), "must be between 0 and 24 hours for one class".into()),
            ("results[2].score".into(), "must be between 0 and 100".into()),
            ("results[2].hours".into(), "must be between 0 and 24 hours for one class".into()),
            ("results[3].member_id".into(), "has a result already earlier in the list".into()),
            ("results[3].attended".into(), "only a member who attended has a score or hours".into()),
        ]);
        // Malformed input is a 422 naming the field too.
        let fields = t.post(&format!("/api/v1/classes/{k}/complete"), json!({"results": [{"member_id": ava, "attended": "yes"}]})).await.invalid_fields();
        assert_eq!(fields, ["results[0].attended"]);
        let k2 = t.get(&format!("/api/v1/classes/{k}")).await.expect(200);
        assert_eq!(k2["status"], "scheduled");
        assert!(k2["roster"].as_array().unwrap().iter().all(|r| r["attended"].is_null()), "no result was stored");
        assert!(records(t).await.is_empty());

        // A class in the future cannot be completed yet.
        let later = schedule(t, &d.course, "2026-03-02", None).await;
        t.put(&format!("/api/v1/classes/{later}/roster"), json!({"member_ids": [ava]})).await.expect(200);
        let early = t.post(&format!("/api/v1/classes/{later}/complete"), json!({"results": [{"member_id": ava, "attended": true}]})).await.problem(422);
        assert_eq!(early["errors"][0]["field"], "held_on");
        assert!(early["errors"][0]["message"].as_str().unwrap().contains("2026-03-02, after today (2026-03-01)"), "{early}");

        // Completing twice is a conflict; the records are not doubled.
        t.post(&format!("/api/v1/classes/{k}/complete"), json!({"results": [{"member_id": ava, "attended": true, "score": 90}]})).await.expect(200);
        let twice = t.post(&format!("/api/v1/classes/{k}/complete"), json!({"results": [{"member_id": ava, "attended": true, "score": 90}]})).await.problem(409);
        assert!(twice["detail"].as_str().unwrap().contains("already completed; reopen it"));
        assert_eq!(records(t).await.len(), 1);

        // Bad classes.
        let fields = t.post("/api/v1/classes", json!({"course_id": "crs_999999", "held_on": "2026-02-20", "instructor": " ", "location": "", "capacity": 0})).await.invalid_fields();
        assert_eq!(fields, ["course_id", "instructor", "location", "capacity"]);
        let fields = t.post("/api/v1/classes", json!({"course_id": d.course, "held_on": "2026-02-30", "instructor": "A", "location": "B"})).await.invalid_fields();
        assert_eq!(fields, ["held_on"]);
        assert_eq!(t.get("/api/v1/classes?when=soon").await.invalid_fields(), ["when"]);
    }

    async fn the_roster_stays_within_capacity_and_open_classes(t) {
        let d = drill(t, false).await;
        let k = schedule(t, &d.course, "2026-02-20", Some(2)).await;
        let over = t.put(&format!("/api/v1/classes/{k}/roster"), json!({"member_ids": d.members})).await.problem(422);
        assert_eq!(over["errors"][0]["field"], "member_ids");
        assert_eq!(over["errors"][0]["message"], "would put 3 members on the roster, over the class's capacity of 2");
        let over = t.post(&format!("/api/v1/classes/{k}/roster/add"), json!({"group_ids": [d.group]})).await.problem(422);
        assert_eq!(over["errors"][0]["field"], "group_ids");
        assert_eq!(t.get(&format!("/api/v1/classes/{k}")).await.expect(200)["roster_count"], 0, "nothing was added");

        t.put(&format!("/api/v1/classes/{k}/roster"), json!({"member_ids": [d.members[0], d.members[1]]})).await.expect(200);
        let full = t.post(&format!("/api/v1/classes/{k}/roster/add"), json!({"member_ids": [d.members[2]]})).await.invalid_fields();
        assert_eq!(full, ["member_ids"]);
        // Adding someone already on it changes nothing and fits.
        let same = t.post(&format!("/api/v1/classes/{k}/roster/add"), json!({"member_ids": [d.members[0]]})).await.expect(200);
        assert_eq!(same["roster_count"], 2);
        let fewer = t.post(&format!("/api/v1/classes/{k}/roster/remove"), json!({"member_ids": [d.members[1]]})).await.expect(200);
        assert_eq!(fewer["roster_count"], 1);

        // Unknown and inactive members, unknown groups, empty adds.
        let gone = id(&create_member(t, "Old", "Timer").await);
        t.delete(&format!("/api/v1/members/{gone}")).await.expect(200);
        let bad = t.post(&format!("/api/v1/classes/{k}/roster/add"), json!({"member_ids": ["mem_999999", gone], "group_ids": ["grp_999999"]})).await.problem(422);
        let messages: Vec<&str> = bad["errors"].as_array().unwrap().iter().map(|e| e["message"].as_str().unwrap()).collect();
        assert_eq!(messages, ["Old Timer is not an active member", "mem_999999 is not a member of this agency", "grp_999999 is not a group of this agency"]);
        assert_eq!(t.post(&format!("/api/v1/classes/{k}/roster/add"), json!({})).await.invalid_fields(), ["member_ids"]);

        // A completed class's roster is closed until it is reopened.
        t.post(&format!("/api/v1/classes/{k}/complete"), json!({"results": [{"member_id": d.members[0], "attended": true}]})).await.expect(200);
        let closed = t.put(&format!("/api/v1/classes/{k}/roster"), json!({"member_ids": []})).await.problem(409);
        assert!(closed["detail"].as_str().unwrap().contains("reopen it"));
        t.post(&format!("/api/v1/classes/{k}/roster/add"), json!({"member_ids": [d.members[1]]})).await.problem(409);
    }

    async fn reopening_a_class_lets_its_records_follow_the_corrected_results(t) {
        let d = drill(t, false).await;
        let k = schedule(t, &d.course, "2026-02-20", None).await;
        let [ava, liam, noah] = [&d.members[0], &d.members[1], &d.members[2]];
        t.put(&format!("/api/v1/classes/{k}/roster"), json!({"member_ids": d.members})).await.expect(200);
        let not_yet = t.post(&format!("/api/v1/classes/{k}/reopen"), json!({})).await.problem(409);
        assert!(not_yet["detail"].as_str().unwrap().contains("not completed"));
        t.post(&format!("/api/v1/classes/{k}/complete"), json!({"results": [
            {"member_id": ava, "attended": true, "score": 70},
            {"member_id": liam, "attended": true, "score": 95},
            {"member_id": noah, "attended": true, "score": 88},
        ]})).await.expect(200);
        assert_eq!(standing(t, ava).await.1, 0);
        assert_eq!(standing(t, noah).await.1, 100);
        let opened = t.post(&format!("/api/v1/classes/{k}/reopen"), json!({"reason": "Ava's score was mistyped"})).await.expect(200);
        assert_eq!(opened["status"], "scheduled");
        assert_eq!(records(t).await.len(), 3, "records stay until it is completed again");
        // Noah was never there after all; Ava scored 90.
        t.post(&format!("/api/v1/classes/{k}/roster/remove"), json!({"member_ids": [noah]})).await.expect(200);
        t.post(&format!("/api/v1/classes/{k}/complete"), json!({"results": [
            {"member_id": ava, "attended": true, "score": 90},
            {"member_id": liam, "attended": true, "score": 95},
        ]})).await.expect(200);
        let recs = records(t).await;
        let mut scores: Vec<(String, f64)> = recs.iter().map(|r| (r["member_id"].as_str().unwrap().to_string(), r["score"].as_f64().unwrap())).collect();
        scores.sort_by(|a, b| a.0.cmp(&b.0));
        let mut expected = vec![(ava.clone(), 90.0), (liam.clone(), 95.0)];
        expected.sort_by(|a, b| a.0.cmp(&b.0));
        assert_eq!(scores, expected);
        assert_eq!(standing(t, ava).await.1, 100);
        assert_eq!(standing(t, noah).await.1, 0, "the removed record no longer counts");
        let events = t.get(&format!("/api/v1/audit-events?subject_id={k}")).await.expect(200);
        let actions: Vec<&str> = events["items"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
        assert_eq!(actions, ["complete", "remove_from_roster", "reopen", "complete", "set_roster", "create"]);
        assert_eq!(events["items"][2]["after"]["reason"], "Ava's score was mistyped");
    }

    async fn classes_are_listed_upcoming_and_past(t) {
        let d = drill(t, false).await;
        let a = schedule(t, &d.course, "2026-02-10", None).await;
        let b = schedule(t, &d.course, "2026-03-01", None).await;
        let c = schedule(t, &d.course, "2026-04-01", None).await;
        let e = schedule(t, &d.course, "2026-01-05", None).await;
        let ids = |v: Value| v["items"].as_array().unwrap().iter().map(id).collect::<Vec<_>>();
        assert_eq!(ids(t.get("/api/v1/classes?when=upcoming").await.expect(200)), [b.clone(), c.clone()]);
        assert_eq!(ids(t.get("/api/v1/classes?when=past").await.expect(200)), [a.clone(), e.clone()]);
        let first = t.get("/api/v1/classes?limit=3").await.expect(200);
        assert_eq!(ids(first.clone()), [c, b, a]);
        let next = first["next_cursor"].as_str().unwrap();
        assert_eq!(ids(t.get(&format!("/api/v1/classes?limit=3&cursor={next}")).await.expect(200)), [e]);
        assert_eq!(t.get(&format!("/api/v1/classes?course_id={}", d.course)).await.expect(200)["items"].as_array().unwrap().len(), 4);
    }

    async fn certificates_are_generated_for_a_class(t) {
        let d = drill(t, true).await;
        let k = schedule(t, &d.course, "2026-02-20", None).await;
        t.post(&format!("/api/v1/classes/{k}/roster/add"), json!({"group_ids": [d.group]})).await.expect(200);
        t.post(&format!("/api/v1/classes/{k}/complete"), json!({"results": [
            {"member_id": d.members[0], "attended": true, "score": 92},
            {"member_id": d.members[1], "attended": true, "score": 85},
            {"member_id": d.members[2], "attended": false},
        ]})).await.expect(200);
        assert_eq!(standing(t, &d.members[0]).await.0, "active_renewal_in_progress", "auto-issued when the class passed it");
        let made = t.post("/api/v1/certificates", json!({"class_id": k})).await.expect(201);
        let mut names: Vec<&str> = made["items"].as_array().unwrap().iter().map(|c| c["member_name"].as_str().unwrap()).collect();
        names.sort();
        assert_eq!(names, ["Ava Smith", "Liam Brown"], "the attendees' issuances");
        let listed = t.get(&format!("/api/v1/certificates?class_id={k}")).await.expect(200);
        assert_eq!(listed["items"].as_array().unwrap().len(), 2);
        let ids: Vec<Value> = listed["items"].as_array().unwrap().iter().map(|c| c["id"].clone()).collect();
        let merged = t.post("/api/v1/certificates/merge", json!({"certificate_ids": ids})).await;
        assert_eq!(merged.status, 200);
        assert!(merged.bytes.starts_with(b"%PDF"));
        let _ = &d.ty;
    }

    async fn another_agencys_classes_and_courses_are_404(t) {
        let d = drill(t, false).await;
        let k = schedule(t, &d.course, "2026-02-20", None).await;
        let other = t.other_agency_admin().await;
        let as_other = |m: Method, path: String, body: Option<Value>| {
            let other = other.clone();
            async move { t.send(m, &path, Some(&other), body).await }
        };
        for (m, path, body) in [
            (Method::GET, format!("/api/v1/classes/{k}"), None),
            (Method::PUT, format!("/api/v1/classes/{k}/roster"), Some(json!({"member_ids": []}))),
            (Method::POST, format!("/api/v1/classes/{k}/roster/add"), Some(json!({"member_ids": [d.members[0]]}))),
            (Method::POST, format!("/api/v1/classes/{k}/roster/remove"), Some(json!({"member_ids": [d.members[0]]}))),
            (Method::POST, format!("/api/v1/classes/{k}/complete"), Some(json!({"results": []}))),
            (Method::POST, format!("/api/v1/classes/{k}/reopen"), Some(json!({}))),
            (Method::POST, format!("/api/v1/courses/{}/retire", d.course), Some(json!({}))),
        ] {
            as_other(m, path.clone(), body).await.problem(404);
        }
        assert_eq!(as_other(Method::GET, "/api/v1/classes".into(), None).await.expect(200)["items"], json!([]));
        // Nor can their class take our course, nor our members join theirs.
        let theirs = as_other(Method::POST, "/api/v1/classes".into(), Some(json!({"course_id": d.course, "held_on": "2026-02-20", "instructor": "A", "location": "B"}))).await.invalid_fields();
        assert_eq!(theirs, ["course_id"]);
        assert_eq!(t.get(&format!("/api/v1/classes/{k}")).await.expect(200)["version"], 1);
    }
}
