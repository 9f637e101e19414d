//! Exemptions and leaves of absence (#20).
//!
//! An exemption excuses a member from one requirement of a credential, or from all of them,
//! from the day it is granted until `until` inclusive (medical leave, deployment). While it
//! is in force an exempted requirement counts as done for progress; it never changes what
//! the member earned (hours, records, sign-offs), only whether the requirement counts as
//! done. After `until`, or once ended early, it counts for nothing.
//!
//! An exemption can therefore make a credential Ready to Be Issued, and an officer may then
//! issue it: the issuance records the exemptions it was issued under (shown with it and in
//! its audit event). It never issues a credential by itself: automatic issue waits for the
//! completions ([`crate::progress::completion_date`] ignores exemptions), because issuing
//! on an excuse is a decision a person must take and sign. An exemption excuses the period it
//! was granted in: issuing closes that period and ends the exemptions in force, so a renewal
//! period opened next starts without excuses.
//!
//! A leave of absence moves the member's deadlines: each open period that has not ended
//! before the leave starts gets its end and due date pushed back by the leave's length.

use chrono::{Days, NaiveDate};

use crate::ids::RequirementId;
use crate::progress::{fraction, progress, Record, Requirement, SignOff};
use crate::validation::Invalid;

/// The longest reason kept, in characters.
pub const MAX_REASON: usize = 500;

/// One exemption as the rules see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Exemption {
    /// `None`: every requirement of the credential.
    pub requirement_id: Option<RequirementId>,
    pub starts_on: NaiveDate,
    /// The last day it is in force.
    pub until: NaiveDate,
    /// Ended early on this day: no longer in force from it.
    pub ended_on: Option<NaiveDate>,
}

impl Exemption {
    /// In force on `today`: started, not past `until`, not ended.
    pub fn in_force(&self, today: NaiveDate) -> bool {
        self.starts_on <= today && today <= self.until && self.ended_on.is_none_or(|e| today < e)
    }

    /// It excuses `requirement` (whatever the date).
    pub fn names(&self, requirement: RequirementId) -> bool {
        self.requirement_id.is_none_or(|r| r == requirement)
    }

    /// The first day after `today` on which it stops counting, if it counts today.
    pub fn lapses_on(&self, today: NaiveDate) -> Option<NaiveDate> {
        if !self.in_force(today) {
            return None;
        }
        let after_until = self.until.checked_add_days(Days::new(1))?;
        Some(self.ended_on.map_or(after_until, |e| e.min(after_until)))
    }
}

/// The exemption that excuses `requirement` on `today`, if any (the one lasting longest).
pub fn excusing(
    requirement: RequirementId,
    exemptions: &[Exemption],
    today: NaiveDate,
) -> Option<usize> {
    (0..exemptions.len())
        .filter(|i| exemptions[*i].in_force(today) && exemptions[*i].names(requirement))
        .max_by_key(|i| (exemptions[*i].until, *i))
}

/// A requirement's fraction with exemptions: 1 while one excuses it, else what was earned.
pub fn fraction_with_exemptions(
    requirement: &Requirement,
    earned: f64,
    exemptions: &[Exemption],
    today: NaiveDate,
) -> f64 {
    if excusing(requirement.id, exemptions, today).is_some() {
        1.0
    } else {
        earned
    }
}

/// Progress (0–100) of the requirements within the window, counting those an exemption
/// excuses on `today` as done.
pub fn progress_with_exemptions(
    requirements: &[Requirement],
    records: &[Record],
    sign_offs: &[SignOff],
    window: (NaiveDate, NaiveDate),
    exemptions: &[Exemption],
    today: NaiveDate,
) -> u8 {
    let fractions: Vec<f64> = requirements
        .iter()
        .map(|r| {
            let earned = fraction(r, records, sign_offs, window);
            fraction_with_exemptions(r, earned, exemptions, today)
        })
        .collect();
    progress(&fractions)
}

/// The first day after `today` on which an exemption that excuses one of `requirements`
/// stops counting: the stored progress may change then, so the daily sweep must look again.
pub fn next_lapse(
    requirements: &[Requirement],
    exemptions: &[Exemption],
    today: NaiveDate,
) -> Option<NaiveDate> {
    exemptions
        .iter()
        .filter(|e| requirements.iter().any(|r| e.names(r.id)))
        .filter_map(|e| e.lapses_on(today))
        .min()
}

/// Checks a new exemption: it starts today, so `until` must not be before today; a reason
/// of at most [`MAX_REASON`] characters is required.
pub fn validate(reason: &str, until: NaiveDate, today: NaiveDate) -> Result<(), Invalid> {
    let mut invalid = Invalid::new();
    check_reason(&mut invalid, reason);
    if until < today {
        invalid.add(
            "until",
            format!("must not be before today ({today}); an exemption starts today"),
        );
    }
    invalid.into_result()
}

fn check_reason(invalid: &mut Invalid, reason: &str) {
    if reason.trim().is_empty() {
        invalid.add("reason", "is required");
    } else if reason.chars().count() > MAX_REASON {
        invalid.add("reason", format!("must be at most {MAX_REASON} characters"));
    }
}

/// A leave of absence: `starts_on` to `ends_on` inclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Leave {
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
}

impl Leave {
    /// Its length in days, both ends included.
    pub fn days(&self) -> u64 {
        u64::try_from((self.ends_on - self.starts_on).num_days() + 1).unwrap_or(0)
    }

    /// A period ending on `end` is extended by the leave unless it ended before the leave
    /// starts (the leave did not keep the member from it).
    pub fn extends(&self, end: NaiveDate) -> bool {
        end >= self.starts_on
    }

    /// The period's new end or due date.
    pub fn extended(&self, date: NaiveDate) -> NaiveDate {
        date.checked_add_days(Days::new(self.days()))
            .unwrap_or(date)
    }

    /// Withdrawing it undoes its extension only before it starts; once it has begun the
    /// member has been away, and the extension stands.
    pub fn withdrawable(&self, today: NaiveDate) -> bool {
        today < self.starts_on
    }
}

/// Checks a new leave: dates in order, not wholly in the past, at most two years; a reason.
pub fn validate_leave(reason: &str, leave: Leave, today: NaiveDate) -> Result<(), Invalid> {
    let mut invalid = Invalid::new();
    check_reason(&mut invalid, reason);
    if leave.ends_on < leave.starts_on {
        invalid.add("ends_on", "must not be before starts_on");
    } else if leave.ends_on < today {
        invalid.add("ends_on", format!("must not be before today ({today})"));
    } else if leave.days() > 731 {
        invalid.add("ends_on", "a leave lasts at most two years");
    }
    invalid.into_result()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::CourseId;
    use crate::progress::{evidence, progress_of, Rule};
    use proptest::prelude::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn requirements() -> Vec<Requirement> {
        vec![
            Requirement {
                id: RequirementId::new(1),
                rule: Rule::Course {
                    course_id: CourseId::new(10),
                    min_grade: None,
                },
            },
            Requirement {
                id: RequirementId::new(2),
                rule: Rule::Hours {
                    hours: 20.0,
                    category: "CE".into(),
                    rules: Default::default(),
                },
            },
        ]
    }

    fn hours(on: &str, h: f64) -> Record {
        Record {
            course_id: None,
            completed_on: d(on),
            score: None,
            hours: h,
            category: Some("CE".into()),
            source: "manual".into(),
        }
    }

    fn window() -> (NaiveDate, NaiveDate) {
        (d("2026-01-01"), d("2026-12-31"))
    }

    fn exempt(req: Option<i64>, until: &str) -> Exemption {
        Exemption {
            requirement_id: req.map(RequirementId::new),
            starts_on: d("2026-03-01"),
            until: d(until),
            ended_on: None,
        }
    }

    #[test]
    fn an_exempted_requirement_counts_while_in_force_and_not_after() {
        let reqs = requirements();
        let records = [hours("2026-02-01", 5.0)];
        let e = [exempt(Some(1), "2026-06-30")];
        let w = window();
        // course 0 + hours 0.25 → 12; with the course excused: (1 + 0.25) / 2 → 62.
        assert_eq!(progress_of(&reqs, &records, &[], w), 12);
        let on = |day| progress_with_exemptions(&reqs, &records, &[], w, &e, d(day));
        assert_eq!(on("2026-02-28"), 12, "before it starts");
        assert_eq!(on("2026-03-01"), 62);
        assert_eq!(on("2026-06-30"), 62, "until is inclusive");
        assert_eq!(on("2026-07-01"), 12, "after until");
        assert_eq!(
            next_lapse(&reqs, &e, d("2026-03-01")),
            Some(d("2026-07-01"))
        );
        assert_eq!(next_lapse(&reqs, &e, d("2026-07-01")), None);
    }

    #[test]
    fn a_whole_credential_exemption_completes_it_and_ending_early_stops_it() {
        let reqs = requirements();
        let mut e = [exempt(None, "2026-12-31")];
        let w = window();
        assert_eq!(
            progress_with_exemptions(&reqs, &[], &[], w, &e, d("2026-04-01")),
            100
        );
        e[0].ended_on = Some(d("2026-04-02"));
        assert_eq!(
            progress_with_exemptions(&reqs, &[], &[], w, &e, d("2026-04-01")),
            100
        );
        assert_eq!(
            progress_with_exemptions(&reqs, &[], &[], w, &e, d("2026-04-02")),
            0
        );
        assert_eq!(
            next_lapse(&reqs, &e, d("2026-04-01")),
            Some(d("2026-04-02"))
        );
        // An exemption of a requirement the credential does not have changes nothing.
        let other = [exempt(Some(9), "2026-12-31")];
        assert_eq!(
            progress_with_exemptions(&reqs, &[], &[], w, &other, d("2026-04-01")),
            0
        );
        assert_eq!(next_lapse(&reqs, &other, d("2026-04-01")), None);
    }

    #[test]
    fn new_exemptions_and_leaves_are_checked() {
        let today = d("2026-03-01");
        assert!(validate("Deployment", d("2026-03-01"), today).is_ok());
        let e = validate(" ", d("2026-02-28"), today).unwrap_err();
        let fields: Vec<&str> = e.errors.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(fields, ["reason", "until"]);
        assert!(validate(&"x".repeat(501), today, today).is_err());
        assert!(validate(&"x".repeat(500), today, today).is_ok());
        let leave = Leave {
            starts_on: d("2026-04-01"),
            ends_on: d("2026-04-30"),
        };
        assert_eq!(leave.days(), 30);
        assert!(validate_leave("Surgery", leave, today).is_ok());
        let backwards = Leave {
            starts_on: d("2026-04-30"),
            ends_on: d("2026-04-01"),
        };
        assert!(validate_leave("Surgery", backwards, today).is_err());
        assert_eq!(leave.extended(d("2026-06-30")), d("2026-07-30"));
        assert!(leave.extends(d("2026-04-01")) && !leave.extends(d("2026-03-31")));
        assert!(leave.withdrawable(d("2026-03-31")) && !leave.withdrawable(d("2026-04-01")));
    }

    fn arb_exemption() -> impl Strategy<Value = Exemption> {
        (
            proptest::option::of(1i64..4),
            0i64..400,
            0i64..200,
            proptest::option::of(0i64..400),
        )
            .prop_map(|(req, start, len, ended)| {
                let base = d("2026-01-01");
                let starts_on = base + chrono::Duration::days(start);
                Exemption {
                    requirement_id: req.map(RequirementId::new),
                    starts_on,
                    until: starts_on + chrono::Duration::days(len),
                    ended_on: ended.map(|e| base + chrono::Duration::days(e)),
                }
            })
    }

    fn arb_record() -> impl Strategy<Value = Record> {
        (proptest::option::of(9i64..12), 0i64..365, 0.0f64..15.0).prop_map(|(course, day, h)| {
            Record {
                course_id: course.map(CourseId::new),
                completed_on: d("2026-01-01") + chrono::Duration::days(day),
                score: None,
                hours: h,
                category: Some("CE".into()),
                source: "manual".into(),
            }
        })
    }

    proptest! {
        /// An exemption past its `until` (or ended) never counts: progress is what the
        /// records earn. One in force never lowers progress.
        #[test]
        fn an_expired_exemption_never_counts(
            records in proptest::collection::vec(arb_record(), 0..10),
            exemptions in proptest::collection::vec(arb_exemption(), 0..4),
            day in 0i64..700,
        ) {
            let reqs = requirements();
            let w = window();
            let today = d("2026-01-01") + chrono::Duration::days(day);
            let earned = progress_of(&reqs, &records, &[], w);
            let with = progress_with_exemptions(&reqs, &records, &[], w, &exemptions, today);
            prop_assert!(with >= earned);
            let expired: Vec<Exemption> =
                exemptions.iter().copied().filter(|e| !e.in_force(today)).collect();
            prop_assert_eq!(
                progress_with_exemptions(&reqs, &records, &[], w, &expired, today),
                earned
            );
            if with != earned {
                let lapse = next_lapse(&reqs, &exemptions, today);
                prop_assert!(lapse.is_some_and(|l| l > today));
            }
        }

        /// An exemption changes only whether a requirement counts as done: what the member
        /// earned (the evidence: records, hours, sign-off, fraction) is the same with or
        /// without it, and an excused requirement counts as exactly 1.
        #[test]
        fn an_exemption_never_changes_what_was_earned(
            records in proptest::collection::vec(arb_record(), 0..10),
            exemptions in proptest::collection::vec(arb_exemption(), 0..4),
            day in 0i64..700,
        ) {
            let w = window();
            let today = d("2026-01-01") + chrono::Duration::days(day);
            for req in requirements() {
                let e = evidence(&req, &records, &[], w);
                let f = fraction_with_exemptions(&req, e.fraction, &exemptions, today);
                match excusing(req.id, &exemptions, today) {
                    Some(i) => {
                        prop_assert_eq!(f, 1.0);
                        prop_assert!(exemptions[i].in_force(today) && exemptions[i].names(req.id));
                    }
                    None => prop_assert_eq!(f, e.fraction),
                }
                prop_assert_eq!(evidence(&req, &records, &[], w), e);
            }
        }
    }
}
