pub(crate) mod badges;
pub(crate) mod certificates;
