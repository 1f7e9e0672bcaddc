//! `nat:` on routers (an extension of the format): source NAT and
//! masquerade, port forwarding, one-to-one mappings (elastic IPs).
//!
//! Read after hosts, so that a mapping may name a host and so that public
//! addresses can be checked against every address of the lab. NAT is
//! IPv4-only: an IPv6 value is an error that says so.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};

use ipnet::{IpNet, Ipv4Net};

use super::topology::read_canonical_prefix;
use crate::model::{
    Host, Nat, Network, PortForward, PortRange, Router, SourceNat, Sp, Span, StaticNat,
    TransportProto,
};
use crate::read::{self, did_you_mean, Diags, Fields};
use crate::yaml::{Node, Value};

pub(crate) const NAT_KEYS: [&str; 3] = ["source", "forward", "static"];
pub(crate) const SOURCE_KEYS: [&str; 4] = ["from", "out", "to", "ports"];
pub(crate) const FORWARD_KEYS: [&str; 5] = ["in", "proto", "port", "ports", "to"];
pub(crate) const STATIC_KEYS: [&str; 3] = ["private", "public", "on"];
/// Most rules of one kind on one router.
const RULES_MAX: usize = 1_000;
/// Most addresses in one source pool.
const POOL_MAX: u32 = 65_536;
/// The ports source NAT uses when `ports` is absent (as an AWS NAT gateway).
pub const SOURCE_PORTS_DEFAULT: PortRange = PortRange {
    first: 1024,
    last: 65535,
};
const IPV4_ONLY: &str =
    "NAT is IPv4-only (there is no NAT66: IPv6 addresses are routed as they are)";

/// Every address written by a node, for "already used" checks.
struct Owners(BTreeMap<Ipv4Addr, String>);

impl Owners {
    fn of(routers: &[Router], hosts: &[Host]) -> Owners {
        let mut owners = BTreeMap::new();
        for r in routers {
            for i in &r.interfaces {
                if let Some(a) = i.ipv4 {
                    owners.insert(a, format!("router `{}`", r.name.value));
                }
            }
        }
        for h in hosts {
            if let Some(a) = h.ipv4 {
                owners.insert(a, format!("host `{}`", h.name.value));
            }
        }
        Owners(owners)
    }
}

/// A public address or pool claimed by a NAT rule, for overlap checks
/// across the whole lab.
struct Claim {
    first: u32,
    last: u32,
    what: String,
    span: Span,
}

/// Reads the `nat:` of every router into `routers[i].nat`.
pub(crate) fn read_nat(
    entries: Option<&[(Sp<String>, Node)]>,
    routers: &mut [Router],
    hosts: &[Host],
    networks: &[Network],
    d: &mut Diags,
) {
    let owners = Owners::of(routers, hosts);
    let mut claims: Vec<Claim> = Vec::new();
    for (index, (_, node)) in entries.unwrap_or(&[]).iter().enumerate() {
        let Value::Map(keys) = &node.value else {
            continue;
        };
        let Some((key, nat)) = keys.iter().find(|(k, _)| k.value == "nat") else {
            continue;
        };
        // `nat:` with nothing under it translates nothing.
        if nat.value == Value::Null {
            continue;
        }
        let Some(router) = routers.get(index) else {
            continue;
        };
        let ctx = Ctx {
            router,
            hosts,
            networks,
            owners: &owners,
        };
        let what = format!("the `nat` of `{}`", router.name.value);
        let Some(fields) = read::fields(nat, &NAT_KEYS, &what, key.span, d) else {
            continue;
        };
        let mut out = Nat::default();
        for item in rules(&fields, "source", d) {
            if let Some(rule) = ctx.source(item, d) {
                if !rule.masquerade {
                    let what = format!("the pool of `{}`", router.name.value);
                    claim(&mut claims, rule.first, rule.last, what, item.span, d);
                }
                out.source.push(rule);
            }
        }
        for item in rules(&fields, "forward", d) {
            if let Some(rule) = ctx.forward(item, &out.forward, d) {
                out.forward.push(rule);
            }
        }
        for item in rules(&fields, "static", d) {
            if let Some(rule) = ctx.static_map(item, &out.static_maps, d) {
                let what = format!("a static mapping of `{}`", router.name.value);
                claim(&mut claims, rule.public, rule.public, what, item.span, d);
                out.static_maps.push(rule);
            }
        }
        routers[index].nat = out;
    }
}

fn rules<'a>(fields: &Fields<'a>, key: &str, d: &mut Diags) -> &'a [Node] {
    let Some(node) = fields.get(key) else {
        return &[];
    };
    let Some(items) = read::seq(node, &format!("`{key}`"), d) else {
        return &[];
    };
    if items.len() > RULES_MAX {
        d.error(
            node.span,
            format!(
                "too many `{key}` rules ({}; the limit is {RULES_MAX})",
                items.len()
            ),
        );
        return &[];
    }
    items
}

/// Public addresses may be claimed once in the whole lab.
fn claim(
    claims: &mut Vec<Claim>,
    first: Ipv4Addr,
    last: Ipv4Addr,
    what: String,
    span: Span,
    d: &mut Diags,
) {
    let (first, last) = (u32::from(first), u32::from(last));
    if let Some(c) = claims.iter().find(|c| c.first <= last && first <= c.last) {
        let shared = Ipv4Addr::from(first.max(c.first));
        d.error(
            span,
            format!(
                "public address `{shared}` is already used by {} (line {}): a public address maps to one place",
                c.what, c.span.line
            ),
        );
        return;
    }
    claims.push(Claim {
        first,
        last,
        what,
        span,
    });
}

struct Ctx<'a> {
    router: &'a Router,
    hosts: &'a [Host],
    networks: &'a [Network],
    owners: &'a Owners,
}

impl Ctx<'_> {
    /// `{ from, out, to, ports }`.
    fn source(&self, item: &Node, d: &mut Diags) -> Option<SourceNat> {
        let fields = read::fields(item, &SOURCE_KEYS, "a source NAT rule", item.span, d)?;
        let from = fields
            .require("from", "a source NAT rule", d)
            .and_then(|n| self.v4_prefix(n, d));
        let out = fields
            .require("out", "a source NAT rule", d)
            .and_then(|n| self.iface(n, "out", d));
        let ports = match fields.get("ports") {
            Some(n) => read_ports(n, d),
            None => Some(SOURCE_PORTS_DEFAULT),
        };
        let to = fields.require("to", "a source NAT rule", d)?;
        let text = read::scalar_text(to, "`to`", d)?;
        let text = text.trim();
        let out = out?;
        let (masquerade, first, last) = if text == "masquerade" {
            let a = self.iface_v4(out, to.span, "masquerade", d)?;
            (true, a, a)
        } else {
            let (first, last) = self.pool(to, "to", text, d)?;
            (false, first, last)
        };
        Some(SourceNat {
            from: from?,
            out,
            masquerade,
            first,
            last,
            ports: ports?,
            span: item.span,
        })
    }

    /// `{ in, proto, port | ports, to: ADDRESS[:PORT] }`.
    fn forward(&self, item: &Node, earlier: &[PortForward], d: &mut Diags) -> Option<PortForward> {
        let fields = read::fields(item, &FORWARD_KEYS, "a port forward", item.span, d)?;
        let in_node = fields.require("in", "a port forward", d);
        let in_iface = in_node.and_then(|n| self.iface(n, "in", d));
        let proto = match fields.get("proto") {
            None => Some(TransportProto::Tcp),
            Some(n) => match read::string(n, "`proto`", d)?.trim() {
                "tcp" => Some(TransportProto::Tcp),
                "udp" => Some(TransportProto::Udp),
                other => {
                    d.error_help(
                        n.span,
                        format!("a port forward carries `tcp` or `udp`, not `{other}`"),
                        did_you_mean(other, ["tcp", "udp"]),
                    );
                    None
                }
            },
        };
        let ports = match (fields.get("port"), fields.get("ports")) {
            (Some(_), Some(n)) => {
                d.error(
                    n.span,
                    "a port forward has either `port` or `ports`, not both",
                );
                None
            }
            (Some(n), None) | (None, Some(n)) => read_ports(n, d),
            (None, None) => {
                d.error(item.span, "a port forward needs `port: N` or `ports: A-B`");
                None
            }
        };
        let to_node = fields.require("to", "a port forward", d)?;
        let (to, to_port) = self.forward_target(to_node, d)?;
        let (in_iface, proto, ports) = (in_iface?, proto?, ports?);
        let public = self.iface_v4(in_iface, in_node?.span, "a port forward", d)?;
        if to_port.is_some() && ports.first != ports.last {
            d.error(
                to_node.span,
                format!(
                    "`to` names one port but `ports` is the range {}-{}: forward a range to an address alone (ports are kept)",
                    ports.first, ports.last
                ),
            );
            return None;
        }
        if let Some(e) = earlier.iter().find(|e| {
            e.in_iface == in_iface
                && e.proto == proto
                && e.ports.first <= ports.last
                && ports.first <= e.ports.last
        }) {
            d.error(
                item.span,
                format!(
                    "{} port {} of `{public}` is already forwarded (line {})",
                    proto.code(),
                    ports.first.max(e.ports.first),
                    e.span.line
                ),
            );
            return None;
        }
        Some(PortForward {
            in_iface,
            proto,
            public,
            ports,
            to,
            to_port,
            span: item.span,
        })
    }

    /// `{ private: ADDRESS | HOST, public: ADDRESS, on: NETWORK }`.
    fn static_map(&self, item: &Node, earlier: &[StaticNat], d: &mut Diags) -> Option<StaticNat> {
        let fields = read::fields(item, &STATIC_KEYS, "a static mapping", item.span, d)?;
        let private = fields
            .require("private", "a static mapping", d)
            .and_then(|n| self.host_v4(n, "private", d));
        let public_node = fields.require("public", "a static mapping", d)?;
        let public = self.public_v4(public_node, d);
        let on = match fields.get("on") {
            Some(n) => self.iface(n, "on", d),
            None => public.and_then(|p| self.iface_holding(p, public_node.span, d)),
        };
        let (private, public, on) = (private?, public?, on?);
        if let Some(e) = earlier.iter().find(|e| e.private == private) {
            d.error(
                item.span,
                format!(
                    "`{private}` already has a public address (`{}`, line {}): one private address maps to one public one",
                    e.public, e.span.line
                ),
            );
            return None;
        }
        Some(StaticNat {
            private,
            public,
            on,
            span: item.span,
        })
    }

    /// An IPv4 prefix (no host bits).
    fn v4_prefix(&self, node: &Node, d: &mut Diags) -> Option<Ipv4Net> {
        match read_canonical_prefix(node, "`from`", d)? {
            IpNet::V4(p) => Some(p),
            IpNet::V6(p) => {
                d.error(node.span, format!("`{p}` is IPv6: {IPV4_ONLY}"));
                None
            }
        }
    }

    /// A network name that is one of the router's interfaces; its position.
    fn iface(&self, node: &Node, key: &str, d: &mut Diags) -> Option<usize> {
        let name = read::string(node, &format!("`{key}`"), d)?.trim();
        let names = || {
            self.router
                .interfaces
                .iter()
                .map(|i| self.networks[i.network].name.value.as_str())
        };
        if let Some(pos) = names().position(|n| n == name) {
            return Some(pos);
        }
        let list: Vec<&str> = names().collect();
        let help = did_you_mean(name, names()).or_else(|| {
            Some(if list.is_empty() {
                format!("`{}` has no interfaces", self.router.name.value)
            } else {
                format!("its interfaces: {}", list.join(", "))
            })
        });
        d.error_help(
            node.span,
            format!(
                "`{key}: {name}` is not an interface of `{}` (name the network it is attached to)",
                self.router.name.value
            ),
            help,
        );
        None
    }

    /// The IPv4 address of the interface at `pos`.
    fn iface_v4(&self, pos: usize, span: Span, what: &str, d: &mut Diags) -> Option<Ipv4Addr> {
        let i = &self.router.interfaces[pos];
        if i.ipv4.is_none() {
            d.error(
                span,
                format!(
                    "{what} needs an IPv4 address on interface `{}` of `{}`, which has none",
                    self.networks[i.network].name.value, self.router.name.value
                ),
            );
        }
        i.ipv4
    }

    /// The interface whose network holds `addr` (for a mapping without `on`).
    fn iface_holding(&self, addr: Ipv4Addr, span: Span, d: &mut Diags) -> Option<usize> {
        let pos = self.router.interfaces.iter().position(|i| {
            let net = &self.networks[i.network];
            net.ipv4.as_ref().is_some_and(|p| p.value.contains(&addr))
        });
        if pos.is_none() {
            d.error(
                span,
                format!(
                    "`{addr}` is on none of `{}`'s networks: say which interface it is reached through with `on: NETWORK`",
                    self.router.name.value
                ),
            );
        }
        pos
    }

    /// One IPv4 address, or an inclusive range `A-B`.
    fn pool(
        &self,
        node: &Node,
        key: &str,
        text: &str,
        d: &mut Diags,
    ) -> Option<(Ipv4Addr, Ipv4Addr)> {
        let parse = |s: &str, d: &mut Diags| -> Option<Ipv4Addr> {
            match s.trim().parse::<IpAddr>() {
                Ok(IpAddr::V4(a)) => Some(a),
                Ok(IpAddr::V6(_)) => {
                    d.error(node.span, format!("`{}` is IPv6: {IPV4_ONLY}", s.trim()));
                    None
                }
                Err(_) if key == "to" => {
                    d.error_help(
                        node.span,
                        format!(
                            "`to: {text}` is not `masquerade`, an IPv4 address or a range `A-B`"
                        ),
                        did_you_mean(text, ["masquerade"]),
                    );
                    None
                }
                Err(_) => {
                    d.error(node.span, format!("`{key}: {text}` is not an IPv4 address"));
                    None
                }
            }
        };
        let (first, last) = match text.split_once('-') {
            Some((a, b)) => (parse(a, d)?, parse(b, d)?),
            None => {
                let a = parse(text, d)?;
                (a, a)
            }
        };
        if first > last {
            d.error(
                node.span,
                format!("address range `{text}` is backwards: {first} is above {last}"),
            );
            return None;
        }
        if u32::from(last) - u32::from(first) >= POOL_MAX {
            d.error(
                node.span,
                format!("the pool `{text}` is larger than {POOL_MAX} addresses"),
            );
            return None;
        }
        let owned = (u32::from(first)..=u32::from(last))
            .map(Ipv4Addr::from)
            .find_map(|a| self.owners.0.get(&a).map(|o| (a, o)));
        match owned {
            Some((a, owner)) if key == "to" => {
                d.error_help(
                    node.span,
                    format!("`{a}` is already an address of {owner}; a NAT pool holds addresses no node has"),
                    Some("to translate to a router's own address, write `to: masquerade`".into()),
                );
                return None;
            }
            Some((a, owner)) => {
                d.error(
                    node.span,
                    format!("`{a}` is already an address of {owner}; a 1:1 public address is one no node has"),
                );
                return None;
            }
            None => {}
        }
        Some((first, last))
    }

    /// A public address of a static mapping: IPv4, owned by no node.
    fn public_v4(&self, node: &Node, d: &mut Diags) -> Option<Ipv4Addr> {
        let text = read::string(node, "`public`", d)?;
        let text = text.trim();
        let (first, _) = self.pool(node, "public", text, d)?;
        if text.contains('-') {
            d.error(
                node.span,
                "a static mapping has one public address, not a range",
            );
            return None;
        }
        Some(first)
    }

    /// An inside address: a host's IPv4 address, or a host's name.
    fn host_v4(&self, node: &Node, key: &str, d: &mut Diags) -> Option<Ipv4Addr> {
        let text = read::string(node, &format!("`{key}`"), d)?.trim();
        match text.parse::<IpAddr>() {
            Ok(IpAddr::V4(a)) => {
                if self.hosts.iter().any(|h| h.ipv4 == Some(a)) {
                    Some(a)
                } else {
                    d.error(
                        node.span,
                        format!("no host has the address `{a}`: NAT maps to a host's address (or write the host's name)"),
                    );
                    None
                }
            }
            Ok(IpAddr::V6(_)) => {
                d.error(node.span, format!("`{text}` is IPv6: {IPV4_ONLY}"));
                None
            }
            Err(_) => match self.hosts.iter().find(|h| h.name.value == text) {
                Some(h) if h.ipv4.is_some() => h.ipv4,
                Some(h) => {
                    d.error(
                        node.span,
                        format!("host `{}` has no IPv4 address: {IPV4_ONLY}", h.name.value),
                    );
                    None
                }
                None => {
                    d.error_help(
                        node.span,
                        format!("`{text}` is neither an IPv4 address nor a host"),
                        did_you_mean(text, self.hosts.iter().map(|h| h.name.value.as_str())),
                    );
                    None
                }
            },
        }
    }

    /// `ADDRESS`, `ADDRESS:PORT`, `HOST` or `HOST:PORT`.
    fn forward_target(&self, node: &Node, d: &mut Diags) -> Option<(Ipv4Addr, Option<u16>)> {
        let text = read::string(node, "`to`", d)?.trim();
        let (addr, port) = match text.rsplit_once(':') {
            Some((a, p)) if !a.contains(':') => match p.parse::<u16>() {
                Ok(p) if p >= 1 => (a, Some(p)),
                _ => {
                    d.error(
                        node.span,
                        format!("`{p}` in `to: {text}` is not a port (1-65535)"),
                    );
                    return None;
                }
            },
            _ => (text, None),
        };
        let sub = Node {
            value: Value::Str(addr.to_string()),
            span: node.span,
        };
        Some((self.host_v4(&sub, "to", d)?, port))
    }
}

/// `N` or `"A-B"` within 1-65535.
fn read_ports(node: &Node, d: &mut Diags) -> Option<PortRange> {
    let text = read::scalar_text(node, "`ports`", d)?;
    let parse = |s: &str| s.trim().parse::<u32>().ok();
    let (first, last) = match text.split_once('-') {
        Some((a, b)) => parse(a).zip(parse(b)),
        None => parse(&text).map(|p| (p, p)),
    }
    .or_else(|| {
        d.error(
            node.span,
            format!("`{text}` is not a port or a range like `1024-65535`"),
        );
        None
    })?;
    if first == 0 || last > 65535 {
        let what = if text.contains('-') {
            "port range"
        } else {
            "port"
        };
        d.error(node.span, format!("{what} `{text}` is outside 1-65535"));
        return None;
    }
    if first > last {
        d.error(
            node.span,
            format!("port range `{text}` is backwards: {first} is above {last}"),
        );
        return None;
    }
    Some(PortRange {
        first: first as u16,
        last: last as u16,
    })
}
