//! Credential type definitions: their enumerations, the lifecycle state machine and the
//! validation of a definition before it is saved.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use std::collections::BTreeMap;

use crate::hours::{Component, SOURCE_KINDS};
use crate::numbering;
use crate::validation::{check_code, check_text, Invalid};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ExpirationRounding {
    #[default]
    None,
    EndOfMonth,
    EndOfYear,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum RenewalPolicy {
    /// A new completion period opens whenever an issuance is made.
    #[default]
    Auto,
    /// "Does Not Automatically Renew": renewed only through the Renew workflow.
    Manual,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TypeState {
    Draft,
    Published,
    Retired,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RequirementKind {
    Course,
    Hours,
    Checklist,
}

macro_rules! str_enum {
    ($t:ty { $($v:ident => $s:literal),* $(,)? }) => {
        impl $t {
            pub fn as_str(self) -> &'static str {
                match self { $(<$t>::$v => $s),* }
            }
            pub fn parse(value: &str) -> Option<Self> {
                match value { $($s => Some(<$t>::$v),)* _ => None }
            }
        }

        /// Decoding a stored value: an unknown one is an error, never a default.
        impl TryFrom<String> for $t {
            type Error = crate::UnknownValue;
            fn try_from(value: String) -> Result<Self, Self::Error> {
                Self::parse(&value).ok_or(crate::UnknownValue { kind: stringify!($t), value })
            }
        }
    };
}

str_enum!(ExpirationRounding { None => "none", EndOfMonth => "end_of_month", EndOfYear => "end_of_year" });
str_enum!(RenewalPolicy { Auto => "auto", Manual => "manual" });
str_enum!(TypeState { Draft => "draft", Published => "published", Retired => "retired" });
str_enum!(RequirementKind { Course => "course", Hours => "hours", Checklist => "checklist" });

/// A lifecycle change that is not allowed from the current state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TransitionError {
    #[error("only a draft can be published; this type is {0}")]
    PublishFrom(&'static str),
    #[error("this type is already retired")]
    AlreadyRetired,
}

impl TypeState {
    /// draft → published.
    pub fn publish(self) -> Result<TypeState, TransitionError> {
        match self {
            TypeState::Draft => Ok(TypeState::Published),
            other => Err(TransitionError::PublishFrom(other.as_str())),
        }
    }

    /// draft or published → retired. Retiring never removes issued credentials.
    pub fn retire(self) -> Result<TypeState, TransitionError> {
        match self {
            TypeState::Retired => Err(TransitionError::AlreadyRetired),
            _ => Ok(TypeState::Retired),
        }
    }

    /// Only published types can be assigned.
    pub fn assignable(self) -> bool {
        self == TypeState::Published
    }

    /// Whether a credential of this type may get a new completion period (by renewal, a
    /// renewal plan or an issue that opens the next one). A retired type's credentials keep
    /// their issuance until it expires; nothing is renewed.
    pub fn opens_periods(self) -> bool {
        self != TypeState::Retired
    }
}

/// One requirement as submitted, before its course is checked against the agency.
#[derive(Debug, Clone, PartialEq)]
pub struct RequirementDraft {
    pub kind: RequirementKind,
    pub course_id: Option<crate::ids::CourseId>,
    pub min_grade: Option<f64>,
    pub hours: Option<f64>,
    pub category: Option<String>,
    pub title: Option<String>,
    /// Hours requirements only: at most this many hours from any one category.
    pub max_hours_per_category: Option<f64>,
    /// Hours requirements only: at most so many hours by source kind.
    pub max_hours_by_source: BTreeMap<String, f64>,
    /// Hours requirements only: named parts of the total.
    pub components: Vec<Component>,
    /// A course counts each time, not once per period.
    pub repeatable: bool,
}

/// The fields of a credential type that validation looks at.
#[derive(Debug, Clone, PartialEq)]
pub struct TypeDraft<'a> {
    pub code: &'a str,
    pub name: &'a str,
    pub effective_from: Option<NaiveDate>,
    pub due_date: Option<NaiveDate>,
    pub grace_period_days: i64,
    pub validity_months: Option<i64>,
    pub renewal_window_days: Option<i64>,
    pub number_pattern: &'a str,
    pub requirements: &'a [RequirementDraft],
}

/// Everything a user would expect checked before a type is saved.
pub fn validate_type(draft: &TypeDraft<'_>) -> Result<(), Invalid> {
    let mut invalid = Invalid::new();
    check_code(&mut invalid, "code", draft.code);
    check_text(&mut invalid, "name", draft.name, 200);
    invalid.check(
        (0..=3650).contains(&draft.grace_period_days),
        "grace_period_days",
        "must be between 0 and 3650",
    );
    if let Some(v) = draft.validity_months {
        invalid.check(
            (1..=1200).contains(&v),
            "validity_months",
            "must be a positive number of months (at most 1200)",
        );
    }
    if let Some(w) = draft.renewal_window_days {
        invalid.check(
            (0..=3650).contains(&w),
            "renewal_window_days",
            "must be between 0 and 3650",
        );
        invalid.check(
            draft.validity_months.is_some(),
            "renewal_window_days",
            "needs validity_months: the window counts back from expiration",
        );
    }
    if let (Some(from), Some(due)) = (draft.effective_from, draft.due_date) {
        invalid.check(due >= from, "due_date", "must not be before effective_from");
    }
    if let Err(e) = numbering::validate_pattern(draft.number_pattern) {
        invalid.add("number_pattern", e.to_string());
    }
    for (i, r) in draft.requirements.iter().enumerate() {
        let mut item = validate_requirement(r);
        let prefix = format!("requirements[{i}].");
        invalid.extend_prefixed(&prefix, std::mem::take(&mut item));
    }
    invalid.into_result()
}

fn validate_requirement(r: &RequirementDraft) -> Invalid {
    let mut invalid = Invalid::new();
    if let Some(g) = r.min_grade {
        invalid.check(
            (0.0..=100.0).contains(&g),
            "min_grade",
            "must be between 0 and 100",
        );
    }
    match r.kind {
        RequirementKind::Course => {
            invalid.check(
                r.course_id.is_some(),
                "course_id",
                "a course requirement needs a course",
            );
        }
        RequirementKind::Hours => {
            invalid.check(
                r.hours.is_some_and(|h| h > 0.0 && h <= 10_000.0),
                "hours",
                "must be a positive number of hours",
            );
            invalid.check(
                r.category.as_deref().is_some_and(|c| !c.trim().is_empty())
                    || !r.components.is_empty(),
                "category",
                "an hours requirement needs a category (or components naming theirs)",
            );
            check_hours_rules(&mut invalid, r);
        }
        RequirementKind::Checklist => {
            invalid.check(
                r.title.as_deref().is_some_and(|t| !t.trim().is_empty()),
                "title",
                "a checklist item needs a title",
            );
        }
    }
    if r.kind != RequirementKind::Hours {
        let only_hours = "only an hours requirement can have this";
        invalid.check(
            r.max_hours_per_category.is_none(),
            "max_hours_per_category",
            only_hours,
        );
        invalid.check(
            r.max_hours_by_source.is_empty(),
            "max_hours_by_source",
            only_hours,
        );
        invalid.check(r.components.is_empty(), "components", only_hours);
        invalid.check(!r.repeatable, "repeatable", only_hours);
    }
    if let Some(t) = &r.title {
        invalid.check(
            t.chars().count() <= 200,
            "title",
            "must be at most 200 characters",
        );
    }
    invalid
}

/// Caps and components of an hours requirement: each within the total, components adding up
/// to at most the total, source kinds that exist.
fn check_hours_rules(invalid: &mut Invalid, r: &RequirementDraft) {
    let total = r.hours.unwrap_or(0.0);
    let within = |h: f64| h.is_finite() && h >= 0.0 && h <= total;
    let words = |what: &str| {
        format!("{what} must be a number of hours from 0 to the requirement's {total} hours")
    };
    if let Some(cap) = r.max_hours_per_category {
        invalid.check(
            within(cap) && cap > 0.0,
            "max_hours_per_category",
            &words("the cap on each category"),
        );
    }
    for (kind, cap) in &r.max_hours_by_source {
        let field = format!("max_hours_by_source.{kind}");
        if !SOURCE_KINDS.contains(&kind.as_str()) {
            invalid.add(
                field,
                format!(
                    "\"{kind}\" is not a source kind; use one of {}",
                    SOURCE_KINDS.join(", ")
                ),
            );
        } else {
            invalid.check(
                within(*cap),
                &field,
                &words(&format!("the cap on {kind} hours")),
            );
        }
    }
    invalid.check(
        r.components.len() <= 20,
        "components",
        "at most 20 components",
    );
    for (i, c) in r.components.iter().enumerate() {
        let field = |name: &str| format!("components[{i}].{name}");
        invalid.check(
            !c.name.trim().is_empty() && c.name.chars().count() <= 100,
            &field("name"),
            "a component needs a name of at most 100 characters",
        );
        invalid.check(
            within(c.hours) && c.hours > 0.0,
            &field("hours"),
            &words("a component's hours"),
        );
        invalid.check(
            !c.categories.is_empty() && c.categories.iter().all(|cat| !cat.trim().is_empty()),
            &field("categories"),
            "a component needs at least one category, none of them empty",
        );
    }
    let sum: f64 = r.components.iter().map(|c| c.hours).sum();
    if !r.components.is_empty() && sum > total + 1e-9 {
        invalid.add(
            "components",
            format!(
                "the components' hours add up to {sum}, more than the requirement's {total} hours"
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draft<'a>(reqs: &'a [RequirementDraft]) -> TypeDraft<'a> {
        TypeDraft {
            code: "EMT-B",
            name: "EMT-Basic",
            effective_from: None,
            due_date: None,
            grace_period_days: 5,
            validity_months: Some(24),
            renewal_window_days: Some(90),
            number_pattern: numbering::DEFAULT_PATTERN,
            requirements: reqs,
        }
    }

    fn hours_draft() -> RequirementDraft {
        RequirementDraft {
            kind: RequirementKind::Hours,
            course_id: None,
            min_grade: None,
            hours: Some(40.0),
            category: None,
            title: None,
            max_hours_per_category: None,
            max_hours_by_source: BTreeMap::new(),
            components: Vec::new(),
            repeatable: false,
        }
    }

    fn part(name: &str, hours: f64, cat: &str) -> Component {
        Component {
            name: name.into(),
            hours,
            categories: vec![cat.into()],
        }
    }

    #[test]
    fn hours_rules_within_the_total() {
        let good = RequirementDraft {
            max_hours_per_category: Some(10.0),
            max_hours_by_source: BTreeMap::from([("online".into(), 10.0)]),
            components: vec![part("National", 20.0, "NCCR"), part("Local", 10.0, "LCCR")],
            ..hours_draft()
        };
        assert_eq!(validate_type(&draft(std::slice::from_ref(&good))), Ok(()));
        let bad = RequirementDraft {
            max_hours_per_category: Some(50.0),
            max_hours_by_source: BTreeMap::from([("online".into(), -1.0), ("tv".into(), 2.0)]),
            components: vec![part("National", 30.0, "NCCR"), part(" ", 20.0, "LCCR")],
            ..hours_draft()
        };
        let fields: Vec<String> = validate_type(&draft(&[bad]))
            .unwrap_err()
            .errors
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(
            fields,
            [
                "requirements[0].max_hours_per_category",
                "requirements[0].max_hours_by_source.online",
                "requirements[0].max_hours_by_source.tv",
                "requirements[0].components[1].name",
                "requirements[0].components",
            ]
        );
        let checklist = RequirementDraft {
            kind: RequirementKind::Checklist,
            title: Some("Skills".into()),
            repeatable: true,
            ..hours_draft()
        };
        assert!(validate_type(&draft(&[checklist])).is_err());
    }

    #[test]
    fn a_sound_type_passes() {
        let reqs = [RequirementDraft {
            kind: RequirementKind::Hours,
            course_id: None,
            min_grade: None,
            hours: Some(24.0),
            category: Some("CE".into()),
            title: None,
            ..hours_draft()
        }];
        assert_eq!(validate_type(&draft(&reqs)), Ok(()));
    }

    #[test]
    fn each_broken_rule_names_its_field() {
        let reqs = [
            RequirementDraft {
                kind: RequirementKind::Course,
                course_id: None,
                min_grade: Some(120.0),
                hours: None,
                category: None,
                title: None,
                ..hours_draft()
            },
            RequirementDraft {
                kind: RequirementKind::Checklist,
                course_id: None,
                min_grade: None,
                hours: None,
                category: None,
                title: Some(" ".into()),
                ..hours_draft()
            },
        ];
        let mut d = draft(&reqs);
        d.validity_months = Some(0);
        d.grace_period_days = -1;
        d.name = "";
        let fields: Vec<String> = validate_type(&d)
            .unwrap_err()
            .errors
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(
            fields,
            [
                "name",
                "grace_period_days",
                "validity_months",
                "requirements[0].min_grade",
                "requirements[0].course_id",
                "requirements[1].title"
            ]
        );
    }

    #[test]
    fn lifecycle() {
        assert_eq!(TypeState::Draft.publish(), Ok(TypeState::Published));
        assert!(TypeState::Published.publish().is_err());
        assert_eq!(TypeState::Published.retire(), Ok(TypeState::Retired));
        assert_eq!(
            TypeState::Retired.retire(),
            Err(TransitionError::AlreadyRetired)
        );
        assert!(
            TypeState::Published.assignable()
                && !TypeState::Draft.assignable()
                && !TypeState::Retired.assignable()
        );
    }
}
