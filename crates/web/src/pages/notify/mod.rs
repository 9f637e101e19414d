pub(crate) mod calendar;
pub(crate) mod outbox;
pub(crate) mod webhooks;
