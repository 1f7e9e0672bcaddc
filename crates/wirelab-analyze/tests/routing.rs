//! Routing failures: every one makes the whole protocol unreachable and
//! is named with wirelab's explanation word.

use wirelab_analyze::{Analyzer, Block, Leg, Proto, RouteBlock};
use wirelab_net::Network;

const LAB: &str = r#"
lab: routing
networks:
  a: { cidr: 10.0.1.0/24 }
  link: { cidr: 10.0.12.0/24 }
  far: { cidr: 10.9.0.0/24 }
  dead: { cidr: 10.66.0.0/24 }
  iso: { cidr: 10.5.0.0/24 }
routers:
  r1:
    interfaces: { a: 10.0.1.1, link: 10.0.12.1 }
    routes:
      - { to: 10.9.0.0/16, via: 10.0.12.2 }
      - { to: 10.66.0.0/16, blackhole: true }
  r2:
    interfaces: { link: 10.0.12.2 }
    routes:
      - { to: 10.9.0.0/16, via: 10.0.12.1 }
  r3:
    interfaces: { far: 10.9.0.1, dead: 10.66.0.1, iso: 10.5.0.1 }
hosts:
  src: { network: a, ip: 10.0.1.10 }
  near: { network: a, ip: 10.0.1.20 }
  loopy: { network: far, ip: 10.9.0.10 }
  gone: { network: dead, ip: 10.66.0.10 }
  lost: { network: iso, ip: 10.5.0.10 }
"#;

fn first_block(lab: &wirelab_spec::Lab, from: &str, to: &str) -> (Block, bool) {
    let net = Network::compile(lab);
    let an = Analyzer::new(&net);
    let reach = an.reach(
        lab.host_by_name(from).expect("host"),
        lab.host_by_name(to).expect("host"),
    );
    let fam = &reach.families[0];
    let tcp = fam
        .protos
        .iter()
        .find(|p| p.proto == Proto::Tcp)
        .expect("tcp");
    (tcp.blocks[0].clone(), reach.anything())
}

fn lab() -> wirelab_spec::Lab {
    match wirelab_spec::parse_str("routing.yaml", LAB) {
        Ok(l) => l.lab,
        Err(d) => panic!("{d:?}"),
    }
}

#[test]
fn a_loop_is_ttl_exceeded() {
    let (b, any) = first_block(&lab(), "src", "loopy");
    assert!(!any);
    assert_eq!(b.code(), "ttl-exceeded");
    match b {
        Block::Route {
            leg: Leg::Request,
            why: RouteBlock::Loop { routers },
        } => assert_eq!(routers, ["r1", "r2", "r1", "r2"]),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_blackhole_names_its_line() {
    let (b, any) = first_block(&lab(), "src", "gone");
    assert!(!any);
    assert_eq!(b.code(), "blackhole");
    match b {
        Block::Route {
            why: RouteBlock::Blackhole { node, line, .. },
            ..
        } => {
            assert_eq!(node, "r1");
            assert_eq!(line, Some(14));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn no_route_at_the_first_router() {
    let (b, any) = first_block(&lab(), "src", "lost");
    assert!(!any);
    assert_eq!(b.code(), "no-route");
    assert!(
        matches!(b, Block::Route { why: RouteBlock::NoRoute { ref node, .. }, .. } if node == "r1")
    );
}

#[test]
fn hosts_of_one_network_reach_each_other_directly() {
    let lab = lab();
    let net = Network::compile(&lab);
    let an = Analyzer::new(&net);
    let r = an.reach(0, 1);
    let fam = &r.families[0];
    assert!(fam.path.is_empty());
    for p in &fam.protos {
        assert!(p.blocks.is_empty(), "{:?}", p.blocks);
        assert!(!p.reachable.is_empty());
    }
    assert!(r.reachable(Proto::Tcp).is_full());
}
