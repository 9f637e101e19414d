//! Field-level validation results shared by every rule that checks user input.

use serde::Serialize;

/// One offending field and what is wrong with it, in words a user can act on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

/// A set of field errors; empty means the input is valid.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Invalid {
    pub errors: Vec<FieldError>,
}

impl Invalid {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn single(field: impl Into<String>, message: impl Into<String>) -> Self {
        let mut invalid = Self::new();
        invalid.add(field, message);
        invalid
    }

    pub fn add(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.errors.push(FieldError {
            field: field.into(),
            message: message.into(),
        });
    }

    /// Records `message` against `field` when `ok` is false.
    pub fn check(&mut self, ok: bool, field: &str, message: &str) {
        if !ok {
            self.add(field, message);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }

    /// `Ok(())` when nothing was recorded, otherwise the collected errors.
    pub fn into_result(self) -> Result<(), Invalid> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(self)
        }
    }

    /// Adds another set's errors with `prefix` before their field names (`items[3].`).
    pub fn extend_prefixed(&mut self, prefix: &str, other: Invalid) {
        for e in other.errors {
            self.add(format!("{prefix}{}", e.field), e.message);
        }
    }
}

/// Unicode's bidirectional controls (embeddings, overrides, isolates, and the LRM/RLM
/// marks). In a name they can make "Smith\u{202E}cod.exe" display as "Smithexe.doc", or
/// reorder the columns of a register around it, so names never keep them.
const BIDI_CONTROLS: [char; 11] = [
    '\u{202A}', '\u{202B}', '\u{202C}', '\u{202D}', '\u{202E}', '\u{2066}', '\u{2067}', '\u{2068}',
    '\u{2069}', '\u{200E}', '\u{200F}',
];

/// A name as it is stored: without bidirectional controls, trimmed. Every use case that
/// saves a name (member, group, course, credential type, agency, template) stores this.
pub fn clean_name(value: &str) -> String {
    let kept: String = value
        .chars()
        .filter(|c| !BIDI_CONTROLS.contains(c))
        .collect();
    kept.trim().to_string()
}

/// A required human-readable text: present after cleaning ([`clean_name`]) and not
/// absurdly long.
pub fn check_text(invalid: &mut Invalid, field: &str, value: &str, max: usize) {
    let cleaned = clean_name(value);
    let trimmed = cleaned.as_str();
    if trimmed.is_empty() {
        invalid.add(field, "must not be empty");
    } else if trimmed.chars().count() > max {
        invalid.add(field, format!("must be at most {max} characters"));
    }
}

/// Codes are short identifiers shown on certificates and in CSVs: letters, digits, `-`, `_`, `.`.
pub fn check_code(invalid: &mut Invalid, field: &str, value: &str) {
    if value.is_empty() {
        invalid.add(field, "must not be empty");
    } else if value.len() > 40 {
        invalid.add(field, "must be at most 40 characters");
    } else if !value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        invalid.add(field, "may contain only letters, digits, '-', '_' and '.'");
    }
}

/// A plausible e-mail address: one `@` with text on both sides and a dot in the domain.
/// The form of an e-mail address that logins are compared by: trimmed and lowercased
/// (Unicode-aware), so `Ada@Example.org` and `ada@example.org` are one login. The address is
/// stored as typed; only comparisons use this.
pub fn fold_email(value: &str) -> String {
    value.trim().to_lowercase()
}

pub fn is_plausible_email(value: &str) -> bool {
    let Some((local, domain)) = value.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !value.contains(char::is_whitespace)
        && !domain.contains('@')
        && value.len() <= 254
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_fold_for_comparison() {
        assert_eq!(
            fold_email("  Ada.Lovelace@Example.ORG "),
            "ada.lovelace@example.org"
        );
        assert_eq!(fold_email("ÉLODIE@exemple.fr"), "élodie@exemple.fr");
    }

    #[test]
    fn names_lose_bidirectional_controls() {
        assert_eq!(clean_name(" Smith\u{202E}cod.exe "), "Smithcod.exe");
        assert_eq!(clean_name("\u{200F}\u{2067}Ava\u{2069}"), "Ava");
        // Other marks of real names stay: accents, joiners, right-to-left letters.
        assert_eq!(clean_name("Zoë Anne-Marie עדן"), "Zoë Anne-Marie עדן");
        let mut invalid = Invalid::new();
        check_text(&mut invalid, "name", "\u{202E}\u{200E} ", 10);
        assert_eq!(invalid.errors[0].message, "must not be empty");
    }

    #[test]
    fn emails() {
        assert!(is_plausible_email("a.b@station1.example.org"));
        assert!(!is_plausible_email("nobody"));
        assert!(!is_plausible_email("a@b"));
        assert!(!is_plausible_email("a b@c.org"));
        assert!(!is_plausible_email("@c.org"));
    }

    #[test]
    fn codes_and_texts() {
        let mut invalid = Invalid::new();
        check_code(&mut invalid, "code", "EMT-B");
        check_text(&mut invalid, "name", "EMT Basic", 200);
        assert!(invalid.is_empty());
        check_code(&mut invalid, "code", "EMT B");
        check_text(&mut invalid, "name", "   ", 200);
        assert_eq!(invalid.errors.len(), 2);
        assert_eq!(invalid.errors[1].field, "name");
    }
}
