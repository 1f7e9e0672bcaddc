//! Routing findings: configurations of `ospf:` and `rip:` that cannot do
//! what they seem to (neighbours that never become adjacent) or that
//! invite a known failure (count to infinity).

use std::collections::BTreeMap;

use wirelab_net::Network;
use wirelab_spec::SplitHorizon;

use super::{Code, Finding};

/// Rounds a timer up to whole seconds, as an OSPF hello carries it.
fn secs(ns: u64) -> u64 {
    ns.div_ceil(1_000_000_000).max(1)
}

/// One router's protocol on one network: (router, passive, the timers
/// neighbours must agree on).
struct OnNetwork {
    router: usize,
    passive: bool,
    timers: (u64, u64),
}

pub(super) fn routing(net: &Network) -> Vec<Finding> {
    let lab = &net.lab;
    let mut out = Vec::new();
    let finding = |code: Code, span, message: String, fix: String| Finding {
        code,
        severity: code.severity(),
        span,
        message,
        fix,
        related: Vec::new(),
    };
    // Per network: the OSPF and RIP speakers on it.
    let mut ospf: BTreeMap<usize, Vec<OnNetwork>> = BTreeMap::new();
    let mut rip: BTreeMap<usize, Vec<OnNetwork>> = BTreeMap::new();
    for (r, router) in lab.routers.iter().enumerate() {
        if let Some(o) = &router.ospf {
            for &p in &o.on.interfaces {
                ospf.entry(router.interfaces[p].network)
                    .or_default()
                    .push(OnNetwork {
                        router: r,
                        passive: o.on.passive.contains(&p),
                        timers: (secs(o.hello_ns), secs(o.dead_ns)),
                    });
            }
        }
        if let Some(rp) = &router.rip {
            for &p in &rp.on.interfaces {
                rip.entry(router.interfaces[p].network)
                    .or_default()
                    .push(OnNetwork {
                        router: r,
                        passive: rp.on.passive.contains(&p),
                        timers: (0, 0),
                    });
            }
            if rp.split_horizon == SplitHorizon::Off {
                out.push(finding(
                    Code::RipSplitHorizonOff,
                    rp.on.span,
                    format!(
                        "RIP on `{}` advertises routes back where it learned them (`split_horizon: off`): after a failure, neighbours can loop packets while they count to infinity (16)",
                        router.name.value
                    ),
                    "remove `split_horizon: off` (the default is poisoned-reverse)".to_string(),
                ));
            }
        }
    }
    let name = |r: usize| lab.routers[r].name.value.as_str();
    let net_name = |n: usize| lab.networks[n].name.value.as_str();
    for (proto, speakers) in [("OSPF", &ospf), ("RIP", &rip)] {
        for (&network, on) in speakers {
            let active: Vec<&OnNetwork> = on.iter().filter(|s| !s.passive).collect();
            let others_attached = lab
                .routers
                .iter()
                .filter(|r| r.interfaces.iter().any(|i| i.network == network))
                .count()
                > 1;
            for s in on {
                let router = &lab.routers[s.router];
                let span = match proto {
                    "OSPF" => router.ospf.as_ref().map(|o| o.on.span),
                    _ => router.rip.as_ref().map(|o| o.on.span),
                }
                .unwrap_or(router.name.span);
                if s.passive && active.iter().any(|a| a.router != s.router) {
                    out.push(finding(
                        if proto == "OSPF" { Code::OspfPassiveTransit } else { Code::RipPassiveTransit },
                        span,
                        format!(
                            "{proto} on `{}` is passive on `{}`, where `{}` runs {proto}: they will never exchange routes there",
                            router.name.value,
                            net_name(network),
                            active.iter().find(|a| a.router != s.router).map_or("", |a| name(a.router)),
                        ),
                        format!("remove `{}` from `passive`", net_name(network)),
                    ));
                }
                if !s.passive && on.len() == 1 {
                    let who = if others_attached {
                        format!("no other router runs {proto}")
                    } else {
                        "no other router is: only hosts hear them".to_string()
                    };
                    out.push(finding(
                        Code::RoutingNoNeighbour,
                        span,
                        format!(
                            "{proto} on `{}` sends its messages on `{}`, where {who}",
                            router.name.value,
                            net_name(network)
                        ),
                        format!(
                            "add `{}` to `passive` (its prefix is still advertised)",
                            net_name(network)
                        ),
                    ));
                }
            }
            if proto != "OSPF" {
                continue;
            }
            // Every pair of OSPF neighbours on the network must agree on
            // the hello and dead intervals (RFC 2328 §10.5).
            for (i, a) in active.iter().enumerate() {
                for b in &active[i + 1..] {
                    if a.timers != b.timers {
                        let router = &lab.routers[b.router];
                        let span = router.ospf.as_ref().map_or(router.name.span, |o| o.on.span);
                        out.push(finding(
                            Code::OspfTimersMismatch,
                            span,
                            format!(
                                "OSPF on `{}` (hello {} s, dead {} s) and on `{}` (hello {} s, dead {} s) disagree on `{}`: their hellos are ignored and they never become neighbours",
                                router.name.value,
                                b.timers.0,
                                b.timers.1,
                                name(a.router),
                                a.timers.0,
                                a.timers.1,
                                net_name(network)
                            ),
                            "give both the same `hello` and `dead`".to_string(),
                        ));
                    }
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn findings(yaml: &str) -> Vec<(String, u32)> {
        let lab = wirelab_spec::parse_str("routing.yaml", yaml).unwrap().lab;
        let mut f: Vec<(String, u32)> = routing(&Network::compile(&lab))
            .into_iter()
            .map(|f| (f.code.code().to_string(), f.span.line))
            .collect();
        f.sort();
        f
    }

    const LAB: &str = r#"
lab: lint-routing
networks:
  lan1: { cidr: 10.1.0.0/24 }
  lan2: { cidr: 10.2.0.0/24 }
links:
  - { between: [r1, r2], cidr: 10.0.12.0/30 }
  - { between: [r2, r3], cidr: 10.0.23.0/30 }
routers:
  r1:
    interfaces: { lan1: 10.1.0.1 }
    ospf: { hello: 1s }
  r2:
    ospf: { hello: 10s, passive: [r2-r3] }
  r3:
    interfaces: { lan2: 10.2.0.1 }
    ospf: { passive: [lan2] }
  r4:
    interfaces: { lan2: 10.2.0.4 }
    rip: { split_horizon: off }
hosts:
  h1: { network: lan1 }
"#;

    #[test]
    fn each_routing_mistake_is_found_where_it_is_written() {
        assert_eq!(
            findings(LAB),
            [
                ("ospf-passive-transit".to_string(), 14),
                ("ospf-timers-mismatch".to_string(), 14),
                ("rip-split-horizon-off".to_string(), 20),
                ("routing-no-neighbour".to_string(), 12),
                ("routing-no-neighbour".to_string(), 20),
            ]
        );
    }

    #[test]
    fn a_sound_configuration_has_no_findings() {
        let fixed = LAB
            .replace(
                "ospf: { hello: 1s }",
                "ospf: { hello: 1s, passive: [lan1] }",
            )
            .replace(
                "ospf: { hello: 10s, passive: [r2-r3] }",
                "ospf: { hello: 1s }",
            )
            .replace(
                "ospf: { passive: [lan2] }",
                "ospf: { hello: 1s, passive: [lan2] }",
            )
            .replace("rip: { split_horizon: off }", "rip: { passive: [lan2] }");
        assert_eq!(findings(&fixed), []);
    }
}
