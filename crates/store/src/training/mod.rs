//! Training records, sign-offs, uploaded files, external submissions, and classes.

pub mod classes;
pub mod records;
pub mod submissions;
