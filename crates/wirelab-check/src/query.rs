//! One exchange asked for by name, as `wirelab trace` and the server's
//! `POST /labs/{id}/trace` take it: the host that sends, a host name or an
//! address to send to, the protocol and port. [`resolve`] checks the
//! request against the lab (with messages for a person) and [`json`] is
//! the explained exchange both print as JSON.

use std::net::IpAddr;

use wirelab_net::Network;
use wirelab_sim::TraceEvent;
use wirelab_spec::{CheckProto, CheckTarget, Family, HostId, Lab};

use crate::exchange::{Exchange, Plan};

/// An exchange as asked for: names and numbers not yet checked.
#[derive(Clone, Copy, Debug)]
pub struct TraceQuery<'a> {
    pub from: &'a str,
    /// A host name or an address.
    pub to: &'a str,
    pub proto: CheckProto,
    pub port: Option<u16>,
    /// `None`: the family of the address, or the destination host's IPv4
    /// when it has one.
    pub family: Option<Family>,
}

/// A request checked against the lab.
#[derive(Clone, Debug)]
pub struct Resolved {
    pub from: HostId,
    pub target: CheckTarget,
    pub family: Family,
}

/// Checks `query` against `lab`: the sender is a host, the destination a
/// host or an address of the family, TCP and UDP have a port.
pub fn resolve(lab: &Lab, query: &TraceQuery<'_>) -> Result<Resolved, String> {
    let TraceQuery {
        from, to, proto, ..
    } = *query;
    let Some(from_id) = lab.host_by_name(from) else {
        return Err(format!(
            "`{from}` is not a host of lab {}{}",
            lab.lab.value,
            suggest_host(lab, from)
        ));
    };
    let target = match to.parse::<IpAddr>() {
        Ok(addr) => CheckTarget::Address(addr),
        Err(_) => match lab.host_by_name(to) {
            Some(h) => CheckTarget::Host(h),
            None => {
                return Err(format!(
                    "`{to}` is neither an address nor a host of lab {}{}",
                    lab.lab.value,
                    suggest_host(lab, to)
                ))
            }
        },
    };
    if proto != CheckProto::Icmp && query.port.is_none() {
        return Err(format!("--proto {} needs --port", proto.code()));
    }
    let family = match (query.family, &target) {
        (Some(f), _) => f,
        (None, CheckTarget::Address(a)) if a.is_ipv6() => Family::Ipv6,
        (None, CheckTarget::Address(_)) => Family::Ipv4,
        (None, CheckTarget::Host(h)) if lab.hosts[*h].ipv4.is_some() => Family::Ipv4,
        (None, CheckTarget::Host(_)) => Family::Ipv6,
        // A trace takes hosts and addresses only.
        (None, CheckTarget::Name(_)) => Family::Ipv4,
    };
    if let CheckTarget::Address(a) = target {
        if a.is_ipv6() != (family == Family::Ipv6) {
            return Err(format!("{a} is not an {} address", family.code()));
        }
    }
    Ok(Resolved {
        from: from_id,
        target,
        family,
    })
}

/// ` (did you mean `web`?)` when a host of the lab is close to `name`.
pub fn suggest_host(lab: &Lab, name: &str) -> String {
    let best = lab
        .hosts
        .iter()
        .map(|h| h.name.value.as_str())
        .map(|n| (strsim::levenshtein(n, name), n))
        .min();
    match best {
        Some((d, n)) if d <= 3 => format!(" (did you mean `{n}`?)"),
        _ => String::new(),
    }
}

/// The explained exchange as JSON: who, what, the outcome and its reason,
/// the routers crossed, the explanation and every step.
pub fn json(
    net: &Network,
    query: &TraceQuery<'_>,
    plan: &Plan,
    ex: &Exchange,
    trace: &[TraceEvent],
) -> serde_json::Value {
    let lines = crate::trace::lines(net, ex, trace);
    let frames = crate::diagram::frames(net, trace);
    let isns = crate::diagram::Isns::from_frames(&frames);
    // One entry per frame on a wire, for sequence diagrams (the dashboard
    // draws them): who sent it to whom, and where a packet ended.
    let frames: Vec<serde_json::Value> = frames
        .iter()
        .map(|f| {
            serde_json::json!({
                "number": f.number,
                "time_ns": f.time.0,
                "from": net.nodes[f.from].name,
                "to": f.to.map(|n| net.nodes[n].name.clone()),
                "network": net.segments[f.segment].name,
                "label": crate::diagram::label(&f.packet, &isns),
                "dropped": f.dropped.as_ref().map(|d| d.code()),
            })
        })
        .collect();
    let explanation = crate::explain::explain(net, ex, trace);
    let r = &ex.result;
    let at = r.node.map(|n| net.nodes[n].name.clone());
    serde_json::json!({
        "lab": net.lab.lab.value,
        "from": query.from,
        "to": query.to,
        "src": plan.src.to_string(),
        "dst": plan.dst.to_string(),
        "what": crate::explain::what(plan.kind, plan.dst.is_ipv6()),
        "outcome": r.outcome.code(),
        "reason": r.reason.code(),
        "at": at,
        "path": ex.path.iter().map(|&n| net.nodes[n].name.clone()).collect::<Vec<_>>(),
        "explanation": explanation,
        "steps": lines,
        "frames": frames,
    })
}
