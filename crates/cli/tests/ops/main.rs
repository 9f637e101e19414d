//! Operations tests: the real `credence` binary run as servers, with the services it talks
//! to (S3-compatible storage, SMTP, PostgreSQL) started here. docs/operations.md says what
//! they measured and how to run them.

mod abandoned_requests;
mod files_s3;
mod kills;
mod seed_indexes;
mod support;
mod two_instances;
