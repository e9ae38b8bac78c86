//! RFC 8414 authorization server metadata and RFC 9728 protected resource metadata,
//! listing exactly what Warden supports.

use serde::Serialize;

use crate::OAuth2Provider;

/// RFC 8414 §2 (Coder's `codersdk.OAuth2AuthorizationServerMetadata` plus the
/// revocation and introspection endpoints Warden serves).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct AuthorizationServerMetadata {
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub device_authorization_endpoint: String,
    pub revocation_endpoint: String,
    pub introspection_endpoint: String,
    /// Present only while dynamic client registration is switched on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub registration_endpoint: Option<String>,
    pub response_types_supported: Vec<String>,
    pub response_modes_supported: Vec<String>,
    pub grant_types_supported: Vec<String>,
    pub code_challenge_methods_supported: Vec<String>,
    pub scopes_supported: Vec<String>,
    pub token_endpoint_auth_methods_supported: Vec<String>,
    pub revocation_endpoint_auth_methods_supported: Vec<String>,
    pub introspection_endpoint_auth_methods_supported: Vec<String>,
    pub authorization_response_iss_parameter_supported: bool,
}

/// RFC 9728 §2.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ProtectedResourceMetadata {
    pub resource: String,
    pub authorization_servers: Vec<String>,
    pub scopes_supported: Vec<String>,
    pub bearer_methods_supported: Vec<String>,
}

/// The scope names a client may request.
pub fn scopes_supported() -> Vec<String> {
    let mut scopes = vec![
        warden_rbac::SCOPE_ALL.to_owned(),
        warden_rbac::SCOPE_APPLICATION_CONNECT.to_owned(),
    ];
    scopes.extend(warden_rbac::Scope::composite_names().map(str::to_owned));
    scopes
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

/// Client authentication methods of confidential clients.
pub const AUTH_METHODS: &[&str] = &["client_secret_basic", "client_secret_post"];

/// The token endpoint also serves public clients (`none`, with PKCE for codes), and
/// so does revocation; introspection needs a confidential client.
pub const TOKEN_AUTH_METHODS: &[&str] = &["client_secret_basic", "client_secret_post", "none"];

impl OAuth2Provider {
    /// The RFC 8414 document.
    pub fn server_metadata(&self) -> AuthorizationServerMetadata {
        let base = &self.config.access_url;
        AuthorizationServerMetadata {
            issuer: base.clone(),
            authorization_endpoint: format!("{base}/oauth2/authorize"),
            token_endpoint: format!("{base}/oauth2/tokens"),
            device_authorization_endpoint: format!("{base}/oauth2/device"),
            revocation_endpoint: format!("{base}/oauth2/revoke"),
            introspection_endpoint: format!("{base}/oauth2/introspect"),
            registration_endpoint: self
                .config
                .dynamic_registration
                .then(|| format!("{base}/oauth2/register")),
            response_types_supported: strings(&["code"]),
            response_modes_supported: strings(&["query"]),
            grant_types_supported: strings(warden_domain::oauth2::ALL_GRANTS),
            code_challenge_methods_supported: strings(&["S256"]),
            scopes_supported: scopes_supported(),
            token_endpoint_auth_methods_supported: strings(TOKEN_AUTH_METHODS),
            revocation_endpoint_auth_methods_supported: strings(TOKEN_AUTH_METHODS),
            introspection_endpoint_auth_methods_supported: strings(AUTH_METHODS),
            authorization_response_iss_parameter_supported: true,
        }
    }

    /// The RFC 9728 document: Warden's API is the one protected resource.
    pub fn resource_metadata(&self) -> ProtectedResourceMetadata {
        ProtectedResourceMetadata {
            resource: self.config.access_url.clone(),
            authorization_servers: vec![self.config.access_url.clone()],
            scopes_supported: scopes_supported(),
            bearer_methods_supported: strings(&["header", "query"]),
        }
    }
}
