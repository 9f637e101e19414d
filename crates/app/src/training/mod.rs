//! Training records, checklist sign-offs, external certificates members submit, and classes.

pub mod classes;
pub mod records;
pub mod submissions;
