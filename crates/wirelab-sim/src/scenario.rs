//! A lab over time: its workloads (`traffic:`) and timed changes
//! (`events:`) run on one simulated clock, and what each workload and each
//! link did is collected in a [`RunReport`].

use std::net::IpAddr;

use wirelab_net::{Network, NodeId};
use wirelab_spec::{CheckTarget, Family, Traffic, Workload};

use crate::engine::{CapturedFrame, Event, Limits, Sim};
use crate::pinger::Pinger;
use crate::time::SimTime;
use crate::trace::TraceLevel;
use crate::udp_source::UdpSource;

/// Why a run stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunEnd {
    /// Nothing was left to happen.
    Quiet,
    /// The `--until` time was reached with work still pending.
    Until,
    /// The event limit was reached.
    EventLimit,
}

impl RunEnd {
    pub fn code(self) -> &'static str {
        match self {
            RunEnd::Quiet => "quiet",
            RunEnd::Until => "until",
            RunEnd::EventLimit => "event-limit",
        }
    }
}

/// What one workload did.
#[derive(Clone, Debug, PartialEq)]
pub struct FlowReport {
    pub name: String,
    /// `bulk`, `requests`, `ping`, `onoff`.
    pub kind: &'static str,
    pub from: String,
    pub to: IpAddr,
    pub start_ns: u64,
    /// When the workload finished, if it did: the last byte acknowledged
    /// (bulk), the last response received (requests), the last echo
    /// answered or given up on (ping), the end of the sending period
    /// (onoff).
    pub done_ns: Option<u64>,
    /// Application bytes delivered to the other side.
    pub bytes_delivered: u64,
    /// Packets (datagrams, echo requests) or segments sent and received.
    pub sent: u64,
    pub received: u64,
    pub retransmissions: u64,
    pub rtt_ns_min: Option<u64>,
    pub rtt_ns_avg: Option<u64>,
    /// Congestion window at the end, in bytes (TCP workloads).
    pub cwnd_final: Option<u64>,
    /// Why the workload did not finish, when it did not.
    pub error: Option<String>,
}

impl FlowReport {
    /// Completion time from the start, when finished.
    pub fn completion_ns(&self) -> Option<u64> {
        self.done_ns.map(|d| d.saturating_sub(self.start_ns))
    }

    /// Bits per second of application data over the completion time (or
    /// over the run, when unfinished).
    pub fn goodput_bps(&self, run_ns: u64) -> f64 {
        let span = self
            .completion_ns()
            .unwrap_or(run_ns.saturating_sub(self.start_ns))
            .max(1);
        self.bytes_delivered as f64 * 8.0 * 1e9 / span as f64
    }
}

/// What one interface sent onto its network.
#[derive(Clone, Debug, PartialEq)]
pub struct LinkReport {
    pub network: String,
    pub node: String,
    pub frames: u64,
    pub bytes: u64,
    /// Share of the run the interface spent serializing frames.
    pub utilisation: f64,
    pub drops_queue: u64,
    pub drops_lost: u64,
    pub drops_down: u64,
    pub drops_too_big: u64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct RunReport {
    pub end: RunEnd,
    /// Simulated time at the end.
    pub time_ns: u64,
    pub events: u64,
    pub flows: Vec<FlowReport>,
    /// Every interface that sent something, in network then node order.
    pub links: Vec<LinkReport>,
    /// Every frame put on a network, when the run captured them.
    pub frames: Vec<CapturedFrame>,
    /// What the simulator counted, for metrics.
    pub counters: crate::counters::RunCounters,
    /// How routing converged at the start and after each topology event
    /// (empty without dynamic routing).
    pub convergences: Vec<crate::routing_apps::Convergence>,
}

/// How a run is bounded, and whether it captures frames.
#[derive(Clone, Copy, Debug)]
pub struct RunOptions {
    pub until: SimTime,
    pub events_max: u64,
    pub capture: bool,
}

fn target_addr(net: &Network, to: &CheckTarget, family: Family) -> Option<IpAddr> {
    match to {
        CheckTarget::Address(a) => Some(*a),
        // Workloads name hosts or addresses, never DNS names.
        CheckTarget::Name(_) => None,
        CheckTarget::Host(h) => {
            let host = &net.lab.hosts[*h];
            match family {
                Family::Ipv4 => host.ipv4.map(IpAddr::V4),
                Family::Ipv6 => host.ipv6.map(IpAddr::V6),
            }
        }
    }
}

fn source_addr(net: &Network, t: &Traffic) -> Option<IpAddr> {
    let host = &net.lab.hosts[t.from];
    match t.family {
        Family::Ipv4 => host.ipv4.map(IpAddr::V4),
        Family::Ipv6 => host.ipv6.map(IpAddr::V6),
    }
}

/// Where each workload's state lives in the simulator.
#[derive(Clone, Copy, Debug)]
enum Handle {
    Pinger(usize),
    Udp(usize),
    /// A TCP workload, by its index (its connections appear when it
    /// starts).
    Tcp(u32),
    /// A workload that could not start (no address of its family).
    None,
}

/// Runs the lab's traffic and events from a fresh state until nothing is
/// left to happen, `until`, or the event limit. `progress` is called now
/// and then with the simulated time, for a progress bar.
pub fn run(net: &Network, options: RunOptions, progress: &mut dyn FnMut(SimTime)) -> RunReport {
    let mut scenario = Scenario::new(net, options);
    scenario.advance(options.until, progress);
    scenario.report()
}

/// How far a [`Scenario`] got after [`Scenario::advance`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Advance {
    /// Work is still pending after the target time.
    Pending,
    /// The run is over: nothing left, every workload finished, `until`
    /// passed with work pending, or the event limit hit.
    Over(RunEnd),
}

/// A lab's traffic and events in a simulation that can be moved on in
/// steps and looked at in between. [`run`] is one [`Scenario::advance`] to
/// `until`; several smaller steps reach the same state, since events are
/// taken in the same order whatever the step.
pub struct Scenario<'n> {
    net: &'n Network,
    sim: Sim<'n>,
    handles: Vec<Handle>,
    options: RunOptions,
    /// How far the run was moved (at least the time of the last event).
    reached: SimTime,
    end: Option<RunEnd>,
}

impl<'n> Scenario<'n> {
    /// The lab's workloads and events scheduled on a fresh simulation at
    /// time zero; nothing has run yet.
    pub fn new(net: &'n Network, options: RunOptions) -> Scenario<'n> {
        let mut sim = Sim::new(net, net.lab.seed, TraceLevel::Off);
        sim.set_capture(options.capture);
        sim.set_limits(Limits {
            events_max: options.events_max,
        });
        let tcp_workloads = net
            .lab
            .traffic
            .iter()
            .filter(|t| matches!(t.kind, Workload::Bulk { .. } | Workload::Requests { .. }))
            .count();
        sim.tcp.reserve(tcp_workloads);
        let handles: Vec<Handle> = net
            .lab
            .traffic
            .iter()
            .enumerate()
            .map(|(i, t)| start(&mut sim, net, i, t))
            .collect();
        sim.schedule_lab_events();
        // Workloads that could not start count as finished from the start.
        sim.workloads_done = handles.iter().filter(|h| matches!(h, Handle::None)).count() as u32;
        Scenario {
            net,
            sim,
            handles,
            options,
            reached: SimTime(0),
            end: None,
        }
    }

    fn all_done(&self) -> bool {
        let total = self.handles.len() as u32;
        total > 0 && self.sim.workloads_done >= total
    }

    /// Runs events up to `target` (at most `until`). Returns whether the
    /// run is over; once over, further calls do nothing.
    pub fn advance(&mut self, target: SimTime, progress: &mut dyn FnMut(SimTime)) -> Advance {
        if let Some(end) = self.end {
            return Advance::Over(end);
        }
        let until = self.options.until;
        let target = target.min(until);
        let total = self.handles.len() as u32;
        let mut since_progress = 0u32;
        // Routing protocols never fall silent (hellos, periodic updates):
        // without workloads, a run with them is over once every event has
        // happened and the tables have settled since.
        let settle = self.sim.routing_settle_time();
        let last_event = SimTime(self.net.lab.events.last().map_or(0, |e| e.at_ns));
        let mut routing_quiet = false;
        let within_limit = self.sim.run_while(target, |s| {
            if total > 0 && s.workloads_done >= total {
                // Every workload is over: what is left (TIME-WAIT timers,
                // later events) changes no result.
                return true;
            }
            if total == 0 && settle > SimTime::ZERO {
                let last_change = s
                    .routing_log()
                    .changes
                    .last()
                    .map_or(SimTime::ZERO, |c| c.at);
                if s.now() >= last_event + settle && s.now() >= last_change + settle {
                    routing_quiet = true;
                    return true;
                }
            }
            since_progress += 1;
            if since_progress >= 65_536 {
                since_progress = 0;
                progress(s.now());
            }
            false
        });
        self.reached = self.reached.max(target).max(self.sim.now());
        let end = if !within_limit {
            Some(RunEnd::EventLimit)
        } else if self.sim.queue.is_empty() || self.all_done() || routing_quiet {
            Some(RunEnd::Quiet)
        } else if target >= until {
            Some(RunEnd::Until)
        } else {
            None
        };
        self.end = end;
        match end {
            Some(end) => Advance::Over(end),
            None => Advance::Pending,
        }
    }

    /// Stops the run when `stop` is raised (see [`Sim::set_stop`]); it
    /// then ends as if the event limit were hit.
    pub fn set_stop(&mut self, stop: crate::stop::StopFlag) {
        self.sim.set_stop(stop);
    }

    /// The simulation underneath (read only).
    pub fn sim(&self) -> &Sim<'n> {
        &self.sim
    }

    /// How far the run was moved: the last target reached, or the time of
    /// the last event when the run ended before it.
    pub fn reached(&self) -> SimTime {
        self.reached
    }

    /// Why the run is over, once it is.
    pub fn end(&self) -> Option<RunEnd> {
        self.end
    }

    /// The time of the run's report: `until` when it stopped there, the
    /// time of the last event when it is over otherwise, and how far it
    /// was moved while it is still going.
    pub fn time_ns(&self) -> u64 {
        match self.end {
            Some(RunEnd::Until) => self.options.until.0,
            Some(_) => self.sim.now().0,
            None => self.reached.0,
        }
    }

    /// Each workload as it stands now, in `traffic:` order.
    pub fn flows(&self) -> Vec<FlowReport> {
        self.net
            .lab
            .traffic
            .iter()
            .zip(&self.handles)
            .map(|(t, h)| flow_report(&self.sim, self.net, t, *h))
            .collect()
    }

    /// Every interface that sent something, up to now.
    pub fn links(&self) -> Vec<LinkReport> {
        link_reports(&self.sim, self.net, self.time_ns())
    }

    /// How routing converged so far (empty without dynamic routing).
    pub fn convergences(&self) -> Vec<crate::routing_apps::Convergence> {
        if !crate::routing_apps::lab_has_dynamic_routing(&self.net.lab) {
            return Vec::new();
        }
        crate::routing_apps::convergences(
            &self.net.lab,
            self.sim.routing_log(),
            self.sim.routing_settle_time(),
            SimTime(self.time_ns()),
        )
    }

    /// The report of the run as it stands (the whole run once over).
    pub fn report(&self) -> RunReport {
        RunReport {
            end: self.end.unwrap_or(RunEnd::Until),
            time_ns: self.time_ns(),
            events: self.sim.counters.events,
            flows: self.flows(),
            links: self.links(),
            frames: self.sim.captured().to_vec(),
            counters: self.sim.counters_now(),
            convergences: self.convergences(),
        }
    }
}

fn start(sim: &mut Sim<'_>, net: &Network, index: usize, t: &Traffic) -> Handle {
    let (Some(src), Some(dst)) = (source_addr(net, t), target_addr(net, &t.to, t.family)) else {
        return Handle::None;
    };
    let node: NodeId = net.host_node(t.from);
    let at = SimTime(t.start_ns);
    match t.kind {
        Workload::Ping {
            count,
            interval_ns,
            payload_bytes,
        } => {
            let mut p = Pinger::new(node, src, dst, SimTime(interval_ns), count);
            p.payload_len = payload_bytes;
            Handle::Pinger(sim.add_pinger(p, at))
        }
        Workload::OnOff {
            rate_bps,
            on_ns,
            off_ns,
            packet_bytes,
            duration_ns,
        } => {
            let src_port = sim.random_port();
            Handle::Udp(sim.add_udp_source(UdpSource {
                node,
                src,
                dst,
                dst_port: t.port.unwrap_or(9),
                src_port,
                rate_bps,
                on: SimTime(on_ns),
                off: SimTime(off_ns),
                packet_bytes,
                start: at,
                end: at + SimTime(duration_ns),
                flow: index as u32,
                sent: 0,
                received: 0,
                received_bytes: 0,
                last_received: None,
                finished: false,
            }))
        }
        Workload::Bulk { .. } | Workload::Requests { .. } => {
            sim.schedule(at, Event::TcpStart { flow: index as u32 });
            Handle::Tcp(index as u32)
        }
    }
}

fn flow_report(sim: &Sim<'_>, net: &Network, t: &Traffic, handle: Handle) -> FlowReport {
    let kind = match t.kind {
        Workload::Bulk { .. } => "bulk",
        Workload::Requests { .. } => "requests",
        Workload::Ping { .. } => "ping",
        Workload::OnOff { .. } => "onoff",
    };
    let mut r = FlowReport {
        name: t.name.value.clone(),
        kind,
        from: net.lab.hosts[t.from].name.value.clone(),
        to: target_addr(net, &t.to, t.family).unwrap_or(IpAddr::from([0, 0, 0, 0])),
        start_ns: t.start_ns,
        done_ns: None,
        bytes_delivered: 0,
        sent: 0,
        received: 0,
        retransmissions: 0,
        rtt_ns_min: None,
        rtt_ns_avg: None,
        cwnd_final: None,
        error: None,
    };
    match handle {
        Handle::Pinger(i) => {
            let p = &sim.pingers()[i];
            r.sent = u64::from(p.sent);
            r.received = u64::from(p.received);
            r.bytes_delivered = u64::from(p.received) * u64::from(p.payload_len);
            r.rtt_ns_min = p.rtt_ns_min;
            r.rtt_ns_avg = (p.received > 0).then(|| p.rtt_ns_sum / u64::from(p.received));
            if p.received == p.count {
                r.done_ns = p.last_reply.map(|t| t.0);
            } else {
                r.error = Some(format!(
                    "{} of {} echo requests were not answered",
                    p.count - p.received,
                    p.count
                ));
            }
        }
        Handle::Udp(i) => {
            let s = &sim.udp_sources()[i];
            r.sent = s.sent;
            r.received = s.received;
            r.bytes_delivered = s.received_bytes;
            if s.finished {
                r.done_ns = Some(s.end.0);
            }
            if s.received < s.sent {
                r.error = Some(format!(
                    "{} of {} datagrams were lost",
                    s.sent - s.received,
                    s.sent
                ));
            }
        }
        Handle::Tcp(flow) => tcp_report(sim, t, flow, &mut r),
        Handle::None => r.error = Some(format!("`{}` has no {} address", r.from, t.family.code())),
    }
    r
}

fn link_reports(sim: &Sim<'_>, net: &Network, time_ns: u64) -> Vec<LinkReport> {
    let mut out = Vec::new();
    for seg in &net.segments {
        for &i in &seg.ifaces {
            let s = sim.iface_stats(i);
            let drops = s.drops_queue + s.drops_lost + s.drops_down + s.drops_too_big;
            if s.frames == 0 && drops == 0 {
                continue;
            }
            out.push(LinkReport {
                network: seg.name.clone(),
                node: net.nodes[net.ifaces[i].node].name.clone(),
                frames: s.frames,
                bytes: s.bytes,
                utilisation: s.busy_ns as f64 / time_ns.max(1) as f64,
                drops_queue: s.drops_queue,
                drops_lost: s.drops_lost,
                drops_down: s.drops_down,
                drops_too_big: s.drops_too_big,
            });
        }
    }
    out
}

fn tcp_report(sim: &Sim<'_>, t: &Traffic, flow: u32, r: &mut FlowReport) {
    let Some(conns) = sim.tcp_flow(flow) else {
        r.error = Some("the workload did not start before the run ended".to_string());
        return;
    };
    let Some(client) = conns.client.map(|c| sim.tcp_conn(c)) else {
        return;
    };
    let stats = client.socket.stats();
    r.sent = stats.segments_sent;
    r.received = stats.segments_received;
    r.retransmissions = stats.segments_retransmitted;
    r.rtt_ns_min = (stats.rtt_samples > 0).then_some(stats.rtt_ns_min);
    r.rtt_ns_avg = stats.rtt_ns_avg();
    r.cwnd_final = Some(stats.cwnd_bytes);
    r.done_ns = client.done_at.map(|d| d.0);
    r.bytes_delivered = match t.kind {
        // What reached the server's application.
        Workload::Bulk { .. } => conns
            .server
            .map_or(0, |s| sim.tcp_conn(s).socket.stats().bytes_delivered),
        // The responses that reached the client.
        _ => stats.bytes_delivered,
    };
    if r.done_ns.is_none() {
        r.error = Some(match (client.socket.error(), conns.server) {
            (Some(e), _) => format!("the connection ended: {}", e.code()),
            (None, None) => format!(
                "no connection was accepted (state {})",
                client.socket.state().as_str()
            ),
            (None, Some(_)) => format!("still running (state {})", client.socket.state().as_str()),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lab() -> Network {
        let text = include_str!("../../../labs/06-traffic-over-a-wan.yaml");
        let loaded = wirelab_spec::parse_str("06.yaml", text).expect("a valid lab");
        Network::compile(&loaded.lab)
    }

    #[test]
    fn many_small_steps_end_where_one_run_does() {
        let net = lab();
        let options = RunOptions {
            until: SimTime(60_000_000_000),
            events_max: 200_000_000,
            capture: false,
        };
        let whole = run(&net, options, &mut |_| {});
        let mut scenario = Scenario::new(&net, options);
        let mut target = SimTime(0);
        let mut steps = 0;
        while scenario.advance(target, &mut |_| {}) == Advance::Pending {
            assert_eq!(scenario.reached(), target);
            target = target + SimTime(37_000_000);
            steps += 1;
        }
        assert!(steps > 10, "the lab runs for longer than a few steps");
        assert_eq!(scenario.report(), whole);
    }
}
