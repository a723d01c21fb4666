//! Rate limits on job creation: one budget per API key and one per client
//! address (GCRA from the `governor` crate).
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

/// Both budgets of job creation.
#[derive(Clone)]
pub struct CreateLimiter {
    by_key: Arc<DefaultKeyedRateLimiter<usize>>,
    by_addr: Arc<DefaultKeyedRateLimiter<IpAddr>>,
    clock: DefaultClock,
}

impl CreateLimiter {
    /// `per_minute` creations per key and per address (0 is treated as 1).
    pub fn new(per_minute: u32) -> Self {
        let quota =
            Quota::per_minute(NonZeroU32::new(per_minute.max(1)).unwrap_or(NonZeroU32::MIN));
        Self {
            by_key: Arc::new(RateLimiter::keyed(quota)),
            by_addr: Arc::new(RateLimiter::keyed(quota)),
            clock: DefaultClock::default(),
        }
    }

    /// `Ok` when both budgets allow one more creation, else how long to wait.
    pub fn check(&self, key_index: usize, addr: IpAddr) -> Result<(), Duration> {
        let now = self.clock.now();
        self.by_addr
            .check_key(&addr)
            .map_err(|not_until| not_until.wait_time_from(now))?;
        self.by_key
            .check_key(&key_index)
            .map_err(|not_until| not_until.wait_time_from(now))
    }

    /// Forgets idle entries so the maps do not grow without bound.
    pub fn shrink(&self) {
        self.by_key.retain_recent();
        self.by_addr.retain_recent();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_eleventh_creation_in_a_minute_waits() {
        let limiter = CreateLimiter::new(10);
        let addr: IpAddr = "127.0.0.1".parse().unwrap();
        for _ in 0..10 {
            assert!(limiter.check(0, addr).is_ok());
        }
        let wait = limiter.check(0, addr).unwrap_err();
        assert!(wait > Duration::from_secs(1) && wait <= Duration::from_secs(6));
        // Another address with the same key is still limited by the key budget.
        assert!(limiter.check(0, "10.0.0.1".parse().unwrap()).is_err());
    }
}
