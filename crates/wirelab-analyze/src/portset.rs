//! Sets of ports (0..=65535) as sorted, disjoint, non-adjacent closed
//! intervals: the smallest list of ranges that says the set.

use std::fmt;

/// A set of 16-bit ports. The intervals are sorted, disjoint and never
/// touch (`1-2` and `3-4` are kept as `1-4`), so equal sets are equal
/// values and the ranges printed are the minimal ones.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct PortSet {
    ranges: Vec<(u16, u16)>,
}

impl PortSet {
    pub fn empty() -> PortSet {
        PortSet::default()
    }

    pub fn full() -> PortSet {
        PortSet::range(0, u16::MAX)
    }

    /// `first..=last`; empty when `first > last`.
    pub fn range(first: u16, last: u16) -> PortSet {
        if first > last {
            PortSet::empty()
        } else {
            PortSet {
                ranges: vec![(first, last)],
            }
        }
    }

    pub fn single(port: u16) -> PortSet {
        PortSet::range(port, port)
    }

    /// Any ranges, in any order, overlapping or not.
    pub fn from_ranges(ranges: impl IntoIterator<Item = (u16, u16)>) -> PortSet {
        let mut v: Vec<(u16, u16)> = ranges.into_iter().filter(|(a, b)| a <= b).collect();
        v.sort_unstable();
        PortSet { ranges: merge(v) }
    }

    pub fn ranges(&self) -> &[(u16, u16)] {
        &self.ranges
    }

    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    pub fn is_full(&self) -> bool {
        self.ranges == [(0, u16::MAX)]
    }

    /// How many ports the set holds.
    pub fn len(&self) -> u32 {
        self.ranges
            .iter()
            .map(|&(a, b)| u32::from(b) - u32::from(a) + 1)
            .sum()
    }

    pub fn contains(&self, port: u16) -> bool {
        // The last range that starts at or before `port`.
        let i = self.ranges.partition_point(|&(a, _)| a <= port);
        i > 0 && self.ranges[i - 1].1 >= port
    }

    /// Whether every port of `other` is in `self`.
    pub fn is_superset(&self, other: &PortSet) -> bool {
        other.difference(self).is_empty()
    }

    pub fn union(&self, other: &PortSet) -> PortSet {
        let mut v: Vec<(u16, u16)> = Vec::with_capacity(self.ranges.len() + other.ranges.len());
        let (mut i, mut j) = (0, 0);
        while i < self.ranges.len() || j < other.ranges.len() {
            let take_self = j == other.ranges.len()
                || (i < self.ranges.len() && self.ranges[i] <= other.ranges[j]);
            if take_self {
                v.push(self.ranges[i]);
                i += 1;
            } else {
                v.push(other.ranges[j]);
                j += 1;
            }
        }
        PortSet { ranges: merge(v) }
    }

    pub fn intersect(&self, other: &PortSet) -> PortSet {
        let mut v = Vec::new();
        let (mut i, mut j) = (0, 0);
        while i < self.ranges.len() && j < other.ranges.len() {
            let (a1, b1) = self.ranges[i];
            let (a2, b2) = other.ranges[j];
            let lo = a1.max(a2);
            let hi = b1.min(b2);
            if lo <= hi {
                v.push((lo, hi));
            }
            if b1 < b2 {
                i += 1;
            } else {
                j += 1;
            }
        }
        PortSet { ranges: v }
    }

    pub fn complement(&self) -> PortSet {
        let mut v = Vec::with_capacity(self.ranges.len() + 1);
        let mut next: u32 = 0;
        for &(a, b) in &self.ranges {
            if u32::from(a) > next {
                v.push((next as u16, a - 1));
            }
            next = u32::from(b) + 1;
        }
        if next <= u32::from(u16::MAX) {
            v.push((next as u16, u16::MAX));
        }
        PortSet { ranges: v }
    }

    pub fn difference(&self, other: &PortSet) -> PortSet {
        self.intersect(&other.complement())
    }
}

/// Merges sorted ranges that overlap or touch.
fn merge(sorted: Vec<(u16, u16)>) -> Vec<(u16, u16)> {
    let mut out: Vec<(u16, u16)> = Vec::with_capacity(sorted.len());
    for (a, b) in sorted {
        match out.last_mut() {
            Some(last) if u32::from(a) <= u32::from(last.1) + 1 => last.1 = last.1.max(b),
            _ => out.push((a, b)),
        }
    }
    out
}

impl fmt::Display for PortSet {
    /// `22, 80, 1024-65535`; `none` for the empty set.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.ranges.is_empty() {
            return f.write_str("none");
        }
        for (i, &(a, b)) in self.ranges.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            if a == b {
                write!(f, "{a}")?;
            } else {
                write!(f, "{a}-{b}")?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_merge_when_they_touch_or_overlap() {
        let s = PortSet::from_ranges([(3, 4), (1, 2), (10, 20), (15, 30), (40, 39)]);
        assert_eq!(s.ranges(), &[(1, 4), (10, 30)]);
        assert_eq!(s.to_string(), "1-4, 10-30");
        assert_eq!(s.len(), 4 + 21);
    }

    #[test]
    fn complement_at_the_edges() {
        assert!(PortSet::empty().complement().is_full());
        assert!(PortSet::full().complement().is_empty());
        let s = PortSet::from_ranges([(0, 0), (65535, 65535)]);
        assert_eq!(s.complement().ranges(), &[(1, 65534)]);
    }

    #[test]
    fn contains_and_difference() {
        let s = PortSet::from_ranges([(22, 22), (80, 443)]);
        assert!(s.contains(22) && s.contains(80) && s.contains(443));
        assert!(!s.contains(21) && !s.contains(23) && !s.contains(444));
        let d = s.difference(&PortSet::range(100, 200));
        assert_eq!(d.to_string(), "22, 80-99, 201-443");
        assert_eq!(PortSet::empty().to_string(), "none");
    }
}
