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
    /// Bytes of data in each echo request (ping's `-s`, 56 by default).
    pub payload_len: u32,
    /// Echo identifier; replies are matched on it.
    pub id: u16,
    /// When the first request goes out; request `seq` goes out at
    /// `start + (seq - 1) × interval`, so a reply's round trip needs no
    /// per-request state.
    pub start: SimTime,
    pub sent: u32,
    pub received: u32,
    pub rtt_ns_min: Option<u64>,
    pub rtt_ns_sum: u64,
    /// When the last reply arrived.
    pub last_reply: Option<SimTime>,
    /// Every echo was answered, or the wait after the last one is over.
    pub finished: bool,
}

/// How long a pinger waits for replies after its last request (ping's
/// `-W` is per reply; a whole-series wait is simpler and bounded).
pub const PING_WAIT: SimTime = SimTime::from_secs(2);

impl Pinger {
    pub fn new(node: NodeId, src: IpAddr, dst: IpAddr, interval: SimTime, count: u32) -> Pinger {
        Pinger {
            node,
            src,
            dst,
            interval,
            count,
            payload_len: 56,
            id: 0,
            start: SimTime::ZERO,
            sent: 0,
            received: 0,
            rtt_ns_min: None,
            rtt_ns_sum: 0,
            last_reply: None,
            finished: false,
        }
    }
}

impl<'n> Sim<'n> {
    /// Adds a pinger that starts at `at`; returns its index.
    pub fn add_pinger(&mut self, mut pinger: Pinger, at: SimTime) -> usize {
        let id = self.pingers.len();
        pinger.id = (id as u16).wrapping_add(1);
        pinger.start = at;
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
            // The wait after the last request is over.
            if !p.finished {
                p.finished = true;
                self.workloads_done += 1;
            }
            return;
        }
        p.sent += 1;
        let (node, src, dst, id, seq, interval, payload_len) = (
            p.node,
            p.src,
            p.dst,
            p.id,
            p.sent as u16,
            p.interval,
            p.payload_len,
        );
        let next = if p.sent < p.count {
            interval
        } else {
            PING_WAIT
        };
        self.schedule(
            self.now + next,
            Event::PingerTick {
                pinger: pinger as u32,
            },
        );
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
                    payload_len,
                }),
            }),
            tag: 0,
            id: self.new_packet_id(),
        };
        self.send_ip(node, pkt);
    }

    pub(crate) fn pinger_reply(&mut self, node: NodeId, id: u16, seq: u16) {
        let now = self.now;
        let Some(p) = (id as usize)
            .checked_sub(1)
            .and_then(|i| self.pingers.get_mut(i))
        else {
            return;
        };
        if p.node != node || seq == 0 || u32::from(seq) > p.sent {
            return;
        }
        let sent_at = p.start + SimTime(p.interval.0 * u64::from(seq - 1));
        let rtt = (now - sent_at).0;
        p.received += 1;
        p.rtt_ns_min = Some(p.rtt_ns_min.map_or(rtt, |m| m.min(rtt)));
        p.rtt_ns_sum += rtt;
        p.last_reply = Some(now);
        if p.received == p.count && !p.finished {
            p.finished = true;
            self.workloads_done += 1;
        }
    }
}
