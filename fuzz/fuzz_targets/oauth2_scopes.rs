//! The OAuth2 `scope` parameter (RFC 6749 §3.3), parsed into canonical Warden scope
//! names.
//!
//! Checks: errors are `invalid_scope`; a parsed list is non-empty, has no duplicate
//! and holds only canonical names (each its own canonical name, and each expands);
//! parsing the list joined again gives the same list.
#![no_main]

use libfuzzer_sys::fuzz_target;
use warden_oauth2_provider::ErrorCode;
use warden_oauth2_provider::authorize::parse_scopes;
use warden_rbac::Scope;

fuzz_target!(|input: &str| {
    let scopes = match parse_scopes(Some(input)) {
        Ok(scopes) => scopes,
        Err(e) => {
            assert_eq!(e.code, ErrorCode::InvalidScope, "{input:?}");
            return;
        }
    };
    assert!(!scopes.is_empty());
    for (i, s) in scopes.iter().enumerate() {
        assert!(!scopes[..i].contains(s), "{s:?} twice");
        assert_eq!(
            Scope::canonical_name(s).ok(),
            Some(s.as_str()),
            "{s:?} is not canonical"
        );
        assert!(Scope::by_name(s).is_ok());
    }
    let again = parse_scopes(Some(&scopes.join(" "))).ok();
    assert_eq!(again.as_ref(), Some(&scopes), "{input:?}");
});
