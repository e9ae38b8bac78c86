//! Users: sign-up, sign-in and the user record.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;
use warden_domain::model;
use warden_rbac::roles;

use super::SlimRole;

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
    #[schema(required = true, format = Email)]
    pub email: String,
    #[schema(
        required = true,
        min_length = 1,
        max_length = 32,
        pattern = r"^[a-zA-Z0-9]+(-[a-zA-Z0-9]+)*$"
    )]
    pub username: String,
    #[schema(max_length = 128, pattern = r"^(\S([\s\S]*\S)?)?$")]
    pub name: String,
    #[schema(required = true, min_length = 1)]
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
    #[schema(required = true, format = Email)]
    pub email: String,
    #[schema(
        required = true,
        min_length = 1,
        max_length = 32,
        pattern = r"^[a-zA-Z0-9]+(-[a-zA-Z0-9]+)*$"
    )]
    pub username: String,
    #[schema(max_length = 128, pattern = r"^(\S([\s\S]*\S)?)?$")]
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
    #[schema(required = true, format = Email)]
    pub email: String,
    #[schema(required = true, min_length = 1)]
    pub password: String,
}

/// `codersdk.LoginWithPasswordResponse`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct LoginWithPasswordResponse {
    pub session_token: String,
}

/// `codersdk.UpdateUserProfileRequest`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct UpdateUserProfileRequest {
    pub username: String,
    pub name: String,
}

/// `codersdk.UpdateUserPasswordRequest`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct UpdateUserPasswordRequest {
    /// Required when changing one's own password.
    pub old_password: String,
    pub password: String,
}

/// `codersdk.UserRoles`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct UserRoles {
    /// Site roles (`member` is implied and not listed).
    pub roles: Vec<String>,
    /// Organization roles by organization ID (`organization-member` is implied).
    pub organization_roles: std::collections::BTreeMap<Uuid, Vec<String>>,
}

/// `codersdk.UserLoginType`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct UserLoginType {
    pub login_type: String,
}

/// `codersdk.UserAppearanceSettings`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct UserAppearanceSettings {
    pub theme_preference: String,
    pub terminal_font: String,
}

/// `codersdk.AuthMethods`: how one can sign in.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AuthMethods {
    #[serde(skip_serializing_if = "String::is_empty", default)]
    pub terms_of_service_url: String,
    pub password: AuthMethod,
    pub github: GithubAuthMethod,
    pub oidc: OidcAuthMethod,
}

/// `codersdk.AuthMethod`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AuthMethod {
    pub enabled: bool,
}

/// `codersdk.GithubAuthMethod`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct GithubAuthMethod {
    pub enabled: bool,
    pub default_provider_configured: bool,
}

/// `codersdk.OIDCAuthMethod`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct OidcAuthMethod {
    pub enabled: bool,
    #[serde(rename = "signInText")]
    pub sign_in_text: String,
    #[serde(rename = "iconUrl")]
    pub icon_url: String,
}

/// `codersdk.GitSSHKey`: the public half only.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct GitSshKey {
    pub user_id: Uuid,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    /// One `authorized_keys` line.
    pub public_key: String,
}

impl From<model::GitSshKey> for GitSshKey {
    fn from(k: model::GitSshKey) -> Self {
        Self {
            user_id: k.user_id.as_uuid(),
            created_at: k.created_at,
            updated_at: k.updated_at,
            public_key: k.public_key,
        }
    }
}
