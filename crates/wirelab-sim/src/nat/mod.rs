//! Network address translation on routers (RFC 3022 "traditional NAT",
//! with Linux netfilter's behaviour where the RFC leaves a choice).
//!
//! A router with `nat:` rules has **outside** interfaces (those its rules
//! name with `out`, `in` or `on`) and **inside** ones (the rest). As it
//! forwards an IPv4 datagram:
//!
//! 1. before routing, a packet of a tracked flow is translated in either
//!    direction, an ICMP error about a tracked flow gets its outer address
//!    and quoted datagram translated back (RFC 5508 §4.2), and a new flow
//!    arriving on an outside interface for a port forward or a 1:1 public
//!    address is mapped (destination NAT, as iptables PREROUTING);
//! 2. after routing, a new flow leaving an inside interface through an
//!    outside one gets its source mapped: a 1:1 public address first, else
//!    the first source rule that holds its source (source NAT, as
//!    POSTROUTING);
//! 3. a datagram that would cross between inside and outside with no
//!    translation is dropped (`nat-unmapped`): a private address is reached
//!    from outside, and reaches outside, only through a mapping. Traffic
//!    between two inside (or two outside) interfaces is routed as usual.
//!
//! IPv6 is never translated and never stopped by the boundary (there is no
//! NAT66). The table itself is in [`table`].

pub mod table;

use std::net::{IpAddr, Ipv4Addr};

use wirelab_net::{IfaceId, NodeId, NodeKind};
use wirelab_spec::{Nat, RouterId, Span, TransportProto};

pub use table::{Dir, Entry, NatRule, NatTable, Refused, Tuple};

use crate::engine::Sim;
use crate::packet::{Body, Icmp, Ip, Packet, Quoted, L4};
use crate::trace::{DropCause, NatField, NatPhase, NatStep, Step};

/// A router's NAT state during a run.
#[derive(Clone, Debug, Default)]
pub struct NatState {
    pub table: NatTable,
    /// Per source rule: where its next port search starts.
    cursors: Vec<u64>,
}

impl NatState {
    pub(crate) fn new(nat: &Nat) -> NatState {
        NatState {
            table: NatTable::default(),
            cursors: vec![0; nat.source.len()],
        }
    }

    pub(crate) fn clear(&mut self) {
        self.table.clear();
        self.cursors.fill(0);
    }
}

/// What NAT makes of a packet before routing.
#[derive(Clone, Copy, Debug)]
enum Match {
    Tracked(u32, Dir),
    /// An ICMP error whose quoted datagram, turned around, is the entry's
    /// tuple in this direction.
    Related(u32, Dir),
    Forward(usize),
    Static(usize),
}

/// The tuple of an IPv4 TCP or UDP segment or ICMP echo; `None` for
/// anything else (IPv6, ICMP errors).
pub fn tuple_of(ip: &Ip) -> Option<Tuple> {
    let (IpAddr::V4(src), IpAddr::V4(dst)) = (ip.src, ip.dst) else {
        return None;
    };
    let (src_port, dst_port) = match ip.l4 {
        L4::Tcp(t) => (t.src_port, t.dst_port),
        L4::Udp(u) => (u.src_port, u.dst_port),
        L4::Icmp(Icmp::EchoRequest { id, .. } | Icmp::EchoReply { id, .. }) => (id, id),
        L4::Icmp(_) | L4::Ospf(_) => return None,
    };
    Some(Tuple {
        proto: ip.proto(),
        src,
        src_port,
        dst,
        dst_port,
    })
}

fn tuple_of_quoted(q: &Quoted) -> Option<Tuple> {
    let (IpAddr::V4(src), IpAddr::V4(dst)) = (q.src, q.dst) else {
        return None;
    };
    matches!(q.proto, 1 | 6 | 17).then_some(Tuple {
        proto: q.proto,
        src,
        src_port: q.src_port,
        dst,
        dst_port: q.dst_port,
    })
}

/// `ip` with the addresses and ports (echo identifier) of `t`.
fn rewrite(ip: &mut Ip, t: Tuple) {
    ip.src = IpAddr::V4(t.src);
    ip.dst = IpAddr::V4(t.dst);
    match &mut ip.l4 {
        L4::Tcp(seg) => (seg.src_port, seg.dst_port) = (t.src_port, t.dst_port),
        L4::Udp(u) => (u.src_port, u.dst_port) = (t.src_port, t.dst_port),
        L4::Icmp(Icmp::EchoRequest { id, .. } | Icmp::EchoReply { id, .. }) => *id = t.src_port,
        L4::Icmp(_) | L4::Ospf(_) => {}
    }
}

fn quoted_mut(icmp: &mut Icmp) -> Option<&mut Quoted> {
    match icmp {
        Icmp::Unreachable { quoted, .. }
        | Icmp::TimeExceeded { quoted }
        | Icmp::TooBig { quoted, .. } => Some(quoted),
        _ => None,
    }
}

impl<'n> Sim<'n> {
    /// The router behind `node` when it has NAT rules.
    fn nat_router(&self, node: NodeId) -> Option<(RouterId, &'n Nat)> {
        let net: &'n wirelab_net::Network = self.net;
        match net.nodes[node].kind {
            NodeKind::Router(r) if !net.lab.routers[r].nat.is_empty() => {
                Some((r, &net.lab.routers[r].nat))
            }
            _ => None,
        }
    }

    /// The position of an interface among its node's.
    fn iface_pos(&self, node: NodeId, iface: IfaceId) -> usize {
        self.net.nodes[node]
            .ifaces
            .iter()
            .position(|&i| i == iface)
            .expect("an interface of the node")
    }

    /// The translation table of a router (empty without NAT).
    pub fn nat_table(&self, router: RouterId) -> &NatTable {
        &self.nat[router].table
    }

    /// Whether `addr` is a public address of the router's pools or 1:1
    /// mappings (the router answers for it as for its own).
    pub(crate) fn nat_owns(&self, node: NodeId, addr: IpAddr) -> bool {
        let (Some((_, nat)), IpAddr::V4(a)) = (self.nat_router(node), addr) else {
            return false;
        };
        nat.static_maps.iter().any(|m| m.public == a)
            || nat
                .source
                .iter()
                .any(|s| !s.masquerade && s.first <= a && a <= s.last)
    }

    /// Whether the router answers ARP for `target` on `iface`: a public
    /// address of a pool or 1:1 mapping of that interface (proxy ARP, as a
    /// Linux router with the addresses on its outside interface).
    pub(crate) fn nat_arp(&self, iface: IfaceId, target: Ipv4Addr) -> bool {
        let node = self.net.ifaces[iface].node;
        let Some((_, nat)) = self.nat_router(node) else {
            return false;
        };
        let pos = self.iface_pos(node, iface);
        nat.static_maps
            .iter()
            .any(|m| m.on == pos && m.public == target)
            || nat
                .source
                .iter()
                .any(|s| !s.masquerade && s.out == pos && s.first <= target && target <= s.last)
    }

    /// The interface of a NAT router on `segment` that answers ARP for
    /// `target`, a public address no node owns.
    pub(crate) fn nat_proxy(&self, segment: usize, target: IpAddr) -> Option<IfaceId> {
        let IpAddr::V4(t) = target else {
            return None;
        };
        self.net
            .router_nodes
            .iter()
            .filter(|&&n| self.nat_router(n).is_some())
            .flat_map(|&n| self.net.nodes[n].ifaces.iter().copied())
            .find(|&i| self.net.ifaces[i].segment == segment && self.nat_arp(i, t))
    }

    /// Whether NAT takes a packet addressed to the router itself (a reply
    /// to its masquerade address, a port forward of its address) on to be
    /// forwarded.
    pub(crate) fn nat_claims(&mut self, node: NodeId, in_iface: IfaceId, ip: &Ip) -> bool {
        match self.nat_router(node) {
            Some((r, nat)) => self.nat_match(r, nat, node, in_iface, ip).is_some(),
            None => false,
        }
    }

    fn nat_match(
        &mut self,
        r: RouterId,
        nat: &Nat,
        node: NodeId,
        in_iface: IfaceId,
        ip: &Ip,
    ) -> Option<Match> {
        let now = self.now;
        if let L4::Icmp(icmp) = ip.l4 {
            if let Some(q) = icmp.quoted() {
                let u = tuple_of_quoted(&q)?.inverse();
                let (slot, dir) = self.nat[r].table.find(&u, now)?;
                return Some(Match::Related(slot, dir));
            }
        }
        let t = tuple_of(ip)?;
        if let Some((slot, dir)) = self.nat[r].table.find(&t, now) {
            return Some(Match::Tracked(slot, dir));
        }
        let pos = self.iface_pos(node, in_iface);
        let proto = match ip.l4 {
            L4::Tcp(_) => Some(TransportProto::Tcp),
            L4::Udp(_) => Some(TransportProto::Udp),
            L4::Icmp(_) | L4::Ospf(_) => None,
        };
        if let Some(i) = nat.forward.iter().position(|f| {
            f.in_iface == pos
                && f.public == t.dst
                && Some(f.proto) == proto
                && f.ports.contains(t.dst_port)
        }) {
            return Some(Match::Forward(i));
        }
        // An echo reply starts nothing: it answers a request.
        let starts = !matches!(ip.l4, L4::Icmp(Icmp::EchoReply { .. }));
        let m = nat
            .static_maps
            .iter()
            .position(|m| m.on == pos && m.public == t.dst)
            .filter(|_| starts)?;
        Some(Match::Static(m))
    }

    /// Before routing: tracked flows both ways, ICMP errors about them,
    /// and new flows of port forwards and 1:1 addresses. Returns the packet
    /// as it goes on and whether NAT translated it.
    pub(crate) fn nat_prerouting(
        &mut self,
        node: NodeId,
        in_iface: IfaceId,
        pkt: Packet,
        ip: Ip,
    ) -> (Packet, Ip, bool) {
        let Some((r, nat)) = self.nat_router(node) else {
            return (pkt, ip, false);
        };
        let Some(m) = self.nat_match(r, nat, node, in_iface, &ip) else {
            return (pkt, ip, false);
        };
        let now = self.now;
        let (slot, phase) = match m {
            Match::Tracked(slot, dir) => {
                let phase = match dir {
                    Dir::Original => NatPhase::Original,
                    Dir::Reply => NatPhase::Reply,
                };
                (slot, phase)
            }
            Match::Related(slot, dir) => {
                let out = self.nat_related(node, r, slot, dir, pkt, ip);
                return (out.0, out.1, true);
            }
            Match::Forward(i) => {
                let f = &nat.forward[i];
                let t = tuple_of(&ip).expect("a forward matched a tuple");
                let reply = Tuple {
                    proto: t.proto,
                    src: f.to,
                    src_port: f.to_port.unwrap_or(t.dst_port),
                    dst: t.src,
                    dst_port: t.src_port,
                };
                match self.nat[r].table.insert(t, reply, NatRule::Forward(i), now) {
                    Ok(slot) => (slot, NatPhase::New),
                    Err(_) => return (pkt, ip, false),
                }
            }
            Match::Static(i) => {
                let m = &nat.static_maps[i];
                let t = tuple_of(&ip).expect("a mapping matched a tuple");
                let reply = Tuple {
                    src: m.private,
                    ..t.inverse()
                };
                match self.nat[r].table.insert(t, reply, NatRule::Static(i), now) {
                    Ok(slot) => (slot, NatPhase::New),
                    Err(_) => return (pkt, ip, false),
                }
            }
        };
        let dir = match phase {
            NatPhase::Reply => Dir::Reply,
            _ => Dir::Original,
        };
        let new = self.nat[r].table.pass(slot, dir, now);
        let (pkt, ip) = self.nat_apply(node, r, slot, pkt, ip, new, phase);
        (pkt, ip, true)
    }

    /// After routing: source NAT of a new flow going out, and the
    /// boundary. `None` when the packet was dropped.
    pub(crate) fn nat_postrouting(
        &mut self,
        node: NodeId,
        in_iface: IfaceId,
        out_iface: IfaceId,
        pkt: Packet,
        ip: Ip,
        translated: bool,
    ) -> Option<(Packet, Ip)> {
        let Some((r, nat)) = self.nat_router(node) else {
            return Some((pkt, ip));
        };
        if translated || ip.is_v6() {
            return Some((pkt, ip));
        }
        let (in_pos, out_pos) = (
            self.iface_pos(node, in_iface),
            self.iface_pos(node, out_iface),
        );
        match (nat.is_outside(in_pos), nat.is_outside(out_pos)) {
            (false, true) => {}
            (true, false) => {
                self.drop_packet(node, &pkt, DropCause::NatUnmapped { iface: in_iface });
                return None;
            }
            _ => return Some((pkt, ip)),
        }
        let now = self.now;
        // ICMP errors start no flow: they are related to one, or nothing.
        let Some(t) = tuple_of(&ip) else {
            self.drop_packet(node, &pkt, DropCause::NatUnmapped { iface: out_iface });
            return None;
        };
        let made = if let Some(i) = nat
            .static_maps
            .iter()
            .position(|m| m.on == out_pos && m.private == t.src)
        {
            let reply = Tuple {
                dst: nat.static_maps[i].public,
                ..t.inverse()
            };
            self.nat[r].table.insert(t, reply, NatRule::Static(i), now)
        } else if let Some(i) = nat
            .source
            .iter()
            .position(|s| s.out == out_pos && s.from.contains(&t.src))
        {
            let s = &nat.source[i];
            let mut cursor = self.nat[r].cursors[i];
            let res = self.nat[r].table.allocate(
                t,
                (s.first, s.last),
                s.ports,
                &mut cursor,
                NatRule::Source(i),
                now,
            );
            self.nat[r].cursors[i] = cursor;
            if res.is_err() {
                let cause = DropCause::NatPortsExhausted {
                    rule: i,
                    span: s.span,
                };
                self.drop_packet(node, &pkt, cause);
                return None;
            }
            res
        } else {
            self.drop_packet(node, &pkt, DropCause::NatUnmapped { iface: out_iface });
            return None;
        };
        let Ok(slot) = made else {
            self.drop_packet(node, &pkt, DropCause::NatUnmapped { iface: out_iface });
            return None;
        };
        let new = self.nat[r].table.pass(slot, Dir::Original, now);
        Some(self.nat_apply(node, r, slot, pkt, ip, new, NatPhase::New))
    }

    /// An ICMP error this router sends, about a datagram of a translated
    /// flow: translated back like one that crossed it.
    pub(crate) fn nat_local_error(&mut self, node: NodeId, pkt: Packet) -> Packet {
        let Some((r, _)) = self.nat_router(node) else {
            return pkt;
        };
        let Body::Ip(ip) = pkt.body else { return pkt };
        let Some(q) = (match ip.l4 {
            L4::Icmp(icmp) => icmp.quoted(),
            _ => None,
        }) else {
            return pkt;
        };
        let Some(u) = tuple_of_quoted(&q).map(Tuple::inverse) else {
            return pkt;
        };
        match self.nat[r].table.find(&u, self.now) {
            Some((slot, dir)) => self.nat_related(node, r, slot, dir, pkt, ip).0,
            None => pkt,
        }
    }

    /// Rewrites an ICMP error whose quoted datagram, turned around, has the
    /// entry's tuple of direction `dir`: the quoted datagram becomes what
    /// the other side sent, and the outer addresses follow.
    fn nat_related(
        &mut self,
        node: NodeId,
        r: RouterId,
        slot: u32,
        dir: Dir,
        pkt: Packet,
        mut ip: Ip,
    ) -> (Packet, Ip) {
        let e = *self.nat[r].table.entry(slot);
        // The error travels in direction `dir`; the datagram it quotes
        // went the other way, translated. Put back what its sender sent.
        let (this, other) = match dir {
            Dir::Reply => (e.reply, e.original),
            Dir::Original => (e.original, e.reply),
        };
        let L4::Icmp(mut icmp) = ip.l4 else {
            return (pkt, ip);
        };
        let Some(q) = quoted_mut(&mut icmp) else {
            return (pkt, ip);
        };
        let before = *q;
        q.src = IpAddr::V4(other.src);
        q.src_port = other.src_port;
        q.dst = IpAddr::V4(other.dst);
        q.dst_port = other.dst_port;
        let after = *q;
        if ip.src == IpAddr::V4(this.src) {
            ip.src = IpAddr::V4(other.dst);
        }
        if ip.dst == IpAddr::V4(this.dst) {
            ip.dst = IpAddr::V4(other.src);
        }
        ip.l4 = L4::Icmp(icmp);
        let out = Packet {
            body: Body::Ip(ip),
            ..pkt
        };
        let (rule, span) = self.nat_rule(r, e.rule);
        let record = |sim: &mut Sim<'n>, field, b: (IpAddr, u16), a: (IpAddr, u16)| {
            if b != a {
                let step = NatStep {
                    rule,
                    span,
                    field,
                    phase: NatPhase::Related,
                    before: b,
                    after: a,
                };
                sim.record(node, &out, Step::Nat(step));
            }
        };
        // The error's destination is the quoted datagram's source, and
        // the reverse.
        record(
            self,
            NatField::Destination,
            (before.src, before.src_port),
            (after.src, after.src_port),
        );
        record(
            self,
            NatField::Source,
            (before.dst, before.dst_port),
            (after.dst, after.dst_port),
        );
        (out, ip)
    }

    /// Gives a packet the tuple `new` and records each endpoint changed.
    #[allow(clippy::too_many_arguments)]
    fn nat_apply(
        &mut self,
        node: NodeId,
        r: RouterId,
        slot: u32,
        pkt: Packet,
        mut ip: Ip,
        new: Tuple,
        phase: NatPhase,
    ) -> (Packet, Ip) {
        let old = tuple_of(&ip).expect("a translated packet has a tuple");
        rewrite(&mut ip, new);
        let out = Packet {
            body: Body::Ip(ip),
            ..pkt
        };
        let (rule, span) = self.nat_rule(r, self.nat[r].table.entry(slot).rule);
        let changes = [
            (
                NatField::Source,
                (old.src, old.src_port),
                (new.src, new.src_port),
            ),
            (
                NatField::Destination,
                (old.dst, old.dst_port),
                (new.dst, new.dst_port),
            ),
        ];
        for (field, b, a) in changes {
            if b != a {
                let step = NatStep {
                    rule,
                    span,
                    field,
                    phase,
                    before: (IpAddr::V4(b.0), b.1),
                    after: (IpAddr::V4(a.0), a.1),
                };
                self.record(node, &out, Step::Nat(step));
            }
        }
        (out, ip)
    }

    /// Who really sent a packet that reached a host from a NAT router's
    /// public address: the inside host behind a port forward or 1:1
    /// mapping (so a check reports `app1`, not the router). `None` when no
    /// mapping explains it.
    pub(crate) fn nat_real_source(&self, ip: &Ip) -> Option<IpAddr> {
        let original = match ip.l4 {
            L4::Icmp(icmp) if icmp.is_error() => tuple_of_quoted(&icmp.quoted()?)?,
            _ => tuple_of(ip)?.inverse(),
        };
        if IpAddr::V4(original.dst) != ip.src {
            return None;
        }
        self.net.router_nodes.iter().find_map(|&n| {
            let (r, _) = self.nat_router(n)?;
            let e = self.nat[r].table.peek(&original, self.now)?;
            (e.original == original).then_some(IpAddr::V4(e.reply.src))
        })
    }

    /// A TCP or UDP segment seen on the wire, as its sender sent it: on
    /// the translated side of a NAT the addresses and ports differ from
    /// those of the sender's socket. `None` when no NAT table knows it.
    pub(crate) fn nat_sender_view(
        &self,
        wire: (IpAddr, u16, IpAddr, u16),
        proto: u8,
    ) -> Option<(IpAddr, u16, IpAddr, u16)> {
        let (IpAddr::V4(src), IpAddr::V4(dst)) = (wire.0, wire.2) else {
            return None;
        };
        let back = Tuple {
            proto,
            src: dst,
            src_port: wire.3,
            dst: src,
            dst_port: wire.1,
        };
        self.net.router_nodes.iter().find_map(|&n| {
            let (r, _) = self.nat_router(n)?;
            let e = self.nat[r].table.peek(&back, self.now)?;
            // The wire tuple is the translation of the other direction.
            let sent = if back == e.reply { e.original } else { e.reply };
            Some((
                IpAddr::V4(sent.src),
                sent.src_port,
                IpAddr::V4(sent.dst),
                sent.dst_port,
            ))
        })
    }

    fn nat_rule(&self, r: RouterId, rule: NatRule) -> (NatRule, Span) {
        let nat = &self.net.lab.routers[r].nat;
        let span = match rule {
            NatRule::Source(i) => nat.source[i].span,
            NatRule::Forward(i) => nat.forward[i].span,
            NatRule::Static(i) => nat.static_maps[i].span,
        };
        (rule, span)
    }
}
