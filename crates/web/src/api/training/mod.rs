pub mod classes;
pub mod records;
pub mod sign_offs;
