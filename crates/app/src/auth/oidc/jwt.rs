//! Verifying an ID token's signature (a compact JWS, RFC 7515) against the provider's JWKS
//! (RFC 7517): RS256 — what every OpenID provider must support — and ES256. Written here
//! rather than taken from `openidconnect` because it is this small, ring (already built for
//! badges and TLS) does the cryptography, and the sign-in needs nothing else of that crate's
//! dependency tree. `none`, HMAC and every other algorithm are refused.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ring::signature::{
    RsaPublicKeyComponents, UnparsedPublicKey, ECDSA_P256_SHA256_FIXED, RSA_PKCS1_2048_8192_SHA256,
};
use serde::Deserialize;
use serde_json::Value;

/// A public key as a JWKS lists it (the fields the two algorithms need).
#[derive(Debug, Clone, Deserialize)]
pub struct Jwk {
    pub kty: String,
    #[serde(default)]
    pub kid: Option<String>,
    #[serde(default, rename = "use")]
    pub use_: Option<String>,
    #[serde(default)]
    pub alg: Option<String>,
    #[serde(default)]
    pub n: Option<String>,
    #[serde(default)]
    pub e: Option<String>,
    #[serde(default)]
    pub crv: Option<String>,
    #[serde(default)]
    pub x: Option<String>,
    #[serde(default)]
    pub y: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct Jwks {
    pub keys: Vec<Jwk>,
}

#[derive(Debug, Deserialize)]
struct Header {
    alg: String,
    #[serde(default)]
    kid: Option<String>,
}

/// Why a token's signature is not accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignatureProblem {
    Malformed(&'static str),
    Algorithm(String),
    /// No published key has the token's key id (the provider may have rotated its keys).
    UnknownKey,
    Invalid,
}

impl std::fmt::Display for SignatureProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SignatureProblem::Malformed(why) => write!(f, "the sign-in token {why}"),
            SignatureProblem::Algorithm(alg) => write!(
                f,
                "the sign-in token is signed with {alg:?}; only RS256 and ES256 are accepted"
            ),
            SignatureProblem::UnknownKey => {
                f.write_str("the sign-in token is signed with a key the provider does not publish")
            }
            SignatureProblem::Invalid => f.write_str("the sign-in token's signature is not valid"),
        }
    }
}

fn unb64(text: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(text).ok()
}

/// Checks `jwt`'s signature with the matching key of `keys`; answers its claims.
pub fn verify(jwt: &str, keys: &[Jwk]) -> Result<Value, SignatureProblem> {
    use SignatureProblem::*;
    let mut parts = jwt.trim().split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(Malformed("is not a JWT (three base64url parts)"));
    };
    let header: Header = unb64(h)
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or(Malformed("has an unreadable header"))?;
    let kty = match header.alg.as_str() {
        "RS256" => "RSA",
        "ES256" => "EC",
        other => return Err(Algorithm(other.to_string())),
    };
    let signature = unb64(s).ok_or(Malformed("has an unreadable signature"))?;
    let signed = &jwt.trim()[..h.len() + 1 + p.len()];
    let key = pick_key(keys, kty, &header)?;
    let ok = match kty {
        "RSA" => verify_rsa(key, signed.as_bytes(), &signature),
        _ => verify_p256(key, signed.as_bytes(), &signature),
    };
    if !ok {
        return Err(Invalid);
    }
    unb64(p)
        .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
        .filter(Value::is_object)
        .ok_or(Malformed("has an unreadable payload"))
}

/// The signing key named by the header's `kid`, or, without one, the only key of the type.
fn pick_key<'k>(keys: &'k [Jwk], kty: &str, header: &Header) -> Result<&'k Jwk, SignatureProblem> {
    let usable = |k: &&Jwk| {
        k.kty == kty
            && k.use_.as_deref().is_none_or(|u| u == "sig")
            && k.alg.as_deref().is_none_or(|a| a == header.alg)
    };
    let mut candidates = keys
        .iter()
        .filter(usable)
        .filter(|k| header.kid.is_none() || k.kid == header.kid);
    match (candidates.next(), candidates.next()) {
        (Some(key), None) => Ok(key),
        // Several keys and no kid to choose: ambiguous, as good as unknown.
        _ => Err(SignatureProblem::UnknownKey),
    }
}

fn verify_rsa(key: &Jwk, message: &[u8], signature: &[u8]) -> bool {
    let (Some(n), Some(e)) = (
        key.n.as_deref().and_then(unb64),
        key.e.as_deref().and_then(unb64),
    ) else {
        return false;
    };
    RsaPublicKeyComponents { n: &n, e: &e }
        .verify(&RSA_PKCS1_2048_8192_SHA256, message, signature)
        .is_ok()
}

fn verify_p256(key: &Jwk, message: &[u8], signature: &[u8]) -> bool {
    let (Some(x), Some(y)) = (
        key.x.as_deref().and_then(unb64),
        key.y.as_deref().and_then(unb64),
    ) else {
        return false;
    };
    if key.crv.as_deref() != Some("P-256") || x.len() != 32 || y.len() != 32 {
        return false;
    }
    // ring takes the uncompressed point: 0x04 ‖ x ‖ y.
    let mut point = vec![4u8];
    point.extend(x);
    point.extend(y);
    UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, point)
        .verify(message, signature)
        .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ring::rand::SystemRandom;
    use ring::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
    use serde_json::json;

    fn b64(bytes: &[u8]) -> String {
        URL_SAFE_NO_PAD.encode(bytes)
    }

    /// An ES256 key pair and its JWK.
    fn p256(kid: &str) -> (EcdsaKeyPair, Jwk) {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng)
            .unwrap();
        let point = pair.public_key().as_ref();
        let jwk: Jwk = serde_json::from_value(json!({
            "kty": "EC", "crv": "P-256", "kid": kid,
            "x": b64(&point[1..33]), "y": b64(&point[33..65]),
        }))
        .unwrap();
        (pair, jwk)
    }

    fn sign(pair: &EcdsaKeyPair, header: Value, claims: Value) -> String {
        let input = format!(
            "{}.{}",
            b64(header.to_string().as_bytes()),
            b64(claims.to_string().as_bytes())
        );
        let sig = pair.sign(&SystemRandom::new(), input.as_bytes()).unwrap();
        format!("{input}.{}", b64(sig.as_ref()))
    }

    #[test]
    fn a_token_verifies_only_with_its_own_key() {
        let (pair, jwk) = p256("k1");
        let (_, other) = p256("k2");
        let jwt = sign(
            &pair,
            json!({"alg": "ES256", "kid": "k1"}),
            json!({"sub": "u1"}),
        );
        assert_eq!(
            verify(&jwt, &[other.clone(), jwk.clone()]).unwrap()["sub"],
            "u1"
        );
        assert_eq!(
            verify(&jwt, std::slice::from_ref(&other)),
            Err(SignatureProblem::UnknownKey)
        );
        // The other key under this kid: the signature does not match.
        let mut impostor = other;
        impostor.kid = Some("k1".into());
        assert_eq!(verify(&jwt, &[impostor]), Err(SignatureProblem::Invalid));
        // A changed payload no longer matches the signature.
        let mut parts: Vec<&str> = jwt.split('.').collect();
        let forged = b64(json!({"sub": "admin"}).to_string().as_bytes());
        parts[1] = &forged;
        assert_eq!(
            verify(&parts.join("."), &[jwk]),
            Err(SignatureProblem::Invalid)
        );
    }

    #[test]
    fn unsigned_and_hmac_tokens_are_refused() {
        let (_, jwk) = p256("k1");
        for alg in ["none", "HS256", "RS512"] {
            let jwt = format!(
                "{}.{}.",
                b64(json!({"alg": alg}).to_string().as_bytes()),
                b64(b"{}")
            );
            assert_eq!(
                verify(&jwt, std::slice::from_ref(&jwk)),
                Err(SignatureProblem::Algorithm(alg.into()))
            );
        }
        assert!(matches!(
            verify("a.b", &[jwk]),
            Err(SignatureProblem::Malformed(_))
        ));
    }

    #[test]
    fn without_a_kid_the_one_key_of_its_type_is_used() {
        let (pair, jwk) = p256("k1");
        let jwt = sign(&pair, json!({"alg": "ES256"}), json!({"sub": "u1"}));
        assert!(verify(&jwt, std::slice::from_ref(&jwk)).is_ok());
        let (_, second) = p256("k2");
        assert_eq!(
            verify(&jwt, &[jwk, second]),
            Err(SignatureProblem::UnknownKey)
        );
    }
}
