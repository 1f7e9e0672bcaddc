//! `wirelab reach` and the analysis behind it: agreement with the
//! simulator on every example lab, and the command's output and exit
//! statuses.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use wirelab_analyze::{Analyzer, Proto};
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
        let lab = &loaded.lab;
        let net = Network::compile(lab);
        let analyzer = Analyzer::new(&net);
        let ports = ports_of(lab);
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
                    let mut sim_says = |proto: CheckProto, port: Option<u16>| {
                        let plan =
                            Plan::new(&net, from, &CheckTarget::Host(to), proto, port, family)
                                .expect("both hosts have the family");
                        run_exchange(&mut sim, plan, lab.seed).result
                    };
                    let mut differ = |what: String, sim: &wirelab_sim::ProbeResult, ours: bool| {
                        disagreements.push(format!(
                            "{}: {} → {} {} {what}: simulator {} ({}), analysis {}",
                            path.display(),
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
                    for &port in &ports {
                        let tcp = sim_says(CheckProto::Tcp, Some(port));
                        let ours = proto_of(Proto::Tcp).reachable.contains(port);
                        let theirs = matches!(tcp.outcome, Outcome::Allow | Outcome::Refused);
                        compared += 1;
                        if theirs != ours {
                            differ(format!("tcp {port}"), &tcp, ours);
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
