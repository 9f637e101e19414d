//! What a new password must be (NIST SP 800-63B §5.1.1.2): long enough, not absurdly long, and
//! not one of the 10,000 most common passwords (compared case-insensitively, so `Password1`
//! is `password1`). No composition rules (a digit, a symbol…): they push people to
//! predictable patterns without making passwords stronger. Length counts characters, not
//! bytes, so a passphrase in any script is measured the same way.

use std::collections::HashSet;
use std::sync::OnceLock;

/// The shortest password accepted.
pub const MIN_CHARS: usize = 10;
/// The longest: generous for passphrases, and a bound on what argon2 is given to hash.
pub const MAX_CHARS: usize = 128;

/// Why a new password is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PasswordProblem {
    #[error("must be at least {MIN_CHARS} characters")]
    TooShort,
    #[error("must be at most {MAX_CHARS} characters")]
    TooLong,
    #[error("is one of the most common passwords; choose one that is harder to guess")]
    Common,
}

/// The list, one password a line, most common first (see `data/README.md`).
const COMMON: &str = include_str!("../data/common-passwords.txt");

fn common() -> &'static HashSet<&'static str> {
    static SET: OnceLock<HashSet<&'static str>> = OnceLock::new();
    SET.get_or_init(|| COMMON.lines().filter(|l| !l.is_empty()).collect())
}

/// Whether `password` may be set as a new password.
pub fn check(password: &str) -> Result<(), PasswordProblem> {
    let chars = password.chars().count();
    if chars < MIN_CHARS {
        return Err(PasswordProblem::TooShort);
    }
    if chars > MAX_CHARS {
        return Err(PasswordProblem::TooLong);
    }
    if common().contains(password.to_lowercase().as_str()) {
        return Err(PasswordProblem::Common);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_list_holds_the_usual_suspects() {
        assert_eq!(common().len(), 10_000);
        for p in ["password", "123456", "qwerty123", "iloveyou", "password123"] {
            assert!(common().contains(p), "{p}");
        }
    }

    #[test]
    fn common_passwords_are_refused_whatever_their_case() {
        for p in [
            "password123",
            "PASSWORD123",
            "Qwertyuiop",
            "1234567890",
            "Manchester",
        ] {
            assert_eq!(check(p), Err(PasswordProblem::Common), "{p}");
        }
    }

    #[test]
    fn length_is_counted_in_characters() {
        assert_eq!(check("short"), Err(PasswordProblem::TooShort));
        assert_eq!(
            check(&"é".repeat(MIN_CHARS)),
            Ok(()),
            "ten characters, twenty bytes"
        );
        assert_eq!(
            check(&"x".repeat(MAX_CHARS + 1)),
            Err(PasswordProblem::TooLong)
        );
        assert_eq!(check("correct horse battery staple"), Ok(()));
    }

    proptest! {
        /// Any length in range that is not on the list is accepted: no composition rules.
        #[test]
        fn lengths_in_range_are_accepted(len in MIN_CHARS..=MAX_CHARS, c in "[a-z]") {
            let p = format!("{}{}", c.repeat(len - 1), "ž");
            prop_assert_eq!(check(&p), Ok(()));
        }

        #[test]
        fn beyond_the_bounds_is_refused(short in 0..MIN_CHARS, long in MAX_CHARS + 1..MAX_CHARS * 4) {
            prop_assert_eq!(check(&"k".repeat(short)), Err(PasswordProblem::TooShort));
            prop_assert_eq!(check(&"k".repeat(long)), Err(PasswordProblem::TooLong));
        }
    }
}
