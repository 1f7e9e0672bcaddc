//! Times the differential reachability of two labs (`LabDiff::compute`:
//! both labs' full matrices, the structural diff and the attribution):
//! `cargo run --release -p wirelab-analyze --example diff -- OLD.yaml NEW.yaml`.
//! Wall-clock timing is the point of this program.

use std::time::Instant;

use wirelab_analyze::diff::LabDiff;
use wirelab_net::Network;

fn load(path: &str) -> Network {
    match wirelab_spec::load(std::path::Path::new(path)) {
        Ok(l) => Network::compile(&l.lab),
        Err(diags) => {
            for d in diags {
                eprintln!("{d}");
            }
            std::process::exit(2)
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [old, new] = args.as_slice() else {
        eprintln!("usage: diff OLD.yaml NEW.yaml");
        std::process::exit(2)
    };
    let (a, b) = (load(old), load(new));
    let rounds = 200u32;
    let mut flows = 0usize;
    let start = Instant::now();
    for _ in 0..rounds {
        let d = LabDiff::compute(&a, &b);
        flows += d.pairs.iter().map(|p| p.changes.len()).sum::<usize>();
    }
    let per = start.elapsed() / rounds;
    println!(
        "{old} → {new}: {} flow changes; one diff: {per:?} (mean of {rounds})",
        flows / rounds as usize
    );
}
