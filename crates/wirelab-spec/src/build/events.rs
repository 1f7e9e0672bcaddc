//! `events:` (extension): timed changes of links, security groups and
//! NACLs. Events are checked in time order (stable among equal times), so a
//! removal must name a rule present at that time, after earlier additions
//! and removals.

use std::collections::HashMap;

use super::filters::{read_nacl_rule, read_sg_rule};
use super::topology::{read_props, PropsDraft, MTU_IPV6_MIN, SET_KEYS};
use super::traffic::{format_time, read_time};
use super::{NameTable, Names};
use crate::model::{
    EventAction, LabEvent, LinkProps, Nacl, NaclId, NaclRule, Network, NetworkId, Peer, RouterId,
    SecurityGroup, SecurityGroupId, SgRule, Span,
};
use crate::read::{self, Diags, Fields};
use crate::yaml::{Node, Value};

pub(crate) const EVENT_KEYS: [&str; 13] = [
    "at",
    "link_down",
    "link_up",
    "router_down",
    "router_up",
    "link",
    "set",
    "security_group",
    "nacl",
    "add_inbound",
    "add_outbound",
    "remove_inbound",
    "remove_outbound",
];
/// The keys that say what an event changes; exactly one per event.
const TARGET_KEYS: [&str; 7] = [
    "link_down",
    "link_up",
    "router_down",
    "router_up",
    "link",
    "security_group",
    "nacl",
];
/// How a `security_group` or `nacl` event changes it; exactly one.
const CHANGE_KEYS: [&str; 4] = [
    "add_inbound",
    "add_outbound",
    "remove_inbound",
    "remove_outbound",
];
/// Most events in one lab.
const EVENTS_MAX: usize = 100_000;

/// An event as read, before it is checked against the state at its time.
enum Draft<'a> {
    LinkDown(NetworkId),
    LinkUp(NetworkId),
    LinkSet(NetworkId, PropsDraft),
    RouterDown(RouterId),
    RouterUp(RouterId),
    SgAdd {
        group: SecurityGroupId,
        inbound: bool,
        rule: SgRule,
        key: Span,
    },
    SgRemove {
        group: SecurityGroupId,
        inbound: bool,
        rule: SgRule,
        key: Span,
    },
    NaclAdd {
        nacl: NaclId,
        inbound: bool,
        rule: NaclRule,
        number: Span,
    },
    NaclRemove {
        nacl: NaclId,
        inbound: bool,
        number: u16,
        node: &'a Node,
    },
}

pub(crate) fn read_events(
    node: Option<&Node>,
    names: &Names,
    networks: &[Network],
    groups: &[SecurityGroup],
    nacls: &[Nacl],
    d: &mut Diags,
) -> Vec<LabEvent> {
    let Some(node) = node else {
        return Vec::new();
    };
    let Some(items) = read::seq(node, "`events`", d) else {
        return Vec::new();
    };
    if items.len() > EVENTS_MAX {
        d.error(
            node.span,
            format!(
                "too many events ({}; the limit is {EVENTS_MAX})",
                items.len()
            ),
        );
        return Vec::new();
    }
    let mut drafts: Vec<(u64, Span, Draft)> = Vec::new();
    for item in items {
        let Some(fields) = read::fields(item, &EVENT_KEYS, "an event", item.span, d) else {
            continue;
        };
        let at = fields
            .require("at", "an event", d)
            .and_then(|n| read_time(n, "`at`", d));
        let draft = read_event(&fields, item.span, names, d);
        if let (Some(at), Some(draft)) = (at, draft) {
            drafts.push((at, item.span, draft));
        }
    }
    drafts.sort_by_key(|(at, _, _)| *at);
    let mut state = State {
        links: networks.iter().map(|n| n.link).collect(),
        groups: groups
            .iter()
            .map(|g| (g.inbound.clone(), g.outbound.clone()))
            .collect(),
        nacls: nacls
            .iter()
            .map(|n| {
                let numbers = |rules: &[NaclRule]| {
                    rules
                        .iter()
                        .map(|r| (r.number, r.span.line))
                        .collect::<Vec<_>>()
                };
                (numbers(&n.inbound), numbers(&n.outbound))
            })
            .collect(),
    };
    drafts
        .into_iter()
        .filter_map(|(at_ns, span, draft)| {
            let action = state.apply(at_ns, draft, names, networks, d)?;
            Some(LabEvent {
                at_ns,
                action,
                span,
            })
        })
        .collect()
}

fn read_event<'a>(
    fields: &Fields<'a>,
    span: Span,
    names: &Names,
    d: &mut Diags,
) -> Option<Draft<'a>> {
    let targets: Vec<&str> = TARGET_KEYS
        .iter()
        .copied()
        .filter(|k| fields.get(k).is_some())
        .collect();
    let target = match targets.as_slice() {
        [] => {
            d.error(
                span,
                "an event needs one action: `link_down`, `link_up`, `router_down`, `router_up`, \
                 `link` (with `set`), \
                 `security_group` or `nacl` (with `add_inbound`, `add_outbound`, \
                 `remove_inbound` or `remove_outbound`)",
            );
            return None;
        }
        [one] => *one,
        [first, rest @ ..] => {
            for other in rest {
                d.error(
                    fields.key_span(other).unwrap_or(span),
                    format!("an event does one thing: `{first}` and `{other}` are both given"),
                );
            }
            return None;
        }
    };
    // Keys that belong to another kind of event.
    let allowed: &[&str] = match target {
        "link" => &["set"],
        "security_group" | "nacl" => &CHANGE_KEYS,
        _ => &[],
    };
    let mut ok = true;
    for key in std::iter::once(&"set").chain(CHANGE_KEYS.iter()) {
        if let Some(key_span) = fields.key_span(key) {
            if !allowed.contains(key) {
                d.error(
                    key_span,
                    format!("`{key}` is not part of a `{target}` event"),
                );
                ok = false;
            }
        }
    }
    let target_node = fields.get(target)?;
    match target {
        "link_down" | "link_up" | "link" => {
            let network = read_name(target_node, "network", &names.networks, d);
            let set = if target == "link" {
                read_set(fields, span, d)
            } else {
                None
            };
            let network = network?;
            if !ok {
                return None;
            }
            match target {
                "link_down" => Some(Draft::LinkDown(network)),
                "link_up" => Some(Draft::LinkUp(network)),
                _ => Some(Draft::LinkSet(network, set?)),
            }
        }
        "router_down" | "router_up" => {
            let router = read_name(target_node, "router", &names.routers, d)?;
            if !ok {
                return None;
            }
            Some(if target == "router_down" {
                Draft::RouterDown(router)
            } else {
                Draft::RouterUp(router)
            })
        }
        "security_group" => {
            let group = read_name(target_node, "security group", &names.security_groups, d);
            let (key, key_span, node) = read_change(fields, target, span, d)?;
            let inbound = key.ends_with("inbound");
            let rule = read_sg_rule(node, inbound, names, d);
            let (group, rule) = (group?, rule?);
            if !ok {
                return None;
            }
            if key.starts_with("add") {
                Some(Draft::SgAdd {
                    group,
                    inbound,
                    rule,
                    key: key_span,
                })
            } else {
                Some(Draft::SgRemove {
                    group,
                    inbound,
                    rule,
                    key: key_span,
                })
            }
        }
        _ => {
            let nacl = read_name(target_node, "NACL", &names.nacls, d);
            let (key, _, node) = read_change(fields, target, span, d)?;
            let inbound = key.ends_with("inbound");
            let direction = if inbound { "inbound" } else { "outbound" };
            if key.starts_with("add") {
                let rule = read_nacl_rule(node, direction, &mut HashMap::new(), d);
                let (nacl, rule) = (nacl?, rule?);
                let number = match &node.value {
                    Value::Map(entries) => entries
                        .iter()
                        .find(|(k, _)| k.value == "rule")
                        .map_or(node.span, |(_, v)| v.span),
                    _ => node.span,
                };
                ok.then_some(Draft::NaclAdd {
                    nacl,
                    inbound,
                    rule,
                    number,
                })
            } else {
                let number = match &node.value {
                    Value::Map(_) => {
                        d.error(
                            node.span,
                            format!("`{key}` of a NACL takes the rule number only (`{key}: 100`)"),
                        );
                        None
                    }
                    _ => read::int_in(node, "rule number", 1, 32766, d).map(|n| n as u16),
                };
                let (nacl, number) = (nacl?, number?);
                ok.then_some(Draft::NaclRemove {
                    nacl,
                    inbound,
                    number,
                    node,
                })
            }
        }
    }
}

/// A name of `table` (`kind`: "network", "security group", "NACL").
fn read_name(node: &Node, kind: &str, table: &NameTable, d: &mut Diags) -> Option<usize> {
    let name = read::string(node, &format!("a {kind} name"), d)?;
    let id = table.get(name);
    if id.is_none() {
        d.error_help(
            node.span,
            format!("unknown {kind} `{name}`"),
            table.suggest(name),
        );
    }
    id
}

/// `set:` of a `link` event: at least one property.
fn read_set(fields: &Fields, span: Span, d: &mut Diags) -> Option<PropsDraft> {
    let Some(node) = fields.get("set") else {
        d.error(
            span,
            "a `link` event needs `set:` with the properties to change",
        );
        return None;
    };
    let at = fields.key_span("set").unwrap_or(span);
    let set = read::fields(node, &SET_KEYS, "`set`", at, d)?;
    if let Value::Map(entries) = &node.value {
        if entries.is_empty() {
            d.error(
                node.span,
                format!("`set` needs at least one of {}", SET_KEYS.join(", ")),
            );
            return None;
        }
    }
    let errors = d.list.len();
    let props = read_props(&set, d);
    (d.list.len() == errors).then_some(props)
}

/// The one change key of a `security_group` or `nacl` event.
fn read_change<'a>(
    fields: &Fields<'a>,
    target: &str,
    span: Span,
    d: &mut Diags,
) -> Option<(&'static str, Span, &'a Node)> {
    let present: Vec<&'static str> = CHANGE_KEYS
        .iter()
        .copied()
        .filter(|k| fields.get(k).is_some())
        .collect();
    match present.as_slice() {
        [] => {
            d.error(
                span,
                format!(
                    "a `{target}` event needs one of `add_inbound`, `add_outbound`, \
                     `remove_inbound` or `remove_outbound`"
                ),
            );
            None
        }
        [one] => Some((*one, fields.key_span(one)?, fields.get(one)?)),
        [first, rest @ ..] => {
            for other in rest {
                d.error(
                    fields.key_span(other).unwrap_or(span),
                    format!("an event does one thing: `{first}` and `{other}` are both given"),
                );
            }
            None
        }
    }
}

/// What the filters and links look like at the time of the event being
/// checked.
struct State {
    links: Vec<LinkProps>,
    groups: Vec<(Vec<SgRule>, Option<Vec<SgRule>>)>,
    nacls: Vec<(RuleNumbers, RuleNumbers)>,
}

/// Rule numbers of one NACL direction, with the line that created each.
type RuleNumbers = Vec<(u16, u32)>;

impl State {
    fn apply(
        &mut self,
        at: u64,
        draft: Draft,
        names: &Names,
        networks: &[Network],
        d: &mut Diags,
    ) -> Option<EventAction> {
        let when = format_time(at);
        let direction = |inbound: bool| if inbound { "inbound" } else { "outbound" };
        match draft {
            Draft::LinkDown(network) => {
                self.links[network].down = true;
                Some(EventAction::LinkDown(network))
            }
            Draft::LinkUp(network) => {
                self.links[network].down = false;
                Some(EventAction::LinkUp(network))
            }
            Draft::RouterDown(router) => Some(EventAction::RouterDown(router)),
            Draft::RouterUp(router) => Some(EventAction::RouterUp(router)),
            Draft::LinkSet(network, set) => {
                let props = set.apply_over(self.links[network]);
                let net = &networks[network];
                if net.ipv6.is_some() && props.mtu < MTU_IPV6_MIN {
                    d.error(
                        set.mtu().map_or(net.name.span, |m| m.span),
                        format!(
                            "MTU {} is below {MTU_IPV6_MIN}, the IPv6 minimum, and network `{}` carries IPv6",
                            props.mtu, net.name.value
                        ),
                    );
                    return None;
                }
                self.links[network] = props;
                Some(EventAction::LinkSet(network, props))
            }
            Draft::SgAdd {
                group,
                inbound,
                rule,
                key,
            } => {
                let name = &names.security_groups.names[group].value;
                let rules = group_rules(&mut self.groups[group], inbound, name, key, d)?;
                if let Some(same) = rules.iter().find(|r| same_sg_rule(r, &rule)) {
                    d.warning(
                        rule.span,
                        format!(
                            "`{name}` already has an equal {} rule at {when} (line {}); adding it changes nothing",
                            direction(inbound),
                            same.span.line
                        ),
                    );
                }
                rules.push(rule.clone());
                Some(EventAction::SgRuleAdd {
                    group,
                    inbound,
                    rule,
                })
            }
            Draft::SgRemove {
                group,
                inbound,
                rule,
                key,
            } => {
                let name = &names.security_groups.names[group].value;
                let rules = group_rules(&mut self.groups[group], inbound, name, key, d)?;
                let Some(index) = rules.iter().position(|r| same_sg_rule(r, &rule)) else {
                    let listed: Vec<String> = rules
                        .iter()
                        .take(3)
                        .map(|r| render_sg_rule(r, inbound, names))
                        .collect();
                    let help = match rules.len() {
                        0 => format!("`{name}` has no {} rules then", direction(inbound)),
                        n if n <= 3 => format!(
                            "its {} rules then: {}",
                            direction(inbound),
                            listed.join(", ")
                        ),
                        n => format!(
                            "its {} rules then: {}, and {} more",
                            direction(inbound),
                            listed.join(", "),
                            n - 3
                        ),
                    };
                    d.error_help(
                        rule.span,
                        format!(
                            "no {} rule of `{name}` equals {} at {when}",
                            direction(inbound),
                            render_sg_rule(&rule, inbound, names)
                        ),
                        Some(help),
                    );
                    return None;
                };
                rules.remove(index);
                Some(EventAction::SgRuleRemove {
                    group,
                    inbound,
                    index,
                })
            }
            Draft::NaclAdd {
                nacl,
                inbound,
                rule,
                number,
            } => {
                let name = &names.nacls.names[nacl].value;
                let (numbers_in, numbers_out) = &mut self.nacls[nacl];
                let numbers = if inbound { numbers_in } else { numbers_out };
                if let Some((_, line)) = numbers.iter().find(|(n, _)| *n == rule.number) {
                    d.error(
                        number,
                        format!(
                            "{} rule {} of `{name}` already exists at {when} (line {line})",
                            direction(inbound),
                            rule.number
                        ),
                    );
                    return None;
                }
                numbers.push((rule.number, number.line));
                Some(EventAction::NaclRuleAdd {
                    nacl,
                    inbound,
                    rule,
                })
            }
            Draft::NaclRemove {
                nacl,
                inbound,
                number,
                node,
            } => {
                let name = &names.nacls.names[nacl].value;
                let (numbers_in, numbers_out) = &mut self.nacls[nacl];
                let numbers = if inbound { numbers_in } else { numbers_out };
                let Some(index) = numbers.iter().position(|(n, _)| *n == number) else {
                    let mut present: Vec<u16> = numbers.iter().map(|(n, _)| *n).collect();
                    present.sort_unstable();
                    let help = if present.is_empty() {
                        format!("`{name}` has no {} rules then", direction(inbound))
                    } else {
                        let list: Vec<String> = present.iter().map(u16::to_string).collect();
                        format!("its {} rules then: {}", direction(inbound), list.join(", "))
                    };
                    d.error_help(
                        node.span,
                        format!(
                            "`{name}` has no {} rule {number} at {when}",
                            direction(inbound)
                        ),
                        Some(help),
                    );
                    return None;
                };
                numbers.remove(index);
                Some(EventAction::NaclRuleRemove {
                    nacl,
                    inbound,
                    number,
                })
            }
        }
    }
}

/// One direction's rules of a group as they stand; `None` (with the
/// error) for the outbound rules of a group that writes no outbound list.
fn group_rules<'a>(
    rules: &'a mut (Vec<SgRule>, Option<Vec<SgRule>>),
    inbound: bool,
    name: &str,
    key: Span,
    d: &mut Diags,
) -> Option<&'a mut Vec<SgRule>> {
    let (rules_in, rules_out) = rules;
    if inbound {
        return Some(rules_in);
    }
    if rules_out.is_none() {
        no_outbound_list(name, key, d);
    }
    rules_out.as_mut()
}

fn no_outbound_list(name: &str, key: Span, d: &mut Diags) {
    d.error_help(
        key,
        format!(
            "security group `{name}` omits `outbound:` (everything goes out), so it has no outbound rules to change"
        ),
        Some(
            "write them out, e.g. `outbound: [{ proto: all, to: 0.0.0.0/0 }, { proto: all, to: \"::/0\" }]`"
                .to_string(),
        ),
    );
}

/// AWS's notion of the same rule: everything but the description.
fn same_sg_rule(a: &SgRule, b: &SgRule) -> bool {
    a.proto == b.proto
        && a.ports == b.ports
        && a.icmp_type == b.icmp_type
        && a.icmp_code == b.icmp_code
        && a.peer == b.peer
}

/// `{ proto: tcp, port: 22, from: 10.0.0.0/8 }`
fn render_sg_rule(rule: &SgRule, inbound: bool, names: &Names) -> String {
    let mut parts = vec![format!("proto: {}", rule.proto)];
    if let crate::model::RuleProto::Number(n) = rule.proto {
        parts[0] = format!("proto: {n}");
    }
    match rule.ports {
        Some(p) if p.first == p.last => parts.push(format!("port: {}", p.first)),
        Some(p) => parts.push(format!("ports: {p}")),
        None => {}
    }
    if let Some(t) = rule.icmp_type {
        parts.push(format!("icmp_type: {t}"));
    }
    if let Some(c) = rule.icmp_code {
        parts.push(format!("icmp_code: {c}"));
    }
    let peer = match &rule.peer {
        Peer::Cidr(net) => net.to_string(),
        Peer::Group(g) => names.security_groups.names[*g].value.clone(),
    };
    parts.push(format!("{}: {peer}", if inbound { "from" } else { "to" }));
    format!("`{{ {} }}`", parts.join(", "))
}
