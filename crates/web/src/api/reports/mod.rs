pub mod compliance;
pub mod hours;
pub mod qualified;
pub mod readiness;
