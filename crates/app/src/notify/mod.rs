//! Messages out: reminders, webhooks and the outbox that delivers them, and calendar feeds.

pub mod calendar;
pub mod reminders;
pub mod webhooks;
