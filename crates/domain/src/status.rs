//! The credential status of DESIGN.md: a pure function of a credential's facts and today.
//!
//! The store keeps the computed status, progress and `expiring_soon` on the credential row so
//! lists filter and sort by index; it also keeps [`next_change`], the first later date on which
//! the answer can differ, so the daily sweep only revisits credentials whose day has come.

use chrono::{Days, NaiveDate};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Revoked,
    ActiveReadyToRenew,
    ActiveRenewalInProgress,
    Active,
    ReadyToBeIssued,
    Overdue,
    InProgress,
    NotStarted,
    Expired,
}

impl Status {
    pub const ALL: [Status; 9] = [
        Status::Revoked,
        Status::ActiveReadyToRenew,
        Status::ActiveRenewalInProgress,
        Status::Active,
        Status::ReadyToBeIssued,
        Status::Overdue,
        Status::InProgress,
        Status::NotStarted,
        Status::Expired,
    ];

    /// The snake-case name used in the API and stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Revoked => "revoked",
            Status::ActiveReadyToRenew => "active_ready_to_renew",
            Status::ActiveRenewalInProgress => "active_renewal_in_progress",
            Status::Active => "active",
            Status::ReadyToBeIssued => "ready_to_be_issued",
            Status::Overdue => "overdue",
            Status::InProgress => "in_progress",
            Status::NotStarted => "not_started",
            Status::Expired => "expired",
        }
    }

    /// The words a user reads.
    pub fn label(self) -> &'static str {
        match self {
            Status::Revoked => "Revoked",
            Status::ActiveReadyToRenew => "Active – Ready to Renew",
            Status::ActiveRenewalInProgress => "Active – Renewal in Progress",
            Status::Active => "Active",
            Status::ReadyToBeIssued => "Ready to Be Issued",
            Status::Overdue => "Overdue",
            Status::InProgress => "In Progress",
            Status::NotStarted => "Not Started",
            Status::Expired => "Expired",
        }
    }

    pub fn parse(value: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|s| s.as_str() == value)
    }
}

/// Decoding a stored status: an unknown one is an error, never a default.
impl TryFrom<String> for Status {
    type Error = crate::UnknownValue;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Status::parse(&value).ok_or(crate::UnknownValue {
            kind: "Status",
            value,
        })
    }
}

impl Status {
    /// Sort order for "by status": what needs attention first.
    pub fn rank(self) -> i64 {
        match self {
            Status::Overdue => 0,
            Status::Expired => 1,
            Status::Revoked => 2,
            Status::ReadyToBeIssued => 3,
            Status::NotStarted => 4,
            Status::InProgress => 5,
            Status::ActiveReadyToRenew => 6,
            Status::ActiveRenewalInProgress => 7,
            Status::Active => 8,
        }
    }

    /// The statuses of a credential that holds a valid issuance.
    pub const HOLDING: [Status; 3] = [
        Status::Active,
        Status::ActiveRenewalInProgress,
        Status::ActiveReadyToRenew,
    ];

    /// Holds a valid issuance.
    pub fn is_active(self) -> bool {
        Status::HOLDING.contains(&self)
    }
}

/// Where a credential stands for compliance, whatever its renewal state: what a dashboard
/// or an inspector counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Standing {
    /// Holds a valid issuance today.
    Compliant,
    /// Working toward a first issuance: none was ever held.
    InTraining,
    /// Held one before, holds none valid today (expired or revoked), whether or not a
    /// renewal period has opened since.
    Lapsed,
}

impl Standing {
    pub const ALL: [Standing; 3] = [Standing::Compliant, Standing::InTraining, Standing::Lapsed];

    pub fn as_str(self) -> &'static str {
        match self {
            Standing::Compliant => "compliant",
            Standing::InTraining => "in_training",
            Standing::Lapsed => "lapsed",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Standing::Compliant => "Compliant",
            Standing::InTraining => "Working toward it",
            Standing::Lapsed => "Lapsed",
        }
    }
}

/// The standing of a credential with this status that has (or has never had) an issuance.
/// A status alone cannot tell: after the renewal planner opens a period for an expired
/// credential it reads Not Started, like one never held.
pub fn standing(status: Status, ever_issued: bool) -> Standing {
    if status.is_active() {
        Standing::Compliant
    } else if ever_issued {
        Standing::Lapsed
    } else {
        Standing::InTraining
    }
}

/// The `lapsed` flag beside the status: no valid issuance today, but one was held.
pub fn lapsed(facts: &CredentialFacts, today: NaiveDate) -> bool {
    standing(status(facts, today), facts.latest_issuance.is_some()) == Standing::Lapsed
}

/// The latest issuance of a credential, as far as status is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IssuanceFacts {
    pub issue_date: NaiveDate,
    /// `None`: the credential never expires.
    pub expiration_date: Option<NaiveDate>,
    pub revoked: bool,
}

impl IssuanceFacts {
    /// Valid through its expiration date inclusive.
    pub fn is_valid_on(&self, today: NaiveDate) -> bool {
        !self.revoked && self.expiration_date.is_none_or(|e| today <= e)
    }
}

/// The credential's period that has not been closed yet (at most one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeriodFacts {
    pub start: NaiveDate,
    pub end: NaiveDate,
}

impl PeriodFacts {
    /// A period is open from its start date until it is closed.
    pub fn is_open_on(&self, today: NaiveDate) -> bool {
        self.start <= today
    }
}

/// Everything the status depends on besides the date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CredentialFacts {
    pub latest_issuance: Option<IssuanceFacts>,
    pub unclosed_period: Option<PeriodFacts>,
    /// 0–100, toward the unclosed period's requirements.
    pub progress: u8,
    pub auto_issue: bool,
}

/// The status table of DESIGN.md, in its precedence.
///
/// Two cases the table leaves open are decided here: a credential whose only period has not
/// started yet and that was never issued is Not Started (it is assigned; work has not begun),
/// and an auto-issue credential at 100 % without an issuance (the issue failed validation) is
/// Ready to Be Issued, so an officer sees it needs hands.
pub fn status(facts: &CredentialFacts, today: NaiveDate) -> Status {
    let issuance = facts.latest_issuance;
    if issuance.is_some_and(|i| i.revoked) {
        return Status::Revoked;
    }
    let valid = issuance.is_some_and(|i| i.is_valid_on(today));
    let open = facts.unclosed_period.filter(|p| p.is_open_on(today));
    let complete = facts.progress >= 100;
    match (valid, open) {
        (true, Some(_)) if complete => Status::ActiveReadyToRenew,
        (true, Some(_)) => Status::ActiveRenewalInProgress,
        (true, None) => Status::Active,
        (false, Some(_)) if complete => Status::ReadyToBeIssued,
        (false, Some(p)) if p.end < today => Status::Overdue,
        (false, Some(_)) if facts.progress > 0 => Status::InProgress,
        (false, Some(_)) => Status::NotStarted,
        (false, None) if issuance.is_some() => Status::Expired,
        (false, None) => Status::NotStarted,
    }
}

/// A valid issuance that expires within `window_days` of today (inclusive).
pub fn expiring_soon(facts: &CredentialFacts, today: NaiveDate, window_days: u32) -> bool {
    match facts.latest_issuance {
        Some(i) if i.is_valid_on(today) => i
            .expiration_date
            .is_some_and(|e| (e - today).num_days() <= i64::from(window_days)),
        _ => false,
    }
}

/// The first day after `today` on which [`status`] or [`expiring_soon`] may answer
/// differently, or `None` when nothing date-driven remains. It may be early (the sweep then
/// finds nothing changed and moves it on) but never late.
pub fn next_change(
    facts: &CredentialFacts,
    today: NaiveDate,
    window_days: u32,
) -> Option<NaiveDate> {
    let mut candidates: Vec<NaiveDate> = Vec::with_capacity(4);
    if let Some(p) = facts.unclosed_period {
        candidates.push(p.start);
        candidates.extend(p.end.checked_add_days(Days::new(1)));
    }
    if let Some(i) = facts.latest_issuance.filter(|i| !i.revoked) {
        if let Some(e) = i.expiration_date {
            candidates.extend(e.checked_add_days(Days::new(1)));
            candidates.extend(e.checked_sub_days(Days::new(u64::from(window_days))));
        }
    }
    candidates.into_iter().filter(|d| *d > today).min()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn facts(
        issuance: Option<(&str, &str, bool)>,
        period: Option<(&str, &str)>,
        progress: u8,
    ) -> CredentialFacts {
        CredentialFacts {
            latest_issuance: issuance.map(|(i, e, revoked)| IssuanceFacts {
                issue_date: d(i),
                expiration_date: Some(d(e)),
                revoked,
            }),
            unclosed_period: period.map(|(s, e)| PeriodFacts {
                start: d(s),
                end: d(e),
            }),
            progress,
            auto_issue: false,
        }
    }

    #[test]
    fn seed_000_completion_period_only_is_not_started() {
        let f = facts(None, Some(("2026-01-01", "2026-12-31")), 0);
        assert_eq!(status(&f, d("2026-03-01")), Status::NotStarted);
    }

    #[test]
    fn seed_000_active_with_period_is_renewal_in_progress() {
        let f = facts(
            Some(("2026-01-01", "2028-01-01", false)),
            Some(("2026-01-01", "2028-01-01")),
            0,
        );
        assert_eq!(status(&f, d("2026-03-01")), Status::ActiveRenewalInProgress);
        let done = CredentialFacts { progress: 100, ..f };
        assert_eq!(status(&done, d("2026-03-01")), Status::ActiveReadyToRenew);
    }

    #[test]
    fn seed_000_complete_requirements_are_ready_to_be_issued() {
        let f = facts(None, Some(("2026-01-01", "2026-12-31")), 100);
        assert_eq!(status(&f, d("2026-03-01")), Status::ReadyToBeIssued);
        let partial = CredentialFacts { progress: 40, ..f };
        assert_eq!(status(&partial, d("2026-03-01")), Status::InProgress);
        assert_eq!(status(&partial, d("2027-01-01")), Status::Overdue);
    }

    #[test]
    fn issuance_is_valid_through_its_expiration_day() {
        let f = facts(Some(("2024-01-01", "2026-01-31", false)), None, 0);
        assert_eq!(status(&f, d("2026-01-31")), Status::Active);
        assert_eq!(status(&f, d("2026-02-01")), Status::Expired);
    }

    #[test]
    fn revoked_wins_and_future_periods_are_not_open() {
        let f = facts(
            Some(("2024-01-01", "2030-01-31", true)),
            Some(("2024-01-01", "2030-01-31")),
            100,
        );
        assert_eq!(status(&f, d("2025-01-01")), Status::Revoked);
        let waiting = facts(
            Some(("2024-01-01", "2026-01-31", false)),
            Some(("2025-12-02", "2026-01-31")),
            0,
        );
        assert_eq!(status(&waiting, d("2025-06-01")), Status::Active);
        assert_eq!(
            status(&waiting, d("2025-12-02")),
            Status::ActiveRenewalInProgress
        );
        // The renewal period ends with the issuance: the day after, the member is overdue.
        assert_eq!(status(&waiting, d("2026-02-01")), Status::Overdue);
    }

    #[test]
    fn expiring_soon_uses_the_window() {
        let f = facts(Some(("2024-01-01", "2026-03-01", false)), None, 0);
        assert!(!expiring_soon(&f, d("2025-12-30"), 60));
        assert!(expiring_soon(&f, d("2025-12-31"), 60));
        assert!(expiring_soon(&f, d("2026-03-01"), 60));
        assert!(!expiring_soon(&f, d("2026-03-02"), 60));
    }

    #[test]
    fn labels_and_names_round_trip() {
        for s in Status::ALL {
            assert_eq!(Status::parse(s.as_str()), Some(s));
            assert!(!s.label().is_empty());
        }
    }

    fn arb_date() -> impl Strategy<Value = NaiveDate> {
        (0i64..2000).prop_map(|n| d("2024-01-01") + chrono::Duration::days(n))
    }

    fn arb_facts() -> impl Strategy<Value = CredentialFacts> {
        (
            proptest::option::of((arb_date(), proptest::option::of(0u64..900), any::<bool>())),
            proptest::option::of((arb_date(), 0u64..700)),
            0u8..=100,
            any::<bool>(),
        )
            .prop_map(|(i, p, progress, auto_issue)| CredentialFacts {
                latest_issuance: i.map(|(issue, len, revoked)| IssuanceFacts {
                    issue_date: issue,
                    expiration_date: len.map(|n| issue + Days::new(n)),
                    revoked,
                }),
                unclosed_period: p.map(|(start, len)| PeriodFacts {
                    start,
                    end: start + Days::new(len),
                }),
                progress,
                auto_issue,
            })
    }

    proptest! {
        #[test]
        fn nothing_changes_before_next_change(f in arb_facts(), today in arb_date(), window in 0u32..120) {
            let s = status(&f, today);
            let soon = expiring_soon(&f, today, window);
            let limit = next_change(&f, today, window).unwrap_or(today + Days::new(3000));
            let mut day = today;
            while day < limit && day < today + Days::new(3000) {
                prop_assert_eq!(status(&f, day), s);
                prop_assert_eq!(expiring_soon(&f, day, window), soon);
                day = day + Days::new(1);
            }
        }

        #[test]
        fn a_valid_issuance_is_never_expired(f in arb_facts(), today in arb_date()) {
            if f.latest_issuance.is_some_and(|i| i.is_valid_on(today)) {
                prop_assert!(status(&f, today).is_active());
            }
        }

        #[test]
        fn a_lapsed_credential_is_never_counted_compliant(f in arb_facts(), today in arb_date()) {
            let s = standing(status(&f, today), f.latest_issuance.is_some());
            let holds = f.latest_issuance.is_some_and(|i| i.is_valid_on(today));
            // Compliant exactly when a valid issuance is held; lapsed exactly when one was
            // held and none is valid, whatever the renewal period says.
            prop_assert_eq!(s == Standing::Compliant, holds);
            prop_assert_eq!(lapsed(&f, today), f.latest_issuance.is_some() && !holds);
            prop_assert!(!(lapsed(&f, today) && s == Standing::Compliant));
        }
    }

    #[test]
    fn a_renewal_period_opened_after_expiry_keeps_the_credential_lapsed() {
        // Expired, then the planner opened a period: Not Started, but still lapsed.
        let f = facts(
            Some(("2024-01-01", "2026-01-31", false)),
            Some(("2026-02-01", "2026-12-31")),
            0,
        );
        assert_eq!(status(&f, d("2026-03-01")), Status::NotStarted);
        assert!(lapsed(&f, d("2026-03-01")));
        assert_eq!(standing(Status::NotStarted, true), Standing::Lapsed);
        assert_eq!(standing(Status::NotStarted, false), Standing::InTraining);
        // No requirements (100 %) after expiry: Ready to Be Issued, and lapsed.
        let ready = CredentialFacts { progress: 100, ..f };
        assert_eq!(status(&ready, d("2026-03-01")), Status::ReadyToBeIssued);
        assert!(lapsed(&ready, d("2026-03-01")));
        // Revoked: lapsed too (held, not valid).
        let revoked = facts(Some(("2024-01-01", "2030-01-31", true)), None, 0);
        assert!(lapsed(&revoked, d("2026-03-01")));
        // Valid through its last day.
        let valid = facts(Some(("2024-01-01", "2026-03-01", false)), None, 0);
        assert!(!lapsed(&valid, d("2026-03-01")));
    }
}
