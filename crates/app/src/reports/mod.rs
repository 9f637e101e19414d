//! Reports: the compliance summary and the dashboard numbers.

pub mod compliance;
pub mod summary;
