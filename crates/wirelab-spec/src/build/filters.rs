//! Security groups (stateful, allow-only) and network ACLs (stateless,
//! numbered allow/deny rules), with AWS semantics.

use std::collections::HashMap;

use ipnet::IpNet;

use super::addr::{host_bits_set, parse_prefix_or_address};
use super::Names;
use crate::model::{
    Nacl, NaclAction, NaclRule, Peer, PortRange, RuleProto, SecurityGroup, SgRule, Sp,
};
use crate::read::{self, did_you_mean, Diags, Fields};
use crate::yaml::{Node, Value};

pub(crate) const DIRECTION_KEYS: [&str; 2] = ["inbound", "outbound"];
pub(crate) const SG_RULE_KEYS: [&str; 8] = [
    "proto",
    "port",
    "ports",
    "icmp_type",
    "icmp_code",
    "from",
    "to",
    "description",
];
pub(crate) const NACL_RULE_KEYS: [&str; 8] = [
    "rule",
    "action",
    "proto",
    "port",
    "ports",
    "icmp_type",
    "icmp_code",
    "cidr",
];
const PROTO_NAMES: [&str; 5] = ["tcp", "udp", "icmp", "icmpv6", "all"];
/// Highest NACL rule number (AWS: 32766).
const NACL_RULE_MAX: i128 = 32766;
/// Most rules in one direction of one filter.
const RULES_MAX: usize = 10_000;

/// What a rule matches besides its peer.
struct Match {
    proto: RuleProto,
    ports: Option<PortRange>,
    icmp_type: Option<u8>,
    icmp_code: Option<u8>,
}

fn read_match(fields: &Fields, what: &str, d: &mut Diags) -> Option<Match> {
    let proto_node = fields.require("proto", what, d)?;
    let proto = read_proto(proto_node, d)?;
    let mut ports = read_ports(fields, d)?;
    let carries_ports = matches!(proto, RuleProto::Tcp | RuleProto::Udp);
    if ports.is_some() && !carries_ports {
        let span = fields
            .get("port")
            .or(fields.get("ports"))
            .map_or(fields.at, |n| n.span);
        d.warning(
            span,
            format!("ports are ignored for `{proto}`: only tcp and udp rules match ports"),
        );
        ports = None;
    }
    let is_icmp = matches!(proto, RuleProto::Icmp | RuleProto::Icmpv6);
    let mut icmp = [None, None];
    for (slot, key) in icmp.iter_mut().zip(["icmp_type", "icmp_code"]) {
        let Some(node) = fields.get(key) else {
            continue;
        };
        if !is_icmp {
            d.error(
                node.span,
                format!("`{key}` applies to icmp and icmpv6 rules only, not `{proto}`"),
            );
            continue;
        }
        *slot = read::int_in(node, &format!("`{key}`"), 0, 255, d).map(|v| v as u8);
    }
    if let (None, Some(code)) = (fields.get("icmp_type"), fields.get("icmp_code")) {
        if is_icmp {
            d.error(code.span, "`icmp_code` needs an `icmp_type`");
        }
    }
    Some(Match {
        proto,
        ports,
        icmp_type: icmp[0],
        icmp_code: icmp[1],
    })
}

/// `tcp`, `udp`, `icmp`, `icmpv6`, `all`, or an IP protocol number (1, 6, 17
/// and 58 mean icmp, tcp, udp and icmpv6).
fn read_proto(node: &Node, d: &mut Diags) -> Option<RuleProto> {
    let number = match &node.value {
        Value::Int(_) => read::int_in(node, "protocol number", 0, 255, d)?,
        Value::Str(s) => match s.as_str() {
            "tcp" => return Some(RuleProto::Tcp),
            "udp" => return Some(RuleProto::Udp),
            "icmp" => return Some(RuleProto::Icmp),
            "icmpv6" => return Some(RuleProto::Icmpv6),
            "all" => return Some(RuleProto::All),
            other => {
                d.error_help(
                    node.span,
                    format!("unknown protocol `{other}`: use tcp, udp, icmp, icmpv6, all or a number 0-255"),
                    did_you_mean(&other.to_ascii_lowercase(), PROTO_NAMES),
                );
                return None;
            }
        },
        other => {
            d.error(
                node.span,
                format!(
                    "`proto` must be a protocol name or number, found {}",
                    read::describe(other)
                ),
            );
            return None;
        }
    };
    Some(match number {
        1 => RuleProto::Icmp,
        6 => RuleProto::Tcp,
        17 => RuleProto::Udp,
        58 => RuleProto::Icmpv6,
        n => RuleProto::Number(n as u8),
    })
}

/// `port: N` or `ports: N | "A-B"`; `Some(None)` when neither is written.
fn read_ports(fields: &Fields, d: &mut Diags) -> Option<Option<PortRange>> {
    match (fields.get("port"), fields.get("ports")) {
        (Some(_), Some(ports)) => {
            d.error(ports.span, "a rule has either `port` or `ports`, not both");
            None
        }
        (Some(port), None) => {
            let p = read::int_in(port, "port", 0, 65535, d)? as u16;
            Some(Some(PortRange { first: p, last: p }))
        }
        (None, Some(ports)) => parse_port_range(ports, d).map(Some),
        (None, None) => Some(None),
    }
}

fn parse_port_range(node: &Node, d: &mut Diags) -> Option<PortRange> {
    if let Value::Int(_) = node.value {
        let p = read::int_in(node, "port", 0, 65535, d)? as u16;
        return Some(PortRange { first: p, last: p });
    }
    let text = read::string(node, "`ports`", d)?;
    let parse = |s: &str| s.trim().parse::<u16>().ok();
    let range = match text.split_once('-') {
        Some((a, b)) => parse(a).zip(parse(b)),
        None => parse(text).map(|p| (p, p)),
    };
    match range {
        Some((first, last)) if first <= last => Some(PortRange { first, last }),
        Some((first, last)) => {
            d.error(
                node.span,
                format!("port range `{text}` is backwards: {first} is above {last}"),
            );
            None
        }
        None => {
            d.error(
                node.span,
                format!("`{text}` is not a port or a range like `1024-65535` (ports are 0-65535)"),
            );
            None
        }
    }
}

/// A CIDR or a bare address (one address); host bits are a warning (AWS
/// keeps only the prefix).
fn read_rule_prefix(node: &Node, text: &str, d: &mut Diags) -> Option<IpNet> {
    let net = parse_prefix_or_address(text)
        .map_err(|e| d.error(node.span, e))
        .ok()?;
    if let Some(canonical) = host_bits_set(net) {
        d.warning(
            node.span,
            format!("`{net}` has host bits set; it means `{canonical}`"),
        );
        return Some(canonical);
    }
    Some(net)
}

fn direction_rules<'a>(fields: &Fields<'a>, key: &str, d: &mut Diags) -> Option<&'a [Node]> {
    let node = fields.get(key)?;
    let items = read::seq(node, &format!("`{key}`"), d)?;
    if items.len() > RULES_MAX {
        d.error(
            node.span,
            format!("too many rules ({}; the limit is {RULES_MAX})", items.len()),
        );
        return None;
    }
    Some(items)
}

pub(crate) fn read_security_groups(
    entries: Option<&[(Sp<String>, Node)]>,
    names: &Names,
    d: &mut Diags,
) -> Vec<SecurityGroup> {
    let mut groups = Vec::new();
    for (name, node) in entries.unwrap_or(&[]) {
        let mut group = SecurityGroup {
            name: name.clone(),
            inbound: Vec::new(),
            outbound: None,
        };
        let what = format!("security group `{}`", name.value);
        let fields = match &node.value {
            Value::Null => None,
            _ => read::fields(node, &DIRECTION_KEYS, &what, name.span, d),
        };
        if let Some(fields) = fields {
            if let Some(rules) = direction_rules(&fields, "inbound", d) {
                group.inbound = rules
                    .iter()
                    .filter_map(|r| read_sg_rule(r, true, names, d))
                    .collect();
            }
            if fields.get("outbound").is_some() {
                let rules = direction_rules(&fields, "outbound", d).unwrap_or(&[]);
                group.outbound = Some(
                    rules
                        .iter()
                        .filter_map(|r| read_sg_rule(r, false, names, d))
                        .collect(),
                );
            }
        }
        groups.push(group);
    }
    groups
}

pub(crate) fn read_sg_rule(
    node: &Node,
    inbound: bool,
    names: &Names,
    d: &mut Diags,
) -> Option<SgRule> {
    let what = if inbound {
        "an inbound rule"
    } else {
        "an outbound rule"
    };
    let fields = read::fields(node, &SG_RULE_KEYS, what, node.span, d)?;
    let (peer_key, wrong_key) = if inbound {
        ("from", "to")
    } else {
        ("to", "from")
    };
    if let Some(span) = fields.key_span(wrong_key) {
        d.error(
            span,
            format!("{what} names its peer with `{peer_key}:`, not `{wrong_key}:`"),
        );
    }
    let matched = read_match(&fields, what, d);
    let description = fields
        .get("description")
        .and_then(|n| read::string(n, "`description`", d))
        .map(str::to_string);
    let peer = match fields.get(peer_key) {
        Some(node) => read_peer(node, names, d),
        None if fields.get(wrong_key).is_some() => None,
        None => {
            d.error(
                node.span,
                format!("{what} needs `{peer_key}:` (a CIDR, an address or a security group)"),
            );
            None
        }
    };
    let matched = matched?;
    Some(SgRule {
        proto: matched.proto,
        ports: matched.ports,
        icmp_type: matched.icmp_type,
        icmp_code: matched.icmp_code,
        peer: peer?,
        description,
        span: node.span,
    })
}

fn read_peer(node: &Node, names: &Names, d: &mut Diags) -> Option<Peer> {
    let text = read::string(node, "a rule peer", d)?;
    if let Some(group) = names.security_groups.get(text) {
        return Some(Peer::Group(group));
    }
    let looks_like_address =
        text.contains('/') || text.contains(':') || text.parse::<std::net::IpAddr>().is_ok();
    if looks_like_address || text.chars().all(|c| c.is_ascii_digit() || c == '.') {
        return read_rule_prefix(node, text, d).map(Peer::Cidr);
    }
    d.error_help(
        node.span,
        format!("unknown security group `{text}`"),
        names.security_groups.suggest(text),
    );
    None
}

pub(crate) fn read_nacls(entries: Option<&[(Sp<String>, Node)]>, d: &mut Diags) -> Vec<Nacl> {
    let mut nacls = Vec::new();
    for (name, node) in entries.unwrap_or(&[]) {
        let mut nacl = Nacl {
            name: name.clone(),
            inbound: Vec::new(),
            outbound: Vec::new(),
        };
        let what = format!("NACL `{}`", name.value);
        let fields = match &node.value {
            Value::Null => None,
            _ => read::fields(node, &DIRECTION_KEYS, &what, name.span, d),
        };
        if let Some(fields) = fields {
            nacl.inbound = read_nacl_rules(&fields, "inbound", d);
            nacl.outbound = read_nacl_rules(&fields, "outbound", d);
        }
        nacls.push(nacl);
    }
    nacls
}

fn read_nacl_rules(fields: &Fields, key: &str, d: &mut Diags) -> Vec<NaclRule> {
    let mut rules: Vec<NaclRule> = Vec::new();
    let mut numbers: HashMap<u16, u32> = HashMap::new();
    for node in direction_rules(fields, key, d).unwrap_or(&[]) {
        rules.extend(read_nacl_rule(node, key, &mut numbers, d));
    }
    rules.sort_by_key(|r| r.number);
    rules
}

/// One NACL rule of direction `key`; `numbers` holds the numbers already
/// used in that direction (and where), and gets this one.
pub(crate) fn read_nacl_rule(
    node: &Node,
    key: &str,
    numbers: &mut HashMap<u16, u32>,
    d: &mut Diags,
) -> Option<NaclRule> {
    let what = format!("a NACL {key} rule");
    let fields = read::fields(node, &NACL_RULE_KEYS, &what, node.span, d)?;
    let number = fields.require("rule", &what, d).and_then(|n| {
        let number = read::int_in(n, "rule number", 1, NACL_RULE_MAX, d)? as u16;
        if let Some(line) = numbers.insert(number, n.span.line) {
            d.error(
                n.span,
                format!("{key} rule {number} is already used (line {line})"),
            );
            return None;
        }
        Some(number)
    });
    let action =
        fields
            .require("action", &what, d)
            .and_then(|n| match read::string(n, "`action`", d)? {
                "allow" => Some(NaclAction::Allow),
                "deny" => Some(NaclAction::Deny),
                other => {
                    d.error_help(
                        n.span,
                        format!("action `{other}` must be allow or deny"),
                        did_you_mean(other, ["allow", "deny"]),
                    );
                    None
                }
            });
    let matched = read_match(&fields, &what, d);
    let cidr = fields
        .require("cidr", &what, d)
        .and_then(|n| read::string(n, "`cidr`", d).map(|t| (n, t)))
        .and_then(|(n, text)| read_rule_prefix(n, text, d));
    let (number, action, matched, cidr) = (number?, action?, matched?, cidr?);
    Some(NaclRule {
        number,
        action,
        proto: matched.proto,
        ports: matched.ports,
        icmp_type: matched.icmp_type,
        icmp_code: matched.icmp_code,
        cidr,
        span: node.span,
    })
}
