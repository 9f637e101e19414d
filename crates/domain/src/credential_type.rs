//! Credential type definitions: their enumerations, the lifecycle state machine and the
//! validation of a definition before it is saved.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

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
                r.category.as_deref().is_some_and(|c| !c.trim().is_empty()),
                "category",
                "an hours requirement needs a category",
            );
        }
        RequirementKind::Checklist => {
            invalid.check(
                r.title.as_deref().is_some_and(|t| !t.trim().is_empty()),
                "title",
                "a checklist item needs a title",
            );
        }
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

    #[test]
    fn a_sound_type_passes() {
        let reqs = [RequirementDraft {
            kind: RequirementKind::Hours,
            course_id: None,
            min_grade: None,
            hours: Some(24.0),
            category: Some("CE".into()),
            title: None,
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
            },
            RequirementDraft {
                kind: RequirementKind::Checklist,
                course_id: None,
                min_grade: None,
                hours: None,
                category: None,
                title: Some(" ".into()),
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
