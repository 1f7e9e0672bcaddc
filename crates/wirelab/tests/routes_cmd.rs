//! `wirelab routes`: the compiled tables shaped like `ip route`.

mod common;
use common::wirelab;

const STATIC: &str = "labs/02-static-routing.yaml";

#[test]
fn a_router_table_reads_like_ip_route() {
    let (code, out, _) = wirelab(&["routes", STATIC, "--router", "hq"]);
    assert_eq!(code, 0);
    // Longest prefix first: the /24 to the servers before the /16 of the
    // whole branch; the blackhole; each static route with its line.
    assert_eq!(
        out,
        "hq:
  10.0.12.0/30 dev eth1 proto kernel scope link src 10.0.12.1
  10.0.13.0/30 dev eth2 proto kernel scope link src 10.0.13.1
  10.1.0.0/24 dev eth0 proto kernel scope link src 10.1.0.1
  10.2.0.0/24 via 10.0.12.2 dev eth1 proto static  # line 50
  10.2.0.0/16 via 10.0.13.2 dev eth2 proto static  # line 49
  10.9.0.0/16 via 10.0.12.2 dev eth1 proto static  # line 51
  blackhole 10.66.0.0/16 proto static  # line 52
"
    );
    let (_, all, _) = wirelab(&["routes", STATIC]);
    assert!(
        all.contains("\nbranch:\n")
            && all.contains("  default via 10.0.24.1 dev eth2 proto static  # line 65\n"),
        "{all}"
    );
    assert!(!all.contains("hq-pc:"), "hosts only with --hosts: {all}");
}

#[test]
fn hosts_dual_stack_and_json() {
    let (code, out, _) = wirelab(&["routes", STATIC, "--hosts", "--router", "hq-pc"]);
    assert_eq!(code, 0);
    assert!(
        out.contains("  default via 10.1.0.1 dev eth0 proto boot\n"),
        "{out}"
    );
    let (_, v6, _) = wirelab(&["routes", "labs/04-dual-stack.yaml", "--router", "r1"]);
    assert!(
        v6.contains("  2001:db8:0:1::/64 dev eth1 proto kernel scope link src 2001:db8:0:1::1\n"),
        "{v6}"
    );
    let (_, json, _) = wirelab(&["routes", STATIC, "--router", "hq", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&json).expect("json");
    let routes = v["tables"][0]["routes"].as_array().expect("routes");
    assert_eq!(routes.len(), 7);
    assert_eq!(routes[6]["type"], "blackhole");
    assert_eq!(routes[3]["via"], "10.0.12.2");
    assert_eq!(routes[3]["network"], "hq-west");
    assert_eq!(routes[3]["line"], 50);
}

#[test]
fn an_unknown_router_or_a_bad_lab_exits_2() {
    let (code, _, err) = wirelab(&["routes", STATIC, "--router", "hqq"]);
    assert_eq!(code, 2);
    assert!(
        err.contains(
            "`hqq` is no router or host of lab static-routing (routers: hq, west, east, branch)"
        ),
        "{err}"
    );
    let (code, _, err) = wirelab(&["routes", "crates/wirelab/tests/stages/mistakes.yaml"]);
    assert_eq!(code, 2);
    assert!(err.contains("mistakes.yaml:10:13: error:"), "{err}");
}
