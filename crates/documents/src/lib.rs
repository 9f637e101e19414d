//! Certificates: Typst templates rendered to PDF.
//!
//! Typst runs in process here, but the service never calls it directly: [`worker`] runs
//! each batch in a child process with a memory limit and a deadline, because a template is
//! a program an administrator wrote and may loop or allocate without end. The child's side
//! is [`worker::serve`]; the parent's is [`worker::Renderer`].

pub mod defaults;
pub mod fair;
pub mod job;
pub mod render;
pub mod worker;
mod world;

pub use fair::Tenant;
pub use job::{Document, Job, JobFile, Output, Template, TemplateError};
pub use worker::{RenderError, Renderer};
