//! Typed ids and their public form (`mem_42`) live in the domain crate; the app and web
//! crates name them through here.

pub use credence_domain::ids::*;
