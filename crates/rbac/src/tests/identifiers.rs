//! Role identifiers and allow-list entries: parsing and display.

use uuid::Uuid;

use super::ORG_A;
use crate::{AllowListEntry, RbacError, ResourceType as T, RoleIdentifier};

#[test]
fn role_identifiers_round_trip() {
    for text in [
        "owner",
        "organization-admin:0000000a-0000-0000-0000-000000000000",
        "x:ffffffff-ffff-ffff-ffff-ffffffffffff",
    ] {
        let parsed: RoleIdentifier = text.parse().unwrap();
        assert_eq!(parsed.to_string(), text);
    }
    let id: RoleIdentifier = format!("organization-admin:{ORG_A}").parse().unwrap();
    assert_eq!(id, RoleIdentifier::org("organization-admin", ORG_A));
    assert!(id.is_org_role());
    let site: RoleIdentifier = "owner".parse().unwrap();
    assert_eq!(site, RoleIdentifier::site("owner"));
    assert!(!site.is_org_role());
}

#[test]
fn role_identifier_parsing_rejects_malformed_input() {
    for bad in [
        "",
        ":",
        "a:b:c",
        &format!("a:{ORG_A}:x"),
        &format!(":{ORG_A}"),
        "owner:",
        "owner:not-a-uuid",
    ] {
        let err = bad.parse::<RoleIdentifier>().unwrap_err();
        assert!(
            matches!(err, RbacError::InvalidRoleIdentifier(_)),
            "{bad:?}: {err}"
        );
    }
}

#[test]
fn the_nil_organization_means_site_wide() {
    let parsed: RoleIdentifier = "owner:00000000-0000-0000-0000-000000000000"
        .parse()
        .unwrap();
    assert_eq!(parsed, RoleIdentifier::site("owner"));
    assert_eq!(
        RoleIdentifier::org("owner", Uuid::nil()),
        RoleIdentifier::site("owner")
    );
}

#[test]
fn role_identifiers_serialize_as_strings() {
    let id = RoleIdentifier::org("organization-admin", ORG_A);
    let json = serde_json::to_string(&id).unwrap();
    assert_eq!(json, format!("\"organization-admin:{ORG_A}\""));
    assert_eq!(serde_json::from_str::<RoleIdentifier>(&json).unwrap(), id);
    assert!(serde_json::from_str::<RoleIdentifier>("\"a:b:c\"").is_err());
}

#[test]
fn allow_list_entries_round_trip() {
    let id = Uuid::from_u128(0x42);
    let cases = [
        ("*:*", AllowListEntry::all()),
        ("workspace:*", AllowListEntry::of_type(T::Workspace)),
        (
            &*format!("template:{id}"),
            AllowListEntry::object(T::Template, id),
        ),
        (&*format!("*:{id}"), AllowListEntry::object(T::Wildcard, id)),
    ];
    for (text, entry) in cases {
        assert_eq!(text.parse::<AllowListEntry>().unwrap(), entry, "{text}");
        assert_eq!(entry.to_string(), text);
    }
    assert_eq!(
        " Workspace:* ".parse::<AllowListEntry>().unwrap(),
        AllowListEntry::of_type(T::Workspace)
    );
    for bad in [
        "",
        "*",
        "workspace",
        "workspace:",
        ":*",
        "nope:*",
        "workspace:123",
    ] {
        assert!(
            matches!(
                bad.parse::<AllowListEntry>(),
                Err(RbacError::InvalidAllowListEntry(_))
            ),
            "{bad:?}"
        );
    }
}

#[test]
fn allow_list_entries_admit_like_coder() {
    let id = Uuid::from_u128(0x42);
    assert!(AllowListEntry::all().admits(T::User, None));
    assert!(AllowListEntry::of_type(T::User).admits(T::User, None));
    assert!(!AllowListEntry::of_type(T::User).admits(T::Group, Some(id)));
    assert!(AllowListEntry::object(T::User, id).admits(T::User, Some(id)));
    assert!(!AllowListEntry::object(T::User, id).admits(T::User, None));
    assert!(!AllowListEntry::object(T::User, id).admits(T::Group, Some(id)));
    assert!(AllowListEntry::object(T::Wildcard, id).admits(T::Group, Some(id)));
}
