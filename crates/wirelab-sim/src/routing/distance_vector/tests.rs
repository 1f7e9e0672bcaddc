//! The distance-vector protocol on small networks of its own instances
//! (see `routing::harness`): it converges to shortest-path metrics (with
//! a next hop on a shortest path; nothing past infinity), through link
//! failures; without split horizon a loop counts to infinity, with
//! poisoned reverse it does not.

use proptest::prelude::*;

use super::*;
use crate::routing::harness::{graph, lan, layout, Harness, Speaker};

impl Speaker for DistanceVector {
    type Message = Message;
    type Output = Output;
    fn parts(o: Output) -> (usize, Option<IpAddr>, Message) {
        (o.iface, o.to, o.message)
    }
    fn receive(&mut self, now: SimTime, iface: usize, from: IpAddr, msg: Message) -> Vec<Output> {
        DistanceVector::receive(self, now, iface, from, msg)
    }
    fn poll(&mut self, now: SimTime) -> Vec<Output> {
        DistanceVector::poll(self, now)
    }
    fn poll_at(&self) -> Option<SimTime> {
        DistanceVector::poll_at(self)
    }
    fn set_iface_up(&mut self, now: SimTime, iface: usize, up: bool) -> Vec<Output> {
        DistanceVector::set_iface_up(self, now, iface, up)
    }
}

fn harness(
    n: usize,
    edges: &[(usize, usize, u32)],
    horizon: SplitHorizon,
) -> Harness<DistanceVector> {
    let (ifaces, links) = layout(n, edges);
    let routers = ifaces
        .into_iter()
        .map(|i| {
            let configs = i
                .into_iter()
                .map(|(cost, prefixes)| IfaceConfig { cost, prefixes })
                .collect();
            DistanceVector::new(Timers::default(), horizon, configs, SimTime::ZERO)
        })
        .collect();
    Harness::new(routers, links)
}

/// Every router's routes: the shortest metric when below infinity, by a
/// next hop on a shortest path; no route otherwise.
fn check(h: &Harness<DistanceVector>) -> Result<(), String> {
    let dist = h.distances();
    for s in 0..h.routers.len() {
        let routes = h.routers[s].routes();
        for t in (0..h.routers.len()).filter(|&t| t != s) {
            let want = dist[s].get(&t).map(|d| d + 1).filter(|&m| m < INFINITY);
            let got = routes.iter().find(|r| r.prefix == lan(t));
            match (want, got) {
                (None, None) => {}
                (Some(m), Some(r)) if r.metric == m => {
                    let hops = h.shortest_first_hops(&dist, s, t);
                    if !r.next_hop.is_some_and(|hop| hops.contains(&hop)) {
                        return Err(format!(
                            "router {s} → {t} at {}: {r:?} not by {hops:?}",
                            h.now
                        ));
                    }
                }
                _ => {
                    return Err(format!(
                        "router {s} → {t} at {}: route {got:?}, shortest metric {want:?}",
                        h.now
                    ))
                }
            }
        }
    }
    Ok(())
}

/// Router `r`'s metric to router `t`'s LAN, if it has an entry.
fn metric(h: &Harness<DistanceVector>, r: usize, t: usize) -> Option<u32> {
    h.routers[r]
        .table()
        .iter()
        .find(|x| x.prefix == lan(t))
        .map(|x| x.metric)
}

#[test]
fn a_chain_learns_every_lan_with_hop_counts() {
    let mut h = harness(
        4,
        &[(0, 1, 1), (1, 2, 1), (2, 3, 1)],
        SplitHorizon::default(),
    );
    h.run(SimTime::from_secs(10));
    check(&h).expect("converged");
    assert_eq!(metric(&h, 0, 3), Some(4));
}

/// Counts router 0's metric to router 2's LAN, second by second, after
/// the link 1–2 fails just before the periodic update at 60 s.
fn count_after_failure(horizon: SplitHorizon) -> Vec<u32> {
    let mut h = harness(3, &[(0, 1, 1), (1, 2, 1)], horizon);
    h.run(SimTime::from_millis(59_900));
    assert_eq!(metric(&h, 0, 2), Some(3));
    h.set_link(1, false);
    let mut seen = Vec::new();
    for s in 60..=200u64 {
        h.run(SimTime::from_secs(s));
        match metric(&h, 0, 2) {
            Some(m) if seen.last() != Some(&m) => seen.push(m),
            Some(_) => {}
            None => break,
        }
    }
    assert!(h.routers[0].routes().iter().all(|r| r.prefix != lan(2)));
    seen
}

#[test]
fn without_split_horizon_a_loop_counts_to_infinity() {
    let seen = count_after_failure(SplitHorizon::Off);
    // 0 and 1 teach each other ever longer routes, each withdrawn in turn
    // (16), until 16 is all that is left: 3, 16, 5, 16, 7, … 15, 16.
    let finite: Vec<u32> = seen.iter().copied().filter(|&m| m < INFINITY).collect();
    assert!(finite.len() >= 5, "{seen:?}");
    assert!(finite.windows(2).all(|w| w[0] < w[1]), "{seen:?}");
    assert_eq!(finite.last(), Some(&15), "{seen:?}");
    assert_eq!(seen.last(), Some(&INFINITY), "{seen:?}");
}

#[test]
fn poisoned_reverse_stops_the_count() {
    let seen = count_after_failure(SplitHorizon::PoisonedReverse);
    assert_eq!(seen, vec![3, INFINITY], "{seen:?}");
}

#[test]
fn a_silent_neighbours_routes_time_out_and_are_deleted() {
    let mut h = harness(2, &[(0, 1, 1)], SplitHorizon::default());
    h.run(SimTime::from_secs(10));
    assert_eq!(metric(&h, 0, 1), Some(2));
    // The link stops carrying without a carrier loss: 180 s to time out,
    // then 120 s of advertising 16 before deletion.
    h.links[0].up = false;
    h.run(SimTime::from_secs(10 + 170));
    assert_eq!(metric(&h, 0, 1), Some(2));
    h.run(SimTime::from_secs(10 + 200));
    assert_eq!(metric(&h, 0, 1), Some(INFINITY));
    h.run(SimTime::from_secs(10 + 320));
    assert_eq!(metric(&h, 0, 1), None);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Random topologies converge to shortest-path metrics, and again
    /// after random links fail and after one comes back.
    #[test]
    fn metrics_are_the_shortest_paths_through_failures(
        (n, edges) in graph(3..9, 1..=3),
        fail in prop::collection::vec(any::<prop::sample::Index>(), 1..3),
    ) {
        let mut h = harness(n, &edges, SplitHorizon::default());
        h.run(SimTime::from_secs(120));
        prop_assert_eq!(check(&h), Ok(()));
        let down: Vec<usize> = fail.iter().map(|i| i.index(edges.len())).collect();
        for &k in &down {
            h.set_link(k, false);
        }
        h.run(SimTime::from_secs(120 + 400));
        prop_assert_eq!(check(&h), Ok(()));
        h.set_link(down[0], true);
        h.run(SimTime::from_secs(520 + 120));
        prop_assert_eq!(check(&h), Ok(()));
    }
}
