//! Operational endpoints: liveness, readiness, metrics, the OpenAPI document and its docs
//! page, and the problem+json answers for unknown routes.

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use credence_app::App;
use metrics_exporter_prometheus::PrometheusHandle;

use crate::problem::Problem;

pub fn routes(
    spec: utoipa::openapi::OpenApi,
    metrics: Option<PrometheusHandle>,
    metrics_token: Option<String>,
) -> Router<App> {
    let spec_json = spec.to_pretty_json().unwrap_or_else(|_| "{}".into());
    let metrics = std::sync::Arc::new((metrics, metrics_token));
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route(
            "/metrics",
            get(move |headers: HeaderMap| async move {
                let (handle, token) = &*metrics;
                metrics_answer(handle.as_ref(), token.as_deref(), &headers)
            }),
        )
        .route(
            "/api/openapi.json",
            get(move || async move { ([(header::CONTENT_TYPE, "application/json")], spec_json) }),
        )
        .route("/api/docs", get(|| async { Html(docs_page()) }))
}

/// The Prometheus text. With a metrics token configured only `Authorization: Bearer
/// <token>` reads it; without one it is open (operators bind or firewall it instead).
fn metrics_answer(
    handle: Option<&PrometheusHandle>,
    token: Option<&str>,
    headers: &HeaderMap,
) -> Response {
    if let Some(expected) = token {
        let given = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        if !given.is_some_and(|g| same_secret(g, expected)) {
            let mut problem = Problem::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "Unauthorized",
                "metrics need the metrics token: Authorization: Bearer <token>",
            )
            .into_response();
            problem
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, "Bearer".parse().expect("valid"));
            return problem;
        }
    }
    let body = handle.map(PrometheusHandle::render).unwrap_or_default();
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], body).into_response()
}

/// Compares in time independent of where the texts differ, so timing does not leak the token.
fn same_secret(given: &str, expected: &str) -> bool {
    let (a, b) = (given.as_bytes(), expected.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

async fn readyz(State(app): State<App>) -> Response {
    if app.store.ping().await {
        (StatusCode::OK, "ready").into_response()
    } else {
        Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "Not ready",
            "the database does not answer",
        )
        .into_response()
    }
}

pub async fn not_found() -> Problem {
    Problem::new(
        StatusCode::NOT_FOUND,
        "not-found",
        "Not found",
        "no such route; see /api/docs",
    )
}

pub async fn method_not_allowed() -> Problem {
    Problem::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method-not-allowed",
        "Method not allowed",
        "this route does not accept that method; see /api/docs",
    )
}

/// A self-contained reference page: it reads /api/openapi.json and lists every operation
/// with its parameters and schemas. No CDN, so it works on closed networks.
const DOCS_PAGE: &str = include_str!("docs.html");

/// The docs page with its script and style at their versioned addresses (filled in once).
fn docs_page() -> &'static str {
    static PAGE: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    PAGE.get_or_init(|| {
        DOCS_PAGE
            .replace("{docs.css}", &crate::pages::assets::url("docs.css"))
            .replace("{docs.js}", &crate::pages::assets::url("docs.js"))
    })
}
