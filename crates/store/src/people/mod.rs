//! Members, groups and memberships.

pub mod groups;
pub mod members;
