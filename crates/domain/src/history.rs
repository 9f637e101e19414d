//! Point-in-time answers from history: did a member hold a credential, and belong to a group,
//! on a given day D — the question an inspector asks about last January, answered from what
//! happened by then and nothing later.
//!
//! | question | yes when |
//! |---|---|
//! | held on D | an issuance has `issue_date ≤ D ≤ expiration_date` (no expiration: never expires) and was not revoked by D |
//! | revoked by D | it was revoked on D or earlier, in the agency's local dates (revoked the day after D: still held on D) |
//! | in the group on D | a membership period has `from ≤ D` and no `to`, or `D < to` (`to` is the day they left) |
//! | listed without a group | held on D, or had been assigned the type by D (a gap an inspector must see) |
//!
//! Every rule only looks at events dated D or earlier, so adding later events — an issuance
//! issued after D, a revocation after D, a membership that starts or ends after D — never
//! changes the answer for D (a property tested below).

use chrono::NaiveDate;

use crate::ids::IssuanceId;
use crate::status::IssuanceFacts;

/// One issuance as its history tells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IssuanceHistory {
    pub id: IssuanceId,
    pub issue_date: NaiveDate,
    /// `None`: the credential never expires.
    pub expiration_date: Option<NaiveDate>,
    /// The agency-local day it was revoked, if it was.
    pub revoked_on: Option<NaiveDate>,
}

impl IssuanceHistory {
    /// Revoked on `on` or before.
    pub fn revoked_by(&self, on: NaiveDate) -> bool {
        self.revoked_on.is_some_and(|r| r <= on)
    }

    /// Issued by `on`, valid through its expiration date inclusive, and not revoked by `on`.
    pub fn valid_on(&self, on: NaiveDate) -> bool {
        self.issue_date <= on
            && self.expiration_date.is_none_or(|e| on <= e)
            && !self.revoked_by(on)
    }
}

/// The issuance that made its holder qualified on `on`, or `None`. When several were valid
/// that day (a renewal issued before the previous card expired), the one issued last — the
/// card they would have shown — and of those issued the same day, the later record.
pub fn held_on(issuances: &[IssuanceHistory], on: NaiveDate) -> Option<&IssuanceHistory> {
    issuances
        .iter()
        .filter(|i| i.valid_on(on))
        .max_by_key(|i| (i.issue_date, i.id))
}

/// The issuance the credential's status on `on` speaks of, as the status function reads it:
/// the one held that day, else the last one issued by then (expired, or revoked by then),
/// else none. Issuances issued after `on` and revocations after `on` play no part.
pub fn issuance_facts_on(issuances: &[IssuanceHistory], on: NaiveDate) -> Option<IssuanceFacts> {
    let chosen = held_on(issuances, on).or_else(|| {
        issuances
            .iter()
            .filter(|i| i.issue_date <= on)
            .max_by_key(|i| (i.issue_date, i.id))
    })?;
    Some(IssuanceFacts {
        issue_date: chosen.issue_date,
        expiration_date: chosen.expiration_date,
        revoked: chosen.revoked_by(on),
    })
}

/// A stretch of membership in one group: from the day the member joined up to, not
/// including, the day they left (`None`: still a member). Leaving on the day one joined
/// covers no day at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MembershipPeriod {
    pub from: NaiveDate,
    pub to: Option<NaiveDate>,
}

impl MembershipPeriod {
    pub fn covers(&self, on: NaiveDate) -> bool {
        self.from <= on && self.to.is_none_or(|to| on < to)
    }
}

/// In the group on `on`.
pub fn member_on(periods: &[MembershipPeriod], on: NaiveDate) -> bool {
    periods.iter().any(|p| p.covers(on))
}

/// Whether a "qualified on D" report without a group names a member: everyone who held the
/// type that day, and everyone who had been assigned it by then (`assigned_on`, the day their
/// track was created) — the people expected to hold it, so a gap shows. Members never
/// assigned the type and not holding it are not its concern.
pub fn listed_on(assigned_on: Option<NaiveDate>, held: bool, on: NaiveDate) -> bool {
    held || assigned_on.is_some_and(|a| a <= on)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn iss(id: i64, issue: &str, exp: Option<&str>, revoked: Option<&str>) -> IssuanceHistory {
        IssuanceHistory {
            id: IssuanceId::new(id),
            issue_date: d(issue),
            expiration_date: exp.map(d),
            revoked_on: revoked.map(d),
        }
    }

    #[test]
    fn held_from_issue_through_expiration_inclusive() {
        let card = [iss(1, "2025-02-01", Some("2027-02-01"), None)];
        assert_eq!(held_on(&card, d("2025-01-31")), None);
        assert_eq!(held_on(&card, d("2025-02-01")), Some(&card[0]));
        assert_eq!(held_on(&card, d("2027-02-01")), Some(&card[0]));
        assert_eq!(held_on(&card, d("2027-02-02")), None);
        let forever = [iss(2, "2020-01-01", None, None)];
        assert!(held_on(&forever, d("2099-12-31")).is_some());
    }

    #[test]
    fn a_revocation_counts_from_its_own_day() {
        let card = [iss(1, "2025-02-01", Some("2027-02-01"), Some("2026-03-01"))];
        assert!(
            held_on(&card, d("2026-01-15")).is_some(),
            "revoked later: held"
        );
        assert!(
            held_on(&card, d("2026-02-28")).is_some(),
            "the day before: held"
        );
        assert_eq!(held_on(&card, d("2026-03-01")), None, "revoked that day");
        assert_eq!(held_on(&card, d("2026-06-01")), None);
    }

    #[test]
    fn overlapping_renewals_name_the_newer_card() {
        let old = iss(1, "2024-01-10", Some("2026-01-10"), None);
        let new = iss(2, "2025-12-01", Some("2027-12-01"), None);
        let both = [old, new];
        assert_eq!(held_on(&both, d("2025-06-01")), Some(&old));
        assert_eq!(held_on(&both, d("2025-12-15")), Some(&new));
        // The newer card revoked: the older one still made them qualified until it expired.
        let revoked_new = [
            old,
            iss(2, "2025-12-01", Some("2027-12-01"), Some("2025-12-20")),
        ];
        assert_eq!(held_on(&revoked_new, d("2026-01-05")), Some(&old));
        assert_eq!(held_on(&revoked_new, d("2026-01-11")), None);
    }

    #[test]
    fn facts_on_a_day_read_only_what_had_happened() {
        let h = [
            iss(1, "2024-01-10", Some("2025-01-10"), None),
            iss(2, "2026-02-01", Some("2028-02-01"), Some("2026-02-20")),
        ];
        let expired = issuance_facts_on(&h, d("2025-06-01")).unwrap();
        assert_eq!(
            (expired.issue_date, expired.revoked),
            (d("2024-01-10"), false)
        );
        assert!(!expired.is_valid_on(d("2025-06-01")));
        let held = issuance_facts_on(&h, d("2026-02-10")).unwrap();
        assert!(held.is_valid_on(d("2026-02-10")));
        let revoked = issuance_facts_on(&h, d("2026-02-20")).unwrap();
        assert!(revoked.revoked);
        assert_eq!(issuance_facts_on(&h, d("2023-12-31")), None);
    }

    #[test]
    fn membership_runs_up_to_the_day_one_left() {
        let p = MembershipPeriod {
            from: d("2026-01-10"),
            to: Some(d("2026-02-01")),
        };
        assert!(!p.covers(d("2026-01-09")));
        assert!(p.covers(d("2026-01-10")) && p.covers(d("2026-01-31")));
        assert!(
            !p.covers(d("2026-02-01")),
            "not a member on the day they left"
        );
        let open = MembershipPeriod {
            from: d("2026-01-10"),
            to: None,
        };
        assert!(open.covers(d("2099-01-01")));
        assert!(member_on(&[p, open], d("2026-03-01")));
        assert!(!member_on(&[p], d("2026-03-01")));
    }

    #[test]
    fn without_a_group_holders_and_the_assigned_are_listed() {
        let on = d("2026-01-15");
        assert!(listed_on(None, true, on));
        assert!(listed_on(Some(d("2026-01-15")), false, on));
        assert!(
            !listed_on(Some(d("2026-01-16")), false, on),
            "assigned later"
        );
        assert!(!listed_on(None, false, on));
    }

    fn arb_date() -> impl Strategy<Value = NaiveDate> {
        (0u64..1500).prop_map(|n| d("2024-01-01") + chrono::Days::new(n))
    }

    fn arb_issuance(id: i64) -> impl Strategy<Value = IssuanceHistory> {
        (
            arb_date(),
            proptest::option::of(0u64..900),
            proptest::option::of(0u64..900),
        )
            .prop_map(move |(issue, valid, revoked)| IssuanceHistory {
                id: IssuanceId::new(id),
                issue_date: issue,
                expiration_date: valid.map(|v| issue + chrono::Days::new(v)),
                revoked_on: revoked.map(|r| issue + chrono::Days::new(r)),
            })
    }

    fn arb_history() -> impl Strategy<Value = Vec<IssuanceHistory>> {
        (0usize..5).prop_flat_map(|n| (1..=n as i64).map(arb_issuance).collect::<Vec<_>>())
    }

    fn arb_periods() -> impl Strategy<Value = Vec<MembershipPeriod>> {
        proptest::collection::vec(
            (arb_date(), proptest::option::of(1u64..400)).prop_map(|(from, len)| {
                MembershipPeriod {
                    from,
                    to: len.map(|l| from + chrono::Days::new(l)),
                }
            }),
            0..4,
        )
    }

    /// Later events about days after `on`: new issuances issued after it, revocations after
    /// it of issuances not revoked yet, memberships that start after it, and open ones that
    /// end after it.
    fn with_later_events(
        on: NaiveDate,
        history: &[IssuanceHistory],
        periods: &[MembershipPeriod],
        later: &[(u64, Option<u64>, u64, bool)],
    ) -> (Vec<IssuanceHistory>, Vec<MembershipPeriod>) {
        let after = |n: u64| on + chrono::Days::new(n + 1);
        let mut h = history.to_vec();
        let mut p = periods.to_vec();
        for (k, (days, valid, revoke_in, close)) in later.iter().enumerate() {
            let issue = after(*days);
            h.push(IssuanceHistory {
                id: IssuanceId::new(100 + k as i64),
                issue_date: issue,
                expiration_date: valid.map(|v| issue + chrono::Days::new(v)),
                revoked_on: None,
            });
            if let Some(i) = h.get_mut(k) {
                if i.revoked_on.is_none() {
                    i.revoked_on = Some(after(*revoke_in).max(i.issue_date));
                }
            }
            p.push(MembershipPeriod {
                from: after(*days),
                to: close.then(|| after(*days + 30)),
            });
            if let Some(open) = p.iter_mut().find(|x| x.to.is_none() && x.from <= on) {
                if *close {
                    open.to = Some(after(*revoke_in));
                }
            }
        }
        (h, p)
    }

    proptest! {
        #[test]
        fn the_answer_for_a_day_never_changes_when_later_events_are_added(
            history in arb_history(),
            periods in arb_periods(),
            on in arb_date(),
            later in proptest::collection::vec((0u64..500, proptest::option::of(0u64..700), 0u64..500, any::<bool>()), 1..4),
            assigned in proptest::option::of(arb_date()),
        ) {
            let (h2, p2) = with_later_events(on, &history, &periods, &later);
            prop_assert_eq!(held_on(&history, on).map(|i| i.id), held_on(&h2, on).map(|i| i.id));
            prop_assert_eq!(issuance_facts_on(&history, on), issuance_facts_on(&h2, on));
            prop_assert_eq!(member_on(&periods, on), member_on(&p2, on));
            let held = held_on(&history, on).is_some();
            prop_assert_eq!(listed_on(assigned, held, on), listed_on(assigned, held_on(&h2, on).is_some(), on));
        }

        #[test]
        fn a_revoked_by_d_issuance_never_counts(history in arb_history(), on in arb_date()) {
            if let Some(i) = held_on(&history, on) {
                prop_assert!(!i.revoked_by(on));
                prop_assert!(i.issue_date <= on && i.expiration_date.is_none_or(|e| on <= e));
            }
            // Revoking every issuance on D or before leaves nobody holding on D.
            let revoked: Vec<IssuanceHistory> = history
                .iter()
                .map(|i| IssuanceHistory { revoked_on: Some(i.revoked_on.map_or(on, |r| r.min(on))), ..*i })
                .collect();
            prop_assert_eq!(held_on(&revoked, on), None);
            if let Some(f) = issuance_facts_on(&revoked, on) {
                prop_assert!(!f.is_valid_on(on) || f.revoked);
            }
        }

        #[test]
        fn held_exactly_when_some_issuance_was_valid(history in arb_history(), on in arb_date()) {
            let any_valid = history.iter().any(|i| i.valid_on(on));
            prop_assert_eq!(held_on(&history, on).is_some(), any_valid);
            // And then the status function, fed the facts of that day, calls it active.
            let facts = crate::status::CredentialFacts {
                latest_issuance: issuance_facts_on(&history, on),
                unclosed_period: None,
                progress: 0,
                auto_issue: false,
            };
            prop_assert_eq!(crate::status::status(&facts, on).is_active(), any_valid);
        }
    }
}
