//! The agency's revocation lists, published as signed `BitstringStatusListCredential`s
//! (`/status-lists/{slug}/{n}`). A bit is set when its issuance is revoked or was undone:
//! it is read from the issuance at the moment the list is served (see migration 0029).

use std::io::{Read, Write};

use chrono::{SecondsFormat, Utc};
use credence_domain::status_list::Bitstring;
use credence_store::auth::identity;
use credence_store::documents::badges as store;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use flate2::Compression;
use serde_json::json;

use super::{jose, VC_CONTEXT};
use crate::{App, AppError, Result};

/// `encodedList` as the spec writes it: the bitstring GZIP-compressed, base64url without
/// padding, with the multibase prefix `u` that names that encoding.
pub fn encode(bits: &Bitstring) -> String {
    let mut gz = GzEncoder::new(Vec::new(), Compression::default());
    let _ = gz.write_all(bits.as_bytes());
    let compressed = gz.finish().unwrap_or_default();
    format!("u{}", jose::b64(&compressed))
}

/// Reads an `encodedList` back (with or without the multibase prefix).
pub fn decode(encoded: &str) -> Option<Bitstring> {
    let compressed = jose::unb64(encoded.strip_prefix('u').unwrap_or(encoded))?;
    let mut bytes = Vec::new();
    // A list is 16 KiB; refuse to inflate a hostile one without bound.
    GzDecoder::new(compressed.as_slice())
        .take(16 * 1024 * 1024)
        .read_to_end(&mut bytes)
        .ok()?;
    Bitstring::from_bytes(bytes)
}

impl App {
    /// List `n` of the agency as a signed VC-JWT (public, no login). Lists not yet in use
    /// beyond the first are a 404.
    pub async fn status_list_credential(&self, slug: &str, n: u64) -> Result<String> {
        self.key_encryption()?;
        let mut db = self.store.read().await?;
        let agency = identity::agency_by_slug(&mut db, slug)
            .await?
            .ok_or(AppError::NotFound)?;
        let in_use = store::status_lists_in_use(&mut db, agency.id).await?.max(1);
        let list = i64::try_from(n).map_err(|_| AppError::NotFound)?;
        if !(1..=in_use).contains(&list) {
            return Err(AppError::NotFound);
        }
        let mut bits = Bitstring::new();
        for index in store::revoked_indexes(&mut db, agency.id, list).await? {
            bits.set(index as u64);
        }
        drop(db);
        let signer = self.signer(agency.id).await?;
        let urls = self.urls(&agency.slug);
        let id = urls.status_list(n);
        let payload = json!({
            "@context": [VC_CONTEXT],
            "id": id,
            "type": ["VerifiableCredential", "BitstringStatusListCredential"],
            "issuer": urls.issuer(),
            "validFrom": Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true),
            "credentialSubject": {
                "id": format!("{id}#list"),
                "type": "BitstringStatusList",
                "statusPurpose": "revocation",
                "encodedList": encode(&bits),
            },
        });
        Ok(signer.sign(&payload))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_list_round_trips_and_stays_small() {
        let mut bits = Bitstring::new();
        bits.set(0);
        bits.set(94_567);
        let encoded = encode(&bits);
        assert!(encoded.starts_with('u'));
        assert!(!encoded.contains('='));
        assert!(
            encoded.len() < 200,
            "an almost empty list compresses: {}",
            encoded.len()
        );
        let back = decode(&encoded).unwrap();
        assert_eq!(back, bits);
        assert_eq!(back.get(94_567), Some(true));
        assert_eq!(back.get(94_566), Some(false));
        assert_eq!(decode("u!!"), None);
    }
}
