//! The shared acceptance labs.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::Path;

use wirelab_spec::{
    load, CheckTarget, Family, Loaded, NaclAction, NetworkOrigin, Outcome, Peer, PortRange, Reason,
    RouteTarget, RuleProto,
};

fn load_valid(name: &str) -> Loaded {
    let path = format!("tests/fixtures/valid/{name}");
    match load(Path::new(&path)) {
        Ok(loaded) => loaded,
        Err(diagnostics) => panic!("{name} must load:\n{}", super::render(&diagnostics)),
    }
}

/// The diagnostics of an invalid fixture, rendered with its file name only.
fn diagnostics_of(name: &str) -> Vec<String> {
    let text = std::fs::read_to_string(format!("tests/fixtures/invalid/{name}")).unwrap();
    match wirelab_spec::parse_str(name, &text) {
        Ok(_) => panic!("{name} must be rejected"),
        Err(diagnostics) => diagnostics.iter().map(ToString::to_string).collect(),
    }
}

fn v4(text: &str) -> Ipv4Addr {
    text.parse().unwrap()
}

#[test]
fn three_tier_loads_with_its_content() {
    let loaded = load_valid("three-tier.yaml");
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    let lab = &loaded.lab;
    assert_eq!(lab.lab.value, "three-tier");
    assert_eq!(lab.seed, 7);
    assert_eq!(lab.networks.len(), 4);
    let data = lab.network_by_name("data").unwrap();
    assert_eq!(lab.networks[data].nacl, Some(0));
    assert_eq!(lab.networks[data].link.mtu, 1500);
    let web1 = &lab.hosts[lab.host_by_name("web1").unwrap()];
    assert_eq!(web1.ipv4, Some(v4("10.0.1.10")));
    assert_eq!(
        web1.ipv6,
        Some("2001:db8:0:1::10".parse::<Ipv6Addr>().unwrap())
    );
    assert_eq!(web1.gateway4, Some(v4("10.0.1.1")));
    assert_eq!(
        web1.gateway6,
        Some("2001:db8:0:1::1".parse::<Ipv6Addr>().unwrap())
    );
    let db1 = &lab.hosts[lab.host_by_name("db1").unwrap()];
    assert_eq!(db1.gateway4, Some(v4("10.0.3.1")));
    assert_eq!(db1.gateway6, None);
    assert_eq!(db1.services.len(), 2);

    let vpc = &lab.routers[0];
    assert_eq!(vpc.interfaces.len(), 4);
    assert_eq!(
        vpc.interfaces[0].ipv6,
        Some("2001:db8:ff::1".parse().unwrap())
    );

    let web_sg = &lab.security_groups[1];
    assert_eq!(web_sg.name.value, "web-sg");
    assert!(web_sg.outbound.is_none());
    assert_eq!(web_sg.inbound[1].peer, Peer::Cidr("::/0".parse().unwrap()));
    assert_eq!(web_sg.inbound[3].peer, Peer::Group(0));
    assert_eq!(
        web_sg.inbound[0].ports,
        Some(PortRange {
            first: 443,
            last: 443
        })
    );

    let nacl = &lab.nacls[0];
    assert_eq!(
        nacl.inbound.iter().map(|r| r.number).collect::<Vec<_>>(),
        [100, 110]
    );
    assert_eq!(
        nacl.outbound[0].ports,
        Some(PortRange {
            first: 1024,
            last: 65535
        })
    );
    assert_eq!(nacl.outbound[0].action, NaclAction::Allow);

    assert_eq!(lab.checks.len(), 18);
    let https6 = lab
        .checks
        .iter()
        .find(|c| c.name.value == "https over ipv6")
        .unwrap();
    assert_eq!(https6.family, Family::Ipv6);
    let first = &lab.checks[0];
    assert_eq!(first.family, Family::Ipv4);
    assert_eq!(first.points, 2);
    assert_eq!(first.port, Some(443));
    let refused = lab
        .checks
        .iter()
        .find(|c| c.expect == Outcome::Refused)
        .unwrap();
    assert_eq!(refused.reason, Some(Reason::Refused));
    let app_db = lab
        .checks
        .iter()
        .find(|c| c.name.value == "app talks to the database")
        .unwrap();
    assert_eq!(app_db.via, [0]);
    assert_eq!(app_db.points, 2);
    assert_eq!(lab.checks[2].points, 1);
}

#[test]
fn routing_expands_links() {
    let loaded = load_valid("routing.yaml");
    let lab = &loaded.lab;
    let names: Vec<&str> = lab.networks.iter().map(|n| n.name.value.as_str()).collect();
    assert_eq!(
        names,
        ["lan1", "lan3", "lan3b", "r1-r2", "r2-r3", "r1-r4", "r4-r3"]
    );
    let r1_r2 = &lab.networks[3];
    assert_eq!(r1_r2.origin, NetworkOrigin::Link(0));
    assert_eq!(
        r1_r2.ipv4.as_ref().unwrap().value,
        "10.0.12.0/30".parse().unwrap()
    );
    // delay from the link, bandwidth from `defaults`, the rest built in.
    assert_eq!(r1_r2.link.delay_ns, 5_000_000);
    assert_eq!(r1_r2.link.bandwidth_bps, 100_000_000);
    assert_eq!(r1_r2.link.queue_packets, 100);
    assert_eq!(lab.networks[0].link.delay_ns, 1_000_000);

    let r1 = &lab.routers[lab.router_by_name("r1").unwrap()];
    let r2 = &lab.routers[lab.router_by_name("r2").unwrap()];
    // r1: its declared lan1 first, then r1-r2 and r1-r4.
    assert_eq!(
        r1.interfaces.iter().map(|i| i.network).collect::<Vec<_>>(),
        [0, 3, 5]
    );
    assert_eq!(r1.interfaces[1].ipv4, Some(v4("10.0.12.1")));
    assert_eq!(r2.interfaces[0].ipv4, Some(v4("10.0.12.2")));
    assert_eq!(r2.interfaces[1].ipv4, Some(v4("10.0.23.1")));
    let r4 = &lab.routers[lab.router_by_name("r4").unwrap()];
    assert_eq!(r4.interfaces[0].ipv4, Some(v4("10.0.14.2")));
    assert_eq!(r4.interfaces[1].ipv4, Some(v4("10.0.43.1")));

    assert_eq!(r1.routes.len(), 4);
    assert_eq!(
        r1.routes[0].target,
        RouteTarget::Via(IpAddr::V4(v4("10.0.14.2")))
    );
    assert_eq!(r1.routes[3].target, RouteTarget::Blackhole);

    let h1 = &lab.hosts[0];
    assert_eq!(h1.gateway4, Some(v4("10.1.0.1")));
    let to_address = &lab.checks[4];
    assert_eq!(
        to_address.to,
        CheckTarget::Address(IpAddr::V4(v4("10.9.0.1")))
    );
    assert_eq!(to_address.reason, Some(Reason::NoRoute));
    assert_eq!(lab.checks[0].via.len(), 3);
}

#[test]
fn exercise_loads() {
    let loaded = load_valid("exercise.yaml");
    let lab = &loaded.lab;
    assert_eq!(lab.lab.value, "exercise");
    assert_eq!(lab.nacls[0].outbound.len(), 0);
    assert_eq!(lab.security_groups[3].inbound[0].proto, RuleProto::Tcp);
    assert_eq!(lab.checks.len(), 6);
}

/// Each row of EXPECT.md: (file, line, words the message names).
const EXPECTED: [(&str, u32, &[&str]); 11] = [
    (
        "unknown-group.yaml",
        5,
        &["`api-sg`", "unknown security group"],
    ),
    (
        "unknown-group.yaml",
        10,
        &["`web-sgg`", "unknown security group", "`web-sg`?"],
    ),
    ("bad-cidr.yaml", 4, &["`10.0.1.0/33`", "invalid prefix"]),
    (
        "ip-outside.yaml",
        6,
        &["`10.0.1.10` is not inside `10.0.0.0/24`"],
    ),
    (
        "typo-key.yaml",
        7,
        &["`secuirty_groups`", "unknown key", "`security_groups`?"],
    ),
    ("duplicate-ip.yaml", 6, &["`10.0.0.10` already used by `a`"]),
    ("syntax.yaml", 4, &["YAML syntax error"]),
    (
        "bad-nexthop.yaml",
        8,
        &["`10.0.9.1` is not on a network connected to `r1`"],
    ),
    ("bad-check.yaml", 8, &["`ghost`", "unknown host"]),
    ("bad-check.yaml", 9, &["`70000`", "out of range"]),
    (
        "bad-check.yaml",
        10,
        &["`maybe`", "expected allow, deny or refused"],
    ),
];

#[test]
fn invalid_labs_give_the_expected_diagnostics() {
    for (file, line, words) in EXPECTED {
        let diagnostics = diagnostics_of(file);
        let prefix = format!("{file}:{line}:");
        super::assert_has(&diagnostics, &prefix, words);
        for d in &diagnostics {
            assert!(d.starts_with(&format!("{file}:")), "{d}");
        }
    }
}

#[test]
fn invalid_labs_report_every_problem_at_once() {
    assert_eq!(diagnostics_of("bad-check.yaml").len(), 3);
    assert_eq!(diagnostics_of("unknown-group.yaml").len(), 2);
}

#[test]
fn load_rejects_invalid_fixtures() {
    for entry in std::fs::read_dir("tests/fixtures/invalid").unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "yaml") {
            assert!(load(&path).is_err(), "{}", path.display());
        }
    }
}

#[test]
fn invalid_fixture_snapshots() {
    let mut names: Vec<String> = std::fs::read_dir("tests/fixtures/invalid")
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".yaml"))
        .collect();
    names.sort();
    for name in names {
        let text = diagnostics_of(&name).join("\n");
        insta::assert_snapshot!(name.trim_end_matches(".yaml").to_string(), text);
    }
}
