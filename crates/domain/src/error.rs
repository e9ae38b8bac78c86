//! The domain's error type. `warden-http` maps each variant to a status code and
//! Coder's `{message, detail, validations}` body; nothing below HTTP picks a status.

use thiserror::Error;

/// A field-level validation failure, rendered as one entry of Coder's `validations`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// The JSON field (or query parameter) at fault.
    pub field: String,
    /// What is wrong with it.
    pub detail: String,
}

impl FieldError {
    /// A validation failure on `field`.
    pub fn new(field: impl Into<String>, detail: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            detail: detail.into(),
        }
    }
}

/// Everything a use case can refuse or fail with.
#[derive(Debug, Error)]
pub enum DomainError {
    /// No valid credentials (401).
    #[error("{message}")]
    Unauthorized { message: String, detail: String },
    /// Authenticated but not allowed, and the object may be known to exist (403).
    #[error("{message}")]
    Forbidden { message: String, detail: String },
    /// Missing, or invisible to the caller (404: Coder hides what you may not read).
    #[error("{message}")]
    NotFound { message: String },
    /// The request is well-formed but its content is invalid (400).
    #[error("{message}")]
    Invalid {
        message: String,
        detail: String,
        validations: Vec<FieldError>,
    },
    /// The change conflicts with existing state, such as a taken name (409).
    #[error("{message}")]
    Conflict {
        message: String,
        detail: String,
        validations: Vec<FieldError>,
    },
    /// An outside party Warden acts for, such as the identity provider, could not be
    /// reached or answered nonsense (502). Both texts are shown: they name the party.
    #[error("{message}: {detail}")]
    Upstream { message: String, detail: String },
    /// A dependency (the database) is unreachable or overloaded (503).
    #[error("service unavailable: {0}")]
    Unavailable(String),
    /// A bug or an unexpected failure (500). The detail is logged, not shown.
    #[error("internal error: {0}")]
    Internal(String),
}

impl DomainError {
    /// 401 with Coder's wording for an absent or bad credential.
    pub fn unauthorized(message: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::Unauthorized {
            message: message.into(),
            detail: detail.into(),
        }
    }

    /// 403 with Coder's standard message and detail.
    pub fn forbidden() -> Self {
        Self::Forbidden {
            message: "Forbidden.".into(),
            detail: "You don't have permission to view this content. If you believe this is a mistake, please contact your administrator or try signing in with different credentials.".into(),
        }
    }

    /// 403 with a message of its own.
    pub fn forbidden_msg(message: impl Into<String>) -> Self {
        Self::Forbidden {
            message: message.into(),
            detail: String::new(),
        }
    }

    /// 404 with Coder's "not found or no access" message.
    pub fn not_found() -> Self {
        Self::NotFound {
            message: "Resource not found or you do not have access to this resource".into(),
        }
    }

    /// 404 with a specific message.
    pub fn not_found_msg(message: impl Into<String>) -> Self {
        Self::NotFound {
            message: message.into(),
        }
    }

    /// 400 with one invalid field.
    pub fn invalid_field(
        message: impl Into<String>,
        field: impl Into<String>,
        detail: impl Into<String>,
    ) -> Self {
        let detail = detail.into();
        Self::Invalid {
            message: message.into(),
            detail: String::new(),
            validations: vec![FieldError::new(field, detail)],
        }
    }

    /// 400 `Validation failed.` listing every invalid field, as Coder's request
    /// validator reports them.
    pub fn validation(validations: Vec<FieldError>) -> Self {
        Self::Invalid {
            message: "Validation failed.".into(),
            detail: String::new(),
            validations,
        }
    }

    /// 400 without a specific field.
    pub fn bad_request(message: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::Invalid {
            message: message.into(),
            detail: detail.into(),
            validations: Vec::new(),
        }
    }

    /// 409.
    pub fn conflict(message: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::Conflict {
            message: message.into(),
            detail: detail.into(),
            validations: Vec::new(),
        }
    }
}

/// What a repository adapter can fail with; the services turn these into
/// [`DomainError`]s with context (which name was taken, which row was missing).
#[derive(Debug, Error)]
pub enum RepoError {
    /// The row to read or change does not exist.
    #[error("not found")]
    NotFound,
    /// A uniqueness constraint was violated; the payload names the constraint.
    #[error("conflict on {0}")]
    Conflict(String),
    /// A referenced row does not exist (foreign key).
    #[error("missing reference: {0}")]
    MissingReference(String),
    /// The database could not be reached or timed out.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// Anything else; a bug or corrupt data.
    #[error("database error: {0}")]
    Internal(String),
}

impl From<RepoError> for DomainError {
    fn from(e: RepoError) -> Self {
        match e {
            RepoError::NotFound => DomainError::not_found(),
            RepoError::Conflict(what) => DomainError::conflict(
                "A resource with these details already exists.",
                format!("conflict on {what}"),
            ),
            RepoError::MissingReference(what) => {
                DomainError::bad_request("A referenced resource does not exist.", what)
            }
            RepoError::Unavailable(d) => DomainError::Unavailable(d),
            RepoError::Internal(d) => DomainError::Internal(d),
        }
    }
}

/// The result type of every use case.
pub type DomainResult<T> = Result<T, DomainError>;
