//! Warden's OAuth2 authorization server, as protocol logic with no HTTP or SQL in it.
//!
//! [`OAuth2Provider`] owns the use cases: managing applications and their secrets
//! (Coder's `/oauth2-provider/apps` API), the authorization request and consent
//! decision, authorization codes bound to S256 PKCE challenges, the token endpoint's
//! grants with refresh rotation and reuse detection, revocation (RFC 7009),
//! introspection (RFC 7662), dynamic client registration (RFC 7591/7592), the
//! device authorization grant (RFC 8628), and the RFC 8414 / RFC 9728 metadata documents. It
//! persists through the domain's [`OAuth2Repo`](warden_domain::ports::OAuth2Repo)
//! port; `warden-http` exposes it. Errors of the protocol endpoints are RFC 6749 §5.2
//! codes ([`OAuth2Error`]); the management API fails with domain errors.

pub mod apps;
pub mod authorize;
pub mod device;
pub mod error;
pub mod metadata;
pub mod pkce;
pub mod redirect;
pub mod registration;
pub mod secret;
pub mod token;

use std::sync::Arc;
use std::time::Duration;

use warden_domain::ports::{Clock, OAuth2Repo, SecretGenerator};

pub use error::{ErrorCode, OAuth2Error};

/// Tunables, set by the binary from flags.
#[derive(Debug, Clone)]
pub struct OAuth2Config {
    /// The issuer and resource identifier: the deployment's public URL, no trailing slash.
    pub access_url: String,
    /// How long an authorization code may be redeemed (at most 10 minutes).
    pub code_lifetime: Duration,
    /// Lifetime of an access token (an API key).
    pub access_token_lifetime: Duration,
    /// Lifetime of a refresh token.
    pub refresh_token_lifetime: Duration,
    /// How long a rotated refresh token may still be exchanged, for clients that
    /// refresh concurrently; reuse after that revokes the family.
    pub refresh_grace: Duration,
    /// Whether RFC 7591/7592 dynamic client registration is open.
    pub dynamic_registration: bool,
    /// How long a device authorization (RFC 8628) may be approved and redeemed.
    pub device_code_lifetime: Duration,
    /// The minimum polling interval handed to devices.
    pub device_interval: Duration,
}

impl OAuth2Config {
    /// Defaults for a deployment at `access_url`.
    pub fn new(access_url: &str) -> Self {
        Self {
            access_url: access_url.trim_end_matches('/').to_owned(),
            code_lifetime: Duration::from_secs(10 * 60),
            access_token_lifetime: Duration::from_secs(60 * 60),
            refresh_token_lifetime: Duration::from_secs(30 * 24 * 60 * 60),
            refresh_grace: Duration::from_secs(10),
            dynamic_registration: false,
            device_code_lifetime: Duration::from_secs(600),
            device_interval: Duration::from_secs(5),
        }
    }
}

/// The ports the provider needs.
#[derive(Clone)]
pub struct OAuth2Ports {
    pub repo: Arc<dyn OAuth2Repo>,
    pub clock: Arc<dyn Clock>,
    pub secrets: Arc<dyn SecretGenerator>,
}

/// Every OAuth2 use case. Cheap to clone.
#[derive(Clone)]
pub struct OAuth2Provider {
    ports: OAuth2Ports,
    config: OAuth2Config,
}

impl OAuth2Provider {
    /// Wires the use cases to their ports.
    pub fn new(ports: OAuth2Ports, config: OAuth2Config) -> Self {
        Self { ports, config }
    }

    /// The configuration in force.
    pub fn config(&self) -> &OAuth2Config {
        &self.config
    }

    fn now(&self) -> time::OffsetDateTime {
        self.ports.clock.now()
    }
}

/// `std` duration as `time` duration (saturating: configured values are small).
fn span(d: Duration) -> time::Duration {
    time::Duration::try_from(d).unwrap_or(time::Duration::MAX)
}
