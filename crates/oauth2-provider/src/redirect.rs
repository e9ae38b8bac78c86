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
    fn registration_refuses_fragments_and_dangerous_schemes() {
        assert!(validate_registered("https://a.example/cb").is_ok());
        assert!(validate_registered("vscode://coder.ext/cb").is_ok());
        assert!(validate_registered("https://a.example/cb#x").is_err());
        assert!(validate_registered("javascript:alert(1)").is_err());
        assert!(validate_registered("/relative").is_err());
    }
}
