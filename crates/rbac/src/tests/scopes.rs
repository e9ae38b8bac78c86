//! Scope names, expansion and unions.

use uuid::Uuid;

use super::{ME, ORG_A, site};
use crate::{
    Action, AllowListEntry, Object, Permission, RbacError, ResourceType as T, Scope, Subject, roles,
};

fn owner_with(scope: Scope) -> Subject {
    Subject::new(
        ME,
        vec![site(roles::OWNER), super::org(roles::ORG_MEMBER, ORG_A)],
        Vec::new(),
        scope,
    )
}

#[test]
fn builtin_scopes_and_aliases() {
    assert_eq!(Scope::by_name("coder:all").unwrap(), Scope::all());
    assert_eq!(Scope::by_name("all").unwrap(), Scope::all());
    assert_eq!(
        Scope::by_name("application_connect").unwrap(),
        Scope::application_connect()
    );
    assert_eq!(Scope::all().name(), "coder:all");
    assert_eq!(Scope::all().allow_list(), &[AllowListEntry::all()]);
    assert_eq!(
        Scope::all().site(),
        &[Permission::allow(T::Wildcard, Action::Wildcard)]
    );
    assert_eq!(
        Scope::by_name("no_user_data").unwrap(),
        Scope::no_user_data()
    );
    assert_eq!(Scope::canonical_name("all").unwrap(), "coder:all");
    assert_eq!(
        Scope::canonical_name("application_connect").unwrap(),
        "coder:application_connect"
    );
    assert_eq!(
        Scope::canonical_name("workspace:read").unwrap(),
        "workspace:read"
    );
    assert!(Scope::canonical_name("everything").is_err());
}

#[test]
fn composite_scopes_expand_to_site_permissions() {
    assert_eq!(Scope::composite_names().count(), 7);
    for name in Scope::composite_names() {
        let scope = Scope::by_name(name).unwrap();
        assert!(
            !scope.site().is_empty() && scope.site().iter().all(Permission::is_valid),
            "{name}"
        );
        assert!(scope.user().is_empty() && scope.by_org_id().is_empty());
    }
    let s = owner_with(Scope::by_name("coder:workspaces.create").unwrap());
    assert!(s.authorize(Action::Use, &Object::new(T::Template).in_org(ORG_A)));
    assert!(s.authorize(
        Action::Create,
        &Object::new(T::Workspace).owned_by(ME).in_org(ORG_A)
    ));
    assert!(!s.authorize(
        Action::Delete,
        &Object::new(T::Workspace).owned_by(ME).in_org(ORG_A)
    ));
    let keys = owner_with(Scope::by_name("coder:apikeys.manage_self").unwrap());
    assert!(keys.authorize(Action::Delete, &Object::new(T::ApiKey).owned_by(ME)));
    assert!(!keys.authorize(Action::Read, &Object::new(T::User)));
}

#[test]
fn low_level_scopes_must_name_declared_actions() {
    let read = Scope::by_name("workspace:read").unwrap();
    assert_eq!(
        read.site(),
        &[Permission::allow(T::Workspace, Action::Read)]
    );
    assert_eq!(
        Scope::by_name("template:*").unwrap().site(),
        &[Permission::allow(T::Template, Action::Wildcard)]
    );
    assert!(
        Scope::by_name("*:*").is_ok(),
        "Coder's ExpandScope accepts the wildcard pair"
    );
    for bad in [
        "workspace:fly",
        "license:update",
        "*:read",
        "nope:read",
        "workspace:",
        ":read",
        "workspace",
        "coder:nothing",
        "",
    ] {
        assert_eq!(
            Scope::by_name(bad),
            Err(RbacError::UnknownScope(bad.to_owned())),
            "{bad:?}"
        );
    }
    let s = owner_with(read);
    assert!(s.authorize(Action::Read, &Object::new(T::Workspace).in_org(ORG_A)));
    assert!(!s.authorize(Action::Update, &Object::new(T::Workspace).in_org(ORG_A)));
}

#[test]
fn unions_combine_permissions_and_allow_lists() {
    let union = Scope::union(&[
        "workspace:read",
        "coder:apikeys.manage_self",
        "workspace:read",
    ])
    .unwrap();
    assert_eq!(
        union.name(),
        "workspace:read coder:apikeys.manage_self workspace:read"
    );
    assert_eq!(union.site().len(), 5, "duplicates removed");
    assert_eq!(union.allow_list(), &[AllowListEntry::all()]);
    let s = owner_with(union);
    assert!(s.authorize(Action::Read, &Object::new(T::Workspace).in_org(ORG_A)));
    assert!(s.authorize(Action::Create, &Object::new(T::ApiKey).owned_by(ME)));
    assert!(!s.authorize(Action::Read, &Object::new(T::Template).in_org(ORG_A)));

    assert!(
        matches!(Scope::union(&["workspace:read", "nope"]), Err(RbacError::UnknownScope(n)) if n == "nope")
    );

    let nothing = Scope::union(&[]).unwrap();
    assert!(nothing.site().is_empty() && nothing.allow_list().is_empty());
    let s = owner_with(nothing);
    for &t in T::ALL {
        assert!(!s.authorize(Action::Read, &Object::new(t)), "{t}");
    }
}

#[test]
fn allow_lists_replace() {
    let id = Uuid::from_u128(0x99);
    let scope = Scope::all().with_allow_list(vec![AllowListEntry::object(T::Workspace, id)]);
    assert_eq!(
        scope.allow_list(),
        &[AllowListEntry::object(T::Workspace, id)]
    );
    assert_eq!(scope.site(), Scope::all().site());
    let s = owner_with(scope);
    assert!(s.authorize(
        Action::Read,
        &Object::new(T::Workspace).with_id(id).in_org(ORG_A)
    ));
    assert!(!s.authorize(Action::Read, &Object::new(T::User).with_id(ME)));
}
