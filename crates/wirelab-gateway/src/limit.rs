//! Failed logins per client address: a token bucket of
//! [`FAILURES_MAX`] tokens that refills at that many a minute. Each
//! refused login takes one; an address with no token left is refused at
//! once, whatever it presents, until a token is back. This limiter is the
//! one place the gateway's decisions depend on the wall clock: pacing is
//! its purpose. Time is passed in, so the tests need no clock.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// Failures an address may have in a row, and per minute after that.
pub const FAILURES_MAX: u32 = 10;
/// The time one token takes to come back.
const REFILL: Duration = Duration::from_secs(60 / FAILURES_MAX as u64);
/// Most addresses remembered; past this, full buckets are forgotten (a
/// forgotten address starts full, which is what a full bucket is).
const ADDRS_MAX: usize = 10_000;

#[derive(Clone, Copy, Debug)]
struct Bucket {
    /// Tokens in units of 1/REFILL: fractional refills count.
    tokens: f64,
    updated: Instant,
}

impl Bucket {
    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.updated);
        self.tokens = (self.tokens + elapsed.as_secs_f64() / REFILL.as_secs_f64())
            .min(f64::from(FAILURES_MAX));
        self.updated = now;
    }
}

#[derive(Default)]
pub struct FailureLimiter {
    buckets: HashMap<IpAddr, Bucket>,
}

impl FailureLimiter {
    /// `Err(wait)` when `addr` has used up its failures: the time until it
    /// may try again.
    pub fn check(&mut self, addr: IpAddr, now: Instant) -> Result<(), Duration> {
        let Some(bucket) = self.buckets.get_mut(&addr) else {
            return Ok(());
        };
        bucket.refill(now);
        if bucket.tokens >= 1.0 {
            return Ok(());
        }
        Err(REFILL.mul_f64(1.0 - bucket.tokens))
    }

    /// Records one refused login from `addr`.
    pub fn fail(&mut self, addr: IpAddr, now: Instant) {
        if self.buckets.len() >= ADDRS_MAX && !self.buckets.contains_key(&addr) {
            self.forget_full(now);
        }
        let bucket = self.buckets.entry(addr).or_insert(Bucket {
            tokens: f64::from(FAILURES_MAX),
            updated: now,
        });
        bucket.refill(now);
        bucket.tokens = (bucket.tokens - 1.0).max(0.0);
    }

    fn forget_full(&mut self, now: Instant) {
        self.buckets.retain(|_, b| {
            b.refill(now);
            b.tokens < f64::from(FAILURES_MAX)
        });
        // Still full of recent failures: forget the oldest half rather
        // than grow without bound.
        if self.buckets.len() >= ADDRS_MAX {
            let mut times: Vec<Instant> = self.buckets.values().map(|b| b.updated).collect();
            times.sort_unstable();
            let cut = times[times.len() / 2];
            self.buckets.retain(|_, b| b.updated > cut);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ten_failures_then_one_every_six_seconds() {
        let mut limiter = FailureLimiter::default();
        let addr: IpAddr = "127.0.0.1".parse().unwrap();
        let other: IpAddr = "127.0.0.2".parse().unwrap();
        let t0 = Instant::now();
        for _ in 0..FAILURES_MAX {
            assert_eq!(limiter.check(addr, t0), Ok(()));
            limiter.fail(addr, t0);
        }
        let wait = limiter.check(addr, t0).unwrap_err();
        assert_eq!(wait, Duration::from_secs(6));
        assert_eq!(limiter.check(other, t0), Ok(()));
        let later = t0 + Duration::from_secs(3);
        assert_eq!(limiter.check(addr, later), Err(Duration::from_secs(3)));
        let later = t0 + Duration::from_secs(6);
        assert_eq!(limiter.check(addr, later), Ok(()));
        limiter.fail(addr, later);
        assert!(limiter.check(addr, later).is_err());
    }
}
