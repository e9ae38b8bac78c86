//! The authorization endpoint (RFC 6749 §4.1.1): validating the request, the consent
//! decision, and issuing the code.
//!
//! A bad `client_id` or `redirect_uri` is never redirected to (§4.1.2.1): the caller
//! shows an error page. Every other problem is redirected to the client as
//! `error=…&state=…`.

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use url::Url;
use uuid::Uuid;
use warden_domain::Actor;
use warden_domain::RepoError;
use warden_domain::ids::OAuth2AppId;
use warden_domain::model::LoginType;
use warden_domain::oauth2::{GRANT_AUTHORIZATION_CODE, OAuth2App, OAuth2Code};
use warden_rbac::Scope;

use crate::error::{ErrorCode, OAuth2Error};
use crate::secret::GeneratedSecret;
use crate::{OAuth2Provider, pkce, redirect, span};

/// Longest accepted value of any authorization or token request parameter.
pub const MAX_PARAM_LEN: usize = 2048;

/// Parameters the authorization endpoint understands; anything else is refused, as
/// Coder does.
const KNOWN: &[&str] = &[
    "client_id",
    "response_type",
    "redirect_uri",
    "scope",
    "state",
    "resource",
    "code_challenge",
    "code_challenge_method",
];

/// A valid authorization request, ready for the user's decision.
#[derive(Debug, Clone)]
pub struct AuthorizeRequest {
    pub app: OAuth2App,
    pub redirect_uri: String,
    pub redirect_uri_given: bool,
    pub state: Option<String>,
    /// Granted scope names (canonical).
    pub scopes: Vec<String>,
    pub resource: Option<String>,
    pub code_challenge: String,
}

/// Why an authorization request cannot go ahead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthorizeFailure {
    /// The client or redirect URI is unknown or does not match: show an error page,
    /// never redirect.
    Page(String),
    /// Send the user agent back to the client with this `Location`.
    Redirect(String),
}

/// The single value of a parameter; repeating it is an error.
fn single_value<'a>(pairs: &'a [(String, String)], name: &str) -> Result<Option<&'a str>, String> {
    let mut it = pairs
        .iter()
        .filter(|(k, _)| k == name)
        .map(|(_, v)| v.as_str());
    let first = it.next();
    match it.next() {
        Some(_) => Err(format!("{name} must be given at most once")),
        None => Ok(first),
    }
}

/// Parses a space-separated scope request into canonical names (`all` → `coder:all`);
/// none → `coder:all`.
pub fn parse_scopes(raw: Option<&str>) -> Result<Vec<String>, OAuth2Error> {
    let mut scopes: Vec<String> = Vec::new();
    for name in raw.unwrap_or_default().split(' ').filter(|s| !s.is_empty()) {
        let canonical = Scope::canonical_name(name).map_err(|_| {
            OAuth2Error::new(ErrorCode::InvalidScope, format!("unknown scope {name:?}"))
        })?;
        if !scopes.iter().any(|s| s == canonical) {
            scopes.push(canonical.to_owned());
        }
    }
    if scopes.is_empty() {
        scopes.push(warden_rbac::SCOPE_ALL.to_owned());
    }
    Ok(scopes)
}

/// The scopes a client is granted for an authorization or device authorization
/// request asking for `raw` (RFC 6749 §3.3).
///
/// A client that registered a `scope` through RFC 7591 may only ask for scopes in it
/// (`invalid_scope` otherwise); registering `coder:all` allows every scope, since each
/// grants a subset of what `coder:all` grants. Without a `scope` parameter the default is
/// `coder:all`; when the allowlist does not include it, §3.3 lets the server pick its own
/// default or fail, and the registered scope is granted: it is what the client said it
/// needs, so a client that never sends `scope` keeps working within its registration.
pub fn granted_scopes(app: &OAuth2App, raw: Option<&str>) -> Result<Vec<String>, OAuth2Error> {
    let asked = parse_scopes(raw)?;
    let Some(allowed) = app.allowed_scopes.as_ref() else {
        return Ok(asked);
    };
    if allowed.iter().any(|s| s == warden_rbac::SCOPE_ALL) {
        return Ok(asked);
    }
    let explicit = raw.is_some_and(|r| r.split(' ').any(|s| !s.is_empty()));
    if !explicit && !allowed.is_empty() {
        return Ok(allowed.clone());
    }
    match asked.iter().find(|s| !allowed.contains(s)) {
        Some(outside) => Err(OAuth2Error::new(
            ErrorCode::InvalidScope,
            format!("scope {outside:?} is not among the scopes the client registered"),
        )),
        None => Ok(asked),
    }
}

impl OAuth2Provider {
    /// Checks an RFC 8707 `resource`: an absolute URI with no fragment that names this
    /// deployment (the only resource server whose tokens Warden issues).
    pub fn check_resource(&self, raw: &str) -> Result<String, OAuth2Error> {
        let invalid =
            |why: &str| OAuth2Error::new(ErrorCode::InvalidTarget, format!("resource {why}"));
        let url = Url::parse(raw).map_err(|_| invalid("must be an absolute URI"))?;
        if url.fragment().is_some() {
            return Err(invalid("must not contain a fragment"));
        }
        let base = &self.config.access_url;
        let trimmed = raw.trim_end_matches('/');
        if trimmed == base || raw.starts_with(&format!("{base}/")) {
            Ok(raw.to_owned())
        } else {
            Err(invalid(&format!(
                "is not served here; the resource is {base}"
            )))
        }
    }

    /// Validates an authorization request given as its query pairs.
    pub async fn check_authorize(
        &self,
        pairs: &[(String, String)],
    ) -> Result<AuthorizeRequest, AuthorizeFailure> {
        let single = |name: &str| single_value(pairs, name);
        // The client and its redirect URI first: until both are known good, errors
        // are shown, not redirected.
        let client_id = single("client_id")
            .map_err(AuthorizeFailure::Page)?
            .ok_or_else(|| {
                AuthorizeFailure::Page("Missing required parameter: client_id".into())
            })?;
        let app_id: OAuth2AppId = client_id.parse().map_err(|_| {
            AuthorizeFailure::Page("Invalid client_id: no such application.".into())
        })?;
        let app = match self.ports.repo.get_app(app_id).await {
            Ok(app) => app,
            Err(RepoError::NotFound) => {
                return Err(AuthorizeFailure::Page(
                    "Invalid client_id: no such application.".into(),
                ));
            }
            Err(e) => {
                return Err(AuthorizeFailure::Page(format!(
                    "Cannot load the application: {e}"
                )));
            }
        };
        if !app.allows_grant(GRANT_AUTHORIZATION_CODE) {
            return Err(AuthorizeFailure::Page(
                "This client is not registered for the authorization code grant.".into(),
            ));
        }
        let given = single("redirect_uri").map_err(AuthorizeFailure::Page)?;
        let redirect_uri = match given {
            // RFC 6749 §3.1.2.3: with several registered, the request must pick one.
            None if app.redirect_uris.len() > 1 => {
                return Err(AuthorizeFailure::Page(
                    "Missing required parameter: redirect_uri (the client registered several)."
                        .into(),
                ));
            }
            None => app.callback_url.clone(),
            Some(uri)
                if uri.len() <= MAX_PARAM_LEN
                    && app.redirect_uris.iter().any(|r| redirect::matches(r, uri)) =>
            {
                uri.to_owned()
            }
            Some(_) => {
                return Err(AuthorizeFailure::Page(
                    "Invalid redirect_uri: it does not match the application's registered callback URL.".into(),
                ));
            }
        };
        let state = single("state").ok().flatten().map(str::to_owned);
        let fail = |error: OAuth2Error| {
            AuthorizeFailure::Redirect(self.location(
                &redirect_uri,
                &[
                    ("error", error.code.as_str()),
                    ("error_description", &error.description),
                ],
                state.as_deref(),
            ))
        };
        let invalid = |d: String| fail(OAuth2Error::invalid_request(d));
        if let Some((k, _)) = pairs.iter().find(|(k, _)| !KNOWN.contains(&k.as_str())) {
            return Err(invalid(format!("unknown parameter {k:?}")));
        }
        if let Some((k, _)) = pairs.iter().find(|(_, v)| v.len() > MAX_PARAM_LEN) {
            return Err(invalid(format!("{k} is longer than {MAX_PARAM_LEN} bytes")));
        }
        for name in KNOWN {
            single(name).map_err(invalid)?;
        }
        match single("response_type").map_err(invalid)? {
            Some("code") => {}
            None => return Err(invalid("Missing required parameter: response_type".into())),
            Some(other) => {
                return Err(fail(OAuth2Error::new(
                    ErrorCode::UnsupportedResponseType,
                    format!("response_type {other:?} is not supported; use \"code\""),
                )));
            }
        }
        match single("code_challenge_method").map_err(invalid)? {
            None | Some("S256") => {}
            Some(other) => {
                return Err(invalid(format!(
                    "code_challenge_method {other:?} is not supported; use \"S256\""
                )));
            }
        }
        let code_challenge = match single("code_challenge").map_err(invalid)? {
            None => return Err(invalid("PKCE is required: missing code_challenge".into())),
            Some(c) if !pkce::well_formed(c) => {
                return Err(invalid(
                    "code_challenge must be 43 to 128 characters of [A-Za-z0-9-._~]".into(),
                ));
            }
            Some(c) => c.to_owned(),
        };
        let scopes = granted_scopes(&app, single("scope").map_err(invalid)?).map_err(fail)?;
        let resource = match single("resource").map_err(invalid)? {
            None => None,
            Some(r) => Some(self.check_resource(r).map_err(fail)?),
        };
        Ok(AuthorizeRequest {
            app,
            redirect_uri_given: given.is_some(),
            redirect_uri,
            state,
            scopes,
            resource,
            code_challenge,
        })
    }

    /// The `Location` for a redirect back to the client with the given parameters,
    /// `state` and (RFC 9207) `iss`.
    fn location(&self, redirect_uri: &str, params: &[(&str, &str)], state: Option<&str>) -> String {
        match Url::parse(redirect_uri) {
            Ok(mut url) => {
                {
                    let mut query = url.query_pairs_mut();
                    for (k, v) in params {
                        query.append_pair(k, v);
                    }
                    if let Some(state) = state {
                        query.append_pair("state", state);
                    }
                    query.append_pair("iss", &self.config.access_url);
                }
                url.to_string()
            }
            // Registered URIs were validated; this is unreachable in practice.
            Err(_) => redirect_uri.to_owned(),
        }
    }

    /// Where to send the user agent when approving failed with `error`.
    pub fn error_location(&self, req: &AuthorizeRequest, error: &OAuth2Error) -> String {
        self.location(
            &req.redirect_uri,
            &[
                ("error", error.code.as_str()),
                ("error_description", &error.description),
            ],
            req.state.as_deref(),
        )
    }

    /// Where Cancel sends the user: back to the client with `access_denied`.
    pub fn deny_location(&self, req: &AuthorizeRequest) -> String {
        self.location(
            &req.redirect_uri,
            &[
                ("error", ErrorCode::AccessDenied.as_str()),
                ("error_description", "The user denied the request."),
            ],
            req.state.as_deref(),
        )
    }

    /// The user allowed the request: issues a single-use code and returns where to
    /// send the user agent. A credential minted by this provider cannot approve
    /// grants (an OAuth2 client must not mint itself wider tokens).
    pub async fn approve(
        &self,
        actor: &Actor,
        req: &AuthorizeRequest,
    ) -> Result<String, OAuth2Error> {
        if actor.key.login_type == LoginType::OAuth2ProviderApp {
            return Err(OAuth2Error::new(
                ErrorCode::AccessDenied,
                "an OAuth2 access token cannot authorize applications",
            ));
        }
        let now = self.now();
        let generated = GeneratedSecret::generate(self.ports.secrets.as_ref());
        let code = OAuth2Code {
            id: Uuid::new_v4(),
            prefix: generated.prefix.clone(),
            hashed_secret: generated.hashed.clone(),
            app_id: req.app.id,
            user_id: actor.user.id,
            redirect_uri: req.redirect_uri.clone(),
            redirect_uri_given: req.redirect_uri_given,
            code_challenge: req.code_challenge.clone(),
            scopes: req.scopes.clone(),
            resource: req.resource.clone(),
            created_at: now,
            expires_at: now + span(self.config.code_lifetime),
            used_at: None,
        };
        self.ports.repo.create_code(code).await?;
        Ok(self.location(
            &req.redirect_uri,
            &[("code", &generated.full)],
            req.state.as_deref(),
        ))
    }

    /// The consent form's CSRF token, bound to the session token that authenticated
    /// the page: only a page served to that session can carry it.
    pub fn csrf_token(session_token: &str) -> String {
        let digest = Sha256::digest(format!("warden-oauth2-consent:{session_token}").as_bytes());
        digest.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Whether a presented CSRF token belongs to the session (constant time).
    pub fn csrf_matches(session_token: &str, presented: &str) -> bool {
        Self::csrf_token(session_token)
            .as_bytes()
            .ct_eq(presented.as_bytes())
            .into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_are_canonical_and_default_to_all() {
        assert_eq!(parse_scopes(None).ok(), Some(vec!["coder:all".to_owned()]));
        assert_eq!(
            parse_scopes(Some("all  coder:workspaces.access all")).ok(),
            Some(vec![
                "coder:all".to_owned(),
                "coder:workspaces.access".to_owned()
            ])
        );
        assert_eq!(
            parse_scopes(Some("nope")).err().map(|e| e.code),
            Some(ErrorCode::InvalidScope)
        );
    }

    fn app_allowing(scopes: Option<&[&str]>) -> OAuth2App {
        let now = time::OffsetDateTime::UNIX_EPOCH;
        OAuth2App {
            id: OAuth2AppId::new_random(),
            name: "app".into(),
            callback_url: "https://a.example/cb".into(),
            redirect_uris: vec!["https://a.example/cb".into()],
            icon: String::new(),
            client_type: warden_domain::oauth2::ClientType::Confidential,
            grant_types: vec![GRANT_AUTHORIZATION_CODE.into()],
            allowed_scopes: scopes.map(|s| s.iter().map(|n| (*n).to_owned()).collect()),
            created_at: now,
            updated_at: now,
        }
    }

    fn granted(app: &OAuth2App, raw: Option<&str>) -> Result<Vec<String>, ErrorCode> {
        granted_scopes(app, raw).map_err(|e| e.code)
    }

    #[test]
    fn a_registered_scope_is_an_allowlist() {
        let open = app_allowing(None);
        assert_eq!(granted(&open, None), Ok(vec!["coder:all".to_owned()]));
        assert_eq!(
            granted(&open, Some("coder:templates.build")),
            Ok(vec!["coder:templates.build".to_owned()])
        );
        let scoped = app_allowing(Some(&["coder:workspaces.access", "coder:templates.build"]));
        assert_eq!(
            granted(&scoped, Some("coder:templates.build")),
            Ok(vec!["coder:templates.build".to_owned()])
        );
        assert_eq!(
            granted(&scoped, Some("all")),
            Err(ErrorCode::InvalidScope),
            "aliases are canonicalized first"
        );
        assert_eq!(
            granted(
                &scoped,
                Some("coder:templates.build coder:apikeys.manage_self")
            ),
            Err(ErrorCode::InvalidScope)
        );
        assert_eq!(granted(&scoped, Some("nope")), Err(ErrorCode::InvalidScope));
        // No scope (or only spaces): the registered scope, coder:all being outside it.
        for raw in [None, Some(""), Some("  ")] {
            assert_eq!(
                granted(&scoped, raw),
                Ok(vec![
                    "coder:workspaces.access".to_owned(),
                    "coder:templates.build".to_owned()
                ])
            );
        }
        let all = app_allowing(Some(&["coder:all"]));
        assert_eq!(granted(&all, None), Ok(vec!["coder:all".to_owned()]));
        assert_eq!(
            granted(&all, Some("coder:workspaces.access")),
            Ok(vec!["coder:workspaces.access".to_owned()])
        );
    }

    #[test]
    fn csrf_tokens_are_bound_to_the_session() {
        let t = OAuth2Provider::csrf_token("session-a");
        assert!(OAuth2Provider::csrf_matches("session-a", &t));
        assert!(!OAuth2Provider::csrf_matches("session-b", &t));
        assert!(!OAuth2Provider::csrf_matches("session-a", ""));
    }
}
