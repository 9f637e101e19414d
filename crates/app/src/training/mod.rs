//! Training records, checklist sign-offs and external certificates members submit.

pub mod records;
pub mod submissions;
