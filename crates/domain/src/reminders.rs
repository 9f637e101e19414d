//! Which reminder is due for a date that is approaching: thresholds are days before the
//! date (default 90, 60, 30, 7), plus one on the day after it, when it has lapsed. At most
//! one reminder per threshold, and when several thresholds have passed unsent only the
//! nearest goes.

use chrono::NaiveDate;

pub const DEFAULT_OFFSETS: [u32; 4] = [90, 60, 30, 7];

/// The threshold a reminder is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Threshold {
    /// N days (or fewer) before the date.
    DaysBefore(u32),
    /// The date has passed.
    Lapsed,
}

impl Threshold {
    /// A stable key for the outbox's "once" constraint.
    pub fn key(self) -> String {
        match self {
            Threshold::DaysBefore(n) => format!("d{n}"),
            Threshold::Lapsed => "lapsed".into(),
        }
    }
}

/// The nearest threshold that has been reached on `today` for `date`, if any. Lapse
/// reminders are only sent within `lapse_grace_days` after the date, so a sweep of old
/// history does not flood inboxes.
pub fn due_threshold(
    date: NaiveDate,
    today: NaiveDate,
    offsets: &[u32],
    lapse_grace_days: i64,
) -> Option<Threshold> {
    let days_left = (date - today).num_days();
    if days_left < 0 {
        return (days_left >= -lapse_grace_days).then_some(Threshold::Lapsed);
    }
    offsets
        .iter()
        .copied()
        .filter(|t| i64::from(*t) >= days_left)
        .min()
        .map(Threshold::DaysBefore)
}

/// Parses an agency's offsets ("90,60,30,7"); blanks and junk are ignored.
pub fn parse_offsets(text: &str) -> Vec<u32> {
    let mut out: Vec<u32> = text
        .split(',')
        .filter_map(|t| t.trim().parse().ok())
        .filter(|n| *n > 0)
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn the_nearest_passed_threshold_goes() {
        let exp = d("2026-06-30");
        assert_eq!(
            due_threshold(exp, d("2026-03-01"), &DEFAULT_OFFSETS, 7),
            None,
            "121 days out"
        );
        assert_eq!(
            due_threshold(exp, d("2026-04-01"), &DEFAULT_OFFSETS, 7),
            Some(Threshold::DaysBefore(90))
        );
        // A server that was down for two months sends only the 30-day reminder.
        assert_eq!(
            due_threshold(exp, d("2026-06-01"), &DEFAULT_OFFSETS, 7),
            Some(Threshold::DaysBefore(30))
        );
        assert_eq!(
            due_threshold(exp, d("2026-06-30"), &DEFAULT_OFFSETS, 7),
            Some(Threshold::DaysBefore(7))
        );
        assert_eq!(
            due_threshold(exp, d("2026-07-01"), &DEFAULT_OFFSETS, 7),
            Some(Threshold::Lapsed)
        );
        assert_eq!(
            due_threshold(exp, d("2026-08-01"), &DEFAULT_OFFSETS, 7),
            None,
            "long lapsed: no flood"
        );
    }

    #[test]
    fn offsets_parse() {
        assert_eq!(parse_offsets("90, 60,x,30,7,0,60"), vec![7, 30, 60, 90]);
    }
}
