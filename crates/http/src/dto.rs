//! Wire types, named and shaped as Coder's `codersdk` types so Coder clients work unchanged.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;
use warden_domain::model::{self, ApiKey as DomainApiKey, Organization as DomainOrganization};
use warden_rbac::roles;

/// A site or organization role as embedded in users and members.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct SlimRole {
    pub name: String,
    pub display_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization_id: Option<Uuid>,
}

/// `codersdk.User`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct User {
    pub id: Uuid,
    pub username: String,
    pub name: String,
    pub avatar_url: String,
    pub email: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub last_seen_at: OffsetDateTime,
    /// `active`, `dormant` or `suspended`.
    pub status: String,
    /// `password`, `github`, `oidc`, `token`, `none` or `oauth2_provider_app`.
    pub login_type: String,
    pub is_service_account: bool,
    pub has_ai_seat: bool,
    pub theme_preference: String,
    pub organization_ids: Vec<Uuid>,
    /// Site roles only; `member` is implied and not listed.
    pub roles: Vec<SlimRole>,
}

impl From<model::User> for User {
    fn from(u: model::User) -> Self {
        Self {
            id: u.id.as_uuid(),
            username: u.username.into_inner(),
            name: u.name,
            avatar_url: u.avatar_url,
            email: u.email.into_inner(),
            created_at: u.created_at,
            updated_at: u.updated_at,
            last_seen_at: u.last_seen_at,
            status: u.status.as_str().to_owned(),
            login_type: u.login_type.as_str().to_owned(),
            is_service_account: u.is_service_account,
            has_ai_seat: false,
            theme_preference: u.theme_preference,
            organization_ids: u.organization_ids.iter().map(|o| o.as_uuid()).collect(),
            roles: u
                .site_roles
                .into_iter()
                .map(|name| SlimRole {
                    display_name: roles::display_name(&name).unwrap_or_default().to_owned(),
                    name,
                    organization_id: None,
                })
                .collect(),
        }
    }
}

/// `codersdk.GetUsersResponse`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct GetUsersResponse {
    pub users: Vec<User>,
    pub count: i64,
}

/// `codersdk.CreateFirstUserRequest`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct CreateFirstUserRequest {
    pub email: String,
    pub username: String,
    pub name: String,
    pub password: String,
    pub trial: bool,
}

/// `codersdk.CreateFirstUserResponse`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CreateFirstUserResponse {
    pub user_id: Uuid,
    pub organization_id: Uuid,
}

/// `codersdk.CreateUserRequestWithOrgs` (and the older `CreateUserRequest`, whose
/// single `organization_id` is folded into `organization_ids`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct CreateUserRequest {
    pub email: String,
    pub username: String,
    pub name: String,
    pub password: String,
    pub login_type: Option<LoginType>,
    pub user_status: Option<UserStatus>,
    pub organization_ids: Vec<Uuid>,
    /// Older clients send one organization here.
    pub organization_id: Option<Uuid>,
    /// Older clients' way of saying `login_type: none`.
    pub disable_login: bool,
}

/// A login type as clients send it (`""` means password).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum LoginType {
    #[serde(rename = "")]
    Unset,
    Password,
    Github,
    Oidc,
    Token,
    None,
    #[serde(rename = "oauth2_provider_app")]
    OAuth2ProviderApp,
}

impl LoginType {
    pub fn to_domain(self) -> Option<model::LoginType> {
        Some(match self {
            Self::Unset => return None,
            Self::Password => model::LoginType::Password,
            Self::Github => model::LoginType::Github,
            Self::Oidc => model::LoginType::Oidc,
            Self::Token => model::LoginType::Token,
            Self::None => model::LoginType::None,
            Self::OAuth2ProviderApp => model::LoginType::OAuth2ProviderApp,
        })
    }
}

/// A user status as clients send it.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum UserStatus {
    Active,
    Dormant,
    Suspended,
}

impl From<UserStatus> for model::UserStatus {
    fn from(s: UserStatus) -> Self {
        match s {
            UserStatus::Active => model::UserStatus::Active,
            UserStatus::Dormant => model::UserStatus::Dormant,
            UserStatus::Suspended => model::UserStatus::Suspended,
        }
    }
}

/// `codersdk.LoginWithPasswordRequest`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct LoginWithPasswordRequest {
    pub email: String,
    pub password: String,
}

/// `codersdk.LoginWithPasswordResponse`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct LoginWithPasswordResponse {
    pub session_token: String,
}

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

/// `codersdk.Organization`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Organization {
    pub id: Uuid,
    pub name: String,
    pub display_name: String,
    pub description: String,
    pub icon: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    pub is_default: bool,
}

impl From<DomainOrganization> for Organization {
    fn from(o: DomainOrganization) -> Self {
        Self {
            id: o.id.as_uuid(),
            name: o.name.into_inner(),
            display_name: o.display_name,
            description: o.description,
            icon: o.icon,
            created_at: o.created_at,
            updated_at: o.updated_at,
            is_default: o.is_default,
        }
    }
}

/// `codersdk.CreateOrganizationRequest`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct CreateOrganizationRequest {
    pub name: String,
    pub display_name: String,
    pub description: String,
    pub icon: String,
}

/// `codersdk.UpdateOrganizationRequest`: absent fields stay unchanged.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct UpdateOrganizationRequest {
    pub name: String,
    pub display_name: String,
    pub description: Option<String>,
    pub icon: Option<String>,
}

/// `codersdk.BuildInfoResponse` (the fields clients read).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct BuildInfoResponse {
    pub external_url: String,
    pub version: String,
    pub dashboard_url: String,
    pub workspace_proxy: bool,
    pub agent_api_version: String,
    pub provisioner_api_version: String,
    pub upgrade_message: String,
    pub deployment_id: String,
    pub telemetry: bool,
}
