//! Builders for the fixtures most tests start from, so a test reads like the workflow it
//! checks: `let cred = Track::of(&ty).active("2026-01-05").build(t).await;`.

use serde_json::{json, Value};

use crate::harness::TestApp;

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_string()
}

/// A published credential type with no requirements (a card that is simply held).
pub struct CredentialTypeBuilder {
    body: Value,
}

impl CredentialTypeBuilder {
    pub fn new(code: &str) -> Self {
        CredentialTypeBuilder {
            body: json!({"code": code, "name": format!("{code} card"), "validity_months": 24, "renewal": "manual"}),
        }
    }

    /// Creates and publishes it; answers its id.
    pub async fn publish(self, t: &TestApp) -> String {
        let ty = t
            .post("/api/v1/credential-types", self.body)
            .await
            .expect(201);
        t.post(
            &format!("/api/v1/credential-types/{}/publish", id(&ty)),
            json!({}),
        )
        .await
        .expect(200);
        id(&ty)
    }
}

/// One member's credential of a type, in the state a test needs.
pub struct Track {
    type_id: String,
    first_name: String,
    assignment: Value,
}

impl Track {
    /// Assigned with a completion period from 2026-01-01 to 2026-12-31 (Not Started).
    pub fn of(type_id: &str) -> Self {
        Track {
            type_id: type_id.to_string(),
            first_name: "Ava".into(),
            assignment: json!({"mode": "completion_period", "period_start": "2026-01-01", "period_end": "2026-12-31"}),
        }
    }

    pub fn for_member(mut self, first_name: &str) -> Self {
        self.first_name = first_name.to_string();
        self
    }

    /// Held: issued on `issue_date` (expiration from the type's validity) with the renewal
    /// period the type's window gives ("active with a completion period").
    pub fn active(mut self, issue_date: &str) -> Self {
        self.assignment = json!({"mode": "active_with_period", "issue_date": issue_date});
        self
    }

    /// Creates the member and assigns the type; answers (member id, credential id).
    pub async fn build(self, t: &TestApp) -> (String, String) {
        let member = t
            .post(
                "/api/v1/members",
                json!({"first_name": self.first_name, "last_name": "Fixture"}),
            )
            .await
            .expect(201);
        let mut body = self.assignment;
        body["credential_type_id"] = json!(self.type_id);
        body["member_ids"] = json!([id(&member)]);
        let created = t.post("/api/v1/assignments", body).await.expect(200);
        (
            id(&member),
            created["created"][0].as_str().unwrap().to_string(),
        )
    }
}
