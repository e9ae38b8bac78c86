//! Resource types, actions and permissions: spelling, validity, serde.

use crate::{Action, Permission, RbacError, ResourceType as T};

#[test]
fn resource_types_round_trip_and_are_sorted() {
    assert!(!T::ALL.contains(&T::Wildcard));
    for pair in T::ALL.windows(2) {
        assert!(
            pair[0].as_str() < pair[1].as_str(),
            "{} / {}",
            pair[0],
            pair[1]
        );
        assert!(pair[0] < pair[1]);
    }
    for &t in T::ALL.iter().chain([&T::Wildcard]) {
        assert_eq!(t.as_str().parse::<T>().unwrap(), t);
        let json = serde_json::to_string(&t).unwrap();
        assert_eq!(json, format!("\"{}\"", t.as_str()));
        assert_eq!(serde_json::from_str::<T>(&json).unwrap(), t);
    }
    assert_eq!(T::Wildcard.as_str(), "*");
    assert_eq!(T::OAuth2AppCodeToken.as_str(), "oauth2_app_code_token");
    assert_eq!(
        "Organization".parse::<T>(),
        Err(RbacError::UnknownResourceType("Organization".into()))
    );
    assert!(serde_json::from_str::<T>("\"workspaces\"").is_err());
}

#[test]
fn identity_resource_types_are_present() {
    for name in [
        "user",
        "organization",
        "organization_member",
        "group",
        "group_member",
        "assign_role",
        "assign_org_role",
        "api_key",
        "oauth2_app",
        "oauth2_app_secret",
        "oauth2_app_code_token",
        "audit_log",
        "template",
        "workspace",
        "workspace_dormant",
        "file",
        "license",
        "deployment_config",
        "deployment_stats",
        "idpsync_settings",
        "notification_message",
        "notification_preference",
        "notification_template",
        "provisioner_daemon",
        "provisioner_jobs",
        "replicas",
        "debug_info",
        "system",
        "tailnet_coordinator",
        "workspace_proxy",
        "crypto_key",
        "user_secret",
        "connection_log",
        "inbox_notification",
        "prebuilt_workspace",
        "webpush_subscription",
        "usage_event",
    ] {
        assert!(name.parse::<T>().is_ok(), "{name}");
    }
}

#[test]
fn actions_per_type_follow_the_policy() {
    for &t in T::ALL {
        assert!(!t.actions().is_empty(), "{t}");
        assert!(!t.actions().contains(&Action::Wildcard), "{t}");
    }
    assert!(T::Wildcard.actions().is_empty());
    assert_eq!(T::GroupMember.actions(), &[Action::Read]);
    assert!(
        !T::License.actions().contains(&Action::Update),
        "licenses are immutable"
    );
    assert!(T::User.actions().contains(&Action::ReadPersonal));
    assert!(T::AssignOrgRole.actions().contains(&Action::Unassign));
    assert!(T::Template.actions().contains(&Action::ViewInsights));
    assert_eq!(T::Workspace.actions(), T::WorkspaceDormant.actions());
}

#[test]
fn actions_round_trip() {
    assert!(!Action::ALL.contains(&Action::Wildcard));
    for &a in Action::ALL.iter().chain([&Action::Wildcard]) {
        assert_eq!(a.as_str().parse::<Action>().unwrap(), a);
        assert_eq!(
            serde_json::to_string(&a).unwrap(),
            format!("\"{}\"", a.as_str())
        );
    }
    assert_eq!(Action::ReadPersonal.as_str(), "read_personal");
    assert_eq!(Action::Start.as_str(), "start");
    assert_eq!(Action::Wildcard.to_string(), "*");
    assert_eq!(
        "READ".parse::<Action>(),
        Err(RbacError::UnknownAction("READ".into()))
    );
    // Every action is used by some type.
    for &a in Action::ALL {
        assert!(T::ALL.iter().any(|t| t.actions().contains(&a)), "{a}");
    }
}

#[test]
fn permission_validity_matches_coder() {
    assert!(Permission::allow(T::User, Action::ReadPersonal).is_valid());
    assert!(Permission::deny(T::User, Action::Wildcard).is_valid());
    assert!(Permission::allow(T::Wildcard, Action::Ssh).is_valid());
    assert!(Permission::allow(T::Wildcard, Action::Wildcard).is_valid());
    assert!(!Permission::allow(T::License, Action::Update).is_valid());
    assert!(!Permission::allow(T::Group, Action::Ssh).is_valid());
}

#[test]
fn permission_json_shape() {
    let p = Permission::allow(T::OrganizationMember, Action::Read);
    let json = serde_json::to_string(&p).unwrap();
    assert_eq!(
        json,
        r#"{"negate":false,"resource_type":"organization_member","action":"read"}"#
    );
    assert_eq!(serde_json::from_str::<Permission>(&json).unwrap(), p);
    let denied: Permission =
        serde_json::from_str(r#"{"negate":true,"resource_type":"*","action":"*"}"#).unwrap();
    assert_eq!(denied, Permission::deny(T::Wildcard, Action::Wildcard));
    assert!(
        serde_json::from_str::<Permission>(
            r#"{"negate":false,"resource_type":"nope","action":"read"}"#
        )
        .is_err()
    );
}

#[test]
fn errors_display_the_offending_input() {
    assert_eq!(
        RbacError::UnknownScope("x".into()).to_string(),
        "no scope named \"x\""
    );
    assert!(
        RbacError::UnknownAction("fly".into())
            .to_string()
            .contains("fly")
    );
    let boxed: Box<dyn std::error::Error> = Box::new(RbacError::UnknownResourceType("t".into()));
    assert!(boxed.to_string().contains("unknown resource type"));
}
