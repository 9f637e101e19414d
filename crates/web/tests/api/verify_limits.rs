//! The public verification endpoints are limited per client address (#21): a burst of 30,
//! then 429 problem+json with `Retry-After`; another address, and every other route, are
//! not held back.

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{header, Method, Request};
use serde_json::json;

use crate::both_databases;
use crate::harness::{Resp, TestApp};

async fn from(t: &TestApp, address: &str, method: Method, path: &str) -> Resp {
    let mut req = Request::builder().method(method.clone()).uri(path);
    let body = if method == Method::POST {
        req = req.header(header::CONTENT_TYPE, "application/json");
        Body::from(json!({"jwt": "not.a.jwt"}).to_string())
    } else {
        Body::empty()
    };
    let mut req = req.body(body).unwrap();
    let peer: std::net::SocketAddr = format!("{address}:40000").parse().unwrap();
    req.extensions_mut().insert(ConnectInfo(peer));
    t.send_request(req).await
}

both_databases! {
    async fn verification_is_limited_per_client_address(t) {
        let routes = [
            (Method::GET, "/verify/abcdefghijkmnpqrstuv"),
            (Method::GET, "/verify/abcdefghijkmnpqrstuv.json"),
            (Method::POST, "/api/v1/verify"),
        ];
        for i in 0..30 {
            let (method, path) = &routes[i % routes.len()];
            let r = from(t, "192.0.2.7", method.clone(), path).await;
            assert_ne!(r.status, 429, "request {i} to {path} is within the burst");
        }
        for (method, path) in &routes {
            let r = from(t, "192.0.2.7", method.clone(), path).await;
            assert_eq!(r.headers["retry-after"], "2", "{path}: one more verification in 2 s at 30 a minute");
            let problem = r.problem(429);
            assert_eq!(problem["type"], "urn:credence:problem:rate-limited");
            assert!(problem["detail"].as_str().unwrap().contains("30 verifications a minute"));
        }
        // Another address has its own allowance; other routes are not limited.
        assert_eq!(from(t, "192.0.2.8", Method::GET, "/verify/abcdefghijkmnpqrstuv.json").await.status, 404);
        assert_eq!(from(t, "192.0.2.7", Method::GET, "/healthz").await.status, 200);
        assert_ne!(from(t, "192.0.2.7", Method::GET, "/api/v1/certificates").await.status, 429);
    }
}
