//! Which reminder is due for a date that is approaching: thresholds are days before the
//! date (default 90, 60, 30, 7; 0 is the day itself), plus one on the day after it, when it
//! has lapsed. At most one reminder per threshold, and when several thresholds have passed
//! unsent only the nearest goes. An agency sets its thresholds, and a credential type may
//! set its own, which win.

use chrono::NaiveDate;

pub const DEFAULT_OFFSETS: [u32; 4] = [90, 60, 30, 7];

/// The furthest threshold: two years before the date.
pub const MAX_OFFSET_DAYS: i64 = 730;
/// At most this many thresholds, so a typo cannot queue a reminder every day.
pub const MAX_OFFSETS: usize = 10;

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

/// Where a copy of a member's reminder goes: to their supervisor, when the agency copies
/// supervisors and the supervisor has an address that is not the member's own (compared
/// without case, as e-mails are everywhere), so one inbox never gets the same reminder twice.
/// A member without an address still has their supervisor told.
pub fn supervisor_copy_to<'a>(
    copy_supervisors: bool,
    member_email: Option<&str>,
    supervisor_email: Option<&'a str>,
) -> Option<&'a str> {
    let to = supervisor_email
        .map(str::trim)
        .filter(|e| copy_supervisors && !e.is_empty())?;
    match member_email {
        Some(own) if own.trim().eq_ignore_ascii_case(to) => None,
        _ => Some(to),
    }
}

/// The outbox key of a supervisor's copy: the member's reminder key (one per credential
/// and threshold) in the same family, so the copy too goes once whatever the number of
/// instances or passes, and a change of supervisor does not send it again.
pub fn supervisor_copy_key(member_key: &str) -> String {
    format!("{member_key}:supervisor")
}

/// Parses stored offsets ("90,60,30,7"), nearest first; blanks and junk are ignored.
pub fn parse_offsets(text: &str) -> Vec<u32> {
    let mut out: Vec<u32> = text
        .split(',')
        .filter_map(|t| t.trim().parse().ok())
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// Offsets as they are stored and shown: furthest first, comma-separated ("90,60,30,7").
pub fn format_offsets(offsets: &[u32]) -> String {
    let mut sorted = offsets.to_vec();
    sorted.sort_unstable_by(|a, b| b.cmp(a));
    sorted
        .iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

/// Checks thresholds someone typed: each 0 to [`MAX_OFFSET_DAYS`] days, none twice, at most
/// [`MAX_OFFSETS`]. Answers them furthest first, or what is wrong in words. An empty list is
/// allowed: no reminder before the date, only the one when it lapses.
pub fn check_offsets(days: &[i64]) -> Result<Vec<u32>, String> {
    if days.len() > MAX_OFFSETS {
        return Err(format!("must have at most {MAX_OFFSETS} thresholds"));
    }
    if let Some(d) = days.iter().find(|d| !(0..=MAX_OFFSET_DAYS).contains(*d)) {
        return Err(format!(
            "{d} is not a number of days from 0 to {MAX_OFFSET_DAYS}"
        ));
    }
    let mut out: Vec<u32> = Vec::with_capacity(days.len());
    for d in days {
        // In range above, so it fits.
        let d = u32::try_from(*d).unwrap_or(u32::MAX);
        if out.contains(&d) {
            return Err(format!("{d} is listed twice"));
        }
        out.push(d);
    }
    out.sort_unstable_by(|a, b| b.cmp(a));
    Ok(out)
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
    fn supervisors_get_one_copy_in_another_inbox() {
        let sup = Some("chief@station1.test");
        assert_eq!(
            supervisor_copy_to(true, Some("ava@station1.test"), sup),
            sup
        );
        assert_eq!(
            supervisor_copy_to(false, Some("ava@station1.test"), sup),
            None
        );
        assert_eq!(
            supervisor_copy_to(true, Some("ava@station1.test"), None),
            None
        );
        assert_eq!(
            supervisor_copy_to(true, Some("ava@x.test"), Some("  ")),
            None
        );
        assert_eq!(
            supervisor_copy_to(true, None, sup),
            sup,
            "the member has no address"
        );
        assert_eq!(
            supervisor_copy_to(true, Some("Chief@Station1.test"), sup),
            None,
            "the same inbox, whatever the case"
        );
        assert_eq!(
            supervisor_copy_key("exp:7:2026-03-31:d30"),
            "exp:7:2026-03-31:d30:supervisor"
        );
    }

    proptest::proptest! {
        #[test]
        fn a_copy_never_goes_to_the_members_own_inbox(
            copy in proptest::bool::ANY,
            member in proptest::option::of("[a-cA-C]{1,3}@x\\.test"),
            supervisor in proptest::option::of("[a-cA-C]{1,3}@x\\.test"),
        ) {
            let to = supervisor_copy_to(copy, member.as_deref(), supervisor.as_deref());
            if let Some(to) = to {
                proptest::prop_assert!(copy);
                proptest::prop_assert!(member.as_deref().is_none_or(|m| !m.eq_ignore_ascii_case(to)));
            } else if copy {
                let differ = member.as_deref().is_none_or(|m| !supervisor.as_deref().is_some_and(|s| s.eq_ignore_ascii_case(m)));
                proptest::prop_assert!(supervisor.is_none() || !differ);
            }
        }
    }

    #[test]
    fn offsets_parse() {
        assert_eq!(parse_offsets("90, 60,x,30,7,0,60"), vec![0, 7, 30, 60, 90]);
        assert_eq!(parse_offsets(""), Vec::<u32>::new());
        assert_eq!(format_offsets(&[7, 90, 30]), "90,30,7");
        assert_eq!(
            parse_offsets(&format_offsets(&DEFAULT_OFFSETS)),
            vec![7, 30, 60, 90]
        );
    }

    #[test]
    fn zero_is_the_day_itself() {
        let exp = d("2026-06-30");
        assert_eq!(
            due_threshold(exp, d("2026-06-30"), &[0, 30], 7),
            Some(Threshold::DaysBefore(0))
        );
        assert_eq!(
            due_threshold(exp, d("2026-06-29"), &[0, 30], 7),
            Some(Threshold::DaysBefore(30))
        );
    }

    #[test]
    fn typed_thresholds_are_checked() {
        assert_eq!(check_offsets(&[7, 90, 0, 30]), Ok(vec![90, 30, 7, 0]));
        assert_eq!(check_offsets(&[]), Ok(vec![]));
        assert!(check_offsets(&[-1]).is_err());
        assert!(check_offsets(&[731]).is_err());
        assert!(check_offsets(&[30, 30]).unwrap_err().contains("twice"));
        assert!(check_offsets(&[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]).is_err());
        assert_eq!(check_offsets(&[730]), Ok(vec![730]));
    }
}
