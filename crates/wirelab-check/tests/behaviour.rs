//! What the simulated network does, checked through the same path a user
//! takes: a lab written in YAML, compiled, its checks run and graded.
//! Each test states one behaviour of a real network.

use wirelab_check::{run_checks, Report, Status};
use wirelab_net::Network;
use wirelab_sim::{Pinger, Sim, SimTime, TraceLevel};

fn lab(yaml: &str) -> wirelab_spec::Lab {
    match wirelab_spec::parse_str("test.yaml", yaml) {
        Ok(l) => l.lab,
        Err(d) => panic!("lab does not load: {d:#?}"),
    }
}

fn run(yaml: &str) -> Report {
    let net = Network::compile(&lab(yaml));
    run_checks(&net, 2)
}

/// (observed, reason, at) of the named check.
fn observed(r: &Report, name: &str) -> (String, String, Option<String>) {
    let c = r
        .checks
        .iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("no check {name}"));
    (c.observed.to_string(), c.reason.to_string(), c.at.clone())
}

const TWO_SUBNETS: &str = r#"
lab: t
networks:
  a: { cidr: 10.0.1.0/24 }
  b: { cidr: 10.0.2.0/24 }
routers:
  r: { interfaces: { a: 10.0.1.1, b: 10.0.2.1 } }
hosts:
  client: { network: a, ip: 10.0.1.10, security_groups: [client-sg] }
  server:
    network: b
    ip: 10.0.2.10
    security_groups: [server-sg]
    services: [{ port: 80 }, { port: 53, proto: udp }]
security_groups:
  client-sg:
    inbound: []
  server-sg:
    inbound:
      - { proto: tcp, port: 80, from: 10.0.1.0/24 }
      - { proto: tcp, port: 81, from: 10.0.1.0/24 }
      - { proto: udp, ports: 53-54, from: 10.0.1.0/24 }
    outbound: []
checks:
  - { name: web, from: client, to: server, port: 80, expect: allow }
  - { name: closed tcp, from: client, to: server, port: 81, expect: refused }
  - { name: udp, from: client, to: server, proto: udp, port: 53, expect: allow }
  - { name: closed udp, from: client, to: server, proto: udp, port: 54, expect: refused }
  - { name: server cannot open, from: server, to: client, port: 80, expect: deny }
  - { name: nobody home, from: client, to: 10.0.2.99, proto: icmp, expect: deny }
"#;

#[test]
fn replies_of_tracked_flows_pass_whatever_the_rules_say() {
    // The server lets nothing new out and the client lets nothing in,
    // yet the handshake completes: both directions are one tracked flow.
    let r = run(TWO_SUBNETS);
    assert_eq!(
        observed(&r, "web"),
        ("allow".into(), "delivered".into(), Some("server".into()))
    );
}

#[test]
fn errors_about_tracked_flows_are_related_and_pass() {
    // The RST and the ICMP port unreachable leave a server whose outbound
    // list is empty and enter a client whose inbound list is empty.
    let r = run(TWO_SUBNETS);
    assert_eq!(observed(&r, "closed tcp").0, "refused");
    assert_eq!(observed(&r, "closed udp").0, "refused");
    assert_eq!(observed(&r, "udp").0, "allow");
}

#[test]
fn an_empty_outbound_list_stops_new_flows_at_the_source() {
    let r = run(TWO_SUBNETS);
    assert_eq!(
        observed(&r, "server cannot open"),
        ("deny".into(), "sg-outbound".into(), Some("server".into()))
    );
}

#[test]
fn a_router_reports_a_neighbour_that_never_answers() {
    let r = run(TWO_SUBNETS);
    assert_eq!(
        observed(&r, "nobody home"),
        ("deny".into(), "host-unreachable".into(), Some("r".into()))
    );
    let c = r.checks.iter().find(|c| c.name == "nobody home").unwrap();
    // Three solicitations one second apart, then the ICMP error ends it.
    assert!(
        c.decided_ns >= 3_000_000_000 && c.decided_ns < 4_000_000_000,
        "{}",
        c.decided_ns
    );
}

const NACL_LAB: &str = r#"
lab: t
networks:
  a: { cidr: 10.0.1.0/24 }
  b: { cidr: 10.0.2.0/24, nacl: b-acl }
routers:
  r: { interfaces: { a: 10.0.1.1, b: 10.0.2.1 } }
hosts:
  c: { network: a, ip: 10.0.1.10 }
  s: { network: b, ip: 10.0.2.10, services: [{ port: 22 }, { port: 80 }, { port: 443 }] }
  s2: { network: b, ip: 10.0.2.11, services: [{ port: 22 }] }
nacls:
  b-acl:
    inbound:
      - { rule: 200, action: allow, proto: tcp, ports: 0-65535, cidr: 0.0.0.0/0 }
      - { rule: 100, action: deny, proto: tcp, port: 22, cidr: 0.0.0.0/0 }
      - { rule: 150, action: allow, proto: icmp, cidr: 10.0.1.0/24 }
    outbound:
      - { rule: 100, action: allow, proto: tcp, ports: 49152-65535, cidr: 10.0.1.0/24 }
      - { rule: 110, action: deny, proto: tcp, port: 80, cidr: 0.0.0.0/0 }
checks:
  - { name: lower number wins, from: c, to: s, port: 22, expect: deny }
  - { name: allowed both ways, from: c, to: s, port: 443, expect: allow }
  - { name: reply needs its own rule, from: c, to: s, proto: icmp, expect: deny }
  - { name: same subnet skips the nacl, from: s2, to: s, port: 22, expect: allow }
"#;

#[test]
fn nacl_rules_apply_in_number_order() {
    let r = run(NACL_LAB);
    assert_eq!(
        observed(&r, "lower number wins"),
        ("deny".into(), "nacl-inbound".into(), Some("r".into()))
    );
    assert_eq!(observed(&r, "allowed both ways").0, "allow");
}

#[test]
fn nacls_are_stateless_so_replies_are_filtered_too() {
    // The echo request is allowed in; the echo reply has no outbound rule.
    let r = run(NACL_LAB);
    assert_eq!(
        observed(&r, "reply needs its own rule"),
        ("deny".into(), "nacl-outbound".into(), Some("r".into()))
    );
}

#[test]
fn traffic_inside_a_network_does_not_cross_its_nacl() {
    let r = run(NACL_LAB);
    assert_eq!(
        observed(&r, "same subnet skips the nacl"),
        ("allow".into(), "delivered".into(), Some("s".into()))
    );
    assert!(r
        .checks
        .iter()
        .find(|c| c.name == "same subnet skips the nacl")
        .unwrap()
        .path
        .is_empty());
}

#[test]
fn a_failed_expectation_names_what_differed() {
    let yaml = NACL_LAB.replace(
        "{ name: lower number wins, from: c, to: s, port: 22, expect: deny }",
        "{ name: lower number wins, from: c, to: s, port: 22, expect: deny, reason: sg-inbound, points: 3 }",
    );
    let r = run(&yaml);
    let c = r
        .checks
        .iter()
        .find(|c| c.name == "lower number wins")
        .unwrap();
    assert_eq!(c.status, Status::Fail);
    assert_eq!(c.earned, 0);
    assert_eq!(
        c.failure.as_deref(),
        Some("expected reason sg-inbound, observed nacl-inbound")
    );
    assert!(
        c.explanation.contains("b-acl") && c.explanation.contains("rule 100"),
        "{}",
        c.explanation
    );
    assert_eq!(r.max_score, 6);
    assert_eq!(r.score, 3);
}

#[test]
fn a_host_without_a_route_fails_at_once_with_no_route() {
    let r = run(r#"
lab: t
networks:
  a: { cidr: 10.0.1.0/24 }
hosts:
  c: { network: a }
checks:
  - { name: off net, from: c, to: 192.0.2.1, proto: icmp, expect: deny, reason: no-route }
"#);
    let c = &r.checks[0];
    assert_eq!(
        (c.observed, c.reason, c.at.as_deref()),
        ("deny", "no-route", Some("c"))
    );
    assert_eq!(
        c.decided_ns, 0,
        "the route lookup fails before anything is sent"
    );
}

#[test]
fn serialization_and_propagation_delays_add_up() {
    // 1 Mbps and 10 ms each way on both segments. An echo request is
    // 98 bytes on the wire: 784 us to serialize. The ARP exchanges come
    // first on each segment.
    let yaml = r#"
lab: t
networks:
  a: { cidr: 10.0.1.0/24, link: { bandwidth: 1Mbps, delay: 10ms } }
  b: { cidr: 10.0.2.0/24, link: { bandwidth: 1Mbps, delay: 10ms } }
routers:
  r: { interfaces: { a: 10.0.1.1, b: 10.0.2.1 } }
hosts:
  c: { network: a, ip: 10.0.1.10 }
  s: { network: b, ip: 10.0.2.10 }
checks:
  - { name: ping, from: c, to: s, proto: icmp, expect: allow }
"#;
    let r = run(yaml);
    let arp = 10_000_000 + 480_000; // 60-byte frame at 1 Mbps = 480 us, plus 10 ms
    let echo = 10_000_000 + 784_000;
    // c: ARP request+reply, echo to r; r: ARP request+reply, echo to s;
    // s: echo reply to r (s learned r from its request); r: reply to c.
    let expected = 2 * arp + echo + 2 * arp + echo + echo + echo;
    assert_eq!(r.checks[0].decided_ns, expected);
}

#[test]
fn random_loss_of_every_frame_ends_in_a_timeout() {
    let r = run(r#"
lab: t
networks:
  a: { cidr: 10.0.1.0/24, link: { loss: 100% } }
hosts:
  c: { network: a }
  s: { network: a, services: [{ port: 80 }] }
checks:
  - { name: lost, from: c, to: s, port: 80, expect: deny, reason: timeout }
"#);
    assert_eq!(r.checks[0].status, Status::Pass, "{:?}", r.checks[0]);
    assert!(
        r.checks[0].explanation.contains("lost"),
        "{}",
        r.checks[0].explanation
    );
}

#[test]
fn ipv6_uses_neighbour_discovery_and_hop_limits() {
    let r = run(r#"
lab: t
networks:
  a: { ipv6: "2001:db8:1::/64" }
  b: { ipv6: "2001:db8:2::/64" }
routers:
  r: { interfaces: { a: "2001:db8:1::1", b: "2001:db8:2::1" } }
hosts:
  c: { network: a }
  s: { network: b, services: [{ port: 443 }] }
checks:
  - { name: v6 tcp, from: c, to: s, port: 443, expect: allow, via: [r] }
  - { name: v6 ping, from: c, to: s, proto: icmp, expect: allow }
  - { name: v6 nobody, from: c, to: "2001:db8:2::99", proto: icmp, expect: deny, reason: host-unreachable }
"#);
    for c in &r.checks {
        assert_eq!(c.status, Status::Pass, "{:?}", c);
    }
}

#[test]
fn the_same_lab_and_seed_give_the_same_report() {
    let a = wirelab_check::render(&run(NACL_LAB), wirelab_check::Format::Json);
    let b = wirelab_check::render(&run(NACL_LAB), wirelab_check::Format::Json);
    assert_eq!(a, b);
}

#[test]
fn a_full_queue_drops_the_tail() {
    // 40 pingers fire at the same instant into a 2-packet queue on a slow
    // link: most requests are dropped at the sender's interface.
    let l = lab(r#"
lab: t
networks:
  a: { cidr: 10.0.1.0/24, link: { bandwidth: 100Kbps, queue: 2 } }
hosts:
  c: { network: a, ip: 10.0.1.10 }
  s: { network: a, ip: 10.0.1.20 }
"#);
    let net = Network::compile(&l);
    let mut sim = Sim::new(&net, 1, TraceLevel::Off);
    let c = net.host_node(0);
    for _ in 0..40 {
        sim.add_pinger(
            Pinger::new(
                c,
                "10.0.1.10".parse().unwrap(),
                "10.0.1.20".parse().unwrap(),
                SimTime::ZERO,
                1,
            ),
            SimTime::from_millis(10),
        );
    }
    sim.run_until(SimTime::from_secs(10));
    let received: u32 = sim.pingers().iter().map(|p| p.received).sum();
    // The first request resolves the neighbour while two more wait
    // (unres_qlen 3, oldest dropped); then the queue holds two.
    assert!(received > 0 && received < 10, "received {received}");
    assert!(sim.counters.drops >= 30, "drops {}", sim.counters.drops);
}

#[test]
fn own_addresses_go_over_loopback_and_broadcasts_get_no_answer() {
    let r = run(r#"
lab: t
networks:
  a: { cidr: 10.0.1.0/24 }
  b: { cidr: 10.0.2.0/24 }
routers:
  r1: { interfaces: { a: 10.0.1.1, b: 10.0.2.1 } }
hosts:
  c1: { network: a, ip: 10.0.1.10, security_groups: [closed], services: [{ port: 22 }] }
  s: { network: b, ip: 10.0.2.10 }
security_groups:
  closed: { inbound: [] }
checks:
  - { name: self ssh, from: c1, to: c1, port: 22, expect: allow }
  - { name: loopback, from: c1, to: 127.0.0.1, proto: icmp, expect: allow }
  - { name: directed broadcast, from: c1, to: 10.0.2.255, proto: icmp, expect: deny }
  - { name: own broadcast, from: c1, to: 10.0.1.0, proto: icmp, expect: deny }
  - { name: router far side, from: c1, to: 10.0.2.1, proto: icmp, expect: allow }
"#);
    // Loopback traffic never meets the security group that admits nothing.
    assert_eq!(
        observed(&r, "self ssh"),
        ("allow".into(), "delivered".into(), Some("c1".into()))
    );
    assert_eq!(
        observed(&r, "loopback"),
        ("allow".into(), "delivered".into(), Some("c1".into()))
    );
    assert_eq!(
        observed(&r, "directed broadcast"),
        ("deny".into(), "timeout".into(), Some("r1".into()))
    );
    assert_eq!(
        observed(&r, "own broadcast"),
        ("deny".into(), "timeout".into(), Some("c1".into()))
    );
    let far = r
        .checks
        .iter()
        .find(|c| c.name == "router far side")
        .unwrap();
    assert!(
        far.explanation.contains("answered by the router r1 itself"),
        "{}",
        far.explanation
    );
}
