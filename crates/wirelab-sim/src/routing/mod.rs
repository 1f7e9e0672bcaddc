//! Dynamic routing protocols, as sans-IO state machines the engine drives:
//! [`link_state`] (modelled on OSPFv2, RFC 2328) and [`distance_vector`]
//! (modelled on RIPv2, RFC 2453).

pub mod distance_vector;
pub mod link_state;

#[cfg(test)]
mod harness;
