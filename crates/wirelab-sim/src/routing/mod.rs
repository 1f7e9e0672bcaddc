//! Dynamic routing protocols, as sans-IO state machines the engine drives:
//! [`link_state`] (modelled on OSPFv2, RFC 2328) and [`distance_vector`]
//! (modelled on RIPv2, RFC 2453).

pub mod distance_vector;
pub mod link_state;
pub mod wire;

use std::net::IpAddr;

use ipnet::IpNet;

/// A message to send on an interface: to every router on the link
/// (`to: None`: OSPF's AllSPFRouters, RIP's multicast group) or to one
/// neighbour's address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Output<M> {
    pub iface: usize,
    pub to: Option<IpAddr>,
    pub message: M,
}

/// An interface as a protocol sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IfaceConfig {
    /// The interface's cost (OSPF) or the metric added to routes learned
    /// there (RIP: 1).
    pub cost: u32,
    /// The prefixes connected there, which the router advertises.
    pub prefixes: Vec<IpNet>,
}

#[cfg(test)]
mod harness;
