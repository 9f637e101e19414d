//! `POST /verify`: what this server can say about a badge it is shown. Every check is named
//! in the answer; the verdict is the domain's (`credence_domain::verification`): a bad
//! signature is `invalid_signature`, an issuer, key or status this server cannot check is
//! `unknown`, and only a badge that passes everything is `valid`.

use std::time::Instant;

use chrono::{DateTime, NaiveDate, Utc};
use credence_domain::status_list::LIST_BITS;
use credence_domain::verification::{verdict, BadgeStatus, Outcome, Outcomes};
use credence_store::auth::identity::{self, Agency};
use credence_store::documents::badges as store;
use credence_store::Read;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::jose::{self, Parsed};
use super::keys::Signer;
use crate::{App, AppError, Result};

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyRequest {
    /// The badge: a VC-JWT (compact JWS).
    pub jwt: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Check {
    /// `issuer`, `key`, `signature`, `dates` or `status`.
    pub check: &'static str,
    /// `passed`, `failed`, or `unknown` (it could not be carried out).
    #[schema(value_type = String)]
    pub outcome: Outcome,
    pub detail: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct VerifyResult {
    /// `valid`, `expired`, `revoked`, `invalid_signature` or `unknown`.
    #[schema(value_type = String)]
    pub status: BadgeStatus,
    /// Each check in the order it ran.
    pub checks: Vec<Check>,
}

/// Collects outcomes and the words that go with them.
#[derive(Default)]
struct Report {
    outcomes: Outcomes,
    checks: Vec<Check>,
}

impl Report {
    fn note(&mut self, check: &'static str, outcome: Outcome, detail: impl Into<String>) {
        let slot = match check {
            "issuer" => &mut self.outcomes.issuer,
            "key" => &mut self.outcomes.key,
            "signature" => &mut self.outcomes.signature,
            "dates" => &mut self.outcomes.dates,
            _ => &mut self.outcomes.status,
        };
        *slot = Some(outcome);
        self.checks.push(Check {
            check,
            outcome,
            detail: detail.into(),
        });
    }

    fn finish(self) -> VerifyResult {
        VerifyResult {
            status: verdict(&self.outcomes),
            checks: self.checks,
        }
    }
}

/// The issuer's id, whether written as a URL or as a Profile.
fn issuer_id(payload: &Value) -> Option<&str> {
    let issuer = &payload["issuer"];
    issuer.as_str().or_else(|| issuer["id"].as_str())
}

fn instant(value: &Value) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(value.as_str()?)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

fn local_day(at: DateTime<Utc>, agency: &Agency) -> NaiveDate {
    at.with_timezone(&super::time_zone(agency)).date_naive()
}

/// The dates check: `today` (the agency's) within `validFrom` … `validUntil`.
fn check_dates(report: &mut Report, payload: &Value, agency: &Agency, today: NaiveDate) {
    let Some(from) = instant(&payload["validFrom"]) else {
        report.note(
            "dates",
            Outcome::Unknown,
            "validFrom is missing or not a date-time",
        );
        return;
    };
    if local_day(from, agency) > today {
        report.note(
            "dates",
            Outcome::Unknown,
            format!("not valid before {}", local_day(from, agency)),
        );
        return;
    }
    match &payload["validUntil"] {
        Value::Null => report.note("dates", Outcome::Passed, "valid from its issue, no expiry"),
        until => match instant(until) {
            Some(until) if local_day(until, agency) < today => report.note(
                "dates",
                Outcome::Failed,
                format!("expired: valid until {}", local_day(until, agency)),
            ),
            Some(until) => report.note(
                "dates",
                Outcome::Passed,
                format!("valid until {}", local_day(until, agency)),
            ),
            None => report.note("dates", Outcome::Unknown, "validUntil is not a date-time"),
        },
    }
}

impl App {
    /// Verifies a badge (public: anyone may ask). Input that is not a JWT is a 422.
    #[tracing::instrument(skip_all)]
    pub async fn verify_badge(&self, jwt: &str) -> Result<VerifyResult> {
        let parsed = jose::parse(jwt).map_err(|why| AppError::invalid("jwt", why))?;
        let mut db = self.store.read().await?;
        let mut report = Report::default();
        let prefix = format!("{}/issuers/", self.public_url);
        let issuer = issuer_id(&parsed.payload);
        let agency = match issuer
            .and_then(|i| i.strip_prefix(&prefix))
            .filter(|slug| !slug.is_empty() && !slug.contains('/'))
        {
            Some(slug) => identity::agency_by_slug(&mut db, slug).await?,
            None => None,
        };
        let Some(agency) = agency else {
            report.note(
                "issuer",
                Outcome::Unknown,
                format!(
                    "the issuer {} is not an agency of this server",
                    issuer.unwrap_or("(none named)")
                ),
            );
            return Ok(report.finish());
        };
        report.note(
            "issuer",
            Outcome::Passed,
            format!("{} ({})", agency.name, self.urls(&agency.slug).issuer()),
        );
        let Some(key) = self
            .issuer_key(&mut db, &agency, &parsed, &mut report)
            .await?
        else {
            return Ok(report.finish());
        };
        if !jose::verify(&key, &parsed) {
            report.note(
                "signature",
                Outcome::Failed,
                if parsed.header.alg == "EdDSA" {
                    "the signature does not match the content: it was changed after signing, or signed by another key".to_string()
                } else {
                    format!("alg {:?} is not EdDSA", parsed.header.alg)
                },
            );
            return Ok(report.finish());
        }
        report.note("signature", Outcome::Passed, "signed by the issuer's key");
        let today = self.clock.today(&agency.time_zone);
        check_dates(&mut report, &parsed.payload, &agency, today);
        self.check_status(&mut db, &agency, &parsed.payload, &mut report)
            .await?;
        Ok(report.finish())
    }

    /// The public key `kid` names, when it is one of the issuer's.
    async fn issuer_key(
        &self,
        db: &mut Read,
        agency: &Agency,
        parsed: &Parsed,
        report: &mut Report,
    ) -> Result<Option<Vec<u8>>> {
        let Some(kid) = parsed.header.kid.as_deref() else {
            report.note("key", Outcome::Unknown, "the header names no key (kid)");
            return Ok(None);
        };
        let keys = store::keys_of(db, agency.id).await?;
        if let Some(key) = keys.iter().find(|k| k.kid == kid) {
            let bytes = jose::unb64(&key.public_key)
                .ok_or_else(|| AppError::internal("a stored public key is not base64url"))?;
            let state = if key.retired_at.is_some() {
                "a retired key of the issuer (still verifies what it signed)"
            } else {
                "the issuer's signing key"
            };
            report.note("key", Outcome::Passed, format!("{kid}: {state}"));
            return Ok(Some(bytes));
        }
        if store::key_by_kid(db, kid).await?.is_some() {
            report.note(
                "key",
                Outcome::Failed,
                format!("{kid} is another issuer's key, not {}'s", agency.name),
            );
        } else {
            report.note(
                "key",
                Outcome::Unknown,
                format!("{kid} is not a key this server knows"),
            );
        }
        Ok(None)
    }

    /// The status check: the bit of the badge's entry in the issuer's own list.
    async fn check_status(
        &self,
        db: &mut Read,
        agency: &Agency,
        payload: &Value,
        report: &mut Report,
    ) -> Result<()> {
        let status = &payload["credentialStatus"];
        if status["type"] != "BitstringStatusListEntry" || status["statusPurpose"] != "revocation" {
            report.note(
                "status",
                Outcome::Unknown,
                "no revocation entry of a Bitstring Status List (credentialStatus)",
            );
            return Ok(());
        }
        let list_url = status["statusListCredential"].as_str().unwrap_or_default();
        let prefix = format!("{}/status-lists/{}/", self.public_url, agency.slug);
        let list = list_url
            .strip_prefix(&prefix)
            .and_then(|n| n.parse::<i64>().ok())
            .filter(|n| *n >= 1);
        let index = status["statusListIndex"]
            .as_str()
            .and_then(|i| i.parse::<u64>().ok())
            .filter(|i| *i < LIST_BITS);
        let (Some(list), Some(index)) = (list, index) else {
            report.note(
                "status",
                Outcome::Unknown,
                format!("the status list {list_url:?} cannot be read: it is not one this server publishes for the issuer, or the index is not a number within it"),
            );
            return Ok(());
        };
        match store::status_bit(db, agency.id, list, index as i64).await? {
            Some(true) => report.note(
                "status",
                Outcome::Failed,
                format!("revoked: bit {index} of {list_url} is set"),
            ),
            Some(false) => report.note(
                "status",
                Outcome::Passed,
                format!("not revoked: bit {index} of {list_url} is clear"),
            ),
            None => report.note(
                "status",
                Outcome::Unknown,
                format!("no badge was given index {index} of {list_url}"),
            ),
        }
        Ok(())
    }
}

/// What `credence bench-badges` measured: wall-clock rates, and rates per second this
/// thread was actually on a core (Linux), which a busy machine does not dilute.
#[derive(Debug, Clone, Serialize)]
pub struct BenchResult {
    pub badges: usize,
    pub sign_seconds: f64,
    pub signed_per_second: f64,
    pub signed_per_cpu_second: Option<f64>,
    pub verify_seconds: f64,
    pub verified_per_second: f64,
    pub verified_per_cpu_second: Option<f64>,
    pub average_jwt_bytes: usize,
}

/// Seconds this thread has spent on a CPU, where the kernel says (`schedstat`).
fn on_cpu_seconds() -> Option<f64> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let nanos: f64 = text.split_whitespace().next()?.parse().ok()?;
    Some(nanos / 1e9)
}

fn per_cpu_second(count: usize, from: Option<f64>, to: Option<f64>) -> Option<f64> {
    Some(count as f64 / (to? - from?).max(1e-9))
}

/// Signs `count` badges (each payload built and serialised, as a download does) and then
/// verifies each (parsed, signature checked, payload decoded), in this thread, without the
/// database: the cryptography and JSON work of `GET …/badge` and `POST /verify`.
pub fn bench(count: usize) -> BenchResult {
    use credence_domain::ids::{AgencyId, CredentialTypeId, IssuanceId};
    use credence_domain::status_list::slot;
    let agency = Agency {
        id: AgencyId::new(1),
        slug: "bench".into(),
        name: "Bench County Fire District".into(),
        time_zone: "America/Chicago".into(),
        expiring_soon_days: 60,
        created_at: Utc::now(),
    };
    let urls = super::Urls {
        base: "https://credence.example",
        slug: &agency.slug,
    };
    let signer = Signer::ephemeral();
    let day = NaiveDate::from_ymd_opt(2026, 1, 15).unwrap_or_default();
    let cpu = on_cpu_seconds();
    let start = Instant::now();
    let mut jwts = Vec::with_capacity(count);
    for i in 0..count {
        let facts = store::BadgeFacts {
            issuance_id: IssuanceId::new(i as i64 + 1),
            issue_date: day,
            expiration_date: day.checked_add_months(chrono::Months::new(24)),
            credential_number: Some(format!("EMT-{:06}", i + 1)),
            revoked_at: None,
            credential_type_id: CredentialTypeId::new(3),
            type_code: "EMT".into(),
            type_name: "EMT-Basic".into(),
            type_description: "State EMT-Basic certification.".into(),
            first_name: "Ava".into(),
            last_name: format!("Member{i}"),
            email: Some(format!("member{i}@example.org")),
        };
        let (list, index) = slot(i as u64);
        let payload = super::badge_payload(&urls, &agency, &facts, list, index, "benchsalt");
        jwts.push(signer.sign(&payload));
    }
    let sign_seconds = start.elapsed().as_secs_f64();
    let signed_cpu = on_cpu_seconds();
    let public = signer.public_key().to_vec();
    let start = Instant::now();
    let mut verified = 0;
    for jwt in &jwts {
        if let Ok(parsed) = jose::parse(jwt) {
            if jose::verify(&public, &parsed) && issuer_id(&parsed.payload).is_some() {
                verified += 1;
            }
        }
    }
    let verify_seconds = start.elapsed().as_secs_f64();
    let verified_cpu = on_cpu_seconds();
    assert_eq!(verified, count, "every badge signed here verifies");
    BenchResult {
        badges: count,
        sign_seconds,
        signed_per_second: count as f64 / sign_seconds.max(1e-9),
        signed_per_cpu_second: per_cpu_second(count, cpu, signed_cpu),
        verify_seconds,
        verified_per_second: count as f64 / verify_seconds.max(1e-9),
        verified_per_cpu_second: per_cpu_second(count, signed_cpu, verified_cpu),
        average_jwt_bytes: jwts.iter().map(String::len).sum::<usize>() / count.max(1),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_bench_signs_and_verifies_what_it_signs() {
        let r = super::bench(50);
        assert_eq!(r.badges, 50);
        assert!(r.average_jwt_bytes > 500);
    }
}
