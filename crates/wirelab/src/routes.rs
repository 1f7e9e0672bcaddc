//! `wirelab routes LAB [--router R] [--hosts]`: the routing tables the lab
//! compiles to, shaped like `ip route` (one line per route: prefix, next
//! hop, device, protocol, source address), IPv4 then IPv6, longest prefix
//! first. Without dynamic routing the tables are the lab's (connected,
//! static and default routes), what every packet is routed by. With
//! `ospf:` or `rip:` they are what the protocols made: at `--at TIME` of
//! a run of the lab's events, or (without `--at`) once routing has
//! settled, which is when checks without `at:` probe.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};
use serde_json::{json, Value};
use wirelab_net::{Network, NextHop, NodeId, Route, RouteOrigin};
use wirelab_sim::time::human_duration;
use wirelab_sim::{Sim, SimTime, TraceLevel};
use wirelab_spec::Loaded;

#[derive(Clone, Copy, ValueEnum)]
pub enum RoutesFormat {
    Text,
    Json,
}

#[derive(Args)]
pub struct RoutesArgs {
    lab: PathBuf,
    /// Only this router (or host).
    #[arg(long)]
    router: Option<String>,
    /// Hosts' tables too (their connected and default routes).
    #[arg(long)]
    hosts: bool,
    #[arg(long, value_enum, default_value = "text")]
    format: RoutesFormat,
    /// The tables at this time of a run of the lab's events and routing
    /// protocols (e.g. `12s`, `1.5min`).
    #[arg(long, value_parser = wirelab_spec::quantity::parse_time)]
    at: Option<u64>,
}

pub fn cmd_routes(args: &RoutesArgs, load: fn(&Path) -> Option<Loaded>) -> u8 {
    let Some(loaded) = load(&args.lab) else {
        return 2;
    };
    let net = Network::compile(&loaded.lab);
    let dynamic = wirelab_sim::routing_apps::lab_has_dynamic_routing(&net.lab);
    let mut sim = Sim::new(&net, net.lab.seed, TraceLevel::Off);
    let when = match (args.at, dynamic) {
        (Some(at), _) => {
            sim.reset_to(net.lab.seed, Some(SimTime(at)));
            Some(format!("at {}", human_duration(at)))
        }
        (None, true) => {
            sim.reset_to(net.lab.seed, None);
            let last = sim
                .routing_log()
                .changes
                .last()
                .map_or(0, |c| c.at.as_nanos());
            Some(format!(
                "once routing has settled (last change at {}, quiet until {})",
                human_duration(last),
                human_duration(sim.now().as_nanos())
            ))
        }
        (None, false) => None,
    };
    let nodes: Vec<NodeId> = match &args.router {
        Some(name) => match net.nodes.iter().position(|n| n.name == *name) {
            Some(n) => vec![n],
            None => {
                let names: Vec<&str> = net
                    .nodes
                    .iter()
                    .filter(|n| n.is_router())
                    .map(|n| n.name.as_str())
                    .collect();
                eprintln!(
                    "error: `{name}` is no router or host of lab {} (routers: {})",
                    net.lab.lab.value,
                    names.join(", ")
                );
                return 2;
            }
        },
        None => (0..net.nodes.len())
            .filter(|&n| args.hosts || net.nodes[n].is_router())
            .collect(),
    };
    match args.format {
        RoutesFormat::Text => {
            let mut out = String::new();
            if let Some(when) = &when {
                out.push_str(&format!("# routing tables {when}\n\n"));
            }
            for (k, &n) in nodes.iter().enumerate() {
                if k > 0 {
                    out.push('\n');
                }
                out.push_str(&format!("{}:\n", net.nodes[n].name));
                let routes = sorted(&sim, n);
                if sim.node_down(n) {
                    out.push_str("  (down: forwards nothing)\n");
                }
                if routes.is_empty() {
                    out.push_str("  (no routes)\n");
                }
                for r in routes {
                    let hops = sim.multipath_now(n, r.prefix);
                    if hops.is_empty() {
                        out.push_str(&format!("  {}\n", line(&net, n, r)));
                        continue;
                    }
                    // Equal-cost paths, as `ip route` shows a multipath route.
                    let metric = match r.origin {
                        RouteOrigin::Ospf { metric } | RouteOrigin::Rip { metric } => metric,
                        _ => 0,
                    };
                    out.push_str(&format!(
                        "  {} proto {} metric {metric}\n",
                        r.prefix,
                        proto(r.origin)
                    ));
                    for &(iface, gw) in hops {
                        out.push_str(&format!(
                            "  \tnexthop via {gw} dev {} weight 1\n",
                            dev(&net, n, iface)
                        ));
                    }
                }
            }
            crate::emit(&out);
        }
        RoutesFormat::Json => {
            let tables: Vec<Value> = nodes
                .iter()
                .map(|&n| {
                    let routes: Vec<Value> = sorted(&sim, n)
                        .into_iter()
                        .map(|r| {
                            let mut v = route_json(&net, n, r);
                            let hops = sim.multipath_now(n, r.prefix);
                            if !hops.is_empty() {
                                v["nexthops"] = hops
                                    .iter()
                                    .map(|&(iface, gw)| {
                                        json!({ "via": gw.to_string(), "dev": dev(&net, n, iface) })
                                    })
                                    .collect();
                            }
                            v
                        })
                        .collect();
                    json!({
                        "node": net.nodes[n].name,
                        "router": net.nodes[n].is_router(),
                        "down": sim.node_down(n),
                        "routes": routes,
                    })
                })
                .collect();
            let doc = json!({
                "lab": net.lab.lab.value,
                "at_ns": (args.at.is_some() || dynamic).then(|| sim.now().as_nanos()),
                "tables": tables,
            });
            crate::emit(&format!(
                "{}\n",
                serde_json::to_string_pretty(&doc).unwrap_or_default()
            ));
        }
    }
    0
}

/// A node's routes: IPv4 then IPv6, longest prefix first, then by address.
fn sorted<'s>(sim: &'s Sim<'_>, node: NodeId) -> Vec<&'s Route> {
    let mut routes: Vec<&Route> = sim.routes_now(node).iter().collect();
    routes.sort_by_key(|r| {
        (
            r.prefix.addr().is_ipv6(),
            std::cmp::Reverse(r.prefix.prefix_len()),
            r.prefix.addr(),
        )
    });
    routes
}

/// `eth1`: the interface's position on its node (as `wirelab trace` and
/// the metrics number them).
fn dev(net: &Network, node: NodeId, iface: usize) -> String {
    let pos = net.nodes[node]
        .ifaces
        .iter()
        .position(|&i| i == iface)
        .unwrap_or(0);
    format!("eth{pos}")
}

fn proto(origin: RouteOrigin) -> &'static str {
    match origin {
        RouteOrigin::Connected => "kernel",
        RouteOrigin::Static(_) => "static",
        RouteOrigin::DefaultGateway => "boot",
        RouteOrigin::Ospf { .. } => "ospf",
        RouteOrigin::Rip { .. } => "rip",
    }
}

/// `10.0.1.0/24 dev eth0 proto kernel scope link src 10.0.1.1`,
/// `10.2.0.0/16 via 10.0.13.2 dev eth2 proto static  # line 12`,
/// `blackhole 10.66.0.0/16 proto static`.
fn line(net: &Network, node: NodeId, r: &Route) -> String {
    let prefix = if r.prefix.prefix_len() == 0 {
        "default".to_string()
    } else {
        r.prefix.to_string()
    };
    let mut s = match r.next_hop {
        NextHop::Blackhole => format!("blackhole {prefix}"),
        NextHop::Gateway(gw) => format!("{prefix} via {gw}"),
        NextHop::Connected => prefix,
    };
    if let Some(i) = r.iface {
        s.push_str(&format!(" dev {}", dev(net, node, i)));
    }
    s.push_str(&format!(" proto {}", proto(r.origin)));
    if r.next_hop == NextHop::Connected {
        s.push_str(" scope link");
        if let Some(src) = r.iface.and_then(|i| src(net, i, r.prefix.addr())) {
            s.push_str(&format!(" src {src}"));
        }
    }
    match r.origin {
        RouteOrigin::Static(span) => s.push_str(&format!("  # line {}", span.line)),
        RouteOrigin::Ospf { metric } | RouteOrigin::Rip { metric } => {
            s.push_str(&format!(" metric {metric}"))
        }
        _ => {}
    }
    s
}

/// The interface's address of the prefix's family.
fn src(net: &Network, iface: usize, of: IpAddr) -> Option<IpAddr> {
    net.ifaces[iface].addr(of.is_ipv6())
}

fn route_json(net: &Network, node: NodeId, r: &Route) -> Value {
    let mut v = json!({
        "prefix": r.prefix.to_string(),
        "type": match r.next_hop {
            NextHop::Blackhole => "blackhole",
            NextHop::Gateway(_) => "via",
            NextHop::Connected => "connected",
        },
        "proto": proto(r.origin),
        "text": line(net, node, r),
    });
    if let NextHop::Gateway(gw) = r.next_hop {
        v["via"] = json!(gw.to_string());
    }
    if let Some(i) = r.iface {
        v["dev"] = json!(dev(net, node, i));
        v["network"] = json!(net.segments[net.ifaces[i].segment].name);
    }
    match r.origin {
        RouteOrigin::Static(span) => v["line"] = json!(span.line),
        RouteOrigin::Ospf { metric } | RouteOrigin::Rip { metric } => v["metric"] = json!(metric),
        _ => {}
    }
    v
}
