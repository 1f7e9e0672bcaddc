//! Parse + validate, and compile, of the generated lab of 1,000 hosts,
//! 100 security groups, 20 networks and 1,000 checks.
//!
//! `cargo bench -p wirelab-bench --bench parse`

use std::sync::LazyLock;

use divan::counter::BytesCount;
use divan::Bencher;
use wirelab_bench::big_lab_yaml;
use wirelab_net::Network;

static YAML: LazyLock<String> = LazyLock::new(big_lab_yaml);

fn main() {
    divan::main();
}

#[divan::bench(sample_count = 20, sample_size = 1)]
fn parse_and_validate(bencher: Bencher) {
    let yaml = YAML.as_str();
    bencher
        .counter(BytesCount::of_str(yaml))
        .bench(|| wirelab_spec::parse_str("big.yaml", yaml).expect("the big lab is valid"));
}

#[divan::bench(sample_count = 20, sample_size = 1)]
fn compile(bencher: Bencher) {
    let lab = wirelab_spec::parse_str("big.yaml", &YAML)
        .expect("the big lab is valid")
        .lab;
    bencher.bench(|| Network::compile(&lab));
}

#[divan::bench(sample_count = 20, sample_size = 1)]
fn generate(bencher: Bencher) {
    bencher.bench(big_lab_yaml);
}
