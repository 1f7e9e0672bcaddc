//! Traffic over time: link jitter and state, TCP settings, `traffic:`,
//! `events:` and checks on workloads.

fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!("tests/fixtures/traffic/{name}")).unwrap()
}

#[test]
fn every_mistake_is_reported_where_it_is() {
    let d = super::mistakes_in("traffic", "mistakes.yaml");
    insta::assert_snapshot!("traffic-mistakes", d);
}

use std::net::IpAddr;

use wirelab_spec::{
    CheckProto, CheckTarget, CongestionControl, EventAction, Family, FlowCheck, Lab, LinkProps,
    NaclAction, Outcome, Peer, RuleProto, TcpSettings, WindowIncrease, Workload,
};

use super::{assert_has, invalid, valid};

const MS: u64 = 1_000_000;
const S: u64 = 1_000_000_000;

fn network(lab: &Lab, name: &str) -> usize {
    lab.network_by_name(name).unwrap()
}

#[test]
fn every_new_key_resolves() {
    let loaded = valid(&fixture("valid.yaml"));
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    let lab = &loaded.lab;

    // Link properties: jitter and down merge per key like the others.
    let lan = &lab.networks[network(lab, "lan")].link;
    assert_eq!(
        *lan,
        LinkProps {
            bandwidth_bps: 100_000_000,
            delay_ns: 2 * MS,
            jitter_ns: MS,
            down: true,
            ..LinkProps::default()
        }
    );
    let dmz = &lab.networks[network(lab, "dmz")].link;
    assert_eq!((dmz.jitter_ns, dmz.down), (0, false));
    let link = &lab.networks[network(lab, "r1-r2")].link;
    assert_eq!(
        (link.delay_ns, link.jitter_ns, link.down),
        (5 * MS, 500_000, false)
    );

    // TCP: built-in, then the lab's keys, then the host's.
    let lab_tcp = TcpSettings {
        congestion: CongestionControl::NewReno,
        increase: WindowIncrease::PerAck,
        min_rto_ns: S,
        initial_rto_ns: 3 * S,
        delayed_ack_ns: None,
        initial_window: 4,
        receive_buffer: 64 * 1024,
        ..TcpSettings::default()
    };
    assert_eq!(lab.tcp, lab_tcp);
    let client = &lab.hosts[lab.host_by_name("client").unwrap()];
    assert_eq!(
        client.tcp,
        TcpSettings {
            congestion: CongestionControl::Cubic,
            nagle: false,
            sack: false,
            mss_option: false,
            ..lab_tcp
        }
    );
    let web = lab.host_by_name("web").unwrap();
    assert_eq!(
        lab.hosts[web].tcp,
        TcpSettings {
            timestamps: false,
            window_scaling: false,
            send_buffer: 1_000_000,
            delayed_ack_ns: Some(10 * MS),
            ..lab_tcp
        }
    );

    // Traffic, in file order.
    let names: Vec<&str> = lab.traffic.iter().map(|t| t.name.value.as_str()).collect();
    assert_eq!(names, ["download", "api", "ping6", "ping4", "voice"]);
    let client_id = lab.host_by_name("client").unwrap();
    let t = &lab.traffic[0];
    assert_eq!(
        (t.from, &t.to, t.family, t.port, t.start_ns),
        (
            client_id,
            &CheckTarget::Host(web),
            Family::Ipv4,
            Some(80),
            0
        )
    );
    assert_eq!(t.kind, Workload::Bulk { bytes: 10_000_000 });
    assert_eq!(t.span.line, 35);
    let t = &lab.traffic[1];
    assert_eq!(t.start_ns, 2 * S);
    assert_eq!(
        t.kind,
        Workload::Requests {
            count: 100,
            request_bytes: 300,
            response_bytes: 20_000,
            think_ns: 50 * MS,
        }
    );
    let t = &lab.traffic[2];
    assert_eq!((t.from, t.family, t.port), (web, Family::Ipv6, None));
    assert_eq!(
        t.to,
        CheckTarget::Address("2001:db8:1::1".parse::<IpAddr>().unwrap())
    );
    assert_eq!(
        t.kind,
        Workload::Ping {
            count: 10,
            interval_ns: S,
            payload_bytes: 56
        }
    );
    let t = &lab.traffic[3];
    assert_eq!(t.start_ns, 1_500 * MS);
    assert_eq!(
        t.kind,
        Workload::Ping {
            count: 3,
            interval_ns: 200 * MS,
            payload_bytes: 1000
        }
    );
    let t = &lab.traffic[4];
    assert_eq!((t.family, t.port), (Family::Ipv4, Some(5000)));
    assert_eq!(
        t.kind,
        Workload::OnOff {
            rate_bps: 64_000,
            on_ns: S,
            off_ns: S,
            packet_bytes: 200,
            duration_ns: 30 * S,
        }
    );

    // Checks on workloads take their ends from the workload.
    let c = &lab.checks[0];
    assert_eq!(
        (c.from, &c.to, c.proto, c.port, c.family, c.expect),
        (
            client_id,
            &CheckTarget::Host(web),
            CheckProto::Tcp,
            Some(80),
            Family::Ipv4,
            Outcome::Allow
        )
    );
    assert_eq!(
        (c.points, c.hint.as_deref()),
        (3, Some("look at the window"))
    );
    assert_eq!(
        c.flow,
        Some(FlowCheck {
            traffic: 0,
            complete_within_ns: Some(2 * S),
            goodput_at_least_bps: None
        })
    );
    let c = &lab.checks[1];
    assert_eq!((c.proto, c.port), (CheckProto::Udp, Some(5000)));
    assert_eq!(
        c.flow,
        Some(FlowCheck {
            traffic: 4,
            complete_within_ns: None,
            goodput_at_least_bps: Some(30_000)
        })
    );
    let c = &lab.checks[2];
    assert_eq!((c.proto, c.port, c.points), (CheckProto::Icmp, None, 1));
    assert_eq!(
        c.flow,
        Some(FlowCheck {
            traffic: 3,
            complete_within_ns: Some(S),
            goodput_at_least_bps: Some(1)
        })
    );
    assert_eq!(lab.checks[3].flow, None);
}

#[test]
fn events_are_sorted_by_time_and_resolved() {
    let lab = valid(&fixture("valid.yaml")).lab;
    let times: Vec<(u64, u32)> = lab.events.iter().map(|e| (e.at_ns, e.span.line)).collect();
    // Stable: among equal times, file order.
    assert_eq!(
        times,
        [
            (0, 50),
            (S, 47),
            (S, 52),
            (2 * S, 53),
            (3 * S, 48),
            (3 * S, 49),
            (5 * S, 54),
            (10 * S, 46),
            (20 * S, 51),
        ]
    );
    let (lan, link) = (network(&lab, "lan"), network(&lab, "r1-r2"));
    let acl = 0;
    let sg = 0;
    match &lab.events[0].action {
        EventAction::NaclRuleAdd {
            nacl,
            inbound: true,
            rule,
        } => {
            assert_eq!((*nacl, rule.number), (acl, 50));
            assert_eq!(
                (rule.action, rule.proto),
                (NaclAction::Deny, RuleProto::Udp)
            );
        }
        other => panic!("{other:?}"),
    }
    // The first `set` applies over the link's own properties...
    let base = lab.networks[link].link;
    let first = LinkProps {
        bandwidth_bps: 10_000_000,
        loss: 0.01,
        ..base
    };
    assert!(
        matches!(&lab.events[1].action, EventAction::LinkSet(n, p) if *n == link && *p == first)
    );
    assert!(matches!(&lab.events[2].action, EventAction::LinkDown(n) if *n == lan));
    // ...and the second over what the first made of them.
    let second = LinkProps {
        delay_ns: 20 * MS,
        jitter_ns: 2 * MS,
        mtu: 1400,
        queue_packets: 10,
        ..first
    };
    assert!(
        matches!(&lab.events[3].action, EventAction::LinkSet(n, p) if *n == link && *p == second)
    );
    assert!(matches!(
        &lab.events[4].action,
        EventAction::SgRuleRemove { group, inbound: true, index: 0 } if *group == sg
    ));
    match &lab.events[5].action {
        EventAction::SgRuleAdd {
            group,
            inbound: true,
            rule,
        } => {
            assert_eq!(*group, sg);
            assert_eq!(rule.peer, Peer::Cidr("10.0.0.10/32".parse().unwrap()));
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        &lab.events[6].action,
        EventAction::SgRuleAdd { inbound: false, .. }
    ));
    assert!(matches!(&lab.events[7].action, EventAction::LinkUp(n) if *n == lan));
    assert!(matches!(
        &lab.events[8].action,
        EventAction::NaclRuleRemove { nacl, inbound: true, number: 50 } if *nacl == acl
    ));
}

const FILTERS: &str = concat!(
    "lab: t\nnetworks:\n  lan: { cidr: 10.0.0.0/24, nacl: acl }\n",
    "hosts:\n  a: { network: lan, security_groups: [sg] }\n",
    "security_groups:\n  sg:\n    inbound:\n",
    "      - { proto: tcp, port: 22, from: 10.0.0.0/8 }\n",
    "      - { proto: tcp, port: 80, from: sg }\n",
    "nacls:\n  acl:\n    outbound:\n",
    "      - { rule: 100, action: allow, proto: all, cidr: 0.0.0.0/0 }\n",
    "events:\n",
);

#[test]
fn removals_see_earlier_events_in_time_order() {
    // Written out of order: each removal matches what the earlier events
    // (by time) left, and its index is the position at that time.
    let lab = valid(&format!(
        "{FILTERS}{}",
        concat!(
            "  - { at: 3s, security_group: sg, remove_inbound: { proto: udp, port: 53, from: 10.0.0.1 } }\n",
            "  - { at: 2s, security_group: sg, remove_inbound: { proto: tcp, port: 22, from: 10.0.0.0/8, description: x } }\n",
            "  - { at: 1s, security_group: sg, add_inbound: { proto: udp, port: 53, from: 10.0.0.1/32 } }\n",
            "  - { at: 4s, security_group: sg, remove_inbound: { proto: tcp, port: 80, from: sg } }\n",
            "  - { at: 2s, nacl: acl, remove_outbound: 100 }\n",
            "  - { at: 1s, nacl: acl, add_outbound: { rule: 200, action: deny, proto: tcp, port: 25, cidr: 0.0.0.0/0 } }\n",
            "  - { at: 3s, nacl: acl, add_outbound: { rule: 100, action: allow, proto: all, cidr: 10.0.0.0/8 } }\n",
            "  - { at: 4s, nacl: acl, remove_outbound: 200 }\n",
        )
    ))
    .lab;
    let summary: Vec<String> = lab
        .events
        .iter()
        .map(|e| match &e.action {
            EventAction::SgRuleAdd { rule, .. } => format!("{} sg+ {}", e.at_ns / S, rule.proto),
            EventAction::SgRuleRemove { index, .. } => format!("{} sg- {index}", e.at_ns / S),
            EventAction::NaclRuleAdd { rule, .. } => {
                format!("{} acl+ {}", e.at_ns / S, rule.number)
            }
            EventAction::NaclRuleRemove { number, .. } => {
                format!("{} acl- {number}", e.at_ns / S)
            }
            other => panic!("{other:?}"),
        })
        .collect();
    // sg inbound: [22, 80] +53 → [22, 80, 53]; -22 → [80, 53] (index 0);
    // -53 → index 1; -80 → index 0.
    assert_eq!(
        summary,
        [
            "1 sg+ udp",
            "1 acl+ 200",
            "2 sg- 0",
            "2 acl- 100",
            "3 sg- 1",
            "3 acl+ 100",
            "4 sg- 0",
            "4 acl- 200",
        ]
    );
}

#[test]
fn removals_fail_when_the_rule_is_gone_at_that_time() {
    let d = invalid(&format!(
        "{FILTERS}{}",
        concat!(
            "  - { at: 2s, security_group: sg, remove_inbound: { proto: tcp, port: 22, from: 10.0.0.0/8 } }\n",
            "  - { at: 1s, security_group: sg, remove_inbound: { proto: tcp, port: 22, from: 10.0.0.0/8 } }\n",
            "  - { at: 5s, security_group: sg, remove_inbound: { proto: tcp, port: 80, from: 10.0.0.0/8 } }\n",
            "  - { at: 1s, nacl: acl, remove_outbound: 100 }\n",
            "  - { at: 0s, nacl: acl, remove_outbound: 100 }\n",
            "  - { at: 3s, nacl: acl, add_outbound: { rule: 300, action: deny, proto: all, cidr: 0.0.0.0/0 } }\n",
            "  - { at: 3s, nacl: acl, add_outbound: { rule: 300, action: allow, proto: all, cidr: 0.0.0.0/0 } }\n",
        )
    ));
    // The one at 1s took the rule: the one written first, at 2s, fails.
    assert_has(
        &d,
        "lab.yaml:16:51: error",
        &[
            "no inbound rule of `sg` equals `{ proto: tcp, port: 22, from: 10.0.0.0/8 }` at 2s",
            "its inbound rules then: `{ proto: tcp, port: 80, from: sg }`",
        ],
    );
    // Same proto and port, another peer: not equal.
    assert_has(
        &d,
        "lab.yaml:18:51: error",
        &["no inbound rule of `sg` equals `{ proto: tcp, port: 80, from: 10.0.0.0/8 }` at 5s"],
    );
    assert_has(
        &d,
        "lab.yaml:19:43: error",
        &[
            "`acl` has no outbound rule 100 at 1s",
            "no outbound rules then",
        ],
    );
    assert_has(
        &d,
        "lab.yaml:22:48: error",
        &["outbound rule 300 of `acl` already exists at 3s (line 21)"],
    );
    assert_eq!(d.len(), 4, "{d:?}");
}

#[test]
fn wrong_shapes_are_diagnostics_not_panics() {
    let base = super::BASE;
    for extra in [
        "traffic: 5\n",
        "traffic: [5, [], {}]\n",
        "traffic: [{ name: [x], from: {}, to: 5, ping: 3 }]\n",
        "traffic: [{ name: x, from: a, to: a, requests: [], port: 1 }]\n",
        "traffic: [{ name: x, from: a, to: a, onoff: , port: 1 }]\n",
        "events: { a: 1 }\n",
        "events: [1, null, { at: 1s, link_down: [lan] }]\n",
        "events: [{ at: 1s, link: lan, set: [] }, { at: 1s, link: lan, set: {} }]\n",
        "events: [{ at: 1s, security_group: x, add_inbound: 5 }, { at: 1s, nacl: y, remove_inbound: x }]\n",
        "tcp: [1]\n",
        "tcp: { increase: per_ack }\n",
        "tcp: { delayed_ack: true, receive_buffer: [1] }\n",
        "hosts:\n  b: { network: lan, tcp: 5 }\n",
        "checks: [{ name: c, traffic: [1], expect: [] }, { name: d, traffic: t }]\n",
        "checks: [{ name: c, traffic: t, expect: { complete_within: {} } }]\n",
    ] {
        let text = if extra.starts_with("hosts:") {
            format!("lab: t\nnetworks:\n  lan: {{ cidr: 10.0.0.0/24 }}\n{extra}")
        } else {
            format!("{base}{extra}")
        };
        let d = invalid(&text);
        assert!(d.iter().all(|l| l.starts_with("lab.yaml:")), "{extra}: {d:?}");
    }
    // Empty sections are fine.
    let lab = valid(&format!("{base}traffic:\nevents: []\ntcp:\n")).lab;
    assert!(lab.traffic.is_empty() && lab.events.is_empty());
    assert_eq!(lab.tcp, TcpSettings::default());
}

#[test]
fn documented_examples_are_valid() {
    // The examples of docs/lab-format.md (tcp, traffic, events, checks on
    // workloads), in one lab.
    let loaded = valid(concat!(
        "lab: docs\n",
        "networks:\n",
        "  lan: { cidr: 10.0.0.0/24 }\n",
        "  dmz: { cidr: 10.0.1.0/24, ipv6: \"2001:db8::/64\" }\n",
        "  wan: { cidr: 10.0.9.0/24 }\n",
        "  data: { cidr: 10.0.2.0/24, nacl: data-nacl }\n",
        "routers:\n",
        "  r1: { interfaces: { lan: 10.0.0.1, dmz: { ip: 10.0.1.1, ipv6: \"2001:db8::1\" }, wan: 10.0.9.1, data: 10.0.2.1 } }\n",
        "  r2:\n",
        "links:\n  - { between: [r1, r2], cidr: 10.0.12.0/30 }\n",
        "tcp:\n  congestion: cubic\n  increase: bytes\n  min_rto: 200ms\n  initial_rto: 1s\n  delayed_ack: 40ms\n  nagle: true\n  sack: true\n",
        "  timestamps: true\n  window_scaling: true\n  mss_option: true\n  initial_window: 10\n",
        "  receive_buffer: 4MiB\n  send_buffer: 4MiB\n",
        "hosts:\n",
        "  old: { network: lan, tcp: { congestion: newreno, sack: false } }\n",
        "  client: { network: dmz, ipv6: \"2001:db8::5\" }\n",
        "  web: { network: dmz, security_groups: [web-sg] }\n",
        "  phone: { network: lan }\n  pbx: { network: wan }\n",
        "security_groups:\n  web-sg:\n    inbound:\n      - { proto: tcp, port: 80, from: 0.0.0.0/0 }\n",
        "nacls:\n  data-nacl:\n",
        "traffic:\n",
        "  - { name: download, from: client, to: web, port: 80, bulk: 10MB }\n",
        "  - name: api\n    from: client\n    to: web\n    port: 8080\n    start: 2s\n",
        "    requests: { count: 100, request: 300B, response: 20KB, think: 50ms }\n",
        "  - { name: probe, from: client, to: \"2001:db8::10\", ping: { count: 10, interval: 200ms, size: 56 } }\n",
        "  - { name: voice, from: phone, to: pbx, port: 5000, onoff: { rate: 64Kbps, on: 1s, off: 1s, packet: 200B, duration: 30s } }\n",
        "events:\n",
        "  - { at: 5s, link_down: r1-r2 }\n",
        "  - { at: 9s, link_up: r1-r2 }\n",
        "  - { at: 2s, link: wan, set: { bandwidth: 10Mbps, loss: 1% } }\n",
        "  - { at: 3s, security_group: web-sg, add_inbound: { proto: tcp, port: 22, from: 10.0.0.0/8 } }\n",
        "  - { at: 4s, security_group: web-sg, remove_inbound: { proto: tcp, port: 80, from: 0.0.0.0/0 } }\n",
        "  - { at: 6s, nacl: data-nacl, add_inbound: { rule: 50, action: deny, proto: all, cidr: 10.0.1.0/24 } }\n",
        "  - { at: 8s, nacl: data-nacl, remove_inbound: 50 }\n",
        "checks:\n",
        "  - { name: the download is fast, traffic: download, expect: { complete_within: 2s } }\n",
        "  - { name: the call gets through, traffic: voice, expect: { goodput_at_least: 30Kbps }, points: 2 }\n",
        "  - { name: both, traffic: api, expect: { complete_within: 10s, goodput_at_least: 1Mbps } }\n",
    ));
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    let lab = loaded.lab;
    assert_eq!(
        (lab.traffic.len(), lab.events.len(), lab.checks.len()),
        (4, 7, 3)
    );
    assert_eq!(lab.tcp, TcpSettings::default());
    assert_eq!(lab.traffic[2].family, Family::Ipv6);
    assert_eq!(lab.events[0].at_ns, 2 * S);
}
