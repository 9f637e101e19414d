//! Exemptions and leaves of absence (#20): an exempted requirement counts as done while the
//! exemption is in force and not after; a whole-credential exemption can make a credential
//! Ready to Be Issued, and the issuance records it; ending one early; a leave pushes back
//! due dates and is undone when withdrawn before it starts; bad input, other agencies, pages.
//! Today is the harness's 2026-03-01.

use axum::http::Method;
use credence_app::{App, Clock, Role};
use serde_json::{json, Value};

use crate::both_databases;
use crate::fixtures::Track;
use crate::harness::TestApp;

fn s(v: &Value) -> &str {
    v.as_str().unwrap()
}

/// A published type with a skills check-off and 10 hours of CE; answers (type id,
/// [skills requirement id, hours requirement id]).
async fn skills_type(t: &TestApp, code: &str) -> (String, [String; 2]) {
    let ty = t
        .post(
            "/api/v1/credential-types",
            json!({"code": code, "name": format!("{code} card"), "validity_months": 24, "renewal": "manual",
                "requirements": [{"kind": "checklist", "title": "Skills check-off"}, {"kind": "hours", "hours": 10, "category": "CE"}]}),
        )
        .await
        .expect(201);
    let id = s(&ty["id"]).to_string();
    t.post(&format!("/api/v1/credential-types/{id}/publish"), json!({}))
        .await
        .expect(200);
    let reqs = [
        s(&ty["requirements"][0]["id"]).to_string(),
        s(&ty["requirements"][1]["id"]).to_string(),
    ];
    (id, reqs)
}

async fn ce_hours(t: &TestApp, member: &str, on: &str, hours: f64) {
    t.post(
        "/api/v1/training-records",
        json!({"member_id": member, "completed_on": on, "hours": hours, "category": "CE"}),
    )
    .await
    .expect(201);
}

/// The credential as it stands on `day` (after that day's sweep).
async fn credential_on(t: &TestApp, day: &str, id: &str) -> Value {
    let later = App::new(t.app.store.clone(), Clock::fixed(day.parse().unwrap()));
    later.sweep("test").await.unwrap();
    t.on(day)
        .send(Method::GET, &format!("/api/v1/credentials/{id}"), None)
        .await
        .expect(200)
}

both_databases! {
    async fn an_exempted_requirement_counts_as_done_while_in_force_and_not_after(t) {
        let (ty, [skills, hours]) = skills_type(t, "EMR").await;
        let (member, cred) = Track::of(&ty).build(t).await;
        ce_hours(t, &member, "2026-02-01", 5.0).await;
        let before = t.get(&format!("/api/v1/credentials/{cred}")).await.expect(200);
        assert_eq!((before["progress"].as_i64(), s(&before["status"])), (Some(25), "in_progress"));

        let created = t.post("/api/v1/exemptions", json!({"member_id": member, "credential_type_id": ty,
            "requirement_id": skills, "reason": "  Deployed with the Guard ", "until": "2026-03-31"})).await;
        assert_eq!(created.status.as_u16(), 201, "{}", created.text);
        let e = created.body;
        let id = s(&e["id"]).to_string();
        assert!(id.starts_with("exm_"));
        assert_eq!(created.headers["location"], format!("/api/v1/exemptions/{id}"));
        assert_eq!(e, json!({"id": id, "member_id": member, "credential_type_id": ty, "credential_id": cred,
            "requirement_id": skills, "requirement_title": "Skills check-off", "reason": "Deployed with the Guard",
            "starts_on": "2026-03-01", "until": "2026-03-31", "ended_on": null, "ended_by": null, "active": true,
            "created_by": e["created_by"], "created_at": e["created_at"]}));

        // While in force: the check-off counts as done; what was earned does not change.
        let now = t.get(&format!("/api/v1/credentials/{cred}")).await.expect(200);
        assert_eq!(now["progress"], 75, "(1 + 5/10) / 2");
        let r = &now["requirements"];
        assert_eq!((r[0]["done"].as_bool(), r[0]["fraction"].as_f64()), (Some(true), Some(0.0)));
        assert_eq!(r[0]["exemption"], json!({"id": id, "until": "2026-03-31", "reason": "Deployed with the Guard",
            "granted_by": e["created_by"], "whole_credential": false}));
        assert_eq!((r[1]["done"].as_bool(), r[1]["fraction"].as_f64(), &r[1]["exemption"]), (Some(false), Some(0.5), &Value::Null));
        assert_eq!(r[1]["requirement_id"], hours);
        assert_eq!(now["exemptions"], json!([e]));
        let listed = t.get(&format!("/api/v1/exemptions?member_id={member}&credential_type_id={ty}&active=true")).await.expect(200);
        assert_eq!(listed, json!({"items": [e], "next_cursor": null}));
        assert_eq!(t.get("/api/v1/exemptions?active=false").await.expect(200)["items"], json!([]));

        // The last day still counts; the day after it does not, and the sweep brings the
        // stored progress back to what was earned.
        assert_eq!(credential_on(t, "2026-03-31", &cred).await["progress"], 75);
        let after = credential_on(t, "2026-04-01", &cred).await;
        assert_eq!((after["progress"].as_i64(), s(&after["status"])), (Some(25), "in_progress"));
        assert_eq!((after["requirements"][0]["done"].as_bool(), &after["requirements"][0]["exemption"]), (Some(false), &Value::Null));
        assert_eq!(after["exemptions"][0]["active"], false);
        let lapsed = t.on("2026-04-01").send(Method::GET, "/api/v1/exemptions?active=false", None).await.expect(200);
        assert_eq!(lapsed["items"].as_array().unwrap().len(), 1);
        let events = t.get(&format!("/api/v1/audit-events?subject_id={id}")).await.expect(200);
        assert_eq!(events["items"][0]["action"], "create");
        assert_eq!(events["items"][0]["after"]["requirement_id"], skills);
        // The credential's own trail names it too.
        let trail = t.get(&format!("/api/v1/audit-events?subject_id={cred}")).await.expect(200);
        let exempt = trail["items"].as_array().unwrap().iter().find(|e| e["action"] == "exempt").unwrap();
        assert_eq!(exempt["after"]["id"], id.as_str());
    }

    async fn a_whole_credential_exemption_makes_it_ready_and_the_issuance_records_it(t) {
        let (ty, _) = skills_type(t, "EMR").await;
        let (member, cred) = Track::of(&ty).build(t).await;
        let e = t.post("/api/v1/exemptions", json!({"member_id": member, "credential_type_id": ty,
            "reason": "Deployed", "until": "2026-06-30"})).await.expect(201);
        assert_eq!((&e["requirement_id"], &e["requirement_title"]), (&Value::Null, &Value::Null));
        let now = t.get(&format!("/api/v1/credentials/{cred}")).await.expect(200);
        assert_eq!((now["progress"].as_i64(), s(&now["status"])), (Some(100), "ready_to_be_issued"));
        assert!(now["requirements"].as_array().unwrap().iter().all(|r| r["done"] == true && r["exemption"]["whole_credential"] == true));

        let issued = t.post(&format!("/api/v1/credentials/{cred}/issue"), json!({"issue_date": "2026-03-01"})).await.expect(200);
        assert_eq!(issued["status"], "active");
        let note = s(&issued["issuances"][0]["exemption_note"]);
        assert!(note.starts_with("Exempt from every requirement until 2026-06-30 — Deployed (granted by API token tok_"), "{note}");
        let events = t.get(&format!("/api/v1/audit-events?subject_id={cred}")).await.expect(200);
        let issue = events["items"].as_array().unwrap().iter().find(|e| e["action"] == "issue").unwrap();
        assert_eq!(issue["after"]["exemption_note"], note);
        // The issue closed the period it excused: the exemption ends with it.
        let ended = t.get(&format!("/api/v1/exemptions?member_id={member}")).await.expect(200);
        assert_eq!((&ended["items"][0]["active"], &ended["items"][0]["ended_on"]), (&json!(false), &json!("2026-03-01")));

        // Without the exemption the same credential could not have been issued yet.
        let (_, other) = Track::of(&ty).for_member("Ben").build(t).await;
        let refused = t.post(&format!("/api/v1/credentials/{other}/issue"), json!({"issue_date": "2026-03-01"})).await.problem(422);
        assert!(refused["errors"][0]["message"].as_str().unwrap().contains("not complete"), "{refused}");
    }

    async fn ending_an_exemption_early_stops_it_counting_and_is_audited(t) {
        let (ty, [skills, _]) = skills_type(t, "EMR").await;
        let (member, cred) = Track::of(&ty).build(t).await;
        let e = t.post("/api/v1/exemptions", json!({"member_id": member, "credential_type_id": ty,
            "requirement_id": skills, "reason": "Medical", "until": "2026-12-31"})).await.expect(201);
        let id = s(&e["id"]).to_string();
        assert_eq!(t.get(&format!("/api/v1/credentials/{cred}")).await.expect(200)["progress"], 50);
        let ended = t.delete(&format!("/api/v1/exemptions/{id}")).await.expect(200);
        assert_eq!((s(&ended["ended_on"]), ended["active"].as_bool()), ("2026-03-01", Some(false)));
        assert!(ended["ended_by"].is_string());
        let now = t.get(&format!("/api/v1/credentials/{cred}")).await.expect(200);
        assert_eq!((now["progress"].as_i64(), &now["requirements"][0]["exemption"]), (Some(0), &Value::Null));
        assert_eq!(now["exemptions"][0]["ended_on"], "2026-03-01", "the history keeps it");
        t.delete(&format!("/api/v1/exemptions/{id}")).await.problem(409);
        t.delete("/api/v1/exemptions/exm_999999").await.problem(404);
        let events = t.get(&format!("/api/v1/audit-events?subject_id={id}")).await.expect(200);
        let actions: Vec<&str> = events["items"].as_array().unwrap().iter().map(|e| s(&e["action"])).collect();
        assert_eq!(actions, ["end", "create"]);
        let trail = t.get(&format!("/api/v1/audit-events?subject_id={cred}")).await.expect(200);
        let actions: Vec<&str> = trail["items"].as_array().unwrap().iter().map(|e| s(&e["action"])).take(2).collect();
        assert_eq!(actions, ["end_exemption", "exempt"]);
        assert_eq!(events["items"][0]["before"]["active"], true);
        assert_eq!(events["items"][0]["after"]["ended_on"], "2026-03-01");
    }

    async fn a_leave_pushes_back_due_dates_and_withdrawing_it_before_it_starts_undoes_that(t) {
        let (ty, _) = skills_type(t, "EMR").await;
        let (late_ty, _) = skills_type(t, "HAZ").await;
        let (member, cred) = Track::of(&ty).build(t).await;
        // A second track whose period ended 2026-02-15: overdue today.
        let late = t.post("/api/v1/assignments", json!({"credential_type_id": late_ty, "mode": "completion_period",
            "period_start": "2026-01-01", "period_end": "2026-02-15", "member_ids": [member]})).await.expect(200);
        let late = s(&late["created"][0]).to_string();
        assert_eq!(t.get(&format!("/api/v1/credentials/{late}")).await.expect(200)["status"], "overdue");

        // A leave from 2026-02-10 (it began; the period ending 2026-02-15 was still running) to
        // 2026-03-15: 34 days.
        let leave = t.post("/api/v1/leaves", json!({"member_id": member, "starts_on": "2026-02-10",
            "ends_on": "2026-03-15", "reason": "Surgery"})).await;
        assert_eq!(leave.status.as_u16(), 201, "{}", leave.text);
        assert!(s(&leave.body["id"]).starts_with("leave_"));
        assert_eq!(leave.body["days"], 34);
        let mut moved: Vec<&str> = leave.body["extended_credential_ids"].as_array().unwrap().iter().map(s).collect();
        moved.sort_unstable();
        let mut both = vec![cred.as_str(), late.as_str()];
        both.sort_unstable();
        assert_eq!(moved, both);
        let now = t.get(&format!("/api/v1/credentials/{late}")).await.expect(200);
        assert_eq!(now["open_period"], json!({"start": "2026-01-01", "end": "2026-03-21", "due_date": "2026-03-21"}));
        assert_eq!(now["status"], "not_started", "no longer overdue");
        let main = t.get(&format!("/api/v1/credentials/{cred}")).await.expect(200);
        assert_eq!(main["open_period"]["end"], "2027-02-03");
        // It has begun: withdrawing is refused and the dates stand.
        let begun = t.delete(&format!("/api/v1/leaves/{}", s(&leave.body["id"]))).await.problem(409);
        assert!(begun["detail"].as_str().unwrap().contains("began"), "{begun}");
        assert_eq!(t.get(&format!("/api/v1/credentials/{late}")).await.expect(200)["open_period"]["end"], "2026-03-21");

        // A future leave, withdrawn before it starts: the dates go back exactly.
        let future = t.post("/api/v1/leaves", json!({"member_id": member, "starts_on": "2026-06-01",
            "ends_on": "2026-06-10", "reason": "Training abroad"})).await.expect(201);
        assert_eq!(future["extended_credential_ids"], json!([cred]), "the period that ends before it starts is not moved");
        assert_eq!(t.get(&format!("/api/v1/credentials/{cred}")).await.expect(200)["open_period"]["end"], "2027-02-13");
        let fid = s(&future["id"]).to_string();
        let withdrawn = t.delete(&format!("/api/v1/leaves/{fid}")).await.expect(200);
        assert_eq!((withdrawn["withdrawn"].as_bool(), &withdrawn["extended_credential_ids"]), (Some(true), &json!([])));
        assert_eq!(t.get(&format!("/api/v1/credentials/{cred}")).await.expect(200)["open_period"]["due_date"], "2027-02-03");
        t.delete(&format!("/api/v1/leaves/{fid}")).await.problem(409);
        let listed = t.get(&format!("/api/v1/leaves?member_id={member}")).await.expect(200);
        assert_eq!(listed["items"].as_array().unwrap().len(), 2);
        let events = t.get(&format!("/api/v1/audit-events?subject_id={fid}")).await.expect(200);
        let actions: Vec<&str> = events["items"].as_array().unwrap().iter().map(|e| s(&e["action"])).collect();
        assert_eq!(actions, ["withdraw", "create"]);
        let trail = t.get(&format!("/api/v1/audit-events?subject_id={cred}")).await.expect(200);
        let actions: Vec<&str> = trail["items"].as_array().unwrap().iter().map(|e| s(&e["action"])).collect();
        assert_eq!(&actions[..3], ["withdraw_leave", "leave", "leave"]);
        assert_eq!(trail["items"][0]["after"]["leave_id"], fid.as_str());
    }

    async fn bad_input_is_a_clear_422_and_nothing_is_written(t) {
        let (ty, [skills, _]) = skills_type(t, "EMR").await;
        let (_, [foreign_req, _]) = skills_type(t, "HAZ").await;
        let (member, cred) = Track::of(&ty).build(t).await;
        let body = |extra: Value| {
            let mut b = json!({"member_id": member, "credential_type_id": ty, "requirement_id": skills, "reason": "Deployed", "until": "2026-06-30"});
            for (k, v) in extra.as_object().unwrap() {
                b[k] = v.clone();
            }
            b
        };
        let fields = |b: Value| async move { t.post("/api/v1/exemptions", b).await.invalid_fields() };
        assert_eq!(fields(body(json!({"until": "2026-02-28"}))).await, ["until"]);
        assert_eq!(fields(body(json!({"reason": "  "}))).await, ["reason"]);
        assert_eq!(fields(body(json!({"reason": "x".repeat(501)}))).await, ["reason"]);
        assert_eq!(fields(body(json!({"requirement_id": foreign_req}))).await, ["requirement_id"]);
        assert_eq!(fields(body(json!({"reason": "", "until": "2025-01-01", "requirement_id": foreign_req}))).await, ["reason", "until", "requirement_id"]);
        let problem = t.post("/api/v1/exemptions", body(json!({"until": "2026-02-28"}))).await.problem(422);
        assert!(problem["errors"][0]["message"].as_str().unwrap().contains("before today (2026-03-01)"), "{problem}");
        let missing = t.post("/api/v1/exemptions", json!({"member_id": member, "credential_type_id": ty, "until": "2026-06-30"})).await.problem(422);
        assert!(missing["errors"][0]["message"].as_str().unwrap().contains("reason"), "{missing}");
        // A member without a track of the type, and an inactive member.
        let ben = t.post("/api/v1/members", json!({"first_name": "Ben", "last_name": "Free"})).await.expect(201);
        let ben = s(&ben["id"]).to_string();
        assert_eq!(fields(json!({"member_id": ben, "credential_type_id": ty, "reason": "Deployed", "until": "2026-06-30"})).await, ["credential_type_id"]);
        let (gone, _) = Track::of(&ty).for_member("Cal").build(t).await;
        t.delete(&format!("/api/v1/members/{gone}")).await.expect(200);
        let inactive = t.post("/api/v1/exemptions", json!({"member_id": gone, "credential_type_id": ty, "reason": "Deployed", "until": "2026-06-30"})).await.problem(422);
        assert_eq!(inactive["errors"][0]["field"], "member_id");
        assert!(inactive["errors"][0]["message"].as_str().unwrap().contains("inactive"), "{inactive}");
        t.post("/api/v1/exemptions", body(json!({"member_id": "mem_999999"}))).await.problem(404);
        t.post("/api/v1/exemptions", body(json!({"credential_type_id": "ctp_999999"}))).await.problem(404);
        // Leaves.
        let leave = |extra: Value| {
            let mut b = json!({"member_id": member, "starts_on": "2026-04-01", "ends_on": "2026-04-30", "reason": "Surgery"});
            for (k, v) in extra.as_object().unwrap() {
                b[k] = v.clone();
            }
            b
        };
        let leave_fields = |b: Value| async move { t.post("/api/v1/leaves", b).await.invalid_fields() };
        assert_eq!(leave_fields(leave(json!({"ends_on": "2026-03-31"}))).await, ["ends_on"]);
        assert_eq!(leave_fields(leave(json!({"starts_on": "2026-01-01", "ends_on": "2026-02-01"}))).await, ["ends_on"]);
        assert_eq!(leave_fields(leave(json!({"reason": ""}))).await, ["reason"]);
        assert_eq!(leave_fields(leave(json!({"reason": "y".repeat(501)}))).await, ["reason"]);
        assert_eq!(leave_fields(leave(json!({"member_id": gone}))).await, ["member_id"]);
        t.post("/api/v1/leaves", leave(json!({"member_id": "mem_999999"}))).await.problem(404);

        // Nothing was written.
        assert_eq!(t.get("/api/v1/exemptions").await.expect(200)["items"], json!([]));
        assert_eq!(t.get("/api/v1/leaves").await.expect(200)["items"], json!([]));
        let c = t.get(&format!("/api/v1/credentials/{cred}")).await.expect(200);
        assert_eq!((c["progress"].as_i64(), &c["open_period"]["end"]), (Some(0), &json!("2026-12-31")));
        assert_eq!(t.get("/api/v1/exemptions?active=maybe").await.status.as_u16(), 422);
    }

    async fn another_agencys_members_types_and_exemptions_are_404(t) {
        let (ty, [skills, _]) = skills_type(t, "EMR").await;
        let (member, _) = Track::of(&ty).build(t).await;
        let e = t.post("/api/v1/exemptions", json!({"member_id": member, "credential_type_id": ty,
            "requirement_id": skills, "reason": "Deployed", "until": "2026-06-30"})).await.expect(201);
        let l = t.post("/api/v1/leaves", json!({"member_id": member, "starts_on": "2026-05-01", "ends_on": "2026-05-10", "reason": "Surgery"})).await.expect(201);
        let other = t.other_agency_admin().await;
        let theirs = t.send(Method::POST, "/api/v1/members", Some(&other), Some(json!({"first_name": "Zed", "last_name": "Other"}))).await.expect(201);
        let their_ty = t.send(Method::POST, "/api/v1/credential-types", Some(&other), Some(json!({"code": "X", "name": "Theirs", "validity_months": 12}))).await.expect(201);
        // Ours seen from there, and theirs used from here: 404, nothing written.
        t.send(Method::POST, "/api/v1/exemptions", Some(&other), Some(json!({"member_id": member, "credential_type_id": their_ty["id"], "reason": "x", "until": "2026-06-30"}))).await.problem(404);
        t.send(Method::POST, "/api/v1/exemptions", Some(&other), Some(json!({"member_id": theirs["id"], "credential_type_id": ty, "reason": "x", "until": "2026-06-30"}))).await.problem(404);
        t.post("/api/v1/exemptions", json!({"member_id": theirs["id"], "credential_type_id": ty, "reason": "x", "until": "2026-06-30"})).await.problem(404);
        t.post("/api/v1/exemptions", json!({"member_id": member, "credential_type_id": their_ty["id"], "reason": "x", "until": "2026-06-30"})).await.problem(404);
        t.send(Method::DELETE, &format!("/api/v1/exemptions/{}", s(&e["id"])), Some(&other), None).await.problem(404);
        t.send(Method::POST, "/api/v1/leaves", Some(&other), Some(json!({"member_id": member, "starts_on": "2026-05-01", "ends_on": "2026-05-10", "reason": "x"}))).await.problem(404);
        t.send(Method::DELETE, &format!("/api/v1/leaves/{}", s(&l["id"])), Some(&other), None).await.problem(404);
        for list in ["/api/v1/exemptions", "/api/v1/leaves"] {
            assert_eq!(t.send(Method::GET, list, Some(&other), None).await.expect(200)["items"], json!([]));
        }
        assert_eq!(t.get("/api/v1/exemptions").await.expect(200)["items"][0]["active"], true, "untouched");
        assert_eq!(t.get("/api/v1/leaves").await.expect(200)["items"][0]["withdrawn"], false);
        // An auditor reads, but cannot grant.
        let auditor = t.token(Role::Auditor, None).await;
        t.send(Method::GET, "/api/v1/exemptions", Some(&auditor), None).await.expect(200);
        t.send(Method::POST, "/api/v1/exemptions", Some(&auditor), Some(json!({}))).await.problem(403);
    }

    async fn the_credential_page_exempts_and_ends_with_the_csrf_token_and_the_member_page_lists_it(t) {
        use crate::web_pages::{follow, form, page, sign_in};
        let (ty, [skills, _]) = skills_type(t, "EMR").await;
        let (member, cred) = Track::of(&ty).build(t).await;
        t.app.create_user(t.agency_id, "chief@test.example", Role::Officer, "a long enough password", None).await.unwrap();
        let cookie = sign_in(t, "chief@test.example", "a long enough password").await.map_err(|r| r.text).unwrap();
        let detail = page(t, &format!("/credentials/{cred}"), &cookie).await;
        assert_eq!(detail.status, 200);
        assert!(detail.text.contains(&format!("action=\"/credentials/{cred}/exemptions\"")), "the form is offered");
        assert!(detail.text.contains(&format!("value=\"{skills}\"")));
        let csrf = detail.text.split("name=\"csrf\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_string();

        let forged = form(t, &format!("/credentials/{cred}/exemptions"), &cookie, &format!("requirement_id={skills}&until=2026-06-30&reason=Deployed")).await;
        assert_eq!(forged.status, 400);
        assert_eq!(t.get("/api/v1/exemptions").await.expect(200)["items"], json!([]), "nothing written");
        let refused = form(t, &format!("/credentials/{cred}/exemptions"), &cookie, &format!("csrf={csrf}&requirement_id={skills}&until=2026-02-01&reason=Deployed")).await;
        assert_eq!(refused.status, 303);
        assert!(follow(t, &refused, &cookie).await.text.contains("before today"));

        let done = form(t, &format!("/credentials/{cred}/exemptions"), &cookie, &format!("csrf={csrf}&requirement_id={skills}&until=2026-06-30&reason=Deployed+%3Cabroad%3E")).await;
        assert_eq!(done.status, 303);
        let shown = follow(t, &done, &cookie).await;
        assert!(shown.text.contains("Exempt from Skills check-off until 2026-06-30."), "{}", shown.text);
        assert!(shown.text.contains("until 2026-06-30 — Deployed &#60;abroad&#62;"), "escaped, with the date and reason: {}", shown.text.split("Deployed").nth(1).unwrap_or_default().chars().take(40).collect::<String>());
        assert!(shown.text.contains("granted by chief@test.example"));
        let e = t.get("/api/v1/exemptions").await.expect(200)["items"][0].clone();
        let eid = s(&e["id"]).to_string();

        let member_page = page(t, &format!("/members/{member}"), &cookie).await;
        assert!(member_page.text.contains("Exempt until 2026-06-30 — Deployed &#60;abroad&#62;"), "{}", member_page.text);
        assert!(member_page.text.contains(&format!("action=\"/members/{member}/leaves\"")));

        // A whole-credential exemption from the same form (blank requirement).
        let whole = form(t, &format!("/credentials/{cred}/exemptions"), &cookie, &format!("csrf={csrf}&requirement_id=&until=2026-04-30&reason=Medical")).await;
        assert_eq!(whole.status, 303);
        assert_eq!(t.get(&format!("/api/v1/credentials/{cred}")).await.expect(200)["status"], "ready_to_be_issued");

        // Ending one: the CSRF token again.
        let forged_end = form(t, &format!("/exemptions/{eid}/end"), &cookie, &format!("back=/credentials/{cred}")).await;
        assert_eq!(forged_end.status, 400);
        let end = form(t, &format!("/exemptions/{eid}/end"), &cookie, &format!("csrf={csrf}&back=/credentials/{cred}")).await;
        assert_eq!(end.status, 303);
        assert_eq!(end.headers["location"].to_str().unwrap().split('?').next().unwrap(), format!("/credentials/{cred}"));
        assert_eq!(t.get("/api/v1/exemptions?active=false").await.expect(200)["items"][0]["id"], eid.as_str());
        // An outside `back` is not followed.
        let elsewhere = form(t, &format!("/exemptions/{eid}/end"), &cookie, &format!("csrf={csrf}&back=https://evil.example/")).await;
        assert!(!elsewhere.headers["location"].to_str().unwrap().contains("evil"));

        // A leave from the member page.
        let leave = form(t, &format!("/members/{member}/leaves"), &cookie, &format!("csrf={csrf}&starts_on=2026-05-01&ends_on=2026-05-10&reason=Surgery")).await;
        assert_eq!(leave.status, 303);
        let with_leave = follow(t, &leave, &cookie).await;
        assert!(with_leave.text.contains("Leave recorded: 10 day(s); 1 due date(s) pushed back."), "{}", with_leave.text);
        assert!(with_leave.text.contains("2026-05-01 – 2026-05-10"));
        let lid = s(&t.get("/api/v1/leaves").await.expect(200)["items"][0]["id"]).to_string();
        let withdraw = form(t, &format!("/leaves/{lid}/withdraw"), &cookie, &format!("csrf={csrf}&back=/members/{member}")).await;
        assert_eq!(withdraw.status, 303);
        assert_eq!(t.get(&format!("/api/v1/credentials/{cred}")).await.expect(200)["open_period"]["end"], "2026-12-31");

        // An auditor sees the exemptions but no form.
        t.app.create_user(t.agency_id, "audit@test.example", Role::Auditor, "a long enough password", None).await.unwrap();
        let auditor = sign_in(t, "audit@test.example", "a long enough password").await.map_err(|r| r.text).unwrap();
        let seen = page(t, &format!("/credentials/{cred}"), &auditor).await;
        assert!(seen.text.contains("Deployed &#60;abroad&#62;"));
        assert!(!seen.text.contains(&format!("action=\"/credentials/{cred}/exemptions\"")));
        let no = form(t, &format!("/credentials/{cred}/exemptions"), &auditor, &format!("csrf={csrf}&until=2026-06-30&reason=x")).await;
        assert!(no.status == 403 || no.status == 400, "{}", no.status);
    }
}
