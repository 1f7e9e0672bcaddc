//! The exposition of a lab's counters and check results: what families
//! and labels it has, that it is the same bytes for the same lab and seed,
//! that unused rules show with 0, and that Prometheus's own checker
//! (`promtool check metrics`) accepts it.
//!
//! The promtool test skips with a note when promtool (Debian package
//! `prometheus`) is missing, unless `WIRELAB_REQUIRE_PROMTOOL=1` (set by
//! `scripts/test-all`), which makes it fail instead.

use std::io::Write;
use std::process::{Command, Stdio};

use wirelab_net::Network;
use wirelab_sim::scenario::{run, RunOptions, RunReport};
use wirelab_sim::SimTime;

const LAB: &str = r#"
lab: render
networks:
  a: { cidr: 10.0.1.0/24 }
  b: { cidr: 10.0.2.0/24, nacl: b-acl }
routers:
  r: { interfaces: { a: 10.0.1.1, b: 10.0.2.1 } }
hosts:
  c: { network: a, ip: 10.0.1.10 }
  s: { network: b, ip: 10.0.2.10, security_groups: [s-sg], services: [{ port: 22 }] }
security_groups:
  s-sg:
    inbound:
      - { proto: icmp, from: 10.0.0.0/16 }
      - { proto: tcp, port: 22, from: 10.0.0.0/16 }
nacls:
  b-acl:
    inbound:
      - { rule: 100, action: allow, proto: all, cidr: 0.0.0.0/0 }
    outbound:
      - { rule: 100, action: allow, proto: all, cidr: 0.0.0.0/0 }
traffic:
  - { name: pings, from: c, to: s, ping: { count: 4, interval: 100ms } }
  - { name: copy, from: c, to: s, port: 22, bulk: 20KB }
checks:
  - { name: ping works, from: c, to: s, proto: icmp, expect: allow }
  - { name: web is closed, from: c, to: s, proto: tcp, port: 80, expect: allow }
"#;

fn network() -> Network {
    match wirelab_spec::parse_str("render.yaml", LAB) {
        Ok(l) => Network::compile(&l.lab),
        Err(d) => panic!("lab does not load: {d:#?}"),
    }
}

fn run_lab(net: &Network) -> RunReport {
    let options = RunOptions {
        until: SimTime::from_secs(60),
        events_max: 10_000_000,
        capture: false,
    };
    run(net, options, &mut |_| {})
}

fn exposition() -> String {
    let net = network();
    let report = run_lab(&net);
    let checks = wirelab_check::run_checks(&net, 2);
    wirelab_metrics::render("render", &net, Some(&report.counters), Some(&checks))
}

/// The value of the one sample line that starts with `series`.
fn value(text: &str, series: &str) -> f64 {
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with(series) && l[series.len()..].starts_with(' '))
        .collect();
    assert_eq!(lines.len(), 1, "{series}: {lines:?}");
    lines[0].rsplit(' ').next().unwrap().parse().unwrap()
}

#[test]
fn every_family_has_help_and_type_and_every_rule_shows_even_unused() {
    let text = exposition();
    for family in [
        "wirelab_simulated_seconds gauge",
        "wirelab_interface_packets_total counter",
        "wirelab_interface_bytes_total counter",
        "wirelab_drops_total counter",
        "wirelab_sg_rule_hits_total counter",
        "wirelab_sg_default_outbound_hits_total counter",
        "wirelab_sg_tracked_packets_total counter",
        "wirelab_nacl_rule_hits_total counter",
        "wirelab_tcp_connections_opened_total counter",
        "wirelab_tcp_retransmitted_segments_total counter",
        "wirelab_tcp_handshake_seconds histogram",
        "wirelab_dns_queries_total counter",
        "wirelab_dns_answers_total counter",
        "wirelab_dns_cache_hits_total counter",
        "wirelab_dns_cache_misses_total counter",
        "wirelab_checks gauge",
        "wirelab_check_passed gauge",
        "wirelab_check_score gauge",
        "wirelab_check_score_max gauge",
    ] {
        let name = family.split(' ').next().unwrap();
        assert!(
            text.contains(&format!("# TYPE {family}\n")),
            "{family}\n{text}"
        );
        assert!(text.contains(&format!("# HELP {name} ")), "{name}");
    }
    // The ping flow's rule, and the SSH rule that the copy's one
    // connection used once; both listed with their lines.
    let icmp = r#"wirelab_sg_rule_hits_total{lab="render",group="s-sg",direction="inbound",rule="1",line="14"}"#;
    let ssh = r#"wirelab_sg_rule_hits_total{lab="render",group="s-sg",direction="inbound",rule="2",line="15"}"#;
    assert_eq!(value(&text, icmp), 1.0);
    assert_eq!(value(&text, ssh), 1.0);
    // A NACL's outbound * rule nothing reached: listed, with 0.
    let star = r#"wirelab_nacl_rule_hits_total{lab="render",nacl="b-acl",direction="outbound",rule="*",action="deny",line="0"}"#;
    assert_eq!(value(&text, star), 0.0);
    let opened = r#"wirelab_tcp_connections_opened_total{lab="render",side="active"}"#;
    assert_eq!(value(&text, opened), 1.0);
    let count = r#"wirelab_tcp_handshake_seconds_count{lab="render"}"#;
    assert_eq!(value(&text, count), 1.0);
    let inf = r#"wirelab_tcp_handshake_seconds_bucket{lab="render",le="+Inf"}"#;
    assert_eq!(value(&text, inf), 1.0);
    let failed = r#"wirelab_check_passed{lab="render",check="web is closed"}"#;
    assert_eq!(value(&text, failed), 0.0);
    let passed = r#"wirelab_check_passed{lab="render",check="ping works"}"#;
    assert_eq!(value(&text, passed), 1.0);
    assert_eq!(
        value(&text, r#"wirelab_checks{lab="render",result="fail"}"#),
        1.0
    );
}

#[test]
fn series_come_in_lab_order_and_the_same_lab_and_seed_give_the_same_bytes() {
    let (a, b) = (exposition(), exposition());
    assert_eq!(a, b);
    let nodes: Vec<&str> = a
        .lines()
        .filter(|l| {
            l.starts_with("wirelab_interface_packets_total{") && l.contains(r#"direction="tx""#)
        })
        .map(|l| {
            l.split("node=\"")
                .nth(1)
                .unwrap()
                .split('"')
                .next()
                .unwrap()
        })
        .collect();
    // Network a (r, c), then network b (r, s): lab order, not sorted.
    assert_eq!(nodes, ["r", "c", "r", "s"]);
}

#[test]
fn without_counters_only_the_check_results_and_openmetrics_ends_with_eof() {
    let net = network();
    let checks = wirelab_check::run_checks(&net, 1);
    let text = wirelab_metrics::render("render", &net, None, Some(&checks));
    assert!(text.contains("wirelab_check_passed"));
    assert!(!text.contains("wirelab_interface"));
    let om = wirelab_metrics::render_openmetrics("render", &net, None, Some(&checks));
    assert!(om.ends_with("# EOF\n"), "{om}");
    assert!(!text.contains("# EOF"));
}

/// `promtool check metrics` on `text`: None when promtool is missing
/// (and not required), else its exit status and output.
fn promtool(text: &str) -> Option<(bool, String)> {
    let child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(_) if std::env::var("WIRELAB_REQUIRE_PROMTOOL").as_deref() == Ok("1") => {
            panic!("promtool is not installed, and WIRELAB_REQUIRE_PROMTOOL=1 requires it")
        }
        Err(_) => {
            eprintln!("note: promtool not found (Debian package prometheus): test skipped");
            return None;
        }
    };
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Some((out.status.success(), said))
}

#[test]
fn promtool_accepts_the_exposition_and_rejects_a_broken_one() {
    let text = exposition();
    let Some((ok, said)) = promtool(&text) else {
        return;
    };
    assert!(ok, "promtool: {said}\n{text}");
    assert!(said.trim().is_empty(), "promtool has remarks: {said}");
    // The checker is really looking: a counter without its suffix fails.
    let broken = text.replace("wirelab_drops_total", "wirelab_drops");
    let (ok, _) = promtool(&broken).unwrap();
    assert!(!ok);
}

#[test]
fn a_check_name_with_quotes_and_a_backslash_is_escaped() {
    let yaml = r#"
lab: names
networks:
  a: { cidr: 10.0.1.0/24 }
hosts:
  c: { network: a, ip: 10.0.1.10 }
  s: { network: a, ip: 10.0.1.20 }
checks:
  - { name: 'the "web" \ check', from: c, to: s, proto: icmp, expect: allow }
"#;
    let lab = wirelab_spec::parse_str("names.yaml", yaml).unwrap_or_else(|d| panic!("{d:#?}"));
    let net = Network::compile(&lab.lab);
    let checks = wirelab_check::run_checks(&net, 1);
    let text = wirelab_metrics::render("names", &net, None, Some(&checks));
    let series = r#"wirelab_check_passed{lab="names",check="the \"web\" \\ check"}"#;
    assert_eq!(value(&text, series), 1.0, "{text}");
    if let Some((ok, said)) = promtool(&text) {
        assert!(ok, "promtool: {said}\n{text}");
    }
}
