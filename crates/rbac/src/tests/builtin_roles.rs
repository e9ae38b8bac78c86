//! What the built-in roles grant.

use super::{ME, ORG_A, ORG_B, OTHER, org, site, subject};
use crate::roles::{self, ShareableWorkspaceOwners};
use crate::{Action, Object, Permission, ResourceType as T, RoleIdentifier, Subject};

fn user_object(id: uuid::Uuid) -> Object {
    Object::new(T::User).with_id(id).owned_by(id)
}

/// A plain member of `orgs` (site `member` + implied `organization-member`).
fn member_of(orgs: &[uuid::Uuid], extra: Vec<crate::Role>) -> Subject {
    let mut granted = vec![site(roles::MEMBER)];
    granted.extend(orgs.iter().map(|&o| org(roles::ORG_MEMBER, o)));
    granted.extend(extra);
    subject(granted)
}

#[test]
fn owner_creates_users_and_members_do_not() {
    let new_user = Object::new(T::User);
    assert!(subject(vec![site(roles::OWNER)]).authorize(Action::Create, &new_user));
    assert!(!member_of(&[ORG_A], vec![]).authorize(Action::Create, &new_user));
    assert!(subject(vec![site(roles::USER_ADMIN)]).authorize(Action::Create, &new_user));
    assert!(!subject(vec![site(roles::AUDITOR)]).authorize(Action::Create, &new_user));
}

#[test]
fn org_admin_is_confined_to_its_organization() {
    let s = member_of(&[ORG_A, ORG_B], vec![org(roles::ORG_ADMIN, ORG_A)]);
    let org_a = Object::new(T::Organization).with_id(ORG_A).in_org(ORG_A);
    let org_b = Object::new(T::Organization).with_id(ORG_B).in_org(ORG_B);
    assert!(s.authorize(Action::Update, &org_a));
    assert!(!s.authorize(Action::Update, &org_b));
    assert!(
        s.authorize(Action::Read, &org_b),
        "organization-member reads its organizations"
    );
    assert!(
        s.authorize(
            Action::Delete,
            &Object::new(T::OrganizationMember)
                .owned_by(OTHER)
                .in_org(ORG_A)
        )
    );
    assert!(
        !s.authorize(
            Action::Delete,
            &Object::new(T::OrganizationMember)
                .owned_by(OTHER)
                .in_org(ORG_B)
        )
    );
    // Reads users site-wide (to add them), cannot create them.
    assert!(s.authorize(Action::Read, &user_object(OTHER)));
    assert!(!s.authorize(Action::Create, &Object::new(T::User)));
    // No site role assignment, no exec into others' workspaces.
    assert!(!s.authorize(Action::Assign, &Object::new(T::AssignRole)));
    assert!(s.authorize(Action::Assign, &Object::new(T::AssignOrgRole).in_org(ORG_A)));
    let workspace = Object::new(T::Workspace).owned_by(OTHER).in_org(ORG_A);
    assert!(s.authorize(Action::Stop, &workspace));
    assert!(!s.authorize(Action::Ssh, &workspace));
}

#[test]
fn auditor_reads_audit_logs_but_cannot_change_users() {
    let s = subject(vec![site(roles::AUDITOR), site(roles::MEMBER)]);
    assert!(s.authorize(Action::Read, &Object::new(T::AuditLog)));
    assert!(s.authorize(Action::Read, &Object::new(T::AuditLog).in_org(ORG_A)));
    assert!(!s.authorize(Action::Create, &Object::new(T::AuditLog)));
    assert!(s.authorize(Action::Read, &user_object(OTHER)));
    assert!(!s.authorize(Action::Update, &user_object(OTHER)));
    assert!(!s.authorize(Action::Delete, &user_object(OTHER)));
}

#[test]
fn member_manages_itself_only() {
    let s = member_of(&[ORG_A], vec![]);
    let me = user_object(ME);
    assert!(s.authorize(Action::Read, &me));
    assert!(s.authorize(Action::ReadPersonal, &me));
    assert!(s.authorize(Action::UpdatePersonal, &me));
    assert!(!s.authorize(Action::Update, &me));
    assert!(!s.authorize(Action::Delete, &me));
    assert!(!s.authorize(Action::Read, &user_object(OTHER)));

    let my_key = Object::new(T::ApiKey).owned_by(ME);
    for &action in T::ApiKey.actions() {
        assert!(s.authorize(action, &my_key), "{action}");
    }
    assert!(!s.authorize(Action::Read, &Object::new(T::ApiKey).owned_by(OTHER)));
    assert!(s.authorize(Action::Read, &Object::new(T::OAuth2App)));
    assert!(!s.authorize(Action::Create, &Object::new(T::OAuth2App)));
    assert!(s.authorize(Action::Read, &Object::new(T::AssignRole)));
    assert!(!s.authorize(Action::Assign, &Object::new(T::AssignRole)));
}

#[test]
fn organization_member_is_the_membership_floor() {
    let s = member_of(&[ORG_A], vec![]);
    assert!(s.authorize(
        Action::Read,
        &Object::new(T::Organization).with_id(ORG_A).in_org(ORG_A)
    ));
    assert!(!s.authorize(
        Action::Update,
        &Object::new(T::Organization).with_id(ORG_A).in_org(ORG_A)
    ));
    assert!(!s.authorize(
        Action::Read,
        &Object::new(T::Organization).with_id(ORG_B).in_org(ORG_B)
    ));
    assert!(
        s.authorize(
            Action::Read,
            &Object::new(T::OrganizationMember)
                .owned_by(ME)
                .in_org(ORG_A)
        )
    );
    assert!(
        !s.authorize(
            Action::Update,
            &Object::new(T::OrganizationMember)
                .owned_by(ME)
                .in_org(ORG_A)
        )
    );
    assert!(s.authorize(
        Action::Read,
        &Object::new(T::GroupMember).owned_by(ME).in_org(ORG_A)
    ));
    assert!(s.authorize(Action::Read, &Object::new(T::AssignOrgRole).in_org(ORG_A)));
    assert!(s.authorize(
        Action::Read,
        &Object::new(T::ProvisionerDaemon).in_org(ORG_A)
    ));
    assert!(s.authorize(
        Action::Delete,
        &Object::new(T::ApiKey).owned_by(ME).in_org(ORG_A)
    ));
    // With sharing open (the default) members see each other and the groups.
    assert!(
        s.authorize(
            Action::Read,
            &Object::new(T::OrganizationMember)
                .owned_by(OTHER)
                .in_org(ORG_A)
        )
    );
    assert!(s.authorize(Action::Read, &Object::new(T::Group).in_org(ORG_A)));
    // No workspace access by default.
    let my_workspace = Object::new(T::Workspace).owned_by(ME).in_org(ORG_A);
    assert!(!s.authorize(Action::Create, &my_workspace));
    assert!(!s.authorize(Action::Read, &my_workspace));
    let s = member_of(&[ORG_A], vec![org(roles::ORG_WORKSPACE_ACCESS, ORG_A)]);
    assert!(s.authorize(Action::Create, &my_workspace));
    assert!(s.authorize(Action::Read, &my_workspace));
    assert!(!s.authorize(
        Action::Read,
        &Object::new(T::Workspace).owned_by(OTHER).in_org(ORG_A)
    ));
}

#[test]
fn workspace_sharing_setting_shapes_organization_member() {
    let closed = subject(vec![roles::org_member_role(
        ORG_A,
        ShareableWorkspaceOwners::None,
    )]);
    assert!(
        !closed.authorize(
            Action::Read,
            &Object::new(T::OrganizationMember)
                .owned_by(OTHER)
                .in_org(ORG_A)
        )
    );
    assert!(
        closed.authorize(
            Action::Read,
            &Object::new(T::OrganizationMember)
                .owned_by(ME)
                .in_org(ORG_A)
        )
    );
    assert!(!closed.authorize(Action::Read, &Object::new(T::Group).in_org(ORG_A)));

    let service_accounts = roles::org_member_role(ORG_A, ShareableWorkspaceOwners::ServiceAccounts);
    assert!(
        service_accounts.by_org_id[&ORG_A]
            .member
            .contains(&Permission::deny(T::Workspace, Action::Share))
    );
    let everyone = roles::org_member_role(ORG_A, ShareableWorkspaceOwners::Everyone);
    assert_eq!(Some(everyone), roles::org_role(roles::ORG_MEMBER, ORG_A));
    // Even the workspace-access role cannot share when sharing is off org-wide.
    let s = subject(vec![
        roles::org_member_role(ORG_A, ShareableWorkspaceOwners::None),
        org(roles::ORG_WORKSPACE_ACCESS, ORG_A),
        org(roles::ORG_ADMIN, ORG_A),
    ]);
    assert!(!s.authorize(
        Action::Share,
        &Object::new(T::Workspace).owned_by(ME).in_org(ORG_A)
    ));
}

#[test]
fn owner_has_every_type_but_not_other_users_secrets() {
    let owner = subject(vec![site(roles::OWNER)]);
    for &t in T::ALL {
        let object = Object::new(t).owned_by(OTHER).in_org(ORG_A);
        let covered = t.actions().iter().any(|&a| owner.authorize(a, &object));
        let expected = !matches!(
            t,
            T::UserSecret | T::UsageEvent | T::BoundaryUsage | T::AiSeat
        );
        assert_eq!(covered, expected, "{t}");
    }
    let workspace = Object::new(T::Workspace).owned_by(OTHER).in_org(ORG_A);
    assert!(owner.authorize(Action::Ssh, &workspace));
    assert!(!owner.authorize(
        Action::Start,
        &Object::new(T::WorkspaceDormant).owned_by(OTHER)
    ));
    assert!(owner.authorize(Action::Delete, &Object::new(T::UserSkill).owned_by(OTHER)));
    assert!(!owner.authorize(Action::Create, &Object::new(T::UserSkill).owned_by(OTHER)));
    assert!(!owner.authorize(Action::Update, &Object::new(T::AiGatewayKey)));
}

#[test]
fn template_and_user_admins() {
    let templates = subject(vec![site(roles::TEMPLATE_ADMIN)]);
    assert!(templates.authorize(Action::Create, &Object::new(T::Template).in_org(ORG_B)));
    assert!(templates.authorize(
        Action::Read,
        &Object::new(T::Workspace).owned_by(OTHER).in_org(ORG_B)
    ));
    assert!(!templates.authorize(
        Action::Update,
        &Object::new(T::Workspace).owned_by(OTHER).in_org(ORG_B)
    ));
    assert!(!templates.authorize(Action::Update, &user_object(OTHER)));

    let users = subject(vec![site(roles::USER_ADMIN)]);
    assert!(users.authorize(Action::Create, &Object::new(T::Group).in_org(ORG_B)));
    assert!(users.authorize(Action::Assign, &Object::new(T::AssignRole)));
    assert!(users.authorize(
        Action::Update,
        &Object::new(T::IdpsyncSettings).in_org(ORG_B)
    ));
    assert!(!users.authorize(Action::Read, &Object::new(T::AuditLog)));
    assert!(!users.authorize(Action::Create, &Object::new(T::Organization)));
}

#[test]
fn organization_scoped_admins() {
    let s = member_of(
        &[ORG_A, ORG_B],
        vec![
            org(roles::ORG_USER_ADMIN, ORG_A),
            org(roles::ORG_TEMPLATE_ADMIN, ORG_B),
        ],
    );
    assert!(s.authorize(
        Action::Create,
        &Object::new(T::OrganizationMember).in_org(ORG_A)
    ));
    assert!(!s.authorize(
        Action::Create,
        &Object::new(T::OrganizationMember).in_org(ORG_B)
    ));
    assert!(s.authorize(Action::Delete, &Object::new(T::Group).in_org(ORG_A)));
    assert!(!s.authorize(Action::Delete, &Object::new(T::Group).in_org(ORG_B)));
    assert!(s.authorize(
        Action::Unassign,
        &Object::new(T::AssignOrgRole).in_org(ORG_A)
    ));
    assert!(!s.authorize(Action::Create, &Object::new(T::AssignOrgRole).in_org(ORG_A)));
    assert!(s.authorize(Action::Create, &Object::new(T::Template).in_org(ORG_B)));
    assert!(!s.authorize(Action::Create, &Object::new(T::Template).in_org(ORG_A)));

    let auditor = member_of(&[ORG_A], vec![org(roles::ORG_AUDITOR, ORG_A)]);
    assert!(auditor.authorize(Action::Read, &Object::new(T::AuditLog).in_org(ORG_A)));
    assert!(!auditor.authorize(Action::Read, &Object::new(T::AuditLog)));
}

#[test]
fn builtin_roles_are_valid_and_named() {
    for name in roles::builtin_site_role_names() {
        let role = site(name);
        assert!(role.is_valid(), "{name}");
        assert_eq!(role.identifier, RoleIdentifier::site(*name));
        assert!(role.by_org_id.is_empty());
        assert_eq!(Some(role.display_name.as_str()), roles::display_name(name));
        assert!(
            roles::org_role(name, ORG_A).is_none(),
            "{name} is not an org role"
        );
        assert!(roles::is_reserved_name(name));
    }
    for name in roles::builtin_org_role_names() {
        let role = org(name, ORG_A);
        assert!(role.is_valid(), "{name}");
        assert_eq!(role.identifier, RoleIdentifier::org(*name, ORG_A));
        assert_eq!(
            role.by_org_id.keys().copied().collect::<Vec<_>>(),
            vec![ORG_A]
        );
        assert!(role.user.is_empty());
        assert!(
            roles::site_role(name).is_none(),
            "{name} is not a site role"
        );
        assert!(roles::is_reserved_name(name));
    }
    assert_eq!(roles::display_name(roles::OWNER), Some("Owner"));
    assert_eq!(
        roles::display_name(roles::ORG_ADMIN),
        Some("Organization Admin")
    );
    assert_eq!(roles::display_name(roles::ORG_MEMBER), Some(""));
    assert_eq!(roles::display_name("my-role"), None);
    for name in [
        roles::CUSTOM_SITE_ROLE,
        roles::CUSTOM_ORG_ROLE,
        "agents-access",
    ] {
        assert!(roles::is_reserved_name(name), "{name}");
        assert!(roles::site_role(name).is_none() && roles::org_role(name, ORG_A).is_none());
    }
    assert!(!roles::is_reserved_name("my-role"));
    assert_eq!(roles::builtin_site_role_names()[0], roles::OWNER);
    assert!(roles::builtin_org_role_names().contains(&roles::ORG_MEMBER));
}

#[test]
fn custom_org_roles_live_in_one_organization() {
    let role = roles::custom_org_role(
        "reader",
        "Reader",
        ORG_A,
        vec![Permission::allow(T::Template, Action::Read)],
        vec![Permission::allow(T::Workspace, Action::Read)],
    );
    assert_eq!(role.identifier.to_string(), format!("reader:{ORG_A}"));
    assert!(role.site.is_empty() && role.user.is_empty());
    let s = subject(vec![role]);
    assert!(s.is_org_member(ORG_A));
    assert!(s.authorize(Action::Read, &Object::new(T::Template).in_org(ORG_A)));
    assert!(!s.authorize(Action::Read, &Object::new(T::Template).in_org(ORG_B)));
    assert!(s.authorize(
        Action::Read,
        &Object::new(T::Workspace).owned_by(ME).in_org(ORG_A)
    ));
    assert!(!s.authorize(
        Action::Read,
        &Object::new(T::Workspace).owned_by(OTHER).in_org(ORG_A)
    ));
}
