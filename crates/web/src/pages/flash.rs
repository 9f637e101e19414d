//! Messages shown once on the page after a form: "Saved.", "Token revoked", an error.
//!
//! They used to travel in the address (`?notice=…`), so anyone could send a link that put
//! their own words on a Credence page, under Credence's name. Now the address carries no
//! text: [`redirect_with`](super::redirect_with) attaches the message to its redirect,
//! [`middleware`] turns it into a short-lived cookie sealed with the session's secret
//! (HMAC-SHA256), and on the next request reads it back only if it was sealed for that same
//! session, then clears it. A cookie from elsewhere, or from another session, shows nothing.

use axum::extract::Request;
use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::auth::session;

const COOKIE: &str = "credence_flash";
/// Long enough to follow a redirect, short enough not to show up on a later visit.
const MAX_AGE_SECONDS: u32 = 60;

/// The message to show on this page, if the session has one.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Flash {
    pub notice: Option<String>,
    pub error: Option<String>,
}

/// A message an answer asks to show next, until [`middleware`] seals it into the cookie.
#[derive(Clone)]
struct Pending(Flash);

/// Asks for `message` to be shown on the next page; `key` is `notice` or `error`.
pub fn attach(response: &mut Response, key: &str, message: &str) {
    let message = Some(message.to_owned());
    let flash = if key == "error" {
        Flash {
            error: message,
            ..Flash::default()
        }
    } else {
        Flash {
            notice: message,
            ..Flash::default()
        }
    };
    response.extensions_mut().insert(Pending(flash));
}

/// Reads the session's flash into the request (for `WebUser`), writes a new one, and clears
/// a shown one. Redirects keep the cookie, so the message reaches the page they lead to.
pub async fn middleware(mut req: Request, next: Next) -> Response {
    let secret = crate::pages::auth::login::cookie(req.headers(), session::COOKIE);
    let sealed = crate::pages::auth::login::cookie(req.headers(), COOKIE);
    if let (Some(secret), Some(sealed)) = (&secret, &sealed) {
        if let Some(flash) = open(secret, sealed) {
            req.extensions_mut().insert(flash);
        }
    }
    let mut response = next.run(req).await;
    let pending = response.extensions_mut().remove::<Pending>();
    let set = match (pending, &secret) {
        (Some(Pending(flash)), Some(secret)) => Some(format!(
            "{COOKIE}={}; Path=/; HttpOnly; SameSite=Lax; Max-Age={MAX_AGE_SECONDS}",
            seal(secret, &flash)
        )),
        _ if sealed.is_some() && !response.status().is_redirection() => Some(format!(
            "{COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0"
        )),
        _ => None,
    };
    if let Some(value) = set.and_then(|v| HeaderValue::from_str(&v).ok()) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

/// `n.<hex of the text>.<hex of its MAC>` (or `e.` for an error): cookie-safe characters only.
fn seal(secret: &str, flash: &Flash) -> String {
    let (kind, text) = match (&flash.notice, &flash.error) {
        (_, Some(error)) => ("e", error),
        (Some(notice), None) => ("n", notice),
        (None, None) => ("n", &String::new()),
    };
    let body = format!("{kind}.{}", hex(text.as_bytes()));
    format!("{body}.{}", hex(&mac(secret, &body)))
}

fn open(secret: &str, sealed: &str) -> Option<Flash> {
    let (body, tag) = sealed.rsplit_once('.')?;
    let mut check = HmacSha256::new_from_slice(secret.as_bytes()).ok()?;
    check.update(body.as_bytes());
    check.verify_slice(&unhex(tag)?).ok()?;
    let (kind, text) = body.split_once('.')?;
    let text = Some(String::from_utf8(unhex(text)?).ok()?);
    match kind {
        "n" => Some(Flash {
            notice: text,
            error: None,
        }),
        "e" => Some(Flash {
            notice: None,
            error: text,
        }),
        _ => None,
    }
}

type HmacSha256 = Hmac<Sha256>;

fn mac(secret: &str, body: &str) -> Vec<u8> {
    let mut mac = HmacSha256::new_from_slice(secret.as_bytes()).expect("any key length works");
    mac.update(body.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flash_opens_only_for_the_session_it_was_sealed_for() {
        let flash = Flash {
            notice: Some("Saved: Ava Smith (100%)".into()),
            error: None,
        };
        let sealed = seal("session-one", &flash);
        assert_eq!(open("session-one", &sealed), Some(flash));
        assert_eq!(open("session-two", &sealed), None);
        let forged = sealed.replacen("n.", "e.", 1);
        assert_eq!(open("session-one", &forged), None, "the kind is sealed too");
        assert_eq!(open("session-one", "n.4869.00"), None);
        assert_eq!(open("session-one", "garbage"), None);
    }
}
