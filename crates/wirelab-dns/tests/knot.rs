//! wirelab's authoritative answers checked against a real DNS server.
//!
//! The same zone files are served by Knot DNS (`knotd`, Debian package
//! `knot`) on 127.0.0.1 and by [`Authority`]; the same queries, built with
//! hickory, go to both over UDP and TCP, and the responses must agree on
//! RCODE, AA, TC and the three sections compared as sorted record sets.
//!
//! When `knotd` is not installed the test prints why and passes, unless
//! `WIRELAB_REQUIRE_KNOT=1`, when it fails.

use std::fs;
use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use wirelab_dns::authority::{Authority, ServedZone, Transport};
use wirelab_dns::proto::op::{Edns, Message, MessageType, OpCode, Query};
use wirelab_dns::proto::rr::{Name, Record, RecordType};
use wirelab_dns::zone::{parse_master_file, Zone};

/// The parent: a delegation with glue (`deleg`, served by nobody here) and
/// one to `child`, which this server also serves.
const PARENT: &str = r#"$ORIGIN example.com.
$TTL 3600
@         SOA  ns1 hostmaster 2024010101 7200 900 1209600 300
@         NS   ns1
@         NS   ns2.example.net.
ns1       A    192.0.2.1
ns1       AAAA 2001:db8::1
www       A    192.0.2.80
child     NS   ns1.child
child     NS   ns2.child
ns1.child A    192.0.2.53
ns2.child AAAA 2001:db8::53
deleg     NS   ns.deleg
deleg     NS   ns.example.net.
ns.deleg  A    192.0.2.54
ns.deleg  AAAA 2001:db8::54
"#;

/// The child: every record type, CNAME chains, wildcards, an empty
/// non-terminal (`ent`), a delegation (`cut`) and a TXT RRset too large
/// for 512 octets.
const CHILD: &str = r#"$ORIGIN child.example.com.
$TTL 300
@        SOA   ns1 admin (
                 1       ; serial
                 3600    ; refresh
                 600     ; retry
                 86400   ; expire
                 60 )    ; minimum
@        NS    ns1
@        NS    ns2
@        MX    10 mail
@        MX    20 mail2.example.net.
@        TXT   "v=spf1 -all"
@        CAA   0 issue "ca.example.net"
ns1      A     192.0.2.53
ns2      AAAA  2001:db8::53
mail     A     192.0.2.25
mail     AAAA  2001:db8::25
www      A     192.0.2.80
www 600  AAAA  2001:db8::80
c1       CNAME c2
c2       CNAME www
dangling CNAME missing
out      CNAME www.example.com.
*.wild   A     192.0.2.99
*.wild   TXT   "wildcard"
x.ent    A     192.0.2.7
order    TXT   "text first"
*.wc     CNAME c1
tocut    CNAME host.cut
cut      NS    ns.cut
ns.cut   A     192.0.2.55
order    A     192.0.2.8
_sip._tcp SRV  10 20 5060 www
ptr      PTR   www.child.example.com.
big      TXT   "0000000000111111111122222222223333333333444444444455555555556666666666777777777788888888889999999999"
big      TXT   "1000000000111111111122222222223333333333444444444455555555556666666666777777777788888888889999999999"
big      TXT   "2000000000111111111122222222223333333333444444444455555555556666666666777777777788888888889999999999"
big      TXT   "3000000000111111111122222222223333333333444444444455555555556666666666777777777788888888889999999999"
big      TXT   "4000000000111111111122222222223333333333444444444455555555556666666666777777777788888888889999999999"
big      TXT   "5000000000111111111122222222223333333333444444444455555555556666666666777777777788888888889999999999"
big      TXT   "6000000000111111111122222222223333333333444444444455555555556666666666777777777788888888889999999999"
big      TXT   "7000000000111111111122222222223333333333444444444455555555556666666666777777777788888888889999999999"
"#;

const ZONES: &[(&str, &str)] = &[("example.com.", PARENT), ("child.example.com.", CHILD)];

/// Every query, asked without EDNS and with EDNS (payload 1232), each over
/// UDP and TCP.
const QUERIES: &[(&str, RecordType)] = &[
    // The apexes.
    ("example.com.", RecordType::SOA),
    ("example.com.", RecordType::NS),
    ("child.example.com.", RecordType::SOA),
    ("child.example.com.", RecordType::NS),
    // Existing names of every type.
    ("www.example.com.", RecordType::A),
    ("ns1.example.com.", RecordType::AAAA),
    ("www.child.example.com.", RecordType::A),
    ("www.child.example.com.", RecordType::AAAA),
    ("child.example.com.", RecordType::MX),
    ("child.example.com.", RecordType::TXT),
    ("child.example.com.", RecordType::CAA),
    ("_sip._tcp.child.example.com.", RecordType::SRV),
    ("ptr.child.example.com.", RecordType::PTR),
    ("c2.child.example.com.", RecordType::CNAME),
    // CNAME chains inside the zone, and to a missing name.
    ("c1.child.example.com.", RecordType::A),
    ("c1.child.example.com.", RecordType::AAAA),
    ("c1.child.example.com.", RecordType::MX),
    ("dangling.child.example.com.", RecordType::A),
    // Wildcards: a match, a deeper match, a NODATA, the parent of the *.
    ("anything.wild.child.example.com.", RecordType::A),
    ("a.b.wild.child.example.com.", RecordType::TXT),
    ("anything.wild.child.example.com.", RecordType::MX),
    ("wild.child.example.com.", RecordType::A),
    // NXDOMAIN and NODATA.
    ("nope.child.example.com.", RecordType::A),
    ("nope.example.com.", RecordType::AAAA),
    ("www.child.example.com.", RecordType::MX),
    ("www.example.com.", RecordType::TXT),
    // A wildcard CNAME, followed; a CNAME into a delegation.
    ("foo.wc.child.example.com.", RecordType::A),
    ("tocut.child.example.com.", RecordType::A),
    ("host.cut.child.example.com.", RecordType::A),
    // The empty non-terminal.
    ("ent.child.example.com.", RecordType::A),
    // Delegations: at the cut, below it, NS at the cut.
    ("deleg.example.com.", RecordType::A),
    ("host.deleg.example.com.", RecordType::A),
    ("a.b.deleg.example.com.", RecordType::MX),
    ("deleg.example.com.", RecordType::NS),
    // Too large for 512 octets; fits in 1232.
    ("big.child.example.com.", RecordType::TXT),
    // Not served: REFUSED.
    ("www.example.org.", RecordType::A),
    // ANY gets one RRset (RFC 8482), the lowest type's: A at `www`, NS at
    // the apex; `order` lists TXT before A in the file.
    ("www.child.example.com.", RecordType::ANY),
    ("child.example.com.", RecordType::ANY),
    ("order.child.example.com.", RecordType::ANY),
    ("ent.child.example.com.", RecordType::ANY),
    // DS at a cut is the parent's to answer (NODATA here).
    ("deleg.example.com.", RecordType::DS),
    // Case in the query name.
    ("WWW.Child.Example.COM.", RecordType::A),
];

/// Queries with unusual EDNS: (name, type, payload, version), each over
/// UDP and TCP.
const EDNS_QUERIES: &[(&str, RecordType, u16, u8)] = &[
    // A payload between 512 and the big RRset: TC over UDP.
    ("big.child.example.com.", RecordType::TXT, 600, 0),
    // Below 512 counts as 512.
    ("www.child.example.com.", RecordType::A, 100, 0),
    ("big.child.example.com.", RecordType::TXT, 100, 0),
    // Larger than our 1232: 1232 is the limit.
    ("big.child.example.com.", RecordType::TXT, 4096, 0),
    // EDNS version 1: BADVERS.
    ("www.child.example.com.", RecordType::A, 1232, 1),
];

#[test]
fn answers_agree_with_knot() {
    let Some(knotd) = knotd_or_skip() else { return };
    let dir = TempDir::new();
    let knot = Knot::start(&knotd, &dir.path);
    let authority = wirelab_authority();
    let mut queries = Vec::new();
    for &(qname, qtype) in QUERIES {
        queries.push((
            format!("{qname} {qtype} no EDNS"),
            query_bytes(qname, qtype, None),
        ));
        queries.push((
            format!("{qname} {qtype} EDNS 1232"),
            query_bytes(qname, qtype, Some((1232, 0))),
        ));
    }
    for &(qname, qtype, payload, version) in EDNS_QUERIES {
        let label = format!("{qname} {qtype} EDNS {payload} version {version}");
        queries.push((label, query_bytes(qname, qtype, Some((payload, version)))));
    }
    let mut differences = Vec::new();
    let mut truncated = 0;
    for (label, query) in &queries {
        for transport in [Transport::Udp, Transport::Tcp] {
            let theirs = Comparable::of(&knot.ask(query, transport));
            let ours = authority
                .answer_bytes(query, IpAddr::V4(Ipv4Addr::LOCALHOST), transport)
                .expect("a query is answered");
            let ours = Comparable::of(&ours);
            if theirs != ours {
                differences.push(format!(
                    "{label} {transport:?}\n  knot:    {theirs:?}\n  wirelab: {ours:?}"
                ));
            }
            truncated += usize::from(theirs.tc);
        }
    }
    let compared = queries.len() * 2;
    assert!(
        differences.is_empty(),
        "{} of {compared} answers differ:\n{}",
        differences.len(),
        differences.join("\n")
    );
    // The comparison covered truncation: without EDNS, with EDNS 600 and
    // with EDNS 100 (read as 512), big's UDP answer is truncated.
    assert_eq!(truncated, 3);
}

/// Queries that are not plain: a body cut short, two questions, no
/// question, opcodes other than QUERY, a class other than IN. Both servers
/// answer them alike, except on purpose: Knot drops a query that does not
/// parse or has two questions; wirelab answers it FORMERR (RFC 1035
/// §4.1.1), so that a lab shows the client why it got no answer.
#[test]
fn errors_agree_with_knot() {
    let Some(knotd) = knotd_or_skip() else { return };
    let dir = TempDir::new();
    let knot = Knot::start(&knotd, &dir.path);
    let authority = wirelab_authority();
    let good = query_bytes("www.child.example.com.", RecordType::A, None);
    let mut dropped_by_knot: Vec<(&str, Vec<u8>)> = Vec::new();
    dropped_by_knot.push(("question cut short", good[..good.len() - 3].to_vec()));
    dropped_by_knot.push(("header only, QDCOUNT 1", good[..12].to_vec()));
    let mut two = Message::from_vec(&good).unwrap();
    two.add_query(Query::query(
        Name::from_str("ns1.child.example.com.").unwrap(),
        RecordType::A,
    ));
    dropped_by_knot.push(("two questions", two.to_vec().unwrap()));
    for (label, query) in &dropped_by_knot {
        assert_eq!(
            udp_exchange(knot.server, query, Duration::from_secs(1)),
            None,
            "knot answered: {label}"
        );
        let ours = authority
            .answer_bytes(query, IpAddr::V4(Ipv4Addr::LOCALHOST), Transport::Udp)
            .unwrap();
        let ours = Comparable::of(&ours);
        assert_eq!((ours.rcode, ours.aa, ours.rd), (1, false, true), "{label}");
        assert!(
            ours.questions.is_empty() && ours.answers.is_empty(),
            "{label}"
        );
    }
    let mut cases: Vec<(&str, Vec<u8>)> = Vec::new();
    let mut none = Message::from_vec(&good).unwrap();
    none.queries.clear();
    cases.push(("no question", none.to_vec().unwrap()));
    for opcode in [OpCode::Status, OpCode::Unknown(3), OpCode::Unknown(6)] {
        let mut message = Message::from_vec(&good).unwrap();
        message.metadata.op_code = opcode;
        cases.push(("opcode", message.to_vec().unwrap()));
    }
    let mut chaos = Message::from_vec(&good).unwrap();
    chaos.queries[0].set_query_class(wirelab_dns::proto::rr::DNSClass::CH);
    cases.push(("class CH", chaos.to_vec().unwrap()));
    // Zone transfers are not offered.
    cases.push((
        "AXFR",
        query_bytes("child.example.com.", RecordType::AXFR, None),
    ));
    cases.push((
        "IXFR",
        query_bytes("child.example.com.", RecordType::IXFR, None),
    ));
    // A response is not answered.
    let mut response = Message::from_vec(&good).unwrap();
    response.metadata.message_type = MessageType::Response;
    cases.push(("QR set", response.to_vec().unwrap()));
    let mut differences = Vec::new();
    for (label, query) in &cases {
        let theirs =
            udp_exchange(knot.server, query, Duration::from_secs(1)).map(|r| Comparable::of(&r));
        let ours = authority
            .answer_bytes(query, IpAddr::V4(Ipv4Addr::LOCALHOST), Transport::Udp)
            .map(|r| Comparable::of(&r));
        if theirs != ours {
            differences.push(format!(
                "{label} UDP\n  knot:    {theirs:?}\n  wirelab: {ours:?}"
            ));
        }
    }
    // Over TCP, transfers get another answer than over UDP.
    for rtype in [RecordType::AXFR, RecordType::IXFR] {
        let query = query_bytes("child.example.com.", rtype, None);
        let theirs = Comparable::of(&tcp_exchange(knot.server, &query));
        let ours = authority
            .answer_bytes(&query, IpAddr::V4(Ipv4Addr::LOCALHOST), Transport::Tcp)
            .unwrap();
        let ours = Comparable::of(&ours);
        if theirs != ours {
            differences.push(format!(
                "{rtype} TCP\n  knot:    {theirs:?}\n  wirelab: {ours:?}"
            ));
        }
    }
    assert!(
        differences.is_empty(),
        "{} of {} differ:\n{}",
        differences.len(),
        cases.len(),
        differences.join("\n")
    );
}

/// Where wirelab differs from Knot on purpose: a CNAME whose target is in
/// another zone the same server serves. Knot answers with the CNAME alone
/// (it follows chains only inside the first zone); wirelab goes on into
/// the other zone, so a lab's student sees the whole chain from one server.
#[test]
fn cross_zone_cname_differs_from_knot_on_purpose() {
    let Some(knotd) = knotd_or_skip() else { return };
    let dir = TempDir::new();
    let knot = Knot::start(&knotd, &dir.path);
    let query = query_bytes("out.child.example.com.", RecordType::A, None);
    let theirs = Comparable::of(&knot.ask(&query, Transport::Udp));
    let ours = wirelab_authority()
        .answer_bytes(&query, IpAddr::V4(Ipv4Addr::LOCALHOST), Transport::Udp)
        .unwrap();
    let ours = Comparable::of(&ours);
    assert_eq!(
        theirs.answers,
        vec!["out.child.example.com. 300 IN CNAME www.example.com."]
    );
    assert_eq!(
        ours.answers,
        vec![
            "out.child.example.com. 300 IN CNAME www.example.com.",
            "www.example.com. 3600 IN A 192.0.2.80"
        ]
    );
    assert_eq!((theirs.rcode, theirs.aa), (ours.rcode, ours.aa));
}

/// What must agree between two responses. OPT details are reduced to
/// presence, version and payload size: Knot may add options (NSID,
/// padding) that wirelab does not, and hickory keeps the OPT out of the
/// additional section. Owner names are compared lowercased (Knot writes
/// the query's case); records within a section are sorted, since RRset and
/// record order carry no meaning (RFC 2181 §5).
#[derive(Debug, PartialEq, Eq)]
struct Comparable {
    rcode: u16,
    aa: bool,
    tc: bool,
    ra: bool,
    rd: bool,
    questions: Vec<String>,
    answers: Vec<String>,
    authorities: Vec<String>,
    additionals: Vec<String>,
    edns: Option<(u8, u16)>,
}

impl Comparable {
    fn of(bytes: &[u8]) -> Self {
        let message = Message::from_vec(bytes).expect("a response decodes");
        assert_eq!(message.message_type, MessageType::Response);
        Self {
            rcode: u16::from(message.response_code),
            aa: message.authoritative,
            tc: message.truncation,
            ra: message.recursion_available,
            rd: message.recursion_desired,
            questions: message
                .queries
                .iter()
                .map(|q| format!("{} {}", q.name().to_lowercase(), q.query_type()))
                .collect(),
            answers: sorted(&message.answers),
            authorities: sorted(&message.authorities),
            additionals: sorted(&message.additionals),
            edns: message
                .edns
                .as_ref()
                .map(|e| (e.version(), e.max_payload())),
        }
    }
}

fn sorted(records: &[Record]) -> Vec<String> {
    let mut lines: Vec<String> = records
        .iter()
        .map(|r| {
            format!(
                "{} {} {} {} {}",
                r.name.to_lowercase(),
                r.ttl,
                r.dns_class,
                r.record_type(),
                r.data
            )
        })
        .collect();
    lines.sort();
    lines
}

/// A query with RD set, and an OPT of `(payload, version)` if given.
fn query_bytes(qname: &str, qtype: RecordType, edns: Option<(u16, u8)>) -> Vec<u8> {
    let mut message = Message::new(0x5a5a, MessageType::Query, OpCode::Query);
    message.metadata.recursion_desired = true;
    message.add_query(Query::query(Name::from_str(qname).unwrap(), qtype));
    if let Some((payload, version)) = edns {
        let mut e = Edns::new();
        e.set_max_payload(payload);
        e.set_version(version);
        message.set_edns(e);
    }
    message.to_vec().unwrap()
}

fn wirelab_authority() -> Authority {
    let zones = ZONES
        .iter()
        .map(|(origin, text)| {
            let origin = Name::from_str(origin).unwrap();
            let records = parse_master_file(text, &origin, 3600).unwrap();
            ServedZone {
                zone: Arc::new(Zone::build(origin, records).unwrap()),
                private_to: vec![],
            }
        })
        .collect();
    Authority::new(zones)
}

/// The path of knotd; `None` (the test then passes without comparing)
/// when it is not installed, unless `WIRELAB_REQUIRE_KNOT=1`.
fn knotd_or_skip() -> Option<PathBuf> {
    let path = knotd_path();
    if path.is_none() {
        let message =
            "knotd (Debian package `knot`) is not installed; skipping the comparison with Knot DNS";
        if std::env::var("WIRELAB_REQUIRE_KNOT").as_deref() == Ok("1") {
            panic!("{message}, but WIRELAB_REQUIRE_KNOT=1");
        }
        eprintln!("{message}");
    }
    path
}

fn knotd_path() -> Option<PathBuf> {
    ["/usr/sbin/knotd", "/usr/bin/knotd", "/usr/local/sbin/knotd"]
        .into_iter()
        .map(PathBuf::from)
        .find(|path| path.exists())
}

/// A fresh directory under the system's temp dir, removed at the end.
struct TempDir {
    path: PathBuf,
}

impl TempDir {
    fn new() -> Self {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let path =
            std::env::temp_dir().join(format!("wirelab-knot-{}-{nanos}", std::process::id()));
        fs::create_dir_all(&path).unwrap();
        Self { path }
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.path);
    }
}

/// A knotd serving [`ZONES`] on 127.0.0.1, killed when dropped.
struct Knot {
    child: Child,
    server: SocketAddr,
}

impl Knot {
    fn start(knotd: &Path, dir: &Path) -> Self {
        for (origin, text) in ZONES {
            fs::write(dir.join(format!("{origin}zone")), text).unwrap();
        }
        fs::create_dir_all(dir.join("run")).unwrap();
        fs::create_dir_all(dir.join("db")).unwrap();
        let port = unused_port();
        let zones: String = ZONES
            .iter()
            .map(|(origin, _)| {
                format!(
                    "  - domain: {origin}\n    file: \"{}\"\n",
                    dir.join(format!("{origin}zone")).display()
                )
            })
            .collect();
        // The defaults left alone matter too: udp-max-payload 1232 and no
        // NSID, like wirelab.
        let config = format!(
            "server:\n  rundir: \"{run}\"\n  listen: 127.0.0.1@{port}\n\
             database:\n  storage: \"{db}\"\n\
             log:\n  - target: stderr\n    any: warning\n\
             template:\n  - id: default\n    zonefile-sync: -1\n    zonefile-load: whole\n    journal-content: none\n\
             zone:\n{zones}",
            run = dir.join("run").display(),
            db = dir.join("db").display(),
        );
        let config_path = dir.join("knot.conf");
        fs::write(&config_path, config).unwrap();
        let child = Command::new(knotd)
            .arg("-c")
            .arg(&config_path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("knotd starts");
        let knot = Knot {
            child,
            server: SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
        };
        knot.wait_ready();
        knot
    }

    /// Waits (at most 20 s) until both zones answer over UDP.
    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        for (origin, _) in ZONES {
            let query = query_bytes(origin, RecordType::SOA, None);
            loop {
                assert!(
                    Instant::now() < deadline,
                    "knotd did not answer for {origin} within 20 s"
                );
                if let Some(response) =
                    udp_exchange(self.server, &query, Duration::from_millis(200))
                {
                    let message = Message::from_vec(&response).unwrap();
                    if !message.answers.is_empty() {
                        break;
                    }
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }

    fn ask(&self, query: &[u8], transport: Transport) -> Vec<u8> {
        match transport {
            Transport::Udp => (0..3)
                .find_map(|_| udp_exchange(self.server, query, Duration::from_secs(2)))
                .expect("knotd answers over UDP"),
            Transport::Tcp => tcp_exchange(self.server, query),
        }
    }
}

impl Drop for Knot {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A port free for both UDP and TCP on 127.0.0.1 (a race with other
/// programs is possible but harmless: knotd then fails to start and the
/// test says so).
fn unused_port() -> u16 {
    for _ in 0..50 {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let port = listener.local_addr().unwrap().port();
        if UdpSocket::bind((Ipv4Addr::LOCALHOST, port)).is_ok() {
            return port;
        }
    }
    panic!("no port free for both UDP and TCP");
}

fn udp_exchange(server: SocketAddr, query: &[u8], timeout: Duration) -> Option<Vec<u8>> {
    let socket = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).ok()?;
    socket.set_read_timeout(Some(timeout)).ok()?;
    socket.send_to(query, server).ok()?;
    let mut buffer = vec![0; 65_535];
    let (len, from) = socket.recv_from(&mut buffer).ok()?;
    assert_eq!(from, server);
    buffer.truncate(len);
    Some(buffer)
}

fn tcp_exchange(server: SocketAddr, query: &[u8]) -> Vec<u8> {
    let mut stream =
        TcpStream::connect_timeout(&server, Duration::from_secs(2)).expect("knotd accepts TCP");
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let len = u16::try_from(query.len()).unwrap();
    stream.write_all(&len.to_be_bytes()).unwrap();
    stream.write_all(query).unwrap();
    let mut len = [0; 2];
    stream.read_exact(&mut len).unwrap();
    let mut response = vec![0; usize::from(u16::from_be_bytes(len))];
    stream.read_exact(&mut response).unwrap();
    response
}
