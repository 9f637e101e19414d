//! iCalendar (RFC 5545) feeds of expirations and due dates.
//!
//! Written by hand rather than with the `icalendar` crate: a feed here is one calendar of
//! all-day events with two alarms each, which is a few dozen lines, and the rules that
//! matter — escaping `\ ; ,` and newlines in text, CRLF line ends, folding lines at 75
//! octets without splitting a UTF-8 character — are tested below. A dependency would bring
//! more than it saves.

use chrono::{DateTime, NaiveDate, Utc};

/// One all-day event.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// Stable across fetches, so calendar apps update instead of duplicating.
    pub uid: String,
    pub date: NaiveDate,
    pub summary: String,
    pub description: String,
    pub url: Option<String>,
}

/// Days before the event that the alarms ring.
pub const ALARM_DAYS: [u32; 2] = [30, 7];

/// Escapes a TEXT value (RFC 5545 §3.3.11).
pub fn escape_text(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c => out.push(c),
        }
    }
    out
}

/// Appends one content line, folded so that no line exceeds 75 octets (continuations start
/// with a space, which counts), each ended by CRLF.
pub fn push_line(out: &mut String, line: &str) {
    let mut width = 0;
    for c in line.chars() {
        let n = c.len_utf8();
        if width + n > 75 {
            out.push_str("\r\n ");
            width = 1;
        }
        out.push(c);
        width += n;
    }
    out.push_str("\r\n");
}

fn date(d: NaiveDate) -> String {
    d.format("%Y%m%d").to_string()
}

/// The whole calendar, named `name`, stamped `now`.
pub fn calendar(name: &str, now: DateTime<Utc>, events: &[Event]) -> String {
    let mut out = String::new();
    let stamp = now.format("%Y%m%dT%H%M%SZ").to_string();
    for line in [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//Credence//Credential calendar//EN",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
    ] {
        push_line(&mut out, line);
    }
    push_line(&mut out, &format!("X-WR-CALNAME:{}", escape_text(name)));
    for e in events {
        push_line(&mut out, "BEGIN:VEVENT");
        push_line(&mut out, &format!("UID:{}", escape_text(&e.uid)));
        push_line(&mut out, &format!("DTSTAMP:{stamp}"));
        push_line(&mut out, &format!("DTSTART;VALUE=DATE:{}", date(e.date)));
        let next = e.date.succ_opt().unwrap_or(e.date);
        push_line(&mut out, &format!("DTEND;VALUE=DATE:{}", date(next)));
        push_line(&mut out, &format!("SUMMARY:{}", escape_text(&e.summary)));
        push_line(
            &mut out,
            &format!("DESCRIPTION:{}", escape_text(&e.description)),
        );
        if let Some(url) = &e.url {
            push_line(&mut out, &format!("URL:{url}"));
        }
        push_line(&mut out, "TRANSP:TRANSPARENT");
        for days in ALARM_DAYS {
            push_line(&mut out, "BEGIN:VALARM");
            push_line(&mut out, "ACTION:DISPLAY");
            push_line(&mut out, &format!("TRIGGER:-P{days}D"));
            push_line(
                &mut out,
                &format!("DESCRIPTION:{}", escape_text(&e.summary)),
            );
            push_line(&mut out, "END:VALARM");
        }
        push_line(&mut out, "END:VEVENT");
    }
    push_line(&mut out, "END:VCALENDAR");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Undoes folding (RFC 5545 §3.1).
    fn unfold(text: &str) -> String {
        text.replace("\r\n ", "")
    }

    #[test]
    fn text_is_escaped() {
        assert_eq!(
            escape_text("CPR; renew, now\\then\r\nnext"),
            "CPR\\; renew\\, now\\\\then\\nnext"
        );
    }

    #[test]
    fn a_calendar_has_crlf_lines_and_balanced_blocks() {
        let now = DateTime::parse_from_rfc3339("2026-03-01T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let e = Event {
            uid: "exp-crd_1-20260501@credence.test".into(),
            date: NaiveDate::from_ymd_opt(2026, 5, 1).unwrap(),
            summary: "CPR expires, Emma Smith".into(),
            description: "x".repeat(200),
            url: Some("https://credence.test/credentials/crd_1".into()),
        };
        let text = calendar("Test; district", now, &[e]);
        assert!(text.ends_with("END:VCALENDAR\r\n"));
        assert!(!text.replace("\r\n", "").contains('\n'));
        for line in text.split("\r\n") {
            assert!(line.len() <= 75, "{line:?}");
        }
        let unfolded = unfold(&text);
        assert!(
            unfolded.contains("\r\nDTSTART;VALUE=DATE:20260501\r\nDTEND;VALUE=DATE:20260502\r\n")
        );
        assert!(unfolded.contains("SUMMARY:CPR expires\\, Emma Smith\r\n"));
        assert!(unfolded.contains("X-WR-CALNAME:Test\\; district\r\n"));
        assert_eq!(unfolded.matches("BEGIN:VALARM").count(), 2);
        assert!(unfolded.contains("TRIGGER:-P30D\r\n") && unfolded.contains("TRIGGER:-P7D\r\n"));
    }

    proptest! {
        #[test]
        fn folding_keeps_lines_short_and_unfolds_to_the_original(s in "\\PC{0,300}") {
            let mut out = String::new();
            push_line(&mut out, &s);
            prop_assert!(out.ends_with("\r\n"));
            for line in out.trim_end_matches("\r\n").split("\r\n") {
                prop_assert!(line.len() <= 75);
            }
            prop_assert_eq!(unfold(&out), format!("{s}\r\n"));
        }
    }
}
