//! The member picker (#16): `GET /members/pick` searches and filters by group within the
//! agency, answers the roles that read members, and the forms using it (Assign, adding to a
//! group) take "all matching" as the filter itself, resolved on the server, name the members
//! they skipped, and keep what was typed when they refuse it.

use credence_app::Role;
use serde_json::{json, Value};

use crate::both_databases;
use crate::fixtures::CredentialTypeBuilder;
use crate::harness::TestApp;
use crate::people_pages::{body, session};
use crate::web_pages::{form, page};

/// A page or form, its fields when posted, and the status each role gets.
type RoleRow<'a> = (String, Option<Vec<(&'a str, String)>>, [u16; 4]);

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_string()
}

async fn member(t: &TestApp, first: &str, last: &str, number: &str, groups: &[&str]) -> String {
    id(&t
        .post(
            "/api/v1/members",
            json!({"first_name": first, "last_name": last,
        "employee_number": number, "group_ids": groups}),
        )
        .await
        .expect(201))
}

async fn group(t: &TestApp, name: &str) -> String {
    id(&t
        .post("/api/v1/groups", json!({"name": name, "kind": "shift"}))
        .await
        .expect(201))
}

/// The member ids of the checkbox rows a page or fragment shows.
fn ticks(html: &str) -> Vec<String> {
    html.split("name=\"member_ids\" value=\"")
        .skip(1)
        .map(|rest| rest.split('"').next().unwrap().to_string())
        .collect()
}

both_databases! {
    async fn the_picker_searches_filters_by_group_and_stays_in_the_agency(t) {
        let (cookie, _) = session(t, "chief@test.example", Role::Admin, None).await;
        let b = group(t, "B Shift").await;
        let ava = member(t, "Ava", "Smith", "E-1", &[&b]).await;
        let liam = member(t, "Liam", "Smithers", "E-2", &[]).await;
        let noah = member(t, "Noah", "Lee", "E-3", &[&b]).await;
        let gone = member(t, "Old", "Smithson", "E-4", &[&b]).await;
        t.delete(&format!("/api/v1/members/{gone}")).await.expect(200);
        let other = t.other_agency_admin().await;
        t.send(axum::http::Method::POST, "/api/v1/members", Some(&other), Some(json!({"first_name": "Ada", "last_name": "Smith"}))).await.expect(201);

        let all = page(t, "/members/pick", &cookie).await;
        assert_eq!(all.status, 200);
        assert_eq!(ticks(&all.text), [noah.clone(), ava.clone(), liam.clone()], "active members of this agency, by name");
        assert!(all.text.contains("data-total=\"3\"") && all.text.contains("· E-1") && all.text.contains(">B Shift<"));
        let smith = page(t, "/members/pick?q=smith", &cookie).await;
        assert_eq!(ticks(&smith.text), [ava.clone(), liam.clone()], "another agency's Ada Smith and the inactive are not offered");
        let by_number = page(t, "/members/pick?q=e-3", &cookie).await;
        assert_eq!(ticks(&by_number.text), std::slice::from_ref(&noah));
        let in_b = page(t, &format!("/members/pick?q=smith&group_id={b}"), &cookie).await;
        assert_eq!(ticks(&in_b.text), std::slice::from_ref(&ava));
        // Pages by cursor.
        for i in 0..50 {
            member(t, "Zed", &format!("Zulu{i:02}"), &format!("Z-{i}"), &[]).await;
        }
        let first = page(t, "/members/pick", &cookie).await;
        assert_eq!(ticks(&first.text).len(), 50);
        let next = first.text.split("data-next=\"").nth(1).unwrap().split('"').next().unwrap().to_string();
        let second = page(t, &format!("/members/pick?cursor={next}"), &cookie).await;
        assert_eq!(ticks(&second.text).len(), 3);
        assert!(first.text.contains("data-total-text=\"53\""));
        // Names are escaped.
        member(t, "<img src=x onerror=alert(1)>", "Evil", "X-1", &[]).await;
        let evil = page(t, "/members/pick?q=evil", &cookie).await;
        assert!(!evil.text.contains("<img") && evil.text.contains("&#60;img src=x"), "{}", evil.text);
    }

    async fn the_picker_answers_the_roles_that_read_members(t) {
        let ava = member(t, "Ava", "Smith", "E-1", &[]).await;
        let b = group(t, "B Shift").await;
        let ty = CredentialTypeBuilder::new("CPR").publish(t).await;
        let sessions = [
            session(t, "admin@test.example", Role::Admin, None).await,
            session(t, "officer@test.example", Role::Officer, None).await,
            session(t, "auditor@test.example", Role::Auditor, None).await,
            session(t, "member@test.example", Role::Member, Some(&ava)).await,
        ];
        // (path, form or None for a GET, who may: [admin, officer, auditor, member])
        let rows: Vec<RoleRow> = vec![
            (format!("/members/pick?q=smith&group_id={b}"), None, [200, 200, 200, 403]),
            ("/credentials/assign".into(), None, [200, 200, 403, 403]),
            (format!("/credentials/renew?credential_type_id={ty}"), None, [200, 200, 403, 403]),
            ("/credentials/renew".into(), Some(vec![("credential_type_id", ty.clone()), ("pick_group_id", b.clone()), ("pick_search", "1".into())]), [200, 200, 403, 403]),
            ("/credentials/assign".into(), Some(vec![("credential_type_id", ty.clone()), ("pick_q", "smith".into()), ("pick_search", "1".into())]), [200, 200, 403, 403]),
            (format!("/groups/{b}/members/add"), Some(vec![("pick_q", "smith".into()), ("pick_search", "1".into())]), [200, 403, 403, 403]),
        ];
        for (path, fields, allowed) in rows {
            for (i, (cookie, csrf)) in sessions.iter().enumerate() {
                let r = match &fields {
                    None => page(t, &path, cookie).await,
                    Some(f) => {
                        let pairs: Vec<(&str, &str)> = f.iter().map(|(k, v)| (*k, v.as_str())).collect();
                        form(t, &path, cookie, &body(csrf, &pairs)).await
                    }
                };
                assert_eq!(r.status.as_u16(), allowed[i], "role {i} on {path}: {}", r.text);
            }
        }
    }

    async fn assign_all_matching_resolves_the_filter_and_names_the_skipped(t) {
        let (cookie, csrf) = session(t, "officer@test.example", Role::Officer, None).await;
        let b = group(t, "B Shift").await;
        let ty = CredentialTypeBuilder::new("CPR").publish(t).await;
        let mut in_b = Vec::new();
        for i in 0..12 {
            in_b.push(member(t, "Crew", &format!("Baker{i:02}"), &format!("B-{i}"), &[&b]).await);
        }
        let ava = member(t, "Ava", "Smith", "E-1", &[&b]).await;
        let outsider = member(t, "Liam", "Brown", "E-2", &[]).await;
        // Ava holds it already.
        t.post("/api/v1/assignments", json!({"credential_type_id": ty, "mode": "completion_period",
            "period_end": "2026-12-31", "member_ids": [ava]})).await.expect(200);

        let form_page = page(t, &format!("/credentials/assign?group_id={b}"), &cookie).await;
        assert!(form_page.text.contains("Add all <strong data-pick-total>13</strong> matching"), "{}", form_page.text);
        // "All matching" sends the filter, not the ids: nothing caps it.
        let sent = body(&csrf, &[("credential_type_id", &ty), ("mode", "completion_period"), ("period_start", "2026-03-01"),
            ("period_end", "2026-12-31"), ("pick_q", ""), ("pick_group_id", &b), ("pick_all", "1")]);
        assert!(!sent.contains("member_ids"));
        let done = form(t, "/credentials/assign", &cookie, &sent).await;
        assert_eq!(done.status, 200, "{}", done.text);
        assert!(done.text.contains("Assigned CPR card to 12 member(s)."), "{}", done.text);
        assert!(done.text.contains("Smith, Ava — already holds CPR card"));
        assert!(!done.text.contains(&ava), "named, not numbered");
        let held = t.get(&format!("/api/v1/credentials?credential_type_id={ty}&limit=500")).await.expect(200);
        let holders: Vec<&str> = held["items"].as_array().unwrap().iter().map(|c| c["member_id"].as_str().unwrap()).collect();
        assert_eq!(holders.len(), 13);
        assert!(in_b.iter().all(|m| holders.contains(&m.as_str())) && !holders.contains(&outsider.as_str()));

        // Ticked members and all matching together, each once.
        let ty2 = CredentialTypeBuilder::new("HAZ").publish(t).await;
        let both = body(&csrf, &[("credential_type_id", &ty2), ("mode", "completion_period"), ("period_end", "2026-12-31"),
            ("member_ids", &outsider), ("member_ids", &ava), ("pick_q", "smith"), ("pick_all", "1")]);
        let done = form(t, "/credentials/assign", &cookie, &both).await;
        assert!(done.text.contains("Assigned HAZ card to 2 member(s)."), "{}", done.text);
    }

    async fn a_refused_assign_keeps_what_was_typed_and_says_it_in_words(t) {
        let (cookie, csrf) = session(t, "officer@test.example", Role::Officer, None).await;
        let ty = CredentialTypeBuilder::new("CPR").publish(t).await;
        let ava = member(t, "Ava", "Smith", "E-1", &[]).await;
        let liam = member(t, "Liam", "Brown", "E-2", &[]).await;
        let bad = body(&csrf, &[("credential_type_id", &ty), ("mode", "completion_period"), ("period_start", "2026-06-01"),
            ("period_end", "2026-05-01"), ("member_ids", &ava), ("member_ids", &liam), ("pick_q", "smith")]);
        let refused = form(t, "/credentials/assign", &cookie, &bad).await;
        assert_eq!(refused.status, 422);
        assert!(refused.text.contains("End date: must not be before start date"), "{}", refused.text);
        assert!(!refused.text.contains("must not be before period_start"));
        assert!(refused.text.contains("value=\"2026-06-01\"") && refused.text.contains("value=\"2026-05-01\""));
        assert!(refused.text.contains(&format!("<option value=\"{ty}\" selected>")));
        // Both stay chosen: Ava among the rows of the search, Liam kept beside them.
        assert!(refused.text.contains(&format!("value=\"{ava}\" data-name=\"Smith, Ava\" checked")), "{}", refused.text);
        assert!(refused.text.contains(&format!("value=\"{liam}\" data-name=\"Brown, Liam\" checked")));
        assert!(refused.text.contains("2 chosen"));
        assert_eq!(t.get("/api/v1/credentials").await.expect(200)["items"], json!([]), "nothing written");

        let nobody = form(t, "/credentials/assign", &cookie, &body(&csrf, &[("credential_type_id", &ty), ("period_end", "2026-12-31")])).await;
        assert_eq!(nobody.status, 422);
        assert!(nobody.text.contains("Members: tick at least one member, or add all matching"));
        let not_a_date = form(t, "/credentials/assign", &cookie, &body(&csrf, &[("credential_type_id", &ty), ("period_end", "31/12/2026"), ("member_ids", &ava)])).await;
        assert!(not_a_date.text.contains("End date: is not a date (YYYY-MM-DD)") && not_a_date.text.contains("value=\"31/12/2026\""));
        // Searching without script shows the form again with the ticks and dates kept.
        let searched = form(t, "/credentials/assign", &cookie, &body(&csrf, &[("credential_type_id", &ty), ("period_end", "2026-12-31"),
            ("member_ids", &ava), ("pick_q", "brown"), ("pick_search", "1")])).await;
        assert_eq!(searched.status, 200);
        assert!(searched.text.contains("value=\"2026-12-31\"") && searched.text.contains("1 chosen"));
        assert_eq!(ticks(&searched.text), [ava.clone(), liam.clone()], "Ava kept, Liam found");
    }

    async fn bulk_errors_name_the_member_not_the_row(t) {
        let (cookie, csrf) = session(t, "officer@test.example", Role::Officer, None).await;
        let ty = CredentialTypeBuilder::new("CPR").publish(t).await;
        let ava = member(t, "Ava", "Smith", "E-1", &[]).await;
        let made = t.post("/api/v1/assignments", json!({"credential_type_id": ty, "mode": "completion_period",
            "period_end": "2026-12-31", "member_ids": [ava]})).await.expect(200);
        let cred = made["created"][0].as_str().unwrap().to_string();
        // Revoking a credential never issued is refused for that credential.
        let r = form(t, "/credentials/action", &cookie, &body(&csrf, &[("action", "revoke"), ("credential_ids", &cred), ("reason", "test")])).await;
        assert_eq!(r.status, 422, "{}", r.text);
        assert!(r.text.contains("Smith, Ava (CPR card):"), "{}", r.text);
        assert!(!r.text.contains("credential_ids["));
        assert!(r.text.contains("value=\"test\""), "the reason typed is kept");
    }

    async fn renew_members_takes_all_matching_and_names_who_does_not_hold_it(t) {
        let (cookie, csrf) = session(t, "officer@test.example", Role::Officer, None).await;
        let b = group(t, "B Shift").await;
        let ty = CredentialTypeBuilder::new("FI").publish(t).await;
        let ava = member(t, "Ava", "Smith", "E-1", &[&b]).await;
        let liam = member(t, "Liam", "Brown", "E-2", &[&b]).await;
        let noah = member(t, "Noah", "Lee", "E-3", &[&b]).await;
        t.post("/api/v1/assignments", json!({"credential_type_id": ty, "mode": "active_with_period",
            "issue_date": "2024-03-01", "member_ids": [ava, liam]})).await.expect(200);
        let offered = page(t, "/credentials/renew", &cookie).await;
        assert!(offered.text.contains("FI card (FI)"));
        let bad = form(t, "/credentials/renew", &cookie, &body(&csrf, &[("credential_type_id", &ty), ("period_start", "2026-09-01"),
            ("period_end", "2026-06-30"), ("pick_group_id", &b), ("pick_all", "1")])).await;
        assert_eq!(bad.status, 422);
        assert!(bad.text.contains("End date: must not be before start date") && bad.text.contains("value=\"2026-09-01\""), "{}", bad.text);
        assert!(bad.text.contains("All 3 matching"));
        let done = form(t, "/credentials/renew", &cookie, &body(&csrf, &[("credential_type_id", &ty), ("period_start", "2026-03-01"),
            ("period_end", "2026-06-30"), ("pick_group_id", &b), ("pick_all", "1")])).await;
        assert_eq!(done.status, 200, "{}", done.text);
        assert!(done.text.contains("2 members have a new period from 2026-03-01 to 2026-06-30"), "{}", done.text);
        assert!(done.text.contains("Lee, Noah — does not hold FI card"));
        assert!(!done.text.contains(&noah));
    }

    async fn adding_all_matching_to_a_group(t) {
        let (cookie, csrf) = session(t, "chief@test.example", Role::Admin, None).await;
        let b = group(t, "B Shift").await;
        for i in 0..7 {
            member(t, "Crew", &format!("Imported{i}"), &format!("I-{i}"), &[]).await;
        }
        member(t, "Liam", "Brown", "E-2", &[]).await;
        let shown = page(t, &format!("/groups/{b}?find=imported"), &cookie).await;
        assert!(shown.text.contains("Add all <strong data-pick-total>7</strong> matching"));
        let added = form(t, &format!("/groups/{b}/members/add"), &cookie, &body(&csrf, &[("pick_q", "imported"), ("pick_all", "1")])).await;
        assert_eq!(added.status, 303);
        assert_eq!(t.get(&format!("/api/v1/groups/{b}")).await.expect(200)["member_count"], 7);
    }
}
