//! Simulated time: an integer count of nanoseconds since the start of a run.

use std::fmt;
use std::ops::{Add, Sub};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SimTime(pub u64);

impl SimTime {
    pub const ZERO: SimTime = SimTime(0);
    pub const fn from_micros(us: u64) -> SimTime {
        SimTime(us * 1_000)
    }
    pub const fn from_millis(ms: u64) -> SimTime {
        SimTime(ms * 1_000_000)
    }
    pub const fn from_secs(s: u64) -> SimTime {
        SimTime(s * 1_000_000_000)
    }
    pub fn as_nanos(self) -> u64 {
        self.0
    }
}

impl Add for SimTime {
    type Output = SimTime;
    fn add(self, rhs: SimTime) -> SimTime {
        SimTime(
            self.0
                .checked_add(rhs.0)
                .expect("simulated time overflows u64 nanoseconds"),
        )
    }
}

impl Sub for SimTime {
    type Output = SimTime;
    fn sub(self, rhs: SimTime) -> SimTime {
        SimTime(self.0.saturating_sub(rhs.0))
    }
}

impl fmt::Display for SimTime {
    /// Seconds with microsecond precision, e.g. `1.000230s`. Exact: no
    /// floating point, so the same time always prints the same.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let us = self.0 / 1_000;
        write!(f, "{}.{:06}s", us / 1_000_000, us % 1_000_000)
    }
}

/// A duration in a human unit: `230us`, `1.5ms`, `2s`.
pub fn human_duration(ns: u64) -> String {
    if ns < 1_000 {
        format!("{ns}ns")
    } else if ns < 1_000_000 {
        trim(ns as f64 / 1e3, "us")
    } else if ns < 1_000_000_000 {
        trim(ns as f64 / 1e6, "ms")
    } else {
        trim(ns as f64 / 1e9, "s")
    }
}

fn trim(v: f64, unit: &str) -> String {
    let s = format!("{v:.3}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    format!("{s}{unit}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prints_exactly() {
        assert_eq!(SimTime(1_000_230_999).to_string(), "1.000230s");
        assert_eq!(SimTime::ZERO.to_string(), "0.000000s");
        assert_eq!(human_duration(230_000), "230us");
        assert_eq!(human_duration(1_500_000), "1.5ms");
        assert_eq!(human_duration(2_000_000_000), "2s");
    }
}
