//! Coder's built-in roles, reserved role names and the role-assignment table
//! (`coderd/rbac/roles.go`, newest snapshot, default role options).
//!
//! Built-in roles are built on demand, already expanded for their
//! organization; callers keep only the names (site roles in the user record,
//! organization roles per membership, without the `:org` suffix) and expand
//! them per request.

use std::collections::BTreeMap;

use uuid::Uuid;

use crate::permission::{Permission, allow_all, every_type_except};
use crate::resource::{Action, ResourceType as T};
use crate::role::{OrgPermissions, Role, RoleIdentifier};

/// `owner`: everything, site-wide.
pub const OWNER: &str = "owner";
/// `member`: every user holds it; access to what they own.
pub const MEMBER: &str = "member";
/// `auditor`: reads audit logs and what they refer to.
pub const AUDITOR: &str = "auditor";
/// `template-admin`: manages templates, files and provisioners site-wide.
pub const TEMPLATE_ADMIN: &str = "template-admin";
/// `user-admin`: manages users, groups and memberships site-wide.
pub const USER_ADMIN: &str = "user-admin";
/// `organization-admin`: everything inside one organization.
pub const ORG_ADMIN: &str = "organization-admin";
/// `organization-auditor`: reads an organization's audit trail.
pub const ORG_AUDITOR: &str = "organization-auditor";
/// `organization-user-admin`: manages an organization's members and groups.
pub const ORG_USER_ADMIN: &str = "organization-user-admin";
/// `organization-template-admin`: manages an organization's templates.
pub const ORG_TEMPLATE_ADMIN: &str = "organization-template-admin";
/// `organization-workspace-creation-ban`: denies creating/deleting workspaces.
pub const ORG_WORKSPACE_CREATION_BAN: &str = "organization-workspace-creation-ban";
/// `organization-workspace-access`: create and use one's own workspaces
/// (Coder gives it to new members through `default_org_member_roles`).
pub const ORG_WORKSPACE_ACCESS: &str = "organization-workspace-access";
/// `organization-member`: implied for every member of an organization; it is
/// what makes the subject a member. Never stored.
pub const ORG_MEMBER: &str = "organization-member";
/// `organization-service-account`: the system role of service accounts
/// (organization-member's counterpart without chat permissions).
pub const ORG_SERVICE_ACCOUNT: &str = "organization-service-account";
/// Placeholder standing for every custom site role in the assignment table.
pub const CUSTOM_SITE_ROLE: &str = "custom-site-role";
/// Placeholder standing for every custom organization role in the assignment table.
pub const CUSTOM_ORG_ROLE: &str = "custom-organization-role";
/// Retired built-in names: reserved, but granting nothing and never assignable.
pub const RETIRED_ROLE_NAMES: &[&str] = &["agents-access"];

const SITE_ROLES: &[&str] = &[OWNER, AUDITOR, TEMPLATE_ADMIN, USER_ADMIN, MEMBER];
const ORG_ROLES: &[&str] = &[
    ORG_ADMIN,
    ORG_AUDITOR,
    ORG_USER_ADMIN,
    ORG_TEMPLATE_ADMIN,
    ORG_WORKSPACE_CREATION_BAN,
    ORG_WORKSPACE_ACCESS,
    ORG_MEMBER,
    ORG_SERVICE_ACCOUNT,
];

/// The built-in site roles, in listing order: owner, auditor, template-admin,
/// user-admin, member.
pub fn builtin_site_role_names() -> &'static [&'static str] {
    SITE_ROLES
}

/// The built-in organization roles, in listing order, ending with the two
/// implied system roles (`organization-member`, `organization-service-account`,
/// whose display names are empty, i.e. hidden in Coder's role listings).
pub fn builtin_org_role_names() -> &'static [&'static str] {
    ORG_ROLES
}

/// Coder's display name of a built-in role. `Some("")` marks the implied
/// system roles, which Coder hides from role listings; `None` means the name
/// is not a built-in role.
pub fn display_name(name: &str) -> Option<&'static str> {
    Some(match name {
        OWNER => "Owner",
        MEMBER => "Member",
        AUDITOR => "Auditor",
        TEMPLATE_ADMIN => "Template Admin",
        USER_ADMIN => "User Admin",
        ORG_ADMIN => "Organization Admin",
        ORG_AUDITOR => "Organization Auditor",
        ORG_USER_ADMIN => "Organization User Admin",
        ORG_TEMPLATE_ADMIN => "Organization Template Admin",
        ORG_WORKSPACE_CREATION_BAN => "Organization Workspace Creation Ban",
        ORG_WORKSPACE_ACCESS => "Organization Workspace Access",
        ORG_MEMBER | ORG_SERVICE_ACCOUNT => "",
        _ => return None,
    })
}

/// Whether a custom role may not take this name: built-in site and
/// organization roles, the custom-role placeholders and retired names.
pub fn is_reserved_name(name: &str) -> bool {
    SITE_ROLES.contains(&name)
        || ORG_ROLES.contains(&name)
        || name == CUSTOM_SITE_ROLE
        || name == CUSTOM_ORG_ROLE
        || RETIRED_ROLE_NAMES.contains(&name)
}

/// Whether `name` is a built-in site role.
pub fn is_builtin_site_role(name: &str) -> bool {
    SITE_ROLES.contains(&name)
}

/// Whether `name` is a built-in organization role.
pub fn is_builtin_org_role(name: &str) -> bool {
    ORG_ROLES.contains(&name)
}

/// A built-in site role, expanded; `None` for anything else (organization
/// roles, custom and retired names).
pub fn site_role(name: &str) -> Option<Role> {
    let (site, user) = match name {
        OWNER => (owner_site_permissions(), Vec::new()),
        MEMBER => (member_site_permissions(), member_user_permissions()),
        AUDITOR => (auditor_site_permissions(), Vec::new()),
        TEMPLATE_ADMIN => (template_admin_site_permissions(), Vec::new()),
        USER_ADMIN => (user_admin_site_permissions(), Vec::new()),
        _ => return None,
    };
    Some(Role {
        identifier: RoleIdentifier::site(name),
        display_name: display_name(name).unwrap_or_default().to_owned(),
        site,
        user,
        by_org_id: BTreeMap::new(),
    })
}

/// A built-in organization role expanded for `org` (including the implied
/// `organization-member`, with Coder's default workspace-sharing setting);
/// `None` for anything else.
pub fn org_role(name: &str, org: Uuid) -> Option<Role> {
    let user_read = || allow_all(&[(T::User, &[Action::Read])]);
    let (site, perms) = match name {
        ORG_ADMIN => (user_read(), org_admin_permissions()),
        ORG_AUDITOR => (Vec::new(), org_auditor_permissions()),
        ORG_USER_ADMIN => (user_read(), org_user_admin_permissions()),
        ORG_TEMPLATE_ADMIN => (Vec::new(), org_template_admin_permissions()),
        ORG_WORKSPACE_CREATION_BAN => (Vec::new(), org_workspace_creation_ban_permissions()),
        ORG_WORKSPACE_ACCESS => (Vec::new(), org_workspace_access_permissions()),
        ORG_MEMBER => (
            Vec::new(),
            org_member_permissions(ShareableWorkspaceOwners::default()),
        ),
        ORG_SERVICE_ACCOUNT => (
            Vec::new(),
            org_service_account_permissions(ShareableWorkspaceOwners::default()),
        ),
        _ => return None,
    };
    Some(org_scoped_role(
        name,
        display_name(name).unwrap_or_default(),
        org,
        site,
        perms,
    ))
}

/// Who may own workspaces that are shared, an organization setting that
/// shapes the implied `organization-member` and `organization-service-account`
/// roles (Coder's `OrgSettings.ShareableWorkspaceOwners`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum ShareableWorkspaceOwners {
    /// Sharing is off: members cannot share, nor see other members for it.
    None,
    /// Everyone may share (Coder's default for new organizations).
    #[default]
    Everyone,
    /// Only service accounts' workspaces may be shared.
    ServiceAccounts,
}

/// The implied `organization-member` role of `org` under a given sharing setting.
pub fn org_member_role(org: Uuid, sharing: ShareableWorkspaceOwners) -> Role {
    org_scoped_role(
        ORG_MEMBER,
        "",
        org,
        Vec::new(),
        org_member_permissions(sharing),
    )
}

/// The implied `organization-service-account` role of `org` under a given sharing setting.
pub fn org_service_account_role(org: Uuid, sharing: ShareableWorkspaceOwners) -> Role {
    org_scoped_role(
        ORG_SERVICE_ACCOUNT,
        "",
        org,
        Vec::new(),
        org_service_account_permissions(sharing),
    )
}

/// A custom organization role: organization-wide and member-level permissions
/// in one organization, nothing at site or user level (Coder's rule for
/// custom organization roles).
pub fn custom_org_role(
    name: &str,
    display_name: &str,
    org: Uuid,
    org_perms: Vec<Permission>,
    member_perms: Vec<Permission>,
) -> Role {
    org_scoped_role(
        name,
        display_name,
        org,
        Vec::new(),
        OrgPermissions {
            org: org_perms,
            member: member_perms,
        },
    )
}

/// Coder's `CanAssignRole`: may an actor holding `actor_roles` assign (or
/// unassign) `target`?
///
/// Each actor role grants assignment of the role names listed for it in
/// Coder's table; an actor's organization role only counts for targets in the
/// same organization. A target whose name is not reserved is a custom role and
/// is looked up as the `custom-organization-role` (or `custom-site-role`)
/// placeholder. Retired names are never assignable.
pub fn can_assign_role(actor_roles: &[RoleIdentifier], target: &RoleIdentifier) -> bool {
    if RETIRED_ROLE_NAMES.contains(&target.name.as_str()) {
        return false;
    }
    let target_name = if is_reserved_name(&target.name) {
        target.name.as_str()
    } else if target.is_org_role() {
        CUSTOM_ORG_ROLE
    } else {
        CUSTOM_SITE_ROLE
    };
    actor_roles
        .iter()
        .filter(|actor| {
            actor.organization_id.is_none() || actor.organization_id == target.organization_id
        })
        .any(|actor| assignable_by(&actor.name).contains(&target_name))
}

/// The role names a holder of `actor` may assign (Coder's `assignRoles`).
fn assignable_by(actor: &str) -> &'static [&'static str] {
    match actor {
        OWNER => &[
            OWNER,
            AUDITOR,
            MEMBER,
            ORG_ADMIN,
            ORG_MEMBER,
            ORG_AUDITOR,
            ORG_USER_ADMIN,
            ORG_TEMPLATE_ADMIN,
            ORG_WORKSPACE_CREATION_BAN,
            ORG_WORKSPACE_ACCESS,
            TEMPLATE_ADMIN,
            USER_ADMIN,
            CUSTOM_SITE_ROLE,
            CUSTOM_ORG_ROLE,
        ],
        USER_ADMIN => &[MEMBER, ORG_MEMBER, ORG_WORKSPACE_ACCESS],
        ORG_ADMIN => &[
            ORG_ADMIN,
            ORG_MEMBER,
            ORG_AUDITOR,
            ORG_USER_ADMIN,
            ORG_TEMPLATE_ADMIN,
            ORG_WORKSPACE_CREATION_BAN,
            ORG_WORKSPACE_ACCESS,
            CUSTOM_ORG_ROLE,
        ],
        ORG_USER_ADMIN => &[ORG_MEMBER, ORG_WORKSPACE_ACCESS],
        _ => &[],
    }
}

fn org_scoped_role(
    name: &str,
    display_name: &str,
    org: Uuid,
    site: Vec<Permission>,
    perms: OrgPermissions,
) -> Role {
    Role {
        identifier: RoleIdentifier::org(name, org),
        display_name: display_name.to_owned(),
        site,
        user: Vec::new(),
        by_org_id: BTreeMap::from([(org, perms)]),
    }
}

// ---------------------------------------------------------------------------
// Permission sets. Each mirrors one role of Coder's roles.go.
// ---------------------------------------------------------------------------

/// Dormant workspaces: workspace actions minus start, ssh, app connect and share.
const DORMANT_WORKSPACE_ACTIONS: &[Action] = &[
    Action::Read,
    Action::Delete,
    Action::Create,
    Action::Update,
    Action::Stop,
    Action::CreateAgent,
    Action::DeleteAgent,
    Action::UpdateAgent,
];

/// Workspace actions without the ones that execute code in the workspace.
fn workspace_actions_without_exec() -> Vec<Action> {
    T::Workspace
        .actions()
        .iter()
        .copied()
        .filter(|a| !matches!(a, Action::Ssh | Action::ApplicationConnect))
        .collect()
}

fn owner_site_permissions() -> Vec<Permission> {
    let mut perms = every_type_except(&[
        T::WorkspaceDormant,
        T::PrebuiltWorkspace,
        T::Workspace,
        T::UserSecret,
        T::UserSkill,
        T::UsageEvent,
        T::BoundaryUsage,
        T::BoundaryLog,
        T::AiSeat,
        T::AiGatewayKey,
    ]);
    perms.extend(allow_all(&[
        (T::Workspace, T::Workspace.actions()),
        (T::WorkspaceDormant, DORMANT_WORKSPACE_ACTIONS),
        // Owners may inspect and remove personal skills, not author them.
        (T::UserSkill, &[Action::Read, Action::Delete]),
        // Updating a gateway key records liveness; reserved for the system.
        (
            T::AiGatewayKey,
            &[Action::Create, Action::Read, Action::Delete],
        ),
        (T::PrebuiltWorkspace, &[Action::Update, Action::Delete]),
        (T::BoundaryLog, &[Action::Read]),
    ]));
    perms
}

fn member_site_permissions() -> Vec<Permission> {
    allow_all(&[
        (T::AssignRole, &[Action::Read]),
        (T::OAuth2App, &[Action::Read]),
        (T::WorkspaceProxy, &[Action::Read]),
    ])
}

fn member_user_permissions() -> Vec<Permission> {
    let mut perms = every_type_except(&[
        T::WorkspaceDormant,
        T::PrebuiltWorkspace,
        T::Workspace,
        T::User,
        T::OrganizationMember,
        T::BoundaryUsage,
        T::BoundaryLog,
        T::AibridgeInterception,
        T::Chat,
        T::AiSeat,
    ]);
    perms.extend(allow_all(&[
        // Users read themselves and manage their personal data, nothing more.
        (
            T::User,
            &[Action::Read, Action::ReadPersonal, Action::UpdatePersonal],
        ),
        (
            T::ProvisionerDaemon,
            &[Action::Read, Action::Create, Action::Update],
        ),
        (T::AibridgeInterception, &[Action::Create, Action::Update]),
        (T::BoundaryLog, &[Action::Create]),
    ]));
    perms
}

fn auditor_site_permissions() -> Vec<Permission> {
    allow_all(&[
        (T::AssignOrgRole, &[Action::Read]),
        (T::AuditLog, &[Action::Read]),
        (T::ConnectionLog, &[Action::Read]),
        (T::Template, &[Action::Read, Action::ViewInsights]),
        (T::User, &[Action::Read]),
        (T::Group, &[Action::Read]),
        (T::GroupMember, &[Action::Read]),
        (T::Organization, &[Action::Read]),
        (T::OrganizationMember, &[Action::Read]),
        (T::DeploymentStats, &[Action::Read]),
        (T::DeploymentConfig, &[Action::Read]),
        (T::ChatModelConfig, &[Action::Read]),
        (T::AibridgeInterception, &[Action::Read]),
        (T::BoundaryLog, &[Action::Read]),
    ])
}

fn template_admin_site_permissions() -> Vec<Permission> {
    allow_all(&[
        (T::AssignOrgRole, &[Action::Read]),
        (T::Template, T::Template.actions()),
        (T::File, &[Action::Create, Action::Read]),
        (T::Workspace, &[Action::Read]),
        (T::WorkspaceDormant, &[Action::Read]),
        (T::PrebuiltWorkspace, &[Action::Update, Action::Delete]),
        (
            T::ProvisionerDaemon,
            &[Action::Create, Action::Read, Action::Update, Action::Delete],
        ),
        (T::User, &[Action::Read]),
        (T::Group, &[Action::Read]),
        (T::GroupMember, &[Action::Read]),
        (T::Organization, &[Action::Read]),
        (T::OrganizationMember, &[Action::Read]),
    ])
}

fn user_admin_site_permissions() -> Vec<Permission> {
    allow_all(&[
        (
            T::AssignRole,
            &[Action::Assign, Action::Unassign, Action::Read],
        ),
        // Creating a user always places them in an organization.
        (
            T::AssignOrgRole,
            &[Action::Assign, Action::Unassign, Action::Read],
        ),
        (T::User, T::User.actions()),
        (
            T::Group,
            &[Action::Create, Action::Read, Action::Update, Action::Delete],
        ),
        (T::GroupMember, &[Action::Read]),
        (T::Organization, &[Action::Read]),
        (
            T::OrganizationMember,
            &[Action::Create, Action::Read, Action::Update, Action::Delete],
        ),
        (T::IdpsyncSettings, &[Action::Read, Action::Update]),
    ])
}

fn org_admin_permissions() -> OrgPermissions {
    let mut org = every_type_except(&[
        T::Workspace,
        T::WorkspaceDormant,
        T::PrebuiltWorkspace,
        T::AssignRole,
        T::UserSecret,
        T::BoundaryUsage,
        T::BoundaryLog,
        T::AiSeat,
        T::WorkspaceBuildOrchestration,
    ]);
    org.extend(allow_all(&[
        // No exec access to other people's workspaces.
        (T::Workspace, &workspace_actions_without_exec()),
        (T::WorkspaceDormant, DORMANT_WORKSPACE_ACTIONS),
        (T::PrebuiltWorkspace, &[Action::Update, Action::Delete]),
    ]));
    OrgPermissions {
        org,
        member: Vec::new(),
    }
}

fn org_auditor_permissions() -> OrgPermissions {
    OrgPermissions {
        org: allow_all(&[
            (T::AuditLog, &[Action::Read]),
            (T::ConnectionLog, &[Action::Read]),
            (T::Template, &[Action::Read, Action::ViewInsights]),
            (T::Group, &[Action::Read]),
            (T::GroupMember, &[Action::Read]),
            (T::Organization, &[Action::Read]),
            (T::OrganizationMember, &[Action::Read]),
            (T::ChatModelConfig, &[Action::Read]),
        ]),
        member: Vec::new(),
    }
}

fn org_user_admin_permissions() -> OrgPermissions {
    OrgPermissions {
        org: allow_all(&[
            (
                T::AssignOrgRole,
                &[Action::Assign, Action::Unassign, Action::Read],
            ),
            (T::Organization, &[Action::Read]),
            (
                T::OrganizationMember,
                &[Action::Create, Action::Read, Action::Update, Action::Delete],
            ),
            (T::Group, T::Group.actions()),
            (T::GroupMember, T::GroupMember.actions()),
            (T::IdpsyncSettings, &[Action::Read, Action::Update]),
        ]),
        member: Vec::new(),
    }
}

fn org_template_admin_permissions() -> OrgPermissions {
    OrgPermissions {
        org: allow_all(&[
            (T::Template, T::Template.actions()),
            (T::File, &[Action::Create, Action::Read]),
            (T::Workspace, &[Action::Read]),
            (T::WorkspaceDormant, &[Action::Read]),
            (T::PrebuiltWorkspace, &[Action::Update, Action::Delete]),
            (T::Organization, &[Action::Read]),
            (T::OrganizationMember, &[Action::Read]),
            (T::Group, &[Action::Read]),
            (T::GroupMember, &[Action::Read]),
            (
                T::ProvisionerDaemon,
                &[Action::Create, Action::Read, Action::Update, Action::Delete],
            ),
            (
                T::ProvisionerJobs,
                &[Action::Read, Action::Update, Action::Create],
            ),
        ]),
        member: Vec::new(),
    }
}

fn org_workspace_creation_ban_permissions() -> OrgPermissions {
    let banned = [
        Action::Create,
        Action::Delete,
        Action::CreateAgent,
        Action::DeleteAgent,
    ];
    OrgPermissions {
        org: banned
            .into_iter()
            .map(|a| Permission::deny(T::Workspace, a))
            .collect(),
        member: Vec::new(),
    }
}

fn org_workspace_access_permissions() -> OrgPermissions {
    OrgPermissions {
        org: Vec::new(),
        member: allow_all(&[
            (T::Workspace, T::Workspace.actions()),
            (T::WorkspaceDormant, DORMANT_WORKSPACE_ACTIONS),
            (T::File, &[Action::Create, Action::Read]),
            (T::ProvisionerDaemon, &[Action::Create, Action::Read]),
        ]),
    }
}

/// Organization-level permissions common to members and service accounts.
fn org_floor(sharing: ShareableWorkspaceOwners, group_read: bool) -> Vec<Permission> {
    let mut org = allow_all(&[
        (T::ProvisionerDaemon, &[Action::Read]),
        (T::Organization, &[Action::Read]),
        (T::AssignOrgRole, &[Action::Read]),
    ]);
    if sharing != ShareableWorkspaceOwners::None {
        // Needed to share with other members or reach their shared workspaces.
        org.push(Permission::allow(T::OrganizationMember, Action::Read));
        if group_read {
            org.push(Permission::allow(T::Group, Action::Read));
        }
    } else {
        // Blocks sharing of any workspace in the org, whatever other roles say.
        org.push(Permission::deny(T::Workspace, Action::Share));
    }
    org
}

/// Member-level permissions common to members and service accounts.
fn member_floor() -> Vec<Permission> {
    allow_all(&[
        (T::OrganizationMember, &[Action::Read]),
        (T::GroupMember, &[Action::Read]),
        (T::AibridgeInterception, &[Action::Create, Action::Update]),
        (T::ApiKey, T::ApiKey.actions()),
        (T::NotificationMessage, &[Action::Read, Action::Update]),
        (
            T::NotificationPreference,
            T::NotificationPreference.actions(),
        ),
        (T::InboxNotification, T::InboxNotification.actions()),
    ])
}

fn org_member_permissions(sharing: ShareableWorkspaceOwners) -> OrgPermissions {
    let mut org = org_floor(sharing, sharing == ShareableWorkspaceOwners::Everyone);
    org.push(Permission::allow(T::ChatProject, Action::Create));
    let mut member = member_floor();
    member.extend(allow_all(&[
        (
            T::Chat,
            &[Action::Create, Action::Read, Action::Share, Action::Update],
        ),
        (
            T::ChatProject,
            &[Action::Read, Action::Update, Action::Delete, Action::Share],
        ),
    ]));
    if sharing != ShareableWorkspaceOwners::Everyone {
        member.push(Permission::deny(T::Workspace, Action::Share));
    }
    OrgPermissions { org, member }
}

fn org_service_account_permissions(sharing: ShareableWorkspaceOwners) -> OrgPermissions {
    OrgPermissions {
        org: org_floor(sharing, true),
        member: member_floor(),
    }
}
