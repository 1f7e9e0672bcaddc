//! Packets as plain structs with the real header fields.
//!
//! Every field that a real frame has and that the simulation uses is here
//! with its real meaning (addresses, ports, TTL, TCP flags and sequence
//! numbers, ICMP types), so that a trace or a capture reads like one from
//! a real network. Sizes follow the real header lengths (RFC 791, 8200,
//! 9293, 768, 792, 4443, 826, 4861).

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use wirelab_net::{Header, Mac};
pub use wirelab_spec::Framing;

/// Which exchange a packet belongs to (0: none). ICMP errors inherit the
/// tag of the packet they report on.
pub type Tag = u32;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Packet {
    pub src_mac: Mac,
    pub dst_mac: Mac,
    pub body: Body,
    pub tag: Tag,
    /// Unique per packet a node originates; kept when forwarded, so the
    /// path of one packet can be followed through the trace.
    pub id: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Body {
    Arp(Arp),
    Ip(Ip),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArpOp {
    Request,
    Reply,
}

/// An ARP message for IPv4 over Ethernet (RFC 826).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Arp {
    pub op: ArpOp,
    pub sender_mac: Mac,
    pub sender_ip: Ipv4Addr,
    pub target_mac: Mac,
    pub target_ip: Ipv4Addr,
}

/// An IPv4 or IPv6 datagram. `ttl` is the hop limit for IPv6.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ip {
    pub src: IpAddr,
    pub dst: IpAddr,
    pub ttl: u8,
    pub l4: L4,
}

pub mod tcp_flags {
    pub const FIN: u8 = 0x01;
    pub const SYN: u8 = 0x02;
    pub const RST: u8 = 0x04;
    pub const PSH: u8 = 0x08;
    pub const ACK: u8 = 0x10;
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tcp {
    pub src_port: u16,
    pub dst_port: u16,
    pub seq: u32,
    pub ack: u32,
    pub flags: u8,
    pub window: u16,
    /// MSS option (SYN segments only).
    pub mss: Option<u16>,
    /// Window scale option (SYN segments only, RFC 7323 §2).
    pub wscale: Option<u8>,
    /// SACK-permitted option (SYN segments only, RFC 2018 §2).
    pub sack_permitted: bool,
    /// SACK blocks (left edge, right edge), the first `sack_len` of them
    /// (RFC 2018 §3; at most 3 fit beside timestamps).
    pub sack: [(u32, u32); 3],
    pub sack_len: u8,
    /// Timestamps option (TSval, TSecr), RFC 7323 §3.
    pub timestamps: Option<(u32, u32)>,
    pub payload_len: u32,
}

impl Tcp {
    /// A segment with no options.
    pub fn plain(src_port: u16, dst_port: u16, seq: u32, ack: u32, flags: u8, window: u16) -> Tcp {
        Tcp {
            src_port,
            dst_port,
            seq,
            ack,
            flags,
            window,
            mss: None,
            wscale: None,
            sack_permitted: false,
            sack: [(0, 0); 3],
            sack_len: 0,
            timestamps: None,
            payload_len: 0,
        }
    }

    /// Bytes of options, laid out as Linux does and padded to 32-bit
    /// words: MSS (4); SACK-permitted with timestamps (2 + 10), or each
    /// alone behind NOPs (4, 12); window scale behind a NOP (4); SACK
    /// blocks behind two NOPs (4 + 8 per block). The pcap encoder writes
    /// exactly this layout.
    pub fn options_len(&self) -> u32 {
        let mut len = 0;
        if self.mss.is_some() {
            len += 4;
        }
        len += match (self.sack_permitted, self.timestamps.is_some()) {
            (true, true) => 12,
            (true, false) => 4,
            (false, true) => 12,
            (false, false) => 0,
        };
        if self.wscale.is_some() {
            len += 4;
        }
        if self.sack_len > 0 {
            len += 4 + 8 * u32::from(self.sack_len);
        }
        len
    }

    pub fn sack_blocks(&self) -> &[(u32, u32)] {
        &self.sack[..usize::from(self.sack_len.min(3))]
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Udp {
    pub src_port: u16,
    pub dst_port: u16,
    pub payload_len: u32,
    /// The datagram's bytes when an application gave real ones (a DNS
    /// message); [`Payload::NONE`] for generated traffic, whose bytes are a
    /// pattern of `payload_len` (see wirelab-wire).
    pub payload: Payload,
}

/// A handle to bytes kept by the simulator ([`crate::Sim::payload`]), so
/// that packets stay small and `Copy`. Valid until the next reset.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Payload(pub(crate) u32);

impl Payload {
    pub const NONE: Payload = Payload(0);

    pub fn is_none(self) -> bool {
        self == Payload::NONE
    }
}

/// Why a destination is unreachable; mapped to the ICMP or ICMPv6 code of
/// the packet's family.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unreachable {
    /// v4 code 0 net unreachable; v6 code 0 no route to destination.
    Net,
    /// v4 code 1 host unreachable; v6 code 3 address unreachable.
    Host,
    /// v4 code 3; v6 code 4.
    Port,
}

/// The start of the datagram an ICMP error reports on: its IP header and
/// the first 8 bytes of its payload (the ports, or the echo identifier),
/// enough to rebuild exactly what a real ICMP error quotes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Quoted {
    pub src: IpAddr,
    pub dst: IpAddr,
    pub proto: u8,
    pub src_port: u16,
    pub dst_port: u16,
    /// TTL / hop limit as the datagram arrived where the error was raised.
    pub ttl: u8,
    /// Its total length (IP header included).
    pub total_len: u32,
    /// Its packet id (the low 16 bits are the IPv4 identification).
    pub id: u32,
    /// The 32 bits after the ports: the TCP sequence number, the echo
    /// sequence number (low 16 bits); 0 otherwise.
    pub word: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Icmp {
    EchoRequest {
        id: u16,
        seq: u16,
        payload_len: u32,
    },
    EchoReply {
        id: u16,
        seq: u16,
        payload_len: u32,
    },
    Unreachable {
        why: Unreachable,
        quoted: Quoted,
    },
    TimeExceeded {
        quoted: Quoted,
    },
    /// IPv4 destination unreachable, fragmentation needed (RFC 1191 §4),
    /// or ICMPv6 packet too big (RFC 4443 §3.2), with the next-hop MTU.
    TooBig {
        mtu: u32,
        quoted: Quoted,
    },
    /// ICMPv6 neighbour solicitation (RFC 4861 §4.3).
    NeighborSolicit {
        target: Ipv6Addr,
        source_mac: Mac,
    },
    /// ICMPv6 neighbour advertisement (RFC 4861 §4.4).
    NeighborAdvert {
        target: Ipv6Addr,
        target_mac: Mac,
        /// The R flag: the sender is a router (RFC 4861 §4.4).
        router: bool,
    },
}

impl Icmp {
    /// (type, code) on the wire for the given family.
    pub fn type_code(&self, v6: bool) -> (u8, u8) {
        match (*self, v6) {
            (Icmp::EchoRequest { .. }, false) => (8, 0),
            (Icmp::EchoRequest { .. }, true) => (128, 0),
            (Icmp::EchoReply { .. }, false) => (0, 0),
            (Icmp::EchoReply { .. }, true) => (129, 0),
            (Icmp::Unreachable { why, .. }, false) => (
                3,
                match why {
                    Unreachable::Net => 0,
                    Unreachable::Host => 1,
                    Unreachable::Port => 3,
                },
            ),
            (Icmp::Unreachable { why, .. }, true) => (
                1,
                match why {
                    Unreachable::Net => 0,
                    Unreachable::Host => 3,
                    Unreachable::Port => 4,
                },
            ),
            (Icmp::TimeExceeded { .. }, false) => (11, 0),
            (Icmp::TimeExceeded { .. }, true) => (3, 0),
            (Icmp::TooBig { .. }, false) => (3, 4),
            (Icmp::TooBig { .. }, true) => (2, 0),
            (Icmp::NeighborSolicit { .. }, _) => (135, 0),
            (Icmp::NeighborAdvert { .. }, _) => (136, 0),
        }
    }

    pub fn is_error(&self) -> bool {
        matches!(
            self,
            Icmp::Unreachable { .. } | Icmp::TimeExceeded { .. } | Icmp::TooBig { .. }
        )
    }

    pub fn is_neighbor_discovery(&self) -> bool {
        matches!(
            self,
            Icmp::NeighborSolicit { .. } | Icmp::NeighborAdvert { .. }
        )
    }

    /// The same message with the quoted datagram's packet id set.
    pub fn with_quoted_id(self, id: u32) -> Icmp {
        match self {
            Icmp::Unreachable { why, quoted } => Icmp::Unreachable {
                why,
                quoted: Quoted { id, ..quoted },
            },
            Icmp::TimeExceeded { quoted } => Icmp::TimeExceeded {
                quoted: Quoted { id, ..quoted },
            },
            Icmp::TooBig { mtu, quoted } => Icmp::TooBig {
                mtu,
                quoted: Quoted { id, ..quoted },
            },
            other => other,
        }
    }

    pub fn quoted(&self) -> Option<Quoted> {
        match *self {
            Icmp::Unreachable { quoted, .. }
            | Icmp::TimeExceeded { quoted }
            | Icmp::TooBig { quoted, .. } => Some(quoted),
            _ => None,
        }
    }
}

/// An OSPFv2 packet (IP protocol 89, RFC 2328 appendix A). Its bytes,
/// OSPF header included, are kept by the simulator like a UDP payload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ospf {
    /// The OSPF packet type: 1 hello, 4 link state update, 5 link state
    /// acknowledgment.
    pub kind: u8,
    pub len: u32,
    pub payload: Payload,
}

impl Ospf {
    pub fn kind_name(&self) -> &'static str {
        match self.kind {
            1 => "hello",
            2 => "db description",
            3 => "ls request",
            4 => "ls update",
            5 => "ls ack",
            _ => "unknown",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum L4 {
    Tcp(Tcp),
    Udp(Udp),
    Icmp(Icmp),
    Ospf(Ospf),
}

pub const ETHERNET_HEADER: u32 = 14;
/// Frames shorter than this are padded (without the 4-byte FCS).
pub const ETHERNET_MIN_FRAME: u32 = 60;
/// The PPP protocol field (RFC 1661 §2) in front of a datagram on a
/// `framing: ppp` link. The HDLC-like flag, address, control and FCS
/// bytes (RFC 1662) are not counted, as Ethernet's preamble and FCS are
/// not: ns-3's point-to-point links carry exactly this 2-byte header.
pub const PPP_HEADER: u32 = 2;
/// PPP protocol numbers (RFC 1332, RFC 5072).
pub const PPP_IPV4: u16 = 0x0021;
pub const PPP_IPV6: u16 = 0x0057;

impl Ip {
    pub fn is_v6(&self) -> bool {
        self.src.is_ipv6()
    }

    pub fn proto(&self) -> u8 {
        match self.l4 {
            L4::Tcp(_) => 6,
            L4::Udp(_) => 17,
            L4::Icmp(_) if self.is_v6() => 58,
            L4::Icmp(_) => 1,
            L4::Ospf(_) => 89,
        }
    }

    /// The IP header plus payload, in bytes.
    pub fn total_len(&self) -> u32 {
        let ip_header = if self.is_v6() { 40 } else { 20 };
        let l4 = match self.l4 {
            L4::Tcp(t) => 20 + t.options_len() + t.payload_len,
            L4::Udp(u) => 8 + u.payload_len,
            L4::Icmp(
                Icmp::EchoRequest { payload_len, .. } | Icmp::EchoReply { payload_len, .. },
            ) => 8 + payload_len,
            // The quoted datagram: its IP header and 8 bytes.
            L4::Icmp(
                Icmp::Unreachable { .. } | Icmp::TimeExceeded { .. } | Icmp::TooBig { .. },
            ) => 8 + ip_header + 8,
            // Target address plus a link-layer address option.
            L4::Icmp(Icmp::NeighborSolicit { .. } | Icmp::NeighborAdvert { .. }) => 8 + 16 + 8,
            L4::Ospf(o) => o.len,
        };
        ip_header + l4
    }

    /// The fields filters match on.
    pub fn header(&self) -> Header {
        let (dst_port, icmp_type, icmp_code) = match self.l4 {
            L4::Tcp(t) => (t.dst_port, 0, 0),
            L4::Udp(u) => (u.dst_port, 0, 0),
            L4::Icmp(i) => {
                let (t, c) = i.type_code(self.is_v6());
                (0, t, c)
            }
            L4::Ospf(_) => (0, 0, 0),
        };
        Header {
            src: self.src,
            dst: self.dst,
            proto: self.proto(),
            dst_port,
            icmp_type,
            icmp_code,
        }
    }

    /// What an ICMP error about this datagram quotes.
    pub fn quote(&self) -> Quoted {
        let (src_port, dst_port, word) = match self.l4 {
            L4::Tcp(t) => (t.src_port, t.dst_port, t.seq),
            L4::Udp(u) => (u.src_port, u.dst_port, 0),
            L4::Icmp(Icmp::EchoRequest { id, seq, .. } | Icmp::EchoReply { id, seq, .. }) => {
                (id, id, u32::from(seq))
            }
            L4::Icmp(_) | L4::Ospf(_) => (0, 0, 0),
        };
        Quoted {
            src: self.src,
            dst: self.dst,
            proto: self.proto(),
            src_port,
            dst_port,
            ttl: self.ttl,
            total_len: self.total_len(),
            id: 0,
            word,
        }
    }
}

impl Packet {
    /// Bytes on an Ethernet wire (header, padding; no preamble or FCS).
    pub fn wire_len(&self) -> u32 {
        self.frame_len(Framing::Ethernet)
    }

    /// Bytes on a wire of this framing: what serialization time and the
    /// interface counters count, and what a capture holds.
    pub fn frame_len(&self, framing: Framing) -> u32 {
        let payload = match self.body {
            Body::Arp(_) => 28,
            Body::Ip(ip) => ip.total_len(),
        };
        match framing {
            Framing::Ethernet => (ETHERNET_HEADER + payload).max(ETHERNET_MIN_FRAME),
            Framing::Ppp => PPP_HEADER + payload,
        }
    }

    /// An OSPF packet or a RIP message (UDP port 520 both ways).
    pub fn is_routing(&self) -> bool {
        match self.body {
            Body::Ip(Ip {
                l4: L4::Ospf(_), ..
            }) => true,
            Body::Ip(Ip { l4: L4::Udp(u), .. }) => u.src_port == 520 && u.dst_port == 520,
            _ => false,
        }
    }

    pub fn ip(&self) -> Option<&Ip> {
        match &self.body {
            Body::Ip(ip) => Some(ip),
            Body::Arp(_) => None,
        }
    }
}

fn flags_text(flags: u8) -> String {
    use tcp_flags::*;
    let names = [
        (SYN, "SYN"),
        (FIN, "FIN"),
        (RST, "RST"),
        (PSH, "PSH"),
        (ACK, "ACK"),
    ];
    let parts: Vec<&str> = names
        .iter()
        .filter(|(f, _)| flags & f != 0)
        .map(|(_, n)| *n)
        .collect();
    parts.join(",")
}

fn endpoint(addr: IpAddr, port: u16) -> String {
    match addr {
        IpAddr::V4(a) => format!("{a}:{port}"),
        IpAddr::V6(a) => format!("[{a}]:{port}"),
    }
}

impl fmt::Display for Packet {
    /// One line in the style of tcpdump, e.g.
    /// `tcp 10.0.1.7:49152 > 10.0.3.10:5432 [SYN] seq=1 ttl=64`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.body {
            Body::Arp(a) => match a.op {
                ArpOp::Request => write!(f, "arp who-has {} tell {}", a.target_ip, a.sender_ip),
                ArpOp::Reply => write!(f, "arp reply {} is-at {}", a.sender_ip, a.sender_mac),
            },
            Body::Ip(ip) => {
                match ip.l4 {
                    L4::Tcp(t) => {
                        write!(
                            f,
                            "tcp {} > {} [{}] seq={}",
                            endpoint(ip.src, t.src_port),
                            endpoint(ip.dst, t.dst_port),
                            flags_text(t.flags),
                            t.seq
                        )?;
                        if t.flags & tcp_flags::ACK != 0 {
                            write!(f, " ack={}", t.ack)?;
                        }
                        write!(f, " win={}", t.window)?;
                        if t.payload_len > 0 {
                            write!(f, " len={}", t.payload_len)?;
                        }
                    }
                    L4::Udp(u) => write!(
                        f,
                        "udp {} > {} len={}",
                        endpoint(ip.src, u.src_port),
                        endpoint(ip.dst, u.dst_port),
                        u.payload_len
                    )?,
                    L4::Ospf(o) => write!(
                        f,
                        "ospf {} > {} {} len={}",
                        ip.src,
                        ip.dst,
                        o.kind_name(),
                        o.len
                    )?,
                    L4::Icmp(i) => {
                        let name = if ip.is_v6() { "icmp6" } else { "icmp" };
                        write!(f, "{name} {} > {} ", ip.src, ip.dst)?;
                        match i {
                            Icmp::EchoRequest { id, seq, .. } => {
                                write!(f, "echo request id={id} seq={seq}")?
                            }
                            Icmp::EchoReply { id, seq, .. } => {
                                write!(f, "echo reply id={id} seq={seq}")?
                            }
                            Icmp::Unreachable { why, quoted } => {
                                let what = match why {
                                    Unreachable::Net => "net unreachable",
                                    Unreachable::Host => "host unreachable",
                                    Unreachable::Port => "port unreachable",
                                };
                                write!(f, "{what} (about {} > {})", quoted.src, quoted.dst)?
                            }
                            Icmp::TooBig { mtu, quoted } => {
                                let what = if ip.is_v6() {
                                    "packet too big"
                                } else {
                                    "fragmentation needed"
                                };
                                write!(
                                    f,
                                    "{what}, mtu {mtu} (about {} > {})",
                                    quoted.src, quoted.dst
                                )?
                            }
                            Icmp::TimeExceeded { quoted } => write!(
                                f,
                                "time exceeded in transit (about {} > {})",
                                quoted.src, quoted.dst
                            )?,
                            Icmp::NeighborSolicit { target, .. } => {
                                write!(f, "neighbor solicitation who-has {target}")?
                            }
                            Icmp::NeighborAdvert {
                                target, target_mac, ..
                            } => write!(f, "neighbor advertisement {target} is-at {target_mac}")?,
                        }
                    }
                }
                if ip.is_v6() {
                    write!(f, " hlim={}", ip.ttl)
                } else {
                    write!(f, " ttl={}", ip.ttl)
                }
            }
        }
    }
}
