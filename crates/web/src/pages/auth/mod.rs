pub(crate) mod account;
pub(crate) mod links;
pub(crate) mod login;
pub(crate) mod oidc;
pub(crate) mod session;
pub(crate) mod two_factor;
pub(crate) mod users;
