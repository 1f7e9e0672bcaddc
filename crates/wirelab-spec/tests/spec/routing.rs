//! `ospf:` and `rip:` on routers, static routes' `distance:`, router
//! events, checks `at:` a time and convergence checks.

use wirelab_spec::{EventAction, SplitHorizon};

use super::valid;

#[test]
fn every_mistake_is_reported_where_it_is() {
    let d = super::mistakes_in("routing", "mistakes.yaml");
    insta::assert_snapshot!("routing-mistakes", d);
}

const LAB: &str = r#"
lab: routing
networks:
  lan1: { cidr: 10.1.0.0/24 }
  lan2: { cidr: 10.2.0.0/24, link: { bandwidth: 10Mbps } }
links:
  - { between: [r1, r2], cidr: 10.0.12.0/30, bandwidth: 1Mbps }
  - { between: [r2, r3], cidr: 10.0.23.0/30 }
routers:
  r1:
    interfaces: { lan1: 10.1.0.1, lan2: 10.2.0.1 }
    ospf: { passive: [lan1], cost: { lan1: 7 }, reference_bandwidth: 1Gbps }
    routes: [{ to: 0.0.0.0/0, via: 10.0.12.2, distance: 250 }]
  r2:
    ospf:
  r3:
    rip: { interfaces: [r2-r3], split_horizon: simple, update: 10s }
hosts:
  h1: { network: lan1 }
events:
  - { at: 5s, router_down: r2 }
  - { at: 9s, router_up: r2 }
checks:
  - { name: later, from: h1, to: 10.0.23.2, proto: icmp, expect: allow, at: 12s }
  - { name: heals, expect: { converged_within: 5s }, at: 5s }
  - { name: always, expect: { converged_within: 1s } }
"#;

#[test]
fn defaults_and_written_values_resolve() {
    let lab = valid(LAB).lab;
    let r1 = &lab.routers[0];
    let o = r1.ospf.as_ref().unwrap();
    // Interfaces in the router's order: lan1, lan2, then the link.
    assert_eq!(o.on.interfaces, [0, 1, 2]);
    assert_eq!(o.on.passive, [0]);
    // Written 7; 1 Gbit/s over 10 Mbit/s = 100; over 1 Mbit/s = 1000.
    assert_eq!(o.costs, [7, 100, 1000]);
    assert_eq!((o.hello_ns, o.dead_ns), (10_000_000_000, 40_000_000_000));
    assert_eq!(o.on.distance, 110);
    assert_eq!(o.router_id.to_string(), "10.2.0.1", "the highest address");
    assert_eq!(r1.routes[0].distance, 250);
    let r2 = lab.routers[1].ospf.as_ref().unwrap();
    assert_eq!(r2.on.interfaces, [0, 1]);
    assert_eq!(
        r2.costs,
        [100, 1],
        "100 Mbit/s over 1 Mbit/s, over 1 Gbit/s"
    );
    assert_eq!(r2.router_id.to_string(), "10.0.23.1");
    let rip = lab.routers[2].rip.as_ref().unwrap();
    assert_eq!(rip.split_horizon, SplitHorizon::Simple);
    assert_eq!(
        (rip.update_ns, rip.timeout_ns, rip.garbage_ns),
        (10_000_000_000, 60_000_000_000, 40_000_000_000)
    );
    assert_eq!(rip.on.distance, 120);
    assert!(matches!(lab.events[0].action, EventAction::RouterDown(1)));
    assert!(matches!(lab.events[1].action, EventAction::RouterUp(1)));
    assert_eq!(lab.checks[0].at_ns, Some(12_000_000_000));
    let heals = lab.checks[1].convergence.as_ref().unwrap();
    assert_eq!(
        (heals.within_ns, heals.after_ns),
        (5_000_000_000, Some(5_000_000_000))
    );
    assert_eq!(lab.checks[2].convergence.as_ref().unwrap().after_ns, None);
    assert_eq!(lab.checks[2].at_ns, None);
}
