//! A small network of protocol instances for the protocols' own tests:
//! routers joined by point-to-point links that deliver each message after
//! a millisecond, run in time order (deliveries, then polls). The engine
//! does this with real packets; here the protocols are tested alone.
//!
//! Like an engine, it keeps each router's `poll_at` in an ordered set and
//! finds a link by its end in a map, so that a 500-router run measures the
//! protocol rather than the harness.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr};

use ipnet::IpNet;
use petgraph::algo::dijkstra;
use petgraph::graph::{NodeIndex, UnGraph};

use crate::time::SimTime;

const DELAY: SimTime = SimTime::from_millis(1);

/// What the harness needs of a protocol instance.
pub trait Speaker {
    type Message: Clone;
    type Output;
    /// (interface, to: None = everyone on the link, message)
    fn parts(out: Self::Output) -> (usize, Option<IpAddr>, Self::Message);
    fn receive(
        &mut self,
        now: SimTime,
        iface: usize,
        from: IpAddr,
        msg: Self::Message,
    ) -> Vec<Self::Output>;
    fn poll(&mut self, now: SimTime) -> Vec<Self::Output>;
    fn poll_at(&self) -> Option<SimTime>;
    fn set_iface_up(&mut self, now: SimTime, iface: usize, up: bool) -> Vec<Self::Output>;
    /// What kind of message this is, for the counts (`Harness::delivered_by_kind`).
    fn kind(_msg: &Self::Message) -> &'static str {
        "message"
    }
    /// How many entries (LSAs, acknowledgements, routes) it carries.
    fn entries(_msg: &Self::Message) -> u64 {
        1
    }
}

/// A link between (router, interface) ends, with one cost.
#[derive(Clone, Debug)]
pub struct Link {
    pub a: (usize, usize),
    pub b: (usize, usize),
    pub cost: u32,
    /// Carries messages.
    pub up: bool,
}

/// A message on its way: (router, interface, from, message).
type Delivery<M> = (usize, usize, IpAddr, M);

/// A message sent: (time, router, interface, message).
pub type Sent<M> = (SimTime, usize, usize, M);

pub struct Harness<S: Speaker> {
    pub routers: Vec<S>,
    pub links: Vec<Link>,
    /// The links at each (router, interface) end.
    ends: BTreeMap<(usize, usize), Vec<usize>>,
    queue: BTreeMap<(SimTime, u64), Delivery<S::Message>>,
    order: u64,
    /// When each router wants `poll`: (time, router), and by router.
    wakes: BTreeSet<(SimTime, usize)>,
    wake_of: Vec<Option<SimTime>>,
    pub now: SimTime,
    /// Messages delivered so far.
    pub delivered: u64,
    /// Messages delivered so far, by kind: (messages, entries).
    pub delivered_by_kind: BTreeMap<&'static str, (u64, u64)>,
    /// When set, every message sent is recorded here.
    pub sent: Option<Vec<Sent<S::Message>>>,
}

/// The address of a router's interface: 10.R/256.R%256.IFACE+1 (up to
/// 65,536 routers of 255 interfaces).
pub fn addr(router: usize, iface: usize) -> IpAddr {
    assert!(
        router < 65_536 && iface < 255,
        "the harness numbers at most 65,536 routers of 255 interfaces"
    );
    IpAddr::V4(Ipv4Addr::new(
        10,
        (router >> 8) as u8,
        router as u8,
        iface as u8 + 1,
    ))
}

/// Router `r`'s own prefix, on its interface 0 (a stub LAN, cost 1).
pub fn lan(r: usize) -> IpNet {
    format!("172.{}.{}.0/24", 16 + r / 256, r % 256)
        .parse()
        .expect("a prefix")
}

/// An interface: its cost and its connected prefixes.
pub type IfaceDraw = (u32, Vec<IpNet>);

/// The interfaces of `n` routers for `edges` (a, b, cost): interface 0 of
/// each is its LAN (cost 1), then one interface per link in edge order;
/// and the links.
pub fn layout(n: usize, edges: &[(usize, usize, u32)]) -> (Vec<Vec<IfaceDraw>>, Vec<Link>) {
    let mut ifaces: Vec<Vec<IfaceDraw>> = (0..n).map(|r| vec![(1, vec![lan(r)])]).collect();
    let mut links = Vec::new();
    for &(a, b, cost) in edges {
        let ia = ifaces[a].len();
        ifaces[a].push((cost, Vec::new()));
        let ib = ifaces[b].len();
        ifaces[b].push((cost, Vec::new()));
        links.push(Link {
            a: (a, ia),
            b: (b, ib),
            cost,
            up: true,
        });
    }
    (ifaces, links)
}

impl<S: Speaker> Harness<S> {
    pub fn new(routers: Vec<S>, links: Vec<Link>) -> Harness<S> {
        let mut ends: BTreeMap<(usize, usize), Vec<usize>> = BTreeMap::new();
        for (k, l) in links.iter().enumerate() {
            ends.entry(l.a).or_default().push(k);
            ends.entry(l.b).or_default().push(k);
        }
        let n = routers.len();
        Harness {
            routers,
            links,
            ends,
            queue: BTreeMap::new(),
            order: 0,
            wakes: BTreeSet::new(),
            wake_of: vec![None; n],
            now: SimTime::ZERO,
            delivered: 0,
            delivered_by_kind: BTreeMap::new(),
            sent: None,
        }
    }

    fn send(&mut self, from: usize, outs: Vec<S::Output>) {
        for o in outs {
            let (iface, to, message) = S::parts(o);
            let end = (from, iface);
            // Recorded as sent even when the link loses it.
            if let Some(sent) = &mut self.sent {
                sent.push((self.now, from, iface, message.clone()));
            }
            let Some(&k) = self
                .ends
                .get(&end)
                .and_then(|ks| ks.iter().find(|&&k| self.links[k].up))
            else {
                continue;
            };
            let link = &self.links[k];
            let peer = if link.a == end { link.b } else { link.a };
            if to.is_some_and(|to| to != addr(peer.0, peer.1)) {
                continue;
            }
            self.order += 1;
            self.queue.insert(
                (self.now + DELAY, self.order),
                (peer.0, peer.1, addr(from, iface), message),
            );
        }
        self.rewake(from);
    }

    /// Router `r` was called: when does it want `poll` now.
    fn rewake(&mut self, r: usize) {
        let at = self.routers[r].poll_at();
        if at != self.wake_of[r] {
            if let Some(old) = self.wake_of[r] {
                self.wakes.remove(&(old, r));
            }
            if let Some(t) = at {
                self.wakes.insert((t, r));
            }
            self.wake_of[r] = at;
        }
    }

    /// Runs until `until`, delivering and polling in time order: at each
    /// time, the messages due in the order they were sent, then the
    /// routers that want `poll`, each once, by number.
    pub fn run(&mut self, until: SimTime) {
        // The routers may have been changed from outside since.
        for r in 0..self.routers.len() {
            self.rewake(r);
        }
        for _ in 0..10_000_000 {
            let delivery = self.queue.keys().next().map(|&(t, _)| t);
            let wake = self.wakes.first().map(|&(t, _)| t);
            let Some(next) = delivery.into_iter().chain(wake).min() else {
                break;
            };
            if next > until {
                break;
            }
            self.now = self.now.max(next);
            while let Some(entry) = self.queue.first_entry() {
                if entry.key().0 > self.now {
                    break;
                }
                let (r, i, from, msg) = entry.remove();
                self.delivered += 1;
                let counts = self.delivered_by_kind.entry(S::kind(&msg)).or_default();
                counts.0 += 1;
                counts.1 += S::entries(&msg);
                let outs = self.routers[r].receive(self.now, i, from, msg);
                self.send(r, outs);
            }
            let mut due: Vec<usize> = self
                .wakes
                .iter()
                .take_while(|&&(t, _)| t <= self.now)
                .map(|&(_, r)| r)
                .collect();
            due.sort_unstable();
            for r in due {
                let outs = self.routers[r].poll(self.now);
                self.send(r, outs);
            }
        }
        self.now = until;
    }

    /// A link fails (or comes back) with a carrier change both ends see.
    pub fn set_link(&mut self, k: usize, up: bool) {
        self.links[k].up = up;
        let (a, b) = (self.links[k].a, self.links[k].b);
        for (r, i) in [a, b] {
            let outs = self.routers[r].set_iface_up(self.now, i, up);
            self.send(r, outs);
        }
    }

    /// Shortest distances (petgraph) between routers over the links up.
    pub fn distances(&self) -> Vec<BTreeMap<usize, u32>> {
        let n = self.routers.len();
        let mut g: UnGraph<(), u32> = UnGraph::new_undirected();
        let nodes: Vec<NodeIndex> = (0..n).map(|_| g.add_node(())).collect();
        for l in self.links.iter().filter(|l| l.up) {
            g.add_edge(nodes[l.a.0], nodes[l.b.0], l.cost);
        }
        (0..n)
            .map(|s| {
                dijkstra(&g, nodes[s], None, |e| *e.weight())
                    .into_iter()
                    .map(|(k, d)| (k.index(), d))
                    .collect()
            })
            .collect()
    }

    /// Router `s`'s first hops toward `t` on shortest paths: (its
    /// interface, the neighbour's address), sorted.
    pub fn shortest_first_hops(
        &self,
        dist: &[BTreeMap<usize, u32>],
        s: usize,
        t: usize,
    ) -> Vec<(usize, IpAddr)> {
        let Some(&d) = dist[s].get(&t) else {
            return Vec::new();
        };
        let mut hops: Vec<(usize, IpAddr)> = self
            .links
            .iter()
            .filter(|l| l.up && (l.a.0 == s || l.b.0 == s))
            .filter_map(|l| {
                let (mine, other) = if l.a.0 == s { (l.a, l.b) } else { (l.b, l.a) };
                let rest = dist[other.0].get(&t)?;
                (l.cost + rest == d).then_some((mine.1, addr(other.0, other.1)))
            })
            .collect();
        hops.sort();
        hops
    }
}

/// A connected random graph: a spanning tree plus extra edges, no
/// parallel links, costs in `costs`.
pub fn graph(
    sizes: std::ops::Range<usize>,
    costs: std::ops::RangeInclusive<u32>,
) -> impl proptest::strategy::Strategy<Value = (usize, Vec<(usize, usize, u32)>)> {
    use proptest::prelude::*;
    sizes.prop_flat_map(move |n| {
        let tree = prop::collection::vec((any::<prop::sample::Index>(), costs.clone()), n - 1);
        let extra = prop::collection::vec((0..n, 0..n, costs.clone()), 0..n);
        (Just(n), tree, extra).prop_map(|(n, tree, extra)| {
            let mut edges: Vec<(usize, usize, u32)> = Vec::new();
            for (i, (j, c)) in tree.into_iter().enumerate() {
                edges.push((j.index(i + 1), i + 1, c));
            }
            for (a, b, c) in extra {
                let dup = edges
                    .iter()
                    .any(|&(x, y, _)| (x, y) == (a, b) || (y, x) == (a, b));
                if a != b && !dup && a < n && b < n {
                    edges.push((a, b, c));
                }
            }
            (n, edges)
        })
    })
}
