//! API keys: session keys and named tokens of a user.

use time::Duration;
use warden_rbac::{Action, AllowListEntry, Object, ResourceType, Scope};

use crate::actor::Actor;
use crate::error::{DomainError, DomainResult, RepoError};
use crate::ids::{ApiKeyId, UserId};
use crate::model::{ApiKey, AuditAction, LoginType, User};
use crate::services::Services;
use crate::services::auth::{ALLOW_ALL, SCOPE_ALL};
use crate::token::GeneratedApiKey;

/// `POST /users/{user}/keys/tokens`.
#[derive(Debug, Clone, Default)]
pub struct CreateToken {
    /// Requested lifetime; `None` = the deployment default.
    pub lifetime: Option<Duration>,
    /// Scope names; empty = `coder:all`.
    pub scopes: Vec<String>,
    /// Empty = a generated name.
    pub token_name: String,
    /// `<type>:<id>` entries; empty = everything.
    pub allow_list: Vec<String>,
}

/// The RBAC object of a user's API key.
fn key_object(owner: UserId) -> Object {
    Object::new(ResourceType::ApiKey).owned_by(owner.as_uuid())
}

/// Parses an allow-list entry `<resource_type>:<uuid|*>` (`*:*` = everything).
pub fn parse_allow_entry(raw: &str) -> Result<AllowListEntry, String> {
    let (ty, id) = raw
        .split_once(':')
        .ok_or_else(|| format!("{raw:?} must be of the form <type>:<id>"))?;
    let resource_type = ty
        .parse()
        .map_err(|_| format!("{ty:?} is not a resource type"))?;
    let id = match id {
        "*" => None,
        id => Some(
            id.parse()
                .map_err(|_| format!("{id:?} is not a valid UUID or \"*\""))?,
        ),
    };
    Ok(AllowListEntry { resource_type, id })
}

/// Canonicalizes scope names (`all` → `coder:all`, `application_connect` →
/// `coder:application_connect`), checks each exists, and drops duplicates.
pub fn canonical_scopes(raw: &[String]) -> DomainResult<Vec<String>> {
    let mut scopes = Vec::with_capacity(raw.len().max(1));
    for name in raw {
        let canonical = match name.as_str() {
            "all" => SCOPE_ALL.to_owned(),
            "application_connect" => "coder:application_connect".to_owned(),
            other => other.to_owned(),
        };
        if Scope::by_name(&canonical).is_err() {
            return Err(DomainError::bad_request(
                "Failed to create API key.",
                format!("invalid or unsupported API key scope: {name:?}"),
            ));
        }
        if !scopes.contains(&canonical) {
            scopes.push(canonical);
        }
    }
    if scopes.is_empty() {
        scopes.push(SCOPE_ALL.to_owned());
    }
    Ok(scopes)
}

impl Services {
    /// `POST /users/{user}/keys`: a new session key for the user, with the session lifetime.
    pub async fn create_session_key(&self, actor: &Actor, param: &str) -> DomainResult<String> {
        let user = self.resolve_user(actor, param).await?;
        actor.require(Action::Create, &key_object(user.id))?;
        let lifetime = std_to_time(self.config.session_lifetime)?;
        self.insert_key(
            actor,
            &user,
            LoginType::Password,
            lifetime,
            String::new(),
            vec![SCOPE_ALL.into()],
            vec![ALLOW_ALL.into()],
        )
        .await
    }

    /// `POST /users/{user}/keys/tokens`: a named token with a lifetime and scopes.
    pub async fn create_token(
        &self,
        actor: &Actor,
        param: &str,
        req: CreateToken,
    ) -> DomainResult<String> {
        let user = self.resolve_user(actor, param).await?;
        actor.require(Action::Create, &key_object(user.id))?;
        let max = std_to_time(self.config.max_token_lifetime)?;
        let invalid_lifetime = |detail: String| {
            DomainError::bad_request("Failed to validate create API key request.", detail)
        };
        let lifetime = match req.lifetime {
            // Coder: zero or absent means the default, which is not checked against the max.
            None => std_to_time(self.config.default_token_lifetime)?,
            Some(l) if l.is_zero() => std_to_time(self.config.default_token_lifetime)?,
            Some(l) if l < Duration::ZERO => {
                return Err(invalid_lifetime(
                    "lifetime must be positive number greater than 0".into(),
                ));
            }
            Some(l) if l > max => {
                return Err(invalid_lifetime(format!(
                    "lifetime must be less than {}",
                    go_duration(max)
                )));
            }
            Some(l) => l,
        };
        let scopes = canonical_scopes(&req.scopes)?;
        let mut allow_list = Vec::with_capacity(req.allow_list.len());
        for entry in &req.allow_list {
            parse_allow_entry(entry)
                .map_err(|detail| DomainError::bad_request("Failed to create API key.", detail))?;
            allow_list.push(entry.clone());
        }
        if allow_list.is_empty() {
            allow_list.push(ALLOW_ALL.to_owned());
        }
        let token_name = if req.token_name.is_empty() {
            format!(
                "token_{}",
                self.ports.secrets.alphanumeric(10).to_lowercase()
            )
        } else {
            let valid = req.token_name.chars().count() <= 64
                && !req
                    .token_name
                    .chars()
                    .any(|c| c.is_control() || c.is_whitespace());
            if !valid {
                return Err(DomainError::invalid_field(
                    "Validation failed.",
                    "token_name",
                    "must be at most 64 characters with no spaces or control characters",
                ));
            }
            req.token_name
        };
        self.insert_key(
            actor,
            &user,
            LoginType::Token,
            lifetime,
            token_name,
            scopes,
            allow_list,
        )
        .await
    }

    /// A session key like a password sign-in's (the deployment's session lifetime,
    /// every scope), and its token.
    pub(crate) fn session_key(
        &self,
        user: UserId,
        login_type: LoginType,
        now: time::OffsetDateTime,
    ) -> DomainResult<(ApiKey, String)> {
        let lifetime = Duration::try_from(self.config.session_lifetime)
            .map_err(|e| DomainError::Internal(e.to_string()))?;
        Ok(self.new_key(
            user,
            login_type,
            lifetime,
            String::new(),
            vec![SCOPE_ALL.to_owned()],
            vec![ALLOW_ALL.to_owned()],
            now,
        ))
    }

    /// A new key with a fresh secret, not yet stored, and its token.
    #[allow(clippy::too_many_arguments)]
    fn new_key(
        &self,
        user: UserId,
        login_type: LoginType,
        lifetime: Duration,
        token_name: String,
        scopes: Vec<String>,
        allow_list: Vec<String>,
        now: time::OffsetDateTime,
    ) -> (ApiKey, String) {
        let generated = GeneratedApiKey::generate(self.ports.secrets.as_ref());
        let key = ApiKey {
            id: generated.id,
            user_id: user,
            hashed_secret: generated.hashed_secret,
            last_used: now,
            expires_at: now + lifetime,
            created_at: now,
            updated_at: now,
            login_type,
            lifetime_seconds: lifetime.whole_seconds(),
            token_name,
            scopes,
            allow_list,
        };
        (key, generated.token)
    }

    #[allow(clippy::too_many_arguments)]
    async fn insert_key(
        &self,
        actor: &Actor,
        user: &User,
        login_type: LoginType,
        lifetime: Duration,
        token_name: String,
        scopes: Vec<String>,
        allow_list: Vec<String>,
    ) -> DomainResult<String> {
        let now = self.now();
        let (key, token) = self.new_key(
            user.id,
            login_type,
            lifetime,
            token_name.clone(),
            scopes,
            allow_list,
            now,
        );
        let target = if token_name.is_empty() {
            user.username.as_str().to_owned()
        } else {
            token_name.clone()
        };
        let audit = actor.audit(now, AuditAction::Create, "api_key", &key.id, target);
        match self.ports.api_keys.create(key, Some(audit)).await {
            Ok(_) => Ok(token),
            Err(RepoError::Conflict(_)) => Err(DomainError::Conflict {
                message: format!("A token with name {token_name:?} already exists."),
                detail: String::new(),
                validations: vec![crate::error::FieldError::new(
                    "name",
                    "This value is already in use and should be unique.",
                )],
            }),
            Err(e) => Err(e.into()),
        }
    }

    /// `GET /users/{user}/keys/tokens`: a user's named tokens with their owner's name;
    /// `include_all` lists every user's tokens the caller may read.
    pub async fn list_tokens(
        &self,
        actor: &Actor,
        param: &str,
        include_all: bool,
    ) -> DomainResult<Vec<(ApiKey, String)>> {
        let user = self.resolve_user(actor, param).await?;
        let scope = if include_all { None } else { Some(user.id) };
        let tokens = self.ports.api_keys.list_tokens(scope).await?;
        Ok(tokens
            .into_iter()
            .filter(|(key, _)| actor.can(Action::Read, &key_object(key.user_id)))
            .collect())
    }

    /// `GET /users/{user}/keys/{keyid}`. As in Coder the key is found by id alone;
    /// what the caller may not read does not exist.
    pub async fn get_key(&self, actor: &Actor, param: &str, key_id: &str) -> DomainResult<ApiKey> {
        self.resolve_user(actor, param).await?;
        let key = match self.ports.api_keys.get(&ApiKeyId(key_id.to_owned())).await {
            Ok(key) => key,
            Err(RepoError::NotFound) => return Err(DomainError::not_found()),
            Err(e) => return Err(e.into()),
        };
        actor.require_visible(Action::Read, &key_object(key.user_id))?;
        Ok(key)
    }

    /// `GET /users/{user}/keys/tokens/{keyname}`.
    pub async fn get_token_by_name(
        &self,
        actor: &Actor,
        param: &str,
        name: &str,
    ) -> DomainResult<ApiKey> {
        let user = self.resolve_user(actor, param).await?;
        actor.require_visible(Action::Read, &key_object(user.id))?;
        Ok(self.ports.api_keys.get_by_name(user.id, name).await?)
    }

    /// `DELETE /users/{user}/keys/{keyid}`.
    pub async fn delete_key(&self, actor: &Actor, param: &str, key_id: &str) -> DomainResult<()> {
        let key = self.get_key(actor, param, key_id).await?;
        actor.require_visible(Action::Delete, &key_object(key.user_id))?;
        let audit = actor.audit(
            self.now(),
            AuditAction::Delete,
            "api_key",
            &key.id,
            key.token_name.as_str(),
        );
        Ok(self.ports.api_keys.delete(&key.id, Some(audit)).await?)
    }
}

/// Go's `time.Duration.String()` for whole seconds, e.g. `168h0m0s`.
fn go_duration(d: Duration) -> String {
    let secs = d.whole_seconds();
    format!("{}h{}m{}s", secs / 3600, secs % 3600 / 60, secs % 60)
}

fn std_to_time(d: std::time::Duration) -> DomainResult<Duration> {
    Duration::try_from(d).map_err(|e| DomainError::Internal(e.to_string()))
}
