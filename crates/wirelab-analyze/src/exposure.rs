//! The ports public addresses reach on many hosts at once: lint's form of
//! [`Analyzer::public_exposure`], without paths. Sources that are hosts
//! (a lab host with a public address) go through the matrix's bulk path,
//! whose memos the hosts share; other addresses are answered once per
//! piece of the prefix-cut space for each destination, as in
//! `public_exposure`. A test holds the two to the same answer.

use std::collections::HashMap;
use std::net::IpAddr;

use wirelab_spec::{Family, HostId};

use crate::addrs::{self, to_addr, to_int};
use crate::fast::{mask_ports, Fast, Mask, MaskMap};
use crate::space::Origin;
use crate::{Analyzer, PortSet, Proto};

/// Ports of one protocol of a host that some public addresses reach,
/// request and reply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublicPorts {
    pub family: Family,
    pub proto: Proto,
    pub ports: PortSet,
    /// The public source addresses that reach exactly those ports, as
    /// normalized intervals of the family's address values.
    pub sources: Vec<(u128, u128)>,
    /// The network the requests enter by, or `internet` for addresses
    /// outside the lab.
    pub entry: String,
}

/// The reachable ports of the three protocols (TCP, UDP, ICMP).
type Answer = [PortSet; 3];

/// The public addresses of one origin, for one family.
type PublicSpace = (Family, Origin, Vec<(u128, u128)>);

impl Analyzer<'_> {
    /// For each host of `hosts`, in order: its ports that public addresses
    /// reach (the same answer as [`Analyzer::public_exposure`], grouped by
    /// port set and entry, without paths), by family, then origin (each
    /// network, then the outside).
    pub fn public_ports(&self, hosts: &[HostId]) -> Vec<Vec<PublicPorts>> {
        if self.explain {
            return self.lean().public_ports(hosts);
        }
        let (class_of, _) = self.classes_and_cuts();
        let classes = class_of.iter().max().map_or(0, |&c| c + 1);
        let mut fast = Fast::new(self);
        if let Some(f) = &mut fast {
            f.share_by_classes(class_of, classes);
        }
        let atoms: Vec<(u16, u16)> = self.atom_ranges().collect();
        let spaces: Vec<PublicSpace> = [Family::Ipv4, Family::Ipv6]
            .into_iter()
            .flat_map(|f| self.origins().map(move |o| (f, o)))
            .map(|(f, o)| (f, o, self.public_space(o, f)))
            .filter(|(_, _, space)| !space.is_empty())
            .collect();
        hosts
            .iter()
            .map(|&to| {
                let mut out = Vec::new();
                for (family, origin, space) in &spaces {
                    let groups = self.public_groups(*family, *origin, space, to, &mut fast, &atoms);
                    let entry = match *origin {
                        Origin::Network(s) => self.net.segments[s].name.clone(),
                        Origin::Outside => "internet".to_string(),
                    };
                    for (answer, pieces) in groups {
                        for proto in Proto::ALL {
                            let ports = &answer[crate::fast::index(proto)];
                            if !ports.is_empty() {
                                out.push(PublicPorts {
                                    family: *family,
                                    proto,
                                    ports: ports.clone(),
                                    sources: addrs::normalize(pieces.clone()),
                                    entry: entry.clone(),
                                });
                            }
                        }
                    }
                }
                out
            })
            .collect()
    }

    /// The pieces of `space` (addresses of `origin`) grouped by what they
    /// reach on host `to`, in order of first appearance.
    fn public_groups(
        &self,
        family: Family,
        origin: Origin,
        space: &[(u128, u128)],
        to: HostId,
        fast: &mut Option<Fast<'_, '_>>,
        atoms: &[(u16, u16)],
    ) -> Vec<(Answer, Vec<(u128, u128)>)> {
        let host = &self.net.lab.hosts[to];
        let dst = match family {
            Family::Ipv4 => host.ipv4.map(IpAddr::V4),
            Family::Ipv6 => host.ipv6.map(IpAddr::V6),
        };
        let Some(dst) = dst else {
            return Vec::new();
        };
        let fi = matches!(family, Family::Ipv6) as usize;
        let cuts = &self.addr_cuts[fi];
        let prefix_cuts = &self.classes_and_cuts().1[fi];
        let own = to_int(dst);
        let space = addrs::difference(space, &[(own, own)]);
        let mut groups: Vec<(Answer, Vec<(u128, u128)>)> = Vec::new();
        // Answers already placed: by the bulk path's masks (host sources)
        // and by prefix-cut piece (other addresses).
        let mut by_masks: MaskMap<[Mask; 3], usize> = Default::default();
        let mut by_piece: HashMap<usize, usize> = HashMap::new();
        for &(lo, hi) in &space {
            let first = cuts.partition_point(|&c| c <= lo);
            let mut starts = vec![lo];
            starts.extend(cuts[first..].iter().take_while(|&&c| c <= hi).copied());
            for (i, &a) in starts.iter().enumerate() {
                let b = starts.get(i + 1).map_or(hi, |&n| n - 1);
                let src = to_addr(family, a);
                let sender = self
                    .net
                    .owner(src)
                    .and_then(|i| self.net.host_of(self.net.ifaces[i].node));
                match (sender, fast.as_mut()) {
                    (Some(h), Some(f)) => {
                        let masks = f.family(h, to, family, src, dst).reachable;
                        if let Some(&g) = by_masks.get(&masks) {
                            groups[g].1.push((a, b));
                            continue;
                        }
                        let answer = Proto::ALL
                            .map(|p| mask_ports(atoms, family, p, masks[crate::fast::index(p)]));
                        let g = place(&mut groups, answer, (a, b));
                        by_masks.insert(masks, g);
                    }
                    _ => {
                        // Other addresses of one prefix-cut piece answer
                        // alike (a host's address is answered on its own
                        // only when the lab has too many atoms for masks).
                        let piece = sender
                            .is_none()
                            .then(|| prefix_cuts.partition_point(|&c| c <= a));
                        if let Some(&g) = piece.and_then(|k| by_piece.get(&k)) {
                            groups[g].1.push((a, b));
                            continue;
                        }
                        let reach = self.reach_origin_address(origin, family, src, to, dst);
                        let mut answer: Answer = Default::default();
                        for p in &reach.protos {
                            answer[crate::fast::index(p.proto)] = p.reachable.clone();
                        }
                        let g = place(&mut groups, answer, (a, b));
                        if let Some(k) = piece {
                            by_piece.insert(k, g);
                        }
                    }
                }
            }
        }
        groups
    }
}

/// Adds `piece` to the group of `answer` (a new group if none has it);
/// returns the group's index.
fn place(
    groups: &mut Vec<(Answer, Vec<(u128, u128)>)>,
    answer: Answer,
    piece: (u128, u128),
) -> usize {
    let g = match groups.iter().position(|(a, _)| *a == answer) {
        Some(g) => g,
        None => {
            groups.push((answer, Vec::new()));
            groups.len() - 1
        }
    };
    groups[g].1.push(piece);
    g
}
