pub(crate) mod login;
pub(crate) mod session;
pub(crate) mod users;
