//! Operational endpoints: liveness, readiness, metrics, the OpenAPI document and its docs
//! page, and the problem+json answers for unknown routes.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use credence_app::App;
use metrics_exporter_prometheus::PrometheusHandle;

use crate::problem::Problem;

pub fn routes(spec: utoipa::openapi::OpenApi, metrics: Option<PrometheusHandle>) -> Router<App> {
    let spec_json = spec.to_pretty_json().unwrap_or_else(|_| "{}".into());
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route(
            "/metrics",
            get(move || {
                let body = metrics
                    .as_ref()
                    .map(PrometheusHandle::render)
                    .unwrap_or_default();
                async move { ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], body) }
            }),
        )
        .route(
            "/api/openapi.json",
            get(move || async move { ([(header::CONTENT_TYPE, "application/json")], spec_json) }),
        )
        .route("/api/docs", get(|| async { Html(docs_page()) }))
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
