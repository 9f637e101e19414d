//! Operating an agency: its settings, the demo, load-test seed data, and the audit log.

pub mod agency;
pub mod audit;
pub mod demo;
pub mod seed;
