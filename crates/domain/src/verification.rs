//! What a verifier answers about a badge (a VC-JWT), from the outcome of each check.
//!
//! The order is the rule: a bad signature says nothing else can be trusted; an issuer or key
//! this server does not know, or a status it cannot read, is "unknown" — never "valid";
//! revocation wins over expiry (it is the stronger statement about the same badge).

use serde::Serialize;

/// The answer of `POST /verify`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BadgeStatus {
    Valid,
    Expired,
    Revoked,
    InvalidSignature,
    Unknown,
}

/// How one check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Passed,
    Failed,
    /// It could not be carried out (what it needs is unknown or unreadable).
    Unknown,
}

/// The outcomes of the checks a verifier runs; `None` for one it did not reach.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Outcomes {
    /// The issuer is an agency of this server.
    pub issuer: Option<Outcome>,
    /// The key named by `kid` is one of the issuer's (failed: another agency's key).
    pub key: Option<Outcome>,
    pub signature: Option<Outcome>,
    /// Within `validFrom` … `validUntil` today.
    pub dates: Option<Outcome>,
    /// The status list bit is clear.
    pub status: Option<Outcome>,
}

/// The verdict over all checks.
pub fn verdict(o: &Outcomes) -> BadgeStatus {
    use Outcome::*;
    if o.key == Some(Failed) || o.signature == Some(Failed) {
        return BadgeStatus::InvalidSignature;
    }
    if o.issuer != Some(Passed) || o.key != Some(Passed) || o.signature != Some(Passed) {
        return BadgeStatus::Unknown;
    }
    if o.status == Some(Failed) {
        return BadgeStatus::Revoked;
    }
    if o.dates == Some(Failed) {
        return BadgeStatus::Expired;
    }
    if o.status == Some(Passed) && o.dates == Some(Passed) {
        return BadgeStatus::Valid;
    }
    BadgeStatus::Unknown
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use Outcome::*;

    fn all_passed() -> Outcomes {
        Outcomes {
            issuer: Some(Passed),
            key: Some(Passed),
            signature: Some(Passed),
            dates: Some(Passed),
            status: Some(Passed),
        }
    }

    #[test]
    fn examples() {
        assert_eq!(verdict(&all_passed()), BadgeStatus::Valid);
        let o = Outcomes {
            signature: Some(Failed),
            ..all_passed()
        };
        assert_eq!(verdict(&o), BadgeStatus::InvalidSignature);
        let o = Outcomes {
            key: Some(Failed),
            signature: None,
            ..all_passed()
        };
        assert_eq!(verdict(&o), BadgeStatus::InvalidSignature);
        let o = Outcomes {
            status: Some(Failed),
            dates: Some(Failed),
            ..all_passed()
        };
        assert_eq!(verdict(&o), BadgeStatus::Revoked);
        let o = Outcomes {
            dates: Some(Failed),
            ..all_passed()
        };
        assert_eq!(verdict(&o), BadgeStatus::Expired);
        let o = Outcomes {
            status: Some(Unknown),
            ..all_passed()
        };
        assert_eq!(verdict(&o), BadgeStatus::Unknown);
        assert_eq!(verdict(&Outcomes::default()), BadgeStatus::Unknown);
    }

    fn outcome() -> impl Strategy<Value = Option<Outcome>> {
        prop_oneof![
            Just(None),
            Just(Some(Passed)),
            Just(Some(Failed)),
            Just(Some(Unknown))
        ]
    }

    proptest! {
        /// "Could not be checked" is never "valid": valid needs every check to have passed.
        #[test]
        fn valid_only_when_every_check_passed(issuer in outcome(), key in outcome(), signature in outcome(), dates in outcome(), status in outcome()) {
            let o = Outcomes { issuer, key, signature, dates, status };
            let every = [issuer, key, signature, dates, status].iter().all(|c| *c == Some(Passed));
            prop_assert_eq!(verdict(&o) == BadgeStatus::Valid, every);
        }

        #[test]
        fn a_failed_signature_is_always_invalid(issuer in outcome(), key in outcome(), dates in outcome(), status in outcome()) {
            let o = Outcomes { issuer, key, signature: Some(Failed), dates, status };
            prop_assert_eq!(verdict(&o), BadgeStatus::InvalidSignature);
        }
    }
}
