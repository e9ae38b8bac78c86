//! Coder's `/oauth2-provider/apps` API: applications and their client secrets.
//! These are management use cases: they fail with domain errors (Coder's shape).

use warden_domain::error::{DomainError, DomainResult, FieldError};
use warden_domain::ids::{OAuth2AppId, OAuth2SecretId, UserId};
use warden_domain::model::AuditAction;
use warden_domain::oauth2::{ClientType, OAuth2App, OAuth2AppSecret};
use warden_domain::{Actor, RepoError};
use warden_rbac::{Action, Object, ResourceType};

use crate::OAuth2Provider;
use crate::redirect::validate_registered;
use crate::secret::GeneratedSecret;

/// The editable fields of an application (`POST` and `PUT` bodies).
#[derive(Debug, Clone, Default)]
pub struct AppFields {
    pub name: String,
    pub callback_url: String,
    pub icon: String,
    /// `none` creates a public client (no secrets, PKCE only); absent,
    /// `client_secret_basic` or `client_secret_post` a confidential one. Only read on
    /// creation.
    pub token_endpoint_auth_method: Option<String>,
}

/// A new client secret: the plaintext is returned exactly once.
#[derive(Clone)]
pub struct NewSecret {
    pub id: OAuth2SecretId,
    pub full: String,
}

impl std::fmt::Debug for NewSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewSecret")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

fn app_object() -> Object {
    Object::new(ResourceType::OAuth2App)
}

fn secret_object() -> Object {
    Object::new(ResourceType::OAuth2AppSecret)
}

/// Validates the fields, naming each invalid one.
fn validate(fields: &AppFields) -> DomainResult<()> {
    let mut invalid = Vec::new();
    let name = fields.name.as_str();
    if name.is_empty() {
        invalid.push(FieldError::new(
            "name",
            "Validation failed for tag \"required\" with value: \"\"",
        ));
    } else if name.chars().count() > 64 || name.trim() != name || name.chars().any(char::is_control)
    {
        invalid.push(FieldError::new(
            "name",
            "must be 1 to 64 characters with no leading or trailing spaces",
        ));
    }
    if fields.callback_url.is_empty() {
        invalid.push(FieldError::new(
            "callback_url",
            "Validation failed for tag \"required\" with value: \"\"",
        ));
    } else if fields.callback_url.len() > 2048 {
        invalid.push(FieldError::new(
            "callback_url",
            "must be at most 2048 bytes",
        ));
    } else if let Err(e) = validate_registered(&fields.callback_url) {
        invalid.push(FieldError::new("callback_url", e));
    }
    if fields.icon.len() > 2048 {
        invalid.push(FieldError::new("icon", "must be at most 2048 bytes"));
    }
    if let Some(method) = fields.token_endpoint_auth_method.as_deref()
        && !crate::registration::REGISTRABLE_AUTH_METHODS.contains(&method)
    {
        invalid.push(FieldError::new(
            "token_endpoint_auth_method",
            "must be one of client_secret_basic, client_secret_post, none",
        ));
    }
    if invalid.is_empty() {
        Ok(())
    } else {
        Err(DomainError::validation(invalid))
    }
}

fn name_taken(name: &str) -> DomainError {
    DomainError::Conflict {
        message: format!("An OAuth2 app named {name:?} already exists."),
        detail: String::new(),
        validations: vec![FieldError::new(
            "name",
            "This value is already in use and should be unique.",
        )],
    }
}

/// Parses an `{app}` path parameter; anything that is not a UUID names no app.
pub fn parse_app_id(raw: &str) -> DomainResult<OAuth2AppId> {
    raw.parse().map_err(|_| {
        DomainError::invalid_field(
            "Invalid OAuth2 app ID.",
            "app",
            format!("{raw:?} must be a valid UUID"),
        )
    })
}

impl OAuth2Provider {
    /// `GET /oauth2-provider/apps`: every application, or with `user_id` those the user
    /// has authorized.
    pub async fn list_apps(
        &self,
        actor: &Actor,
        user_id: Option<&str>,
    ) -> DomainResult<Vec<OAuth2App>> {
        actor.require(Action::Read, &app_object())?;
        let user = match user_id.filter(|s| !s.is_empty()) {
            None => None,
            Some(raw) => Some(raw.parse::<UserId>().map_err(|_| {
                DomainError::invalid_field(
                    "Query parameters have invalid values.",
                    "user_id",
                    format!("{raw:?} must be a valid UUID"),
                )
            })?),
        };
        if let Some(user) = user {
            // Which applications someone else authorized is theirs to see.
            actor.require(
                Action::Read,
                &Object::new(ResourceType::OAuth2AppCodeToken).owned_by(user.as_uuid()),
            )?;
        }
        Ok(self.ports.repo.list_apps(user).await?)
    }

    /// `POST /oauth2-provider/apps`.
    pub async fn create_app(&self, actor: &Actor, fields: AppFields) -> DomainResult<OAuth2App> {
        actor.require(Action::Create, &app_object())?;
        validate(&fields)?;
        let now = self.now();
        let app = OAuth2App {
            id: OAuth2AppId::new_random(),
            name: fields.name,
            redirect_uris: vec![fields.callback_url.clone()],
            callback_url: fields.callback_url,
            icon: fields.icon,
            client_type: if fields.token_endpoint_auth_method.as_deref() == Some("none") {
                ClientType::Public
            } else {
                ClientType::Confidential
            },
            grant_types: warden_domain::oauth2::ALL_GRANTS
                .iter()
                .map(|g| (*g).to_owned())
                .collect(),
            // Coder's apps may ask for any scope.
            allowed_scopes: None,
            created_at: now,
            updated_at: now,
        };
        let audit = actor.audit(
            now,
            AuditAction::Create,
            "oauth2_provider_app",
            app.id,
            app.name.clone(),
        );
        match self.ports.repo.create_app(app.clone(), audit).await {
            Ok(app) => Ok(app),
            Err(RepoError::Conflict(_)) => Err(name_taken(&app.name)),
            Err(e) => Err(e.into()),
        }
    }

    /// `GET /oauth2-provider/apps/{app}`.
    pub async fn get_app(&self, actor: &Actor, raw_id: &str) -> DomainResult<OAuth2App> {
        let id = parse_app_id(raw_id)?;
        actor.require_visible(Action::Read, &app_object())?;
        match self.ports.repo.get_app(id).await {
            Ok(app) => Ok(app),
            Err(RepoError::NotFound) => Err(DomainError::not_found()),
            Err(e) => Err(e.into()),
        }
    }

    /// `PUT /oauth2-provider/apps/{app}`: name, callback URL and icon.
    pub async fn update_app(
        &self,
        actor: &Actor,
        raw_id: &str,
        fields: AppFields,
    ) -> DomainResult<OAuth2App> {
        let mut app = self.get_app(actor, raw_id).await?;
        actor.require(Action::Update, &app_object())?;
        validate(&fields)?;
        let now = self.now();
        let audit = actor
            .audit(
                now,
                AuditAction::Write,
                "oauth2_provider_app",
                app.id,
                fields.name.clone(),
            )
            .with_change("name", app.name.clone(), fields.name.clone())
            .with_change(
                "callback_url",
                app.callback_url.clone(),
                fields.callback_url.clone(),
            );
        app.name = fields.name;
        // The callback URL is the first redirect URI; a registered client's others stay.
        match app.redirect_uris.first_mut() {
            Some(first) => first.clone_from(&fields.callback_url),
            None => app.redirect_uris.push(fields.callback_url.clone()),
        }
        app.callback_url = fields.callback_url;
        app.icon = fields.icon;
        app.updated_at = now;
        match self.ports.repo.update_app(app.clone(), audit).await {
            Ok(app) => Ok(app),
            Err(RepoError::Conflict(_)) => Err(name_taken(&app.name)),
            Err(RepoError::NotFound) => Err(DomainError::not_found()),
            Err(e) => Err(e.into()),
        }
    }

    /// `DELETE /oauth2-provider/apps/{app}`: also revokes every token it issued.
    pub async fn delete_app(&self, actor: &Actor, raw_id: &str) -> DomainResult<()> {
        let app = self.get_app(actor, raw_id).await?;
        actor.require(Action::Delete, &app_object())?;
        let audit = actor.audit(
            self.now(),
            AuditAction::Delete,
            "oauth2_provider_app",
            app.id,
            app.name,
        );
        match self.ports.repo.delete_app(app.id, audit).await {
            Err(RepoError::NotFound) => Err(DomainError::not_found()),
            other => Ok(other?),
        }
    }

    /// `GET /oauth2-provider/apps/{app}/secrets`.
    pub async fn list_secrets(
        &self,
        actor: &Actor,
        raw_id: &str,
    ) -> DomainResult<Vec<OAuth2AppSecret>> {
        let app = self.get_app(actor, raw_id).await?;
        actor.require_visible(Action::Read, &secret_object())?;
        Ok(self.ports.repo.list_secrets(app.id).await?)
    }

    /// `POST /oauth2-provider/apps/{app}/secrets`: the plaintext is shown only here.
    pub async fn create_secret(&self, actor: &Actor, raw_id: &str) -> DomainResult<NewSecret> {
        let app = self.get_app(actor, raw_id).await?;
        actor.require(Action::Create, &secret_object())?;
        if app.client_type == ClientType::Public {
            return Err(DomainError::bad_request(
                "Public OAuth2 clients cannot have client secrets.",
                "",
            ));
        }
        let now = self.now();
        let generated = GeneratedSecret::generate(self.ports.secrets.as_ref());
        let secret = OAuth2AppSecret {
            id: OAuth2SecretId::new_random(),
            app_id: app.id,
            prefix: generated.prefix.clone(),
            hashed_secret: generated.hashed.clone(),
            display_secret: generated.display(),
            created_at: now,
            last_used_at: None,
        };
        let audit = actor.audit(
            now,
            AuditAction::Create,
            "oauth2_provider_app_secret",
            secret.id,
            app.name,
        );
        let stored = self.ports.repo.create_secret(secret, audit).await?;
        Ok(NewSecret {
            id: stored.id,
            full: generated.full,
        })
    }

    /// `DELETE /oauth2-provider/apps/{app}/secrets/{secretID}`: also revokes the tokens
    /// obtained with that secret.
    pub async fn delete_secret(
        &self,
        actor: &Actor,
        raw_app: &str,
        raw_secret: &str,
    ) -> DomainResult<()> {
        let app = self.get_app(actor, raw_app).await?;
        let secret: OAuth2SecretId = raw_secret.parse().map_err(|_| {
            DomainError::invalid_field(
                "Invalid OAuth2 app secret ID.",
                "secretID",
                format!("{raw_secret:?} must be a valid UUID"),
            )
        })?;
        actor.require(Action::Delete, &secret_object())?;
        let audit = actor.audit(
            self.now(),
            AuditAction::Delete,
            "oauth2_provider_app_secret",
            secret,
            app.name,
        );
        match self.ports.repo.delete_secret(app.id, secret, audit).await {
            Err(RepoError::NotFound) => Err(DomainError::not_found()),
            other => Ok(other?),
        }
    }

    /// `DELETE /oauth2/tokens?client_id=`: the caller revokes an application's access
    /// to their account (codes, refresh tokens and access tokens).
    pub async fn revoke_app_for_user(&self, actor: &Actor, raw_client: &str) -> DomainResult<()> {
        let id: OAuth2AppId = raw_client.parse().map_err(|_| {
            DomainError::invalid_field(
                "Invalid OAuth2 client ID.",
                "client_id",
                format!("{raw_client:?} must be a valid UUID"),
            )
        })?;
        let user = actor.user.id;
        actor.require(
            Action::Delete,
            &Object::new(ResourceType::OAuth2AppCodeToken).owned_by(user.as_uuid()),
        )?;
        let app = match self.ports.repo.get_app(id).await {
            Ok(app) => app,
            Err(RepoError::NotFound) => return Err(DomainError::not_found()),
            Err(e) => return Err(e.into()),
        };
        let audit = actor.audit(
            self.now(),
            AuditAction::Delete,
            "oauth2_provider_app_code_token",
            app.id,
            app.name,
        );
        Ok(self
            .ports
            .repo
            .revoke_app_for_user(app.id, user, audit)
            .await?)
    }
}
