//! Congestion control: the window a sender may have in flight.
//!
//! Read: RFC 5681 (slow start, congestion avoidance, the loss window after
//! a timeout), RFC 3465 (appropriate byte counting), RFC 6928 (initial
//! window 10), RFC 9438 (CUBIC; and Linux's and ns-3's CUBIC in
//! [`cubic_linux`]). Loss *recovery* — fast retransmit, the
//! RFC 6582 window inflation, RFC 6675's pipe — is the socket's, as in
//! Linux, where a congestion module supplies the new ssthresh and the
//! growth of cwnd and the recovery machinery is shared.
//!
//! Windows are in bytes. `ssthresh` starts at `u64::MAX` (RFC 5681 §3.1:
//! "The initial value of ssthresh SHOULD be set arbitrarily high").

use wirelab_spec::model::{CongestionControl, CubicVariant, WindowIncrease};

use crate::tcp::seq::SeqNumber;
use crate::time::SimTime;

pub mod cubic;
pub mod cubic_linux;
pub mod hystart;
pub mod newreno;
pub mod prr;

pub use cubic::Cubic;
pub use cubic_linux::CubicLinux;
pub use newreno::NewReno;

/// What a congestion controller is told and what it answers.
pub trait Controller {
    /// The congestion window, bytes.
    fn cwnd(&self) -> u64;
    /// The slow-start threshold, bytes.
    fn ssthresh(&self) -> u64;
    /// Loss recovery sets the window directly (RFC 6582 inflation and
    /// deflation, RFC 6675's `cwnd = ssthresh`).
    fn set_cwnd(&mut self, cwnd: u64);
    /// Slow start ends early (HyStart++, RFC 9406 §4.2: "ssthresh to the
    /// current cwnd").
    fn set_ssthresh(&mut self, ssthresh: u64);
    /// `acked` new bytes were cumulatively acknowledged outside loss
    /// recovery; `srtt_ns` is the smoothed RTT (0 before any sample).
    fn on_ack(&mut self, now: SimTime, acked: u64, smss: u64, srtt_ns: u64);
    /// A loss detected by duplicate ACKs or SACK, once per window: set
    /// ssthresh and reduce cwnd to it.
    fn on_loss(&mut self, now: SimTime, flight: u64, smss: u64);
    /// The retransmission timer expired; `first` is false for the
    /// backed-off expirations that follow (RFC 5681 §3.1: ssthresh is
    /// reduced once, cwnd goes to the loss window each time).
    fn on_timeout(&mut self, now: SimTime, flight: u64, smss: u64, first: bool);
    /// An ACK that acknowledged new data, in or out of loss recovery,
    /// just before `on_ack` (Linux's `pkts_acked`, ns-3's `PktsAcked`):
    /// `ack` is the new SND.UNA, `high_data` HighData, `rtt_ns` the ACK's
    /// RTT sample if it has one. Linux's CUBIC keeps its minimum RTT and
    /// runs HyStart here.
    fn on_ack_sample(
        &mut self,
        _now: SimTime,
        _ack: SeqNumber,
        _high_data: SeqNumber,
        _rtt_ns: Option<u64>,
        _smss: u64,
    ) {
    }
    /// Whether the ACK that ends a loss recovery is also passed to
    /// `on_ack`, after cwnd is set to ssthresh (Linux and ns-3 grow on
    /// it; RFC 6937 ends with "cwnd = ssthresh").
    fn grows_on_recovery_exit(&self) -> bool {
        false
    }
}

/// One of the implemented controllers, chosen by the host's settings.
/// An enum rather than a box: the socket stays one allocation-free value.
#[derive(Clone, Debug, PartialEq)]
pub enum AnyController {
    NewReno(NewReno),
    Cubic(Cubic),
    CubicLinux(CubicLinux),
}

impl AnyController {
    /// RFC 6928: "the initial window ... MUST NOT exceed min(10*MSS,
    /// max(2*MSS, 14600))"; here `initial_window` segments of `smss`.
    pub fn new(
        kind: CongestionControl,
        cubic: CubicVariant,
        increase: WindowIncrease,
        initial_window: u32,
        smss: u64,
    ) -> AnyController {
        let iw = u64::from(initial_window.max(1)) * smss;
        let per_ack = increase == WindowIncrease::PerAck;
        match kind {
            CongestionControl::NewReno => {
                AnyController::NewReno(NewReno::new(iw).with_per_ack(per_ack))
            }
            CongestionControl::Cubic => match cubic {
                CubicVariant::Rfc9438 => AnyController::Cubic(Cubic::new(iw).with_per_ack(per_ack)),
                CubicVariant::Linux => {
                    AnyController::CubicLinux(CubicLinux::new(iw, cubic_linux::Variant::Linux))
                }
                CubicVariant::Ns3 => {
                    AnyController::CubicLinux(CubicLinux::new(iw, cubic_linux::Variant::Ns3))
                }
            },
        }
    }

    fn inner(&self) -> &dyn Controller {
        match self {
            AnyController::NewReno(c) => c,
            AnyController::Cubic(c) => c,
            AnyController::CubicLinux(c) => c,
        }
    }

    fn inner_mut(&mut self) -> &mut dyn Controller {
        match self {
            AnyController::NewReno(c) => c,
            AnyController::Cubic(c) => c,
            AnyController::CubicLinux(c) => c,
        }
    }
}

impl Controller for AnyController {
    fn cwnd(&self) -> u64 {
        self.inner().cwnd()
    }
    fn ssthresh(&self) -> u64 {
        self.inner().ssthresh()
    }
    fn set_cwnd(&mut self, cwnd: u64) {
        self.inner_mut().set_cwnd(cwnd)
    }
    fn set_ssthresh(&mut self, ssthresh: u64) {
        self.inner_mut().set_ssthresh(ssthresh)
    }
    fn on_ack(&mut self, now: SimTime, acked: u64, smss: u64, srtt_ns: u64) {
        self.inner_mut().on_ack(now, acked, smss, srtt_ns)
    }
    fn on_loss(&mut self, now: SimTime, flight: u64, smss: u64) {
        self.inner_mut().on_loss(now, flight, smss)
    }
    fn on_timeout(&mut self, now: SimTime, flight: u64, smss: u64, first: bool) {
        self.inner_mut().on_timeout(now, flight, smss, first)
    }
    fn on_ack_sample(
        &mut self,
        now: SimTime,
        ack: SeqNumber,
        high_data: SeqNumber,
        rtt_ns: Option<u64>,
        smss: u64,
    ) {
        self.inner_mut()
            .on_ack_sample(now, ack, high_data, rtt_ns, smss)
    }
    fn grows_on_recovery_exit(&self) -> bool {
        self.inner().grows_on_recovery_exit()
    }
}

/// RFC 3465 §2.3's limit L on the bytes one ACK may add in slow start.
///
/// > "During slow start, ... cwnd is increased by the number of
/// > previously unacknowledged bytes ACKed by each incoming ACK, provided
/// > the increase is not more than L bytes ... L=2*SMSS bytes"
///
/// With delayed ACKs (one ACK per two segments) this still doubles cwnd
/// every RTT, as RFC 5681 §3.1's "+1 SMSS per ACKed SMSS" intends.
pub const ABC_LIMIT_SEGMENTS: u64 = 2;

/// Slow start: grow `cwnd` by `acked` (at most L), not past `ssthresh`.
/// Returns the new window and the acknowledged bytes left over for
/// congestion avoidance.
///
/// With `per_ack` (`increase: per-ack`) it is ns-3's
/// `TcpNewReno::SlowStart` instead: "if (segmentsAcked >= 1) { cWnd +=
/// segmentSize; return segmentsAcked - 1; }" — one SMSS per ACK, whatever
/// the ACK covers, **not** capped at `ssthresh` (ns-3 may overshoot it by
/// up to a segment); the ACK's other segments are left over, and the
/// caller counts them in congestion avoidance only once `cwnd` has
/// reached `ssthresh` (`TcpNewReno::IncreaseWindow`).
pub fn slow_start(cwnd: u64, ssthresh: u64, acked: u64, smss: u64, per_ack: bool) -> (u64, u64) {
    if per_ack {
        if acked == 0 {
            return (cwnd, 0);
        }
        let grown = cwnd + smss;
        let left = if grown >= ssthresh {
            acked.saturating_sub(smss)
        } else {
            0
        };
        return (grown, left);
    }
    let increase = acked.min(ABC_LIMIT_SEGMENTS * smss);
    let used = increase.min(ssthresh.saturating_sub(cwnd));
    (cwnd + used, increase - used)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slow_start_is_limited_by_abc_and_ssthresh() {
        assert_eq!(
            slow_start(10_000, u64::MAX, 1_000, 1_000, false),
            (11_000, 0)
        );
        assert_eq!(
            slow_start(10_000, u64::MAX, 5_000, 1_000, false),
            (12_000, 0)
        );
        assert_eq!(
            slow_start(10_000, 10_500, 1_000, 1_000, false),
            (10_500, 500)
        );
        // Per ACK (ns-3): one segment, however much the ACK covers, and
        // the rest is not counted while below ssthresh...
        assert_eq!(
            slow_start(10_000, u64::MAX, 2_000, 1_000, true),
            (11_000, 0)
        );
        assert_eq!(slow_start(10_000, u64::MAX, 500, 1_000, true), (11_000, 0));
        // ...past ssthresh, without a cap, the other segments left over
        // for congestion avoidance...
        assert_eq!(
            slow_start(10_000, 10_500, 2_000, 1_000, true),
            (11_000, 1_000)
        );
        // ...and reaching it exactly counts them too.
        assert_eq!(
            slow_start(10_000, 11_000, 3_000, 1_000, true),
            (11_000, 2_000)
        );
        assert_eq!(slow_start(10_000, 11_000, 0, 1_000, true), (10_000, 0));
    }
}
