//! Security groups and network ACLs compiled into matchers.
//!
//! Semantics follow AWS (see ../shared/reference/policy-semantics.md §1–2):
//! a host's security groups are one allow-only *set* (union, no order),
//! matched on protocol, destination port (or ICMP type/code) and the peer's
//! address; group references are resolved to the member hosts' addresses.
//! A NACL is an ordered list whose first matching rule decides; no match
//! denies.

use std::net::IpAddr;
use std::sync::Arc;

use ipnet::IpNet;
use wirelab_spec::{
    Lab, NaclAction, NaclId, Peer, PortRange, RuleProto, SecurityGroupId, SgRule, Span,
};

/// The fields of a packet that filters look at.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Header {
    pub src: IpAddr,
    pub dst: IpAddr,
    /// IP protocol number (6 tcp, 17 udp, 1 icmp, 58 icmpv6).
    pub proto: u8,
    /// Destination port for TCP and UDP, 0 otherwise.
    pub dst_port: u16,
    /// Type and code for ICMP and ICMPv6, 0 otherwise.
    pub icmp_type: u8,
    pub icmp_code: u8,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Direction {
    Inbound,
    Outbound,
}

impl Direction {
    pub fn code(self) -> &'static str {
        match self {
            Direction::Inbound => "inbound",
            Direction::Outbound => "outbound",
        }
    }
}

/// The part of a rule shared by security groups and NACLs: protocol,
/// ports, ICMP type and code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct ProtoMatch {
    /// `None`: any protocol.
    proto: Option<u8>,
    ports: PortRange,
    icmp_type: Option<u8>,
    icmp_code: Option<u8>,
}

impl ProtoMatch {
    fn new(
        proto: RuleProto,
        ports: Option<PortRange>,
        icmp_type: Option<u8>,
        icmp_code: Option<u8>,
    ) -> Self {
        let number = proto.number();
        let has_ports = matches!(number, Some(6) | Some(17));
        let has_icmp = matches!(number, Some(1) | Some(58));
        ProtoMatch {
            proto: number,
            ports: if has_ports {
                ports.unwrap_or(PortRange::ALL)
            } else {
                PortRange::ALL
            },
            icmp_type: if has_icmp { icmp_type } else { None },
            icmp_code: if has_icmp { icmp_code } else { None },
        }
    }

    #[inline]
    fn matches(&self, h: &Header) -> bool {
        match self.proto {
            None => true,
            Some(p) if p != h.proto => false,
            Some(6) | Some(17) => self.ports.contains(h.dst_port),
            Some(1) | Some(58) => {
                self.icmp_type.is_none_or(|t| t == h.icmp_type)
                    && self.icmp_code.is_none_or(|c| c == h.icmp_code)
            }
            Some(_) => true,
        }
    }
}

/// The peer addresses a compiled security-group rule admits.
#[derive(Clone, Debug)]
enum PeerMatch {
    Cidr(IpNet),
    /// Sorted addresses of the member hosts of a group.
    Members(Arc<[IpAddr]>),
}

impl PeerMatch {
    #[inline]
    fn contains(&self, addr: IpAddr) -> bool {
        match self {
            PeerMatch::Cidr(net) => net.contains(&addr),
            PeerMatch::Members(members) => members.binary_search(&addr).is_ok(),
        }
    }

    /// `0.0.0.0/0` for an IPv4 address, `::/0` for an IPv6 one.
    fn is_everyone_of(&self, addr: IpAddr) -> bool {
        matches!(self, PeerMatch::Cidr(net) if net.prefix_len() == 0 && net.contains(&addr))
    }
}

/// Which rule of which group allowed a packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SgRuleRef {
    pub group: SecurityGroupId,
    pub direction: Direction,
    /// Index of the rule in its direction's list, as written.
    pub index: usize,
    pub span: Span,
}

#[derive(Clone, Debug)]
struct CompiledSgRule {
    what: ProtoMatch,
    peer: PeerMatch,
    rule: SgRuleRef,
}

/// The union of one host's security groups, per direction.
#[derive(Clone, Debug)]
pub struct HostFirewall {
    pub groups: Vec<SecurityGroupId>,
    inbound: Vec<CompiledSgRule>,
    /// `None`: some group omits `outbound`, so everything may go out.
    outbound: Option<Vec<CompiledSgRule>>,
    /// Some inbound and some outbound rule admit every address: only then
    /// can a flow be untracked, so most packets skip the search.
    may_untrack: bool,
}

impl HostFirewall {
    /// Whether AWS leaves this TCP or UDP packet's flow untracked: a rule
    /// in the packet's direction admits it from (or to) every address
    /// (`0.0.0.0/0` or `::/0`), and a rule in the other direction admits
    /// the flow's packets that go the other way, also for every address
    /// (policy-semantics.md §1: "Untracked flows"). Such a flow gets no
    /// connection-tracking entry: each packet is decided by the rules as
    /// they are now, so removing one of those rules cuts it at once.
    /// Returns the verdict that lets this packet through.
    pub fn untracked(&self, dir: Direction, h: &Header, src_port: u16) -> Option<SgVerdict> {
        if !self.may_untrack || !matches!(h.proto, 6 | 17) {
            return None;
        }
        let back = Header {
            src: h.dst,
            dst: h.src,
            dst_port: src_port,
            ..*h
        };
        let other = match dir {
            Direction::Inbound => Direction::Outbound,
            Direction::Outbound => Direction::Inbound,
        };
        let verdict = self.open_to_everyone(dir, h)?;
        self.open_to_everyone(other, &back)?;
        Some(verdict)
    }

    fn open_to_everyone(&self, dir: Direction, h: &Header) -> Option<SgVerdict> {
        let (rules, peer) = match dir {
            Direction::Inbound => (&self.inbound, h.src),
            Direction::Outbound => match &self.outbound {
                // The default outbound rule is `all` to `0.0.0.0/0`.
                None => return Some(SgVerdict::AllowedByDefault),
                Some(r) => (r, h.dst),
            },
        };
        rules
            .iter()
            .find(|r| r.peer.is_everyone_of(peer) && r.what.matches(h))
            .map(|r| SgVerdict::Allowed(r.rule))
    }
}

/// One rule of a host's firewall, seen by the static analysis: whether
/// it matches a packet's protocol and ports, and whether it admits a peer
/// address, tested apart so the analysis can decide many ports at once.
#[derive(Clone, Copy, Debug)]
pub struct SgRuleMatcher<'a>(&'a CompiledSgRule);

impl SgRuleMatcher<'_> {
    /// The protocol, port and ICMP type/code part of the rule.
    pub fn matches_packet(&self, h: &Header) -> bool {
        self.0.what.matches(h)
    }

    /// The peer part: the rule's prefix or its group's member addresses.
    pub fn matches_peer(&self, addr: IpAddr) -> bool {
        self.0.peer.contains(addr)
    }

    /// The peer addresses the rule admits: a prefix, or the sorted
    /// addresses of a group's members.
    pub fn peer(&self) -> SgPeer<'_> {
        match &self.0.peer {
            PeerMatch::Cidr(net) => SgPeer::Cidr(*net),
            PeerMatch::Members(members) => SgPeer::Members(members),
        }
    }
}

/// The peer addresses of a security-group rule (see [`SgRuleMatcher::peer`]).
#[derive(Clone, Copy, Debug)]
pub enum SgPeer<'a> {
    Cidr(IpNet),
    /// Sorted addresses of the member hosts of a group.
    Members(&'a [IpAddr]),
}

impl HostFirewall {
    /// The rules of one direction, in order; `None` for outbound when a
    /// group sets no `outbound` list (everything may go out). A packet is
    /// allowed when some rule matches both its packet and its peer.
    pub fn rules(&self, dir: Direction) -> Option<impl Iterator<Item = SgRuleMatcher<'_>>> {
        let rules = match dir {
            Direction::Inbound => &self.inbound,
            Direction::Outbound => self.outbound.as_ref()?,
        };
        Some(rules.iter().map(SgRuleMatcher))
    }
}

/// The verdict of a security group on a new flow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SgVerdict {
    Allowed(SgRuleRef),
    /// Everything goes out: a group of the host sets no `outbound` list.
    AllowedByDefault,
    Denied,
}

impl HostFirewall {
    /// Decides a packet that starts a new flow. For inbound packets the
    /// peer is the source, for outbound packets the destination.
    pub fn evaluate(&self, dir: Direction, h: &Header) -> SgVerdict {
        let (rules, peer) = match dir {
            Direction::Inbound => (&self.inbound, h.src),
            Direction::Outbound => match &self.outbound {
                None => return SgVerdict::AllowedByDefault,
                Some(r) => (r, h.dst),
            },
        };
        rules
            .iter()
            .find(|r| r.what.matches(h) && r.peer.contains(peer))
            .map_or(SgVerdict::Denied, |r| SgVerdict::Allowed(r.rule))
    }
}

/// Which NACL rule decided, `None` for the final `*` rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NaclVerdict {
    pub action: NaclAction,
    pub rule: Option<u16>,
    pub span: Option<Span>,
}

#[derive(Clone, Debug)]
struct CompiledNaclRule {
    number: u16,
    action: NaclAction,
    what: ProtoMatch,
    cidr: IpNet,
    span: Span,
}

/// A network ACL: one ordered list per direction.
#[derive(Clone, Debug)]
pub struct CompiledNacl {
    pub id: NaclId,
    inbound: Vec<CompiledNaclRule>,
    outbound: Vec<CompiledNaclRule>,
}

impl CompiledNacl {
    /// Inbound rules match the packet's source, outbound rules its
    /// destination (AWS: the `cidr` of an entry is the other side).
    pub fn evaluate(&self, dir: Direction, h: &Header) -> NaclVerdict {
        let (rules, peer) = match dir {
            Direction::Inbound => (&self.inbound, h.src),
            Direction::Outbound => (&self.outbound, h.dst),
        };
        for r in rules {
            if r.what.matches(h) && r.cidr.contains(&peer) {
                return NaclVerdict {
                    action: r.action,
                    rule: Some(r.number),
                    span: Some(r.span),
                };
            }
        }
        NaclVerdict {
            action: NaclAction::Deny,
            rule: None,
            span: None,
        }
    }
}

/// The addresses of every host carrying each group, sorted.
fn group_members(lab: &Lab) -> Vec<Arc<[IpAddr]>> {
    let mut members: Vec<Vec<IpAddr>> = vec![Vec::new(); lab.security_groups.len()];
    for host in &lab.hosts {
        for &g in &host.security_groups {
            members[g].extend(host.ipv4.map(IpAddr::V4));
            members[g].extend(host.ipv6.map(IpAddr::V6));
        }
    }
    members
        .into_iter()
        .map(|mut m| {
            m.sort_unstable();
            m.dedup();
            m.into()
        })
        .collect()
}

fn compile_sg_rules(
    rules: &[SgRule],
    group: SecurityGroupId,
    direction: Direction,
    members: &[Arc<[IpAddr]>],
) -> Vec<CompiledSgRule> {
    rules
        .iter()
        .enumerate()
        .map(|(index, r)| CompiledSgRule {
            what: ProtoMatch::new(r.proto, r.ports, r.icmp_type, r.icmp_code),
            peer: match &r.peer {
                Peer::Cidr(net) => PeerMatch::Cidr(*net),
                Peer::Group(g) => PeerMatch::Members(members[*g].clone()),
            },
            rule: SgRuleRef {
                group,
                direction,
                index,
                span: r.span,
            },
        })
        .collect()
}

/// Compiles every host's firewall; `None` for hosts without groups.
pub fn compile_firewalls(lab: &Lab) -> Vec<Option<HostFirewall>> {
    let members = group_members(lab);
    lab.hosts
        .iter()
        .map(|host| {
            if host.security_groups.is_empty() {
                return None;
            }
            let mut inbound = Vec::new();
            let mut outbound = Some(Vec::new());
            for &g in &host.security_groups {
                let sg = &lab.security_groups[g];
                inbound.extend(compile_sg_rules(
                    &sg.inbound,
                    g,
                    Direction::Inbound,
                    &members,
                ));
                match (&sg.outbound, &mut outbound) {
                    (None, out) => *out = None,
                    (Some(rules), Some(out)) => {
                        out.extend(compile_sg_rules(rules, g, Direction::Outbound, &members))
                    }
                    (Some(_), None) => {}
                }
            }
            let everyone = |rules: &[CompiledSgRule]| {
                rules
                    .iter()
                    .any(|r| matches!(r.peer, PeerMatch::Cidr(net) if net.prefix_len() == 0))
            };
            let may_untrack = everyone(&inbound) && outbound.as_deref().is_none_or(everyone);
            Some(HostFirewall {
                groups: host.security_groups.clone(),
                inbound,
                outbound,
                may_untrack,
            })
        })
        .collect()
}

/// Compiles every NACL of the lab.
pub fn compile_nacls(lab: &Lab) -> Vec<CompiledNacl> {
    let compile = |rules: &[wirelab_spec::NaclRule]| {
        let mut out: Vec<CompiledNaclRule> = rules
            .iter()
            .map(|r| CompiledNaclRule {
                number: r.number,
                action: r.action,
                what: ProtoMatch::new(r.proto, r.ports, r.icmp_type, r.icmp_code),
                cidr: r.cidr,
                span: r.span,
            })
            .collect();
        out.sort_by_key(|r| r.number);
        out
    };
    lab.nacls
        .iter()
        .enumerate()
        .map(|(id, n)| CompiledNacl {
            id,
            inbound: compile(&n.inbound),
            outbound: compile(&n.outbound),
        })
        .collect()
}
