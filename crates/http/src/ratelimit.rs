//! In-process rate limits. Each replica limits on its own.
//!
//! [`RateLimiter`] is a token bucket per client IP address, for endpoints open to
//! anyone (dynamic client registration). [`FailureLimiter`] counts wrong answers per
//! key (a signed-in user guessing device user codes) over a sliding window.

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Buckets kept before idle (full) ones are dropped.
const MAX_TRACKED: usize = 10_000;

/// `per_minute` requests per address per minute, in bursts of up to `per_minute`.
#[derive(Debug)]
pub struct RateLimiter {
    per_minute: u32,
    buckets: Mutex<HashMap<IpAddr, Bucket>>,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl RateLimiter {
    /// A limiter admitting `per_minute` requests a minute per address; 0 admits none.
    pub fn new(per_minute: u32) -> Self {
        Self {
            per_minute,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    fn refill(&self, bucket: &mut Bucket, now: Instant) {
        let capacity = f64::from(self.per_minute);
        let rate = capacity / 60.0;
        let elapsed = now.saturating_duration_since(bucket.at).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * rate).min(capacity);
        bucket.at = now;
    }

    /// Takes a token for `ip`, or says how long until one is available.
    pub fn check(&self, ip: IpAddr) -> Result<(), Duration> {
        self.check_at(ip, Instant::now())
    }

    fn check_at(&self, ip: IpAddr, now: Instant) -> Result<(), Duration> {
        let capacity = f64::from(self.per_minute);
        if self.per_minute == 0 {
            return Err(Duration::from_secs(60));
        }
        let mut buckets = self
            .buckets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if buckets.len() >= MAX_TRACKED && !buckets.contains_key(&ip) {
            let rate = capacity / 60.0;
            buckets.retain(|_, b| {
                b.tokens + now.saturating_duration_since(b.at).as_secs_f64() * rate < capacity
            });
        }
        let bucket = buckets.entry(ip).or_insert(Bucket {
            tokens: capacity,
            at: now,
        });
        self.refill(bucket, now);
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            let missing = 1.0 - bucket.tokens;
            Err(Duration::from_secs_f64(missing * 60.0 / capacity))
        }
    }
}

/// At most `max` failures per key within `window`: once a key has that many, every
/// further attempt is refused until the oldest of them leaves the window.
///
/// An attempt counts as a failure from the moment it starts, so concurrent attempts
/// cannot slip past the limit; one that turns out right is [forgiven](Self::forgive).
#[derive(Debug)]
pub struct FailureLimiter<K> {
    max: u32,
    window: Duration,
    failures: Mutex<HashMap<K, VecDeque<Instant>>>,
}

impl<K: Eq + Hash + Clone> FailureLimiter<K> {
    /// A limiter allowing `max` failures per key within `window`; 0 admits nothing.
    pub fn new(max: u32, window: Duration) -> Self {
        Self {
            max,
            window,
            failures: Mutex::new(HashMap::new()),
        }
    }

    /// Starts an attempt for `key`, counted as a failure until forgiven, or says how
    /// long until the key may try again.
    pub fn attempt(&self, key: &K) -> Result<(), Duration> {
        self.attempt_at(key, Instant::now())
    }

    /// The attempt `key` started last was right: it does not count.
    pub fn forgive(&self, key: &K) {
        let mut failures = self.lock();
        if let Some(times) = failures.get_mut(key) {
            times.pop_back();
            if times.is_empty() {
                failures.remove(key);
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<K, VecDeque<Instant>>> {
        self.failures
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn attempt_at(&self, key: &K, now: Instant) -> Result<(), Duration> {
        if self.max == 0 {
            return Err(self.window);
        }
        let window = self.window;
        let live = |at: &Instant| now.saturating_duration_since(*at) < window;
        let mut failures = self.lock();
        if failures.len() >= MAX_TRACKED && !failures.contains_key(key) {
            failures.retain(|_, times| times.back().is_some_and(live));
        }
        let times = failures.entry(key.clone()).or_default();
        while times.front().is_some_and(|at| !live(at)) {
            times.pop_front();
        }
        if times.len() >= self.max as usize {
            let oldest = times.front().copied().unwrap_or(now);
            return Err((oldest + window).saturating_duration_since(now));
        }
        times.push_back(now);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_lock_out_until_the_window_passes() {
        let limiter = FailureLimiter::new(3, Duration::from_secs(60));
        let t0 = Instant::now();
        let s = Duration::from_secs;
        for i in 0..3 {
            assert!(limiter.attempt_at(&"a", t0 + s(i)).is_ok());
        }
        // Refused, with the time until the first failure leaves the window.
        assert_eq!(limiter.attempt_at(&"a", t0 + s(10)), Err(s(50)));
        assert!(
            limiter.attempt_at(&"b", t0 + s(10)).is_ok(),
            "keys are apart"
        );
        // Refused attempts do not extend the lock-out.
        assert_eq!(limiter.attempt_at(&"a", t0 + s(59)), Err(s(1)));
        assert!(limiter.attempt_at(&"a", t0 + s(60)).is_ok());
        assert!(limiter.attempt_at(&"a", t0 + s(60)).is_err());
        assert!(limiter.attempt_at(&"a", t0 + s(62)).is_ok());
        assert!(FailureLimiter::new(0, s(60)).attempt_at(&"a", t0).is_err());
    }

    #[test]
    fn forgiven_attempts_do_not_count() {
        let limiter = FailureLimiter::new(2, Duration::from_secs(60));
        let t0 = Instant::now();
        for _ in 0..5 {
            assert!(limiter.attempt_at(&1, t0).is_ok());
            limiter.forgive(&1);
        }
        assert!(limiter.attempt_at(&1, t0).is_ok());
        assert!(limiter.attempt_at(&1, t0).is_ok());
        assert!(limiter.attempt_at(&1, t0).is_err());
        limiter.forgive(&2);
        assert!(
            limiter.attempt_at(&2, t0).is_ok(),
            "forgiving nothing is harmless"
        );
    }

    #[test]
    fn bursts_then_refills_per_address() {
        let limiter = RateLimiter::new(2);
        let (a, b): (IpAddr, IpAddr) = (IpAddr::from([127, 0, 0, 1]), IpAddr::from([127, 0, 0, 2]));
        let t0 = Instant::now();
        assert!(limiter.check_at(a, t0).is_ok());
        assert!(limiter.check_at(a, t0).is_ok());
        let wait = limiter.check_at(a, t0).err();
        assert!(wait.is_some_and(|w| w > Duration::from_secs(25) && w <= Duration::from_secs(30)));
        assert!(
            limiter.check_at(b, t0).is_ok(),
            "addresses have their own buckets"
        );
        assert!(limiter.check_at(a, t0 + Duration::from_secs(31)).is_ok());
        assert!(RateLimiter::new(0).check_at(a, t0).is_err());
    }
}
