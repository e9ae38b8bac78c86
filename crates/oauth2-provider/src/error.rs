//! RFC 6749 §5.2 (and RFC 7009, 8707) error codes. `warden-http` picks the status.

/// The `error` value of an OAuth2 error response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    InvalidRequest,
    InvalidClient,
    InvalidGrant,
    UnauthorizedClient,
    UnsupportedGrantType,
    InvalidScope,
    InvalidTarget,
    AccessDenied,
    UnsupportedResponseType,
    UnsupportedTokenType,
    ServerError,
    TemporarilyUnavailable,
    /// RFC 7591 §3.2.2.
    InvalidRedirectUri,
    /// RFC 7591 §3.2.2.
    InvalidClientMetadata,
    /// RFC 6750 §3.1: a bad registration access token (RFC 7592).
    InvalidToken,
    /// RFC 8628 §3.5.
    AuthorizationPending,
    /// RFC 8628 §3.5.
    SlowDown,
    /// RFC 8628 §3.5.
    ExpiredToken,
}

impl ErrorCode {
    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::InvalidClient => "invalid_client",
            Self::InvalidGrant => "invalid_grant",
            Self::UnauthorizedClient => "unauthorized_client",
            Self::UnsupportedGrantType => "unsupported_grant_type",
            Self::InvalidScope => "invalid_scope",
            Self::InvalidTarget => "invalid_target",
            Self::AccessDenied => "access_denied",
            Self::UnsupportedResponseType => "unsupported_response_type",
            Self::UnsupportedTokenType => "unsupported_token_type",
            Self::ServerError => "server_error",
            Self::TemporarilyUnavailable => "temporarily_unavailable",
            Self::InvalidRedirectUri => "invalid_redirect_uri",
            Self::InvalidClientMetadata => "invalid_client_metadata",
            Self::InvalidToken => "invalid_token",
            Self::AuthorizationPending => "authorization_pending",
            Self::SlowDown => "slow_down",
            Self::ExpiredToken => "expired_token",
        }
    }
}

/// An OAuth2 protocol error: `{"error", "error_description"}`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {description}", code.as_str())]
pub struct OAuth2Error {
    pub code: ErrorCode,
    pub description: String,
}

impl OAuth2Error {
    /// An error with a description.
    pub fn new(code: ErrorCode, description: impl Into<String>) -> Self {
        Self {
            code,
            description: description.into(),
        }
    }

    pub fn invalid_request(description: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidRequest, description)
    }

    pub fn invalid_grant(description: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidGrant, description)
    }

    pub fn invalid_client(description: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidClient, description)
    }
}

impl From<warden_domain::RepoError> for OAuth2Error {
    fn from(e: warden_domain::RepoError) -> Self {
        match e {
            warden_domain::RepoError::Unavailable(_) => Self::new(
                ErrorCode::TemporarilyUnavailable,
                "The service is temporarily unavailable. Please try again.",
            ),
            other => Self::new(ErrorCode::ServerError, other.to_string()),
        }
    }
}
