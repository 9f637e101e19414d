pub(crate) mod dashboard;
pub(crate) mod qualified;
