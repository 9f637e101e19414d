pub(crate) mod certificates;
