pub mod agency;
pub mod audit;
