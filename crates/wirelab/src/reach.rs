//! `wirelab reach`: what one host can get to on another, from the lab's
//! configuration alone (wirelab-analyze), with every component that
//! blocks the rest. See docs/analysis.md.

use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};
use serde_json::{json, Value};
use std::net::IpAddr;

use ipnet::IpNet;
use wirelab_analyze::{
    Analyzer, Block, FamilyReach, Leg, Origin, PortSet, Proto, Reach, SourceReach,
};
use wirelab_net::Network;
use wirelab_spec::{HostId, Loaded};

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReachProto {
    Tcp,
    Udp,
    Icmp,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReachFormat {
    Text,
    Json,
}

#[derive(Args)]
pub struct ReachArgs {
    lab: PathBuf,
    /// Who sends: a host, a network, `internet`, an address or a prefix
    /// (alone: everything it can reach).
    #[arg(long)]
    from: Option<String>,
    /// Who receives: a host, a network (its hosts), a host's address, or
    /// `internet` (alone: every source that can reach it).
    #[arg(long)]
    to: Option<String>,
    /// Only this protocol.
    #[arg(long, value_enum)]
    proto: Option<ReachProto>,
    /// Only this destination port (tcp and udp; the exit status says
    /// whether it is reachable).
    #[arg(long)]
    port: Option<u16>,
    #[arg(long, value_enum, default_value = "text")]
    format: ReachFormat,
}

fn host(lab: &wirelab_spec::Lab, name: &str) -> Result<HostId, String> {
    lab.host_by_name(name).ok_or_else(|| {
        format!(
            "`{name}` is not a host of lab {}{}",
            lab.lab.value,
            wirelab_check::query::suggest_host(lab, name)
        )
    })
}

fn usage(msg: &str) -> u8 {
    eprintln!("error: {msg}");
    2
}

/// Who sends: a host (its security groups filter what it sends), or
/// address ranges of networks and of the outside (no security group).
enum Sender {
    Host(HostId),
    Space {
        label: String,
        parts: Vec<(Origin, Option<IpNet>)>,
    },
}

/// `--from`: a host, a network, `internet` (or `outside`), an address (a
/// host's address means that host) or a prefix. The lab's own names win
/// over `internet`.
fn sender(net: &Network, text: &str) -> Result<Sender, String> {
    let lab = &net.lab;
    if let Some(h) = lab.host_by_name(text) {
        return Ok(Sender::Host(h));
    }
    if let Some(seg) = net.segments.iter().position(|s| s.name == text) {
        return Ok(Sender::Space {
            label: format!("network {text}"),
            parts: vec![(Origin::Network(seg), None)],
        });
    }
    if text == "internet" || text == "outside" {
        return Ok(Sender::Space {
            label: "internet".into(),
            parts: vec![(Origin::Outside, None)],
        });
    }
    let prefix: Option<IpNet> = text
        .parse::<IpNet>()
        .ok()
        .or_else(|| text.parse::<IpAddr>().ok().map(IpNet::from));
    let Some(prefix) = prefix else {
        return Err(format!(
            "`{text}` is no host or network of lab {}, nor `internet`, an address or a prefix{}",
            lab.lab.value,
            wirelab_check::query::suggest_host(lab, text)
        ));
    };
    let prefix = prefix.trunc();
    if prefix.prefix_len() == prefix.max_prefix_len() {
        if let Some(i) = net.owner(prefix.addr()) {
            if let Some(h) = net.host_of(net.ifaces[i].node) {
                return Ok(Sender::Host(h));
            }
        }
    }
    let mut parts: Vec<(Origin, Option<IpNet>)> = (0..net.segments.len())
        .map(|s| (Origin::Network(s), Some(prefix)))
        .collect();
    parts.push((Origin::Outside, Some(prefix)));
    Ok(Sender::Space {
        label: prefix.to_string(),
        parts,
    })
}

/// `--to`: a host, every host of a network, or the host an address
/// belongs to.
fn receivers(net: &Network, text: &str) -> Result<Vec<HostId>, String> {
    let lab = &net.lab;
    if let Some(h) = lab.host_by_name(text) {
        return Ok(vec![h]);
    }
    if let Some(seg) = net.segments.iter().position(|s| s.name == text) {
        return Ok((0..lab.hosts.len())
            .filter(|&h| lab.hosts[h].network == seg)
            .collect());
    }
    if let Ok(addr) = text.parse::<IpAddr>() {
        if let Some(h) = net
            .owner(addr)
            .and_then(|i| net.host_of(net.ifaces[i].node))
        {
            return Ok(vec![h]);
        }
        return Err(format!(
            "no host of lab {} has the address {addr}",
            lab.lab.value
        ));
    }
    host(lab, text).map(|h| vec![h])
}

/// Exit status: 0 something (the asked protocol/port) is reachable for
/// some pair, 1 nothing is, 2 usage or an invalid lab.
pub fn cmd_reach(args: &ReachArgs, load: fn(&Path) -> Option<Loaded>) -> u8 {
    let Some(loaded) = load(&args.lab) else {
        return 2;
    };
    let lab = &loaded.lab;
    if args.port.is_some() && args.proto == Some(ReachProto::Icmp) {
        return usage("--port goes with --proto tcp or udp");
    }
    let net = Network::compile(lab);
    let net = wirelab_sim::routing_apps::settled_network(&net).unwrap_or(net);
    if let Some(t) = args.to.as_deref() {
        let named = lab.host_by_name(t).is_some() || net.segments.iter().any(|s| s.name == t);
        if (t == "internet" || t == "outside") && !named {
            return egress(args, &net, None);
        }
        if let Some((router, addrs)) = router_target(&net, t) {
            return to_router(args, &net, &router, &addrs);
        }
        if !named {
            match outside_destination(&net, t) {
                Ok(Some(prefix)) => return egress(args, &net, Some(prefix)),
                Ok(None) => {}
                Err(e) => return usage(&e),
            }
        }
    }
    let from = match args.from.as_deref().map(|t| sender(&net, t)).transpose() {
        Ok(f) => f,
        Err(e) => return usage(&e),
    };
    let to = match args.to.as_deref().map(|t| receivers(&net, t)).transpose() {
        Ok(t) => t,
        Err(e) => return usage(&e),
    };
    let all: Vec<HostId> = (0..lab.hosts.len()).collect();
    // Who sends to whom; with --to alone, every host, every network's
    // addresses and the outside.
    let mut pairs: Vec<(Sender, HostId)> = Vec::new();
    match (from, to) {
        (None, None) => return usage("give --from, --to or both"),
        (Some(Sender::Host(f)), to) => {
            for t in to.unwrap_or_else(|| all.clone()) {
                if t != f {
                    pairs.push((Sender::Host(f), t));
                }
            }
        }
        (Some(Sender::Space { label, parts }), to) => {
            for t in to.unwrap_or_else(|| all.clone()) {
                pairs.push((
                    Sender::Space {
                        label: label.clone(),
                        parts: parts.clone(),
                    },
                    t,
                ));
            }
        }
        (None, Some(to)) => {
            for &t in &to {
                for &f in all.iter().filter(|&&f| f != t) {
                    pairs.push((Sender::Host(f), t));
                }
                for (seg, s) in net.segments.iter().enumerate() {
                    pairs.push((
                        Sender::Space {
                            label: format!("network {}", s.name),
                            parts: vec![(Origin::Network(seg), None)],
                        },
                        t,
                    ));
                }
                pairs.push((
                    Sender::Space {
                        label: "internet".into(),
                        parts: vec![(Origin::Outside, None)],
                    },
                    t,
                ));
            }
        }
    }
    let analyzer = Analyzer::new(&net);
    let protos = wanted(args);
    let asked = |proto: Proto| asked_ports(args, proto);
    let hits = |fam: &FamilyReach| {
        fam.protos
            .iter()
            .filter(|p| protos.contains(&p.proto))
            .any(|p| !p.reachable.intersect(&asked(p.proto)).is_empty())
    };
    let single = pairs.len() == 1;
    let mut any = false;
    let mut text = String::new();
    let mut items = Vec::new();
    for (f, t) in pairs {
        match f {
            Sender::Host(f) => {
                let reach = analyzer.reach(f, t);
                let hit = reach.families.iter().any(hits);
                any |= hit;
                // Several pairs: list only those that reach something asked.
                if single || hit {
                    match args.format {
                        ReachFormat::Text => {
                            text.push_str(&render_text(&net, &reach, &protos, &asked))
                        }
                        ReachFormat::Json => items.push(render_json(&net, &reach, &protos, &asked)),
                    }
                }
            }
            Sender::Space { label, parts } => {
                let groups: Vec<SourceReach> = parts
                    .iter()
                    .flat_map(|&(origin, within)| analyzer.reach_from(origin, within, t))
                    .collect();
                let alone = single && groups.len() == 1;
                for g in groups {
                    let hit = hits(&g.reach);
                    any |= hit;
                    // A single question shows its blocks; otherwise only
                    // the sources that reach something.
                    if alone || hit || (single && args.to.is_some() && args.from.is_some()) {
                        match args.format {
                            ReachFormat::Text => text
                                .push_str(&render_space_text(&net, &label, &g, t, &protos, &asked)),
                            ReachFormat::Json => {
                                items.push(render_space_json(&net, &label, &g, t, &protos, &asked))
                            }
                        }
                    }
                }
            }
        }
    }
    finish(args, lab, any, text, items)
}

/// `--to ROUTER` (every address of it) or one address of a router: the
/// router's name and the addresses. Hosts and networks of that name win.
fn router_target(net: &Network, text: &str) -> Option<(String, Vec<IpAddr>)> {
    let lab = &net.lab;
    if lab.host_by_name(text).is_some() || net.segments.iter().any(|s| s.name == text) {
        return None;
    }
    let addresses = |node: &wirelab_net::Node| -> Vec<IpAddr> {
        node.ifaces
            .iter()
            .flat_map(|&i| {
                let iface = &net.ifaces[i];
                [iface.ipv4.map(IpAddr::V4), iface.ipv6.map(IpAddr::V6)]
            })
            .flatten()
            .collect()
    };
    if let Some(node) = net.nodes.iter().find(|n| n.is_router() && n.name == text) {
        return Some((node.name.clone(), addresses(node)));
    }
    let addr: IpAddr = text.parse().ok()?;
    let node = &net.nodes[net.ifaces[net.owner(addr)?].node];
    node.is_router().then(|| (node.name.clone(), vec![addr]))
}

/// `--to ROUTER` or a router's address: what hosts get to the router's
/// own addresses.
fn to_router(args: &ReachArgs, net: &Network, router: &str, addrs: &[IpAddr]) -> u8 {
    let lab = &net.lab;
    let senders: Vec<HostId> = match args.from.as_deref() {
        None => (0..lab.hosts.len()).collect(),
        Some(t) => match sender(net, t) {
            Ok(Sender::Host(h)) => vec![h],
            Ok(Sender::Space { .. }) => {
                return usage(&format!(
                    "--to {router} (a router) goes with a host in --from (or no --from: every host)"
                ))
            }
            Err(e) => return usage(&e),
        },
    };
    let analyzer = Analyzer::new(net);
    let protos = wanted(args);
    let asked = |proto: Proto| asked_ports(args, proto);
    let analyzer = &analyzer;
    let answers: Vec<(HostId, FamilyReach)> = senders
        .iter()
        .flat_map(|&h| {
            addrs
                .iter()
                .filter_map(move |&a| Some(h).zip(analyzer.reach_address(h, a)))
        })
        .collect();
    let single = answers.len() == 1;
    let (mut any, mut text, mut items) = (false, String::new(), Vec::new());
    for (h, fam) in answers {
        let hit = fam
            .protos
            .iter()
            .filter(|p| protos.contains(&p.proto))
            .any(|p| !p.reachable.intersect(&asked(p.proto)).is_empty());
        any |= hit;
        if !(single || hit) {
            continue;
        }
        let name = &lab.hosts[h].name.value;
        match args.format {
            ReachFormat::Text => {
                // The path ends at the router, which it does not cross.
                let path = match path_text(&fam).as_str() {
                    "direct (same network)" => router.to_string(),
                    p if p.starts_with("none") => p.to_string(),
                    p => format!("{p} → {router}"),
                };
                text.push_str(&format!(
                    "{name} → {router} {} {} → {}  path: {path}\n",
                    fam.family.code(),
                    fam.src,
                    fam.dst,
                ));
                text.push_str(&family_body(&fam, &protos, &asked));
            }
            ReachFormat::Json => items.push(json!({
                "from": name,
                "to": router,
                "router": true,
                "families": [family_json(&fam, &protos, &asked)],
            })),
        }
    }
    finish(args, lab, any, text, items)
}

/// `--to ADDRESS` or `--to PREFIX` outside every network of the lab: the
/// prefix, for [`egress`]; `None` when `text` is no address or prefix, or
/// is one of a host. Partly inside a network, or a router's own address:
/// an error that says so.
fn outside_destination(net: &Network, text: &str) -> Result<Option<IpNet>, String> {
    let prefix: Option<IpNet> = text
        .parse::<IpNet>()
        .ok()
        .or_else(|| text.parse::<IpAddr>().ok().map(IpNet::from));
    let Some(prefix) = prefix.map(|p| p.trunc()) else {
        return Ok(None);
    };
    if prefix.prefix_len() == prefix.max_prefix_len() && net.owner(prefix.addr()).is_some() {
        return Ok(None);
    }
    let overlaps = net.segments.iter().find(|s| {
        let nets = [s.ipv4.map(IpNet::V4), s.ipv6.map(IpNet::V6)];
        nets.into_iter()
            .flatten()
            .any(|n| n.contains(&prefix) || prefix.contains(&n))
    });
    match overlaps {
        // One address of a network no host has: `receivers` says so.
        Some(_) if prefix.prefix_len() == prefix.max_prefix_len() => Ok(None),
        Some(s) => Err(format!(
            "{prefix} overlaps network {} of lab {}: give a host, a network, an address or prefix outside the lab's networks, or internet",
            s.name, net.lab.lab.value
        )),
        None => Ok(Some(prefix)),
    }
}

/// `--to internet` (or an address or prefix outside the lab): what hosts
/// reach outside the lab.
fn egress(args: &ReachArgs, net: &Network, within: Option<IpNet>) -> u8 {
    let lab = &net.lab;
    let senders: Vec<HostId> = match args.from.as_deref() {
        None => (0..lab.hosts.len()).collect(),
        Some(t) => match sender(net, t) {
            Ok(Sender::Host(h)) => vec![h],
            Ok(Sender::Space { .. }) => {
                return usage("--to internet goes with a host in --from (or no --from: every host)")
            }
            Err(e) => return usage(&e),
        },
    };
    let analyzer = Analyzer::new(net);
    let protos = wanted(args);
    let asked = |proto: Proto| asked_ports(args, proto);
    let single = senders.len() == 1;
    let mut any = false;
    let mut text = String::new();
    let mut items = Vec::new();
    for h in senders {
        let name = &lab.hosts[h].name.value;
        let groups = analyzer.reach_outside(h, within);
        let alone = single && groups.len() == 1;
        for g in groups {
            let hit = g
                .reach
                .protos
                .iter()
                .filter(|p| protos.contains(&p.proto))
                .any(|p| !p.reachable.intersect(&asked(p.proto)).is_empty());
            any |= hit;
            if !(alone || hit || single) {
                continue;
            }
            let mut dests: Vec<String> = g
                .destinations
                .iter()
                .take(SOURCES_SHOWN)
                .map(|n| n.to_string())
                .collect();
            if g.destinations.len() > SOURCES_SHOWN {
                dests.push(format!(
                    "and {} more blocks",
                    g.destinations.len() - SOURCES_SHOWN
                ));
            }
            match args.format {
                ReachFormat::Text => {
                    let exit = g.exit.as_deref().map(|e| format!("  leaves by: {e}")).unwrap_or_default();
                    text.push_str(&format!(
                        "{name} → internet {} {} {}{exit}  path: {}\n",
                        dests.join(", "),
                        g.reach.family.code(),
                        g.reach.src,
                        path_text(&g.reach)
                    ));
                    text.push_str(&family_body(&g.reach, &protos, &asked));
                }
                ReachFormat::Json => items.push(json!({
                    "from": name,
                    "to": "internet",
                    "destinations": g.destinations.iter().map(|n| n.to_string()).collect::<Vec<_>>(),
                    "exit": g.exit,
                    "families": [family_json(&g.reach, &protos, &asked)],
                })),
            }
        }
    }
    finish(args, lab, any, text, items)
}

/// The protocols asked for (with `--port` and no `--proto`: TCP and UDP).
fn wanted(args: &ReachArgs) -> Vec<Proto> {
    match args.proto {
        None if args.port.is_some() => vec![Proto::Tcp, Proto::Udp],
        None => Proto::ALL.to_vec(),
        Some(ReachProto::Tcp) => vec![Proto::Tcp],
        Some(ReachProto::Udp) => vec![Proto::Udp],
        Some(ReachProto::Icmp) => vec![Proto::Icmp],
    }
}

/// What the question asks about of one protocol: `--port`, else all.
fn asked_ports(args: &ReachArgs, proto: Proto) -> PortSet {
    match (proto, args.port) {
        (Proto::Icmp, _) | (_, None) => PortSet::full(),
        (_, Some(p)) => PortSet::single(p),
    }
}

/// Prints the answer and returns the exit status: 0 when something asked
/// for is reachable, else 1.
/// The analysis does not model NAT (see docs/analysis.md): when a router
/// translates, say so rather than answer as if it did not.
pub(crate) fn nat_note(lab: &wirelab_spec::Lab) -> Option<String> {
    let routers: Vec<String> = lab
        .routers
        .iter()
        .filter(|r| !r.nat.is_empty())
        .map(|r| format!("`{}`", r.name.value))
        .collect();
    (!routers.is_empty()).then(|| {
        format!(
            "NAT on {} is not analysed: the analysis (reach, lint, diff) treats NAT routers as plain routers (no translation, \
             port forwards, 1:1 addresses or NAT boundary), so answers through them may be wrong; \
             `wirelab test` and `wirelab trace` simulate NAT",
            routers.join(", ")
        )
    })
}

fn finish(
    args: &ReachArgs,
    lab: &wirelab_spec::Lab,
    any: bool,
    mut text: String,
    items: Vec<Value>,
) -> u8 {
    let note = nat_note(lab);
    match args.format {
        ReachFormat::Text => {
            if text.is_empty() {
                text.push_str("nothing is reachable\n");
            }
            if let Some(n) = &note {
                text.push_str(&format!("note: {n}\n"));
            }
            crate::emit(&text);
        }
        ReachFormat::Json => {
            let mut doc = json!({ "lab": lab.lab.value, "reachable": any, "pairs": items });
            if let Some(n) = note {
                doc["notes"] = json!([n]);
            }
            crate::emit(&format!(
                "{}\n",
                serde_json::to_string_pretty(&doc).unwrap_or_default()
            ));
        }
    }
    if any {
        0
    } else {
        1
    }
}

/// At most this many source blocks are printed in text (JSON has all).
const SOURCES_SHOWN: usize = 6;

fn sources_text(g: &SourceReach) -> String {
    let mut s: Vec<String> = g
        .sources
        .iter()
        .take(SOURCES_SHOWN)
        .map(|n| n.to_string())
        .collect();
    if g.sources.len() > SOURCES_SHOWN {
        s.push(format!(
            "and {} more blocks",
            g.sources.len() - SOURCES_SHOWN
        ));
    }
    s.join(", ")
}

fn render_space_text(
    net: &Network,
    label: &str,
    g: &SourceReach,
    to: HostId,
    protos: &[Proto],
    asked: &dyn Fn(Proto) -> PortSet,
) -> String {
    let fam = &g.reach;
    let b = &net.lab.hosts[to].name.value;
    // `network app 10.0.2.0/24`, `internet 0.0.0.0/5, …`, and for a
    // prefix asked for: `10.0.0.0/8 in network app: 10.0.2.0/24`.
    let origin = match g.origin {
        Origin::Network(s) if label == format!("network {}", net.segments[s].name) => {
            format!("{label} {}", sources_text(g))
        }
        Origin::Outside if label == "internet" => format!("{label} {}", sources_text(g)),
        _ => {
            let part = match g.origin {
                Origin::Network(s) => format!("in network {}", net.segments[s].name),
                Origin::Outside => "outside the lab".to_string(),
            };
            if sources_text(g) == label {
                format!("{label} ({part})")
            } else {
                format!("{label} {part}: {}", sources_text(g))
            }
        }
    };
    let entry = match (&g.origin, &g.entry) {
        (Origin::Outside, Some(e)) => format!("  enters by: {e}"),
        _ => String::new(),
    };
    let head = format!(
        "{origin} → {b} {} {}{entry}  path: {}\n",
        fam.family.code(),
        fam.dst,
        path_text(fam)
    );
    head + &family_body(fam, protos, asked)
}

fn render_space_json(
    net: &Network,
    label: &str,
    g: &SourceReach,
    to: HostId,
    protos: &[Proto],
    asked: &dyn Fn(Proto) -> PortSet,
) -> Value {
    json!({
        "from": label,
        "origin": match g.origin {
            Origin::Network(s) => json!({ "network": net.segments[s].name }),
            Origin::Outside => json!("internet"),
        },
        "sources": g.sources.iter().map(|n| n.to_string()).collect::<Vec<_>>(),
        "entry": g.entry,
        "to": net.lab.hosts[to].name.value,
        "families": [family_json(&g.reach, protos, asked)],
    })
}

fn shown(proto: Proto, set: &PortSet) -> String {
    match proto {
        Proto::Icmp if set.is_empty() => "nothing".into(),
        Proto::Icmp => "echo".into(),
        _ if set.is_empty() => "nothing".into(),
        _ => set.to_string(),
    }
}

fn block_text(proto: Proto, b: &Block) -> String {
    let ports = |p: &PortSet| match proto {
        Proto::Icmp => "echo".to_string(),
        _ => p.to_string(),
    };
    match b {
        Block::Route { leg, why } => format!("{} ({}): {why}", b.code(), leg.code()),
        Block::SecurityGroup {
            host,
            groups,
            allows,
            ports: p,
            ..
        } => {
            let allows = if allows.is_empty() {
                format!("nothing for {}", proto.code())
            } else {
                allows.join("; ")
            };
            format!(
                "{}: {} {} of {host} not allowed: its groups {} allow {allows}",
                b.code(),
                proto.code(),
                ports(p),
                groups.join(", ")
            )
        }
        Block::Nacl {
            leg,
            direction,
            nacl,
            network,
            rule,
            line,
            ports: p,
        } => {
            let rule = match (rule, line) {
                (Some(n), Some(l)) => format!("rule {n} (line {l})"),
                (Some(n), None) => format!("rule {n}"),
                _ => "rule * (no rule matched)".to_string(),
            };
            let what = match (leg, proto) {
                (Leg::Reply, Proto::Icmp) => "the echo reply".to_string(),
                (Leg::Reply, _) => format!("the reply to ephemeral ports {}", ports(p)),
                (Leg::Request, _) => format!("{} {}", proto.code(), ports(p)),
            };
            format!(
                "{}: NACL {nacl} of network {network}, {} {rule}, denies {what}",
                b.code(),
                direction.code()
            )
        }
    }
}

fn render_text(
    net: &Network,
    reach: &Reach,
    protos: &[Proto],
    asked: &dyn Fn(Proto) -> PortSet,
) -> String {
    let lab = &net.lab;
    let (a, b) = (
        &lab.hosts[reach.from].name.value,
        &lab.hosts[reach.to].name.value,
    );
    let mut out = String::new();
    if reach.families.is_empty() {
        out.push_str(&format!("{a} → {b}: no address family in common\n"));
    }
    for fam in &reach.families {
        out.push_str(&format!(
            "{a} → {b} {} {} → {}  path: {}\n",
            fam.family.code(),
            fam.src,
            fam.dst,
            path_text(fam)
        ));
        out.push_str(&family_body(fam, protos, asked));
    }
    out
}

fn path_text(fam: &FamilyReach) -> String {
    let routed = fam.protos.iter().all(|p| {
        !p.blocks.iter().any(|b| {
            matches!(
                b,
                Block::Route {
                    leg: Leg::Request,
                    ..
                }
            )
        })
    });
    match (routed, fam.path.is_empty()) {
        (false, _) => "none (routing fails)".to_string(),
        (true, true) => "direct (same network)".to_string(),
        (true, false) => fam.path.join(" → "),
    }
}

/// The reply path when it differs, then per protocol what gets through
/// and what blocks the rest.
fn family_body(fam: &FamilyReach, protos: &[Proto], asked: &dyn Fn(Proto) -> PortSet) -> String {
    let mut out = String::new();
    if fam.reply_path != fam.path.iter().rev().cloned().collect::<Vec<_>>() {
        out.push_str(&format!("  reply path: {}\n", fam.reply_path.join(" → ")));
    }
    for p in fam.protos.iter().filter(|p| protos.contains(&p.proto)) {
        let want = asked(p.proto);
        let got = p.reachable.intersect(&want);
        out.push_str(&format!("  {}: {}\n", p.proto.code(), shown(p.proto, &got)));
        // Asked for ICMP alone: the messages delivered one way too.
        if p.proto == Proto::Icmp && protos == [Proto::Icmp] {
            out.push_str(&format!(
                "    delivered one way: {}\n",
                wirelab_analyze::icmp_messages_text(fam.family, &p.messages)
            ));
        }
        // Blocks that concern the asked ports (reply blocks always do).
        for blk in &p.blocks {
            let relevant = match blk {
                Block::SecurityGroup { ports, .. }
                | Block::Nacl {
                    leg: Leg::Request,
                    ports,
                    ..
                } => !ports.intersect(&want).is_empty() || p.proto == Proto::Icmp,
                _ => true,
            };
            if relevant {
                out.push_str(&format!("    blocked: {}\n", block_text(p.proto, blk)));
            }
        }
    }
    out
}

fn ranges_json(set: &PortSet) -> Value {
    Value::Array(
        set.ranges()
            .iter()
            .map(|&(a, b)| json!({ "first": a, "last": b }))
            .collect(),
    )
}

fn block_json(proto: Proto, b: &Block) -> Value {
    let mut v = match b {
        Block::Route { leg, why } => json!({ "leg": leg.code(), "detail": why.to_string() }),
        Block::SecurityGroup {
            host,
            groups,
            allows,
            ports,
            ..
        } => json!({
            "leg": "request", "host": host, "groups": groups, "allows": allows,
            "ports": ranges_json(ports),
        }),
        Block::Nacl {
            leg,
            nacl,
            network,
            rule,
            line,
            ports,
            ..
        } => json!({
            "leg": leg.code(), "nacl": nacl, "network": network, "rule": rule,
            "line": line, "ports": ranges_json(ports),
        }),
    };
    v["reason"] = json!(b.code());
    v["text"] = json!(block_text(proto, b));
    v
}

fn render_json(
    net: &Network,
    reach: &Reach,
    protos: &[Proto],
    asked: &dyn Fn(Proto) -> PortSet,
) -> Value {
    let lab = &net.lab;
    let families: Vec<Value> = reach
        .families
        .iter()
        .map(|fam| family_json(fam, protos, asked))
        .collect();
    json!({
        "from": lab.hosts[reach.from].name.value,
        "to": lab.hosts[reach.to].name.value,
        "families": families,
    })
}

fn family_json(fam: &FamilyReach, protos: &[Proto], asked: &dyn Fn(Proto) -> PortSet) -> Value {
    let ps: Vec<Value> = fam
        .protos
        .iter()
        .filter(|p| protos.contains(&p.proto))
        .map(|p| {
            let got = p.reachable.intersect(&asked(p.proto));
            let mut v = json!({
                "proto": p.proto.code(),
                "blocked": p.blocks.iter().map(|b| block_json(p.proto, b)).collect::<Vec<_>>(),
            });
            if p.proto == Proto::Icmp {
                v["echo"] = json!(!got.is_empty());
                let message = |m: u16| json!({ "type": m >> 8, "code": m & 0xff });
                v["messages"] = Value::Array(
                    p.messages
                        .ranges()
                        .iter()
                        .map(|&(a, b)| json!({ "first": message(a), "last": message(b) }))
                        .collect(),
                );
                v["messages_text"] =
                    json!(wirelab_analyze::icmp_messages_text(fam.family, &p.messages));
            } else {
                v["ports"] = ranges_json(&got);
                v["text"] = json!(shown(p.proto, &got));
            }
            v
        })
        .collect();
    json!({
        "family": fam.family.code(),
        "src": fam.src.to_string(),
        "dst": fam.dst.to_string(),
        "path": fam.path,
        "reply_path": fam.reply_path,
        "protocols": ps,
    })
}
