//! Differential reachability: what changes between two versions of a lab,
//! and which configuration changes explain it.
//!
//! Hosts are matched by name. For every ordered pair of hosts both labs
//! have, every family and protocol, [`Analyzer::reach`] is asked in each
//! lab; *newly allowed* ports are NEW's reachable set minus OLD's, *newly
//! denied* ones OLD's minus NEW's. The structural diff ([`config_changes`])
//! lists what was edited; each flow change is attributed to the edits on
//! its path that can decide it:
//!
//! - a newly allowed flow was dropped in OLD by some [`Block`]s; an edit
//!   explains it when it touches one of those components (a rule of the
//!   group or NACL that blocked, which matches the flow's protocol, ports
//!   and peer in the version where the rule exists), a membership that
//!   makes a rule's group peer match, the NACL association of the network,
//!   or routing on the path;
//! - a newly denied flow is dropped in NEW by some blocks, matched to edits
//!   the same way; a NACL block names its rule, and an edit of that very
//!   rule number is preferred to the other edits of the NACL.
//!
//! Edits of routes, router interfaces and routers count when the router is
//! on the request or reply path in either version (or names a routing
//! failure) and the path changed or routing fails; edits of a host's
//! network or addresses count for every flow of that host. Edits that
//! explain no flow change are the *no effect* list.
//!
//! This is the question Batfish's `differentialReachability` answers, with
//! wirelab's exact port sets instead of example flows.

pub(crate) mod changes;

pub use changes::{config_changes, nacl_rule_text, sg_rule_text, ConfigChange, HostField, Subject};

use std::collections::BTreeSet;
use std::net::IpAddr;

use ipnet::IpNet;
use wirelab_net::{Direction, Network};
use wirelab_spec::{Family, Lab, Peer, PortRange, RuleProto, SgRule};

use crate::space::{Origin, SourceReach};
use crate::{Analyzer, Block, FamilyReach, Leg, PortSet, Proto, Reach, RouteBlock, EPHEMERAL};

/// Which of the two labs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Side {
    Old,
    New,
}

impl Side {
    pub fn code(self) -> &'static str {
        match self {
            Side::Old => "OLD",
            Side::New => "NEW",
        }
    }
}

/// Which way a flow changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Change {
    /// Reachable in NEW, not in OLD.
    Allowed,
    /// Reachable in OLD, not in NEW.
    Denied,
}

impl Change {
    /// `allowed` / `denied`.
    pub fn code(self) -> &'static str {
        match self {
            Change::Allowed => "allowed",
            Change::Denied => "denied",
        }
    }

    /// The lab whose blocks explain the change: OLD's blocks are what a
    /// newly allowed flow got past, NEW's what stops a newly denied one.
    pub fn blocking_side(self) -> Side {
        match self {
            Change::Allowed => Side::Old,
            Change::Denied => Side::New,
        }
    }
}

/// One protocol's change between two hosts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FlowChange {
    /// The families with this very change (IPv4 first).
    pub families: Vec<Family>,
    pub proto: Proto,
    pub change: Change,
    /// Destination ports (TCP, UDP); for ICMP the set `{0}`, the echo.
    pub ports: PortSet,
    /// The components that drop these ports in [`Change::blocking_side`]'s
    /// lab, in path order.
    pub blocks: Vec<Block>,
    /// Indices into [`LabDiff::changes`], in order.
    pub causes: Vec<usize>,
    /// For a source that is not a host ([`OUTSIDE`]): the source addresses
    /// with this very change, as the fewest CIDR blocks. Empty for hosts.
    pub sources: Vec<IpNet>,
    /// The sources are every address outside the lab's networks (in both
    /// labs) of the change's families.
    pub sources_all: bool,
}

/// The name a flow from addresses outside every network of the lab gets
/// in [`PairDiff::from`].
pub const OUTSIDE: &str = "internet";

/// Everything that changed from one host (or from [`OUTSIDE`]) to another.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PairDiff {
    pub from: String,
    pub to: String,
    /// TCP, UDP, ICMP; allowed before denied.
    pub changes: Vec<FlowChange>,
}

/// Pairs with identical changes, merged for reading:
/// `web1, web2 → db1`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FlowGroup {
    pub from: Vec<String>,
    pub to: Vec<String>,
    pub changes: Vec<FlowChange>,
}

/// What one host reaches on another (union over families), protocols with
/// something reachable only.
pub type Reaches = Vec<(String, Vec<(Proto, PortSet)>)>;

/// A host only one of the labs has.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostSummary {
    pub name: String,
    /// The lab that has it.
    pub side: Side,
    pub line: u32,
    /// Other hosts of that lab it reaches.
    pub reaches: Reaches,
    /// Other hosts of that lab that reach it.
    pub reached_by: Reaches,
    /// Configuration changes that concern only this host (its addition or
    /// removal, rules of groups only such hosts carry).
    pub related: Vec<usize>,
}

/// The differential reachability of two labs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LabDiff {
    pub old_file: String,
    pub new_file: String,
    pub changes: Vec<ConfigChange>,
    /// Pairs of hosts both labs have with some change, in NEW's host
    /// order (source, then destination), then the changes from outside
    /// the lab to each host ([`OUTSIDE`]).
    pub pairs: Vec<PairDiff>,
    pub hosts_added: Vec<HostSummary>,
    pub hosts_removed: Vec<HostSummary>,
    /// Changes that explain no flow change and concern no added or
    /// removed host.
    pub no_effect: Vec<usize>,
}

impl LabDiff {
    /// Compares two compiled labs.
    pub fn compute(old: &Network, new: &Network) -> LabDiff {
        let labs = Labs {
            old: &old.lab,
            new: &new.lab,
        };
        let (ao, an) = (Analyzer::new(old), Analyzer::new(new));
        let changes = config_changes(labs.old, labs.new);
        let common: Vec<&str> = labs
            .new
            .hosts
            .iter()
            .map(|h| h.name.value.as_str())
            .filter(|n| labs.old.host_by_name(n).is_some())
            .collect();
        let mut pairs = Vec::new();
        for &a in &common {
            for &b in &common {
                if a == b {
                    continue;
                }
                let id = |lab: &Lab, n: &str| lab.host_by_name(n).unwrap_or_default();
                let ro = ao.reach(id(labs.old, a), id(labs.old, b));
                let rn = an.reach(id(labs.new, a), id(labs.new, b));
                let ends = Ends { a, a_addr: None, b };
                let flows = pair_changes(&labs, &changes, ends, &ro.families, &rn.families);
                if !flows.is_empty() {
                    pairs.push(PairDiff {
                        from: a.to_string(),
                        to: b.to_string(),
                        changes: flows,
                    });
                }
            }
        }
        for &b in &common {
            let flows = outside_changes(&labs, &changes, [&ao, &an], b);
            if !flows.is_empty() {
                pairs.push(PairDiff {
                    from: OUTSIDE.to_string(),
                    to: b.to_string(),
                    changes: flows,
                });
            }
        }
        let summary = |side: Side, analyzer: &Analyzer, name: &str| {
            let lab = labs.get(side);
            let h = lab.host_by_name(name).unwrap_or_default();
            let mut reaches = Vec::new();
            let mut reached_by = Vec::new();
            for o in 0..lab.hosts.len() {
                if o == h {
                    continue;
                }
                let other = lab.hosts[o].name.value.clone();
                let there = protos_reached(&analyzer.reach(h, o));
                if !there.is_empty() {
                    reaches.push((other.clone(), there));
                }
                let back = protos_reached(&analyzer.reach(o, h));
                if !back.is_empty() {
                    reached_by.push((other, back));
                }
            }
            let related = related_changes(&labs, &changes, side, name);
            HostSummary {
                name: name.to_string(),
                side,
                line: lab.hosts[h].name.span.line,
                reaches,
                reached_by,
                related,
            }
        };
        let hosts_added: Vec<HostSummary> = labs
            .new
            .hosts
            .iter()
            .filter(|h| labs.old.host_by_name(&h.name.value).is_none())
            .map(|h| summary(Side::New, &an, &h.name.value))
            .collect();
        let hosts_removed: Vec<HostSummary> = labs
            .old
            .hosts
            .iter()
            .filter(|h| labs.new.host_by_name(&h.name.value).is_none())
            .map(|h| summary(Side::Old, &ao, &h.name.value))
            .collect();
        let mut used: BTreeSet<usize> = pairs
            .iter()
            .flat_map(|p| p.changes.iter().flat_map(|c| c.causes.iter().copied()))
            .collect();
        used.extend(
            hosts_added
                .iter()
                .chain(&hosts_removed)
                .flat_map(|h| h.related.iter().copied()),
        );
        let no_effect = (0..changes.len()).filter(|i| !used.contains(i)).collect();
        LabDiff {
            old_file: labs.old.file.clone(),
            new_file: labs.new.file.clone(),
            changes,
            pairs,
            hosts_added,
            hosts_removed,
            no_effect,
        }
    }

    /// Whether reachability differs: a flow changed, or a host that only
    /// one lab has reaches or is reached by something.
    pub fn differs(&self) -> bool {
        !self.pairs.is_empty()
            || self
                .hosts_added
                .iter()
                .chain(&self.hosts_removed)
                .any(|h| !h.reaches.is_empty() || !h.reached_by.is_empty())
    }
}

/// Merges pairs with identical changes: first the sources of one
/// destination, then the destinations of the same sources. The order is
/// that of each group's first pair.
pub fn group_pairs(pairs: &[PairDiff]) -> Vec<FlowGroup> {
    let mut by_dst: Vec<FlowGroup> = Vec::new();
    for p in pairs {
        match by_dst
            .iter_mut()
            .find(|g| g.to == [p.to.clone()] && g.changes == p.changes)
        {
            Some(g) => g.from.push(p.from.clone()),
            None => by_dst.push(FlowGroup {
                from: vec![p.from.clone()],
                to: vec![p.to.clone()],
                changes: p.changes.clone(),
            }),
        }
    }
    let mut out: Vec<FlowGroup> = Vec::new();
    for g in by_dst {
        match out
            .iter_mut()
            .find(|o| o.from == g.from && o.changes == g.changes)
        {
            Some(o) => o.to.extend(g.to),
            None => out.push(g),
        }
    }
    out
}

/// `tcp 5432`, `udp 0-52, 54-65535`, `icmp echo`.
pub fn flow_text(proto: Proto, ports: &PortSet) -> String {
    match proto {
        Proto::Icmp => "icmp echo".into(),
        _ => format!("{} {ports}", proto.code()),
    }
}

/// One block as a line, with the line numbers of `side`'s file:
/// `nacl-inbound: data-nacl on data, inbound rule 90 (NEW:120), denies tcp 5432`.
pub fn block_text(proto: Proto, side: Side, b: &Block) -> String {
    let ports = |p: &PortSet| match proto {
        Proto::Icmp => "echo".to_string(),
        _ => p.to_string(),
    };
    let at = |line: u32| format!("{}:{line}", side.code());
    match b {
        Block::Route { leg, why } => {
            let what = match why {
                RouteBlock::Blackhole {
                    node,
                    prefix,
                    line: Some(l),
                } => format!("{node} routes {prefix} into a blackhole ({})", at(*l)),
                other => other.to_string(),
            };
            format!("{} ({}): {what}", b.code(), leg.code())
        }
        Block::SecurityGroup {
            direction,
            host,
            groups,
            ports: p,
            ..
        } => {
            let verb = match direction {
                Direction::Inbound => "admit",
                Direction::Outbound => "let out",
            };
            format!(
                "{}: {host}'s groups ({}) {verb} no {} {}",
                b.code(),
                groups.join(", "),
                proto.code(),
                ports(p)
            )
        }
        Block::Nacl {
            leg,
            direction,
            nacl,
            network,
            rule,
            line,
            ports: p,
        } => {
            let rule = match (rule, line) {
                (Some(n), Some(l)) => format!("rule {n} ({})", at(*l)),
                (Some(n), None) => format!("rule {n}"),
                _ => "rule * (no rule matched)".to_string(),
            };
            let what = match (leg, proto) {
                (Leg::Reply, Proto::Icmp) => "the echo reply".to_string(),
                (Leg::Reply, _) => format!("the reply to ephemeral ports {}", ports(p)),
                (Leg::Request, _) => format!("{} {}", proto.code(), ports(p)),
            };
            format!(
                "{}: {nacl} on {network}, {} {rule}, denies {what}",
                b.code(),
                direction.code()
            )
        }
    }
}

struct Labs<'a> {
    old: &'a Lab,
    new: &'a Lab,
}

impl<'a> Labs<'a> {
    fn get(&self, side: Side) -> &'a Lab {
        match side {
            Side::Old => self.old,
            Side::New => self.new,
        }
    }
}

const SIDES: [Side; 2] = [Side::Old, Side::New];

/// The two ends of a flow: host names, or for a source outside the lab
/// an empty name (no host has it) and one of its addresses.
#[derive(Clone, Copy)]
struct Ends<'a> {
    a: &'a str,
    a_addr: Option<IpAddr>,
    b: &'a str,
}

/// One flow change being explained.
struct Flow<'a> {
    a: &'a str,
    /// The source's address when it is not a host.
    a_addr: Option<IpAddr>,
    b: &'a str,
    family: Family,
    proto: Proto,
    ports: &'a PortSet,
    blocks: &'a [Block],
    /// Routers on any path of the pair in either lab, or named by a
    /// routing failure.
    routers: &'a BTreeSet<String>,
    /// The request or reply path differs between the labs, or routing
    /// fails for this flow.
    routing_matters: bool,
}

fn protos_reached(r: &Reach) -> Vec<(Proto, PortSet)> {
    Proto::ALL
        .iter()
        .map(|&p| (p, r.reachable(p)))
        .filter(|(_, s)| !s.is_empty())
        .collect()
}

impl Flow<'_> {
    /// The address of an end of the flow in `lab`.
    fn addr(&self, lab: &Lab, name: &str) -> Option<IpAddr> {
        match self.a_addr {
            Some(a) if name == self.a => Some(a),
            _ => host_addr(lab, name, self.family),
        }
    }
}

fn host_addr(lab: &Lab, name: &str, family: Family) -> Option<IpAddr> {
    let h = &lab.hosts[lab.host_by_name(name)?];
    match family {
        Family::Ipv4 => h.ipv4.map(IpAddr::V4),
        Family::Ipv6 => h.ipv6.map(IpAddr::V6),
    }
}

/// The blocks of `blocks` that drop some of `ports` (every reply and
/// routing block does: it drops the whole protocol).
/// Request-leg blocks keep only the ports of the change, so that each
/// line says what it drops of it.
fn blocks_for(proto: Proto, blocks: &[Block], ports: &PortSet) -> Vec<Block> {
    blocks
        .iter()
        .filter_map(|b| {
            let mut b = b.clone();
            match &mut b {
                Block::SecurityGroup { ports: p, .. }
                | Block::Nacl {
                    leg: Leg::Request,
                    ports: p,
                    ..
                } if proto != Proto::Icmp => {
                    *p = p.intersect(ports);
                    (!p.is_empty()).then_some(b)
                }
                _ => Some(b),
            }
        })
        .collect()
}

fn pair_changes(
    labs: &Labs,
    changes: &[ConfigChange],
    ends: Ends,
    ro: &[FamilyReach],
    rn: &[FamilyReach],
) -> Vec<FlowChange> {
    let Ends { a, a_addr, b } = ends;
    let mut routers: BTreeSet<String> = BTreeSet::new();
    for f in ro.iter().chain(rn) {
        routers.extend(f.path.iter().chain(&f.reply_path).cloned());
        for p in &f.protos {
            for blk in &p.blocks {
                if let Block::Route { why, .. } = blk {
                    match why {
                        RouteBlock::NoRoute { node, .. }
                        | RouteBlock::Blackhole { node, .. }
                        | RouteBlock::NextHopUnreachable { node, .. } => {
                            routers.insert(node.clone());
                        }
                        RouteBlock::Loop { routers: r } => routers.extend(r.iter().cloned()),
                        // No router on the network (its interfaces are
                        // matched below), or a source outside the lab.
                        RouteBlock::NoGateway { .. } | RouteBlock::NoWayIn => {}
                    }
                }
            }
        }
    }
    let mut out: Vec<FlowChange> = Vec::new();
    for proto in Proto::ALL {
        for family in [Family::Ipv4, Family::Ipv6] {
            let fo = ro.iter().find(|f| f.family == family);
            let fnew = rn.iter().find(|f| f.family == family);
            if fo.is_none() && fnew.is_none() {
                continue;
            }
            let po = fo.and_then(|f| f.protos.iter().find(|p| p.proto == proto));
            let pn = fnew.and_then(|f| f.protos.iter().find(|p| p.proto == proto));
            let reach_of =
                |p: Option<&crate::ProtoReach>| p.map_or(PortSet::empty(), |p| p.reachable.clone());
            let (old_r, new_r) = (reach_of(po), reach_of(pn));
            let paths_differ =
                fo.map(|f| (&f.path, &f.reply_path)) != fnew.map(|f| (&f.path, &f.reply_path));
            for (change, ports) in [
                (Change::Allowed, new_r.difference(&old_r)),
                (Change::Denied, old_r.difference(&new_r)),
            ] {
                if ports.is_empty() {
                    continue;
                }
                let side_blocks = match change {
                    Change::Allowed => po.map(|p| p.blocks.as_slice()).unwrap_or(&[]),
                    Change::Denied => pn.map(|p| p.blocks.as_slice()).unwrap_or(&[]),
                };
                let blocks = blocks_for(proto, side_blocks, &ports);
                let routing_fails = blocks.iter().any(|b| matches!(b, Block::Route { .. }));
                let flow = Flow {
                    a,
                    a_addr,
                    b,
                    family,
                    proto,
                    ports: &ports,
                    blocks: &blocks,
                    routers: &routers,
                    routing_matters: paths_differ || routing_fails,
                };
                let causes = causes(labs, changes, &flow);
                let ports = match proto {
                    Proto::Icmp => PortSet::single(0),
                    _ => ports,
                };
                let side = change.blocking_side();
                let key = |c: &FlowChange| {
                    (
                        c.proto,
                        c.change,
                        c.ports.clone(),
                        c.causes.clone(),
                        c.blocks
                            .iter()
                            .map(|b| block_text(c.proto, side, b))
                            .collect::<Vec<_>>(),
                    )
                };
                let fc = FlowChange {
                    families: vec![family],
                    proto,
                    change,
                    ports,
                    blocks,
                    causes,
                    sources: Vec::new(),
                    sources_all: false,
                };
                // The same change in another family: one entry.
                match out.iter_mut().find(|c| key(c) == key(&fc)) {
                    Some(c) => c.families.push(family),
                    None => out.push(fc),
                }
            }
        }
    }
    out.sort_by_key(|c| (c.proto, c.change));
    out
}

/// What changed from outside the lab to host `b`: the outside address
/// space of both labs overlaid (cut at every boundary of either lab's
/// answer groups), each piece that is outside in both compared like a
/// pair of hosts with that address as the source, and pieces with the
/// same change merged into its sources.
fn outside_changes(
    labs: &Labs,
    changes: &[ConfigChange],
    analyzers: [&Analyzer; 2],
    b: &str,
) -> Vec<FlowChange> {
    let answers: Vec<Vec<SourceReach>> = SIDES
        .iter()
        .zip(analyzers)
        .map(|(&side, an)| {
            let lab = labs.get(side);
            let to = lab.host_by_name(b).unwrap_or_default();
            an.reach_from(Origin::Outside, None, to)
        })
        .collect();
    let mut out: Vec<(FlowChange, Vec<(u128, u128)>)> = Vec::new();
    // Per family: the addresses outside the networks of both labs.
    let outside: [Vec<(u128, u128)>; 2] = [Family::Ipv4, Family::Ipv6].map(|f| {
        crate::addrs::intersect(
            &analyzers[0].origin_space(Origin::Outside, f),
            &analyzers[1].origin_space(Origin::Outside, f),
        )
    });
    for family in [Family::Ipv4, Family::Ipv6] {
        // Per lab: (first, last, answer) of each source block, sorted.
        let pieces: Vec<Vec<(u128, u128, &FamilyReach)>> = answers
            .iter()
            .map(|groups| {
                let mut v: Vec<(u128, u128, &FamilyReach)> = groups
                    .iter()
                    .filter(|g| g.reach.family == family)
                    .flat_map(|g| {
                        g.sources.iter().map(move |n| {
                            let (lo, hi) = crate::addrs::bounds(n);
                            (lo, hi, &g.reach)
                        })
                    })
                    .collect();
                v.sort_by_key(|&(lo, _, _)| lo);
                v
            })
            .collect();
        let mut cuts: Vec<u128> = pieces
            .iter()
            .flatten()
            .flat_map(|&(lo, hi, _)| [Some(lo), hi.checked_add(1)])
            .flatten()
            .filter(|&c| c <= crate::addrs::family_max(family))
            .collect();
        cuts.sort_unstable();
        cuts.dedup();
        let answer_at = |side: usize, at: u128| {
            let v = &pieces[side];
            let i = v.partition_point(|&(lo, _, _)| lo <= at);
            (i > 0 && v[i - 1].1 >= at).then(|| v[i - 1].2)
        };
        for (i, &lo) in cuts.iter().enumerate() {
            let hi = cuts
                .get(i + 1)
                .map_or(crate::addrs::family_max(family), |&n| n - 1);
            // Addresses outside in only one lab (a network added or
            // removed) are that lab's own: not compared as the outside.
            let (Some(ro), Some(rn)) = (answer_at(0, lo), answer_at(1, lo)) else {
                continue;
            };
            if ro.protos == rn.protos && ro.path == rn.path && ro.reply_path == rn.reply_path {
                continue;
            }
            let ends = Ends {
                a: "",
                a_addr: Some(crate::addrs::to_addr(family, lo)),
                b,
            };
            let flows = pair_changes(
                labs,
                changes,
                ends,
                std::slice::from_ref(ro),
                std::slice::from_ref(rn),
            );
            for fc in flows {
                match out.iter_mut().find(|(c, _)| *c == fc) {
                    Some((_, ranges)) => ranges.push((lo, hi)),
                    None => out.push((fc, vec![(lo, hi)])),
                }
            }
        }
    }
    // One entry per change, its sources as the fewest CIDRs (both
    // families when the change is the same in both).
    let mut merged: Vec<FlowChange> = Vec::new();
    for (mut fc, ranges) in out {
        let family = fc.families[0];
        let ranges = crate::addrs::normalize(ranges);
        let all = ranges == outside[usize::from(family == Family::Ipv6)];
        let cidrs = crate::addrs::to_cidrs(family, &ranges);
        let same = |c: &FlowChange| {
            (c.proto, c.change, &c.ports, &c.causes, &c.blocks)
                == (fc.proto, fc.change, &fc.ports, &fc.causes, &fc.blocks)
        };
        match merged.iter_mut().find(|c| same(c)) {
            Some(c) => {
                if !c.families.contains(&family) {
                    c.families.push(family);
                }
                c.sources.extend(cidrs);
                c.sources_all &= all;
            }
            None => {
                fc.sources = cidrs;
                fc.sources_all = all;
                merged.push(fc);
            }
        }
    }
    merged.sort_by_key(|c| (c.proto, c.change));
    merged
}

/// The configuration changes that explain one flow change, in order.
fn causes(labs: &Labs, changes: &[ConfigChange], flow: &Flow) -> Vec<usize> {
    let mut out: BTreeSet<usize> = BTreeSet::new();
    for (i, c) in changes.iter().enumerate() {
        let hit = match &c.subject {
            Subject::HostField { host, field } => {
                (host == flow.a || host == flow.b)
                    && match field {
                        HostField::Network => true,
                        HostField::Ipv4 | HostField::Gateway4 => flow.family == Family::Ipv4,
                        HostField::Ipv6 | HostField::Gateway6 => flow.family == Family::Ipv6,
                    }
            }
            Subject::Network { network } => SIDES.iter().any(|&s| {
                let lab = labs.get(s);
                [flow.a, flow.b].iter().any(|h| {
                    lab.host_by_name(h)
                        .is_some_and(|h| lab.networks[lab.hosts[h].network].name.value == *network)
                })
            }),
            Subject::Route { router, old, new } => {
                flow.routing_matters
                    && flow.routers.contains(router)
                    && route_concerns(labs, router, *old, *new, flow)
            }
            Subject::RouterInterface { router, network } => {
                flow.routing_matters
                    && (flow.routers.contains(router)
                        || flow.blocks.iter().any(|b| {
                            matches!(b, Block::Route { why: RouteBlock::NoGateway { network: n }, .. } if n == network)
                        }))
            }
            Subject::Router { router } => flow.routing_matters && flow.routers.contains(router),
            Subject::HostAdded { .. } | Subject::HostRemoved { .. } => false,
            Subject::NaclAssociation { network } => flow
                .blocks
                .iter()
                .any(|b| matches!(b, Block::Nacl { network: w, .. } if w == network)),
            Subject::NaclRule { .. } => false, // below, block by block
            Subject::SgRule { .. }
            | Subject::SgOutboundList { .. }
            | Subject::Membership { .. } => flow
                .blocks
                .iter()
                .any(|b| sg_change_concerns(labs, &c.subject, b, flow)),
        };
        if hit {
            out.insert(i);
        }
    }
    // NACL rules: the rule a block names, when it was edited; otherwise
    // every edited rule of that list that matches the packet.
    for b in flow.blocks {
        let Block::Nacl { rule, .. } = b else {
            continue;
        };
        let candidates: Vec<usize> = changes
            .iter()
            .enumerate()
            .filter(|(_, c)| nacl_change_concerns(labs, &c.subject, b, flow))
            .map(|(i, _)| i)
            .collect();
        let exact: Vec<usize> = candidates
            .iter()
            .copied()
            .filter(|&i| {
                matches!(&changes[i].subject, Subject::NaclRule { number, .. } if Some(*number) == *rule)
            })
            .collect();
        out.extend(if exact.is_empty() { candidates } else { exact });
    }
    out.into_iter().collect()
}

/// Whether the route's prefix (in the lab that has it) covers either end
/// of the flow.
fn route_concerns(
    labs: &Labs,
    router: &str,
    old: Option<usize>,
    new: Option<usize>,
    flow: &Flow,
) -> bool {
    SIDES.iter().zip([old, new]).any(|(&side, idx)| {
        let lab = labs.get(side);
        let (Some(idx), Some(r)) = (idx, lab.router_by_name(router)) else {
            return false;
        };
        let route = &lab.routers[r].routes[idx];
        [flow.a, flow.b]
            .iter()
            .filter_map(|h| flow.addr(lab, h))
            .any(|addr| route.to.contains(&addr))
    })
}

/// Whether a rule of protocol `rp`, ports, ICMP type and code can match a
/// packet of the flow's protocol on `leg` to one of `ports`.
#[allow(clippy::too_many_arguments)]
fn rule_hits(
    rp: RuleProto,
    rule_ports: Option<PortRange>,
    icmp_type: Option<u8>,
    icmp_code: Option<u8>,
    proto: Proto,
    family: Family,
    leg: Leg,
    ports: &PortSet,
) -> bool {
    match rp.number() {
        None => true,
        Some(n) if n != proto.number(family) => false,
        Some(_) if proto == Proto::Icmp => {
            let (request, reply) = Proto::echo(family);
            let t = if leg == Leg::Request { request } else { reply };
            icmp_type.is_none_or(|x| x == t) && icmp_code.is_none_or(|c| c == 0)
        }
        Some(_) => {
            let r = rule_ports.unwrap_or(PortRange::ALL);
            !ports.intersect(&PortSet::range(r.first, r.last)).is_empty()
        }
    }
}

fn sg_rule_hits(r: &SgRule, flow: &Flow) -> bool {
    rule_hits(
        r.proto,
        r.ports,
        r.icmp_type,
        r.icmp_code,
        flow.proto,
        flow.family,
        Leg::Request,
        flow.ports,
    )
}

/// Whether a security-group edit concerns the group check `block` made
/// (in either lab).
fn sg_change_concerns(labs: &Labs, subject: &Subject, block: &Block, flow: &Flow) -> bool {
    let Block::SecurityGroup { direction, .. } = block else {
        return false;
    };
    let direction = *direction;
    // The host whose groups decide, and the peer they must name.
    let (me, peer) = match direction {
        Direction::Outbound => (flow.a, flow.b),
        Direction::Inbound => (flow.b, flow.a),
    };
    SIDES.iter().any(|&side| {
        let lab = labs.get(side);
        // The deciding host is always a host (a source outside the lab
        // has no group); the peer may be an outside address.
        let Some(h) = lab.host_by_name(me) else {
            return false;
        };
        let o = lab.host_by_name(peer);
        let group_id = |name: &str| {
            lab.security_groups
                .iter()
                .position(|g| g.name.value == name)
        };
        let rules = |g: usize| -> Option<&[SgRule]> {
            let sg = &lab.security_groups[g];
            match direction {
                Direction::Inbound => Some(&sg.inbound),
                Direction::Outbound => sg.outbound.as_deref(),
            }
        };
        let peer_addr = flow.addr(lab, peer);
        let peer_ok = |p: &Peer| match p {
            Peer::Cidr(n) => peer_addr.is_some_and(|a| n.contains(&a)),
            Peer::Group(g) => o.is_some_and(|o| lab.hosts[o].security_groups.contains(g)),
        };
        let carries = |host: usize, g: usize| lab.hosts[host].security_groups.contains(&g);
        match subject {
            Subject::SgRule {
                group,
                direction: d,
                old,
                new,
            } => {
                let idx = if side == Side::Old { *old } else { *new };
                let (Some(idx), Some(g)) = (idx, group_id(group)) else {
                    return false;
                };
                *d == direction
                    && carries(h, g)
                    && rules(g)
                        .and_then(|r| r.get(idx))
                        .is_some_and(|r| sg_rule_hits(r, flow) && peer_ok(&r.peer))
            }
            Subject::SgOutboundList { group } => {
                direction == Direction::Outbound && group_id(group).is_some_and(|g| carries(h, g))
            }
            Subject::Membership { host, group } => {
                let Some(g) = group_id(group) else {
                    return false;
                };
                if host == me && carries(h, g) {
                    match rules(g) {
                        None => true,
                        Some(r) => r.iter().any(|r| sg_rule_hits(r, flow) && peer_ok(&r.peer)),
                    }
                } else if host == peer && o.is_some_and(|o| carries(o, g)) {
                    lab.hosts[h].security_groups.iter().any(|&mine| {
                        rules(mine).is_some_and(|r| {
                            r.iter()
                                .any(|r| r.peer == Peer::Group(g) && sg_rule_hits(r, flow))
                        })
                    })
                } else {
                    false
                }
            }
            _ => false,
        }
    })
}

/// Whether a NACL-rule edit concerns the NACL list `block` names: the
/// rule (in a lab that has it) matches the flow's packet on that leg.
fn nacl_change_concerns(labs: &Labs, subject: &Subject, block: &Block, flow: &Flow) -> bool {
    let (
        Subject::NaclRule {
            nacl,
            direction,
            number,
        },
        Block::Nacl {
            leg,
            direction: bd,
            nacl: bn,
            ..
        },
    ) = (subject, block)
    else {
        return false;
    };
    if nacl != bn || direction != bd {
        return false;
    }
    SIDES.iter().any(|&side| {
        let lab = labs.get(side);
        let Some(x) = lab.nacls.iter().find(|n| n.name.value == *nacl) else {
            return false;
        };
        let list = match direction {
            Direction::Inbound => &x.inbound,
            Direction::Outbound => &x.outbound,
        };
        let Some(r) = list.iter().find(|r| r.number == *number) else {
            return false;
        };
        let (src, dst) = match leg {
            Leg::Request => (flow.a, flow.b),
            Leg::Reply => (flow.b, flow.a),
        };
        let peer = match direction {
            Direction::Inbound => src,
            Direction::Outbound => dst,
        };
        let ephemeral = PortSet::range(EPHEMERAL.0, EPHEMERAL.1);
        let ports = match leg {
            Leg::Request => flow.ports,
            Leg::Reply => &ephemeral,
        };
        flow.addr(lab, peer).is_some_and(|a| r.cidr.contains(&a))
            && rule_hits(
                r.proto,
                r.ports,
                r.icmp_type,
                r.icmp_code,
                flow.proto,
                flow.family,
                *leg,
                ports,
            )
    })
}

/// Changes that concern only a host one lab lacks: its own addition or
/// removal, and edits of groups that only such hosts carry.
fn related_changes(labs: &Labs, changes: &[ConfigChange], side: Side, name: &str) -> Vec<usize> {
    let lab = labs.get(side);
    let other = labs.get(match side {
        Side::Old => Side::New,
        Side::New => Side::Old,
    });
    // Groups carried in `lab` only by hosts the other lab lacks.
    let only_theirs = |group: &str| {
        let Some(g) = lab
            .security_groups
            .iter()
            .position(|x| x.name.value == group)
        else {
            return false;
        };
        let carriers: Vec<&str> = lab
            .hosts
            .iter()
            .filter(|h| h.security_groups.contains(&g))
            .map(|h| h.name.value.as_str())
            .collect();
        carriers.contains(&name) && carriers.iter().all(|c| other.host_by_name(c).is_none())
    };
    changes
        .iter()
        .enumerate()
        .filter(|(_, c)| match &c.subject {
            Subject::HostAdded { host } | Subject::HostRemoved { host } => host == name,
            Subject::SgRule { group, .. } | Subject::SgOutboundList { group } => only_theirs(group),
            _ => false,
        })
        .map(|(i, _)| i)
        .collect()
}
