pub(crate) mod dashboard;
