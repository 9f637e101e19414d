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

/// The local date in `time_zone` of an instant the store recorded (a revocation, a track's
/// creation), never after `today`: with the system clock an instant already past is never
/// later than today, and with a fixed `CREDENCE_TODAY` earlier than the wall clock the
/// things done "today" carry later timestamps, which this puts back on today.
pub fn local_date(at: chrono::DateTime<Utc>, time_zone: &str, today: NaiveDate) -> NaiveDate {
    let day = match time_zone.parse::<chrono_tz::Tz>() {
        Ok(tz) => at.with_timezone(&tz).date_naive(),
        Err(_) => at.date_naive(),
    };
    day.min(today)
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

    #[test]
    fn instants_read_as_the_agency_local_day_never_after_today() {
        let at: chrono::DateTime<Utc> = "2026-03-02T03:30:00Z".parse().unwrap();
        let later: NaiveDate = "2026-12-31".parse().unwrap();
        // 21:30 the evening before in Chicago.
        assert_eq!(
            local_date(at, "America/Chicago", later).to_string(),
            "2026-03-01"
        );
        assert_eq!(local_date(at, "UTC", later).to_string(), "2026-03-02");
        let fixed: NaiveDate = "2026-01-10".parse().unwrap();
        assert_eq!(local_date(at, "UTC", fixed), fixed);
    }
}
