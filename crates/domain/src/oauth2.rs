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

/// The grant type of RFC 6749 §4.1.3.
pub const GRANT_AUTHORIZATION_CODE: &str = "authorization_code";
/// The grant type of RFC 6749 §6.
pub const GRANT_REFRESH_TOKEN: &str = "refresh_token";
/// The grant type of RFC 8628 §3.4.
pub const GRANT_DEVICE_CODE: &str = "urn:ietf:params:oauth:grant-type:device_code";
/// Every grant Warden offers; applications created through the admin API may use all.
pub const ALL_GRANTS: &[&str] = &[
    GRANT_AUTHORIZATION_CODE,
    GRANT_REFRESH_TOKEN,
    GRANT_DEVICE_CODE,
];

/// A registered OAuth2 application (client).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuth2App {
    pub id: OAuth2AppId,
    pub name: String,
    /// The first registered redirect URI (Coder's single `callback_url`).
    pub callback_url: String,
    /// Every registered redirect URI, `callback_url` first.
    pub redirect_uris: Vec<String>,
    pub icon: String,
    pub client_type: ClientType,
    /// The grant types the client may use at the token endpoint.
    pub grant_types: Vec<String>,
    /// The scopes the client may request (canonical names), when it registered a
    /// `scope` through RFC 7591; `None` means unrestricted.
    pub allowed_scopes: Option<Vec<String>>,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

impl OAuth2App {
    /// Whether the client registered this grant type.
    pub fn allows_grant(&self, grant: &str) -> bool {
        self.grant_types.iter().any(|g| g == grant)
    }
}

/// RFC 7591 §2 client metadata, as registered (and echoed by RFC 7592 reads).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ClientMetadata {
    pub redirect_uris: Vec<String>,
    pub token_endpoint_auth_method: String,
    pub grant_types: Vec<String>,
    pub response_types: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_uri: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logo_uri: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub contacts: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tos_uri: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy_uri: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub software_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub software_version: Option<String>,
}

impl ClientMetadata {
    /// The registered `scope` as a list of names, or `None` when none was registered.
    pub fn allowed_scopes(&self) -> Option<Vec<String>> {
        self.scope.as_deref().map(|s| {
            s.split(' ')
                .filter(|name| !name.is_empty())
                .map(str::to_owned)
                .collect()
        })
    }
}

/// A client registered through RFC 7591, with its registration access token
/// (`coder_<prefix>_<secret>`, only `sha256(secret)` kept).
#[derive(Clone, PartialEq, Eq)]
pub struct ClientRegistration {
    pub app_id: OAuth2AppId,
    pub token_prefix: String,
    pub hashed_token: Vec<u8>,
    pub metadata: ClientMetadata,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

impl std::fmt::Debug for ClientRegistration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientRegistration")
            .field("app_id", &self.app_id)
            .field("metadata", &self.metadata)
            .finish_non_exhaustive()
    }
}

/// Where an RFC 8628 device authorization stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceStatus {
    /// Waiting for the user.
    Pending,
    /// The user allowed it; the device has not collected its tokens yet.
    Approved,
    /// The user refused it.
    Denied,
    /// The tokens were issued; the device code is spent.
    Redeemed,
}

impl DeviceStatus {
    /// The storage spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Approved => "approved",
            Self::Denied => "denied",
            Self::Redeemed => "redeemed",
        }
    }

    /// Parses the storage spelling.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "pending" => Some(Self::Pending),
            "approved" => Some(Self::Approved),
            "denied" => Some(Self::Denied),
            "redeemed" => Some(Self::Redeemed),
            _ => None,
        }
    }
}

/// An RFC 8628 device authorization: the device code (`coder_<prefix>_<secret>`) and
/// the user code, both stored hashed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceAuthorization {
    /// Also the id of the token family issued from it.
    pub id: Uuid,
    pub prefix: String,
    pub hashed_secret: Vec<u8>,
    /// Hex sha256 of the normalized user code (upper case, no dash).
    pub user_code_hash: String,
    pub app_id: OAuth2AppId,
    /// The user who decided, once decided.
    pub user_id: Option<UserId>,
    /// Requested scope names (canonical).
    pub scopes: Vec<String>,
    pub resource: Option<String>,
    pub status: DeviceStatus,
    /// The polling interval the device must keep, in seconds (grows on `slow_down`).
    pub interval_seconds: i64,
    pub created_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
    pub last_polled_at: Option<OffsetDateTime>,
}

/// Outcome of a device's poll at the token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DevicePoll {
    /// Still waiting for the user (`authorization_pending`).
    Pending,
    /// Polled before the interval passed; the interval grew by 5 s (`slow_down`).
    SlowDown,
    /// The user refused (`access_denied`).
    Denied,
    /// The device code expired (`expired_token`).
    Expired,
    /// The tokens were issued.
    Issued,
    /// The device code was redeemed before (`invalid_grant`).
    Redeemed,
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
