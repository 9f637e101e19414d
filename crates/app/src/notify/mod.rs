//! Messages out: reminders and the outbox that delivers them.

pub mod reminders;
