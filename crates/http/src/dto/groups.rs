//! Groups.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;
use warden_domain::model;

use super::ReducedUser;

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
    #[schema(
        required = true,
        min_length = 1,
        max_length = 36,
        pattern = r"^[a-zA-Z0-9]+(-[a-zA-Z0-9]+)*$"
    )]
    pub name: String,
    #[schema(max_length = 64, pattern = r"^(\S([\s\S]*\S)?)?$")]
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
