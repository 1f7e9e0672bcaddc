//! A running lab: one OS thread owns the compiled network and the
//! [`Scenario`] that borrows it, and answers commands over a channel; a
//! tokio task (the pacer) tells it how far to move the simulated clock.
//! What happens on the way is published to the lab's [`Hub`].

use std::collections::VecDeque;
use std::sync::atomic::AtomicUsize;
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{broadcast, oneshot, Notify};
use wirelab_net::Network;
use wirelab_sim::counters::{RuleOwner, RunCounters};
use wirelab_sim::scenario::{Advance, FlowReport, RunEnd, RunOptions, Scenario};
use wirelab_sim::SimTime;
use wirelab_spec::EventAction;

use crate::views::{
    ClockView, Counters, EventView, FlowView, Flows, InterfaceCounters, NetworkState, RuleHits,
};

/// Events kept for subscribers that connect later (and for reconnects with
/// `Last-Event-ID`).
pub const HISTORY_MAX: usize = 1024;
/// Events buffered per live subscriber before it starts missing them.
pub const SUBSCRIBER_BUFFER: usize = 256;
/// The simulated horizon of a served lab: practically none.
const UNTIL_NS: u64 = u64::MAX / 4;
const EVENTS_MAX: u64 = 2_000_000_000;

/// How fast simulated time goes while the clock runs.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Speed {
    /// Simulated seconds per wall second.
    Factor(f64),
    /// As fast as the machine goes.
    Max,
}

impl Speed {
    /// `1x`, `10x`, `0.5x`, `max`.
    pub fn parse(text: &str) -> Result<Speed, String> {
        let t = text.trim();
        if t.eq_ignore_ascii_case("max") {
            return Ok(Speed::Max);
        }
        let number = t
            .strip_suffix('x')
            .or_else(|| t.strip_suffix('X'))
            .unwrap_or(t);
        match number.parse::<f64>() {
            Ok(f) if f.is_finite() && f > 0.0 && f <= 1e6 => Ok(Speed::Factor(f)),
            _ => Err(format!(
                "`{text}` is not a speed: write 1x, 10x, 0.5x (a factor from 0 to 1000000) or max"
            )),
        }
    }

    pub fn code(self) -> String {
        match self {
            Speed::Max => "max".to_string(),
            Speed::Factor(f) => format!("{f}x"),
        }
    }
}

/// The clock as the pacer and the API see it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClockState {
    Running,
    Paused,
    Finished,
}

impl ClockState {
    fn code(self) -> &'static str {
        match self {
            ClockState::Running => "running",
            ClockState::Paused => "paused",
            ClockState::Finished => "finished",
        }
    }
}

/// Shared between the pacer, the API and the lab thread.
#[derive(Debug)]
pub struct Clock {
    pub state: ClockState,
    pub speed: Speed,
    /// Simulated time reached.
    pub time_ns: u64,
    pub events: u64,
    pub end: Option<RunEnd>,
    /// Wall instant and simulated time the pacing counts from.
    pub anchor: (Instant, u64),
}

impl Clock {
    pub fn view(&self) -> ClockView {
        ClockView {
            time_ns: self.time_ns,
            time: SimTime(self.time_ns).to_string(),
            state: self.state.code().to_string(),
            speed: self.speed.code(),
            events: self.events,
            end: self.end.map(|e| e.code().to_string()),
        }
    }
}

/// A lab's events: a bounded history and a broadcast to live subscribers.
/// A subscriber that falls `SUBSCRIBER_BUFFER` events behind misses the
/// oldest ones (it gets a `dropped` event saying how many); the lab never
/// waits for a subscriber.
pub struct Hub {
    inner: Mutex<HubInner>,
    pub subscribers: AtomicUsize,
}

struct HubInner {
    next_id: u64,
    history: VecDeque<Arc<EventView>>,
    /// `None` once the lab is gone: streams end.
    tx: Option<broadcast::Sender<Arc<EventView>>>,
}

impl Hub {
    pub fn new() -> Hub {
        Hub {
            inner: Mutex::new(HubInner {
                next_id: 1,
                history: VecDeque::new(),
                tx: Some(broadcast::channel(SUBSCRIBER_BUFFER).0),
            }),
            subscribers: AtomicUsize::new(0),
        }
    }

    /// Numbers the event and sends it to everyone listening.
    pub fn publish(&self, mut event: EventView) {
        let mut inner = self.inner.lock().expect("hub lock");
        event.id = inner.next_id;
        inner.next_id += 1;
        let event = Arc::new(event);
        if inner.history.len() == HISTORY_MAX {
            inner.history.pop_front();
        }
        inner.history.push_back(event.clone());
        if let Some(tx) = &inner.tx {
            // No receiver is not an error.
            let _ = tx.send(event);
        }
    }

    /// The lab was deleted or replaced: a last `lab-closed` event, then
    /// every stream ends.
    pub fn close(&self, time_ns: u64) {
        self.close_because(time_ns, "the lab was deleted or replaced");
    }

    /// Sends `lab-closed` with `why` and ends every stream of the lab.
    pub fn close_because(&self, time_ns: u64, why: &str) {
        self.publish(event("lab-closed", time_ns, why.to_string()));
        self.inner.lock().expect("hub lock").tx = None;
    }

    /// The kept events after `after` and a receiver of the ones to come,
    /// with nothing lost or repeated between the two.
    pub fn subscribe(
        &self,
        after: u64,
    ) -> (Vec<Arc<EventView>>, broadcast::Receiver<Arc<EventView>>) {
        let inner = self.inner.lock().expect("hub lock");
        let past = inner
            .history
            .iter()
            .filter(|e| e.id > after)
            .cloned()
            .collect();
        let rx = match &inner.tx {
            Some(tx) => tx.subscribe(),
            // A receiver whose sender is gone: the stream ends after the past.
            None => broadcast::channel(1).1,
        };
        (past, rx)
    }
}

pub fn event(kind: &str, time_ns: u64, message: String) -> EventView {
    EventView {
        id: 0,
        kind: kind.to_string(),
        time_ns,
        message,
        subject: None,
        state: None,
        bytes: None,
        missed: None,
    }
}

enum Command {
    /// Move the simulation to this time (pacer and steps).
    Advance(u64, oneshot::Sender<()>),
    /// Start again from time 0.
    Reset(oneshot::Sender<()>),
    Flows(oneshot::Sender<Flows>),
    Counters(oneshot::Sender<Counters>),
    /// What the simulator counted, for `/metrics`.
    RunCounters(oneshot::Sender<RunCounters>),
}

/// The handle the API holds on a running lab.
pub struct LabActor {
    pub net: Arc<Network>,
    pub clock: Arc<Mutex<Clock>>,
    pub hub: Arc<Hub>,
    commands: mpsc::Sender<Command>,
    /// Wakes the pacer when the clock's state or speed changed.
    pub wake: Arc<Notify>,
    pacer: tokio::task::JoinHandle<()>,
}

#[derive(Debug, thiserror::Error)]
pub enum ActorError {
    #[error("the lab's simulation thread has stopped")]
    Gone,
    #[error("the lab's simulation is busy with a long step")]
    Busy,
}

/// How long a request waits for the lab's thread (behind a long step).
pub const ASK_TIMEOUT: Duration = Duration::from_secs(120);

impl LabActor {
    /// Starts the lab's thread and its pacer (on the current tokio
    /// runtime). `running`: whether the clock starts running.
    pub fn start(net: Network, speed: Speed, running: bool) -> LabActor {
        let net = Arc::new(net);
        let clock = Arc::new(Mutex::new(Clock {
            state: if running {
                ClockState::Running
            } else {
                ClockState::Paused
            },
            speed,
            time_ns: 0,
            events: 0,
            end: None,
            anchor: (Instant::now(), 0),
        }));
        let hub = Arc::new(Hub::new());
        let (tx, rx) = mpsc::channel();
        let (ready_tx, ready) = mpsc::channel();
        {
            let (net, clock, hub) = (net.clone(), clock.clone(), hub.clone());
            std::thread::Builder::new()
                .name(format!("lab {}", net.lab.lab.value))
                .spawn(move || lab_thread(&net, &clock, &hub, &rx, &ready_tx))
                .expect("a thread for the lab");
        }
        // The state at time 0 is settled before the lab is shown (a lab
        // with nothing to do is `finished` from its first answer on).
        let _ = ready.recv();
        let wake = Arc::new(Notify::new());
        let pacer = tokio::spawn(pace(clock.clone(), tx.clone(), wake.clone()));
        LabActor {
            net,
            clock,
            hub,
            commands: tx,
            wake,
            pacer,
        }
    }

    async fn ask<T>(
        &self,
        make: impl FnOnce(oneshot::Sender<T>) -> Command,
    ) -> Result<T, ActorError> {
        let (tx, rx) = oneshot::channel();
        self.commands.send(make(tx)).map_err(|_| ActorError::Gone)?;
        match tokio::time::timeout(ASK_TIMEOUT, rx).await {
            Ok(answer) => answer.map_err(|_| ActorError::Gone),
            Err(_) => Err(ActorError::Busy),
        }
    }

    pub async fn flows(&self) -> Result<Flows, ActorError> {
        self.ask(Command::Flows).await
    }

    pub async fn counters(&self) -> Result<Counters, ActorError> {
        self.ask(Command::Counters).await
    }

    pub async fn run_counters(&self) -> Result<RunCounters, ActorError> {
        self.ask(Command::RunCounters).await
    }

    /// Pauses the clock and moves it on by `step_ns`.
    pub async fn step(&self, step_ns: u64) -> Result<(), ActorError> {
        let target = {
            let mut c = self.clock.lock().expect("clock lock");
            if c.state == ClockState::Running {
                c.state = ClockState::Paused;
            }
            c.time_ns.saturating_add(step_ns).min(UNTIL_NS)
        };
        self.wake.notify_one();
        self.ask(|tx| Command::Advance(target, tx)).await
    }

    pub async fn reset(&self) -> Result<(), ActorError> {
        self.ask(Command::Reset).await?;
        self.wake.notify_one();
        Ok(())
    }

    /// Changes the state (running or paused) and the speed, re-anchoring
    /// the pacing at the current simulated time.
    pub fn set(&self, state: Option<ClockState>, speed: Option<Speed>) {
        let mut c = self.clock.lock().expect("clock lock");
        if let Some(s) = speed {
            c.speed = s;
        }
        if let Some(s) = state {
            if c.state != ClockState::Finished {
                c.state = s;
            }
        }
        c.anchor = (Instant::now(), c.time_ns);
        drop(c);
        self.wake.notify_one();
    }
}

impl Drop for LabActor {
    fn drop(&mut self) {
        // The lab thread ends when its last command sender goes: the
        // pacer's goes with the pacer.
        self.pacer.abort();
        let now = self.clock.lock().map(|c| c.time_ns).unwrap_or(0);
        self.hub.close(now);
    }
}

/// How long the pacer waits between two moves of a running clock.
const TICK: Duration = Duration::from_millis(20);
/// At `max`, the simulated time moved per command adapts so that one
/// command takes about this much wall time: requests queue behind the
/// command in progress, so this bounds their wait.
const MAX_CHUNK_WALL: Duration = Duration::from_millis(10);
/// Bounds of that simulated time per command.
const MAX_CHUNK_NS_MIN: u64 = 100_000;
const MAX_CHUNK_NS_MAX: u64 = 1_000_000_000;

async fn pace(clock: Arc<Mutex<Clock>>, commands: mpsc::Sender<Command>, wake: Arc<Notify>) {
    let mut chunk_ns: u64 = 10_000_000;
    loop {
        let (state, speed, target) = {
            let c = clock.lock().expect("clock lock");
            let target = match c.speed {
                Speed::Max => c.time_ns.saturating_add(chunk_ns),
                Speed::Factor(f) => {
                    let wall = c.anchor.0.elapsed().as_nanos() as f64;
                    let sim = c.anchor.1 as f64 + wall * f;
                    // Never more than a second of wall time's worth per
                    // move, so a slow lab stays responsive.
                    let cap = c.time_ns as f64 + f * 1e9;
                    sim.min(cap).min(UNTIL_NS as f64) as u64
                }
            };
            (c.state, c.speed, target)
        };
        if state != ClockState::Running {
            wake.notified().await;
            continue;
        }
        let (tx, rx) = oneshot::channel();
        let started = Instant::now();
        if commands.send(Command::Advance(target, tx)).is_err() || rx.await.is_err() {
            return;
        }
        if speed == Speed::Max {
            // Scale the next chunk toward MAX_CHUNK_WALL (at most doubling
            // or halving at once). Only the pacing depends on this: any
            // sequence of chunks ends in the same simulation.
            let took = started.elapsed().as_nanos().max(1) as f64;
            let factor = (MAX_CHUNK_WALL.as_nanos() as f64 / took).clamp(0.5, 2.0);
            chunk_ns =
                ((chunk_ns as f64 * factor) as u64).clamp(MAX_CHUNK_NS_MIN, MAX_CHUNK_NS_MAX);
            tokio::task::yield_now().await;
        } else {
            tokio::select! {
                () = tokio::time::sleep(TICK) => {}
                () = wake.notified() => {}
            }
        }
    }
}

/// Per workload: what the last look saw, for events and rates.
#[derive(Clone, Default)]
struct Seen {
    started: bool,
    finished: bool,
    bytes: u64,
    rate_bps: f64,
}

fn lab_thread(
    net: &Network,
    clock: &Mutex<Clock>,
    hub: &Hub,
    commands: &mpsc::Receiver<Command>,
    ready: &mpsc::Sender<()>,
) {
    let options = RunOptions {
        until: SimTime(UNTIL_NS),
        events_max: EVENTS_MAX,
        capture: false,
    };
    let mut scenario = Scenario::new(net, options);
    let mut seen = vec![Seen::default(); net.lab.traffic.len()];
    let mut lab_events = 0usize;
    // A lab with nothing to do is over at once.
    settle(
        net,
        &mut scenario,
        clock,
        hub,
        &mut seen,
        &mut lab_events,
        0,
    );
    let _ = ready.send(());
    while let Ok(command) = commands.recv() {
        match command {
            Command::Advance(target, done) => {
                settle(
                    net,
                    &mut scenario,
                    clock,
                    hub,
                    &mut seen,
                    &mut lab_events,
                    target,
                );
                let _ = done.send(());
            }
            Command::Reset(done) => {
                scenario = Scenario::new(net, options);
                seen = vec![Seen::default(); net.lab.traffic.len()];
                lab_events = 0;
                {
                    let mut c = clock.lock().expect("clock lock");
                    if c.state == ClockState::Finished {
                        c.state = ClockState::Running;
                    }
                    c.time_ns = 0;
                    c.events = 0;
                    c.end = None;
                    c.anchor = (Instant::now(), 0);
                    let mut e = event("clock", 0, "the lab started again from time 0".into());
                    e.state = Some(c.state.code().to_string());
                    hub.publish(e);
                }
                settle(
                    net,
                    &mut scenario,
                    clock,
                    hub,
                    &mut seen,
                    &mut lab_events,
                    0,
                );
                let _ = done.send(());
            }
            Command::Flows(reply) => {
                let _ = reply.send(flows(&scenario, &seen));
            }
            Command::Counters(reply) => {
                let _ = reply.send(counters(net, &scenario));
            }
            Command::RunCounters(reply) => {
                let _ = reply.send(scenario.sim().counters_now());
            }
        }
    }
}

/// Moves the scenario to `target`, then publishes what changed and
/// updates the shared clock.
fn settle(
    net: &Network,
    scenario: &mut Scenario<'_>,
    clock: &Mutex<Clock>,
    hub: &Hub,
    seen: &mut [Seen],
    lab_events: &mut usize,
    target: u64,
) {
    let before = scenario.reached().0;
    let advance = scenario.advance(SimTime(target), &mut |_| {});
    let now = scenario.time_ns();
    let over = matches!(advance, Advance::Over(_));
    // The lab's timed changes that took effect.
    let applied_to = if over { scenario.sim().now().0 } else { now };
    while let Some(e) = net.lab.events.get(*lab_events) {
        if e.at_ns > applied_to {
            break;
        }
        hub.publish(lab_event(net, &e.action, e.at_ns));
        *lab_events += 1;
    }
    let span = now.saturating_sub(before);
    for (i, f) in scenario.flows().iter().enumerate() {
        let s = &mut seen[i];
        if span > 0 {
            s.rate_bps = f.bytes_delivered.saturating_sub(s.bytes) as f64 * 8e9 / span as f64;
        }
        s.bytes = f.bytes_delivered;
        if !s.started && f.start_ns <= now {
            s.started = true;
            let mut e = event(
                "flow-started",
                f.start_ns,
                format!("{} ({}) started: {} → {}", f.name, f.kind, f.from, f.to),
            );
            e.subject = Some(f.name.clone());
            e.state = Some("running".into());
            hub.publish(e);
        }
        let finished = f.done_ns.is_some() || over;
        if s.started && !s.finished && finished {
            s.finished = true;
            let state = flow_state(f, now, over);
            let message = match &f.error {
                Some(err) if state == "failed" => format!("{} failed: {err}", f.name),
                _ => format!("{} finished: {} bytes delivered", f.name, f.bytes_delivered),
            };
            let mut e = event("flow-finished", f.done_ns.unwrap_or(now), message);
            e.subject = Some(f.name.clone());
            e.state = Some(state.to_string());
            e.bytes = Some(f.bytes_delivered);
            hub.publish(e);
        }
    }
    let mut c = clock.lock().expect("clock lock");
    c.time_ns = now;
    c.events = scenario.sim().counters.events;
    if let Advance::Over(end) = advance {
        if c.state != ClockState::Finished {
            c.state = ClockState::Finished;
            c.end = Some(end);
            let mut e = event(
                "clock",
                now,
                format!("nothing is left to happen ({})", end.code()),
            );
            e.state = Some("finished".into());
            hub.publish(e);
        }
    }
}

fn flow_state(f: &FlowReport, now: u64, over: bool) -> &'static str {
    if f.done_ns.is_some() {
        "finished"
    } else if over {
        "failed"
    } else if f.start_ns > now {
        "pending"
    } else {
        "running"
    }
}

fn lab_event(net: &Network, action: &EventAction, at_ns: u64) -> EventView {
    let lab = &net.lab;
    let net_name = |n: usize| lab.networks[n].name.value.clone();
    let dir = |inbound: bool| if inbound { "inbound" } else { "outbound" };
    let (kind, subject, message) = match action {
        EventAction::LinkDown(n) => (
            "link-down",
            net_name(*n),
            format!("network {} went down", net_name(*n)),
        ),
        EventAction::LinkUp(n) => (
            "link-up",
            net_name(*n),
            format!("network {} came up", net_name(*n)),
        ),
        EventAction::RouterDown(r) => (
            "router-down",
            lab.routers[*r].name.value.clone(),
            format!("router {} went down", lab.routers[*r].name.value),
        ),
        EventAction::RouterUp(r) => (
            "router-up",
            lab.routers[*r].name.value.clone(),
            format!("router {} came up", lab.routers[*r].name.value),
        ),
        EventAction::LinkSet(n, _) => (
            "link-changed",
            net_name(*n),
            format!("network {} has new link properties", net_name(*n)),
        ),
        EventAction::SgRuleAdd { group, inbound, .. } => {
            let g = lab.security_groups[*group].name.value.clone();
            let m = format!("security group {g}: an {} rule was added", dir(*inbound));
            ("rule-changed", g, m)
        }
        EventAction::SgRuleRemove { group, inbound, .. } => {
            let g = lab.security_groups[*group].name.value.clone();
            let m = format!("security group {g}: an {} rule was removed", dir(*inbound));
            ("rule-changed", g, m)
        }
        EventAction::NaclRuleAdd {
            nacl,
            inbound,
            rule,
        } => {
            let n = lab.nacls[*nacl].name.value.clone();
            let m = format!("NACL {n}: {} rule {} was added", dir(*inbound), rule.number);
            ("rule-changed", n, m)
        }
        EventAction::NaclRuleRemove {
            nacl,
            inbound,
            number,
        } => {
            let n = lab.nacls[*nacl].name.value.clone();
            let m = format!("NACL {n}: {} rule {number} was removed", dir(*inbound));
            ("rule-changed", n, m)
        }
    };
    let mut e = event(kind, at_ns, message);
    e.subject = Some(subject);
    e
}

fn flows(scenario: &Scenario<'_>, seen: &[Seen]) -> Flows {
    let now = scenario.time_ns();
    let over = scenario.end().is_some();
    Flows {
        time_ns: now,
        flows: scenario
            .flows()
            .iter()
            .zip(seen)
            .map(|(f, s)| FlowView {
                name: f.name.clone(),
                kind: f.kind.to_string(),
                from: f.from.clone(),
                to: f.to.to_string(),
                state: flow_state(f, now, over).to_string(),
                start_ns: f.start_ns,
                done_ns: f.done_ns,
                bytes: f.bytes_delivered,
                sent: f.sent,
                received: f.received,
                retransmissions: f.retransmissions,
                goodput_bps: if f.start_ns > now {
                    0.0
                } else {
                    f.goodput_bps(now)
                },
                rate_bps: if f.done_ns.is_some() || over {
                    0.0
                } else {
                    s.rate_bps
                },
                rtt_ns_min: f.rtt_ns_min,
                rtt_ns_avg: f.rtt_ns_avg,
                cwnd_bytes: f.cwnd_final,
                error: if flow_state(f, now, over) == "running" {
                    None
                } else {
                    f.error.clone()
                },
            })
            .collect(),
    }
}

fn counters(net: &Network, scenario: &Scenario<'_>) -> Counters {
    let sim = scenario.sim();
    let now = scenario.time_ns();
    let mut interfaces = Vec::new();
    for node in &net.nodes {
        for (pos, &i) in node.ifaces.iter().enumerate() {
            let s = sim.iface_stats(i);
            interfaces.push(InterfaceCounters {
                node: node.name.clone(),
                interface: format!("eth{pos}"),
                network: net.segments[net.ifaces[i].segment].name.clone(),
                frames: s.frames,
                bytes: s.bytes,
                utilisation: s.busy_ns as f64 / now.max(1) as f64,
                drops_queue: s.drops_queue,
                drops_lost: s.drops_lost,
                drops_down: s.drops_down,
                drops_too_big: s.drops_too_big,
            });
        }
    }
    let networks = net
        .segments
        .iter()
        .enumerate()
        .map(|(id, seg)| {
            let link = sim.link(id);
            NetworkState {
                name: seg.name.clone(),
                down: link.down,
                bandwidth_bps: link.bandwidth_bps,
                delay_ns: link.delay_ns,
                loss: link.loss,
            }
        })
        .collect();
    let rules = sim
        .counters_now()
        .rule_hits()
        .map(|(info, hits)| {
            let (kind, filter) = match info.owner {
                RuleOwner::SecurityGroup(g) => {
                    ("security-group", &net.lab.security_groups[g].name.value)
                }
                RuleOwner::Nacl(n) => ("nacl", &net.lab.nacls[n].name.value),
            };
            RuleHits {
                kind: kind.to_string(),
                filter: filter.clone(),
                direction: info.direction.code().to_string(),
                rule: info.rule,
                text: wirelab_check::explain::counted_rule_text(net, info),
                line: info.span.line,
                hits,
            }
        })
        .collect();
    Counters {
        time_ns: now,
        events: sim.counters.events,
        interfaces,
        networks,
        rules,
    }
}
