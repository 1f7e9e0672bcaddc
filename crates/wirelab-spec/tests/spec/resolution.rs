//! What the validator fills in: addresses, gateways, link networks,
//! link properties, check families.

use std::net::{Ipv4Addr, Ipv6Addr};

use wirelab_spec::{Family, NetworkOrigin, Peer};

use super::{assert_has, valid};

fn v4(text: &str) -> Option<Ipv4Addr> {
    Some(text.parse().unwrap())
}

fn v6(text: &str) -> Option<Ipv6Addr> {
    Some(text.parse().unwrap())
}

#[test]
fn hosts_without_ip_get_the_first_free_address() {
    let lab = valid(concat!(
        "lab: t\nnetworks:\n  lan: { cidr: 10.0.0.0/24 }\n",
        "routers:\n  r: { interfaces: { lan: 10.0.0.1 } }\n",
        "hosts:\n",
        "  a: { network: lan }\n",
        "  b: { network: lan }\n",
        // Written later in the file, still skipped by `a` and `b`.
        "  c: { network: lan, ip: 10.0.0.3 }\n",
        "  d: { network: lan }\n",
    ))
    .lab;
    let addresses: Vec<_> = lab.hosts.iter().map(|h| h.ipv4).collect();
    assert_eq!(
        addresses,
        [
            v4("10.0.0.2"),
            v4("10.0.0.4"),
            v4("10.0.0.3"),
            v4("10.0.0.5")
        ]
    );
    assert!(lab.hosts.iter().all(|h| h.ipv6.is_none()));
}

#[test]
fn a_full_network_is_reported() {
    let d = super::invalid(concat!(
        "lab: t\nnetworks:\n  lan: { cidr: 10.0.0.0/30 }\n",
        "hosts:\n  a: { network: lan }\n  b: { network: lan }\n  c: { network: lan }\n",
    ));
    assert_has(
        &d,
        "lab.yaml:7:3: error",
        &["no free IPv4 address left in `10.0.0.0/30` for `c`"],
    );
}

#[test]
fn ipv6_is_assigned_only_on_ipv6_only_networks() {
    let lab = valid(concat!(
        "lab: t\nnetworks:\n",
        "  dual: { cidr: 10.0.0.0/24, ipv6: \"2001:db8:1::/64\" }\n",
        "  six: { ipv6: \"2001:db8:2::/64\" }\n",
        "routers:\n  r: { interfaces: { six: \"2001:db8:2::1\", dual: { ip: 10.0.0.1, ipv6: \"2001:db8:1::1\" } } }\n",
        "hosts:\n",
        "  a: { network: dual }\n",
        "  b: { network: six }\n",
        "  c: { network: six, ipv6: \"2001:db8:2::3\" }\n",
        "  d: { network: six }\n",
    ))
    .lab;
    let a = &lab.hosts[0];
    assert_eq!((a.ipv4, a.ipv6), (v4("10.0.0.2"), None));
    assert_eq!(a.gateway4, v4("10.0.0.1"));
    // No IPv6 address, so no IPv6 gateway either.
    assert_eq!(a.gateway6, None);
    let six: Vec<_> = lab.hosts[1..].iter().map(|h| h.ipv6).collect();
    assert_eq!(
        six,
        [
            v6("2001:db8:2::2"),
            v6("2001:db8:2::3"),
            v6("2001:db8:2::4")
        ]
    );
    assert_eq!(lab.hosts[1].ipv4, None);
    assert_eq!(lab.hosts[1].gateway6, v6("2001:db8:2::1"));
}

#[test]
fn several_routers_leave_the_gateway_to_the_user() {
    let loaded = valid(concat!(
        "lab: t\nnetworks:\n  lan: { cidr: 10.0.0.0/24 }\n",
        "routers:\n  r1: { interfaces: { lan: 10.0.0.1 } }\n  r2: { interfaces: { lan: 10.0.0.2 } }\n",
        "hosts:\n",
        "  a: { network: lan }\n",
        "  b: { network: lan, gateway: 10.0.0.2 }\n",
        "  c: { network: lan }\n",
    ));
    let lab = &loaded.lab;
    assert_eq!(lab.hosts[0].gateway4, None);
    assert_eq!(lab.hosts[1].gateway4, v4("10.0.0.2"));
    assert_eq!(lab.hosts[2].gateway4, None);
    let warnings: Vec<String> = loaded.warnings.iter().map(ToString::to_string).collect();
    assert_eq!(warnings.len(), 1, "one warning per network: {warnings:?}");
    assert_has(
        &warnings,
        "lab.yaml:8:3: warning",
        &["several routers", "`r1`, `r2`", "`gateway:`"],
    );
}

#[test]
fn gateway_lists_one_address_per_family() {
    let loaded = valid(concat!(
        "lab: t\nnetworks:\n  lan: { cidr: 10.0.0.0/24, ipv6: \"2001:db8::/64\" }\n",
        "routers:\n  r: { interfaces: { lan: { ip: 10.0.0.1, ipv6: \"2001:db8::1\" } } }\n",
        "hosts:\n",
        "  a: { network: lan, ipv6: \"2001:db8::a\", gateway: [10.0.0.1, \"2001:db8::1\"] }\n",
        "  b: { network: lan, ipv6: \"2001:db8::b\", gateway: \"2001:db8::1\" }\n",
        "  c: { network: lan, gateway: 10.0.0.99 }\n",
    ));
    let lab = &loaded.lab;
    assert_eq!(
        (lab.hosts[0].gateway4, lab.hosts[0].gateway6),
        (v4("10.0.0.1"), v6("2001:db8::1"))
    );
    // Only IPv6 written: IPv4 falls back to the only router.
    assert_eq!(
        (lab.hosts[1].gateway4, lab.hosts[1].gateway6),
        (v4("10.0.0.1"), v6("2001:db8::1"))
    );
    assert_eq!(lab.hosts[2].gateway4, v4("10.0.0.99"));
    let warnings: Vec<String> = loaded.warnings.iter().map(ToString::to_string).collect();
    assert_has(
        &warnings,
        "lab.yaml:9:31: warning",
        &["gateway `10.0.0.99` is no router's address", "`r`"],
    );
}

#[test]
fn gateway_mistakes() {
    let d = super::invalid(concat!(
        "lab: t\nnetworks:\n  lan: { cidr: 10.0.0.0/24 }\n",
        "hosts:\n",
        "  a: { network: lan, ip: 10.0.0.5, gateway: 10.0.0.5 }\n",
        "  b: { network: lan, gateway: 10.1.0.1 }\n",
        "  c: { network: lan, gateway: [10.0.0.1, 10.0.0.2] }\n",
        "  e: { network: lan, gateway: \"2001:db8::1\" }\n",
        "  f: { network: lan, gateway: { ip: 10.0.0.1 } }\n",
    ));
    assert_has(
        &d,
        "lab.yaml:5:45: error",
        &["`10.0.0.5` is the address of `a` itself"],
    );
    assert_has(
        &d,
        "lab.yaml:6:31: error",
        &["`10.1.0.1` is not inside `10.0.0.0/24`"],
    );
    assert_has(&d, "lab.yaml:7:42: error", &["lists two IPv4 addresses"]);
    assert_has(
        &d,
        "lab.yaml:8:31: error",
        &["network `lan` has no IPv6 prefix"],
    );
    assert_has(
        &d,
        "lab.yaml:9:31: error",
        &["`gateway` must be a string, found a map"],
    );
}

#[test]
fn links_become_networks_with_addresses() {
    let lab = valid(concat!(
        "lab: t\nnetworks:\n  lan: { cidr: 10.0.0.0/24 }\n",
        "routers:\n  a: { interfaces: { lan: 10.0.0.1 } }\n  b:\n  c:\n",
        "links:\n",
        "  - { between: [a, b], cidr: 10.0.12.0/31, ipv6: \"2001:db8:12::/64\", mtu: 9000, loss: 1% }\n",
        "  - { between: [c, a], ipv6: \"2001:db8:13::/127\" }\n",
        "hosts:\n  h: { network: lan }\n",
    ))
    .lab;
    assert_eq!(lab.networks.len(), 3);
    let ab = &lab.networks[1];
    assert_eq!(ab.name.value, "a-b");
    assert_eq!(ab.origin, NetworkOrigin::Link(0));
    assert_eq!((ab.link.mtu, ab.link.loss), (9000, 0.01));
    let ca = &lab.networks[2];
    assert_eq!(ca.name.value, "c-a");
    assert!(ca.ipv4.is_none());
    let a = &lab.routers[0];
    assert_eq!(
        a.interfaces.iter().map(|i| i.network).collect::<Vec<_>>(),
        [0, 1, 2]
    );
    // /31: both addresses usable (RFC 3021).
    assert_eq!(a.interfaces[1].ipv4, v4("10.0.12.0"));
    assert_eq!(lab.routers[1].interfaces[0].ipv4, v4("10.0.12.1"));
    assert_eq!(a.interfaces[1].ipv6, v6("2001:db8:12::1"));
    assert_eq!(lab.routers[1].interfaces[0].ipv6, v6("2001:db8:12::2"));
    // /127: both addresses; `c` is first in `between`.
    assert_eq!(lab.routers[2].interfaces[0].ipv6, v6("2001:db8:13::"));
    assert_eq!(a.interfaces[2].ipv6, v6("2001:db8:13::1"));
}

#[test]
fn routes_may_use_link_networks() {
    let lab = valid(concat!(
        "lab: t\nnetworks:\n  lan: { cidr: 10.0.0.0/24 }\n",
        "routers:\n  a:\n    interfaces: { lan: 10.0.0.1 }\n    routes: [{ to: 10.9.0.0/16, via: 10.0.12.2 }]\n  b:\n",
        "links:\n  - { between: [a, b], cidr: 10.0.12.0/30 }\n",
        "hosts:\n  h: { network: lan }\n",
    ))
    .lab;
    assert_eq!(lab.routers[0].routes.len(), 1);
}

#[test]
fn defaults_merge_per_key() {
    let lab = valid(concat!(
        "lab: t\ndefaults:\n  link: { bandwidth: 10Mbps, delay: 2ms, queue: 50 }\n",
        "networks:\n",
        "  a: { cidr: 10.0.0.0/24, link: { delay: 1.5ms, loss: 0.5 } }\n",
        "  b: { cidr: 10.0.1.0/24 }\n",
        "hosts: {}\n",
    ))
    .lab;
    let a = lab.networks[0].link;
    assert_eq!(
        (a.bandwidth_bps, a.delay_ns, a.queue_packets, a.mtu),
        (10_000_000, 1_500_000, 50, 1500)
    );
    assert_eq!(a.loss, 0.005);
    let b = lab.networks[1].link;
    assert_eq!(
        (b.bandwidth_bps, b.delay_ns, b.loss),
        (10_000_000, 2_000_000, 0.0)
    );
}

#[test]
fn check_families_follow_the_format() {
    let lab = valid(concat!(
        "lab: t\nnetworks:\n",
        "  dual: { cidr: 10.0.0.0/24, ipv6: \"2001:db8:1::/64\" }\n",
        "  six: { ipv6: \"2001:db8:2::/64\" }\n",
        "hosts:\n",
        "  a: { network: dual, ipv6: \"2001:db8:1::a\" }\n",
        "  b: { network: dual, ipv6: \"2001:db8:1::b\" }\n",
        "  s: { network: six }\n",
        "checks:\n",
        "  - { name: to a dual host, from: a, to: b, proto: icmp, expect: allow }\n",
        "  - { name: to a v6-only host, from: a, to: s, proto: icmp, expect: allow }\n",
        "  - { name: to a v6 address, from: a, to: \"2001:db8:2::9\", proto: icmp, expect: deny }\n",
        "  - { name: written, from: a, to: b, port: 22, family: ipv6, expect: deny, points: 0, hint: h }\n",
    ))
    .lab;
    let families: Vec<Family> = lab.checks.iter().map(|c| c.family).collect();
    assert_eq!(
        families,
        [Family::Ipv4, Family::Ipv6, Family::Ipv6, Family::Ipv6]
    );
    assert_eq!(lab.checks[3].points, 0);
    assert_eq!(lab.checks[3].hint.as_deref(), Some("h"));
}

#[test]
fn security_group_details() {
    let lab = valid(concat!(
        "lab: t\nnetworks:\n  lan: { cidr: 10.0.0.0/24 }\nhosts: {}\n",
        "security_groups:\n",
        "  open:\n    inbound:\n",
        "      - { proto: tcp, ports: 1024-65535, from: 10.0.0.7 }\n",
        "      - { proto: icmp, icmp_type: 8, icmp_code: 0, from: open }\n",
        "      - { proto: 6, port: 22, from: \"::/0\" }\n",
        "      - { proto: 47, from: 0.0.0.0/0 }\n",
        "    outbound: []\n",
        "  closed:\n",
    ))
    .lab;
    let open = &lab.security_groups[0];
    assert_eq!(
        open.inbound[0].peer,
        Peer::Cidr("10.0.0.7/32".parse().unwrap())
    );
    assert_eq!(open.inbound[1].peer, Peer::Group(0));
    assert_eq!(
        (open.inbound[1].icmp_type, open.inbound[1].icmp_code),
        (Some(8), Some(0))
    );
    assert_eq!(open.inbound[2].proto, wirelab_spec::RuleProto::Tcp);
    assert_eq!(open.inbound[3].proto, wirelab_spec::RuleProto::Number(47));
    assert_eq!(open.outbound.as_ref().map(Vec::len), Some(0));
    let closed = &lab.security_groups[1];
    assert!(closed.inbound.is_empty() && closed.outbound.is_none());
}

#[test]
fn nacl_rules_are_sorted() {
    let lab = valid(concat!(
        "lab: t\nnetworks:\n  lan: { cidr: 10.0.0.0/24, nacl: n }\nhosts: {}\n",
        "nacls:\n  n:\n    inbound:\n",
        "      - { rule: 300, action: deny, proto: all, cidr: 0.0.0.0/0 }\n",
        "      - { rule: 100, action: allow, proto: tcp, port: 22, cidr: 10.0.0.0/8 }\n",
        "      - { rule: 200, action: allow, proto: icmpv6, cidr: \"::/0\" }\n",
    ))
    .lab;
    let numbers: Vec<u16> = lab.nacls[0].inbound.iter().map(|r| r.number).collect();
    assert_eq!(numbers, [100, 200, 300]);
    assert_eq!(lab.networks[0].nacl, Some(0));
    assert!(lab.nacls[0].outbound.is_empty());
}

/// 1,000 hosts, 100 groups, 20 networks, 1,000 checks: loads, with every
/// host addressed (this size must stay fast: no scans over all hosts per host).
#[test]
fn a_large_lab_loads() {
    let mut text = String::from("lab: big\nnetworks:\n");
    for n in 0..20 {
        text.push_str(&format!("  net{n}: {{ cidr: 10.{n}.0.0/16 }}\n"));
    }
    text.push_str("routers:\n  r:\n    interfaces:\n");
    for n in 0..20 {
        text.push_str(&format!("      net{n}: 10.{n}.0.1\n"));
    }
    text.push_str("hosts:\n");
    for h in 0..1000 {
        text.push_str(&format!(
            "  h{h}: {{ network: net{}, security_groups: [sg{}], services: [{{ port: 22 }}] }}\n",
            h % 20,
            h % 100
        ));
    }
    text.push_str("security_groups:\n");
    for s in 0..100 {
        text.push_str(&format!(
            "  sg{s}:\n    inbound: [{{ proto: tcp, port: 22, from: sg{} }}]\n",
            (s + 1) % 100
        ));
    }
    text.push_str("checks:\n");
    for c in 0..1000 {
        text.push_str(&format!(
            "  - {{ name: c{c}, from: h{c}, to: h{}, port: 22, expect: allow }}\n",
            (c * 7) % 1000
        ));
    }
    let lab = valid(&text).lab;
    assert_eq!(
        (lab.hosts.len(), lab.checks.len(), lab.security_groups.len()),
        (1000, 1000, 100)
    );
    assert_eq!(lab.hosts[0].ipv4, v4("10.0.0.2"));
    assert_eq!(lab.hosts[20].ipv4, v4("10.0.0.3"));
    assert_eq!(lab.hosts[999].ipv4, v4("10.19.0.51"));
    assert_eq!(lab.hosts[999].gateway4, v4("10.19.0.1"));
}
