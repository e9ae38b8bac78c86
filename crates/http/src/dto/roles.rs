//! Roles, built-in and custom, and role assignments.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// A site or organization role as embedded in users and members.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct SlimRole {
    pub name: String,
    pub display_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization_id: Option<Uuid>,
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
    #[schema(
        required = true,
        min_length = 1,
        max_length = 32,
        pattern = r"^[a-zA-Z0-9]+(-[a-zA-Z0-9]+)*$"
    )]
    pub name: String,
    #[schema(max_length = 64, pattern = r"^(\S([\s\S]*\S)?)?$")]
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
