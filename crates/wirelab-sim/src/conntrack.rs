//! Per-host connection tracking, as security groups need it.
//!
//! A flow is keyed from the host's point of view (protocol, local address
//! and port, remote address and port), so both directions of a flow map to
//! the same key. ICMP echo uses its identifier as both ports. A packet
//! whose key is tracked is part of an allowed flow ("established"); an
//! ICMP error whose quoted datagram belongs to a tracked flow is "related"
//! (AWS security-group connection tracking; Linux conntrack ESTABLISHED and
//! RELATED). Idle timeouts come with the full TCP.

use std::collections::HashMap;
use std::net::IpAddr;

use crate::packet::{Icmp, Ip, Quoted, L4};
use crate::time::SimTime;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FlowKey {
    pub proto: u8,
    pub local: IpAddr,
    pub local_port: u16,
    pub remote: IpAddr,
    pub remote_port: u16,
}

fn ports(ip: &Ip) -> (u16, u16) {
    match ip.l4 {
        L4::Tcp(t) => (t.src_port, t.dst_port),
        L4::Udp(u) => (u.src_port, u.dst_port),
        L4::Icmp(Icmp::EchoRequest { id, .. } | Icmp::EchoReply { id, .. }) => (id, id),
        L4::Icmp(_) | L4::Ospf(_) => (0, 0),
    }
}

impl FlowKey {
    /// The flow of a packet this host receives.
    pub fn inbound(ip: &Ip) -> FlowKey {
        let (sport, dport) = ports(ip);
        FlowKey {
            proto: ip.proto(),
            local: ip.dst,
            local_port: dport,
            remote: ip.src,
            remote_port: sport,
        }
    }

    /// The flow of a packet this host sends.
    pub fn outbound(ip: &Ip) -> FlowKey {
        let (sport, dport) = ports(ip);
        FlowKey {
            proto: ip.proto(),
            local: ip.src,
            local_port: sport,
            remote: ip.dst,
            remote_port: dport,
        }
    }

    /// The flow of a datagram this host sent, quoted in an ICMP error.
    pub fn outbound_quoted(q: &Quoted) -> FlowKey {
        FlowKey {
            proto: q.proto,
            local: q.src,
            local_port: q.src_port,
            remote: q.dst,
            remote_port: q.dst_port,
        }
    }

    /// The flow of a datagram this host received, quoted in an ICMP error
    /// it sends.
    pub fn inbound_quoted(q: &Quoted) -> FlowKey {
        FlowKey {
            proto: q.proto,
            local: q.dst,
            local_port: q.dst_port,
            remote: q.src,
            remote_port: q.src_port,
        }
    }
}

/// How long a tracked flow may stay idle before it is forgotten, as AWS
/// documents for security groups: TCP 432,000 s (5 days); UDP 30 s, or
/// 180 s once traffic went both ways (a "stream"); other protocols 600 s.
/// ICMP has no documented value: Linux's 30 s is used.
pub fn idle_timeout(proto: u8, both_ways: bool) -> SimTime {
    match (proto, both_ways) {
        (6, _) => SimTime::from_secs(432_000),
        (17, false) => SimTime::from_secs(30),
        (17, true) => SimTime::from_secs(180),
        (1 | 58, _) => SimTime::from_secs(30),
        _ => SimTime::from_secs(600),
    }
}

#[derive(Clone, Copy, Debug)]
struct Entry {
    key: FlowKey,
    last_seen: SimTime,
    /// The flow was opened by a packet this host sent.
    opened_outbound: bool,
    /// Packets went both ways.
    both_ways: bool,
}

impl Entry {
    fn expired(&self, now: SimTime) -> bool {
        now - self.last_seen > idle_timeout(self.key.proto, self.both_ways)
    }
}

/// One host's tracked flows, by key. (A server in a long run tracks
/// thousands: TCP flows stay five days. Nothing iterates the map, so its
/// order never shows.)
#[derive(Clone, Debug, Default)]
pub struct Conntrack {
    flows: HashMap<FlowKey, Entry>,
}

impl Conntrack {
    /// Whether a packet belongs to a tracked flow that has not timed out;
    /// if so, the flow's idle timer restarts. An expired flow is forgotten.
    pub fn refresh(&mut self, key: &FlowKey, now: SimTime, outbound: bool) -> bool {
        let Some(e) = self.flows.get_mut(key) else {
            return false;
        };
        if e.expired(now) {
            self.flows.remove(key);
            return false;
        }
        e.last_seen = now;
        e.both_ways |= e.opened_outbound != outbound;
        true
    }

    /// Whether a flow is tracked and alive (for ICMP errors about it,
    /// which do not keep it alive).
    pub fn tracks(&self, key: &FlowKey, now: SimTime) -> bool {
        self.flows.get(key).is_some_and(|e| !e.expired(now))
    }

    /// Starts tracking a flow that a rule allowed.
    pub fn insert(&mut self, key: FlowKey, now: SimTime, outbound: bool) {
        if !self.refresh(&key, now, outbound) {
            self.flows.insert(
                key,
                Entry {
                    key,
                    last_seen: now,
                    opened_outbound: outbound,
                    both_ways: false,
                },
            );
        }
    }

    pub fn is_empty(&self) -> bool {
        self.flows.is_empty()
    }

    pub fn len(&self) -> usize {
        self.flows.len()
    }

    pub fn clear(&mut self) {
        self.flows.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packet::{tcp_flags, Tcp, Udp, Unreachable};

    fn tcp(src: &str, sport: u16, dst: &str, dport: u16, flags: u8) -> Ip {
        Ip {
            src: src.parse().unwrap(),
            dst: dst.parse().unwrap(),
            ttl: 64,
            l4: L4::Tcp(Tcp {
                src_port: sport,
                dst_port: dport,
                seq: 0,
                ack: 0,
                flags,
                window: 0,
                mss: None,
                payload_len: 0,
                ..Tcp::plain(0, 0, 0, 0, 0, 0)
            }),
        }
    }

    #[test]
    fn a_reply_belongs_to_the_flow_its_request_opened() {
        let mut ct = Conntrack::default();
        let syn = tcp("10.0.2.10", 50000, "10.0.3.10", 5432, tcp_flags::SYN);
        ct.insert(FlowKey::outbound(&syn), SimTime::ZERO, true);
        let syn_ack = tcp(
            "10.0.3.10",
            5432,
            "10.0.2.10",
            50000,
            tcp_flags::SYN | tcp_flags::ACK,
        );
        assert!(ct.refresh(&FlowKey::inbound(&syn_ack), SimTime::ZERO, false));
        // Another client port, or another server, is a new flow.
        assert!(!ct.refresh(
            &FlowKey::inbound(&tcp("10.0.3.10", 5432, "10.0.2.10", 50001, tcp_flags::ACK)),
            SimTime::ZERO,
            false
        ));
        assert!(!ct.refresh(
            &FlowKey::inbound(&tcp("10.0.3.11", 5432, "10.0.2.10", 50000, tcp_flags::ACK)),
            SimTime::ZERO,
            false
        ));
    }

    #[test]
    fn an_icmp_error_about_a_tracked_flow_is_related() {
        let mut ct = Conntrack::default();
        let dgram = Ip {
            src: "10.0.1.10".parse().unwrap(),
            dst: "10.0.2.10".parse().unwrap(),
            ttl: 64,
            l4: L4::Udp(Udp {
                src_port: 50000,
                dst_port: 514,
                payload_len: 10,
                payload: Default::default(),
            }),
        };
        ct.insert(FlowKey::outbound(&dgram), SimTime::ZERO, true);
        let err = Icmp::Unreachable {
            why: Unreachable::Port,
            quoted: dgram.quote(),
        };
        assert!(ct.tracks(
            &FlowKey::outbound_quoted(&err.quoted().unwrap()),
            SimTime::ZERO
        ));
        let other = Ip {
            dst: "10.0.2.11".parse().unwrap(),
            ..dgram
        };
        assert!(!ct.tracks(&FlowKey::outbound_quoted(&other.quote()), SimTime::ZERO));
    }

    #[test]
    fn echo_requests_and_replies_share_the_identifier() {
        let mut ct = Conntrack::default();
        let req = Ip {
            src: "2001:db8::1".parse().unwrap(),
            dst: "2001:db8::2".parse().unwrap(),
            ttl: 64,
            l4: L4::Icmp(Icmp::EchoRequest {
                id: 7,
                seq: 1,
                payload_len: 56,
            }),
        };
        ct.insert(FlowKey::outbound(&req), SimTime::ZERO, true);
        let reply = Ip {
            src: req.dst,
            dst: req.src,
            ttl: 64,
            l4: L4::Icmp(Icmp::EchoReply {
                id: 7,
                seq: 1,
                payload_len: 56,
            }),
        };
        assert!(ct.refresh(&FlowKey::inbound(&reply), SimTime::ZERO, false));
        let other = Ip {
            l4: L4::Icmp(Icmp::EchoReply {
                id: 8,
                seq: 1,
                payload_len: 56,
            }),
            ..reply
        };
        assert!(!ct.refresh(&FlowKey::inbound(&other), SimTime::ZERO, false));
    }

    #[test]
    fn idle_flows_are_forgotten_after_their_timeout() {
        let dgram = Ip {
            src: "10.0.1.10".parse().unwrap(),
            dst: "10.0.2.10".parse().unwrap(),
            ttl: 64,
            l4: L4::Udp(Udp {
                src_port: 50000,
                dst_port: 53,
                payload_len: 10,
                payload: Default::default(),
            }),
        };
        let reply = Ip {
            src: dgram.dst,
            dst: dgram.src,
            ttl: 64,
            l4: L4::Udp(Udp {
                src_port: 53,
                dst_port: 50000,
                payload_len: 10,
                payload: Default::default(),
            }),
        };
        let mut ct = Conntrack::default();
        ct.insert(FlowKey::outbound(&dgram), SimTime::ZERO, true);
        // One way only: 30 s.
        assert!(ct.tracks(&FlowKey::outbound(&dgram), SimTime::from_secs(30)));
        assert!(!ct.tracks(&FlowKey::outbound(&dgram), SimTime::from_secs(31)));
        // A reply within 30 s makes it a stream: 180 s from then.
        assert!(ct.refresh(&FlowKey::inbound(&reply), SimTime::from_secs(20), false));
        assert!(ct.refresh(&FlowKey::inbound(&reply), SimTime::from_secs(199), false));
        assert!(!ct.refresh(&FlowKey::inbound(&reply), SimTime::from_secs(380), false));
        assert!(ct.is_empty(), "an expired flow is dropped from the table");
        assert_eq!(idle_timeout(6, false), SimTime::from_secs(432_000));
        assert_eq!(idle_timeout(47, false), SimTime::from_secs(600));
    }
}
