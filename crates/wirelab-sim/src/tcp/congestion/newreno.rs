//! Reno congestion control: RFC 5681 §3.1 with RFC 3465 byte counting.
//! (The "New" of NewReno, RFC 6582's partial-ACK handling in fast
//! recovery, is in the socket, shared with CUBIC.)

use super::{slow_start, Controller};
use crate::time::SimTime;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewReno {
    cwnd: u64,
    ssthresh: u64,
    /// RFC 3465 §2.1: bytes acknowledged since cwnd last grew in
    /// congestion avoidance.
    bytes_acked: u64,
    /// `increase: per-ack`: ns-3's rule, SMSS²/cwnd per ACK.
    per_ack: bool,
}

impl NewReno {
    pub fn new(initial_window: u64) -> NewReno {
        NewReno {
            cwnd: initial_window,
            ssthresh: u64::MAX,
            bytes_acked: 0,
            per_ack: false,
        }
    }

    /// Count ACKs rather than bytes (ns-3's `TcpNewReno`).
    pub fn with_per_ack(mut self, per_ack: bool) -> NewReno {
        self.per_ack = per_ack;
        self
    }

    /// RFC 5681 §3.1 (4): "ssthresh = max (FlightSize / 2, 2*SMSS)".
    fn halve(flight: u64, smss: u64) -> u64 {
        (flight / 2).max(2 * smss)
    }
}

impl Controller for NewReno {
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

    /// RFC 3465 §2.1: "When the number of bytes acknowledged reaches cwnd,
    /// then cwnd can be incremented by up to SMSS bytes."
    fn on_ack(&mut self, _now: SimTime, acked: u64, smss: u64, _srtt_ns: u64) {
        let mut acked = acked;
        if self.cwnd < self.ssthresh {
            (self.cwnd, acked) = slow_start(self.cwnd, self.ssthresh, acked, smss, self.per_ack);
        }
        if acked == 0 {
            return;
        }
        if self.per_ack {
            // ns-3 `TcpNewReno::CongestionAvoidance`: "adder =
            // segSize * segSize / cWnd", at least 1 byte, once per ACK.
            self.cwnd += (smss * smss / self.cwnd.max(1)).max(1);
            return;
        }
        self.bytes_acked += acked;
        if self.bytes_acked >= self.cwnd {
            self.bytes_acked -= self.cwnd;
            self.cwnd += smss;
        }
    }

    fn on_loss(&mut self, _now: SimTime, flight: u64, smss: u64) {
        self.ssthresh = Self::halve(flight, smss);
        self.cwnd = self.ssthresh;
        self.bytes_acked = 0;
    }

    /// RFC 5681 §3.1: "when a TCP sender detects segment loss using the
    /// retransmission timer ... the value of ssthresh MUST be set to no
    /// more than the value given in equation (4) ... Furthermore, upon a
    /// timeout (as specified in [RFC2988]) cwnd MUST be set to no more
    /// than the loss window, LW, which equals 1 full-sized segment".
    fn on_timeout(&mut self, _now: SimTime, flight: u64, smss: u64, first: bool) {
        if first {
            self.ssthresh = Self::halve(flight, smss);
        }
        self.cwnd = smss;
        self.bytes_acked = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMSS: u64 = 1_000;
    const T: SimTime = SimTime::ZERO;

    #[test]
    fn slow_start_then_one_segment_per_window() {
        let mut cc = NewReno::new(10 * SMSS);
        for _ in 0..10 {
            cc.on_ack(T, SMSS, SMSS, 0);
        }
        assert_eq!(cc.cwnd(), 20 * SMSS);
        cc.on_loss(T, 20 * SMSS, SMSS);
        assert_eq!((cc.cwnd(), cc.ssthresh()), (10 * SMSS, 10 * SMSS));
        for _ in 0..10 {
            cc.on_ack(T, SMSS, SMSS, 0);
        }
        assert_eq!(cc.cwnd(), 11 * SMSS);
    }

    #[test]
    fn per_ack_counts_acks_not_bytes() {
        let mut cc = NewReno::new(10 * SMSS).with_per_ack(true);
        // Delayed ACKs of two segments each: one SMSS per ACK.
        for _ in 0..5 {
            cc.on_ack(T, 2 * SMSS, SMSS, 0);
        }
        assert_eq!(cc.cwnd(), 15 * SMSS);
        cc.on_loss(T, 20 * SMSS, SMSS);
        assert_eq!(cc.cwnd(), 10 * SMSS);
        // SMSS * SMSS / cwnd = 100 bytes per ACK, whatever it covers.
        cc.on_ack(T, 2 * SMSS, SMSS, 0);
        assert_eq!(cc.cwnd(), 10 * SMSS + 100);
    }

    #[test]
    fn timeout_goes_to_the_loss_window_and_halves_once() {
        let mut cc = NewReno::new(10 * SMSS);
        cc.on_timeout(T, 40 * SMSS, SMSS, true);
        assert_eq!((cc.cwnd(), cc.ssthresh()), (SMSS, 20 * SMSS));
        cc.on_timeout(T, SMSS, SMSS, false);
        assert_eq!((cc.cwnd(), cc.ssthresh()), (SMSS, 20 * SMSS));
        cc.on_loss(T, SMSS, SMSS);
        assert_eq!(cc.ssthresh(), 2 * SMSS);
    }
}
