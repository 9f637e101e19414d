//! Authentication: API tokens.

pub mod tokens;
