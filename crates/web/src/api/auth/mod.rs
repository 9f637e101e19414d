//! Authentication: API tokens, logins and the agency's identity provider.

pub mod oidc;
pub mod tokens;
pub mod two_factor;
pub mod users;
