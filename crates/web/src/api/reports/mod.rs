pub mod compliance;
pub mod hours;
pub mod qualified;
