//! `wirelab diff OLD NEW`: what two versions of a lab let through
//! differently, and which configuration changes explain it
//! (wirelab-analyze's `diff`). See docs/analysis.md.

use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};
use serde_json::{json, Value};
use wirelab_analyze::diff::{
    block_text, flow_text, group_pairs, FlowChange, FlowGroup, HostSummary, LabDiff, PairDiff,
    Reaches, OUTSIDE,
};
use wirelab_analyze::{PortSet, Proto};
use wirelab_net::Network;
use wirelab_spec::{Family, Loaded};

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DiffProto {
    Tcp,
    Udp,
    Icmp,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DiffFormat {
    Text,
    Json,
}

#[derive(Args)]
pub struct DiffArgs {
    /// The lab as it was.
    old: PathBuf,
    /// The lab as it is now.
    new: PathBuf,
    /// Only flows from this host (`internet`: from addresses outside
    /// every network of the lab).
    #[arg(long)]
    from: Option<String>,
    /// Only flows to this host.
    #[arg(long)]
    to: Option<String>,
    /// Only this protocol.
    #[arg(long, value_enum)]
    proto: Option<DiffProto>,
    /// Only this destination port (tcp and udp).
    #[arg(long)]
    port: Option<u16>,
    #[arg(long, value_enum, default_value = "text")]
    format: DiffFormat,
}

fn usage(msg: &str) -> u8 {
    eprintln!("error: {msg}");
    2
}

/// What the command line asks to see.
struct Filter {
    from: Option<String>,
    to: Option<String>,
    protos: Vec<Proto>,
    port: Option<u16>,
}

impl Filter {
    /// The part of `ports` of `proto` asked about (empty: none).
    fn ports(&self, proto: Proto, ports: &PortSet) -> PortSet {
        if !self.protos.contains(&proto) {
            return PortSet::empty();
        }
        match (proto, self.port) {
            (Proto::Icmp, _) | (_, None) => ports.clone(),
            (_, Some(p)) => ports.intersect(&PortSet::single(p)),
        }
    }

    fn pair(&self, p: &PairDiff) -> Option<PairDiff> {
        if self.from.as_ref().is_some_and(|f| *f != p.from)
            || self.to.as_ref().is_some_and(|t| *t != p.to)
        {
            return None;
        }
        let changes: Vec<FlowChange> = p
            .changes
            .iter()
            .filter_map(|c| {
                let ports = self.ports(c.proto, &c.ports);
                (!ports.is_empty()).then(|| FlowChange { ports, ..c.clone() })
            })
            .collect();
        (!changes.is_empty()).then(|| PairDiff {
            changes,
            ..p.clone()
        })
    }

    fn reaches(&self, r: &Reaches) -> Reaches {
        r.iter()
            .filter_map(|(host, protos)| {
                let kept: Vec<(Proto, PortSet)> = protos
                    .iter()
                    .map(|(p, s)| (*p, self.ports(*p, s)))
                    .filter(|(_, s)| !s.is_empty())
                    .collect();
                (!kept.is_empty()).then(|| (host.clone(), kept))
            })
            .collect()
    }

    /// A host one lab lacks is shown when no host is asked for, or when
    /// it is the one asked for.
    fn host(&self, h: &HostSummary) -> Option<HostSummary> {
        let named = [&self.from, &self.to]
            .iter()
            .any(|n| n.as_deref() == Some(h.name.as_str()));
        if (self.from.is_some() || self.to.is_some()) && !named {
            return None;
        }
        Some(HostSummary {
            reaches: if self.to.is_some() && self.from.as_deref() != Some(&h.name) {
                Vec::new()
            } else {
                self.reaches(&h.reaches)
            },
            reached_by: if self.from.is_some() && self.to.as_deref() != Some(&h.name) {
                Vec::new()
            } else {
                self.reaches(&h.reached_by)
            },
            ..h.clone()
        })
    }
}

/// Exit status like diff(1): 0 no reachability difference (among what is
/// asked), 1 differences, 2 usage or an invalid lab.
pub fn cmd_diff(args: &DiffArgs, load: fn(&Path) -> Option<Loaded>) -> u8 {
    // Both labs are loaded first, so that every diagnostic is printed.
    let (old, new) = (load(&args.old), load(&args.new));
    let (Some(old), Some(new)) = (old, new) else {
        return 2;
    };
    if args.port.is_some() && args.proto == Some(DiffProto::Icmp) {
        return usage("--port goes with --proto tcp or udp");
    }
    let outside = args.from.as_deref() == Some(OUTSIDE);
    let named = [args.from.as_ref().filter(|_| !outside), args.to.as_ref()];
    for name in named.into_iter().flatten() {
        if old.lab.host_by_name(name).is_none() && new.lab.host_by_name(name).is_none() {
            return usage(&format!(
                "`{name}` is a host of neither lab{}",
                wirelab_check::query::suggest_host(&new.lab, name)
            ));
        }
    }
    let filter = Filter {
        from: args.from.clone(),
        to: args.to.clone(),
        protos: match args.proto {
            None if args.port.is_some() => vec![Proto::Tcp, Proto::Udp],
            None => Proto::ALL.to_vec(),
            Some(DiffProto::Tcp) => vec![Proto::Tcp],
            Some(DiffProto::Udp) => vec![Proto::Udp],
            Some(DiffProto::Icmp) => vec![Proto::Icmp],
        },
        port: args.port,
    };
    let settled = |net: Network| wirelab_sim::routing_apps::settled_network(&net).unwrap_or(net);
    let (old_net, new_net) = (
        settled(Network::compile(&old.lab)),
        settled(Network::compile(&new.lab)),
    );
    let diff = LabDiff::compute(&old_net, &new_net);
    let pairs: Vec<PairDiff> = diff.pairs.iter().filter_map(|p| filter.pair(p)).collect();
    let groups = group_pairs(&pairs);
    let added: Vec<HostSummary> = diff
        .hosts_added
        .iter()
        .filter_map(|h| filter.host(h))
        .collect();
    let removed: Vec<HostSummary> = diff
        .hosts_removed
        .iter()
        .filter_map(|h| filter.host(h))
        .collect();
    let differs = !groups.is_empty()
        || added
            .iter()
            .chain(&removed)
            .any(|h| !h.reaches.is_empty() || !h.reached_by.is_empty());
    let dual = [&old.lab, &new.lab]
        .iter()
        .any(|l| l.hosts.iter().any(|h| h.ipv6.is_some()));
    let view = View {
        diff: &diff,
        old: &args.old,
        new: &args.new,
        groups: &groups,
        added: &added,
        removed: &removed,
        dual,
        differs,
    };
    // The diff is built on the analysis, which does not model NAT: say so.
    let note = crate::reach::nat_note(&old.lab).or_else(|| crate::reach::nat_note(&new.lab));
    match args.format {
        DiffFormat::Text => {
            let mut text = view.text();
            if let Some(n) = &note {
                text.push_str(&format!("note: {n}\n"));
            }
            crate::emit(&text)
        }
        DiffFormat::Json => {
            let mut doc = view.json();
            if let Some(n) = note {
                doc["notes"] = json!([n]);
            }
            crate::emit(&format!(
                "{}\n",
                serde_json::to_string_pretty(&doc).unwrap_or_default()
            ))
        }
    }
    u8::from(differs)
}

struct View<'a> {
    diff: &'a LabDiff,
    old: &'a Path,
    new: &'a Path,
    groups: &'a [FlowGroup],
    added: &'a [HostSummary],
    removed: &'a [HostSummary],
    /// Some host has an IPv6 address: flows say their family.
    dual: bool,
    differs: bool,
}

/// Source blocks, the first few then how many more.
fn sources_text(sources: &[ipnet::IpNet]) -> String {
    const SHOWN: usize = 8;
    let mut s = sources
        .iter()
        .take(SHOWN)
        .map(|n| n.to_string())
        .collect::<Vec<_>>()
        .join(", ");
    if sources.len() > SHOWN {
        s.push_str(&format!(
            " and {} more blocks (--format json lists them all)",
            sources.len() - SHOWN
        ));
    }
    s
}

fn families(f: &[Family]) -> String {
    f.iter().map(|f| f.code()).collect::<Vec<_>>().join(", ")
}

fn reaches_text(r: &Reaches) -> String {
    r.iter()
        .map(|(host, protos)| {
            let p: Vec<String> = protos.iter().map(|(p, s)| flow_text(*p, s)).collect();
            format!("{host} ({})", p.join("; "))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn ranges_json(set: &PortSet) -> Value {
    Value::Array(
        set.ranges()
            .iter()
            .map(|&(a, b)| json!({ "first": a, "last": b }))
            .collect(),
    )
}

fn reaches_json(r: &Reaches) -> Value {
    Value::Array(
        r.iter()
            .map(|(host, protos)| {
                let ps: Vec<Value> = protos
                    .iter()
                    .map(|(p, s)| {
                        let mut v = json!({ "proto": p.code(), "text": flow_text(*p, s) });
                        if *p == Proto::Icmp {
                            v["echo"] = json!(true);
                        } else {
                            v["ports"] = ranges_json(s);
                        }
                        v
                    })
                    .collect();
                json!({ "host": host, "protocols": ps })
            })
            .collect(),
    )
}

impl View<'_> {
    /// `newly allowed tcp 5432` (with `(ipv4)` when the labs have IPv6).
    fn change_title(&self, c: &FlowChange) -> String {
        let mut s = format!("newly {} {}", c.change.code(), flow_text(c.proto, &c.ports));
        if self.dual {
            s.push_str(&format!(" ({})", families(&c.families)));
        }
        s
    }

    fn text(&self) -> String {
        let d = self.diff;
        let mut out = format!("OLD: {}\nNEW: {}\n", self.old.display(), self.new.display());
        if !self.differs {
            out.push_str("\nno reachability difference\n");
        }
        for g in self.groups {
            out.push_str(&format!("\n{} → {}\n", g.from.join(", "), g.to.join(", ")));
            for c in &g.changes {
                out.push_str(&format!("  {}\n", self.change_title(c)));
                if c.sources_all {
                    out.push_str("    from: every address outside the lab's networks\n");
                } else if !c.sources.is_empty() {
                    out.push_str(&format!("    from: {}\n", sources_text(&c.sources)));
                }
                let side = c.change.blocking_side();
                let label = match side {
                    wirelab_analyze::diff::Side::Old => "was blocked by",
                    wirelab_analyze::diff::Side::New => "blocked by",
                };
                for b in &c.blocks {
                    out.push_str(&format!("    {label}: {}\n", block_text(c.proto, side, b)));
                }
                for &i in &c.causes {
                    out.push_str(&format!("    ← {}\n", d.changes[i]));
                }
                if c.causes.is_empty() {
                    out.push_str("    ← no configuration change names it: see the blocks above\n");
                }
            }
        }
        for (title, hosts) in [("hosts added", self.added), ("hosts removed", self.removed)] {
            if hosts.is_empty() {
                continue;
            }
            out.push_str(&format!("\n{title}:\n"));
            for h in hosts {
                out.push_str(&format!("  {} ({}:{})\n", h.name, h.side.code(), h.line));
                let none = |r: &Reaches| {
                    if r.is_empty() {
                        "nothing".to_string()
                    } else {
                        reaches_text(r)
                    }
                };
                out.push_str(&format!("    reaches: {}\n", none(&h.reaches)));
                out.push_str(&format!("    reached by: {}\n", none(&h.reached_by)));
                for &i in h.related.iter().filter(|&&i| {
                    !matches!(
                        d.changes[i].subject,
                        wirelab_analyze::diff::Subject::HostAdded { .. }
                            | wirelab_analyze::diff::Subject::HostRemoved { .. }
                    )
                }) {
                    out.push_str(&format!("    with: {}\n", d.changes[i]));
                }
            }
        }
        if !d.no_effect.is_empty() {
            out.push_str("\nno effect on reachability:\n");
            for &i in &d.no_effect {
                out.push_str(&format!("  {}\n", d.changes[i]));
            }
        }
        let flows: usize = self.groups.iter().map(|g| g.changes.len()).sum();
        out.push_str(&format!(
            "\n{} configuration change{}, {} without effect; {flows} flow change{} in {} group{}\n",
            d.changes.len(),
            if d.changes.len() == 1 { "" } else { "s" },
            d.no_effect.len(),
            if flows == 1 { "" } else { "s" },
            self.groups.len(),
            if self.groups.len() == 1 { "" } else { "s" },
        ));
        out
    }

    fn json(&self) -> Value {
        let d = self.diff;
        let changes: Vec<Value> = d
            .changes
            .iter()
            .enumerate()
            .map(|(i, c)| {
                json!({
                    "id": i,
                    "text": c.text,
                    "old_line": c.old_line,
                    "new_line": c.new_line,
                    "effect": !d.no_effect.contains(&i),
                })
            })
            .collect();
        let flows: Vec<Value> = self
            .groups
            .iter()
            .map(|g| {
                let cs: Vec<Value> = g
                    .changes
                    .iter()
                    .map(|c| {
                        let side = c.change.blocking_side();
                        let blocks: Vec<Value> = c
                            .blocks
                            .iter()
                            .map(|b| {
                                json!({
                                    "side": side.code(),
                                    "reason": b.code(),
                                    "text": block_text(c.proto, side, b),
                                })
                            })
                            .collect();
                        let mut v = json!({
                            "change": c.change.code(),
                            "proto": c.proto.code(),
                            "families": c.families.iter().map(|f| f.code()).collect::<Vec<_>>(),
                            "text": self.change_title(c),
                            "blocked_by": blocks,
                            "causes": c.causes,
                        });
                        if !c.sources.is_empty() {
                            v["sources_all_outside"] = json!(c.sources_all);
                            v["sources"] =
                                json!(c.sources.iter().map(|n| n.to_string()).collect::<Vec<_>>());
                        }
                        if c.proto == Proto::Icmp {
                            v["echo"] = json!(true);
                        } else {
                            v["ports"] = ranges_json(&c.ports);
                        }
                        v
                    })
                    .collect();
                json!({ "from": g.from, "to": g.to, "changes": cs })
            })
            .collect();
        let hosts = |hs: &[HostSummary]| -> Vec<Value> {
            hs.iter()
                .map(|h| {
                    json!({
                        "name": h.name,
                        "line": h.line,
                        "reaches": reaches_json(&h.reaches),
                        "reached_by": reaches_json(&h.reached_by),
                        "changes": h.related,
                    })
                })
                .collect()
        };
        json!({
            "old": self.old.display().to_string(),
            "new": self.new.display().to_string(),
            "differs": self.differs,
            "changes": changes,
            "flows": flows,
            "hosts_added": hosts(self.added),
            "hosts_removed": hosts(self.removed),
            "no_effect": d.no_effect,
        })
    }
}
