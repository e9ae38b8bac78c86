//! RFC 7644 §3.5.2 PATCH, applied to a resource's JSON document. The caller parses
//! the patched document again, so every rule a PUT enforces holds after a PATCH too.
//!
//! Client habits handled: Entra ID's capitalised `op` (`Replace`), its path-less
//! `replace` with dotted keys (`{"name.givenName": "x"}`) and URN-qualified keys, and
//! value filters such as `emails[type eq "work"].value`.

use serde_json::{Map, Value};

use crate::discovery::{PATCH_SCHEMA, USER_SCHEMA};
use crate::error::{ScimError, ScimResult};
use crate::filter::{PatchPath, get_ci, matches, parse_patch_path};

/// Most operations accepted in one PATCH request.
pub const MAX_OPERATIONS: usize = 1000;

/// Core User attributes Warden does not store: operations on them are accepted and
/// have no effect (they are absent from `/Schemas`), as identity providers send them
/// routinely. Any other unknown attribute is `invalidPath`.
const IGNORED_USER_ATTRIBUTES: &[&str] = &[
    "nickname",
    "profileurl",
    "title",
    "usertype",
    "preferredlanguage",
    "locale",
    "timezone",
    "password",
    "phonenumbers",
    "ims",
    "photos",
    "addresses",
    "groups",
    "entitlements",
    "roles",
    "x509certificates",
];

/// Attributes of the User document a PATCH may target.
const USER_ATTRIBUTES: &[&str] = &[
    "username",
    "name",
    "displayname",
    "emails",
    "active",
    "externalid",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Add,
    Replace,
    Remove,
}

/// One parsed operation.
#[derive(Debug, Clone)]
pub(crate) struct Operation {
    pub(crate) kind: Kind,
    pub(crate) path: Option<String>,
    pub(crate) value: Option<Value>,
}

pub(crate) fn operations(body: &Value) -> ScimResult<Vec<Operation>> {
    if !body.is_object() {
        return Err(ScimError::invalid_syntax(
            "A PatchOp must be a JSON object.",
        ));
    }
    if let Some(schemas) = get_ci(body, "schemas") {
        let listed = schemas.as_array().is_some_and(|s| {
            s.iter().any(|v| {
                v.as_str()
                    .is_some_and(|v| v.eq_ignore_ascii_case(PATCH_SCHEMA))
            })
        });
        if !listed {
            return Err(ScimError::invalid_syntax(format!(
                "\"schemas\" must list {PATCH_SCHEMA:?}."
            )));
        }
    }
    let Some(Value::Array(ops)) = get_ci(body, "Operations") else {
        return Err(ScimError::invalid_syntax(
            "\"Operations\" must be an array of operations.",
        ));
    };
    if ops.is_empty() {
        return Err(ScimError::invalid_syntax("\"Operations\" is empty."));
    }
    if ops.len() > MAX_OPERATIONS {
        return Err(ScimError::bad_request(
            crate::error::ScimType::TooMany,
            format!("At most {MAX_OPERATIONS} operations per request."),
        ));
    }
    ops.iter()
        .map(|op| {
            let kind = match get_ci(op, "op").and_then(Value::as_str) {
                Some(k) if k.eq_ignore_ascii_case("add") => Kind::Add,
                Some(k) if k.eq_ignore_ascii_case("replace") => Kind::Replace,
                Some(k) if k.eq_ignore_ascii_case("remove") => Kind::Remove,
                other => {
                    return Err(ScimError::invalid_syntax(format!(
                        "\"op\" must be add, replace or remove, not {other:?}."
                    )));
                }
            };
            let path = match get_ci(op, "path") {
                None | Some(Value::Null) => None,
                Some(Value::String(p)) if p.trim().is_empty() => None,
                Some(Value::String(p)) => Some(p.clone()),
                Some(other) => {
                    return Err(ScimError::invalid_path(format!(
                        "\"path\" must be a string, not {other}."
                    )));
                }
            };
            let value = get_ci(op, "value").cloned();
            Ok(Operation { kind, path, value })
        })
        .collect()
}

/// Applies a PatchOp body to a User document.
pub fn apply_user_patch(doc: &mut Value, body: &Value) -> ScimResult<()> {
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
                    apply_keyed(doc, op.kind, &key, value)?;
                }
            }
            Some(path) => {
                let value = match (op.kind, op.value) {
                    (Kind::Remove, v) => v,
                    (_, None) => {
                        return Err(ScimError::invalid_value(format!(
                            "{:?} on {path:?} needs a \"value\".",
                            op.kind
                        )));
                    }
                    (_, v) => v,
                };
                apply_path(doc, op.kind, &path, value)?;
            }
        }
    }
    Ok(())
}

/// A key of a path-less add/replace: an attribute, a dotted `attr.sub`, a URN-qualified
/// attribute, or a whole schema extension object.
fn apply_keyed(doc: &mut Value, kind: Kind, key: &str, value: Value) -> ScimResult<()> {
    let lower = key.to_ascii_lowercase();
    if lower == USER_SCHEMA.to_ascii_lowercase() {
        let Value::Object(inner) = value else {
            return Err(ScimError::invalid_value(format!(
                "{key:?} must be an object."
            )));
        };
        for (k, v) in inner {
            apply_keyed(doc, kind, &k, v)?;
        }
        return Ok(());
    }
    if lower.starts_with("urn:") && !lower.starts_with(&USER_SCHEMA.to_ascii_lowercase()) {
        // An extension schema (enterprise User): not stored.
        return Ok(());
    }
    apply_path(doc, kind, key, Some(value))
}

fn apply_path(doc: &mut Value, kind: Kind, raw: &str, value: Option<Value>) -> ScimResult<()> {
    let path = parse_patch_path(raw)?;
    if let Some(urn) = &path.attr.urn
        && !urn.eq_ignore_ascii_case(USER_SCHEMA)
    {
        // Attributes of an extension schema (Entra's enterprise `manager`): not stored.
        return Ok(());
    }
    let attr = path.attr.attr.to_ascii_lowercase();
    if IGNORED_USER_ATTRIBUTES.contains(&attr.as_str()) {
        return Ok(());
    }
    if attr == "id" || attr == "meta" || attr == "schemas" {
        return Err(ScimError::mutability(format!("{raw:?} is read-only.")));
    }
    if !USER_ATTRIBUTES.contains(&attr.as_str()) {
        return Err(ScimError::invalid_path(format!(
            "{raw:?} is not an attribute of a User."
        )));
    }
    let Value::Object(map) = doc else {
        return Err(ScimError::invalid_value("The resource is not an object."));
    };
    apply_to_map(map, kind, &path, value, raw)
}

fn key_of(map: &Map<String, Value>, name: &str) -> String {
    map.keys()
        .find(|k| k.eq_ignore_ascii_case(name))
        .cloned()
        .unwrap_or_else(|| name.to_owned())
}

fn apply_to_map(
    map: &mut Map<String, Value>,
    kind: Kind,
    path: &PatchPath,
    value: Option<Value>,
    raw: &str,
) -> ScimResult<()> {
    let key = key_of(map, &path.attr.attr);
    match (&path.filter, &path.attr.sub) {
        (None, None) => {
            match kind {
                Kind::Remove => {
                    map.remove(&key);
                }
                Kind::Add => {
                    let value = value.unwrap_or(Value::Null);
                    match (map.get_mut(&key), value) {
                        (Some(Value::Array(existing)), Value::Array(more)) => {
                            for item in more {
                                if !existing.contains(&item) {
                                    existing.push(item);
                                }
                            }
                        }
                        (Some(Value::Object(existing)), Value::Object(more)) => {
                            for (k, v) in more {
                                let k = key_of(existing, &k);
                                existing.insert(k, v);
                            }
                        }
                        (_, value) => {
                            map.insert(key, value);
                        }
                    }
                }
                Kind::Replace => {
                    let value = value.unwrap_or(Value::Null);
                    match (map.get_mut(&key), value) {
                        (Some(Value::Object(existing)), Value::Object(more)) => {
                            for (k, v) in more {
                                let k = key_of(existing, &k);
                                existing.insert(k, v);
                            }
                        }
                        (_, value) => {
                            map.insert(key, value);
                        }
                    }
                }
            }
            Ok(())
        }
        (None, Some(sub)) => {
            let target = map.entry(key).or_insert_with(|| Value::Object(Map::new()));
            match target {
                Value::Object(inner) => set_sub(inner, kind, sub, value),
                Value::Array(items) => {
                    for item in items.iter_mut() {
                        if let Value::Object(inner) = item {
                            set_sub(inner, kind, sub, value.clone());
                        }
                    }
                }
                _ => {
                    return Err(ScimError::invalid_path(format!(
                        "{raw:?}: {} has no sub-attributes.",
                        path.attr.attr
                    )));
                }
            }
            Ok(())
        }
        (Some(filter), _) => {
            let Some(Value::Array(items)) = map.get_mut(&key) else {
                return Err(ScimError::no_target(format!("{raw:?} matches no value.")));
            };
            let hits: Vec<usize> = items
                .iter()
                .enumerate()
                .filter(|(_, item)| matches(filter, item))
                .map(|(i, _)| i)
                .collect();
            if hits.is_empty() {
                return Err(ScimError::no_target(format!("{raw:?} matches no value.")));
            }
            match (&path.sub, kind) {
                (None, Kind::Remove) => {
                    for i in hits.into_iter().rev() {
                        items.remove(i);
                    }
                }
                (None, _) => {
                    let Some(Value::Object(fields)) = value else {
                        return Err(ScimError::invalid_value(format!(
                            "{raw:?} needs an object \"value\"."
                        )));
                    };
                    for i in hits {
                        if let Some(Value::Object(item)) = items.get_mut(i) {
                            for (k, v) in fields.clone() {
                                let k = key_of(item, &k);
                                item.insert(k, v);
                            }
                        }
                    }
                }
                (Some(sub), kind) => {
                    for i in hits {
                        if let Some(Value::Object(item)) = items.get_mut(i) {
                            set_sub(item, kind, sub, value.clone());
                        }
                    }
                }
            }
            Ok(())
        }
    }
}

fn set_sub(inner: &mut Map<String, Value>, kind: Kind, sub: &str, value: Option<Value>) {
    let key = key_of(inner, sub);
    match kind {
        Kind::Remove => {
            inner.remove(&key);
        }
        Kind::Add | Kind::Replace => {
            inner.insert(key, value.unwrap_or(Value::Null));
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::error::ScimType;

    fn user() -> Value {
        json!({
            "schemas": [USER_SCHEMA], "id": "1", "userName": "alice",
            "name": {"formatted": "Alice L", "givenName": "Alice"},
            "emails": [{"value": "a@x.io", "type": "work", "primary": true}],
            "active": true,
        })
    }

    fn patch(ops: Value) -> Value {
        json!({"schemas": [PATCH_SCHEMA], "Operations": ops})
    }

    fn applied(ops: Value) -> ScimResult<Value> {
        let mut doc = user();
        apply_user_patch(&mut doc, &patch(ops))?;
        Ok(doc)
    }

    #[test]
    fn entra_capitalised_ops_dotted_keys_and_string_booleans() {
        let doc = applied(json!([
            {"op": "Replace", "value": {"name.givenName": "Al", "active": "False",
              "urn:ietf:params:scim:schemas:core:2.0:User:displayName": "Al L"}},
        ]))
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(doc["name"]["givenName"], "Al");
        assert_eq!(doc["name"]["formatted"], "Alice L");
        assert_eq!(doc["active"], "False");
        assert_eq!(doc["displayName"], "Al L");
    }

    #[test]
    fn value_filter_paths() {
        let doc = applied(json!([
            {"op": "replace", "path": "emails[type eq \"work\"].value", "value": "b@x.io"},
        ]))
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(doc["emails"][0]["value"], "b@x.io");
        let e = applied(json!([
            {"op": "replace", "path": "emails[type eq \"home\"].value", "value": "c@x.io"},
        ]))
        .err();
        assert_eq!(e.and_then(|e| e.scim_type), Some(ScimType::NoTarget));
    }

    #[test]
    fn remove_needs_a_path_and_read_only_attributes_refuse() {
        let e = applied(json!([{"op": "remove"}])).err();
        assert_eq!(e.and_then(|e| e.scim_type), Some(ScimType::NoTarget));
        let e = applied(json!([{"op": "replace", "path": "id", "value": "2"}])).err();
        assert_eq!(e.and_then(|e| e.scim_type), Some(ScimType::Mutability));
        let e =
            applied(json!([{"op": "replace", "path": "favouriteColour", "value": "red"}])).err();
        assert_eq!(e.and_then(|e| e.scim_type), Some(ScimType::InvalidPath));
        let e = applied(json!([{"op": "frobnicate", "path": "active", "value": true}])).err();
        assert_eq!(e.and_then(|e| e.scim_type), Some(ScimType::InvalidSyntax));
    }

    #[test]
    fn remove_and_add_on_paths() {
        let doc = applied(json!([
            {"op": "remove", "path": "name.givenName"},
            {"op": "add", "path": "externalId", "value": "ext-1"},
            {"op": "add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager", "value": {"value": "x"}},
            {"op": "add", "path": "title", "value": "Boss"},
        ]))
        .unwrap_or_else(|e| panic!("{e}"));
        assert!(doc["name"].get("givenName").is_none());
        assert_eq!(doc["externalId"], "ext-1");
        assert!(doc.get("title").is_none());
    }
}
