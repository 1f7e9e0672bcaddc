//! `ospf:` and `rip:` on routers (extensions of the format): which
//! interfaces run a dynamic routing protocol, with its costs and timers.
//!
//! Read after `links:` have given routers their interfaces, so that a
//! protocol may name a link network. Both protocols route IPv4 only
//! (OSPFv2 and RIPv2): an interface without an IPv4 address cannot run
//! them.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use super::traffic::read_time;
use crate::model::{Network, Ospf, Rip, Router, RoutingIfaces, Sp, Span, SplitHorizon};
use crate::quantity;
use crate::read::{self, Diags, Fields};
use crate::yaml::{Node, Value};

pub(crate) const OSPF_KEYS: [&str; 8] = [
    "interfaces",
    "passive",
    "cost",
    "reference_bandwidth",
    "hello",
    "dead",
    "router_id",
    "distance",
];
pub(crate) const RIP_KEYS: [&str; 7] = [
    "interfaces",
    "passive",
    "split_horizon",
    "update",
    "timeout",
    "garbage",
    "distance",
];
pub(crate) const SPLIT_HORIZON: [&str; 3] = ["poisoned-reverse", "simple", "off"];

/// OSPF's defaults (RFC 2328 appendix C) and Cisco's reference bandwidth.
pub const OSPF_HELLO_DEFAULT_NS: u64 = 10_000_000_000;
pub const OSPF_REFERENCE_BANDWIDTH_DEFAULT: u64 = 100_000_000;
pub const OSPF_DISTANCE_DEFAULT: u8 = 110;
/// RIP's defaults (RFC 2453 §3.8).
pub const RIP_UPDATE_DEFAULT_NS: u64 = 30_000_000_000;
pub const RIP_DISTANCE_DEFAULT: u8 = 120;
/// The largest OSPF interface cost (a 16-bit metric in a router LSA).
const COST_MAX: i128 = 65_535;

/// Reads `ospf:` and `rip:` of every router into `routers[i]`.
pub(crate) fn read_routing(
    entries: Option<&[(Sp<String>, Node)]>,
    routers: &mut [Router],
    networks: &[Network],
    d: &mut Diags,
) {
    let mut ids: BTreeMap<Ipv4Addr, (String, Span)> = BTreeMap::new();
    for (index, (_, node)) in entries.unwrap_or(&[]).iter().enumerate() {
        let Value::Map(keys) = &node.value else {
            continue;
        };
        let Some(router) = routers.get(index) else {
            continue;
        };
        let mut ospf = None;
        let mut rip = None;
        for (key, value) in keys {
            match key.value.as_str() {
                "ospf" => ospf = read_ospf(value, key.span, router, networks, d),
                "rip" => rip = read_rip(value, key.span, router, networks, d),
                _ => {}
            }
        }
        if let Some(o) = &ospf {
            let name = router.name.value.clone();
            if let Some((other, _)) = ids.get(&o.router_id) {
                d.error_help(
                    o.on.span,
                    format!(
                        "OSPF router ID {} of `{name}` is already the ID of `{other}`",
                        o.router_id
                    ),
                    Some("router IDs must be unique: write `router_id:` on one of them".into()),
                );
            } else {
                ids.insert(o.router_id, (name, o.on.span));
            }
        }
        let router = &mut routers[index];
        router.ospf = ospf;
        router.rip = rip;
    }
}

/// The fields of `ospf:` or `rip:`; nothing written (`ospf:`) means every
/// default.
fn fields_of<'a>(
    node: &'a Node,
    keys: &[&str],
    what: &str,
    at: Span,
    d: &mut Diags,
) -> Option<Option<Fields<'a>>> {
    match &node.value {
        Value::Null => Some(None),
        _ => read::fields(node, keys, what, at, d).map(Some),
    }
}

fn read_ospf(
    node: &Node,
    at: Span,
    router: &Router,
    networks: &[Network],
    d: &mut Diags,
) -> Option<Ospf> {
    let what = format!("the `ospf` of `{}`", router.name.value);
    let fields = fields_of(node, &OSPF_KEYS, &what, at, d)?;
    let get = |k: &str| fields.as_ref().and_then(|f| f.get(k));
    let on = read_ifaces(
        get("interfaces"),
        get("passive"),
        "OSPF",
        at,
        router,
        networks,
        d,
    );
    let distance = read_distance(get("distance"), OSPF_DISTANCE_DEFAULT, d);
    let reference = match get("reference_bandwidth") {
        Some(n) => read::scalar_text(n, "`reference_bandwidth`", d).and_then(|text| {
            match quantity::parse_bandwidth(&text) {
                Ok(v) if v > 0 => Some(v),
                Ok(_) => {
                    d.error(n.span, "`reference_bandwidth` must be more than 0");
                    None
                }
                Err(e) => {
                    d.error(n.span, e);
                    None
                }
            }
        }),
        None => Some(OSPF_REFERENCE_BANDWIDTH_DEFAULT),
    };
    let hello = read_interval(get("hello"), "`hello`", OSPF_HELLO_DEFAULT_NS, d);
    let dead = match (get("dead"), hello) {
        (Some(n), Some(hello)) => read_time(n, "`dead`", d).and_then(|dead| {
            if dead <= hello {
                d.error(
                    n.span,
                    "`dead` must be longer than `hello` (a neighbour is lost after `dead` without a hello)",
                );
                return None;
            }
            Some(dead)
        }),
        (None, Some(hello)) => Some(hello.saturating_mul(4)),
        _ => None,
    };
    let mut id_ok = true;
    let router_id = match get("router_id") {
        Some(n) => read::string(n, "`router_id`", d).and_then(|text| {
            match text.trim().parse::<Ipv4Addr>() {
                Ok(a) if !a.is_unspecified() => Some(a),
                _ => {
                    d.error(
                        n.span,
                        format!("`router_id` must be a dotted quad like 1.1.1.1, not `{text}`"),
                    );
                    None
                }
            }
        }),
        // As Cisco and FRR do without loopbacks: the highest IPv4 address.
        None => router.interfaces.iter().filter_map(|i| i.ipv4).max(),
    };
    if get("router_id").is_some() && router_id.is_none() {
        id_ok = false;
    }
    let mut costs_written: BTreeMap<usize, u32> = BTreeMap::new();
    if let Some(n) = get("cost") {
        if let Some(entries) = read::map(n, "`cost`", d) {
            for (name, value) in entries {
                let Some(pos) = position_of(&name.value, name.span, "`cost`", router, networks, d)
                else {
                    continue;
                };
                if on.as_ref().is_some_and(|on| !on.interfaces.contains(&pos)) {
                    d.error(
                        name.span,
                        format!(
                            "`{}` has a cost but OSPF does not run there (it is not in `interfaces`)",
                            name.value
                        ),
                    );
                    continue;
                }
                if let Some(c) = read::int_in(value, "an OSPF cost", 1, COST_MAX, d) {
                    costs_written.insert(pos, c as u32);
                }
            }
        }
    }
    let (on, distance, hello, dead, reference) = (on?, distance?, hello?, dead?, reference?);
    let Some(router_id) = router_id else {
        if id_ok {
            d.error(
                at,
                "OSPF needs a router ID: this router has no IPv4 address; write `router_id:`",
            );
        }
        return None;
    };
    let costs = on
        .interfaces
        .iter()
        .map(|&pos| {
            costs_written.get(&pos).copied().unwrap_or_else(|| {
                let bw = networks[router.interfaces[pos].network]
                    .link
                    .bandwidth_bps
                    .max(1);
                (reference / bw).clamp(1, COST_MAX as u64) as u32
            })
        })
        .collect();
    Some(Ospf {
        on: RoutingIfaces { distance, ..on },
        costs,
        hello_ns: hello,
        dead_ns: dead,
        router_id,
    })
}

fn read_rip(
    node: &Node,
    at: Span,
    router: &Router,
    networks: &[Network],
    d: &mut Diags,
) -> Option<Rip> {
    let what = format!("the `rip` of `{}`", router.name.value);
    let fields = fields_of(node, &RIP_KEYS, &what, at, d)?;
    let get = |k: &str| fields.as_ref().and_then(|f| f.get(k));
    let on = read_ifaces(
        get("interfaces"),
        get("passive"),
        "RIP",
        at,
        router,
        networks,
        d,
    );
    let distance = read_distance(get("distance"), RIP_DISTANCE_DEFAULT, d);
    let split_horizon = match get("split_horizon") {
        Some(n) => {
            let text = read::string(n, "`split_horizon`", d)?;
            match text {
                "poisoned-reverse" => Some(SplitHorizon::PoisonedReverse),
                "simple" => Some(SplitHorizon::Simple),
                "off" => Some(SplitHorizon::Off),
                other => {
                    d.error_help(
                        n.span,
                        format!("unknown `split_horizon` `{other}`"),
                        read::did_you_mean(other, SPLIT_HORIZON)
                            .or_else(|| Some(format!("one of: {}", SPLIT_HORIZON.join(", ")))),
                    );
                    None
                }
            }
        }
        None => Some(SplitHorizon::PoisonedReverse),
    };
    let update = read_interval(get("update"), "`update`", RIP_UPDATE_DEFAULT_NS, d);
    let timeout = update.and_then(|u| {
        let t = read_interval(get("timeout"), "`timeout`", u.saturating_mul(6), d)?;
        if t <= u {
            d.error(
                get("timeout").map_or(at, |n| n.span),
                "`timeout` must be longer than `update` (a route times out when updates stop)",
            );
            return None;
        }
        Some(t)
    });
    let garbage =
        update.and_then(|u| read_interval(get("garbage"), "`garbage`", u.saturating_mul(4), d));
    Some(Rip {
        on: RoutingIfaces {
            distance: distance?,
            ..on?
        },
        split_horizon: split_horizon?,
        update_ns: update?,
        timeout_ns: timeout?,
        garbage_ns: garbage?,
    })
}

/// A timer: more than 0, at most an hour; `default` when absent.
fn read_interval(node: Option<&Node>, what: &str, default: u64, d: &mut Diags) -> Option<u64> {
    let Some(n) = node else {
        return Some(default);
    };
    let ns = read_time(n, what, d)?;
    if ns == 0 || ns > 3_600_000_000_000 {
        d.error(n.span, format!("{what} must be more than 0 and at most 1h"));
        return None;
    }
    Some(ns)
}

fn read_distance(node: Option<&Node>, default: u8, d: &mut Diags) -> Option<u8> {
    match node {
        Some(n) => read::int_in(n, "`distance`", 1, 255, d).map(|v| v as u8),
        None => Some(default),
    }
}

/// The position of the router's interface on the network `name`.
fn position_of(
    name: &str,
    span: Span,
    what: &str,
    router: &Router,
    networks: &[Network],
    d: &mut Diags,
) -> Option<usize> {
    let attached = || {
        router
            .interfaces
            .iter()
            .map(|i| networks[i.network].name.value.as_str())
    };
    match attached().position(|n| n == name) {
        Some(p) => Some(p),
        None => {
            let help = read::did_you_mean(name, attached()).or_else(|| {
                Some(format!(
                    "`{}` is attached to: {}",
                    router.name.value,
                    attached().collect::<Vec<_>>().join(", ")
                ))
            });
            d.error_help(
                span,
                format!(
                    "`{}` is not attached to `{name}` (in {what})",
                    router.name.value
                ),
                help,
            );
            None
        }
    }
}

/// A list of network names the router is attached to.
fn read_names(
    node: &Node,
    what: &str,
    router: &Router,
    networks: &[Network],
    d: &mut Diags,
) -> Option<Vec<(usize, Span)>> {
    let items = read::seq(node, what, d)?;
    let mut out: Vec<(usize, Span)> = Vec::new();
    for item in items {
        let Some(name) = read::string(item, &format!("a network name in {what}"), d) else {
            continue;
        };
        match position_of(name, item.span, what, router, networks, d) {
            Some(p) if out.iter().any(|(q, _)| *q == p) => {
                d.error(item.span, format!("`{name}` is listed twice in {what}"));
            }
            Some(p) => out.push((p, item.span)),
            None => {}
        }
    }
    Some(out)
}

/// `interfaces:` (default: every interface with an IPv4 address) and
/// `passive:` (a subset).
fn read_ifaces(
    interfaces: Option<&Node>,
    passive: Option<&Node>,
    proto: &str,
    at: Span,
    router: &Router,
    networks: &[Network],
    d: &mut Diags,
) -> Option<RoutingIfaces> {
    let errors_before = d.error_count();
    let listed = match interfaces {
        Some(n) => {
            let names = read_names(n, "`interfaces`", router, networks, d)?;
            for &(pos, span) in &names {
                if router.interfaces[pos].ipv4.is_none() {
                    let net = &networks[router.interfaces[pos].network].name.value;
                    d.error(
                        span,
                        format!(
                            "{proto} cannot run on `{net}`: `{}` has no IPv4 address there ({proto} routes IPv4 only)",
                            router.name.value
                        ),
                    );
                }
            }
            names.into_iter().map(|(p, _)| p).collect()
        }
        None => (0..router.interfaces.len())
            .filter(|&p| router.interfaces[p].ipv4.is_some())
            .collect::<Vec<_>>(),
    };
    if let Some(n) = passive {
        read_names(n, "`passive`", router, networks, d);
    }
    if d.error_count() != errors_before {
        return None;
    }
    if listed.is_empty() {
        d.error(
            at,
            format!(
                "{proto} on `{}` has no interface to run on (it needs an interface with an IPv4 address)",
                router.name.value
            ),
        );
        return None;
    }
    let mut passive_list = Vec::new();
    if let Some(n) = passive {
        for (pos, span) in read_names(n, "`passive`", router, networks, d)? {
            if !listed.contains(&pos) {
                let net = &networks[router.interfaces[pos].network].name.value;
                d.error(
                    span,
                    format!("`{net}` is passive but {proto} does not run there (add it to `interfaces`)"),
                );
                return None;
            }
            passive_list.push(pos);
        }
    }
    let mut interfaces = listed;
    interfaces.sort_unstable();
    passive_list.sort_unstable();
    Some(RoutingIfaces {
        interfaces,
        passive: passive_list,
        distance: 0,
        span: at,
    })
}
