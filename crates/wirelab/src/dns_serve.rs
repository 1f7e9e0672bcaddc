//! `wirelab dns`: a real DNS port, on UDP and TCP, that answers as a lab
//! host would.
//!
//! - A host that runs a resolver (`app: resolver`), or whose stub has one
//!   (`resolver:`), answers through ONE long-lived simulation: each real
//!   query is injected from the host to its resolver (or to itself) and
//!   travels the lab like any other datagram; the simulation runs until the
//!   answer is back, at most [`ANSWER_TIME_MAX`] of simulated time, and
//!   then stops. So the resolver's cache stays warm from query to query,
//!   and simulated time moves only while a query runs: nothing expires
//!   between two queries however long the real client waits. Given the
//!   same sequence of queries the answers are the same, whatever the wall
//!   clock says.
//! - A host that serves zones (`app: dns`) answers from them directly, as
//!   to a client outside the lab (private zones stay hidden).
//!
//! Everything a socket can deliver goes through [`Responder::answer`],
//! which never panics: no reply to a message without a readable header or
//! to a response; FORMERR to a header whose body does not decode.
//!
//! One thread owns the simulation and answers one query at a time, in
//! arrival order; the UDP socket and each TCP connection (RFC 1035
//! §4.2.2 framing, RFC 7766 §6.2.1 several queries per connection, an
//! idle timeout) have threads of their own that queue queries to it.

use std::io::{ErrorKind, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use wirelab_dns::proto::op::{Header, Message, MessageType, ResponseCode};
use wirelab_dns::proto::serialize::binary::{BinDecodable, BinDecoder};
use wirelab_dns::transport::Transport;
use wirelab_net::Network;
use wirelab_sim::{Sim, SimTime, TraceLevel};

/// Simulated time a query may take before the real client gets SERVFAIL:
/// well past a resolver's own give-up time (its timeouts and retries).
pub const ANSWER_TIME_MAX: SimTime = SimTime::from_secs(60);
/// Queries one simulation answers before the port starts a fresh one (a
/// cold cache, time zero). The simulation keeps every datagram's bytes
/// (and its TCP connections' records) for the whole run, so it must not
/// live for ever.
pub const QUERIES_PER_SIMULATION_MAX: u64 = 10_000;
/// Most TCP connections open at once; more are closed at once.
const TCP_CONNECTIONS_MAX: usize = 64;
/// A TCP connection with no whole query for this long is closed (RFC 7766
/// §6.2.3 asks servers to time idle connections out).
const TCP_IDLE: Duration = Duration::from_secs(10);
/// Most queries one TCP connection may send before it is closed.
const TCP_QUERIES_PER_CONNECTION_MAX: u32 = 1_000;
/// Queries waiting for the simulation; beyond it UDP queries are dropped
/// (the client retries) and TCP connections wait.
const QUEUED_MAX: usize = 256;
/// The largest DNS message: TCP's two-byte length bounds it, and a UDP
/// datagram cannot be larger.
const MESSAGE_MAX: usize = 65_535;

#[derive(Args)]
pub struct DnsArgs {
    lab: PathBuf,
    /// Where to listen, ADDRESS:PORT, on UDP and TCP (port 0: a free one,
    /// printed on start).
    #[arg(long)]
    listen: String,
    /// The host to answer as: its resolver answers (`app: resolver`, or
    /// the first of its `resolver:`), or its zones (`app: dns`).
    #[arg(long = "as", value_name = "HOST")]
    as_host: String,
    /// Use this seed instead of the lab's.
    #[arg(long)]
    seed: Option<u64>,
}

/// How a host answers real queries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// Queries go from `host` to the resolver at `server` through the lab.
    Recursive { host: usize, server: IpAddr },
    /// Answers come from `host`'s zones.
    Authoritative { host: usize },
}

/// How `host` answers, or why it cannot.
pub fn role_of(net: &Network, host: usize) -> Result<Role, String> {
    let h = &net.lab.hosts[host];
    let runs = |app: &str| h.services.iter().any(|s| s.app.as_deref() == Some(app));
    let own = h.ipv4.map(IpAddr::V4).or(h.ipv6.map(IpAddr::V6));
    if let (true, Some(server)) = (runs("resolver"), own) {
        return Ok(Role::Recursive { host, server });
    }
    if runs("dns") && net.dns_authority(host).is_some() {
        return Ok(Role::Authoritative { host });
    }
    if let Some(&server) = h.resolvers.first() {
        return Ok(Role::Recursive { host, server });
    }
    Err(format!(
        "host `{}` runs no DNS server or resolver and has no `resolver:`; nothing would answer",
        h.name.value
    ))
}

/// Turns the bytes of a real client's message into the bytes to send
/// back, as the lab would answer them.
pub struct Responder<'n> {
    net: &'n Network,
    role: Role,
    seed: u64,
    sim: Sim<'n>,
    queries_in_sim: u64,
    /// The ID the next injected query carries: the simulation never sees
    /// the clients' (random) IDs, which keeps it deterministic.
    next_id: u16,
}

impl<'n> Responder<'n> {
    pub fn new(net: &'n Network, role: Role, seed: u64) -> Self {
        Responder {
            net,
            role,
            seed,
            sim: Sim::new(net, seed, TraceLevel::Off),
            queries_in_sim: 0,
            next_id: 0,
        }
    }

    /// Who answers, for the start line.
    pub fn describe(&self) -> String {
        match self.role {
            Role::Recursive { server, .. } => format!("resolver {server}"),
            Role::Authoritative { host } => {
                let zones: Vec<String> = self
                    .net
                    .dns_authority(host)
                    .map(|a| a.zones().iter().map(|z| z.zone.origin().to_string()))
                    .into_iter()
                    .flatten()
                    .collect();
                format!("authoritative for {}", zones.join(" "))
            }
        }
    }

    /// The answer to `query` from `client` over `transport`; `None` when
    /// nothing should be sent (no readable header, or a response).
    pub fn answer(
        &mut self,
        query: &[u8],
        client: IpAddr,
        transport: Transport,
    ) -> Option<Vec<u8>> {
        let header = Header::read(&mut BinDecoder::new(query)).ok()?;
        if header.metadata.message_type == MessageType::Response {
            // Answering responses lets two servers bounce errors for ever.
            return None;
        }
        let Ok(message) = Message::from_vec(query) else {
            let mut formerr = Message::error_msg(
                header.metadata.id,
                header.metadata.op_code,
                ResponseCode::FormErr,
            );
            formerr.metadata.recursion_desired = header.metadata.recursion_desired;
            return formerr.to_vec().ok();
        };
        match self.role {
            Role::Authoritative { host } => self
                .net
                .dns_authority(host)?
                .answer_bytes(query, client, transport),
            Role::Recursive { host, server } => {
                let answer = self.through_lab(host, server, transport, query);
                answer.or_else(|| servfail(&message))
            }
        }
    }

    /// Sends `query` from `host` to `server` in the simulation and runs it
    /// until the answer is back; the answer carries the client's ID.
    fn through_lab(
        &mut self,
        host: usize,
        server: IpAddr,
        transport: Transport,
        query: &[u8],
    ) -> Option<Vec<u8>> {
        if self.queries_in_sim >= QUERIES_PER_SIMULATION_MAX {
            eprintln!(
                "note: {QUERIES_PER_SIMULATION_MAX} queries answered; starting a fresh simulation (cold cache)"
            );
            self.sim = Sim::new(self.net, self.seed, TraceLevel::Off);
            self.queries_in_sim = 0;
        }
        self.queries_in_sim += 1;
        let mut injected = query.to_vec();
        injected[..2].copy_from_slice(&self.next_id.to_be_bytes());
        self.next_id = self.next_id.wrapping_add(1);
        let id = self.sim.inject_query(host, server, transport, injected)?;
        let until = self.sim.now() + ANSWER_TIME_MAX;
        self.sim
            .run_while(until, |s| s.injected_answer(id).is_some());
        let mut answer = self.sim.injected_answer(id)?.to_vec();
        if answer.len() < 2 {
            return None;
        }
        answer[..2].copy_from_slice(&query[..2]);
        Some(answer)
    }
}

/// SERVFAIL to `query`, as a resolver says it could not get an answer.
fn servfail(query: &Message) -> Option<Vec<u8>> {
    let mut m = Message::error_msg(
        query.metadata.id,
        query.metadata.op_code,
        ResponseCode::ServFail,
    );
    m.metadata.recursion_desired = query.metadata.recursion_desired;
    m.metadata.recursion_available = true;
    if let [question] = query.queries.as_slice() {
        m.add_query(question.clone());
    }
    m.to_vec().ok()
}

/// One query for the simulation's thread, and where its answer goes.
struct Job {
    bytes: Vec<u8>,
    client: IpAddr,
    transport: Transport,
    reply: SyncSender<Option<Vec<u8>>>,
}

pub fn cmd_dns(
    args: &DnsArgs,
    load: impl Fn(&std::path::Path) -> Option<wirelab_spec::Loaded>,
) -> u8 {
    let Ok(listen) = args.listen.parse::<SocketAddr>() else {
        return crate::usage_error(&format!(
            "--listen `{}` is not ADDRESS:PORT (e.g. 127.0.0.1:5353 or [::1]:5353)",
            args.listen
        ));
    };
    let Some(mut loaded) = load(&args.lab) else {
        return 2;
    };
    if let Some(seed) = args.seed {
        loaded.lab.seed = seed;
    }
    let lab = &loaded.lab;
    let Some(host) = lab.host_by_name(&args.as_host) else {
        return crate::usage_error(&format!(
            "`{}` is not a host of lab {}{}",
            args.as_host,
            lab.lab.value,
            crate::suggest(lab, &args.as_host)
        ));
    };
    let net = Network::compile(lab);
    let role = match role_of(&net, host) {
        Ok(role) => role,
        Err(e) => return crate::usage_error(&e),
    };
    let (udp, tcp) = match bind(listen) {
        Ok(pair) => pair,
        Err(e) => return crate::usage_error(&format!("cannot listen on {listen}: {e}")),
    };
    let mut responder = Responder::new(&net, role, lab.seed);
    let local = tcp.local_addr().unwrap_or(listen);
    crate::emit(&format!(
        "listening on udp+tcp {local} as {} ({})\n",
        args.as_host,
        responder.describe()
    ));
    let (jobs, queue) = mpsc::sync_channel::<Job>(QUEUED_MAX);
    let udp_jobs = jobs.clone();
    std::thread::spawn(move || serve_udp(&udp, &udp_jobs));
    std::thread::spawn(move || serve_tcp(&tcp, &jobs));
    answer_jobs(&mut responder, &queue);
    0
}

/// Binds UDP and TCP on the same address and port. Port 0 asks for a free
/// port: TCP picks it and UDP takes the same, a few tries if it is taken.
fn bind(listen: SocketAddr) -> std::io::Result<(UdpSocket, TcpListener)> {
    const TRIES_MAX: usize = 8;
    let mut last = None;
    for _ in 0..TRIES_MAX {
        let tcp = TcpListener::bind(listen)?;
        match UdpSocket::bind(tcp.local_addr()?) {
            Ok(udp) => return Ok((udp, tcp)),
            Err(e) if listen.port() == 0 => last = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| ErrorKind::AddrInUse.into()))
}

/// The simulation's thread: one query at a time, in arrival order.
fn answer_jobs(responder: &mut Responder<'_>, queue: &Receiver<Job>) {
    while let Ok(job) = queue.recv() {
        let answer = responder.answer(&job.bytes, job.client, job.transport);
        // The asker may have gone (a closed connection): nothing to do.
        let _ = job.reply.send(answer);
    }
}

/// Sends `bytes` to the simulation's thread and waits for the answer.
fn ask(
    jobs: &SyncSender<Job>,
    bytes: Vec<u8>,
    client: IpAddr,
    transport: Transport,
) -> Option<Vec<u8>> {
    let (reply, answer) = mpsc::sync_channel(1);
    let job = Job {
        bytes,
        client,
        transport,
        reply,
    };
    match transport {
        // A UDP client retries; a full queue sheds the query.
        Transport::Udp => jobs.try_send(job).ok()?,
        Transport::Tcp => jobs.send(job).ok()?,
    }
    answer.recv().ok().flatten()
}

fn serve_udp(socket: &UdpSocket, jobs: &SyncSender<Job>) {
    let mut buf = vec![0u8; MESSAGE_MAX];
    loop {
        let (len, peer) = match socket.recv_from(&mut buf) {
            Ok(got) => got,
            // ICMP port unreachable from an earlier reply shows up here on
            // some systems; the socket is still good.
            Err(_) => continue,
        };
        if let Some(answer) = ask(jobs, buf[..len].to_vec(), peer.ip(), Transport::Udp) {
            let _ = socket.send_to(&answer, peer);
        }
    }
}

fn serve_tcp(listener: &TcpListener, jobs: &SyncSender<Job>) {
    let open = Arc::new(AtomicUsize::new(0));
    for stream in listener.incoming() {
        let Ok(stream) = stream else { continue };
        if open.fetch_add(1, Ordering::SeqCst) >= TCP_CONNECTIONS_MAX {
            open.fetch_sub(1, Ordering::SeqCst);
            continue; // dropping the stream closes it
        }
        let (open, jobs) = (Arc::clone(&open), jobs.clone());
        std::thread::spawn(move || {
            let _ = serve_connection(stream, &jobs);
            open.fetch_sub(1, Ordering::SeqCst);
        });
    }
}

/// One TCP connection: length-prefixed queries until the client closes,
/// goes idle, or has sent its quota.
fn serve_connection(mut stream: TcpStream, jobs: &SyncSender<Job>) -> std::io::Result<()> {
    stream.set_read_timeout(Some(TCP_IDLE))?;
    stream.set_write_timeout(Some(TCP_IDLE))?;
    let peer = stream.peer_addr()?.ip();
    for _ in 0..TCP_QUERIES_PER_CONNECTION_MAX {
        let mut len = [0u8; 2];
        stream.read_exact(&mut len)?;
        // At most MESSAGE_MAX by construction: the length is two bytes.
        let mut message = vec![0u8; usize::from(u16::from_be_bytes(len))];
        stream.read_exact(&mut message)?;
        let Some(answer) = ask(jobs, message, peer, Transport::Tcp) else {
            continue;
        };
        let Ok(len) = u16::try_from(answer.len()) else {
            continue;
        };
        let mut framed = Vec::with_capacity(answer.len() + 2);
        framed.extend_from_slice(&len.to_be_bytes());
        framed.extend_from_slice(&answer);
        stream.write_all(&framed)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    //! The decode path of the port without sockets: fixed cases, then
    //! arbitrary bytes and mutated real queries (a fuzz by proptest). Every
    //! answer must decode with hickory and carry the client's ID.

    use std::cell::RefCell;
    use std::net::Ipv4Addr;

    use proptest::prelude::*;
    use proptest::test_runner::{Config, TestRunner};
    use wirelab_dns::proto::op::{Edns, Query};
    use wirelab_dns::proto::rr::{Name, RecordType};

    use super::*;

    const CLIENT: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

    fn lab_07() -> Network {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../labs/07-what-happens-when-you-type-a-url.yaml");
        let loaded = wirelab_spec::load(&path).expect("lab 07 loads");
        Network::compile(&loaded.lab)
    }

    fn responder<'n>(net: &'n Network, host: &str) -> Responder<'n> {
        let host = net.lab.host_by_name(host).expect("a host of lab 07");
        let role = role_of(net, host).expect("a DNS role");
        Responder::new(net, role, net.lab.seed)
    }

    fn query(id: u16, name: &str, qtype: RecordType) -> Vec<u8> {
        let mut m = Message::query();
        m.metadata.id = id;
        m.metadata.recursion_desired = true;
        m.add_query(Query::query(Name::from_ascii(name).unwrap(), qtype));
        let mut edns = Edns::new();
        edns.set_max_payload(1232);
        m.set_edns(edns);
        m.to_vec().unwrap()
    }

    fn decoded(answer: Option<Vec<u8>>) -> Message {
        Message::from_vec(&answer.expect("an answer")).expect("the answer decodes")
    }

    #[test]
    fn roles_of_lab_07() {
        let net = lab_07();
        let role = |name: &str| role_of(&net, net.lab.host_by_name(name).unwrap());
        let resolver: IpAddr = "100.64.0.53".parse().unwrap();
        assert!(matches!(role("laptop"), Ok(Role::Recursive { server, .. }) if server == resolver));
        assert!(
            matches!(role("isp-resolver"), Ok(Role::Recursive { server, .. }) if server == resolver)
        );
        assert!(matches!(role("ns1"), Ok(Role::Authoritative { .. })));
        assert!(role("www").unwrap_err().contains("nothing would answer"));
    }

    #[test]
    fn the_second_answer_comes_from_the_warm_cache_with_the_clients_id() {
        let net = lab_07();
        let mut port = responder(&net, "laptop");
        let first = decoded(port.answer(
            &query(4242, "www.example.com.", RecordType::A),
            CLIENT,
            Transport::Udp,
        ));
        assert_eq!(first.metadata.id, 4242);
        assert_eq!(first.answers.len(), 1);
        let cold = port.sim.now();
        let second = decoded(port.answer(
            &query(7, "www.example.com.", RecordType::A),
            CLIENT,
            Transport::Tcp,
        ));
        assert_eq!(second.metadata.id, 7);
        assert_eq!(second.answers, first.answers);
        let warm = port.sim.now() - cold;
        assert!(warm < cold, "from the cache: {warm} after a {cold} walk");
    }

    #[test]
    fn the_resolver_itself_answers() {
        let net = lab_07();
        let mut port = responder(&net, "isp-resolver");
        let m = decoded(port.answer(
            &query(1, "example.com.", RecordType::MX),
            CLIENT,
            Transport::Udp,
        ));
        assert_eq!(m.metadata.response_code, ResponseCode::NoError);
        assert_eq!(m.answers.len(), 1);
    }

    #[test]
    fn a_blocked_host_gets_servfail_in_bounded_time() {
        let net = lab_07();
        let mut port = responder(&net, "kiosk");
        let m = decoded(port.answer(
            &query(9, "www.example.com.", RecordType::A),
            CLIENT,
            Transport::Udp,
        ));
        assert_eq!(m.metadata.response_code, ResponseCode::ServFail);
        assert_eq!(m.metadata.id, 9);
        assert!(port.sim.now() <= ANSWER_TIME_MAX);
    }

    #[test]
    fn malformed_messages() {
        let net = lab_07();
        for host in ["laptop", "ns1"] {
            let mut port = responder(&net, host);
            assert_eq!(port.answer(b"", CLIENT, Transport::Udp), None);
            assert_eq!(
                port.answer(b"\x12\x34\x01\x00\x00", CLIENT, Transport::Tcp),
                None
            );
            // A header that promises a question that is not there.
            let header = b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00";
            let m = decoded(port.answer(header, CLIENT, Transport::Udp));
            assert_eq!(m.metadata.response_code, ResponseCode::FormErr, "{host}");
            assert_eq!(m.metadata.id, 0x1234);
            // A response is never answered.
            let mut response = query(5, "www.example.com.", RecordType::A);
            response[2] |= 0x80;
            assert_eq!(port.answer(&response, CLIENT, Transport::Udp), None);
        }
    }

    /// Feeds `cases` to a responder of `host`, one long-lived simulation
    /// as on the port, and checks every answer.
    /// Returns how many went through the simulation.
    fn fuzz(host: &str, strategy: impl Strategy<Value = Vec<u8>>) -> u64 {
        let net = lab_07();
        let port = RefCell::new(responder(&net, host));
        let mut runner = TestRunner::new(Config {
            cases: 256,
            failure_persistence: None,
            ..Config::default()
        });
        let result = runner.run(&strategy, |bytes| {
            for transport in [Transport::Udp, Transport::Tcp] {
                let answer = port.borrow_mut().answer(&bytes, CLIENT, transport);
                if let Some(answer) = answer {
                    let m = Message::from_vec(&answer);
                    prop_assert!(m.is_ok(), "{:?} for {:?}", m.err(), bytes);
                    prop_assert_eq!(&answer[..2], &bytes[..2], "the client's ID");
                    if transport == Transport::Udp && bytes.len() >= 12 {
                        prop_assert!(answer.len() <= usize::from(u16::MAX));
                    }
                }
            }
            Ok(())
        });
        if let Err(e) = result {
            panic!("{host}: {e}");
        }
        port.into_inner().queries_in_sim
    }

    fn arbitrary_bytes() -> impl Strategy<Value = Vec<u8>> {
        proptest::collection::vec(any::<u8>(), 0..300)
    }

    /// Real queries with a few bytes changed, some cut short or extended.
    fn mutated_queries() -> impl Strategy<Value = Vec<u8>> {
        let names = prop_oneof![
            Just("shop.example.com."),
            Just("example.com."),
            Just("nosuch.example.com."),
            Just("www.example.invalid."),
            Just("."),
        ];
        let types = prop_oneof![
            Just(RecordType::A),
            Just(RecordType::MX),
            Just(RecordType::ANY),
            Just(RecordType::AXFR),
            Just(RecordType::TXT),
        ];
        let edits = proptest::collection::vec((any::<usize>(), any::<u8>()), 0..4);
        (
            any::<u16>(),
            names,
            types,
            edits,
            any::<Option<usize>>(),
            proptest::collection::vec(any::<u8>(), 0..8),
        )
            .prop_map(|(id, name, qtype, edits, cut, tail)| {
                let mut bytes = query(id, name, qtype);
                for (at, value) in edits {
                    let at = at % bytes.len();
                    bytes[at] = value;
                }
                if let Some(cut) = cut {
                    bytes.truncate(cut % (bytes.len() + 1));
                }
                bytes.extend(tail);
                bytes
            })
    }

    #[test]
    fn fuzz_the_resolver_path_with_arbitrary_bytes() {
        let _ = fuzz("laptop", arbitrary_bytes());
    }

    #[test]
    fn fuzz_the_resolver_path_with_mutated_queries() {
        let through_lab = fuzz("laptop", mutated_queries());
        // Most mutations still decode: the fuzz reaches the resolver.
        assert!(
            through_lab > 100,
            "only {through_lab} queries reached the lab"
        );
    }

    #[test]
    fn fuzz_the_authoritative_path() {
        let _ = fuzz("ns1", prop_oneof![arbitrary_bytes(), mutated_queries()]);
    }
}
