//! Extractors whose rejections are problem+json: JSON bodies with field paths in their
//! errors, query strings, and the bearer-token actor.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use credence_app::{Actor, Admin, App, Officer, Reader};
use credence_domain::FieldError;
use serde::de::DeserializeOwned;

use crate::problem::Problem;

/// A JSON body. Syntax errors are 400; a body that parses but does not fit (unknown field,
/// wrong type, missing field) is 422 naming the field.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = Problem;

    async fn from_request(req: Request, state: &S) -> Result<Self, Problem> {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json") || v.contains("+json"));
        if !is_json {
            return Err(Problem::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported-media-type",
                "Unsupported media type",
                "send the body as JSON with 'Content-Type: application/json'",
            ));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|_| {
            Problem::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too-large",
                "Body too large",
                "the request body exceeds the size limit",
            )
        })?;
        parse_json(&bytes).map(ApiJson)
    }
}

/// Parses JSON the way [`ApiJson`] does (also used for optional bodies).
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Problem> {
    // Text with a NUL character is refused here, for every JSON body: PostgreSQL cannot store
    // it (a 500 otherwise) and SQLite would keep text other tools cut short.
    if let Ok(value) = serde_json::from_slice::<serde_json::Value>(bytes) {
        if let Some(field) = nul_in(&value, String::new()) {
            return Err(nul_problem(field));
        }
    }
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        if inner.is_syntax() || inner.is_eof() {
            Problem::bad_request(format!("the body is not valid JSON: {inner}"))
        } else {
            let field = if path == "." {
                "body".to_string()
            } else {
                path
            };
            Problem::validation(vec![FieldError {
                field,
                message: clean_serde_message(&inner.to_string()),
            }])
        }
    })
}

/// The path of the first string (or key) in `value` holding a NUL character.
fn nul_in(value: &serde_json::Value, path: String) -> Option<String> {
    let here = |p: &str| {
        if p.is_empty() {
            "body".to_string()
        } else {
            p.to_string()
        }
    };
    match value {
        serde_json::Value::String(s) if s.contains('\0') => Some(here(&path)),
        serde_json::Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, v)| nul_in(v, format!("{path}[{i}]"))),
        serde_json::Value::Object(fields) => fields.iter().find_map(|(k, v)| {
            let field = if path.is_empty() {
                k.clone()
            } else {
                format!("{path}.{k}")
            };
            if k.contains('\0') {
                Some(here(&path))
            } else {
                nul_in(v, field)
            }
        }),
        _ => None,
    }
}

fn nul_problem(field: String) -> Problem {
    Problem::validation(vec![FieldError {
        field,
        message: "must not contain NUL characters".into(),
    }])
}

/// True when form or query text would decode to a NUL character.
pub fn has_nul(raw: &[u8]) -> bool {
    raw.contains(&0) || raw.windows(3).any(|w| w == b"%00")
}

/// serde's messages end with " at line 1 column 42"; the field path already says where.
fn clean_serde_message(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message.to_string(),
    }
}

/// An optional JSON body: empty means the default.
pub struct OptionalJson<T>(pub T);

impl<T: DeserializeOwned + Default, S: Send + Sync> FromRequest<S> for OptionalJson<T> {
    type Rejection = Problem;

    async fn from_request(req: Request, state: &S) -> Result<Self, Problem> {
        let bytes = Bytes::from_request(req, state).await.map_err(|_| {
            Problem::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too-large",
                "Body too large",
                "the request body exceeds the size limit",
            )
        })?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(OptionalJson(T::default()));
        }
        parse_json(&bytes).map(OptionalJson)
    }
}

/// Query-string parameters; a value of the wrong type is a 422 naming the parameter.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Problem> {
        let query = parts.uri.query().unwrap_or("");
        if has_nul(query.as_bytes()) {
            return Err(nul_problem("query".into()));
        }
        // serde_html_form, unlike serde_urlencoded, reads repeated keys (`status=a&status=b`).
        let de = serde_html_form::Deserializer::from_bytes(query.as_bytes());
        serde_path_to_error::deserialize(de)
            .map(ApiQuery)
            .map_err(|err| {
                let field = err.path().to_string();
                Problem::validation(vec![FieldError {
                    field,
                    message: err.into_inner().to_string(),
                }])
            })
    }
}

/// The caller, from `Authorization: Bearer <token>`.
pub struct Auth(pub Actor);

impl FromRequestParts<App> for Auth {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Problem> {
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or(credence_app::AppError::Unauthenticated)?;
        Ok(Auth(app.authenticate_token(token).await?))
    }
}

/// The caller with a capability, checked before anything after it in the handler's
/// arguments runs: a handler takes `Can(admin): Can<Admin>` ahead of its body, so a caller
/// without the role gets 403 whatever the body holds, and nobody learns a write endpoint's
/// validation rules without the right to write.
pub struct Can<C>(pub C);

/// A capability a caller may be asked for ([`Can`]).
pub trait Capability: Sized {
    fn of(actor: &Actor) -> Result<Self, credence_app::AppError>;
}

impl Capability for Reader {
    fn of(actor: &Actor) -> Result<Self, credence_app::AppError> {
        actor.reader()
    }
}

impl Capability for Officer {
    fn of(actor: &Actor) -> Result<Self, credence_app::AppError> {
        actor.officer()
    }
}

impl Capability for Admin {
    fn of(actor: &Actor) -> Result<Self, credence_app::AppError> {
        actor.admin()
    }
}

impl<C: Capability> FromRequestParts<App> for Can<C> {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Problem> {
        let Auth(actor) = Auth::from_request_parts(parts, app).await?;
        Ok(Can(C::of(&actor)?))
    }
}

/// The client's address as sign-in throttling counts it: the connection's peer, or, when the
/// peer is a trusted proxy, the nearest address in `X-Forwarded-For` that is not one (the
/// ones further left are the client's word and could be forged).
pub struct ClientAddress(pub String);

impl FromRequestParts<App> for ClientAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .map(|c| c.0.ip());
        let forwarded = parts
            .headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect::<Vec<_>>()
            .join(",");
        Ok(ClientAddress(client_address(
            peer,
            &forwarded,
            app.trusted_proxies(),
        )))
    }
}

/// See [`ClientAddress`]; `unknown` when there is no peer (in-process tests).
pub fn client_address(
    peer: Option<std::net::IpAddr>,
    forwarded_for: &str,
    trusted: &[std::net::IpAddr],
) -> String {
    let Some(peer) = peer else {
        return "unknown".into();
    };
    if !trusted.contains(&peer) {
        return peer.to_string();
    }
    forwarded_for
        .rsplit(',')
        .map(str::trim)
        .filter_map(|hop| hop.parse::<std::net::IpAddr>().ok())
        .find(|hop| !trusted.contains(hop))
        .unwrap_or(peer)
        .to_string()
}

/// The typed ids in a request's path (`PathIds(id): PathIds<MemberId>`, or a tuple for
/// several). A segment that is not an id of the right kind names nothing here: a 404, as
/// problem+json under `/api/` and as the error page elsewhere, exactly like an id of another
/// agency.
pub struct PathIds<T>(pub T);

/// Why [`PathIds`] found nothing; answers as the part of the site that was asked.
pub struct NoSuchPath {
    api: bool,
}

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for PathIds<T> {
    type Rejection = NoSuchPath;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, NoSuchPath> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(ids)) => Ok(PathIds(ids)),
            Err(_) => {
                // A nested router sees its own part of the path; the original names the site.
                let path = match parts.extensions.get::<axum::extract::OriginalUri>() {
                    Some(original) => original.0.path(),
                    None => parts.uri.path(),
                };
                Err(NoSuchPath {
                    api: path.starts_with("/api/"),
                })
            }
        }
    }
}

impl axum::response::IntoResponse for NoSuchPath {
    fn into_response(self) -> axum::response::Response {
        if self.api {
            Problem::not_found().into_response()
        } else {
            crate::pages::PageError(credence_app::AppError::NotFound).into_response()
        }
    }
}

#[cfg(test)]
mod client_address_tests {
    use super::client_address;

    #[test]
    fn forwarded_for_counts_only_behind_a_trusted_proxy() {
        let proxy = "10.0.0.2".parse().unwrap();
        let client = "203.0.113.9".parse().ok();
        assert_eq!(
            client_address(client, "1.2.3.4", &[proxy]),
            "203.0.113.9",
            "not a proxy: header ignored"
        );
        let via = Some(proxy);
        assert_eq!(
            client_address(via, "1.2.3.4, 198.51.100.7", &[proxy]),
            "198.51.100.7",
            "rightmost untrusted hop"
        );
        assert_eq!(
            client_address(via, "198.51.100.7, 10.0.0.2", &[proxy]),
            "198.51.100.7"
        );
        assert_eq!(
            client_address(via, "garbage", &[proxy]),
            "10.0.0.2",
            "nothing usable: the proxy itself"
        );
        assert_eq!(client_address(None, "1.2.3.4", &[]), "unknown");
    }
}
