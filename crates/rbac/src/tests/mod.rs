//! The crate's tests, grouped by topic. Shared fixtures live here.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod assignment;
mod builtin_roles;
mod decision;
mod identifiers;
mod oracle;
mod scopes;
mod vocabulary;

use std::collections::BTreeMap;

use uuid::Uuid;

use crate::{OrgPermissions, Permission, Role, RoleIdentifier, Scope, Subject, roles};

/// The subject under test.
pub(crate) const ME: Uuid = Uuid::from_u128(0x1);
/// Someone else.
pub(crate) const OTHER: Uuid = Uuid::from_u128(0x2);
/// Two organizations.
pub(crate) const ORG_A: Uuid = Uuid::from_u128(0xA);
pub(crate) const ORG_B: Uuid = Uuid::from_u128(0xB);

pub(crate) fn site(name: &str) -> Role {
    roles::site_role(name).expect("built-in site role")
}

pub(crate) fn org(name: &str, org: Uuid) -> Role {
    roles::org_role(name, org).expect("built-in org role")
}

/// A member of the given organizations with extra roles, under `coder:all`.
pub(crate) fn subject(extra: Vec<Role>) -> Subject {
    Subject::new(ME, extra, Vec::new(), Scope::all())
}

/// A role with explicit permissions at each level.
pub(crate) fn custom_role(
    site: Vec<Permission>,
    user: Vec<Permission>,
    orgs: Vec<(Uuid, Vec<Permission>, Vec<Permission>)>,
) -> Role {
    Role {
        identifier: RoleIdentifier::site("test-role"),
        display_name: String::new(),
        site,
        user,
        by_org_id: orgs
            .into_iter()
            .map(|(id, org, member)| (id, OrgPermissions { org, member }))
            .collect::<BTreeMap<_, _>>(),
    }
}
