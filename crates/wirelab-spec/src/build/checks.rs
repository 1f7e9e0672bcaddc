//! `checks:`: what the lab expects, the graded part.

use std::collections::HashMap;
use std::net::IpAddr;

use ipnet::IpNet;

use super::ssh::suggest_user;
use super::traffic::{read_positive_time, read_time, TrafficTable};
use super::Names;
use crate::model::{
    Check, CheckProto, CheckTarget, ConvergenceCheck, DnsCheck, DnsExpect, Family, FlowCheck, Host,
    HostId, Outcome, ReachCheck, ReachSource, Reason, RouterId, Sp, Span, Ssh, SshAuth, SshCheck,
    SshHop, Stage, Workload,
};
use crate::quantity;
use crate::read::{self, did_you_mean, Diags, Fields};
use crate::yaml::{Node, Value};

pub(crate) const CHECK_KEYS: [&str; 21] = [
    "name", "from", "to", "proto", "port", "family", "expect", "reason", "via", "points", "hint",
    "traffic", "dns", "type", "cached", "http", "ssh", "jump", "auth", "stage", "at",
];
/// Keys an `http` check does not take.
const HTTP_FORBIDDEN_KEYS: [&str; 7] = ["to", "proto", "port", "reason", "via", "type", "cached"];
/// Keys a `dns` check does not take.
const DNS_FORBIDDEN_KEYS: [&str; 6] = ["to", "proto", "port", "reason", "via", "ssh"];
/// Keys an `ssh` check does not take: its chain says where it goes.
const SSH_FORBIDDEN_KEYS: [&str; 4] = ["to", "proto", "port", "via"];
/// Keys only an `ssh` check takes.
const SSH_ONLY_KEYS: [&str; 2] = ["jump", "auth"];
/// Most jump hosts of one ssh check.
const JUMPS_MAX: usize = 16;
/// Keys only a `dns` check takes.
const DNS_ONLY_KEYS: [&str; 2] = ["type", "cached"];
pub(crate) const DNS_EXPECT_KEYS: [&str; 1] = ["answers"];
pub(crate) const DNS_OUTCOMES: [&str; 7] = [
    "resolves", "nxdomain", "nodata", "servfail", "refused", "timeout", "fail",
];
/// The record types a `dns` check may ask for.
pub(crate) const DNS_TYPES: [&str; 11] = [
    "A", "AAAA", "CNAME", "MX", "TXT", "NS", "SOA", "PTR", "SRV", "CAA", "ANY",
];
/// Keys a check on a workload takes from the workload instead.
const FLOW_FORBIDDEN_KEYS: [&str; 7] = ["from", "to", "proto", "port", "family", "reason", "via"];
pub(crate) const FLOW_EXPECT_KEYS: [&str; 2] = ["complete_within", "goodput_at_least"];
/// Keys of the `expect` map of a routing convergence check.
pub(crate) const CONVERGENCE_EXPECT_KEYS: [&str; 1] = ["converged_within"];
/// Keys a convergence check does not take.
const CONVERGENCE_FORBIDDEN_KEYS: [&str; 7] =
    ["from", "to", "proto", "port", "family", "reason", "via"];
/// Keys of the `expect` map of an exhaustive check.
pub(crate) const EXHAUSTIVE_EXPECT_KEYS: [&str; 2] = ["reachable_from", "nothing_else"];
/// Keys an exhaustive check does not take.
const EXHAUSTIVE_FORBIDDEN_KEYS: [&str; 3] = ["from", "reason", "via"];
/// Most checks in one lab.
const CHECKS_MAX: usize = 100_000;
/// Most points of one check.
const POINTS_MAX: i128 = 1_000_000;

pub(crate) fn read_checks(
    node: Option<&Node>,
    names: &Names,
    hosts: &[Host],
    traffic: &TrafficTable,
    ssh: &Ssh,
    stages: &[Stage],
    d: &mut Diags,
) -> Vec<Check> {
    let mut checks = Vec::new();
    let Some(node) = node else { return checks };
    let Some(items) = read::seq(node, "`checks`", d) else {
        return checks;
    };
    if items.len() > CHECKS_MAX {
        d.error(
            node.span,
            format!(
                "too many checks ({}; the limit is {CHECKS_MAX})",
                items.len()
            ),
        );
        return checks;
    }
    let mut seen: HashMap<&str, u32> = HashMap::new();
    for item in items {
        let Some(fields) = read::fields(item, &CHECK_KEYS, "a check", item.span, d) else {
            continue;
        };
        let name = fields.require("name", "a check", d).and_then(|n| {
            let name = read::string(n, "`name`", d)?;
            if let Some(line) = seen.insert(name, n.span.line) {
                d.error(
                    n.span,
                    format!("check name `{name}` is already used (line {line})"),
                );
            }
            Some(Sp::new(name.to_string(), n.span))
        });
        if fields.get("ssh").is_none() {
            for key in SSH_ONLY_KEYS {
                if let Some(span) = fields.key_span(key) {
                    d.error(span, format!("`{key}` belongs to an `ssh:` check"));
                }
            }
        }
        let check = if fields.get("traffic").is_some() {
            read_flow_check(&fields, name, traffic, d)
        } else if fields.get("dns").is_some() {
            read_dns_check(&fields, name, names, hosts, d)
        } else if fields.get("http").is_some() {
            read_web_check(&fields, name, names, hosts, d)
        } else if fields.get("ssh").is_some() {
            read_ssh_check(&fields, name, names, hosts, ssh, d)
        } else if fields.get("expect").is_some_and(is_convergence) {
            read_convergence_check(&fields, name, hosts, d)
        } else if fields.get("expect").is_some_and(is_exhaustive) {
            reject_keys(&fields, &DNS_ONLY_KEYS, d, |key| {
                format!("`{key}` belongs to a `dns:` check")
            });
            read_reach_check(&fields, name, names, hosts, d)
        } else {
            reject_keys(&fields, &DNS_ONLY_KEYS, d, |key| {
                format!("`{key}` belongs to a `dns:` check")
            });
            read_check(&fields, name, names, hosts, d)
        };
        let stage = read_stage(&fields, stages, item.span, d);
        let plain = ["traffic", "dns", "http", "ssh"]
            .iter()
            .all(|k| fields.get(k).is_none())
            && !fields
                .get("expect")
                .is_some_and(|e| matches!(e.value, Value::Map(_)));
        let at = match fields.get("at") {
            Some(n) if plain => read_time(n, "`at`", d).map(Some),
            Some(_) if fields.get("expect").is_some_and(is_convergence) => Some(None),
            Some(n) => {
                d.error(
                    n.span,
                    "`at` belongs to a check with `from` and `to` (a probe at that time) or to a convergence check",
                );
                None
            }
            None => Some(None),
        };
        if let (Some(mut check), Some(at)) = (check, at) {
            check.stage = stage;
            if check.convergence.is_none() {
                check.at_ns = at;
            }
            checks.push(check);
        }
    }
    checks
}

/// A check's `stage:`: required when the lab has stages, refused when it
/// has none.
fn read_stage(fields: &Fields, stages: &[Stage], at: Span, d: &mut Diags) -> Option<usize> {
    let names = || stages.iter().map(|s| s.name.value.as_str());
    let Some(n) = fields.get("stage") else {
        if !stages.is_empty() {
            d.error_help(
                at,
                "this lab has stages: the check needs a `stage:`",
                Some(format!(
                    "stages: {}",
                    names().collect::<Vec<_>>().join(", ")
                )),
            );
        }
        return None;
    };
    let name = read::string(n, "`stage`", d)?;
    if stages.is_empty() {
        d.error(
            n.span,
            format!("the check names stage `{name}`, but the lab has no `stages:` list"),
        );
        return None;
    }
    let found = names().position(|s| s == name);
    if found.is_none() {
        let help = did_you_mean(name, names()).or_else(|| {
            Some(format!(
                "stages: {}",
                names().collect::<Vec<_>>().join(", ")
            ))
        });
        d.error_help(n.span, format!("unknown stage `{name}`"), help);
    }
    found
}

/// `stages:` — a list of `{ name, title, description }`, in order.
pub(crate) fn read_stages(node: Option<&Node>, d: &mut Diags) -> Vec<Stage> {
    let mut stages: Vec<Stage> = Vec::new();
    let Some(node) = node else { return stages };
    let Some(items) = read::seq(node, "`stages`", d) else {
        return stages;
    };
    for item in items {
        let Some(fields) = read::fields(item, &STAGE_KEYS, "a stage", item.span, d) else {
            continue;
        };
        let name = fields.require("name", "a stage", d).and_then(|n| {
            let name = read::string(n, "`name`", d)?;
            let valid = name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
                && !name.is_empty();
            if !valid {
                d.error(
                    n.span,
                    format!("stage name `{name}`: use lowercase letters, digits, `-` and `_`"),
                );
                return None;
            }
            if let Some(other) = stages.iter().find(|s| s.name.value == name) {
                d.error(
                    n.span,
                    format!(
                        "stage `{name}` is already declared (line {})",
                        other.name.span.line
                    ),
                );
                return None;
            }
            Some(Sp::new(name.to_string(), n.span))
        });
        let text = |key: &str, d: &mut Diags| {
            fields
                .get(key)
                .and_then(|n| read::string(n, &format!("`{key}`"), d))
                .map(str::to_string)
        };
        let title = text("title", d);
        let description = text("description", d);
        if let Some(name) = name {
            stages.push(Stage {
                name,
                title,
                description,
            });
        }
    }
    if items.is_empty() {
        d.error(
            node.span,
            "`stages:` is empty: list the stages, or remove it",
        );
    }
    stages
}

/// Keys of a stage.
pub(crate) const STAGE_KEYS: [&str; 3] = ["name", "title", "description"];

fn read_check(
    fields: &Fields,
    name: Option<Sp<String>>,
    names: &Names,
    hosts: &[Host],
    d: &mut Diags,
) -> Option<Check> {
    let what = "a check";
    let from = fields
        .require("from", what, d)
        .and_then(|n| read_host_ref(n, "`from`", "checks", names, d));
    // `to` may be a URL: its host is the target, its port the default.
    let url = fields.get("to").and_then(|n| match &n.value {
        Value::Str(t) if t.starts_with("http://") || t.starts_with("https://") => Some((
            n,
            super::http::parse_url(t)
                .map_err(|e| d.error(n.span, e))
                .ok(),
        )),
        _ => None,
    });
    let to = match &url {
        Some((_, None)) => None,
        Some((n, Some(u))) => target_of(n, &u.host, names, d),
        None => fields
            .require("to", what, d)
            .and_then(|n| read_target(n, "checks", names, d, true)),
    };
    let proto = read_proto(fields, d);
    let port = match (&url, fields.get("port")) {
        (Some((_, Some(u))), None) if proto != Some(CheckProto::Icmp) => Some(Some(u.port)),
        _ => read_port(fields, proto, d),
    };
    let family_written = read_family(fields, d);
    let expect = fields
        .require("expect", what, d)
        .and_then(|n| {
            if let Value::Map(_) = n.value {
                d.error_help(
                    n.span,
                    "`expect` is a map only in a check on a workload",
                    Some("add `traffic: NAME` to check a workload of `traffic:`".to_string()),
                );
                return None;
            }
            Some(n)
        })
        .and_then(|n| match read::string(n, "`expect`", d)? {
            "allow" => Some(Outcome::Allow),
            "deny" => Some(Outcome::Deny),
            "refused" => Some(Outcome::Refused),
            other => {
                d.error_help(
                    n.span,
                    format!("`{other}` is not an outcome: expected allow, deny or refused"),
                    did_you_mean(other, ["allow", "deny", "refused"]),
                );
                None
            }
        });
    let reason = read_reason(fields, false, d);
    let via = read_via(fields, names, d);
    let (points, hint) = read_points_hint(fields, d);
    let (from, to) = (from?, to?);
    let span = fields.get("to").map_or(fields.at, |n| n.span);
    if !can_look_up(&to, from, hosts, span, d) {
        return None;
    }
    let family = resolve_family("check", fields, family_written, from, &to, hosts, d)?;
    Some(Check {
        name: name?,
        from,
        to,
        proto: proto?,
        port: port?,
        family,
        expect: expect?,
        reason: reason?,
        via: via?,
        points: points?,
        hint: hint?,
        flow: None,
        dns: None,
        http: None,
        ssh: None,
        reach: None,
        stage: None,
        at_ns: None,
        convergence: None,
        span: fields.at,
    })
}

/// `proto:` of a probe check (default tcp).
fn read_proto(fields: &Fields, d: &mut Diags) -> Option<CheckProto> {
    match fields.get("proto") {
        None => Some(CheckProto::Tcp),
        Some(n) => match read::string(n, "`proto`", d) {
            Some("tcp") => Some(CheckProto::Tcp),
            Some("udp") => Some(CheckProto::Udp),
            Some("icmp") => Some(CheckProto::Icmp),
            Some(other) => {
                let help = if other == "icmpv6" {
                    Some("use `proto: icmp` with `family: ipv6`".to_string())
                } else {
                    did_you_mean(other, ["tcp", "udp", "icmp"])
                };
                d.error_help(
                    n.span,
                    format!("check protocol `{other}` must be tcp, udp or icmp"),
                    help,
                );
                None
            }
            None => None,
        },
    }
}

/// Whether `expect:` is a map with one of `keys`.
fn expect_has(node: &Node, keys: &[&str]) -> bool {
    matches!(&node.value, Value::Map(m) if m.iter().any(|(k, _)| keys.contains(&k.value.as_str())))
}

/// Whether `expect:` is the map of a convergence check.
fn is_convergence(node: &Node) -> bool {
    expect_has(node, &CONVERGENCE_EXPECT_KEYS)
}

/// A convergence check: `expect: { converged_within: 5s }`, and `at:` to
/// grade only the first topology event at or after that time.
fn read_convergence_check(
    fields: &Fields,
    name: Option<Sp<String>>,
    hosts: &[Host],
    d: &mut Diags,
) -> Option<Check> {
    reject_keys(fields, &CONVERGENCE_FORBIDDEN_KEYS, d, |key| {
        format!("a convergence check takes no `{key}`: it grades every router's table")
    });
    reject_keys(fields, &DNS_ONLY_KEYS, d, |key| {
        format!("`{key}` belongs to a `dns:` check")
    });
    let node = fields.get("expect")?;
    let at = fields.key_span("expect").unwrap_or(node.span);
    let expect = read::fields(node, &CONVERGENCE_EXPECT_KEYS, "`expect`", at, d)?;
    let within = expect
        .get("converged_within")
        .and_then(|n| read_positive_time(n, "`converged_within`", d));
    let after = match fields.get("at") {
        Some(n) => read_time(n, "`at`", d).map(Some),
        None => Some(None),
    };
    let (points, hint) = read_points_hint(fields, d);
    if hosts.is_empty() {
        d.error(
            fields.at,
            "a convergence check needs a lab with at least one host",
        );
        return None;
    }
    Some(Check {
        name: name?,
        from: 0,
        to: CheckTarget::Host(0),
        proto: CheckProto::Icmp,
        port: None,
        family: Family::Ipv4,
        expect: Outcome::Allow,
        reason: None,
        via: Vec::new(),
        points: points?,
        hint: hint?,
        flow: None,
        dns: None,
        http: None,
        ssh: None,
        reach: None,
        stage: None,
        at_ns: None,
        convergence: Some(ConvergenceCheck {
            within_ns: within?,
            after_ns: after?,
        }),
        span: fields.at,
    })
}

/// Whether `expect:` is the map of an exhaustive check.
fn is_exhaustive(node: &Node) -> bool {
    expect_has(node, &EXHAUSTIVE_EXPECT_KEYS)
}

/// An exhaustive check: `to`, `proto`, `port`, and `expect: {
/// reachable_from: [...], nothing_else: true }`, answered by the analysis.
fn read_reach_check(
    fields: &Fields,
    name: Option<Sp<String>>,
    names: &Names,
    hosts: &[Host],
    d: &mut Diags,
) -> Option<Check> {
    let what = "an exhaustive check";
    reject_keys(fields, &EXHAUSTIVE_FORBIDDEN_KEYS, d, |key| match key {
        "from" => format!("{what} has no `from`: its sources are the list in `reachable_from`"),
        _ => format!("{what} does not take `{key}`"),
    });
    let to = fields
        .require("to", what, d)
        .and_then(|n| read_host_ref(n, "`to`", "checks", names, d));
    let proto = read_proto(fields, d);
    let port = read_port(fields, proto, d);
    let family_written = read_family(fields, d);
    let expect = fields
        .require("expect", what, d)
        .and_then(|n| read_reach_expect(n, names, d));
    let (points, hint) = read_points_hint(fields, d);
    let to = to?;
    let family = match family_written {
        Some(w) => {
            let has = match w.value {
                Family::Ipv4 => hosts[to].ipv4.is_some(),
                Family::Ipv6 => hosts[to].ipv6.is_some(),
            };
            if !has {
                d.error(
                    w.span,
                    format!(
                        "host `{}` has no {} address",
                        hosts[to].name.value,
                        w.value.code()
                    ),
                );
                return None;
            }
            w.value
        }
        None if hosts[to].ipv4.is_some() => Family::Ipv4,
        None => Family::Ipv6,
    };
    Some(Check {
        name: name?,
        from: to,
        to: CheckTarget::Host(to),
        proto: proto?,
        port: port?,
        family,
        expect: Outcome::Allow,
        reason: None,
        via: Vec::new(),
        points: points?,
        hint: hint?,
        flow: None,
        dns: None,
        http: None,
        ssh: None,
        reach: Some(expect?),
        stage: None,
        at_ns: None,
        convergence: None,
        span: fields.at,
    })
}

/// `{ reachable_from: [app-sg, bastion, 10.0.0.0/16, internet], nothing_else: true }`.
fn read_reach_expect(node: &Node, names: &Names, d: &mut Diags) -> Option<ReachCheck> {
    let fields = read::fields(
        node,
        &EXHAUSTIVE_EXPECT_KEYS,
        "an exhaustive `expect`",
        node.span,
        d,
    )?;
    let nothing_else = match fields.get("nothing_else") {
        None => Some(false),
        Some(n) => read::boolean(n, "`nothing_else`", d),
    };
    let mut sources = Vec::new();
    let mut ok = true;
    if let Some(list) = fields.get("reachable_from") {
        match read::seq(list, "`reachable_from`", d) {
            None => ok = false,
            Some(items) => {
                for item in items {
                    match read_reach_source(item, names, d) {
                        Some(src) => sources.push(Sp::new(src, item.span)),
                        None => ok = false,
                    }
                }
            }
        }
    }
    let nothing_else = nothing_else?;
    if ok && sources.is_empty() && !nothing_else {
        d.error_help(
            node.span,
            "this `expect` asks nothing: no source in `reachable_from` and no `nothing_else: true`",
            Some("write `nothing_else: true` alone to require that nothing reaches it".into()),
        );
        return None;
    }
    ok.then_some(ReachCheck {
        sources,
        nothing_else,
    })
}

/// One source of `reachable_from`: a host, a security group, a network,
/// `internet`, an address or a prefix.
fn read_reach_source(node: &Node, names: &Names, d: &mut Diags) -> Option<ReachSource> {
    let text = read::scalar_text(node, "a source in `reachable_from`", d)?;
    if let Some(h) = names.hosts.get(&text) {
        return Some(ReachSource::Host(h));
    }
    if let Some(g) = names.security_groups.get(&text) {
        return Some(ReachSource::Group(g));
    }
    if let Some(n) = names.networks.get(&text) {
        return Some(ReachSource::Network(n));
    }
    if text == "internet" {
        return Some(ReachSource::Internet);
    }
    if let Ok(p) = text.parse::<IpNet>() {
        return Some(ReachSource::Prefix(p.trunc()));
    }
    if let Ok(a) = text.parse::<IpAddr>() {
        return Some(ReachSource::Prefix(IpNet::from(a)));
    }
    let help = names
        .hosts
        .suggest(&text)
        .or_else(|| names.security_groups.suggest(&text))
        .or_else(|| names.networks.suggest(&text))
        .or_else(|| Some("a source is a host, a security group, a network, `internet`, an address or a prefix".into()));
    d.error_help(
        node.span,
        format!(
            "`{text}` is no host, security group or network of the lab, nor an address or a prefix"
        ),
        help,
    );
    None
}

/// `reason:` as written; the login reasons (`no-sshd`, ...) only where
/// `ssh` says the check is an ssh check.
fn read_reason(fields: &Fields, ssh: bool, d: &mut Diags) -> Option<Option<Reason>> {
    let Some(n) = fields.get("reason") else {
        return Some(None);
    };
    let code = read::string(n, "`reason`", d)?;
    match Reason::from_code(code) {
        Some(reason) if reason.is_ssh_only() && !ssh => {
            d.error_help(
                n.span,
                format!("reason `{code}` is a login's: only an `ssh:` check observes it"),
                Some("write `ssh: USER@HOST` to check a login".to_string()),
            );
            None
        }
        Some(reason) => Some(Some(reason)),
        None => {
            let codes: Vec<&str> = Reason::ALL.iter().map(|r| r.code()).collect();
            let help = did_you_mean(code, codes.iter().copied())
                .or_else(|| Some(format!("reasons: {}", codes.join(", "))));
            d.error_help(n.span, format!("unknown reason `{code}`"), help);
            None
        }
    }
}

fn read_points_hint(fields: &Fields, d: &mut Diags) -> (Option<u32>, Option<Option<String>>) {
    let points = match fields.get("points") {
        None => Some(1),
        Some(n) => read::int_in(n, "`points`", 0, POINTS_MAX, d).map(|p| p as u32),
    };
    let hint = match fields.get("hint") {
        None => Some(None),
        Some(n) => read::string(n, "`hint`", d).map(|h| Some(h.to_string())),
    };
    (points, hint)
}

/// A check on a workload: `traffic: NAME` and `expect: { complete_within,
/// goodput_at_least }`. Ends, protocol, port and family are the workload's.
fn read_flow_check(
    fields: &Fields,
    name: Option<Sp<String>>,
    traffic: &TrafficTable,
    d: &mut Diags,
) -> Option<Check> {
    let what = "a check on a workload";
    reject_keys(fields, &FLOW_FORBIDDEN_KEYS, d, |key| {
        format!("{what} takes `{key}` from the workload; remove it here")
    });
    let id = fields.get("traffic").and_then(|n| {
        let workload = read::string(n, "`traffic`", d)?;
        let id = traffic.names.get(workload);
        if id.is_none() {
            d.error_help(
                n.span,
                format!("unknown workload `{workload}` in `traffic`"),
                traffic.names.suggest(workload),
            );
        }
        id
    });
    let expect = fields
        .require("expect", what, d)
        .and_then(|n| read_flow_expect(n, fields, d));
    let (points, hint) = read_points_hint(fields, d);
    let (complete_within_ns, goodput_at_least_bps) = expect?;
    let id = id?;
    // An invalid workload has been reported already.
    let workload = traffic.entries.get(id)?.as_ref()?;
    let proto = match workload.kind {
        Workload::Bulk { .. } | Workload::Requests { .. } => CheckProto::Tcp,
        Workload::Ping { .. } => CheckProto::Icmp,
        Workload::OnOff { .. } => CheckProto::Udp,
    };
    Some(Check {
        name: name?,
        from: workload.from,
        to: workload.to.clone(),
        proto,
        port: workload.port,
        family: workload.family,
        expect: Outcome::Allow,
        reason: None,
        via: Vec::new(),
        points: points?,
        hint: hint?,
        flow: Some(FlowCheck {
            traffic: id,
            complete_within_ns,
            goodput_at_least_bps,
        }),
        dns: None,
        http: None,
        ssh: None,
        reach: None,
        stage: None,
        at_ns: None,
        convergence: None,
        span: fields.at,
    })
}

/// `expect: { complete_within: 2s, goodput_at_least: 80Mbps }` (at least one).
fn read_flow_expect(
    node: &Node,
    check: &Fields,
    d: &mut Diags,
) -> Option<(Option<u64>, Option<u64>)> {
    if !matches!(node.value, Value::Map(_)) {
        d.error(
            node.span,
            format!(
                "a check on a workload expects `{{ complete_within: 2s }}` and/or `{{ goodput_at_least: 80Mbps }}`, found {}",
                read::describe(&node.value)
            ),
        );
        return None;
    }
    let at = check.key_span("expect").unwrap_or(node.span);
    let fields = read::fields(node, &FLOW_EXPECT_KEYS, "`expect`", at, d)?;
    let complete = fields.get("complete_within");
    let goodput = fields.get("goodput_at_least");
    if complete.is_none() && goodput.is_none() {
        d.error(
            node.span,
            "`expect` needs `complete_within` (a time), `goodput_at_least` (a bandwidth), or both",
        );
        return None;
    }
    let complete_ns = match complete {
        None => Some(None),
        Some(n) => read_positive_time(n, "`complete_within`", d).map(Some),
    };
    let goodput_bps = match goodput {
        None => Some(None),
        Some(n) => read::scalar_text(n, "`goodput_at_least`", d).and_then(|text| {
            quantity::parse_bandwidth(&text)
                .map_err(|e| d.error(n.span, e.replacen("bandwidth", "goodput", 1)))
                .ok()
                .map(Some)
        }),
    };
    Some((complete_ns?, goodput_bps?))
}

/// `family:` as written, if it is.
pub(crate) fn read_family(fields: &Fields, d: &mut Diags) -> Option<Sp<Family>> {
    let n = fields.get("family")?;
    match read::string(n, "`family`", d)? {
        "ipv4" => Some(Sp::new(Family::Ipv4, n.span)),
        "ipv6" => Some(Sp::new(Family::Ipv6, n.span)),
        other => {
            d.error_help(
                n.span,
                format!("family `{other}` must be ipv4 or ipv6"),
                did_you_mean(other, ["ipv4", "ipv6"]),
            );
            None
        }
    }
}

/// `port`: required for tcp and udp, rejected for icmp. `Some(None)` for icmp.
fn read_port(fields: &Fields, proto: Option<CheckProto>, d: &mut Diags) -> Option<Option<u16>> {
    let node = fields.get("port");
    match (proto?, node) {
        (CheckProto::Icmp, Some(n)) => {
            d.error(n.span, "an icmp check has no port");
            None
        }
        (CheckProto::Icmp, None) => Some(None),
        (p, None) => {
            d.error(fields.at, format!("a {} check needs `port:`", p.code()));
            None
        }
        (_, Some(n)) => read::int_in(n, "port", 1, 65535, d).map(|p| Some(p as u16)),
    }
}

/// A host name (`from`, `to`) of a check or a workload.
/// `kind` ("checks", "workloads") says what runs between hosts.
pub(crate) fn read_host_ref(
    node: &Node,
    what: &str,
    kind: &str,
    names: &Names,
    d: &mut Diags,
) -> Option<HostId> {
    let name = read::string(node, what, d)?;
    if let Some(host) = names.hosts.get(name) {
        return Some(host);
    }
    if names.routers.get(name).is_some() {
        d.error(
            node.span,
            format!("`{name}` is a router; {kind} run between hosts"),
        );
    } else {
        d.error_help(
            node.span,
            format!("unknown host `{name}`"),
            names.hosts.suggest(name),
        );
    }
    None
}

/// `to`: a host name or one address, or (where `dns_names`) a DNS name.
pub(crate) fn read_target(
    node: &Node,
    kind: &str,
    names: &Names,
    d: &mut Diags,
    dns_names: bool,
) -> Option<CheckTarget> {
    let text = read::string(node, "`to`", d)?;
    if let Ok(address) = text.trim().parse::<IpAddr>() {
        return Some(CheckTarget::Address(address));
    }
    if text.contains('/') {
        d.error(
            node.span,
            format!("`to` is a host or one address, not a prefix: `{text}`"),
        );
        return None;
    }
    if dns_names && names.hosts.get(text).is_none() && text.trim_end_matches('.').contains('.') {
        return read_domain(node, text, d).map(CheckTarget::Name);
    }
    read_host_ref(node, "`to`", kind, names, d).map(CheckTarget::Host)
}

/// A DNS name in `to` (or a URL) needs a resolver on `from`; says so once
/// (not again when the host's own `resolver:` was already reported).
fn can_look_up(to: &CheckTarget, from: HostId, hosts: &[Host], span: Span, d: &mut Diags) -> bool {
    let CheckTarget::Name(name) = to else {
        return true;
    };
    let host = &hosts[from];
    if !host.resolvers.is_empty() {
        return true;
    }
    if !host.resolver_written {
        d.error_help(
            span,
            format!(
                "`{name}` is a DNS name, and host `{}` has no resolver to look it up",
                host.name.value
            ),
            Some("give the host `resolver:`, or write a host name or an address".to_string()),
        );
    }
    false
}

/// The target a URL's host names: an address, a host, or a DNS name.
fn target_of(node: &Node, host: &str, names: &Names, d: &mut Diags) -> Option<CheckTarget> {
    if let Ok(address) = host.parse::<IpAddr>() {
        return Some(CheckTarget::Address(address));
    }
    if let Some(h) = names.hosts.get(host) {
        return Some(CheckTarget::Host(h));
    }
    if host.contains('.') {
        return read_domain(node, host, d).map(CheckTarget::Name);
    }
    d.error_help(
        node.span,
        format!("unknown host `{host}` in the URL"),
        names.hosts.suggest(host),
    );
    None
}

/// An absolute, lowercase domain name with its trailing dot.
fn read_domain(node: &Node, text: &str, d: &mut Diags) -> Option<String> {
    let lower = text.trim().to_ascii_lowercase();
    let absolute = if lower.ends_with('.') {
        lower
    } else {
        format!("{lower}.")
    };
    match wirelab_dns::proto::rr::Name::from_ascii(&absolute) {
        Ok(_) => Some(absolute),
        Err(e) => {
            d.error(node.span, format!("`{text}` is not a domain name: {e}"));
            None
        }
    }
}

/// An `http:` check: one request from a host, graded on its response.
fn read_web_check(
    fields: &Fields,
    name: Option<Sp<String>>,
    names: &Names,
    hosts: &[Host],
    d: &mut Diags,
) -> Option<Check> {
    let what = "an http check";
    reject_keys(fields, &HTTP_FORBIDDEN_KEYS, d, |key| {
        format!("{what} takes no `{key}`: the URL says where")
    });
    let from = fields
        .require("from", what, d)
        .and_then(|n| read_host_ref(n, "`from`", "checks", names, d));
    let url_node = fields.get("http")?;
    let http = super::http::read_http_check(url_node, fields, d);
    let family_written = read_family(fields, d);
    let (points, hint) = read_points_hint(fields, d);
    let (from, http) = (from?, http?);
    let to = target_of(url_node, &http.url.host, names, d)?;
    if !can_look_up(&to, from, hosts, url_node.span, d) {
        return None;
    }
    let family = resolve_family("check", fields, family_written, from, &to, hosts, d)?;
    Some(Check {
        name: name?,
        from,
        to,
        proto: CheckProto::Tcp,
        port: Some(http.url.port),
        family,
        expect: Outcome::Allow,
        reason: None,
        via: Vec::new(),
        points: points?,
        hint: hint?,
        flow: None,
        dns: None,
        http: Some(http),
        ssh: None,
        reach: None,
        stage: None,
        at_ns: None,
        convergence: None,
        span: fields.at,
    })
}

/// An error at each of `keys` that the check has, worded by `message`.
fn reject_keys(fields: &Fields, keys: &[&str], d: &mut Diags, message: impl Fn(&str) -> String) {
    for key in keys {
        if let Some(span) = fields.key_span(key) {
            d.error(span, message(key));
        }
    }
}

/// A `dns:` check: look NAME up from a host through its resolver.
fn read_dns_check(
    fields: &Fields,
    name: Option<Sp<String>>,
    names: &Names,
    hosts: &[Host],
    d: &mut Diags,
) -> Option<Check> {
    let what = "a dns check";
    reject_keys(fields, &DNS_FORBIDDEN_KEYS, d, |key| {
        format!("{what} takes no `{key}`")
    });
    let from = fields
        .require("from", what, d)
        .and_then(|n| read_host_ref(n, "`from`", "checks", names, d));
    let qname = fields.get("dns").and_then(|n| {
        let text = read::string(n, "`dns`", d)?;
        read_domain(n, text, d)
    });
    let rtype = match fields.get("type") {
        None => Some("A".to_string()),
        Some(n) => read::string(n, "`type`", d).and_then(|t| {
            let upper = t.to_ascii_uppercase();
            if DNS_TYPES.contains(&upper.as_str()) {
                Some(upper)
            } else {
                d.error_help(
                    n.span,
                    format!("record type `{t}` is not one a check can ask for"),
                    did_you_mean(&upper, DNS_TYPES)
                        .or_else(|| Some(format!("types: {}", DNS_TYPES.join(", ")))),
                );
                None
            }
        }),
    };
    let cached = match fields.get("cached") {
        None => Some(false),
        Some(n) => read::boolean(n, "`cached`", d),
    };
    let expect = fields
        .require("expect", what, d)
        .and_then(|n| read_dns_expect(n, fields, d));
    let family = read_family(fields, d).map_or(Family::Ipv4, |f| f.value);
    let (points, hint) = read_points_hint(fields, d);
    let from = from?;
    if hosts[from].resolvers.is_empty() && hosts[from].resolver_written {
        return None;
    }
    if hosts[from].resolvers.is_empty() {
        let span = fields.get("from").map_or(fields.at, |n| n.span);
        d.error_help(
            span,
            format!("host `{}` has no resolver to ask", hosts[from].name.value),
            Some("give it `resolver:` with a host that has an `app: resolver` service".to_string()),
        );
        return None;
    }
    let qname = qname?;
    Some(Check {
        name: name?,
        from,
        to: CheckTarget::Name(qname.clone()),
        proto: CheckProto::Udp,
        port: Some(53),
        family,
        expect: Outcome::Allow,
        reason: None,
        via: Vec::new(),
        points: points?,
        hint: hint?,
        flow: None,
        dns: Some(DnsCheck {
            name: qname,
            rtype: rtype?,
            expect: expect?,
            cached: cached?,
        }),
        http: None,
        ssh: None,
        reach: None,
        stage: None,
        at_ns: None,
        convergence: None,
        span: fields.at,
    })
}

/// `expect: resolves | nxdomain | nodata | servfail | refused | timeout |
/// fail`, or `{ answers: [..] }`.
fn read_dns_expect(node: &Node, check: &Fields, d: &mut Diags) -> Option<DnsExpect> {
    if let Value::Map(_) = node.value {
        let at = check.key_span("expect").unwrap_or(node.span);
        let fields = read::fields(node, &DNS_EXPECT_KEYS, "`expect`", at, d)?;
        let list = fields.require("answers", "`expect`", d)?;
        let items = read::seq(list, "`answers`", d)?;
        let mut answers = Vec::with_capacity(items.len());
        for item in items {
            answers.push(read::scalar_text(item, "an answer", d)?);
        }
        if answers.is_empty() {
            d.error_help(
                list.span,
                "`answers` is empty",
                Some("to expect no record of the type, write `expect: nodata`".to_string()),
            );
            return None;
        }
        return Some(DnsExpect::Answers(answers));
    }
    match read::string(node, "`expect`", d)? {
        "resolves" => Some(DnsExpect::Resolves),
        "nxdomain" => Some(DnsExpect::Nxdomain),
        "nodata" => Some(DnsExpect::Nodata),
        "servfail" => Some(DnsExpect::Servfail),
        "refused" => Some(DnsExpect::Refused),
        "timeout" => Some(DnsExpect::Timeout),
        "fail" => Some(DnsExpect::Fail),
        other => {
            d.error_help(
                node.span,
                format!(
                    "`{other}` is not a DNS outcome: expected {}, or `{{ answers: [..] }}`",
                    DNS_OUTCOMES.join(", ")
                ),
                did_you_mean(other, DNS_OUTCOMES),
            );
            None
        }
    }
}

fn read_via(fields: &Fields, names: &Names, d: &mut Diags) -> Option<Vec<RouterId>> {
    let Some(node) = fields.get("via") else {
        return Some(Vec::new());
    };
    let items = read::seq(node, "`via`", d)?;
    let mut via = Vec::with_capacity(items.len());
    let mut ok = true;
    for item in items {
        let Some(name) = read::string(item, "a router name", d) else {
            ok = false;
            continue;
        };
        match names.routers.get(name) {
            Some(router) => via.push(router),
            None => {
                ok = false;
                let help = if names.hosts.get(name).is_some() {
                    Some(format!("`{name}` is a host; `via` lists routers"))
                } else {
                    names.routers.suggest(name)
                };
                d.error_help(item.span, format!("unknown router `{name}` in `via`"), help);
            }
        }
    }
    ok.then_some(via)
}

/// The written family, else: the family of `to` when it is an address;
/// ipv4 when `to` is a host with an IPv4 address, else ipv6. Both ends must
/// have an address of that family.
/// `what` names the thing in messages ("check", "workload").
pub(crate) fn resolve_family(
    what: &str,
    fields: &Fields,
    written: Option<Sp<Family>>,
    from: HostId,
    to: &CheckTarget,
    hosts: &[Host],
    d: &mut Diags,
) -> Option<Family> {
    let has = |host: &Host, family: Family| match family {
        Family::Ipv4 => host.ipv4.is_some(),
        Family::Ipv6 => host.ipv6.is_some(),
    };
    let label = |family: Family| match family {
        Family::Ipv4 => "IPv4",
        Family::Ipv6 => "IPv6",
    };
    let target_family = match to {
        CheckTarget::Address(IpAddr::V4(_)) => Some(Family::Ipv4),
        CheckTarget::Address(IpAddr::V6(_)) => Some(Family::Ipv6),
        CheckTarget::Host(_) | CheckTarget::Name(_) => None,
    };
    let family = match (&written, target_family, to) {
        (Some(w), Some(t), _) if w.value != t => {
            d.error(
                w.span,
                format!(
                    "family `{}` does not match the {} address in `to`",
                    w.value.code(),
                    label(t)
                ),
            );
            return None;
        }
        (Some(w), _, _) => w.value,
        (None, Some(t), _) => t,
        (None, None, CheckTarget::Host(h)) if hosts[*h].ipv4.is_some() => Family::Ipv4,
        // A name is looked up as A when the source can speak IPv4.
        (None, None, CheckTarget::Name(_)) if hosts[from].ipv4.is_some() => Family::Ipv4,
        (None, None, _) => Family::Ipv6,
    };
    let at = written.as_ref().map_or(fields.at, |w| w.span);
    let mut ok = true;
    let mut ends = vec![(from, "from")];
    if let CheckTarget::Host(h) = to {
        ends.push((*h, "to"));
    }
    for (host, key) in ends {
        // A host with no address at all sits on a network already reported
        // as broken or unknown: say nothing more about it.
        let addressless = hosts[host].ipv4.is_none() && hosts[host].ipv6.is_none();
        if !addressless && !has(&hosts[host], family) {
            let span = fields.get(key).map_or(at, |n| n.span);
            d.error(
                span,
                format!(
                    "host `{}` has no {} address, and this {what} is {}",
                    hosts[host].name.value,
                    label(family),
                    family.code()
                ),
            );
            ok = false;
        }
    }
    ok.then_some(family)
}

/// An `ssh:` check: `ssh: USER@HOST`, optional `jump: [HOST | USER@HOST, ..]`
/// (ProxyJump), optional `auth: key | password`.
fn read_ssh_check(
    fields: &Fields,
    name: Option<Sp<String>>,
    names: &Names,
    hosts: &[Host],
    ssh: &Ssh,
    d: &mut Diags,
) -> Option<Check> {
    let what = "an ssh check";
    for key in SSH_FORBIDDEN_KEYS {
        if let Some(span) = fields.key_span(key) {
            let help = match key {
                "to" | "port" => {
                    Some("`ssh: USER@HOST` names the host; the port is its sshd's".to_string())
                }
                "via" => Some("list the hosts to go through in `jump:`".to_string()),
                _ => None,
            };
            d.error_help(span, format!("{what} takes no `{key}`"), help);
        }
    }
    let from = fields
        .require("from", what, d)
        .and_then(|n| read_host_ref(n, "`from`", "checks", names, d));
    let target = fields
        .get("ssh")
        .and_then(|n| read_login(n, None, names, ssh, d));
    let jumps = read_jumps(fields, target.map(|(hop, _)| hop.user), names, ssh, d);
    let auth = match fields.get("auth") {
        None => Some(SshAuth::Any),
        Some(n) => match read::string(n, "`auth`", d)? {
            "key" | "publickey" => Some(SshAuth::Key),
            "password" => Some(SshAuth::Password),
            "any" => Some(SshAuth::Any),
            other => {
                d.error_help(
                    n.span,
                    format!("`auth` `{other}` must be key, password or any"),
                    did_you_mean(other, ["key", "password", "any"]),
                );
                None
            }
        },
    };
    let expect =
        fields
            .require("expect", what, d)
            .and_then(|n| match read::string(n, "`expect`", d)? {
                "allow" => Some(Outcome::Allow),
                "deny" => Some(Outcome::Deny),
                "refused" => {
                    d.error_help(
                        n.span,
                        "an ssh check expects allow or deny",
                        Some("write `expect: deny` with `reason: refused`".to_string()),
                    );
                    None
                }
                other => {
                    d.error_help(
                        n.span,
                        format!(
                            "`{other}` is not an outcome of an ssh check: expected allow or deny"
                        ),
                        did_you_mean(other, ["allow", "deny"]),
                    );
                    None
                }
            });
    let reason = read_reason(fields, true, d);
    let family_written = read_family(fields, d);
    let (points, hint) = read_points_hint(fields, d);
    let (from, target, jumps) = (from?, target?, jumps?);
    let mut hops = jumps;
    hops.push(target);
    let family = resolve_chain_family(fields, family_written, from, &hops, hosts, d)?;
    let (last, _) = *hops.last()?;
    let port = ssh.sshd(last.host).map_or(22, |s| s.port);
    Some(Check {
        name: name?,
        from,
        to: CheckTarget::Host(last.host),
        proto: CheckProto::Tcp,
        port: Some(port),
        family,
        expect: expect?,
        reason: reason?,
        via: Vec::new(),
        points: points?,
        hint: hint?,
        flow: None,
        dns: None,
        http: None,
        reach: None,
        ssh: Some(SshCheck {
            hops: hops.into_iter().map(|(hop, _)| hop).collect(),
            auth: auth?,
        }),
        stage: None,
        at_ns: None,
        convergence: None,
        span: fields.at,
    })
}

/// `USER@HOST`, or (where `default_user` is given, in `jump:`) `HOST`.
fn read_login(
    node: &Node,
    default_user: Option<usize>,
    names: &Names,
    ssh: &Ssh,
    d: &mut Diags,
) -> Option<(SshHop, Span)> {
    let text = read::string(node, "an ssh login", d)?;
    let (user, host) = match (text.split_once('@'), default_user) {
        (Some((user, host)), _) => (Some(user), host),
        (None, Some(_)) => (None, text),
        (None, None) => {
            d.error_help(
                node.span,
                format!("`ssh` is `USER@HOST`, found `{text}`"),
                ssh.users
                    .first()
                    .map(|u| format!("for example `{}@{text}`", u.name.value)),
            );
            return None;
        }
    };
    let user = match user {
        None => default_user,
        Some(user) => {
            let id = ssh.user_by_name(user);
            if id.is_none() {
                d.error_help(
                    node.span,
                    format!("unknown ssh user `{user}`"),
                    suggest_user(ssh, user),
                );
            }
            id
        }
    };
    let host = if names.routers.get(host).is_some() {
        d.error(
            node.span,
            format!("`{host}` is a router; only hosts run an sshd"),
        );
        None
    } else if let Some(id) = names.hosts.get(host) {
        Some(id)
    } else {
        d.error_help(
            node.span,
            format!("unknown host `{host}`"),
            names.hosts.suggest(host),
        );
        None
    };
    Some((
        SshHop {
            user: user?,
            host: host?,
        },
        node.span,
    ))
}

/// `jump: bastion` or `jump: [bastion, ops@inner]`, in order. A jump host
/// without `USER@` is logged in to as the target's user, as OpenSSH does.
fn read_jumps(
    fields: &Fields,
    target_user: Option<usize>,
    names: &Names,
    ssh: &Ssh,
    d: &mut Diags,
) -> Option<Vec<(SshHop, Span)>> {
    let Some(node) = fields.get("jump") else {
        return Some(Vec::new());
    };
    let items: Vec<&Node> = match &node.value {
        Value::Seq(items) => items.iter().collect(),
        _ => vec![node],
    };
    if items.len() > JUMPS_MAX {
        d.error(
            node.span,
            format!(
                "too many jump hosts ({}; the limit is {JUMPS_MAX})",
                items.len()
            ),
        );
        return None;
    }
    // Without the target's user, a jump host without `USER@` cannot be
    // read; its host is still checked (user 0 stands in).
    let default = target_user.or(Some(0));
    let mut hops = Vec::with_capacity(items.len());
    let mut ok = target_user.is_some();
    for item in items {
        match read_login(item, default, names, ssh, d) {
            Some(hop) => hops.push(hop),
            None => ok = false,
        }
    }
    ok.then_some(hops)
}

/// The written family, else ipv4 when `from` and every host of the chain
/// have an IPv4 address, else ipv6. Every one of them must have an
/// address of that family.
fn resolve_chain_family(
    fields: &Fields,
    written: Option<Sp<Family>>,
    from: HostId,
    hops: &[(SshHop, Span)],
    hosts: &[Host],
    d: &mut Diags,
) -> Option<Family> {
    let from_span = fields.get("from").map_or(fields.at, |n| n.span);
    let mut ends = vec![(from, from_span)];
    ends.extend(hops.iter().map(|(hop, span)| (hop.host, *span)));
    // A host with no address at all sits on a network already reported.
    ends.retain(|(h, _)| hosts[*h].ipv4.is_some() || hosts[*h].ipv6.is_some());
    let has = |h: HostId, family: Family| match family {
        Family::Ipv4 => hosts[h].ipv4.is_some(),
        Family::Ipv6 => hosts[h].ipv6.is_some(),
    };
    let family = match &written {
        Some(w) => w.value,
        None if ends.iter().all(|&(h, _)| has(h, Family::Ipv4)) => Family::Ipv4,
        None => Family::Ipv6,
    };
    let mut ok = true;
    for &(host, span) in &ends {
        if !has(host, family) {
            d.error(
                span,
                format!(
                    "host `{}` has no {} address, and this ssh check is {}",
                    hosts[host].name.value,
                    match family {
                        Family::Ipv4 => "IPv4",
                        Family::Ipv6 => "IPv6",
                    },
                    family.code()
                ),
            );
            ok = false;
        }
    }
    ok.then_some(family)
}
