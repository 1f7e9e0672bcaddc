//! Checks per second on the generated lab of 1,000 hosts, 100 security
//! groups, 20 networks and 1,000 checks (divan's "items/s" is checks/s).
//!
//! `cargo bench -p wirelab-bench --bench checks`

use std::sync::LazyLock;

use divan::counter::ItemsCount;
use divan::Bencher;
use wirelab_bench::{big_lab_yaml, compile};
use wirelab_net::Network;

static BIG: LazyLock<Network> = LazyLock::new(|| compile("big.yaml", &big_lab_yaml()));

fn main() {
    divan::main();
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

#[divan::bench(sample_count = 10, sample_size = 1)]
fn run_checks_1_thread(bencher: Bencher) {
    let net = &*BIG;
    bencher
        .counter(ItemsCount::new(net.lab.checks.len()))
        .bench(|| wirelab_check::run_checks(net, 1));
}

#[divan::bench(sample_count = 10, sample_size = 1)]
fn run_checks_all_cores(bencher: Bencher) {
    let net = &*BIG;
    bencher
        .counter(ItemsCount::new(net.lab.checks.len()))
        .bench(|| wirelab_check::run_checks(net, cores()));
}
