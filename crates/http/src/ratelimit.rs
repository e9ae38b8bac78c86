//! Rate limits every replica shares: each attempt is counted in the database
//! ([`AttemptLog`]), so a deployment of several replicas admits what one would.
//!
//! A [`SharedLimit`] admits `max` attempts per key within a sliding window: once a key
//! has that many, it is refused until the oldest leaves the window. Dynamic client
//! registration counts every request per client address; the device verification
//! page counts a signed-in user's wrong codes (an attempt counts from the moment it
//! starts, so concurrent guesses cannot slip past the limit, and one that turns out
//! right is [forgiven](SharedLimit::forgive)).

use std::sync::Arc;
use std::time::Duration;

use warden_domain::RepoError;
use warden_domain::ports::{AttemptLog, Clock};

/// A limit of `max` attempts per key within `window`, shared by every replica.
#[derive(Clone)]
pub struct SharedLimit {
    log: Arc<dyn AttemptLog>,
    clock: Arc<dyn Clock>,
    /// Names the limit in the log, so that limits never share a bucket.
    name: &'static str,
    max: u32,
    window: Duration,
}

/// An attempt that was counted.
#[derive(Debug, Clone, Copy)]
pub struct Attempt(uuid::Uuid);

impl SharedLimit {
    /// A limit called `name` admitting `max` attempts per key within `window`; 0 admits
    /// none.
    pub fn new(
        log: Arc<dyn AttemptLog>,
        clock: Arc<dyn Clock>,
        name: &'static str,
        max: u32,
        window: Duration,
    ) -> Self {
        Self {
            log,
            clock,
            name,
            max,
            window,
        }
    }

    /// Counts an attempt for `key`, or says how long until `key` may try again (at
    /// least a second).
    pub async fn attempt(&self, key: &str) -> Result<Result<Attempt, Duration>, RepoError> {
        let now = self.clock.now();
        let bucket = format!("{} {key}", self.name);
        Ok(
            match self
                .log
                .attempt(&bucket, now, self.window, self.max)
                .await?
            {
                Ok(id) => Ok(Attempt(id)),
                Err(until) => {
                    let wait = Duration::try_from(until - now).unwrap_or_default();
                    Err(wait.max(Duration::from_secs(1)))
                }
            },
        )
    }

    /// The attempt turned out right: it does not count.
    pub async fn forgive(&self, attempt: Attempt) -> Result<(), RepoError> {
        self.log.forgive(attempt.0).await
    }
}

/// Whole seconds to send in `Retry-After` for `wait`, rounded up.
pub fn retry_after_seconds(wait: Duration) -> u64 {
    (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1)
}
