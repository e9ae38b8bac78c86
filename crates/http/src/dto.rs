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

/// `codersdk.Permission`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct Permission {
    #[serde(default)]
    pub negate: bool,
    pub resource_type: String,
    pub action: String,
}

impl From<&warden_rbac::Permission> for Permission {
    fn from(p: &warden_rbac::Permission) -> Self {
        Self {
            negate: p.negate,
            resource_type: p.resource_type.as_str().to_owned(),
            action: p.action.as_str().to_owned(),
        }
    }
}

fn perms(list: &[warden_rbac::Permission]) -> Vec<Permission> {
    list.iter().map(Permission::from).collect()
}

/// `codersdk.AssignableRoles`: a role with whether the caller may assign it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AssignableRoles {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization_id: Option<Uuid>,
    pub display_name: String,
    pub site_permissions: Vec<Permission>,
    pub organization_permissions: Vec<Permission>,
    pub organization_member_permissions: Vec<Permission>,
    pub user_permissions: Vec<Permission>,
    pub assignable: bool,
    pub built_in: bool,
}

impl From<warden_domain::services::roles::AssignableRole> for AssignableRoles {
    fn from(r: warden_domain::services::roles::AssignableRole) -> Self {
        Self {
            name: r.name,
            organization_id: r.organization_id.map(|o| o.as_uuid()),
            display_name: r.display_name,
            site_permissions: perms(&r.site_permissions),
            organization_permissions: perms(&r.organization_permissions),
            organization_member_permissions: perms(&r.organization_member_permissions),
            user_permissions: perms(&r.user_permissions),
            assignable: r.assignable,
            built_in: r.built_in,
        }
    }
}

/// `codersdk.Role`: what custom-role creation and update return.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Role {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization_id: Option<Uuid>,
    pub display_name: String,
    pub site_permissions: Vec<Permission>,
    pub organization_permissions: Vec<Permission>,
    pub organization_member_permissions: Vec<Permission>,
    pub user_permissions: Vec<Permission>,
}

impl From<warden_domain::services::roles::AssignableRole> for Role {
    fn from(r: warden_domain::services::roles::AssignableRole) -> Self {
        let a = AssignableRoles::from(r);
        Self {
            name: a.name,
            organization_id: a.organization_id,
            display_name: a.display_name,
            site_permissions: a.site_permissions,
            organization_permissions: a.organization_permissions,
            organization_member_permissions: a.organization_member_permissions,
            user_permissions: a.user_permissions,
        }
    }
}

/// `codersdk.CustomRoleRequest` (older clients omit `organization_member_permissions`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct CustomRoleRequest {
    pub name: String,
    pub display_name: String,
    pub site_permissions: Vec<Permission>,
    pub organization_permissions: Vec<Permission>,
    pub organization_member_permissions: Vec<Permission>,
    pub user_permissions: Vec<Permission>,
}

/// `codersdk.UpdateRoles`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct UpdateRoles {
    pub roles: Vec<String>,
}

fn slim_org_roles(member: &model::OrganizationMember) -> Vec<SlimRole> {
    member
        .roles
        .iter()
        .map(|name| SlimRole {
            display_name: roles::display_name(name)
                .or_else(|| {
                    member
                        .custom_role_display_names
                        .get(name)
                        .map(String::as_str)
                })
                .unwrap_or_default()
                .to_owned(),
            name: name.clone(),
            organization_id: Some(member.organization_id.as_uuid()),
        })
        .collect()
}

/// `codersdk.OrganizationMember`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct OrganizationMember {
    pub user_id: Uuid,
    pub organization_id: Uuid,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    pub roles: Vec<SlimRole>,
}

impl From<model::OrganizationMember> for OrganizationMember {
    fn from(m: model::OrganizationMember) -> Self {
        let org = m.organization_id.as_uuid();
        Self {
            user_id: m.user_id.as_uuid(),
            organization_id: org,
            created_at: m.created_at,
            updated_at: m.updated_at,
            roles: slim_org_roles(&m),
        }
    }
}

/// `codersdk.OrganizationMemberWithUserData`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct OrganizationMemberWithUserData {
    pub username: String,
    pub name: String,
    pub avatar_url: String,
    pub email: String,
    pub global_roles: Vec<SlimRole>,
    pub has_ai_seat: bool,
    pub is_service_account: bool,
    #[serde(with = "time::serde::rfc3339")]
    pub last_seen_at: OffsetDateTime,
    pub login_type: String,
    pub status: String,
    #[serde(with = "time::serde::rfc3339")]
    pub user_created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub user_updated_at: OffsetDateTime,
    pub user_id: Uuid,
    pub organization_id: Uuid,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    pub roles: Vec<SlimRole>,
}

impl From<model::MemberWithUser> for OrganizationMemberWithUserData {
    fn from(m: model::MemberWithUser) -> Self {
        let member = OrganizationMember::from(m.member);
        let user = User::from(m.user);
        Self {
            username: user.username,
            name: user.name,
            avatar_url: user.avatar_url,
            email: user.email,
            global_roles: user.roles,
            has_ai_seat: false,
            is_service_account: user.is_service_account,
            last_seen_at: user.last_seen_at,
            login_type: user.login_type,
            status: user.status,
            user_created_at: user.created_at,
            user_updated_at: user.updated_at,
            user_id: member.user_id,
            organization_id: member.organization_id,
            created_at: member.created_at,
            updated_at: member.updated_at,
            roles: member.roles,
        }
    }
}

/// `codersdk.PaginatedMembersResponse`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PaginatedMembersResponse {
    pub members: Vec<OrganizationMemberWithUserData>,
    pub count: i64,
}

/// `codersdk.ReducedUser`, as listed in groups.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ReducedUser {
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
    pub status: String,
    pub login_type: String,
    pub is_service_account: bool,
    pub theme_preference: String,
}

impl From<model::User> for ReducedUser {
    fn from(u: model::User) -> Self {
        let u = User::from(u);
        Self {
            id: u.id,
            username: u.username,
            name: u.name,
            avatar_url: u.avatar_url,
            email: u.email,
            created_at: u.created_at,
            updated_at: u.updated_at,
            last_seen_at: u.last_seen_at,
            status: u.status,
            login_type: u.login_type,
            is_service_account: u.is_service_account,
            theme_preference: u.theme_preference,
        }
    }
}

/// `codersdk.Group`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Group {
    pub id: Uuid,
    pub name: String,
    pub display_name: String,
    pub organization_id: Uuid,
    pub organization_name: String,
    pub organization_display_name: String,
    pub members: Vec<ReducedUser>,
    pub total_member_count: i64,
    pub avatar_url: String,
    pub quota_allowance: i32,
    /// `user` or `oidc`.
    pub source: String,
}

impl From<model::GroupDetails> for Group {
    fn from(d: model::GroupDetails) -> Self {
        Self {
            id: d.group.id.as_uuid(),
            name: d.group.name,
            display_name: d.group.display_name,
            organization_id: d.group.organization_id.as_uuid(),
            organization_name: d.organization.name.into_inner(),
            organization_display_name: d.organization.display_name,
            members: d.members.into_iter().map(ReducedUser::from).collect(),
            total_member_count: d.total_member_count,
            avatar_url: d.group.avatar_url,
            quota_allowance: d.group.quota_allowance,
            source: d.group.source.as_str().to_owned(),
        }
    }
}

/// `codersdk.CreateGroupRequest`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct CreateGroupRequest {
    pub name: String,
    pub display_name: String,
    pub avatar_url: String,
    pub quota_allowance: i32,
}

/// `codersdk.PatchGroupRequest`: omitted fields stay unchanged.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct PatchGroupRequest {
    pub add_users: Vec<String>,
    pub remove_users: Vec<String>,
    pub name: String,
    pub display_name: Option<String>,
    pub avatar_url: Option<String>,
    pub quota_allowance: Option<i32>,
}

/// The organization of an audit log entry.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct MinimalOrganization {
    pub id: Uuid,
    pub name: String,
    pub display_name: String,
    pub icon: String,
}

/// `codersdk.AuditLog`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AuditLog {
    pub id: Uuid,
    pub request_id: Uuid,
    #[serde(with = "time::serde::rfc3339")]
    pub time: OffsetDateTime,
    pub ip: String,
    pub user_agent: String,
    pub resource_type: String,
    pub resource_id: String,
    pub resource_target: String,
    pub resource_icon: String,
    pub action: String,
    #[schema(value_type = Object)]
    pub diff: serde_json::Value,
    pub status_code: i32,
    #[schema(value_type = Object)]
    pub additional_fields: serde_json::Value,
    pub description: String,
    pub resource_link: String,
    pub is_deleted: bool,
    pub organization_id: Uuid,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization: Option<MinimalOrganization>,
    pub user: Option<User>,
}

impl From<model::AuditLog> for AuditLog {
    fn from(log: model::AuditLog) -> Self {
        let e = log.entry;
        let diff = match e.diff {
            serde_json::Value::Object(map) => serde_json::Value::Object(
                map.into_iter()
                    .map(|(k, mut v)| {
                        if let serde_json::Value::Object(change) = &mut v {
                            change.insert("secret".into(), serde_json::Value::Bool(false));
                        }
                        (k, v)
                    })
                    .collect(),
            ),
            other => other,
        };
        let friendly_type = match e.resource_type.as_str() {
            "api_key" => "token",
            "custom_role" => "custom role",
            "organization_member" => "organization member",
            other => other,
        };
        let verb = match e.action {
            model::AuditAction::Create => "created",
            model::AuditAction::Write => "updated",
            model::AuditAction::Delete => "deleted",
            model::AuditAction::Login => "logged in",
            model::AuditAction::Logout => "logged out",
            model::AuditAction::Register => "registered",
        };
        let description = if e.resource_type == "api_key"
            && matches!(
                e.action,
                model::AuditAction::Login
                    | model::AuditAction::Logout
                    | model::AuditAction::Register
            ) {
            format!("{{user}} {verb}")
        } else {
            format!("{{user}} {verb} {friendly_type} {{target}}")
        };
        Self {
            id: e.id.as_uuid(),
            request_id: e.request.request_id.unwrap_or_default(),
            time: e.time,
            ip: e.request.ip,
            user_agent: e.request.user_agent,
            resource_link: match (e.resource_type.as_str(), &log.resource_app_id) {
                ("user", _) => format!("/users?filter={}", e.resource_target),
                ("oauth2_provider_app", _) => {
                    format!("/deployment/oauth2-provider/apps/{}", e.resource_id)
                }
                ("oauth2_provider_app_secret", Some(app)) => {
                    format!("/deployment/oauth2-provider/apps/{app}")
                }
                _ => String::new(),
            },
            resource_type: e.resource_type,
            resource_id: e.resource_id,
            resource_target: e.resource_target,
            resource_icon: String::new(),
            action: e.action.as_str().to_owned(),
            diff,
            status_code: e.status_code,
            additional_fields: e.additional_fields,
            description,
            is_deleted: log.resource_deleted,
            organization_id: e.organization_id.map(|o| o.as_uuid()).unwrap_or_default(),
            organization: log.organization.map(|o| MinimalOrganization {
                id: o.id.as_uuid(),
                name: o.name.into_inner(),
                display_name: o.display_name,
                icon: o.icon,
            }),
            user: log.user.map(User::from),
        }
    }
}

/// `codersdk.AuditLogResponse`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AuditLogResponse {
    pub audit_logs: Vec<AuditLog>,
    pub count: i64,
    pub count_cap: i64,
}

/// `codersdk.Replica`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Replica {
    pub id: Uuid,
    pub hostname: String,
    /// When the replica started.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Coder's DERP relay address; Warden relays nothing, so it is empty.
    pub relay_address: String,
    /// Coder's DERP region; always 0 in Warden.
    pub region_id: i32,
    /// What went wrong at the replica's last heartbeat; empty when nothing did.
    pub error: String,
    /// The round trip to the database at the last heartbeat, in microseconds.
    pub database_latency: i64,
}

impl From<model::Replica> for Replica {
    fn from(r: model::Replica) -> Self {
        Self {
            id: r.id.as_uuid(),
            hostname: r.hostname,
            created_at: r.created_at,
            relay_address: r.relay_address,
            region_id: r.region_id,
            error: r.error,
            database_latency: r.database_latency,
        }
    }
}
