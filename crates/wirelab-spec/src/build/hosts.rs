//! Hosts: their network, addresses (written or assigned), default gateways,
//! security groups and services. Also the lab-wide duplicate-address check.

use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::addr::{check_v4_in, check_v6_in, usable_v4, usable_v6};
use super::http::{read_authority_list, read_http_service, TlsNames};
use super::tcp::read_tcp;
use super::topology::{check_v4, check_v6, read_v4_d, read_v6, Topology};
use super::Names;
use crate::model::{
    Host, NetworkId, Router, SecurityGroupId, Service, Sp, Span, TcpSettings, TransportProto,
};
use crate::read::{self, Diags, Fields};
use crate::yaml::{Node, Value};

pub(crate) const HOST_KEYS: [&str; 9] = [
    "network",
    "resolver",
    "trust",
    "ip",
    "ipv6",
    "gateway",
    "security_groups",
    "services",
    "tcp",
];
pub(crate) const SERVICE_KEYS: [&str; 9] = [
    "port", "proto", "app", "tls", "routes", "response", "upstream", "timeout", "delay",
];

/// A host as read, before addresses are assigned.
struct Draft<'a> {
    name: Sp<String>,
    network: Option<NetworkId>,
    ipv4: Option<Sp<Ipv4Addr>>,
    ipv6: Option<Sp<Ipv6Addr>>,
    /// An address was written (even an invalid one): nothing is assigned then.
    ipv4_written: bool,
    ipv6_written: bool,
    gateway: Option<&'a Node>,
    security_groups: Vec<SecurityGroupId>,
    services: Vec<Service>,
    /// The lab's TCP settings with this host's `tcp:` applied.
    tcp: TcpSettings,
    trust: Vec<usize>,
}

pub(crate) fn read_hosts(
    entries: Option<&[(Sp<String>, Node)]>,
    names: &Names,
    topo: &Topology,
    routers: &[Router],
    lab_tcp: TcpSettings,
    tls_names: &TlsNames,
    d: &mut Diags,
) -> Vec<Host> {
    let drafts: Vec<Draft> = entries
        .unwrap_or(&[])
        .iter()
        .map(|(name, node)| read_host(name, node, names, topo, lab_tcp, tls_names, d))
        .collect();
    let mut used = check_duplicate_addresses(&drafts, routers, d);
    // Where the search for a free address resumes, per network and family.
    // Every written address is in `used` before assignment starts and
    // addresses are never freed, so the first free address only moves up:
    // resuming keeps assignment linear in the number of hosts.
    let mut cursors: HashMap<(usize, bool), u128> = HashMap::new();
    let mut hosts: Vec<Host> = drafts
        .iter()
        .map(|draft| assign(draft, topo, &mut used, &mut cursors, d))
        .collect();
    resolve_gateways(&drafts, &mut hosts, topo, routers, d);
    hosts
}

fn read_host<'a>(
    name: &Sp<String>,
    node: &'a Node,
    names: &Names,
    topo: &Topology,
    lab_tcp: TcpSettings,
    tls_names: &TlsNames,
    d: &mut Diags,
) -> Draft<'a> {
    let mut draft = Draft {
        name: name.clone(),
        network: None,
        ipv4: None,
        ipv6: None,
        ipv4_written: false,
        ipv6_written: false,
        gateway: None,
        security_groups: Vec::new(),
        services: Vec::new(),
        tcp: lab_tcp,
        trust: Vec::new(),
    };
    let what = format!("host `{}`", name.value);
    let fields = match &node.value {
        Value::Null => {
            d.error(name.span, format!("{what} needs at least `network:`"));
            return draft;
        }
        _ => match read::fields(node, &HOST_KEYS, &what, name.span, d) {
            Some(fields) => fields,
            None => return draft,
        },
    };
    if let Some(network) = fields.require("network", &what, d) {
        if let Some(network_name) = read::string(network, "`network`", d) {
            draft.network = names.networks.get(network_name);
            if draft.network.is_none() {
                d.error_help(
                    network.span,
                    format!("unknown network `{network_name}`"),
                    names.networks.suggest(network_name),
                );
            }
        }
    }
    let net = draft.network.map(|n| (&topo.networks[n], !topo.broken[n]));
    if let Some(ip) = fields.get("ip") {
        draft.ipv4_written = true;
        draft.ipv4 = read_v4_d(ip, "ip", d)
            .and_then(|a| match net {
                Some((net, check)) => check_v4(a, net, ip.span, check, d),
                None => Some(a),
            })
            .map(|a| Sp::new(a, ip.span));
    }
    if let Some(ip) = fields.get("ipv6") {
        draft.ipv6_written = true;
        draft.ipv6 = read_v6(ip, d)
            .and_then(|a| match net {
                Some((net, check)) => check_v6(a, net, ip.span, check, d),
                None => Some(a),
            })
            .map(|a| Sp::new(a, ip.span));
    }
    draft.gateway = fields.get("gateway");
    draft.security_groups = read_group_list(&fields, names, d);
    draft.services = read_services(&fields, names, tls_names, d);
    if let Some(trust) = fields.get("trust") {
        draft.trust = read_authority_list(trust, "`trust`", tls_names, d);
    }
    if let Some(tcp) = fields.get("tcp") {
        draft.tcp = read_tcp(tcp, &what, d).apply_over(lab_tcp);
    }
    draft
}

fn read_group_list(fields: &Fields, names: &Names, d: &mut Diags) -> Vec<SecurityGroupId> {
    let mut groups = Vec::new();
    let Some(node) = fields.get("security_groups") else {
        return groups;
    };
    let Some(items) = read::seq(node, "`security_groups`", d) else {
        return groups;
    };
    for item in items {
        let Some(group) = read::string(item, "a security group name", d) else {
            continue;
        };
        match names.security_groups.get(group) {
            Some(id) if groups.contains(&id) => d.warning(
                item.span,
                format!("security group `{group}` is listed twice"),
            ),
            Some(id) => groups.push(id),
            None => d.error_help(
                item.span,
                format!("unknown security group `{group}`"),
                names.security_groups.suggest(group),
            ),
        }
    }
    groups
}

fn read_services(
    fields: &Fields,
    names: &Names,
    tls_names: &TlsNames,
    d: &mut Diags,
) -> Vec<Service> {
    let mut services: Vec<Service> = Vec::new();
    let Some(node) = fields.get("services") else {
        return services;
    };
    let Some(items) = read::seq(node, "`services`", d) else {
        return services;
    };
    for item in items {
        let Some(fields) = read::fields(item, &SERVICE_KEYS, "a service", item.span, d) else {
            continue;
        };
        let Some(port) = fields.require("port", "a service", d) else {
            continue;
        };
        let Some(port_number) = read::int_in(port, "port", 1, 65535, d) else {
            continue;
        };
        let proto = match fields.get("proto") {
            None => TransportProto::Tcp,
            Some(node) => match read::string(node, "`proto`", d) {
                Some("tcp") => TransportProto::Tcp,
                Some("udp") => TransportProto::Udp,
                Some(other) => {
                    d.error(
                        node.span,
                        format!("service protocol `{other}` must be tcp or udp"),
                    );
                    continue;
                }
                None => continue,
            },
        };
        let app = fields
            .get("app")
            .and_then(|n| read::string(n, "`app`", d))
            .map(str::to_string);
        let http = read_http_service(&fields, app.as_deref(), names, tls_names, d);
        let port_number = port_number as u16;
        if let Some(first) = services
            .iter()
            .find(|s| s.port == port_number && s.proto == proto)
        {
            d.error(
                port.span,
                format!(
                    "{}/{port_number} already has a service (line {})",
                    proto.code(),
                    first.span.line
                ),
            );
            continue;
        }
        services.push(Service {
            port: port_number,
            proto,
            app,
            http,
            span: item.span,
        });
    }
    services
}

/// Every written address (routers' and hosts', and those given by links)
/// must be unique in the lab: the second use is an error. Returns the set
/// of addresses in use.
fn check_duplicate_addresses(
    drafts: &[Draft],
    routers: &[Router],
    d: &mut Diags,
) -> HashSet<IpAddr> {
    let mut written: Vec<(Span, IpAddr, &str)> = Vec::new();
    for router in routers {
        for interface in &router.interfaces {
            let owner = router.name.value.as_str();
            written.extend(
                interface
                    .ipv4
                    .map(|a| (interface.span, IpAddr::V4(a), owner)),
            );
            written.extend(
                interface
                    .ipv6
                    .map(|a| (interface.span, IpAddr::V6(a), owner)),
            );
        }
    }
    for draft in drafts {
        let owner = draft.name.value.as_str();
        written.extend(
            draft
                .ipv4
                .as_ref()
                .map(|a| (a.span, IpAddr::V4(a.value), owner)),
        );
        written.extend(
            draft
                .ipv6
                .as_ref()
                .map(|a| (a.span, IpAddr::V6(a.value), owner)),
        );
    }
    written.sort_by_key(|w| w.0);
    let mut owners: HashMap<IpAddr, &str> = HashMap::with_capacity(written.len());
    for (span, address, owner) in written {
        if let Some(first) = owners.get(&address) {
            d.error(span, format!("`{address}` already used by `{first}`"));
        } else {
            owners.insert(address, owner);
        }
    }
    owners.into_keys().collect()
}

/// The host with its addresses: as written, else the first free usable
/// IPv4 address of its network; IPv6 is assigned only on IPv6-only networks.
fn assign(
    draft: &Draft,
    topo: &Topology,
    used: &mut HashSet<IpAddr>,
    cursors: &mut HashMap<(usize, bool), u128>,
    d: &mut Diags,
) -> Host {
    let mut host = Host {
        name: draft.name.clone(),
        network: draft.network.unwrap_or(0),
        ipv4: draft.ipv4.as_ref().map(|a| a.value),
        ipv6: draft.ipv6.as_ref().map(|a| a.value),
        gateway4: None,
        gateway6: None,
        security_groups: draft.security_groups.clone(),
        services: draft.services.clone(),
        tcp: draft.tcp,
        resolvers: Vec::new(),
        resolver_written: false,
        trust: draft.trust.clone(),
        span: draft.name.span,
    };
    let Some(network) = draft.network else {
        return host;
    };
    let net = &topo.networks[network];
    if topo.broken[network] {
        return host;
    }
    if let (false, Some(prefix)) = (draft.ipv4_written, &net.ipv4) {
        let (first, last) = usable_v4(prefix.value);
        let cursor = cursors.entry((network, false)).or_insert(u128::from(first));
        let free = (*cursor as u64..=u64::from(last))
            .map(|a| Ipv4Addr::from(a as u32))
            .find(|a| !used.contains(&IpAddr::V4(*a)));
        match free {
            Some(a) => {
                *cursor = u128::from(u32::from(a)) + 1;
                used.insert(IpAddr::V4(a));
                host.ipv4 = Some(a);
            }
            None => d.error(
                draft.name.span,
                format!(
                    "no free IPv4 address left in `{}` for `{}`",
                    prefix.value, draft.name.value
                ),
            ),
        }
    }
    if let (false, None, Some(prefix)) = (draft.ipv6_written, &net.ipv4, &net.ipv6) {
        let (first, last) = usable_v6(prefix.value);
        // At most `used.len() + 1` candidates are tried in all.
        let cursor = cursors.entry((network, true)).or_insert(first);
        let mut candidate = Some(*cursor);
        while let Some(c) = candidate.filter(|c| *c <= last) {
            if !used.contains(&IpAddr::V6(Ipv6Addr::from(c))) {
                break;
            }
            candidate = c.checked_add(1);
        }
        match candidate.filter(|c| *c <= last) {
            Some(c) => {
                *cursor = c.saturating_add(1);
                let a = Ipv6Addr::from(c);
                used.insert(IpAddr::V6(a));
                host.ipv6 = Some(a);
            }
            None => d.error(
                draft.name.span,
                format!(
                    "no free IPv6 address left in `{}` for `{}`",
                    prefix.value, draft.name.value
                ),
            ),
        }
    }
    host
}

/// Router addresses per network and family: (router, address).
struct RouterAddresses {
    v4: Vec<Vec<(usize, Ipv4Addr)>>,
    v6: Vec<Vec<(usize, Ipv6Addr)>>,
}

impl RouterAddresses {
    fn new(networks: usize, routers: &[Router]) -> Self {
        let mut table = RouterAddresses {
            v4: vec![Vec::new(); networks],
            v6: vec![Vec::new(); networks],
        };
        for (id, router) in routers.iter().enumerate() {
            for interface in &router.interfaces {
                if let Some(a) = interface.ipv4 {
                    table.v4[interface.network].push((id, a));
                }
                if let Some(a) = interface.ipv6 {
                    table.v6[interface.network].push((id, a));
                }
            }
        }
        table
    }
}

fn resolve_gateways(
    drafts: &[Draft],
    hosts: &mut [Host],
    topo: &Topology,
    routers: &[Router],
    d: &mut Diags,
) {
    let table = RouterAddresses::new(topo.networks.len(), routers);
    // Networks already warned about having several routers, per family.
    let mut warned: HashSet<(NetworkId, u8)> = HashSet::new();
    for (draft, host) in drafts.iter().zip(hosts.iter_mut()) {
        let Some(network) = draft.network else {
            continue;
        };
        if topo.broken[network] {
            continue;
        }
        let written = match draft.gateway {
            Some(node) => read_gateway(node, host, network, topo, &table, routers, d),
            None => Gateways::default(),
        };
        host.gateway4 = written.v4;
        host.gateway6 = written.v6;
        if host.ipv4.is_some() && !written.v4_written {
            host.gateway4 = only_router(
                &table.v4[network],
                routers,
                network,
                4,
                draft,
                topo,
                &mut warned,
                d,
            );
        }
        if host.ipv6.is_some() && !written.v6_written {
            host.gateway6 = only_router(
                &table.v6[network],
                routers,
                network,
                6,
                draft,
                topo,
                &mut warned,
                d,
            );
        }
    }
}

/// The gateways written for a host, and which families were written (an
/// invalid one still counts: no default replaces it).
#[derive(Default)]
struct Gateways {
    v4: Option<Ipv4Addr>,
    v6: Option<Ipv6Addr>,
    v4_written: bool,
    v6_written: bool,
}

/// The only router address of a family on a network; several routers give
/// a warning (once per network and family) and no gateway.
#[allow(clippy::too_many_arguments)]
fn only_router<A: Copy>(
    addresses: &[(usize, A)],
    routers: &[Router],
    network: NetworkId,
    family: u8,
    draft: &Draft,
    topo: &Topology,
    warned: &mut HashSet<(NetworkId, u8)>,
    d: &mut Diags,
) -> Option<A> {
    let (first_router, first) = *addresses.first()?;
    if addresses.iter().all(|(r, _)| *r == first_router) {
        return Some(first);
    }
    if warned.insert((network, family)) {
        let mut names: Vec<&str> = addresses
            .iter()
            .map(|(r, _)| routers[*r].name.value.as_str())
            .collect();
        names.dedup();
        d.warning(
            draft.name.span,
            format!(
                "network `{}` has several routers with IPv{family} addresses ({}): its hosts without `gateway:` get no IPv{family} default gateway; pick one with `gateway:`",
                topo.networks[network].name.value,
                names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
            ),
        );
    }
    None
}

/// `gateway: ADDRESS` or `gateway: [ADDRESS, ADDRESS]` (one per family).
fn read_gateway(
    node: &Node,
    host: &Host,
    network: NetworkId,
    topo: &Topology,
    table: &RouterAddresses,
    routers: &[Router],
    d: &mut Diags,
) -> Gateways {
    let items: Vec<&Node> = match &node.value {
        Value::Seq(items) => items.iter().collect(),
        _ => vec![node],
    };
    let net = &topo.networks[network];
    let mut gateways = Gateways::default();
    for item in items {
        let Some(text) = read::string(item, "`gateway`", d) else {
            continue;
        };
        let Ok(address) = text.trim().parse::<IpAddr>() else {
            d.error(item.span, format!("gateway `{text}` is not an IP address"));
            continue;
        };
        let seen = if address.is_ipv4() {
            &mut gateways.v4_written
        } else {
            &mut gateways.v6_written
        };
        if std::mem::replace(seen, true) {
            d.error(
                item.span,
                format!(
                    "`gateway` lists two IPv{} addresses",
                    if address.is_ipv4() { 4 } else { 6 }
                ),
            );
            continue;
        }
        let (inside, own, router_has) = match address {
            IpAddr::V4(a) => (
                net.ipv4.as_ref().map(|p| check_v4_in(a, p.value)),
                host.ipv4 == Some(a),
                table.v4[network].iter().any(|(_, r)| *r == a),
            ),
            IpAddr::V6(a) => (
                net.ipv6.as_ref().map(|p| check_v6_in(a, p.value)),
                host.ipv6 == Some(a),
                table.v6[network].iter().any(|(_, r)| *r == a),
            ),
        };
        let family = if address.is_ipv4() { 4 } else { 6 };
        match inside {
            None => {
                d.error(item.span, format!("gateway `{address}` is IPv{family} but network `{}` has no IPv{family} prefix", net.name.value));
                continue;
            }
            Some(Err(e)) => {
                d.error(
                    item.span,
                    format!(
                        "gateway {e} (network `{}` of `{}`)",
                        net.name.value, host.name.value
                    ),
                );
                continue;
            }
            Some(Ok(())) => {}
        }
        if own {
            d.error(
                item.span,
                format!(
                    "gateway `{address}` is the address of `{}` itself",
                    host.name.value
                ),
            );
            continue;
        }
        if !router_has {
            let routers_here: Vec<String> = routers
                .iter()
                .filter(|r| r.interfaces.iter().any(|i| i.network == network))
                .map(|r| format!("`{}`", r.name.value))
                .collect();
            d.warning(
                item.span,
                format!(
                    "gateway `{address}` is no router's address on network `{}`{}",
                    net.name.value,
                    if routers_here.is_empty() {
                        String::from(" (no router is attached to it)")
                    } else {
                        format!(" (routers there: {})", routers_here.join(", "))
                    }
                ),
            );
        }
        let has_address = if address.is_ipv4() {
            host.ipv4.is_some()
        } else {
            host.ipv6.is_some()
        };
        if !has_address {
            d.warning(
                item.span,
                format!(
                    "`{}` has no IPv{family} address, so this IPv{family} gateway is never used",
                    host.name.value
                ),
            );
        }
        match address {
            IpAddr::V4(a) => gateways.v4 = Some(a),
            IpAddr::V6(a) => gateways.v6 = Some(a),
        }
    }
    gateways
}
