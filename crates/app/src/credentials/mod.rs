//! Credentials: assign, issue, renew, renewal plans, bulk operations and their undo, the shared lifecycle engine, the daily sweep, and reading them.

pub mod assign;
pub mod exemptions;
pub mod issue;
pub(crate) mod lifecycle;
pub mod operations;
pub mod renew;
pub mod renewal_plan;
pub mod revoke;
pub mod sweep;
pub mod views;
