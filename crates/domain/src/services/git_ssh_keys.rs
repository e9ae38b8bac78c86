//! Users' Git SSH keys: the public half is shown to its owner (to add to a Git host);
//! the private half never leaves the server through this API.

use warden_rbac::Action;

use crate::actor::Actor;
use crate::error::{DomainError, DomainResult, RepoError};
use crate::model::{AuditAction, GitSshKey};
use crate::services::Services;
use crate::services::users::user_object;

impl Services {
    /// A user's Git SSH key, made on first use (Coder makes it with the user).
    /// Needs `read_personal` on the user.
    pub async fn git_ssh_key(&self, actor: &Actor, param: &str) -> DomainResult<GitSshKey> {
        let user = self.resolve_user(actor, param).await?;
        if !actor.can(Action::ReadPersonal, &user_object(user.id)) {
            return Err(DomainError::not_found());
        }
        match self.ports.git_ssh_keys.get(user.id).await {
            Err(RepoError::NotFound) => {}
            other => return Ok(other?),
        }
        let pair = self
            .ports
            .ssh_keys
            .generate()
            .map_err(DomainError::Internal)?;
        let now = self.now();
        Ok(self
            .ports
            .git_ssh_keys
            .insert_if_absent(GitSshKey {
                user_id: user.id,
                private_key: pair.private_key,
                public_key: pair.public_key,
                created_at: now,
                updated_at: now,
            })
            .await?)
    }

    /// Replaces a user's Git SSH key with a new pair (making the first one if there is
    /// none). Needs `update_personal` on the user.
    pub async fn regenerate_git_ssh_key(
        &self,
        actor: &Actor,
        param: &str,
    ) -> DomainResult<GitSshKey> {
        let user = self.resolve_user(actor, param).await?;
        if !actor.can(Action::UpdatePersonal, &user_object(user.id)) {
            return Err(DomainError::not_found());
        }
        let old = match self.ports.git_ssh_keys.get(user.id).await {
            Ok(old) => old.public_key,
            Err(RepoError::NotFound) => String::new(),
            Err(e) => return Err(e.into()),
        };
        let pair = self
            .ports
            .ssh_keys
            .generate()
            .map_err(DomainError::Internal)?;
        let now = self.now();
        let audit = actor
            .audit(
                now,
                AuditAction::Write,
                "git_ssh_key",
                user.id,
                user.username.as_str(),
            )
            .with_change("public_key", old, pair.public_key.as_str())
            .with_change("private_key", "", "");
        Ok(self
            .ports
            .git_ssh_keys
            .replace(
                GitSshKey {
                    user_id: user.id,
                    private_key: pair.private_key,
                    public_key: pair.public_key,
                    created_at: now,
                    updated_at: now,
                },
                audit,
            )
            .await?)
    }
}
