pub(crate) mod login;
pub(crate) mod session;
