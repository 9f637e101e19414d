pub mod compliance;
