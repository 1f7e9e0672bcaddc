//! `nat:` on routers: what a valid one resolves to, and every mistake at
//! once in one file.

use std::net::Ipv4Addr;

use super::{assert_has, invalid, render, valid};
use wirelab_spec::{PortRange, TransportProto};

#[test]
fn nat_mistakes_are_all_reported_at_once() {
    let text = std::fs::read_to_string("tests/fixtures/nat/mistakes.yaml").unwrap();
    let d = match wirelab_spec::parse_str("mistakes.yaml", &text) {
        Ok(_) => panic!("mistakes.yaml must be rejected"),
        Err(d) => render(&d),
    };
    insta::assert_snapshot!("nat-mistakes", d);
}

const LAB: &str = r#"
lab: t
networks:
  inside: { cidr: 10.0.1.0/24 }
  outside: { cidr: 203.0.113.0/24 }
routers:
  gw:
    interfaces: { inside: 10.0.1.1, outside: 203.0.113.1 }
    nat:
      source:
        - { from: 10.0.1.0/24, out: outside, to: masquerade }
        - { from: 10.0.0.0/8, out: outside, to: 203.0.113.100-203.0.113.103, ports: 5000-5999 }
      forward:
        - { in: outside, proto: udp, port: 5353, to: "web:53" }
        - { in: outside, ports: 8000-8010, to: 10.0.1.10 }
      static:
        - { private: web, public: 203.0.113.10 }
hosts:
  web: { network: inside, ip: 10.0.1.10 }
"#;

#[test]
fn rules_resolve_to_interfaces_addresses_and_ports() {
    let lab = valid(LAB).lab;
    let nat = &lab.routers[0].nat;
    let (masq, pool) = (&nat.source[0], &nat.source[1]);
    assert!(masq.masquerade);
    assert_eq!(
        (masq.out, masq.first, masq.last),
        (
            1,
            Ipv4Addr::new(203, 0, 113, 1),
            Ipv4Addr::new(203, 0, 113, 1)
        )
    );
    assert_eq!(
        masq.ports,
        PortRange {
            first: 1024,
            last: 65535
        },
        "the AWS NAT gateway's range by default"
    );
    assert!(!pool.masquerade);
    assert_eq!(
        (pool.first, pool.last),
        (
            Ipv4Addr::new(203, 0, 113, 100),
            Ipv4Addr::new(203, 0, 113, 103)
        )
    );
    assert_eq!(
        pool.ports,
        PortRange {
            first: 5000,
            last: 5999
        }
    );
    let (dns, range) = (&nat.forward[0], &nat.forward[1]);
    assert_eq!(
        (dns.proto, dns.public, dns.to, dns.to_port),
        (
            TransportProto::Udp,
            Ipv4Addr::new(203, 0, 113, 1),
            Ipv4Addr::new(10, 0, 1, 10),
            Some(53)
        )
    );
    assert_eq!(
        (
            range.proto,
            range.ports.first,
            range.ports.last,
            range.to_port
        ),
        (TransportProto::Tcp, 8000, 8010, None)
    );
    let eip = &nat.static_maps[0];
    assert_eq!(
        (eip.private, eip.public, eip.on),
        (
            Ipv4Addr::new(10, 0, 1, 10),
            Ipv4Addr::new(203, 0, 113, 10),
            1
        )
    );
    assert!(nat.is_outside(1) && !nat.is_outside(0));
}

#[test]
fn a_public_address_may_be_used_once() {
    let d = invalid(&LAB.replace(
        "        - { private: web, public: 203.0.113.10 }\n",
        "        - { private: web, public: 203.0.113.101 }\n",
    ));
    assert_has(
        &d,
        "lab.yaml:17:11: error",
        &["`203.0.113.101` is already used by the pool of `gw` (line 12)"],
    );
}

#[test]
fn a_router_without_nat_or_with_an_empty_one_translates_nothing() {
    for router in [
        "r: { interfaces: { lan: 10.0.0.1 } }",
        "r: { interfaces: { lan: 10.0.0.1 }, nat: }",
    ] {
        let lab = valid(&format!(
            "lab: t\nnetworks:\n  lan: {{ cidr: 10.0.0.0/24 }}\nrouters:\n  {router}\nhosts:\n  a: {{ network: lan }}\n"
        ))
        .lab;
        assert!(lab.routers[0].nat.is_empty(), "{router}");
    }
    // Something under `nat:` that is not a map is an error.
    let d = invalid("lab: t\nnetworks:\n  lan: { cidr: 10.0.0.0/24 }\nrouters:\n  r: { interfaces: { lan: 10.0.0.1 }, nat: [] }\nhosts:\n  a: { network: lan }\n");
    assert_has(
        &d,
        "lab.yaml:5:44: error",
        &["the `nat` of `r` must be a map"],
    );
}
