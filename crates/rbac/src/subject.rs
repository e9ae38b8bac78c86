//! The caller, compiled for fast decisions.

use std::fmt;

use uuid::Uuid;

use crate::compiled::{
    CompiledAllowList, CompiledPermissions, OrgTarget, PermissionSet, Target, Vote,
};
use crate::object::Object;
use crate::org_index::OrgIndex;
use crate::resource::Action;
use crate::role::{Role, RoleIdentifier};
use crate::scope::Scope;

/// Who is asking: a user id, their expanded roles, their groups and the scope
/// of the credential they used.
///
/// Build one per request with [`Subject::new`]; roles and scope are compiled
/// into lookup tables then, so [`Subject::authorize`] only does a handful of
/// table lookups (plus a scan of the object's ACL lists when roles do not
/// already allow the request).
///
/// Organization membership comes from the roles: every organization that
/// appears in some role's `by_org_id` is a membership. Expand the implied
/// [`roles::ORG_MEMBER`](crate::roles::ORG_MEMBER) role for every membership,
/// or group and Everyone ACLs will not apply.
#[derive(Clone)]
pub struct Subject {
    id: Uuid,
    roles: Vec<Role>,
    groups: Vec<Uuid>,
    sorted_groups: Vec<Uuid>,
    scope: Scope,
    /// Sorted, deduplicated organization ids from the roles' `by_org_id`.
    memberships: Vec<Uuid>,
    /// Constant-time position lookup in `memberships`.
    org_index: OrgIndex,
    role_permissions: CompiledPermissions,
    scope_permissions: CompiledPermissions,
    allow_list: CompiledAllowList,
}

/// Every intermediate value of one decision, in the spirit of the output of
/// Coder's policy playground. Meant for logs, debugging and tests;
/// [`Subject::authorize`] is the decision itself (and equals [`Evaluation::allow`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Evaluation {
    /// The roles' site-level vote.
    pub site: Vote,
    /// The roles' user-level vote (`Abstain` when the level does not apply).
    pub user: Vote,
    /// The roles' organization-level vote.
    pub org: Vote,
    /// The roles' organization-member-level vote.
    pub org_member: Vote,
    /// The scope's site-level vote.
    pub scope_site: Vote,
    /// The scope's user-level vote.
    pub scope_user: Vote,
    /// The scope's organization-level vote.
    pub scope_org: Vote,
    /// The scope's organization-member-level vote.
    pub scope_org_member: Vote,
    /// Whether the scope's allow list admits the object.
    pub in_allow_list: bool,
    /// Whether the roles allow the request.
    pub role_allow: bool,
    /// Whether the object's ACLs allow the request.
    pub acl_allow: bool,
    /// Whether the scope allows the request (allow list included).
    pub scope_allow: bool,
    /// The decision: `(role_allow || acl_allow) && scope_allow`. Always `false`
    /// for an object that sets both `any_org` and an organization.
    pub allow: bool,
}

impl Subject {
    /// Compiles a subject. `roles` must already be expanded (see
    /// [`roles::site_role`](crate::roles::site_role) and
    /// [`roles::org_role`](crate::roles::org_role)).
    pub fn new(id: Uuid, roles: Vec<Role>, groups: Vec<Uuid>, scope: Scope) -> Subject {
        let mut memberships: Vec<Uuid> = roles
            .iter()
            .flat_map(|r| r.by_org_id.keys().copied())
            .collect();
        memberships.sort_unstable();
        memberships.dedup();

        let role_sets: Vec<PermissionSet<'_>> = roles.iter().map(PermissionSet::from).collect();
        let role_permissions = CompiledPermissions::compile(&role_sets, &memberships);
        let scope_permissions =
            CompiledPermissions::compile(&[PermissionSet::from(&scope)], &memberships);
        let allow_list = CompiledAllowList::compile(scope.allow_list());
        let org_index = OrgIndex::new(&memberships);

        let mut sorted_groups = groups.clone();
        sorted_groups.sort_unstable();
        sorted_groups.dedup();

        Subject {
            id,
            roles,
            groups,
            sorted_groups,
            scope,
            memberships,
            org_index,
            role_permissions,
            scope_permissions,
            allow_list,
        }
    }

    /// The user id.
    pub fn id(&self) -> Uuid {
        self.id
    }

    /// The expanded roles, as given.
    pub fn roles(&self) -> &[Role] {
        &self.roles
    }

    /// The identifiers of the roles (for role-assignment checks and logs).
    pub fn role_identifiers(&self) -> Vec<RoleIdentifier> {
        self.roles.iter().map(|r| r.identifier.clone()).collect()
    }

    /// The ids of the groups the subject belongs to, as given.
    pub fn groups(&self) -> &[Uuid] {
        &self.groups
    }

    /// The scope of the subject's credential.
    pub fn scope(&self) -> &Scope {
        &self.scope
    }

    /// The organizations the subject is a member of (those appearing in its
    /// roles' `by_org_id`), sorted.
    pub fn organization_ids(&self) -> impl Iterator<Item = Uuid> + '_ {
        self.memberships.iter().copied()
    }

    /// Whether the subject is a member of `org`.
    pub fn is_org_member(&self, org: Uuid) -> bool {
        self.org_index.position(org).is_some()
    }

    /// The decision: may this subject perform `action` on `object`?
    ///
    /// `(role_allow || acl_allow) && scope_allow`, with Coder's policy
    /// version 2 semantics (see the crate documentation).
    pub fn authorize(&self, action: Action, object: &Object) -> bool {
        let Some(target) = self.target(action, object) else {
            return false;
        };
        self.allow_list.admits(object.resource_type, object.id)
            && self.scope_permissions.allows(&target)
            && (self.role_permissions.allows(&target) || self.acl_allows(action, object, &target))
    }

    /// The same decision as [`Subject::authorize`], with every intermediate vote.
    pub fn evaluate(&self, action: Action, object: &Object) -> Evaluation {
        let Some(target) = self.target(action, object) else {
            return Evaluation {
                site: Vote::Abstain,
                user: Vote::Abstain,
                org: Vote::Abstain,
                org_member: Vote::Abstain,
                scope_site: Vote::Abstain,
                scope_user: Vote::Abstain,
                scope_org: Vote::Abstain,
                scope_org_member: Vote::Abstain,
                in_allow_list: false,
                role_allow: false,
                acl_allow: false,
                scope_allow: false,
                allow: false,
            };
        };
        let roles = self.role_permissions.votes(&target);
        let scope = self.scope_permissions.votes(&target);
        let in_allow_list = self.allow_list.admits(object.resource_type, object.id);
        let role_allow = roles.allows();
        let acl_allow = self.acl_allows(action, object, &target);
        let scope_allow = in_allow_list && scope.allows();
        Evaluation {
            site: roles.site,
            user: roles.user,
            org: roles.org,
            org_member: roles.org_member,
            scope_site: scope.site,
            scope_user: scope.user,
            scope_org: scope.org,
            scope_org_member: scope.org_member,
            in_allow_list,
            role_allow,
            acl_allow,
            scope_allow,
            allow: (role_allow || acl_allow) && scope_allow,
        }
    }

    /// The sorted, deduplicated memberships.
    pub(crate) fn memberships(&self) -> &[Uuid] {
        &self.memberships
    }

    /// The sorted, deduplicated groups.
    pub(crate) fn sorted_groups(&self) -> &[Uuid] {
        &self.sorted_groups
    }

    /// The compiled roles.
    pub(crate) fn role_permissions(&self) -> &CompiledPermissions {
        &self.role_permissions
    }

    /// The compiled scope permissions.
    pub(crate) fn scope_permissions(&self) -> &CompiledPermissions {
        &self.scope_permissions
    }

    /// The compiled scope allow list.
    pub(crate) fn allow_list(&self) -> &CompiledAllowList {
        &self.allow_list
    }

    /// Resolves how the object relates to the subject; `None` for an object
    /// that names an organization and `any_org` at once (Coder rejects it).
    fn target(&self, action: Action, object: &Object) -> Option<Target> {
        let org = match (object.any_org, object.org_owner) {
            (true, Some(_)) => return None,
            (true, None) => OrgTarget::AnyOrg,
            (false, None) => OrgTarget::NoOrg,
            (false, Some(org)) => match self.org_index.position(org) {
                Some(n) => OrgTarget::Member(n),
                None => OrgTarget::NotMember,
            },
        };
        let owned_by_subject = object.owner == Some(self.id);
        Some(Target {
            resource_type: object.resource_type,
            action,
            user_level: owned_by_subject && org == OrgTarget::NoOrg,
            owned_by_subject,
            org,
        })
    }

    /// Coder's `acl_allow`: the user ACL grants the action to the subject, or
    /// — for members of the object's organization only — a group ACL grants
    /// it to one of the subject's groups or to the Everyone group (keyed by
    /// the organization id).
    fn acl_allows(&self, action: Action, object: &Object, target: &Target) -> bool {
        let grants = |actions: &[Action]| {
            actions
                .iter()
                .any(|&a| a == action || a == Action::Wildcard)
        };
        if object
            .acl_user_list
            .iter()
            .any(|(user, actions)| *user == self.id && grants(actions))
        {
            return true;
        }
        let is_org_member = match target.org {
            OrgTarget::Member(_) => true,
            OrgTarget::AnyOrg => !self.memberships.is_empty(),
            OrgTarget::NoOrg | OrgTarget::NotMember => false,
        };
        // The action test first: it is cheaper than the group lookup and
        // rules out most entries.
        is_org_member
            && object.acl_group_list.iter().any(|(group, actions)| {
                grants(actions)
                    && (object.org_owner == Some(*group)
                        || self.sorted_groups.binary_search(group).is_ok())
            })
    }
}

impl fmt::Debug for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Subject")
            .field("id", &self.id)
            .field(
                "roles",
                &self
                    .roles
                    .iter()
                    .map(|r| r.identifier.to_string())
                    .collect::<Vec<_>>(),
            )
            .field("groups", &self.groups)
            .field("scope", &self.scope.name())
            .field("memberships", &self.memberships)
            .finish_non_exhaustive()
    }
}
