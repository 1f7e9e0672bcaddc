//! A link-state routing protocol modelled on OSPFv2 (RFC 2328), as a
//! sans-IO state machine: the engine hands it the messages that arrive
//! (`receive`) and the time (`poll`), and sends what it returns; `poll_at`
//! says when it next wants the time.
//!
//! What is modelled, after RFC 2328:
//! - **Hellos** (§9.5, §10.5) every `hello` on each interface, listing the
//!   neighbours heard there; a neighbour is *two-way* once it lists us,
//!   and is declared down when nothing is heard from it for `dead`.
//! - **Adjacency**: every two-way neighbour becomes *full* (every link is
//!   treated as point-to-point: no designated router on shared networks,
//!   a simplification). The database exchange (§10.6–10.9) is reduced to
//!   sending the whole database to the new neighbour, reliably.
//! - **Router LSAs** (§12.4.1): each router describes its full adjacencies
//!   with the interface cost and its connected prefixes; a new instance
//!   (sequence number + 1) whenever that changes, and every `refresh`.
//! - **Reliable flooding** (§13): a newer instance is installed and sent to
//!   every full neighbour but the one it came from, each kept on that
//!   neighbour's retransmission list until acknowledged, resent every
//!   `retransmit`. Which instance is newer follows §13.1 (sequence number,
//!   then MaxAge, then age).
//! - **Ageing** (§14): an LSA's age grows while it is stored; at `max_age`
//!   it is flushed (flooded at MaxAge, then removed) and no longer counts.
//! - **SPF** (§16.1): Dijkstra over the routers whose links are listed by
//!   both ends, `spf_delay` after the first change; **ECMP**: every first
//!   hop of an equal-cost shortest path is kept.
//!
//! Costs are given per interface; the engine derives them from bandwidth
//! (reference bandwidth / link bandwidth, at least 1, as OSPF does).

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap};
use std::net::IpAddr;

use ipnet::IpNet;

use crate::time::SimTime;

/// A router's identifier in the protocol (OSPF's 32-bit router ID).
pub type RouterId = u32;

/// A first hop: the interface and the neighbour's address on it.
pub type FirstHop = (usize, IpAddr);

/// The protocol's timers (RFC 2328 appendix C defaults, SPF delay as in
/// common implementations).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timers {
    pub hello: SimTime,
    pub dead: SimTime,
    pub retransmit: SimTime,
    /// LSRefreshTime: a router re-originates its LSA this often.
    pub refresh: SimTime,
    /// MaxAge: an LSA not refreshed for this long is flushed.
    pub max_age: SimTime,
    /// How long after a change the shortest paths are recomputed.
    pub spf_delay: SimTime,
}

impl Default for Timers {
    fn default() -> Timers {
        Timers {
            hello: SimTime::from_secs(10),
            dead: SimTime::from_secs(40),
            retransmit: SimTime::from_secs(5),
            refresh: SimTime::from_secs(1800),
            max_age: SimTime::from_secs(3600),
            spf_delay: SimTime::from_millis(50),
        }
    }
}

/// One adjacency a router LSA describes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct LsaLink {
    pub neighbor: RouterId,
    pub cost: u32,
}

/// A router LSA: who the router is adjacent to, and what it connects.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lsa {
    pub origin: RouterId,
    pub seq: u32,
    /// Age in seconds when sent (or when stored, for a stored copy).
    pub age_s: u32,
    pub links: Vec<LsaLink>,
    pub prefixes: Vec<(IpNet, u32)>,
}

/// The protocol's messages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Message {
    Hello {
        router: RouterId,
        /// The routers heard on this interface within the dead interval.
        seen: Vec<RouterId>,
    },
    Update {
        lsas: Vec<Lsa>,
    },
    /// (origin, sequence number) of each LSA acknowledged.
    Ack {
        lsas: Vec<(RouterId, u32)>,
    },
}

/// What the protocol sends.
pub type Output = crate::routing::Output<Message>;

pub use crate::routing::IfaceConfig;

/// A route the shortest paths give: every equal-cost first hop.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Route {
    pub prefix: IpNet,
    pub metric: u32,
    /// (interface, neighbour address), sorted.
    pub next_hops: Vec<(usize, IpAddr)>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum NeighborState {
    /// Heard, but it does not list us yet.
    Init,
    /// Two-way and adjacent.
    Full,
}

#[derive(Clone, Debug)]
struct Neighbor {
    router: RouterId,
    addr: IpAddr,
    state: NeighborState,
    dead_at: SimTime,
    /// LSAs sent and not acknowledged: origin → (sequence, when to resend).
    retransmit: BTreeMap<RouterId, (u32, SimTime)>,
}

#[derive(Clone, Debug)]
struct Iface {
    config: IfaceConfig,
    up: bool,
    neighbors: Vec<Neighbor>,
    next_hello: SimTime,
}

#[derive(Clone, Debug)]
struct Stored {
    lsa: Lsa,
    installed: SimTime,
}

/// One router's protocol instance.
#[derive(Clone, Debug)]
pub struct LinkState {
    id: RouterId,
    timers: Timers,
    ifaces: Vec<Iface>,
    lsdb: BTreeMap<RouterId, Stored>,
    seq: u32,
    next_refresh: SimTime,
    /// The router's LSA must be originated again (at the end of the call).
    dirty: bool,
    spf_at: Option<SimTime>,
    routes: Vec<Route>,
    /// Runs of SPF so far (for the convergence report).
    pub spf_runs: u64,
}

/// Which of two instances of an LSA is newer (RFC 2328 §13.1); `None`
/// when they are the same instance. Ages in seconds at `now`.
fn newer(a: (u32, u32), b: (u32, u32), max_age_s: u32) -> Option<bool> {
    let ((seq_a, age_a), (seq_b, age_b)) = (a, b);
    if seq_a != seq_b {
        return Some(seq_a > seq_b);
    }
    if (age_a >= max_age_s) != (age_b >= max_age_s) {
        return Some(age_a >= max_age_s);
    }
    // MaxAgeDiff: ages closer than 15 minutes are the same instance.
    if age_a.abs_diff(age_b) > 900 {
        return Some(age_a < age_b);
    }
    None
}

fn secs(t: SimTime) -> u32 {
    u32::try_from(t.as_nanos() / 1_000_000_000).unwrap_or(u32::MAX)
}

impl LinkState {
    /// A router with these interfaces, all up, starting at `now`: it
    /// sends its first hellos at once.
    pub fn new(id: RouterId, timers: Timers, ifaces: Vec<IfaceConfig>, now: SimTime) -> Self {
        let mut me = LinkState {
            id,
            timers,
            ifaces: ifaces
                .into_iter()
                .map(|config| Iface {
                    config,
                    up: true,
                    neighbors: Vec::new(),
                    next_hello: now,
                })
                .collect(),
            lsdb: BTreeMap::new(),
            seq: 0,
            next_refresh: now + timers.refresh,
            dirty: true,
            spf_at: None,
            routes: Vec::new(),
            spf_runs: 0,
        };
        me.originate(now, &mut Vec::new());
        me
    }

    pub fn id(&self) -> RouterId {
        self.id
    }

    /// The routes of the last SPF run, by prefix.
    pub fn routes(&self) -> &[Route] {
        &self.routes
    }

    /// The full neighbours per interface: (interface, router, address).
    pub fn adjacencies(&self) -> Vec<(usize, RouterId, IpAddr)> {
        let mut out = Vec::new();
        for (i, iface) in self.ifaces.iter().enumerate() {
            for n in iface
                .neighbors
                .iter()
                .filter(|n| n.state == NeighborState::Full)
            {
                out.push((i, n.router, n.addr));
            }
        }
        out
    }

    /// The LSAs stored: (origin, sequence number).
    pub fn database(&self) -> Vec<(RouterId, u32)> {
        self.lsdb.iter().map(|(&o, s)| (o, s.lsa.seq)).collect()
    }

    /// An interface goes down (its neighbours are lost at once, as on a
    /// carrier loss) or comes back up (hellos start again).
    pub fn set_iface_up(&mut self, now: SimTime, iface: usize, up: bool) -> Vec<Output> {
        let mut out = Vec::new();
        let i = &mut self.ifaces[iface];
        if i.up == up {
            return out;
        }
        i.up = up;
        if up {
            i.next_hello = now;
        } else {
            i.neighbors.clear();
        }
        self.dirty = true;
        self.finish(now, &mut out);
        out
    }

    /// A message that arrived on `iface` from the address `from`.
    pub fn receive(
        &mut self,
        now: SimTime,
        iface: usize,
        from: IpAddr,
        msg: Message,
    ) -> Vec<Output> {
        let mut out = Vec::new();
        if !self.ifaces.get(iface).is_some_and(|i| i.up) {
            return out;
        }
        match msg {
            Message::Hello { router, seen } => {
                self.hello(now, iface, from, router, &seen, &mut out)
            }
            Message::Update { lsas } => {
                let Some(n) = self.neighbor_at(iface, from) else {
                    return out;
                };
                let sender = self.ifaces[iface].neighbors[n].router;
                let mut acks = Vec::new();
                for lsa in lsas {
                    self.update(now, iface, sender, lsa, &mut acks, &mut out);
                }
                if !acks.is_empty() {
                    out.push(Output {
                        iface,
                        to: Some(from),
                        message: Message::Ack { lsas: acks },
                    });
                }
            }
            Message::Ack { lsas } => {
                if let Some(n) = self.neighbor_at(iface, from) {
                    let nb = &mut self.ifaces[iface].neighbors[n];
                    for (origin, seq) in lsas {
                        if nb.retransmit.get(&origin).is_some_and(|&(s, _)| s == seq) {
                            nb.retransmit.remove(&origin);
                        }
                    }
                }
            }
        }
        self.finish(now, &mut out);
        out
    }

    /// What the passing of time does: hellos, dead neighbours,
    /// retransmissions, refresh and ageing, SPF.
    pub fn poll(&mut self, now: SimTime) -> Vec<Output> {
        let mut out = Vec::new();
        for (i, iface) in self.ifaces.iter_mut().enumerate() {
            if !iface.up {
                continue;
            }
            let before = iface.neighbors.len();
            let full_before = iface
                .neighbors
                .iter()
                .filter(|n| n.state == NeighborState::Full)
                .count();
            iface.neighbors.retain(|n| n.dead_at > now);
            let full_after = iface
                .neighbors
                .iter()
                .filter(|n| n.state == NeighborState::Full)
                .count();
            if iface.neighbors.len() != before && full_after != full_before {
                self.dirty = true;
            }
            if iface.next_hello <= now {
                iface.next_hello = now + self.timers.hello;
                out.push(Output {
                    iface: i,
                    to: None,
                    message: Message::Hello {
                        router: self.id,
                        seen: iface.neighbors.iter().map(|n| n.router).collect(),
                    },
                });
            }
        }
        self.retransmit(now, &mut out);
        if self.next_refresh <= now {
            self.dirty = true;
        }
        self.age(now, &mut out);
        self.finish(now, &mut out);
        if self.spf_at.is_some_and(|t| t <= now) {
            self.spf_at = None;
            self.spf(now);
        }
        out
    }

    /// When `poll` has something to do next.
    pub fn poll_at(&self) -> Option<SimTime> {
        let mut at = vec![self.next_refresh];
        at.extend(self.spf_at);
        for iface in self.ifaces.iter().filter(|i| i.up) {
            at.push(iface.next_hello);
            for n in &iface.neighbors {
                at.push(n.dead_at);
                at.extend(n.retransmit.values().map(|&(_, t)| t));
            }
        }
        // The next LSA to reach MaxAge.
        at.extend(
            self.lsdb
                .values()
                .filter(|s| s.lsa.age_s < secs(self.timers.max_age))
                .map(|s| {
                    s.installed + self.timers.max_age - SimTime::from_secs(u64::from(s.lsa.age_s))
                }),
        );
        at.into_iter().min()
    }

    fn neighbor_at(&self, iface: usize, from: IpAddr) -> Option<usize> {
        self.ifaces[iface]
            .neighbors
            .iter()
            .position(|n| n.addr == from)
    }

    fn hello(
        &mut self,
        now: SimTime,
        iface: usize,
        from: IpAddr,
        router: RouterId,
        seen: &[RouterId],
        out: &mut Vec<Output>,
    ) {
        if router == self.id {
            return;
        }
        let dead = now + self.timers.dead;
        let two_way = seen.contains(&self.id);
        let i = &mut self.ifaces[iface];
        let n = match i.neighbors.iter().position(|n| n.router == router) {
            Some(n) => n,
            None => {
                i.neighbors.push(Neighbor {
                    router,
                    addr: from,
                    state: NeighborState::Init,
                    dead_at: dead,
                    retransmit: BTreeMap::new(),
                });
                // Answer at once, so that the new neighbour sees us.
                i.next_hello = now;
                i.neighbors.len() - 1
            }
        };
        let nb = &mut i.neighbors[n];
        nb.dead_at = dead;
        nb.addr = from;
        match (nb.state, two_way) {
            (NeighborState::Init, true) => {
                nb.state = NeighborState::Full;
                // The database exchange: everything we have, reliably.
                let lsas: Vec<Lsa> = self.lsdb.values().map(|s| self.aged(s, now)).collect();
                let due = now + self.timers.retransmit;
                let nb = &mut self.ifaces[iface].neighbors[n];
                for l in &lsas {
                    nb.retransmit.insert(l.origin, (l.seq, due));
                }
                if !lsas.is_empty() {
                    out.push(Output {
                        iface,
                        to: Some(from),
                        message: Message::Update { lsas },
                    });
                }
                self.dirty = true;
            }
            (NeighborState::Full, false) => {
                // It no longer lists us (it restarted): back to Init.
                nb.state = NeighborState::Init;
                nb.retransmit.clear();
                self.dirty = true;
            }
            _ => {}
        }
        // Hellos due now go out in this call.
        if self.ifaces[iface].next_hello <= now {
            self.ifaces[iface].next_hello = now + self.timers.hello;
            out.push(Output {
                iface,
                to: None,
                message: Message::Hello {
                    router: self.id,
                    seen: self.ifaces[iface]
                        .neighbors
                        .iter()
                        .map(|n| n.router)
                        .collect(),
                },
            });
        }
    }

    /// A stored LSA with its age now.
    fn aged(&self, s: &Stored, now: SimTime) -> Lsa {
        let mut lsa = s.lsa.clone();
        let max = secs(self.timers.max_age);
        lsa.age_s = lsa.age_s.saturating_add(secs(now - s.installed)).min(max);
        lsa
    }

    fn update(
        &mut self,
        now: SimTime,
        iface: usize,
        sender: RouterId,
        mut lsa: Lsa,
        acks: &mut Vec<(RouterId, u32)>,
        out: &mut Vec<Output>,
    ) {
        let max = secs(self.timers.max_age);
        lsa.age_s = lsa.age_s.min(max);
        let mine = self.lsdb.get(&lsa.origin).map(|s| self.aged(s, now));
        let verdict = match &mine {
            None => Some(true),
            Some(m) => newer((lsa.seq, lsa.age_s), (m.seq, m.age_s), max),
        };
        match verdict {
            Some(true) => {
                acks.push((lsa.origin, lsa.seq));
                if lsa.origin == self.id {
                    // An old instance of our own LSA (from before a
                    // restart): take its number and originate past it.
                    self.seq = self.seq.max(lsa.seq);
                    self.dirty = true;
                    return;
                }
                self.install(now, lsa.clone());
                self.flood(now, &lsa, Some((iface, sender)), out);
            }
            None => {
                // The same instance: an implicit acknowledgement.
                acks.push((lsa.origin, lsa.seq));
                if let Some(n) = self.ifaces[iface]
                    .neighbors
                    .iter_mut()
                    .find(|n| n.router == sender)
                {
                    if n.retransmit
                        .get(&lsa.origin)
                        .is_some_and(|&(s, _)| s == lsa.seq)
                    {
                        n.retransmit.remove(&lsa.origin);
                    }
                }
            }
            Some(false) => {
                // Ours is newer: send it back.
                if let (Some(m), Some(addr)) = (
                    mine,
                    self.ifaces[iface]
                        .neighbors
                        .iter()
                        .find(|n| n.router == sender)
                        .map(|n| n.addr),
                ) {
                    out.push(Output {
                        iface,
                        to: Some(addr),
                        message: Message::Update { lsas: vec![m] },
                    });
                }
            }
        }
    }

    fn install(&mut self, now: SimTime, lsa: Lsa) {
        let changed = self.lsdb.get(&lsa.origin).is_none_or(|s| {
            s.lsa.links != lsa.links
                || s.lsa.prefixes != lsa.prefixes
                || (s.lsa.age_s >= secs(self.timers.max_age))
                    != (lsa.age_s >= secs(self.timers.max_age))
        });
        self.lsdb.insert(
            lsa.origin,
            Stored {
                lsa,
                installed: now,
            },
        );
        if changed {
            self.schedule_spf(now);
        }
    }

    fn schedule_spf(&mut self, now: SimTime) {
        if self.spf_at.is_none() {
            self.spf_at = Some(now + self.timers.spf_delay);
        }
    }

    /// Sends `lsa` to every full neighbour but `except` (interface,
    /// router), onto their retransmission lists.
    fn flood(
        &mut self,
        now: SimTime,
        lsa: &Lsa,
        except: Option<(usize, RouterId)>,
        out: &mut Vec<Output>,
    ) {
        let due = now + self.timers.retransmit;
        let mut sent = lsa.clone();
        // InfTransDelay: one second more on the wire.
        sent.age_s = sent.age_s.saturating_add(1).min(secs(self.timers.max_age));
        for (i, iface) in self.ifaces.iter_mut().enumerate() {
            if !iface.up {
                continue;
            }
            for n in iface
                .neighbors
                .iter_mut()
                .filter(|n| n.state == NeighborState::Full)
            {
                if except == Some((i, n.router)) {
                    continue;
                }
                n.retransmit.insert(lsa.origin, (lsa.seq, due));
                out.push(Output {
                    iface: i,
                    to: Some(n.addr),
                    message: Message::Update {
                        lsas: vec![sent.clone()],
                    },
                });
            }
        }
    }

    fn retransmit(&mut self, now: SimTime, out: &mut Vec<Output>) {
        let due = now + self.timers.retransmit;
        let mut resend: Vec<(usize, IpAddr, Vec<RouterId>)> = Vec::new();
        for (i, iface) in self.ifaces.iter_mut().enumerate() {
            for n in &mut iface.neighbors {
                let late: Vec<RouterId> = n
                    .retransmit
                    .iter()
                    .filter(|(_, &(_, t))| t <= now)
                    .map(|(&o, _)| o)
                    .collect();
                for o in &late {
                    if let Some(e) = n.retransmit.get_mut(o) {
                        e.1 = due;
                    }
                }
                if !late.is_empty() {
                    resend.push((i, n.addr, late));
                }
            }
        }
        for (i, addr, origins) in resend {
            let lsas: Vec<Lsa> = origins
                .iter()
                .filter_map(|o| self.lsdb.get(o).map(|s| self.aged(s, now)))
                .collect();
            if !lsas.is_empty() {
                out.push(Output {
                    iface: i,
                    to: Some(addr),
                    message: Message::Update { lsas },
                });
            }
        }
    }

    /// LSAs that reached MaxAge are flushed: flooded at MaxAge, then
    /// removed once no neighbour waits for them.
    fn age(&mut self, now: SimTime, out: &mut Vec<Output>) {
        let max = secs(self.timers.max_age);
        let expired: Vec<RouterId> = self
            .lsdb
            .values()
            .filter(|s| s.lsa.age_s < max && self.aged(s, now).age_s >= max)
            .map(|s| s.lsa.origin)
            .collect();
        for origin in expired {
            let mut lsa = self.lsdb[&origin].lsa.clone();
            lsa.age_s = max;
            self.install(now, lsa.clone());
            self.flood(now, &lsa, None, out);
        }
        let waiting: BTreeSet<RouterId> = self
            .ifaces
            .iter()
            .flat_map(|i| {
                i.neighbors
                    .iter()
                    .flat_map(|n| n.retransmit.keys().copied())
            })
            .collect();
        self.lsdb
            .retain(|o, s| s.lsa.age_s < max || waiting.contains(o));
    }

    /// Originates the router's LSA again when something changed.
    fn finish(&mut self, now: SimTime, out: &mut Vec<Output>) {
        if self.dirty {
            self.originate(now, out);
        }
    }

    fn originate(&mut self, now: SimTime, out: &mut Vec<Output>) {
        self.dirty = false;
        self.seq += 1;
        self.next_refresh = now + self.timers.refresh;
        let mut links = Vec::new();
        let mut prefixes = Vec::new();
        for iface in self.ifaces.iter().filter(|i| i.up) {
            for n in iface
                .neighbors
                .iter()
                .filter(|n| n.state == NeighborState::Full)
            {
                links.push(LsaLink {
                    neighbor: n.router,
                    cost: iface.config.cost,
                });
            }
            prefixes.extend(
                iface
                    .config
                    .prefixes
                    .iter()
                    .map(|&p| (p, iface.config.cost)),
            );
        }
        links.sort();
        prefixes.sort();
        let lsa = Lsa {
            origin: self.id,
            seq: self.seq,
            age_s: 0,
            links,
            prefixes,
        };
        self.install(now, lsa.clone());
        self.flood(now, &lsa, None, out);
    }

    /// Dijkstra from this router over the links both ends list, every
    /// equal-cost first hop kept; then the routes to the prefixes.
    fn spf(&mut self, _now: SimTime) {
        self.spf_runs += 1;
        let max = secs(self.timers.max_age);
        let live = |o: &RouterId| {
            self.lsdb
                .get(o)
                .filter(|s| s.lsa.age_s < max)
                .map(|s| &s.lsa)
        };
        let lists = |a: RouterId, b: RouterId| {
            live(&a).is_some_and(|l| l.links.iter().any(|x| x.neighbor == b))
        };
        type Hops = BTreeSet<FirstHop>;
        let mut dist: BTreeMap<RouterId, u32> = BTreeMap::from([(self.id, 0)]);
        let mut hops: BTreeMap<RouterId, Hops> = BTreeMap::from([(self.id, Hops::new())]);
        let mut heap = BinaryHeap::from([Reverse((0u32, self.id))]);
        let mut done: BTreeSet<RouterId> = BTreeSet::new();
        while let Some(Reverse((d, u))) = heap.pop() {
            if !done.insert(u) {
                continue;
            }
            // (neighbour, cost, first hop when u is this router)
            let mut edges: Vec<(RouterId, u32, Option<FirstHop>)> = Vec::new();
            if u == self.id {
                for (i, iface) in self.ifaces.iter().enumerate().filter(|(_, i)| i.up) {
                    for n in iface
                        .neighbors
                        .iter()
                        .filter(|n| n.state == NeighborState::Full)
                    {
                        edges.push((n.router, iface.config.cost, Some((i, n.addr))));
                    }
                }
            } else if let Some(l) = live(&u) {
                edges.extend(l.links.iter().map(|x| (x.neighbor, x.cost, None)));
            }
            for (v, cost, hop) in edges {
                if done.contains(&v) || !lists(v, u) {
                    continue;
                }
                let nd = d.saturating_add(cost.max(1));
                let via: Hops = match hop {
                    Some(h) => Hops::from([h]),
                    None => hops[&u].clone(),
                };
                match dist.get(&v) {
                    Some(&old) if nd > old => {}
                    Some(&old) if nd == old => hops.entry(v).or_default().extend(via),
                    _ => {
                        dist.insert(v, nd);
                        hops.insert(v, via);
                        heap.push(Reverse((nd, v)));
                    }
                }
            }
        }
        let connected: BTreeSet<IpNet> = self
            .ifaces
            .iter()
            .filter(|i| i.up)
            .flat_map(|i| i.config.prefixes.iter().copied())
            .collect();
        let mut best: BTreeMap<IpNet, (u32, Hops)> = BTreeMap::new();
        for (&r, &d) in dist.iter().filter(|(&r, _)| r != self.id) {
            let Some(l) = live(&r) else { continue };
            for &(p, c) in &l.prefixes {
                if connected.contains(&p) {
                    continue;
                }
                let m = d.saturating_add(c);
                match best.get_mut(&p) {
                    Some((old, _)) if m > *old => {}
                    Some((old, h)) if m == *old => h.extend(hops[&r].iter().copied()),
                    _ => {
                        best.insert(p, (m, hops[&r].clone()));
                    }
                }
            }
        }
        self.routes = best
            .into_iter()
            .filter(|(_, (_, h))| !h.is_empty())
            .map(|(prefix, (metric, h))| Route {
                prefix,
                metric,
                next_hops: h.into_iter().collect(),
            })
            .collect();
    }
}

#[cfg(test)]
mod tests;
