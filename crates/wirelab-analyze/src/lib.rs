//! wirelab-analyze: what the lab's configuration lets through, computed
//! from the compiled network alone (no simulation, no sampling).
//!
//! [`reach`] answers "which packets from host A does host B get, and does
//! the reply come back?" per address family and protocol, as exact port
//! sets. The port space is cut into *atoms*: the ranges between every
//! boundary any security-group or NACL rule of the lab names. Every rule
//! matches either all of an atom or none of it, so evaluating one port per
//! atom with wirelab-net's own matchers decides the whole atom — the
//! answer is exact and costs (number of atoms × filters on the path).
//!
//! The semantics follow docs/semantics.md: hosts route by their default
//! gateway, routers by longest-prefix match; a router applies the NACL of
//! the network a packet leaves (outbound rules) and of the network it
//! enters (inbound rules); the source host's security groups decide the
//! new flow going out and the destination's coming in; replies of an
//! allowed flow pass both hosts' security groups (connection tracking) but
//! cross every NACL on their way back like any other packet, addressed to
//! the client's ephemeral port ([`EPHEMERAL`]).

pub mod addrs;
pub mod diff;
mod exposure;
mod fast;
pub mod lint;
mod matrix;
mod portset;
mod space;

pub use exposure::PublicPorts;
pub use matrix::Matrix;
pub use portset::PortSet;
pub use space::{named_prefixes, Exposure, Origin, OutsideReach, SourceReach};

use std::collections::BTreeSet;
use std::net::IpAddr;

use wirelab_net::{Direction, Header, NaclVerdict, Network, NextHop, NodeId, SegmentId};
use wirelab_spec::{Family, HostId, NaclAction, RuleProto, SgRule};

/// The source ports the simulator's clients take (wirelab-sim draws them
/// from 49152..=65535, the IANA dynamic range, RFC 6335 §6). A reply must
/// pass the NACLs on its way back for every one of them.
pub const EPHEMERAL: (u16, u16) = (49152, 65535);

/// Routers a packet may cross before the analysis calls it a loop (the
/// simulator's hosts send with TTL 64).
const MAX_HOPS: usize = 64;

/// The protocols analysed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Proto {
    Tcp,
    Udp,
    /// ICMP echo (ICMPv6 echo over IPv6): a ping and its reply.
    Icmp,
}

impl Proto {
    pub const ALL: [Proto; 3] = [Proto::Tcp, Proto::Udp, Proto::Icmp];

    pub fn code(self) -> &'static str {
        match self {
            Proto::Tcp => "tcp",
            Proto::Udp => "udp",
            Proto::Icmp => "icmp",
        }
    }

    fn number(self, family: Family) -> u8 {
        match (self, family) {
            (Proto::Tcp, _) => 6,
            (Proto::Udp, _) => 17,
            (Proto::Icmp, Family::Ipv4) => 1,
            (Proto::Icmp, Family::Ipv6) => 58,
        }
    }

    /// Echo request and echo reply types of the family.
    fn echo(family: Family) -> (u8, u8) {
        match family {
            Family::Ipv4 => (8, 0),
            Family::Ipv6 => (128, 129),
        }
    }
}

/// Which way a packet goes in the exchange.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Leg {
    Request,
    Reply,
}

impl Leg {
    pub fn code(self) -> &'static str {
        match self {
            Leg::Request => "request",
            Leg::Reply => "reply",
        }
    }
}

/// Why routing does not get a packet to its destination.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RouteBlock {
    /// `node` has no route to the destination.
    NoRoute { node: String, dst: IpAddr },
    /// `node` routes the destination into a blackhole.
    Blackhole {
        node: String,
        prefix: String,
        line: Option<u32>,
    },
    /// The next hop is no address on the link (nothing answers ARP/ND), or
    /// it is a host, which does not forward.
    NextHopUnreachable { node: String, next_hop: IpAddr },
    /// The packet comes back to a router it already crossed on the same
    /// interface, or crosses more than 64 routers.
    Loop { routers: Vec<String> },
    /// A network's addresses have no router to send through: no host of
    /// it names a gateway and it has no single router.
    NoGateway { network: String },
    /// No route of the lab leads outside toward the source, so the lab
    /// has no way in for it (and no way back).
    NoWayIn,
}

impl RouteBlock {
    /// The explanation word of `wirelab check`/`trace`.
    pub fn code(&self) -> &'static str {
        match self {
            RouteBlock::NoRoute { .. } => "no-route",
            RouteBlock::Blackhole { .. } => "blackhole",
            RouteBlock::NextHopUnreachable { .. } => "host-unreachable",
            RouteBlock::Loop { .. } => "ttl-exceeded",
            RouteBlock::NoGateway { .. } | RouteBlock::NoWayIn => "no-route",
        }
    }
}

impl std::fmt::Display for RouteBlock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RouteBlock::NoRoute { node, dst } => write!(f, "{node} has no route to {dst}"),
            RouteBlock::Blackhole { node, prefix, line } => {
                write!(f, "{node} routes {prefix} into a blackhole")?;
                if let Some(l) = line {
                    write!(f, " (line {l})")?;
                }
                Ok(())
            }
            RouteBlock::NextHopUnreachable { node, next_hop } => write!(
                f,
                "{node}'s next hop {next_hop} is no router on its network"
            ),
            RouteBlock::Loop { routers } => {
                write!(f, "routing loop through {}", routers.join(" → "))
            }
            RouteBlock::NoGateway { network } => {
                write!(f, "network {network} has no gateway router to send through")
            }
            RouteBlock::NoWayIn => write!(
                f,
                "no route of the lab leads out toward these addresses, so they have no way in"
            ),
        }
    }
}

/// One component that drops some of the packets (or replies).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Block {
    /// Routing fails: nothing of the protocol gets through.
    Route { leg: Leg, why: RouteBlock },
    /// A host's security groups admit no new flow for these ports.
    SecurityGroup {
        direction: Direction,
        host: String,
        /// The host's groups, by name.
        groups: Vec<String>,
        /// What the groups allow in that direction, one rule a line
        /// (`tcp 5432 from app-sg`).
        allows: Vec<String>,
        ports: PortSet,
    },
    /// A NACL rule (or its final `*` rule) denies these ports. On the
    /// reply leg the ports are the client's ephemeral ports.
    Nacl {
        leg: Leg,
        direction: Direction,
        nacl: String,
        network: String,
        /// `None`: no rule matched (the `*` rule).
        rule: Option<u16>,
        line: Option<u32>,
        ports: PortSet,
    },
}

impl Block {
    /// The explanation word of `wirelab check`/`trace` for this drop.
    pub fn code(&self) -> &'static str {
        match self {
            Block::Route { why, .. } => why.code(),
            Block::SecurityGroup { direction, .. } => match direction {
                Direction::Inbound => "sg-inbound",
                Direction::Outbound => "sg-outbound",
            },
            Block::Nacl { direction, .. } => match direction {
                Direction::Inbound => "nacl-inbound",
                Direction::Outbound => "nacl-outbound",
            },
        }
    }
}

/// One protocol's answer for one family.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProtoReach {
    pub proto: Proto,
    /// Destination ports (TCP, UDP) whose request is delivered and whose
    /// reply gets back. For ICMP: the echo request type when a ping and
    /// its reply get through, else empty.
    pub reachable: PortSet,
    /// Destination ports whose request is delivered, reply or not.
    pub delivered: PortSet,
    /// Every component that drops something, request leg first.
    pub blocks: Vec<Block>,
    /// For ICMP: every message, as `type × 256 + code`, that is delivered
    /// one way as a new packet (the sender's groups, the NACLs on the way
    /// and the receiver's groups let it through; no reply asked, and not
    /// as an error related to a tracked flow). Empty for TCP and UDP.
    pub messages: PortSet,
}

/// The answer for one address family.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FamilyReach {
    pub family: Family,
    pub src: IpAddr,
    pub dst: IpAddr,
    /// Routers the request crosses, in order (empty when routing fails or
    /// both hosts share a network).
    pub path: Vec<String>,
    /// Routers the reply crosses, in order.
    pub reply_path: Vec<String>,
    /// For a source outside the lab: the network its packets come in by.
    pub entry: Option<String>,
    pub protos: Vec<ProtoReach>,
}

/// Everything host `from` can get to host `to`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reach {
    pub from: HostId,
    pub to: HostId,
    /// One entry per family both hosts have an address of (IPv4 first).
    pub families: Vec<FamilyReach>,
}

impl Reach {
    /// The union over families of what `proto` reaches.
    pub fn reachable(&self, proto: Proto) -> PortSet {
        self.families
            .iter()
            .flat_map(|f| f.protos.iter())
            .filter(|p| p.proto == proto)
            .fold(PortSet::empty(), |acc, p| acc.union(&p.reachable))
    }

    pub fn anything(&self) -> bool {
        Proto::ALL.iter().any(|&p| !self.reachable(p).is_empty())
    }
}

/// The analysis of one lab: the compiled network and the atoms of its
/// port space.
pub struct Analyzer<'n> {
    net: &'n Network,
    /// Sorted starts of the atoms (the first is 0).
    atoms: Vec<u16>,
    /// Sorted starts of the atoms of the ICMP message space (`type × 256 +
    /// code`), cut at every type and code an ICMP rule names.
    icmp_atoms: Vec<u16>,
    /// Sorted starts of the pieces of the address space, IPv4 and IPv6.
    addr_cuts: [Vec<u128>; 2],
    /// Whether blocks carry the rule texts (`allows`) that explain them.
    explain: bool,
    /// The classes of equivalent hosts and the prefix cuts, made once
    /// when first asked for.
    classes: std::cell::OnceCell<(Vec<usize>, [Vec<u128>; 2])>,
}

/// A walk of routing from a node to an address.
struct Walk {
    routers: Vec<NodeId>,
    /// The NACL crossings in order: the network and which of its lists.
    crossings: Vec<(SegmentId, Direction)>,
    /// Where the packet leaves the lab, for a walk to an outside address:
    /// the router and the network its next hop (outside the lab) is on.
    exit: Option<(NodeId, SegmentId)>,
}

impl Walk {
    /// No router crossed: both ends share a network.
    fn direct() -> Walk {
        Walk {
            routers: Vec::new(),
            crossings: Vec::new(),
            exit: None,
        }
    }
}

/// Where a walk must end to deliver its packet.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Arrive {
    /// The node that owns the destination address (a host).
    Host,
    /// Anywhere on this network (an address of a network source).
    Segment(SegmentId),
    /// Out of the lab: a router's next hop is an address no node of the
    /// lab has (the gateway of the outside world).
    Outside,
}

impl<'n> Analyzer<'n> {
    pub fn new(net: &'n Network) -> Analyzer<'n> {
        let lab = &net.lab;
        let mut cuts: BTreeSet<u16> = BTreeSet::new();
        cuts.insert(0);
        cuts.insert(EPHEMERAL.0);
        let mut add = |ports: Option<wirelab_spec::PortRange>| {
            if let Some(r) = ports {
                cuts.insert(r.first);
                if let Some(next) = r.last.checked_add(1) {
                    cuts.insert(next);
                }
            }
        };
        for g in &lab.security_groups {
            for r in g.inbound.iter().chain(g.outbound.iter().flatten()) {
                add(r.ports);
            }
        }
        for n in &lab.nacls {
            for r in n.inbound.iter().chain(&n.outbound) {
                add(r.ports);
            }
        }
        let mut icmp: BTreeSet<u16> = BTreeSet::from([0]);
        let rules = lab
            .security_groups
            .iter()
            .flat_map(|g| g.inbound.iter().chain(g.outbound.iter().flatten()))
            .map(|r| (r.icmp_type, r.icmp_code))
            .chain(
                lab.nacls
                    .iter()
                    .flat_map(|n| n.inbound.iter().chain(&n.outbound))
                    .map(|r| (r.icmp_type, r.icmp_code)),
            );
        for (t, c) in rules {
            let (first, last) = icmp_messages_of(t, c);
            icmp.insert(first);
            if let Some(next) = last.checked_add(1) {
                icmp.insert(next);
            }
        }
        Analyzer {
            net,
            atoms: cuts.into_iter().collect(),
            icmp_atoms: icmp.into_iter().collect(),
            addr_cuts: space::address_cuts(net),
            explain: true,
            classes: std::cell::OnceCell::new(),
        }
    }

    /// An analyzer whose security-group blocks leave `allows` empty: the
    /// same answers, for bulk questions (the matrix) that print no
    /// explanation.
    pub fn without_explanations(net: &'n Network) -> Analyzer<'n> {
        Analyzer {
            explain: false,
            ..Analyzer::new(net)
        }
    }

    /// This analyzer with every ICMP message its own atom: the reference
    /// the atoms are tested against (slow: 65,536 messages a pair).
    #[doc(hidden)]
    pub fn every_icmp_message(self) -> Analyzer<'n> {
        Analyzer {
            icmp_atoms: (0..=u16::MAX).collect(),
            ..self
        }
    }

    pub fn network(&self) -> &'n Network {
        self.net
    }

    /// The atoms as `(first, last)` ranges.
    fn atom_ranges(&self) -> impl Iterator<Item = (u16, u16)> + '_ {
        self.atoms.iter().enumerate().map(|(i, &a)| {
            let last = self.atoms.get(i + 1).map_or(u16::MAX, |&n| n - 1);
            (a, last)
        })
    }

    /// Everything `from` can get to `to`, every family and protocol.
    pub fn reach(&self, from: HostId, to: HostId) -> Reach {
        let lab = &self.net.lab;
        let (a, b) = (&lab.hosts[from], &lab.hosts[to]);
        let mut families = Vec::new();
        let pairs = [
            (Family::Ipv4, a.ipv4.map(IpAddr::V4), b.ipv4.map(IpAddr::V4)),
            (Family::Ipv6, a.ipv6.map(IpAddr::V6), b.ipv6.map(IpAddr::V6)),
        ];
        for (family, src, dst) in pairs {
            if let (Some(src), Some(dst)) = (src, dst) {
                families.push(self.family(from, to, family, src, dst));
            }
        }
        Reach { from, to, families }
    }

    /// What host `from` gets to one address of the lab: a host's (as in
    /// [`Analyzer::reach`]) or a router's own, on any of its interfaces (a
    /// router has no security group; it answers pings, resets TCP and
    /// answers UDP with port unreachable, so a port counts when the
    /// request is delivered and the reply path is open, as for hosts).
    /// `None` when `from` has no address of the family, `dst` is its own
    /// or no node of the lab has it.
    pub fn reach_address(&self, from: HostId, dst: IpAddr) -> Option<FamilyReach> {
        let net = self.net;
        let node = net.ifaces[net.owner(dst)?].node;
        let host = &net.lab.hosts[from];
        let (family, src) = match dst {
            IpAddr::V4(_) => (Family::Ipv4, IpAddr::V4(host.ipv4?)),
            IpAddr::V6(_) => (Family::Ipv6, IpAddr::V6(host.ipv6?)),
        };
        if let Some(to) = net.host_of(node) {
            return (to != from).then(|| self.family(from, to, family, src, dst));
        }
        let there = self.walk(net.host_node(from), None, dst, Arrive::Host);
        let back = self.walk(node, None, src, Arrive::Host);
        Some(self.exchange(Some(from), None, family, src, dst, &there, &back))
    }

    fn family(
        &self,
        from: HostId,
        to: HostId,
        family: Family,
        src: IpAddr,
        dst: IpAddr,
    ) -> FamilyReach {
        let there = self.walk(self.net.host_node(from), None, dst, Arrive::Host);
        let back = self.walk(self.net.host_node(to), None, src, Arrive::Host);
        self.exchange(Some(from), Some(to), family, src, dst, &there, &back)
    }

    /// The answer for one request/reply exchange whose routing is known.
    /// `src_fw`: the host whose security groups filter the request going
    /// out (none for an address of a network or of the outside).
    #[allow(clippy::too_many_arguments)]
    fn exchange(
        &self,
        src_fw: Option<HostId>,
        dst_fw: Option<HostId>,
        family: Family,
        src: IpAddr,
        dst: IpAddr,
        there: &Result<Walk, RouteBlock>,
        back: &Result<Walk, RouteBlock>,
    ) -> FamilyReach {
        let names = |w: &Result<Walk, RouteBlock>| match w {
            Ok(w) => w
                .routers
                .iter()
                .map(|&n| self.net.nodes[n].name.clone())
                .collect(),
            Err(_) => Vec::new(),
        };
        let protos = Proto::ALL
            .iter()
            .map(|&proto| self.proto(src_fw, dst_fw, family, src, dst, proto, there, back))
            .collect();
        FamilyReach {
            family,
            src,
            dst,
            path: names(there),
            reply_path: names(back),
            entry: None,
            protos,
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn proto(
        &self,
        src_fw: Option<HostId>,
        dst_fw: Option<HostId>,
        family: Family,
        src: IpAddr,
        dst: IpAddr,
        proto: Proto,
        there: &Result<Walk, RouteBlock>,
        back: &Result<Walk, RouteBlock>,
    ) -> ProtoReach {
        let number = proto.number(family);
        let (echo_request, echo_reply) = Proto::echo(family);
        let request = |port: u16| Header {
            src,
            dst,
            proto: number,
            dst_port: if proto == Proto::Icmp { 0 } else { port },
            icmp_type: if proto == Proto::Icmp {
                echo_request
            } else {
                0
            },
            icmp_code: 0,
        };
        let reply = |port: u16| Header {
            src: dst,
            dst: src,
            proto: number,
            dst_port: if proto == Proto::Icmp { 0 } else { port },
            icmp_type: if proto == Proto::Icmp { echo_reply } else { 0 },
            icmp_code: 0,
        };
        // The request space: every destination port, or the one echo type
        // for ICMP (carried as a one-port set).
        let request_space = match proto {
            Proto::Icmp => PortSet::single(u16::from(echo_request)),
            _ => PortSet::full(),
        };
        let reply_space = match proto {
            Proto::Icmp => PortSet::single(u16::from(echo_reply)),
            _ => PortSet::range(EPHEMERAL.0, EPHEMERAL.1),
        };
        let mut blocks = Vec::new();
        let mut delivered = request_space.clone();

        // The request: source security groups, NACLs on the way, the
        // destination's security groups.
        if let Some((from, fw)) =
            src_fw.and_then(|h| self.net.firewalls[h].as_ref().map(|fw| (h, fw)))
        {
            let denied = self.denied_by(&request_space, &request, |h| {
                !matches!(
                    fw.evaluate(Direction::Outbound, h),
                    wirelab_net::SgVerdict::Denied
                )
            });
            if !denied.is_empty() {
                blocks.push(self.sg_block(
                    from,
                    Direction::Outbound,
                    proto,
                    family,
                    denied.clone(),
                ));
                delivered = delivered.difference(&denied);
            }
        }
        match there {
            Err(why) => {
                blocks.push(Block::Route {
                    leg: Leg::Request,
                    why: why.clone(),
                });
                delivered = PortSet::empty();
            }
            Ok(walk) => {
                for &(seg, dir) in &walk.crossings {
                    let lost = self.nacl_blocks(
                        seg,
                        dir,
                        Leg::Request,
                        &request_space,
                        &request,
                        &mut blocks,
                    );
                    delivered = delivered.difference(&lost);
                }
            }
        }
        if let Some((to, fw)) =
            dst_fw.and_then(|h| self.net.firewalls[h].as_ref().map(|fw| (h, fw)))
        {
            let denied = self.denied_by(&request_space, &request, |h| {
                !matches!(
                    fw.evaluate(Direction::Inbound, h),
                    wirelab_net::SgVerdict::Denied
                )
            });
            if !denied.is_empty() {
                blocks.push(self.sg_block(to, Direction::Inbound, proto, family, denied.clone()));
                delivered = delivered.difference(&denied);
            }
        }

        // The reply: tracked by both hosts' groups, but every NACL on its
        // way back must let it through, for every ephemeral port.
        let mut reply_ok = true;
        match back {
            Err(why) => {
                blocks.push(Block::Route {
                    leg: Leg::Reply,
                    why: why.clone(),
                });
                reply_ok = false;
            }
            Ok(walk) => {
                for &(seg, dir) in &walk.crossings {
                    let lost =
                        self.nacl_blocks(seg, dir, Leg::Reply, &reply_space, &reply, &mut blocks);
                    if !lost.is_empty() {
                        reply_ok = false;
                    }
                }
            }
        }
        let reachable = if reply_ok {
            delivered.clone()
        } else {
            PortSet::empty()
        };
        let messages = match (proto, there) {
            (Proto::Icmp, Ok(walk)) => self.icmp_messages(src_fw, dst_fw, family, src, dst, walk),
            _ => PortSet::empty(),
        };
        ProtoReach {
            proto,
            reachable,
            delivered,
            blocks,
            messages,
        }
    }

    /// The ICMP messages (`type × 256 + code`) that the request leg's
    /// filters let through, one atom of the message space at a time.
    fn icmp_messages(
        &self,
        src_fw: Option<HostId>,
        dst_fw: Option<HostId>,
        family: Family,
        src: IpAddr,
        dst: IpAddr,
        walk: &Walk,
    ) -> PortSet {
        let number = Proto::Icmp.number(family);
        let firewall = |h: Option<HostId>| h.and_then(|h| self.net.firewalls[h].as_ref());
        let (out_fw, in_fw) = (firewall(src_fw), firewall(dst_fw));
        let passes = |fw: Option<&wirelab_net::HostFirewall>, dir, h: &Header| {
            fw.is_none_or(|fw| !matches!(fw.evaluate(dir, h), wirelab_net::SgVerdict::Denied))
        };
        let mut out = Vec::new();
        for (i, &first) in self.icmp_atoms.iter().enumerate() {
            let last = self.icmp_atoms.get(i + 1).map_or(u16::MAX, |&n| n - 1);
            let h = Header {
                src,
                dst,
                proto: number,
                dst_port: 0,
                icmp_type: (first >> 8) as u8,
                icmp_code: first as u8,
            };
            let through_nacls = walk.crossings.iter().all(|&(seg, dir)| {
                self.net.segments[seg]
                    .nacl
                    .is_none_or(|n| self.net.nacls[n].evaluate(dir, &h).action == NaclAction::Allow)
            });
            if passes(out_fw, Direction::Outbound, &h)
                && through_nacls
                && passes(in_fw, Direction::Inbound, &h)
            {
                out.push((first, last));
            }
        }
        PortSet::from_ranges(out)
    }

    /// The ports of `space` that `allows` refuses, atom by atom.
    fn denied_by(
        &self,
        space: &PortSet,
        header: &dyn Fn(u16) -> Header,
        allows: impl Fn(&Header) -> bool,
    ) -> PortSet {
        let mut denied = Vec::new();
        let mut part = Vec::new();
        for (a, b) in self.atom_ranges() {
            atom_part(space, a, b, &mut part);
            if let Some(&(first, _)) = part.first() {
                if !allows(&header(first)) {
                    denied.extend_from_slice(&part);
                }
            }
        }
        PortSet::from_ranges(denied)
    }

    /// Evaluates one NACL crossing over `space`; pushes one block per rule
    /// that denies something and returns every port denied.
    fn nacl_blocks(
        &self,
        seg: SegmentId,
        dir: Direction,
        leg: Leg,
        space: &PortSet,
        header: &dyn Fn(u16) -> Header,
        blocks: &mut Vec<Block>,
    ) -> PortSet {
        let Some(nacl_id) = self.net.segments[seg].nacl else {
            return PortSet::empty();
        };
        let nacl = &self.net.nacls[nacl_id];
        // Denied ports grouped by the rule that decided, in rule order.
        let mut by_rule: Vec<(NaclVerdict, Vec<(u16, u16)>)> = Vec::new();
        let mut part = Vec::new();
        for (a, b) in self.atom_ranges() {
            atom_part(space, a, b, &mut part);
            let Some(&(first, _)) = part.first() else {
                continue;
            };
            let v = nacl.evaluate(dir, &header(first));
            if v.action == NaclAction::Deny {
                match by_rule.iter_mut().find(|(r, _)| r.rule == v.rule) {
                    Some((_, ports)) => ports.extend_from_slice(&part),
                    None => by_rule.push((v, part.clone())),
                }
            }
        }
        // Numbered rules first, the `*` rule last.
        by_rule.sort_by_key(|(v, _)| v.rule.unwrap_or(u16::MAX));
        let mut all = PortSet::empty();
        for (v, ports) in by_rule {
            let ports = PortSet::from_ranges(ports);
            all = all.union(&ports);
            blocks.push(Block::Nacl {
                leg,
                direction: dir,
                nacl: self.net.lab.nacls[nacl_id].name.value.clone(),
                network: self.net.segments[seg].name.clone(),
                rule: v.rule,
                line: v.span.map(|s| s.line),
                ports,
            });
        }
        all
    }

    fn sg_block(
        &self,
        host: HostId,
        direction: Direction,
        proto: Proto,
        family: Family,
        ports: PortSet,
    ) -> Block {
        let lab = &self.net.lab;
        let h = &lab.hosts[host];
        let mut allows = Vec::new();
        for &g in h.security_groups.iter().filter(|_| self.explain) {
            let sg = &lab.security_groups[g];
            let rules: Option<&[SgRule]> = match direction {
                Direction::Inbound => Some(&sg.inbound),
                Direction::Outbound => sg.outbound.as_deref(),
            };
            let Some(rules) = rules else {
                allows.push(format!("{}: everything (no outbound list)", sg.name.value));
                continue;
            };
            for r in rules {
                if rule_speaks(r.proto, proto, family) {
                    allows.push(format!(
                        "{}: {}",
                        sg.name.value,
                        describe_rule(lab, r, direction)
                    ));
                }
            }
        }
        Block::SecurityGroup {
            direction,
            host: h.name.value.clone(),
            groups: h
                .security_groups
                .iter()
                .map(|&g| lab.security_groups[g].name.value.clone())
                .collect(),
            allows,
            ports,
        }
    }

    /// Follows the routes from `start` (a router when `came_in` says on
    /// which network the packet arrived) to `dst`, until `arrive` holds.
    fn walk(
        &self,
        start: NodeId,
        came_in: Option<SegmentId>,
        dst: IpAddr,
        arrive: Arrive,
    ) -> Result<Walk, RouteBlock> {
        let net = self.net;
        let mut walk = Walk {
            routers: Vec::new(),
            crossings: Vec::new(),
            exit: None,
        };
        let mut node = start;
        // The segment the packet came in on, at a router.
        let mut came_in: Option<SegmentId> = came_in;
        let mut seen: BTreeSet<(NodeId, SegmentId)> = BTreeSet::new();
        loop {
            let name = || net.nodes[node].name.clone();
            if let Some(seg) = came_in {
                if !seen.insert((node, seg)) || walk.routers.len() >= MAX_HOPS {
                    walk.routers.push(node);
                    return Err(RouteBlock::Loop {
                        routers: walk
                            .routers
                            .iter()
                            .map(|&n| net.nodes[n].name.clone())
                            .collect(),
                    });
                }
                walk.routers.push(node);
                walk.crossings.push((seg, Direction::Outbound));
                // A router's own address (on any of its interfaces): the
                // router takes the packet.
                if arrive == Arrive::Host
                    && net.owner(dst).is_some_and(|i| net.ifaces[i].node == node)
                {
                    // It is not crossed: the path lists the routers before.
                    walk.routers.pop();
                    return Ok(walk);
                }
            }
            let Some(route) = net.nodes[node].routes.lookup(dst) else {
                return Err(RouteBlock::NoRoute { node: name(), dst });
            };
            let target = match route.next_hop {
                NextHop::Blackhole => {
                    return Err(RouteBlock::Blackhole {
                        node: name(),
                        prefix: route.prefix.to_string(),
                        line: match route.origin {
                            wirelab_net::RouteOrigin::Static(s) => Some(s.line),
                            _ => None,
                        },
                    })
                }
                NextHop::Connected => dst,
                NextHop::Gateway(gw) => gw,
            };
            let Some(out) = route.iface else {
                return Err(RouteBlock::NoRoute { node: name(), dst });
            };
            let out_seg = net.ifaces[out].segment;
            // What a router forwards, or sends itself, enters the network.
            if came_in.is_some() || net.nodes[node].is_router() {
                walk.crossings.push((out_seg, Direction::Inbound));
            }
            match (arrive, route.next_hop) {
                (Arrive::Segment(s), NextHop::Connected) if s == out_seg => return Ok(walk),
                (Arrive::Outside, NextHop::Gateway(gw))
                    if net.nodes[node].is_router()
                        && net
                            .owner(gw)
                            .is_none_or(|i| net.ifaces[i].segment != out_seg) =>
                {
                    walk.exit = Some((node, out_seg));
                    return Ok(walk);
                }
                _ => {}
            }
            let next = net
                .owner(target)
                .filter(|&i| net.ifaces[i].segment == out_seg)
                .map(|i| net.ifaces[i].node);
            match next {
                Some(n) if target == dst && net.ifaces[net.owner(dst).unwrap_or(out)].node == n => {
                    if !net.nodes[n].is_router() {
                        return Ok(walk);
                    }
                    if arrive != Arrive::Host {
                        return Err(RouteBlock::NextHopUnreachable {
                            node: name(),
                            next_hop: target,
                        });
                    }
                    // The destination is the router's own address: it
                    // takes the packet in (see the top of the loop).
                    node = n;
                    came_in = Some(out_seg);
                }
                Some(n) if net.nodes[n].is_router() => {
                    node = n;
                    came_in = Some(out_seg);
                }
                _ => {
                    return Err(RouteBlock::NextHopUnreachable {
                        node: name(),
                        next_hop: target,
                    })
                }
            }
        }
    }
}

/// The ICMP messages (`type × 256 + code`, first and last) a rule's type
/// and code match: every message, every code of one type, or one message.
fn icmp_messages_of(icmp_type: Option<u8>, icmp_code: Option<u8>) -> (u16, u16) {
    match (icmp_type, icmp_code) {
        (None, _) => (0, u16::MAX),
        (Some(t), None) => (u16::from(t) << 8, u16::from(t) << 8 | 0xff),
        (Some(t), Some(c)) => {
            let m = u16::from(t) << 8 | u16::from(c);
            (m, m)
        }
    }
}

/// Names of the ICMP types users meet, per family.
fn icmp_type_name(family: Family, t: u8) -> Option<&'static str> {
    Some(match (family, t) {
        (Family::Ipv4, 0) => "echo reply",
        (Family::Ipv4, 3) => "destination unreachable",
        (Family::Ipv4, 5) => "redirect",
        (Family::Ipv4, 8) => "echo request",
        (Family::Ipv4, 11) => "time exceeded",
        (Family::Ipv4, 12) => "parameter problem",
        (Family::Ipv4, 13) => "timestamp",
        (Family::Ipv4, 14) => "timestamp reply",
        (Family::Ipv6, 1) => "destination unreachable",
        (Family::Ipv6, 2) => "packet too big",
        (Family::Ipv6, 3) => "time exceeded",
        (Family::Ipv6, 4) => "parameter problem",
        (Family::Ipv6, 128) => "echo request",
        (Family::Ipv6, 129) => "echo reply",
        (Family::Ipv6, 133) => "router solicitation",
        (Family::Ipv6, 134) => "router advertisement",
        (Family::Ipv6, 135) => "neighbor solicitation",
        (Family::Ipv6, 136) => "neighbor advertisement",
        (Family::Ipv6, 137) => "redirect",
        _ => return None,
    })
}

/// ICMP messages (`type × 256 + code`) as text: `all types`, `none`, or
/// types with their names and, where only some codes pass, the codes:
/// `3 (destination unreachable) code 4, 8 (echo request), 13-255`.
pub fn icmp_messages_text(family: Family, messages: &PortSet) -> String {
    if messages.is_empty() {
        return "none".to_string();
    }
    if *messages == PortSet::full() {
        return "all types".to_string();
    }
    let mut parts: Vec<String> = Vec::new();
    // Runs of whole types, then types with some codes.
    let mut run: Option<(u8, u8)> = None;
    let flush = |run: &mut Option<(u8, u8)>, parts: &mut Vec<String>| {
        if let Some((a, b)) = run.take() {
            parts.push(match (a == b, icmp_type_name(family, a)) {
                (true, Some(name)) => format!("{a} ({name})"),
                (true, None) => a.to_string(),
                (false, _) => format!("{a}-{b}"),
            });
        }
    };
    for t in 0..=255u8 {
        let whole = PortSet::range(u16::from(t) << 8, u16::from(t) << 8 | 0xff);
        let codes = messages.intersect(&whole);
        if codes == whole {
            run = match run {
                Some((a, _)) => Some((a, t)),
                None => Some((t, t)),
            };
            continue;
        }
        flush(&mut run, &mut parts);
        if codes.is_empty() {
            continue;
        }
        let list: Vec<String> = codes
            .ranges()
            .iter()
            .map(|&(a, b)| {
                let (a, b) = (a & 0xff, b & 0xff);
                if a == b {
                    a.to_string()
                } else {
                    format!("{a}-{b}")
                }
            })
            .collect();
        let name = icmp_type_name(family, t).map_or(String::new(), |n| format!(" ({n})"));
        parts.push(format!(
            "{t}{name} code{} {}",
            if list.len() == 1 && !list[0].contains('-') {
                ""
            } else {
                "s"
            },
            list.join(", ")
        ));
    }
    flush(&mut run, &mut parts);
    parts.join(", ")
}

/// The ranges of `space` within the atom `a..=b`, into `out` (cleared
/// first): an intersection without allocating a port set.
fn atom_part(space: &PortSet, a: u16, b: u16, out: &mut Vec<(u16, u16)>) {
    out.clear();
    for &(x, y) in space.ranges() {
        if y < a {
            continue;
        }
        if x > b {
            break;
        }
        out.push((x.max(a), y.min(b)));
    }
}

/// Whether a rule of protocol `rule` can concern `proto` of `family`.
fn rule_speaks(rule: RuleProto, proto: Proto, family: Family) -> bool {
    match rule.number() {
        None => true,
        Some(n) => n == proto.number(family),
    }
}

/// `tcp 5432 from app-sg (line 40)`: the rule as diff compares it, and
/// where it is written.
fn describe_rule(lab: &wirelab_spec::Lab, r: &SgRule, direction: Direction) -> String {
    format!(
        "{} (line {})",
        diff::changes::sg_rule_text(lab, r, direction),
        r.span.line
    )
}
