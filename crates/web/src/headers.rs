//! Security headers on every response (pages, the API, assets, errors): a Content-Security-
//! Policy that runs only our own scripts and styles (templates carry no inline script, handler
//! or style; `tests/api/headers.rs` keeps it that way), no framing, no sniffing, no referrer
//! off the site, and nothing stored by shared or browser caches unless a handler chose a
//! policy itself (the content-hashed assets do). HSTS is an option: it is only right behind
//! HTTPS, which the deployment, not Credence, decides.

use axum::http::{header, HeaderValue};
use axum::response::Response;

pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
     style-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; \
     form-action 'self'; frame-ancestors 'none'";

/// One year, the value HSTS preload lists expect.
pub const STRICT_TRANSPORT_SECURITY: &str = "max-age=31536000; includeSubDomains";

/// Adds the headers to `response`; a header the handler already set is kept.
pub fn add(response: &mut Response, hsts: bool) {
    let headers = response.headers_mut();
    let fixed = [
        (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "same-origin"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::CACHE_CONTROL, "no-store"),
    ];
    for (name, value) in fixed {
        headers
            .entry(name)
            .or_insert(HeaderValue::from_static(value));
    }
    if hsts {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static(STRICT_TRANSPORT_SECURITY),
        );
    }
}
