//! Certificates and their templates, member transcripts, supporting documents, the agency
//! logo, where files are kept, and Open Badges with their status lists.

pub mod agency_logo;
pub mod badges;
pub mod certificate_zip;
pub mod certificates;
pub mod files;
pub mod image_size;
pub mod supporting;
pub mod templates;
pub mod transcripts;
