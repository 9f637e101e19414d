//! A per-client limit on the public verification endpoints (`/verify/{public_id}`, its
//! `.json`, and `POST /api/v1/verify`), which anyone may call without signing in: it keeps
//! one client from walking public ids or signing keys at full speed, or from tying up the
//! database for everyone else.
//!
//! Each client address (as [`crate::extract::client_address`] reads it, so trusted proxies'
//! `X-Forwarded-For` counts) gets a token bucket: [`BURST`] requests at once, refilled at
//! [`PER_MINUTE`] a minute. An empty bucket answers 429 problem+json with `Retry-After` (whole
//! seconds until a request would pass). The buckets live in this process only: with several
//! instances behind a balancer a client gets each instance's allowance, which is still a
//! limit, and nothing is written to the database for a read anyone can make. Memory is
//! bounded: past [`MAX_CLIENTS`] addresses, full (idle) buckets are dropped, and if every one
//! is busy the table starts afresh rather than grow.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::problem::Problem;

/// Requests a client may make at once.
pub const BURST: u32 = 30;
/// Requests a client may make a minute, sustained.
pub const PER_MINUTE: u32 = 30;
/// Addresses remembered at most.
const MAX_CLIENTS: usize = 50_000;

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// Token buckets by client address.
#[derive(Debug)]
pub struct Limiter {
    burst: f64,
    per_second: f64,
    buckets: Mutex<HashMap<String, Bucket>>,
}

impl Limiter {
    pub fn new(burst: u32, per_minute: u32) -> Limiter {
        Limiter {
            burst: f64::from(burst.max(1)),
            per_second: f64::from(per_minute.max(1)) / 60.0,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one request from `client`'s bucket at `now`; when it is empty, how long until
    /// one would pass.
    pub fn check(&self, client: &str, now: Instant) -> Result<(), Duration> {
        let mut buckets = self.buckets.lock().unwrap_or_else(PoisonError::into_inner);
        if buckets.len() >= MAX_CLIENTS && !buckets.contains_key(client) {
            buckets.retain(|_, b| self.refilled(b, now) < self.burst);
            if buckets.len() >= MAX_CLIENTS {
                buckets.clear();
            }
        }
        let bucket = buckets.entry(client.to_owned()).or_insert(Bucket {
            tokens: self.burst,
            at: now,
        });
        bucket.tokens = self.refilled(bucket, now);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            return Ok(());
        }
        Err(Duration::from_secs_f64(
            (1.0 - bucket.tokens) / self.per_second,
        ))
    }

    fn refilled(&self, b: &Bucket, now: Instant) -> f64 {
        let elapsed = now.saturating_duration_since(b.at).as_secs_f64();
        (b.tokens + elapsed * self.per_second).min(self.burst)
    }
}

/// What the guard needs: the buckets and the proxies whose `X-Forwarded-For` is believed.
#[derive(Clone)]
pub struct VerifyGuard {
    pub limiter: Arc<Limiter>,
    pub trusted_proxies: Arc<Vec<std::net::IpAddr>>,
}

/// The public verification requests the limit applies to.
fn is_verification(method: &Method, path: &str) -> bool {
    (method == Method::GET || method == Method::HEAD) && path.starts_with("/verify/")
        || method == Method::POST && path == "/api/v1/verify"
}

/// Middleware: passes everything else through untouched.
pub async fn guard(State(guard): State<VerifyGuard>, req: Request, next: Next) -> Response {
    if !is_verification(req.method(), req.uri().path()) {
        return next.run(req).await;
    }
    let peer = req
        .extensions()
        .get::<ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip());
    let forwarded = req
        .headers()
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect::<Vec<_>>()
        .join(",");
    let client = crate::extract::client_address(peer, &forwarded, &guard.trusted_proxies);
    match guard.limiter.check(&client, Instant::now()) {
        Ok(()) => next.run(req).await,
        Err(wait) => too_many(wait),
    }
}

fn too_many(wait: Duration) -> Response {
    let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    let seconds = seconds.max(1);
    let mut response = Problem::new(
        StatusCode::TOO_MANY_REQUESTS,
        "rate-limited",
        "Too many requests",
        format!(
            "at most {PER_MINUTE} verifications a minute from one address; try again in {seconds} s"
        ),
    )
    .into_response();
    if let Ok(value) = HeaderValue::from_str(&seconds.to_string()) {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_passes_then_waits_for_the_refill() {
        let limiter = Limiter::new(3, 60);
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(limiter.check("10.0.0.1", t0).is_ok());
        }
        let wait = limiter.check("10.0.0.1", t0).unwrap_err();
        assert!(wait > Duration::from_millis(900) && wait <= Duration::from_secs(1));
        // Another client has its own bucket.
        assert!(limiter.check("10.0.0.2", t0).is_ok());
        // One request a second comes back at 60 a minute.
        assert!(limiter
            .check("10.0.0.1", t0 + Duration::from_secs(1))
            .is_ok());
        assert!(limiter
            .check("10.0.0.1", t0 + Duration::from_secs(1))
            .is_err());
    }

    #[test]
    fn refused_requests_do_not_dig_deeper() {
        let limiter = Limiter::new(1, 60);
        let t0 = Instant::now();
        assert!(limiter.check("a", t0).is_ok());
        for _ in 0..100 {
            assert!(limiter.check("a", t0).is_err());
        }
        assert!(limiter.check("a", t0 + Duration::from_secs(1)).is_ok());
    }

    #[test]
    fn only_the_public_verification_routes_are_limited() {
        assert!(is_verification(&Method::GET, "/verify/abc"));
        assert!(is_verification(&Method::GET, "/verify/abc.json"));
        assert!(is_verification(&Method::POST, "/api/v1/verify"));
        assert!(!is_verification(&Method::GET, "/api/v1/verify"));
        assert!(!is_verification(&Method::POST, "/login"));
        assert!(!is_verification(&Method::GET, "/certificates"));
    }

    #[test]
    fn retry_after_is_whole_seconds_at_least_one() {
        let r = too_many(Duration::from_millis(1500));
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(r.headers()[header::RETRY_AFTER], "2");
        let r = too_many(Duration::from_millis(10));
        assert_eq!(r.headers()[header::RETRY_AFTER], "1");
    }
}
