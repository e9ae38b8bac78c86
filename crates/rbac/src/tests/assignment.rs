//! Coder's role-assignment table (`CanAssignRole`).

use super::{ORG_A, ORG_B};
use crate::RoleIdentifier;
use crate::roles::{self, can_assign_role};

fn site(name: &str) -> RoleIdentifier {
    RoleIdentifier::site(name)
}

fn in_a(name: &str) -> RoleIdentifier {
    RoleIdentifier::org(name, ORG_A)
}

fn in_b(name: &str) -> RoleIdentifier {
    RoleIdentifier::org(name, ORG_B)
}

/// Every built-in role as a target: site roles unscoped, org roles in A.
fn all_builtin_targets() -> Vec<RoleIdentifier> {
    let mut targets: Vec<_> = roles::builtin_site_role_names()
        .iter()
        .map(|n| site(n))
        .collect();
    targets.extend(roles::builtin_org_role_names().iter().map(|n| in_a(n)));
    targets
}

#[test]
fn owner_assigns_every_assignable_role() {
    let owner = [site(roles::OWNER), site(roles::MEMBER)];
    for target in all_builtin_targets() {
        let expected = target.name != roles::ORG_SERVICE_ACCOUNT;
        assert_eq!(can_assign_role(&owner, &target), expected, "{target}");
    }
    assert!(can_assign_role(&owner, &site("my-site-role")));
    assert!(can_assign_role(&owner, &in_b("my-org-role")));
    assert!(can_assign_role(&owner, &in_b(roles::ORG_ADMIN)));
}

#[test]
fn user_admin_assigns_membership_roles_only() {
    let actor = [site(roles::USER_ADMIN), site(roles::MEMBER)];
    let allowed = [
        site(roles::MEMBER),
        in_a(roles::ORG_MEMBER),
        in_b(roles::ORG_WORKSPACE_ACCESS),
    ];
    for target in &allowed {
        assert!(can_assign_role(&actor, target), "{target}");
    }
    for target in all_builtin_targets().into_iter().filter(|t| {
        !matches!(
            t.name.as_str(),
            roles::MEMBER | roles::ORG_MEMBER | roles::ORG_WORKSPACE_ACCESS
        )
    }) {
        assert!(!can_assign_role(&actor, &target), "{target}");
    }
    assert!(!can_assign_role(&actor, &site("my-site-role")));
    assert!(!can_assign_role(&actor, &in_a("my-org-role")));
}

#[test]
fn org_admin_assigns_org_roles_of_its_organization() {
    let actor = [
        site(roles::MEMBER),
        in_a(roles::ORG_MEMBER),
        in_a(roles::ORG_ADMIN),
    ];
    for name in roles::builtin_org_role_names() {
        let expected = *name != roles::ORG_SERVICE_ACCOUNT;
        assert_eq!(
            can_assign_role(&actor, &in_a(name)),
            expected,
            "{name} in A"
        );
        assert!(!can_assign_role(&actor, &in_b(name)), "{name} in B");
    }
    assert!(can_assign_role(&actor, &in_a("my-org-role")));
    assert!(!can_assign_role(&actor, &in_b("my-org-role")));
    for name in roles::builtin_site_role_names() {
        assert!(!can_assign_role(&actor, &site(name)), "{name}");
    }
    assert!(!can_assign_role(&actor, &site("my-site-role")));
}

#[test]
fn org_user_admin_assigns_membership_roles_of_its_organization() {
    let actor = [site(roles::MEMBER), in_a(roles::ORG_USER_ADMIN)];
    assert!(can_assign_role(&actor, &in_a(roles::ORG_MEMBER)));
    assert!(can_assign_role(&actor, &in_a(roles::ORG_WORKSPACE_ACCESS)));
    assert!(!can_assign_role(&actor, &in_b(roles::ORG_MEMBER)));
    assert!(!can_assign_role(&actor, &in_a(roles::ORG_ADMIN)));
    assert!(!can_assign_role(&actor, &in_a(roles::ORG_USER_ADMIN)));
    assert!(!can_assign_role(&actor, &in_a("my-org-role")));
    assert!(!can_assign_role(&actor, &site(roles::MEMBER)));
}

#[test]
fn members_assign_nothing() {
    let actor = [
        site(roles::MEMBER),
        in_a(roles::ORG_MEMBER),
        in_a(roles::ORG_AUDITOR),
    ];
    for target in all_builtin_targets() {
        assert!(!can_assign_role(&actor, &target), "{target}");
    }
    assert!(!can_assign_role(&actor, &in_a("my-org-role")));
    assert!(!can_assign_role(&[], &site(roles::MEMBER)));
}

#[test]
fn retired_and_misplaced_names_are_not_assignable() {
    let owner = [site(roles::OWNER)];
    assert!(!can_assign_role(&owner, &site("agents-access")));
    assert!(!can_assign_role(&owner, &in_a("agents-access")));
    // A reserved site name used as an org role is not a custom role in disguise.
    let org_admin = [in_a(roles::ORG_ADMIN)];
    assert!(!can_assign_role(&org_admin, &in_a(roles::OWNER)));
    // Custom roles named after an actor role grant no assignment rights.
    assert!(!can_assign_role(
        &[in_a("my-org-role")],
        &in_a(roles::ORG_MEMBER)
    ));
}
