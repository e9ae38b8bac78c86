//! A user's account: profile, password, site roles, login type and deletion.
//!
//! Each use case resolves `{user}` first (a 400 when it names nobody the caller can
//! read), then checks in Coder's order, so a client sees the complaint Coder gives.

use std::collections::BTreeMap;

use warden_rbac::{Action, Object, ResourceType, RoleIdentifier, roles};

use crate::actor::Actor;
use crate::error::{DomainError, DomainResult, FieldError, RepoError};
use crate::ids::OrganizationId;
use crate::model::{AuditAction, LoginType, User};
use crate::services::Services;
use crate::services::users::user_object;
use crate::values::{Password, Username, real_name_valid, tag_failed};

/// `PUT /users/{user}/profile`.
#[derive(Debug, Clone, Default)]
pub struct UpdateProfile {
    pub username: String,
    pub name: String,
}

/// `PUT /users/{user}/password`.
#[derive(Debug, Clone, Default)]
pub struct UpdatePassword {
    /// Required when changing one's own password.
    pub old_password: String,
    pub password: String,
}

/// A user's site roles and, per organization, the roles of their memberships.
#[derive(Debug, Clone)]
pub struct UserRoles {
    pub site: Vec<String>,
    pub organizations: BTreeMap<OrganizationId, Vec<String>>,
}

impl Services {
    /// Deletes a user. Nobody deletes themselves; the rest needs `delete` on the user.
    pub async fn delete_user(&self, actor: &Actor, param: &str) -> DomainResult<()> {
        let user = self.resolve_user(actor, param).await?;
        if user.id == actor.user.id {
            return Err(DomainError::forbidden_msg("You cannot delete yourself!"));
        }
        if !actor.can(Action::Delete, &user_object(user.id)) {
            return Err(DomainError::forbidden());
        }
        let now = self.now();
        let audit = actor.audit(
            now,
            AuditAction::Delete,
            "user",
            user.id,
            user.username.as_str(),
        );
        Ok(self.ports.users.delete(user.id, now, audit).await?)
    }

    /// Changes a user's username and name. Renaming someone else needs `update` on
    /// them; everyone may edit their own profile.
    pub async fn update_profile(
        &self,
        actor: &Actor,
        param: &str,
        req: UpdateProfile,
    ) -> DomainResult<User> {
        let user = self.resolve_user(actor, param).await?;
        let mut validations = Vec::new();
        let username = match Username::parse(&req.username) {
            Ok(username) => Some(username),
            Err(DomainError::Invalid {
                validations: found, ..
            }) => {
                validations.extend(found);
                None
            }
            Err(other) => return Err(other),
        };
        if real_name_valid(&req.name).is_err() {
            validations.push(FieldError::new(
                "name",
                tag_failed("user_real_name", &req.name),
            ));
        }
        let Some(username) = username.filter(|_| validations.is_empty()) else {
            return Err(DomainError::validation(validations));
        };
        let object = user_object(user.id);
        let renames = username.as_str() != user.username.as_str();
        if !actor.can(Action::UpdatePersonal, &object)
            || (renames && !actor.can(Action::Update, &object))
        {
            return Err(DomainError::not_found());
        }
        let name = req.name.trim().to_owned();
        let now = self.now();
        let mut audit = actor.audit(now, AuditAction::Write, "user", user.id, username.as_str());
        if renames {
            audit = audit.with_change("username", user.username.as_str(), username.as_str());
        }
        if name != user.name {
            audit = audit.with_change("name", user.name.as_str(), name.as_str());
        }
        match self
            .ports
            .users
            .update_profile(user.id, username, name, now, audit)
            .await
        {
            Err(RepoError::Conflict(_)) => Err(DomainError::Conflict {
                message: "A user with this username already exists.".into(),
                detail: String::new(),
                validations: vec![FieldError::new(
                    "username",
                    "This username is already in use.",
                )],
            }),
            other => Ok(other?),
        }
    }

    /// Sets a password user's password and ends their other sessions and tokens. A
    /// user changing their own password proves the old one and keeps the session
    /// they are using; an administrator resets it without the old one.
    pub async fn update_password(
        &self,
        actor: &Actor,
        param: &str,
        req: UpdatePassword,
    ) -> DomainResult<()> {
        let user = self.resolve_user(actor, param).await?;
        if !actor.can(Action::UpdatePersonal, &user_object(user.id)) {
            return Err(DomainError::not_found());
        }
        if user.login_type != LoginType::Password {
            return Err(DomainError::bad_request(
                "Users without password login type cannot change their password.",
                "",
            ));
        }
        let own = user.id == actor.user.id;
        if own && req.old_password.is_empty() {
            return Err(DomainError::bad_request("Old password is required.", ""));
        }
        let password = match Password::parse_new(&req.password) {
            Ok(password) => password,
            Err(DomainError::Invalid { validations, .. }) => {
                return Err(DomainError::Invalid {
                    message: "Invalid password.".into(),
                    detail: String::new(),
                    validations,
                });
            }
            Err(other) => return Err(other),
        };
        let current = self
            .ports
            .users
            .credentials_by_email(user.email.as_str())
            .await?
            .hashed_password;
        let current = current.as_deref();
        if !req.old_password.is_empty()
            && !self.password_matches(current, &req.old_password).await?
        {
            return Err(DomainError::Invalid {
                message: "Old password is incorrect.".into(),
                detail: String::new(),
                validations: vec![FieldError::new(
                    "old_password",
                    "Old password is incorrect.",
                )],
            });
        }
        if self.password_matches(current, password.expose()).await? {
            return Err(DomainError::bad_request(
                "New password cannot match old password.",
                "",
            ));
        }
        let hashed = self.hash_password(&password).await?;
        let now = self.now();
        let audit = actor
            .audit(
                now,
                AuditAction::Write,
                "user",
                user.id,
                user.username.as_str(),
            )
            .with_change("hashed_password", "", "");
        let keep = own.then(|| actor.key.id.clone());
        Ok(self
            .ports
            .users
            .set_password(user.id, hashed, keep, now, audit)
            .await?)
    }

    /// Whether `candidate` is the password hashed as `hash` (none: no password).
    async fn password_matches(&self, hash: Option<&str>, candidate: &str) -> DomainResult<bool> {
        match hash {
            Some(hash) => self
                .ports
                .passwords
                .verify(candidate, hash)
                .await
                .map_err(DomainError::Internal),
            None => Ok(false),
        }
    }

    /// A user's roles; needs `read_personal` on the user.
    pub async fn user_roles(&self, actor: &Actor, param: &str) -> DomainResult<UserRoles> {
        let user = self.resolve_user(actor, param).await?;
        if !actor.can(Action::ReadPersonal, &user_object(user.id)) {
            return Err(DomainError::not_found());
        }
        let organizations = self
            .ports
            .organizations
            .memberships_of(user.id)
            .await?
            .into_iter()
            .map(|m| (m.organization_id, m.roles))
            .collect();
        Ok(UserRoles {
            site: user.site_roles,
            organizations,
        })
    }

    /// Replaces a user's site roles. Nobody changes their own; every role added or
    /// removed must be one the caller may assign, so nobody grants more than they hold.
    pub async fn set_user_roles(
        &self,
        actor: &Actor,
        param: &str,
        requested: Vec<String>,
    ) -> DomainResult<User> {
        let user = self.resolve_user(actor, param).await?;
        if user.id == actor.user.id {
            return Err(DomainError::bad_request(
                "You cannot change your own roles.",
                "",
            ));
        }
        let mut wanted: Vec<String> = Vec::with_capacity(requested.len());
        for name in requested {
            if name.contains(':')
                || !roles::is_builtin_site_role(&name)
                || roles::RETIRED_ROLE_NAMES.contains(&name.as_str())
            {
                return Err(DomainError::bad_request(
                    format!("{name:?} is not a supported role"),
                    "",
                ));
            }
            if name != roles::MEMBER && !wanted.contains(&name) {
                wanted.push(name);
            }
        }
        actor.require_role_change(
            &Object::new(ResourceType::AssignRole),
            &user.site_roles,
            &wanted,
            |role| RoleIdentifier::site(role),
        )?;
        let now = self.now();
        let audit = actor
            .audit(
                now,
                AuditAction::Write,
                "user",
                user.id,
                user.username.as_str(),
            )
            .with_change("rbac_roles", user.site_roles.join(","), wanted.join(","));
        Ok(self
            .ports
            .users
            .set_site_roles(user.id, wanted, now, audit)
            .await?)
    }

    /// A user's login type; only for oneself, as in Coder.
    pub async fn login_type(&self, actor: &Actor, param: &str) -> DomainResult<LoginType> {
        let user = self.resolve_user(actor, param).await?;
        if user.id != actor.user.id {
            return Err(DomainError::forbidden_msg(
                "You are not authorized to view this user's login type.",
            ));
        }
        Ok(user.login_type)
    }
}
