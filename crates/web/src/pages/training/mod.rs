pub(crate) mod submissions;
