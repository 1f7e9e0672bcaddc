//! The link-state protocol on small networks of its own instances (see
//! `routing::harness`): the routes it converges to must be the shortest
//! paths petgraph computes (metric and every equal-cost first hop), before
//! and after links fail and come back.

use proptest::prelude::*;

use super::*;
use crate::routing::harness::{addr, graph, lan, layout, Harness, Speaker};

impl Speaker for LinkState {
    type Message = Message;
    type Output = Output;
    fn parts(o: Output) -> (usize, Option<IpAddr>, Message) {
        (o.iface, o.to, o.message)
    }
    fn receive(&mut self, now: SimTime, iface: usize, from: IpAddr, msg: Message) -> Vec<Output> {
        LinkState::receive(self, now, iface, from, msg)
    }
    fn poll(&mut self, now: SimTime) -> Vec<Output> {
        LinkState::poll(self, now)
    }
    fn poll_at(&self) -> Option<SimTime> {
        LinkState::poll_at(self)
    }
    fn set_iface_up(&mut self, now: SimTime, iface: usize, up: bool) -> Vec<Output> {
        LinkState::set_iface_up(self, now, iface, up)
    }
    fn kind(msg: &Message) -> &'static str {
        match msg {
            Message::Hello { .. } => "hello",
            Message::Update { .. } => "update",
            Message::Ack { .. } => "ack",
        }
    }
    fn entries(msg: &Message) -> u64 {
        match msg {
            Message::Hello { .. } => 1,
            Message::Update { lsas } => lsas.len() as u64,
            Message::Ack { lsas } => lsas.len() as u64,
        }
    }
}

fn harness(n: usize, edges: &[(usize, usize, u32)]) -> Harness<LinkState> {
    let (ifaces, links) = layout(n, edges);
    let routers = ifaces
        .into_iter()
        .enumerate()
        .map(|(r, i)| {
            let configs = i
                .into_iter()
                .map(|(cost, prefixes)| IfaceConfig { cost, prefixes })
                .collect();
            LinkState::new(r as RouterId + 1, Timers::default(), configs, SimTime::ZERO)
        })
        .collect();
    Harness::new(routers, links)
}

/// Every router's routes against petgraph's shortest paths.
fn check(h: &Harness<LinkState>) -> Result<(), String> {
    let dist = h.distances();
    for s in 0..h.routers.len() {
        let mut want: Vec<Route> = Vec::new();
        for t in (0..h.routers.len()).filter(|&t| t != s) {
            let Some(&d) = dist[s].get(&t) else { continue };
            want.push(Route {
                prefix: lan(t),
                metric: d + 1,
                next_hops: h.shortest_first_hops(&dist, s, t),
            });
        }
        want.sort_by_key(|r| r.prefix);
        let got = h.routers[s].routes();
        if got != want.as_slice() {
            return Err(format!(
                "router {s} at {}: routes {got:?}, shortest paths {want:?}",
                h.now
            ));
        }
    }
    Ok(())
}

#[test]
fn a_triangle_converges_and_splits_equal_costs() {
    // 0–1 cost 1, 1–2 cost 1, 0–2 cost 2: router 0 reaches 2's LAN both
    // ways at metric 3 (2 + 1).
    let mut h = harness(3, &[(0, 1, 1), (1, 2, 1), (0, 2, 2)]);
    h.run(SimTime::from_secs(30));
    check(&h).expect("converged");
    let to_2 = h.routers[0]
        .routes()
        .iter()
        .find(|r| r.prefix == lan(2))
        .expect("a route to 2");
    assert_eq!(to_2.metric, 3);
    assert_eq!(to_2.next_hops, vec![(1, addr(1, 1)), (2, addr(2, 2))]);
    assert_eq!(h.routers[0].adjacencies().len(), 2);
}

#[test]
fn a_silent_neighbour_is_dead_after_the_dead_interval() {
    // The link stops carrying messages without a carrier loss: only the
    // dead interval (40 s) tells.
    let mut h = harness(3, &[(0, 1, 1), (1, 2, 1), (0, 2, 5)]);
    h.run(SimTime::from_secs(30));
    h.links[0].up = false;
    h.run(SimTime::from_secs(50));
    // Still believed at 20 s of silence.
    assert_eq!(h.routers[0].adjacencies().len(), 2);
    h.run(SimTime::from_secs(100));
    assert_eq!(h.routers[0].adjacencies().len(), 1);
    check(&h).expect("converged around the silent link");
}

#[test]
fn lsas_are_refreshed_and_unrefreshed_ones_age_out() {
    let mut h = harness(2, &[(0, 1, 1)]);
    h.run(SimTime::from_secs(30));
    let seq = h.routers[1].database();
    // Refreshed every 30 minutes: sequence numbers grow, routes stay.
    h.run(SimTime::from_secs(4000));
    let later = h.routers[1].database();
    assert!(
        later.iter().zip(&seq).all(|(a, b)| a.1 > b.1),
        "{seq:?} {later:?}"
    );
    check(&h).expect("still converged");
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

/// The Updates a router sent on an interface: (time, origins carried).
fn updates_sent(
    h: &Harness<LinkState>,
    router: usize,
    iface: usize,
) -> Vec<(SimTime, Vec<RouterId>)> {
    h.sent
        .iter()
        .flatten()
        .filter(|(_, r, i, _)| (*r, *i) == (router, iface))
        .filter_map(|(t, _, _, m)| match m {
            Message::Update { lsas } => Some((*t, lsas.iter().map(|l| l.origin).collect())),
            _ => None,
        })
        .collect()
}

#[test]
fn lsas_flooded_within_the_pacing_interval_go_in_one_update() {
    // Leaves 1-4 hang off router 0 (interfaces 1-4), which has router 5
    // behind it (interface 5); each leaf also has a link to router 6.
    let mut edges: Vec<(usize, usize, u32)> = (1..=4).map(|l| (l, 0, 1)).collect();
    edges.push((0, 5, 1));
    edges.extend((1..=4).map(|l| (l, 6, 1)));
    let mut h = harness(7, &edges);
    h.sent = Some(Vec::new());
    h.run(SimTime::from_secs(30));
    // No two Updates to one neighbour closer than the pacing interval,
    // from the start on (when every LSA changes at once).
    let pacing = Timers::default().flood_pacing;
    for r in 0..7 {
        for i in 1..6 {
            let times: Vec<SimTime> = updates_sent(&h, r, i).iter().map(|u| u.0).collect();
            assert!(
                times.windows(2).all(|w| w[1] - w[0] >= pacing),
                "router {r} interface {i}: {times:?}"
            );
        }
    }
    // The four leaves lose router 6 at once: their four new LSAs reach
    // router 0 a millisecond later, in four Updates; router 0 sends the
    // first on to router 5 at once and the other three together, one
    // pacing interval later.
    h.sent = Some(Vec::new());
    let t = h.now;
    for k in 5..9 {
        h.set_link(k, false);
    }
    h.run(t + SimTime::from_secs(1));
    let ms = SimTime::from_millis;
    assert_eq!(
        updates_sent(&h, 0, 5),
        vec![(t + ms(1), vec![2]), (t + ms(1) + pacing, vec![3, 4, 5])]
    );
    check(&h).expect("converged");
}

#[test]
fn spf_waits_for_the_delay_and_takes_every_change_in_one_run() {
    // Router 0 reaches router 1 on the direct link (metric 1 + 1); when
    // it fails, through router 2 (5 + 1 + 1).
    let mut h = harness(3, &[(0, 1, 1), (1, 2, 1), (0, 2, 5)]);
    h.run(SimTime::from_secs(30));
    let route_to_1 = |h: &Harness<LinkState>| {
        let r = h.routers[0].routes().iter().find(|r| r.prefix == lan(1));
        r.map(|r| (r.metric, r.next_hops.clone()))
    };
    assert_eq!(route_to_1(&h), Some((2, vec![(1, addr(1, 1))])));
    let runs = h.routers[2].spf_runs;
    let t = h.now;
    let delay = Timers::default().spf_delay;
    h.set_link(0, false);
    // Until the delay is over, the routes are the old ones.
    h.run(t + delay - SimTime::from_millis(1));
    assert_eq!(route_to_1(&h), Some((2, vec![(1, addr(1, 1))])));
    h.run(t + delay);
    assert_eq!(route_to_1(&h), Some((7, vec![(2, addr(2, 2))])));
    assert_eq!(h.routers[0].routes_changed_at(), Some(t + delay));
    // Router 2 hears both ends' new LSAs a millisecond after the failure
    // and runs SPF once, the delay after.
    h.run(t + SimTime::from_secs(5));
    assert_eq!(h.routers[2].spf_runs, runs + 1);
    check(&h).expect("converged");
}

#[test]
fn a_lost_update_is_sent_again_after_the_retransmit_interval() {
    // A triangle; the link 0–2 fails while the link 0–1 loses everything
    // for 2 ms: router 0's new LSA, sent to router 1 at once, is lost,
    // and router 1 has no other way to hear it.
    let mut h = harness(3, &[(0, 1, 1), (1, 2, 1), (0, 2, 1)]);
    h.run(SimTime::from_secs(30));
    let seq_of_0 = |h: &Harness<LinkState>| {
        h.routers[1]
            .database()
            .iter()
            .find(|&&(o, _)| o == 1)
            .map(|&(_, s)| s)
    };
    let before = seq_of_0(&h);
    let t = h.now;
    h.sent = Some(Vec::new());
    h.links[0].up = false;
    h.set_link(2, false);
    h.run(t + SimTime::from_millis(2));
    assert!(!updates_sent(&h, 0, 1).is_empty(), "router 0 sent its LSA");
    h.links[0].up = true;
    let retransmit = Timers::default().retransmit;
    h.run(t + retransmit - SimTime::from_millis(1));
    assert_eq!(seq_of_0(&h), before);
    h.run(t + retransmit + SimTime::from_millis(2));
    assert!(seq_of_0(&h) > before);
    check(&h).expect("converged");
}

#[test]
fn the_same_network_sends_the_same_messages() {
    let run = || {
        let mut h = harness(
            6,
            &[
                (0, 1, 1),
                (1, 2, 3),
                (2, 3, 1),
                (3, 0, 3),
                (1, 4, 2),
                (4, 5, 1),
            ],
        );
        h.sent = Some(Vec::new());
        h.run(SimTime::from_secs(30));
        h.set_link(1, false);
        h.run(SimTime::from_secs(60));
        format!("{:?}", h.sent)
    };
    assert_eq!(run(), run());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Random topologies converge to the shortest paths, and again after
    /// random links fail and after one comes back.
    #[test]
    fn routes_are_the_shortest_paths_through_failures(
        (n, edges) in graph(3..9, 1..=10),
        fail in prop::collection::vec(any::<prop::sample::Index>(), 1..3),
    ) {
        let mut h = harness(n, &edges);
        h.run(SimTime::from_secs(60));
        prop_assert_eq!(check(&h), Ok(()));
        let down: Vec<usize> = fail.iter().map(|i| i.index(edges.len())).collect();
        for &k in &down {
            h.set_link(k, false);
        }
        h.run(SimTime::from_secs(120));
        prop_assert_eq!(check(&h), Ok(()));
        h.set_link(down[0], true);
        h.run(SimTime::from_secs(180));
        prop_assert_eq!(check(&h), Ok(()));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// SPF alone, on databases as a converged network has them, larger
    /// than the protocol tests' networks: petgraph's shortest paths over
    /// the links both ends list. Some links are listed by one end only
    /// (its LSA lists the other end, whose LSA and adjacencies do not):
    /// those do not count.
    #[test]
    fn spf_alone_finds_the_shortest_paths(
        (n, edges) in graph(2..60, 1..=10),
        one_way in prop::collection::vec(any::<prop::sample::Index>(), 0..4),
    ) {
        let mut h = harness(n, &edges);
        let one_way: BTreeSet<usize> = one_way.iter().map(|i| i.index(edges.len())).collect();
        let id = |r: usize| r as RouterId + 1;
        let mut lsas: Vec<Lsa> = (0..n)
            .map(|r| Lsa {
                origin: id(r),
                seq: 1,
                age_s: 0,
                links: Vec::new(),
                prefixes: vec![(lan(r), 1)],
            })
            .collect();
        for (k, l) in h.links.iter().enumerate() {
            let cost = l.cost;
            lsas[l.a.0].links.push(LsaLink { neighbor: id(l.b.0), cost });
            if !one_way.contains(&k) {
                lsas[l.b.0].links.push(LsaLink { neighbor: id(l.a.0), cost });
            }
        }
        // b's end of a one-way link is not adjacent: the reference leaves
        // the link out.
        let adjacent = |k: usize, at_a: bool| at_a || !one_way.contains(&k);
        let live: Vec<&Lsa> = lsas.iter().collect();
        let mut adjacencies: Vec<Vec<spf::Adjacency>> = vec![Vec::new(); n];
        for (k, l) in h.links.iter().enumerate() {
            for (mine, other, at_a) in [(l.a, l.b, true), (l.b, l.a, false)] {
                if adjacent(k, at_a) {
                    adjacencies[mine.0].push(spf::Adjacency {
                        first_hop: (mine.1, addr(other.0, other.1)),
                        router: id(other.0),
                        cost: l.cost,
                    });
                }
            }
        }
        for &k in &one_way {
            h.links[k].up = false;
        }
        let dist = h.distances();
        for s in 0..n {
            let got = spf::routes(id(s), &adjacencies[s], &live, &BTreeSet::from([lan(s)]));
            let mut want: Vec<Route> = Vec::new();
            for t in (0..n).filter(|&t| t != s) {
                let Some(&d) = dist[s].get(&t) else { continue };
                want.push(Route {
                    prefix: lan(t),
                    metric: d + 1,
                    next_hops: h.shortest_first_hops(&dist, s, t),
                });
            }
            want.sort_by_key(|r| r.prefix);
            prop_assert_eq!(got, want, "router {}", s);
        }
    }
}

/// When the last router's routes changed.
fn converged_at(h: &Harness<LinkState>) -> SimTime {
    h.routers
        .iter()
        .filter_map(|r| r.routes_changed_at())
        .max()
        .unwrap_or(SimTime::ZERO)
}

/// Convergence of 500 routers after a link failure, the protocol alone
/// (issue 8's benchmark, before the engine carries it): simulated time
/// from the failure until the last router's routes change, messages, and
/// wall time. `cargo test --release -p wirelab-sim --lib -- --ignored
/// --nocapture convergence_of_500`.
#[test]
#[ignore]
fn convergence_of_500_routers() {
    convergence(500);
}

/// The same at four times the size, to see how it grows.
#[test]
#[ignore]
fn convergence_of_2000_routers() {
    convergence(2000);
}

/// `n` routers on a random connected graph: a tree plus `n` extra links,
/// costs 1-10, from a fixed xorshift so every run is the same.
fn convergence(n: usize) {
    let mut x: u64 = 0x5eed;
    let mut next = |m: usize| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        (x % m as u64) as usize
    };
    let mut edges: Vec<(usize, usize, u32)> =
        (1..n).map(|i| (next(i), i, 1 + next(10) as u32)).collect();
    while edges.len() < n - 1 + n {
        let (a, b) = (next(n), next(n));
        if a != b
            && !edges
                .iter()
                .any(|&(x, y, _)| (x, y) == (a, b) || (y, x) == (a, b))
        {
            edges.push((a, b, 1 + next(10) as u32));
        }
    }
    let start = std::time::Instant::now();
    let mut h = harness(n, &edges);
    h.run(SimTime::from_secs(60));
    let initial = start.elapsed();
    check(&h).expect("converged");
    let started = converged_at(&h);
    let (messages, kinds, spf) = (
        h.delivered,
        h.delivered_by_kind.clone(),
        h.routers.iter().map(|r| r.spf_runs).sum::<u64>(),
    );
    // Fail the first link of router 0.
    let k = h
        .links
        .iter()
        .position(|l| l.a.0 == 0 || l.b.0 == 0)
        .expect("router 0 has a link");
    let failed_at = h.now;
    let start = std::time::Instant::now();
    h.set_link(k, false);
    // The wall time of the protocol's work: until nothing is left to do
    // but periodic hellos (5 s simulated is far more than it needs).
    h.run(failed_at + SimTime::from_secs(5));
    let wall = start.elapsed();
    check(&h).expect("converged after the failure");
    let after: BTreeMap<&str, (u64, u64)> = h
        .delivered_by_kind
        .iter()
        .map(|(&k, &(m, e))| {
            let (m0, e0) = kinds.get(k).copied().unwrap_or_default();
            (k, (m - m0, e - e0))
        })
        .collect();
    eprintln!(
        "{n} routers, {} links: initial convergence {initial:?} wall, routes stable from {} (simulated); {messages} messages {kinds:?} (kind: (messages, entries)), {spf} SPF runs; after a link failure: converged {} after it (simulated), {} messages {after:?}, {} SPF runs, {wall:?} wall for 5 s simulated",
        edges.len(),
        crate::time::human_duration(started.as_nanos()),
        crate::time::human_duration((converged_at(&h) - failed_at).as_nanos()),
        h.delivered - messages,
        h.routers.iter().map(|r| r.spf_runs).sum::<u64>() - spf,
    );
}
