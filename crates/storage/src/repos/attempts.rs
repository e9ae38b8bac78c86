//! [`AttemptLog`] on diesel: rate limits shared by every replica.

use async_trait::async_trait;
use diesel::prelude::*;
use time::{OffsetDateTime, PrimitiveDateTime};
use warden_domain::ports::{AttemptLog, RepoResult};

use crate::changes::Touched;
use crate::db::{Database, text_lock_key};
use crate::error::map_diesel;
use crate::rows::{from_db, to_db};
use crate::schema::rate_limit_attempts;

/// Advisory-lock namespace of the attempt buckets.
const LOCK_NAMESPACE: u8 = 50;

/// The attempt log on PostgreSQL or SQLite.
#[derive(Debug, Clone)]
pub struct DieselAttemptLog {
    db: Database,
}

impl DieselAttemptLog {
    pub fn new(db: Database) -> Self {
        Self { db }
    }
}

#[async_trait]
impl AttemptLog for DieselAttemptLog {
    async fn attempt(
        &self,
        bucket: &str,
        now: OffsetDateTime,
        window: std::time::Duration,
        max: u32,
    ) -> RepoResult<Result<uuid::Uuid, OffsetDateTime>> {
        let bucket = bucket.to_owned();
        let key = text_lock_key(LOCK_NAMESPACE, &bucket);
        let since = to_db(now - window);
        let at = to_db(now);
        // Attempts back no cached read: nothing to retire or announce.
        self.db
            .write_locked(Touched::Only(Vec::new()), key, move |conn| {
                let in_bucket = rate_limit_attempts::bucket.eq(&bucket);
                diesel::delete(
                    rate_limit_attempts::table
                        .filter(in_bucket)
                        .filter(rate_limit_attempts::at.le(since)),
                )
                .execute(conn)
                .map_err(map_diesel)?;
                let counted: Vec<PrimitiveDateTime> = rate_limit_attempts::table
                    .filter(in_bucket)
                    .select(rate_limit_attempts::at)
                    .order(rate_limit_attempts::at)
                    .limit(i64::from(max))
                    .load(conn)
                    .map_err(map_diesel)?;
                if counted.len() >= max as usize {
                    let oldest = counted.first().copied().map_or(now, from_db);
                    return Ok(Err(oldest + window));
                }
                let id = uuid::Uuid::new_v4();
                diesel::insert_into(rate_limit_attempts::table)
                    .values((
                        rate_limit_attempts::id.eq(id.to_string()),
                        rate_limit_attempts::bucket.eq(&bucket),
                        rate_limit_attempts::at.eq(at),
                    ))
                    .execute(conn)
                    .map_err(map_diesel)?;
                Ok(Ok(id))
            })
            .await
    }

    async fn forgive(&self, id: uuid::Uuid) -> RepoResult<()> {
        self.db
            .write_touching(Touched::Only(Vec::new()), move |conn| {
                diesel::delete(rate_limit_attempts::table.find(id.to_string()))
                    .execute(conn)
                    .map_err(map_diesel)?;
                Ok(())
            })
            .await
    }
}
