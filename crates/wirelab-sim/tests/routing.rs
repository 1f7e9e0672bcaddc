//! Dynamic routing in the engine, held to an independent shortest-path
//! computation (petgraph) on random topologies, before and after random
//! link failures; routers going down and up; static routes against
//! protocol routes by administrative distance; the same run twice.

use std::collections::BTreeMap;
use std::net::IpAddr;

use ipnet::IpNet;
use petgraph::algo::dijkstra;
use petgraph::graph::{NodeIndex, UnGraph};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use wirelab_net::{Network, NextHop, NodeKind, RouteOrigin};
use wirelab_sim::{Sim, SimTime, TraceLevel};

/// A random connected topology of `n` routers: a random spanning tree plus
/// extra links, each with a bandwidth that gives an OSPF cost of 1, 2, 5
/// or 10 (reference 100 Mbit/s). Router `i` has LAN 10.(100+i).0.0/24.
struct Topo {
    n: usize,
    /// (a, b, cost)
    links: Vec<(usize, usize, u32)>,
}

fn topo(rng: &mut ChaCha8Rng) -> Topo {
    let n = rng.random_range(3..=9);
    let mut links = Vec::new();
    let cost = |rng: &mut ChaCha8Rng| [1u32, 2, 5, 10][rng.random_range(0..4)];
    for i in 1..n {
        let j = rng.random_range(0..i);
        links.push((j, i, cost(rng)));
    }
    for _ in 0..rng.random_range(0..=n) {
        let (a, b) = (rng.random_range(0..n), rng.random_range(0..n));
        if a != b
            && !links
                .iter()
                .any(|&(x, y, _)| (x, y) == (a, b) || (x, y) == (b, a))
        {
            links.push((a.min(b), a.max(b), cost(rng)));
        }
    }
    Topo { n, links }
}

fn link_name(a: usize, b: usize) -> String {
    format!("r{a}-r{b}")
}

/// The lab: every router runs `proto` with fast timers; `down` are the
/// links that fail at 10 s.
fn lab_yaml(t: &Topo, proto: &str, down: &[usize]) -> String {
    let mut y = String::from("lab: random-routing\nseed: 5\nnetworks:\n");
    for i in 0..t.n {
        y += &format!("  lan{i}: {{ cidr: 10.{}.0.0/24 }}\n", 100 + i);
    }
    y += "links:\n";
    for (k, &(a, b, cost)) in t.links.iter().enumerate() {
        let mbps = 100 / cost;
        y += &format!(
            "  - {{ between: [r{a}, r{b}], cidr: 10.0.{}.{}/30, bandwidth: {mbps}Mbps, delay: 1ms }}\n",
            k / 64,
            (k % 64) * 4
        );
    }
    y += "routers:\n";
    for i in 0..t.n {
        y += &format!(
            "  r{i}:\n    interfaces: {{ lan{i}: 10.{}.0.1 }}\n",
            100 + i
        );
        match proto {
            "ospf" => y += "    ospf: { hello: 1s, dead: 3s }\n",
            _ => y += "    rip: { update: 5s }\n",
        }
    }
    y += "hosts:\n  h0: { network: lan0 }\n";
    if !down.is_empty() {
        y += "events:\n";
        for &k in down {
            let (a, b, _) = t.links[k];
            y += &format!("  - {{ at: 10s, link_down: {} }}\n", link_name(a, b));
        }
    }
    y
}

fn net_of(yaml: &str) -> Network {
    let lab = wirelab_spec::parse_str("random.yaml", yaml)
        .unwrap_or_else(|d| panic!("{d:?}\n{yaml}"))
        .lab;
    Network::compile(&lab)
}

/// Router index of a lab router's node (`r7` → 7).
fn router_index(net: &Network, node: usize) -> usize {
    net.nodes[node].name[1..].parse().unwrap()
}

/// Distances from every router to every other over the links that are up,
/// with `weight` per link (cost, or 1 per hop).
fn distances(t: &Topo, down: &[usize], weight: impl Fn(u32) -> u32) -> Vec<BTreeMap<usize, u32>> {
    let mut g: UnGraph<(), u32> = UnGraph::new_undirected();
    let nodes: Vec<NodeIndex> = (0..t.n).map(|_| g.add_node(())).collect();
    for (k, &(a, b, c)) in t.links.iter().enumerate() {
        if !down.contains(&k) {
            g.add_edge(nodes[a], nodes[b], weight(c));
        }
    }
    (0..t.n)
        .map(|s| {
            dijkstra(&g, nodes[s], None, |e| *e.weight())
                .into_iter()
                .map(|(n, d)| (n.index(), d))
                .collect()
        })
        .collect()
}

/// Checks every router's route to every other router's LAN against the
/// distances: the metric (plus the LAN's own cost, 1), a first hop on a
/// shortest path, and no route at all to a LAN that cannot be reached.
fn assert_tables(sim: &Sim<'_>, net: &Network, t: &Topo, down: &[usize], proto: &str, what: &str) {
    let dist = if proto == "ospf" {
        distances(t, down, |c| c)
    } else {
        distances(t, down, |_| 1)
    };
    for node in 0..net.nodes.len() {
        let NodeKind::Router(_) = net.nodes[node].kind else {
            continue;
        };
        let r = router_index(net, node);
        for other in 0..t.n {
            if other == r {
                continue;
            }
            let lan: IpNet = format!("10.{}.0.0/24", 100 + other).parse().unwrap();
            let route = sim.routes_now(node).iter().find(|x| x.prefix == lan);
            let Some(&d) = dist[r].get(&other) else {
                assert!(
                    route.is_none(),
                    "{what}: r{r} has a route to unreachable {lan}: {route:?}"
                );
                continue;
            };
            let route = route.unwrap_or_else(|| panic!("{what}: r{r} has no route to {lan}"));
            let metric = match route.origin {
                RouteOrigin::Ospf { metric } | RouteOrigin::Rip { metric } => metric,
                other => panic!("{what}: r{r} routes {lan} by {other:?}"),
            };
            // The LAN costs 1 (1 Gbit/s is above the reference) in OSPF;
            // a RIP router counts itself as one hop to its own LAN.
            assert_eq!(metric, d + 1, "{what}: metric of r{r} to {lan}");
            let NextHop::Gateway(gw) = route.next_hop else {
                panic!("{what}: r{r} routes {lan} without a next hop");
            };
            let hop = router_index(net, net.ifaces[net.owner(gw).unwrap()].node);
            let link = t
                .links
                .iter()
                .enumerate()
                .find(|(k, &(a, b, _))| {
                    !down.contains(k) && ((a, b) == (r, hop) || (a, b) == (hop, r))
                })
                .map(|(_, l)| *l)
                .unwrap_or_else(|| panic!("{what}: r{r} routes {lan} to r{hop}, no neighbour"));
            let w = if proto == "ospf" { link.2 } else { 1 };
            assert_eq!(
                w + dist[hop][&other],
                d,
                "{what}: r{r} → r{hop} is not on a shortest path to {lan}"
            );
            if proto == "ospf" {
                // ECMP: every neighbour on a shortest path, and only those.
                let mut want: Vec<usize> = t
                    .links
                    .iter()
                    .enumerate()
                    .filter(|(k, _)| !down.contains(k))
                    .filter_map(|(_, &(a, b, c))| match (a == r, b == r) {
                        (true, _) => Some((b, c)),
                        (_, true) => Some((a, c)),
                        _ => None,
                    })
                    .filter(|&(h, c)| dist[h].get(&other).is_some_and(|&dh| c + dh == d))
                    .map(|(h, _)| h)
                    .collect();
                want.sort_unstable();
                let mut got: Vec<usize> = sim
                    .multipath_now(node, lan)
                    .iter()
                    .map(|&(_, gw)| router_index(net, net.ifaces[net.owner(gw).unwrap()].node))
                    .collect();
                if got.is_empty() {
                    got.push(hop);
                }
                got.sort_unstable();
                assert_eq!(got, want, "{what}: equal-cost next hops of r{r} to {lan}");
            }
        }
    }
}

fn check_random_topologies(proto: &str, cases: u64) {
    for case in 0..cases {
        let mut rng = ChaCha8Rng::seed_from_u64(case + if proto == "ospf" { 0 } else { 1000 });
        let t = topo(&mut rng);
        let mut down: Vec<usize> = (0..t.links.len())
            .filter(|_| rng.random_bool(0.3))
            .collect();
        down.truncate(3);
        let yaml = lab_yaml(&t, proto, &down);
        let net = net_of(&yaml);
        let mut sim = Sim::new(&net, 5, TraceLevel::Off);
        sim.reset_to(5, None);
        assert_tables(
            &sim,
            &net,
            &t,
            &[],
            proto,
            &format!("{proto} case {case}, start"),
        );
        // RIP needs a timeout (30 s) for routes through a lost link that
        // no update withdraws; OSPF floods at once.
        let after = if proto == "ospf" { 15 } else { 80 };
        sim.reset_to(5, Some(SimTime::from_secs(after)));
        assert_tables(
            &sim,
            &net,
            &t,
            &down,
            proto,
            &format!("{proto} case {case}, after {down:?} failed"),
        );
    }
}

#[test]
fn ospf_converges_to_the_shortest_paths_before_and_after_failures() {
    check_random_topologies("ospf", 24);
}

#[test]
fn rip_converges_to_the_fewest_hops_before_and_after_failures() {
    check_random_topologies("rip", 12);
}

const TRIANGLE: &str = r#"
lab: tri
seed: 1
networks:
  lan1: { cidr: 10.1.0.0/24 }
  lan3: { cidr: 10.3.0.0/24 }
links:
  - { between: [r1, r2], cidr: 10.0.12.0/30 }
  - { between: [r2, r3], cidr: 10.0.23.0/30 }
  - { between: [r1, r3], cidr: 10.0.13.0/30, bandwidth: 10Mbps }
routers:
  r1:
    interfaces: { lan1: 10.1.0.1 }
    ospf: { hello: 1s, dead: 4s }
    routes: [STATIC]
  r2: { ospf: { hello: 1s, dead: 4s } }
  r3:
    interfaces: { lan3: 10.3.0.1 }
    ospf: { hello: 1s, dead: 4s }
hosts:
  h1: { network: lan1 }
events:
  - { at: 10s, router_down: r2 }
  - { at: 30s, router_up: r2 }
"#;

fn route_to(sim: &Sim<'_>, net: &Network, router: &str, prefix: &str) -> Option<(IpAddr, String)> {
    let node = net.nodes.iter().position(|n| n.name == router).unwrap();
    let prefix: IpNet = prefix.parse().unwrap();
    let r = sim.routes_now(node).iter().find(|r| r.prefix == prefix)?;
    let NextHop::Gateway(gw) = r.next_hop else {
        return None;
    };
    let origin = match r.origin {
        RouteOrigin::Ospf { .. } => "ospf",
        RouteOrigin::Static(_) => "static",
        _ => "other",
    };
    Some((gw, origin.to_string()))
}

#[test]
fn a_router_that_goes_down_is_routed_around_after_the_dead_interval_and_back_after_it_returns() {
    let yaml = TRIANGLE.replace("routes: [STATIC]", "routes: []");
    let net = net_of(&yaml);
    let mut sim = Sim::new(&net, 1, TraceLevel::Off);
    let via = |sim: &mut Sim<'_>, at: u64| {
        sim.reset_to(1, Some(SimTime::from_millis(at)));
        route_to(sim, &net, "r1", "10.3.0.0/24").map(|(gw, _)| gw.to_string())
    };
    assert_eq!(
        via(&mut sim, 9_000).as_deref(),
        Some("10.0.12.2"),
        "through r2"
    );
    // r2 is silent from 10 s; r1 holds on until 4 s without a hello.
    assert_eq!(
        via(&mut sim, 12_000).as_deref(),
        Some("10.0.12.2"),
        "not noticed yet"
    );
    assert_eq!(
        via(&mut sim, 14_500).as_deref(),
        Some("10.0.13.2"),
        "around r2"
    );
    assert!(sim.node_down(net.router_node(1)));
    // Back at 30 s: a new adjacency, a new SPF, the cheap path again.
    assert_eq!(
        via(&mut sim, 32_000).as_deref(),
        Some("10.0.12.2"),
        "through r2 again"
    );
    assert!(!sim.node_down(net.router_node(1)));
}

#[test]
fn a_static_route_wins_over_ospf_unless_its_distance_is_higher() {
    let stat = "{ to: 10.3.0.0/24, via: 10.0.13.2 }";
    let net = net_of(&TRIANGLE.replace("STATIC", stat));
    let mut sim = Sim::new(&net, 1, TraceLevel::Off);
    sim.reset_to(1, None);
    let r = route_to(&sim, &net, "r1", "10.3.0.0/24").unwrap();
    assert_eq!(
        (r.0.to_string().as_str(), r.1.as_str()),
        ("10.0.13.2", "static")
    );
    // A floating static route (distance 200 > OSPF's 110) waits...
    let floating = "{ to: 10.3.0.0/24, via: 10.0.13.2, distance: 200 }";
    let net = net_of(&TRIANGLE.replace("STATIC", floating));
    let mut sim = Sim::new(&net, 1, TraceLevel::Off);
    sim.reset_to(1, None);
    let r = route_to(&sim, &net, "r1", "10.3.0.0/24").unwrap();
    assert_eq!(
        (r.0.to_string().as_str(), r.1.as_str()),
        ("10.0.12.2", "ospf")
    );
    // ...and takes over when OSPF loses the prefix: r3's OSPF stops on
    // every interface when it goes down, so r1 learns nothing about lan3.
    let yaml = TRIANGLE
        .replace("STATIC", floating)
        .replace("router_down: r2", "router_down: r3")
        .replace("router_up: r2", "router_up: r3");
    let net = net_of(&yaml);
    let mut sim = Sim::new(&net, 1, TraceLevel::Off);
    sim.reset_to(1, Some(SimTime::from_secs(20)));
    let r = route_to(&sim, &net, "r1", "10.3.0.0/24").unwrap();
    assert_eq!(
        (r.0.to_string().as_str(), r.1.as_str()),
        ("10.0.13.2", "static")
    );
}

#[test]
fn the_same_lab_converges_the_same_way_every_time() {
    let mut rng = ChaCha8Rng::seed_from_u64(77);
    let t = topo(&mut rng);
    let yaml = lab_yaml(&t, "ospf", &[0]);
    let net = net_of(&yaml);
    let run = || {
        let mut sim = Sim::new(&net, 5, TraceLevel::Off);
        sim.reset_to(5, Some(SimTime::from_secs(20)));
        let log = sim.routing_log().clone();
        (
            log.changes,
            log.messages,
            log.bytes,
            (0..net.nodes.len())
                .map(|n| sim.routes_now(n).to_vec())
                .collect::<Vec<_>>(),
        )
    };
    let a = run();
    assert!(a.1 > 0 && !a.0.is_empty());
    assert_eq!(a, run());
}

#[test]
fn equal_cost_paths_carry_different_flows_and_one_flow_keeps_its_path() {
    let yaml = r#"
lab: square
seed: 2
networks:
  lan1: { cidr: 10.1.0.0/24 }
  lan4: { cidr: 10.4.0.0/24 }
links:
  - { between: [r1, r2], cidr: 10.0.12.0/30 }
  - { between: [r1, r3], cidr: 10.0.13.0/30 }
  - { between: [r2, r4], cidr: 10.0.24.0/30 }
  - { between: [r3, r4], cidr: 10.0.34.0/30 }
routers:
  r1: { interfaces: { lan1: 10.1.0.1 }, ospf: { hello: 1s } }
  r2: { ospf: { hello: 1s } }
  r3: { ospf: { hello: 1s } }
  r4: { interfaces: { lan4: 10.4.0.1 }, ospf: { hello: 1s } }
hosts:
  h1: { network: lan1, ip: 10.1.0.10 }
  h4: { network: lan4, ip: 10.4.0.10 }
"#;
    let net = net_of(yaml);
    let mut sim = Sim::new(&net, 2, TraceLevel::Off);
    sim.reset_to(2, None);
    let r1 = net.router_node(0);
    let lan4: IpNet = "10.4.0.0/24".parse().unwrap();
    let hops: Vec<String> = sim
        .multipath_now(r1, lan4)
        .iter()
        .map(|(_, gw)| gw.to_string())
        .collect();
    assert_eq!(hops, ["10.0.12.2", "10.0.13.2"]);
    // 64 flows (source ports) from h1: both paths carry some, and the
    // choice of each depends on the flow alone.
    let pick = |port: u16| {
        let ip = wirelab_sim::packet::Ip {
            src: "10.1.0.10".parse().unwrap(),
            dst: "10.4.0.10".parse().unwrap(),
            ttl: 64,
            l4: wirelab_sim::packet::L4::Tcp(wirelab_sim::packet::Tcp::plain(port, 80, 0, 0, 2, 0)),
        };
        wirelab_sim::routing_apps::multipath_choice(&ip, 2)
    };
    let picks: Vec<usize> = (40_000..40_064).map(pick).collect();
    let first = picks.iter().filter(|&&p| p == 0).count();
    assert!(
        (16..=48).contains(&first),
        "{first} of 64 flows on the first path"
    );
    assert_eq!(picks, (40_000..40_064).map(pick).collect::<Vec<_>>());
}

#[test]
fn ospf_neighbours_whose_timers_differ_never_become_adjacent() {
    // What `wirelab lint` calls ospf-timers-mismatch: r2's hellos say 10 s
    // and 40 s, r1's 1 s and 4 s; each ignores the other's.
    let yaml = TRIANGLE.replace("routes: [STATIC]", "routes: []").replace(
        "r2: { ospf: { hello: 1s, dead: 4s } }",
        "r2: { ospf: { hello: 10s } }",
    );
    let net = net_of(&yaml);
    let mut sim = Sim::new(&net, 1, TraceLevel::Off);
    sim.reset_to(1, Some(SimTime::from_secs(9)));
    let r2 = net.router_node(1);
    assert!(
        sim.ospf_adjacencies(r2).is_empty(),
        "{:?}",
        sim.ospf_adjacencies(r2)
    );
    assert_eq!(
        sim.ospf_adjacencies(net.router_node(0)).len(),
        1,
        "r1 with r3 only"
    );
    // lan3 is reached over the direct link, never through r2.
    let r = route_to(&sim, &net, "r1", "10.3.0.0/24").unwrap();
    assert_eq!(r.0.to_string(), "10.0.13.2");
}
