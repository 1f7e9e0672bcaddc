//! wirelab-sim: the deterministic discrete-event engine and what nodes do
//! with packets — ARP and neighbour discovery, IP forwarding, ICMP, security
//! groups with connection tracking, NACLs, UDP and the TCP that checks need.
//!
//! Time is integer nanoseconds ([`SimTime`]); events are ordered by (time,
//! sequence); every random choice draws from a ChaCha stream seeded from
//! the lab's seed. Nothing here touches the wall clock, threads or I/O.

pub mod conntrack;
pub mod counters;
pub mod dns_apps;
pub mod engine;
pub mod http_apps;
pub mod nat;
pub mod neigh;
pub mod packet;
pub mod pinger;
pub mod probe;
pub mod queue;
pub mod routing;
pub mod routing_apps;
pub mod scenario;
pub mod stop;
pub mod tcp;
pub mod tcp_apps;
pub mod time;
pub mod trace;
pub mod udp_source;

pub use counters::{RuleInfo, RuleOwner, RunCounters};
pub use dns_apps::Lookup;
pub use engine::{CapturedFrame, Counters, IfaceStats, Limits, Sim};
pub use packet::Packet;
pub use pinger::Pinger;
pub use probe::{Probe, ProbeAnswer, ProbeKind, ProbeResult};
pub use stop::StopFlag;
pub use time::SimTime;
pub use trace::{
    Drop, DropCause, NatField, NatPhase, NatStep, SgPass, Step, TraceEvent, TraceLevel,
};
pub use udp_source::UdpSource;
