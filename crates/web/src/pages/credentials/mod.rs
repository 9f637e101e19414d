pub(crate) mod manage;
pub(crate) mod renewals;
