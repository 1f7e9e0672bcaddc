//! NAT on a router, end to end in the engine: source NAT, port forwards,
//! 1:1 mappings, the boundary, port exhaustion, ICMP errors translated
//! back (from a router beyond the NAT, from the NAT router itself, and a
//! traceroute through it), and the same run twice.

use std::net::IpAddr;

use wirelab_net::Network;
use wirelab_sim::nat::{Dir, NatRule};
use wirelab_sim::packet::{Icmp, L4};
use wirelab_sim::{
    DropCause, NatField, NatPhase, Probe, ProbeKind, Sim, SimTime, Step, TraceEvent, TraceLevel,
};
use wirelab_spec::{Outcome, Reason};

/// inside hosts — gw (NAT) — edge — isp — internet hosts. The ISP routes
/// 10.0.0.0/8 to gw, so only the NAT boundary keeps the inside private.
const LAB: &str = r#"
lab: nat
networks:
  inside: { cidr: 10.0.1.0/24 }
  edge: { cidr: 203.0.113.0/24 }
  internet: { cidr: 198.51.100.0/24 }
routers:
  gw:
    interfaces: { inside: 10.0.1.1, edge: 203.0.113.1 }
    routes: [{ to: 0.0.0.0/0, via: 203.0.113.254 }]
    nat:
      source:
        - { from: 10.0.1.0/25, out: edge, to: masquerade, ports: PORTS }
      forward:
        - { in: edge, proto: tcp, port: 8080, to: "a:80" }
        - { in: edge, proto: udp, port: 5353, to: "a:53" }
      static:
        - { private: b, public: 203.0.113.10 }
  isp:
    interfaces: { edge: 203.0.113.254, internet: 198.51.100.1 }
    routes: [{ to: 10.0.0.0/8, via: 203.0.113.1 }]
hosts:
  a: { network: inside, ip: 10.0.1.10, services: [{ port: 80 }] }
  a2: { network: inside, ip: 10.0.1.11 }
  b: { network: inside, ip: 10.0.1.200, services: [{ port: 443 }] }
  c: { network: inside, ip: 10.0.1.201 }
  server:
    network: internet
    ip: 198.51.100.80
    services: [{ port: 443 }, { port: 123, proto: udp }]
  laptop: { network: internet, ip: 198.51.100.7 }
"#;

fn net_with_ports(ports: &str) -> Network {
    let text = LAB.replace("PORTS", ports);
    match wirelab_spec::parse_str("nat.yaml", &text) {
        Ok(l) => Network::compile(&l.lab),
        Err(d) => panic!("lab does not load: {d:#?}"),
    }
}

fn net() -> Network {
    net_with_ports("1024-65535")
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn node(net: &Network, name: &str) -> usize {
    net.nodes.iter().position(|n| n.name == name).unwrap()
}

fn probe(net: &Network, from: &str, to: &str, kind: ProbeKind) -> Probe {
    let n = node(net, from);
    let src = net.ifaces[net.nodes[n].ifaces[0]].ipv4.unwrap();
    Probe::new(n, IpAddr::V4(src), ip(to), kind)
}

/// Runs probes one after the other (each from a fresh start of the same
/// network state, 10 s apart) and returns their results.
fn run(sim: &mut Sim, probes: Vec<Probe>) -> Vec<(Outcome, Reason)> {
    let ids: Vec<usize> = probes
        .into_iter()
        .enumerate()
        .map(|(i, p)| sim.add_probe(p, SimTime::from_secs(10 * i as u64)))
        .collect();
    sim.run_probes(SimTime::from_secs(10 * ids.len() as u64 + 10));
    ids.iter()
        .map(|&i| {
            let r = sim.probe_result(i).expect("decided");
            (r.outcome, r.reason)
        })
        .collect()
}

/// A NAT step: which endpoint, the phase, before and after.
type Rewrite = (NatField, NatPhase, (IpAddr, u16), (IpAddr, u16));

fn nat_steps(trace: &[TraceEvent]) -> Vec<Rewrite> {
    trace
        .iter()
        .filter_map(|e| match e.step {
            Step::Nat(s) => Some((s.field, s.phase, s.before, s.after)),
            _ => None,
        })
        .collect()
}

/// Where packets were delivered: (node, source, destination).
fn deliveries(trace: &[TraceEvent]) -> Vec<(usize, IpAddr, IpAddr)> {
    trace
        .iter()
        .filter(|e| e.step == Step::Deliver)
        .filter_map(|e| e.packet.ip().map(|p| (e.node, p.src, p.dst)))
        .collect()
}

#[test]
fn source_nat_hands_out_ports_in_turn_and_replies_come_back_translated() {
    let net = net();
    let mut sim = Sim::new(&net, 1, TraceLevel::Full);
    let p1 = probe(&net, "a", "198.51.100.80", ProbeKind::Tcp { port: 443 });
    let p2 = probe(&net, "a2", "198.51.100.80", ProbeKind::Tcp { port: 443 });
    assert_eq!(
        run(&mut sim, vec![p1, p2]),
        vec![(Outcome::Allow, Reason::Delivered); 2]
    );
    let server = node(&net, "server");
    let at_server: Vec<IpAddr> = deliveries(sim.trace())
        .into_iter()
        .filter(|d| d.0 == server)
        .map(|d| d.1)
        .collect();
    assert!(!at_server.is_empty());
    assert!(
        at_server.iter().all(|&s| s == ip("203.0.113.1")),
        "the server sees only the NAT gateway's address: {at_server:?}"
    );
    // Every packet that reached the inside hosts came back to their own address.
    for (n, _, dst) in deliveries(sim.trace()) {
        if n == node(&net, "a") {
            assert_eq!(dst, ip("10.0.1.10"));
        }
    }
    let new: Vec<_> = nat_steps(sim.trace())
        .into_iter()
        .filter(|s| s.1 == NatPhase::New)
        .collect();
    assert_eq!(new.len(), 2, "{new:?}");
    assert_eq!(
        (new[0].0, new[0].3),
        (NatField::Source, (ip("203.0.113.1"), 1024))
    );
    assert_eq!(new[1].3, (ip("203.0.113.1"), 1025));
    assert_eq!(new[1].2 .0, ip("10.0.1.11"));
    // Replies were translated back, as replies.
    assert!(nat_steps(sim.trace())
        .iter()
        .any(|s| s.0 == NatField::Destination
            && s.1 == NatPhase::Reply
            && s.3 .0 == ip("10.0.1.10")));
    // The table: one entry per flow, keyed both ways.
    let table = sim.nat_table(0);
    assert_eq!(table.len(), 2);
    let e = table.entries().next().unwrap();
    assert_eq!(e.rule, NatRule::Source(0));
    assert_eq!(
        e.original.src,
        "10.0.1.10".parse::<std::net::Ipv4Addr>().unwrap()
    );
    assert_eq!(
        (e.reply.src_port, e.reply.dst, e.reply.dst_port),
        (443, "203.0.113.1".parse().unwrap(), 1024)
    );
    assert_eq!(e.translated(Dir::Reply), e.original.inverse());
}

#[test]
fn an_exhausted_port_range_drops_new_flows_to_that_destination_only() {
    let net = net_with_ports("2000-2000");
    let mut sim = Sim::new(&net, 1, TraceLevel::Full);
    let results = run(
        &mut sim,
        vec![
            probe(&net, "a", "198.51.100.80", ProbeKind::Tcp { port: 443 }),
            probe(&net, "a2", "198.51.100.80", ProbeKind::Tcp { port: 443 }),
            // Another destination port: the one public port serves it too.
            probe(&net, "a2", "198.51.100.80", ProbeKind::Udp { port: 123 }),
        ],
    );
    assert_eq!(results[0], (Outcome::Allow, Reason::Delivered));
    assert_eq!(results[1], (Outcome::Deny, Reason::NatPortsExhausted));
    assert_eq!(results[2], (Outcome::Allow, Reason::Delivered));
    let drop = sim.trace().iter().find_map(|e| match e.step {
        Step::Drop(c @ DropCause::NatPortsExhausted { .. }) => Some((e.node, c)),
        _ => None,
    });
    let (at, cause) = drop.expect("a drop for exhaustion");
    assert_eq!(at, node(&net, "gw"));
    assert_eq!(cause.code(), "nat-ports-exhausted");
}

#[test]
fn a_port_forward_reaches_the_inside_host_and_nothing_else_gets_in() {
    let net = net();
    let mut sim = Sim::new(&net, 1, TraceLevel::Full);
    let results = run(
        &mut sim,
        vec![
            probe(&net, "laptop", "203.0.113.1", ProbeKind::Tcp { port: 8080 }),
            probe(&net, "laptop", "10.0.1.10", ProbeKind::Tcp { port: 80 }),
            probe(&net, "laptop", "10.0.1.10", ProbeKind::Ping),
            // The gateway's other ports are its own: it resets.
            probe(&net, "laptop", "203.0.113.1", ProbeKind::Tcp { port: 81 }),
        ],
    );
    assert_eq!(
        results,
        vec![
            (Outcome::Allow, Reason::Delivered),
            (Outcome::Deny, Reason::NatUnmapped),
            (Outcome::Deny, Reason::NatUnmapped),
            (Outcome::Refused, Reason::Refused),
        ]
    );
    let a = node(&net, "a");
    assert_eq!(
        sim.probe_result(0).unwrap().node,
        Some(a),
        "the answer is a's, not the router's whose address it came from"
    );
    let at_a = deliveries(sim.trace());
    assert!(at_a
        .iter()
        .any(|&(n, s, d)| n == a && s == ip("198.51.100.7") && d == ip("10.0.1.10")));
    let laptop = node(&net, "laptop");
    assert!(
        at_a.iter()
            .filter(|d| d.0 == laptop)
            .all(|d| d.1 == ip("203.0.113.1")),
        "the laptop hears only from the public address"
    );
    let steps = nat_steps(sim.trace());
    assert!(steps.contains(&(
        NatField::Destination,
        NatPhase::New,
        (ip("203.0.113.1"), 8080),
        (ip("10.0.1.10"), 80)
    )));
}

#[test]
fn a_one_to_one_mapping_works_both_ways_and_for_every_protocol() {
    let net = net();
    let mut sim = Sim::new(&net, 1, TraceLevel::Full);
    let results = run(
        &mut sim,
        vec![
            probe(&net, "laptop", "203.0.113.10", ProbeKind::Ping),
            probe(&net, "laptop", "203.0.113.10", ProbeKind::Tcp { port: 443 }),
            probe(&net, "b", "198.51.100.80", ProbeKind::Tcp { port: 443 }),
            // c is in neither the source rule's prefix nor a mapping.
            probe(&net, "c", "198.51.100.80", ProbeKind::Tcp { port: 443 }),
        ],
    );
    assert_eq!(
        results,
        vec![
            (Outcome::Allow, Reason::Delivered),
            (Outcome::Allow, Reason::Delivered),
            (Outcome::Allow, Reason::Delivered),
            (Outcome::Deny, Reason::NatUnmapped),
        ]
    );
    let server = node(&net, "server");
    assert!(deliveries(sim.trace())
        .iter()
        .filter(|d| d.0 == server)
        .all(|d| d.1 == ip("203.0.113.10")));
    // 1:1 keeps ports.
    assert!(nat_steps(sim.trace())
        .iter()
        .filter(|s| s.0 == NatField::Source && s.1 == NatPhase::New)
        .all(|s| s.2 .1 == s.3 .1 && s.3 .0 == ip("203.0.113.10")));
}

#[test]
fn icmp_errors_about_translated_flows_are_translated_back() {
    let net = net();
    let mut sim = Sim::new(&net, 1, TraceLevel::Full);
    // A closed UDP port of the server: port unreachable about 203.0.113.1.
    let closed = probe(&net, "a", "198.51.100.80", ProbeKind::Udp { port: 9 });
    let id = sim.add_probe(closed, SimTime::ZERO);
    sim.run_probes(SimTime::from_secs(10));
    assert_eq!(sim.probe_result(id).unwrap().outcome, Outcome::Refused);
    let answer = sim.probe(id).answer.expect("an ICMP error");
    let q = answer.icmp.quoted().expect("it quotes the datagram");
    assert_eq!(
        (q.src, q.dst, q.dst_port),
        (ip("10.0.1.10"), ip("198.51.100.80"), 9)
    );
    assert!(nat_steps(sim.trace())
        .iter()
        .any(|s| s.1 == NatPhase::Related
            && s.2 == (ip("203.0.113.1"), 1024)
            && s.3 .0 == ip("10.0.1.10")));
}

#[test]
fn traceroute_through_the_nat_sees_each_hop_and_recognises_its_probes() {
    let net = net();
    let mut sim = Sim::new(&net, 1, TraceLevel::Off);
    let mut hops = Vec::new();
    for ttl in 1..=3 {
        sim.reset(1);
        let p = probe(&net, "a", "198.51.100.80", ProbeKind::Udp { port: 33434 })
            .with_ttl(ttl)
            .with_tries(1, SimTime::from_secs(3));
        let id = sim.add_probe(p, SimTime::ZERO);
        sim.run_probes(SimTime::from_secs(10));
        let answer = sim.probe(id).answer.expect("an answer per hop");
        let q = answer.icmp.quoted().expect("an ICMP error");
        // Every error quotes what `a` sent, not what left the NAT.
        assert_eq!(q.src, ip("10.0.1.10"), "ttl {ttl}");
        hops.push((
            answer.from,
            matches!(answer.icmp, Icmp::TimeExceeded { .. }),
        ));
    }
    assert_eq!(
        hops,
        vec![
            (ip("10.0.1.1"), true),
            (ip("203.0.113.254"), true),
            (ip("198.51.100.80"), false),
        ]
    );
}

#[test]
fn an_error_the_nat_router_raises_about_a_forwarded_flow_quotes_the_public_side() {
    let net = net();
    let mut sim = Sim::new(&net, 1, TraceLevel::Full);
    // The laptop's SYN reaches gw with TTL 1: gw maps it, then cannot
    // forward it. Its time exceeded must quote 203.0.113.1:8080, what the
    // laptop sent, not 10.0.1.10:80.
    let p = probe(&net, "laptop", "203.0.113.1", ProbeKind::Tcp { port: 8080 })
        .with_ttl(2)
        .with_tries(1, SimTime::from_secs(3));
    let id = sim.add_probe(p, SimTime::ZERO);
    sim.run_probes(SimTime::from_secs(10));
    let answer = sim.probe(id).answer.expect("time exceeded");
    assert!(matches!(answer.icmp, Icmp::TimeExceeded { .. }));
    assert_eq!(answer.from, ip("203.0.113.1"));
    let q = answer.icmp.quoted().unwrap();
    assert_eq!((q.dst, q.dst_port), (ip("203.0.113.1"), 8080));
}

#[test]
fn ping_identifiers_are_translated_like_ports() {
    let net = net();
    let mut sim = Sim::new(&net, 1, TraceLevel::Full);
    let p = probe(&net, "a", "198.51.100.80", ProbeKind::Ping);
    assert_eq!(
        run(&mut sim, vec![p]),
        vec![(Outcome::Allow, Reason::Delivered)]
    );
    let server = node(&net, "server");
    let ids: Vec<u16> = sim
        .trace()
        .iter()
        .filter(|e| e.node == server && e.step == Step::Deliver)
        .filter_map(|e| match e.packet.ip().map(|p| p.l4) {
            Some(L4::Icmp(Icmp::EchoRequest { id, .. })) => Some(id),
            _ => None,
        })
        .collect();
    assert_eq!(
        ids,
        vec![1024],
        "the echo left with the first NAT port as its identifier"
    );
}

#[test]
fn the_same_lab_and_seed_give_the_same_trace() {
    let net = net();
    let once = || {
        let mut sim = Sim::new(&net, 9, TraceLevel::Full);
        run(
            &mut sim,
            vec![
                probe(&net, "a", "198.51.100.80", ProbeKind::Tcp { port: 443 }),
                probe(&net, "a2", "198.51.100.80", ProbeKind::Udp { port: 9 }),
                probe(&net, "laptop", "203.0.113.1", ProbeKind::Tcp { port: 8080 }),
                probe(&net, "laptop", "203.0.113.10", ProbeKind::Ping),
            ],
        );
        format!("{:?}", sim.trace())
    };
    let first = once();
    assert!(first.contains("Nat("));
    assert_eq!(first, once());
}

#[test]
fn a_port_unreachable_from_behind_a_forward_quotes_the_public_port() {
    let net = net();
    let mut sim = Sim::new(&net, 1, TraceLevel::Full);
    // Nothing listens on udp/53 of a: a's port unreachable leaves with
    // its own address and quotes 10.0.1.10:53; the laptop must see
    // 203.0.113.1 and 5353, what it sent to.
    let p = probe(&net, "laptop", "203.0.113.1", ProbeKind::Udp { port: 5353 });
    let id = sim.add_probe(p, SimTime::ZERO);
    sim.run_probes(SimTime::from_secs(10));
    let r = sim.probe_result(id).unwrap();
    assert_eq!(
        (r.outcome, r.node),
        (Outcome::Refused, Some(node(&net, "a")))
    );
    let answer = sim.probe(id).answer.expect("port unreachable");
    assert_eq!(answer.from, ip("203.0.113.1"));
    let q = answer.icmp.quoted().unwrap();
    assert_eq!(
        (q.src, q.dst, q.dst_port),
        (ip("198.51.100.7"), ip("203.0.113.1"), 5353)
    );
    assert!(nat_steps(sim.trace())
        .iter()
        .any(|s| s.0 == NatField::Source
            && s.1 == NatPhase::Related
            && s.2 == (ip("10.0.1.10"), 53)
            && s.3 == (ip("203.0.113.1"), 5353)));
}
