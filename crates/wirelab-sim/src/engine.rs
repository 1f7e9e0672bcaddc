//! The discrete-event engine and what nodes do with packets.
//!
//! One loop pops the earliest event (time, sequence) and lets the node it
//! concerns act: a frame finishing its serialization, a frame arriving, a
//! timer. Packets live in a slab and events carry indices, so the steady
//! state allocates nothing per event.
//!
//! Behaviour follows the host requirements (RFC 1122), router requirements
//! (RFC 1812), ARP (RFC 826), neighbour discovery (RFC 4861), ICMP (RFC 792,
//! RFC 4443) and, for filters, the AWS semantics of security groups and
//! network ACLs.

use std::collections::VecDeque;
use std::net::{IpAddr, Ipv6Addr};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use wirelab_net::{
    CompiledNacl, Direction, HostFirewall, IfaceId, Mac, Network, NextHop, NodeId, SgVerdict,
};
use wirelab_spec::{EventAction, Framing, NaclAction, TransportProto};

use crate::conntrack::{Conntrack, FlowKey};
use crate::counters::{drop_index, RuleSlots, RuleTable, RunCounters};
use crate::neigh::{Neigh, NeighId, NeighState, NeighTable, PENDING_MAX};
use crate::packet::{
    tcp_flags, Arp, ArpOp, Body, Icmp, Ip, Packet, Quoted, Tag, Tcp, Udp, Unreachable, L4,
};
use crate::probe::Probe;
use crate::queue::EventQueue;
use crate::time::SimTime;
use crate::trace::{Drop, DropCause, SgPass, Step, TraceEvent, TraceLevel};

pub type PacketId = u32;

/// Linux's defaults: 3 solicitations, one second apart (ARP mcast_solicit,
/// retrans_time; RFC 4861 MAX_MULTICAST_SOLICIT, RETRANS_TIMER).
const NEIGH_SOLICIT_MAX: u8 = 3;
const NEIGH_RETRANS: SimTime = SimTime::from_secs(1);
/// Initial TTL and hop limit of packets a node originates (Linux).
pub const DEFAULT_TTL: u8 = 64;

#[derive(Clone, Copy, Debug)]
pub(crate) enum Event {
    /// The frame in flight on an interface has been serialized.
    TxDone { iface: u32 },
    /// A frame arrives at an interface.
    Arrive { iface: u32, pkt: PacketId },
    /// Time to solicit a neighbour again, or give up.
    NeighRetry { neigh: NeighId },
    /// A probe's retransmission or give-up timer.
    ProbeTimer { probe: u32, attempt: u8 },
    /// A probe starts.
    ProbeStart { probe: u32 },
    /// A datagram a node sent to one of its own addresses.
    Loopback { node: u32, pkt: PacketId },
    /// A pinger sends its next echo request.
    PingerTick { pinger: u32 },
    /// An on/off UDP source sends its next datagram.
    UdpTick { source: u32 },
    /// A TCP connection's timer (stale when the generation moved on).
    TcpTimer { conn: u32, generation: u32 },
    /// A request/response client's think time is over.
    TcpThink { conn: u32 },
    /// A TCP workload of the lab starts.
    TcpStart { flow: u32 },
    /// The lab's timed change `events[index]` happens.
    LabChange { index: u32 },
    /// A timer of a DNS resolver or stub (see `dns_apps`).
    DnsTimer { timer: u32 },
    /// A timer of an HTTP exchange (see `http_apps`).
    HttpTimer { timer: u32 },
    /// A routing protocol's timer (see `routing_apps`).
    RoutingTimer { speaker: u32 },
}

#[derive(Clone, Debug, Default)]
struct IfaceState {
    in_flight: Option<PacketId>,
    tx_queue: VecDeque<PacketId>,
    /// When the last frame sent from here arrives: jitter never reorders
    /// the frames of one interface.
    last_arrival: SimTime,
    stats: IfaceStats,
    /// Listed in `touched_ifaces`, to be cleared by the next reset.
    touched: bool,
    /// TCP connections of this host waiting for room in the queue.
    waiting: Vec<u32>,
}

/// A frame as it went onto a segment, for packet captures.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CapturedFrame {
    /// When its first bit went onto the wire.
    pub time: SimTime,
    pub segment: wirelab_net::SegmentId,
    /// The interface that sent it.
    pub iface: IfaceId,
    pub packet: Packet,
    /// The application bytes of a UDP datagram that carries real ones.
    pub payload: Option<std::sync::Arc<[u8]>>,
}

/// The lab's filters after events changed them, recompiled.
struct DynFilters {
    lab: wirelab_spec::Lab,
    firewalls: Vec<Option<HostFirewall>>,
    nacls: Vec<CompiledNacl>,
    /// Where the rules in force now count their hits.
    slots: RuleSlots,
}

impl DynFilters {
    fn change(&mut self, action: &EventAction, table: &RuleTable) {
        self.slots.change(action, table, &self.lab);
        let lab = &mut self.lab;
        match action {
            EventAction::SgRuleAdd {
                group,
                inbound: true,
                rule,
            } => lab.security_groups[*group].inbound.push(rule.clone()),
            // A group without an outbound list allows everything out
            // (AWS's default allow-all rule); an added rule changes nothing.
            EventAction::SgRuleAdd {
                group,
                inbound: false,
                rule,
            } => {
                if let Some(out) = &mut lab.security_groups[*group].outbound {
                    out.push(rule.clone());
                }
            }
            EventAction::SgRuleRemove {
                group,
                inbound,
                index,
            } => {
                let sg = &mut lab.security_groups[*group];
                let list = if *inbound {
                    Some(&mut sg.inbound)
                } else {
                    sg.outbound.as_mut()
                };
                if let Some(list) = list.filter(|l| *index < l.len()) {
                    list.remove(*index);
                }
            }
            EventAction::NaclRuleAdd {
                nacl,
                inbound,
                rule,
            } => {
                let list = nacl_rules(&mut lab.nacls[*nacl], *inbound);
                list.push(rule.clone());
                list.sort_by_key(|r| r.number);
            }
            EventAction::NaclRuleRemove {
                nacl,
                inbound,
                number,
            } => {
                nacl_rules(&mut lab.nacls[*nacl], *inbound).retain(|r| r.number != *number);
            }
            EventAction::LinkDown(_)
            | EventAction::LinkUp(_)
            | EventAction::LinkSet(..)
            | EventAction::RouterDown(_)
            | EventAction::RouterUp(_) => return,
        }
        self.firewalls = wirelab_net::filter::compile_firewalls(lab);
        self.nacls = wirelab_net::filter::compile_nacls(lab);
    }
}

/// One direction's rules of a NACL.
fn nacl_rules(nacl: &mut wirelab_spec::Nacl, inbound: bool) -> &mut Vec<wirelab_spec::NaclRule> {
    if inbound {
        &mut nacl.inbound
    } else {
        &mut nacl.outbound
    }
}

/// What one interface sent (and received), for link utilisation, drop
/// reports and metrics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IfaceStats {
    /// Frames and bytes (whole frames on the wire) it started sending.
    pub frames: u64,
    pub bytes: u64,
    /// Frames and bytes that arrived and that it accepted: addressed to
    /// its MAC address, broadcast or multicast.
    pub rx_frames: u64,
    pub rx_bytes: u64,
    /// Time spent serializing frames.
    pub busy_ns: u64,
    pub drops_queue: u64,
    pub drops_lost: u64,
    pub drops_down: u64,
    pub drops_too_big: u64,
}

/// Counters of a run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    pub events: u64,
    pub frames_sent: u64,
    pub frames_delivered: u64,
    pub drops: u64,
}

/// Limits every run: a lab cannot make the engine loop forever.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub events_max: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            events_max: 50_000_000,
        }
    }
}

pub struct Sim<'n> {
    pub(crate) net: &'n Network,
    pub(crate) now: SimTime,
    pub(crate) queue: EventQueue<Event>,
    rng_loss: ChaCha8Rng,
    pub(crate) rng_app: ChaCha8Rng,
    packets: Vec<Packet>,
    free_packets: Vec<PacketId>,
    ifaces: Vec<IfaceState>,
    touched_ifaces: Vec<IfaceId>,
    neigh: NeighTable,
    pub(crate) conntrack: Vec<Conntrack>,
    touched_hosts: Vec<usize>,
    /// Per host: listed in `touched_hosts`.
    host_touched: Vec<bool>,
    pub(crate) probes: Vec<Probe>,
    pub(crate) pingers: Vec<crate::pinger::Pinger>,
    pub(crate) udp_sources: Vec<crate::udp_source::UdpSource>,
    pub(crate) tcp: crate::tcp_apps::TcpTable,
    /// Workloads (pingers, UDP sources, TCP clients) that have finished.
    pub(crate) workloads_done: u32,
    pub(crate) servers: Vec<crate::probe::ServerConn>,
    pub(crate) trace: Vec<TraceEvent>,
    pub(crate) level: TraceLevel,
    capture: bool,
    captured: Vec<CapturedFrame>,
    /// Application bytes of datagrams in flight or recorded in the trace
    /// ([`Payload`] `n` is element `n - 1`); cleared at reset.
    payloads: Vec<std::sync::Arc<[u8]>>,
    /// Routing messages' payloads are counted per packet in the slab and
    /// their slots reused once no packet holds them (routers send them
    /// for as long as a run lasts); other payloads live until reset.
    payload_refs: Vec<u32>,
    payload_free: Vec<u32>,
    /// Some routing payload was stored this run: only then do `alloc` and
    /// `free` look for one (they run for every frame).
    counting_payloads: bool,
    /// Stub lookups, resolvers and DNS exchanges of this run.
    pub(crate) dns: crate::dns_apps::DnsApps,
    /// HTTP exchanges of this run.
    pub(crate) http: crate::http_apps::HttpApps,
    /// Connections being woken by `tx_done` (see `IfaceState::waiting`).
    woken: Vec<u32>,
    /// Security groups and NACLs once an event has changed them.
    filters: Option<Box<DynFilters>>,
    /// Each segment's properties now: the lab's, changed by events.
    pub(crate) links: Vec<wirelab_spec::LinkProps>,
    rng_jitter: ChaCha8Rng,
    next_packet_id: u32,
    pub counters: Counters,
    /// What metrics report (see `counters`).
    pub(crate) run_counters: RunCounters,
    limits: Limits,
    /// Raised from another thread to stop the run (see [`Sim::set_stop`]).
    stop: Option<crate::stop::StopFlag>,
    /// Per router: its NAT translations (see `nat`).
    pub(crate) nat: Vec<crate::nat::NatState>,
    /// Dynamic routing: the protocols' state and the tables they make.
    pub(crate) routing: crate::routing_apps::RoutingApps,
}

impl<'n> Sim<'n> {
    pub fn new(net: &'n Network, seed: u64, level: TraceLevel) -> Self {
        let mut sim = Sim {
            net,
            now: SimTime::ZERO,
            queue: EventQueue::default(),
            rng_loss: ChaCha8Rng::seed_from_u64(0),
            rng_app: ChaCha8Rng::seed_from_u64(0),
            packets: Vec::new(),
            free_packets: Vec::new(),
            ifaces: vec![IfaceState::default(); net.ifaces.len()],
            touched_ifaces: Vec::new(),
            neigh: NeighTable::default(),
            conntrack: vec![Conntrack::default(); net.lab.hosts.len()],
            touched_hosts: Vec::new(),
            host_touched: vec![false; net.lab.hosts.len()],
            probes: Vec::new(),
            pingers: Vec::new(),
            udp_sources: Vec::new(),
            tcp: Default::default(),
            workloads_done: 0,
            servers: Vec::new(),
            trace: Vec::new(),
            level,
            capture: false,
            captured: Vec::new(),
            payloads: Vec::new(),
            payload_refs: Vec::new(),
            payload_free: Vec::new(),
            counting_payloads: false,
            dns: Default::default(),
            http: Default::default(),
            woken: Vec::new(),
            filters: None,
            links: Vec::new(),
            rng_jitter: ChaCha8Rng::seed_from_u64(0),
            next_packet_id: 1,
            counters: Counters::default(),
            run_counters: RunCounters::new(&net.lab),
            limits: Limits::default(),
            stop: None,
            nat: net
                .lab
                .routers
                .iter()
                .map(|r| crate::nat::NatState::new(&r.nat))
                .collect(),
            routing: Default::default(),
        };
        sim.reset(seed);
        sim
    }

    /// Back to a fresh network state (empty caches, queues and flow
    /// tables, time zero) without reallocating: only what the last run
    /// touched is cleared.
    pub fn reset(&mut self, seed: u64) {
        for i in self.touched_ifaces.drain(..) {
            let s = &mut self.ifaces[i];
            s.in_flight = None;
            s.tx_queue.clear();
            s.touched = false;
            s.waiting.clear();
            s.last_arrival = SimTime::ZERO;
            s.stats = IfaceStats::default();
        }
        self.neigh.clear();
        self.run_counters.clear(&self.touched_hosts);
        for h in self.touched_hosts.drain(..) {
            self.conntrack[h].clear();
            self.host_touched[h] = false;
        }
        self.now = SimTime::ZERO;
        self.queue.clear();
        self.packets.clear();
        self.free_packets.clear();
        self.probes.clear();
        self.pingers.clear();
        self.udp_sources.clear();
        self.tcp.clear();
        self.workloads_done = 0;
        self.servers.clear();
        self.trace.clear();
        self.captured.clear();
        self.payloads.clear();
        self.payload_refs.clear();
        self.payload_free.clear();
        self.counting_payloads = false;
        self.dns.clear();
        self.http.clear();
        self.filters = None;
        for n in &mut self.nat {
            n.clear();
        }
        self.next_packet_id = 1;
        self.counters = Counters::default();
        // One stream per purpose, so that adding randomness to one (say,
        // ports) never shifts the other (loss).
        self.rng_loss = ChaCha8Rng::seed_from_u64(seed);
        self.rng_loss.set_stream(1);
        self.rng_app = ChaCha8Rng::seed_from_u64(seed);
        self.rng_app.set_stream(2);
        self.rng_jitter = ChaCha8Rng::seed_from_u64(seed);
        self.rng_jitter.set_stream(3);
        self.links.clear();
        self.links.extend(self.net.segments.iter().map(|s| s.link));
        self.routing_start();
    }

    /// The neighbour cache of an interface (`ip neigh`), oldest entry
    /// first.
    pub fn neighbours(&self, iface: IfaceId) -> impl Iterator<Item = &Neigh> + '_ {
        self.neigh
            .entries()
            .iter()
            .filter(move |n| n.iface == iface)
    }

    /// What an interface has sent so far.
    pub fn iface_stats(&self, iface: IfaceId) -> IfaceStats {
        self.ifaces[iface].stats
    }

    /// A segment's properties now (events may have changed them).
    pub fn link(&self, segment: wirelab_net::SegmentId) -> wirelab_spec::LinkProps {
        self.links[segment]
    }

    pub fn set_limits(&mut self, limits: Limits) {
        self.limits = limits;
    }

    /// Polls `stop` in every run from now on: once it is raised, the run
    /// stops as if the event limit were hit ([`Sim::stopped`] tells which).
    pub fn set_stop(&mut self, stop: crate::stop::StopFlag) {
        self.stop = Some(stop);
    }

    /// Whether a run was stopped by the flag of [`Sim::set_stop`].
    pub fn stopped(&self) -> bool {
        self.stop
            .as_ref()
            .is_some_and(crate::stop::StopFlag::is_raised)
    }

    /// Whether the last run hit the event limit.
    pub fn event_limit_hit(&self) -> bool {
        self.counters.events >= self.limits.events_max
    }

    pub fn now(&self) -> SimTime {
        self.now
    }

    pub fn network(&self) -> &'n Network {
        self.net
    }

    pub fn trace(&self) -> &[TraceEvent] {
        &self.trace
    }

    /// Records every frame put on a segment from now on (see
    /// [`CapturedFrame`]); off by default.
    pub fn set_capture(&mut self, on: bool) {
        self.capture = on;
    }

    /// The frames recorded while capture was on, in the order they were
    /// sent (which is time order).
    pub fn captured(&self) -> &[CapturedFrame] {
        &self.captured
    }

    /// The bytes behind a payload handle of a packet of this run.
    pub fn payload(&self, payload: crate::packet::Payload) -> Option<&std::sync::Arc<[u8]>> {
        (payload.0 as usize)
            .checked_sub(1)
            .and_then(|i| self.payloads.get(i))
    }

    /// Keeps `bytes` for the packets that carry them.
    pub(crate) fn store_payload(&mut self, bytes: Vec<u8>) -> crate::packet::Payload {
        self.payloads.push(bytes.into());
        let n = u32::try_from(self.payloads.len()).expect("fewer than 2^32 payloads per run");
        crate::packet::Payload(n)
    }

    pub(crate) fn schedule(&mut self, at: SimTime, event: Event) {
        debug_assert!(at >= self.now, "an event scheduled in the past");
        self.queue.push(at, event);
    }

    /// Runs events until the queue is empty, `until` is reached, `stop`
    /// says so, or the event limit is hit. Returns false if the limit
    /// was hit.
    pub fn run_while(&mut self, until: SimTime, mut stop: impl FnMut(&Sim<'n>) -> bool) -> bool {
        while let Some(t) = self.queue.peek_time() {
            if t > until || stop(self) {
                break;
            }
            if self.counters.events >= self.limits.events_max {
                return false;
            }
            if self
                .counters
                .events
                .is_multiple_of(crate::stop::POLL_EVENTS)
                && self.stopped()
            {
                return false;
            }
            let (t, event) = self.queue.pop().expect("peeked");
            debug_assert!(t >= self.now, "time went backwards");
            self.now = t;
            self.counters.events += 1;
            self.dispatch(event);
        }
        true
    }

    pub fn run_until(&mut self, until: SimTime) -> bool {
        self.run_while(until, |_| false)
    }

    fn dispatch(&mut self, event: Event) {
        match event {
            Event::TxDone { iface } => self.tx_done(iface as IfaceId),
            Event::Arrive { iface, pkt } => self.arrive(iface as IfaceId, pkt),
            Event::NeighRetry { neigh } => self.neigh_retry(neigh),
            Event::ProbeTimer { probe, attempt } => self.probe_timer(probe as usize, attempt),
            Event::ProbeStart { probe } => self.probe_start(probe as usize),
            Event::PingerTick { pinger } => self.pinger_tick(pinger as usize),
            Event::UdpTick { source } => self.udp_tick(source as usize),
            Event::TcpTimer { conn, generation } => self.tcp_timer(conn as usize, generation),
            Event::TcpThink { conn } => self.tcp_think_over(conn as usize),
            Event::TcpStart { flow } => self.tcp_workload_start(flow),
            Event::DnsTimer { timer } => self.dns_timer_fired(timer),
            Event::HttpTimer { timer } => self.http_timer_fired(timer),
            Event::RoutingTimer { speaker } => self.routing_timer(speaker as usize),
            Event::LabChange { index } => {
                let action = self.net.lab.events[index as usize].action.clone();
                self.apply(&action);
            }
            Event::Loopback { node, pkt } => {
                let node = node as NodeId;
                let p = self.packets[pkt as usize];
                self.free(pkt);
                if let Body::Ip(ip) = p.body {
                    self.record(node, &p, Step::Deliver);
                    self.local_deliver(node, p, ip);
                }
            }
        }
    }

    // ----- packets -------------------------------------------------------

    fn alloc(&mut self, p: Packet) -> PacketId {
        if self.counting_payloads {
            if let Some(slot) = routing_payload(&p) {
                self.payload_refs[slot] += 1;
            }
        }
        match self.free_packets.pop() {
            Some(id) => {
                self.packets[id as usize] = p;
                id
            }
            None => {
                self.packets.push(p);
                (self.packets.len() - 1) as PacketId
            }
        }
    }

    fn free(&mut self, id: PacketId) {
        if self.counting_payloads {
            if let Some(slot) = routing_payload(&self.packets[id as usize]) {
                self.payload_refs[slot] -= 1;
                if self.payload_refs[slot] == 0 {
                    self.payload_free.push(slot as u32);
                }
            }
        }
        self.free_packets.push(id);
    }

    /// Keeps a routing message's bytes in a slot that is reused once the
    /// last packet carrying them is freed (see [`Sim::alloc`]). A slot no
    /// packet ever takes must be given back with `release_payload`.
    pub(crate) fn store_routing_payload(&mut self, bytes: Vec<u8>) -> crate::packet::Payload {
        self.counting_payloads = true;
        match self.payload_free.pop() {
            Some(slot) => {
                self.payloads[slot as usize] = bytes.into();
                crate::packet::Payload(slot + 1)
            }
            None => {
                let p = self.store_payload(bytes);
                self.payload_refs.resize(self.payloads.len(), 0);
                p
            }
        }
    }

    /// Gives back a routing payload slot that no packet took.
    pub(crate) fn release_payload(&mut self, payload: crate::packet::Payload) {
        let slot = payload.0 as usize - 1;
        if self.payload_refs.get(slot) == Some(&0) {
            self.payload_free.push(slot as u32);
        }
    }

    pub(crate) fn new_packet_id(&mut self) -> u32 {
        let id = self.next_packet_id;
        self.next_packet_id = self.next_packet_id.wrapping_add(1);
        id
    }

    pub(crate) fn record(&mut self, node: NodeId, packet: &Packet, step: Step) {
        // Routing protocols' chatter stays out of traces of exchanges (a
        // capture shows it).
        if self.level == TraceLevel::Full && !packet.is_routing() {
            self.trace.push(TraceEvent {
                time: self.now,
                node,
                packet: *packet,
                step,
            });
        }
    }

    pub(crate) fn drop_packet(&mut self, node: NodeId, packet: &Packet, cause: DropCause) {
        self.counters.drops += 1;
        self.run_counters.drops[drop_index(&cause)] += 1;
        self.record(node, packet, Step::Drop(cause));
        if packet.tag & crate::dns_apps::DNS_TAG != 0 {
            self.dns_saw_drop(Drop {
                cause,
                packet: *packet,
            });
        } else if packet.tag != 0 {
            self.probe_saw_drop(
                packet.tag,
                node,
                Drop {
                    cause,
                    packet: *packet,
                },
            );
        }
    }

    // ----- links ---------------------------------------------------------

    /// Remembers that an interface has state to clear at the next reset
    /// (each interface once, so the list stays bounded in long runs).
    fn touch_iface(&mut self, iface: IfaceId) {
        let s = &mut self.ifaces[iface];
        if !s.touched {
            s.touched = true;
            self.touched_ifaces.push(iface);
        }
    }

    /// Puts a frame on the wire, or in the drop-tail queue when the
    /// interface is busy.
    fn transmit(&mut self, iface: IfaceId, pkt: PacketId) {
        self.touch_iface(iface);
        let link = &self.links[self.net.ifaces[iface].segment];
        let cap = link.queue_packets as usize;
        if link.down {
            let p = self.packets[pkt as usize];
            self.ifaces[iface].stats.drops_down += 1;
            let segment = self.net.ifaces[iface].segment;
            self.drop_packet(
                self.net.ifaces[iface].node,
                &p,
                DropCause::LinkDown { segment },
            );
            self.free(pkt);
            return;
        }
        let state = &mut self.ifaces[iface];
        if state.in_flight.is_none() {
            state.in_flight = Some(pkt);
            self.start_serialization(iface, pkt);
        } else if state.tx_queue.len() < cap {
            state.tx_queue.push_back(pkt);
        } else {
            let p = self.packets[pkt as usize];
            self.ifaces[iface].stats.drops_queue += 1;
            self.drop_packet(
                self.net.ifaces[iface].node,
                &p,
                DropCause::QueueFull { iface },
            );
            self.free(pkt);
        }
    }

    fn start_serialization(&mut self, iface: IfaceId, pkt: PacketId) {
        let link = &self.links[self.net.ifaces[iface].segment];
        // A frame is at most 64 KiB: bits × 10⁹ stays far below u64::MAX.
        let bytes = u64::from(self.packets[pkt as usize].frame_len(link.framing));
        let ns = (bytes * 8 * 1_000_000_000).div_ceil(link.bandwidth_bps.max(1));
        let stats = &mut self.ifaces[iface].stats;
        stats.frames += 1;
        stats.bytes += bytes;
        stats.busy_ns += ns;
        if self.capture {
            let segment = self.net.ifaces[iface].segment;
            let packet = self.packets[pkt as usize];
            let payload = match packet.body {
                Body::Ip(Ip { l4: L4::Udp(u), .. }) => self.payload(u.payload).cloned(),
                Body::Ip(Ip {
                    l4: L4::Ospf(o), ..
                }) => self.payload(o.payload).cloned(),
                Body::Ip(ip @ Ip { l4: L4::Tcp(t), .. }) => self
                    .dns_tcp_bytes(packet.tag, &ip, &t)
                    .or_else(|| self.http_tcp_bytes(packet.tag, &ip, &t)),
                _ => None,
            };
            self.captured.push(CapturedFrame {
                time: self.now,
                segment,
                iface,
                packet,
                payload,
            });
        }
        self.counters.frames_sent += 1;
        self.schedule(
            self.now + SimTime(ns),
            Event::TxDone {
                iface: iface as u32,
            },
        );
    }

    fn tx_done(&mut self, iface: IfaceId) {
        let Some(pkt) = self.ifaces[iface].in_flight.take() else {
            return;
        };
        self.propagate(iface, pkt);
        if let Some(next) = self.ifaces[iface].tx_queue.pop_front() {
            self.ifaces[iface].in_flight = Some(next);
            self.start_serialization(iface, next);
        }
        if !self.ifaces[iface].waiting.is_empty() {
            // Room again: the connections that stopped for it go on. The
            // two lists swap so that nothing is allocated in steady state.
            std::mem::swap(&mut self.ifaces[iface].waiting, &mut self.woken);
            for k in 0..self.woken.len() {
                let c = self.woken[k] as usize;
                self.tcp_service(c);
            }
            self.woken.clear();
        }
    }

    /// Free places in an interface's transmit queue.
    pub(crate) fn iface_room(&self, iface: IfaceId) -> usize {
        let cap = self.links[self.net.ifaces[iface].segment].queue_packets as usize;
        cap.saturating_sub(self.ifaces[iface].tx_queue.len())
    }

    /// A TCP connection stops sending until its interface has room.
    pub(crate) fn wait_for_room(&mut self, iface: IfaceId, conn: usize) {
        self.touch_iface(iface);
        let waiting = &mut self.ifaces[iface].waiting;
        if !waiting.contains(&(conn as u32)) {
            waiting.push(conn as u32);
        }
    }

    /// Hands a serialized frame to the receivers on the segment after the
    /// propagation delay: the owner of the destination address, or every
    /// other interface for broadcast and multicast.
    fn propagate(&mut self, from: IfaceId, pkt: PacketId) {
        let seg_id = self.net.ifaces[from].segment;
        let seg = &self.net.segments[seg_id];
        let link = self.links[seg_id];
        if link.down {
            // The link went down while the frame was on the wire.
            let p = self.packets[pkt as usize];
            self.ifaces[from].stats.drops_down += 1;
            self.drop_packet(
                self.net.ifaces[from].node,
                &p,
                DropCause::LinkDown { segment: seg_id },
            );
            self.free(pkt);
            return;
        }
        let mut arrive_at = self.now + SimTime(link.delay_ns);
        if link.jitter_ns > 0 {
            arrive_at = arrive_at + SimTime(self.rng_jitter.random_range(0..=link.jitter_ns));
            arrive_at = arrive_at.max(self.ifaces[from].last_arrival);
            self.ifaces[from].last_arrival = arrive_at;
        }
        let loss = link.loss;
        let frame = self.packets[pkt as usize];
        let dst = frame.dst_mac;
        if let Some(target) = solicited(&frame) {
            // Only the owner of the solicited address acts on an ARP
            // request or a neighbour solicitation; every other interface
            // drops it unseen (multicast filtering for ND, the ARP layer
            // for ARP). Handing it to the owner alone keeps a large
            // segment from costing one event per member.
            match self
                .net
                .owner(target)
                .or_else(|| self.nat_proxy(seg_id, target))
                .filter(|&i| i != from && self.net.ifaces[i].segment == seg_id)
            {
                Some(to) => self.deliver_after(from, to, pkt, arrive_at, loss),
                None => self.free(pkt),
            }
        } else if dst == Mac::BROADCAST || dst.0[0] & 0x01 == 1 {
            let receivers = seg.ifaces.len() - 1;
            let mut first = true;
            for k in 0..seg.ifaces.len() {
                let to = self.net.segments[seg_id].ifaces[k];
                if to == from {
                    continue;
                }
                let id = if first { pkt } else { self.alloc(frame) };
                first = false;
                self.deliver_after(from, to, id, arrive_at, loss);
            }
            if receivers == 0 {
                self.free(pkt);
            }
        } else {
            match iface_of_mac(dst)
                .filter(|&i| i < self.net.ifaces.len() && self.net.ifaces[i].segment == seg_id)
            {
                Some(to) => self.deliver_after(from, to, pkt, arrive_at, loss),
                None => self.free(pkt),
            }
        }
    }

    fn deliver_after(&mut self, from: IfaceId, to: IfaceId, pkt: PacketId, at: SimTime, loss: f64) {
        if loss > 0.0 && self.rng_loss.random::<f64>() < loss {
            let p = self.packets[pkt as usize];
            let seg = self.net.ifaces[from].segment;
            self.ifaces[from].stats.drops_lost += 1;
            self.drop_packet(
                self.net.ifaces[from].node,
                &p,
                DropCause::Lost { segment: seg },
            );
            self.free(pkt);
            return;
        }
        self.schedule(
            at,
            Event::Arrive {
                iface: to as u32,
                pkt,
            },
        );
    }

    fn arrive(&mut self, iface: IfaceId, pkt_id: PacketId) {
        let pkt = self.packets[pkt_id as usize];
        self.free(pkt_id);
        self.counters.frames_delivered += 1;
        let my_mac = self.net.ifaces[iface].mac;
        if pkt.dst_mac != my_mac && pkt.dst_mac != Mac::BROADCAST && pkt.dst_mac.0[0] & 0x01 == 0 {
            return;
        }
        self.touch_iface(iface);
        let stats = &mut self.ifaces[iface].stats;
        stats.rx_frames += 1;
        stats.rx_bytes +=
            u64::from(pkt.frame_len(self.links[self.net.ifaces[iface].segment].framing));
        match pkt.body {
            Body::Arp(arp) => self.arp_input(iface, &pkt, arp),
            Body::Ip(ip) => {
                if let L4::Icmp(icmp) = ip.l4 {
                    if icmp.is_neighbor_discovery() {
                        self.nd_input(iface, &pkt, ip, icmp);
                        return;
                    }
                }
                let node = self.net.ifaces[iface].node;
                let router = self.net.nodes[node].is_router();
                if router
                    && (self.drop_at_down_router(node, &pkt)
                        || self.routing_input(node, iface, &ip))
                {
                    return;
                }
                let owned = self.node_owns(node, ip.dst) || (router && self.nat_owns(node, ip.dst));
                if owned && !(router && self.nat_claims(node, iface, &ip)) {
                    // A datagram for a router leaves its network as a
                    // forwarded one does: that network's outbound rules.
                    if router && !self.nacl_check(node, iface, Direction::Outbound, &pkt, &ip) {
                        return;
                    }
                    self.local_input(node, pkt, ip);
                } else if router {
                    self.forward(node, iface, pkt, ip);
                }
                // A host ignores datagrams that are not for it.
            }
        }
    }

    fn node_owns(&self, node: NodeId, addr: IpAddr) -> bool {
        self.net.nodes[node]
            .ifaces
            .iter()
            .any(|&i| self.net.ifaces[i].has_addr(addr))
    }

    // ----- neighbours (ARP, ND) -------------------------------------------

    fn learn(&mut self, iface: IfaceId, addr: IpAddr, mac: Mac) {
        let old = match self.neigh.find(iface, addr) {
            Some(id) => std::mem::replace(
                &mut self.neigh.get_mut(id).state,
                NeighState::Reachable(mac),
            ),
            None => {
                self.neigh.insert(iface, addr, NeighState::Reachable(mac));
                NeighState::Failed
            }
        };
        let NeighState::Incomplete {
            pending,
            pending_len,
            ..
        } = old
        else {
            return;
        };
        let src_mac = self.net.ifaces[iface].mac;
        for &id in &pending[..usize::from(pending_len)] {
            let p = &mut self.packets[id as usize];
            p.src_mac = src_mac;
            p.dst_mac = mac;
            let p = *p;
            self.record(
                self.net.ifaces[iface].node,
                &p,
                Step::Transmit {
                    iface,
                    next_hop_mac: mac,
                },
            );
            self.transmit(iface, id);
        }
    }

    fn arp_input(&mut self, iface: IfaceId, pkt: &Packet, arp: Arp) {
        let me = &self.net.ifaces[iface];
        let Some(my_ip) = me.ipv4 else { return };
        // A NAT router answers for the public addresses it translates.
        if arp.target_ip != my_ip && !self.nat_arp(iface, arp.target_ip) {
            return;
        }
        let my_ip = arp.target_ip;
        let (node, my_mac) = (me.node, me.mac);
        self.learn(iface, IpAddr::V4(arp.sender_ip), arp.sender_mac);
        if arp.op == ArpOp::Request {
            let reply = Packet {
                src_mac: my_mac,
                dst_mac: arp.sender_mac,
                body: Body::Arp(Arp {
                    op: ArpOp::Reply,
                    sender_mac: my_mac,
                    sender_ip: my_ip,
                    target_mac: arp.sender_mac,
                    target_ip: arp.sender_ip,
                }),
                tag: pkt.tag,
                id: self.new_packet_id(),
            };
            self.record(node, &reply, Step::Reply);
            let id = self.alloc(reply);
            self.transmit(iface, id);
        }
    }

    fn nd_input(&mut self, iface: IfaceId, pkt: &Packet, ip: Ip, icmp: Icmp) {
        let me = &self.net.ifaces[iface];
        let Some(my_ip) = me.ipv6 else { return };
        let (node, my_mac) = (me.node, me.mac);
        match icmp {
            Icmp::NeighborSolicit { target, source_mac } if target == my_ip => {
                self.learn(iface, ip.src, source_mac);
                let advert = Packet {
                    src_mac: my_mac,
                    dst_mac: source_mac,
                    body: Body::Ip(Ip {
                        src: IpAddr::V6(my_ip),
                        dst: ip.src,
                        ttl: 255,
                        l4: L4::Icmp(Icmp::NeighborAdvert {
                            target: my_ip,
                            target_mac: my_mac,
                            router: self.net.nodes[node].is_router(),
                        }),
                    }),
                    tag: pkt.tag,
                    id: self.new_packet_id(),
                };
                self.record(node, &advert, Step::Reply);
                let id = self.alloc(advert);
                self.transmit(iface, id);
            }
            Icmp::NeighborAdvert {
                target, target_mac, ..
            } => self.learn(iface, IpAddr::V6(target), target_mac),
            _ => {}
        }
    }

    fn solicit(&mut self, iface: IfaceId, addr: IpAddr, tag: Tag) {
        let me = &self.net.ifaces[iface];
        let (node, my_mac) = (me.node, me.mac);
        let frame = match addr {
            IpAddr::V4(target) => {
                let Some(my_ip) = me.ipv4 else { return };
                Packet {
                    src_mac: my_mac,
                    dst_mac: Mac::BROADCAST,
                    body: Body::Arp(Arp {
                        op: ArpOp::Request,
                        sender_mac: my_mac,
                        sender_ip: my_ip,
                        target_mac: Mac([0; 6]),
                        target_ip: target,
                    }),
                    tag,
                    id: 0,
                }
            }
            IpAddr::V6(target) => {
                let Some(my_ip) = me.ipv6 else { return };
                let t = target.octets();
                // The solicited-node multicast group of the target (RFC 4291 §2.7.1).
                let group = Ipv6Addr::new(
                    0xff02,
                    0,
                    0,
                    0,
                    0,
                    1,
                    0xff00 | u16::from(t[13]),
                    u16::from_be_bytes([t[14], t[15]]),
                );
                Packet {
                    src_mac: my_mac,
                    dst_mac: Mac([0x33, 0x33, 0xff, t[13], t[14], t[15]]),
                    body: Body::Ip(Ip {
                        src: IpAddr::V6(my_ip),
                        dst: IpAddr::V6(group),
                        ttl: 255,
                        l4: L4::Icmp(Icmp::NeighborSolicit {
                            target,
                            source_mac: my_mac,
                        }),
                    }),
                    tag,
                    id: 0,
                }
            }
        };
        let frame = Packet {
            id: self.new_packet_id(),
            ..frame
        };
        self.record(node, &frame, Step::Resolve { next_hop: addr });
        let id = self.alloc(frame);
        self.transmit(iface, id);
    }

    fn neigh_retry(&mut self, neigh: NeighId) {
        let Neigh { iface, addr, state } = *self.neigh.get(neigh);
        let NeighState::Incomplete {
            tries,
            pending,
            pending_len,
        } = state
        else {
            return;
        };
        if tries < NEIGH_SOLICIT_MAX {
            let tag = self.packets[pending[0] as usize].tag;
            if let NeighState::Incomplete { tries, .. } = &mut self.neigh.get_mut(neigh).state {
                *tries += 1;
            }
            self.solicit(iface, addr, tag);
            self.schedule(self.now + NEIGH_RETRANS, Event::NeighRetry { neigh });
            return;
        }
        self.neigh.get_mut(neigh).state = NeighState::Failed;
        let node = self.net.ifaces[iface].node;
        for &id in &pending[..usize::from(pending_len)] {
            let p = self.packets[id as usize];
            self.free(id);
            self.drop_packet(node, &p, DropCause::HostUnreachable { next_hop: addr });
            if self.net.nodes[node].is_router() {
                if let Some(ip) = p.ip() {
                    let quoted = ip.quote();
                    self.icmp_error(
                        node,
                        None,
                        &p,
                        *ip,
                        Icmp::Unreachable {
                            why: Unreachable::Host,
                            quoted,
                        },
                    );
                }
            } else {
                self.probe_local_error(p.tag);
            }
        }
    }

    /// Sends an IP packet to a next hop on an interface, resolving its
    /// hardware address first if needed.
    /// Puts a frame whose addresses are set on an interface's queue, and
    /// says so in the trace.
    pub(crate) fn put_on_wire(&mut self, node: NodeId, iface: IfaceId, pkt: Packet) {
        self.record(
            node,
            &pkt,
            Step::Transmit {
                iface,
                next_hop_mac: pkt.dst_mac,
            },
        );
        let id = self.alloc(pkt);
        self.transmit(iface, id);
    }

    pub(crate) fn output(
        &mut self,
        node: NodeId,
        iface: IfaceId,
        next_hop: IpAddr,
        mut pkt: Packet,
    ) {
        pkt.src_mac = self.net.ifaces[iface].mac;
        if self.links[self.net.ifaces[iface].segment].framing == Framing::Ppp {
            // No address resolution on a point-to-point link: whatever the
            // next hop, the other end is the only receiver (RFC 1661).
            let Some(peer) = self.ppp_peer(iface) else {
                self.drop_packet(node, &pkt, DropCause::HostUnreachable { next_hop });
                return;
            };
            pkt.dst_mac = self.net.ifaces[peer].mac;
            self.put_on_wire(node, iface, pkt);
            return;
        }
        let found = self.neigh.find(iface, next_hop);
        match found.map(|id| (id, self.neigh.get(id).state)) {
            Some((_, NeighState::Reachable(mac))) => {
                pkt.dst_mac = mac;
                self.put_on_wire(node, iface, pkt);
            }
            Some((neigh, NeighState::Incomplete { .. })) => {
                let id = self.alloc(pkt);
                let mut oldest = None;
                if let NeighState::Incomplete {
                    pending,
                    pending_len,
                    ..
                } = &mut self.neigh.get_mut(neigh).state
                {
                    let len = usize::from(*pending_len);
                    if len == PENDING_MAX {
                        oldest = Some(pending[0]);
                        pending.copy_within(1.., 0);
                        pending[len - 1] = id;
                    } else {
                        pending[len] = id;
                        *pending_len += 1;
                    }
                }
                if let Some(old) = oldest {
                    let p = self.packets[old as usize];
                    self.free(old);
                    self.drop_packet(node, &p, DropCause::QueueFull { iface });
                }
            }
            Some((neigh, NeighState::Failed)) => {
                let id = self.alloc(pkt);
                self.neigh.get_mut(neigh).state = NeighState::incomplete(id);
                self.start_resolution(iface, next_hop, neigh, pkt.tag);
            }
            None => {
                let id = self.alloc(pkt);
                let neigh = self
                    .neigh
                    .insert(iface, next_hop, NeighState::incomplete(id));
                self.start_resolution(iface, next_hop, neigh, pkt.tag);
            }
        }
    }

    /// The other end of a point-to-point link.
    fn ppp_peer(&self, iface: IfaceId) -> Option<IfaceId> {
        let seg = &self.net.segments[self.net.ifaces[iface].segment];
        seg.ifaces.iter().copied().find(|&i| i != iface)
    }

    fn start_resolution(&mut self, iface: IfaceId, addr: IpAddr, neigh: NeighId, tag: Tag) {
        self.solicit(iface, addr, tag);
        self.schedule(self.now + NEIGH_RETRANS, Event::NeighRetry { neigh });
    }

    // ----- IP ------------------------------------------------------------

    /// Sends a packet this node originates: route, then (on hosts) the
    /// outbound security group, as Linux looks the route up first.
    pub(crate) fn send_ip(&mut self, node: NodeId, pkt: Packet) {
        let Body::Ip(ip) = pkt.body else { return };
        if ip.dst.is_loopback() || self.node_owns(node, ip.dst) {
            // To itself: over the loopback interface, which no security
            // group or NACL sees (they filter what crosses the wire).
            self.record(node, &pkt, Step::Loopback);
            let id = self.alloc(pkt);
            self.schedule(
                self.now,
                Event::Loopback {
                    node: node as u32,
                    pkt: id,
                },
            );
            return;
        }
        let (out_iface, gw) = match self.route(node, &pkt, &ip) {
            Ok(r) => r,
            Err(cause) => {
                // The application learns at once (ENETUNREACH, EINVAL).
                self.drop_packet(node, &pkt, cause);
                self.probe_local_error(pkt.tag);
                return;
            }
        };
        let mtu = self.links[self.net.ifaces[out_iface].segment].mtu;
        if ip.total_len() > mtu {
            // EMSGSIZE: a node does not fragment what it sends.
            self.drop_packet(node, &pkt, DropCause::TooBig { mtu });
            self.probe_local_error(pkt.tag);
            return;
        }
        if let Some(host) = self.net.host_of(node) {
            if !self.sg_filter(node, host, &pkt, &ip, Direction::Outbound) {
                self.probe_local_error(pkt.tag);
                return;
            }
        } else if !self.nacl_check(node, out_iface, Direction::Inbound, &pkt, &ip) {
            return;
        }
        self.output(node, out_iface, gw, pkt);
    }

    /// The route of a datagram: the interface and the neighbour it goes
    /// to, or why it cannot go (no route, a blackhole, a broadcast
    /// address).
    fn route(
        &mut self,
        node: NodeId,
        pkt: &Packet,
        ip: &Ip,
    ) -> Result<(IfaceId, IpAddr), DropCause> {
        let route = self
            .table_of(node)
            .lookup(ip.dst)
            .ok_or(DropCause::NoRoute)?;
        let (prefix, mut next_hop, origin) = (route.prefix, route.next_hop, route.origin);
        let mut route_iface = route.iface;
        if matches!(origin, wirelab_net::RouteOrigin::Ospf { .. }) {
            // Equal-cost paths: one per flow.
            let hops = self.multipath_now(node, prefix);
            if !hops.is_empty() {
                let (iface, gw) = hops[crate::routing_apps::multipath_choice(ip, hops.len())];
                route_iface = Some(iface);
                next_hop = NextHop::Gateway(gw);
            }
        }
        let out_iface = match (next_hop, route_iface) {
            (NextHop::Blackhole, _) | (_, None) => {
                return Err(DropCause::Blackhole {
                    prefix,
                    span: span_of(origin),
                })
            }
            (_, Some(iface)) => iface,
        };
        self.record(
            node,
            pkt,
            Step::Route {
                prefix,
                next_hop,
                out_iface,
                origin,
            },
        );
        if self.is_broadcast(out_iface, next_hop, ip.dst) {
            // Hosts need a broadcast option; routers do not forward
            // directed broadcasts (RFC 2644).
            return Err(DropCause::Broadcast { addr: ip.dst });
        }
        let gw = match next_hop {
            NextHop::Gateway(gw) => gw,
            _ => ip.dst,
        };
        Ok((out_iface, gw))
    }

    /// A router forwards a datagram (RFC 1812 §5.2): the NACL of the
    /// network it leaves, the route, the TTL, the NACL of the network it
    /// enters.
    fn forward(&mut self, node: NodeId, in_iface: IfaceId, pkt: Packet, ip: Ip) {
        if !self.nacl_check(node, in_iface, Direction::Outbound, &pkt, &ip) {
            return;
        }
        let (pkt, ip, translated) = self.nat_prerouting(node, in_iface, pkt, ip);
        let (out_iface, gw) = match self.route(node, &pkt, &ip) {
            Ok(r) => r,
            Err(cause) => {
                self.drop_packet(node, &pkt, cause);
                if cause == DropCause::NoRoute {
                    let quoted = ip.quote();
                    let msg = Icmp::Unreachable {
                        why: Unreachable::Net,
                        quoted,
                    };
                    self.icmp_error(node, Some(in_iface), &pkt, ip, msg);
                }
                return;
            }
        };
        if ip.ttl <= 1 {
            self.drop_packet(node, &pkt, DropCause::TtlExceeded);
            self.icmp_error(
                node,
                Some(in_iface),
                &pkt,
                ip,
                Icmp::TimeExceeded { quoted: ip.quote() },
            );
            return;
        }
        let mtu = self.links[self.net.ifaces[out_iface].segment].mtu;
        if ip.total_len() > mtu {
            // IPv4 is sent with DF (as Linux does for path MTU discovery)
            // and IPv6 routers never fragment.
            self.ifaces[out_iface].stats.drops_too_big += 1;
            self.drop_packet(node, &pkt, DropCause::TooBig { mtu });
            let quoted = ip.quote();
            self.icmp_error(node, Some(in_iface), &pkt, ip, Icmp::TooBig { mtu, quoted });
            return;
        }
        let Some((pkt, ip)) = self.nat_postrouting(node, in_iface, out_iface, pkt, ip, translated)
        else {
            return;
        };
        if !self.nacl_check(node, out_iface, Direction::Inbound, &pkt, &ip) {
            return;
        }
        let mut out_pkt = pkt;
        out_pkt.body = Body::Ip(Ip {
            ttl: ip.ttl - 1,
            ..ip
        });
        self.record(
            node,
            &out_pkt,
            Step::Forward {
                in_iface,
                out_iface,
            },
        );
        self.output(node, out_iface, gw, out_pkt);
    }

    /// The NACL of an interface's segment, in the direction seen from that
    /// segment. Neighbour discovery never reaches here.
    fn nacl_check(
        &mut self,
        node: NodeId,
        iface: IfaceId,
        dir: Direction,
        pkt: &Packet,
        ip: &Ip,
    ) -> bool {
        let segment = self.net.ifaces[iface].segment;
        let Some(nacl) = self.net.segments[segment].nacl else {
            return true;
        };
        let (verdict, slots) = match &self.filters {
            Some(f) => (f.nacls[nacl].evaluate(dir, &ip.header()), &f.slots),
            None => (
                self.net.nacls[nacl].evaluate(dir, &ip.header()),
                &self.run_counters.rules.initial,
            ),
        };
        let slot = slots.nacl_slot(nacl, dir, verdict.rule, verdict.span);
        self.run_counters.hit(slot);
        match (verdict.action, verdict.rule, verdict.span) {
            (NaclAction::Allow, Some(rule), Some(span)) => {
                self.record(
                    node,
                    pkt,
                    Step::NaclPass {
                        nacl,
                        direction: dir,
                        rule,
                        span,
                    },
                );
                true
            }
            _ => {
                let (rule, span) = (verdict.rule, verdict.span);
                let cause = match dir {
                    Direction::Inbound => DropCause::NaclInbound {
                        nacl,
                        segment,
                        rule,
                        span,
                    },
                    Direction::Outbound => DropCause::NaclOutbound {
                        nacl,
                        segment,
                        rule,
                        span,
                    },
                };
                self.drop_packet(node, pkt, cause);
                false
            }
        }
    }

    /// Sends an ICMP error about `about` back to its source, unless that
    /// would be an error about an error (RFC 1122 §3.2.2).
    fn icmp_error(
        &mut self,
        node: NodeId,
        in_iface: Option<IfaceId>,
        about: &Packet,
        ip: Ip,
        msg: Icmp,
    ) {
        if let L4::Icmp(i) = ip.l4 {
            if i.is_error() {
                return;
            }
        }
        let v6 = ip.is_v6();
        let ifaces = &self.net.nodes[node].ifaces;
        let src = in_iface
            .and_then(|i| self.net.ifaces[i].addr(v6))
            .or_else(|| ifaces.iter().find_map(|&i| self.net.ifaces[i].addr(v6)));
        let Some(src) = src else { return };
        let err = Packet {
            src_mac: Mac([0; 6]),
            dst_mac: Mac([0; 6]),
            body: Body::Ip(Ip {
                src,
                dst: ip.src,
                ttl: DEFAULT_TTL,
                l4: L4::Icmp(msg.with_quoted_id(about.id)),
            }),
            tag: about.tag,
            id: self.new_packet_id(),
        };
        self.record(node, &err, Step::Reply);
        let err = self.nat_local_error(node, err);
        self.send_ip(node, err);
    }

    /// Whether `dst` is the network or broadcast address of the IPv4
    /// prefix on a connected route's segment.
    fn is_broadcast(&self, out_iface: IfaceId, next_hop: NextHop, dst: IpAddr) -> bool {
        let (NextHop::Connected, IpAddr::V4(a)) = (next_hop, dst) else {
            return false;
        };
        let Some(p) = self.net.segments[self.net.ifaces[out_iface].segment].ipv4 else {
            return false;
        };
        p.prefix_len() <= 30 && (a == p.network() || a == p.broadcast())
    }

    /// A datagram addressed to this node, from the wire.
    fn local_input(&mut self, node: NodeId, pkt: Packet, ip: Ip) {
        if let Some(host) = self.net.host_of(node) {
            if !self.sg_filter(node, host, &pkt, &ip, Direction::Inbound) {
                return;
            }
        }
        self.record(node, &pkt, Step::Deliver);
        self.local_deliver(node, pkt, ip);
    }

    /// What the node's stack does with a datagram for it.
    fn local_deliver(&mut self, node: NodeId, pkt: Packet, ip: Ip) {
        match ip.l4 {
            L4::Icmp(Icmp::EchoRequest {
                id,
                seq,
                payload_len,
            }) => {
                let reply = self.reply_to(
                    &pkt,
                    &ip,
                    L4::Icmp(Icmp::EchoReply {
                        id,
                        seq,
                        payload_len,
                    }),
                );
                self.record(node, &reply, Step::Reply);
                self.send_ip(node, reply);
            }
            L4::Icmp(Icmp::EchoReply { id, seq, .. }) if pkt.tag == 0 => {
                self.pinger_reply(node, id, seq)
            }
            L4::Icmp(Icmp::TooBig { mtu, quoted })
                if quoted.proto == 6 && pkt.tag & crate::udp_source::FLOW_TAG != 0 =>
            {
                self.tcp_path_mtu(node, &quoted, mtu)
            }
            L4::Icmp(icmp) => self.probe_icmp(node, &pkt, &ip, icmp),
            L4::Udp(u) => self.udp_input(node, &pkt, &ip, u),
            L4::Tcp(t) => self.tcp_input(node, &pkt, &ip, t),
            // OSPF reaches routers that run it before local delivery (see
            // `routing_input`); anyone else ignores it, as a host without
            // an OSPF socket does.
            L4::Ospf(_) => {}
        }
    }

    pub(crate) fn reply_to(&mut self, pkt: &Packet, ip: &Ip, l4: L4) -> Packet {
        Packet {
            src_mac: Mac([0; 6]),
            dst_mac: Mac([0; 6]),
            body: Body::Ip(Ip {
                src: ip.dst,
                dst: ip.src,
                ttl: DEFAULT_TTL,
                l4,
            }),
            tag: pkt.tag,
            id: self.new_packet_id(),
        }
    }

    fn udp_input(&mut self, node: NodeId, pkt: &Packet, ip: &Ip, u: Udp) {
        if self.probe_reads_udp(pkt.tag, node, ip, u.dst_port) {
            return;
        }
        if !u.payload.is_none() && self.dns_udp_input(node, pkt.tag, ip, &u) {
            return;
        }
        let listening = self
            .net
            .host_of(node)
            .and_then(|h| self.net.service(h, TransportProto::Udp, u.dst_port));
        if listening.is_some() {
            if pkt.tag & crate::udp_source::FLOW_TAG != 0 {
                self.udp_source_delivered(pkt.tag, u.payload_len);
            } else {
                self.probe_delivered(pkt.tag, node, ip, u.dst_port);
            }
        } else {
            self.icmp_error(
                node,
                None,
                pkt,
                *ip,
                Icmp::Unreachable {
                    why: Unreachable::Port,
                    quoted: ip.quote(),
                },
            );
        }
    }

    fn tcp_input(&mut self, node: NodeId, pkt: &Packet, ip: &Ip, t: Tcp) {
        if self.probe_tcp(node, pkt, ip, t) || self.tcp_socket_input(node, pkt, ip, &t) {
            return;
        }
        let listening = self
            .net
            .host_of(node)
            .and_then(|h| self.net.service(h, TransportProto::Tcp, t.dst_port));
        use tcp_flags::*;
        if t.flags & RST != 0 {
            return;
        }
        if listening.is_none() {
            // RFC 9293 §3.10.7.1: a segment to a closed port gets a reset.
            let (seq, ack, flags) = if t.flags & ACK != 0 {
                (t.ack, 0, RST)
            } else {
                (0, t.seq.wrapping_add(seg_len(&t)), RST | ACK)
            };
            let rst = self.reply_to(
                pkt,
                ip,
                L4::Tcp(Tcp {
                    src_port: t.dst_port,
                    dst_port: t.src_port,
                    seq,
                    ack,
                    flags,
                    window: 0,
                    mss: None,
                    payload_len: 0,
                    ..Tcp::plain(0, 0, 0, 0, 0, 0)
                }),
            );
            self.record(node, &rst, Step::Reply);
            self.send_ip(node, rst);
            return;
        }
        self.tcp_listener(node, pkt, ip, t);
    }

    // ----- security groups -----------------------------------------------

    fn touch_host(&mut self, host: usize) {
        if !self.host_touched[host] {
            self.host_touched[host] = true;
            self.touched_hosts.push(host);
        }
    }

    /// The host's security groups as they are now (events may have
    /// changed them); `None` for a host without groups.
    fn firewall(&self, host: usize) -> Option<&HostFirewall> {
        match &self.filters {
            Some(f) => f.firewalls[host].as_ref(),
            None => self.net.firewalls[host].as_ref(),
        }
    }

    /// How a packet of an untracked flow passes (see
    /// [`HostFirewall::untracked`]), or `None` when its flow is tracked.
    fn sg_untracked(&self, host: usize, dir: Direction, ip: &Ip) -> Option<SgPass> {
        let src_port = match ip.l4 {
            L4::Tcp(t) => t.src_port,
            L4::Udp(u) => u.src_port,
            L4::Icmp(_) | L4::Ospf(_) => return None,
        };
        let fw = self.firewall(host)?;
        match fw.untracked(dir, &ip.header(), src_port)? {
            SgVerdict::Allowed(rule) => Some(SgPass::Rule(rule)),
            SgVerdict::AllowedByDefault => Some(SgPass::OutboundDefault),
            SgVerdict::Denied => None,
        }
    }

    fn sg_verdict(&self, host: usize, dir: Direction, ip: &Ip) -> (SgVerdict, usize) {
        let fw = self.firewall(host).expect("checked by the caller");
        (fw.evaluate(dir, &ip.header()), fw.groups.len())
    }

    /// Applies a timed change of the lab (`events:`). Security-group
    /// changes leave tracked connections alone; NACLs, being stateless,
    /// apply to the very next packet (AWS semantics).
    pub fn apply(&mut self, action: &EventAction) {
        match action {
            EventAction::LinkDown(n) => {
                self.links[*n].down = true;
                self.routing_link(*n, false);
            }
            EventAction::LinkUp(n) => {
                self.links[*n].down = false;
                self.routing_link(*n, true);
            }
            EventAction::RouterDown(r) => self.routing_router(*r, false),
            EventAction::RouterUp(r) => self.routing_router(*r, true),
            EventAction::LinkSet(n, props) => {
                let down = self.links[*n].down;
                // Framing is not an event's to change.
                let framing = self.links[*n].framing;
                self.links[*n] = wirelab_spec::LinkProps {
                    down,
                    framing,
                    ..*props
                };
            }
            filter_change => {
                let mut f = self.filters.take().unwrap_or_else(|| {
                    Box::new(DynFilters {
                        lab: self.net.lab.clone(),
                        firewalls: Vec::new(),
                        nacls: Vec::new(),
                        slots: self.run_counters.rules.initial.clone(),
                    })
                });
                f.change(filter_change, &self.run_counters.rules);
                self.filters = Some(f);
            }
        }
    }

    /// A host's security groups on a packet in one direction: packets of
    /// tracked flows pass ("established"), and so do ICMP errors about them
    /// ("related"); a new flow needs a rule, and is tracked once allowed.
    fn sg_filter(
        &mut self,
        node: NodeId,
        host: usize,
        pkt: &Packet,
        ip: &Ip,
        direction: Direction,
    ) -> bool {
        if self.firewall(host).is_none() {
            return true;
        }
        let outbound = direction == Direction::Outbound;
        if let Some(how) = self.sg_untracked(host, direction, ip) {
            // Untracked: every packet is decided by the rules.
            self.count_sg_pass(host, direction, how);
            self.record(node, pkt, Step::SgPass { direction, how });
            return true;
        }
        let key = if outbound {
            FlowKey::outbound(ip)
        } else {
            FlowKey::inbound(ip)
        };
        if self.conntrack[host].refresh(&key, self.now, outbound) {
            self.count_sg_pass(host, direction, SgPass::Established);
            self.record(
                node,
                pkt,
                Step::SgPass {
                    direction,
                    how: SgPass::Established,
                },
            );
            return true;
        }
        if let Some(q) = related(ip) {
            // The quoted datagram went the other way.
            let about = if outbound {
                FlowKey::inbound_quoted(&q)
            } else {
                FlowKey::outbound_quoted(&q)
            };
            if self.conntrack[host].tracks(&about, self.now) {
                self.count_sg_pass(host, direction, SgPass::Related);
                self.record(
                    node,
                    pkt,
                    Step::SgPass {
                        direction,
                        how: SgPass::Related,
                    },
                );
                return true;
            }
        }
        let (verdict, groups_len) = self.sg_verdict(host, direction, ip);
        let how = match verdict {
            SgVerdict::Allowed(rule) => SgPass::Rule(rule),
            SgVerdict::AllowedByDefault => SgPass::OutboundDefault,
            SgVerdict::Denied => {
                let cause = if outbound {
                    DropCause::SgOutbound { groups_len }
                } else {
                    DropCause::SgInbound { groups_len }
                };
                self.drop_packet(node, pkt, cause);
                return false;
            }
        };
        self.touch_host(host);
        self.conntrack[host].insert(key, self.now, outbound);
        self.count_sg_pass(host, direction, how);
        self.record(node, pkt, Step::SgPass { direction, how });
        true
    }

    /// Counts how a host's security groups let a packet pass: the rule
    /// that decided (for a new flow, or any packet of an untracked one),
    /// or connection tracking.
    fn count_sg_pass(&mut self, host: usize, direction: Direction, how: SgPass) {
        // The host's counters are cleared at reset with its flow table.
        self.touch_host(host);
        let d = usize::from(direction == Direction::Outbound);
        match how {
            SgPass::Rule(r) => {
                let slot = match &self.filters {
                    Some(f) => f.slots.sg_slot(r.group, r.direction, r.index),
                    None => self
                        .run_counters
                        .rules
                        .initial
                        .sg_slot(r.group, r.direction, r.index),
                };
                self.run_counters.hit(slot);
            }
            SgPass::OutboundDefault => self.run_counters.sg_tracked[host].default_outbound[d] += 1,
            SgPass::Established => self.run_counters.sg_tracked[host].established[d] += 1,
            SgPass::Related => self.run_counters.sg_tracked[host].related[d] += 1,
        }
    }

    // ----- probes (defined in probe.rs) ----------------------------------

    pub fn add_probe(&mut self, probe: Probe, at: SimTime) -> usize {
        let id = self.probes.len();
        self.probes.push(probe);
        self.schedule(at, Event::ProbeStart { probe: id as u32 });
        id
    }

    pub(crate) fn random_port(&mut self) -> u16 {
        self.rng_app.random_range(49152..=65535)
    }

    pub(crate) fn random_u32(&mut self) -> u32 {
        self.rng_app.random()
    }
}

/// The payload slot of a routing message (see `Sim::store_routing_payload`).
fn routing_payload(p: &Packet) -> Option<usize> {
    let payload = match p.body {
        Body::Ip(Ip {
            l4: L4::Ospf(o), ..
        }) => o.payload,
        Body::Ip(Ip { l4: L4::Udp(u), .. }) if p.is_routing() => u.payload,
        _ => return None,
    };
    (!payload.is_none()).then(|| payload.0 as usize - 1)
}

/// An ICMP error's quoted datagram, if this is one.
fn related(ip: &Ip) -> Option<Quoted> {
    match ip.l4 {
        L4::Icmp(i) => i.quoted(),
        _ => None,
    }
}

fn seg_len(t: &Tcp) -> u32 {
    use tcp_flags::*;
    t.payload_len + u32::from(t.flags & SYN != 0) + u32::from(t.flags & FIN != 0)
}

fn span_of(origin: wirelab_net::RouteOrigin) -> wirelab_spec::Span {
    match origin {
        wirelab_net::RouteOrigin::Static(s) => s,
        _ => wirelab_spec::Span::default(),
    }
}

/// The address an ARP request or neighbour solicitation asks for.
fn solicited(p: &Packet) -> Option<IpAddr> {
    match p.body {
        Body::Arp(Arp {
            op: ArpOp::Request,
            target_ip,
            ..
        }) => Some(IpAddr::V4(target_ip)),
        Body::Ip(Ip {
            l4: L4::Icmp(Icmp::NeighborSolicit { target, .. }),
            ..
        }) => Some(IpAddr::V6(target)),
        _ => None,
    }
}

/// Interface index encoded in a locally administered MAC (see
/// `Mac::for_iface`).
fn iface_of_mac(mac: Mac) -> Option<IfaceId> {
    let b = mac.0;
    if b[0] != 0x02 || b[1] != 0x00 {
        return None;
    }
    let n = u32::from_be_bytes([b[2], b[3], b[4], b[5]]);
    (n as usize).checked_sub(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Pinger;

    fn net(yaml: &str) -> Network {
        Network::compile(
            &wirelab_spec::parse_str("t.yaml", yaml)
                .expect("valid lab")
                .lab,
        )
    }

    #[test]
    fn what_a_reset_must_clear_stays_bounded_in_long_runs() {
        let net = net("lab: t\nnetworks: { a: { cidr: 10.0.0.0/24 } }\nhosts: { c: { network: a }, s: { network: a } }\n");
        let mut sim = Sim::new(&net, 1, TraceLevel::Off);
        let (c, s) = (
            net.lab.hosts[0].ipv4.unwrap(),
            net.lab.hosts[1].ipv4.unwrap(),
        );
        let p = Pinger::new(
            net.host_node(0),
            IpAddr::V4(c),
            IpAddr::V4(s),
            SimTime::from_millis(1),
            5_000,
        );
        sim.add_pinger(p, SimTime::ZERO);
        sim.run_until(SimTime::from_secs(10));
        assert_eq!(sim.pingers()[0].received, 5_000);
        assert!(
            sim.touched_ifaces.len() <= net.ifaces.len(),
            "{} entries",
            sim.touched_ifaces.len()
        );
        assert!(sim.touched_hosts.len() <= net.lab.hosts.len());
        sim.reset(1);
        assert!(
            sim.touched_ifaces.is_empty()
                && sim
                    .ifaces
                    .iter()
                    .all(|s| !s.touched && s.in_flight.is_none())
        );
    }

    /// Two hosts, one on each side of a router link of this framing at
    /// 8 Mbit/s (a byte takes a microsecond); three pings in each family.
    /// The client's own network `a` (it and `r1`) has the same framing.
    fn pings_over_a_link(framing: &str) -> (Network, Vec<CapturedFrame>, [IfaceStats; 2], usize) {
        let net = net(&format!(
            "lab: t\nnetworks:\n  a: {{ cidr: 10.1.0.0/24, ipv6: \"2001:db8:1::/64\", link: {{ framing: {framing} }} }}\n  b: {{ cidr: 10.2.0.0/24, ipv6: \"2001:db8:2::/64\" }}\n\
             links:\n  - {{ between: [r1, r2], cidr: 10.0.12.0/30, ipv6: \"2001:db8:12::/64\", bandwidth: 8Mbps, framing: {framing} }}\n\
             routers:\n  r1:\n    interfaces: {{ a: {{ ip: 10.1.0.1, ipv6: \"2001:db8:1::1\" }} }}\n    routes: [{{ to: 10.2.0.0/24, via: 10.0.12.2 }}, {{ to: \"2001:db8:2::/64\", via: \"2001:db8:12::2\" }}]\n\
             \x20 r2:\n    interfaces: {{ b: {{ ip: 10.2.0.1, ipv6: \"2001:db8:2::1\" }} }}\n    routes: [{{ to: 10.1.0.0/24, via: 10.0.12.1 }}, {{ to: \"2001:db8:1::/64\", via: \"2001:db8:12::1\" }}]\n\
             hosts:\n  c: {{ network: a, ip: 10.1.0.10, ipv6: \"2001:db8:1::10\" }}\n  s: {{ network: b, ip: 10.2.0.10, ipv6: \"2001:db8:2::10\" }}\n"
        ));
        let mut sim = Sim::new(&net, 1, TraceLevel::Off);
        sim.set_capture(true);
        let (c, s) = (&net.lab.hosts[0], &net.lab.hosts[1]);
        for (src, dst) in [
            (IpAddr::V4(c.ipv4.unwrap()), IpAddr::V4(s.ipv4.unwrap())),
            (IpAddr::V6(c.ipv6.unwrap()), IpAddr::V6(s.ipv6.unwrap())),
        ] {
            let p = Pinger::new(net.host_node(0), src, dst, SimTime::from_millis(10), 3);
            sim.add_pinger(p, SimTime::ZERO);
        }
        sim.run_until(SimTime::from_secs(1));
        assert!(sim.pingers().iter().all(|p| p.received == 3));
        let link = 2;
        assert_eq!(net.segments[link].name, "r1-r2");
        let ends = &net.segments[link].ifaces;
        let stats = [sim.iface_stats(ends[0]), sim.iface_stats(ends[1])];
        let neighbours = ends.iter().map(|&i| sim.neighbours(i).count()).sum();
        let captured = sim.captured().to_vec();
        (net, captured, stats, neighbours)
    }

    #[test]
    fn a_ppp_link_counts_two_header_bytes_and_resolves_no_neighbour() {
        for framing in ["ethernet", "ppp"] {
            let (net, frames, stats, neighbours) = pings_over_a_link(framing);
            // Per segment: the frames resolving a neighbour, and the frame
            // size of each echo request or reply (84 bytes of IPv4, 104 of
            // IPv6, plus the link header).
            let seen = |segment: usize| {
                let on: Vec<&Packet> = frames
                    .iter()
                    .filter(|f| f.segment == segment)
                    .map(|f| &f.packet)
                    .collect();
                let resolving = on
                    .iter()
                    .filter(|p| match p.body {
                        Body::Arp(_) => true,
                        Body::Ip(ip) => matches!(ip.l4, L4::Icmp(i) if i.is_neighbor_discovery()),
                    })
                    .count();
                let sizes: Vec<u32> = on
                    .iter()
                    .filter(|p| matches!(p.ip().map(|ip| ip.l4), Some(L4::Icmp(i)) if !i.is_neighbor_discovery()))
                    .map(|p| p.frame_len(net.segments[segment].link.framing))
                    .collect();
                (on, resolving, sizes)
            };
            let (on_link, resolving, sizes) = seen(2);
            // The host's access network: the same framing, the same sizes.
            let (_, access_resolving, access_sizes) = seen(0);
            assert_eq!(
                access_resolving,
                if framing == "ppp" { 0 } else { 4 },
                "{framing}"
            );
            let (v4, v6) = if framing == "ppp" {
                assert_eq!((resolving, neighbours), (0, 0), "no ARP, no ND on PPP");
                (86, 106)
            } else {
                assert_eq!((resolving, neighbours), (4, 4), "ARP and ND on Ethernet");
                (98, 118)
            };
            assert_eq!(
                sizes,
                [v4, v6, v4, v6, v4, v6, v4, v6, v4, v6, v4, v6],
                "{framing}"
            );
            assert_eq!(access_sizes, sizes, "{framing}: the access network");
            let link_bytes: u64 = on_link
                .iter()
                .map(|p| u64::from(p.frame_len(net.segments[2].link.framing)))
                .sum();
            assert_eq!(stats[0].bytes + stats[1].bytes, link_bytes, "{framing}");
            assert_eq!(
                stats[0].rx_bytes + stats[1].rx_bytes,
                link_bytes,
                "{framing}"
            );
            // 8 Mbit/s: a microsecond per byte.
            for s in stats {
                assert_eq!(s.busy_ns, s.bytes * 1_000, "{framing}");
            }
        }
    }

    #[test]
    fn a_raised_stop_flag_ends_the_run_and_says_so() {
        let net = net("lab: t\nnetworks: { a: { cidr: 10.0.0.0/24 } }\nhosts: { c: { network: a }, s: { network: a } }\n");
        let ping = |sim: &mut Sim| {
            let (c, s) = (
                net.lab.hosts[0].ipv4.unwrap(),
                net.lab.hosts[1].ipv4.unwrap(),
            );
            let p = Pinger::new(
                net.host_node(0),
                IpAddr::V4(c),
                IpAddr::V4(s),
                SimTime::from_millis(1),
                5_000,
            );
            sim.add_pinger(p, SimTime::ZERO);
        };
        let stop = crate::stop::StopFlag::new();
        let mut sim = Sim::new(&net, 1, TraceLevel::Off);
        sim.set_stop(stop.clone());
        ping(&mut sim);
        // Not raised: the run is the same as without a flag.
        assert!(sim.run_until(SimTime::from_secs(10)));
        assert_eq!(sim.pingers()[0].received, 5_000);
        assert!(!sim.stopped());
        sim.reset(1);
        ping(&mut sim);
        stop.raise();
        assert!(!sim.run_until(SimTime::from_secs(10)));
        assert!(sim.stopped() && !sim.event_limit_hit());
        assert_eq!(sim.counters.events, 0, "stopped before the first event");
    }
}
