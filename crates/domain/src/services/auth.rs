//! Authentication: password login, logout, and turning a presented token into an [`Actor`].

use time::Duration;

use crate::actor::Actor;
use crate::error::{DomainError, DomainResult, RepoError};
use crate::model::{AuditAction, AuditEntry, LoginType, UserStatus};
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use crate::ids::ApiKeyId;
use crate::ports::{ChangeTag, Session};
use crate::services::Services;
use crate::token::{secret_matches, split_token};
use crate::values::Password;

/// How stale `last_used` may get before a request records use again (Coder's hour):
/// authentication is a pure read on all but one request an hour per key.
pub const LAST_USED_GRANULARITY: Duration = Duration::hours(1);

/// The scope every session key and default token carries.
pub const SCOPE_ALL: &str = "coder:all";
/// The allow-list entry that permits everything.
pub const ALLOW_ALL: &str = "*:*";

/// Coder's message for every authentication failure of a presented token.
pub const SIGNED_OUT: &str =
    "You are signed out or your session has expired. Please sign in again to continue.";

/// The 401 for a request that carries no token at all.
pub fn missing_token() -> DomainError {
    DomainError::unauthorized(
        SIGNED_OUT,
        "Cookie \"coder_session_token\" or query parameter must be provided.",
    )
}

impl Services {
    /// Authenticates a presented session token. Every failure is a 401 with Coder's
    /// wording. A dormant user becomes active again; `last_used` and the sliding expiry
    /// are written at most once an hour per key.
    pub async fn authenticate(&self, token: &str) -> DomainResult<Actor> {
        let signed_out = |detail: String| DomainError::unauthorized(SIGNED_OUT, detail);
        let (id, secret) = split_token(token).map_err(signed_out)?;
        let cached = self
            .sessions
            .get(&id)
            .filter(|(generation, tags, _)| self.ports.api_keys.unchanged_since(*generation, tags));
        let mut actor = match cached {
            Some((_, _, actor)) => actor,
            None => {
                // Read the generation before loading: a write that commits meanwhile
                // counts as later, so what is loaded now is not reused after it.
                let generation = self.ports.api_keys.generation();
                let session = match self.ports.api_keys.session(&id).await {
                    Ok(session) => session,
                    Err(RepoError::NotFound) => {
                        return Err(signed_out("API key is invalid.".into()));
                    }
                    Err(e) => return Err(e.into()),
                };
                let tags = session_tags(&session);
                let actor = Actor::from_session(session);
                self.sessions
                    .put(id.clone(), generation, tags, actor.clone());
                actor
            }
        };
        // Every check below runs on every request, cached or not.
        if !secret_matches(secret, &actor.key.hashed_secret) {
            return Err(signed_out("API key secret is invalid.".into()));
        }
        let now = self.now();
        if actor.key.expires_at < now {
            return Err(signed_out(format!(
                "API key expired at {:?}.",
                go_time(actor.key.expires_at)
            )));
        }
        if actor.user.status == UserStatus::Dormant {
            let audit = AuditEntry::new(
                now,
                None,
                AuditAction::Write,
                "user",
                actor.user.id,
                actor.user.username.as_str(),
            )
            .with_change("status", "dormant", "active");
            let user = self
                .ports
                .users
                .set_status(actor.user.id, UserStatus::Active, now, audit)
                .await?;
            actor.user = Arc::new(user);
        }
        if actor.user.status != UserStatus::Active {
            return Err(DomainError::unauthorized(
                format!(
                    "User is not active (status = {:?}). Contact an admin to reactivate your account.",
                    actor.user.status.as_str()
                ),
                "",
            ));
        }
        let lifetime = Duration::seconds(actor.key.lifetime_seconds);
        let stale = now - actor.key.last_used > LAST_USED_GRANULARITY;
        let slide = actor.key.expires_at - now <= lifetime - LAST_USED_GRANULARITY;
        if stale || slide {
            let key = Arc::make_mut(&mut actor.key);
            if slide {
                key.expires_at = now + lifetime;
            }
            key.last_used = now;
            self.ports
                .api_keys
                .touch(&key.id, actor.user.id, now, key.expires_at)
                .await?;
        }
        Ok(actor)
    }

    /// Password login: returns a new session token. Unknown email and wrong password
    /// are indistinguishable, in message and (by hashing anyway) in timing.
    pub async fn login_with_password(&self, email: &str, password: &str) -> DomainResult<String> {
        let outcome = self.password_sign_in(email, password).await;
        crate::metrics::record_sign_in("password", &outcome);
        outcome
    }

    async fn password_sign_in(&self, email: &str, password: &str) -> DomainResult<String> {
        let bad_credentials = || DomainError::unauthorized("Incorrect email or password.", "");
        let password = Password::for_login(password);
        let credentials = match self.ports.users.credentials_by_email(email).await {
            Ok(c) => c,
            Err(RepoError::NotFound) => {
                // Spend the same effort as a real check so timing does not reveal accounts.
                let _ = self.ports.passwords.hash(password.expose()).await;
                return Err(bad_credentials());
            }
            Err(e) => return Err(e.into()),
        };
        let user = credentials.user;
        let Some(phc) = credentials.hashed_password else {
            let _ = self.ports.passwords.hash(password.expose()).await;
            return Err(bad_credentials());
        };
        let valid = self
            .ports
            .passwords
            .verify(password.expose(), &phc)
            .await
            .map_err(DomainError::Internal)?;
        if !valid {
            return Err(bad_credentials());
        }
        if user.login_type != LoginType::Password {
            return Err(DomainError::forbidden_msg(format!(
                "Incorrect login type, attempting to use \"password\" but user is of login type \"{}\"",
                user.login_type
            )));
        }
        let now = self.now();
        let user = if user.status == UserStatus::Dormant {
            let audit = own_account_write(now, &user).with_change("status", "dormant", "active");
            self.ports
                .users
                .set_status(user.id, UserStatus::Active, now, audit)
                .await?
        } else {
            user
        };
        if user.status != UserStatus::Active {
            return Err(DomainError::unauthorized(
                format!(
                    "Your account is {}. Contact an admin to reactivate your account.",
                    user.status
                ),
                "",
            ));
        }
        let (key, token) = self.session_key(user.id, LoginType::Password, now)?;
        let audit = sign_in_record(now, user.id, user.username.as_str(), &key);
        self.ports.api_keys.create(key, Some(audit)).await?;
        Ok(token)
    }

    /// Logs out: deletes the key the actor authenticated with.
    pub async fn logout(&self, actor: &Actor) -> DomainResult<()> {
        let audit = actor.audit(
            self.now(),
            AuditAction::Logout,
            "api_key",
            &actor.key.id,
            actor.user.username.as_str(),
        );
        self.ports
            .api_keys
            .delete(&actor.key.id, Some(audit))
            .await?;
        Ok(())
    }
}

/// What a compiled session depends on: the user (row, roles, memberships, groups,
/// keys) and the custom role definitions of every organization it belongs to.
fn session_tags(session: &Session) -> Arc<[ChangeTag]> {
    std::iter::once(ChangeTag::User(session.user.id))
        .chain(
            session
                .memberships
                .iter()
                .map(|m| ChangeTag::OrganizationRoles(m.organization_id)),
        )
        .collect()
}

/// Go's `time.Time.String()` rendering of a UTC instant, which Coder puts in messages.
fn go_time(t: time::OffsetDateTime) -> String {
    let format = time::macros::format_description!(
        "[year]-[month]-[day] [hour]:[minute]:[second].[subsecond digits:6] +0000 UTC"
    );
    t.format(&format).unwrap_or_else(|_| t.to_string())
}

/// Compiled actors by key id, each with the generation it was loaded under and the
/// tags it depends on (see [`ApiKeyRepo::unchanged_since`](crate::ports::ApiKeyRepo)).
/// Saves the session queries and the subject compilation until a write touches what
/// the session was built from; secret, expiry and status are still checked each time.
#[derive(Debug, Default)]
pub(crate) struct SessionCache {
    entries: RwLock<HashMap<ApiKeyId, CachedSession>>,
}

type CachedSession = (u64, Arc<[ChangeTag]>, Actor);

/// Entries kept at most; past that the cache starts over.
const SESSION_CACHE_LIMIT: usize = 10_000;

impl SessionCache {
    fn get(&self, id: &ApiKeyId) -> Option<CachedSession> {
        self.entries.read().ok()?.get(id).cloned()
    }

    fn put(&self, id: ApiKeyId, generation: u64, tags: Arc<[ChangeTag]>, actor: Actor) {
        if let Ok(mut entries) = self.entries.write() {
            if entries.len() >= SESSION_CACHE_LIMIT {
                entries.clear();
            }
            entries.insert(id, (generation, tags, actor));
        }
    }
}

/// A change a user's own sign-in makes to their account (reactivation, a profile the
/// identity provider changed), made by that user.
pub(crate) fn own_account_write(
    now: time::OffsetDateTime,
    user: &crate::model::User,
) -> AuditEntry {
    AuditEntry::new(
        now,
        Some(user.id),
        AuditAction::Write,
        "user",
        user.id,
        user.username.as_str(),
    )
}

/// The record of a sign-in: the session key made for the user, by the user.
pub(crate) fn sign_in_record(
    now: time::OffsetDateTime,
    user: crate::ids::UserId,
    username: &str,
    key: &crate::model::ApiKey,
) -> AuditEntry {
    AuditEntry::new(
        now,
        Some(user),
        AuditAction::Login,
        "api_key",
        &key.id,
        username,
    )
}
