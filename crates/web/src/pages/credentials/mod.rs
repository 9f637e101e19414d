pub(crate) mod manage;
pub(crate) mod operations;
pub(crate) mod renewals;
