//! A router's translation table, keyed as Linux conntrack keys it: each
//! entry holds the tuple of its **original** direction (as the first packet
//! arrived) and the tuple of its **reply** direction (as replies will
//! arrive, after translation), and both are looked up exactly.
//!
//! A packet whose tuple is an entry's original tuple leaves with the
//! inverse of the reply tuple, and the reverse; that one rule covers source
//! NAT, port forwarding and 1:1 mappings alike. ICMP echo uses its
//! identifier as both ports, as [`crate::conntrack`] does.
//!
//! Entries are kept in a slab in the order they were made (so a listing of
//! the table is deterministic); the lookup map is never iterated. Idle
//! entries expire after the connection-tracking timeouts of
//! [`crate::conntrack::idle_timeout`] and are reclaimed when met.

use std::collections::HashMap;
use std::net::Ipv4Addr;

use wirelab_spec::PortRange;

use crate::conntrack::idle_timeout;
use crate::time::SimTime;

/// Most live entries of one router (Linux's `nf_conntrack_max` is of this
/// order); a new flow beyond it is dropped like an exhausted port range.
pub const ENTRIES_MAX: usize = 1 << 20;

/// One direction of a flow: protocol, source and destination endpoints.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Tuple {
    pub proto: u8,
    pub src: Ipv4Addr,
    pub src_port: u16,
    pub dst: Ipv4Addr,
    pub dst_port: u16,
}

impl Tuple {
    /// The tuple of a packet going the other way.
    pub fn inverse(self) -> Tuple {
        Tuple {
            proto: self.proto,
            src: self.dst,
            src_port: self.dst_port,
            dst: self.src,
            dst_port: self.src_port,
        }
    }
}

/// Which rule made an entry (its index in the router's rules of that kind).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum NatRule {
    Source(usize),
    Forward(usize),
    Static(usize),
}

/// The direction of a packet relative to its entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dir {
    Original,
    Reply,
}

/// One translated flow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Entry {
    pub original: Tuple,
    pub reply: Tuple,
    pub rule: NatRule,
    pub last_seen: SimTime,
    /// Packets went both ways (UDP's longer timeout).
    pub both_ways: bool,
}

impl Entry {
    /// Idle longer than its protocol's timeout at `now`.
    pub fn expired(&self, now: SimTime) -> bool {
        now - self.last_seen > idle_timeout(self.original.proto, self.both_ways)
    }

    /// The tuple a packet of direction `dir` leaves with.
    pub fn translated(&self, dir: Dir) -> Tuple {
        match dir {
            Dir::Original => self.reply.inverse(),
            Dir::Reply => self.original.inverse(),
        }
    }
}

/// Why a new flow got no mapping.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refused {
    /// Every (address, port) of the rule is in use towards this
    /// destination, or the table is full.
    Exhausted,
    /// The reply tuple is already another flow's.
    Clash,
}

#[derive(Clone, Debug, Default)]
pub struct NatTable {
    slots: Vec<Option<Entry>>,
    free: Vec<u32>,
    by_tuple: HashMap<Tuple, (u32, Dir)>,
    live: usize,
}

impl NatTable {
    /// The entry a tuple belongs to, and in which direction; an expired
    /// entry is removed and not returned.
    pub fn find(&mut self, t: &Tuple, now: SimTime) -> Option<(u32, Dir)> {
        let (slot, dir) = *self.by_tuple.get(t)?;
        let e = self.slots[slot as usize].expect("a mapped tuple has a live entry");
        if e.expired(now) {
            self.remove(slot);
            return None;
        }
        Some((slot, dir))
    }

    /// Like [`NatTable::find`], without forgetting expired entries (for
    /// looking, not for forwarding).
    pub fn peek(&self, t: &Tuple, now: SimTime) -> Option<&Entry> {
        let (slot, _) = self.by_tuple.get(t)?;
        self.slots[*slot as usize]
            .as_ref()
            .filter(|e| !e.expired(now))
    }

    pub fn entry(&self, slot: u32) -> &Entry {
        self.slots[slot as usize]
            .as_ref()
            .expect("a slot handed out is live")
    }

    /// A packet of the entry passed: its idle timer restarts. Returns the
    /// tuple it leaves with.
    pub fn pass(&mut self, slot: u32, dir: Dir, now: SimTime) -> Tuple {
        let e = self.slots[slot as usize]
            .as_mut()
            .expect("a slot handed out is live");
        e.last_seen = now;
        e.both_ways |= dir == Dir::Reply;
        e.translated(dir)
    }

    /// Records a flow whose reply tuple is known (port forwards, 1:1).
    pub fn insert(
        &mut self,
        original: Tuple,
        reply: Tuple,
        rule: NatRule,
        now: SimTime,
    ) -> Result<u32, Refused> {
        if self.live >= ENTRIES_MAX {
            return Err(Refused::Exhausted);
        }
        if self.find(&original, now).is_some() || self.find(&reply, now).is_some() {
            return Err(Refused::Clash);
        }
        let entry = Entry {
            original,
            reply,
            rule,
            last_seen: now,
            both_ways: false,
        };
        let slot = match self.free.pop() {
            Some(s) => {
                self.slots[s as usize] = Some(entry);
                s
            }
            None => {
                self.slots.push(Some(entry));
                (self.slots.len() - 1) as u32
            }
        };
        self.by_tuple.insert(original, (slot, Dir::Original));
        self.by_tuple.insert(reply, (slot, Dir::Reply));
        self.live += 1;
        Ok(slot)
    }

    /// Source NAT for a new flow: the first free (address, port) of the
    /// pool `first..=last` × `ports`, walking from `cursor` (which then
    /// moves past the choice, so ports are handed out in turn rather than
    /// reused at once). Free means no live flow has the same reply tuple:
    /// like Linux and an AWS NAT gateway, one public port serves many
    /// destinations at once. The walk is bounded by the pool's size.
    pub fn allocate(
        &mut self,
        original: Tuple,
        pool: (Ipv4Addr, Ipv4Addr),
        ports: PortRange,
        cursor: &mut u64,
        rule: NatRule,
        now: SimTime,
    ) -> Result<u32, Refused> {
        let addrs = u64::from(u32::from(pool.1) - u32::from(pool.0)) + 1;
        let per_addr = u64::from(ports.last - ports.first) + 1;
        let size = addrs * per_addr;
        for step in 0..size {
            let n = (*cursor + step) % size;
            let reply = Tuple {
                proto: original.proto,
                src: original.dst,
                src_port: original.dst_port,
                dst: Ipv4Addr::from(u32::from(pool.0) + (n / per_addr) as u32),
                dst_port: ports.first + (n % per_addr) as u16,
            };
            // ICMP echo: the identifier is both "ports".
            let reply = if original.proto == 1 {
                Tuple {
                    src_port: reply.dst_port,
                    ..reply
                }
            } else {
                reply
            };
            if self.find(&reply, now).is_some() {
                continue;
            }
            *cursor = (n + 1) % size;
            return self.insert(original, reply, rule, now);
        }
        Err(Refused::Exhausted)
    }

    fn remove(&mut self, slot: u32) {
        if let Some(e) = self.slots[slot as usize].take() {
            self.by_tuple.remove(&e.original);
            self.by_tuple.remove(&e.reply);
            self.free.push(slot);
            self.live -= 1;
        }
    }

    /// Live and expired-but-not-yet-reclaimed entries, oldest slot first.
    pub fn entries(&self) -> impl Iterator<Item = &Entry> + '_ {
        self.slots.iter().flatten()
    }

    /// Entries held, counting idle ones not reclaimed yet (see
    /// [`Entry::expired`]).
    pub fn len(&self) -> usize {
        self.live
    }

    pub fn is_empty(&self) -> bool {
        self.live == 0
    }

    pub fn clear(&mut self) {
        self.slots.clear();
        self.free.clear();
        self.by_tuple.clear();
        self.live = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(proto: u8, src: &str, sp: u16, dst: &str, dp: u16) -> Tuple {
        Tuple {
            proto,
            src: src.parse().unwrap(),
            src_port: sp,
            dst: dst.parse().unwrap(),
            dst_port: dp,
        }
    }

    const PUB: (Ipv4Addr, Ipv4Addr) =
        (Ipv4Addr::new(203, 0, 113, 1), Ipv4Addr::new(203, 0, 113, 1));

    fn ports(first: u16, last: u16) -> PortRange {
        PortRange { first, last }
    }

    #[test]
    fn ports_are_handed_out_in_turn_and_replies_find_their_flow() {
        let mut nat = NatTable::default();
        let mut cursor = 0;
        let now = SimTime::ZERO;
        let a = t(6, "10.0.1.10", 40000, "198.51.100.7", 80);
        let b = t(6, "10.0.1.11", 40000, "198.51.100.7", 80);
        let sa = nat
            .allocate(
                a,
                PUB,
                ports(1024, 65535),
                &mut cursor,
                NatRule::Source(0),
                now,
            )
            .unwrap();
        let sb = nat
            .allocate(
                b,
                PUB,
                ports(1024, 65535),
                &mut cursor,
                NatRule::Source(0),
                now,
            )
            .unwrap();
        assert_eq!(
            nat.entry(sa).translated(Dir::Original),
            t(6, "203.0.113.1", 1024, "198.51.100.7", 80)
        );
        assert_eq!(
            nat.entry(sb).translated(Dir::Original),
            t(6, "203.0.113.1", 1025, "198.51.100.7", 80)
        );
        // The server's reply to 1025 is b's, and goes back untranslated.
        let reply = t(6, "198.51.100.7", 80, "203.0.113.1", 1025);
        assert_eq!(nat.find(&reply, now), Some((sb, Dir::Reply)));
        assert_eq!(nat.pass(sb, Dir::Reply, now), b.inverse());
        // A later packet of a's flow is found in the original direction.
        assert_eq!(nat.find(&a, now), Some((sa, Dir::Original)));
        assert_eq!(nat.len(), 2);
    }

    #[test]
    fn a_public_port_serves_many_destinations_and_runs_out_per_destination() {
        let mut nat = NatTable::default();
        let mut cursor = 0;
        let now = SimTime::ZERO;
        let two = ports(5000, 5001);
        let rule = NatRule::Source(0);
        for sport in [1, 2] {
            let flow = t(17, "10.0.1.10", sport, "198.51.100.7", 53);
            assert!(nat.allocate(flow, PUB, two, &mut cursor, rule, now).is_ok());
        }
        let third = t(17, "10.0.1.10", 3, "198.51.100.7", 53);
        assert_eq!(
            nat.allocate(third, PUB, two, &mut cursor, rule, now),
            Err(Refused::Exhausted)
        );
        // Another destination may reuse port 5000.
        let elsewhere = t(17, "10.0.1.10", 3, "198.51.100.8", 53);
        let s = nat
            .allocate(elsewhere, PUB, two, &mut cursor, rule, now)
            .unwrap();
        assert_eq!(nat.entry(s).reply.dst_port, 5000);
    }

    #[test]
    fn idle_entries_expire_and_free_their_port() {
        let mut nat = NatTable::default();
        let mut cursor = 0;
        let one = ports(7000, 7000);
        let rule = NatRule::Source(0);
        let flow = t(17, "10.0.1.10", 1, "198.51.100.7", 53);
        nat.allocate(flow, PUB, one, &mut cursor, rule, SimTime::ZERO)
            .unwrap();
        let other = t(17, "10.0.1.11", 1, "198.51.100.7", 53);
        // UDP one way: 30 s idle. At 30 s the port is still taken...
        assert_eq!(
            nat.allocate(other, PUB, one, &mut cursor, rule, SimTime::from_secs(30)),
            Err(Refused::Exhausted)
        );
        // ...after it, reclaimed for the next flow.
        let s = nat
            .allocate(other, PUB, one, &mut cursor, rule, SimTime::from_secs(31))
            .unwrap();
        assert_eq!(nat.entry(s).original, other);
        assert_eq!(nat.find(&flow, SimTime::from_secs(31)), None);
        assert_eq!(nat.len(), 1);
    }

    #[test]
    fn replies_keep_a_flow_alive_longer() {
        let mut nat = NatTable::default();
        let mut cursor = 0;
        let flow = t(17, "10.0.1.10", 1, "198.51.100.7", 53);
        let s = nat
            .allocate(
                flow,
                PUB,
                ports(1024, 2000),
                &mut cursor,
                NatRule::Source(0),
                SimTime::ZERO,
            )
            .unwrap();
        nat.pass(s, Dir::Reply, SimTime::from_secs(10));
        // A stream: 180 s from the last packet.
        assert!(nat.find(&flow, SimTime::from_secs(189)).is_some());
        assert!(nat.find(&flow, SimTime::from_secs(400)).is_none());
    }

    #[test]
    fn echo_identifiers_are_translated_as_both_ports() {
        let mut nat = NatTable::default();
        let mut cursor = 0;
        let echo = t(1, "10.0.1.10", 77, "198.51.100.7", 77);
        let s = nat
            .allocate(
                echo,
                PUB,
                ports(1024, 65535),
                &mut cursor,
                NatRule::Source(0),
                SimTime::ZERO,
            )
            .unwrap();
        assert_eq!(
            nat.entry(s).translated(Dir::Original),
            t(1, "203.0.113.1", 1024, "198.51.100.7", 1024)
        );
        let reply = t(1, "198.51.100.7", 1024, "203.0.113.1", 1024);
        assert_eq!(nat.pass(s, Dir::Reply, SimTime::ZERO), echo.inverse());
        assert_eq!(nat.find(&reply, SimTime::ZERO), Some((s, Dir::Reply)));
    }

    #[test]
    fn a_forward_cannot_take_a_tuple_another_flow_has() {
        let mut nat = NatTable::default();
        let o = t(6, "198.51.100.7", 5555, "203.0.113.1", 8080);
        let r = t(6, "10.0.1.10", 80, "198.51.100.7", 5555);
        nat.insert(o, r, NatRule::Forward(0), SimTime::ZERO)
            .unwrap();
        let o2 = t(6, "198.51.100.7", 5555, "203.0.113.2", 8080);
        assert_eq!(
            nat.insert(o2, r, NatRule::Forward(1), SimTime::ZERO),
            Err(Refused::Clash)
        );
        assert_eq!(nat.entries().count(), 1);
    }
}
