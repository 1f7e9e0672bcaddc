//! Probes: the client side of one exchange (a TCP connection, a UDP
//! datagram, a ping), and the minimal server side TCP needs.
//!
//! A probe decides its outcome from what comes back, the way `nc -z`,
//! `ping` or a UDP client would see it, and remembers the first drop of
//! any of its packets (request or reply), which is the reason a check
//! reports. The full TCP state machine (RFC 9293) is its own piece of
//! work; here TCP does what checks need: SYN, SYN-ACK, ACK, RST on a
//! closed port, and a FIN close.

use std::net::IpAddr;

use wirelab_net::NodeId;
use wirelab_spec::{Outcome, Reason};

use crate::engine::{Event, Sim, DEFAULT_TTL};
use crate::packet::{tcp_flags::*, Body, Icmp, Ip, Packet, Tag, Tcp, Udp, L4};
use crate::time::SimTime;
use crate::trace::Drop;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProbeKind {
    Tcp { port: u16 },
    Udp { port: u16 },
    Ping,
}

/// How long a probe keeps trying: TCP retransmits its SYN after 1 s and
/// 2 s more (RFC 6298 initial RTO, doubled) and gives up 4 s after the
/// last; UDP and ping send up to three times, one second apart, and wait
/// two seconds after the last.
const TCP_SYN_TRIES: u8 = 3;
/// Bytes of the request a TCP probe sends once connected.
const REQUEST_LEN: u32 = 32;
const DATAGRAM_TRIES: u8 = 3;

fn retry_delay(kind: ProbeKind, attempt: u8) -> SimTime {
    match kind {
        ProbeKind::Tcp { .. } => SimTime::from_secs(1 << attempt.saturating_sub(1).min(10)),
        _ if attempt < DATAGRAM_TRIES => SimTime::from_secs(1),
        _ => SimTime::from_secs(2),
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ClientState {
    Idle,
    SynSent,
    FinWait,
    Waiting,
    Done,
}

/// The first ICMP message that came back for a probe, as the sending
/// socket sees it: `ping` prints the reply's TTL, `traceroute` the router
/// that said "time exceeded".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProbeAnswer {
    /// The source address of the message.
    pub from: IpAddr,
    /// Its TTL (hop limit) on arrival.
    pub ttl: u8,
    pub icmp: Icmp,
    pub time: SimTime,
}

/// What a probe observed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProbeResult {
    pub outcome: Outcome,
    pub reason: Reason,
    /// Where it was decided: the node that dropped the packet, or the
    /// node that answered.
    pub node: Option<NodeId>,
    /// The drop behind a deny.
    pub drop: Option<Drop>,
    pub time: SimTime,
}

#[derive(Clone, Debug)]
pub struct Probe {
    pub node: NodeId,
    pub src: IpAddr,
    pub dst: IpAddr,
    pub kind: ProbeKind,
    local_port: u16,
    isn: u32,
    rcv_nxt: u32,
    state: ClientState,
    attempts: u8,
    /// TTL (hop limit) of the requests it sends.
    ttl: u8,
    /// Tries before giving up, and the wait after the last one; `None` for
    /// the defaults above.
    tries: Option<(u8, SimTime)>,
    /// The first ICMP message about the probe, or its echo reply.
    pub answer: Option<ProbeAnswer>,
    /// The first packet the probe sent (its path is the request's path).
    pub first_request: Option<u32>,
    pub first_drop: Option<(NodeId, Drop)>,
    pub result: Option<ProbeResult>,
}

impl Probe {
    pub fn new(node: NodeId, src: IpAddr, dst: IpAddr, kind: ProbeKind) -> Probe {
        Probe {
            node,
            src,
            dst,
            kind,
            local_port: 0,
            isn: 0,
            rcv_nxt: 0,
            state: ClientState::Idle,
            attempts: 0,
            ttl: DEFAULT_TTL,
            tries: None,
            answer: None,
            first_request: None,
            first_drop: None,
            result: None,
        }
    }

    /// Sends with this TTL (hop limit) instead of the default 64, as
    /// `traceroute` does.
    pub fn with_ttl(mut self, ttl: u8) -> Probe {
        assert!(ttl > 0, "a TTL of 0 is never sent");
        self.ttl = ttl;
        self
    }

    /// Tries `tries` times (one second apart for datagrams, the TCP
    /// backoff for TCP) and gives up `wait` after the last try, as one
    /// echo of `ping` or one probe of `traceroute` does.
    pub fn with_tries(mut self, tries: u8, wait: SimTime) -> Probe {
        assert!(tries > 0, "a probe tries at least once");
        self.tries = Some((tries, wait));
        self
    }

    fn tries_max(&self) -> u8 {
        match (self.tries, self.kind) {
            (Some((tries, _)), _) => tries,
            (None, ProbeKind::Tcp { .. }) => TCP_SYN_TRIES,
            (None, _) => DATAGRAM_TRIES,
        }
    }

    /// How long after try `attempt` the probe tries again or gives up.
    fn delay_after(&self, attempt: u8) -> SimTime {
        match self.tries {
            Some((tries, wait)) if attempt >= tries => wait,
            _ => retry_delay(self.kind, attempt),
        }
    }
}

fn tag_of(probe: usize) -> Tag {
    probe as Tag + 1
}

fn probe_of(tag: Tag) -> Option<usize> {
    (tag as usize).checked_sub(1)
}

/// A passive TCP connection on a listening port.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ServerConn {
    node: NodeId,
    local: IpAddr,
    local_port: u16,
    remote: IpAddr,
    remote_port: u16,
    state: ServerState,
    snd_nxt: u32,
    rcv_nxt: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ServerState {
    SynReceived,
    Established,
    LastAck,
    Closed,
}

impl<'n> Sim<'n> {
    pub fn probe(&self, id: usize) -> &Probe {
        &self.probes[id]
    }

    pub fn probe_result(&self, id: usize) -> Option<ProbeResult> {
        self.probes[id].result
    }

    /// Runs until every probe has decided (or the time limit).
    pub fn run_probes(&mut self, until: SimTime) -> bool {
        self.run_while(until, |s| s.probes.iter().all(|p| p.result.is_some()))
    }

    pub(crate) fn probe_start(&mut self, probe: usize) {
        let port = self.random_port();
        let isn = self.random_u32();
        let p = &mut self.probes[probe];
        p.local_port = port;
        p.isn = isn;
        self.probe_send(probe);
    }

    fn probe_packet(&mut self, probe: usize, l4: L4) -> Packet {
        let p = &self.probes[probe];
        let ip = Ip {
            src: p.src,
            dst: p.dst,
            ttl: p.ttl,
            l4,
        };
        Packet {
            src_mac: wirelab_net::Mac([0; 6]),
            dst_mac: wirelab_net::Mac([0; 6]),
            body: Body::Ip(ip),
            tag: tag_of(probe),
            id: self.new_packet_id(),
        }
    }

    /// Sends (or re-sends) the probe's request and arms its timer.
    fn probe_send(&mut self, probe: usize) {
        let p = &self.probes[probe];
        let (kind, lport, isn) = (p.kind, p.local_port, p.isn);
        let l4 = match kind {
            ProbeKind::Tcp { port } => L4::Tcp(Tcp {
                src_port: lport,
                dst_port: port,
                seq: isn,
                ack: 0,
                flags: SYN,
                window: 64240,
                mss: Some(1460),
                payload_len: 0,
                ..Tcp::plain(0, 0, 0, 0, 0, 0)
            }),
            // To the DNS port the datagram is a real DNS query (`. NS`,
            // as `dig` sends to test a server), so captures stay clean and
            // a DNS server answers it.
            ProbeKind::Udp { port } if port == crate::dns_apps::DNS_PORT => {
                let bytes = crate::dns_apps::probe_query(lport);
                let payload_len = bytes.len() as u32;
                L4::Udp(Udp {
                    src_port: lport,
                    dst_port: port,
                    payload_len,
                    payload: self.store_payload(bytes),
                })
            }
            ProbeKind::Udp { port } => L4::Udp(Udp {
                src_port: lport,
                dst_port: port,
                payload_len: 32,
                payload: Default::default(),
            }),
            ProbeKind::Ping => L4::Icmp(Icmp::EchoRequest {
                id: lport,
                seq: u16::from(self.probes[probe].attempts) + 1,
                payload_len: 56,
            }),
        };
        let pkt = self.probe_packet(probe, l4);
        let p = &mut self.probes[probe];
        p.attempts += 1;
        p.state = match kind {
            ProbeKind::Tcp { .. } => ClientState::SynSent,
            _ => ClientState::Waiting,
        };
        p.first_request.get_or_insert(pkt.id);
        let attempt = p.attempts;
        let node = p.node;
        let delay = p.delay_after(attempt);
        self.record(node, &pkt, crate::trace::Step::Send);
        self.schedule(
            self.now + delay,
            Event::ProbeTimer {
                probe: probe as u32,
                attempt,
            },
        );
        self.send_ip(node, pkt);
    }

    pub(crate) fn probe_timer(&mut self, probe: usize, attempt: u8) {
        let p = &self.probes[probe];
        if p.result.is_some() || p.attempts != attempt {
            return;
        }
        if attempt < p.tries_max() {
            self.probe_send(probe);
        } else {
            self.decide_deny(probe);
        }
    }

    fn decide(&mut self, probe: usize, outcome: Outcome, reason: Reason, node: Option<NodeId>) {
        let now = self.now;
        let p = &mut self.probes[probe];
        if p.result.is_none() {
            p.result = Some(ProbeResult {
                outcome,
                reason,
                node,
                drop: None,
                time: now,
            });
        }
    }

    /// No answer, or an error: the reason is the first drop of any of the
    /// probe's packets, else a timeout.
    fn decide_deny(&mut self, probe: usize) {
        let now = self.now;
        let p = &mut self.probes[probe];
        if p.result.is_some() {
            return;
        }
        p.state = ClientState::Done;
        p.result = Some(match p.first_drop {
            Some((node, drop)) => ProbeResult {
                outcome: Outcome::Deny,
                reason: drop.cause.reason(),
                node: Some(node),
                drop: Some(drop),
                time: now,
            },
            None => ProbeResult {
                outcome: Outcome::Deny,
                reason: Reason::Timeout,
                node: None,
                drop: None,
                time: now,
            },
        });
    }

    pub(crate) fn probe_saw_drop(&mut self, tag: Tag, node: NodeId, drop: Drop) {
        if let Some(p) = probe_of(tag).and_then(|i| self.probes.get_mut(i)) {
            p.first_drop.get_or_insert((node, drop));
        }
    }

    /// The probe's own host refused to send (no route, security group,
    /// unreachable gateway): the application learns at once.
    pub(crate) fn probe_local_error(&mut self, tag: Tag) {
        if let Some(i) = probe_of(tag).filter(|&i| i < self.probes.len()) {
            if self.probes[i].result.is_none() && self.probes[i].state != ClientState::FinWait {
                self.decide_deny(i);
            }
        }
    }

    /// The node that owns `addr`; loopback addresses belong to `node`.
    fn answering_node(&self, node: NodeId, addr: IpAddr) -> Option<NodeId> {
        if addr.is_loopback() {
            return Some(node);
        }
        self.net
            .owner(addr)
            .map(|f| self.net.ifaces[f].node)
            .or_else(|| {
                // A NAT router's pool and 1:1 addresses are its own.
                let mut routers = self.net.router_nodes.iter().copied();
                routers.find(|&n| self.nat_owns(n, addr))
            })
    }

    fn is_probe_host(&self, tag: Tag, node: NodeId, ip: &Ip) -> Option<usize> {
        let i = probe_of(tag).filter(|&i| i < self.probes.len())?;
        let p = &self.probes[i];
        (p.node == node && p.src == ip.dst).then_some(i)
    }

    /// ICMP (other than an echo request) arriving at a host.
    pub(crate) fn probe_icmp(&mut self, node: NodeId, pkt: &Packet, ip: &Ip, icmp: Icmp) {
        let Some(i) = self.is_probe_host(pkt.tag, node, ip) else {
            return;
        };
        let now = self.now;
        self.probes[i].answer.get_or_insert(ProbeAnswer {
            from: ip.src,
            ttl: ip.ttl,
            icmp,
            time: now,
        });
        match icmp {
            Icmp::EchoReply { id, .. }
                if self.probes[i].kind == ProbeKind::Ping && id == self.probes[i].local_port =>
            {
                self.decide(
                    i,
                    Outcome::Allow,
                    Reason::Delivered,
                    self.answering_node(node, self.nat_real_source(ip).unwrap_or(ip.src)),
                );
                self.probes[i].state = ClientState::Done;
            }
            Icmp::Unreachable {
                why: crate::packet::Unreachable::Port,
                ..
            } if matches!(self.probes[i].kind, ProbeKind::Udp { .. }) => {
                let at = self.answering_node(node, self.nat_real_source(ip).unwrap_or(ip.src));
                self.decide(i, Outcome::Refused, Reason::Refused, at);
                self.probes[i].state = ClientState::Done;
            }
            // Linux aborts a connect() in SYN-SENT on an ICMP error, and
            // ping reports it; either way the exchange is over.
            Icmp::Unreachable { .. } | Icmp::TimeExceeded { .. } | Icmp::TooBig { .. }
                if self.probes[i].state != ClientState::FinWait =>
            {
                self.decide_deny(i);
            }
            _ => {}
        }
    }

    /// A UDP datagram for the probe's own port (a DNS server's answer to
    /// a probe of port 53): the probe's socket reads it.
    pub(crate) fn probe_reads_udp(&self, tag: Tag, node: NodeId, ip: &Ip, port: u16) -> bool {
        self.is_probe_host(tag, node, ip)
            .is_some_and(|i| self.probes[i].local_port == port)
    }

    /// A UDP datagram reached a listening service.
    pub(crate) fn probe_delivered(&mut self, tag: Tag, node: NodeId, _ip: &Ip, _port: u16) {
        if let Some(i) = probe_of(tag).filter(|&i| i < self.probes.len()) {
            self.decide(i, Outcome::Allow, Reason::Delivered, Some(node));
            self.probes[i].state = ClientState::Done;
        }
    }

    /// A TCP segment for the probe's own connection; false if it is not.
    pub(crate) fn probe_tcp(&mut self, node: NodeId, pkt: &Packet, ip: &Ip, t: Tcp) -> bool {
        let Some(i) = self.is_probe_host(pkt.tag, node, ip) else {
            return false;
        };
        let p = &self.probes[i];
        if t.dst_port != p.local_port || !matches!(p.kind, ProbeKind::Tcp { .. }) {
            return false;
        }
        let (state, isn) = (p.state, p.isn);
        let server = self.answering_node(node, self.nat_real_source(ip).unwrap_or(ip.src));
        match state {
            ClientState::SynSent if t.flags & RST != 0 && t.ack == isn.wrapping_add(1) => {
                self.decide(i, Outcome::Refused, Reason::Refused, server);
                self.probes[i].state = ClientState::Done;
            }
            ClientState::SynSent
                if t.flags & (SYN | ACK) == SYN | ACK && t.ack == isn.wrapping_add(1) =>
            {
                self.decide(i, Outcome::Allow, Reason::Delivered, server);
                let rcv_nxt = t.seq.wrapping_add(1);
                self.probes[i].rcv_nxt = rcv_nxt;
                self.probes[i].state = ClientState::FinWait;
                let seq = isn.wrapping_add(1);
                let ack = self.client_segment(i, seq, rcv_nxt, ACK, t.src_port, 0);
                self.send_ip(node, ack);
                // A short request, then close: the check only needed the
                // handshake, but a connection that carries nothing is not
                // what applications do.
                let data = self.client_segment(i, seq, rcv_nxt, PSH | ACK, t.src_port, REQUEST_LEN);
                self.send_ip(node, data);
                let seq = seq.wrapping_add(REQUEST_LEN);
                let fin = self.client_segment(i, seq, rcv_nxt, FIN | ACK, t.src_port, 0);
                self.send_ip(node, fin);
            }
            ClientState::FinWait if t.flags & FIN != 0 => {
                let rcv_nxt = t.seq.wrapping_add(1);
                self.probes[i].state = ClientState::Done;
                let seq = isn.wrapping_add(2 + REQUEST_LEN);
                let ack = self.client_segment(i, seq, rcv_nxt, ACK, t.src_port, 0);
                self.send_ip(node, ack);
            }
            _ => {}
        }
        true
    }

    fn client_segment(
        &mut self,
        probe: usize,
        seq: u32,
        ack: u32,
        flags: u8,
        dst_port: u16,
        payload_len: u32,
    ) -> Packet {
        let lport = self.probes[probe].local_port;
        let pkt = self.probe_packet(
            probe,
            L4::Tcp(Tcp {
                src_port: lport,
                dst_port,
                seq,
                ack,
                flags,
                window: 64240,
                mss: None,
                payload_len,
                ..Tcp::plain(0, 0, 0, 0, 0, 0)
            }),
        );
        self.record(self.probes[probe].node, &pkt, crate::trace::Step::Send);
        pkt
    }

    /// A segment for a listening port (RFC 9293 §3.10.7.2 LISTEN, and the
    /// few states a passive open goes through to close).
    pub(crate) fn tcp_listener(&mut self, node: NodeId, pkt: &Packet, ip: &Ip, t: Tcp) {
        let found = self.servers.iter().position(|c| {
            c.node == node
                && c.local == ip.dst
                && c.local_port == t.dst_port
                && c.remote == ip.src
                && c.remote_port == t.src_port
                && c.state != ServerState::Closed
        });
        let reply = |sim: &mut Sim<'n>, seq: u32, ack: u32, flags: u8, mss: Option<u16>| {
            let l4 = L4::Tcp(Tcp {
                src_port: t.dst_port,
                dst_port: t.src_port,
                seq,
                ack,
                flags,
                window: 65160,
                mss,
                ..Tcp::plain(0, 0, 0, 0, 0, 0)
            });
            let r = sim.reply_to(pkt, ip, l4);
            sim.record(node, &r, crate::trace::Step::Reply);
            sim.send_ip(node, r);
        };
        match found {
            None if t.flags & SYN != 0 && t.flags & ACK == 0 => {
                let isn = self.random_u32();
                let rcv_nxt = t.seq.wrapping_add(1);
                self.servers.push(ServerConn {
                    node,
                    local: ip.dst,
                    local_port: t.dst_port,
                    remote: ip.src,
                    remote_port: t.src_port,
                    state: ServerState::SynReceived,
                    snd_nxt: isn.wrapping_add(1),
                    rcv_nxt,
                });
                reply(self, isn, rcv_nxt, SYN | ACK, Some(1460));
            }
            None => {}
            Some(c) => {
                let conn = self.servers[c];
                match conn.state {
                    ServerState::SynReceived if t.flags & SYN != 0 => {
                        // A retransmitted SYN: answer it again.
                        reply(
                            self,
                            conn.snd_nxt.wrapping_sub(1),
                            conn.rcv_nxt,
                            SYN | ACK,
                            Some(1460),
                        );
                    }
                    ServerState::SynReceived | ServerState::Established if t.flags & FIN != 0 => {
                        let rcv_nxt = t.seq.wrapping_add(t.payload_len + 1);
                        self.servers[c].rcv_nxt = rcv_nxt;
                        self.servers[c].state = ServerState::LastAck;
                        self.servers[c].snd_nxt = conn.snd_nxt.wrapping_add(1);
                        reply(self, conn.snd_nxt, rcv_nxt, FIN | ACK, None);
                    }
                    ServerState::SynReceived | ServerState::Established
                        if t.flags & ACK != 0 && t.ack == conn.snd_nxt =>
                    {
                        self.servers[c].state = ServerState::Established;
                        if t.payload_len > 0 && t.seq == conn.rcv_nxt {
                            // In-order data: acknowledge it at once (no
                            // delayed ACK in this minimal TCP).
                            let rcv_nxt = t.seq.wrapping_add(t.payload_len);
                            self.servers[c].rcv_nxt = rcv_nxt;
                            reply(self, conn.snd_nxt, rcv_nxt, ACK, None);
                        }
                    }
                    ServerState::LastAck if t.flags & ACK != 0 && t.ack == conn.snd_nxt => {
                        self.servers[c].state = ServerState::Closed;
                    }
                    _ => {}
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::TraceLevel;
    use wirelab_net::Network;

    /// client — r1 — server, as lab 01.
    fn one_router() -> Network {
        let yaml = "lab: t\nnetworks: { a: { cidr: 10.0.1.0/24 }, b: { cidr: 10.0.2.0/24 } }\nrouters: { r1: { interfaces: { a: 10.0.1.1, b: 10.0.2.1 } } }\nhosts: { c: { network: a, ip: 10.0.1.10 }, s: { network: b, ip: 10.0.2.20 } }\n";
        Network::compile(&wirelab_spec::parse_str("t.yaml", yaml).expect("valid").lab)
    }

    fn udp_probe(net: &Network, ttl: u8) -> Probe {
        Probe::new(
            net.host_node(0),
            "10.0.1.10".parse().unwrap(),
            "10.0.2.20".parse().unwrap(),
            ProbeKind::Udp { port: 33434 },
        )
        .with_ttl(ttl)
        .with_tries(1, SimTime::from_secs(5))
    }

    #[test]
    fn a_probe_with_ttl_1_hears_time_exceeded_from_the_first_router() {
        let net = one_router();
        let mut sim = Sim::new(&net, 1, TraceLevel::Off);
        let id = sim.add_probe(udp_probe(&net, 1), SimTime::ZERO);
        sim.run_probes(SimTime::from_secs(10));
        let answer = sim.probe(id).answer.expect("an ICMP answer");
        assert_eq!(answer.from, "10.0.1.1".parse::<IpAddr>().unwrap());
        assert!(matches!(answer.icmp, Icmp::TimeExceeded { .. }));
        assert_eq!(answer.ttl, DEFAULT_TTL);
        assert_eq!(sim.probe_result(id).unwrap().outcome, Outcome::Deny);
    }

    #[test]
    fn a_probe_with_ttl_2_reaches_the_server_whose_closed_port_answers() {
        let net = one_router();
        let mut sim = Sim::new(&net, 1, TraceLevel::Off);
        let id = sim.add_probe(udp_probe(&net, 2), SimTime::ZERO);
        sim.run_probes(SimTime::from_secs(10));
        let answer = sim.probe(id).answer.expect("an ICMP answer");
        assert_eq!(answer.from, "10.0.2.20".parse::<IpAddr>().unwrap());
        // The answer crossed r1 on its way back.
        assert_eq!(answer.ttl, DEFAULT_TTL - 1);
        assert_eq!(sim.probe_result(id).unwrap().outcome, Outcome::Refused);
    }

    #[test]
    fn a_single_try_gives_up_after_its_wait() {
        let net = one_router();
        let mut sim = Sim::new(&net, 1, TraceLevel::Off);
        // Nobody has 10.0.2.99: r1 gives up on ARP after 3 s, but this
        // echo waits only 2 s.
        let probe = Probe::new(
            net.host_node(0),
            "10.0.1.10".parse().unwrap(),
            "10.0.2.99".parse().unwrap(),
            ProbeKind::Ping,
        )
        .with_tries(1, SimTime::from_secs(2));
        let id = sim.add_probe(probe, SimTime::ZERO);
        sim.run_probes(SimTime::from_secs(60));
        let r = sim.probe_result(id).unwrap();
        assert_eq!((r.outcome, r.reason), (Outcome::Deny, Reason::Timeout));
        assert_eq!(r.time, SimTime::from_secs(2));
        assert_eq!(sim.probe(id).attempts, 1);
    }
}
