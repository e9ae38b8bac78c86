//! The compiled subject agrees with a naive evaluator that walks the
//! permission lists exactly as Coder's policy text reads, over many generated
//! subjects and objects (built-in and random roles, random scopes, allow lists
//! and ACLs).

use std::collections::BTreeSet;

use uuid::Uuid;

use super::{ME, OTHER, custom_role};
use crate::compiled::CompiledPermissions;
use crate::compiled::PermissionSet;
use crate::{
    Action, AllowListEntry, Object, OrgPermissions, Permission, ResourceType, Role, Scope, Subject,
    Vote, roles,
};

const ORGS: [Uuid; 4] = [
    Uuid::from_u128(0xA0),
    Uuid::from_u128(0xA1),
    Uuid::from_u128(0xA2),
    Uuid::from_u128(0xA3),
];
const GROUPS: [Uuid; 3] = [
    Uuid::from_u128(0xB0),
    Uuid::from_u128(0xB1),
    Uuid::from_u128(0xB2),
];
const IDS: [Uuid; 2] = [Uuid::from_u128(0xC0), Uuid::from_u128(0xC1)];

/// A small deterministic generator (xorshift64*), so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }
    fn maybe<T: Copy>(&mut self, percent: u64, items: &[T]) -> Option<T> {
        self.chance(percent).then(|| self.pick(items))
    }
}

fn any_type(rng: &mut Rng) -> ResourceType {
    if rng.chance(8) {
        ResourceType::Wildcard
    } else {
        rng.pick(ResourceType::ALL)
    }
}

/// A random type, biased towards a few so that permissions collide often.
fn hot_type(rng: &mut Rng) -> ResourceType {
    if rng.chance(70) {
        rng.pick(&[
            ResourceType::Workspace,
            ResourceType::Template,
            ResourceType::Group,
            ResourceType::Wildcard,
        ])
    } else {
        any_type(rng)
    }
}

fn any_action(rng: &mut Rng) -> Action {
    if rng.chance(10) {
        Action::Wildcard
    } else {
        rng.pick(&[Action::Read, Action::Update, Action::Create, Action::Use])
    }
}

fn permissions(rng: &mut Rng) -> Vec<Permission> {
    (0..rng.below(4))
        .map(|_| Permission {
            negate: rng.chance(25),
            resource_type: hot_type(rng),
            action: any_action(rng),
        })
        .collect()
}

fn random_role(rng: &mut Rng) -> Role {
    let orgs = (0..rng.below(3))
        .map(|_| (rng.pick(&ORGS[..3]), permissions(rng), permissions(rng)))
        .collect();
    custom_role(permissions(rng), permissions(rng), orgs)
}

fn builtin_role(rng: &mut Rng) -> Role {
    let names = roles::builtin_site_role_names();
    if rng.chance(40) {
        roles::site_role(rng.pick(names)).unwrap_or_else(|| random_role(rng))
    } else {
        let name = rng.pick(roles::builtin_org_role_names());
        roles::org_role(name, rng.pick(&ORGS[..3])).unwrap_or_else(|| random_role(rng))
    }
}

fn allow_list(rng: &mut Rng) -> Vec<AllowListEntry> {
    (0..rng.below(3))
        .map(|_| AllowListEntry {
            resource_type: hot_type(rng),
            id: rng.maybe(60, &IDS),
        })
        .collect()
}

fn random_scope(rng: &mut Rng) -> Scope {
    match rng.below(6) {
        0 | 1 => Scope::all(),
        2 => Scope::application_connect(),
        3 => Scope::by_name(rng.pick(&[
            "coder:workspaces.create",
            "coder:templates.author",
            "template:*",
            "group:read",
        ]))
        .unwrap_or_else(|_| Scope::all()),
        4 => Scope::all().with_allow_list(allow_list(rng)),
        _ => {
            let by_org = (0..rng.below(3))
                .map(|_| {
                    (
                        rng.pick(&ORGS),
                        OrgPermissions {
                            org: permissions(rng),
                            member: permissions(rng),
                        },
                    )
                })
                .collect();
            Scope::new(
                "random",
                permissions(rng),
                permissions(rng),
                by_org,
                allow_list(rng),
            )
        }
    }
}

fn acl(rng: &mut Rng, keys: &[Uuid]) -> Vec<(Uuid, Vec<Action>)> {
    (0..rng.below(3))
        .map(|_| {
            (
                rng.pick(keys),
                (0..rng.below(3)).map(|_| any_action(rng)).collect(),
            )
        })
        .collect()
}

fn random_object(rng: &mut Rng) -> Object {
    let mut group_keys = GROUPS.to_vec();
    group_keys.extend(ORGS);
    let mut object = Object {
        id: rng.maybe(60, &IDS),
        owner: rng.maybe(70, &[ME, OTHER]),
        org_owner: rng.maybe(60, &ORGS),
        any_org: rng.chance(15),
        resource_type: hot_type(rng),
        acl_user_list: acl(rng, &[ME, OTHER]),
        acl_group_list: acl(rng, &group_keys),
    };
    // Mostly well-formed; occasionally both `any_org` and an organization.
    if object.any_org && rng.chance(80) {
        object.org_owner = None;
    }
    object
}

// --- The naive evaluator -----------------------------------------------------

fn naive_vote<'a>(perms: impl Iterator<Item = &'a Permission>, t: ResourceType, a: Action) -> Vote {
    let matching: Vec<bool> = perms
        .filter(|p| {
            (p.action == a || p.action == Action::Wildcard)
                && (p.resource_type == t || p.resource_type == ResourceType::Wildcard)
        })
        .map(|p| p.negate)
        .collect();
    if matching.contains(&true) {
        Vote::Deny
    } else if matching.is_empty() {
        Vote::Abstain
    } else {
        Vote::Allow
    }
}

/// One role-like set: (site, user, per-org) lists.
struct Set<'a> {
    site: Vec<&'a Permission>,
    user: Vec<&'a Permission>,
    by_org: Vec<(Uuid, &'a OrgPermissions)>,
}

fn naive_allow_levels(
    set: &Set<'_>,
    memberships: &BTreeSet<Uuid>,
    subject: Uuid,
    o: &Object,
    a: Action,
) -> bool {
    let t = o.resource_type;
    let site = naive_vote(set.site.iter().copied(), t, a);
    let user = if o.owner == Some(subject) && o.org_owner.is_none() && !o.any_org {
        naive_vote(set.user.iter().copied(), t, a)
    } else {
        Vote::Abstain
    };
    let vote_in = |org: Uuid, member_level: bool| {
        if !memberships.contains(&org) {
            return Vote::Abstain;
        }
        let perms = set
            .by_org
            .iter()
            .filter(|(id, _)| *id == org)
            .flat_map(|(_, p)| {
                if member_level {
                    p.member.iter()
                } else {
                    p.org.iter()
                }
            });
        naive_vote(perms, t, a)
    };
    let level = |member_level: bool| {
        if o.any_org {
            memberships
                .iter()
                .map(|&m| vote_in(m, member_level))
                .max()
                .unwrap_or(Vote::Abstain)
        } else {
            o.org_owner
                .map_or(Vote::Abstain, |org| vote_in(org, member_level))
        }
    };
    let org = level(false);
    let org_member = if o.owner == Some(subject) {
        level(true)
    } else {
        Vote::Abstain
    };
    site == Vote::Allow
        || (site != Vote::Deny && user == Vote::Allow)
        || (site != Vote::Deny && org == Vote::Allow)
        || (site != Vote::Deny && org != Vote::Deny && org_member == Vote::Allow)
}

fn naive_authorize(
    id: Uuid,
    roles: &[Role],
    groups: &[Uuid],
    scope: &Scope,
    a: Action,
    o: &Object,
) -> bool {
    if o.any_org && o.org_owner.is_some() {
        return false;
    }
    let memberships: BTreeSet<Uuid> = roles
        .iter()
        .flat_map(|r| r.by_org_id.keys().copied())
        .collect();
    let role_set = Set {
        site: roles.iter().flat_map(|r| &r.site).collect(),
        user: roles.iter().flat_map(|r| &r.user).collect(),
        by_org: roles
            .iter()
            .flat_map(|r| r.by_org_id.iter().map(|(k, v)| (*k, v)))
            .collect(),
    };
    let scope_set = Set {
        site: scope.site().iter().collect(),
        user: scope.user().iter().collect(),
        by_org: scope.by_org_id().iter().map(|(k, v)| (*k, v)).collect(),
    };
    let role_allow = naive_allow_levels(&role_set, &memberships, id, o, a);

    let in_list = scope
        .allow_list()
        .iter()
        .any(|e| e.resource_type == ResourceType::Wildcard && e.id.is_none())
        || scope
            .allow_list()
            .iter()
            .any(|e| e.resource_type == o.resource_type && e.id.is_none())
        || scope.allow_list().iter().any(|e| {
            (e.resource_type == o.resource_type || e.resource_type == ResourceType::Wildcard)
                && e.id.is_some()
                && e.id == o.id
        });
    let scope_allow = in_list && naive_allow_levels(&scope_set, &memberships, id, o, a);

    let grants = |acts: &Vec<Action>| acts.contains(&a) || acts.contains(&Action::Wildcard);
    let is_org_member = if o.any_org {
        !memberships.is_empty()
    } else {
        o.org_owner.is_some_and(|org| memberships.contains(&org))
    };
    let acl_allow = o
        .acl_user_list
        .iter()
        .any(|(u, acts)| *u == id && grants(acts))
        || (is_org_member
            && o.acl_group_list
                .iter()
                .any(|(g, acts)| groups.contains(g) && grants(acts)))
        || (is_org_member
            && o.acl_group_list
                .iter()
                .any(|(g, acts)| Some(*g) == o.org_owner && grants(acts)));
    (role_allow || acl_allow) && scope_allow
}

#[test]
fn compiled_subject_agrees_with_the_naive_evaluator() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let (mut checks, mut allowed, mut through_acl, mut scoped_out) =
        (0usize, 0usize, 0usize, 0usize);
    for _ in 0..400 {
        let roles: Vec<Role> = (0..rng.below(5))
            .map(|_| {
                if rng.chance(50) {
                    builtin_role(&mut rng)
                } else {
                    random_role(&mut rng)
                }
            })
            .collect();
        let groups: Vec<Uuid> = GROUPS.iter().copied().filter(|_| rng.chance(50)).collect();
        let scope = random_scope(&mut rng);
        let subject = Subject::new(ME, roles.clone(), groups.clone(), scope.clone());
        for _ in 0..300 {
            let object = random_object(&mut rng);
            let action = if rng.chance(50) {
                any_action(&mut rng)
            } else {
                rng.pick(Action::ALL)
            };
            let expected = naive_authorize(ME, &roles, &groups, &scope, action, &object);
            assert_eq!(
                subject.authorize(action, &object),
                expected,
                "{action} on {object:?}\nroles: {roles:#?}\ngroups: {groups:?}\nscope: {scope:#?}"
            );
            let evaluation = subject.evaluate(action, &object);
            assert_eq!(evaluation.allow, expected);
            checks += 1;
            allowed += usize::from(expected);
            through_acl += usize::from(expected && !evaluation.role_allow);
            scoped_out += usize::from(evaluation.role_allow && !evaluation.scope_allow);
        }
    }
    // The generator must exercise every outcome substantially.
    assert!(
        allowed > checks / 20 && allowed < checks * 19 / 20,
        "{allowed} of {checks} allowed"
    );
    assert!(through_acl > 500, "{through_acl} allowed through ACLs only");
    assert!(
        scoped_out > 500,
        "{scoped_out} allowed by roles but not by the scope"
    );
}

#[test]
fn org_vote_table_lists_each_membership() {
    let role = custom_role(
        vec![],
        vec![],
        vec![
            (
                ORGS[1],
                vec![Permission::allow(ResourceType::Template, Action::Read)],
                vec![],
            ),
            (
                ORGS[0],
                vec![Permission::deny(ResourceType::Template, Action::Read)],
                vec![Permission::allow(ResourceType::Template, Action::Read)],
            ),
        ],
    );
    let compiled = CompiledPermissions::compile(&[PermissionSet::from(&role)], &ORGS[..2]);
    let votes: Vec<_> = compiled
        .org_votes(ResourceType::Template, Action::Read)
        .collect();
    assert_eq!(
        votes,
        vec![(Vote::Deny, Vote::Allow), (Vote::Allow, Vote::Abstain)]
    );
    assert_eq!(
        compiled.site_vote(ResourceType::Template, Action::Read),
        Vote::Abstain
    );
    assert_eq!(
        compiled.user_vote(ResourceType::Template, Action::Read),
        Vote::Abstain
    );
}
