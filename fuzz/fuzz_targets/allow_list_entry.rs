//! API key allow-list entries `<resource_type>:<uuid|*>`: the domain's parser of what
//! a client sends, and `warden_rbac`'s `Display`/`FromStr`, with which storage writes
//! and reads them.
//!
//! Checks: an entry the domain accepts is also accepted by the RBAC parser as the same
//! entry, and its stored form reads back (through either parser) as the same entry;
//! whatever the RBAC parser accepts round-trips through its own `Display`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use warden_domain::services::api_keys::parse_allow_entry;
use warden_rbac::AllowListEntry;

fuzz_target!(|input: &str| {
    if let Ok(entry) = parse_allow_entry(input) {
        assert_eq!(
            input.parse::<AllowListEntry>().ok().as_ref(),
            Some(&entry),
            "{input:?}"
        );
        let stored = entry.to_string();
        assert_eq!(
            stored.parse::<AllowListEntry>().ok().as_ref(),
            Some(&entry),
            "{stored:?}"
        );
        assert_eq!(
            parse_allow_entry(&stored).ok().as_ref(),
            Some(&entry),
            "{stored:?}"
        );
    }
    if let Ok(entry) = input.parse::<AllowListEntry>() {
        let stored = entry.to_string();
        assert_eq!(
            stored.parse::<AllowListEntry>().ok().as_ref(),
            Some(&entry),
            "{stored:?}"
        );
    }
});
