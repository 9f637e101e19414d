use serde_json::json;

use crate::both_databases;
use crate::members::create_member;

both_databases! {
    async fn groups_are_created_renamed_and_given_members(t) {
        let g = t.post("/api/v1/groups", json!({"name": "A Shift", "kind": "shift"})).await.expect(201);
        let id = g["id"].as_str().unwrap();
        assert_eq!(t.get(&format!("/api/v1/groups/{id}")).await.expect(200), g);
        let renamed = t.patch(&format!("/api/v1/groups/{id}"), json!({"version": 1, "name": "A-Shift"})).await.expect(200);
        assert_eq!((renamed["name"].as_str(), renamed["version"].as_i64()), (Some("A-Shift"), Some(2)));
        t.patch(&format!("/api/v1/groups/{id}"), json!({"version": 1, "name": "Z"})).await.problem(409);

        let a = create_member(t, "Ava", "Smith").await;
        let b = create_member(t, "Liam", "Brown").await;
        let (a, b) = (a["id"].as_str().unwrap(), b["id"].as_str().unwrap());
        let set = t.put(&format!("/api/v1/groups/{id}/members"), json!({"member_ids": [a, b, a]})).await.expect(200);
        assert_eq!(set["member_ids"].as_array().unwrap().len(), 2);
        let set = t.put(&format!("/api/v1/groups/{id}/members"), json!({"member_ids": [b]})).await.expect(200);
        assert_eq!(set["member_ids"], json!([b]));
        assert_eq!(t.get(&format!("/api/v1/members/{a}")).await.expect(200)["group_ids"], json!([]));
        assert_eq!(t.get(&format!("/api/v1/members/{b}")).await.expect(200)["group_ids"], json!([id]));

        let fields = t.put(&format!("/api/v1/groups/{id}/members"), json!({"member_ids": [b, "mem_987654"]})).await.invalid_fields();
        assert_eq!(fields, ["member_ids"]);
        assert_eq!(t.get(&format!("/api/v1/members/{b}")).await.expect(200)["group_ids"], json!([id]), "nothing changed");

        let list = t.get("/api/v1/groups").await.expect(200);
        assert_eq!(list["items"].as_array().unwrap().len(), 1);
    }

    async fn a_group_counts_its_members_today(t) {
        let g = t.post("/api/v1/groups", json!({"name": "B Shift", "kind": "shift"})).await.expect(201);
        assert_eq!(g["member_count"], 0);
        let id = g["id"].as_str().unwrap();
        let a = create_member(t, "Ava", "Smith").await;
        let b = create_member(t, "Liam", "Brown").await;
        let added = t.post(&format!("/api/v1/groups/{id}/members/add"), json!({"member_ids": [a["id"], b["id"]]})).await.expect(200);
        assert_eq!(added["group"]["member_count"], 2);
        assert_eq!(t.get(&format!("/api/v1/groups/{id}")).await.expect(200)["member_count"], 2);
        t.post(&format!("/api/v1/groups/{id}/members/remove"), json!({"member_ids": [a["id"]]})).await.expect(200);
        let one = t.get(&format!("/api/v1/groups/{id}")).await.expect(200);
        assert_eq!(one["member_count"], 1);
        assert_eq!(t.get("/api/v1/groups").await.expect(200)["items"][0]["member_count"], 1);
        // A deactivated member is still in the group (their history stays) and still counted.
        t.delete(&format!("/api/v1/members/{}", b["id"].as_str().unwrap())).await.expect(200);
        let renamed = t.patch(&format!("/api/v1/groups/{id}"), json!({"version": one["version"], "name": "B-Shift"})).await.expect(200);
        assert_eq!(renamed["member_count"], 1);
    }

    async fn group_names_are_unique_and_kinds_known(t) {
        t.post("/api/v1/groups", json!({"name": "Station 2", "kind": "station"})).await.expect(201);
        assert_eq!(t.post("/api/v1/groups", json!({"name": "Station 2", "kind": "station"})).await.invalid_fields(), ["name"]);
        assert_eq!(t.post("/api/v1/groups", json!({"name": "X", "kind": "planet"})).await.invalid_fields(), ["kind"]);
        assert_eq!(t.post("/api/v1/groups", json!({"name": "  "})).await.invalid_fields(), ["name"]);
    }

    async fn every_list_of_ids_pages_with_its_own_cursor(t) {
        for n in 1..=3 {
            t.post("/api/v1/groups", json!({"name": format!("Station {n}"), "kind": "station"})).await.expect(201);
            t.post("/api/v1/courses", json!({"code": format!("C{n}"), "name": format!("Course {n}"), "hours": 1})).await.expect(201);
        }
        for list in ["/api/v1/groups", "/api/v1/courses"] {
            let first = t.get(&format!("{list}?limit=2")).await.expect(200);
            let cursor = first["next_cursor"].as_str().unwrap();
            let rest = t.get(&format!("{list}?limit=2&cursor={cursor}")).await.expect(200);
            assert_eq!(rest["items"].as_array().unwrap().len(), 1, "{list}");
            assert!(rest["next_cursor"].is_null(), "{list}");
        }
    }
}
