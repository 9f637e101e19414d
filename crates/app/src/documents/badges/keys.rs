//! Agency signing keys: Ed25519, made on first use, rotated by an admin (the old key is kept,
//! retired, so what it signed still verifies), the private half sealed at rest.
//!
//! Sealing is AES-256-GCM under the key-encryption key from the configuration
//! (`CREDENCE_KEY_ENCRYPTION_KEY`), with the agency and key id as associated data, so a
//! sealed key copied onto another agency's row does not open. A database copy without the
//! configuration cannot sign.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use credence_domain::ids::AgencyId;
use credence_store::documents::badges as store;
use credence_store::{Conn, Tx};
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use ring::rand::{SecureRandom, SystemRandom};
use ring::signature::{Ed25519KeyPair, KeyPair};
use serde::Serialize;

use super::jose;
use crate::{Admin, App, AppError, Result};

/// The key that seals agencies' private signing keys.
pub struct KeyEncryptionKey {
    key: LessSafeKey,
}

impl std::fmt::Debug for KeyEncryptionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KeyEncryptionKey(…)")
    }
}

impl KeyEncryptionKey {
    /// 32 bytes written as 64 hex digits or as base64 (either alphabet, padded or not).
    pub fn parse(text: &str) -> std::result::Result<KeyEncryptionKey, String> {
        use base64::Engine;
        let text = text.trim();
        let bytes = if text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
            (0..32)
                .map(|i| u8::from_str_radix(&text[2 * i..2 * i + 2], 16).unwrap_or(0))
                .collect()
        } else {
            let unpadded = text.trim_end_matches('=');
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(unpadded)
                .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(unpadded))
                .unwrap_or_default()
        };
        if bytes.len() != 32 {
            return Err(
                "the key-encryption key must be 32 bytes, written as 64 hex digits or in base64"
                    .into(),
            );
        }
        KeyEncryptionKey::from_bytes(&bytes)
    }

    pub fn from_bytes(bytes: &[u8]) -> std::result::Result<KeyEncryptionKey, String> {
        UnboundKey::new(&AES_256_GCM, bytes)
            .map(|key| KeyEncryptionKey {
                key: LessSafeKey::new(key),
            })
            .map_err(|_| "the key-encryption key must be 32 bytes".to_string())
    }

    /// A new random key as 64 hex digits (what `parse` reads), for a demo's data directory.
    pub fn generate_hex() -> String {
        let mut bytes = [0u8; 32];
        SystemRandom::new()
            .fill(&mut bytes)
            .expect("the system's random source works");
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// `nonce ‖ ciphertext ‖ tag`, base64url. A random 96-bit nonce per seal: keys are
    /// sealed a handful of times per agency, far below GCM's random-nonce limit.
    pub(crate) fn seal(&self, aad: &str, plain: &[u8]) -> Result<String> {
        let mut nonce = [0u8; NONCE_LEN];
        SystemRandom::new()
            .fill(&mut nonce)
            .map_err(|_| AppError::internal("no randomness for a nonce"))?;
        let mut sealed = plain.to_vec();
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(aad.as_bytes()),
                &mut sealed,
            )
            .map_err(|_| AppError::internal("sealing a signing key"))?;
        let mut out = nonce.to_vec();
        out.extend(sealed);
        Ok(jose::b64(&out))
    }

    pub(crate) fn open(&self, aad: &str, sealed: &str) -> Option<Vec<u8>> {
        let bytes = jose::unb64(sealed)?;
        if bytes.len() < NONCE_LEN {
            return None;
        }
        let (nonce, rest) = bytes.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
        let mut rest = rest.to_vec();
        let plain = self
            .key
            .open_in_place(nonce, Aad::from(aad.as_bytes()), &mut rest)
            .ok()?;
        Some(plain.to_vec())
    }
}

fn aad(agency_id: AgencyId, kid: &str) -> String {
    format!("credence-issuer-key:{}:{kid}", agency_id.get())
}

/// Opened key pairs by key id: unsealing and parsing a key costs more than signing with it.
/// A key id is the key's thumbprint, so an entry can never stand for another key.
pub type Signers = Arc<Mutex<HashMap<String, Arc<Ed25519KeyPair>>>>;

/// A key ready to sign with.
#[derive(Clone)]
pub struct Signer {
    pub kid: String,
    pub pair: Arc<Ed25519KeyPair>,
}

impl Signer {
    /// A VC-JWT of `payload`.
    pub fn sign(&self, payload: &serde_json::Value) -> String {
        let bytes = serde_json::to_vec(payload).unwrap_or_default();
        jose::sign(&self.pair, &self.kid, "vc+jwt", &bytes)
    }

    /// A key of its own, never stored: for the benchmark and tests.
    pub fn ephemeral() -> Signer {
        let rng = SystemRandom::new();
        let pkcs8 = Ed25519KeyPair::generate_pkcs8(&rng).expect("generating a key");
        let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).expect("a key just made");
        Signer {
            kid: jose::thumbprint(pair.public_key().as_ref()),
            pair: Arc::new(pair),
        }
    }

    pub fn public_key(&self) -> &[u8] {
        self.pair.public_key().as_ref()
    }
}

/// The answer of a rotation.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RotatedKey {
    /// The new signing key's id (its JWK thumbprint).
    pub kid: String,
    /// The key it replaces, now retired: kept in jwks.json so what it signed still verifies.
    pub retired_kid: Option<String>,
}

impl App {
    /// Seals private signing keys with `key`; without one, signing answers 503.
    pub fn with_key_encryption_key(mut self, key: KeyEncryptionKey) -> App {
        self.key_encryption = Some(Arc::new(key));
        self
    }

    pub(crate) fn key_encryption(&self) -> Result<&KeyEncryptionKey> {
        self.key_encryption.as_deref().ok_or_else(|| {
            AppError::Unavailable(
                "badges cannot be signed: this server has no key-encryption key (set CREDENCE_KEY_ENCRYPTION_KEY)"
                    .into(),
            )
        })
    }

    /// Makes a signing key for the agency; the caller has checked it has none.
    async fn new_key(&self, tx: &mut Tx, agency_id: AgencyId) -> Result<String> {
        let kek = self.key_encryption()?;
        let rng = SystemRandom::new();
        let pkcs8 = Ed25519KeyPair::generate_pkcs8(&rng)
            .map_err(|_| AppError::internal("generating a signing key"))?;
        let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref())
            .map_err(|_| AppError::internal("reading a signing key just made"))?;
        let public = pair.public_key().as_ref();
        let kid = jose::thumbprint(public);
        let sealed = kek.seal(&aad(agency_id, &kid), pkcs8.as_ref())?;
        store::insert_active_key(tx, agency_id, &kid, &jose::b64(public), &sealed).await?;
        Ok(kid)
    }

    fn open_signer(&self, row: &store::IssuerKeyRow) -> Result<Signer> {
        if let Some(pair) = self
            .signers
            .lock()
            .ok()
            .and_then(|m| m.get(&row.kid).cloned())
        {
            return Ok(Signer {
                kid: row.kid.clone(),
                pair,
            });
        }
        let kek = self.key_encryption()?;
        let pkcs8 = kek
            .open(&aad(row.agency_id, &row.kid), &row.sealed_private_key)
            .ok_or_else(|| {
                AppError::Unavailable(
                    "the agency's signing key does not open with this server's key-encryption key (CREDENCE_KEY_ENCRYPTION_KEY changed?)"
                        .into(),
                )
            })?;
        let pair = Arc::new(
            Ed25519KeyPair::from_pkcs8(&pkcs8)
                .map_err(|_| AppError::internal("a stored signing key is not Ed25519 PKCS#8"))?,
        );
        if let Ok(mut cache) = self.signers.lock() {
            cache.insert(row.kid.clone(), pair.clone());
        }
        Ok(Signer {
            kid: row.kid.clone(),
            pair,
        })
    }

    /// The agency's signing key, made on its first use. Only that first use writes.
    pub(crate) async fn signer(&self, agency_id: AgencyId) -> Result<Signer> {
        self.key_encryption()?;
        let mut db = self.store.read().await?;
        if let Some(row) = store::active_key(&mut db, agency_id).await? {
            return self.open_signer(&row);
        }
        drop(db);
        let mut tx = self.store.begin().await?;
        let row = self.active_or_new_key(&mut tx, agency_id).await?;
        tx.commit().await?;
        self.open_signer(&row)
    }

    async fn active_or_new_key(
        &self,
        tx: &mut Tx,
        agency_id: AgencyId,
    ) -> Result<store::IssuerKeyRow> {
        let made = match store::active_key(tx, agency_id).await? {
            // A concurrent first use may win the insert; either way one key comes back.
            None => Some(self.new_key(tx, agency_id).await?),
            Some(_) => None,
        };
        let row = store::active_key(tx, agency_id)
            .await?
            .ok_or_else(|| AppError::internal("no signing key right after making one"))?;
        if made.as_deref() == Some(row.kid.as_str()) {
            // A signing key is what makes a badge the agency's, so its making is audited as
            // its rotation is. No one asked for it by name: the first badge or status list
            // that needed it did, so the event names the service.
            let after = serde_json::json!({ "kid": row.kid, "reason": "first use" });
            credence_store::ops::audit::record(
                tx,
                credence_store::ops::audit::NewEvent {
                    agency_id,
                    actor: "credence",
                    action: "create_signing_key",
                    subject: agency_id.into(),
                    before: None,
                    after: Some(after.to_string()),
                },
            )
            .await?;
        }
        Ok(row)
    }

    /// Retires the agency's signing key (kept for verifying) and makes a new one (admin).
    #[tracing::instrument(skip_all, fields(agency = %admin.agency_id, actor = %admin.label))]
    pub async fn rotate_issuer_key(&self, admin: &Admin) -> Result<RotatedKey> {
        self.key_encryption()?;
        let mut tx = self.store.begin().await?;
        let retired_kid = store::retire_active_key(&mut tx, admin.agency_id).await?;
        let kid = self.new_key(&mut tx, admin.agency_id).await?;
        let rotated = RotatedKey { kid, retired_kid };
        crate::ops::audit::record(
            &mut tx,
            admin,
            "rotate_signing_key",
            admin.agency_id,
            Some(&serde_json::json!({ "kid": rotated.retired_kid })),
            Some(&serde_json::json!({ "kid": rotated.kid })),
        )
        .await?;
        tx.commit().await?;
        Ok(rotated)
    }
}

/// Every key of the agency as public JWKs, the signing one first.
pub(crate) async fn public_jwks(
    db: &mut impl Conn,
    agency_id: AgencyId,
) -> Result<Vec<serde_json::Value>> {
    let mut keys = store::keys_of(db, agency_id).await?;
    keys.sort_by_key(|k| k.retired_at.is_some());
    Ok(keys
        .iter()
        .map(|k| jose::jwk(&k.kid, &k.public_key))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_key_opens_only_with_its_key_and_binding() {
        let kek = KeyEncryptionKey::parse(&KeyEncryptionKey::generate_hex()).unwrap();
        let sealed = kek.seal("credence-issuer-key:1:k", b"secret").unwrap();
        assert_eq!(
            kek.open("credence-issuer-key:1:k", &sealed).as_deref(),
            Some(&b"secret"[..])
        );
        assert_eq!(kek.open("credence-issuer-key:2:k", &sealed), None);
        let other = KeyEncryptionKey::parse(&KeyEncryptionKey::generate_hex()).unwrap();
        assert_eq!(other.open("credence-issuer-key:1:k", &sealed), None);
    }

    #[test]
    fn the_configured_key_is_32_bytes_in_hex_or_base64() {
        assert!(KeyEncryptionKey::parse(&"ab".repeat(32)).is_ok());
        assert!(KeyEncryptionKey::parse(&jose::b64(&[7u8; 32])).is_ok());
        assert!(KeyEncryptionKey::parse("too short").is_err());
        assert!(KeyEncryptionKey::parse(&"ab".repeat(31)).is_err());
    }
}
