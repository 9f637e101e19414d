//! Webhook events: the names a subscription may list, and the signature a receiver checks.
//!
//! The signature (`Credence-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "t.body">`) is made
//! in the app crate, which has the HMAC; this module only says what is signed, so a
//! receiver's check and ours read the same function.

use chrono::NaiveDate;

use crate::{Invalid, Status};

/// What happened, as a receiver sees it in the body's `type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum EventType {
    StatusChanged,
    Issued,
    Revoked,
    Expired,
    TrainingRecordCreated,
}

impl EventType {
    pub const ALL: [EventType; 5] = [
        EventType::StatusChanged,
        EventType::Issued,
        EventType::Revoked,
        EventType::Expired,
        EventType::TrainingRecordCreated,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventType::StatusChanged => "credential.status_changed",
            EventType::Issued => "credential.issued",
            EventType::Revoked => "credential.revoked",
            EventType::Expired => "credential.expired",
            EventType::TrainingRecordCreated => "training_record.created",
        }
    }

    pub fn parse(value: &str) -> Option<EventType> {
        EventType::ALL.into_iter().find(|e| e.as_str() == value)
    }
}

/// Whether a status change is the credential expiring (`credential.expired`): it held a valid
/// issuance, holds none now, was not revoked, and its expiration date has passed. What it
/// becomes depends on its renewal: Expired without an open period, Overdue or Ready to Be
/// Issued with one — an agency's receiver wants to hear "it lapsed" in every case.
pub fn is_expiry(
    from: Status,
    to: Status,
    expiration_date: Option<NaiveDate>,
    today: NaiveDate,
) -> bool {
    from.is_active()
        && !to.is_active()
        && to != Status::Revoked
        && expiration_date.is_some_and(|e| e < today)
}

/// The events of a subscription, checked: at least one, each known, no repeats (kept in
/// the order given). Errors name `events[i]`.
pub fn parse_events(values: &[String]) -> Result<Vec<EventType>, Invalid> {
    let mut invalid = Invalid::new();
    let mut out = Vec::new();
    if values.is_empty() {
        invalid.add("events", "choose at least one event");
    }
    for (i, v) in values.iter().enumerate() {
        match EventType::parse(v.trim()) {
            Some(e) if out.contains(&e) => {
                invalid.add(format!("events[{i}]"), format!("{v} is listed twice"))
            }
            Some(e) => out.push(e),
            None => invalid.add(
                format!("events[{i}]"),
                format!(
                    "{v:?} is not an event; use one of {}",
                    EventType::ALL.map(EventType::as_str).join(", ")
                ),
            ),
        }
    }
    invalid.into_result().map(|()| out)
}

/// The stored form of a subscription's events: `,a,b,` so that one `LIKE '%,a,%'` finds
/// the subscribers of `a` without a second table.
pub fn events_column(events: &[EventType]) -> String {
    let mut s = String::from(",");
    for e in events {
        s.push_str(e.as_str());
        s.push(',');
    }
    s
}

/// The events of a stored column; unknown names (none are written) are skipped.
pub fn events_of_column(column: &str) -> Vec<EventType> {
    column.split(',').filter_map(EventType::parse).collect()
}

/// What the signature covers: the timestamp, a dot, and the exact body bytes, so a
/// replayed body with a new timestamp does not verify.
pub fn signed_payload(unix_time: i64, body: &str) -> String {
    format!("{unix_time}.{body}")
}

/// The secret a subscription signs with: long enough to resist guessing, printable.
pub fn check_secret(secret: &str) -> Result<(), &'static str> {
    let n = secret.chars().count();
    if !(16..=200).contains(&n) {
        return Err("use a secret of 16 to 200 characters");
    }
    if secret.chars().any(char::is_control) {
        return Err("the secret may not contain control characters");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn events_are_checked_by_name() {
        let ok = parse_events(&["credential.issued".into(), "training_record.created".into()]);
        assert_eq!(
            ok.unwrap(),
            [EventType::Issued, EventType::TrainingRecordCreated]
        );
        let fields = |r: Result<Vec<EventType>, Invalid>| -> Vec<String> {
            r.unwrap_err().errors.into_iter().map(|e| e.field).collect()
        };
        assert_eq!(fields(parse_events(&[])), ["events"]);
        assert_eq!(
            fields(parse_events(&[
                "credential.issued".into(),
                "credential.deleted".into()
            ])),
            ["events[1]"]
        );
        assert_eq!(
            fields(parse_events(&[
                "credential.issued".into(),
                "credential.issued".into()
            ])),
            ["events[1]"]
        );
    }

    #[test]
    fn an_expiry_is_a_held_credential_lapsing_by_date() {
        let d = |s: &str| s.parse::<NaiveDate>().unwrap();
        let (exp, after) = (Some(d("2026-03-10")), d("2026-03-11"));
        for to in [Status::Expired, Status::Overdue, Status::ReadyToBeIssued] {
            assert!(
                is_expiry(Status::ActiveRenewalInProgress, to, exp, after),
                "{to:?}"
            );
        }
        assert!(
            !is_expiry(Status::Active, Status::Revoked, exp, after),
            "revoked, not expired"
        );
        assert!(
            !is_expiry(Status::Active, Status::Expired, exp, d("2026-03-10")),
            "valid through its date"
        );
        assert!(
            !is_expiry(Status::NotStarted, Status::Overdue, exp, after),
            "never held"
        );
        assert!(
            !is_expiry(Status::Active, Status::NotStarted, None, after),
            "an issuance undone"
        );
        assert!(!is_expiry(
            Status::Active,
            Status::ActiveReadyToRenew,
            exp,
            after
        ));
    }

    #[test]
    fn secrets_need_length() {
        assert!(check_secret("short").is_err());
        assert!(check_secret("a-long-enough-secret").is_ok());
        assert!(check_secret("a-long-enough-secret\n").is_err());
    }

    proptest! {
        #[test]
        fn the_events_column_round_trips(mask in 0u8..32) {
            let events: Vec<EventType> = EventType::ALL.into_iter().enumerate()
                .filter(|(i, _)| mask & (1 << i) != 0).map(|(_, e)| e).collect();
            let column = events_column(&events);
            prop_assert_eq!(events_of_column(&column), events.clone());
            for e in EventType::ALL {
                prop_assert_eq!(column.contains(&format!(",{},", e.as_str())), events.contains(&e));
            }
        }
    }
}
