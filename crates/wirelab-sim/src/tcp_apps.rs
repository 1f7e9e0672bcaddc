//! TCP connections in the engine: the sockets of every host, found by
//! their 4-tuple, woken by their timers, and the applications of the TCP
//! workloads on both ends — a bulk sender, a request/response client, and
//! the server that reads requests and answers them.
//!
//! Check probes keep their own small TCP (`probe.rs`): they only need the
//! handshake and a close, and thousands of them run per second. Packets of
//! workloads carry a flow tag, which is how a SYN for a listening port
//! chooses between the two.

use std::collections::HashMap;
use std::net::IpAddr;

use wirelab_net::NodeId;
use wirelab_spec::TcpSettings;

use crate::engine::{Event, Sim, DEFAULT_TTL};
use crate::packet::{Body, Ip, Packet, Tcp, L4};
use crate::tcp::{Socket, State};
use crate::time::SimTime;
use crate::udp_source::FLOW_TAG;

/// A connection's 4-tuple, from its own host's side.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct ConnKey {
    local: IpAddr,
    local_port: u16,
    remote: IpAddr,
    remote_port: u16,
}

/// What the application on one end of a connection does.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum App {
    /// Sends `bytes`, then closes.
    Bulk { bytes: u64, queued: u64 },
    /// Sends a request of `request` bytes, waits for `response` bytes,
    /// thinks, and again, `count` times; then closes.
    Client {
        count: u32,
        request: u32,
        response: u32,
        think: SimTime,
        done: u32,
        got: u64,
        thinking: bool,
    },
    /// Reads; after every `request` bytes (0: never) answers `response`
    /// bytes; closes when the peer has closed.
    Server {
        request: u32,
        response: u32,
        got: u64,
    },
    /// Sends one DNS query and reads its answer (see `dns_apps`).
    DnsClient { exchange: u32 },
    /// Reads one DNS query and writes its answer.
    DnsServer { exchange: u32 },
    /// Sends one HTTP request (after the TLS handshake) and reads the
    /// response (see `http_apps`).
    HttpClient { exchange: u32 },
    /// Reads the request, answers or forwards it.
    HttpServer { exchange: u32 },
}

/// One TCP connection of a host.
#[derive(Clone, Debug)]
pub struct Conn {
    pub node: NodeId,
    pub local: IpAddr,
    pub remote: IpAddr,
    pub socket: Socket,
    pub app: App,
    /// The workload this connection belongs to.
    pub flow: u32,
    /// When the workload's goal was met on this end (all bytes
    /// acknowledged, the last response received).
    pub done_at: Option<SimTime>,
    timer: Option<SimTime>,
    generation: u32,
    indexed: bool,
    /// The client's side is over (closed, or waiting out TIME-WAIT).
    finished: bool,
}

/// Where the connections of one workload are.
#[derive(Clone, Copy, Debug, Default)]
pub struct TcpFlow {
    pub client: Option<usize>,
    pub server: Option<usize>,
}

#[derive(Default)]
pub(crate) struct TcpTable {
    pub(crate) conns: Vec<Conn>,
    index: HashMap<ConnKey, usize>,
    /// What the server side of an announced connection runs, keyed by the
    /// server's view of the 4-tuple.
    expected: HashMap<ConnKey, (App, u32)>,
    pub(crate) flows: HashMap<u32, TcpFlow>,
}

impl TcpTable {
    /// Room for the connections of `workloads` TCP workloads (a client
    /// and a server each), taken at once: a table grown by doubling holds
    /// up to twice what it needs, and copies itself while it grows
    /// (20,000 sockets sat in room for 32,768).
    pub(crate) fn reserve(&mut self, workloads: usize) {
        self.conns.reserve_exact(2 * workloads);
        self.index.reserve(2 * workloads);
        self.expected.reserve(workloads);
        self.flows.reserve(workloads);
    }

    pub(crate) fn clear(&mut self) {
        self.conns.clear();
        self.index.clear();
        self.expected.clear();
        self.flows.clear();
    }
}

/// The MSS a path MTU allows (RFC 6691): MTU − IP header − TCP header.
fn mss_for(mtu: u32, v6: bool) -> u16 {
    let headers = if v6 { 60 } else { 40 };
    mtu.saturating_sub(headers).clamp(88, u32::from(u16::MAX)) as u16
}

impl<'n> Sim<'n> {
    fn tcp_settings(&self, node: NodeId) -> TcpSettings {
        self.net
            .host_of(node)
            .map_or_else(TcpSettings::default, |h| self.net.lab.hosts[h].tcp)
    }

    fn tcp_mss(&self, node: NodeId, v6: bool) -> u16 {
        let iface = self.net.nodes[node].ifaces[0];
        mss_for(self.links[self.net.ifaces[iface].segment].mtu, v6)
    }

    /// Opens the client connection of a TCP workload now, and announces
    /// what its server side runs.
    #[allow(clippy::too_many_arguments)]
    pub fn start_tcp_flow(
        &mut self,
        flow: u32,
        node: NodeId,
        src: IpAddr,
        dst: IpAddr,
        port: u16,
        client: App,
        server: App,
    ) {
        let mut local_port = self.random_port();
        let key = |p| ConnKey {
            local: src,
            local_port: p,
            remote: dst,
            remote_port: port,
        };
        // A free ephemeral port: bounded by the size of the range.
        for _ in 0..16_384 {
            if !self.tcp.index.contains_key(&key(local_port)) {
                break;
            }
            local_port = if local_port == u16::MAX {
                49152
            } else {
                local_port + 1
            };
        }
        let cfg = self.tcp_settings(node);
        let isn = self.random_u32();
        let mss = self.tcp_mss(node, dst.is_ipv6());
        let socket = Socket::connect(&cfg, local_port, port, isn, mss, self.now);
        let server_key = ConnKey {
            local: dst,
            local_port: port,
            remote: src,
            remote_port: local_port,
        };
        self.tcp.expected.insert(server_key, (server, flow));
        let c = self.add_conn(node, src, dst, socket, client, flow, key(local_port));
        self.tcp.flows.entry(flow).or_default().client = Some(c);
        self.tcp_service(c);
    }

    #[allow(clippy::too_many_arguments)]
    fn add_conn(
        &mut self,
        node: NodeId,
        local: IpAddr,
        remote: IpAddr,
        socket: Socket,
        app: App,
        flow: u32,
        key: ConnKey,
    ) -> usize {
        let c = self.tcp.conns.len();
        self.tcp.conns.push(Conn {
            node,
            local,
            remote,
            socket,
            app,
            flow,
            done_at: None,
            timer: None,
            generation: 0,
            indexed: true,
            finished: false,
        });
        self.tcp.index.insert(key, c);
        c
    }

    /// A segment for a socket of this host; false if no socket takes it
    /// (the caller then treats the port as a listener or closed).
    pub(crate) fn tcp_socket_input(
        &mut self,
        node: NodeId,
        pkt: &Packet,
        ip: &Ip,
        t: &Tcp,
    ) -> bool {
        let key = ConnKey {
            local: ip.dst,
            local_port: t.dst_port,
            remote: ip.src,
            remote_port: t.src_port,
        };
        if let Some(&c) = self.tcp.index.get(&key) {
            if self.tcp.conns[c].node == node {
                let now = self.now;
                self.tcp.conns[c].socket.process(now, t);
                self.tcp_service(c);
                return true;
            }
        }
        // A workload's SYN for a listening port opens a real socket.
        use crate::packet::tcp_flags::{ACK, SYN};
        if pkt.tag & FLOW_TAG == 0 || t.flags & (SYN | ACK) != SYN {
            return false;
        }
        let host = self.net.host_of(node);
        let listening = host.and_then(|h| {
            self.net
                .service(h, wirelab_spec::TransportProto::Tcp, t.dst_port)
        });
        if listening.is_none() {
            return false;
        }
        let expected = self.tcp.expected.remove(&key).or_else(|| {
            // Through NAT the server sees other addresses and ports than
            // the client used: the workload's tag says which flow it is.
            let flow = pkt.tag & !FLOW_TAG;
            let k = self
                .tcp
                .expected
                .iter()
                .find(|(_, &(_, f))| f == flow)
                .map(|(k, _)| *k)?;
            self.tcp.expected.remove(&k)
        });
        let (app, flow) = expected.unwrap_or((
            App::Server {
                request: 0,
                response: 0,
                got: 0,
            },
            pkt.tag & !FLOW_TAG,
        ));
        let cfg = self.tcp_settings(node);
        let isn = self.random_u32();
        let mss = self.tcp_mss(node, ip.is_v6());
        let socket = Socket::accept(&cfg, t, isn, mss, self.now);
        let c = self.add_conn(node, ip.dst, ip.src, socket, app, flow, key);
        self.tcp.flows.entry(flow).or_default().server = Some(c);
        self.tcp_service(c);
        true
    }

    /// An ICMP fragmentation needed / packet too big arrived at a host:
    /// the connection it quotes adopts the smaller path MTU.
    pub(crate) fn tcp_path_mtu(&mut self, node: NodeId, quoted: &crate::packet::Quoted, mtu: u32) {
        let key = ConnKey {
            local: quoted.src,
            local_port: quoted.src_port,
            remote: quoted.dst,
            remote_port: quoted.dst_port,
        };
        let Some(&c) = self.tcp.index.get(&key) else {
            return;
        };
        if self.tcp.conns[c].node != node {
            return;
        }
        let now = self.now;
        self.tcp.conns[c]
            .socket
            .on_path_mtu(now, mtu, quoted.dst.is_ipv6());
        self.tcp_service(c);
    }

    pub(crate) fn tcp_timer(&mut self, c: usize, generation: u32) {
        if self.tcp.conns[c].generation != generation {
            return;
        }
        self.tcp.conns[c].timer = None;
        let now = self.now;
        self.tcp.conns[c].socket.on_timer(now);
        self.tcp_service(c);
    }

    pub(crate) fn tcp_think_over(&mut self, c: usize) {
        if let App::Client { thinking, .. } = &mut self.tcp.conns[c].app {
            *thinking = false;
        }
        self.tcp_service(c);
    }

    /// After anything happened to a connection: let its application act,
    /// send what the socket has to send, and re-arm its timer.
    pub(crate) fn tcp_service(&mut self, c: usize) {
        self.tcp_app(c);
        let now = self.now;
        let (node, local, remote, flow) = {
            let conn = &self.tcp.conns[c];
            (conn.node, conn.local, conn.remote, conn.flow)
        };
        // Backpressure, as Linux's TCP small queues and qdisc give it: a
        // host never drops its own segments at its interface queue; the
        // connection stops and goes on when the queue has room.
        let iface = self.net.nodes[node].ifaces[0];
        // Bounded: a socket sends at most a window's worth per call.
        for _ in 0..1_000_000 {
            if self.iface_room(iface) == 0 {
                self.wait_for_room(iface, c);
                break;
            }
            let Some(seg) = self.tcp.conns[c].socket.poll_transmit(now) else {
                break;
            };
            let pkt = Packet {
                src_mac: wirelab_net::Mac([0; 6]),
                dst_mac: wirelab_net::Mac([0; 6]),
                body: Body::Ip(Ip {
                    src: local,
                    dst: remote,
                    ttl: DEFAULT_TTL,
                    l4: L4::Tcp(seg),
                }),
                tag: FLOW_TAG | flow,
                id: self.new_packet_id(),
            };
            self.send_ip(node, pkt);
        }
        let conn = &mut self.tcp.conns[c];
        let wake = conn.socket.poll_at();
        if wake != conn.timer {
            conn.generation = conn.generation.wrapping_add(1);
            conn.timer = wake;
            if let Some(at) = wake {
                let generation = conn.generation;
                self.schedule(
                    at.max(now),
                    Event::TcpTimer {
                        conn: c as u32,
                        generation,
                    },
                );
            }
        }
        let conn = &mut self.tcp.conns[c];
        let client = matches!(conn.app, App::Bulk { .. } | App::Client { .. });
        if client
            && !conn.finished
            && matches!(conn.socket.state(), State::Closed | State::TimeWait)
        {
            conn.finished = true;
            self.workloads_done += 1;
        }
        let conn = &mut self.tcp.conns[c];
        if conn.indexed && conn.socket.state() == State::Closed {
            conn.indexed = false;
            let key = ConnKey {
                local: conn.local,
                local_port: conn.socket.local_port(),
                remote: conn.remote,
                remote_port: conn.socket.remote_port(),
            };
            self.tcp.index.remove(&key);
        }
    }

    /// The application's turn: read what arrived, write what it has.
    fn tcp_app(&mut self, c: usize) {
        let now = self.now;
        let conn = &mut self.tcp.conns[c];
        let readable = conn.socket.take_readable();
        if let App::DnsClient { .. } | App::DnsServer { .. } = conn.app {
            self.dns_tcp_app(c, readable);
            return;
        }
        if let App::HttpClient { .. } | App::HttpServer { .. } = conn.app {
            self.http_tcp_app(c, readable);
            return;
        }
        let conn = &mut self.tcp.conns[c];
        let state = conn.socket.state();
        let open = matches!(state, State::Established | State::CloseWait);
        let opening = open || state == State::SynSent || state == State::SynReceived;
        match &mut conn.app {
            App::DnsClient { .. }
            | App::DnsServer { .. }
            | App::HttpClient { .. }
            | App::HttpServer { .. } => unreachable!("handled above"),
            App::Bulk { bytes, queued } => {
                if *queued < *bytes && opening {
                    *queued += conn.socket.send(*bytes - *queued);
                }
                // Close once everything is queued and the connection is
                // up (a close in SYN-SENT would abandon it, RFC 9293).
                if *queued == *bytes && open {
                    conn.socket.close();
                }
                if conn.done_at.is_none() && conn.socket.stats().bytes_acked >= *bytes {
                    conn.done_at = Some(now);
                }
            }
            App::Server {
                request,
                response,
                got,
            } => {
                *got += readable;
                if *request > 0 && open {
                    while *got >= u64::from(*request) {
                        *got -= u64::from(*request);
                        conn.socket.send(u64::from(*response));
                    }
                }
                if conn.socket.recv_finished() && state == State::CloseWait {
                    conn.socket.close();
                }
            }
            App::Client {
                count,
                response,
                think,
                done,
                got,
                thinking,
                ..
            } => {
                *got += readable;
                if *got >= u64::from(*response)
                    && *done < *count
                    && conn.socket.stats().bytes_sent > 0
                {
                    // A whole response: one exchange done.
                    let whole = *got / u64::from((*response).max(1));
                    let whole = whole.min(u64::from(*count - *done)) as u32;
                    *done += whole;
                    *got -= u64::from(whole) * u64::from(*response);
                    if *done == *count {
                        conn.done_at = Some(now);
                        conn.socket.close();
                    } else if think.0 > 0 {
                        *thinking = true;
                        let at = now + *think;
                        self.schedule(at, Event::TcpThink { conn: c as u32 });
                        return;
                    }
                }
                let conn = &mut self.tcp.conns[c];
                if let App::Client {
                    count,
                    request,
                    done,
                    thinking,
                    ..
                } = &mut conn.app
                {
                    // The next request, unless one is outstanding.
                    let sent =
                        conn.socket.stats().bytes_sent + u64::from(conn.socket.tx_buffered());
                    let asked = u64::from(*done + 1).min(u64::from(*count)) * u64::from(*request);
                    if !*thinking && *done < *count && sent < asked && opening {
                        conn.socket.send(asked - sent);
                    }
                }
            }
        }
    }

    /// A TCP workload of the lab starts now.
    pub(crate) fn tcp_workload_start(&mut self, flow: u32) {
        let t = &self.net.lab.traffic[flow as usize];
        let node = self.net.host_node(t.from);
        let host = &self.net.lab.hosts[t.from];
        let (src, dst) = match (t.family, &t.to) {
            (wirelab_spec::Family::Ipv4, to) => {
                (host.ipv4.map(IpAddr::V4), target(self.net, to, false))
            }
            (wirelab_spec::Family::Ipv6, to) => {
                (host.ipv6.map(IpAddr::V6), target(self.net, to, true))
            }
        };
        let (Some(src), Some(dst), Some(port)) = (src, dst, t.port) else {
            return;
        };
        let (client, server) = match t.kind {
            wirelab_spec::Workload::Bulk { bytes } => (
                App::Bulk { bytes, queued: 0 },
                App::Server {
                    request: 0,
                    response: 0,
                    got: 0,
                },
            ),
            wirelab_spec::Workload::Requests {
                count,
                request_bytes,
                response_bytes,
                think_ns,
            } => (
                App::Client {
                    count,
                    request: request_bytes,
                    response: response_bytes,
                    think: SimTime(think_ns),
                    done: 0,
                    got: 0,
                    thinking: false,
                },
                App::Server {
                    request: request_bytes,
                    response: response_bytes,
                    got: 0,
                },
            ),
            _ => return,
        };
        self.start_tcp_flow(flow, node, src, dst, port, client, server);
    }

    /// The connections of every TCP workload started so far.
    pub fn tcp_flow(&self, flow: u32) -> Option<TcpFlow> {
        self.tcp.flows.get(&flow).copied()
    }

    /// The initial send sequence number of the connection with this
    /// 4-tuple, from the sender's side.
    pub(crate) fn tcp_iss(
        &self,
        local: IpAddr,
        local_port: u16,
        remote: IpAddr,
        remote_port: u16,
    ) -> Option<u32> {
        let key = ConnKey {
            local,
            local_port,
            remote,
            remote_port,
        };
        let &c = self.tcp.index.get(&key)?;
        Some(self.tcp.conns[c].socket.iss())
    }

    /// A segment on the wire as its sender's socket sees it: the wire's
    /// own addresses, or those before a NAT translated them.
    pub(crate) fn tcp_sender_view(
        &self,
        ip: &Ip,
        t: &crate::packet::Tcp,
    ) -> (IpAddr, u16, IpAddr, u16) {
        let wire = (ip.src, t.src_port, ip.dst, t.dst_port);
        if self.tcp_iss(wire.0, wire.1, wire.2, wire.3).is_some() {
            return wire;
        }
        self.nat_sender_view(wire, 6).unwrap_or(wire)
    }

    pub fn tcp_conn(&self, c: usize) -> &Conn {
        &self.tcp.conns[c]
    }
}

fn target(net: &wirelab_net::Network, to: &wirelab_spec::CheckTarget, v6: bool) -> Option<IpAddr> {
    match to {
        wirelab_spec::CheckTarget::Address(a) => Some(*a),
        // Workloads name hosts or addresses, never DNS names.
        wirelab_spec::CheckTarget::Name(_) => None,
        wirelab_spec::CheckTarget::Host(h) => {
            let host = &net.lab.hosts[*h];
            if v6 {
                host.ipv6.map(IpAddr::V6)
            } else {
                host.ipv4.map(IpAddr::V4)
            }
        }
    }
}
