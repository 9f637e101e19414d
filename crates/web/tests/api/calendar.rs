//! Calendar feeds (#20): a secret iCalendar URL per member (their own expirations and due
//! dates) and per officer (the agency or a group), rotatable; the feed is well-formed
//! iCalendar with alarms and stable UIDs.

use axum::http::Method;
use credence_app::Role;
use serde_json::json;

use crate::both_databases;
use crate::fixtures::{CredentialTypeBuilder, Track};
use crate::harness::{Resp, TestApp};

/// The path of a feed URL (the test server answers paths).
fn path_of(url: &str) -> String {
    url.strip_prefix("https://credence.test")
        .unwrap_or_else(|| panic!("{url}"))
        .to_string()
}

async fn fetch(t: &TestApp, url: &str) -> Resp {
    t.send(Method::GET, &path_of(url), None, None).await
}

/// Checks the iCalendar text is well formed and answers its unfolded lines.
fn lines_of(text: &str) -> Vec<String> {
    assert!(text.ends_with("\r\n"), "CRLF at the end");
    assert!(
        !text.replace("\r\n", "").contains(['\r', '\n']),
        "every line ends with CRLF"
    );
    for line in text.split("\r\n") {
        assert!(line.len() <= 75, "folded at 75 octets: {line:?}");
    }
    let unfolded = text.replace("\r\n ", "");
    let lines: Vec<String> = unfolded
        .trim_end_matches("\r\n")
        .split("\r\n")
        .map(str::to_string)
        .collect();
    let mut open: Vec<String> = Vec::new();
    for l in &lines {
        if let Some(block) = l.strip_prefix("BEGIN:") {
            open.push(block.to_string());
        } else if let Some(block) = l.strip_prefix("END:") {
            assert_eq!(
                open.pop().as_deref(),
                Some(block),
                "END:{block} closes what was opened"
            );
        } else {
            assert!(!open.is_empty(), "{l} is inside a block");
            assert!(l.contains(':'), "a content line: {l}");
        }
    }
    assert!(open.is_empty(), "every block is closed: {open:?}");
    assert_eq!(lines.first().map(String::as_str), Some("BEGIN:VCALENDAR"));
    assert!(lines.contains(&"VERSION:2.0".to_string()));
    lines
}

fn values<'a>(lines: &'a [String], name: &str) -> Vec<&'a str> {
    lines.iter().filter_map(|l| l.strip_prefix(name)).collect()
}

both_databases! {
    async fn a_member_gets_their_own_feed_and_rotating_ends_the_old_one(t) {
        let cpr = t.post("/api/v1/credential-types", json!({"code": "CPR", "name": "CPR, adult; infant", "validity_months": 24})).await.expect(201);
        let cpr = cpr["id"].as_str().unwrap().to_string();
        t.post(&format!("/api/v1/credential-types/{cpr}/publish"), json!({})).await.expect(200);
        let evoc = CredentialTypeBuilder::new("EVOC").publish(t).await;
        let (ava, ava_cpr) = Track::of(&cpr).active("2025-01-05").for_member("Ava").build(t).await;
        let (_, ava_evoc) = Track::of(&evoc).for_member("Ava2").build(t).await;
        let (ben, ben_cpr) = Track::of(&cpr).active("2025-02-01").for_member("Ben").build(t).await;
        let _ = ben;
        let ava_token = t.token(Role::Member, Some(&ava)).await;

        let made = t.send(Method::POST, "/api/v1/calendar/rotate", Some(&ava_token), Some(json!({"member_id": ava}))).await.expect(200);
        let url = made["url"].as_str().unwrap().to_string();
        assert!(url.starts_with("https://credence.test/calendar/cal_") && url.ends_with(".ics"), "{url}");
        let feed = fetch(t, &url).await;
        assert_eq!(feed.status, 200, "{}", feed.text);
        assert_eq!(feed.headers["content-type"], "text/calendar; charset=utf-8");
        let lines = lines_of(&feed.text);
        // Ava's CPR expires 2027-01-05 (24 months): one all-day event with two alarms.
        let uids = values(&lines, "UID:");
        assert_eq!(uids, [format!("expiration-{ava_cpr}-20270105@credence.test")]);
        assert_eq!(values(&lines, "DTSTART;VALUE=DATE:"), ["20270105"]);
        assert_eq!(values(&lines, "DTEND;VALUE=DATE:"), ["20270106"]);
        assert_eq!(values(&lines, "SUMMARY:"), ["CPR\\, adult\\; infant expires"], "text is escaped");
        assert_eq!(values(&lines, "TRIGGER:"), ["-P30D", "-P7D"]);
        assert!(!feed.text.contains(&ben_cpr) && !feed.text.contains("Ben"), "only her own");
        assert!(!feed.text.contains(&ava_evoc), "not another member's");
        // Stable: the same UIDs on the next fetch.
        assert_eq!(values(&lines_of(&fetch(t, &url).await.text), "UID:"), uids);

        // Rotating gives a new address and kills the old one.
        let again = t.send(Method::POST, "/api/v1/calendar/rotate", Some(&ava_token), Some(json!({"member_id": ava}))).await.expect(200);
        let new_url = again["url"].as_str().unwrap().to_string();
        assert_ne!(new_url, url);
        assert_eq!(fetch(t, &url).await.status, 404);
        assert_eq!(fetch(t, &new_url).await.status, 200);
        // Only a hash is kept: the secret is nowhere in the database.
        let secret = new_url.rsplit('/').next().unwrap().trim_end_matches(".ics").to_string();
        let mut db = t.app.store.read().await.unwrap();
        let stored: Vec<String> = credence_store::query("SELECT secret_hash FROM calendar_feeds").scalars(&mut db).await.unwrap();
        drop(db);
        assert_eq!(stored.len(), 1);
        assert_ne!(stored[0], secret);
        for bad in ["/calendar/cal_nothing.ics", "/calendar/", &path_of(&new_url).replace(".ics", ".txt")] {
            let r = t.send(Method::GET, bad, None, None).await;
            assert_eq!(r.status, 404, "{bad}");
        }
        let events = t.get(&format!("/api/v1/audit-events?subject_id={ava}")).await.expect(200);
        assert!(events["items"].as_array().unwrap().iter().any(|e| e["action"] == "rotate_calendar"));
    }

    async fn an_officer_feed_lists_the_agency_or_one_group(t) {
        let ty = CredentialTypeBuilder::new("CPR").publish(t).await;
        let (ava, ava_cpr) = Track::of(&ty).active("2025-01-05").for_member("Ava").build(t).await;
        let (_, ben_cpr) = Track::of(&ty).active("2025-02-01").for_member("Ben").build(t).await;
        let ce = t.post("/api/v1/credential-types", json!({"code": "EMT", "name": "EMT", "validity_months": 24,
            "requirements": [{"kind": "hours", "hours": 24, "category": "CE"}]})).await.expect(201);
        let ce = ce["id"].as_str().unwrap().to_string();
        t.post(&format!("/api/v1/credential-types/{ce}/publish"), json!({})).await.expect(200);
        let (_, due) = Track::of(&ce).for_member("Cy").build(t).await;
        let officer = t.token(Role::Officer, None).await;
        let whole = t.send(Method::POST, "/api/v1/calendar/rotate", Some(&officer), Some(json!({}))).await.expect(200);
        let lines = lines_of(&fetch(t, whole["url"].as_str().unwrap()).await.text);
        let uids = values(&lines, "UID:");
        assert!(uids.contains(&format!("expiration-{ava_cpr}-20270105@credence.test").as_str()), "{uids:?}");
        assert!(uids.contains(&format!("expiration-{ben_cpr}-20270201@credence.test").as_str()));
        assert!(uids.contains(&format!("due-{due}-20261231@credence.test").as_str()), "open periods' due dates too");
        assert!(values(&lines, "SUMMARY:").contains(&"CPR card expires: Ava Fixture"));

        // One group: only its members. The officer's feed is replaced, not added to.
        let g = t.post("/api/v1/groups", json!({"name": "Station 1", "kind": "station"})).await.expect(201);
        let g = g["id"].as_str().unwrap().to_string();
        t.on("2026-01-01").put(&format!("/api/v1/groups/{g}/members"), json!({"member_ids": [ava]})).await.expect(200);
        let station = t.send(Method::POST, "/api/v1/calendar/rotate", Some(&officer), Some(json!({"group_id": g}))).await.expect(200);
        assert_eq!(fetch(t, whole["url"].as_str().unwrap()).await.status, 404);
        let lines = lines_of(&fetch(t, station["url"].as_str().unwrap()).await.text);
        assert_eq!(values(&lines, "UID:"), [format!("expiration-{ava_cpr}-20270105@credence.test")]);
        assert!(lines.iter().any(|l| l.starts_with("X-WR-CALNAME:") && l.contains("Station 1")));
        // The admin's own feed is another owner's: the officer's still works.
        t.post("/api/v1/calendar/rotate", json!({})).await.expect(200);
        assert_eq!(fetch(t, station["url"].as_str().unwrap()).await.status, 200);
    }

    async fn feeds_are_refused_to_those_who_may_not_have_them(t) {
        let ty = CredentialTypeBuilder::new("CPR").publish(t).await;
        let (ava, _) = Track::of(&ty).active("2025-01-05").for_member("Ava").build(t).await;
        let (ben, _) = Track::of(&ty).active("2025-01-05").for_member("Ben").build(t).await;
        let ava_token = t.token(Role::Member, Some(&ava)).await;
        let auditor = t.token(Role::Auditor, None).await;
        let rotate = |token: String, body: serde_json::Value| async move {
            t.send(Method::POST, "/api/v1/calendar/rotate", Some(&token), Some(body)).await
        };
        // A member: not another's feed (not found, as the member is invisible to them), not
        // the agency's.
        rotate(ava_token.clone(), json!({"member_id": ben})).await.problem(404);
        rotate(ava_token.clone(), json!({})).await.problem(403);
        rotate(auditor.clone(), json!({})).await.problem(403);
        rotate(auditor, json!({"member_id": ava})).await.problem(403);
        // An officer may make a member's feed; bad input names the field.
        let officer = t.token(Role::Officer, None).await;
        rotate(officer.clone(), json!({"member_id": ben})).await.expect(200);
        let fields = rotate(officer.clone(), json!({"member_id": ben, "group_id": "grp_1"})).await.invalid_fields();
        assert_eq!(fields, ["group_id"]);
        let fields = rotate(officer.clone(), json!({"group_id": "grp_999999"})).await.invalid_fields();
        assert_eq!(fields, ["group_id"]);
        rotate(officer.clone(), json!({"member_id": "mem_999999"})).await.problem(404);
        rotate(officer.clone(), json!({"member_id": "nobody"})).await.problem(422);
        rotate(officer, json!({"colour": "red"})).await.problem(422);
        // Another agency cannot make a feed of this agency's member.
        let other = t.other_agency_admin().await;
        t.send(Method::POST, "/api/v1/calendar/rotate", Some(&other), Some(json!({"member_id": ava}))).await.problem(404);
        let theirs = t.send(Method::POST, "/api/v1/calendar/rotate", Some(&other), Some(json!({}))).await.expect(200);
        let text = fetch(t, theirs["url"].as_str().unwrap()).await.text;
        assert!(!text.contains("BEGIN:VEVENT"), "their feed lists none of ours");
    }

    async fn an_officer_feed_ends_with_the_login_or_token_that_asked_for_it(t) {
        use crate::web_pages::{form, page, sign_in};
        let ty = CredentialTypeBuilder::new("CPR").publish(t).await;
        Track::of(&ty).active("2025-01-05").for_member("Ava").build(t).await;
        // A login's agency feed, asked for on the dashboard.
        let user = t.app.create_user(t.agency_id, "Officer@Test.example", Role::Officer, "a long enough password", None).await.unwrap();
        let officer = sign_in(t, "officer@test.example", "a long enough password").await.map_err(|r| r.text).unwrap();
        let dashboard = page(t, "/", &officer).await;
        let csrf = dashboard.text.split("name=\"csrf\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_string();
        let shown = form(t, "/calendar/new", &officer, &format!("csrf={csrf}&group_id=")).await;
        let secret = shown.text.split("value=\"https://credence.test/calendar/").nth(1).unwrap().split('"').next().unwrap();
        let feed = format!("/calendar/{secret}");
        assert_eq!(t.send(Method::GET, &feed, None, None).await.status, 200);
        // Still reading the whole agency as an auditor: the feed stays.
        t.patch(&format!("/api/v1/users/{user}"), json!({"role": "auditor"})).await.expect(200);
        assert_eq!(t.send(Method::GET, &feed, None, None).await.status, 200);
        // Deactivated: the URL handed out earlier reads nothing more.
        t.patch(&format!("/api/v1/users/{user}"), json!({"active": false})).await.expect(200);
        assert_eq!(t.send(Method::GET, &feed, None, None).await.status, 404);

        // A token's feed ends when the token is revoked; another login's feed is untouched.
        let scheduler = t.app.create_token_expiring(t.agency_id, Role::Officer, None, Some("scheduler"), None).await.unwrap();
        let theirs = t.send(Method::POST, "/api/v1/calendar/rotate", Some(&scheduler), Some(json!({}))).await.expect(200);
        let mine = t.post("/api/v1/calendar/rotate", json!({})).await.expect(200);
        let list = t.get("/api/v1/tokens").await.expect(200);
        let id = list["items"].as_array().unwrap().iter().find(|r| r["name"] == "scheduler").unwrap()["id"].as_str().unwrap().to_string();
        t.delete(&format!("/api/v1/tokens/{id}")).await.expect(204);
        assert_eq!(fetch(t, theirs["url"].as_str().unwrap()).await.status, 404);
        assert_eq!(fetch(t, mine["url"].as_str().unwrap()).await.status, 200);
    }

    async fn the_pages_offer_the_links(t) {
        use crate::web_pages::{form, page, sign_in};
        let ty = CredentialTypeBuilder::new("CPR").publish(t).await;
        let (ava, ava_cpr) = Track::of(&ty).active("2025-01-05").for_member("Ava").build(t).await;
        t.app.create_user(t.agency_id, "ava@test.example", Role::Member, "a long enough password", Some(ava.parse().unwrap())).await.unwrap();
        t.app.create_user(t.agency_id, "officer@test.example", Role::Officer, "a long enough password", None).await.unwrap();
        let member = sign_in(t, "ava@test.example", "a long enough password").await.map_err(|r| r.text).unwrap();
        let me = page(t, "/me", &member).await;
        assert!(me.text.contains("action=\"/me/calendar\""), "{}", me.text);
        let csrf = me.text.split("name=\"csrf\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_string();
        assert_eq!(form(t, "/me/calendar", &member, "").await.status, 400, "the CSRF token is required");
        let shown = form(t, "/me/calendar", &member, &format!("csrf={csrf}")).await;
        assert_eq!(shown.status, 200, "{}", shown.text);
        let url = shown.text.split("value=\"https://credence.test/calendar/").nth(1).unwrap().split('"').next().unwrap();
        let feed = t.send(Method::GET, &format!("/calendar/{url}"), None, None).await;
        assert!(feed.text.contains(&ava_cpr.to_string()));
        assert_eq!(form(t, "/calendar/new", &member, &format!("csrf={csrf}")).await.status, 403, "members have no agency feed");

        let officer = sign_in(t, "officer@test.example", "a long enough password").await.map_err(|r| r.text).unwrap();
        let dashboard = page(t, "/", &officer).await;
        assert!(dashboard.text.contains("action=\"/calendar/new\""));
        let csrf = dashboard.text.split("name=\"csrf\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_string();
        let shown = form(t, "/calendar/new", &officer, &format!("csrf={csrf}&group_id=")).await;
        assert_eq!(shown.status, 200, "{}", shown.text);
        assert!(shown.text.contains("everyone in the agency"));
    }
}
