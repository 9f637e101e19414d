pub mod assignments;
pub mod credential;
pub mod exemptions;
pub mod operations;
pub mod renewal_plans;
pub mod renewals;
