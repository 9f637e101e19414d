//! Date rules: expirations, the renewal period an issuance opens, and the window in which
//! training counts toward a period.

use chrono::{Datelike, Days, Months, NaiveDate};

use crate::credential_type::ExpirationRounding;

/// Expiration = issue date + validity months, then rounded (NREMT-style cards expire on the
/// last day of a month or year). `None` when the type never expires (no validity).
pub fn expiration_date(
    issue_date: NaiveDate,
    validity_months: Option<u32>,
    rounding: ExpirationRounding,
) -> Option<NaiveDate> {
    let raw = issue_date.checked_add_months(Months::new(validity_months?))?;
    Some(match rounding {
        ExpirationRounding::None => raw,
        ExpirationRounding::EndOfMonth => end_of_month(raw),
        ExpirationRounding::EndOfYear => NaiveDate::from_ymd_opt(raw.year(), 12, 31)?,
    })
}

fn end_of_month(date: NaiveDate) -> NaiveDate {
    let first = date.with_day(1).expect("day 1 exists");
    first
        .checked_add_months(Months::new(1))
        .and_then(|next| next.pred_opt())
        .unwrap_or(date)
}

/// The renewal period an issuance opens, as `(start, end)`: from the issue date, or
/// `window_days` before expiration (never before the issue date), ending at expiration.
/// A credential that never expires has no renewal period.
pub fn renewal_period(
    issue_date: NaiveDate,
    expiration_date: Option<NaiveDate>,
    renewal_window_days: Option<u32>,
) -> Option<(NaiveDate, NaiveDate)> {
    let end = expiration_date?;
    let start = match renewal_window_days {
        None => issue_date,
        Some(days) => end
            .checked_sub_days(Days::new(u64::from(days)))
            .unwrap_or(issue_date)
            .max(issue_date),
    };
    Some((start.min(end), end))
}

/// The inclusive range of completion dates that count toward a period: from
/// `start − grace_period_days` (but, for a renewal period, only after the issue date that
/// opened it, so no record earns two issuances) through `end`.
pub fn counting_window(
    start: NaiveDate,
    end: NaiveDate,
    grace_period_days: u32,
    opened_by_issue_on: Option<NaiveDate>,
) -> (NaiveDate, NaiveDate) {
    let mut from = start
        .checked_sub_days(Days::new(u64::from(grace_period_days)))
        .unwrap_or(start);
    if let Some(issued) = opened_by_issue_on {
        from = from.max(issued.succ_opt().unwrap_or(issued));
    }
    (from, end)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn expiration_adds_validity_and_rounds() {
        let issue = d("2026-03-14");
        assert_eq!(
            expiration_date(issue, Some(24), ExpirationRounding::None),
            Some(d("2028-03-14"))
        );
        assert_eq!(
            expiration_date(issue, Some(24), ExpirationRounding::EndOfMonth),
            Some(d("2028-03-31"))
        );
        assert_eq!(
            expiration_date(issue, Some(24), ExpirationRounding::EndOfYear),
            Some(d("2028-12-31"))
        );
        assert_eq!(
            expiration_date(d("2026-01-31"), Some(1), ExpirationRounding::None),
            Some(d("2026-02-28"))
        );
        assert_eq!(
            expiration_date(issue, None, ExpirationRounding::EndOfYear),
            None
        );
    }

    #[test]
    fn renewal_period_from_issue_or_window() {
        let issue = d("2026-03-14");
        let exp = Some(d("2028-03-31"));
        assert_eq!(
            renewal_period(issue, exp, None),
            Some((issue, d("2028-03-31")))
        );
        assert_eq!(
            renewal_period(issue, exp, Some(90)),
            Some((d("2028-01-01"), d("2028-03-31")))
        );
        assert_eq!(
            renewal_period(issue, exp, Some(5000)),
            Some((issue, d("2028-03-31")))
        );
        assert_eq!(renewal_period(issue, None, Some(90)), None);
    }

    #[test]
    fn seed_003_grace_period_counts_earlier_completions() {
        // Bob completes Safety 101; five days later the certification is assigned to him.
        let assigned = d("2026-05-06");
        let completed = d("2026-05-01");
        let (from, _) = counting_window(assigned, d("2026-12-31"), 0, None);
        assert!(completed < from, "with no grace he must complete it again");
        let (from, _) = counting_window(assigned, d("2026-12-31"), 5, None);
        assert!(completed >= from, "a 5-day grace period counts it");
    }

    #[test]
    fn renewal_window_excludes_records_that_earned_the_issuance() {
        let (from, to) =
            counting_window(d("2026-01-01"), d("2027-12-31"), 30, Some(d("2026-01-10")));
        assert_eq!((from, to), (d("2026-01-11"), d("2027-12-31")));
    }

    proptest! {
        #[test]
        fn expiration_is_never_before_issue(days in 0i64..20000, months in 0u32..240, r in 0usize..3) {
            let issue = d("1990-01-01") + chrono::Duration::days(days);
            let rounding = [ExpirationRounding::None, ExpirationRounding::EndOfMonth, ExpirationRounding::EndOfYear][r];
            let exp = expiration_date(issue, Some(months), rounding).unwrap();
            prop_assert!(exp >= issue);
            let (start, end) = renewal_period(issue, Some(exp), Some(months * 3)).unwrap();
            prop_assert!(issue <= start && start <= end && end == exp);
        }
    }
}
