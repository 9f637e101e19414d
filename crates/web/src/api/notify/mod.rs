pub mod calendar;
pub mod outbox;
pub mod webhooks;
