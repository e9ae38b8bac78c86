//! IdP sync settings, shaped as Coder's `codersdk` types.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;
use warden_domain::idp_sync::{self, MappingChange};

/// `codersdk.OrganizationSyncSettings`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct OrganizationSyncSettings {
    /// The claim naming organizations; empty turns organization sync off.
    pub field: String,
    /// Claim value → organization IDs.
    pub mapping: BTreeMap<String, Vec<Uuid>>,
    /// Whether every synced user also belongs to the default organization.
    pub organization_assign_default: bool,
}

impl From<idp_sync::OrganizationSyncSettings> for OrganizationSyncSettings {
    fn from(s: idp_sync::OrganizationSyncSettings) -> Self {
        Self {
            field: s.field,
            mapping: s.mapping,
            organization_assign_default: s.assign_default,
        }
    }
}

impl From<OrganizationSyncSettings> for idp_sync::OrganizationSyncSettings {
    fn from(s: OrganizationSyncSettings) -> Self {
        Self {
            field: s.field,
            mapping: s.mapping,
            assign_default: s.organization_assign_default,
        }
    }
}

/// `codersdk.GroupSyncSettings`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct GroupSyncSettings {
    /// The claim naming groups; empty turns group sync off.
    pub field: String,
    /// Claim value → group IDs; unmapped values are matched by group name.
    pub mapping: BTreeMap<String, Vec<Uuid>>,
    /// Only claim values matching this regular expression (RE2 syntax) count.
    pub regex_filter: Option<String>,
    /// Creates missing groups (`source: oidc`) for unmapped claim values.
    pub auto_create_missing_groups: bool,
    /// Deprecated; must be empty or null in a request.
    pub legacy_group_name_mapping: BTreeMap<String, String>,
}

impl From<idp_sync::GroupSyncSettings> for GroupSyncSettings {
    fn from(s: idp_sync::GroupSyncSettings) -> Self {
        Self {
            field: s.field,
            mapping: s.mapping,
            regex_filter: s.regex_filter,
            auto_create_missing_groups: s.auto_create_missing_groups,
            legacy_group_name_mapping: s.legacy_group_name_mapping,
        }
    }
}

impl From<GroupSyncSettings> for idp_sync::GroupSyncSettings {
    fn from(s: GroupSyncSettings) -> Self {
        Self {
            field: s.field,
            mapping: s.mapping,
            regex_filter: s.regex_filter,
            auto_create_missing_groups: s.auto_create_missing_groups,
            legacy_group_name_mapping: s.legacy_group_name_mapping,
        }
    }
}

/// `codersdk.RoleSyncSettings`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct RoleSyncSettings {
    /// The claim naming roles; empty turns role sync off.
    pub field: String,
    /// Claim value → organization role names; unmapped values are used verbatim.
    pub mapping: BTreeMap<String, Vec<String>>,
}

impl From<idp_sync::RoleSyncSettings> for RoleSyncSettings {
    fn from(s: idp_sync::RoleSyncSettings) -> Self {
        Self {
            field: s.field,
            mapping: s.mapping,
        }
    }
}

impl From<RoleSyncSettings> for idp_sync::RoleSyncSettings {
    fn from(s: RoleSyncSettings) -> Self {
        Self {
            field: s.field,
            mapping: s.mapping,
        }
    }
}

/// `codersdk.PatchOrganizationIDPSyncConfigRequest`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct PatchOrganizationIdpSyncConfigRequest {
    pub field: String,
    pub assign_default: bool,
}

/// `codersdk.PatchGroupIDPSyncConfigRequest`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct PatchGroupIdpSyncConfigRequest {
    pub field: String,
    pub regex_filter: Option<String>,
    pub auto_create_missing_groups: bool,
}

/// `codersdk.PatchRoleIDPSyncConfigRequest`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct PatchRoleIdpSyncConfigRequest {
    pub field: String,
}

/// `codersdk.IDPSyncMapping[uuid.UUID]`: claim value `given` grants the organization
/// or group `gets`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct IdpSyncIdMapping {
    pub given: String,
    pub gets: Uuid,
}

/// `codersdk.IDPSyncMapping[string]`: claim value `given` grants the role `gets`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct IdpSyncRoleMapping {
    pub given: String,
    pub gets: String,
}

/// `codersdk.Patch{Organization,Group}IDPSyncMappingRequest`: pairs to add, then
/// pairs to remove.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct PatchIdpSyncMappingRequest {
    pub add: Vec<IdpSyncIdMapping>,
    pub remove: Vec<IdpSyncIdMapping>,
}

impl PatchIdpSyncMappingRequest {
    /// The domain's form: `(add, remove)`.
    pub fn into_changes(self) -> (Vec<MappingChange<Uuid>>, Vec<MappingChange<Uuid>>) {
        (changes(self.add), changes(self.remove))
    }
}

/// `codersdk.PatchRoleIDPSyncMappingRequest`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct PatchRoleIdpSyncMappingRequest {
    pub add: Vec<IdpSyncRoleMapping>,
    pub remove: Vec<IdpSyncRoleMapping>,
}

impl PatchRoleIdpSyncMappingRequest {
    /// The domain's form: `(add, remove)`.
    pub fn into_changes(self) -> (Vec<MappingChange<String>>, Vec<MappingChange<String>>) {
        (changes(self.add), changes(self.remove))
    }
}

impl From<IdpSyncIdMapping> for MappingChange<Uuid> {
    fn from(p: IdpSyncIdMapping) -> Self {
        Self {
            given: p.given,
            gets: p.gets,
        }
    }
}

impl From<IdpSyncRoleMapping> for MappingChange<String> {
    fn from(p: IdpSyncRoleMapping) -> Self {
        Self {
            given: p.given,
            gets: p.gets,
        }
    }
}

fn changes<P: Into<MappingChange<T>>, T>(pairs: Vec<P>) -> Vec<MappingChange<T>> {
    pairs.into_iter().map(Into::into).collect()
}
