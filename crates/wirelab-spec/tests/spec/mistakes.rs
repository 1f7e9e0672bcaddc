//! One user mistake per test: each is reported at the offending value and
//! names it.

use super::{assert_has, invalid, valid, BASE};

fn with(extra: &str) -> String {
    format!("{BASE}{extra}")
}

#[test]
fn unknown_top_level_key_suggests() {
    let d = invalid(&with("netwrks: {}\n"));
    assert_has(
        &d,
        "lab.yaml:6:1: error",
        &["unknown key `netwrks`", "did you mean `networks`?"],
    );
}

#[test]
fn unknown_key_without_close_match_lists_keys() {
    let d = invalid("lab: t\nnetworks:\n  lan: { cidr: 10.0.0.0/24, colour: red }\nhosts: {}\n");
    assert_has(
        &d,
        "lab.yaml:3:29: error",
        &[
            "unknown key `colour`",
            "valid keys here: cidr, ipv6, nacl, link",
        ],
    );
}

#[test]
fn wrong_types_name_what_was_found() {
    let d = invalid("lab: t\nnetworks: [lan]\nhosts:\n  a: { network: 5 }\n");
    assert_has(
        &d,
        "lab.yaml:2:11: error",
        &["`networks` must be a map, found a list"],
    );
    assert_has(
        &d,
        "lab.yaml:4:17: error",
        &["`network` must be a string, found the number `5`"],
    );
}

#[test]
fn missing_sections_and_bad_lab_id() {
    let d = invalid("lab: Big_Lab\n");
    assert_has(&d, "lab.yaml:1:6: error", &["lab id `Big_Lab`"]);
    assert_has(&d, "lab.yaml:1:1: error", &["no `networks:` section"]);
    assert_has(&d, "lab.yaml:1:1: error", &["no `hosts:` section"]);
    let d = invalid("networks: {}\nhosts: {}\n");
    assert_has(&d, "lab.yaml:1:1: error", &["missing `lab`"]);
}

#[test]
fn seed_must_be_a_non_negative_integer() {
    let d = invalid(&with("seed: -3\n"));
    assert_has(&d, "lab.yaml:6:7: error", &["`seed` `-3` is out of range"]);
    let d = invalid(&with("seed: 1.5\n"));
    assert_has(&d, "lab.yaml:6:7: error", &["whole number", "`1.5`"]);
}

#[test]
fn unknown_network_of_a_host_suggests() {
    let d = invalid(
        "lab: t\nnetworks:\n  public: { cidr: 10.0.0.0/24 }\nhosts:\n  a: { network: pubic }\n",
    );
    assert_has(
        &d,
        "lab.yaml:5:17: error",
        &["unknown network `pubic`", "did you mean `public`?"],
    );
}

#[test]
fn host_needs_a_network() {
    let d =
        invalid("lab: t\nnetworks:\n  lan: { cidr: 10.0.0.0/24 }\nhosts:\n  a: { ip: 10.0.0.5 }\n");
    assert_has(
        &d,
        "lab.yaml:5:3: error",
        &["host `a` is missing `network`"],
    );
}

#[test]
fn hosts_and_routers_share_names() {
    let d = invalid(&with("routers:\n  a: { interfaces: { lan: 10.0.0.1 } }\n"));
    assert_has(
        &d,
        "lab.yaml:5:3: error",
        &["`a` is both a host and a router"],
    );
}

#[test]
fn networks_need_a_prefix_of_the_right_family() {
    let d = invalid("lab: t\nnetworks:\n  lan: { nacl: x }\n  six: { cidr: \"2001:db8::/64\" }\n  four: { ipv6: 10.1.0.0/16 }\nhosts: {}\n");
    assert_has(&d, "lab.yaml:3:3: error", &["network `lan` needs a prefix"]);
    assert_has(&d, "lab.yaml:3:16: error", &["unknown NACL `x`"]);
    assert_has(
        &d,
        "lab.yaml:4:16: error",
        &["`cidr` takes an IPv4 prefix", "`ipv6:`"],
    );
    assert_has(&d, "lab.yaml:5:17: error", &["`ipv6` takes an IPv6 prefix"]);
}

#[test]
fn network_prefix_with_host_bits_is_an_error() {
    let d = invalid("lab: t\nnetworks:\n  lan: { cidr: 10.0.1.5/24 }\nhosts: {}\n");
    assert_has(
        &d,
        "lab.yaml:3:16: error",
        &[
            "`10.0.1.5/24` has host bits set",
            "did you mean `10.0.1.0/24`?",
        ],
    );
}

#[test]
fn a_bare_address_is_not_a_network_prefix() {
    let d = invalid("lab: t\nnetworks:\n  lan: { cidr: 10.0.1.0 }\nhosts: {}\n");
    assert_has(
        &d,
        "lab.yaml:3:16: error",
        &["`10.0.1.0` is an address, not a prefix"],
    );
}

#[test]
fn overlapping_networks() {
    let d = invalid("lab: t\nnetworks:\n  big: { cidr: 10.0.0.0/16 }\n  small: { cidr: 10.0.5.0/24 }\n  other: { cidr: 10.1.0.0/16 }\nhosts: {}\n");
    assert_has(
        &d,
        "lab.yaml:4:18: error",
        &["`10.0.5.0/24` (network `small`) overlaps `10.0.0.0/16` (network `big`)"],
    );
    assert_eq!(d.len(), 1, "{d:?}");
}

#[test]
fn network_and_broadcast_addresses_are_not_host_addresses() {
    let d = invalid(&with(
        "  b: { network: lan, ip: 10.0.0.0 }\n  c: { network: lan, ip: 10.0.0.255 }\n",
    ));
    assert_has(
        &d,
        "lab.yaml:6:26: error",
        &["`10.0.0.0` is the network address of `10.0.0.0/24`"],
    );
    assert_has(
        &d,
        "lab.yaml:7:26: error",
        &["`10.0.0.255` is the broadcast address"],
    );
}

#[test]
fn address_family_mismatches() {
    let d = invalid(&with("  b: { network: lan, ip: \"2001:db8::5\" }\n  c: { network: lan, ipv6: \"2001:db8::6\" }\n  e: { network: lan, ip: 10.0.0.9/24 }\n"));
    assert_has(
        &d,
        "lab.yaml:6:26: error",
        &["`ip` takes an IPv4 address", "`ipv6:`"],
    );
    assert_has(
        &d,
        "lab.yaml:7:28: error",
        &["network `lan` has no IPv6 prefix"],
    );
    assert_has(
        &d,
        "lab.yaml:8:26: error",
        &["without a prefix length", "`10.0.0.9/24`"],
    );
}

#[test]
fn duplicate_address_between_a_router_and_a_host() {
    let d = invalid("lab: t\nnetworks:\n  lan: { cidr: 10.0.0.0/24 }\nhosts:\n  a: { network: lan, ip: 10.0.0.1 }\nrouters:\n  r: { interfaces: { lan: 10.0.0.1 } }\n");
    assert_has(
        &d,
        "lab.yaml:7:27: error",
        &["`10.0.0.1` already used by `a`"],
    );
}

#[test]
fn router_interface_mistakes() {
    let d = invalid(&with(
        "routers:\n  r:\n    interfaces:\n      lam: 10.0.0.1\n  s:\n    interfaces:\n      lan: { ip: 10.9.0.1, ipv4: x }\n  u:\n    interfaces:\n      lan: not-an-address\n",
    ));
    assert_has(
        &d,
        "lab.yaml:9:7: error",
        &["unknown network `lam`", "did you mean `lan`?"],
    );
    assert_has(
        &d,
        "lab.yaml:12:18: error",
        &["`10.9.0.1` is not inside `10.0.0.0/24`"],
    );
    assert_has(
        &d,
        "lab.yaml:12:28: error",
        &["unknown key `ipv4`", "did you mean `ipv6`?"],
    );
    assert_has(
        &d,
        "lab.yaml:15:12: error",
        &["`not-an-address` is not an IP address"],
    );
}

#[test]
fn route_mistakes() {
    let d = invalid(&with(concat!(
        "routers:\n  r:\n    interfaces: { lan: 10.0.0.1 }\n    routes:\n",
        "      - { to: 10.5.0.0/16, via: 10.0.0.2, blackhole: true }\n",
        "      - { to: 10.6.0.0/16 }\n",
        "      - { to: 10.7.0.0/16, via: 10.0.0.1 }\n",
        "      - { to: 10.8.0.0/16, via: \"2001:db8::1\" }\n",
        "      - { to: 10.9.0.0/16, blackhole: true }\n",
        "      - { to: 10.9.0.0/16, via: 10.0.0.3 }\n",
        "      - { to: 10.10.0.1/16, via: 10.0.0.3 }\n",
    )));
    assert_has(
        &d,
        "lab.yaml:10:33: error",
        &["either `via:` or `blackhole: true`"],
    );
    assert_has(
        &d,
        "lab.yaml:11:9: error",
        &["route to `10.6.0.0/16` needs `via"],
    );
    assert_has(
        &d,
        "lab.yaml:12:33: error",
        &["`10.0.0.1` is an address of `r` itself"],
    );
    assert_has(&d, "lab.yaml:13:33: error", &["different IP families"]);
    assert_has(
        &d,
        "lab.yaml:15:15: error",
        &["already has a route to `10.9.0.0/16`", "line 14"],
    );
    assert_has(
        &d,
        "lab.yaml:16:15: error",
        &["`10.10.0.1/16` has host bits set"],
    );
}

#[test]
fn link_mistakes() {
    let d = invalid(concat!(
        "lab: t\nnetworks:\n  r1-r2: { cidr: 10.0.0.0/24 }\nrouters:\n  r1:\n  r2:\nhosts: {}\n",
        "links:\n",
        "  - { between: [r1, r3], cidr: 10.0.13.0/30 }\n",
        "  - { between: [r1, r1], cidr: 10.0.11.0/30 }\n",
        "  - { between: [r1, r2], cidr: 10.0.12.0/30 }\n",
        "  - { between: [r2, r1], cidr: 10.0.21.0/32 }\n",
        "  - { between: [r2] }\n",
    ));
    assert_has(
        &d,
        "lab.yaml:9:21: error",
        &["unknown router `r3`", "did you mean `r1`?"],
    );
    assert_has(
        &d,
        "lab.yaml:10:21: error",
        &["two different routers", "`r1` twice"],
    );
    assert_has(
        &d,
        "lab.yaml:11:16: error",
        &["creates the network `r1-r2`", "already declared"],
    );
    assert_has(
        &d,
        "lab.yaml:12:32: error",
        &["`10.0.21.0/32` is too small for two routers"],
    );
    assert_has(
        &d,
        "lab.yaml:13:16: error",
        &["`between` names two routers, found 1"],
    );
}

#[test]
fn link_property_mistakes() {
    let d = invalid(concat!(
        "lab: t\ndefaults:\n  link: { bandwidth: 100 }\n",
        "networks:\n  lan: { cidr: 10.0.0.0/24, link: { delay: 5, loss: 150%, mtu: 40, queue: 0, jitter: fast } }\n",
        "  six: { ipv6: \"2001:db8::/64\", link: { mtu: 1200 } }\nhosts: {}\n",
    ));
    assert_has(
        &d,
        "lab.yaml:3:22: error",
        &["bandwidth `100` has no unit", "bps, Kbps, Mbps or Gbps"],
    );
    assert_has(
        &d,
        "lab.yaml:5:44: error",
        &["delay `5` has no unit", "ns, us, ms or s"],
    );
    assert_has(
        &d,
        "lab.yaml:5:53: error",
        &["loss `150%` is more than 100%"],
    );
    assert_has(
        &d,
        "lab.yaml:5:64: error",
        &["`mtu` `40` is out of range (68..=9216)"],
    );
    assert_has(
        &d,
        "lab.yaml:5:75: error",
        &["`queue` (packets) `0` is out of range"],
    );
    assert_has(
        &d,
        "lab.yaml:5:86: error",
        &["jitter `fast` must be a number followed by a unit"],
    );
    assert_has(
        &d,
        "lab.yaml:6:46: error",
        &["MTU 1200 is below 1280", "`six`"],
    );
}

#[test]
fn service_mistakes() {
    let d = invalid("lab: t\nnetworks:\n  lan: { cidr: 10.0.0.0/24 }\nhosts:\n  a:\n    network: lan\n    services:\n      - { port: 22 }\n      - { port: 22, proto: tcp }\n      - { port: 0 }\n      - { port: 53, proto: dns }\n");
    assert_has(
        &d,
        "lab.yaml:9:17: error",
        &["tcp/22 already has a service", "line 8"],
    );
    assert_has(&d, "lab.yaml:10:17: error", &["port `0` is out of range"]);
    assert_has(&d, "lab.yaml:11:28: error", &["`dns` must be tcp or udp"]);
}

#[test]
fn security_group_rule_mistakes() {
    let d = invalid(&with(concat!(
        "security_groups:\n  sg:\n    inbound:\n",
        "      - { proto: tpc, port: 22, from: 10.0.0.0/8 }\n",
        "      - { proto: tcp, port: 22, ports: 1-2, from: 10.0.0.0/8 }\n",
        "      - { proto: tcp, ports: 90-80, from: 10.0.0.0/8 }\n",
        "      - { proto: tcp, icmp_type: 8, from: 10.0.0.0/8 }\n",
        "      - { proto: icmp, icmp_code: 0, from: 10.0.0.0/8 }\n",
        "      - { proto: tcp, port: 22, to: 10.0.0.0/8 }\n",
        "      - { proto: tcp, port: 22 }\n",
        "      - { proto: 300, from: 10.0.0.0/8 }\n",
        "      - { proto: udp, port: 53, from: 10.0.0.0/33 }\n",
    )));
    assert_has(
        &d,
        "lab.yaml:9:18: error",
        &["unknown protocol `tpc`", "did you mean `tcp`?"],
    );
    assert_has(&d, "lab.yaml:10:40: error", &["either `port` or `ports`"]);
    assert_has(&d, "lab.yaml:11:30: error", &["`90-80` is backwards"]);
    assert_has(
        &d,
        "lab.yaml:12:34: error",
        &["`icmp_type` applies to icmp and icmpv6 rules only"],
    );
    assert_has(
        &d,
        "lab.yaml:13:35: error",
        &["`icmp_code` needs an `icmp_type`"],
    );
    assert_has(
        &d,
        "lab.yaml:14:33: error",
        &["names its peer with `from:`, not `to:`"],
    );
    assert_has(&d, "lab.yaml:15:9: error", &["needs `from:`"]);
    assert_has(
        &d,
        "lab.yaml:16:18: error",
        &["protocol number `300` is out of range"],
    );
    assert_has(
        &d,
        "lab.yaml:17:39: error",
        &["invalid prefix `10.0.0.0/33`"],
    );
}

#[test]
fn nacl_rule_mistakes() {
    let d = invalid(&with(concat!(
        "nacls:\n  n:\n    inbound:\n",
        "      - { rule: 100, action: allow, proto: all, cidr: 0.0.0.0/0 }\n",
        "      - { rule: 100, action: deny, proto: all, cidr: 0.0.0.0/0 }\n",
        "      - { rule: 40000, action: allow, proto: all, cidr: 0.0.0.0/0 }\n",
        "      - { rule: 5, action: permit, proto: all, cidr: 0.0.0.0/0 }\n",
        "      - { rule: 6, action: allow, proto: all }\n",
        "    outbound:\n",
        "      - { rule: 100, action: allow, proto: all, cidr: 0.0.0.0/0, from: x }\n",
    )));
    assert_has(
        &d,
        "lab.yaml:10:17: error",
        &["inbound rule 100 is already used (line 9)"],
    );
    assert_has(
        &d,
        "lab.yaml:11:17: error",
        &["rule number `40000` is out of range (1..=32766)"],
    );
    assert_has(
        &d,
        "lab.yaml:12:28: error",
        &["action `permit` must be allow or deny"],
    );
    assert_has(&d, "lab.yaml:13:9: error", &["is missing `cidr`"]);
    assert_has(&d, "lab.yaml:15:66: error", &["unknown key `from`"]);
}

#[test]
fn check_mistakes() {
    let d = invalid(&with(concat!(
        "routers:\n  r: { interfaces: { lan: 10.0.0.1 } }\n",
        "checks:\n",
        "  - { from: a, to: a, port: 22, expect: allow }\n",
        "  - { name: x, from: a, to: 10.0.0.9, proto: icmp, port: 7, expect: allow }\n",
        "  - { name: x, from: a, to: 10.0.0.9, expect: allow }\n",
        "  - { name: y, from: r, to: a, port: 1, expect: allow, family: ipv6 }\n",
        "  - { name: z, from: a, to: 10.0.0.9, port: 1, expect: deny, reason: nacl-inbond, via: [s] }\n",
        "  - { name: w, from: a, to: \"2001:db8::1\", port: 1, expect: deny, family: ipv4, points: -1 }\n",
        "  - { name: v, from: a, to: a, port: 1, proto: sctp, expect: deny }\n",
        "  - { name: u, from: a, to: a, port: 1, expect: allow, family: ipv6 }\n",
    )));
    assert_has(&d, "lab.yaml:9:5: error", &["a check is missing `name`"]);
    assert_has(&d, "lab.yaml:10:58: error", &["an icmp check has no port"]);
    assert_has(
        &d,
        "lab.yaml:11:13: error",
        &["check name `x` is already used (line 10)"],
    );
    assert_has(&d, "lab.yaml:11:5: error", &["a tcp check needs `port:`"]);
    assert_has(
        &d,
        "lab.yaml:12:22: error",
        &["`r` is a router; checks run between hosts"],
    );
    assert_has(
        &d,
        "lab.yaml:13:70: error",
        &[
            "unknown reason `nacl-inbond`",
            "did you mean `nacl-inbound`?",
        ],
    );
    assert_has(
        &d,
        "lab.yaml:13:89: error",
        &["unknown router `s` in `via`"],
    );
    assert_has(
        &d,
        "lab.yaml:14:75: error",
        &["family `ipv4` does not match the IPv6 address"],
    );
    assert_has(
        &d,
        "lab.yaml:14:89: error",
        &["`points` `-1` is out of range"],
    );
    assert_has(
        &d,
        "lab.yaml:15:48: error",
        &["check protocol `sctp` must be tcp, udp or icmp"],
    );
    assert_has(
        &d,
        "lab.yaml:16:22: error",
        &["host `a` has no IPv6 address", "ipv6"],
    );
}

#[test]
fn no_top_level_key_is_reserved_any_more() {
    // `dns`, `events`, `traffic` and `ssh` are all defined: empty ones
    // give no warning, and a wrong `ssh` is an error, not ignored.
    let loaded = valid(&with("dns: { zones: [] }\nssh:\nevents: []\ntraffic:\n"));
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    let d = invalid(&with("ssh: 1\n"));
    assert_has(&d, "lab.yaml:6:6: error", &["`ssh` must be a map"]);
}

#[test]
fn rule_warnings_do_not_fail_the_lab() {
    let loaded = valid(&with(concat!(
        "security_groups:\n  sg:\n    inbound:\n",
        "      - { proto: icmp, port: 8, from: 10.0.0.5/24 }\n",
    )));
    let warnings: Vec<String> = loaded.warnings.iter().map(ToString::to_string).collect();
    assert_has(
        &warnings,
        "lab.yaml:9:30: warning",
        &["ports are ignored for `icmp`"],
    );
    assert_has(
        &warnings,
        "lab.yaml:9:39: warning",
        &["`10.0.0.5/24` has host bits set", "`10.0.0.0/24`"],
    );
    let rule = &loaded.lab.security_groups[0].inbound[0];
    assert_eq!(rule.ports, None);
    assert_eq!(
        rule.peer,
        wirelab_spec::Peer::Cidr("10.0.0.0/24".parse().unwrap())
    );
}

#[test]
fn diagnostics_are_sorted_by_position() {
    let d = invalid(
        "lab: t\nhosts:\n  a: { network: nope }\nnetworks:\n  lan: { cidr: 10.0.0.0/33 }\n",
    );
    assert!(d[0].starts_with("lab.yaml:3:17"), "{d:?}");
    assert!(d[1].starts_with("lab.yaml:5:16"), "{d:?}");
}

#[test]
fn a_broken_network_is_reported_once() {
    let d = invalid(concat!(
        "lab: t\nnetworks:\n  lan: { cidr: 10.0.0.0/33 }\n",
        "hosts:\n  a: { network: lan }\n  b: { network: lan, ip: 10.0.0.5 }\n",
        "checks:\n  - { name: c, from: a, to: b, port: 22, expect: allow }\n",
    ));
    assert_eq!(d.len(), 1, "{d:?}");
    assert_has(&d, "lab.yaml:3:16: error", &["`10.0.0.0/33`"]);
}
