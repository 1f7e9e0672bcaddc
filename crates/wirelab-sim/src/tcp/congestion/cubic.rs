//! CUBIC congestion control (RFC 9438).
//!
//! Read: RFC 9438 §4.1–4.8. The window after a congestion event follows
//!
//! > W_cubic(t) = C * (t - K)^3 + W_max                      (Figure 1)
//! > K = cubic_root((W_max - cwnd_epoch) / C)                (Figure 2)
//!
//! with C = 0.4 and β_cubic = 0.7, t the time since the current congestion
//! avoidance stage began, windows in segments. Each ACK moves cwnd toward
//! `target = W_cubic(t + RTT)` (clamped to [cwnd, 1.5·cwnd], §4.2), unless
//! the Reno-friendly estimate W_est (§4.3) is larger. Fast convergence
//! (§4.7) is on. The initial slow start ends early with HyStart++ (RFC
//! 9406, [`super::hystart`], run by the socket).
//!
//! Floating point only uses +, −, ×, ÷ (IEEE 754, correctly rounded on
//! every platform) and a Newton cube root, so runs are reproducible
//! everywhere; no libm.

use super::{slow_start, Controller};
use crate::time::SimTime;

/// RFC 9438 §5: "C SHOULD be set to 0.4".
pub const C: f64 = 0.4;
/// RFC 9438 §4.6: "β_cubic SHOULD be set to 0.7".
pub const BETA: f64 = 0.7;
/// RFC 9438 §4.3: α_cubic = 3 (1 − β_cubic) / (1 + β_cubic).
pub const ALPHA: f64 = 3.0 * (1.0 - BETA) / (1.0 + BETA);

#[derive(Clone, Debug, PartialEq)]
pub struct Cubic {
    /// Bytes; fractional so that sub-byte growth per ACK accumulates.
    cwnd: f64,
    ssthresh: u64,
    /// W_max in bytes; 0 after a timeout (§4.8: at the next stage "K is
    /// set to 0, and W_max is set to the congestion window size at the
    /// beginning of the current congestion avoidance stage").
    w_max: f64,
    /// When the current congestion avoidance stage began.
    epoch_start: Option<SimTime>,
    k_secs: f64,
    /// The Reno-friendly window W_est, bytes.
    w_est: f64,
    /// `increase: per-ack`: slow start adds one SMSS per ACK, as ns-3's
    /// NewReno; congestion avoidance is RFC 9438's either way. (ns-3.44's
    /// `TcpCubic` counts segments acknowledged in slow start, as `bytes`
    /// does with delayed ACKs.)
    per_ack: bool,
}

impl Cubic {
    pub fn new(initial_window: u64) -> Cubic {
        Cubic {
            cwnd: initial_window as f64,
            ssthresh: u64::MAX,
            w_max: 0.0,
            epoch_start: None,
            k_secs: 0.0,
            w_est: 0.0,
            per_ack: false,
        }
    }

    /// Slow start counts ACKs rather than bytes (ns-3).
    pub fn with_per_ack(mut self, per_ack: bool) -> Cubic {
        self.per_ack = per_ack;
        self
    }

    /// W_cubic(t) in bytes.
    pub fn w_cubic(&self, t_secs: f64, smss: u64) -> f64 {
        let d = t_secs - self.k_secs;
        (C * d * d * d) * smss as f64 + self.w_max
    }

    pub fn k_secs(&self) -> f64 {
        self.k_secs
    }

    /// When the current congestion avoidance stage began.
    pub fn epoch_start(&self) -> Option<SimTime> {
        self.epoch_start
    }

    pub fn w_max(&self) -> f64 {
        self.w_max
    }

    fn start_epoch(&mut self, now: SimTime, smss: u64) -> SimTime {
        if self.cwnd < self.w_max {
            let segments = (self.w_max - self.cwnd) / smss as f64;
            self.k_secs = cube_root(segments / C);
        } else {
            self.w_max = self.cwnd;
            self.k_secs = 0.0;
        }
        self.w_est = self.cwnd;
        self.epoch_start = Some(now);
        now
    }

    /// RFC 9438 §4.6–4.7: the reduction at a congestion event.
    fn reduce(&mut self, flight: u64, smss: u64) {
        // Fast convergence: "if (cwnd < W_max) W_max = cwnd * (1 +
        // β_cubic) / 2 else W_max = cwnd".
        self.w_max = if self.cwnd < self.w_max {
            self.cwnd * (1.0 + BETA) / 2.0
        } else {
            self.cwnd
        };
        // "ssthresh = flight_size * β_cubic", at least 2 segments.
        self.ssthresh = ((flight as f64 * BETA) as u64).max(2 * smss);
        self.epoch_start = None;
    }
}

/// x^(1/3) for x ≥ 0 by Newton's method.
pub(super) fn cube_root(x: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    let mut y = if x > 1.0 { x / 3.0 } else { 1.0 };
    for _ in 0..200 {
        let next = y - (y * y * y - x) / (3.0 * y * y);
        if (next - y).abs() <= 1e-12 * y {
            return next;
        }
        y = next;
    }
    y
}

impl Controller for Cubic {
    fn cwnd(&self) -> u64 {
        self.cwnd as u64
    }

    fn ssthresh(&self) -> u64 {
        self.ssthresh
    }

    fn set_cwnd(&mut self, cwnd: u64) {
        self.cwnd = cwnd as f64;
    }

    fn set_ssthresh(&mut self, ssthresh: u64) {
        self.ssthresh = ssthresh;
    }

    fn on_ack(&mut self, now: SimTime, acked: u64, smss: u64, srtt_ns: u64) {
        let mut acked = acked;
        if self.cwnd() < self.ssthresh {
            let cwnd;
            (cwnd, acked) = slow_start(self.cwnd(), self.ssthresh, acked, smss, self.per_ack);
            self.cwnd = cwnd as f64;
        }
        if acked == 0 {
            return;
        }
        let epoch = match self.epoch_start {
            Some(epoch) => epoch,
            None => self.start_epoch(now, smss),
        };
        let t_secs = (now - epoch).as_nanos() as f64 / 1e9;
        let rtt_secs = srtt_ns as f64 / 1e9;
        let acked = acked as f64;
        // §4.3: "W_est = W_est + α_cubic * segments_acked / cwnd", and
        // α_cubic = 1 once W_est has reached the old W_max.
        let alpha = if self.w_est >= self.w_max { 1.0 } else { ALPHA };
        self.w_est += alpha * acked * smss as f64 / self.cwnd;
        if self.w_cubic(t_secs, smss) < self.w_est {
            // §4.3: "cwnd SHOULD be set to W_est" in the Reno-friendly region.
            self.cwnd = self.w_est;
            return;
        }
        // §4.4–4.5: "cwnd MUST be incremented by (target - cwnd)/cwnd for
        // each received new ACK", one ACK per SMSS acknowledged.
        let target = self
            .w_cubic(t_secs + rtt_secs, smss)
            .clamp(self.cwnd, 1.5 * self.cwnd);
        self.cwnd += (target - self.cwnd) / self.cwnd * acked;
    }

    fn on_loss(&mut self, _now: SimTime, flight: u64, smss: u64) {
        self.reduce(flight, smss);
        self.cwnd = self.ssthresh as f64;
    }

    /// §4.8: "In the case of a timeout, CUBIC follows Reno to reduce cwnd
    /// [RFC5681] but sets ssthresh using β_cubic".
    fn on_timeout(&mut self, _now: SimTime, flight: u64, smss: u64, first: bool) {
        if first {
            self.reduce(flight, smss);
            self.w_max = 0.0;
        }
        self.cwnd = smss as f64;
        self.epoch_start = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMSS: u64 = 1_000;

    #[test]
    fn cube_root_is_exact_enough() {
        for x in [0.001, 0.5, 1.0, 8.0, 27.0, 1e6, 12345.678] {
            let y = cube_root(x);
            assert!((y * y * y - x).abs() <= 1e-9 * x.max(1.0), "{x}: {y}");
        }
        assert_eq!(cube_root(0.0), 0.0);
    }

    #[test]
    fn loss_reduces_by_beta_and_computes_k() {
        let mut cc = Cubic::new(10 * SMSS);
        cc.set_cwnd(100 * SMSS);
        cc.on_loss(SimTime::ZERO, 100 * SMSS, SMSS);
        assert_eq!(cc.cwnd(), 70 * SMSS);
        assert_eq!(cc.ssthresh(), 70 * SMSS);
        cc.on_ack(SimTime::ZERO, SMSS, SMSS, 0);
        // K = cbrt(100 * 0.3 / 0.4) = cbrt(75) ≈ 4.217 s.
        assert!((cc.k_secs() - 4.2172).abs() < 1e-3, "{}", cc.k_secs());
        // A second loss below W_max converges fast: W_max = cwnd * 0.85.
        let cwnd = cc.cwnd;
        cc.on_loss(SimTime::ZERO, cwnd as u64, SMSS);
        assert!((cc.w_max() - cwnd * 0.85).abs() < 1e-6);
    }

    /// Drive one window of ACKs per RTT after a loss and compare cwnd
    /// with W_cubic(t): it must track the curve (within a few percent and
    /// a segment) through the concave region, the plateau and the convex
    /// region.
    #[test]
    fn window_follows_w_cubic_after_a_loss() {
        let rtt_ns: u64 = 100_000_000;
        let mut cc = Cubic::new(10 * SMSS);
        cc.set_cwnd(200 * SMSS);
        let loss_at = SimTime::from_secs(1);
        cc.on_loss(loss_at, 200 * SMSS, SMSS);
        assert_eq!(cc.cwnd(), 140 * SMSS);
        let mut now = loss_at;
        let mut checked = 0;
        for _round in 0..150 {
            let segments = cc.cwnd() / SMSS;
            let step_ns = rtt_ns / segments;
            for _ in 0..segments {
                now = now + SimTime(step_ns);
                cc.on_ack(now, SMSS, SMSS, rtt_ns);
            }
            let t = (now - loss_at).as_nanos() as f64 / 1e9;
            let expected = cc.w_cubic(t, SMSS);
            let actual = cc.cwnd;
            // cwnd aims at W_cubic one RTT ahead, and lags by up to one
            // RTT of growth: compare against the curve at t + RTT/2.
            let ahead = cc.w_cubic(t + 0.05, SMSS);
            let tolerance = 0.05 * expected + 2.0 * SMSS as f64;
            assert!(
                (actual - ahead).abs() <= tolerance,
                "t={t:.2}s cwnd={actual:.0} W_cubic(t)={expected:.0}"
            );
            checked += 1;
        }
        assert_eq!(checked, 150);
        // 15 s after the loss the window is well past W_max (convex).
        assert!(cc.cwnd() > 200 * SMSS);
    }
}
