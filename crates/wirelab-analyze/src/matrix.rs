//! The full reachability matrix (every host to every host), computed once
//! per pair of *equivalence classes* of hosts rather than once per pair.
//!
//! Two hosts answer alike — as sources and as destinations — when they
//! sit on the same network with the same gateways, carry the same
//! security groups (so every rule naming a group as its peer matches both
//! or neither), and their addresses fall in the same piece of the address
//! space cut at every prefix any rule, route or network names (so every
//! CIDR peer, NACL rule and route lookup treats them alike). The answer of
//! one representative pair then holds for every pair of the two classes;
//! a test holds the class answers to the pair-by-pair ones.

use std::collections::BTreeMap;
use std::net::IpAddr;

use ipnet::IpNet;
use wirelab_spec::{HostId, Peer, SecurityGroupId};

use crate::addrs::{bounds, family_max, to_int};
use crate::{Analyzer, PortSet, Proto, Reach};

/// What makes hosts equivalent (see the module documentation).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct ClassKey {
    network: usize,
    gateways: (Option<IpAddr>, Option<IpAddr>),
    groups: Vec<SecurityGroupId>,
    /// The piece of the prefix-cut address space of each address.
    pieces: (Option<usize>, Option<usize>),
}

/// Every host to every host.
pub struct Matrix {
    /// The class of each host.
    pub class_of: Vec<usize>,
    /// The members of each class, in host order.
    pub classes: Vec<Vec<HostId>>,
    /// The answer per ordered pair of classes (`None` for a class to
    /// itself when it has a single member: a host does not reach itself).
    answers: Vec<Option<Reach>>,
}

impl Matrix {
    /// What `from` reaches on `to`, from its classes' answer (the host
    /// ids in it are the representatives').
    pub fn get(&self, from: HostId, to: HostId) -> Option<&Reach> {
        let n = self.classes.len();
        self.answers[self.class_of[from] * n + self.class_of[to]].as_ref()
    }

    /// The reachable ports of `proto` from `from` to `to`, all families.
    pub fn reachable(&self, from: HostId, to: HostId, proto: Proto) -> PortSet {
        self.get(from, to)
            .map_or(PortSet::empty(), |r| r.reachable(proto))
    }

    /// Ordered pairs of distinct hosts for which something is reachable.
    pub fn reaching_pairs(&self) -> u64 {
        let n = self.classes.len();
        let mut total = 0u64;
        for a in 0..n {
            for b in 0..n {
                let Some(r) = &self.answers[a * n + b] else {
                    continue;
                };
                if r.anything() {
                    let (sa, sb) = (self.classes[a].len() as u64, self.classes[b].len() as u64);
                    total += if a == b { sa * (sa - 1) } else { sa * sb };
                }
            }
        }
        total
    }
}

impl Analyzer<'_> {
    /// The classes of equivalent hosts: each host's class, and each
    /// class's members in host order.
    pub fn host_classes(&self) -> (Vec<usize>, Vec<Vec<HostId>>) {
        let lab = &self.net.lab;
        let cuts = self.prefix_cuts();
        let piece = |a: Option<IpAddr>| {
            a.map(|a| {
                let v = to_int(a);
                let c = &cuts[a.is_ipv6() as usize];
                c.partition_point(|&x| x <= v)
            })
        };
        let mut keys: BTreeMap<ClassKey, usize> = BTreeMap::new();
        let mut classes: Vec<Vec<HostId>> = Vec::new();
        let mut class_of = Vec::with_capacity(lab.hosts.len());
        for (id, h) in lab.hosts.iter().enumerate() {
            let mut groups = h.security_groups.clone();
            groups.sort_unstable();
            groups.dedup();
            let key = ClassKey {
                network: h.network,
                gateways: (h.gateway4.map(IpAddr::V4), h.gateway6.map(IpAddr::V6)),
                groups,
                pieces: (piece(h.ipv4.map(IpAddr::V4)), piece(h.ipv6.map(IpAddr::V6))),
            };
            let next = classes.len();
            let c = *keys.entry(key).or_insert(next);
            if c == next {
                classes.push(Vec::new());
            }
            classes[c].push(id);
            class_of.push(c);
        }
        (class_of, classes)
    }

    /// The full matrix, by classes of equivalent hosts.
    pub fn matrix(&self) -> Matrix {
        let (class_of, classes) = self.host_classes();
        let n = classes.len();
        let mut answers = Vec::with_capacity(n * n);
        for a in 0..n {
            for b in 0..n {
                let from = classes[a][0];
                let to = if a == b {
                    classes[b].get(1).copied()
                } else {
                    Some(classes[b][0])
                };
                answers.push(to.map(|to| self.reach(from, to)));
            }
        }
        Matrix {
            class_of,
            classes,
            answers,
        }
    }

    /// Starts of the pieces of each family's address space cut at every
    /// prefix a rule, a route or a network names (not at single host
    /// addresses, unless a rule names one).
    fn prefix_cuts(&self) -> [Vec<u128>; 2] {
        let mut cuts = [vec![0u128], vec![0u128]];
        let mut add = |n: &IpNet| {
            let (a, b) = bounds(n);
            let v6 = matches!(n, IpNet::V6(_));
            let c = &mut cuts[v6 as usize];
            c.push(a);
            if b < family_max(crate::addrs::family_of(n)) {
                c.push(b + 1);
            }
        };
        let lab = &self.net.lab;
        for g in &lab.security_groups {
            for r in g.inbound.iter().chain(g.outbound.iter().flatten()) {
                if let Peer::Cidr(n) = &r.peer {
                    add(n);
                }
            }
        }
        for n in &lab.nacls {
            for r in n.inbound.iter().chain(&n.outbound) {
                add(&r.cidr);
            }
        }
        for node in &self.net.nodes {
            for r in node.routes.routes() {
                add(&r.prefix);
            }
        }
        for seg in &self.net.segments {
            let prefixes = seg
                .ipv4
                .map(IpNet::V4)
                .into_iter()
                .chain(seg.ipv6.map(IpNet::V6));
            for p in prefixes {
                add(&p);
            }
        }
        cuts.map(|mut c| {
            c.sort_unstable();
            c.dedup();
            c
        })
    }
}
