//! Dynamic routing from the command line: `wirelab routes --at`, `trace
//! --at`, `run`'s convergence report, and the analysis on the settled
//! tables, with the example labs 13 (OSPF) and 14 (RIP).

mod common;

use common::wirelab;

const OSPF: &str = "labs/13-ospf-triangle.yaml";
const RIP: &str = "labs/14-rip-count-to-infinity.yaml";

fn route_line<'a>(text: &'a str, router: &str, prefix: &str) -> Option<&'a str> {
    let block = text
        .split("\n\n")
        .find(|b| b.contains(&format!("{router}:\n")))?;
    block.lines().find(|l| l.trim_start().starts_with(prefix))
}

#[test]
fn routes_show_the_protocols_tables_over_time() {
    let (code, out, err) = wirelab(&["routes", OSPF, "--router", "r1"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.starts_with("# routing tables once routing has settled"),
        "{out}"
    );
    assert_eq!(
        route_line(&out, "r1", "10.3.0.0/24"),
        Some("  10.3.0.0/24 via 10.0.12.2 dev eth1 proto ospf metric 3"),
        "{out}"
    );
    // After r2-r3 fails at 30 s: the direct link, cost 10 + 1.
    let (code, out, _) = wirelab(&["routes", OSPF, "--router", "r1", "--at", "31s"]);
    assert_eq!(code, 0);
    assert!(out.starts_with("# routing tables at 31s"), "{out}");
    assert_eq!(
        route_line(&out, "r1", "10.3.0.0/24"),
        Some("  10.3.0.0/24 via 10.0.13.2 dev eth2 proto ospf metric 11"),
        "{out}"
    );
    // r2 is down at 92 s, and shown so.
    let (_, out, _) = wirelab(&["routes", OSPF, "--router", "r2", "--at", "92s"]);
    assert!(out.contains("(down: forwards nothing)"), "{out}");
    // RIP counting: r1 and r2 point at each other with climbing metrics.
    let (_, a, _) = wirelab(&["routes", RIP, "--at", "31s"]);
    let (_, b, _) = wirelab(&["routes", RIP, "--at", "37s"]);
    let metric = |t: &str, r: &str| -> u32 {
        let line = route_line(t, r, "10.3.0.0/24").unwrap_or_else(|| panic!("{r}: {t}"));
        line.rsplit(' ').next().unwrap().parse().unwrap()
    };
    assert!(metric(&b, "r1") > metric(&a, "r1"), "{a}\n{b}");
    assert!(route_line(&a, "r1", "10.3.0.0/24")
        .unwrap()
        .contains("via 10.0.12.2"));
    assert!(route_line(&a, "r2", "10.3.0.0/24")
        .unwrap()
        .contains("via 10.0.12.1"));
    // JSON carries the time, the metric and the protocol.
    let (_, json, _) = wirelab(&["routes", OSPF, "--at", "31s", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["at_ns"], 31_000_000_000u64);
    let r1 = v["tables"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["node"] == "r1")
        .unwrap();
    let route = r1["routes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["prefix"] == "10.3.0.0/24")
        .unwrap();
    assert_eq!(
        (route["proto"].as_str(), route["metric"].as_u64()),
        (Some("ospf"), Some(11))
    );
}

#[test]
fn a_bad_time_is_a_usage_error() {
    let (code, _, err) = wirelab(&["routes", OSPF, "--at", "soon"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--at"), "{err}");
}

#[test]
fn run_reports_each_convergence_and_is_deterministic() {
    let args = ["run", OSPF, "--until", "120s", "--format", "json"];
    let (code, out, err) = wirelab(&args);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let conv = v["convergences"].as_array().unwrap();
    let afters: Vec<&str> = conv.iter().map(|c| c["after"].as_str().unwrap()).collect();
    assert_eq!(afters.len(), 4, "{afters:?}");
    assert!(afters[0] == "the start" && afters[1].starts_with("link_down r2-r3 at 30s"));
    assert!(
        afters[3].starts_with("router_down r2 at 1m30s")
            || afters[3].starts_with("router_down r2 at 90s"),
        "{afters:?}"
    );
    // A carrier loss: the SPF delay and a little flooding.
    let ms = |c: &serde_json::Value| c["converged_ns"].as_u64().unwrap() / 1_000_000;
    assert!((50..100).contains(&ms(&conv[1])), "{}", conv[1]);
    // A dead router: noticed after the 4 s dead interval, not before 3 s.
    assert!((3000..4100).contains(&ms(&conv[3])), "{}", conv[3]);
    assert!(conv
        .iter()
        .all(|c| c["settled"] == true && c["messages"].as_u64() > Some(0)));
    let (_, again, _) = wirelab(&args);
    assert_eq!(out, again, "byte-identical runs");
}

#[test]
fn trace_at_a_time_shows_the_loop_and_the_protocol_of_each_route() {
    let (code, out, err) = wirelab(&[
        "trace", RIP, "--from", "h1", "--to", "h3", "--proto", "icmp", "--at", "30s",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("result: deny (ttl-exceeded at"), "{out}");
    assert!(out.contains("(rip, metric"), "{out}");
    // No routing chatter in an exchange's trace.
    assert!(!out.contains("udp 10.0.12."), "{out}");
}

#[test]
fn the_analysis_routes_by_the_settled_tables() {
    let (code, out, err) = wirelab(&[
        "reach", OSPF, "--from", "h1", "--to", "h3", "--proto", "icmp",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("path: r1 → r2 → r3"), "{out}");
}

#[test]
fn metrics_count_each_routers_routing_packets() {
    let (code, out, err) = wirelab(&["run", OSPF, "--metrics", "-"]);
    assert_eq!(code, 0, "{err}");
    let value = |name: &str, router: &str| -> u64 {
        let prefix =
            format!("{name}{{lab=\"ospf-triangle\",router=\"{router}\",protocol=\"ospf\"}} ");
        let line = out
            .lines()
            .find(|l| l.starts_with(&prefix))
            .unwrap_or_else(|| panic!("{prefix} in {out}"));
        line[prefix.len()..].parse().unwrap()
    };
    for r in ["r1", "r2", "r3"] {
        assert!(value("wirelab_routing_messages_total", r) > 50);
        assert!(
            value("wirelab_routing_bytes_total", r)
                > 64 * value("wirelab_routing_messages_total", r) - 1
        );
        assert!(value("wirelab_routing_table_changes_total", r) >= 3);
    }
    assert!(out.contains("wirelab_drops_total{lab=\"ospf-triangle\",reason=\"router-down\"}"));
    // A lab without dynamic routing has no routing metrics.
    let (_, plain, _) = wirelab(&["run", "labs/01-one-router.yaml", "--metrics", "-"]);
    assert!(!plain.contains("wirelab_routing_"), "{plain}");
}
