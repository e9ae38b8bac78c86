//! List filters: a subject's decision for one `(action, resource type)` pair,
//! compiled into a predicate over the columns of stored rows.
//!
//! Listing "every workspace I may read" cannot call [`Subject::authorize`]
//! on every row of the table. [`Subject::filter`] instead resolves everything
//! that depends only on the subject (votes per level and per organization,
//! the scope, the allow list, the subject's groups) and leaves a small
//! [`Filter`] over what varies per row: its id, owner, organization and ACLs.
//! Storage translates it into a `WHERE` clause; [`Filter::matches`] evaluates
//! it in memory.
//!
//! # Equivalence
//!
//! For every object `o` of the filtered resource type with `o.any_org ==
//! false` (stored rows never ask about "any organization"),
//! `subject.filter(action, o.resource_type).matches(&o) ==
//! subject.authorize(action, &o)`. The crate's tests check this on random
//! subjects and objects.
//!
//! # Translating to SQL
//!
//! Every leaf reads one row column (plus constants), so each maps to one SQL
//! condition. With a table having `id`, `owner_id`, `organization_id`, and
//! ACLs stored as JSON objects mapping a user/group id (text) to an array of
//! action names (`user_acl`, `group_acl`, Coder's layout), for instance:
//!
//! | node | PostgreSQL | SQLite |
//! |---|---|---|
//! | `All` / `Nothing` | `TRUE` / `FALSE` | `1` / `0` |
//! | `And` / `Or` | `(a AND b …)` / `(a OR b …)` | same |
//! | `IdIn(ids)` | `id = ANY($1::uuid[])` | `id IN (?, …)` |
//! | `OwnerIs(u)` | `owner_id = $1` | `owner_id = ?` |
//! | `OrgIsNull` | `organization_id IS NULL` | same |
//! | `OrgIn(orgs)` | `organization_id = ANY($1::uuid[])` | `organization_id IN (?, …)` |
//! | `UserAclGrants{user, action}` | `user_acl -> $user ?\| ARRAY[$action, '*']` | `EXISTS (SELECT 1 FROM json_each(user_acl, '$."' \|\| ? \|\| '"') WHERE value IN (?, '*'))` |
//! | `GroupAclGrants{groups, action}` | `EXISTS (SELECT 1 FROM jsonb_each(group_acl) g WHERE g.key = ANY($groups) AND g.value ?\| ARRAY[$action, '*'])` | `EXISTS (SELECT 1 FROM json_each(group_acl) g, json_each(g.value) a WHERE g.key IN (?, …) AND a.value IN (?, '*'))` |
//! | `OrgEveryoneAclGrants{action}` | `group_acl -> organization_id::text ?\| ARRAY[$action, '*']` | `EXISTS (SELECT 1 FROM json_each(group_acl, '$."' \|\| organization_id \|\| '"') WHERE value IN (?, '*'))` |
//!
//! NULL columns never satisfy a leaf other than `OrgIsNull`, which is what
//! SQL's three-valued logic gives for the conditions above as long as the
//! whole filter is used positively (`WHERE <filter>`); no leaf is ever negated.
//!
//! Lists (`IdIn`, `OrgIn`, `GroupAclGrants::groups`) are sorted, deduplicated
//! and never empty, so generated SQL is stable and never contains `IN ()`.

use std::fmt;

use uuid::Uuid;

use crate::compiled::{CompiledAllowList, CompiledPermissions, Vote};
use crate::object::Object;
use crate::resource::{Action, ResourceType};
use crate::subject::Subject;

/// A predicate over stored rows of one resource type; see the [module
/// documentation](self) for its meaning and its SQL translation.
///
/// Built by [`Subject::filter`] already simplified: `All` and `Nothing` only
/// appear at the top; `And`/`Or` have at least two children, none of them
/// `All`, `Nothing` or a node of the same kind; lists are sorted, deduplicated
/// and non-empty.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Filter {
    /// Every row.
    All,
    /// No row.
    Nothing,
    /// Every sub-filter holds.
    And(Vec<Filter>),
    /// At least one sub-filter holds.
    Or(Vec<Filter>),
    /// The row's id is one of these (a row without id never matches). Comes
    /// from restrictive scope allow lists.
    IdIn(Vec<Uuid>),
    /// The row is owned by this user (a row without owner never matches).
    OwnerIs(Uuid),
    /// The row belongs to no organization.
    OrgIsNull,
    /// The row belongs to one of these organizations.
    OrgIn(Vec<Uuid>),
    /// The row's user ACL grants `action` or `*` to `user`.
    UserAclGrants {
        /// The ACL key (a user id).
        user: Uuid,
        /// The requested action; entries listing it or `*` grant it.
        action: Action,
    },
    /// The row's group ACL grants `action` or `*` to at least one of `groups`.
    GroupAclGrants {
        /// The ACL keys (group ids).
        groups: Vec<Uuid>,
        /// The requested action; entries listing it or `*` grant it.
        action: Action,
    },
    /// The row's group ACL grants `action` or `*` to the Everyone group of
    /// the row's own organization, i.e. to the entry keyed by the row's
    /// organization id (rows without organization never match).
    OrgEveryoneAclGrants {
        /// The requested action; entries listing it or `*` grant it.
        action: Action,
    },
}

impl Filter {
    /// Whether a row passes the filter (in-memory evaluation, e.g. for rows
    /// already loaded). `object.any_org` and `object.resource_type` are not
    /// read: the filter was compiled for one resource type, and stored rows
    /// are never "any organization".
    pub fn matches(&self, object: &Object) -> bool {
        let grants = |actions: &[Action], action: Action| {
            actions
                .iter()
                .any(|&a| a == action || a == Action::Wildcard)
        };
        match self {
            Filter::All => true,
            Filter::Nothing => false,
            Filter::And(filters) => filters.iter().all(|f| f.matches(object)),
            Filter::Or(filters) => filters.iter().any(|f| f.matches(object)),
            Filter::IdIn(ids) => object.id.is_some_and(|id| ids.contains(&id)),
            Filter::OwnerIs(user) => object.owner == Some(*user),
            Filter::OrgIsNull => object.org_owner.is_none(),
            Filter::OrgIn(orgs) => object.org_owner.is_some_and(|org| orgs.contains(&org)),
            Filter::UserAclGrants { user, action } => object
                .acl_user_list
                .iter()
                .any(|(u, actions)| u == user && grants(actions, *action)),
            Filter::GroupAclGrants { groups, action } => object
                .acl_group_list
                .iter()
                .any(|(g, actions)| groups.contains(g) && grants(actions, *action)),
            Filter::OrgEveryoneAclGrants { action } => object.org_owner.is_some_and(|org| {
                object
                    .acl_group_list
                    .iter()
                    .any(|(g, actions)| *g == org && grants(actions, *action))
            }),
        }
    }

    /// Whether the filter admits every row.
    pub fn is_all(&self) -> bool {
        matches!(self, Filter::All)
    }

    /// Whether the filter admits no row.
    pub fn is_nothing(&self) -> bool {
        matches!(self, Filter::Nothing)
    }

    /// Conjunction with simplification: flattens nested `And`s, drops `All`,
    /// collapses to `Nothing` on any `Nothing`, to `All` when empty, and to
    /// the single child when only one is left.
    pub fn and(filters: impl IntoIterator<Item = Filter>) -> Filter {
        let mut out = Vec::new();
        for filter in filters {
            match filter {
                Filter::All => {}
                Filter::Nothing => return Filter::Nothing,
                Filter::And(children) => out.extend(children),
                other => out.push(other),
            }
        }
        match out.len() {
            0 => Filter::All,
            1 => out.pop().unwrap_or(Filter::All),
            _ => Filter::And(out),
        }
    }

    /// Disjunction with simplification: flattens nested `Or`s, drops
    /// `Nothing`, collapses to `All` on any `All`, to `Nothing` when empty,
    /// and to the single child when only one is left.
    pub fn or(filters: impl IntoIterator<Item = Filter>) -> Filter {
        let mut out = Vec::new();
        for filter in filters {
            match filter {
                Filter::Nothing => {}
                Filter::All => return Filter::All,
                Filter::Or(children) => out.extend(children),
                other => out.push(other),
            }
        }
        match out.len() {
            0 => Filter::Nothing,
            1 => out.pop().unwrap_or(Filter::Nothing),
            _ => Filter::Or(out),
        }
    }

    /// `OrgIn(orgs)`, or `Nothing` for an empty list. `orgs` must be sorted
    /// and deduplicated.
    fn org_in(orgs: Vec<Uuid>) -> Filter {
        if orgs.is_empty() {
            Filter::Nothing
        } else {
            Filter::OrgIn(orgs)
        }
    }
}

impl fmt::Display for Filter {
    /// A readable, SQL-like rendering for logs and debugging (not SQL).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fn list(f: &mut fmt::Formatter<'_>, ids: &[Uuid]) -> fmt::Result {
            f.write_str("(")?;
            for (i, id) in ids.iter().enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                write!(f, "{id}")?;
            }
            f.write_str(")")
        }
        fn join(f: &mut fmt::Formatter<'_>, filters: &[Filter], op: &str) -> fmt::Result {
            f.write_str("(")?;
            for (i, filter) in filters.iter().enumerate() {
                if i > 0 {
                    write!(f, " {op} ")?;
                }
                write!(f, "{filter}")?;
            }
            f.write_str(")")
        }
        match self {
            Filter::All => f.write_str("TRUE"),
            Filter::Nothing => f.write_str("FALSE"),
            Filter::And(filters) => join(f, filters, "AND"),
            Filter::Or(filters) => join(f, filters, "OR"),
            Filter::IdIn(ids) => {
                f.write_str("id IN ")?;
                list(f, ids)
            }
            Filter::OwnerIs(user) => write!(f, "owner = {user}"),
            Filter::OrgIsNull => f.write_str("org IS NULL"),
            Filter::OrgIn(orgs) => {
                f.write_str("org IN ")?;
                list(f, orgs)
            }
            Filter::UserAclGrants { user, action } => {
                write!(f, "user_acl[{user}] GRANTS {action}")
            }
            Filter::GroupAclGrants { groups, action } => {
                f.write_str("group_acl[ANY ")?;
                list(f, groups)?;
                write!(f, "] GRANTS {action}")
            }
            Filter::OrgEveryoneAclGrants { action } => {
                write!(f, "group_acl[org] GRANTS {action}")
            }
        }
    }
}

impl CompiledPermissions {
    /// The rows these permissions allow (the four-level rule), for a subject
    /// `me` whose sorted memberships are `memberships`.
    pub(crate) fn filter(
        &self,
        me: Uuid,
        memberships: &[Uuid],
        resource_type: ResourceType,
        action: Action,
    ) -> Filter {
        match self.site_vote(resource_type, action) {
            Vote::Allow => return Filter::All,
            Vote::Deny => return Filter::Nothing,
            Vote::Abstain => {}
        }
        // Organizations where the org level allows every row, and those where
        // only the subject's own rows are allowed (member level, not blocked
        // by an org-level deny).
        let mut whole_orgs = Vec::new();
        let mut own_orgs = Vec::new();
        for (&org, (org_vote, member_vote)) in memberships
            .iter()
            .zip(self.org_votes(resource_type, action))
        {
            match (org_vote, member_vote) {
                (Vote::Allow, _) => whole_orgs.push(org),
                (Vote::Abstain, Vote::Allow) => own_orgs.push(org),
                _ => {}
            }
        }
        // The subject's own rows: outside any organization through the user
        // level, inside `own_orgs` through the member level.
        let user_level = if self.user_vote(resource_type, action) == Vote::Allow {
            Filter::OrgIsNull
        } else {
            Filter::Nothing
        };
        let own_rows = Filter::and([
            Filter::OwnerIs(me),
            Filter::or([user_level, Filter::org_in(own_orgs)]),
        ]);
        Filter::or([Filter::org_in(whole_orgs), own_rows])
    }
}

impl CompiledAllowList {
    /// The rows of `resource_type` the allow list admits.
    pub(crate) fn filter(&self, resource_type: ResourceType) -> Filter {
        if self.admits_whole_type(resource_type) {
            return Filter::All;
        }
        let mut ids: Vec<Uuid> = self.ids_for(resource_type).collect();
        if ids.is_empty() {
            return Filter::Nothing;
        }
        ids.sort_unstable();
        ids.dedup();
        Filter::IdIn(ids)
    }
}

impl Subject {
    /// The rows of `resource` on which this subject may perform `action`, as
    /// a [`Filter`] over row columns.
    ///
    /// Exactly equivalent to [`Subject::authorize`] for every object of that
    /// resource type without `any_org` (see the [`filter`](crate::filter)
    /// module). Everything that depends only on the subject is resolved here,
    /// so the result is simplified: a site-level allow gives
    /// [`Filter::All`], a scope or site-level deny gives [`Filter::Nothing`],
    /// organizations are grouped into `OrgIn` lists, and ACL branches are
    /// left out when roles already admit every row.
    pub fn filter(&self, action: Action, resource: ResourceType) -> Filter {
        let memberships = self.memberships();
        let admitted = self.allow_list().filter(resource);
        if admitted.is_nothing() {
            return Filter::Nothing;
        }
        let scope = self
            .scope_permissions()
            .filter(self.id(), memberships, resource, action);
        if scope.is_nothing() {
            return Filter::Nothing;
        }
        let roles = self
            .role_permissions()
            .filter(self.id(), memberships, resource, action);
        let permitted = if roles.is_all() {
            roles
        } else {
            Filter::or([roles, self.acl_filter(action)])
        };
        Filter::and([admitted, scope, permitted])
    }

    /// The rows whose ACLs grant `action` to the subject: its own user ACL
    /// entry, or — in organizations it is a member of — one of its groups'
    /// entries or the organization's Everyone entry.
    fn acl_filter(&self, action: Action) -> Filter {
        let user = Filter::UserAclGrants {
            user: self.id(),
            action,
        };
        let memberships = self.memberships();
        if memberships.is_empty() {
            return user;
        }
        let groups = self.sorted_groups();
        let group = if groups.is_empty() {
            Filter::Nothing
        } else {
            Filter::GroupAclGrants {
                groups: groups.to_vec(),
                action,
            }
        };
        Filter::or([
            user,
            Filter::and([
                Filter::OrgIn(memberships.to_vec()),
                Filter::or([group, Filter::OrgEveryoneAclGrants { action }]),
            ]),
        ])
    }
}
