//! The outbox every message goes through.

pub mod outbox;
