//! Proptest strategies for subjects, objects, actions and scopes, shared by
//! the differential and filter tests.
//!
//! Generated values are small descriptions (`RoleSpec`, `ScopeSpec`) with
//! compact `Debug` output, so that a shrunk failing case reads well; `build`
//! turns them into Warden's types. Ids are tiny constants (`…00a0`) so that
//! permissions, memberships, groups and ACL keys collide often.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::fmt;

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::select;
use proptest::test_runner::{Config, RngSeed};
use uuid::Uuid;
use warden_rbac::{
    Action, AllowListEntry, Object, OrgPermissions, Permission, ResourceType, Role, RoleIdentifier,
    Scope, Subject, roles,
};

/// The subject.
pub const ME: Uuid = Uuid::from_u128(0x1);
/// Another user.
pub const OTHER: Uuid = Uuid::from_u128(0x2);
/// Organizations; roles only use the first three, objects also the fourth
/// (never a membership).
pub const ORGS: [Uuid; 4] = [
    Uuid::from_u128(0xA0),
    Uuid::from_u128(0xA1),
    Uuid::from_u128(0xA2),
    Uuid::from_u128(0xA3),
];
/// Groups.
pub const GROUPS: [Uuid; 3] = [
    Uuid::from_u128(0xB0),
    Uuid::from_u128(0xB1),
    Uuid::from_u128(0xB2),
];
/// Object ids.
pub const IDS: [Uuid; 2] = [Uuid::from_u128(0xC0), Uuid::from_u128(0xC1)];

/// A proptest configuration: `default_cases` cases unless `PROPTEST_CASES`
/// says otherwise, a fixed seed unless `PROPTEST_RNG_SEED` says otherwise
/// (so CI runs are reproducible), no regression files.
pub fn config(default_cases: u32) -> Config {
    let mut config = Config::default();
    if std::env::var_os("PROPTEST_CASES").is_none() {
        config.cases = default_cases;
    }
    if matches!(config.rng_seed, RngSeed::Random) {
        config.rng_seed = RngSeed::Fixed(0x5EED_C0DE);
    }
    config.failure_persistence = None;
    config
}

// --- Vocabulary ---------------------------------------------------------------

/// Any type, the wildcard included; biased towards a few so that
/// permissions, objects and allow lists meet often.
pub fn resource_type() -> impl Strategy<Value = ResourceType> {
    prop_oneof![
        6 => select(vec![
            ResourceType::Workspace,
            ResourceType::Template,
            ResourceType::Group,
            ResourceType::OrganizationMember,
        ]),
        1 => Just(ResourceType::Wildcard),
        2 => select(ResourceType::ALL.to_vec()),
    ]
}

/// A concrete type (for objects and filters), biased like [`resource_type`].
pub fn object_type() -> impl Strategy<Value = ResourceType> {
    prop_oneof![
        6 => select(vec![
            ResourceType::Workspace,
            ResourceType::Template,
            ResourceType::Group,
            ResourceType::OrganizationMember,
        ]),
        2 => select(ResourceType::ALL.to_vec()),
    ]
}

/// Any action, the wildcard included, biased towards a few.
pub fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        6 => select(vec![Action::Read, Action::Update, Action::Create, Action::Use, Action::Share]),
        1 => Just(Action::Wildcard),
        2 => select(Action::ALL.to_vec()),
    ]
}

/// A permission, shown as `+type:action` / `-type:action`.
#[derive(Clone, PartialEq, Eq)]
pub struct Perm(pub Permission);

impl fmt::Debug for Perm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0.negate { '-' } else { '+' };
        write!(f, "{sign}{}:{}", self.0.resource_type, self.0.action)
    }
}

pub fn permission() -> impl Strategy<Value = Perm> {
    (prop::bool::weighted(0.25), resource_type(), action()).prop_map(
        |(negate, resource_type, action)| {
            Perm(Permission {
                negate,
                resource_type,
                action,
            })
        },
    )
}

pub fn permissions() -> impl Strategy<Value = Vec<Perm>> {
    vec(permission(), 0..4)
}

fn unwrap_perms(perms: &[Perm]) -> Vec<Permission> {
    perms.iter().map(|p| p.0.clone()).collect()
}

/// A short id: `…00a0` → `a0`.
pub struct Short(pub Uuid);

impl fmt::Debug for Short {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:x}", self.0.as_u128())
    }
}

// --- Roles --------------------------------------------------------------------

/// A role to give the subject.
#[derive(Clone)]
pub enum RoleSpec {
    /// A built-in site role.
    Site(&'static str),
    /// A built-in organization role in one organization.
    Org(&'static str, Uuid),
    /// Arbitrary permissions (negations and wildcards included) at every level.
    Custom {
        site: Vec<Perm>,
        user: Vec<Perm>,
        orgs: Vec<(Uuid, Vec<Perm>, Vec<Perm>)>,
    },
}

impl fmt::Debug for RoleSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RoleSpec::Site(name) => write!(f, "{name}"),
            RoleSpec::Org(name, org) => write!(f, "{name}@{:?}", Short(*org)),
            RoleSpec::Custom { site, user, orgs } => {
                let mut s = f.debug_struct("Custom");
                if !site.is_empty() {
                    s.field("site", site);
                }
                if !user.is_empty() {
                    s.field("user", user);
                }
                for (org, org_perms, member_perms) in orgs {
                    s.field(
                        &format!("org@{:?}", Short(*org)),
                        &(org_perms, member_perms),
                    );
                }
                s.finish()
            }
        }
    }
}

impl RoleSpec {
    pub fn build(&self) -> Role {
        match self {
            RoleSpec::Site(name) => roles::site_role(name).expect("built-in site role"),
            RoleSpec::Org(name, org) => roles::org_role(name, *org).expect("built-in org role"),
            RoleSpec::Custom { site, user, orgs } => {
                let mut by_org_id: BTreeMap<Uuid, OrgPermissions> = BTreeMap::new();
                for (org, org_perms, member_perms) in orgs {
                    let entry = by_org_id.entry(*org).or_default();
                    entry.org.extend(unwrap_perms(org_perms));
                    entry.member.extend(unwrap_perms(member_perms));
                }
                Role {
                    identifier: RoleIdentifier::site("custom"),
                    display_name: String::new(),
                    site: unwrap_perms(site),
                    user: unwrap_perms(user),
                    by_org_id,
                }
            }
        }
    }
}

pub fn member_org() -> impl Strategy<Value = Uuid> {
    select(ORGS[..3].to_vec())
}

pub fn role_spec() -> impl Strategy<Value = RoleSpec> {
    prop_oneof![
        2 => select(roles::builtin_site_role_names().to_vec()).prop_map(RoleSpec::Site),
        3 => (select(roles::builtin_org_role_names().to_vec()), member_org())
            .prop_map(|(name, org)| RoleSpec::Org(name, org)),
        4 => (
            permissions(),
            permissions(),
            vec((member_org(), permissions(), permissions()), 0..3),
        )
            .prop_map(|(site, user, orgs)| RoleSpec::Custom { site, user, orgs }),
    ]
}

// --- Scopes -------------------------------------------------------------------

/// Scope names: built-in, composite and low-level `<type>:<action>`.
const SCOPE_NAMES: &[&str] = &[
    "coder:all",
    "all",
    "coder:application_connect",
    "no_user_data",
    "coder:workspaces.create",
    "coder:workspaces.operate",
    "coder:workspaces.delete",
    "coder:workspaces.access",
    "coder:templates.build",
    "coder:templates.author",
    "coder:apikeys.manage_self",
    "workspace:read",
    "workspace:*",
    "template:use",
    "template:*",
    "group:read",
    "organization_member:read",
    "user:read_personal",
    "*:*",
];

/// The scope of the subject's credential.
#[derive(Clone)]
pub enum ScopeSpec {
    /// The union of named scopes (one name most of the time).
    Named(Vec<&'static str>),
    /// Named scopes with the allow list replaced.
    Listed(Vec<&'static str>, Vec<AllowListEntry>),
    /// Arbitrary permissions at every level, with an allow list.
    Custom {
        site: Vec<Perm>,
        user: Vec<Perm>,
        orgs: Vec<(Uuid, Vec<Perm>, Vec<Perm>)>,
        allow_list: Vec<AllowListEntry>,
    },
}

impl fmt::Debug for ScopeSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list = |entries: &[AllowListEntry]| {
            entries
                .iter()
                .map(|e| match e.id {
                    Some(id) => format!("{}:{:?}", e.resource_type, Short(id)),
                    None => format!("{}:*", e.resource_type),
                })
                .collect::<Vec<_>>()
        };
        match self {
            ScopeSpec::Named(names) => write!(f, "{names:?}"),
            ScopeSpec::Listed(names, entries) => {
                write!(f, "{names:?} allow_list={:?}", list(entries))
            }
            ScopeSpec::Custom {
                site,
                user,
                orgs,
                allow_list,
            } => {
                let mut s = f.debug_struct("CustomScope");
                s.field("site", site).field("user", user);
                for (org, org_perms, member_perms) in orgs {
                    s.field(
                        &format!("org@{:?}", Short(*org)),
                        &(org_perms, member_perms),
                    );
                }
                s.field("allow_list", &list(allow_list)).finish()
            }
        }
    }
}

impl ScopeSpec {
    pub fn build(&self) -> Scope {
        match self {
            ScopeSpec::Named(names) => Scope::union(names).expect("known scope names"),
            ScopeSpec::Listed(names, entries) => Scope::union(names)
                .expect("known scope names")
                .with_allow_list(entries.clone()),
            ScopeSpec::Custom {
                site,
                user,
                orgs,
                allow_list,
            } => {
                let mut by_org_id: BTreeMap<Uuid, OrgPermissions> = BTreeMap::new();
                for (org, org_perms, member_perms) in orgs {
                    let entry = by_org_id.entry(*org).or_default();
                    entry.org.extend(unwrap_perms(org_perms));
                    entry.member.extend(unwrap_perms(member_perms));
                }
                Scope::new(
                    "custom",
                    unwrap_perms(site),
                    unwrap_perms(user),
                    by_org_id,
                    allow_list.clone(),
                )
            }
        }
    }
}

pub fn allow_list_entry() -> impl Strategy<Value = AllowListEntry> {
    (
        resource_type(),
        prop::option::weighted(0.6, select(IDS.to_vec())),
    )
        .prop_map(|(resource_type, id)| AllowListEntry { resource_type, id })
}

pub fn scope_names() -> impl Strategy<Value = Vec<&'static str>> {
    prop_oneof![
        4 => Just(vec!["coder:all"]),
        3 => select(SCOPE_NAMES.to_vec()).prop_map(|n| vec![n]),
        1 => vec(select(SCOPE_NAMES.to_vec()), 0..3),
    ]
}

pub fn scope_spec() -> impl Strategy<Value = ScopeSpec> {
    prop_oneof![
        6 => scope_names().prop_map(ScopeSpec::Named),
        1 => (scope_names(), vec(allow_list_entry(), 0..3))
            .prop_map(|(names, list)| ScopeSpec::Listed(names, list)),
        1 => (
            permissions(),
            permissions(),
            // The scope may name organizations the subject is not a member of.
            vec((select(ORGS.to_vec()), permissions(), permissions()), 0..3),
            vec(allow_list_entry(), 0..3),
        )
            .prop_map(|(site, user, orgs, allow_list)| ScopeSpec::Custom {
                site,
                user,
                orgs,
                allow_list,
            }),
    ]
}

// --- Subjects -----------------------------------------------------------------

/// Everything needed to build a subject.
#[derive(Clone)]
pub struct SubjectSpec {
    pub roles: Vec<RoleSpec>,
    pub groups: Vec<Uuid>,
    pub scope: ScopeSpec,
}

impl fmt::Debug for SubjectSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Subject")
            .field("roles", &self.roles)
            .field(
                "groups",
                &self.groups.iter().map(|g| Short(*g)).collect::<Vec<_>>(),
            )
            .field("scope", &self.scope)
            .finish()
    }
}

impl SubjectSpec {
    pub fn build(&self) -> Subject {
        Subject::new(
            ME,
            self.roles.iter().map(RoleSpec::build).collect(),
            self.groups.clone(),
            self.scope.build(),
        )
    }
}

/// Group ids: real groups, and now and then an organization id (the
/// Everyone group's id is its organization's).
pub fn group() -> impl Strategy<Value = Uuid> {
    prop_oneof![4 => select(GROUPS.to_vec()), 1 => select(ORGS.to_vec())]
}

pub fn subject_spec() -> impl Strategy<Value = SubjectSpec> {
    (vec(role_spec(), 0..5), vec(group(), 0..3), scope_spec()).prop_map(|(roles, groups, scope)| {
        SubjectSpec {
            roles,
            groups,
            scope,
        }
    })
}

// --- Objects ------------------------------------------------------------------

/// An object, shown compactly.
#[derive(Clone)]
pub struct ObjectSpec(pub Object);

impl fmt::Debug for ObjectSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let o = &self.0;
        let acl = |entries: &[(Uuid, Vec<Action>)]| {
            entries
                .iter()
                .map(|(k, acts)| {
                    format!(
                        "{:?}:{:?}",
                        Short(*k),
                        acts.iter().map(|a| a.as_str()).collect::<Vec<_>>()
                    )
                })
                .collect::<Vec<_>>()
        };
        let mut s = f.debug_struct("Object");
        s.field("type", &o.resource_type.as_str());
        if let Some(id) = o.id {
            s.field("id", &Short(id));
        }
        if let Some(owner) = o.owner {
            s.field("owner", &Short(owner));
        }
        if let Some(org) = o.org_owner {
            s.field("org", &Short(org));
        }
        if o.any_org {
            s.field("any_org", &true);
        }
        if !o.acl_user_list.is_empty() {
            s.field("user_acl", &acl(&o.acl_user_list));
        }
        if !o.acl_group_list.is_empty() {
            s.field("group_acl", &acl(&o.acl_group_list));
        }
        s.finish()
    }
}

pub fn acl(keys: Vec<Uuid>) -> impl Strategy<Value = Vec<(Uuid, Vec<Action>)>> {
    vec((select(keys), vec(action(), 0..3)), 0..3)
}

/// An object of type `resource_type`; `any_org` only when `allow_any_org`
/// (sometimes together with an organization, which must be denied).
pub fn object_of(
    resource_type: impl Strategy<Value = ResourceType>,
    allow_any_org: bool,
) -> impl Strategy<Value = ObjectSpec> {
    let group_keys: Vec<Uuid> = GROUPS.iter().chain(ORGS.iter()).copied().collect();
    (
        resource_type,
        prop::option::weighted(0.6, select(IDS.to_vec())),
        prop::option::weighted(0.7, select(vec![ME, OTHER])),
        prop::option::weighted(0.6, select(ORGS.to_vec())),
        prop::bool::weighted(if allow_any_org { 0.15 } else { 0.0 }),
        prop::bool::weighted(0.8),
        acl(vec![ME, OTHER]),
        acl(group_keys),
    )
        .prop_map(
            |(resource_type, id, owner, org_owner, any_org, clear_org, users, groups)| {
                ObjectSpec(Object {
                    id,
                    owner,
                    // Mostly well-formed: `any_org` usually comes without an organization.
                    org_owner: if any_org && clear_org {
                        None
                    } else {
                        org_owner
                    },
                    any_org,
                    resource_type,
                    acl_user_list: users,
                    acl_group_list: groups,
                })
            },
        )
}
