//! Credence's rules as plain functions over plain types.
//!
//! Nothing here does I/O or knows about SQL or HTTP (typed ids can decode from a column, with
//! the `sqlx` feature the store turns on): the store persists what these
//! functions decide, the app layer calls them, and nothing else re-implements a rule.

pub mod audit_chain;
pub mod bulk_update;
pub mod calendar;
pub mod classes;
pub mod credential_type;
pub mod dates;
pub mod exemption;
pub mod history;
pub mod hours;
pub mod ids;
pub mod numbering;
pub mod oidc;
pub mod passwords;
pub mod progress;
pub mod qualification;
pub mod reminders;
pub mod renewal;
pub mod role;
pub mod sign_in;
pub mod status;
pub mod status_list;
pub mod totp;
pub mod undo;
pub mod validation;
pub mod verification;
pub mod webhooks;

pub use credential_type::{ExpirationRounding, RenewalPolicy, TypeState};
pub use role::Role;
pub use status::{CredentialFacts, IssuanceFacts, PeriodFacts, Standing, Status};
pub use validation::{FieldError, Invalid};

/// A stored or sent value that names no variant of an enum: corrupt data, reported as such.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{value:?} is not a {kind}")]
pub struct UnknownValue {
    pub kind: &'static str,
    pub value: String,
}
