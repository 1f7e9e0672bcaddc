//! The host side: a stub resolver in the manner of glibc's (RFC 1034 §5.3.1,
//! resolv.conf(5)).
//!
//! RFC 1034 §5.3.1: "A stub resolver [...] cannot perform the full resolution
//! algorithm [...] and depends on a recursive name server". It sends the
//! question to the first configured server, waits `timeout_ns`, then tries
//! the next; after a pass over every server it starts again, `attempts`
//! passes in all (resolv.conf's `timeout:` and `attempts:`, default 5 s and
//! 2). glibc doubles the timeout on later passes; this stub keeps it fixed so
//! walks are easy to read.
//!
//! Sans-IO like the resolver: the engine calls [`Stub::lookup`],
//! [`Stub::response`] and [`Stub::timer`] and carries out what
//! [`Stub::poll_action`] returns. Bytes are bare DNS messages; over TCP the
//! engine frames them (RFC 1035 §4.2.2). Timers are never cancelled; a stale
//! one is ignored.

use std::collections::{BTreeMap, VecDeque};
use std::net::IpAddr;

use hickory_proto::op::{Edns, Message, MessageType, OpCode, Query};
use hickory_proto::rr::{DNSClass, Name, RecordType};
use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::transport::Transport;

/// resolv.conf's default `timeout:` of five seconds.
pub const TIMEOUT_NS_DEFAULT: u64 = 5_000_000_000;

/// resolv.conf's default `attempts:` of two passes over the servers.
pub const ATTEMPTS_DEFAULT: u8 = 2;

/// Most lookups in progress at once; beyond it a lookup fails at once.
pub const LOOKUPS_MAX: usize = 1024;

/// The caller's handle for one lookup.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LookupId(pub u64);

/// Names one message sent by the stub, and its timer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StubToken(pub u64);

/// How to ask.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LookupOptions {
    /// RD: ask the server to recurse (dig's `+recurse`, the default).
    pub recursion_desired: bool,
    /// Send an EDNS(0) OPT record advertising `edns_udp_size`.
    pub edns: bool,
    /// The UDP size advertised with EDNS.
    pub edns_udp_size: u16,
}

impl Default for LookupOptions {
    fn default() -> Self {
        LookupOptions {
            recursion_desired: true,
            edns: true,
            edns_udp_size: crate::resolver::EDNS_UDP_SIZE_DEFAULT,
        }
    }
}

/// What the engine must do next for the stub.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StubAction {
    /// Send `bytes` to port 53 of `to`.
    Send {
        /// Name of this message, for its response and its timer.
        token: StubToken,
        /// The server.
        to: IpAddr,
        /// UDP, or TCP after a truncated answer.
        transport: Transport,
        /// The query, a bare DNS message.
        bytes: Vec<u8>,
    },
    /// Call [`Stub::timer`] with `token` at `at_ns`.
    SetTimer {
        /// The message the timer guards.
        token: StubToken,
        /// When it times out.
        at_ns: u64,
    },
    /// The lookup is over.
    Done {
        /// The lookup.
        lookup: LookupId,
        /// How it ended.
        outcome: StubOutcome,
    },
}

/// How a lookup ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StubOutcome {
    /// A response, whatever its rcode.
    Answer(Box<StubAnswer>),
    /// No server answered in time (dig's "connection timed out; no servers
    /// could be reached").
    Timeout,
}

/// A response and how it came, for dig's footer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StubAnswer {
    /// The response.
    pub message: Message,
    /// The server that sent it.
    pub server: IpAddr,
    /// How it came.
    pub transport: Transport,
    /// Its size, without TCP framing (dig's `MSG SIZE rcvd`).
    pub size_bytes: usize,
    /// From sending the query that was answered to the answer (dig's
    /// `Query time`).
    pub query_time_ns: u64,
}

/// The stub's configuration: resolv.conf's `nameserver`, `timeout:` and
/// `attempts:`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StubConfig {
    /// The recursive servers, tried in order.
    pub servers: Vec<IpAddr>,
    /// How long to wait for each server.
    pub timeout_ns: u64,
    /// Passes over the server list.
    pub attempts: u8,
}

impl StubConfig {
    /// `servers` with the glibc defaults.
    pub fn new(servers: Vec<IpAddr>) -> StubConfig {
        StubConfig {
            servers,
            timeout_ns: TIMEOUT_NS_DEFAULT,
            attempts: ATTEMPTS_DEFAULT,
        }
    }
}

#[derive(Debug, Clone)]
struct Lookup {
    query: Query,
    options: LookupOptions,
    /// Messages sent so far (each server once per pass).
    sent: u32,
    /// The message in flight.
    token: StubToken,
    id: u16,
    server: IpAddr,
    transport: Transport,
    sent_at_ns: u64,
}

/// A stub resolver.
#[derive(Debug, Clone)]
pub struct Stub {
    config: StubConfig,
    rng_id: ChaCha8Rng,
    lookups: BTreeMap<LookupId, Lookup>,
    by_token: BTreeMap<StubToken, LookupId>,
    actions: VecDeque<StubAction>,
    lookup_next: u64,
    token_next: u64,
    now_ns_max: u64,
}

impl Stub {
    /// A stub asking `config.servers`; `seed` decides its message IDs.
    pub fn new(config: StubConfig, seed: u64) -> Stub {
        let mut rng_id = ChaCha8Rng::seed_from_u64(seed);
        rng_id.set_stream(3);
        Stub {
            config,
            rng_id,
            lookups: BTreeMap::new(),
            by_token: BTreeMap::new(),
            actions: VecDeque::new(),
            lookup_next: 0,
            token_next: 0,
            now_ns_max: 0,
        }
    }

    /// Lookups in progress.
    pub fn lookups_len(&self) -> usize {
        self.lookups.len()
    }

    /// The next thing the engine must do, if any.
    pub fn poll_action(&mut self) -> Option<StubAction> {
        self.actions.pop_front()
    }

    fn observe(&mut self, now_ns: u64) {
        assert!(now_ns >= self.now_ns_max, "time went backwards in the stub");
        self.now_ns_max = now_ns;
    }

    /// Starts looking up `name`/`qtype`.
    pub fn lookup(
        &mut self,
        now_ns: u64,
        name: Name,
        qtype: RecordType,
        options: LookupOptions,
    ) -> LookupId {
        self.observe(now_ns);
        let id = LookupId(self.lookup_next);
        self.lookup_next += 1;
        if self.config.servers.is_empty() || self.lookups.len() >= LOOKUPS_MAX {
            self.actions.push_back(StubAction::Done {
                lookup: id,
                outcome: StubOutcome::Timeout,
            });
            return id;
        }
        let mut query = Query::query(name, qtype);
        query.set_query_class(DNSClass::IN);
        let lookup = Lookup {
            query,
            options,
            sent: 0,
            token: StubToken(u64::MAX),
            id: 0,
            server: self.config.servers[0],
            transport: Transport::Udp,
            sent_at_ns: now_ns,
        };
        self.lookups.insert(id, lookup);
        self.send_next(now_ns, id);
        id
    }

    /// Sends to the next server in turn, or ends the lookup with a timeout.
    fn send_next(&mut self, now_ns: u64, id: LookupId) {
        let lookup = self.lookups.get_mut(&id).expect("a live lookup");
        let servers = &self.config.servers;
        if lookup.sent >= u32::from(self.config.attempts) * servers.len() as u32 {
            self.lookups.remove(&id);
            self.actions.push_back(StubAction::Done {
                lookup: id,
                outcome: StubOutcome::Timeout,
            });
            return;
        }
        lookup.server = servers[lookup.sent as usize % servers.len()];
        lookup.sent += 1;
        self.send(now_ns, id, Transport::Udp);
    }

    fn send(&mut self, now_ns: u64, id: LookupId, transport: Transport) {
        let lookup = self.lookups.get_mut(&id).expect("a live lookup");
        self.by_token.remove(&lookup.token);
        let token = StubToken(self.token_next);
        self.token_next += 1;
        lookup.token = token;
        lookup.id = (self.rng_id.next_u32() & 0xffff) as u16;
        lookup.transport = transport;
        lookup.sent_at_ns = now_ns;
        let mut message = Message::new(lookup.id, MessageType::Query, OpCode::Query);
        message.metadata.recursion_desired = lookup.options.recursion_desired;
        message.add_query(lookup.query.clone());
        if lookup.options.edns {
            let mut opt = Edns::new();
            opt.set_max_payload(lookup.options.edns_udp_size);
            message.set_edns(opt);
        }
        let bytes = message.to_vec().expect("a query with a valid name encodes");
        let to = lookup.server;
        self.by_token.insert(token, id);
        assert!(self.by_token.len() <= self.lookups.len());
        self.actions.push_back(StubAction::Send {
            token,
            to,
            transport,
            bytes,
        });
        self.actions.push_back(StubAction::SetTimer {
            token,
            at_ns: now_ns.saturating_add(self.config.timeout_ns),
        });
    }

    /// A message arrived from `from` over `transport` for `token`. Anything
    /// but the response to that message (source, ID, question) is ignored.
    /// A truncated UDP answer is asked again over TCP.
    pub fn response(
        &mut self,
        now_ns: u64,
        token: StubToken,
        from: IpAddr,
        transport: Transport,
        bytes: &[u8],
    ) {
        self.observe(now_ns);
        let Some(&id) = self.by_token.get(&token) else {
            return;
        };
        let lookup = &self.lookups[&id];
        if from != lookup.server || transport != lookup.transport {
            return;
        }
        let Ok(message) = Message::from_vec(bytes) else {
            return;
        };
        let matches = message.metadata.message_type == MessageType::Response
            && message.metadata.id == lookup.id
            && message.queries.len() == 1
            && message.queries[0].name() == lookup.query.name()
            && message.queries[0].query_type() == lookup.query.query_type();
        if !matches {
            return;
        }
        if message.metadata.truncation && transport == Transport::Udp {
            return self.send(now_ns, id, Transport::Tcp);
        }
        let lookup = self.lookups.remove(&id).expect("checked above");
        self.by_token.remove(&token);
        self.actions.push_back(StubAction::Done {
            lookup: id,
            outcome: StubOutcome::Answer(Box::new(StubAnswer {
                message,
                server: from,
                transport,
                size_bytes: bytes.len(),
                query_time_ns: now_ns - lookup.sent_at_ns,
            })),
        });
    }

    /// The timer set for `token` fired: if that message is still unanswered,
    /// the next server is tried.
    pub fn timer(&mut self, now_ns: u64, token: StubToken) {
        self.observe(now_ns);
        let Some(id) = self.by_token.remove(&token) else {
            return;
        };
        self.send_next(now_ns, id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resolver::fake::{ip, name, Net};
    use crate::resolver::{ClientId, Resolver};
    use hickory_proto::op::ResponseCode;

    const RESOLVER: &str = "10.9.9.9";
    const DEAD: &str = "10.9.9.8";

    /// Runs a stub lookup against a resolver on the fake network; the
    /// stub-to-resolver hop takes 1 ms each way and `DEAD` never answers.
    fn run(stub: &mut Stub, resolver: &mut Resolver, net: &mut Net) -> StubOutcome {
        let mut timers: BTreeMap<(u64, u64), StubToken> = BTreeMap::new();
        for _ in 0..100 {
            while let Some(action) = stub.poll_action() {
                match action {
                    StubAction::Send {
                        token,
                        to,
                        transport,
                        bytes,
                    } => {
                        if to != ip(RESOLVER) {
                            continue;
                        }
                        net.now_ns += 1_000_000;
                        resolver.client_query(net.now_ns, ClientId(token.0), transport, &bytes);
                        net.run(resolver);
                        let (client, reply, _) = net.replies.last().cloned().unwrap();
                        assert_eq!(client, ClientId(token.0));
                        net.now_ns += 1_000_000;
                        let mut bytes = reply.to_vec().unwrap();
                        if transport == Transport::Udp && bytes.len() > 64 {
                            // A path that only fits small datagrams.
                            let mut tc = reply.truncate();
                            tc.metadata.id = reply.metadata.id;
                            bytes = tc.to_vec().unwrap();
                        }
                        stub.response(net.now_ns, token, to, transport, &bytes);
                    }
                    StubAction::SetTimer { token, at_ns } => {
                        timers.insert((at_ns, token.0), token);
                    }
                    StubAction::Done { outcome, .. } => return outcome,
                }
            }
            let ((at_ns, _), token) = timers.pop_first().expect("a lookup waits for something");
            net.now_ns = net.now_ns.max(at_ns);
            stub.timer(net.now_ns, token);
        }
        panic!("the lookup did not end");
    }

    fn answer(outcome: StubOutcome) -> StubAnswer {
        match outcome {
            StubOutcome::Answer(answer) => *answer,
            StubOutcome::Timeout => panic!("timed out"),
        }
    }

    #[test]
    fn asks_the_next_server_after_a_timeout() {
        let mut net = Net::lab();
        let mut resolver = Resolver::new(Net::config(), 1);
        let mut stub = Stub::new(StubConfig::new(vec![ip(DEAD), ip(RESOLVER)]), 1);
        stub.lookup(
            0,
            name("www.example.com."),
            RecordType::A,
            LookupOptions::default(),
        );
        let a = answer(run(&mut stub, &mut resolver, &mut net));
        assert_eq!(a.server, ip(RESOLVER));
        assert_eq!(a.message.metadata.response_code, ResponseCode::NoError);
        assert_eq!(a.message.answers.len(), 1);
        assert!(net.now_ns >= TIMEOUT_NS_DEFAULT);
        // A second lookup is served from the resolver's cache: 2 ms.
        stub.lookup(
            net.now_ns,
            name("www.example.com."),
            RecordType::A,
            LookupOptions::default(),
        );
        let _ = run(&mut stub, &mut resolver, &mut net);
    }

    #[test]
    fn times_out_after_every_attempt() {
        let mut net = Net::lab();
        let mut resolver = Resolver::new(Net::config(), 1);
        let mut stub = Stub::new(StubConfig::new(vec![ip(DEAD)]), 1);
        stub.lookup(
            0,
            name("www.example.com."),
            RecordType::A,
            LookupOptions::default(),
        );
        assert_eq!(
            run(&mut stub, &mut resolver, &mut net),
            StubOutcome::Timeout
        );
        assert_eq!(net.now_ns, 2 * TIMEOUT_NS_DEFAULT);
        assert_eq!(stub.lookups_len(), 0);
    }

    #[test]
    fn truncated_answer_is_asked_again_over_tcp() {
        let mut net = Net::lab();
        let mut resolver = Resolver::new(Net::config(), 1);
        let mut stub = Stub::new(StubConfig::new(vec![ip(RESOLVER)]), 1);
        stub.lookup(
            0,
            name("alias.example.com."),
            RecordType::A,
            LookupOptions::default(),
        );
        let a = answer(run(&mut stub, &mut resolver, &mut net));
        assert_eq!(a.transport, Transport::Tcp);
        assert_eq!(a.message.answers.len(), 2);
        assert_eq!(a.query_time_ns, 2_000_000, "answered from the cache");
    }

    #[test]
    fn mismatched_responses_are_ignored() {
        let mut stub = Stub::new(StubConfig::new(vec![ip(RESOLVER)]), 1);
        stub.lookup(
            0,
            name("www.example.com."),
            RecordType::A,
            LookupOptions::default(),
        );
        let Some(StubAction::Send { token, bytes, .. }) = stub.poll_action() else {
            panic!()
        };
        let query = Message::from_vec(&bytes).unwrap();
        let mut reply = Message::response(query.metadata.id, OpCode::Query);
        reply.add_query(query.queries[0].clone());
        stub.response(1, token, ip(DEAD), Transport::Udp, &reply.to_vec().unwrap());
        let mut wrong = reply.clone();
        wrong.metadata.id ^= 1;
        stub.response(
            2,
            token,
            ip(RESOLVER),
            Transport::Udp,
            &wrong.to_vec().unwrap(),
        );
        stub.response(3, token, ip(RESOLVER), Transport::Udp, b"junk");
        assert!(matches!(
            stub.poll_action(),
            Some(StubAction::SetTimer { .. })
        ));
        assert_eq!(stub.poll_action(), None);
        stub.response(
            4,
            token,
            ip(RESOLVER),
            Transport::Udp,
            &reply.to_vec().unwrap(),
        );
        assert!(matches!(stub.poll_action(), Some(StubAction::Done { .. })));
    }
}
