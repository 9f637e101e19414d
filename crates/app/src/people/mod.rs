//! People: members, groups and their memberships.

pub mod groups;
pub mod members;
pub mod profile;
