//! Load-test seed data and the append-only audit log.

pub mod audit;
pub mod seed;
