pub mod classes;
pub mod records;
