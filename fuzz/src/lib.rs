//! What Warden's fuzz targets share: renderers that write parsed values back in the
//! syntax their parser reads (the crates have none, as nothing else needs them), so a
//! target can check that parsing round-trips, and the invariants a SCIM PATCH must keep.

use std::sync::OnceLock;

use serde_json::{Value, json};
use time::OffsetDateTime;
use uuid::Uuid;
use warden_domain::model::{Group, GroupSource};
use warden_domain::scim::{ScimGroupMember, ScimGroupRecord};
use warden_scim::discovery::USER_SCHEMA;
use warden_scim::filter::{AttrPath, CompValue, Filter, Op, PatchPath, parse_attr_path};
use warden_scim::group::GroupState;

/// The wire spelling of an operator.
pub fn op_str(op: Op) -> &'static str {
    match op {
        Op::Eq => "eq",
        Op::Ne => "ne",
        Op::Co => "co",
        Op::Sw => "sw",
        Op::Ew => "ew",
        Op::Gt => "gt",
        Op::Ge => "ge",
        Op::Lt => "lt",
        Op::Le => "le",
    }
}

/// `urn:…:attr.sub`.
pub fn render_attr_path(path: &AttrPath) -> String {
    let mut out = String::new();
    if let Some(urn) = &path.urn {
        out.push_str(urn);
        out.push(':');
    }
    out.push_str(&path.attr);
    if let Some(sub) = &path.sub {
        out.push('.');
        out.push_str(sub);
    }
    out
}

/// A comparison value: strings as JSON strings, numbers in Rust's shortest
/// round-tripping notation.
pub fn render_value(value: &CompValue) -> String {
    match value {
        CompValue::Str(s) => serde_json::to_string(s).unwrap_or_default(),
        CompValue::Bool(b) => b.to_string(),
        CompValue::Null => "null".to_owned(),
        CompValue::Num(n) => n.to_string(),
    }
}

/// A filter, every compound operand parenthesized so that precedence never matters.
/// `upper` writes keywords and operators in capitals (the grammar ignores their case).
pub fn render_filter(filter: &Filter, upper: bool) -> String {
    let kw = |word: &str| {
        if upper {
            word.to_ascii_uppercase()
        } else {
            word.to_owned()
        }
    };
    match filter {
        Filter::And(a, b) => format!(
            "({}) {} ({})",
            render_filter(a, upper),
            kw("and"),
            render_filter(b, upper)
        ),
        Filter::Or(a, b) => format!(
            "({}) {} ({})",
            render_filter(a, upper),
            kw("or"),
            render_filter(b, upper)
        ),
        Filter::Not(a) => format!("{} ({})", kw("not"), render_filter(a, upper)),
        Filter::Present(path) => format!("{} {}", render_attr_path(path), kw("pr")),
        Filter::Compare(path, op, value) => format!(
            "{} {} {}",
            render_attr_path(path),
            kw(op_str(*op)),
            render_value(value)
        ),
        Filter::Complex(path, inner) => {
            format!(
                "{}[{}]",
                render_attr_path(path),
                render_filter(inner, upper)
            )
        }
    }
}

/// A PATCH path: `attrPath`, or `attrPath[filter]` with an optional `.sub`.
pub fn render_patch_path(path: &PatchPath) -> String {
    let mut out = render_attr_path(&path.attr);
    if let Some(filter) = &path.filter {
        out.push('[');
        out.push_str(&render_filter(filter, false));
        out.push(']');
    }
    if let Some(sub) = &path.sub {
        out.push('.');
        out.push_str(sub);
    }
    out
}

/// Whether `name` is an RFC 7643 `ATTRNAME` (what a PATCH path's `subAttr` must be).
pub fn is_attr_name(name: &str) -> bool {
    parse_attr_path(name).is_ok_and(|p| p.urn.is_none() && p.sub.is_none() && p.attr == name)
}

/// The attributes a User PATCH may write (`warden_scim::patch`'s list, lowercased).
const USER_ATTRIBUTES: &[&str] = &[
    "username",
    "name",
    "displayname",
    "emails",
    "active",
    "externalid",
];

/// A User document as `warden_scim::user::render` writes one (built once: a target
/// runs thousands of times a second).
pub fn sample_user() -> Value {
    static USER: OnceLock<Value> = OnceLock::new();
    USER.get_or_init(build_sample_user).clone()
}

fn build_sample_user() -> Value {
    json!({
        "schemas": [USER_SCHEMA],
        "id": "0b3c9a2e-5f1d-4c8e-9a7b-1d2e3f4a5b6c",
        "externalId": "00u1abcd",
        "userName": "bjensen@example.com",
        "name": {"formatted": "Barbara Jensen", "givenName": "Barbara", "familyName": "Jensen"},
        "displayName": "Babs",
        "emails": [
            {"value": "bjensen@example.com", "type": "work", "primary": true},
            {"value": "babs@home.example", "type": "home"},
        ],
        "active": true,
        "meta": {"resourceType": "User", "version": "W/\"1\""},
    })
}

/// What a successful User PATCH must leave true: the document is still an object,
/// `id`, `meta` and `schemas` are untouched, and every attribute it gained is one a
/// PATCH may write.
pub fn check_user_patch(before: &Value, after: &Value) {
    let (Some(before), Some(after)) = (before.as_object(), after.as_object()) else {
        panic!("a patched User is no longer an object: {after}");
    };
    for key in ["id", "meta", "schemas"] {
        assert_eq!(before.get(key), after.get(key), "read-only {key:?} changed");
    }
    for key in after.keys() {
        assert!(
            before.contains_key(key) || USER_ATTRIBUTES.contains(&key.to_lowercase().as_str()),
            "PATCH added {key:?}, which is not a User attribute"
        );
    }
}

/// A stored group with two members, fixed ids (a fuzz target must be deterministic).
pub fn sample_group() -> ScimGroupRecord {
    let now = OffsetDateTime::UNIX_EPOCH;
    ScimGroupRecord {
        group: Group {
            id: Uuid::from_u128(0x6c1d).into(),
            organization_id: Uuid::from_u128(0x0a9).into(),
            name: "Engineering".into(),
            display_name: "Engineering".into(),
            avatar_url: String::new(),
            quota_allowance: 0,
            source: GroupSource::Oidc,
            created_at: now,
            updated_at: now,
        },
        external_id: "00g1".into(),
        members: Some(
            [1u128, 2]
                .into_iter()
                .map(|n| ScimGroupMember {
                    id: Uuid::from_u128(n).into(),
                    display: format!("user {n}"),
                })
                .collect(),
        ),
    }
}

/// The member ids the sample group starts with, as SCIM writes them.
pub fn sample_member_ids() -> [String; 2] {
    [
        Uuid::from_u128(1).to_string(),
        Uuid::from_u128(2).to_string(),
    ]
}

/// What a successful Group PATCH must leave true: a non-empty display name, no
/// member twice, an `externalId` within the limit.
pub fn check_group_patch(state: &GroupState) {
    assert!(
        !state.display_name.trim().is_empty(),
        "a Group lost its displayName"
    );
    for (i, id) in state.members.iter().enumerate() {
        assert!(!state.members[..i].contains(id), "member {id} twice");
    }
    assert!(state.external_id.chars().count() <= warden_scim::user::MAX_TEXT_LEN);
}
