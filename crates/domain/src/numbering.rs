//! Default credential numbers from a type's pattern.
//!
//! Placeholders: `{CODE}` the type's code, `{YYYY}` / `{YY}` / `{MM}` / `{DD}` of the issue
//! date, `{EMP}` the member's employee number, `{SEQ}` or `{SEQ:n}` the type's running
//! number zero-padded to `n` digits. Anything else is copied as written.

use chrono::{Datelike, NaiveDate};

pub const DEFAULT_PATTERN: &str = "{CODE}-{YYYY}-{SEQ:5}";

/// What a number is made from.
pub struct NumberInputs<'a> {
    pub type_code: &'a str,
    pub issue_date: NaiveDate,
    pub employee_number: Option<&'a str>,
    pub sequence: u64,
}

/// Why a pattern cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PatternError {
    #[error("unclosed '{{' in pattern")]
    Unclosed,
    #[error("unknown placeholder {{{0}}}; use CODE, YYYY, YY, MM, DD, EMP, SEQ or SEQ:n")]
    UnknownPlaceholder(String),
    #[error("the pattern must contain {{SEQ}} (or {{EMP}}) so numbers differ")]
    NotUnique,
}

enum Piece<'a> {
    Text(&'a str),
    Field(&'a str),
}

fn pieces(pattern: &str) -> Result<Vec<Piece<'_>>, PatternError> {
    let mut out = Vec::new();
    let mut rest = pattern;
    while let Some(open) = rest.find('{') {
        out.push(Piece::Text(&rest[..open]));
        let close = rest[open..].find('}').ok_or(PatternError::Unclosed)? + open;
        out.push(Piece::Field(&rest[open + 1..close]));
        rest = &rest[close + 1..];
    }
    out.push(Piece::Text(rest));
    Ok(out)
}

fn sequence_width(field: &str) -> Option<usize> {
    match field {
        "SEQ" => Some(1),
        _ => field
            .strip_prefix("SEQ:")?
            .parse()
            .ok()
            .filter(|w| (1..=12).contains(w)),
    }
}

/// Checks a pattern before it is saved.
pub fn validate_pattern(pattern: &str) -> Result<(), PatternError> {
    let mut unique = false;
    for piece in pieces(pattern)? {
        if let Piece::Field(f) = piece {
            if sequence_width(f).is_some() || f == "EMP" {
                unique = true;
            } else if !matches!(f, "CODE" | "YYYY" | "YY" | "MM" | "DD") {
                return Err(PatternError::UnknownPlaceholder(f.to_string()));
            }
        }
    }
    if unique {
        Ok(())
    } else {
        Err(PatternError::NotUnique)
    }
}

/// The number for one issuance. The pattern must have passed [`validate_pattern`].
pub fn credential_number(pattern: &str, inputs: &NumberInputs<'_>) -> String {
    let Ok(parts) = pieces(pattern) else {
        return pattern.to_string();
    };
    let mut out = String::new();
    for piece in parts {
        match piece {
            Piece::Text(t) => out.push_str(t),
            Piece::Field("CODE") => out.push_str(inputs.type_code),
            Piece::Field("YYYY") => out.push_str(&format!("{:04}", inputs.issue_date.year())),
            Piece::Field("YY") => out.push_str(&format!("{:02}", inputs.issue_date.year() % 100)),
            Piece::Field("MM") => out.push_str(&format!("{:02}", inputs.issue_date.month())),
            Piece::Field("DD") => out.push_str(&format!("{:02}", inputs.issue_date.day())),
            Piece::Field("EMP") => out.push_str(inputs.employee_number.unwrap_or("")),
            Piece::Field(f) => {
                let width = sequence_width(f).unwrap_or(1);
                out.push_str(&format!("{:0width$}", inputs.sequence));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_pattern() {
        let inputs = NumberInputs {
            type_code: "EMT-B",
            issue_date: "2026-03-14".parse().unwrap(),
            employee_number: Some("E-1042"),
            sequence: 42,
        };
        assert_eq!(
            credential_number(DEFAULT_PATTERN, &inputs),
            "EMT-B-2026-00042"
        );
        assert_eq!(
            credential_number("{EMP}/{YY}{MM}{DD}", &inputs),
            "E-1042/260314"
        );
    }

    #[test]
    fn invalid_patterns_say_why() {
        assert_eq!(
            validate_pattern("{CODE}-{YYYY"),
            Err(PatternError::Unclosed)
        );
        assert_eq!(
            validate_pattern("{CODE}-{YYYY}"),
            Err(PatternError::NotUnique)
        );
        assert!(matches!(
            validate_pattern("{FOO}{SEQ}"),
            Err(PatternError::UnknownPlaceholder(_))
        ));
        assert!(validate_pattern(DEFAULT_PATTERN).is_ok());
    }
}
