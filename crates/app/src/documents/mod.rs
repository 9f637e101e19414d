//! Certificates and their templates, member transcripts, supporting documents, the agency
//! logo, and where files are kept.

pub mod agency_logo;
pub mod certificates;
pub mod files;
pub mod image_size;
pub mod supporting;
pub mod templates;
pub mod transcripts;
