//! The change announcements replicas exchange over PostgreSQL `NOTIFY`
//! (crates/storage/src/changes.rs): `Touched::payload`, `join_payloads` and
//! `from_payload`.
//!
//! The input is read as a payload and as the entropy for a batch of writes. Checks:
//! what a write touched survives the payload round trip (or, when too long,
//! is announced as everything); joining several writes' payloads keeps every tag
//! exactly once, under PostgreSQL's payload limit, and turns any `*` into one `*`;
//! on arbitrary payloads, decoding never panics and whatever decodes to a tag list
//! encodes and decodes to the same list.
#![no_main]

use std::collections::HashSet;

use arbitrary::{Arbitrary, Unstructured};
use libfuzzer_sys::fuzz_target;
use uuid::Uuid;
use warden_domain::ports::ChangeTag;
use warden_storage::Touched;

/// PostgreSQL refuses `NOTIFY` payloads of 8000 bytes or more.
const NOTIFY_LIMIT: usize = 8000;

#[derive(Arbitrary, Debug)]
enum Write {
    Everything,
    Only(Vec<(u8, u128)>),
}

fn tag(kind: u8, id: u128) -> ChangeTag {
    // Few distinct ids, so that writes share tags.
    let id = Uuid::from_u128(id % 64 + (id >> 64));
    match kind % 4 {
        0 => ChangeTag::User(id.into()),
        1 => ChangeTag::Organization(id.into()),
        2 => ChangeTag::OrganizationRoles(id.into()),
        _ => ChangeTag::OAuth2App(id.into()),
    }
}

fn touched(write: &Write) -> Touched {
    match write {
        Write::Everything => Touched::Everything,
        Write::Only(tags) => Touched::Only(tags.iter().map(|(k, id)| tag(*k, *id)).collect()),
    }
}

fn check_writes(writes: &[Write]) {
    let writes: Vec<Touched> = writes.iter().map(touched).collect();

    let mut payloads = Vec::new();
    for write in &writes {
        let payload = write.payload();
        assert!(payload.len() < NOTIFY_LIMIT);
        let back = Touched::from_payload(&payload);
        if payload == "*" {
            assert_eq!(back, Touched::Everything);
        } else {
            assert_eq!(&back, write, "{payload:?}");
        }
        payloads.push(payload);
    }

    let joined = Touched::join_payloads(&payloads);
    if payloads.iter().any(|p| p == "*") {
        assert_eq!(joined, ["*"]);
    } else {
        let mut seen = HashSet::new();
        for payload in &joined {
            assert!(!payload.is_empty() && payload.len() < NOTIFY_LIMIT);
            let Touched::Only(tags) = Touched::from_payload(payload) else {
                panic!("{payload:?} reads as everything");
            };
            for tag in tags {
                assert!(seen.insert(tag), "{tag:?} announced twice");
            }
        }
        let sent: HashSet<ChangeTag> = writes
            .iter()
            .flat_map(|w| match w {
                Touched::Only(tags) => tags.clone(),
                Touched::Everything => Vec::new(),
            })
            .collect();
        assert_eq!(seen, sent);
    }
}

fn check_payload(raw: &str) {
    if let Touched::Only(tags) = Touched::from_payload(raw) {
        assert!(raw != "*");
        let again = Touched::Only(tags);
        let payload = again.payload();
        if payload != "*" {
            assert_eq!(Touched::from_payload(&payload), again, "{raw:?}");
        }
    }
}

fuzz_target!(|bytes: &[u8]| {
    if let Ok(raw) = std::str::from_utf8(bytes) {
        check_payload(raw);
    }
    if let Ok(writes) = Vec::<Write>::arbitrary_take_rest(Unstructured::new(bytes)) {
        check_writes(&writes);
    }
});
