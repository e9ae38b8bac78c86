//! Permissions: the atoms roles and scopes are made of.

use serde::{Deserialize, Serialize};

use crate::resource::{Action, ResourceType};

/// One grant (or, when `negate` is set, one denial) of an action on a resource type.
///
/// A permission matches a request when its action is the requested action or
/// `*`, and its resource type is the object's type or `*`.
///
/// JSON shape (as in Coder): `{"negate":false,"resource_type":"organization_member","action":"read"}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Permission {
    /// A negated permission votes "deny" at its level, and a deny wins over
    /// any allow at the same level.
    pub negate: bool,
    /// The resource type this permission is about (`*` for every type).
    pub resource_type: ResourceType,
    /// The action this permission is about (`*` for every action).
    pub action: Action,
}

impl Permission {
    /// A positive permission.
    pub fn allow(resource_type: ResourceType, action: Action) -> Self {
        Self {
            negate: false,
            resource_type,
            action,
        }
    }

    /// A negative permission.
    pub fn deny(resource_type: ResourceType, action: Action) -> Self {
        Self {
            negate: true,
            resource_type,
            action,
        }
    }

    /// Coder's `Permission.Valid()`: a wildcard resource type or a wildcard
    /// action is always valid; otherwise the action must be one the resource
    /// type declares.
    pub fn is_valid(&self) -> bool {
        self.resource_type == ResourceType::Wildcard
            || self.action == Action::Wildcard
            || self.resource_type.actions().contains(&self.action)
    }
}

/// A `(type, actions)` table describing positive permissions.
pub(crate) type PermissionTable<'a> = &'a [(ResourceType, &'a [Action])];

/// Builds positive permissions from a `(type, actions)` table.
pub(crate) fn allow_all(table: PermissionTable<'_>) -> Vec<Permission> {
    table
        .iter()
        .flat_map(|&(resource_type, actions)| {
            actions
                .iter()
                .map(move |&action| Permission::allow(resource_type, action))
        })
        .collect()
}

/// `type:*` for every concrete resource type except those listed (Coder's
/// `allPermsExcept`). New resource types are therefore included automatically.
pub(crate) fn every_type_except(excluded: &[ResourceType]) -> Vec<Permission> {
    ResourceType::ALL
        .iter()
        .filter(|t| !excluded.contains(t))
        .map(|&t| Permission::allow(t, Action::Wildcard))
        .collect()
}
