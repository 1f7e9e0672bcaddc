//! What to send next: the SYN, retransmissions (fast retransmit, RFC 6582
//! partial ACKs, RFC 6675 `NextSeg`), new data within min(cwnd, peer
//! window) with Nagle (RFC 896) and sender SWS avoidance (RFC 9293
//! §3.8.6.2.1), the FIN, zero-window probes and ACKs.

use super::congestion::Controller;
use super::*;
use wirelab_spec::model::LossRecovery;

/// Retransmissions a SACK recovery remembers for lost retransmission
/// detection.
const RXT_TRACKED: usize = 4096;

impl Socket {
    /// The next segment to send at `now`, if any. Call until `None`.
    pub fn poll_transmit(&mut self, now: SimTime) -> Option<Tcp> {
        self.on_timer(now);
        let seg = self.next_segment();
        if seg.is_some() {
            self.stats.segments_sent += 1;
        }
        self.sync_stats();
        seg
    }

    fn next_segment(&mut self) -> Option<Tcp> {
        if let Some(rst) = self.pending_rst.take() {
            return Some(rst);
        }
        match self.state {
            State::Closed | State::Listen => None,
            State::SynSent => self.transmit_syn(),
            State::SynReceived => self.transmit_syn().or_else(|| self.transmit_ack()),
            State::TimeWait => self.transmit_ack(),
            _ => self.transmit_synchronized(),
        }
    }

    /// A segment with our ports and no options.
    pub(super) fn bare(&self, seq: SeqNumber, ack: u32, flags: u8) -> Tcp {
        Tcp::plain(self.local_port, self.remote_port, seq.0, ack, flags, 0)
    }

    /// The header of a segment in a synchronized state: ACK, window,
    /// timestamps, SACK blocks.
    fn header(&self, seq: SeqNumber, flags: u8) -> Tcp {
        let mut seg = self.bare(seq, self.rcv_nxt.0, flags | ACK);
        seg.window = self.window_field();
        if self.ts_ok {
            seg.timestamps = Some((self.ts_now(), self.ts_recent));
        }
        if self.sack_ok && !self.rx_ooo.is_empty() {
            (seg.sack, seg.sack_len) = self.rx_ooo.sack_blocks(3);
        }
        seg
    }

    /// The window field: RCV.WND >> our shift, rounded up rather than let
    /// the right edge move left (RFC 7323 §2.4).
    fn window_field(&self) -> u16 {
        let mut field = self.rcv_wnd() >> self.rcv_wscale;
        if self.rcv_nxt + (field << self.rcv_wscale) < self.rcv_adv {
            field += 1;
        }
        field.min(0xffff) as u16
    }

    /// Bookkeeping for every segment that carries an ACK.
    fn note_ack_sent(&mut self, seg: &Tcp) {
        self.ack_now = false;
        self.timers.delayed_ack = None;
        self.rx_unacked_bytes = 0;
        self.last_ack_sent = self.rcv_nxt;
        let shift = if seg.flags & SYN != 0 {
            0
        } else {
            self.rcv_wscale
        };
        let edge = self.rcv_nxt + (u32::from(seg.window) << shift);
        self.rcv_adv = self.rcv_adv.max(edge);
    }

    /// SYN (SYN-SENT) or SYN-ACK (SYN-RECEIVED), first or again.
    fn transmit_syn(&mut self) -> Option<Tcp> {
        if self.snd_nxt != self.iss {
            return None;
        }
        let answering = self.state == State::SynReceived;
        let mut seg = if answering {
            self.bare(self.iss, self.rcv_nxt.0, SYN | ACK)
        } else {
            self.bare(self.iss, 0, SYN)
        };
        // RFC 7323 §2.2: the SYN's window is never scaled.
        seg.window = self.rx_free().min(0xffff) as u16;
        if self.cfg.mss_option {
            seg.mss = Some(self.mss_local);
        }
        // A SYN offers what the settings allow; a SYN-ACK answers with
        // what both offered (RFC 7323 §2.2, §3.2; RFC 2018 §2).
        let (wscale, sack, ts) = if answering {
            (self.wscale_ok, self.sack_ok, self.ts_ok)
        } else {
            (self.cfg.window_scaling, self.cfg.sack, self.cfg.timestamps)
        };
        seg.wscale = wscale.then_some(self.rcv_wscale);
        seg.sack_permitted = sack;
        if ts {
            let tsecr = if answering { self.ts_recent } else { 0 };
            seg.timestamps = Some((self.ts_now(), tsecr));
        }
        if self.snd_max > self.iss {
            self.stats.segments_retransmitted += 1;
            self.rtt_timed = None;
        } else {
            self.rtt_timed = Some((self.iss, self.now));
        }
        self.snd_nxt = self.iss + 1;
        self.snd_max = self.snd_max.max(self.snd_nxt);
        self.arm_retransmit();
        if answering {
            self.note_ack_sent(&seg);
        }
        Some(seg)
    }

    fn transmit_synchronized(&mut self) -> Option<Tcp> {
        if std::mem::take(&mut self.ack_first) {
            if let Some(seg) = self.transmit_ack() {
                return Some(seg);
            }
        }
        if self.rexmit_first {
            self.rexmit_first = false;
            if let Some(seg) = self.retransmit_first() {
                return Some(seg);
            }
        }
        if std::mem::take(&mut self.ns3_rexmit_next) && self.recovery == Recovery::Sack {
            if let Some(seg) = self.ns3_retransmit_next() {
                return Some(seg);
            }
        }
        if self.recovery == Recovery::Sack {
            if let Some(seg) = self.retransmit_lost() {
                return Some(seg);
            }
        }
        if let Some(seg) = self.transmit_data() {
            return Some(seg);
        }
        if self.probe_now {
            self.probe_now = false;
            self.timers.persist = Some(self.now + SimTime(self.persist_interval_ns()));
            let seg = self.header(self.snd_una - 1, ACK);
            self.note_ack_sent(&seg);
            return Some(seg);
        }
        if let Some(seg) = self.transmit_ack() {
            return Some(seg);
        }
        self.arm_persist();
        None
    }

    /// A pure ACK, if one is due.
    fn transmit_ack(&mut self) -> Option<Tcp> {
        if !self.ack_now {
            return None;
        }
        let seg = self.header(self.snd_nxt, ACK);
        self.note_ack_sent(&seg);
        Some(seg)
    }

    /// RFC 6298 (5.1): "Every time a packet containing data is sent
    /// (including a retransmission), if the timer is not running, start it
    /// running so that it will expire after RTO seconds".
    fn arm_retransmit(&mut self) {
        if self.timers.retransmit.is_none() {
            self.timers.retransmit = Some(self.now + SimTime(self.rtt.rto_ns()));
        }
    }

    /// The persist timer runs while data waits for a zero window and
    /// nothing is in flight (nothing else would make the peer speak).
    fn arm_persist(&mut self) {
        let waiting = self.snd_max < self.tx_end && self.snd_wnd == 0;
        let idle = self.snd_una == self.snd_max;
        if waiting && idle && self.timers.persist.is_none() && self.timers.retransmit.is_none() {
            self.timers.persist = Some(self.now + SimTime(self.persist_interval_ns()));
        }
    }

    /// The first unacknowledged segment, whatever cwnd allows: fast
    /// retransmit, and RFC 6582's retransmission on a partial ACK.
    fn retransmit_first(&mut self) -> Option<Tcp> {
        let start = self.snd_una;
        let (_, end) = self.scoreboard.next_hole(start, self.snd_max)?;
        let seg = self.send_range(start, end)?;
        self.high_rxt = self.high_rxt.max(start + seg_len(&seg));
        self.note_retransmission(start, &seg);
        Some(seg)
    }

    /// Remember a SACK recovery's retransmission, for lost retransmission
    /// detection (at most [`RXT_TRACKED`]; beyond that, a timeout), and
    /// with `recovery: ns3` for ns-3's `BytesInFlight`.
    fn note_retransmission(&mut self, start: SeqNumber, seg: &Tcp) {
        if self.recovery == Recovery::Sack && self.rxt.len() < RXT_TRACKED {
            self.rxt
                .push((start, start + seg.payload_len, self.snd_max));
        }
    }

    /// A range sent again after a timeout with `recovery: ns3`: ns-3.44
    /// keeps counting it in `BytesInFlight` once SACKed, until SND.UNA
    /// passes it (as in a recovery). Contiguous ranges are merged.
    fn note_ns3_loss_retransmission(&mut self, start: SeqNumber, end: SeqNumber) {
        if let Some(last) = self.rxt.last_mut().filter(|last| last.1 == start) {
            last.1 = end;
        } else if self.rxt.len() < RXT_TRACKED {
            self.rxt.push((start, end, self.snd_max));
        }
    }

    /// Bytes ns-3.44 still counts in flight though SACKed: retransmissions
    /// above SND.UNA ([`Socket::rxt`]).
    fn ns3_sacked_retransmissions(&self) -> u64 {
        self.rxt
            .iter()
            .filter(|&&(_, end, _)| end > self.snd_una)
            .map(|&(start, end, _)| {
                let (start, end) = (start.max(self.snd_una), end.min(self.snd_max));
                u64::from(end - start) - self.scoreboard.unsacked_bytes(start, end)
            })
            .sum()
    }

    /// The first retransmission of this recovery known lost: still
    /// missing, though data sent after it has been SACKed. Never with
    /// `recovery: ns3`: ns-3.44, as RFC 6675, sends a segment again in
    /// one recovery only after a timeout.
    fn lost_retransmission(&self) -> Option<usize> {
        if self.cfg.recovery == LossRecovery::Ns3 {
            return None;
        }
        let sacked_end = self.scoreboard.sacked_end()?;
        let una = self.snd_una;
        self.rxt.iter().position(|&(start, end, fence)| {
            sacked_end > fence && self.scoreboard.unsacked_bytes(start.max(una), end) > 0
        })
    }

    /// ns-3.44's `DoRetransmit` in a SACK recovery, whatever cwnd allows:
    /// the segment `NextSeg` picks — rule (1), the first lost one above
    /// HighRxt, else rule (2), one segment of new data — else the first
    /// unacknowledged one again.
    pub(super) fn ns3_retransmit_next(&mut self) -> Option<Tcp> {
        if let Some(seg) = self.retransmit_next_lost() {
            return Some(seg);
        }
        if self.snd_nxt == self.snd_max && self.snd_max < self.tx_end {
            let room = u32::from(self.mss_send)
                .saturating_sub(self.header(self.snd_nxt, ACK).options_len())
                .max(1);
            let fin_end = self.tx_end + u32::from(self.fin_queued);
            let limit = if self.tx_end.saturating_since(self.snd_nxt) <= room {
                fin_end
            } else {
                self.snd_nxt + room
            };
            let seg = self.send_range(self.snd_nxt, limit)?;
            self.snd_nxt = self.snd_nxt + seg_len(&seg);
            return Some(seg);
        }
        self.retransmit_first()
    }

    /// RFC 6675 §4 `NextSeg` rule (1), while "cwnd - pipe >= 1 SMSS": "If
    /// there exists a smallest unSACKed sequence number 'S2' that meets
    /// the following three criteria ... (1.a) S2 is greater than HighRxt.
    /// (1.b) S2 is less than the highest octet covered by any received
    /// SACK. (1.c) IsLost (S2) returns true." Rules (3) and (4) (rescue
    /// retransmissions) are not implemented.
    fn retransmit_lost(&mut self) -> Option<Tcp> {
        let smss = self.smss();
        if self.cc.cwnd().saturating_sub(self.pipe()) < smss {
            return None;
        }
        if let Some(i) = self.lost_retransmission() {
            let (start, end, _) = self.rxt[i];
            if let Some((s, e)) = self.scoreboard.next_hole(start.max(self.snd_una), end) {
                if let Some(seg) = self.send_range(s, e) {
                    self.rxt[i] = (s, end, self.snd_max);
                    return Some(seg);
                }
            }
            self.rxt.swap_remove(i);
        }
        self.retransmit_next_lost()
    }

    /// `NextSeg` rule (1) without the window check: the first unSACKed
    /// range above HighRxt that the scoreboard takes for lost.
    fn retransmit_next_lost(&mut self) -> Option<Tcp> {
        let lost = self.scoreboard.lost_below(self.smss() as u32)?;
        let from = self.high_rxt.max(self.snd_una);
        let (start, end) = self.scoreboard.next_hole(from, lost.min(self.snd_max))?;
        let seg = self.send_range(start, end)?;
        self.high_rxt = start + seg_len(&seg);
        self.note_retransmission(start, &seg);
        Some(seg)
    }

    /// New data (or data again after a timeout) from SND.NXT, and the FIN
    /// after it.
    fn transmit_data(&mut self) -> Option<Tcp> {
        if !matches!(
            self.state,
            State::Established
                | State::CloseWait
                | State::FinWait1
                | State::Closing
                | State::LastAck
        ) {
            return None;
        }
        let fin_end = if self.fin_queued {
            self.tx_end + 1
        } else {
            self.tx_end
        };
        if self.snd_nxt >= fin_end {
            return None;
        }
        let mut hole = u32::MAX;
        if self.in_ns3_loss() && self.snd_nxt < self.recover {
            match self.scoreboard.next_hole(self.snd_nxt, self.recover) {
                Some((start, end)) => {
                    self.snd_nxt = start;
                    hole = end - start;
                }
                None => self.snd_nxt = self.recover,
            }
        }
        let data_left = self.tx_end.saturating_since(self.snd_nxt);
        if data_left == 0 {
            // Only the FIN is left; it needs no window.
            let seg = self.send_range(self.snd_nxt, fin_end)?;
            self.snd_nxt = fin_end;
            return Some(seg);
        }
        let room = u32::from(self.mss_send)
            .saturating_sub(self.header(self.snd_nxt, ACK).options_len())
            .max(1);
        let len = data_left.min(self.usable_window()).min(room).min(hole);
        if len == 0 {
            return None;
        }
        let first_time = self.snd_nxt >= self.snd_max;
        if first_time && !self.sender_may_send(len, room, data_left) {
            return None;
        }
        let limit = if len == data_left {
            fin_end
        } else {
            self.snd_nxt + len
        };
        let flight_before = self.in_flight();
        let start = self.snd_nxt;
        let seg = self.send_range(start, limit)?;
        self.snd_nxt = self.snd_nxt + seg_len(&seg);
        if self.in_ns3_loss() && start < self.recover {
            self.note_ns3_loss_retransmission(start, (start + seg.payload_len).min(self.recover));
        }
        if self.recovery == Recovery::None && self.dup_acks > 0 {
            // RFC 3042: what went beyond cwnd is limited transmit.
            let sent = u64::from(seg.payload_len);
            let beyond = (flight_before + sent).saturating_sub(self.cc.cwnd());
            self.limited_tx_bytes += beyond.min(sent);
        }
        Some(seg)
    }

    /// RFC 896 and RFC 9293 §3.8.6.2.1: send when a full segment can go,
    /// or when nothing is in flight ("If there is no unacknowledged data
    /// ... send"), or when this is all the queued data and Nagle is off
    /// (or the connection is closing: the last segment is pushed, as
    /// Linux does on close).
    fn sender_may_send(&self, len: u32, room: u32, data_left: u32) -> bool {
        let idle = self.snd_una == self.snd_max;
        len >= room || idle || (len == data_left && (!self.cfg.nagle || self.fin_queued))
    }

    /// Bytes that may be sent now beyond SND.NXT: min(cwnd − in flight,
    /// the peer's window). On the first two duplicate ACKs cwnd is
    /// extended by one segment each (RFC 3042 limited transmit).
    fn usable_window(&self) -> u32 {
        let smss = self.smss();
        let mut cwnd = self.cc.cwnd();
        // ns-3.44 does limited transmit only without SACK; with it the
        // pipe lets SACKed data make room (see `in_flight`).
        let ns3_sack = self.cfg.recovery == LossRecovery::Ns3 && self.sack_ok;
        let limited = self.dup_acks > 0 && self.dup_acks < 3 && !self.in_ns3_loss() && !ns3_sack;
        if self.recovery == Recovery::None && limited {
            cwnd += u64::from(self.dup_acks) * smss;
        }
        let cwnd_room = cwnd.saturating_sub(self.in_flight());
        let window_room = (self.snd_una + self.snd_wnd).saturating_since(self.snd_nxt);
        cwnd_room.min(u64::from(window_room)) as u32
    }

    pub(super) fn in_flight(&self) -> u64 {
        match self.recovery {
            Recovery::Sack => self.pipe(),
            Recovery::NewReno => {
                u64::from(self.snd_nxt - self.snd_una).saturating_sub(self.reno_sacked)
            }
            Recovery::None if self.in_ns3_loss() => {
                self.scoreboard.unsacked_bytes(self.snd_una, self.snd_nxt)
                    + self.ns3_sacked_retransmissions()
            }
            // ns-3.44's `BytesInFlight` is RFC 6675's pipe in every state:
            // SACKed data is not in flight before a recovery (where it
            // stands in for limited transmit, which ns-3 does not do with
            // SACK) nor after one that ends with holes and SACKed data
            // above RecoveryPoint.
            Recovery::None
                if self.cfg.recovery == LossRecovery::Ns3
                    && self.scoreboard.sacked_end().is_some() =>
            {
                self.pipe()
            }
            Recovery::None => u64::from(self.snd_nxt - self.snd_una),
        }
    }

    /// RFC 6675 §4 `SetPipe`: for each unSACKed octet below HighData,
    /// "(a) If IsLost (S1) returns false: pipe = pipe + 1 ... (b) If S1 <=
    /// HighRxt: pipe = pipe + 1".
    pub(super) fn pipe(&self) -> u64 {
        let lost = self
            .scoreboard
            .lost_below(self.smss() as u32)
            .unwrap_or(self.snd_una)
            .max(self.snd_una);
        let not_lost = self.scoreboard.unsacked_bytes(lost, self.snd_max);
        let high_rxt = self.high_rxt.min(self.snd_max);
        let retransmitted = self.scoreboard.unsacked_bytes(self.snd_una, high_rxt);
        if self.cfg.recovery == LossRecovery::Ns3 {
            // ns-3.44's `BytesInFlight` keeps counting a retransmission
            // once it is SACKed, until SND.UNA passes it (its `m_retrans`
            // is not reduced by a SACK): measured in its trace, where an
            // ACK that SACKs a retransmission leaves `BytesInFlight` as
            // it was and lets nothing be sent.
            return not_lost + retransmitted + self.ns3_sacked_retransmissions();
        }
        // Retransmissions known lost have left the network.
        let lost_again: u64 = match self.scoreboard.sacked_end() {
            Some(sacked_end) => self
                .rxt
                .iter()
                .filter(|&&(_, _, fence)| sacked_end > fence)
                .map(|&(start, end, _)| {
                    self.scoreboard
                        .unsacked_bytes(start.max(self.snd_una), end.min(high_rxt))
                })
                .sum(),
            None => 0,
        };
        not_lost + retransmitted.saturating_sub(lost_again)
    }

    /// One segment from `start`: data up to `limit` (at most one MSS), and
    /// the FIN if the segment reaches the end of the data and `limit`
    /// covers the FIN.
    fn send_range(&mut self, start: SeqNumber, limit: SeqNumber) -> Option<Tcp> {
        let mut seg = self.header(start, ACK);
        let room = u32::from(self.mss_send)
            .saturating_sub(seg.options_len())
            .max(1);
        let data_end = limit.min(self.tx_end);
        let len = data_end.saturating_since(start).min(room);
        let with_fin = self.fin_queued && start + len == self.tx_end && limit > self.tx_end;
        if len == 0 && !with_fin {
            return None;
        }
        seg.payload_len = len;
        if with_fin {
            seg.flags |= FIN;
        }
        if len > 0 && start + len == self.tx_end {
            seg.flags |= PSH;
        }
        self.commit(&seg, start);
        Some(seg)
    }

    /// Account for a segment that occupies sequence space.
    fn commit(&mut self, seg: &Tcp, start: SeqNumber) {
        let end = start + seg_len(seg);
        if self.recovery != Recovery::None {
            // RFC 6937: "prr_out += (data sent)".
            self.prr.on_send(u64::from(seg_len(seg)));
        }
        let payload_end = start + seg.payload_len;
        let new_bytes = payload_end.saturating_since(self.snd_max.max(start));
        self.stats.bytes_sent += u64::from(new_bytes);
        if start < self.snd_max {
            self.stats.segments_retransmitted += 1;
            self.stats.bytes_retransmitted += u64::from(seg.payload_len - new_bytes);
            // Karn: no sample from a segment that was sent twice.
            self.rtt_timed = None;
        } else if self.rtt_timed.is_none() {
            self.rtt_timed = Some((start, self.now));
        }
        self.snd_max = self.snd_max.max(end);
        self.arm_retransmit();
        self.note_ack_sent(seg);
    }
}
