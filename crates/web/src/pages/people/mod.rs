pub(crate) mod me;
pub(crate) mod members;
