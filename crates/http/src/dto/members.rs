//! Organization members.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;
use warden_domain::model;
use warden_rbac::roles;

use super::{SlimRole, User};

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
