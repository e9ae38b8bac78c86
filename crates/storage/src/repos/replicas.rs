//! [`ReplicaRepo`] on diesel: the registry of running server processes.

use async_trait::async_trait;
use diesel::prelude::*;
use time::{OffsetDateTime, PrimitiveDateTime};
use warden_domain::RepoError;
use warden_domain::ids::ReplicaId;
use warden_domain::model::Replica;
use warden_domain::ports::{ReplicaRepo, RepoResult};

use crate::changes::Touched;
use crate::db::Database;
use crate::error::map_diesel;
use crate::rows::{from_db, parse_uuid, to_db};
use crate::schema::replicas;

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = replicas)]
struct ReplicaRow {
    id: String,
    hostname: String,
    region_id: i32,
    relay_address: String,
    error: String,
    database_latency: i64,
    created_at: PrimitiveDateTime,
    updated_at: PrimitiveDateTime,
}

impl ReplicaRow {
    fn from_entity(r: &Replica) -> Self {
        Self {
            id: r.id.to_string(),
            hostname: r.hostname.clone(),
            region_id: r.region_id,
            relay_address: r.relay_address.clone(),
            error: r.error.clone(),
            database_latency: r.database_latency,
            created_at: to_db(r.created_at),
            updated_at: to_db(r.updated_at),
        }
    }

    fn into_entity(self) -> Result<Replica, RepoError> {
        Ok(Replica {
            id: parse_uuid("replica id", &self.id)?,
            hostname: self.hostname,
            region_id: self.region_id,
            relay_address: self.relay_address,
            error: self.error,
            database_latency: self.database_latency,
            created_at: from_db(self.created_at),
            updated_at: from_db(self.updated_at),
        })
    }
}

/// The replica registry on PostgreSQL or SQLite.
#[derive(Debug, Clone)]
pub struct DieselReplicaRepo {
    db: Database,
}

impl DieselReplicaRepo {
    pub fn new(db: Database) -> Self {
        Self { db }
    }
}

/// Replica rows back no cached read: writing them retires nothing and announces
/// nothing.
fn touches_no_cache() -> Touched {
    Touched::Only(Vec::new())
}

#[async_trait]
impl ReplicaRepo for DieselReplicaRepo {
    async fn heartbeat(&self, replica: Replica) -> RepoResult<()> {
        let row = ReplicaRow::from_entity(&replica);
        self.db
            .write_touching(touches_no_cache(), move |conn| {
                let updated = diesel::update(replicas::table.find(&row.id))
                    .set(&row)
                    .execute(conn)
                    .map_err(map_diesel)?;
                if updated == 0 {
                    diesel::insert_into(replicas::table)
                        .values(&row)
                        .execute(conn)
                        .map_err(map_diesel)?;
                }
                Ok(())
            })
            .await
    }

    async fn alive(&self, since: OffsetDateTime) -> RepoResult<Vec<Replica>> {
        let since = to_db(since);
        self.db
            .run(move |conn| {
                replicas::table
                    .filter(replicas::updated_at.ge(since))
                    .order((replicas::created_at, replicas::id))
                    .select(ReplicaRow::as_select())
                    .load(conn)
                    .map_err(map_diesel)?
                    .into_iter()
                    .map(ReplicaRow::into_entity)
                    .collect()
            })
            .await
    }

    async fn remove(&self, id: ReplicaId) -> RepoResult<()> {
        let id = id.to_string();
        self.db
            .write_touching(touches_no_cache(), move |conn| {
                diesel::delete(replicas::table.find(id))
                    .execute(conn)
                    .map_err(map_diesel)?;
                Ok(())
            })
            .await
    }

    async fn remove_stale(&self, before: OffsetDateTime) -> RepoResult<u64> {
        let before = to_db(before);
        self.db
            .write_touching(touches_no_cache(), move |conn| {
                let removed =
                    diesel::delete(replicas::table.filter(replicas::updated_at.lt(before)))
                        .execute(conn)
                        .map_err(map_diesel)?;
                Ok(removed as u64)
            })
            .await
    }

    async fn ping(&self) -> RepoResult<std::time::Duration> {
        self.db
            .run(|conn| {
                let started = std::time::Instant::now();
                diesel::select(diesel::dsl::sql::<diesel::sql_types::Integer>("1"))
                    .execute(conn)
                    .map_err(map_diesel)?;
                Ok(started.elapsed())
            })
            .await
    }
}
