//! The JSON documents of the API. Times are simulated nanoseconds
//! (`*_ns`); every list is in lab-file order, so two reads of the same
//! state give the same bytes.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// The lab id of a path.
#[derive(Clone, Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct LabId {
    /// 1 to 64 of `A-Z a-z 0-9 . _ -`.
    #[param(pattern = r"^[A-Za-z0-9._-]{1,64}$", min_length = 1, max_length = 64)]
    pub id: String,
}

/// RFC 9457 problem details (`application/problem+json`).
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct Problem {
    /// A URI naming the kind of problem (`about:blank` or a tag under
    /// `https://wirelab.invalid/problems/`).
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// The request path the problem is about.
    pub instance: String,
    /// The diagnostics of an invalid lab (422 on PUT).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<DiagnosticView>>,
}

/// One problem of a lab file.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct DiagnosticView {
    /// `FILE:LINE:COLUMN: error: message`, as the command line prints it.
    pub text: String,
    /// `error` or `warning`.
    pub severity: String,
    /// 1-based; 0 when the problem concerns the whole file.
    pub line: u32,
    pub column: u32,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
}

/// One entry of `GET /labs`.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct LabSummary {
    pub id: String,
    /// `valid` or `invalid`.
    pub validation: String,
    /// The lab's `lab:` name (valid labs).
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub title: Option<String>,
    /// The simulated clock (valid labs).
    #[serde(default)]
    pub clock: Option<ClockView>,
}

/// The list of labs, sorted by id.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct LabList {
    pub labs: Vec<LabSummary>,
}

/// What a lab holds, counted.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct LabCounts {
    pub networks: usize,
    pub routers: usize,
    pub hosts: usize,
    pub security_groups: usize,
    pub nacls: usize,
    pub checks: usize,
    pub traffic: usize,
    pub events: usize,
}

/// `GET /labs/{id}`: the lab's source, its validation state and clock.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct LabDetail {
    pub id: String,
    /// `valid` or `invalid`.
    pub validation: String,
    /// `yaml` or `json`: how the source was given.
    pub format: String,
    /// The lab text as given (PUT body or file).
    pub source: String,
    /// Errors (invalid labs) and warnings.
    pub diagnostics: Vec<DiagnosticView>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub seed: Option<u64>,
    #[serde(default)]
    pub counts: Option<LabCounts>,
    #[serde(default)]
    pub clock: Option<ClockView>,
}

/// The simulated clock of a lab.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct ClockView {
    /// Simulated time reached, in nanoseconds.
    pub time_ns: u64,
    /// The same, as text (`1.250000s`).
    pub time: String,
    /// `running`, `paused` or `finished` (nothing is left to happen).
    pub state: String,
    /// `1x`, `10x`, `max`...: how fast simulated time goes while running.
    pub speed: String,
    /// Simulator events processed so far.
    pub events: u64,
    /// Why the run ended, once `finished`: `quiet` (nothing left) or
    /// `event-limit`.
    #[serde(default)]
    pub end: Option<String>,
}

/// What to do with a clock.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum ClockAction {
    Pause,
    Resume,
    Step,
    Reset,
    /// Change only the speed.
    Speed,
}

/// `tcp`, `udp` or `icmp`.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum ProtoName {
    Tcp,
    Udp,
    Icmp,
}

/// `ipv4` or `ipv6`.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum FamilyName {
    Ipv4,
    Ipv6,
}

/// `POST /labs/{id}/clock`.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClockRequest {
    /// `pause`, `resume`, `step` (pause, then move on by `step`) or
    /// `reset` (start the lab's traffic and events again from time 0,
    /// keeping the state running or paused).
    pub action: ClockAction,
    /// With `step`: how far, e.g. `100ms`, `2s` (default `100ms`).
    #[serde(default)]
    pub step: Option<String>,
    /// A new speed: `1x`, `10x`, `0.5x`, `max`.
    #[serde(default)]
    pub speed: Option<String>,
}

/// `GET /labs/{id}/topology`: nodes with their interfaces, networks, and
/// one link per interface (node to network).
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct Topology {
    pub lab: String,
    pub nodes: Vec<NodeView>,
    pub networks: Vec<NetworkView>,
    pub links: Vec<LinkView>,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct NodeView {
    pub name: String,
    /// `host` or `router`.
    pub role: String,
    pub interfaces: Vec<InterfaceView>,
    /// Security groups of a host.
    pub security_groups: Vec<String>,
    /// Services a host listens on, e.g. `tcp/443`.
    pub services: Vec<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct InterfaceView {
    /// `eth0`, `eth1`... in the node's order.
    pub name: String,
    pub network: String,
    pub mac: String,
    #[serde(default)]
    pub ipv4: Option<String>,
    #[serde(default)]
    pub ipv6: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct NetworkView {
    pub name: String,
    #[serde(default)]
    pub ipv4: Option<String>,
    #[serde(default)]
    pub ipv6: Option<String>,
    #[serde(default)]
    pub nacl: Option<String>,
    pub bandwidth_bps: u64,
    pub delay_ns: u64,
    /// Probability that a frame is lost, 0 to 1.
    pub loss: f64,
    pub mtu: u32,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct LinkView {
    pub node: String,
    pub interface: String,
    pub network: String,
}

/// `GET /labs/{id}/flows`: each workload of `traffic:` now.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct Flows {
    pub time_ns: u64,
    pub flows: Vec<FlowView>,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct FlowView {
    pub name: String,
    /// `bulk`, `requests`, `ping`, `onoff`.
    pub kind: String,
    pub from: String,
    pub to: String,
    /// `pending` (not started), `running`, `finished`, `failed` (the run
    /// is over and the workload did not finish).
    pub state: String,
    pub start_ns: u64,
    #[serde(default)]
    pub done_ns: Option<u64>,
    /// Application bytes delivered to the other side.
    pub bytes: u64,
    /// Packets or segments sent and received.
    pub sent: u64,
    pub received: u64,
    pub retransmissions: u64,
    /// Average goodput since the start (to the end when finished), bit/s.
    pub goodput_bps: f64,
    /// Goodput over the last step of the clock, bit/s.
    pub rate_bps: f64,
    #[serde(default)]
    pub rtt_ns_min: Option<u64>,
    #[serde(default)]
    pub rtt_ns_avg: Option<u64>,
    #[serde(default)]
    pub cwnd_bytes: Option<u64>,
    #[serde(default)]
    pub error: Option<String>,
}

/// `GET /labs/{id}/counters`: every interface, each network's state, and
/// the hits of every security-group and NACL rule.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct Counters {
    pub time_ns: u64,
    pub events: u64,
    pub interfaces: Vec<InterfaceCounters>,
    pub networks: Vec<NetworkState>,
    /// In the order the lab writes them (docs/metrics.md says what counts
    /// as a hit).
    pub rules: Vec<RuleHits>,
}

/// One rule and how often it decided, since the clock's time 0.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct RuleHits {
    /// `security-group` or `nacl`.
    pub kind: String,
    /// The group's or NACL's name.
    pub filter: String,
    /// `inbound` or `outbound`.
    pub direction: String,
    /// A security-group rule's position in its list (1-based), a NACL
    /// rule's number; none for a NACL's final `*` rule and for rules that
    /// `events:` add to a security group.
    #[serde(default)]
    pub rule: Option<u32>,
    /// The rule in words: `tcp 443 from 0.0.0.0/0`, `100 allow tcp 5432
    /// 10.0.2.0/24`, `* deny all`.
    pub text: String,
    /// The line of the lab file (0 for a NACL's `*` rule).
    pub line: u32,
    pub hits: u64,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct InterfaceCounters {
    pub node: String,
    pub interface: String,
    pub network: String,
    /// Frames and bytes sent onto the network.
    pub frames: u64,
    pub bytes: u64,
    /// Share of the time spent sending, 0 to 1.
    pub utilisation: f64,
    pub drops_queue: u64,
    pub drops_lost: u64,
    pub drops_down: u64,
    pub drops_too_big: u64,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct NetworkState {
    pub name: String,
    pub down: bool,
    pub bandwidth_bps: u64,
    pub delay_ns: u64,
    pub loss: f64,
}

/// One Server-Sent Event's data (the SSE `event:` field repeats `type`,
/// `id:` repeats `id`).
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct EventView {
    /// Increasing per lab, from 1.
    pub id: u64,
    /// `flow-started`, `flow-finished`, `link-down`, `link-up`,
    /// `link-changed`, `rule-changed`, `check-result`, `run-finished`,
    /// `clock`, `dropped`, `lab-closed` (the lab was deleted or
    /// replaced; the stream ends).
    #[serde(rename = "type")]
    pub kind: String,
    /// Simulated time of the lab when it happened.
    pub time_ns: u64,
    /// What happened, in words.
    pub message: String,
    /// The workload (flow events), network (link events) or check.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// Flow state, check status, clock state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// Bytes delivered (flow-finished).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes: Option<u64>,
    /// Events a slow subscriber missed (`dropped`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub missed: Option<u64>,
}

/// `POST /labs/{id}/trace`.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TraceRequest {
    /// The host that sends.
    pub from: String,
    /// A host name or an address.
    pub to: String,
    /// `tcp` (default), `udp` or `icmp`.
    #[serde(default)]
    pub proto: Option<ProtoName>,
    /// Destination port (tcp and udp).
    #[serde(default)]
    #[schema(minimum = 0, maximum = 65535)]
    pub port: Option<u16>,
    /// By default the address's family, or the host's IPv4.
    #[serde(default)]
    pub family: Option<FamilyName>,
}

/// One line of an explained exchange.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct TraceStep {
    pub time_ns: u64,
    pub time: String,
    pub node: String,
    pub step: String,
    pub packet: String,
    pub detail: String,
}

/// The explained exchange, as `wirelab trace --format json` prints it.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TraceView {
    pub lab: String,
    pub from: String,
    pub to: String,
    pub src: String,
    pub dst: String,
    pub what: String,
    pub outcome: String,
    pub reason: String,
    #[serde(default)]
    pub at: Option<String>,
    pub path: Vec<String>,
    pub explanation: String,
    pub steps: Vec<TraceStep>,
    /// Every frame put on a wire, in order: a sequence diagram's arrows.
    pub frames: Vec<TraceFrame>,
}

/// One frame of an exchange, from one node to a neighbour.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct TraceFrame {
    /// 1-based, in the order of the trace.
    pub number: usize,
    pub time_ns: u64,
    pub from: String,
    /// The receiving node; none when nobody on the network has the
    /// address.
    #[serde(default)]
    pub to: Option<String>,
    pub network: String,
    /// `SYN seq=0`, `ARP who-has 10.0.2.1`, `echo request seq=1`...
    pub label: String,
    /// The drop code when the packet ended here (`sg-inbound`, `lost`...).
    #[serde(default)]
    pub dropped: Option<String>,
}

/// One graded check of a run.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckView {
    pub name: String,
    /// `pass` or `fail`.
    pub status: String,
    pub expect: String,
    pub observed: String,
    pub reason: String,
    #[serde(default)]
    pub at: Option<String>,
    pub explanation: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
    #[serde(default)]
    pub hint: Option<String>,
    pub points: u32,
    pub earned: u32,
    pub path: Vec<String>,
    pub decided_ns: u64,
}

/// The report of a run of the checks, as `wirelab test --format json`
/// prints it.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RunView {
    pub lab: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    pub seed: u64,
    pub passed: usize,
    pub failed: usize,
    pub score: u32,
    pub max_score: u32,
    pub checks: Vec<CheckView>,
}
