//! A driver for profilers (perf, callgrind): runs one workload `reps`
//! times with nothing else in the process worth sampling but the setup.
//!
//! `cargo run --release -p wirelab-bench --example profile -- storm [REPS] [PAIRS]`
//! `cargo run --release -p wirelab-bench --example profile -- checks [REPS] [THREADS]`
//! e.g. `perf record -e cpu-clock -g target/release/examples/profile storm 5 1000`

use wirelab_bench::{big_lab_yaml, compile, run_storm, storm_lab_yaml, Storm};
use wirelab_sim::SimTime;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let workload = args.first().map_or("storm", String::as_str);
    let reps: usize = args
        .get(1)
        .map_or(Ok(10), |s| s.parse())
        .expect("REPS is a number");
    let size: Option<usize> = args
        .get(2)
        .map(|s| s.parse().expect("PAIRS/THREADS is a number"));
    match workload {
        "storm" => {
            let pairs = size.unwrap_or(100);
            let net = compile("storm.yaml", &storm_lab_yaml(pairs));
            // About 200,000 echoes whatever the number of pairs.
            let storm = Storm {
                interval: SimTime::from_millis(1),
                count: (200_000 / pairs as u32).max(1),
            };
            let mut events = 0;
            for _ in 0..reps {
                events += run_storm(&net, storm).0;
            }
            println!("{events} events");
        }
        "checks" => {
            let net = compile("big.yaml", &big_lab_yaml());
            let mut passed = 0;
            for _ in 0..reps {
                passed += wirelab_check::run_checks(&net, size.unwrap_or(1)).passed;
            }
            println!("{passed} passed");
        }
        other => panic!("unknown workload `{other}`: storm or checks"),
    }
}
