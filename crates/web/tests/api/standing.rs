//! Compliance an inspector can trust (#18): a credential that was held and is no longer valid
//! is `lapsed` whatever its renewal state says, and retiring a type withdraws the tracks
//! that were never issued. Today is 2026-03-01 in every test.

use credence_app::Role;
use serde_json::{json, Value};

use crate::both_databases;
use crate::fixtures::{CredentialTypeBuilder, Track};
use crate::harness::TestApp;
use crate::web_pages::{page, sign_in};

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_string()
}

async fn credential(t: &TestApp, id: &str) -> Value {
    t.get(&format!("/api/v1/credentials/{id}"))
        .await
        .expect(200)
}

/// Ids of the credentials a list query answers.
async fn listed(t: &TestApp, query: &str) -> Vec<String> {
    let page = t
        .get(&format!("/api/v1/credentials?{query}"))
        .await
        .expect(200);
    page["items"].as_array().unwrap().iter().map(id).collect()
}

/// A member holding `ty`, issued and expiring on the dates given.
async fn held(t: &TestApp, ty: &str, name: &str, issue: &str, expiration: &str) -> String {
    let member = t
        .post(
            "/api/v1/members",
            json!({"first_name": name, "last_name": "Held"}),
        )
        .await
        .expect(201);
    t.post(
        "/api/v1/assignments",
        json!({"credential_type_id": ty, "mode": "active_with_period",
        "issue_date": issue, "expiration_date": expiration, "member_ids": [id(&member)]}),
    )
    .await
    .expect(200)["created"][0]
        .as_str()
        .unwrap()
        .to_string()
}

both_databases! {
    async fn an_expired_credential_stays_lapsed_after_a_renewal_period_opens(t) {
        let ty = t.post("/api/v1/credential-types", json!({"code": "EMT", "name": "EMT", "validity_months": 24,
            "renewal": "manual", "requirements": [{"kind": "hours", "hours": 24, "category": "CE"}]})).await.expect(201);
        let ty = id(&ty);
        t.post(&format!("/api/v1/credential-types/{ty}/publish"), json!({})).await.expect(200);
        let expired = held(t, &ty, "Ava", "2024-01-01", "2026-01-31").await;
        let valid = held(t, &ty, "Liam", "2025-06-01", "2027-06-01").await;
        let (_, never) = Track::of(&ty).for_member("Noah").build(t).await;

        let before = credential(t, &expired).await;
        assert_eq!((before["status"].as_str(), before["lapsed"].as_bool()), (Some("overdue"), Some(true)));
        assert_eq!(credential(t, &valid).await["lapsed"], false);
        assert_eq!(credential(t, &never).await["lapsed"], false, "never held: working toward it, not lapsed");

        // The planner opens a period: the status reads as if work had just begun, but the
        // member still holds nothing valid.
        t.post("/api/v1/renewal-plans", json!({"credential_type_id": ty, "items": [
            {"credential_id": expired, "period_start": "2026-02-15", "period_end": "2026-06-30"}]})).await.expect(201);
        let after = credential(t, &expired).await;
        assert_eq!((after["status"].as_str(), after["lapsed"].as_bool()), (Some("not_started"), Some(true)));
        // A type without requirements whose issuance expired is ready to issue again — and lapsed.
        let card = CredentialTypeBuilder::new("CARD").publish(t).await;
        let card_expired = held(t, &card, "Mia", "2024-01-01", "2026-01-31").await;
        let c = credential(t, &card_expired).await;
        assert_eq!((c["status"].as_str(), c["lapsed"].as_bool()), (Some("ready_to_be_issued"), Some(true)));

        assert_eq!(listed(t, &format!("lapsed=true&credential_type_id={ty}")).await, [expired.as_str()]);
        let mut not_lapsed = listed(t, &format!("lapsed=false&credential_type_id={ty}")).await;
        not_lapsed.sort();
        let mut expected = vec![valid.clone(), never.clone()];
        expected.sort();
        assert_eq!(not_lapsed, expected);
        assert_eq!(t.get("/api/v1/credentials?lapsed=maybe").await.status, 422, "a flag is true or false");

        // The compliance report counts the lapsed member apart from those in training.
        let report = t.get(&format!("/api/v1/reports/compliance?credential_type_id={ty}")).await.expect(200);
        let row = &report["rows"][0];
        assert_eq!((row["total"].as_i64(), row["compliant"].as_i64(), row["lapsed"].as_i64()), (Some(3), Some(1), Some(1)));
        let gaps = report["non_compliant"].as_array().unwrap();
        let ava = gaps.iter().find(|g| g["credential_id"] == expired.as_str()).unwrap();
        assert_eq!(ava["lapsed"], true);
        let noah = gaps.iter().find(|g| g["credential_id"] == never.as_str()).unwrap();
        assert_eq!(noah["lapsed"], false);
        let csv = t.get("/api/v1/reports/compliance?format=csv&view=members").await;
        assert!(csv.text.lines().next().unwrap().contains(",lapsed,"));

        // Issued again: compliant, no longer lapsed.
        t.post(&format!("/api/v1/credentials/{expired}/issue"), json!({"issue_date": "2026-02-20",
            "override_reason": "Recertified through the state"})).await.expect(200);
        assert_eq!(credential(t, &expired).await["lapsed"], false);
        assert!(listed(t, &format!("lapsed=true&credential_type_id={ty}")).await.is_empty());
    }

    async fn the_dashboard_counts_lapsed_apart_from_working_toward_it(t) {
        let ty = CredentialTypeBuilder::new("CPR").publish(t).await;
        let expired = held(t, &ty, "Ava", "2024-01-01", "2026-01-31").await;
        held(t, &ty, "Liam", "2025-06-01", "2027-06-01").await;
        Track::of(&ty).for_member("Noah").build(t).await;
        t.post("/api/v1/renewal-plans", json!({"credential_type_id": ty, "items": [
            {"credential_id": expired, "period_start": "2026-02-15", "period_end": "2026-06-30"}]})).await.expect(201);

        t.app.create_user(t.agency_id, "chief@test.example", Role::Admin, "a long enough password", None).await.unwrap();
        let cookie = sign_in(t, "chief@test.example", "a long enough password").await.map_err(|r| r.text).unwrap();
        let dashboard = page(t, "/", &cookie).await;
        assert_eq!(dashboard.status, 200);
        assert!(dashboard.text.contains(r#"<b>1</b><span><a href="/credentials?lapsed=true">lapsed</a>"#), "one lapsed member");
        assert!(dashboard.text.contains("<b>33.3%</b><span>compliant today</span>"));
        assert!(dashboard.text.contains("<title>Lapsed: 1</title>"));
        assert!(dashboard.text.contains("<title>Working toward it: 1</title>"));

        let list = page(t, "/credentials?lapsed=true", &cookie).await;
        assert!(list.text.contains(r#"<span class="badge lapsed""#));
        assert!(list.text.contains("Ava Held") || list.text.contains("Held, Ava"));
        assert!(!list.text.contains("Liam"));
    }

    async fn retiring_a_type_withdraws_the_tracks_never_issued(t) {
        let ty = CredentialTypeBuilder::new("HAZ").publish(t).await;
        let member = t.post("/api/v1/members", json!({"first_name": "Ava", "last_name": "Smith", "email": "ava@test.example"})).await.expect(201);
        let training = t.post("/api/v1/assignments", json!({"credential_type_id": ty, "mode": "completion_period",
            "period_end": "2026-03-08", "member_ids": [id(&member)]})).await.expect(200)["created"][0].as_str().unwrap().to_string();
        let (_, holding) = Track::of(&ty).for_member("Liam").active("2026-01-05").build(t).await;
        assert!(credential(t, &holding).await["open_period"].is_object(), "a renewal period is open before the type retires");

        t.post(&format!("/api/v1/credential-types/{ty}/retire"), json!({})).await.expect(200);

        // The unissued track is withdrawn: kept, hidden unless asked for.
        let withdrawn = credential(t, &training).await;
        assert_eq!(withdrawn["withdrawn"], true);
        assert_eq!(listed(t, "").await, [holding.as_str()]);
        let mut all = listed(t, "include_withdrawn=true").await;
        all.sort();
        let mut expected = vec![training.clone(), holding.clone()];
        expected.sort();
        assert_eq!(all, expected);
        // The issued one keeps its issuance until it expires; its renewal period closed.
        let kept = credential(t, &holding).await;
        assert_eq!((kept["status"].as_str(), kept["withdrawn"].as_bool()), (Some("active"), Some(false)));
        assert!(kept["open_period"].is_null());
        assert_eq!(kept["periods"].as_array().unwrap().len(), 1, "history stays");

        // Not counted, not reminded, not on the member's own page.
        let report = t.get("/api/v1/reports/compliance").await.expect(200);
        assert_eq!(report["rows"][0]["total"], 1);
        assert_eq!(t.app.queue_reminders(t.agency_id).await.unwrap(), 0, "the withdrawn track's due date sends nothing");
        let member_token = t.token(Role::Member, Some(&id(&member))).await;
        let own = t.send(axum::http::Method::GET, "/api/v1/credentials", Some(&member_token), None).await.expect(200);
        assert!(own["items"].as_array().unwrap().is_empty());

        // Nothing of a retired type is renewed.
        let renew = t.post("/api/v1/renewals", json!({"credential_type_id": ty, "credential_ids": [holding],
            "period_start": "2026-03-01", "period_end": "2026-12-31"})).await.invalid_fields();
        assert_eq!(renew, ["credential_type_id"]);
        let plan = t.post("/api/v1/renewal-plans", json!({"credential_type_id": ty, "items": [
            {"credential_id": holding, "period_start": "2026-03-01", "period_end": "2026-12-31"}]})).await.invalid_fields();
        assert_eq!(plan, ["credential_type_id"]);

        // The withdrawal is in the audit trail.
        let events = t.get(&format!("/api/v1/audit-events?subject_id={training}")).await.expect(200);
        assert!(events["items"].as_array().unwrap().iter().any(|e| e["action"] == "withdraw"));
    }

    async fn an_administrator_may_issue_over_incomplete_requirements(t) {
        // Seed 002: a manual type with a training requirement, logged without tracking it.
        let ty = t.post("/api/v1/credential-types", json!({"code": "FI1", "name": "Fire Instructor I",
            "validity_months": 36, "renewal": "manual",
            "requirements": [{"kind": "hours", "hours": 16, "category": "Instructor"}]})).await.expect(201);
        let ty = id(&ty);
        t.post(&format!("/api/v1/credential-types/{ty}/publish"), json!({})).await.expect(200);
        let (_, cred) = Track::of(&ty).build(t).await;
        let issue = |reason: Option<&str>| json!({"issue_date": "2026-02-01", "override_reason": reason});

        let refused = t.post(&format!("/api/v1/credentials/{cred}/issue"), issue(None)).await.invalid_fields();
        assert_eq!(refused, ["issue_date"], "incomplete requirements need an override");
        let officer = t.token(Role::Officer, None).await;
        t.send(axum::http::Method::POST, &format!("/api/v1/credentials/{cred}/issue"), Some(&officer),
            Some(issue(Some("Logged from the state registry")))).await.problem(403);
        let long = "x".repeat(501);
        let fields = t.post(&format!("/api/v1/credentials/{cred}/issue"), issue(Some(&long))).await.invalid_fields();
        assert_eq!(fields, ["override_reason"]);
        assert!(credential(t, &cred).await["issuances"].as_array().unwrap().is_empty(), "nothing written");

        let issued = t.post(&format!("/api/v1/credentials/{cred}/issue"), issue(Some("Logged from the state registry"))).await.expect(200);
        assert_eq!(issued["status"], "active");
        assert_eq!(issued["issuances"][0]["override_reason"], "Logged from the state registry");
        let events = t.get(&format!("/api/v1/audit-events?subject_id={cred}")).await.expect(200);
        let issue_event = events["items"].as_array().unwrap().iter().find(|e| e["action"] == "issue").unwrap();
        assert_eq!(issue_event["after"]["override_reason"], "Logged from the state registry");

        // Complete requirements need no override: a reason given anyway is not recorded.
        let ty2 = CredentialTypeBuilder::new("CPR").publish(t).await;
        let (_, plain) = Track::of(&ty2).for_member("Liam").build(t).await;
        let issued = t.post(&format!("/api/v1/credentials/{plain}/issue"), issue(Some("not needed"))).await.expect(200);
        assert!(issued["issuances"][0]["override_reason"].is_null());
    }

    async fn a_bulk_action_can_be_tried_first_and_undone_after(t) {
        let ty = CredentialTypeBuilder::new("EMT").publish(t).await;
        let mut members = Vec::new();
        for name in ["Ava", "Liam", "Noah"] {
            members.push(id(&t.post("/api/v1/members", json!({"first_name": name, "last_name": "Crew"})).await.expect(201)));
        }
        let assign = |dry: bool| json!({"credential_type_id": ty, "mode": "completion_period", "period_end": "2026-12-31",
            "member_ids": members, "dry_run": dry});

        // A dry run answers the same and writes nothing.
        let dry = t.post("/api/v1/assignments", assign(true)).await.expect(200);
        assert_eq!((dry["created"].as_array().unwrap().len(), dry["dry_run"].as_bool()), (3, Some(true)));
        assert!(dry["operation_id"].is_null());
        assert!(listed(t, "").await.is_empty(), "a dry run writes nothing");
        let assigned = t.post("/api/v1/assignments", assign(false)).await.expect(200);
        let assign_op = assigned["operation_id"].as_str().unwrap().to_string();
        assert_eq!(listed(t, "").await.len(), 3);

        // Bulk revoke, tried then done then undone: the issuance is valid again.
        let a = held(t, &ty, "Emma", "2025-06-01", "2027-06-01").await;
        let b = held(t, &ty, "Mia", "2025-06-01", "2027-06-01").await;
        let revoke = |dry: bool| json!({"credential_ids": [a, b], "reason": "Wrong people", "dry_run": dry});
        let tried = t.post("/api/v1/credentials/bulk-revoke", revoke(true)).await.expect(200);
        assert_eq!(tried["revoked"][0]["status"], "revoked", "the preview shows the outcome");
        assert_eq!(credential(t, &a).await["status"], "active_ready_to_renew", "but nothing changed");
        let revoked = t.post("/api/v1/credentials/bulk-revoke", revoke(false)).await.expect(200);
        let revoke_op = revoked["operation_id"].as_str().unwrap().to_string();
        assert_eq!(credential(t, &a).await["status"], "revoked");
        let undone = t.post(&format!("/api/v1/operations/{revoke_op}/undo"), json!({})).await.expect(200);
        assert_eq!(undone["restored"].as_array().unwrap().len(), 2);
        let back = credential(t, &a).await;
        assert_eq!(back["status"], "active_ready_to_renew");
        assert_eq!((back["issuances"][0]["revoked"].as_bool(), back["issuances"][0]["revoke_reason"].is_null()), (Some(false), true));
        let again = t.post(&format!("/api/v1/operations/{revoke_op}/undo"), json!({})).await.problem(409);
        assert!(again["detail"].as_str().unwrap().contains("already undone"));
        let events = t.get(&format!("/api/v1/audit-events?subject_id={a}")).await.expect(200);
        assert!(events["items"].as_array().unwrap().iter().any(|e| e["action"] == "undo"));

        // A renewal plan undone: the new period goes, the credential is as it was.
        let expired = held(t, &ty, "Zoe", "2024-01-01", "2026-01-31").await;
        let before = credential(t, &expired).await;
        let plan = t.post("/api/v1/renewal-plans", json!({"credential_type_id": ty, "items": [
            {"credential_id": expired, "period_start": "2026-02-15", "period_end": "2026-06-30"}]})).await.expect(201);
        let plan_op = plan["operation_id"].as_str().unwrap().to_string();
        t.post(&format!("/api/v1/operations/{plan_op}/undo"), json!({})).await.expect(200);
        let after = credential(t, &expired).await;
        assert_eq!((&after["status"], &after["periods"], &after["open_period"]), (&before["status"], &before["periods"], &before["open_period"]));

        // A later change to the same credentials refuses the undo: nothing is lost.
        let renewed = t.post("/api/v1/renewals", json!({"credential_type_id": ty, "credential_ids": [b],
            "period_start": "2026-03-01", "period_end": "2026-12-31"})).await.expect(200);
        let renew_op = renewed["operation_id"].as_str().unwrap().to_string();
        t.post(&format!("/api/v1/credentials/{b}/issue"), json!({"issue_date": "2026-02-27"})).await.expect(200);
        let refused = t.post(&format!("/api/v1/operations/{renew_op}/undo"), json!({})).await.problem(409);
        assert!(refused["detail"].as_str().unwrap().contains("later change"));
        assert_eq!(credential(t, &b).await["issuances"].as_array().unwrap().len(), 2, "the later issue stays");

        // Undoing the assignment removes the tracks it created; the list says what happened.
        let undone = t.post(&format!("/api/v1/operations/{assign_op}/undo"), json!({})).await.expect(200);
        assert_eq!(undone["removed"].as_array().unwrap().len(), 3);
        assert_eq!(listed(t, "").await.len(), 3, "the three held credentials remain");
        let op = t.get(&format!("/api/v1/operations/{assign_op}")).await.expect(200);
        assert_eq!((op["kind"].as_str(), op["undone_at"].is_string()), (Some("assign"), true));
        let ops = t.get("/api/v1/operations").await.expect(200);
        assert_eq!(ops["items"].as_array().unwrap().len(), 7, "four assignments, a revoke, a plan, a renewal");

        // Another agency cannot see or undo it; a member may not undo.
        let other = t.other_agency_admin().await;
        t.send(axum::http::Method::POST, &format!("/api/v1/operations/{renew_op}/undo"), Some(&other), Some(json!({}))).await.problem(404);
        t.send(axum::http::Method::GET, &format!("/api/v1/operations/{renew_op}"), Some(&other), None).await.problem(404);
        let member = t.token(Role::Member, Some(&members[0])).await;
        t.send(axum::http::Method::POST, &format!("/api/v1/operations/{renew_op}/undo"), Some(&member), Some(json!({}))).await.problem(403);
        t.post("/api/v1/operations/crd_1/undo", json!({})).await.problem(404);
    }

    async fn the_pages_preview_a_bulk_action_and_undo_it(t) {
        let ty = CredentialTypeBuilder::new("EMT").publish(t).await;
        let a = held(t, &ty, "Ava", "2025-06-01", "2027-06-01").await;
        let b = held(t, &ty, "Liam", "2025-06-01", "2027-06-01").await;
        t.app.create_user(t.agency_id, "chief@test.example", Role::Admin, "a long enough password", None).await.unwrap();
        let cookie = sign_in(t, "chief@test.example", "a long enough password").await.map_err(|r| r.text).unwrap();
        let shown = page(t, &format!("/credentials/action?action=revoke&credential_ids={a}&credential_ids={b}"), &cookie).await;
        let csrf = shown.text.split(r#"name="csrf" value=""#).nth(1).unwrap().split('"').next().unwrap().to_string();
        let body = format!("csrf={csrf}&action=revoke&credential_ids={a}&credential_ids={b}&reason=Entered+twice&mode=preview");

        let preview = crate::web_pages::form(t, "/credentials/action", &cookie, &body).await;
        assert_eq!(preview.status, 200);
        assert!(preview.text.contains("Preview: 2 credential(s) would be revoked. Nothing was changed."));
        assert!(preview.text.contains("→ Revoked"), "each member's outcome is named");
        assert!(preview.text.contains("Held, Ava") || preview.text.contains("Ava Held"));
        assert!(preview.text.contains(r#"value="Entered twice""#), "the reason is kept");
        assert_eq!(credential(t, &a).await["status"], "active_ready_to_renew");

        let done = crate::web_pages::form(t, "/credentials/action", &cookie, &body.replace("mode=preview", "mode=apply")).await;
        assert_eq!(done.status, 303);
        let op_page = done.headers["location"].to_str().unwrap().to_string();
        assert!(op_page.starts_with("/operations/op_"));
        let shown = page(t, &op_page, &cookie).await;
        assert!(shown.text.contains("Revoked 2 credential(s): Entered twice"));
        assert!(shown.text.contains(">Undo</button>"));
        let undone = crate::web_pages::form(t, &format!("{op_page}/undo"), &cookie, &format!("csrf={csrf}")).await;
        assert_eq!(undone.status, 303);
        let after = page(t, &op_page, &cookie).await;
        assert!(after.text.contains(r#"<span class="badge withdrawn">Undone</span>"#));
        assert!(!after.text.contains(">Undo</button>"));
        assert_eq!(credential(t, &a).await["status"], "active_ready_to_renew");
        let list = page(t, "/operations", &cookie).await;
        assert!(list.text.contains("Revoked 2 credential(s)"));
        // A forged undo (no CSRF token) changes nothing.
        let forged = crate::web_pages::form(t, &format!("{op_page}/undo"), &cookie, "").await;
        assert_ne!(forged.status, 303);
    }
}
