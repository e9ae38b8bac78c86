//! OAuth2 redirect URI rules (crates/oauth2-provider/src/redirect.rs): matching a
//! requested URI against a registered one, and the registration checks.
//!
//! The input is read as text (`registered\nrequested`) and as the entropy for URIs
//! built from realistic parts (schemes, loopback and ordinary hosts, ports, paths,
//! queries, fragments, userinfo). Checks:
//! - matching is reflexive;
//! - URIs whose schemes or hosts differ never match, nor do a parseable and an
//!   unparseable one;
//! - a match between different strings is only RFC 8252's loopback case: `http`,
//!   loopback registered host, the same host, path, query and userinfo, no fragment;
//!   and a registered loopback URI matches itself on any other port;
//! - `validate_dynamic` accepting a URI implies `validate_registered` does, no
//!   fragment, at most 2048 bytes, no blocked or `urn` scheme, a host for http(s),
//!   a loopback host for a public client's `http`;
//! - `validate_registered` never accepts a fragment or a blocked scheme.
#![no_main]

use arbitrary::{Arbitrary, Unstructured};
use libfuzzer_sys::fuzz_target;
use url::{Host, Url};
use warden_oauth2_provider::redirect::{
    MAX_REDIRECT_URI_LEN, matches, validate_dynamic, validate_registered,
};

#[derive(Arbitrary, Debug)]
enum Uri {
    Parts(Parts),
    Raw(String),
}

#[derive(Arbitrary, Debug)]
struct Parts {
    scheme: u8,
    userinfo: Option<String>,
    host: HostChoice,
    port: Option<u16>,
    path: Vec<String>,
    query: Option<String>,
    fragment: Option<String>,
}

#[derive(Arbitrary, Debug)]
enum HostChoice {
    Known(u8),
    Other(String),
    None,
}

const SCHEMES: &[&str] = &[
    "http",
    "https",
    "HTTP",
    "vscode",
    "com.example.app",
    "javascript",
    "data",
    "file",
    "urn",
    "mailto",
    "myapp",
];
const HOSTS: &[&str] = &[
    "127.0.0.1",
    "localhost",
    "[::1]",
    "app.example.com",
    "evil.example.com",
    "LOCALHOST",
    "127.0.0.2",
    "127.1",
    "dev.localhost",
    "localhost.",
    "[::ffff:127.0.0.1]",
    "0x7f.0.0.1",
    "xn--bcher-kva.example",
];

impl Uri {
    fn text(&self) -> String {
        match self {
            Self::Raw(s) => s.clone(),
            Self::Parts(p) => {
                let mut out = SCHEMES[usize::from(p.scheme) % SCHEMES.len()].to_owned();
                out.push(':');
                if !matches!(p.host, HostChoice::None) {
                    out.push_str("//");
                }
                if let Some(user) = &p.userinfo {
                    out.push_str(user);
                    out.push('@');
                }
                match &p.host {
                    HostChoice::Known(n) => out.push_str(HOSTS[usize::from(*n) % HOSTS.len()]),
                    HostChoice::Other(h) => out.push_str(h),
                    HostChoice::None => {}
                }
                if let Some(port) = p.port {
                    out.push_str(&format!(":{port}"));
                }
                for segment in &p.path {
                    out.push('/');
                    out.push_str(segment);
                }
                if let Some(q) = &p.query {
                    out.push('?');
                    out.push_str(q);
                }
                if let Some(f) = &p.fragment {
                    out.push('#');
                    out.push_str(f);
                }
                out
            }
        }
    }
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        Some(Host::Domain(d)) => d == "localhost",
        None => false,
    }
}

/// The checks on one pair; `public` is the registering client's type, `other_port`
/// a port to move a loopback URI to.
fn check(reg: &str, req: &str, public: bool, other_port: u16) {
    let (reg, req) = (reg.to_owned(), req.to_owned());
    assert!(matches(&reg, &reg), "{reg:?} does not match itself");
    assert!(matches(&req, &req), "{req:?} does not match itself");

    let (reg_url, req_url) = (Url::parse(&reg).ok(), Url::parse(&req).ok());
    let matched = matches(&reg, &req);
    if matched && reg != req {
        let (Some(a), Some(b)) = (&reg_url, &req_url) else {
            panic!("{reg:?} matched {req:?} though one does not parse");
        };
        assert!(
            a.scheme() == "http" && b.scheme() == "http",
            "{reg:?} ~ {req:?}"
        );
        assert!(
            is_loopback(a),
            "{reg:?} is not loopback but matched {req:?}"
        );
        assert_eq!(a.host(), b.host());
        assert_eq!(a.path(), b.path());
        assert_eq!(a.query(), b.query());
        assert_eq!(a.username(), b.username());
        assert_eq!(a.password(), b.password());
        assert!(b.fragment().is_none());
    }
    if let (Some(a), Some(b)) = (&reg_url, &req_url)
        && (a.scheme() != b.scheme() || a.host() != b.host())
    {
        assert!(!matched, "{reg:?} matched {req:?} across schemes or hosts");
    }

    // RFC 8252 §7.3: a registered loopback URI admits any port.
    if let Some(a) = &reg_url
        && a.scheme() == "http"
        && is_loopback(a)
        && a.fragment().is_none()
    {
        let mut moved = a.clone();
        if moved.set_port(Some(other_port)).is_ok() {
            assert!(matches(&reg, moved.as_str()), "{reg:?} refused {moved}");
        }
    }

    for raw in [&reg, &req] {
        if let Ok(url) = validate_registered(raw) {
            assert!(
                url.fragment().is_none(),
                "{raw:?} registered with a fragment"
            );
            assert!(
                !["javascript", "data", "file", "ftp", "vbscript"].contains(&url.scheme()),
                "{raw:?} registered with a blocked scheme"
            );
        }
        if validate_dynamic(raw, public).is_ok() {
            let url = match validate_registered(raw) {
                Ok(url) => url,
                Err(e) => panic!("{raw:?} passes dynamic registration but not {e}"),
            };
            assert!(!raw.contains('#') && raw.len() <= MAX_REDIRECT_URI_LEN);
            assert_ne!(url.scheme(), "urn");
            if matches!(url.scheme(), "http" | "https") {
                assert!(url.host().is_some(), "{raw:?} has no host");
            }
            if url.scheme() == "http" && public {
                assert!(
                    is_loopback(&url),
                    "public client given plain http to {raw:?}"
                );
            }
            if public {
                assert!(!matches!(url.scheme(), "mailto" | "tel" | "sms"));
            }
        }
    }
}

fuzz_target!(|bytes: &[u8]| {
    // As text: the registered URI, a newline, the requested one.
    if let Ok(text) = std::str::from_utf8(bytes) {
        let (reg, req) = text.split_once('\n').unwrap_or((text, text));
        for public in [false, true] {
            check(reg, req, public, 53123);
        }
    }
    // As the entropy for URIs built from parts.
    if let Ok((reg, req, public, port)) =
        <(Uri, Uri, bool, u16)>::arbitrary_take_rest(Unstructured::new(bytes))
    {
        check(&reg.text(), &req.text(), public, port);
    }
});
