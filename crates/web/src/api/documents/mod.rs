pub mod agency_logo;
pub mod certificates;
