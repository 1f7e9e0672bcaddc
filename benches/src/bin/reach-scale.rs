//! The issue-7 scale benchmark of the analysis: a generated lab with
//! 2,000 hosts, 200 security groups of 20 rules, 50 networks and 50 NACLs;
//! times the full reachability matrix (every host to every host, every
//! port and protocol, both families where both ends have them), and, for
//! comparison, answering the same questions with simulated checks
//! (extrapolated from a sample). Wall-clock timing is the point here.
//!
//! `cargo run --release -p wirelab-bench --bin reach-scale [-- --write LAB.yaml]`

use std::fmt::Write as _;
use std::time::Instant;

use wirelab_analyze::{Analyzer, Proto};
use wirelab_bench::Gen;
use wirelab_check::{run_exchange, Plan};
use wirelab_net::Network;
use wirelab_sim::{Sim, TraceLevel};
use wirelab_spec::{CheckProto, CheckTarget, Family};

const NETWORKS: usize = 50;
const GROUPS: usize = 200;
const RULES_PER_GROUP: usize = 20;
const ROLES_PER_NETWORK: usize = 4;

const PORTS: [&str; 12] = [
    "22",
    "80",
    "443",
    "5432",
    "3306",
    "6379",
    "8080",
    "8443",
    "9200",
    "1024-2047",
    "53",
    "3000-3999",
];

pub fn generate(hosts_per_network: usize) -> String {
    let mut g = Gen(0x5eed_1ab5);
    let mut y = String::new();
    y.push_str("lab: scale-2000\nseed: 7\nnetworks:\n");
    for i in 0..NETWORKS {
        let v6 = if i % 5 == 0 {
            format!(", ipv6: \"2001:db8:{i:x}::/64\"")
        } else {
            String::new()
        };
        let _ = writeln!(y, "  n{i}: {{ cidr: 10.{i}.0.0/24, nacl: acl{i}{v6} }}");
    }
    y.push_str("  backbone: { cidr: 10.255.0.0/30 }\nrouters:\n");
    for (name, lo, hi, me, peer) in [
        ("core-a", 0, NETWORKS / 2, "10.255.0.1", "10.255.0.2"),
        ("core-b", NETWORKS / 2, NETWORKS, "10.255.0.2", "10.255.0.1"),
    ] {
        let _ = writeln!(y, "  {name}:\n    interfaces:\n      backbone: {me}");
        for i in lo..hi {
            if i % 5 == 0 {
                let _ = writeln!(
                    y,
                    "      n{i}: {{ ip: 10.{i}.0.1, ipv6: \"2001:db8:{i:x}::1\" }}"
                );
            } else {
                let _ = writeln!(y, "      n{i}: 10.{i}.0.1");
            }
        }
        y.push_str("    routes:\n");
        for i in (0..NETWORKS).filter(|i| !(lo..hi).contains(i)) {
            let _ = writeln!(y, "      - {{ to: 10.{i}.0.0/24, via: {peer} }}");
        }
    }
    y.push_str("hosts:\n");
    for i in 0..NETWORKS {
        for k in 0..hosts_per_network {
            let role = k % ROLES_PER_NETWORK;
            let first = (i * ROLES_PER_NETWORK + role) % GROUPS;
            let mut groups = vec![format!("sg{first}")];
            if role % 2 == 1 {
                groups.push(format!("sg{}", (first + 7) % GROUPS));
            }
            let v6 = if i % 5 == 0 {
                format!(", ipv6: \"2001:db8:{i:x}::{:x}\"", k + 10)
            } else {
                String::new()
            };
            let _ = writeln!(
                y,
                "  h{i}-{k}: {{ network: n{i}, ip: 10.{i}.0.{}{v6}, security_groups: [{}] }}",
                k + 10,
                groups.join(", ")
            );
        }
    }
    y.push_str("security_groups:\n");
    for s in 0..GROUPS {
        let _ = writeln!(y, "  sg{s}:\n    inbound:");
        // A third of the groups have no outbound list (everything goes
        // out): all 20 rules are inbound.
        let outbound = if s % 3 == 0 { 0 } else { RULES_PER_GROUP / 4 };
        for r in 0..RULES_PER_GROUP - outbound {
            let peer = match g.below(10) {
                0..=3 => format!("sg{}", g.below(GROUPS)),
                4..=6 => format!("10.{}.0.0/24", g.below(NETWORKS)),
                7 => "10.0.0.0/8".to_string(),
                8 => format!(
                    "10.{}.0.{}/32",
                    g.below(NETWORKS),
                    10 + g.below(hosts_per_network)
                ),
                _ => "\"::/0\"".to_string(),
            };
            let proto = if r % 7 == 6 { "udp" } else { "tcp" };
            let _ = writeln!(
                y,
                "      - {{ proto: {proto}, ports: {}, from: {peer} }}",
                PORTS[g.below(PORTS.len())]
            );
        }
        if s % 3 == 0 {
            continue; // no outbound list: everything goes out
        }
        y.push_str("    outbound:\n");
        for _ in 0..outbound {
            let peer = match g.below(3) {
                0 => format!("sg{}", g.below(GROUPS)),
                1 => "10.0.0.0/8".to_string(),
                _ => "0.0.0.0/0".to_string(),
            };
            let _ = writeln!(
                y,
                "      - {{ proto: tcp, ports: {}, to: {peer} }}",
                PORTS[g.below(PORTS.len())]
            );
        }
    }
    y.push_str("nacls:\n");
    for a in 0..NETWORKS {
        let _ = writeln!(y, "  acl{a}:\n    inbound:");
        let deny = g.below(NETWORKS);
        let _ = writeln!(
            y,
            "      - {{ rule: 10, action: deny, proto: all, cidr: 10.{deny}.0.0/24 }}"
        );
        let _ = writeln!(
            y,
            "      - {{ rule: 20, action: deny, proto: tcp, ports: 3306, cidr: 10.0.0.0/8 }}"
        );
        for (n, p) in [
            (30, "22"),
            (40, "80"),
            (50, "443"),
            (60, "5432"),
            (70, "1024-65535"),
        ] {
            let _ = writeln!(
                y,
                "      - {{ rule: {n}, action: allow, proto: tcp, ports: {p}, cidr: 10.0.0.0/8 }}"
            );
        }
        let _ = writeln!(
            y,
            "      - {{ rule: 80, action: allow, proto: udp, ports: 53, cidr: 10.0.0.0/8 }}"
        );
        let _ = writeln!(y, "      - {{ rule: 90, action: allow, proto: udp, ports: 49152-65535, cidr: 0.0.0.0/0 }}");
        let _ = writeln!(
            y,
            "      - {{ rule: 100, action: allow, proto: all, cidr: \"::/0\" }}"
        );
        y.push_str("    outbound:\n");
        let _ = writeln!(
            y,
            "      - {{ rule: 10, action: deny, proto: tcp, ports: 6379, cidr: 10.{}.0.0/24 }}",
            g.below(NETWORKS)
        );
        let _ = writeln!(
            y,
            "      - {{ rule: 20, action: allow, proto: tcp, cidr: 10.0.0.0/8 }}"
        );
        let _ = writeln!(
            y,
            "      - {{ rule: 30, action: allow, proto: udp, ports: 53, cidr: 10.0.0.0/8 }}"
        );
        let _ = writeln!(y, "      - {{ rule: 40, action: allow, proto: udp, ports: 49152-65535, cidr: 10.0.0.0/8 }}");
        let _ = writeln!(
            y,
            "      - {{ rule: 50, action: allow, proto: icmp, cidr: 10.0.0.0/8 }}"
        );
        let _ = writeln!(
            y,
            "      - {{ rule: 60, action: allow, proto: all, cidr: \"::/0\" }}"
        );
    }
    y
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let hosts_per_network = args
        .iter()
        .position(|a| a == "--hosts-per-network")
        .and_then(|i| args.get(i + 1))
        .map_or(40, |n| n.parse().expect("a number of hosts"));
    let text = generate(hosts_per_network);
    if let Some(i) = args.iter().position(|a| a == "--write") {
        let path = args.get(i + 1).expect("--write FILE");
        std::fs::write(path, &text).expect("write the lab");
    }
    let t = Instant::now();
    let loaded = match wirelab_spec::parse_str("scale-2000.yaml", &text) {
        Ok(l) => l,
        Err(d) => {
            for x in d.iter().take(10) {
                eprintln!("{x}");
            }
            std::process::exit(2)
        }
    };
    let parse = t.elapsed();
    let lab = &loaded.lab;
    let rules: usize = lab
        .security_groups
        .iter()
        .map(|g| g.inbound.len() + g.outbound.as_ref().map_or(0, |o| o.len()))
        .sum();
    let nacl_rules: usize = lab
        .nacls
        .iter()
        .map(|n| n.inbound.len() + n.outbound.len())
        .sum();
    let t = Instant::now();
    let net = Network::compile(lab);
    let compile = t.elapsed();
    println!(
        "lab: {} hosts, {} networks, {} security groups ({rules} rules), {} NACLs ({nacl_rules} rules), {} routers; parse {parse:?}, compile {compile:?}",
        lab.hosts.len(),
        lab.networks.len(),
        lab.security_groups.len(),
        lab.nacls.len(),
        lab.routers.len()
    );

    if args.iter().any(|a| a == "--matrix-only") {
        let t = Instant::now();
        let m = Analyzer::new(&net).matrix();
        println!("matrix: {} classes in {:?}", m.classes.len(), t.elapsed());
        return;
    }
    if args.iter().any(|a| a == "--lint-only") {
        let t = Instant::now();
        let findings = wirelab_analyze::lint::lint(&net);
        println!("lint: {} findings in {:?}", findings.len(), t.elapsed());
        return;
    }

    // Pair by pair, on a sample, extrapolated.
    let an = Analyzer::without_explanations(&net);
    let hosts = lab.hosts.len();
    let sample = 2_000;
    let mut g = Gen(42);
    let t = Instant::now();
    let mut n = 0usize;
    for _ in 0..sample {
        let (a, b) = (g.below(hosts), g.below(hosts));
        if a != b {
            n += usize::from(!an.reach(a, b).reachable(Proto::Tcp).is_empty());
        }
    }
    let per_pair = t.elapsed() / sample as u32;
    let pairs = (hosts * (hosts - 1)) as u32;
    println!(
        "pair by pair: {per_pair:?} per pair ({n} of {sample} sampled pairs reach tcp), so {:?} for the {pairs} pairs",
        per_pair * pairs
    );

    // The full matrix by classes, three times, when it takes under a
    // minute by the pair estimate.
    let (_, classes) = an.host_classes();
    let class_pairs = (classes.len() * classes.len()) as u32;
    println!(
        "{} classes of equivalent hosts, {class_pairs} class pairs: ~{:?} by the per-pair cost of `reach`",
        classes.len(),
        per_pair * class_pairs
    );
    {
        let mut times = Vec::new();
        let mut summary = String::new();
        for _ in 0..3 {
            let t = Instant::now();
            let an = Analyzer::without_explanations(&net);
            let m = an.matrix();
            let reaching = m.reaching_pairs();
            times.push(t.elapsed());
            summary = format!(
                "{} classes of hosts, {} class pairs, {reaching} of {} ordered host pairs reach something",
                m.classes.len(),
                m.classes.len() * m.classes.len(),
                lab.hosts.len() * (lab.hosts.len() - 1)
            );
        }
        println!("matrix by classes: {summary}; times {times:?}");
    }

    // Lint of the same lab.
    let t = Instant::now();
    let findings = wirelab_analyze::lint::lint(&net);
    println!("lint: {} findings in {:?}", findings.len(), t.elapsed());

    // Simulated checks: one exchange per question, on a sample.
    let mut g = Gen(43);
    let mut sim = Sim::new(&net, lab.seed, TraceLevel::Off);
    let questions: u32 = 2_000;
    let t = Instant::now();
    let mut allowed = 0usize;
    for q in 0..questions {
        let (a, b) = (g.below(hosts), g.below(hosts));
        if a == b {
            continue;
        }
        let port = [22u16, 80, 443, 5432][q as usize % 4];
        let Ok(plan) = Plan::new(
            &net,
            a,
            &CheckTarget::Host(b),
            CheckProto::Tcp,
            Some(port),
            Family::Ipv4,
        ) else {
            continue;
        };
        let ex = run_exchange(&mut sim, plan, u64::from(q));
        allowed += usize::from(ex.result.outcome != wirelab_spec::Outcome::Deny);
    }
    let per_question = t.elapsed() / questions;
    // The matrix answers every port of three protocols for every pair; the
    // simulator needs one exchange per (pair, port atom) to say the same.
    // Counted conservatively as one exchange per pair and per port a rule
    // names (the atoms), for TCP alone.
    let atoms = PORTS.len() as u32 * 2 + 4;
    println!(
        "simulated checks: {per_question:?} per exchange ({allowed} of {questions} not denied); the matrix's questions (~{atoms} port atoms × {pairs} pairs, tcp only) would take ~{:?}",
        per_question * pairs * atoms
    );
}
