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
//! - **Updates bundled and paced**: what is to be sent to a neighbour
//!   waits in its pending set (by origin: the database's copy goes, so a
//!   newer instance replaces an older one not yet sent) and leaves as one
//!   Update at the end of the call; at most one Update per neighbour per
//!   `flood_pacing` (the first after a quiet spell at once, as in
//!   implementations' flood pacing). Each received Update is acknowledged
//!   by one Ack listing all its LSAs (§13.5). Without this, a 500-router
//!   start sent 7.1 M messages; with it, 45 thousand.
//! - **Ageing** (§14): an LSA's age grows while it is stored; at `max_age`
//!   it is flushed (flooded at MaxAge, then removed) and no longer counts.
//! - **SPF** (§16.1): Dijkstra over the routers whose links are listed by
//!   both ends, `spf_delay` after the first change (the changes that come
//!   meanwhile are taken in the same run); **ECMP**: every first hop of an
//!   equal-cost shortest path is kept (the `spf` module says how it is
//!   made fast).
//!
//! Costs are given per interface; the engine derives them from bandwidth
//! (reference bandwidth / link bandwidth, at least 1, as OSPF does).

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use ipnet::IpNet;

use crate::time::SimTime;

mod spf;

/// A router's identifier in the protocol (OSPF's 32-bit router ID).
pub type RouterId = u32;

/// A first hop: the interface and the neighbour's address on it.
pub type FirstHop = (usize, IpAddr);

/// The protocol's timers (RFC 2328 appendix C defaults, SPF delay and
/// flood pacing as in common implementations).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timers {
    pub hello: SimTime,
    pub dead: SimTime,
    pub retransmit: SimTime,
    /// LSRefreshTime: a router re-originates its LSA this often.
    pub refresh: SimTime,
    /// MaxAge: an LSA not refreshed for this long is flushed.
    pub max_age: SimTime,
    /// How long after a change the shortest paths are recomputed: the
    /// changes that arrive meanwhile are taken in one run.
    pub spf_delay: SimTime,
    /// Flood pacing: at most one Update per neighbour this often. The
    /// first LSA after a quiet spell goes at once; what is flooded within
    /// the interval after it waits and goes in the next Update, bundled.
    pub flood_pacing: SimTime,
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
            flood_pacing: SimTime::from_millis(10),
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
    /// No entry of `retransmit` is due before this (it may be early: an
    /// entry acknowledged since is not looked for until then).
    retransmit_at: Option<SimTime>,
    /// The LSAs (by origin) for the next Update to this neighbour; the
    /// database's copy is sent, so a newer instance replaces an older one
    /// still waiting here.
    pending: BTreeSet<RouterId>,
    /// Flood pacing: no Update to this neighbour before this.
    send_at: SimTime,
}

impl Neighbor {
    fn new(router: RouterId, addr: IpAddr, dead_at: SimTime) -> Neighbor {
        Neighbor {
            router,
            addr,
            state: NeighborState::Init,
            dead_at,
            retransmit: BTreeMap::new(),
            retransmit_at: None,
            pending: BTreeSet::new(),
            send_at: SimTime::ZERO,
        }
    }

    /// Sends `origin`'s instance `seq` (with the next Update) and keeps
    /// it for retransmission until acknowledged.
    fn send_reliably(&mut self, origin: RouterId, seq: u32, due: SimTime) {
        self.retransmit.insert(origin, (seq, due));
        self.retransmit_at = Some(self.retransmit_at.map_or(due, |t| t.min(due)));
        self.pending.insert(origin);
    }

    /// `origin`'s instance `seq` no longer needs sending to this neighbour
    /// (acknowledged, or it has it).
    fn acknowledged(&mut self, origin: RouterId, seq: u32) {
        if self.retransmit.get(&origin).is_some_and(|&(s, _)| s == seq) {
            self.retransmit.remove(&origin);
            self.pending.remove(&origin);
        }
    }

    /// Leaves the adjacency: nothing more is sent to it.
    fn forget(&mut self) {
        self.retransmit.clear();
        self.retransmit_at = None;
        self.pending.clear();
    }
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
    /// When each stored LSA below MaxAge reaches it: (time, origin).
    expiries: BTreeSet<(SimTime, RouterId)>,
    /// Stored LSAs at MaxAge, removed once no neighbour waits for them.
    flushing: BTreeSet<RouterId>,
    seq: u32,
    next_refresh: SimTime,
    /// The router's LSA must be originated again (at the end of the call).
    dirty: bool,
    spf_at: Option<SimTime>,
    routes: Vec<Route>,
    /// When an SPF run last changed `routes`.
    routes_changed_at: Option<SimTime>,
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
            expiries: BTreeSet::new(),
            flushing: BTreeSet::new(),
            seq: 0,
            next_refresh: now + timers.refresh,
            dirty: true,
            spf_at: None,
            routes: Vec::new(),
            routes_changed_at: None,
            spf_runs: 0,
        };
        me.originate(now);
        me
    }

    pub fn id(&self) -> RouterId {
        self.id
    }

    /// The routes of the last SPF run, by prefix.
    pub fn routes(&self) -> &[Route] {
        &self.routes
    }

    /// When an SPF run last changed the routes (`None`: never), for
    /// convergence reports: a network has converged since the latest of
    /// its routers' times.
    pub fn routes_changed_at(&self) -> Option<SimTime> {
        self.routes_changed_at
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
                let mut acks = Vec::new();
                for lsa in lsas {
                    self.update(now, iface, n, lsa, &mut acks);
                }
                // One acknowledgement for the whole Update (§13.5).
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
                        nb.acknowledged(origin, seq);
                    }
                }
            }
        }
        self.finish(now, &mut out);
        out
    }

    /// What the passing of time does: hellos, dead neighbours,
    /// retransmissions, refresh and ageing, paced Updates, SPF.
    pub fn poll(&mut self, now: SimTime) -> Vec<Output> {
        let mut out = Vec::new();
        for (i, iface) in self.ifaces.iter_mut().enumerate() {
            if !iface.up {
                continue;
            }
            let lost_full = iface
                .neighbors
                .iter()
                .any(|n| n.dead_at <= now && n.state == NeighborState::Full);
            iface.neighbors.retain(|n| n.dead_at > now);
            self.dirty |= lost_full;
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
        self.retransmit(now);
        if self.next_refresh <= now {
            self.dirty = true;
        }
        self.age(now);
        self.finish(now, &mut out);
        if self.spf_at.is_some_and(|t| t <= now) {
            self.spf_at = None;
            self.spf(now);
        }
        out
    }

    /// When `poll` has something to do next. Cheap (no allocation, a
    /// look at each neighbour): an engine may ask after every call.
    pub fn poll_at(&self) -> Option<SimTime> {
        let mut at = self.next_refresh;
        // The SPF delay, and the next LSA to reach MaxAge.
        for t in self
            .spf_at
            .into_iter()
            .chain(self.expiries.first().map(|e| e.0))
        {
            at = at.min(t);
        }
        for iface in self.ifaces.iter().filter(|i| i.up) {
            at = at.min(iface.next_hello);
            for n in &iface.neighbors {
                at = at.min(n.dead_at);
                if let Some(t) = n.retransmit_at {
                    at = at.min(t);
                }
                if !n.pending.is_empty() {
                    at = at.min(n.send_at);
                }
            }
        }
        Some(at)
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
                i.neighbors.push(Neighbor::new(router, from, dead));
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
                let due = now + self.timers.retransmit;
                for (&origin, s) in &self.lsdb {
                    nb.send_reliably(origin, s.lsa.seq, due);
                }
                self.dirty = true;
            }
            (NeighborState::Full, false) => {
                // It no longer lists us (it restarted): back to Init.
                nb.state = NeighborState::Init;
                nb.forget();
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

    /// A stored LSA's age now, in seconds.
    fn age_of(&self, s: &Stored, now: SimTime) -> u32 {
        let max = secs(self.timers.max_age);
        s.lsa.age_s.saturating_add(secs(now - s.installed)).min(max)
    }

    /// One LSA of an Update from neighbour `n` of `iface` (RFC 2328 §13).
    fn update(
        &mut self,
        now: SimTime,
        iface: usize,
        n: usize,
        mut lsa: Lsa,
        acks: &mut Vec<(RouterId, u32)>,
    ) {
        let max = secs(self.timers.max_age);
        lsa.age_s = lsa.age_s.min(max);
        let mine = self
            .lsdb
            .get(&lsa.origin)
            .map(|s| (s.lsa.seq, self.age_of(s, now)));
        let verdict = match mine {
            None => Some(true),
            Some(m) => newer((lsa.seq, lsa.age_s), m, max),
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
                let origin = lsa.origin;
                self.install(now, lsa);
                self.flood(now, origin, Some((iface, n)));
            }
            None => {
                // The same instance: an implicit acknowledgement.
                acks.push((lsa.origin, lsa.seq));
                self.ifaces[iface].neighbors[n].acknowledged(lsa.origin, lsa.seq);
            }
            Some(false) => {
                // Ours is newer: send it back (not reliably, §13 (8)).
                self.ifaces[iface].neighbors[n].pending.insert(lsa.origin);
            }
        }
    }

    fn install(&mut self, now: SimTime, lsa: Lsa) {
        let max = secs(self.timers.max_age);
        let old = self.lsdb.get(&lsa.origin);
        let changed = old.is_none_or(|s| {
            s.lsa.links != lsa.links
                || s.lsa.prefixes != lsa.prefixes
                || (s.lsa.age_s >= max) != (lsa.age_s >= max)
        });
        if let Some(expiry) = old.and_then(|s| self.expiry(s)) {
            self.expiries.remove(&(expiry, lsa.origin));
        }
        let stored = Stored {
            lsa,
            installed: now,
        };
        let origin = stored.lsa.origin;
        match self.expiry(&stored) {
            Some(expiry) => {
                self.expiries.insert((expiry, origin));
                self.flushing.remove(&origin);
            }
            None => {
                self.flushing.insert(origin);
            }
        }
        self.lsdb.insert(origin, stored);
        if changed {
            self.schedule_spf(now);
        }
    }

    /// When a stored LSA reaches MaxAge (`None`: it is there already).
    fn expiry(&self, s: &Stored) -> Option<SimTime> {
        let left = secs(self.timers.max_age).checked_sub(s.lsa.age_s)?;
        (left > 0).then(|| s.installed + SimTime::from_secs(u64::from(left)))
    }

    fn schedule_spf(&mut self, now: SimTime) {
        if self.spf_at.is_none() {
            self.spf_at = Some(now + self.timers.spf_delay);
        }
    }

    /// Floods the stored LSA of `origin` to every full neighbour but the
    /// one it came from (interface, neighbour index), onto their
    /// retransmission lists; the one it came from has it now, so it is
    /// taken off that neighbour's lists (RFC 2328 §13 (5)).
    fn flood(&mut self, now: SimTime, origin: RouterId, from: Option<(usize, usize)>) {
        let due = now + self.timers.retransmit;
        let seq = self.lsdb[&origin].lsa.seq;
        for (i, iface) in self.ifaces.iter_mut().enumerate() {
            if !iface.up {
                continue;
            }
            for (k, n) in iface.neighbors.iter_mut().enumerate() {
                if n.state != NeighborState::Full {
                    continue;
                }
                if from == Some((i, k)) {
                    n.retransmit.remove(&origin);
                    n.pending.remove(&origin);
                } else {
                    n.send_reliably(origin, seq, due);
                }
            }
        }
    }

    /// Entries of the retransmission lists that are due go with the next
    /// Update again.
    fn retransmit(&mut self, now: SimTime) {
        let due = now + self.timers.retransmit;
        for n in self.ifaces.iter_mut().flat_map(|i| &mut i.neighbors) {
            if n.retransmit_at.is_none_or(|t| t > now) {
                continue;
            }
            for (&origin, entry) in n.retransmit.iter_mut() {
                if entry.1 <= now {
                    entry.1 = due;
                    n.pending.insert(origin);
                }
            }
            n.retransmit_at = n.retransmit.values().map(|&(_, t)| t).min();
        }
    }

    /// LSAs that reached MaxAge are flushed: flooded at MaxAge, then
    /// removed once no neighbour waits for them.
    fn age(&mut self, now: SimTime) {
        let max = secs(self.timers.max_age);
        while let Some(&(t, origin)) = self.expiries.first() {
            if t > now {
                break;
            }
            let mut lsa = self.lsdb[&origin].lsa.clone();
            lsa.age_s = max;
            self.install(now, lsa);
            self.flood(now, origin, None);
        }
    }

    /// Removes the flushed LSAs no neighbour waits for any more.
    fn remove_flushed(&mut self) {
        if self.flushing.is_empty() {
            return;
        }
        let waiting = |o: &RouterId| {
            self.ifaces
                .iter()
                .flat_map(|i| &i.neighbors)
                .any(|n| n.retransmit.contains_key(o) || n.pending.contains(o))
        };
        let gone: Vec<RouterId> = self
            .flushing
            .iter()
            .copied()
            .filter(|o| !waiting(o))
            .collect();
        for o in gone {
            self.flushing.remove(&o);
            self.lsdb.remove(&o);
        }
    }

    /// The end of every call: the router's LSA is originated again when
    /// something changed, flushed LSAs are removed, and the Updates pacing
    /// allows go out.
    fn finish(&mut self, now: SimTime, out: &mut Vec<Output>) {
        if self.dirty {
            self.originate(now);
        }
        self.remove_flushed();
        self.send_updates(now, out);
    }

    /// One Update to each neighbour with LSAs waiting, unless one went to
    /// it within the pacing interval: then later, from `poll`.
    fn send_updates(&mut self, now: SimTime, out: &mut Vec<Output>) {
        let max = secs(self.timers.max_age);
        for (i, iface) in self.ifaces.iter_mut().enumerate() {
            if !iface.up {
                continue;
            }
            for n in &mut iface.neighbors {
                if n.pending.is_empty() || n.send_at > now {
                    continue;
                }
                let lsas: Vec<Lsa> = std::mem::take(&mut n.pending)
                    .into_iter()
                    .filter_map(|origin| {
                        let s = self.lsdb.get(&origin)?;
                        let mut lsa = s.lsa.clone();
                        // Aged while stored, and InfTransDelay (one
                        // second) more on the wire (§13.3).
                        lsa.age_s = lsa
                            .age_s
                            .saturating_add(secs(now - s.installed))
                            .saturating_add(1)
                            .min(max);
                        Some(lsa)
                    })
                    .collect();
                if lsas.is_empty() {
                    continue;
                }
                n.send_at = now + self.timers.flood_pacing;
                out.push(Output {
                    iface: i,
                    to: Some(n.addr),
                    message: Message::Update { lsas },
                });
            }
        }
    }

    fn originate(&mut self, now: SimTime) {
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
        self.install(now, lsa);
        self.flood(now, self.id, None);
    }

    /// The shortest paths from this router over the live LSAs (see
    /// `spf::routes`), and the routes to the prefixes they lead to.
    fn spf(&mut self, now: SimTime) {
        self.spf_runs += 1;
        let max = secs(self.timers.max_age);
        let live: Vec<&Lsa> = self
            .lsdb
            .values()
            .map(|s| &s.lsa)
            .filter(|l| l.age_s < max)
            .collect();
        let mut adjacencies = Vec::new();
        for (i, iface) in self.ifaces.iter().enumerate().filter(|(_, i)| i.up) {
            for n in iface
                .neighbors
                .iter()
                .filter(|n| n.state == NeighborState::Full)
            {
                adjacencies.push(spf::Adjacency {
                    first_hop: (i, n.addr),
                    router: n.router,
                    cost: iface.config.cost,
                });
            }
        }
        let connected: BTreeSet<IpNet> = self
            .ifaces
            .iter()
            .filter(|i| i.up)
            .flat_map(|i| i.config.prefixes.iter().copied())
            .collect();
        let routes = spf::routes(self.id, &adjacencies, &live, &connected);
        if routes != self.routes {
            self.routes = routes;
            self.routes_changed_at = Some(now);
        }
    }
}

#[cfg(test)]
mod tests;
