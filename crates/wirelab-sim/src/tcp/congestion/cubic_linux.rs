//! CUBIC as Linux implements it (`net/ipv4/tcp_cubic.c`), and as ns-3.44
//! ports it (`src/internet/model/tcp-cubic.cc`, `TcpCubic`):
//! `tcp: { cubic: linux }` and `tcp: { cubic: ns3 }`.
//!
//! Read: RFC 9438 §4 for the curve, then `bictcp_update`,
//! `bictcp_recalc_ssthresh`, `hystart_update` and `bictcp_acked` in
//! Linux's `tcp_cubic.c` (and `tcp_cong_avoid_ai`, `tcp_slow_start` in
//! `tcp_cong.c`), or `TcpCubic::Update`, `GetSsThresh`, `PktsAcked` and
//! `HystartUpdate` in ns-3. Nothing here is copied from either; the code
//! is written to behave as they do. Where the two differ, [`Variant`]
//! chooses. What sets this apart from RFC 9438 ([`super::cubic`]):
//!
//! - Windows are counted in whole segments: W_max, the origin point and
//!   the target are integers, and cwnd grows by one segment once `cnt`
//!   segments have been acknowledged since the last growth, with
//!   `cnt = cwnd / (target − cwnd)` (100·cwnd when the target is not
//!   above cwnd). RFC 9438 §4.4 grows by (target − cwnd)/cwnd per ACK.
//! - The target is W_cubic(t + min RTT), not t + SRTT (§4.2 allows either:
//!   "RTT ... such as the smoothed RTT").
//! - `cnt` is at least 2 (cwnd grows at most 1.5× per RTT, as §4.2's
//!   clamp) and at most 20 while W_max is 0 (after a timeout, or when
//!   slow start ended without a loss): at least 5 % per RTT where RFC 9438
//!   starts the curve flat at W_max = cwnd.
//! - The Reno-friendly estimate grows one segment per 15/8·cwnd segments
//!   acknowledged (α ≈ 0.53 per RTT) and only lowers `cnt`; RFC 9438 §4.3
//!   sets cwnd to W_est and switches to α = 1 past W_max.
//! - ssthresh is β·cwnd, not β·FlightSize (§4.6), at least 2 segments;
//!   fast convergence sets W_max to (1 + β)/2·cwnd.
//! - A timeout forgets W_max, K, the minimum RTT and HyStart's result.
//! - The initial slow start ends with the original HyStart (Ha and Rhee,
//!   2008): an ACK train longer than a fraction of the minimum RTT, or a
//!   round whose RTT rose by a threshold, sets ssthresh to cwnd (straight
//!   to congestion avoidance; RFC 9406's HyStart++ has a conservative
//!   phase first). It runs from cwnd ≥ 16 segments.
//!
//! Not modelled: Linux's recomputation of `cnt` at most every 1/32 s
//! while cwnd is unchanged, its fixed-point time (1/1024 s, jiffies), the
//! restart of the epoch after an idle period, and the check that the
//! sender is cwnd-limited (the labs' senders always are). Time is f64
//! seconds as in ns-3, with only +, −, × and a Newton cube root, so runs
//! are reproducible on every platform.

use super::cubic::cube_root;
use super::Controller;
use crate::tcp::seq::SeqNumber;
use crate::time::SimTime;

/// RFC 9438 §5 and both implementations: C = 0.4.
pub const C: f64 = 0.4;
/// `cnt` while W_max is 0: `CntClamp` in ns-3, the literal 20 in Linux.
pub const CNT_CLAMP: u64 = 20;
/// `cnt` is at least this: at most one segment per two acknowledged.
pub const CNT_MIN: u64 = 2;
/// Linux's `beta_scale` = 8·(1024 + 717) / 3 / (1024 − 717), in integers
/// (ns-3 gets the same 15 from β = 0.7): the Reno-friendly estimate
/// grows one segment per `cwnd · 15 / 8` segments acknowledged.
pub const RENO_BETA_SCALE: u64 = 15;
/// HyStart runs from this cwnd, segments (`hystart_low_window`).
pub const HYSTART_LOW_WINDOW: u64 = 16;
/// RTT samples a round takes before the delay test (`HYSTART_MIN_SAMPLES`).
pub const HYSTART_MIN_SAMPLES: u32 = 8;
/// ACKs closer than this form a train (`hystart_ack_delta_us`).
pub const HYSTART_ACK_DELTA_NS: u64 = 2_000_000;
/// Lower bound of the delay threshold (`HYSTART_DELAY_MIN`).
pub const HYSTART_DELAY_MIN_NS: u64 = 4_000_000;

/// Linux or ns-3: the same update, with these differences.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Variant {
    Linux,
    Ns3,
}

impl Variant {
    /// The RTT rise that ends slow start. Linux: min RTT / 8 within
    /// 4..=16 ms (`HYSTART_DELAY_THRESH(delay_min >> 3)`). ns-3.44: the
    /// min RTT itself within 4 ms..=1 s (`HystartDelayThresh(m_delayMin)`,
    /// `HyStartDelayMax` = 1 s): at 44 ms the RTT has to double.
    fn delay_thresh_ns(self, delay_min_ns: u64) -> u64 {
        match self {
            Variant::Linux => (delay_min_ns / 8).clamp(HYSTART_DELAY_MIN_NS, 16_000_000),
            Variant::Ns3 => delay_min_ns.clamp(HYSTART_DELAY_MIN_NS, 1_000_000_000),
        }
    }

    /// How long a round's ACK train must last. Linux (since 5.8, without
    /// pacing): half the min RTT. ns-3.44: the min RTT.
    fn train_thresh_ns(self, delay_min_ns: u64) -> u64 {
        match self {
            Variant::Linux => delay_min_ns / 2,
            Variant::Ns3 => delay_min_ns,
        }
    }

    /// RTT samples are ignored this long after an epoch starts ("Discard
    /// delay samples right after fast recovery"). Linux: one second
    /// (`HZ`); ns-3: `CubicDelta`, 10 ms.
    fn sample_hold_ns(self) -> u64 {
        match self {
            Variant::Linux => 1_000_000_000,
            Variant::Ns3 => 10_000_000,
        }
    }

    /// ssthresh after a loss at `cwnd` segments. Linux: `cwnd * 717 /
    /// 1024`; ns-3: `(uint32_t)(cwnd * 0.7)`; at least 2.
    fn ssthresh_segments(self, cwnd: u64) -> u64 {
        let reduced = match self {
            Variant::Linux => cwnd * 717 / 1024,
            Variant::Ns3 => (cwnd as f64 * 0.7) as u64,
        };
        reduced.max(2)
    }

    /// W_max with fast convergence: (1 + β)/2 · cwnd, truncated.
    fn converged_w_max(self, cwnd: u64) -> u64 {
        match self {
            Variant::Linux => cwnd * (1024 + 717) / 2048,
            Variant::Ns3 => (cwnd as f64 * 1.7 / 2.0) as u64,
        }
    }
}

/// The original HyStart's per-round state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct HyStart {
    /// Slow start has been ended (until a timeout).
    found: bool,
    round_start: SimTime,
    /// The last ACK of the current train.
    last_ack: SimTime,
    /// The round ends with an ACK beyond this; `None` before the first.
    end_seq: Option<SeqNumber>,
    /// The round's minimum RTT so far; `u64::MAX` before a sample.
    curr_rtt_ns: u64,
    sample_cnt: u32,
}

impl HyStart {
    fn new() -> HyStart {
        HyStart {
            found: false,
            round_start: SimTime::ZERO,
            last_ack: SimTime::ZERO,
            end_seq: None,
            curr_rtt_ns: u64::MAX,
            sample_cnt: 0,
        }
    }

    /// `bictcp_hystart_reset` / `HystartReset`: a new round, until HighData.
    fn start_round(&mut self, now: SimTime, high_data: SeqNumber) {
        self.round_start = now;
        self.last_ack = now;
        self.end_seq = Some(high_data);
        self.curr_rtt_ns = u64::MAX;
        self.sample_cnt = 0;
    }

    fn round_over(&self, ack: SeqNumber) -> bool {
        self.end_seq.is_none_or(|end| ack > end)
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct CubicLinux {
    variant: Variant,
    /// Bytes (a multiple of SMSS except after loss recovery's PRR).
    cwnd: u64,
    ssthresh: u64,
    /// Segments acknowledged towards the next growth (Linux's
    /// `snd_cwnd_cnt`, ns-3's `m_cWndCnt`).
    cwnd_cnt: u64,
    /// Acknowledged bytes short of a whole segment (ns-3's
    /// `m_bytesAckedNotProcessed`).
    acked_rem: u64,
    /// W_max, segments (`last_max_cwnd`); 0: none.
    last_max: u64,
    /// The curve's plateau, segments (`bic_origin_point`).
    origin: u64,
    k_secs: f64,
    epoch_start: Option<SimTime>,
    /// Segments acknowledged towards the Reno estimate's next segment.
    ack_cnt: u64,
    /// The Reno-friendly estimate, segments (`tcp_cwnd`).
    reno_cwnd: u64,
    /// Minimum RTT (`delay_min`); `None` before a sample or after a
    /// timeout.
    delay_min_ns: Option<u64>,
    hystart: HyStart,
    /// The last ACK's SND.UNA and HighData, for HyStart's rounds.
    last_ack: SeqNumber,
    high_data: SeqNumber,
}

impl CubicLinux {
    pub fn new(initial_window: u64, variant: Variant) -> CubicLinux {
        CubicLinux {
            variant,
            cwnd: initial_window,
            ssthresh: u64::MAX,
            cwnd_cnt: 0,
            acked_rem: 0,
            last_max: 0,
            origin: 0,
            k_secs: 0.0,
            epoch_start: None,
            ack_cnt: 0,
            reno_cwnd: 0,
            delay_min_ns: None,
            hystart: HyStart::new(),
            last_ack: SeqNumber(0),
            high_data: SeqNumber(0),
        }
    }

    /// W_max in segments (0: none).
    pub fn w_max_segments(&self) -> u64 {
        self.last_max
    }

    pub fn k_secs(&self) -> f64 {
        self.k_secs
    }

    pub fn delay_min_ns(&self) -> Option<u64> {
        self.delay_min_ns
    }

    /// `bictcp_update` / `TcpCubic::Update`: `cnt` for this ACK of
    /// `acked` segments, with cwnd at `cwnd` segments.
    fn update(&mut self, now: SimTime, cwnd: u64, acked: u64) -> u64 {
        self.ack_cnt += acked;
        let epoch = match self.epoch_start {
            Some(epoch) => epoch,
            None => {
                self.ack_cnt = acked;
                self.reno_cwnd = cwnd;
                if self.last_max <= cwnd {
                    self.k_secs = 0.0;
                    self.origin = cwnd;
                } else {
                    let x = (self.last_max - cwnd) as f64 / C;
                    // ns-3: `std::pow(x, 1 / 3.)`, bit for bit.
                    self.k_secs = match self.variant {
                        Variant::Ns3 => x.powf(1.0 / 3.0),
                        Variant::Linux => cube_root(x),
                    };
                    self.origin = self.last_max;
                }
                self.epoch_start = Some(now);
                now
            }
        };
        // "t = now - epoch_start + delay_min": the target is where the
        // curve will be one minimum RTT from now.
        let t_ns = (now - epoch).as_nanos() + self.delay_min_ns.unwrap_or(0);
        let t_secs = t_ns as f64 / 1e9;
        let offs = if t_secs < self.k_secs {
            self.k_secs - t_secs
        } else {
            t_secs - self.k_secs
        };
        // Truncated to whole segments (`as` saturates on overflow). ns-3
        // takes `m_c * std::pow(offs, 3)`, whose rounding can differ from
        // a product of three factors by the last bit, and that bit can
        // decide the whole segment (0.4 · K³ for K³ = 7.5 is 2.9999… in
        // ns-3, 3 by multiplication).
        let delta = match self.variant {
            Variant::Ns3 => (C * offs.powf(3.0)) as u64,
            Variant::Linux => (C * offs * offs * offs) as u64,
        };
        let target = if t_secs < self.k_secs {
            self.origin.saturating_sub(delta)
        } else {
            self.origin.saturating_add(delta)
        };
        let mut cnt = if target > cwnd {
            cwnd / (target - cwnd)
        } else {
            100 * cwnd
        };
        if self.last_max == 0 {
            cnt = cnt.min(CNT_CLAMP);
        }
        // tcp_friendliness: the Reno estimate only makes cnt smaller.
        let per_segment = ((cwnd * RENO_BETA_SCALE) >> 3).max(1);
        if self.ack_cnt > per_segment {
            let grown = (self.ack_cnt - 1) / per_segment;
            self.ack_cnt -= grown * per_segment;
            self.reno_cwnd += grown;
        }
        if self.reno_cwnd > cwnd {
            cnt = cnt.min(cwnd / (self.reno_cwnd - cwnd));
        }
        cnt.max(CNT_MIN)
    }

    /// The original HyStart on one RTT sample (`hystart_update`,
    /// `TcpCubic::HystartUpdate`); `delay_min_ns` is already updated.
    fn hystart_update(&mut self, now: SimTime, rtt_ns: u64, delay_min_ns: u64) {
        let variant = self.variant;
        let hs = &mut self.hystart;
        // The ACK train: ACKs at most 2 ms apart, since the round began,
        // for longer than the threshold.
        if (now - hs.last_ack).as_nanos() <= HYSTART_ACK_DELTA_NS {
            hs.last_ack = now;
            if (now - hs.round_start).as_nanos() > variant.train_thresh_ns(delay_min_ns) {
                hs.found = true;
            }
        }
        // The delay: the round's minimum RTT (Linux: of all its samples;
        // ns-3: of its first eight) above the connection's by the
        // threshold.
        if variant == Variant::Linux || hs.sample_cnt < HYSTART_MIN_SAMPLES {
            hs.curr_rtt_ns = hs.curr_rtt_ns.min(rtt_ns);
        }
        if hs.sample_cnt < HYSTART_MIN_SAMPLES {
            hs.sample_cnt += 1;
        } else if hs.curr_rtt_ns > delay_min_ns + variant.delay_thresh_ns(delay_min_ns) {
            hs.found = true;
        }
        if hs.found {
            self.ssthresh = self.cwnd;
        }
    }

    /// ssthresh and W_max on a congestion event (`bictcp_recalc_ssthresh`,
    /// `TcpCubic::GetSsThresh`).
    fn recalc_ssthresh(&mut self, smss: u64) {
        let cwnd = (self.cwnd / smss).max(1);
        self.epoch_start = None;
        self.last_max = if cwnd < self.last_max {
            self.variant.converged_w_max(cwnd)
        } else {
            cwnd
        };
        self.ssthresh = self.variant.ssthresh_segments(cwnd) * smss;
    }
}

impl Controller for CubicLinux {
    fn cwnd(&self) -> u64 {
        self.cwnd
    }

    fn ssthresh(&self) -> u64 {
        self.ssthresh
    }

    fn set_cwnd(&mut self, cwnd: u64) {
        self.cwnd = cwnd;
    }

    fn set_ssthresh(&mut self, ssthresh: u64) {
        self.ssthresh = ssthresh;
    }

    /// `bictcp_acked` / `TcpCubic::PktsAcked`: the minimum RTT, and
    /// HyStart in slow start from 16 segments.
    fn on_ack_sample(
        &mut self,
        now: SimTime,
        ack: SeqNumber,
        high_data: SeqNumber,
        rtt_ns: Option<u64>,
        smss: u64,
    ) {
        self.last_ack = ack;
        self.high_data = high_data;
        let Some(rtt_ns) = rtt_ns else {
            return;
        };
        let hold_ns = self.variant.sample_hold_ns();
        if self
            .epoch_start
            .is_some_and(|epoch| (now - epoch).as_nanos() < hold_ns)
        {
            return;
        }
        let rtt_ns = rtt_ns.max(1);
        let delay_min_ns = self.delay_min_ns.map_or(rtt_ns, |d| d.min(rtt_ns));
        self.delay_min_ns = Some(delay_min_ns);
        let slow_start = self.cwnd < self.ssthresh;
        if self.hystart.found || !slow_start || self.cwnd < HYSTART_LOW_WINDOW * smss {
            return;
        }
        // Linux starts the next round here; ns-3 in `IncreaseWindow`,
        // after this sample (see `on_ack`).
        if self.variant == Variant::Linux && self.hystart.round_over(ack) {
            self.hystart.start_round(now, high_data);
        }
        self.hystart_update(now, rtt_ns, delay_min_ns);
    }

    /// `bictcp_cong_avoid` with `tcp_slow_start` and `tcp_cong_avoid_ai`
    /// (Linux), or `TcpCubic::IncreaseWindow` (ns-3). The socket calls
    /// [`Controller::on_ack_sample`] for the same ACK first.
    fn on_ack(&mut self, now: SimTime, acked: u64, smss: u64, _srtt_ns: u64) {
        let smss = smss.max(1);
        let bytes = self.acked_rem + acked;
        let mut segments = bytes / smss;
        self.acked_rem = bytes % smss;
        if segments == 0 {
            return;
        }
        if self.cwnd < self.ssthresh {
            match self.variant {
                // ns-3: every segment acknowledged adds one, past ssthresh
                // if need be, and nothing is left for congestion avoidance.
                Variant::Ns3 => {
                    // HyStart's round ends here ("lastAckedSeq > m_endSeq").
                    if self.hystart.round_over(self.last_ack) {
                        self.hystart.start_round(now, self.high_data);
                    }
                    self.cwnd += segments * smss;
                    return;
                }
                // Linux: up to ssthresh, the rest in congestion avoidance.
                Variant::Linux => {
                    let grown = (segments * smss).min(self.ssthresh - self.cwnd);
                    self.cwnd += grown;
                    segments -= grown.div_ceil(smss).min(segments);
                    if segments == 0 {
                        return;
                    }
                }
            }
        }
        let cwnd = (self.cwnd / smss).max(1);
        let cnt = self.update(now, cwnd, segments);
        match self.variant {
            // At most one segment per ACK.
            Variant::Ns3 => {
                self.cwnd_cnt += segments;
                if self.cwnd_cnt >= cnt {
                    self.cwnd += smss;
                    self.cwnd_cnt -= cnt;
                }
            }
            // `tcp_cong_avoid_ai`: as many segments as `cnt` fits.
            Variant::Linux => {
                if self.cwnd_cnt >= cnt {
                    self.cwnd_cnt = 0;
                    self.cwnd += smss;
                }
                self.cwnd_cnt += segments;
                if self.cwnd_cnt >= cnt {
                    let grown = self.cwnd_cnt / cnt;
                    self.cwnd_cnt -= grown * cnt;
                    self.cwnd += grown * smss;
                }
            }
        }
    }

    /// A loss found by duplicate ACKs or SACK: ssthresh from cwnd (not
    /// from FlightSize), and cwnd to it (PRR takes over in the socket).
    fn on_loss(&mut self, _now: SimTime, _flight: u64, smss: u64) {
        let smss = smss.max(1);
        self.recalc_ssthresh(smss);
        self.cwnd = self.ssthresh;
    }

    /// A timeout: ssthresh as for a loss (the first expiry only), cwnd one
    /// segment, and `bictcp_state(TCP_CA_Loss)` / `CubicReset`: K, the
    /// minimum RTT, the Reno estimate and HyStart are forgotten. Linux
    /// forgets W_max too; ns-3.44 keeps the W_max its `GetSsThresh` has
    /// just set (with fast convergence), so its concave growth after the
    /// timeout aims at it: measured from the `CongestionWindow` trace of
    /// ns-3's 8-flow CUBIC dumbbell, where flows 5–7 time out at 1.26 s
    /// and wirelab's cwnd now follows theirs segment by segment.
    fn on_timeout(&mut self, now: SimTime, _flight: u64, smss: u64, first: bool) {
        let smss = smss.max(1);
        if first {
            self.recalc_ssthresh(smss);
        }
        self.cwnd = smss;
        self.cwnd_cnt = 0;
        if self.variant == Variant::Linux {
            self.last_max = 0;
        }
        self.origin = 0;
        self.k_secs = 0.0;
        self.epoch_start = None;
        self.ack_cnt = 0;
        self.reno_cwnd = 0;
        self.delay_min_ns = None;
        self.hystart.found = false;
        self.hystart.start_round(now, self.high_data);
    }

    /// Both grow cwnd on the ACK that ends a recovery, after setting it to
    /// ssthresh (Linux's `tcp_cong_control`; ns-3's `ProcessAck` calls
    /// `IncreaseWindow` with the segments that ACK covers).
    fn grows_on_recovery_exit(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMSS: u64 = 1_000;
    const MS: u64 = 1_000_000;

    /// A controller in congestion avoidance after a loss at `w_max`
    /// segments, with a minimum RTT of `rtt_ms` learnt before it.
    fn after_loss(variant: Variant, w_max: u64, rtt_ms: u64) -> CubicLinux {
        let mut cc = CubicLinux::new(10 * SMSS, variant);
        cc.on_ack_sample(
            SimTime::ZERO,
            SeqNumber(0),
            SeqNumber(0),
            Some(rtt_ms * MS),
            SMSS,
        );
        cc.set_cwnd(w_max * SMSS);
        cc.on_loss(SimTime::ZERO, w_max * SMSS, SMSS);
        cc
    }

    /// `n` ACKs of `segments` each at `now`; cwnd in segments after each.
    fn acks(cc: &mut CubicLinux, now: SimTime, n: usize, segments: u64) -> Vec<u64> {
        (0..n)
            .map(|_| {
                cc.on_ack(now, segments * SMSS, SMSS, 0);
                cc.cwnd() / SMSS
            })
            .collect()
    }

    #[test]
    fn a_loss_sets_ssthresh_from_cwnd_and_w_max_with_fast_convergence() {
        for variant in [Variant::Linux, Variant::Ns3] {
            let mut cc = after_loss(variant, 100, 100);
            // Linux 100·717/1024 = 70.02, ns-3 (uint32_t)(100·0.7) = 70.
            assert_eq!(cc.ssthresh(), 70 * SMSS);
            assert_eq!(cc.cwnd(), 70 * SMSS);
            assert_eq!(cc.w_max_segments(), 100);
            // Below W_max: W_max = 70·1.7/2 = 59.5, truncated.
            cc.on_loss(SimTime::ZERO, 0, SMSS);
            assert_eq!(cc.w_max_segments(), 59);
            assert_eq!(cc.ssthresh(), 49 * SMSS);
        }
        // Where the two truncate differently: 1000 segments.
        let mut linux = after_loss(Variant::Linux, 1000, 100);
        let mut ns3 = after_loss(Variant::Ns3, 1000, 100);
        assert_eq!(linux.ssthresh(), 700 * SMSS);
        assert_eq!(ns3.ssthresh(), 700 * SMSS);
        linux.on_loss(SimTime::ZERO, 0, SMSS);
        ns3.on_loss(SimTime::ZERO, 0, SMSS);
        // 700·1741/2048 = 595.07; 700·0.85 = 595.
        assert_eq!((linux.w_max_segments(), ns3.w_max_segments()), (595, 595));
        // 700·717/1024 = 490.1; ns-3's (uint32_t)(700·0.7) is 489:
        // 700·0.7 is 489.99999999999994 in binary floating point.
        assert_eq!((linux.ssthresh(), ns3.ssthresh()), (490 * SMSS, 489 * SMSS));
    }

    /// W_max = 100, cwnd 70 after the loss, min RTT 100 ms:
    /// K = cbrt(30 / 0.4) = 4.217 s; at t = 0 + min RTT the target is
    /// 100 − (uint)(0.4 · 4.117³) = 100 − 27 = 73, so cnt = 70 / 3 = 23:
    /// cwnd grows by one segment on the 23rd segment acknowledged.
    #[test]
    fn concave_growth_is_one_segment_per_cnt_segments() {
        for variant in [Variant::Linux, Variant::Ns3] {
            let mut cc = after_loss(variant, 100, 100);
            let now = SimTime::from_secs(1);
            let cwnd = acks(&mut cc, now, 23, 1);
            assert_eq!(cwnd[..22], [70; 22], "{variant:?}");
            assert_eq!(cwnd[22], 71, "{variant:?}");
            assert!((cc.k_secs() - 4.2172).abs() < 1e-3);
            // At 71 the target is 2 away: cnt = 35, and ACKs of two
            // segments count twice (the 18th ACK). At 72, cnt = 72.
            let cwnd = acks(&mut cc, now, 23, 2);
            assert_eq!(cwnd[16..19], [71, 72, 72], "{variant:?}");
            assert_eq!(*cwnd.last().unwrap(), 72, "{variant:?}");
        }
    }

    /// Far into the convex region the target is huge and cnt would be 0:
    /// it is at least 2, one segment per two acknowledged (1.5× per RTT).
    /// Linux (`tcp_cong_avoid_ai`) may add several on one ACK, ns-3 one.
    #[test]
    fn cnt_is_at_least_two() {
        for variant in [Variant::Linux, Variant::Ns3] {
            let mut cc = after_loss(variant, 100, 100);
            let epoch = SimTime::from_secs(1);
            acks(&mut cc, epoch, 1, 1);
            let later = epoch + SimTime::from_secs(20);
            let cwnd = acks(&mut cc, later, 10, 1);
            assert_eq!(*cwnd.last().unwrap(), 75, "{variant:?}");
            let cwnd = acks(&mut cc, later, 1, 8);
            let expected = if variant == Variant::Linux { 79 } else { 76 };
            assert_eq!(cwnd[0], expected, "{variant:?}");
        }
    }

    /// Without a W_max (slow start ended without a loss, or a timeout),
    /// the flat curve would give cnt = 100·cwnd: it is clamped to 20,
    /// at least 5 % per RTT.
    #[test]
    fn without_w_max_cnt_is_clamped_to_twenty() {
        for variant in [Variant::Linux, Variant::Ns3] {
            let mut cc = CubicLinux::new(40 * SMSS, variant);
            cc.set_ssthresh(40 * SMSS);
            let cwnd = acks(&mut cc, SimTime::from_secs(1), 40, 1);
            assert_eq!(cwnd[18], 40, "{variant:?}");
            assert_eq!(cwnd[19], 41, "{variant:?}");
            // One window of ACKs: +2 segments, 5 %.
            assert_eq!(cwnd[39], 42, "{variant:?}");
            assert_eq!(cc.w_max_segments(), 0);
        }
    }

    /// On the plateau (cwnd = W_max, K = 0, t small) the cubic target is
    /// cwnd itself and cnt = 100·cwnd; the Reno-friendly estimate grows
    /// one segment per 20·15/8 = 37 segments acknowledged, and once it is
    /// above cwnd it bounds cnt to cwnd / (estimate − cwnd) = 20.
    #[test]
    fn the_reno_friendly_estimate_only_bounds_cnt() {
        for variant in [Variant::Linux, Variant::Ns3] {
            let mut cc = after_loss(variant, 20, 10);
            // cwnd back at W_max: the epoch starts with K = 0.
            cc.set_cwnd(20 * SMSS);
            let now = SimTime::from_secs(1);
            let cwnd = acks(&mut cc, now, 38, 1);
            assert_eq!(cwnd[..37], [20; 37], "{variant:?}");
            // The 38th segment: estimate 21 > 20, cnt = 20, and 38
            // segments are counted: one more segment.
            assert_eq!(cwnd[37], 21, "{variant:?}");
            assert_eq!(cc.k_secs(), 0.0);
            // Then the estimate is not above cwnd (21): flat again until
            // it passes, 21·15/8 = 39 segments later.
            let cwnd = acks(&mut cc, now, 30, 1);
            assert_eq!(cwnd, [21; 30], "{variant:?}");
        }
    }

    /// A timeout forgets W_max (so the clamp of 20 applies again), the
    /// minimum RTT and HyStart's result; ssthresh is reduced once.
    #[test]
    fn a_timeout_resets_the_curve() {
        let mut cc = after_loss(Variant::Linux, 100, 100);
        cc.on_timeout(SimTime::from_secs(2), 0, SMSS, true);
        assert_eq!(cc.cwnd(), SMSS);
        assert_eq!(cc.ssthresh(), 49 * SMSS);
        assert_eq!(cc.w_max_segments(), 0);
        assert_eq!(cc.delay_min_ns(), None);
        cc.on_timeout(SimTime::from_secs(4), 0, SMSS, false);
        assert_eq!(cc.ssthresh(), 49 * SMSS);
    }

    /// ns-3.44 keeps the W_max of the timeout's own reduction: 70 segments
    /// at the timeout, below W_max 100, give 70·1.7/2 = 59 with fast
    /// convergence; the curve after the timeout aims at it, without the
    /// clamp of 20.
    #[test]
    fn ns3_keeps_w_max_across_a_timeout() {
        let mut cc = after_loss(Variant::Ns3, 100, 100);
        cc.on_timeout(SimTime::from_secs(2), 0, SMSS, true);
        assert_eq!(cc.cwnd(), SMSS);
        assert_eq!(cc.ssthresh(), 49 * SMSS);
        assert_eq!(cc.w_max_segments(), 59);
        assert_eq!(cc.delay_min_ns(), None);
    }

    /// Slow start: ns-3 adds every acknowledged segment, past ssthresh;
    /// Linux stops at ssthresh and counts the rest in congestion
    /// avoidance.
    #[test]
    fn slow_start_counts_segments() {
        let mut ns3 = CubicLinux::new(10 * SMSS, Variant::Ns3);
        ns3.set_ssthresh(11 * SMSS);
        acks(&mut ns3, SimTime::ZERO, 1, 2);
        assert_eq!(ns3.cwnd(), 12 * SMSS);
        let mut linux = CubicLinux::new(10 * SMSS, Variant::Linux);
        linux.set_ssthresh(11 * SMSS);
        acks(&mut linux, SimTime::ZERO, 1, 2);
        assert_eq!(linux.cwnd(), 11 * SMSS);
        // Bytes short of a segment wait for the rest.
        let mut cc = CubicLinux::new(10 * SMSS, Variant::Linux);
        cc.on_ack(SimTime::ZERO, SMSS / 2, SMSS, 0);
        assert_eq!(cc.cwnd(), 10 * SMSS);
        cc.on_ack(SimTime::ZERO, SMSS / 2, SMSS, 0);
        assert_eq!(cc.cwnd(), 11 * SMSS);
    }

    /// One round of slow start, `acks` ACKs `gap_ns` apart with `rtt_ns`,
    /// each acknowledging 2 segments; returns whether HyStart ended slow
    /// start. `seq` is SND.UNA, `high` HighData.
    fn hystart_round(
        cc: &mut CubicLinux,
        now: &mut SimTime,
        seq: &mut u32,
        acks: u32,
        gap_ns: u64,
        rtt_ns: u64,
    ) -> bool {
        let high = *seq + 2 * acks * 1000;
        for _ in 0..acks {
            *now = *now + SimTime(gap_ns);
            *seq += 2000;
            cc.on_ack_sample(*now, SeqNumber(*seq), SeqNumber(high), Some(rtt_ns), SMSS);
            cc.on_ack(*now, 2 * SMSS, SMSS, 0);
            if cc.ssthresh() != u64::MAX {
                return true;
            }
        }
        false
    }

    /// The delay test: Linux ends slow start when a round's RTT is min RTT
    /// / 8 (clamped to 4..=16 ms) above the minimum, ns-3 only when it is
    /// the minimum itself above it (at 40 ms: 80 ms).
    #[test]
    fn hystart_delay_thresholds() {
        for (variant, rtt_ms, exits) in [
            (Variant::Linux, 46, true),
            (Variant::Linux, 44, false),
            (Variant::Ns3, 46, false),
            (Variant::Ns3, 81, true),
        ] {
            let mut cc = CubicLinux::new(20 * SMSS, variant);
            let (mut now, mut seq) = (SimTime::ZERO, 0);
            // ACKs 3 ms apart: never a train.
            assert!(!hystart_round(
                &mut cc,
                &mut now,
                &mut seq,
                10,
                3 * MS,
                40 * MS
            ));
            let exited = hystart_round(&mut cc, &mut now, &mut seq, 20, 3 * MS, rtt_ms * MS);
            assert_eq!(exited, exits, "{variant:?} at {rtt_ms} ms");
            if exits {
                assert_eq!(cc.ssthresh(), cc.cwnd());
            }
        }
    }

    /// The ACK train: ACKs less than 2 ms apart for longer than min RTT / 2
    /// (Linux) or min RTT (ns-3) since the round began: the 22nd ACK, 21 ms
    /// after the first, or the 42nd. (Linux starts the round on its first
    /// ACK before the test, ns-3 after it, which here is the same.)
    #[test]
    fn hystart_ack_train() {
        for (variant, acks_to_exit) in [(Variant::Linux, 22), (Variant::Ns3, 42)] {
            let mut cc = CubicLinux::new(20 * SMSS, variant);
            let (mut now, mut seq) = (SimTime::ZERO, 0);
            assert!(!hystart_round(
                &mut cc,
                &mut now,
                &mut seq,
                10,
                3 * MS,
                40 * MS
            ));
            // A round of ACKs 1 ms apart at a steady RTT: only the train.
            let mut n = 0;
            let high = seq + 200_000;
            while cc.ssthresh() == u64::MAX && n < 100 {
                now = now + SimTime::from_millis(1);
                seq += 2000;
                cc.on_ack_sample(now, SeqNumber(seq), SeqNumber(high), Some(40 * MS), SMSS);
                cc.on_ack(now, 2 * SMSS, SMSS, 0);
                n += 1;
            }
            assert_eq!(n, acks_to_exit, "{variant:?}");
        }
    }

    /// Below 16 segments HyStart does not run; samples right after an
    /// epoch starts do not count (ns-3: 10 ms, Linux: 1 s).
    #[test]
    fn hystart_needs_sixteen_segments() {
        let mut cc = CubicLinux::new(10 * SMSS, Variant::Linux);
        let (mut now, mut seq) = (SimTime::ZERO, 0);
        assert!(!hystart_round(
            &mut cc,
            &mut now,
            &mut seq,
            2,
            3 * MS,
            40 * MS
        ));
        // cwnd 14: a doubled RTT goes unnoticed.
        assert!(!hystart_round(
            &mut cc,
            &mut now,
            &mut seq,
            1,
            3 * MS,
            400 * MS
        ));
        assert_eq!(cc.delay_min_ns(), Some(40 * MS));
    }
}
