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
