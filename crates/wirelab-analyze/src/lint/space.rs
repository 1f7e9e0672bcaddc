//! Match spaces of filter rules: the set of packets a rule matches, as a
//! union of *cubes* over (family, protocol kind, layer-4 value, peer
//! address). The lint asks set questions of them — is this rule's space
//! inside the union of those? what part of it do earlier rules decide? —
//! and answers exactly, by cube subtraction, never by sampling.
//!
//! The layer-4 value is the destination port for TCP and UDP, `type × 256
//! + code` for ICMP and ICMPv6, and the protocol number itself for every
//! other protocol, so one [`PortSet`] carries each of them.

use std::net::IpAddr;

use wirelab_spec::{Family, PortRange, RuleProto};

use crate::PortSet;

/// Cubes a space may hold before the lint gives up on a question (and
/// answers "not covered", the safe side: no finding). The example labs
/// stay under a dozen.
const CUBES_MAX: usize = 4096;

/// The protocol kinds whose layer-4 dimension differs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    Tcp,
    Udp,
    Icmp,
    Icmpv6,
    /// Every other protocol; the layer-4 value is the protocol number.
    Other,
}

impl Kind {
    pub const ALL: [Kind; 5] = [Kind::Tcp, Kind::Udp, Kind::Icmp, Kind::Icmpv6, Kind::Other];

    /// The layer-4 values a rule of this kind may take.
    fn universe(self) -> PortSet {
        match self {
            Kind::Other => PortSet::range(0, 255).difference(&PortSet::from_ranges([
                (1, 1),
                (6, 6),
                (17, 17),
                (58, 58),
            ])),
            _ => PortSet::full(),
        }
    }
}

/// Sets of addresses of one family as sorted, disjoint, non-adjacent
/// closed intervals of `u128` (IPv4 addresses as their 32-bit value).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct AddrSet {
    ranges: Vec<(u128, u128)>,
}

impl AddrSet {
    pub fn from_ranges(ranges: impl IntoIterator<Item = (u128, u128)>) -> AddrSet {
        let mut v: Vec<(u128, u128)> = ranges.into_iter().filter(|(a, b)| a <= b).collect();
        v.sort_unstable();
        let mut out: Vec<(u128, u128)> = Vec::with_capacity(v.len());
        for (a, b) in v {
            match out.last_mut() {
                Some(last) if last.1 == u128::MAX || a <= last.1 + 1 => last.1 = last.1.max(b),
                _ => out.push((a, b)),
            }
        }
        AddrSet { ranges: out }
    }

    /// Every address of the family.
    pub fn all(family: Family) -> AddrSet {
        AddrSet::from_ranges([(0, family_max(family))])
    }

    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    pub fn ranges(&self) -> &[(u128, u128)] {
        &self.ranges
    }

    pub fn union(&self, other: &AddrSet) -> AddrSet {
        AddrSet::from_ranges(self.ranges.iter().chain(&other.ranges).copied())
    }

    pub fn intersect(&self, other: &AddrSet) -> AddrSet {
        let mut v = Vec::new();
        let (mut i, mut j) = (0, 0);
        while i < self.ranges.len() && j < other.ranges.len() {
            let (a1, b1) = self.ranges[i];
            let (a2, b2) = other.ranges[j];
            let (lo, hi) = (a1.max(a2), b1.min(b2));
            if lo <= hi {
                v.push((lo, hi));
            }
            if b1 < b2 {
                i += 1;
            } else {
                j += 1;
            }
        }
        AddrSet { ranges: v }
    }

    pub fn difference(&self, other: &AddrSet) -> AddrSet {
        let mut v = Vec::new();
        for &(a, b) in &self.ranges {
            let mut start = a;
            let mut open = true;
            for &(c, d) in &other.ranges {
                if d < start || c > b {
                    continue;
                }
                if c > start {
                    v.push((start, c - 1));
                }
                if d >= b {
                    open = false;
                    break;
                }
                start = d + 1;
            }
            if open {
                v.push((start, b));
            }
        }
        AddrSet { ranges: v }
    }

    pub fn is_superset(&self, other: &AddrSet) -> bool {
        other.difference(self).is_empty()
    }
}

fn family_max(family: Family) -> u128 {
    match family {
        Family::Ipv4 => u128::from(u32::MAX),
        Family::Ipv6 => u128::MAX,
    }
}

/// An address as (family, value).
pub fn addr_value(addr: IpAddr) -> (Family, u128) {
    match addr {
        IpAddr::V4(a) => (Family::Ipv4, u128::from(u32::from(a))),
        IpAddr::V6(a) => (Family::Ipv6, u128::from(a)),
    }
}

/// A prefix, given by its first and last address (`IpNet::network`,
/// `IpNet::broadcast`), as (family, first, last).
pub fn prefix_range(network: IpAddr, broadcast: IpAddr) -> (Family, u128, u128) {
    let (family, first) = addr_value(network);
    let (_, last) = addr_value(broadcast);
    (family, first, last)
}

/// One box of packets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cube {
    pub family: Family,
    pub kind: Kind,
    pub l4: PortSet,
    pub addrs: AddrSet,
}

impl Cube {
    fn is_empty(&self) -> bool {
        self.l4.is_empty() || self.addrs.is_empty()
    }

    fn intersect(&self, other: &Cube) -> Option<Cube> {
        if self.family != other.family || self.kind != other.kind {
            return None;
        }
        let c = Cube {
            family: self.family,
            kind: self.kind,
            l4: self.l4.intersect(&other.l4),
            addrs: self.addrs.intersect(&other.addrs),
        };
        (!c.is_empty()).then_some(c)
    }

    /// `self − other` as at most two disjoint cubes.
    fn minus(&self, other: &Cube) -> Vec<Cube> {
        if self.intersect(other).is_none() {
            return vec![self.clone()];
        }
        let mut out = Vec::with_capacity(2);
        let outside_l4 = self.l4.difference(&other.l4);
        if !outside_l4.is_empty() {
            out.push(Cube {
                l4: outside_l4,
                ..self.clone()
            });
        }
        let inside_l4 = self.l4.intersect(&other.l4);
        let outside_addrs = self.addrs.difference(&other.addrs);
        if !outside_addrs.is_empty() {
            out.push(Cube {
                l4: inside_l4,
                addrs: outside_addrs,
                ..self.clone()
            });
        }
        out
    }
}

/// A union of cubes. `None` from an operation means the space grew past
/// [`CUBES_MAX`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Space {
    cubes: Vec<Cube>,
}

impl Space {
    pub fn empty() -> Space {
        Space::default()
    }

    pub fn from_cubes(cubes: impl IntoIterator<Item = Cube>) -> Space {
        let mut s = Space {
            cubes: cubes.into_iter().filter(|c| !c.is_empty()).collect(),
        };
        s.normalize();
        s
    }

    /// Everything of `family`, every protocol.
    pub fn everything(family: Family) -> Space {
        Space::from_cubes(Kind::ALL.iter().map(|&kind| Cube {
            family,
            kind,
            l4: kind.universe(),
            addrs: AddrSet::all(family),
        }))
    }

    pub fn cubes(&self) -> &[Cube] {
        &self.cubes
    }

    pub fn is_empty(&self) -> bool {
        self.cubes.is_empty()
    }

    pub fn families(&self) -> Vec<Family> {
        let mut f: Vec<Family> = self.cubes.iter().map(|c| c.family).collect();
        f.sort();
        f.dedup();
        f
    }

    pub fn intersect(&self, other: &Space) -> Space {
        let mut out = Vec::new();
        for a in &self.cubes {
            for b in &other.cubes {
                out.extend(a.intersect(b));
            }
        }
        Space::from_cubes(out)
    }

    pub fn intersects(&self, other: &Space) -> bool {
        self.cubes
            .iter()
            .any(|a| other.cubes.iter().any(|b| a.intersect(b).is_some()))
    }

    pub fn minus(&self, other: &Space) -> Option<Space> {
        let mut current = self.cubes.clone();
        for b in &other.cubes {
            let mut next = Vec::with_capacity(current.len());
            for a in &current {
                next.extend(a.minus(b));
            }
            if next.len() > CUBES_MAX {
                return None;
            }
            current = next;
            if current.is_empty() {
                break;
            }
        }
        let mut s = Space { cubes: current };
        s.normalize();
        Some(s)
    }

    pub fn union(&self, other: &Space) -> Space {
        Space::from_cubes(self.cubes.iter().chain(&other.cubes).cloned())
    }

    /// Whether every packet of `self` is in one of `others`. `None`: too
    /// many cubes to tell.
    pub fn covered_by<'s>(&self, others: impl IntoIterator<Item = &'s Space>) -> Option<bool> {
        let mut rest = self.clone();
        for o in others {
            rest = rest.minus(o)?;
            if rest.is_empty() {
                return Some(true);
            }
        }
        Some(rest.is_empty())
    }

    /// The layer-4 values of the space for one family and kind.
    pub fn l4_of(&self, family: Family, kind: Kind) -> PortSet {
        self.cubes
            .iter()
            .filter(|c| c.family == family && c.kind == kind)
            .fold(PortSet::empty(), |acc, c| acc.union(&c.l4))
    }

    /// Merges cubes that differ in one dimension only, so repeated
    /// subtraction stays small; the order is canonical.
    fn normalize(&mut self) {
        let mut cubes = std::mem::take(&mut self.cubes);
        cubes.retain(|c| !c.is_empty());
        // Same addresses: one cube with the union of the layer-4 values.
        cubes.sort_by(|a, b| key(a).cmp(&key(b)));
        let mut merged: Vec<Cube> = Vec::with_capacity(cubes.len());
        for c in cubes {
            match merged.last_mut() {
                Some(last)
                    if last.family == c.family && last.kind == c.kind && last.addrs == c.addrs =>
                {
                    last.l4 = last.l4.union(&c.l4)
                }
                _ => merged.push(c),
            }
        }
        // Same layer-4 values: one cube with the union of the addresses.
        let mut out: Vec<Cube> = Vec::with_capacity(merged.len());
        merged.sort_by(|a, b| {
            (a.family, a.kind, a.l4.ranges()).cmp(&(b.family, b.kind, b.l4.ranges()))
        });
        for c in merged {
            match out.last_mut() {
                Some(last) if last.family == c.family && last.kind == c.kind && last.l4 == c.l4 => {
                    last.addrs = last.addrs.union(&c.addrs)
                }
                _ => out.push(c),
            }
        }
        out.sort_by(|a, b| key(a).cmp(&key(b)));
        self.cubes = out;
    }
}

/// The canonical order of cubes: family, kind, addresses, layer 4.
type CubeKey<'c> = (Family, Kind, &'c [(u128, u128)], &'c [(u16, u16)]);

fn key(c: &Cube) -> CubeKey<'_> {
    (c.family, c.kind, c.addrs.ranges(), c.l4.ranges())
}

/// The (kind, layer-4 values) pairs a rule's protocol fields match, with
/// wirelab-net's reading: ports only for TCP and UDP, type and code only
/// for ICMP and ICMPv6, every value of the kind otherwise.
pub fn proto_parts(
    proto: RuleProto,
    ports: Option<PortRange>,
    icmp_type: Option<u8>,
    icmp_code: Option<u8>,
) -> Vec<(Kind, PortSet)> {
    let ports = || {
        let r = ports.unwrap_or(PortRange::ALL);
        PortSet::range(r.first, r.last)
    };
    let icmp = || match (icmp_type, icmp_code) {
        (None, _) => PortSet::full(),
        (Some(t), None) => PortSet::range(u16::from(t) * 256, u16::from(t) * 256 + 255),
        (Some(t), Some(c)) => PortSet::single(u16::from(t) * 256 + u16::from(c)),
    };
    match proto.number() {
        None => Kind::ALL.iter().map(|&k| (k, k.universe())).collect(),
        Some(6) => vec![(Kind::Tcp, ports())],
        Some(17) => vec![(Kind::Udp, ports())],
        Some(1) => vec![(Kind::Icmp, icmp())],
        Some(58) => vec![(Kind::Icmpv6, icmp())],
        Some(n) => vec![(Kind::Other, PortSet::single(u16::from(n)))],
    }
}

/// The space of protocol parts × per-family addresses.
pub fn space_of(parts: &[(Kind, PortSet)], addrs: &[(Family, AddrSet)]) -> Space {
    let mut cubes = Vec::new();
    for (family, a) in addrs {
        for (kind, l4) in parts {
            cubes.push(Cube {
                family: *family,
                kind: *kind,
                l4: l4.clone(),
                addrs: a.clone(),
            });
        }
    }
    Space::from_cubes(cubes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v4(a: [u8; 4]) -> u128 {
        u128::from(u32::from_be_bytes(a))
    }

    fn tcp(first: u16, last: u16, lo: u128, hi: u128) -> Space {
        Space::from_cubes([Cube {
            family: Family::Ipv4,
            kind: Kind::Tcp,
            l4: PortSet::range(first, last),
            addrs: AddrSet::from_ranges([(lo, hi)]),
        }])
    }

    #[test]
    fn addr_set_difference_cuts_holes_and_edges() {
        let s = AddrSet::from_ranges([(0, 100)]);
        let d = s.difference(&AddrSet::from_ranges([(0, 9), (50, 60), (100, 200)]));
        assert_eq!(d.ranges(), &[(10, 49), (61, 99)]);
        let all = AddrSet::all(Family::Ipv6);
        assert!(all.difference(&all).is_empty());
        let top = AddrSet::from_ranges([(u128::MAX - 1, u128::MAX), (5, 5)]);
        assert_eq!(all.difference(&top).ranges(), &[(0, 4), (6, u128::MAX - 2)]);
    }

    #[test]
    fn a_range_is_covered_by_two_halves_but_not_by_one() {
        let lo = v4([10, 0, 0, 0]);
        let hi = v4([10, 0, 255, 255]);
        let mid = v4([10, 0, 127, 255]);
        let whole = tcp(20, 30, lo, hi);
        let left = tcp(0, 25, lo, hi);
        let right = tcp(26, 65535, lo, mid);
        assert_eq!(whole.covered_by([&left]), Some(false));
        assert_eq!(whole.covered_by([&left, &right]), Some(false));
        let right_all = tcp(26, 65535, lo, hi);
        assert_eq!(whole.covered_by([&left, &right_all]), Some(true));
        // The missing part is exactly ports 26-30 of the upper half.
        let rest = whole.minus(&left).unwrap().minus(&right).unwrap();
        assert_eq!(rest, tcp(26, 30, mid + 1, hi));
    }

    #[test]
    fn all_protocols_cover_every_kind_and_nothing_of_the_other_family() {
        let parts = proto_parts(RuleProto::All, None, None, None);
        let everything = space_of(&parts, &[(Family::Ipv4, AddrSet::all(Family::Ipv4))]);
        assert_eq!(everything, Space::everything(Family::Ipv4));
        let gre = space_of(
            &proto_parts(RuleProto::Number(47), None, None, None),
            &[(Family::Ipv4, AddrSet::all(Family::Ipv4))],
        );
        assert_eq!(gre.covered_by([&everything]), Some(true));
        let gre6 = space_of(
            &proto_parts(RuleProto::Number(47), None, None, None),
            &[(Family::Ipv6, AddrSet::all(Family::Ipv6))],
        );
        assert_eq!(gre6.covered_by([&everything]), Some(false));
        // Protocol number 6 is TCP, ports and all.
        assert_eq!(
            proto_parts(RuleProto::Number(6), None, None, None),
            proto_parts(RuleProto::Tcp, None, None, None)
        );
    }

    #[test]
    fn icmp_type_and_code_nest() {
        let any = proto_parts(RuleProto::Icmp, None, None, None);
        let echo = proto_parts(RuleProto::Icmp, None, Some(8), None);
        let echo0 = proto_parts(RuleProto::Icmp, None, Some(8), Some(0));
        let a = AddrSet::all(Family::Ipv4);
        let s = |p: &[(Kind, PortSet)]| space_of(p, &[(Family::Ipv4, a.clone())]);
        assert_eq!(s(&echo0).covered_by([&s(&echo)]), Some(true));
        assert_eq!(s(&echo).covered_by([&s(&any)]), Some(true));
        assert_eq!(s(&echo).covered_by([&s(&echo0)]), Some(false));
    }
}
