pub(crate) mod credential_types;
