//! Use cases. Each public method is one thing a client can ask for; it validates,
//! authorizes the actor through `warden-rbac`, and makes at most one writing port call.

pub mod api_keys;
pub mod audit;
pub mod auth;
pub mod git_ssh_keys;
pub mod groups;
pub mod idp_sync;
pub mod idp_sync_run;
pub mod members;
pub mod oidc;
pub mod organizations;
pub mod pagination;
pub mod replicas;
pub mod roles;
pub mod user_account;
pub mod users;

#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::time::Duration;

use crate::ports::{
    ApiKeyRepo, AuditRepo, Clock, GitSshKeyRepo, GroupRepo, MemberRepo, OrganizationRepo,
    PasswordHasher, ReplicaRepo, RoleRepo, SecretGenerator, SshKeyGenerator, UserRepo,
};

/// Tunables of the use cases, set by the binary from flags.
#[derive(Debug, Clone)]
pub struct DomainConfig {
    /// Lifetime of a session key issued by password login.
    pub session_lifetime: Duration,
    /// Lifetime of a named token when the request does not say.
    pub default_token_lifetime: Duration,
    /// The longest lifetime a named token may ask for.
    pub max_token_lifetime: Duration,
}

impl Default for DomainConfig {
    fn default() -> Self {
        const DAY: u64 = 24 * 60 * 60;
        Self {
            session_lifetime: Duration::from_secs(DAY),
            default_token_lifetime: Duration::from_secs(30 * DAY),
            max_token_lifetime: Duration::from_secs(365 * DAY),
        }
    }
}

/// The driven ports the use cases need.
#[derive(Clone)]
pub struct Ports {
    pub users: Arc<dyn UserRepo>,
    pub organizations: Arc<dyn OrganizationRepo>,
    pub api_keys: Arc<dyn ApiKeyRepo>,
    pub members: Arc<dyn MemberRepo>,
    pub roles: Arc<dyn RoleRepo>,
    pub groups: Arc<dyn GroupRepo>,
    pub audit: Arc<dyn AuditRepo>,
    pub replicas: Arc<dyn ReplicaRepo>,
    pub clock: Arc<dyn Clock>,
    pub secrets: Arc<dyn SecretGenerator>,
    pub passwords: Arc<dyn PasswordHasher>,
    pub git_ssh_keys: Arc<dyn GitSshKeyRepo>,
    pub idp_sync: Arc<dyn crate::ports::IdpSyncRepo>,
    pub user_links: Arc<dyn crate::ports::UserLinkRepo>,
    pub ssh_keys: Arc<dyn SshKeyGenerator>,
}

/// Every use case, sharing one set of ports. Cheap to clone.
#[derive(Clone)]
pub struct Services {
    ports: Ports,
    config: DomainConfig,
    sessions: std::sync::Arc<auth::SessionCache>,
    oidc: Option<Arc<oidc::Oidc>>,
}

impl Services {
    /// Wires the use cases to their ports.
    pub fn new(ports: Ports, config: DomainConfig) -> Self {
        Self {
            ports,
            config,
            sessions: std::sync::Arc::default(),
            oidc: None,
        }
    }

    /// The configuration in force.
    pub fn config(&self) -> &DomainConfig {
        &self.config
    }

    fn now(&self) -> time::OffsetDateTime {
        self.ports.clock.now()
    }
}
