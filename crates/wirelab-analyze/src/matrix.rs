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

use wirelab_spec::{HostId, SecurityGroupId};

use wirelab_spec::Family;

use crate::addrs::to_int;
use crate::fast::{FamilyMasks, Fast};
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

/// No answer in a cell: a host to itself, or a family not in common.
const NONE: u32 = u32::MAX;

/// The answers per ordered pair of classes.
enum Answers {
    /// Bit masks over the port atoms (the bulk path), per family.
    /// Each cell holds, per family, an index into `table` (the distinct
    /// answers: a lab has few), or [`NONE`].
    Masks {
        atoms: Vec<(u16, u16)>,
        table: Vec<FamilyMasks>,
        cells: Vec<[u32; 2]>,
    },
    /// Whole answers, when the lab has too many port atoms for masks.
    Reaches(Vec<Option<Reach>>),
}

/// Every host to every host.
pub struct Matrix {
    /// The class of each host.
    pub class_of: Vec<usize>,
    /// The members of each class, in host order.
    pub classes: Vec<Vec<HostId>>,
    /// Per ordered pair of classes (`None` for a class to itself when it
    /// has a single member: a host does not reach itself).
    answers: Answers,
}

impl Matrix {
    fn cell(&self, from: HostId, to: HostId) -> usize {
        self.class_of[from] * self.classes.len() + self.class_of[to]
    }

    /// (reachable, delivered) ports of `proto` from `from` to `to` over
    /// `family`; `None` when the two have no address of the family in
    /// common (or `from == to`).
    pub fn answer(
        &self,
        from: HostId,
        to: HostId,
        family: Family,
        proto: Proto,
    ) -> Option<(PortSet, PortSet)> {
        if from == to {
            return None;
        }
        let cell = self.cell(from, to);
        match &self.answers {
            Answers::Masks {
                atoms,
                table,
                cells,
            } => {
                let k = cells[cell][matches!(family, Family::Ipv6) as usize];
                let m = *table.get(k as usize)?;
                let i = crate::fast::index(proto);
                let set = |mask| crate::fast::mask_ports(atoms, family, proto, mask);
                Some((set(m.reachable[i]), set(m.delivered[i])))
            }
            Answers::Reaches(cells) => {
                let r = cells[cell].as_ref()?;
                let f = r.families.iter().find(|f| f.family == family)?;
                let p = f.protos.iter().find(|p| p.proto == proto)?;
                Some((p.reachable.clone(), p.delivered.clone()))
            }
        }
    }

    /// The reachable ports of `proto` from `from` to `to`, all families.
    pub fn reachable(&self, from: HostId, to: HostId, proto: Proto) -> PortSet {
        [Family::Ipv4, Family::Ipv6]
            .iter()
            .filter_map(|&f| self.answer(from, to, f, proto))
            .fold(PortSet::empty(), |acc, (r, _)| acc.union(&r))
    }

    /// Whether a class pair's answer reaches anything.
    fn cell_reaches(&self, cell: usize) -> bool {
        match &self.answers {
            Answers::Masks { table, cells, .. } => cells[cell]
                .iter()
                .filter_map(|&k| table.get(k as usize))
                .any(|m| m.reachable.iter().any(|&x| x != 0)),
            Answers::Reaches(cells) => cells[cell].as_ref().is_some_and(|r| r.anything()),
        }
    }

    /// Ordered pairs of distinct hosts for which something is reachable.
    pub fn reaching_pairs(&self) -> u64 {
        let n = self.classes.len();
        let mut total = 0u64;
        for a in 0..n {
            for b in 0..n {
                if self.cell_reaches(a * n + b) {
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
        let lab = &self.net.lab;
        let pairs = (0..n).flat_map(|a| (0..n).map(move |b| (a, b)));
        // A representative pair per cell; a class to itself needs two members.
        let rep = |a: usize, b: usize| {
            let from = classes[a][0];
            let to = if a == b {
                classes[b].get(1).copied()
            } else {
                Some(classes[b][0])
            };
            to.map(|to| (from, to))
        };
        let answers = match Fast::new(self) {
            Some(mut fast) => {
                fast.share_by_classes(&class_of, n);
                let mut table: Vec<FamilyMasks> = Vec::new();
                let mut index: crate::fast::MaskMap<FamilyMasks, u32> = Default::default();
                let mut cells = Vec::with_capacity(n * n);
                for (a, b) in pairs.clone() {
                    let mut cell = [NONE; 2];
                    if let Some((from, to)) = rep(a, b) {
                        let (x, y) = (&lab.hosts[from], &lab.hosts[to]);
                        let ends = [
                            x.ipv4.zip(y.ipv4).map(|(s, d)| (s.into(), d.into())),
                            x.ipv6.zip(y.ipv6).map(|(s, d)| (s.into(), d.into())),
                        ];
                        for (f, family) in [Family::Ipv4, Family::Ipv6].into_iter().enumerate() {
                            if let Some((s, d)) = ends[f] {
                                let m = fast.family(from, to, family, s, d);
                                cell[f] = *index.entry(m).or_insert_with(|| {
                                    table.push(m);
                                    (table.len() - 1) as u32
                                });
                            }
                        }
                    }
                    cells.push(cell);
                }
                Answers::Masks {
                    atoms: self.atom_ranges().collect(),
                    table,
                    cells,
                }
            }
            None => Answers::Reaches(
                pairs
                    .map(|(a, b)| rep(a, b).map(|(from, to)| self.reach(from, to)))
                    .collect(),
            ),
        };
        Matrix {
            class_of,
            classes,
            answers,
        }
    }

    /// Each host's class and the prefix cuts, computed once.
    pub(crate) fn classes_and_cuts(&self) -> &(Vec<usize>, [Vec<u128>; 2]) {
        self.classes
            .get_or_init(|| (self.host_classes().0, self.prefix_cuts()))
    }

    /// Starts of the pieces of each family's address space cut at every
    /// prefix a rule, a route or a network names (not at single host
    /// addresses, unless a rule names one).
    pub(crate) fn prefix_cuts(&self) -> [Vec<u128>; 2] {
        crate::addrs::cut_starts(crate::space::named_prefixes(self.net))
    }
}
