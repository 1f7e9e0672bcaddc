//! Dynamic routing protocols, as sans-IO state machines the engine drives:
//! [`link_state`] (modelled on OSPFv2).

pub mod link_state;
