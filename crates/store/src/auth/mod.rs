//! Agencies, logins, API tokens, sessions, sign-in attempts, one-time links and second factors.

pub mod identity;
pub mod links;
pub mod oidc;
pub mod two_factor;
pub mod users;
