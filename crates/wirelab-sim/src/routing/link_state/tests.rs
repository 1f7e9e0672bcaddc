//! The link-state protocol on small networks of its own instances, joined
//! by a test harness that delivers each message after a millisecond: the
//! routes it converges to must be the shortest paths petgraph computes
//! (metric and every equal-cost first hop), before and after links fail
//! and come back.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};

use petgraph::algo::dijkstra;
use petgraph::graph::{NodeIndex, UnGraph};
use proptest::prelude::*;

use super::*;

const DELAY: SimTime = SimTime::from_millis(1);

/// A link between (router, interface) ends, with one cost.
#[derive(Clone, Debug)]
struct Link {
    a: (usize, usize),
    b: (usize, usize),
    cost: u32,
    up: bool,
}

struct Harness {
    routers: Vec<LinkState>,
    links: Vec<Link>,
    /// (time, order) → (router, interface, from, message)
    queue: BTreeMap<(SimTime, u64), (usize, usize, IpAddr, Message)>,
    order: u64,
    now: SimTime,
    /// Messages delivered so far.
    delivered: u64,
}

fn addr(router: usize, iface: usize) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(10, router as u8, iface as u8, 1))
}

/// Router `r`'s own prefix, on its interface 0 (a stub LAN, cost 1).
fn lan(r: usize) -> IpNet {
    format!("192.168.{r}.0/24").parse().expect("a prefix")
}

impl Harness {
    /// Routers 0..n; interface 0 is each router's LAN, then one interface
    /// per link in link order.
    fn new(n: usize, edges: &[(usize, usize, u32)]) -> Harness {
        let mut ifaces: Vec<Vec<IfaceConfig>> = (0..n)
            .map(|r| {
                vec![IfaceConfig {
                    cost: 1,
                    prefixes: vec![lan(r)],
                }]
            })
            .collect();
        let mut links = Vec::new();
        for &(a, b, cost) in edges {
            let ia = ifaces[a].len();
            ifaces[a].push(IfaceConfig {
                cost,
                prefixes: Vec::new(),
            });
            let ib = ifaces[b].len();
            ifaces[b].push(IfaceConfig {
                cost,
                prefixes: Vec::new(),
            });
            links.push(Link {
                a: (a, ia),
                b: (b, ib),
                cost,
                up: true,
            });
        }
        let routers = ifaces
            .into_iter()
            .enumerate()
            .map(|(r, i)| LinkState::new(r as RouterId + 1, Timers::default(), i, SimTime::ZERO))
            .collect();
        Harness {
            routers,
            links,
            queue: BTreeMap::new(),
            order: 0,
            now: SimTime::ZERO,
            delivered: 0,
        }
    }

    fn send(&mut self, from: usize, outs: Vec<Output>) {
        for o in outs {
            let end = (from, o.iface);
            let Some(link) = self
                .links
                .iter()
                .find(|l| l.up && (l.a == end || l.b == end))
            else {
                continue;
            };
            let peer = if link.a == end { link.b } else { link.a };
            if o.to.is_some_and(|to| to != addr(peer.0, peer.1)) {
                continue;
            }
            self.order += 1;
            self.queue.insert(
                (self.now + DELAY, self.order),
                (peer.0, peer.1, addr(from, o.iface), o.message),
            );
        }
    }

    /// Runs until `until`, delivering and polling in time order.
    fn run(&mut self, until: SimTime) {
        for _ in 0..10_000_000 {
            let poll = self
                .routers
                .iter()
                .filter_map(|r| r.poll_at())
                .min()
                .unwrap_or(until);
            let next = self.queue.keys().next().map_or(poll, |&(t, _)| t.min(poll));
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
                let outs = self.routers[r].receive(self.now, i, from, msg);
                self.send(r, outs);
            }
            for r in 0..self.routers.len() {
                if self.routers[r].poll_at().is_some_and(|t| t <= self.now) {
                    let outs = self.routers[r].poll(self.now);
                    self.send(r, outs);
                }
            }
        }
        self.now = until;
    }

    fn set_link(&mut self, k: usize, up: bool) {
        self.links[k].up = up;
        let (a, b) = (self.links[k].a, self.links[k].b);
        for (r, i) in [a, b] {
            let outs = self.routers[r].set_iface_up(self.now, i, up);
            self.send(r, outs);
        }
    }

    /// Every router's routes against petgraph's shortest paths over the
    /// links that are up.
    fn check(&self) -> Result<(), String> {
        let n = self.routers.len();
        let mut g: UnGraph<(), u32> = UnGraph::new_undirected();
        let nodes: Vec<NodeIndex> = (0..n).map(|_| g.add_node(())).collect();
        for l in self.links.iter().filter(|l| l.up) {
            g.add_edge(nodes[l.a.0], nodes[l.b.0], l.cost);
        }
        let dist: Vec<_> = (0..n)
            .map(|s| dijkstra(&g, nodes[s], None, |e| *e.weight()))
            .collect();
        for s in 0..n {
            let mut want: Vec<Route> = Vec::new();
            for t in (0..n).filter(|&t| t != s) {
                let Some(&d) = dist[s].get(&nodes[t]) else {
                    continue;
                };
                // First hops: every up link s–v on a shortest path.
                let mut hops: Vec<(usize, IpAddr)> = self
                    .links
                    .iter()
                    .filter(|l| l.up && (l.a.0 == s || l.b.0 == s))
                    .filter_map(|l| {
                        let (mine, other) = if l.a.0 == s { (l.a, l.b) } else { (l.b, l.a) };
                        let rest = dist[other.0].get(&nodes[t])?;
                        (l.cost + rest == d).then_some((mine.1, addr(other.0, other.1)))
                    })
                    .collect();
                hops.sort();
                want.push(Route {
                    prefix: lan(t),
                    metric: d + 1,
                    next_hops: hops,
                });
            }
            want.sort_by_key(|r| r.prefix);
            let got = self.routers[s].routes();
            if got != want.as_slice() {
                return Err(format!(
                    "router {s} at {}: routes {got:?}, shortest paths {want:?}",
                    self.now
                ));
            }
        }
        Ok(())
    }
}

/// A connected random graph: a spanning tree plus extra edges, no
/// parallel links, costs 1–10 (ties are frequent: ECMP).
fn graph() -> impl Strategy<Value = (usize, Vec<(usize, usize, u32)>)> {
    (3usize..9).prop_flat_map(|n| {
        let tree = prop::collection::vec((any::<prop::sample::Index>(), 1u32..=10), n - 1);
        let extra = prop::collection::vec((0..n, 0..n, 1u32..=10), 0..n);
        (Just(n), tree, extra).prop_map(|(n, tree, extra)| {
            let mut edges: Vec<(usize, usize, u32)> = Vec::new();
            for (i, (j, c)) in tree.into_iter().enumerate() {
                edges.push((j.index(i + 1), i + 1, c));
            }
            for (a, b, c) in extra {
                let dup = edges
                    .iter()
                    .any(|&(x, y, _)| (x, y) == (a, b) || (y, x) == (a, b));
                if a != b && !dup {
                    edges.push((a, b, c));
                }
            }
            (n, edges)
        })
    })
}

#[test]
fn a_triangle_converges_and_splits_equal_costs() {
    // 0–1 cost 1, 1–2 cost 1, 0–2 cost 2: router 0 reaches 2's LAN both
    // ways at metric 3 (2 + 1).
    let mut h = Harness::new(3, &[(0, 1, 1), (1, 2, 1), (0, 2, 2)]);
    h.run(SimTime::from_secs(30));
    h.check().expect("converged");
    let to_2 = h.routers[0]
        .routes()
        .iter()
        .find(|r| r.prefix == lan(2))
        .expect("a route to 2");
    assert_eq!(to_2.metric, 3);
    assert_eq!(to_2.next_hops.len(), 2, "{to_2:?}");
    assert_eq!(h.routers[0].adjacencies().len(), 2);
}

#[test]
fn a_silent_neighbour_is_dead_after_the_dead_interval() {
    // The link stops carrying messages without a carrier loss: only the
    // dead interval (40 s) tells.
    let mut h = Harness::new(3, &[(0, 1, 1), (1, 2, 1), (0, 2, 5)]);
    h.run(SimTime::from_secs(30));
    h.links[0].up = false;
    h.run(SimTime::from_secs(50));
    // Still believed at 20 s of silence.
    assert_eq!(h.routers[0].adjacencies().len(), 2);
    h.run(SimTime::from_secs(100));
    assert_eq!(h.routers[0].adjacencies().len(), 1);
    h.check().expect("converged around the silent link");
}

#[test]
fn lsas_are_refreshed_and_unrefreshed_ones_age_out() {
    let mut h = Harness::new(2, &[(0, 1, 1)]);
    h.run(SimTime::from_secs(30));
    let seq = h.routers[1].database();
    // Refreshed every 30 minutes: sequence numbers grow, routes stay.
    h.run(SimTime::from_secs(4000));
    let later = h.routers[1].database();
    assert!(
        later.iter().zip(&seq).all(|(a, b)| a.1 > b.1),
        "{seq:?} {later:?}"
    );
    h.check().expect("still converged");
    // Router 0 goes quiet for good (its link is cut without a carrier
    // loss): router 1 drops the adjacency after 40 s, and router 0's LSA
    // is flushed at MaxAge.
    h.links[0].up = false;
    h.run(SimTime::from_secs(4000 + 3700));
    assert_eq!(
        h.routers[1].database().len(),
        1,
        "{:?}",
        h.routers[1].database()
    );
    assert!(h.routers[1].routes().is_empty());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Random topologies converge to the shortest paths, and again after
    /// random links fail and after one comes back.
    #[test]
    fn routes_are_the_shortest_paths_through_failures(
        (n, edges) in graph(),
        fail in prop::collection::vec(any::<prop::sample::Index>(), 1..3),
    ) {
        let mut h = Harness::new(n, &edges);
        h.run(SimTime::from_secs(60));
        prop_assert_eq!(h.check(), Ok(()));
        let down: Vec<usize> = fail.iter().map(|i| i.index(edges.len())).collect();
        for &k in &down {
            h.set_link(k, false);
        }
        h.run(SimTime::from_secs(120));
        prop_assert_eq!(h.check(), Ok(()));
        h.set_link(down[0], true);
        h.run(SimTime::from_secs(180));
        prop_assert_eq!(h.check(), Ok(()));
    }
}
