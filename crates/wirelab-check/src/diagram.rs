//! Two views of one traced exchange, rendered from the trace itself:
//!
//! - a **sequence diagram** (text or Mermaid): one lifeline per node that
//!   takes part, one arrow per frame put on a wire, drops as `✗` with
//!   their reason code, and the TCP states of both ends;
//! - the **layers** of every frame, hop by hop: Ethernet (or PPP on a
//!   `framing: ppp` link), then IPv4/IPv6 or ARP, then TCP/UDP/ICMP — the
//!   encapsulation lesson, showing which fields a router rewrites (the
//!   MACs, the TTL) and which it leaves alone (addresses, ports, sequence
//!   numbers).
//!
//! Pure functions over the network, the exchange and its trace: the same
//! trace always renders to the same bytes.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::IpAddr;

use wirelab_net::{IfaceId, Mac, Network, NodeId, SegmentId};
use wirelab_sim::packet::{tcp_flags, ArpOp, Body, Framing, Icmp, Tcp, Unreachable, L4};
use wirelab_sim::{DropCause, Packet, SimTime, Step, TraceEvent};
use wirelab_spec::TransportProto;

use crate::exchange::Exchange;

/// What the views show.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Options {
    /// Show ARP and neighbour discovery frames (on by default).
    pub arp: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options { arp: true }
    }
}

/// One frame put on a wire: a transmission from one node to a neighbour
/// on the same network.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Frame {
    /// 1-based, in the order of the trace; stable whatever is hidden.
    pub number: usize,
    pub time: SimTime,
    pub from: NodeId,
    pub out_iface: IfaceId,
    /// The node that receives it: the owner of the destination MAC on the
    /// segment, or for a broadcast ARP request (or a neighbour
    /// solicitation) the owner of the address asked for. `None` when
    /// nobody on the segment has it.
    pub to: Option<NodeId>,
    pub segment: SegmentId,
    pub packet: Packet,
    /// The packet ended here: lost on the wire, or dropped by the
    /// receiver (which may first have tried to pass it on).
    pub dropped: Option<DropCause>,
}

impl Frame {
    pub fn is_neighbor_discovery(&self) -> bool {
        is_neighbor_discovery(&self.packet)
    }
}

fn is_neighbor_discovery(p: &Packet) -> bool {
    match p.body {
        Body::Arp(_) => true,
        Body::Ip(ip) => matches!(ip.l4, L4::Icmp(i) if i.is_neighbor_discovery()),
    }
}

fn iface_with_mac(net: &Network, node: NodeId, mac: Mac) -> Option<IfaceId> {
    net.nodes[node]
        .ifaces
        .iter()
        .copied()
        .find(|&i| net.ifaces[i].mac == mac)
}

/// The interface on `segment` whose hardware address is `mac`.
fn receiver_by_mac(net: &Network, segment: SegmentId, mac: Mac) -> Option<NodeId> {
    net.segments[segment]
        .ifaces
        .iter()
        .find(|&&i| net.ifaces[i].mac == mac)
        .map(|&i| net.ifaces[i].node)
}

/// The address a neighbour solicitation (ARP request or ND) asks for.
fn solicited(p: &Packet) -> Option<IpAddr> {
    match p.body {
        Body::Arp(a) if a.op == ArpOp::Request => Some(IpAddr::V4(a.target_ip)),
        Body::Ip(ip) => match ip.l4 {
            L4::Icmp(Icmp::NeighborSolicit { target, .. }) => Some(IpAddr::V6(target)),
            _ => None,
        },
        _ => None,
    }
}

fn frame_at(net: &Network, number: usize, e: &TraceEvent, out_iface: IfaceId) -> Frame {
    let segment = net.ifaces[out_iface].segment;
    let to = match solicited(&e.packet) {
        Some(target) => net
            .owner(target)
            .filter(|&i| i != out_iface && net.ifaces[i].segment == segment)
            .map(|i| net.ifaces[i].node),
        None => receiver_by_mac(net, segment, e.packet.dst_mac),
    };
    Frame {
        number,
        time: e.time,
        from: e.node,
        out_iface,
        to,
        segment,
        packet: e.packet,
        dropped: None,
    }
}

/// Every frame of the trace, in order: IP frames (`transmit`), ARP
/// requests and neighbour solicitations (`resolve`), ARP replies and
/// neighbour advertisements (`reply`). Drops are attached to the frame
/// that brought the packet to where it ended.
pub fn frames(net: &Network, trace: &[TraceEvent]) -> Vec<Frame> {
    scan(net, trace).frames
}

/// The frames of a trace, and which trace events they come from.
struct Scan {
    frames: Vec<Frame>,
    /// Trace index of a frame's event → index in `frames`.
    frame_of_event: BTreeMap<usize, usize>,
    /// Trace index of a drop → the frame it ends.
    frame_of_drop: BTreeMap<usize, usize>,
}

fn scan(net: &Network, trace: &[TraceEvent]) -> Scan {
    let mut s = Scan {
        frames: Vec::new(),
        frame_of_event: BTreeMap::new(),
        frame_of_drop: BTreeMap::new(),
    };
    for (k, e) in trace.iter().enumerate() {
        let iface = match e.step {
            Step::Transmit { iface, .. } => Some(iface),
            Step::Resolve { .. } | Step::Reply if is_neighbor_discovery(&e.packet) => {
                iface_with_mac(net, e.node, e.packet.src_mac)
            }
            Step::Drop(cause) => {
                if let Some(i) = dropped_frame(&s.frames, e, &cause) {
                    s.frames[i].dropped = Some(cause);
                    s.frame_of_drop.insert(k, i);
                }
                None
            }
            _ => None,
        };
        if let Some(iface) = iface {
            let f = frame_at(net, s.frames.len() + 1, e, iface);
            s.frame_of_event.insert(k, s.frames.len());
            s.frames.push(f);
        }
    }
    s
}

/// The frame a drop ends: the last one of the same packet into the node
/// (or, for a frame lost on the wire or refused by a full queue, out of
/// it) that no drop has claimed yet.
fn dropped_frame(frames: &[Frame], e: &TraceEvent, cause: &DropCause) -> Option<usize> {
    let on_the_wire = matches!(cause, DropCause::Lost { .. } | DropCause::QueueFull { .. });
    frames.iter().rposition(|f| {
        f.packet.id == e.packet.id
            && f.dropped.is_none()
            && if on_the_wire {
                f.from == e.node
            } else {
                f.to == Some(e.node)
            }
    })
}

// ----- TCP states --------------------------------------------------------

/// The connection states of RFC 9293 §3.3.2, as the TCP itself names them.
pub use wirelab_sim::tcp::State as TcpState;

/// `a` is at or after `b` in sequence space.
fn seq_ge(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) >= 0
}

/// One end of the connection, followed through the segments it sends and
/// receives.
///
/// The simulator keeps no such state machine for this view to read: the
/// states are **inferred** from the flags, sequence and acknowledgement
/// numbers seen at the endpoint, as RFC 9293's state diagram (§3.3.2) and
/// segment-arrival rules (§3.10.7) describe — as a textbook would draw
/// them. Timers are not modelled: TIME-WAIT is where the client is left.
#[derive(Clone, Copy, Debug)]
struct TcpEnd {
    node: NodeId,
    addr: IpAddr,
    port: u16,
    state: TcpState,
    /// The acknowledgement number that covers our FIN, once sent.
    fin_ack: Option<u32>,
}

impl TcpEnd {
    fn sent(&mut self, t: &Tcp) -> Vec<TcpState> {
        let mut changes = Vec::new();
        let mut go = |s: &mut TcpState, to: TcpState| {
            if *s != to {
                *s = to;
                changes.push(to);
            }
        };
        let f = t.flags;
        if f & tcp_flags::RST != 0 {
            if self.state != TcpState::Listen {
                go(&mut self.state, TcpState::Closed);
            }
            return changes;
        }
        if f & tcp_flags::SYN != 0 && f & tcp_flags::ACK == 0 && self.state == TcpState::Closed {
            go(&mut self.state, TcpState::SynSent);
        }
        if f & tcp_flags::FIN != 0 {
            let syn = u32::from(f & tcp_flags::SYN != 0);
            self.fin_ack = Some(t.seq.wrapping_add(t.payload_len + syn + 1));
            match self.state {
                TcpState::Established | TcpState::SynReceived => {
                    go(&mut self.state, TcpState::FinWait1)
                }
                TcpState::CloseWait => go(&mut self.state, TcpState::LastAck),
                _ => {}
            }
        }
        changes
    }

    fn received(&mut self, t: &Tcp) -> Vec<TcpState> {
        let mut changes = Vec::new();
        let mut go = |s: &mut TcpState, to: TcpState| {
            if *s != to {
                *s = to;
                changes.push(to);
            }
        };
        let f = t.flags;
        let (syn, ack, fin) = (
            f & tcp_flags::SYN != 0,
            f & tcp_flags::ACK != 0,
            f & tcp_flags::FIN != 0,
        );
        if f & tcp_flags::RST != 0 {
            if self.state != TcpState::Listen {
                go(&mut self.state, TcpState::Closed);
            }
            return changes;
        }
        match self.state {
            TcpState::Listen if syn && !ack => go(&mut self.state, TcpState::SynReceived),
            TcpState::SynSent if syn && ack => go(&mut self.state, TcpState::Established),
            TcpState::SynSent if syn => go(&mut self.state, TcpState::SynReceived),
            _ => {}
        }
        if ack && !syn {
            if self.state == TcpState::SynReceived {
                go(&mut self.state, TcpState::Established);
            }
            if self.fin_ack.is_some_and(|fa| seq_ge(t.ack, fa)) {
                match self.state {
                    TcpState::FinWait1 => go(&mut self.state, TcpState::FinWait2),
                    TcpState::Closing => go(&mut self.state, TcpState::TimeWait),
                    TcpState::LastAck => go(&mut self.state, TcpState::Closed),
                    _ => {}
                }
            }
        }
        if fin {
            match self.state {
                TcpState::SynReceived | TcpState::Established => {
                    go(&mut self.state, TcpState::CloseWait)
                }
                TcpState::FinWait1 => go(&mut self.state, TcpState::Closing),
                TcpState::FinWait2 => go(&mut self.state, TcpState::TimeWait),
                _ => {}
            }
        }
        changes
    }
}

/// The two ends of the traced TCP connection, when it is one.
fn tcp_ends(net: &Network, ex: &Exchange, trace: &[TraceEvent]) -> Option<[TcpEnd; 2]> {
    let wirelab_sim::ProbeKind::Tcp { port } = ex.plan.kind else {
        return None;
    };
    let client_node = net.host_node(ex.plan.from);
    let client_port = trace.iter().find_map(|e| match (e.step, e.packet.ip()) {
        (Step::Send, Some(ip)) if e.node == client_node && ip.src == ex.plan.src => match ip.l4 {
            L4::Tcp(t) if t.flags & tcp_flags::SYN != 0 => Some(t.src_port),
            _ => None,
        },
        _ => None,
    })?;
    let server_node = net.owner(ex.plan.dst).map(|i| net.ifaces[i].node)?;
    let listening = net
        .host_of(server_node)
        .is_some_and(|h| net.service(h, TransportProto::Tcp, port).is_some());
    Some([
        TcpEnd {
            node: client_node,
            addr: ex.plan.src,
            port: client_port,
            state: TcpState::Closed,
            fin_ack: None,
        },
        TcpEnd {
            node: server_node,
            addr: ex.plan.dst,
            port,
            state: if listening {
                TcpState::Listen
            } else {
                TcpState::Closed
            },
            fin_ack: None,
        },
    ])
}

// ----- labels --------------------------------------------------------------

/// Each side's initial sequence number, from the SYNs seen (in the
/// order seen), so that labels can show relative numbers as Wireshark
/// does.
#[derive(Clone, Debug, Default)]
pub struct Isns(Vec<((IpAddr, u16), u32)>);

impl Isns {
    pub fn from_frames(frames: &[Frame]) -> Isns {
        let mut isns = Isns::default();
        for f in frames {
            if let Some(ip) = f.packet.ip() {
                if let L4::Tcp(t) = ip.l4 {
                    if t.flags & tcp_flags::SYN != 0 {
                        isns.insert(ip.src, t.src_port, t.seq);
                    }
                }
            }
        }
        isns
    }

    /// Records an end's ISN, unless it is known already.
    pub fn insert(&mut self, addr: IpAddr, port: u16, isn: u32) {
        if self.get(addr, port).is_none() {
            self.0.push(((addr, port), isn));
        }
    }

    pub fn get(&self, addr: IpAddr, port: u16) -> Option<u32> {
        self.0
            .iter()
            .find(|(k, _)| *k == (addr, port))
            .map(|&(_, isn)| isn)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// TCP flags in the order tcpdump and Wireshark print them.
pub fn flags_text(flags: u8) -> String {
    let names = [
        (tcp_flags::SYN, "SYN"),
        (tcp_flags::FIN, "FIN"),
        (tcp_flags::RST, "RST"),
        (tcp_flags::PSH, "PSH"),
        (tcp_flags::ACK, "ACK"),
    ];
    let parts: Vec<&str> = names
        .iter()
        .filter(|(f, _)| flags & f != 0)
        .map(|(_, n)| *n)
        .collect();
    if parts.is_empty() {
        "none".to_string()
    } else {
        parts.join(",")
    }
}

fn unreachable_text(why: Unreachable) -> &'static str {
    match why {
        Unreachable::Net => "net unreachable",
        Unreachable::Host => "host unreachable",
        Unreachable::Port => "port unreachable",
    }
}

/// A compact label for an arrow: `SYN seq=0`, `SYN,ACK seq=0 ack=1`,
/// `PSH,ACK seq=1 ack=1 len=32`, `ARP who-has 10.0.2.1`, `echo request
/// seq=1`, `ICMP port unreachable`. Sequence and acknowledgement numbers
/// are relative to the ISNs in `isns` when known.
pub fn label(p: &Packet, isns: &Isns) -> String {
    let ip = match p.body {
        Body::Arp(a) => {
            return match a.op {
                ArpOp::Request => format!("ARP who-has {}", a.target_ip),
                ArpOp::Reply => format!("ARP is-at {}", a.sender_mac),
            }
        }
        Body::Ip(ip) => ip,
    };
    let icmp = if ip.is_v6() { "ICMPv6" } else { "ICMP" };
    match ip.l4 {
        L4::Tcp(t) => {
            let mut s = flags_text(t.flags);
            let seq = isns
                .get(ip.src, t.src_port)
                .map_or(t.seq, |isn| t.seq.wrapping_sub(isn));
            let _ = write!(s, " seq={seq}");
            if t.flags & tcp_flags::ACK != 0 {
                let ack = isns
                    .get(ip.dst, t.dst_port)
                    .map_or(t.ack, |isn| t.ack.wrapping_sub(isn));
                let _ = write!(s, " ack={ack}");
            }
            if t.payload_len > 0 {
                let _ = write!(s, " len={}", t.payload_len);
            }
            s
        }
        L4::Udp(u) => format!("UDP len={}", u.payload_len),
        L4::Ospf(o) => format!("OSPF {}", o.kind_name()),
        L4::Icmp(i) => match i {
            Icmp::EchoRequest { seq, .. } => format!("echo request seq={seq}"),
            Icmp::EchoReply { seq, .. } => format!("echo reply seq={seq}"),
            Icmp::Unreachable { why, .. } => format!("{icmp} {}", unreachable_text(why)),
            Icmp::TimeExceeded { .. } => format!("{icmp} time exceeded"),
            Icmp::TooBig { mtu, .. } if ip.is_v6() => format!("{icmp} packet too big mtu={mtu}"),
            Icmp::TooBig { mtu, .. } => format!("{icmp} fragmentation needed mtu={mtu}"),
            Icmp::NeighborSolicit { target, .. } => format!("NS who-has {target}"),
            Icmp::NeighborAdvert { target_mac, .. } => format!("NA is-at {target_mac}"),
        },
    }
}

// ----- the sequence --------------------------------------------------------

/// One row of a sequence diagram.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Item {
    /// A frame, by index into [`Sequence::frames`].
    Frame(usize),
    /// A packet ended at `node`; `frame` is the arrow that brought it, if
    /// any.
    Drop {
        time: SimTime,
        node: NodeId,
        code: &'static str,
        frame: Option<usize>,
    },
    /// A TCP end changed state (inferred, see [`TcpState`]).
    State {
        time: SimTime,
        node: NodeId,
        state: TcpState,
    },
}

/// What a sequence diagram shows, before it is drawn.
#[derive(Clone, Debug)]
pub struct Sequence {
    /// The nodes with a lifeline, left to right.
    pub lifelines: Vec<NodeId>,
    pub frames: Vec<Frame>,
    pub items: Vec<Item>,
    pub isns: Isns,
    /// The TCP ends (client first) and their states before anything was
    /// sent.
    pub initial: Vec<(NodeId, TcpState)>,
}

/// Builds the sequence of an exchange: lifelines in path order (the
/// sender, the routers its request crossed, the receiver, then anyone
/// else who took part), frames, drops and TCP states in trace order.
pub fn sequence(net: &Network, ex: &Exchange, trace: &[TraceEvent], opts: &Options) -> Sequence {
    let scan = scan(net, trace);
    let all = &scan.frames;
    let isns = Isns::from_frames(all);
    let mut ends = tcp_ends(net, ex, trace);
    let initial = ends.iter().flatten().map(|e| (e.node, e.state)).collect();
    // Index in `all` → index in `kept`.
    let mut shown = BTreeMap::new();
    let mut kept = Vec::new();
    for (i, f) in all.iter().enumerate() {
        if opts.arp || !f.is_neighbor_discovery() {
            shown.insert(i, kept.len());
            kept.push(*f);
        }
    }
    let mut items = Vec::new();
    for (k, e) in trace.iter().enumerate() {
        if let Some(i) = scan.frame_of_event.get(&k) {
            if let Some(&j) = shown.get(i) {
                items.push(Item::Frame(j));
            }
        }
        if let Step::Drop(cause) = e.step {
            if opts.arp || !is_neighbor_discovery(&e.packet) {
                items.push(Item::Drop {
                    time: e.time,
                    node: e.node,
                    code: cause.code(),
                    frame: scan
                        .frame_of_drop
                        .get(&k)
                        .and_then(|i| shown.get(i))
                        .copied(),
                });
            }
        }
        // TCP states, from what each end sends and receives.
        if let (Some(ends), Some(ip)) = (ends.as_mut(), e.packet.ip()) {
            if let L4::Tcp(t) = ip.l4 {
                for end in ends.iter_mut() {
                    let changes = match e.step {
                        Step::Send | Step::Reply
                            if e.node == end.node
                                && ip.src == end.addr
                                && t.src_port == end.port =>
                        {
                            end.sent(&t)
                        }
                        Step::Deliver
                            if e.node == end.node
                                && ip.dst == end.addr
                                && t.dst_port == end.port =>
                        {
                            end.received(&t)
                        }
                        _ => Vec::new(),
                    };
                    for state in changes {
                        items.push(Item::State {
                            time: e.time,
                            node: end.node,
                            state,
                        });
                    }
                }
            }
        }
    }
    let lifelines = lifelines(net, ex, &kept, &items);
    Sequence {
        lifelines,
        frames: kept,
        items,
        isns,
        initial,
    }
}

fn lifelines(net: &Network, ex: &Exchange, frames: &[Frame], items: &[Item]) -> Vec<NodeId> {
    let mut order: Vec<NodeId> = Vec::new();
    let add = |n: NodeId, order: &mut Vec<NodeId>| {
        if !order.contains(&n) {
            order.push(n);
        }
    };
    let src = net.host_node(ex.plan.from);
    add(src, &mut order);
    for &r in &ex.path {
        add(r, &mut order);
    }
    let mut seen: Vec<NodeId> = Vec::new();
    for f in frames {
        seen.push(f.from);
        seen.extend(f.to);
    }
    for it in items {
        if let Item::Drop { node, .. } | Item::State { node, .. } = it {
            seen.push(*node);
        }
    }
    for &n in &seen {
        if net.nodes[n].is_router() {
            add(n, &mut order);
        }
    }
    let dst = net.owner(ex.plan.dst).map(|i| net.ifaces[i].node);
    if let Some(d) = dst {
        add(d, &mut order);
    }
    for &n in &seen {
        add(n, &mut order);
    }
    order
}

// ----- text ------------------------------------------------------------------

/// The widest a text diagram tries to be; more than four lifelines may
/// need more.
pub const TEXT_WIDTH: usize = 120;

struct Canvas {
    cells: Vec<char>,
}

impl Canvas {
    fn new(width: usize) -> Canvas {
        Canvas {
            cells: vec![' '; width],
        }
    }

    fn put(&mut self, x: usize, s: &str) {
        for (k, c) in s.chars().enumerate() {
            if x + k >= self.cells.len() {
                self.cells.resize(x + k + 1, ' ');
            }
            self.cells[x + k] = c;
        }
    }

    fn line(&self) -> String {
        let s: String = self.cells.iter().collect();
        s.trim_end().to_string()
    }
}

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else if max == 0 {
        String::new()
    } else {
        let mut t: String = s.chars().take(max - 1).collect();
        t.push('…');
        t
    }
}

/// An arrow of `len` cells between two lifelines, its label centred.
fn arrow(label: &str, len: usize, rightward: bool, dropped: bool) -> String {
    let head = if dropped {
        '✗'
    } else if rightward {
        '▶'
    } else {
        '◀'
    };
    // At least a rule, a space either side of the label, and the head.
    let label = truncate(label, len.saturating_sub(4));
    let free = len.saturating_sub(label.chars().count() + 3);
    let (left, right) = (free / 2 + free % 2, free / 2);
    let (left, right) = if rightward {
        (left, right)
    } else {
        (right, left)
    };
    let mut s = String::new();
    if !rightward {
        s.push(head);
    }
    s.extend(std::iter::repeat_n('─', left));
    s.push(' ');
    s.push_str(&label);
    s.push(' ');
    s.extend(std::iter::repeat_n('─', right));
    if rightward {
        s.push(head);
    }
    s
}

/// The sequence drawn in columns: timestamps on the left, one lifeline
/// per node, an arrow per frame, `✗ code` where a packet ended, TCP
/// states (inferred) written on the lifelines.
pub fn render_text(net: &Network, seq: &Sequence) -> String {
    let n = seq.lifelines.len();
    let col = |node: NodeId| seq.lifelines.iter().position(|&l| l == node);
    let time_w = seq
        .items
        .iter()
        .map(|it| item_time(seq, it).to_string().len())
        .max()
        .unwrap_or(9)
        .max(9);
    let name_w = seq
        .lifelines
        .iter()
        .map(|&l| net.nodes[l].name.chars().count())
        .max()
        .unwrap_or(4);
    let note_w = TcpState::SynReceived.as_str().len();
    let half = name_w.max(note_w).div_ceil(2);
    let left = time_w + 2 + half;
    let label_w = seq
        .frames
        .iter()
        .map(|f| label(&f.packet, &seq.isns).chars().count())
        .max()
        .unwrap_or(0);
    let gap_min = name_w.max(note_w) + 4;
    // The widest gap that keeps the diagram within TEXT_WIDTH, widened
    // (up to a point) rather than cut a label short.
    let budget = (TEXT_WIDTH - left - half - 1) / n.saturating_sub(1).max(1);
    let fit = label_w + 5;
    let gap = (label_w + 6).min(budget.max(fit.min(40))).max(gap_min);
    let x = |c: usize| left + c * gap;
    let width = x(n.saturating_sub(1)) + half + 1;

    let blank = |time: &str| {
        let mut c = Canvas::new(width);
        c.put(0, &format!("{time:>time_w$}"));
        for k in 0..n {
            c.put(x(k), "│");
        }
        c
    };
    let centred = |c: &mut Canvas, at: usize, s: &str| {
        let len = s.chars().count();
        c.put(at.saturating_sub(len / 2), s);
    };

    let mut out = String::new();
    let mut head = Canvas::new(width);
    for (k, &l) in seq.lifelines.iter().enumerate() {
        centred(&mut head, x(k), &net.nodes[l].name);
    }
    out.push_str(&head.line());
    out.push('\n');
    let first_time = seq
        .items
        .first()
        .map(|it| item_time(seq, it).to_string())
        .unwrap_or_default();
    // States written at the same time on different lifelines, with
    // nothing between them, share a row.
    let mut states: Option<(String, Canvas, Vec<usize>)> = None;
    let flush = |states: &mut Option<(String, Canvas, Vec<usize>)>, out: &mut String| {
        if let Some((_, c, _)) = states.take() {
            out.push_str(&c.line());
            out.push('\n');
        }
    };
    let state_row = |states: &mut Option<(String, Canvas, Vec<usize>)>,
                     out: &mut String,
                     time: String,
                     k: usize,
                     state: TcpState| {
        let joins = matches!(states, Some((t, _, cols)) if *t == time && !cols.contains(&k));
        if !joins {
            flush(states, out);
            *states = Some((time.clone(), blank(&time), Vec::new()));
        }
        if let Some((_, c, cols)) = states.as_mut() {
            centred(c, x(k), &format!(" {} ", state.as_str()));
            cols.push(k);
        }
    };
    for &(node, state) in &seq.initial {
        if let Some(k) = col(node) {
            state_row(&mut states, &mut out, first_time.clone(), k, state);
        }
    }
    for it in &seq.items {
        let time = item_time(seq, it).to_string();
        if let Item::State { node, state, .. } = it {
            if let Some(k) = col(*node) {
                state_row(&mut states, &mut out, time, k, *state);
            }
            continue;
        }
        flush(&mut states, &mut out);
        let mut c = blank(&time);
        match it {
            Item::Frame(i) => {
                let f = &seq.frames[*i];
                let text = label(&f.packet, &seq.isns);
                let Some(a) = col(f.from) else { continue };
                match f.to.and_then(col) {
                    Some(b) if b != a => {
                        let (lo, hi) = (a.min(b), a.max(b));
                        let len = x(hi) - x(lo) - 1;
                        let s = arrow(&text, len, b > a, f.dropped.is_some());
                        c.put(x(lo) + 1, &s);
                        c.put(x(a), if b > a { "├" } else { "┤" });
                    }
                    _ => {
                        // Nobody to point at: the frame is written beside
                        // the sender, on whichever side has room.
                        let seg = &net.segments[f.segment].name;
                        let note = format!("{text} (on {seg}: nobody answers)");
                        let len = note.chars().count();
                        if x(a) + 2 + len < width || x(a) < len + 2 {
                            c.put(x(a), "├");
                            c.put(x(a) + 1, &format!("╴{note}"));
                        } else {
                            c.put(x(a) - len - 2, &format!("{note} ╶┤"));
                        }
                    }
                }
            }
            Item::Drop { node, code, .. } => {
                if let Some(k) = col(*node) {
                    // On the last lifeline, the code goes to its left.
                    if x(k) + 2 + code.len() < width || k == 0 {
                        c.put(x(k), &format!("✗ {code}"));
                    } else {
                        c.put(x(k) - code.len() - 1, &format!("{code} ✗"));
                    }
                }
            }
            Item::State { .. } => {}
        }
        out.push_str(&c.line());
        out.push('\n');
    }
    flush(&mut states, &mut out);
    out
}

fn item_time(seq: &Sequence, it: &Item) -> SimTime {
    match it {
        Item::Frame(i) => seq.frames[*i].time,
        Item::Drop { time, .. } | Item::State { time, .. } => *time,
    }
}

/// A line that says what the numbers in the labels are, for TCP.
pub fn legend(net: &Network, seq: &Sequence) -> String {
    let mut out = String::new();
    if !seq.isns.is_empty() {
        let isns: Vec<String> = seq
            .isns
            .0
            .iter()
            .map(|((addr, port), isn)| {
                let who = net
                    .owner(*addr)
                    .map(|i| net.nodes[net.ifaces[i].node].name.clone())
                    .unwrap_or_else(|| addr.to_string());
                format!("{who}:{port} from {isn}")
            })
            .collect();
        let _ = writeln!(
            out,
            "seq and ack are relative to each side's initial sequence number ({})",
            isns.join(", ")
        );
    }
    if !seq.initial.is_empty() {
        out.push_str(
            "TCP states are inferred from the segments each end sends and receives (RFC 9293 §3.3.2)\n",
        );
    }
    out
}

// ----- Mermaid ---------------------------------------------------------------

/// Words a sequence diagram reads as keywords, not names.
const MERMAID_KEYWORDS: &[&str] = &[
    "actor",
    "activate",
    "alt",
    "and",
    "as",
    "autonumber",
    "box",
    "break",
    "create",
    "critical",
    "deactivate",
    "destroy",
    "else",
    "end",
    "left",
    "link",
    "links",
    "loop",
    "note",
    "of",
    "opt",
    "option",
    "over",
    "par",
    "participant",
    "rect",
    "right",
    "title",
];

/// A participant's id: the node's name when Mermaid reads it as one,
/// else `n<index>` with the name as its alias.
fn mermaid_id(net: &Network, node: NodeId) -> String {
    let name = &net.nodes[node].name;
    if !name.is_empty()
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !MERMAID_KEYWORDS.contains(&name.to_ascii_lowercase().as_str())
    {
        name.clone()
    } else {
        format!("n{node}")
    }
}

/// Mermaid text: a message may not contain `;` or `#` (they end a
/// statement or start an entity) and must stay on one line.
fn mermaid_text(s: &str) -> String {
    s.replace(';', ",").replace('#', "no. ").replace('\n', " ")
}

/// The sequence as a Mermaid `sequenceDiagram`: one participant per
/// lifeline, `->>` per frame (`--x` when the packet ended at the
/// receiver), `Note over` for drops and TCP states. `comments` go in as
/// `%%` lines after the header.
pub fn render_mermaid(net: &Network, seq: &Sequence, comments: &[String]) -> String {
    let mut out = String::from("sequenceDiagram\n");
    for c in comments {
        let _ = writeln!(out, "    %% {}", c.replace('\n', " "));
    }
    for &l in &seq.lifelines {
        let id = mermaid_id(net, l);
        let name = &net.nodes[l].name;
        if &id == name {
            let _ = writeln!(out, "    participant {id}");
        } else {
            let _ = writeln!(out, "    participant {id} as {}", mermaid_text(name));
        }
    }
    for &(node, state) in &seq.initial {
        let _ = writeln!(
            out,
            "    Note over {}: {}",
            mermaid_id(net, node),
            state.as_str()
        );
    }
    for it in &seq.items {
        match it {
            Item::Frame(i) => {
                let f = &seq.frames[*i];
                let text = mermaid_text(&label(&f.packet, &seq.isns));
                let from = mermaid_id(net, f.from);
                match f.to {
                    Some(to) if to != f.from => {
                        let arrow = if f.dropped.is_some() { "--x" } else { "->>" };
                        let _ = writeln!(
                            out,
                            "    {from}{arrow}{}: {} {text}",
                            mermaid_id(net, to),
                            f.time
                        );
                    }
                    _ => {
                        let _ = writeln!(
                            out,
                            "    Note right of {from}: {} {text} (on {}: nobody answers)",
                            f.time,
                            mermaid_text(&net.segments[f.segment].name)
                        );
                    }
                }
            }
            Item::Drop {
                time, node, code, ..
            } => {
                let _ = writeln!(
                    out,
                    "    Note over {}: ✗ {time} dropped: {code}",
                    mermaid_id(net, *node)
                );
            }
            Item::State { node, state, .. } => {
                let _ = writeln!(
                    out,
                    "    Note over {}: {}",
                    mermaid_id(net, *node),
                    state.as_str()
                );
            }
        }
    }
    out
}

// ----- layers ----------------------------------------------------------------

fn mac_text(m: Mac) -> String {
    if m == Mac::BROADCAST {
        format!("{m} (broadcast)")
    } else if m.0[0] & 0x01 == 1 {
        format!("{m} (multicast)")
    } else {
        m.to_string()
    }
}

fn proto_name(proto: u8) -> String {
    match proto {
        1 => "icmp".to_string(),
        6 => "tcp".to_string(),
        17 => "udp".to_string(),
        58 => "icmpv6".to_string(),
        p => p.to_string(),
    }
}

fn tcp_options(t: &Tcp) -> String {
    let mut opts = Vec::new();
    if let Some(mss) = t.mss {
        opts.push(format!("MSS {mss}"));
    }
    if t.sack_permitted {
        opts.push("SACK-permitted".to_string());
    }
    if let Some((val, ecr)) = t.timestamps {
        opts.push(format!("TS val {val} ecr {ecr}"));
    }
    if let Some(ws) = t.wscale {
        opts.push(format!("WS {ws}"));
    }
    for (l, r) in t.sack_blocks() {
        opts.push(format!("SACK {l}-{r}"));
    }
    opts.join(", ")
}

/// The layers of one Ethernet frame: (layer name, fields), outermost first.
pub fn frame_layers(p: &Packet) -> Vec<(&'static str, String)> {
    frame_layers_on(p, Framing::Ethernet)
}

/// The layers of one frame on a link of this framing. A PPP frame has no
/// addresses: its first layer is the protocol field and the frame size.
pub fn frame_layers_on(p: &Packet, framing: Framing) -> Vec<(&'static str, String)> {
    let first = match framing {
        Framing::Ethernet => {
            let ethertype = match p.body {
                Body::Arp(_) => "ARP (0x0806)",
                Body::Ip(ip) if ip.is_v6() => "IPv6 (0x86dd)",
                Body::Ip(_) => "IPv4 (0x0800)",
            };
            (
                "Ethernet",
                format!(
                    "{} → {}  type {ethertype}  {} bytes",
                    mac_text(p.src_mac),
                    mac_text(p.dst_mac),
                    p.frame_len(framing)
                ),
            )
        }
        Framing::Ppp => {
            let protocol = match p.body {
                Body::Arp(_) => "none (0x0000)",
                Body::Ip(ip) if ip.is_v6() => "IPv6 (0x0057)",
                Body::Ip(_) => "IPv4 (0x0021)",
            };
            (
                "PPP",
                format!(
                    "point-to-point, no addresses  protocol {protocol}  {} bytes",
                    p.frame_len(framing)
                ),
            )
        }
    };
    let mut layers = vec![first];
    let ip = match p.body {
        Body::Arp(a) => {
            let op = match a.op {
                ArpOp::Request => "request",
                ArpOp::Reply => "reply",
            };
            layers.push((
                "ARP",
                format!(
                    "{op}  sender {} {}  target {} {}",
                    a.sender_mac, a.sender_ip, a.target_mac, a.target_ip
                ),
            ));
            return layers;
        }
        Body::Ip(ip) => ip,
    };
    if ip.is_v6() {
        layers.push((
            "IPv6",
            format!(
                "{} → {}  hop limit {}  next header {}  payload {}",
                ip.src,
                ip.dst,
                ip.ttl,
                proto_name(ip.proto()),
                ip.total_len() - 40
            ),
        ));
    } else {
        layers.push((
            "IPv4",
            format!(
                "{} → {}  ttl {}  proto {}  len {}",
                ip.src,
                ip.dst,
                ip.ttl,
                proto_name(ip.proto()),
                ip.total_len()
            ),
        ));
    }
    match ip.l4 {
        L4::Tcp(t) => {
            let mut s = format!(
                "{} → {}  [{}]  seq {}",
                t.src_port,
                t.dst_port,
                flags_text(t.flags),
                t.seq
            );
            if t.flags & tcp_flags::ACK != 0 {
                let _ = write!(s, "  ack {}", t.ack);
            }
            let _ = write!(s, "  win {}", t.window);
            let opts = tcp_options(&t);
            if !opts.is_empty() {
                let _ = write!(s, "  options {opts}");
            }
            layers.push(("TCP", s));
            if t.payload_len > 0 {
                layers.push(("Data", format!("{} bytes", t.payload_len)));
            }
        }
        L4::Udp(u) => {
            layers.push((
                "UDP",
                format!("{} → {}  len {}", u.src_port, u.dst_port, 8 + u.payload_len),
            ));
            if u.payload_len > 0 {
                layers.push(("Data", format!("{} bytes", u.payload_len)));
            }
        }
        L4::Icmp(i) => {
            let (ty, code) = i.type_code(ip.is_v6());
            let what = match i {
                Icmp::EchoRequest { id, seq, .. } => format!("echo request  id {id} seq {seq}"),
                Icmp::EchoReply { id, seq, .. } => format!("echo reply  id {id} seq {seq}"),
                Icmp::Unreachable { why, quoted } => format!(
                    "{}  quoting {} {}:{} → {}:{}",
                    unreachable_text(why),
                    proto_name(quoted.proto),
                    quoted.src,
                    quoted.src_port,
                    quoted.dst,
                    quoted.dst_port
                ),
                Icmp::TimeExceeded { quoted } => format!(
                    "time exceeded in transit  quoting {} {} → {}",
                    proto_name(quoted.proto),
                    quoted.src,
                    quoted.dst
                ),
                Icmp::TooBig { mtu, quoted } => format!(
                    "{}  next-hop mtu {mtu}  quoting {} {} → {}",
                    if ip.is_v6() {
                        "packet too big"
                    } else {
                        "fragmentation needed"
                    },
                    proto_name(quoted.proto),
                    quoted.src,
                    quoted.dst
                ),
                Icmp::NeighborSolicit { target, source_mac } => {
                    format!("neighbor solicitation  who-has {target}  from {source_mac}")
                }
                Icmp::NeighborAdvert {
                    target, target_mac, ..
                } => {
                    format!("neighbor advertisement  {target} is-at {target_mac}")
                }
            };
            let name = if ip.is_v6() { "ICMPv6" } else { "ICMP" };
            layers.push((name, format!("type {ty} code {code}  {what}")));
        }
        L4::Ospf(o) => layers.push((
            "OSPF",
            format!(
                "version 2  type {} ({})  len {}",
                o.kind,
                o.kind_name(),
                o.len
            ),
        )),
    }
    layers
}

fn node_name(net: &Network, n: Option<NodeId>) -> &str {
    n.map_or("(nobody)", |n| net.nodes[n].name.as_str())
}

/// What one hop changed, against the previous hop of the same packet:
/// one note per layer (empty when nothing to say).
fn hop_notes(net: &Network, prev: &Frame, f: &Frame, n_layers: usize) -> Vec<String> {
    let mut notes = vec![String::new(); n_layers];
    let router = &net.nodes[f.from].name;
    let seg = &net.segments[f.segment].name;
    if net.segments[f.segment].link.framing == Framing::Ppp {
        notes[0] = format!("← new link header: {router} sent it on {seg}, no MACs");
    } else if prev.packet.src_mac != f.packet.src_mac || prev.packet.dst_mac != f.packet.dst_mac {
        notes[0] = format!("← new MACs: {router} sent it on {seg}");
    } else {
        notes[0] = "← same MACs".to_string();
    }
    if let (Some(a), Some(b)) = (prev.packet.ip(), f.packet.ip()) {
        let ttl = if b.is_v6() { "hop limit" } else { "ttl" };
        let addrs = if (a.src, a.dst) == (b.src, b.dst) {
            "same addresses"
        } else {
            "addresses rewritten"
        };
        if n_layers > 1 {
            notes[1] = if a.ttl > b.ttl {
                format!("← {addrs}, {ttl} {} → {}", a.ttl, b.ttl)
            } else {
                format!("← {addrs}, {ttl} {}", b.ttl)
            };
        }
        if n_layers > 2 {
            notes[2] = if a.l4 == b.l4 {
                "← unchanged".to_string()
            } else {
                "← changed on the way".to_string()
            };
        }
    }
    notes
}

/// Every frame hop by hop with its layers, and at the end what changed
/// from hop to hop and why, read from these frames.
pub fn render_layers(net: &Network, trace: &[TraceEvent], opts: &Options) -> String {
    let all = frames(net, trace);
    let mut out = String::new();
    let mut last_hop: BTreeMap<u32, usize> = BTreeMap::new();
    for (k, f) in all.iter().enumerate() {
        let prev = last_hop.insert(f.packet.id, k).map(|i| &all[i]);
        if !opts.arp && f.is_neighbor_discovery() {
            continue;
        }
        let _ = writeln!(
            out,
            "#{} {} {} → {}  on network {}",
            f.number,
            f.time,
            net.nodes[f.from].name,
            node_name(net, f.to),
            net.segments[f.segment].name
        );
        let layers = frame_layers_on(&f.packet, net.segments[f.segment].link.framing);
        let notes = match prev {
            Some(p) => hop_notes(net, p, f, layers.len()),
            None => vec![String::new(); layers.len()],
        };
        let texts: Vec<String> = layers
            .iter()
            .map(|(name, fields)| format!("{name:<9} {fields}"))
            .collect();
        let w = texts.iter().map(|t| t.chars().count()).max().unwrap_or(0);
        for (t, note) in texts.iter().zip(&notes) {
            if note.is_empty() {
                let _ = writeln!(out, "   {t}");
            } else {
                let pad = w - t.chars().count();
                let _ = writeln!(out, "   {t}{:pad$}  {note}", "");
            }
        }
        if let Some(cause) = f.dropped {
            let at = match cause {
                DropCause::Lost { .. } | DropCause::QueueFull { .. } => Some(f.from),
                _ => f.to,
            };
            let _ = writeln!(
                out,
                "   ✗ the packet ends at {}: {}",
                node_name(net, at),
                cause.code()
            );
        }
    }
    out.push_str(&layers_legend(net, &all, opts));
    out
}

/// The hops of each packet that crossed at least one router, by packet
/// id, in order of first transmission.
fn multi_hop(frames: &[Frame]) -> Vec<Vec<&Frame>> {
    let mut by_id: BTreeMap<u32, Vec<&Frame>> = BTreeMap::new();
    let mut order = Vec::new();
    for f in frames {
        let hops = by_id.entry(f.packet.id).or_default();
        if hops.is_empty() {
            order.push(f.packet.id);
        }
        hops.push(f);
    }
    order
        .into_iter()
        .filter_map(|id| by_id.remove(&id))
        .filter(|hops| hops.len() > 1 && hops.iter().all(|f| f.packet.ip().is_some()))
        .collect()
}

/// What a packet is, in a word or two: `SYN`, `UDP datagram`, `echo
/// request`.
fn short_label(p: &Packet) -> String {
    match p.ip().map(|ip| ip.l4) {
        Some(L4::Tcp(t)) => flags_text(t.flags),
        Some(L4::Udp(_)) => "UDP datagram".to_string(),
        _ => label(p, &Isns::default())
            .split(" seq=")
            .next()
            .unwrap_or_default()
            .to_string(),
    }
}

/// Wraps a paragraph at `width` columns: `first` before the first line,
/// `rest` before the others.
fn wrap(text: &str, width: usize, first: &str, rest: &str) -> String {
    let mut out = String::new();
    let mut line = first.to_string();
    let mut empty = true;
    for word in text.split(' ') {
        if !empty && line.chars().count() + 1 + word.chars().count() > width {
            out.push_str(&line);
            out.push('\n');
            line = rest.to_string();
            empty = true;
        }
        if !empty {
            line.push(' ');
        }
        line.push_str(word);
        empty = false;
    }
    out.push_str(&line);
    out.push('\n');
    out
}

/// A list of names, shortened in the middle when long (a routing loop).
fn name_list(names: &[&str]) -> String {
    if names.len() <= 6 {
        names.join(", ")
    } else {
        format!(
            "{}, … , {}",
            names[..3].join(", "),
            names[names.len() - 2..].join(", ")
        )
    }
}

/// The closing legend of `--layers`: every statement checked against the
/// frames above.
fn layers_legend(net: &Network, frames: &[Frame], opts: &Options) -> String {
    let mut paras: Vec<String> = Vec::new();
    let name = |n: NodeId| net.nodes[n].name.as_str();
    let nd = frames.iter().filter(|f| f.is_neighbor_discovery()).count();
    let v6 = frames
        .iter()
        .any(|f| f.packet.ip().is_some_and(|ip| ip.is_v6()));
    let nd_name = if v6 { "neighbour discovery" } else { "ARP" };
    let packets = multi_hop(frames);
    // The packet that went furthest (the earliest of them) is the example.
    let Some(hops) = packets
        .iter()
        .max_by_key(|h| (h.len(), std::cmp::Reverse(h[0].number)))
    else {
        let mut segs: Vec<&str> = frames
            .iter()
            .map(|f| net.segments[f.segment].name.as_str())
            .collect();
        segs.sort_unstable();
        segs.dedup();
        let on = if segs.is_empty() {
            String::new()
        } else {
            format!(" (network {})", segs.join(", "))
        };
        paras.push(format!(
            "No packet crossed a router here{on}: every frame went straight from the sender's MAC to the receiver's, and no TTL was decremented."
        ));
        return finish_legend(paras);
    };
    let first = hops[0];
    let last = hops[hops.len() - 1];
    let routers: Vec<&str> = hops[1..].iter().map(|f| name(f.from)).collect();
    let ip0 = first.packet.ip().expect("multi-hop packets are IP");
    let ipn = last.packet.ip().expect("multi-hop packets are IP");
    let numbers: Vec<String> = hops.iter().map(|f| format!("#{}", f.number)).collect();
    let numbers: Vec<&str> = numbers.iter().map(String::as_str).collect();
    let ended = match last.dropped {
        Some(cause) => format!(
            " It ended at {}: {}.",
            match cause {
                DropCause::Lost { .. } | DropCause::QueueFull { .. } => name(last.from),
                _ => node_name(net, last.to),
            },
            cause.code()
        ),
        None => String::new(),
    };
    paras.push(format!(
        "The {} from {} went {} hop{} (frames {}), through {}.{ended}",
        short_label(&first.packet),
        name(first.from),
        hops.len(),
        if hops.len() == 1 { "" } else { "s" },
        name_list(&numbers),
        name_list(&routers),
    ));
    // PPP hops have no MACs to speak of: the Ethernet paragraph is about
    // the others.
    let is_ppp = |f: &Frame| net.segments[f.segment].link.framing == Framing::Ppp;
    let ppp: Vec<String> = hops
        .iter()
        .filter(|f| is_ppp(f))
        .map(|f| format!("#{}", f.number))
        .collect();
    if !ppp.is_empty() {
        let ppp: Vec<&str> = ppp.iter().map(String::as_str).collect();
        paras.push(format!(
            "PPP: frame{} {} crossed {}: a 2-byte protocol field instead of an Ethernet header, no MACs and no ARP, because the other end is the only receiver.",
            if ppp.len() == 1 { "" } else { "s" },
            name_list(&ppp),
            if ppp.len() == 1 { "a point-to-point link" } else { "point-to-point links" },
        ));
    }
    let eth_hops: Vec<&Frame> = hops.iter().copied().filter(|f| !is_ppp(f)).collect();
    // Ethernet.
    let macs_new = eth_hops.windows(2).all(|w| {
        w[0].packet.src_mac != w[1].packet.src_mac && w[0].packet.dst_mac != w[1].packet.dst_mac
    });
    let learned = if nd == 0 {
        "already known, so no ARP was needed".to_string()
    } else if opts.arp {
        format!("learned by the {nd} {nd_name} frames above")
    } else {
        format!("learned by {nd} {nd_name} frames, hidden by --no-arp")
    };
    if let (Some(eth_first), Some(eth_last)) = (eth_hops.first(), eth_hops.last()) {
        let every = if ppp.is_empty() {
            "every hop"
        } else {
            "every Ethernet hop"
        };
        paras.push(if macs_new {
            format!(
                "Ethernet: new source and destination MACs on {every}. It left {} as {} → {} and reached {} as {} → {}. A MAC means something only on its own network: each hop goes from the sending interface to the next hop's ({learned}).",
                name(eth_first.from),
                eth_first.packet.src_mac,
                eth_first.packet.dst_mac,
                node_name(net, eth_last.to),
                eth_last.packet.src_mac,
                eth_last.packet.dst_mac,
            )
        } else {
            format!("Ethernet: the MACs did not change on {every} here.")
        });
    }
    // IP.
    let same_addrs = hops.iter().all(|f| {
        f.packet
            .ip()
            .is_some_and(|ip| (ip.src, ip.dst) == (ip0.src, ip0.dst))
    });
    let one_per_router = hops.windows(2).all(|w| {
        let (a, b) = (w[0].packet.ip(), w[1].packet.ip());
        a.zip(b)
            .is_some_and(|(a, b)| a.ttl == b.ttl.wrapping_add(1))
    });
    let (ipname, ttl) = if ip0.is_v6() {
        ("IPv6", "hop limit")
    } else {
        ("IPv4", "TTL")
    };
    let addrs = if same_addrs {
        format!("the addresses stay {} → {} end to end", ip0.src, ip0.dst)
    } else {
        format!(
            "the addresses changed on the way, from {} → {} to {} → {}",
            ip0.src, ip0.dst, ipn.src, ipn.dst
        )
    };
    let fell = if one_per_router {
        format!(
            ": one less at each router it crossed ({}). Each router decrements it and drops the packet at zero, so a packet caught in a loop cannot circle forever",
            routers.len()
        )
    } else {
        String::new()
    };
    paras.push(format!(
        "{ipname}: {addrs}; the {ttl} went {} → {}{fell}.",
        ip0.ttl, ipn.ttl
    ));
    // Transport.
    let same_l4 = hops
        .iter()
        .all(|f| f.packet.ip().is_some_and(|ip| ip.l4 == ip0.l4));
    let l4name = match ip0.l4 {
        L4::Tcp(_) => "TCP: ports, flags, sequence and acknowledgement numbers",
        L4::Udp(_) => "UDP: ports and length",
        L4::Icmp(_) => "ICMP: type, code and contents",
        L4::Ospf(_) => "OSPF: type and contents",
    };
    paras.push(format!(
        "{l4name} {}",
        if same_l4 {
            "arrive exactly as sent: routers read only up to the IP header."
        } else {
            "changed on the way."
        }
    ));
    // The others.
    let rest = packets.len() - 1;
    if rest > 0 {
        let all_alike = packets.iter().all(|hops| {
            let ip0 = hops[0].packet.ip();
            hops.windows(2).all(|w| {
                let (a, b) = (w[0].packet.ip(), w[1].packet.ip());
                w[0].packet.src_mac != w[1].packet.src_mac
                    && a.zip(b)
                        .is_some_and(|(a, b)| a.ttl == b.ttl.wrapping_add(1) && a.l4 == b.l4)
                    && b.zip(ip0)
                        .is_some_and(|(b, o)| (b.src, b.dst) == (o.src, o.dst))
            })
        });
        paras.push(format!(
            "{} {rest} other packet{} that crossed a router.",
            if all_alike {
                "The same holds for the"
            } else {
                "Not all of this holds for the"
            },
            if rest == 1 { "" } else { "s" }
        ));
    }
    finish_legend(paras)
}

fn finish_legend(paras: Vec<String>) -> String {
    let mut out = String::from("\nwhat changed from hop to hop:\n");
    for p in paras {
        out.push_str(&wrap(&p, 100, "  ", "    "));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;
    use wirelab_sim::packet::{Arp, Ip, Quoted, Udp};

    fn ip_packet(l4: L4) -> Packet {
        Packet {
            src_mac: Mac([2, 0, 0, 0, 0, 8]),
            dst_mac: Mac([2, 0, 0, 0, 0, 3]),
            body: Body::Ip(Ip {
                src: "10.0.2.10".parse().unwrap(),
                dst: "10.0.3.10".parse().unwrap(),
                ttl: 64,
                l4,
            }),
            tag: 1,
            id: 1,
        }
    }

    fn tcp(flags: u8, seq: u32, ack: u32, len: u32) -> Packet {
        ip_packet(L4::Tcp(Tcp {
            payload_len: len,
            ..Tcp::plain(53067, 5432, seq, ack, flags, 64240)
        }))
    }

    use tcp_flags::*;

    #[test]
    fn tcp_labels_are_compact_and_relative() {
        let mut isns = Isns::default();
        let client = ("10.0.2.10".parse().unwrap(), 53067);
        let server = ("10.0.3.10".parse().unwrap(), 5432);
        assert_eq!(label(&tcp(SYN, 1000, 0, 0), &isns), "SYN seq=1000");
        isns.insert(client.0, client.1, 1000);
        isns.insert(server.0, server.1, 5000);
        assert_eq!(label(&tcp(SYN, 1000, 0, 0), &isns), "SYN seq=0");
        assert_eq!(label(&tcp(ACK, 1001, 5001, 0), &isns), "ACK seq=1 ack=1");
        assert_eq!(
            label(&tcp(PSH | ACK, 1001, 5001, 32), &isns),
            "PSH,ACK seq=1 ack=1 len=32"
        );
        assert_eq!(
            label(&tcp(FIN | ACK, 1033, 5001, 0), &isns),
            "FIN,ACK seq=33 ack=1"
        );
        // A reset from a closed port: the server never chose an ISN, so
        // its seq stays absolute; the ack is relative to the client's.
        let mut only_client = Isns::default();
        only_client.insert(client.0, client.1, 1000);
        let mut rst = tcp(RST | ACK, 0, 1001, 0);
        if let Body::Ip(ip) = &mut rst.body {
            std::mem::swap(&mut ip.src, &mut ip.dst);
            if let L4::Tcp(t) = &mut ip.l4 {
                std::mem::swap(&mut t.src_port, &mut t.dst_port);
            }
        }
        assert_eq!(label(&rst, &only_client), "RST,ACK seq=0 ack=1");
        // Wrapping around 2^32 stays small.
        let mut isns = Isns::default();
        isns.insert(client.0, client.1, u32::MAX);
        isns.insert(server.0, server.1, 5000);
        assert_eq!(label(&tcp(ACK, 0, 5001, 0), &isns), "ACK seq=1 ack=1");
    }

    #[test]
    fn flags_in_tcpdump_order() {
        assert_eq!(flags_text(SYN | ACK), "SYN,ACK");
        assert_eq!(flags_text(ACK | FIN), "FIN,ACK");
        assert_eq!(flags_text(ACK | PSH), "PSH,ACK");
        assert_eq!(flags_text(0), "none");
    }

    #[test]
    fn other_labels() {
        let isns = Isns::default();
        let arp = |op| Packet {
            src_mac: Mac([2, 0, 0, 0, 0, 8]),
            dst_mac: Mac::BROADCAST,
            body: Body::Arp(Arp {
                op,
                sender_mac: Mac([2, 0, 0, 0, 0, 3]),
                sender_ip: Ipv4Addr::new(10, 0, 2, 1),
                target_mac: Mac([0; 6]),
                target_ip: Ipv4Addr::new(10, 0, 2, 1),
            }),
            tag: 1,
            id: 2,
        };
        assert_eq!(label(&arp(ArpOp::Request), &isns), "ARP who-has 10.0.2.1");
        assert_eq!(
            label(&arp(ArpOp::Reply), &isns),
            "ARP is-at 02:00:00:00:00:03"
        );
        let echo = ip_packet(L4::Icmp(Icmp::EchoRequest {
            id: 7,
            seq: 1,
            payload_len: 56,
        }));
        assert_eq!(label(&echo, &isns), "echo request seq=1");
        let quoted = Quoted {
            src: "10.0.2.10".parse().unwrap(),
            dst: "10.0.3.10".parse().unwrap(),
            proto: 17,
            src_port: 1,
            dst_port: 2,
            ttl: 64,
            total_len: 28,
            id: 0,
            word: 0,
        };
        let unreach = ip_packet(L4::Icmp(Icmp::Unreachable {
            why: Unreachable::Port,
            quoted,
        }));
        assert_eq!(label(&unreach, &isns), "ICMP port unreachable");
        let te = ip_packet(L4::Icmp(Icmp::TimeExceeded { quoted }));
        assert_eq!(label(&te, &isns), "ICMP time exceeded");
        let udp = ip_packet(L4::Udp(Udp {
            src_port: 1,
            dst_port: 514,
            payload_len: 32,
            payload: Default::default(),
        }));
        assert_eq!(label(&udp, &isns), "UDP len=32");
    }

    #[test]
    fn arrows_fit_their_span() {
        let a = arrow("SYN seq=0", 20, true, false);
        assert_eq!(a.chars().count(), 20);
        assert!(a.ends_with('▶') && a.contains(" SYN seq=0 "), "{a}");
        let b = arrow("SYN,ACK seq=0 ack=1", 24, false, false);
        assert_eq!(b.chars().count(), 24);
        assert!(b.starts_with('◀'), "{b}");
        let c = arrow("a label much too long for the span", 16, true, true);
        assert_eq!(c.chars().count(), 16);
        assert!(c.contains('…') && c.ends_with('✗'), "{c}");
    }

    #[test]
    fn layers_of_a_syn() {
        let mut syn = tcp(SYN, 3628026910, 0, 0);
        if let Body::Ip(ip) = &mut syn.body {
            if let L4::Tcp(t) = &mut ip.l4 {
                t.mss = Some(1460);
            }
        }
        let layers = frame_layers(&syn);
        let names: Vec<&str> = layers.iter().map(|l| l.0).collect();
        assert_eq!(names, ["Ethernet", "IPv4", "TCP"]);
        assert_eq!(
            layers[0].1,
            "02:00:00:00:00:08 → 02:00:00:00:00:03  type IPv4 (0x0800)  60 bytes"
        );
        assert_eq!(
            layers[1].1,
            "10.0.2.10 → 10.0.3.10  ttl 64  proto tcp  len 44"
        );
        assert_eq!(
            layers[2].1,
            "53067 → 5432  [SYN]  seq 3628026910  win 64240  options MSS 1460"
        );
    }

    fn end(state: TcpState) -> TcpEnd {
        TcpEnd {
            node: 0,
            addr: "10.0.2.10".parse().unwrap(),
            port: 1,
            state,
            fin_ack: None,
        }
    }

    fn seg(flags: u8, seq: u32, ack: u32) -> Tcp {
        Tcp::plain(1, 2, seq, ack, flags, 1000)
    }

    #[test]
    fn textbook_handshake_and_close() {
        use TcpState::*;
        let (mut c, mut s) = (end(Closed), end(Listen));
        assert_eq!(c.sent(&seg(SYN, 100, 0)), [SynSent]);
        assert_eq!(s.received(&seg(SYN, 100, 0)), [SynReceived]);
        assert_eq!(s.sent(&seg(SYN | ACK, 500, 101)), []);
        assert_eq!(c.received(&seg(SYN | ACK, 500, 101)), [Established]);
        assert_eq!(s.received(&seg(ACK, 101, 501)), [Established]);
        // The client closes first.
        assert_eq!(c.sent(&seg(FIN | ACK, 101, 501)), [FinWait1]);
        assert_eq!(s.received(&seg(FIN | ACK, 101, 501)), [CloseWait]);
        assert_eq!(s.sent(&seg(ACK, 501, 102)), []);
        assert_eq!(c.received(&seg(ACK, 501, 102)), [FinWait2]);
        assert_eq!(s.sent(&seg(FIN | ACK, 501, 102)), [LastAck]);
        assert_eq!(c.received(&seg(FIN | ACK, 501, 102)), [TimeWait]);
        assert_eq!(s.received(&seg(ACK, 102, 502)), [Closed]);
    }

    #[test]
    fn fin_and_ack_of_fin_together_pass_fin_wait_2() {
        use TcpState::*;
        let mut c = end(Established);
        c.sent(&seg(FIN | ACK, 101, 501));
        // An ACK that does not cover the FIN changes nothing.
        assert_eq!(c.received(&seg(ACK, 501, 101)), []);
        assert_eq!(c.received(&seg(FIN | ACK, 501, 102)), [FinWait2, TimeWait]);
    }

    #[test]
    fn reset_closes() {
        use TcpState::*;
        let mut c = end(Closed);
        c.sent(&seg(SYN, 100, 0));
        assert_eq!(c.received(&seg(RST | ACK, 0, 101)), [Closed]);
    }
}
