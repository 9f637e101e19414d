pub(crate) mod courses;
pub(crate) mod credential_types;
pub(crate) mod qualifications;
