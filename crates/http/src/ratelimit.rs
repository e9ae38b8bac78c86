//! An in-process token bucket per client IP address, for endpoints open to anyone
//! (dynamic client registration). Each replica limits on its own.

use std::collections::HashMap;
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

#[cfg(test)]
mod tests {
    use super::*;

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
