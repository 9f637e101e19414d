pub(crate) mod classes;
pub(crate) mod submissions;
