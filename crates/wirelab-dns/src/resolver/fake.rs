//! A fake network of authoritative servers for tests: each server holds a
//! few zones as record lists and answers like a simple authoritative server
//! (referral, answer, CNAME, NODATA, NXDOMAIN with SOA), or misbehaves as
//! told (silence, an rcode, FORMERR to EDNS, TC over UDP).

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr};

use hickory_proto::op::{Edns, Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::rdata::{A, CNAME, NS, SOA};
use hickory_proto::rr::{Name, RData, Record, RecordType};

use super::{Action, ClientId, Resolver, UpstreamToken, WalkStep};
use crate::transport::Transport;

pub fn name(s: &str) -> Name {
    Name::from_ascii(s).unwrap()
}

pub fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

pub fn a(owner: &str, ttl: u32, addr: &str) -> Record {
    let addr: Ipv4Addr = addr.parse().unwrap();
    Record::from_rdata(name(owner), ttl, RData::A(A(addr)))
}

pub fn ns(owner: &str, ttl: u32, target: &str) -> Record {
    Record::from_rdata(name(owner), ttl, RData::NS(NS(name(target))))
}

pub fn cname(owner: &str, ttl: u32, target: &str) -> Record {
    Record::from_rdata(name(owner), ttl, RData::CNAME(CNAME(name(target))))
}

pub fn soa(zone: &str, ttl: u32, minimum: u32) -> Record {
    let below = |label: &str| match zone {
        "." => name(&format!("{label}.")),
        _ => name(&format!("{label}.{zone}")),
    };
    let (mname, rname) = (below("ns1"), below("hostmaster"));
    Record::from_rdata(
        name(zone),
        ttl,
        RData::SOA(SOA::new(
            mname, rname, 2024010101, 7200, 900, 1209600, minimum,
        )),
    )
}

/// How a fake server misbehaves.
#[derive(Debug, Clone, Default)]
pub struct Behaviour {
    pub silent: bool,
    pub rcode: Option<ResponseCode>,
    pub formerr_on_edns: bool,
    pub truncate_udp: bool,
}

#[derive(Debug, Clone)]
pub struct FakeZone {
    pub origin: Name,
    /// Authoritative data, delegation NS sets and glue.
    pub records: Vec<Record>,
}

impl FakeZone {
    pub fn new(origin: &str, soa_ttl: u32, soa_minimum: u32, records: Vec<Record>) -> FakeZone {
        let mut all = vec![soa(origin, soa_ttl, soa_minimum)];
        all.extend(records);
        FakeZone {
            origin: name(origin),
            records: all,
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct FakeServer {
    pub zones: Vec<FakeZone>,
    pub behaviour: Behaviour,
}

impl FakeServer {
    pub fn new(zones: Vec<FakeZone>) -> FakeServer {
        FakeServer {
            zones,
            behaviour: Behaviour::default(),
        }
    }

    /// The response to `query` over `transport`, or `None` for silence.
    pub fn answer(&self, query: &Message, transport: Transport) -> Option<Message> {
        let b = &self.behaviour;
        if b.silent {
            return None;
        }
        let q = query.queries.first()?.clone();
        let mut r = Message::response(query.metadata.id, OpCode::Query);
        r.metadata.recursion_desired = query.metadata.recursion_desired;
        r.add_query(q.clone());
        if let Some(rcode) = b.rcode {
            r.metadata.response_code = rcode;
            return Some(r);
        }
        if b.formerr_on_edns && query.edns.is_some() {
            r.metadata.response_code = ResponseCode::FormErr;
            return Some(r);
        }
        if query.edns.is_some() {
            let mut opt = Edns::new();
            opt.set_max_payload(1232);
            r.set_edns(opt);
        }
        if b.truncate_udp && transport == Transport::Udp {
            r.metadata.truncation = true;
            return Some(r);
        }
        let zone = self
            .zones
            .iter()
            .filter(|z| z.origin.zone_of(q.name()))
            .max_by_key(|z| z.origin.num_labels())?;
        zone.answer(&mut r, &q);
        Some(r)
    }
}

impl FakeZone {
    fn answer(&self, r: &mut Message, q: &Query) {
        let records = &self.records;
        // A delegation: the deepest NS set below the apex above the name.
        let cut = records
            .iter()
            .filter(|rec| {
                rec.record_type() == RecordType::NS
                    && rec.name != self.origin
                    && rec.name.zone_of(q.name())
            })
            .map(|rec| rec.name.clone())
            .max_by_key(|n| n.num_labels());
        if let Some(cut) = cut {
            let ns_set: Vec<Record> = records
                .iter()
                .filter(|rec| rec.name == cut && rec.record_type() == RecordType::NS)
                .cloned()
                .collect();
            for ns in &ns_set {
                let RData::NS(target) = &ns.data else {
                    unreachable!()
                };
                r.add_additionals(
                    records
                        .iter()
                        .filter(|rec| rec.name == target.0 && rec.record_type() == RecordType::A)
                        .cloned(),
                );
            }
            r.add_authorities(ns_set);
            return;
        }
        r.metadata.authoritative = true;
        let mut qname = q.name().clone();
        for _ in 0..8 {
            let rrset: Vec<Record> = records
                .iter()
                .filter(|rec| rec.name == qname && rec.record_type() == q.query_type())
                .cloned()
                .collect();
            if !rrset.is_empty() {
                r.add_answers(rrset);
                return;
            }
            let Some(c) = records
                .iter()
                .find(|rec| rec.name == qname && rec.record_type() == RecordType::CNAME)
            else {
                break;
            };
            r.add_answer(c.clone());
            let RData::CNAME(target) = &c.data else {
                unreachable!()
            };
            qname = target.0.clone();
            if !self.origin.zone_of(&qname) {
                return;
            }
        }
        let soa = records[0].clone();
        if !records.iter().any(|rec| qname.zone_of(&rec.name)) {
            r.metadata.response_code = ResponseCode::NXDomain;
        }
        r.add_authority(soa);
    }
}

#[derive(Debug, Clone)]
enum Event {
    Deliver {
        token: UpstreamToken,
        from: IpAddr,
        transport: Transport,
        bytes: Vec<u8>,
    },
    Timer(UpstreamToken),
}

/// The fake network: servers by address, an event queue, and what passed.
#[derive(Debug, Clone)]
pub struct Net {
    pub servers: BTreeMap<IpAddr, FakeServer>,
    pub now_ns: u64,
    /// Round trip from the resolver to any server.
    pub rtt_ns: u64,
    events: BTreeMap<(u64, u64), Event>,
    seq: u64,
    /// Queries to these addresses are dropped while `drop_budget` lasts.
    pub drop_to: BTreeSet<IpAddr>,
    pub drop_budget: usize,
    pub sent: Vec<(IpAddr, Transport, Message)>,
    pub replies: Vec<(ClientId, Message, Vec<WalkStep>)>,
    /// Every action, in order, for determinism checks.
    pub log: Vec<Action>,
}

pub const ROOT: &str = "198.41.0.4";
pub const GTLD: &str = "192.5.6.30";
pub const NS1_EXAMPLE_COM: &str = "10.0.0.1";
pub const NS2_EXAMPLE_COM: &str = "10.0.0.2";
pub const NS_EXAMPLE_NET: &str = "10.0.1.1";

impl Net {
    /// A root, one TLD server for com. and net., example.com (two
    /// servers), example.net and other.com (whose server's name,
    /// ns.example.net, comes without glue).
    pub fn lab() -> Net {
        let root = FakeServer::new(vec![FakeZone::new(
            ".",
            86400,
            86400,
            vec![
                ns(".", 518400, "a.root-servers.net."),
                ns("com.", 172800, "a.gtld-servers.net."),
                ns("net.", 172800, "a.gtld-servers.net."),
                a("a.gtld-servers.net.", 172800, GTLD),
            ],
        )]);
        let gtld = FakeServer::new(vec![
            FakeZone::new(
                "com.",
                900,
                86400,
                vec![
                    ns("com.", 172800, "a.gtld-servers.net."),
                    ns("example.com.", 172800, "ns1.example.com."),
                    ns("example.com.", 172800, "ns2.example.com."),
                    a("ns1.example.com.", 172800, NS1_EXAMPLE_COM),
                    a("ns2.example.com.", 172800, NS2_EXAMPLE_COM),
                    ns("other.com.", 172800, "ns.example.net."),
                    // Out-of-bailiwick glue a lying TLD server might add.
                    a("ns.example.net.", 172800, "203.0.113.66"),
                ],
            ),
            FakeZone::new(
                "net.",
                900,
                86400,
                vec![
                    ns("net.", 172800, "a.gtld-servers.net."),
                    ns("example.net.", 172800, "ns.example.net."),
                    a("ns.example.net.", 172800, NS_EXAMPLE_NET),
                ],
            ),
        ]);
        let example_com = FakeServer::new(vec![FakeZone::new(
            "example.com.",
            3600,
            60,
            vec![
                ns("example.com.", 3600, "ns1.example.com."),
                ns("example.com.", 3600, "ns2.example.com."),
                a("ns1.example.com.", 3600, NS1_EXAMPLE_COM),
                a("ns2.example.com.", 3600, NS2_EXAMPLE_COM),
                a("www.example.com.", 300, "10.1.0.1"),
                cname("alias.example.com.", 600, "www.example.net."),
                cname("loop1.example.com.", 600, "loop2.example.com."),
                cname("loop2.example.com.", 600, "loop1.example.com."),
            ],
        )]);
        let example_net = FakeServer::new(vec![
            FakeZone::new(
                "example.net.",
                3600,
                300,
                vec![
                    ns("example.net.", 3600, "ns.example.net."),
                    a("ns.example.net.", 3600, NS_EXAMPLE_NET),
                    a("www.example.net.", 120, "10.2.0.1"),
                ],
            ),
            FakeZone::new(
                "other.com.",
                3600,
                300,
                vec![
                    ns("other.com.", 3600, "ns.example.net."),
                    a("www.other.com.", 60, "10.3.0.1"),
                ],
            ),
        ]);
        let mut servers = BTreeMap::new();
        servers.insert(ip(ROOT), root);
        servers.insert(ip(GTLD), gtld);
        servers.insert(ip(NS1_EXAMPLE_COM), example_com.clone());
        servers.insert(ip(NS2_EXAMPLE_COM), example_com);
        servers.insert(ip(NS_EXAMPLE_NET), example_net);
        Net {
            servers,
            now_ns: 0,
            rtt_ns: 10_000_000,
            events: BTreeMap::new(),
            seq: 0,
            drop_to: BTreeSet::new(),
            drop_budget: 0,
            sent: Vec::new(),
            replies: Vec::new(),
            log: Vec::new(),
        }
    }

    pub fn config() -> super::ResolverConfig {
        super::ResolverConfig {
            root_hints: vec![ip(ROOT)],
            ..Default::default()
        }
    }

    pub fn behaviour(&mut self, addr: &str) -> &mut Behaviour {
        &mut self.servers.get_mut(&ip(addr)).unwrap().behaviour
    }

    fn schedule(&mut self, at_ns: u64, event: Event) {
        self.seq += 1;
        self.events.insert((at_ns, self.seq), event);
    }

    /// Carries out every pending action of the resolver.
    pub fn pump(&mut self, resolver: &mut Resolver) {
        while let Some(action) = resolver.poll_action() {
            self.log.push(action.clone());
            match action {
                Action::SendUpstream {
                    token,
                    to,
                    transport,
                    bytes,
                } => {
                    let query =
                        Message::from_vec(&bytes).expect("the resolver sends valid queries");
                    self.sent.push((to, transport, query.clone()));
                    if self.drop_budget > 0 && self.drop_to.contains(&to) {
                        self.drop_budget -= 1;
                        continue;
                    }
                    let Some(server) = self.servers.get(&to) else {
                        continue;
                    };
                    if let Some(response) = server.answer(&query, transport) {
                        let bytes = response.to_vec().unwrap();
                        let at_ns = self.now_ns + self.rtt_ns;
                        self.schedule(
                            at_ns,
                            Event::Deliver {
                                token,
                                from: to,
                                transport,
                                bytes,
                            },
                        );
                    }
                }
                Action::SetTimer { token, at_ns } => self.schedule(at_ns, Event::Timer(token)),
                Action::ReplyToClient {
                    client,
                    bytes,
                    walk,
                } => {
                    let message = Message::from_vec(&bytes).expect("the resolver replies validly");
                    self.replies.push((client, message, walk));
                }
            }
        }
    }

    /// Runs the network until nothing is left to happen.
    pub fn run(&mut self, resolver: &mut Resolver) {
        self.pump(resolver);
        while let Some(((at_ns, _), event)) = self.events.pop_first() {
            self.now_ns = at_ns;
            match event {
                Event::Deliver {
                    token,
                    from,
                    transport,
                    bytes,
                } => resolver.upstream_response(at_ns, token, from, transport, &bytes),
                Event::Timer(token) => resolver.timer(at_ns, token),
            }
            self.pump(resolver);
        }
    }

    /// A client query as a stub sends it: RD=1, EDNS 1232.
    pub fn query_bytes(id: u16, qname: &str, qtype: RecordType) -> Vec<u8> {
        let mut m = Message::new(id, MessageType::Query, OpCode::Query);
        m.metadata.recursion_desired = true;
        m.add_query(Query::query(name(qname), qtype));
        let mut opt = Edns::new();
        opt.set_max_payload(1232);
        m.set_edns(opt);
        m.to_vec().unwrap()
    }

    /// Asks the resolver and runs the network to the reply.
    pub fn ask(
        &mut self,
        resolver: &mut Resolver,
        qname: &str,
        qtype: RecordType,
    ) -> (Message, Vec<WalkStep>) {
        let client = ClientId(self.replies.len() as u64 + 1000);
        let bytes = Net::query_bytes(0x1234, qname, qtype);
        resolver.client_query(self.now_ns, client, Transport::Udp, &bytes);
        self.run(resolver);
        let (who, message, walk) = self.replies.last().cloned().expect("a reply");
        assert_eq!(who, client);
        (message, walk)
    }
}
