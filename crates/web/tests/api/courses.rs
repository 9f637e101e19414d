use serde_json::json;

use crate::both_databases;
use crate::harness::TestApp;

pub async fn create_course(t: &TestApp, code: &str, passing_grade: Option<f64>) -> String {
    let body = json!({"code": code, "name": format!("{code} course"), "hours": 4, "category": "CE", "passing_grade": passing_grade});
    t.post("/api/v1/courses", body).await.expect(201)["id"]
        .as_str()
        .unwrap()
        .to_string()
}

both_databases! {
    async fn courses_are_created_read_and_updated(t) {
        let c = t.post("/api/v1/courses", json!({"code": "CPR-BLS", "name": "CPR / BLS", "hours": 4, "category": "Medical", "graded": true, "passing_grade": 80})).await.expect(201);
        assert_eq!((c["hours"].as_f64(), c["graded"].as_bool(), c["passing_grade"].as_f64()), (Some(4.0), Some(true), Some(80.0)));
        let id = c["id"].as_str().unwrap();
        assert_eq!(t.get(&format!("/api/v1/courses/{id}")).await.expect(200), c);
        let u = t.patch(&format!("/api/v1/courses/{id}"), json!({"version": 1, "passing_grade": 84, "category": null})).await.expect(200);
        assert_eq!((u["passing_grade"].as_f64(), u["category"].as_str(), u["version"].as_i64()), (Some(84.0), None, Some(2)));
        assert_eq!(t.get("/api/v1/courses").await.expect(200)["items"].as_array().unwrap().len(), 1);
    }

    async fn course_rules_are_checked(t) {
        create_course(t, "HAZ", None).await;
        assert_eq!(t.post("/api/v1/courses", json!({"code": "HAZ", "name": "Again"})).await.invalid_fields(), ["code"]);
        let fields = t.post("/api/v1/courses", json!({"code": "bad code", "name": "", "hours": -1, "graded": false, "passing_grade": 120})).await.invalid_fields();
        assert_eq!(fields, ["code", "name", "hours", "passing_grade", "passing_grade"]);
    }
}
