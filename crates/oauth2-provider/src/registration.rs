//! Dynamic client registration: RFC 7591 (`POST /oauth2/register`) and RFC 7592
//! (`GET|PUT|DELETE /oauth2/clients/{client_id}` with the registration access token).
//!
//! Registered clients are ordinary OAuth2 applications (visible to administrators in
//! `/oauth2-provider/apps`). Public clients (`token_endpoint_auth_method: none`) get
//! no secret and must use PKCE; confidential ones get one secret, shown once.

use serde::{Deserialize, Serialize};
use warden_domain::RepoError;
use warden_domain::ids::{OAuth2AppId, OAuth2SecretId};
use warden_domain::model::{AuditAction, AuditEntry};
use warden_domain::oauth2::{
    ClientMetadata, ClientRegistration, ClientType, GRANT_AUTHORIZATION_CODE, GRANT_REFRESH_TOKEN,
    OAuth2App, OAuth2AppSecret,
};
use warden_domain::token::secret_matches;

use crate::authorize::parse_scopes;
use crate::error::{ErrorCode, OAuth2Error};
use crate::redirect::{MAX_REDIRECT_URIS, validate_dynamic};
use crate::secret::{self, GeneratedSecret};
use crate::{OAuth2Provider, redirect};

/// Authentication methods a client may register.
pub const REGISTRABLE_AUTH_METHODS: &[&str] =
    &["client_secret_basic", "client_secret_post", "none"];

/// The client metadata of a registration or update request (RFC 7591 §2).
/// Unrecognized fields are ignored (§2).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct RegistrationRequest {
    #[serde(default)]
    pub redirect_uris: Option<Vec<String>>,
    #[serde(default)]
    pub token_endpoint_auth_method: Option<String>,
    #[serde(default)]
    pub grant_types: Option<Vec<String>>,
    #[serde(default)]
    pub response_types: Option<Vec<String>>,
    #[serde(default)]
    pub client_name: Option<String>,
    #[serde(default)]
    pub client_uri: Option<String>,
    #[serde(default)]
    pub logo_uri: Option<String>,
    #[serde(default)]
    pub scope: Option<String>,
    #[serde(default)]
    pub contacts: Option<Vec<String>>,
    #[serde(default)]
    pub tos_uri: Option<String>,
    #[serde(default)]
    pub policy_uri: Option<String>,
    #[serde(default)]
    pub software_id: Option<String>,
    #[serde(default)]
    pub software_version: Option<String>,
    /// RFC 7592 §2.2: an update must name the client it updates.
    #[serde(default)]
    pub client_id: Option<String>,
    /// RFC 7592 §2.2: if sent with an update, it must be the client's secret.
    #[serde(default)]
    pub client_secret: Option<String>,
}

/// RFC 7591 §3.2.1 (and RFC 7592 §3): the client's identity and its metadata.
#[derive(Clone, Serialize)]
pub struct RegistrationResponse {
    pub client_id: String,
    /// Only when a secret was just issued (confidential clients, at registration).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    pub client_id_issued_at: i64,
    /// `0` (never) for confidential clients.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret_expires_at: Option<i64>,
    /// Only at registration.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub registration_access_token: Option<String>,
    pub registration_client_uri: String,
    #[serde(flatten)]
    pub metadata: ClientMetadata,
}

impl std::fmt::Debug for RegistrationResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegistrationResponse")
            .field("client_id", &self.client_id)
            .field("metadata", &self.metadata)
            .finish_non_exhaustive()
    }
}

fn bad_metadata(description: impl Into<String>) -> OAuth2Error {
    OAuth2Error::new(ErrorCode::InvalidClientMetadata, description)
}

fn invalid_token() -> OAuth2Error {
    OAuth2Error::new(
        ErrorCode::InvalidToken,
        "The registration access token is missing, invalid, or not for this client.",
    )
}

/// An optional text field: trimmed of nothing, empty means absent, bounded.
fn text(name: &str, value: Option<String>, max: usize) -> Result<Option<String>, OAuth2Error> {
    match value.filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) if v.len() > max => {
            Err(bad_metadata(format!("{name} must be at most {max} bytes")))
        }
        Some(v) if v.chars().any(char::is_control) => Err(bad_metadata(format!(
            "{name} must not contain control characters"
        ))),
        Some(v) => Ok(Some(v)),
    }
}

/// An optional informational URI: absolute http(s), as Coder requires.
fn web_uri(name: &str, value: Option<String>) -> Result<Option<String>, OAuth2Error> {
    let Some(v) = text(name, value, redirect::MAX_REDIRECT_URI_LEN)? else {
        return Ok(None);
    };
    match url::Url::parse(&v) {
        Ok(u) if (u.scheme() == "https" || u.scheme() == "http") && u.host().is_some() => {
            Ok(Some(v))
        }
        _ => Err(bad_metadata(format!(
            "{name} must be an absolute http or https URL"
        ))),
    }
}

/// Validates a request (RFC 7591 §3.2.2 with Coder's rules) and fills in the
/// defaults: `client_secret_basic`, `[authorization_code, refresh_token]`, `[code]`.
pub fn validate(req: RegistrationRequest) -> Result<ClientMetadata, OAuth2Error> {
    let method = req
        .token_endpoint_auth_method
        .filter(|m| !m.is_empty())
        .unwrap_or_else(|| "client_secret_basic".to_owned());
    if !REGISTRABLE_AUTH_METHODS.contains(&method.as_str()) {
        return Err(bad_metadata(format!(
            "token_endpoint_auth_method {method:?} is not supported; use one of {REGISTRABLE_AUTH_METHODS:?}"
        )));
    }
    let public = method == "none";
    let mut grant_types: Vec<String> = Vec::new();
    let asked = req
        .grant_types
        .filter(|g| !g.is_empty())
        .unwrap_or_else(|| {
            vec![
                GRANT_AUTHORIZATION_CODE.to_owned(),
                GRANT_REFRESH_TOKEN.to_owned(),
            ]
        });
    for grant in asked {
        if !warden_domain::oauth2::ALL_GRANTS.contains(&grant.as_str()) {
            return Err(bad_metadata(format!(
                "grant type {grant:?} is not supported"
            )));
        }
        if !grant_types.contains(&grant) {
            grant_types.push(grant);
        }
    }
    if !grant_types.iter().any(|g| g == GRANT_AUTHORIZATION_CODE) {
        return Err(bad_metadata("grant_types must include authorization_code"));
    }
    let response_types = req
        .response_types
        .filter(|r| !r.is_empty())
        .unwrap_or_else(|| vec!["code".to_owned()]);
    if let Some(other) = response_types.iter().find(|r| *r != "code") {
        return Err(bad_metadata(format!(
            "response type {other:?} is not supported; use \"code\""
        )));
    }
    let redirect_uris = req.redirect_uris.unwrap_or_default();
    if redirect_uris.is_empty() {
        return Err(bad_metadata(
            "redirect_uris is required for the authorization_code grant",
        ));
    }
    if redirect_uris.len() > MAX_REDIRECT_URIS {
        return Err(OAuth2Error::new(
            ErrorCode::InvalidRedirectUri,
            format!("at most {MAX_REDIRECT_URIS} redirect URIs are allowed"),
        ));
    }
    for (i, uri) in redirect_uris.iter().enumerate() {
        validate_dynamic(uri, public).map_err(|why| {
            OAuth2Error::new(
                ErrorCode::InvalidRedirectUri,
                format!("redirect_uris[{i}] {why}"),
            )
        })?;
    }
    let client_name = text("client_name", req.client_name, 64)?;
    if client_name.as_deref().is_some_and(|n| n.trim() != n) {
        return Err(bad_metadata(
            "client_name must not have leading or trailing spaces",
        ));
    }
    let scope = match text("scope", req.scope, 4096)? {
        None => None,
        Some(raw) => Some(
            parse_scopes(Some(&raw))
                .map_err(|e| bad_metadata(format!("scope: {}", e.description)))?
                .join(" "),
        ),
    };
    let contacts = req.contacts.unwrap_or_default();
    if contacts.len() > 16 || contacts.iter().any(|c| c.is_empty() || c.len() > 320) {
        return Err(bad_metadata(
            "contacts must be at most 16 non-empty addresses of at most 320 bytes",
        ));
    }
    Ok(ClientMetadata {
        redirect_uris,
        token_endpoint_auth_method: method,
        grant_types,
        response_types,
        client_name,
        client_uri: web_uri("client_uri", req.client_uri)?,
        logo_uri: web_uri("logo_uri", req.logo_uri)?,
        scope,
        contacts,
        tos_uri: web_uri("tos_uri", req.tos_uri)?,
        policy_uri: web_uri("policy_uri", req.policy_uri)?,
        software_id: text("software_id", req.software_id, 256)?,
        software_version: text("software_version", req.software_version, 256)?,
    })
}

/// The application name a registration asks for, and the fallback used when it is
/// taken (application names are unique; client names are not).
fn app_names(metadata: &ClientMetadata, id: OAuth2AppId) -> (String, String) {
    let short: String = id.to_string().chars().take(8).collect();
    match &metadata.client_name {
        Some(name) => {
            let head: String = name.chars().take(53).collect();
            (name.clone(), format!("{} ({short})", head.trim_end()))
        }
        None => {
            let name = format!("Dynamic client {short}");
            (name.clone(), name)
        }
    }
}

impl OAuth2Provider {
    fn client_uri(&self, id: OAuth2AppId) -> String {
        format!("{}/oauth2/clients/{id}", self.config.access_url)
    }

    fn registration_response(
        &self,
        app: &OAuth2App,
        registration: &ClientRegistration,
    ) -> RegistrationResponse {
        RegistrationResponse {
            client_id: app.id.to_string(),
            client_secret: None,
            client_id_issued_at: registration.created_at.unix_timestamp(),
            client_secret_expires_at: (app.client_type == ClientType::Confidential).then_some(0),
            registration_access_token: None,
            registration_client_uri: self.client_uri(app.id),
            metadata: ClientMetadata {
                // An administrator may have changed the callback URL since.
                redirect_uris: app.redirect_uris.clone(),
                ..registration.metadata.clone()
            },
        }
    }

    /// `POST /oauth2/register` (RFC 7591 §3).
    pub async fn register_client(
        &self,
        req: RegistrationRequest,
    ) -> Result<RegistrationResponse, OAuth2Error> {
        let metadata = validate(req)?;
        let now = self.now();
        let id = OAuth2AppId::new_random();
        let public = metadata.token_endpoint_auth_method == "none";
        let secret = (!public).then(|| GeneratedSecret::generate(self.ports.secrets.as_ref()));
        let token = GeneratedSecret::generate(self.ports.secrets.as_ref());
        let registration = ClientRegistration {
            app_id: id,
            token_prefix: token.prefix.clone(),
            hashed_token: token.hashed.clone(),
            metadata: metadata.clone(),
            created_at: now,
            updated_at: now,
        };
        let stored_secret = secret.as_ref().map(|s| OAuth2AppSecret {
            id: OAuth2SecretId::new_random(),
            app_id: id,
            prefix: s.prefix.clone(),
            hashed_secret: s.hashed.clone(),
            display_secret: s.display(),
            created_at: now,
            last_used_at: None,
        });
        let (name, fallback) = app_names(&metadata, id);
        let mut app = OAuth2App {
            id,
            name,
            callback_url: metadata.redirect_uris.first().cloned().unwrap_or_default(),
            redirect_uris: metadata.redirect_uris.clone(),
            icon: metadata.logo_uri.clone().unwrap_or_default(),
            client_type: if public {
                ClientType::Public
            } else {
                ClientType::Confidential
            },
            grant_types: metadata.grant_types.clone(),
            allowed_scopes: metadata.allowed_scopes(),
            created_at: now,
            updated_at: now,
        };
        let audit = |app: &OAuth2App| {
            AuditEntry::new(
                now,
                None,
                AuditAction::Create,
                "oauth2_provider_app",
                app.id,
                app.name.clone(),
            )
        };
        let mut result = self
            .ports
            .repo
            .register_client(
                app.clone(),
                stored_secret.clone(),
                registration.clone(),
                audit(&app),
            )
            .await;
        if matches!(result, Err(RepoError::Conflict(_))) && app.name != fallback {
            app.name = fallback;
            result = self
                .ports
                .repo
                .register_client(
                    app.clone(),
                    stored_secret,
                    registration.clone(),
                    audit(&app),
                )
                .await;
        }
        match result {
            Ok(()) => {}
            Err(RepoError::Conflict(_)) => {
                return Err(bad_metadata(
                    "client_name is already in use; choose another",
                ));
            }
            Err(e) => return Err(e.into()),
        }
        let mut response = self.registration_response(&app, &registration);
        response.client_secret = secret.map(|s| s.full);
        response.registration_access_token = Some(token.full);
        Ok(response)
    }

    /// Authenticates an RFC 7592 request: the `Authorization: Bearer` registration
    /// access token must be the one issued for `client_id`. Every failure is
    /// `invalid_token`, so nothing tells which clients exist.
    pub async fn registered_client(
        &self,
        client_id: &str,
        authorization: Option<&str>,
    ) -> Result<(OAuth2App, ClientRegistration), OAuth2Error> {
        let presented = authorization
            .and_then(|h| {
                let (scheme, rest) = h.split_once(' ')?;
                scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim())
            })
            .ok_or_else(invalid_token)?;
        let (prefix, plain) = secret::parse(presented).ok_or_else(invalid_token)?;
        let id: OAuth2AppId = client_id.parse().map_err(|_| invalid_token())?;
        let registration = match self.ports.repo.registration(id).await {
            Ok(r) => r,
            Err(RepoError::NotFound) => return Err(invalid_token()),
            Err(e) => return Err(e.into()),
        };
        let prefix_ok: bool =
            subtle::ConstantTimeEq::ct_eq(registration.token_prefix.as_bytes(), prefix.as_bytes())
                .into();
        if !prefix_ok || !secret_matches(plain, &registration.hashed_token) {
            return Err(invalid_token());
        }
        let app = match self.ports.repo.get_app(id).await {
            Ok(app) => app,
            Err(RepoError::NotFound) => return Err(invalid_token()),
            Err(e) => return Err(e.into()),
        };
        Ok((app, registration))
    }

    /// `GET /oauth2/clients/{client_id}` (RFC 7592 §2.1). Secrets are stored hashed,
    /// so neither the client secret nor the registration token is repeated.
    pub async fn read_registration(
        &self,
        client_id: &str,
        authorization: Option<&str>,
    ) -> Result<RegistrationResponse, OAuth2Error> {
        let (app, registration) = self.registered_client(client_id, authorization).await?;
        Ok(self.registration_response(&app, &registration))
    }

    /// `PUT /oauth2/clients/{client_id}` (RFC 7592 §2.2): replaces the metadata. The
    /// client type (public or confidential) cannot change.
    pub async fn update_registration(
        &self,
        client_id: &str,
        authorization: Option<&str>,
        req: RegistrationRequest,
    ) -> Result<RegistrationResponse, OAuth2Error> {
        let (mut app, mut registration) = self.registered_client(client_id, authorization).await?;
        match req.client_id.as_deref() {
            Some(id) if id == client_id => {}
            Some(_) => return Err(bad_metadata("client_id does not match the client")),
            None => return Err(bad_metadata("client_id is required in an update")),
        }
        if let Some(raw) = req.client_secret.as_deref().filter(|s| !s.is_empty()) {
            let genuine = match secret::parse(raw) {
                None => false,
                Some((prefix, plain)) => match self.ports.repo.secret_by_prefix(prefix).await {
                    Ok(s) => s.app_id == app.id && secret_matches(plain, &s.hashed_secret),
                    Err(RepoError::NotFound) => false,
                    Err(e) => return Err(e.into()),
                },
            };
            if !genuine {
                return Err(bad_metadata("client_secret is not the client's secret"));
            }
        }
        let metadata = validate(req)?;
        let public = metadata.token_endpoint_auth_method == "none";
        if public != (app.client_type == ClientType::Public) {
            return Err(bad_metadata(
                "token_endpoint_auth_method cannot switch between none and a client secret method",
            ));
        }
        let now = self.now();
        let (name, fallback) = app_names(&metadata, app.id);
        let keep_name = metadata.client_name == registration.metadata.client_name;
        if !keep_name {
            app.name = name;
        }
        app.callback_url = metadata.redirect_uris.first().cloned().unwrap_or_default();
        app.redirect_uris = metadata.redirect_uris.clone();
        app.icon = metadata.logo_uri.clone().unwrap_or_default();
        app.grant_types = metadata.grant_types.clone();
        app.allowed_scopes = metadata.allowed_scopes();
        app.updated_at = now;
        registration.metadata = metadata;
        registration.updated_at = now;
        let audit = |app: &OAuth2App| {
            AuditEntry::new(
                now,
                None,
                AuditAction::Write,
                "oauth2_provider_app",
                app.id,
                app.name.clone(),
            )
        };
        let mut result = self
            .ports
            .repo
            .update_registration(app.clone(), registration.clone(), audit(&app))
            .await;
        if matches!(result, Err(RepoError::Conflict(_))) && app.name != fallback {
            app.name = fallback;
            result = self
                .ports
                .repo
                .update_registration(app.clone(), registration.clone(), audit(&app))
                .await;
        }
        match result {
            Ok(()) => Ok(self.registration_response(&app, &registration)),
            Err(RepoError::Conflict(_)) => Err(bad_metadata(
                "client_name is already in use; choose another",
            )),
            Err(RepoError::NotFound) => Err(invalid_token()),
            Err(e) => Err(e.into()),
        }
    }

    /// `DELETE /oauth2/clients/{client_id}` (RFC 7592 §2.3): deletes the client and
    /// revokes every code, token and secret it holds.
    pub async fn delete_registration(
        &self,
        client_id: &str,
        authorization: Option<&str>,
    ) -> Result<(), OAuth2Error> {
        let (app, _) = self.registered_client(client_id, authorization).await?;
        let audit = AuditEntry::new(
            self.now(),
            None,
            AuditAction::Delete,
            "oauth2_provider_app",
            app.id,
            app.name,
        );
        match self.ports.repo.delete_app(app.id, audit).await {
            Ok(()) => Ok(()),
            Err(RepoError::NotFound) => Err(invalid_token()),
            Err(e) => Err(e.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(uris: &[&str]) -> RegistrationRequest {
        RegistrationRequest {
            redirect_uris: Some(uris.iter().map(|u| (*u).to_owned()).collect()),
            ..Default::default()
        }
    }

    fn code_of(r: Result<ClientMetadata, OAuth2Error>) -> Option<ErrorCode> {
        r.err().map(|e| e.code)
    }

    #[test]
    fn defaults_are_filled_in() {
        let m = validate(request(&["https://a.example/cb"])).ok();
        let m = m.unwrap_or_default();
        assert_eq!(m.token_endpoint_auth_method, "client_secret_basic");
        assert_eq!(m.grant_types, vec!["authorization_code", "refresh_token"]);
        assert_eq!(m.response_types, vec!["code"]);
    }

    #[test]
    fn rfc_7591_errors_are_named() {
        assert_eq!(
            code_of(validate(request(&[]))),
            Some(ErrorCode::InvalidClientMetadata)
        );
        assert_eq!(
            code_of(validate(request(&["http://app.example/cb"]))),
            Some(ErrorCode::InvalidRedirectUri)
        );
        let mut r = request(&["https://a.example/cb"]);
        r.grant_types = Some(vec!["client_credentials".into()]);
        assert_eq!(code_of(validate(r)), Some(ErrorCode::InvalidClientMetadata));
        let mut r = request(&["https://a.example/cb"]);
        r.grant_types = Some(vec!["refresh_token".into()]);
        assert_eq!(code_of(validate(r)), Some(ErrorCode::InvalidClientMetadata));
        let mut r = request(&["https://a.example/cb"]);
        r.response_types = Some(vec!["token".into()]);
        assert_eq!(code_of(validate(r)), Some(ErrorCode::InvalidClientMetadata));
        let mut r = request(&["https://a.example/cb"]);
        r.token_endpoint_auth_method = Some("private_key_jwt".into());
        assert_eq!(code_of(validate(r)), Some(ErrorCode::InvalidClientMetadata));
        let mut r = request(&["https://a.example/cb"]);
        r.scope = Some("coder:all nonsense".into());
        assert_eq!(code_of(validate(r)), Some(ErrorCode::InvalidClientMetadata));
        let mut r = request(&["https://a.example/cb"]);
        r.logo_uri = Some("ftp://a.example/x.png".into());
        assert_eq!(code_of(validate(r)), Some(ErrorCode::InvalidClientMetadata));
    }

    #[test]
    fn public_clients_get_loopback_http_only() {
        let mut r = request(&["http://127.0.0.1:8000/cb"]);
        r.token_endpoint_auth_method = Some("none".into());
        assert!(validate(r).is_ok());
        let mut r = request(&["http://dev.localhost/cb"]);
        r.token_endpoint_auth_method = Some("none".into());
        assert_eq!(code_of(validate(r)), Some(ErrorCode::InvalidRedirectUri));
        assert!(validate(request(&["http://dev.localhost/cb"])).is_ok());
    }
}
