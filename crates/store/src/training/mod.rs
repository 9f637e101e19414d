//! Training records, sign-offs, uploaded files and external submissions.

pub mod records;
pub mod submissions;
