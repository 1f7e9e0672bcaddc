//! The validated lab: every reference resolved to an index, every address
//! assigned, every `links:` entry expanded into a two-member network.
//!
//! This is what the rest of wirelab consumes. It is plain data; the spans
//! point back into the lab file so that later stages (the compiler, the
//! simulator's explanations) can still say *where* a rule or route came from.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::{IpNet, Ipv4Net, Ipv6Net};

/// A position in the lab file, 1-based, in characters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Span {
    pub line: u32,
    pub column: u32,
}

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// A value and where it was written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sp<T> {
    pub value: T,
    pub span: Span,
}

impl<T> Sp<T> {
    pub fn new(value: T, span: Span) -> Self {
        Sp { value, span }
    }
}

impl<T> std::ops::Deref for Sp<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.value
    }
}

pub type NetworkId = usize;
pub type RouterId = usize;
pub type HostId = usize;
pub type SecurityGroupId = usize;
pub type NaclId = usize;

/// A validated lab, ready to compile.
#[derive(Clone, Debug)]
pub struct Lab {
    /// The file name as given on the command line (used in messages).
    pub file: String,
    pub lab: Sp<String>,
    pub title: Option<String>,
    pub description: Option<String>,
    /// Seed of every random choice; 1 when the lab sets none.
    pub seed: u64,
    /// Declared networks first (in file order), then one per `links:` entry.
    pub networks: Vec<Network>,
    pub routers: Vec<Router>,
    pub hosts: Vec<Host>,
    pub security_groups: Vec<SecurityGroup>,
    pub nacls: Vec<Nacl>,
    /// Stages (chapters) of the checks, in order (`stages:`); empty when
    /// the lab has none.
    pub stages: Vec<Stage>,
    pub checks: Vec<Check>,
    /// TCP settings of the lab (`tcp:`); hosts may override them.
    pub tcp: TcpSettings,
    /// Workloads (`traffic:`), in file order.
    pub traffic: Vec<Traffic>,
    /// Timed changes (`events:`), sorted by time (stable: file order among
    /// equal times).
    pub events: Vec<LabEvent>,
    /// Zones and resolvers (`dns:`).
    pub dns: Dns,
    /// Certificates and what clients trust (`tls:`).
    pub tls: Tls,
    /// Users, their keys, and who may log in where (`ssh:`).
    pub ssh: Ssh,
}

/// Physical properties of a segment, fully resolved (defaults applied).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LinkProps {
    pub bandwidth_bps: u64,
    pub delay_ns: u64,
    /// Probability that a frame is lost, 0.0 ..= 1.0 (the file says percent).
    pub loss: f64,
    pub mtu: u32,
    /// Drop-tail queue capacity in packets, per transmitting interface.
    pub queue_packets: u32,
    /// Extra delay drawn uniformly from 0 ..= jitter per frame (0: none).
    /// Frames of one interface keep their order.
    pub jitter_ns: u64,
    /// The segment starts down (`down: true`): nothing crosses it.
    pub down: bool,
    /// How frames are put on the wire (`framing:`, links only).
    pub framing: Framing,
}

/// The link layer of a segment.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Framing {
    /// Ethernet II (RFC 894): a 14-byte header, frames padded to 60
    /// bytes, ARP and IPv6 neighbour discovery to find the next hop.
    #[default]
    Ethernet,
    /// PPP (RFC 1661): the datagram behind a 2-byte protocol field
    /// (0x0021 IPv4, 0x0057 IPv6), no minimum size, no address
    /// resolution (the other end is the only receiver). Only on `links:`.
    Ppp,
}

impl Framing {
    /// The name written in the lab file.
    pub fn name(self) -> &'static str {
        match self {
            Framing::Ethernet => "ethernet",
            Framing::Ppp => "ppp",
        }
    }
}

impl Default for LinkProps {
    fn default() -> Self {
        LinkProps {
            bandwidth_bps: 1_000_000_000,
            delay_ns: 100_000,
            loss: 0.0,
            mtu: 1500,
            queue_packets: 100,
            jitter_ns: 0,
            down: false,
            framing: Framing::Ethernet,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NetworkOrigin {
    /// Declared under `networks:`.
    Declared,
    /// Created by the `links:` entry with this index.
    Link(usize),
}

/// An L2 segment (a subnet).
#[derive(Clone, Debug)]
pub struct Network {
    pub name: Sp<String>,
    pub ipv4: Option<Sp<Ipv4Net>>,
    pub ipv6: Option<Sp<Ipv6Net>>,
    pub nacl: Option<NaclId>,
    pub link: LinkProps,
    pub origin: NetworkOrigin,
}

/// One attachment of a router to a network.
#[derive(Clone, Debug)]
pub struct RouterInterface {
    pub network: NetworkId,
    pub ipv4: Option<Ipv4Addr>,
    pub ipv6: Option<Ipv6Addr>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RouteTarget {
    /// Forward to this next hop, which is on a network connected to the router.
    Via(IpAddr),
    /// Drop silently.
    Blackhole,
}

#[derive(Clone, Debug)]
pub struct StaticRoute {
    pub to: IpNet,
    pub target: RouteTarget,
    /// Administrative distance (`distance:`, an extension): 1 unless
    /// written; a dynamic route to the same prefix with a lower distance
    /// wins (a floating static route).
    pub distance: u8,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub struct Router {
    pub name: Sp<String>,
    /// In file order; interfaces created by `links:` follow the declared ones.
    pub interfaces: Vec<RouterInterface>,
    pub routes: Vec<StaticRoute>,
    /// Address translation (`nat:`, an extension); empty when not written.
    pub nat: Nat,
    /// Dynamic routing (`ospf:`, `rip:`, extensions); `None` when not written.
    pub ospf: Option<Ospf>,
    pub rip: Option<Rip>,
}

/// Where a dynamic routing protocol runs on a router. Interfaces are
/// positions in [`Router::interfaces`]; only IPv4 is routed (OSPFv2 and
/// RIPv2 carry IPv4 prefixes).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoutingIfaces {
    /// The interfaces the protocol runs on, in the router's order: their
    /// IPv4 prefixes are advertised.
    pub interfaces: Vec<usize>,
    /// Of those, the ones that advertise their prefix but send and accept
    /// no protocol messages (`passive:`).
    pub passive: Vec<usize>,
    /// Administrative distance of the protocol's routes.
    pub distance: u8,
    pub span: Span,
}

/// A link-state protocol modelled on OSPFv2 (`ospf:`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ospf {
    pub on: RoutingIfaces,
    /// The cost of each interface of `on.interfaces`, in that order:
    /// written, or the reference bandwidth over the link's bandwidth
    /// (at least 1).
    pub costs: Vec<u32>,
    pub hello_ns: u64,
    pub dead_ns: u64,
    /// The router ID: written, else the highest IPv4 address of the router.
    pub router_id: std::net::Ipv4Addr,
}

/// How a distance-vector router advertises routes back where it learned
/// them (RFC 2453 §3.4.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SplitHorizon {
    Off,
    Simple,
    PoisonedReverse,
}

/// A distance-vector protocol modelled on RIPv2 (`rip:`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rip {
    pub on: RoutingIfaces,
    pub split_horizon: SplitHorizon,
    pub update_ns: u64,
    pub timeout_ns: u64,
    pub garbage_ns: u64,
}

/// Network address translation on a router (`nat:`, an extension of the
/// format; IPv4 only). Interfaces are positions in [`Router::interfaces`].
#[derive(Clone, Debug, Default)]
pub struct Nat {
    /// Source NAT / masquerade, tried in file order: the first rule whose
    /// `from` holds the source and whose `out` is the packet's way out.
    pub source: Vec<SourceNat>,
    /// Destination NAT (port forwarding) on an outside interface.
    pub forward: Vec<PortForward>,
    /// One-to-one mappings (elastic IPs).
    pub static_maps: Vec<StaticNat>,
}

impl Nat {
    pub fn is_empty(&self) -> bool {
        self.source.is_empty() && self.forward.is_empty() && self.static_maps.is_empty()
    }

    /// Whether the interface at `position` is an outside one: named by a
    /// rule's `out`, `in` or `on`.
    pub fn is_outside(&self, position: usize) -> bool {
        self.source.iter().any(|r| r.out == position)
            || self.forward.iter().any(|r| r.in_iface == position)
            || self.static_maps.iter().any(|r| r.on == position)
    }
}

/// `{ from, out, to, ports }`: new flows from `from` leaving through `out`
/// get a source address from `first..=last` and a port from `ports`.
#[derive(Clone, Debug)]
pub struct SourceNat {
    pub from: Ipv4Net,
    pub out: usize,
    /// `to: masquerade`: the address of `out` (then `first == last`).
    pub masquerade: bool,
    pub first: Ipv4Addr,
    pub last: Ipv4Addr,
    pub ports: PortRange,
    pub span: Span,
}

/// `{ in, proto, port(s), to }`: new flows arriving on `in` for the
/// interface's address and a port of `ports` go to `to` (port `to_port +
/// offset`, or the same port).
#[derive(Clone, Debug)]
pub struct PortForward {
    pub in_iface: usize,
    pub proto: TransportProto,
    pub public: Ipv4Addr,
    pub ports: PortRange,
    pub to: Ipv4Addr,
    pub to_port: Option<u16>,
    pub span: Span,
}

/// `{ private, public, on }`: 1:1 NAT, ports untouched.
#[derive(Clone, Debug)]
pub struct StaticNat {
    pub private: Ipv4Addr,
    pub public: Ipv4Addr,
    pub on: usize,
    pub span: Span,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TransportProto {
    Tcp,
    Udp,
}

impl TransportProto {
    pub fn code(self) -> &'static str {
        match self {
            TransportProto::Tcp => "tcp",
            TransportProto::Udp => "udp",
        }
    }
}

#[derive(Clone, Debug)]
pub struct Service {
    pub port: u16,
    pub proto: TransportProto,
    pub app: Option<String>,
    /// For `app: http` and `app: https`.
    pub http: Option<HttpService>,
    pub span: Span,
}

impl Service {
    /// An authoritative DNS server (`app: dns`) or a recursive resolver
    /// (`app: resolver`).
    pub fn speaks_dns(&self) -> bool {
        matches!(self.app.as_deref(), Some("dns" | "resolver"))
    }
}

#[derive(Clone, Debug)]
pub struct Host {
    pub name: Sp<String>,
    pub network: NetworkId,
    /// Assigned (first free address) when the file gives none and the
    /// network has an IPv4 prefix.
    pub ipv4: Option<Ipv4Addr>,
    pub ipv6: Option<Ipv6Addr>,
    /// Default gateway per family: the declared one, else the only router
    /// address of that family on the host's network, else none.
    pub gateway4: Option<Ipv4Addr>,
    pub gateway6: Option<Ipv6Addr>,
    pub security_groups: Vec<SecurityGroupId>,
    pub services: Vec<Service>,
    /// The lab's TCP settings with this host's `tcp:` overrides applied.
    pub tcp: TcpSettings,
    /// The recursive resolvers this host's stub asks, in order
    /// (`resolver:`); empty when it has none.
    pub resolvers: Vec<IpAddr>,
    /// The host has a `resolver:` key, valid or not (so that a wrong one
    /// is reported once, not again by every check that needs it).
    pub resolver_written: bool,
    /// Certificate authorities this host trusts beyond the lab's.
    pub trust: Vec<AuthorityId>,
    pub span: Span,
}

/// The protocol field of a security-group or NACL rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RuleProto {
    Tcp,
    Udp,
    Icmp,
    Icmpv6,
    All,
    /// Any other IP protocol number (ports are ignored for it).
    Number(u8),
}

impl RuleProto {
    /// The IP protocol number, or `None` for `all`.
    pub fn number(self) -> Option<u8> {
        match self {
            RuleProto::Tcp => Some(6),
            RuleProto::Udp => Some(17),
            RuleProto::Icmp => Some(1),
            RuleProto::Icmpv6 => Some(58),
            RuleProto::All => None,
            RuleProto::Number(n) => Some(n),
        }
    }
}

impl fmt::Display for RuleProto {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RuleProto::Tcp => f.write_str("tcp"),
            RuleProto::Udp => f.write_str("udp"),
            RuleProto::Icmp => f.write_str("icmp"),
            RuleProto::Icmpv6 => f.write_str("icmpv6"),
            RuleProto::All => f.write_str("all"),
            RuleProto::Number(n) => write!(f, "proto {n}"),
        }
    }
}

/// An inclusive destination-port range.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PortRange {
    pub first: u16,
    pub last: u16,
}

impl PortRange {
    pub const ALL: PortRange = PortRange {
        first: 0,
        last: 65535,
    };

    pub fn contains(self, port: u16) -> bool {
        self.first <= port && port <= self.last
    }
}

impl fmt::Display for PortRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.first == self.last {
            write!(f, "{}", self.first)
        } else {
            write!(f, "{}-{}", self.first, self.last)
        }
    }
}

/// Who a security-group rule admits (`from`) or lets out to (`to`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Peer {
    Cidr(IpNet),
    /// The addresses of every host that carries this group.
    Group(SecurityGroupId),
}

#[derive(Clone, Debug)]
pub struct SgRule {
    pub proto: RuleProto,
    /// `None`: all ports (also for protocols without ports).
    pub ports: Option<PortRange>,
    pub icmp_type: Option<u8>,
    pub icmp_code: Option<u8>,
    pub peer: Peer,
    pub description: Option<String>,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub struct SecurityGroup {
    pub name: Sp<String>,
    pub inbound: Vec<SgRule>,
    /// `None` when the file omits `outbound` (everything may go out);
    /// `Some(vec![])` when it says `outbound: []` (nothing new goes out).
    pub outbound: Option<Vec<SgRule>>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NaclAction {
    Allow,
    Deny,
}

#[derive(Clone, Debug)]
pub struct NaclRule {
    /// 1 ..= 32766, unique within its direction.
    pub number: u16,
    pub action: NaclAction,
    pub proto: RuleProto,
    pub ports: Option<PortRange>,
    pub icmp_type: Option<u8>,
    pub icmp_code: Option<u8>,
    pub cidr: IpNet,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub struct Nacl {
    pub name: Sp<String>,
    /// Sorted by rule number.
    pub inbound: Vec<NaclRule>,
    /// Sorted by rule number.
    pub outbound: Vec<NaclRule>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CheckProto {
    Tcp,
    Udp,
    Icmp,
}

impl CheckProto {
    pub fn code(self) -> &'static str {
        match self {
            CheckProto::Tcp => "tcp",
            CheckProto::Udp => "udp",
            CheckProto::Icmp => "icmp",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Family {
    Ipv4,
    Ipv6,
}

impl Family {
    pub fn code(self) -> &'static str {
        match self {
            Family::Ipv4 => "ipv4",
            Family::Ipv6 => "ipv6",
        }
    }
}

/// What a check expects, and what it observed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Outcome {
    Allow,
    Deny,
    Refused,
}

impl Outcome {
    pub fn code(self) -> &'static str {
        match self {
            Outcome::Allow => "allow",
            Outcome::Deny => "deny",
            Outcome::Refused => "refused",
        }
    }
}

/// Why an exchange ended the way it did. The codes are part of the lab
/// format (`reason:` in checks) and of every report; never rename one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Reason {
    Delivered,
    Refused,
    NoRoute,
    Blackhole,
    TtlExceeded,
    HostUnreachable,
    SgInbound,
    SgOutbound,
    NaclInbound,
    NaclOutbound,
    Timeout,
    /// The name in `to` did not resolve to an address of the check's family.
    Dns,
    /// `ssh` checks: a host of the chain has no `app: ssh` service.
    NoSshd,
    /// `ssh` checks: the user is not among the host's `ssh.hosts` users.
    KeyNotAuthorized,
    /// `ssh` checks: the user has no key, and no password login either.
    NoKey,
    /// `ssh` checks: only a password could log in, and the user or the
    /// host does not allow password logins.
    PasswordRefused,
    /// A packet crossed a NAT router's boundary with no translation for it
    /// (an inside address reached from outside, or sent out untranslated).
    NatUnmapped,
    /// Source NAT had no free address and port left for a new flow.
    NatPortsExhausted,
}

impl Reason {
    pub const ALL: [Reason; 18] = [
        Reason::Delivered,
        Reason::Refused,
        Reason::NoRoute,
        Reason::Blackhole,
        Reason::TtlExceeded,
        Reason::HostUnreachable,
        Reason::SgInbound,
        Reason::SgOutbound,
        Reason::NaclInbound,
        Reason::NaclOutbound,
        Reason::Timeout,
        Reason::Dns,
        Reason::NoSshd,
        Reason::KeyNotAuthorized,
        Reason::NoKey,
        Reason::PasswordRefused,
        Reason::NatUnmapped,
        Reason::NatPortsExhausted,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Reason::Delivered => "delivered",
            Reason::Refused => "refused",
            Reason::NoRoute => "no-route",
            Reason::Blackhole => "blackhole",
            Reason::TtlExceeded => "ttl-exceeded",
            Reason::HostUnreachable => "host-unreachable",
            Reason::SgInbound => "sg-inbound",
            Reason::SgOutbound => "sg-outbound",
            Reason::NaclInbound => "nacl-inbound",
            Reason::NaclOutbound => "nacl-outbound",
            Reason::Timeout => "timeout",
            Reason::Dns => "dns",
            Reason::NoSshd => "no-sshd",
            Reason::KeyNotAuthorized => "key-not-authorized",
            Reason::NoKey => "no-key",
            Reason::PasswordRefused => "password-refused",
            Reason::NatUnmapped => "nat-unmapped",
            Reason::NatPortsExhausted => "nat-ports-exhausted",
        }
    }

    pub fn from_code(code: &str) -> Option<Reason> {
        Reason::ALL.into_iter().find(|r| r.code() == code)
    }

    /// The reasons only an `ssh` check can observe (logins, not packets).
    pub fn is_ssh_only(self) -> bool {
        matches!(
            self,
            Reason::NoSshd | Reason::KeyNotAuthorized | Reason::NoKey | Reason::PasswordRefused
        )
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// The destination of a check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CheckTarget {
    Host(HostId),
    Address(IpAddr),
    /// A DNS name (absolute, with the trailing dot), looked up by the
    /// `from` host through its resolver before the probe starts.
    Name(String),
}

#[derive(Clone, Debug)]
pub struct Check {
    pub name: Sp<String>,
    pub from: HostId,
    pub to: CheckTarget,
    pub proto: CheckProto,
    /// Required for tcp and udp, absent for icmp.
    pub port: Option<u16>,
    /// Resolved: the file's value, else the default rule of the format.
    pub family: Family,
    pub expect: Outcome,
    pub reason: Option<Reason>,
    pub via: Vec<RouterId>,
    pub points: u32,
    pub hint: Option<String>,
    /// Set for a check on a workload (`traffic: NAME` with
    /// `expect: { complete_within: .. }` or `{ goodput_at_least: .. }`):
    /// `from`, `to`, `proto`, `port` and `family` then come from the
    /// workload, and `expect` is `Allow`.
    pub flow: Option<FlowCheck>,
    /// Set for a `dns:` check: `to` is then the name, `proto` udp, `port`
    /// 53 and `expect` `Allow`.
    pub dns: Option<DnsCheck>,
    /// Set for an `http:` check: `to` is the URL's host, `proto` tcp,
    /// `port` the URL's and `expect` `Allow`.
    pub http: Option<HttpCheck>,
    /// Set for an `ssh:` check: `to` is then the last host of the chain,
    /// `proto` tcp and `port` its sshd's port.
    pub ssh: Option<SshCheck>,
    /// Set for an exhaustive check (`expect: { reachable_from: [...],
    /// nothing_else: true }`), answered by the analysis rather than by
    /// one probe: `to` is a host, `expect` `Allow`, and `from` (which such
    /// a check does not have) is set to `to`.
    pub reach: Option<ReachCheck>,
    /// The stage (index into [`Lab::stages`]) the check belongs to.
    pub stage: Option<usize>,
    /// When the probe starts (`at:`, an extension): the lab's events and
    /// routing protocols run from time zero until then. `None`: at time
    /// zero, or once routing has settled in a lab with dynamic routing.
    pub at_ns: Option<u64>,
    /// Set for a routing convergence check (`expect: { converged_within:
    /// 5s }`): `from` and `to` are placeholders (the first host) and are
    /// not used.
    pub convergence: Option<ConvergenceCheck>,
    pub span: Span,
}

/// What a convergence check asserts: the routing tables settle within
/// `within_ns` of the start and of every topology event (link or router
/// down or up), or only of the first such event at or after `after_ns`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConvergenceCheck {
    pub within_ns: u64,
    pub after_ns: Option<u64>,
}

/// A stage of a lab (`stages:`): its checks run only when every check of
/// the stages before it passes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stage {
    pub name: Sp<String>,
    pub title: Option<String>,
    pub description: Option<String>,
}

/// An exhaustive expectation: who reaches the check's `to`, `proto` and
/// `port` (see docs/lab-format.md, "Exhaustive checks").
#[derive(Clone, Debug, PartialEq)]
pub struct ReachCheck {
    /// Each of these must reach it: every member of a group, every
    /// address of a network or prefix.
    pub sources: Vec<Sp<ReachSource>>,
    /// No other host, and no other address of the lab's networks or of
    /// the outside, may reach it.
    pub nothing_else: bool,
}

/// A source named in `reachable_from`.
#[derive(Clone, Debug, PartialEq)]
pub enum ReachSource {
    Host(HostId),
    /// Every member of the group.
    Group(SecurityGroupId),
    /// Every address of the network (of the check's family).
    Network(NetworkId),
    /// Every address of the prefix.
    Prefix(IpNet),
    /// Every address outside the lab's networks.
    Internet,
}

/// What a check asserts about a workload's result.
#[derive(Clone, Debug, PartialEq)]
pub struct FlowCheck {
    pub traffic: TrafficId,
    /// The workload must complete within this time of its start.
    pub complete_within_ns: Option<u64>,
    /// Application bytes delivered / completion time, in bits per second.
    pub goodput_at_least_bps: Option<u64>,
}

pub type TrafficId = usize;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CongestionControl {
    /// RFC 9438, Linux's default.
    Cubic,
    /// RFC 5681 with RFC 6582 fast recovery.
    NewReno,
}

/// How a congestion window grows on an ACK (`tcp: { increase: ... }`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WindowIncrease {
    /// Count bytes acknowledged (RFC 3465 ABC with L = 2 SMSS in slow
    /// start, one SMSS per cwnd of bytes in congestion avoidance), as Linux.
    Bytes,
    /// Count ACKs: one SMSS per ACK in slow start and SMSS²/cwnd per ACK in
    /// NewReno's congestion avoidance, as ns-3.
    PerAck,
}

/// How a sender reduces its window on a loss found by duplicate ACKs or
/// SACK (`tcp: { recovery: ... }`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LossRecovery {
    /// The RFCs, as Linux: ssthresh from FlightSize without the limited
    /// transmit data (RFC 5681 §3.2), and RFC 6937 PRR with PRR-SSRB.
    Rfc,
    /// ns-3.44's model (for labs that mirror ns-3): NewReno's ssthresh is
    /// half the RFC 6675 pipe, CUBIC's β·cwnd; PRR's RecoverFS is pipe, a
    /// duplicate ACK delivers one SMSS more than it SACKs, and PRR-SSRB
    /// applies only on ACKs that advance SND.UNA; PRR's share is computed
    /// in 32-bit bytes as ns-3.44 does, wrap included; and the receiver
    /// acknowledges the first data segment at once (ns-3's quick ACK when
    /// the handshake completes).
    Ns3,
}

/// Which CUBIC congestion avoidance (`tcp: { cubic: ... }`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CubicVariant {
    /// RFC 9438 as written: cwnd follows W_cubic(t + SRTT) in fractions of
    /// a segment, the Reno-friendly W_est sets cwnd, HyStart++ (RFC 9406).
    Rfc9438,
    /// Linux's `tcp_cubic.c`: whole-segment targets from the minimum RTT,
    /// one segment per `cnt` segments acknowledged, the clamp of 20 and
    /// the Reno-friendly estimate that only bounds `cnt`, the original
    /// HyStart (ACK train and delay).
    Linux,
    /// ns-3.44's `TcpCubic`, the port of Linux's: the same update, with
    /// ns-3's HyStart thresholds and slow start.
    Ns3,
}

/// TCP behaviour of a host. Defaults follow Linux.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TcpSettings {
    pub congestion: CongestionControl,
    /// Which CUBIC, when `congestion` is CUBIC.
    pub cubic: CubicVariant,
    /// How cwnd grows per ACK.
    pub increase: WindowIncrease,
    /// How the window is reduced on a loss.
    pub recovery: LossRecovery,
    /// Lower bound of the retransmission timeout (Linux: 200 ms).
    pub min_rto_ns: u64,
    /// The retransmission timeout before the first RTT sample (RFC 6298
    /// §2.1: 1 s; ns-3's `ConnTimeout` is 3 s), for SYN and SYN-ACK above
    /// all.
    pub initial_rto_ns: u64,
    /// Delayed ACK timeout; `None`: every segment is acknowledged at once.
    /// Linux's delayed ACK is 40 ms at most.
    pub delayed_ack_ns: Option<u64>,
    pub nagle: bool,
    pub sack: bool,
    pub timestamps: bool,
    pub window_scaling: bool,
    /// Send the MSS option in SYN and SYN-ACK (RFC 9293 §3.7.1: SHOULD).
    /// `false` is ns-3's TCP, which sends none and, receiving none, uses
    /// its own segment size instead of RFC 9293's 536 bytes.
    pub mss_option: bool,
    /// Initial congestion window in segments (RFC 6928: 10).
    pub initial_window: u32,
    /// Receive buffer in bytes (the advertised window's upper bound).
    pub receive_buffer: u32,
    /// Send buffer in bytes.
    pub send_buffer: u32,
}

impl Default for TcpSettings {
    fn default() -> Self {
        TcpSettings {
            congestion: CongestionControl::Cubic,
            cubic: CubicVariant::Rfc9438,
            increase: WindowIncrease::Bytes,
            recovery: LossRecovery::Rfc,
            min_rto_ns: 200_000_000,
            initial_rto_ns: 1_000_000_000,
            delayed_ack_ns: Some(40_000_000),
            nagle: true,
            sack: true,
            timestamps: true,
            window_scaling: true,
            mss_option: true,
            initial_window: 10,
            receive_buffer: 4 << 20,
            send_buffer: 4 << 20,
        }
    }
}

/// A workload of `traffic:`.
#[derive(Clone, Debug)]
pub struct Traffic {
    pub name: Sp<String>,
    pub from: HostId,
    pub to: CheckTarget,
    /// Resolved like a check's family.
    pub family: Family,
    /// Destination port (TCP and UDP workloads).
    pub port: Option<u16>,
    /// Start time from the beginning of the run.
    pub start_ns: u64,
    pub kind: Workload,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Workload {
    /// One TCP connection that sends `bytes` and closes (`bulk: 10MB`).
    Bulk { bytes: u64 },
    /// One TCP connection, `count` request/response exchanges, `think`
    /// between a response and the next request.
    Requests {
        count: u32,
        request_bytes: u32,
        response_bytes: u32,
        think_ns: u64,
    },
    /// ICMP echo requests (`ping:`).
    Ping {
        count: u32,
        interval_ns: u64,
        payload_bytes: u32,
    },
    /// UDP datagrams at `rate_bps` while on, nothing while off, until
    /// `duration` from the start (`onoff:`).
    OnOff {
        rate_bps: u64,
        on_ns: u64,
        off_ns: u64,
        packet_bytes: u32,
        duration_ns: u64,
    },
}

/// A timed change of `events:`.
#[derive(Clone, Debug)]
pub struct LabEvent {
    pub at_ns: u64,
    pub action: EventAction,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub enum EventAction {
    LinkDown(NetworkId),
    LinkUp(NetworkId),
    /// A router stops (forwards nothing, says nothing, forgets its
    /// dynamic routes) or starts again.
    RouterDown(RouterId),
    RouterUp(RouterId),
    /// New properties of a segment (the file's keys applied over the
    /// segment's current ones).
    LinkSet(NetworkId, LinkProps),
    SgRuleAdd {
        group: SecurityGroupId,
        inbound: bool,
        rule: SgRule,
    },
    /// Removes the rule equal to the one written (AWS revoke semantics);
    /// `index` is its position in the group's list at that time.
    SgRuleRemove {
        group: SecurityGroupId,
        inbound: bool,
        index: usize,
    },
    NaclRuleAdd {
        nacl: NaclId,
        inbound: bool,
        rule: NaclRule,
    },
    NaclRuleRemove {
        nacl: NaclId,
        inbound: bool,
        number: u16,
    },
}

impl Lab {
    pub fn network_by_name(&self, name: &str) -> Option<NetworkId> {
        self.networks.iter().position(|n| n.name.value == name)
    }
    pub fn host_by_name(&self, name: &str) -> Option<HostId> {
        self.hosts.iter().position(|h| h.name.value == name)
    }
    pub fn router_by_name(&self, name: &str) -> Option<RouterId> {
        self.routers.iter().position(|r| r.name.value == name)
    }
}

/// `dns:`: the zones of the lab, who serves them, and where resolvers
/// start. Absent means an empty section.
#[derive(Clone, Debug, Default)]
pub struct Dns {
    /// Declared zones in file order, then the synthesized root and TLD
    /// zones (see docs/lab-format.md, "DNS").
    pub zones: Vec<DnsZone>,
    /// The addresses recursive resolvers start from: `root_hints:` as
    /// written, else the servers of the root zone.
    pub root_hints: Vec<IpAddr>,
}

/// One zone and the hosts that answer for it authoritatively.
#[derive(Clone, Debug)]
pub struct DnsZone {
    /// Absolute and lowercase, with the trailing dot: `example.com.`.
    pub origin: String,
    pub zone: std::sync::Arc<wirelab_dns::zone::Zone>,
    pub servers: Vec<HostId>,
    /// A private hosted zone answers only queries from these networks;
    /// empty for a public zone.
    pub private_to: Vec<NetworkId>,
    /// Made by wirelab above the declared zones, not written by the author.
    pub synthesized: bool,
    pub span: Span,
}

/// What a `dns` check asserts about a lookup.
#[derive(Clone, Debug, PartialEq)]
pub struct DnsCheck {
    /// Absolute, with the trailing dot.
    pub name: String,
    /// The record type asked for, upper case (`A`, `MX`, ...).
    pub rtype: String,
    pub expect: DnsExpect,
    /// The name is looked up twice and the second answer must come from
    /// the resolver's cache (no query leaves the resolver).
    pub cached: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub enum DnsExpect {
    /// NOERROR with at least one record of the type asked for.
    Resolves,
    /// NOERROR whose records of the type asked for are exactly these
    /// (presentation format, compared as a set).
    Answers(Vec<String>),
    Nxdomain,
    /// NOERROR without a record of the type asked for.
    Nodata,
    Servfail,
    Refused,
    /// No answer at all: every attempt of the stub timed out.
    Timeout,
    /// Anything but [`DnsExpect::Resolves`].
    Fail,
}

impl DnsExpect {
    pub fn code(&self) -> &'static str {
        match self {
            DnsExpect::Resolves => "resolves",
            DnsExpect::Answers(_) => "answers",
            DnsExpect::Nxdomain => "nxdomain",
            DnsExpect::Nodata => "nodata",
            DnsExpect::Servfail => "servfail",
            DnsExpect::Refused => "refused",
            DnsExpect::Timeout => "timeout",
            DnsExpect::Fail => "fail",
        }
    }
}

/// What an `app: http` or `app: https` service does with a request.
#[derive(Clone, Debug, PartialEq)]
pub struct HttpService {
    /// Set for `app: https`: the TLS handshake before the request.
    pub tls: Option<TlsServer>,
    /// Taken in order; the first whose path prefixes the request's wins.
    pub routes: Vec<HttpRoute>,
    /// What a request no route matches gets.
    pub default: HttpAction,
    /// How long a proxy waits for its upstream before answering 504.
    pub timeout_ns: u64,
    /// Processing time before the response (or the upstream request).
    pub delay_ns: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TlsVersion {
    /// Two round trips before the request (RFC 5246).
    V1_2,
    /// One round trip before the request (RFC 8446).
    V1_3,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TlsServer {
    pub version: TlsVersion,
    /// The certificate the server presents; `None`: a self-signed one for
    /// the host's own name, which no client trusts.
    pub certificate: Option<CertificateId>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct HttpRoute {
    /// A path prefix, starting with `/`.
    pub path: String,
    pub action: HttpAction,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum HttpAction {
    /// Answers itself.
    Respond {
        status: u16,
        body_bytes: u64,
        /// The body's text when the author wrote one (`body_bytes` is its
        /// length then).
        text: Option<String>,
    },
    /// Forwards the request to another service (a reverse proxy) and
    /// answers with what it answers: 502 when it cannot be reached, 504
    /// when it does not answer within `timeout`.
    Proxy { host: HostId, port: u16 },
}

pub type AuthorityId = usize;
pub type CertificateId = usize;

/// `tls:`: certificate authorities, certificates, what clients trust, and
/// the date certificates are checked against.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Tls {
    /// Days since 1970-01-01 of the lab's "today" (`date:`).
    pub date_days: i64,
    pub authorities: Vec<Sp<String>>,
    pub certificates: Vec<Certificate>,
    /// Authorities every host trusts (a host's `trust:` adds to these).
    pub trusted: Vec<AuthorityId>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Certificate {
    pub name: Sp<String>,
    /// DNS names (lowercase, no final dot); `*.example.com` matches one
    /// label (RFC 6125 §6.4.3).
    pub names: Vec<String>,
    /// `None`: self-signed.
    pub issuer: Option<AuthorityId>,
    pub not_before_days: i64,
    pub not_after_days: i64,
}

/// What an `http` check asserts about one request.
#[derive(Clone, Debug, PartialEq)]
pub struct HttpCheck {
    pub url: Url,
    pub expect: HttpExpect,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Url {
    pub https: bool,
    /// A host name of the lab, an address, or a DNS name (with its dot).
    pub host: String,
    pub port: u16,
    pub path: String,
}

impl fmt::Display for Url {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = if self.https { "https" } else { "http" };
        let default = if self.https { 443 } else { 80 };
        let host = self.host.trim_end_matches('.');
        let host = if host.contains(':') {
            format!("[{host}]")
        } else {
            host.to_string()
        };
        if self.port == default {
            write!(f, "{scheme}://{host}{}", self.path)
        } else {
            write!(f, "{scheme}://{host}:{}{}", self.port, self.path)
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct HttpExpect {
    pub status: Option<u16>,
    pub body_at_least: Option<u64>,
    pub contains: Option<String>,
    /// The whole request, name lookup to last byte, within this time.
    pub within_ns: Option<u64>,
    /// The request fails this way (curl's words), instead of a status.
    pub error: Option<HttpError>,
}

/// Why a request got no HTTP response, as curl reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HttpError {
    /// curl 6: could not resolve host.
    Resolve,
    /// curl 7: connection refused (a RST).
    Refused,
    /// curl 7/28: no connection (dropped, unreachable, timed out).
    Connect,
    /// curl 60: no certificate name matches the host.
    TlsName,
    /// curl 60: the issuer is not trusted.
    TlsIssuer,
    /// curl 60: the certificate has expired (or is not yet valid).
    TlsExpired,
    /// curl 28: no response in time.
    Timeout,
    /// curl 35/52: the server does not speak what the client does (TLS to
    /// a plain port, HTTP to a database) and closes without an answer.
    Protocol,
}

impl HttpError {
    pub const ALL: [HttpError; 8] = [
        HttpError::Resolve,
        HttpError::Refused,
        HttpError::Connect,
        HttpError::TlsName,
        HttpError::TlsIssuer,
        HttpError::TlsExpired,
        HttpError::Timeout,
        HttpError::Protocol,
    ];

    pub fn code(self) -> &'static str {
        match self {
            HttpError::Resolve => "resolve",
            HttpError::Refused => "refused",
            HttpError::Connect => "connect",
            HttpError::TlsName => "tls-name",
            HttpError::TlsIssuer => "tls-issuer",
            HttpError::TlsExpired => "tls-expired",
            HttpError::Timeout => "timeout",
            HttpError::Protocol => "protocol",
        }
    }
}
pub type SshUserId = usize;

/// `ssh:`: the people who log in, their public keys, and which hosts
/// let whom in. Absent means an empty section: nobody may log in anywhere.
#[derive(Clone, Debug, Default)]
pub struct Ssh {
    /// In file order.
    pub users: Vec<SshUser>,
    /// One per host of the lab, indexed by [`HostId`]: its sshd, if it has
    /// an `app: ssh` service.
    pub servers: Vec<Option<Sshd>>,
    /// `ssh.gateway.from`: the host where `wirelab ssh-gateway`'s
    /// connections enter the simulated network, if the lab names one.
    pub gateway_from: Option<HostId>,
}

impl Ssh {
    pub fn user_by_name(&self, name: &str) -> Option<SshUserId> {
        self.users.iter().position(|u| u.name.value == name)
    }

    /// The sshd of a host, if it runs one.
    pub fn sshd(&self, host: HostId) -> Option<&Sshd> {
        self.servers.get(host).and_then(Option::as_ref)
    }
}

/// A user of `ssh.users`.
#[derive(Clone, Debug)]
pub struct SshUser {
    /// A login name: `[a-z_][a-z0-9_-]*`, at most 32 characters.
    pub name: Sp<String>,
    /// Her public keys; every one of them is in her `authorized_keys` on
    /// every host that lists her.
    pub keys: Vec<SshPublicKey>,
    /// She has a password, and may use it where a host allows passwords.
    pub password: bool,
}

/// A validated OpenSSH public key (`ssh-ed25519 AAAA... comment`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SshPublicKey {
    /// The algorithm name as OpenSSH shows it in `ssh-keygen -l`: `ED25519`,
    /// `ECDSA`, `RSA`.
    pub kind: &'static str,
    /// Key size in bits (256 for ED25519, the curve size for ECDSA, the
    /// modulus size for RSA).
    pub bits: u32,
    /// `SHA256:` and the unpadded base64 of the SHA-256 of the key blob,
    /// exactly as `ssh-keygen -l` prints it.
    pub fingerprint: String,
    /// The comment after the key (often `user@machine`); may be empty.
    pub comment: String,
    pub span: Span,
}

impl fmt::Display for SshPublicKey {
    /// `ED25519 key SHA256:Lrkw...` as OpenSSH logs it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} key {}", self.kind, self.fingerprint)
    }
}

/// The sshd of a host.
#[derive(Clone, Debug)]
pub struct Sshd {
    /// The port of the host's `app: ssh` service.
    pub port: u16,
    /// Who may log in (`ssh.hosts.H.users`): accounts that exist on the
    /// host, with their keys in `authorized_keys`. Empty when the host is
    /// not under `ssh.hosts`.
    pub users: Vec<SshUserId>,
    /// `PasswordAuthentication yes` (`password_auth: true`); off by default.
    pub password_auth: bool,
}

/// How a login may authenticate (`auth:` of an ssh check).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SshAuth {
    /// A key first, then a password, as OpenSSH's client tries them.
    Any,
    /// Keys only (`ssh -o PasswordAuthentication=no`).
    Key,
    /// A password only (`ssh -o PubkeyAuthentication=no`).
    Password,
}

impl SshAuth {
    pub fn code(self) -> &'static str {
        match self {
            SshAuth::Any => "any",
            SshAuth::Key => "key",
            SshAuth::Password => "password",
        }
    }
}

/// One login of an ssh check's chain: this user to this host.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SshHop {
    pub user: SshUserId,
    pub host: HostId,
}

/// What an `ssh:` check does: log in through every jump host in turn
/// (ProxyJump), then to the target.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SshCheck {
    /// The jump hosts in order, then the target; never empty.
    pub hops: Vec<SshHop>,
    pub auth: SshAuth,
}
