//! Dynamic routing in the engine: the routers that run `ospf:` or `rip:`
//! drive the protocol cores of [`crate::routing`] with real packets.
//!
//! - OSPF travels as IP protocol 89 and RIP as UDP port 520, to their
//!   multicast groups (224.0.0.5, 224.0.0.9) with TTL 1, or to one
//!   neighbour's address; the bytes are the protocols' own (see
//!   [`crate::routing::wire`]) and the receiving router acts on what it
//!   decodes. They cross links like any frame: serialization, delay, loss,
//!   queues and `link_down` all apply. NACLs do not filter them (link-local
//!   control traffic, as AWS NACLs do not filter it either).
//! - Each router's table is rebuilt whenever a protocol's routes change:
//!   connected routes, static routes and every protocol's routes, the
//!   lowest administrative distance winning per prefix (connected 0,
//!   static 1 unless `distance:` says otherwise, OSPF 110, RIP 120).
//!   Equal-cost OSPF paths are all listed; forwarding takes the first.
//! - A link that goes down is a carrier loss for the routers on it: their
//!   protocols drop the interface at once. A router that goes down stops
//!   forwarding and speaking; its neighbours notice when their dead or
//!   timeout interval runs out, as across a switch. When it comes back it
//!   starts its protocols from scratch.
//! - Every change of a table and every message is counted, so a run can
//!   report how long routing took to converge after each topology change.

use std::net::IpAddr;

use ipnet::IpNet;
use wirelab_net::{IfaceId, NextHop, NodeId, Route, RouteOrigin, RouteTable};
use wirelab_spec::{Lab, SplitHorizon};

use crate::engine::{Event, Sim};
use crate::packet::{Body, Ip, Ospf, Packet, Udp, L4};
use crate::routing::{distance_vector as dv, link_state as ls, wire, IfaceConfig};
use crate::time::SimTime;
use crate::trace::DropCause;

#[derive(Clone, Copy)]
enum Kind {
    Ospf,
    Rip,
}

enum Proto {
    Ospf {
        core: Box<ls::LinkState>,
        hello: wire::HelloParams,
        spf_runs: u64,
    },
    Rip {
        core: Box<dv::DistanceVector>,
    },
}

/// One protocol running on one router.
struct Speaker {
    node: NodeId,
    /// The lab's router.
    router: usize,
    /// Packets sent and their bytes on the wire.
    sent: (u64, u64),
    proto: Proto,
    /// Protocol interface `k` is the engine's `ifaces[k]`.
    ifaces: Vec<IfaceId>,
    passive: Vec<bool>,
    distance: u8,
    /// When its timer event is due, if one is scheduled.
    scheduled: Option<SimTime>,
    /// Its routes as last installed.
    installed: Vec<Route>,
    /// Of those, the ones with several equal-cost next hops: all of them.
    multipath: Vec<(IpNet, Vec<FirstHop>)>,
    /// Stopped by a `router_down` event.
    off: bool,
}

/// An equal-cost next hop: the interface and the neighbour's address.
pub type FirstHop = (IfaceId, IpAddr);

/// One change of a router's table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TableChange {
    pub at: SimTime,
    pub node: NodeId,
    /// Messages sent by every router up to and including this change.
    pub messages_before: u64,
}

/// What dynamic routing did in a run.
#[derive(Clone, Debug, Default)]
pub struct RoutingLog {
    pub changes: Vec<TableChange>,
    /// Routing messages (packets) sent, and their bytes on the wire.
    pub messages: u64,
    pub bytes: u64,
    /// Topology changes (link or router down or up): when, and the
    /// messages sent by then.
    pub topology: Vec<(SimTime, u64)>,
}

/// How routing converged after one topology change (or the start).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Convergence {
    /// The lab event (index into `events:`), `None` for the start.
    pub event: Option<usize>,
    pub at_ns: u64,
    /// From the change to the last table change it caused, before the
    /// next topology change; `None` when no table changed.
    pub converged_ns: Option<u64>,
    /// Table changes, and the routers whose table changed.
    pub table_changes: u32,
    pub routers: Vec<NodeId>,
    /// Routing messages sent from the change to the last table change.
    pub messages: u64,
    /// Whether tables then stayed unchanged for the settle time (before
    /// the next topology change or the end of the run).
    pub settled: bool,
}

/// Each convergence of a run that reached `end`: the start, then every
/// topology event of the lab that happened by then.
pub fn convergences(
    lab: &Lab,
    log: &RoutingLog,
    settle: SimTime,
    end: SimTime,
) -> Vec<Convergence> {
    let mut starts: Vec<(Option<usize>, SimTime, u64)> = vec![(None, SimTime::ZERO, 0)];
    let mut topo = log.topology.iter();
    for (i, e) in lab.events.iter().enumerate() {
        if !is_topology(&e.action) {
            continue;
        }
        let Some(&(at, messages)) = topo.next() else {
            break;
        };
        starts.push((Some(i), at, messages));
    }
    let mut out = Vec::new();
    for (k, &(event, at, messages_at)) in starts.iter().enumerate() {
        let next = starts.get(k + 1).map_or(end, |s| s.1);
        let window: Vec<&TableChange> = log
            .changes
            .iter()
            .filter(|c| c.at >= at && (c.at < next || (k + 1 == starts.len() && c.at <= next)))
            .collect();
        let last = window.last();
        let mut routers: Vec<NodeId> = window.iter().map(|c| c.node).collect();
        routers.sort_unstable();
        routers.dedup();
        let quiet_from = last.map_or(at, |c| c.at);
        out.push(Convergence {
            event,
            at_ns: at.as_nanos(),
            converged_ns: last.map(|c| (c.at - at).as_nanos()),
            table_changes: window.len() as u32,
            routers,
            messages: last.map_or(0, |c| c.messages_before.saturating_sub(messages_at)),
            settled: quiet_from + settle <= next,
        });
    }
    out
}

/// Whether a lab event changes the topology routing sees.
pub fn is_topology(action: &wirelab_spec::EventAction) -> bool {
    use wirelab_spec::EventAction as A;
    matches!(
        action,
        A::LinkDown(_) | A::LinkUp(_) | A::RouterDown(_) | A::RouterUp(_)
    )
}

#[derive(Default)]
pub struct RoutingApps {
    speakers: Vec<Speaker>,
    /// Per node: the speakers running there.
    by_node: Vec<Vec<u32>>,
    /// Per node: its table when a protocol runs there.
    tables: Vec<Option<RouteTable>>,
    /// Per node: the prefixes of its table with several equal-cost next
    /// hops (OSPF), sorted by prefix.
    multipath: Vec<Vec<(IpNet, Vec<FirstHop>)>>,
    /// Per node: switched off by a `router_down` event.
    down: Vec<bool>,
    pub log: RoutingLog,
    /// The longest quiet time after which a protocol's tables no longer
    /// change without news: OSPF's dead interval, RIP's update interval
    /// plus its triggered delay.
    settle: SimTime,
}

/// The network as the analysis should see it: with dynamic routing, every
/// router's table once routing has settled from the start (without the
/// lab's events), in place of the lab's static tables; `None` without
/// dynamic routing (the compiled network is already right).
pub fn settled_network(net: &wirelab_net::Network) -> Option<wirelab_net::Network> {
    if !lab_has_dynamic_routing(&net.lab) {
        return None;
    }
    let mut sim = Sim::new(net, net.lab.seed, crate::trace::TraceLevel::Off);
    sim.reset_to(net.lab.seed, None);
    let mut settled = net.clone();
    for (n, node) in settled.nodes.iter_mut().enumerate() {
        node.routes = RouteTable::new(sim.routes_now(n).to_vec());
    }
    Some(settled)
}

/// How long a check waits at most for routing to settle.
pub const SETTLE_LIMIT: SimTime = SimTime::from_secs(3600);

/// Whether any router of the lab runs a dynamic routing protocol.
pub fn lab_has_dynamic_routing(lab: &Lab) -> bool {
    lab.routers
        .iter()
        .any(|r| r.ospf.is_some() || r.rip.is_some())
}

fn iface_configs(sim: &Sim<'_>, ifaces: &[IfaceId], costs: &[u32]) -> Vec<IfaceConfig> {
    ifaces
        .iter()
        .zip(costs)
        .map(|(&i, &cost)| {
            let iface = &sim.net.ifaces[i];
            let seg = &sim.net.segments[iface.segment];
            let prefixes = seg.ipv4.map(IpNet::V4).into_iter().collect();
            IfaceConfig { cost, prefixes }
        })
        .collect()
}

fn secs_rounded_up(ns: u64) -> u64 {
    ns.div_ceil(1_000_000_000).max(1)
}

impl Sim<'_> {
    /// Starts the lab's routing protocols at the present time (called by
    /// `reset`): every speaker fresh, its first timer scheduled now.
    pub(crate) fn routing_start(&mut self) {
        let net = self.net;
        let mut apps = std::mem::take(&mut self.routing);
        apps.speakers.clear();
        apps.log = RoutingLog::default();
        apps.settle = SimTime::ZERO;
        if !lab_has_dynamic_routing(&net.lab) {
            apps.by_node.clear();
            apps.tables.clear();
            apps.down.clear();
            self.routing = apps;
            return;
        }
        apps.by_node = vec![Vec::new(); net.nodes.len()];
        apps.tables = vec![None; net.nodes.len()];
        apps.multipath = vec![Vec::new(); net.nodes.len()];
        apps.down = vec![false; net.nodes.len()];
        for (r, router) in net.lab.routers.iter().enumerate() {
            let node = net.router_node(r);
            let pos_iface = |p: usize| net.nodes[node].ifaces[p];
            let kinds = [
                router.ospf.as_ref().map(|o| (Kind::Ospf, &o.on)),
                router.rip.as_ref().map(|rip| (Kind::Rip, &rip.on)),
            ];
            for (kind, on) in kinds.into_iter().flatten() {
                let ifaces: Vec<IfaceId> = on.interfaces.iter().map(|&p| pos_iface(p)).collect();
                let (proto, settle) = self.new_proto(r, kind, &ifaces, self.now);
                apps.settle = apps.settle.max(settle);
                apps.by_node[node].push(apps.speakers.len() as u32);
                apps.speakers.push(Speaker {
                    node,
                    router: r,
                    sent: (0, 0),
                    proto,
                    passive: on
                        .interfaces
                        .iter()
                        .map(|p| on.passive.contains(p))
                        .collect(),
                    ifaces,
                    distance: on.distance,
                    scheduled: None,
                    installed: Vec::new(),
                    multipath: Vec::new(),
                    off: false,
                });
            }
        }
        self.routing = apps;
        for s in 0..self.routing.speakers.len() {
            self.routing_reschedule(s);
        }
    }

    /// A protocol instance of the lab's router `r`, fresh at `now`, on
    /// `ifaces`; and how long its tables must stay unchanged to count as
    /// settled (OSPF's dead interval; RIP's update interval plus two
    /// triggered delays).
    fn new_proto(
        &self,
        r: usize,
        kind: Kind,
        ifaces: &[IfaceId],
        now: SimTime,
    ) -> (Proto, SimTime) {
        let router = &self.net.lab.routers[r];
        match kind {
            Kind::Ospf => {
                let o = router.ospf.as_ref().expect("an OSPF speaker has ospf:");
                let timers = ls::Timers {
                    hello: SimTime(o.hello_ns),
                    dead: SimTime(o.dead_ns),
                    ..ls::Timers::default()
                };
                let core = ls::LinkState::new(
                    u32::from(o.router_id),
                    timers,
                    iface_configs(self, ifaces, &o.costs),
                    now,
                );
                let hello = wire::HelloParams {
                    mask: std::net::Ipv4Addr::UNSPECIFIED,
                    hello_s: secs_rounded_up(o.hello_ns).min(u64::from(u16::MAX)) as u16,
                    dead_s: secs_rounded_up(o.dead_ns).min(u64::from(u32::MAX)) as u32,
                };
                let proto = Proto::Ospf {
                    core: Box::new(core),
                    hello,
                    spf_runs: 0,
                };
                (proto, SimTime(o.dead_ns))
            }
            Kind::Rip => {
                let rip = router.rip.as_ref().expect("a RIP speaker has rip:");
                let timers = dv::Timers {
                    update: SimTime(rip.update_ns),
                    timeout: SimTime(rip.timeout_ns),
                    garbage: SimTime(rip.garbage_ns),
                    ..dv::Timers::default()
                };
                let horizon = match rip.split_horizon {
                    SplitHorizon::Off => dv::SplitHorizon::Off,
                    SplitHorizon::Simple => dv::SplitHorizon::Simple,
                    SplitHorizon::PoisonedReverse => dv::SplitHorizon::PoisonedReverse,
                };
                let costs = vec![1; ifaces.len()];
                // Routers do not start in step: each begins (and keeps its
                // update clock) at its own offset, up to a fifth of the
                // update interval, drawn from the lab's seed. In step, every
                // update would cross its neighbour's on the wire (RFC 2453
                // §3.8 asks for such offsets for the same reason).
                let offset = start_offset(self.net.lab.seed, r, rip.update_ns / 5);
                let core = dv::DistanceVector::new(
                    timers,
                    horizon,
                    iface_configs(self, ifaces, &costs),
                    now + SimTime(offset),
                );
                let settle = SimTime(rip.update_ns) + timers.triggered + timers.triggered;
                (
                    Proto::Rip {
                        core: Box::new(core),
                    },
                    settle,
                )
            }
        }
    }

    /// The table a node routes by now: its protocols' when it runs any,
    /// else the lab's.
    pub(crate) fn table_of(&self, node: NodeId) -> &RouteTable {
        match self.routing.tables.get(node) {
            Some(Some(t)) => t,
            _ => &self.net.nodes[node].routes,
        }
    }

    /// The equal-cost next hops of a node's route to `prefix`, when it has
    /// several (empty otherwise).
    pub fn multipath_now(&self, node: NodeId, prefix: IpNet) -> &[FirstHop] {
        self.routing
            .multipath
            .get(node)
            .and_then(|m| {
                m.binary_search_by_key(&prefix, |e| e.0)
                    .ok()
                    .map(|i| &m[i].1[..])
            })
            .unwrap_or(&[])
    }

    /// The routes a node uses now (see [`Sim::table_of`]).
    pub fn routes_now(&self, node: NodeId) -> &[Route] {
        self.table_of(node).routes()
    }

    /// Whether a router is switched off by a `router_down` event.
    pub fn node_down(&self, node: NodeId) -> bool {
        self.routing.down.get(node).copied().unwrap_or(false)
    }

    /// Per protocol instance, in router then protocol order: what it sent,
    /// and its router's table changes.
    pub(crate) fn routing_counters(&self) -> Vec<crate::counters::RoutingCounters> {
        self.routing
            .speakers
            .iter()
            .map(|sp| crate::counters::RoutingCounters {
                router: sp.router,
                protocol: match sp.proto {
                    Proto::Ospf { .. } => "ospf",
                    Proto::Rip { .. } => "rip",
                },
                messages: sp.sent.0,
                bytes: sp.sent.1,
                table_changes: self
                    .routing
                    .log
                    .changes
                    .iter()
                    .filter(|c| c.node == sp.node)
                    .count() as u64,
            })
            .collect()
    }

    /// What dynamic routing did so far.
    pub fn routing_log(&self) -> &RoutingLog {
        &self.routing.log
    }

    /// How long tables must stay unchanged before routing counts as
    /// settled (zero without dynamic routing).
    pub fn routing_settle_time(&self) -> SimTime {
        self.routing.settle
    }

    /// The OSPF neighbours of a router that are full now: (interface,
    /// router ID, address).
    pub fn ospf_adjacencies(&self, node: NodeId) -> Vec<(IfaceId, u32, IpAddr)> {
        let mut out = Vec::new();
        for &s in self.routing.by_node.get(node).map_or(&[][..], |v| v) {
            let sp = &self.routing.speakers[s as usize];
            if let Proto::Ospf { core, .. } = &sp.proto {
                for (k, id, addr) in core.adjacencies() {
                    out.push((sp.ifaces[k], id, addr));
                }
            }
        }
        out
    }

    /// The lab's `events:` scheduled at their times (before a run).
    pub fn schedule_lab_events(&mut self) {
        for (i, e) in self.net.lab.events.iter().enumerate() {
            self.schedule(SimTime(e.at_ns), Event::LabChange { index: i as u32 });
        }
    }

    /// Runs events up to `t`, and the clock to `t`.
    pub fn run_to(&mut self, t: SimTime) -> bool {
        let ok = self.run_until(t);
        if ok {
            self.now = self.now.max(t);
        }
        ok
    }

    /// A fresh state at the time a check starts: with `at`, the lab's
    /// events and protocols run from time zero to `at`; without it, a lab
    /// with dynamic routing runs (without its events) until routing has
    /// settled, and any other lab stays at time zero. The trace of what
    /// led there is cleared, so that it shows the check alone.
    pub fn reset_to(&mut self, seed: u64, at: Option<SimTime>) {
        self.reset(seed);
        match at {
            Some(t) => {
                self.schedule_lab_events();
                self.run_to(t);
            }
            None if !self.routing.speakers.is_empty() => {
                self.run_until_routing_settles(SETTLE_LIMIT);
            }
            None => return,
        }
        self.trace.clear();
    }

    /// Runs until no router's table has changed for the settle time
    /// (see [`Sim::routing_settle_time`]), or `limit`. Returns the time of
    /// the last change (zero if none).
    pub fn run_until_routing_settles(&mut self, limit: SimTime) -> SimTime {
        let settle = self.routing.settle;
        loop {
            let last = self
                .routing
                .log
                .changes
                .last()
                .map_or(SimTime::ZERO, |c| c.at);
            let target = (last + settle).max(self.now).min(limit);
            if !self.run_until(target) || self.stopped() {
                return last;
            }
            self.now = self.now.max(target);
            let after = self
                .routing
                .log
                .changes
                .last()
                .map_or(SimTime::ZERO, |c| c.at);
            if after == last || target >= limit {
                return after;
            }
        }
    }

    fn routing_reschedule(&mut self, s: usize) {
        let sp = &self.routing.speakers[s];
        if sp.off {
            return;
        }
        let due = match &sp.proto {
            Proto::Ospf { core, .. } => core.poll_at(),
            Proto::Rip { core } => core.poll_at(),
        };
        let Some(due) = due else { return };
        let due = due.max(self.now);
        if sp.scheduled.is_some_and(|t| t <= due) {
            // An earlier timer event will come and reschedule.
            return;
        }
        self.routing.speakers[s].scheduled = Some(due);
        self.schedule(due, Event::RoutingTimer { speaker: s as u32 });
    }

    /// A speaker's timer event.
    pub(crate) fn routing_timer(&mut self, s: usize) {
        let Some(sp) = self.routing.speakers.get_mut(s) else {
            return;
        };
        if sp.scheduled != Some(self.now) {
            // Superseded by an earlier one, which rescheduled.
            return;
        }
        sp.scheduled = None;
        if sp.off {
            return;
        }
        let now = self.now;
        match &mut sp.proto {
            Proto::Ospf { core, .. } => {
                let out = core.poll(now);
                self.ospf_send(s, out);
            }
            Proto::Rip { core } => {
                let out = core.poll(now);
                self.rip_send(s, out);
            }
        }
        self.routing_after(s);
    }

    /// After a speaker acted: install changed routes, schedule its timer.
    fn routing_after(&mut self, s: usize) {
        let changed = {
            let sp = &mut self.routing.speakers[s];
            let fresh = match &mut sp.proto {
                Proto::Ospf { core, spf_runs, .. } => {
                    if core.spf_runs == *spf_runs && !sp.installed.is_empty() {
                        None
                    } else {
                        *spf_runs = core.spf_runs;
                        Some(ospf_routes(core.routes(), &sp.ifaces))
                    }
                }
                Proto::Rip { core } => Some((rip_routes(&core.routes(), &sp.ifaces), Vec::new())),
            };
            match fresh {
                Some((routes, multipath))
                    if routes != sp.installed || multipath != sp.multipath =>
                {
                    sp.installed = routes;
                    sp.multipath = multipath;
                    true
                }
                _ => false,
            }
        };
        if changed {
            let node = self.routing.speakers[s].node;
            self.rebuild_table(node);
        }
        self.routing_reschedule(s);
    }

    /// A router's table from its connected and static routes and its
    /// protocols' routes, the lowest distance winning per prefix.
    fn rebuild_table(&mut self, node: NodeId) {
        let net = self.net;
        let router = match net.nodes[node].kind {
            wirelab_net::NodeKind::Router(r) => Some(r),
            wirelab_net::NodeKind::Host(_) => None,
        };
        // (distance, class order, route)
        let mut all: Vec<(u8, usize, Route)> = Vec::new();
        for r in net.nodes[node].routes.routes() {
            let distance = match r.origin {
                RouteOrigin::Connected => 0,
                RouteOrigin::Static(span) => router
                    .and_then(|id| net.lab.routers[id].routes.iter().find(|s| s.span == span))
                    .map_or(1, |s| s.distance),
                _ => 1,
            };
            all.push((distance, all.len(), r.clone()));
        }
        // Learned routes, without the next hops on links that are down
        // now (as the kernel drops a route whose device lost its carrier,
        // before the protocol has run again); several equal-cost next
        // hops kept aside.
        let up = |iface: IfaceId| !self.links[net.ifaces[iface].segment].down;
        let mut hops_of: Vec<(IpNet, Vec<FirstHop>)> = Vec::new();
        if !self.routing.down[node] {
            for &s in &self.routing.by_node[node] {
                let sp = &self.routing.speakers[s as usize];
                if sp.off {
                    continue;
                }
                for r in &sp.installed {
                    let mut r = r.clone();
                    match sp.multipath.binary_search_by_key(&r.prefix, |m| m.0) {
                        Ok(i) => {
                            let hops: Vec<FirstHop> = sp.multipath[i]
                                .1
                                .iter()
                                .copied()
                                .filter(|h| up(h.0))
                                .collect();
                            let Some(&(iface, gw)) = hops.first() else {
                                continue;
                            };
                            (r.iface, r.next_hop) = (Some(iface), NextHop::Gateway(gw));
                            if hops.len() > 1 {
                                hops_of.push((r.prefix, hops));
                            }
                        }
                        Err(_) if r.iface.is_some_and(|i| !up(i)) => continue,
                        Err(_) => {}
                    }
                    all.push((sp.distance, all.len(), r));
                }
            }
        }
        // The best route per prefix, then in the order given.
        all.sort_by_key(|a| (a.2.prefix, a.0, a.1));
        all.dedup_by(|later, first| later.2.prefix == first.2.prefix);
        all.sort_by_key(|a| a.1);
        let routes: Vec<Route> = all.into_iter().map(|(_, _, r)| r).collect();
        // Several next hops for a winning OSPF route.
        let mut multipath: Vec<(IpNet, Vec<FirstHop>)> = hops_of
            .into_iter()
            .filter(|(p, _)| {
                routes
                    .iter()
                    .any(|r| r.prefix == *p && matches!(r.origin, RouteOrigin::Ospf { .. }))
            })
            .collect();
        multipath.sort_by_key(|m| m.0);
        let changed = self.routing.tables[node]
            .as_ref()
            .is_none_or(|t| t.routes() != routes.as_slice())
            || multipath != self.routing.multipath[node];
        self.routing.multipath[node] = multipath;
        if changed {
            self.routing.tables[node] = Some(RouteTable::new(routes));
            let messages_before = self.routing.log.messages;
            self.routing.log.changes.push(TableChange {
                at: self.now,
                node,
                messages_before,
            });
        }
    }

    fn ospf_send(&mut self, s: usize, out: Vec<ls::Output>) {
        for o in out {
            let sp = &self.routing.speakers[s];
            if sp.passive[o.iface] {
                continue;
            }
            let iface = sp.ifaces[o.iface];
            let Proto::Ospf { core, hello, .. } = &sp.proto else {
                return;
            };
            let router_id = core.id();
            let mut params = *hello;
            let seg = &self.net.segments[self.net.ifaces[iface].segment];
            if let Some(net4) = seg.ipv4 {
                params.mask = net4.netmask();
            }
            let mtu = self.links[self.net.ifaces[iface].segment].mtu;
            for message in wire::split_ospf(o.message, mtu) {
                let kind = wire::ospf_kind(&message);
                let bytes = wire::encode_ospf(router_id, Some(params), &message);
                let len = bytes.len() as u32;
                let payload = self.store_routing_payload(bytes);
                let l4 = L4::Ospf(Ospf { kind, len, payload });
                self.routing_emit(s, iface, o.to, wire::ALL_SPF_ROUTERS, l4);
            }
        }
    }

    fn rip_send(&mut self, s: usize, out: Vec<dv::Output>) {
        for o in out {
            let sp = &self.routing.speakers[s];
            if sp.passive[o.iface] {
                continue;
            }
            let iface = sp.ifaces[o.iface];
            for bytes in wire::encode_rip(&o.message) {
                let len = bytes.len() as u32;
                let payload = self.store_routing_payload(bytes);
                let l4 = L4::Udp(Udp {
                    src_port: wire::RIP_PORT,
                    dst_port: wire::RIP_PORT,
                    payload_len: len,
                    payload,
                });
                self.routing_emit(s, iface, o.to, wire::RIP_ROUTERS, l4);
            }
        }
    }

    /// Puts one routing packet on a link: to the group (multicast, no
    /// address resolution) or to one neighbour.
    fn routing_emit(
        &mut self,
        s: usize,
        iface: IfaceId,
        to: Option<IpAddr>,
        group: std::net::Ipv4Addr,
        l4: L4,
    ) {
        let node = self.routing.speakers[s].node;
        let Some(src) = self.net.ifaces[iface].ipv4 else {
            match l4 {
                L4::Ospf(o) => self.release_payload(o.payload),
                L4::Udp(u) => self.release_payload(u.payload),
                _ => {}
            }
            return;
        };
        let dst = wire::destination(to, group);
        let id = self.new_packet_id();
        let mut pkt = Packet {
            src_mac: self.net.ifaces[iface].mac,
            dst_mac: wirelab_net::Mac([0; 6]),
            body: Body::Ip(Ip {
                src: IpAddr::V4(src),
                dst,
                ttl: 1,
                l4,
            }),
            tag: 0,
            id,
        };
        // Bytes of the frame as this link frames it (Ethernet or PPP).
        let bytes = u64::from(pkt.frame_len(self.links[self.net.ifaces[iface].segment].framing));
        self.routing.log.messages += 1;
        self.routing.log.bytes += bytes;
        let sent = &mut self.routing.speakers[s].sent;
        sent.0 += 1;
        sent.1 += bytes;
        match to {
            Some(next_hop) => self.output(node, iface, next_hop, pkt),
            None => {
                let o = group.octets();
                pkt.dst_mac = wirelab_net::Mac([0x01, 0x00, 0x5e, o[1] & 0x7f, o[2], o[3]]);
                self.put_on_wire(node, iface, pkt);
            }
        }
    }

    /// Whether a datagram that reached a router is a routing message for
    /// one of its protocols; if so it is handled (or dropped) here.
    pub(crate) fn routing_input(&mut self, node: NodeId, iface: IfaceId, ip: &Ip) -> bool {
        let is_ospf = matches!(ip.l4, L4::Ospf(_));
        let is_rip = matches!(ip.l4, L4::Udp(u) if u.dst_port == wire::RIP_PORT);
        if !is_ospf && !is_rip {
            return false;
        }
        let Some(speakers) = self.routing.by_node.get(node) else {
            return false;
        };
        let to_group =
            ip.dst == IpAddr::V4(wire::ALL_SPF_ROUTERS) || ip.dst == IpAddr::V4(wire::RIP_ROUTERS);
        let found = speakers.iter().copied().find_map(|s| {
            let sp = &self.routing.speakers[s as usize];
            let matches = match sp.proto {
                Proto::Ospf { .. } => is_ospf,
                Proto::Rip { .. } => is_rip,
            };
            let k = sp.ifaces.iter().position(|&i| i == iface)?;
            (matches && !sp.passive[k] && !sp.off).then_some((s as usize, k))
        });
        let Some((s, k)) = found else {
            // Not a protocol of this router here: a group message is
            // ignored, a unicast one is for the router itself and goes on.
            return to_group || is_ospf;
        };
        let now = self.now;
        match ip.l4 {
            L4::Ospf(o) => {
                let Some(bytes) = self.payload(o.payload).cloned() else {
                    return true;
                };
                let Some(packet) = wire::decode_ospf(&bytes) else {
                    return true;
                };
                let sp = &mut self.routing.speakers[s];
                let Proto::Ospf { core, hello, .. } = &mut sp.proto else {
                    return true;
                };
                if let Some(h) = packet.hello {
                    // RFC 2328 §10.5: hello and dead intervals must match,
                    // or no adjacency forms.
                    if h.hello_s != hello.hello_s || h.dead_s != hello.dead_s {
                        return true;
                    }
                }
                let out = core.receive(now, k, ip.src, packet.message);
                self.ospf_send(s, out);
            }
            L4::Udp(u) => {
                let Some(bytes) = self.payload(u.payload).cloned() else {
                    return true;
                };
                let Some(message) = wire::decode_rip(&bytes) else {
                    return true;
                };
                let sp = &mut self.routing.speakers[s];
                let Proto::Rip { core } = &mut sp.proto else {
                    return true;
                };
                let out = core.receive(now, k, ip.src, message);
                self.rip_send(s, out);
            }
            _ => return false,
        }
        self.routing_after(s);
        true
    }

    /// A segment goes down or comes back: a carrier change for every
    /// protocol interface on it.
    pub(crate) fn routing_link(&mut self, segment: usize, up: bool) {
        let messages = self.routing.log.messages;
        self.routing.log.topology.push((self.now, messages));
        if self.routing.speakers.is_empty() {
            return;
        }
        let now = self.now;
        for s in 0..self.routing.speakers.len() {
            let sp = &mut self.routing.speakers[s];
            if sp.off {
                continue;
            }
            let ks: Vec<usize> = (0..sp.ifaces.len())
                .filter(|&k| self.net.ifaces[sp.ifaces[k]].segment == segment)
                .collect();
            if ks.is_empty() {
                continue;
            }
            for k in ks {
                match &mut self.routing.speakers[s].proto {
                    Proto::Ospf { core, .. } => {
                        let out = core.set_iface_up(now, k, up);
                        self.ospf_send(s, out);
                    }
                    Proto::Rip { core } => {
                        let out = core.set_iface_up(now, k, up);
                        self.rip_send(s, out);
                    }
                }
            }
            self.routing_after(s);
            // Next hops over the link that went down leave the table now.
            let node = self.routing.speakers[s].node;
            self.rebuild_table(node);
        }
    }

    /// A router stops or starts again (`router_down`, `router_up`).
    pub(crate) fn routing_router(&mut self, router: usize, up: bool) {
        let node = self.net.router_node(router);
        if self.routing.down.is_empty() {
            // No dynamic routing in the lab: only forwarding stops.
            self.routing.down = vec![false; self.net.nodes.len()];
            self.routing.by_node = vec![Vec::new(); self.net.nodes.len()];
            self.routing.tables = vec![None; self.net.nodes.len()];
        }
        let messages = self.routing.log.messages;
        self.routing.log.topology.push((self.now, messages));
        if self.routing.down[node] != up {
            return;
        }
        self.routing.down[node] = !up;
        let speakers = self.routing.by_node[node].clone();
        if up {
            // A fresh start: the protocols begin again with nothing learned.
            for s in speakers {
                let s = s as usize;
                let now = self.now;
                let ifaces = self.routing.speakers[s].ifaces.clone();
                let kind = match self.routing.speakers[s].proto {
                    Proto::Ospf { .. } => Kind::Ospf,
                    Proto::Rip { .. } => Kind::Rip,
                };
                let (proto, _) = self.new_proto(router, kind, &ifaces, now);
                let sp = &mut self.routing.speakers[s];
                sp.proto = proto;
                sp.off = false;
                sp.installed.clear();
                sp.multipath.clear();
                sp.scheduled = None;
                // Interfaces on segments that are down stay down.
                let down_ks: Vec<usize> = (0..sp.ifaces.len())
                    .filter(|&k| self.links[self.net.ifaces[sp.ifaces[k]].segment].down)
                    .collect();
                for k in down_ks {
                    match &mut self.routing.speakers[s].proto {
                        Proto::Ospf { core, .. } => {
                            core.set_iface_up(now, k, false);
                        }
                        Proto::Rip { core } => {
                            core.set_iface_up(now, k, false);
                        }
                    }
                }
                self.routing_reschedule(s);
            }
        } else {
            for s in speakers {
                let sp = &mut self.routing.speakers[s as usize];
                sp.off = true;
                sp.installed.clear();
                sp.multipath.clear();
                sp.scheduled = None;
            }
        }
        if self.routing.by_node[node].is_empty() {
            return;
        }
        self.rebuild_table(node);
    }

    /// Drops a frame that reached a router that is down.
    pub(crate) fn drop_at_down_router(&mut self, node: NodeId, pkt: &Packet) -> bool {
        if !self.node_down(node) {
            return false;
        }
        self.drop_packet(node, pkt, DropCause::RouterDown);
        true
    }
}

/// A router's start offset in `0..span` nanoseconds, from the seed.
fn start_offset(seed: u64, router: usize, span: u64) -> u64 {
    if span == 0 {
        return 0;
    }
    // SplitMix64 of the pair: no draw from the simulation's streams.
    let mut z = seed ^ (router as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    (z ^ (z >> 31)) % span
}

/// OSPF routes as table entries (with the first of the equal-cost next
/// hops, which are sorted; none for the router's own prefixes), and every
/// next hop of the routes that have several, sorted by prefix.
fn ospf_routes(
    routes: &[ls::Route],
    ifaces: &[IfaceId],
) -> (Vec<Route>, Vec<(IpNet, Vec<FirstHop>)>) {
    let mut multipath = Vec::new();
    let table = routes
        .iter()
        .filter_map(|r| {
            let &(k, gw) = r.next_hops.first()?;
            if r.next_hops.len() > 1 {
                let hops = r.next_hops.iter().map(|&(k, gw)| (ifaces[k], gw)).collect();
                multipath.push((r.prefix, hops));
            }
            Some(Route {
                prefix: r.prefix,
                iface: Some(ifaces[k]),
                next_hop: NextHop::Gateway(gw),
                origin: RouteOrigin::Ospf { metric: r.metric },
            })
        })
        .collect();
    multipath.sort_by_key(|m: &(IpNet, Vec<FirstHop>)| m.0);
    (table, multipath)
}

/// Which of `n` equal-cost next hops a datagram takes: a hash of its
/// addresses, protocol and ports (ICMP echo: the identifier), as Linux's
/// layer-4 multipath hash does, so that one flow keeps one path.
pub fn multipath_choice(ip: &Ip, n: usize) -> usize {
    let (sport, dport) = match ip.l4 {
        L4::Tcp(t) => (t.src_port, t.dst_port),
        L4::Udp(u) => (u.src_port, u.dst_port),
        L4::Icmp(
            crate::packet::Icmp::EchoRequest { id, .. } | crate::packet::Icmp::EchoReply { id, .. },
        ) => (id, 0),
        _ => (0, 0),
    };
    // FNV-1a over the fields: stable across runs and platforms.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut eat = |bytes: &[u8]| {
        for &b in bytes {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    };
    match (ip.src, ip.dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            eat(&s.octets());
            eat(&d.octets());
        }
        (s, d) => {
            eat(s.to_string().as_bytes());
            eat(d.to_string().as_bytes());
        }
    }
    eat(&[ip.proto()]);
    eat(&sport.to_be_bytes());
    eat(&dport.to_be_bytes());
    (h % n as u64) as usize
}

fn rip_routes(routes: &[dv::Route], ifaces: &[IfaceId]) -> Vec<Route> {
    routes
        .iter()
        .filter_map(|r| {
            let (k, gw) = r.next_hop?;
            Some(Route {
                prefix: r.prefix,
                iface: Some(ifaces[k]),
                next_hop: NextHop::Gateway(gw),
                origin: RouteOrigin::Rip { metric: r.metric },
            })
        })
        .collect()
}
