//! wirelab-bench: deterministic lab generators and the workloads that the
//! benchmarks (`benches/`) and the `bench-report` binary measure.
//!
//! Two labs:
//! - [`big_lab_yaml`]: 1,000 hosts on 20 networks behind five routers, 100
//!   security groups (CIDR rules and group references), NACLs on four
//!   networks and 1,000 checks. It measures parse + validate, compile and
//!   checks per second. The expectations are a realistic mix, not a
//!   graded answer: many of them fail, and that is fine, the point is the
//!   work.
//! - [`storm_lab_yaml`]: pairs of hosts on four networks across two
//!   routers, for a ping storm that measures the engine's events per
//!   second.
//!
//! Both are generated from a fixed seed with our own SplitMix64, so the
//! same version of this crate always produces byte-identical YAML.

use std::fmt::Write as _;
use std::net::IpAddr;

use wirelab_net::Network;
use wirelab_sim::{Pinger, Sim, SimTime, TraceLevel};

/// A small deterministic generator (xorshift64*) for the scale binaries'
/// labs, so a lab is the same on every machine.
pub struct Gen(pub u64);

impl Gen {
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number in `0..n`.
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
}

/// Hosts, networks, groups, checks and NACL'd networks of [`big_lab_yaml`].
pub const BIG_HOSTS: usize = 1_000;
pub const BIG_NETWORKS: usize = 20;
pub const BIG_SECURITY_GROUPS: usize = 100;
pub const BIG_CHECKS: usize = 1_000;
/// Networks of the big lab that carry a NACL.
pub const BIG_NACL_NETWORKS: [usize; 4] = [3, 8, 13, 18];
/// Networks behind each edge router of the big lab.
const NETWORKS_PER_EDGE: usize = 5;

/// SplitMix64 (Steele, Lea, Flood 2014): tiny, fast and stable forever,
/// unlike a library RNG whose stream may change between versions.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (the modulo bias is irrelevant here).
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// What the hosts of a security group do; it decides their services and
/// the group's rules.
#[derive(Clone, Copy)]
enum Role {
    Web,
    App,
    Db,
    Dns,
    Cache,
}

fn role_of_group(g: usize) -> Role {
    match g % 5 {
        0 => Role::Web,
        1 => Role::App,
        2 => Role::Db,
        3 => Role::Dns,
        _ => Role::Cache,
    }
}

fn edge_of_network(n: usize) -> usize {
    n / NETWORKS_PER_EDGE
}

fn edge_count() -> usize {
    BIG_NETWORKS.div_ceil(NETWORKS_PER_EDGE)
}

fn host_network(h: usize) -> usize {
    h % BIG_NETWORKS
}

fn host_ip(h: usize) -> String {
    format!("10.{}.0.{}", host_network(h), 10 + h / BIG_NETWORKS)
}

/// The security groups of host `h`: one by role, a second one for every
/// third host (groups are a union).
fn host_groups(h: usize) -> Vec<usize> {
    let first = h % BIG_SECURITY_GROUPS;
    let mut groups = vec![first];
    if h.is_multiple_of(3) {
        let second = (h * 7 + 13) % BIG_SECURITY_GROUPS;
        if second != first {
            groups.push(second);
        }
    }
    groups
}

fn group_name(g: usize) -> String {
    format!("sg-{:03}", g % BIG_SECURITY_GROUPS)
}

/// The lab of 1,000 hosts, 100 security groups, 20 networks and 1,000
/// checks. About 230 KB of YAML.
pub fn big_lab_yaml() -> String {
    let mut y = String::with_capacity(256 * 1024);
    y.push_str("lab: bench-big\n");
    y.push_str("title: Generated lab for the benchmarks\n");
    y.push_str("seed: 42\n");
    y.push_str("defaults:\n  link: { bandwidth: 10Gbps, delay: 50us }\n");
    big_networks(&mut y);
    big_routers(&mut y);
    big_hosts(&mut y);
    big_security_groups(&mut y);
    big_nacls(&mut y);
    big_checks(&mut y);
    y
}

fn big_networks(y: &mut String) {
    y.push_str("\nnetworks:\n");
    for n in 0..BIG_NETWORKS {
        let _ = write!(y, "  net-{n:02}: {{ cidr: 10.{n}.0.0/24");
        if BIG_NACL_NETWORKS.contains(&n) {
            let _ = write!(y, ", nacl: nacl-{n:02}");
        }
        y.push_str(" }\n");
    }
}

/// Edge routers own five networks each and reach the others through a
/// core router over point-to-point links.
fn big_routers(y: &mut String) {
    y.push_str("\nrouters:\n");
    for e in 0..edge_count() {
        let _ = writeln!(y, "  edge-{e}:\n    interfaces:");
        for n in (0..BIG_NETWORKS).filter(|&n| edge_of_network(n) == e) {
            let _ = writeln!(y, "      net-{n:02}: 10.{n}.0.1");
        }
        // The link's first router (the edge) gets .1, the core .2.
        let _ = writeln!(
            y,
            "    routes:\n      - {{ to: 10.0.0.0/8, via: 10.255.{e}.2 }}"
        );
        let _ = writeln!(y, "      - {{ to: 192.0.2.0/24, blackhole: true }}");
    }
    y.push_str("  core:\n    interfaces: {}\n    routes:\n");
    for n in 0..BIG_NETWORKS {
        let _ = writeln!(
            y,
            "      - {{ to: 10.{n}.0.0/24, via: 10.255.{}.1 }}",
            edge_of_network(n)
        );
    }
    y.push_str("\nlinks:\n");
    for e in 0..edge_count() {
        let _ = writeln!(
            y,
            "  - {{ between: [edge-{e}, core], cidr: 10.255.{e}.0/30, delay: 20us }}"
        );
    }
}

fn role_services(role: Role) -> &'static str {
    match role {
        Role::Web => "[{ port: 80, app: http }, { port: 443, app: https }, { port: 22, app: ssh }]",
        Role::App => {
            "[{ port: 8080, app: http }, { port: 22, app: ssh }, { port: 514, proto: udp, app: syslog }]"
        }
        Role::Db => "[{ port: 5432, app: postgres }, { port: 22, app: ssh }]",
        Role::Dns => {
            "[{ port: 53, proto: udp, app: dns }, { port: 53, app: dns }, { port: 22, app: ssh }]"
        }
        Role::Cache => "[{ port: 6379, app: redis }, { port: 22, app: ssh }]",
    }
}

fn big_hosts(y: &mut String) {
    y.push_str("\nhosts:\n");
    for h in 0..BIG_HOSTS {
        let groups = host_groups(h);
        let names: Vec<String> = groups.iter().map(|&g| group_name(g)).collect();
        let _ = writeln!(
            y,
            "  h-{h:04}:\n    network: net-{:02}\n    ip: {}\n    security_groups: [{}]\n    services: {}",
            host_network(h),
            host_ip(h),
            names.join(", "),
            role_services(role_of_group(groups[0])),
        );
    }
}

/// The inbound rules of group `g`: its role's service ports (from CIDRs
/// or from other groups), SSH from one network, ICMP, and for some groups
/// a wide port range.
fn group_inbound(g: usize) -> Vec<String> {
    let peer = |d: usize| group_name(g + BIG_SECURITY_GROUPS - d);
    let mut rules = match role_of_group(g) {
        Role::Web => vec![
            "{ proto: tcp, port: 443, from: 0.0.0.0/0, description: public https }".to_string(),
            "{ proto: tcp, port: 80, from: 10.0.0.0/8 }".to_string(),
        ],
        Role::App => vec![
            format!("{{ proto: tcp, port: 8080, from: {} }}", peer(1)),
            "{ proto: udp, port: 514, from: 10.0.0.0/8 }".to_string(),
        ],
        Role::Db => vec![
            format!("{{ proto: tcp, port: 5432, from: {} }}", peer(1)),
            format!("{{ proto: tcp, port: 5432, from: {} }}", peer(6)),
        ],
        Role::Dns => vec![
            "{ proto: udp, port: 53, from: 10.0.0.0/8 }".to_string(),
            format!("{{ proto: tcp, port: 53, from: 10.{}.0.0/16 }}", g % 20),
        ],
        Role::Cache => vec![format!("{{ proto: tcp, port: 6379, from: {} }}", peer(3))],
    };
    rules.push(format!(
        "{{ proto: tcp, port: 22, from: 10.{}.0.0/24, description: bastion network }}",
        (g * 3) % BIG_NETWORKS
    ));
    if g.is_multiple_of(2) {
        rules.push("{ proto: icmp, from: 10.0.0.0/8 }".to_string());
    } else {
        rules.push(format!(
            "{{ proto: icmp, icmp_type: 8, from: {} }}",
            group_name(g + 1)
        ));
    }
    if g.is_multiple_of(4) {
        rules.push(format!(
            "{{ proto: tcp, ports: 1024-65535, from: 10.{}.0.0/16 }}",
            (g / 4) % BIG_NETWORKS
        ));
    }
    if g.is_multiple_of(7) {
        rules.push("{ proto: all, from: 10.255.0.0/16 }".to_string());
    }
    rules
}

fn big_security_groups(y: &mut String) {
    y.push_str("\nsecurity_groups:\n");
    for g in 0..BIG_SECURITY_GROUPS {
        let _ = writeln!(y, "  {}:\n    inbound:", group_name(g));
        for rule in group_inbound(g) {
            let _ = writeln!(y, "      - {rule}");
        }
        // Every tenth group is locked down outbound: https out and DNS.
        if g % 10 == 9 {
            y.push_str("    outbound:\n");
            y.push_str("      - { proto: tcp, port: 443, to: 0.0.0.0/0 }\n");
            y.push_str("      - { proto: udp, port: 53, to: 10.0.0.0/8 }\n");
            let _ = writeln!(
                y,
                "      - {{ proto: tcp, port: 5432, to: {} }}",
                group_name(g + 3)
            );
        }
    }
}

/// A NACL on network `n`: SSH, postgres from the previous network, DNS,
/// ICMP for half of them, the ephemeral ports both ways, then deny.
fn big_nacls(y: &mut String) {
    y.push_str("\nnacls:\n");
    for &n in &BIG_NACL_NETWORKS {
        let prev = (n + BIG_NETWORKS - 1) % BIG_NETWORKS;
        let _ = writeln!(y, "  nacl-{n:02}:\n    inbound:");
        y.push_str(
            "      - { rule: 100, action: allow, proto: tcp, port: 22, cidr: 10.0.0.0/8 }\n",
        );
        let _ = writeln!(
            y,
            "      - {{ rule: 110, action: allow, proto: tcp, port: 5432, cidr: 10.{prev}.0.0/24 }}"
        );
        y.push_str(
            "      - { rule: 120, action: allow, proto: udp, port: 53, cidr: 10.0.0.0/8 }\n",
        );
        y.push_str(
            "      - { rule: 130, action: allow, proto: tcp, ports: 49152-65535, cidr: 0.0.0.0/0 }\n",
        );
        if n % 2 == 0 {
            y.push_str("      - { rule: 140, action: allow, proto: icmp, cidr: 10.0.0.0/8 }\n");
        }
        y.push_str("      - { rule: 200, action: deny, proto: all, cidr: 0.0.0.0/0 }\n");
        y.push_str("    outbound:\n");
        y.push_str(
            "      - { rule: 100, action: allow, proto: tcp, ports: 1024-65535, cidr: 10.0.0.0/8 }\n",
        );
        y.push_str(
            "      - { rule: 110, action: allow, proto: udp, ports: 1024-65535, cidr: 10.0.0.0/8 }\n",
        );
        y.push_str(
            "      - { rule: 120, action: allow, proto: tcp, port: 443, cidr: 0.0.0.0/0 }\n",
        );
        if n % 2 == 0 {
            y.push_str("      - { rule: 130, action: allow, proto: icmp, cidr: 10.0.0.0/8 }\n");
        }
    }
}

const TCP_PORTS: [u16; 9] = [22, 80, 443, 5432, 8080, 6379, 53, 3306, 25];
const UDP_PORTS: [u16; 4] = [53, 514, 123, 161];

/// 1,000 checks: 60 % tcp, 20 % udp, 20 % icmp; expectations half allow,
/// a third deny, the rest refused; some with a reason, `via`, an address
/// as the target, points and hints.
fn big_checks(y: &mut String) {
    let mut rng = SplitMix64(0x5eed_0000_0000_0001);
    y.push_str("\nchecks:\n");
    for c in 0..BIG_CHECKS {
        let from = rng.below(BIG_HOSTS);
        let to = (from + 1 + rng.below(BIG_HOSTS - 1)) % BIG_HOSTS;
        let (proto, port) = match rng.below(10) {
            0..=5 => ("tcp", Some(*rng.pick(&TCP_PORTS))),
            6..=7 => ("udp", Some(*rng.pick(&UDP_PORTS))),
            _ => ("icmp", None),
        };
        let expect = match rng.below(20) {
            0..=9 => "allow",
            10..=16 => "deny",
            _ => "refused",
        };
        let target = if rng.below(10) == 0 {
            host_ip(to)
        } else {
            format!("h-{to:04}")
        };
        let mut line = format!(
            "  - {{ name: c{c:04} h-{from:04} {proto}/{} to {target}, from: h-{from:04}, to: {target}, proto: {proto}",
            port.map_or("echo".to_string(), |p| p.to_string())
        );
        if let Some(p) = port {
            let _ = write!(line, ", port: {p}");
        }
        let _ = write!(line, ", expect: {expect}");
        if expect == "deny" && rng.below(4) == 0 {
            line.push_str(", reason: sg-inbound");
        }
        let (e_from, e_to) = (
            edge_of_network(host_network(from)),
            edge_of_network(host_network(to)),
        );
        if rng.below(20) == 0 {
            if e_from == e_to {
                let _ = write!(line, ", via: [edge-{e_from}]");
            } else {
                let _ = write!(line, ", via: [edge-{e_from}, core, edge-{e_to}]");
            }
        }
        if rng.below(5) == 0 {
            let _ = write!(line, ", points: {}", 2 + rng.below(3));
        }
        if rng.below(10) == 0 {
            line.push_str(", hint: \"Which security group guards this port?\"");
        }
        line.push_str(" }\n");
        y.push_str(&line);
    }
}

/// Networks of the storm lab: two behind `r1`, two behind `r2`.
const STORM_NETWORKS: [(&str, &str, &str); 4] = [
    ("a0", "10.1.0.0/16", "10.1.0.1"),
    ("a1", "10.2.0.0/16", "10.2.0.1"),
    ("b0", "10.3.0.0/16", "10.3.0.1"),
    ("b1", "10.4.0.0/16", "10.4.0.1"),
];

/// The ping-storm lab: `pairs` clients (`src-N`) on networks a0/a1 behind
/// `r1`, `pairs` servers (`dst-N`) on b0/b1 behind `r2`, the two routers
/// joined by a 10 Gbps link. Every echo crosses three segments and two
/// routers each way, and passes the security groups of both ends (the
/// servers' inbound ICMP rule; the clients' replies by connection
/// tracking).
pub fn storm_lab_yaml(pairs: usize) -> String {
    assert!(
        (1..=30_000).contains(&pairs),
        "the storm lab holds 1 to 30,000 pairs (two /16 per side)"
    );
    let mut y = String::with_capacity(200 + pairs * 200);
    y.push_str("lab: bench-storm\nseed: 1\n");
    y.push_str("defaults:\n  link: { bandwidth: 10Gbps, delay: 10us, queue: 1000 }\n");
    y.push_str("\nnetworks:\n");
    for (name, cidr, _) in STORM_NETWORKS {
        let _ = writeln!(y, "  {name}: {{ cidr: {cidr} }}");
    }
    y.push_str("\nrouters:\n");
    for (router, nets, peer) in [
        ("r1", &STORM_NETWORKS[..2], "10.0.12.2"),
        ("r2", &STORM_NETWORKS[2..], "10.0.12.1"),
    ] {
        let _ = writeln!(y, "  {router}:\n    interfaces:");
        for (name, _, addr) in nets {
            let _ = writeln!(y, "      {name}: {addr}");
        }
        let _ = writeln!(y, "    routes:\n      - {{ to: 10.0.0.0/8, via: {peer} }}");
    }
    y.push_str("\nlinks:\n  - { between: [r1, r2], cidr: 10.0.12.0/30, delay: 50us }\n");
    y.push_str("\nsecurity_groups:\n");
    y.push_str("  client-sg:\n    inbound:\n      - { proto: tcp, port: 22, from: 10.1.0.0/16 }\n");
    y.push_str("  server-sg:\n    inbound:\n      - { proto: icmp, from: 10.0.0.0/8 }\n");
    y.push_str("      - { proto: tcp, port: 443, from: 0.0.0.0/0 }\n");
    y.push_str("\nhosts:\n");
    for i in 0..pairs {
        let _ = writeln!(
            y,
            "  src-{i}: {{ network: {}, security_groups: [client-sg] }}",
            STORM_NETWORKS[i % 2].0
        );
        let _ = writeln!(
            y,
            "  dst-{i}: {{ network: {}, security_groups: [server-sg], services: [{{ port: 443 }}] }}",
            STORM_NETWORKS[2 + i % 2].0
        );
    }
    y
}

/// Parses, validates and compiles a generated lab; panics on a
/// diagnostic, which would be a bug of this crate's generators.
pub fn compile(name: &str, yaml: &str) -> Network {
    let loaded = wirelab_spec::parse_str(name, yaml).unwrap_or_else(|diags| {
        let text: Vec<String> = diags
            .iter()
            .take(10)
            .map(|d| {
                format!(
                    "{}:{}:{}: {}",
                    d.file, d.span.line, d.span.column, d.message
                )
            })
            .collect();
        panic!(
            "the generated lab `{name}` is invalid:\n{}",
            text.join("\n")
        )
    });
    Network::compile(&loaded.lab)
}

/// The ping storm's schedule: each client pings its server every
/// `interval`, `count` times; clients start spread over one interval so
/// the queue holds a realistic mix of times.
#[derive(Clone, Copy, Debug)]
pub struct Storm {
    pub interval: SimTime,
    pub count: u32,
}

impl Storm {
    /// Simulated time by which every echo has been answered.
    pub fn horizon(&self) -> SimTime {
        SimTime(self.interval.as_nanos() * (u64::from(self.count) + 2) + 10_000_000)
    }
}

/// The client and server addresses of every storm pair, in pair order.
pub fn storm_pairs(net: &Network) -> Vec<(usize, IpAddr, IpAddr)> {
    let hosts = &net.lab.hosts;
    let addr = |h: usize| IpAddr::V4(hosts[h].ipv4.expect("storm hosts have IPv4"));
    (0..hosts.len() / 2)
        .map(|i| {
            let (src, dst) = (2 * i, 2 * i + 1);
            debug_assert_eq!(hosts[src].name.value, format!("src-{i}"));
            (net.host_node(src), addr(src), addr(dst))
        })
        .collect()
}

/// Adds the storm's pingers to a fresh `sim`.
pub fn add_storm(sim: &mut Sim<'_>, net: &Network, storm: Storm) {
    let pairs = storm_pairs(net);
    let n = pairs.len() as u64;
    for (i, (node, src, dst)) in pairs.into_iter().enumerate() {
        let start = SimTime(storm.interval.as_nanos() * i as u64 / n);
        sim.add_pinger(
            Pinger::new(node, src, dst, storm.interval, storm.count),
            start,
        );
    }
}

/// Runs the whole storm on a new simulator; returns the events processed
/// and the echo replies received.
pub fn run_storm(net: &Network, storm: Storm) -> (u64, u64) {
    let mut sim = Sim::new(net, 1, TraceLevel::Off);
    add_storm(&mut sim, net, storm);
    assert!(sim.run_until(storm.horizon()), "the event limit was hit");
    let received = sim.pingers().iter().map(|p| u64::from(p.received)).sum();
    (sim.counters.events, received)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_big_lab_is_valid_and_has_the_advertised_size() {
        let net = compile("big.yaml", &big_lab_yaml());
        let lab = &net.lab;
        assert_eq!(lab.hosts.len(), BIG_HOSTS);
        // 20 networks plus the four edge-core links.
        assert_eq!(lab.networks.len(), BIG_NETWORKS + edge_count());
        assert_eq!(lab.security_groups.len(), BIG_SECURITY_GROUPS);
        assert_eq!(lab.nacls.len(), BIG_NACL_NETWORKS.len());
        assert_eq!(lab.checks.len(), BIG_CHECKS);
    }

    #[test]
    fn generators_are_deterministic() {
        assert_eq!(big_lab_yaml(), big_lab_yaml());
        assert_eq!(storm_lab_yaml(7), storm_lab_yaml(7));
    }

    #[test]
    fn every_storm_echo_is_answered() {
        let net = compile("storm.yaml", &storm_lab_yaml(4));
        let storm = Storm {
            interval: SimTime::from_millis(1),
            count: 5,
        };
        let (events, received) = run_storm(&net, storm);
        assert_eq!(received, 4 * 5);
        assert!(events > 4 * 5 * 12, "{events} events");
    }
}
