//! An on/off UDP source: datagrams at a constant rate while on, nothing
//! while off (the classic on/off traffic model), until its duration ends.
//! The receiving host counts what a listening service got.

use std::net::IpAddr;

use wirelab_net::{Mac, NodeId};

use crate::engine::{Event, Sim, DEFAULT_TTL};
use crate::packet::{Body, Ip, Packet, Tag, Udp, L4};
use crate::time::SimTime;

/// Tags of workload packets have this bit set; the rest is the workload's
/// index. Probe tags never reach it.
pub const FLOW_TAG: Tag = 1 << 31;

#[derive(Clone, Debug)]
pub struct UdpSource {
    pub node: NodeId,
    pub src: IpAddr,
    pub dst: IpAddr,
    pub dst_port: u16,
    pub src_port: u16,
    pub rate_bps: u64,
    pub on: SimTime,
    pub off: SimTime,
    /// UDP payload bytes per datagram.
    pub packet_bytes: u32,
    pub start: SimTime,
    pub end: SimTime,
    /// The workload this source belongs to (its packets' tag).
    pub flow: u32,
    pub sent: u64,
    pub received: u64,
    pub received_bytes: u64,
    pub last_received: Option<SimTime>,
    /// The last datagram has been sent.
    pub finished: bool,
}

impl UdpSource {
    /// Time between two datagrams at the source's rate (whole datagrams,
    /// counting the UDP payload).
    fn gap(&self) -> SimTime {
        let bits = u64::from(self.packet_bytes) * 8;
        SimTime((bits * 1_000_000_000).div_ceil(self.rate_bps.max(1)).max(1))
    }

    /// When the next datagram goes, given the previous one went at `t`;
    /// `None` once the source is finished.
    fn next_after(&self, t: SimTime) -> Option<SimTime> {
        let next = t + self.gap();
        let cycle = (self.on + self.off).0.max(1);
        let into = (next - self.start).0 % cycle;
        let next = if into < self.on.0 {
            next
        } else {
            next + SimTime(cycle - into)
        };
        (next < self.end).then_some(next)
    }
}

impl<'n> Sim<'n> {
    pub fn add_udp_source(&mut self, source: UdpSource) -> usize {
        let id = self.udp_sources.len();
        let start = source.start;
        let live = start < source.end && source.on.0 > 0;
        self.udp_sources.push(source);
        if live {
            self.schedule(start, Event::UdpTick { source: id as u32 });
        }
        id
    }

    pub fn udp_sources(&self) -> &[UdpSource] {
        &self.udp_sources
    }

    pub(crate) fn udp_tick(&mut self, source: usize) {
        let s = &mut self.udp_sources[source];
        if self.now >= s.end {
            // The end of the last period: the source is done.
            if !s.finished {
                s.finished = true;
                self.workloads_done += 1;
            }
            return;
        }
        s.sent += 1;
        let next = s.next_after(self.now).unwrap_or(s.end);
        let pkt = Packet {
            src_mac: Mac([0; 6]),
            dst_mac: Mac([0; 6]),
            body: Body::Ip(Ip {
                src: s.src,
                dst: s.dst,
                ttl: DEFAULT_TTL,
                l4: L4::Udp(Udp {
                    src_port: s.src_port,
                    dst_port: s.dst_port,
                    payload_len: s.packet_bytes,
                    payload: Default::default(),
                }),
            }),
            tag: FLOW_TAG | s.flow,
            id: 0,
        };
        let node = s.node;
        self.schedule(
            next,
            Event::UdpTick {
                source: source as u32,
            },
        );
        let pkt = Packet {
            id: self.new_packet_id(),
            ..pkt
        };
        self.send_ip(node, pkt);
    }

    /// A datagram of a workload reached a listening service.
    pub(crate) fn udp_source_delivered(&mut self, tag: Tag, bytes: u32) {
        let now = self.now;
        let flow = tag & !FLOW_TAG;
        if let Some(s) = self.udp_sources.iter_mut().find(|s| s.flow == flow) {
            s.received += 1;
            s.received_bytes += u64::from(bytes);
            s.last_received = Some(now);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(rate_bps: u64, on_ms: u64, off_ms: u64, end_ms: u64) -> UdpSource {
        UdpSource {
            node: 0,
            src: "10.0.0.1".parse().unwrap(),
            dst: "10.0.0.2".parse().unwrap(),
            dst_port: 5004,
            src_port: 50000,
            rate_bps,
            on: SimTime::from_millis(on_ms),
            off: SimTime::from_millis(off_ms),
            packet_bytes: 125,
            start: SimTime::from_millis(100),
            end: SimTime::from_millis(end_ms),
            flow: 0,
            sent: 0,
            received: 0,
            received_bytes: 0,
            last_received: None,
            finished: false,
        }
    }

    #[test]
    fn sends_at_its_rate_while_on_and_waits_out_the_off_period() {
        // 1000 bits per datagram at 100 kbit/s: one every 10 ms.
        let s = source(100_000, 30, 70, 1_000);
        let mut t = s.start;
        let mut times = vec![t];
        while let Some(n) = s.next_after(t) {
            times.push(n);
            t = n;
        }
        let ms: Vec<u64> = times.iter().take(6).map(|t| t.0 / 1_000_000).collect();
        assert_eq!(ms, [100, 110, 120, 200, 210, 220]);
        // Nine on periods of three datagrams fit before 1 s... and the
        // tenth starts at 1000 ms, which is the end.
        assert_eq!(times.len(), 27);
    }
}
