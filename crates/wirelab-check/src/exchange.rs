//! One exchange between two endpoints of a lab: what a check or a trace
//! runs, from a fresh network state.

use std::net::IpAddr;

use wirelab_net::{Network, NodeId};
use wirelab_sim::{Probe, ProbeKind, ProbeResult, Sim, SimTime, Step, TraceLevel};
use wirelab_spec::{Check, CheckProto, CheckTarget, Family, HostId};

/// Every probe has decided well before this; it bounds a run whose probe
/// somehow never decides.
pub const EXCHANGE_TIME_MAX: SimTime = SimTime::from_secs(30);

/// What to send, from where, to where.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Plan {
    pub from: HostId,
    pub src: IpAddr,
    pub dst: IpAddr,
    pub kind: ProbeKind,
    /// When the probe starts (see [`Sim::reset_to`]).
    pub at: Option<SimTime>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PlanError {
    /// The source host has no address of the family.
    NoSourceAddress { host: String, family: Family },
    /// The destination host has no address of the family.
    NoDestinationAddress { host: String, family: Family },
    /// TCP and UDP need a port.
    MissingPort,
    /// The destination is a DNS name, looked up in the simulation first.
    Unresolved(String),
    /// An exhaustive check has no single source to probe from.
    Exhaustive,
}

impl std::fmt::Display for PlanError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PlanError::NoSourceAddress { host, family } => {
                write!(f, "`{host}` has no {} address", family.code())
            }
            PlanError::NoDestinationAddress { host, family } => {
                write!(f, "`{host}` has no {} address", family.code())
            }
            PlanError::MissingPort => f.write_str("tcp and udp need a port"),
            PlanError::Exhaustive => f.write_str(
                "an exhaustive check (`reachable_from`) has no single probe; `wirelab reach` shows its answer",
            ),
            PlanError::Unresolved(name) => {
                write!(
                    f,
                    "`{name}` is a DNS name: it is looked up in the simulation first"
                )
            }
        }
    }
}

fn host_addr(net: &Network, host: HostId, family: Family) -> Option<IpAddr> {
    let h = &net.lab.hosts[host];
    match family {
        Family::Ipv4 => h.ipv4.map(IpAddr::V4),
        Family::Ipv6 => h.ipv6.map(IpAddr::V6),
    }
}

impl Plan {
    pub fn new(
        net: &Network,
        from: HostId,
        to: &CheckTarget,
        proto: CheckProto,
        port: Option<u16>,
        family: Family,
    ) -> Result<Plan, PlanError> {
        let src = host_addr(net, from, family).ok_or_else(|| PlanError::NoSourceAddress {
            host: net.lab.hosts[from].name.value.clone(),
            family,
        })?;
        let dst = match to {
            CheckTarget::Address(a) => *a,
            CheckTarget::Host(h) => {
                host_addr(net, *h, family).ok_or_else(|| PlanError::NoDestinationAddress {
                    host: net.lab.hosts[*h].name.value.clone(),
                    family,
                })?
            }
            CheckTarget::Name(name) => return Err(PlanError::Unresolved(name.clone())),
        };
        let kind = match (proto, port) {
            (CheckProto::Tcp, Some(port)) => ProbeKind::Tcp { port },
            (CheckProto::Udp, Some(port)) => ProbeKind::Udp { port },
            (CheckProto::Icmp, _) => ProbeKind::Ping,
            _ => return Err(PlanError::MissingPort),
        };
        Ok(Plan {
            from,
            src,
            dst,
            kind,
            at: None,
        })
    }

    pub fn for_check(net: &Network, check: &Check) -> Result<Plan, PlanError> {
        if check.reach.is_some() {
            return Err(PlanError::Exhaustive);
        }
        let plan = Plan::new(
            net,
            check.from,
            &check.to,
            check.proto,
            check.port,
            check.family,
        )?;
        Ok(Plan {
            at: check.at_ns.map(SimTime),
            ..plan
        })
    }
}

/// What an exchange did.
#[derive(Clone, Debug)]
pub struct Exchange {
    pub plan: Plan,
    pub result: ProbeResult,
    /// Routers that forwarded the first request, in order.
    pub path: Vec<NodeId>,
}

/// Derives a check's own seed from the lab's, so that every check sees
/// the same randomness however checks are scheduled on threads.
pub fn check_seed(lab_seed: u64, index: usize) -> u64 {
    // SplitMix64 finalizer over the pair.
    let mut z = lab_seed
        ^ (index as u64)
            .wrapping_add(1)
            .wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Runs one exchange on `sim`, which is reset first. The trace stays in
/// `sim` for the caller to read.
pub fn run_exchange(sim: &mut Sim<'_>, plan: Plan, seed: u64) -> Exchange {
    sim.reset_to(seed, plan.at);
    run_exchange_now(sim, plan)
}

/// Runs one exchange starting at the simulation's present time, on the
/// state it is in (after a DNS lookup, say).
pub fn run_exchange_now(sim: &mut Sim<'_>, plan: Plan) -> Exchange {
    let net = sim.network();
    let node = net.host_node(plan.from);
    let start = sim.now();
    let id = sim.add_probe(Probe::new(node, plan.src, plan.dst, plan.kind), start);
    sim.run_probes(start + EXCHANGE_TIME_MAX);
    let result = sim.probe_result(id).unwrap_or(ProbeResult {
        outcome: wirelab_spec::Outcome::Deny,
        reason: wirelab_spec::Reason::Timeout,
        node: None,
        drop: sim.probe(id).first_drop.map(|(_, d)| d),
        time: sim.now(),
    });
    let path = request_path(sim, id);
    Exchange { plan, result, path }
}

/// The routers that forwarded a probe's first request, in order.
fn request_path(sim: &Sim<'_>, probe: usize) -> Vec<NodeId> {
    let first = sim.probe(probe).first_request;
    sim.trace()
        .iter()
        .filter(|e| Some(e.packet.id) == first && matches!(e.step, Step::Forward { .. }))
        .map(|e| e.node)
        .collect()
}

/// Runs an exchange and keeps going until the network is quiet (or the
/// time limit), so a trace shows the whole conversation, close included.
pub fn trace_exchange<'n>(net: &'n Network, plan: Plan, seed: u64) -> (Exchange, Sim<'n>) {
    let mut sim = Sim::new(net, seed, TraceLevel::Full);
    let mut ex = run_exchange(&mut sim, plan, seed);
    let decided = sim.now();
    sim.run_until(decided + SimTime::from_secs(1));
    ex.path = request_path(&sim, 0);
    (ex, sim)
}
