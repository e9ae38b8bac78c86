//! The organization members search `q` (crates/domain/src/services/members.rs):
//! `user_id:<uuid>`, `username:`/`email:` (free text), `include_system:<bool>` and
//! bare free-text words; keys case-insensitive, values kept as typed.
//!
//! The input is read as a query and as the entropy for a structured one. Checks: on
//! arbitrary text, nothing outside `search` and `user_id` is ever set and
//! surrounding blanks do not change the result; a query written from structured parts
//! (quoted text with blanks, quoted values with colons, keys in any case) parses back
//! to that user id and to the free text in the order it was written.
#![no_main]

use arbitrary::{Arbitrary, Result, Unstructured};
use libfuzzer_sys::fuzz_target;
use uuid::Uuid;
use warden_domain::ids::UserId;
use warden_domain::services::members::parse_member_query;

/// A word of free text: no blank, quote or colon.
struct Word(String);

impl<'a> Arbitrary<'a> for Word {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        const CHARS: &[u8] = b"abcXYZ019.-_@+,\xc3";
        let len = u.int_in_range(1..=12)?;
        let mut s = String::new();
        for _ in 0..len {
            match *u.choose(CHARS)? {
                0xc3 => s.push('é'),
                b => s.push(char::from(b)),
            }
        }
        Ok(Self(s))
    }
}

#[derive(Arbitrary)]
enum Term {
    Bare(Word),
    Username(Word),
    /// Quoted, so the address may hold a colon.
    Email(Word, Word),
    /// Quoted, so it may hold a blank.
    Quoted(Word, Word),
    IncludeSystem(u8),
}

#[derive(Arbitrary)]
struct Structured {
    user_id: Option<u128>,
    upper_keys: bool,
    terms: Vec<Term>,
}

fn check_raw(q: &str) {
    let parsed = parse_member_query(q);
    let padded = parse_member_query(&format!("  {q} "));
    assert_eq!(parsed.is_ok(), padded.is_ok(), "{q:?}");
    let Ok(query) = parsed else { return };
    assert_eq!(padded.ok().as_ref(), Some(&query), "{q:?}");
    assert!(query.only_ids.is_none() && query.after_id.is_none());
    assert_eq!((query.offset, query.limit), (0, None));
}

fn check_structured(s: Structured) {
    let key = |k: &str| {
        if s.upper_keys {
            k.to_uppercase()
        } else {
            k.to_owned()
        }
    };
    let mut elements = Vec::new();
    let mut free = Vec::new();
    if let Some(n) = s.user_id {
        elements.push(format!("{}:{}", key("user_id"), Uuid::from_u128(n)));
    }
    for term in &s.terms {
        match term {
            Term::Bare(w) => {
                elements.push(w.0.clone());
                free.push(w.0.clone());
            }
            Term::Username(w) => {
                elements.push(format!("{}:{}", key("username"), w.0));
                free.push(w.0.clone());
            }
            Term::Email(a, b) => {
                let address = format!("{}:{}", a.0, b.0);
                elements.push(format!("{}:\"{address}\"", key("email")));
                free.push(address);
            }
            Term::Quoted(a, b) => {
                let text = format!("{} {}", a.0, b.0);
                elements.push(format!("\"{text}\""));
                free.push(text);
            }
            Term::IncludeSystem(n) => {
                let v = ["true", "false", "1", "0"][usize::from(*n) % 4];
                elements.push(format!("{}:{v}", key("include_system")));
            }
        }
    }
    let q = elements.join(" ");
    match parse_member_query(&q) {
        Ok(query) => {
            assert_eq!(
                query.user_id,
                s.user_id.map(|n| UserId::from(Uuid::from_u128(n)))
            );
            let search = (!free.is_empty()).then(|| free.join(" "));
            assert_eq!(query.search, search, "{q:?}");
        }
        Err(e) => panic!("{q:?} fails: {e:?}"),
    }
}

fuzz_target!(|bytes: &[u8]| {
    if let Ok(q) = std::str::from_utf8(bytes) {
        check_raw(q);
    }
    if let Ok(s) = Structured::arbitrary_take_rest(Unstructured::new(bytes)) {
        check_structured(s);
    }
});
