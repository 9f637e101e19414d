//! Credence's HTTP surface: the JSON API (with its generated OpenAPI document), operational
//! endpoints, and the middleware every request passes through.

pub mod api;
pub mod extract;
mod headers;
mod ops;
mod pages;
pub mod problem;
pub mod rate_limit;
mod serve;

use std::time::Duration;

use axum::extract::{DefaultBodyLimit, MatchedPath, Request};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::Router;
use credence_app::App;
use metrics_exporter_prometheus::PrometheusHandle;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;

use crate::problem::Problem;
pub use crate::serve::serve;

/// Bodies above this size are refused with 413 (bulk imports stay well below it).
pub const BODY_LIMIT: usize = 8 * 1024 * 1024;

#[derive(OpenApi)]
#[openapi(
    info(title = "Credence API", description = "Credential and certification tracking. All dates are YYYY-MM-DD; ids are opaque strings; errors are application/problem+json."),
    modifiers(&BearerAuth),
    components(schemas(Problem))
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        // The account's own second factor answers a signed-in login's session, not a token.
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(
                crate::pages::auth::session::COOKIE,
            ))),
        );
    }
}

/// The OpenAPI document, generated from the handlers' annotations.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let (_, spec) = OpenApiRouter::<App>::with_openapi(ApiDoc::openapi())
        .nest("/api/v1", api::routes())
        .split_for_parts();
    spec
}

/// How the server answers beyond its routes, and how long it waits on clients.
#[derive(Clone, Debug)]
pub struct HttpOptions {
    /// Send `Strict-Transport-Security` (only behind HTTPS).
    pub hsts: bool,
    /// A connection waiting for a request head (a new one, or an idle keep-alive one) is
    /// closed after this long without a complete head.
    pub header_read_timeout: Duration,
    /// Connections served at once; more wait to be accepted.
    pub max_connections: usize,
    /// When set, `/metrics` answers only `Authorization: Bearer <token>`; when not, it is
    /// open to anyone who reaches the server.
    pub metrics_token: Option<String>,
}

impl Default for HttpOptions {
    fn default() -> Self {
        HttpOptions {
            hsts: false,
            header_read_timeout: Duration::from_secs(10),
            max_connections: 1024,
            metrics_token: None,
        }
    }
}

/// The whole application router.
pub fn router(app: App, metrics: Option<PrometheusHandle>, options: &HttpOptions) -> Router {
    let hsts = options.hsts;
    let (api_router, spec) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .nest("/api/v1", api::routes())
        .split_for_parts();
    let ops = ops::routes(spec, metrics, options.metrics_token.clone());
    let verify_guard = rate_limit::VerifyGuard {
        limiter: std::sync::Arc::new(rate_limit::Limiter::new(
            rate_limit::BURST,
            rate_limit::PER_MINUTE,
        )),
        trusted_proxies: std::sync::Arc::new(app.trusted_proxies().to_vec()),
    };
    Router::new()
        .merge(api_router)
        .merge(ops)
        .merge(pages::routes())
        .fallback(ops::not_found)
        .method_not_allowed_fallback(ops::method_not_allowed)
        // Innermost, inside the timeout: see `run_to_completion`.
        .layer(middleware::from_fn(run_to_completion))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(middleware::from_fn_with_state(verify_guard, rate_limit::guard))
        .layer(middleware::from_fn(record_metrics))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(TraceLayer::new_for_http().make_span_with(|req: &Request| {
            let request_id = req.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("-");
            tracing::info_span!("request", method = %req.method(), uri = %loggable_path(req.uri().path()), request_id = %request_id)
        }))
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(axum::http::StatusCode::SERVICE_UNAVAILABLE, Duration::from_secs(120)))
        // Outermost, so every answer carries them, the timeout's 503 included.
        .layer(middleware::map_response(move |mut response: Response| async move {
            headers::add(&mut response, hsts);
            response
        }))
        .with_state(app)
}

/// Runs a request's handler to its end even when nobody waits for the answer any more.
/// Hyper drops the future of a request whose client disconnected, and the timeout drops it
/// after two minutes; a workflow dropped between its statements — or inside SQLite's
/// `BEGIN IMMEDIATE` — would leave its database connection in a half-open transaction that
/// broke every later write until a restart. As its own task it finishes (committing or
/// rolling back) whatever becomes of the connection; a panic still fails just the request.
async fn run_to_completion(req: Request, next: Next) -> Response {
    use tracing::Instrument;
    match tokio::spawn(next.run(req).in_current_span()).await {
        Ok(response) => response,
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(_) => StatusCode::SERVICE_UNAVAILABLE.into_response(),
    }
}

/// The path as request logs show it: the secret of a one-time link (`/invitations/{token}`,
/// `/password-reset/{token}`) is left out, so reading the logs does not give a way in.
fn loggable_path(path: &str) -> &str {
    for prefix in ["/invitations/", "/password-reset/"] {
        if path.starts_with(prefix) {
            return prefix;
        }
    }
    path
}

/// Counts requests and their latency by route template (not raw path, to bound label
/// cardinality).
async fn record_metrics(req: Request, next: Next) -> Response {
    let started = std::time::Instant::now();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |p| p.as_str().to_string());
    let method = req.method().to_string();
    let response = next.run(req).await;
    let status = response.status().as_u16().to_string();
    metrics::counter!("http_requests_total", "method" => method.clone(), "route" => route.clone(), "status" => status).increment(1);
    metrics::histogram!("http_request_duration_seconds", "method" => method, "route" => route)
        .record(started.elapsed().as_secs_f64());
    response
}
