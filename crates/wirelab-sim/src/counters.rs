//! What a run counted, for metrics: packets and bytes per interface and
//! direction, drops by cause, hits per security-group and NACL rule, TCP
//! connections and their handshakes, DNS queries and the resolvers'
//! cache.
//!
//! Everything is a plain integer in an array indexed by an id the engine
//! already has (interface, host, drop cause, rule slot), so counting costs
//! an add and allocates nothing; the arrays are sized once, when the
//! simulator is built, from the lab (whose size the lab limits bound).
//! [`Sim::counters_now`] copies them out as [`RunCounters`], which is what
//! a metrics renderer reads; the names behind the ids come from the
//! [`Network`](wirelab_net::Network).
//!
//! Rule slots: every rule the lab writes gets one, and so does every rule
//! an `events:` entry adds (it is a rule of its own, at its own line). A
//! NACL has one more slot per direction for its final `*` deny rule.

use std::sync::Arc;

use wirelab_net::{Direction, IfaceId};
use wirelab_spec::{EventAction, Lab, NaclAction, NaclId, SecurityGroupId, Span};

use crate::engine::{IfaceStats, Sim};
use crate::trace::DropCause;

/// The stable code of each drop cause ([`DropCause::code`]), in the order
/// of [`drop_index`].
pub const DROP_CODES: [&str; 16] = [
    "no-route",
    "blackhole",
    "ttl-exceeded",
    "host-unreachable",
    "sg-inbound",
    "sg-outbound",
    "nacl-inbound",
    "nacl-outbound",
    "link-loss",
    "queue-full",
    "link-down",
    "too-big",
    "broadcast",
    "nat-unmapped",
    "nat-ports-exhausted",
    "router-down",
];

/// The index of a drop cause in [`DROP_CODES`].
pub fn drop_index(cause: &DropCause) -> usize {
    match cause {
        DropCause::NoRoute => 0,
        DropCause::Blackhole { .. } => 1,
        DropCause::TtlExceeded => 2,
        DropCause::HostUnreachable { .. } => 3,
        DropCause::SgInbound { .. } => 4,
        DropCause::SgOutbound { .. } => 5,
        DropCause::NaclInbound { .. } => 6,
        DropCause::NaclOutbound { .. } => 7,
        DropCause::Lost { .. } => 8,
        DropCause::QueueFull { .. } => 9,
        DropCause::LinkDown { .. } => 10,
        DropCause::TooBig { .. } => 11,
        DropCause::Broadcast { .. } => 12,
        DropCause::NatUnmapped { .. } => 13,
        DropCause::NatPortsExhausted { .. } => 14,
        DropCause::RouterDown => 15,
    }
}

/// Upper bounds of the TCP handshake-time histogram's buckets, in
/// nanoseconds: 100 µs to 10 s, 1–2.5–5 steps.
pub const HANDSHAKE_BUCKETS_NS: [u64; 16] = [
    100_000,
    250_000,
    500_000,
    1_000_000,
    2_500_000,
    5_000_000,
    10_000_000,
    25_000_000,
    50_000_000,
    100_000_000,
    250_000_000,
    500_000_000,
    1_000_000_000,
    2_500_000_000,
    5_000_000_000,
    10_000_000_000,
];

/// Whose rule a slot counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RuleOwner {
    SecurityGroup(SecurityGroupId),
    Nacl(NaclId),
}

/// The identity of one rule slot: stable for a lab file, and bounded by
/// the number of rules the file writes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleInfo {
    pub owner: RuleOwner,
    pub direction: Direction,
    /// A security-group rule: its 1-based position in its direction's
    /// list as written (`None` for a rule an event adds). A NACL rule: its
    /// rule number (`None` for the final `*` rule).
    pub rule: Option<u32>,
    /// A NACL rule's action (the `*` rule denies); `None` for security
    /// groups, which only allow.
    pub action: Option<NaclAction>,
    /// Where the rule is written (line 0 for a NACL's `*` rule).
    pub span: Span,
    /// The `events:` entry that adds this rule, if an event does.
    pub event: Option<usize>,
}

/// No slot: a rule added from outside the lab's `events:` (by
/// [`Sim::apply`]) is applied but not counted.
pub(crate) const NO_SLOT: u32 = u32::MAX;

/// Where each rule in force counts its hits. It follows the rule lists as
/// events change them, so a rule's index in its list now maps to the slot
/// of the rule written at that place.
#[derive(Clone, Debug, Default)]
pub(crate) struct RuleSlots {
    /// Per group, per direction (inbound, outbound): the slot of each rule
    /// by its index in the list.
    sg: Vec<[Vec<u32>; 2]>,
    /// Per NACL, per direction: (rule number, span, slot) in list order
    /// (sorted by number).
    nacl: Vec<[Vec<(u16, Span, u32)>; 2]>,
    /// Per NACL, per direction: the slot of the `*` rule.
    nacl_default: Vec<[u32; 2]>,
}

fn dir_index(dir: Direction) -> usize {
    match dir {
        Direction::Inbound => 0,
        Direction::Outbound => 1,
    }
}

fn direction_of(inbound: bool) -> Direction {
    if inbound {
        Direction::Inbound
    } else {
        Direction::Outbound
    }
}

impl RuleSlots {
    pub(crate) fn sg_slot(&self, group: SecurityGroupId, dir: Direction, index: usize) -> u32 {
        self.sg
            .get(group)
            .and_then(|d| d[dir_index(dir)].get(index))
            .copied()
            .unwrap_or(NO_SLOT)
    }

    /// The slot of the NACL rule that decided (`None`: the `*` rule).
    pub(crate) fn nacl_slot(
        &self,
        nacl: NaclId,
        dir: Direction,
        rule: Option<u16>,
        span: Option<Span>,
    ) -> u32 {
        let d = dir_index(dir);
        let Some(number) = rule else {
            return self.nacl_default.get(nacl).map_or(NO_SLOT, |s| s[d]);
        };
        let Some(list) = self.nacl.get(nacl).map(|l| &l[d]) else {
            return NO_SLOT;
        };
        // Sorted by number; an event may have added a second rule with
        // the same number, which its span tells apart.
        let first = list.partition_point(|&(n, _, _)| n < number);
        list[first..]
            .iter()
            .take_while(|&&(n, _, _)| n == number)
            .find(|&&(_, s, _)| Some(s) == span)
            .or_else(|| list.get(first).filter(|&&(n, _, _)| n == number))
            .map_or(NO_SLOT, |&(_, _, slot)| slot)
    }

    /// Follows a rule change of an event, as `DynFilters::change` changes
    /// the lab's lists.
    pub(crate) fn change(&mut self, action: &EventAction, table: &RuleTable, lab: &Lab) {
        match action {
            EventAction::SgRuleAdd {
                group,
                inbound,
                rule,
            } => {
                // A group without an outbound list ignores added outbound
                // rules (see `DynFilters::change`).
                if *inbound || lab.security_groups[*group].outbound.is_some() {
                    let slot = table.event_slot(rule.span);
                    self.sg[*group][dir_index(direction_of(*inbound))].push(slot);
                }
            }
            EventAction::SgRuleRemove {
                group,
                inbound,
                index,
            } => {
                let list = &mut self.sg[*group][dir_index(direction_of(*inbound))];
                if *index < list.len() {
                    list.remove(*index);
                }
            }
            EventAction::NaclRuleAdd {
                nacl,
                inbound,
                rule,
            } => {
                let list = &mut self.nacl[*nacl][dir_index(direction_of(*inbound))];
                list.push((rule.number, rule.span, table.event_slot(rule.span)));
                list.sort_by_key(|&(n, _, _)| n);
            }
            EventAction::NaclRuleRemove {
                nacl,
                inbound,
                number,
            } => {
                self.nacl[*nacl][dir_index(direction_of(*inbound))]
                    .retain(|&(n, _, _)| n != *number);
            }
            EventAction::LinkDown(_)
            | EventAction::LinkUp(_)
            | EventAction::LinkSet(..)
            | EventAction::RouterDown(_)
            | EventAction::RouterUp(_) => {}
        }
    }
}

/// Every rule slot of a lab and where the rules in force at the start
/// count.
#[derive(Clone, Debug, Default)]
pub struct RuleTable {
    infos: Vec<RuleInfo>,
    pub(crate) initial: RuleSlots,
}

impl PartialEq for RuleTable {
    fn eq(&self, other: &Self) -> bool {
        self.infos == other.infos
    }
}

impl Eq for RuleTable {}

impl RuleTable {
    /// The slots of a lab: each group's inbound then outbound rules (groups
    /// in file order), then each NACL's inbound rules, its inbound `*`
    /// rule, its outbound rules and its outbound `*` rule, then the rules
    /// events add, in event order.
    pub fn new(lab: &Lab) -> RuleTable {
        let mut infos = Vec::new();
        let slot = |infos: &mut Vec<RuleInfo>, info: RuleInfo| {
            infos.push(info);
            u32::try_from(infos.len() - 1).expect("fewer than 2^32 rules")
        };
        let mut initial = RuleSlots::default();
        for (g, sg) in lab.security_groups.iter().enumerate() {
            let mut dirs: [Vec<u32>; 2] = Default::default();
            let lists = [Some(&sg.inbound), sg.outbound.as_ref()];
            for (d, list) in lists.into_iter().enumerate() {
                let direction = if d == 0 {
                    Direction::Inbound
                } else {
                    Direction::Outbound
                };
                for (i, r) in list.into_iter().flatten().enumerate() {
                    let info = RuleInfo {
                        owner: RuleOwner::SecurityGroup(g),
                        direction,
                        rule: Some(i as u32 + 1),
                        action: None,
                        span: r.span,
                        event: None,
                    };
                    dirs[d].push(slot(&mut infos, info));
                }
            }
            initial.sg.push(dirs);
        }
        for (n, nacl) in lab.nacls.iter().enumerate() {
            let mut dirs: [Vec<(u16, Span, u32)>; 2] = Default::default();
            let mut defaults = [NO_SLOT; 2];
            for (d, list) in [&nacl.inbound, &nacl.outbound].into_iter().enumerate() {
                let direction = if d == 0 {
                    Direction::Inbound
                } else {
                    Direction::Outbound
                };
                for r in list {
                    let info = RuleInfo {
                        owner: RuleOwner::Nacl(n),
                        direction,
                        rule: Some(u32::from(r.number)),
                        action: Some(r.action),
                        span: r.span,
                        event: None,
                    };
                    dirs[d].push((r.number, r.span, slot(&mut infos, info)));
                }
                // The lab keeps each list sorted by number; so must we.
                dirs[d].sort_by_key(|&(number, _, _)| number);
                let star = RuleInfo {
                    owner: RuleOwner::Nacl(n),
                    direction,
                    rule: None,
                    action: Some(NaclAction::Deny),
                    span: Span::default(),
                    event: None,
                };
                defaults[d] = slot(&mut infos, star);
            }
            initial.nacl.push(dirs);
            initial.nacl_default.push(defaults);
        }
        for (e, event) in lab.events.iter().enumerate() {
            let info = match &event.action {
                EventAction::SgRuleAdd {
                    group,
                    inbound,
                    rule,
                } => RuleInfo {
                    owner: RuleOwner::SecurityGroup(*group),
                    direction: direction_of(*inbound),
                    rule: None,
                    action: None,
                    span: rule.span,
                    event: Some(e),
                },
                EventAction::NaclRuleAdd {
                    nacl,
                    inbound,
                    rule,
                } => RuleInfo {
                    owner: RuleOwner::Nacl(*nacl),
                    direction: direction_of(*inbound),
                    rule: Some(u32::from(rule.number)),
                    action: Some(rule.action),
                    span: rule.span,
                    event: Some(e),
                },
                _ => continue,
            };
            slot(&mut infos, info);
        }
        RuleTable { infos, initial }
    }

    /// Every slot, in slot order.
    pub fn rules(&self) -> &[RuleInfo] {
        &self.infos
    }

    /// The slot of the rule an event adds, found by where it is written.
    fn event_slot(&self, span: Span) -> u32 {
        self.infos
            .iter()
            .position(|r| r.event.is_some() && r.span == span)
            .map_or(NO_SLOT, |i| i as u32)
    }
}

/// How connection tracking let one host's packets pass, per direction
/// (index 0 inbound, 1 outbound).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SgTracked {
    /// Packets of a tracked flow (replies, later packets).
    pub established: [u64; 2],
    /// ICMP errors about a tracked flow.
    pub related: [u64; 2],
    /// Packets let out by AWS's default allow-all outbound rule (a group
    /// of the host writes no `outbound:` list); only the outbound entry is
    /// ever non-zero.
    pub default_outbound: [u64; 2],
}

/// TCP of the run's connections (workloads, DNS and HTTP over TCP; a
/// check's probes keep their own small TCP and are not counted).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TcpCounters {
    /// Connections a host opened (`connect`, SYN sent).
    pub opened_active: u64,
    /// Connections a listening port accepted (a SYN arrived).
    pub opened_passive: u64,
    /// Segments sent again, for any reason (timeout, fast retransmit,
    /// SACK recovery, SYN and FIN retransmissions).
    pub retransmitted_segments: u64,
    /// Active opens that reached ESTABLISHED, and their handshake times
    /// (SYN sent to ESTABLISHED, simulated): count per bucket of
    /// [`HANDSHAKE_BUCKETS_NS`] (not cumulative; longer ones only in the
    /// count and the sum).
    pub handshakes: u64,
    pub handshake_ns_sum: u64,
    pub handshake_buckets: [u64; HANDSHAKE_BUCKETS_NS.len()],
}

impl TcpCounters {
    fn observe_handshake(&mut self, ns: u64) {
        self.handshakes += 1;
        self.handshake_ns_sum += ns;
        if let Some(b) = HANDSHAKE_BUCKETS_NS.iter().position(|&le| ns <= le) {
            self.handshake_buckets[b] += 1;
        }
    }
}

/// Who sent a DNS query: a host's stub resolver, a recursive resolver, or
/// a client outside the simulation (the real DNS port).
pub const DNS_ROLES: [&str; 3] = ["stub", "resolver", "external"];
/// The transports of DNS, in the order of the counters' second index.
pub const DNS_TRANSPORTS: [&str; 2] = ["udp", "tcp"];

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DnsCounters {
    /// Queries sent, by role ([`DNS_ROLES`]) and transport
    /// ([`DNS_TRANSPORTS`]).
    pub queries: [[u64; 2]; 3],
    /// Responses that came back to a query's port or connection.
    pub answers: [[u64; 2]; 3],
    /// Client queries a resolver answered without asking anyone (from its
    /// cache).
    pub cache_hits: u64,
    /// Client queries a resolver answered after asking other servers.
    pub cache_misses: u64,
}

/// What one routing protocol did on one router.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RoutingCounters {
    /// The lab's router (its index in `routers:`).
    pub router: usize,
    /// `ospf` or `rip`.
    pub protocol: &'static str,
    /// Packets it sent, and their bytes on the wire.
    pub messages: u64,
    pub bytes: u64,
    /// Changes of the router's table (counted on each of its protocols).
    pub table_changes: u64,
}

/// Everything a run counted, as plain arrays indexed by ids of the lab.
#[derive(Clone, Debug, Default)]
pub struct RunCounters {
    /// The rule slots `rule_hits` is indexed by.
    pub rules: Arc<RuleTable>,
    /// Per rule slot: the packets it decided (see docs/metrics.md for what
    /// counts as a hit).
    pub rule_hits: Vec<u64>,
    /// Per drop cause ([`DROP_CODES`]).
    pub drops: [u64; DROP_CODES.len()],
    /// Per host (by `HostId`).
    pub sg_tracked: Vec<SgTracked>,
    /// Per interface (by `IfaceId`): what it sent and received.
    pub ifaces: Vec<IfaceStats>,
    pub tcp: TcpCounters,
    pub dns: DnsCounters,
    /// Per routing protocol instance (empty without dynamic routing).
    pub routing: Vec<RoutingCounters>,
    /// Simulated time when the counters were read.
    pub time_ns: u64,
    /// The slots hit since the last reset, each once: a reset clears
    /// those only (a check crosses a few rules of a lab of thousands).
    /// Its capacity is the number of slots, so it never grows.
    slots_hit: Vec<u32>,
}

impl PartialEq for RunCounters {
    /// Equal counts (the bookkeeping of what a reset must clear aside).
    fn eq(&self, other: &Self) -> bool {
        self.rules == other.rules
            && self.rule_hits == other.rule_hits
            && self.drops == other.drops
            && self.sg_tracked == other.sg_tracked
            && self.ifaces == other.ifaces
            && self.tcp == other.tcp
            && self.dns == other.dns
            && self.routing == other.routing
            && self.time_ns == other.time_ns
    }
}

impl Eq for RunCounters {}

impl RunCounters {
    pub(crate) fn new(lab: &Lab) -> RunCounters {
        let rules = Arc::new(RuleTable::new(lab));
        RunCounters {
            rule_hits: vec![0; rules.infos.len()],
            slots_hit: Vec::with_capacity(rules.infos.len()),
            rules,
            sg_tracked: vec![SgTracked::default(); lab.hosts.len()],
            ..RunCounters::default()
        }
    }

    /// Back to zero, keeping the arrays. Of the per-host counters, only
    /// those of `touched_hosts` can be non-zero: a lab of a thousand hosts
    /// is reset before every check, and the others are not cleared.
    pub(crate) fn clear(&mut self, touched_hosts: &[usize]) {
        for &slot in &self.slots_hit {
            self.rule_hits[slot as usize] = 0;
        }
        self.slots_hit.clear();
        self.drops = Default::default();
        for &h in touched_hosts {
            self.sg_tracked[h] = SgTracked::default();
        }
        self.tcp = TcpCounters::default();
        self.dns = DnsCounters::default();
    }

    #[inline]
    pub(crate) fn hit(&mut self, slot: u32) {
        if let Some(n) = self.rule_hits.get_mut(slot as usize) {
            if *n == 0 {
                self.slots_hit.push(slot);
            }
            *n += 1;
        }
    }

    /// The hits of each rule, with its identity, in slot order.
    pub fn rule_hits(&self) -> impl Iterator<Item = (&RuleInfo, u64)> + '_ {
        self.rules
            .rules()
            .iter()
            .zip(self.rule_hits.iter().copied())
    }

    pub fn drops_by_code(&self) -> impl Iterator<Item = (&'static str, u64)> + '_ {
        DROP_CODES.iter().copied().zip(self.drops.iter().copied())
    }
}

impl<'n> Sim<'n> {
    /// A copy of everything counted so far. The TCP counters are read
    /// from the connection table, which keeps every connection of the run
    /// (it is cleared only at reset), so nothing is counted on the packet
    /// path for them.
    pub fn counters_now(&self) -> RunCounters {
        let mut c = self.run_counters.clone();
        c.slots_hit = Vec::new();
        c.ifaces = (0..self.net.ifaces.len())
            .map(|i: IfaceId| self.iface_stats(i))
            .collect();
        for conn in &self.tcp.conns {
            let s = conn.socket.stats();
            c.tcp.retransmitted_segments += s.segments_retransmitted;
            if conn.socket.is_active_open() {
                c.tcp.opened_active += 1;
                if let Some(at) = s.established_at {
                    c.tcp.observe_handshake(at.0.saturating_sub(s.opened_at.0));
                }
            } else {
                c.tcp.opened_passive += 1;
            }
        }
        c.routing = self.routing_counters();
        c.time_ns = self.now.0;
        c
    }

    pub(crate) fn count_dns_query(&mut self, role: usize, tcp: bool) {
        self.run_counters.dns.queries[role][usize::from(tcp)] += 1;
    }

    pub(crate) fn count_dns_answer(&mut self, role: usize, tcp: bool) {
        self.run_counters.dns.answers[role][usize::from(tcp)] += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ipnet::IpNet;

    #[test]
    fn every_drop_cause_has_its_code_at_its_index() {
        let any = "10.0.0.0/8".parse::<IpNet>().unwrap();
        let causes = [
            DropCause::NoRoute,
            DropCause::Blackhole {
                prefix: any,
                span: Span::default(),
            },
            DropCause::TtlExceeded,
            DropCause::HostUnreachable {
                next_hop: any.addr(),
            },
            DropCause::SgInbound { groups_len: 1 },
            DropCause::SgOutbound { groups_len: 1 },
            DropCause::NaclInbound {
                nacl: 0,
                segment: 0,
                rule: None,
                span: None,
            },
            DropCause::NaclOutbound {
                nacl: 0,
                segment: 0,
                rule: None,
                span: None,
            },
            DropCause::Lost { segment: 0 },
            DropCause::QueueFull { iface: 0 },
            DropCause::LinkDown { segment: 0 },
            DropCause::TooBig { mtu: 1500 },
            DropCause::Broadcast { addr: any.addr() },
            DropCause::NatUnmapped { iface: 0 },
            DropCause::NatPortsExhausted {
                rule: 0,
                span: Default::default(),
            },
            DropCause::RouterDown,
        ];
        let mut seen = [false; DROP_CODES.len()];
        for cause in causes {
            let i = drop_index(&cause);
            assert_eq!(DROP_CODES[i], cause.code(), "{cause:?}");
            seen[i] = true;
        }
        assert!(seen.iter().all(|&s| s), "every index is some cause's");
    }

    #[test]
    fn a_handshake_time_falls_in_the_first_bucket_that_holds_it() {
        let mut t = TcpCounters::default();
        for ns in [100_000, 100_001, 10_000_000_000, 10_000_000_001] {
            t.observe_handshake(ns);
        }
        assert_eq!(t.handshakes, 4);
        assert_eq!(t.handshake_buckets[0], 1);
        assert_eq!(t.handshake_buckets[1], 1);
        assert_eq!(t.handshake_buckets[HANDSHAKE_BUCKETS_NS.len() - 1], 1);
        assert_eq!(t.handshake_buckets.iter().sum::<u64>(), 3, "one above 10 s");
    }
}
