//! Agencies, logins, API tokens, sessions and sign-in attempts.

pub mod identity;
