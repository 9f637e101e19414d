//! The renewal planner's suggestions (seed 001): a new period for each expired or expiring
//! credential, by one of two logics.

use chrono::{Days, NaiveDate};
use serde::{Deserialize, Serialize};

/// How suggested periods are chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PeriodLogic {
    /// Everyone gets the same start and end; the due date is the end.
    SameDates { start: NaiveDate, end: NaiveDate },
    /// "Based on credential validity": the period ends at each credential's expiration and
    /// starts `period_days` before it (not before today); an already expired credential
    /// gets a period from today. The due date is `due_days_before` the end.
    Relative {
        period_days: u32,
        due_days_before: u32,
    },
}

/// A suggested period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Suggestion {
    pub period_start: NaiveDate,
    pub period_end: NaiveDate,
    pub due_date: NaiveDate,
}

/// Whether a credential belongs in the planner: expired, or expiring within `within_days`.
pub fn is_candidate(expiration: Option<NaiveDate>, today: NaiveDate, within_days: u32) -> bool {
    expiration.is_some_and(|e| e <= today + Days::new(u64::from(within_days)))
}

/// The suggested period for a credential expiring (or expired) on `expiration`.
pub fn suggest(logic: PeriodLogic, expiration: NaiveDate, today: NaiveDate) -> Suggestion {
    match logic {
        PeriodLogic::SameDates { start, end } => Suggestion {
            period_start: start,
            period_end: end,
            due_date: end,
        },
        PeriodLogic::Relative {
            period_days,
            due_days_before,
        } => {
            let days = Days::new(u64::from(period_days));
            let (start, end) = if expiration < today {
                (today, today + days)
            } else {
                ((expiration - days).max(today), expiration)
            };
            let due = (end - Days::new(u64::from(due_days_before))).max(start);
            Suggestion {
                period_start: start,
                period_end: end,
                due_date: due,
            }
        }
    }
}

/// What a renewal plan does with one chosen credential.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlanOutcome {
    Renew,
    /// Not renewed, for this reason (`revoked`, `already_planned`).
    Skip(&'static str),
}

/// A credential is already planned while the period a renewal plan opened for it is still
/// unclosed and has not ended: renewing it again would silently replace that period.
pub fn already_planned(
    opened_by_plan: bool,
    period_end: Option<NaiveDate>,
    today: NaiveDate,
) -> bool {
    opened_by_plan && period_end.is_some_and(|end| end >= today)
}

/// Renew unless the credential is revoked, or already planned and the officer did not ask
/// to replace its period.
pub fn plan_outcome(revoked: bool, already_planned: bool, replace: bool) -> PlanOutcome {
    if revoked {
        PlanOutcome::Skip("revoked")
    } else if already_planned && !replace {
        PlanOutcome::Skip("already_planned")
    } else {
        PlanOutcome::Renew
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn seed_001_due_fourteen_days_before_each_expiration() {
        let logic = PeriodLogic::Relative {
            period_days: 90,
            due_days_before: 14,
        };
        let today = d("2026-03-01");
        // Expires in two months: the period runs up to it, due two weeks earlier.
        assert_eq!(
            suggest(logic, d("2026-05-01"), today),
            Suggestion {
                period_start: d("2026-03-01"),
                period_end: d("2026-05-01"),
                due_date: d("2026-04-17")
            }
        );
        assert_eq!(
            suggest(logic, d("2026-08-01"), today).period_start,
            d("2026-05-03")
        );
        // Already expired: a fresh period from today.
        assert_eq!(
            suggest(logic, d("2026-01-15"), today),
            Suggestion {
                period_start: today,
                period_end: d("2026-05-30"),
                due_date: d("2026-05-16")
            }
        );
    }

    #[test]
    fn seed_001_same_dates_for_everyone() {
        let logic = PeriodLogic::SameDates {
            start: d("2026-04-01"),
            end: d("2026-06-30"),
        };
        let s = suggest(logic, d("2025-12-31"), d("2026-03-01"));
        assert_eq!(
            (s.period_start, s.period_end, s.due_date),
            (d("2026-04-01"), d("2026-06-30"), d("2026-06-30"))
        );
    }

    #[test]
    fn candidates_are_expired_or_expiring_within_the_window() {
        let today = d("2026-03-01");
        assert!(is_candidate(Some(d("2025-01-01")), today, 30));
        assert!(is_candidate(Some(d("2026-03-31")), today, 30));
        assert!(!is_candidate(Some(d("2026-04-01")), today, 30));
        assert!(!is_candidate(None, today, 30));
    }

    proptest! {
        #[test]
        fn relative_periods_are_well_formed(exp in 0i64..1500, days in 1u32..400, before in 0u32..400) {
            let today = d("2026-03-01");
            let expiration = d("2025-01-01") + chrono::Duration::days(exp);
            let s = suggest(PeriodLogic::Relative { period_days: days, due_days_before: before }, expiration, today);
            prop_assert!(s.period_start >= today);
            prop_assert!(s.period_start <= s.due_date && s.due_date <= s.period_end);
        }
    }

    #[test]
    fn a_planned_credential_is_renewed_again_only_on_an_explicit_replace() {
        let today: NaiveDate = "2026-03-01".parse().unwrap();
        let end = Some("2026-05-30".parse().unwrap());
        assert!(already_planned(true, end, today));
        assert!(
            !already_planned(false, end, today),
            "a period the issue opened is not a plan's"
        );
        assert!(
            !already_planned(true, Some("2026-02-28".parse().unwrap()), today),
            "ended: plan again"
        );
        assert_eq!(
            plan_outcome(false, true, false),
            PlanOutcome::Skip("already_planned")
        );
        assert_eq!(plan_outcome(false, true, true), PlanOutcome::Renew);
        assert_eq!(plan_outcome(false, false, false), PlanOutcome::Renew);
        assert_eq!(
            plan_outcome(true, false, true),
            PlanOutcome::Skip("revoked"),
            "replace never renews a revoked one"
        );
    }
}
