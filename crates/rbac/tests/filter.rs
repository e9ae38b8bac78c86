//! `Subject::filter` is exactly `Subject::authorize` for stored rows: on
//! random subjects, actions and resource types, the compiled filter evaluated
//! in memory agrees with `authorize` on random objects of that type, and is
//! in the documented simplified form.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod strategies;

use std::cell::Cell;
use std::time::Instant;

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::test_runner::{TestCaseError, TestRunner};
use strategies::{ME, ORGS, OTHER, ObjectSpec, SubjectSpec};
use uuid::Uuid;
use warden_rbac::{Action, Filter, Object, ResourceType, Scope, Subject, roles};

const CASES: u32 = 20_000;

/// A subject, an action, a resource type and rows (whose type the test sets
/// to the filtered one; generated independently so that shrinking works well).
fn case() -> impl Strategy<Value = (SubjectSpec, Action, ResourceType, Vec<ObjectSpec>)> {
    (
        strategies::subject_spec(),
        strategies::action(),
        strategies::object_type(),
        vec(
            strategies::object_of(Just(ResourceType::Workspace), false),
            1..8,
        ),
    )
}

/// The documented normal form: `All`/`Nothing` only at the top, `And`/`Or`
/// with ≥ 2 children none of which is `All`, `Nothing` or of the same kind,
/// lists sorted, deduplicated and non-empty.
fn check_normal_form(filter: &Filter, top: bool) -> Result<(), String> {
    let sorted = |ids: &[Uuid]| !ids.is_empty() && ids.windows(2).all(|w| w[0] < w[1]);
    match filter {
        Filter::All | Filter::Nothing if !top => Err(format!("nested {filter:?}")),
        Filter::All | Filter::Nothing => Ok(()),
        Filter::And(children) | Filter::Or(children) => {
            if children.len() < 2 {
                return Err(format!("{filter:?} has fewer than 2 children"));
            }
            for child in children {
                let same_kind = matches!(
                    (filter, child),
                    (Filter::And(_), Filter::And(_)) | (Filter::Or(_), Filter::Or(_))
                );
                if same_kind {
                    return Err(format!("{filter:?} directly nests its own kind"));
                }
                check_normal_form(child, false)?;
            }
            Ok(())
        }
        Filter::IdIn(ids) | Filter::OrgIn(ids) | Filter::GroupAclGrants { groups: ids, .. } => {
            if sorted(ids) {
                Ok(())
            } else {
                Err(format!("unsorted or empty list in {filter:?}"))
            }
        }
        Filter::OwnerIs(_)
        | Filter::OrgIsNull
        | Filter::UserAclGrants { .. }
        | Filter::OrgEveryoneAclGrants { .. } => Ok(()),
    }
}

#[test]
fn filter_matches_exactly_what_authorize_allows() {
    let (objects_checked, allowed, trivial) = (Cell::new(0u64), Cell::new(0u64), Cell::new(0u64));
    let mut runner = TestRunner::new(strategies::config(CASES));
    let started = Instant::now();
    let result = runner.run(&case(), |(spec, action, resource_type, objects)| {
        let subject = spec.build();
        let filter = subject.filter(action, resource_type);
        check_normal_form(&filter, true).map_err(TestCaseError::fail)?;
        trivial.set(trivial.get() + u64::from(filter.is_all() || filter.is_nothing()));
        for ObjectSpec(mut object) in objects {
            object.resource_type = resource_type;
            let object = &object;
            let expected = subject.authorize(action, object);
            if filter.matches(object) != expected {
                return Err(TestCaseError::fail(format!(
                    "filter says {} but authorize says {expected} for {action} on {:?}\n  filter: {filter}\n  {:?}",
                    !expected,
                    ObjectSpec(object.clone()),
                    subject.evaluate(action, object),
                )));
            }
            objects_checked.set(objects_checked.get() + 1);
            allowed.set(allowed.get() + u64::from(expected));
        }
        Ok(())
    });
    if let Err(failure) = result {
        panic!("{failure}");
    }
    eprintln!(
        "filter: {} subjects, {} objects in {:.1?}; {} allowed; {} trivial filters",
        runner.config().cases,
        objects_checked.get(),
        started.elapsed(),
        allowed.get(),
        trivial.get(),
    );
    // Both trivial and non-trivial filters, allowed and denied rows.
    assert!(allowed.get() > objects_checked.get() / 20);
    assert!(allowed.get() < objects_checked.get() * 19 / 20);
    assert!(trivial.get() < u64::from(runner.config().cases) * 9 / 10);
}

// --- Examples of compiled filters ----------------------------------------------

fn member_of(orgs: &[Uuid], scope: Scope, groups: Vec<Uuid>) -> Subject {
    let mut roles = vec![roles::site_role(roles::MEMBER).unwrap()];
    for &org in orgs {
        roles.push(roles::org_role(roles::ORG_MEMBER, org).unwrap());
        roles.push(roles::org_role(roles::ORG_WORKSPACE_ACCESS, org).unwrap());
    }
    Subject::new(ME, roles, groups, scope)
}

#[test]
fn owner_sees_everything_and_scopes_cut_it_down() {
    let owner = Subject::new(
        ME,
        vec![roles::site_role(roles::OWNER).unwrap()],
        vec![],
        Scope::all(),
    );
    assert_eq!(
        owner.filter(Action::Read, ResourceType::Template),
        Filter::All
    );
    let scoped = Subject::new(
        ME,
        owner.roles().to_vec(),
        vec![],
        Scope::application_connect(),
    );
    assert_eq!(
        scoped.filter(Action::Read, ResourceType::Workspace),
        Filter::Nothing
    );
    assert_eq!(
        scoped.filter(Action::ApplicationConnect, ResourceType::Workspace),
        Filter::All
    );
    // A restrictive allow list becomes an id list.
    let listed = Subject::new(
        ME,
        owner.roles().to_vec(),
        vec![],
        Scope::all().with_allow_list(vec![
            warden_rbac::AllowListEntry::object(ResourceType::Workspace, Uuid::from_u128(9)),
            warden_rbac::AllowListEntry::object(ResourceType::Template, Uuid::from_u128(8)),
        ]),
    );
    assert_eq!(
        listed.filter(Action::Read, ResourceType::Workspace),
        Filter::IdIn(vec![Uuid::from_u128(9)])
    );
}

#[test]
fn member_sees_own_workspaces_and_acl_shares() {
    let subject = member_of(
        &[ORGS[1], ORGS[0]],
        Scope::all(),
        vec![Uuid::from_u128(0xB0)],
    );
    let filter = subject.filter(Action::Read, ResourceType::Workspace);
    assert_eq!(
        filter,
        Filter::Or(vec![
            Filter::And(vec![
                Filter::OwnerIs(ME),
                Filter::OrgIn(vec![ORGS[0], ORGS[1]]),
            ]),
            Filter::UserAclGrants {
                user: ME,
                action: Action::Read
            },
            Filter::And(vec![
                Filter::OrgIn(vec![ORGS[0], ORGS[1]]),
                Filter::Or(vec![
                    Filter::GroupAclGrants {
                        groups: vec![Uuid::from_u128(0xB0)],
                        action: Action::Read
                    },
                    Filter::OrgEveryoneAclGrants {
                        action: Action::Read
                    },
                ]),
            ]),
        ])
    );
    assert_eq!(
        filter.to_string(),
        format!(
            "((owner = {ME} AND org IN ({a}, {b})) OR user_acl[{ME}] GRANTS read OR (org IN ({a}, {b}) AND (group_acl[ANY ({g})] GRANTS read OR group_acl[org] GRANTS read)))",
            a = ORGS[0],
            b = ORGS[1],
            g = Uuid::from_u128(0xB0)
        )
    );
    let mine = Object::new(ResourceType::Workspace)
        .owned_by(ME)
        .in_org(ORGS[0]);
    let theirs = Object::new(ResourceType::Workspace)
        .owned_by(OTHER)
        .in_org(ORGS[0]);
    assert!(filter.matches(&mine));
    assert!(!filter.matches(&theirs));
    assert!(filter.matches(&theirs.clone().with_group_acl(ORGS[0], vec![Action::Read])));
    // Organization objects: the org-member role reads its organizations;
    // member's user level (`type:*` for most types) adds the subject's own
    // rows outside any organization.
    assert_eq!(
        subject.filter(Action::Read, ResourceType::Organization),
        Filter::Or(vec![
            Filter::OrgIn(vec![ORGS[0], ORGS[1]]),
            Filter::And(vec![Filter::OwnerIs(ME), Filter::OrgIsNull]),
            Filter::UserAclGrants {
                user: ME,
                action: Action::Read
            },
            Filter::And(vec![
                Filter::OrgIn(vec![ORGS[0], ORGS[1]]),
                Filter::Or(vec![
                    Filter::GroupAclGrants {
                        groups: vec![Uuid::from_u128(0xB0)],
                        action: Action::Read
                    },
                    Filter::OrgEveryoneAclGrants {
                        action: Action::Read
                    },
                ]),
            ]),
        ])
    );
}

#[test]
fn site_deny_and_org_deny_simplify() {
    // The creation ban denies at org level: only other orgs' own rows remain.
    let subject = Subject::new(
        ME,
        vec![
            roles::org_role(roles::ORG_WORKSPACE_ACCESS, ORGS[0]).unwrap(),
            roles::org_role(roles::ORG_WORKSPACE_ACCESS, ORGS[1]).unwrap(),
            roles::org_role(roles::ORG_WORKSPACE_CREATION_BAN, ORGS[1]).unwrap(),
        ],
        vec![],
        Scope::all(),
    );
    let filter = subject.filter(Action::Create, ResourceType::Workspace);
    let Filter::Or(children) = &filter else {
        panic!("{filter}")
    };
    assert_eq!(
        children[0],
        Filter::And(vec![Filter::OwnerIs(ME), Filter::OrgIn(vec![ORGS[0]])])
    );
}
