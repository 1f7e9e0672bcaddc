//! The resolver against a fake network of authoritative servers.

use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::{RData, RecordType};

use super::fake::*;
use super::*;
use crate::cache::NS_PER_S;

fn resolver(net_config: ResolverConfig) -> Resolver {
    Resolver::new(net_config, 7)
}

fn answers(m: &Message) -> Vec<String> {
    m.answers.iter().map(|r| r.to_string()).collect()
}

fn zones(walk: &[WalkStep]) -> Vec<String> {
    walk.iter().map(|s| s.zone.to_string()).collect()
}

fn timeouts(walk: &[WalkStep]) -> usize {
    walk.iter()
        .filter(|s| matches!(s.outcome, WalkOutcome::Timeout { .. }))
        .count()
}

#[test]
fn referral_walk_from_the_root() {
    let mut net = Net::lab();
    let mut r = resolver(Net::config());
    let (m, walk) = net.ask(&mut r, "www.example.com.", RecordType::A);
    assert_eq!(m.metadata.response_code, ResponseCode::NoError);
    assert!(m.metadata.recursion_available);
    assert!(m.metadata.recursion_desired);
    assert!(!m.metadata.authoritative);
    assert_eq!(m.metadata.id, 0x1234);
    assert_eq!(answers(&m), ["www.example.com. 300 IN A 10.1.0.1"]);
    assert_eq!(zones(&walk), [".", "com.", "example.com."]);
    assert_eq!(walk[0].server, ip(ROOT));
    assert_eq!(walk[1].server, ip(GTLD));
    assert_eq!(walk[1].ns_name, Some(name("a.gtld-servers.net.")));
    assert!(walk.iter().all(|s| s.edns && s.transport == Transport::Udp));
    // Every upstream query is iterative.
    assert!(net
        .sent
        .iter()
        .all(|(_, _, q)| !q.metadata.recursion_desired));
    assert_eq!(r.resolutions_len(), 0);
    assert_eq!(r.outstanding_len(), 0);
}

#[test]
fn cname_chain_across_zones() {
    let mut net = Net::lab();
    let mut r = resolver(Net::config());
    let (m, walk) = net.ask(&mut r, "alias.example.com.", RecordType::A);
    assert_eq!(m.metadata.response_code, ResponseCode::NoError);
    assert_eq!(
        answers(&m),
        [
            "alias.example.com. 600 IN CNAME www.example.net.",
            "www.example.net. 120 IN A 10.2.0.1",
        ]
    );
    // The target, in another zone, is looked up afresh: net. is not cached
    // yet, so from the root.
    assert_eq!(
        zones(&walk),
        [".", "com.", "example.com.", ".", "net.", "example.net."]
    );
    assert_eq!(
        r.cache()
            .remaining_ttl_s(net.now_ns, &name("alias.example.com."), RecordType::CNAME),
        Some(600)
    );
}

#[test]
fn name_server_without_glue_is_looked_up_first() {
    let mut net = Net::lab();
    let mut r = resolver(Net::config());
    let (m, walk) = net.ask(&mut r, "www.other.com.", RecordType::A);
    assert_eq!(answers(&m), ["www.other.com. 60 IN A 10.3.0.1"]);
    // com. refers to ns.example.net. without usable glue (the glue it adds
    // is outside com.'s bailiwick, so 203.0.113.66 is never asked).
    assert!(walk.iter().all(|s| s.server != ip("203.0.113.66")));
    let asked: Vec<(String, String)> = walk
        .iter()
        .map(|s| (s.zone.to_string(), s.qname.to_string()))
        .collect();
    assert_eq!(
        asked,
        [
            (".".into(), "www.other.com.".into()),
            ("com.".into(), "www.other.com.".into()),
            (".".into(), "ns.example.net.".into()),
            ("net.".into(), "ns.example.net.".into()),
            ("example.net.".into(), "ns.example.net.".into()),
            ("other.com.".into(), "www.other.com.".into()),
        ]
    );
}

#[test]
fn nxdomain_is_cached_for_the_soa_minimum() {
    let mut net = Net::lab();
    let mut r = resolver(Net::config());
    let (m, _) = net.ask(&mut r, "nope.example.com.", RecordType::A);
    assert_eq!(m.metadata.response_code, ResponseCode::NXDomain);
    assert_eq!(m.authorities.len(), 1);
    assert_eq!(m.authorities[0].record_type(), RecordType::SOA);
    // SOA TTL 3600, MINIMUM 60: RFC 2308 takes the smaller.
    let nope = name("nope.example.com.");
    assert_eq!(
        r.cache().remaining_ttl_s(net.now_ns, &nope, RecordType::A),
        Some(60)
    );
    assert_eq!(
        r.cache()
            .remaining_ttl_s(net.now_ns, &nope, RecordType::TXT),
        Some(60)
    );

    net.now_ns += 10 * NS_PER_S;
    let sent = net.sent.len();
    let (m, walk) = net.ask(&mut r, "nope.example.com.", RecordType::MX);
    assert_eq!(m.metadata.response_code, ResponseCode::NXDomain);
    assert!(walk.is_empty());
    assert_eq!(net.sent.len(), sent);
    assert_eq!(m.authorities[0].ttl, 50);

    net.now_ns += 50 * NS_PER_S;
    let (_, walk) = net.ask(&mut r, "nope.example.com.", RecordType::A);
    assert_eq!(walk.len(), 1, "expired: asked again, from the cached cut");
}

#[test]
fn nodata_is_cached_per_name_and_type() {
    let mut net = Net::lab();
    let mut r = resolver(Net::config());
    let (m, _) = net.ask(&mut r, "www.example.com.", RecordType::AAAA);
    assert_eq!(m.metadata.response_code, ResponseCode::NoError);
    assert!(m.answers.is_empty());
    assert_eq!(m.authorities[0].record_type(), RecordType::SOA);
    let www = name("www.example.com.");
    assert_eq!(
        r.cache()
            .remaining_ttl_s(net.now_ns, &www, RecordType::AAAA),
        Some(60)
    );
    assert!(matches!(
        r.cache().lookup(net.now_ns, &www, RecordType::AAAA),
        Some(CacheAnswer::NoData { .. })
    ));
    assert_eq!(
        r.cache().remaining_ttl_s(net.now_ns, &www, RecordType::A),
        None
    );
    let (_, walk) = net.ask(&mut r, "www.example.com.", RecordType::AAAA);
    assert!(walk.is_empty());
}

#[test]
fn cache_hit_is_answered_at_once_with_the_ttl_counted_down() {
    let mut net = Net::lab();
    let mut r = resolver(Net::config());
    net.ask(&mut r, "www.example.com.", RecordType::A);
    net.now_ns += 100 * NS_PER_S;
    let sent = net.sent.len();
    let client = ClientId(1);
    r.client_query(
        net.now_ns,
        client,
        Transport::Udp,
        &Net::query_bytes(9, "WWW.Example.COM.", RecordType::A),
    );
    // Answered inside the call: the first action is the reply.
    match r.poll_action() {
        Some(Action::ReplyToClient {
            client: c,
            bytes,
            walk,
        }) => {
            assert_eq!(c, client);
            assert!(walk.is_empty());
            let m = Message::from_vec(&bytes).unwrap();
            assert_eq!(m.metadata.id, 9);
            assert_eq!(m.answers[0].ttl, 200);
            assert_eq!(m.queries[0].name().to_string(), "WWW.Example.COM.");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(r.poll_action(), None);
    assert_eq!(net.sent.len(), sent);
}

#[test]
fn warm_cache_starts_at_the_closest_zone_cut() {
    let mut net = Net::lab();
    let mut r = resolver(Net::config());
    net.ask(&mut r, "www.example.com.", RecordType::A);
    let (m, walk) = net.ask(&mut r, "mail.example.com.", RecordType::A);
    assert_eq!(m.metadata.response_code, ResponseCode::NXDomain);
    assert_eq!(zones(&walk), ["example.com."]);
    // The com. cut was learned too; net. was not.
    let (_, walk) = net.ask(&mut r, "www.other.com.", RecordType::A);
    assert_eq!(zones(&walk)[0], "com.");
    let (_, walk) = net.ask(&mut r, "web.example.net.", RecordType::A);
    assert_eq!(
        zones(&walk),
        ["example.net."],
        "learned while finding ns.example.net"
    );
}

#[test]
fn timeout_moves_on_to_the_next_server() {
    let mut net = Net::lab();
    net.drop_to = [ip(NS1_EXAMPLE_COM), ip(NS2_EXAMPLE_COM)].into();
    net.drop_budget = 1;
    let mut r = resolver(Net::config());
    let (m, walk) = net.ask(&mut r, "www.example.com.", RecordType::A);
    assert_eq!(answers(&m), ["www.example.com. 300 IN A 10.1.0.1"]);
    assert_eq!(zones(&walk), [".", "com.", "example.com.", "example.com."]);
    assert_eq!(
        walk[2].outcome,
        WalkOutcome::Timeout {
            at_ns: walk[2].sent_at_ns + TIMEOUT_NS_DEFAULT
        }
    );
    assert_ne!(
        walk[2].server, walk[3].server,
        "the next server, not the same one again"
    );
    assert_eq!(walk[3].sent_at_ns, walk[2].sent_at_ns + TIMEOUT_NS_DEFAULT);
}

#[test]
fn every_server_timing_out_is_servfail_after_all_attempts() {
    let mut net = Net::lab();
    net.behaviour(NS1_EXAMPLE_COM).silent = true;
    net.behaviour(NS2_EXAMPLE_COM).silent = true;
    let mut r = resolver(Net::config());
    let (m, walk) = net.ask(&mut r, "www.example.com.", RecordType::A);
    assert_eq!(m.metadata.response_code, ResponseCode::ServFail);
    assert!(m.metadata.recursion_available);
    // Two servers, two attempts each, alternating.
    assert_eq!(timeouts(&walk), 4);
    let servers: Vec<IpAddr> = walk[2..].iter().map(|s| s.server).collect();
    assert_eq!(servers[0], servers[2]);
    assert_eq!(servers[1], servers[3]);
    assert_ne!(servers[0], servers[1]);
    assert_eq!(r.outstanding_len(), 0);
}

#[test]
fn refused_and_servfail_move_on_without_retrying_that_server() {
    let mut net = Net::lab();
    net.behaviour(NS1_EXAMPLE_COM).rcode = Some(ResponseCode::Refused);
    net.behaviour(NS2_EXAMPLE_COM).rcode = Some(ResponseCode::ServFail);
    let mut r = resolver(Net::config());
    let (m, walk) = net.ask(&mut r, "www.example.com.", RecordType::A);
    assert_eq!(m.metadata.response_code, ResponseCode::ServFail);
    assert_eq!(zones(&walk), [".", "com.", "example.com.", "example.com."]);
    assert_eq!(timeouts(&walk), 0);

    // One refusing server of two: the other answers.
    let mut net = Net::lab();
    net.behaviour(NS1_EXAMPLE_COM).rcode = Some(ResponseCode::Refused);
    let mut r = resolver(Net::config());
    let (m, _) = net.ask(&mut r, "www.example.com.", RecordType::A);
    assert_eq!(m.metadata.response_code, ResponseCode::NoError);
}

#[test]
fn truncated_udp_answer_is_asked_again_over_tcp() {
    let mut net = Net::lab();
    net.behaviour(NS1_EXAMPLE_COM).truncate_udp = true;
    net.behaviour(NS2_EXAMPLE_COM).truncate_udp = true;
    let mut r = resolver(Net::config());
    let (m, walk) = net.ask(&mut r, "www.example.com.", RecordType::A);
    assert_eq!(answers(&m), ["www.example.com. 300 IN A 10.1.0.1"]);
    let last: Vec<Transport> = walk[2..].iter().map(|s| s.transport).collect();
    assert_eq!(last, [Transport::Udp, Transport::Tcp]);
    assert_eq!(walk[2].server, walk[3].server);
}

#[test]
fn formerr_to_edns_is_asked_again_without_it() {
    let mut net = Net::lab();
    net.behaviour(NS1_EXAMPLE_COM).formerr_on_edns = true;
    net.behaviour(NS2_EXAMPLE_COM).formerr_on_edns = true;
    let mut r = resolver(Net::config());
    let (m, walk) = net.ask(&mut r, "www.example.com.", RecordType::A);
    assert_eq!(answers(&m), ["www.example.com. 300 IN A 10.1.0.1"]);
    let edns: Vec<bool> = walk[2..].iter().map(|s| s.edns).collect();
    assert_eq!(edns, [true, false]);
    assert!(net.sent.last().unwrap().2.edns.is_none());
}

#[test]
fn spoofed_and_mismatched_responses_are_ignored() {
    let net = Net::lab();
    let mut r = resolver(Net::config());
    r.client_query(
        0,
        ClientId(5),
        Transport::Udp,
        &Net::query_bytes(1, "www.example.com.", RecordType::A),
    );
    let (token, to, bytes) = match r.poll_action() {
        Some(Action::SendUpstream {
            token, to, bytes, ..
        }) => (token, to, bytes),
        other => panic!("{other:?}"),
    };
    assert!(matches!(r.poll_action(), Some(Action::SetTimer { .. })));
    let query = Message::from_vec(&bytes).unwrap();
    let good = net.servers[&to].answer(&query, Transport::Udp).unwrap();
    let ms = 1_000_000;

    // From another address.
    r.upstream_response(
        ms,
        token,
        ip("192.0.2.66"),
        Transport::Udp,
        &good.to_vec().unwrap(),
    );
    // Another ID.
    let mut wrong_id = good.clone();
    wrong_id.metadata.id = query.metadata.id.wrapping_add(1);
    r.upstream_response(
        2 * ms,
        token,
        to,
        Transport::Udp,
        &wrong_id.to_vec().unwrap(),
    );
    // Another question.
    let mut wrong_q = good.clone();
    wrong_q.queries[0].set_name(name("evil.example.com."));
    r.upstream_response(
        3 * ms,
        token,
        to,
        Transport::Udp,
        &wrong_q.to_vec().unwrap(),
    );
    // Over TCP when asked over UDP, garbage, and a token never issued.
    r.upstream_response(4 * ms, token, to, Transport::Tcp, &good.to_vec().unwrap());
    r.upstream_response(5 * ms, token, to, Transport::Udp, b"\x00\x01garbage");
    r.upstream_response(
        6 * ms,
        UpstreamToken(999),
        to,
        Transport::Udp,
        &good.to_vec().unwrap(),
    );
    assert_eq!(r.poll_action(), None, "nothing believed");
    assert_eq!(r.outstanding_len(), 1);

    r.upstream_response(7 * ms, token, to, Transport::Udp, &good.to_vec().unwrap());
    match r.poll_action() {
        Some(Action::SendUpstream { to, .. }) => assert_eq!(to, ip(GTLD)),
        other => panic!("{other:?}"),
    }
    // The late timer of the answered query does nothing.
    let _ = r.poll_action();
    r.timer(800 * ms, token);
    assert_eq!(r.poll_action(), None);
}

#[test]
fn cname_loop_is_servfail() {
    let mut net = Net::lab();
    let mut r = resolver(Net::config());
    let (m, _) = net.ask(&mut r, "loop1.example.com.", RecordType::A);
    assert_eq!(m.metadata.response_code, ResponseCode::ServFail);
    assert_eq!(r.resolutions_len(), 0);
}

#[test]
fn query_budget_is_servfail() {
    let mut net = Net::lab();
    let mut r = resolver(ResolverConfig {
        upstream_queries_max: 2,
        ..Net::config()
    });
    let (m, walk) = net.ask(&mut r, "www.example.com.", RecordType::A);
    assert_eq!(m.metadata.response_code, ResponseCode::ServFail);
    assert_eq!(walk.len(), 2);
}

#[test]
fn cname_chain_limit_is_servfail() {
    let mut net = Net::lab();
    let mut r = resolver(ResolverConfig {
        cname_chain_max: 0,
        ..Net::config()
    });
    let (m, _) = net.ask(&mut r, "alias.example.com.", RecordType::A);
    assert_eq!(m.metadata.response_code, ResponseCode::ServFail);
}

#[test]
fn referral_limit_is_servfail() {
    let mut net = Net::lab();
    let mut r = resolver(ResolverConfig {
        referrals_max: 1,
        ..Net::config()
    });
    let (m, walk) = net.ask(&mut r, "www.example.com.", RecordType::A);
    assert_eq!(m.metadata.response_code, ResponseCode::ServFail);
    assert_eq!(walk.len(), 2);
}

#[test]
fn malformed_client_queries_get_formerr_or_nothing() {
    let mut r = resolver(Net::config());
    r.client_query(0, ClientId(1), Transport::Udp, b"\xab\xcdjunk");
    match r.poll_action() {
        Some(Action::ReplyToClient { bytes, .. }) => {
            let m = Message::from_vec(&bytes).unwrap();
            assert_eq!(m.metadata.id, 0xabcd);
            assert_eq!(m.metadata.response_code, ResponseCode::FormErr);
        }
        other => panic!("{other:?}"),
    }
    r.client_query(0, ClientId(2), Transport::Udp, b"\x01");
    assert_eq!(r.poll_action(), None);
}

#[test]
fn cache_capacity_bounds_the_resolver_cache() {
    let mut net = Net::lab();
    let mut r = resolver(ResolverConfig {
        cache_capacity: 3,
        ..Net::config()
    });
    for q in [
        "www.example.com.",
        "alias.example.com.",
        "www.other.com.",
        "nope.example.com.",
    ] {
        net.ask(&mut r, q, RecordType::A);
        assert!(r.cache().len() <= 3);
    }
}

#[test]
fn same_seed_same_bytes() {
    let run = |seed| {
        let mut net = Net::lab();
        net.drop_to = [ip(NS1_EXAMPLE_COM)].into();
        net.drop_budget = 1;
        let mut r = Resolver::new(Net::config(), seed);
        for q in ["www.example.com.", "alias.example.com.", "www.other.com."] {
            net.ask(&mut r, q, RecordType::A);
        }
        net.log
    };
    assert_eq!(run(1), run(1));
    assert_ne!(run(1), run(2), "IDs come from the seed");
}

#[test]
fn answers_keep_their_rdata() {
    let mut net = Net::lab();
    let mut r = resolver(Net::config());
    let (m, _) = net.ask(&mut r, "www.example.com.", RecordType::A);
    assert!(matches!(m.answers[0].data, RData::A(_)));
    assert!(m.edns.is_some(), "EDNS in, EDNS out");
}
