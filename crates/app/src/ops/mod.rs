//! Operating an agency: the demo, load-test seed data, and the audit log.

pub mod audit;
pub mod demo;
pub mod seed;
