//! Tests of the socket: segment scripts per state (`states`), and two
//! sockets joined by a small simulated link (`link`, `transfer`).
//!
//! Scripts follow smoltcp's: a fixture per state (`socket_established()`),
//! `send!` for a segment from the peer, `recv!` for the segment the socket
//! must send next, `recv_nothing!` when it must be silent. The socket
//! under test is the local end with sequence numbers from `LOCAL_SEQ`; the
//! peer's start at `REMOTE_SEQ`.

use wirelab_spec::model::TcpSettings;

use super::*;

mod link;
mod states;
mod transfer;

pub const LOCAL_PORT: u16 = 80;
pub const REMOTE_PORT: u16 = 49_500;
pub const LOCAL_SEQ: u32 = 10_000;
pub const REMOTE_SEQ: u32 = 20_000;
pub const MSS: u16 = 1460;
pub const L: u32 = LOCAL_SEQ;
pub const R: u32 = REMOTE_SEQ;

/// Settings that keep scripts short: no options beyond MSS, every segment
/// acknowledged at once, a 64 KiB buffer (window 65535 unscaled).
pub fn cfg() -> TcpSettings {
    TcpSettings {
        delayed_ack_ns: None,
        sack: false,
        timestamps: false,
        window_scaling: false,
        receive_buffer: 65_535,
        send_buffer: 65_535,
        ..TcpSettings::default()
    }
}

/// A segment from the peer.
pub fn remote(flags: u8, seq: u32, ack: u32, len: u32) -> Tcp {
    let mut seg = Tcp::plain(REMOTE_PORT, LOCAL_PORT, seq, ack, flags, 65_535);
    seg.payload_len = len;
    if flags & SYN != 0 {
        seg.mss = Some(MSS);
    }
    seg
}

pub fn flag_names(flags: u8) -> String {
    let names = [(SYN, "SYN"), (FIN, "FIN"), (RST, "RST"), (ACK, "ACK")];
    let parts: Vec<&str> = names
        .iter()
        .filter(|(f, _)| flags & f != 0)
        .map(|(_, n)| *n)
        .collect();
    parts.join("|")
}

/// Deliver a segment from the peer: `send!(socket, FLAGS, seq, ack[, len])`.
macro_rules! send {
    ($s:expr, $flags:expr, $seq:expr, $ack:expr) => {
        send!($s, $flags, $seq, $ack, 0)
    };
    ($s:expr, $flags:expr, $seq:expr, $ack:expr, $len:expr) => {{
        let now = $s.now;
        $s.process(now, &remote($flags, $seq, $ack, $len));
    }};
}

/// Expect the next segment: `recv!(socket, FLAGS, seq, ack[, len])`
/// (PSH is not compared). Evaluates to the segment.
macro_rules! recv {
    ($s:expr, $flags:expr, $seq:expr, $ack:expr) => {
        recv!($s, $flags, $seq, $ack, 0)
    };
    ($s:expr, $flags:expr, $seq:expr, $ack:expr, $len:expr) => {{
        let now = $s.now;
        let seg = $s.poll_transmit(now).expect("a segment to send");
        assert_eq!(
            (flag_names(seg.flags), seg.seq, seg.ack, seg.payload_len),
            (flag_names($flags), $seq, $ack, $len),
            "sent {seg:?}"
        );
        seg
    }};
}

macro_rules! recv_nothing {
    ($s:expr) => {{
        let now = $s.now;
        assert_eq!($s.poll_transmit(now), None);
    }};
}

pub(crate) use {recv, recv_nothing, send};

pub fn socket_listen() -> Socket {
    Socket::listen(&cfg(), LOCAL_PORT, LOCAL_SEQ, MSS, SimTime::ZERO)
}

/// An active open at time zero, before its SYN is taken.
pub fn connect(settings: &TcpSettings) -> Socket {
    Socket::connect(
        settings,
        LOCAL_PORT,
        REMOTE_PORT,
        LOCAL_SEQ,
        MSS,
        SimTime::ZERO,
    )
}

pub fn socket_syn_sent() -> Socket {
    let mut s = connect(&cfg());
    recv!(s, SYN, L, 0);
    s
}

pub fn socket_syn_received() -> Socket {
    let mut s = socket_listen();
    send!(s, SYN, R, 0);
    recv!(s, SYN | ACK, L, R + 1);
    assert_eq!(s.state(), State::SynReceived);
    s
}

pub fn socket_established() -> Socket {
    let mut s = socket_syn_received();
    send!(s, ACK, R + 1, L + 1);
    assert_eq!(s.state(), State::Established);
    recv_nothing!(s);
    s
}

pub fn socket_fin_wait_1() -> Socket {
    let mut s = socket_established();
    s.close();
    recv!(s, FIN | ACK, L + 1, R + 1);
    assert_eq!(s.state(), State::FinWait1);
    s
}

pub fn socket_fin_wait_2() -> Socket {
    let mut s = socket_fin_wait_1();
    send!(s, ACK, R + 1, L + 2);
    assert_eq!(s.state(), State::FinWait2);
    s
}

pub fn socket_close_wait() -> Socket {
    let mut s = socket_established();
    send!(s, FIN | ACK, R + 1, L + 1);
    recv!(s, ACK, L + 1, R + 2);
    assert_eq!(s.state(), State::CloseWait);
    s
}

pub fn socket_closing() -> Socket {
    let mut s = socket_fin_wait_1();
    send!(s, FIN | ACK, R + 1, L + 1);
    recv!(s, ACK, L + 2, R + 2);
    assert_eq!(s.state(), State::Closing);
    s
}

pub fn socket_last_ack() -> Socket {
    let mut s = socket_close_wait();
    s.close();
    recv!(s, FIN | ACK, L + 1, R + 2);
    assert_eq!(s.state(), State::LastAck);
    s
}

pub fn socket_time_wait() -> Socket {
    let mut s = socket_fin_wait_2();
    send!(s, FIN | ACK, R + 1, L + 2);
    recv!(s, ACK, L + 2, R + 2);
    assert_eq!(s.state(), State::TimeWait);
    s
}

/// Run the socket's timers at the time they are due.
pub fn fire_timer(s: &mut Socket) -> SimTime {
    let at = s.poll_at().expect("a timer");
    s.on_timer(at);
    at
}

#[test]
fn socket_is_small() {
    let size = std::mem::size_of::<Socket>();
    eprintln!("size_of::<Socket>() = {size}");
    assert!(size < 1024, "{size} bytes");
}
