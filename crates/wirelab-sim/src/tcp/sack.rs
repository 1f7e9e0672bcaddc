//! The sender's SACK scoreboard (RFC 2018 §3, RFC 6675 §3–4).
//!
//! Holds which ranges above SND.UNA the receiver has selectively
//! acknowledged, sorted and disjoint, at most [`RANGES_MAX`] of them (a
//! range that does not fit is forgotten: the receiver repeats its blocks,
//! and at worst data is retransmitted that did arrive). From it follow
//! RFC 6675's `IsLost`, `SetPipe` and `NextSeg`.

use super::seq::SeqNumber;

/// Enough for every other segment of a 4 MiB window to be missing; the
/// list only grows as far as a recovery needs, and a full scoreboard
/// drops the newest (highest) ranges, which overstates pipe and can stall
/// a recovery into a timeout (it did with 32 after a slow-start
/// overshoot of hundreds of segments).
pub const RANGES_MAX: usize = 4096;

/// RFC 6675 §2: "DupThresh: The number of duplicate acknowledgments
/// required to trigger a fast retransmission ... set to 3".
pub const DUP_THRESH: u32 = 3;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Scoreboard {
    ranges: Vec<(SeqNumber, SeqNumber)>,
}

impl Scoreboard {
    pub fn clear(&mut self) {
        self.ranges.clear();
        self.shrink();
    }

    /// Give back a large list once it is empty.
    fn shrink(&mut self) {
        if self.ranges.is_empty() && self.ranges.capacity() > 64 {
            self.ranges = Vec::new();
        }
    }

    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    /// Add the blocks of one ACK, clipped to `[snd_una, snd_max)`. Returns
    /// true when they SACK something not SACKed before (RFC 6675 §2's
    /// "duplicate acknowledgment" with SACK).
    pub fn update(
        &mut self,
        blocks: &[(u32, u32)],
        snd_una: SeqNumber,
        snd_max: SeqNumber,
    ) -> bool {
        let before = self.sacked_bytes();
        for &(left, right) in blocks {
            let (left, right) = (SeqNumber(left), SeqNumber(right));
            // Blocks outside what was sent are invalid, and blocks below
            // SND.UNA are D-SACKs (RFC 2883), which this sender ignores.
            if left >= right || right > snd_max || left > snd_max {
                continue;
            }
            let left = left.max(snd_una);
            if left < right {
                self.add(left, right);
            }
        }
        self.sacked_bytes() > before
    }

    fn add(&mut self, start: SeqNumber, end: SeqNumber) {
        let first = self.ranges.partition_point(|r| r.1 < start);
        let Some(first) = (first < self.ranges.len()).then_some(first) else {
            if self.ranges.len() < RANGES_MAX {
                self.ranges.push((start, end));
            }
            return;
        };
        if self.ranges[first].0 > end {
            if self.ranges.len() < RANGES_MAX {
                self.ranges.insert(first, (start, end));
            }
            return;
        }
        let mut last = first;
        while last + 1 < self.ranges.len() && self.ranges[last + 1].0 <= end {
            last += 1;
        }
        let merged = (
            start.min(self.ranges[first].0),
            end.max(self.ranges[last].1),
        );
        self.ranges.drain(first + 1..=last);
        self.ranges[first] = merged;
    }

    /// Forget what the cumulative ACK now covers.
    pub fn advance(&mut self, snd_una: SeqNumber) {
        let gone = self.ranges.partition_point(|r| r.1 <= snd_una);
        self.ranges.drain(..gone);
        if let Some(first) = self.ranges.first_mut() {
            first.0 = first.0.max(snd_una);
        }
        self.shrink();
    }

    /// The index of the first range that ends after `seq`.
    fn first_ending_after(&self, seq: SeqNumber) -> usize {
        self.ranges.partition_point(|r| r.1 <= seq)
    }

    /// One past the highest SACKed byte.
    pub fn sacked_end(&self) -> Option<SeqNumber> {
        self.ranges.last().map(|r| r.1)
    }

    pub fn sacked_bytes(&self) -> u64 {
        self.ranges.iter().map(|r| u64::from(r.1 - r.0)).sum()
    }

    /// Unsacked bytes in `[from, to)`.
    pub fn unsacked_bytes(&self, from: SeqNumber, to: SeqNumber) -> u64 {
        if from >= to {
            return 0;
        }
        let mut bytes = u64::from(to - from);
        for &(start, end) in &self.ranges[self.first_ending_after(from)..] {
            if start >= to {
                break;
            }
            let (start, end) = (start.max(from), end.min(to));
            if start < end {
                bytes -= u64::from(end - start);
            }
        }
        bytes
    }

    /// Everything unsacked below the returned number is lost, by RFC 6675
    /// §4's `IsLost(SeqNum)`: "This routine returns whether the given
    /// sequence number is considered to be lost. The routine returns true
    /// when either DupThresh discontiguous SACKed sequences have arrived
    /// above 'SeqNum' or more than (DupThresh - 1) * SMSS bytes with
    /// sequence numbers greater than 'SeqNum' have been SACKed."
    ///
    /// A hole lies between ranges, so the answer for every byte of a hole
    /// is the same and the boundary is the left edge of a range.
    pub fn lost_below(&self, smss: u32) -> Option<SeqNumber> {
        let mut count = 0;
        let mut bytes = 0u64;
        for &(start, end) in self.ranges.iter().rev() {
            count += 1;
            bytes += u64::from(end - start);
            if count >= DUP_THRESH || bytes > u64::from((DUP_THRESH - 1) * smss) {
                return Some(start);
            }
        }
        None
    }

    /// The first unsacked range in `[from, limit)`.
    pub fn next_hole(&self, from: SeqNumber, limit: SeqNumber) -> Option<(SeqNumber, SeqNumber)> {
        let mut cursor = from;
        for &(start, end) in &self.ranges[self.first_ending_after(from)..] {
            if cursor >= limit {
                return None;
            }
            if end <= cursor {
                continue;
            }
            if start > cursor {
                return Some((cursor, start.min(limit)));
            }
            cursor = end;
        }
        (cursor < limit).then_some((cursor, limit))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(n: u32) -> SeqNumber {
        SeqNumber(n)
    }

    #[test]
    fn update_clips_merges_and_reports_news() {
        let mut sb = Scoreboard::default();
        assert!(sb.update(&[(200, 300)], s(100), s(1000)));
        assert!(!sb.update(&[(200, 300)], s(100), s(1000)));
        assert!(sb.update(&[(300, 400), (50, 90)], s(100), s(1000)));
        assert_eq!(sb.sacked_bytes(), 200);
        assert!(!sb.update(&[(900, 1100)], s(100), s(1000)));
        sb.advance(s(250));
        assert_eq!(sb.sacked_bytes(), 150);
        assert_eq!(sb.unsacked_bytes(s(250), s(500)), 100);
    }

    #[test]
    fn is_lost_by_bytes_or_by_count() {
        let mut sb = Scoreboard::default();
        sb.update(&[(200, 300)], s(0), s(1000));
        assert_eq!(sb.lost_below(100), None);
        sb.update(&[(300, 301)], s(0), s(1000));
        // 101 bytes SACKed above 200 > 2 * SMSS (50).
        assert_eq!(sb.lost_below(50), Some(s(200)));
        let mut sb = Scoreboard::default();
        sb.update(&[(200, 210), (300, 310), (400, 410)], s(0), s(1000));
        assert_eq!(sb.lost_below(1000), Some(s(200)));
    }

    #[test]
    fn holes() {
        let mut sb = Scoreboard::default();
        sb.update(&[(200, 300), (400, 500)], s(100), s(1000));
        assert_eq!(sb.next_hole(s(100), s(1000)), Some((s(100), s(200))));
        assert_eq!(sb.next_hole(s(200), s(1000)), Some((s(300), s(400))));
        assert_eq!(sb.next_hole(s(450), s(1000)), Some((s(500), s(1000))));
        assert_eq!(sb.next_hole(s(300), s(350)), Some((s(300), s(350))));
        assert_eq!(sb.next_hole(s(200), s(300)), None);
    }
}
