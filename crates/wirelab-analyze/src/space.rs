//! Sources that are address ranges rather than hosts: the addresses of a
//! network, and the outside world (every address no network of the lab
//! holds). Their answers are grouped by source addresses, printed as the
//! fewest CIDR blocks.
//!
//! The source address space is cut, like the port space, at every
//! boundary that can change an answer: every prefix a security-group or
//! NACL rule names, every route prefix of every node, every network's
//! prefix, and every assigned address (a security group named as a peer
//! matches its members' addresses). Within one piece every filter and
//! every route lookup decides alike, so one address per piece decides it.

use std::net::IpAddr;

use ipnet::IpNet;
use wirelab_net::{Network, NodeId, SegmentId};
use wirelab_spec::{Family, HostId, Peer};

use crate::addrs::{self, bounds, family_max, to_addr, to_cidrs, to_int};
use crate::{Analyzer, Arrive, FamilyReach, PortSet, Proto, RouteBlock, Walk};

/// Where the packets of an address source come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    /// Addresses of a network. A host's address sends as that host (its
    /// groups, its gateway); any other address as a machine with no
    /// security group (a new or unmanaged device) through the network's
    /// gateway.
    Network(SegmentId),
    /// Addresses outside every network of the lab. They come in where the
    /// lab's routes lead out: at the router whose next hop toward the
    /// source is no node of the lab, on that next hop's network.
    Outside,
}

/// What one group of source addresses gets to a host: every address of
/// the group gets the same answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceReach {
    pub origin: Origin,
    /// The source addresses, as the fewest CIDR blocks.
    pub sources: Vec<IpNet>,
    /// The network the requests enter by (`None`: routing gives them no way in).
    pub entry: Option<String>,
    /// The answer, computed for the group's first address (`reach.src`).
    pub reach: FamilyReach,
}

/// What a host gets to one group of addresses outside the lab: every
/// address of the group gets the same answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutsideReach {
    /// The destination addresses, as the fewest CIDR blocks.
    pub destinations: Vec<IpNet>,
    /// The network the requests leave the lab by (`None`: no route leads
    /// out toward them).
    pub exit: Option<String>,
    /// The answer, computed for the group's first address (`reach.dst`).
    pub reach: FamilyReach,
}

/// A port of a host that public addresses reach, request and reply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Exposure {
    pub family: Family,
    pub proto: Proto,
    pub ports: PortSet,
    /// The public source addresses that reach those ports (fewest CIDRs).
    pub sources: Vec<String>,
    /// The network the requests enter by, or `internet` for addresses
    /// outside the lab.
    pub entry: String,
    /// The routers the requests cross.
    pub path: Vec<String>,
}

/// Every prefix that a security-group rule (as its peer), a NACL rule, a
/// route of any node or a network names.
pub fn named_prefixes(net: &Network) -> Vec<IpNet> {
    let lab = &net.lab;
    let mut out = Vec::new();
    for g in &lab.security_groups {
        for r in g.inbound.iter().chain(g.outbound.iter().flatten()) {
            if let Peer::Cidr(n) = &r.peer {
                out.push(*n);
            }
        }
    }
    for n in &lab.nacls {
        out.extend(n.inbound.iter().chain(&n.outbound).map(|r| r.cidr));
    }
    for node in &net.nodes {
        out.extend(node.routes.routes().iter().map(|r| r.prefix));
    }
    for seg in &net.segments {
        out.extend(seg.ipv4.map(IpNet::V4));
        out.extend(seg.ipv6.map(IpNet::V6));
    }
    out
}

/// Every boundary of the address space of each family (IPv4, IPv6): the
/// named prefixes and every assigned address (a group named as a peer
/// matches its members' addresses).
pub(crate) fn address_cuts(net: &Network) -> [Vec<u128>; 2] {
    let addresses = net.ifaces.iter().flat_map(|i| {
        i.ipv4
            .map(IpAddr::V4)
            .into_iter()
            .chain(i.ipv6.map(IpAddr::V6))
            .map(IpNet::from)
    });
    addrs::cut_starts(named_prefixes(net).into_iter().chain(addresses))
}

impl Analyzer<'_> {
    /// What the addresses of `origin` (only those within `within`, when
    /// given) get to host `to`, in groups of addresses with one answer,
    /// for every family `to` has an address of.
    pub fn reach_from(
        &self,
        origin: Origin,
        within: Option<IpNet>,
        to: HostId,
    ) -> Vec<SourceReach> {
        let mut out = Vec::new();
        for family in [Family::Ipv4, Family::Ipv6] {
            let mut space = self.origin_space(origin, family);
            if let Some(w) = within {
                if addrs::family_of(&w) != family {
                    continue;
                }
                space = addrs::intersect(&space, &[bounds(&w)]);
            }
            out.extend(self.reach_ranges(origin, family, &space, to));
        }
        out
    }

    /// Everything an address prefix gets to `to`: its part in each
    /// network of the lab as that network's addresses, the rest as the
    /// outside.
    pub fn reach_from_prefix(&self, prefix: IpNet, to: HostId) -> Vec<SourceReach> {
        let mut out = Vec::new();
        for seg in 0..self.net.segments.len() {
            out.extend(self.reach_from(Origin::Network(seg), Some(prefix), to));
        }
        out.extend(self.reach_from(Origin::Outside, Some(prefix), to));
        out
    }

    /// Every port of `to` that public addresses reach (see
    /// [`addrs::non_public`] for what is not public): addresses of the
    /// lab's networks with public prefixes, and addresses outside the lab.
    pub fn public_exposure(&self, to: HostId) -> Vec<Exposure> {
        if self.explain {
            // Exposures carry no explanation: skip writing them.
            return self.lean().public_exposure(to);
        }
        let mut out = Vec::new();
        for family in [Family::Ipv4, Family::Ipv6] {
            for origin in self.origins() {
                let space = self.public_space(origin, family);
                for group in self.reach_ranges(origin, family, &space, to) {
                    for p in &group.reach.protos {
                        if p.reachable.is_empty() {
                            continue;
                        }
                        out.push(Exposure {
                            family,
                            proto: p.proto,
                            ports: p.reachable.clone(),
                            sources: group.sources.iter().map(|n| n.to_string()).collect(),
                            entry: match origin {
                                Origin::Network(s) => self.net.segments[s].name.clone(),
                                Origin::Outside => "internet".to_string(),
                            },
                            path: group.reach.path.clone(),
                        });
                    }
                }
            }
        }
        out
    }

    /// This analyzer without explanations, sharing the classes (made here
    /// once, for every later call).
    pub(crate) fn lean(&self) -> Analyzer<'_> {
        self.classes_and_cuts();
        Analyzer {
            net: self.net,
            atoms: self.atoms.clone(),
            icmp_atoms: self.icmp_atoms.clone(),
            addr_cuts: self.addr_cuts.clone(),
            explain: false,
            classes: self.classes.clone(),
        }
    }

    /// The public part of an origin's addresses of a family.
    pub(crate) fn public_space(&self, origin: Origin, family: Family) -> Vec<(u128, u128)> {
        let public = addrs::difference(&[(0, family_max(family))], &addrs::non_public(family));
        addrs::intersect(&self.origin_space(origin, family), &public)
    }

    /// What host `from` gets to addresses outside the lab (only those
    /// within `within`, when given), in groups of addresses with one
    /// answer, for every family `from` has an address of. The requests
    /// leave where the routes lead out (the router whose next hop is no
    /// node of the lab, on that next hop's network); outside has no
    /// security group, and the replies come back in the same way.
    pub fn reach_outside(&self, from: HostId, within: Option<IpNet>) -> Vec<OutsideReach> {
        let host = &self.net.lab.hosts[from];
        let from_node = self.net.host_node(from);
        let classes = self.classes_and_cuts();
        let mut out = Vec::new();
        for family in [Family::Ipv4, Family::Ipv6] {
            let src = match family {
                Family::Ipv4 => host.ipv4.map(IpAddr::V4),
                Family::Ipv6 => host.ipv6.map(IpAddr::V6),
            };
            let Some(src) = src else { continue };
            let mut space = self.origin_space(Origin::Outside, family);
            if let Some(w) = within {
                if addrs::family_of(&w) != family {
                    continue;
                }
                space = addrs::intersect(&space, &[bounds(&w)]);
            }
            let fi = matches!(family, Family::Ipv6) as usize;
            let cuts = &self.addr_cuts[fi];
            let mut groups: Vec<Group> = Vec::new();
            let mut seen: std::collections::HashMap<usize, usize> =
                std::collections::HashMap::new();
            for &(lo, hi) in &space {
                let first = cuts.partition_point(|&c| c <= lo);
                let mut starts = vec![lo];
                starts.extend(cuts[first..].iter().take_while(|&&c| c <= hi).copied());
                for (i, &a) in starts.iter().enumerate() {
                    let b = starts.get(i + 1).map_or(hi, |&n| n - 1);
                    // Outside addresses of one prefix-cut piece answer alike.
                    let piece = classes.1[fi].partition_point(|&c| c <= a);
                    if let Some(&g) = seen.get(&piece) {
                        groups[g].2.push((a, b));
                        continue;
                    }
                    let dst = to_addr(family, a);
                    let there = self.walk(from_node, None, dst, Arrive::Outside);
                    let (back, exit) = match &there {
                        Ok(w) => {
                            let (r, s) = w.exit.expect("a walk outside ends at an exit");
                            (
                                self.walk(r, Some(s), src, Arrive::Host),
                                Some(self.net.segments[s].name.clone()),
                            )
                        }
                        Err(_) => (Err(RouteBlock::NoWayIn), None),
                    };
                    let mut reach =
                        self.exchange(Some(from), None, family, src, dst, &there, &back);
                    reach.entry = exit;
                    let key = answer_key_dst(&reach);
                    let g = match groups.iter().position(|(_, k, _)| *k == key) {
                        Some(g) => {
                            groups[g].2.push((a, b));
                            g
                        }
                        None => {
                            groups.push((reach, key, vec![(a, b)]));
                            groups.len() - 1
                        }
                    };
                    seen.insert(piece, g);
                }
            }
            out.extend(groups.into_iter().map(|(reach, _, pieces)| OutsideReach {
                destinations: to_cidrs(family, &addrs::normalize(pieces)),
                exit: reach.entry.clone(),
                reach,
            }));
        }
        out
    }

    /// Every origin: each network, then the outside.
    pub(crate) fn origins(&self) -> impl Iterator<Item = Origin> {
        (0..self.net.segments.len())
            .map(Origin::Network)
            .chain([Origin::Outside])
    }

    /// The addresses of an origin, as normalized intervals.
    pub(crate) fn origin_space(&self, origin: Origin, family: Family) -> Vec<(u128, u128)> {
        let prefix = |seg: &wirelab_net::Segment| -> Option<IpNet> {
            match family {
                Family::Ipv4 => seg.ipv4.map(IpNet::V4),
                Family::Ipv6 => seg.ipv6.map(IpNet::V6),
            }
        };
        match origin {
            Origin::Network(s) => prefix(&self.net.segments[s])
                .map(|p| vec![bounds(&p)])
                .unwrap_or_default(),
            Origin::Outside => {
                let inside = addrs::normalize(
                    self.net
                        .segments
                        .iter()
                        .filter_map(prefix)
                        .map(|p| bounds(&p))
                        .collect(),
                );
                addrs::difference(&[(0, family_max(family))], &inside)
            }
        }
    }

    /// Cuts `space` into pieces, answers each piece and merges the pieces
    /// with equal answers.
    fn reach_ranges(
        &self,
        origin: Origin,
        family: Family,
        space: &[(u128, u128)],
        to: HostId,
    ) -> Vec<SourceReach> {
        let host = &self.net.lab.hosts[to];
        let dst = match family {
            Family::Ipv4 => host.ipv4.map(IpAddr::V4),
            Family::Ipv6 => host.ipv6.map(IpAddr::V6),
        };
        let Some(dst) = dst else {
            return Vec::new();
        };
        let cuts = &self.addr_cuts[matches!(family, Family::Ipv6) as usize];
        // The destination does not send to itself.
        let own = to_int(dst);
        let space = addrs::difference(space, &[(own, own)]);
        let mut groups: Vec<Group> = Vec::new();
        let classes = self.classes_and_cuts();
        let fi = matches!(family, Family::Ipv6) as usize;
        let mut seen: std::collections::HashMap<(bool, usize), usize> =
            std::collections::HashMap::new();
        for &(lo, hi) in &space {
            let first = cuts.partition_point(|&c| c <= lo);
            let mut starts = vec![lo];
            starts.extend(cuts[first..].iter().take_while(|&&c| c <= hi).copied());
            for (i, &a) in starts.iter().enumerate() {
                let b = starts.get(i + 1).map_or(hi, |&n| n - 1);
                let src = to_addr(family, a);
                // Pieces that must answer alike share one computation: a
                // host's address answers as its class, any other address
                // as its piece of the prefix-cut space.
                let alike = match self
                    .net
                    .owner(src)
                    .and_then(|i| self.net.host_of(self.net.ifaces[i].node))
                {
                    Some(h) => (true, classes.0[h]),
                    None => (false, classes.1[fi].partition_point(|&c| c <= a)),
                };
                if let Some(&g) = seen.get(&alike) {
                    groups[g].2.push((a, b));
                    continue;
                }
                let reach = self.reach_origin_address(origin, family, src, to, dst);
                let key = answer_key(&reach);
                let g = match groups.iter().position(|(_, k, _)| *k == key) {
                    Some(g) => {
                        groups[g].2.push((a, b));
                        g
                    }
                    None => {
                        groups.push((reach, key, vec![(a, b)]));
                        groups.len() - 1
                    }
                };
                seen.insert(alike, g);
            }
        }
        groups
            .into_iter()
            .map(|(reach, _, pieces)| {
                let entry = self.entry_of(origin, &reach);
                SourceReach {
                    origin,
                    sources: to_cidrs(family, &addrs::normalize(pieces)),
                    entry,
                    reach,
                }
            })
            .collect()
    }

    fn entry_of(&self, origin: Origin, reach: &FamilyReach) -> Option<String> {
        match origin {
            Origin::Network(s) => Some(self.net.segments[s].name.clone()),
            Origin::Outside => reach.entry.clone(),
        }
    }

    /// One source address of an origin to `dst`, the address of host `to`.
    pub(crate) fn reach_origin_address(
        &self,
        origin: Origin,
        family: Family,
        src: IpAddr,
        to: HostId,
        dst: IpAddr,
    ) -> FamilyReach {
        // An address of a host sends as that host: its groups and its
        // own gateway (a security group named as a peer matches its
        // members, never an unmanaged device that borrows the address).
        if let Some(h) = self
            .net
            .owner(src)
            .and_then(|i| self.net.host_of(self.net.ifaces[i].node))
        {
            let mut reach = self.family(h, to, family, src, dst);
            reach.entry = None;
            return reach;
        }
        let to_node = self.net.host_node(to);
        let (there, back, entry) = match origin {
            Origin::Network(seg) => {
                let back = self.walk(to_node, None, src, Arrive::Segment(seg));
                let there = if self.net.lab.hosts[to].network == seg {
                    Ok(Walk::direct())
                } else {
                    match self.network_gateway(seg, family) {
                        Some(r) => self.walk(r, Some(seg), dst, Arrive::Host),
                        None => Err(RouteBlock::NoGateway {
                            network: self.net.segments[seg].name.clone(),
                        }),
                    }
                };
                (there, back, None)
            }
            Origin::Outside => {
                let back = self.walk(to_node, None, src, Arrive::Outside);
                let (there, entry) = match &back {
                    Ok(w) => {
                        let (r, s) = w.exit.expect("a walk outside ends at an exit");
                        (
                            self.walk(r, Some(s), dst, Arrive::Host),
                            Some(self.net.segments[s].name.clone()),
                        )
                    }
                    Err(_) => (Err(RouteBlock::NoWayIn), None),
                };
                (there, back, entry)
            }
        };
        let mut reach = self.exchange(None, Some(to), family, src, dst, &there, &back);
        reach.entry = entry;
        reach
    }

    /// The router that the hosts of a network send through: the gateway
    /// most of its hosts name (the lowest address on a tie), else the only
    /// router with an address of the family on it.
    fn network_gateway(&self, seg: SegmentId, family: Family) -> Option<NodeId> {
        let net = self.net;
        let mut votes: Vec<(IpAddr, usize)> = Vec::new();
        for h in net.lab.hosts.iter().filter(|h| h.network == seg) {
            let gw = match family {
                Family::Ipv4 => h.gateway4.map(IpAddr::V4),
                Family::Ipv6 => h.gateway6.map(IpAddr::V6),
            };
            if let Some(gw) = gw {
                match votes.iter_mut().find(|(a, _)| *a == gw) {
                    Some((_, n)) => *n += 1,
                    None => votes.push((gw, 1)),
                }
            }
        }
        votes.sort_by(|x, y| y.1.cmp(&x.1).then(x.0.cmp(&y.0)));
        let router_at = |a: IpAddr| {
            net.owner(a)
                .filter(|&i| net.ifaces[i].segment == seg)
                .map(|i| net.ifaces[i].node)
                .filter(|&n| net.nodes[n].is_router())
        };
        if let Some(n) = votes.first().and_then(|&(a, _)| router_at(a)) {
            return Some(n);
        }
        let routers: Vec<NodeId> = net.segments[seg]
            .ifaces
            .iter()
            .filter(|&&i| net.ifaces[i].addr(matches!(family, Family::Ipv6)).is_some())
            .map(|&i| net.ifaces[i].node)
            .filter(|&n| net.nodes[n].is_router())
            .collect();
        match routers.as_slice() {
            [only] => Some(*only),
            _ => None,
        }
    }
}

/// [`answer_key`] for answers that differ by destination address.
fn answer_key_dst(reach: &FamilyReach) -> FamilyReach {
    let mut r = reach.clone();
    let dst = r.dst;
    let unspecified = match dst {
        IpAddr::V4(_) => IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED),
        IpAddr::V6(_) => IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED),
    };
    r.dst = unspecified;
    for p in &mut r.protos {
        for b in &mut p.blocks {
            if let crate::Block::Route {
                why: RouteBlock::NoRoute { dst: d, .. },
                ..
            } = b
            {
                if *d == dst {
                    *d = unspecified;
                }
            }
        }
    }
    r
}

/// An answer, its key, and the pieces of address space that get it.
type Group = (FamilyReach, FamilyReach, Vec<(u128, u128)>);

/// What makes two answers the same for merging source addresses: all of
/// it but the source address itself.
fn answer_key(reach: &FamilyReach) -> FamilyReach {
    let mut r = reach.clone();
    let unspecified = match r.src {
        IpAddr::V4(_) => IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED),
        IpAddr::V6(_) => IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED),
    };
    let src = r.src;
    r.src = unspecified;
    for p in &mut r.protos {
        for b in &mut p.blocks {
            if let crate::Block::Route {
                why: RouteBlock::NoRoute { dst, .. },
                ..
            } = b
            {
                if *dst == src {
                    *dst = unspecified;
                }
            }
        }
    }
    r
}
