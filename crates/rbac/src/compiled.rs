//! Roles and scopes compiled into lookup tables, so that a decision never walks
//! a permission list.
//!
//! Each *level* (site, user, and per organization: org and member) becomes a
//! pair of action bitmasks per resource type: one for positive permissions,
//! one for negated ones. A permission on resource type `*` is spread over
//! every type slot (including the `*` slot itself); a permission on action
//! `*` sets every action bit (including the `*` bit). Asking for `(type,
//! action)` is then two array loads and two bit tests, with exactly the
//! matching rule of Coder's policy: a permission matches when its action is
//! the requested one or `*`, and its type is the object's or `*`.
//!
//! The organization tables are aligned with the subject's memberships (sorted
//! organization ids), which is what a list-filter compiler needs as well: for
//! a given `(type, action)` it can read the site vote, the user vote and the
//! per-organization org/member votes, and turn them into a predicate over the
//! unknown `owner` / `org_owner` columns (see [`CompiledPermissions::org_votes`]
//! and the `filter` module).

use std::collections::BTreeMap;

use uuid::Uuid;

use crate::permission::Permission;
use crate::resource::{ACTION_COUNT, Action, RESOURCE_TYPE_COUNT, ResourceType};
use crate::role::{OrgPermissions, Role};
use crate::scope::{AllowListEntry, Scope};

/// One level's verdict on a request.
///
/// Ordered `Deny < Abstain < Allow`, so "the best vote of several
/// organizations" is their maximum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Vote {
    /// A matching negated permission exists (a deny wins within its level).
    Deny,
    /// No permission matches; the decision falls through to the next level.
    Abstain,
    /// Matching permissions exist and none is negated.
    Allow,
}

/// Every action bit, the wildcard's included: what an `action: "*"` permission sets.
const ALL_ACTION_BITS: u32 = if ACTION_COUNT == 32 {
    u32::MAX
} else {
    (1u32 << ACTION_COUNT) - 1
};

/// The permissions of one level, as allow/deny action bitmasks per resource type.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct LevelMasks {
    allow: [u32; RESOURCE_TYPE_COUNT],
    deny: [u32; RESOURCE_TYPE_COUNT],
}

impl LevelMasks {
    const EMPTY: LevelMasks = LevelMasks {
        allow: [0; RESOURCE_TYPE_COUNT],
        deny: [0; RESOURCE_TYPE_COUNT],
    };

    fn add(&mut self, permission: &Permission) {
        let bits = match permission.action {
            Action::Wildcard => ALL_ACTION_BITS,
            action => action.bit(),
        };
        let masks = if permission.negate {
            &mut self.deny
        } else {
            &mut self.allow
        };
        match permission.resource_type {
            ResourceType::Wildcard => masks.iter_mut().for_each(|m| *m |= bits),
            resource_type => masks[resource_type.slot()] |= bits,
        }
    }

    fn extend<'a>(&mut self, permissions: impl IntoIterator<Item = &'a Permission>) {
        permissions.into_iter().for_each(|p| self.add(p));
    }

    /// The level's vote on `action` for an object of `resource_type`.
    #[inline]
    pub(crate) fn vote(&self, resource_type: ResourceType, action: Action) -> Vote {
        let (slot, bit) = (resource_type.slot(), action.bit());
        if self.deny[slot] & bit != 0 {
            Vote::Deny
        } else if self.allow[slot] & bit != 0 {
            Vote::Allow
        } else {
            Vote::Abstain
        }
    }
}

/// The org-wide and member-level tables of one organization.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct OrgMasks {
    org: LevelMasks,
    member: LevelMasks,
}

impl OrgMasks {
    const EMPTY: OrgMasks = OrgMasks {
        org: LevelMasks::EMPTY,
        member: LevelMasks::EMPTY,
    };
}

/// A role-like permission set (roles or a scope) viewed level by level.
#[derive(Clone, Copy)]
pub(crate) struct PermissionSet<'a> {
    site: &'a [Permission],
    user: &'a [Permission],
    by_org_id: &'a BTreeMap<Uuid, OrgPermissions>,
}

impl<'a> From<&'a Role> for PermissionSet<'a> {
    fn from(role: &'a Role) -> Self {
        Self {
            site: &role.site,
            user: &role.user,
            by_org_id: &role.by_org_id,
        }
    }
}

impl<'a> From<&'a Scope> for PermissionSet<'a> {
    fn from(scope: &'a Scope) -> Self {
        Self {
            site: scope.site(),
            user: scope.user(),
            by_org_id: scope.by_org_id(),
        }
    }
}

/// What the policy needs to know about the object, resolved once per check.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Target {
    pub(crate) resource_type: ResourceType,
    pub(crate) action: Action,
    /// The object is the subject's and belongs to no organization.
    pub(crate) user_level: bool,
    /// The object is the subject's (organization-member level applies).
    pub(crate) owned_by_subject: bool,
    pub(crate) org: OrgTarget,
}

/// How the object relates to the subject's organizations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum OrgTarget {
    /// The object belongs to no organization.
    NoOrg,
    /// The object belongs to an organization the subject is not a member of.
    NotMember,
    /// The object belongs to the subject's `n`th membership.
    Member(usize),
    /// The object asks about any organization the subject is a member of.
    AnyOrg,
}

/// The four votes of one permission set on one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct LevelVotes {
    pub(crate) site: Vote,
    pub(crate) user: Vote,
    pub(crate) org: Vote,
    pub(crate) org_member: Vote,
}

impl LevelVotes {
    pub(crate) fn allows(&self) -> bool {
        decide(self.site, || self.user, || self.org, || self.org_member)
    }
}

/// Coder's combination of the four votes (policy version 2):
/// `site = 1 | (site != -1 & user = 1) | (site != -1 & org = 1) | (site != -1 & org != -1 & org_member = 1)`.
///
/// The later votes are closures so the common cases (site allows or denies)
/// never compute them.
#[inline]
fn decide(
    site: Vote,
    user: impl FnOnce() -> Vote,
    org: impl FnOnce() -> Vote,
    org_member: impl FnOnce() -> Vote,
) -> bool {
    match site {
        Vote::Allow => true,
        Vote::Deny => false,
        Vote::Abstain => {
            if user() == Vote::Allow {
                return true;
            }
            match org() {
                Vote::Allow => true,
                Vote::Deny => false,
                Vote::Abstain => org_member() == Vote::Allow,
            }
        }
    }
}

/// Roles or a scope, compiled against the subject's memberships.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct CompiledPermissions {
    site: LevelMasks,
    user: LevelMasks,
    /// Aligned with the subject's memberships; empty when the permission set
    /// has nothing at organization level in any of them (every org vote abstains).
    orgs: Vec<OrgMasks>,
}

impl CompiledPermissions {
    /// Compiles permission sets. Organization permissions count only for the
    /// given memberships, which must be sorted (Coder evaluates scope
    /// organization levels against the memberships the roles establish).
    pub(crate) fn compile<'a>(sets: &[PermissionSet<'a>], memberships: &[Uuid]) -> Self {
        let mut site = LevelMasks::EMPTY;
        let mut user = LevelMasks::EMPTY;
        for set in sets {
            site.extend(set.site);
            user.extend(set.user);
        }
        // Allocated on the first organization permission that falls inside a
        // membership, so permission sets without any (most scopes) stay empty.
        let mut orgs: Vec<OrgMasks> = Vec::new();
        for set in sets {
            for (org, perms) in set.by_org_id {
                let Ok(n) = memberships.binary_search(org) else {
                    continue;
                };
                if orgs.is_empty() {
                    orgs = vec![OrgMasks::EMPTY; memberships.len()];
                }
                if let Some(masks) = orgs.get_mut(n) {
                    masks.org.extend(&perms.org);
                    masks.member.extend(&perms.member);
                }
            }
        }
        Self { site, user, orgs }
    }

    /// The site-level vote.
    #[inline]
    pub(crate) fn site_vote(&self, resource_type: ResourceType, action: Action) -> Vote {
        self.site.vote(resource_type, action)
    }

    /// The user-level vote (for objects the subject owns outside any organization).
    #[inline]
    pub(crate) fn user_vote(&self, resource_type: ResourceType, action: Action) -> Vote {
        self.user.vote(resource_type, action)
    }

    /// `(org-level vote, member-level vote)` for each membership, in membership
    /// order: the per-organization lookup table a list-filter compiler needs.
    pub(crate) fn org_votes(
        &self,
        resource_type: ResourceType,
        action: Action,
    ) -> impl Iterator<Item = (Vote, Vote)> + '_ {
        self.orgs.iter().map(move |o| {
            (
                o.org.vote(resource_type, action),
                o.member.vote(resource_type, action),
            )
        })
    }

    fn org_level(&self, target: &Target, pick: impl Fn(&OrgMasks) -> &LevelMasks) -> Vote {
        let vote = |masks: &OrgMasks| pick(masks).vote(target.resource_type, target.action);
        match target.org {
            OrgTarget::NoOrg | OrgTarget::NotMember => Vote::Abstain,
            OrgTarget::Member(n) => self.orgs.get(n).map_or(Vote::Abstain, vote),
            // The best vote of any membership; memberships without entries abstain.
            OrgTarget::AnyOrg => self.orgs.iter().map(vote).max().unwrap_or(Vote::Abstain),
        }
    }

    fn user_level(&self, target: &Target) -> Vote {
        if target.user_level {
            self.user_vote(target.resource_type, target.action)
        } else {
            Vote::Abstain
        }
    }

    fn member_level(&self, target: &Target) -> Vote {
        if target.owned_by_subject {
            self.org_level(target, |o| &o.member)
        } else {
            Vote::Abstain
        }
    }

    /// Whether these permissions allow the request (lazy: stops at the first decisive level).
    #[inline]
    pub(crate) fn allows(&self, target: &Target) -> bool {
        decide(
            self.site_vote(target.resource_type, target.action),
            || self.user_level(target),
            || self.org_level(target, |o| &o.org),
            || self.member_level(target),
        )
    }

    /// All four votes, computed eagerly (for explanations).
    pub(crate) fn votes(&self, target: &Target) -> LevelVotes {
        LevelVotes {
            site: self.site_vote(target.resource_type, target.action),
            user: self.user_level(target),
            org: self.org_level(target, |o| &o.org),
            org_member: self.member_level(target),
        }
    }
}

/// A scope allow list compiled for constant-time type checks.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct CompiledAllowList {
    /// `*:*` is listed.
    everything: bool,
    /// `<type>:*` is listed, per type slot.
    whole_types: [bool; RESOURCE_TYPE_COUNT],
    /// `<type|*>:<id>` entries.
    ids: Vec<(ResourceType, Uuid)>,
}

impl CompiledAllowList {
    pub(crate) fn compile(entries: &[AllowListEntry]) -> Self {
        let mut list = Self {
            everything: false,
            whole_types: [false; RESOURCE_TYPE_COUNT],
            ids: Vec::new(),
        };
        for entry in entries {
            match (entry.resource_type, entry.id) {
                (ResourceType::Wildcard, None) => list.everything = true,
                (resource_type, None) => list.whole_types[resource_type.slot()] = true,
                (resource_type, Some(id)) => list.ids.push((resource_type, id)),
            }
        }
        list
    }

    /// Whether the list admits every object of `resource_type` (`*:*` or `<type>:*`).
    #[inline]
    pub(crate) fn admits_whole_type(&self, resource_type: ResourceType) -> bool {
        self.everything || self.whole_types[resource_type.slot()]
    }

    /// The ids listed for `resource_type` or for `*` (unsorted, possibly repeated).
    pub(crate) fn ids_for(&self, resource_type: ResourceType) -> impl Iterator<Item = Uuid> + '_ {
        self.ids
            .iter()
            .filter(move |&&(t, _)| t == resource_type || t == ResourceType::Wildcard)
            .map(|&(_, id)| id)
    }

    /// Whether the list admits an object (Coder's
    /// `object_is_included_in_scope_allow_list`): `*:*`, `<type>:*`, or the
    /// object's id listed for its type or for `*`. Id-less objects only pass
    /// the first two.
    #[inline]
    pub(crate) fn admits(&self, resource_type: ResourceType, id: Option<Uuid>) -> bool {
        if self.admits_whole_type(resource_type) {
            return true;
        }
        id.is_some_and(|id| {
            self.ids.iter().any(|&(t, listed)| {
                listed == id && (t == resource_type || t == ResourceType::Wildcard)
            })
        })
    }
}
