//! IdP sync settings: how an identity provider's claims map to organizations, groups
//! and organization roles (Coder's `idpsync` settings). Stored as JSON documents,
//! one per scope; the sign-in that applies them reads them afresh each time.

pub mod plan;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::ids::OrganizationId;

/// Which settings document: the deployment's organization sync, or one
/// organization's group or role sync.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SyncScope {
    Organizations,
    Groups(OrganizationId),
    Roles(OrganizationId),
}

impl SyncScope {
    /// The organization the settings belong to; `None` for the deployment's.
    pub fn organization(self) -> Option<OrganizationId> {
        match self {
            Self::Organizations => None,
            Self::Groups(org) | Self::Roles(org) => Some(org),
        }
    }

    /// The audit trail's resource type, as Coder names it.
    pub fn audit_type(self) -> &'static str {
        match self {
            Self::Organizations => "idp_sync_settings_organization",
            Self::Groups(_) => "idp_sync_settings_group",
            Self::Roles(_) => "idp_sync_settings_role",
        }
    }
}

/// A claim value → what it grants, as given in a mapping PATCH.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MappingChange<T> {
    pub given: String,
    pub gets: T,
}

/// Applies a mapping PATCH: `add` pairs join (each once), then `remove` pairs leave.
/// A claim value left mapping to nothing is dropped.
pub fn apply_mapping_diff<T: PartialEq + Clone>(
    mapping: &mut BTreeMap<String, Vec<T>>,
    add: &[MappingChange<T>],
    remove: &[MappingChange<T>],
) {
    for change in add {
        let targets = mapping.entry(change.given.clone()).or_default();
        if !targets.contains(&change.gets) {
            targets.push(change.gets.clone());
        }
    }
    for change in remove {
        if let Some(targets) = mapping.get_mut(&change.given) {
            targets.retain(|t| *t != change.gets);
        }
    }
    mapping.retain(|_, targets| !targets.is_empty());
}

/// Organization sync (deployment-wide).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct OrganizationSyncSettings {
    /// The claim naming organizations; empty turns organization sync off.
    pub field: String,
    /// Claim value → organization IDs.
    pub mapping: BTreeMap<String, Vec<Uuid>>,
    /// Whether every synced user also belongs to the default organization.
    pub assign_default: bool,
}

/// Group sync (one organization).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct GroupSyncSettings {
    /// The claim naming groups; empty turns group sync off.
    pub field: String,
    /// Claim value → group IDs; unmapped values are matched by group name.
    pub mapping: BTreeMap<String, Vec<Uuid>>,
    /// Only claim values matching this (RE2 syntax) are considered.
    pub regex_filter: Option<String>,
    /// Creates groups (`source: oidc`) for claim values no group has the name of.
    pub auto_create_missing_groups: bool,
    /// Coder's deprecated name → name mapping, kept from older configurations.
    pub legacy_group_name_mapping: BTreeMap<String, String>,
}

/// Role sync (one organization).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RoleSyncSettings {
    /// The claim naming roles; empty turns role sync off.
    pub field: String,
    /// Claim value → organization role names; unmapped values are used verbatim.
    pub mapping: BTreeMap<String, Vec<String>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(given: &str, gets: &str) -> MappingChange<String> {
        MappingChange {
            given: given.into(),
            gets: gets.into(),
        }
    }

    #[test]
    fn mapping_diffs_add_once_remove_and_drop_what_maps_to_nothing() {
        let mut mapping = BTreeMap::from([("devs".to_owned(), vec!["a".to_owned()])]);
        apply_mapping_diff(
            &mut mapping,
            &[change("devs", "a"), change("devs", "b"), change("ops", "c")],
            &[change("ops", "c"), change("nobody", "x")],
        );
        assert_eq!(
            mapping,
            BTreeMap::from([("devs".to_owned(), vec!["a".to_owned(), "b".to_owned()])])
        );
    }
}
