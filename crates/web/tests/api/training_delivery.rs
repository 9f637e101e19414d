//! Training delivery (#17, part B): crew sign-off (`POST /sign-offs`, a recorded operation),
//! the evidence on a credential (which record or sign-off counts for which requirement, a
//! closed period's after issue), member transcripts (`/members/{id}/transcript.pdf`) and the
//! training hours report (`/reports/hours`), through the API and the pages.

use axum::http::{header, Method};
use credence_app::Role;
use serde_json::{json, Value};

use crate::both_databases;
use crate::courses::create_course;
use crate::harness::{Resp, TestApp};
use crate::members::create_member;
use crate::people_pages::{body, session};
use crate::web_pages::{form, page};

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_string()
}

/// Driver/Operator, renewed by hand: the PUMP course (4 CE hours), 8 CE hours and an
/// apparatus check-off, assigned to one member per name for 2026.
struct Crew {
    ty: String,
    course: String,
    check: String,
    members: Vec<String>,
    creds: Vec<String>,
}

async fn crew(t: &TestApp, names: &[&str]) -> Crew {
    let course = create_course(t, "PUMP", None).await;
    let ty = t.post("/api/v1/credential-types", json!({"code": "DO", "name": "Driver/Operator", "validity_months": 36, "renewal": "manual",
        "requirements": [{"kind": "course", "course_id": course}, {"kind": "hours", "hours": 8, "category": "CE"},
            {"kind": "checklist", "title": "Apparatus check-off"}]})).await.expect(201);
    let ty = id(&ty);
    t.post(&format!("/api/v1/credential-types/{ty}/publish"), json!({}))
        .await
        .expect(200);
    let mut members = Vec::new();
    let mut creds = Vec::new();
    for name in names {
        let m = id(&create_member(t, name, "Crew").await);
        let created = t
            .post(
                "/api/v1/assignments",
                json!({"credential_type_id": ty, "mode": "completion_period",
            "period_start": "2026-01-01", "period_end": "2026-12-31", "member_ids": [m]}),
            )
            .await
            .expect(200);
        creds.push(created["created"][0].as_str().unwrap().to_string());
        members.push(m);
    }
    let c = credential(t, &creds[0]).await;
    let check = c["requirements"][2]["requirement_id"]
        .as_str()
        .unwrap()
        .to_string();
    Crew {
        ty,
        course,
        check,
        members,
        creds,
    }
}

async fn credential(t: &TestApp, cid: &str) -> Value {
    t.get(&format!("/api/v1/credentials/{cid}"))
        .await
        .expect(200)
}

async fn checklist_done(t: &TestApp, cid: &str) -> bool {
    credential(t, cid).await["requirements"][2]["done"]
        .as_bool()
        .unwrap()
}

async fn record(t: &TestApp, member: &str, body: Value) {
    let mut body = body;
    body["member_id"] = json!(member);
    t.post("/api/v1/training-records", body).await.expect(201);
}

/// Completes and issues a crew member's credential: its period closes (manual renewal).
async fn complete_and_issue(t: &TestApp, c: &Crew, i: usize) {
    let (m, cid) = (&c.members[i], &c.creds[i]);
    record(
        t,
        m,
        json!({"course_id": c.course, "completed_on": "2026-02-01", "score": 90}),
    )
    .await;
    record(
        t,
        m,
        json!({"completed_on": "2026-02-10", "hours": 5, "category": "CE"}),
    )
    .await;
    t.post(
        &format!(
            "/api/v1/credentials/{cid}/requirements/{}/sign-off",
            c.check
        ),
        json!({"signed_on": "2026-02-20", "evaluator": "Lt. Okafor"}),
    )
    .await
    .expect(200);
    t.post(
        &format!("/api/v1/credentials/{cid}/issue"),
        json!({"issue_date": "2026-02-25"}),
    )
    .await
    .expect(200);
}

/// A page of the role matrix: path, form fields (None for a GET), and who may use it as
/// [admin, officer, auditor, member].
type PageRow = (String, Option<Vec<(&'static str, String)>>, [bool; 4]);

both_databases! {
    async fn crew_sign_off_signs_who_can_take_it_and_names_the_rest(t) {
        let c = crew(t, &["Ava", "Ben", "Cy"]).await;
        // Ben is signed already this period; Cy was issued, so no period is open.
        t.post(&format!("/api/v1/credentials/{}/requirements/{}/sign-off", c.creds[1], c.check), json!({"signed_on": "2026-02-01", "evaluator": "Capt. Hale"})).await.expect(200);
        complete_and_issue(t, &c, 2).await;
        let ask = json!({"credential_ids": c.creds, "requirement_id": c.check, "signed_on": "2026-03-01", "evaluator": " Lt. Okafor ", "dry_run": true});
        let dry = t.post("/api/v1/sign-offs", ask.clone()).await.expect(200);
        let expected_skips = json!([
            {"credential_id": c.creds[1], "reason": "already_signed"},
            {"credential_id": c.creds[2], "reason": "no_open_period"},
        ]);
        assert_eq!((&dry["signed"], &dry["skipped"], &dry["operation_id"], &dry["dry_run"]),
            (&json!([c.creds[0]]), &expected_skips, &Value::Null, &json!(true)));
        assert!(!checklist_done(t, &c.creds[0]).await, "a dry run writes nothing");

        let mut real = ask.clone();
        real["dry_run"] = json!(false);
        let done = t.post("/api/v1/sign-offs", real.clone()).await.expect(200);
        assert_eq!((&done["signed"], &done["skipped"]), (&json!([c.creds[0]]), &expected_skips));
        let a = credential(t, &c.creds[0]).await;
        assert_eq!(a["requirements"][2]["done"], true);
        assert_eq!(a["requirements"][2]["evidence"]["sign_off"]["evaluator"], "Lt. Okafor");
        assert_eq!(a["requirements"][2]["evidence"]["sign_off"]["signed_on"], "2026-03-01");
        assert_eq!(a["progress"], 33);
        // Again: everyone is skipped now, and nothing is recorded as an operation.
        let again = t.post("/api/v1/sign-offs", real).await.expect(200);
        assert_eq!((again["signed"].as_array().unwrap().len(), &again["operation_id"]), (0, &Value::Null));
        assert_eq!(again["skipped"][0]["reason"], "already_signed");

        // The operation undoes it: the sign-off goes, Ben's earlier one stays.
        let op = done["operation_id"].as_str().unwrap();
        assert_eq!(t.get(&format!("/api/v1/operations/{op}")).await.expect(200)["kind"], "sign_off");
        t.post(&format!("/api/v1/operations/{op}/undo"), json!({})).await.expect(200);
        let a = credential(t, &c.creds[0]).await;
        assert_eq!((a["requirements"][2]["done"].as_bool(), a["progress"].as_i64()), (Some(false), Some(0)));
        assert!(a["requirements"][2]["evidence"]["sign_off"].is_null());
        assert!(checklist_done(t, &c.creds[1]).await);
        t.post(&format!("/api/v1/operations/{op}/undo"), json!({})).await.problem(409);

        // Nobody signs off for themselves: an officer who is Ava is skipped on her own.
        let ava_officer = t.token(Role::Officer, Some(&c.members[0])).await;
        let own = t.send(Method::POST, "/api/v1/sign-offs", Some(&ava_officer), Some(json!({"credential_ids": [c.creds[0]],
            "requirement_id": c.check, "signed_on": "2026-03-01", "evaluator": "Ava"}))).await.expect(200);
        assert_eq!(own["skipped"], json!([{"credential_id": c.creds[0], "reason": "own_credential"}]));
        assert!(!checklist_done(t, &c.creds[0]).await);
    }

    async fn a_sign_off_that_completes_an_auto_issue_type_is_undone_whole(t) {
        let ty = t.post("/api/v1/credential-types", json!({"code": "HZ", "name": "Hazmat Ops", "validity_months": 12, "auto_issue": true,
            "requirements": [{"kind": "checklist", "title": "Decon drill"}]})).await.expect(201);
        let ty = id(&ty);
        t.post(&format!("/api/v1/credential-types/{ty}/publish"), json!({})).await.expect(200);
        let m = id(&create_member(t, "Ava", "Smith").await);
        let cid = t.post("/api/v1/assignments", json!({"credential_type_id": ty, "mode": "completion_period",
            "period_start": "2026-01-01", "period_end": "2026-12-31", "member_ids": [m]})).await.expect(200)["created"][0].as_str().unwrap().to_string();
        let req = credential(t, &cid).await["requirements"][0]["requirement_id"].as_str().unwrap().to_string();
        let done = t.post("/api/v1/sign-offs", json!({"credential_ids": [cid], "requirement_id": req, "signed_on": "2026-02-15", "evaluator": "Capt. Hale"})).await.expect(200);
        let issued = credential(t, &cid).await;
        assert_eq!((issued["status"].as_str(), issued["current_issuance"]["issue_date"].as_str()), (Some("active_renewal_in_progress"), Some("2026-02-15")));
        t.post(&format!("/api/v1/operations/{}/undo", done["operation_id"].as_str().unwrap()), json!({})).await.expect(200);
        let back = credential(t, &cid).await;
        assert_eq!((back["status"].as_str(), back["issuances"].as_array().unwrap().len(), back["periods"].as_array().unwrap().len()),
            (Some("not_started"), 0, 1));
    }

    async fn crew_sign_off_refuses_bad_input_and_writes_nothing(t) {
        let c = crew(t, &["Ava", "Ben"]).await;
        let other_type = crate::fixtures::CredentialTypeBuilder::new("CPR").publish(t).await;
        let (_, cpr_cred) = crate::fixtures::Track::of(&other_type).for_member("Dee").build(t).await;
        let course_req = credential(t, &c.creds[0]).await["requirements"][0]["requirement_id"].as_str().unwrap().to_string();
        let ask = |creds: Value, req: &str, on: &str, evaluator: &str| json!({"credential_ids": creds, "requirement_id": req, "signed_on": on, "evaluator": evaluator});
        let fields = |r: Resp| { let mut f = r.invalid_fields(); f.sort(); f };
        assert_eq!(fields(t.post("/api/v1/sign-offs", ask(json!(c.creds), &course_req, "2026-03-01", "X")).await), ["requirement_id"]);
        assert_eq!(fields(t.post("/api/v1/sign-offs", ask(json!(c.creds), "req_999999", "2026-03-01", "X")).await), ["requirement_id"]);
        assert_eq!(fields(t.post("/api/v1/sign-offs", ask(json!(c.creds), &c.check, "2026-03-02", "  ")).await), ["evaluator", "signed_on"]);
        let long = "x".repeat(201);
        assert_eq!(fields(t.post("/api/v1/sign-offs", ask(json!(c.creds), &c.check, "2026-03-01", &long)).await), ["evaluator"]);
        assert_eq!(fields(t.post("/api/v1/sign-offs", ask(json!([c.creds[0], cpr_cred]), &c.check, "2026-03-01", "X")).await), ["credential_ids[1]"]);
        assert_eq!(fields(t.post("/api/v1/sign-offs", ask(json!(["crd_999999", c.creds[1]]), &c.check, "2026-03-01", "X")).await), ["credential_ids[0]"]);
        assert_eq!(fields(t.post("/api/v1/sign-offs", ask(json!([]), &c.check, "2026-03-01", "X")).await), ["credential_ids"]);
        assert_eq!(fields(t.post("/api/v1/sign-offs", json!({"credential_ids": c.creds, "requirement_id": c.check, "signed_on": "2026-03-01", "evaluator": "X", "color": 1})).await), ["color"]);
        assert_eq!(fields(t.post("/api/v1/sign-offs", json!({"credential_ids": c.creds, "requirement_id": c.check, "signed_on": "yesterday", "evaluator": "X"})).await), ["signed_on"]);
        // Another agency can neither name our requirement nor our credentials.
        let other = t.other_agency_admin().await;
        let theirs = t.send(Method::POST, "/api/v1/sign-offs", Some(&other), Some(ask(json!(c.creds), &c.check, "2026-03-01", "X"))).await;
        assert_eq!(fields(theirs), ["requirement_id"]);
        for cid in &c.creds {
            assert!(!checklist_done(t, cid).await, "nothing was written");
        }
        let ops = t.get("/api/v1/operations").await.expect(200);
        assert!(ops["items"].as_array().unwrap().iter().all(|o| o["kind"] != "sign_off"), "no sign-off was recorded");
    }

    async fn the_credential_shows_its_evidence_and_keeps_it_after_issue(t) {
        let c = crew(t, &["Ava"]).await;
        let (m, cid) = (&c.members[0], &c.creds[0]);
        record(t, m, json!({"course_id": c.course, "completed_on": "2026-01-20", "score": 40})).await;
        record(t, m, json!({"completed_on": "2025-11-01", "hours": 8, "category": "CE"})).await;
        let before = credential(t, cid).await;
        // The course has no passing grade, so the first record passes; its 4 CE hours count.
        assert_eq!(before["requirements"][0]["evidence"]["records"][0]["course_name"], "PUMP course");
        assert_eq!(before["requirements"][1]["fraction"], 0.5);
        assert_eq!(before["requirements"][1]["evidence"]["records"].as_array().unwrap().len(), 1, "last year's hours are outside the period");
        assert_eq!((before["requirements_period"]["closed"].as_bool(), before["requirements_period"]["start"].as_str()), (Some(false), Some("2026-01-01")));
        complete_and_issue(t, &c, 0).await;
        let after = credential(t, cid).await;
        assert_eq!((after["status"].as_str(), after["progress"].as_i64()), (Some("active"), Some(100)));
        assert!(after["open_period"].is_null());
        assert_eq!(after["requirements_period"]["closed"], true, "the closed period's evidence, not empty dots");
        for r in after["requirements"].as_array().unwrap() {
            assert_eq!(r["done"], true, "{r}");
        }
        let course = &after["requirements"][0]["evidence"]["records"][0];
        assert_eq!((course["completed_on"].as_str(), course["hours"].as_f64(), course["source"].as_str()), (Some("2026-01-20"), Some(4.0), Some("api")));
        let hours: Vec<&str> = after["requirements"][1]["evidence"]["records"].as_array().unwrap().iter().map(|r| r["completed_on"].as_str().unwrap()).collect();
        // The course's second completion (2026-02-01) is a repeat: a course counts once a period.
        assert_eq!(hours, ["2026-01-20", "2026-02-10"]);
        let sign = &after["requirements"][2]["evidence"]["sign_off"];
        assert_eq!((sign["evaluator"].as_str(), sign["signed_on"].as_str()), (Some("Lt. Okafor"), Some("2026-02-20")));
        assert!(sign["recorded_by"].as_str().unwrap().starts_with("token:"));

        let (cookie, _) = session(t, "chief@test.example", Role::Admin, None).await;
        let shown = page(t, &format!("/credentials/{cid}"), &cookie).await;
        assert_eq!(shown.status, 200);
        for text in ["Signed off 2026-02-20 by Lt. Okafor", "2026-01-20 · PUMP course · 4 h", "closed when the credential was issued"] {
            assert!(shown.text.contains(text), "{text} missing");
        }
        assert!(!shown.text.contains("class=\"mark \""), "every requirement shows done");
    }

    async fn transcripts_are_pdfs_for_readers_and_the_member_alone(t) {
        let c = crew(t, &["Ava", "Ben"]).await;
        complete_and_issue(t, &c, 0).await;
        let (a, b) = (&c.members[0], &c.members[1]);
        let path = |m: &str| format!("/api/v1/members/{m}/transcript.pdf");
        let r = t.get(&path(a)).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.headers[header::CONTENT_TYPE], "application/pdf");
        assert!(r.bytes.starts_with(b"%PDF"));
        assert!(r.headers[header::CONTENT_DISPOSITION].to_str().unwrap().contains("transcript-"));
        // A member with no training at all still gets one.
        assert!(t.get(&path(b)).await.bytes.starts_with(b"%PDF"));
        let ava = t.token(Role::Member, Some(a)).await;
        let auditor = t.token(Role::Auditor, None).await;
        assert_eq!(t.send(Method::GET, &path(a), Some(&ava), None).await.status, 200);
        t.send(Method::GET, &path(b), Some(&ava), None).await.problem(404);
        assert_eq!(t.send(Method::GET, &path(b), Some(&auditor), None).await.status, 200);
        t.get(&path("mem_999999")).await.problem(404);
        let other = t.other_agency_admin().await;
        t.send(Method::GET, &path(a), Some(&other), None).await.problem(404);

        // The pages link to it; a member's /me to their own only.
        let (cookie, _) = session(t, "ava@test.example", Role::Member, Some(a)).await;
        let me = page(t, "/me", &cookie).await;
        assert!(me.text.contains(&format!("/members/{a}/transcript.pdf")));
        assert!(page(t, &format!("/members/{a}/transcript.pdf"), &cookie).await.bytes.starts_with(b"%PDF"));
        assert_eq!(page(t, &format!("/members/{b}/transcript.pdf"), &cookie).await.status, 404);
        let (chief, _) = session(t, "chief@test.example", Role::Admin, None).await;
        assert!(page(t, &format!("/members/{b}"), &chief).await.text.contains(&format!("/members/{b}/transcript.pdf")));
    }

    async fn the_hours_report_sums_each_members_categories_in_the_range(t) {
        let g = t.post("/api/v1/groups", json!({"name": "B Shift", "kind": "shift"})).await.expect(201);
        let ava = id(&t.post("/api/v1/members", json!({"first_name": "Ava", "last_name": "Smith", "employee_number": "E-7"})).await.expect(201));
        let ben = id(&create_member(t, "Ben", "Adams").await);
        let cy = id(&create_member(t, "Cy", "Young").await);
        let dee = id(&create_member(t, "Dee", "Zane").await);
        t.put(&format!("/api/v1/groups/{}/members", id(&g)), json!({"member_ids": [ava]})).await.expect(200);
        let course = create_course(t, "PUMP", None).await;
        record(t, &ava, json!({"course_id": course, "completed_on": "2026-02-01"})).await;
        record(t, &ava, json!({"completed_on": "2026-02-02", "hours": 2.5, "category": "Fire"})).await;
        record(t, &ava, json!({"completed_on": "2025-06-01", "hours": 10, "category": "CE"})).await;
        record(t, &cy, json!({"completed_on": "2026-01-15", "hours": 3, "category": "CE"})).await;
        // Deactivated: Cy trained in the range and is listed, Dee did not and is not.
        t.delete(&format!("/api/v1/members/{cy}")).await.expect(200);
        t.delete(&format!("/api/v1/members/{dee}")).await.expect(200);
        let r = t.get("/api/v1/reports/hours?from=2026-01-01&to=2026-03-01").await.expect(200);
        assert_eq!((r["from"].as_str(), r["to"].as_str(), &r["next_cursor"]), (Some("2026-01-01"), Some("2026-03-01"), &Value::Null));
        let names: Vec<&str> = r["items"].as_array().unwrap().iter().map(|i| i["name"].as_str().unwrap()).collect();
        assert_eq!(names, ["Adams, Ben", "Smith, Ava", "Young, Cy"]);
        assert_eq!((&r["items"][0]["categories"], r["items"][0]["total_hours"].to_string().as_str()), (&json!([]), "0.0"));
        assert_eq!(r["items"][1], json!({"member_id": ava, "name": "Smith, Ava", "employee_number": "E-7", "groups": ["B Shift"],
            "categories": [{"category": "CE", "hours": 4.0, "records": 1}, {"category": "Fire", "hours": 2.5, "records": 1}], "total_hours": 6.5}));
        assert_eq!(r["items"][2]["total_hours"], 3.0);
        let _ = ben;
        // The default range is this year to today; a group narrows it; pages follow the cursor.
        assert_eq!(t.get("/api/v1/reports/hours").await.expect(200)["from"], "2026-01-01");
        let crew = t.get(&format!("/api/v1/reports/hours?from=2025-01-01&group_id={}", id(&g))).await.expect(200);
        assert_eq!((crew["items"].as_array().unwrap().len(), crew["items"][0]["total_hours"].as_f64()), (1, Some(16.5)));
        let first = t.get("/api/v1/reports/hours?from=2026-01-01&limit=2").await.expect(200);
        let cursor = first["next_cursor"].as_str().unwrap();
        let second = t.get(&format!("/api/v1/reports/hours?from=2026-01-01&limit=2&cursor={cursor}")).await.expect(200);
        assert_eq!((second["items"][0]["name"].as_str(), &second["next_cursor"]), (Some("Young, Cy"), &Value::Null));
        // CSV: a row per member and category, named.
        let csv = t.get("/api/v1/reports/hours?from=2026-01-01&format=csv").await;
        assert_eq!(csv.status, 200);
        assert!(csv.headers[header::CONTENT_TYPE].to_str().unwrap().starts_with("text/csv"));
        assert_eq!(csv.text, "member,employee_number,groups,category,hours,records\n\"Adams, Ben\",,,,0,0\n\"Smith, Ava\",E-7,B Shift,CE,4,1\n\"Smith, Ava\",E-7,B Shift,Fire,2.5,1\n\"Young, Cy\",,,CE,3,1\n");
        // XLSX: the same rows, hours as numbers.
        let xlsx = t.get("/api/v1/reports/hours?from=2026-01-01&format=xlsx").await;
        assert_eq!(xlsx.status, 200);
        let rows = crate::exports::sheet(&xlsx);
        assert_eq!(rows.len(), 5);
        assert_eq!(rows[3], ["Smith, Ava", "E-7", "B Shift", "Fire", "2.5", "1"]);
    }

    async fn the_hours_report_refuses_bad_input_and_other_agencies(t) {
        let fields = |r: Resp| r.invalid_fields();
        assert_eq!(fields(t.get("/api/v1/reports/hours?from=2026-03-02&to=2026-03-01").await), ["to"]);
        assert_eq!(fields(t.get("/api/v1/reports/hours?format=xml").await), ["format"]);
        assert_eq!(fields(t.get("/api/v1/reports/hours?from=march").await), ["from"]);
        assert_eq!(fields(t.get("/api/v1/reports/hours?limit=501").await), ["limit"]);
        assert_eq!(fields(t.get("/api/v1/reports/hours?cursor=nope").await), ["cursor"]);
        assert_eq!(fields(t.get("/api/v1/reports/hours?format=csv&from=2026-03-02&to=2026-03-01").await), ["to"]);
        let other = t.other_agency_admin().await;
        let theirs = t.send(Method::POST, "/api/v1/groups", Some(&other), Some(json!({"name": "Theirs"}))).await.expect(201);
        t.get(&format!("/api/v1/reports/hours?group_id={}", id(&theirs))).await.problem(404);
        t.get(&format!("/api/v1/reports/hours?group_id={}&format=csv", id(&theirs))).await.problem(404);
        let m = id(&create_member(t, "Ava", "Smith").await);
        let member = t.token(Role::Member, Some(&m)).await;
        t.send(Method::GET, "/api/v1/reports/hours", Some(&member), None).await.problem(403);
        // Their members are not in our report.
        t.send(Method::POST, "/api/v1/members", Some(&other), Some(json!({"first_name": "Other", "last_name": "Person"}))).await.expect(201);
        assert_eq!(t.get("/api/v1/reports/hours").await.expect(200)["items"].as_array().unwrap().len(), 1);
    }

    async fn manage_credentials_signs_off_a_selection_and_names_each_outcome(t) {
        let c = crew(t, &["Ava", "Ben"]).await;
        t.post(&format!("/api/v1/credentials/{}/requirements/{}/sign-off", c.creds[1], c.check), json!({"signed_on": "2026-02-01", "evaluator": "Capt. Hale"})).await.expect(200);
        let (cookie, csrf) = session(t, "officer@test.example", Role::Officer, None).await;
        let list = page(t, "/credentials", &cookie).await;
        assert!(list.text.contains("value=\"sign_off\""));
        let chosen = format!("/credentials/action?action=sign_off&credential_ids={}&credential_ids={}", c.creds[0], c.creds[1]);
        let asked = page(t, &chosen, &cookie).await;
        assert_eq!(asked.status, 200);
        assert!(asked.text.contains("Apparatus check-off") && asked.text.contains(&format!("value=\"{}\"", c.check)));
        // Two types at once: filter by type first.
        let other_type = crate::fixtures::CredentialTypeBuilder::new("CPR").publish(t).await;
        let (_, cpr) = crate::fixtures::Track::of(&other_type).for_member("Dee").build(t).await;
        let mixed = page(t, &format!("/credentials/action?action=sign_off&credential_ids={}&credential_ids={cpr}", c.creds[0]), &cookie).await;
        assert_eq!(mixed.status, 303);
        let fields = |mode: &str, token: &str| body(token, &[("action", "sign_off"), ("mode", mode), ("credential_type_id", &c.ty),
            ("credential_ids", &c.creds[0]), ("credential_ids", &c.creds[1]), ("requirement_id", &c.check),
            ("signed_on", "2026-03-01"), ("evaluator", "Lt. Okafor")]);
        // Without the session's CSRF token nothing happens.
        let forged = fields("apply", "guess");
        assert_eq!(form(t, "/credentials/action", &cookie, &forged).await.status, 400);
        let preview = form(t, "/credentials/action", &cookie, &fields("preview", &csrf)).await;
        assert_eq!(preview.status, 200);
        assert!(preview.text.contains("Would be signed off") && preview.text.contains("Nothing was changed"));
        assert!(!checklist_done(t, &c.creds[0]).await);
        let done = form(t, "/credentials/action", &cookie, &fields("apply", &csrf)).await;
        assert_eq!(done.status, 200, "{}", done.text);
        for text in ["Signed off 1 credential(s); 1 skipped.", "Crew, Ava", "Crew, Ben", "Skipped: already signed off in this period", "/operations/op_"] {
            assert!(done.text.contains(text), "{text} missing");
        }
        assert!(checklist_done(t, &c.creds[0]).await);
        // A future date is refused with the field named, and nothing is written.
        let bad = body(&csrf, &[("action", "sign_off"), ("mode", "apply"), ("credential_type_id", &c.ty), ("credential_ids", &c.creds[0]),
            ("requirement_id", &c.check), ("signed_on", "2027-01-01"), ("evaluator", "X")]);
        let refused = form(t, "/credentials/action", &cookie, &bad).await;
        assert_eq!(refused.status, 422, "the form again, as typed");
        assert!(refused.text.contains("must not be in the future") && refused.text.contains("value=\"X\""), "{}", refused.text);
    }

    async fn a_class_page_signs_a_skill_off_for_its_roster_and_names_who_is_not_assigned(t) {
        let c = crew(t, &["Ava", "Ben"]).await;
        let cy = id(&create_member(t, "Cy", "Young").await);
        let class = crate::classes::schedule(t, &c.course, "2026-02-27", None).await;
        let roster = json!({"member_ids": [c.members[0], c.members[1], cy]});
        t.put(&format!("/api/v1/classes/{class}/roster"), roster).await.expect(200);
        // The API first, as a dry run: who would be signed, who holds no such credential.
        let api = format!("/api/v1/classes/{class}/sign-off");
        let ask = json!({"requirement_id": c.check, "signed_on": "2026-02-27", "evaluator": "Capt. Ruiz", "dry_run": true});
        let would = t.post(&api, ask.clone()).await.expect(200);
        assert_eq!((would["signed"].as_array().unwrap().len(), would["dry_run"].as_bool()), (2, Some(true)));
        assert_eq!(would["not_assigned"], json!([cy]));
        assert!(!checklist_done(t, &c.creds[0]).await, "a dry run writes nothing");
        let mut bad = ask.clone();
        bad["evaluator"] = json!(" ");
        assert_eq!(t.post(&api, bad).await.invalid_fields(), ["evaluator"]);
        let other = t.other_agency_admin().await;
        t.send(Method::POST, &api, Some(&other), Some(ask)).await.problem(404);
        let (cookie, csrf) = session(t, "officer@test.example", Role::Officer, None).await;
        let shown = page(t, &format!("/classes/{class}"), &cookie).await;
        assert!(shown.text.contains("Sign off a skill for the roster"));
        assert!(shown.text.contains("Driver/Operator — Apparatus check-off"), "the item is named with its type");
        let path = format!("/classes/{class}/sign-off");
        let fields = |token: &str, day: &str| body(token, &[("requirement_id", &c.check), ("signed_on", day), ("evaluator", "Capt. Ruiz")]);
        // Without the session's CSRF token, or with a day in the future, nothing is written.
        assert_eq!(form(t, &path, &cookie, &fields("guess", "2026-02-27")).await.status, 400);
        let refused = form(t, &path, &cookie, &fields(&csrf, "2027-01-01")).await;
        let refused = crate::web_pages::follow(t, &refused, &cookie).await;
        assert!(refused.text.contains("must not be in the future"), "{}", refused.text);
        assert!(!checklist_done(t, &c.creds[0]).await);
        let done = form(t, &path, &cookie, &fields(&csrf, "2026-02-27")).await;
        assert_eq!(done.status, 303);
        let shown = crate::web_pages::follow(t, &done, &cookie).await;
        for text in ["Signed off for 2 members.", "Not assigned this credential: Young, Cy."] {
            assert!(shown.text.contains(text), "{text} missing: {}", shown.text);
        }
        assert!(checklist_done(t, &c.creds[0]).await && checklist_done(t, &c.creds[1]).await);
        // An auditor reads the class but cannot sign off.
        let (auditor, auditor_csrf) = session(t, "auditor@test.example", Role::Auditor, None).await;
        assert!(!page(t, &format!("/classes/{class}"), &auditor).await.text.contains("Sign off a skill"));
        assert_eq!(form(t, &path, &auditor, &fields(&auditor_csrf, "2026-02-27")).await.status, 403);
    }

    async fn the_hours_report_page_filters_and_downloads(t) {
        let ava = id(&create_member(t, "Ava", "Smith").await);
        record(t, &ava, json!({"completed_on": "2026-02-02", "hours": 2.5, "category": "Fire"})).await;
        let (cookie, _) = session(t, "auditor@test.example", Role::Auditor, None).await;
        assert!(page(t, "/reports", &cookie).await.text.contains("href=\"/reports/hours\""));
        let shown = page(t, "/reports/hours?from=2026-01-01&to=2026-03-01&group_id=", &cookie).await;
        assert_eq!(shown.status, 200);
        for text in ["Training hours", "Smith, Ava", "Fire <b>2.5</b>", "/reports/hours.csv?from=2026-01-01"] {
            assert!(shown.text.contains(text), "{text} missing");
        }
        let bad = page(t, "/reports/hours?from=2026-03-02&to=2026-03-01", &cookie).await;
        assert_eq!(bad.status, 200);
        assert!(bad.text.contains("to: must not be before from"));
        let csv = page(t, "/reports/hours.csv?from=2026-01-01&to=2026-03-01", &cookie).await;
        assert_eq!(csv.status, 200);
        assert!(csv.text.starts_with("member,employee_number,groups,category,hours,records\n\"Smith, Ava\",,,Fire,2.5,1"));
        let xlsx = page(t, "/reports/hours.xlsx?from=2026-01-01&to=2026-03-01", &cookie).await;
        assert_eq!(crate::exports::sheet(&xlsx)[1][..4], ["Smith, Ava", "", "", "Fire"]);
    }

    async fn training_delivery_pages_answer_each_role(t) {
        let c = crew(t, &["Ava", "Ben"]).await;
        let (a, b) = (c.members[0].clone(), c.members[1].clone());
        let sessions = [
            session(t, "admin@test.example", Role::Admin, None).await,
            session(t, "officer@test.example", Role::Officer, None).await,
            session(t, "auditor@test.example", Role::Auditor, None).await,
            session(t, "member@test.example", Role::Member, Some(&a)).await,
        ];
        let read_all = [true, true, true, false];
        let officers = [true, true, false, false];
        let sign_off = vec![("action", "sign_off".to_string()), ("mode", "preview".to_string()), ("credential_type_id", c.ty.clone()),
            ("credential_ids", c.creds[1].clone()), ("requirement_id", c.check.clone()), ("signed_on", "2026-03-01".to_string()), ("evaluator", "X".to_string())];
        let rows: Vec<PageRow> = vec![
            ("/reports/hours".into(), None, read_all),
            ("/reports/hours.csv".into(), None, read_all),
            (format!("/members/{a}/transcript.pdf"), None, [true, true, true, true]),
            (format!("/credentials/action?action=sign_off&credential_ids={}", c.creds[1]), None, officers),
            ("/credentials/action".into(), Some(sign_off), officers),
        ];
        for (path, fields, allowed) in rows {
            for (i, (cookie, csrf)) in sessions.iter().enumerate().rev() {
                let r = match &fields {
                    None => page(t, &path, cookie).await,
                    Some(f) => {
                        let pairs: Vec<(&str, &str)> = f.iter().map(|(k, v)| (*k, v.as_str())).collect();
                        form(t, &path, cookie, &body(csrf, &pairs)).await
                    }
                };
                let status = r.status.as_u16();
                if allowed[i] {
                    assert!(matches!(status, 200 | 303), "role {i} should be allowed {path}, got {status}: {}", r.text);
                } else {
                    assert_eq!(status, 403, "role {i} on {path}: {}", r.text);
                }
            }
        }
        // A member's transcript link works for them only: another member's is not there.
        assert_eq!(page(t, &format!("/members/{b}/transcript.pdf"), &sessions[3].0).await.status, 404);
        let other = t.other_agency_admin().await;
        let theirs = id(&t.send(Method::POST, "/api/v1/members", Some(&other), Some(json!({"first_name": "Other", "last_name": "Person"}))).await.expect(201));
        assert_eq!(page(t, &format!("/members/{theirs}/transcript.pdf"), &sessions[0].0).await.status, 404);
    }
}
