//! [`IdpSyncRepo`] on diesel: IdP sync settings documents, changed under a lock per
//! scope.

use async_trait::async_trait;
use diesel::prelude::*;
use time::OffsetDateTime;
use warden_domain::RepoError;
use warden_domain::idp_sync::SyncScope;
use warden_domain::ports::{IdpSyncRepo, RepoResult, SyncSettingsChange};

use crate::changes::Touched;
use crate::db::{AnyConnection, Database, text_lock_key};
use crate::error::map_diesel;
use crate::repos::insert_audit;
use crate::rows::to_db;
use crate::schema::idp_sync_settings;

/// IdP sync settings on PostgreSQL or SQLite.
#[derive(Debug, Clone)]
pub struct DieselIdpSyncRepo {
    db: Database,
}

impl DieselIdpSyncRepo {
    pub fn new(db: Database) -> Self {
        Self { db }
    }
}

/// The row key of a scope.
fn key(scope: SyncScope) -> String {
    match scope {
        SyncScope::Organizations => "organization".to_owned(),
        SyncScope::Groups(org) => format!("group:{org}"),
        SyncScope::Roles(org) => format!("role:{org}"),
    }
}

/// Serializes changes of one scope on PostgreSQL (SQLite has one writer anyway).
const LOCK_NAMESPACE: u8 = 60;

fn load(
    conn: &mut AnyConnection,
    key: &str,
) -> Result<Option<(serde_json::Value, i64)>, RepoError> {
    let row: Option<(String, i64)> = idp_sync_settings::table
        .find(key)
        .select((idp_sync_settings::settings, idp_sync_settings::revision))
        .first(conn)
        .optional()
        .map_err(map_diesel)?;
    row.map(|(settings, revision)| {
        serde_json::from_str(&settings)
            .map(|settings| (settings, revision))
            .map_err(|e| RepoError::Internal(format!("stored IdP sync settings: {e}")))
    })
    .transpose()
}

#[async_trait]
impl IdpSyncRepo for DieselIdpSyncRepo {
    async fn get(&self, scope: SyncScope) -> RepoResult<Option<serde_json::Value>> {
        let key = key(scope);
        self.db
            .run(move |conn| Ok(load(conn, &key)?.map(|(settings, _)| settings)))
            .await
    }

    async fn modify(
        &self,
        scope: SyncScope,
        now: OffsetDateTime,
        change: SyncSettingsChange,
    ) -> RepoResult<serde_json::Value> {
        let key = key(scope);
        let org = scope.organization().map(|o| o.to_string());
        let lock_key = text_lock_key(LOCK_NAMESPACE, &key);
        self.db
            .write_locked(Touched::Only(Vec::new()), lock_key, move |conn| {
                let current = load(conn, &key)?;
                let revision = current.as_ref().map(|(_, r)| *r);
                let (new, audit) = change(current.map(|(settings, _)| settings))?;
                let text = new.to_string();
                match revision {
                    None => diesel::insert_into(idp_sync_settings::table)
                        .values((
                            idp_sync_settings::scope.eq(&key),
                            idp_sync_settings::organization_id.eq(&org),
                            idp_sync_settings::settings.eq(&text),
                            idp_sync_settings::revision.eq(1_i64),
                            idp_sync_settings::updated_at.eq(to_db(now)),
                        ))
                        .execute(conn),
                    Some(revision) => diesel::update(idp_sync_settings::table.find(&key))
                        .set((
                            idp_sync_settings::settings.eq(&text),
                            idp_sync_settings::revision.eq(revision + 1),
                            idp_sync_settings::updated_at.eq(to_db(now)),
                        ))
                        .execute(conn),
                }
                .map_err(map_diesel)?;
                insert_audit(conn, &audit)?;
                Ok(new)
            })
            .await
    }
}
