//! [`GitSshKeyRepo`] on diesel: one key pair per user.

use async_trait::async_trait;
use diesel::prelude::*;
use time::PrimitiveDateTime;
use warden_domain::RepoError;
use warden_domain::ids::UserId;
use warden_domain::model::{AuditEntry, GitSshKey};
use warden_domain::ports::{GitSshKeyRepo, RepoResult};

use crate::changes::Touched;
use crate::db::{AnyConnection, Database};
use crate::error::map_diesel;
use crate::repos::insert_audit;
use crate::rows::{from_db, parse_uuid, to_db};
use crate::schema::git_ssh_keys;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = git_ssh_keys)]
struct GitSshKeyRow {
    user_id: String,
    private_key: String,
    public_key: String,
    created_at: PrimitiveDateTime,
    updated_at: PrimitiveDateTime,
}

impl GitSshKeyRow {
    fn from_entity(k: &GitSshKey) -> Self {
        Self {
            user_id: k.user_id.to_string(),
            private_key: k.private_key.clone(),
            public_key: k.public_key.clone(),
            created_at: to_db(k.created_at),
            updated_at: to_db(k.updated_at),
        }
    }

    fn into_entity(self) -> Result<GitSshKey, RepoError> {
        Ok(GitSshKey {
            user_id: UserId(parse_uuid("user id", &self.user_id)?),
            private_key: self.private_key,
            public_key: self.public_key,
            created_at: from_db(self.created_at),
            updated_at: from_db(self.updated_at),
        })
    }
}

/// Git SSH keys on PostgreSQL or SQLite. They back no cached read, so their writes
/// retire nothing.
#[derive(Debug, Clone)]
pub struct DieselGitSshKeyRepo {
    db: Database,
}

impl DieselGitSshKeyRepo {
    pub fn new(db: Database) -> Self {
        Self { db }
    }
}

fn load(conn: &mut AnyConnection, user: &str) -> Result<GitSshKey, RepoError> {
    git_ssh_keys::table
        .find(user)
        .select(GitSshKeyRow::as_select())
        .first(conn)
        .map_err(map_diesel)?
        .into_entity()
}

#[async_trait]
impl GitSshKeyRepo for DieselGitSshKeyRepo {
    async fn get(&self, user: UserId) -> RepoResult<GitSshKey> {
        let user = user.to_string();
        self.db.run(move |conn| load(conn, &user)).await
    }

    async fn insert_if_absent(&self, key: GitSshKey) -> RepoResult<GitSshKey> {
        let row = GitSshKeyRow::from_entity(&key);
        let user = row.user_id.clone();
        let inserted = self
            .db
            .write_touching(Touched::Only(Vec::new()), move |conn| {
                match load(conn, &row.user_id) {
                    Err(RepoError::NotFound) => {}
                    found => return found,
                }
                diesel::insert_into(git_ssh_keys::table)
                    .values(&row)
                    .execute(conn)
                    .map_err(map_diesel)?;
                row.into_entity()
            })
            .await;
        match inserted {
            // A concurrent first read stored its key first: that one stands.
            Err(RepoError::Conflict(_)) => self.db.run(move |conn| load(conn, &user)).await,
            other => other,
        }
    }

    async fn replace(&self, key: GitSshKey, audit: AuditEntry) -> RepoResult<GitSshKey> {
        let row = GitSshKeyRow::from_entity(&key);
        self.db
            .write_touching(Touched::Only(Vec::new()), move |conn| {
                let updated = diesel::update(git_ssh_keys::table.find(&row.user_id))
                    .set((
                        git_ssh_keys::private_key.eq(&row.private_key),
                        git_ssh_keys::public_key.eq(&row.public_key),
                        git_ssh_keys::updated_at.eq(row.updated_at),
                    ))
                    .execute(conn)
                    .map_err(map_diesel)?;
                if updated == 0 {
                    diesel::insert_into(git_ssh_keys::table)
                        .values(&row)
                        .execute(conn)
                        .map_err(map_diesel)?;
                }
                insert_audit(conn, &audit)?;
                load(conn, &row.user_id)
            })
            .await
    }
}
