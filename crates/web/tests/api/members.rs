use axum::http::Method;
use serde_json::json;

use crate::both_databases;
use crate::harness::TestApp;

pub async fn create_member(t: &TestApp, first: &str, last: &str) -> serde_json::Value {
    t.post(
        "/api/v1/members",
        json!({"first_name": first, "last_name": last}),
    )
    .await
    .expect(201)
}

both_databases! {
    async fn names_are_stored_without_bidirectional_controls(t) {
        let m = t.post("/api/v1/members", json!({"first_name": "\u{200F}Ava", "last_name": "Smith\u{202E}cod.exe"})).await.expect(201);
        assert_eq!((m["first_name"].as_str(), m["last_name"].as_str()), (Some("Ava"), Some("Smithcod.exe")));
        let fields = t.post("/api/v1/members", json!({"first_name": "\u{2066}\u{2069}", "last_name": "Lee"})).await.invalid_fields();
        assert_eq!(fields, ["first_name"]);
        let g = t.post("/api/v1/groups", json!({"name": "Station\u{202D} 9"})).await.expect(201);
        assert_eq!(g["name"], "Station 9");
        let c = t.post("/api/v1/courses", json!({"code": "BIDI1", "name": "CPR\u{202B}"})).await.expect(201);
        assert_eq!(c["name"], "CPR");
        let ty = t.post("/api/v1/credential-types", json!({"code": "BIDI2", "name": "\u{200E}Hazmat"})).await.expect(201);
        assert_eq!(ty["name"], "Hazmat");
        let renamed = t.patch(&format!("/api/v1/groups/{}", g["id"].as_str().unwrap()), json!({"name": "\u{2067}Station 10", "version": g["version"]})).await.expect(200);
        assert_eq!(renamed["name"], "Station 10");
    }

    async fn create_read_update_and_deactivate_a_member(t) {
        let created = t.post("/api/v1/members", json!({
            "first_name": " Dana ", "last_name": "Okafor", "email": "Dana.Okafor@Example.org", "employee_number": "E-1001"
        })).await;
        assert_eq!(created.headers["location"].to_str().unwrap(), format!("/api/v1/members/{}", created.body["id"].as_str().unwrap()));
        let m = created.expect(201);
        assert_eq!((m["first_name"].as_str(), m["email"].as_str(), m["active"].as_bool(), m["version"].as_i64()),
            (Some("Dana"), Some("dana.okafor@example.org"), Some(true), Some(1)));
        let id = m["id"].as_str().unwrap();
        assert!(id.starts_with("mem_"));
        assert_eq!(t.get(&format!("/api/v1/members/{id}")).await.expect(200), m);

        let updated = t.patch(&format!("/api/v1/members/{id}"), json!({"version": 1, "last_name": "Okafor-Reyes", "email": null})).await.expect(200);
        assert_eq!((updated["last_name"].as_str(), updated["email"].as_str(), updated["version"].as_i64()), (Some("Okafor-Reyes"), None, Some(2)));
        assert_eq!(updated["employee_number"], "E-1001", "absent fields are left alone");

        let stale = t.patch(&format!("/api/v1/members/{id}"), json!({"version": 1, "first_name": "X"})).await.problem(409);
        assert!(stale["detail"].as_str().unwrap().contains("changed"));

        let gone = t.delete(&format!("/api/v1/members/{id}")).await.expect(200);
        assert_eq!(gone["active"], false);
        assert_eq!(t.get(&format!("/api/v1/members/{id}")).await.expect(200)["active"], false, "history stays");
    }

    async fn members_list_is_sorted_searchable_and_paged(t) {
        for (first, last) in [("Ava", "Smith"), ("Liam", "Brown"), ("Noah", "Adeyemi"), ("Emma", "Smith"), ("Mia", "Lee")] {
            create_member(t, first, last).await;
        }
        let page1 = t.get("/api/v1/members?limit=2").await.expect(200);
        let names: Vec<&str> = page1["items"].as_array().unwrap().iter().map(|m| m["last_name"].as_str().unwrap()).collect();
        assert_eq!(names, ["Adeyemi", "Brown"]);
        let cursor = page1["next_cursor"].as_str().unwrap();
        let page2 = t.get(&format!("/api/v1/members?limit=2&cursor={cursor}")).await.expect(200);
        let names: Vec<&str> = page2["items"].as_array().unwrap().iter().map(|m| m["first_name"].as_str().unwrap()).collect();
        assert_eq!(names, ["Mia", "Ava"]);
        let cursor = page2["next_cursor"].as_str().unwrap();
        let page3 = t.get(&format!("/api/v1/members?limit=2&cursor={cursor}")).await.expect(200);
        assert_eq!(page3["items"].as_array().unwrap().len(), 1);
        assert!(page3["next_cursor"].is_null());

        let smiths = t.get("/api/v1/members?q=smi").await.expect(200);
        assert_eq!(smiths["items"].as_array().unwrap().len(), 2);
    }

    async fn duplicate_employee_numbers_and_emails_are_refused(t) {
        t.post("/api/v1/members", json!({"first_name": "A", "last_name": "B", "employee_number": "7", "email": "a@x.org"})).await.expect(201);
        let fields = t.post("/api/v1/members", json!({"first_name": "C", "last_name": "D", "employee_number": "7"})).await.invalid_fields();
        assert_eq!(fields, ["employee_number"]);
        let fields = t.post("/api/v1/members", json!({"first_name": "C", "last_name": "D", "email": "A@x.org"})).await.invalid_fields();
        assert_eq!(fields, ["email"]);
        assert_eq!(t.get("/api/v1/members").await.expect(200)["items"].as_array().unwrap().len(), 1, "nothing was written");
    }

    async fn members_join_groups_on_creation(t) {
        let station = t.post("/api/v1/groups", json!({"name": "Station 1", "kind": "station"})).await.expect(201);
        let gid = station["id"].as_str().unwrap();
        let m = t.post("/api/v1/members", json!({"first_name": "A", "last_name": "B", "group_ids": [gid]})).await.expect(201);
        assert_eq!(m["group_ids"], json!([gid]));
        let listed = t.get(&format!("/api/v1/members?group_id={gid}")).await.expect(200);
        assert_eq!(listed["items"][0]["id"], m["id"]);
        let fields = t.post("/api/v1/members", json!({"first_name": "A", "last_name": "B", "group_ids": ["grp_999"]})).await.invalid_fields();
        assert_eq!(fields, ["group_ids"]);
    }

    async fn a_member_is_found_by_e_mail_whatever_its_capitals(t) {
        let m = t.post("/api/v1/members", json!({"first_name": "Ava", "last_name": "Smith", "email": "Ava.Smith@Station1.Test"})).await.expect(201);
        // Rows written before e-mails were folded (the demo, imports) keep their capitals.
        let mut tx = t.app.store.begin().await.unwrap();
        credence_store::query("UPDATE members SET email = 'Ava.Smith@Station1.Test'").execute(&mut tx).await.unwrap();
        tx.commit().await.unwrap();
        let found = t.app.member_id_by_email(t.agency_id, "ava.smith@station1.test").await.unwrap();
        assert_eq!(found.to_string(), m["id"].as_str().unwrap());
        let found = t.app.member_id_by_email(t.agency_id, "  AVA.SMITH@STATION1.TEST ").await;
        assert!(found.is_ok(), "the CLI's `user create --member` finds demo members typed in any case");
        assert!(t.app.member_id_by_email(t.agency_id, "nobody@station1.test").await.is_err());
    }
}

/// The `items` of a members list, as "Last, First" names.
async fn names(t: &TestApp, query: &str) -> Vec<String> {
    t.get(&format!("/api/v1/members?{query}")).await.expect(200)["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            format!(
                "{}, {}",
                m["last_name"].as_str().unwrap(),
                m["first_name"].as_str().unwrap()
            )
        })
        .collect()
}

both_databases! {
    async fn members_are_found_by_name_number_or_e_mail_in_any_case(t) {
        let station = t.post("/api/v1/groups", json!({"name": "Station 1", "kind": "station"})).await.expect(201);
        let ava = t.post("/api/v1/members", json!({"first_name": "Ava", "last_name": "Smith", "email": "Ava.Smith@Station1.Test",
            "employee_number": "E-1001", "group_ids": [station["id"]]})).await.expect(201);
        let liam = t.post("/api/v1/members", json!({"first_name": "Liam", "last_name": "Brown", "email": "lb@county.test",
            "employee_number": "B-77"})).await.expect(201);
        t.post("/api/v1/members", json!({"first_name": "Zoë", "last_name": "Émile", "employee_number": "E-2002"})).await.expect(201);

        for (q, want) in [
            ("SMITH", vec!["Smith, Ava"]),
            ("mit", vec!["Smith, Ava"]),
            ("ava+smith", vec!["Smith, Ava"]),
            ("Smith%2C+Ava", vec!["Smith, Ava"]),
            ("e-10", vec!["Smith, Ava"]),
            ("E-", vec!["Smith, Ava", "Émile, Zoë"]),
            ("b-77", vec!["Brown, Liam"]),
            ("STATION1.test", vec!["Smith, Ava"]),
            ("LB%40COUNTY", vec!["Brown, Liam"]),
            ("ÉMILE", vec!["Émile, Zoë"]),
            ("zoë", vec!["Émile, Zoë"]),
            // A wildcard is a character like any other.
            ("%25", vec![]),
            ("_", vec![]),
            ("ava+brown", vec![]),
        ] {
            assert_eq!(names(t, &format!("q={q}")).await, want, "q={q}");
        }
        let gid = station["id"].as_str().unwrap();
        assert_eq!(names(t, &format!("group_id={gid}")).await, ["Smith, Ava"]);
        assert_eq!(names(t, &format!("group_id={gid}&q=brown")).await, Vec::<String>::new());

        let lid = liam["id"].as_str().unwrap();
        t.delete(&format!("/api/v1/members/{lid}")).await.expect(200);
        assert_eq!(names(t, "active=false").await, ["Brown, Liam"]);
        assert_eq!(names(t, "active=true").await, ["Smith, Ava", "Émile, Zoë"]);
        assert_eq!(names(t, "").await.len(), 3, "without `active`, everyone");
        assert_eq!(names(t, "active=true&q=b-77").await, Vec::<String>::new());

        // A search pages like the whole list.
        let first = t.get("/api/v1/members?q=e-&limit=1").await.expect(200);
        assert_eq!(first["items"][0]["id"], ava["id"]);
        let cursor = first["next_cursor"].as_str().unwrap();
        let rest = t.get(&format!("/api/v1/members?q=e-&limit=1&cursor={cursor}")).await.expect(200);
        assert_eq!(rest["items"][0]["first_name"], "Zoë");
        assert!(rest["next_cursor"].is_null());
        assert_eq!(t.get("/api/v1/members?active=maybe").await.invalid_fields(), ["active"]);
    }

    async fn position_and_supervisor_are_kept_and_checked(t) {
        let chief = t.post("/api/v1/members", json!({"first_name": "Dana", "last_name": "Okafor", "position": "Chief"})).await.expect(201);
        let cid = chief["id"].as_str().unwrap();
        let m = t.post("/api/v1/members", json!({"first_name": "Ava", "last_name": "Smith", "position": "  Lieutenant ",
            "supervisor_member_id": cid})).await.expect(201);
        assert_eq!((m["position"].as_str(), m["supervisor_member_id"].as_str()), (Some("Lieutenant"), Some(cid)));
        let id = m["id"].as_str().unwrap().to_string();
        assert_eq!(t.get(&format!("/api/v1/members/{id}")).await.expect(200), m);

        // Someone who is not another active member of this agency cannot supervise.
        let other = t.other_agency_admin().await;
        let theirs = t.send(Method::POST, "/api/v1/members", Some(&other), Some(json!({"first_name": "Other", "last_name": "One"}))).await.expect(201);
        let retired = create_member(t, "Old", "Timer").await;
        t.delete(&format!("/api/v1/members/{}", retired["id"].as_str().unwrap())).await.expect(200);
        for (supervisor, words) in [
            (json!("mem_999999"), "is not a member of this agency"),
            (theirs["id"].clone(), "is not a member of this agency"),
            (json!(id), "cannot supervise themself"),
            (retired["id"].clone(), "is inactive"),
        ] {
            let p = t.patch(&format!("/api/v1/members/{id}"), json!({"version": 1, "supervisor_member_id": supervisor})).await.problem(422);
            assert_eq!(p["errors"][0]["field"], "supervisor_member_id", "{supervisor}");
            assert!(p["errors"][0]["message"].as_str().unwrap().contains(words), "{supervisor}: {p}");
        }
        let fields = t.patch(&format!("/api/v1/members/{id}"), json!({"version": 1, "supervisor_member_id": "grp_1"})).await.invalid_fields();
        assert_eq!(fields, ["supervisor_member_id"], "an id of another kind");
        let fields = t.post("/api/v1/members", json!({"first_name": "New", "last_name": "Hire", "supervisor_member_id": theirs["id"]})).await.invalid_fields();
        assert_eq!(fields, ["supervisor_member_id"]);
        let fields = t.patch(&format!("/api/v1/members/{id}"), json!({"version": 1, "position": "x".repeat(101)})).await.invalid_fields();
        assert_eq!(fields, ["position"]);
        assert_eq!(t.get(&format!("/api/v1/members/{id}")).await.expect(200), m, "nothing was written");
        assert_eq!(names(t, "q=hire").await, Vec::<String>::new());

        // A chain of supervisors never goes round in a circle, however long.
        let ben = t.post("/api/v1/members", json!({"first_name": "Ben", "last_name": "Ito", "supervisor_member_id": id})).await.expect(201);
        for (under, words) in [(id.clone(), "Ava Smith already reports to this member"), (ben["id"].as_str().unwrap().to_string(), "Ben Ito already reports")] {
            let p = t.patch(&format!("/api/v1/members/{cid}"), json!({"version": 1, "supervisor_member_id": under})).await.problem(422);
            assert_eq!(p["errors"][0]["field"], "supervisor_member_id");
            assert!(p["errors"][0]["message"].as_str().unwrap().contains(words), "{p}");
        }
        assert!(t.get(&format!("/api/v1/members/{cid}")).await.expect(200)["supervisor_member_id"].is_null(), "nothing was written");

        // Clearing both; an unrelated change keeps a supervisor who was deactivated since.
        let cleared = t.patch(&format!("/api/v1/members/{id}"), json!({"version": 1, "position": null, "supervisor_member_id": null})).await.expect(200);
        assert!(cleared["position"].is_null() && cleared["supervisor_member_id"].is_null());
        let again = t.patch(&format!("/api/v1/members/{id}"), json!({"version": 2, "supervisor_member_id": cid})).await.expect(200);
        t.delete(&format!("/api/v1/members/{cid}")).await.expect(200);
        let renamed = t.patch(&format!("/api/v1/members/{id}"), json!({"version": again["version"], "last_name": "Smith-Jones"})).await.expect(200);
        assert_eq!(renamed["supervisor_member_id"], cid);
    }

    async fn a_member_moves_between_groups_with_a_patch(t) {
        let a = t.post("/api/v1/groups", json!({"name": "A Shift", "kind": "shift"})).await.expect(201);
        let b = t.post("/api/v1/groups", json!({"name": "B Shift", "kind": "shift"})).await.expect(201);
        let m = t.post("/api/v1/members", json!({"first_name": "Ava", "last_name": "Smith", "group_ids": [a["id"]]})).await.expect(201);
        let id = m["id"].as_str().unwrap();
        let moved = t.patch(&format!("/api/v1/members/{id}"), json!({"version": 1, "group_ids": [b["id"]]})).await.expect(200);
        assert_eq!(moved["group_ids"], json!([b["id"]]));
        assert_eq!(t.get(&format!("/api/v1/members/{id}")).await.expect(200)["group_ids"], json!([b["id"]]));
        for (g, n) in [(&a, 0), (&b, 1)] {
            assert_eq!(t.get(&format!("/api/v1/groups/{}", g["id"].as_str().unwrap())).await.expect(200)["member_count"], n);
        }
        // Who was in A Shift today stays answerable from the history (joined and left today).
        let fields = t.patch(&format!("/api/v1/members/{id}"), json!({"version": 2, "group_ids": ["grp_999999"]})).await.invalid_fields();
        assert_eq!(fields, ["group_ids"]);
        assert_eq!(t.get(&format!("/api/v1/members/{id}")).await.expect(200)["version"], 2, "nothing was written");
    }

    async fn deactivating_a_member_revokes_the_tokens_and_sessions_of_their_logins(t) {
        use credence_app::Role;
        let m = create_member(t, "Ava", "Smith").await;
        let mid = m["id"].as_str().unwrap();
        // An officer whose login and token speak for this member.
        let token = t.token(Role::Officer, Some(mid)).await;
        let member_id = mid.parse::<credence_app::ids::MemberId>().ok();
        t.app.create_user(t.agency_id, "ava.officer@test.example", Role::Officer, "a long enough password", member_id).await.unwrap();
        let session = t.app.login("ava.officer@test.example", "a long enough password", "192.0.2.1").await.unwrap().secret;
        t.send(Method::GET, "/api/v1/courses", Some(&token), None).await.expect(200);

        t.patch(&format!("/api/v1/members/{mid}"), json!({"version": 1, "active": false})).await.expect(200);

        t.send(Method::GET, "/api/v1/courses", Some(&token), None).await.problem(401);
        assert!(t.app.web_session(&session).await.is_err());
        let mut db = t.app.store.read().await.unwrap();
        let live_tokens: i64 = credence_store::query("SELECT COUNT(*) FROM api_tokens WHERE member_id = $1 AND revoked_at IS NULL")
            .arg(member_id.unwrap()).scalar(&mut db).await.unwrap();
        let sessions: i64 = credence_store::query("SELECT COUNT(*) FROM sessions s JOIN users u ON u.id = s.user_id WHERE u.member_id = $1")
            .arg(member_id.unwrap()).scalar(&mut db).await.unwrap();
        assert_eq!((live_tokens, sessions), (0, 0), "revoked and ended, not merely refused");
        drop(db);
        // The admin's own token is untouched.
        t.get("/api/v1/courses").await.expect(200);
    }
}
