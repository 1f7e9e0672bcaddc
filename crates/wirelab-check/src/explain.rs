//! Explanations, rendered from what the simulation recorded: the decision
//! that ended an exchange, where, by which filter and rule.

use std::net::IpAddr;

use wirelab_net::{Direction, Network, NodeId, SgRuleRef};
use wirelab_sim::{DropCause, Packet, ProbeKind, Step, TraceEvent};
use wirelab_spec::{Outcome, Peer, SgRule};

use crate::exchange::Exchange;

/// `tcp/443`, `udp/514`, `icmp echo`.
pub fn what(kind: ProbeKind, v6: bool) -> String {
    match kind {
        ProbeKind::Tcp { port } => format!("tcp/{port}"),
        ProbeKind::Udp { port } => format!("udp/{port}"),
        ProbeKind::Ping if v6 => "icmpv6 echo".to_string(),
        ProbeKind::Ping => "icmp echo".to_string(),
    }
}

fn node_name(net: &Network, node: NodeId) -> &str {
    &net.nodes[node].name
}

/// `web1` or `10.9.0.1` for an address no node owns.
pub fn endpoint_name(net: &Network, addr: IpAddr) -> String {
    match net.owner(addr) {
        Some(i) => format!("{} ({addr})", net.nodes[net.ifaces[i].node].name),
        None => addr.to_string(),
    }
}

/// The body of a security-group rule as written: `tcp 443 from 0.0.0.0/0`.
fn rule_body(net: &Network, rule: &SgRule, direction: Direction) -> String {
    let mut s = rule.proto.to_string();
    if let Some(p) = rule.ports {
        s.push_str(&format!(" {p}"));
    }
    if let Some(t) = rule.icmp_type {
        s.push_str(&format!(" type {t}"));
    }
    if let Some(c) = rule.icmp_code {
        s.push_str(&format!(" code {c}"));
    }
    let dir = match direction {
        Direction::Inbound => "from",
        Direction::Outbound => "to",
    };
    let peer = match &rule.peer {
        Peer::Cidr(n) => n.to_string(),
        Peer::Group(g) => format!("members of {}", net.lab.security_groups[*g].name.value),
    };
    format!("{s} {dir} {peer}")
}

/// A rule with its group, position and line:
/// `web-sg inbound rule 1 `tcp 443 from 0.0.0.0/0` (line 63)`.
pub fn sg_rule_text(net: &Network, r: &SgRuleRef) -> String {
    let sg = &net.lab.security_groups[r.group];
    let rule: Option<&SgRule> = match r.direction {
        Direction::Inbound => sg.inbound.get(r.index),
        Direction::Outbound => sg.outbound.as_ref().and_then(|o| o.get(r.index)),
    };
    let (name, dir, n) = (&sg.name.value, r.direction.code(), r.index + 1);
    match rule {
        Some(rule) => format!(
            "{name} {dir} rule {n} `{}` (line {})",
            rule_body(net, rule, r.direction),
            r.span.line
        ),
        None => format!("{name} {dir} rule {n}"),
    }
}

/// A rule counted by the simulator, in words: `tcp 443 from 0.0.0.0/0`
/// for a security-group rule, `100 allow tcp 5432 10.0.2.0/24` for a NACL
/// rule, `* deny all` for a NACL's final rule.
pub fn counted_rule_text(net: &Network, info: &wirelab_sim::counters::RuleInfo) -> String {
    use wirelab_sim::counters::RuleOwner;
    let lab = &net.lab;
    match info.owner {
        RuleOwner::SecurityGroup(g) => {
            let sg = &lab.security_groups[g];
            let list = match info.direction {
                Direction::Inbound => sg.inbound.as_slice(),
                Direction::Outbound => sg.outbound.as_deref().unwrap_or(&[]),
            };
            // An `events:` rule is not in the list as written: find it by
            // its place in the file.
            let rule = match info.rule {
                Some(n) => list.get(n as usize - 1),
                None => None,
            };
            match rule {
                Some(r) => rule_body(net, r, info.direction),
                None => match info.event {
                    Some(e) => format!("the rule added by event {}", e + 1),
                    None => "a rule".to_string(),
                },
            }
        }
        RuleOwner::Nacl(n) => {
            let nacl = &lab.nacls[n];
            let list = match info.direction {
                Direction::Inbound => &nacl.inbound,
                Direction::Outbound => &nacl.outbound,
            };
            let Some(number) = info.rule else {
                return "* deny all".to_string();
            };
            match list.iter().find(|r| u32::from(r.number) == number) {
                Some(r) => {
                    let action = match r.action {
                        wirelab_spec::NaclAction::Allow => "allow",
                        wirelab_spec::NaclAction::Deny => "deny",
                    };
                    let mut s = format!("{number} {action} {}", r.proto);
                    if let Some(p) = r.ports {
                        s.push_str(&format!(" {p}"));
                    }
                    if let Some(t) = r.icmp_type {
                        s.push_str(&format!(" type {t}"));
                    }
                    format!("{s} {}", r.cidr)
                }
                None => format!("rule {number}"),
            }
        }
    }
}

/// What a host's groups do admit in one direction, so a student sees what
/// is there next to what is missing.
fn admitted(net: &Network, node: NodeId, direction: Direction) -> String {
    const SHOWN_MAX: usize = 6;
    let Some(h) = net.host_of(node) else {
        return String::new();
    };
    let several = net.lab.hosts[h].security_groups.len() > 1;
    let rules: Vec<String> = net.lab.hosts[h]
        .security_groups
        .iter()
        .flat_map(|&g| {
            let sg = &net.lab.security_groups[g];
            let list = match direction {
                Direction::Inbound => sg.inbound.as_slice(),
                Direction::Outbound => sg.outbound.as_deref().unwrap_or(&[]),
            };
            list.iter().map(move |r| (sg, r))
        })
        .map(|(sg, r)| (sg, rule_body(net, r, direction)))
        .map(|(sg, body)| {
            if several {
                format!("{}: {body}", sg.name.value)
            } else {
                body
            }
        })
        .collect();
    if rules.is_empty() {
        return format!("they have no {} rules", direction.code());
    }
    let more = rules.len().saturating_sub(SHOWN_MAX);
    let mut s = format!(
        "they allow only {}",
        rules[..rules.len().min(SHOWN_MAX)].join("; ")
    );
    if more > 0 {
        s.push_str(&format!("; and {more} more"));
    }
    s
}

fn groups_of(net: &Network, node: NodeId) -> String {
    let Some(h) = net.host_of(node) else {
        return String::new();
    };
    let names: Vec<&str> = net.lab.hosts[h]
        .security_groups
        .iter()
        .map(|&g| net.lab.security_groups[g].name.value.as_str())
        .collect();
    names.join(", ")
}

fn packet_role(ex: &Exchange, p: &Packet) -> &'static str {
    match p.ip() {
        Some(ip) if ip.src == ex.plan.src => "the request",
        Some(_) => "the reply",
        None => "a packet",
    }
}

fn header_text(p: &Packet) -> String {
    let Some(ip) = p.ip() else {
        return p.to_string();
    };
    let h = ip.header();
    match h.proto {
        6 | 17 => {
            format!(
                "{} {} → {} port {}",
                if h.proto == 6 { "tcp" } else { "udp" },
                h.src,
                h.dst,
                h.dst_port
            )
        }
        _ => format!(
            "{} {} → {} type {}",
            if ip.is_v6() { "icmpv6" } else { "icmp" },
            h.src,
            h.dst,
            h.icmp_type
        ),
    }
}

/// Why the packet was dropped, in a sentence.
pub fn drop_text(
    net: &Network,
    ex: &Exchange,
    node: NodeId,
    cause: &DropCause,
    p: &Packet,
) -> String {
    drop_text_as(net, &ex.path, packet_role(ex, p), node, cause, p)
}

/// Why a packet playing `role` ("the request", "a DNS query") was
/// dropped; `path` is the routers its exchange crossed.
pub fn drop_text_as(
    net: &Network,
    path: &[NodeId],
    role: &str,
    node: NodeId,
    cause: &DropCause,
    p: &Packet,
) -> String {
    let at = node_name(net, node);
    let hdr = header_text(p);
    match cause {
        DropCause::NoRoute => {
            let dst = p.ip().map(|ip| ip.dst.to_string()).unwrap_or_default();
            format!("{at} has no route to {dst}, so it dropped {role} ({hdr})")
        }
        DropCause::Blackhole { prefix, span } => {
            format!("{at} matched its blackhole route {prefix} (line {}) and silently dropped {role}", span.line)
        }
        DropCause::TtlExceeded => {
            let names: Vec<&str> = path.iter().take(6).map(|&n| node_name(net, n)).collect();
            let more = if path.len() > 6 { ", …" } else { "" };
            format!(
                "the TTL of {role} ran out at {at} after {} hops — a routing loop (path {}{more})",
                path.len(),
                names.join(", ")
            )
        }
        DropCause::HostUnreachable { next_hop } => format!(
            "{at} asked for {next_hop} on its network three times (ARP / neighbour solicitation) and nobody answered, \
             so {role} could not be delivered"
        ),
        DropCause::SgInbound { .. } => format!(
            "{at} dropped {role} ({hdr}): no inbound rule of its security groups ({}) admits it — {}",
            groups_of(net, node),
            admitted(net, node, Direction::Inbound)
        ),
        DropCause::SgOutbound { .. } => format!(
            "{at} did not let {role} out ({hdr}): no outbound rule of its security groups ({}) allows it — {}",
            groups_of(net, node),
            admitted(net, node, Direction::Outbound)
        ),
        DropCause::NaclInbound { nacl, segment, rule, span } | DropCause::NaclOutbound { nacl, segment, rule, span } => {
            let entering = matches!(cause, DropCause::NaclInbound { .. });
            let name = &net.lab.nacls[*nacl].name.value;
            let seg = &net.segments[*segment].name;
            let dir = if entering { "inbound" } else { "outbound" };
            let motion = if entering { "entering" } else { "leaving" };
            let which = match (rule, span) {
                (Some(r), Some(s)) => format!("{dir} rule {r} (line {}) denies it", s.line),
                _ => format!("no {dir} rule matches, so the final `*` rule denies it (NACLs are stateless)"),
            };
            format!("{at} dropped {role} ({hdr}) {motion} network `{seg}`: NACL {name}: {which}")
        }
        DropCause::Lost { segment } => {
            let seg = &net.segments[*segment];
            format!("{role} was lost on network `{}` (random loss {}%)", seg.name, seg.link.loss * 100.0)
        }
        DropCause::QueueFull { .. } => format!("{role} was dropped at {at}: the interface queue was full"),
        DropCause::RouterDown => format!("{role} reached {at}, which is down: it forwards nothing"),
        DropCause::LinkDown { segment } => {
            format!("{role} could not be sent: network `{}` is down", net.segments[*segment].name)
        }
        DropCause::TooBig { mtu } => format!(
            "{at} could not forward {role}: it is larger than the {mtu}-byte MTU of the next network and may \
             not be fragmented, so {at} sent back ICMP fragmentation needed / packet too big"
        ),
        DropCause::NatUnmapped { iface } => {
            let seg = &net.segments[net.ifaces[*iface].segment].name;
            format!(
                "{at} dropped {role} ({hdr}) at its NAT boundary (network `{seg}`): no mapping translates it — \
                 an inside address is reached from outside only through a port forward or a 1:1 (static) address, \
                 and reaches outside only through source NAT"
            )
        }
        DropCause::NatPortsExhausted { span, .. } => format!(
            "{at} dropped {role} ({hdr}): its source NAT rule (line {}) has no free address and port left \
             towards this destination",
            span.line
        ),
        DropCause::Broadcast { addr } => format!(
            "{at} did not send {role} to {addr}: it is the network or broadcast address of a subnet, which \
             routers do not forward (RFC 2644) and hosts send to only with an explicit broadcast option"
        ),
    }
}

/// How an allowed exchange got in, if a security group rule admitted it.
fn admitted_by(net: &Network, trace: &[TraceEvent], dest: Option<NodeId>) -> Option<String> {
    trace.iter().find_map(|e| match e.step {
        Step::SgPass {
            direction: Direction::Inbound,
            how: wirelab_sim::SgPass::Rule(r),
        } if Some(e.node) == dest => Some(sg_rule_text(net, &r)),
        _ => None,
    })
}

fn path_text(net: &Network, path: &[NodeId], answered_by: Option<NodeId>, from: NodeId) -> String {
    if path.is_empty() {
        match answered_by {
            Some(n) if n == from => "over loopback".to_string(),
            Some(n) if net.nodes[n].is_router() => {
                format!("answered by the router {} itself", net.nodes[n].name)
            }
            _ => "on the same network, no router crossed".to_string(),
        }
    } else {
        let names: Vec<&str> = path.iter().map(|&n| node_name(net, n)).collect();
        format!("via {}", names.join(", "))
    }
}

/// The explanation of an exchange.
pub fn explain(net: &Network, ex: &Exchange, trace: &[TraceEvent]) -> String {
    let r = &ex.result;
    let v6 = ex.plan.dst.is_ipv6();
    let what = what(ex.plan.kind, v6);
    let dst = endpoint_name(net, ex.plan.dst);
    match r.outcome {
        Outcome::Allow => {
            let how = match ex.plan.kind {
                ProbeKind::Tcp { .. } => "the three-way handshake completed",
                ProbeKind::Udp { .. } => "the datagram reached the listening service",
                ProbeKind::Ping => "an echo reply came back",
            };
            let from = net.host_node(ex.plan.from);
            let path = path_text(net, &ex.path, r.node, from);
            let mut s = format!("{what} to {dst}: {how} ({path})");
            if let Some(rule) = admitted_by(net, trace, r.node) {
                s.push_str(&format!("; admitted by {rule}"));
            }
            s
        }
        Outcome::Refused => match ex.plan.kind {
            ProbeKind::Tcp { port } => {
                format!("{what} to {dst}: the connection was refused with a TCP RST — nothing listens on port {port}")
            }
            ProbeKind::Udp { port } => format!(
                "{what} to {dst}: ICMP port unreachable came back — nothing listens on udp port {port}"
            ),
            ProbeKind::Ping => format!("{what} to {dst}: refused"),
        },
        Outcome::Deny => match (r.drop, r.node) {
            (Some(d), Some(node)) => format!("{what} to {dst}: {}", drop_text(net, ex, node, &d.cause, &d.packet)),
            _ => format!("{what} to {dst}: no answer came back in time, and no node recorded a drop"),
        },
    }
}
