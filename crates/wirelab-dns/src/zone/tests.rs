//! Zone files, inline records, zone checks and apex completion.

use std::net::{IpAddr, Ipv4Addr};
use std::str::FromStr;

use hickory_proto::rr::{Name, RData, Record, RecordType};

use super::*;

fn name(text: &str) -> Name {
    Name::from_str(text).unwrap()
}

fn origin() -> Name {
    name("example.com.")
}

/// (line, owner, type, ttl, rdata as text) of each record.
fn summary(records: &[ZoneRecord]) -> Vec<(u32, String, RecordType, u32, String)> {
    records
        .iter()
        .map(|r| {
            let rec = &r.record;
            (
                r.line,
                rec.name.to_string(),
                rec.record_type(),
                rec.ttl,
                rec.data.to_string(),
            )
        })
        .collect()
}

fn parse(text: &str) -> Vec<ZoneRecord> {
    parse_master_file(text, &origin(), 600).unwrap_or_else(|e| panic!("{e:?}"))
}

fn errors(text: &str) -> Vec<(u32, u32)> {
    let errors = parse_master_file(text, &origin(), 600).unwrap_err();
    errors.iter().map(|e| (e.line, e.column)).collect()
}

const FULL: &str = r#"$TTL 3600
; a comment line
@   IN  SOA ns1 hostmaster (
            2024010101 ; serial
            7200 900
            1209600 300 )
    IN  NS  ns1
        NS  ns2.example.net.
ns1     A   192.0.2.1
www 300 IN  A   192.0.2.10
        IN 60 AAAA 2001:db8::10
mail    MX  10 mx.example.net.
txt     TXT "hello world" "second; not a comment" ; a comment
alias   CNAME www
apex    CNAME @
$ORIGIN sub.example.com.
host    A   192.0.2.20
_sip._tcp SRV 10 20 5060 host
$ORIGIN example.com.
@       CAA 0 issue "letsencrypt.org"
4       PTR www
"#;

#[test]
fn master_file_reads_every_form() {
    let records = parse(FULL);
    let s = summary(&records);
    assert_eq!(s[0].0, 3);
    assert_eq!(s[0].1, "example.com.");
    assert_eq!(s[0].2, RecordType::SOA);
    assert_eq!(s[0].3, 3600);
    assert_eq!(
        s[0].4,
        "ns1.example.com. hostmaster.example.com. 2024010101 7200 900 1209600 300"
    );
    // A blank owner is the previous owner.
    assert_eq!(
        (s[1].0, s[1].1.as_str(), s[1].4.as_str()),
        (7, "example.com.", "ns1.example.com.")
    );
    assert_eq!(
        (s[2].0, s[2].1.as_str(), s[2].4.as_str()),
        (8, "example.com.", "ns2.example.net.")
    );
    assert_eq!((s[3].1.as_str(), s[3].3), ("ns1.example.com.", 3600));
    // Explicit TTLs, in either order with the class.
    assert_eq!((s[4].1.as_str(), s[4].3), ("www.example.com.", 300));
    assert_eq!(
        (s[5].1.as_str(), s[5].2, s[5].3),
        ("www.example.com.", RecordType::AAAA, 60)
    );
    assert_eq!(s[6].4, "10 mx.example.net.");
    match &records[7].record.data {
        RData::TXT(txt) => {
            let strings: Vec<&[u8]> = txt.txt_data.iter().map(|s| &s[..]).collect();
            assert_eq!(
                strings,
                vec![&b"hello world"[..], &b"second; not a comment"[..]]
            );
        }
        other => panic!("not TXT: {other:?}"),
    }
    assert_eq!(s[8].4, "www.example.com.");
    // `@` in RDATA is the origin.
    assert_eq!(s[9].4, "example.com.");
    // $ORIGIN changes relative names, in owners and RDATA.
    assert_eq!(s[10].1, "host.sub.example.com.");
    assert_eq!(
        (s[11].1.as_str(), s[11].4.as_str()),
        (
            "_sip._tcp.sub.example.com.",
            "10 20 5060 host.sub.example.com."
        )
    );
    assert_eq!(
        (s[12].1.as_str(), s[12].2),
        ("example.com.", RecordType::CAA)
    );
    assert_eq!(s[13].1, "4.example.com.");
    assert_eq!(records.len(), 14);
}

#[test]
fn master_file_default_ttl_applies_until_dollar_ttl() {
    let records = parse("a A 192.0.2.1\n$TTL 1h\nb A 192.0.2.2\n");
    assert_eq!(records[0].record.ttl, 600);
    assert_eq!(records[1].record.ttl, 3600);
}

#[test]
fn master_file_reports_every_error_with_its_line_and_column() {
    let text = "ok A 192.0.2.1\nbad1 A 999.0.0.1\n\n  ; fine\nbad2 BOGUS x\nbad3 IN\nbad4 CH A 192.0.2.1\n$INCLUDE other.zone\nbad5 MX ten mx\n";
    assert_eq!(
        errors(text),
        vec![(2, 8), (5, 6), (6, 6), (7, 6), (8, 1), (9, 9)]
    );
}

#[test]
fn master_file_errors_in_multi_line_entries_point_at_the_entry() {
    let text = "a A 192.0.2.1\n@ SOA ns1 hostmaster (\n 1 2 3\n 4 )\n";
    // The SOA has one number too few: the error is at its first RDATA item.
    assert_eq!(errors(text), vec![(2, 7)]);
}

#[test]
fn master_file_lexer_errors() {
    assert_eq!(errors("a TXT \"open\nb A 192.0.2.1\n"), vec![(1, 7)]);
    assert_eq!(errors("a A 192.0.2.1 )\n"), vec![(1, 15)]);
    assert_eq!(errors("a A 192.0.2.1\nb SOA ( x\n"), vec![(2, 7)]);
    // A blank owner with nothing before it.
    assert_eq!(errors("  A 192.0.2.1\n"), vec![(1, 3)]);
}

#[test]
fn master_file_alias_is_an_aname_record() {
    let records = parse("@ ALIAS lb.example.net.\n");
    assert_eq!(records[0].record.record_type(), RecordType::ANAME);
}

#[test]
fn inline_records() {
    let o = origin();
    let mx = parse_record("@", "MX", "10 mail.example.com.", 300, &o).unwrap();
    assert_eq!(
        (mx.name.to_string(), mx.data.to_string(), mx.ttl),
        ("example.com.".into(), "10 mail.example.com.".into(), 300)
    );
    let a = parse_record("www", "a", "192.0.2.1", 60, &o).unwrap();
    assert_eq!(a.name, name("www.example.com."));
    let cname = parse_record("api.example.com.", "CNAME", "www", 60, &o).unwrap();
    assert_eq!(cname.data.to_string(), "www.example.com.");
    assert_eq!(
        txt_strings(&parse_record("@", "TXT", "v=spf1 -all", 60, &o).unwrap()),
        vec!["v=spf1 -all"]
    );
    assert_eq!(
        txt_strings(&parse_record("@", "TXT", "\"a b\" c", 60, &o).unwrap()),
        vec!["a b", "c"]
    );
    let alias = parse_record("@", "ALIAS", "lb.example.net.", 60, &o).unwrap();
    assert_eq!(alias.record_type(), RecordType::ANAME);
    let soa = parse_record("@", "SOA", "ns1 hostmaster 1 7200 900 1209600 300", 60, &o).unwrap();
    assert_eq!(soa.record_type(), RecordType::SOA);
    for (rtype, value) in [
        ("SRV", "1 2 3 x"),
        ("CAA", "0 issue \"ca.example\""),
        ("PTR", "x"),
        ("NS", "ns1"),
        ("AAAA", "2001:db8::1"),
    ] {
        parse_record("x", rtype, value, 60, &o).unwrap_or_else(|e| panic!("{rtype}: {e}"));
    }
    assert!(parse_record("www", "HINFO", "a b", 60, &o)
        .unwrap_err()
        .contains("not supported"));
    assert!(parse_record("www", "A", "not-an-address", 60, &o).is_err());
    assert!(parse_record("www", "MX", "\"open", 60, &o).is_err());
}

fn txt_strings(record: &Record) -> Vec<String> {
    match &record.data {
        RData::TXT(txt) => txt
            .txt_data
            .iter()
            .map(|s| String::from_utf8_lossy(s).into_owned())
            .collect(),
        other => panic!("not TXT: {other:?}"),
    }
}

fn rec(text: &str) -> ZoneRecord {
    let records = parse(text);
    assert_eq!(records.len(), 1);
    records.into_iter().next().unwrap()
}

fn base() -> Vec<ZoneRecord> {
    parse("@ SOA ns1 hostmaster 1 2 3 4 5\n@ NS ns1\nns1 A 192.0.2.1\n")
}

fn problems(extra: &str) -> Vec<(Option<usize>, String)> {
    let mut records = base();
    records.extend(parse(extra));
    match Zone::build(origin(), records) {
        Ok(_) => vec![],
        Err(problems) => problems
            .into_iter()
            .map(|p| (p.record, p.message))
            .collect(),
    }
}

#[test]
fn build_accepts_a_valid_zone_and_knows_empty_non_terminals() {
    let mut records = base();
    records.push(rec("a.b.c A 192.0.2.9\n"));
    let zone = Zone::build(origin(), records).unwrap();
    assert!(zone.name_exists(&name("b.c.example.com.")));
    assert!(zone.name_exists(&name("C.example.com.")));
    assert!(!zone.name_exists(&name("d.example.com.")));
    assert_eq!(zone.soa().record_type(), RecordType::SOA);
    assert_eq!(zone.records().count(), 4);
}

#[test]
fn build_rejects_records_outside_the_zone() {
    let p = problems("www.example.org. A 192.0.2.1\n");
    assert_eq!(p.len(), 1);
    assert_eq!(p[0].0, Some(3));
    assert!(p[0].1.contains("outside"), "{p:?}");
}

#[test]
fn build_rejects_cname_beside_other_data() {
    let p = problems("www CNAME x\nwww A 192.0.2.1\n");
    assert_eq!(p.len(), 1, "{p:?}");
    assert_eq!(p[0].0, Some(3));
    assert!(p[0].1.contains("beside other data (A)"), "{p:?}");
}

#[test]
fn build_rejects_cname_loops_once() {
    let p = problems("a CNAME b\nb CNAME c\nc CNAME a\nd CNAME a\n");
    assert_eq!(p.len(), 1, "{p:?}");
    assert_eq!(
        p[0].1,
        "CNAME loop: a.example.com. → b.example.com. → c.example.com. → a.example.com."
    );
    assert_eq!(problems("self CNAME self\n").len(), 1);
}

#[test]
fn build_rejects_bad_soas() {
    let p = problems("@ SOA ns2 hostmaster 2 2 3 4 5\nwww SOA ns1 hostmaster 1 2 3 4 5\n");
    assert_eq!(p.len(), 2, "{p:?}");
    assert!(p[0].1.contains("second SOA"));
    assert!(p[1].1.contains("only at the zone apex"));
    let only_ns = parse("@ NS ns1\nns1 A 192.0.2.1\n");
    let p = Zone::build(origin(), only_ns).unwrap_err();
    assert_eq!((p[0].record, p[0].line), (None, 0));
    assert!(p[0].message.contains("no SOA"));
}

#[test]
fn build_requires_glue_for_in_zone_name_servers() {
    let p = problems(
        "sub NS ns.sub\nsub NS ns.example.net.\nother NS ns.other\nns.other AAAA 2001:db8::1\n",
    );
    assert_eq!(p.len(), 1, "{p:?}");
    assert_eq!(p[0].0, Some(3));
    assert!(p[0].1.starts_with("missing glue"), "{p:?}");
    assert!(p[0].1.contains("ns.sub.example.com."), "{p:?}");
}

#[test]
fn build_allows_alias_only_at_the_apex_and_alone() {
    assert_eq!(problems("@ ALIAS lb.example.net.\n"), vec![]);
    let p = problems("www ALIAS lb.example.net.\n");
    assert!(p[0].1.contains("only at the zone apex"), "{p:?}");
    let p = problems("@ ALIAS lb.example.net.\n@ A 192.0.2.1\n");
    assert!(p[0].1.contains("beside A"), "{p:?}");
    let mut records = base();
    records.push(rec("@ ALIAS lb.example.net.\n"));
    let zone = Zone::build(origin(), records).unwrap();
    assert_eq!(zone.alias_target(), Some(&name("lb.example.net.")));
    assert!(zone.records().all(|r| r.record_type() != RecordType::ANAME));
}

#[test]
fn build_keeps_identical_records_once() {
    let mut records = base();
    records.push(rec("www A 192.0.2.1\n"));
    records.push(rec("www A 192.0.2.1\n"));
    let zone = Zone::build(origin(), records).unwrap();
    assert_eq!(
        zone.rrset(&name("www.example.com."), RecordType::A)
            .unwrap()
            .len(),
        1
    );
}

fn v4(a: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(192, 0, 2, a))
}

#[test]
fn complete_apex_synthesizes_soa_ns_and_glue() {
    let mut records = parse("www A 192.0.2.80\n");
    let servers = vec![
        (
            name("ns1").clone(),
            vec![v4(1), "2001:db8::1".parse().unwrap()],
        ),
        (name("ns.example.net."), vec![v4(2)]),
    ];
    let mut relative = servers.clone();
    relative[0].0.set_fqdn(false);
    complete_apex(&origin(), &mut records, &relative);
    let s: Vec<(String, RecordType, String)> = records
        .iter()
        .map(|r| {
            (
                r.record.name.to_string(),
                r.record.record_type(),
                r.record.data.to_string(),
            )
        })
        .collect();
    assert_eq!(
        s,
        vec![
            (
                "www.example.com.".into(),
                RecordType::A,
                "192.0.2.80".into()
            ),
            (
                "example.com.".into(),
                RecordType::NS,
                "ns1.example.com.".into()
            ),
            ("ns1.example.com.".into(), RecordType::A, "192.0.2.1".into()),
            (
                "ns1.example.com.".into(),
                RecordType::AAAA,
                "2001:db8::1".into()
            ),
            (
                "example.com.".into(),
                RecordType::NS,
                "ns.example.net.".into()
            ),
            (
                "example.com.".into(),
                RecordType::SOA,
                "ns1.example.com. hostmaster.example.com. 1 7200 900 1209600 300".into()
            ),
        ]
    );
    assert!(records[1..]
        .iter()
        .all(|r| r.line == 0 && r.record.ttl == SYNTHESIZED_TTL));
    Zone::build(origin(), records).unwrap();
}

#[test]
fn complete_apex_keeps_what_the_zone_has() {
    let mut records = base();
    let before = records.clone();
    complete_apex(
        &origin(),
        &mut records,
        &[(name("other.example.net."), vec![v4(9)])],
    );
    assert_eq!(records, before);
}

#[test]
fn complete_apex_does_not_duplicate_an_address_the_zone_gives() {
    let mut records = parse("ns1 A 192.0.2.53\n");
    let mut ns1 = name("ns1");
    ns1.set_fqdn(false);
    complete_apex(&origin(), &mut records, &[(ns1, vec![v4(1)])]);
    let a: Vec<&Record> = records
        .iter()
        .map(|r| &r.record)
        .filter(|r| r.record_type() == RecordType::A)
        .collect();
    assert_eq!(a.len(), 1);
}

mod never_panics {
    use proptest::prelude::*;

    use super::*;

    /// Pieces of master-file syntax, so that random text often gets past
    /// the first token.
    const PIECES: &[&str] = &[
        "@",
        "$ORIGIN",
        "$TTL",
        "$INCLUDE",
        "IN",
        "CH",
        "SOA",
        "NS",
        "A",
        "AAAA",
        "CNAME",
        "MX",
        "TXT",
        "SRV",
        "CAA",
        "PTR",
        "ALIAS",
        "HINFO",
        "3600",
        "1h",
        "0",
        "99999999999",
        "192.0.2.1",
        "2001:db8::1",
        "www",
        "a.b",
        "x.example.com.",
        ".",
        "*",
        "\\",
        "\\0",
        "\\123",
        "\"",
        "\"quoted text\"",
        "(",
        ")",
        ";",
        "; c",
        " ",
        "  ",
        "\t",
        "\n",
        "\r\n",
        "é",
        "-",
        "_sip._tcp",
        "10",
        "issue",
        "\"ca\"",
    ];

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn parse_master_file_never_panics_on_zone_like_text(pieces in proptest::collection::vec(proptest::sample::select(PIECES), 0..40)) {
            let text: String = pieces.concat();
            let lines = u32::try_from(text.lines().count()).unwrap() + 1;
            match parse_master_file(&text, &origin(), 60) {
                Ok(records) => prop_assert!(records.iter().all(|r| r.line >= 1 && r.line <= lines)),
                Err(errors) => {
                    prop_assert!(!errors.is_empty());
                    prop_assert!(errors.iter().all(|e| e.line >= 1 && e.line <= lines && e.column >= 1));
                }
            }
        }

        #[test]
        fn parse_master_file_never_panics_on_any_text(text in "\\PC{0,200}") {
            let _ = parse_master_file(&text, &origin(), 60);
        }

        #[test]
        fn parse_record_never_panics(value in "\\PC{0,80}", rtype in proptest::sample::select(INLINE_RECORD_TYPES), owner in "[a-z@.*]{0,10}") {
            let _ = parse_record(&owner, rtype, &value, 60, &origin());
        }
    }
}
