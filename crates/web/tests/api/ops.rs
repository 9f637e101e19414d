use axum::body::Body;
use axum::http::{header, Method, Request};
use credence_web::HttpOptions;
use serde_json::json;
use tower::ServiceExt;

use crate::both_databases;

both_databases! {
    async fn health_ready_metrics_and_docs_answer(t) {
        let health = t.send(Method::GET, "/healthz", None, None).await;
        assert_eq!((health.status.as_u16(), health.text.as_str()), (200, "ok"));
        assert_eq!(t.send(Method::GET, "/readyz", None, None).await.status, 200);
        assert_eq!(t.send(Method::GET, "/metrics", None, None).await.status, 200);
        let docs = t.send(Method::GET, "/api/docs", None, None).await;
        assert!(docs.text.contains("Credence API reference"));
    }

    async fn metrics_need_the_metrics_token_when_one_is_set(t) {
        let options = HttpOptions { metrics_token: Some("s3cret-metrics".into()), ..HttpOptions::default() };
        let router = credence_web::router(t.app.clone(), None, &options);
        let status = |authorization: Option<&'static str>| {
            let router = router.clone();
            async move {
                let mut req = Request::get("/metrics");
                if let Some(a) = authorization {
                    req = req.header(header::AUTHORIZATION, a);
                }
                let response = router.oneshot(req.body(Body::empty()).unwrap()).await.unwrap();
                (response.status().as_u16(), response.headers().get(header::WWW_AUTHENTICATE).is_some())
            }
        };
        assert_eq!(status(None).await, (401, true));
        assert_eq!(status(Some("Bearer wrong")).await, (401, true));
        assert_eq!(status(Some("Bearer s3cret-metric")).await, (401, true));
        assert_eq!(status(Some("s3cret-metrics")).await, (401, true));
        assert_eq!(status(Some("Bearer s3cret-metrics")).await, (200, false));
        // An API token is not the metrics token.
        let api = format!("Bearer {}", t.admin);
        let req = Request::get("/metrics").header(header::AUTHORIZATION, api).body(Body::empty()).unwrap();
        assert_eq!(router.clone().oneshot(req).await.unwrap().status(), 401);
    }

    async fn openapi_lists_every_endpoint(t) {
        let spec = t.send(Method::GET, "/api/openapi.json", None, None).await.expect(200);
        assert_eq!(spec["openapi"], "3.1.0");
        let paths = spec["paths"].as_object().unwrap();
        for (path, method) in [
            ("/api/v1/members", "get"), ("/api/v1/members", "post"), ("/api/v1/members/{id}", "patch"),
            ("/api/v1/members/{id}", "delete"), ("/api/v1/groups/{id}/members", "put"), ("/api/v1/courses/{id}", "get"),
            ("/api/v1/credential-types", "post"), ("/api/v1/credential-types/{id}/publish", "post"),
            ("/api/v1/credential-types/{id}/retire", "post"), ("/api/v1/audit-events", "get"),
            ("/api/v1/assignments", "post"), ("/api/v1/credentials", "get"), ("/api/v1/credentials/{id}", "get"),
            ("/api/v1/credentials/{id}/issue", "post"), ("/api/v1/credentials/bulk-update", "post"),
            ("/api/v1/credentials/{id}/requirements/{requirement_id}/sign-off", "post"), ("/api/v1/credentials/{id}/revoke", "post"),
            ("/api/v1/credentials/bulk-revoke", "post"),
            ("/api/v1/training-records", "get"), ("/api/v1/training-records", "post"), ("/api/v1/training-records/bulk", "post"),
            ("/api/v1/renewals", "post"), ("/api/v1/credential-types/{id}/renewal-candidates", "get"),
            ("/api/v1/renewal-plans", "post"), ("/api/v1/renewal-plans/{id}", "get"), ("/api/v1/outbox", "get"),
            ("/api/v1/reports/compliance", "get"), ("/api/v1/reports/qualified", "get"), ("/api/v1/reports/hours", "get"),
            ("/api/v1/sign-offs", "post"), ("/api/v1/members/{id}/transcript.pdf", "get"),
            ("/api/v1/groups/{id}/members/add", "post"), ("/api/v1/groups/{id}/members/remove", "post"), ("/api/v1/agency/logo", "get"), ("/api/v1/agency/logo", "put"),
            ("/api/v1/agency/logo", "delete"),
        ] {
            assert!(paths.get(path).and_then(|p| p.get(method)).is_some(), "{method} {path} missing from the spec");
        }
        assert!(spec["components"]["schemas"]["Problem"].is_object());
        // Every reference resolves: a client generator (or schemathesis) cannot use a
        // document that names a schema it does not hold.
        let text = spec.to_string();
        for reference in text.split("\"#/components/schemas/").skip(1) {
            let name = reference.split('"').next().unwrap();
            assert!(spec["components"]["schemas"][name].is_object(), "#/components/schemas/{name} is referenced but missing");
        }
        // The whole document, so an accidental contract change shows in review.
        insta::assert_json_snapshot!("openapi", spec);
    }

    async fn unknown_routes_and_methods_are_problems(t) {
        t.get("/api/v1/nothing-here").await.problem(404);
        t.send(Method::DELETE, "/api/v1/courses", Some(&t.admin), Some(json!({}))).await.problem(405);
    }
}
