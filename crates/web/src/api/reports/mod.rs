pub mod compliance;
pub mod qualified;
