//! Warden's storage: the only crate that knows diesel.
//!
//! One query codebase serves PostgreSQL (production, scale-out) and SQLite (the
//! embedded default) through a `MultiConnection`. The backend is picked from the URL
//! scheme. Both migration sets are embedded and kept in step (same names). Every
//! repository method runs on the blocking pool, and every change is one transaction
//! that includes its audit record. Row types and diesel errors never leave this crate.

mod announcements;
mod cache;
mod changes;
mod db;
mod error;
mod group_commit;
mod kept;
pub mod rbac_sql;
mod repos;
mod rows;
mod schema;
pub mod testing;

use std::sync::Arc;

pub use changes::Touched;
pub use db::{Backend, Database, DatabaseUrl, PoolConfig, PoolUse};
pub use repos::api_keys::DieselApiKeyRepo;
pub use repos::attempts::DieselAttemptLog;
pub use repos::audit::DieselAuditRepo;
pub use repos::git_ssh_keys::DieselGitSshKeyRepo;
pub use repos::groups::DieselGroupRepo;
pub use repos::idp_sync::DieselIdpSyncRepo;
pub use repos::members::DieselMemberRepo;
pub use repos::oauth2::DieselOAuth2Repo;
pub use repos::organizations::DieselOrganizationRepo;
pub use repos::replicas::DieselReplicaRepo;
pub use repos::roles::DieselRoleRepo;
pub use repos::scim::DieselScimRepo;
pub use repos::user_links::DieselUserLinkRepo;
pub use repos::users::DieselUserRepo;
use warden_domain::ports::{
    ApiKeyRepo, AttemptLog, AuditRepo, GitSshKeyRepo, GroupRepo, MemberRepo, OrganizationRepo,
    ReplicaRepo, RoleRepo, UserRepo,
};

/// Every repository adapter over one database.
#[derive(Clone)]
pub struct Repositories {
    pub users: Arc<dyn UserRepo>,
    pub organizations: Arc<dyn OrganizationRepo>,
    pub api_keys: Arc<dyn ApiKeyRepo>,
    pub members: Arc<dyn MemberRepo>,
    pub roles: Arc<dyn RoleRepo>,
    pub groups: Arc<dyn GroupRepo>,
    pub audit: Arc<dyn AuditRepo>,
    pub replicas: Arc<dyn ReplicaRepo>,
    pub git_ssh_keys: Arc<dyn GitSshKeyRepo>,
    pub idp_sync: Arc<dyn warden_domain::ports::IdpSyncRepo>,
    pub attempts: Arc<dyn AttemptLog>,
    pub scim: Arc<dyn warden_domain::scim::ScimRepo>,
    pub oauth2: Arc<dyn warden_domain::ports::OAuth2Repo>,
    pub user_links: Arc<dyn warden_domain::ports::UserLinkRepo>,
}

impl Repositories {
    /// The diesel adapters, sharing `db`.
    pub fn new(db: &Database) -> Self {
        Self {
            users: Arc::new(DieselUserRepo::new(db.clone())),
            organizations: Arc::new(DieselOrganizationRepo::new(db.clone())),
            api_keys: Arc::new(DieselApiKeyRepo::new(db.clone())),
            members: Arc::new(DieselMemberRepo::new(db.clone())),
            roles: Arc::new(DieselRoleRepo::new(db.clone())),
            groups: Arc::new(DieselGroupRepo::new(db.clone())),
            audit: Arc::new(DieselAuditRepo::new(db.clone())),
            replicas: Arc::new(DieselReplicaRepo::new(db.clone())),
            git_ssh_keys: Arc::new(DieselGitSshKeyRepo::new(db.clone())),
            idp_sync: Arc::new(DieselIdpSyncRepo::new(db.clone())),
            attempts: Arc::new(DieselAttemptLog::new(db.clone())),
            scim: Arc::new(DieselScimRepo::new(db.clone())),
            oauth2: Arc::new(DieselOAuth2Repo::new(db.clone())),
            user_links: Arc::new(DieselUserLinkRepo::new(db.clone())),
        }
    }
}
