//! `wirelab reach` and the analysis behind it: agreement with the
//! simulator on every example lab, and the command's output and exit
//! statuses.

mod common;
use common::{root, wirelab};

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::path::PathBuf;

use proptest::prelude::*;
use wirelab_analyze::{Analyzer, Block, Leg, Proto};
use wirelab_check::{run_exchange, Plan};
use wirelab_net::Network;
use wirelab_sim::{Sim, TraceLevel};
use wirelab_spec::{CheckProto, CheckTarget, Outcome, TransportProto};

fn labs() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(root().join("labs"))
        .expect("labs/")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    v.sort();
    v
}

/// Every port a rule names (both ends of each range), every service port,
/// and a few usual ones.
fn ports_of(lab: &wirelab_spec::Lab) -> BTreeSet<u16> {
    let mut ports: BTreeSet<u16> = [1, 22, 80, 443, 5432, 65535].into_iter().collect();
    let mut add = |r: Option<wirelab_spec::PortRange>| {
        if let Some(r) = r {
            ports.insert(r.first);
            ports.insert(r.last);
        }
    };
    for g in &lab.security_groups {
        for r in g.inbound.iter().chain(g.outbound.iter().flatten()) {
            add(r.ports);
        }
    }
    for n in &lab.nacls {
        for r in n.inbound.iter().chain(&n.outbound) {
            add(r.ports);
        }
    }
    for h in &lab.hosts {
        ports.extend(h.services.iter().map(|s| s.port));
    }
    ports
}

/// The analysis and the simulator agree, for every example lab, every
/// ordered pair of hosts, both families, TCP and UDP on every port of
/// `ports_of` and ping. "Reachable" at the network level: TCP — the
/// simulator's `allow` (handshake) or `refused` (a reset from a closed
/// port came back) ⇔ the analysis' `reachable`. UDP to a listening port —
/// the simulator decides `allow` on delivery ⇔ the analysis' `delivered`;
/// UDP to a closed port — `refused` (the port unreachable came back)
/// implies `delivered` (the ICMP error's own return path is not analysed).
/// ICMP — the ping's `allow` ⇔ the analysis' echo.
#[test]
fn the_analysis_agrees_with_the_simulator_on_every_example_lab() {
    let mut compared = 0usize;
    let mut disagreements = Vec::new();
    for path in labs() {
        let loaded = wirelab_spec::load(&path).expect("example labs are valid");
        // The analysis does not model NAT and says so in its output (see
        // `nat_cli::reach_lint_and_diff_say_they_do_not_analyse_nat`).
        if loaded.lab.routers.iter().any(|r| !r.nat.is_empty()) {
            continue;
        }
        let ports = ports_of(&loaded.lab);
        compared += compare(
            &path.display().to_string(),
            &loaded.lab,
            &ports,
            false,
            &mut disagreements,
        );
    }
    eprintln!("compared {compared} exchanges");
    assert!(compared > 1000, "only {compared} exchanges compared");
    assert!(
        disagreements.is_empty(),
        "{} disagreements:\n{}",
        disagreements.len(),
        disagreements.join("\n")
    );
}

/// Compares the analysis with the simulator on every ordered pair of
/// hosts of `lab` (the mapping is described above); returns how many
/// exchanges were compared. With `skip_partial`, a protocol whose reply
/// NACLs let back only part of the ephemeral range is not compared: the
/// simulator's one source port decides it by the seed.
fn compare(
    name: &str,
    lab: &wirelab_spec::Lab,
    ports: &BTreeSet<u16>,
    skip_partial: bool,
    disagreements: &mut Vec<String>,
) -> usize {
    let mut compared = 0usize;
    let net = Network::compile(lab);
    // With dynamic routing the analysis sees the settled tables, which is
    // when the simulator's exchanges start.
    let settled = wirelab_sim::routing_apps::settled_network(&net);
    let analyzer = Analyzer::new(settled.as_ref().unwrap_or(&net));
    let mut sim = Sim::new(&net, lab.seed, TraceLevel::Off);
    let mut one = Comparison {
        name,
        net: &net,
        sim: &mut sim,
        seed: lab.seed,
        ports,
        skip_partial,
        disagreements,
    };
    for from in 0..lab.hosts.len() {
        for to in 0..lab.hosts.len() {
            if from == to {
                continue;
            }
            let reach = analyzer.reach(from, to);
            let listening = |port| net.service(to, TransportProto::Udp, port).is_some();
            for fam in &reach.families {
                let target = CheckTarget::Host(to);
                compared += one.family(from, &target, &lab.hosts[to].name.value, fam, &listening);
            }
        }
        // Every address of every router: routers listen on nothing.
        for node in net.nodes.iter().filter(|n| n.is_router()) {
            for &i in &node.ifaces {
                let iface = &net.ifaces[i];
                for addr in [iface.ipv4.map(IpAddr::V4), iface.ipv6.map(IpAddr::V6)]
                    .into_iter()
                    .flatten()
                {
                    let Some(fam) = analyzer.reach_address(from, addr) else {
                        continue;
                    };
                    let label = format!("{} {addr}", node.name);
                    let target = CheckTarget::Address(addr);
                    compared += one.family(from, &target, &label, &fam, &|_| false);
                }
            }
        }
    }
    compared
}

/// One family of one pair, the analysis against simulated probes.
struct Comparison<'a, 'n> {
    name: &'a str,
    net: &'n Network,
    sim: &'a mut Sim<'n>,
    seed: u64,
    ports: &'a BTreeSet<u16>,
    skip_partial: bool,
    disagreements: &'a mut Vec<String>,
}

impl Comparison<'_, '_> {
    /// A ping, TCP and UDP on every port; returns the probes compared.
    fn family(
        &mut self,
        from: usize,
        target: &CheckTarget,
        to_name: &str,
        fam: &wirelab_analyze::FamilyReach,
        listening: &dyn Fn(u16) -> bool,
    ) -> usize {
        let family = fam.family;
        let proto_of = |p: Proto| {
            fam.protos
                .iter()
                .find(|x| x.proto == p)
                .expect("every protocol is analysed")
        };
        let skip_partial = self.skip_partial;
        let partial = |p: Proto| {
            skip_partial
                && proto_of(p).blocks.iter().any(|b| {
                    matches!(b, Block::Nacl { leg: Leg::Reply, ports, .. }
                        if ports.len() < 16384)
                })
        };
        let from_name = self.net.lab.hosts[from].name.value.clone();
        let mut compared = 0;
        let probe = |this: &mut Self, proto: CheckProto, port: Option<u16>| {
            let plan = Plan::new(this.net, from, target, proto, port, family)
                .expect("both ends have the family");
            run_exchange(this.sim, plan, this.seed).result
        };
        let differ = |this: &mut Self, what: String, sim: &wirelab_sim::ProbeResult, ours: bool| {
            this.disagreements.push(format!(
                "{}: {from_name} → {to_name} {} {what}: simulator {} ({}), analysis {}",
                this.name,
                family.code(),
                sim.outcome.code(),
                sim.reason.code(),
                if ours { "reachable" } else { "blocked" }
            ))
        };
        let ping = probe(self, CheckProto::Icmp, None);
        let ours = !proto_of(Proto::Icmp).reachable.is_empty();
        compared += 1;
        if (ping.outcome == Outcome::Allow) != ours {
            differ(self, "ping".into(), &ping, ours);
        }
        for &port in self.ports.clone().iter() {
            if !partial(Proto::Tcp) {
                let tcp = probe(self, CheckProto::Tcp, Some(port));
                let ours = proto_of(Proto::Tcp).reachable.contains(port);
                let theirs = matches!(tcp.outcome, Outcome::Allow | Outcome::Refused);
                compared += 1;
                if theirs != ours {
                    differ(self, format!("tcp {port}"), &tcp, ours);
                }
            }
            let udp = probe(self, CheckProto::Udp, Some(port));
            let ours = proto_of(Proto::Udp).delivered.contains(port);
            compared += 1;
            let agree = if listening(port) {
                (udp.outcome == Outcome::Allow) == ours
            } else {
                udp.outcome != Outcome::Refused || ours
            };
            if !agree {
                differ(self, format!("udp {port}"), &udp, ours);
            }
        }
        compared
    }
}

/// A random small lab: three networks on one router (sometimes a
/// blackhole route), four hosts, two security groups and a NACL, with
/// rules drawn from a few protocols, port ranges and peers.
/// An ICMP rule's type and code, picked by the port choice the generator
/// drew (so that TCP/UDP and ICMP rules share one strategy): echo request
/// with or without its code, echo reply, every "destination unreachable",
/// only "fragmentation needed", or every type.
fn icmp_narrowing(ports: &str) -> &'static str {
    match ports {
        "22" => ", icmp_type: 8",
        "80" => ", icmp_type: 8, icmp_code: 0",
        "53" => ", icmp_type: 0",
        "1-1023" => ", icmp_type: 3",
        "49152-65535" => ", icmp_type: 3, icmp_code: 4",
        _ => "",
    }
}

/// A drawn security-group rule: protocol, ports (or the ICMP choice, see
/// [`icmp_narrowing`]) and peer.
type SgDraw = (&'static str, &'static str, &'static str);
/// A drawn NACL rule: allow, protocol, ports (or ICMP choice) and CIDR.
type NaclDraw = (bool, &'static str, &'static str, &'static str);

/// `, ports: P` for TCP and UDP, the type and code for ICMP, else nothing.
fn narrowing(proto: &str, ports: &str) -> String {
    match proto {
        "tcp" | "udp" => format!(", ports: {ports}"),
        "icmp" => icmp_narrowing(ports).to_string(),
        _ => String::new(),
    }
}

/// `security_groups:` with groups `sg0`, `sg1`, … (inbound rules, and an
/// outbound list when drawn).
fn write_groups(y: &mut String, groups: &[(Vec<SgDraw>, Option<Vec<SgDraw>>)]) {
    let rule = |(proto, ports, peer): &SgDraw, dir: &str| {
        format!(
            "      - {{ proto: {proto}{}, {dir}: {peer} }}\n",
            narrowing(proto, ports)
        )
    };
    y.push_str("security_groups:\n");
    for (g, (inbound, outbound)) in groups.iter().enumerate() {
        y.push_str(&format!("  sg{g}:\n    inbound:"));
        y.push_str(if inbound.is_empty() { " []\n" } else { "\n" });
        for r in inbound {
            y.push_str(&rule(r, "from"));
        }
        if let Some(out) = outbound {
            y.push_str("    outbound:");
            y.push_str(if out.is_empty() { " []\n" } else { "\n" });
            for r in out {
                y.push_str(&rule(r, "to"));
            }
        }
    }
}

/// One NACL under `nacls:`, its rules numbered 10, 20, … in order.
fn write_nacl(y: &mut String, name: &str, inbound: &[NaclDraw], outbound: &[NaclDraw]) {
    let rule = |k: usize, (allow, proto, ports, cidr): &NaclDraw| {
        let action = if *allow { "allow" } else { "deny" };
        format!(
            "      - {{ rule: {}, action: {action}, proto: {proto}{}, cidr: {cidr} }}\n",
            (k + 1) * 10,
            narrowing(proto, ports)
        )
    };
    for (list, rules) in [("inbound", inbound), ("outbound", outbound)] {
        if list == "inbound" {
            y.push_str(&format!("  {name}:\n"));
        }
        y.push_str(&format!("    {list}:"));
        y.push_str(if rules.is_empty() { " []\n" } else { "\n" });
        for (k, r) in rules.iter().enumerate() {
            y.push_str(&rule(k, r));
        }
    }
}

fn random_lab() -> impl Strategy<Value = String> {
    let proto = prop_oneof![Just("tcp"), Just("udp"), Just("icmp"), Just("all")];
    let ports = prop_oneof![
        Just("22"),
        Just("80"),
        Just("1-1023"),
        Just("53"),
        Just("49152-65535"),
        Just("50000-65535"),
        Just("0-65535"),
    ];
    let peer = prop_oneof![
        Just("0.0.0.0/0"),
        Just("10.0.0.0/16"),
        Just("10.0.1.0/24"),
        Just("10.0.2.0/24"),
        Just("10.0.0.10/32"),
        Just("sg0"),
        Just("sg1"),
    ];
    let sg_rule = (proto.clone(), ports.clone(), peer.clone());
    let cidr = prop_oneof![
        Just("0.0.0.0/0"),
        Just("10.0.0.0/16"),
        Just("10.0.1.0/24"),
        Just("10.0.0.10/32")
    ];
    let nacl_rule = (any::<bool>(), proto, ports, cidr);
    let host = (
        0usize..3,
        prop::sample::subsequence(vec![0usize, 1], 0..=2),
        prop::sample::subsequence(vec![22u16, 53, 80], 0..=3),
    );
    (
        prop::collection::vec(host, 4),
        prop::collection::vec(
            (
                prop::collection::vec(sg_rule.clone(), 0..3),
                prop::option::of(prop::collection::vec(sg_rule, 0..3)),
            ),
            2,
        ),
        (
            prop::collection::vec(nacl_rule.clone(), 0..4),
            prop::collection::vec(nacl_rule, 0..4),
            prop::sample::subsequence(vec![0usize, 1, 2], 0..=3),
        ),
        any::<bool>(),
    )
        .prop_map(|(hosts, sgs, (nin, nout, with_nacl), blackhole)| {
            let mut y = String::from("lab: random\nseed: 7\nnetworks:\n");
            for n in 0..3 {
                let nacl = if with_nacl.contains(&n) { ", nacl: nacl0" } else { "" };
                y.push_str(&format!("  n{n}: {{ cidr: 10.0.{n}.0/24{nacl} }}\n"));
            }
            y.push_str("routers:\n  r1:\n    interfaces:\n");
            for n in 0..3 {
                y.push_str(&format!("      n{n}: 10.0.{n}.1\n"));
            }
            if blackhole {
                y.push_str("    routes:\n      - { to: 10.0.2.128/25, blackhole: true }\n");
            }
            y.push_str("hosts:\n");
            for (i, (net, groups, services)) in hosts.iter().enumerate() {
                let groups: Vec<String> = groups.iter().map(|g| format!("sg{g}")).collect();
                let services: Vec<String> = services
                    .iter()
                    .map(|&p| match p {
                        53 => "{ port: 53, proto: udp }".to_string(),
                        p => format!("{{ port: {p} }}"),
                    })
                    .collect();
                // .10 and .130 of a network: the second is behind the
                // blackhole on n2.
                let ip = format!("10.0.{net}.{}", if i % 2 == 0 { 10 + i } else { 130 + i });
                y.push_str(&format!(
                    "  h{i}: {{ network: n{net}, ip: {ip}, security_groups: [{}], services: [{}] }}\n",
                    groups.join(", "),
                    services.join(", ")
                ));
            }
            write_groups(&mut y, &sgs);
            y.push_str("nacls:\n");
            write_nacl(&mut y, "nacl0", &nin, &nout);
            y
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// The same agreement on random small labs.
    #[test]
    fn the_analysis_agrees_with_the_simulator_on_random_labs(text in random_lab()) {
        let loaded = match wirelab_spec::parse_str("random.yaml", &text) {
            Ok(l) => l,
            Err(d) => panic!("the generator wrote an invalid lab: {d:?}\n{text}"),
        };
        let ports: BTreeSet<u16> = [0, 1, 22, 53, 80, 1023, 1024, 49152, 65535].into_iter().collect();
        let mut disagreements = Vec::new();
        compare("random", &loaded.lab, &ports, true, &mut disagreements);
        prop_assert!(disagreements.is_empty(), "{}\n{}", disagreements.join("\n"), text);
    }
}

const VPC: &str = "labs/03-vpc-security.yaml";

#[test]
fn reach_prints_the_minimal_ranges_and_the_path() {
    let (code, out, _) = wirelab(&["reach", VPC, "--from", "app1", "--to", "db1"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("path: vpc"), "{out}");
    assert!(out.contains("  tcp: 5432\n"), "{out}");
    assert!(out.contains("  udp: nothing\n"), "{out}");
}

#[test]
fn a_blocked_port_names_every_component_that_blocks_it() {
    let (code, out, _) = wirelab(&[
        "reach", VPC, "--from", "web1", "--to", "db1", "--proto", "tcp", "--port", "5432",
    ]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("  tcp: nothing"), "{out}");
    // The NACL of the data network and db1's group, both named.
    assert!(
        out.contains("nacl-inbound: NACL data-nacl of network data, inbound rule *"),
        "{out}"
    );
    assert!(out.contains("sg-inbound: tcp 0-65535 of db1"), "{out}");
    assert!(out.contains("db-sg: tcp 5432 from app-sg (line"), "{out}");
}

#[test]
fn the_reply_path_counts() {
    // The data network's NACL lets ping in from nowhere and the echo
    // reply out to nowhere: both legs are reported.
    let (code, out, _) = wirelab(&[
        "reach", VPC, "--from", "bastion", "--to", "db1", "--proto", "icmp",
    ]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("denies icmp echo"), "{out}");
    assert!(out.contains("denies the echo reply"), "{out}");
}

#[test]
fn to_alone_lists_every_host_that_reaches_it() {
    let (code, out, _) = wirelab(&[
        "reach", VPC, "--to", "db1", "--proto", "tcp", "--format", "json",
    ]);
    assert_eq!(code, 0, "{out}");
    let v: serde_json::Value = serde_json::from_str(&out).expect("JSON");
    let froms: BTreeSet<&str> = v["pairs"]
        .as_array()
        .expect("pairs")
        .iter()
        .map(|p| p["from"].as_str().expect("from"))
        .collect();
    assert!(
        froms.contains("app1") && froms.contains("bastion"),
        "{froms:?}"
    );
    assert!(
        !froms.contains("web1") && !froms.contains("client"),
        "{froms:?}"
    );
}

#[test]
fn usage_errors_exit_2() {
    let (code, _, err) = wirelab(&["reach", VPC, "--from", "web"]);
    assert_eq!(code, 2);
    assert!(err.contains("did you mean `web1`"), "{err}");
    let (code, _, err) = wirelab(&["reach", VPC]);
    assert_eq!(code, 2);
    assert!(err.contains("--from, --to or both"), "{err}");
}

const WAY_OUT: &str = "crates/wirelab/tests/reach/way-out.yaml";

fn json_of(out: &str) -> serde_json::Value {
    serde_json::from_str(out).expect("JSON")
}

/// The (sources, reachable tcp text) of every pair of a JSON answer.
fn tcp_by_sources(v: &serde_json::Value) -> Vec<(Vec<String>, String)> {
    v["pairs"]
        .as_array()
        .expect("pairs")
        .iter()
        .map(|p| {
            let sources = p["sources"]
                .as_array()
                .expect("sources")
                .iter()
                .map(|s| s.as_str().expect("a prefix").to_string())
                .collect();
            let tcp = p["families"][0]["protocols"]
                .as_array()
                .expect("protocols")
                .iter()
                .find(|x| x["proto"] == "tcp")
                .map(|x| x["text"].as_str().expect("text").to_string())
                .unwrap_or_default();
            (sources, tcp)
        })
        .collect()
}

#[test]
fn the_outside_comes_in_where_the_routes_lead_out() {
    // vpc's default route goes to 203.0.113.254, which no node of the lab
    // has: addresses outside the lab come in on the internet network.
    let (code, out, _) = wirelab(&[
        "reach", WAY_OUT, "--from", "outside", "--to", "web1", "--proto", "tcp", "--format", "json",
    ]);
    assert_eq!(code, 0, "{out}");
    let v = json_of(&out);
    let pairs = v["pairs"].as_array().expect("pairs");
    assert_eq!(pairs.len(), 1, "{out}");
    assert_eq!(pairs[0]["entry"], "internet");
    assert_eq!(pairs[0]["families"][0]["path"], serde_json::json!(["vpc"]));
    let (sources, tcp) = &tcp_by_sources(&v)[0];
    assert_eq!(tcp, "80, 443");
    assert!(sources.contains(&"0.0.0.0/5".to_string()), "{sources:?}");
    // No source block overlaps a network of the lab.
    for s in sources {
        let n: ipnet::Ipv4Net = s.parse().expect("an IPv4 prefix");
        for lab_net in [
            "203.0.113.0/24",
            "10.0.1.0/24",
            "10.0.2.0/24",
            "10.0.3.0/24",
        ] {
            let l: ipnet::Ipv4Net = lab_net.parse().expect("prefix");
            assert!(
                !n.contains(&l.network()) && !l.contains(&n.network()),
                "{s} overlaps {lab_net}"
            );
        }
    }
    // In text: where they come in.
    let (_, text, _) = wirelab(&["reach", WAY_OUT, "--from", "outside", "--to", "web1"]);
    assert!(text.contains("enters by: internet  path: vpc"), "{text}");
}

#[test]
fn without_a_way_out_the_outside_has_no_way_in() {
    let (code, out, _) = wirelab(&["reach", VPC, "--from", "8.8.8.8", "--to", "web1"]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.starts_with("8.8.8.8/32 (outside the lab) → web1"),
        "{out}"
    );
    assert!(out.contains("so they have no way in"), "{out}");
    assert!(
        out.contains("no-route (reply): vpc has no route to 8.8.8.8"),
        "{out}"
    );
}

#[test]
fn a_prefix_is_split_by_network_and_by_answer() {
    // Who in 10.0.0.0/8 reaches db1:5432? Only app1's address: db-sg
    // admits app-sg's members, and the data NACL admits the app network.
    let (code, out, _) = wirelab(&[
        "reach",
        VPC,
        "--from",
        "10.0.0.0/8",
        "--to",
        "db1",
        "--proto",
        "tcp",
        "--port",
        "5432",
        "--format",
        "json",
    ]);
    assert_eq!(code, 0, "{out}");
    let reaching: Vec<_> = tcp_by_sources(&json_of(&out))
        .into_iter()
        .filter(|(_, tcp)| tcp != "nothing")
        .collect();
    assert_eq!(
        reaching,
        vec![(vec!["10.0.2.10/32".to_string()], "5432".to_string())],
        "{out}"
    );
}

#[test]
fn an_address_of_a_host_is_that_host_and_a_network_its_hosts() {
    let (code, out, _) = wirelab(&["reach", VPC, "--from", "10.0.2.10", "--to", "db1"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.starts_with("app1 → db1 ipv4"), "{out}");
    let (_, out, _) = wirelab(&["reach", VPC, "--from", "bastion", "--to", "data"]);
    assert!(out.contains("bastion → db1 ipv4"), "{out}");
    let (code, _, err) = wirelab(&["reach", VPC, "--from", "bastion", "--to", "10.0.3.99"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("no host of lab vpc-security has the address 10.0.3.99"),
        "{err}"
    );
    // Outside every network: the outside, where labs/03 has no route to.
    let (code, out, _) = wirelab(&["reach", VPC, "--from", "bastion", "--to", "10.0.9.9"]);
    assert_eq!(code, 1);
    assert!(out.contains("bastion → internet 10.0.9.9/32"), "{out}");
}

/// A network's addresses as a source mean what a host with no security
/// group at such an address gets: add that host (a "probe") to every
/// network of every example lab, at an unused address, and require the
/// two answers to be equal, family by family.
#[test]
fn a_network_source_answers_like_a_host_without_groups_at_that_address() {
    let mut checked = 0;
    for path in labs() {
        let loaded = wirelab_spec::load(&path).expect("the example labs are valid");
        for seg in 0..loaded.lab.networks.len() {
            let Some(model) = loaded.lab.hosts.iter().find(|h| h.network == seg) else {
                continue;
            };
            let Some(prefix) = loaded.lab.networks[seg].ipv4.as_ref().map(|p| p.value) else {
                continue;
            };
            // The last usable address, when no host or router has it.
            let probe_addr = std::net::Ipv4Addr::from(u32::from(prefix.broadcast()) - 1);
            let taken = Network::compile(&loaded.lab)
                .owner(std::net::IpAddr::V4(probe_addr))
                .is_some();
            if taken {
                continue;
            }
            let mut lab = loaded.lab.clone();
            let mut probe = model.clone();
            probe.name.value = "probe".into();
            probe.ipv4 = Some(probe_addr);
            probe.ipv6 = None;
            probe.security_groups.clear();
            probe.services.clear();
            lab.hosts.push(probe);
            let probe_id = lab.hosts.len() - 1;
            let net = Network::compile(&lab);
            let analyzer = Analyzer::new(&net);
            // The network's answer comes from the lab without the probe.
            let original = Network::compile(&loaded.lab);
            let original = Analyzer::new(&original);
            for to in 0..probe_id {
                let as_host = analyzer.reach(probe_id, to);
                let as_space = original.reach_from(
                    wirelab_analyze::Origin::Network(seg),
                    Some(ipnet::IpNet::from(std::net::IpAddr::V4(probe_addr))),
                    to,
                );
                let host_v4 = as_host
                    .families
                    .iter()
                    .find(|f| f.family == wirelab_spec::Family::Ipv4);
                let Some(host_v4) = host_v4 else {
                    continue;
                };
                assert_eq!(as_space.len(), 1, "{}: one group", path.display());
                for proto in Proto::ALL {
                    let of = |f: &wirelab_analyze::FamilyReach| {
                        let p = f.protos.iter().find(|p| p.proto == proto).expect("proto");
                        (p.reachable.clone(), p.delivered.clone())
                    };
                    assert_eq!(
                        of(host_v4),
                        of(&as_space[0].reach),
                        "{}: network {} → {} {}",
                        path.display(),
                        lab.networks[seg].name.value,
                        lab.hosts[to].name.value,
                        proto.code()
                    );
                    checked += 1;
                }
            }
        }
    }
    assert!(checked > 300, "only {checked} comparisons");
}

#[test]
fn public_exposure_lists_what_public_addresses_reach_through_the_whole_path() {
    let loaded = wirelab_spec::load(&root().join(WAY_OUT)).expect("valid");
    let net = Network::compile(&loaded.lab);
    let analyzer = Analyzer::new(&net);
    let exposure = |name: &str| -> Vec<String> {
        let h = loaded.lab.host_by_name(name).expect("host");
        analyzer
            .public_exposure(h)
            .iter()
            .map(|e| {
                format!(
                    "{} {} {} from {} by {}",
                    e.family.code(),
                    e.proto.code(),
                    e.ports,
                    e.sources.join(" "),
                    e.entry
                )
            })
            .collect()
    };
    let web = exposure("web1");
    assert!(
        web.contains(&"ipv4 tcp 80, 443 from 203.0.113.0/24 by internet".to_string()),
        "{web:?}"
    );
    assert!(
        web.iter().any(|e| e.starts_with(
            "ipv4 tcp 80, 443 from 1.0.0.0/8 2.0.0.0/7 4.0.0.0/6 8.0.0.0/7 11.0.0.0/8 "
        ) && !e.contains(" 10.0.")
            && e.ends_with("by internet")),
        "{web:?}"
    );
    assert_eq!(web.len(), 2, "{web:?}");
    // The admin laptop's /32 is the only public source of bastion's ssh.
    assert_eq!(
        exposure("bastion"),
        vec!["ipv4 tcp 22 from 203.0.113.10/32 by internet".to_string()]
    );
    // Nothing public gets to the database: db-sg and the data NACL.
    assert_eq!(exposure("db1"), Vec::<String>::new());
}

/// The many-hosts form of the public exposure (lint's) equals the
/// one-host form on every host: the same ports by the same sources and
/// entries, entries in the same order.
fn public_ports_agree(lab: &wirelab_spec::Lab) -> Result<usize, String> {
    use std::collections::BTreeMap;
    type Regrouped = BTreeMap<(String, String, String, String), Vec<(u128, u128)>>;
    fn add(
        map: &mut Regrouped,
        order: &mut Vec<String>,
        key: (String, String, String, String),
        ranges: Vec<(u128, u128)>,
    ) {
        if !order.contains(&key.2) {
            order.push(key.2.clone());
        }
        let v = map.entry(key).or_default();
        v.extend(ranges);
        *v = wirelab_analyze::addrs::normalize(std::mem::take(v));
    }
    let net = Network::compile(lab);
    let analyzer = Analyzer::new(&net);
    let hosts: Vec<usize> = (0..lab.hosts.len()).collect();
    let many = analyzer.public_ports(&hosts);
    let mut n = 0;
    for (h, got) in hosts.into_iter().zip(many) {
        let (mut want, mut want_order) = (Regrouped::new(), Vec::new());
        for e in analyzer.public_exposure(h) {
            let ranges = e
                .sources
                .iter()
                .map(|s| wirelab_analyze::addrs::bounds(&s.parse().expect("a CIDR")))
                .collect();
            let key = (
                e.family.code().into(),
                e.proto.code().into(),
                e.entry,
                e.ports.to_string(),
            );
            add(&mut want, &mut want_order, key, ranges);
        }
        let (mut have, mut have_order) = (Regrouped::new(), Vec::new());
        for p in got {
            let key = (
                p.family.code().into(),
                p.proto.code().into(),
                p.entry,
                p.ports.to_string(),
            );
            add(&mut have, &mut have_order, key, p.sources);
        }
        if want != have || want_order != have_order {
            return Err(format!(
                "{}: public_exposure {want:?} {want_order:?}, public_ports {have:?} {have_order:?}",
                lab.hosts[h].name.value
            ));
        }
        n += want.len();
    }
    Ok(n)
}

#[test]
fn public_ports_equal_the_public_exposure_on_every_example_lab() {
    let mut n = 0;
    for path in labs() {
        let loaded = wirelab_spec::load(&path).expect("valid");
        n += public_ports_agree(&loaded.lab).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    }
    assert!(n > 20, "{n}");
}

/// (status, failure) of every check of a `wirelab test --format json` run.
fn graded(lab: &str) -> Vec<(String, String, String)> {
    let (_, out, err) = wirelab(&["test", lab, "--format", "json"]);
    let v: serde_json::Value =
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}{err}"));
    v["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .map(|c| {
            (
                c["name"].as_str().expect("name").to_string(),
                c["status"].as_str().expect("status").to_string(),
                c["failure"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

#[test]
fn exhaustive_checks_require_every_listed_source_and_nothing_else() {
    let results = graded("crates/wirelab/tests/reach/exhaustive.yaml");
    let get = |name: &str| {
        results
            .iter()
            .find(|(n, _, _)| n == name)
            .unwrap_or_else(|| panic!("no check {name}: {results:?}"))
            .clone()
    };
    assert_eq!(get("only the app tier reaches the database").1, "pass");
    assert_eq!(get("only the admin reaches the bastion").1, "pass");
    assert_eq!(get("the web answers the internet").1, "pass");
    // app2 is in app-sg but the data NACL admits app1 only.
    let (_, status, why) = get("the app group is not all through");
    assert_eq!(
        (status.as_str(), why.as_str()),
        ("fail", "not reached from app2 (app-sg) (nacl-inbound)")
    );
    // Both ways wrong: the listed source is blocked, another gets in.
    let (_, status, why) = get("ssh to the web server is not the admin's");
    assert_eq!(status, "fail");
    assert_eq!(
        why,
        "not reached from admin (sg-inbound); also reached from bastion"
    );
    // `nothing_else` alone: nothing may reach; a host and the unmanaged
    // addresses of db1's own network do.
    let (_, status, why) = get("nothing pings the database from afar");
    assert_eq!(status, "fail");
    assert!(
        why.starts_with("also reached from cache1, network data addresses 10.0.3.0/29"),
        "{why}"
    );
}

#[test]
fn exhaustive_checks_with_mistakes_get_every_diagnostic() {
    let dir = std::env::temp_dir().join(format!("wirelab-exhaustive-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let src = std::fs::read_to_string(root().join("crates/wirelab/tests/reach/exhaustive.yaml"))
        .expect("lab");
    let body = &src[..src.find("\nchecks:").expect("checks")];
    let bad = format!(
        "{body}\nchecks:\n  - name: a\n    from: app1\n    to: db1\n    port: 5432\n    expect: {{ reachable_from: [app-sgg], nothing_else: true }}\n  - name: b\n    to: db1\n    port: 5432\n    expect: {{ nothing_else: false }}\n  - name: c\n    to: db1\n    port: 5432\n    expect: {{ reachable_from: [internet], nothing_else: yes-please }}\n"
    );
    let path = dir.join("bad.yaml");
    std::fs::write(&path, &bad).expect("write");
    let lines = bad.lines().count();
    let (code, _, err) = wirelab(&["check", path.to_str().expect("utf-8")]);
    assert_eq!(code, 2, "{err}");
    let at = |needle: &str| {
        err.lines()
            .find(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("no `{needle}` in {err}"))
            .to_string()
    };
    assert!(
        at("has no `from`").contains(&format!("bad.yaml:{}:", lines - 11)),
        "{err}"
    );
    assert!(
        at("`app-sgg` is no host, security group or network").contains("did you mean `app-sg`"),
        "{err}"
    );
    assert!(
        at("asks nothing").contains(&format!("bad.yaml:{}:", lines - 4)),
        "{err}"
    );
    assert!(
        at("`nothing_else`").contains(&format!("bad.yaml:{}:", lines)),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// The matrix by classes of equivalent hosts equals the pair-by-pair
/// answers, for every ordered pair, protocol and family.
fn matrix_agrees(lab: &wirelab_spec::Lab) -> Result<usize, String> {
    let net = Network::compile(lab);
    let analyzer = Analyzer::new(&net);
    let m = analyzer.matrix();
    let mut n = 0;
    for a in 0..lab.hosts.len() {
        for b in 0..lab.hosts.len() {
            if a == b {
                continue;
            }
            let pair = analyzer.reach(a, b);
            for family in [wirelab_spec::Family::Ipv4, wirelab_spec::Family::Ipv6] {
                let x = pair.families.iter().find(|f| f.family == family);
                for proto in Proto::ALL {
                    let want = x.map(|x| {
                        let p = x.protos.iter().find(|p| p.proto == proto).expect("proto");
                        (p.reachable.clone(), p.delivered.clone())
                    });
                    let got = m.answer(a, b, family, proto);
                    if want != got {
                        return Err(format!(
                            "{} → {} {} {}: pair {want:?}, matrix {got:?}",
                            lab.hosts[a].name.value,
                            lab.hosts[b].name.value,
                            family.code(),
                            proto.code(),
                        ));
                    }
                    n += 1;
                }
            }
        }
    }
    Ok(n)
}

#[test]
fn the_matrix_by_classes_equals_the_pairs_on_every_example_lab() {
    let mut n = 0;
    for path in labs() {
        let loaded = wirelab_spec::load(&path).expect("valid");
        n += matrix_agrees(&loaded.lab).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    }
    assert!(n > 1000, "{n}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn the_matrix_by_classes_equals_the_pairs_on_random_labs(text in random_lab()) {
        let loaded = wirelab_spec::parse_str("random.yaml", &text).expect("valid");
        if let Err(e) = matrix_agrees(&loaded.lab) {
            prop_assert!(false, "{e}\n{text}");
        }
    }
}

/// A random routed lab: three LANs behind three routers in a chain
/// (r1 — r2 — r3 over two transit links), often dual-stack, with routes
/// that are right, or send a prefix into a blackhole, around a loop or
/// nowhere; six hosts, three security groups and two NACLs with IPv4 and
/// IPv6 rules.
fn random_routed_lab() -> impl Strategy<Value = String> {
    let proto = prop_oneof![
        Just("tcp"),
        Just("udp"),
        Just("icmp"),
        Just("icmpv6"),
        Just("all")
    ];
    let ports = prop_oneof![
        Just("22"),
        Just("80"),
        Just("1-1023"),
        Just("49152-65535"),
        Just("0-65535"),
    ];
    let peer = prop_oneof![
        Just("0.0.0.0/0"),
        Just("\"::/0\""),
        Just("10.0.0.0/8"),
        Just("10.1.0.0/24"),
        Just("10.3.0.0/24"),
        Just("\"2001:db8:2::/64\""),
        Just("10.2.0.11/32"),
        Just("sg0"),
        Just("sg1"),
        Just("sg2"),
    ];
    let cidr = prop_oneof![
        Just("0.0.0.0/0"),
        Just("\"::/0\""),
        Just("10.0.0.0/8"),
        Just("10.2.0.0/24"),
        Just("\"2001:db8:1::/64\""),
    ];
    let sg_rule = (proto.clone(), ports.clone(), peer);
    let nacl_rule = (any::<bool>(), proto, ports, cidr);
    let host = (
        0usize..3,
        prop::sample::subsequence(vec![0usize, 1, 2], 0..=2),
        prop::sample::subsequence(vec![22u16, 80], 0..=2),
    );
    let nacl = (
        prop::collection::vec(nacl_rule.clone(), 0..4),
        prop::collection::vec(nacl_rule, 0..4),
        0usize..4, // the LAN it covers (3: a transit link)
    );
    (
        prop::collection::vec(host, 6),
        prop::collection::vec(
            (
                prop::collection::vec(sg_rule.clone(), 0..4),
                prop::option::of(prop::collection::vec(sg_rule, 0..3)),
            ),
            3,
        ),
        prop::collection::vec(nacl, 2),
        any::<bool>(),
        0usize..5,
    )
        .prop_map(|(hosts, sgs, nacls, v6, routing)| {
            let mut y = String::from("lab: random-routed\nseed: 11\nnetworks:\n");
            let nacl_of = |n: usize| {
                nacls
                    .iter()
                    .enumerate()
                    .find(|(_, x)| x.2 == n)
                    .map(|(i, _)| format!(", nacl: nacl{i}"))
                    .unwrap_or_default()
            };
            for n in 0..3 {
                let six = if v6 { format!(", ipv6: \"2001:db8:{}::/64\"", n + 1) } else { String::new() };
                y.push_str(&format!("  lan{n}: {{ cidr: 10.{}.0.0/24{six}{} }}\n", n + 1, nacl_of(n)));
            }
            for (name, v4, six) in [("t12", "10.0.12.0/30", "2001:db8:12::/64"), ("t23", "10.0.23.0/30", "2001:db8:23::/64")] {
                let six = if v6 { format!(", ipv6: \"{six}\"") } else { String::new() };
                let nacl = if name == "t12" { nacl_of(3) } else { String::new() };
                y.push_str(&format!("  {name}: {{ cidr: {v4}{six}{nacl} }}\n"));
            }
            let addr = |v4: &str, v6addr: &str| {
                if v6 {
                    format!("{{ ip: {v4}, ipv6: \"{v6addr}\" }}")
                } else {
                    v4.to_string()
                }
            };
            // Routes: 0 right, 1 blackhole for lan2 at r1, 2 a loop for
            // lan2 between r1 and r2, 3 no route back to lan0 at r3, 4 r3
            // sends only IPv4 by default (IPv6 has no default there).
            let lan2_at_r1 = match routing {
                1 => "{ to: 10.3.0.0/24, blackhole: true }".to_string(),
                _ => "{ to: 10.3.0.0/24, via: 10.0.12.2 }".to_string(),
            };
            let lan2_at_r2 = match routing {
                2 => "{ to: 10.3.0.0/24, via: 10.0.12.1 }",
                _ => "{ to: 10.3.0.0/24, via: 10.0.23.2 }",
            };
            let r3_default = match routing {
                3 => "{ to: 10.2.0.0/24, via: 10.0.23.1 }",
                _ => "{ to: 0.0.0.0/0, via: 10.0.23.1 }",
            };
            y.push_str("routers:\n");
            y.push_str(&format!(
                "  r1:\n    interfaces: {{ lan0: {}, t12: {} }}\n    routes:\n      - {{ to: 10.2.0.0/24, via: 10.0.12.2 }}\n      - {lan2_at_r1}\n",
                addr("10.1.0.1", "2001:db8:1::1"),
                addr("10.0.12.1", "2001:db8:12::1")
            ));
            if v6 {
                y.push_str("      - { to: \"2001:db8::/32\", via: \"2001:db8:12::2\" }\n");
            }
            y.push_str(&format!(
                "  r2:\n    interfaces: {{ lan1: {}, t12: {}, t23: {} }}\n    routes:\n      - {{ to: 10.1.0.0/24, via: 10.0.12.1 }}\n      - {lan2_at_r2}\n",
                addr("10.2.0.1", "2001:db8:2::1"),
                addr("10.0.12.2", "2001:db8:12::2"),
                addr("10.0.23.1", "2001:db8:23::1")
            ));
            if v6 {
                y.push_str("      - { to: \"2001:db8:1::/64\", via: \"2001:db8:12::1\" }\n      - { to: \"2001:db8:3::/64\", via: \"2001:db8:23::2\" }\n");
            }
            y.push_str(&format!(
                "  r3:\n    interfaces: {{ lan2: {}, t23: {} }}\n    routes:\n      - {r3_default}\n",
                addr("10.3.0.1", "2001:db8:3::1"),
                addr("10.0.23.2", "2001:db8:23::2")
            ));
            if v6 && routing != 4 {
                y.push_str("      - { to: \"::/0\", via: \"2001:db8:23::1\" }\n");
            }
            y.push_str("hosts:\n");
            for (i, (net, groups, services)) in hosts.iter().enumerate() {
                let groups: Vec<String> = groups.iter().map(|g| format!("sg{g}")).collect();
                let services: Vec<String> = services.iter().map(|p| format!("{{ port: {p} }}")).collect();
                let six = if v6 { format!(", ipv6: \"2001:db8:{}::{}\"", net + 1, 10 + i) } else { String::new() };
                y.push_str(&format!(
                    "  h{i}: {{ network: lan{net}, ip: 10.{}.0.{}{six}, security_groups: [{}], services: [{}] }}\n",
                    net + 1,
                    10 + i,
                    groups.join(", "),
                    services.join(", ")
                ));
            }
            write_groups(&mut y, &sgs);
            y.push_str("nacls:\n");
            for (i, (nin, nout, _)) in nacls.iter().enumerate() {
                write_nacl(&mut y, &format!("nacl{i}"), nin, nout);
            }
            y
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(160))]

    /// The analysis agrees with the simulator on random routed, dual-stack
    /// labs, and the matrix by classes with the analysis, pair by pair.
    /// Each case compares every ordered pair of six hosts, both families,
    /// a ping and TCP and UDP on five ports: ~160 × 400 exchanges a run.
    #[test]
    fn the_analysis_agrees_with_the_simulator_on_random_routed_labs(text in random_routed_lab()) {
        let loaded = match wirelab_spec::parse_str("random-routed.yaml", &text) {
            Ok(l) => l,
            Err(d) => panic!("the generator wrote an invalid lab: {d:?}\n{text}"),
        };
        let ports: BTreeSet<u16> = [0, 22, 80, 1023, 49152].into_iter().collect();
        let mut disagreements = Vec::new();
        let n = compare("random-routed", &loaded.lab, &ports, true, &mut disagreements);
        prop_assert!(n > 0);
        prop_assert!(disagreements.is_empty(), "{}\n{}", disagreements.join("\n"), text);
        if let Err(e) = matrix_agrees(&loaded.lab) {
            prop_assert!(false, "{e}\n{text}");
        }
        if let Err(e) = public_ports_agree(&loaded.lab) {
            prop_assert!(false, "{e}\n{text}");
        }
    }
}

#[test]
fn to_the_internet_leaves_where_the_routes_lead_out() {
    // app-sg lets tcp 443 out to 0.0.0.0/0; the default route leaves by
    // the internet network.
    let (code, out, _) = wirelab(&[
        "reach", WAY_OUT, "--from", "app1", "--to", "outside", "--proto", "tcp", "--format", "json",
    ]);
    assert_eq!(code, 0, "{out}");
    let v = json_of(&out);
    let pairs = v["pairs"].as_array().expect("pairs");
    assert_eq!(pairs.len(), 1, "{out}");
    assert_eq!(pairs[0]["exit"], "internet");
    assert_eq!(pairs[0]["families"][0]["protocols"][0]["text"], "443");
    let dests = pairs[0]["destinations"].as_array().expect("destinations");
    assert!(dests.contains(&serde_json::json!("8.0.0.0/7")), "{out}");
    // db1's NACL lets nothing out to the world.
    let (code, out, _) = wirelab(&[
        "reach", WAY_OUT, "--from", "db1", "--to", "outside", "--proto", "tcp", "--port", "443",
    ]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("nacl-outbound: NACL data-nacl of network data, outbound rule *"),
        "{out}"
    );
    // Without a route out, nothing leaves (labs/03 has no default route).
    let (code, out, _) = wirelab(&[
        "reach", VPC, "--from", "app1", "--to", "outside", "--proto", "tcp",
    ]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("path: none (routing fails)"), "{out}");
    assert!(
        out.contains("no-route (request): vpc has no route to"),
        "{out}"
    );
    // A network as sender is refused with a reason.
    let (code, _, err) = wirelab(&["reach", VPC, "--from", "app", "--to", "outside"]);
    assert_eq!(code, 2);
    assert!(err.contains("--to internet goes with a host"), "{err}");
}

#[test]
fn an_address_or_prefix_outside_the_lab_is_a_destination() {
    let (code, out, err) = wirelab(&[
        "reach", WAY_OUT, "--from", "app1", "--to", "8.8.8.8", "--port", "443",
    ]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.starts_with("app1 → internet 8.8.8.8/32 ipv4 10.0.2.10  leaves by: internet  path: vpc\n  tcp: 443\n"),
        "{out}"
    );
    // Only 443 leaves app-sg: port 80 to a prefix is blocked, and says by what.
    let (code, out, _) = wirelab(&[
        "reach",
        WAY_OUT,
        "--from",
        "app1",
        "--to",
        "198.51.100.0/24",
        "--proto",
        "tcp",
        "--port",
        "80",
    ]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("198.51.100.0/24"), "{out}");
    assert!(out.contains("sg-outbound"), "{out}");
    // A prefix over the lab's networks: a usage error that says why.
    let (code, _, err) = wirelab(&["reach", WAY_OUT, "--from", "app1", "--to", "10.0.0.0/8"]);
    assert_eq!(code, 2);
    assert!(err.contains("10.0.0.0/8 overlaps network"), "{err}");
}

/// The ICMP messages delivered one way, by atoms of the message space,
/// equal those found by trying every one of the 65,536 (type, code)
/// messages, for every ordered pair and family.
fn icmp_messages_agree(lab: &wirelab_spec::Lab) -> Result<usize, String> {
    let net = Network::compile(lab);
    let (atoms, every) = (
        Analyzer::new(&net),
        Analyzer::new(&net).every_icmp_message(),
    );
    let mut n = 0;
    for a in 0..lab.hosts.len() {
        for b in 0..lab.hosts.len() {
            if a == b {
                continue;
            }
            let (x, y) = (atoms.reach(a, b), every.reach(a, b));
            for (fx, fy) in x.families.iter().zip(&y.families) {
                let of = |f: &wirelab_analyze::FamilyReach| {
                    f.protos
                        .iter()
                        .find(|p| p.proto == Proto::Icmp)
                        .map(|p| p.messages.clone())
                        .expect("icmp")
                };
                if of(fx) != of(fy) {
                    return Err(format!(
                        "{} → {} {}: by atoms {}, one by one {}",
                        lab.hosts[a].name.value,
                        lab.hosts[b].name.value,
                        fx.family.code(),
                        of(fx),
                        of(fy)
                    ));
                }
                n += 1;
            }
        }
    }
    Ok(n)
}

#[test]
fn icmp_types_and_codes_are_delivered_exactly() {
    let lab = "crates/wirelab/tests/reach/icmp-types.yaml";
    let (code, out, err) = wirelab(&["reach", lab, "--from", "a", "--to", "b", "--proto", "icmp"]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(
        out,
        "a → b ipv4 10.1.0.10 → 10.2.0.10  path: r\n  icmp: echo\n    delivered one way: 3 (destination unreachable) codes 0-3, 5-255, 8 (echo request) code 0\na → b ipv6 2001:db8:1::10 → 2001:db8:2::10  path: r\n  icmp: echo\n    delivered one way: 2 (packet too big), 128 (echo request)\n"
    );
    let (_, json, _) = wirelab(&[
        "reach", lab, "--from", "a", "--to", "b", "--proto", "icmp", "--format", "json",
    ]);
    let v = json_of(&json);
    let icmp = &v["pairs"][0]["families"][0]["protocols"][0];
    assert_eq!(
        icmp["messages"][1]["first"],
        serde_json::json!({ "type": 3, "code": 5 }),
        "{json}"
    );
    let loaded = wirelab_spec::load(&root().join(lab)).expect("valid");
    assert_eq!(icmp_messages_agree(&loaded.lab), Ok(4));
    for path in labs().into_iter().filter(|p| {
        let name = p.to_string_lossy();
        name.contains("03-vpc") || name.contains("04-dual")
    }) {
        let loaded = wirelab_spec::load(&path).expect("valid");
        icmp_messages_agree(&loaded.lab).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn icmp_messages_by_atoms_equal_one_by_one_on_random_labs(text in random_lab()) {
        let loaded = wirelab_spec::parse_str("random.yaml", &text).expect("valid");
        if let Err(e) = icmp_messages_agree(&loaded.lab) {
            prop_assert!(false, "{e}\n{text}");
        }
    }
}

#[test]
fn a_router_and_its_addresses_are_destinations() {
    // The data NACL drops db1's ping on its way out of data, even to the
    // router's own address there (and its reply coming in).
    let (code, out, _) = wirelab(&[
        "reach", VPC, "--from", "db1", "--to", "10.0.3.1", "--proto", "icmp",
    ]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.starts_with("db1 → vpc ipv4 10.0.3.10 → 10.0.3.1  path: vpc\n  icmp: nothing\n"),
        "{out}"
    );
    assert!(
        out.contains("nacl-outbound: NACL data-nacl of network data, outbound rule * (no rule matched), denies icmp echo"),
        "{out}"
    );
    // The router by name: each of its addresses; from the bastion (no
    // NACL on public) every one answers, over the router's public side.
    let (code, out, _) = wirelab(&[
        "reach", VPC, "--from", "bastion", "--to", "vpc", "--proto", "icmp", "--format", "json",
    ]);
    assert_eq!(code, 0, "{out}");
    let v = json_of(&out);
    let pairs = v["pairs"].as_array().expect("pairs");
    let dsts: Vec<&str> = pairs
        .iter()
        .filter_map(|p| p["families"][0]["dst"].as_str())
        .collect();
    assert_eq!(
        dsts,
        ["203.0.113.1", "10.0.1.1", "10.0.2.1", "10.0.3.1"],
        "{out}"
    );
    assert!(
        pairs
            .iter()
            .all(|p| p["families"][0]["protocols"][0]["echo"] == true),
        "{out}"
    );
    assert!(pairs.iter().all(|p| p["router"] == true), "{out}");
    // Other senders than hosts are not asked about routers.
    let (code, _, err) = wirelab(&["reach", VPC, "--from", "app", "--to", "vpc"]);
    assert_eq!(code, 2);
    assert!(err.contains("goes with a host in --from"), "{err}");
}
