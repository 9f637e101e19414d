//! The JOSE pieces a VC-JWT needs — compact JWS with EdDSA (RFC 7515, RFC 8037), OKP JWKs
//! (RFC 7517) and key thumbprints (RFC 7638) — written out here because they are this small;
//! the cryptography is ring's.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ring::signature::{Ed25519KeyPair, UnparsedPublicKey, ED25519};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

pub fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

pub fn unb64(text: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(text).ok()
}

/// The protected header.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Header {
    pub alg: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub typ: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kid: Option<String>,
}

/// Signs `payload` (JSON bytes) as a compact JWS: `header.payload.signature`.
pub fn sign(key: &Ed25519KeyPair, kid: &str, typ: &str, payload: &[u8]) -> String {
    let header = Header {
        alg: "EdDSA".into(),
        typ: Some(typ.into()),
        kid: Some(kid.into()),
    };
    let header = serde_json::to_vec(&header).unwrap_or_default();
    let mut jws = String::with_capacity((header.len() + payload.len()) * 4 / 3 + 100);
    URL_SAFE_NO_PAD.encode_string(&header, &mut jws);
    jws.push('.');
    URL_SAFE_NO_PAD.encode_string(payload, &mut jws);
    let signature = key.sign(jws.as_bytes());
    jws.push('.');
    URL_SAFE_NO_PAD.encode_string(signature.as_ref(), &mut jws);
    jws
}

/// A compact JWS taken apart; nothing in it is trusted until [`verify`] says so.
#[derive(Debug, Clone)]
pub struct Parsed {
    pub header: Header,
    pub payload: Value,
    signing_input: String,
    signature: Vec<u8>,
}

/// Takes a compact JWS apart, or says what about it is malformed.
pub fn parse(jwt: &str) -> Result<Parsed, &'static str> {
    let jwt = jwt.trim();
    let mut parts = jwt.split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err("is not a JWT: it must be three base64url parts separated by dots");
    };
    let header: Header = unb64(h)
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .ok_or("is not a JWT: its header is not base64url JSON naming an alg")?;
    let payload: Value = unb64(p)
        .and_then(|bytes| serde_json::from_slice::<Value>(&bytes).ok())
        .filter(Value::is_object)
        .ok_or("is not a JWT: its payload is not a base64url JSON object")?;
    let signature = unb64(s).ok_or("is not a JWT: its signature is not base64url")?;
    Ok(Parsed {
        header,
        payload,
        signing_input: jwt[..h.len() + 1 + p.len()].to_string(),
        signature,
    })
}

/// Whether `parsed` is signed with EdDSA by the Ed25519 key `public_key` (32 raw bytes).
pub fn verify(public_key: &[u8], parsed: &Parsed) -> bool {
    parsed.header.alg == "EdDSA"
        && UnparsedPublicKey::new(&ED25519, public_key)
            .verify(parsed.signing_input.as_bytes(), &parsed.signature)
            .is_ok()
}

/// The RFC 7638 thumbprint of an Ed25519 public key: SHA-256 over the JWK's required members
/// in lexicographic order without whitespace, base64url. A key's id: stable, and the same
/// wherever it is computed.
pub fn thumbprint(public_key: &[u8]) -> String {
    let canonical = format!(
        r#"{{"crv":"Ed25519","kty":"OKP","x":"{}"}}"#,
        b64(public_key)
    );
    b64(&Sha256::digest(canonical.as_bytes()))
}

/// The public JWK of a key (`x` is the raw public key, base64url).
pub fn jwk(kid: &str, x: &str) -> Value {
    json!({"kty": "OKP", "crv": "Ed25519", "x": x, "kid": kid, "alg": "EdDSA", "use": "sig"})
}

#[cfg(test)]
mod tests {
    use super::*;
    use ring::signature::KeyPair;

    fn new_key() -> Ed25519KeyPair {
        let rng = ring::rand::SystemRandom::new();
        let pkcs8 = Ed25519KeyPair::generate_pkcs8(&rng).unwrap();
        Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap()
    }

    #[test]
    fn signs_and_verifies_and_refuses_a_changed_payload() {
        let key = new_key();
        let public = key.public_key().as_ref().to_vec();
        let jwt = sign(&key, "k1", "vc+jwt", br#"{"a":1}"#);
        let parsed = parse(&jwt).unwrap();
        assert_eq!(parsed.header.kid.as_deref(), Some("k1"));
        assert_eq!(parsed.payload, json!({"a": 1}));
        assert!(verify(&public, &parsed));
        let parts: Vec<&str> = jwt.split('.').collect();
        let forged = format!("{}.{}.{}", parts[0], b64(br#"{"a":2}"#), parts[2]);
        assert!(!verify(&public, &parse(&forged).unwrap()));
        assert!(
            !verify(new_key().public_key().as_ref(), &parsed),
            "another key"
        );
    }

    #[test]
    fn malformed_input_is_named() {
        assert!(parse("not a jwt").is_err());
        assert!(parse("a.b").is_err());
        assert!(parse("a.b.c.d").is_err());
        let h = b64(br#"{"alg":"EdDSA"}"#);
        assert!(parse(&format!("{h}.{}.AA", b64(b"[1]"))).is_err());
        assert!(parse(&format!("{h}.{}.AA", b64(b"{}"))).is_ok());
    }

    #[test]
    fn the_thumbprint_follows_rfc_8037s_example() {
        // RFC 8037, appendix A.3: the thumbprint of its example Ed25519 key.
        let x = unb64("11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo").unwrap();
        assert_eq!(
            thumbprint(&x),
            "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
        );
    }
}
