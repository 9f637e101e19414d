//! Compliance counts and lists on stored status.

pub mod compliance;
