pub mod groups;
pub mod me;
pub mod member_form;
pub mod members;
pub mod picker;
