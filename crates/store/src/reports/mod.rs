//! Compliance counts and lists on stored status, and who was qualified on a day.

pub mod compliance;
pub mod qualified;
