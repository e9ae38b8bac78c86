//! SCIM PatchOp bodies (RFC 7644 §3.5.2) as JSON, applied to a User and to a Group:
//! the operation list, Entra ID's path-less `Replace` with dotted and URN-qualified
//! keys, Okta's Group Push shapes.
//!
//! Checks: an error is a 4xx; a body that applies leaves the User an object with
//! `id`, `meta` and `schemas` untouched and no attribute a PATCH may not write, and
//! the Group with a display name, an `externalId` within bounds and no member twice.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use warden_fuzz::{check_group_patch, check_user_patch, sample_group, sample_user};
use warden_scim::group::{GroupState, apply_group_patch};
use warden_scim::patch::apply_user_patch;

fuzz_target!(|input: &[u8]| {
    let Ok(body) = serde_json::from_slice::<Value>(input) else {
        return;
    };
    let before = sample_user();
    let mut after = before.clone();
    match apply_user_patch(&mut after, &body) {
        Ok(()) => check_user_patch(&before, &after),
        Err(e) => assert!((400..500).contains(&e.status), "{e:?}"),
    }
    let group = sample_group();
    let mut state = GroupState::of(&group);
    match apply_group_patch(&mut state, &group, &body) {
        Ok(()) => check_group_patch(&state),
        Err(e) => assert!((400..500).contains(&e.status), "{e:?}"),
    }
});
