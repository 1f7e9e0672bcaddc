//! Labs over time: workloads, timed events, link properties, and the
//! checks that grade a workload — through YAML, as a lab author writes
//! them.

use wirelab_check::{run_checks, Status};
use wirelab_net::Network;
use wirelab_sim::scenario::{run, RunEnd, RunOptions, RunReport};
use wirelab_sim::SimTime;

fn lab(yaml: &str) -> wirelab_spec::Lab {
    match wirelab_spec::parse_str("run.yaml", yaml) {
        Ok(l) => l.lab,
        Err(d) => panic!("lab does not load: {d:#?}"),
    }
}

fn run_lab(yaml: &str, until_s: u64) -> RunReport {
    let net = Network::compile(&lab(yaml));
    let options = RunOptions {
        until: SimTime::from_secs(until_s),
        events_max: 10_000_000,
        capture: false,
    };
    run(&net, options, &mut |_| {})
}

const BASE: &str = r#"
lab: t
networks:
  a: { cidr: 10.0.1.0/24 }
  b: { cidr: 10.0.2.0/24, nacl: b-acl, link: { bandwidth: 1Mbps, delay: 10ms } }
routers:
  r: { interfaces: { a: 10.0.1.1, b: 10.0.2.1 } }
hosts:
  c: { network: a, ip: 10.0.1.10 }
  s: { network: b, ip: 10.0.2.10, security_groups: [s-sg], services: [{ port: 5004, proto: udp }] }
security_groups:
  s-sg:
    inbound:
      - { proto: icmp, from: 10.0.0.0/16 }
      - { proto: udp, port: 5004, from: 10.0.0.0/16 }
nacls:
  b-acl:
    inbound: [{ rule: 100, action: allow, proto: all, cidr: 0.0.0.0/0 }]
    outbound: [{ rule: 100, action: allow, proto: all, cidr: 0.0.0.0/0 }]
"#;

fn with(extra: &str) -> String {
    format!("{BASE}{extra}")
}

#[test]
fn removing_a_security_group_rule_keeps_tracked_flows_but_stops_new_ones() {
    let r = run_lab(
        &with(
            r#"
traffic:
  - { name: early, from: c, to: s, ping: { count: 5, interval: 1s } }
  - { name: late, from: c, to: s, start: 3s, ping: { count: 2 } }
events:
  - { at: 2500ms, security_group: s-sg, remove_inbound: { proto: icmp, from: 10.0.0.0/16 } }
"#,
        ),
        60,
    );
    assert_eq!(r.end, RunEnd::Quiet);
    assert_eq!(
        (r.flows[0].sent, r.flows[0].received),
        (5, 5),
        "{:?}",
        r.flows[0]
    );
    assert_eq!(
        (r.flows[1].sent, r.flows[1].received),
        (2, 0),
        "{:?}",
        r.flows[1]
    );
}

/// A UDP stream to `s`, whose security group admits it from `from`;
/// the rule is removed at 3 s, between the stream's second and third
/// bursts. `s` sets no outbound rules, so everything may leave it.
fn stream_through_a_removed_rule(from: &str) -> (u64, u64) {
    let lab = BASE.replace(
        "- { proto: udp, port: 5004, from: 10.0.0.0/16 }",
        &format!("- {{ proto: udp, port: 5004, from: {from} }}"),
    );
    let r = run_lab(
        &format!(
            r#"{lab}
traffic:
  - {{ name: voice, from: c, to: s, port: 5004, onoff: {{ rate: 64Kbps, on: 1s, off: 1s, packet: 160B, duration: 6s }} }}
events:
  - {{ at: 3s, security_group: s-sg, remove_inbound: {{ proto: udp, port: 5004, from: {from} }} }}
"#
        ),
        60,
    );
    (r.flows[0].sent, r.flows[0].received)
}

#[test]
fn a_flow_open_to_everyone_both_ways_is_untracked_and_cut_when_its_rule_goes() {
    // AWS: inbound from 0.0.0.0/0 and everything allowed out: the flow is
    // not tracked, so the third burst meets the rules without the removed one.
    assert_eq!(stream_through_a_removed_rule("0.0.0.0/0"), (150, 100));
}

#[test]
fn a_flow_admitted_from_a_narrower_prefix_is_tracked_and_survives_the_removal() {
    assert_eq!(stream_through_a_removed_rule("10.0.0.0/16"), (150, 150));
}

#[test]
fn a_nacl_change_cuts_flows_at_once() {
    let r = run_lab(
        &with(
            r#"
traffic:
  - { name: pings, from: c, to: s, ping: { count: 5, interval: 1s } }
events:
  - { at: 2500ms, nacl: b-acl, add_inbound: { rule: 50, action: deny, proto: icmp, cidr: 0.0.0.0/0 } }
"#,
        ),
        60,
    );
    // Echoes at 0, 1 and 2 s are answered; those at 3 and 4 s are not.
    assert_eq!(
        (r.flows[0].sent, r.flows[0].received),
        (5, 3),
        "{:?}",
        r.flows[0]
    );
}

#[test]
fn a_link_down_loses_what_is_sent_until_it_comes_back_up() {
    let r = run_lab(
        &with(
            r#"
traffic:
  - { name: voice, from: c, to: s, port: 5004, onoff: { rate: 64Kbps, on: 1s, off: 1s, packet: 160B, duration: 6s } }
events:
  - { at: 4s, link_down: b }
  - { at: 5s, link_up: b }
"#,
        ),
        60,
    );
    let v = &r.flows[0];
    // 50 datagrams per on period (64 kbit/s of 160-byte datagrams); the
    // third on period falls entirely in the outage.
    assert_eq!((v.sent, v.received), (150, 100), "{v:?}");
    assert_eq!(v.completion_ns(), Some(6_000_000_000));
    let down: u64 = r.links.iter().map(|l| l.drops_down).sum();
    assert_eq!(down, 50);
}

#[test]
fn packets_larger_than_the_next_mtu_get_fragmentation_needed() {
    let yaml = with(
        r#"
traffic:
  - { name: big, from: c, to: s, ping: { count: 2, size: 1400 } }
  - { name: small, from: c, to: s, ping: { count: 2, size: 900 } }
events:
  - { at: 0s, link: b, set: { mtu: 1000 } }
"#,
    );
    let r = run_lab(&yaml, 60);
    assert_eq!(r.flows[0].received, 0);
    assert_eq!(r.flows[1].received, 2);
    let too_big: u64 = r
        .links
        .iter()
        .filter(|l| l.node == "r")
        .map(|l| l.drops_too_big)
        .sum();
    assert_eq!(too_big, 2);
}

#[test]
fn ping_round_trips_add_up_serialization_and_propagation() {
    let r = run_lab(
        &with("traffic:\n  - { name: p, from: c, to: s, ping: { count: 3, interval: 1s } }\n"),
        60,
    );
    let p = &r.flows[0];
    // After the first echo (which waits for ARP), a 98-byte frame takes
    // 784 us each way at 1 Mbit/s plus 10 ms, and 0.784 us + 100 us at
    // 1 Gbit/s on the other segment.
    let one_way = 784_000 + 10_000_000 + 784 + 100_000;
    assert_eq!(p.rtt_ns_min, Some(2 * one_way));
    assert_eq!(p.received, 3);
}

#[test]
fn jitter_adds_up_to_its_bound_on_each_crossing() {
    let pings = "traffic:\n  - { name: p, from: c, to: s, ping: { count: 50, interval: 10ms } }\n";
    let calm = run_lab(&with(pings), 60);
    let jittery = run_lab(
        &with(&format!(
            "{pings}events:\n  - {{ at: 0s, link: b, set: {{ jitter: 5ms }} }}\n"
        )),
        60,
    );
    let (calm, jittery) = (&calm.flows[0], &jittery.flows[0]);
    assert_eq!((calm.received, jittery.received), (50, 50));
    let extra = jittery.rtt_ns_avg.unwrap() - calm.rtt_ns_avg.unwrap();
    // Two crossings of the jittery link per round trip, each 0..=5 ms:
    // on average about 5 ms more, never more than 10 ms.
    assert!(extra > 2_000_000 && extra < 10_000_000, "{extra}");
    assert!(jittery.rtt_ns_min.unwrap() >= calm.rtt_ns_min.unwrap());
}

#[test]
fn the_event_limit_stops_a_run_cleanly() {
    let net = Network::compile(&lab(&with(
        "traffic:\n  - { name: p, from: c, to: s, ping: { count: 1000, interval: 1ms } }\n",
    )));
    let options = RunOptions {
        until: SimTime::from_secs(60),
        events_max: 500,
        capture: false,
    };
    let r = run(&net, options, &mut |_| {});
    assert_eq!(r.end, RunEnd::EventLimit);
    assert_eq!(r.events, 500);
    let options = RunOptions {
        until: SimTime::from_millis(100),
        events_max: 10_000_000,
        capture: false,
    };
    let r = run(&net, options, &mut |_| {});
    assert_eq!((r.end, r.time_ns), (RunEnd::Until, 100_000_000));
}

#[test]
fn workload_checks_are_graded_from_the_run() {
    let yaml = with(
        r#"
traffic:
  - { name: voice, from: c, to: s, port: 5004, onoff: { rate: 64Kbps, on: 1s, off: 0s, packet: 160B, duration: 2s } }
  - { name: pings, from: c, to: s, ping: { count: 3, interval: 1s } }
checks:
  - { name: voice gets through, traffic: voice, expect: { goodput_at_least: 60Kbps }, points: 2 }
  - { name: voice is not that fast, traffic: voice, expect: { goodput_at_least: 100Kbps } }
  - { name: pings are quick, traffic: pings, expect: { complete_within: 3s } }
  - { name: pings are not instant, traffic: pings, expect: { complete_within: 1s } }
"#,
    );
    let report = run_checks(&Network::compile(&lab(&yaml)), 2);
    let status: Vec<Status> = report.checks.iter().map(|c| c.status).collect();
    assert_eq!(
        status,
        [Status::Pass, Status::Fail, Status::Pass, Status::Fail]
    );
    assert_eq!((report.score, report.max_score), (3, 5));
    let slow = &report.checks[3];
    assert!(
        slow.failure
            .as_deref()
            .unwrap()
            .starts_with("expected completion within 1s, took 2.0"),
        "{slow:?}"
    );
}

#[test]
fn runs_are_deterministic() {
    let yaml = with(
        r#"
traffic:
  - { name: p, from: c, to: s, ping: { count: 20, interval: 10ms } }
  - { name: v, from: c, to: s, port: 5004, onoff: { rate: 200Kbps, on: 100ms, off: 50ms, packet: 500B, duration: 1s } }
events:
  - { at: 0s, link: b, set: { jitter: 3ms, loss: 5% } }
"#,
    );
    assert_eq!(run_lab(&yaml, 60), run_lab(&yaml, 60));
}

const WAN: &str = r#"
lab: t
networks:
  a: { cidr: 10.0.1.0/24 }
  wan: { cidr: 10.0.9.0/24, link: { bandwidth: 10Mbps, delay: 10ms, queue: 200 } }
  b: { cidr: 10.0.2.0/24 }
routers:
  r1: { interfaces: { a: 10.0.1.1, wan: 10.0.9.1 }, routes: [{ to: 10.0.2.0/24, via: 10.0.9.2 }] }
  r2: { interfaces: { b: 10.0.2.1, wan: 10.0.9.2 }, routes: [{ to: 10.0.1.0/24, via: 10.0.9.1 }] }
hosts:
  c: { network: a, ip: 10.0.1.10 }
  s: { network: b, ip: 10.0.2.10, services: [{ port: 80 }, { port: 8000 }] }
"#;

#[test]
fn a_tcp_bulk_transfer_delivers_every_byte_at_close_to_the_link_rate() {
    let r = run_lab(
        &format!("{WAN}traffic:\n  - {{ name: copy, from: c, to: s, port: 80, bulk: 1MB }}\n"),
        60,
    );
    let f = &r.flows[0];
    assert_eq!(f.bytes_delivered, 1_000_000, "{f:?}");
    let took = f.completion_ns().expect("it completes");
    // 1 MB at 10 Mbit/s is 0.8 s of serialization (more with headers),
    // plus slow start over a 20 ms round trip.
    assert!(took > 800_000_000 && took < 1_500_000_000, "{took}");
    assert!(f.rtt_ns_min.unwrap() >= 20_000_000);
    assert!(f.cwnd_final.unwrap() > 14_480, "{f:?}");
    assert_eq!(r.end, RunEnd::Quiet);
}

#[test]
fn request_response_exchanges_wait_for_each_response() {
    let r = run_lab(
        &format!(
            "{WAN}traffic:\n  - {{ name: api, from: c, to: s, port: 8000, requests: {{ count: 4, request: 200B, response: 3KB, think: 100ms }} }}\n"
        ),
        60,
    );
    let f = &r.flows[0];
    assert_eq!(f.bytes_delivered, 4 * 3_000, "{f:?}");
    let took = f.completion_ns().expect("it completes");
    // A handshake, then per exchange a round trip or two and the think
    // time between exchanges: three thinks of 100 ms, and more than five
    // round trips of 20 ms.
    assert!(
        took > 300_000_000 + 5 * 20_000_000 && took < 1_000_000_000,
        "{took}"
    );
}

#[test]
fn a_closed_port_refuses_a_tcp_workload() {
    let r = run_lab(
        &format!("{WAN}traffic:\n  - {{ name: nope, from: c, to: s, port: 81, bulk: 10KB }}\n"),
        60,
    );
    let f = &r.flows[0];
    assert_eq!(f.completion_ns(), None);
    assert!(f.error.as_deref().unwrap().contains("refused"), "{f:?}");
}

const PMTU: &str = r#"
lab: t
networks:
  a: { cidr: 10.0.1.0/24 }
  mid: { cidr: 10.0.9.0/24, link: { mtu: 1000 } }
  b: { cidr: 10.0.2.0/24, nacl: b-acl }
routers:
  r1: { interfaces: { a: 10.0.1.1, mid: 10.0.9.1 }, routes: [{ to: 10.0.2.0/24, via: 10.0.9.2 }] }
  r2: { interfaces: { b: 10.0.2.1, mid: 10.0.9.2 }, routes: [{ to: 10.0.1.0/24, via: 10.0.9.1 }] }
hosts:
  c: { network: a, ip: 10.0.1.10, security_groups: [c-sg], services: [{ port: 80 }] }
  s: { network: b, ip: 10.0.2.10 }
security_groups:
  c-sg: { inbound: [{ proto: tcp, port: 80, from: 0.0.0.0/0 }] }
traffic:
  - { name: download, from: s, to: c, port: 80, bulk: 200KB }
nacls:
  b-acl:
    outbound: [{ rule: 100, action: allow, proto: tcp, ports: 0-65535, cidr: 0.0.0.0/0 }]
    inbound:
      - { rule: 100, action: allow, proto: tcp, ports: 0-65535, cidr: 0.0.0.0/0 }
"#;

#[test]
fn path_mtu_discovery_needs_the_nacl_to_let_the_icmp_error_in() {
    // The security group lets "fragmentation needed" back as related
    // traffic, but the stateless NACL of the sender's network drops it:
    // the classic PMTUD black hole.
    let blackhole = run_lab(PMTU, 20);
    assert_eq!(
        blackhole.flows[0].completion_ns(),
        None,
        "{:?}",
        blackhole.flows[0]
    );
    let fixed = PMTU.to_string()
        + "      - { rule: 110, action: allow, proto: icmp, icmp_type: 3, icmp_code: 4, cidr: 0.0.0.0/0 }\n";
    let r = run_lab(&fixed, 20);
    assert_eq!(r.flows[0].bytes_delivered, 200_000, "{:?}", r.flows[0]);
    assert!(r
        .links
        .iter()
        .any(|l| l.node == "r2" && l.drops_too_big > 0));
}

#[test]
fn a_sending_host_is_held_back_by_its_queue_not_dropped_by_it() {
    // A two-packet interface queue and a window of many segments: Linux
    // would stop the socket (TCP small queues), not drop its segments.
    let r = run_lab(
        r#"
lab: t
networks:
  lan: { cidr: 10.0.0.0/24, link: { bandwidth: 100Mbps, queue: 2 } }
hosts:
  c: { network: lan }
  s: { network: lan, services: [{ port: 80 }] }
traffic:
  - { name: copy, from: c, to: s, port: 80, bulk: 5MB }
"#,
        60,
    );
    let f = &r.flows[0];
    assert_eq!(f.bytes_delivered, 5_000_000, "{f:?}");
    assert_eq!(f.retransmissions, 0, "{f:?}");
    let sender = r.links.iter().find(|l| l.node == "c").unwrap();
    assert_eq!(sender.drops_queue, 0);
    // Close to the line rate: 5 MB at 100 Mbit/s is 0.4 s of payload.
    assert!(f.completion_ns().unwrap() < 600_000_000, "{f:?}");
}
