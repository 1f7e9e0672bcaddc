//! Per-host connection tracking, as security groups need it.
//!
//! A flow is keyed from the host's point of view (protocol, local address
//! and port, remote address and port), so both directions of a flow map to
//! the same key. ICMP echo uses its identifier as both ports. A packet
//! whose key is tracked is part of an allowed flow ("established"); an
//! ICMP error whose quoted datagram belongs to a tracked flow is "related"
//! (AWS security-group connection tracking; Linux conntrack ESTABLISHED and
//! RELATED). Idle timeouts come with the full TCP.

use std::net::IpAddr;

use crate::packet::{Icmp, Ip, Quoted, L4};

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
        L4::Icmp(_) => (0, 0),
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

/// One host's tracked flows. Hosts track few flows at once, so a vector
/// scanned linearly beats hashing.
#[derive(Clone, Debug, Default)]
pub struct Conntrack {
    flows: Vec<FlowKey>,
}

impl Conntrack {
    pub fn contains(&self, key: &FlowKey) -> bool {
        self.flows.contains(key)
    }

    pub fn insert(&mut self, key: FlowKey) {
        if !self.contains(&key) {
            self.flows.push(key);
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
        ct.insert(FlowKey::outbound(&syn));
        let syn_ack = tcp(
            "10.0.3.10",
            5432,
            "10.0.2.10",
            50000,
            tcp_flags::SYN | tcp_flags::ACK,
        );
        assert!(ct.contains(&FlowKey::inbound(&syn_ack)));
        // Another client port, or another server, is a new flow.
        assert!(!ct.contains(&FlowKey::inbound(&tcp(
            "10.0.3.10",
            5432,
            "10.0.2.10",
            50001,
            tcp_flags::ACK
        ))));
        assert!(!ct.contains(&FlowKey::inbound(&tcp(
            "10.0.3.11",
            5432,
            "10.0.2.10",
            50000,
            tcp_flags::ACK
        ))));
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
            }),
        };
        ct.insert(FlowKey::outbound(&dgram));
        let err = Icmp::Unreachable {
            why: Unreachable::Port,
            quoted: dgram.quote(),
        };
        assert!(ct.contains(&FlowKey::outbound_quoted(&err.quoted().unwrap())));
        let other = Ip {
            dst: "10.0.2.11".parse().unwrap(),
            ..dgram
        };
        assert!(!ct.contains(&FlowKey::outbound_quoted(&other.quote())));
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
        ct.insert(FlowKey::outbound(&req));
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
        assert!(ct.contains(&FlowKey::inbound(&reply)));
        let other = Ip {
            l4: L4::Icmp(Icmp::EchoReply {
                id: 8,
                seq: 1,
                payload_len: 56,
            }),
            ..reply
        };
        assert!(!ct.contains(&FlowKey::inbound(&other)));
    }
}
