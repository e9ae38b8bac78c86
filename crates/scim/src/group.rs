//! The SCIM `Group` resource: reading one from JSON, rendering one, translating
//! filters over groups into the storage port's [`GroupFilter`], and applying a PatchOp
//! to a group's SCIM state (display name, externalId, member list).
//!
//! Mapping: `displayName` is the Warden group's display name; the Warden name (which
//! must be alphanumeric with hyphens, at most 32 characters) is derived from it once,
//! at creation (`Engineering Team` → `Engineering-Team`), and stays. `members[].value`
//! is the Warden user id (the SCIM User id).

use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use warden_domain::ids::UserId;
use warden_domain::scim::{CompareOp, FilterValue, GroupAttr, GroupFilter, ScimGroupRecord};
use warden_domain::values::{display_name_valid, name_valid};

use crate::discovery::GROUP_SCHEMA;
use crate::error::{ScimError, ScimResult};
use crate::filter::{AttrPath, CompValue, Filter, Op, get_ci, matches, parse_patch_path};
use crate::patch::{Kind, operations};
use crate::user::MAX_TEXT_LEN;

/// What a client sent for a group (POST or PUT).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupInput {
    pub display_name: String,
    pub external_id: String,
    pub members: Vec<UserId>,
}

/// A group's SCIM-managed state, which a PATCH changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupState {
    pub display_name: String,
    pub external_id: String,
    /// Member ids in order, without duplicates.
    pub members: Vec<UserId>,
}

/// The `displayName` of a group: its display name, or its name when that is empty.
pub fn display_name(record: &ScimGroupRecord) -> &str {
    if record.group.display_name.is_empty() {
        &record.group.name
    } else {
        &record.group.display_name
    }
}

impl GroupState {
    /// The state of a stored group (members must be loaded).
    pub fn of(record: &ScimGroupRecord) -> Self {
        Self {
            display_name: display_name(record).to_owned(),
            external_id: record.external_id.clone(),
            members: record.members.iter().flatten().map(|m| m.id).collect(),
        }
    }
}

fn checked_display_name(value: Option<&Value>) -> ScimResult<String> {
    let name = match value {
        Some(Value::String(s)) => s.trim().to_owned(),
        None | Some(Value::Null) => String::new(),
        Some(other) => {
            return Err(ScimError::invalid_value(format!(
                "\"displayName\" must be a string, not {other}."
            )));
        }
    };
    if name.is_empty() {
        return Err(ScimError::invalid_value("\"displayName\" is required."));
    }
    display_name_valid(&name)
        .map_err(|e| ScimError::invalid_value(format!("\"displayName\" {e}.")))?;
    Ok(name)
}

fn checked_external_id(value: Option<&Value>) -> ScimResult<String> {
    let id = match value {
        Some(Value::String(s)) => s.trim().to_owned(),
        None | Some(Value::Null) => String::new(),
        Some(other) => {
            return Err(ScimError::invalid_value(format!(
                "\"externalId\" must be a string, not {other}."
            )));
        }
    };
    if id.chars().count() > MAX_TEXT_LEN {
        return Err(ScimError::invalid_value(format!(
            "\"externalId\" must be at most {MAX_TEXT_LEN} characters."
        )));
    }
    Ok(id)
}

/// Member ids from a `members` value: an array of `{"value": id, …}` objects (or a
/// single such object, as some clients send). Nested groups are refused.
pub fn member_ids(value: &Value) -> ScimResult<Vec<UserId>> {
    let items: Vec<&Value> = match value {
        Value::Array(items) => items.iter().collect(),
        Value::Object(_) => vec![value],
        Value::Null => Vec::new(),
        other => {
            return Err(ScimError::invalid_value(format!(
                "\"members\" must be an array of {{\"value\": <user id>}} objects, not {other}."
            )));
        }
    };
    items
        .into_iter()
        .map(|item| {
            if let Some(Value::String(kind)) = get_ci(item, "type")
                && kind.eq_ignore_ascii_case("Group")
            {
                return Err(ScimError::invalid_value(
                    "Nested groups are not supported: members must be Users.",
                ));
            }
            let raw = match get_ci(item, "value") {
                Some(Value::String(s)) => s.trim(),
                _ => {
                    return Err(ScimError::invalid_value(format!(
                        "A member needs a \"value\" holding a user id, got {item}."
                    )));
                }
            };
            raw.parse::<UserId>().map_err(|_| {
                ScimError::invalid_value(format!("Member value {raw:?} is not a user id."))
            })
        })
        .collect()
}

fn push_distinct(members: &mut Vec<UserId>, more: Vec<UserId>) {
    for id in more {
        if !members.contains(&id) {
            members.push(id);
        }
    }
}

/// Reads a group document (POST, PUT). Unknown attributes are ignored.
pub fn parse_group(body: &Value) -> ScimResult<GroupInput> {
    if !body.is_object() {
        return Err(ScimError::invalid_syntax("A Group must be a JSON object."));
    }
    let display_name = checked_display_name(get_ci(body, "displayName"))?;
    let external_id = checked_external_id(get_ci(body, "externalId"))?;
    let mut members = Vec::new();
    if let Some(value) = get_ci(body, "members") {
        push_distinct(&mut members, member_ids(value)?);
    }
    Ok(GroupInput {
        display_name,
        external_id,
        members,
    })
}

/// A Warden group name for a SCIM displayName: every run of characters other than
/// ASCII letters and digits becomes one hyphen, at most 32 characters.
pub fn group_name_from(display_name: &str) -> String {
    if name_valid(display_name).is_ok() {
        return display_name.to_owned();
    }
    let mut out = String::new();
    for c in display_name.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    let out: String = out.trim_matches('-').chars().take(32).collect();
    let out = out.trim_end_matches('-').to_owned();
    if name_valid(&out).is_err() {
        return "group".to_owned();
    }
    out
}

/// The weak ETag of a group's current version.
pub fn version(record: &ScimGroupRecord) -> String {
    format!(
        "W/\"{}\"",
        record.group.updated_at.unix_timestamp_nanos() / 1_000
    )
}

fn timestamp(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

/// Renders a group; without loaded members, `members` is left out. A member's
/// `display` is returned on request only (see [`wants_member_display`]), so that a
/// group reads back with exactly the members' sub-attributes a client writes.
pub fn render(record: &ScimGroupRecord, base: &str) -> Value {
    render_with(record, base, false)
}

/// [`render`], with each member's `display` when `member_display`.
pub fn render_with(record: &ScimGroupRecord, base: &str, member_display: bool) -> Value {
    let group = &record.group;
    let mut doc = Map::new();
    doc.insert("schemas".into(), json!([GROUP_SCHEMA]));
    doc.insert("id".into(), json!(group.id.to_string()));
    doc.insert("displayName".into(), json!(display_name(record)));
    if !record.external_id.is_empty() {
        doc.insert("externalId".into(), json!(record.external_id));
    }
    if let Some(members) = &record.members {
        let members: Vec<Value> = members
            .iter()
            .map(|m| {
                let mut member = json!({
                    "value": m.id.to_string(),
                    "type": "User",
                    "$ref": format!("{base}/Users/{}", m.id),
                });
                if member_display && let Value::Object(map) = &mut member {
                    map.insert("display".into(), json!(m.display));
                }
                member
            })
            .collect();
        doc.insert("members".into(), Value::Array(members));
    }
    doc.insert(
        "meta".into(),
        json!({
            "resourceType": "Group",
            "created": timestamp(group.created_at),
            "lastModified": timestamp(group.updated_at),
            "location": format!("{base}/Groups/{}", group.id),
            "version": version(record),
        }),
    );
    Value::Object(doc)
}

/// Whether a response shaped by `attributes`/`excludedAttributes` shows members
/// (when it does not, they are not loaded at all).
pub fn wants_members(attributes: &[String], excluded: &[String]) -> bool {
    let named = |list: &[String]| {
        list.iter().any(|a| {
            let a = crate::user::normalize_for(a, GROUP_SCHEMA);
            a == "members" || a.starts_with("members.")
        })
    };
    if !attributes.is_empty() {
        return named(attributes);
    }
    !excluded
        .iter()
        .any(|a| crate::user::normalize_for(a, GROUP_SCHEMA) == "members")
}

/// Whether `attributes` asks for `members.display`, which is returned on request only
/// (RFC 7643 §7 `returned: request`).
pub fn wants_member_display(attributes: &[String]) -> bool {
    attributes
        .iter()
        .any(|a| crate::user::normalize_for(a, GROUP_SCHEMA) == "members.display")
}

/// Applies `attributes`/`excludedAttributes` to a rendered group.
pub fn project(doc: Value, attributes: &[String], excluded: &[String]) -> Value {
    crate::user::project_with(
        doc,
        attributes,
        excluded,
        GROUP_SCHEMA,
        &["schemas", "id", "displayname"],
    )
}

fn compare_op(op: Op) -> CompareOp {
    match op {
        Op::Eq => CompareOp::Eq,
        Op::Ne => CompareOp::Ne,
        Op::Co => CompareOp::Co,
        Op::Sw => CompareOp::Sw,
        Op::Ew => CompareOp::Ew,
        Op::Gt => CompareOp::Gt,
        Op::Ge => CompareOp::Ge,
        Op::Lt => CompareOp::Lt,
        Op::Le => CompareOp::Le,
    }
}

fn target(path: &AttrPath, within: Option<&str>) -> ScimResult<GroupAttr> {
    if let Some(urn) = &path.urn
        && !urn.eq_ignore_ascii_case(GROUP_SCHEMA)
    {
        return Err(ScimError::invalid_filter(format!(
            "Attributes of schema {urn:?} are not supported on Groups."
        )));
    }
    let dotted = match within {
        Some(parent) => format!("{parent}.{}", path.dotted()),
        None => path.dotted(),
    };
    Ok(match dotted.as_str() {
        "id" => GroupAttr::Id,
        "displayname" => GroupAttr::DisplayName,
        "externalid" => GroupAttr::ExternalId,
        "members" | "members.value" => GroupAttr::Member,
        "meta.created" => GroupAttr::Created,
        "meta.lastmodified" => GroupAttr::LastModified,
        other => {
            return Err(ScimError::invalid_filter(format!(
                "Filtering Groups on {other:?} is not supported."
            )));
        }
    })
}

/// Translates a parsed filter over groups for the storage port.
pub fn group_filter(filter: &Filter) -> ScimResult<GroupFilter> {
    translate(filter, None)
}

fn translate(filter: &Filter, within: Option<&str>) -> ScimResult<GroupFilter> {
    Ok(match filter {
        Filter::And(a, b) => GroupFilter::And(
            Box::new(translate(a, within)?),
            Box::new(translate(b, within)?),
        ),
        Filter::Or(a, b) => GroupFilter::Or(
            Box::new(translate(a, within)?),
            Box::new(translate(b, within)?),
        ),
        Filter::Not(a) => GroupFilter::Not(Box::new(translate(a, within)?)),
        Filter::Complex(path, inner) => {
            if within.is_some() || path.sub.is_some() || !path.attr.eq_ignore_ascii_case("members")
            {
                return Err(ScimError::invalid_filter(format!(
                    "Value filters on Groups are supported on \"members\" only, not {:?}.",
                    path.dotted()
                )));
            }
            translate(inner, Some("members"))?
        }
        Filter::Present(path) => GroupFilter::Present(target(path, within)?),
        Filter::Compare(path, op, value) => {
            let attr = target(path, within)?;
            comparison(attr, *op, value)?
        }
    })
}

fn comparison(attr: GroupAttr, op: Op, value: &CompValue) -> ScimResult<GroupFilter> {
    let value = match (attr, value) {
        (_, CompValue::Null) => {
            return match op {
                Op::Eq => Ok(GroupFilter::Not(Box::new(GroupFilter::Present(attr)))),
                Op::Ne => Ok(GroupFilter::Present(attr)),
                _ => Err(ScimError::invalid_filter(
                    "null can only be compared with eq or ne.",
                )),
            };
        }
        (GroupAttr::Member, CompValue::Str(s)) if matches!(op, Op::Eq | Op::Ne) => {
            FilterValue::Text(s.clone())
        }
        (GroupAttr::Member, _) => {
            return Err(ScimError::invalid_filter(
                "members.value can only be compared with eq or ne and a quoted user id.",
            ));
        }
        (GroupAttr::Created | GroupAttr::LastModified, CompValue::Str(s))
            if !matches!(op, Op::Co | Op::Sw | Op::Ew) =>
        {
            FilterValue::Time(OffsetDateTime::parse(s, &Rfc3339).map_err(|e| {
                ScimError::invalid_filter(format!("{s:?} is not an RFC 3339 date-time: {e}."))
            })?)
        }
        (GroupAttr::Created | GroupAttr::LastModified, _) => {
            return Err(ScimError::invalid_filter(
                "meta dates are compared with eq, ne, gt, ge, lt or le and a quoted RFC 3339 value.",
            ));
        }
        (_, CompValue::Str(s)) => FilterValue::Text(s.clone()),
        _ => {
            return Err(ScimError::invalid_filter(format!(
                "{attr:?} is a string: compare it with a quoted value."
            )));
        }
    };
    Ok(GroupFilter::Compare {
        attr,
        op: compare_op(op),
        value,
    })
}

/// The attribute of `sortBy` on Groups.
pub fn sort_attr(name: &str) -> ScimResult<GroupAttr> {
    let refused = || ScimError::invalid_value(format!("Cannot sort Groups by {name:?}."));
    let path = crate::filter::parse_attr_path(name.trim()).map_err(|_| refused())?;
    match target(&path, None) {
        Ok(
            attr @ (GroupAttr::Id
            | GroupAttr::DisplayName
            | GroupAttr::ExternalId
            | GroupAttr::Created),
        ) => Ok(attr),
        Ok(GroupAttr::LastModified) => Ok(GroupAttr::LastModified),
        _ => Err(refused()),
    }
}

/// Applies a PatchOp body to a group's state. Adding a present member and removing
/// an absent one are not errors (RFC 7644 §3.5.2: the result is what was asked).
/// Handles Okta's Group Push (`add members` without `type`, `remove
/// members[value eq "…"]`, `replace displayName`) and Entra ID's capitalised ops,
/// path-less `Replace` and its `Remove members` with a `value` list.
pub fn apply_group_patch(
    state: &mut GroupState,
    record: &ScimGroupRecord,
    body: &Value,
) -> ScimResult<()> {
    for op in operations(body)? {
        match op.path {
            None => {
                if op.kind == Kind::Remove {
                    return Err(ScimError::no_target("\"remove\" needs a \"path\"."));
                }
                let Some(Value::Object(values)) = op.value else {
                    return Err(ScimError::invalid_value(
                        "Without a \"path\", \"value\" must be an object of attributes.",
                    ));
                };
                for (key, value) in values {
                    apply_keyed(state, record, op.kind, &key, value)?;
                }
            }
            Some(path) => {
                if op.kind != Kind::Remove && op.value.is_none() {
                    return Err(ScimError::invalid_value(format!(
                        "{:?} on {path:?} needs a \"value\".",
                        op.kind
                    )));
                }
                apply_path(state, record, op.kind, &path, op.value)?;
            }
        }
    }
    Ok(())
}

fn apply_keyed(
    state: &mut GroupState,
    record: &ScimGroupRecord,
    kind: Kind,
    key: &str,
    value: Value,
) -> ScimResult<()> {
    let lower = key.to_ascii_lowercase();
    if lower == GROUP_SCHEMA.to_ascii_lowercase() {
        let Value::Object(inner) = value else {
            return Err(ScimError::invalid_value(format!(
                "{key:?} must be an object."
            )));
        };
        for (k, v) in inner {
            apply_keyed(state, record, kind, &k, v)?;
        }
        return Ok(());
    }
    if lower == "id" {
        // Entra ID repeats the id in a path-less replace; only a change is refused.
        if value.as_str() == Some(record.group.id.to_string().as_str()) {
            return Ok(());
        }
        return Err(ScimError::mutability("\"id\" is read-only."));
    }
    apply_path(state, record, kind, key, Some(value))
}

fn apply_path(
    state: &mut GroupState,
    record: &ScimGroupRecord,
    kind: Kind,
    raw: &str,
    value: Option<Value>,
) -> ScimResult<()> {
    let path = parse_patch_path(raw)?;
    if let Some(urn) = &path.attr.urn
        && !urn.eq_ignore_ascii_case(GROUP_SCHEMA)
    {
        return Err(ScimError::invalid_path(format!(
            "{raw:?}: Groups have no extension schemas."
        )));
    }
    let attr = path.attr.attr.to_ascii_lowercase();
    match attr.as_str() {
        "id" | "meta" | "schemas" => Err(ScimError::mutability(format!("{raw:?} is read-only."))),
        "displayname" if path.filter.is_none() && path.attr.sub.is_none() => match kind {
            Kind::Remove => Err(ScimError::invalid_value(
                "\"displayName\" is required and cannot be removed.",
            )),
            _ => {
                state.display_name = checked_display_name(value.as_ref())?;
                Ok(())
            }
        },
        "externalid" if path.filter.is_none() && path.attr.sub.is_none() => {
            state.external_id = match kind {
                Kind::Remove => String::new(),
                _ => checked_external_id(value.as_ref())?,
            };
            Ok(())
        }
        "members" => apply_members(state, record, kind, &path, value, raw),
        _ => Err(ScimError::invalid_path(format!(
            "{raw:?} is not an attribute of a Group."
        ))),
    }
}

fn apply_members(
    state: &mut GroupState,
    record: &ScimGroupRecord,
    kind: Kind,
    path: &crate::filter::PatchPath,
    value: Option<Value>,
    raw: &str,
) -> ScimResult<()> {
    if path.attr.sub.is_some() || path.sub.is_some() {
        return Err(ScimError::invalid_path(format!(
            "{raw:?}: members are changed whole (add, replace, remove) or removed by filter."
        )));
    }
    if let Some(filter) = &path.filter {
        if kind != Kind::Remove {
            return Err(ScimError::invalid_path(format!(
                "{raw:?}: a member filter can only select members to remove."
            )));
        }
        let base_display = |id: &UserId| {
            record
                .members
                .iter()
                .flatten()
                .find(|m| m.id == *id)
                .map(|m| m.display.clone())
                .unwrap_or_default()
        };
        state.members.retain(|id| {
            let member = json!({
                "value": id.to_string(),
                "display": base_display(id),
                "type": "User",
            });
            !matches(filter, &member)
        });
        return Ok(());
    }
    match kind {
        Kind::Add => push_distinct(
            &mut state.members,
            member_ids(&value.unwrap_or(Value::Null))?,
        ),
        Kind::Replace => {
            let mut next = Vec::new();
            push_distinct(&mut next, member_ids(&value.unwrap_or(Value::Null))?);
            state.members = next;
        }
        Kind::Remove => match value {
            // Entra ID's shape: remove these members.
            Some(v) if !v.is_null() => {
                let gone = member_ids(&v)?;
                state.members.retain(|id| !gone.contains(id));
            }
            _ => state.members.clear(),
        },
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::discovery::PATCH_SCHEMA;
    use crate::error::ScimType;
    use warden_domain::ids::{GroupId, OrganizationId};
    use warden_domain::model::{Group, GroupSource};
    use warden_domain::scim::ScimGroupMember;

    fn uid(n: u8) -> UserId {
        format!("00000000-0000-4000-8000-0000000000{n:02}")
            .parse()
            .unwrap_or_else(|_| panic!("uuid"))
    }

    fn record(members: &[u8]) -> ScimGroupRecord {
        let now = OffsetDateTime::UNIX_EPOCH;
        ScimGroupRecord {
            group: Group {
                id: GroupId::new_random(),
                organization_id: OrganizationId::new_random(),
                name: "Eng".into(),
                display_name: "Eng".into(),
                avatar_url: String::new(),
                quota_allowance: 0,
                source: GroupSource::Oidc,
                created_at: now,
                updated_at: now,
            },
            external_id: String::new(),
            members: Some(
                members
                    .iter()
                    .map(|n| ScimGroupMember {
                        id: uid(*n),
                        display: format!("user {n}"),
                    })
                    .collect(),
            ),
        }
    }

    fn patched(members: &[u8], ops: Value) -> ScimResult<GroupState> {
        let rec = record(members);
        let mut state = GroupState::of(&rec);
        apply_group_patch(
            &mut state,
            &rec,
            &json!({"schemas": [PATCH_SCHEMA], "Operations": ops}),
        )?;
        Ok(state)
    }

    #[test]
    fn okta_group_push_shapes() {
        let s = patched(
            &[1],
            json!([{"op": "add", "path": "members", "value": [
                {"value": uid(2).to_string(), "display": "b@x.io"},
                {"value": uid(1).to_string(), "display": "a@x.io"}]}]),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s.members, vec![uid(1), uid(2)]);
        let s = patched(
            &[1, 2],
            json!([{"op": "remove", "path": format!("members[value eq \"{}\"]", uid(1))}]),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s.members, vec![uid(2)]);
        // Removing a non-member is not an error.
        let s = patched(
            &[2],
            json!([{"op": "remove", "path": format!("members[value eq \"{}\"]", uid(9))}]),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s.members, vec![uid(2)]);
        let s = patched(
            &[2],
            json!([{"op": "replace", "value": {"id": "ignored?", "displayName": "Eng 2"}}]),
        );
        assert_eq!(
            s.err().and_then(|e| e.scim_type),
            Some(ScimType::Mutability)
        );
        let s = patched(
            &[2],
            json!([{"op": "replace", "path": "displayName", "value": "Eng 2"}]),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s.display_name, "Eng 2");
        assert_eq!(s.members, vec![uid(2)]);
    }

    #[test]
    fn entra_shapes() {
        let s = patched(
            &[1, 2, 3],
            json!([{"op": "Remove", "path": "members", "value": [{"value": uid(2).to_string()}]},
                   {"op": "Add", "path": "members", "value": [{"value": uid(4).to_string()}]},
                   {"op": "Replace", "value": {"displayName": "Renamed", "externalId": "e-1"}}]),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s.members, vec![uid(1), uid(3), uid(4)]);
        assert_eq!(s.display_name, "Renamed");
        assert_eq!(s.external_id, "e-1");
    }

    #[test]
    fn replace_and_remove_all_and_bad_values() {
        let s = patched(
            &[1, 2],
            json!([{"op": "replace", "path": "members", "value": [{"value": uid(3).to_string()}]}]),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s.members, vec![uid(3)]);
        let s = patched(&[1, 2], json!([{"op": "remove", "path": "members"}]))
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(s.members.is_empty());
        let e = patched(
            &[1],
            json!([{"op": "add", "path": "members", "value": [{"value": "nope"}]}]),
        );
        assert_eq!(
            e.err().and_then(|e| e.scim_type),
            Some(ScimType::InvalidValue)
        );
        let e = patched(&[1], json!([{"op": "add", "path": "owners", "value": "x"}]));
        assert_eq!(
            e.err().and_then(|e| e.scim_type),
            Some(ScimType::InvalidPath)
        );
        let e = patched(&[1], json!([{"op": "remove", "path": "displayName"}]));
        assert_eq!(
            e.err().and_then(|e| e.scim_type),
            Some(ScimType::InvalidValue)
        );
    }

    #[test]
    fn names_from_display_names() {
        assert_eq!(group_name_from("Engineering Team"), "Engineering-Team");
        assert_eq!(group_name_from("eng"), "eng");
        assert_eq!(group_name_from("R&D / Ops"), "R-D-Ops");
        assert_eq!(group_name_from("***"), "group");
        assert_eq!(group_name_from(&"x".repeat(40)), "x".repeat(32));
    }

    #[test]
    fn filters_and_member_projection() {
        let f = crate::filter::parse_filter(&format!("members[value eq \"{}\"]", uid(1)))
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(matches!(
            group_filter(&f),
            Ok(GroupFilter::Compare {
                attr: GroupAttr::Member,
                ..
            })
        ));
        let f = crate::filter::parse_filter("members.display eq \"x\"")
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(group_filter(&f).is_err());
        assert!(!wants_members(&[], &["members".into()]));
        assert!(wants_members(&[], &[]));
        assert!(!wants_members(&["displayName".into()], &[]));
        assert!(wants_members(&["members.value".into()], &[]));
    }

    #[test]
    fn member_display_is_returned_on_request_only() {
        let rec = record(&[1]);
        let plain = render(&rec, "http://x/scim/v2");
        assert_eq!(
            plain["members"],
            json!([{"value": uid(1).to_string(), "type": "User",
                    "$ref": format!("http://x/scim/v2/Users/{}", uid(1))}])
        );
        assert!(!wants_member_display(&["members".into()]));
        assert!(wants_member_display(&["Members.Display".into()]));
        assert!(wants_member_display(&[format!(
            "{GROUP_SCHEMA}:members.display"
        )]));
        let asked = render_with(&rec, "http://x/scim/v2", true);
        assert_eq!(asked["members"][0]["display"], "user 1");
    }
}
