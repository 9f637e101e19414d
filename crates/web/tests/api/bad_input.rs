//! Malformed, mistyped, oversized and unknown input: a clear 4xx problem, nothing written.

use axum::body::Body;
use axum::http::{header, Method, Request};
use serde_json::json;

use crate::both_databases;
use crate::harness::TestApp;

async fn raw(
    t: &TestApp,
    method: Method,
    path: &str,
    content_type: &str,
    body: Vec<u8>,
) -> crate::harness::Resp {
    let req = Request::builder()
        .method(method)
        .uri(path)
        .header(header::AUTHORIZATION, format!("Bearer {}", t.admin))
        .header(header::CONTENT_TYPE, content_type)
        .body(Body::from(body))
        .unwrap();
    t.send_request(req).await
}

both_databases! {
    async fn malformed_json_is_400(t) {
        let p = raw(t, Method::POST, "/api/v1/members", "application/json", b"{\"first_name\": ".to_vec()).await.problem(400);
        assert!(p["detail"].as_str().unwrap().contains("not valid JSON"));
        raw(t, Method::POST, "/api/v1/members", "text/plain", b"{}".to_vec()).await.problem(415);
    }

    async fn unknown_fields_and_wrong_types_name_the_field(t) {
        assert_eq!(t.post("/api/v1/members", json!({"first_name": "A", "last_name": "B", "nickname": "C"})).await.invalid_fields(), ["nickname"]);
        assert_eq!(t.post("/api/v1/courses", json!({"code": "A", "name": "B", "hours": "four"})).await.invalid_fields(), ["hours"]);
        assert_eq!(t.post("/api/v1/credential-types", json!({"code": "A", "name": "B", "effective_from": "2026-02-30"})).await.invalid_fields(), ["effective_from"]);
        assert_eq!(t.post("/api/v1/credential-types", json!({"code": "A", "name": "B", "requirements": [{"kind": "quiz"}]})).await.invalid_fields(), ["requirements[0].kind"]);
        let missing = t.post("/api/v1/members", json!({"last_name": "B"})).await.problem(422);
        assert_eq!(missing["errors"][0]["field"], "body");
        assert!(missing["errors"][0]["message"].as_str().unwrap().contains("first_name"));
        assert_eq!(t.get("/api/v1/members?limit=many").await.invalid_fields(), ["limit"]);
        assert_eq!(t.get("/api/v1/members?limit=0").await.invalid_fields(), ["limit"]);
        assert_eq!(t.get("/api/v1/members?cursor=garbage").await.invalid_fields(), ["cursor"]);
        assert_eq!(t.get("/api/v1/members").await.expect(200)["items"], json!([]), "nothing was written");
    }

    async fn oversized_bodies_are_413(t) {
        let big = format!("{{\"first_name\": \"{}\", \"last_name\": \"B\"}}", "x".repeat(credence_web::BODY_LIMIT + 1));
        raw(t, Method::POST, "/api/v1/members", "application/json", big.into_bytes()).await.problem(413);
    }

    async fn unknown_and_malformed_ids_are_404(t) {
        for path in ["/api/v1/members/mem_424242", "/api/v1/members/42", "/api/v1/members/grp_1", "/api/v1/groups/grp_x",
                     "/api/v1/courses/crs_0", "/api/v1/credential-types/ctp_99999999999999999999"] {
            t.get(path).await.problem(404);
        }
        t.patch("/api/v1/courses/crs_77", json!({"version": 1})).await.problem(404);
        t.post("/api/v1/credentials/crd_1/requirements/grp_1/sign-off", json!({"signed_on": "2026-03-01", "evaluator": "X"}))
            .await.problem(404);
        // A web page answers the same way, as the error page rather than problem+json.
        t.app.create_user(t.agency_id, "chief@test.example", credence_app::Role::Admin, "a long enough password", None)
            .await.unwrap();
        let cookie = crate::web_pages::sign_in(t, "chief@test.example", "a long enough password").await.ok().expect("the admin signs in");
        let resp = crate::web_pages::page(t, "/members/grp_1", &cookie).await;
        assert_eq!(resp.status, 404);
        assert!(resp.text.contains("<html"), "{}", resp.text);
    }

    async fn ids_in_bodies_must_be_ids_of_the_right_kind(t) {
        let ty = crate::fixtures::CredentialTypeBuilder::new("CPR").publish(t).await;
        // Another kind's id, a bare row number and a malformed id: each a 422 naming its place.
        for bad in [json!("grp_1"), json!(1), json!("mem_")] {
            let p = t.post("/api/v1/assignments", json!({"credential_type_id": ty, "mode": "completion_period", "member_ids": [bad]}))
                .await.problem(422);
            assert_eq!(p["errors"][0]["field"], "member_ids[0]", "{p}");
        }
        let p = t.post("/api/v1/assignments", json!({"credential_type_id": "crd_1", "mode": "completion_period", "all_members": true}))
            .await.problem(422);
        assert!(p["errors"][0]["message"].as_str().unwrap().contains("credential type id"), "{p}");
        let none = t.get("/api/v1/credentials").await.expect(200);
        assert_eq!(none["items"].as_array().unwrap().len(), 0, "nothing was assigned");
    }
}

both_databases! {
    // The problem+json bodies clients parse, whole: a change to their shape or wording shows
    // in review as a snapshot diff (`tests/api/snapshots/`).
    async fn problem_bodies_keep_their_contract(t) {
        let malformed = raw(t, Method::POST, "/api/v1/members", "application/json", b"{\"first_name\": ".to_vec()).await.problem(400);
        insta::assert_json_snapshot!("problem_400_malformed", malformed);
        let unauthenticated = t.send(Method::GET, "/api/v1/members", None, None).await.problem(401);
        insta::assert_json_snapshot!("problem_401", unauthenticated);
        let member = t.post("/api/v1/members", json!({"first_name": "Ava", "last_name": "Smith"})).await.expect(201);
        let token = t.token(credence_app::Role::Member, member["id"].as_str()).await;
        let forbidden = t.send(Method::POST, "/api/v1/courses", Some(&token), Some(json!({"code": "X", "name": "X"}))).await.problem(403);
        insta::assert_json_snapshot!("problem_403", forbidden);
        let missing = t.get("/api/v1/members/mem_999999").await.problem(404);
        insta::assert_json_snapshot!("problem_404", missing);
        let stale = t.patch(&format!("/api/v1/members/{}", member["id"].as_str().unwrap()),
            json!({"first_name": "Ava", "version": 99})).await.problem(409);
        insta::assert_json_snapshot!("problem_409_stale", stale);
        let invalid = t.post("/api/v1/members", json!({"first_name": "", "last_name": "B", "email": "not-an-email"})).await.problem(422);
        insta::assert_json_snapshot!("problem_422_fields", invalid);
    }
}

both_databases! {
    // NUL characters are refused as 422 at the edge on both databases (PostgreSQL cannot
    // store them: they were a 500 there), in bodies, nested fields and query strings.
    async fn nul_characters_are_refused_everywhere(t) {
        let fields = t.post("/api/v1/members", json!({"first_name": "A\u{0}", "last_name": "B"})).await.invalid_fields();
        assert_eq!(fields, ["first_name"]);
        let fields = t.post("/api/v1/groups", json!({"name": "Station\u{0}1"})).await.invalid_fields();
        assert_eq!(fields, ["name"]);
        let fields = t.post("/api/v1/training-records/bulk", json!({"records": [{"member_id": "mem_1", "completed_on": "2026-01-01", "category": "C\u{0}E"}]})).await.invalid_fields();
        assert_eq!(fields, ["records[0].category"]);
        let fields = t.get("/api/v1/members?q=%00").await.invalid_fields();
        assert_eq!(fields, ["query"]);
        assert_eq!(t.get("/api/v1/members").await.expect(200)["items"], json!([]), "nothing was written");
    }
}
