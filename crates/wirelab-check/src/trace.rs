//! A trace rendered hop by hop: one line per decision, with simulated
//! timestamps. Used by `wirelab trace` (text and JSON).

use serde::Serialize;
use wirelab_net::{Direction, Network, NextHop, RouteOrigin};
use wirelab_sim::nat::NatRule;
use wirelab_sim::packet::{Icmp, L4};
use wirelab_sim::{NatField, NatPhase, NatStep, Packet, SgPass, Sim, Step, TraceEvent};

use crate::exchange::Exchange;
use crate::explain::{drop_text, sg_rule_text};

#[derive(Clone, Debug, Serialize)]
pub struct TraceLine {
    /// Simulated time in nanoseconds.
    pub time_ns: u64,
    /// The same time as text, e.g. `0.000230s`.
    pub time: String,
    pub node: String,
    /// `send`, `route`, `sg`, `nacl`, `resolve`, `transmit`, `forward`,
    /// `deliver`, `reply`, `drop`, `nat`.
    pub step: &'static str,
    pub packet: String,
    pub detail: String,
}

fn iface_name(net: &Network, iface: usize) -> String {
    let node = &net.nodes[net.ifaces[iface].node];
    let pos = node.ifaces.iter().position(|&i| i == iface).unwrap_or(0);
    format!(
        "eth{pos} ({})",
        net.segments[net.ifaces[iface].segment].name
    )
}

fn route_text(
    net: &Network,
    prefix: ipnet::IpNet,
    next_hop: NextHop,
    out: usize,
    origin: RouteOrigin,
) -> String {
    let origin = match origin {
        RouteOrigin::Connected => "connected".to_string(),
        RouteOrigin::Static(s) => format!("static, line {}", s.line),
        RouteOrigin::DefaultGateway => "default gateway".to_string(),
        RouteOrigin::Ospf { metric } => format!("ospf, metric {metric}"),
        RouteOrigin::Rip { metric } => format!("rip, metric {metric}"),
    };
    match next_hop {
        NextHop::Gateway(gw) => {
            format!("{prefix} via {gw} dev {} ({origin})", iface_name(net, out))
        }
        _ => format!("{prefix} dev {} ({origin})", iface_name(net, out)),
    }
}

pub fn lines(net: &Network, ex: &Exchange, trace: &[TraceEvent]) -> Vec<TraceLine> {
    trace
        .iter()
        .map(|e| {
            let (step, detail) = match e.step {
                Step::Send => ("send", String::new()),
                Step::Route {
                    prefix,
                    next_hop,
                    out_iface,
                    origin,
                } => (
                    "route",
                    route_text(net, prefix, next_hop, out_iface, origin),
                ),
                Step::SgPass { direction, how } => {
                    let d = direction.code();
                    let detail = match how {
                        SgPass::Rule(r) => format!("allowed by {}", sg_rule_text(net, &r)),
                        SgPass::OutboundDefault => {
                            "allowed out: no outbound list, everything may go out".to_string()
                        }
                        SgPass::Established => format!("{d}: part of a tracked connection"),
                        SgPass::Related => format!("{d}: an ICMP error about a tracked connection"),
                    };
                    ("sg", detail)
                }
                Step::NaclPass {
                    nacl,
                    direction,
                    rule,
                    span,
                } => {
                    let what = match direction {
                        Direction::Inbound => "entering",
                        Direction::Outbound => "leaving",
                    };
                    (
                        "nacl",
                        format!(
                            "{what}: NACL {} {} rule {rule} (line {}) allows",
                            net.lab.nacls[nacl].name.value,
                            direction.code(),
                            span.line
                        ),
                    )
                }
                Step::Transmit {
                    iface,
                    next_hop_mac,
                } => {
                    let segment = &net.segments[net.ifaces[iface].segment];
                    let to = match segment.link.framing {
                        wirelab_spec::Framing::Ethernet => format!("to {next_hop_mac}"),
                        wirelab_spec::Framing::Ppp => "over PPP to the other end".to_string(),
                    };
                    ("transmit", format!("out {} {to}", iface_name(net, iface)))
                }
                Step::Forward {
                    in_iface,
                    out_iface,
                } => (
                    "forward",
                    format!(
                        "from {} to {}, {} decremented",
                        iface_name(net, in_iface),
                        iface_name(net, out_iface),
                        if e.packet.ip().is_some_and(|ip| ip.is_v6()) {
                            "hop limit"
                        } else {
                            "ttl"
                        }
                    ),
                ),
                Step::Nat(step) => ("nat", nat_text(&step, &e.packet)),
                Step::Resolve { .. } => ("resolve", String::new()),
                Step::Deliver => ("deliver", String::new()),
                Step::Loopback => ("loopback", "to its own address, over loopback".to_string()),
                Step::Reply => ("reply", String::new()),
                Step::Drop(cause) => (
                    "drop",
                    format!(
                        "{}: {}",
                        cause.code(),
                        drop_text(net, ex, e.node, &cause, &e.packet)
                    ),
                ),
            };
            TraceLine {
                time_ns: e.time.as_nanos(),
                time: e.time.to_string(),
                node: net.nodes[e.node].name.clone(),
                step,
                packet: e.packet.to_string(),
                detail,
            }
        })
        .collect()
}

/// `source 10.0.1.10:40000 → 203.0.113.1:1024 (source NAT, new mapping,
/// rule at line 12)`.
fn nat_text(step: &NatStep, packet: &Packet) -> String {
    // Echo identifiers stand where ports are; show them as such.
    let icmp = packet.ip().is_some_and(|ip| match ip.l4 {
        L4::Icmp(Icmp::EchoRequest { .. } | Icmp::EchoReply { .. }) => true,
        L4::Icmp(i) => i.quoted().is_some_and(|q| q.proto == 1),
        _ => false,
    });
    let end = |(addr, port): (std::net::IpAddr, u16)| {
        if icmp {
            format!("{addr} id {port}")
        } else {
            format!("{addr}:{port}")
        }
    };
    let field = match step.field {
        NatField::Source => "source",
        NatField::Destination => "destination",
    };
    let kind = match step.rule {
        NatRule::Source(_) => "source NAT",
        NatRule::Forward(_) => "port forward",
        NatRule::Static(_) => "1:1 NAT",
    };
    let phase = match step.phase {
        NatPhase::New => "new mapping",
        NatPhase::Original => "mapped flow",
        NatPhase::Reply => "reply, translated back",
        NatPhase::Related => "ICMP error about a mapped flow, translated back",
    };
    format!(
        "{field} {} → {} ({kind}, {phase}, rule at line {})",
        end(step.before),
        end(step.after),
        step.span.line
    )
}

/// One entry of a router's NAT table, as `conntrack -L` would list it.
#[derive(Clone, Debug, Serialize)]
pub struct NatEntryLine {
    pub router: String,
    pub proto: &'static str,
    /// The flow as its first packet arrived, e.g. `10.0.1.10:40312 > 198.51.100.80:443`.
    pub original: String,
    /// Its replies as they arrive, e.g. `198.51.100.80:443 > 203.0.113.1:1024`.
    pub reply: String,
    /// `source NAT`, `port forward` or `1:1 NAT`.
    pub kind: &'static str,
    /// The line of the rule that made it.
    pub line: u32,
}

/// The NAT tables of every router after a run, router by router, oldest
/// entry first.
pub fn nat_entries(net: &Network, sim: &Sim<'_>) -> Vec<NatEntryLine> {
    let mut out = Vec::new();
    for (r, router) in net.lab.routers.iter().enumerate() {
        if router.nat.is_empty() {
            continue;
        }
        for e in sim.nat_table(r).entries() {
            let (proto, icmp) = match e.original.proto {
                6 => ("tcp", false),
                17 => ("udp", false),
                _ => ("icmp", true),
            };
            let end = |a: std::net::Ipv4Addr, p: u16| {
                if icmp {
                    format!("{a} id {p}")
                } else {
                    format!("{a}:{p}")
                }
            };
            let tuple = |t: &wirelab_sim::nat::Tuple| {
                format!("{} > {}", end(t.src, t.src_port), end(t.dst, t.dst_port))
            };
            let (kind, line) = match e.rule {
                NatRule::Source(i) => ("source NAT", router.nat.source[i].span.line),
                NatRule::Forward(i) => ("port forward", router.nat.forward[i].span.line),
                NatRule::Static(i) => ("1:1 NAT", router.nat.static_maps[i].span.line),
            };
            out.push(NatEntryLine {
                router: router.name.value.clone(),
                proto,
                original: tuple(&e.original),
                reply: tuple(&e.reply),
                kind,
                line,
            });
        }
    }
    out
}
