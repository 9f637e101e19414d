//! Classes: the rules of a roster and of completing a class with its results.
//!
//! A class is one offering of a course on one day. Its roster may not outgrow its capacity;
//! it is completed on or after the day it is held, once; and each result is for a member on
//! the roster, attended or not, with a score of 0–100 and at most 24 hours (one class is one
//! day). A member who did not attend has neither score nor hours: nothing is recorded for them.

use std::collections::HashSet;
use std::hash::Hash;

use chrono::NaiveDate;

/// At most this many hours of training come from one class.
pub const MAX_CLASS_HOURS: f64 = 24.0;

/// What is wrong with one member's result.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResultError {
    #[error("is not on the class's roster")]
    NotOnRoster,
    #[error("has a result already earlier in the list")]
    Duplicate,
    #[error("must be between 0 and 100")]
    Score,
    #[error("must be between 0 and 24 hours for one class")]
    Hours,
    #[error("only a member who attended has a score or hours")]
    NotAttended,
}

impl ResultError {
    /// The field of the result the error is about.
    pub fn field(&self) -> &'static str {
        match self {
            ResultError::NotOnRoster | ResultError::Duplicate => "member_id",
            ResultError::Score => "score",
            ResultError::Hours => "hours",
            ResultError::NotAttended => "attended",
        }
    }
}

/// One member's result as typed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Result<M> {
    pub member: M,
    pub attended: bool,
    pub score: Option<f64>,
    pub hours: Option<f64>,
}

/// Checks every result against the roster; answers the errors as (index, error), in order.
pub fn check_results<M: Eq + Hash + Copy>(
    roster: &HashSet<M>,
    results: &[Result<M>],
) -> Vec<(usize, ResultError)> {
    let mut seen = HashSet::with_capacity(results.len());
    let mut errors = Vec::new();
    for (i, r) in results.iter().enumerate() {
        if !roster.contains(&r.member) {
            errors.push((i, ResultError::NotOnRoster));
        } else if !seen.insert(r.member) {
            errors.push((i, ResultError::Duplicate));
        }
        if r.score.is_some_and(|s| !valid_score(s)) {
            errors.push((i, ResultError::Score));
        }
        if r.hours.is_some_and(|h| !valid_hours(h)) {
            errors.push((i, ResultError::Hours));
        }
        if !r.attended && (r.score.is_some() || r.hours.is_some()) {
            errors.push((i, ResultError::NotAttended));
        }
    }
    errors
}

pub fn valid_score(score: f64) -> bool {
    score.is_finite() && (0.0..=100.0).contains(&score)
}

pub fn valid_hours(hours: f64) -> bool {
    hours.is_finite() && (0.0..=MAX_CLASS_HOURS).contains(&hours)
}

/// Why a class cannot be completed now.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CompleteError {
    #[error(
        "the class is held on {held_on}, after today ({today}); complete it on or after that day"
    )]
    InTheFuture {
        held_on: NaiveDate,
        today: NaiveDate,
    },
    #[error("the class is already completed; reopen it to correct its results")]
    AlreadyCompleted,
    #[error("the roster is empty; add the members who took the class first")]
    EmptyRoster,
}

/// Whether a class held on `held_on`, `completed` or not, with `roster` members, can be
/// completed `today`.
pub fn can_complete(
    held_on: NaiveDate,
    completed: bool,
    roster: usize,
    today: NaiveDate,
) -> std::result::Result<(), CompleteError> {
    if completed {
        return Err(CompleteError::AlreadyCompleted);
    }
    if held_on > today {
        return Err(CompleteError::InTheFuture { held_on, today });
    }
    if roster == 0 {
        return Err(CompleteError::EmptyRoster);
    }
    Ok(())
}

/// True when a roster of `size` members fits the class's capacity (none: any size).
pub fn fits(capacity: Option<i64>, size: usize) -> bool {
    capacity.is_none_or(|c| i64::try_from(size).is_ok_and(|s| s <= c))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn r(member: u32, attended: bool, score: Option<f64>, hours: Option<f64>) -> Result<u32> {
        Result {
            member,
            attended,
            score,
            hours,
        }
    }

    #[test]
    fn each_bad_result_is_named() {
        let roster: HashSet<u32> = [1, 2, 3].into();
        let results = [
            r(1, true, Some(92.0), Some(4.0)),
            r(9, true, None, None),
            r(2, true, Some(101.0), Some(-1.0)),
            r(3, false, Some(50.0), None),
            r(1, true, None, Some(25.0)),
        ];
        assert_eq!(
            check_results(&roster, &results),
            vec![
                (1, ResultError::NotOnRoster),
                (2, ResultError::Score),
                (2, ResultError::Hours),
                (3, ResultError::NotAttended),
                (4, ResultError::Duplicate),
                (4, ResultError::Hours),
            ]
        );
        assert!(check_results(
            &roster,
            &[r(2, false, None, None), r(3, true, Some(0.0), Some(24.0))]
        )
        .is_empty());
    }

    #[test]
    fn a_class_completes_once_on_or_after_its_day_with_a_roster() {
        let today = day("2026-03-01");
        assert_eq!(can_complete(day("2026-03-01"), false, 3, today), Ok(()));
        assert_eq!(
            can_complete(day("2026-03-02"), false, 3, today),
            Err(CompleteError::InTheFuture {
                held_on: day("2026-03-02"),
                today
            })
        );
        assert_eq!(
            can_complete(day("2026-02-01"), true, 3, today),
            Err(CompleteError::AlreadyCompleted)
        );
        assert_eq!(
            can_complete(day("2026-02-01"), false, 0, today),
            Err(CompleteError::EmptyRoster)
        );
    }

    #[test]
    fn capacity_bounds_the_roster() {
        assert!(fits(None, 10_000));
        assert!(fits(Some(30), 30));
        assert!(!fits(Some(30), 31));
    }

    proptest! {
        /// A result is accepted exactly when each of its parts is within its rule.
        #[test]
        fn results_within_the_rules_pass(member in 0u32..6, attended in proptest::bool::ANY,
            score in proptest::option::of(-50.0f64..150.0), hours in proptest::option::of(-5.0f64..30.0)) {
            let roster: HashSet<u32> = [0, 1, 2, 3].into();
            let ok = member < 4
                && score.is_none_or(|s| (0.0..=100.0).contains(&s))
                && hours.is_none_or(|h| (0.0..=24.0).contains(&h))
                && (attended || (score.is_none() && hours.is_none()));
            prop_assert_eq!(check_results(&roster, &[r(member, attended, score, hours)]).is_empty(), ok);
        }

        /// Capacity is a bound: every roster up to it fits, none beyond.
        #[test]
        fn fits_is_a_bound(capacity in 1i64..1000, size in 0usize..2000) {
            prop_assert_eq!(fits(Some(capacity), size), size as i64 <= capacity);
        }
    }
}
