//! HTTP Basic client credentials (RFC 6749 §2.3.1: client id and secret each
//! form-urlencoded, joined by `:`, then base64), as the token endpoint decodes them.
//!
//! The input is read as text, `id\nsecret` and a whole header at once, and as the
//! entropy for an arbitrary id, secret and scheme spelling. Checks: any id and secret,
//! encoded as the RFC says under a scheme name in any case, decode to exactly
//! themselves; on arbitrary headers, another scheme is `None`, a Basic header that
//! fails is `invalid_client`, and what decodes encodes and decodes again to the same
//! pair.
#![no_main]

use arbitrary::{Arbitrary, Unstructured};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use libfuzzer_sys::fuzz_target;
use url::form_urlencoded::byte_serialize;
use warden_oauth2_provider::ErrorCode;
use warden_oauth2_provider::token::basic_credentials;

#[derive(Arbitrary, Debug)]
struct Pair {
    scheme: u8,
    trailing_space: bool,
    id: String,
    secret: String,
}

fn header(scheme: &str, id: &str, secret: &str, trailing_space: bool) -> String {
    let pair = format!(
        "{}:{}",
        byte_serialize(id.as_bytes()).collect::<String>(),
        byte_serialize(secret.as_bytes()).collect::<String>()
    );
    let space = if trailing_space { " " } else { "" };
    format!("{scheme}{}{space}", STANDARD.encode(pair))
}

fn round_trip(pair: &Pair) {
    let scheme = ["Basic ", "basic ", "BASIC ", "bAsIc "][usize::from(pair.scheme) % 4];
    let sent = header(scheme, &pair.id, &pair.secret, pair.trailing_space);
    match basic_credentials(&sent) {
        Some(Ok((id, secret))) => {
            assert_eq!(
                (id.as_str(), secret.as_str()),
                (pair.id.as_str(), pair.secret.as_str())
            );
        }
        other => panic!("{sent:?} decoded as {other:?}"),
    }
}

fn check_header(raw: &str) {
    let is_basic = raw
        .get(..6)
        .is_some_and(|s| s.eq_ignore_ascii_case("basic "));
    match basic_credentials(raw) {
        None => assert!(!is_basic, "{raw:?} ignored"),
        Some(Err(e)) => {
            assert!(is_basic);
            assert_eq!(e.code, ErrorCode::InvalidClient);
        }
        Some(Ok((id, secret))) => {
            assert!(is_basic);
            let again = header("Basic ", &id, &secret, false);
            let decoded = basic_credentials(&again).and_then(Result::ok);
            assert_eq!(decoded, Some((id, secret)), "{raw:?}");
        }
    }
}

fuzz_target!(|bytes: &[u8]| {
    if let Ok(text) = std::str::from_utf8(bytes) {
        check_header(text);
        let (id, secret) = text.split_once('\n').unwrap_or((text, ""));
        round_trip(&Pair {
            scheme: 0,
            trailing_space: false,
            id: id.to_owned(),
            secret: secret.to_owned(),
        });
    }
    if let Ok(pair) = Pair::arbitrary_take_rest(Unstructured::new(bytes)) {
        round_trip(&pair);
    }
});
