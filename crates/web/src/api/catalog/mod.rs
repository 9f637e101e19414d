pub mod courses;
pub mod credential_types;
pub mod qualifications;
