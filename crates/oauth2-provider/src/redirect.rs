//! Redirect URI rules: exact string match (RFC 9700 §4.1.3), except that the port of
//! a registered `http` loopback URI may vary (RFC 8252 §7.3).

use url::Url;

/// Schemes never accepted as redirect targets.
const BLOCKED_SCHEMES: &[&str] = &["javascript", "data", "file", "ftp", "vbscript"];

/// Checks a URI an application registers: absolute, no fragment, not a blocked scheme.
pub fn validate_registered(raw: &str) -> Result<Url, String> {
    let url = Url::parse(raw).map_err(|e| format!("must be an absolute URL: {e}"))?;
    if url.fragment().is_some() {
        return Err("must not contain a fragment".into());
    }
    if BLOCKED_SCHEMES.contains(&url.scheme()) {
        return Err(format!("the scheme {:?} is not allowed", url.scheme()));
    }
    // Custom schemes (`vscode://…`) and plain http are accepted, as Coder does.
    Ok(url)
}

/// Most redirect URIs one client may register (as Coder).
pub const MAX_REDIRECT_URIS: usize = 32;
/// Longest redirect URI accepted.
pub const MAX_REDIRECT_URI_LEN: usize = 2048;

/// Checks a redirect URI presented to dynamic client registration, with Coder's
/// rules (RFC 8252 for native clients): no dangerous scheme, no fragment, http(s)
/// with a host; plain `http` only to a loopback host for public clients, and only to
/// `localhost`, a loopback address or a `*.localhost` name for confidential ones;
/// public clients may not use `mailto`, `tel` or `sms`. Out-of-band `urn:` URIs are
/// refused: Warden can only deliver codes by redirecting.
pub fn validate_dynamic(raw: &str, public: bool) -> Result<(), String> {
    if raw.is_empty() {
        return Err("must not be empty".into());
    }
    if raw.len() > MAX_REDIRECT_URI_LEN {
        return Err(format!("must be at most {MAX_REDIRECT_URI_LEN} bytes"));
    }
    if raw.contains('#') {
        return Err("must not contain a fragment".into());
    }
    let url = validate_registered(raw)?;
    let scheme = url.scheme();
    if scheme == "urn" {
        return Err("out-of-band (urn:) redirect URIs are not supported".into());
    }
    if scheme == "http" || scheme == "https" {
        if url.host().is_none() {
            return Err("http and https URIs must include a host".into());
        }
        if scheme == "http" {
            if public && !is_loopback(&url) {
                return Err(
                    "public clients may use http only with a loopback host (127.0.0.1, ::1, localhost)"
                        .into(),
                );
            }
            let dev_name =
                matches!(url.host(), Some(url::Host::Domain(d)) if d.ends_with(".localhost"));
            if !public && !is_loopback(&url) && !dev_name {
                return Err("must use https unless the host is localhost".into());
            }
        }
    } else if public && matches!(scheme, "mailto" | "tel" | "sms") {
        return Err(format!("public clients may not use the {scheme} scheme"));
    } else if url.cannot_be_a_base() && url.path().is_empty() {
        return Err("must name a host or a path".into());
    }
    Ok(())
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d == "localhost",
        None => false,
    }
}

/// Whether a requested redirect URI matches the registered one.
pub fn matches(registered: &str, requested: &str) -> bool {
    if registered == requested {
        return true;
    }
    let (Ok(reg), Ok(req)) = (Url::parse(registered), Url::parse(requested)) else {
        return false;
    };
    // RFC 8252 §7.3: a native app's loopback listener gets whatever port is free.
    reg.scheme() == "http"
        && req.scheme() == "http"
        && is_loopback(&reg)
        && reg.host() == req.host()
        && reg.path() == req.path()
        && reg.query() == req.query()
        && req.fragment().is_none()
        && reg.username() == req.username()
        && reg.password() == req.password()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_match_only_for_ordinary_uris() {
        let reg = "https://app.example.com/cb";
        assert!(matches(reg, "https://app.example.com/cb"));
        assert!(!matches(reg, "https://app.example.com/cb/"));
        assert!(!matches(reg, "https://app.example.com/cb/sub"));
        assert!(!matches(reg, "https://evil.app.example.com/cb"));
        assert!(!matches(reg, "https://app.example.com:8443/cb"));
        assert!(!matches(reg, "https://app.example.com/cb?x=1"));
        assert!(!matches(reg, "http://app.example.com/cb"));
    }

    #[test]
    fn loopback_ports_may_vary() {
        assert!(matches("http://127.0.0.1/cb", "http://127.0.0.1:53123/cb"));
        assert!(matches("http://127.0.0.1:8080/cb", "http://127.0.0.1:9/cb"));
        assert!(matches("http://[::1]/cb", "http://[::1]:4000/cb"));
        assert!(matches("http://localhost:1/cb", "http://localhost:2/cb"));
        assert!(!matches(
            "http://127.0.0.1/cb",
            "http://127.0.0.1:53123/other"
        ));
        assert!(!matches("http://127.0.0.1/cb", "http://localhost:53123/cb"));
        assert!(!matches("https://127.0.0.1/cb", "https://127.0.0.1:1/cb"));
    }

    #[test]
    fn dynamic_registration_follows_rfc_8252() {
        for public in [true, false] {
            assert!(validate_dynamic("https://app.example/cb", public).is_ok());
            assert!(validate_dynamic("http://127.0.0.1:3000/cb", public).is_ok());
            assert!(validate_dynamic("http://[::1]/cb", public).is_ok());
            assert!(validate_dynamic("http://localhost/cb", public).is_ok());
            assert!(validate_dynamic("vscode://coder.ext/cb", public).is_ok());
            assert!(validate_dynamic("http://app.example/cb", public).is_err());
            assert!(validate_dynamic("https://app.example/cb#x", public).is_err());
            assert!(validate_dynamic("javascript:alert(1)", public).is_err());
            assert!(validate_dynamic("urn:ietf:wg:oauth:2.0:oob", public).is_err());
            assert!(validate_dynamic("", public).is_err());
            assert!(
                validate_dynamic(&format!("https://a.example/{}", "x".repeat(2048)), public)
                    .is_err()
            );
        }
        assert!(validate_dynamic("http://dev.localhost/cb", false).is_ok());
        assert!(validate_dynamic("http://dev.localhost/cb", true).is_err());
        assert!(validate_dynamic("mailto:me@example.com", true).is_err());
    }

    #[test]
    fn registration_refuses_fragments_and_dangerous_schemes() {
        assert!(validate_registered("https://a.example/cb").is_ok());
        assert!(validate_registered("vscode://coder.ext/cb").is_ok());
        assert!(validate_registered("https://a.example/cb#x").is_err());
        assert!(validate_registered("javascript:alert(1)").is_err());
        assert!(validate_registered("/relative").is_err());
    }
}
