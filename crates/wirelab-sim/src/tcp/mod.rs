//! TCP: one sans-IO connection, [`Socket`].
//!
//! Read along: RFC 9293 (the protocol; the state diagram in §3.3.2, event
//! processing in §3.10), RFC 6298 (retransmission timer, [`rto`]), RFC 5681
//! and RFC 3465 (congestion control, [`congestion`]), RFC 6582 (NewReno fast
//! recovery), RFC 2018 and RFC 6675 (SACK; [`assembler`], [`sack`]), RFC
//! 9438 (CUBIC), RFC 7323 (window scaling and timestamps), RFC 6928 (initial
//! window 10), RFC 896 (Nagle), RFC 1122 §4.2.3.2 and RFC 5681 §4.2
//! (delayed ACKs), RFC 5961 §3–4 (challenge ACKs), RFC 3042 (limited
//! transmit), RFC 6691 (MSS and options).
//!
//! # The contract with the engine
//!
//! The socket never reads a clock and never moves a packet; the engine
//! passes time in and carries segments out, as in smoltcp:
//!
//! - create with [`Socket::connect`] (active open, SYN-SENT),
//!   [`Socket::accept`] (a SYN arrived at a listening port: SYN-RECEIVED)
//!   or [`Socket::listen`] (a LISTEN socket, for completeness of the state
//!   machine). Initial sequence numbers come from the caller's seeded RNG;
//!   `mss` is what the path MTU allows (MTU − 40 for IPv4, MTU − 60 for
//!   IPv6);
//! - hand it every segment of its 4-tuple with [`Socket::process`];
//! - after `process`, [`Socket::on_timer`], [`Socket::send`],
//!   [`Socket::close`], [`Socket::abort`] or [`Socket::take_readable`],
//!   call [`Socket::poll_transmit`] until it returns `None`;
//! - wake it at [`Socket::poll_at`] with [`Socket::on_timer`];
//! - read [`Socket::stats`] and [`Socket::state`]; drop the socket once it
//!   is [`State::Closed`] and `poll_transmit` is `None` (a reset may still
//!   be waiting to go out). Segments for no socket are answered with
//!   [`reset_for`].
//!
//! Payloads are byte counts (no data is simulated). The application is
//! modelled by `send(bytes)` and `take_readable()`: received in-order
//! bytes occupy the receive buffer until taken, so an application that
//! does not read closes the window (and exercises the persist timer).
//!
//! # Choices, where the RFCs leave them open
//!
//! - TIME-WAIT lasts 2·MSL with MSL = 30 s: 60 s as Linux's
//!   `TCP_TIMEWAIT_LEN`.
//! - Data: give up after [`RETRIES_MAX`] (15, Linux's `tcp_retries2`)
//!   consecutive timeouts; SYN and SYN-ACK after [`SYN_RETRIES_MAX`] (6,
//!   Linux's `tcp_syn_retries`); persist probes after 15 unanswered ones.
//! - Loss recovery sends what RFC 6937's Proportional Rate Reduction (with
//!   the PRR-SSRB bound) allows on each ACK, for SACK (RFC 6675) and
//!   NewReno (RFC 6582) recovery alike, as Linux does; RFC 6582's window
//!   inflation is replaced by it. The first retransmission goes out at
//!   once (Linux's "force fast retransmit"). Without SACK, pipe counts
//!   one segment delivered per duplicate ACK, as Linux's Reno emulation.
//! - A SACK recovery detects lost retransmissions: a retransmitted range
//!   still missing once SACKs cover data sent after it is sent again
//!   (Linux's pre-RACK `tcp_mark_lost_retrans`; exact on FIFO paths).
//!   RFC 6675's rescue retransmission is not modelled.
//! - HyStart++ (RFC 9406) ends CUBIC's initial slow start when the RTT
//!   rises (as Linux and ns-3 use HyStart with CUBIC; NewReno keeps
//!   standard slow start). Later slow starts are standard (§4.3).
//!   `cubic: linux` and `cubic: ns3` run their own, original HyStart
//!   instead ([`congestion::cubic_linux`]), and grow cwnd on the ACK that
//!   ends a recovery, as Linux and ns-3 do.
//! - `recovery: ns3` replaces these choices with ns-3.44's (see
//!   [`Socket::loss_flight`], [`Socket::prr_delivered`] and
//!   [`Prr::on_ack_ns3`], whose 32-bit product wraps as ns-3's does), for
//!   labs that mirror ns-3 runs; such a socket also acknowledges the first
//!   data segment it receives at once, as ns-3 does.
//! - Retransmission after a timeout is go-back-N from SND.UNA, and the
//!   SACK scoreboard is forgotten (RFC 2018 §8: "the data sender SHOULD
//!   turn off all of the SACKed bits").
//! - Timestamps tick in microseconds (as Linux's `usec` TS option), from a
//!   per-connection offset (the ISN), so RTT samples stay exact on
//!   sub-millisecond links. PAWS (RFC 7323 §5) is not modelled.
//! - Delayed ACK: an ACK for every two full-sized segments, at most
//!   `delayed_ack` later for the rest, at once for out-of-order data or a
//!   filled gap. Linux's quick-ACK mode at connection start is not
//!   modelled.
//! - The SWS-avoidance "override timeout" (RFC 9293 §3.8.6.2.1) is not
//!   modelled: with nothing in flight a sender sends what the window allows.
//! - No data on SYNs (no TCP Fast Open), no urgent data, no keep-alive.

pub mod assembler;
pub mod congestion;
mod process;
pub mod rto;
pub mod sack;
pub mod seq;
mod transmit;

#[cfg(test)]
mod tests;

use wirelab_spec::model::{LossRecovery, TcpSettings};

use crate::packet::{tcp_flags::*, Tcp};
use crate::time::SimTime;
use assembler::Assembler;
use congestion::hystart::HyStart;
use congestion::prr::Prr;
use congestion::{AnyController, Controller};
use rto::{RttEstimator, RTO_NS_MAX};
use sack::Scoreboard;
use seq::SeqNumber;

/// Maximum segment lifetime; TIME-WAIT lasts twice this.
pub const MSL_NS: u64 = 30_000_000_000;
pub const TIME_WAIT_NS: u64 = 2 * MSL_NS;
/// Consecutive retransmission timeouts after which a connection is given up.
pub const RETRIES_MAX: u8 = 15;
/// Consecutive SYN (or SYN-ACK) retransmissions after which a connection
/// attempt is given up.
pub const SYN_RETRIES_MAX: u8 = 6;
/// Unanswered zero-window probes after which a connection is given up.
pub const PROBES_MAX: u8 = 15;
/// RFC 9293 §3.7.1: "If an MSS Option is not received at connection
/// setup, TCP implementations MUST assume a default send MSS of 536".
pub const MSS_DEFAULT: u16 = 536;
/// RFC 7323 §2.3: "the shift count must be limited to 14".
pub const WINDOW_SCALE_MAX: u8 = 14;
/// The TCP header bytes of the timestamps option, padded (RFC 7323 §3.2).
const TIMESTAMPS_LEN: u32 = 12;

/// The connection states of RFC 9293 §3.3.2.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum State {
    Closed,
    Listen,
    SynSent,
    SynReceived,
    Established,
    FinWait1,
    FinWait2,
    CloseWait,
    Closing,
    LastAck,
    TimeWait,
}

impl State {
    /// The name RFC 9293 uses.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Closed => "CLOSED",
            State::Listen => "LISTEN",
            State::SynSent => "SYN-SENT",
            State::SynReceived => "SYN-RECEIVED",
            State::Established => "ESTABLISHED",
            State::FinWait1 => "FIN-WAIT-1",
            State::FinWait2 => "FIN-WAIT-2",
            State::CloseWait => "CLOSE-WAIT",
            State::Closing => "CLOSING",
            State::LastAck => "LAST-ACK",
            State::TimeWait => "TIME-WAIT",
        }
    }
}

/// Why a connection ended other than by an orderly close.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CloseReason {
    /// A reset answered our SYN ("connection refused").
    Refused,
    /// A reset arrived on a synchronized connection ("connection reset").
    Reset,
    /// Retransmissions (or zero-window probes) went unanswered.
    TimedOut,
    /// The application aborted the connection.
    Aborted,
}

impl CloseReason {
    /// A stable code for reports.
    pub fn code(self) -> &'static str {
        match self {
            CloseReason::Refused => "refused",
            CloseReason::Reset => "reset",
            CloseReason::TimedOut => "timed-out",
            CloseReason::Aborted => "aborted",
        }
    }
}

/// Counters and the current congestion and timer state of a connection.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    pub segments_sent: u64,
    pub segments_received: u64,
    /// Payload bytes sent for the first time.
    pub bytes_sent: u64,
    /// Payload bytes the peer acknowledged.
    pub bytes_acked: u64,
    /// In-order payload bytes received (delivered to the application's
    /// receive buffer).
    pub bytes_delivered: u64,
    pub bytes_retransmitted: u64,
    /// Segments sent again (any reason: timeout, fast retransmit, SACK
    /// recovery, SYN and FIN retransmissions).
    pub segments_retransmitted: u64,
    /// Loss recoveries entered on duplicate ACKs or SACK information.
    pub fast_retransmits: u64,
    /// Retransmission timer expirations.
    pub timeouts: u64,
    pub rtt_samples: u64,
    pub rtt_ns_min: u64,
    pub rtt_ns_sum: u64,
    pub cwnd_bytes: u64,
    /// `u64::MAX` until the first loss.
    pub ssthresh_bytes: u64,
    pub srtt_ns: u64,
    pub rttvar_ns: u64,
    pub rto_ns: u64,
    /// When the socket was created: for an active open, when its first
    /// SYN was handed to the network.
    pub opened_at: SimTime,
    pub established_at: Option<SimTime>,
    pub closed_at: Option<SimTime>,
}

impl Stats {
    pub fn rtt_ns_avg(&self) -> Option<u64> {
        self.rtt_ns_sum.checked_div(self.rtt_samples)
    }
}

/// How the connection was opened (RFC 9293 §3.10.7.4: a reset in
/// SYN-RECEIVED returns a passively opened connection to LISTEN).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Opened {
    /// `connect`: active open.
    Active,
    /// `listen`: passive open; returns to LISTEN on reset.
    Listen,
    /// `accept`: the per-connection child of a listener; closes on reset.
    Accept,
}

/// Loss recovery in progress.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Recovery {
    None,
    /// RFC 6582 fast recovery with window inflation.
    NewReno,
    /// RFC 6675 SACK-based loss recovery.
    Sack,
}

/// When to send a pure ACK.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Timers {
    retransmit: Option<SimTime>,
    delayed_ack: Option<SimTime>,
    persist: Option<SimTime>,
    time_wait: Option<SimTime>,
}

/// One TCP connection. See the module documentation for the contract.
#[derive(Clone, Debug)]
pub struct Socket {
    cfg: TcpSettings,
    state: State,
    opened: Opened,
    error: Option<CloseReason>,
    local_port: u16,
    remote_port: u16,
    /// The latest time passed in; time never goes backward.
    now: SimTime,
    timers: Timers,

    // Negotiated at the handshake.
    /// The MSS the path allows us to receive, announced on our SYN.
    mss_local: u16,
    /// min(ours, the peer's MSS option): the largest segment we send,
    /// options included.
    mss_send: u16,
    /// Shift applied to the peer's window field (its option), and to ours.
    snd_wscale: u8,
    rcv_wscale: u8,
    wscale_ok: bool,
    sack_ok: bool,
    ts_ok: bool,

    // Send sequence space (RFC 9293 §3.3.1).
    iss: SeqNumber,
    snd_una: SeqNumber,
    /// The next sequence number to send; below `snd_max` after a timeout.
    snd_nxt: SeqNumber,
    /// One past the highest sequence number sent (RFC 6675's HighData).
    snd_max: SeqNumber,
    /// One past the application's data: data is `[iss + 1, tx_end)`, the
    /// FIN (once `fin_queued`) is `tx_end`.
    tx_end: SeqNumber,
    fin_queued: bool,
    /// The peer's window, scaled, bytes.
    snd_wnd: u32,
    snd_wnd_max: u32,
    snd_wl1: SeqNumber,
    snd_wl2: SeqNumber,

    // Receive sequence space.
    irs: SeqNumber,
    rcv_nxt: SeqNumber,
    /// The right edge of the window last advertised (never moves left).
    rcv_adv: SeqNumber,
    /// Received in-order bytes the application has not taken.
    rx_unread: u32,
    /// The peer's FIN, once it arrived ahead of missing data.
    rx_fin: Option<SeqNumber>,
    /// The peer's FIN has been received in order.
    rx_closed: bool,
    rx_ooo: Assembler,
    /// The largest payload received so far: the "full-sized segment" of
    /// the delayed-ACK rule.
    rcv_mss: u32,
    /// In-order bytes received since the last ACK was sent.
    rx_unacked_bytes: u32,
    ack_now: bool,
    ts_recent: u32,
    last_ack_sent: SeqNumber,

    // Loss detection and recovery.
    cc: AnyController,
    rtt: RttEstimator,
    /// Karn: the segment being timed (its first sequence number) and when
    /// it was sent; cleared by any retransmission.
    rtt_timed: Option<(SeqNumber, SimTime)>,
    recovery: Recovery,
    dup_acks: u8,
    /// New data sent beyond cwnd on the duplicate ACKs before a recovery
    /// (RFC 3042 limited transmit), bytes; left out of the ssthresh
    /// computation (RFC 5681 §3.2 (2)).
    limited_tx_bytes: u64,
    /// RFC 6582's `recover` / RFC 6675's RecoveryPoint (one past).
    recover: SeqNumber,
    /// RFC 6675 HighRxt (one past the highest retransmitted byte).
    high_rxt: SeqNumber,
    /// Fast retransmit (or an RFC 6582 partial ACK) asks for the first
    /// unacknowledged segment to go out now, whatever cwnd says.
    rexmit_first: bool,
    /// With `recovery: ns3`, a partial ACK in a SACK recovery asks for one
    /// segment now, whatever cwnd says: ns-3.44's `DoRetransmit`, which
    /// takes `NextSeg`'s choice (see [`Socket::ns3_retransmit_next`]).
    ns3_rexmit_next: bool,
    /// A partial ACK has restarted the retransmission timer in this
    /// recovery (with `recovery: ns3`, only the first one does).
    partial_acked: bool,
    /// The ACK of the SYN-ACK goes alone, before any data (ns-3's
    /// `ProcessSynSent`, with `recovery: ns3`).
    ack_first: bool,
    scoreboard: Scoreboard,
    /// RFC 6937 state of the current recovery.
    prr: Prr,
    /// RFC 9406 state of the initial slow start (CUBIC).
    hystart: HyStart,
    /// Without SACK: the bytes this recovery's duplicate ACKs stand for
    /// (Linux's `sacked_out` for Reno), taken out of pipe.
    reno_sacked: u64,
    /// Retransmissions of this SACK recovery not yet acknowledged: start,
    /// end, and HighData when sent. One is lost again when SACKs cover
    /// data sent after it and it is still missing (lost retransmission
    /// detection, as Linux's `tcp_mark_lost_retrans` before RACK). With
    /// `recovery: ns3` also what was sent again after a timeout, which
    /// ns-3 counts in flight even once SACKed.
    rxt: Vec<(SeqNumber, SeqNumber, SeqNumber)>,
    retries: u8,
    syn_retransmitted: bool,
    probes: u8,
    probe_backoff: u8,
    probe_now: bool,
    /// A reset to send (answering a bad segment, or `abort`).
    pending_rst: Option<Tcp>,

    stats: Stats,
}

impl Socket {
    fn new(cfg: &TcpSettings, local_port: u16, isn: u32, mss: u16, now: SimTime) -> Socket {
        let iss = SeqNumber(isn);
        let mss = mss.max(64);
        let rcv_wscale = if cfg.window_scaling {
            window_scale_for(cfg.receive_buffer)
        } else {
            0
        };
        let mut socket = Socket {
            cfg: *cfg,
            state: State::Closed,
            opened: Opened::Active,
            error: None,
            local_port,
            remote_port: 0,
            now,
            timers: Timers::default(),
            mss_local: mss,
            mss_send: mss.min(MSS_DEFAULT),
            snd_wscale: 0,
            rcv_wscale,
            wscale_ok: false,
            sack_ok: false,
            ts_ok: false,
            iss,
            snd_una: iss,
            snd_nxt: iss,
            snd_max: iss,
            tx_end: iss + 1,
            fin_queued: false,
            snd_wnd: 0,
            snd_wnd_max: 0,
            snd_wl1: SeqNumber(0),
            snd_wl2: SeqNumber(0),
            irs: SeqNumber(0),
            rcv_nxt: SeqNumber(0),
            rcv_adv: SeqNumber(0),
            rx_unread: 0,
            rx_fin: None,
            rx_closed: false,
            rx_ooo: Assembler::default(),
            rcv_mss: u32::from(MSS_DEFAULT).min(u32::from(mss)),
            rx_unacked_bytes: 0,
            ack_now: false,
            ts_recent: 0,
            last_ack_sent: SeqNumber(0),
            cc: AnyController::new(
                cfg.congestion,
                cfg.cubic,
                cfg.increase,
                cfg.initial_window,
                u64::from(mss),
            ),
            rtt: RttEstimator::new(cfg.min_rto_ns, cfg.initial_rto_ns),
            rtt_timed: None,
            recovery: Recovery::None,
            dup_acks: 0,
            limited_tx_bytes: 0,
            recover: iss,
            high_rxt: iss,
            rexmit_first: false,
            ns3_rexmit_next: false,
            partial_acked: false,
            ack_first: false,
            scoreboard: Scoreboard::default(),
            prr: Prr::default(),
            hystart: HyStart::default(),
            reno_sacked: 0,
            rxt: Vec::new(),
            retries: 0,
            syn_retransmitted: false,
            probes: 0,
            probe_backoff: 0,
            probe_now: false,
            pending_rst: None,
            stats: Stats {
                opened_at: now,
                ..Stats::default()
            },
        };
        socket.sync_stats();
        socket
    }

    /// Active open (RFC 9293 §3.10.1): the socket is in SYN-SENT and its
    /// SYN is the first thing `poll_transmit` returns.
    pub fn connect(
        cfg: &TcpSettings,
        local_port: u16,
        remote_port: u16,
        isn: u32,
        mss: u16,
        now: SimTime,
    ) -> Socket {
        let mut socket = Socket::new(cfg, local_port, isn, mss, now);
        socket.remote_port = remote_port;
        socket.set_state(State::SynSent);
        socket
    }

    /// Passive open: a socket in LISTEN, which a SYN moves to SYN-RECEIVED
    /// (and a reset in SYN-RECEIVED moves back).
    pub fn listen(cfg: &TcpSettings, local_port: u16, isn: u32, mss: u16, now: SimTime) -> Socket {
        let mut socket = Socket::new(cfg, local_port, isn, mss, now);
        socket.opened = Opened::Listen;
        socket.set_state(State::Listen);
        socket
    }

    /// A SYN arrived at a listening port: the new connection, in
    /// SYN-RECEIVED with its SYN-ACK to send (or CLOSED with a reset to
    /// send, if `syn` is not a SYN).
    pub fn accept(cfg: &TcpSettings, syn: &Tcp, isn: u32, mss: u16, now: SimTime) -> Socket {
        let mut socket = Socket::listen(cfg, syn.dst_port, isn, mss, now);
        socket.opened = Opened::Accept;
        socket.process(now, syn);
        if socket.state == State::Listen {
            socket.set_state(State::Closed);
        }
        socket
    }

    /// An ICMP fragmentation needed / packet too big about this connection
    /// reported `mtu` (RFC 1191 §6.4, RFC 8201 §5.4): segments from now on
    /// fit it, and what is in flight is sent again at the new size at once.
    /// This is not a congestion signal: the window is left alone.
    pub fn on_path_mtu(&mut self, now: SimTime, mtu: u32, v6: bool) {
        self.advance_clock(now);
        let headers = if v6 { 60 } else { 40 };
        let mss = mtu.saturating_sub(headers).clamp(88, u32::from(u16::MAX)) as u16;
        if mss >= self.mss_send {
            return;
        }
        self.mss_send = mss;
        if self.snd_max != self.snd_una {
            self.snd_nxt = self.snd_una;
            self.rtt_timed = None;
        }
    }

    /// Queue `bytes` of application data; returns how many fit in the send
    /// buffer. Nothing is accepted once the connection is closing.
    pub fn send(&mut self, bytes: u64) -> u64 {
        let open = matches!(
            self.state,
            State::SynSent | State::SynReceived | State::Established | State::CloseWait
        );
        if !open || self.fin_queued {
            return 0;
        }
        let room = u64::from(self.cfg.send_buffer).saturating_sub(u64::from(self.tx_buffered()));
        let accepted = bytes.min(room).min(i32::MAX as u64 / 2) as u32;
        self.tx_end = self.tx_end + accepted;
        u64::from(accepted)
    }

    /// Bytes in the send buffer: queued or sent and not yet acknowledged.
    pub fn tx_buffered(&self) -> u32 {
        self.tx_end - self.snd_una.max(self.iss + 1).min(self.tx_end)
    }

    /// Close our direction (RFC 9293 §3.10.4): a FIN goes out after the
    /// queued data.
    /// TCP_NODELAY: Nagle's algorithm off for this socket (curl and
    /// nginx set it on every connection), whatever the host's settings.
    pub fn set_nodelay(&mut self) {
        self.cfg.nagle = false;
    }

    pub fn close(&mut self) {
        match self.state {
            State::Listen | State::SynSent => self.close_with(None),
            // "If no SENDs have been issued and there is no pending data to
            // send, then form a FIN segment and send it ... otherwise, queue
            // for processing after entering ESTABLISHED state": the FIN is
            // queued either way and goes out after the handshake.
            State::SynReceived => self.fin_queued = true,
            State::Established => {
                self.fin_queued = true;
                self.set_state(State::FinWait1);
            }
            State::CloseWait => {
                self.fin_queued = true;
                self.set_state(State::LastAck);
            }
            _ => {}
        }
    }

    /// Abort (RFC 9293 §3.10.5): a reset goes out from synchronized states
    /// and the connection is CLOSED at once.
    pub fn abort(&mut self) {
        use State::*;
        if matches!(
            self.state,
            SynReceived | Established | FinWait1 | FinWait2 | CloseWait
        ) {
            // "<SEQ=SND.NXT><CTL=RST>"
            self.pending_rst = Some(self.bare(self.snd_nxt.max(self.snd_max), 0, RST));
        }
        if self.state != Closed {
            self.close_with(Some(CloseReason::Aborted));
        }
    }

    /// In-order bytes received since the last call. Taking them frees
    /// receive buffer, which may open the window (and send an update).
    pub fn take_readable(&mut self) -> u64 {
        let taken = self.rx_unread;
        self.rx_unread = 0;
        if taken > 0 && self.window_update_due() {
            self.ack_now = true;
        }
        u64::from(taken)
    }

    pub fn state(&self) -> State {
        self.state
    }

    /// Whether this connection was opened with `connect` (active open).
    pub fn is_active_open(&self) -> bool {
        self.opened == Opened::Active
    }

    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// Why the connection closed, if not in an orderly way.
    pub fn error(&self) -> Option<CloseReason> {
        self.error
    }

    pub fn established_at(&self) -> Option<SimTime> {
        self.stats.established_at
    }

    pub fn closed_at(&self) -> Option<SimTime> {
        self.stats.closed_at
    }

    /// The initial send sequence number.
    pub fn iss(&self) -> u32 {
        self.iss.0
    }

    pub fn local_port(&self) -> u16 {
        self.local_port
    }

    pub fn remote_port(&self) -> u16 {
        self.remote_port
    }

    /// CLOSED with nothing left to send: the engine may drop the socket.
    pub fn is_finished(&self) -> bool {
        self.state == State::Closed && self.pending_rst.is_none()
    }

    /// The peer's FIN has been received (no more data will come).
    pub fn recv_finished(&self) -> bool {
        self.rx_closed
    }

    /// All queued data (and the FIN, if queued) has been acknowledged.
    pub fn send_finished(&self) -> bool {
        let end = if self.fin_queued {
            self.tx_end + 1
        } else {
            self.tx_end
        };
        self.snd_una >= end
    }

    /// The earliest timer: retransmission, delayed ACK, persist or
    /// TIME-WAIT.
    pub fn poll_at(&self) -> Option<SimTime> {
        let t = &self.timers;
        [t.retransmit, t.delayed_ack, t.persist, t.time_wait]
            .into_iter()
            .flatten()
            .min()
    }

    /// Run the timers due at `now`.
    pub fn on_timer(&mut self, now: SimTime) {
        self.advance_clock(now);
        if self.timers.time_wait.is_some_and(|t| t <= now) {
            // RFC 9293 §3.10.8: "If the time-wait timeout expires on a
            // connection, delete the TCB, enter the CLOSED state".
            self.close_with(None);
            return;
        }
        if self.timers.retransmit.is_some_and(|t| t <= now) {
            self.timers.retransmit = None;
            self.on_retransmit_timeout();
        }
        if self.timers.delayed_ack.is_some_and(|t| t <= now) {
            self.timers.delayed_ack = None;
            self.ack_now = true;
        }
        if self.timers.persist.is_some_and(|t| t <= now) {
            self.timers.persist = None;
            self.on_persist_timeout();
        }
        self.sync_stats();
    }

    fn advance_clock(&mut self, now: SimTime) {
        assert!(now >= self.now, "time went backward: {now} < {}", self.now);
        self.now = now;
    }

    /// The one place the state changes, and what entering a state means.
    fn set_state(&mut self, state: State) {
        if state == self.state {
            return;
        }
        self.state = state;
        match state {
            State::Established if self.stats.established_at.is_none() => {
                self.stats.established_at = Some(self.now);
            }
            State::TimeWait => {
                self.timers = Timers {
                    time_wait: Some(self.now + SimTime(TIME_WAIT_NS)),
                    ..Timers::default()
                };
            }
            State::Closed => {
                self.timers = Timers::default();
                self.ack_now = false;
                self.probe_now = false;
                self.rexmit_first = false;
                self.ns3_rexmit_next = false;
                self.stats.closed_at = Some(self.now);
            }
            _ => {}
        }
    }

    fn close_with(&mut self, reason: Option<CloseReason>) {
        self.error = reason;
        self.set_state(State::Closed);
    }

    /// RFC 6298 §5.4–5.6, and giving up (RFC 9293 §3.8.3's R2).
    fn on_retransmit_timeout(&mut self) {
        if self.snd_una == self.snd_max {
            return;
        }
        let handshake = matches!(self.state, State::SynSent | State::SynReceived);
        let limit = if handshake {
            SYN_RETRIES_MAX
        } else {
            RETRIES_MAX
        };
        self.retries = self.retries.saturating_add(1);
        if self.retries > limit {
            self.close_with(Some(CloseReason::TimedOut));
            return;
        }
        self.stats.timeouts += 1;
        self.rtt.back_off();
        self.rtt_timed = None;
        // Go back: everything from SND.UNA is sent again.
        self.snd_nxt = self.snd_una;
        if handshake {
            self.syn_retransmitted = true;
            return;
        }
        let flight = u64::from(self.snd_max - self.snd_una);
        self.cc
            .on_timeout(self.now, flight, self.smss(), self.retries == 1);
        self.recovery = Recovery::None;
        self.dup_acks = 0;
        self.limited_tx_bytes = 0;
        self.rexmit_first = false;
        self.ns3_rexmit_next = false;
        // RFC 6582 §3.2 (4): "After a retransmit timeout, record the
        // highest sequence number transmitted in the variable recover".
        self.recover = self.snd_max;
        self.high_rxt = self.snd_una;
        // RFC 2018 §8: the receiver may have reneged, so the SACKed bits
        // are turned off. ns-3.44 keeps them (`SetSentListLost` resets
        // SACK only without SACK) and sends again only the unSACKed data.
        if self.cfg.recovery != LossRecovery::Ns3 {
            self.scoreboard.clear();
        }
        self.reno_sacked = 0;
        self.rxt.clear();
    }

    /// ns-3.44's CA_LOSS: after a timeout, until SND.UNA reaches
    /// `recover`, with `recovery: ns3`. The SACKed data is skipped, there
    /// is no limited transmit, and an ACK with SACK news still grows the
    /// window.
    pub(super) fn in_ns3_loss(&self) -> bool {
        self.cfg.recovery == LossRecovery::Ns3
            && self.recovery == Recovery::None
            && self.snd_una < self.recover
    }

    /// RFC 9293 §3.8.6.1: "The sending TCP peer must regularly transmit at
    /// least one octet of new data (if available), or retransmit to the
    /// receiving TCP peer even if the send window is zero". The probe is
    /// Linux's: an old sequence number, which the receiver must answer
    /// with an ACK carrying its window.
    fn on_persist_timeout(&mut self) {
        if self.snd_wnd > 0 || !self.has_unsent() {
            self.probe_backoff = 0;
            return;
        }
        self.probes = self.probes.saturating_add(1);
        if self.probes > PROBES_MAX {
            self.close_with(Some(CloseReason::TimedOut));
            return;
        }
        self.probe_now = true;
        self.probe_backoff = self.probe_backoff.saturating_add(1);
    }

    fn persist_interval_ns(&self) -> u64 {
        let shift = u32::from(self.probe_backoff.min(40));
        self.rtt
            .rto_ns()
            .saturating_mul(1u64 << shift)
            .min(RTO_NS_MAX)
    }

    /// Data or a FIN waiting to be sent for the first time.
    fn has_unsent(&self) -> bool {
        self.snd_max < self.tx_end || (self.fin_queued && self.snd_max <= self.tx_end)
    }

    /// The sender's maximum segment size for congestion control: what a
    /// full segment carries (RFC 5681's SMSS).
    fn smss(&self) -> u64 {
        let options = if self.ts_ok { TIMESTAMPS_LEN } else { 0 };
        u64::from(u32::from(self.mss_send).saturating_sub(options).max(1))
    }

    /// Free receive buffer, bytes.
    fn rx_free(&self) -> u32 {
        self.cfg.receive_buffer.saturating_sub(self.rx_unread)
    }

    /// RFC 9293 §3.8.6.2.2, receiver SWS avoidance: the right edge moves
    /// only when "RCV.BUFF - RCV.USER - RCV.WND >= min(Fr * RCV.BUFF,
    /// Eff.snd.MSS)" with Fr = 1/2. Returns the window to advertise.
    fn rcv_wnd(&self) -> u32 {
        let max_wnd = 0xffffu32 << self.rcv_wscale;
        let free = self.rx_free().min(max_wnd);
        let edge_now = self.rcv_nxt + free;
        let advertised = self.rcv_adv.saturating_since(self.rcv_nxt);
        let threshold = (self.cfg.receive_buffer / 2).min(u32::from(self.mss_local));
        if edge_now.saturating_since(self.rcv_adv) >= threshold || advertised > free {
            free
        } else {
            advertised
        }
    }

    /// After the application read: is the window now worth announcing?
    /// Only when the advertised window had (nearly) closed — below two
    /// segments, so the sender may be stalled — and now at least doubles
    /// by at least the SWS threshold (Linux's `tcp_cleanup_rbuf` rule,
    /// restricted to the stalled case). A sender that is not stalled
    /// learns the window from the next ACK.
    fn window_update_due(&self) -> bool {
        if !matches!(
            self.state,
            State::Established | State::FinWait1 | State::FinWait2
        ) {
            return false;
        }
        let advertised = self.rcv_adv.saturating_since(self.rcv_nxt);
        let wnd = self.rcv_wnd();
        advertised < 2 * u32::from(self.mss_local) && wnd > advertised && wnd >= 2 * advertised
    }

    /// The timestamp clock: microseconds from a per-connection offset.
    fn ts_now(&self) -> u32 {
        ((self.now.as_nanos() / 1_000) as u32).wrapping_add(self.iss.0)
    }

    fn sync_stats(&mut self) {
        self.stats.cwnd_bytes = self.cc.cwnd();
        self.stats.ssthresh_bytes = self.cc.ssthresh();
        self.stats.srtt_ns = self.rtt.srtt_ns();
        self.stats.rttvar_ns = self.rtt.rttvar_ns();
        self.stats.rto_ns = self.rtt.rto_ns();
    }
}

/// RFC 7323 §2.3: the smallest shift that lets the window field cover
/// `receive_buffer`, at most 14.
pub fn window_scale_for(receive_buffer: u32) -> u8 {
    let mut shift = 0;
    while shift < WINDOW_SCALE_MAX && (receive_buffer >> shift) > 0xffff {
        shift += 1;
    }
    shift
}

/// The reset that answers `seg` when no connection exists for it (RFC
/// 9293 §3.10.7.1): "If the ACK bit is off, sequence number zero is used,
/// <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>. If the ACK bit is on,
/// <SEQ=SEG.ACK><CTL=RST>". A reset is never answered.
pub fn reset_for(seg: &Tcp) -> Option<Tcp> {
    if seg.flags & RST != 0 {
        return None;
    }
    let (src, dst) = (seg.dst_port, seg.src_port);
    Some(if seg.flags & ACK != 0 {
        Tcp::plain(src, dst, seg.ack, 0, RST, 0)
    } else {
        let len = seg_len(seg);
        Tcp::plain(src, dst, 0, seg.seq.wrapping_add(len), RST | ACK, 0)
    })
}

/// SEG.LEN: payload plus one for each of SYN and FIN.
fn seg_len(seg: &Tcp) -> u32 {
    seg.payload_len + u32::from(seg.flags & SYN != 0) + u32::from(seg.flags & FIN != 0)
}
