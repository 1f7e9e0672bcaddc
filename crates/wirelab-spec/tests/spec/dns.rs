//! DNS: zones written inline and in master files, their servers, private
//! zones, the synthesized root and TLDs, hosts' resolvers, dns checks and
//! DNS names in `to:`.

use std::path::Path;

use wirelab_spec::{CheckTarget, DnsExpect, Family, Reason};

use super::render;

const DIR: &str = "tests/fixtures/dns";

fn load(name: &str) -> Result<wirelab_spec::Loaded, String> {
    wirelab_spec::load(&Path::new(DIR).join(name)).map_err(|d| render(&d))
}

#[test]
fn every_dns_mistake_is_reported_where_it_is_including_zone_file_lines() {
    let d = match load("mistakes.yaml") {
        Ok(_) => panic!("mistakes.yaml must be rejected"),
        Err(d) => d,
    };
    insta::assert_snapshot!("dns-mistakes", d);
}

#[test]
fn zones_servers_and_resolvers_resolve() {
    let loaded = load("valid.yaml").unwrap_or_else(|d| panic!("{d}"));
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    let lab = &loaded.lab;
    let host = |name: &str| lab.hosts.iter().position(|h| h.name.value == name).unwrap();

    // Resolvers by host name and by address, in order.
    assert_eq!(
        lab.hosts[host("client")].resolvers,
        vec!["192.0.2.53".parse::<std::net::IpAddr>().unwrap(); 2]
    );

    // Declared zones in file order (names made absolute and lowercase),
    // then the synthesized root and TLDs: `.`, `com.`, `example.`.
    let origins: Vec<(&str, bool)> = lab
        .dns
        .zones
        .iter()
        .map(|z| (z.origin.as_str(), z.synthesized))
        .collect();
    assert_eq!(
        origins,
        [
            ("good.example.", false),
            ("example.com.", false),
            ("example.com.", false),
            (".", true),
            ("com.", true),
            ("example.", true),
        ]
    );
    let private = &lab.dns.zones[2];
    assert_eq!(
        private.private_to,
        vec![lab.network_by_name("vpc").unwrap()]
    );
    // The synthesized zones are served by the public zones' servers, and
    // resolvers start from them.
    assert_eq!(lab.dns.zones[3].servers, vec![host("ns1")]);
    assert_eq!(
        lab.dns.root_hints,
        vec!["192.0.2.54".parse::<std::net::IpAddr>().unwrap()]
    );

    // The master file and the inline line together; owners carried over
    // blank owner fields; the zone's TTL and the record's own.
    let good = &lab.dns.zones[0].zone;
    let texts: Vec<String> = good.records().map(|r| r.to_string()).collect();
    let has = |needle: &str| {
        assert!(
            texts.iter().any(|t| t.contains(needle)),
            "no record like `{needle}` in {texts:#?}"
        )
    };
    has("www.good.example. 600 IN AAAA 2001:db8::80");
    has("mail.good.example. 60 IN A 192.0.2.25");
    has("extra.good.example. 30 IN TXT");
    has("_sip._udp.good.example. 600 IN SRV 0 5 5060 www.good.example.");
    // Inline records: the zone's ttl, NS and SOA added for the server.
    let example = &lab.dns.zones[1].zone;
    let texts: Vec<String> = example.records().map(|r| r.to_string()).collect();
    assert!(
        texts
            .iter()
            .any(|t| t.starts_with("www.example.com. 120 IN A 192.0.2.80")),
        "{texts:#?}"
    );
    assert!(
        texts
            .iter()
            .any(|t| t.starts_with("example.com. 3600 IN NS ns1.example.com.")),
        "{texts:#?}"
    );
    assert!(example.alias_target().is_some());

    // Checks.
    let www = lab.checks[0].dns.as_ref().unwrap();
    assert_eq!(www.name, "www.example.com.");
    assert_eq!(www.rtype, "A");
    assert_eq!(www.expect, DnsExpect::Answers(vec!["192.0.2.80".into()]));
    let mx = lab.checks[1].dns.as_ref().unwrap();
    assert_eq!((mx.rtype.as_str(), mx.cached), ("MX", true));
    let by_name = &lab.checks[2];
    assert_eq!(by_name.to, CheckTarget::Name("www.example.com.".into()));
    assert_eq!(by_name.family, Family::Ipv4);
    assert_eq!(by_name.reason, Some(Reason::Dns));
}
