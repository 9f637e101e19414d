//! Reports: the compliance summary, who was qualified on a day, training hours, and the
//! dashboard numbers.

pub mod compliance;
pub mod hours;
pub mod qualified;
pub mod readiness;
pub mod summary;
