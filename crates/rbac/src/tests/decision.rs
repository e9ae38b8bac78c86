//! The decision rules: votes per level, their combination, scopes, allow lists, ACLs.

use uuid::Uuid;

use super::{ME, ORG_A, ORG_B, OTHER, custom_role, org, site, subject};
use crate::{
    Action, AllowListEntry, Object, Permission, ResourceType as T, Scope, Subject, Vote, roles,
};

#[test]
fn negation_wins_within_a_level() {
    let grant = custom_role(
        vec![Permission::allow(T::Template, Action::Read)],
        vec![],
        vec![],
    );
    let deny = custom_role(
        vec![Permission::deny(T::Template, Action::Read)],
        vec![],
        vec![],
    );
    let object = Object::new(T::Template);

    assert!(subject(vec![grant.clone()]).authorize(Action::Read, &object));
    let both = subject(vec![grant, deny]);
    assert_eq!(both.evaluate(Action::Read, &object).site, Vote::Deny);
    assert!(!both.authorize(Action::Read, &object));

    // Same within one role, and with wildcards: `*:*` allowed but `template:read` denied.
    let mixed = custom_role(
        vec![
            Permission::allow(T::Wildcard, Action::Wildcard),
            Permission::deny(T::Template, Action::Read),
        ],
        vec![],
        vec![],
    );
    let s = subject(vec![mixed]);
    assert!(!s.authorize(Action::Read, &object));
    assert!(s.authorize(Action::Update, &object));
    assert!(s.authorize(Action::Read, &Object::new(T::User)));
}

#[test]
fn site_deny_cascades_to_every_level() {
    let role = custom_role(
        vec![Permission::deny(T::Workspace, Action::Read)],
        vec![Permission::allow(T::Wildcard, Action::Wildcard)],
        vec![(
            ORG_A,
            vec![Permission::allow(T::Wildcard, Action::Wildcard)],
            vec![Permission::allow(T::Wildcard, Action::Wildcard)],
        )],
    );
    let s = subject(vec![role]);
    let mine_in_org = Object::new(T::Workspace).owned_by(ME).in_org(ORG_A);
    let mine = Object::new(T::Workspace).owned_by(ME);

    let e = s.evaluate(Action::Read, &mine_in_org);
    assert_eq!(
        (e.site, e.org, e.org_member),
        (Vote::Deny, Vote::Allow, Vote::Allow)
    );
    assert!(!s.authorize(Action::Read, &mine_in_org));
    assert_eq!(s.evaluate(Action::Read, &mine).user, Vote::Allow);
    assert!(!s.authorize(Action::Read, &mine));
    // Other actions are untouched.
    assert!(s.authorize(Action::Update, &mine_in_org));
}

#[test]
fn org_deny_does_not_block_site_allow() {
    // The owner beats the workspace creation ban.
    let s = subject(vec![
        site(roles::OWNER),
        org(roles::ORG_MEMBER, ORG_A),
        org(roles::ORG_WORKSPACE_CREATION_BAN, ORG_A),
    ]);
    let object = Object::new(T::Workspace).owned_by(ME).in_org(ORG_A);
    let e = s.evaluate(Action::Create, &object);
    assert_eq!((e.site, e.org), (Vote::Allow, Vote::Deny));
    assert!(s.authorize(Action::Create, &object));
}

#[test]
fn org_deny_blocks_the_member_level() {
    let s = subject(vec![
        site(roles::MEMBER),
        org(roles::ORG_MEMBER, ORG_A),
        org(roles::ORG_WORKSPACE_ACCESS, ORG_A),
        org(roles::ORG_WORKSPACE_CREATION_BAN, ORG_A),
    ]);
    let mine = Object::new(T::Workspace).owned_by(ME).in_org(ORG_A);
    let e = s.evaluate(Action::Create, &mine);
    assert_eq!((e.org, e.org_member), (Vote::Deny, Vote::Allow));
    assert!(!s.authorize(Action::Create, &mine));
    assert!(!s.authorize(Action::Delete, &mine));
    // Actions the ban does not mention still work at member level.
    assert!(s.authorize(Action::Read, &mine));
    assert!(s.authorize(Action::Start, &mine));
}

#[test]
fn user_deny_blocks_nothing_else() {
    let role = custom_role(
        vec![Permission::allow(T::Template, Action::Read)],
        vec![Permission::deny(T::Template, Action::Read)],
        vec![],
    );
    let mine = Object::new(T::Template).owned_by(ME);
    let s = subject(vec![role]);
    assert_eq!(s.evaluate(Action::Read, &mine).user, Vote::Deny);
    assert!(s.authorize(Action::Read, &mine));
}

#[test]
fn non_member_org_votes_abstain() {
    // Organization-level deny in B would block org_member; but a non-member
    // of B has no org vote at all there.
    let admin_of_a = org(roles::ORG_ADMIN, ORG_A);
    let s = subject(vec![admin_of_a.clone()]);
    let in_b = Object::new(T::Template).owned_by(ME).in_org(ORG_B);
    let e = s.evaluate(Action::Read, &in_b);
    assert_eq!(
        (e.site, e.user, e.org, e.org_member),
        (Vote::Abstain, Vote::Abstain, Vote::Abstain, Vote::Abstain)
    );
    assert!(!s.authorize(Action::Read, &in_b));
    assert!(s.authorize(Action::Read, &Object::new(T::Template).in_org(ORG_A)));

    // A site grant is not blocked by the abstaining org level.
    let s = subject(vec![admin_of_a, site(roles::TEMPLATE_ADMIN)]);
    assert!(s.authorize(Action::Read, &in_b));
    assert!(!s.is_org_member(ORG_B));
}

#[test]
fn user_level_never_covers_org_owned_objects() {
    // `member` grants `template:*` at user level.
    let s = subject(vec![site(roles::MEMBER), org(roles::ORG_MEMBER, ORG_A)]);
    let mine = Object::new(T::Template).owned_by(ME);
    assert_eq!(s.evaluate(Action::Update, &mine).user, Vote::Allow);
    assert!(s.authorize(Action::Update, &mine));

    let mine_in_org = Object::new(T::Template).owned_by(ME).in_org(ORG_A);
    assert_eq!(s.evaluate(Action::Update, &mine_in_org).user, Vote::Abstain);
    assert!(!s.authorize(Action::Update, &mine_in_org));

    let mine_any_org = Object::new(T::Template).owned_by(ME).any_org();
    assert_eq!(
        s.evaluate(Action::Update, &mine_any_org).user,
        Vote::Abstain
    );
    assert!(!s.authorize(Action::Update, &mine_any_org));

    // And it only covers the subject's own objects.
    assert!(!s.authorize(Action::Update, &Object::new(T::Template).owned_by(OTHER)));
}

#[test]
fn org_member_level_needs_ownership_and_an_organization() {
    let s = subject(vec![
        org(roles::ORG_MEMBER, ORG_A),
        org(roles::ORG_WORKSPACE_ACCESS, ORG_A),
    ]);
    assert!(s.authorize(
        Action::Ssh,
        &Object::new(T::Workspace).owned_by(ME).in_org(ORG_A)
    ));
    assert!(!s.authorize(
        Action::Ssh,
        &Object::new(T::Workspace).owned_by(OTHER).in_org(ORG_A)
    ));
    assert!(!s.authorize(Action::Ssh, &Object::new(T::Workspace).in_org(ORG_A)));
    assert!(!s.authorize(Action::Ssh, &Object::new(T::Workspace).owned_by(ME)));
    assert!(!s.authorize(
        Action::Ssh,
        &Object::new(T::Workspace).owned_by(ME).in_org(ORG_B)
    ));
}

#[test]
fn any_org_takes_the_best_vote_of_the_memberships() {
    let template_anywhere = Object::new(T::Template).any_org();
    let creator_in_a = subject(vec![
        org(roles::ORG_MEMBER, ORG_B),
        org(roles::ORG_TEMPLATE_ADMIN, ORG_A),
    ]);
    assert!(creator_in_a.authorize(Action::Create, &template_anywhere));
    assert!(
        !subject(vec![org(roles::ORG_MEMBER, ORG_B)]).authorize(Action::Create, &template_anywhere)
    );
    assert!(!subject(vec![site(roles::MEMBER)]).authorize(Action::Create, &template_anywhere));

    // A deny in one organization does not hide an allow in another...
    let deny_a = custom_role(
        vec![],
        vec![],
        vec![(
            ORG_A,
            vec![Permission::deny(T::Template, Action::Create)],
            vec![],
        )],
    );
    let allow_b = custom_role(
        vec![],
        vec![],
        vec![(
            ORG_B,
            vec![Permission::allow(T::Template, Action::Create)],
            vec![],
        )],
    );
    assert!(subject(vec![deny_a.clone(), allow_b]).authorize(Action::Create, &template_anywhere));
    // ...and deny beside abstain is not an allow.
    let abstain_b = custom_role(vec![], vec![], vec![(ORG_B, vec![], vec![])]);
    let s = subject(vec![deny_a, abstain_b]);
    assert_eq!(
        s.evaluate(Action::Create, &template_anywhere).org,
        Vote::Abstain
    );
    assert!(!s.authorize(Action::Create, &template_anywhere));
}

#[test]
fn any_org_together_with_an_organization_is_denied() {
    let owner = subject(vec![site(roles::OWNER), org(roles::ORG_MEMBER, ORG_A)]);
    let mut object = Object::new(T::Template).in_org(ORG_A);
    assert!(owner.authorize(Action::Read, &object));
    object.any_org = true;
    assert!(!owner.authorize(Action::Read, &object));
    assert!(!owner.evaluate(Action::Read, &object).allow);
    // The builders keep the two exclusive.
    let rebuilt = object.clone().in_org(ORG_A);
    assert!(!rebuilt.any_org);
    let rebuilt = object.any_org();
    assert_eq!(rebuilt.org_owner, None);
}

#[test]
fn wildcards_match_as_in_coder() {
    let any_type_read = custom_role(
        vec![Permission::allow(T::Wildcard, Action::Read)],
        vec![],
        vec![],
    );
    let s = subject(vec![any_type_read]);
    assert!(s.authorize(Action::Read, &Object::new(T::License)));
    assert!(s.authorize(Action::Read, &Object::new(T::Wildcard)));
    assert!(!s.authorize(Action::Update, &Object::new(T::License)));
    // Requesting `*` is only granted by `*` permissions.
    assert!(!s.authorize(Action::Wildcard, &Object::new(T::License)));

    let template_only = subject(vec![custom_role(
        vec![Permission::allow(T::Template, Action::Wildcard)],
        vec![],
        vec![],
    )]);
    assert!(template_only.authorize(Action::Wildcard, &Object::new(T::Template)));
    assert!(template_only.authorize(Action::ViewInsights, &Object::new(T::Template)));
    assert!(!template_only.authorize(Action::Read, &Object::new(T::Wildcard)));
}

#[test]
fn scopes_narrow_roles() {
    let owner = |scope: Scope| Subject::new(ME, vec![site(roles::OWNER)], Vec::new(), scope);
    let users = Object::new(T::User);
    let app = Object::new(T::Workspace).owned_by(OTHER).in_org(ORG_A);

    assert!(owner(Scope::all()).authorize(Action::Read, &users));
    assert!(!owner(Scope::application_connect()).authorize(Action::Read, &users));
    assert!(owner(Scope::application_connect()).authorize(Action::ApplicationConnect, &app));
    assert!(!owner(Scope::no_user_data()).authorize(Action::Read, &users));
    assert!(owner(Scope::no_user_data()).authorize(Action::Read, &Object::new(T::Group)));
    // A scope never widens: a member with `coder:all` still cannot read other users.
    let member = Subject::new(ME, vec![site(roles::MEMBER)], Vec::new(), Scope::all());
    assert!(!member.authorize(
        Action::Read,
        &Object::new(T::User).with_id(OTHER).owned_by(OTHER)
    ));
}

#[test]
fn scopes_and_with_acl_grants() {
    let template = Object::new(T::Template)
        .in_org(ORG_A)
        .with_user_acl(ME, vec![Action::Read]);
    let with_scope = |scope: Scope| {
        Subject::new(
            ME,
            vec![site(roles::MEMBER), org(roles::ORG_MEMBER, ORG_A)],
            Vec::new(),
            scope,
        )
    };
    let e = with_scope(Scope::all()).evaluate(Action::Read, &template);
    assert!(!e.role_allow && e.acl_allow && e.allow);
    assert!(with_scope(Scope::all()).authorize(Action::Read, &template));
    let e = with_scope(Scope::application_connect()).evaluate(Action::Read, &template);
    assert!(e.acl_allow && !e.scope_allow && !e.allow);
    assert!(!with_scope(Scope::application_connect()).authorize(Action::Read, &template));

    let grouped = Object::new(T::Template)
        .in_org(ORG_A)
        .with_group_acl(ORG_A, vec![Action::Use]);
    assert!(with_scope(Scope::all()).authorize(Action::Use, &grouped));
    assert!(!with_scope(Scope::by_name("template:read").unwrap()).authorize(Action::Use, &grouped));
    assert!(with_scope(Scope::by_name("template:use").unwrap()).authorize(Action::Use, &grouped));
}

#[test]
fn scope_org_levels_use_role_memberships() {
    let scope = Scope::new(
        "org-template-reader",
        vec![],
        vec![],
        [(
            ORG_A,
            crate::OrgPermissions {
                org: vec![Permission::allow(T::Template, Action::Read)],
                member: vec![],
            },
        )]
        .into(),
        vec![AllowListEntry::all()],
    );
    let template = Object::new(T::Template).in_org(ORG_A);
    let non_member_owner = Subject::new(ME, vec![site(roles::OWNER)], Vec::new(), scope.clone());
    assert_eq!(
        non_member_owner.evaluate(Action::Read, &template).scope_org,
        Vote::Abstain
    );
    assert!(!non_member_owner.authorize(Action::Read, &template));

    let member_owner = Subject::new(
        ME,
        vec![site(roles::OWNER), org(roles::ORG_MEMBER, ORG_A)],
        Vec::new(),
        scope.clone(),
    );
    assert!(member_owner.authorize(Action::Read, &template));
    assert!(!member_owner.authorize(Action::Update, &template));
    assert!(!member_owner.authorize(Action::Read, &Object::new(T::Template).in_org(ORG_B)));
}

#[test]
fn restrictive_allow_lists_need_an_id() {
    let workspace_id = Uuid::from_u128(0x77);
    let owner_with = |list: Vec<AllowListEntry>| {
        Subject::new(
            ME,
            vec![site(roles::OWNER)],
            Vec::new(),
            Scope::all().with_allow_list(list),
        )
    };

    let one_workspace = owner_with(vec![AllowListEntry::object(T::Workspace, workspace_id)]);
    let e = one_workspace.evaluate(Action::Read, &Object::new(T::Workspace));
    assert!(!e.in_allow_list && e.role_allow && !e.allow);
    assert!(!one_workspace.authorize(Action::Read, &Object::new(T::Workspace)));
    assert!(one_workspace.authorize(
        Action::Read,
        &Object::new(T::Workspace).with_id(workspace_id)
    ));
    assert!(!one_workspace.authorize(Action::Read, &Object::new(T::Workspace).with_id(OTHER)));
    assert!(!one_workspace.authorize(
        Action::Read,
        &Object::new(T::Template).with_id(workspace_id)
    ));

    let any_type = owner_with(vec![AllowListEntry::object(T::Wildcard, workspace_id)]);
    assert!(any_type.authorize(
        Action::Read,
        &Object::new(T::Template).with_id(workspace_id)
    ));
    assert!(!any_type.authorize(Action::Read, &Object::new(T::Template)));

    let all_workspaces = owner_with(vec![AllowListEntry::of_type(T::Workspace)]);
    assert!(all_workspaces.authorize(Action::Read, &Object::new(T::Workspace)));
    assert!(!all_workspaces.authorize(
        Action::Read,
        &Object::new(T::Template).with_id(workspace_id)
    ));

    assert!(!owner_with(vec![]).authorize(
        Action::Read,
        &Object::new(T::Workspace).with_id(workspace_id)
    ));
    assert!(
        owner_with(vec![AllowListEntry::all()]).authorize(Action::Read, &Object::new(T::Workspace))
    );
}

#[test]
fn everyone_group_acl_requires_membership() {
    let shared = Object::new(T::Template)
        .in_org(ORG_A)
        .with_group_acl(ORG_A, vec![Action::Read]);
    let member = subject(vec![site(roles::MEMBER), org(roles::ORG_MEMBER, ORG_A)]);
    let outsider = subject(vec![site(roles::MEMBER), org(roles::ORG_MEMBER, ORG_B)]);
    assert!(member.authorize(Action::Read, &shared));
    assert!(!member.authorize(Action::Update, &shared));
    assert!(!outsider.authorize(Action::Read, &shared));
    // Without an organization there is no Everyone group.
    let orphan = Object::new(T::Template).with_group_acl(ORG_A, vec![Action::Read]);
    assert!(!member.authorize(Action::Read, &orphan));
}

#[test]
fn group_acls_require_membership_user_acls_do_not() {
    let group = Uuid::from_u128(0x6);
    let with_groups =
        |roles| Subject::new(ME, roles, vec![Uuid::from_u128(0x5), group], Scope::all());
    let in_a = Object::new(T::Template)
        .in_org(ORG_A)
        .with_group_acl(group, vec![Action::Wildcard]);

    assert!(with_groups(vec![org(roles::ORG_MEMBER, ORG_A)]).authorize(Action::Update, &in_a));
    assert!(!with_groups(vec![org(roles::ORG_MEMBER, ORG_B)]).authorize(Action::Update, &in_a));
    assert!(!with_groups(vec![org(roles::ORG_MEMBER, ORG_A)]).authorize(
        Action::Update,
        &Object::new(T::Template).with_group_acl(group, vec![Action::Wildcard])
    ));
    // Not my group.
    let other_group = Object::new(T::Template)
        .in_org(ORG_A)
        .with_group_acl(Uuid::from_u128(0x9), vec![Action::Read]);
    assert!(
        !with_groups(vec![org(roles::ORG_MEMBER, ORG_A)]).authorize(Action::Read, &other_group)
    );

    let shared_with_me = Object::new(T::Template)
        .in_org(ORG_A)
        .with_user_acl(ME, vec![Action::Read]);
    assert!(with_groups(vec![]).authorize(Action::Read, &shared_with_me));
    assert!(!with_groups(vec![]).authorize(Action::Update, &shared_with_me));
    let shared_with_other = Object::new(T::Template)
        .in_org(ORG_A)
        .with_user_acl(OTHER, vec![Action::Read]);
    assert!(!with_groups(vec![]).authorize(Action::Read, &shared_with_other));
}

#[test]
fn acl_wildcards() {
    let s = subject(vec![]);
    let star = Object::new(T::Template).with_user_acl(ME, vec![Action::Wildcard]);
    assert!(s.authorize(Action::Delete, &star));
    assert!(s.authorize(Action::Wildcard, &star));
    let read = Object::new(T::Template).with_user_acl(ME, vec![Action::Read, Action::Use]);
    assert!(s.authorize(Action::Use, &read));
    assert!(!s.authorize(Action::Wildcard, &read));
}

#[test]
fn subjects_without_roles_are_denied() {
    let s = subject(vec![]);
    for &t in T::ALL {
        for &a in t.actions() {
            assert!(!s.authorize(a, &Object::new(t).owned_by(ME)), "{t}:{a}");
        }
    }
    assert_eq!(s.organization_ids().count(), 0);
}

#[test]
fn memberships_come_from_roles() {
    let s = subject(vec![
        site(roles::MEMBER),
        org(roles::ORG_MEMBER, ORG_B),
        org(roles::ORG_ADMIN, ORG_B),
        org(roles::ORG_MEMBER, ORG_A),
    ]);
    assert_eq!(s.organization_ids().collect::<Vec<_>>(), vec![ORG_A, ORG_B]);
    assert!(s.is_org_member(ORG_A) && s.is_org_member(ORG_B));
    assert!(!s.is_org_member(Uuid::from_u128(0xC)));
    assert_eq!(s.roles().len(), 4);
    assert_eq!(
        s.role_identifiers()[1].to_string(),
        format!("organization-member:{ORG_B}")
    );
    assert_eq!(s.id(), ME);
}
