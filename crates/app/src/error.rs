//! The app layer's one error type; the web layer maps each variant to a problem+json status.

use credence_domain::Invalid;
use credence_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("authentication required")]
    Unauthenticated,
    #[error("{0}")]
    Forbidden(String),
    #[error("not found")]
    NotFound,
    #[error("{0}")]
    Conflict(String),
    #[error("the request has invalid fields")]
    Invalid(Invalid),
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    RateLimited(String),
    /// Something this server is not set up to do (signing badges without a
    /// key-encryption key): the operator's to fix, not the caller's.
    #[error("{0}")]
    Unavailable(String),
    /// A failure that is not the caller's: logged once, where the response is made (with
    /// [`AppError::chain`]), and never shown to the client.
    #[error("internal error: {message}")]
    Internal {
        message: String,
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
}

pub type Result<T, E = AppError> = std::result::Result<T, E>;

impl AppError {
    pub fn internal(message: impl Into<String>) -> AppError {
        AppError::Internal {
            message: message.into(),
            source: None,
        }
    }

    /// This error and every source under it, `outer: inner: innermost`, for the log.
    pub fn chain(&self) -> String {
        let mut text = self.to_string();
        let mut next = std::error::Error::source(self);
        while let Some(cause) = next {
            text.push_str(": ");
            text.push_str(&cause.to_string());
            next = cause.source();
        }
        text
    }

    pub fn invalid(field: &str, message: impl Into<String>) -> AppError {
        AppError::Invalid(Invalid::single(field, message))
    }

    /// The row exists but the caller's copy is stale.
    pub fn stale() -> AppError {
        AppError::Conflict("the resource was changed by someone else; reload it and apply your change to the new version".into())
    }
}

impl From<Invalid> for AppError {
    fn from(value: Invalid) -> Self {
        AppError::Invalid(value)
    }
}

/// Unique and check constraints users can run into, and the field each one is about. This is
/// the one place a database constraint becomes a client error, so there is no racy
/// check-then-insert anywhere.
const CONSTRAINT_FIELDS: &[(&str, &str, &str)] = &[
    (
        "agencies_slug_key",
        "slug",
        "is already taken by another agency",
    ),
    ("users_email_key", "email", "already has a login"),
    (
        "users_email_folded_key",
        "email",
        "already has a login (e-mail addresses are compared without regard to case)",
    ),
    (
        "members_employee_number_key",
        "employee_number",
        "is already used by another member of this agency",
    ),
    (
        "members_email_key",
        "email",
        "is already used by another member of this agency",
    ),
    (
        "agency_groups_name_key",
        "name",
        "is already the name of another group",
    ),
    (
        "courses_code_key",
        "code",
        "is already the code of another course",
    ),
    (
        "credential_types_code_key",
        "code",
        "is already the code of another credential type",
    ),
    (
        "certificate_templates_name_key",
        "name",
        "is already the name of another template",
    ),
    (
        "issuances_number_key",
        "credential_number",
        "is already used by another credential of this type",
    ),
    (
        "credentials_member_type_key",
        "member_id",
        "already holds a credential of this type",
    ),
    (
        "qualifications_name_key",
        "name",
        "is already the name of another qualification",
    ),
];

impl From<StoreError> for AppError {
    fn from(err: StoreError) -> Self {
        if let Some(name) = err.constraint() {
            if let Some((_, field, message)) = CONSTRAINT_FIELDS.iter().find(|(c, _, _)| *c == name)
            {
                return AppError::invalid(field, *message);
            }
        }
        AppError::Internal {
            message: "the database failed".into(),
            source: Some(Box::new(err)),
        }
    }
}
