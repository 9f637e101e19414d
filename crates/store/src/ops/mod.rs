//! The agency's settings, load-test seed data and the append-only audit log.

pub mod agency;
pub mod audit;
pub mod seed;
