//! A second factor for password sign-in: time-based one-time passwords (RFC 6238 over RFC
//! 4226's HOTP) with HMAC-SHA1, 30-second steps and six digits — what every authenticator app
//! speaks — the base32 (RFC 4648) their QR codes carry, and one-time recovery codes.
//!
//! | rule | why |
//! |---|---|
//! | a code is accepted for the current step and [`WINDOW`] step either side | a phone's clock drifts, and typing takes time |
//! | only for a step later than the last one accepted for the login | a code seen over a shoulder or replayed is good once (RFC 6238 §5.2) |
//! | recovery codes are [`RECOVERY_CHARS`] base32 characters, hyphens and spaces ignored | 60 random bits, typed from paper |

use hmac::{Hmac, Mac};
use sha1::Sha1;

/// Seconds per step (RFC 6238's X).
pub const STEP_SECONDS: i64 = 30;
/// Digits in a code.
pub const DIGITS: u32 = 6;
/// Steps accepted either side of the current one.
pub const WINDOW: i64 = 1;
/// A new secret's length: 160 bits, as RFC 4226 recommends for HMAC-SHA1.
pub const SECRET_BYTES: usize = 20;
/// Characters in a recovery code (base32: 5 bits each).
pub const RECOVERY_CHARS: usize = 12;
/// Recovery codes given at enrolment and at each regeneration.
pub const RECOVERY_CODES: usize = 10;

const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// Base32 without padding, as `otpauth://` URIs carry secrets.
pub fn base32_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    let (mut buffer, mut bits) = (0u32, 0u32);
    for &b in bytes {
        buffer = (buffer << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(ALPHABET[((buffer >> bits) & 31) as usize]));
        }
        buffer &= (1 << bits) - 1;
    }
    if bits > 0 {
        out.push(char::from(ALPHABET[((buffer << (5 - bits)) & 31) as usize]));
    }
    out
}

/// Reads base32 in either case, ignoring spaces, hyphens and trailing `=` padding; `None`
/// for any other character.
pub fn base32_decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 5 / 8);
    let (mut buffer, mut bits) = (0u32, 0u32);
    for c in text
        .trim_end_matches('=')
        .bytes()
        .filter(|c| !matches!(c, b' ' | b'-'))
    {
        let value = ALPHABET.iter().position(|a| *a == c.to_ascii_uppercase())? as u32;
        buffer = (buffer << 5) | value;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
            buffer &= (1 << bits) - 1;
        }
    }
    Some(out)
}

/// RFC 4226's HOTP: the `digits`-digit code for `counter`.
pub fn hotp(secret: &[u8], counter: u64, digits: u32) -> u32 {
    let mut mac = Hmac::<Sha1>::new_from_slice(secret).expect("HMAC takes a key of any length");
    mac.update(&counter.to_be_bytes());
    let digest = mac.finalize().into_bytes();
    // Dynamic truncation: four bytes at the offset the last nibble names, top bit cleared.
    let offset = usize::from(digest[digest.len() - 1] & 0x0f);
    let binary = u32::from_be_bytes([
        digest[offset] & 0x7f,
        digest[offset + 1],
        digest[offset + 2],
        digest[offset + 3],
    ]);
    binary % 10u32.pow(digits)
}

/// The step a moment falls in.
pub fn step_at(unix_seconds: i64) -> i64 {
    unix_seconds.div_euclid(STEP_SECONDS)
}

/// The code an authenticator shows during `step`.
pub fn code_for_step(secret: &[u8], step: i64) -> u32 {
    hotp(secret, step.max(0) as u64, DIGITS)
}

/// A code as an authenticator shows it: six digits, leading zeros kept.
pub fn format_code(code: u32) -> String {
    format!("{code:06}")
}

/// Why a typed code is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CodeProblem {
    #[error("must be the 6 digits your authenticator app shows")]
    Malformed,
    #[error(
        "is not the one your app shows now; check that your phone's clock is right and try again"
    )]
    Wrong,
    #[error("this code was already used; wait for the next one")]
    Reused,
}

/// The code a person typed: six digits, spaces and hyphens ignored ("123 456").
pub fn parse_code(typed: &str) -> Option<u32> {
    let digits: String = typed.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
    if digits.len() != DIGITS as usize || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// Checks a typed code at `unix_seconds`, given the last step accepted for the login; the
/// step it is accepted for, which the caller stores as the new last step.
pub fn check(
    secret: &[u8],
    typed: &str,
    unix_seconds: i64,
    last_step: Option<i64>,
) -> Result<i64, CodeProblem> {
    let code = parse_code(typed).ok_or(CodeProblem::Malformed)?;
    let now = step_at(unix_seconds);
    let mut reused = false;
    for step in now - WINDOW..=now + WINDOW {
        if code_for_step(secret, step) != code {
            continue;
        }
        if last_step.is_some_and(|last| step <= last) {
            reused = true;
        } else {
            return Ok(step);
        }
    }
    Err(if reused {
        CodeProblem::Reused
    } else {
        CodeProblem::Wrong
    })
}

/// The `otpauth://` URI an authenticator app reads from the QR code (the Key Uri Format
/// Google Authenticator defined and the others follow).
pub fn otpauth_uri(issuer: &str, account: &str, secret: &[u8]) -> String {
    let issuer = percent_encode(issuer);
    format!(
        "otpauth://totp/{issuer}:{}?secret={}&issuer={issuer}&algorithm=SHA1&digits={DIGITS}&period={STEP_SECONDS}",
        percent_encode(account),
        base32_encode(secret)
    )
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A recovery code as it is stored (hashed) and compared: lowercase base32 without
/// separators; `None` when what was typed cannot be one.
pub fn parse_recovery_code(typed: &str) -> Option<String> {
    let code: String = typed
        .chars()
        .filter(|c| !matches!(c, ' ' | '-'))
        .map(|c| c.to_ascii_lowercase())
        .collect();
    let valid = code.len() == RECOVERY_CHARS
        && code
            .bytes()
            .all(|b| ALPHABET.contains(&b.to_ascii_uppercase()));
    valid.then_some(code)
}

/// A recovery code from [`RECOVERY_CHARS`] random values (each taken modulo 32), grouped in
/// fours for reading: `abcd-efgh-ijkl`.
pub fn recovery_code(random: &[u8; RECOVERY_CHARS]) -> String {
    let chars: Vec<char> = random
        .iter()
        .map(|r| char::from(ALPHABET[usize::from(r % 32)]).to_ascii_lowercase())
        .collect();
    chars
        .chunks(4)
        .map(|c| c.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join("-")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// RFC 6238 appendix B's SHA1 seed.
    const RFC_SECRET: &[u8] = b"12345678901234567890";

    #[test]
    fn base32_matches_rfc_4648() {
        for (plain, encoded) in [
            ("", ""),
            ("f", "MY"),
            ("fo", "MZXQ"),
            ("foo", "MZXW6"),
            ("foob", "MZXW6YQ"),
            ("fooba", "MZXW6YTB"),
            ("foobar", "MZXW6YTBOI"),
        ] {
            assert_eq!(base32_encode(plain.as_bytes()), encoded, "{plain}");
            assert_eq!(base32_decode(encoded).unwrap(), plain.as_bytes());
        }
        assert_eq!(base32_decode("mzxw 6ytb-oi======").unwrap(), b"foobar");
        assert_eq!(base32_decode("MZXW1"), None, "1 is not base32");
    }

    #[test]
    fn hotp_matches_rfc_4226() {
        let expected = [
            755224, 287082, 359152, 969429, 338314, 254676, 287922, 162583, 399871, 520489,
        ];
        for (counter, code) in expected.into_iter().enumerate() {
            assert_eq!(hotp(RFC_SECRET, counter as u64, 6), code, "{counter}");
        }
    }

    #[test]
    fn totp_matches_rfc_6238_sha1_vectors() {
        for (time, eight) in [
            (59, 94287082),
            (1111111109, 7081804),
            (1111111111, 14050471),
            (1234567890, 89005924),
            (2000000000, 69279037),
            (20000000000, 65353130),
        ] {
            let step = step_at(time);
            assert_eq!(hotp(RFC_SECRET, step as u64, 8), eight, "{time}");
            assert_eq!(code_for_step(RFC_SECRET, step), eight % 1_000_000, "{time}");
            let typed = format_code(eight % 1_000_000);
            assert_eq!(check(RFC_SECRET, &typed, time, None), Ok(step));
        }
        assert_eq!(format_code(81804), "081804");
    }

    #[test]
    fn a_code_is_good_once_and_only_near_its_time() {
        let t = 1_800_000_015;
        let now = step_at(t);
        let code = |step| format_code(code_for_step(RFC_SECRET, step));
        assert_eq!(check(RFC_SECRET, &code(now), t, None), Ok(now));
        assert_eq!(
            check(RFC_SECRET, &code(now), t, Some(now)),
            Err(CodeProblem::Reused)
        );
        assert_eq!(check(RFC_SECRET, &code(now - 1), t, None), Ok(now - 1));
        assert_eq!(check(RFC_SECRET, &code(now + 1), t, Some(now)), Ok(now + 1));
        assert_eq!(
            check(RFC_SECRET, &code(now - 1), t, Some(now)),
            Err(CodeProblem::Reused),
            "an older code than the last one used is spent too"
        );
        assert_eq!(
            check(RFC_SECRET, &code(now - 2), t, None),
            Err(CodeProblem::Wrong)
        );
        assert_eq!(
            check(RFC_SECRET, "12345", t, None),
            Err(CodeProblem::Malformed)
        );
        assert_eq!(
            check(RFC_SECRET, "abcdef", t, None),
            Err(CodeProblem::Malformed)
        );
        let spaced = format!("{} {}", &code(now)[..3], &code(now)[3..]);
        assert_eq!(check(RFC_SECRET, &spaced, t, None), Ok(now));
    }

    #[test]
    fn the_uri_names_issuer_and_account_encoded() {
        assert_eq!(
            otpauth_uri("Credence (Metro Fire)", "chief@metro.example", b"foobar"),
            "otpauth://totp/Credence%20%28Metro%20Fire%29:chief%40metro.example?secret=MZXW6YTBOI\
             &issuer=Credence%20%28Metro%20Fire%29&algorithm=SHA1&digits=6&period=30"
        );
    }

    #[test]
    fn recovery_codes_read_back_however_typed() {
        let code = recovery_code(&[0, 1, 2, 3, 4, 5, 6, 7, 31, 32, 33, 255]);
        assert_eq!(code, "abcd-efgh-7ab7");
        assert_eq!(
            parse_recovery_code(" ABCD EFGH-7AB7 ").as_deref(),
            Some("abcdefgh7ab7")
        );
        assert_eq!(parse_recovery_code("abcd-efgh-7ab"), None);
        assert_eq!(parse_recovery_code("abcd-efgh-7ab1"), None);
        assert_eq!(
            parse_recovery_code("123456"),
            None,
            "a TOTP code is not one"
        );
    }

    proptest! {
        #[test]
        fn base32_round_trips(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let encoded = base32_encode(&bytes);
            prop_assert_eq!(encoded.len(), (bytes.len() * 8).div_ceil(5));
            prop_assert_eq!(base32_decode(&encoded).unwrap(), bytes.clone());
            prop_assert_eq!(base32_decode(&encoded.to_lowercase()).unwrap(), bytes);
        }

        /// The code of any step in the window is accepted once, for that step; after that
        /// neither it nor any earlier step's code is.
        #[test]
        fn each_code_in_the_window_is_accepted_once(
            secret in proptest::array::uniform20(any::<u8>()),
            t in 0i64..4_000_000_000,
            offset in -WINDOW..=WINDOW,
        ) {
            let step = step_at(t) + offset;
            let typed = format_code(code_for_step(&secret, step));
            let accepted = check(&secret, &typed, t, Some(step - 1)).unwrap();
            // Another step in the window may share the code (one in a million): never a
            // step at or before the last one accepted.
            prop_assert!(accepted >= step && accepted <= step_at(t) + WINDOW);
            let again = check(&secret, &typed, t, Some(accepted));
            prop_assert!(again.map_or(true, |later| later > accepted));
        }

        /// Whatever is typed, an accepted step lies in the window and after the last one.
        #[test]
        fn nothing_is_accepted_outside_the_window(
            secret in proptest::array::uniform20(any::<u8>()),
            t in 0i64..4_000_000_000,
            typed in "[0-9]{6}",
            last in proptest::option::of(0i64..140_000_000),
        ) {
            if let Ok(step) = check(&secret, &typed, t, last) {
                prop_assert!((step - step_at(t)).abs() <= WINDOW);
                prop_assert!(last.is_none_or(|l| step > l));
                prop_assert_eq!(code_for_step(&secret, step), typed.parse::<u32>().unwrap());
            }
        }
    }
}
