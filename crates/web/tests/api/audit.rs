use serde_json::json;

use crate::both_databases;
use crate::credential_types::emt_type;

both_databases! {
    async fn every_change_is_audited_with_before_and_after(t) {
        let ty = emt_type(t).await;
        let id = ty["id"].as_str().unwrap();
        t.patch(&format!("/api/v1/credential-types/{id}"), json!({"version": 1, "name": "EMT-B (State)"})).await.expect(200);
        t.post(&format!("/api/v1/credential-types/{id}/publish"), json!({})).await.expect(200);
        let events = t.get(&format!("/api/v1/audit-events?subject_id={id}")).await.expect(200);
        let items = events["items"].as_array().unwrap();
        let actions: Vec<&str> = items.iter().map(|e| e["action"].as_str().unwrap()).collect();
        assert_eq!(actions, ["publish", "update", "create"], "newest first");
        assert_eq!(items[1]["before"]["name"], "EMT-Basic");
        assert_eq!(items[1]["after"]["name"], "EMT-B (State)");
        assert!(items[2]["before"].is_null());
        assert!(items[0]["actor"].as_str().unwrap().starts_with("token:"));
        assert_eq!(items[0]["subject_id"], id);

        let all = t.get("/api/v1/audit-events?limit=2").await.expect(200);
        assert_eq!(all["items"].as_array().unwrap().len(), 2);
        let next = t.get(&format!("/api/v1/audit-events?limit=2&cursor={}", all["next_cursor"].as_str().unwrap())).await.expect(200);
        assert!(next["items"][0]["id"] != all["items"][1]["id"]);
    }

    async fn the_audit_log_refuses_update_and_delete(t) {
        emt_type(t).await;
        let mut tx = t.app.store.begin().await.unwrap();
        let result = credence_store::query("UPDATE audit_events SET actor = 'forged'").execute(&mut tx).await;
        assert!(result.is_err(), "UPDATE must be refused");
        drop(tx);
        let mut tx = t.app.store.begin().await.unwrap();
        let result = credence_store::query("DELETE FROM audit_events").execute(&mut tx).await;
        assert!(result.is_err(), "DELETE must be refused");
    }
}
