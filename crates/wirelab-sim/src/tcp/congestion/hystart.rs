//! HyStart++ (RFC 9406): leave slow start when the RTT rises, before the
//! queue overflows.
//!
//! Read: RFC 9406 §4.2 (the algorithm) and §4.3 (where it applies). Each
//! round (from an ACK for `windowEnd` = HighData at the round's start to
//! the next) collects the minimum RTT of its samples; after
//! `N_RTT_SAMPLE` samples, a round whose minimum exceeds the last round's
//! by `RttThresh` (1/8 of it, clamped to 4..=16 ms) enters Conservative
//! Slow Start (CSS): growth divided by `CSS_GROWTH_DIVISOR`. If the RTT
//! falls back below the baseline, slow start resumes; after `CSS_ROUNDS`
//! rounds of CSS, ssthresh = cwnd and congestion avoidance begins.
//!
//! The choices (§4.3): only the initial slow start uses it (ssthresh still
//! at its initial, arbitrarily high value), "fall back to using standard
//! slow start for the remainder of the connection lifetime"; L is
//! unlimited (the growth per ACK is the controller's: RFC 3465's L = 2,
//! or one SMSS with `increase: per-ack`). It is used with CUBIC only, as
//! Linux and ns-3 use HyStart with CUBIC (both the older HyStart; NewReno
//! keeps standard slow start in both).

use crate::tcp::seq::SeqNumber;

/// RFC 9406 §4.3's constants.
pub const MIN_RTT_THRESH_NS: u64 = 4_000_000;
pub const MAX_RTT_THRESH_NS: u64 = 16_000_000;
pub const MIN_RTT_DIVISOR: u64 = 8;
pub const N_RTT_SAMPLE: u32 = 8;
pub const CSS_GROWTH_DIVISOR: u64 = 4;
pub const CSS_ROUNDS: u8 = 5;

/// What slow start should do on this ACK.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Standard slow start.
    SlowStart,
    /// Conservative slow start: a quarter of the growth.
    Css,
    /// CSS is over: set ssthresh to cwnd (congestion avoidance).
    Exit,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HyStart {
    /// The end of the current round; `None` before the first ACK.
    window_end: Option<SeqNumber>,
    /// Nanoseconds; `u64::MAX` is "infinity".
    last_round_min_rtt: u64,
    current_round_min_rtt: u64,
    rtt_sample_count: u32,
    css_baseline_min_rtt: u64,
    /// Rounds completed in CSS; `None` outside CSS.
    css_rounds: Option<u8>,
}

impl Default for HyStart {
    fn default() -> Self {
        HyStart {
            window_end: None,
            last_round_min_rtt: u64::MAX,
            current_round_min_rtt: u64::MAX,
            rtt_sample_count: 0,
            css_baseline_min_rtt: u64::MAX,
            css_rounds: None,
        }
    }
}

impl HyStart {
    pub fn in_css(&self) -> bool {
        self.css_rounds.is_some()
    }

    /// An ACK for `ack` in slow start, with `high_data` the highest
    /// sequence number sent and `rtt_ns` this ACK's RTT sample, if any.
    pub fn on_ack(&mut self, ack: SeqNumber, high_data: SeqNumber, rtt_ns: Option<u64>) -> Phase {
        // "lastRoundMinRTT = currentRoundMinRTT; currentRoundMinRTT =
        // infinity; rttSampleCount = 0" at the start of each round.
        let round_over = self.window_end.is_none_or(|end| ack >= end);
        if round_over {
            if self.window_end.is_some() {
                if let Some(rounds) = self.css_rounds.as_mut() {
                    *rounds += 1;
                    if *rounds >= CSS_ROUNDS {
                        // "If CSS_ROUNDS rounds are complete, enter
                        // congestion avoidance by setting the ssthresh to
                        // the current cwnd."
                        *self = HyStart::default();
                        return Phase::Exit;
                    }
                }
            }
            self.window_end = Some(high_data);
            self.last_round_min_rtt = self.current_round_min_rtt;
            self.current_round_min_rtt = u64::MAX;
            self.rtt_sample_count = 0;
        }
        if let Some(rtt) = rtt_ns {
            self.current_round_min_rtt = self.current_round_min_rtt.min(rtt);
            self.rtt_sample_count += 1;
        }
        if self.rtt_sample_count >= N_RTT_SAMPLE
            && self.current_round_min_rtt != u64::MAX
            && self.last_round_min_rtt != u64::MAX
        {
            if self.css_rounds.is_none() {
                // "RttThresh = max(MIN_RTT_THRESH, min(lastRoundMinRTT /
                // MIN_RTT_DIVISOR, MAX_RTT_THRESH)); if (currentRoundMinRTT
                // >= (lastRoundMinRTT + RttThresh)) { cssBaselineMinRtt =
                // currentRoundMinRTT; exit slow start and enter CSS }"
                let thresh = (self.last_round_min_rtt / MIN_RTT_DIVISOR)
                    .clamp(MIN_RTT_THRESH_NS, MAX_RTT_THRESH_NS);
                if self.current_round_min_rtt >= self.last_round_min_rtt.saturating_add(thresh) {
                    self.css_baseline_min_rtt = self.current_round_min_rtt;
                    self.css_rounds = Some(0);
                }
            } else if self.current_round_min_rtt < self.css_baseline_min_rtt {
                // "the previous exit from slow start was spurious":
                // "cssBaselineMinRtt = infinity; resume slow start".
                self.css_baseline_min_rtt = u64::MAX;
                self.css_rounds = None;
            }
        }
        if self.in_css() {
            Phase::Css
        } else {
            Phase::SlowStart
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: u64 = 1_000_000;

    /// One round of `acks` ACKs of 1000 bytes, each with `rtt`: the
    /// first ACKs the previous round's end, and HighData is this round's.
    fn round(hs: &mut HyStart, end: &mut u32, acks: u32, rtt: u64) -> Vec<Phase> {
        let start = *end;
        *end = start + acks * 1000;
        (0..acks)
            .map(|i| hs.on_ack(SeqNumber(start + i * 1000), SeqNumber(*end), Some(rtt)))
            .collect()
    }

    #[test]
    fn a_delay_increase_enters_css_and_then_congestion_avoidance() {
        let mut hs = HyStart::default();
        let mut seq = 0;
        // Rounds at a steady 40 ms: slow start.
        for _ in 0..3 {
            assert!(round(&mut hs, &mut seq, 20, 40 * MS)
                .iter()
                .all(|&p| p == Phase::SlowStart));
        }
        // +4 ms is below RttThresh = 40/8 = 5 ms: still slow start.
        assert!(round(&mut hs, &mut seq, 20, 44 * MS)
            .iter()
            .all(|&p| p == Phase::SlowStart));
        // +6 ms over the last round's 44: CSS after N_RTT_SAMPLE samples.
        let phases = round(&mut hs, &mut seq, 20, 50 * MS);
        assert_eq!(phases[..7], [Phase::SlowStart; 7]);
        assert!(phases[7..].iter().all(|&p| p == Phase::Css), "{phases:?}");
        // CSS_ROUNDS rounds later (the entry round counts): congestion
        // avoidance.
        let mut exit = None;
        for r in 0..CSS_ROUNDS {
            let phases = round(&mut hs, &mut seq, 20, 50 * MS);
            if let Some(i) = phases.iter().position(|&p| p == Phase::Exit) {
                exit = Some((r, i));
                break;
            }
        }
        assert_eq!(exit, Some((CSS_ROUNDS - 1, 0)));
    }

    #[test]
    fn css_returns_to_slow_start_when_the_rtt_falls_back() {
        let mut hs = HyStart::default();
        let mut seq = 0;
        round(&mut hs, &mut seq, 20, 20 * MS);
        round(&mut hs, &mut seq, 20, 30 * MS);
        assert!(hs.in_css());
        // A round whose minimum is below the baseline: spurious exit.
        let phases = round(&mut hs, &mut seq, 20, 25 * MS);
        assert_eq!(*phases.last().unwrap(), Phase::SlowStart);
        assert!(!hs.in_css());
    }
}
