//! The receiver's out-of-order queue and the SACK blocks it reports
//! (RFC 9293 §3.10.7.4 "seventh, process the segment text", RFC 2018 §4).
//!
//! Payloads are byte counts, so the queue holds only which sequence ranges
//! above RCV.NXT have arrived: a sorted list of disjoint ranges, bounded by
//! [`RANGES_MAX`]. A segment that would need one range more is not queued
//! (the sender will retransmit it), as a real receiver short of memory
//! would do. The bound is far above what a 4 MiB window needs (Linux and
//! ns-3 bound the queue by the receive buffer only): with 32, a slow-start
//! overshoot of hundreds of losses made the receiver throw away most of
//! what followed the 32nd hole, and the sender retransmit it all.

use super::seq::SeqNumber;

/// The most out-of-order ranges one connection keeps.
pub const RANGES_MAX: usize = 4096;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Range {
    start: SeqNumber,
    end: SeqNumber,
    /// When this range last grew, for RFC 2018's block order.
    stamp: u32,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Assembler {
    ranges: Vec<Range>,
    stamp: u32,
}

impl Assembler {
    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    pub fn len(&self) -> usize {
        self.ranges.len()
    }

    /// Record that `[start, end)` arrived. Returns false when the range
    /// could not be kept (no room for another range).
    pub fn add(&mut self, start: SeqNumber, end: SeqNumber) -> bool {
        assert!(start < end, "empty range {start:?}..{end:?}");
        self.stamp = self.stamp.wrapping_add(1);
        // Ranges touching or overlapping [start, end) merge into one.
        let first = self.ranges.partition_point(|r| r.end < start);
        let Some(first) = (first < self.ranges.len()).then_some(first) else {
            return self.insert(self.ranges.len(), start, end);
        };
        if self.ranges[first].start > end {
            return self.insert(first, start, end);
        }
        let mut last = first;
        while last + 1 < self.ranges.len() && self.ranges[last + 1].start <= end {
            last += 1;
        }
        let merged = Range {
            start: start.min(self.ranges[first].start),
            end: end.max(self.ranges[last].end),
            stamp: self.stamp,
        };
        self.ranges.drain(first + 1..=last);
        self.ranges[first] = merged;
        true
    }

    fn insert(&mut self, at: usize, start: SeqNumber, end: SeqNumber) -> bool {
        if self.ranges.len() >= RANGES_MAX {
            return false;
        }
        let stamp = self.stamp;
        self.ranges.insert(at, Range { start, end, stamp });
        true
    }

    /// Remove what `rcv_nxt` has reached and return how far the in-order
    /// data now extends (`rcv_nxt` itself when the first gap remains).
    pub fn advance(&mut self, rcv_nxt: SeqNumber) -> SeqNumber {
        let mut edge = rcv_nxt;
        let mut gone = 0;
        for r in &self.ranges {
            if r.start > edge {
                break;
            }
            edge = edge.max(r.end);
            gone += 1;
        }
        self.ranges.drain(..gone);
        if self.ranges.is_empty() && self.ranges.capacity() > 64 {
            self.ranges = Vec::new();
        }
        edge
    }

    /// Up to `max` SACK blocks, the most recently grown first.
    ///
    /// RFC 2018 §4: "The first SACK block (i.e., the one immediately
    /// following the kind and length fields in the option) MUST specify
    /// the contiguous block of data containing the segment which triggered
    /// this ACK ... The SACK option SHOULD be filled out by repeating the
    /// most recently reported SACK blocks".
    pub fn sack_blocks(&self, max: usize) -> ([(u32, u32); 3], u8) {
        // The (up to) three latest stamps, newest first, in one pass.
        let mut top: [Option<&Range>; 3] = [None; 3];
        for r in &self.ranges {
            let newer = |t: &Option<&Range>| t.is_none_or(|t| r.stamp > t.stamp);
            if newer(&top[0]) {
                top = [Some(r), top[0], top[1]];
            } else if newer(&top[1]) {
                top = [top[0], Some(r), top[1]];
            } else if newer(&top[2]) {
                top[2] = Some(r);
            }
        }
        let mut blocks = [(0, 0); 3];
        let n = self.ranges.len().min(max).min(3);
        for (slot, r) in blocks.iter_mut().zip(top.iter().flatten().take(n)) {
            *slot = (r.start.0, r.end.0);
        }
        (blocks, n as u8)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(n: u32) -> SeqNumber {
        SeqNumber(n)
    }

    #[test]
    fn merges_and_advances() {
        let mut a = Assembler::default();
        assert!(a.add(s(20), s(30)));
        assert!(a.add(s(40), s(50)));
        assert_eq!(a.len(), 2);
        assert!(a.add(s(30), s(40)));
        assert_eq!(a.len(), 1);
        assert_eq!(a.advance(s(10)), s(10));
        assert_eq!(a.advance(s(20)), s(50));
        assert!(a.is_empty());
    }

    #[test]
    fn blocks_are_most_recent_first() {
        let mut a = Assembler::default();
        a.add(s(20), s(30));
        a.add(s(40), s(50));
        a.add(s(60), s(70));
        a.add(s(80), s(90));
        a.add(s(50), s(55));
        let (blocks, n) = a.sack_blocks(3);
        assert_eq!(n, 3);
        assert_eq!(blocks, [(40, 55), (80, 90), (60, 70)]);
    }

    #[test]
    fn bounded() {
        let mut a = Assembler::default();
        for i in 0..RANGES_MAX as u32 {
            assert!(a.add(s(100 * i + 10), s(100 * i + 20)));
        }
        assert!(!a.add(s(1_000_000), s(1_000_010)));
        // Merging needs no new range, so it still works.
        assert!(a.add(s(20), s(30)));
    }
}
