//! What can be held and trained for: courses and credential types with their requirements.

pub mod courses;
pub mod credential_types;
pub mod qualifications;
pub mod templates;
