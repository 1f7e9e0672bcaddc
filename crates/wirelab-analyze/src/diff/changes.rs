//! The structural diff of two labs: what was added, removed or changed in
//! the configuration, each change with the lines it comes from.
//!
//! Things are matched by name (networks, routers, hosts, security groups,
//! NACLs), security-group rules by their normalized text within a group
//! and direction, NACL rules by number within a NACL and direction, routes
//! by prefix within a router. Descriptions, checks, traffic, services and
//! events are not compared: they do not decide what the network lets
//! through.

use std::collections::BTreeSet;

use wirelab_net::Direction;
use wirelab_spec::{Lab, NaclRule, Peer, RouteTarget, SgRule};

use super::Side;

/// A field of a host whose change moves the host in the network.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HostField {
    Network,
    Ipv4,
    Ipv6,
    Gateway4,
    Gateway6,
}

/// What a configuration change touches, by name, so that the attribution
/// can look the item up in either lab.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Subject {
    /// A security-group rule; the indices are its position in the group's
    /// list of that direction in each lab (`None`: absent there).
    SgRule {
        group: String,
        direction: Direction,
        old: Option<usize>,
        new: Option<usize>,
    },
    /// A group's `outbound:` list appeared or went away.
    SgOutboundList {
        group: String,
    },
    /// A host joined (present in NEW) or left (present in OLD) a group.
    Membership {
        host: String,
        group: String,
    },
    HostField {
        host: String,
        field: HostField,
    },
    HostAdded {
        host: String,
    },
    HostRemoved {
        host: String,
    },
    NaclRule {
        nacl: String,
        direction: Direction,
        number: u16,
    },
    /// The NACL associated with a network changed.
    NaclAssociation {
        network: String,
    },
    /// A static route; indices into the router's routes in each lab.
    Route {
        router: String,
        old: Option<usize>,
        new: Option<usize>,
    },
    RouterInterface {
        router: String,
        network: String,
    },
    Router {
        router: String,
    },
    Network {
        network: String,
    },
}

/// One change of the configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigChange {
    pub subject: Subject,
    /// `db-sg: inbound rule `tcp 5432 from web-sg` added`.
    pub text: String,
    pub old_line: Option<u32>,
    pub new_line: Option<u32>,
}

impl ConfigChange {
    /// `(OLD:84, NEW:89)`.
    pub fn lines(&self) -> String {
        let mut parts = Vec::new();
        if let Some(l) = self.old_line {
            parts.push(format!("{}:{l}", Side::Old.code()));
        }
        if let Some(l) = self.new_line {
            parts.push(format!("{}:{l}", Side::New.code()));
        }
        parts.join(", ")
    }
}

impl std::fmt::Display for ConfigChange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.text, self.lines())
    }
}

/// Names in NEW's order, then those only in OLD, in OLD's order.
fn union_names<'a>(
    old: impl Iterator<Item = &'a str>,
    new: impl Iterator<Item = &'a str>,
) -> Vec<&'a str> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for n in new.chain(old) {
        if seen.insert(n) {
            out.push(n);
        }
    }
    out
}

fn direction_word(d: Direction) -> &'static str {
    match d {
        Direction::Inbound => "inbound",
        Direction::Outbound => "outbound",
    }
}

/// `tcp 5432 from web-sg`: the rule as compared, without its description.
pub fn sg_rule_text(lab: &Lab, r: &SgRule, direction: Direction) -> String {
    let mut s = r.proto.to_string();
    if let Some(p) = r.ports {
        s.push_str(&format!(" {p}"));
    }
    if let Some(t) = r.icmp_type {
        s.push_str(&format!(" type {t}"));
    }
    if let Some(c) = r.icmp_code {
        s.push_str(&format!(" code {c}"));
    }
    s.push_str(match direction {
        Direction::Inbound => " from ",
        Direction::Outbound => " to ",
    });
    match &r.peer {
        Peer::Cidr(n) => s.push_str(&n.trunc().to_string()),
        Peer::Group(g) => s.push_str(&lab.security_groups[*g].name.value),
    }
    s
}

/// `allow tcp 5432 10.0.2.0/24`.
pub fn nacl_rule_text(r: &NaclRule) -> String {
    let action = match r.action {
        wirelab_spec::NaclAction::Allow => "allow",
        wirelab_spec::NaclAction::Deny => "deny",
    };
    let mut s = format!("{action} {}", r.proto);
    if let Some(p) = r.ports {
        s.push_str(&format!(" {p}"));
    }
    if let Some(t) = r.icmp_type {
        s.push_str(&format!(" type {t}"));
    }
    if let Some(c) = r.icmp_code {
        s.push_str(&format!(" code {c}"));
    }
    s.push_str(&format!(" {}", r.cidr.trunc()));
    s
}

fn route_text(target: &RouteTarget) -> String {
    match target {
        RouteTarget::Via(a) => format!("via {a}"),
        RouteTarget::Blackhole => "blackhole".into(),
    }
}

struct Builder<'a> {
    old: &'a Lab,
    new: &'a Lab,
    out: Vec<ConfigChange>,
}

impl Builder<'_> {
    fn push(&mut self, subject: Subject, text: String, old: Option<u32>, new: Option<u32>) {
        self.out.push(ConfigChange {
            subject,
            text,
            old_line: old,
            new_line: new,
        });
    }

    fn networks(&mut self) {
        let (old, new) = (self.old, self.new);
        let names = union_names(
            old.networks.iter().map(|n| n.name.value.as_str()),
            new.networks.iter().map(|n| n.name.value.as_str()),
        );
        for name in names {
            let subject = Subject::Network {
                network: name.to_string(),
            };
            let o = old.network_by_name(name).map(|i| &old.networks[i]);
            let n = new.network_by_name(name).map(|i| &new.networks[i]);
            match (o, n) {
                (None, Some(n)) => self.push(
                    subject,
                    format!("network {name} added"),
                    None,
                    Some(n.name.span.line),
                ),
                (Some(o), None) => self.push(
                    subject,
                    format!("network {name} removed"),
                    Some(o.name.span.line),
                    None,
                ),
                (Some(o), Some(n)) => {
                    let show = |v: Option<String>| v.unwrap_or_else(|| "none".into());
                    let (o4, n4) = (
                        o.ipv4.as_ref().map(|p| p.value.to_string()),
                        n.ipv4.as_ref().map(|p| p.value.to_string()),
                    );
                    let (o6, n6) = (
                        o.ipv6.as_ref().map(|p| p.value.to_string()),
                        n.ipv6.as_ref().map(|p| p.value.to_string()),
                    );
                    for (what, a, b) in [("ipv4", o4, n4), ("ipv6", o6, n6)] {
                        if a != b {
                            self.push(
                                subject.clone(),
                                format!("network {name}: {what} {} → {}", show(a), show(b)),
                                Some(o.name.span.line),
                                Some(n.name.span.line),
                            );
                        }
                    }
                    let nacl_name = |lab: &Lab, id: Option<usize>| {
                        id.map_or("none".to_string(), |i| lab.nacls[i].name.value.clone())
                    };
                    let (a, b) = (nacl_name(old, o.nacl), nacl_name(new, n.nacl));
                    if a != b {
                        self.push(
                            Subject::NaclAssociation {
                                network: name.to_string(),
                            },
                            format!("network {name}: NACL {a} → {b}"),
                            Some(o.name.span.line),
                            Some(n.name.span.line),
                        );
                    }
                }
                (None, None) => {}
            }
        }
    }

    fn routers(&mut self) {
        let (old, new) = (self.old, self.new);
        let names = union_names(
            old.routers.iter().map(|r| r.name.value.as_str()),
            new.routers.iter().map(|r| r.name.value.as_str()),
        );
        for name in names {
            let o = old.router_by_name(name).map(|i| &old.routers[i]);
            let n = new.router_by_name(name).map(|i| &new.routers[i]);
            let subject = Subject::Router {
                router: name.to_string(),
            };
            let (o, n) = match (o, n) {
                (Some(o), Some(n)) => (o, n),
                (None, Some(n)) => {
                    self.push(
                        subject,
                        format!("router {name} added"),
                        None,
                        Some(n.name.span.line),
                    );
                    continue;
                }
                (Some(o), None) => {
                    self.push(
                        subject,
                        format!("router {name} removed"),
                        Some(o.name.span.line),
                        None,
                    );
                    continue;
                }
                (None, None) => continue,
            };
            // Interfaces, by the network's name.
            let iface_names = union_names(
                o.interfaces
                    .iter()
                    .map(|i| old.networks[i.network].name.value.as_str()),
                n.interfaces
                    .iter()
                    .map(|i| new.networks[i.network].name.value.as_str()),
            );
            for net in iface_names {
                let oi = o
                    .interfaces
                    .iter()
                    .find(|i| old.networks[i.network].name.value == net);
                let ni = n
                    .interfaces
                    .iter()
                    .find(|i| new.networks[i.network].name.value == net);
                let addrs = |i: &wirelab_spec::RouterInterface| {
                    let v: Vec<String> = i
                        .ipv4
                        .map(|a| a.to_string())
                        .into_iter()
                        .chain(i.ipv6.map(|a| a.to_string()))
                        .collect();
                    v.join(" ")
                };
                let subject = Subject::RouterInterface {
                    router: name.to_string(),
                    network: net.to_string(),
                };
                match (oi, ni) {
                    (None, Some(ni)) => self.push(
                        subject,
                        format!("{name}: interface on {net} ({}) added", addrs(ni)),
                        None,
                        Some(ni.span.line),
                    ),
                    (Some(oi), None) => self.push(
                        subject,
                        format!("{name}: interface on {net} ({}) removed", addrs(oi)),
                        Some(oi.span.line),
                        None,
                    ),
                    (Some(oi), Some(ni)) if addrs(oi) != addrs(ni) => self.push(
                        subject,
                        format!("{name}: interface on {net} {} → {}", addrs(oi), addrs(ni)),
                        Some(oi.span.line),
                        Some(ni.span.line),
                    ),
                    _ => {}
                }
            }
            // Static routes, by prefix.
            let prefixes: Vec<String> = {
                let mut seen = BTreeSet::new();
                n.routes
                    .iter()
                    .chain(&o.routes)
                    .map(|r| r.to.trunc().to_string())
                    .filter(|p| seen.insert(p.clone()))
                    .collect()
            };
            for prefix in prefixes {
                let oi = o
                    .routes
                    .iter()
                    .position(|r| r.to.trunc().to_string() == prefix);
                let ni = n
                    .routes
                    .iter()
                    .position(|r| r.to.trunc().to_string() == prefix);
                let subject = Subject::Route {
                    router: name.to_string(),
                    old: oi,
                    new: ni,
                };
                match (oi, ni) {
                    (None, Some(j)) => self.push(
                        subject,
                        format!(
                            "{name}: route {prefix} {} added",
                            route_text(&n.routes[j].target)
                        ),
                        None,
                        Some(n.routes[j].span.line),
                    ),
                    (Some(i), None) => self.push(
                        subject,
                        format!(
                            "{name}: route {prefix} {} removed",
                            route_text(&o.routes[i].target)
                        ),
                        Some(o.routes[i].span.line),
                        None,
                    ),
                    (Some(i), Some(j)) if o.routes[i].target != n.routes[j].target => self.push(
                        subject,
                        format!(
                            "{name}: route {prefix} {} → {}",
                            route_text(&o.routes[i].target),
                            route_text(&n.routes[j].target)
                        ),
                        Some(o.routes[i].span.line),
                        Some(n.routes[j].span.line),
                    ),
                    _ => {}
                }
            }
        }
    }

    fn hosts(&mut self) {
        let (old, new) = (self.old, self.new);
        let names = union_names(
            old.hosts.iter().map(|h| h.name.value.as_str()),
            new.hosts.iter().map(|h| h.name.value.as_str()),
        );
        for name in names {
            let host = name.to_string();
            let o = old.host_by_name(name).map(|i| &old.hosts[i]);
            let n = new.host_by_name(name).map(|i| &new.hosts[i]);
            let (o, n) = match (o, n) {
                (Some(o), Some(n)) => (o, n),
                (None, Some(n)) => {
                    self.push(
                        Subject::HostAdded { host },
                        format!("host {name} added"),
                        None,
                        Some(n.name.span.line),
                    );
                    continue;
                }
                (Some(o), None) => {
                    self.push(
                        Subject::HostRemoved { host },
                        format!("host {name} removed"),
                        Some(o.name.span.line),
                        None,
                    );
                    continue;
                }
                (None, None) => continue,
            };
            let lines = (Some(o.name.span.line), Some(n.name.span.line));
            let s = |v: Option<String>| v.unwrap_or_else(|| "none".into());
            let fields = [
                (
                    HostField::Network,
                    "network",
                    Some(old.networks[o.network].name.value.clone()),
                    Some(new.networks[n.network].name.value.clone()),
                ),
                (
                    HostField::Ipv4,
                    "ipv4",
                    o.ipv4.map(|a| a.to_string()),
                    n.ipv4.map(|a| a.to_string()),
                ),
                (
                    HostField::Ipv6,
                    "ipv6",
                    o.ipv6.map(|a| a.to_string()),
                    n.ipv6.map(|a| a.to_string()),
                ),
                (
                    HostField::Gateway4,
                    "gateway (ipv4)",
                    o.gateway4.map(|a| a.to_string()),
                    n.gateway4.map(|a| a.to_string()),
                ),
                (
                    HostField::Gateway6,
                    "gateway (ipv6)",
                    o.gateway6.map(|a| a.to_string()),
                    n.gateway6.map(|a| a.to_string()),
                ),
            ];
            for (field, word, a, b) in fields {
                if a != b {
                    self.push(
                        Subject::HostField {
                            host: host.clone(),
                            field,
                        },
                        format!("{name}: {word} {} → {}", s(a), s(b)),
                        lines.0,
                        lines.1,
                    );
                }
            }
            let groups = |lab: &Lab, h: &wirelab_spec::Host| -> Vec<String> {
                h.security_groups
                    .iter()
                    .map(|&g| lab.security_groups[g].name.value.clone())
                    .collect()
            };
            let (og, ng) = (groups(old, o), groups(new, n));
            for g in og.iter().filter(|g| !ng.contains(g)) {
                self.push(
                    Subject::Membership {
                        host: host.clone(),
                        group: g.clone(),
                    },
                    format!("{name}: left security group {g}"),
                    lines.0,
                    None,
                );
            }
            for g in ng.iter().filter(|g| !og.contains(g)) {
                self.push(
                    Subject::Membership {
                        host: host.clone(),
                        group: g.clone(),
                    },
                    format!("{name}: joined security group {g}"),
                    None,
                    lines.1,
                );
            }
        }
    }

    fn security_groups(&mut self) {
        let (old, new) = (self.old, self.new);
        let names = union_names(
            old.security_groups.iter().map(|g| g.name.value.as_str()),
            new.security_groups.iter().map(|g| g.name.value.as_str()),
        );
        for name in names {
            let find = |lab: &'_ Lab| {
                lab.security_groups
                    .iter()
                    .position(|g| g.name.value == name)
            };
            let o = find(old).map(|i| &old.security_groups[i]);
            let n = find(new).map(|i| &new.security_groups[i]);
            let empty: Vec<SgRule> = Vec::new();
            for direction in [Direction::Inbound, Direction::Outbound] {
                let rules = |g: Option<&wirelab_spec::SecurityGroup>| -> Vec<SgRule> {
                    match (g, direction) {
                        (Some(g), Direction::Inbound) => g.inbound.clone(),
                        (Some(g), Direction::Outbound) => {
                            g.outbound.clone().unwrap_or_else(|| empty.clone())
                        }
                        (None, _) => Vec::new(),
                    }
                };
                self.rule_lists(name, direction, &rules(o), &rules(n));
            }
            let has_list =
                |g: Option<&wirelab_spec::SecurityGroup>| g.is_some_and(|g| g.outbound.is_some());
            if has_list(o) != has_list(n) {
                let text = if has_list(n) {
                    format!("{name}: outbound list added (before: everything may go out)")
                } else {
                    format!("{name}: outbound list removed (everything may go out)")
                };
                self.push(
                    Subject::SgOutboundList {
                        group: name.to_string(),
                    },
                    text,
                    o.map(|g| g.name.span.line),
                    n.map(|g| g.name.span.line),
                );
            }
        }
    }

    /// Rules matched by text; unmatched ones with the same protocol and
    /// peer on both sides are reported as one change.
    fn rule_lists(&mut self, group: &str, direction: Direction, o: &[SgRule], n: &[SgRule]) {
        let (old, new) = (self.old, self.new);
        let ot: Vec<String> = o.iter().map(|r| sg_rule_text(old, r, direction)).collect();
        let nt: Vec<String> = n.iter().map(|r| sg_rule_text(new, r, direction)).collect();
        let mut n_used = vec![false; n.len()];
        let mut removed = Vec::new();
        for (i, t) in ot.iter().enumerate() {
            match (0..n.len()).find(|&j| !n_used[j] && nt[j] == *t) {
                Some(j) => n_used[j] = true,
                None => removed.push(i),
            }
        }
        let mut added: Vec<usize> = (0..n.len()).filter(|&j| !n_used[j]).collect();
        // The protocol and peer of a rule, as text (`tcp`, `from web-sg`).
        let key = |lab: &Lab, r: &SgRule| {
            let peer = match &r.peer {
                Peer::Cidr(c) => c.trunc().to_string(),
                Peer::Group(g) => lab.security_groups[*g].name.value.clone(),
            };
            (r.proto.to_string(), peer)
        };
        let dir = direction_word(direction);
        for i in removed {
            let pair = added
                .iter()
                .position(|&j| key(old, &o[i]) == key(new, &n[j]));
            let subject = |new_idx| Subject::SgRule {
                group: group.to_string(),
                direction,
                old: Some(i),
                new: new_idx,
            };
            match pair {
                Some(p) => {
                    let j = added.remove(p);
                    self.push(
                        subject(Some(j)),
                        format!("{group}: {dir} rule `{}` changed to `{}`", ot[i], nt[j]),
                        Some(o[i].span.line),
                        Some(n[j].span.line),
                    );
                }
                None => self.push(
                    subject(None),
                    format!("{group}: {dir} rule `{}` removed", ot[i]),
                    Some(o[i].span.line),
                    None,
                ),
            }
        }
        for j in added {
            self.push(
                Subject::SgRule {
                    group: group.to_string(),
                    direction,
                    old: None,
                    new: Some(j),
                },
                format!("{group}: {dir} rule `{}` added", nt[j]),
                None,
                Some(n[j].span.line),
            );
        }
    }

    fn nacls(&mut self) {
        let (old, new) = (self.old, self.new);
        let names = union_names(
            old.nacls.iter().map(|n| n.name.value.as_str()),
            new.nacls.iter().map(|n| n.name.value.as_str()),
        );
        for name in names {
            let find = |lab: &'_ Lab| lab.nacls.iter().position(|n| n.name.value == name);
            let o = find(old).map(|i| &old.nacls[i]);
            let n = find(new).map(|i| &new.nacls[i]);
            for direction in [Direction::Inbound, Direction::Outbound] {
                let rules = |x: Option<&'_ wirelab_spec::Nacl>| -> Vec<NaclRule> {
                    match (x, direction) {
                        (Some(x), Direction::Inbound) => x.inbound.clone(),
                        (Some(x), Direction::Outbound) => x.outbound.clone(),
                        (None, _) => Vec::new(),
                    }
                };
                let (or, nr) = (rules(o), rules(n));
                let numbers: BTreeSet<u16> = or.iter().chain(&nr).map(|r| r.number).collect();
                let dir = direction_word(direction);
                for number in numbers {
                    let a = or.iter().find(|r| r.number == number);
                    let b = nr.iter().find(|r| r.number == number);
                    let subject = Subject::NaclRule {
                        nacl: name.to_string(),
                        direction,
                        number,
                    };
                    match (a, b) {
                        (None, Some(b)) => self.push(
                            subject,
                            format!("{name}: {dir} rule {number} `{}` added", nacl_rule_text(b)),
                            None,
                            Some(b.span.line),
                        ),
                        (Some(a), None) => self.push(
                            subject,
                            format!(
                                "{name}: {dir} rule {number} `{}` removed",
                                nacl_rule_text(a)
                            ),
                            Some(a.span.line),
                            None,
                        ),
                        (Some(a), Some(b)) if nacl_rule_text(a) != nacl_rule_text(b) => self.push(
                            subject,
                            format!(
                                "{name}: {dir} rule {number} `{}` changed to `{}`",
                                nacl_rule_text(a),
                                nacl_rule_text(b)
                            ),
                            Some(a.span.line),
                            Some(b.span.line),
                        ),
                        _ => {}
                    }
                }
            }
        }
    }
}

/// Every change from `old` to `new`, in a fixed order: networks (and
/// their NACL associations), routers, hosts, security groups, NACLs;
/// within each, in NEW's order and then what only OLD has.
pub fn config_changes(old: &Lab, new: &Lab) -> Vec<ConfigChange> {
    let mut b = Builder {
        old,
        new,
        out: Vec::new(),
    };
    b.networks();
    b.routers();
    b.hosts();
    b.security_groups();
    b.nacls();
    b.out
}

#[cfg(test)]
mod tests {
    use super::*;

    const LAB: &str = "lab: t
networks:
  a: { cidr: 10.0.1.0/24 }
  b: { cidr: 10.0.2.0/24, nacl: n }
routers:
  r:
    interfaces: { a: 10.0.1.1, b: 10.0.2.1 }
hosts:
  h1: { network: a, ip: 10.0.1.10, security_groups: [g] }
  h2: { network: b, ip: 10.0.2.10 }
security_groups:
  g:
    inbound:
      - { proto: tcp, port: 22, from: 10.0.0.0/16 }
      - { proto: tcp, port: 80, from: 0.0.0.0/0, description: web }
nacls:
  n:
    inbound:
      - { rule: 100, action: allow, proto: all, cidr: 0.0.0.0/0 }
    outbound:
      - { rule: 100, action: allow, proto: all, cidr: 0.0.0.0/0 }
";

    fn changes(new_text: &str) -> Vec<String> {
        let old = wirelab_spec::parse_str("old.yaml", LAB).expect("valid").lab;
        let new = wirelab_spec::parse_str("new.yaml", new_text)
            .expect("valid")
            .lab;
        config_changes(&old, &new)
            .iter()
            .map(|c| c.to_string())
            .collect()
    }

    #[test]
    fn order_descriptions_and_host_bits_are_no_change() {
        let new = LAB
            .replace(
                "      - { proto: tcp, port: 22, from: 10.0.0.0/16 }\n      - { proto: tcp, port: 80, from: 0.0.0.0/0, description: web }\n",
                "      - { proto: tcp, port: 80, from: 0.0.0.0/0 }\n      - { proto: tcp, port: 22, from: 10.0.0.7/16 }\n",
            );
        assert_ne!(new, LAB);
        assert_eq!(changes(&new), Vec::<String>::new());
    }

    #[test]
    fn a_rule_of_the_same_protocol_and_peer_is_changed_not_replaced() {
        let new = LAB.replace(
            "port: 22, from: 10.0.0.0/16",
            "port: 2222, from: 10.0.0.0/16",
        );
        assert_eq!(
            changes(&new),
            ["g: inbound rule `tcp 22 from 10.0.0.0/16` changed to `tcp 2222 from 10.0.0.0/16` (OLD:14, NEW:14)"]
        );
        // Another peer: one removed, one added.
        let new = LAB.replace("port: 22, from: 10.0.0.0/16", "port: 22, from: 10.0.1.0/24");
        assert_eq!(
            changes(&new),
            [
                "g: inbound rule `tcp 22 from 10.0.0.0/16` removed (OLD:14)",
                "g: inbound rule `tcp 22 from 10.0.1.0/24` added (NEW:14)"
            ]
        );
    }

    #[test]
    fn nacl_rules_by_number_associations_routes_and_hosts() {
        let new = LAB
            .replace(
                "      - { rule: 100, action: allow, proto: all, cidr: 0.0.0.0/0 }\n    outbound:",
                "      - { rule: 100, action: deny, proto: all, cidr: 0.0.0.0/0 }\n    outbound:",
            )
            .replace("b: { cidr: 10.0.2.0/24, nacl: n }", "b: { cidr: 10.0.2.0/24 }")
            .replace(
                "interfaces: { a: 10.0.1.1, b: 10.0.2.1 }",
                "interfaces: { a: 10.0.1.1, b: 10.0.2.1 }\n    routes:\n      - { to: 10.9.0.0/16, blackhole: true }",
            )
            .replace(
                "h2: { network: b, ip: 10.0.2.10 }",
                "h2: { network: b, ip: 10.0.2.11, security_groups: [g] }",
            );
        assert_eq!(
            changes(&new),
            [
                "network b: NACL n → none (OLD:4, NEW:4)",
                "r: route 10.9.0.0/16 blackhole added (NEW:9)",
                "h2: ipv4 10.0.2.10 → 10.0.2.11 (OLD:10, NEW:12)",
                "h2: joined security group g (NEW:12)",
                "n: inbound rule 100 `allow all 0.0.0.0/0` changed to `deny all 0.0.0.0/0` (OLD:19, NEW:21)",
            ]
        );
    }
}
