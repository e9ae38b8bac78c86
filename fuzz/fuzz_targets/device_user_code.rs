//! Device flow user codes (RFC 8628 §6.1), as a person types them: case-insensitive,
//! dash and blanks optional.
//!
//! Checks: a code that normalizes is eight characters of the consonant alphabet;
//! normalizing is idempotent; the displayed `XXXX-XXXX` form, in either case and with
//! blanks around it, normalizes back to the same code.
#![no_main]

use libfuzzer_sys::fuzz_target;
use warden_oauth2_provider::device::{USER_CODE_LEN, display_user_code, normalize_user_code};

/// The device module's alphabet (private there): consonants only, no vowels to spell
/// words with.
const ALPHABET: &[u8] = b"BCDFGHJKLMNPQRSTVWXZ";

fuzz_target!(|input: &str| {
    let Some(code) = normalize_user_code(input) else {
        return;
    };
    assert_eq!(code.len(), USER_CODE_LEN);
    assert!(
        code.bytes().all(|b| ALPHABET.contains(&b)),
        "{input:?} -> {code:?}"
    );
    assert_eq!(normalize_user_code(&code).as_deref(), Some(code.as_str()));

    let shown = display_user_code(&code);
    assert_eq!(shown.len(), USER_CODE_LEN + 1);
    assert_eq!(shown.as_bytes()[USER_CODE_LEN / 2], b'-');
    for typed in [
        shown.clone(),
        shown.to_lowercase(),
        format!("  {} \t", shown.replace('-', " ")),
    ] {
        assert_eq!(
            normalize_user_code(&typed).as_deref(),
            Some(code.as_str()),
            "{typed:?}"
        );
    }
});
