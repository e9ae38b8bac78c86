//! The users search `q` (Coder's syntax: lowercased, split on blanks outside double
//! quotes, `key:value` filters, one free-text word), crates/domain/src/services/users.rs.
//!
//! The input is read as a query and as the entropy for a structured one. Checks: on
//! arbitrary text, a query gives the same result as its lowercase form,
//! everything it keeps is lowercase, role names are trimmed, non-empty and
//! comma-free, and nothing outside the search is set; a query written from a
//! structured filter (quoted values with blanks and colons, comma lists, keys in any
//! order) parses back to exactly that filter.
#![no_main]

use arbitrary::{Arbitrary, Result, Unstructured};
use libfuzzer_sys::fuzz_target;
use warden_domain::model::{LoginType, UserStatus};
use warden_domain::ports::UserQuery;
use warden_domain::services::users::parse_user_query;

/// Lowercase text without double quotes (it could not be written inside them).
struct Text(String);

impl<'a> Arbitrary<'a> for Text {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        const CHARS: &[u8] = b"abcxyz0189 .-_@:,+";
        let len = u.int_in_range(1..=16)?;
        let mut s = String::new();
        for _ in 0..len {
            s.push(char::from(*u.choose(CHARS)?));
        }
        Ok(Self(s))
    }
}

/// A role name: no blank, comma, quote or colon.
struct Role(String);

impl<'a> Arbitrary<'a> for Role {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        const CHARS: &[u8] = b"abcdefowner-_0123";
        let len = u.int_in_range(1..=12)?;
        let mut s = String::new();
        for _ in 0..len {
            s.push(char::from(*u.choose(CHARS)?));
        }
        Ok(Self(s))
    }
}

#[derive(Arbitrary)]
struct Structured {
    search: Option<Text>,
    username: Option<Text>,
    email: Option<Text>,
    status: Vec<u8>,
    roles: Vec<Role>,
    login_types: Vec<u8>,
    /// Which element goes where, and whether to write keys in capitals.
    order: Vec<u8>,
    upper_keys: bool,
}

fn check_raw(q: &str) {
    let parsed = parse_user_query(q);
    let lowered = parse_user_query(&q.to_lowercase());
    assert_eq!(parsed.is_ok(), lowered.is_ok(), "{q:?}");
    let Ok(query) = parsed else { return };
    assert_eq!(lowered.ok().as_ref(), Some(&query), "{q:?}");
    let lower = |s: &String| *s == s.to_lowercase();
    assert!(
        query
            .search
            .iter()
            .chain(&query.username)
            .chain(&query.email)
            .all(lower)
    );
    for role in &query.roles {
        assert!(lower(role) && !role.is_empty() && role.trim() == role && !role.contains(','));
    }
    assert!(query.only_ids.is_none() && query.visible.is_none() && query.after_id.is_none());
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
    let status: Vec<UserStatus> = s
        .status
        .iter()
        .map(|n| UserStatus::ALL[usize::from(*n) % UserStatus::ALL.len()])
        .collect();
    let login_types: Vec<LoginType> = s
        .login_types
        .iter()
        .map(|n| LoginType::ALL[usize::from(*n) % LoginType::ALL.len()])
        .collect();
    let join = |items: Vec<&str>| items.join(",");
    let mut elements = Vec::new();
    if let Some(t) = &s.search {
        elements.push(format!("{}:\"{}\"", key("search"), t.0));
    }
    if let Some(t) = &s.username {
        elements.push(format!("{}:\"{}\"", key("username"), t.0));
    }
    if let Some(t) = &s.email {
        elements.push(format!("{}:\"{}\"", key("email"), t.0));
    }
    if !status.is_empty() {
        let list = join(status.iter().map(|v| v.as_str()).collect());
        elements.push(format!("{}:{list}", key("status")));
    }
    if !s.roles.is_empty() {
        let list = join(s.roles.iter().map(|r| r.0.as_str()).collect());
        elements.push(format!("{}:{list}", key("role")));
    }
    if !login_types.is_empty() {
        let list = join(login_types.iter().map(|v| v.as_str()).collect());
        elements.push(format!("{}:{list}", key("login_type")));
    }
    for (i, n) in s.order.iter().enumerate() {
        if elements.len() > 1 {
            let (a, b) = (i % elements.len(), usize::from(*n) % elements.len());
            elements.swap(a, b);
        }
    }
    let q = elements.join("  ");
    let expected = UserQuery {
        search: s.search.map(|t| t.0),
        username: s.username.map(|t| t.0),
        email: s.email.map(|t| t.0),
        status,
        roles: s.roles.into_iter().map(|r| r.0).collect(),
        login_types,
        ..UserQuery::default()
    };
    match parse_user_query(&q) {
        Ok(query) => assert_eq!(query, expected, "{q:?}"),
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
