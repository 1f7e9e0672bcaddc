//! `framing:` of a `links:` entry or a network's `link:`: what it sets, and
//! every mistake with it reported where it was written, all at once.

use wirelab_spec::{EventAction, Framing};

use super::{assert_has, invalid, valid};

const ROUTERS: &str = "lab: t\nnetworks:\n  lan: { cidr: 10.0.0.0/24 }\nrouters:\n  a: { interfaces: { lan: 10.0.0.1 } }\n  b:\n  c:\nhosts:\n  h: { network: lan }\n";

#[test]
fn a_link_is_ethernet_unless_it_says_ppp() {
    let lab = valid(&format!(
        "{ROUTERS}links:\n  - {{ between: [a, b], cidr: 10.0.12.0/30, framing: ppp }}\n  - {{ between: [b, c], cidr: 10.0.23.0/30 }}\n  - {{ between: [a, c], cidr: 10.0.13.0/30, framing: ethernet }}\n"
    ))
    .lab;
    let framings: Vec<Framing> = lab.networks.iter().map(|n| n.link.framing).collect();
    assert_eq!(
        framings,
        [
            Framing::Ethernet,
            Framing::Ppp,
            Framing::Ethernet,
            Framing::Ethernet
        ]
    );
}

#[test]
fn a_link_event_keeps_the_framing() {
    let lab = valid(&format!(
        "{ROUTERS}links:\n  - {{ between: [a, b], cidr: 10.0.12.0/30, framing: ppp }}\nevents:\n  - {{ at: 1s, link: a-b, set: {{ delay: 5ms }} }}\n"
    ))
    .lab;
    match &lab.events[0].action {
        EventAction::LinkSet(_, props) => {
            assert_eq!((props.framing, props.delay_ns), (Framing::Ppp, 5_000_000));
        }
        other => panic!("expected a link change, got {other:?}"),
    }
}

#[test]
fn framing_mistakes_are_all_reported_where_written() {
    let d = invalid(concat!(
        "lab: t\n",
        "defaults:\n  link: { framing: ppp }\n",
        "networks:\n",
        "  lan: { cidr: 10.0.0.0/24, framing: ppp }\n",
        "  dmz: { cidr: 10.0.1.0/24, link: { framing: ppp } }\n",
        "routers:\n  a: { interfaces: { lan: 10.0.0.1 } }\n  b:\n  c:\n",
        "links:\n",
        "  - { between: [a, b], cidr: 10.0.12.0/30, framing: pp }\n",
        "  - { between: [b, c], cidr: 10.0.23.0/30, framing: hdlc }\n",
        "  - { between: [a, c], cidr: 10.0.13.0/30, framing: 1 }\n",
        "hosts:\n  h: { network: lan }\n",
    ));
    assert_has(
        &d,
        "lab.yaml:3:11: error",
        &[
            "`framing` is not allowed in `defaults.link`",
            "every network point-to-point",
        ],
    );
    assert_has(
        &d,
        "lab.yaml:5:29: error",
        &[
            "`framing` is not allowed in network `lan`",
            "write it in its `link:`",
        ],
    );
    assert_has(
        &d,
        "lab.yaml:6:46: error",
        &["network `dmz` is point-to-point (`framing: ppp`) but has nothing on it"],
    );
    assert_has(
        &d,
        "lab.yaml:12:53: error",
        &["unknown framing `pp`", "did you mean `ppp`?"],
    );
    assert_has(
        &d,
        "lab.yaml:13:53: error",
        &["unknown framing `hdlc`", "valid values: ethernet, ppp"],
    );
    assert_has(&d, "lab.yaml:14:53: error", &["`framing` must be a string"]);
    // Each mistake once: no second "unknown key" for the same `framing`.
    assert_eq!(
        d.iter().filter(|l| l.contains("framing")).count(),
        6,
        "{d:#?}"
    );
}

#[test]
fn an_event_cannot_change_the_framing() {
    let d = invalid(&format!(
        "{ROUTERS}links:\n  - {{ between: [a, b], cidr: 10.0.12.0/30 }}\nevents:\n  - {{ at: 1s, link: a-b, set: {{ framing: ppp }} }}\n"
    ));
    assert_has(
        &d,
        "lab.yaml:13:33: error",
        &["unknown key `framing` in `set`"],
    );
}

#[test]
fn a_route_over_a_ppp_link_goes_to_the_other_end() {
    let routes = concat!(
        "  b:\n    routes:\n",
        "      - { to: 10.9.0.0/16, via: 10.0.12.5 }\n",
        "      - { to: 10.8.0.0/16, via: 10.0.12.1 }\n",
        "      - { to: 10.7.0.0/16, via: 10.0.23.5 }\n",
    );
    let text = format!(
        "{ROUTERS}links:\n  - {{ between: [a, b], cidr: 10.0.12.0/29, framing: ppp }}\n  - {{ between: [b, c], cidr: 10.0.23.0/29 }}\n"
    )
    .replace("  b:\n", routes);
    let d = invalid(&text);
    assert_has(
        &d,
        "lab.yaml:8:33: error",
        &[
            "next hop `10.0.12.5` is not the other end of the point-to-point link `a-b`",
            "the next hop is the other router: `10.0.12.1`",
        ],
    );
    // The other end itself, and any address of an Ethernet link, are fine.
    assert_eq!(d.len(), 1, "{d:#?}");
}

#[test]
fn a_network_with_two_ends_may_be_ppp() {
    let lab = valid(concat!(
        "lab: t\n",
        "networks:\n",
        "  access: { cidr: 10.0.0.0/30, link: { framing: ppp, delay: 1ms } }\n",
        "  pair: { cidr: 10.0.1.0/24, link: { framing: ppp } }\n",
        "  lan: { cidr: 10.0.2.0/24, link: { framing: ethernet } }\n",
        "routers:\n  r: { interfaces: { access: 10.0.0.1, lan: 10.0.2.1 }, routes: [{ to: 10.9.0.0/16, via: 10.0.0.2 }] }\n",
        "hosts:\n",
        "  h: { network: access, ip: 10.0.0.2 }\n",
        "  p: { network: pair }\n  q: { network: pair }\n",
        "  l: { network: lan }\n",
    ))
    .lab;
    let framings: Vec<(Framing, u64)> = lab
        .networks
        .iter()
        .map(|n| (n.link.framing, n.link.delay_ns))
        .collect();
    assert_eq!(
        framings,
        [
            (Framing::Ppp, 1_000_000),
            (Framing::Ppp, 100_000),
            (Framing::Ethernet, 100_000)
        ]
    );
    // The host's gateway is the router, the only other end.
    assert_eq!(lab.hosts[0].gateway4, Some("10.0.0.1".parse().unwrap()));
}

#[test]
fn a_ppp_network_needs_exactly_two_ends_and_routes_to_the_other() {
    let d = invalid(concat!(
        "lab: t\n",
        "networks:\n",
        "  crowd: { cidr: 10.0.0.0/24, link: { framing: ppp } }\n",
        "  lone: { cidr: 10.0.1.0/24, link: { framing: ppp } }\n",
        "  access: { cidr: 10.0.2.0/24, link: { framing: ppp } }\n",
        "routers:\n",
        "  r:\n    interfaces: { crowd: 10.0.0.1, lone: 10.0.1.1, access: 10.0.2.1 }\n",
        "    routes:\n",
        "      - { to: 10.9.0.0/16, via: 10.0.2.7 }\n",
        "      - { to: 10.8.0.0/16, via: 10.0.2.2 }\n",
        "hosts:\n",
        "  a: { network: crowd }\n  b: { network: crowd }\n",
        "  h: { network: access, ip: 10.0.2.2 }\n",
    ));
    assert_has(
        &d,
        "lab.yaml:3:48: error",
        &[
            "network `crowd` is point-to-point (`framing: ppp`) but has 3 ends: r, a, b",
            "a shared segment needs `ethernet` framing",
        ],
    );
    assert_has(
        &d,
        "lab.yaml:4:47: error",
        &["network `lone` is point-to-point (`framing: ppp`) but has only `r` on it"],
    );
    assert_has(
        &d,
        "lab.yaml:10:9: error",
        &[
            "next hop `10.0.2.7` is not the other end of the point-to-point network `access`",
            "the next hop is the other end, `h`: `10.0.2.2`",
        ],
    );
    assert_eq!(d.len(), 3, "{d:#?}");
}
