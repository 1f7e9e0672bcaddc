//! `wirelab reach` and the analysis behind it: agreement with the
//! simulator on every example lab, and the command's output and exit
//! statuses.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use proptest::prelude::*;
use wirelab_analyze::{Analyzer, Block, Leg, Proto};
use wirelab_check::{run_exchange, Plan};
use wirelab_net::Network;
use wirelab_sim::{Sim, TraceLevel};
use wirelab_spec::{CheckProto, CheckTarget, Outcome, TransportProto};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

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
    let analyzer = Analyzer::new(&net);
    let mut sim = Sim::new(&net, lab.seed, TraceLevel::Off);
    for from in 0..lab.hosts.len() {
        for to in 0..lab.hosts.len() {
            if from == to {
                continue;
            }
            let reach = analyzer.reach(from, to);
            for fam in &reach.families {
                let family = fam.family;
                let proto_of = |p: Proto| {
                    fam.protos
                        .iter()
                        .find(|x| x.proto == p)
                        .expect("every protocol is analysed")
                };
                let partial = |p: Proto| {
                    skip_partial
                        && proto_of(p).blocks.iter().any(|b| {
                            matches!(b, Block::Nacl { leg: Leg::Reply, ports, .. }
                                if ports.len() < 16384)
                        })
                };
                let mut sim_says = |proto: CheckProto, port: Option<u16>| {
                    let plan = Plan::new(&net, from, &CheckTarget::Host(to), proto, port, family)
                        .expect("both hosts have the family");
                    run_exchange(&mut sim, plan, lab.seed).result
                };
                let mut differ = |what: String, sim: &wirelab_sim::ProbeResult, ours: bool| {
                    disagreements.push(format!(
                        "{name}: {} → {} {} {what}: simulator {} ({}), analysis {}",
                        lab.hosts[from].name.value,
                        lab.hosts[to].name.value,
                        family.code(),
                        sim.outcome.code(),
                        sim.reason.code(),
                        if ours { "reachable" } else { "blocked" }
                    ))
                };
                let ping = sim_says(CheckProto::Icmp, None);
                let ours = !proto_of(Proto::Icmp).reachable.is_empty();
                compared += 1;
                if (ping.outcome == Outcome::Allow) != ours {
                    differ("ping".into(), &ping, ours);
                }
                for &port in ports {
                    if !partial(Proto::Tcp) {
                        let tcp = sim_says(CheckProto::Tcp, Some(port));
                        let ours = proto_of(Proto::Tcp).reachable.contains(port);
                        let theirs = matches!(tcp.outcome, Outcome::Allow | Outcome::Refused);
                        compared += 1;
                        if theirs != ours {
                            differ(format!("tcp {port}"), &tcp, ours);
                        }
                    }
                    let udp = sim_says(CheckProto::Udp, Some(port));
                    let ours = proto_of(Proto::Udp).delivered.contains(port);
                    let listening = net.service(to, TransportProto::Udp, port).is_some();
                    compared += 1;
                    let agree = if listening {
                        (udp.outcome == Outcome::Allow) == ours
                    } else {
                        udp.outcome != Outcome::Refused || ours
                    };
                    if !agree {
                        differ(format!("udp {port}"), &udp, ours);
                    }
                }
            }
        }
    }
    compared
}

/// A random small lab: three networks on one router (sometimes a
/// blackhole route), four hosts, two security groups and a NACL, with
/// rules drawn from a few protocols, port ranges and peers.
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
            let rule = |(proto, ports, peer): &(&str, &str, &str), dir: &str| {
                let ports = match *proto {
                    "tcp" | "udp" => format!(", ports: {ports}"),
                    _ => String::new(),
                };
                format!("      - {{ proto: {proto}{ports}, {dir}: {peer} }}\n")
            };
            y.push_str("security_groups:\n");
            for (g, (inbound, outbound)) in sgs.iter().enumerate() {
                y.push_str(&format!("  sg{g}:\n    inbound:\n"));
                if inbound.is_empty() {
                    y.truncate(y.len() - 1);
                    y.push_str(" []\n");
                }
                for r in inbound {
                    y.push_str(&rule(r, "from"));
                }
                if let Some(out) = outbound {
                    y.push_str("    outbound:");
                    if out.is_empty() {
                        y.push_str(" []");
                    }
                    y.push('\n');
                    for r in out {
                        y.push_str(&rule(r, "to"));
                    }
                }
            }
            let nrule = |i: usize, (allow, proto, ports, cidr): &(bool, &str, &str, &str)| {
                let ports = match *proto {
                    "tcp" | "udp" => format!(", ports: {ports}"),
                    _ => String::new(),
                };
                let action = if *allow { "allow" } else { "deny" };
                format!(
                    "      - {{ rule: {}, action: {action}, proto: {proto}{ports}, cidr: {cidr} }}\n",
                    (i + 1) * 10
                )
            };
            y.push_str("nacls:\n  nacl0:\n    inbound:");
            y.push_str(if nin.is_empty() { " []\n" } else { "\n" });
            for (i, r) in nin.iter().enumerate() {
                y.push_str(&nrule(i, r));
            }
            y.push_str("    outbound:");
            y.push_str(if nout.is_empty() { " []\n" } else { "\n" });
            for (i, r) in nout.iter().enumerate() {
                y.push_str(&nrule(i, r));
            }
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

fn wirelab(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_wirelab"))
        .args(args)
        .current_dir(root())
        .output()
        .expect("wirelab runs");
    (
        out.status.code().expect("an exit status"),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
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
    let (code, _, err) = wirelab(&["reach", VPC, "--from", "bastion", "--to", "10.0.9.9"]);
    assert_eq!(code, 2);
    assert!(err.contains("no host of lab"), "{err}");
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
            let rule = |(proto, ports, peer): &(&str, &str, &str), dir: &str| {
                let ports = match *proto {
                    "tcp" | "udp" => format!(", ports: {ports}"),
                    _ => String::new(),
                };
                format!("      - {{ proto: {proto}{ports}, {dir}: {peer} }}\n")
            };
            y.push_str("security_groups:\n");
            for (g, (inbound, outbound)) in sgs.iter().enumerate() {
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
            y.push_str("nacls:\n");
            for (i, (nin, nout, _)) in nacls.iter().enumerate() {
                let nrule = |k: usize, (allow, proto, ports, cidr): &(bool, &str, &str, &str)| {
                    let ports = match *proto {
                        "tcp" | "udp" => format!(", ports: {ports}"),
                        _ => String::new(),
                    };
                    let action = if *allow { "allow" } else { "deny" };
                    format!(
                        "      - {{ rule: {}, action: {action}, proto: {proto}{ports}, cidr: {cidr} }}\n",
                        (k + 1) * 10
                    )
                };
                y.push_str(&format!("  nacl{i}:\n    inbound:"));
                y.push_str(if nin.is_empty() { " []\n" } else { "\n" });
                for (k, r) in nin.iter().enumerate() {
                    y.push_str(&nrule(k, r));
                }
                y.push_str("    outbound:");
                y.push_str(if nout.is_empty() { " []\n" } else { "\n" });
                for (k, r) in nout.iter().enumerate() {
                    y.push_str(&nrule(k, r));
                }
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
