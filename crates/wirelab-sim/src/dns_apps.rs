//! DNS in the engine: the authoritative servers (`app: dns`), recursive
//! resolvers (`app: resolver`) and the stub resolver of every host, wired
//! to real UDP datagrams on port 53 that cross routers, security groups
//! and NACLs like any other packet.
//!
//! The DNS behaviour itself lives in `wirelab-dns`, without I/O; this
//! module only carries its bytes: it binds ephemeral ports, routes each
//! datagram that arrives to the object that owns its port, and turns the
//! objects' timers into events. Over TCP (after a truncated answer) the
//! messages travel on real connections with RFC 1035 §4.2.2 framing; see
//! `dns_tcp`.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;

use wirelab_dns::proto::op::Message;
use wirelab_dns::proto::rr::{Name, RecordType};
use wirelab_dns::resolver::{Action, ClientId, Resolver, ResolverConfig, UpstreamToken, WalkStep};
use wirelab_dns::stub::{
    LookupId, LookupOptions, Stub, StubAction, StubConfig, StubOutcome, StubToken,
};
use wirelab_dns::transport::Transport;
use wirelab_net::NodeId;
use wirelab_spec::TransportProto;

use crate::engine::{Event, Sim, DEFAULT_TTL};
use crate::packet::{Body, Ip, Packet, Tag, Udp, L4};
use crate::tcp::State;
use crate::tcp_apps::App;
use crate::time::SimTime;
use crate::trace::Drop;

/// Tag of every DNS datagram (never a probe's, never a workload's).
pub const DNS_TAG: Tag = 1 << 30;
/// The port DNS servers listen on.
pub const DNS_PORT: u16 = 53;
/// Most datagrams a DNS drop list keeps for explanations.
const DROPS_MAX: usize = 16;
/// Most stub lookups one run may start.
const LOOKUPS_MAX: usize = 100_000;

/// Who owns an ephemeral UDP port of a host.
#[derive(Clone, Copy, Debug)]
enum PortOwner {
    Resolver(UpstreamToken),
    Stub(StubToken),
    /// A query from outside the simulation ([`Sim::inject_query`]).
    External(usize),
}

/// A pending timer of a DNS object.
#[derive(Clone, Copy, Debug)]
enum TimerOwner {
    Resolver { host: u32, token: UpstreamToken },
    Stub { host: u32, token: StubToken },
}

/// Where a resolver's answer to one client query goes.
#[derive(Clone, Copy, Debug)]
struct Client {
    /// The resolver's own address the query came to.
    local: IpAddr,
    addr: IpAddr,
    port: u16,
    /// The connection and exchange of a query that came over TCP.
    tcp: Option<(usize, usize)>,
    /// The tag the answer carries back.
    tag: Tag,
}

/// A lookup a host's stub made, and how it ended.
#[derive(Clone, Debug)]
pub struct Lookup {
    pub host: usize,
    pub name: Name,
    pub qtype: RecordType,
    pub started: SimTime,
    /// `None` while it runs.
    pub outcome: Option<StubOutcome>,
    pub finished: Option<SimTime>,
    /// The resolver's walk for the query that answered this lookup
    /// (empty when the answer came from its cache).
    pub walk: Vec<WalkStep>,
    id: LookupId,
}

/// The DNS state of one run; cleared at reset.
#[derive(Default)]
pub(crate) struct DnsApps {
    resolvers: BTreeMap<usize, Resolver>,
    stubs: BTreeMap<usize, Stub>,
    ports: HashMap<(usize, u16), PortOwner>,
    clients: HashMap<(usize, u64), Client>,
    next_client: u64,
    timers: Vec<TimerOwner>,
    pub(crate) lookups: Vec<Lookup>,
    /// Walks of replies sent to a client address and port, kept until the
    /// stub that owns the port takes its answer.
    walks: HashMap<(IpAddr, u16), Vec<WalkStep>>,
    /// The first DNS datagrams dropped in this run, for explanations.
    pub(crate) drops: Vec<Drop>,
    /// Per host: the walks of the resolver answers its stub received for
    /// the lookup in progress (a truncated answer over UDP, then the whole
    /// one over TCP, say); taken when the lookup ends.
    stub_walks: BTreeMap<usize, Vec<WalkStep>>,
    /// Exchanges over TCP; the connection's flow is `TCP_FLOW | index`.
    tcp: Vec<TcpExchange>,
    /// Answers to queries from outside, by injection.
    external: Vec<Option<Vec<u8>>>,
}

/// One DNS query and its answer on one TCP connection (RFC 7766): the
/// message bytes are kept here, and the connection carries as many bytes,
/// each message with its two-byte length (RFC 1035 §4.2.2).
#[derive(Clone, Debug)]
struct TcpExchange {
    owner: PortOwner,
    client_host: usize,
    query: Vec<u8>,
    answer: Option<Vec<u8>>,
    /// Bytes the server side has read, and the client side.
    server_got: u64,
    client_got: u64,
    query_sent: bool,
    query_read: bool,
    answer_read: bool,
}

/// The flow number of a DNS exchange over TCP: bit 30 set, as in
/// [`DNS_TAG`], so its segments are recognised as DNS.
const TCP_FLOW: u32 = 1 << 30;

impl PortOwner {
    /// Its index in [`crate::counters::DNS_ROLES`].
    fn role(self) -> usize {
        match self {
            PortOwner::Stub(_) => 0,
            PortOwner::Resolver(_) => 1,
            PortOwner::External(_) => 2,
        }
    }
}

impl DnsApps {
    pub(crate) fn clear(&mut self) {
        *self = DnsApps::default();
    }
}

impl<'n> Sim<'n> {
    /// Starts a lookup of `name`/`qtype` by `host`'s stub resolver, now.
    /// Returns its index in [`Sim::lookups`].
    pub fn start_lookup(&mut self, host: usize, name: Name, qtype: RecordType) -> usize {
        assert!(
            self.dns.lookups.len() < LOOKUPS_MAX,
            "too many lookups in one run"
        );
        let now = self.now.as_nanos();
        let seed = self.random_u32().into();
        let servers = self.net.lab.hosts[host].resolvers.clone();
        let stub = self
            .dns
            .stubs
            .entry(host)
            .or_insert_with(|| Stub::new(StubConfig::new(servers), seed));
        let id = stub.lookup(now, name.clone(), qtype, LookupOptions::default());
        self.dns.lookups.push(Lookup {
            host,
            name,
            qtype,
            started: self.now,
            outcome: None,
            finished: None,
            walk: Vec::new(),
            id,
        });
        self.stub_actions(host);
        self.dns.lookups.len() - 1
    }

    /// Sends `query`, a whole DNS message from outside the simulation (a
    /// real client on the real DNS port), from `host` to `server`:53 over
    /// `transport`, as `host`'s own stub would. Returns an id for
    /// [`Sim::injected_answer`]; run the simulation until it is `Some`.
    pub fn inject_query(
        &mut self,
        host: usize,
        server: IpAddr,
        transport: Transport,
        query: Vec<u8>,
    ) -> Option<usize> {
        // No address of the server's family: no query, and no id.
        self.source_address(host, server)?;
        let id = self.dns.external.len();
        self.dns.external.push(None);
        self.dns_query(host, server, transport, query, PortOwner::External(id));
        Some(id)
    }

    /// The answer to an injected query, once it came back.
    pub fn injected_answer(&self, id: usize) -> Option<&[u8]> {
        self.dns.external.get(id)?.as_deref()
    }

    /// Runs every event due up to `until`, then moves the clock to `until`
    /// even if nothing happens in between: the time a person waits before
    /// asking again (`wirelab dig --repeat`), so that cached TTLs count
    /// down by exactly that much. Returns false, leaving the clock where
    /// it stopped, if the event limit was hit.
    pub fn idle_until(&mut self, until: SimTime) -> bool {
        if !self.run_until(until) {
            return false;
        }
        // run_until ran every event at or before `until`, so nothing is
        // skipped and time does not go backwards.
        self.now = self.now.max(until);
        true
    }

    /// How many UDP ports DNS queries hold open now (the queries waiting
    /// for their answer).
    pub fn dns_ports_open(&self) -> usize {
        self.dns.ports.len()
    }

    /// Every lookup started in this run.
    pub fn lookups(&self) -> &[Lookup] {
        &self.dns.lookups
    }

    /// The resolver of `host`, once it has answered something.
    pub fn resolver(&self, host: usize) -> Option<&Resolver> {
        self.dns.resolvers.get(&host)
    }

    /// The DNS datagrams dropped so far (the first few).
    pub fn dns_drops(&self) -> &[Drop] {
        &self.dns.drops
    }

    pub(crate) fn dns_saw_drop(&mut self, drop: Drop) {
        if self.dns.drops.len() < DROPS_MAX {
            self.dns.drops.push(drop);
        }
    }

    /// A UDP datagram with bytes for `host`: true when DNS took it.
    pub(crate) fn dns_udp_input(&mut self, node: NodeId, tag: Tag, ip: &Ip, u: &Udp) -> bool {
        let Some(host) = self.net.host_of(node) else {
            return false;
        };
        let Some(bytes) = self.payload(u.payload).cloned() else {
            return false;
        };
        // A query's port takes one answer, then closes (as a resolver's
        // or the stub's socket does): the table stays as small as the
        // queries in flight, however long the run.
        if let Some(owner) = self.dns.ports.remove(&(host, u.dst_port)) {
            if let PortOwner::Stub(_) = owner {
                self.stub_heard_walk(host, (ip.dst, u.dst_port));
            }
            self.dns_deliver(host, owner, ip.src, Transport::Udp, &bytes);
            return true;
        }
        let service = self.net.service(host, TransportProto::Udp, u.dst_port);
        let app = service.and_then(|s| s.app.as_deref());
        // A check's probe of port 53 got there; the server answers it, and
        // the answer goes back tagged as the probe's.
        let probe = tag & (DNS_TAG | crate::udp_source::FLOW_TAG) == 0 && tag != 0;
        if app.is_some() && probe {
            self.probe_delivered(tag, node, ip, u.dst_port);
        }
        let tag = if probe { tag } else { DNS_TAG };
        match app {
            Some("dns") => {
                let reply = self
                    .net
                    .dns_authority(host)
                    .and_then(|a| a.answer_bytes(&bytes, ip.src, Transport::Udp));
                if let Some(reply) = reply {
                    let (src, dst) = ((ip.dst, u.dst_port), (ip.src, u.src_port));
                    self.dns_send_tagged(node, src, dst, reply, tag);
                }
                true
            }
            Some("resolver") => {
                let client = ClientId(self.dns.next_client);
                self.dns.next_client += 1;
                self.dns.clients.insert(
                    (host, client.0),
                    Client {
                        local: ip.dst,
                        addr: ip.src,
                        port: u.src_port,
                        tcp: None,
                        tag,
                    },
                );
                let now = self.now.as_nanos();
                self.resolver_mut(host)
                    .client_query(now, client, Transport::Udp, &bytes);
                self.resolver_actions(host);
                true
            }
            _ => false,
        }
    }

    fn resolver_mut(&mut self, host: usize) -> &mut Resolver {
        if !self.dns.resolvers.contains_key(&host) {
            let config = ResolverConfig {
                root_hints: self.net.lab.dns.root_hints.clone(),
                stub_zones: self.private_zones_seen_by(host),
                ..ResolverConfig::default()
            };
            let seed = u64::from(self.random_u32());
            self.dns.resolvers.insert(host, Resolver::new(config, seed));
        }
        self.dns.resolvers.get_mut(&host).expect("inserted above")
    }

    /// The private zones associated with `host`'s network, each with the
    /// addresses of its servers: a resolver there asks them directly, as
    /// the Route 53 Resolver of a VPC answers its private hosted zones.
    fn private_zones_seen_by(&self, host: usize) -> Vec<(Name, Vec<IpAddr>)> {
        let lab = &self.net.lab;
        let network = lab.hosts[host].network;
        lab.dns
            .zones
            .iter()
            .filter(|z| z.private_to.contains(&network))
            .map(|z| {
                let servers = z
                    .servers
                    .iter()
                    .flat_map(|&s| {
                        let h = &lab.hosts[s];
                        h.ipv4
                            .map(IpAddr::V4)
                            .into_iter()
                            .chain(h.ipv6.map(IpAddr::V6))
                    })
                    .collect();
                (z.zone.origin().clone(), servers)
            })
            .collect()
    }

    /// Carries out what `host`'s resolver wants done.
    fn resolver_actions(&mut self, host: usize) {
        // Bounded: every action is a message or a timer of a bounded
        // number of queries in progress.
        for _ in 0..100_000 {
            let Some(action) = self
                .dns
                .resolvers
                .get_mut(&host)
                .and_then(Resolver::poll_action)
            else {
                return;
            };
            match action {
                Action::SendUpstream {
                    token,
                    to,
                    transport,
                    bytes,
                } => self.dns_query(host, to, transport, bytes, PortOwner::Resolver(token)),
                Action::SetTimer { token, at_ns } => {
                    self.dns_timer(
                        at_ns,
                        TimerOwner::Resolver {
                            host: host as u32,
                            token,
                        },
                    );
                }
                Action::ReplyToClient {
                    client,
                    bytes,
                    walk,
                } => {
                    let Some(c) = self.dns.clients.remove(&(host, client.0)) else {
                        continue;
                    };
                    self.count_cache_use(&bytes, walk.is_empty());
                    self.dns.walks.insert((c.addr, c.port), walk);
                    match c.tcp {
                        Some((conn, exchange)) => self.dns_tcp_answer(conn, exchange, bytes),
                        None => {
                            let node = self.net.host_node(host);
                            let (src, dst) = ((c.local, DNS_PORT), (c.addr, c.port));
                            self.dns_send_tagged(node, src, dst, bytes, c.tag);
                        }
                    }
                }
            }
        }
        panic!("a resolver asked for more than 100000 actions at once");
    }

    /// Counts a resolver's answer to a client: from its cache when it asked
    /// no one. Errors about the query itself (FORMERR, NOTIMP, REFUSED)
    /// are neither a hit nor a miss.
    fn count_cache_use(&mut self, answer: &[u8], asked_no_one: bool) {
        const FORMERR: u8 = 1;
        const NOTIMP: u8 = 4;
        const REFUSED: u8 = 5;
        let rcode = answer.get(3).map_or(0, |b| b & 0x0f);
        let dns = &mut self.run_counters.dns;
        if !asked_no_one {
            dns.cache_misses += 1;
        } else if !matches!(rcode, FORMERR | NOTIMP | REFUSED) {
            dns.cache_hits += 1;
        }
    }

    /// Carries out what `host`'s stub wants done.
    fn stub_actions(&mut self, host: usize) {
        for _ in 0..100_000 {
            let Some(action) = self.dns.stubs.get_mut(&host).and_then(Stub::poll_action) else {
                return;
            };
            match action {
                StubAction::Send {
                    token,
                    to,
                    transport,
                    bytes,
                } => self.dns_query(host, to, transport, bytes, PortOwner::Stub(token)),
                StubAction::SetTimer { token, at_ns } => {
                    self.dns_timer(
                        at_ns,
                        TimerOwner::Stub {
                            host: host as u32,
                            token,
                        },
                    );
                }
                StubAction::Done { lookup, outcome } => {
                    let walk = self.dns.stub_walks.remove(&host).unwrap_or_default();
                    let now = self.now;
                    if let Some(l) = self
                        .dns
                        .lookups
                        .iter_mut()
                        .find(|l| l.host == host && l.id == lookup)
                    {
                        l.outcome = Some(outcome);
                        l.finished = Some(now);
                        l.walk = walk;
                    }
                }
            }
        }
        panic!("a stub asked for more than 100000 actions at once");
    }

    /// The resolver's walk for the answer arriving at `host`'s stub on
    /// `local` (address, port), added to the lookup's.
    fn stub_heard_walk(&mut self, host: usize, local: (IpAddr, u16)) {
        if let Some(walk) = self.dns.walks.remove(&local) {
            self.dns.stub_walks.entry(host).or_default().extend(walk);
        }
    }

    /// Sends a query of `owner` from `host` to `to`:53 over `transport`
    /// (dropped when `host` has no address of `to`'s family).
    fn dns_query(
        &mut self,
        host: usize,
        to: IpAddr,
        transport: Transport,
        bytes: Vec<u8>,
        owner: PortOwner,
    ) {
        let Some(src) = self.source_address(host, to) else {
            return;
        };
        self.count_dns_query(owner.role(), transport == Transport::Tcp);
        match transport {
            Transport::Udp => {
                let port = self.bind_port(host, owner);
                let node = self.net.host_node(host);
                self.dns_send(node, src, port, to, DNS_PORT, bytes);
            }
            Transport::Tcp => self.dns_tcp_query(host, src, to, bytes, owner),
        }
    }

    /// The address `host` sends from to reach `to`: of the same family.
    fn source_address(&self, host: usize, to: IpAddr) -> Option<IpAddr> {
        let h = &self.net.lab.hosts[host];
        match to {
            IpAddr::V4(_) => h.ipv4.map(IpAddr::V4),
            IpAddr::V6(_) => h.ipv6.map(IpAddr::V6),
        }
    }

    /// A free ephemeral port of `host`, now owned by `owner`.
    fn bind_port(&mut self, host: usize, owner: PortOwner) -> u16 {
        let mut port = self.random_port();
        // Bounded by the size of the ephemeral range.
        for _ in 0..16_384 {
            if !self.dns.ports.contains_key(&(host, port)) {
                break;
            }
            port = if port == u16::MAX { 49152 } else { port + 1 };
        }
        self.dns.ports.insert((host, port), owner);
        port
    }

    fn dns_timer(&mut self, at_ns: u64, owner: TimerOwner) {
        let index = u32::try_from(self.dns.timers.len()).expect("fewer than 2^32 DNS timers");
        self.dns.timers.push(owner);
        let at = SimTime(at_ns).max(self.now);
        self.schedule(at, Event::DnsTimer { timer: index });
    }

    pub(crate) fn dns_timer_fired(&mut self, index: u32) {
        let now = self.now.as_nanos();
        match self.dns.timers[index as usize] {
            TimerOwner::Resolver { host, token } => {
                let host = host as usize;
                if let Some(r) = self.dns.resolvers.get_mut(&host) {
                    r.timer(now, token);
                }
                self.resolver_actions(host);
            }
            TimerOwner::Stub { host, token } => {
                let host = host as usize;
                if let Some(s) = self.dns.stubs.get_mut(&host) {
                    s.timer(now, token);
                }
                self.stub_actions(host);
            }
        }
    }

    /// Sends a DNS message in a UDP datagram.
    fn dns_send(
        &mut self,
        node: NodeId,
        src: IpAddr,
        src_port: u16,
        dst: IpAddr,
        dst_port: u16,
        bytes: Vec<u8>,
    ) {
        self.dns_send_tagged(node, (src, src_port), (dst, dst_port), bytes, DNS_TAG);
    }

    /// Sends a DNS message from `src` to `dst` (address, port), tagged as
    /// the query it answers was (a probe's answer goes back to the probe).
    fn dns_send_tagged(
        &mut self,
        node: NodeId,
        (src, src_port): (IpAddr, u16),
        (dst, dst_port): (IpAddr, u16),
        bytes: Vec<u8>,
        tag: Tag,
    ) {
        let payload_len = u32::try_from(bytes.len()).expect("a DNS message fits 64 KiB");
        let payload = self.store_payload(bytes);
        let pkt = Packet {
            src_mac: wirelab_net::Mac([0; 6]),
            dst_mac: wirelab_net::Mac([0; 6]),
            body: Body::Ip(Ip {
                src,
                dst,
                ttl: DEFAULT_TTL,
                l4: L4::Udp(Udp {
                    src_port,
                    dst_port,
                    payload_len,
                    payload,
                }),
            }),
            tag,
            id: self.new_packet_id(),
        };
        self.send_ip(node, pkt);
    }

    /// Decodes the message a datagram carries, for tools.
    pub fn dns_message(&self, u: &Udp) -> Option<Message> {
        let bytes = self.payload(u.payload)?;
        Message::from_vec(bytes).ok()
    }
}

// ----- over TCP -----------------------------------------------------------

impl<'n> Sim<'n> {
    /// Opens a TCP connection from `host` to `to`:53 for one query.
    fn dns_tcp_query(
        &mut self,
        host: usize,
        src: IpAddr,
        to: IpAddr,
        query: Vec<u8>,
        owner: PortOwner,
    ) {
        let exchange = self.dns.tcp.len();
        let flow = TCP_FLOW | u32::try_from(exchange).expect("fewer than 2^30 exchanges");
        assert!(
            flow & crate::udp_source::FLOW_TAG == 0,
            "too many DNS exchanges over TCP"
        );
        self.dns.tcp.push(TcpExchange {
            owner,
            client_host: host,
            query,
            answer: None,
            server_got: 0,
            client_got: 0,
            query_sent: false,
            query_read: false,
            answer_read: false,
        });
        let node = self.net.host_node(host);
        self.start_tcp_flow(
            flow,
            node,
            src,
            to,
            DNS_PORT,
            App::DnsClient {
                exchange: exchange as u32,
            },
            App::DnsServer {
                exchange: exchange as u32,
            },
        );
    }

    /// The application turn of a DNS connection (see `tcp_apps::tcp_app`).
    pub(crate) fn dns_tcp_app(&mut self, c: usize, readable: u64) {
        let conn = &self.tcp.conns[c];
        let state = conn.socket.state();
        let open = matches!(state, State::Established | State::CloseWait);
        let opening = open || matches!(state, State::SynSent | State::SynReceived);
        match conn.app {
            App::DnsClient { exchange } => {
                let x = &mut self.dns.tcp[exchange as usize];
                x.client_got += readable;
                if !x.query_sent && opening {
                    x.query_sent = true;
                    let framed = framed_len(&x.query);
                    self.tcp.conns[c].socket.send(framed);
                }
                let x = &mut self.dns.tcp[exchange as usize];
                let whole = x
                    .answer
                    .as_ref()
                    .is_some_and(|a| x.client_got >= framed_len(a));
                if whole && !x.answer_read {
                    x.answer_read = true;
                    let answer = x.answer.clone().unwrap_or_default();
                    let (owner, host) = (x.owner, x.client_host);
                    let conn = &mut self.tcp.conns[c];
                    let from = conn.remote;
                    let local = (conn.local, conn.socket.local_port());
                    conn.socket.close();
                    if let PortOwner::Stub(_) = owner {
                        self.stub_heard_walk(host, local);
                    }
                    self.dns_deliver(host, owner, from, Transport::Tcp, &answer);
                }
            }
            App::DnsServer { exchange } => {
                let x = &mut self.dns.tcp[exchange as usize];
                x.server_got += readable;
                if !x.query_read && x.server_got >= framed_len(&x.query) && open {
                    x.query_read = true;
                    let query = x.query.clone();
                    self.dns_tcp_query_in(c, exchange as usize, query);
                }
                let conn = &mut self.tcp.conns[c];
                if conn.socket.recv_finished() && conn.socket.state() == State::CloseWait {
                    conn.socket.close();
                }
            }
            _ => unreachable!("only DNS connections come here"),
        }
    }

    /// A whole query arrived on the server side of connection `c`.
    fn dns_tcp_query_in(&mut self, c: usize, exchange: usize, query: Vec<u8>) {
        let conn = &self.tcp.conns[c];
        let (node, local, remote) = (conn.node, conn.local, conn.remote);
        let remote_port = conn.socket.remote_port();
        let Some(host) = self.net.host_of(node) else {
            return;
        };
        let service = self.net.service(host, TransportProto::Tcp, DNS_PORT);
        match service.and_then(|s| s.app.as_deref()) {
            Some("dns") => {
                let answer = self
                    .net
                    .dns_authority(host)
                    .and_then(|a| a.answer_bytes(&query, remote, Transport::Tcp));
                if let Some(answer) = answer {
                    self.dns_tcp_answer(c, exchange, answer);
                }
            }
            Some("resolver") => {
                let client = ClientId(self.dns.next_client);
                self.dns.next_client += 1;
                self.dns.clients.insert(
                    (host, client.0),
                    Client {
                        local,
                        addr: remote,
                        port: remote_port,
                        tcp: Some((c, exchange)),
                        tag: DNS_TAG,
                    },
                );
                let now = self.now.as_nanos();
                self.resolver_mut(host)
                    .client_query(now, client, Transport::Tcp, &query);
                self.resolver_actions(host);
            }
            _ => {}
        }
    }

    /// The server side writes its answer; the connection is serviced by
    /// an event now, so that this may run inside its own application turn.
    fn dns_tcp_answer(&mut self, c: usize, exchange: usize, answer: Vec<u8>) {
        let framed = framed_len(&answer);
        self.dns.tcp[exchange].answer = Some(answer);
        self.tcp.conns[c].socket.send(framed);
        let now = self.now;
        self.schedule(now, Event::TcpThink { conn: c as u32 });
    }

    /// An answer for a resolver's or a stub's query.
    fn dns_deliver(
        &mut self,
        host: usize,
        owner: PortOwner,
        from: IpAddr,
        transport: Transport,
        bytes: &[u8],
    ) {
        let now = self.now.as_nanos();
        self.count_dns_answer(owner.role(), transport == Transport::Tcp);
        match owner {
            PortOwner::Resolver(token) => {
                if let Some(r) = self.dns.resolvers.get_mut(&host) {
                    r.upstream_response(now, token, from, transport, bytes);
                }
                self.resolver_actions(host);
            }
            PortOwner::Stub(token) => {
                if let Some(s) = self.dns.stubs.get_mut(&host) {
                    s.response(now, token, from, transport, bytes);
                }
                self.stub_actions(host);
            }
            PortOwner::External(id) => {
                let _ = (now, from, transport);
                if let Some(slot) = self.dns.external.get_mut(id) {
                    slot.get_or_insert_with(|| bytes.to_vec());
                }
            }
        }
    }
}

impl<'n> Sim<'n> {
    /// The real bytes a TCP segment of a DNS exchange carries, for
    /// captures: its part of the query or answer stream, each message
    /// after its two-byte length.
    pub(crate) fn dns_tcp_bytes(
        &self,
        tag: Tag,
        ip: &Ip,
        t: &crate::packet::Tcp,
    ) -> Option<std::sync::Arc<[u8]>> {
        use crate::udp_source::FLOW_TAG;
        if t.payload_len == 0 || tag & FLOW_TAG == 0 || tag & TCP_FLOW == 0 {
            return None;
        }
        let x = self.dns.tcp.get((tag & !(FLOW_TAG | TCP_FLOW)) as usize)?;
        let message = if t.dst_port == DNS_PORT {
            &x.query
        } else {
            x.answer.as_ref()?
        };
        let (src, sport, dst, dport) = self.tcp_sender_view(ip, t);
        let iss = self.tcp_iss(src, sport, dst, dport)?;
        let offset = t.seq.wrapping_sub(iss.wrapping_add(1)) as usize;
        let mut stream = Vec::with_capacity(message.len() + 2);
        stream.extend_from_slice(&(message.len() as u16).to_be_bytes());
        stream.extend_from_slice(message);
        let bytes = stream.get(offset..offset + t.payload_len as usize)?;
        Some(bytes.into())
    }
}

/// A message's length on a TCP stream: with its two-byte length.
fn framed_len(message: &[u8]) -> u64 {
    message.len() as u64 + 2
}

/// The query a check's UDP probe of port 53 carries: `. NS`, recursion
/// desired, its ID from the probe's port.
pub(crate) fn probe_query(id: u16) -> Vec<u8> {
    use wirelab_dns::proto::op::{MessageType, OpCode, Query};
    let mut m = Message::new(id, MessageType::Query, OpCode::Query);
    m.metadata.recursion_desired = true;
    m.add_query(Query::query(Name::root(), RecordType::NS));
    m.to_vec().expect("a one-question query encodes")
}
