//! The compiled security-group and NACL matchers agree with a plain
//! reference evaluator written straight from the lab format, on random
//! rules and random packets.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use proptest::prelude::*;
use wirelab_net::{Direction, Header, Network as Compiled, SgVerdict};
use wirelab_spec::*;

// ----- the reference ------------------------------------------------------

fn proto_matches(proto: RuleProto, h: &Header) -> bool {
    match proto.number() {
        None => true,
        Some(n) => n == h.proto,
    }
}

fn detail_matches(
    proto: RuleProto,
    ports: Option<PortRange>,
    t: Option<u8>,
    c: Option<u8>,
    h: &Header,
) -> bool {
    match proto.number() {
        Some(6) | Some(17) => ports.is_none_or(|r| r.first <= h.dst_port && h.dst_port <= r.last),
        Some(1) | Some(58) => {
            t.is_none_or(|t| t == h.icmp_type) && c.is_none_or(|c| c == h.icmp_code)
        }
        _ => true,
    }
}

fn addresses_of_group(lab: &Lab, g: usize) -> Vec<IpAddr> {
    let mut out = Vec::new();
    for host in &lab.hosts {
        if host.security_groups.contains(&g) {
            out.extend(host.ipv4.map(IpAddr::V4));
            out.extend(host.ipv6.map(IpAddr::V6));
        }
    }
    out
}

fn sg_rule_matches(lab: &Lab, rule: &SgRule, peer: IpAddr, h: &Header) -> bool {
    let peer_ok = match &rule.peer {
        Peer::Cidr(net) => net.contains(&peer),
        Peer::Group(g) => addresses_of_group(lab, *g).contains(&peer),
    };
    peer_ok
        && proto_matches(rule.proto, h)
        && detail_matches(rule.proto, rule.ports, rule.icmp_type, rule.icmp_code, h)
}

/// Does the union of a host's groups let this new flow through?
fn reference_sg(lab: &Lab, host: usize, dir: Direction, h: &Header) -> bool {
    let groups = &lab.hosts[host].security_groups;
    match dir {
        Direction::Inbound => groups.iter().any(|&g| {
            lab.security_groups[g]
                .inbound
                .iter()
                .any(|r| sg_rule_matches(lab, r, h.src, h))
        }),
        Direction::Outbound => groups
            .iter()
            .any(|&g| match &lab.security_groups[g].outbound {
                None => true,
                Some(rules) => rules.iter().any(|r| sg_rule_matches(lab, r, h.dst, h)),
            }),
    }
}

/// The matching rule with the lowest number decides; none denies.
fn reference_nacl(nacl: &Nacl, dir: Direction, h: &Header) -> (NaclAction, Option<u16>) {
    let (rules, peer) = match dir {
        Direction::Inbound => (&nacl.inbound, h.src),
        Direction::Outbound => (&nacl.outbound, h.dst),
    };
    rules
        .iter()
        .filter(|r| {
            r.cidr.contains(&peer)
                && proto_matches(r.proto, h)
                && detail_matches(r.proto, r.ports, r.icmp_type, r.icmp_code, h)
        })
        .min_by_key(|r| r.number)
        .map_or((NaclAction::Deny, None), |r| (r.action, Some(r.number)))
}

// ----- random labs and packets ----------------------------------------------

fn v4(i: u8) -> Ipv4Addr {
    Ipv4Addr::new(10, 0, i / 8, i % 8 + 1)
}

fn v6(i: u8) -> Ipv6Addr {
    Ipv6Addr::new(
        0x2001,
        0xdb8,
        0,
        0,
        0,
        0,
        u16::from(i / 8),
        u16::from(i % 8) + 1,
    )
}

fn arb_proto() -> impl Strategy<Value = RuleProto> {
    prop_oneof![
        Just(RuleProto::Tcp),
        Just(RuleProto::Udp),
        Just(RuleProto::Icmp),
        Just(RuleProto::Icmpv6),
        Just(RuleProto::All),
        Just(RuleProto::Number(47)),
        Just(RuleProto::Number(6)),
    ]
}

fn arb_ports() -> impl Strategy<Value = Option<PortRange>> {
    prop::option::of((0u16..40, 0u16..20).prop_map(|(a, w)| PortRange {
        first: a,
        last: a + w,
    }))
}

fn arb_cidr() -> impl Strategy<Value = IpNet> {
    prop_oneof![
        (0u8..32, 16u8..=32)
            .prop_map(|(i, len)| IpNet::V4(Ipv4Net::new(v4(i), len).unwrap().trunc())),
        Just(IpNet::V4(Ipv4Net::default())),
        (0u8..32, 112u8..=128)
            .prop_map(|(i, len)| IpNet::V6(Ipv6Net::new(v6(i), len).unwrap().trunc())),
        Just(IpNet::V6(Ipv6Net::default())),
    ]
}

fn arb_icmp() -> impl Strategy<Value = (Option<u8>, Option<u8>)> {
    prop_oneof![
        Just((None, None)),
        prop::sample::select(vec![0u8, 3, 8, 11, 128, 129]).prop_map(|t| (Some(t), None)),
        (prop::sample::select(vec![3u8, 11]), 0u8..2).prop_map(|(t, c)| (Some(t), Some(c))),
    ]
}

#[derive(Clone, Debug)]
struct RawRule {
    proto: RuleProto,
    ports: Option<PortRange>,
    icmp: (Option<u8>, Option<u8>),
    cidr: IpNet,
    group: Option<usize>,
}

fn arb_rule(groups: usize) -> impl Strategy<Value = RawRule> {
    (
        arb_proto(),
        arb_ports(),
        arb_icmp(),
        arb_cidr(),
        prop::option::weighted(0.3, 0..groups),
    )
        .prop_map(|(proto, ports, icmp, cidr, group)| RawRule {
            proto,
            ports,
            icmp,
            cidr,
            group,
        })
}

fn sg_rule(r: &RawRule) -> SgRule {
    SgRule {
        proto: r.proto,
        ports: r.ports,
        icmp_type: r.icmp.0,
        icmp_code: r.icmp.1,
        peer: match r.group {
            Some(g) => Peer::Group(g),
            None => Peer::Cidr(r.cidr),
        },
        description: None,
        span: Span::default(),
    }
}

fn arb_lab() -> impl Strategy<Value = Lab> {
    let groups = 3usize;
    (
        prop::collection::vec(
            (prop::collection::vec(0..groups, 0..3), any::<bool>()),
            1..6,
        ),
        prop::collection::vec(
            (
                prop::collection::vec(arb_rule(groups), 0..5),
                prop::option::weighted(0.7, prop::collection::vec(arb_rule(groups), 0..5)),
            ),
            groups,
        ),
        prop::collection::vec((1u16..400, any::<bool>(), arb_rule(groups)), 0..8),
        prop::collection::vec((1u16..400, any::<bool>(), arb_rule(groups)), 0..8),
    )
        .prop_map(|(hosts, sgs, nacl_in, nacl_out)| {
            let nacl_rules = |raw: Vec<(u16, bool, RawRule)>| {
                let mut seen = std::collections::BTreeSet::new();
                raw.into_iter()
                    .filter(|(n, _, _)| seen.insert(*n))
                    .map(|(number, allow, r)| NaclRule {
                        number,
                        action: if allow {
                            NaclAction::Allow
                        } else {
                            NaclAction::Deny
                        },
                        proto: r.proto,
                        ports: r.ports,
                        icmp_type: r.icmp.0,
                        icmp_code: r.icmp.1,
                        cidr: r.cidr,
                        span: Span::default(),
                    })
                    .collect::<Vec<_>>()
            };
            let sp = |s: &str| Sp::new(s.to_string(), Span::default());
            Lab {
                file: "prop.yaml".into(),
                lab: sp("prop"),
                title: None,
                description: None,
                seed: 1,
                dns: Default::default(),
                tls: Default::default(),
                ssh: Default::default(),
                stages: Vec::new(),
                networks: vec![Network {
                    name: sp("lan"),
                    ipv4: Some(Sp::new("10.0.0.0/16".parse().unwrap(), Span::default())),
                    ipv6: Some(Sp::new("2001:db8::/64".parse().unwrap(), Span::default())),
                    nacl: Some(0),
                    link: LinkProps::default(),
                    origin: NetworkOrigin::Declared,
                }],
                routers: vec![],
                hosts: hosts
                    .iter()
                    .enumerate()
                    .map(|(i, (groups, dual))| {
                        let mut g = groups.clone();
                        g.sort();
                        g.dedup();
                        Host {
                            name: sp(&format!("h{i}")),
                            network: 0,
                            ipv4: Some(v4(i as u8)),
                            ipv6: dual.then(|| v6(i as u8)),
                            gateway4: None,
                            gateway6: None,
                            security_groups: g,
                            services: vec![],
                            tcp: TcpSettings::default(),
                            resolvers: vec![],
                            resolver_written: false,
                            trust: vec![],
                            span: Span::default(),
                        }
                    })
                    .collect(),
                security_groups: sgs
                    .iter()
                    .enumerate()
                    .map(|(i, (inbound, outbound))| SecurityGroup {
                        name: sp(&format!("sg{i}")),
                        inbound: inbound.iter().map(sg_rule).collect(),
                        outbound: outbound.as_ref().map(|o| o.iter().map(sg_rule).collect()),
                    })
                    .collect(),
                nacls: vec![Nacl {
                    name: sp("acl"),
                    inbound: nacl_rules(nacl_in),
                    outbound: nacl_rules(nacl_out),
                }],
                checks: vec![],
                tcp: TcpSettings::default(),
                traffic: vec![],
                events: vec![],
            }
        })
}

fn arb_header() -> impl Strategy<Value = Header> {
    let addr = prop_oneof![
        (0u8..40).prop_map(|i| IpAddr::V4(v4(i))),
        (0u8..40).prop_map(|i| IpAddr::V6(v6(i))),
    ];
    (
        addr.clone(),
        addr,
        prop::sample::select(vec![6u8, 17, 1, 58, 47]),
        0u16..70,
        prop::sample::select(vec![0u8, 3, 8, 11, 128, 129]),
        0u8..2,
    )
        .prop_map(|(src, dst, proto, port, t, c)| {
            // Keep both ends in one family, as a real packet is.
            let dst = match (src, dst) {
                (IpAddr::V4(_), IpAddr::V6(d)) => {
                    IpAddr::V4(Ipv4Addr::from(d.octets()[15] as u32 | 0x0a00_0000))
                }
                (IpAddr::V6(_), IpAddr::V4(d)) => {
                    IpAddr::V6(Ipv6Addr::from(u128::from(u32::from(d))))
                }
                _ => dst,
            };
            let (dst_port, icmp_type, icmp_code) = match proto {
                6 | 17 => (port, 0, 0),
                1 | 58 => (0, t, c),
                _ => (0, 0, 0),
            };
            Header {
                src,
                dst,
                proto,
                dst_port,
                icmp_type,
                icmp_code,
            }
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn security_groups_agree_with_the_reference(lab in arb_lab(), packets in prop::collection::vec(arb_header(), 1..20)) {
        let net = Compiled::compile(&lab);
        for (host, fw) in net.firewalls.iter().enumerate() {
            for h in &packets {
                for dir in [Direction::Inbound, Direction::Outbound] {
                    let want = reference_sg(&lab, host, dir, h);
                    let got = match fw {
                        None => true,
                        Some(fw) => match fw.evaluate(dir, h) {
                            SgVerdict::Allowed(rule) => {
                                // The rule it names must itself match.
                                let sg = &lab.security_groups[rule.group];
                                let (r, peer) = match dir {
                                    Direction::Inbound => (&sg.inbound[rule.index], h.src),
                                    Direction::Outbound => (&sg.outbound.as_ref().unwrap()[rule.index], h.dst),
                                };
                                prop_assert!(sg_rule_matches(&lab, r, peer, h), "named rule does not match");
                                true
                            }
                            SgVerdict::AllowedByDefault => true,
                            SgVerdict::Denied => false,
                        },
                    };
                    // A host without groups has no firewall at all.
                    let want = want || lab.hosts[host].security_groups.is_empty();
                    prop_assert_eq!(got, want, "host {} {:?} {:?}", host, dir, h);
                }
            }
        }
    }

    #[test]
    fn nacls_agree_with_the_reference(lab in arb_lab(), packets in prop::collection::vec(arb_header(), 1..20)) {
        let net = Compiled::compile(&lab);
        for h in &packets {
            for dir in [Direction::Inbound, Direction::Outbound] {
                let got = net.nacls[0].evaluate(dir, h);
                let want = reference_nacl(&lab.nacls[0], dir, h);
                prop_assert_eq!((got.action, got.rule), want, "{:?} {:?}", dir, h);
            }
        }
    }
}

#[test]
fn nacl_order_is_by_number_not_by_position() {
    let rule = |number, action| NaclRule {
        number,
        action,
        proto: RuleProto::Tcp,
        ports: Some(PortRange {
            first: 22,
            last: 22,
        }),
        icmp_type: None,
        icmp_code: None,
        cidr: "0.0.0.0/0".parse().unwrap(),
        span: Span::default(),
    };
    let h = Header {
        src: "192.0.2.1".parse().unwrap(),
        dst: "10.0.0.1".parse().unwrap(),
        proto: 6,
        dst_port: 22,
        icmp_type: 0,
        icmp_code: 0,
    };
    let nacl = Nacl {
        name: Sp::new("n".into(), Span::default()),
        // Written allow-first, but the deny has the lower number.
        inbound: vec![rule(200, NaclAction::Allow), rule(100, NaclAction::Deny)],
        outbound: vec![],
    };
    let mut lab = arb_lab_fixed();
    lab.nacls = vec![nacl];
    let net = Compiled::compile(&lab);
    let v = net.nacls[0].evaluate(Direction::Inbound, &h);
    assert_eq!((v.action, v.rule), (NaclAction::Deny, Some(100)));
    let v = net.nacls[0].evaluate(Direction::Outbound, &h);
    assert_eq!(
        (v.action, v.rule),
        (NaclAction::Deny, None),
        "no outbound rules: the final * denies"
    );
}

fn arb_lab_fixed() -> Lab {
    use proptest::strategy::ValueTree;
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    arb_lab().new_tree(&mut runner).unwrap().current()
}
