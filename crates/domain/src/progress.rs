//! Progress toward a period's requirements: the mean over requirements of their fraction
//! done, 0–100. Hours count partially; courses and checklist items are done or not.

use chrono::NaiveDate;

use crate::hours::{tally, HoursRules, Tally};
use crate::ids::{CourseId, RequirementId};

/// What one requirement asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum Rule {
    /// A training record for the course, scoring at least `min_grade` when set.
    Course {
        course_id: CourseId,
        min_grade: Option<f64>,
    },
    /// `hours` of training in `category` (empty when components name the categories), under
    /// the caps, components and repeat rule of `rules` (see [`crate::hours`]).
    Hours {
        hours: f64,
        category: String,
        rules: HoursRules,
    },
    /// An item an evaluator signs off.
    Checklist,
}

/// A requirement and its id, so sign-offs can point at it.
#[derive(Debug, Clone, PartialEq)]
pub struct Requirement {
    pub id: RequirementId,
    pub rule: Rule,
}

/// One training record as progress sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub course_id: Option<CourseId>,
    pub completed_on: NaiveDate,
    pub score: Option<f64>,
    pub hours: f64,
    pub category: Option<String>,
    /// What caps its hours: `online` when its course is delivered online, otherwise how it
    /// reached Credence (manual, import, class, api, external).
    pub source: String,
}

/// One sign-off of a checklist requirement.
#[derive(Debug, Clone, PartialEq)]
pub struct SignOff {
    pub requirement_id: RequirementId,
    pub signed_on: NaiveDate,
}

/// How far one requirement is, 0.0–1.0.
pub fn fraction(
    requirement: &Requirement,
    records: &[Record],
    sign_offs: &[SignOff],
    window: (NaiveDate, NaiveDate),
) -> f64 {
    let in_window = |d: NaiveDate| window.0 <= d && d <= window.1;
    match &requirement.rule {
        Rule::Course {
            course_id,
            min_grade,
        } => {
            let passed = records.iter().any(|r| {
                r.course_id == Some(*course_id)
                    && in_window(r.completed_on)
                    && min_grade.is_none_or(|min| r.score.is_some_and(|s| s >= min))
            });
            if passed {
                1.0
            } else {
                0.0
            }
        }
        Rule::Hours {
            hours,
            category,
            rules,
        } => {
            if *hours <= 0.0 {
                return 1.0;
            }
            tally(*hours, category, rules, records, window).fraction()
        }
        Rule::Checklist => {
            let signed = sign_offs
                .iter()
                .any(|s| s.requirement_id == requirement.id && in_window(s.signed_on));
            if signed {
                1.0
            } else {
                0.0
            }
        }
    }
}

/// What satisfied (or partly satisfied) one requirement within a window: the records and
/// sign-off that count for it, as positions in the slices given, and its fraction. This is
/// the one place that decides which record counts for which requirement; pages show it as
/// the requirement's evidence.
#[derive(Debug, Clone, PartialEq)]
pub struct Evidence {
    /// 0.0–1.0, exactly [`fraction`].
    pub fraction: f64,
    /// Records that count, oldest first: for a course, the first passing record; for hours,
    /// every record some of whose hours count.
    pub records: Vec<usize>,
    /// For a checklist item, the first sign-off in the window.
    pub sign_off: Option<usize>,
    /// For hours, the whole count: what each record gave to which component, what caps and
    /// repeats cut, what is left.
    pub hours: Option<Tally>,
}

impl Evidence {
    /// The requirement is done: its fraction is 1.
    pub fn satisfied(&self) -> bool {
        self.fraction >= 1.0
    }
}

/// The evidence of one requirement (see [`Evidence`]).
pub fn evidence(
    requirement: &Requirement,
    records: &[Record],
    sign_offs: &[SignOff],
    window: (NaiveDate, NaiveDate),
) -> Evidence {
    let in_window = |d: NaiveDate| window.0 <= d && d <= window.1;
    let oldest_first = |mut found: Vec<usize>, day: &dyn Fn(usize) -> NaiveDate| {
        found.sort_by_key(|i| (day(*i), *i));
        found
    };
    let fraction = fraction(requirement, records, sign_offs, window);
    match &requirement.rule {
        Rule::Course {
            course_id,
            min_grade,
        } => {
            let passing: Vec<usize> = (0..records.len())
                .filter(|i| {
                    let r = &records[*i];
                    r.course_id == Some(*course_id)
                        && in_window(r.completed_on)
                        && min_grade.is_none_or(|min| r.score.is_some_and(|s| s >= min))
                })
                .collect();
            let mut first = oldest_first(passing, &|i| records[i].completed_on);
            first.truncate(1);
            Evidence {
                fraction,
                records: first,
                sign_off: None,
                hours: None,
            }
        }
        Rule::Hours {
            hours,
            category,
            rules,
        } => {
            let t = tally(*hours, category, rules, records, window);
            let counted: Vec<usize> = t
                .records
                .iter()
                .filter(|r| r.counted > 0.0)
                .map(|r| r.index)
                .collect();
            Evidence {
                fraction,
                records: counted,
                sign_off: None,
                hours: Some(t),
            }
        }
        Rule::Checklist => {
            let signed: Vec<usize> = (0..sign_offs.len())
                .filter(|i| {
                    let s = &sign_offs[*i];
                    s.requirement_id == requirement.id && in_window(s.signed_on)
                })
                .collect();
            Evidence {
                fraction,
                records: Vec::new(),
                sign_off: oldest_first(signed, &|i| sign_offs[i].signed_on)
                    .first()
                    .copied(),
                hours: None,
            }
        }
    }
}

/// Progress as a whole number 0–100, rounded down so 100 means every requirement is done.
/// A type without requirements is complete as soon as it is assigned.
pub fn progress(fractions: &[f64]) -> u8 {
    if fractions.is_empty() {
        return 100;
    }
    let mean = fractions.iter().map(|f| f.clamp(0.0, 1.0)).sum::<f64>() / fractions.len() as f64;
    let all_done = fractions.iter().all(|f| *f >= 1.0);
    if all_done {
        100
    } else {
        ((mean * 100.0).floor() as u8).min(99)
    }
}

/// Progress of a credential with no unclosed period: complete while it holds an unrevoked
/// issuance, nothing otherwise.
pub fn progress_without_period(has_unrevoked_issuance: bool) -> u8 {
    if has_unrevoked_issuance {
        100
    } else {
        0
    }
}

/// Progress of a set of requirements in one call.
pub fn progress_of(
    requirements: &[Requirement],
    records: &[Record],
    sign_offs: &[SignOff],
    window: (NaiveDate, NaiveDate),
) -> u8 {
    let fractions: Vec<f64> = requirements
        .iter()
        .map(|r| fraction(r, records, sign_offs, window))
        .collect();
    progress(&fractions)
}

/// The day a requirement became done within the window, if it is done.
fn done_on(
    requirement: &Requirement,
    records: &[Record],
    sign_offs: &[SignOff],
    window: (NaiveDate, NaiveDate),
) -> Option<NaiveDate> {
    let in_window = |d: NaiveDate| window.0 <= d && d <= window.1;
    match &requirement.rule {
        Rule::Course {
            course_id,
            min_grade,
        } => records
            .iter()
            .filter(|r| {
                r.course_id == Some(*course_id)
                    && in_window(r.completed_on)
                    && min_grade.is_none_or(|min| r.score.is_some_and(|s| s >= min))
            })
            .map(|r| r.completed_on)
            .min(),
        Rule::Hours {
            hours,
            category,
            rules,
        } => {
            if *hours <= 0.0 {
                return Some(window.0);
            }
            // The first day by which the records up to it complete the count.
            let mut days: Vec<NaiveDate> = records
                .iter()
                .map(|r| r.completed_on)
                .filter(|d| in_window(*d))
                .collect();
            days.sort_unstable();
            days.dedup();
            days.into_iter().find(|day| {
                tally(*hours, category, rules, records, (window.0, *day)).fraction() >= 1.0
            })
        }
        Rule::Checklist => sign_offs
            .iter()
            .filter(|s| s.requirement_id == requirement.id && in_window(s.signed_on))
            .map(|s| s.signed_on)
            .min(),
    }
}

/// The date of the completion that finished every requirement (the automatic issue date),
/// or `None` while something is still missing.
pub fn completion_date(
    requirements: &[Requirement],
    records: &[Record],
    sign_offs: &[SignOff],
    window: (NaiveDate, NaiveDate),
) -> Option<NaiveDate> {
    let mut last = None;
    for r in requirements {
        let day = done_on(r, records, sign_offs, window)?;
        last = last.max(Some(day));
    }
    last.or(Some(window.0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn emt_requirements() -> Vec<Requirement> {
        vec![
            Requirement {
                id: RequirementId::new(1),
                rule: Rule::Course {
                    course_id: CourseId::new(10),
                    min_grade: Some(80.0),
                },
            },
            Requirement {
                id: RequirementId::new(2),
                rule: Rule::Hours {
                    hours: 24.0,
                    category: "CE".into(),
                    rules: HoursRules::default(),
                },
            },
            Requirement {
                id: RequirementId::new(3),
                rule: Rule::Checklist,
            },
        ]
    }

    fn record(course: Option<i64>, on: &str, score: Option<f64>, hours: f64, cat: &str) -> Record {
        Record {
            course_id: course.map(CourseId::new),
            completed_on: d(on),
            score,
            hours,
            category: Some(cat.into()),
            source: "manual".into(),
        }
    }

    const WINDOW: (&str, &str) = ("2026-01-01", "2026-12-31");

    fn window() -> (NaiveDate, NaiveDate) {
        (d(WINDOW.0), d(WINDOW.1))
    }

    #[test]
    fn hours_count_partially_and_grades_must_pass() {
        let reqs = emt_requirements();
        let records = vec![
            record(Some(10), "2026-02-01", Some(75.0), 4.0, "CE"),
            record(None, "2026-03-01", None, 8.0, "CE"),
        ];
        // course failed (75 < 80): 0; hours 12/24: 0.5; checklist: 0 → 16
        assert_eq!(progress_of(&reqs, &records, &[], window()), 16);
        let mut more = records.clone();
        // A retake passes the course; the course's hours count once (the larger completion,
        // 12): 8 + 12 = 20 of 24, so 4 more hours of other training finish them.
        more.push(record(Some(10), "2026-04-01", Some(92.0), 12.0, "CE"));
        assert_eq!(progress_of(&reqs, &more, &[], window()), 61);
        more.push(record(None, "2026-04-03", None, 4.0, "CE"));
        let signed = [SignOff {
            requirement_id: RequirementId::new(3),
            signed_on: d("2026-04-02"),
        }];
        assert_eq!(progress_of(&reqs, &more, &signed, window()), 100);
    }

    #[test]
    fn records_outside_the_window_do_not_count() {
        let reqs = emt_requirements();
        let records = vec![record(Some(10), "2025-12-31", Some(99.0), 30.0, "CE")];
        assert_eq!(progress_of(&reqs, &records, &[], window()), 0);
    }

    #[test]
    fn the_completion_that_finishes_dates_the_issue() {
        let reqs = emt_requirements();
        let records = vec![
            record(Some(10), "2026-02-01", Some(90.0), 0.0, "CE"),
            record(None, "2026-03-01", None, 20.0, "CE"),
            record(None, "2026-05-01", None, 4.0, "CE"),
            record(None, "2026-06-01", None, 8.0, "CE"),
        ];
        let signed = [SignOff {
            requirement_id: RequirementId::new(3),
            signed_on: d("2026-04-02"),
        }];
        assert_eq!(
            completion_date(&reqs, &records, &signed, window()),
            Some(d("2026-05-01"))
        );
        assert_eq!(completion_date(&reqs, &records, &[], window()), None);
    }

    #[test]
    fn no_requirements_is_complete() {
        assert_eq!(progress(&[]), 100);
        assert_eq!(progress(&[1.0, 0.999]), 99);
    }

    fn arb_record() -> impl Strategy<Value = Record> {
        (
            proptest::option::of(9i64..12),
            0i64..500,
            proptest::option::of(0.0f64..=100.0),
            0.0f64..20.0,
            prop_oneof![Just("CE"), Just("Fire")],
        )
            .prop_map(|(course, day, score, hours, cat)| Record {
                course_id: course.map(CourseId::new),
                completed_on: d("2025-10-01") + chrono::Duration::days(day),
                score,
                hours,
                category: Some(cat.to_string()),
                source: "manual".into(),
            })
    }

    #[test]
    fn evidence_names_what_counted() {
        let reqs = emt_requirements();
        let records = vec![
            record(Some(10), "2026-02-01", Some(75.0), 4.0, "CE"),
            record(Some(10), "2026-05-01", Some(95.0), 4.0, "CE"),
            record(Some(10), "2026-04-01", Some(85.0), 4.0, "Fire"),
            record(None, "2025-12-01", None, 8.0, "CE"),
        ];
        let signed = [
            SignOff {
                requirement_id: RequirementId::new(3),
                signed_on: d("2026-06-02"),
            },
            SignOff {
                requirement_id: RequirementId::new(3),
                signed_on: d("2026-03-02"),
            },
        ];
        // The first passing attempt, not the failed one nor a later pass.
        let course = evidence(&reqs[0], &records, &signed, window());
        assert_eq!(
            (course.records.clone(), course.satisfied()),
            (vec![2], true)
        );
        // Hours: the CE records in the window that count; the course counts once: 4 of 24.
        let hours = evidence(&reqs[1], &records, &signed, window());
        assert_eq!(hours.records, vec![0]);
        assert!(!hours.satisfied() && (hours.fraction - 1.0 / 6.0).abs() < 1e-9);
        let tally = hours.hours.expect("hours are tallied");
        assert_eq!((tally.counted, tally.left()), (4.0, 20.0));
        let check = evidence(&reqs[2], &records, &signed, window());
        assert_eq!((check.sign_off, check.satisfied()), (Some(1), true));
        let none = evidence(&reqs[2], &records, &[], window());
        assert_eq!((none.sign_off, none.satisfied()), (None, false));
    }

    fn arb_sign_off() -> impl Strategy<Value = SignOff> {
        (1i64..4, 0i64..500).prop_map(|(req, day)| SignOff {
            requirement_id: RequirementId::new(req),
            signed_on: d("2025-10-01") + chrono::Duration::days(day),
        })
    }

    proptest! {
        #[test]
        fn progress_stays_in_range_and_never_falls(records in proptest::collection::vec(arb_record(), 0..20), extra in arb_record()) {
            let reqs = emt_requirements();
            let before = progress_of(&reqs, &records, &[], window());
            let mut more = records.clone();
            more.push(extra);
            let after = progress_of(&reqs, &more, &[], window());
            prop_assert!(before <= 100 && after <= 100);
            prop_assert!(after >= before);
            prop_assert_eq!(after == 100, completion_date(&reqs, &more, &[], window()).is_some());
        }

        /// A requirement is shown satisfied exactly when its fraction is 1, and what is shown
        /// as its evidence is what the fraction counted: the passing record, the sign-off,
        /// or records whose hours make up the fraction.
        #[test]
        fn evidence_is_what_the_fraction_counts(
            records in proptest::collection::vec(arb_record(), 0..20),
            signs in proptest::collection::vec(arb_sign_off(), 0..5),
        ) {
            let w = window();
            for req in emt_requirements() {
                let e = evidence(&req, &records, &signs, w);
                let f = fraction(&req, &records, &signs, w);
                prop_assert_eq!(e.fraction, f);
                prop_assert_eq!(e.satisfied(), f >= 1.0);
                for i in &e.records {
                    let day = records[*i].completed_on;
                    prop_assert!(w.0 <= day && day <= w.1);
                }
                match &req.rule {
                    Rule::Course { .. } => prop_assert_eq!(!e.records.is_empty(), e.satisfied()),
                    Rule::Checklist => prop_assert_eq!(e.sign_off.is_some(), e.satisfied()),
                    Rule::Hours { hours, .. } => {
                        let t = e.hours.clone().expect("an hours requirement is tallied");
                        let earned: f64 = t.records.iter()
                            .filter(|r| e.records.contains(&r.index))
                            .map(|r| r.counted)
                            .sum();
                        prop_assert!((f - (earned / hours).min(1.0)).abs() < 1e-9);
                    }
                }
            }
        }
    }
}
