//! Roles and role identifiers.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use uuid::Uuid;

use crate::error::RbacError;
use crate::permission::Permission;
use crate::resource::ParseVisitor;

/// Names a role: `name` for a site-wide role, `name:<org-uuid>` for a role
/// scoped to one organization.
///
/// `Display` and `FromStr` use that form (Coder's `RoleIdentifier.String()` /
/// `RoleNameFromString`); serde uses it too. Parsing rejects more than one
/// colon, an empty name, an empty organization part and a malformed UUID. As
/// in Coder, the nil UUID means "no organization", so `owner:00000000-…`
/// parses to the site role `owner`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RoleIdentifier {
    /// The role's name, e.g. `owner` or `organization-admin`.
    pub name: String,
    /// The organization an organization role belongs to; `None` for site roles.
    pub organization_id: Option<Uuid>,
}

impl RoleIdentifier {
    /// A site-wide role identifier.
    pub fn site(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            organization_id: None,
        }
    }

    /// An organization role identifier. The nil UUID is treated as "no
    /// organization" (as in Coder), which keeps `Display`/`FromStr` round trips exact.
    pub fn org(name: impl Into<String>, org: Uuid) -> Self {
        Self {
            name: name.into(),
            organization_id: (!org.is_nil()).then_some(org),
        }
    }

    /// Whether this identifies an organization role.
    pub fn is_org_role(&self) -> bool {
        self.organization_id.is_some()
    }
}

impl fmt::Display for RoleIdentifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.organization_id {
            Some(org) => write!(f, "{}:{}", self.name, org.hyphenated()),
            None => f.write_str(&self.name),
        }
    }
}

impl FromStr for RoleIdentifier {
    type Err = RbacError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let invalid = |reason: &str| RbacError::InvalidRoleIdentifier(format!("{s:?}: {reason}"));
        let mut parts = s.split(':');
        let name = parts.next().unwrap_or_default();
        let org = parts.next();
        if parts.next().is_some() {
            return Err(invalid("too many colons"));
        }
        if name.is_empty() {
            return Err(invalid("empty role name"));
        }
        match org {
            None => Ok(Self::site(name)),
            Some("") => Err(invalid("empty organization id")),
            Some(org) => {
                let org =
                    Uuid::parse_str(org).map_err(|_| invalid("organization id is not a UUID"))?;
                Ok(Self::org(name, org))
            }
        }
    }
}

impl Serialize for RoleIdentifier {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for RoleIdentifier {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_str(ParseVisitor::<RoleIdentifier>::new("a role identifier"))
    }
}

/// The permissions a role grants inside one organization.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct OrgPermissions {
    /// Apply to every object of the organization.
    pub org: Vec<Permission>,
    /// Apply to objects of the organization owned by the subject.
    pub member: Vec<Permission>,
}

/// A named set of permissions at four levels (Coder's policy version 2).
///
/// * `site` applies to every object;
/// * `user` applies to objects the subject owns that belong to no organization;
/// * `by_org_id[org].org` applies to every object of `org`;
/// * `by_org_id[org].member` applies to objects of `org` the subject owns.
///
/// Every key of `by_org_id` also makes the subject a **member** of that
/// organization (that is how membership reaches the policy).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Role {
    /// The role's name and, for organization roles, organization.
    pub identifier: RoleIdentifier,
    /// Human-readable name; empty means "never shown in the UI" (as in Coder).
    pub display_name: String,
    /// Site-level permissions.
    pub site: Vec<Permission>,
    /// User-level permissions.
    pub user: Vec<Permission>,
    /// Organization and organization-member permissions, per organization.
    pub by_org_id: BTreeMap<Uuid, OrgPermissions>,
}

impl Role {
    /// Whether every permission of the role is valid ([`Permission::is_valid`]),
    /// Coder's `Role.Valid()`.
    pub fn is_valid(&self) -> bool {
        self.permissions().all(Permission::is_valid)
    }

    /// Every permission of the role, at every level.
    pub fn permissions(&self) -> impl Iterator<Item = &Permission> + '_ {
        self.site.iter().chain(&self.user).chain(
            self.by_org_id
                .values()
                .flat_map(|perms| perms.org.iter().chain(&perms.member)),
        )
    }
}
