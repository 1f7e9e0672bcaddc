//! Authoritative answers, one behaviour per test, on the zones below.

use std::net::IpAddr;
use std::str::FromStr;
use std::sync::Arc;

use hickory_proto::op::{Edns, Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::{Name, RecordType};

use super::*;
use crate::zone::{parse_master_file, Zone};

const EXAMPLE: &str = r#"$TTL 3600
@       SOA ns1 hostmaster 1 7200 900 1209600 300
@       NS  ns1
@       NS  ns.example.net.
@       MX  10 mail
@       ALIAS www
ns1     A   192.0.2.1
mail    A   192.0.2.25
mail    AAAA 2001:db8::25
www     A   192.0.2.80
www     AAAA 2001:db8::80
alias   CNAME www
chain   CNAME alias
loop1   CNAME loop2.other.test.
dangling CNAME nothere
out     CNAME www.other.test.
*.wild  TXT "wild"
*.wild  MX  5 mail
a.b.ent A   192.0.2.9
_sip._udp SRV 1 1 5060 www
sub     NS  ns.sub
sub     NS  ns.example.net.
ns.sub  A   192.0.2.53
big     TXT "0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789"
big     TXT "1123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789"
big     TXT "2123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789"
big     TXT "3123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789"
big     TXT "4123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789"
big     TXT "5123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789"
"#;

/// loop2 is in another zone so that Zone::build does not see the loop.
const OTHER: &str = r#"@ SOA ns1.example.com. hostmaster.example.com. 1 7200 900 1209600 60
@ NS ns1.example.com.
www A 198.51.100.1
loop2 CNAME loop1.example.com.
"#;

const INTERNAL: &str = r#"@ SOA ns1 hostmaster 1 7200 900 1209600 300
@ NS ns1
ns1 A 10.0.0.1
www A 10.0.0.80
"#;

fn name(text: &str) -> Name {
    Name::from_str(text).unwrap()
}

fn zone(origin: &str, text: &str) -> Arc<Zone> {
    let origin = name(origin);
    let records = parse_master_file(text, &origin, 3600).unwrap();
    Arc::new(Zone::build(origin, records).unwrap())
}

fn authority() -> Authority {
    Authority::new(vec![
        ServedZone {
            zone: zone("example.com.", EXAMPLE),
            private_to: vec![],
        },
        ServedZone {
            zone: zone("other.test.", OTHER),
            private_to: vec![],
        },
        ServedZone {
            zone: zone("example.com.", INTERNAL),
            private_to: vec!["10.0.0.0/8".parse().unwrap()],
        },
    ])
}

const PUBLIC: &str = "203.0.113.7";

fn query(qname: &str, qtype: RecordType, edns: Option<u16>) -> Message {
    let mut message = Message::new(4242, MessageType::Query, OpCode::Query);
    message.metadata.recursion_desired = true;
    message.add_query(Query::query(name(qname), qtype));
    if let Some(payload) = edns {
        let mut e = Edns::new();
        e.set_max_payload(payload);
        message.set_edns(e);
    }
    message
}

fn ask_from(src: &str, qname: &str, qtype: RecordType) -> Message {
    authority().answer(
        &query(qname, qtype, None),
        src.parse().unwrap(),
        Transport::Udp,
    )
}

fn ask(qname: &str, qtype: RecordType) -> Message {
    ask_from(PUBLIC, qname, qtype)
}

fn section(records: &[Record]) -> Vec<String> {
    records
        .iter()
        .map(|r| {
            format!(
                "{} {} {} {}",
                r.name.to_lowercase(),
                r.ttl,
                r.record_type(),
                r.data
            )
        })
        .collect()
}

#[test]
fn exact_match_is_authoritative_with_rd_copied_and_ra_off() {
    let r = ask("www.example.com.", RecordType::A);
    assert_eq!(r.response_code, ResponseCode::NoError);
    assert!(r.authoritative && r.recursion_desired && !r.recursion_available && !r.truncation);
    assert_eq!(r.id, 4242);
    assert_eq!(r.message_type, MessageType::Response);
    assert_eq!(
        section(&r.answers),
        vec!["www.example.com. 3600 A 192.0.2.80"]
    );
    assert!(r.authorities.is_empty() && r.additionals.is_empty());
    assert_eq!(
        r.queries,
        query("www.example.com.", RecordType::A, None).queries
    );
}

#[test]
fn cname_chain_is_followed_in_zone() {
    let r = ask("chain.example.com.", RecordType::AAAA);
    assert_eq!(
        section(&r.answers),
        vec![
            "chain.example.com. 3600 CNAME alias.example.com.",
            "alias.example.com. 3600 CNAME www.example.com.",
            "www.example.com. 3600 AAAA 2001:db8::80",
        ]
    );
    assert!(r.authoritative);
    // Asking for the CNAME itself does not follow it.
    assert_eq!(
        section(&ask("chain.example.com.", RecordType::CNAME).answers).len(),
        1
    );
}

#[test]
fn cname_chain_crosses_into_other_served_zones() {
    let r = ask("out.example.com.", RecordType::A);
    assert_eq!(
        section(&r.answers)[1],
        "www.other.test. 3600 A 198.51.100.1"
    );
}

#[test]
fn cname_loop_across_zones_stops() {
    let r = ask("loop1.example.com.", RecordType::A);
    assert_eq!(r.response_code, ResponseCode::NoError);
    assert_eq!(r.answers.len(), 2, "{:?}", section(&r.answers));
}

#[test]
fn cname_to_a_missing_name_is_nxdomain_with_the_chain() {
    let r = ask("dangling.example.com.", RecordType::A);
    assert_eq!(r.response_code, ResponseCode::NXDomain);
    assert_eq!(r.answers.len(), 1);
    assert_eq!(
        section(&r.authorities),
        vec![
            "example.com. 300 SOA ns1.example.com. hostmaster.example.com. 1 7200 900 1209600 300"
        ]
    );
}

#[test]
fn nxdomain_has_the_soa_with_the_negative_ttl() {
    let r = ask("nope.example.com.", RecordType::A);
    assert_eq!(r.response_code, ResponseCode::NXDomain);
    assert!(r.authoritative && r.answers.is_empty());
    // min(SOA TTL 3600, MINIMUM 300).
    assert_eq!(r.authorities[0].ttl, 300);
    assert_eq!(r.authorities[0].record_type(), RecordType::SOA);
    // And the SOA's own TTL when it is the smaller.
    let r = ask("nope.other.test.", RecordType::A);
    assert_eq!(r.authorities[0].ttl, 60);
}

#[test]
fn nodata_has_the_soa() {
    let r = ask("www.example.com.", RecordType::MX);
    assert_eq!(r.response_code, ResponseCode::NoError);
    assert!(r.authoritative && r.answers.is_empty());
    assert_eq!(r.authorities[0].record_type(), RecordType::SOA);
}

#[test]
fn empty_non_terminal_is_nodata_not_nxdomain() {
    for qname in ["b.ent.example.com.", "ent.example.com."] {
        let r = ask(qname, RecordType::A);
        assert_eq!(r.response_code, ResponseCode::NoError, "{qname}");
        assert_eq!(r.authorities[0].record_type(), RecordType::SOA);
    }
}

#[test]
fn wildcard_synthesizes_records_owned_by_the_query_name() {
    let r = ask("anything.wild.example.com.", RecordType::TXT);
    assert_eq!(
        section(&r.answers),
        vec!["anything.wild.example.com. 3600 TXT wild"]
    );
    assert!(r.authoritative);
    // Deeper names match too (RFC 4592 §2.2.1).
    let r = ask("a.b.wild.example.com.", RecordType::MX);
    assert_eq!(
        section(&r.answers),
        vec!["a.b.wild.example.com. 3600 MX 5 mail.example.com."]
    );
    assert_eq!(
        section(&r.additionals),
        vec![
            "mail.example.com. 3600 A 192.0.2.25",
            "mail.example.com. 3600 AAAA 2001:db8::25"
        ]
    );
    // Wildcard NODATA.
    let r = ask("x.wild.example.com.", RecordType::A);
    assert_eq!(
        (r.response_code, r.answers.len()),
        (ResponseCode::NoError, 0)
    );
    assert_eq!(r.authorities[0].record_type(), RecordType::SOA);
    // The wildcard does not cover the closest encloser itself.
    assert_eq!(
        ask("wild.example.com.", RecordType::TXT).response_code,
        ResponseCode::NoError
    );
    assert!(ask("wild.example.com.", RecordType::TXT).answers.is_empty());
}

#[test]
fn referral_at_and_below_a_delegation() {
    for qname in [
        "sub.example.com.",
        "www.sub.example.com.",
        "a.b.sub.example.com.",
    ] {
        let r = ask(qname, RecordType::A);
        assert_eq!(r.response_code, ResponseCode::NoError);
        assert!(!r.authoritative, "{qname}");
        assert!(r.answers.is_empty());
        assert_eq!(
            section(&r.authorities),
            vec![
                "sub.example.com. 3600 NS ns.sub.example.com.",
                "sub.example.com. 3600 NS ns.example.net."
            ]
        );
        assert_eq!(
            section(&r.additionals),
            vec!["ns.sub.example.com. 3600 A 192.0.2.53"]
        );
    }
    // Even for NS at the cut: the child is authoritative for it.
    assert!(!ask("sub.example.com.", RecordType::NS).authoritative);
    // DS at the cut is the parent's to answer (here: NODATA).
    let r = ask("sub.example.com.", RecordType::DS);
    assert!(r.authoritative);
    assert_eq!(r.authorities[0].record_type(), RecordType::SOA);
}

#[test]
fn additional_section_for_ns_mx_srv() {
    let r = ask("example.com.", RecordType::NS);
    assert_eq!(
        section(&r.additionals),
        vec!["ns1.example.com. 3600 A 192.0.2.1"]
    );
    let r = ask("example.com.", RecordType::MX);
    assert_eq!(section(&r.additionals).len(), 2);
    let r = ask("_sip._udp.example.com.", RecordType::SRV);
    assert_eq!(
        section(&r.additionals),
        vec![
            "www.example.com. 3600 A 192.0.2.80",
            "www.example.com. 3600 AAAA 2001:db8::80"
        ]
    );
}

#[test]
fn any_returns_the_rrset_of_the_lowest_type() {
    let r = ask("www.example.com.", RecordType::ANY);
    assert_eq!(
        section(&r.answers),
        vec!["www.example.com. 3600 A 192.0.2.80"]
    );
    assert!(r.authoritative);
    // NS (2) before SOA (6) and MX (15), with NS's additional records.
    let r = ask("example.com.", RecordType::ANY);
    assert_eq!(r.answers.len(), 2);
    assert!(r.answers.iter().all(|r| r.record_type() == RecordType::NS));
    assert_eq!(
        section(&r.additionals),
        vec!["ns1.example.com. 3600 A 192.0.2.1"]
    );
    // An empty non-terminal has nothing: NODATA.
    let r = ask("ent.example.com.", RecordType::ANY);
    assert!(r.answers.is_empty() && r.authorities[0].record_type() == RecordType::SOA);
}

#[test]
fn alias_answers_a_and_aaaa_at_the_apex_with_the_targets_records() {
    let r = ask("example.com.", RecordType::A);
    assert_eq!(section(&r.answers), vec!["example.com. 3600 A 192.0.2.80"]);
    let r = ask("example.com.", RecordType::AAAA);
    assert_eq!(
        section(&r.answers),
        vec!["example.com. 3600 AAAA 2001:db8::80"]
    );
    // The ALIAS itself is never on the wire.
    let r = ask("example.com.", RecordType::ANAME);
    assert!(r.answers.is_empty());
}

#[test]
fn alias_to_an_unknown_target_is_nodata() {
    let origin = name("alias.test.");
    let text = "@ SOA ns hostmaster 1 2 3 4 5\n@ NS ns.example.com.\n@ ALIAS lb.elsewhere.test.\n";
    let zone = Zone::build(
        origin.clone(),
        parse_master_file(text, &origin, 60).unwrap(),
    )
    .unwrap();
    let authority = Authority::new(vec![ServedZone {
        zone: Arc::new(zone),
        private_to: vec![],
    }]);
    let r = authority.answer(
        &query("alias.test.", RecordType::A, None),
        PUBLIC.parse().unwrap(),
        Transport::Udp,
    );
    assert_eq!(
        (r.response_code, r.answers.len()),
        (ResponseCode::NoError, 0)
    );
    assert_eq!(r.authorities[0].record_type(), RecordType::SOA);
}

#[test]
fn private_zone_answers_only_inside_and_hides_the_public_one() {
    let inside = ask_from("10.1.2.3", "www.example.com.", RecordType::A);
    assert_eq!(
        section(&inside.answers),
        vec!["www.example.com. 3600 A 10.0.0.80"]
    );
    let outside = ask_from("192.0.2.200", "www.example.com.", RecordType::A);
    assert_eq!(
        section(&outside.answers),
        vec!["www.example.com. 3600 A 192.0.2.80"]
    );
    // A private-only zone is REFUSED outside its networks.
    let private_only = Authority::new(vec![ServedZone {
        zone: zone("example.com.", INTERNAL),
        private_to: vec!["10.0.0.0/8".parse().unwrap()],
    }]);
    let q = query("www.example.com.", RecordType::A, None);
    assert_eq!(
        private_only
            .answer(&q, PUBLIC.parse().unwrap(), Transport::Udp)
            .response_code,
        ResponseCode::Refused
    );
    assert_eq!(
        private_only
            .answer(&q, "10.9.9.9".parse().unwrap(), Transport::Udp)
            .response_code,
        ResponseCode::NoError
    );
}

#[test]
fn names_in_no_served_zone_are_refused() {
    let r = ask("www.example.org.", RecordType::A);
    assert_eq!(r.response_code, ResponseCode::Refused);
    assert!(!r.authoritative);
}

#[test]
fn errors_for_opcode_question_count_class_and_transfers() {
    let a = authority();
    let src: IpAddr = PUBLIC.parse().unwrap();
    let mut q = query("www.example.com.", RecordType::A, None);
    q.metadata.op_code = OpCode::Status;
    assert_eq!(
        a.answer(&q, src, Transport::Udp).response_code,
        ResponseCode::NotImp
    );
    let mut q = query("www.example.com.", RecordType::A, None);
    q.add_query(Query::query(name("ns1.example.com."), RecordType::A));
    assert_eq!(
        a.answer(&q, src, Transport::Udp).response_code,
        ResponseCode::FormErr
    );
    let mut q = Message::new(1, MessageType::Query, OpCode::Query);
    assert_eq!(
        a.answer(&q, src, Transport::Udp).response_code,
        ResponseCode::FormErr
    );
    q.add_query(Query::query(name("example.com."), RecordType::AXFR));
    assert_eq!(
        a.answer(&q, src, Transport::Udp).response_code,
        ResponseCode::NotImp
    );
    assert_eq!(
        a.answer(&q, src, Transport::Tcp).response_code,
        ResponseCode::NotAuth
    );
    q.queries[0].set_query_type(RecordType::IXFR);
    assert_eq!(
        a.answer(&q, src, Transport::Udp).response_code,
        ResponseCode::NotAuth
    );
    let mut q = query("www.example.com.", RecordType::A, None);
    q.queries[0].set_query_class(hickory_proto::rr::DNSClass::CH);
    assert_eq!(
        a.answer(&q, src, Transport::Udp).response_code,
        ResponseCode::Refused
    );
}

#[test]
fn edns_is_echoed_with_our_payload_size_and_badvers_for_version_1() {
    let a = authority();
    let src: IpAddr = PUBLIC.parse().unwrap();
    let r = a.answer(
        &query("www.example.com.", RecordType::A, Some(4096)),
        src,
        Transport::Udp,
    );
    let edns = r.edns.as_ref().expect("an OPT in the response");
    assert_eq!((edns.max_payload(), edns.version()), (EDNS_PAYLOAD_MAX, 0));
    assert!(a
        .answer(
            &query("www.example.com.", RecordType::A, None),
            src,
            Transport::Udp
        )
        .edns
        .is_none());
    let mut q = query("www.example.com.", RecordType::A, Some(1232));
    q.edns.as_mut().unwrap().set_version(1);
    let r = a.answer(&q, src, Transport::Udp);
    assert_eq!(r.response_code, ResponseCode::BADVERS);
    assert!(r.answers.is_empty() && r.edns.is_some());
    assert_eq!(r.queries, q.queries);
    // On the wire: RCODE 0 in the header, 1 in the OPT's extended bits.
    let bytes = r.to_vec().unwrap();
    let back = Message::from_vec(&bytes).unwrap();
    // hickory reads extended RCODE 16 as BADSIG, which shares the code.
    assert_eq!(u16::from(back.response_code), 16);
}

#[test]
fn udp_without_edns_truncates_at_512_and_tcp_does_not() {
    let a = authority();
    let src: IpAddr = PUBLIC.parse().unwrap();
    let q = query("big.example.com.", RecordType::TXT, None);
    let udp = a.answer(&q, src, Transport::Udp);
    assert!(udp.truncation);
    assert!(udp.answers.is_empty());
    assert!(udp.to_vec().unwrap().len() <= 512);
    let tcp = a.answer(&q, src, Transport::Tcp);
    assert!(!tcp.truncation);
    assert_eq!(tcp.answers.len(), 6);
    assert!(tcp.to_vec().unwrap().len() > 512);
    // With EDNS the client's size, up to 1232, is the limit; below 512 counts as 512.
    assert!(
        !a.answer(
            &query("big.example.com.", RecordType::TXT, Some(1232)),
            src,
            Transport::Udp
        )
        .truncation
    );
    assert!(
        a.answer(
            &query("big.example.com.", RecordType::TXT, Some(600)),
            src,
            Transport::Udp
        )
        .truncation
    );
    let tiny = a.answer(
        &query("www.example.com.", RecordType::A, Some(100)),
        src,
        Transport::Udp,
    );
    assert!(!tiny.truncation && tiny.answers.len() == 1);
}

#[test]
fn additional_rrsets_that_do_not_fit_are_left_out_without_tc() {
    // 20 MX targets each with an address: the MX RRset fits in 512 octets
    // but not all the addresses.
    let mut text = String::from("@ SOA ns hostmaster 1 2 3 4 5\n@ NS ns\nns A 192.0.2.1\n");
    for i in 0..20 {
        text.push_str(&format!("@ MX {i} m{i}\nm{i} A 192.0.2.{i}\n"));
    }
    let authority = Authority::new(vec![ServedZone {
        zone: zone("mx.test.", &text),
        private_to: vec![],
    }]);
    let r = authority.answer(
        &query("mx.test.", RecordType::MX, None),
        PUBLIC.parse().unwrap(),
        Transport::Udp,
    );
    assert!(!r.truncation);
    assert_eq!(r.answers.len(), 20);
    assert!(
        !r.additionals.is_empty() && r.additionals.len() < 20,
        "{}",
        r.additionals.len()
    );
    assert!(r.to_vec().unwrap().len() <= 512);
}

#[test]
fn answer_bytes_drops_unreadable_headers_and_responses() {
    let a = authority();
    let src: IpAddr = PUBLIC.parse().unwrap();
    assert_eq!(a.answer_bytes(&[0; 11], src, Transport::Udp), None);
    let mut response = query("www.example.com.", RecordType::A, None);
    response.metadata.message_type = MessageType::Response;
    assert_eq!(
        a.answer_bytes(&response.to_vec().unwrap(), src, Transport::Udp),
        None
    );
}

#[test]
fn answer_bytes_answers_malformed_queries_formerr() {
    let a = authority();
    let src: IpAddr = PUBLIC.parse().unwrap();
    let mut bytes = query("www.example.com.", RecordType::A, None)
        .to_vec()
        .unwrap();
    bytes.truncate(bytes.len() - 3);
    let r = Message::from_vec(&a.answer_bytes(&bytes, src, Transport::Udp).unwrap()).unwrap();
    assert_eq!(
        (r.id, r.response_code, r.recursion_desired),
        (4242, ResponseCode::FormErr, true)
    );
    let good = query("www.example.com.", RecordType::A, None)
        .to_vec()
        .unwrap();
    let r = Message::from_vec(&a.answer_bytes(&good, src, Transport::Udp).unwrap()).unwrap();
    assert_eq!(r.answers.len(), 1);
}

#[test]
fn answers_are_deterministic() {
    let a = authority();
    let src: IpAddr = PUBLIC.parse().unwrap();
    let q = query("example.com.", RecordType::ANY, Some(1232))
        .to_vec()
        .unwrap();
    let first = a.answer_bytes(&q, src, Transport::Udp);
    for _ in 0..5 {
        assert_eq!(a.answer_bytes(&q, src, Transport::Udp), first);
    }
}

mod never_panics {
    use proptest::prelude::*;

    use super::*;

    fn shared_authority() -> &'static Authority {
        static AUTHORITY: std::sync::OnceLock<Authority> = std::sync::OnceLock::new();
        AUTHORITY.get_or_init(authority)
    }

    fn check_response(
        query: &[u8],
        response: Option<Vec<u8>>,
        transport: Transport,
    ) -> Result<(), TestCaseError> {
        let Some(response) = response else {
            // Dropped: only when the header does not read or is a response.
            prop_assert!(query.len() < 12 || query[2] & 0x80 != 0);
            return Ok(());
        };
        let message = Message::from_vec(&response).expect("our responses decode");
        prop_assert_eq!(message.message_type, MessageType::Response);
        prop_assert_eq!(&response[..2], &query[..2]);
        if transport == Transport::Udp {
            prop_assert!(response.len() <= usize::from(EDNS_PAYLOAD_MAX));
        }
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(3000))]

        #[test]
        fn answer_bytes_never_panics_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..600), tcp in any::<bool>()) {
            let transport = if tcp { Transport::Tcp } else { Transport::Udp };
            let response = shared_authority().answer_bytes(&bytes, PUBLIC.parse().unwrap(), transport);
            check_response(&bytes, response, transport)?;
        }

        /// Valid queries with a few bytes changed reach deeper than random
        /// bytes do.
        #[test]
        fn answer_bytes_never_panics_on_mutated_queries(
            which in 0..6usize,
            edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
            tcp in any::<bool>(),
        ) {
            let names = ["www.example.com.", "big.example.com.", "x.wild.example.com.", "sub.example.com.", "chain.example.com.", "example.com."];
            let mut query = query(names[which], RecordType::ANY, Some(1232)).to_vec().unwrap();
            for (index, byte) in edits {
                let i = index.index(query.len());
                query[i] = byte;
            }
            let transport = if tcp { Transport::Tcp } else { Transport::Udp };
            let response = shared_authority().answer_bytes(&query, PUBLIC.parse().unwrap(), transport);
            check_response(&query, response, transport)?;
        }
    }
}
