//! Runs every measurement of docs/benchmarks.md in-process and prints the
//! tables in Markdown, so that the numbers in the doc come from one
//! command:
//!
//! `cargo run --release -p wirelab-bench --bin bench-report [-- --reps N]`
//!
//! (`WIRELAB_BENCH_ONLY=dns` runs only the DNS table, `=http` only the
//! HTTP table.)
//!
//! Each measurement runs `reps` times (default 5) with `Instant`; the
//! tables give the best and the median run. The wall clock is read only
//! here, never inside the simulation.

use std::alloc::System;
use std::time::{Duration, Instant};

use stats_alloc::{Region, StatsAlloc, INSTRUMENTED_SYSTEM};
use wirelab_bench::{add_storm, big_lab_yaml, compile, run_storm, storm_lab_yaml, Storm};
use wirelab_net::Network;
use wirelab_sim::http_apps::Speech;
use wirelab_sim::{Sim, SimTime, TraceLevel};
use wirelab_spec::TlsVersion;

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

const EVENTS_PER_S_TARGET: f64 = 5_000_000.0;
const CHECKS_PER_S_TARGET: f64 = 20_000.0;
const PARSE_MS_TARGET: f64 = 100.0;

/// The storms measured: (pairs, echoes per pair), about 2.6 M events each.
const STORMS: [(usize, u32); 3] = [(10, 20_000), (100, 2_000), (1_000, 200)];
const STORM_INTERVAL: SimTime = SimTime::from_millis(1);

fn main() {
    let reps = parse_reps();
    print_machine(reps);
    match std::env::var("WIRELAB_BENCH_ONLY").as_deref() {
        Ok("dns") => {
            dns_table(reps);
            return;
        }
        Ok("http") => {
            http_table(reps);
            return;
        }
        _ => {}
    }
    let yaml = big_lab_yaml();
    parse_table(&yaml, reps);
    engine_table(reps);
    steady_state_allocations();
    let net = compile("big.yaml", &yaml);
    checks_table(&net, reps);
    dns_table(reps);
    http_table(reps);
}

fn parse_reps() -> usize {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [] => 5,
        [flag, n] if flag == "--reps" => n
            .parse()
            .ok()
            .filter(|&n| (1..=100).contains(&n))
            .expect("--reps takes a number from 1 to 100"),
        _ => panic!("usage: bench-report [--reps N]"),
    }
}

/// Best and median of `reps` timed runs of `f`, and `f`'s last result.
fn time<T>(reps: usize, mut f: impl FnMut() -> T) -> (Duration, Duration, T) {
    let mut walls = Vec::with_capacity(reps);
    let mut last = None;
    for _ in 0..reps {
        let start = Instant::now();
        let out = std::hint::black_box(f());
        walls.push(start.elapsed());
        last = Some(out);
    }
    walls.sort();
    (walls[0], walls[reps / 2], last.expect("reps >= 1"))
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn per_s(n: u64, d: Duration) -> f64 {
    n as f64 / d.as_secs_f64()
}

/// 1234567.8 -> "1,234,568".
fn thousands(x: f64) -> String {
    let digits = format!("{:.0}", x.max(0.0));
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn verdict(met: bool) -> &'static str {
    if met {
        "met"
    } else {
        "**missed**"
    }
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

fn print_machine(reps: usize) {
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, m)| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown".to_string());
    let rustc = std::process::Command::new("rustc")
        .arg("--version")
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|| "unknown".to_string());
    let profile = if cfg!(debug_assertions) {
        "debug (numbers are meaningless: use --release)"
    } else {
        "release"
    };
    println!("## Machine\n");
    println!("- CPU: {model}, {} cores available", cores());
    println!("- {rustc}; profile: {profile}");
    // Other processes on a 2-core machine skew the all-cores numbers most:
    // say how busy the machine was when the run started.
    let load = std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".to_string());
    println!("- load average at start (1, 5, 15 min): {load}");
    println!("- {reps} runs per measurement; best and median wall time\n");
}

fn parse_table(yaml: &str, reps: usize) {
    let (p_best, p_med, loaded) = time(reps, || {
        wirelab_spec::parse_str("big.yaml", yaml).expect("the big lab is valid")
    });
    let lab = loaded.lab;
    let (c_best, c_med, _) = time(reps, || Network::compile(&lab));
    println!("## Parse + validate, compile (1,000 hosts, 100 groups, 20 networks, 1,000 checks)\n");
    println!(
        "YAML: {} bytes, {} lines; {} warnings.\n",
        thousands(yaml.len() as f64),
        thousands(yaml.lines().count() as f64),
        loaded.warnings.len()
    );
    println!("| step | best ms | median ms | target | |");
    println!("|---|---:|---:|---:|---|");
    println!(
        "| parse + validate | {:.1} | {:.1} | < {PARSE_MS_TARGET:.0} ms | {} |",
        ms(p_best),
        ms(p_med),
        verdict(ms(p_med) < PARSE_MS_TARGET)
    );
    println!(
        "| compile (`Network::compile`) | {:.1} | {:.1} | | |\n",
        ms(c_best),
        ms(c_med)
    );
}

fn engine_table(reps: usize) {
    println!("## Engine: ping storm (`TraceLevel::Off`, 1 ms interval, two routers per path)\n");
    println!("| pairs | echoes | replies | events | best wall ms | median wall ms | events/s (best) | events/s (median) | target 5 M/s |");
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---|");
    for (pairs, count) in STORMS {
        let net = compile("storm.yaml", &storm_lab_yaml(pairs));
        let storm = Storm {
            interval: STORM_INTERVAL,
            count,
        };
        let (best, med, (events, replies)) = time(reps, || run_storm(&net, storm));
        let median_rate = per_s(events, med);
        println!(
            "| {pairs} | {} | {} | {} | {:.1} | {:.1} | {} | {} | {} |",
            thousands(pairs as f64 * f64::from(count)),
            thousands(replies as f64),
            thousands(events as f64),
            ms(best),
            ms(med),
            thousands(per_s(events, best)),
            thousands(median_rate),
            verdict(median_rate >= EVENTS_PER_S_TARGET)
        );
    }
    println!();
}

/// Allocations after a warm-up (neighbours resolved, queue and packet
/// slab grown) until the storm ends: the engine's steady state.
fn steady_state_allocations() {
    let pairs = 100;
    let net = compile("storm.yaml", &storm_lab_yaml(pairs));
    let storm = Storm {
        interval: STORM_INTERVAL,
        count: 2_000,
    };
    let mut sim = Sim::new(&net, 1, TraceLevel::Off);
    add_storm(&mut sim, &net, storm);
    sim.run_until(SimTime::from_millis(50));
    let events_before = sim.counters.events;
    let region = Region::new(GLOBAL);
    sim.run_until(storm.horizon());
    let change = region.change();
    let events = sim.counters.events - events_before;
    println!("## Engine: heap allocations in the steady state\n");
    println!("{pairs} pairs, after a 50 ms warm-up, until the storm ends:\n");
    println!("| events | allocations | reallocations | bytes allocated | allocations per event |");
    println!("|---:|---:|---:|---:|---:|");
    println!(
        "| {} | {} | {} | {} | {:.6} |\n",
        thousands(events as f64),
        change.allocations,
        change.reallocations,
        change.bytes_allocated,
        change.allocations as f64 / events.max(1) as f64
    );
}

fn checks_table(net: &Network, reps: usize) {
    let n = net.lab.checks.len() as u64;
    println!("## Checks (1,000 checks on the same lab, `run_checks`)\n");
    println!("| threads | checks | passed | best wall ms | median wall ms | checks/s (best) | checks/s (median) | target 20,000/s |");
    println!("|---:|---:|---:|---:|---:|---:|---:|---|");
    let mut threads = vec![1];
    if cores() > 1 {
        threads.push(cores());
    }
    for t in threads {
        let (best, med, report) = time(reps, || wirelab_check::run_checks(net, t));
        let median_rate = per_s(n, med);
        println!(
            "| {t} | {} | {} | {:.1} | {:.1} | {} | {} | {} |",
            thousands(n as f64),
            thousands(report.passed as f64),
            ms(best),
            ms(med),
            thousands(per_s(n, best)),
            thousands(median_rate),
            verdict(median_rate >= CHECKS_PER_S_TARGET)
        );
    }
    println!();
}

/// Lookups of lab 07 (stub → resolver → root → `com.` → `example.com.`)
/// per wall-clock second: cold, each from a fresh network (every lookup
/// walks from the root: four queries and answers through two routers,
/// with ARP), and warm, all in one simulation after a first lookup filled
/// the resolver's cache (one query and its answer).
fn dns_table(reps: usize) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../labs/07-what-happens-when-you-type-a-url.yaml");
    let lab = wirelab_spec::load(&path).expect("lab 07 loads").lab;
    let net = Network::compile(&lab);
    let laptop = net
        .lab
        .hosts
        .iter()
        .position(|h| h.name.value == "laptop")
        .expect("lab 07 has a laptop");
    let names: Vec<wirelab_dns::proto::rr::Name> = [
        "shop.example.com.",
        "www.example.com.",
        "nosuch.example.com.",
        "example.com.",
    ]
    .iter()
    .map(|n| wirelab_dns::proto::rr::Name::from_ascii(n).unwrap())
    .collect();
    let a = wirelab_dns::proto::rr::RecordType::A;
    const LOOKUPS: usize = 2_000;
    println!("## DNS in the simulator (lab 07, lookups by the laptop's stub)\n");
    println!("| cache | lookups | events per lookup | best wall ms | median wall ms | lookups/s (best) | lookups/s (median) |");
    println!("|---|---:|---:|---:|---:|---:|---:|");
    let mut sim = Sim::new(&net, 1, TraceLevel::Off);
    let (best, med, events) = time(reps, || {
        let mut events = 0;
        for i in 0..LOOKUPS {
            sim.reset(i as u64);
            let id = sim.start_lookup(laptop, names[i % names.len()].clone(), a);
            sim.run_while(SimTime::from_secs(60), |s| {
                s.lookups()[id].outcome.is_some()
            });
            assert!(sim.lookups()[id].outcome.is_some());
            events += sim.counters.events;
        }
        events
    });
    row("cold (fresh network each)", LOOKUPS, events, best, med);
    let (best, med, events) = time(reps, || {
        sim.reset(1);
        for name in &names {
            let id = sim.start_lookup(laptop, name.clone(), a);
            sim.run_while(SimTime::from_secs(60), |s| {
                s.lookups()[id].outcome.is_some()
            });
        }
        let before = sim.counters.events;
        for i in 0..LOOKUPS {
            let id = sim.start_lookup(laptop, names[i % names.len()].clone(), a);
            let until = sim.now() + SimTime::from_secs(60);
            sim.run_while(until, |s| s.lookups()[id].outcome.is_some());
            assert!(sim.lookups()[id].walk.is_empty(), "answered from the cache");
        }
        sim.counters.events - before
    });
    row("warm (one network, cached)", LOOKUPS, events, best, med);
    println!();
}

fn row(what: &str, lookups: usize, events: u64, best: Duration, med: Duration) {
    let n = lookups as u64;
    println!(
        "| {what} | {} | {:.0} | {:.1} | {:.1} | {} | {} |",
        thousands(n as f64),
        events as f64 / n as f64,
        ms(best),
        ms(med),
        thousands(per_s(n, best)),
        thousands(per_s(n, med)),
    );
}

/// A three-tier lab for the HTTP table: a laptop on the internet; nginx
/// in a public subnet serving https (TLS 1.3, a trusted certificate) and
/// forwarding to app:8000, which asks db:5432; and a plain http server
/// that answers itself. Security groups on every server, as a VPC has.
const HTTP_LAB: &str = r#"
lab: http-bench
networks:
  internet: { cidr: 198.51.100.0/24, link: { delay: 10ms } }
  public: { cidr: 10.0.1.0/24 }
  private: { cidr: 10.0.2.0/24 }
routers:
  igw: { interfaces: { internet: 198.51.100.1, public: 10.0.1.1, private: 10.0.2.1 } }
hosts:
  laptop: { network: internet, ip: 198.51.100.20 }
  nginx:
    network: public
    ip: 10.0.1.10
    security_groups: [web-sg]
    services: [{ port: 443, app: https, tls: { certificate: shop }, upstream: "app:8000" }]
  static: { network: public, ip: 10.0.1.11, security_groups: [web-sg], services: [{ port: 80, app: http, response: { text: "hello" } }] }
  app: { network: private, ip: 10.0.2.10, security_groups: [app-sg], services: [{ port: 8000, app: http, upstream: "db:5432", delay: 5ms }] }
  db: { network: private, ip: 10.0.2.20, security_groups: [db-sg], services: [{ port: 5432, app: postgres }] }
security_groups:
  web-sg: { inbound: [{ proto: tcp, port: 80, from: 0.0.0.0/0 }, { proto: tcp, port: 443, from: 0.0.0.0/0 }] }
  app-sg: { inbound: [{ proto: tcp, port: 8000, from: web-sg }] }
  db-sg: { inbound: [{ proto: tcp, port: 5432, from: app-sg }] }
tls:
  date: 2026-11-30
  authorities: { public-ca: {} }
  certificates: { shop: { names: [shop.example.com], issuer: public-ca } }
  trusted: [public-ca]
"#;

/// One request of the HTTP table: where to and how.
struct HttpCase {
    what: &'static str,
    dst: std::net::IpAddr,
    port: u16,
    speech: Speech,
    /// The status that must come back (it proves the chain was walked).
    status: u16,
}

/// Simulated HTTP requests per wall-clock second (the issue's "simulated
/// HTTP requests per second through a three-tier chain"), made with
/// `Sim::start_http` as an `http` check makes them once the name is known
/// (no DNS here: the DNS table measures lookups). Fresh: each request in a
/// fresh network (`Sim::reset`: ARP included); one network: sequential
/// requests in one simulation (neighbours known, each request a new
/// connection, as curl makes it).
fn http_table(reps: usize) {
    let net = compile("http-bench.yaml", HTTP_LAB);
    let laptop = net
        .lab
        .host_by_name("laptop")
        .expect("the lab has a laptop");
    let cases = [
        HttpCase {
            what: "(a) http, the server answers itself",
            dst: "10.0.1.11".parse().unwrap(),
            port: 80,
            speech: Speech::Http,
            status: 200,
        },
        HttpCase {
            what: "(b) https, nginx → app → db",
            dst: "10.0.1.10".parse().unwrap(),
            port: 443,
            speech: Speech::Https(TlsVersion::V1_3),
            status: 200,
        },
    ];
    const REQUESTS: usize = 2_000;
    println!("## HTTP in the simulator (a laptop's requests, no DNS)\n");
    println!("| request | network | requests | events per request | best wall ms | median wall ms | requests/s (best) | requests/s (median) |");
    println!("|---|---|---:|---:|---:|---:|---:|---:|");
    let mut sim = Sim::new(&net, 1, TraceLevel::Off);
    for case in &cases {
        let (best, med, events) = time(reps, || {
            let mut events = 0;
            for i in 0..REQUESTS {
                sim.reset(i as u64);
                http_request(&mut sim, laptop, case);
                events += sim.counters.events;
            }
            events
        });
        http_row(case.what, "fresh each", events, best, med, REQUESTS);
        // Two lengths: if a request's cost grew with the requests before
        // it in the same network, the longer run would be slower per
        // request.
        for requests in [REQUESTS / 4, REQUESTS] {
            let (best, med, events) = time(reps, || {
                sim.reset(1);
                // A first request learns the neighbours; the rest are
                // measured.
                http_request(&mut sim, laptop, case);
                let before = sim.counters.events;
                for _ in 0..requests {
                    http_request(&mut sim, laptop, case);
                }
                sim.counters.events - before
            });
            http_row(case.what, "one, sequential", events, best, med, requests);
        }
    }
    println!();
}

/// One request from `laptop`, run to its end; panics unless it got
/// `case.status`.
fn http_request(sim: &mut Sim<'_>, laptop: usize, case: &HttpCase) {
    let id = sim.start_http(
        laptop,
        case.dst,
        case.port,
        case.speech,
        "shop.example.com",
        "/",
    );
    let until = sim.now() + SimTime::from_secs(30);
    sim.run_while(until, |s| s.http_exchange(id).result.is_some());
    match &sim.http_exchange(id).result {
        Some(Ok(r)) if r.status == case.status => {}
        other => panic!("{}: {other:?}", case.what),
    }
}

fn http_row(
    what: &str,
    network: &str,
    events: u64,
    best: Duration,
    med: Duration,
    requests: usize,
) {
    let n = requests as u64;
    println!(
        "| {what} | {network} | {} | {:.0} | {:.1} | {:.1} | {} | {} |",
        thousands(n as f64),
        events as f64 / n as f64,
        ms(best),
        ms(med),
        thousands(per_s(n, best)),
        thousands(per_s(n, med)),
    );
}
