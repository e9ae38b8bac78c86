//! Signing in through an OpenID provider: what the relying party adapter hands the
//! domain, the deployment's OIDC settings, and the link that ties a provider account to
//! a Warden user.

use async_trait::async_trait;
use serde_json::Value;
use time::OffsetDateTime;

use crate::idp_sync::plan::Claims;
use crate::ids::UserId;

/// How the deployment treats OIDC sign-ins (Coder's `--oidc-*` options).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OidcSettings {
    /// Whether a first sign-in may create an account.
    pub allow_signups: bool,
    /// E-mail domains allowed to sign in; empty allows every domain.
    pub email_domains: Vec<String>,
    /// Accept an `email_verified: false` claim.
    pub ignore_email_verified: bool,
    /// The claim holding the e-mail address.
    pub email_field: String,
    /// The claim holding the username.
    pub username_field: String,
    /// The claim holding the display name.
    pub name_field: String,
    /// The default organization's group claim when no group sync settings are stored.
    pub group_field: String,
    /// The sign-in button's text on the login page.
    pub sign_in_text: String,
    /// The sign-in button's icon.
    pub icon_url: String,
}

impl Default for OidcSettings {
    fn default() -> Self {
        Self {
            allow_signups: true,
            email_domains: Vec::new(),
            ignore_email_verified: false,
            email_field: "email".into(),
            username_field: "preferred_username".into(),
            name_field: "name".into(),
            group_field: String::new(),
            sign_in_text: String::new(),
            icon_url: String::new(),
        }
    }
}

/// The start of an authorization code flow: where to send the browser, and the
/// secrets the callback must present again (kept by the browser in cookies).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OidcStart {
    /// The provider's authorization URL with `state`, `nonce` and the PKCE challenge.
    pub url: String,
    pub state: String,
    pub nonce: String,
    pub pkce_verifier: String,
}

/// A verified sign-in: the ID token's issuer and subject, and the claims of the ID
/// token and (unless ignored) of the userinfo endpoint.
#[derive(Debug, Clone, PartialEq)]
pub struct OidcIdentity {
    pub issuer: String,
    pub subject: String,
    pub id_token_claims: Claims,
    pub userinfo_claims: Claims,
}

impl OidcIdentity {
    /// The stable name of the provider account (Coder's `oidcLinkedID`): issuer and
    /// subject, which the provider never reassigns, unlike an e-mail address.
    pub fn linked_id(&self) -> String {
        format!("{}||{}", self.issuer, self.subject)
    }

    /// The ID token's claims overlaid with the userinfo claims, as Coder merges them.
    pub fn merged_claims(&self) -> Claims {
        let mut merged = self.id_token_claims.clone();
        merged.extend(
            self.userinfo_claims
                .iter()
                .map(|(k, v)| (k.clone(), v.clone())),
        );
        merged
    }

    /// The document stored on the link (Coder's `UserLinkClaims`).
    pub fn link_claims(&self) -> Value {
        serde_json::json!({
            "id_token_claims": self.id_token_claims,
            "userinfo_claims": self.userinfo_claims,
            "merged_claims": self.merged_claims(),
        })
    }
}

/// Why the provider did not produce an identity.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OidcError {
    /// The provider could not be reached or answered nonsense (a 502 page).
    #[error("the identity provider is unavailable: {0}")]
    Unavailable(String),
    /// What the provider or the browser presented failed a check: a forged, expired,
    /// wrong-audience or wrong-nonce ID token, a refused code (a 400 page).
    #[error("{0}")]
    Rejected(String),
}

/// The OpenID relying party: builds authorization requests and turns a code into a
/// verified identity. Implemented by `warden-oidc`.
#[async_trait]
pub trait OpenIdProvider: Send + Sync {
    /// A new authorization request with fresh `state`, `nonce` and PKCE verifier.
    async fn start(&self) -> Result<OidcStart, OidcError>;

    /// Redeems `code` with the PKCE verifier and verifies the ID token, its `nonce`
    /// included; fetches userinfo unless the deployment ignores it.
    async fn finish(
        &self,
        code: &str,
        pkce_verifier: &str,
        nonce: &str,
    ) -> Result<OidcIdentity, OidcError>;
}

/// A user's link to an outside identity provider.
#[derive(Debug, Clone, PartialEq)]
pub struct UserLink {
    pub user_id: UserId,
    pub login_type: crate::model::LoginType,
    pub linked_id: String,
    /// [`OidcIdentity::link_claims`] of the last sign-in.
    pub claims: Value,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

impl UserLink {
    /// The merged claims of the last sign-in.
    pub fn merged_claims(&self) -> Claims {
        match self.claims.get("merged_claims") {
            Some(Value::Object(map)) => map.clone(),
            _ => Claims::new(),
        }
    }
}

/// The string values of a claim that IdP sync can map: a string, or the strings of an
/// array (other elements skipped), as Coder's `field-values` lists them.
pub fn string_values(value: &Value) -> Vec<&str> {
    match value {
        Value::String(s) => vec![s.as_str()],
        Value::Array(items) => items.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}
