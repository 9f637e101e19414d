pub(crate) mod exemptions;
pub(crate) mod manage;
pub(crate) mod operations;
pub(crate) mod renewals;
