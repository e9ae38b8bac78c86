//! SCIM BulkRequest parsing (RFC 7644 §3.7), operation paths and `bulkId:`
//! references, on arbitrary JSON.
//!
//! Checks: a request that parses has at most `MAX_OPERATIONS` operations, a `bulkId`
//! for every POST and no `bulkId` twice; an operation path that names one resource
//! names a non-empty id without `/`; resolving the references against the resources
//! the request's POSTs would create leaves no `bulkId:` string in the data, and
//! resolving against no resources fails exactly when the data holds a reference.
#![no_main]

use std::collections::HashMap;

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use warden_scim::bulk::{BulkMethod, MAX_OPERATIONS, parse_bulk_request, parse_path, resolve_data};

fn holds_reference(value: &Value) -> bool {
    match value {
        Value::String(s) => s.starts_with("bulkId:") || s.contains("/bulkId:"),
        Value::Array(items) => items.iter().any(holds_reference),
        Value::Object(map) => map.iter().any(|(k, v)| {
            if k.eq_ignore_ascii_case("path") && v.is_string() {
                v.as_str().is_some_and(|p| {
                    p.contains("\"bulkId:")
                        && p[p.find("\"bulkId:").unwrap_or(0) + 1..].contains('"')
                })
            } else {
                holds_reference(v)
            }
        }),
        _ => false,
    }
}

fn has_resolvable_string(value: &Value, created: &HashMap<String, String>) -> bool {
    match value {
        Value::String(s) => s
            .strip_prefix("bulkId:")
            .is_some_and(|id| created.contains_key(id)),
        Value::Array(items) => items.iter().any(|v| has_resolvable_string(v, created)),
        Value::Object(map) => map
            .iter()
            .any(|(k, v)| !k.eq_ignore_ascii_case("path") && has_resolvable_string(v, created)),
        _ => false,
    }
}

fuzz_target!(|input: &[u8]| {
    let Ok(body) = serde_json::from_slice::<Value>(input) else {
        return;
    };
    let Ok(request) = parse_bulk_request(&body) else {
        return;
    };
    assert!(request.operations.len() <= MAX_OPERATIONS);
    let mut created = HashMap::new();
    for (n, op) in request.operations.iter().enumerate() {
        if op.method == BulkMethod::Post {
            assert!(op.bulk_id.is_some(), "a POST without bulkId");
        }
        if let Some(id) = &op.bulk_id {
            assert!(!id.is_empty());
            let fresh = created.insert(id.clone(), format!("00000000-0000-4000-8000-{n:012}"));
            assert!(fresh.is_none(), "bulkId {id:?} twice");
        }
        if let Ok((_, Some(id))) = parse_path(op.method, &op.path) {
            assert!(
                !id.is_empty() && !id.contains('/'),
                "{:?} -> {id:?}",
                op.path
            );
        }
    }
    for op in &request.operations {
        let Some(data) = &op.data else { continue };
        let mut resolved = data.clone();
        if resolve_data(&mut resolved, &created).is_ok() {
            assert!(
                !has_resolvable_string(&resolved, &created),
                "a reference survived: {resolved}"
            );
        }
        let mut untouched = data.clone();
        let outcome = resolve_data(&mut untouched, &HashMap::new());
        assert_eq!(
            outcome.is_err(),
            holds_reference(data),
            "resolving {data} against nothing"
        );
        if outcome.is_ok() {
            assert_eq!(&untouched, data, "resolving nothing changed the data");
        }
    }
});
