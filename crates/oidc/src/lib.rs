//! Warden's OpenID Connect relying party: the adapter behind the domain's
//! [`OpenIdProvider`] port, on the `openidconnect` crate.
//!
//! It discovers the provider from its issuer URL (lazily, and again when discovery
//! failed or the provider signs with a key it does not know yet), builds
//! authorization requests with `state`, `nonce` and a PKCE S256 challenge, redeems
//! codes, verifies ID tokens (signature against the provider's JWKS, issuer,
//! audience, expiry, nonce) and merges the userinfo claims unless told not to.

mod verify;

use async_trait::async_trait;
use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreClientAuthMethod, CoreGenderClaim, CoreProviderMetadata,
};
use openidconnect::{
    AuthType, AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointMaybeSet,
    EndpointNotSet, EndpointSet, IssuerUrl, Nonce, OAuth2TokenResponse, PkceCodeChallenge,
    PkceCodeVerifier, RedirectUrl, Scope, SubjectIdentifier, reqwest,
};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::RwLock;

use warden_domain::oidc::{OidcError, OidcIdentity, OidcStart, OpenIdProvider};

pub use verify::{Claims, VerifyError, verify_id_token};

/// How to reach and present Warden to the provider (`--oidc-*` options).
#[derive(Clone)]
pub struct OidcConfig {
    pub issuer_url: String,
    pub client_id: String,
    /// Empty for a public client.
    pub client_secret: String,
    /// Warden's callback, `<access URL>/api/v2/users/oidc/callback`.
    pub redirect_url: String,
    pub scopes: Vec<String>,
    /// Use the ID token's claims only (`--oidc-ignore-userinfo`).
    pub ignore_userinfo: bool,
    /// Bound on each request to the provider.
    pub timeout: Duration,
}

impl std::fmt::Debug for OidcConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcConfig")
            .field("issuer_url", &self.issuer_url)
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .field("redirect_url", &self.redirect_url)
            .field("scopes", &self.scopes)
            .field("ignore_userinfo", &self.ignore_userinfo)
            .finish()
    }
}

/// The client once the provider's metadata is known.
type Client = CoreClient<
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// The relying party of one provider.
pub struct OidcRelyingParty {
    config: OidcConfig,
    issuer: IssuerUrl,
    redirect: RedirectUrl,
    http: reqwest::Client,
    /// Discovered metadata, with the provider's keys; `None` until the first
    /// successful discovery.
    metadata: RwLock<Option<Arc<CoreProviderMetadata>>>,
}

impl std::fmt::Debug for OidcRelyingParty {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcRelyingParty")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl OidcRelyingParty {
    /// Checks the configuration; contacts nobody (discovery happens on first use, so
    /// that Warden starts while the provider is down).
    pub fn new(config: OidcConfig) -> Result<Self, String> {
        let issuer = IssuerUrl::new(config.issuer_url.clone())
            .map_err(|e| format!("--oidc-issuer-url {:?}: {e}", config.issuer_url))?;
        let redirect = RedirectUrl::new(config.redirect_url.clone())
            .map_err(|e| format!("OIDC redirect URL {:?}: {e}", config.redirect_url))?;
        if config.client_id.is_empty() {
            return Err("--oidc-client-id is required with --oidc-issuer-url".into());
        }
        let http = reqwest::Client::builder()
            // Following redirects would let a provider's answer send Warden anywhere.
            .redirect(reqwest::redirect::Policy::none())
            .timeout(config.timeout)
            .build()
            .map_err(|e| format!("OIDC HTTP client: {e}"))?;
        Ok(Self {
            config,
            issuer,
            redirect,
            http,
            metadata: RwLock::new(None),
        })
    }

    /// The provider's metadata: cached, or discovered now (again when `refresh`).
    async fn metadata(&self, refresh: bool) -> Result<Arc<CoreProviderMetadata>, OidcError> {
        if !refresh && let Some(metadata) = self.metadata.read().await.as_ref() {
            return Ok(Arc::clone(metadata));
        }
        let mut slot = self.metadata.write().await;
        if !refresh && let Some(metadata) = slot.as_ref() {
            return Ok(Arc::clone(metadata));
        }
        let discovered = CoreProviderMetadata::discover_async(self.issuer.clone(), &self.http)
            .await
            .map_err(|e| {
                let e = error_chain(&e);
                tracing::warn!(issuer = %self.issuer.as_str(), error = %e, "OIDC discovery failed");
                OidcError::Unavailable(format!("discovery of {} failed: {e}", self.issuer.as_str()))
            })?;
        let discovered = Arc::new(discovered);
        *slot = Some(Arc::clone(&discovered));
        Ok(discovered)
    }

    fn client(&self, metadata: &CoreProviderMetadata) -> Client {
        let secret = Some(&self.config.client_secret)
            .filter(|s| !s.is_empty())
            .map(|s| ClientSecret::new(s.clone()));
        let client = CoreClient::from_provider_metadata(
            metadata.clone(),
            ClientId::new(self.config.client_id.clone()),
            secret,
        )
        .set_redirect_uri(self.redirect.clone());
        // client_secret_basic unless the provider only takes the secret in the body.
        let methods = metadata.token_endpoint_auth_methods_supported();
        let post_only = methods.is_some_and(|m| {
            m.contains(&CoreClientAuthMethod::ClientSecretPost)
                && !m.contains(&CoreClientAuthMethod::ClientSecretBasic)
        });
        if post_only {
            client.set_auth_type(AuthType::RequestBody)
        } else {
            client
        }
    }

    /// Verifies `raw` with the provider's keys, rediscovering them once when the
    /// token names a key the cached set lacks (the provider rotated its keys).
    async fn verified(
        &self,
        metadata: Arc<CoreProviderMetadata>,
        raw: &str,
        nonce: &str,
    ) -> Result<Claims, OidcError> {
        let check = |metadata: &CoreProviderMetadata| {
            verify_id_token(
                raw,
                &self.config.client_id,
                self.issuer.as_str(),
                metadata.jwks(),
                nonce,
            )
        };
        match check(&metadata) {
            Ok(claims) => Ok(claims),
            Err(VerifyError::UnknownKey) => {
                tracing::info!(
                    "ID token signed with an unknown key; refetching the provider's keys"
                );
                let fresh = self.metadata(true).await?;
                check(&fresh).map_err(rejected)
            }
            Err(e) => Err(rejected(e)),
        }
    }

    async fn userinfo(
        &self,
        client: &Client,
        access_token: openidconnect::AccessToken,
        subject: &str,
    ) -> Result<Claims, OidcError> {
        let request = match client.user_info(
            access_token,
            Some(SubjectIdentifier::new(subject.to_owned())),
        ) {
            Ok(request) => request,
            // A provider without a userinfo endpoint: the ID token is all there is.
            Err(_) => return Ok(Claims::new()),
        };
        let info = request
            .request_async::<verify::AllClaims, _, CoreGenderClaim>(&self.http)
            .await
            .map_err(|e| match e {
                openidconnect::UserInfoError::ClaimsVerification(e) => {
                    OidcError::Rejected(format!("the userinfo response failed a check: {e}"))
                }
                other => OidcError::Unavailable(format!(
                    "the userinfo request failed: {}",
                    error_chain(&other)
                )),
            })?;
        match serde_json::to_value(&info) {
            Ok(serde_json::Value::Object(claims)) => Ok(claims),
            _ => Err(OidcError::Unavailable(
                "the userinfo response is not a JSON object".into(),
            )),
        }
    }
}

fn rejected(e: VerifyError) -> OidcError {
    tracing::warn!(error = %e, "OIDC ID token rejected");
    OidcError::Rejected(format!("the ID token was rejected: {e}"))
}

/// An error with its sources, which is where HTTP clients put the useful part.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

#[async_trait]
impl OpenIdProvider for OidcRelyingParty {
    async fn start(&self) -> Result<OidcStart, OidcError> {
        let metadata = self.metadata(false).await?;
        let client = self.client(&metadata);
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut request = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .set_pkce_challenge(challenge);
        for scope in self.config.scopes.iter().filter(|s| s.as_str() != "openid") {
            request = request.add_scope(Scope::new(scope.clone()));
        }
        let (url, state, nonce) = request.url();
        Ok(OidcStart {
            url: url.to_string(),
            state: state.secret().clone(),
            nonce: nonce.secret().clone(),
            pkce_verifier: verifier.secret().clone(),
        })
    }

    async fn finish(
        &self,
        code: &str,
        pkce_verifier: &str,
        nonce: &str,
    ) -> Result<OidcIdentity, OidcError> {
        let metadata = self.metadata(false).await?;
        let client = self.client(&metadata);
        let request = client
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .map_err(|e| {
                OidcError::Unavailable(format!("the provider has no token endpoint: {e}"))
            })?
            .set_pkce_verifier(PkceCodeVerifier::new(pkce_verifier.to_owned()));
        let tokens = request.request_async(&self.http).await.map_err(|e| {
            use openidconnect::RequestTokenError as E;
            match e {
                E::ServerResponse(answer) => {
                    let text = answer.to_string();
                    tracing::warn!(error = %text, "OIDC code exchange refused");
                    OidcError::Rejected(format!(
                        "the provider refused the authorization code: {text}"
                    ))
                }
                other => {
                    let text = error_chain(&other);
                    tracing::warn!(error = %text, "OIDC code exchange failed");
                    OidcError::Unavailable(format!("the token request failed: {text}"))
                }
            }
        })?;
        let raw = tokens
            .extra_fields()
            .id_token()
            .ok_or_else(|| OidcError::Rejected("the token response has no id_token".into()))?
            .to_string();
        let id_token_claims = self.verified(metadata, &raw, nonce).await?;
        let subject = id_token_claims
            .get("sub")
            .and_then(|s| s.as_str())
            .unwrap_or_default()
            .to_owned();
        let userinfo_claims = if self.config.ignore_userinfo {
            Claims::new()
        } else {
            self.userinfo(&client, tokens.access_token().clone(), &subject)
                .await?
        };
        Ok(OidcIdentity {
            issuer: self.issuer.as_str().to_owned(),
            subject,
            id_token_claims,
            userinfo_claims,
        })
    }
}
