//! Certificate templates, certificates and their issuance facts.

pub mod badges;
pub mod certificates;
