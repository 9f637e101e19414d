//! What a render is asked to do and what it answers; the wire format between the service
//! and its render workers.

use serde::{Deserialize, Serialize};

/// One template's Typst source. It must define `certificate(data)`, a function returning
/// the content of one certificate (its own `set page` rules included).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Template {
    pub source: String,
}

/// One certificate to render: which template of the job, and its data.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Document {
    pub template: usize,
    pub data: serde_json::Value,
}

/// A batch: one PDF per document, or (`merge`) one PDF holding every document in order.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Job {
    pub templates: Vec<Template>,
    pub documents: Vec<Document>,
    #[serde(default)]
    pub merge: bool,
    /// Images the documents' data names by path (an agency's logo), each once per batch.
    #[serde(default)]
    pub files: Vec<JobFile>,
}

/// A file templates can load by its absolute virtual path, e.g. `image("/logo-7.png")`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JobFile {
    pub path: String,
    pub bytes: Vec<u8>,
}

/// Why a template could not produce a document, pointing into the template's source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, thiserror::Error)]
#[error("{}", self.describe())]
pub struct TemplateError {
    pub message: String,
    /// 1-based line and column in the template, when the error lies in it.
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub hints: Vec<String>,
}

impl TemplateError {
    pub fn new(message: impl Into<String>) -> TemplateError {
        TemplateError {
            message: message.into(),
            line: None,
            column: None,
            hints: Vec::new(),
        }
    }

    /// "line 3, column 7: unknown variable: nmae (hint: …)".
    pub fn describe(&self) -> String {
        let mut text = match (self.line, self.column) {
            (Some(l), Some(c)) => format!("line {l}, column {c}: {}", self.message),
            (Some(l), None) => format!("line {l}: {}", self.message),
            _ => self.message.clone(),
        };
        for hint in &self.hints {
            text.push_str(&format!(" (hint: {hint})"));
        }
        text
    }
}

/// The result for one document (or for the merged file).
pub type Output = Result<Vec<u8>, TemplateError>;
