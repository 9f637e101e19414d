//! HTTP integration tests: every endpoint, on SQLite and PostgreSQL, each test on a database
//! of its own.

mod fixtures;
mod harness;

mod agency_settings;
mod audit;
mod authorization;
mod bad_input;
mod badges;
mod calendar;
mod ce_rules;
mod certificate_renewals;
mod certificates;
mod class_pages;
mod classes;
mod consistency;
mod courses;
mod credential_types;
mod daily_jobs;
mod exemptions;
mod exports;
mod groups;
mod headers;
mod imports;
mod keeping_current;
mod lifecycle;
mod member_picker;
mod members;
mod oidc;
mod ops;
mod people_pages;
mod qualified;
mod readiness;
mod reminder_copies;
mod separation_of_duties;
mod server;
mod sign_in;
mod standing;
mod tokens;
mod training_delivery;
mod two_factor;
mod users;
mod verify_limits;
mod web_pages;
mod webhooks;
