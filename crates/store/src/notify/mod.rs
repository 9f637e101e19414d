//! The outbox every message goes through, webhook subscriptions and calendar feeds.

pub mod calendar;
pub mod outbox;
pub mod webhooks;
