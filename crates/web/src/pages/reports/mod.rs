pub(crate) mod dashboard;
pub(crate) mod hours;
pub(crate) mod qualified;
pub(crate) mod readiness;
