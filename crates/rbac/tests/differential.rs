//! Differential test: the compiled engine (`Subject::authorize`) against the
//! Rego oracle (`tests/oracle/policy.rego` evaluated by regorus) on random
//! subjects (built-in roles of several organizations, random custom roles
//! with negations and wildcards, groups), objects (id, owner, organization,
//! `any_org`, ACLs), actions and scopes (built-in, composite and low-level
//! names, unions, allow lists, random permission sets).
//!
//! 100 000 cases by default (`PROPTEST_CASES` overrides; `PROPTEST_RNG_SEED`
//! picks another fixed seed). A mismatch is shrunk to a small case and
//! reported with both engines' intermediate values.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod oracle;
mod strategies;

use std::cell::{Cell, RefCell};
use std::time::Instant;

use proptest::prelude::*;
use proptest::test_runner::{TestCaseError, TestRunner};
use serde_json::json;
use strategies::{ME, ORGS, OTHER, ObjectSpec, SubjectSpec};
use uuid::Uuid;
use warden_rbac::{Action, Object, ResourceType, Scope, Subject, roles};

use crate::oracle::Oracle;

const CASES: u32 = 100_000;

fn case() -> impl Strategy<Value = (SubjectSpec, Action, ObjectSpec)> {
    (
        strategies::subject_spec(),
        strategies::action(),
        strategies::object_of(strategies::resource_type(), true),
    )
}

#[test]
fn engine_agrees_with_the_rego_oracle() {
    let oracle = RefCell::new(Oracle::new());
    let (allowed, acl_only, scoped_out) = (Cell::new(0u32), Cell::new(0u32), Cell::new(0u32));
    let mut runner = TestRunner::new(strategies::config(CASES));
    let started = Instant::now();
    let checked = Cell::new(0u32);
    let result = runner.run(&case(), |(spec, action, object)| {
        let subject = spec.build();
        let object = object.0;
        let warden = subject.authorize(action, &object);
        let input = oracle::input_value(&oracle::input(&subject, action, &object));
        let rego = oracle.borrow_mut().allow_value(input.clone());
        // Every 8th case, regorus' interpreter double-checks its bytecode VM.
        checked.set(checked.get() + 1);
        if checked.get().is_multiple_of(8) {
            let interpreted = oracle.borrow_mut().allow_value_interpreted(input);
            prop_assert_eq!(rego, interpreted, "regorus' VM and interpreter disagree");
        }
        if warden != rego {
            let evaluation = subject.evaluate(action, &object);
            let explain = oracle.borrow_mut().explain(&subject, action, &object);
            return Err(TestCaseError::fail(format!(
                "warden={warden} rego={rego} for {action} on {:?}\n  warden: {evaluation:?}\n  rego:   {explain}",
                ObjectSpec(object.clone()),
            )));
        }
        let evaluation = subject.evaluate(action, &object);
        prop_assert_eq!(evaluation.allow, warden, "evaluate() disagrees with authorize()");
        allowed.set(allowed.get() + u32::from(warden));
        acl_only.set(acl_only.get() + u32::from(warden && !evaluation.role_allow));
        scoped_out.set(scoped_out.get() + u32::from(evaluation.role_allow && !evaluation.scope_allow));
        Ok(())
    });
    let elapsed = started.elapsed();
    if let Err(failure) = result {
        panic!("{failure}");
    }
    let cases = runner.config().cases;
    eprintln!(
        "differential: {cases} cases in {elapsed:.1?}; {} allowed, {} only through ACLs, {} allowed by roles but not the scope",
        allowed.get(),
        acl_only.get(),
        scoped_out.get()
    );
    // The generator must exercise every outcome.
    if cases >= 10_000 {
        assert!(allowed.get() > cases / 20 && allowed.get() < cases * 19 / 20);
        assert!(acl_only.get() > cases / 200, "too few ACL-only allows");
        assert!(scoped_out.get() > cases / 200, "too few scope denials");
    }
}

/// A few fixed cases, so that a broken oracle is caught without proptest.
#[test]
fn oracle_sanity() {
    let mut oracle = Oracle::new();
    let org = ORGS[0];
    let member = Subject::new(
        ME,
        vec![
            roles::site_role(roles::MEMBER).unwrap(),
            roles::org_role(roles::ORG_MEMBER, org).unwrap(),
            roles::org_role(roles::ORG_WORKSPACE_ACCESS, org).unwrap(),
        ],
        vec![],
        Scope::all(),
    );
    let mine = Object::new(ResourceType::Workspace)
        .with_id(Uuid::from_u128(7))
        .owned_by(ME)
        .in_org(org);
    let theirs = Object::new(ResourceType::Workspace)
        .owned_by(OTHER)
        .in_org(org);
    let shared = theirs.clone().with_user_acl(ME, vec![Action::Read]);
    let everyone = theirs.clone().with_group_acl(org, vec![Action::Wildcard]);
    let cases = [
        (&mine, Action::Read, true),
        (&mine, Action::Ssh, true),
        (&theirs, Action::Read, false),
        (&shared, Action::Read, true),
        (&shared, Action::Update, false),
        (&everyone, Action::Update, true),
    ];
    for (object, action, expected) in cases {
        assert_eq!(
            oracle.allow(&member, action, object),
            expected,
            "{action} {object:?}"
        );
        assert_eq!(
            member.authorize(action, object),
            expected,
            "{action} {object:?}"
        );
    }
    let scoped = Subject::new(
        ME,
        member.roles().to_vec(),
        vec![],
        Scope::application_connect(),
    );
    assert!(!oracle.allow(&scoped, Action::Read, &mine));
    assert!(oracle.allow(&scoped, Action::ApplicationConnect, &mine));
    let explain: serde_json::Value =
        serde_json::from_str(&oracle.explain(&scoped, Action::Read, &mine)).unwrap();
    assert_eq!(explain["scope"]["site"], json!(0));
    assert_eq!(explain["roles"]["org_member"], json!(1));
}
