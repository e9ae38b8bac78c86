//! Entities of the OAuth2 authorization server. The protocol rules live in
//! `warden-oauth2-provider`; these are what its repository port stores.
//!
//! Every secret (client secret, code, refresh token) is `coder_<prefix>_<secret>`: the
//! prefix is the lookup key and only `sha256(secret)` is stored.

use time::OffsetDateTime;
use uuid::Uuid;

use crate::ids::{ApiKeyId, OAuth2AppId, OAuth2SecretId, UserId};
use crate::model::ApiKey;

/// Whether a client can keep a secret (RFC 6749 §2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientType {
    /// Authenticates at the token endpoint with a client secret.
    Confidential,
    /// Cannot keep a secret; must use PKCE.
    Public,
}

impl ClientType {
    /// The storage spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Confidential => "confidential",
            Self::Public => "public",
        }
    }

    /// Parses the storage spelling.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "confidential" => Some(Self::Confidential),
            "public" => Some(Self::Public),
            _ => None,
        }
    }
}

/// A registered OAuth2 application (client).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuth2App {
    pub id: OAuth2AppId,
    pub name: String,
    /// The registered redirect URI.
    pub callback_url: String,
    pub icon: String,
    pub client_type: ClientType,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

/// A client secret of an application; the plaintext is shown once, at creation.
#[derive(Clone, PartialEq, Eq)]
pub struct OAuth2AppSecret {
    pub id: OAuth2SecretId,
    pub app_id: OAuth2AppId,
    pub prefix: String,
    pub hashed_secret: Vec<u8>,
    /// The secret's last characters, for listings.
    pub display_secret: String,
    pub created_at: OffsetDateTime,
    pub last_used_at: Option<OffsetDateTime>,
}

impl std::fmt::Debug for OAuth2AppSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuth2AppSecret")
            .field("id", &self.id)
            .field("app_id", &self.app_id)
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

/// An authorization code, bound to everything the token request must repeat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuth2Code {
    /// Also the id of the token family issued from this code.
    pub id: Uuid,
    pub prefix: String,
    pub hashed_secret: Vec<u8>,
    pub app_id: OAuth2AppId,
    pub user_id: UserId,
    /// The redirect URI the code was delivered to.
    pub redirect_uri: String,
    /// Whether the authorization request named `redirect_uri` (the token request must
    /// then repeat it, RFC 6749 §4.1.3).
    pub redirect_uri_given: bool,
    /// The S256 PKCE challenge.
    pub code_challenge: String,
    /// Granted scope names (canonical).
    pub scopes: Vec<String>,
    /// The RFC 8707 resource, which becomes the tokens' audience.
    pub resource: Option<String>,
    pub created_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
    /// Set when redeemed; a second redemption revokes what the first issued.
    pub used_at: Option<OffsetDateTime>,
}

/// A refresh token of a token family.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshToken {
    pub id: Uuid,
    pub prefix: String,
    pub hashed_secret: Vec<u8>,
    /// The authorization code (or device grant) the family started from.
    pub family_id: Uuid,
    pub app_id: OAuth2AppId,
    pub user_id: UserId,
    /// The client secret that obtained it, if any: deleting the secret revokes it.
    pub secret_id: Option<OAuth2SecretId>,
    /// The access token (API key) issued with it.
    pub api_key_id: ApiKeyId,
    pub scopes: Vec<String>,
    pub audience: Option<String>,
    pub created_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
    /// Set when exchanged for a successor.
    pub rotated_at: Option<OffsetDateTime>,
}

/// What a successful grant writes: the access token and the refresh token, and
/// which client secret was used.
#[derive(Debug, Clone)]
pub struct TokenIssue {
    pub api_key: ApiKey,
    pub refresh: RefreshToken,
    pub secret_used: Option<OAuth2SecretId>,
    pub now: OffsetDateTime,
}

/// Outcome of redeeming a code or rotating a refresh token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Redemption {
    /// The tokens were issued.
    Issued,
    /// The code or refresh token had been used before: its family was revoked and
    /// nothing was issued.
    Replayed,
}

/// An access token as introspection sees it.
#[derive(Debug, Clone)]
pub struct AccessTokenInfo {
    pub api_key: ApiKey,
    pub refresh: RefreshToken,
    pub username: String,
    pub user_active: bool,
}
