//! The bulk path of the matrix: the same decisions as [`Analyzer::reach`]
//! without explanations, with port sets as bit masks over the port atoms
//! (at most 128 atoms; more falls back to `reach`) and with the work that
//! pairs share computed once: each host's rule masks, each NACL's verdict
//! per (direction, peer piece, protocol), each routing walk per (start,
//! destination). A test holds it to `reach` on every pair of the example
//! labs and of random labs.

use std::collections::HashMap;
use std::net::IpAddr;
use std::rc::Rc;

use wirelab_net::{Direction, Header, SegmentId, SgPeer};
use wirelab_spec::{Family, HostId, NaclAction};

use crate::addrs::to_int;
use crate::{Analyzer, Arrive, PortSet, Proto, EPHEMERAL};

/// One protocol's atoms as bits (ICMP: bit 0 is the echo).
pub(crate) type Mask = u128;

/// Reachable and delivered masks per protocol, for one family.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub(crate) struct FamilyMasks {
    pub reachable: [Mask; 3],
    pub delivered: [Mask; 3],
}

/// A hasher for interning masks: the keys are the program's own bit
/// masks (nobody chooses them to collide), and the default SipHash spent
/// a fifth of the matrix's time on them. A multiply–rotate mix per word.
#[derive(Default)]
pub(crate) struct MaskHasher(u64);

impl std::hash::Hasher for MaskHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.0 = (self.0.rotate_left(5) ^ u64::from_le_bytes(word))
                .wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
        }
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// A map keyed by masks, with [`MaskHasher`].
pub(crate) type MaskMap<K, V> = HashMap<K, V, std::hash::BuildHasherDefault<MaskHasher>>;

/// A rule's peer test and its masks per family and protocol.
type RuleMasks<'n> = (wirelab_net::SgRuleMatcher<'n>, [[Mask; 3]; 2]);

pub(crate) struct Fast<'a, 'n> {
    an: &'a Analyzer<'n>,
    /// Atom ranges, in order.
    atoms: Vec<(u16, u16)>,
    /// The atoms inside the ephemeral range.
    ephemeral: Mask,
    full: Mask,
    /// Per host, per direction (inbound, outbound): `None` = no firewall
    /// or everything allowed that way.
    rules: Vec<[Option<Vec<RuleMasks<'n>>>; 2]>,
    /// The address space cut at every prefix a NACL rule names, IPv4 and
    /// IPv6: within a piece every NACL decides alike.
    cuts: [Vec<u128>; 2],
    /// The piece of each host's address, per family.
    pieces: Vec<[usize; 2]>,
    /// Number of pieces per family.
    piece_count: [usize; 2],
    /// NACL verdict masks by (NACL, direction, leg, family) then piece.
    nacl_memo: Vec<Vec<Option<[Mask; 3]>>>,
    /// Hosts that route alike (network and gateways): their class.
    route_class: Vec<usize>,
    /// Walks by (route class of the start, destination host, family).
    walk_memo: Vec<Option<Walked>>,
    /// With the matrix's classes: each host's group set and class, and
    /// the security-group masks by (direction, family) then (group set of
    /// the filtering host, class of the peer host).
    sg_memo: Option<SgMemo>,
}

struct SgMemo {
    group_set: Vec<usize>,
    group_sets: usize,
    class_of: Vec<usize>,
    classes: usize,
    /// By (direction, family): outbound verdicts laid out by the filtering
    /// host's group set then the peer's class, inbound ones by the peer's
    /// class then the group set (see [`Fast::sg_shared`]).
    tables: [Vec<[Mask; 3]>; 4],
}

/// The NACL crossings of a walk, or `None` when routing fails.
type Walked = Option<Rc<[(SegmentId, Direction)]>>;

/// Starts of the pieces of each family cut at every NACL rule's prefix.
fn nacl_cuts(an: &Analyzer<'_>) -> [Vec<u128>; 2] {
    let rules = an
        .net
        .lab
        .nacls
        .iter()
        .flat_map(|n| n.inbound.iter().chain(&n.outbound));
    crate::addrs::cut_starts(rules.map(|r| r.cidr))
}

/// The ports of `proto` a mask over `atoms` holds (ICMP: the echo).
pub(crate) fn mask_ports(
    atoms: &[(u16, u16)],
    family: Family,
    proto: Proto,
    mask: Mask,
) -> PortSet {
    match proto {
        Proto::Icmp if mask & 1 == 1 => PortSet::single(u16::from(Proto::echo(family).0)),
        Proto::Icmp => PortSet::empty(),
        _ => PortSet::from_ranges(
            (0..atoms.len())
                .filter(|&a| mask >> a & 1 == 1)
                .map(|a| atoms[a]),
        ),
    }
}

pub(crate) fn index(proto: Proto) -> usize {
    match proto {
        Proto::Tcp => 0,
        Proto::Udp => 1,
        Proto::Icmp => 2,
    }
}

fn fam_index(family: Family) -> usize {
    matches!(family, Family::Ipv6) as usize
}

impl<'a, 'n> Fast<'a, 'n> {
    /// `None` when the lab has more than 128 port atoms.
    pub(crate) fn new(an: &'a Analyzer<'n>) -> Option<Fast<'a, 'n>> {
        let atoms: Vec<(u16, u16)> = an.atom_ranges().collect();
        if atoms.len() > 128 {
            return None;
        }
        let full: Mask = if atoms.len() == 128 {
            Mask::MAX
        } else {
            (1 << atoms.len()) - 1
        };
        let ephemeral = atoms
            .iter()
            .enumerate()
            .filter(|(_, &(a, _))| a >= EPHEMERAL.0)
            .fold(0, |m, (i, _)| m | 1 << i);
        let mut fast = Fast {
            an,
            atoms,
            ephemeral,
            full,
            rules: Vec::new(),
            cuts: nacl_cuts(an),
            pieces: Vec::new(),
            piece_count: [0; 2],
            nacl_memo: Vec::new(),
            route_class: Vec::new(),
            walk_memo: Vec::new(),
            sg_memo: None,
        };
        let net = an.net;
        let mut route_classes: HashMap<
            (
                usize,
                Option<std::net::Ipv4Addr>,
                Option<std::net::Ipv6Addr>,
            ),
            usize,
        > = HashMap::new();
        for h in &net.lab.hosts {
            let next = route_classes.len();
            let c = *route_classes
                .entry((h.network, h.gateway4, h.gateway6))
                .or_insert(next);
            fast.route_class.push(c);
        }
        fast.walk_memo = vec![None; route_classes.len() * net.lab.hosts.len() * 2];
        fast.piece_count = [fast.cuts[0].len() + 1, fast.cuts[1].len() + 1];
        fast.nacl_memo = vec![Vec::new(); net.nacls.len() * 8];
        fast.pieces = net
            .lab
            .hosts
            .iter()
            .map(|h| {
                let piece = |f: usize, a: Option<IpAddr>| {
                    a.map_or(0, |a| fast.cuts[f].partition_point(|&c| c <= to_int(a)))
                };
                [
                    piece(0, h.ipv4.map(IpAddr::V4)),
                    piece(1, h.ipv6.map(IpAddr::V6)),
                ]
            })
            .collect();
        fast.rules = (0..net.lab.hosts.len())
            .map(|h| {
                let fw = net.firewalls[h].as_ref();
                [Direction::Inbound, Direction::Outbound].map(|dir| {
                    fw.and_then(|fw| fw.rules(dir)).map(|rules| {
                        rules
                            .map(|r| {
                                (
                                    r,
                                    [Family::Ipv4, Family::Ipv6].map(|f| fast.rule_masks(&r, f)),
                                )
                            })
                            .collect()
                    })
                })
            })
            .collect();
        Some(fast)
    }

    /// A request-shaped header for atom `i` of `proto` (addresses are
    /// irrelevant to what the masks test).
    fn header(&self, family: Family, proto: Proto, atom: usize, reply: bool) -> Header {
        let zero = match family {
            Family::Ipv4 => IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED),
            Family::Ipv6 => IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED),
        };
        let (request, answer) = Proto::echo(family);
        Header {
            src: zero,
            dst: zero,
            proto: proto.number(family),
            dst_port: if proto == Proto::Icmp {
                0
            } else {
                self.atoms[atom].0
            },
            icmp_type: match (proto, reply) {
                (Proto::Icmp, false) => request,
                (Proto::Icmp, true) => answer,
                _ => 0,
            },
            icmp_code: 0,
        }
    }

    fn rule_masks(&self, r: &wirelab_net::SgRuleMatcher<'_>, family: Family) -> [Mask; 3] {
        Proto::ALL.map(|p| {
            if p == Proto::Icmp {
                Mask::from(r.matches_packet(&self.header(family, p, 0, false)))
            } else {
                (0..self.atoms.len())
                    .filter(|&i| r.matches_packet(&self.header(family, p, i, false)))
                    .fold(0, |m, i| m | 1 << i)
            }
        })
    }

    /// Shares security-group verdicts between pairs: what a host's groups
    /// allow with a peer host depends only on the host's set of groups
    /// and the peer's class (its address piece and its groups). Every
    /// verdict is made here, rule by rule over the classes each rule's
    /// peer admits (a prefix: the classes whose addresses it holds; a
    /// group: its members' classes).
    pub(crate) fn share_by_classes(&mut self, class_of: &[usize], classes: usize) {
        let hosts = &self.an.net.lab.hosts;
        let mut sets: HashMap<Vec<usize>, usize> = HashMap::new();
        let mut set_host: Vec<HostId> = Vec::new();
        let group_set: Vec<usize> = hosts
            .iter()
            .enumerate()
            .map(|(h, host)| {
                let mut g = host.security_groups.clone();
                g.sort_unstable();
                g.dedup();
                let next = sets.len();
                *sets.entry(g).or_insert_with(|| {
                    set_host.push(h);
                    next
                })
            })
            .collect();
        // Each class's address per family (its first host's), and the
        // classes sorted by it.
        let mut class_host: Vec<Option<HostId>> = vec![None; classes];
        for (h, &c) in class_of.iter().enumerate() {
            class_host[c].get_or_insert(h);
        }
        let addr_of = |h: HostId, f: usize| match f {
            0 => hosts[h].ipv4.map(IpAddr::V4),
            _ => hosts[h].ipv6.map(IpAddr::V6),
        };
        let by_addr: [Vec<(u128, usize)>; 2] = [0, 1].map(|f| {
            let mut v: Vec<(u128, usize)> = class_host
                .iter()
                .enumerate()
                .filter_map(|(c, h)| h.and_then(|h| addr_of(h, f)).map(|a| (to_int(a), c)))
                .collect();
            v.sort_unstable();
            v
        });
        let n_sets = sets.len();
        let mut tables: [Vec<[Mask; 3]>; 4] =
            std::array::from_fn(|_| vec![[0; 3]; n_sets * classes]);
        for (t, table) in tables.iter_mut().enumerate() {
            let (outbound, f) = (t / 2 == 1, t % 2);
            let slot = |s: usize, c: usize| {
                if outbound {
                    s * classes + c
                } else {
                    c * n_sets + s
                }
            };
            for (s, &h) in set_host.iter().enumerate() {
                let Some(rules) = &self.rules[h][usize::from(outbound)] else {
                    for c in 0..classes {
                        table[slot(s, c)] = [self.full, self.full, 1];
                    }
                    continue;
                };
                for (r, masks) in rules {
                    let m = masks[f];
                    if m == [0; 3] {
                        continue;
                    }
                    let mut admit = |c: usize| {
                        let e = &mut table[slot(s, c)];
                        for p in 0..3 {
                            e[p] |= m[p];
                        }
                    };
                    match r.peer() {
                        SgPeer::Cidr(net) => {
                            if crate::addrs::family_of(&net) != [Family::Ipv4, Family::Ipv6][f] {
                                continue;
                            }
                            let (lo, hi) = crate::addrs::bounds(&net);
                            let first = by_addr[f].partition_point(|&(a, _)| a < lo);
                            for &(_, c) in by_addr[f][first..].iter().take_while(|&&(a, _)| a <= hi)
                            {
                                admit(c);
                            }
                        }
                        SgPeer::Members(members) => {
                            for &a in members.iter().filter(|a| usize::from(a.is_ipv6()) == f) {
                                let member =
                                    self.an.net.owner(a).and_then(|i| {
                                        self.an.net.host_of(self.an.net.ifaces[i].node)
                                    });
                                if let Some(m) = member {
                                    admit(class_of[m]);
                                }
                            }
                        }
                    }
                }
            }
        }
        self.sg_memo = Some(SgMemo {
            group_set,
            group_sets: n_sets,
            class_of: class_of.to_vec(),
            classes,
            tables,
        });
    }

    /// [`Fast::sg_allowed`] through the shared table when there is one.
    fn sg_shared(
        &mut self,
        host: HostId,
        dir: Direction,
        family: Family,
        peer_host: HostId,
        peer: IpAddr,
    ) -> [Mask; 3] {
        let Some(memo) = &self.sg_memo else {
            return self.sg_allowed(host, dir, family, peer);
        };
        let table = usize::from(matches!(dir, Direction::Outbound)) * 2 + fam_index(family);
        // The matrix walks source classes row by row: outbound verdicts
        // are laid out by the filtering host's group set (the source's)
        // then the peer's class, inbound ones by the peer's class (the
        // source's) then the group set, so both are read nearly in order.
        let slot = match dir {
            Direction::Outbound => memo.group_set[host] * memo.classes + memo.class_of[peer_host],
            Direction::Inbound => memo.class_of[peer_host] * memo.group_sets + memo.group_set[host],
        };
        memo.tables[table][slot]
    }

    /// What a host's groups allow with a peer, per protocol.
    fn sg_allowed(&self, host: HostId, dir: Direction, family: Family, peer: IpAddr) -> [Mask; 3] {
        let rules = &self.rules[host][matches!(dir, Direction::Outbound) as usize];
        let Some(rules) = rules else {
            return [self.full, self.full, 1];
        };
        let f = fam_index(family);
        let mut m = [0; 3];
        for (r, masks) in rules {
            if r.matches_peer(peer) {
                for p in 0..3 {
                    m[p] |= masks[f][p];
                }
            }
        }
        m
    }

    /// The atoms a NACL crossing denies, per protocol, for a peer
    /// address in piece `piece`.
    #[allow(clippy::too_many_arguments)]
    fn nacl_denied(
        &mut self,
        seg: SegmentId,
        dir: Direction,
        family: Family,
        reply: bool,
        peer: IpAddr,
        piece: usize,
    ) -> [Mask; 3] {
        let Some(nacl) = self.an.net.segments[seg].nacl else {
            return [0; 3];
        };
        let f = fam_index(family);
        let slot = nacl * 8
            + usize::from(matches!(dir, Direction::Outbound)) * 4
            + usize::from(reply) * 2
            + f;
        if self.nacl_memo[slot].is_empty() {
            self.nacl_memo[slot] = vec![None; self.piece_count[f]];
        }
        if let Some(m) = self.nacl_memo[slot][piece] {
            return m;
        }
        let compiled = &self.an.net.nacls[nacl];
        let mut out = [0; 3];
        for p in Proto::ALL {
            let n = if p == Proto::Icmp {
                1
            } else {
                self.atoms.len()
            };
            for i in 0..n {
                let mut h = self.header(family, p, i, reply);
                match dir {
                    Direction::Inbound => h.src = peer,
                    Direction::Outbound => h.dst = peer,
                }
                if compiled.evaluate(dir, &h).action == NaclAction::Deny {
                    out[index(p)] |= 1 << i;
                }
            }
        }
        self.nacl_memo[slot][piece] = Some(out);
        out
    }

    /// The NACL crossings from host `from` to host `to`'s address, or
    /// `None` when routing fails.
    fn crossings(&mut self, from: HostId, to: HostId, dst: IpAddr) -> Walked {
        let hosts = self.an.net.lab.hosts.len();
        let slot = (self.route_class[from] * hosts + to) * 2 + usize::from(dst.is_ipv6());
        if let Some(w) = &self.walk_memo[slot] {
            return w.clone();
        }
        let start = self.an.net.host_node(from);
        let w: Walked = self
            .an
            .walk(start, None, dst, Arrive::Host)
            .ok()
            .map(|w| Rc::from(w.crossings));
        self.walk_memo[slot] = Some(w.clone());
        w
    }

    /// The answer of `from` → `to` for one family, as masks.
    pub(crate) fn family(
        &mut self,
        from: HostId,
        to: HostId,
        family: Family,
        src: IpAddr,
        dst: IpAddr,
    ) -> FamilyMasks {
        let f = fam_index(family);
        let (src_piece, dst_piece) = (self.pieces[from][f], self.pieces[to][f]);
        let request_space = [self.full, self.full, 1];
        let mut delivered = request_space;
        let out = self.sg_shared(from, Direction::Outbound, family, to, dst);
        let inn = self.sg_shared(to, Direction::Inbound, family, from, src);
        for p in 0..3 {
            delivered[p] &= out[p] & inn[p];
        }
        match self.crossings(from, to, dst) {
            None => delivered = [0; 3],
            Some(cs) => {
                for &(seg, dir) in cs.iter() {
                    let (peer, piece) = if dir == Direction::Inbound {
                        (src, src_piece)
                    } else {
                        (dst, dst_piece)
                    };
                    let denied = self.nacl_denied(seg, dir, family, false, peer, piece);
                    for p in 0..3 {
                        delivered[p] &= !denied[p];
                    }
                }
            }
        }
        let reply_space = [self.ephemeral, self.ephemeral, 1];
        let mut reply_ok = [true; 3];
        match self.crossings(to, from, src) {
            None => reply_ok = [false; 3],
            Some(cs) => {
                for &(seg, dir) in cs.iter() {
                    // The reply goes from dst to src.
                    let (peer, piece) = if dir == Direction::Inbound {
                        (dst, dst_piece)
                    } else {
                        (src, src_piece)
                    };
                    let denied = self.nacl_denied(seg, dir, family, true, peer, piece);
                    for p in 0..3 {
                        if denied[p] & reply_space[p] != 0 {
                            reply_ok[p] = false;
                        }
                    }
                }
            }
        }
        let mut reachable = [0; 3];
        for p in 0..3 {
            if reply_ok[p] {
                reachable[p] = delivered[p];
            }
        }
        FamilyMasks {
            reachable,
            delivered,
        }
    }
}
