//! Open Badges 3.0 (#21): every issuance exports as an `OpenBadgeCredential` (W3C Verifiable
//! Credentials 2.0) signed by its agency as a VC-JWT, with a Bitstring Status List entry
//! saying whether it has been revoked; the issuer's profile and public keys are public, and
//! `POST /verify` checks a badge's signature, dates and status.
//!
//! The payload is the credential itself, as VC-JOSE-COSE has it (no `vc` wrapper, no JWT
//! claims beside it). Dates are the issuance's, in the agency's time zone: valid from the
//! start of the issue day until the end of the expiration day.

pub mod jose;
pub mod keys;
pub mod status_list;
pub mod verify;

use chrono::{DateTime, NaiveDate, SecondsFormat, TimeZone, Utc};
use credence_domain::ids::CredentialId;
use credence_domain::status_list::slot;
use credence_store::auth::identity::{self, Agency};
use credence_store::documents::badges::{self as store, BadgeFacts};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::{Actor, App, AppError, Result};

pub const VC_CONTEXT: &str = "https://www.w3.org/ns/credentials/v2";
pub const OB_CONTEXT: &str = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json";
/// The media type of a VC-JWT.
pub const MEDIA_TYPE: &str = "application/vc+jwt";

/// A signed badge, ready to download.
#[derive(Debug, Clone)]
pub struct Badge {
    pub jwt: String,
    pub file_name: String,
}

/// Where an agency's things are published: its issuer id and status lists.
pub(crate) struct Urls<'a> {
    pub base: &'a str,
    pub slug: &'a str,
}

impl Urls<'_> {
    pub fn issuer(&self) -> String {
        format!("{}/issuers/{}", self.base, self.slug)
    }

    pub fn status_list(&self, list: u64) -> String {
        format!("{}/status-lists/{}/{list}", self.base, self.slug)
    }
}

/// A UUID (version 8, RFC 9562) named by `parts`: the same badge gets the same id however
/// often it is downloaded, and the issuer URL in `parts` keeps two servers' ids apart.
fn named_uuid(parts: &[&str]) -> String {
    let mut hash = Sha256::new();
    for part in parts {
        hash.update(part.as_bytes());
        hash.update([0]);
    }
    let mut b: [u8; 16] = hash.finalize()[..16].try_into().unwrap_or([0; 16]);
    b[6] = (b[6] & 0x0f) | 0x80;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "urn:uuid:{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

fn time_zone(agency: &Agency) -> chrono_tz::Tz {
    agency.time_zone.parse().unwrap_or(chrono_tz::UTC)
}

/// The instant a local day starts (or, with `end`, its last second) in the agency's zone.
fn day_edge(agency: &Agency, day: NaiveDate, end: bool) -> String {
    let time = if end {
        day.and_hms_opt(23, 59, 59)
    } else {
        day.and_hms_opt(0, 0, 0)
    }
    .unwrap_or_default();
    let instant: DateTime<Utc> = match time_zone(agency).from_local_datetime(&time) {
        chrono::LocalResult::Single(t) => t.with_timezone(&Utc),
        chrono::LocalResult::Ambiguous(early, late) => {
            let chosen = if end { late } else { early };
            chosen.with_timezone(&Utc)
        }
        chrono::LocalResult::None => Utc.from_utc_datetime(&time),
    };
    instant.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// The issuer as badges name it: an OB 3.0 `Profile`.
fn issuer_profile(urls: &Urls, agency: &Agency) -> Value {
    json!({"id": urls.issuer(), "type": ["Profile"], "name": agency.name})
}

/// The `OpenBadgeCredential` of one issuance, at status list `list`, index `index`.
pub(crate) fn badge_payload(
    urls: &Urls,
    agency: &Agency,
    f: &BadgeFacts,
    list: u64,
    index: u64,
    salt: &str,
) -> Value {
    let issuer = urls.issuer();
    let issuance = f.issuance_id.to_string();
    let type_id = f.credential_type_id.to_string();
    let description = match f.type_description.trim() {
        "" => format!("{} issued by {}.", f.type_name, agency.name),
        d => d.to_string(),
    };
    let holder = format!("{} {}", f.first_name, f.last_name);
    let mut identifier = vec![json!({
        "type": "IdentityObject", "identityType": "name", "hashed": false, "identityHash": holder,
    })];
    if let Some(email) = f.email.as_deref().filter(|e| !e.is_empty()) {
        // Hashed as OB 3.0 allows: a relying party who is given the address can check it,
        // nobody else can read it from the badge.
        let hash = Sha256::digest(format!("{}{salt}", email.to_lowercase()).as_bytes());
        let hex: String = hash.iter().map(|x| format!("{x:02x}")).collect();
        identifier.push(json!({
            "type": "IdentityObject", "identityType": "emailAddress", "hashed": true,
            "identityHash": format!("sha256${hex}"), "salt": salt,
        }));
    }
    let mut subject = json!({
        "type": ["AchievementSubject"],
        "identifier": identifier,
        "achievement": {
            "id": named_uuid(&[&issuer, "achievement", &type_id]),
            "type": ["Achievement"],
            "achievementType": "Certification",
            "name": f.type_name,
            "description": description,
            "humanCode": f.type_code,
            "criteria": {"narrative": format!(
                "Meet every requirement {} sets for {} and be issued it by an officer of the agency.",
                agency.name, f.type_name
            )},
        },
    });
    if let Some(number) = &f.credential_number {
        subject["licenseNumber"] = json!(number);
    }
    let status_list = urls.status_list(list);
    let mut badge = json!({
        "@context": [VC_CONTEXT, OB_CONTEXT],
        "id": named_uuid(&[&issuer, "issuance", &issuance]),
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "name": f.type_name,
        "issuer": issuer_profile(urls, agency),
        "validFrom": day_edge(agency, f.issue_date, false),
        "credentialSubject": subject,
        "credentialStatus": {
            "id": format!("{status_list}#{index}"),
            "type": "BitstringStatusListEntry",
            "statusPurpose": "revocation",
            "statusListIndex": index.to_string(),
            "statusListCredential": status_list,
        },
    });
    if let Some(until) = f.expiration_date {
        badge["validUntil"] = json!(day_edge(agency, until, true));
    }
    badge
}

fn random_salt() -> String {
    use ring::rand::SecureRandom;
    let mut bytes = [0u8; 12];
    let _ = ring::rand::SystemRandom::new().fill(&mut bytes);
    jose::b64(&bytes)
}

impl App {
    pub(crate) fn urls<'a>(&'a self, slug: &'a str) -> Urls<'a> {
        Urls {
            base: &self.public_url,
            slug,
        }
    }

    /// The credential's current issuance as a signed Open Badge. A member may have their
    /// own; another agency's credential is a 404; one never issued, or revoked, a 409.
    #[tracing::instrument(skip_all, fields(agency = %actor.agency_id, credential = %id))]
    pub async fn credential_badge(&self, actor: &Actor, id: CredentialId) -> Result<Badge> {
        self.key_encryption()?;
        let mut db = self.store.read().await?;
        let row = self.load_credential(&mut db, actor, id).await?;
        let issuance = match (row.credential.issuance_id, row.credential.revoked) {
            (Some(issuance), false) => issuance,
            (Some(_), true) => {
                return Err(AppError::Conflict(
                    "the credential is revoked: a badge of it would not verify".into(),
                ))
            }
            (None, _) => {
                return Err(AppError::Conflict(
                    "the credential has never been issued: there is nothing to prove yet".into(),
                ))
            }
        };
        let agency = identity::agency_by_id(&mut db, actor.agency_id)
            .await?
            .ok_or(AppError::NotFound)?;
        let facts = store::badge_facts(&mut db, agency.id, issuance)
            .await?
            .ok_or(AppError::NotFound)?;
        let entry = store::status_entry(&mut db, agency.id, issuance).await?;
        drop(db);
        let (list, index) = match entry {
            Some(entry) => entry,
            None => {
                // The first download of this issuance's badge gives it a status position.
                let mut tx = self.store.begin().await?;
                let position = store::next_status_position(&mut tx, agency.id).await?;
                let (list, index) = slot(u64::try_from(position).unwrap_or(0));
                store::insert_status_entry(&mut tx, agency.id, list as i64, index as i64, issuance)
                    .await?;
                let entry = store::status_entry(&mut tx, agency.id, issuance)
                    .await?
                    .ok_or_else(|| AppError::internal("no status entry right after making one"))?;
                tx.commit().await?;
                entry
            }
        };
        let signer = self.signer(agency.id).await?;
        let payload = badge_payload(
            &self.urls(&agency.slug),
            &agency,
            &facts,
            list as u64,
            index as u64,
            &random_salt(),
        );
        let code: String = facts
            .type_code
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
            .collect();
        Ok(Badge {
            jwt: signer.sign(&payload),
            file_name: format!("{code}-{id}.jwt"),
        })
    }

    /// The public issuer profile of `/issuers/{slug}` (no login).
    pub async fn issuer(&self, slug: &str) -> Result<Value> {
        let mut db = self.store.read().await?;
        let agency = identity::agency_by_slug(&mut db, slug)
            .await?
            .ok_or(AppError::NotFound)?;
        let urls = self.urls(&agency.slug);
        let mut profile = issuer_profile(&urls, &agency);
        profile["@context"] = json!([VC_CONTEXT, OB_CONTEXT]);
        profile["url"] = json!(self.public_url);
        Ok(profile)
    }

    /// The agency's public keys (`/issuers/{slug}/jwks.json`): the signing key and every
    /// retired one, since badges they signed must still verify.
    pub async fn issuer_jwks(&self, slug: &str) -> Result<Value> {
        let mut db = self.store.read().await?;
        let agency = identity::agency_by_slug(&mut db, slug)
            .await?
            .ok_or(AppError::NotFound)?;
        let keys = keys::public_jwks(&mut db, agency.id).await?;
        Ok(json!({ "keys": keys }))
    }
}
