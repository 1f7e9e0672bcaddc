//! `wirelab lint`: what is suspicious in a lab's filters, every finding at
//! once, each with where it is, why, and a suggested fix.
//!
//! Security groups are allow-only *sets* (a host's groups are one union);
//! NACLs are ordered lists whose first matching rule decides
//! (../../shared/reference/policy-semantics.md §1–2). The lint asks set
//! questions of the rules' match spaces ([`space`]): a security-group rule
//! is *redundant* when the union of other rules holds its whole space; a
//! NACL rule is *shadowed* when earlier rules decide its whole space first
//! (Batfish's `filterLineReachability`, with its *blocking lines*). The
//! answers are exact: cubes are subtracted, nothing is sampled.
//!
//! Group peers are read as the addresses of the group's members *in this
//! lab*: a rule from `bastion-sg` is covered by a rule from `10.0.0.0/16`
//! when every member of `bastion-sg` has its address there, and the
//! message says so.

mod routing;
mod space;

use std::net::IpAddr;

use ipnet::IpNet;

use wirelab_net::{Direction, Network};
use wirelab_spec::{Family, HostId, Lab, NaclAction, NaclRule, Peer, RuleProto, SgRule, Span};

use crate::{PortSet, EPHEMERAL};
use space::{addr_value, prefix_range, proto_parts, space_of};
pub use space::{AddrSet, Cube, Kind, Space};

/// How serious a finding is. Ordered: `Info < Warning < Error`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    Info,
    Warning,
    Error,
}

impl Severity {
    pub fn code(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

/// What a finding is about; each has a stable kebab-case code and a fixed
/// severity (docs/analysis.md lists them).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Code {
    SgRuleDuplicate,
    SgRuleRedundant,
    SgRuleRedundantAcrossGroups,
    SgPeerGroupEmpty,
    SgUnused,
    SgPeerOutsideLab,
    SgRuleFamilyUnused,
    SgIcmpFamilyMismatch,
    SgCounterpartMissing,
    NaclRuleShadowed,
    NaclRuleRedundant,
    NaclRulePartlyShadowed,
    NaclUnused,
    NaclRuleFamilyUnused,
    NaclIcmpFamilyMismatch,
    NaclCounterpartMissing,
    NaclReplyBlocked,
    PublicAdminPort,
    OspfTimersMismatch,
    OspfPassiveTransit,
    RipPassiveTransit,
    RoutingNoNeighbour,
    RipSplitHorizonOff,
}

impl Code {
    pub const ALL: [Code; 23] = [
        Code::SgRuleDuplicate,
        Code::SgRuleRedundant,
        Code::SgRuleRedundantAcrossGroups,
        Code::SgPeerGroupEmpty,
        Code::SgUnused,
        Code::SgPeerOutsideLab,
        Code::SgRuleFamilyUnused,
        Code::SgIcmpFamilyMismatch,
        Code::SgCounterpartMissing,
        Code::NaclRuleShadowed,
        Code::NaclRuleRedundant,
        Code::NaclRulePartlyShadowed,
        Code::NaclUnused,
        Code::NaclRuleFamilyUnused,
        Code::NaclIcmpFamilyMismatch,
        Code::NaclCounterpartMissing,
        Code::NaclReplyBlocked,
        Code::PublicAdminPort,
        Code::OspfTimersMismatch,
        Code::OspfPassiveTransit,
        Code::RipPassiveTransit,
        Code::RoutingNoNeighbour,
        Code::RipSplitHorizonOff,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Code::SgRuleDuplicate => "sg-rule-duplicate",
            Code::SgRuleRedundant => "sg-rule-redundant",
            Code::SgRuleRedundantAcrossGroups => "sg-rule-redundant-across-groups",
            Code::SgPeerGroupEmpty => "sg-peer-group-empty",
            Code::SgUnused => "sg-unused",
            Code::SgPeerOutsideLab => "sg-peer-outside-lab",
            Code::SgRuleFamilyUnused => "sg-rule-family-unused",
            Code::SgIcmpFamilyMismatch => "sg-icmp-family-mismatch",
            Code::SgCounterpartMissing => "sg-counterpart-missing",
            Code::NaclRuleShadowed => "nacl-rule-shadowed",
            Code::NaclRuleRedundant => "nacl-rule-redundant",
            Code::NaclRulePartlyShadowed => "nacl-rule-partly-shadowed",
            Code::NaclUnused => "nacl-unused",
            Code::NaclRuleFamilyUnused => "nacl-rule-family-unused",
            Code::NaclIcmpFamilyMismatch => "nacl-icmp-family-mismatch",
            Code::NaclCounterpartMissing => "nacl-counterpart-missing",
            Code::NaclReplyBlocked => "nacl-reply-blocked",
            Code::PublicAdminPort => "public-admin-port",
            Code::OspfTimersMismatch => "ospf-timers-mismatch",
            Code::OspfPassiveTransit => "ospf-passive-transit",
            Code::RipPassiveTransit => "rip-passive-transit",
            Code::RoutingNoNeighbour => "routing-no-neighbour",
            Code::RipSplitHorizonOff => "rip-split-horizon-off",
        }
    }

    pub fn severity(self) -> Severity {
        match self {
            Code::NaclRuleShadowed
            | Code::NaclReplyBlocked
            | Code::PublicAdminPort
            | Code::OspfTimersMismatch => Severity::Error,
            Code::OspfPassiveTransit | Code::RipPassiveTransit | Code::RipSplitHorizonOff => {
                Severity::Warning
            }
            Code::RoutingNoNeighbour => Severity::Info,
            Code::SgRuleDuplicate
            | Code::SgRuleRedundant
            | Code::SgPeerGroupEmpty
            | Code::SgPeerOutsideLab
            | Code::SgRuleFamilyUnused
            | Code::SgIcmpFamilyMismatch
            | Code::SgCounterpartMissing
            | Code::NaclRuleFamilyUnused
            | Code::NaclIcmpFamilyMismatch
            | Code::NaclCounterpartMissing => Severity::Warning,
            Code::SgRuleRedundantAcrossGroups
            | Code::SgUnused
            | Code::NaclRuleRedundant
            | Code::NaclRulePartlyShadowed
            | Code::NaclUnused => Severity::Info,
        }
    }
}

/// Another place of the file a finding names (a covering rule).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Related {
    pub span: Span,
    pub text: String,
}

/// One finding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    pub code: Code,
    pub severity: Severity,
    pub span: Span,
    pub message: String,
    pub fix: String,
    pub related: Vec<Related>,
}

/// The ports the lint calls administration and database ports: a world
/// that reaches one of them is an error.
pub const ADMIN_PORTS: [(u16, &str); 13] = [
    (22, "ssh"),
    (23, "telnet"),
    (1433, "sql server"),
    (2375, "docker api"),
    (3306, "mysql"),
    (3389, "rdp"),
    (5432, "postgres"),
    (5900, "vnc"),
    (5984, "couchdb"),
    (6379, "redis"),
    (9200, "elasticsearch"),
    (11211, "memcached"),
    (27017, "mongodb"),
];

/// A security-group peer this wide or wider admits "the world": a /8 of
/// IPv4, a /32 of IPv6 (prefix lengths). A narrower public source (an
/// office, one admin's address) is a choice, not an exposure.
pub const WORLD_PREFIX_V4: u8 = 8;
pub const WORLD_PREFIX_V6: u8 = 32;

/// Every finding of the lab, sorted by (line, column, code, message).
pub fn lint(net: &Network) -> Vec<Finding> {
    let mut l = Linter::new(net);
    l.security_groups();
    l.nacls();
    l.public_admin_ports();
    let mut findings = l.findings;
    findings.extend(routing::routing(net));
    findings.sort_by(|a, b| {
        (a.span.line, a.span.column, a.code.code(), &a.message).cmp(&(
            b.span.line,
            b.span.column,
            b.code.code(),
            &b.message,
        ))
    });
    findings
}

/// One security-group rule and its match space.
struct SgEntry<'l> {
    group: usize,
    dir: Direction,
    rule: &'l SgRule,
    space: Space,
    /// The rule can match a lab packet (no other finding says it cannot).
    live: bool,
}

struct Linter<'n> {
    net: &'n Network,
    lab: &'n Lab,
    /// Per group: the hosts that have it.
    hosts_of: Vec<Vec<HostId>>,
    /// Per group: its members' addresses, per family.
    members: Vec<[AddrSet; 2]>,
    findings: Vec<Finding>,
}

fn fi(f: Family) -> usize {
    match f {
        Family::Ipv4 => 0,
        Family::Ipv6 => 1,
    }
}

fn family_name(f: Family) -> &'static str {
    match f {
        Family::Ipv4 => "IPv4",
        Family::Ipv6 => "IPv6",
    }
}

fn other_family(f: Family) -> Family {
    match f {
        Family::Ipv4 => Family::Ipv6,
        Family::Ipv6 => Family::Ipv4,
    }
}

fn everyone(f: Family) -> &'static str {
    match f {
        Family::Ipv4 => "0.0.0.0/0",
        Family::Ipv6 => "::/0",
    }
}

fn host_has(h: &wirelab_spec::Host, f: Family) -> bool {
    match f {
        Family::Ipv4 => h.ipv4.is_some(),
        Family::Ipv6 => h.ipv6.is_some(),
    }
}

/// `from` for inbound rules, `to` for outbound ones.
fn peer_word(dir: Direction) -> &'static str {
    match dir {
        Direction::Inbound => "from",
        Direction::Outbound => "to",
    }
}

/// `tcp 22`, `icmp type 8`, `all`.
fn describe_what(
    proto: RuleProto,
    ports: Option<wirelab_spec::PortRange>,
    t: Option<u8>,
    c: Option<u8>,
) -> String {
    let mut s = proto.to_string();
    if matches!(proto.number(), Some(6) | Some(17)) {
        if let Some(p) = ports {
            if p != wirelab_spec::PortRange::ALL {
                s.push_str(&format!(" {p}"));
            }
        }
    }
    if matches!(proto.number(), Some(1) | Some(58)) {
        if let Some(t) = t {
            s.push_str(&format!(" type {t}"));
        }
        if let Some(c) = c {
            s.push_str(&format!(" code {c}"));
        }
    }
    s
}

/// The layer-4 part of a space, as words: `tcp 49152-65535, udp 53`.
fn describe_l4(space: &Space) -> String {
    let mut parts: Vec<String> = Vec::new();
    for kind in Kind::ALL {
        let l4 = space
            .cubes()
            .iter()
            .filter(|c| c.kind == kind)
            .fold(PortSet::empty(), |acc, c| acc.union(&c.l4));
        if l4.is_empty() {
            continue;
        }
        let name = match kind {
            Kind::Tcp => "tcp",
            Kind::Udp => "udp",
            Kind::Icmp => "icmp",
            Kind::Icmpv6 => "icmpv6",
            Kind::Other => "protocols",
        };
        let full = l4 == PortSet::full() || (kind == Kind::Other && l4.len() == 252);
        if full {
            parts.push(if kind == Kind::Other {
                "other protocols".to_string()
            } else {
                name.to_string()
            });
            continue;
        }
        match kind {
            Kind::Icmp | Kind::Icmpv6 => {
                let items: Vec<String> = l4
                    .ranges()
                    .iter()
                    .map(|&(a, b)| {
                        if a % 256 == 0 && b == a + 255 {
                            format!("type {}", a / 256)
                        } else if a == b {
                            format!("type {} code {}", a / 256, a % 256)
                        } else {
                            format!(
                                "types/codes {}.{}-{}.{}",
                                a / 256,
                                a % 256,
                                b / 256,
                                b % 256
                            )
                        }
                    })
                    .collect();
                parts.push(format!("{name} {}", items.join(", ")));
            }
            _ => parts.push(format!("{name} {l4}")),
        }
    }
    parts.join(", ")
}

/// The fewest prefixes that make an address range.
fn range_to_prefixes(family: Family, first: u128, last: u128) -> Vec<String> {
    let bits: u32 = match family {
        Family::Ipv4 => 32,
        Family::Ipv6 => 128,
    };
    let mut out = Vec::new();
    let mut start = first;
    // A limit on the loop: a range needs at most 2 × bits prefixes.
    for _ in 0..2 * bits {
        if start > last {
            break;
        }
        // The largest block aligned at `start` that stays within `last`.
        let mut size_log = if start == 0 {
            bits
        } else {
            start.trailing_zeros().min(bits)
        };
        while size_log > 0 {
            let span = if size_log >= 128 {
                u128::MAX
            } else {
                (1u128 << size_log) - 1
            };
            if start.checked_add(span).is_some_and(|end| end <= last) {
                break;
            }
            size_log -= 1;
        }
        let addr = match family {
            Family::Ipv4 => IpAddr::V4(std::net::Ipv4Addr::from(start as u32)),
            Family::Ipv6 => IpAddr::V6(std::net::Ipv6Addr::from(start)),
        };
        out.push(format!("{addr}/{}", bits - size_log));
        let span = if size_log >= 128 {
            u128::MAX
        } else {
            (1u128 << size_log) - 1
        };
        match start.checked_add(span).and_then(|e| e.checked_add(1)) {
            Some(next) => start = next,
            None => break,
        }
    }
    out
}

/// The addresses of a space as prefixes, per family.
fn describe_addrs(space: &Space) -> String {
    let mut out: Vec<String> = Vec::new();
    for family in [Family::Ipv4, Family::Ipv6] {
        let set = space
            .cubes()
            .iter()
            .filter(|c| c.family == family)
            .fold(AddrSet::default(), |acc, c| acc.union(&c.addrs));
        for &(a, b) in set.ranges() {
            out.extend(range_to_prefixes(family, a, b));
        }
    }
    if out.len() > 4 {
        let n = out.len() - 3;
        out.truncate(3);
        out.push(format!("and {n} more prefixes"));
    }
    out.join(", ")
}

/// The ICMPv6 type that means what ICMP type `t` means, and back: echo
/// request and reply, destination unreachable, time exceeded.
fn icmp_twin(t: u8, to: Family) -> Option<u8> {
    let pairs = [(8u8, 128u8), (0, 129), (3, 1), (11, 3)];
    match to {
        Family::Ipv6 => pairs.iter().find(|p| p.0 == t).map(|p| p.1),
        Family::Ipv4 => pairs.iter().find(|p| p.1 == t).map(|p| p.0),
    }
}

/// The protocol parts of the other family's twin of a rule (ICMP becomes
/// ICMPv6 and back); `None` when an ICMP type has no twin.
fn twin_parts(
    proto: RuleProto,
    ports: Option<wirelab_spec::PortRange>,
    t: Option<u8>,
    c: Option<u8>,
    to: Family,
) -> Option<Twin> {
    let twin_proto = match (proto.number(), to) {
        (Some(1), Family::Ipv6) => RuleProto::Icmpv6,
        (Some(58), Family::Ipv4) => RuleProto::Icmp,
        _ => proto,
    };
    let (t, c) = match (proto.number(), t) {
        (Some(1) | Some(58), Some(t)) => {
            let twin = icmp_twin(t, to)?;
            // Codes of echo carry over; other codes differ between families.
            (
                Some(twin),
                if matches!(t, 0 | 8 | 128 | 129) {
                    c
                } else {
                    None
                },
            )
        }
        _ => (t, c),
    };
    Some(Twin {
        proto: twin_proto,
        keys: yaml_keys(twin_proto, ports, t, c),
        parts: proto_parts(twin_proto, ports, t, c),
    })
}

/// The other family's twin of a rule: its protocol, the YAML keys that
/// follow `proto` in a rule written for it, and its protocol parts.
struct Twin {
    proto: RuleProto,
    keys: String,
    parts: Vec<(Kind, PortSet)>,
}

/// `, port: 80`, `, ports: 80-90`, `, icmp_type: 128`: the keys after
/// `proto` in a rule.
fn yaml_keys(
    proto: RuleProto,
    ports: Option<wirelab_spec::PortRange>,
    t: Option<u8>,
    c: Option<u8>,
) -> String {
    let mut s = String::new();
    match (proto.number(), ports) {
        (Some(6) | Some(17), Some(p)) if p.first == p.last => {
            s.push_str(&format!(", port: {}", p.first))
        }
        (Some(6) | Some(17), Some(p)) if p != wirelab_spec::PortRange::ALL => {
            s.push_str(&format!(", ports: {p}"))
        }
        _ => {}
    }
    if matches!(proto.number(), Some(1) | Some(58)) {
        if let Some(t) = t {
            s.push_str(&format!(", icmp_type: {t}"));
        }
        if let Some(c) = c {
            s.push_str(&format!(", icmp_code: {c}"));
        }
    }
    s
}

impl<'n> Linter<'n> {
    fn new(net: &'n Network) -> Linter<'n> {
        let lab = &net.lab;
        let mut hosts_of = vec![Vec::new(); lab.security_groups.len()];
        let mut members: Vec<[Vec<(u128, u128)>; 2]> =
            vec![[Vec::new(), Vec::new()]; lab.security_groups.len()];
        for (h, host) in lab.hosts.iter().enumerate() {
            for &g in &host.security_groups {
                hosts_of[g].push(h);
                for addr in [host.ipv4.map(IpAddr::V4), host.ipv6.map(IpAddr::V6)]
                    .into_iter()
                    .flatten()
                {
                    let (f, v) = addr_value(addr);
                    members[g][fi(f)].push((v, v));
                }
            }
        }
        let members = members
            .into_iter()
            .map(|[a, b]| [AddrSet::from_ranges(a), AddrSet::from_ranges(b)])
            .collect();
        Linter {
            net,
            lab,
            hosts_of,
            members,
            findings: Vec::new(),
        }
    }

    fn push(
        &mut self,
        code: Code,
        span: Span,
        message: String,
        fix: String,
        related: Vec<Related>,
    ) {
        self.findings.push(Finding {
            code,
            severity: code.severity(),
            span,
            message,
            fix,
            related,
        });
    }

    fn group_name(&self, g: usize) -> &str {
        &self.lab.security_groups[g].name.value
    }

    /// `tcp 22 from bastion-sg`.
    fn describe_sg(&self, r: &SgRule, dir: Direction) -> String {
        let peer = match &r.peer {
            Peer::Cidr(n) => n.to_string(),
            Peer::Group(g) => self.group_name(*g).to_string(),
        };
        format!(
            "{} {} {peer}",
            describe_what(r.proto, r.ports, r.icmp_type, r.icmp_code),
            peer_word(dir)
        )
    }

    /// The peer addresses of a security-group rule, per family.
    fn sg_peer_addrs(&self, peer: &Peer) -> Vec<(Family, AddrSet)> {
        match peer {
            Peer::Cidr(n) => {
                let (f, a, b) = prefix_range(n.network(), n.broadcast());
                vec![(f, AddrSet::from_ranges([(a, b)]))]
            }
            Peer::Group(g) => [Family::Ipv4, Family::Ipv6]
                .into_iter()
                .map(|f| (f, self.members[*g][fi(f)].clone()))
                .filter(|(_, a)| !a.is_empty())
                .collect(),
        }
    }

    fn sg_space(&self, r: &SgRule) -> Space {
        let parts = proto_parts(r.proto, r.ports, r.icmp_type, r.icmp_code);
        space_of(&parts, &self.sg_peer_addrs(&r.peer))
    }

    /// The families the hosts of group `g` have addresses of.
    fn group_families(&self, g: usize) -> Vec<Family> {
        [Family::Ipv4, Family::Ipv6]
            .into_iter()
            .filter(|&f| {
                self.hosts_of[g]
                    .iter()
                    .any(|&h| host_has(&self.lab.hosts[h], f))
            })
            .collect()
    }

    /// `(in this lab, bastion-sg is 10.0.1.5)` for every group peer named.
    fn group_note(&self, rules: &[&SgRule]) -> String {
        let mut groups: Vec<usize> = rules
            .iter()
            .filter_map(|r| match r.peer {
                Peer::Group(g) => Some(g),
                Peer::Cidr(_) => None,
            })
            .collect();
        groups.sort_unstable();
        groups.dedup();
        if groups.is_empty() {
            return String::new();
        }
        let items: Vec<String> = groups
            .iter()
            .map(|&g| {
                let mut addrs: Vec<String> = Vec::new();
                for &h in &self.hosts_of[g] {
                    let host = &self.lab.hosts[h];
                    addrs.extend(host.ipv4.map(|a| a.to_string()));
                    addrs.extend(host.ipv6.map(|a| a.to_string()));
                }
                if addrs.len() > 4 {
                    let n = addrs.len() - 3;
                    addrs.truncate(3);
                    addrs.push(format!("{n} more"));
                }
                format!("{} is {}", self.group_name(g), addrs.join(", "))
            })
            .collect();
        format!(" (group members in this lab: {})", items.join("; "))
    }

    // ----- security groups -------------------------------------------------

    fn security_groups(&mut self) {
        let lab = self.lab;
        let mut entries: Vec<SgEntry<'n>> = Vec::new();
        for (g, sg) in lab.security_groups.iter().enumerate() {
            if self.hosts_of[g].is_empty() {
                self.push(
                    Code::SgUnused,
                    sg.name.span,
                    format!("security group {} is attached to no host", sg.name.value),
                    format!(
                        "attach it to a host (`security_groups: [{}]`) or remove it",
                        sg.name.value
                    ),
                    Vec::new(),
                );
            }
            let lists = [
                (Direction::Inbound, sg.inbound.as_slice()),
                (
                    Direction::Outbound,
                    sg.outbound.as_deref().unwrap_or_default(),
                ),
            ];
            for (dir, rules) in lists {
                for r in rules {
                    let live = self.sg_rule_matches_something(g, dir, r);
                    entries.push(SgEntry {
                        group: g,
                        dir,
                        rule: r,
                        space: self.sg_space(r),
                        live,
                    });
                }
            }
        }
        let redundant = self.sg_redundant_within_groups(&entries);
        self.sg_redundant_across_groups(&entries, &redundant);
        self.sg_counterparts(&entries);
    }

    /// Reports a rule that cannot match a lab packet; returns whether it
    /// can.
    fn sg_rule_matches_something(&mut self, g: usize, dir: Direction, r: &SgRule) -> bool {
        let what = self.describe_sg(r, dir);
        let name = self.group_name(g).to_string();
        let d = dir.code();
        if let Peer::Group(peer) = r.peer {
            if self.hosts_of[peer].is_empty() {
                let peer_name = self.group_name(peer).to_string();
                self.push(
                    Code::SgPeerGroupEmpty,
                    r.span,
                    format!("{d} rule {what} of {name} matches nothing: no host has {peer_name}"),
                    format!("attach {peer_name} to the hosts meant, or name their addresses"),
                    Vec::new(),
                );
                return false;
            }
        }
        let peer_families: Vec<Family> = self
            .sg_peer_addrs(&r.peer)
            .iter()
            .map(|(f, _)| *f)
            .collect();
        if let Peer::Cidr(n) = &r.peer {
            if let Some(finding) = self.outside_lab(n.network(), n.broadcast()) {
                self.push(
                    Code::SgPeerOutsideLab,
                    r.span,
                    format!("{d} rule {what} of {name}: {n} {finding}"),
                    "check the prefix for a typo; a lab host can only have an address of one of the lab's networks".to_string(),
                    Vec::new(),
                );
                return false;
            }
        }
        let host_families = self.group_families(g);
        if !self.hosts_of[g].is_empty() && !peer_families.iter().any(|f| host_families.contains(f))
        {
            let f = peer_families.first().copied().unwrap_or(Family::Ipv4);
            self.push(
                Code::SgRuleFamilyUnused,
                r.span,
                format!(
                    "{d} rule {what} of {name} is {} only, but no host with {name} has an {} address: it matches nothing",
                    family_name(f),
                    family_name(f)
                ),
                format!(
                    "remove the rule, or give the hosts of {name} {} addresses",
                    family_name(f)
                ),
                Vec::new(),
            );
            return false;
        }
        let mismatch = match r.proto.number() {
            Some(1) => peer_families == [Family::Ipv6],
            Some(58) => peer_families == [Family::Ipv4],
            _ => false,
        };
        if mismatch {
            let (is, should) = if r.proto.number() == Some(1) {
                ("ICMP (protocol 1) over IPv6", "icmpv6")
            } else {
                ("ICMPv6 (protocol 58) over IPv4", "icmp")
            };
            self.push(
                Code::SgIcmpFamilyMismatch,
                r.span,
                format!("{d} rule {what} of {name} matches {is}, which no host sends"),
                format!("write `proto: {should}` for this peer"),
                Vec::new(),
            );
            return false;
        }
        true
    }

    /// "the peer 10.9.0.0/16 is private but ..." when a private prefix
    /// overlaps no network of the lab.
    fn outside_lab(&self, network: IpAddr, broadcast: IpAddr) -> Option<String> {
        let (f, a, b) = prefix_range(network, broadcast);
        let private: &[(&str, &str)] = match f {
            Family::Ipv4 => &[
                ("10.0.0.0", "10.255.255.255"),
                ("172.16.0.0", "172.31.255.255"),
                ("192.168.0.0", "192.168.255.255"),
                ("100.64.0.0", "100.127.255.255"),
            ],
            Family::Ipv6 => &[("fc00::", "fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")],
        };
        let inside_private = private.iter().any(|(lo, hi)| {
            let lo = addr_value(lo.parse().expect("a constant address")).1;
            let hi = addr_value(hi.parse().expect("a constant address")).1;
            lo <= a && b <= hi
        });
        if !inside_private {
            return None;
        }
        let mut nets: Vec<String> = Vec::new();
        let mut overlaps = false;
        for n in &self.lab.networks {
            let prefix = match f {
                Family::Ipv4 => n.ipv4.as_ref().map(|p| {
                    let p = p.value;
                    (
                        p.to_string(),
                        IpAddr::V4(p.network()),
                        IpAddr::V4(p.broadcast()),
                    )
                }),
                Family::Ipv6 => n.ipv6.as_ref().map(|p| {
                    let p = p.value;
                    (
                        p.to_string(),
                        IpAddr::V6(p.network()),
                        IpAddr::V6(p.broadcast()),
                    )
                }),
            };
            if let Some((text, lo, hi)) = prefix {
                let (_, lo, hi) = prefix_range(lo, hi);
                overlaps |= lo <= b && a <= hi;
                nets.push(text);
            }
        }
        if overlaps {
            return None;
        }
        Some(format!(
            "is a private range but overlaps no network of this lab ({}), so it can never match a lab host",
            if nets.is_empty() {
                "it has none of that family".to_string()
            } else {
                nets.join(", ")
            }
        ))
    }

    /// The fewest of `candidates` (indexes into `entries`) whose union
    /// still covers `target`, or `None` when they do not cover it.
    fn minimal_cover(target: &Space, candidates: &[&Space]) -> Option<Vec<usize>> {
        let touching: Vec<usize> = (0..candidates.len())
            .filter(|&i| candidates[i].intersects(target))
            .collect();
        let all: Vec<&Space> = touching.iter().map(|&i| candidates[i]).collect();
        if target.covered_by(all.iter().copied()) != Some(true) {
            return None;
        }
        let mut keep = touching;
        let mut i = 0;
        while i < keep.len() {
            let without: Vec<&Space> = keep
                .iter()
                .enumerate()
                .filter(|&(j, _)| j != i)
                .map(|(_, &k)| candidates[k])
                .collect();
            if target.covered_by(without.iter().copied()) == Some(true) {
                keep.remove(i);
            } else {
                i += 1;
            }
        }
        Some(keep)
    }

    fn sg_related(&self, e: &SgEntry) -> Related {
        Related {
            span: e.rule.span,
            text: format!(
                "{}: {} rule {}",
                self.group_name(e.group),
                e.dir.code(),
                self.describe_sg(e.rule, e.dir)
            ),
        }
    }

    /// Rules covered by the other rules of their group and direction.
    /// Returns which entries were reported. The last of several equal
    /// rules is the one reported, so removing every reported rule keeps
    /// what the group admits.
    fn sg_redundant_within_groups(&mut self, entries: &[SgEntry]) -> Vec<bool> {
        let mut reported = vec![false; entries.len()];
        for t in (0..entries.len()).rev() {
            let e = &entries[t];
            if !e.live {
                continue;
            }
            let others: Vec<usize> = (0..entries.len())
                .filter(|&i| {
                    i != t
                        && !reported[i]
                        && entries[i].live
                        && entries[i].group == e.group
                        && entries[i].dir == e.dir
                })
                .collect();
            let spaces: Vec<&Space> = others.iter().map(|&i| &entries[i].space).collect();
            let Some(cover) = Self::minimal_cover(&e.space, &spaces) else {
                continue;
            };
            reported[t] = true;
            let cover: Vec<usize> = cover.iter().map(|&k| others[k]).collect();
            let duplicate = cover.len() == 1 && {
                let c = entries[cover[0]].rule;
                c.proto == e.rule.proto
                    && c.ports == e.rule.ports
                    && c.icmp_type == e.rule.icmp_type
                    && c.icmp_code == e.rule.icmp_code
                    && c.peer == e.rule.peer
            };
            let name = self.group_name(e.group).to_string();
            let what = self.describe_sg(e.rule, e.dir);
            let d = e.dir.code();
            let related: Vec<Related> = cover
                .iter()
                .map(|&c| self.sg_related(&entries[c]))
                .collect();
            if duplicate {
                let line = entries[cover[0]].rule.span.line;
                self.push(
                    Code::SgRuleDuplicate,
                    e.rule.span,
                    format!("{d} rule {what} of {name} duplicates the rule at line {line}"),
                    "remove one of the two".to_string(),
                    related,
                );
                continue;
            }
            let mut rules: Vec<&SgRule> = cover.iter().map(|&c| entries[c].rule).collect();
            let names: Vec<String> = cover
                .iter()
                .map(|&c| {
                    format!(
                        "{} (line {})",
                        self.describe_sg(entries[c].rule, e.dir),
                        entries[c].rule.span.line
                    )
                })
                .collect();
            rules.push(e.rule);
            let note = self.group_note(&rules);
            self.push(
                Code::SgRuleRedundant,
                e.rule.span,
                format!(
                    "{d} rule {what} of {name} is redundant: {} already admit{} all of it{note}",
                    names.join(" and "),
                    if cover.len() == 1 { "s" } else { "" }
                ),
                format!(
                    "remove this rule, or narrow the rule{} that cover{} it",
                    if cover.len() == 1 { "" } else { "s" },
                    if cover.len() == 1 { "s" } else { "" }
                ),
                related,
            );
        }
        reported
    }

    /// Rules covered once the rules of the host's other groups count too:
    /// every host with group G also has group H (and G's own rules).
    fn sg_redundant_across_groups(&mut self, entries: &[SgEntry], reported: &[bool]) {
        let lab = self.lab;
        for g in 0..lab.security_groups.len() {
            let mine = self.hosts_of[g].clone();
            if mine.is_empty() {
                continue;
            }
            // Groups every host of g also has; of two groups on exactly
            // the same hosts, only the earlier one covers the later.
            let supers: Vec<usize> = (0..lab.security_groups.len())
                .filter(|&h| {
                    h != g
                        && mine.iter().all(|x| self.hosts_of[h].contains(x))
                        && (self.hosts_of[h].len() != mine.len() || h < g)
                })
                .collect();
            if supers.is_empty() {
                continue;
            }
            let everything =
                Space::everything(Family::Ipv4).union(&Space::everything(Family::Ipv6));
            for t in 0..entries.len() {
                let e = &entries[t];
                if e.group != g || !e.live || reported[t] {
                    continue;
                }
                // Candidates: g's other rules, the supergroups' rules, and
                // "everything" for a supergroup without an outbound list.
                let mut cands: Vec<Coverer> = Vec::new();
                for (i, o) in entries.iter().enumerate() {
                    let ok = i != t
                        && o.live
                        && o.dir == e.dir
                        && ((o.group == g && !reported[i]) || supers.contains(&o.group));
                    if ok {
                        cands.push(Coverer::Rule(i));
                    }
                }
                if e.dir == Direction::Outbound {
                    for &h in &supers {
                        if lab.security_groups[h].outbound.is_none() {
                            cands.push(Coverer::OpenOutbound(h));
                        }
                    }
                }
                let spaces: Vec<&Space> = cands
                    .iter()
                    .map(|c| match c {
                        Coverer::Rule(i) => &entries[*i].space,
                        Coverer::OpenOutbound(_) => &everything,
                    })
                    .collect();
                let Some(cover) = Self::minimal_cover(&e.space, &spaces) else {
                    continue;
                };
                let cover: Vec<Coverer> = cover.iter().map(|&k| cands[k]).collect();
                let mut groups: Vec<usize> = cover
                    .iter()
                    .map(|c| match c {
                        Coverer::Rule(i) => entries[*i].group,
                        Coverer::OpenOutbound(h) => *h,
                    })
                    .filter(|&x| x != g)
                    .collect();
                groups.sort_unstable();
                groups.dedup();
                if groups.is_empty() {
                    continue;
                }
                let name = self.group_name(g).to_string();
                let what = self.describe_sg(e.rule, e.dir);
                let host_names: Vec<&str> = mine
                    .iter()
                    .map(|&h| lab.hosts[h].name.value.as_str())
                    .collect();
                let group_names: Vec<&str> = groups.iter().map(|&x| self.group_name(x)).collect();
                let mut names = Vec::new();
                let mut related = Vec::new();
                let mut rules: Vec<&SgRule> = vec![e.rule];
                for c in &cover {
                    match c {
                        Coverer::Rule(i) => {
                            let o = &entries[*i];
                            names.push(format!(
                                "{}'s {} (line {})",
                                self.group_name(o.group),
                                self.describe_sg(o.rule, o.dir),
                                o.rule.span.line
                            ));
                            related.push(self.sg_related(o));
                            rules.push(o.rule);
                        }
                        Coverer::OpenOutbound(h) => {
                            let sg = &lab.security_groups[*h];
                            names.push(format!(
                                "{} (no outbound list: everything may go out)",
                                sg.name.value
                            ));
                            related.push(Related {
                                span: sg.name.span,
                                text: format!(
                                    "{}: no outbound list, everything may go out",
                                    sg.name.value
                                ),
                            });
                        }
                    }
                }
                let note = self.group_note(&rules);
                self.push(
                    Code::SgRuleRedundantAcrossGroups,
                    e.rule.span,
                    format!(
                        "{} rule {what} of {name} is redundant in this lab: every host with {name} ({}) also has {}, and {} admit{} all of it{note}",
                        e.dir.code(),
                        host_names.join(", "),
                        group_names.join(" and "),
                        names.join(" and "),
                        if names.len() == 1 { "s" } else { "" }
                    ),
                    format!(
                        "remove this rule if {name} is always used together with {}; keep it if {name} must stand alone",
                        group_names.join(" and ")
                    ),
                    related,
                );
            }
        }
    }

    /// An inbound rule from `0.0.0.0/0` on hosts that have IPv6 addresses
    /// with nothing admitting the same from `::/0`, and the reverse.
    fn sg_counterparts(&mut self, entries: &[SgEntry]) {
        let lab = self.lab;
        for e in entries {
            if !e.live || e.dir != Direction::Inbound {
                continue;
            }
            let Peer::Cidr(n) = &e.rule.peer else {
                continue;
            };
            if n.prefix_len() != 0 {
                continue;
            }
            let (from, _, _) = prefix_range(n.network(), n.broadcast());
            let to = other_family(from);
            let r = e.rule;
            let Some(Twin {
                proto: twin_proto,
                keys: port_key,
                parts,
            }) = twin_parts(r.proto, r.ports, r.icmp_type, r.icmp_code, to)
            else {
                continue;
            };
            let twin = space_of(&parts, &[(to, AddrSet::all(to))]);
            let mut missing: Vec<&str> = Vec::new();
            let mut uncovered = Space::empty();
            for &h in &self.hosts_of[e.group] {
                let host = &lab.hosts[h];
                if !host_has(host, to) {
                    continue;
                }
                let admitted: Vec<&Space> = entries
                    .iter()
                    .filter(|o| {
                        o.live
                            && o.dir == Direction::Inbound
                            && host.security_groups.contains(&o.group)
                    })
                    .map(|o| &o.space)
                    .collect();
                let mut rest = twin.clone();
                for s in admitted {
                    match rest.minus(s) {
                        Some(x) => rest = x,
                        None => break,
                    }
                }
                if !rest.is_empty() {
                    missing.push(&host.name.value);
                    uncovered = uncovered.union(&rest);
                }
            }
            if missing.is_empty() {
                continue;
            }
            let name = self.group_name(e.group).to_string();
            let what = self.describe_sg(r, e.dir);
            let fam = family_name(to);
            let twin_what = describe_l4(&uncovered);
            self.push(
                Code::SgCounterpartMissing,
                r.span,
                format!(
                    "inbound rule {what} of {name} opens {} only: {} {} {fam} address{}, and no rule admits {twin_what} from {}",
                    family_name(from),
                    missing.join(", "),
                    if missing.len() == 1 { "has an" } else { "have" },
                    if missing.len() == 1 { "" } else { "es" },
                    everyone(to)
                ),
                format!(
                    "add `{{ proto: {twin_proto}{port_key}, from: \"{}\" }}` to {name} if {fam} clients should get in too",
                    everyone(to)
                ),
                Vec::new(),
            );
        }
    }

    // ----- admin ports open to the world ----------------------------------

    /// Administration and database ports that public addresses reach
    /// through the whole path (security groups, NACLs, routes, and the
    /// reply back: `Analyzer::public_exposure`) and that a rule with a
    /// peer of [`WORLD_PREFIX_V4`] / [`WORLD_PREFIX_V6`] or wider opens (or
    /// nothing guards: an internal host without a security group).
    fn public_admin_ports(&mut self) {
        let lab = self.lab;
        let analyzer = crate::Analyzer::new(self.net);
        let admin = PortSet::from_ranges(ADMIN_PORTS.iter().map(|&(p, _)| (p, p)));
        // A host without a security group on a public address is one of
        // "the world" itself (a laptop, a server on the internet); one on
        // a private address is an unguarded internal server, and only the
        // ports it listens on count. A guarded host is reported only
        // through a wide inbound rule that admits public addresses on an
        // admin port (see `admin_finding`): without one, there is nothing
        // to look for.
        let wanted: Vec<HostId> = (0..lab.hosts.len())
            .filter(|&h| {
                let host = &lab.hosts[h];
                if host.security_groups.is_empty() {
                    self.private_host(host)
                } else {
                    self.may_open_admin_port(host, &admin)
                }
            })
            .collect();
        let exposures = analyzer.public_ports(&wanted);
        for (h, exposed) in wanted.into_iter().zip(exposures) {
            let host = &lab.hosts[h];
            let guarded = !host.security_groups.is_empty();
            let listening = |kind: Kind| {
                PortSet::from_ranges(
                    host.services
                        .iter()
                        .filter(|s| match s.proto {
                            wirelab_spec::TransportProto::Tcp => kind == Kind::Tcp,
                            wirelab_spec::TransportProto::Udp => kind == Kind::Udp,
                        })
                        .map(|s| (s.port, s.port)),
                )
            };
            // Per (family, kind): the admin ports reached, the sources and
            // the networks they enter by.
            let mut open: Vec<Opening> = Vec::new();
            for x in exposed {
                let kind = match x.proto {
                    crate::Proto::Tcp => Kind::Tcp,
                    crate::Proto::Udp => Kind::Udp,
                    crate::Proto::Icmp => continue,
                };
                let mut ports = x.ports.intersect(&admin);
                if !guarded {
                    ports = ports.intersect(&listening(kind));
                }
                if ports.is_empty() {
                    continue;
                }
                let sources = AddrSet::from_ranges(x.sources);
                match open.iter_mut().find(|o| o.0 == x.family && o.1 == kind) {
                    Some(o) => {
                        o.2 = o.2.union(&ports);
                        o.3 = o.3.union(&sources);
                        if !o.4.contains(&x.entry) {
                            o.4.push(x.entry);
                        }
                    }
                    None => open.push((x.family, kind, ports, sources, vec![x.entry])),
                }
            }
            for (family, kind, ports, addrs, entries) in open {
                let reached = Space::from_cubes([Cube {
                    family,
                    kind,
                    l4: ports,
                    addrs,
                }]);
                self.admin_finding(h, &reached, &entries);
            }
        }
    }

    /// Whether one of the host's groups has a wide inbound rule that
    /// admits public addresses of one of the host's families on an admin
    /// port: the only rules `admin_finding` reports a guarded host by.
    fn may_open_admin_port(&self, host: &wirelab_spec::Host, admin: &PortSet) -> bool {
        let families = [
            host.ipv4.map(|_| Family::Ipv4),
            host.ipv6.map(|_| Family::Ipv6),
        ];
        let exposed = Space::from_cubes(families.into_iter().flatten().flat_map(|family| {
            let public = AddrSet::all(family)
                .difference(&AddrSet::from_ranges(crate::addrs::non_public(family)));
            [Kind::Tcp, Kind::Udp].map(|kind| Cube {
                family,
                kind,
                l4: admin.clone(),
                addrs: public.clone(),
            })
        }));
        host.security_groups.iter().any(|&g| {
            self.lab.security_groups[g]
                .inbound
                .iter()
                .any(|r| wide(&r.peer) && self.sg_space(r).intersects(&exposed))
        })
    }

    /// Whether every address of the host is private (not public).
    fn private_host(&self, host: &wirelab_spec::Host) -> bool {
        [host.ipv4.map(IpAddr::V4), host.ipv6.map(IpAddr::V6)]
            .into_iter()
            .flatten()
            .all(|a| {
                let (f, v) = addr_value(a);
                crate::addrs::non_public(f)
                    .iter()
                    .any(|&(lo, hi)| lo <= v && v <= hi)
            })
    }

    fn admin_finding(&mut self, h: HostId, reached: &Space, entries: &[String]) {
        let lab = self.lab;
        let host = &lab.hosts[h];
        // The inbound rules of the host's groups that admit part of it.
        let mut rules: Vec<(usize, &SgRule)> = Vec::new();
        for &g in &host.security_groups {
            for r in &lab.security_groups[g].inbound {
                if wide(&r.peer) && self.sg_space(r).intersects(reached) {
                    rules.push((g, r));
                }
            }
        }
        if !host.security_groups.is_empty() && rules.is_empty() {
            return;
        }
        rules.sort_by_key(|(_, r)| r.span);
        let l4 = describe_l4(reached);
        let names: Vec<&str> = ADMIN_PORTS
            .iter()
            .filter(|&&(p, _)| reached.cubes().iter().any(|c| c.l4.contains(p)))
            .map(|&(_, n)| n)
            .collect();
        let from = describe_addrs(reached);
        let via = entries.join(", ");
        let name = &host.name.value;
        match rules.split_first() {
            Some((&(g, first), rest)) => {
                let what = self.describe_sg(first, Direction::Inbound);
                let message = format!(
                    "{l4} ({}) of {name} is open to the world: {from} reach{} it from {via}, request and reply, through inbound rule {what} of {}",
                    names.join(", "),
                    if from.contains(',') { "" } else { "es" },
                    self.group_name(g)
                );
                let related = rest
                    .iter()
                    .map(|&(g2, r)| Related {
                        span: r.span,
                        text: format!(
                            "{}: inbound rule {}",
                            self.group_name(g2),
                            self.describe_sg(r, Direction::Inbound)
                        ),
                    })
                    .collect();
                self.push(
                    Code::PublicAdminPort,
                    first.span,
                    message,
                    "narrow the source to the addresses that need it (an admin prefix, a bastion's group, a VPN range)".to_string(),
                    related,
                );
            }
            None => {
                self.push(
                    Code::PublicAdminPort,
                    host.name.span,
                    format!(
                        "{l4} ({}) of {name} is open to the world: {from} reach{} it from {via}, request and reply; {name} has no security group",
                        names.join(", "),
                        if from.contains(',') { "" } else { "es" },
                    ),
                    format!("give {name} a security group that admits only the addresses that need it"),
                    Vec::new(),
                );
            }
        }
    }

    // ----- NACLs -----------------------------------------------------------

    fn nacls(&mut self) {
        let lab = self.lab;
        for (id, nacl) in lab.nacls.iter().enumerate() {
            let networks: Vec<&wirelab_spec::Network> =
                lab.networks.iter().filter(|n| n.nacl == Some(id)).collect();
            let name = nacl.name.value.clone();
            if networks.is_empty() {
                self.push(
                    Code::NaclUnused,
                    nacl.name.span,
                    format!("NACL {name} is attached to no network"),
                    format!("attach it to a network (`nacl: {name}`) or remove it"),
                    Vec::new(),
                );
            }
            let mut families: Vec<Family> = Vec::new();
            if networks.iter().any(|n| n.ipv4.is_some()) {
                families.push(Family::Ipv4);
            }
            if networks.iter().any(|n| n.ipv6.is_some()) {
                families.push(Family::Ipv6);
            }
            let dual = networks
                .iter()
                .any(|n| n.ipv4.is_some() && n.ipv6.is_some());
            for (dir, rules) in [
                (Direction::Inbound, &nacl.inbound),
                (Direction::Outbound, &nacl.outbound),
            ] {
                let mut sorted: Vec<&NaclRule> = rules.iter().collect();
                sorted.sort_by_key(|r| r.number);
                let spaces: Vec<Space> = sorted.iter().map(|r| nacl_space(r)).collect();
                let live: Vec<bool> = sorted
                    .iter()
                    .map(|r| self.nacl_rule_live(&name, dir, r, &families, networks.is_empty()))
                    .collect();
                self.nacl_shadowing(&name, dir, &sorted, &spaces, &live);
                let (other_dir, other_rules) = match dir {
                    Direction::Inbound => (Direction::Outbound, &nacl.outbound),
                    Direction::Outbound => (Direction::Inbound, &nacl.inbound),
                };
                let mut other: Vec<&NaclRule> = other_rules.iter().collect();
                other.sort_by_key(|r| r.number);
                for (i, r) in sorted.iter().enumerate() {
                    if live[i] && r.action == NaclAction::Allow && !networks.is_empty() {
                        self.nacl_reply(&name, dir, r, other_dir, &other);
                        if dual {
                            self.nacl_counterpart(&name, dir, r, &sorted);
                        }
                    }
                }
            }
        }
    }

    fn nacl_rule_live(
        &mut self,
        name: &str,
        dir: Direction,
        r: &NaclRule,
        families: &[Family],
        unattached: bool,
    ) -> bool {
        let (f, _, _) = prefix_range(r.cidr.network(), r.cidr.broadcast());
        let what = describe_nacl(r, dir);
        if !unattached && !families.contains(&f) {
            self.push(
                Code::NaclRuleFamilyUnused,
                r.span,
                format!(
                    "{} rule {what} of NACL {name} is {}, but no network of {name} has an {} prefix: it matches nothing",
                    dir.code(),
                    family_name(f),
                    family_name(f)
                ),
                format!(
                    "write the {} prefix meant, or remove the rule",
                    family_name(other_family(f))
                ),
                Vec::new(),
            );
            return false;
        }
        let mismatch = match r.proto.number() {
            Some(1) => f == Family::Ipv6,
            Some(58) => f == Family::Ipv4,
            _ => false,
        };
        if mismatch {
            let (is, should) = if r.proto.number() == Some(1) {
                ("ICMP (protocol 1) over IPv6", "icmpv6")
            } else {
                ("ICMPv6 (protocol 58) over IPv4", "icmp")
            };
            self.push(
                Code::NaclIcmpFamilyMismatch,
                r.span,
                format!(
                    "{} rule {what} of NACL {name} matches {is}, which no host sends",
                    dir.code()
                ),
                format!("write `proto: {should}` for this prefix"),
                Vec::new(),
            );
            return false;
        }
        true
    }

    /// Rules that earlier rules decide first, in whole or in part.
    fn nacl_shadowing(
        &mut self,
        name: &str,
        dir: Direction,
        rules: &[&NaclRule],
        spaces: &[Space],
        live: &[bool],
    ) {
        for (i, r) in rules.iter().enumerate() {
            if !live[i] {
                continue;
            }
            let Some((decided, rest)) = first_match(&spaces[i], &spaces[..i]) else {
                continue;
            };
            if decided.is_empty() {
                continue;
            }
            let opposite: Vec<&(usize, Space)> = decided
                .iter()
                .filter(|(j, _)| rules[*j].action != r.action)
                .collect();
            let what = describe_nacl(r, dir);
            let related: Vec<Related> = decided
                .iter()
                .map(|(j, _)| nacl_related(name, dir, rules[*j]))
                .collect();
            let firsts = |list: &[&(usize, Space)]| -> String {
                list.iter()
                    .map(|(j, part)| {
                        format!(
                            "rule {} (line {}) {} {}",
                            rules[*j].number,
                            rules[*j].span.line,
                            action_verb(rules[*j].action),
                            describe_part(part)
                        )
                    })
                    .collect::<Vec<_>>()
                    .join(" and ")
            };
            let all: Vec<&(usize, Space)> = decided.iter().collect();
            let d = dir.code();
            if rest.is_empty() && opposite.is_empty() {
                self.push(
                    Code::NaclRuleRedundant,
                    r.span,
                    format!(
                        "{d} rule {} ({what}) of NACL {name} never matches: {} first, with the same action",
                        r.number,
                        firsts(&all)
                    ),
                    format!("remove rule {}", r.number),
                    related,
                );
            } else if rest.is_empty() {
                let first = opposite
                    .iter()
                    .map(|(j, _)| rules[*j].number)
                    .min()
                    .unwrap_or(0);
                self.push(
                    Code::NaclRuleShadowed,
                    r.span,
                    format!(
                        "{d} rule {} of NACL {name} {} {} but never matches: {} first",
                        r.number,
                        action_verb(r.action),
                        describe_what_peer(r, dir),
                        firsts(&opposite),
                    ),
                    format!(
                        "give rule {} a number below {first} if it should decide, or remove it",
                        r.number
                    ),
                    related,
                );
            } else if !opposite.is_empty() {
                self.push(
                    Code::NaclRulePartlyShadowed,
                    r.span,
                    format!(
                        "{d} rule {} of NACL {name} {} {} except what {} first",
                        r.number,
                        action_verb(r.action),
                        describe_what_peer(r, dir),
                        firsts(&opposite),
                    ),
                    "nothing if the exception is meant; otherwise renumber the rules".to_string(),
                    related,
                );
            }
        }
    }

    /// The replies of what an allow rule admits must pass the other list
    /// for every ephemeral port.
    fn nacl_reply(
        &mut self,
        name: &str,
        dir: Direction,
        r: &NaclRule,
        other_dir: Direction,
        other: &[&NaclRule],
    ) {
        let kinds: Vec<Kind> = match r.proto.number() {
            None => vec![Kind::Tcp, Kind::Udp],
            Some(6) => vec![Kind::Tcp],
            Some(17) => vec![Kind::Udp],
            _ => return,
        };
        // A rule for a range of high ports up to 65535 (1024-65535,
        // 32768-65535, 49152-65535) is the reply rule of the other
        // direction, not a request.
        let ports = r.ports.unwrap_or(wirelab_spec::PortRange::ALL);
        if ports.first >= 1024 && ports.last == EPHEMERAL.1 {
            return;
        }
        let (f, a, b) = prefix_range(r.cidr.network(), r.cidr.broadcast());
        let reply = Space::from_cubes(kinds.iter().map(|&kind| Cube {
            family: f,
            kind,
            l4: PortSet::range(EPHEMERAL.0, EPHEMERAL.1),
            addrs: AddrSet::from_ranges([(a, b)]),
        }));
        let spaces: Vec<Space> = other.iter().map(|o| nacl_space(o)).collect();
        let Some((decided, rest)) = first_match(&reply, &spaces) else {
            return;
        };
        let mut blocks: Vec<String> = Vec::new();
        let mut related = Vec::new();
        let mut first_deny: Option<u16> = None;
        for (j, part) in &decided {
            if other[*j].action == NaclAction::Deny {
                blocks.push(format!(
                    "rule {} (line {}) denies {}",
                    other[*j].number,
                    other[*j].span.line,
                    describe_part(part)
                ));
                related.push(nacl_related(name, other_dir, other[*j]));
                first_deny = Some(first_deny.map_or(other[*j].number, |x| x.min(other[*j].number)));
            }
        }
        if !rest.is_empty() {
            blocks.push(format!(
                "no {} rule matches {} (rule *)",
                other_dir.code(),
                describe_part(&rest)
            ));
        }
        if blocks.is_empty() {
            return;
        }
        let used: Vec<u16> = other.iter().map(|o| o.number).collect();
        let (placement, number) = match first_deny {
            Some(d) => (format!("numbered below {d}"), free_number_below(d, &used)),
            None => {
                let last = used.iter().copied().max().unwrap_or(0);
                (String::new(), Some(((last / 10) * 10 + 10).min(32766)))
            }
        };
        let number = number.map_or("N".to_string(), |n| n.to_string());
        let suggestions: Vec<String> = kinds
            .iter()
            .map(|k| {
                format!(
                    "`{{ rule: {number}, action: allow, proto: {}, ports: {}-{}, cidr: {} }}`",
                    if *k == Kind::Tcp { "tcp" } else { "udp" },
                    EPHEMERAL.0,
                    EPHEMERAL.1,
                    r.cidr
                )
            })
            .collect();
        let toward = match other_dir {
            Direction::Outbound => "going out to",
            Direction::Inbound => "coming in from",
        };
        self.push(
            Code::NaclReplyBlocked,
            r.span,
            format!(
                "{} rule {} of NACL {name} allows {} {} {}, but the replies {toward} {} on the ephemeral ports {}-{} are dropped: {}",
                dir.code(),
                r.number,
                describe_what(r.proto, r.ports, r.icmp_type, r.icmp_code),
                peer_word(dir),
                r.cidr,
                r.cidr,
                EPHEMERAL.0,
                EPHEMERAL.1,
                blocks.join("; ")
            ),
            format!(
                "add {} {} rule{}{}{placement}: {}",
                if kinds.len() == 1 { "an" } else { "" },
                other_dir.code(),
                if kinds.len() == 1 { "" } else { "s" },
                if placement.is_empty() { "" } else { " " },
                suggestions.join(" and ")
            )
            .replace("add  ", "add "),
            related,
        );
    }

    /// An allow rule for `0.0.0.0/0` on a dual-stack network whose `::/0`
    /// twin the same list does not allow (and the reverse).
    fn nacl_counterpart(&mut self, name: &str, dir: Direction, r: &NaclRule, rules: &[&NaclRule]) {
        if r.cidr.prefix_len() != 0 {
            return;
        }
        let (from, _, _) = prefix_range(r.cidr.network(), r.cidr.broadcast());
        let to = other_family(from);
        let Some(Twin {
            proto: twin_proto,
            keys: port_key,
            parts,
        }) = twin_parts(r.proto, r.ports, r.icmp_type, r.icmp_code, to)
        else {
            return;
        };
        let twin = space_of(&parts, &[(to, AddrSet::all(to))]);
        let spaces: Vec<Space> = rules.iter().map(|o| nacl_space(o)).collect();
        let Some((decided, rest)) = first_match(&twin, &spaces) else {
            return;
        };
        let mut denied = rest;
        for (j, part) in &decided {
            if rules[*j].action == NaclAction::Deny {
                denied = denied.union(part);
            }
        }
        if denied.is_empty() {
            return;
        }
        self.push(
            Code::NaclCounterpartMissing,
            r.span,
            format!(
                "{} rule {} of NACL {name} allows {} {} {} on a dual-stack network, but {} {} {} is not allowed",
                dir.code(),
                r.number,
                describe_what(r.proto, r.ports, r.icmp_type, r.icmp_code),
                peer_word(dir),
                everyone(from),
                describe_l4(&denied),
                peer_word(dir),
                everyone(to)
            ),
            format!(
                "add `{{ rule: N, action: allow, proto: {twin_proto}{port_key}, cidr: \"{}\" }}` if {} traffic should pass too",
                everyone(to),
                family_name(to)
            ),
            Vec::new(),
        );
    }
}

/// A rule number below `d` that no rule of the list has: the nearest
/// multiple of ten below it when free, else the nearest free number.
fn free_number_below(d: u16, used: &[u16]) -> Option<u16> {
    let round = (d.saturating_sub(1) / 10) * 10;
    if round >= 1 && !used.contains(&round) {
        return Some(round);
    }
    (1..d).rev().find(|n| !used.contains(n))
}

/// What may cover a security-group rule across groups.
#[derive(Clone, Copy)]
enum Coverer {
    /// An entry (index into the rule entries).
    Rule(usize),
    /// A group without an `outbound:` list: everything may go out.
    OpenOutbound(usize),
}

/// Per (family, kind): the admin ports public sources reach, the sources
/// and the networks they enter by.
type Opening = (Family, Kind, PortSet, AddrSet, Vec<String>);

/// Whether a security-group peer admits "the world".
fn wide(peer: &Peer) -> bool {
    match peer {
        Peer::Cidr(IpNet::V4(n)) => n.prefix_len() <= WORLD_PREFIX_V4,
        Peer::Cidr(IpNet::V6(n)) => n.prefix_len() <= WORLD_PREFIX_V6,
        Peer::Group(_) => false,
    }
}

/// Splits `target` by first match over `rules` in order: the part each
/// rule decides (only rules that decide something), and what is left for
/// later rules. `None` when the spaces grow too large to tell.
fn first_match(target: &Space, rules: &[Space]) -> Option<(Vec<(usize, Space)>, Space)> {
    let mut rest = target.clone();
    let mut decided = Vec::new();
    for (j, s) in rules.iter().enumerate() {
        if rest.is_empty() {
            break;
        }
        let part = rest.intersect(s);
        if part.is_empty() {
            continue;
        }
        rest = rest.minus(&part)?;
        decided.push((j, part));
    }
    Some((decided, rest))
}

fn nacl_space(r: &NaclRule) -> Space {
    let (f, a, b) = prefix_range(r.cidr.network(), r.cidr.broadcast());
    space_of(
        &proto_parts(r.proto, r.ports, r.icmp_type, r.icmp_code),
        &[(f, AddrSet::from_ranges([(a, b)]))],
    )
}

fn action_verb(a: NaclAction) -> &'static str {
    match a {
        NaclAction::Allow => "allows",
        NaclAction::Deny => "denies",
    }
}

/// `allow tcp 22 from 10.0.0.0/8`.
fn describe_nacl(r: &NaclRule, dir: Direction) -> String {
    format!(
        "{} {}",
        match r.action {
            NaclAction::Allow => "allow",
            NaclAction::Deny => "deny",
        },
        describe_what_peer(r, dir)
    )
}

/// `tcp 22 from 10.0.0.0/8`.
fn describe_what_peer(r: &NaclRule, dir: Direction) -> String {
    format!(
        "{} {} {}",
        describe_what(r.proto, r.ports, r.icmp_type, r.icmp_code),
        peer_word(dir),
        r.cidr
    )
}

/// `tcp 22 of 10.0.0.0/8` — what part of a space a rule decides.
fn describe_part(part: &Space) -> String {
    format!("{} of {}", describe_l4(part), describe_addrs(part))
}

fn nacl_related(name: &str, dir: Direction, r: &NaclRule) -> Related {
    Related {
        span: r.span,
        text: format!(
            "{name}: {} rule {} {}",
            dir.code(),
            r.number,
            describe_nacl(r, dir)
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_become_the_fewest_prefixes() {
        let v = |a: [u8; 4]| u128::from(u32::from_be_bytes(a));
        assert_eq!(
            range_to_prefixes(Family::Ipv4, v([10, 0, 0, 0]), v([10, 0, 0, 255])),
            ["10.0.0.0/24"]
        );
        assert_eq!(
            range_to_prefixes(Family::Ipv4, v([10, 0, 0, 1]), v([10, 0, 0, 6])),
            ["10.0.0.1/32", "10.0.0.2/31", "10.0.0.4/31", "10.0.0.6/32"]
        );
        assert_eq!(
            range_to_prefixes(Family::Ipv4, 0, u128::from(u32::MAX)),
            ["0.0.0.0/0"]
        );
        assert_eq!(range_to_prefixes(Family::Ipv6, 0, u128::MAX), ["::/0"]);
    }

    use proptest::prelude::*;

    /// A random NACL rule over a small universe: ports with ends in 0..=40
    /// or 65535, prefixes inside 10.0.0.0/24 (or everything), ICMP any or
    /// echo.
    fn rule_strategy() -> impl Strategy<Value = (bool, u8, u16, u16, u8, u8)> {
        (
            any::<bool>(),
            0u8..5,
            prop_oneof![0u16..=40, Just(65535u16)],
            prop_oneof![0u16..=40, Just(65535u16)],
            0u8..5,
            0u8..4,
        )
    }

    fn make_rule(
        i: usize,
        (allow, proto, p1, p2, len, which): (bool, u8, u16, u16, u8, u8),
    ) -> NaclRule {
        let proto = match proto {
            0 => RuleProto::Tcp,
            1 => RuleProto::Udp,
            2 => RuleProto::All,
            3 => RuleProto::Icmp,
            _ => RuleProto::Number(47),
        };
        let cidr: IpNet = match len {
            0 => "0.0.0.0/0".parse().unwrap(),
            l => {
                let prefix = 22 + l; // 23..=26
                let block = 1u32 << (32 - u32::from(prefix));
                let base = 0x0a00_0000u32 + (u32::from(which) * block) % 256;
                format!("{}/{prefix}", std::net::Ipv4Addr::from(base))
                    .parse()
                    .unwrap()
            }
        };
        NaclRule {
            number: (i as u16 + 1) * 10,
            action: if allow {
                NaclAction::Allow
            } else {
                NaclAction::Deny
            },
            proto,
            ports: Some(wirelab_spec::PortRange {
                first: p1.min(p2),
                last: p1.max(p2),
            }),
            icmp_type: if proto == RuleProto::Icmp && which % 2 == 0 {
                Some(8)
            } else {
                None
            },
            icmp_code: None,
            cidr,
            span: Span::default(),
        }
    }

    /// The reference: does rule `r` match the packet (proto, port or
    /// ICMP type, source address)? Written from the AWS rule text, not
    /// from the lint's spaces.
    fn reference_matches(r: &NaclRule, proto: u8, port: u16, icmp_type: u8, addr: u32) -> bool {
        let proto_ok = match r.proto.number() {
            None => true,
            Some(n) => n == proto,
        };
        let l4_ok = match proto {
            6 | 17 if r.proto.number().is_some() => r.ports.is_none_or(|p| p.contains(port)),
            1 if r.proto.number().is_some() => r.icmp_type.is_none_or(|t| t == icmp_type),
            _ => true,
        };
        proto_ok && l4_ok && r.cidr.contains(&IpAddr::V4(std::net::Ipv4Addr::from(addr)))
    }

    proptest! {
        /// For every rule: "never matches" and "earlier rules of the
        /// other action decide some of it" agree with evaluating every
        /// point of a grid that holds a point of every atom.
        #[test]
        fn nacl_shadowing_agrees_with_brute_force(raw in prop::collection::vec(rule_strategy(), 1..6)) {
            let rules: Vec<NaclRule> = raw.into_iter().enumerate().map(|(i, r)| make_rule(i, r)).collect();
            let spaces: Vec<Space> = rules.iter().map(nacl_space).collect();
            let points = grid();
            for (i, r) in rules.iter().enumerate() {
                let (decided, rest) = first_match(&spaces[i], &spaces[..i]).expect("small");
                let mut reaches = false;
                let mut opposite = false;
                for &(proto, port, t, addr) in &points {
                    if !reference_matches(r, proto, port, t, addr) {
                        continue;
                    }
                    match rules[..i].iter().find(|e| reference_matches(e, proto, port, t, addr)) {
                        None => reaches = true,
                        Some(e) => opposite |= e.action != r.action,
                    }
                }
                prop_assert_eq!(!rest.is_empty(), reaches, "rule {}: {:?}", i, r);
                let lint_opposite = decided.iter().any(|(j, _)| rules[*j].action != r.action);
                prop_assert_eq!(lint_opposite, opposite, "rule {}: {:?}", i, r);
            }
        }
    }

    /// The grid of `nacl_shadowing_agrees_with_brute_force`: a point in
    /// every atom of the rules `make_rule` draws.
    fn grid() -> Vec<(u8, u16, u8, u32)> {
        let mut ports: Vec<u16> = (0..=41).collect();
        ports.extend([1000, 65534, 65535]);
        let mut points = Vec::new();
        for addr in (0x0a00_0000u32..=0x0a00_00ff).chain([0x0a00_0100, 0x0b00_0001]) {
            for &port in &ports {
                points.push((6u8, port, 0u8, addr));
                points.push((17, port, 0, addr));
            }
            for t in [0u8, 8] {
                points.push((1, 0, t, addr));
            }
            points.push((47, 0, 0, addr));
        }
        points
    }

    proptest! {
        /// Security-group coverage (a union, no order): a rule is covered
        /// by the others exactly when every grid point it matches, another
        /// matches; the cover named still covers, and drops none it needs.
        #[test]
        fn sg_coverage_agrees_with_brute_force(raw in prop::collection::vec(rule_strategy(), 2..6)) {
            let rules: Vec<NaclRule> = raw.into_iter().enumerate().map(|(i, r)| make_rule(i, r)).collect();
            let spaces: Vec<Space> = rules.iter().map(nacl_space).collect();
            let points = grid();
            let covers = |target: usize, by: &[usize]| {
                points.iter().all(|&(p, port, t, a)| {
                    !reference_matches(&rules[target], p, port, t, a)
                        || by.iter().any(|&j| reference_matches(&rules[j], p, port, t, a))
                })
            };
            for i in 0..rules.len() {
                let others: Vec<usize> = (0..rules.len()).filter(|&j| j != i).collect();
                let candidates: Vec<&Space> = others.iter().map(|&j| &spaces[j]).collect();
                let cover = Linter::minimal_cover(&spaces[i], &candidates);
                prop_assert_eq!(cover.is_some(), covers(i, &others), "rule {}", i);
                if let Some(cover) = cover {
                    let chosen: Vec<usize> = cover.iter().map(|&k| others[k]).collect();
                    prop_assert!(covers(i, &chosen));
                    for drop in 0..chosen.len() {
                        let fewer: Vec<usize> = chosen.iter().enumerate().filter(|&(k, _)| k != drop).map(|(_, &j)| j).collect();
                        prop_assert!(!covers(i, &fewer), "rule {} needs no {}", i, chosen[drop]);
                    }
                }
            }
        }
    }

    fn lint_text(text: &str) -> Vec<(Code, u32)> {
        let loaded = wirelab_spec::parse_str("t.yaml", text).expect("a valid lab");
        let net = Network::compile(&loaded.lab);
        lint(&net)
            .into_iter()
            .map(|f| (f.code, f.span.line))
            .collect()
    }

    #[test]
    fn of_two_groups_on_the_same_hosts_only_the_later_rule_is_reported() {
        let found = lint_text(
            "lab: t\nnetworks:\n  lan: { cidr: 10.0.1.0/24 }\nhosts:\n  a: { network: lan, ip: 10.0.1.10, security_groups: [one-sg, two-sg] }\nsecurity_groups:\n  one-sg:\n    inbound:\n      - { proto: tcp, port: 22, from: 10.0.0.0/8 }\n  two-sg:\n    inbound:\n      - { proto: tcp, port: 22, from: 10.0.0.0/8 }\n",
        );
        assert_eq!(found, [(Code::SgRuleRedundantAcrossGroups, 12)]);
    }

    #[test]
    fn a_group_without_an_outbound_list_covers_the_outbound_rules_of_its_companions() {
        let found = lint_text(
            "lab: t\nnetworks:\n  lan: { cidr: 10.0.1.0/24 }\nhosts:\n  a: { network: lan, ip: 10.0.1.10, security_groups: [open-sg, app-sg] }\n  b: { network: lan, ip: 10.0.1.11, security_groups: [app-sg] }\nsecurity_groups:\n  open-sg:\n    inbound: []\n  app-sg:\n    outbound:\n      - { proto: tcp, port: 443, to: 0.0.0.0/0 }\n",
        );
        // Host b has app-sg without open-sg: app-sg's rule is needed.
        assert_eq!(found, []);
        let found = lint_text(
            "lab: t\nnetworks:\n  lan: { cidr: 10.0.1.0/24 }\nhosts:\n  a: { network: lan, ip: 10.0.1.10, security_groups: [open-sg, app-sg] }\nsecurity_groups:\n  open-sg:\n    inbound: []\n  app-sg:\n    outbound:\n      - { proto: tcp, port: 443, to: 0.0.0.0/0 }\n",
        );
        assert_eq!(found, [(Code::SgRuleRedundantAcrossGroups, 11)]);
    }

    /// The time of one lint of labs/03, for docs/analysis.md (run with
    /// `cargo test --release -p wirelab-analyze --lib -- --ignored
    /// --nocapture lint_time`). It checks the findings too.
    #[test]
    #[ignore]
    fn lint_time_on_the_vpc_lab() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../labs/03-vpc-security.yaml");
        let loaded = wirelab_spec::load(&path).expect("a valid lab");
        let net = Network::compile(&loaded.lab);
        let rounds = 50u32;
        let start = std::time::Instant::now();
        let mut n = 0;
        for _ in 0..rounds {
            n = lint(&net).len();
        }
        let mean = start.elapsed() / rounds;
        assert_eq!(n, 2);
        let (sg, nacl) = {
            let start = std::time::Instant::now();
            for _ in 0..rounds {
                let mut l = Linter::new(&net);
                l.security_groups();
                l.nacls();
            }
            let without = start.elapsed() / rounds;
            (without, mean.saturating_sub(without))
        };
        eprintln!(
            "labs/03: one lint {mean:?} (mean of {rounds}); rules only {sg:?}, public-admin-port {nacl:?}"
        );
    }

    #[test]
    fn every_code_is_kebab_case_and_distinct() {
        let mut seen = std::collections::BTreeSet::new();
        for c in Code::ALL {
            let s = c.code();
            assert!(
                s.chars().all(|ch| ch.is_ascii_lowercase() || ch == '-'),
                "{s}"
            );
            assert!(seen.insert(s), "{s} twice");
        }
    }
}
