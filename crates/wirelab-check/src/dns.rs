//! DNS in checks: `dns:` checks, which look a name up from a host through
//! its resolver and grade the answer, and DNS names in `to:`, looked up
//! the same way before the probe starts. Every query and answer is a real
//! datagram through the lab, so a security group that blocks port 53
//! fails the lookup, and the explanation says where.

use std::net::IpAddr;

use wirelab_dns::dig::{rcode_mnemonic, rdata_text};
use wirelab_dns::proto::op::ResponseCode;
use wirelab_dns::proto::rr::{Name, RData, RecordType};
use wirelab_dns::resolver::{WalkOutcome, WalkStep};
use wirelab_dns::stub::StubOutcome;
use wirelab_dns::transport::Transport;
use wirelab_net::Network;
use wirelab_sim::{Lookup, Sim, SimTime};
use wirelab_spec::{Check, DnsCheck, DnsExpect, Family};

use crate::explain::{drop_text_as, endpoint_name};
use crate::{verdict, CheckResult};

/// A lookup has ended well before this: a stub gives up after two passes
/// over its resolvers of 5 s each, a resolver after its own timeouts.
pub const LOOKUP_TIME_MAX: SimTime = SimTime::from_secs(120);
/// Steps of a resolver's walk an explanation lists.
const WALK_SHOWN_MAX: usize = 8;
/// Records of an answer an explanation lists, and how much of each.
const ANSWERS_SHOWN_MAX: usize = 5;
const ANSWER_CHARS_MAX: usize = 60;

fn shorten(text: &str) -> String {
    if text.chars().count() <= ANSWER_CHARS_MAX {
        return text.to_string();
    }
    let cut: String = text.chars().take(ANSWER_CHARS_MAX).collect();
    format!("{cut}…")
}

/// What a lookup came to, as a `dns` check's `expect` names it.
pub fn observed_code(lookup: &Lookup) -> &'static str {
    match &lookup.outcome {
        None | Some(StubOutcome::Timeout) => "timeout",
        Some(StubOutcome::Answer(a)) => match a.message.metadata.response_code {
            ResponseCode::NoError if answers(lookup).is_empty() => "nodata",
            ResponseCode::NoError => "resolves",
            ResponseCode::NXDomain => "nxdomain",
            ResponseCode::ServFail => "servfail",
            ResponseCode::Refused => "refused",
            _ => "error",
        },
    }
}

/// The records of the type asked for in the answer, in presentation
/// format (`10.0.1.10`, `10 mail.example.com.`).
pub fn answers(lookup: &Lookup) -> Vec<String> {
    let Some(StubOutcome::Answer(a)) = &lookup.outcome else {
        return Vec::new();
    };
    a.message
        .answers
        .iter()
        .filter(|r| r.record_type() == lookup.qtype || lookup.qtype == RecordType::ANY)
        .map(|r| rdata_text(&r.data))
        .collect()
}

/// The addresses a lookup of A or AAAA gave.
pub fn addresses(lookup: &Lookup) -> Vec<IpAddr> {
    let Some(StubOutcome::Answer(a)) = &lookup.outcome else {
        return Vec::new();
    };
    a.message
        .answers
        .iter()
        .filter_map(|r| match &r.data {
            RData::A(a) => Some(IpAddr::V4(a.0)),
            RData::AAAA(a) => Some(IpAddr::V6(a.0)),
            _ => None,
        })
        .collect()
}

/// Starts a lookup now and runs the simulation until it ends.
pub fn lookup(sim: &mut Sim<'_>, host: usize, name: &str, qtype: RecordType) -> usize {
    let name = Name::from_ascii(name).unwrap_or_else(|_| Name::root());
    let id = sim.start_lookup(host, name, qtype);
    let until = sim.now() + LOOKUP_TIME_MAX;
    sim.run_while(until, |s| s.lookups()[id].outcome.is_some());
    id
}

/// One line per step of the resolver's walk, at most a few.
fn walk_text(net: &Network, walk: &[WalkStep]) -> String {
    let mut steps: Vec<String> = walk
        .iter()
        .take(WALK_SHOWN_MAX)
        .map(|step| {
            let server = match (&step.ns_name, net.owner(step.server)) {
                (Some(ns), Some(i)) => format!(
                    "{} ({}, {})",
                    net.nodes[net.ifaces[i].node].name,
                    step.server,
                    ns.to_ascii()
                ),
                _ => endpoint_name(net, step.server),
            };
            let what = match &step.outcome {
                WalkOutcome::Pending => "no answer yet".to_string(),
                WalkOutcome::Timeout { .. } => "no answer (timed out)".to_string(),
                WalkOutcome::Response { message, .. } => {
                    let rcode = message.metadata.response_code;
                    if message.metadata.truncation {
                        "truncated (TC): too large for UDP".to_string()
                    } else if rcode != ResponseCode::NoError {
                        rcode_mnemonic(rcode)
                    } else if !message.answers.is_empty() {
                        let n = message.answers.len();
                        format!("answer ({n} record{})", if n == 1 { "" } else { "s" })
                    } else if !message.metadata.authoritative
                        && message
                            .authorities
                            .iter()
                            .any(|r| r.record_type() == RecordType::NS)
                    {
                        let zone = message
                            .authorities
                            .iter()
                            .find(|r| r.record_type() == RecordType::NS)
                            .map(|r| r.name.to_ascii())
                            .unwrap_or_default();
                        format!("referral to {zone}")
                    } else {
                        "no data".to_string()
                    }
                }
            };
            let tcp = if step.transport == Transport::Tcp {
                " over TCP"
            } else {
                ""
            };
            format!(
                "{server}{tcp} for {} {}: {what}",
                step.qname.to_ascii(),
                step.qtype
            )
        })
        .collect();
    if walk.len() > WALK_SHOWN_MAX {
        steps.push(format!("and {} more", walk.len() - WALK_SHOWN_MAX));
    }
    steps.join("; ")
}

/// What a lookup did, in a sentence or two: the answer, how the resolver
/// got it, and the first DNS datagram dropped on the way, if any.
pub fn lookup_text(net: &Network, sim: &Sim<'_>, id: usize) -> String {
    let l = &sim.lookups()[id];
    let host = &net.lab.hosts[l.host].name.value;
    let question = format!("{} {}", l.name.to_ascii(), l.qtype);
    let mut s = match &l.outcome {
        None | Some(StubOutcome::Timeout) => {
            let resolvers: Vec<String> = net.lab.hosts[l.host]
                .resolvers
                .iter()
                .map(|&a| endpoint_name(net, a))
                .collect();
            format!(
                "{host} asked {} for {question}: no answer came back (every try of the stub timed out)",
                resolvers.join(" and ")
            )
        }
        Some(StubOutcome::Answer(a)) => {
            let code = observed_code(l);
            let found = answers(l);
            let tcp = if a.transport == Transport::Tcp {
                " over TCP"
            } else {
                ""
            };
            let mut s = format!(
                "{host} asked {}{tcp} for {question}: {}",
                endpoint_name(net, a.server),
                rcode_mnemonic(a.message.metadata.response_code)
            );
            if code == "nodata" {
                s.push_str(&format!(", but no {} record", l.qtype));
            }
            if !found.is_empty() {
                let shown: Vec<String> = found
                    .iter()
                    .take(ANSWERS_SHOWN_MAX)
                    .map(|a| shorten(a))
                    .collect();
                let more = found.len().saturating_sub(ANSWERS_SHOWN_MAX);
                let more = if more > 0 {
                    format!(" and {more} more")
                } else {
                    String::new()
                };
                s.push_str(&format!(" — {}{more}", shown.join(", ")));
            }
            if l.walk.is_empty() {
                s.push_str(" (from the resolver's cache)");
            } else {
                s.push_str(&format!(
                    "; the resolver asked: {}",
                    walk_text(net, &l.walk)
                ));
            }
            s
        }
    };
    if let Some(d) = sim.dns_drops().first() {
        let node = drop_node(sim, d).unwrap_or(net.host_node(l.host));
        let role = match d.packet.ip().map(|ip| ip.header().dst_port) {
            Some(53) => "a DNS query",
            _ => "a DNS answer",
        };
        s.push_str(&format!(
            "; {}",
            drop_text_as(net, &[], role, node, &d.cause, &d.packet)
        ));
    }
    s
}

/// The node that recorded a drop, found in the trace.
fn drop_node(sim: &Sim<'_>, d: &wirelab_sim::Drop) -> Option<wirelab_net::NodeId> {
    sim.trace().iter().find_map(|e| match e.step {
        wirelab_sim::Step::Drop(cause) if cause == d.cause && e.packet.id == d.packet.id => {
            Some(e.node)
        }
        _ => None,
    })
}

/// The reason code of a lookup that did not resolve: the first DNS drop's,
/// else timeout, else dns.
fn failure_reason(sim: &Sim<'_>, id: usize) -> &'static str {
    if let Some(d) = sim.dns_drops().first() {
        return d.cause.reason().code();
    }
    match sim.lookups()[id].outcome {
        None | Some(StubOutcome::Timeout) => "timeout",
        Some(_) => "dns",
    }
}

fn qtype_of(text: &str) -> RecordType {
    text.parse().unwrap_or(RecordType::A)
}

/// `10 mail.example.com.` and `10 mail.example.com` compare equal.
fn normalized(answer: &str) -> String {
    answer.trim().trim_end_matches('.').to_ascii_lowercase()
}

/// Runs a `dns:` check on `sim` (reset first) and grades it.
pub fn run_dns_check(
    sim: &mut Sim<'_>,
    net: &Network,
    check: &Check,
    dns: &DnsCheck,
    seed: u64,
) -> CheckResult {
    sim.reset_to(seed, check.at_ns.map(SimTime));
    let qtype = qtype_of(&dns.rtype);
    let first = lookup(sim, check.from, &dns.name, qtype);
    let id = if dns.cached {
        lookup(sim, check.from, &dns.name, qtype)
    } else {
        first
    };
    let l = &sim.lookups()[id];
    let observed = observed_code(l);
    let mut failures = Vec::new();
    let expect_ok = match &dns.expect {
        DnsExpect::Resolves => observed == "resolves",
        DnsExpect::Fail => observed != "resolves",
        DnsExpect::Answers(want) => {
            let mut want: Vec<String> = want.iter().map(|a| normalized(a)).collect();
            let mut got: Vec<String> = answers(l).iter().map(|a| normalized(a)).collect();
            want.sort();
            got.sort();
            want.dedup();
            got.dedup();
            if observed == "resolves" && want != got {
                failures.push(format!(
                    "expected the answers {}, got {}",
                    want.join(", "),
                    got.join(", ")
                ));
            }
            observed == "resolves"
        }
        other => observed == other.code(),
    };
    if !expect_ok {
        failures.insert(
            0,
            format!("expected {}, observed {observed}", dns.expect.code()),
        );
    }
    if dns.cached && l.outcome.is_some() && !l.walk.is_empty() {
        failures.push(format!(
            "expected the second answer from the resolver's cache, but the resolver asked {} servers again",
            l.walk.len()
        ));
    }
    let explanation = lookup_text(net, sim, id);
    let (status, failure, earned) = verdict(check, &failures);
    let reason = if observed == "resolves" {
        "delivered"
    } else {
        failure_reason(sim, id)
    };
    CheckResult {
        name: check.name.value.clone(),
        status,
        expect: dns.expect.code(),
        observed,
        reason,
        at: None,
        explanation,
        failure,
        hint: check.hint.clone(),
        points: check.points,
        earned,
        path: Vec::new(),
        decided_ns: sim.lookups()[id].finished.unwrap_or(sim.now()).as_nanos(),
    }
}

/// Looks `name` up for a check whose `to` is a DNS name: the address of
/// the check's family, or why there is none (reason code, explanation).
pub fn resolve_target(
    sim: &mut Sim<'_>,
    net: &Network,
    check: &Check,
    name: &str,
) -> Result<IpAddr, (&'static str, String)> {
    let qtype = match check.family {
        Family::Ipv4 => RecordType::A,
        Family::Ipv6 => RecordType::AAAA,
    };
    let id = lookup(sim, check.from, name, qtype);
    let l = &sim.lookups()[id];
    let found = addresses(l)
        .into_iter()
        .find(|a| a.is_ipv6() == (check.family == Family::Ipv6));
    match found {
        Some(address) => Ok(address),
        None => {
            let why = format!(
                "{} did not resolve to an address: {}",
                name.trim_end_matches('.'),
                lookup_text(net, sim, id)
            );
            Err((failure_reason(sim, id), why))
        }
    }
}
