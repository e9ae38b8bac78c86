//! API keys and tokens.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;
use warden_domain::model::ApiKey as DomainApiKey;

/// `codersdk.GenerateAPIKeyResponse`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct GenerateApiKeyResponse {
    pub key: String,
}

/// An allow-list entry of a token.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct AllowListEntry {
    #[serde(rename = "type")]
    pub resource_type: String,
    pub id: String,
}

/// `codersdk.CreateTokenRequest`. `lifetime` is nanoseconds (a Go `time.Duration`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct CreateTokenRequest {
    pub lifetime: i64,
    /// Deprecated single scope (`all`, `application_connect`).
    pub scope: String,
    pub scopes: Vec<String>,
    pub token_name: String,
    pub allow_list: Vec<AllowListEntry>,
}

/// `codersdk.APIKey`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ApiKey {
    pub id: String,
    pub user_id: Uuid,
    #[serde(with = "time::serde::rfc3339")]
    pub last_used: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    pub login_type: String,
    /// Deprecated single scope: `all` or `application_connect`.
    pub scope: String,
    pub scopes: Vec<String>,
    pub token_name: String,
    pub lifetime_seconds: i64,
    pub allow_list: Vec<AllowListEntry>,
}

impl From<DomainApiKey> for ApiKey {
    fn from(k: DomainApiKey) -> Self {
        let scope = if k.scopes.iter().any(|s| s == "coder:application_connect") {
            "application_connect"
        } else {
            "all"
        };
        Self {
            id: k.id.0,
            user_id: k.user_id.as_uuid(),
            last_used: k.last_used,
            expires_at: k.expires_at,
            created_at: k.created_at,
            updated_at: k.updated_at,
            login_type: k.login_type.as_str().to_owned(),
            scope: scope.to_owned(),
            scopes: k.scopes,
            token_name: k.token_name,
            lifetime_seconds: k.lifetime_seconds,
            allow_list: k
                .allow_list
                .iter()
                .map(|entry| {
                    let (ty, id) = entry.split_once(':').unwrap_or(("*", "*"));
                    AllowListEntry {
                        resource_type: ty.to_owned(),
                        id: id.to_owned(),
                    }
                })
                .collect(),
        }
    }
}

/// `codersdk.APIKeyWithOwner`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ApiKeyWithOwner {
    #[serde(flatten)]
    pub key: ApiKey,
    pub username: String,
}
