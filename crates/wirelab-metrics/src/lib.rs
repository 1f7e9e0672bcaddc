//! wirelab-metrics: the Prometheus exposition of a lab — what the
//! simulator counted in a run ([`RunCounters`]) and how its checks went
//! (a check [`Report`]).
//!
//! The text is written by `prometheus-client` (the Prometheus project's
//! crate) from a [`Collector`] that walks the counters in a fixed order:
//! networks, then nodes, then interfaces in lab order; rules in the order
//! the lab writes them. Nothing is hashed, so the same lab and seed give
//! byte-identical output. Every label value comes from the lab file (names,
//! rule positions and lines) or from a fixed list (directions, drop codes,
//! DNS roles), so the number of series is bounded by the lab's size. See
//! docs/metrics.md for every metric.

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric, NoLabelSet};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;
use wirelab_check::{Report, Status};
use wirelab_net::{Direction, Network};
use wirelab_sim::counters::{
    RuleOwner, RunCounters, DNS_ROLES, DNS_TRANSPORTS, HANDSHAKE_BUCKETS_NS,
};

/// The `Content-Type` of [`render`]'s output (Prometheus text 0.0.4).
pub const CONTENT_TYPE: &str = prometheus_client::encoding::prometheus_text::CONTENT_TYPE;
/// The `Content-Type` of [`render_openmetrics`]'s output.
pub const OPENMETRICS_CONTENT_TYPE: &str =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The Prometheus text format (0.0.4) of a lab's metrics: the run's
/// counters when given, the checks' results when given (either or both).
/// This is what `promtool check metrics` reads.
pub fn render(
    lab: &str,
    net: &Network,
    counters: Option<&RunCounters>,
    checks: Option<&Report>,
) -> String {
    let mut out = String::new();
    prometheus_client::encoding::prometheus_text::encode(
        &mut out,
        &registry(lab, net, counters, checks),
    )
    .expect("writing to a String cannot fail");
    out
}

/// The same metrics in the OpenMetrics text format (ends with `# EOF`),
/// for scrapers that ask for it.
pub fn render_openmetrics(
    lab: &str,
    net: &Network,
    counters: Option<&RunCounters>,
    checks: Option<&Report>,
) -> String {
    let mut out = String::new();
    prometheus_client::encoding::text::encode(&mut out, &registry(lab, net, counters, checks))
        .expect("writing to a String cannot fail");
    out
}

/// One lab's part of an exposition that covers several (`wirelab serve`).
pub struct LabMetrics<'a> {
    pub lab: &'a str,
    pub net: &'a Network,
    pub counters: Option<&'a RunCounters>,
    pub checks: Option<&'a Report>,
}

/// The Prometheus text format of several labs at once: each metric family
/// once (one HELP and TYPE), its samples lab after lab in the order given.
pub fn render_labs(labs: &[LabMetrics<'_>]) -> String {
    let mut out = String::new();
    prometheus_client::encoding::prometheus_text::encode(&mut out, &registry_of(labs))
        .expect("writing to a String cannot fail");
    out
}

fn registry(
    lab: &str,
    net: &Network,
    counters: Option<&RunCounters>,
    checks: Option<&Report>,
) -> Registry {
    registry_of(&[LabMetrics {
        lab,
        net,
        counters,
        checks,
    }])
}

fn registry_of(labs: &[LabMetrics<'_>]) -> Registry {
    let mut families: Vec<Family> = Vec::new();
    for m in labs {
        let mut mine = Vec::new();
        if let Some(c) = m.counters {
            run_families(m.lab, m.net, c, &mut mine);
        }
        if let Some(r) = m.checks {
            check_families(m.lab, r, &mut mine);
        }
        // Families keep the order in which a lab first brings them.
        for f in mine {
            match families.iter_mut().find(|g| g.name == f.name) {
                Some(g) => g.samples.extend(f.samples),
                None => families.push(f),
            }
        }
    }
    let mut registry = Registry::default();
    registry.register_collector(Box::new(Families(families)));
    registry
}

type Labels = Vec<(&'static str, String)>;

/// The `lab` label, first on every sample.
struct LabLabels<'a>(&'a str);

impl LabLabels<'_> {
    fn with(&self, labels: &[(&'static str, String)]) -> Labels {
        let mut v = vec![("lab", self.0.to_string())];
        v.extend_from_slice(labels);
        v
    }
}

#[derive(Clone, Debug)]
enum Value {
    Counter(u64),
    Gauge(f64),
    /// Sum, count, and per-bucket (not cumulative) counts by upper bound;
    /// the last bound is +Inf.
    Histogram(f64, u64, Vec<(f64, u64)>),
}

/// One metric family: its name (without `_total` for counters, which the
/// encoder adds), help, and samples in output order.
#[derive(Clone, Debug)]
struct Family {
    name: &'static str,
    help: &'static str,
    kind: MetricType,
    samples: Vec<(Labels, Value)>,
}

impl Family {
    fn new(name: &'static str, kind: MetricType, help: &'static str) -> Family {
        Family {
            name,
            help,
            kind,
            samples: Vec::new(),
        }
    }

    /// A family of one sample.
    fn one(
        name: &'static str,
        kind: MetricType,
        help: &'static str,
        labels: Labels,
        value: Value,
    ) -> Family {
        let mut f = Family::new(name, kind, help);
        f.push(labels, value);
        f
    }

    fn push(&mut self, labels: Labels, value: Value) {
        self.samples.push((labels, value));
    }
}

/// The families, owned, for prometheus-client to encode on demand.
#[derive(Debug)]
struct Families(Vec<Family>);

impl Collector for Families {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> Result<(), std::fmt::Error> {
        for f in &self.0 {
            let mut family = encoder.encode_descriptor(f.name, f.help, None, f.kind)?;
            for (labels, value) in &f.samples {
                let sample = family.encode_family(labels)?;
                match value {
                    Value::Counter(n) => ConstCounter::new(*n).encode(sample)?,
                    Value::Gauge(x) => ConstGauge::new(*x).encode(sample)?,
                    Value::Histogram(sum, count, buckets) => {
                        let mut sample = sample;
                        sample.encode_histogram::<NoLabelSet>(*sum, *count, buckets, None)?
                    }
                }
            }
        }
        Ok(())
    }
}

fn dir_code(d: Direction) -> &'static str {
    match d {
        Direction::Inbound => "inbound",
        Direction::Outbound => "outbound",
    }
}

fn run_families(lab: &str, net: &Network, c: &RunCounters, out: &mut Vec<Family>) {
    let l = LabLabels(lab);
    out.push(Family::one(
        "wirelab_simulated_seconds",
        MetricType::Gauge,
        "Simulated time of the run when the counters were read.",
        l.with(&[]),
        Value::Gauge(c.time_ns as f64 / 1e9),
    ));

    let mut packets = Family::new(
        "wirelab_interface_packets",
        MetricType::Counter,
        "Frames an interface sent (tx: started serializing) or received (rx: accepted: for its address, broadcast or multicast).",
    );
    let mut bytes = Family::new(
        "wirelab_interface_bytes",
        MetricType::Counter,
        "Bytes of whole frames an interface sent (tx) or received (rx).",
    );
    for seg in &net.segments {
        for &i in &seg.ifaces {
            let node = &net.nodes[net.ifaces[i].node];
            let pos = node.ifaces.iter().position(|&x| x == i).unwrap_or(0);
            let s = c.ifaces.get(i).copied().unwrap_or_default();
            for (dir, n, b) in [("tx", s.frames, s.bytes), ("rx", s.rx_frames, s.rx_bytes)] {
                let labels = l.with(&[
                    ("network", seg.name.clone()),
                    ("node", node.name.clone()),
                    ("interface", format!("eth{pos}")),
                    ("direction", dir.to_string()),
                ]);
                packets.push(labels.clone(), Value::Counter(n));
                bytes.push(labels, Value::Counter(b));
            }
        }
    }
    out.push(packets);
    out.push(bytes);

    let mut drops = Family::new(
        "wirelab_drops",
        MetricType::Counter,
        "Packets dropped, by cause (the stable drop codes of traces and JSON reports).",
    );
    for (code, n) in c.drops_by_code() {
        drops.push(l.with(&[("reason", code.to_string())]), Value::Counter(n));
    }
    out.push(drops);

    // Dynamic routing, only in labs that have it.
    if !c.routing.is_empty() {
        let mut messages = Family::new(
            "wirelab_routing_messages",
            MetricType::Counter,
            "Routing protocol packets a router sent (OSPF packets, RIP datagrams).",
        );
        let mut bytes = Family::new(
            "wirelab_routing_bytes",
            MetricType::Counter,
            "Bytes of whole frames of a router's routing protocol packets.",
        );
        let mut changes = Family::new(
            "wirelab_routing_table_changes",
            MetricType::Counter,
            "Changes of a router's routing table made by its dynamic routing protocols.",
        );
        for r in &c.routing {
            let labels = l.with(&[
                ("router", net.lab.routers[r.router].name.value.clone()),
                ("protocol", r.protocol.to_string()),
            ]);
            messages.push(labels.clone(), Value::Counter(r.messages));
            bytes.push(labels.clone(), Value::Counter(r.bytes));
            changes.push(labels, Value::Counter(r.table_changes));
        }
        out.push(messages);
        out.push(bytes);
        out.push(changes);
    }

    let mut sg_hits = Family::new(
        "wirelab_sg_rule_hits",
        MetricType::Counter,
        "Packets a security-group rule let through: the first packet of each new flow, and every packet of an untracked flow. rule: 1-based position in its direction's list (event: added by an events: entry); line: where the lab file writes it.",
    );
    let mut nacl_hits = Family::new(
        "wirelab_nacl_rule_hits",
        MetricType::Counter,
        "Packets a network ACL rule decided (every packet is evaluated); rule * is the final deny rule (line 0).",
    );
    for (info, n) in c.rule_hits() {
        let line = info.span.line.to_string();
        let direction = dir_code(info.direction).to_string();
        match info.owner {
            RuleOwner::SecurityGroup(g) => {
                let rule = match (info.rule, info.event) {
                    (Some(k), _) => k.to_string(),
                    (None, _) => "event".to_string(),
                };
                let group = net.lab.security_groups[g].name.value.clone();
                sg_hits.push(
                    l.with(&[
                        ("group", group),
                        ("direction", direction),
                        ("rule", rule),
                        ("line", line),
                    ]),
                    Value::Counter(n),
                );
            }
            RuleOwner::Nacl(a) => {
                let rule = info.rule.map_or("*".to_string(), |k| k.to_string());
                let action = match info.action {
                    Some(wirelab_spec::NaclAction::Allow) => "allow",
                    _ => "deny",
                };
                nacl_hits.push(
                    l.with(&[
                        ("nacl", net.lab.nacls[a].name.value.clone()),
                        ("direction", direction),
                        ("rule", rule),
                        ("action", action.to_string()),
                        ("line", line),
                    ]),
                    Value::Counter(n),
                );
            }
        }
    }
    out.push(sg_hits);
    let mut sg_default = Family::new(
        "wirelab_sg_default_outbound_hits",
        MetricType::Counter,
        "New outbound flows let out by the default allow-all outbound rule (a group of the host writes no outbound list).",
    );
    let mut tracked = Family::new(
        "wirelab_sg_tracked_packets",
        MetricType::Counter,
        "Packets connection tracking let through without a rule evaluation: established (a tracked flow) or related (an ICMP error about one).",
    );
    for (h, host) in net.lab.hosts.iter().enumerate() {
        if host.security_groups.is_empty() {
            continue;
        }
        let t = c.sg_tracked.get(h).copied().unwrap_or_default();
        let name = host.name.value.clone();
        sg_default.push(
            l.with(&[("host", name.clone())]),
            Value::Counter(t.default_outbound[1]),
        );
        for (d, dir) in ["inbound", "outbound"].into_iter().enumerate() {
            for (state, n) in [("established", t.established[d]), ("related", t.related[d])] {
                tracked.push(
                    l.with(&[
                        ("host", name.clone()),
                        ("direction", dir.to_string()),
                        ("state", state.to_string()),
                    ]),
                    Value::Counter(n),
                );
            }
        }
    }
    out.push(sg_default);
    out.push(tracked);
    out.push(nacl_hits);

    tcp_families(c, &l, out);
    dns_families(c, &l, out);
}

fn tcp_families(c: &RunCounters, l: &LabLabels<'_>, out: &mut Vec<Family>) {
    let t = &c.tcp;
    let mut opened = Family::new(
        "wirelab_tcp_connections_opened",
        MetricType::Counter,
        "TCP connections opened: active (connect, SYN sent) or passive (a listening port accepted a SYN). Workloads, DNS and HTTP over TCP; not the checks' probes.",
    );
    opened.push(
        l.with(&[("side", "active".to_string())]),
        Value::Counter(t.opened_active),
    );
    opened.push(
        l.with(&[("side", "passive".to_string())]),
        Value::Counter(t.opened_passive),
    );
    out.push(opened);
    out.push(Family::one(
        "wirelab_tcp_retransmitted_segments",
        MetricType::Counter,
        "TCP segments sent again, for any reason (timeout, fast retransmit, SACK recovery, SYN and FIN).",
        l.with(&[]), Value::Counter(t.retransmitted_segments),
    ));
    let mut hist = Family::new(
        "wirelab_tcp_handshake_seconds",
        MetricType::Histogram,
        "Simulated time from an active open's SYN to ESTABLISHED.",
    );
    let mut buckets: Vec<(f64, u64)> = HANDSHAKE_BUCKETS_NS
        .iter()
        .zip(t.handshake_buckets)
        .map(|(&le, n)| (le as f64 / 1e9, n))
        .collect();
    let within: u64 = t.handshake_buckets.iter().sum();
    buckets.push((f64::INFINITY, t.handshakes - within));
    hist.push(
        l.with(&[]),
        Value::Histogram(t.handshake_ns_sum as f64 / 1e9, t.handshakes, buckets),
    );
    out.push(hist);
}

fn dns_families(c: &RunCounters, l: &LabLabels<'_>, out: &mut Vec<Family>) {
    let d = &c.dns;
    let mut queries = Family::new(
        "wirelab_dns_queries",
        MetricType::Counter,
        "DNS queries sent: by hosts' stub resolvers, by recursive resolvers (upstream), or injected from outside the simulation (external).",
    );
    let mut answers = Family::new(
        "wirelab_dns_answers",
        MetricType::Counter,
        "DNS responses that came back to a query's port or connection.",
    );
    for (r, role) in DNS_ROLES.iter().enumerate() {
        for (k, transport) in DNS_TRANSPORTS.iter().enumerate() {
            let labels = l.with(&[
                ("role", role.to_string()),
                ("transport", transport.to_string()),
            ]);
            queries.push(labels.clone(), Value::Counter(d.queries[r][k]));
            answers.push(labels, Value::Counter(d.answers[r][k]));
        }
    }
    out.push(queries);
    out.push(answers);
    out.push(Family::one(
        "wirelab_dns_cache_hits",
        MetricType::Counter,
        "Client queries a recursive resolver answered from its cache, asking no other server.",
        l.with(&[]),
        Value::Counter(d.cache_hits),
    ));
    out.push(Family::one(
        "wirelab_dns_cache_misses",
        MetricType::Counter,
        "Client queries a recursive resolver answered after asking other servers.",
        l.with(&[]),
        Value::Counter(d.cache_misses),
    ));
}

fn check_families(lab: &str, r: &Report, out: &mut Vec<Family>) {
    let mut checks = Family::new(
        "wirelab_checks",
        MetricType::Gauge,
        "Checks of the lab by result.",
    );
    for (result, n) in [("pass", r.passed), ("fail", r.failed)] {
        checks.push(
            vec![("lab", lab.to_string()), ("result", result.to_string())],
            Value::Gauge(n as f64),
        );
    }
    out.push(checks);
    let mut passed = Family::new(
        "wirelab_check_passed",
        MetricType::Gauge,
        "1 if the check passed, 0 if it failed.",
    );
    for c in &r.checks {
        let ok = if c.status == Status::Pass { 1.0 } else { 0.0 };
        passed.push(
            vec![("lab", lab.to_string()), ("check", c.name.clone())],
            Value::Gauge(ok),
        );
    }
    out.push(passed);
    out.push(Family::one(
        "wirelab_check_score",
        MetricType::Gauge,
        "Points the passed checks earned.",
        vec![("lab", lab.to_string())],
        Value::Gauge(f64::from(r.score)),
    ));
    out.push(Family::one(
        "wirelab_check_score_max",
        MetricType::Gauge,
        "Points all checks together are worth.",
        vec![("lab", lab.to_string())],
        Value::Gauge(f64::from(r.max_score)),
    ));
}
