//! Compliance counts and lists on stored status, who was qualified on a day, and training
//! hours.

pub mod compliance;
pub mod hours;
pub mod qualified;
pub mod readiness;
