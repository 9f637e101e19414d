//! "Today" for an agency: its local date, unless `CREDENCE_TODAY` fixes it for everyone.

use chrono::{NaiveDate, Utc};

#[derive(Debug, Clone, Copy, Default)]
pub struct Clock {
    fixed: Option<NaiveDate>,
}

impl Clock {
    pub fn system() -> Clock {
        Clock { fixed: None }
    }

    pub fn fixed(today: NaiveDate) -> Clock {
        Clock { fixed: Some(today) }
    }

    pub fn fixed_date(&self) -> Option<NaiveDate> {
        self.fixed
    }

    /// The local date in `time_zone` (an IANA name; unknown names fall back to UTC, and
    /// agencies are validated on creation so that does not happen in practice).
    pub fn today(&self, time_zone: &str) -> NaiveDate {
        if let Some(d) = self.fixed {
            return d;
        }
        let now = Utc::now();
        match time_zone.parse::<chrono_tz::Tz>() {
            Ok(tz) => now.with_timezone(&tz).date_naive(),
            Err(_) => now.date_naive(),
        }
    }
}

/// Whether `name` is a time zone the clock understands.
pub fn is_time_zone(name: &str) -> bool {
    name.parse::<chrono_tz::Tz>().is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_today_wins() {
        let d: NaiveDate = "2026-03-01".parse().unwrap();
        assert_eq!(Clock::fixed(d).today("America/Chicago"), d);
        assert!(is_time_zone("America/Chicago") && !is_time_zone("Mars/Olympus"));
    }
}
