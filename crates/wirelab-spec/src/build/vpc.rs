//! `vpcs:` and `vpc_peerings:` (an extension of the format): AWS-shaped
//! sugar that is **expanded**, before anything else is read, into the plain
//! version-1 form: networks and routers. The rest of the reader never sees
//! a VPC, so a lab written with the sugar means exactly what its expansion
//! (`wirelab expand`) means.
//!
//! The expansion of a VPC `a` (docs/lab-format.md, "VPCs"):
//!
//! - each subnet `s` becomes the network `a/s`, and a router `a/s-rt`
//!   holding the subnet's route table, at the subnet's first address (the
//!   address of AWS's VPC router in every subnet);
//! - the network `a/fabric` (default `169.254.N.0/24`, N the VPC's position
//!   from 1) joins the subnets' routers, the internet gateway, the NAT
//!   gateways and the peerings, as AWS's implicit VPC router does;
//! - the **local route**: every subnet router routes every other subnet of
//!   the VPC to that subnet's router, and the rest of the VPC's CIDR to a
//!   blackhole, so that no route of a table (which may not be more specific
//!   than the VPC's CIDR) can ever take an address of the VPC;
//! - the internet gateway `a/igw` sits between the fabric and a network of
//!   the lab that stands for the internet; it holds the elastic IPs as
//!   one-to-one NAT, and its internet side is a NAT boundary, so that an
//!   instance without an elastic IP neither reaches the internet nor is
//!   reached from it (AWS semantics);
//! - a NAT gateway `a/NAME` masquerades the VPC's addresses (ports
//!   1024-65535) behind its elastic IP, its address on the internet side;
//! - a peering `P` between `a` and `b` is the router `pcx/P` on both
//!   fabrics that knows only the subnets of `a` and `b`: traffic that
//!   neither starts nor ends in the two VPCs finds no route there, which is
//!   AWS's non-transitive peering and its "no edge-to-edge routing";
//! - a route whose target is gone (a deleted NAT gateway, a detached
//!   internet gateway, a peering that is not active) is a blackhole, as AWS
//!   shows it.
//!
//! IPv4 only: VPC CIDRs, subnets and routes are IPv4 prefixes.

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;

use ipnet::{IpNet, Ipv4Net};

use super::addr::{host_bits_set, parse_prefix, usable_v4};
use super::nat::SOURCE_PORTS_DEFAULT;
use super::topology::read_canonical_prefix;
use crate::model::{Sp, Span};
use crate::read::{self, did_you_mean, Diags};
use crate::yaml::{Node, Value};

pub(crate) const VPC_KEYS: [&str; 7] = [
    "cidr",
    "fabric",
    "subnets",
    "route_tables",
    "internet_gateway",
    "nat_gateways",
    "elastic_ips",
];
pub(crate) const SUBNET_KEYS: [&str; 4] = ["cidr", "route_table", "nacl", "link"];
pub(crate) const VPC_ROUTE_KEYS: [&str; 2] = ["to", "target"];
pub(crate) const IGW_KEYS: [&str; 4] = ["network", "ip", "gateway", "state"];
pub(crate) const NAT_GATEWAY_KEYS: [&str; 3] = ["subnet", "elastic_ip", "state"];
pub(crate) const PEERING_KEYS: [&str; 2] = ["between", "state"];
pub(crate) const IGW_STATES: [&str; 2] = ["attached", "detached"];
pub(crate) const NAT_GATEWAY_STATES: [&str; 2] = ["available", "deleted"];
pub(crate) const PEERING_STATES: [&str; 3] = ["active", "pending-acceptance", "deleted"];
/// The target name of a VPC's internet gateway in its route tables.
const IGW_TARGET: &str = "igw";
/// The route table of subnets that name none.
const MAIN_TABLE: &str = "main";
/// The name of the network joining a VPC's routers (`a/fabric`).
const FABRIC: &str = "fabric";
/// Most VPCs, subnets of a VPC, routes of a table, peerings.
const VPCS_MAX: usize = 250;
const SUBNETS_MAX: usize = 200;
/// Most subnets of all VPCs: every subnet router holds a route per subnet
/// of its VPC, so the expansion grows with the square of a VPC's subnets.
const SUBNETS_TOTAL_MAX: usize = 2_000;
const ROUTES_MAX: usize = 1_000;
const PEERINGS_MAX: usize = 1_000;

/// The parts of the plain lab the sugar refers to.
struct Plain<'a> {
    /// Plain networks: name, and the IPv4 prefix when it parses.
    networks: BTreeMap<&'a str, (Span, Option<Ipv4Net>)>,
    routers: BTreeMap<&'a str, Span>,
    /// Hosts and the network each names.
    hosts: BTreeMap<&'a str, (Span, Option<&'a str>)>,
    /// Every IPv4 address written for a router interface or a host.
    written: BTreeSet<Ipv4Addr>,
}

impl<'a> Plain<'a> {
    fn of(top: &'a [(Sp<String>, Node)]) -> Plain<'a> {
        let section = |key: &str| -> &'a [(Sp<String>, Node)] {
            match top
                .iter()
                .find(|(k, _)| k.value == key)
                .map(|(_, v)| &v.value)
            {
                Some(Value::Map(entries)) => entries,
                _ => &[],
            }
        };
        let mut plain = Plain {
            networks: BTreeMap::new(),
            routers: BTreeMap::new(),
            hosts: BTreeMap::new(),
            written: BTreeSet::new(),
        };
        for (name, node) in section("networks") {
            let cidr = entry(node, "cidr").and_then(quiet_v4_prefix);
            plain.networks.insert(&name.value, (name.span, cidr));
        }
        for (name, node) in section("routers") {
            plain.routers.insert(&name.value, name.span);
            let interfaces = entry(node, "interfaces").map(|n| &n.value);
            if let Some(Value::Map(interfaces)) = interfaces {
                for (_, value) in interfaces {
                    let address = entry(value, "ip").unwrap_or(value);
                    plain.written.extend(quiet_v4(address));
                }
            }
        }
        for (name, node) in section("hosts") {
            let network = entry(node, "network").and_then(|n| match &n.value {
                Value::Str(s) => Some(s.trim()),
                _ => None,
            });
            plain.hosts.insert(&name.value, (name.span, network));
            plain.written.extend(entry(node, "ip").and_then(quiet_v4));
        }
        plain
    }
}

/// The value under `key` of a map node.
fn entry<'a>(node: &'a Node, key: &str) -> Option<&'a Node> {
    match &node.value {
        Value::Map(entries) => entries.iter().find(|(k, _)| k.value == key).map(|(_, v)| v),
        _ => None,
    }
}

/// An IPv4 address, or nothing (whoever reads the node reports what is wrong).
fn quiet_v4(node: &Node) -> Option<Ipv4Addr> {
    match &node.value {
        Value::Str(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A canonical IPv4 prefix, or nothing (the network's reader reports it).
fn quiet_v4_prefix(node: &Node) -> Option<Ipv4Net> {
    let Value::Str(text) = &node.value else {
        return None;
    };
    match parse_prefix(text) {
        Ok(IpNet::V4(p)) if host_bits_set(IpNet::V4(p)).is_none() => Some(p),
        _ => None,
    }
}

struct Vpc<'a> {
    name: Sp<String>,
    cidr: Option<Ipv4Net>,
    fabric: Option<Ipv4Net>,
    fabric_span: Span,
    subnets: Vec<Subnet<'a>>,
    tables: Vec<Table>,
    igw: Option<Igw<'a>>,
    nats: Vec<NatGateway>,
    elastic_ips: Vec<(Sp<String>, Sp<Ipv4Addr>)>,
}

struct Subnet<'a> {
    name: Sp<String>,
    cidr_node: Option<&'a Node>,
    cidr: Option<Ipv4Net>,
    table: Option<Sp<String>>,
    nacl: Option<&'a Node>,
    link: Option<&'a Node>,
}

struct Table {
    name: Sp<String>,
    routes: Vec<VpcRoute>,
}

struct VpcRoute {
    to: Ipv4Net,
    target: Sp<String>,
    span: Span,
}

struct Igw<'a> {
    network: Sp<String>,
    ip: Option<Sp<Ipv4Addr>>,
    gateway: Option<&'a Node>,
    attached: bool,
    span: Span,
}

struct NatGateway {
    name: Sp<String>,
    subnet: Option<Sp<String>>,
    elastic_ip: Option<Sp<Ipv4Addr>>,
    available: bool,
}

struct Peering {
    name: Sp<String>,
    /// The two VPCs, as indexes, when both are known and distinct.
    between: Option<[usize; 2]>,
    active: bool,
}

/// Where a route of a table leads.
#[derive(Clone, Copy)]
enum Target {
    Igw,
    Nat(usize),
    Peering(usize),
}

/// Expands `vpcs:` and `vpc_peerings:` of the lab's top-level map into
/// networks and routers. `None` when the lab uses neither (nothing to do).
pub(crate) fn expand(root: &Node, d: &mut Diags) -> Option<Node> {
    let Value::Map(top) = &root.value else {
        return None;
    };
    let vpcs_node = top.iter().find(|(k, _)| k.value == "vpcs");
    let peerings_node = top.iter().find(|(k, _)| k.value == "vpc_peerings");
    if vpcs_node.is_none() && peerings_node.is_none() {
        return None;
    }
    let plain = Plain::of(top);
    let mut vpcs = Vec::new();
    if let Some((_, node)) = vpcs_node {
        if let Some(entries) = read::map_or_empty(node, "`vpcs`", d) {
            if entries.len() > VPCS_MAX {
                d.error(
                    node.span,
                    format!("too many VPCs ({}; the limit is {VPCS_MAX})", entries.len()),
                );
            } else {
                for (index, (name, node)) in entries.iter().enumerate() {
                    vpcs.push(read_vpc(name, node, index, d));
                }
                let total: usize = vpcs.iter().map(|v| v.subnets.len()).sum();
                if total > SUBNETS_TOTAL_MAX {
                    d.error(
                        node.span,
                        format!("too many subnets in all VPCs ({total}; the limit is {SUBNETS_TOTAL_MAX})"),
                    );
                    vpcs.clear();
                }
            }
        }
    }
    let peerings = match peerings_node {
        Some((key, node)) => read_peerings(key.span, node, &vpcs, d),
        None => Vec::new(),
    };
    let targets: Vec<BTreeMap<String, Target>> = vpcs
        .iter()
        .enumerate()
        .map(|(i, vpc)| target_names(i, vpc, &peerings, d))
        .collect();
    for vpc in &mut vpcs {
        check_elastic_ips(vpc, &plain, d);
        check_nat_addresses(vpc, &plain, d);
    }
    for (i, vpc) in vpcs.iter().enumerate() {
        check_vpc(i, vpc, &vpcs, &peerings, &targets[i], &plain, d);
    }
    check_return_routes(&vpcs, &peerings, d);
    let plan = Plan::new(&vpcs, &peerings, &plain, d);
    let (networks, routers) = generate(&vpcs, &peerings, &targets, &plan);
    check_names(&networks, &routers, &plain, d);
    Some(splice(root, top, networks, routers))
}

fn check_name(name: &Sp<String>, what: &str, d: &mut Diags) {
    let bad = name.value.is_empty()
        || name
            .value
            .chars()
            .any(|c| c == '/' || c.is_whitespace() || c.is_control());
    if bad {
        d.error(
            name.span,
            format!(
                "{what} `{}` must be a name without `/` or spaces (it becomes part of the names `VPC/NAME` of the expansion)",
                name.value
            ),
        );
    }
}

fn read_state(fields: &read::Fields, states: &[&str], what: &str, d: &mut Diags) -> Option<String> {
    let node = fields.get("state")?;
    let text = read::string(node, "`state`", d)?.trim();
    if states.contains(&text) {
        return Some(text.to_string());
    }
    d.error_help(
        node.span,
        format!("`{text}` is not a state of {what}"),
        did_you_mean(text, states.iter().copied())
            .or_else(|| Some(format!("states: {}", states.join(", ")))),
    );
    None
}

/// An IPv4 prefix of the sugar (a VPC's `cidr`, `fabric`, a route's `to`).
fn v4_prefix(node: &Node, what: &str, d: &mut Diags) -> Option<Ipv4Net> {
    match read_canonical_prefix(node, what, d)? {
        IpNet::V4(p) => Some(p),
        IpNet::V6(p) => {
            d.error(
                node.span,
                format!(
                    "`{p}` is IPv6: VPCs are IPv4-only in wirelab (docs/lab-format.md, \"VPCs\")"
                ),
            );
            None
        }
    }
}

fn v4_address(node: &Node, key: &str, d: &mut Diags) -> Option<Sp<Ipv4Addr>> {
    super::topology::read_v4_d(node, key, d).map(|a| Sp::new(a, node.span))
}

fn read_vpc<'a>(name: &Sp<String>, node: &'a Node, index: usize, d: &mut Diags) -> Vpc<'a> {
    check_name(name, "VPC", d);
    let what = format!("VPC `{}`", name.value);
    let mut vpc = Vpc {
        name: name.clone(),
        cidr: None,
        fabric: None,
        fabric_span: name.span,
        subnets: Vec::new(),
        tables: Vec::new(),
        igw: None,
        nats: Vec::new(),
        elastic_ips: Vec::new(),
    };
    let Some(fields) = read::fields(node, &VPC_KEYS, &what, name.span, d) else {
        return vpc;
    };
    vpc.cidr = fields
        .require("cidr", &what, d)
        .and_then(|n| v4_prefix(n, "`cidr`", d));
    match fields.get("fabric") {
        Some(n) => {
            vpc.fabric_span = n.span;
            vpc.fabric = v4_prefix(n, "`fabric`", d);
        }
        None => {
            // 169.254.1.0/24 for the first VPC, and so on: link-local
            // addresses, which no lab hands out to its hosts.
            let third = u8::try_from(index + 1).unwrap_or(u8::MAX);
            vpc.fabric = Ipv4Net::new(Ipv4Addr::new(169, 254, third, 0), 24).ok();
        }
    }
    if let Some(node) = fields.get("subnets") {
        read_subnets(node, &mut vpc, d);
    } else {
        d.error(name.span, format!("{what} has no `subnets:`"));
    }
    if let Some(node) = fields.get("route_tables") {
        read_tables(node, &mut vpc, d);
    }
    if let Some(node) = fields.get("internet_gateway") {
        vpc.igw = read_igw(node, &what, d);
    }
    if let Some(node) = fields.get("nat_gateways") {
        for (nat, node) in read::map_or_empty(node, "`nat_gateways`", d).unwrap_or(&[]) {
            check_name(nat, "NAT gateway", d);
            let what = format!("NAT gateway `{}`", nat.value);
            let Some(f) = read::fields(node, &NAT_GATEWAY_KEYS, &what, nat.span, d) else {
                continue;
            };
            let subnet = f.require("subnet", &what, d).and_then(|n| {
                read::string(n, "`subnet`", d).map(|s| Sp::new(s.trim().to_string(), n.span))
            });
            let elastic_ip = f
                .require("elastic_ip", &what, d)
                .and_then(|n| v4_address(n, "elastic_ip", d));
            let state = read_state(&f, &NAT_GATEWAY_STATES, "a NAT gateway", d);
            vpc.nats.push(NatGateway {
                name: nat.clone(),
                subnet,
                elastic_ip,
                available: state.as_deref() != Some("deleted"),
            });
        }
    }
    if let Some(node) = fields.get("elastic_ips") {
        for (host, node) in read::map_or_empty(node, "`elastic_ips`", d).unwrap_or(&[]) {
            if let Some(address) = v4_address(node, "elastic_ips", d) {
                vpc.elastic_ips.push((host.clone(), address));
            }
        }
    }
    vpc
}

fn read_subnets<'a>(node: &'a Node, vpc: &mut Vpc<'a>, d: &mut Diags) {
    let Some(entries) = read::map_or_empty(node, "`subnets`", d) else {
        return;
    };
    if entries.len() > SUBNETS_MAX {
        d.error(
            node.span,
            format!(
                "too many subnets ({}; the limit is {SUBNETS_MAX})",
                entries.len()
            ),
        );
        return;
    }
    for (name, node) in entries {
        check_name(name, "subnet", d);
        if name.value == FABRIC {
            d.error(
                name.span,
                format!("`{FABRIC}` is the name of the network joining a VPC's routers: name the subnet otherwise"),
            );
        }
        let what = format!("subnet `{}` of VPC `{}`", name.value, vpc.name.value);
        let Some(f) = read::fields(node, &SUBNET_KEYS, &what, name.span, d) else {
            continue;
        };
        let cidr_node = f.require("cidr", &what, d);
        let cidr = cidr_node.and_then(quiet_v4_prefix);
        if let (Some(inner), Some(outer), Some(n)) = (cidr, vpc.cidr, cidr_node) {
            if !outer.contains(&inner) {
                d.error(
                    n.span,
                    format!(
                        "subnet `{}` ({inner}) is outside the CIDR of VPC `{}` ({outer})",
                        name.value, vpc.name.value
                    ),
                );
            }
        }
        let table = f.get("route_table").and_then(|n| {
            read::string(n, "`route_table`", d).map(|s| Sp::new(s.trim().to_string(), n.span))
        });
        vpc.subnets.push(Subnet {
            name: name.clone(),
            cidr_node,
            cidr,
            table,
            nacl: f.get("nacl"),
            link: f.get("link"),
        });
    }
}

fn read_tables(node: &Node, vpc: &mut Vpc, d: &mut Diags) {
    for (name, node) in read::map_or_empty(node, "`route_tables`", d).unwrap_or(&[]) {
        let mut table = Table {
            name: name.clone(),
            routes: Vec::new(),
        };
        let what = format!("route table `{}`", name.value);
        let items = read::seq(node, &format!("{what} (a list of routes)"), d).unwrap_or(&[]);
        if items.len() > ROUTES_MAX {
            d.error(
                node.span,
                format!(
                    "too many routes ({}; the limit is {ROUTES_MAX})",
                    items.len()
                ),
            );
            continue;
        }
        let mut seen: BTreeMap<Ipv4Net, Span> = BTreeMap::new();
        for item in items {
            let Some(f) = read::fields(item, &VPC_ROUTE_KEYS, "a route", item.span, d) else {
                continue;
            };
            let to = f.require("to", "a route", d);
            let target = f.require("target", "a route", d).and_then(|n| {
                read::string(n, "`target`", d).map(|s| Sp::new(s.trim().to_string(), n.span))
            });
            let (Some(to_node), Some(target)) = (to, target) else {
                continue;
            };
            let Some(to) = v4_prefix(to_node, "`to`", d) else {
                continue;
            };
            if let Some(outer) = vpc.cidr {
                if outer.contains(&to) {
                    d.error_help(
                        to_node.span,
                        format!(
                            "`{to}` is inside VPC `{}` ({outer}): the local route covers it, and in wirelab it always wins",
                            vpc.name.value
                        ),
                        Some("route only destinations outside the VPC (0.0.0.0/0, a peer's CIDR)".into()),
                    );
                    continue;
                }
            }
            if let Some(first) = seen.insert(to, to_node.span) {
                d.error(
                    to_node.span,
                    format!(
                        "route table `{}` already has a route to `{to}` (line {})",
                        name.value, first.line
                    ),
                );
                continue;
            }
            table.routes.push(VpcRoute {
                to,
                target,
                span: item.span,
            });
        }
        vpc.tables.push(table);
    }
}

fn read_igw<'a>(node: &'a Node, vpc: &str, d: &mut Diags) -> Option<Igw<'a>> {
    let what = format!("the internet gateway of {vpc}");
    let f = read::fields(node, &IGW_KEYS, &what, node.span, d)?;
    let network = f.require("network", &what, d).and_then(|n| {
        read::string(n, "`network`", d).map(|s| Sp::new(s.trim().to_string(), n.span))
    });
    let ip = f.get("ip").and_then(|n| v4_address(n, "ip", d));
    let state = read_state(&f, &IGW_STATES, "an internet gateway", d);
    Some(Igw {
        network: network?,
        ip,
        gateway: f.get("gateway"),
        attached: state.as_deref() != Some("detached"),
        span: node.span,
    })
}

fn read_peerings(at: Span, node: &Node, vpcs: &[Vpc], d: &mut Diags) -> Vec<Peering> {
    let mut peerings: Vec<Peering> = Vec::new();
    let Some(entries) = read::map_or_empty(node, "`vpc_peerings`", d) else {
        return peerings;
    };
    if entries.len() > PEERINGS_MAX {
        d.error(
            at,
            format!(
                "too many peerings ({}; the limit is {PEERINGS_MAX})",
                entries.len()
            ),
        );
        return peerings;
    }
    for (name, node) in entries {
        check_name(name, "peering", d);
        if name.value == IGW_TARGET {
            d.error(
                name.span,
                format!("`{IGW_TARGET}` names the internet gateway in route tables: name the peering otherwise"),
            );
        }
        let what = format!("peering `{}`", name.value);
        let Some(f) = read::fields(node, &PEERING_KEYS, &what, name.span, d) else {
            continue;
        };
        let state = read_state(&f, &PEERING_STATES, "a peering", d);
        let between = f
            .require("between", &what, d)
            .and_then(|n| read_between(n, vpcs, &peerings, d));
        peerings.push(Peering {
            name: name.clone(),
            between,
            active: state.as_deref().is_none_or(|s| s == "active"),
        });
    }
    peerings
}

/// `between: [a, b]`: two distinct known VPCs, not already peered, whose
/// CIDRs do not overlap.
fn read_between(
    node: &Node,
    vpcs: &[Vpc],
    earlier: &[Peering],
    d: &mut Diags,
) -> Option<[usize; 2]> {
    let items = read::seq(node, "`between`", d)?;
    if items.len() != 2 {
        d.error(
            node.span,
            format!("`between` names two VPCs, found {}", items.len()),
        );
        return None;
    }
    let mut ends = [0usize; 2];
    let mut known = true;
    for (slot, item) in ends.iter_mut().zip(items) {
        let Some(name) = read::string(item, "a VPC of `between`", d) else {
            known = false;
            continue;
        };
        let name = name.trim();
        match vpcs.iter().position(|v| v.name.value == name) {
            Some(i) => *slot = i,
            None => {
                known = false;
                let names = vpcs.iter().map(|v| v.name.value.as_str());
                let help = did_you_mean(name, names.clone()).or_else(|| {
                    let all: Vec<&str> = names.collect();
                    Some(if all.is_empty() {
                        "the lab declares no `vpcs:`".to_string()
                    } else {
                        format!("VPCs: {}", all.join(", "))
                    })
                });
                d.error_help(item.span, format!("unknown VPC `{name}`"), help);
            }
        }
    }
    if !known {
        return None;
    }
    let [a, b] = ends;
    if a == b {
        d.error(node.span, "a peering joins two different VPCs");
        return None;
    }
    if let Some(p) = earlier.iter().find(|p| {
        p.between
            .is_some_and(|[x, y]| [x, y] == [a, b] || [x, y] == [b, a])
    }) {
        d.error(
            node.span,
            format!(
                "VPCs `{}` and `{}` are already peered by `{}` (line {})",
                vpcs[a].name.value, vpcs[b].name.value, p.name.value, p.name.span.line
            ),
        );
        return None;
    }
    if let (Some(x), Some(y)) = (vpcs[a].cidr, vpcs[b].cidr) {
        if overlap(x, y) {
            d.error(
                node.span,
                format!(
                    "VPCs `{}` ({x}) and `{}` ({y}) overlap: AWS peers only VPCs whose CIDRs do not overlap",
                    vpcs[a].name.value, vpcs[b].name.value
                ),
            );
            return None;
        }
    }
    Some([a, b])
}

/// The names a route table of VPC `index` may target: `igw`, its NAT
/// gateways, the peerings it is part of.
fn target_names(
    index: usize,
    vpc: &Vpc,
    peerings: &[Peering],
    d: &mut Diags,
) -> BTreeMap<String, Target> {
    let mut names = BTreeMap::new();
    if vpc.igw.is_some() {
        names.insert(IGW_TARGET.to_string(), Target::Igw);
    }
    for (p, peering) in peerings.iter().enumerate() {
        if peering.between.is_some_and(|ends| ends.contains(&index)) {
            names.insert(peering.name.value.clone(), Target::Peering(p));
        }
    }
    for (n, nat) in vpc.nats.iter().enumerate() {
        if nat.name.value == IGW_TARGET {
            d.error(
                nat.name.span,
                format!("`{IGW_TARGET}` names the internet gateway in route tables: name the NAT gateway otherwise"),
            );
        } else if names.contains_key(&nat.name.value) {
            d.error(
                nat.name.span,
                format!(
                    "NAT gateway `{}` has the name of a peering of VPC `{}`: route targets must be told apart",
                    nat.name.value, vpc.name.value
                ),
            );
        } else {
            names.insert(nat.name.value.clone(), Target::Nat(n));
        }
    }
    names
}

fn check_vpc(
    index: usize,
    vpc: &Vpc,
    vpcs: &[Vpc],
    peerings: &[Peering],
    targets: &BTreeMap<String, Target>,
    plain: &Plain,
    d: &mut Diags,
) {
    for table in &vpc.tables {
        for route in &table.routes {
            check_route(index, vpc, vpcs, peerings, targets, route, d);
        }
    }
    let table_names = || vpc.tables.iter().map(|t| t.name.value.as_str());
    for subnet in &vpc.subnets {
        if let Some(table) = &subnet.table {
            if table.value != MAIN_TABLE && !table_names().any(|t| t == table.value) {
                d.error_help(
                    table.span,
                    format!(
                        "unknown route table `{}` in VPC `{}`",
                        table.value, vpc.name.value
                    ),
                    did_you_mean(&table.value, table_names()).or_else(|| {
                        Some(format!(
                            "declare it under `route_tables:` of VPC `{}`",
                            vpc.name.value
                        ))
                    }),
                );
            }
        }
    }
    for table in &vpc.tables {
        let used = table.name.value == MAIN_TABLE
            || vpc.subnets.iter().any(|s| {
                s.table
                    .as_ref()
                    .is_some_and(|t| t.value == table.name.value)
            });
        if !used {
            d.warning(
                table.name.span,
                format!(
                    "route table `{}` is associated with no subnet: it routes nothing (name it in a subnet's `route_table:`)",
                    table.name.value
                ),
            );
        }
    }
    for nat in vpc.nats.iter().filter(|n| n.available) {
        check_nat_gateway(vpc, nat, d);
    }
    if let Some(igw) = &vpc.igw {
        match plain.networks.get(igw.network.value.as_str()) {
            Some(_) => {}
            None => d.error_help(
                igw.network.span,
                format!(
                    "unknown network `{}`: an internet gateway joins a network declared under `networks:` (the internet side)",
                    igw.network.value
                ),
                did_you_mean(&igw.network.value, plain.networks.keys().copied()),
            ),
        }
    }
}

fn check_route(
    index: usize,
    vpc: &Vpc,
    vpcs: &[Vpc],
    peerings: &[Peering],
    targets: &BTreeMap<String, Target>,
    route: &VpcRoute,
    d: &mut Diags,
) {
    let name = route.target.value.as_str();
    match targets.get(name) {
        Some(Target::Peering(p)) => {
            let Some(ends) = peerings[*p].between else {
                return;
            };
            let peer = &vpcs[if ends[0] == index { ends[1] } else { ends[0] }];
            if let Some(peer_cidr) = peer.cidr {
                if !peer_cidr.contains(&route.to) {
                    d.warning(
                        route.target.span,
                        format!(
                            "peering `{name}` carries only traffic to VPC `{}` ({peer_cidr}): the part of `{}` outside it is dropped there (peering is not transitive, and a peer's gateways serve the peer only)",
                            peer.name.value, route.to
                        ),
                    );
                }
            }
        }
        Some(_) => {}
        None if name == IGW_TARGET => d.error_help(
            route.target.span,
            format!("VPC `{}` has no internet gateway", vpc.name.value),
            Some("add `internet_gateway: { network: NETWORK }` to the VPC".into()),
        ),
        None => {
            let elsewhere = peerings.iter().find(|p| p.name.value == name);
            if let Some(ends) = elsewhere.and_then(|p| p.between) {
                d.error(
                    route.target.span,
                    format!(
                        "peering `{name}` joins `{}` and `{}`, not VPC `{}`",
                        vpcs[ends[0]].name.value, vpcs[ends[1]].name.value, vpc.name.value
                    ),
                );
                return;
            }
            let known: Vec<&str> = targets.keys().map(String::as_str).collect();
            let same_letters = known.iter().find(|k| k.eq_ignore_ascii_case(name));
            let help = same_letters
                .map(|k| format!("did you mean `{k}`?"))
                .or_else(|| did_you_mean(name, known.iter().copied()))
                .or_else(|| {
                    Some(if known.is_empty() {
                        format!(
                            "VPC `{}` has no internet gateway, NAT gateway or peering to route to",
                            vpc.name.value
                        )
                    } else {
                        format!("targets of VPC `{}`: {}", vpc.name.value, known.join(", "))
                    })
                });
            d.error_help(
                route.target.span,
                format!("unknown route target `{name}` in VPC `{}`", vpc.name.value),
                help,
            );
        }
    }
}

/// A peering carries an exchange only when both VPCs route to it: a route
/// of `a` into `b` through a peering that no table of `b` routes back
/// through is a warning (the replies are lost).
fn check_return_routes(vpcs: &[Vpc], peerings: &[Peering], d: &mut Diags) {
    for (p, peering) in peerings.iter().enumerate() {
        let Some([a, b]) = peering.between else {
            continue;
        };
        for (from, to) in [(a, b), (b, a)] {
            let (Some(from_cidr), Some(to_cidr)) = (vpcs[from].cidr, vpcs[to].cidr) else {
                continue;
            };
            let routes_into = |v: usize, cidr: Ipv4Net| {
                let tables = vpcs[v].tables.iter().filter(|t| {
                    let main = t.name.value == MAIN_TABLE;
                    vpcs[v]
                        .subnets
                        .iter()
                        .any(|s| s.table.as_ref().map_or(main, |n| n.value == t.name.value))
                });
                tables
                    .flat_map(|t| &t.routes)
                    .filter(move |r| r.target.value == peering.name.value && overlap(r.to, cidr))
                    .collect::<Vec<_>>()
            };
            let back = routes_into(to, from_cidr);
            if !back.is_empty() {
                continue;
            }
            if let Some(first) = routes_into(from, to_cidr).first() {
                d.warning(
                    first.target.span,
                    format!(
                        "no subnet of VPC `{}` routes back to `{}` ({from_cidr}) through `{}`: replies are lost (a peering needs a route on both sides)",
                        vpcs[to].name.value, vpcs[from].name.value, peerings[p].name.value
                    ),
                );
            }
        }
    }
}

/// The route table of a subnet: its own, else `main` (when declared).
fn table_of<'v>(vpc: &'v Vpc, subnet: &Subnet) -> Option<&'v Table> {
    let name = subnet
        .table
        .as_ref()
        .map_or(MAIN_TABLE, |t| t.value.as_str());
    vpc.tables.iter().find(|t| t.name.value == name)
}

fn check_nat_gateway(vpc: &Vpc, nat: &NatGateway, d: &mut Diags) {
    let Some(subnet_name) = &nat.subnet else {
        return;
    };
    let Some(subnet) = vpc
        .subnets
        .iter()
        .find(|s| s.name.value == subnet_name.value)
    else {
        d.error_help(
            subnet_name.span,
            format!(
                "unknown subnet `{}` in VPC `{}`",
                subnet_name.value, vpc.name.value
            ),
            did_you_mean(
                &subnet_name.value,
                vpc.subnets.iter().map(|s| s.name.value.as_str()),
            ),
        );
        return;
    };
    if vpc.igw.is_none() {
        d.error(
            nat.name.span,
            format!(
                "NAT gateway `{}` needs an internet gateway in VPC `{}` (`internet_gateway:`)",
                nat.name.value, vpc.name.value
            ),
        );
        return;
    }
    let to_igw = table_of(vpc, subnet)
        .is_some_and(|t| t.routes.iter().any(|r| r.target.value == IGW_TARGET));
    if !to_igw {
        d.error_help(
            subnet_name.span,
            format!(
                "NAT gateway `{}` is in subnet `{}`, whose route table has no route to the internet gateway: a NAT gateway belongs in a public subnet",
                nat.name.value, subnet_name.value
            ),
            Some("give the subnet's route table `{ to: 0.0.0.0/0, target: igw }`".into()),
        );
    }
}

/// Keeps the elastic IPs of `vpc` that may be mapped; reports the others
/// (which the expansion then leaves out, so that nothing is reported twice).
fn check_elastic_ips(vpc: &mut Vpc, plain: &Plain, d: &mut Diags) {
    let subnets: BTreeSet<String> = vpc.subnets.iter().map(|s| s.name.value.clone()).collect();
    let (name, has_igw) = (vpc.name.value.clone(), vpc.igw.is_some());
    let prefix = format!("{name}/");
    vpc.elastic_ips.retain(|(host, address)| {
        if !has_igw {
            d.error(
                address.span,
                format!(
                    "an elastic IP is reached through the internet gateway, and VPC `{name}` has none (`internet_gateway:`)"
                ),
            );
            return false;
        }
        let Some((_, network)) = plain.hosts.get(host.value.as_str()) else {
            d.error_help(
                host.span,
                format!("unknown host `{}`: `elastic_ips:` maps host names to addresses", host.value),
                did_you_mean(&host.value, plain.hosts.keys().copied()),
            );
            return false;
        };
        let inside = network
            .and_then(|n| n.strip_prefix(&prefix))
            .is_some_and(|s| subnets.contains(s));
        if !inside {
            d.error(
                host.span,
                format!(
                    "host `{}` is in no subnet of VPC `{name}`: an elastic IP maps to an instance of the VPC",
                    host.value
                ),
            );
        }
        inside
    });
}

/// A NAT gateway's elastic IP is its address on the internet network:
/// inside that network's prefix (when it is known). Others are reported
/// here and the gateway left out of the expansion.
fn check_nat_addresses(vpc: &mut Vpc, plain: &Plain, d: &mut Diags) {
    let Some(igw) = &vpc.igw else {
        return;
    };
    let Some((_, Some(cidr))) = plain.networks.get(igw.network.value.as_str()) else {
        return;
    };
    for nat in &mut vpc.nats {
        let Some(eip) = &nat.elastic_ip else {
            continue;
        };
        if !cidr.contains(&eip.value) || usable_v4(*cidr).0 > u32::from(eip.value) {
            d.error(
                eip.span,
                format!(
                    "elastic IP `{}` is not a usable address of `{cidr}` (network `{}`, where the internet gateway is)",
                    eip.value, igw.network.value
                ),
            );
            nat.elastic_ip = None;
        }
    }
}

/// The addresses of the expansion: every router's on its VPC's fabric,
/// the internet gateways' on the internet side.
struct Plan {
    /// Per VPC: the fabric address of each subnet's router, of the
    /// internet gateway, of each NAT gateway, and per peering of the VPC.
    subnet_rt: Vec<Vec<Option<Ipv4Addr>>>,
    igw: Vec<Option<Ipv4Addr>>,
    nat: Vec<Vec<Option<Ipv4Addr>>>,
    peering: Vec<BTreeMap<usize, Ipv4Addr>>,
    /// Per VPC: the internet gateway's address on the internet side, and
    /// whether the VPC's gateways are generated at all.
    igw_outside: Vec<Option<Ipv4Addr>>,
    gateways: Vec<bool>,
}

impl Plan {
    fn new(vpcs: &[Vpc], peerings: &[Peering], plain: &Plain, d: &mut Diags) -> Plan {
        let mut plan = Plan {
            subnet_rt: Vec::new(),
            igw: Vec::new(),
            nat: Vec::new(),
            peering: Vec::new(),
            igw_outside: Vec::new(),
            gateways: Vec::new(),
        };
        let mut taken = taken_addresses(vpcs, plain);
        for (index, vpc) in vpcs.iter().enumerate() {
            let mut next = vpc.fabric.map(|f| {
                let (first, last) = usable_v4(f);
                first..=last
            });
            let mut take = |d: &mut Diags| -> Option<Ipv4Addr> {
                let a = next.as_mut()?.next().map(Ipv4Addr::from);
                if a.is_none() {
                    d.error(
                        vpc.fabric_span,
                        format!(
                            "the fabric of VPC `{}` ({}) has too few addresses for its routers: give the VPC a larger `fabric:`",
                            vpc.name.value,
                            vpc.fabric.map(|f| f.to_string()).unwrap_or_default()
                        ),
                    );
                    next = None;
                }
                a
            };
            plan.subnet_rt
                .push(vpc.subnets.iter().map(|_| take(d)).collect());
            // An internet gateway on an unknown network is reported; its
            // routes are left as blackholes rather than reported again.
            let attached = vpc.igw.as_ref().is_some_and(|i| {
                i.attached && plain.networks.contains_key(i.network.value.as_str())
            });
            plan.igw.push(if attached { take(d) } else { None });
            plan.nat.push(
                vpc.nats
                    .iter()
                    .map(|n| {
                        if attached && n.available {
                            take(d)
                        } else {
                            None
                        }
                    })
                    .collect(),
            );
            let mut own = BTreeMap::new();
            for (p, peering) in peerings.iter().enumerate() {
                if peering.active && peering.between.is_some_and(|e| e.contains(&index)) {
                    if let Some(a) = take(d) {
                        own.insert(p, a);
                    }
                }
            }
            plan.peering.push(own);
            let outside = vpc
                .igw
                .as_ref()
                .filter(|_| attached)
                .and_then(|igw| outside_address(igw, plain, &taken, d));
            taken.extend(outside);
            plan.igw_outside.push(outside);
            plan.gateways
                .push(vpc.cidr.is_some() && vpc.fabric.is_some());
        }
        plan
    }
}

/// Every IPv4 address the lab or the sugar writes.
fn taken_addresses(vpcs: &[Vpc], plain: &Plain) -> BTreeSet<Ipv4Addr> {
    let mut taken = plain.written.clone();
    for vpc in vpcs {
        let nats = vpc.nats.iter().filter_map(|n| n.elastic_ip.as_ref());
        let igw = vpc.igw.as_ref().and_then(|i| i.ip.as_ref());
        taken.extend(nats.chain(igw).map(|a| a.value));
        taken.extend(vpc.elastic_ips.iter().map(|(_, a)| a.value));
    }
    taken
}

/// The internet gateway's address on the internet side: its `ip:`, else
/// the highest address of the network that nothing else takes.
fn outside_address(
    igw: &Igw,
    plain: &Plain,
    taken: &BTreeSet<Ipv4Addr>,
    d: &mut Diags,
) -> Option<Ipv4Addr> {
    if let Some(ip) = &igw.ip {
        return Some(ip.value);
    }
    let (_, cidr) = plain.networks.get(igw.network.value.as_str())?;
    let (first, last) = usable_v4((*cidr)?);
    let free = (first..=last)
        .rev()
        .map(Ipv4Addr::from)
        .find(|a| !taken.contains(a));
    if free.is_none() {
        d.error(
            igw.span,
            format!(
                "network `{}` has no free address left for the internet gateway: give it `ip:`",
                igw.network.value
            ),
        );
    }
    free
}

// ---------------------------------------------------------------------------
// The plain nodes of the expansion. Each carries the position of the sugar
// it comes from, so that the rest of the reader reports there.

fn text(value: impl Into<String>, span: Span) -> Node {
    Node {
        value: Value::Str(value.into()),
        span,
    }
}

fn map(entries: Vec<(&str, Node)>, span: Span) -> Node {
    Node {
        value: Value::Map(
            entries
                .into_iter()
                .map(|(k, v)| (Sp::new(k.to_string(), span), v))
                .collect(),
        ),
        span,
    }
}

fn list(items: Vec<Node>, span: Span) -> Node {
    Node {
        value: Value::Seq(items),
        span,
    }
}

fn route_via(to: Ipv4Net, via: Ipv4Addr, span: Span) -> Node {
    map(
        vec![
            ("to", text(to.to_string(), span)),
            ("via", text(via.to_string(), span)),
        ],
        span,
    )
}

fn route_blackhole(to: Ipv4Net, span: Span) -> Node {
    map(
        vec![
            ("to", text(to.to_string(), span)),
            (
                "blackhole",
                Node {
                    value: Value::Bool(true),
                    span,
                },
            ),
        ],
        span,
    )
}

fn fabric_name(vpc: &Vpc) -> String {
    format!("{}/{FABRIC}", vpc.name.value)
}

fn subnet_router_name(vpc: &Vpc, subnet: &Subnet) -> String {
    format!("{}/{}-rt", vpc.name.value, subnet.name.value)
}

/// The local route of `vpc` as seen from a router on its fabric: every
/// subnet (but `except`, connected) to its router, the rest of the VPC's
/// CIDR to a blackhole.
fn local_routes(index: usize, vpc: &Vpc, plan: &Plan, except: Option<usize>) -> Vec<Node> {
    let Some(cidr) = vpc.cidr else {
        return Vec::new();
    };
    let mut routes = Vec::new();
    for (s, subnet) in vpc.subnets.iter().enumerate() {
        if Some(s) == except {
            continue;
        }
        if let (Some(to), Some(via)) = (subnet.cidr, plan.subnet_rt[index][s]) {
            routes.push(route_via(to, via, subnet.name.span));
        }
    }
    // A subnet as wide as the VPC leaves nothing to blackhole (and its
    // prefix is routed already).
    if vpc.subnets.iter().all(|s| s.cidr != Some(cidr)) {
        routes.push(route_blackhole(cidr, vpc.name.span));
    }
    routes
}

type Entries = Vec<(Sp<String>, Node)>;

fn generate(
    vpcs: &[Vpc],
    peerings: &[Peering],
    targets: &[BTreeMap<String, Target>],
    plan: &Plan,
) -> (Entries, Entries) {
    let mut networks: Entries = Vec::new();
    let mut routers: Entries = Vec::new();
    for (index, vpc) in vpcs.iter().enumerate() {
        for subnet in &vpc.subnets {
            let mut keys = Vec::new();
            if let Some(cidr) = subnet.cidr_node {
                keys.push(("cidr", cidr.clone()));
            }
            if let Some(nacl) = subnet.nacl {
                keys.push(("nacl", nacl.clone()));
            }
            if let Some(link) = subnet.link {
                keys.push(("link", link.clone()));
            }
            let name = format!("{}/{}", vpc.name.value, subnet.name.value);
            networks.push((Sp::new(name, subnet.name.span), map(keys, subnet.name.span)));
        }
        if !plan.gateways[index] {
            continue;
        }
        let fabric = vpc.fabric.expect("a VPC with gateways has a fabric");
        networks.push((
            Sp::new(fabric_name(vpc), vpc.name.span),
            map(
                vec![("cidr", text(fabric.to_string(), vpc.fabric_span))],
                vpc.fabric_span,
            ),
        ));
        for (s, subnet) in vpc.subnets.iter().enumerate() {
            if let Some(router) = subnet_router(index, vpc, s, peerings, &targets[index], plan) {
                routers.push((
                    Sp::new(subnet_router_name(vpc, subnet), subnet.name.span),
                    router,
                ));
            }
        }
        routers.extend(igw_router(index, vpc, plan));
        routers.extend(nat_routers(index, vpc, plan));
    }
    for (p, peering) in peerings.iter().enumerate() {
        let Some([a, b]) = peering.between else {
            continue;
        };
        if !peering.active || !plan.gateways[a] || !plan.gateways[b] {
            continue;
        }
        let (Some(&on_a), Some(&on_b)) = (plan.peering[a].get(&p), plan.peering[b].get(&p)) else {
            continue;
        };
        let span = peering.name.span;
        let interfaces = map(
            vec![
                (&fabric_name(&vpcs[a]), text(on_a.to_string(), span)),
                (&fabric_name(&vpcs[b]), text(on_b.to_string(), span)),
            ],
            span,
        );
        let mut routes = local_routes(a, &vpcs[a], plan, None);
        routes.extend(local_routes(b, &vpcs[b], plan, None));
        let router = map(
            vec![("interfaces", interfaces), ("routes", list(routes, span))],
            span,
        );
        routers.push((Sp::new(format!("pcx/{}", peering.name.value), span), router));
    }
    (networks, routers)
}

fn subnet_router(
    index: usize,
    vpc: &Vpc,
    s: usize,
    peerings: &[Peering],
    targets: &BTreeMap<String, Target>,
    plan: &Plan,
) -> Option<Node> {
    let subnet = &vpc.subnets[s];
    let cidr = subnet.cidr?;
    let on_fabric = plan.subnet_rt[index][s]?;
    let span = subnet.name.span;
    let (first, _) = usable_v4(cidr);
    let interfaces = map(
        vec![
            (
                &format!("{}/{}", vpc.name.value, subnet.name.value),
                text(Ipv4Addr::from(first).to_string(), span),
            ),
            (&fabric_name(vpc), text(on_fabric.to_string(), span)),
        ],
        span,
    );
    let mut routes = local_routes(index, vpc, plan, Some(s));
    for route in table_of(vpc, subnet).map_or(&[][..], |t| &t.routes) {
        let via = match targets.get(&route.target.value) {
            Some(Target::Igw) => plan.igw[index],
            Some(Target::Nat(n)) => plan.nat[index][*n],
            Some(Target::Peering(p)) if peerings[*p].active => plan.peering[index].get(p).copied(),
            Some(Target::Peering(_)) => None,
            // Reported; left out of the expansion.
            None => continue,
        };
        routes.push(match via {
            Some(via) => route_via(route.to, via, route.span),
            None => route_blackhole(route.to, route.span),
        });
    }
    let mut keys = vec![("interfaces", interfaces)];
    if !routes.is_empty() {
        keys.push(("routes", list(routes, span)));
    }
    Some(map(keys, span))
}

/// The default route of a VPC's gateways: via the internet gateway's
/// `gateway:`, when written.
fn gateway_route(igw: &Igw) -> Option<Node> {
    let node = igw.gateway?;
    let span = node.span;
    let default = Ipv4Net::new(Ipv4Addr::UNSPECIFIED, 0).expect("0.0.0.0/0");
    Some(map(
        vec![
            ("to", text(default.to_string(), span)),
            ("via", node.clone()),
        ],
        span,
    ))
}

fn igw_router(index: usize, vpc: &Vpc, plan: &Plan) -> Option<(Sp<String>, Node)> {
    let igw = vpc.igw.as_ref()?;
    let (on_fabric, outside) = (plan.igw[index]?, plan.igw_outside[index]?);
    let fabric = vpc.fabric?;
    let span = igw.span;
    let internet = igw.network.value.as_str();
    let outside_span = igw.ip.as_ref().map_or(igw.network.span, |i| i.span);
    let interfaces = map(
        vec![
            (&fabric_name(vpc), text(on_fabric.to_string(), span)),
            (internet, text(outside.to_string(), outside_span)),
        ],
        span,
    );
    let mut routes = local_routes(index, vpc, plan, None);
    routes.extend(gateway_route(igw));
    // The rule that makes the internet side outside: the NAT boundary then
    // drops every private address crossing it untranslated.
    let boundary = map(
        vec![
            ("from", text(fabric.to_string(), span)),
            ("out", text(internet, span)),
            ("to", text("masquerade", span)),
        ],
        span,
    );
    let statics = vpc
        .elastic_ips
        .iter()
        .map(|(host, address)| {
            map(
                vec![
                    ("private", text(host.value.clone(), host.span)),
                    ("public", text(address.value.to_string(), address.span)),
                    ("on", text(internet, address.span)),
                ],
                address.span,
            )
        })
        .collect::<Vec<_>>();
    let mut nat = vec![("source", list(vec![boundary], span))];
    if !statics.is_empty() {
        nat.push(("static", list(statics, span)));
    }
    let router = map(
        vec![
            ("interfaces", interfaces),
            ("routes", list(routes, span)),
            ("nat", map(nat, span)),
        ],
        span,
    );
    Some((
        Sp::new(format!("{}/{IGW_TARGET}", vpc.name.value), vpc.name.span),
        router,
    ))
}

fn nat_routers(index: usize, vpc: &Vpc, plan: &Plan) -> Vec<(Sp<String>, Node)> {
    let (Some(igw), Some(cidr)) = (&vpc.igw, vpc.cidr) else {
        return Vec::new();
    };
    let mut routers = Vec::new();
    for (n, nat) in vpc.nats.iter().enumerate() {
        let (Some(on_fabric), Some(eip)) = (plan.nat[index][n], &nat.elastic_ip) else {
            continue;
        };
        let span = nat.name.span;
        let internet = igw.network.value.as_str();
        let interfaces = map(
            vec![
                (&fabric_name(vpc), text(on_fabric.to_string(), span)),
                (internet, text(eip.value.to_string(), eip.span)),
            ],
            span,
        );
        let mut routes = local_routes(index, vpc, plan, None);
        routes.extend(gateway_route(igw));
        let ports = SOURCE_PORTS_DEFAULT;
        let masquerade = map(
            vec![
                ("from", text(cidr.to_string(), span)),
                ("out", text(internet, span)),
                ("to", text("masquerade", span)),
                (
                    "ports",
                    text(format!("{}-{}", ports.first, ports.last), span),
                ),
            ],
            span,
        );
        let router = map(
            vec![
                ("interfaces", interfaces),
                ("routes", list(routes, span)),
                (
                    "nat",
                    map(vec![("source", list(vec![masquerade], span))], span),
                ),
            ],
            span,
        );
        routers.push((
            Sp::new(format!("{}/{}", vpc.name.value, nat.name.value), span),
            router,
        ));
    }
    routers
}

/// The names of the expansion may clash with each other (a NAT gateway
/// named like a subnet's router) or with the plain lab's.
fn check_names(networks: &Entries, routers: &Entries, plain: &Plain, d: &mut Diags) {
    let mut seen: BTreeMap<&str, Span> = BTreeMap::new();
    for (name, _) in networks {
        if let Some(span) = plain.networks.get(name.value.as_str()) {
            d.error(
                name.span,
                format!(
                    "the expansion names a network `{}`, and `networks:` declares one already (line {})",
                    name.value, span.0.line
                ),
            );
        } else if let Some(first) = seen.insert(&name.value, name.span) {
            d.error(
                name.span,
                format!(
                    "the expansion names two networks `{}` (line {})",
                    name.value, first.line
                ),
            );
        }
    }
    let mut seen: BTreeMap<&str, Span> = BTreeMap::new();
    for (name, _) in routers {
        let plain_span = plain
            .routers
            .get(name.value.as_str())
            .or_else(|| plain.hosts.get(name.value.as_str()).map(|h| &h.0));
        if let Some(span) = plain_span {
            d.error(
                name.span,
                format!(
                    "the expansion names a router `{}`, and the lab declares a router or host of that name (line {})",
                    name.value, span.line
                ),
            );
        } else if let Some(first) = seen.insert(&name.value, name.span) {
            d.error(
                name.span,
                format!(
                    "the expansion names two routers `{}` (line {})",
                    name.value, first.line
                ),
            );
        }
    }
}

/// The lab's top level with `vpcs:` and `vpc_peerings:` replaced by their
/// networks and routers (added to the lab's own, after them).
fn splice(root: &Node, top: &[(Sp<String>, Node)], networks: Entries, routers: Entries) -> Node {
    let sugar = |k: &str| k == "vpcs" || k == "vpc_peerings";
    let mut generated = [("networks", Some(networks)), ("routers", Some(routers))];
    let mut out: Vec<(Sp<String>, Node)> = Vec::new();
    for (key, node) in top {
        if sugar(&key.value) {
            // The first sugar key is where sections the lab lacks go.
            for (name, entries) in generated.iter_mut() {
                if top.iter().all(|(k, _)| k.value != *name) {
                    if let Some(entries) = entries.take() {
                        let node = Node {
                            value: Value::Map(entries),
                            span: key.span,
                        };
                        out.push((Sp::new(name.to_string(), key.span), node));
                    }
                }
            }
            continue;
        }
        let slot = generated.iter_mut().find(|(name, _)| *name == key.value);
        match (slot, &node.value) {
            (Some((_, entries)), Value::Map(own)) => {
                let mut all = own.clone();
                all.extend(entries.take().unwrap_or_default());
                out.push((
                    key.clone(),
                    Node {
                        value: Value::Map(all),
                        span: node.span,
                    },
                ));
            }
            (Some((_, entries)), Value::Null) => {
                let all = entries.take().unwrap_or_default();
                out.push((
                    key.clone(),
                    Node {
                        value: Value::Map(all),
                        span: node.span,
                    },
                ));
            }
            _ => out.push((key.clone(), node.clone())),
        }
    }
    Node {
        value: Value::Map(out),
        span: root.span,
    }
}

/// Whether `a` holds an address of `b` or the reverse (prefixes nest or
/// are disjoint).
fn overlap(a: Ipv4Net, b: Ipv4Net) -> bool {
    a.contains(&b.network()) || b.contains(&a.network())
}

#[cfg(test)]
mod tests {
    /// The lab's model with every position blanked: the sugar and its
    /// expansion are written on different lines.
    fn model_without_spans(file: &str, text: &str) -> String {
        let lab = crate::parse_str(file, text)
            .unwrap_or_else(|e| panic!("{e:?}"))
            .lab;
        let debug = format!("{lab:?}");
        let mut out = String::with_capacity(debug.len());
        let mut rest = debug.as_str();
        while let Some(at) = rest.find("Span { line: ") {
            out.push_str(&rest[..at]);
            let end = rest[at..].find('}').expect("a Span ends") + at + 1;
            out.push_str("Span");
            rest = &rest[end..];
        }
        out.push_str(rest);
        out
    }

    fn assert_same_model(text: &str) {
        let expanded =
            crate::expand_str("lab.yaml", text, None).unwrap_or_else(|e| panic!("{e:?}"));
        assert!(
            !expanded.yaml.lines().any(|l| l.starts_with("vpcs:")),
            "{}",
            expanded.yaml
        );
        let sugar = model_without_spans("lab.yaml", text);
        let plain = model_without_spans("lab.yaml", &expanded.yaml);
        assert_eq!(sugar, plain, "the expansion reads back differently");
    }

    #[test]
    fn lab_12_and_its_expansion_are_the_same_model() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../labs/12-peered-vpcs-transit-trap.yaml");
        assert_same_model(&std::fs::read_to_string(path).unwrap());
    }

    #[test]
    fn gateways_states_and_pass_through_keys_survive_the_round_trip() {
        assert_same_model(
            r#"lab: states
networks:
  internet: { cidr: 198.51.100.0/24 }
  office: { cidr: 192.168.0.0/24 }
routers:
  isp: { interfaces: { internet: 198.51.100.254, office: 192.168.0.1 } }
nacls:
  tight: { inbound: [{ rule: 100, action: allow, proto: all, cidr: 0.0.0.0/0 }] }
vpcs:
  a:
    cidr: 10.1.0.0/16
    fabric: 100.64.0.0/24
    internet_gateway: { network: internet, gateway: 198.51.100.254 }
    subnets:
      public: { cidr: 10.1.0.0/24, route_table: public, nacl: tight, link: { delay: 1ms } }
      private: { cidr: 10.1.1.0/24, route_table: private }
      whole: { cidr: 10.1.128.0/17 }
    nat_gateways:
      n1: { subnet: public, elastic_ip: 198.51.100.20 }
      n2: { subnet: public, elastic_ip: 198.51.100.21, state: deleted }
    elastic_ips: { web: 198.51.100.30 }
    route_tables:
      public: [{ to: 0.0.0.0/0, target: igw }]
      private: [{ to: 0.0.0.0/0, target: n1 }, { to: 192.168.0.0/24, target: n2 }]
  b:
    cidr: 10.2.0.0/16
    internet_gateway: { network: internet, state: detached }
    subnets: { only: { cidr: 10.2.0.0/16 } }
    route_tables: { main: [{ to: 0.0.0.0/0, target: igw }, { to: 10.1.0.0/16, target: a-b }] }
vpc_peerings:
  a-b: { between: [a, b], state: deleted }
hosts:
  web: { network: a/public }
  app: { network: a/private }
  lone: { network: b/only }
  pc: { network: office }
"#,
        );
    }

    /// Every line of lab 12 removed, doubled or given another value: the
    /// reader answers (a lab or diagnostics), never panics, and every
    /// error has a position.
    #[test]
    fn broken_copies_of_lab_12_never_panic() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../labs/12-peered-vpcs-transit-trap.yaml");
        let text = std::fs::read_to_string(path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        let start = lines.iter().position(|l| l.starts_with("vpcs:")).unwrap();
        let end = lines.iter().position(|l| l.starts_with("hosts:")).unwrap();
        let mut errors = 0;
        for i in start..end {
            let mut variants = vec![lines
                .iter()
                .enumerate()
                .filter(|(j, _)| *j != i)
                .map(|(_, l)| *l)
                .collect::<Vec<_>>()
                .join("\n")];
            for value in ["x", "[]", "{}", "10.0.0.0/8", "a-b", "igw", "0"] {
                if let Some((key, _)) = lines[i].split_once(": ") {
                    let mut copy = lines.clone();
                    let changed = format!("{key}: {value}");
                    copy[i] = &changed;
                    variants.push(copy.join("\n"));
                }
            }
            for variant in variants {
                match crate::parse_str("lab.yaml", &variant) {
                    Ok(_) => {}
                    Err(diags) => {
                        errors += 1;
                        assert!(diags.iter().all(|d| d.span.line > 0), "{diags:?}");
                    }
                }
            }
        }
        assert!(errors > 50, "only {errors} broken copies were refused");
    }

    #[test]
    fn a_subnet_as_wide_as_its_vpc_has_no_blackhole_of_its_own() {
        let text = "lab: w\nvpcs:\n  a:\n    cidr: 10.1.0.0/24\n    subnets: { all: { cidr: 10.1.0.0/24 } }\nhosts:\n  h: { network: a/all }\n";
        let expanded = crate::expand_str("w.yaml", text, None).unwrap();
        assert!(!expanded.yaml.contains("blackhole"), "{}", expanded.yaml);
        assert_same_model(text);
    }
}
