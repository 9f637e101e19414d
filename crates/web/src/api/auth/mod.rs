//! Authentication: API tokens and logins.

pub mod tokens;
pub mod two_factor;
pub mod users;
