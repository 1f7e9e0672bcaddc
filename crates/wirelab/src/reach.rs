//! `wirelab reach`: what one host can get to on another, from the lab's
//! configuration alone (wirelab-analyze), with every component that
//! blocks the rest. See docs/analysis.md.

use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};
use serde_json::{json, Value};
use wirelab_analyze::{Analyzer, Block, Leg, PortSet, Proto, Reach};
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
    /// The host that sends (alone: everything it can reach).
    #[arg(long)]
    from: Option<String>,
    /// The host that receives (alone: every host that can reach it).
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
    let ids = |name: &Option<String>| -> Result<Option<HostId>, String> {
        name.as_deref().map(|n| host(lab, n)).transpose()
    };
    let (from, to) = match (ids(&args.from), ids(&args.to)) {
        (Ok(f), Ok(t)) => (f, t),
        (Err(e), _) | (_, Err(e)) => return usage(&e),
    };
    let all: Vec<HostId> = (0..lab.hosts.len()).collect();
    let pairs: Vec<(HostId, HostId)> = match (from, to) {
        (None, None) => return usage("give --from, --to or both"),
        (Some(f), Some(t)) => vec![(f, t)],
        (Some(f), None) => all.iter().filter(|&&t| t != f).map(|&t| (f, t)).collect(),
        (None, Some(t)) => all.iter().filter(|&&f| f != t).map(|&f| (f, t)).collect(),
    };
    let net = Network::compile(lab);
    let analyzer = Analyzer::new(&net);
    let protos: Vec<Proto> = match args.proto {
        None if args.port.is_some() => vec![Proto::Tcp, Proto::Udp],
        None => Proto::ALL.to_vec(),
        Some(ReachProto::Tcp) => vec![Proto::Tcp],
        Some(ReachProto::Udp) => vec![Proto::Udp],
        Some(ReachProto::Icmp) => vec![Proto::Icmp],
    };
    // What the question asks about, per protocol.
    let asked = |proto: Proto| match (proto, args.port) {
        (Proto::Icmp, _) | (_, None) => PortSet::full(),
        (_, Some(p)) => PortSet::single(p),
    };
    let single = pairs.len() == 1;
    let mut any = false;
    let mut text = String::new();
    let mut items = Vec::new();
    for (f, t) in pairs {
        let reach = analyzer.reach(f, t);
        let hit = protos
            .iter()
            .any(|&p| !reach.reachable(p).intersect(&asked(p)).is_empty());
        any |= hit;
        // Several pairs: list only those that reach something asked.
        if single || hit {
            match args.format {
                ReachFormat::Text => text.push_str(&render_text(&net, &reach, &protos, &asked)),
                ReachFormat::Json => items.push(render_json(&net, &reach, &protos, &asked)),
            }
        }
    }
    match args.format {
        ReachFormat::Text => {
            if text.is_empty() {
                text.push_str("nothing is reachable\n");
            }
            crate::emit(&text);
        }
        ReachFormat::Json => {
            let doc = json!({ "lab": lab.lab.value, "reachable": any, "pairs": items });
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
        let path = match (routed, fam.path.is_empty()) {
            (false, _) => "none (routing fails)".to_string(),
            (true, true) => "direct (same network)".to_string(),
            (true, false) => fam.path.join(" → "),
        };
        out.push_str(&format!(
            "{a} → {b} {} {} → {}  path: {path}\n",
            fam.family.code(),
            fam.src,
            fam.dst
        ));
        if fam.reply_path != fam.path.iter().rev().cloned().collect::<Vec<_>>() {
            out.push_str(&format!("  reply path: {}\n", fam.reply_path.join(" → ")));
        }
        for p in fam.protos.iter().filter(|p| protos.contains(&p.proto)) {
            let want = asked(p.proto);
            let got = p.reachable.intersect(&want);
            out.push_str(&format!("  {}: {}\n", p.proto.code(), shown(p.proto, &got)));
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
        .map(|fam| {
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
        })
        .collect();
    json!({
        "from": lab.hosts[reach.from].name.value,
        "to": lab.hosts[reach.to].name.value,
        "families": families,
    })
}
