pub mod groups;
pub mod members;
