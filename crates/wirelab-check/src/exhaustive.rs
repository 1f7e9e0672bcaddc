//! Exhaustive checks: `expect: { reachable_from: [...], nothing_else: true }`.
//!
//! A probe check samples one packet; an exhaustive check asks about every
//! source at once, so it is answered by the analysis (wirelab-analyze),
//! which is exact and which a test holds to the simulator's verdicts:
//! every listed source must reach the check's `to`, `proto` and `port`,
//! and with `nothing_else` no other host and no other address (of the
//! lab's networks or of the outside) may.

use std::collections::BTreeSet;

use wirelab_analyze::addrs::{self, bounds, to_int};
use wirelab_analyze::{Analyzer, FamilyReach, Origin, PortSet, Proto, SourceReach};
use wirelab_net::Network;
use wirelab_spec::{Check, CheckProto, CheckTarget, Family, HostId, ReachCheck, ReachSource};

use crate::{verdict, CheckResult};

/// At most this many offenders are named in a failure.
const NAMED_MAX: usize = 8;

struct Question<'a> {
    net: &'a Network,
    analyzer: Analyzer<'a>,
    to: HostId,
    family: Family,
    proto: Proto,
    port: Option<u16>,
}

impl Question<'_> {
    /// Whether this answer reaches what the check asks.
    fn hit(&self, fam: &FamilyReach) -> bool {
        fam.family == self.family
            && fam.protos.iter().any(|p| {
                p.proto == self.proto
                    && match self.port {
                        Some(port) => p.reachable.contains(port),
                        None => !p.reachable.is_empty(),
                    }
            })
    }

    /// The first thing that blocks it, in the words of `wirelab reach`.
    fn why_not(&self, fam: &FamilyReach) -> String {
        let asked = self.port.map_or(PortSet::full(), PortSet::single);
        fam.protos
            .iter()
            .filter(|p| p.proto == self.proto)
            .flat_map(|p| &p.blocks)
            .find(|b| match b {
                wirelab_analyze::Block::SecurityGroup { ports, .. } => {
                    self.proto == Proto::Icmp || !ports.intersect(&asked).is_empty()
                }
                wirelab_analyze::Block::Nacl {
                    leg: wirelab_analyze::Leg::Request,
                    ports,
                    ..
                } => self.proto == Proto::Icmp || !ports.intersect(&asked).is_empty(),
                _ => true,
            })
            .map(|b| b.code().to_string())
            .unwrap_or_else(|| "blocked".into())
    }

    fn host_hits(&self, h: HostId) -> Option<bool> {
        let reach = self.analyzer.reach(h, self.to);
        let fam = reach.families.iter().find(|f| f.family == self.family)?;
        Some(self.hit(fam))
    }

    fn host_why_not(&self, h: HostId) -> String {
        let reach = self.analyzer.reach(h, self.to);
        match reach.families.iter().find(|f| f.family == self.family) {
            Some(fam) => self.why_not(fam),
            None => format!("no {} address", self.family.code()),
        }
    }

    fn name(&self, h: HostId) -> &str {
        &self.net.lab.hosts[h].name.value
    }

    fn host_addr(&self, h: HostId) -> Option<u128> {
        let host = &self.net.lab.hosts[h];
        match self.family {
            Family::Ipv4 => host.ipv4.map(|a| to_int(a.into())),
            Family::Ipv6 => host.ipv6.map(|a| to_int(a.into())),
        }
    }

    fn groups_of(&self, origin: Origin, within: Option<ipnet::IpNet>) -> Vec<SourceReach> {
        self.analyzer
            .reach_from(origin, within, self.to)
            .into_iter()
            .filter(|g| g.reach.family == self.family)
            .collect()
    }
}

/// Grades an exhaustive check from the analysis of the compiled network.
pub fn run_reach_check(net: &Network, check: &Check, rc: &ReachCheck) -> CheckResult {
    let CheckTarget::Host(to) = check.to else {
        unreachable!("an exhaustive check's `to` is a host");
    };
    // With dynamic routing, the tables once routing has settled.
    let settled = wirelab_sim::routing_apps::settled_network(net);
    let net = settled.as_ref().unwrap_or(net);
    let q = Question {
        net,
        analyzer: Analyzer::new(net),
        to,
        family: check.family,
        proto: match check.proto {
            CheckProto::Tcp => Proto::Tcp,
            CheckProto::Udp => Proto::Udp,
            CheckProto::Icmp => Proto::Icmp,
        },
        port: check.port,
    };
    let lab = &net.lab;
    let mut failures: Vec<String> = Vec::new();
    // What the list covers: hosts, and address ranges of the family.
    let mut covered_hosts: BTreeSet<HostId> = BTreeSet::new();
    let mut covered: Vec<(u128, u128)> = Vec::new();
    let mut covered_outside = false;
    let mut missing: Vec<String> = Vec::new();
    let check_host = |h: HostId, label: String, missing: &mut Vec<String>| {
        if h == to {
            return;
        }
        if q.host_hits(h) != Some(true) {
            missing.push(format!("{label} ({})", q.host_why_not(h)));
        }
    };
    for src in &rc.sources {
        match &src.value {
            ReachSource::Host(h) => {
                covered_hosts.insert(*h);
                check_host(*h, q.name(*h).to_string(), &mut missing);
            }
            ReachSource::Group(g) => {
                let members: Vec<HostId> = (0..lab.hosts.len())
                    .filter(|&h| lab.hosts[h].security_groups.contains(g))
                    .collect();
                if members.is_empty() {
                    failures.push(format!(
                        "security group {} has no members",
                        lab.security_groups[*g].name.value
                    ));
                }
                for h in members {
                    covered_hosts.insert(h);
                    let label = format!("{} ({})", q.name(h), lab.security_groups[*g].name.value);
                    check_host(h, label, &mut missing);
                }
            }
            ReachSource::Network(n) => {
                let prefix = match q.family {
                    Family::Ipv4 => lab.networks[*n]
                        .ipv4
                        .as_ref()
                        .map(|p| ipnet::IpNet::V4(p.value)),
                    Family::Ipv6 => lab.networks[*n]
                        .ipv6
                        .as_ref()
                        .map(|p| ipnet::IpNet::V6(p.value)),
                };
                if let Some(p) = prefix {
                    covered.push(bounds(&p));
                }
                for g in q.groups_of(Origin::Network(*n), None) {
                    if !q.hit(&g.reach) {
                        missing.push(format!(
                            "network {} addresses {} ({})",
                            lab.networks[*n].name.value,
                            blocks_text(&g),
                            q.why_not(&g.reach)
                        ));
                    }
                }
            }
            ReachSource::Prefix(p) => {
                if addrs::family_of(p) == q.family {
                    covered.push(bounds(p));
                }
                let groups = q.analyzer.reach_from_prefix(*p, to);
                for g in groups.iter().filter(|g| g.reach.family == q.family) {
                    if !q.hit(&g.reach) {
                        missing.push(format!("{} ({})", blocks_text(g), q.why_not(&g.reach)));
                    }
                }
            }
            ReachSource::Internet => {
                covered_outside = true;
                for g in q.groups_of(Origin::Outside, None) {
                    if !q.hit(&g.reach) {
                        missing.push(format!(
                            "internet addresses {} ({})",
                            blocks_text(&g),
                            q.why_not(&g.reach)
                        ));
                    }
                }
            }
        }
    }
    for h in &covered_hosts {
        if let Some(a) = q.host_addr(*h) {
            covered.push((a, a));
        }
    }
    let covered = addrs::normalize(covered);
    if !missing.is_empty() {
        failures.push(format!("not reached from {}", named(&missing)));
    }

    // Everyone else.
    let mut others: Vec<String> = Vec::new();
    let mut reached_by: Vec<String> = Vec::new();
    for h in (0..lab.hosts.len()).filter(|&h| h != to) {
        let hit = q.host_hits(h) == Some(true);
        if hit {
            reached_by.push(q.name(h).to_string());
        }
        let is_covered = covered_hosts.contains(&h)
            || q.host_addr(h)
                .is_some_and(|a| addrs::intersect(&covered, &[(a, a)]).len() == 1);
        if rc.nothing_else && hit && !is_covered {
            others.push(q.name(h).to_string());
        }
    }
    if rc.nothing_else {
        let host_addrs: Vec<(u128, u128)> = addrs::normalize(
            (0..lab.hosts.len())
                .filter_map(|h| q.host_addr(h))
                .map(|a| (a, a))
                .collect(),
        );
        // Addresses that are no host's: networks' and the outside's.
        let mut origins: Vec<Origin> = (0..net.segments.len()).map(Origin::Network).collect();
        if !covered_outside {
            origins.push(Origin::Outside);
        }
        for origin in origins {
            for g in q.groups_of(origin, None) {
                if !q.hit(&g.reach) {
                    continue;
                }
                let ranges: Vec<(u128, u128)> =
                    addrs::normalize(g.sources.iter().map(bounds).collect());
                let rest = addrs::difference(&addrs::difference(&ranges, &covered), &host_addrs);
                if rest.is_empty() {
                    continue;
                }
                let blocks = addrs::to_cidrs(q.family, &rest);
                let shown: Vec<String> = blocks.iter().take(3).map(|b| b.to_string()).collect();
                let more = if blocks.len() > 3 {
                    format!(" and {} more blocks", blocks.len() - 3)
                } else {
                    String::new()
                };
                others.push(match origin {
                    Origin::Network(s) => format!(
                        "network {} addresses {}{more}",
                        net.segments[s].name,
                        shown.join(", ")
                    ),
                    Origin::Outside => format!("internet addresses {}{more}", shown.join(", ")),
                });
            }
        }
        if !others.is_empty() {
            failures.push(format!("also reached from {}", named(&others)));
        }
    }

    let what = match (q.proto, q.port) {
        (Proto::Icmp, _) => format!("{} by ping", q.name(to)),
        (p, Some(port)) => format!("{}:{port}/{}", q.name(to), p.code()),
        (p, None) => format!("{} {}", q.name(to), p.code()),
    };
    let mut explanation = format!(
        "{what} ({}): reached by {} among the lab's hosts{}",
        q.family.code(),
        if reached_by.is_empty() {
            "none".to_string()
        } else {
            named(&reached_by)
        },
        if rc.nothing_else {
            "; checked every host and every address of every network and of the outside, exactly (static analysis, see docs/analysis.md)"
        } else {
            "; every listed source checked exactly (static analysis)"
        }
    );
    if reached_by.is_empty() && rc.sources.is_empty() {
        explanation = format!("nothing reaches {what} ({})", q.family.code());
    }
    let (status, failure, earned) = verdict(check, &failures);
    CheckResult {
        name: check.name.value.clone(),
        status,
        expect: if rc.nothing_else {
            "only-listed"
        } else {
            "listed"
        },
        observed: match (missing.is_empty(), others.is_empty()) {
            (true, true) => {
                if rc.nothing_else {
                    "only-listed"
                } else {
                    "listed"
                }
            }
            (false, _) => "listed-blocked",
            (true, false) => "others-reach",
        },
        reason: "exhaustive",
        at: None,
        explanation,
        failure,
        hint: check.hint.clone(),
        points: check.points,
        earned,
        path: Vec::new(),
        decided_ns: 0,
    }
}

/// `a, b, c and 4 more`.
fn named(items: &[String]) -> String {
    let mut s: Vec<String> = items.iter().take(NAMED_MAX).cloned().collect();
    if items.len() > NAMED_MAX {
        s.push(format!("and {} more", items.len() - NAMED_MAX));
    }
    s.join(", ")
}

fn blocks_text(g: &SourceReach) -> String {
    let shown: Vec<String> = g.sources.iter().take(3).map(|n| n.to_string()).collect();
    if g.sources.len() > 3 {
        format!(
            "{} and {} more blocks",
            shown.join(", "),
            g.sources.len() - 3
        )
    } else {
        shown.join(", ")
    }
}
