//! "Who was qualified on D" (`/reports/qualified`) and the compliance report for another
//! day, answered from history: issuances and revocations as they were on D, and group
//! membership with dates (`/groups/{id}/members/add` and `…/remove`).

use axum::http::Method;
use credence_app::Role;
use serde_json::{json, Value};

use crate::both_databases;
use crate::fixtures::{CredentialTypeBuilder, Track};
use crate::harness::TestApp;

fn s(v: &Value) -> &str {
    v.as_str().unwrap()
}

/// `(member name, holds)` of a report, in its order.
fn holders(report: &Value) -> Vec<(String, bool)> {
    report["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (s(&i["name"]).to_string(), i["holds"].as_bool().unwrap()))
        .collect()
}

fn pairs(list: &[(&str, bool)]) -> Vec<(String, bool)> {
    list.iter().map(|(n, h)| (n.to_string(), *h)).collect()
}

async fn qualified(t: &TestApp, query: &str) -> Value {
    t.get(&format!("/api/v1/reports/qualified?{query}"))
        .await
        .expect(200)
}

async fn group(t: &TestApp, name: &str) -> String {
    let g = t
        .post("/api/v1/groups", json!({"name": name, "kind": "shift"}))
        .await
        .expect(201);
    s(&g["id"]).to_string()
}

both_databases! {
    async fn a_revocation_made_today_does_not_change_last_januarys_answer(t) {
        let ty = CredentialTypeBuilder::new("CPR").publish(t).await;
        let (ava, ava_cred) = Track::of(&ty).active("2025-06-01").for_member("Ava").build(t).await;
        let (_, liam_cred) = Track::of(&ty).active("2025-06-01").for_member("Liam").build(t).await;
        t.post(&format!("/api/v1/credentials/{liam_cred}/revoke"), json!({"reason": "card withdrawn"})).await.expect(200);

        let january = qualified(t, &format!("credential_type_id={ty}&on=2026-01-15")).await;
        assert_eq!(january["on"], "2026-01-15");
        assert_eq!(holders(&january), pairs(&[("Fixture, Ava", true), ("Fixture, Liam", true)]));
        // The item names the issuance that made them qualified, whole.
        let detail = t.get(&format!("/api/v1/credentials/{ava_cred}")).await.expect(200);
        let issued = &detail["issuances"][0];
        assert_eq!(january["items"][0], json!({
            "member_id": ava, "name": "Fixture, Ava", "holds": true,
            "issuance": {"id": issued["id"], "credential_id": ava_cred, "credential_number": issued["credential_number"],
                "issue_date": "2025-06-01", "expiration_date": "2027-06-01"}}));

        // Today (the default day) the revocation counts: from its own day on.
        let today = qualified(t, &format!("credential_type_id={ty}")).await;
        assert_eq!(today["on"], crate::harness::TODAY);
        assert_eq!(holders(&today), pairs(&[("Fixture, Ava", true), ("Fixture, Liam", false)]));
        assert_eq!(today["items"][1]["issuance"], Value::Null);

        // Before the cards were issued nobody held them, and nobody had been assigned them yet.
        let before = qualified(t, &format!("credential_type_id={ty}&on=2025-05-31")).await;
        assert_eq!(before["items"], json!([]));
        // After they expire nobody holds them; the assigned are still listed.
        let after = qualified(t, &format!("credential_type_id={ty}&on=2027-06-02")).await;
        assert_eq!(holders(&after), pairs(&[("Fixture, Ava", false), ("Fixture, Liam", false)]));

        // The compliance report for that January counts from the same history.
        let compliance = t.get(&format!("/api/v1/reports/compliance?credential_type_id={ty}&on=2026-01-15")).await.expect(200);
        assert_eq!(compliance["rows"][0]["compliant"], 2);
        assert_eq!(compliance["non_compliant"], json!([]));
        let now = t.get(&format!("/api/v1/reports/compliance?credential_type_id={ty}")).await.expect(200);
        assert_eq!((now["rows"][0]["compliant"].as_i64(), now["rows"][0]["counts"]["revoked"].as_i64()), (Some(1), Some(1)));
    }

    async fn group_membership_is_taken_as_of_the_day(t) {
        let ty = CredentialTypeBuilder::new("CPR").publish(t).await;
        let (ava, _) = Track::of(&ty).active("2025-06-01").for_member("Ava").build(t).await;
        let (liam, _) = Track::of(&ty).active("2025-06-01").for_member("Liam").build(t).await;
        let (noah, _) = Track::of(&ty).for_member("Noah").build(t).await;
        let b = group(t, "B Shift").await;
        let members = format!("/api/v1/groups/{b}/members");
        t.on("2026-01-05").put(&members, json!({"member_ids": [ava, liam]})).await.expect(200);
        // Liam leaves on 10 February; Noah joins today.
        let left = t.on("2026-02-10").post(&format!("{members}/remove"), json!({"member_ids": [liam]})).await.expect(200);
        assert_eq!(left["member_ids"], json!([ava]));
        let joined = t.post(&format!("{members}/add"), json!({"member_ids": [noah, ava]})).await.expect(200);
        let mut now = vec![ava.clone(), noah.clone()];
        now.sort_by_key(|m| m[4..].parse::<i64>().unwrap());
        assert_eq!(joined["member_ids"], json!(now));

        let on = |day: &str| format!("credential_type_id={ty}&group_id={b}&on={day}");
        // Before anyone joined: nobody listed.
        assert_eq!(qualified(t, &on("2026-01-04")).await["items"], json!([]));
        // Liam left after 20 January: listed; Noah joined after it: not.
        assert_eq!(holders(&qualified(t, &on("2026-01-20")).await), pairs(&[("Fixture, Ava", true), ("Fixture, Liam", true)]));
        // Not a member on the day he left.
        assert_eq!(holders(&qualified(t, &on("2026-02-10")).await), pairs(&[("Fixture, Ava", true)]));
        // Today: Noah is in the crew, assigned but not holding.
        assert_eq!(holders(&qualified(t, &on(crate::harness::TODAY)).await), pairs(&[("Fixture, Ava", true), ("Fixture, Noah", false)]));
        // The members list follows today's membership.
        assert_eq!(t.get(&format!("/api/v1/members/{liam}")).await.expect(200)["group_ids"], json!([]));

        // Rejoining on the day one left is no break; joining and leaving the same day covers no day.
        t.on("2026-02-10").post(&format!("{members}/add"), json!({"member_ids": [liam]})).await.expect(200);
        t.on("2026-02-20").post(&format!("{members}/remove"), json!({"member_ids": [liam]})).await.expect(200);
        for day in ["2026-02-09", "2026-02-10", "2026-02-19"] {
            assert!(holders(&qualified(t, &on(day)).await).contains(&("Fixture, Liam".into(), true)), "{day}");
        }
        assert!(!holders(&qualified(t, &on("2026-02-20")).await).contains(&("Fixture, Liam".into(), true)));
        t.post(&format!("{members}/add"), json!({"member_ids": [liam]})).await.expect(200);
        t.post(&format!("{members}/remove"), json!({"member_ids": [liam]})).await.expect(200);
        assert_eq!(holders(&qualified(t, &on(crate::harness::TODAY)).await), pairs(&[("Fixture, Ava", true), ("Fixture, Noah", false)]));

        // The compliance report for a past day counts the crew of that day.
        let then = t.get(&format!("/api/v1/reports/compliance?group_id={b}&on=2026-01-20")).await.expect(200);
        assert_eq!((then["rows"][0]["total"].as_i64(), then["rows"][0]["compliant"].as_i64()), (Some(2), Some(2)));

        // Each change is audited with the membership before and after.
        let events = t.get(&format!("/api/v1/audit-events?subject_id={b}")).await.expect(200);
        let actions: Vec<&str> = events["items"].as_array().unwrap().iter().map(|e| s(&e["action"])).collect();
        assert_eq!(actions, ["remove_members", "add_members", "remove_members", "add_members", "add_members", "remove_members", "set_members", "create"]);
    }

    async fn a_type_created_today_reports_nobody_holding_on_a_past_day(t) {
        let b = group(t, "A Shift").await;
        let ty = CredentialTypeBuilder::new("HAZ").publish(t).await;
        let (ava, _) = Track::of(&ty).for_member("Ava").build(t).await;
        let (liam, _) = Track::of(&ty).active(crate::harness::TODAY).for_member("Liam").build(t).await;
        t.on("2026-01-01").put(&format!("/api/v1/groups/{b}/members"), json!({"member_ids": [ava, liam]})).await.expect(200);

        assert_eq!(qualified(t, &format!("credential_type_id={ty}&on=2026-01-15")).await["items"], json!([]));
        let crew = qualified(t, &format!("credential_type_id={ty}&group_id={b}&on=2026-01-15")).await;
        assert_eq!(holders(&crew), pairs(&[("Fixture, Ava", false), ("Fixture, Liam", false)]));
        let today = qualified(t, &format!("credential_type_id={ty}")).await;
        assert_eq!(holders(&today), pairs(&[("Fixture, Ava", false), ("Fixture, Liam", true)]));
        // Nor does it show up in January's compliance counts.
        let january = t.get("/api/v1/reports/compliance?on=2026-01-15").await.expect(200);
        assert_eq!(january["rows"], json!([]));
    }

    async fn bad_input_is_a_problem_naming_the_field(t) {
        let ty = CredentialTypeBuilder::new("CPR").publish(t).await;
        let base = "/api/v1/reports/qualified";
        assert_eq!(t.get(base).await.invalid_fields(), ["credential_type_id"]);
        assert_eq!(t.get(&format!("{base}?credential_type_id=")).await.invalid_fields(), ["credential_type_id"]);
        assert_eq!(t.get(&format!("{base}?credential_type_id=grp_1")).await.invalid_fields(), ["credential_type_id"]);
        assert_eq!(t.get(&format!("{base}?credential_type_id={ty}&on=2026-13-01")).await.invalid_fields(), ["on"]);
        assert_eq!(t.get(&format!("{base}?credential_type_id={ty}&on=last-week")).await.invalid_fields(), ["on"]);
        assert_eq!(t.get(&format!("{base}?credential_type_id={ty}&format=pdf")).await.invalid_fields(), ["format"]);
        assert_eq!(t.get(&format!("{base}?credential_type_id={ty}&group_id=mem_1")).await.invalid_fields(), ["group_id"]);
        t.get(&format!("{base}?credential_type_id=ctp_999999")).await.problem(404);
        t.get(&format!("{base}?credential_type_id={ty}&group_id=grp_999999")).await.problem(404);

        // Another agency's type and group answer exactly like missing ones.
        let other = t.other_agency_admin().await;
        let theirs = t.send(Method::POST, "/api/v1/credential-types", Some(&other),
            Some(json!({"code": "X", "name": "Theirs", "validity_months": 12}))).await.expect(201);
        t.get(&format!("{base}?credential_type_id={}", s(&theirs["id"]))).await.problem(404);
        let their_group = t.send(Method::POST, "/api/v1/groups", Some(&other), Some(json!({"name": "Theirs"}))).await.expect(201);
        t.get(&format!("{base}?credential_type_id={ty}&group_id={}", s(&their_group["id"]))).await.problem(404);
        t.send(Method::GET, &format!("{base}?credential_type_id={ty}"), Some(&other), None).await.problem(404);
        for action in ["add", "remove"] {
            t.post(&format!("/api/v1/groups/{}/members/{action}", s(&their_group["id"])), json!({"member_ids": []})).await.problem(404);
        }

        // Members read only their own things; this report is the agency's.
        let (m, _) = Track::of(&ty).for_member("Ava").build(t).await;
        let member = t.token(Role::Member, Some(&m)).await;
        t.send(Method::GET, &format!("{base}?credential_type_id={ty}"), Some(&member), None).await.problem(403);

        // Adding and removing need at least one member of this agency.
        let g = group(t, "C Shift").await;
        for action in ["add", "remove"] {
            let path = format!("/api/v1/groups/{g}/members/{action}");
            assert_eq!(t.post(&path, json!({"member_ids": []})).await.invalid_fields(), ["member_ids"]);
            assert_eq!(t.post(&path, json!({"member_ids": ["mem_987654"]})).await.invalid_fields(), ["member_ids"]);
            assert_eq!(t.post(&path, json!({"member_ids": ["crd_1"]})).await.invalid_fields(), ["member_ids[0]"]);
            assert_eq!(t.post(&path, json!({"members": [m]})).await.invalid_fields(), ["members"]);
        }
        assert_eq!(t.get(&format!("/api/v1/groups/{g}")).await.expect(200)["version"], 1, "nothing changed");
    }

    async fn the_report_pages_by_name_and_the_csv_has_every_page(t) {
        let ty = CredentialTypeBuilder::new("CPR").publish(t).await;
        let mut members = Vec::new();
        for name in ["Ava", "Ben", "Cal", "Dee", "Eve"] {
            let track = Track::of(&ty).for_member(name);
            // Ben and Dee held it in January; the others were assigned it today only.
            let track = if matches!(name, "Ben" | "Dee") { track.active("2025-06-01") } else { track };
            members.push(track.build(t).await.0);
        }
        let g = group(t, "B Shift").await;
        t.on("2026-01-01").put(&format!("/api/v1/groups/{g}/members"), json!({"member_ids": members})).await.expect(200);

        // A group's members, two at a time, in name order, each once.
        let mut names = Vec::new();
        let mut query = format!("credential_type_id={ty}&group_id={g}&limit=2");
        loop {
            let page = qualified(t, &query).await;
            assert!(page["items"].as_array().unwrap().len() <= 2);
            names.extend(holders(&page).into_iter().map(|(n, _)| n));
            match page["next_cursor"].as_str() {
                Some(next) => query = format!("credential_type_id={ty}&group_id={g}&limit=2&cursor={next}"),
                None => break,
            }
        }
        assert_eq!(names, ["Fixture, Ava", "Fixture, Ben", "Fixture, Cal", "Fixture, Dee", "Fixture, Eve"]);

        // Without a group, members not listed that day are skipped without short pages.
        let january = format!("credential_type_id={ty}&on=2026-01-15&limit=1");
        let first = qualified(t, &january).await;
        assert_eq!(holders(&first), pairs(&[("Fixture, Ben", true)]));
        let next = s(&first["next_cursor"]).to_string();
        let second = qualified(t, &format!("{january}&cursor={next}")).await;
        assert_eq!(holders(&second), pairs(&[("Fixture, Dee", true)]));
        assert_eq!(second["next_cursor"], Value::Null);

        // The CSV is the whole report, not one page.
        let csv = t.get(&format!("/api/v1/reports/qualified?credential_type_id={ty}&group_id={g}&limit=1&format=csv")).await;
        assert_eq!(csv.text.lines().count(), 6, "{}", csv.text);
        let csv = t.get(&format!("/api/v1/reports/qualified?credential_type_id={ty}&on=2026-01-15&format=csv")).await;
        assert_eq!(csv.text.lines().count(), 3, "{}", csv.text);

        let base = format!("/api/v1/reports/qualified?credential_type_id={ty}");
        assert_eq!(t.get(&format!("{base}&limit=0")).await.invalid_fields(), ["limit"]);
        assert_eq!(t.get(&format!("{base}&limit=501")).await.invalid_fields(), ["limit"]);
        assert_eq!(t.get(&format!("{base}&cursor=not-ours")).await.invalid_fields(), ["cursor"]);
    }

    async fn the_csv_names_the_type_and_group_and_runs_no_formulas(t) {
        let ty = CredentialTypeBuilder::new("CPR").publish(t).await;
        let risky = t.post("/api/v1/members", json!({"first_name": "Ava", "last_name": "=HYPERLINK(\"x\")"})).await.expect(201);
        let ava = s(&risky["id"]).to_string();
        t.post("/api/v1/assignments", json!({"credential_type_id": ty, "mode": "active_with_period", "issue_date": "2025-06-01",
            "member_ids": [ava]})).await.expect(200);
        let g = group(t, "@Night").await;
        t.post(&format!("/api/v1/groups/{g}/members/add"), json!({"member_ids": [ava]})).await.expect(200);
        let csv = t.get(&format!("/api/v1/reports/qualified?credential_type_id={ty}&group_id={g}&format=csv")).await;
        assert_eq!(csv.status, 200);
        assert!(csv.headers["content-type"].to_str().unwrap().starts_with("text/csv"));
        assert_eq!(csv.headers["content-disposition"], "attachment; filename=\"qualified-2026-03-01.csv\"");
        let lines: Vec<&str> = csv.text.lines().collect();
        assert_eq!(lines[0], "on,credential_type,group,member,employee_number,holds,credential_number,issue_date,expiration_date,member_id");
        assert_eq!(lines.len(), 2);
        assert!(lines[1].starts_with("2026-03-01,CPR card,'@Night,\"'=HYPERLINK(\"\"x\"\"), Ava\",,yes,"), "{}", lines[1]);
        assert!(lines[1].ends_with(&format!(",2025-06-01,2027-06-01,{ava}")), "{}", lines[1]);
    }

    async fn joining_an_enrolment_group_by_add_assigns_its_types(t) {
        let g = group(t, "Recruits").await;
        let ty = t.post("/api/v1/credential-types", json!({"code": "ORI", "name": "Orientation", "validity_months": 12,
            "enrolment_group_ids": [g]})).await.expect(201);
        t.post(&format!("/api/v1/credential-types/{}/publish", s(&ty["id"])), json!({})).await.expect(200);
        let m = t.post("/api/v1/members", json!({"first_name": "Zoe", "last_name": "Quinn"})).await.expect(201);
        t.post(&format!("/api/v1/groups/{g}/members/add"), json!({"member_ids": [m["id"]]})).await.expect(200);
        let tracks = t.get(&format!("/api/v1/credentials?member_id={}", s(&m["id"]))).await.expect(200);
        assert_eq!(tracks["items"].as_array().unwrap().len(), 1);
        assert_eq!(tracks["items"][0]["credential_type_id"], ty["id"]);
    }
}

both_databases! {
    async fn the_reports_page_shows_who_held_it_on_the_day(t) {
        use crate::web_pages::{page, sign_in};
        let ty = t.post("/api/v1/credential-types", json!({"code": "CPR", "name": "CPR <b>card</b>", "validity_months": 24})).await.expect(201);
        let ty = s(&ty["id"]).to_string();
        t.post(&format!("/api/v1/credential-types/{ty}/publish"), json!({})).await.expect(200);
        Track::of(&ty).active("2025-06-01").for_member("Ava").build(t).await;
        Track::of(&ty).for_member("<script>x</script>").build(t).await;
        t.app.create_user(t.agency_id, "chief@test.example", Role::Auditor, "a long enough password", None).await.unwrap();
        let session = sign_in(t, "chief@test.example", "a long enough password").await.map_err(|r| r.text).unwrap();

        let index = page(t, "/reports", &session).await;
        assert_eq!(index.status, 200);
        assert!(index.text.contains("href=\"/reports/qualified\""));
        let empty = page(t, "/reports/qualified", &session).await;
        assert_eq!(empty.status, 200);
        assert!(empty.text.contains("value=\"2026-03-01\""), "the day defaults to today");

        let report = page(t, &format!("/reports/qualified?credential_type_id={ty}&on=2026-03-01&group_id="), &session).await;
        assert_eq!(report.status, 200);
        assert!(report.text.contains("<b>1 of 2</b> held <b>CPR &#60;b&#62;card&#60;/b&#62;</b>"), "{}", report.text);
        assert!(report.text.contains("&#60;script&#62;x&#60;/script&#62;") && !report.text.contains("<script>x"));
        assert!(report.text.contains(&format!("href=\"/reports/qualified.csv?credential_type_id={ty}&#38;on=2026-03-01\"")), "{}", report.text);
        // In January Ava held it; the other member had not been assigned it yet.
        let january = page(t, &format!("/reports/qualified?credential_type_id={ty}&on=2026-01-15"), &session).await;
        assert!(january.text.contains("<b>1 of 1</b>"), "{}", january.text);
        // A mistyped day is said on the page.
        let typo = page(t, &format!("/reports/qualified?credential_type_id={ty}&on=2026-02-30"), &session).await;
        assert_eq!(typo.status, 200);
        assert!(typo.text.contains("on: must be a date"));

        let csv = page(t, &format!("/reports/qualified.csv?credential_type_id={ty}&on=2026-03-01"), &session).await;
        assert_eq!(csv.status, 200);
        assert_eq!(csv.text.lines().count(), 3);
        assert!(csv.text.contains(",yes,"));
    }
}

both_databases! {
    async fn membership_history_answers_every_day_as_it_ended(t) {
        use std::collections::{BTreeMap, BTreeSet};
        let ty = CredentialTypeBuilder::new("CPR").publish(t).await;
        let mut members = Vec::new();
        for name in ["Ava", "Liam", "Noah", "Emma", "Zoe"] {
            members.push(Track::of(&ty).for_member(name).build(t).await.0);
        }
        let g = group(t, "Rotating").await;
        let path = format!("/api/v1/groups/{g}/members");
        // A reproducible random sequence of PUT, add and remove, several on some days; the
        // model says who is in the group at the end of each day.
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = move |n: u64| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state % n
        };
        let start: chrono::NaiveDate = "2026-01-01".parse().unwrap();
        let mut day = start;
        let mut current: BTreeSet<String> = BTreeSet::new();
        let mut model: BTreeMap<chrono::NaiveDate, BTreeSet<String>> = BTreeMap::new();
        for _ in 0..30 {
            day = day + chrono::Days::new(next(3));
            let chosen: Vec<String> = members.iter().filter(|_| next(2) == 0).cloned().collect();
            let chosen = if chosen.is_empty() { vec![members[next(5) as usize].clone()] } else { chosen };
            let on = t.on(&day.to_string());
            match next(3) {
                0 => {
                    on.put(&path, json!({"member_ids": chosen})).await.expect(200);
                    current = chosen.into_iter().collect();
                }
                1 => {
                    on.post(&format!("{path}/add"), json!({"member_ids": chosen})).await.expect(200);
                    current.extend(chosen);
                }
                _ => {
                    on.post(&format!("{path}/remove"), json!({"member_ids": chosen})).await.expect(200);
                    current.retain(|m| !chosen.contains(m));
                }
            }
            model.insert(day, current.clone());
        }
        let mut expected = BTreeSet::new();
        let mut d = start - chrono::Days::new(1);
        while d <= day + chrono::Days::new(1) {
            if let Some(m) = model.get(&d) {
                expected = m.clone();
            }
            let report = qualified(t, &format!("credential_type_id={ty}&group_id={g}&on={d}")).await;
            let listed: BTreeSet<String> = report["items"].as_array().unwrap().iter().map(|i| s(&i["member_id"]).to_string()).collect();
            assert_eq!(listed, expected, "{d}");
            d = d + chrono::Days::new(1);
        }
        // The periods open now are exactly the current memberships.
        let mut tx = t.app.store.begin().await.unwrap();
        let open: Vec<(i64, i64)> = credence_store::query(
            "SELECT group_id, member_id FROM group_membership_periods WHERE to_date IS NULL ORDER BY group_id, member_id",
        ).fetch_all(&mut tx).await.unwrap();
        let now: Vec<(i64, i64)> = credence_store::query(
            "SELECT group_id, member_id FROM group_memberships ORDER BY group_id, member_id",
        ).fetch_all(&mut tx).await.unwrap();
        assert_eq!(open, now);
        assert_eq!(now.len(), current.len());
    }
}
