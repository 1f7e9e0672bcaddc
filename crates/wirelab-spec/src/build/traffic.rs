//! `traffic:` (extension): workloads that run during a test — bulk
//! transfers, request/response exchanges, pings and on/off UDP streams.

use super::checks::{read_family, read_host_ref, read_target, resolve_family};
use super::tcp::read_size;
use super::{NameTable, Names};
use crate::model::{Host, Sp, Span, Traffic, Workload};
use crate::quantity;
use crate::read::{self, Diags, Fields};
use crate::yaml::{Node, Value};

pub(crate) const TRAFFIC_KEYS: [&str; 10] = [
    "name", "from", "to", "port", "family", "start", "bulk", "requests", "ping", "onoff",
];
const WORKLOAD_KEYS: [&str; 4] = ["bulk", "requests", "ping", "onoff"];
pub(crate) const REQUESTS_KEYS: [&str; 4] = ["count", "request", "response", "think"];
pub(crate) const PING_KEYS: [&str; 3] = ["count", "interval", "size"];
pub(crate) const ONOFF_KEYS: [&str; 5] = ["rate", "on", "off", "packet", "duration"];
/// Most workloads in one lab.
const TRAFFIC_MAX: usize = 10_000;
/// Most pings or requests of one workload.
const COUNT_MAX: i128 = 1_000_000;
/// Largest request or response: 1GB.
const MESSAGE_BYTES_MAX: u64 = 1_000_000_000;
/// Largest datagram payload (IPv4: 65535 - 20 - 8).
const DATAGRAM_BYTES_MAX: u64 = 65_507;
/// Echo payload of `ping` when the file gives none (as ping(8)).
const PING_SIZE_DEFAULT: u32 = 56;
const PING_INTERVAL_DEFAULT_NS: u64 = 1_000_000_000;

/// The workloads of the lab: every name (for references from checks, even
/// when its entry is invalid) and the entry, aligned with the names.
#[derive(Default)]
pub(crate) struct TrafficTable {
    pub names: NameTable,
    pub entries: Vec<Option<Traffic>>,
}

pub(crate) fn read_traffic(
    node: Option<&Node>,
    names: &Names,
    hosts: &[Host],
    d: &mut Diags,
) -> TrafficTable {
    let mut table = TrafficTable::default();
    let Some(node) = node else { return table };
    let Some(items) = read::seq(node, "`traffic`", d) else {
        return table;
    };
    if items.len() > TRAFFIC_MAX {
        d.error(
            node.span,
            format!(
                "too many workloads ({}; the limit is {TRAFFIC_MAX})",
                items.len()
            ),
        );
        return table;
    }
    for item in items {
        let what = "a workload";
        let Some(fields) = read::fields(item, &TRAFFIC_KEYS, what, item.span, d) else {
            continue;
        };
        let name = fields.require("name", what, d).and_then(|n| {
            let name = read::string(n, "`name`", d)?;
            let name = Sp::new(name.to_string(), n.span);
            if !table.names.add(name.clone()) {
                let line = table
                    .names
                    .get(&name.value)
                    .map_or(0, |i| table.names.names[i].span.line);
                d.error(
                    n.span,
                    format!(
                        "workload name `{}` is already used (line {line})",
                        name.value
                    ),
                );
                return None;
            }
            Some(name)
        });
        let entry = read_entry(&fields, item.span, names, hosts, d);
        if let Some(name) = name {
            table.entries.push(
                entry.map(|(from, to, family, port, start_ns, kind)| Traffic {
                    name,
                    from,
                    to,
                    family,
                    port,
                    start_ns,
                    kind,
                    span: item.span,
                }),
            );
        }
    }
    table
}

type Entry = (
    usize,
    crate::model::CheckTarget,
    crate::model::Family,
    Option<u16>,
    u64,
    Workload,
);

fn read_entry(
    fields: &Fields,
    span: Span,
    names: &Names,
    hosts: &[Host],
    d: &mut Diags,
) -> Option<Entry> {
    let what = "a workload";
    let from = fields
        .require("from", what, d)
        .and_then(|n| read_host_ref(n, "`from`", "workloads", names, d));
    let to = fields
        .require("to", what, d)
        .and_then(|n| read_target(n, "workloads", names, d, false));
    let family_written = read_family(fields, d);
    let start = match fields.get("start") {
        None => Some(0),
        Some(n) => read_time(n, "`start`", d),
    };
    let kinds: Vec<&str> = WORKLOAD_KEYS
        .iter()
        .copied()
        .filter(|k| fields.get(k).is_some())
        .collect();
    let kind_key = match kinds.as_slice() {
        [] => {
            d.error(
                span,
                "a workload needs one of `bulk`, `requests`, `ping` or `onoff`",
            );
            None
        }
        [one] => Some(*one),
        [first, rest @ ..] => {
            for other in rest {
                d.error(
                    fields.key_span(other).unwrap_or(span),
                    format!("a workload has one kind: `{first}` and `{other}` are both given"),
                );
            }
            None
        }
    };
    let kind = kind_key.and_then(|key| {
        let node = fields.get(key)?;
        let at = fields.key_span(key).unwrap_or(span);
        match key {
            "bulk" => read_bulk(node, d),
            "requests" => read_requests(node, at, d),
            "ping" => read_ping(node, at, d),
            _ => read_onoff(node, at, d),
        }
    });
    let port = read_port(fields, kind_key, span, d);
    let (from, to) = (from?, to?);
    let family = resolve_family("workload", fields, family_written, from, &to, hosts, d)?;
    Some((from, to, family, port?, start?, kind?))
}

/// `port`: required for TCP and UDP workloads, rejected for `ping`.
fn read_port(fields: &Fields, kind: Option<&str>, at: Span, d: &mut Diags) -> Option<Option<u16>> {
    let node = fields.get("port");
    match (kind, node) {
        (Some("ping"), Some(n)) => {
            d.error(n.span, "a ping workload has no port");
            None
        }
        (Some("ping"), None) => Some(None),
        (Some(kind), None) => {
            let proto = if kind == "onoff" { "UDP" } else { "TCP" };
            d.error(
                at,
                format!("a `{kind}` workload needs `port:` (the destination's {proto} port)"),
            );
            None
        }
        (_, Some(n)) => read::int_in(n, "port", 1, 65535, d).map(|p| Some(p as u16)),
        (None, None) => None,
    }
}

fn read_bulk(node: &Node, d: &mut Diags) -> Option<Workload> {
    let bytes = read_size(node, "`bulk`", d)?;
    if bytes == 0 {
        d.error(node.span, "`bulk` must be more than 0 bytes");
        return None;
    }
    Some(Workload::Bulk { bytes })
}

fn read_requests(node: &Node, at: Span, d: &mut Diags) -> Option<Workload> {
    let what = "`requests`";
    let fields = read::fields(node, &REQUESTS_KEYS, what, at, d)?;
    let count = fields
        .require("count", what, d)
        .and_then(|n| read::int_in(n, "`count`", 1, COUNT_MAX, d));
    let request = fields
        .require("request", what, d)
        .and_then(|n| read_size_in(n, "`request`", 1, MESSAGE_BYTES_MAX, d));
    let response = fields
        .require("response", what, d)
        .and_then(|n| read_size_in(n, "`response`", 1, MESSAGE_BYTES_MAX, d));
    let think = match fields.get("think") {
        None => Some(0),
        Some(n) => read_time(n, "`think`", d),
    };
    Some(Workload::Requests {
        count: count? as u32,
        request_bytes: request? as u32,
        response_bytes: response? as u32,
        think_ns: think?,
    })
}

fn read_ping(node: &Node, at: Span, d: &mut Diags) -> Option<Workload> {
    let what = "`ping`";
    let fields = read::fields(node, &PING_KEYS, what, at, d)?;
    let count = fields
        .require("count", what, d)
        .and_then(|n| read::int_in(n, "`count`", 1, COUNT_MAX, d));
    let interval = match fields.get("interval") {
        None => Some(PING_INTERVAL_DEFAULT_NS),
        Some(n) => read_positive_time(n, "`interval`", d),
    };
    let size = match fields.get("size") {
        None => Some(u64::from(PING_SIZE_DEFAULT)),
        Some(n) => match n.value {
            Value::Int(_) => {
                read::int_in(n, "`size` (bytes)", 1, DATAGRAM_BYTES_MAX.into(), d).map(|s| s as u64)
            }
            _ => read_size_in(n, "`size`", 1, DATAGRAM_BYTES_MAX, d),
        },
    };
    Some(Workload::Ping {
        count: count? as u32,
        interval_ns: interval?,
        payload_bytes: size? as u32,
    })
}

fn read_onoff(node: &Node, at: Span, d: &mut Diags) -> Option<Workload> {
    let what = "`onoff`";
    let fields = read::fields(node, &ONOFF_KEYS, what, at, d)?;
    let rate = fields.require("rate", what, d).and_then(|n| {
        let text = read::scalar_text(n, "`rate`", d)?;
        quantity::parse_bandwidth(&text)
            .map_err(|e| d.error(n.span, e.replacen("bandwidth", "rate", 1)))
            .ok()
    });
    let on = fields
        .require("on", what, d)
        .and_then(|n| read_positive_time(n, "`on`", d));
    let off = fields
        .require("off", what, d)
        .and_then(|n| read_time(n, "`off`", d));
    let packet = fields
        .require("packet", what, d)
        .and_then(|n| read_size_in(n, "`packet`", 1, DATAGRAM_BYTES_MAX, d));
    let duration = fields
        .require("duration", what, d)
        .and_then(|n| read_positive_time(n, "`duration`", d));
    Some(Workload::OnOff {
        rate_bps: rate?,
        on_ns: on?,
        off_ns: off?,
        packet_bytes: packet? as u32,
        duration_ns: duration?,
    })
}

/// A size within `min..=max` bytes.
fn read_size_in(node: &Node, what: &str, min: u64, max: u64, d: &mut Diags) -> Option<u64> {
    let bytes = read_size(node, what, d)?;
    if bytes < min {
        d.error(node.span, format!("{what} must be more than 0 bytes"));
        return None;
    }
    if bytes > max {
        d.error(
            node.span,
            format!("{what} is more than the limit of {max} bytes"),
        );
        return None;
    }
    Some(bytes)
}

/// A time or duration (`5s`, `250ms`, `2min`): 0 ..= one day.
pub(crate) fn read_time(node: &Node, what: &str, d: &mut Diags) -> Option<u64> {
    let text = read::scalar_text(node, what, d)?;
    quantity::parse_time(&text)
        .map_err(|e| d.error(node.span, e.replacen("time `", &format!("{what} `"), 1)))
        .ok()
}

/// A duration that must be more than 0.
pub(crate) fn read_positive_time(node: &Node, what: &str, d: &mut Diags) -> Option<u64> {
    let ns = read_time(node, what, d)?;
    if ns == 0 {
        d.error(node.span, format!("{what} must be more than 0"));
        return None;
    }
    Some(ns)
}

/// `5s`, `1.5s`, `250ms`, `7ns`: a time for messages.
pub(crate) fn format_time(ns: u64) -> String {
    for (unit, size) in [("s", 1_000_000_000), ("ms", 1_000_000), ("us", 1_000)] {
        if ns >= size {
            let whole = ns / size;
            let fraction = ns % size;
            if fraction == 0 {
                return format!("{whole}{unit}");
            }
            let digits = format!("{:0width$}", fraction, width = size.ilog10() as usize);
            return format!("{whole}.{}{unit}", digits.trim_end_matches('0'));
        }
    }
    format!("{ns}ns")
}

#[cfg(test)]
mod tests {
    #[test]
    fn times_for_messages() {
        assert_eq!(super::format_time(0), "0ns");
        assert_eq!(super::format_time(5_000_000_000), "5s");
        assert_eq!(super::format_time(1_500_000_000), "1.5s");
        assert_eq!(super::format_time(250_000_000), "250ms");
        assert_eq!(super::format_time(1_050_000), "1.05ms");
        assert_eq!(super::format_time(7), "7ns");
    }
}
