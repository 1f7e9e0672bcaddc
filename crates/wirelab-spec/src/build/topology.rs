//! Networks, `links:`, routers and their routes, and link properties.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::{IpNet, Ipv4Net, Ipv6Net};

use super::addr::{self, check_v4_in, check_v6_in, host_bits_set, parse_prefix};
use super::Names;
use crate::model::{
    Framing, Host, LinkProps, Network, NetworkId, NetworkOrigin, RouteTarget, Router, RouterId,
    RouterInterface, Sp, Span, StaticRoute,
};
use crate::quantity;
use crate::read::{self, Diags, Fields};
use crate::yaml::{Node, Value};

pub(crate) const PROPS_KEYS: [&str; 7] = [
    "bandwidth",
    "delay",
    "loss",
    "mtu",
    "queue",
    "jitter",
    "down",
];
/// What a `link:` event may `set` (`down` has its own events).
pub(crate) const SET_KEYS: [&str; 6] = ["bandwidth", "delay", "loss", "mtu", "queue", "jitter"];
pub(crate) const NETWORK_KEYS: [&str; 4] = ["cidr", "ipv6", "nacl", "link"];
pub(crate) const LINK_KEYS: [&str; 11] = [
    "between",
    "cidr",
    "ipv6",
    "bandwidth",
    "delay",
    "loss",
    "mtu",
    "queue",
    "jitter",
    "down",
    "framing",
];
/// What `framing:` of a link may be.
const FRAMINGS: [Framing; 2] = [Framing::Ethernet, Framing::Ppp];
pub(crate) const ROUTER_KEYS: [&str; 5] = ["interfaces", "routes", "nat", "ospf", "rip"];
pub(crate) const INTERFACE_KEYS: [&str; 2] = ["ip", "ipv6"];
pub(crate) const ROUTE_KEYS: [&str; 4] = ["to", "via", "blackhole", "distance"];
/// Smallest MTU of a link that carries IPv6 (RFC 8200 §5).
pub(crate) const MTU_IPV6_MIN: u32 = 1280;
const QUEUE_PACKETS_MAX: i128 = 1_000_000;
/// Most `links:` entries and most routes of one router.
const LINKS_MAX: usize = 10_000;
const ROUTES_MAX: usize = 10_000;

/// Link properties as written: each key may be absent.
#[derive(Clone, Debug, Default)]
pub(crate) struct PropsDraft {
    bandwidth_bps: Option<u64>,
    delay_ns: Option<u64>,
    loss: Option<f64>,
    mtu: Option<Sp<u32>>,
    queue_packets: Option<u32>,
    jitter_ns: Option<u64>,
    down: Option<bool>,
}

impl PropsDraft {
    /// Per key: this value, else the lab's default, else the built-in one.
    /// Also returns where the MTU was written (for the IPv6 minimum).
    fn resolve(&self, defaults: &PropsDraft) -> (LinkProps, Option<Span>) {
        let builtin = LinkProps::default();
        let mtu = self.mtu.as_ref().or(defaults.mtu.as_ref());
        let props = LinkProps {
            bandwidth_bps: self
                .bandwidth_bps
                .or(defaults.bandwidth_bps)
                .unwrap_or(builtin.bandwidth_bps),
            delay_ns: self
                .delay_ns
                .or(defaults.delay_ns)
                .unwrap_or(builtin.delay_ns),
            loss: self.loss.or(defaults.loss).unwrap_or(builtin.loss),
            mtu: mtu.map_or(builtin.mtu, |m| m.value),
            jitter_ns: self
                .jitter_ns
                .or(defaults.jitter_ns)
                .unwrap_or(builtin.jitter_ns),
            down: self.down.or(defaults.down).unwrap_or(builtin.down),
            // Only a link sets it, after resolving (`read_links`).
            framing: builtin.framing,
            queue_packets: self
                .queue_packets
                .or(defaults.queue_packets)
                .unwrap_or(builtin.queue_packets),
        };
        (props, mtu.map(|m| m.span))
    }

    /// `base` with the keys written here replaced (a `link:` event's `set`).
    pub(crate) fn apply_over(&self, base: LinkProps) -> LinkProps {
        LinkProps {
            bandwidth_bps: self.bandwidth_bps.unwrap_or(base.bandwidth_bps),
            delay_ns: self.delay_ns.unwrap_or(base.delay_ns),
            loss: self.loss.unwrap_or(base.loss),
            mtu: self.mtu.as_ref().map_or(base.mtu, |m| m.value),
            queue_packets: self.queue_packets.unwrap_or(base.queue_packets),
            jitter_ns: self.jitter_ns.unwrap_or(base.jitter_ns),
            down: self.down.unwrap_or(base.down),
            framing: base.framing,
        }
    }

    /// The MTU written here, and where.
    pub(crate) fn mtu(&self) -> Option<&Sp<u32>> {
        self.mtu.as_ref()
    }
}

/// Reads the link-property keys present in `fields` (other keys of the map
/// are checked by the caller).
pub(crate) fn read_props(fields: &Fields, d: &mut Diags) -> PropsDraft {
    let quantity = |key: &str, d: &mut Diags| -> Option<(String, Span)> {
        let node = fields.get(key)?;
        read::scalar_text(node, &format!("`{key}`"), d).map(|text| (text, node.span))
    };
    let mut props = PropsDraft::default();
    if let Some((text, span)) = quantity("bandwidth", d) {
        props.bandwidth_bps = quantity::parse_bandwidth(&text)
            .map_err(|e| d.error(span, e))
            .ok();
    }
    if let Some((text, span)) = quantity("delay", d) {
        props.delay_ns = quantity::parse_delay(&text)
            .map_err(|e| d.error(span, e))
            .ok();
    }
    if let Some((text, span)) = quantity("loss", d) {
        props.loss = quantity::parse_loss(&text)
            .map_err(|e| d.error(span, e))
            .ok();
    }
    if let Some(node) = fields.get("mtu") {
        props.mtu = read::int_in(node, "`mtu`", 68, 9216, d).map(|m| Sp::new(m as u32, node.span));
    }
    if let Some(node) = fields.get("queue") {
        props.queue_packets =
            read::int_in(node, "`queue` (packets)", 1, QUEUE_PACKETS_MAX, d).map(|q| q as u32);
    }
    if let Some((text, span)) = quantity("jitter", d) {
        props.jitter_ns = quantity::parse_delay(&text)
            .map_err(|e| d.error(span, e.replacen("delay", "jitter", 1)))
            .ok();
    }
    if let Some(node) = fields.get("down") {
        props.down = read::boolean(node, "`down`", d);
    }
    props
}

/// `defaults: { link: {...} }`.
pub(crate) fn read_defaults(node: Option<&Node>, d: &mut Diags) -> PropsDraft {
    let Some(node) = node else {
        return PropsDraft::default();
    };
    let Some(fields) = read::fields(node, &["link"], "`defaults`", node.span, d) else {
        return PropsDraft::default();
    };
    match fields.get("link") {
        Some(link) => {
            match fields_not_framing(
                link,
                &PROPS_KEYS,
                "`defaults.link`",
                link.span,
                "a default would make every network point-to-point; set `framing: ppp` on a `links:` entry or in the `link:` of a network with two ends",
                d,
            ) {
                Some(props) => read_props(&props, d),
                None => PropsDraft::default(),
            }
        }
        None => PropsDraft::default(),
    }
}

/// The networks (declared, then one per link) and what the later sections
/// need to know about them.
pub(crate) struct Topology {
    pub networks: Vec<Network>,
    /// Networks whose prefixes could not be read: addresses on them are not
    /// checked further (the prefix error says enough).
    pub broken: Vec<bool>,
    /// Interfaces created by `links:`, appended to their router's own.
    link_interfaces: Vec<(RouterId, RouterInterface)>,
    /// Declared networks whose `link:` says `framing: ppp`, and where: once
    /// hosts are read, [`check_ppp_networks`] holds each to two ends.
    declared_ppp: Vec<(NetworkId, Span)>,
}

pub(crate) fn read_networks(
    entries: Option<&[(Sp<String>, Node)]>,
    defaults: &PropsDraft,
    names: &Names,
    d: &mut Diags,
) -> Topology {
    let mut topo = Topology {
        networks: Vec::new(),
        broken: Vec::new(),
        link_interfaces: Vec::new(),
        declared_ppp: Vec::new(),
    };
    for (name, node) in entries.unwrap_or(&[]) {
        let what = format!("network `{}`", name.value);
        let mut network = Network {
            name: name.clone(),
            ipv4: None,
            ipv6: None,
            nacl: None,
            link: LinkProps::default(),
            origin: NetworkOrigin::Declared,
        };
        let Some(fields) = fields_not_framing(
            node,
            &NETWORK_KEYS,
            &what,
            name.span,
            "a network's framing is a link property: write it in its `link:` (`link: { framing: ppp }`)",
            d,
        ) else {
            topo.networks.push(network);
            topo.broken.push(true);
            continue;
        };
        let (ipv4, ipv6, broken) = read_prefixes(&fields, &what, d);
        network.ipv4 = ipv4;
        network.ipv6 = ipv6;
        if let Some(nacl) = fields.get("nacl") {
            if let Some(nacl_name) = read::string(nacl, "`nacl`", d) {
                network.nacl = names.nacls.get(nacl_name);
                if network.nacl.is_none() {
                    d.error_help(
                        nacl.span,
                        format!("unknown NACL `{nacl_name}`"),
                        names.nacls.suggest(nacl_name),
                    );
                }
            }
        }
        let mut framing = None;
        let own = match fields.get("link") {
            Some(link) => {
                let mut keys = PROPS_KEYS.to_vec();
                keys.push("framing");
                match read::fields(link, &keys, "link properties", link.span, d) {
                    Some(f) => {
                        framing = read_framing(&f, d).zip(f.get("framing").map(|n| n.span));
                        read_props(&f, d)
                    }
                    None => PropsDraft::default(),
                }
            }
            None => PropsDraft::default(),
        };
        network.link = resolve_link(&own, defaults, &network, d);
        if let Some((framing, at)) = framing {
            network.link.framing = framing;
            if framing == Framing::Ppp {
                topo.declared_ppp.push((topo.networks.len(), at));
            }
        }
        topo.networks.push(network);
        topo.broken.push(broken);
    }
    topo
}

/// Like [`read::fields`], where a misplaced `framing:` gets its own
/// message and `help`: a `links:` entry and a network's `link:` set it;
/// `defaults.link` would make every network point-to-point, and a
/// network's own keys are not link properties.
pub(crate) fn fields_not_framing<'a>(
    node: &'a Node,
    allowed: &[&str],
    what: &str,
    at: Span,
    help: &str,
    d: &mut Diags,
) -> Option<Fields<'a>> {
    if let Value::Map(entries) = &node.value {
        for (key, _) in entries.iter().filter(|(k, _)| k.value == "framing") {
            d.error_help(
                key.span,
                format!("`framing` is not allowed in {what}"),
                Some(help.to_string()),
            );
        }
    }
    let mut keys: Vec<&str> = allowed.to_vec();
    keys.push("framing");
    read::fields(node, &keys, what, at, d)
}

/// `framing:` of a link: `ethernet` (the default) or `ppp`.
fn read_framing(fields: &Fields, d: &mut Diags) -> Option<Framing> {
    let node = fields.get("framing")?;
    let text = read::string(node, "`framing`", d)?;
    let found = FRAMINGS.iter().find(|f| f.name() == text).copied();
    if found.is_none() {
        let names: Vec<&str> = FRAMINGS.iter().map(|f| f.name()).collect();
        d.error_help(
            node.span,
            format!("unknown framing `{text}`"),
            read::did_you_mean(text, names.iter().copied())
                .or_else(|| Some(format!("valid values: {}", names.join(", ")))),
        );
    }
    found
}

/// `cidr:` and `ipv6:` of a network or link; at least one is required.
/// The flag says whether a written prefix was unusable.
fn read_prefixes(
    fields: &Fields,
    what: &str,
    d: &mut Diags,
) -> (Option<Sp<Ipv4Net>>, Option<Sp<Ipv6Net>>, bool) {
    let mut broken = false;
    let mut ipv4 = None;
    let mut ipv6 = None;
    if let Some(node) = fields.get("cidr") {
        match read_canonical_prefix(node, "`cidr`", d) {
            Some(IpNet::V4(net)) => ipv4 = Some(Sp::new(net, node.span)),
            Some(IpNet::V6(net)) => {
                d.error(
                    node.span,
                    format!("`cidr` takes an IPv4 prefix; put `{net}` under `ipv6:`"),
                );
                broken = true;
            }
            None => broken = true,
        }
    }
    if let Some(node) = fields.get("ipv6") {
        match read_canonical_prefix(node, "`ipv6`", d) {
            Some(IpNet::V6(net)) => ipv6 = Some(Sp::new(net, node.span)),
            Some(IpNet::V4(net)) => {
                d.error(
                    node.span,
                    format!("`ipv6` takes an IPv6 prefix; put `{net}` under `cidr:`"),
                );
                broken = true;
            }
            None => broken = true,
        }
    }
    if fields.get("cidr").is_none() && fields.get("ipv6").is_none() {
        d.error(
            fields.at,
            format!("{what} needs a prefix: `cidr:` (IPv4), `ipv6:`, or both"),
        );
        broken = true;
    }
    (ipv4, ipv6, broken)
}

/// A prefix that must not have host bits set (networks, links, routes).
pub(crate) fn read_canonical_prefix(node: &Node, what: &str, d: &mut Diags) -> Option<IpNet> {
    let text = read::string(node, what, d)?;
    let net = parse_prefix(text).map_err(|e| d.error(node.span, e)).ok()?;
    if let Some(canonical) = host_bits_set(net) {
        d.error_help(
            node.span,
            format!("prefix `{net}` has host bits set"),
            Some(format!("did you mean `{canonical}`?")),
        );
        return None;
    }
    Some(net)
}

fn resolve_link(
    own: &PropsDraft,
    defaults: &PropsDraft,
    network: &Network,
    d: &mut Diags,
) -> LinkProps {
    let (props, mtu_span) = own.resolve(defaults);
    if network.ipv6.is_some() && props.mtu < MTU_IPV6_MIN {
        d.error(
            mtu_span.unwrap_or(network.name.span),
            format!(
                "MTU {} is below {MTU_IPV6_MIN}, the IPv6 minimum, and network `{}` carries IPv6",
                props.mtu, network.name.value
            ),
        );
    }
    props
}

/// `links:`: each entry becomes a network named `A-B` whose first usable
/// address goes to A and the next to B.
pub(crate) fn read_links(
    node: Option<&Node>,
    defaults: &PropsDraft,
    names: &mut Names,
    topo: &mut Topology,
    d: &mut Diags,
) {
    let Some(node) = node else { return };
    let Some(items) = read::seq(node, "`links`", d) else {
        return;
    };
    if items.len() > LINKS_MAX {
        d.error(
            node.span,
            format!("too many links ({}; the limit is {LINKS_MAX})", items.len()),
        );
        return;
    }
    for (index, item) in items.iter().enumerate() {
        let what = "a link";
        let Some(fields) = read::fields(item, &LINK_KEYS, what, item.span, d) else {
            continue;
        };
        let Some((a, b, between_span)) = read_between(&fields, names, d) else {
            continue;
        };
        let name = Sp::new(format!("{}-{}", a.value, b.value), between_span);
        if !names.networks.add(name.clone()) {
            let other = names
                .networks
                .get(&name.value)
                .map(|i| names.networks.names[i].span.line);
            d.error(
                between_span,
                format!(
                    "this link creates the network `{}`, which is already declared (line {})",
                    name.value,
                    other.unwrap_or(0)
                ),
            );
            continue;
        }
        let (ipv4, ipv6, mut broken) = read_prefixes(&fields, &format!("link `{}`", name.value), d);
        let mut network = Network {
            name,
            ipv4,
            ipv6,
            nacl: None,
            link: LinkProps::default(),
            origin: NetworkOrigin::Link(index),
        };
        network.link = resolve_link(&read_props(&fields, d), defaults, &network, d);
        if let Some(framing) = read_framing(&fields, d) {
            network.link.framing = framing;
        }
        let pair_v4 = network.ipv4.as_ref().and_then(|net| {
            let pair = link_pair_v4(net.value);
            if pair.is_none() {
                d.error(
                    net.span,
                    format!("`{}` is too small for two routers", net.value),
                );
                broken = true;
            }
            pair
        });
        let pair_v6 = network.ipv6.as_ref().and_then(|net| {
            let pair = link_pair_v6(net.value);
            if pair.is_none() {
                d.error(
                    net.span,
                    format!("`{}` is too small for two routers", net.value),
                );
                broken = true;
            }
            pair
        });
        let id: NetworkId = topo.networks.len();
        for (end, router) in [a, b].iter().enumerate() {
            if let Some(router_id) = names.routers.get(&router.value) {
                let interface = RouterInterface {
                    network: id,
                    ipv4: pair_v4.map(|p| p[end]),
                    ipv6: pair_v6.map(|p| p[end]),
                    span: item.span,
                };
                topo.link_interfaces.push((router_id, interface));
            }
        }
        topo.networks.push(network);
        topo.broken.push(broken);
    }
}

/// `between: [r1, r2]`: two different declared routers.
fn read_between(
    fields: &Fields,
    names: &Names,
    d: &mut Diags,
) -> Option<(Sp<String>, Sp<String>, Span)> {
    let node = fields.require("between", "a link", d)?;
    let items = read::seq(node, "`between`", d)?;
    if items.len() != 2 {
        d.error(
            node.span,
            format!("`between` names two routers, found {}", items.len()),
        );
        return None;
    }
    let mut ends = Vec::with_capacity(2);
    for item in items {
        let name = read::string(item, "a router name", d)?;
        if names.routers.get(name).is_none() {
            let help = if names.hosts.get(name).is_some() {
                Some(format!(
                    "`{name}` is a host; links join routers declared under `routers:`"
                ))
            } else {
                names.routers.suggest(name)
            };
            d.error_help(
                item.span,
                format!("unknown router `{name}` in `between`"),
                help,
            );
        }
        ends.push(Sp::new(name.to_string(), item.span));
    }
    let b = ends.pop()?;
    let a = ends.pop()?;
    if a.value == b.value {
        d.error(
            b.span,
            format!(
                "a link joins two different routers, found `{}` twice",
                a.value
            ),
        );
        return None;
    }
    Some((a, b, node.span))
}

fn link_pair_v4(net: Ipv4Net) -> Option<[Ipv4Addr; 2]> {
    let (first, last) = addr::usable_v4(net);
    (first < last).then(|| [Ipv4Addr::from(first), Ipv4Addr::from(first + 1)])
}

fn link_pair_v6(net: Ipv6Net) -> Option<[Ipv6Addr; 2]> {
    let (network, last) = (u128::from(net.network()), u128::from(net.broadcast()));
    match net.prefix_len() {
        128 => None,
        127 => Some([Ipv6Addr::from(network), Ipv6Addr::from(last)]),
        _ => Some([Ipv6Addr::from(network + 1), Ipv6Addr::from(network + 2)]),
    }
}

pub(crate) fn read_routers(
    entries: Option<&[(Sp<String>, Node)]>,
    names: &Names,
    topo: &mut Topology,
    d: &mut Diags,
) -> Vec<Router> {
    let mut routers: Vec<Router> = Vec::new();
    let mut route_nodes: Vec<Option<&Node>> = Vec::new();
    for (name, node) in entries.unwrap_or(&[]) {
        let what = format!("router `{}`", name.value);
        let mut router = Router {
            name: name.clone(),
            interfaces: Vec::new(),
            routes: Vec::new(),
            nat: Default::default(),
            ospf: None,
            rip: None,
        };
        let fields = match &node.value {
            // A router with nothing written (only links) is fine.
            Value::Null => None,
            _ => read::fields(node, &ROUTER_KEYS, &what, name.span, d),
        };
        if let Some(interfaces) = fields.as_ref().and_then(|f| f.get("interfaces")) {
            router.interfaces = read_interfaces(interfaces, &router.name, names, topo, d);
        }
        route_nodes.push(fields.as_ref().and_then(|f| f.get("routes")));
        routers.push(router);
    }
    for (router_id, interface) in std::mem::take(&mut topo.link_interfaces) {
        let router = &mut routers[router_id];
        if let Some(existing) = router
            .interfaces
            .iter()
            .find(|i| i.network == interface.network)
        {
            d.error(
                interface.span,
                format!(
                    "router `{}` is attached to `{}` twice (its `interfaces:` at line {} and this link)",
                    router.name.value, topo.networks[interface.network].name.value, existing.span.line
                ),
            );
            continue;
        }
        router.interfaces.push(interface);
    }
    for (router, routes) in routers.iter_mut().zip(route_nodes) {
        if let Some(routes) = routes {
            router.routes = read_routes(routes, router, topo, d);
        }
    }
    routers
}

fn read_interfaces(
    node: &Node,
    router: &Sp<String>,
    names: &Names,
    topo: &Topology,
    d: &mut Diags,
) -> Vec<RouterInterface> {
    let mut interfaces = Vec::new();
    let Some(entries) = read::map_or_empty(node, "`interfaces`", d) else {
        return interfaces;
    };
    for (network_name, value) in entries {
        let Some(network) = names.networks.get(&network_name.value) else {
            d.error_help(
                network_name.span,
                format!(
                    "unknown network `{}` in the interfaces of `{}`",
                    network_name.value, router.value
                ),
                names.networks.suggest(&network_name.value),
            );
            continue;
        };
        // Links are numbered after the declared networks in both tables.
        let Some(net) = topo.networks.get(network) else {
            continue;
        };
        let mut interface = RouterInterface {
            network,
            ipv4: None,
            ipv6: None,
            span: value.span,
        };
        let check = !topo.broken[network];
        match &value.value {
            Value::Str(text) => match text.trim().parse::<IpAddr>() {
                Ok(IpAddr::V4(a)) => interface.ipv4 = check_v4(a, net, value.span, check, d),
                Ok(IpAddr::V6(a)) => interface.ipv6 = check_v6(a, net, value.span, check, d),
                Err(_) => d.error(value.span, format!("`{text}` is not an IP address")),
            },
            Value::Map(_) => {
                let what = format!("interface `{}` of `{}`", network_name.value, router.value);
                if let Some(fields) =
                    read::fields(value, &INTERFACE_KEYS, &what, network_name.span, d)
                {
                    if let Some(ip) = fields.get("ip") {
                        interface.ipv4 = read_v4_d(ip, "ip", d)
                            .and_then(|a| check_v4(a, net, ip.span, check, d));
                    }
                    if let Some(ip) = fields.get("ipv6") {
                        interface.ipv6 =
                            read_v6(ip, d).and_then(|a| check_v6(a, net, ip.span, check, d));
                    }
                    if fields.get("ip").is_none() && fields.get("ipv6").is_none() {
                        d.error(
                            value.span,
                            format!("{what} needs an address: `ip:`, `ipv6:` or both"),
                        );
                    }
                }
            }
            other => d.error(
                value.span,
                format!(
                    "an interface is an address or `{{ ip, ipv6 }}`, found {}",
                    read::describe(other)
                ),
            ),
        }
        interfaces.push(interface);
    }
    interfaces
}

/// An IPv4 address written under `key`; reports what is wrong.
pub(crate) fn read_v4_d(node: &Node, key: &str, d: &mut Diags) -> Option<Ipv4Addr> {
    let text = read::string(node, &format!("`{key}`"), d)?;
    match text.trim().parse::<IpAddr>() {
        Ok(IpAddr::V4(a)) => Some(a),
        Ok(IpAddr::V6(_)) => {
            d.error(
                node.span,
                format!("`{key}` takes an IPv4 address; put `{text}` under `ipv6:`"),
            );
            None
        }
        Err(_) if text.contains('/') => {
            d.error(
                node.span,
                format!("`{key}` takes an address without a prefix length, found `{text}`"),
            );
            None
        }
        Err(_) => {
            d.error(node.span, format!("`{text}` is not an IPv4 address"));
            None
        }
    }
}

/// An IPv6 address written under `ipv6`; reports what is wrong.
pub(crate) fn read_v6(node: &Node, d: &mut Diags) -> Option<Ipv6Addr> {
    let text = read::string(node, "`ipv6`", d)?;
    match text.trim().parse::<IpAddr>() {
        Ok(IpAddr::V6(a)) => Some(a),
        Ok(IpAddr::V4(_)) => {
            d.error(
                node.span,
                format!("`ipv6` takes an IPv6 address; put `{text}` under `ip:`"),
            );
            None
        }
        Err(_) if text.contains('/') => {
            d.error(
                node.span,
                format!("`ipv6` takes an address without a prefix length, found `{text}`"),
            );
            None
        }
        Err(_) => {
            d.error(node.span, format!("`{text}` is not an IPv6 address"));
            None
        }
    }
}

/// `addr` as a node address on `net`; `check` is false on a network whose
/// prefixes are broken (the address is then kept unchecked).
pub(crate) fn check_v4(
    addr: Ipv4Addr,
    net: &Network,
    span: Span,
    check: bool,
    d: &mut Diags,
) -> Option<Ipv4Addr> {
    if !check {
        return Some(addr);
    }
    let Some(prefix) = &net.ipv4 else {
        d.error(
            span,
            format!(
                "`{addr}` is IPv4 but network `{}` has no IPv4 prefix (`cidr:`)",
                net.name.value
            ),
        );
        return None;
    };
    match check_v4_in(addr, prefix.value) {
        Ok(()) => Some(addr),
        Err(e) => {
            d.error(span, format!("{e} (network `{}`)", net.name.value));
            None
        }
    }
}

pub(crate) fn check_v6(
    addr: Ipv6Addr,
    net: &Network,
    span: Span,
    check: bool,
    d: &mut Diags,
) -> Option<Ipv6Addr> {
    if !check {
        return Some(addr);
    }
    let Some(prefix) = &net.ipv6 else {
        d.error(
            span,
            format!(
                "`{addr}` is IPv6 but network `{}` has no IPv6 prefix (`ipv6:`)",
                net.name.value
            ),
        );
        return None;
    };
    match check_v6_in(addr, prefix.value) {
        Ok(()) => Some(addr),
        Err(e) => {
            d.error(span, format!("{e} (network `{}`)", net.name.value));
            None
        }
    }
}

fn read_routes(node: &Node, router: &Router, topo: &Topology, d: &mut Diags) -> Vec<StaticRoute> {
    let mut routes: Vec<StaticRoute> = Vec::new();
    let Some(items) = read::seq(node, "`routes`", d) else {
        return routes;
    };
    if items.len() > ROUTES_MAX {
        d.error(
            node.span,
            format!(
                "too many routes ({}; the limit is {ROUTES_MAX})",
                items.len()
            ),
        );
        return routes;
    }
    let mut seen: std::collections::HashMap<IpNet, Span> = std::collections::HashMap::new();
    for item in items {
        let Some(fields) = read::fields(item, &ROUTE_KEYS, "a route", item.span, d) else {
            continue;
        };
        let Some(to_node) = fields.require("to", "a route", d) else {
            continue;
        };
        let Some(to) = read_canonical_prefix(to_node, "`to`", d) else {
            continue;
        };
        if let Some(first) = seen.insert(to, to_node.span) {
            d.error(
                to_node.span,
                format!(
                    "`{}` already has a route to `{to}` (line {})",
                    router.name.value, first.line
                ),
            );
            continue;
        }
        let blackhole = match fields.get("blackhole") {
            Some(b) => read::boolean(b, "`blackhole`", d).unwrap_or(false),
            None => false,
        };
        let target = match (fields.get("via"), blackhole) {
            (Some(via), true) => {
                d.error(
                    via.span,
                    "a route has either `via:` or `blackhole: true`, not both",
                );
                continue;
            }
            (None, false) => {
                d.error(
                    item.span,
                    format!("the route to `{to}` needs `via: ADDRESS` or `blackhole: true`"),
                );
                continue;
            }
            (None, true) => RouteTarget::Blackhole,
            (Some(via), false) => match read_next_hop(via, to, router, topo, d) {
                Some(hop) => RouteTarget::Via(hop),
                None => continue,
            },
        };
        let distance = match fields.get("distance") {
            Some(n) => match read::int_in(n, "`distance`", 1, 255, d) {
                Some(v) => v as u8,
                None => continue,
            },
            None => 1,
        };
        routes.push(StaticRoute {
            to,
            target,
            distance,
            span: item.span,
        });
    }
    routes
}

/// `via`: an address of the route's family, on a network connected to the
/// router, and not the router's own.
fn read_next_hop(
    node: &Node,
    to: IpNet,
    router: &Router,
    topo: &Topology,
    d: &mut Diags,
) -> Option<IpAddr> {
    let text = read::string(node, "`via`", d)?;
    let Ok(hop) = text.trim().parse::<IpAddr>() else {
        d.error(node.span, format!("next hop `{text}` is not an IP address"));
        return None;
    };
    if hop.is_ipv4() != matches!(to, IpNet::V4(_)) {
        d.error(
            node.span,
            format!("next hop `{hop}` and destination `{to}` are of different IP families"),
        );
        return None;
    }
    let connected = router.interfaces.iter().any(|i| {
        let net = &topo.networks[i.network];
        match hop {
            IpAddr::V4(a) => net.ipv4.as_ref().is_some_and(|p| p.value.contains(&a)),
            IpAddr::V6(a) => net.ipv6.as_ref().is_some_and(|p| p.value.contains(&a)),
        }
    });
    if !connected {
        let broken = router.interfaces.iter().any(|i| topo.broken[i.network]);
        if !broken {
            let prefixes: Vec<String> = router
                .interfaces
                .iter()
                .flat_map(|i| {
                    let net = &topo.networks[i.network];
                    let v4 = net.ipv4.as_ref().map(|p| p.value.to_string());
                    let v6 = net.ipv6.as_ref().map(|p| p.value.to_string());
                    v4.into_iter().chain(v6)
                })
                .collect();
            let help = if prefixes.is_empty() {
                format!("`{}` has no interfaces", router.name.value)
            } else {
                format!("its networks: {}", prefixes.join(", "))
            };
            d.error_help(
                node.span,
                format!(
                    "next hop `{hop}` is not on a network connected to `{}`",
                    router.name.value
                ),
                Some(help),
            );
        }
        return None;
    }
    let own = router.interfaces.iter().any(|i| match hop {
        IpAddr::V4(a) => i.ipv4 == Some(a),
        IpAddr::V6(a) => i.ipv6 == Some(a),
    });
    if own {
        d.error(
            node.span,
            format!(
                "next hop `{hop}` is an address of `{}` itself",
                router.name.value
            ),
        );
        return None;
    }
    if let Some(peer) = ppp_peer_mismatch(hop, router, topo) {
        d.error_help(
            node.span,
            format!("next hop `{hop}` is not the other end of the point-to-point link `{}`", peer.0),
            Some(match peer.1 {
                Some(addr) => format!("on a `framing: ppp` link the next hop is the other router: `{addr}`"),
                None => "on a `framing: ppp` link the next hop is the other router, which has no address of this family there".to_string(),
            }),
        );
        return None;
    }
    Some(hop)
}

/// When `hop` lies on a `framing: ppp` link of `router` and is not the
/// other router's address there: the link's name and that address. A
/// point-to-point link has one receiver, so another next hop could only
/// be a mistake (Linux refuses it on a peer-to-peer interface too).
fn ppp_peer_mismatch(
    hop: IpAddr,
    router: &Router,
    topo: &Topology,
) -> Option<(String, Option<IpAddr>)> {
    let iface = router.interfaces.iter().find(|i| {
        let net = &topo.networks[i.network];
        match hop {
            IpAddr::V4(a) => net.ipv4.as_ref().is_some_and(|p| p.value.contains(&a)),
            IpAddr::V6(a) => net.ipv6.as_ref().is_some_and(|p| p.value.contains(&a)),
        }
    })?;
    let net = &topo.networks[iface.network];
    // A declared PPP network's ends are known once hosts are read
    // ([`check_ppp_networks`]).
    if net.link.framing != Framing::Ppp || net.origin == NetworkOrigin::Declared {
        return None;
    }
    // The two ends' addresses follow from the prefix (see `read_links`).
    let (mine, pair): (Option<IpAddr>, Option<[IpAddr; 2]>) = match hop {
        IpAddr::V4(_) => (
            iface.ipv4.map(IpAddr::V4),
            net.ipv4
                .as_ref()
                .and_then(|p| link_pair_v4(p.value))
                .map(|p| p.map(IpAddr::V4)),
        ),
        IpAddr::V6(_) => (
            iface.ipv6.map(IpAddr::V6),
            net.ipv6
                .as_ref()
                .and_then(|p| link_pair_v6(p.value))
                .map(|p| p.map(IpAddr::V6)),
        ),
    };
    let peer = pair.and_then(|p| p.into_iter().find(|&a| Some(a) != mine));
    (peer != Some(hop)).then(|| (net.name.value.clone(), peer))
}

/// One end of a declared `framing: ppp` network: a host, or a router's
/// interface there.
struct PppEnd<'a> {
    name: &'a str,
    v4: Option<IpAddr>,
    v6: Option<IpAddr>,
    router: Option<&'a Router>,
}

/// A declared network with `framing: ppp` must have exactly two ends
/// (hosts and router interfaces on it): PPP frames carry no hardware
/// address, so the other end is the only possible receiver. A router's
/// static route through such a network must name the other end, as on a
/// `links:` entry.
pub(crate) fn check_ppp_networks(
    topo: &Topology,
    routers: &[Router],
    hosts: &[Host],
    d: &mut Diags,
) {
    for &(id, at) in &topo.declared_ppp {
        let net = &topo.networks[id];
        let mut ends: Vec<PppEnd> = Vec::new();
        for router in routers {
            for iface in router.interfaces.iter().filter(|i| i.network == id) {
                ends.push(PppEnd {
                    name: &router.name.value,
                    v4: iface.ipv4.map(IpAddr::V4),
                    v6: iface.ipv6.map(IpAddr::V6),
                    router: Some(router),
                });
            }
        }
        for host in hosts.iter().filter(|h| h.network == id) {
            ends.push(PppEnd {
                name: &host.name.value,
                v4: host.ipv4.map(IpAddr::V4),
                v6: host.ipv6.map(IpAddr::V6),
                router: None,
            });
        }
        if ends.len() != 2 {
            let names: Vec<&str> = ends.iter().map(|e| e.name).collect();
            let has = match names.len() {
                0 => "nothing on it".to_string(),
                1 => format!("only `{}` on it", names[0]),
                n => format!("{n} ends: {}", names.join(", ")),
            };
            d.error_help(
                at,
                format!(
                    "network `{}` is point-to-point (`framing: ppp`) but has {has}",
                    net.name.value
                ),
                Some("PPP joins exactly two ends (a host or router interface each); a shared segment needs `ethernet` framing".to_string()),
            );
            continue;
        }
        for (mine, other) in [(0, 1), (1, 0)] {
            let Some(router) = ends[mine].router else {
                continue;
            };
            for route in &router.routes {
                let RouteTarget::Via(hop) = route.target else {
                    continue;
                };
                let (on_net, peer) = match hop {
                    IpAddr::V4(a) => (
                        net.ipv4.as_ref().is_some_and(|p| p.value.contains(&a)),
                        ends[other].v4,
                    ),
                    IpAddr::V6(a) => (
                        net.ipv6.as_ref().is_some_and(|p| p.value.contains(&a)),
                        ends[other].v6,
                    ),
                };
                if on_net && peer != Some(hop) {
                    d.error_help(
                        route.span,
                        format!(
                            "next hop `{hop}` is not the other end of the point-to-point network `{}`",
                            net.name.value
                        ),
                        Some(match peer {
                            Some(addr) => format!("on a `framing: ppp` network the next hop is the other end, `{}`: `{addr}`", ends[other].name),
                            None => format!("on a `framing: ppp` network the next hop is the other end, `{}`, which has no address of this family there", ends[other].name),
                        }),
                    );
                }
            }
        }
    }
}

/// Two networks may not share addresses.
pub(crate) fn check_overlaps(topo: &Topology, d: &mut Diags) {
    // (first address, last address, network): IPv4 ranges, then IPv6 ones.
    for family in [4u8, 6] {
        let mut ranges: Vec<(u128, u128, usize, String, Span)> = Vec::new();
        for (index, net) in topo.networks.iter().enumerate() {
            match family {
                4 => {
                    if let Some(p) = &net.ipv4 {
                        let (a, b) = (u32::from(p.value.network()), u32::from(p.value.broadcast()));
                        ranges.push((a.into(), b.into(), index, p.value.to_string(), p.span));
                    }
                }
                _ => {
                    if let Some(p) = &net.ipv6 {
                        let (a, b) = (
                            u128::from(p.value.network()),
                            u128::from(p.value.broadcast()),
                        );
                        ranges.push((a, b, index, p.value.to_string(), p.span));
                    }
                }
            }
        }
        ranges.sort_by_key(|r| (r.0, std::cmp::Reverse(r.1)));
        let mut widest: Option<usize> = None;
        for current in 0..ranges.len() {
            if let Some(w) = widest {
                if ranges[current].0 <= ranges[w].1 {
                    let (earlier, later) = if ranges[w].4 <= ranges[current].4 {
                        (w, current)
                    } else {
                        (current, w)
                    };
                    let (e, l) = (&ranges[earlier], &ranges[later]);
                    d.error(
                        l.4,
                        format!(
                            "`{}` (network `{}`) overlaps `{}` (network `{}`)",
                            l.3, topo.networks[l.2].name.value, e.3, topo.networks[e.2].name.value
                        ),
                    );
                }
                if ranges[current].1 > ranges[w].1 {
                    widest = Some(current);
                }
            } else {
                widest = Some(current);
            }
        }
    }
}
