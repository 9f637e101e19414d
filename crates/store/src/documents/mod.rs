//! Certificate templates, certificates and their issuance facts.

pub mod certificates;
