//! DNS for wirelab, without I/O: zones (inline records and RFC 1035 master
//! files), the answers an authoritative server gives (RFC 1034 §4.3.2), the
//! root and TLD zones synthesized above a lab's own zones, a recursive
//! resolver and its cache (RFC 1034 §5.3.3, RFC 2308), and dig-shaped text.
//!
//! Messages are encoded and decoded by `hickory-proto`, re-exported as
//! [`proto`]. Time is passed in as nanoseconds; nothing here reads a clock,
//! spawns a thread or touches a socket, so the simulator and the real DNS
//! port share one behaviour.

pub use hickory_proto as proto;

pub mod authority;
pub mod cache;
pub mod dig;
pub mod hierarchy;
pub mod resolver;
pub mod stub;
pub mod transport;
pub mod zone;
