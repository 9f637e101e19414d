//! When a password may be tried: throttling that slows guessing without letting a stranger
//! lock anyone out.
//!
//! | counted in the last [`WINDOW_MINUTES`] | rule |
//! |---|---|
//! | failures for this account from this address | the first [`FREE_FAILURES`] are free; then each try waits 2^(n − FREE_FAILURES) s after the last failure, up to [`MAX_DELAY_SECONDS`] |
//! | failures from this address, any account | at most [`ADDRESS_LIMIT`] (password spraying) |
//! | failures for this account, any address | at most [`ACCOUNT_LIMIT`] (guessing from many addresses) |
//!
//! The delay is per account *and* address, so five wrong passwords from a stranger slow the
//! stranger, not the owner signing in from elsewhere. Attempts in flight count as failures
//! until their outcome is known, which makes the check atomic against parallel requests.

use chrono::{DateTime, Duration, Utc};

pub const WINDOW_MINUTES: i64 = 15;
pub const FREE_FAILURES: i64 = 5;
pub const MAX_DELAY_SECONDS: i64 = 15 * 60;
pub const ADDRESS_LIMIT: i64 = 30;
pub const ACCOUNT_LIMIT: i64 = 100;

/// Recent failed (or still unresolved) attempts, counted in the last [`WINDOW_MINUTES`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Attempts {
    /// For this account from this address.
    pub pair: i64,
    /// The latest of those.
    pub pair_last: Option<DateTime<Utc>>,
    /// From this address, any account.
    pub address: i64,
    /// For this account, any address.
    pub account: i64,
}

/// Whether a sign-in may be tried now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gate {
    Open,
    /// Try again after this many seconds.
    Wait(i64),
}

/// The delay before the next try after `failures` failures for one account and address.
pub fn delay_after(failures: i64) -> Duration {
    if failures < FREE_FAILURES {
        return Duration::zero();
    }
    let exponent = (failures - FREE_FAILURES).min(20) as u32;
    Duration::seconds(2i64.pow(exponent).min(MAX_DELAY_SECONDS))
}

pub fn gate(attempts: &Attempts, now: DateTime<Utc>) -> Gate {
    let window = Duration::minutes(WINDOW_MINUTES).num_seconds();
    if attempts.address >= ADDRESS_LIMIT || attempts.account >= ACCOUNT_LIMIT {
        return Gate::Wait(window);
    }
    let delay = delay_after(attempts.pair);
    match attempts.pair_last {
        Some(last) if delay > Duration::zero() && last + delay > now => {
            Gate::Wait((last + delay - now).num_seconds().max(1))
        }
        _ => Gate::Open,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + seconds, 0).unwrap()
    }

    #[test]
    fn five_failures_are_free_then_the_delay_doubles() {
        let tried = |pair| Attempts {
            pair,
            pair_last: Some(at(0)),
            ..Default::default()
        };
        assert_eq!(gate(&tried(4), at(0)), Gate::Open);
        assert_eq!(gate(&tried(5), at(0)), Gate::Wait(1));
        assert_eq!(gate(&tried(5), at(1)), Gate::Open);
        assert_eq!(gate(&tried(8), at(0)), Gate::Wait(8));
        assert_eq!(gate(&tried(40), at(0)), Gate::Wait(MAX_DELAY_SECONDS));
    }

    #[test]
    fn spraying_from_one_address_or_at_one_account_is_stopped() {
        let sprayed = Attempts {
            address: ADDRESS_LIMIT,
            ..Default::default()
        };
        assert!(matches!(gate(&sprayed, at(0)), Gate::Wait(_)));
        let besieged = Attempts {
            account: ACCOUNT_LIMIT,
            ..Default::default()
        };
        assert!(matches!(gate(&besieged, at(0)), Gate::Wait(_)));
    }

    proptest! {
        /// A stranger's failures never close the gate for the owner at another address,
        /// short of the account-wide limit.
        #[test]
        fn strangers_cannot_lock_the_owner_out(stranger in 0i64..ACCOUNT_LIMIT) {
            let owner = Attempts { pair: 0, pair_last: None, address: 0, account: stranger };
            prop_assert_eq!(gate(&owner, at(0)), Gate::Open);
        }

        /// The delay never shrinks as failures grow, and never exceeds the cap.
        #[test]
        fn the_delay_grows_and_is_capped(n in 0i64..1000) {
            prop_assert!(delay_after(n + 1) >= delay_after(n));
            prop_assert!(delay_after(n) <= Duration::seconds(MAX_DELAY_SECONDS));
        }
    }
}
