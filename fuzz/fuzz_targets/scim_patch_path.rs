//! The SCIM PATCH path parser (RFC 7644 §3.5.2: `attrPath`, or `valuePath` with an
//! optional `.subAttr`) on arbitrary text, and the PATCH operations that use it.
//!
//! Checks: every error is `invalidPath`; a path that parses renders to text that
//! parses back to the same value; a sub-attribute after a value filter is an
//! `ATTRNAME`; `add`, `replace` and `remove` on the path, applied to a User and to a
//! Group, either fail or leave them valid (see `check_user_patch` and
//! `check_group_patch`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::json;
use warden_fuzz::{
    check_group_patch, check_user_patch, is_attr_name, render_patch_path, sample_group,
    sample_member_ids, sample_user,
};
use warden_scim::ScimType;
use warden_scim::discovery::PATCH_SCHEMA;
use warden_scim::filter::{MAX_FILTER_LEN, parse_patch_path};
use warden_scim::group::{GroupState, apply_group_patch};
use warden_scim::patch::apply_user_patch;

fuzz_target!(|input: &str| {
    match parse_patch_path(input) {
        Ok(path) => {
            if let Some(sub) = &path.sub {
                assert!(is_attr_name(sub), "{input:?}: sub-attribute {sub:?}");
            }
            let rendered = render_patch_path(&path);
            if rendered.len() <= MAX_FILTER_LEN {
                match parse_patch_path(&rendered) {
                    Ok(again) => assert_eq!(again, path, "{input:?} rendered as {rendered:?}"),
                    Err(e) => panic!("{input:?} rendered as {rendered:?}, which fails: {e:?}"),
                }
            }
        }
        Err(e) => assert_eq!(e.scim_type, Some(ScimType::InvalidPath), "{input:?}: {e:?}"),
    }

    let [first, _] = sample_member_ids();
    let group = sample_group();
    let values = [
        json!("Barbara"),
        json!({"value": "b@example.com", "type": "work", "primary": true}),
        json!([{"value": first, "display": "user 1"}]),
    ];
    let operations = values
        .iter()
        .flat_map(|v| [("add", Some(v)), ("replace", Some(v))])
        .chain([("remove", None)]);
    for (op, value) in operations {
        let body = json!({
            "schemas": [PATCH_SCHEMA],
            "Operations": [{"op": op, "path": input, "value": value}],
        });
        let before = sample_user();
        let mut after = before.clone();
        if apply_user_patch(&mut after, &body).is_ok() {
            check_user_patch(&before, &after);
        }
        let mut state = GroupState::of(&group);
        if apply_group_patch(&mut state, &group, &body).is_ok() {
            check_group_patch(&state);
        }
    }
});
