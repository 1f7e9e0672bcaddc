//! What happened, step by step: the raw material of every explanation.
//!
//! Each decision a node takes about a packet is a [`Step`]; a drop carries
//! a [`Drop`] with its cause (an enum with a stable code) and the filter
//! and rule that decided. Text is rendered from these values, never parsed
//! back.

use std::net::IpAddr;

use ipnet::IpNet;
use wirelab_net::{Direction, IfaceId, NextHop, NodeId, SegmentId, SgRuleRef};
use wirelab_spec::{NaclId, Reason, SecurityGroupId, Span};

use crate::packet::Packet;
use crate::time::SimTime;

/// Why a packet was dropped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DropCause {
    /// No route matches the destination.
    NoRoute,
    /// A blackhole route matched.
    Blackhole { prefix: IpNet, span: Span },
    /// TTL or hop limit would reach zero.
    TtlExceeded,
    /// Nobody answered ARP or neighbour solicitation for the next hop.
    HostUnreachable { next_hop: IpAddr },
    /// No rule of the host's security groups admits a new inbound flow.
    SgInbound { groups_len: usize },
    /// No rule of the host's security groups lets a new flow out.
    SgOutbound { groups_len: usize },
    /// The NACL of the segment the packet enters denies it.
    NaclInbound {
        nacl: NaclId,
        segment: SegmentId,
        rule: Option<u16>,
        span: Option<Span>,
    },
    /// The NACL of the segment the packet leaves denies it.
    NaclOutbound {
        nacl: NaclId,
        segment: SegmentId,
        rule: Option<u16>,
        span: Option<Span>,
    },
    /// Lost on the segment (random loss).
    Lost { segment: SegmentId },
    /// The transmit queue of the interface was full (drop-tail).
    QueueFull { iface: IfaceId },
    /// The segment is down (`down: true`, or a `link_down` event).
    LinkDown { segment: SegmentId },
    /// Larger than the MTU of the next segment, and may not be fragmented
    /// (IPv4 with DF, as Linux sends; any IPv6): ICMP fragmentation needed
    /// or packet too big goes back (RFC 1191, RFC 8201).
    TooBig { mtu: u32 },
    /// Sent to the network or broadcast address of a connected IPv4
    /// prefix: hosts need an explicit broadcast option, routers do not
    /// forward directed broadcasts (RFC 2644). Nothing answers.
    Broadcast { addr: IpAddr },
    /// A NAT router's boundary: the packet would cross between an inside
    /// and an outside interface and no mapping translates it.
    NatUnmapped { iface: IfaceId },
    /// Source NAT found no free address and port for a new flow (or its
    /// translation table was full).
    NatPortsExhausted { rule: usize, span: Span },
    /// The router is switched off (a `router_down` event).
    RouterDown,
}

impl DropCause {
    /// The reason code a check reports for this drop. A lost frame or a
    /// full queue means no answer came in time.
    pub fn reason(&self) -> Reason {
        match self {
            DropCause::NoRoute => Reason::NoRoute,
            DropCause::Blackhole { .. } => Reason::Blackhole,
            DropCause::TtlExceeded => Reason::TtlExceeded,
            DropCause::HostUnreachable { .. } => Reason::HostUnreachable,
            DropCause::SgInbound { .. } => Reason::SgInbound,
            DropCause::SgOutbound { .. } => Reason::SgOutbound,
            DropCause::NatUnmapped { .. } => Reason::NatUnmapped,
            DropCause::NatPortsExhausted { .. } => Reason::NatPortsExhausted,
            DropCause::NaclInbound { .. } => Reason::NaclInbound,
            DropCause::NaclOutbound { .. } => Reason::NaclOutbound,
            DropCause::Lost { .. }
            | DropCause::QueueFull { .. }
            | DropCause::Broadcast { .. }
            | DropCause::LinkDown { .. }
            | DropCause::RouterDown
            | DropCause::TooBig { .. } => Reason::Timeout,
        }
    }

    /// A stable code, finer than [`Reason`], for counters and JSON.
    pub fn code(&self) -> &'static str {
        match self {
            DropCause::Lost { .. } => "link-loss",
            DropCause::QueueFull { .. } => "queue-full",
            DropCause::Broadcast { .. } => "broadcast",
            DropCause::LinkDown { .. } => "link-down",
            DropCause::RouterDown => "router-down",
            DropCause::TooBig { .. } => "too-big",
            other => other.reason().code(),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Drop {
    pub cause: DropCause,
    pub packet: Packet,
}

/// How a security group or connection tracking let a packet pass.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SgPass {
    /// A rule allowed a new flow.
    Rule(SgRuleRef),
    /// The host's groups set no outbound list: everything goes out.
    OutboundDefault,
    /// Part of a tracked flow (a reply, or a later packet of it).
    Established,
    /// An ICMP error about a tracked flow.
    Related,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// A host application sent the packet.
    Send,
    /// The routing table chose a route.
    Route {
        prefix: IpNet,
        next_hop: NextHop,
        out_iface: IfaceId,
        /// Where the route came from (connected, static, a protocol).
        origin: wirelab_net::RouteOrigin,
    },
    /// A security group let the packet pass.
    SgPass {
        direction: Direction,
        how: SgPass,
    },
    /// A NACL rule allowed the packet.
    NaclPass {
        nacl: NaclId,
        direction: Direction,
        rule: u16,
        span: Span,
    },
    /// The frame went out of an interface.
    Transmit {
        iface: IfaceId,
        next_hop_mac: wirelab_net::Mac,
    },
    /// A NAT router rewrote an address (and port) of the packet.
    Nat(NatStep),
    /// A router forwarded it, TTL decremented.
    Forward {
        in_iface: IfaceId,
        out_iface: IfaceId,
    },
    /// Neighbour resolution started for a next hop.
    Resolve {
        next_hop: IpAddr,
    },
    /// Delivered to a listening service or to the IP stack of the node.
    Deliver,
    /// Sent to one of the node's own addresses: over loopback.
    Loopback,
    /// The node answered (echo reply, SYN-ACK, RST, ICMP error).
    Reply,
    Drop(DropCause),
}

/// Which endpoint of a packet a NAT router rewrote.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NatField {
    Source,
    Destination,
}

/// Where the packet stands in its translated flow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NatPhase {
    /// The first packet: the mapping was made now.
    New,
    /// A later packet in the direction of the first.
    Original,
    /// A reply: translated back.
    Reply,
    /// An ICMP error about the flow: its outer address and the datagram
    /// it quotes translated back, so the sender recognises it.
    Related,
}

/// One rewrite by a NAT router (RFC 3022 terms: the "inside" and
/// "outside" of the router are its interfaces without and with NAT rules).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NatStep {
    pub rule: crate::nat::NatRule,
    /// Where the rule is written.
    pub span: Span,
    pub field: NatField,
    pub phase: NatPhase,
    pub before: (IpAddr, u16),
    pub after: (IpAddr, u16),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TraceEvent {
    pub time: SimTime,
    pub node: NodeId,
    pub packet: Packet,
    pub step: Step,
}

/// How much a run records.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TraceLevel {
    /// Counters only (benchmarks, long runs).
    Off,
    /// Every step of every tagged packet.
    Full,
}

/// The security group a rule belongs to, if any.
pub fn sg_of(how: &SgPass) -> Option<SecurityGroupId> {
    match how {
        SgPass::Rule(r) => Some(r.group),
        _ => None,
    }
}
