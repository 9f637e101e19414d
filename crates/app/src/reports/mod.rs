//! Reports: the compliance summary, who was qualified on a day, and the dashboard numbers.

pub mod compliance;
pub mod qualified;
pub mod summary;
