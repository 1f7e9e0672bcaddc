//! Engine throughput: a ping storm across two routers, in events per
//! second (divan's "items/s" column is events/s).
//!
//! `cargo bench -p wirelab-bench --bench engine`

use std::sync::LazyLock;

use divan::counter::ItemsCount;
use divan::{AllocProfiler, Bencher};
use wirelab_bench::{add_storm, compile, run_storm, storm_lab_yaml, Storm};
use wirelab_net::Network;
use wirelab_sim::{Sim, SimTime, TraceLevel};

// Counts allocations per iteration: the steady-state bench must show none.
#[global_allocator]
static ALLOC: AllocProfiler = AllocProfiler::system();

const STORM: Storm = Storm {
    interval: SimTime::from_millis(1),
    count: 200,
};

static STORM_10: LazyLock<Network> = LazyLock::new(|| compile("storm.yaml", &storm_lab_yaml(10)));
static STORM_100: LazyLock<Network> = LazyLock::new(|| compile("storm.yaml", &storm_lab_yaml(100)));
static STORM_1000: LazyLock<Network> =
    LazyLock::new(|| compile("storm.yaml", &storm_lab_yaml(1000)));

fn storm_net(pairs: usize) -> &'static Network {
    match pairs {
        10 => &STORM_10,
        100 => &STORM_100,
        1000 => &STORM_1000,
        _ => unreachable!("no storm lab of {pairs} pairs"),
    }
}

fn main() {
    divan::main();
}

/// A whole storm from a new simulator: setup, ARP, then steady pinging.
#[divan::bench(args = [10, 100, 1000], sample_count = 10, sample_size = 1)]
fn ping_storm(bencher: Bencher, pairs: usize) {
    let net = storm_net(pairs);
    let storm = Storm {
        count: (20_000 / pairs as u32).max(20),
        ..STORM
    };
    let (events, _) = run_storm(net, storm);
    bencher
        .counter(ItemsCount::new(events))
        .bench(|| run_storm(net, storm));
}

/// The steady state only: the simulator has already resolved every
/// neighbour and grown its queue and packet slab during a warm-up, so
/// the allocation columns must read zero.
#[divan::bench(args = [100], sample_count = 10, sample_size = 1)]
fn steady_state(bencher: Bencher, pairs: usize) {
    let net = storm_net(pairs);
    let warm = SimTime::from_millis(20);
    let warmed = || {
        let mut sim = Sim::new(net, 1, TraceLevel::Off);
        add_storm(&mut sim, net, STORM);
        sim.run_until(warm);
        sim
    };
    let events = {
        let mut sim = warmed();
        let before = sim.counters.events;
        sim.run_until(STORM.horizon());
        sim.counters.events - before
    };
    bencher
        .counter(ItemsCount::new(events))
        .with_inputs(warmed)
        .bench_values(|mut sim| {
            sim.run_until(STORM.horizon());
            sim
        });
}
