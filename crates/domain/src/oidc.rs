//! OpenID Connect sign-in: which ID tokens are accepted (OpenID Connect Core 1.0, 3.1.3.7).
//! The signature is checked before this (in the app, against the provider's keys); here are
//! the rules on what the token says.
//!
//! | claim            | rule                                                                  |
//! |------------------|-----------------------------------------------------------------------|
//! | `iss`            | exactly the configured issuer                                         |
//! | `aud`            | names our client id; with other audiences too, `azp` must be ours    |
//! | `exp`            | later than now (60 s leeway for clocks)                               |
//! | `iat`            | present and not later than now (same leeway)                          |
//! | `nonce`          | exactly the nonce this sign-in sent                                   |
//! | `sub`            | present                                                               |
//! | `email`          | present and plausible                                                  |
//! | `email_verified` | `true`: an address the provider has not verified proves nothing       |

use serde_json::Value;

use crate::validation::{fold_email, is_plausible_email};

/// Seconds of clock difference tolerated between us and the provider.
pub const LEEWAY_SECONDS: i64 = 60;

/// What this sign-in expects of the token.
#[derive(Debug, Clone)]
pub struct Expected<'a> {
    pub issuer: &'a str,
    pub client_id: &'a str,
    pub nonce: &'a str,
    /// Now, in seconds since the Unix epoch.
    pub now: i64,
}

/// Who the provider says signed in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub subject: String,
    /// As the provider spells it (matching folds case).
    pub email: String,
}

impl Identity {
    pub fn folded_email(&self) -> String {
        fold_email(&self.email)
    }
}

/// Why an ID token is refused, in words for the person signing in.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("the sign-in token was issued by {0:?}, not by the configured provider")]
    WrongIssuer(String),
    #[error("the sign-in token was not issued to this service (its audience is another client)")]
    WrongAudience,
    #[error("the sign-in token has expired")]
    Expired,
    #[error("the sign-in token is dated in the future or has no issue time")]
    BadIssueTime,
    #[error("the sign-in token does not belong to this sign-in (its nonce does not match)")]
    WrongNonce,
    #[error("the sign-in token does not say who signed in (no subject)")]
    NoSubject,
    #[error("the provider did not give an e-mail address")]
    NoEmail,
    #[error("the provider has not verified the e-mail address {0}")]
    UnverifiedEmail(String),
}

/// Checks the claims of a signature-verified ID token; answers who signed in.
pub fn check_claims(claims: &Value, expected: &Expected<'_>) -> Result<Identity, Refusal> {
    let text = |name: &str| claims.get(name).and_then(Value::as_str);
    let issuer = text("iss").unwrap_or_default();
    if issuer != expected.issuer {
        return Err(Refusal::WrongIssuer(issuer.to_string()));
    }
    if !audience_is(claims, expected.client_id) {
        return Err(Refusal::WrongAudience);
    }
    let exp = claims.get("exp").and_then(Value::as_i64);
    if exp.is_none_or(|exp| exp + LEEWAY_SECONDS <= expected.now) {
        return Err(Refusal::Expired);
    }
    let iat = claims.get("iat").and_then(Value::as_i64);
    if iat.is_none_or(|iat| iat > expected.now + LEEWAY_SECONDS) {
        return Err(Refusal::BadIssueTime);
    }
    if text("nonce") != Some(expected.nonce) {
        return Err(Refusal::WrongNonce);
    }
    let subject = text("sub")
        .filter(|s| !s.is_empty())
        .ok_or(Refusal::NoSubject)?;
    let email = text("email")
        .map(str::trim)
        .filter(|e| is_plausible_email(e))
        .ok_or(Refusal::NoEmail)?;
    if !is_verified(claims.get("email_verified")) {
        return Err(Refusal::UnverifiedEmail(email.to_string()));
    }
    Ok(Identity {
        subject: subject.to_string(),
        email: email.to_string(),
    })
}

/// `aud` is our client id, or a list naming it; a list with others needs `azp` to be ours.
fn audience_is(claims: &Value, client_id: &str) -> bool {
    match claims.get("aud") {
        Some(Value::String(aud)) => aud == client_id,
        Some(Value::Array(list)) => {
            let ours = list.iter().any(|a| a.as_str() == Some(client_id));
            let azp = claims.get("azp").and_then(Value::as_str);
            ours && (list.len() == 1 || azp == Some(client_id))
                && azp.is_none_or(|azp| azp == client_id)
        }
        _ => false,
    }
}

/// `true`, or the string `"true"` that some providers send instead of a boolean.
fn is_verified(value: Option<&Value>) -> bool {
    match value {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s == "true",
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const NOW: i64 = 1_800_000_000;

    fn expected() -> Expected<'static> {
        Expected {
            issuer: "https://id.example",
            client_id: "credence",
            nonce: "n-1",
            now: NOW,
        }
    }

    fn good() -> Value {
        json!({"iss": "https://id.example", "aud": "credence", "exp": NOW + 300, "iat": NOW - 5,
               "nonce": "n-1", "sub": "u1", "email": "Ada@Example.org", "email_verified": true})
    }

    fn with(key: &str, value: Value) -> Value {
        let mut c = good();
        c[key] = value;
        c
    }

    #[test]
    fn a_good_token_names_its_verified_email() {
        let who = check_claims(&good(), &expected()).unwrap();
        assert_eq!(who.subject, "u1");
        assert_eq!(who.email, "Ada@Example.org");
        assert_eq!(who.folded_email(), "ada@example.org");
    }

    #[test]
    fn each_rule_refuses_with_its_reason() {
        let e = expected();
        let cases = [
            (
                with("iss", json!("https://evil.example")),
                Refusal::WrongIssuer("https://evil.example".into()),
            ),
            (with("aud", json!("other")), Refusal::WrongAudience),
            (
                with("aud", json!(["credence", "other"])),
                Refusal::WrongAudience,
            ),
            (with("exp", json!(NOW - 61)), Refusal::Expired),
            (with("exp", json!("soon")), Refusal::Expired),
            (with("iat", json!(NOW + 3600)), Refusal::BadIssueTime),
            (with("nonce", json!("n-2")), Refusal::WrongNonce),
            (with("sub", json!("")), Refusal::NoSubject),
            (with("email", json!("not an address")), Refusal::NoEmail),
            (
                with("email_verified", json!(false)),
                Refusal::UnverifiedEmail("Ada@Example.org".into()),
            ),
            (
                with("email_verified", json!("yes")),
                Refusal::UnverifiedEmail("Ada@Example.org".into()),
            ),
        ];
        for (claims, refusal) in cases {
            assert_eq!(check_claims(&claims, &e), Err(refusal), "{claims}");
        }
        let mut no_nonce = good();
        no_nonce.as_object_mut().unwrap().remove("nonce");
        assert_eq!(check_claims(&no_nonce, &e), Err(Refusal::WrongNonce));
        let mut unverified = good();
        unverified.as_object_mut().unwrap().remove("email_verified");
        assert!(matches!(
            check_claims(&unverified, &e),
            Err(Refusal::UnverifiedEmail(_))
        ));
    }

    #[test]
    fn audiences_and_leeway() {
        let e = expected();
        assert!(check_claims(&with("aud", json!(["credence"])), &e).is_ok());
        let mut shared = with("aud", json!(["credence", "api"]));
        shared["azp"] = json!("credence");
        assert!(check_claims(&shared, &e).is_ok());
        shared["azp"] = json!("api");
        assert_eq!(check_claims(&shared, &e), Err(Refusal::WrongAudience));
        // Within the leeway a just-expired token and a slightly future one still pass.
        assert!(check_claims(&with("exp", json!(NOW - 30)), &e).is_ok());
        assert!(check_claims(&with("iat", json!(NOW + 30)), &e).is_ok());
        assert!(check_claims(&with("email_verified", json!("true")), &e).is_ok());
    }
}
