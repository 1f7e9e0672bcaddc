//! A pinger: `ping -i INTERVAL -c COUNT` as a workload. It sends echo
//! requests on a fixed schedule whatever comes back, and counts replies.
//! Its packets carry no probe tag, so they cost no per-exchange
//! bookkeeping: this is the engine's throughput workload.

use std::net::IpAddr;

use wirelab_net::{Mac, NodeId};

use crate::engine::{Event, Sim, DEFAULT_TTL};
use crate::packet::{Body, Icmp, Ip, Packet, L4};
use crate::time::SimTime;

#[derive(Clone, Debug)]
pub struct Pinger {
    pub node: NodeId,
    pub src: IpAddr,
    pub dst: IpAddr,
    pub interval: SimTime,
    pub count: u32,
    /// Echo identifier; replies are matched on it.
    pub id: u16,
    pub sent: u32,
    pub received: u32,
}

impl Pinger {
    pub fn new(node: NodeId, src: IpAddr, dst: IpAddr, interval: SimTime, count: u32) -> Pinger {
        Pinger {
            node,
            src,
            dst,
            interval,
            count,
            id: 0,
            sent: 0,
            received: 0,
        }
    }
}

impl<'n> Sim<'n> {
    /// Adds a pinger that starts at `at`; returns its index.
    pub fn add_pinger(&mut self, mut pinger: Pinger, at: SimTime) -> usize {
        let id = self.pingers.len();
        pinger.id = (id as u16).wrapping_add(1);
        self.pingers.push(pinger);
        self.schedule(at, Event::PingerTick { pinger: id as u32 });
        id
    }

    pub fn pingers(&self) -> &[Pinger] {
        &self.pingers
    }

    pub(crate) fn pinger_tick(&mut self, pinger: usize) {
        let p = &mut self.pingers[pinger];
        if p.sent >= p.count {
            return;
        }
        p.sent += 1;
        let (node, src, dst, id, seq, interval) =
            (p.node, p.src, p.dst, p.id, p.sent as u16, p.interval);
        if p.sent < p.count {
            self.schedule(
                self.now + interval,
                Event::PingerTick {
                    pinger: pinger as u32,
                },
            );
        }
        let pkt = Packet {
            src_mac: Mac([0; 6]),
            dst_mac: Mac([0; 6]),
            body: Body::Ip(Ip {
                src,
                dst,
                ttl: DEFAULT_TTL,
                l4: L4::Icmp(Icmp::EchoRequest {
                    id,
                    seq,
                    payload_len: 56,
                }),
            }),
            tag: 0,
            id: self.new_packet_id(),
        };
        self.send_ip(node, pkt);
    }

    pub(crate) fn pinger_reply(&mut self, node: NodeId, id: u16) {
        if let Some(p) = (id as usize)
            .checked_sub(1)
            .and_then(|i| self.pingers.get_mut(i))
        {
            if p.node == node {
                p.received += 1;
            }
        }
    }
}
