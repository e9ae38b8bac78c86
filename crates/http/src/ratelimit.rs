//! Rate limits every replica shares: each attempt is counted in the database
//! ([`AttemptLog`]), so a deployment of several replicas admits what one would.
//!
//! A [`SharedLimit`] admits `max` attempts per key within a sliding window: once a key
//! has that many, it is refused until the oldest leaves the window. Dynamic client
//! registration counts every request per client address; the device verification
//! page counts a signed-in user's wrong codes (an attempt counts from the moment it
//! starts, so concurrent guesses cannot slip past the limit, and one that turns out
//! right is [forgiven](SharedLimit::forgive)).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use time::OffsetDateTime;
use warden_domain::RepoError;
use warden_domain::ports::{AttemptLog, Clock};

/// Refused keys remembered in each process before the expired ones are dropped.
const MAX_REMEMBERED: usize = 10_000;

/// A limit of `max` attempts per key within `window`, shared by every replica.
#[derive(Clone)]
pub struct SharedLimit {
    log: Arc<dyn AttemptLog>,
    clock: Arc<dyn Clock>,
    /// Names the limit in the log, so that limits never share a bucket.
    name: &'static str,
    max: u32,
    window: Duration,
    /// Keys the database refused, and until when: refused again here without asking
    /// it, so that a client hammering a limited endpoint costs no database work.
    refused: Arc<Mutex<HashMap<String, OffsetDateTime>>>,
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
            refused: Arc::default(),
        }
    }

    /// Counts an attempt for `key`, or says how long until `key` may try again (at
    /// least a second).
    pub async fn attempt(&self, key: &str) -> Result<Result<Attempt, Duration>, RepoError> {
        let now = self.clock.now();
        let wait = |until: OffsetDateTime| {
            Duration::try_from(until - now)
                .unwrap_or_default()
                .max(Duration::from_secs(1))
        };
        if let Some(until) = self.refused_until(key, now) {
            return Ok(Err(wait(until)));
        }
        let bucket = format!("{} {key}", self.name);
        let counted = self
            .log
            .attempt(&bucket, now, self.window, self.max)
            .await?;
        Ok(match counted {
            Ok(id) => Ok(Attempt(id)),
            Err(until) => {
                self.remember_refusal(key, until, now);
                Err(wait(until))
            }
        })
    }

    fn refusals(&self) -> std::sync::MutexGuard<'_, HashMap<String, OffsetDateTime>> {
        self.refused
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn refused_until(&self, key: &str, now: OffsetDateTime) -> Option<OffsetDateTime> {
        self.refusals()
            .get(key)
            .copied()
            .filter(|until| *until > now)
    }

    fn remember_refusal(&self, key: &str, until: OffsetDateTime, now: OffsetDateTime) {
        let mut refused = self.refusals();
        if refused.len() >= MAX_REMEMBERED {
            refused.retain(|_, u| *u > now);
            if refused.len() >= MAX_REMEMBERED {
                refused.clear();
            }
        }
        refused.insert(key.to_owned(), until);
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

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use time::macros::datetime;

    use super::*;

    /// A log that refuses everything until a fixed time, counting the calls.
    struct Refusing {
        until: OffsetDateTime,
        calls: AtomicUsize,
    }

    #[async_trait::async_trait]
    impl AttemptLog for Refusing {
        async fn attempt(
            &self,
            _bucket: &str,
            _now: OffsetDateTime,
            _window: Duration,
            _max: u32,
        ) -> warden_domain::ports::RepoResult<Result<uuid::Uuid, OffsetDateTime>> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            Ok(Err(self.until))
        }

        async fn forgive(&self, _id: uuid::Uuid) -> warden_domain::ports::RepoResult<()> {
            Ok(())
        }
    }

    struct At(Mutex<OffsetDateTime>);

    impl Clock for At {
        fn now(&self) -> OffsetDateTime {
            *self
                .0
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
        }
    }

    #[tokio::test]
    async fn a_refused_key_is_refused_locally_until_its_time() {
        let t0 = datetime!(2026-11-22 12:00:00 UTC);
        let log = Arc::new(Refusing {
            until: t0 + time::Duration::seconds(30),
            calls: AtomicUsize::new(0),
        });
        let clock = Arc::new(At(Mutex::new(t0)));
        let limit = SharedLimit::new(
            log.clone(),
            clock.clone(),
            "test",
            1,
            Duration::from_secs(60),
        );
        let refused =
            |r: Result<Result<Attempt, Duration>, RepoError>| r.ok().and_then(Result::err);

        assert_eq!(
            refused(limit.attempt("k").await),
            Some(Duration::from_secs(30))
        );
        *clock
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = t0 + time::Duration::seconds(20);
        assert_eq!(
            refused(limit.attempt("k").await),
            Some(Duration::from_secs(10))
        );
        assert_eq!(
            log.calls.load(Ordering::SeqCst),
            1,
            "the second refusal was local"
        );
        assert!(refused(limit.attempt("other").await).is_some());
        assert_eq!(log.calls.load(Ordering::SeqCst), 2, "keys are apart");

        *clock
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = t0 + time::Duration::seconds(30);
        assert!(refused(limit.attempt("k").await).is_some());
        assert_eq!(
            log.calls.load(Ordering::SeqCst),
            3,
            "asked again once the time came"
        );
    }
}
