//! Reports of a lab run over time (`wirelab run`), and the checks that
//! grade a workload's result (`expect: { complete_within: 2s }`,
//! `{ goodput_at_least: 80Mbps }`).

use std::fmt::Write as _;

use serde_json::json;
use wirelab_net::Network;
use wirelab_sim::routing_apps::Convergence;
use wirelab_sim::scenario::{FlowReport, RunReport};
use wirelab_sim::time::human_duration;
use wirelab_spec::{Check, ConvergenceCheck, FlowCheck};

use crate::CheckResult;

/// `12.5 Mbit/s`.
pub fn human_rate(bps: f64) -> String {
    let (v, unit) = if bps >= 1e9 {
        (bps / 1e9, "Gbit/s")
    } else if bps >= 1e6 {
        (bps / 1e6, "Mbit/s")
    } else if bps >= 1e3 {
        (bps / 1e3, "kbit/s")
    } else {
        (bps, "bit/s")
    };
    format!("{v:.2} {unit}")
}

fn opt_duration(ns: Option<u64>) -> String {
    ns.map_or_else(|| "-".to_string(), human_duration)
}

/// The run as text: one block per workload, then one line per link.
pub fn text(net: &Network, r: &RunReport) -> String {
    let mut out = String::new();
    let ended = match r.end.code() {
        "quiet" => "nothing left to do".to_string(),
        "until" => format!("stopped at --until {}", human_duration(r.time_ns)),
        _ => "stopped at the event limit (--max-events)".to_string(),
    };
    let _ = writeln!(
        out,
        "lab {} — ran {} of simulated time, {} events ({ended})",
        net.lab.lab.value,
        human_duration(r.time_ns),
        r.events
    );
    if r.flows.is_empty() {
        let _ = writeln!(out, "\nno workloads (add a `traffic:` list to the lab)");
    } else {
        let _ = writeln!(out, "\nworkloads");
    }
    for f in &r.flows {
        let _ = writeln!(out, "  {} ({}) {} → {}", f.name, f.kind, f.from, f.to);
        let done = match f.completion_ns() {
            Some(c) => format!("completed in {}", human_duration(c)),
            None => "not completed".to_string(),
        };
        let _ = writeln!(
            out,
            "    {done}; {} bytes delivered, goodput {}; sent {}, received {}",
            f.bytes_delivered,
            human_rate(f.goodput_bps(r.time_ns)),
            f.sent,
            f.received
        );
        let mut extra = format!(
            "    rtt min {} avg {}",
            opt_duration(f.rtt_ns_min),
            opt_duration(f.rtt_ns_avg)
        );
        if f.kind == "bulk" || f.kind == "requests" {
            let cwnd = f.cwnd_final.map_or("-".to_string(), |c| format!("{c} B"));
            extra.push_str(&format!(
                "; retransmissions {}; final cwnd {cwnd}",
                f.retransmissions
            ));
        }
        let _ = writeln!(out, "{extra}");
        if let Some(e) = &f.error {
            let _ = writeln!(out, "    {e}");
        }
    }
    if !r.convergences.is_empty() {
        let _ = writeln!(out, "\nrouting");
        for c in &r.convergences {
            let _ = writeln!(out, "  {}", convergence_text(net, c));
        }
    }
    if !r.links.is_empty() {
        let _ = writeln!(out, "\nlinks (per sending interface)");
    }
    let net_w = r.links.iter().map(|l| l.network.len()).max().unwrap_or(0);
    let node_w = r.links.iter().map(|l| l.node.len()).max().unwrap_or(0);
    for l in &r.links {
        let _ = writeln!(
            out,
            "  {:<net_w$}  {:<node_w$}  {:>5.1}% busy  {:>8} frames  {:>12} bytes  drops: queue {} loss {} down {} too-big {}",
            l.network,
            l.node,
            l.utilisation * 100.0,
            l.frames,
            l.bytes,
            l.drops_queue,
            l.drops_lost,
            l.drops_down,
            l.drops_too_big
        );
    }
    out
}

fn flow_json(f: &FlowReport, run_ns: u64) -> serde_json::Value {
    json!({
        "name": f.name,
        "kind": f.kind,
        "from": f.from,
        "to": f.to.to_string(),
        "start_ns": f.start_ns,
        "done_ns": f.done_ns,
        "completion_ns": f.completion_ns(),
        "bytes_delivered": f.bytes_delivered,
        "goodput_bps": f.goodput_bps(run_ns).round() as u64,
        "sent": f.sent,
        "received": f.received,
        "retransmissions": f.retransmissions,
        "rtt_ns_min": f.rtt_ns_min,
        "rtt_ns_avg": f.rtt_ns_avg,
        "cwnd_final": f.cwnd_final,
        "error": f.error,
    })
}

/// The run as JSON (stable key order, integers where exact).
pub fn json(net: &Network, r: &RunReport) -> String {
    let doc = json!({
        "lab": net.lab.lab.value,
        "seed": net.lab.seed,
        "end": r.end.code(),
        "time_ns": r.time_ns,
        "events": r.events,
        "flows": r.flows.iter().map(|f| flow_json(f, r.time_ns)).collect::<Vec<_>>(),
        "links": r.links.iter().map(|l| json!({
            "network": l.network,
            "node": l.node,
            "frames": l.frames,
            "bytes": l.bytes,
            "utilisation_ppm": (l.utilisation * 1e6).round() as u64,
            "drops_queue": l.drops_queue,
            "drops_lost": l.drops_lost,
            "drops_down": l.drops_down,
            "drops_too_big": l.drops_too_big,
        })).collect::<Vec<_>>(),
        "convergences": r.convergences.iter().map(|c| json!({
            "after": topology_text(net, c.event),
            "event": c.event,
            "at_ns": c.at_ns,
            "converged_ns": c.converged_ns,
            "table_changes": c.table_changes,
            "routers": c.routers.iter().map(|&n| net.nodes[n].name.clone()).collect::<Vec<_>>(),
            "messages": c.messages,
            "settled": c.settled,
        })).collect::<Vec<_>>(),
    });
    let mut s = serde_json::to_string_pretty(&doc).expect("a run report always serializes");
    s.push('\n');
    s
}

/// Grades a check on a workload from the run's report.
pub fn grade_flow(check: &Check, flow: &FlowCheck, r: &RunReport) -> CheckResult {
    let f = &r.flows[flow.traffic];
    let mut failures = Vec::new();
    let mut facts = Vec::new();
    match f.completion_ns() {
        Some(c) => facts.push(format!("completed in {}", human_duration(c))),
        None => facts.push(format!(
            "did not complete ({})",
            f.error.as_deref().unwrap_or("still running at the end")
        )),
    }
    if let Some(limit) = flow.complete_within_ns {
        match f.completion_ns() {
            Some(c) if c <= limit => {}
            Some(c) => failures.push(format!(
                "expected completion within {}, took {}",
                human_duration(limit),
                human_duration(c)
            )),
            None => failures.push(format!(
                "expected completion within {}, it did not complete",
                human_duration(limit)
            )),
        }
    }
    let goodput = f.goodput_bps(r.time_ns);
    facts.push(format!("goodput {}", human_rate(goodput)));
    if let Some(min) = flow.goodput_at_least_bps {
        if goodput < min as f64 {
            failures.push(format!(
                "expected goodput at least {}, got {}",
                human_rate(min as f64),
                human_rate(goodput)
            ));
        }
    }
    let (status, failure, earned) = crate::verdict(check, &failures);
    CheckResult {
        name: check.name.value.clone(),
        status,
        expect: check.expect.code(),
        observed: if f.completion_ns().is_some() {
            "allow"
        } else {
            "deny"
        },
        reason: if f.completion_ns().is_some() {
            "delivered"
        } else {
            "timeout"
        },
        at: None,
        explanation: format!(
            "workload `{}` ({} from {} to {}): {}",
            f.name,
            f.kind,
            f.from,
            f.to,
            facts.join(", ")
        ),
        failure,
        hint: check.hint.clone(),
        points: check.points,
        earned,
        path: Vec::new(),
        decided_ns: f.done_ns.unwrap_or(r.time_ns),
    }
}

/// `link_down r1-r3 at 30s`, or `the start`.
pub fn topology_text(net: &Network, event: Option<usize>) -> String {
    use wirelab_spec::EventAction as A;
    let Some(i) = event else {
        return "the start".to_string();
    };
    let lab = &net.lab;
    let e = &lab.events[i];
    let what = match &e.action {
        A::LinkDown(n) => format!("link_down {}", lab.networks[*n].name.value),
        A::LinkUp(n) => format!("link_up {}", lab.networks[*n].name.value),
        A::RouterDown(r) => format!("router_down {}", lab.routers[*r].name.value),
        A::RouterUp(r) => format!("router_up {}", lab.routers[*r].name.value),
        _ => "a change".to_string(),
    };
    format!(
        "{what} at {} (line {})",
        human_duration(e.at_ns),
        e.span.line
    )
}

/// One line about a convergence: `after link_down r1-r3 at 30s (line 40):
/// converged in 52ms, 6 table changes on r1, r2, r3, 14 messages`.
pub fn convergence_text(net: &Network, c: &Convergence) -> String {
    let after = topology_text(net, c.event);
    let Some(t) = c.converged_ns else {
        return format!("after {after}: no routing table changed");
    };
    let routers: Vec<&str> = c
        .routers
        .iter()
        .map(|&n| net.nodes[n].name.as_str())
        .collect();
    let mut s = format!(
        "after {after}: converged in {}, {} table change{} on {}, {} routing message{}",
        human_duration(t),
        c.table_changes,
        if c.table_changes == 1 { "" } else { "s" },
        routers.join(", "),
        c.messages,
        if c.messages == 1 { "" } else { "s" },
    );
    if !c.settled {
        s.push_str(
            " (not settled: tables were still changing when the next change or the end came)",
        );
    }
    s
}

/// Grades a convergence check on the run: every convergence (or the one
/// after the first topology event at or after `after_ns`) within the time.
pub fn grade_convergence(
    net: &Network,
    check: &Check,
    conv: &ConvergenceCheck,
    r: &RunReport,
) -> CheckResult {
    let graded: Vec<&Convergence> = match conv.after_ns {
        None => r.convergences.iter().collect(),
        Some(after) => r
            .convergences
            .iter()
            .filter(|c| c.event.is_some() && c.at_ns >= after)
            .take(1)
            .collect(),
    };
    let mut failures = Vec::new();
    if graded.is_empty() {
        failures.push(match conv.after_ns {
            Some(a) => format!(
                "no link or router went down or up at or after {} in the run",
                human_duration(a)
            ),
            None => "no router runs a routing protocol (`ospf:` or `rip:`)".to_string(),
        });
    }
    for c in &graded {
        let after = topology_text(net, c.event);
        match c.converged_ns {
            Some(t) if t > conv.within_ns => failures.push(format!(
                "expected convergence within {} after {after}, took {}",
                human_duration(conv.within_ns),
                human_duration(t)
            )),
            _ if !c.settled => failures.push(format!(
                "after {after}, routing had not settled when the next change or the end of the run came"
            )),
            _ => {}
        }
    }
    let facts: Vec<String> = graded.iter().map(|c| convergence_text(net, c)).collect();
    let (status, failure, earned) = crate::verdict(check, &failures);
    CheckResult {
        name: check.name.value.clone(),
        status,
        expect: check.expect.code(),
        observed: if failures.is_empty() { "allow" } else { "deny" },
        reason: if failures.is_empty() {
            "delivered"
        } else {
            "timeout"
        },
        at: None,
        explanation: facts.join("; "),
        failure,
        hint: check.hint.clone(),
        points: check.points,
        earned,
        path: Vec::new(),
        decided_ns: graded
            .last()
            .map_or(r.time_ns, |c| c.at_ns + c.converged_ns.unwrap_or(0)),
    }
}
