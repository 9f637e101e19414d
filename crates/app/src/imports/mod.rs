//! Imports from spreadsheets, all or nothing.

pub mod csv;
pub mod exports;
