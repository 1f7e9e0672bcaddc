//! The counters metrics report, through small labs written as a lab
//! author writes them: which rule a packet counts against (and that an
//! unused rule stays at zero), NACL rules including the final `*`,
//! bytes per interface and direction against the frames themselves, TCP
//! opens and retransmissions on a lossy link, DNS cache hits.

use wirelab_net::{Direction, Network};
use wirelab_sim::counters::{drop_index, RuleOwner, RunCounters, DROP_CODES};
use wirelab_sim::scenario::{run, RunOptions, RunReport};
use wirelab_sim::{DropCause, SimTime};

fn lab(yaml: &str) -> wirelab_spec::Lab {
    match wirelab_spec::parse_str("counters.yaml", yaml) {
        Ok(l) => l.lab,
        Err(d) => panic!("lab does not load: {d:#?}"),
    }
}

fn run_lab(net: &Network, capture: bool) -> RunReport {
    let options = RunOptions {
        until: SimTime::from_secs(60),
        events_max: 10_000_000,
        capture,
    };
    run(net, options, &mut |_| {})
}

/// The hits of the rule of `owner` in `direction` written at `line`.
fn hits_at(c: &RunCounters, owner: RuleOwner, direction: Direction, line: u32) -> u64 {
    let found: Vec<u64> = c
        .rule_hits()
        .filter(|(r, _)| r.owner == owner && r.direction == direction && r.span.line == line)
        .map(|(_, n)| n)
        .collect();
    assert_eq!(found.len(), 1, "one rule at line {line}: {found:?}");
    found[0]
}

/// The hits of a NACL's final `*` rule.
fn star_hits(c: &RunCounters, nacl: usize, direction: Direction) -> u64 {
    c.rule_hits()
        .find(|(r, _)| {
            r.owner == RuleOwner::Nacl(nacl) && r.direction == direction && r.rule.is_none()
        })
        .map(|(_, n)| n)
        .expect("every NACL has a * rule per direction")
}

/// The line of the first line in `yaml` containing `needle` (1-based).
fn line_of(yaml: &str, needle: &str) -> u32 {
    yaml.lines()
        .position(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("`{needle}` is not in the lab")) as u32
        + 1
}

const ROUTED: &str = r#"
lab: counters
networks:
  a: { cidr: 10.0.1.0/24 }
  b: { cidr: 10.0.2.0/24, nacl: b-acl }
routers:
  r: { interfaces: { a: 10.0.1.1, b: 10.0.2.1 } }
hosts:
  c: { network: a, ip: 10.0.1.10 }
  s: { network: b, ip: 10.0.2.10, security_groups: [s-sg], services: [{ port: 5004, proto: udp }, { port: 22 }] }
security_groups:
  s-sg:
    inbound:
      - { proto: icmp, from: 10.0.0.0/16 }            # the pings' rule
      - { proto: tcp, port: 22, from: 10.0.0.0/16 }   # never used
nacls:
  b-acl:
    inbound:
      - { rule: 100, action: allow, proto: icmp, cidr: 0.0.0.0/0 }
      - { rule: 200, action: deny, proto: udp, port: 5004, cidr: 0.0.0.0/0 }
    outbound:
      - { rule: 100, action: allow, proto: icmp, cidr: 0.0.0.0/0 }
traffic:
  - { name: pings, from: c, to: s, ping: { count: 5, interval: 100ms } }
  - name: denied by rule 200
    from: c
    to: s
    port: 5004
    onoff: { rate: 64Kbps, on: 1s, off: 0s, packet: 160B, duration: 200ms }
  - name: denied by the star rule
    from: c
    to: s
    port: 9
    onoff: { rate: 64Kbps, on: 1s, off: 0s, packet: 160B, duration: 100ms }
"#;

#[test]
fn a_security_group_rule_counts_each_new_flow_and_an_unused_rule_stays_at_zero() {
    let net = Network::compile(&lab(ROUTED));
    let r = run_lab(&net, false);
    let c = &r.counters;
    let sg = RuleOwner::SecurityGroup(0);
    let echo_rule = line_of(ROUTED, "the pings' rule");
    let ssh_rule = line_of(ROUTED, "never used");
    assert_eq!(r.flows[0].received, 5, "{:?}", r.flows[0]);
    // The five echo requests are one flow (one ICMP id): its first packet
    // is the rule's; the four others and the five replies are tracked.
    assert_eq!(hits_at(c, sg, Direction::Inbound, echo_rule), 1);
    assert_eq!(hits_at(c, sg, Direction::Inbound, ssh_rule), 0);
    let s = net.lab.host_by_name("s").unwrap();
    assert_eq!(c.sg_tracked[s].established, [4, 5]);
    assert_eq!(c.sg_tracked[s].related, [0, 0]);
    // The listed rule positions are as written, 1-based.
    let positions: Vec<Option<u32>> = c
        .rule_hits()
        .filter(|(r, _)| r.owner == sg)
        .map(|(r, _)| r.rule)
        .collect();
    assert_eq!(positions, [Some(1), Some(2)]);
}

#[test]
fn every_packet_counts_against_the_nacl_rule_that_decided_it_including_the_star_rule() {
    let net = Network::compile(&lab(ROUTED));
    let r = run_lab(&net, false);
    let c = &r.counters;
    let acl = RuleOwner::Nacl(0);
    let (to_5004, to_9) = (r.flows[1].sent, r.flows[2].sent);
    assert!(to_5004 > 0 && to_9 > 0, "{:?}", r.flows);
    let lines = |needle| line_of(ROUTED, needle);
    let allow_in = lines("rule: 100, action: allow, proto: icmp");
    let deny_in = lines("rule: 200");
    let allow_out = allow_in + 3;
    // Five echo requests in, five replies out (a stateless NACL sees
    // both), every datagram to 5004 denied by rule 200, every one to
    // port 9 by the final * rule.
    assert_eq!(hits_at(c, acl, Direction::Inbound, allow_in), 5);
    assert_eq!(hits_at(c, acl, Direction::Outbound, allow_out), 5);
    assert_eq!(hits_at(c, acl, Direction::Inbound, deny_in), to_5004);
    assert_eq!(star_hits(c, 0, Direction::Inbound), to_9);
    assert_eq!(star_hits(c, 0, Direction::Outbound), 0);
    let nacl_in = drop_index(&DropCause::NaclInbound {
        nacl: 0,
        segment: 0,
        rule: None,
        span: None,
    });
    assert_eq!(DROP_CODES[nacl_in], "nacl-inbound");
    assert_eq!(c.drops[nacl_in], to_5004 + to_9);
    assert_eq!(c.drops.iter().sum::<u64>(), to_5004 + to_9);
}

#[test]
fn bytes_per_interface_and_direction_are_the_frames_on_the_wire() {
    let yaml = r#"
lab: bytes
networks:
  a: { cidr: 10.0.1.0/24 }
hosts:
  c: { network: a, ip: 10.0.1.10 }
  s: { network: a, ip: 10.0.1.20 }
traffic:
  - { name: pings, from: c, to: s, ping: { count: 3, interval: 10ms } }
"#;
    let net = Network::compile(&lab(yaml));
    let r = run_lab(&net, true);
    let c = &r.counters;
    assert!(!r.frames.is_empty());
    for (i, stats) in c.ifaces.iter().enumerate() {
        let sent: Vec<u64> = r
            .frames
            .iter()
            .filter(|f| f.iface == i)
            .map(|f| u64::from(f.packet.wire_len()))
            .collect();
        assert_eq!(stats.frames, sent.len() as u64, "iface {i}");
        assert_eq!(stats.bytes, sent.iter().sum::<u64>(), "iface {i}");
    }
    // Two hosts on one segment: each receives what the other sends. An
    // ARP request (60 bytes, padded), then three 98-byte echo requests;
    // an ARP reply and three echo replies back.
    let (ci, si) = (
        net.nodes[net.host_node(0)].ifaces[0],
        net.nodes[net.host_node(1)].ifaces[0],
    );
    let (cs, ss) = (c.ifaces[ci], c.ifaces[si]);
    assert_eq!((cs.frames, cs.bytes), (4, 60 + 3 * 98));
    assert_eq!((ss.rx_frames, ss.rx_bytes), (cs.frames, cs.bytes));
    assert_eq!((cs.rx_frames, cs.rx_bytes), (ss.frames, ss.bytes));
}

#[test]
fn tcp_counts_opens_and_retransmissions_on_a_lossy_link() {
    let yaml = r#"
lab: lossy
seed: 7
networks:
  a: { cidr: 10.0.1.0/24 }
  b: { cidr: 10.0.2.0/24, link: { bandwidth: 10Mbps, delay: 20ms, loss: 3% } }
routers:
  r: { interfaces: { a: 10.0.1.1, b: 10.0.2.1 } }
hosts:
  c: { network: a, ip: 10.0.1.10 }
  s: { network: b, ip: 10.0.2.10, services: [{ port: 873 }] }
traffic:
  - { name: backup, from: c, to: s, port: 873, bulk: 300KB }
"#;
    let net = Network::compile(&lab(yaml));
    let r = run_lab(&net, false);
    let t = &r.counters.tcp;
    assert!(r.flows[0].done_ns.is_some(), "{:?}", r.flows[0]);
    assert_eq!((t.opened_active, t.opened_passive), (1, 1));
    // The client's retransmissions, and any of the server's (its FIN).
    assert!(r.flows[0].retransmissions > 0, "{:?}", r.flows[0]);
    assert!(t.retransmitted_segments >= r.flows[0].retransmissions);
    let losses = r.counters.drops[drop_index(&DropCause::Lost { segment: 0 })];
    assert!(losses > 0);
    // One handshake: at least a round trip over the 20 ms segment.
    assert_eq!(t.handshakes, 1);
    assert!(t.handshake_ns_sum >= 40_000_000, "{}", t.handshake_ns_sum);
    assert!(t.handshake_buckets.iter().sum::<u64>() <= 1);
}

#[test]
fn a_repeated_lookup_is_a_cache_hit_of_the_resolver() {
    let yaml = r#"
lab: dns
networks:
  home: { cidr: 10.0.1.0/24 }
  dc: { cidr: 10.0.3.0/24, link: { delay: 10ms } }
routers:
  r: { interfaces: { home: 10.0.1.1, dc: 10.0.3.1 } }
hosts:
  client: { network: home, ip: 10.0.1.10, resolver: resolver }
  resolver: { network: home, ip: 10.0.1.53, services: [{ port: 53, proto: udp, app: resolver }] }
  ns1: { network: dc, ip: 10.0.3.53, services: [{ port: 53, proto: udp, app: dns }] }
dns:
  zones:
    - name: example.com
      servers: [ns1]
      records:
        - { name: www, type: A, value: 10.0.3.80 }
"#;
    let net = Network::compile(&lab(yaml));
    let client = net.lab.host_by_name("client").unwrap();
    let mut sim = wirelab_sim::Sim::new(&net, 1, wirelab_sim::TraceLevel::Off);
    let name = wirelab_dns::proto::rr::Name::from_ascii("www.example.com.").unwrap();
    let lookup = |sim: &mut wirelab_sim::Sim<'_>| {
        let id = sim.start_lookup(client, name.clone(), wirelab_dns::proto::rr::RecordType::A);
        let until = sim.now() + SimTime::from_secs(30);
        sim.run_while(until, |s| s.lookups()[id].outcome.is_some());
        assert!(sim.lookups()[id].outcome.is_some());
        sim.counters_now().dns
    };
    let first = lookup(&mut sim);
    let (stub, resolver) = (0, 1);
    let udp = 0;
    assert_eq!(first.queries[stub][udp], 1);
    assert_eq!(first.answers[stub][udp], 1);
    assert!(first.queries[resolver][udp] >= 1, "{first:?}");
    assert_eq!(first.answers[resolver], first.queries[resolver]);
    assert_eq!((first.cache_hits, first.cache_misses), (0, 1));
    let second = lookup(&mut sim);
    assert_eq!(second.queries[stub][udp], 2);
    assert_eq!(second.queries[resolver], first.queries[resolver]);
    assert_eq!((second.cache_hits, second.cache_misses), (1, 1));
}

#[test]
fn rules_events_add_count_in_slots_of_their_own() {
    let yaml = r#"
lab: events
networks:
  a: { cidr: 10.0.1.0/24 }
  b: { cidr: 10.0.2.0/24, nacl: b-acl }
routers:
  r: { interfaces: { a: 10.0.1.1, b: 10.0.2.1 } }
hosts:
  c: { network: a, ip: 10.0.1.10 }
  s: { network: b, ip: 10.0.2.10, security_groups: [s-sg] }
security_groups:
  s-sg:
    inbound:
      - { proto: tcp, port: 22, from: 10.0.0.0/16 }
nacls:
  b-acl:
    inbound:
      - { rule: 100, action: allow, proto: all, cidr: 0.0.0.0/0 }
    outbound:
      - { rule: 100, action: allow, proto: all, cidr: 0.0.0.0/0 }
traffic:
  - { name: early, from: c, to: s, ping: { count: 1 } }
  - { name: late, from: c, to: s, start: 3s, ping: { count: 1 } }
events:
  - { at: 1s, security_group: s-sg, add_inbound: { proto: icmp, from: 10.0.1.0/24 } }
  - { at: 2s, nacl: b-acl, add_inbound: { rule: 50, action: allow, proto: icmp, cidr: 10.0.1.0/24 } }
"#;
    let net = Network::compile(&lab(yaml));
    let r = run_lab(&net, false);
    let c = &r.counters;
    assert_eq!((r.flows[0].received, r.flows[1].received), (0, 1));
    let sg = RuleOwner::SecurityGroup(0);
    let acl = RuleOwner::Nacl(0);
    let added_sg = line_of(yaml, "add_inbound: { proto: icmp");
    let added_nacl = line_of(yaml, "rule: 50");
    let events: Vec<Option<usize>> = c.rule_hits().map(|(r, _)| r.event).collect();
    assert_eq!(events.iter().filter(|e| e.is_some()).count(), 2);
    assert_eq!(hits_at(c, sg, Direction::Inbound, added_sg), 1);
    assert_eq!(
        hits_at(c, sg, Direction::Inbound, line_of(yaml, "port: 22")),
        0
    );
    // Before the NACL event, the early echo went in by rule 100; after
    // it, the late one by rule 50.
    assert_eq!(hits_at(c, acl, Direction::Inbound, added_nacl), 1);
    assert_eq!(
        hits_at(
            c,
            acl,
            Direction::Inbound,
            line_of(yaml, "rule: 100, action: allow, proto: all")
        ),
        1
    );
    let sg_in = drop_index(&DropCause::SgInbound { groups_len: 1 });
    assert_eq!(c.drops[sg_in], 1);
}

#[test]
fn the_same_lab_and_seed_count_the_same_and_a_reset_clears_the_counters() {
    let net = Network::compile(&lab(ROUTED));
    let (a, b) = (run_lab(&net, false), run_lab(&net, false));
    assert_eq!(a.counters, b.counters);
    let mut sim = wirelab_sim::Sim::new(&net, 1, wirelab_sim::TraceLevel::Off);
    let ping = |sim: &mut wirelab_sim::Sim<'_>| {
        let p = wirelab_sim::Pinger::new(
            net.host_node(0),
            "10.0.1.10".parse().unwrap(),
            "10.0.2.10".parse().unwrap(),
            SimTime::from_millis(1),
            3,
        );
        sim.add_pinger(p, SimTime::ZERO);
        sim.run_until(SimTime::from_secs(1));
        sim.counters_now()
    };
    let counted = ping(&mut sim);
    assert!(counted.rule_hits.iter().sum::<u64>() > 0);
    assert!(counted.sg_tracked.iter().any(|t| t.established != [0, 0]));
    sim.reset(1);
    let cleared = sim.counters_now();
    assert!(cleared.sg_tracked.iter().all(|t| *t == Default::default()));
    assert!(cleared.rule_hits.iter().all(|&n| n == 0));
    assert!(cleared.ifaces.iter().all(|s| *s == Default::default()));
    assert!(cleared.drops.iter().all(|&n| n == 0));
    // A reset clears only what the run touched: the next run counts from
    // zero all the same.
    assert_eq!(ping(&mut sim), counted);
}
