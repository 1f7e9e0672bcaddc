//! Whatever arrives, the resolver neither panics nor grows without bound.

use hickory_proto::op::{Message, OpCode, ResponseCode};
use hickory_proto::rr::{Record, RecordType};
use proptest::prelude::*;

use super::fake::*;
use super::*;

/// An event the network might deliver.
#[derive(Debug, Clone)]
enum Input {
    /// Arbitrary bytes as a client query.
    ClientBytes(Vec<u8>),
    /// A well-formed client query for one of a few names.
    Client(usize),
    /// Arbitrary bytes as the response to an outstanding query.
    ResponseBytes(usize, Vec<u8>),
    /// A well-formed response to an outstanding query, with records drawn
    /// from a small pool and an arbitrary rcode and flags.
    Response {
        pick: usize,
        rcode: u16,
        aa: bool,
        tc: bool,
        answers: Vec<usize>,
        authorities: Vec<usize>,
        additionals: Vec<usize>,
    },
    /// Fire a timer.
    Timer(usize),
    /// Let time pass.
    Wait(u64),
}

const NAMES: [&str; 4] = [
    "www.example.com.",
    "alias.example.com.",
    "a.b.example.com.",
    "com.",
];

fn pool() -> Vec<Record> {
    vec![
        ns("com.", 100, "a.gtld-servers.net."),
        ns("example.com.", 100, "ns1.example.com."),
        ns("example.com.", 0, "ns.elsewhere.org."),
        ns("b.example.com.", 100, "ns1.example.com."),
        a("ns1.example.com.", 100, "10.0.0.1"),
        a("a.gtld-servers.net.", 100, "192.5.6.30"),
        a("www.example.com.", 5, "10.1.0.1"),
        cname("alias.example.com.", 100, "a.b.example.com."),
        cname("a.b.example.com.", 100, "alias.example.com."),
        cname("www.example.com.", 100, "www.example.com."),
        soa("example.com.", 100, 10),
        soa("com.", 0, 0),
    ]
}

fn input() -> impl Strategy<Value = Input> {
    let idx = || proptest::collection::vec(0usize..12, 0..4);
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..64).prop_map(Input::ClientBytes),
        (0usize..4).prop_map(Input::Client),
        (
            any::<usize>(),
            proptest::collection::vec(any::<u8>(), 0..128)
        )
            .prop_map(|(p, b)| Input::ResponseBytes(p, b)),
        (
            any::<usize>(),
            0u16..6,
            any::<bool>(),
            any::<bool>(),
            idx(),
            idx(),
            idx()
        )
            .prop_map(|(pick, rcode, aa, tc, answers, authorities, additionals)| {
                Input::Response {
                    pick,
                    rcode,
                    aa,
                    tc,
                    answers,
                    authorities,
                    additionals,
                }
            }),
        any::<usize>().prop_map(Input::Timer),
        (0u64..3_000_000_000).prop_map(Input::Wait),
    ]
}

/// What the resolver asked, so responses can be aimed at it.
struct Pending {
    token: UpstreamToken,
    to: IpAddr,
    transport: Transport,
    query: Message,
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_input_never_panics_and_state_stays_bounded(inputs in proptest::collection::vec(input(), 1..60)) {
        let config = ResolverConfig {
            resolutions_max: 4,
            cache_capacity: 8,
            upstream_queries_max: 16,
            ..Net::config()
        };
        let mut r = Resolver::new(config.clone(), 3);
        let pool = pool();
        let mut now = 0u64;
        let mut pending: Vec<Pending> = Vec::new();
        let mut client = 0u64;
        for input in inputs {
            match input {
                Input::ClientBytes(bytes) => {
                    client += 1;
                    r.client_query(now, ClientId(client), Transport::Udp, &bytes);
                }
                Input::Client(i) => {
                    client += 1;
                    let bytes = Net::query_bytes(client as u16, NAMES[i], RecordType::A);
                    r.client_query(now, ClientId(client), Transport::Udp, &bytes);
                }
                Input::ResponseBytes(pick, bytes) => {
                    if !pending.is_empty() {
                        let p = &pending[pick % pending.len()];
                        r.upstream_response(now, p.token, p.to, p.transport, &bytes);
                    }
                }
                Input::Response { pick, rcode, aa, tc, answers, authorities, additionals } => {
                    if !pending.is_empty() {
                        let p = &pending[pick % pending.len()];
                        let mut m = Message::response(p.query.metadata.id, OpCode::Query);
                        m.add_query(p.query.queries[0].clone());
                        m.metadata.response_code = ResponseCode::from(0, rcode as u8);
                        m.metadata.authoritative = aa;
                        m.metadata.truncation = tc;
                        m.insert_answers(answers.iter().map(|&i| pool[i].clone()).collect());
                        m.insert_authorities(authorities.iter().map(|&i| pool[i].clone()).collect());
                        m.insert_additionals(additionals.iter().map(|&i| pool[i].clone()).collect());
                        r.upstream_response(now, p.token, p.to, p.transport, &m.to_vec().unwrap());
                    }
                }
                Input::Timer(pick) => {
                    if !pending.is_empty() {
                        let token = pending[pick % pending.len()].token;
                        r.timer(now, token);
                    }
                }
                Input::Wait(ns) => now += ns,
            }
            while let Some(action) = r.poll_action() {
                match action {
                    Action::SendUpstream { token, to, transport, bytes } => {
                        let query = Message::from_vec(&bytes).expect("queries decode");
                        pending.push(Pending { token, to, transport, query });
                    }
                    Action::SetTimer { at_ns, .. } => prop_assert!(at_ns > now),
                    Action::ReplyToClient { bytes, walk, .. } => {
                        let reply = Message::from_vec(&bytes).expect("replies decode");
                        prop_assert!(reply.metadata.recursion_available);
                        prop_assert!(walk.len() <= config.upstream_queries_max as usize);
                    }
                }
            }
            prop_assert!(r.resolutions_len() <= config.resolutions_max);
            prop_assert!(r.outstanding_len() <= r.resolutions_len());
            prop_assert!(r.cache().len() <= config.cache_capacity);
            for res in r.resolutions.values() {
                prop_assert!(res.frames.len() <= usize::from(config.dependency_depth_max) + 1);
                prop_assert!(res.upstream_queries <= config.upstream_queries_max);
            }
        }
    }
}
