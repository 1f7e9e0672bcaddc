//! A sans-IO recursive resolver: the algorithm of RFC 1034 §5.3.3, in the
//! spirit of Unbound and BIND.
//!
//! Read RFC 1034 §5.3.3 ("Algorithm"), RFC 1035 §7, RFC 2181 §5.4.1 and §6
//! (data ranking, zone cuts), RFC 2308 (negative caching), RFC 5452
//! (accepting only the answer asked for), RFC 6891 §6.2.2 (EDNS fallback),
//! RFC 7766 §5 (TCP after truncation), RFC 8499 (terms).
//!
//! RFC 1034 §5.3.3 in four steps:
//!
//! ```text
//! 1. See if the answer is in local information, and if so return
//!    it to the client.
//! 2. Find the best servers to ask.
//! 3. Send them queries until one returns a response.
//! 4. Analyze the response, either:
//!       a. if the response answers the question or contains a name
//!          error, cache the data as well as returning it back to
//!          the client.
//!       b. if the response contains a better delegation to other
//!          servers, cache the delegation information, and go to
//!          step 2.
//!       c. if the response shows a CNAME and that is not the
//!          answer itself, cache the CNAME, change the SNAME to the
//!          canonical name in the CNAME RR and go to step 1.
//!       d. if the response shows a servers failure or other
//!          bizarre contents, delete the server from the SLIST and
//!          go back to step 3.
//! ```
//!
//! # The contract with the engine
//!
//! The resolver owns no socket and no clock. The engine calls
//! [`Resolver::client_query`] with each query a stub sends to the resolver,
//! [`Resolver::upstream_response`] with each message that arrives for an
//! [`UpstreamToken`], and [`Resolver::timer`] when a timer set by
//! [`Action::SetTimer`] fires; after each call it drains
//! [`Resolver::poll_action`] and carries the actions out. Time passed in must
//! never go backwards.
//!
//! - Bytes are bare DNS messages. Over TCP the engine adds and strips the
//!   two-byte length prefix (RFC 1035 §4.2.2) and opens a connection per
//!   [`Action::SendUpstream`] with [`Transport::Tcp`] (or reuses one).
//! - Each upstream query has its own token; the engine tells which token a
//!   response belongs to (e.g. by the ephemeral source port it used, or the
//!   TCP connection) and passes the address it came from, so a response
//!   from another address is ignored (RFC 5452 §9.1).
//! - Timers are not cancelled: a timer whose query was already answered is
//!   ignored when it fires, so the engine may drop or deliver it.
//! - [`ClientId`] is the engine's own handle for a client query (its address,
//!   port and transport); the resolver hands it back in
//!   [`Action::ReplyToClient`], together with the walk — every upstream query
//!   the resolution made — for `dig +trace`.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::net::IpAddr;

use hickory_proto::op::{Edns, Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::{DNSClass, Name, RData, Record, RecordType};
use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::cache::{Cache, CacheAnswer, Trust};
use crate::transport::Transport;

/// The engine's opaque handle for one client query.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ClientId(pub u64);

/// Names one upstream query and its timer. Never reused by a resolver.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UpstreamToken(pub u64);

/// Default time to wait for one upstream answer: 800 ms. Unbound starts
/// near 376 ms and backs off to seconds; BIND waits 800 ms before trying
/// the next server. One fixed value keeps walks easy to read.
pub const TIMEOUT_NS_DEFAULT: u64 = 800_000_000;

/// Default EDNS(0) UDP payload size: 1232 bytes, the DNS Flag Day 2020
/// value, which fits a 1280-byte IPv6 MTU with headers.
pub const EDNS_UDP_SIZE_DEFAULT: u16 = 1232;

/// RFC 1035 §4.2.1: "Messages carried by UDP are restricted to 512 bytes".
const UDP_SIZE_CLASSIC: u16 = 512;

/// How many servers that do not speak EDNS are remembered.
const NO_EDNS_SERVERS_MAX: usize = 1024;

/// Steps one call may take through a resolution before it must have sent a
/// query or finished; a backstop behind the per-resolution limits.
const DRIVE_STEPS_MAX: usize = 1024;

/// Knobs of the resolver; every one is a bound.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolverConfig {
    /// Where iteration starts when the cache knows no closer zone cut.
    pub root_hints: Vec<IpAddr>,
    /// Zones whose servers are configured rather than found from the root:
    /// Route 53's private hosted zones associated with the resolver's
    /// network (Unbound calls them stub zones). A name under one is asked
    /// of these servers directly, unless the cache knows a closer cut.
    pub stub_zones: Vec<(Name, Vec<IpAddr>)>,
    /// How long to wait for one upstream query.
    pub timeout_ns: u64,
    /// How many times each server of a zone is tried before the zone fails.
    pub attempts: u8,
    /// Most CNAMEs followed for one question; more is SERVFAIL.
    pub cname_chain_max: u8,
    /// Most upstream queries one client query may cost, NS-address lookups
    /// and retries included; more is SERVFAIL.
    pub upstream_queries_max: u32,
    /// Most referrals followed for one name; more is SERVFAIL.
    pub referrals_max: u8,
    /// Most nested lookups of name-server addresses (a server whose name
    /// came without glue, whose own servers came without glue, ...).
    pub dependency_depth_max: u8,
    /// The EDNS(0) UDP payload size advertised upstream and to clients.
    pub edns_udp_size: u16,
    /// Most cache entries (RRsets and negative answers).
    pub cache_capacity: usize,
    /// Clamp on cached TTLs (Unbound's `cache-max-ttl`).
    pub cache_ttl_max_s: u32,
    /// Clamp on negative TTLs (Unbound's `cache-max-negative-ttl`).
    pub cache_negative_ttl_max_s: u32,
    /// Most client queries in progress at once; beyond it clients get
    /// SERVFAIL at once (Unbound's `num-queries-per-thread`).
    pub resolutions_max: usize,
}

impl Default for ResolverConfig {
    fn default() -> Self {
        ResolverConfig {
            root_hints: Vec::new(),
            stub_zones: Vec::new(),
            timeout_ns: TIMEOUT_NS_DEFAULT,
            attempts: 2,
            cname_chain_max: 8,
            upstream_queries_max: 64,
            referrals_max: 16,
            dependency_depth_max: 4,
            edns_udp_size: EDNS_UDP_SIZE_DEFAULT,
            cache_capacity: crate::cache::CAPACITY_DEFAULT,
            cache_ttl_max_s: crate::cache::TTL_MAX_S_DEFAULT,
            cache_negative_ttl_max_s: crate::cache::NEGATIVE_TTL_MAX_S_DEFAULT,
            resolutions_max: 1024,
        }
    }
}

/// What the engine must do next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Send `bytes` (a bare DNS message) to port 53 of `to`.
    SendUpstream {
        /// Name of this query, for its response and its timer.
        token: UpstreamToken,
        /// The server's address.
        to: IpAddr,
        /// UDP, or TCP after a truncated UDP answer.
        transport: Transport,
        /// The query.
        bytes: Vec<u8>,
    },
    /// Call [`Resolver::timer`] with `token` at `at_ns` (unless the query
    /// was answered first; firing it anyway is harmless).
    SetTimer {
        /// The query the timer guards.
        token: UpstreamToken,
        /// When the query times out.
        at_ns: u64,
    },
    /// Send `bytes` (a bare DNS message) back to the client.
    ReplyToClient {
        /// The handle passed to [`Resolver::client_query`].
        client: ClientId,
        /// The response.
        bytes: Vec<u8>,
        /// Every upstream query this answer cost, in order; empty when it
        /// came from the cache.
        walk: Vec<WalkStep>,
    },
}

/// One upstream query of a resolution, for `dig +trace`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WalkStep {
    /// The server asked.
    pub server: IpAddr,
    /// Its name, when it came from an NS record (root hints have none).
    pub ns_name: Option<Name>,
    /// The zone the server was asked as a server of (the zone cut).
    pub zone: Name,
    /// The name asked.
    pub qname: Name,
    /// The type asked.
    pub qtype: RecordType,
    /// How the query went.
    pub transport: Transport,
    /// Whether the query carried an EDNS(0) OPT record.
    pub edns: bool,
    /// When the query left.
    pub sent_at_ns: u64,
    /// What came of it.
    pub outcome: WalkOutcome,
}

/// What came of one upstream query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WalkOutcome {
    /// Still waiting.
    Pending,
    /// A response that passed the checks.
    Response {
        /// The response as decoded.
        message: Box<Message>,
        /// Its size on the wire, without TCP framing.
        size_bytes: usize,
        /// When it arrived.
        received_at_ns: u64,
    },
    /// No valid response in time.
    Timeout {
        /// When the timer fired.
        at_ns: u64,
    },
}

/// The question a client asked, kept to answer it.
#[derive(Debug, Clone)]
struct ClientRequest {
    id: u16,
    query: Query,
    recursion_desired: bool,
    /// The client's EDNS UDP size, when it sent an OPT record.
    edns_payload: Option<u16>,
    transport: Transport,
}

/// One server address of a zone cut: the SLIST entries of RFC 1034 §5.3.3.
#[derive(Debug, Clone)]
struct Candidate {
    addr: IpAddr,
    ns_name: Option<Name>,
    /// Queries sent to it so far.
    sent: u8,
    /// It answered with a failure; no more queries to it.
    dead: bool,
}

/// The servers of the closest known enclosing zone (RFC 1034 §5.3.3 step 2).
#[derive(Debug, Clone)]
struct Cut {
    zone: Name,
    candidates: Vec<Candidate>,
    /// NS names with no known address, looked up when the known
    /// addresses are used up.
    unresolved: VecDeque<Name>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Purpose {
    /// The client's own question.
    Client,
    /// The address of a name server of the frame below.
    NsAddress { ns_name: Name },
}

/// One question being resolved; a resolution is a stack of them, the
/// client's at the bottom and the lookups of name-server addresses above.
#[derive(Debug, Clone)]
struct Frame {
    /// SNAME of RFC 1034 §5.3.3, changed by each CNAME followed.
    qname: Name,
    qtype: RecordType,
    /// CNAMEs followed so far, in order.
    chain: Vec<Record>,
    referrals: u8,
    cut: Option<Cut>,
    purpose: Purpose,
}

impl Frame {
    fn new(qname: Name, qtype: RecordType, purpose: Purpose) -> Frame {
        Frame {
            qname,
            qtype,
            chain: Vec::new(),
            referrals: 0,
            cut: None,
            purpose,
        }
    }
}

/// How a frame ended.
#[derive(Debug, Clone)]
struct FrameResult {
    rcode: ResponseCode,
    answers: Vec<Record>,
    authorities: Vec<Record>,
}

impl FrameResult {
    fn servfail(chain: Vec<Record>) -> FrameResult {
        FrameResult {
            rcode: ResponseCode::ServFail,
            answers: chain,
            authorities: Vec::new(),
        }
    }
}

#[derive(Debug, Clone)]
struct Resolution {
    client: ClientId,
    request: ClientRequest,
    frames: Vec<Frame>,
    upstream_queries: u32,
    walk: Vec<WalkStep>,
    outstanding: Option<UpstreamToken>,
}

#[derive(Debug, Clone)]
struct Outstanding {
    resolution: u64,
    frame_depth: usize,
    candidate: usize,
    addr: IpAddr,
    transport: Transport,
    edns: bool,
    id: u16,
    walk_index: usize,
}

/// What to do next with the top frame.
enum Next {
    /// A query is on its way; wait.
    Sent,
    /// Look again (the frame changed).
    Again,
    /// Resolve a name server's address first.
    Push(Box<Frame>),
    /// The frame is done.
    Done(FrameResult),
    /// The whole resolution fails (a per-resolution limit was hit).
    Abort,
}

/// The next server of a cut to use.
enum Pick {
    Send(usize),
    Lookup(Name),
    Exhausted,
}

/// What a validated response means for the frame that asked.
enum Verdict {
    /// Ask the same server again, over `transport`, with or without EDNS.
    Retry { transport: Transport, edns: bool },
    /// The server failed; try another.
    ServerFailed,
    /// A closer zone cut.
    Referral(Cut),
    /// The answer, the name error or the no-data.
    Done(FrameResult),
    /// A CNAME led out of the server's zone: start again for the target.
    Restart,
}

/// The recursive resolver: a cache and the resolutions in progress.
#[derive(Debug, Clone)]
pub struct Resolver {
    config: ResolverConfig,
    cache: Cache,
    /// Message IDs (RFC 5452 §4.3).
    rng_id: ChaCha8Rng,
    /// Server order within a zone cut.
    rng_order: ChaCha8Rng,
    resolutions: BTreeMap<u64, Resolution>,
    outstanding: BTreeMap<UpstreamToken, Outstanding>,
    /// Servers that answered FORMERR or NOTIMP to EDNS (RFC 6891 §6.2.2).
    no_edns: BTreeSet<IpAddr>,
    actions: VecDeque<Action>,
    resolution_next: u64,
    token_next: u64,
    now_ns_max: u64,
}

impl Resolver {
    /// A resolver with an empty cache; `seed` alone decides its message IDs
    /// and server order.
    pub fn new(config: ResolverConfig, seed: u64) -> Resolver {
        let mut rng_id = ChaCha8Rng::seed_from_u64(seed);
        rng_id.set_stream(1);
        let mut rng_order = ChaCha8Rng::seed_from_u64(seed);
        rng_order.set_stream(2);
        let cache = Cache::with_ttl_limits(
            config.cache_capacity,
            config.cache_ttl_max_s,
            config.cache_negative_ttl_max_s,
        );
        Resolver {
            config,
            cache,
            rng_id,
            rng_order,
            resolutions: BTreeMap::new(),
            outstanding: BTreeMap::new(),
            no_edns: BTreeSet::new(),
            actions: VecDeque::new(),
            resolution_next: 0,
            token_next: 0,
            now_ns_max: 0,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &ResolverConfig {
        &self.config
    }

    /// The cache, to ask what is cached and for how long.
    pub fn cache(&self) -> &Cache {
        &self.cache
    }

    /// Client queries in progress.
    pub fn resolutions_len(&self) -> usize {
        self.resolutions.len()
    }

    /// Upstream queries awaiting an answer or a timeout.
    pub fn outstanding_len(&self) -> usize {
        self.outstanding.len()
    }

    /// The next thing the engine must do, if any.
    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    fn observe(&mut self, now_ns: u64) {
        assert!(
            now_ns >= self.now_ns_max,
            "time went backwards in the resolver"
        );
        self.now_ns_max = now_ns;
    }

    /// A query from a client (a stub resolver) arrived over `transport`.
    ///
    /// A malformed query gets FORMERR when it has an ID to echo, a
    /// response is dropped, an opcode other than QUERY gets NOTIMP, a class
    /// other than IN gets REFUSED. A question answered by the cache is
    /// answered at once; otherwise resolution starts. RD=0 is treated as
    /// RD=1 (the resolver always recurses).
    pub fn client_query(
        &mut self,
        now_ns: u64,
        client: ClientId,
        transport: Transport,
        bytes: &[u8],
    ) {
        self.observe(now_ns);
        let message = match Message::from_vec(bytes) {
            Ok(message) => message,
            Err(_) => {
                if bytes.len() >= 2 {
                    let id = u16::from_be_bytes([bytes[0], bytes[1]]);
                    self.reply_error(client, id, None, ResponseCode::FormErr);
                }
                return;
            }
        };
        if message.metadata.message_type != MessageType::Query {
            return;
        }
        let id = message.metadata.id;
        if message.metadata.op_code != OpCode::Query {
            return self.reply_error(client, id, None, ResponseCode::NotImp);
        }
        let [query] = message.queries.as_slice() else {
            return self.reply_error(client, id, None, ResponseCode::FormErr);
        };
        if query.query_class() != DNSClass::IN {
            return self.reply_error(client, id, Some(query.clone()), ResponseCode::Refused);
        }
        let request = ClientRequest {
            id,
            query: query.clone(),
            recursion_desired: message.metadata.recursion_desired,
            edns_payload: message.edns.as_ref().map(|e| e.max_payload()),
            transport,
        };
        if self.resolutions.len() >= self.config.resolutions_max {
            let result = FrameResult::servfail(Vec::new());
            return self.reply(client, &request, result, Vec::new());
        }
        let resolution_id = self.resolution_next;
        self.resolution_next += 1;
        let frame = Frame::new(query.name().clone(), query.query_type(), Purpose::Client);
        self.resolutions.insert(
            resolution_id,
            Resolution {
                client,
                request,
                frames: vec![frame],
                upstream_queries: 0,
                walk: Vec::new(),
                outstanding: None,
            },
        );
        self.drive(now_ns, resolution_id);
    }

    /// A message arrived from `from` over `transport` for the query named
    /// by `token`. Anything that is not the response to that query — a
    /// stale token, another source address or transport, an undecodable
    /// message, another ID or question — is ignored, and the query keeps
    /// waiting for the real response or its timeout (RFC 5452 §9.1).
    pub fn upstream_response(
        &mut self,
        now_ns: u64,
        token: UpstreamToken,
        from: IpAddr,
        transport: Transport,
        bytes: &[u8],
    ) {
        self.observe(now_ns);
        let Some(outstanding) = self.outstanding.get(&token) else {
            return;
        };
        if from != outstanding.addr || transport != outstanding.transport {
            return;
        }
        let Ok(message) = Message::from_vec(bytes) else {
            return;
        };
        let resolution = &self.resolutions[&outstanding.resolution];
        let frame = &resolution.frames[outstanding.frame_depth];
        if !response_matches(&message, outstanding.id, &frame.qname, frame.qtype) {
            return;
        }
        let outstanding = self.outstanding.remove(&token).expect("checked above");
        let resolution_id = outstanding.resolution;
        let mut resolution = self
            .resolutions
            .remove(&resolution_id)
            .expect("outstanding queries belong to live resolutions");
        assert_eq!(resolution.outstanding, Some(token));
        assert_eq!(resolution.frames.len(), outstanding.frame_depth + 1);
        resolution.outstanding = None;
        resolution.walk[outstanding.walk_index].outcome = WalkOutcome::Response {
            message: Box::new(message.clone()),
            size_bytes: bytes.len(),
            received_at_ns: now_ns,
        };
        let verdict = self.analyze(now_ns, &mut resolution, &outstanding, &message);
        let next = self.apply_verdict(now_ns, &mut resolution, &outstanding, verdict);
        self.resolutions.insert(resolution_id, resolution);
        self.continue_with(now_ns, resolution_id, next);
    }

    /// The timer set for `token` fired. If its query is still unanswered it
    /// has timed out and the next server is tried; otherwise nothing
    /// happens.
    pub fn timer(&mut self, now_ns: u64, token: UpstreamToken) {
        self.observe(now_ns);
        let Some(outstanding) = self.outstanding.remove(&token) else {
            return;
        };
        let resolution = self
            .resolutions
            .get_mut(&outstanding.resolution)
            .expect("outstanding queries belong to live resolutions");
        assert_eq!(resolution.outstanding, Some(token));
        resolution.outstanding = None;
        resolution.walk[outstanding.walk_index].outcome = WalkOutcome::Timeout { at_ns: now_ns };
        self.drive(now_ns, outstanding.resolution);
    }

    /// Steps a resolution until it waits for a response or is finished.
    fn drive(&mut self, now_ns: u64, resolution_id: u64) {
        self.continue_with(now_ns, resolution_id, Next::Again);
    }

    fn continue_with(&mut self, now_ns: u64, resolution_id: u64, first: Next) {
        let mut resolution = self
            .resolutions
            .remove(&resolution_id)
            .expect("driving a live resolution");
        let mut next = first;
        for _ in 0..DRIVE_STEPS_MAX {
            match next {
                Next::Sent => {
                    assert!(resolution.outstanding.is_some());
                    self.resolutions.insert(resolution_id, resolution);
                    return;
                }
                Next::Again => {}
                Next::Push(frame) => {
                    assert!(
                        resolution.frames.len() <= usize::from(self.config.dependency_depth_max)
                    );
                    resolution.frames.push(*frame);
                }
                Next::Done(result) => {
                    let frame = resolution.frames.pop().expect("a frame finished");
                    match &frame.purpose {
                        Purpose::Client => {
                            assert!(resolution.frames.is_empty());
                            return self.finish(resolution, result);
                        }
                        Purpose::NsAddress { ns_name } => {
                            if let Some(frame) = ns_address_found(
                                &mut resolution,
                                frame.qtype,
                                ns_name.clone(),
                                result,
                            ) {
                                next = Next::Push(Box::new(frame));
                                continue;
                            }
                        }
                    }
                }
                Next::Abort => {
                    let chain = resolution
                        .frames
                        .first()
                        .map(|f| f.chain.clone())
                        .unwrap_or_default();
                    return self.finish(resolution, FrameResult::servfail(chain));
                }
            }
            next = self.next_step(now_ns, resolution_id, &mut resolution);
        }
        // Unreachable while every step makes progress; fail safe if not.
        debug_assert!(
            false,
            "a resolution took {DRIVE_STEPS_MAX} steps without waiting"
        );
        self.finish(resolution, FrameResult::servfail(Vec::new()));
    }

    /// RFC 1034 §5.3.3 steps 1 to 3 for the top frame.
    fn next_step(&mut self, now_ns: u64, resolution_id: u64, resolution: &mut Resolution) -> Next {
        let depth = resolution.frames.len();
        let frame = resolution
            .frames
            .last_mut()
            .expect("a live resolution has a frame");
        if frame.cut.is_none() {
            // Step 1: local information.
            if let Some(next) = self.answer_from_cache(now_ns, frame) {
                return next;
            }
            // Step 2: the best servers to ask.
            frame.cut = Some(self.closest_cut(now_ns, &frame.qname));
        }
        let cut = frame.cut.as_mut().expect("set above");
        // Step 3: every known server once, then the servers whose addresses
        // must be looked up, then the second and later attempts.
        let attempts = self.config.attempts;
        let pick = if let Some(index) = cut.candidates.iter().position(|c| !c.dead && c.sent == 0) {
            Pick::Send(index)
        } else if let Some(ns_name) = cut.unresolved.pop_front() {
            Pick::Lookup(ns_name)
        } else {
            cut.candidates
                .iter()
                .enumerate()
                .filter(|(_, c)| !c.dead && c.sent < attempts)
                .min_by_key(|(i, c)| (c.sent, *i))
                .map_or(Pick::Exhausted, |(i, _)| Pick::Send(i))
        };
        match pick {
            Pick::Send(index) => {
                cut.candidates[index].sent += 1;
                let addr = cut.candidates[index].addr;
                let edns = !self.no_edns.contains(&addr);
                self.send(
                    now_ns,
                    resolution_id,
                    resolution,
                    index,
                    Transport::Udp,
                    edns,
                )
            }
            Pick::Lookup(ns_name) => {
                // A server whose address needs itself, or too deep a chain of
                // such lookups, is skipped.
                let looping = resolution.frames.iter().any(|f| f.qname == ns_name);
                if looping || depth > usize::from(self.config.dependency_depth_max) {
                    return Next::Again;
                }
                Next::Push(Box::new(Frame::new(
                    ns_name.clone(),
                    RecordType::A,
                    Purpose::NsAddress { ns_name },
                )))
            }
            Pick::Exhausted => Next::Done(FrameResult::servfail(frame.chain.clone())),
        }
    }

    /// Step 1: the answer, a negative answer or a CNAME from the cache.
    fn answer_from_cache(&mut self, now_ns: u64, frame: &mut Frame) -> Option<Next> {
        // Glue may do for a name server's address; clients get answers only.
        let trust_min = match frame.purpose {
            Purpose::Client => Trust::Answer,
            Purpose::NsAddress { .. } => Trust::Additional,
        };
        match self.cache.lookup(now_ns, &frame.qname, frame.qtype) {
            Some(CacheAnswer::Records { records, trust }) if trust >= trust_min => {
                let mut answers = frame.chain.clone();
                answers.extend(records);
                return Some(Next::Done(FrameResult {
                    rcode: ResponseCode::NoError,
                    answers,
                    authorities: Vec::new(),
                }));
            }
            Some(CacheAnswer::NoData { soa }) => {
                return Some(Next::Done(FrameResult {
                    rcode: ResponseCode::NoError,
                    answers: frame.chain.clone(),
                    authorities: soa.into_iter().collect(),
                }));
            }
            Some(CacheAnswer::NxDomain { soa }) => {
                return Some(Next::Done(FrameResult {
                    rcode: ResponseCode::NXDomain,
                    answers: frame.chain.clone(),
                    authorities: soa.into_iter().collect(),
                }));
            }
            _ => {}
        }
        if frame.qtype == RecordType::CNAME {
            return None;
        }
        let Some(CacheAnswer::Records {
            records,
            trust: Trust::Answer,
        }) = self.cache.lookup(now_ns, &frame.qname, RecordType::CNAME)
        else {
            return None;
        };
        let cname = records
            .into_iter()
            .next()
            .expect("cached RRsets are not empty");
        Some(self.follow_cname(frame, cname))
    }

    fn follow_cname(&self, frame: &mut Frame, cname: Record) -> Next {
        let RData::CNAME(target) = &cname.data else {
            unreachable!("only CNAME records are followed")
        };
        let target = target.0.clone();
        let looped = frame.chain.iter().any(|r| r.name == target) || frame.qname == target;
        frame.chain.push(cname);
        if looped || frame.chain.len() > usize::from(self.config.cname_chain_max) {
            return Next::Done(FrameResult::servfail(frame.chain.clone()));
        }
        frame.qname = target;
        frame.referrals = 0;
        frame.cut = None;
        Next::Again
    }

    /// Step 2: the closest enclosing zone whose servers the cache knows by
    /// address, else the root hints.
    fn closest_cut(&mut self, now_ns: u64, qname: &Name) -> Cut {
        let mut zone = qname.clone();
        loop {
            if let Some(CacheAnswer::Records { records, .. }) =
                self.cache.lookup(now_ns, &zone, RecordType::NS)
            {
                let ns_names: Vec<Name> = records.iter().filter_map(ns_target).collect();
                let cut = self.cut_from(zone.clone(), &ns_names, &[], now_ns);
                if !cut.candidates.is_empty() {
                    return cut;
                }
            }
            if let Some((_, servers)) = self.config.stub_zones.iter().find(|(z, _)| *z == zone) {
                let mut candidates: Vec<Candidate> = servers
                    .iter()
                    .map(|&addr| Candidate {
                        addr,
                        ns_name: None,
                        sent: 0,
                        dead: false,
                    })
                    .collect();
                self.rotate(&mut candidates);
                return Cut {
                    zone,
                    candidates,
                    unresolved: VecDeque::new(),
                };
            }
            if zone.is_root() {
                break;
            }
            zone = zone.base_name();
        }
        let mut candidates: Vec<Candidate> = self
            .config
            .root_hints
            .iter()
            .map(|&addr| Candidate {
                addr,
                ns_name: None,
                sent: 0,
                dead: false,
            })
            .collect();
        self.rotate(&mut candidates);
        Cut {
            zone: Name::root(),
            candidates,
            unresolved: VecDeque::new(),
        }
    }

    /// A cut for `zone` served by `ns_names`, their addresses taken from
    /// `glue` first and the cache second.
    fn cut_from(&mut self, zone: Name, ns_names: &[Name], glue: &[Record], now_ns: u64) -> Cut {
        let mut candidates = Vec::new();
        let mut unresolved = VecDeque::new();
        for ns_name in ns_names {
            let mut addrs: Vec<IpAddr> = glue
                .iter()
                .filter(|r| r.name == *ns_name)
                .filter_map(record_addr)
                .collect();
            if addrs.is_empty() {
                for rtype in [RecordType::A, RecordType::AAAA] {
                    if let Some(CacheAnswer::Records { records, .. }) =
                        self.cache.lookup(now_ns, ns_name, rtype)
                    {
                        addrs.extend(records.iter().filter_map(record_addr));
                    }
                }
            }
            if addrs.is_empty() {
                unresolved.push_back(ns_name.clone());
            }
            for addr in addrs {
                if !candidates.iter().any(|c: &Candidate| c.addr == addr) {
                    candidates.push(Candidate {
                        addr,
                        ns_name: Some(ns_name.clone()),
                        sent: 0,
                        dead: false,
                    });
                }
            }
        }
        self.rotate(&mut candidates);
        Cut {
            zone,
            candidates,
            unresolved,
        }
    }

    /// Spreads load: the servers of a zone are tried in their listed order,
    /// rotated by a seeded amount.
    fn rotate(&mut self, candidates: &mut [Candidate]) {
        if candidates.len() > 1 {
            let by = (self.rng_order.next_u64() % candidates.len() as u64) as usize;
            candidates.rotate_left(by);
        }
    }

    /// Step 3: sends the top frame's question to candidate `index` of its cut.
    fn send(
        &mut self,
        now_ns: u64,
        resolution_id: u64,
        resolution: &mut Resolution,
        index: usize,
        transport: Transport,
        edns: bool,
    ) -> Next {
        if resolution.upstream_queries >= self.config.upstream_queries_max {
            return Next::Abort;
        }
        resolution.upstream_queries += 1;
        let frame_depth = resolution.frames.len() - 1;
        let frame = &resolution.frames[frame_depth];
        let cut = frame.cut.as_ref().expect("sending needs a cut");
        let candidate = &cut.candidates[index];
        let id = (self.rng_id.next_u32() & 0xffff) as u16;
        let mut query = Message::new(id, MessageType::Query, OpCode::Query);
        query.metadata.recursion_desired = false;
        query.add_query(Query::query(frame.qname.clone(), frame.qtype));
        if edns {
            let mut opt = Edns::new();
            opt.set_max_payload(self.config.edns_udp_size);
            query.set_edns(opt);
        }
        let bytes = query.to_vec().expect("a query with a valid name encodes");
        let token = UpstreamToken(self.token_next);
        self.token_next += 1;
        resolution.walk.push(WalkStep {
            server: candidate.addr,
            ns_name: candidate.ns_name.clone(),
            zone: cut.zone.clone(),
            qname: frame.qname.clone(),
            qtype: frame.qtype,
            transport,
            edns,
            sent_at_ns: now_ns,
            outcome: WalkOutcome::Pending,
        });
        assert!(resolution.walk.len() <= self.config.upstream_queries_max as usize);
        self.outstanding.insert(
            token,
            Outstanding {
                resolution: resolution_id,
                frame_depth,
                candidate: index,
                addr: candidate.addr,
                transport,
                edns,
                id,
                walk_index: resolution.walk.len() - 1,
            },
        );
        resolution.outstanding = Some(token);
        self.actions.push_back(Action::SendUpstream {
            token,
            to: candidate.addr,
            transport,
            bytes,
        });
        self.actions.push_back(Action::SetTimer {
            token,
            at_ns: now_ns.saturating_add(self.config.timeout_ns),
        });
        Next::Sent
    }

    /// Step 4: what a response that answers our question means.
    fn analyze(
        &mut self,
        now_ns: u64,
        resolution: &mut Resolution,
        outstanding: &Outstanding,
        response: &Message,
    ) -> Verdict {
        let rcode = response.metadata.response_code;
        // RFC 6891 §6.2.2: "Responders that are not EDNS compliant [...]
        // return FORMERR" — then ask again without the OPT record.
        if outstanding.edns && matches!(rcode, ResponseCode::FormErr | ResponseCode::NotImp) {
            if self.no_edns.len() < NO_EDNS_SERVERS_MAX {
                self.no_edns.insert(outstanding.addr);
            }
            return Verdict::Retry {
                transport: outstanding.transport,
                edns: false,
            };
        }
        // RFC 7766 §5: "a truncated UDP response [...] the resolver SHOULD
        // retry the query using TCP".
        if response.metadata.truncation {
            return match outstanding.transport {
                Transport::Udp => Verdict::Retry {
                    transport: Transport::Tcp,
                    edns: outstanding.edns,
                },
                Transport::Tcp => Verdict::ServerFailed,
            };
        }
        if !matches!(rcode, ResponseCode::NoError | ResponseCode::NXDomain) {
            return Verdict::ServerFailed;
        }
        let frame = resolution.frames.last_mut().expect("the asking frame");
        let zone = frame.cut.as_ref().expect("asked within a cut").zone.clone();
        let in_zone = |r: &&Record| zone.zone_of(&r.name) && r.dns_class == DNSClass::IN;

        // 4a and 4c: the answer section, CNAMEs followed while they stay in
        // the server's zone (records outside it are not believed).
        let answers: Vec<&Record> = response.answers.iter().filter(in_zone).collect();
        for _ in 0..=self.config.cname_chain_max {
            let rrset: Vec<Record> = answers
                .iter()
                .filter(|r| r.name == frame.qname && r.record_type() == frame.qtype)
                .map(|r| (*r).clone())
                .collect();
            if !rrset.is_empty() {
                self.cache.insert_rrset(now_ns, &rrset, Trust::Answer);
                let mut result = frame.chain.clone();
                result.extend(rrset);
                return Verdict::Done(FrameResult {
                    rcode: ResponseCode::NoError,
                    answers: result,
                    authorities: Vec::new(),
                });
            }
            let Some(cname) = answers
                .iter()
                .find(|r| r.name == frame.qname && r.record_type() == RecordType::CNAME)
            else {
                break;
            };
            self.cache
                .insert_rrset(now_ns, &[(*cname).clone()], Trust::Answer);
            match self.follow_cname(frame, (*cname).clone()) {
                Next::Again => {}
                Next::Done(result) => return Verdict::Done(result),
                _ => unreachable!("following a CNAME ends or goes on"),
            }
            if !zone.zone_of(&frame.qname) {
                return Verdict::Restart;
            }
        }
        let soa = response
            .authorities
            .iter()
            .find(|r| {
                r.record_type() == RecordType::SOA && in_zone(r) && r.name.zone_of(&frame.qname)
            })
            .cloned();
        // 4a: a name error.
        if rcode == ResponseCode::NXDomain {
            if let Some(soa) = &soa {
                self.cache.insert_negative(now_ns, &frame.qname, None, soa);
            }
            return Verdict::Done(FrameResult {
                rcode: ResponseCode::NXDomain,
                answers: frame.chain.clone(),
                authorities: soa.into_iter().collect(),
            });
        }
        // 4b: a delegation to a zone below the one asked, above the name.
        if let Some(cut) = self.referral(now_ns, &zone, &frame.qname, response) {
            return Verdict::Referral(cut);
        }
        // RFC 2308 §2.2: NODATA, "the response contains no relevant data in
        // the answer section and an SOA record in the authority section" (or
        // an authoritative empty answer).
        if soa.is_some() || response.metadata.authoritative {
            if let Some(soa) = &soa {
                self.cache
                    .insert_negative(now_ns, &frame.qname, Some(frame.qtype), soa);
            }
            return Verdict::Done(FrameResult {
                rcode: ResponseCode::NoError,
                answers: frame.chain.clone(),
                authorities: soa.into_iter().collect(),
            });
        }
        if frame.cut.is_none() {
            // A CNAME was followed and the server said nothing of its
            // target: look the target up afresh.
            return Verdict::Restart;
        }
        // 4d: "bizarre contents" — a lame server.
        Verdict::ServerFailed
    }

    /// The closer zone cut a referral from a server of `zone` names, if it
    /// is one: NS records in the authority section for a zone strictly
    /// below `zone` that contains `qname`. Glue is believed only for names
    /// inside `zone` (the bailiwick rule).
    fn referral(
        &mut self,
        now_ns: u64,
        zone: &Name,
        qname: &Name,
        response: &Message,
    ) -> Option<Cut> {
        let ns: Vec<Record> = response
            .authorities
            .iter()
            .filter(|r| {
                r.record_type() == RecordType::NS
                    && r.dns_class == DNSClass::IN
                    && zone.zone_of(&r.name)
                    && r.name != *zone
                    && r.name.zone_of(qname)
            })
            .cloned()
            .collect();
        let child = ns.first()?.name.clone();
        let ns: Vec<Record> = ns.into_iter().filter(|r| r.name == child).collect();
        let ns_names: Vec<Name> = ns.iter().filter_map(ns_target).collect();
        let glue: Vec<Record> = response
            .additionals
            .iter()
            .filter(|r| {
                matches!(r.record_type(), RecordType::A | RecordType::AAAA)
                    && zone.zone_of(&r.name)
                    && ns_names.contains(&r.name)
            })
            .cloned()
            .collect();
        self.cache.insert_rrset(now_ns, &ns, Trust::Authority);
        for ns_name in &ns_names {
            for rtype in [RecordType::A, RecordType::AAAA] {
                let rrset: Vec<Record> = glue
                    .iter()
                    .filter(|r| r.name == *ns_name && r.record_type() == rtype)
                    .cloned()
                    .collect();
                self.cache.insert_rrset(now_ns, &rrset, Trust::Additional);
            }
        }
        Some(self.cut_from(child, &ns_names, &glue, now_ns))
    }

    fn apply_verdict(
        &mut self,
        now_ns: u64,
        resolution: &mut Resolution,
        outstanding: &Outstanding,
        verdict: Verdict,
    ) -> Next {
        let resolution_id = outstanding.resolution;
        let frame = resolution.frames.last_mut().expect("the asking frame");
        match verdict {
            Verdict::Retry { transport, edns } => self.send(
                now_ns,
                resolution_id,
                resolution,
                outstanding.candidate,
                transport,
                edns,
            ),
            Verdict::ServerFailed => {
                let cut = frame.cut.as_mut().expect("asked within a cut");
                cut.candidates[outstanding.candidate].dead = true;
                Next::Again
            }
            Verdict::Referral(cut) => {
                frame.referrals += 1;
                if frame.referrals > self.config.referrals_max {
                    return Next::Done(FrameResult::servfail(frame.chain.clone()));
                }
                frame.cut = Some(cut);
                Next::Again
            }
            Verdict::Done(result) => Next::Done(result),
            Verdict::Restart => Next::Again,
        }
    }

    fn finish(&mut self, resolution: Resolution, result: FrameResult) {
        if let Some(token) = resolution.outstanding {
            self.outstanding.remove(&token);
        }
        self.reply(
            resolution.client,
            &resolution.request,
            result,
            resolution.walk,
        );
    }

    /// Answers the client: RA=1, its question, the chain and the answer or
    /// the SOA of a negative answer, truncated (TC=1) when it does not fit
    /// the client's UDP size.
    fn reply(
        &mut self,
        client: ClientId,
        request: &ClientRequest,
        result: FrameResult,
        walk: Vec<WalkStep>,
    ) {
        let mut response = Message::response(request.id, OpCode::Query);
        response.metadata.recursion_desired = request.recursion_desired;
        response.metadata.recursion_available = true;
        response.metadata.response_code = result.rcode;
        response.add_query(request.query.clone());
        response.insert_answers(result.answers);
        response.insert_authorities(result.authorities);
        if request.edns_payload.is_some() {
            let mut opt = Edns::new();
            opt.set_max_payload(self.config.edns_udp_size);
            response.set_edns(opt);
        }
        let size_max = match request.transport {
            Transport::Tcp => usize::from(u16::MAX),
            Transport::Udp => usize::from(request.edns_payload.map_or(UDP_SIZE_CLASSIC, |p| {
                p.clamp(UDP_SIZE_CLASSIC, self.config.edns_udp_size)
            })),
        };
        let mut bytes = response.to_vec().unwrap_or_default();
        if bytes.is_empty() || bytes.len() > size_max {
            // RFC 2181 §9: when it does not fit, set TC and send what fits;
            // here the question alone.
            let mut truncated = response.truncate();
            truncated.metadata.id = request.id;
            bytes = truncated.to_vec().expect("a question alone encodes");
        }
        self.actions.push_back(Action::ReplyToClient {
            client,
            bytes,
            walk,
        });
    }

    fn reply_error(
        &mut self,
        client: ClientId,
        id: u16,
        query: Option<Query>,
        rcode: ResponseCode,
    ) {
        let mut response = Message::error_msg(id, OpCode::Query, rcode);
        response.metadata.recursion_available = true;
        if let Some(query) = query {
            response.add_query(query);
        }
        let bytes = response.to_vec().expect("an error response encodes");
        self.actions.push_back(Action::ReplyToClient {
            client,
            bytes,
            walk: Vec::new(),
        });
    }
}

/// Hands a finished name-server address lookup to the frame that needed
/// it; returns the AAAA lookup to try when A found nothing.
fn ns_address_found(
    resolution: &mut Resolution,
    finished_qtype: RecordType,
    ns_name: Name,
    result: FrameResult,
) -> Option<Frame> {
    let parent = resolution
        .frames
        .last_mut()
        .expect("an address lookup has a parent");
    let cut = parent.cut.as_mut().expect("the parent asked for servers");
    let addrs: Vec<IpAddr> = if result.rcode == ResponseCode::NoError {
        result.answers.iter().filter_map(record_addr).collect()
    } else {
        Vec::new()
    };
    if addrs.is_empty() && finished_qtype == RecordType::A {
        return Some(Frame::new(
            ns_name.clone(),
            RecordType::AAAA,
            Purpose::NsAddress { ns_name },
        ));
    }
    for addr in addrs {
        if !cut.candidates.iter().any(|c| c.addr == addr) {
            cut.candidates.push(Candidate {
                addr,
                ns_name: Some(ns_name.clone()),
                sent: 0,
                dead: false,
            });
        }
    }
    None
}

/// RFC 5452 §9.1: accept a response only if it matches the query's ID and
/// question. A FORMERR or NOTIMP may come without the question.
fn response_matches(message: &Message, id: u16, qname: &Name, qtype: RecordType) -> bool {
    if message.metadata.message_type != MessageType::Response
        || message.metadata.id != id
        || message.metadata.op_code != OpCode::Query
    {
        return false;
    }
    match message.queries.as_slice() {
        [q] => q.name() == qname && q.query_type() == qtype && q.query_class() == DNSClass::IN,
        [] => matches!(
            message.metadata.response_code,
            ResponseCode::FormErr | ResponseCode::NotImp
        ),
        _ => false,
    }
}

fn ns_target(record: &Record) -> Option<Name> {
    match &record.data {
        RData::NS(ns) => Some(ns.0.clone()),
        _ => None,
    }
}

fn record_addr(record: &Record) -> Option<IpAddr> {
    match &record.data {
        RData::A(a) => Some(IpAddr::V4(a.0)),
        RData::AAAA(aaaa) => Some(IpAddr::V6(aaaa.0)),
        _ => None,
    }
}

#[cfg(test)]
pub(crate) mod fake;
#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;
