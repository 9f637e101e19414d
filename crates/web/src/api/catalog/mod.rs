pub mod courses;
pub mod credential_types;
