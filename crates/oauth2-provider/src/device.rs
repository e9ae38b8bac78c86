//! The device authorization grant (RFC 8628): the device authorization endpoint,
//! the user's decision on the verification page, and the token endpoint's
//! `urn:ietf:params:oauth:grant-type:device_code` grant.
//!
//! The device code is a `coder_<prefix>_<secret>` secret; the user code is eight
//! characters from an alphabet without vowels or look-alikes (RFC 8628 §6.1), shown
//! as `XXXX-XXXX` and accepted in any case, with or without the dash. Both are stored
//! hashed. Approved authorizations issue tokens exactly like the code grant (one
//! token family per device code, refresh rotation and reuse detection included).

use std::collections::HashMap;

use serde::Serialize;
use sha2::{Digest, Sha256};
use uuid::Uuid;
use warden_domain::ids::OAuth2SecretId;
use warden_domain::model::LoginType;
use warden_domain::oauth2::{
    DeviceAuthorization, DevicePoll, DeviceStatus, GRANT_DEVICE_CODE, OAuth2App,
};
use warden_domain::token::secret_matches;
use warden_domain::{Actor, RepoError};

use crate::authorize::granted_scopes;
use crate::error::{ErrorCode, OAuth2Error};
use crate::secret::{self, GeneratedSecret};
use crate::token::{FormRequest, TokenResponse, params, required};
use crate::{OAuth2Provider, span};

/// The user code alphabet: consonants only, so no words and nothing to confuse.
const USER_CODE_ALPHABET: &[u8] = b"BCDFGHJKLMNPQRSTVWXZ";
/// Characters in a user code (without the dash).
pub const USER_CODE_LEN: usize = 8;

/// RFC 8628 §3.2: the device authorization response.
#[derive(Clone, Serialize)]
pub struct DeviceAuthorizationResponse {
    pub device_code: String,
    pub user_code: String,
    pub verification_uri: String,
    pub verification_uri_complete: String,
    pub expires_in: i64,
    pub interval: i64,
}

impl std::fmt::Debug for DeviceAuthorizationResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeviceAuthorizationResponse")
            .field("verification_uri", &self.verification_uri)
            .field("expires_in", &self.expires_in)
            .finish_non_exhaustive()
    }
}

/// A pending device authorization the signed-in user is asked about.
#[derive(Debug, Clone)]
pub struct PendingDevice {
    pub device: DeviceAuthorization,
    pub app: OAuth2App,
    /// The user code as displayed (`XXXX-XXXX`).
    pub user_code: String,
}

/// Normalizes a typed user code: case-insensitive, dash and spaces optional.
/// `None` if it cannot be a user code.
pub fn normalize_user_code(raw: &str) -> Option<String> {
    let code: String = raw
        .chars()
        .filter(|c| *c != '-' && !c.is_whitespace())
        .map(|c| c.to_ascii_uppercase())
        .collect();
    (code.len() == USER_CODE_LEN && code.bytes().all(|b| USER_CODE_ALPHABET.contains(&b)))
        .then_some(code)
}

/// `XXXX-XXXX`.
pub fn display_user_code(normalized: &str) -> String {
    let (a, b) = normalized.split_at(normalized.len().min(USER_CODE_LEN / 2));
    format!("{a}-{b}")
}

fn user_code_hash(normalized: &str) -> String {
    Sha256::digest(normalized.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Draws a user code by rejection sampling over the generator's alphanumerics: each
/// consonant has an upper- and a lower-case source, so the draw stays uniform.
fn generate_user_code(
    secrets: &dyn warden_domain::ports::SecretGenerator,
) -> Result<String, OAuth2Error> {
    let mut code = String::with_capacity(USER_CODE_LEN);
    for _ in 0..64 {
        for b in secrets.alphanumeric(32).bytes() {
            let upper = b.to_ascii_uppercase();
            if USER_CODE_ALPHABET.contains(&upper) {
                code.push(char::from(upper));
                if code.len() == USER_CODE_LEN {
                    return Ok(code);
                }
            }
        }
    }
    Err(OAuth2Error::new(
        ErrorCode::ServerError,
        "the secret generator yields no usable characters",
    ))
}

fn not_valid() -> OAuth2Error {
    OAuth2Error::invalid_request("That code is not valid. Check it and try again.")
}

impl OAuth2Provider {
    /// `POST /oauth2/device` (RFC 8628 §3.1): client authentication as at the token
    /// endpoint (public clients send only `client_id`); optional `scope` and
    /// `resource`.
    pub async fn device_authorization(
        &self,
        req: &FormRequest,
    ) -> Result<DeviceAuthorizationResponse, OAuth2Error> {
        let params = params(&req.pairs)?;
        let (app, _) = self.authenticate_client(req, &params).await?;
        if !app.allows_grant(GRANT_DEVICE_CODE) {
            return Err(OAuth2Error::new(
                ErrorCode::UnauthorizedClient,
                "the client is not registered for the device_code grant",
            ));
        }
        let scopes = granted_scopes(&app, params.get("scope").copied())?;
        let resource = match params.get("resource").copied() {
            None => None,
            Some(r) => Some(self.check_resource(r)?),
        };
        let now = self.now();
        let lifetime = span(self.config.device_code_lifetime);
        let interval = span(self.config.device_interval).whole_seconds().max(1);
        // A user code collides with a live one about once in 10^10 draws; retry then.
        for _ in 0..3 {
            let device_code = GeneratedSecret::generate(self.ports.secrets.as_ref());
            let user_code = generate_user_code(self.ports.secrets.as_ref())?;
            let device = DeviceAuthorization {
                id: Uuid::new_v4(),
                prefix: device_code.prefix.clone(),
                hashed_secret: device_code.hashed.clone(),
                user_code_hash: user_code_hash(&user_code),
                app_id: app.id,
                user_id: None,
                scopes: scopes.clone(),
                resource: resource.clone(),
                status: DeviceStatus::Pending,
                interval_seconds: interval,
                created_at: now,
                expires_at: now + lifetime,
                last_polled_at: None,
            };
            match self.ports.repo.create_device(device).await {
                Ok(()) => {}
                Err(RepoError::Conflict(_)) => continue,
                Err(e) => return Err(e.into()),
            }
            let shown = display_user_code(&user_code);
            let verification_uri = format!("{}/oauth2/device/verify", self.config.access_url);
            let complete = url::form_urlencoded::Serializer::new(String::new())
                .append_pair("user_code", &shown)
                .finish();
            return Ok(DeviceAuthorizationResponse {
                device_code: device_code.full,
                user_code: shown,
                verification_uri_complete: format!("{verification_uri}?{complete}"),
                verification_uri,
                expires_in: lifetime.whole_seconds(),
                interval,
            });
        }
        Err(OAuth2Error::new(
            ErrorCode::TemporarilyUnavailable,
            "could not allocate a user code; try again",
        ))
    }

    /// Finds the pending authorization a user typed the code of. The error's
    /// description is meant for the verification page.
    pub async fn pending_device(&self, raw_user_code: &str) -> Result<PendingDevice, OAuth2Error> {
        let code = normalize_user_code(raw_user_code).ok_or_else(not_valid)?;
        let device = match self
            .ports
            .repo
            .device_by_user_code(&user_code_hash(&code))
            .await
        {
            Ok(d) => d,
            Err(RepoError::NotFound) => return Err(not_valid()),
            Err(e) => return Err(e.into()),
        };
        if device.expires_at <= self.now() {
            return Err(OAuth2Error::new(
                ErrorCode::ExpiredToken,
                "That code has expired. Start again on your device.",
            ));
        }
        if device.status != DeviceStatus::Pending {
            return Err(OAuth2Error::invalid_request("That code was already used."));
        }
        let app = match self.ports.repo.get_app(device.app_id).await {
            Ok(app) => app,
            Err(RepoError::NotFound) => return Err(not_valid()),
            Err(e) => return Err(e.into()),
        };
        Ok(PendingDevice {
            device,
            app,
            user_code: display_user_code(&code),
        })
    }

    /// The signed-in user allows or denies a device. A credential minted by this
    /// provider cannot approve grants.
    pub async fn decide_device(
        &self,
        actor: &Actor,
        raw_user_code: &str,
        approve: bool,
    ) -> Result<PendingDevice, OAuth2Error> {
        if actor.key.login_type == LoginType::OAuth2ProviderApp {
            return Err(OAuth2Error::new(
                ErrorCode::AccessDenied,
                "an OAuth2 access token cannot authorize devices",
            ));
        }
        let pending = self.pending_device(raw_user_code).await?;
        let decided = self
            .ports
            .repo
            .decide_device(pending.device.id, actor.user.id, approve, self.now())
            .await?;
        if decided {
            Ok(pending)
        } else {
            Err(OAuth2Error::invalid_request(
                "That code was already used or has expired.",
            ))
        }
    }

    /// The token endpoint's device grant (RFC 8628 §3.4, §3.5).
    pub(crate) async fn device_grant(
        &self,
        params: &HashMap<&str, &str>,
        app: OAuth2App,
        secret_used: Option<OAuth2SecretId>,
    ) -> Result<TokenResponse, OAuth2Error> {
        let raw = required(params, "device_code")?;
        let bad = || OAuth2Error::invalid_grant("The device code is invalid or was already used.");
        let (prefix, plain) = secret::parse(raw).ok_or_else(bad)?;
        let device = match self.ports.repo.device_by_prefix(prefix).await {
            Ok(d) => d,
            Err(RepoError::NotFound) => return Err(bad()),
            Err(e) => return Err(e.into()),
        };
        // A device code presented by another client is as good as no code.
        if device.app_id != app.id || !secret_matches(plain, &device.hashed_secret) {
            return Err(bad());
        }
        let now = self.now();
        let issue = match (device.status, device.user_id) {
            (DeviceStatus::Approved, Some(user)) => Some(self.mint(
                &app,
                user,
                device.id,
                device.scopes.clone(),
                device.resource.clone(),
                secret_used,
                now,
            )?),
            _ => None,
        };
        let (issue, response) = match issue {
            Some((issue, response)) => (Some(issue), Some(response)),
            None => (None, None),
        };
        let poll = match self.ports.repo.poll_device(device.id, now, issue).await {
            Ok(poll) => poll,
            // Deleted meanwhile (the client, its secret or the user went away).
            Err(RepoError::NotFound | RepoError::MissingReference(_)) => return Err(bad()),
            Err(e) => return Err(e.into()),
        };
        match (poll, response) {
            (DevicePoll::Issued, Some(response)) => Ok(response),
            (DevicePoll::Issued, None) | (DevicePoll::Redeemed, _) => Err(bad()),
            (DevicePoll::Pending, _) => Err(OAuth2Error::new(
                ErrorCode::AuthorizationPending,
                "The user has not yet decided.",
            )),
            (DevicePoll::SlowDown, _) => Err(OAuth2Error::new(
                ErrorCode::SlowDown,
                "Polling too often: wait 5 seconds longer between requests.",
            )),
            (DevicePoll::Denied, _) => Err(OAuth2Error::new(
                ErrorCode::AccessDenied,
                "The user denied the request.",
            )),
            (DevicePoll::Expired, _) => Err(OAuth2Error::new(
                ErrorCode::ExpiredToken,
                "The device code has expired; start again.",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Cycle;
    impl warden_domain::ports::SecretGenerator for Cycle {
        fn alphanumeric(&self, len: usize) -> String {
            "a0Eb1c".chars().cycle().take(len).collect()
        }
    }

    #[test]
    fn user_codes_are_normalized() {
        assert_eq!(
            normalize_user_code("bcdf-ghjk").as_deref(),
            Some("BCDFGHJK")
        );
        assert_eq!(
            normalize_user_code(" BCDFGHJK ").as_deref(),
            Some("BCDFGHJK")
        );
        assert_eq!(normalize_user_code("BCDF-GHJ"), None);
        assert_eq!(
            normalize_user_code("ABCD-EFGH"),
            None,
            "vowels are not in the alphabet"
        );
        assert_eq!(display_user_code("BCDFGHJK"), "BCDF-GHJK");
    }

    #[test]
    fn user_codes_use_only_the_alphabet() {
        let code = generate_user_code(&Cycle).unwrap_or_default();
        assert_eq!(code, "BCBCBCBC");
        assert!(normalize_user_code(&code).is_some());
    }
}
