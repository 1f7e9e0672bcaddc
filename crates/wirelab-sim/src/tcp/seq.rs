//! Sequence numbers (RFC 9293 §3.4).
//!
//! > "It is essential to remember that the actual sequence number space is
//! > finite, though very large. This space ranges from 0 to 2^32 - 1. Since
//! > the space is finite, all arithmetic dealing with sequence numbers must
//! > be performed modulo 2^32."
//!
//! Two numbers are compared by the sign of their 32-bit difference, which
//! is meaningful while they are less than 2^31 apart; windows are bounded
//! by 2^30 (RFC 7323 §2.3), so every comparison this module makes is.

use std::cmp::Ordering;
use std::fmt;
use std::ops::{Add, Sub};

#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct SeqNumber(pub u32);

impl SeqNumber {
    pub fn max(self, other: SeqNumber) -> SeqNumber {
        if self > other {
            self
        } else {
            other
        }
    }

    pub fn min(self, other: SeqNumber) -> SeqNumber {
        if self < other {
            self
        } else {
            other
        }
    }

    /// `self - earlier`, or 0 when `earlier` is not before `self`.
    pub fn saturating_since(self, earlier: SeqNumber) -> u32 {
        if self > earlier {
            self - earlier
        } else {
            0
        }
    }
}

impl fmt::Debug for SeqNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl Add<u32> for SeqNumber {
    type Output = SeqNumber;
    fn add(self, rhs: u32) -> SeqNumber {
        assert!(rhs <= i32::MAX as u32, "sequence step {rhs} exceeds 2^31");
        SeqNumber(self.0.wrapping_add(rhs))
    }
}

impl Sub<u32> for SeqNumber {
    type Output = SeqNumber;
    fn sub(self, rhs: u32) -> SeqNumber {
        assert!(rhs <= i32::MAX as u32, "sequence step {rhs} exceeds 2^31");
        SeqNumber(self.0.wrapping_sub(rhs))
    }
}

impl Sub for SeqNumber {
    type Output = u32;
    /// The distance from `rhs` up to `self`; `rhs` must not be after `self`.
    fn sub(self, rhs: SeqNumber) -> u32 {
        assert!(self >= rhs, "sequence {self:?} is before {rhs:?}");
        self.0.wrapping_sub(rhs.0)
    }
}

impl PartialOrd for SeqNumber {
    fn partial_cmp(&self, other: &SeqNumber) -> Option<Ordering> {
        Some((self.0.wrapping_sub(other.0) as i32).cmp(&0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compares_across_the_wrap() {
        let a = SeqNumber(u32::MAX - 10);
        let b = a + 20;
        assert_eq!(b.0, 9);
        assert!(a < b);
        assert_eq!(b - a, 20);
        assert_eq!(a.saturating_since(b), 0);
        assert_eq!(b.max(a), b);
        assert_eq!(b - 20u32, a);
    }
}
