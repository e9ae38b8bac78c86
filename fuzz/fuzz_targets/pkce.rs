//! PKCE S256 (RFC 7636) checks of the token endpoint.
//!
//! The input is read as text (`verifier\nchallenge`) and as the entropy for a
//! verifier drawn from the unreserved characters (so lengths around the bounds are
//! common). Checks: a verifier passes exactly when it is well formed (43–128 characters of
//! `[A-Za-z0-9-._~]`) and the challenge is its S256; any verifier's challenge is
//! itself well formed (43 characters of base64url); a well-formed verifier passes
//! against its own challenge and fails against any other.
#![no_main]

use arbitrary::{Arbitrary, Unstructured};
use libfuzzer_sys::fuzz_target;
use warden_oauth2_provider::pkce::{challenge_of, verify, well_formed};

fn unreserved_ok(s: &str) -> bool {
    (43..=128).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

fn check(verifier: &str, challenge: &str) {
    assert_eq!(
        well_formed(verifier),
        unreserved_ok(verifier),
        "{verifier:?}"
    );

    let own = challenge_of(verifier);
    assert_eq!(own.len(), 43);
    assert!(
        own.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    );
    assert_eq!(
        verify(verifier, &own),
        well_formed(verifier),
        "{verifier:?}"
    );

    if verify(verifier, challenge) {
        assert!(well_formed(verifier));
        assert_eq!(challenge, own.as_str());
    }
    if challenge != own {
        assert!(!verify(verifier, challenge));
    }
}

fuzz_target!(|bytes: &[u8]| {
    if let Ok(text) = std::str::from_utf8(bytes) {
        let (verifier, challenge) = text.split_once('\n').unwrap_or((text, ""));
        check(verifier, challenge);
    }
    if let Ok((drawn, challenge)) =
        <(Vec<u8>, String)>::arbitrary_take_rest(Unstructured::new(bytes))
    {
        const ALPHABET: &[u8] =
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~";
        let verifier: String = drawn
            .iter()
            .map(|b| char::from(ALPHABET[usize::from(*b) % ALPHABET.len()]))
            .collect();
        check(&verifier, &challenge);
    }
});
