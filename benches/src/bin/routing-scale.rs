//! The issue-8 scale benchmark of dynamic routing in the engine: a random
//! connected topology of OSPF routers (500 by default, about two links
//! per router, costs 1 to 10 from the links' bandwidths), converged from
//! the start, then one link fails. Times, in wall-clock seconds, the
//! start (every adjacency and the whole flooding) and, separately, the
//! convergence after the failure, with the simulated convergence time and
//! the OSPF packets each took. Wall-clock timing is the point here.
//!
//! `cargo run --release -p wirelab-bench --bin routing-scale [-- --routers N] [--write LAB.yaml]`

use std::fmt::Write as _;
use std::time::Instant;

use wirelab_bench::Gen;
use wirelab_net::Network;
use wirelab_sim::{Sim, SimTime, TraceLevel};

/// When the link fails: long after the start has settled.
const FAIL_AT_S: u64 = 300;

/// The lab, and the name of the link that fails (one that is not needed
/// for the graph to stay connected: an extra link, not a tree link).
pub fn generate(routers: usize) -> (String, String) {
    let mut g = Gen(0x0005_bf5e_ed00);
    let mut links: Vec<(usize, usize)> = Vec::new();
    for i in 1..routers {
        links.push((g.below(i), i));
    }
    let tree = links.len();
    while links.len() < 2 * routers - 1 {
        let (a, b) = (g.below(routers), g.below(routers));
        let (a, b) = (a.min(b), a.max(b));
        if a != b && !links.contains(&(a, b)) {
            links.push((a, b));
        }
    }
    let mut y = String::new();
    let _ = writeln!(y, "lab: routing-scale-{routers}\nseed: 8\nnetworks:");
    for i in 0..routers {
        let _ = writeln!(
            y,
            "  lan{i}: {{ cidr: 172.{}.{}.0/24 }}",
            16 + i / 256,
            i % 256
        );
    }
    y.push_str("links:\n");
    let bandwidths = ["10Mbps", "20Mbps", "50Mbps", "100Mbps"];
    for (k, &(a, b)) in links.iter().enumerate() {
        let _ = writeln!(
            y,
            "  - {{ between: [r{a}, r{b}], cidr: 10.{}.{}.{}/30, bandwidth: {}, delay: 1ms }}",
            k / 16384,
            (k / 64) % 256,
            (k % 64) * 4,
            bandwidths[g.below(4)]
        );
    }
    y.push_str("routers:\n");
    for i in 0..routers {
        let _ = writeln!(
            y,
            "  r{i}:\n    interfaces: {{ lan{i}: 172.{}.{}.1 }}\n    ospf: {{ passive: [lan{i}] }}",
            16 + i / 256,
            i % 256
        );
    }
    y.push_str("hosts:\n  h0: { network: lan0 }\n");
    let (a, b) = links[tree + g.below(links.len() - tree)];
    let failed = format!("r{a}-r{b}");
    let _ = writeln!(
        y,
        "events:\n  - {{ at: {FAIL_AT_S}s, link_down: {failed} }}"
    );
    (y, failed)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let value = |flag: &str| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let routers: usize = value("--routers").map_or(500, |v| v.parse().expect("--routers N"));
    let (yaml, failed) = generate(routers);
    if let Some(path) = value("--write") {
        std::fs::write(&path, &yaml).expect("write the lab");
        eprintln!("wrote {path}");
    }
    let t0 = Instant::now();
    let lab = wirelab_spec::parse_str("routing-scale.yaml", &yaml)
        .expect("the generated lab is valid")
        .lab;
    let net = Network::compile(&lab);
    let parse_s = t0.elapsed().as_secs_f64();
    let links = net.lab.networks.len() - routers;

    let mut sim = Sim::new(&net, 8, TraceLevel::Off);
    sim.set_limits(wirelab_sim::Limits {
        events_max: u64::MAX,
    });
    sim.reset(8);
    sim.schedule_lab_events();
    let t1 = Instant::now();
    let start_settled = sim.run_until_routing_settles(SimTime::from_secs(FAIL_AT_S - 1));
    let start_wall = t1.elapsed().as_secs_f64();
    let start_messages = sim.routing_log().messages;
    let start_events = sim.counters.events;
    let changes_before = sim.routing_log().changes.len();
    // Quiet hellos up to just before the failure (not timed).
    sim.run_to(SimTime::from_secs(FAIL_AT_S) - SimTime(1));
    let messages_at_failure = sim.routing_log().messages;
    let events_at_failure = sim.counters.events;

    // Timed to the last table change (noticed at the next event), then
    // on to when routing counts as settled.
    let t2 = Instant::now();
    let mut seen = sim.routing_log().changes.len();
    let mut last_change_wall = t2;
    sim.run_while(SimTime::from_secs(FAIL_AT_S + 60), |s| {
        let now = s.routing_log().changes.len();
        if now != seen {
            seen = now;
            last_change_wall = Instant::now();
        }
        false
    });
    let fail_wall = (last_change_wall - t2).as_secs_f64();
    let window_wall = t2.elapsed().as_secs_f64();
    let last = sim.run_until_routing_settles(SimTime::from_secs(FAIL_AT_S + 600));
    let log = sim.routing_log();
    let after: Vec<_> = log.changes[changes_before..]
        .iter()
        .filter(|c| c.at >= SimTime::from_secs(FAIL_AT_S))
        .collect();
    let converged = last.as_nanos().saturating_sub(FAIL_AT_S * 1_000_000_000);
    let messages = after.last().map_or(0, |c| c.messages_before) - messages_at_failure;
    let mut tables: Vec<usize> = after.iter().map(|c| c.node).collect();
    tables.sort_unstable();
    tables.dedup();

    println!(
        "routing-scale: {routers} OSPF routers, {links} links (parse and compile {parse_s:.2} s)"
    );
    println!(
        "  start:   converged at {:.3} s simulated, {start_messages} OSPF packets, {start_events} events, {start_wall:.2} s wall",
        start_settled.as_nanos() as f64 / 1e9
    );
    println!(
        "  failure: link {failed} down at {FAIL_AT_S} s: converged in {:.1} ms simulated, {} table changes on {} routers, {messages} OSPF packets, {} events to 60 s after; {fail_wall:.3} s wall to the last change ({window_wall:.2} s for the 60 s)",
        converged as f64 / 1e6,
        after.len(),
        tables.len(),
        sim.counters.events - events_at_failure,
    );
}
