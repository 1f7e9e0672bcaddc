//! `cargo run -p wirelab-spec --example check -- LAB...`: prints the
//! diagnostics of each lab (a development aid; the CLI is `wirelab check`).

fn main() {
    for path in std::env::args().skip(1) {
        let started = std::time::Instant::now();
        let result = wirelab_spec::load(std::path::Path::new(&path));
        eprintln!("{path}: {:?}", started.elapsed());
        match result {
            Ok(loaded) => {
                for warning in &loaded.warnings {
                    println!("{warning}");
                }
                println!(
                    "{path}: ok ({} hosts, {} checks)",
                    loaded.lab.hosts.len(),
                    loaded.lab.checks.len()
                );
            }
            Err(diagnostics) => {
                for diagnostic in &diagnostics {
                    println!("{diagnostic}");
                }
            }
        }
    }
}
