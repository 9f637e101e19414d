//! Agencies, logins, API tokens, sessions, sign-in attempts and one-time links.

pub mod identity;
pub mod links;
pub mod users;
