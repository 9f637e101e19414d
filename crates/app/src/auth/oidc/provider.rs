//! Talking to an identity provider: its discovery document and keys (cached), and the
//! exchange of an authorization code for tokens. Every failure is a sentence naming the
//! provider and what went wrong, for the admin or the person signing in.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use serde::Deserialize;

use super::jwt::{Jwk, Jwks};

/// How long a provider's discovery document and keys are reused before being fetched again
/// (a key id we do not know makes us fetch the keys at once).
const CACHE_FOR: Duration = Duration::from_secs(15 * 60);

/// How long we wait for a provider.
const TIMEOUT: Duration = Duration::from_secs(10);

/// Larger answers than this are not a provider's.
const MAX_BODY: usize = 1024 * 1024;

/// The parts of the discovery document (OpenID Connect Discovery 1.0) the sign-in uses.
#[derive(Debug, Clone, Deserialize)]
pub struct Discovery {
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub jwks_uri: String,
    #[serde(default)]
    pub token_endpoint_auth_methods_supported: Option<Vec<String>>,
    #[serde(default)]
    pub code_challenge_methods_supported: Option<Vec<String>>,
}

#[derive(Clone)]
struct Cached {
    discovery: Discovery,
    keys: Vec<Jwk>,
    fetched: Instant,
}

/// By issuer. Shared by every `App` of the process: a provider's published document is the
/// same whoever asks.
fn cache() -> &'static Mutex<HashMap<String, Cached>> {
    static CACHE: OnceLock<Mutex<HashMap<String, Cached>>> = OnceLock::new();
    CACHE.get_or_init(Default::default)
}

fn client() -> Result<reqwest::Client, String> {
    // reqwest is built without a default TLS provider (see the workspace manifest).
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(TIMEOUT)
        .user_agent("Credence-Sign-In/1")
        .build()
        .map_err(|e| format!("the HTTP client could not be built: {e}"))
}

/// Where the discovery document of `issuer` is.
pub fn discovery_url(issuer: &str) -> String {
    format!(
        "{}/.well-known/openid-configuration",
        issuer.trim_end_matches('/')
    )
}

/// Reads a JSON answer of at most [`MAX_BODY`] bytes.
async fn json_of<T: serde::de::DeserializeOwned>(
    response: reqwest::Response,
    what: &str,
) -> Result<T, String> {
    let status = response.status();
    let bytes = response
        .bytes()
        .await
        .map_err(|e| format!("{what} could not be read: {e}"))?;
    if bytes.len() > MAX_BODY {
        return Err(format!("{what} is larger than 1 MB"));
    }
    if !status.is_success() {
        return Err(format!("{what} answered HTTP {status}"));
    }
    serde_json::from_slice(&bytes).map_err(|e| format!("{what} is not what was expected: {e}"))
}

async fn get_json<T: serde::de::DeserializeOwned>(url: &str, what: &str) -> Result<T, String> {
    let response = client()?
        .get(url)
        .header("accept", "application/json")
        .send()
        .await
        .map_err(|e| format!("{what} at {url} could not be reached ({})", reach_error(&e)))?;
    json_of(response, what).await
}

/// The cause of a failed request in a few words (reqwest's own text names only the URL).
fn reach_error(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        return format!("no answer within {} seconds", TIMEOUT.as_secs());
    }
    if e.is_connect() {
        return "the connection was refused or failed".into();
    }
    let mut source: Option<&dyn std::error::Error> = Some(e);
    let mut last = e.to_string();
    while let Some(s) = source {
        last = s.to_string();
        source = s.source();
    }
    last
}

/// Fetches and checks `issuer`'s discovery document and keys (not cached: an admin saving
/// the settings sees the provider as it is now).
pub async fn fetch(issuer: &str) -> Result<(Discovery, Vec<Jwk>), String> {
    let discovery: Discovery = get_json(&discovery_url(issuer), "the discovery document").await?;
    if discovery.issuer != issuer {
        return Err(format!(
            "the provider names itself {:?} in its discovery document; enter exactly that as the issuer",
            discovery.issuer
        ));
    }
    for (name, url) in [
        ("authorization_endpoint", &discovery.authorization_endpoint),
        ("token_endpoint", &discovery.token_endpoint),
        ("jwks_uri", &discovery.jwks_uri),
    ] {
        if reqwest::Url::parse(url)
            .map(|u| !matches!(u.scheme(), "https" | "http"))
            .unwrap_or(true)
        {
            return Err(format!(
                "the discovery document's {name} is not a web address"
            ));
        }
    }
    if discovery
        .code_challenge_methods_supported
        .as_ref()
        .is_some_and(|m| !m.iter().any(|m| m == "S256"))
    {
        return Err("the provider does not support PKCE with S256".into());
    }
    let keys = fetch_keys(&discovery.jwks_uri).await?;
    Ok((discovery, keys))
}

async fn fetch_keys(jwks_uri: &str) -> Result<Vec<Jwk>, String> {
    let jwks: Jwks = get_json(jwks_uri, "the provider's key set").await?;
    Ok(jwks.keys)
}

/// `issuer`'s discovery document and keys, from the cache when fresh.
pub async fn discover(issuer: &str) -> Result<(Discovery, Vec<Jwk>), String> {
    let cached = cache().lock().ok().and_then(|c| c.get(issuer).cloned());
    if let Some(c) = cached.filter(|c| c.fetched.elapsed() < CACHE_FOR) {
        return Ok((c.discovery, c.keys));
    }
    let (discovery, keys) = fetch(issuer).await?;
    remember(issuer, &discovery, &keys);
    Ok((discovery, keys))
}

/// The provider's keys fetched again (after a token named a key id we did not have).
pub async fn refresh_keys(issuer: &str, discovery: &Discovery) -> Result<Vec<Jwk>, String> {
    let keys = fetch_keys(&discovery.jwks_uri).await?;
    remember(issuer, discovery, &keys);
    Ok(keys)
}

fn remember(issuer: &str, discovery: &Discovery, keys: &[Jwk]) {
    if let Ok(mut c) = cache().lock() {
        c.insert(
            issuer.to_string(),
            Cached {
                discovery: discovery.clone(),
                keys: keys.to_vec(),
                fetched: Instant::now(),
            },
        );
    }
}

/// The client's credentials and the code to exchange.
pub struct Exchange<'a> {
    pub client_id: &'a str,
    pub client_secret: &'a str,
    pub code: &'a str,
    pub redirect_uri: &'a str,
    pub code_verifier: &'a str,
}

#[derive(Deserialize)]
struct TokenAnswer {
    #[serde(default)]
    id_token: Option<String>,
}

#[derive(Deserialize)]
struct TokenError {
    error: String,
    #[serde(default)]
    error_description: Option<String>,
}

/// `application/x-www-form-urlencoded` of `pairs` (the URL crate's encoder, through a
/// throwaway address, since reqwest is built without its form feature).
fn form_body(pairs: &[(&str, &str)]) -> String {
    let mut url = reqwest::Url::parse("http://form.invalid/").expect("a fixed valid URL");
    url.query_pairs_mut().extend_pairs(pairs);
    url.query().unwrap_or_default().to_string()
}

/// Why an exchange failed: the provider said no (a used or forged code: the person's
/// sign-in is refused), or it could not be asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExchangeFailure {
    Refused(String),
    Unreachable(String),
}

/// Exchanges the code for an ID token at the token endpoint (RFC 6749 4.1.3 with the PKCE
/// verifier), authenticating with the client secret as the provider prefers: HTTP Basic
/// unless it only takes the secret in the form.
pub async fn exchange(discovery: &Discovery, x: &Exchange<'_>) -> Result<String, ExchangeFailure> {
    use ExchangeFailure::*;
    let in_form = discovery
        .token_endpoint_auth_methods_supported
        .as_ref()
        .is_some_and(|m| {
            m.iter().any(|m| m == "client_secret_post")
                && !m.iter().any(|m| m == "client_secret_basic")
        });
    let mut pairs = vec![
        ("grant_type", "authorization_code"),
        ("code", x.code),
        ("redirect_uri", x.redirect_uri),
        ("code_verifier", x.code_verifier),
    ];
    let mut request = client()
        .map_err(Unreachable)?
        .post(&discovery.token_endpoint)
        .header("content-type", "application/x-www-form-urlencoded")
        .header("accept", "application/json");
    if in_form {
        pairs.push(("client_id", x.client_id));
        pairs.push(("client_secret", x.client_secret));
    } else {
        // RFC 6749 2.3.1: both halves are form-encoded before they are joined.
        let id = form_body(&[("", x.client_id)]);
        let secret = form_body(&[("", x.client_secret)]);
        request = request.basic_auth(&id[1..], Some(&secret[1..]));
    }
    let response = request.body(form_body(&pairs)).send().await.map_err(|e| {
        Unreachable(format!(
            "the provider's token endpoint could not be reached ({})",
            reach_error(&e)
        ))
    })?;
    if response.status().is_client_error() {
        let refused: TokenError = json_of_any(response).await.map_err(|_| {
            Refused("the provider refused to exchange the sign-in code".to_string())
        })?;
        return Err(Refused(format!(
            "the provider refused to exchange the sign-in code ({}{})",
            refused.error,
            refused
                .error_description
                .map(|d| format!(": {d}"))
                .unwrap_or_default()
        )));
    }
    let answer: TokenAnswer = json_of(response, "the provider's token answer")
        .await
        .map_err(Unreachable)?;
    answer.id_token.ok_or_else(|| {
        Unreachable(
            "the provider's token answer has no ID token (is the openid scope allowed?)".into(),
        )
    })
}

/// A JSON body whatever the status (an OAuth error answer is a 400 with JSON).
async fn json_of_any<T: serde::de::DeserializeOwned>(response: reqwest::Response) -> Result<T, ()> {
    let bytes = response.bytes().await.map_err(|_| ())?;
    serde_json::from_slice(&bytes).map_err(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_bodies_are_percent_encoded() {
        assert_eq!(
            form_body(&[("code", "a b&c=d"), ("redirect_uri", "http://x/cb?y=1")]),
            "code=a+b%26c%3Dd&redirect_uri=http%3A%2F%2Fx%2Fcb%3Fy%3D1"
        );
        assert_eq!(
            discovery_url("https://id.example/realms/a/"),
            "https://id.example/realms/a/.well-known/openid-configuration"
        );
    }
}
