//! Qualifications: a named rule over credential types ("Engine driver" = Driver/Operator +
//! EVOC + CPR), and whether a member met it on a day D.
//!
//! | rule | qualified on D when | missing |
//! |---|---|---|
//! | `all` | every type of the rule is held on D | the types not held on D |
//! | `any` | at least one type of the rule is held on D | nothing when qualified, else every type |
//!
//! "Held on D" is [`crate::history::held_on`], the same answer `/reports/qualified` gives:
//! an issuance issued by D, not expired by D, and not revoked by D. A lapsed track, a
//! withdrawn one (never issued) or a revoked issuance therefore never qualifies anyone.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::history::{self, IssuanceHistory};
use crate::ids::CredentialTypeId;
use crate::validation::{check_text, Invalid};

/// How a qualification combines its credential types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    /// Every type is required.
    All,
    /// Any one type is enough.
    Any,
}

impl Rule {
    pub fn as_str(self) -> &'static str {
        match self {
            Rule::All => "all",
            Rule::Any => "any",
        }
    }

    pub fn parse(value: &str) -> Option<Rule> {
        match value {
            "all" => Some(Rule::All),
            "any" => Some(Rule::Any),
            _ => None,
        }
    }
}

/// Decoding a stored value: an unknown one is an error, never a default.
impl TryFrom<String> for Rule {
    type Error = crate::UnknownValue;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value).ok_or(crate::UnknownValue {
            kind: "Rule",
            value,
        })
    }
}

/// The answer for one member on one day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub qualified: bool,
    /// The rule's types they lacked, in the rule's order (empty when qualified).
    pub missing: Vec<CredentialTypeId>,
}

/// Whether holding `held` (the types held on D) meets `rule` over `types`.
pub fn qualified(rule: Rule, types: &[CredentialTypeId], held: &[CredentialTypeId]) -> Answer {
    let not_held: Vec<CredentialTypeId> = types
        .iter()
        .copied()
        .filter(|t| !held.contains(t))
        .collect();
    let qualified = match rule {
        Rule::All => not_held.is_empty(),
        // An empty rule is refused when saved; were one stored, it qualifies nobody.
        Rule::Any => not_held.len() < types.len(),
    };
    Answer {
        qualified,
        missing: if qualified { Vec::new() } else { not_held },
    }
}

/// The types of `types` held on `on`, from each type's issuance history.
pub fn held_types_on<'a>(
    types: &[CredentialTypeId],
    history_of: impl Fn(CredentialTypeId) -> &'a [IssuanceHistory],
    on: NaiveDate,
) -> Vec<CredentialTypeId> {
    types
        .iter()
        .copied()
        .filter(|t| history::held_on(history_of(*t), on).is_some())
        .collect()
}

/// [`qualified`] from issuance histories: the one way readiness and the scheduler check
/// decide.
pub fn qualified_on<'a>(
    rule: Rule,
    types: &[CredentialTypeId],
    history_of: impl Fn(CredentialTypeId) -> &'a [IssuanceHistory],
    on: NaiveDate,
) -> Answer {
    qualified(rule, types, &held_types_on(types, history_of, on))
}

/// Why a qualification cannot be saved, beyond the state of its types (the app checks that
/// each exists and is published).
pub fn validate(name: &str, types: &[CredentialTypeId]) -> Result<(), Invalid> {
    let mut invalid = Invalid::new();
    check_text(&mut invalid, "name", name, 200);
    invalid.check(
        !types.is_empty(),
        "credential_type_ids",
        "must name at least one credential type",
    );
    invalid.check(
        types.len() <= 50,
        "credential_type_ids",
        "may name at most 50 credential types",
    );
    let mut seen = types.to_vec();
    seen.sort_unstable();
    seen.dedup();
    invalid.check(
        seen.len() == types.len(),
        "credential_type_ids",
        "names a credential type twice",
    );
    invalid.into_result()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::IssuanceId;
    use proptest::prelude::*;
    use std::collections::HashMap;

    fn t(n: i64) -> CredentialTypeId {
        CredentialTypeId::new(n)
    }

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn all_names_what_is_missing() {
        let engine = [t(1), t(2), t(3)];
        let a = qualified(Rule::All, &engine, &[t(3), t(1)]);
        assert_eq!(
            a,
            Answer {
                qualified: false,
                missing: vec![t(2)]
            }
        );
        assert!(qualified(Rule::All, &engine, &[t(1), t(2), t(3), t(9)]).qualified);
    }

    #[test]
    fn any_is_met_by_one_and_otherwise_lacks_them_all() {
        let medic = [t(1), t(2)];
        assert_eq!(
            qualified(Rule::Any, &medic, &[t(2)]),
            Answer {
                qualified: true,
                missing: vec![]
            }
        );
        assert_eq!(qualified(Rule::Any, &medic, &[t(7)]).missing, medic);
        assert!(!qualified(Rule::Any, &[], &[t(1)]).qualified);
    }

    #[test]
    fn a_lapsed_or_revoked_card_does_not_qualify() {
        let card = |exp: &str, revoked: Option<&str>| IssuanceHistory {
            id: IssuanceId::new(1),
            issue_date: d("2025-01-01"),
            expiration_date: Some(d(exp)),
            revoked_on: revoked.map(d),
        };
        let on = d("2026-03-01");
        for history in [
            card("2026-02-28", None),
            card("2027-01-01", Some("2026-03-01")),
        ] {
            let h = [history];
            let a = qualified_on(Rule::All, &[t(1)], |_| &h[..], on);
            assert!(!a.qualified && a.missing == [t(1)]);
        }
        let h = [card("2026-03-01", Some("2026-03-02"))];
        assert!(qualified_on(Rule::All, &[t(1)], |_| &h[..], on).qualified);
    }

    #[test]
    fn saving_needs_a_name_and_distinct_types() {
        assert!(validate("Engine driver", &[t(1), t(2)]).is_ok());
        let e = validate(" ", &[]).unwrap_err();
        let fields: Vec<&str> = e.errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["name", "credential_type_ids"]);
        assert!(validate("X", &[t(1), t(1)]).is_err());
    }

    fn arb_rule() -> impl Strategy<Value = Rule> {
        prop_oneof![Just(Rule::All), Just(Rule::Any)]
    }

    fn arb_types() -> impl Strategy<Value = Vec<CredentialTypeId>> {
        proptest::collection::btree_set(1i64..12, 0..6)
            .prop_map(|s| s.into_iter().map(CredentialTypeId::new).collect())
    }

    fn arb_date() -> impl Strategy<Value = NaiveDate> {
        (0u64..1500).prop_map(|n| d("2024-01-01") + chrono::Days::new(n))
    }

    /// Up to three issuances for each of the types 1..12.
    fn arb_histories() -> impl Strategy<Value = HashMap<CredentialTypeId, Vec<IssuanceHistory>>> {
        proptest::collection::vec(
            (
                1i64..12,
                arb_date(),
                proptest::option::of(0u64..900),
                proptest::option::of(0u64..900),
            ),
            0..12,
        )
        .prop_map(|rows| {
            let mut by_type: HashMap<CredentialTypeId, Vec<IssuanceHistory>> = HashMap::new();
            for (k, (ty, issue, valid, revoked)) in rows.into_iter().enumerate() {
                by_type.entry(t(ty)).or_default().push(IssuanceHistory {
                    id: IssuanceId::new(k as i64 + 1),
                    issue_date: issue,
                    expiration_date: valid.map(|v| issue + chrono::Days::new(v)),
                    revoked_on: revoked.map(|r| issue + chrono::Days::new(r)),
                });
            }
            by_type
        })
    }

    proptest! {
        #[test]
        fn the_rule_and_its_missing_types_agree(rule in arb_rule(), types in arb_types(), held in arb_types()) {
            let a = qualified(rule, &types, &held);
            let held_some = types.iter().any(|t| held.contains(t));
            match rule {
                Rule::All => prop_assert_eq!(a.qualified, a.missing.is_empty()),
                Rule::Any => prop_assert_eq!(a.qualified, held_some),
            }
            // Missing is exactly what was required and not held, when not qualified.
            if !a.qualified {
                let expected: Vec<_> = types.iter().copied().filter(|t| !held.contains(t)).collect();
                prop_assert_eq!(&a.missing, &expected);
            } else {
                prop_assert!(a.missing.is_empty());
            }
            prop_assert!(a.missing.iter().all(|m| types.contains(m) && !held.contains(m)));
        }

        #[test]
        fn never_qualified_from_an_issuance_revoked_or_expired_by_the_day(
            rule in arb_rule(), types in arb_types(), histories in arb_histories(), on in arb_date(),
        ) {
            let empty: Vec<IssuanceHistory> = Vec::new();
            let of = |h: &HashMap<CredentialTypeId, Vec<IssuanceHistory>>, ty: CredentialTypeId| -> Vec<IssuanceHistory> {
                h.get(&ty).cloned().unwrap_or_default()
            };
            // Only issuances valid on D: the same answer.
            let valid: HashMap<CredentialTypeId, Vec<IssuanceHistory>> = histories
                .iter()
                .map(|(k, v)| (*k, v.iter().copied().filter(|i| i.valid_on(on)).collect()))
                .collect();
            let full = qualified_on(rule, &types, |ty| histories.get(&ty).map_or(&empty[..], |v| &v[..]), on);
            let only_valid = qualified_on(rule, &types, |ty| valid.get(&ty).map_or(&empty[..], |v| &v[..]), on);
            prop_assert_eq!(&full, &only_valid);
            // Everything revoked by D or expired by D: nobody qualified (unless the rule needs nothing held).
            let lapsed: HashMap<CredentialTypeId, Vec<IssuanceHistory>> = types
                .iter()
                .map(|ty| {
                    let v = of(&histories, *ty)
                        .into_iter()
                        .map(|i| if i.issue_date <= on && i.id.get() % 2 == 0 {
                            IssuanceHistory { revoked_on: Some(i.revoked_on.map_or(on, |r| r.min(on))), ..i }
                        } else {
                            IssuanceHistory { expiration_date: on.pred_opt(), ..i }
                        })
                        .collect();
                    (*ty, v)
                })
                .collect();
            let a = qualified_on(rule, &types, |ty| lapsed.get(&ty).map_or(&empty[..], |v| &v[..]), on);
            prop_assert!(!a.qualified || (rule == Rule::All && types.is_empty()));
            prop_assert_eq!(a.missing.len(), if a.qualified { 0 } else { types.len() });
        }
    }
}
