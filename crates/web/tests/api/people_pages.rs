//! The members and groups pages (#16): searching, adding with a refused field kept as typed,
//! editing, deactivating, assigning from a member's page, group membership through the page
//! forms, roles as the API has them, and another agency's rows answering 404.

use credence_app::Role;
use serde_json::{json, Value};

use crate::both_databases;
use crate::fixtures::CredentialTypeBuilder;
use crate::harness::{Resp, TestApp};
use crate::members::create_member;
use crate::web_pages::{follow, form, page, sign_in};

const PASSWORD: &str = "a long enough password";

/// A signed-in session of a new login with `role`: (cookie, CSRF token).
pub(crate) async fn session(
    t: &TestApp,
    email: &str,
    role: Role,
    member: Option<&str>,
) -> (String, String) {
    let member = member.map(|m| m.parse::<credence_app::ids::MemberId>().unwrap());
    t.app
        .create_user(t.agency_id, email, role, PASSWORD, member)
        .await
        .unwrap();
    let cookie = sign_in(t, email, PASSWORD)
        .await
        .map_err(|r| r.text)
        .unwrap();
    let home = if role == Role::Member { "/me" } else { "/" };
    let csrf = csrf_of(&page(t, home, &cookie).await);
    (cookie, csrf)
}

async fn admin(t: &TestApp) -> (String, String) {
    session(t, "chief@test.example", Role::Admin, None).await
}

pub(crate) fn csrf_of(r: &Resp) -> String {
    r.text
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a page with a CSRF token")
        .to_string()
}

/// Percent-encodes a form value.
fn enc(v: &str) -> String {
    v.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            b' ' => "+".to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

pub(crate) fn body(csrf: &str, fields: &[(&str, &str)]) -> String {
    let mut parts = vec![format!("csrf={}", enc(csrf))];
    parts.extend(fields.iter().map(|(k, v)| format!("{k}={}", enc(v))));
    parts.join("&")
}

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_string()
}

async fn member_json(t: &TestApp, id: &str) -> Value {
    t.get(&format!("/api/v1/members/{id}")).await.expect(200)
}

/// A page route of the role matrix: path, form fields (None for a GET), and who may use it
/// as [admin, officer, auditor, member].
type MatrixRow = (String, Option<Vec<(&'static str, String)>>, [bool; 4]);

both_databases! {
    async fn the_members_page_searches_filters_and_pages(t) {
        let (cookie, _) = admin(t).await;
        let station = t.post("/api/v1/groups", json!({"name": "Station 7", "kind": "station"})).await.expect(201);
        t.post("/api/v1/members", json!({"first_name": "Ava", "last_name": "Smith", "email": "ava@station7.test",
            "employee_number": "E-1001", "position": "Lieutenant", "group_ids": [station["id"]]})).await.expect(201);
        let liam = t.post("/api/v1/members", json!({"first_name": "Liam", "last_name": "Brown", "employee_number": "B-77"})).await.expect(201);
        t.delete(&format!("/api/v1/members/{}", id(&liam))).await.expect(200);
        for n in 0..50 {
            create_member(t, &format!("Crew{n:02}"), "Zulu").await;
        }

        let list = page(t, "/members", &cookie).await;
        assert_eq!(list.status, 200);
        assert!(list.text.contains("51 members match."), "active members by default");
        assert!(list.text.contains("Smith, Ava") && list.text.contains("Lieutenant") && list.text.contains("Station 7"));
        assert!(list.text.contains("ava@station7.test") && list.text.contains("E-1001"));
        assert!(!list.text.contains("Brown, Liam"), "inactive members are not listed by default");
        // 50 a page, then Next carries the filter.
        assert!(!list.text.contains("Zulu, Crew49"));
        let next = list.text.split("href=\"/members?active=true&#38;cursor=").nth(1).expect("a Next link").split('"').next().unwrap().to_string();
        let second = page(t, &format!("/members?active=true&cursor={next}"), &cookie).await;
        assert!(second.text.contains("Zulu, Crew49") && !second.text.contains("Smith, Ava"));

        let found = page(t, "/members?q=e-10", &cookie).await;
        assert!(found.text.contains("1 member matches.") && found.text.contains("Smith, Ava"));
        let inactive = page(t, "/members?active=false&q=BROWN", &cookie).await;
        assert!(inactive.text.contains("Brown, Liam") && inactive.text.contains("Inactive"));
        let everyone = page(t, "/members?active=all&q=b", &cookie).await;
        assert!(everyone.text.contains("Brown, Liam"));
        let by_group = page(t, &format!("/members?active=all&group_id={}", id(&station)), &cookie).await;
        assert!(by_group.text.contains("1 member matches.") && by_group.text.contains("Smith, Ava"));
        // What was typed is shown escaped, never as markup.
        let odd = page(t, "/members?q=%3Cscript%3E", &cookie).await;
        assert!(odd.text.contains("value=\"&#60;script&#62;\"") && !odd.text.contains("value=\"<script>"));
        assert!(odd.text.contains("0 members match."));
    }

    async fn adding_a_member_with_a_bad_e_mail_keeps_what_was_typed(t) {
        let (cookie, csrf) = admin(t).await;
        let station = t.post("/api/v1/groups", json!({"name": "Station 7", "kind": "station"})).await.expect(201);
        let new = page(t, "/members/new", &cookie).await;
        assert_eq!(new.status, 200);
        assert!(new.text.contains("Station 7"));
        let sent = body(&csrf, &[("first_name", "Dana"), ("last_name", "O'Kafor <b>"), ("email", "dana at station7"),
            ("employee_number", "E-9"), ("position", "Paramedic"), ("supervisor_member_id", ""), ("group_ids", &id(&station))]);
        let refused = form(t, "/members", &cookie, &sent).await;
        assert_eq!(refused.status, 422);
        assert!(refused.text.contains("E-mail must be an e-mail address."), "{}", refused.text);
        assert!(refused.text.contains("value=\"Dana\"") && refused.text.contains("value=\"dana at station7\""));
        assert!(refused.text.contains("value=\"O&#39;Kafor &#60;b&#62;\""), "typed text comes back escaped");
        assert!(refused.text.contains("value=\"E-9\"") && refused.text.contains("value=\"Paramedic\""));
        assert!(refused.text.contains(&format!("value=\"{}\" checked", id(&station))), "the ticked group stays ticked");
        assert!(refused.text.contains("aria-invalid=\"true\""));
        assert_eq!(t.get("/api/v1/members").await.expect(200)["items"], json!([]), "nothing was written");

        let sent = body(&csrf, &[("first_name", "Dana"), ("last_name", "Okafor"), ("email", "Dana@Station7.test"),
            ("employee_number", "E-9"), ("position", "Paramedic"), ("group_ids", &id(&station))]);
        let added = form(t, "/members", &cookie, &sent).await;
        assert_eq!(added.status, 303, "{}", added.text);
        let shown = follow(t, &added, &cookie).await;
        assert!(shown.text.contains("Dana Okafor was added."));
        let m = &t.get("/api/v1/members").await.expect(200)["items"][0];
        assert_eq!((m["email"].as_str(), m["position"].as_str()), (Some("dana@station7.test"), Some("Paramedic")));
        assert_eq!(m["group_ids"], json!([station["id"]]));

        // The same number again is refused beside its field.
        let again = form(t, "/members", &cookie, &body(&csrf, &[("first_name", "Other"), ("last_name", "Person"), ("employee_number", "E-9")])).await;
        assert_eq!(again.status, 422);
        assert!(again.text.contains("Employee number is already used by another member of this agency."));
        // Without the session's token nothing happens.
        let forged = form(t, "/members", &cookie, "first_name=X&last_name=Y").await;
        assert_eq!(forged.status, 400);
        assert_eq!(t.get("/api/v1/members").await.expect(200)["items"].as_array().unwrap().len(), 1);
    }

    async fn editing_a_member_changes_position_supervisor_and_groups(t) {
        let (cookie, csrf) = admin(t).await;
        let a = t.post("/api/v1/groups", json!({"name": "A Shift", "kind": "shift"})).await.expect(201);
        let b = t.post("/api/v1/groups", json!({"name": "B Shift", "kind": "shift"})).await.expect(201);
        let chief = t.post("/api/v1/members", json!({"first_name": "Dana", "last_name": "Okafor", "employee_number": "C-1"})).await.expect(201);
        let m = t.post("/api/v1/members", json!({"first_name": "Ava", "last_name": "Smith", "group_ids": [a["id"]]})).await.expect(201);
        let mid = id(&m);

        let edit = page(t, &format!("/members/{mid}/edit"), &cookie).await;
        assert_eq!(edit.status, 200);
        assert!(edit.text.contains("value=\"Ava\"") && edit.text.contains("Okafor, Dana · C-1"));
        assert!(!edit.text.contains(&format!("<option value=\"{mid}\"")), "a member is not offered as their own supervisor");

        // Choosing themself as supervisor (a forged choice) is refused beside the field, as typed.
        let forged = body(&csrf, &[("version", "1"), ("first_name", "Ava"), ("last_name", "Smith"), ("position", "Captain"),
            ("supervisor_member_id", &mid), ("group_ids", &id(&b))]);
        let refused = form(t, &format!("/members/{mid}/edit"), &cookie, &forged).await;
        assert_eq!(refused.status, 422);
        assert!(refused.text.contains("Supervisor: a member cannot supervise themself."));
        assert!(refused.text.contains("value=\"Captain\""));
        assert_eq!(member_json(t, &mid).await["version"], 1);

        let sent = body(&csrf, &[("version", "1"), ("first_name", "Ava"), ("last_name", "Smith-Jones"), ("email", ""),
            ("employee_number", "E-5"), ("position", "Captain"), ("supervisor_member_id", &id(&chief)), ("group_ids", &id(&b))]);
        let saved = form(t, &format!("/members/{mid}/edit"), &cookie, &sent).await;
        assert_eq!(saved.status, 303, "{}", saved.text);
        let after = member_json(t, &mid).await;
        assert_eq!((after["last_name"].as_str(), after["position"].as_str(), after["supervisor_member_id"].as_str()),
            (Some("Smith-Jones"), Some("Captain"), Some(id(&chief).as_str())));
        assert_eq!(after["group_ids"], json!([b["id"]]));
        let profile = follow(t, &saved, &cookie).await;
        assert!(profile.text.contains("Ava Smith-Jones was saved."));
        assert!(profile.text.contains("Supervisor: <a href=\"/members/") && profile.text.contains("Okafor, Dana"));
        assert!(profile.text.contains(&format!("href=\"/members/{mid}/edit\"")), "the member page links to the edit form");

        // A form read before that save is stale: refused, what was typed kept.
        let stale = form(t, &format!("/members/{mid}/edit"), &cookie, &body(&csrf, &[("version", "1"), ("first_name", "Eve"), ("last_name", "Late")])).await;
        assert_eq!(stale.status, 409);
        assert!(stale.text.contains("value=\"Eve\"") && stale.text.contains("reload the page"));
        assert_eq!(member_json(t, &mid).await["first_name"], "Ava");
    }

    async fn deactivating_from_the_page_ends_the_members_sign_in_and_keeps_history(t) {
        let (cookie, csrf) = admin(t).await;
        let ty = CredentialTypeBuilder::new("CPR").publish(t).await;
        let m = create_member(t, "Ava", "Smith").await;
        let mid = id(&m);
        t.post("/api/v1/assignments", json!({"credential_type_id": ty, "mode": "completion_period",
            "period_start": "2026-01-01", "period_end": "2026-12-31", "member_ids": [mid]})).await.expect(200);
        let (theirs, _) = session(t, "ava@test.example", Role::Member, Some(&mid)).await;
        let token = t.token(Role::Member, Some(&mid)).await;
        assert_eq!(page(t, "/me", &theirs).await.status, 200);

        let done = form(t, &format!("/members/{mid}/deactivate"), &cookie, &body(&csrf, &[])).await;
        assert_eq!(done.status, 303);
        let shown = follow(t, &done, &cookie).await;
        assert!(shown.text.contains("is deactivated") && shown.text.contains("Reactivate"));
        assert!(shown.text.contains("CPR card"), "their credentials stay");
        assert_eq!(page(t, "/me", &theirs).await.status, 303, "their session ended");
        t.send(axum::http::Method::GET, "/api/v1/members", Some(&token), None).await.problem(401);
        assert_eq!(member_json(t, &mid).await["active"], false);

        let version = member_json(t, &mid).await["version"].to_string();
        let back = form(t, &format!("/members/{mid}/reactivate"), &cookie, &body(&csrf, &[("version", &version)])).await;
        assert_eq!(back.status, 303);
        assert_eq!(member_json(t, &mid).await["active"], true);
        t.send(axum::http::Method::GET, "/api/v1/members", Some(&token), None).await.problem(401);
    }

    async fn a_member_page_assigns_one_credential_type(t) {
        let (cookie, csrf) = session(t, "officer@test.example", Role::Officer, None).await;
        let ty = CredentialTypeBuilder::new("CPR").publish(t).await;
        t.post("/api/v1/credential-types", json!({"code": "DRAFT", "name": "Draft only"})).await.expect(201);
        let m = create_member(t, "Ava", "Smith").await;
        let mid = id(&m);
        let profile = page(t, &format!("/members/{mid}"), &cookie).await;
        assert!(profile.text.contains("Assign a credential") && profile.text.contains("CPR card"));
        assert!(!profile.text.contains("Draft only"), "only published types are offered");
        assert!(!profile.text.contains(&format!("/members/{mid}/edit")), "officers do not edit members");

        let bad = form(t, &format!("/members/{mid}/assign"), &cookie, &body(&csrf, &[("credential_type_id", &ty),
            ("mode", "completion_period"), ("period_start", "2026-03-01"), ("period_end", "soon")])).await;
        assert_eq!(bad.status, 303);
        assert!(follow(t, &bad, &cookie).await.text.contains("is not a date (YYYY-MM-DD)"));
        let ok = form(t, &format!("/members/{mid}/assign"), &cookie, &body(&csrf, &[("credential_type_id", &ty),
            ("mode", "completion_period"), ("period_start", "2026-03-01"), ("period_end", "2026-06-30")])).await;
        assert_eq!(ok.status, 303);
        assert!(follow(t, &ok, &cookie).await.text.contains("Assigned"));
        let creds = t.get(&format!("/api/v1/credentials?member_id={mid}")).await.expect(200);
        assert_eq!(creds["items"].as_array().unwrap().len(), 1);
        assert_eq!((creds["items"][0]["status"].as_str(), creds["items"][0]["open_period"]["end"].as_str()),
            (Some("ready_to_be_issued"), Some("2026-06-30")), "a period to work in (the type has no requirements)");
        let twice = form(t, &format!("/members/{mid}/assign"), &cookie, &body(&csrf, &[("credential_type_id", &ty),
            ("mode", "active_with_period"), ("issue_date", "2026-02-01")])).await;
        assert!(follow(t, &twice, &cookie).await.text.contains("already holds this credential"));
        assert_eq!(t.get(&format!("/api/v1/credentials?member_id={mid}")).await.expect(200)["items"].as_array().unwrap().len(), 1);
    }

    async fn groups_pages_create_rename_and_change_members(t) {
        let (cookie, csrf) = admin(t).await;
        let created = form(t, "/groups", &cookie, &body(&csrf, &[("name", "B Shift"), ("kind", "shift")])).await;
        assert_eq!(created.status, 303);
        let gid = created.headers["location"].to_str().unwrap().trim_start_matches("/groups/").to_string();
        let dup = form(t, "/groups", &cookie, &body(&csrf, &[("name", "B Shift"), ("kind", "station")])).await;
        assert_eq!(dup.status, 422);
        assert!(dup.text.contains("Name is already the name of another group."));
        assert!(dup.text.contains("value=\"B Shift\"") && dup.text.contains("<option value=\"station\" selected>"));

        let ava = t.post("/api/v1/members", json!({"first_name": "Ava", "last_name": "Smith", "employee_number": "E-1"})).await.expect(201);
        let liam = t.post("/api/v1/members", json!({"first_name": "Liam", "last_name": "Smithers"})).await.expect(201);
        let search = page(t, &format!("/groups/{gid}?find=smith"), &cookie).await;
        assert_eq!(search.status, 200);
        assert!(search.text.contains("Smith, Ava") && search.text.contains("Smithers, Liam"));
        let add = body(&csrf, &[("find", "smith"), ("member_ids", &id(&ava)), ("member_ids", &id(&liam))]);
        let added = form(t, &format!("/groups/{gid}/members/add"), &cookie, &add).await;
        assert_eq!(added.status, 303);
        assert_eq!(added.headers["location"], format!("/groups/{gid}?find=smith"));
        let shown = follow(t, &added, &cookie).await;
        assert!(shown.text.contains("2 members joined B Shift.") && shown.text.contains("<span class=\"badge s-not_started\">B Shift</span>"), "the picker shows each member's groups");
        assert_eq!(t.get(&format!("/api/v1/groups/{gid}")).await.expect(200)["member_count"], 2);
        let list = page(t, "/groups", &cookie).await;
        assert!(list.text.contains("B Shift") && list.text.contains("data-label=\"Members today\">2<"));

        let removed = form(t, &format!("/groups/{gid}/members/remove"), &cookie, &body(&csrf, &[("member_ids", &id(&liam))])).await;
        assert!(follow(t, &removed, &cookie).await.text.contains("1 member left B Shift"));
        assert_eq!(t.get(&format!("/api/v1/members/{}", id(&liam))).await.expect(200)["group_ids"], json!([]));
        let none = form(t, &format!("/groups/{gid}/members/remove"), &cookie, &body(&csrf, &[])).await;
        assert!(follow(t, &none, &cookie).await.text.contains("Tick at least one member to remove."));
        let forged = form(t, &format!("/groups/{gid}/members/remove"), &cookie, &format!("member_ids={}", id(&ava))).await;
        assert_eq!(forged.status, 400);
        assert_eq!(t.get(&format!("/api/v1/groups/{gid}")).await.expect(200)["member_count"], 1);

        let renamed = form(t, &format!("/groups/{gid}"), &cookie, &body(&csrf, &[("version", "1"), ("name", "Bravo Shift"), ("kind", "shift")])).await;
        assert_eq!(renamed.status, 303);
        let g = t.get(&format!("/api/v1/groups/{gid}")).await.expect(200);
        assert_eq!(g["name"], "Bravo Shift");
        let blank = form(t, &format!("/groups/{gid}"), &cookie, &body(&csrf, &[("version", "2"), ("name", " "), ("kind", "planet")])).await;
        assert_eq!(blank.status, 422);
        assert!(blank.text.contains("Name must not be empty.") && blank.text.contains("Kind must be one of"));
        let members = page(t, &format!("/groups/{gid}"), &cookie).await;
        let today = members.text.split("<h2>Add members</h2>").next().unwrap();
        assert!(today.contains("Smith, Ava") && !today.contains("Smithers, Liam"));
    }

    async fn another_agencys_members_and_groups_are_404_on_pages(t) {
        let (cookie, csrf) = admin(t).await;
        let other = t.other_agency_admin().await;
        let post = axum::http::Method::POST;
        let theirs = t.send(post.clone(), "/api/v1/members", Some(&other), Some(json!({"first_name": "Other", "last_name": "Member"}))).await.expect(201);
        let group = t.send(post, "/api/v1/groups", Some(&other), Some(json!({"name": "Their Station"}))).await.expect(201);
        let ours = create_member(t, "Ava", "Smith").await;
        let (mid, gid) = (id(&theirs), id(&group));
        for path in [format!("/members/{mid}"), format!("/members/{mid}/edit"), format!("/groups/{gid}")] {
            assert_eq!(page(t, &path, &cookie).await.status, 404, "{path}");
        }
        for (path, fields) in [
            (format!("/members/{mid}/edit"), vec![("version", "1"), ("first_name", "X"), ("last_name", "Y")]),
            (format!("/members/{mid}/deactivate"), vec![]),
            (format!("/members/{mid}/reactivate"), vec![("version", "1")]),
            (format!("/members/{mid}/assign"), vec![("mode", "completion_period")]),
            (format!("/groups/{gid}"), vec![("version", "1"), ("name", "Mine"), ("kind", "station")]),
            (format!("/groups/{gid}/members/add"), vec![("member_ids", ours["id"].as_str().unwrap())]),
            (format!("/groups/{gid}/members/remove"), vec![("member_ids", ours["id"].as_str().unwrap())]),
        ] {
            assert_eq!(form(t, &path, &cookie, &body(&csrf, &fields)).await.status, 404, "{path}");
        }
        // Nor can one of theirs be made our member's supervisor.
        let forged = body(&csrf, &[("version", "1"), ("first_name", "Ava"), ("last_name", "Smith"), ("supervisor_member_id", &mid)]);
        let refused = form(t, &format!("/members/{}/edit", id(&ours)), &cookie, &forged).await;
        assert_eq!(refused.status, 422);
        assert!(refused.text.contains("is not a member of this agency"));
        let list = page(t, "/members?active=all", &cookie).await;
        assert!(!list.text.contains("Other") && list.text.contains("1 member matches."));
        assert!(!page(t, "/groups", &cookie).await.text.contains("Their Station"));
        let theirs_now = t.send(axum::http::Method::GET, &format!("/api/v1/members/{mid}"), Some(&other), None).await.expect(200);
        assert_eq!((theirs_now["active"].as_bool(), theirs_now["version"].as_i64()), (Some(true), Some(1)));
    }

    async fn people_pages_answer_each_role_as_the_api_does(t) {
        let m = create_member(t, "Ava", "Smith").await;
        let spare = create_member(t, "Liam", "Brown").await;
        let g = t.post("/api/v1/groups", json!({"name": "Station 1", "kind": "station"})).await.expect(201);
        let ty = CredentialTypeBuilder::new("CPR").publish(t).await;
        let (mid, sid, gid) = (id(&m), id(&spare), id(&g));
        // A credential the member holds, for its badge download.
        let held = t.post("/api/v1/assignments", json!({"credential_type_id": ty, "member_ids": [mid], "mode": "active_with_period", "issue_date": "2026-01-15"})).await.expect(200);
        let held = held["created"][0].as_str().unwrap().to_string();
        let sessions = [
            session(t, "admin@test.example", Role::Admin, None).await,
            session(t, "officer@test.example", Role::Officer, None).await,
            session(t, "auditor@test.example", Role::Auditor, None).await,
            session(t, "member@test.example", Role::Member, Some(&mid)).await,
        ];
        let read_all = [true, true, true, false];
        let officers = [true, true, false, false];
        let admin_only = [true, false, false, false];
        // (path, form fields or None for a GET, who may: [admin, officer, auditor, member])
        let rows: Vec<MatrixRow> = vec![
            ("/members".into(), None, read_all),
            (format!("/members?q=smith&group_id={gid}&active=all"), None, read_all),
            ("/members/new".into(), None, admin_only),
            ("/members.csv?active=all".into(), None, read_all),
            (format!("/members.xlsx?group_id={gid}"), None, read_all),
            ("/audit.csv".into(), None, read_all),
            ("/audit.xlsx?action=create".into(), None, read_all),
            (format!("/members/{mid}"), None, [true, true, true, true]),
            (format!("/members/{mid}/edit"), None, admin_only),
            ("/groups".into(), None, read_all),
            (format!("/groups/{gid}?find=smith"), None, read_all),
            ("/members".into(), Some(vec![("first_name", "New".into()), ("last_name", "Hire".into())]), admin_only),
            (format!("/members/{sid}/edit"), Some(vec![("version", "1".into()), ("first_name", "Liam".into()), ("last_name", "Brown".into())]), admin_only),
            (format!("/members/{sid}/assign"), Some(vec![("credential_type_id", ty.clone()), ("mode", "completion_period".into()), ("period_end", "2026-12-31".into())]), officers),
            ("/groups".into(), Some(vec![("name", "Station 2".into()), ("kind", "station".into())]), admin_only),
            (format!("/groups/{gid}"), Some(vec![("version", "1".into()), ("name", "Station One".into()), ("kind", "station".into())]), admin_only),
            (format!("/groups/{gid}/members/add"), Some(vec![("member_ids", sid.clone())]), admin_only),
            (format!("/groups/{gid}/members/remove"), Some(vec![("member_ids", sid.clone())]), admin_only),
            (format!("/members/{sid}/deactivate"), Some(vec![]), admin_only),
            (format!("/members/{sid}/reactivate"), Some(vec![("version", "3".into())]), admin_only),
            (format!("/credentials/{held}/badge"), None, [true, true, true, true]),
            // Webhooks (admins) and an officer's calendar link.
            ("/webhooks".into(), None, admin_only),
            ("/webhooks".into(), Some(vec![("url", "https://hooks.example.org/x".into()), ("events", "credential.issued".into()), ("secret", "0123456789abcdef".into())]), admin_only),
            ("/calendar/new".into(), Some(vec![("group_id", gid.clone())]), officers),
            // Starter credential types: listed on the types page, copied by admins (#20).
            ("/credential-types".into(), None, read_all),
            ("/credential-type-templates/nremt-emt/copy".into(), Some(vec![("code", "".into())]), admin_only),
            // Single sign-on (#21): the provider's page and its forms are the admins'. (Saving
            // a provider is in oidc.rs, where one runs.)
            ("/settings/sign-in".into(), None, admin_only),
            ("/settings/sign-in/remove".into(), Some(vec![]), admin_only),
        ];
        for (path, fields, allowed) in rows {
            // The admin goes last, so every other role sees the rows unchanged.
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
        // The navigation shows Members and Groups to those who may read them.
        for (i, (cookie, _)) in sessions.iter().enumerate() {
            let home = page(t, if i == 3 { "/me" } else { "/" }, cookie).await;
            assert_eq!(home.text.contains("href=\"/members\""), i < 3, "role {i}");
            assert_eq!(home.text.contains("href=\"/groups\""), i < 3, "role {i}");
        }
    }
}
