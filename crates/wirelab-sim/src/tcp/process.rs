//! Segment arrival: RFC 9293 §3.10.7 ("SEGMENT ARRIVES") in its order —
//! the sequence number check, RST, SYN, ACK, the segment text, FIN — and
//! what an ACK means to the sender: RTT samples (RFC 6298, RFC 7323 §4),
//! congestion control (RFC 5681), fast retransmit and recovery (RFC 6582,
//! RFC 6675).

use super::congestion::prr::Prr;
use super::congestion::Controller;
use super::sack::DUP_THRESH;
use super::*;
use wirelab_spec::model::{CongestionControl, LossRecovery};

impl Socket {
    /// An incoming segment (the engine has matched the 4-tuple).
    pub fn process(&mut self, now: SimTime, seg: &Tcp) {
        self.advance_clock(now);
        self.stats.segments_received += 1;
        match self.state {
            // §3.10.7.1: "An incoming segment not containing a RST causes
            // a RST to be sent in response."
            State::Closed => {
                if let Some(rst) = reset_for(seg) {
                    self.pending_rst = Some(rst);
                }
            }
            State::Listen => self.process_listen(seg),
            State::SynSent => self.process_syn_sent(seg),
            _ => self.process_synchronized(seg),
        }
        self.sync_stats();
    }

    /// §3.10.7.2.
    fn process_listen(&mut self, seg: &Tcp) {
        if seg.flags & RST != 0 {
            // "An incoming RST segment could not be valid since it could not
            // have been sent in response to anything sent by this
            // incarnation of the connection. An incoming RST should be
            // ignored."
            return;
        }
        if seg.flags & ACK != 0 {
            // "Any acknowledgment is bad if it arrives on a connection
            // still in the LISTEN state. An acceptable reset segment should
            // be formed for any arriving ACK-bearing segment."
            self.pending_rst = reset_for(seg);
            return;
        }
        if seg.flags & SYN == 0 {
            return;
        }
        self.remote_port = seg.src_port;
        self.take_syn(seg);
        // "ISS should be selected and a SYN segment sent of the form:
        // <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK>" — `poll_transmit` sends it.
        self.set_state(State::SynReceived);
    }

    /// The peer's SYN: its sequence numbers and options (RFC 9293 §3.7.1
    /// MSS, RFC 7323 §2.2 window scale and §3.2 timestamps, RFC 2018 §2
    /// SACK-permitted — each in use only when both sides sent it).
    fn take_syn(&mut self, seg: &Tcp) {
        self.irs = SeqNumber(seg.seq);
        self.rcv_nxt = self.irs + 1;
        self.rcv_adv = self.rcv_nxt;
        self.last_ack_sent = self.rcv_nxt;
        // Without the option RFC 9293 §3.7.1 assumes 536 bytes; a host
        // that sends none itself (ns-3) uses its own segment size.
        let peer_mss = seg.mss.unwrap_or(if self.cfg.mss_option {
            MSS_DEFAULT
        } else {
            self.mss_local
        });
        self.mss_send = self.mss_local.min(peer_mss).max(64);
        self.wscale_ok = self.cfg.window_scaling && seg.wscale.is_some();
        if self.wscale_ok {
            self.snd_wscale = seg.wscale.unwrap_or(0).min(WINDOW_SCALE_MAX);
        } else {
            self.snd_wscale = 0;
            self.rcv_wscale = 0;
        }
        self.sack_ok = self.cfg.sack && seg.sack_permitted;
        self.ts_ok = self.cfg.timestamps && seg.timestamps.is_some();
        if let Some((tsval, _)) = seg.timestamps.filter(|_| self.ts_ok) {
            self.ts_recent = tsval;
        }
        // RFC 7323 §2.2: "The window field in a segment where the SYN bit
        // is set (i.e., a <SYN> or <SYN,ACK>) MUST NOT be scaled."
        self.snd_wnd = u32::from(seg.window);
        self.snd_wnd_max = self.snd_wnd;
        self.snd_wl1 = SeqNumber(seg.seq);
        self.snd_wl2 = SeqNumber(seg.ack);
        // The initial window is counted in negotiated segments.
        self.cc = AnyController::new(
            self.cfg.congestion,
            self.cfg.cubic,
            self.cfg.increase,
            self.cfg.initial_window,
            self.smss(),
        );
    }

    /// §3.10.7.3.
    fn process_syn_sent(&mut self, seg: &Tcp) {
        let ack = seg.flags & ACK != 0;
        if ack {
            let seg_ack = SeqNumber(seg.ack);
            // "If SEG.ACK =< ISS or SEG.ACK > SND.NXT, send a reset (unless
            // the RST bit is set, if so drop the segment and return)"
            if seg_ack <= self.iss || seg_ack > self.snd_max {
                if seg.flags & RST == 0 {
                    self.pending_rst = reset_for(seg);
                }
                return;
            }
        }
        if seg.flags & RST != 0 {
            // "If the ACK was acceptable, then signal to the user 'error:
            // connection reset', drop the segment, enter CLOSED state".
            if ack {
                self.close_with(Some(CloseReason::Refused));
            }
            return;
        }
        if seg.flags & SYN == 0 {
            return;
        }
        self.take_syn(seg);
        if ack {
            self.on_new_ack(seg, true, 0);
            // "If SND.UNA > ISS (our SYN has been ACKed), change the
            // connection state to ESTABLISHED, form an ACK segment
            // <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK> and send it."
            self.set_state(State::Established);
            self.ack_now = true;
            // "Data or controls that were queued for transmission MAY be
            // included": wirelab's data carries the ACK; ns-3 sends a
            // pure ACK first (`SendEmptyPacket (ACK)`, then
            // `SendPendingData`), one more packet in the first queue.
            self.ack_first = self.cfg.recovery == LossRecovery::Ns3;
        } else {
            // Simultaneous open: "Otherwise, enter SYN-RECEIVED, form a
            // SYN,ACK segment <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK> and send
            // it."
            self.set_state(State::SynReceived);
            self.snd_nxt = self.iss;
        }
    }

    /// §3.10.7.4: SYN-RECEIVED and every later state.
    fn process_synchronized(&mut self, seg: &Tcp) {
        let (syn, ack, rst, fin) = (
            seg.flags & SYN != 0,
            seg.flags & ACK != 0,
            seg.flags & RST != 0,
            seg.flags & FIN != 0,
        );
        if self.state == State::SynReceived && syn && seg.seq == self.irs.0 {
            if !ack {
                // A second copy of the peer's SYN: our SYN-ACK was lost.
                self.snd_nxt = self.iss;
                return;
            }
            // Simultaneous open (RFC 9293 Figure 8, line 6): the peer's
            // SYN-ACK repeats its SYN, which lies just left of the window;
            // what counts is its ACK (Linux makes the same exception).
            let ack_only = Tcp {
                seq: seg.seq.wrapping_add(1),
                flags: seg.flags & !SYN,
                ..*seg
            };
            self.process_synchronized(&ack_only);
            return;
        }
        // "first check sequence number ... If an incoming segment is not
        // acceptable, an acknowledgment should be sent in reply (unless
        // the RST bit is set, if so drop the segment and return)".
        if !self.acceptable(seg) {
            if !rst {
                self.ack_now = true;
            }
            // TIME-WAIT: "The only thing that can arrive in this state is a
            // retransmission of the remote FIN. Acknowledge it, and restart
            // the 2 MSL timeout."
            if self.state == State::TimeWait && fin {
                self.timers.time_wait = Some(self.now + SimTime(TIME_WAIT_NS));
            }
            return;
        }
        if rst {
            self.process_rst(seg);
            return;
        }
        if syn {
            // "If the SYN bit is set, irrespective of the sequence number,
            // TCP endpoints MUST send a 'challenge ACK'" (RFC 5961 §4).
            self.ack_now = true;
            return;
        }
        if !ack {
            // "if the ACK bit is off, drop the segment and return"
            return;
        }
        self.take_timestamp(seg);
        if !self.process_ack(seg) {
            return;
        }
        self.process_text(seg);
    }

    /// The acceptability test of §3.10.7.4 against the advertised window
    /// RCV.WND. "If the RCV.WND is zero, no segments will be acceptable,
    /// but special allowance should be made to accept valid ACKs, URGs,
    /// and RSTs": a segment exactly at RCV.NXT is let through then, and its
    /// text is trimmed to nothing.
    fn acceptable(&self, seg: &Tcp) -> bool {
        let len = seg_len(seg);
        let wnd = self.rcv_adv.saturating_since(self.rcv_nxt);
        let seq = SeqNumber(seg.seq);
        let in_window = |s: SeqNumber| s >= self.rcv_nxt && s < self.rcv_nxt + wnd;
        match (len, wnd) {
            (0, 0) => seq == self.rcv_nxt,
            (0, _) => in_window(seq),
            (_, 0) => seq == self.rcv_nxt,
            (_, _) => in_window(seq) || in_window(seq + (len - 1)),
        }
    }

    /// "second, check the RST bit" (§3.10.7.4, RFC 5961 §3.2).
    fn process_rst(&mut self, seg: &Tcp) {
        // "If the RST bit is set and the sequence number does not exactly
        // match the next expected sequence value, yet is within the current
        // receive window, TCP endpoints MUST send an acknowledgment
        // (challenge ACK)".
        if seg.seq != self.rcv_nxt.0 {
            self.ack_now = true;
            return;
        }
        match self.state {
            State::SynReceived => match self.opened {
                // "If this connection was initiated with a passive OPEN
                // (i.e., came from the LISTEN state), then return this
                // connection to LISTEN state and return."
                Opened::Listen => self.back_to_listen(),
                Opened::Accept => self.close_with(Some(CloseReason::Reset)),
                // "If this connection was initiated with an active OPEN
                // (i.e., came from SYN-SENT state), then the connection was
                // refused".
                Opened::Active => self.close_with(Some(CloseReason::Refused)),
            },
            State::Established | State::FinWait1 | State::FinWait2 | State::CloseWait => {
                self.close_with(Some(CloseReason::Reset))
            }
            // CLOSING, LAST-ACK, TIME-WAIT: "enter the CLOSED state, delete
            // the TCB, and return".
            _ => self.close_with(None),
        }
    }

    fn back_to_listen(&mut self) {
        let stats = self.stats.clone();
        *self = Socket::listen(
            &self.cfg,
            self.local_port,
            self.iss.0,
            self.mss_local,
            self.now,
        );
        self.stats = stats;
    }

    /// RFC 7323 §4.3: "If SEG.TSval >= TS.Recent and SEG.SEQ <= Last.ACK.sent
    /// then SEG.TSval is copied to TS.Recent".
    fn take_timestamp(&mut self, seg: &Tcp) {
        let Some((tsval, _)) = seg.timestamps.filter(|_| self.ts_ok) else {
            return;
        };
        if tsval.wrapping_sub(self.ts_recent) as i32 >= 0
            && SeqNumber(seg.seq) <= self.last_ack_sent
        {
            self.ts_recent = tsval;
        }
    }

    /// "fifth, check the ACK field". Returns false when the segment is to
    /// be dropped.
    fn process_ack(&mut self, seg: &Tcp) -> bool {
        let ack = SeqNumber(seg.ack);
        if self.state == State::SynReceived {
            // "If SND.UNA < SEG.ACK =< SND.NXT, then enter ESTABLISHED state
            // and continue processing ... If the segment acknowledgment is
            // not acceptable, form a reset segment <SEQ=SEG.ACK><CTL=RST>".
            if !(self.snd_una < ack && ack <= self.snd_max) {
                self.pending_rst = Some(self.bare(ack, 0, RST));
                return false;
            }
            self.set_state(State::Established);
            if self.fin_queued {
                self.set_state(State::FinWait1);
            }
        }
        if ack > self.snd_max {
            // "If the ACK acks something not yet sent (SEG.ACK > SND.NXT),
            // then send an ACK, drop the segment, and return."
            self.ack_now = true;
            return false;
        }
        self.probes = 0;
        let una_before = self.snd_una;
        let sacked_before = self.scoreboard.sacked_bytes();
        let sack_news = self.sack_ok
            && self
                .scoreboard
                .update(seg.sack_blocks(), self.snd_una, self.snd_max);
        let window = u32::from(seg.window) << self.snd_wscale;
        let window_changed = window != self.snd_wnd;
        self.update_window(seg, window);
        let mut duplicate = false;
        if ack > self.snd_una {
            // ns-3.44 (`ProcessAck`, SACK on) takes an ACK with news for
            // the scoreboard for a duplicate even when it moves SND.UNA:
            // it counts towards DupThresh and, out of recovery, the window
            // does not grow on it (RFC 6675 §5: a cumulative ACK resets
            // DupAcks, and RFC 5681 grows cwnd on it).
            let ns3_duplicate = self.cfg.recovery == LossRecovery::Ns3
                && sack_news
                && self.recovery == Recovery::None
                && !self.in_ns3_loss();
            self.on_new_ack(seg, !ns3_duplicate, sacked_before);
            if ns3_duplicate {
                self.on_duplicate_ack();
                duplicate = true;
            }
        } else if ack == self.snd_una && (self.is_duplicate(seg, window_changed) || sack_news) {
            self.on_duplicate_ack();
            duplicate = true;
        }
        if self.recovery != Recovery::None {
            let acked = u64::from(self.snd_una - una_before);
            let delivered = if self.recovery == Recovery::Sack {
                let sacked = (acked + self.scoreboard.sacked_bytes()).saturating_sub(sacked_before);
                self.prr_delivered(sacked, duplicate)
            } else {
                self.reno_delivered(acked, duplicate)
            };
            self.prr_on_ack(delivered, acked > 0);
        }
        self.after_ack_of_fin();
        true
    }

    /// §3.10.7.4: "If SND.UNA =< SEG.ACK =< SND.NXT, the send window
    /// should be updated. If (SND.WL1 < SEG.SEQ or (SND.WL1 = SEG.SEQ and
    /// SND.WL2 =< SEG.ACK)), set SND.WND <- SEG.WND, set SND.WL1 <-
    /// SEG.SEQ, and set SND.WL2 <- SEG.ACK."
    fn update_window(&mut self, seg: &Tcp, window: u32) {
        let (seq, ack) = (SeqNumber(seg.seq), SeqNumber(seg.ack));
        if ack < self.snd_una {
            return;
        }
        if self.snd_wl1 < seq || (self.snd_wl1 == seq && self.snd_wl2 <= ack) {
            self.snd_wnd = window;
            self.snd_wnd_max = self.snd_wnd_max.max(window);
            self.snd_wl1 = seq;
            self.snd_wl2 = ack;
            if window > 0 {
                self.timers.persist = None;
                self.probe_backoff = 0;
            }
        }
    }

    /// RFC 5681 §2: "DUPLICATE ACKNOWLEDGMENT: An acknowledgment is
    /// considered a 'duplicate' in the following algorithms when (a) the
    /// receiver of the ACK has outstanding data, (b) the incoming
    /// acknowledgment carries no data, (c) the SYN and FIN bits are both
    /// off, (d) the acknowledgment number is equal to the greatest
    /// acknowledgment received on the given connection (TCP.UNA from
    /// [RFC793]) and (e) the advertised window in the incoming
    /// acknowledgment equals the advertised window in the last incoming
    /// acknowledgment."
    fn is_duplicate(&self, seg: &Tcp, window_changed: bool) -> bool {
        self.snd_max > self.snd_una
            && seg.payload_len == 0
            && seg.flags & (SYN | FIN) == 0
            && !window_changed
    }

    /// SND.UNA < SEG.ACK: "set SND.UNA <- SEG.ACK. Any segments on the
    /// retransmission queue that are thereby entirely acknowledged are
    /// removed."
    /// `cumulative`: the ACK is not also taken for a duplicate (see
    /// [`LossRecovery::Ns3`]), so the window grows and DupAcks is reset.
    /// `sacked_before`: the scoreboard's SACKed bytes before this ACK's
    /// blocks were added.
    fn on_new_ack(&mut self, seg: &Tcp, cumulative: bool, sacked_before: u64) {
        let ack = SeqNumber(seg.ack);
        let syn_acked = self.snd_una == self.iss;
        let fin_acked = self.fin_queued && self.snd_una <= self.tx_end && ack > self.tx_end;
        let data_acked = (ack - self.snd_una) - u32::from(syn_acked) - u32::from(fin_acked);
        let ns3_loss = self.in_ns3_loss();
        // Retransmissions go up from SND.UNA through the holes, so the
        // new first unacknowledged byte was retransmitted in this
        // recovery iff it lies below HighRxt.
        let head_retransmitted = ack < self.high_rxt;
        // ns-3.44 measures no RTT when the oldest segment acknowledged was
        // retransmitted in a recovery (Karn, which it applies with
        // timestamps too: its RTT history marks a retransmitted segment).
        // After a timeout it does (its trace: a second timeout exactly one
        // minimum RTO after the last ACK of CA_LOSS, so the backoff had
        // been reset by a sample).
        let una = self.snd_una;
        let front_retransmitted = self
            .rxt
            .iter()
            .any(|&(start, end, _)| start <= una && una < end);
        let ns3_no_sample = self.cfg.recovery == LossRecovery::Ns3
            && !syn_acked
            && front_retransmitted
            && !ns3_loss;
        if self.recovery == Recovery::None && !self.rxt.is_empty() {
            // ns-3's CA_LOSS retransmissions that this ACK covers.
            self.rxt.retain(|&(_, end, _)| end > ack);
        }
        self.snd_una = ack;
        self.snd_nxt = self.snd_nxt.max(ack);
        self.high_rxt = self.high_rxt.max(ack);
        self.stats.bytes_acked += u64::from(data_acked);
        self.scoreboard.advance(ack);
        // ns-3.44 leaves CA_LOSS (after a timeout) on the ACK that covers
        // `recover`, and grows the window only by what it acknowledges
        // beyond that point: (ack - recover) / SMSS segments. Before that
        // an ACK grows it by what it delivered (its `currentDelivered`):
        // the bytes it acknowledges that were not SACKed, and those it
        // newly SACKs — measured in its trace of 64 CUBIC flows, where
        // every CA_LOSS ACK grew cwnd by exactly that.
        let grows_by = if ns3_loss && ack >= self.recover {
            u64::from(ack - self.recover).min(u64::from(data_acked))
        } else if ns3_loss {
            (u64::from(data_acked) + self.scoreboard.sacked_bytes()).saturating_sub(sacked_before)
        } else {
            u64::from(data_acked)
        };
        self.retries = 0;
        let rtt_ns = if ns3_no_sample {
            None
        } else {
            self.take_rtt_sample(seg, ack)
        };
        // The handshake's sample seeds ns-3's estimator, but its
        // congestion control first hears of an RTT on a data ACK.
        // ns-3.44 calls `PktsAcked` with `m_lastRtt`, the smoothed RTT, on
        // every ACK that moves SND.UNA, sampled or not; the handshake's
        // sample seeds it, but the handshake itself calls nothing (its
        // trace of 64 CUBIC flows: flow 35 grows on leaving its first
        // recovery at 380 ms, which needs a minimum delay above zero,
        // though none of its ACKs before was sampled).
        let rtt_ns = match self.cfg.recovery {
            LossRecovery::Ns3 if syn_acked => None,
            LossRecovery::Ns3 => Some(self.rtt.srtt_ns()),
            LossRecovery::Rfc => rtt_ns,
        };
        if syn_acked && self.syn_retransmitted {
            self.rtt.after_syn_loss();
        }
        let (now, high_data, smss) = (self.now, self.snd_max, self.smss());
        self.cc.on_ack_sample(now, ack, high_data, rtt_ns, smss);
        if cumulative {
            self.congestion_on_ack(ack, grows_by, rtt_ns);
            self.dup_acks = 0;
            self.limited_tx_bytes = 0;
        }
        // ns-3.44 on a partial ACK in a SACK recovery whose new first
        // segment has not been retransmitted yet: `DoRetransmit`, one
        // segment whatever cwnd says. Its trace of 64 flows: all 114 such
        // ACKs sent one segment (55 of them with cwnd − BytesInFlight
        // under a segment), and of the others none sent without room.
        self.ns3_rexmit_next = self.cfg.recovery == LossRecovery::Ns3
            && self.recovery == Recovery::Sack
            && ack < self.recover
            && !head_retransmitted;
        // RFC 6298 (5.2) "When all outstanding data has been acknowledged,
        // turn off the retransmission timer." (5.3) "When an ACK is
        // received that acknowledges new data, restart the retransmission
        // timer so that it will expire after RTO seconds".
        // ns-3.44 (`NewAck(ack, m_isFirstPartialAck)`) restarts it on
        // the first partial ACK of a recovery only: RFC 6582 §4's
        // "Impatient" variant.
        let partial = self.recovery != Recovery::None && ack < self.recover;
        let impatient = self.cfg.recovery == LossRecovery::Ns3 && partial && self.partial_acked;
        self.partial_acked |= partial;
        if !impatient {
            self.timers.retransmit = if self.snd_una == self.snd_max {
                None
            } else {
                Some(self.now + SimTime(self.rtt.rto_ns()))
            };
        }
    }

    /// An RTT sample from the echoed timestamp (RFC 7323 §4.1, valid for
    /// retransmitted data too), or else from the one timed segment if it
    /// was not retransmitted (Karn's algorithm, RFC 6298 §3).
    fn take_rtt_sample(&mut self, seg: &Tcp, ack: SeqNumber) -> Option<u64> {
        let echoed_ns = seg
            .timestamps
            .filter(|&(_, tsecr)| self.ts_ok && tsecr != 0)
            .map(|(_, tsecr)| u64::from(self.ts_now().wrapping_sub(tsecr)) * 1_000);
        let timed_ns = match self.rtt_timed {
            Some((seq, sent_at)) if ack > seq => {
                self.rtt_timed = None;
                Some((self.now - sent_at).as_nanos())
            }
            _ => None,
        };
        let r_ns = echoed_ns.or(timed_ns)?;
        // An echo from the future or older than any timer is bogus.
        if r_ns > RTO_NS_MAX {
            return None;
        }
        if self.cfg.recovery == LossRecovery::Ns3 {
            return Some(self.ns3_rtt_sample(r_ns));
        }
        self.rtt.sample(r_ns);
        self.record_rtt(r_ns);
        Some(r_ns)
    }

    /// An RTT sample into the statistics (minimum, mean).
    fn record_rtt(&mut self, r_ns: u64) {
        let stats = &mut self.stats;
        stats.rtt_ns_min = if stats.rtt_samples == 0 {
            r_ns
        } else {
            stats.rtt_ns_min.min(r_ns)
        };
        stats.rtt_samples += 1;
        stats.rtt_ns_sum += r_ns;
    }

    /// ns-3.44's RTT measurement (`TcpSocketBase::EstimateRtt`): its
    /// timestamps count milliseconds, so a sample is the difference of
    /// two whole-millisecond clocks (1 µs when zero); and what it hands
    /// the congestion control (`m_lastRtt`, CUBIC's minimum delay and
    /// HyStart) is the smoothed estimate, not the sample (see
    /// `on_new_ack`). `r_ns` is the exact RTT; the statistics keep it.
    fn ns3_rtt_sample(&mut self, r_ns: u64) -> u64 {
        let now_ns = self.now.as_nanos();
        let sent_ns = now_ns.saturating_sub(r_ns);
        let ms = now_ns / 1_000_000 - sent_ns / 1_000_000;
        self.rtt.sample((ms * 1_000_000).max(1_000));
        self.record_rtt(r_ns);
        self.rtt.srtt_ns()
    }

    fn congestion_on_ack(&mut self, ack: SeqNumber, data_acked: u64, rtt_ns: Option<u64>) {
        let smss = self.smss();
        match self.recovery {
            Recovery::None => {
                if data_acked > 0 {
                    let acked = self.hystart_on_ack(ack, data_acked, rtt_ns);
                    let srtt_ns = self.rtt.srtt_ns();
                    self.cc.on_ack(self.now, acked, smss, srtt_ns);
                }
            }
            // RFC 6582 §3.2 (3), full acknowledgment, and RFC 6675 §5: "the
            // loss recovery phase is terminated" by a cumulative ACK for
            // RecoveryPoint. RFC 6937: "cwnd = ssthresh" on leaving it.
            Recovery::NewReno | Recovery::Sack if ack >= self.recover => {
                self.cc.set_cwnd(self.cc.ssthresh().max(smss));
                self.recovery = Recovery::None;
                self.reno_sacked = 0;
                if self.cfg.recovery == LossRecovery::Ns3 {
                    // ns-3's retransmitted marks outlive the recovery.
                    self.forget_retransmissions();
                } else {
                    self.rxt = Vec::new();
                }
                // ns-3 (`TcpSocketBase::ProcessAck`) and Linux grow the
                // window on the ACK that ends recovery too, as on any ACK
                // in the open state; RFC 6582 and 6675 do not.
                let grows =
                    self.cc.grows_on_recovery_exit() || self.cfg.recovery == LossRecovery::Ns3;
                if grows && data_acked > 0 {
                    let srtt_ns = self.rtt.srtt_ns();
                    self.cc.on_ack(self.now, data_acked, smss, srtt_ns);
                }
            }
            // RFC 6582 partial acknowledgment: "retransmit the first
            // unacknowledged segment". The window is PRR's (no deflation).
            Recovery::NewReno => self.rexmit_first = true,
            Recovery::Sack => self.forget_retransmissions(),
        }
    }

    /// Drop the retransmissions the scoreboard no longer needs: those
    /// SACKed or acknowledged; with `recovery: ns3` only those below
    /// SND.UNA (a SACKed one stays in ns-3's `BytesInFlight`).
    fn forget_retransmissions(&mut self) {
        let (una, scoreboard) = (self.snd_una, &self.scoreboard);
        if self.cfg.recovery == LossRecovery::Ns3 {
            self.rxt.retain(|&(_, end, _)| end > una);
        } else {
            self.rxt
                .retain(|&(start, end, _)| scoreboard.unsacked_bytes(start.max(una), end) > 0);
        }
    }

    /// HyStart++ in CUBIC's initial slow start (ssthresh still at its
    /// initial value): returns the acknowledged bytes slow start is to
    /// count, a quarter of its usual growth in CSS (RFC 9406 §4.2: "cwnd =
    /// cwnd + (min(N, L * SMSS) / CSS_GROWTH_DIVISOR)").
    fn hystart_on_ack(&mut self, ack: SeqNumber, acked: u64, rtt_ns: Option<u64>) -> u64 {
        use super::congestion::hystart::{Phase, CSS_GROWTH_DIVISOR};
        use super::congestion::ABC_LIMIT_SEGMENTS;
        use wirelab_spec::model::{CongestionControl, CubicVariant, WindowIncrease};
        // Linux's and ns-3's CUBIC run the original HyStart themselves.
        if self.cfg.congestion != CongestionControl::Cubic
            || self.cfg.cubic != CubicVariant::Rfc9438
            || self.cc.ssthresh() != u64::MAX
            || self.cc.cwnd() >= self.cc.ssthresh()
        {
            return acked;
        }
        match self.hystart.on_ack(ack, self.snd_max, rtt_ns) {
            Phase::SlowStart => acked,
            Phase::Css => {
                let limit = match self.cfg.increase {
                    WindowIncrease::Bytes => ABC_LIMIT_SEGMENTS,
                    WindowIncrease::PerAck => 1,
                };
                (acked.min(limit * self.smss()) / CSS_GROWTH_DIVISOR).max(1)
            }
            Phase::Exit => {
                self.cc.set_ssthresh(self.cc.cwnd());
                acked
            }
        }
    }

    fn on_duplicate_ack(&mut self) {
        self.dup_acks = self.dup_acks.saturating_add(1);
        let smss = self.smss();
        match self.recovery {
            // RFC 5681 §3.2 (4)'s window inflation is replaced by PRR.
            Recovery::NewReno => {}
            Recovery::Sack => self.forget_retransmissions(),
            Recovery::None => {
                // RFC 6675 §5 (1)-(2): DupThresh duplicates, or the first
                // unacknowledged byte IsLost by the scoreboard.
                let lost = self.sack_ok
                    && self
                        .scoreboard
                        .lost_below(smss as u32)
                        .is_some_and(|l| l > self.snd_una);
                let enough = u32::from(self.dup_acks) >= DUP_THRESH || lost;
                // RFC 6582 §3.2 (2): only "if the Cumulative Acknowledgment
                // field covers more than recover".
                if enough && self.snd_una >= self.recover {
                    self.enter_recovery();
                }
            }
        }
    }

    /// Fast retransmit (RFC 5681 §3.2 (2)-(3)) and entry into fast
    /// recovery: RFC 6582 with window inflation, or RFC 6675 §5 (4) with
    /// SACK: "RecoveryPoint = HighData ... cwnd = ssthresh ... Retransmit
    /// the first data segment presumed dropped".
    fn enter_recovery(&mut self) {
        let smss = self.smss();
        self.recover = self.snd_max;
        // ns-3.44 keeps the marks of segments retransmitted in an earlier
        // recovery (its `m_retrans`): they stay in flight, and its
        // `NextSeg` does not send them again (the head goes anyway).
        let ns3 = self.cfg.recovery == LossRecovery::Ns3;
        self.high_rxt = if ns3 {
            self.high_rxt.max(self.snd_una)
        } else {
            self.snd_una
        };
        let flight = u64::from(self.snd_max - self.snd_una);
        self.cc.on_loss(self.now, self.loss_flight(flight), smss);
        self.stats.fast_retransmits += 1;
        self.rexmit_first = true;
        self.ns3_rexmit_next = false;
        self.partial_acked = false;
        self.rtt_timed = None;
        // RFC 6937: "prr_delivered = 0, prr_out = 0, RecoverFS = snd.nxt -
        // snd.una"; the ACK that got us here is then counted by PRR.
        // ns-3 starts from pipe instead (`TcpPrrRecovery::EnterRecovery`).
        let recover_fs = match self.cfg.recovery {
            LossRecovery::Ns3 if self.sack_ok => self.pipe(),
            _ => flight,
        };
        self.prr = Prr::start(recover_fs);
        if ns3 {
            self.forget_retransmissions();
        } else {
            self.rxt.clear();
        }
        if self.sack_ok {
            self.recovery = Recovery::Sack;
        } else {
            self.recovery = Recovery::NewReno;
            // The duplicate ACKs before this one; this one is counted as
            // it is delivered.
            let dups = u64::from(self.dup_acks.saturating_sub(1));
            self.reno_sacked = (dups * smss).min(flight);
        }
    }

    /// The FlightSize a loss reduces the window from.
    ///
    /// RFC 5681 §3.2 (2): "ssthresh ... (FlightSize / 2) ... When [RFC3042]
    /// is in use, additional data sent in limited transmit MUST NOT be
    /// included in this calculation." RFC 9438 §4.6 takes the same
    /// `flight_size` (times β_cubic).
    ///
    /// `recovery: ns3` (ns-3.44's `EnterRecovery`): NewReno halves
    /// `BytesInFlight`, which is RFC 6675's pipe — without the SACKed and
    /// the lost segments, so about DupThresh + 1 segments less than
    /// FlightSize at the third duplicate ACK (without SACK: FlightSize
    /// less one segment per duplicate ACK but one). ns-3's CUBIC, like
    /// Linux's, takes cwnd instead.
    fn loss_flight(&self, flight: u64) -> u64 {
        let smss = self.smss();
        match (self.cfg.recovery, self.cfg.congestion) {
            (LossRecovery::Rfc, _) => flight.saturating_sub(self.limited_tx_bytes),
            (LossRecovery::Ns3, CongestionControl::Cubic) => self.cc.cwnd(),
            (LossRecovery::Ns3, CongestionControl::NewReno) if self.sack_ok => self.pipe(),
            (LossRecovery::Ns3, CongestionControl::NewReno) => {
                let dups = u64::from(self.dup_acks.saturating_sub(1));
                flight.saturating_sub(dups * smss)
            }
        }
    }

    /// DeliveredData of an ACK in a SACK recovery: what it acknowledged
    /// or newly SACKed (RFC 6937 §3). With `recovery: ns3`, a duplicate
    /// ACK counts one SMSS more, while less than RecoverFS has been
    /// delivered: ns-3.44's `TcpPrrRecovery::DoRecovery` adds the
    /// estimate that RFC 6937 gives for recoveries *without* SACK on top
    /// of the SACKed bytes, so PRR sends about twice what it should while
    /// pipe is above ssthresh.
    fn prr_delivered(&self, sacked: u64, duplicate: bool) -> u64 {
        let ns3_extra = self.cfg.recovery == LossRecovery::Ns3
            && duplicate
            && self.prr.delivered < self.prr.recover_fs;
        sacked + if ns3_extra { self.smss() } else { 0 }
    }

    /// Without SACK, DeliveredData is estimated as Linux does for Reno:
    /// one segment per duplicate ACK, and on a cumulative ACK what it
    /// covers beyond the segments the duplicates already counted (at
    /// least one segment).
    fn reno_delivered(&mut self, acked: u64, duplicate: bool) -> u64 {
        let smss = self.smss();
        let flight = u64::from(self.snd_max - self.snd_una);
        if duplicate {
            self.reno_sacked = (self.reno_sacked + smss).min(flight);
            return smss;
        }
        let delivered = acked.saturating_sub(self.reno_sacked).max(smss.min(acked));
        self.reno_sacked -= self.reno_sacked.min(acked.saturating_sub(smss));
        self.reno_sacked = self.reno_sacked.min(flight);
        delivered
    }

    /// RFC 6937 on an ACK in recovery: "cwnd = pipe + sndcnt".
    /// `una_advanced`: the ACK moved SND.UNA. With `recovery: ns3` the
    /// share is ns-3.44's ([`Prr::on_ack_ns3`]: its 32-bit product, and
    /// PRR-SSRB's extra segment only on such an ACK, ns-3's "safeACK";
    /// others are bound by PRR-CRB).
    fn prr_on_ack(&mut self, delivered: u64, una_advanced: bool) {
        let smss = self.smss();
        let pipe = self.in_flight();
        let ssthresh = self.cc.ssthresh();
        let sndcnt = match self.cfg.recovery {
            LossRecovery::Rfc => Some(self.prr.on_ack(delivered, pipe, ssthresh, smss)),
            LossRecovery::Ns3 => self
                .prr
                .on_ack_ns3(delivered, pipe, ssthresh, smss, una_advanced),
        };
        if let Some(sndcnt) = sndcnt {
            self.cc.set_cwnd(pipe + sndcnt);
        }
    }

    /// Our FIN acknowledged: FIN-WAIT-1 → FIN-WAIT-2, CLOSING → TIME-WAIT,
    /// LAST-ACK → CLOSED.
    fn after_ack_of_fin(&mut self) {
        if !(self.fin_queued && self.snd_una > self.tx_end) {
            return;
        }
        match self.state {
            State::FinWait1 => self.set_state(State::FinWait2),
            State::Closing => self.set_state(State::TimeWait),
            State::LastAck => self.close_with(None),
            _ => {}
        }
    }

    /// "seventh, process the segment text" and "eighth, check the FIN bit".
    fn process_text(&mut self, seg: &Tcp) {
        if !matches!(
            self.state,
            State::Established | State::FinWait1 | State::FinWait2
        ) {
            return;
        }
        let seq = SeqNumber(seg.seq);
        let window_end = self.rcv_adv.max(self.rcv_nxt);
        if seg.payload_len > 0 {
            self.receive_data(seq, seg.payload_len, window_end);
        }
        if seg.flags & FIN != 0 {
            let fin = seq + seg.payload_len;
            if fin >= self.rcv_nxt && fin <= window_end {
                self.rx_fin = Some(fin);
            }
        }
        if self.rx_fin == Some(self.rcv_nxt) {
            self.receive_fin();
        }
    }

    fn receive_data(&mut self, seq: SeqNumber, len: u32, window_end: SeqNumber) {
        self.rcv_mss = self.rcv_mss.max(len.min(u32::from(self.mss_local)));
        let start = seq.max(self.rcv_nxt);
        let end = (seq + len).min(window_end);
        if start >= end {
            // Old or beyond the window: tell the sender where we are.
            self.ack_now = true;
            return;
        }
        if start > self.rcv_nxt {
            // RFC 5681 §4.2: "A TCP receiver SHOULD send an immediate
            // duplicate ACK when an out-of-order segment arrives."
            self.rx_ooo.add(start, end);
            self.ack_now = true;
            return;
        }
        let filled_gap = !self.rx_ooo.is_empty();
        // ns-3 acknowledges the first data segment of a connection at once
        // (`m_delAckCount = m_delAckMaxCount` when the handshake completes:
        // "Always respond to first data packet to speed up the
        // connection"), and delays every second one after it.
        let first_data = self.stats.bytes_delivered == 0 && self.cfg.recovery == LossRecovery::Ns3;
        let edge = self.rx_ooo.advance(end);
        let delivered = edge - self.rcv_nxt;
        self.rcv_nxt = edge;
        self.rx_unread += delivered;
        self.stats.bytes_delivered += u64::from(delivered);
        self.rx_unacked_bytes = self.rx_unacked_bytes.saturating_add(delivered);
        // RFC 5681 §4.2: "A TCP receiver SHOULD send an immediate ACK when
        // the incoming segment fills in all or part of a gap in the
        // sequence space." RFC 1122 §4.2.3.2: "in a stream of full-sized
        // segments there SHOULD be an ACK for at least every second
        // segment", and the delay "MUST be less than 0.5 seconds".
        match self.cfg.delayed_ack_ns {
            _ if filled_gap || first_data => self.ack_now = true,
            None => self.ack_now = true,
            Some(_) if self.rx_unacked_bytes >= 2 * self.rcv_mss => self.ack_now = true,
            Some(delay_ns) => {
                if self.timers.delayed_ack.is_none() {
                    self.timers.delayed_ack = Some(self.now + SimTime(delay_ns));
                }
            }
        }
    }

    /// The peer's FIN, in order: "advance RCV.NXT over the FIN, and send
    /// an acknowledgment for the FIN".
    fn receive_fin(&mut self) {
        self.rx_fin = None;
        self.rx_closed = true;
        self.rcv_nxt = self.rcv_nxt + 1;
        self.ack_now = true;
        match self.state {
            State::Established => self.set_state(State::CloseWait),
            // "If our FIN has been ACKed (perhaps in this segment), then
            // enter TIME-WAIT ... otherwise, enter the CLOSING state." (An
            // acknowledged FIN has already moved us to FIN-WAIT-2.)
            State::FinWait1 => self.set_state(State::Closing),
            State::FinWait2 => self.set_state(State::TimeWait),
            _ => {}
        }
    }
}
