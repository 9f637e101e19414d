//! Training records, checklist sign-offs (one or a whole crew), external certificates
//! members submit, and classes.

pub mod classes;
pub mod records;
pub mod sign_offs;
pub mod submissions;
