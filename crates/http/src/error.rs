//! The one place an HTTP status is chosen: domain errors become Coder's
//! `{"message", "detail", "validations": [{"field", "detail"}]}` responses.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use utoipa::ToSchema;
use warden_domain::{DomainError, FieldError};

/// Coder's `codersdk.Response`: every error body, and some success messages.
#[derive(Debug, Clone, Serialize, serde::Deserialize, ToSchema, PartialEq, Eq)]
pub struct Response {
    pub message: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub detail: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub validations: Vec<ValidationError>,
}

/// One invalid field.
#[derive(Debug, Clone, Serialize, serde::Deserialize, ToSchema, PartialEq, Eq)]
pub struct ValidationError {
    pub field: String,
    pub detail: String,
}

impl Response {
    /// A body with only a message.
    pub fn message(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            detail: String::new(),
            validations: Vec::new(),
        }
    }
}

/// An error on its way to the client.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    body: Response,
}

impl ApiError {
    /// What the client is told.
    pub fn body(&self) -> &Response {
        &self.body
    }

    /// An error with a status and a body.
    pub fn new(status: StatusCode, message: impl Into<String>, detail: impl Into<String>) -> Self {
        Self {
            status,
            body: Response {
                message: message.into(),
                detail: detail.into(),
                validations: Vec::new(),
            },
        }
    }

    /// 400 naming one field.
    pub fn bad_field(
        message: impl Into<String>,
        field: impl Into<String>,
        detail: impl Into<String>,
    ) -> Self {
        let detail = detail.into();
        Self {
            status: StatusCode::BAD_REQUEST,
            body: Response {
                message: message.into(),
                detail: detail.clone(),
                validations: vec![ValidationError {
                    field: field.into(),
                    detail,
                }],
            },
        }
    }

    /// The status this error is sent with.
    pub fn status(&self) -> StatusCode {
        self.status
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.status, self.body.message)
    }
}

fn validations(fields: Vec<FieldError>) -> Vec<ValidationError> {
    fields
        .into_iter()
        .map(|f| ValidationError {
            field: f.field,
            detail: f.detail,
        })
        .collect()
}

impl From<DomainError> for ApiError {
    fn from(e: DomainError) -> Self {
        let (status, body) = match e {
            DomainError::Unauthorized { message, detail } => (
                StatusCode::UNAUTHORIZED,
                Response {
                    message,
                    detail,
                    validations: Vec::new(),
                },
            ),
            DomainError::Forbidden { message, detail } => (
                StatusCode::FORBIDDEN,
                Response {
                    message,
                    detail,
                    validations: Vec::new(),
                },
            ),
            DomainError::NotFound { message } => {
                (StatusCode::NOT_FOUND, Response::message(message))
            }
            DomainError::Invalid {
                message,
                detail,
                validations: v,
            } => (
                StatusCode::BAD_REQUEST,
                Response {
                    message,
                    detail,
                    validations: validations(v),
                },
            ),
            DomainError::Conflict {
                message,
                detail,
                validations: v,
            } => (
                StatusCode::CONFLICT,
                Response {
                    message,
                    detail,
                    validations: validations(v),
                },
            ),
            DomainError::Upstream { message, detail } => {
                tracing::warn!(%message, %detail, "outside party failed");
                (
                    StatusCode::BAD_GATEWAY,
                    Response {
                        message,
                        detail,
                        validations: Vec::new(),
                    },
                )
            }
            DomainError::Unavailable(detail) => {
                tracing::warn!(%detail, "dependency unavailable");
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    Response {
                        message: "The service is temporarily unavailable. Please try again.".into(),
                        detail: String::new(),
                        validations: Vec::new(),
                    },
                )
            }
            DomainError::Internal(detail) => {
                tracing::error!(%detail, "internal error");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    Response::message("An internal server error occurred."),
                )
            }
        };
        Self { status, body }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status);
        if self.status == StatusCode::UNAUTHORIZED {
            response.insert_header((
                "WWW-Authenticate",
                "Bearer realm=\"coder\", error=\"invalid_token\"",
            ));
        }
        response.json(&self.body)
    }
}

/// The result type of handlers.
pub type ApiResult<T> = Result<T, ApiError>;

/// A SCIM request's failure: RFC 7644's error document, or Coder's 404 when SCIM is
/// not configured.
#[derive(Debug)]
pub enum ScimApiError {
    Scim(warden_scim::ScimError),
    Coder(ApiError),
}

impl From<warden_scim::ScimError> for ScimApiError {
    fn from(e: warden_scim::ScimError) -> Self {
        Self::Scim(e)
    }
}

impl std::fmt::Display for ScimApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Scim(e) => write!(f, "{e}"),
            Self::Coder(e) => write!(f, "{e}"),
        }
    }
}

/// The media type of every SCIM body.
pub const SCIM_CONTENT_TYPE: &str = "application/scim+json";

impl ResponseError for ScimApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::Scim(e) => {
                StatusCode::from_u16(e.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
            }
            Self::Coder(e) => e.status(),
        }
    }

    fn error_response(&self) -> HttpResponse {
        let e = match self {
            Self::Coder(e) => return e.error_response(),
            Self::Scim(e) => e,
        };
        let status = self.status_code();
        if let Some(internal) = &e.internal {
            tracing::error!(status = status.as_u16(), %internal, "SCIM request failed");
        }
        let mut response = HttpResponse::build(status);
        if status == StatusCode::UNAUTHORIZED {
            response.insert_header(("WWW-Authenticate", "Bearer realm=\"scim\""));
        }
        response
            .content_type(SCIM_CONTENT_TYPE)
            .body(e.to_json().to_string())
    }
}

/// An RFC 6749 §5.2 error body: `{"error", "error_description"}`.
#[derive(Debug, Clone, Serialize, serde::Deserialize, ToSchema, PartialEq, Eq)]
pub struct OAuth2ErrorBody {
    pub error: String,
    pub error_description: String,
}

/// An OAuth2 protocol error on its way to the client. `invalid_client` is a 401 with
/// `WWW-Authenticate` (RFC 6749 §5.2), server-side failures are 500/503, everything
/// else a 400; none of it may be cached.
#[derive(Debug)]
pub struct OAuth2ApiError(pub warden_oauth2_provider::OAuth2Error);

impl From<warden_oauth2_provider::OAuth2Error> for OAuth2ApiError {
    fn from(e: warden_oauth2_provider::OAuth2Error) -> Self {
        Self(e)
    }
}

impl std::fmt::Display for OAuth2ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl ResponseError for OAuth2ApiError {
    fn status_code(&self) -> StatusCode {
        use warden_oauth2_provider::ErrorCode;
        match self.0.code {
            ErrorCode::InvalidClient | ErrorCode::InvalidToken => StatusCode::UNAUTHORIZED,
            ErrorCode::ServerError => StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::TemporarilyUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::BAD_REQUEST,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        let mut response = HttpResponse::build(status);
        response
            .insert_header(("Cache-Control", "no-store"))
            .insert_header(("Pragma", "no-cache"));
        match self.0.code {
            // RFC 6750 §3: the registration access token of RFC 7592 is a bearer token.
            warden_oauth2_provider::ErrorCode::InvalidToken => {
                response.insert_header((
                    "WWW-Authenticate",
                    "Bearer realm=\"warden\", error=\"invalid_token\"",
                ));
            }
            _ if status == StatusCode::UNAUTHORIZED => {
                response.insert_header(("WWW-Authenticate", "Basic realm=\"warden\""));
            }
            _ => {}
        }
        let description = if status == StatusCode::INTERNAL_SERVER_ERROR {
            tracing::error!(detail = %self.0.description, "oauth2 internal error");
            "An internal server error occurred.".to_owned()
        } else {
            self.0.description.clone()
        };
        response.json(OAuth2ErrorBody {
            error: self.0.code.as_str().to_owned(),
            error_description: description,
        })
    }
}

/// Too many requests from one address (dynamic client registration's limit): 429
/// with `Retry-After`, in OAuth2's error shape.
#[derive(Debug)]
pub struct RateLimited {
    /// Whole seconds until a request would be admitted.
    pub retry_after: u64,
}

impl std::fmt::Display for RateLimited {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "rate limited; retry after {} s", self.retry_after)
    }
}

impl ResponseError for RateLimited {
    fn status_code(&self) -> StatusCode {
        StatusCode::TOO_MANY_REQUESTS
    }

    fn error_response(&self) -> HttpResponse {
        HttpResponse::build(self.status_code())
            .insert_header(("Retry-After", self.retry_after.to_string()))
            .insert_header(("Cache-Control", "no-store"))
            .json(OAuth2ErrorBody {
                error: "temporarily_unavailable".to_owned(),
                error_description: format!(
                    "Too many registrations from this address; retry after {} seconds.",
                    self.retry_after
                ),
            })
    }
}

/// The status of an HTML page (consent, login, errors), chosen here like every other.
pub fn page_status(kind: PageKind) -> StatusCode {
    match kind {
        PageKind::Ok => StatusCode::OK,
        PageKind::BadRequest => StatusCode::BAD_REQUEST,
        PageKind::Unauthorized => StatusCode::UNAUTHORIZED,
        PageKind::Forbidden => StatusCode::FORBIDDEN,
        PageKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        PageKind::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
    }
}

/// What an HTML page reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageKind {
    Ok,
    BadRequest,
    Unauthorized,
    Forbidden,
    Unavailable,
    TooManyRequests,
}
