//! Authentication: API tokens and logins.

pub mod tokens;
pub mod users;
