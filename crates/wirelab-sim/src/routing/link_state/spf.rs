//! The shortest-path-first calculation (RFC 2328 §16.1) over a link-state
//! database, with equal-cost multipath.
//!
//! Why it is shaped this way: every router runs it after every change, so
//! on a 500-router network it runs 500 times per failure. The database is
//! turned into a dense graph first (routers numbered in ID order, each
//! router's links as a sorted slice of one vector), Dijkstra runs over
//! plain vectors with a binary heap, and the set of first hops of each
//! router is a bit set over the calculating router's own adjacencies, so
//! that merging the first hops of equal-cost paths is a few word-wide ORs.

use std::cmp::Reverse;
use std::collections::{BTreeSet, BinaryHeap};

use ipnet::IpNet;

use super::{FirstHop, Lsa, Route, RouterId};

/// One of the calculating router's own adjacencies: where it leads (the
/// first hop), to which router, at which cost.
#[derive(Clone, Copy, Debug)]
pub(super) struct Adjacency {
    pub first_hop: FirstHop,
    pub router: RouterId,
    pub cost: u32,
}

/// The database as a graph: router `u`'s links are
/// `links[start[u]..start[u + 1]]`, as (router, cost) sorted by router.
struct Graph<'a> {
    ids: Vec<RouterId>,
    lsas: Vec<Option<&'a Lsa>>,
    start: Vec<usize>,
    links: Vec<(usize, u32)>,
}

impl<'a> Graph<'a> {
    /// `live` must be sorted by origin; `root` is added when it has no
    /// LSA of its own (its links come from its adjacencies anyway).
    fn new(root: RouterId, live: &[&'a Lsa]) -> Graph<'a> {
        let mut ids: Vec<RouterId> = live.iter().map(|l| l.origin).collect();
        let mut lsas: Vec<Option<&Lsa>> = live.iter().map(|&l| Some(l)).collect();
        if let Err(at) = ids.binary_search(&root) {
            ids.insert(at, root);
            lsas.insert(at, None);
        }
        let mut start = Vec::with_capacity(ids.len() + 1);
        let mut links = Vec::new();
        for lsa in &lsas {
            start.push(links.len());
            let from = links.len();
            for l in lsa.iter().flat_map(|l| &l.links) {
                if let Ok(v) = ids.binary_search(&l.neighbor) {
                    links.push((v, l.cost));
                }
            }
            links[from..].sort_unstable();
        }
        start.push(links.len());
        Graph {
            ids,
            lsas,
            start,
            links,
        }
    }

    fn index(&self, id: RouterId) -> Option<usize> {
        self.ids.binary_search(&id).ok()
    }

    fn links(&self, u: usize) -> &[(usize, u32)] {
        &self.links[self.start[u]..self.start[u + 1]]
    }

    /// Whether `v`'s LSA lists `u`: a link counts only when both ends
    /// list it (RFC 2328 §16.1, step 2(b)).
    fn lists(&self, v: usize, u: usize) -> bool {
        let links = self.links(v);
        let at = links.partition_point(|&(w, _)| w < u);
        links.get(at).is_some_and(|&(w, _)| w == u)
    }
}

/// First-hop sets, one bit per adjacency of the calculating router, `words`
/// 64-bit words per router.
struct FirstHops {
    words: usize,
    bits: Vec<u64>,
}

impl FirstHops {
    fn new(routers: usize, adjacencies: usize) -> FirstHops {
        let words = adjacencies.div_ceil(64).max(1);
        FirstHops {
            words,
            bits: vec![0; routers * words],
        }
    }

    fn of(&self, u: usize) -> &[u64] {
        &self.bits[u * self.words..(u + 1) * self.words]
    }

    fn set(&mut self, v: usize, from: &[u64], replace: bool) {
        let to = &mut self.bits[v * self.words..(v + 1) * self.words];
        for (t, f) in to.iter_mut().zip(from) {
            *t = if replace { *f } else { *t | *f };
        }
    }
}

/// Dijkstra's state: the best distance found to each router, the first
/// hops of the paths at that distance, the routers to settle.
struct Paths {
    dist: Vec<u32>,
    hops: FirstHops,
    heap: BinaryHeap<Reverse<(u32, usize)>>,
}

/// A path to `v` of length `nd` whose first hops are `via`: better ones
/// replace, equal ones join (ECMP).
fn relax(paths: &mut Paths, v: usize, nd: u32, via: &[u64]) {
    if nd < paths.dist[v] {
        paths.dist[v] = nd;
        paths.hops.set(v, via, true);
        paths.heap.push(Reverse((nd, v)));
    } else if nd == paths.dist[v] {
        paths.hops.set(v, via, false);
    }
}

/// Iterates the adjacency numbers set in `bits`.
fn ones(bits: &[u64]) -> impl Iterator<Item = usize> + '_ {
    bits.iter().enumerate().flat_map(|(w, &word)| {
        (0..64)
            .filter(move |b| word & (1u64 << b) != 0)
            .map(move |b| w * 64 + b)
    })
}

/// The routes from `root`: Dijkstra over the links both ends list (the
/// root's own links are its full adjacencies), every equal-cost first hop
/// kept; then each prefix an LSA advertises, at the router's distance plus
/// the prefix's cost, except the root's `connected` ones. `live` is the
/// database without the LSAs at MaxAge, sorted by origin. Routes come out
/// sorted by prefix, their next hops sorted.
pub(super) fn routes(
    root: RouterId,
    adjacencies: &[Adjacency],
    live: &[&Lsa],
    connected: &BTreeSet<IpNet>,
) -> Vec<Route> {
    let graph = Graph::new(root, live);
    let me = graph.index(root).expect("the root is in its own graph");
    let paths = shortest_paths(&graph, me, adjacencies);
    prefix_routes(&graph, me, &paths, adjacencies, connected)
}

/// Dijkstra from router `me`, whose links are its `adjacencies`.
fn shortest_paths(graph: &Graph, me: usize, adjacencies: &[Adjacency]) -> Paths {
    let n = graph.ids.len();
    let mut paths = Paths {
        dist: vec![u32::MAX; n],
        hops: FirstHops::new(n, adjacencies.len()),
        heap: BinaryHeap::from([Reverse((0u32, me))]),
    };
    paths.dist[me] = 0;
    let mut done = vec![false; n];
    let mut via = vec![0u64; paths.hops.words];
    // Each router is settled once, and the heap holds at most one entry
    // per link: the loop ends.
    while let Some(Reverse((d, u))) = paths.heap.pop() {
        if std::mem::replace(&mut done[u], true) {
            continue;
        }
        if u == me {
            for (k, a) in adjacencies.iter().enumerate() {
                let Some(v) = graph.index(a.router) else {
                    continue;
                };
                if done[v] || !graph.lists(v, u) {
                    continue;
                }
                via.fill(0);
                via[k / 64] |= 1 << (k % 64);
                relax(&mut paths, v, d.saturating_add(a.cost.max(1)), &via);
            }
        } else {
            via.copy_from_slice(paths.hops.of(u));
            for &(v, cost) in graph.links(u) {
                if !done[v] && graph.lists(v, u) {
                    relax(&mut paths, v, d.saturating_add(cost.max(1)), &via);
                }
            }
        }
    }
    paths
}

/// The routes to the prefixes the routers `paths` reaches advertise, at
/// the best metric, with the first hops of every router offering it.
fn prefix_routes(
    graph: &Graph,
    me: usize,
    paths: &Paths,
    adjacencies: &[Adjacency],
    connected: &BTreeSet<IpNet>,
) -> Vec<Route> {
    let Paths { dist, hops, .. } = paths;
    let n = graph.ids.len();
    // Every (prefix, metric, router) the reached routers advertise; the
    // best metric of each prefix is the first of its run once sorted.
    let mut offers: Vec<(IpNet, u32, usize)> = Vec::new();
    for r in (0..n).filter(|&r| r != me && dist[r] != u32::MAX) {
        for &(p, c) in graph.lsas[r].iter().flat_map(|l| &l.prefixes) {
            if !connected.contains(&p) {
                offers.push((p, dist[r].saturating_add(c), r));
            }
        }
    }
    offers.sort_unstable();
    let mut routes = Vec::new();
    let mut via = vec![0u64; hops.words];
    for run in offers.chunk_by(|a, b| a.0 == b.0) {
        let (prefix, metric, _) = run[0];
        via.fill(0);
        for &(_, _, r) in run.iter().take_while(|o| o.1 == metric) {
            for (v, h) in via.iter_mut().zip(hops.of(r)) {
                *v |= h;
            }
        }
        let mut next_hops: Vec<FirstHop> = ones(&via).map(|k| adjacencies[k].first_hop).collect();
        if next_hops.is_empty() {
            continue;
        }
        next_hops.sort_unstable();
        next_hops.dedup();
        routes.push(Route {
            prefix,
            metric,
            next_hops,
        });
    }
    routes
}

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv4Addr};

    use super::*;
    use crate::routing::link_state::LsaLink;

    fn lsa(origin: RouterId, links: &[RouterId], prefixes: &[(IpNet, u32)]) -> Lsa {
        Lsa {
            origin,
            seq: 1,
            age_s: 0,
            links: links
                .iter()
                .map(|&neighbor| LsaLink { neighbor, cost: 1 })
                .collect(),
            prefixes: prefixes.to_vec(),
        }
    }

    #[test]
    fn a_hundred_equal_paths_keep_a_hundred_first_hops() {
        // The root (1000) is adjacent to routers 1-100 (first hops past
        // one 64-bit word), each of which is adjacent to router 200,
        // which has the prefix. Router 300 lists router 200, which does
        // not list it: that one-way link is not used.
        let p: IpNet = "192.0.2.0/24".parse().expect("a prefix");
        let middle: Vec<RouterId> = (1..=100).collect();
        let adjacencies: Vec<Adjacency> = middle
            .iter()
            .map(|&m| Adjacency {
                first_hop: (m as usize, IpAddr::V4(Ipv4Addr::new(10, 0, 0, m as u8))),
                router: m,
                cost: 1,
            })
            .collect();
        let mut lsas: Vec<Lsa> = middle.iter().map(|&m| lsa(m, &[1000, 200], &[])).collect();
        lsas.push(lsa(200, &middle, &[(p, 1)]));
        lsas.push(lsa(300, &[200, 1000], &[(p, 0)]));
        lsas.push(lsa(1000, &middle, &[]));
        lsas.sort_by_key(|l| l.origin);
        let live: Vec<&Lsa> = lsas.iter().collect();
        let routes = routes(1000, &adjacencies, &live, &BTreeSet::new());
        assert_eq!(routes.len(), 1);
        assert_eq!((routes[0].prefix, routes[0].metric), (p, 3));
        let want: Vec<FirstHop> = adjacencies.iter().map(|a| a.first_hop).collect();
        assert_eq!(routes[0].next_hops, want);
    }
}
