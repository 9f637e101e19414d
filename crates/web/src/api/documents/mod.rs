pub mod agency_logo;
pub mod badges;
pub mod certificates;
