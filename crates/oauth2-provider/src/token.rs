//! The token endpoint (RFC 6749 §3.2) with the `authorization_code` (PKCE, RFC 8707
//! `resource`) and `refresh_token` (rotation, reuse detection) grants; revocation
//! (RFC 7009) and introspection (RFC 7662).

use std::collections::HashMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::Serialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;
use warden_domain::RepoError;
use warden_domain::ids::{OAuth2AppId, OAuth2SecretId};
use warden_domain::model::{ApiKey, LoginType};
use warden_domain::oauth2::{ClientType, OAuth2App, Redemption, RefreshToken, TokenIssue};
use warden_domain::token::{GeneratedApiKey, secret_matches, split_token};

use crate::authorize::{MAX_PARAM_LEN, parse_scopes};
use crate::error::{ErrorCode, OAuth2Error};
use crate::secret::{self, GeneratedSecret};
use crate::{OAuth2Provider, pkce, span};

pub use warden_domain::oauth2::{GRANT_AUTHORIZATION_CODE, GRANT_DEVICE_CODE, GRANT_REFRESH_TOKEN};

/// A successful token response (RFC 6749 §5.1), with Coder's `expiry` besides.
#[derive(Clone, Serialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: String,
    /// Absent for clients not registered for the `refresh_token` grant.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    pub expires_in: i64,
    /// RFC 3339, as Go's `oauth2.Token` serializes it.
    pub expiry: String,
    pub scope: String,
}

impl std::fmt::Debug for TokenResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenResponse")
            .field("expires_in", &self.expires_in)
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

/// An RFC 7662 introspection response; an inactive token gets only `active: false`.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Introspection {
    pub active: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exp: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iat: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aud: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
}

/// The parameters of a form-encoded request to the token, revocation or
/// introspection endpoint, plus HTTP Basic client credentials if sent.
#[derive(Debug, Clone, Default)]
pub struct FormRequest {
    pub pairs: Vec<(String, String)>,
    /// The raw `Authorization` header, if any.
    pub authorization: Option<String>,
}

/// Parameters by name. RFC 6749 §3.2: parameters must not be repeated; oversized
/// values are refused too.
pub(crate) fn params(pairs: &[(String, String)]) -> Result<HashMap<&str, &str>, OAuth2Error> {
    let mut map = HashMap::with_capacity(pairs.len());
    for (k, v) in pairs {
        if v.len() > MAX_PARAM_LEN || k.len() > MAX_PARAM_LEN {
            return Err(OAuth2Error::invalid_request(format!(
                "parameter {:?} is longer than {MAX_PARAM_LEN} bytes",
                k.chars().take(64).collect::<String>()
            )));
        }
        if map.insert(k.as_str(), v.as_str()).is_some() {
            return Err(OAuth2Error::invalid_request(format!(
                "parameter {k:?} must not be repeated"
            )));
        }
    }
    Ok(map)
}

/// Decodes `Authorization: Basic` client credentials (RFC 6749 §2.3.1: each part
/// form-urlencoded before base64). `None` when the header is another scheme.
/// Public only for the fuzz targets in `fuzz/`.
#[doc(hidden)]
pub fn basic_credentials(header: &str) -> Option<Result<(String, String), OAuth2Error>> {
    let (scheme, rest) = (header.get(..6)?, header.get(6..)?);
    if !scheme.eq_ignore_ascii_case("basic ") {
        return None;
    }
    let bad = || OAuth2Error::invalid_client("malformed HTTP Basic credentials");
    let decode = |s: &str| -> String {
        url::form_urlencoded::parse(s.as_bytes())
            .next()
            .map(|(k, v)| {
                if v.is_empty() {
                    k.into_owned()
                } else {
                    format!("{k}={v}")
                }
            })
            .unwrap_or_default()
    };
    Some(
        STANDARD
            .decode(rest.trim())
            .ok()
            .and_then(|raw| String::from_utf8(raw).ok())
            .and_then(|s| s.split_once(':').map(|(id, sec)| (decode(id), decode(sec))))
            .ok_or_else(bad),
    )
}

/// A parameter that must be present and non-empty.
pub(crate) fn required<'a>(
    params: &HashMap<&str, &'a str>,
    name: &str,
) -> Result<&'a str, OAuth2Error> {
    params
        .get(name)
        .copied()
        .filter(|s| !s.is_empty())
        .ok_or_else(|| missing(name))
}

pub(crate) fn missing(name: &str) -> OAuth2Error {
    OAuth2Error::invalid_request(format!("Missing required parameter: {name}"))
}

fn unix(t: OffsetDateTime) -> i64 {
    t.unix_timestamp()
}

impl OAuth2Provider {
    /// Authenticates the client of a form request: `client_secret_basic` or
    /// `client_secret_post` (not both). Returns the application and the secret used.
    pub async fn authenticate_client(
        &self,
        req: &FormRequest,
        params: &HashMap<&str, &str>,
    ) -> Result<(OAuth2App, Option<OAuth2SecretId>), OAuth2Error> {
        let basic = match req.authorization.as_deref().and_then(basic_credentials) {
            Some(result) => Some(result?),
            None => None,
        };
        let body_id = params.get("client_id").copied();
        let body_secret = params.get("client_secret").copied();
        let (client_id, client_secret) = match &basic {
            Some((id, secret)) => {
                if body_secret.is_some() {
                    return Err(OAuth2Error::invalid_request(
                        "use one client authentication method, not both",
                    ));
                }
                if body_id.is_some_and(|b| b != id) {
                    return Err(OAuth2Error::invalid_request(
                        "client_id differs from the HTTP Basic credentials",
                    ));
                }
                (Some(id.as_str()), Some(secret.as_str()))
            }
            None => (body_id, body_secret),
        };
        let client_id = client_id
            .filter(|s| !s.is_empty())
            .ok_or_else(|| missing("client_id"))?;
        let unknown = || OAuth2Error::invalid_client("unknown client or bad client credentials");
        let app_id: OAuth2AppId = client_id.parse().map_err(|_| unknown())?;
        let app = match self.ports.repo.get_app(app_id).await {
            Ok(app) => app,
            Err(RepoError::NotFound) => return Err(unknown()),
            Err(e) => return Err(e.into()),
        };
        let presented = client_secret.filter(|s| !s.is_empty());
        match (app.client_type, presented) {
            (ClientType::Public, None) => Ok((app, None)),
            (_, None) => Err(OAuth2Error::invalid_client(
                "client authentication is required",
            )),
            (_, Some(raw)) => {
                let (prefix, plain) = secret::parse(raw).ok_or_else(unknown)?;
                let stored = match self.ports.repo.secret_by_prefix(prefix).await {
                    Ok(s) => s,
                    Err(RepoError::NotFound) => return Err(unknown()),
                    Err(e) => return Err(e.into()),
                };
                if stored.app_id != app.id || !secret_matches(plain, &stored.hashed_secret) {
                    return Err(unknown());
                }
                Ok((app, Some(stored.id)))
            }
        }
    }

    /// `POST /oauth2/tokens`.
    pub async fn token(&self, req: &FormRequest) -> Result<TokenResponse, OAuth2Error> {
        let params = params(&req.pairs)?;
        let grant = params.get("grant_type").copied().unwrap_or_default();
        if !warden_domain::oauth2::ALL_GRANTS.contains(&grant) {
            return Err(OAuth2Error::new(
                ErrorCode::UnsupportedGrantType,
                if grant.is_empty() {
                    "Missing required parameter: grant_type".to_owned()
                } else {
                    format!("grant_type {grant:?} is not supported")
                },
            ));
        }
        let (app, secret) = self.authenticate_client(req, &params).await?;
        if !app.allows_grant(grant) {
            return Err(OAuth2Error::new(
                ErrorCode::UnauthorizedClient,
                format!("the client is not registered for the {grant:?} grant"),
            ));
        }
        match grant {
            GRANT_AUTHORIZATION_CODE => self.code_grant(&params, app, secret).await,
            GRANT_REFRESH_TOKEN => self.refresh_grant(&params, app, secret).await,
            _ => self.device_grant(&params, app, secret).await,
        }
    }

    async fn code_grant(
        &self,
        params: &HashMap<&str, &str>,
        app: OAuth2App,
        secret_used: Option<OAuth2SecretId>,
    ) -> Result<TokenResponse, OAuth2Error> {
        let raw = required(params, "code")?;
        let bad_code =
            || OAuth2Error::invalid_grant("The authorization code is invalid or expired.");
        let (prefix, plain) = secret::parse(raw).ok_or_else(bad_code)?;
        let code = match self.ports.repo.code_by_prefix(prefix).await {
            Ok(code) => code,
            Err(RepoError::NotFound) => return Err(bad_code()),
            Err(e) => return Err(e.into()),
        };
        // A code presented by another client is as good as no code.
        if code.app_id != app.id || !secret_matches(plain, &code.hashed_secret) {
            return Err(bad_code());
        }
        let now = self.now();
        if code.used_at.is_none() {
            if code.expires_at <= now {
                return Err(bad_code());
            }
            match params.get("redirect_uri").copied() {
                Some(uri) if uri != code.redirect_uri => {
                    return Err(OAuth2Error::invalid_grant(
                        "redirect_uri does not match the authorization request",
                    ));
                }
                None if code.redirect_uri_given => {
                    return Err(OAuth2Error::invalid_grant(
                        "redirect_uri must repeat the authorization request's",
                    ));
                }
                _ => {}
            }
            let verifier = params.get("code_verifier").copied().unwrap_or_default();
            if verifier.is_empty() {
                return Err(OAuth2Error::invalid_grant(
                    "PKCE is required: missing code_verifier",
                ));
            }
            if !pkce::verify(verifier, &code.code_challenge) {
                return Err(OAuth2Error::invalid_grant("PKCE verification failed"));
            }
            match (params.get("resource").copied(), code.resource.as_deref()) {
                (Some(r), Some(bound)) if r == bound => {}
                (None, _) => {}
                (Some(_), Some(_)) => {
                    return Err(OAuth2Error::new(
                        ErrorCode::InvalidTarget,
                        "resource does not match the authorization request",
                    ));
                }
                (Some(_), None) => {
                    return Err(OAuth2Error::new(
                        ErrorCode::InvalidTarget,
                        "resource was not part of the authorization request",
                    ));
                }
            }
        }
        let (issue, response) = self.mint(
            &app,
            code.user_id,
            code.id,
            code.scopes.clone(),
            code.resource.clone(),
            secret_used,
            now,
        )?;
        match self.ports.repo.redeem_code(code.id, issue).await {
            Ok(Redemption::Issued) => Ok(response),
            Ok(Redemption::Replayed) => Err(OAuth2Error::invalid_grant(
                "The authorization code was already used; the tokens issued from it are revoked.",
            )),
            // Deleted meanwhile: the code, or the client, its secret or the user.
            Err(RepoError::NotFound | RepoError::MissingReference(_)) => Err(bad_code()),
            Err(e) => Err(e.into()),
        }
    }

    async fn refresh_grant(
        &self,
        params: &HashMap<&str, &str>,
        app: OAuth2App,
        secret_used: Option<OAuth2SecretId>,
    ) -> Result<TokenResponse, OAuth2Error> {
        let raw = required(params, "refresh_token")?;
        let bad = || OAuth2Error::invalid_grant("The refresh token is invalid or expired.");
        let (prefix, plain) = secret::parse(raw).ok_or_else(bad)?;
        let old = match self.ports.repo.refresh_by_prefix(prefix).await {
            Ok(t) => t,
            Err(RepoError::NotFound) => return Err(bad()),
            Err(e) => return Err(e.into()),
        };
        if old.app_id != app.id || !secret_matches(plain, &old.hashed_secret) {
            return Err(bad());
        }
        let now = self.now();
        if old.expires_at <= now {
            return Err(bad());
        }
        if params
            .get("resource")
            .is_some_and(|r| old.audience.as_deref() != Some(*r))
        {
            return Err(OAuth2Error::new(
                ErrorCode::InvalidTarget,
                "a refresh cannot change the token's audience",
            ));
        }
        // A refresh may narrow the scope, never widen it.
        let scopes = match params.get("scope").copied() {
            None => old.scopes.clone(),
            Some(raw) => {
                let asked = parse_scopes(Some(raw))?;
                if let Some(extra) = asked.iter().find(|s| !old.scopes.contains(s)) {
                    return Err(OAuth2Error::new(
                        ErrorCode::InvalidScope,
                        format!("scope {extra:?} was not granted"),
                    ));
                }
                asked
            }
        };
        let (issue, response) = self.mint(
            &app,
            old.user_id,
            old.family_id,
            scopes,
            old.audience.clone(),
            secret_used.or(old.secret_id),
            now,
        )?;
        let grace_since = now - span(self.config.refresh_grace);
        match self
            .ports
            .repo
            .rotate_refresh(old.id, grace_since, issue)
            .await
        {
            Ok(Redemption::Issued) => Ok(response),
            Ok(Redemption::Replayed) => Err(OAuth2Error::invalid_grant(
                "The refresh token was already used; every token of its family is revoked.",
            )),
            // Revoked meanwhile: the family, or the client, its secret or the user
            // went away under us.
            Err(RepoError::NotFound | RepoError::MissingReference(_)) => Err(bad()),
            Err(e) => Err(e.into()),
        }
    }

    /// Prepares an access token (an API key restricted to `scopes`) and a refresh token.
    /// The refresh token's row is always written (it ties the access token to its
    /// family for introspection and revocation), but a client not registered for the
    /// `refresh_token` grant is not handed the token: its secret is never disclosed.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn mint(
        &self,
        app: &OAuth2App,
        user: warden_domain::ids::UserId,
        family: Uuid,
        scopes: Vec<String>,
        audience: Option<String>,
        secret_used: Option<OAuth2SecretId>,
        now: OffsetDateTime,
    ) -> Result<(TokenIssue, TokenResponse), OAuth2Error> {
        let lifetime = span(self.config.access_token_lifetime);
        let key = GeneratedApiKey::generate(self.ports.secrets.as_ref());
        let refresh = GeneratedSecret::generate(self.ports.secrets.as_ref());
        let expiry = now + lifetime;
        let api_key = ApiKey {
            id: key.id.clone(),
            user_id: user,
            hashed_secret: key.hashed_secret.clone(),
            last_used: now,
            expires_at: expiry,
            created_at: now,
            updated_at: now,
            login_type: LoginType::OAuth2ProviderApp,
            lifetime_seconds: lifetime.whole_seconds(),
            token_name: String::new(),
            scopes: scopes.clone(),
            allow_list: vec!["*:*".to_owned()],
        };
        let row = RefreshToken {
            id: Uuid::new_v4(),
            prefix: refresh.prefix.clone(),
            hashed_secret: refresh.hashed.clone(),
            family_id: family,
            app_id: app.id,
            user_id: user,
            secret_id: secret_used,
            api_key_id: key.id.clone(),
            scopes: scopes.clone(),
            audience,
            created_at: now,
            expires_at: now + span(self.config.refresh_token_lifetime),
            rotated_at: None,
        };
        let response = TokenResponse {
            access_token: key.token.clone(),
            token_type: "Bearer".into(),
            refresh_token: app
                .allows_grant(GRANT_REFRESH_TOKEN)
                .then(|| refresh.full.clone()),
            expires_in: lifetime.whole_seconds(),
            expiry: expiry
                .format(&Rfc3339)
                .map_err(|e| OAuth2Error::new(ErrorCode::ServerError, e.to_string()))?,
            scope: scopes.join(" "),
        };
        Ok((
            TokenIssue {
                api_key,
                refresh: row,
                secret_used,
                now,
            },
            response,
        ))
    }

    /// Finds the token family a presented token (refresh token or access token)
    /// belongs to, if it is genuine and was issued to `app`.
    async fn family_of(&self, app: &OAuth2App, token: &str) -> Result<Option<Found>, OAuth2Error> {
        if let Some((prefix, plain)) = secret::parse(token) {
            let t = match self.ports.repo.refresh_by_prefix(prefix).await {
                Ok(t) => t,
                Err(RepoError::NotFound) => return Ok(None),
                Err(e) => return Err(e.into()),
            };
            let genuine = t.app_id == app.id && secret_matches(plain, &t.hashed_secret);
            return Ok(genuine.then(|| Found::Refresh(Box::new(t))));
        }
        let Ok((id, plain)) = split_token(token) else {
            return Ok(None);
        };
        let info = match self.ports.repo.access_token(&id).await {
            Ok(info) => info,
            Err(RepoError::NotFound) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let genuine = info.refresh.app_id == app.id
            && info.api_key.login_type == LoginType::OAuth2ProviderApp
            && secret_matches(plain, &info.api_key.hashed_secret);
        Ok(genuine.then_some(Found::Access(Box::new(info))))
    }

    /// `POST /oauth2/revoke` (RFC 7009): revokes the token's whole family. Unknown,
    /// foreign or already revoked tokens succeed too (§2.2).
    pub async fn revoke(&self, req: &FormRequest) -> Result<(), OAuth2Error> {
        let params = params(&req.pairs)?;
        let (app, _) = self.authenticate_client(req, &params).await?;
        let token = required(&params, "token")?;
        let family = match self.family_of(&app, token).await? {
            Some(Found::Refresh(t)) => t.family_id,
            Some(Found::Access(info)) => info.refresh.family_id,
            None => return Ok(()),
        };
        Ok(self.ports.repo.revoke_family(family).await?)
    }

    /// `POST /oauth2/introspect` (RFC 7662), for the client the token was issued to.
    pub async fn introspect(&self, req: &FormRequest) -> Result<Introspection, OAuth2Error> {
        let params = params(&req.pairs)?;
        let (app, _) = self.authenticate_client(req, &params).await?;
        // RFC 7662 §2.1: the caller must be authorized; a bare client_id proves nothing.
        if app.client_type == ClientType::Public {
            return Err(OAuth2Error::invalid_client(
                "introspection requires a confidential client",
            ));
        }
        let token = required(&params, "token")?;
        let now = self.now();
        let iss = Some(self.config.access_url.clone());
        let client_id = Some(app.id.to_string());
        Ok(match self.family_of(&app, token).await? {
            Some(Found::Refresh(t)) if t.rotated_at.is_none() && t.expires_at > now => {
                Introspection {
                    active: true,
                    scope: Some(t.scopes.join(" ")),
                    client_id,
                    username: None,
                    token_type: None,
                    exp: Some(unix(t.expires_at)),
                    iat: Some(unix(t.created_at)),
                    sub: Some(t.user_id.to_string()),
                    aud: t.audience,
                    iss,
                }
            }
            Some(Found::Access(info)) if info.api_key.expires_at > now && info.user_active => {
                Introspection {
                    active: true,
                    scope: Some(info.api_key.scopes.join(" ")),
                    client_id,
                    username: Some(info.username),
                    token_type: Some("Bearer".into()),
                    exp: Some(unix(info.api_key.expires_at)),
                    iat: Some(unix(info.api_key.created_at)),
                    sub: Some(info.api_key.user_id.to_string()),
                    aud: info.refresh.audience,
                    iss,
                }
            }
            _ => Introspection::default(),
        })
    }
}

enum Found {
    Refresh(Box<RefreshToken>),
    Access(Box<warden_domain::oauth2::AccessTokenInfo>),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
        items
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn repeated_and_oversized_parameters_are_invalid_requests() {
        let twice = pairs(&[("code", "a"), ("code", "b")]);
        let repeated = params(&twice);
        assert_eq!(
            repeated.err().map(|e| e.code),
            Some(ErrorCode::InvalidRequest)
        );
        let long = "x".repeat(MAX_PARAM_LEN + 1);
        let big = pairs(&[("code", &long)]);
        let oversized = params(&big);
        assert_eq!(
            oversized.err().map(|e| e.code),
            Some(ErrorCode::InvalidRequest)
        );
        assert!(params(&pairs(&[("code", "a"), ("state", "b")])).is_ok());
    }

    #[test]
    fn basic_credentials_are_form_decoded() {
        let header = format!("Basic {}", STANDARD.encode("my%20id:s%3Acret"));
        let decoded = basic_credentials(&header).and_then(Result::ok);
        assert_eq!(decoded, Some(("my id".to_owned(), "s:cret".to_owned())));
        assert!(basic_credentials("Bearer abc").is_none());
        assert!(matches!(basic_credentials("Basic !!!"), Some(Err(_))));
    }
}
