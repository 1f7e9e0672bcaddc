//! DNS through the simulated network, through YAML as a lab author writes
//! it: answers too large for UDP fall back to TCP, filters on port 53
//! break resolution and say where, and reports are deterministic.

use wirelab_check::{run_checks, Status};
use wirelab_net::Network;

fn report(yaml: &str) -> wirelab_check::Report {
    let lab = match wirelab_spec::parse_str("dns.yaml", yaml) {
        Ok(l) => l.lab,
        Err(d) => panic!("lab does not load: {d:#?}"),
    };
    let net = Network::compile(&lab);
    run_checks(&net, 2)
}

/// A client, a resolver and one authoritative server for `example.com`
/// (which the lab's root and `com.` zones, synthesized, delegate to) on
/// three networks joined by one router. `big` has a TXT RRset of about
/// 2,000 bytes: too large for a 1,232-byte EDNS buffer.
fn lab(ns_rules: &str, checks: &str) -> String {
    let big: String = (0..10)
        .map(|i| {
            format!(
                "        - {{ name: big, type: TXT, value: '\"{}\"' }}\n",
                format!("{i}").repeat(190)
            )
        })
        .collect();
    format!(
        r#"
lab: dns
networks:
  home: {{ cidr: 10.0.1.0/24 }}
  isp: {{ cidr: 10.0.2.0/24, link: {{ delay: 5ms }} }}
  dc: {{ cidr: 10.0.3.0/24, link: {{ delay: 10ms }} }}
routers:
  r: {{ interfaces: {{ home: 10.0.1.1, isp: 10.0.2.1, dc: 10.0.3.1 }} }}
hosts:
  client: {{ network: home, ip: 10.0.1.10, resolver: resolver }}
  resolver: {{ network: isp, ip: 10.0.2.53, services: [{{ port: 53, proto: udp, app: resolver }}] }}
  ns1: {{ network: dc, ip: 10.0.3.53, security_groups: [ns-sg], services: [{{ port: 53, proto: udp, app: dns }}] }}
security_groups:
  ns-sg:
    inbound:
{ns_rules}
dns:
  zones:
    - name: example.com
      servers: [ns1]
      records:
        - {{ name: www, type: A, value: 10.0.3.80 }}
{big}
checks:
{checks}
"#
    )
}

const BOTH: &str = "      - { proto: udp, port: 53, from: 0.0.0.0/0 }\n      - { proto: tcp, port: 53, from: 0.0.0.0/0 }";
const UDP_ONLY: &str = "      - { proto: udp, port: 53, from: 0.0.0.0/0 }";

fn status_and_observed(r: &wirelab_check::Report, i: usize) -> (Status, &str, &str) {
    let c = &r.checks[i];
    (c.status, c.observed, c.reason)
}

#[test]
fn an_answer_too_large_for_udp_comes_over_tcp() {
    let r = report(&lab(
        BOTH,
        "  - { name: big, from: client, dns: big.example.com, type: TXT, expect: resolves }\n  - { name: www, from: client, dns: www.example.com, expect: { answers: [10.0.3.80] } }",
    ));
    assert_eq!(
        status_and_observed(&r, 0),
        (Status::Pass, "resolves", "delivered"),
        "{:#?}",
        r.checks[0]
    );
    // The resolver asked ns1 again over TCP, and the client asked the
    // resolver again over TCP: its answer is too large for 1,232 bytes too.
    let e = &r.checks[0].explanation;
    assert!(
        e.contains("ns1 (10.0.3.53) for big.example.com. TXT: truncated (TC)"),
        "{e}"
    );
    assert!(
        e.contains("ns1 (10.0.3.53) over TCP for big.example.com. TXT: answer (10 records)"),
        "{e}"
    );
    assert!(
        e.contains("client asked resolver (10.0.2.53) over TCP"),
        "{e}"
    );
    assert!(e.contains("and 5 more"), "{e}");
    assert_eq!(
        status_and_observed(&r, 1),
        (Status::Pass, "resolves", "delivered"),
        "{:#?}",
        r.checks[1]
    );
}

#[test]
fn a_server_closed_to_tcp_53_fails_only_the_large_answer() {
    let r = report(&lab(
        UDP_ONLY,
        "  - { name: big, from: client, dns: big.example.com, type: TXT, expect: servfail }\n  - { name: www, from: client, dns: www.example.com, expect: resolves }",
    ));
    let big = &r.checks[0];
    assert_eq!(big.status, Status::Pass, "{big:#?}");
    // The resolver's SYN to ns1:53 was dropped by ns-sg, and the
    // explanation says so.
    assert_eq!(big.reason, "sg-inbound", "{big:#?}");
    assert!(big.explanation.contains("SERVFAIL"), "{}", big.explanation);
    assert!(big.explanation.contains("ns-sg"), "{}", big.explanation);
    assert_eq!(r.checks[1].status, Status::Pass, "{:#?}", r.checks[1]);
}

#[test]
fn a_server_closed_to_dns_makes_the_resolver_fail_and_names_the_rule_set() {
    let r = report(&lab(
        "      - { proto: tcp, port: 22, from: 0.0.0.0/0 }",
        "  - { name: www, from: client, dns: www.example.com, expect: servfail }\n  - { name: by name, from: client, to: www.example.com, port: 80, expect: deny, reason: sg-inbound }",
    ));
    let www = &r.checks[0];
    assert_eq!(
        (www.status, www.reason),
        (Status::Pass, "sg-inbound"),
        "{www:#?}"
    );
    assert!(
        www.explanation.contains("ns1 dropped a DNS query"),
        "{}",
        www.explanation
    );
    let by_name = &r.checks[1];
    assert_eq!(by_name.status, Status::Pass, "{by_name:#?}");
    assert!(
        by_name.explanation.contains("did not resolve"),
        "{}",
        by_name.explanation
    );
}

#[test]
fn dns_reports_are_the_same_on_every_run_and_thread_count() {
    let text =
        std::fs::read_to_string("../../labs/07-what-happens-when-you-type-a-url.yaml").unwrap();
    // The lab names its zone file relative to itself.
    let lab = wirelab_spec::load(std::path::Path::new(
        "../../labs/07-what-happens-when-you-type-a-url.yaml",
    ))
    .unwrap_or_else(|d| panic!("{d:#?}"))
    .lab;
    assert!(text.contains("dns:"));
    let net = Network::compile(&lab);
    let one = serde_json::to_string(&run_checks(&net, 1)).unwrap();
    let two = serde_json::to_string(&run_checks(&net, 2)).unwrap();
    let again = serde_json::to_string(&run_checks(&net, 2)).unwrap();
    assert_eq!(one, two);
    assert_eq!(two, again);
    assert!(one.contains("a-root"), "the walk is in the report");
}

#[test]
fn a_long_run_keeps_no_port_open_after_its_answers() {
    let lab = wirelab_spec::load(std::path::Path::new(
        "../../labs/07-what-happens-when-you-type-a-url.yaml",
    ))
    .unwrap_or_else(|d| panic!("{d:#?}"))
    .lab;
    let net = Network::compile(&lab);
    let laptop = net
        .lab
        .hosts
        .iter()
        .position(|h| h.name.value == "laptop")
        .unwrap();
    let mut sim = wirelab_sim::Sim::new(&net, 1, wirelab_sim::TraceLevel::Off);
    let name = wirelab_dns::proto::rr::Name::from_ascii("www.example.com.").unwrap();
    // More lookups than a host has ephemeral ports (16,384).
    for _ in 0..20_000 {
        let id = sim.start_lookup(laptop, name.clone(), wirelab_dns::proto::rr::RecordType::A);
        let until = sim.now() + wirelab_sim::SimTime::from_secs(60);
        sim.run_while(until, |s| s.lookups()[id].outcome.is_some());
        assert!(sim.lookups()[id].outcome.is_some());
    }
    assert_eq!(sim.dns_ports_open(), 0);
}
