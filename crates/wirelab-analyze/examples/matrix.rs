//! Times the whole reachability matrix of a lab (every ordered pair of
//! hosts, both families, every protocol): `cargo run --release -p
//! wirelab-analyze --example matrix -- labs/03-vpc-security.yaml`.
//! Wall-clock timing is the point of this program.

use std::time::Instant;

use wirelab_analyze::{Analyzer, Proto};
use wirelab_net::Network;

fn main() {
    let path = std::env::args().nth(1).unwrap_or_else(|| {
        eprintln!("usage: matrix LAB.yaml");
        std::process::exit(2)
    });
    let loaded = match wirelab_spec::load(std::path::Path::new(&path)) {
        Ok(l) => l,
        Err(diags) => {
            for d in diags {
                eprintln!("{d}");
            }
            std::process::exit(2)
        }
    };
    let net = Network::compile(&loaded.lab);
    let hosts = loaded.lab.hosts.len();
    let rounds = 200;
    let mut reachable = 0usize;
    let start = Instant::now();
    for _ in 0..rounds {
        let an = Analyzer::new(&net);
        for a in 0..hosts {
            for b in 0..hosts {
                if a != b {
                    let r = an.reach(a, b);
                    reachable += usize::from(!r.reachable(Proto::Tcp).is_empty());
                }
            }
        }
    }
    let per = start.elapsed() / rounds;
    println!(
        "{path}: {hosts} hosts, {} pairs, {} tcp-reachable pairs; one full matrix: {per:?} (mean of {rounds})",
        hosts * (hosts - 1),
        reachable / rounds as usize
    );
}
