//! Per-tenant ingestion rate limiting: a token bucket per tenant, Loki's `local` strategy
//! (the limit applies to this process alone).
//!
//! Semantics follow Go's `golang.org/x/time/rate` `AllowN`, which Loki uses: the bucket
//! starts full (`burst` tokens), refills at `rate` tokens per second up to `burst`, and a
//! request of `n` tokens either takes all of them or none (a refused request costs
//! nothing). A request larger than the burst is always refused.

use std::collections::HashMap;
use std::time::Instant;

use parking_lot::Mutex;

/// One tenant's token bucket.
#[derive(Debug)]
struct Bucket {
    tokens: f64,
    last: Instant,
}

/// Token buckets of all tenants sharing one rate and burst.
#[derive(Debug)]
pub struct RateLimiter {
    rate: f64,
    burst: f64,
    buckets: Mutex<HashMap<String, Bucket>>,
}

impl RateLimiter {
    /// A limiter of `rate` bytes/s with a burst of `burst` bytes per tenant.
    pub fn new(rate: f64, burst: f64) -> Self {
        Self {
            rate: rate.max(0.0),
            burst: burst.max(0.0),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// The limit in bytes per second (as Loki prints it).
    pub fn limit(&self) -> f64 {
        self.rate
    }

    /// Takes `n` tokens from `tenant`'s bucket at `now` if it holds them.
    pub fn allow_n(&self, tenant: &str, now: Instant, n: usize) -> bool {
        let n = n as f64;
        if n > self.burst {
            return false;
        }
        let mut buckets = self.buckets.lock();
        if !buckets.contains_key(tenant) {
            buckets.insert(
                tenant.to_string(),
                Bucket {
                    tokens: self.burst,
                    last: now,
                },
            );
        }
        let Some(bucket) = buckets.get_mut(tenant) else {
            return false;
        };
        let elapsed = now.saturating_duration_since(bucket.last).as_secs_f64();
        let tokens = (bucket.tokens + elapsed * self.rate).min(self.burst);
        if now > bucket.last {
            bucket.last = now;
        }
        if tokens >= n {
            bucket.tokens = tokens - n;
            true
        } else {
            bucket.tokens = tokens;
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn bucket_starts_full_refills_and_refuses_without_cost() {
        let l = RateLimiter::new(100.0, 200.0);
        let t0 = Instant::now();
        assert!(l.allow_n("a", t0, 150));
        assert!(!l.allow_n("a", t0, 51));
        assert!(l.allow_n("a", t0, 50));
        assert!(!l.allow_n("a", t0, 1));
        // other tenants have their own bucket
        assert!(l.allow_n("b", t0, 200));
        // half a second refills 50
        let t1 = t0 + Duration::from_millis(500);
        assert!(!l.allow_n("a", t1, 51));
        assert!(l.allow_n("a", t1, 50));
        // never above burst, and more than burst is always refused
        let t2 = t1 + Duration::from_secs(3600);
        assert!(!l.allow_n("a", t2, 201));
        assert!(l.allow_n("a", t2, 200));
    }
}
