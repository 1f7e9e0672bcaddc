//! Limits for labs that come from people the grader does not trust
//! (`wirelab grade`): how large a file, how many hosts, rules, workloads,
//! events and checks, how much simulated time, how many simulated events
//! and how much wall time one lab may use.
//!
//! The counts are checked on the YAML tree before a lab is built, so a
//! submission with a million hosts is turned away at its `hosts:` key
//! without a million hosts ever being built. The run limits
//! (`sim-time`, `sim-events`, `wall-time`) are carried here so that one
//! file or one `--limit` flag sets them all; the grader applies them.
//!
//! `wirelab test` and the other commands do not use these: they keep the
//! generous hard limits of the format (docs/lab-format.md, "Limits").

use std::fmt::Write as _;

use crate::diag::{Diagnostic, Severity};
use crate::model::{Sp, Span};
use crate::read::{self, Diags};
use crate::yaml::{Node, Value, YamlLimits};

/// Every limit of one graded lab. [`Limits::grading`] gives the defaults.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Size of the lab file (and of each zone file it names).
    pub file_bytes: u64,
    /// Nesting of YAML lists and maps.
    pub yaml_depth: usize,
    /// YAML nodes (scalars, lists, maps), aliases expanded.
    pub yaml_nodes: usize,
    /// Parser events that aliases may replay in total ("billion laughs").
    pub yaml_aliases: usize,
    pub hosts: usize,
    pub networks: usize,
    pub routers: usize,
    /// Rules in one direction of one security group or NACL; routes of one
    /// router.
    pub rules: usize,
    /// Workloads (`traffic:`).
    pub traffic: usize,
    /// Timed changes (`events:`).
    pub events: usize,
    pub checks: usize,
    /// Simulated time of the run behind workload checks.
    pub sim_time_ns: u64,
    /// Simulated events of any one simulation (one check, or the run).
    pub sim_events: u64,
    /// Wall time of grading one lab, every check included, in milliseconds.
    pub wall_time_ms: u64,
}

/// How a limit's value is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Unit {
    Count,
    Bytes,
    Time,
}

/// The name, unit and meaning of each limit, in the order they are listed.
const TABLE: [(&str, Unit, &str); 14] = [
    ("file-bytes", Unit::Bytes, "size of the lab file"),
    ("yaml-depth", Unit::Count, "nesting of YAML lists and maps"),
    ("yaml-nodes", Unit::Count, "YAML nodes, aliases expanded"),
    (
        "yaml-aliases",
        Unit::Count,
        "parser events replayed by aliases",
    ),
    ("hosts", Unit::Count, "hosts"),
    ("networks", Unit::Count, "networks"),
    ("routers", Unit::Count, "routers"),
    (
        "rules",
        Unit::Count,
        "rules per security-group or NACL direction, routes per router",
    ),
    ("traffic", Unit::Count, "workloads (`traffic:`)"),
    ("events", Unit::Count, "timed changes (`events:`)"),
    ("checks", Unit::Count, "checks"),
    ("sim-time", Unit::Time, "simulated time of the workload run"),
    (
        "sim-events",
        Unit::Count,
        "simulated events of one simulation",
    ),
    ("wall-time", Unit::Time, "wall time of grading one lab"),
];

/// Highest value of a count limit: far above what the format allows anyway.
const COUNT_MAX: u64 = 1_000_000_000_000;

impl Limits {
    /// The defaults of `wirelab grade`: generous for any exercise (the
    /// largest example lab has 13 hosts and 40 rules), small enough that
    /// a grader running two labs at once stays well under a gigabyte.
    pub fn grading() -> Limits {
        Limits {
            file_bytes: 1024 * 1024,
            yaml_depth: 32,
            yaml_nodes: 200_000,
            yaml_aliases: 10_000,
            hosts: 2_000,
            networks: 500,
            routers: 500,
            rules: 1_000,
            traffic: 100,
            events: 1_000,
            checks: 1_000,
            sim_time_ns: 600_000_000_000,
            sim_events: 5_000_000,
            wall_time_ms: 10_000,
        }
    }

    /// The names of the limits, as `--limit NAME=VALUE` takes them.
    pub fn names() -> impl Iterator<Item = &'static str> {
        TABLE.iter().map(|(name, _, _)| *name)
    }

    /// Every limit as `name  value  meaning` lines, for help and docs.
    pub fn describe(&self) -> String {
        let mut out = String::new();
        for (name, unit, meaning) in TABLE {
            let _ = writeln!(
                out,
                "{name:<13} {:<12} {meaning}",
                show(unit, self.shown(name))
            );
        }
        out
    }

    /// The value of the limit `name`, in its base unit (bytes, nanoseconds
    /// for `sim-time`, milliseconds for `wall-time`, or a count).
    pub fn get(&self, name: &str) -> Option<u64> {
        Some(match name {
            "file-bytes" => self.file_bytes,
            "yaml-depth" => self.yaml_depth as u64,
            "yaml-nodes" => self.yaml_nodes as u64,
            "yaml-aliases" => self.yaml_aliases as u64,
            "hosts" => self.hosts as u64,
            "networks" => self.networks as u64,
            "routers" => self.routers as u64,
            "rules" => self.rules as u64,
            "traffic" => self.traffic as u64,
            "events" => self.events as u64,
            "checks" => self.checks as u64,
            "sim-time" => self.sim_time_ns,
            "sim-events" => self.sim_events,
            "wall-time" => self.wall_time_ms,
            _ => return None,
        })
    }

    /// Sets the limit `name` from its text (`500`, `2MiB`, `30s`).
    pub fn set(&mut self, name: &str, text: &str) -> Result<(), String> {
        let Some((_, unit, _)) = TABLE.iter().find(|(n, _, _)| *n == name) else {
            let help = read::did_you_mean(name, Self::names()).unwrap_or_else(|| {
                format!(
                    "the limits are {}",
                    Self::names().collect::<Vec<_>>().join(", ")
                )
            });
            return Err(format!("unknown limit `{name}` ({help})"));
        };
        let value = parse(*unit, text).map_err(|e| format!("limit `{name}`: {e}"))?;
        if value == 0 {
            return Err(format!("limit `{name}` must be more than 0"));
        }
        let count = || usize::try_from(value).unwrap_or(usize::MAX);
        match name {
            "file-bytes" => self.file_bytes = value,
            "yaml-depth" => self.yaml_depth = count(),
            "yaml-nodes" => self.yaml_nodes = count(),
            "yaml-aliases" => self.yaml_aliases = count(),
            "hosts" => self.hosts = count(),
            "networks" => self.networks = count(),
            "routers" => self.routers = count(),
            "rules" => self.rules = count(),
            "traffic" => self.traffic = count(),
            "events" => self.events = count(),
            "checks" => self.checks = count(),
            "sim-time" => self.sim_time_ns = value,
            "sim-events" => self.sim_events = value,
            "wall-time" => self.wall_time_ms = (value / 1_000_000).max(1),
            _ => unreachable!("every name of TABLE is set above"),
        }
        Ok(())
    }

    /// Reads a limits file: a YAML map of limit names to values
    /// (`{ hosts: 500, wall-time: 5s }`) over the defaults of
    /// [`Limits::grading`]. Every problem is reported at once.
    pub fn from_file(path: &std::path::Path) -> Result<Limits, Vec<Diagnostic>> {
        let file = path.display().to_string();
        let text = crate::read_file(path, crate::FILE_BYTES_MAX)
            .map_err(|message| vec![crate::whole_file(&file, message)])?;
        let root = crate::yaml::load(&text).map_err(|e| {
            vec![Diagnostic {
                file: file.clone(),
                span: e.span.unwrap_or_default(),
                severity: Severity::Error,
                message: e.message,
                help: None,
            }]
        })?;
        let mut d = Diags::new(&file);
        let mut limits = Limits::grading();
        let entries = match &root.value {
            Value::Null => &[][..],
            _ => read::map(&root, "a limits file", &mut d).unwrap_or(&[]),
        };
        for (key, node) in entries {
            let Some(text) = read::scalar_text(node, &format!("limit `{}`", key.value), &mut d)
            else {
                continue;
            };
            if let Err(message) = limits.set(&key.value, &text) {
                let span = if limits.get(&key.value).is_some() {
                    node.span
                } else {
                    key.span
                };
                d.error(span, message);
            }
        }
        if d.has_errors() {
            Err(d.into_sorted())
        } else {
            Ok(limits)
        }
    }

    pub(crate) fn yaml(&self) -> YamlLimits {
        YamlLimits {
            depth: self.yaml_depth,
            nodes: self.yaml_nodes,
            events: self.yaml_nodes.saturating_mul(4),
            alias_events: self.yaml_aliases,
        }
    }
}

fn parse(unit: Unit, text: &str) -> Result<u64, String> {
    let text = text.trim();
    match unit {
        Unit::Count => {
            let digits: String = text.chars().filter(|c| *c != '_' && *c != ',').collect();
            match digits.parse::<u64>() {
                Ok(n) if n <= COUNT_MAX => Ok(n),
                _ => Err(format!("`{text}` is not a whole number up to {COUNT_MAX}")),
            }
        }
        Unit::Bytes => {
            // A bare number is a number of bytes.
            match text.parse::<u64>() {
                Ok(n) => Ok(n),
                Err(_) => crate::quantity::parse_size(text),
            }
        }
        Unit::Time => crate::quantity::parse_time(text),
    }
}

fn show(unit: Unit, value: u64) -> String {
    match (unit, value) {
        (Unit::Bytes, v) if v.is_multiple_of(1024 * 1024) => format!("{}MiB", v / (1024 * 1024)),
        (Unit::Bytes, v) => format!("{v}B"),
        (Unit::Time, v) if v.is_multiple_of(1_000_000_000) => format!("{}s", v / 1_000_000_000),
        (Unit::Time, v) => format!("{}ms", v / 1_000_000),
        (Unit::Count, v) => thousands(v),
    }
}

/// `1234567` → `1,234,567`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

impl Limits {
    /// The value of a limit in the unit `show` takes (nanoseconds for
    /// both times).
    fn shown(&self, name: &str) -> u64 {
        match name {
            "wall-time" => self.wall_time_ms.saturating_mul(1_000_000),
            _ => self.get(name).unwrap_or(0),
        }
    }
}

/// Counts what the limits bound in the YAML tree of a lab, before it is
/// built. Reports each limit hit at the key that holds too many, and
/// returns the name of the first limit hit.
pub(crate) fn check_tree(root: &Node, limits: &Limits, d: &mut Diags) -> Option<&'static str> {
    let Value::Map(top) = &root.value else {
        return None;
    };
    let mut hit = None;
    let mut over =
        |name: &'static str, what: &str, at: Span, count: usize, max: usize, d: &mut Diags| {
            if count > max {
                d.error(
                    at,
                    format!(
                        "limit: {} {what} (at most {}; --limit {name}=N to change)",
                        thousands(count as u64),
                        thousands(max as u64)
                    ),
                );
                hit.get_or_insert(name);
            }
        };
    for (key, node) in top {
        let len = match &node.value {
            Value::Map(entries) => entries.len(),
            Value::Seq(items) => items.len(),
            _ => 0,
        };
        match key.value.as_str() {
            "hosts" => over("hosts", "hosts", key.span, len, limits.hosts, d),
            "networks" => over("networks", "networks", key.span, len, limits.networks, d),
            "routers" => {
                over("routers", "routers", key.span, len, limits.routers, d);
                for (name, router) in entries(node) {
                    rule_lists(name, router, &["routes"], "routes", limits, &mut over, d);
                }
            }
            "traffic" => over("traffic", "workloads", key.span, len, limits.traffic, d),
            "events" => over("events", "events", key.span, len, limits.events, d),
            "checks" => over("checks", "checks", key.span, len, limits.checks, d),
            "security_groups" | "nacls" => {
                for (name, filter) in entries(node) {
                    rule_lists(
                        name,
                        filter,
                        &["inbound", "outbound"],
                        "rules",
                        limits,
                        &mut over,
                        d,
                    );
                }
            }
            _ => {}
        }
    }
    hit
}

fn entries(node: &Node) -> &[(Sp<String>, Node)] {
    match &node.value {
        Value::Map(entries) => entries,
        _ => &[],
    }
}

type Over<'a> = dyn FnMut(&'static str, &str, Span, usize, usize, &mut Diags) + 'a;

fn rule_lists(
    name: &Sp<String>,
    node: &Node,
    keys: &[&str],
    what: &str,
    limits: &Limits,
    over: &mut Over<'_>,
    d: &mut Diags,
) {
    for (key, list) in entries(node) {
        if let (true, Value::Seq(items)) = (keys.contains(&key.value.as_str()), &list.value) {
            let what = format!("{what} in `{}` {}", name.value, key.value);
            over("rules", &what, key.span, items.len(), limits.rules, d);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_reads_each_unit() {
        let mut l = Limits::grading();
        l.set("hosts", "5,000").unwrap();
        l.set("file-bytes", "2MiB").unwrap();
        l.set("wall-time", "1.5s").unwrap();
        l.set("sim-time", "2min").unwrap();
        assert_eq!(l.hosts, 5000);
        assert_eq!(l.file_bytes, 2 * 1024 * 1024);
        assert_eq!(l.wall_time_ms, 1500);
        assert_eq!(l.sim_time_ns, 120_000_000_000);
        assert!(l
            .set("hots", "5")
            .unwrap_err()
            .contains("did you mean `hosts`"));
        assert!(l.set("hosts", "0").is_err());
        assert!(l.set("hosts", "many").is_err());
    }

    #[test]
    fn counts_are_reported_at_their_key() {
        let text =
            "hosts:\n  a: {}\n  b: {}\n  c: {}\nsecurity_groups:\n  sg:\n    inbound: [1, 2, 3]\n";
        let root = crate::yaml::load(text).unwrap();
        let mut limits = Limits::grading();
        limits.hosts = 2;
        limits.rules = 2;
        let mut d = Diags::new("lab.yaml");
        assert_eq!(check_tree(&root, &limits, &mut d), Some("hosts"));
        let shown: Vec<String> = d.into_sorted().iter().map(ToString::to_string).collect();
        assert_eq!(
            shown,
            [
                "lab.yaml:1:1: error: limit: 3 hosts (at most 2; --limit hosts=N to change)",
                "lab.yaml:7:5: error: limit: 3 rules in `sg` inbound (at most 2; --limit rules=N to change)",
            ]
        );
    }

    #[test]
    fn describe_lists_every_limit() {
        let text = Limits::grading().describe();
        assert_eq!(text.lines().count(), TABLE.len());
        assert!(text.contains("wall-time     10s"), "{text}");
        assert!(text.contains("file-bytes    1MiB"), "{text}");
    }
}
