//! Proportional Rate Reduction (RFC 6937), with the PRR-SSRB bound: how
//! much a sender in loss recovery may send on each ACK.
//!
//! Read: RFC 6937 §3 (the algorithm) and §5 (examples). Without PRR,
//! RFC 6675 sends nothing for the first half of the recovery and then a
//! burst (cwnd drops to ssthresh at once while pipe is still the old
//! window); RFC 6582's inflation does much the same. PRR spreads the
//! reduction over the recovery instead: while pipe > ssthresh it sends in
//! proportion to what was delivered (`ssthresh / RecoverFS` per delivered
//! byte), and once pipe is below ssthresh (a burst of losses) it grows
//! pipe back towards ssthresh at most one segment faster than what is
//! delivered (slow-start reduction bound, SSRB) — as Linux and ns-3 do.
//!
//! The socket keeps the state ([`Prr`]), computes DeliveredData and pipe,
//! and sets `cwnd = pipe + sndcnt` on every ACK during recovery.

/// RFC 6937 §3's per-recovery state, bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Prr {
    /// "Total bytes delivered during recovery".
    pub delivered: u64,
    /// "Total bytes sent during recovery".
    pub out: u64,
    /// "FlightSize at the start of recovery".
    pub recover_fs: u64,
}

impl Prr {
    /// "At the beginning of recovery, initialize the PRR state ...
    /// prr_delivered = 0, prr_out = 0, RecoverFS = snd.nxt - snd.una".
    pub fn start(recover_fs: u64) -> Prr {
        Prr {
            delivered: 0,
            out: 0,
            recover_fs: recover_fs.max(1),
        }
    }

    /// "On every ACK during recovery": account `delivered` (DeliveredData)
    /// and return `sndcnt`, the bytes that may be sent now; the caller
    /// sets `cwnd = pipe + sndcnt`. Below ssthresh PRR-SSRB allows one
    /// segment more than delivered.
    pub fn on_ack(&mut self, delivered: u64, pipe: u64, ssthresh: u64, smss: u64) -> u64 {
        self.delivered += delivered;
        if pipe > ssthresh {
            // Proportional rate reduction: "sndcnt = CEIL(prr_delivered *
            // ssthresh / RecoverFS) - prr_out", the ceiling taken in
            // segments as Linux does (`DIV_ROUND_UP` on packet counts), so
            // that a share is never a fraction of a segment that cannot go.
            let smss = smss.max(1);
            let num = u128::from(self.delivered) * u128::from(ssthresh);
            let den = u128::from(self.recover_fs) * u128::from(smss);
            let segments = num.div_ceil(den).min(u128::from(u64::MAX / smss)) as u64;
            (segments * smss).saturating_sub(self.out)
        } else {
            // PRR-SSRB: "limit = MAX(prr_delivered - prr_out,
            // DeliveredData) + MSS; sndcnt = MIN(ssthresh - pipe, limit)".
            let limit = self.delivered.saturating_sub(self.out).max(delivered) + smss;
            (ssthresh - pipe).min(limit)
        }
    }

    /// ns-3.44's `TcpPrrRecovery::DoRecovery`, for `recovery: ns3`, bug for
    /// bug: `None` when the ACK delivered nothing (ns-3 leaves cwnd alone),
    /// else `sndcnt` for `cwnd = pipe + sndcnt`. It differs from
    /// [`Prr::on_ack`] in three ways:
    ///
    /// - the proportional share is `ceil(prr_delivered * ssthresh /
    ///   RecoverFS) - prr_out` in bytes, not whole segments, and the
    ///   product is taken in 32 bits: ns-3.44 multiplies two `uint32_t`
    ///   (`m_prrDelivered * tcb->m_ssThresh * 1.0`), which wraps once it
    ///   passes 2^32. With an ssthresh of 495,216 bytes it wraps after six
    ///   segments delivered, and the share then drops to almost nothing
    ///   until the next wrap: ns-3 sends little while pipe > ssthresh;
    /// - PRR-SSRB's extra segment only on a "safe" ACK (`safe_ack`);
    /// - at least one segment while nothing has been sent in this recovery
    ///   ("Force a fast retransmit upon entering fast recovery"), and never
    ///   less than nothing.
    pub fn on_ack_ns3(
        &mut self,
        delivered: u64,
        pipe: u64,
        ssthresh: u64,
        smss: u64,
        safe_ack: bool,
    ) -> Option<u64> {
        if delivered == 0 {
            return None;
        }
        self.delivered += delivered;
        let out = self.out as i64;
        let sndcnt = if pipe > ssthresh {
            let product = (self.delivered as u32).wrapping_mul(ssthresh as u32);
            (f64::from(product) / self.recover_fs as f64).ceil() as i64 - out
        } else {
            // "int limit = std::max(m_prrDelivered - m_prrOut,
            // deliveredBytes)": the difference of two `uint32_t`, so when
            // more was sent than delivered it wraps, wins the max, and
            // turns negative in the `int`; the safe ACK's segment then
            // brings it to about nothing, not to two segments.
            let crb = (self.delivered as u32)
                .wrapping_sub(self.out as u32)
                .max(delivered as u32) as i32;
            let limit = if safe_ack {
                crb.wrapping_add(smss as i32)
            } else {
                crb
            };
            i64::from(limit).min(ssthresh as i64 - pipe as i64)
        };
        let floor = if self.out > 0 { 0 } else { smss as i64 };
        Some(sndcnt.max(floor) as u64)
    }

    /// "On any data transmission or retransmission: prr_out += (data
    /// sent)".
    pub fn on_send(&mut self, bytes: u64) {
        self.out += bytes;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MSS: u64 = 1_000;

    /// RFC 6937 §5, Figure 1's single loss with Reno: 20 segments in
    /// flight, segment 1 lost, ssthresh = 10. Each duplicate ACK delivers
    /// one segment; PRR sends on every other ACK (the fast retransmit on
    /// the first), so that exactly ssthresh is sent during recovery and
    /// pipe ends at ssthresh rather than bursting half-way.
    #[test]
    fn single_loss_sends_one_segment_per_two_acks() {
        let ssthresh = 10 * MSS;
        let mut prr = Prr::start(20 * MSS);
        // pipe: 20 in flight, 1 lost; each ACK removes one, each send adds.
        let mut pipe = 19 * MSS;
        let mut sent = Vec::new();
        for _ack in 0..19 {
            pipe -= MSS;
            let sndcnt = prr.on_ack(MSS, pipe, ssthresh, MSS);
            let n = sndcnt / MSS;
            for _ in 0..n {
                prr.on_send(MSS);
                pipe += MSS;
            }
            sent.push(n);
        }
        // The last ACKs find pipe at ssthresh: PRR-SSRB tops it up.
        assert_eq!(
            sent,
            [1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 0, 1, 1]
        );
        assert_eq!(prr.out, 10 * MSS);
        assert_eq!(pipe, 10 * MSS);
    }

    /// The sndcnt arithmetic: the ceiling, and nothing negative.
    #[test]
    fn sndcnt_is_the_ceiling_of_the_proportional_share() {
        // CUBIC's β = 0.7: 7 of every 10 delivered segments may be sent,
        // rounded up to whole segments.
        let mut prr = Prr::start(10 * MSS);
        // ceil(1 * 7 / 10) = 1 segment.
        assert_eq!(prr.on_ack(MSS, 9 * MSS, 7 * MSS, MSS), MSS);
        prr.on_send(MSS);
        // ceil(2 * 0.7) = 2 segments, minus 1 sent.
        assert_eq!(prr.on_ack(MSS, 9 * MSS, 7 * MSS, MSS), MSS);
        prr.on_send(MSS);
        // ceil(2.001 * 0.7) = 2 segments, 2 sent: nothing.
        assert_eq!(prr.on_ack(1, 9 * MSS, 7 * MSS, MSS), 0);
        // Nine segments and a byte delivered: ceil(6.3) = 7 sent in all.
        for _ in 0..7 {
            let n = prr.on_ack(MSS, 9 * MSS, 7 * MSS, MSS);
            prr.on_send(n);
        }
        assert_eq!(prr.out, 7 * MSS);
        // Never negative, even with more sent than allowed.
        let mut prr = Prr::start(10 * MSS);
        prr.on_send(5 * MSS);
        assert_eq!(prr.on_ack(MSS, 9 * MSS, 5 * MSS, MSS), 0);
    }

    /// A burst of losses takes pipe below ssthresh: PRR-SSRB lets pipe
    /// grow back by at most one segment more than each ACK delivers (as
    /// slow start would), never past ssthresh, and spends what the
    /// proportional part banked.
    #[test]
    fn burst_of_losses_is_bounded_by_ssrb() {
        let ssthresh = 10 * MSS;
        let mut prr = Prr::start(20 * MSS);
        // 20 in flight, 12 lost: pipe is 8 after the first ACK (7 + the
        // delivered one leaves 7; below ssthresh from the start).
        let sndcnt = prr.on_ack(MSS, 7 * MSS, ssthresh, MSS);
        // limit = max(1 - 0, 1) + 1 = 2 segments.
        assert_eq!(sndcnt, 2 * MSS);
        prr.on_send(2 * MSS);
        // Next ACK delivers one: pipe 8, limit = max(2 - 2, 1) + 1 = 2.
        assert_eq!(prr.on_ack(MSS, 8 * MSS, ssthresh, MSS), 2 * MSS);
        prr.on_send(2 * MSS);
        // Near ssthresh the gap bounds it: pipe 9.5 → 500 bytes.
        assert_eq!(prr.on_ack(MSS, 9 * MSS + 500, ssthresh, MSS), 500);
        // An ACK delivering many (a cumulative ACK after a hole is filled)
        // may send as many, plus one.
        let mut prr = Prr::start(100 * MSS);
        prr.on_send(5 * MSS);
        assert_eq!(prr.on_ack(4 * MSS, 10 * MSS, 40 * MSS, MSS), 5 * MSS);
    }

    /// ns-3.44's PRR, against a trace of ns-3.44 itself (the 1-flow CUBIC
    /// dumbbell's first recovery, `benches/scenarios/trace/ns3_trace.py`):
    /// ssthresh 495,216 B, RecoverFS = pipe = 705,176 B, each duplicate ACK
    /// SACKs one 1,448 B segment and counts one more. The cwnd values are
    /// ns-3's `CongestionWindow` trace; the third ACK's share wraps.
    #[test]
    fn ns3_share_wraps_in_32_bits_as_ns3_does() {
        const SEG: u64 = 1_448;
        let ssthresh = 495_216;
        let mut prr = Prr::start(705_176);
        // (pipe after the ACK's SACK, cwnd ns-3 set, bytes sent after it)
        let acks = [
            (705_176, 707_210, SEG), // the fast retransmit
            (705_176, 707_796, SEG), // one new segment
            (702_280, 702_280, 0),   // 8,688 × 495,216 wrapped: nothing
            (700_832, 700_832, 0),
            (696_488, 697_671, 0),
        ];
        for (pipe, cwnd, sent) in acks {
            let sndcnt = prr.on_ack_ns3(2 * SEG, pipe, ssthresh, SEG, false);
            assert_eq!(sndcnt.map(|s| pipe + s), Some(cwnd));
            prr.on_send(sent);
        }
        // Without the wrap the third ACK would have allowed two segments.
        assert_eq!((8_688u64 * 495_216).div_ceil(705_176) - 2 * SEG, 3_206);
        // An ACK that delivers nothing leaves cwnd alone.
        assert_eq!(prr.on_ack_ns3(0, 690_000, ssthresh, SEG, true), None);
    }

    /// ns-3.44 below ssthresh: PRR-CRB, plus a segment on a safe ACK; and
    /// the first ACK of a recovery always allows the fast retransmit.
    #[test]
    fn ns3_below_ssthresh_is_crb_plus_one_on_safe_acks() {
        let mut prr = Prr::start(20 * MSS);
        assert_eq!(
            prr.on_ack_ns3(MSS, 7 * MSS, 10 * MSS, MSS, false),
            Some(MSS)
        );
        prr.on_send(MSS);
        assert_eq!(
            prr.on_ack_ns3(MSS, 7 * MSS, 10 * MSS, MSS, false),
            Some(MSS)
        );
        prr.on_send(MSS);
        assert_eq!(
            prr.on_ack_ns3(MSS, 7 * MSS, 10 * MSS, MSS, true),
            Some(2 * MSS)
        );
        // More sent than delivered: ns-3's unsigned difference wraps and
        // its `int` turns negative, so even a safe ACK allows nothing
        // (the 64-flow CUBIC dumbbell's flow 14 at 232.749 ms: cwnd set
        // to BytesInFlight, where the arithmetic of RFC 6937 gives two
        // segments).
        let mut prr = Prr::start(2 * MSS);
        prr.delivered = 6 * MSS;
        prr.out = 8 * MSS;
        assert_eq!(prr.on_ack_ns3(MSS, 5 * MSS, 7 * MSS, MSS, true), Some(0));
        assert_eq!(
            prr.on_ack_ns3(MSS, 4 * MSS, 7 * MSS, MSS, true),
            Some(2 * MSS)
        );
        // Nothing sent yet: one segment at least, even with no share.
        let mut prr = Prr::start(1_000 * MSS);
        assert_eq!(
            prr.on_ack_ns3(1, 900 * MSS, 500 * MSS, MSS, false),
            Some(MSS)
        );
    }
}
