//! The SCIM error document of RFC 7644 §3.12: an HTTP status (sent as a string in the
//! body) and, for 400s and 409s, a `scimType`.

use std::fmt;

use serde_json::{Value, json};
use warden_domain::RepoError;

/// The `urn:…:Error` schema.
pub const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

/// The detail error keywords of RFC 7644 §3.12, table 9.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScimType {
    InvalidFilter,
    TooMany,
    Uniqueness,
    Mutability,
    InvalidSyntax,
    InvalidPath,
    NoTarget,
    InvalidValue,
    InvalidVers,
    Sensitive,
}

impl ScimType {
    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidFilter => "invalidFilter",
            Self::TooMany => "tooMany",
            Self::Uniqueness => "uniqueness",
            Self::Mutability => "mutability",
            Self::InvalidSyntax => "invalidSyntax",
            Self::InvalidPath => "invalidPath",
            Self::NoTarget => "noTarget",
            Self::InvalidValue => "invalidValue",
            Self::InvalidVers => "invalidVers",
            Self::Sensitive => "sensitive",
        }
    }
}

/// A failed SCIM request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScimError {
    /// The HTTP status.
    pub status: u16,
    pub scim_type: Option<ScimType>,
    pub detail: String,
    /// What went wrong inside, for the server log only (never sent).
    pub internal: Option<String>,
}

/// The result of a SCIM operation.
pub type ScimResult<T> = Result<T, ScimError>;

impl ScimError {
    /// An error with a status and no `scimType`.
    pub fn new(status: u16, detail: impl Into<String>) -> Self {
        Self {
            status,
            scim_type: None,
            detail: detail.into(),
            internal: None,
        }
    }

    /// A 400 with a `scimType`.
    pub fn bad_request(scim_type: ScimType, detail: impl Into<String>) -> Self {
        Self {
            status: 400,
            scim_type: Some(scim_type),
            detail: detail.into(),
            internal: None,
        }
    }

    /// 400 `invalidFilter`.
    pub fn invalid_filter(detail: impl Into<String>) -> Self {
        Self::bad_request(ScimType::InvalidFilter, detail)
    }

    /// 400 `invalidValue`.
    pub fn invalid_value(detail: impl Into<String>) -> Self {
        Self::bad_request(ScimType::InvalidValue, detail)
    }

    /// 400 `invalidSyntax`.
    pub fn invalid_syntax(detail: impl Into<String>) -> Self {
        Self::bad_request(ScimType::InvalidSyntax, detail)
    }

    /// 400 `invalidPath`.
    pub fn invalid_path(detail: impl Into<String>) -> Self {
        Self::bad_request(ScimType::InvalidPath, detail)
    }

    /// 400 `noTarget`.
    pub fn no_target(detail: impl Into<String>) -> Self {
        Self::bad_request(ScimType::NoTarget, detail)
    }

    /// 400 `mutability`.
    pub fn mutability(detail: impl Into<String>) -> Self {
        Self::bad_request(ScimType::Mutability, detail)
    }

    /// 409 `uniqueness`.
    pub fn uniqueness(detail: impl Into<String>) -> Self {
        Self {
            status: 409,
            scim_type: Some(ScimType::Uniqueness),
            detail: detail.into(),
            internal: None,
        }
    }

    /// 404 for a resource that does not exist (or is not visible to SCIM).
    pub fn not_found(what: &str, id: &str) -> Self {
        Self::new(404, format!("{what} {id:?} not found."))
    }

    /// 401: missing or wrong SCIM key.
    pub fn unauthorized() -> Self {
        Self::new(
            401,
            "Authorization failed: send the SCIM API key as \"Authorization: Bearer <key>\".",
        )
    }

    /// 412: `If-Match` named another version.
    pub fn precondition_failed() -> Self {
        Self::new(
            412,
            "The resource changed since the version named in If-Match.",
        )
    }

    /// The response body.
    pub fn to_json(&self) -> Value {
        let mut body = json!({
            "schemas": [ERROR_SCHEMA],
            "status": self.status.to_string(),
            "detail": self.detail,
        });
        if let (Some(t), Value::Object(map)) = (self.scim_type, &mut body) {
            map.insert("scimType".into(), Value::String(t.as_str().into()));
        }
        body
    }
}

impl fmt::Display for ScimError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.status, self.detail)
    }
}

impl std::error::Error for ScimError {}

impl From<RepoError> for ScimError {
    fn from(e: RepoError) -> Self {
        match e {
            RepoError::NotFound => Self::new(404, "Resource not found."),
            RepoError::Conflict(what) => Self::uniqueness(format!(
                "A resource with the same unique attribute already exists ({what})."
            )),
            RepoError::MissingReference(what) => {
                Self::invalid_value(format!("A referenced resource does not exist ({what})."))
            }
            RepoError::Unavailable(detail) => Self {
                internal: Some(detail),
                ..Self::new(
                    503,
                    "The service is temporarily unavailable. Please try again.",
                )
            },
            RepoError::Internal(detail) => Self {
                internal: Some(detail),
                ..Self::new(500, "An internal server error occurred.")
            },
        }
    }
}
