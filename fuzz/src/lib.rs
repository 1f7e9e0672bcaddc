//! What each fuzz target does with its input, shared by the libFuzzer
//! targets (`fuzz_targets/`) and the corpus replay test (`tests/`). Every
//! function must return normally for any input: a panic is a bug.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use wirelab_dns::authority::{Authority, ServedZone};
use wirelab_dns::proto::rr::Name;
use wirelab_dns::transport::Transport;
use wirelab_dns::zone::{parse_master_file, Zone};

/// A lab file: read (every diagnostic, no panic), and when valid compiled
/// and linted.
pub fn lab(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(loaded) = wirelab_spec::parse_str_without_files("fuzz.yaml", text) {
        let net = wirelab_net::Network::compile(&loaded.lab);
        let _ = wirelab_analyze::lint::lint(&net);
    }
}

/// A zone file (master file format) for `example.test.`; when it reads,
/// the zone is built too.
pub fn zone(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let origin = Name::from_ascii("example.test.").expect("a name");
    if let Ok(records) = parse_master_file(text, &origin, 3600) {
        let _ = Zone::build(origin, records);
    }
}

const ZONE: &str = "\
$TTL 3600
@ IN SOA ns1 hostmaster 1 7200 3600 1209600 300
@ IN NS ns1
ns1 IN A 192.0.2.53
www IN A 192.0.2.80
www IN AAAA 2001:db8::80
alias IN CNAME www
mail IN MX 10 www
@ IN TXT \"v=spf1 -all\"
*.wild IN A 192.0.2.99
sub IN NS ns.sub
ns.sub IN A 192.0.2.54
";

/// A DNS query, as bytes, to an authoritative server of a small zone
/// (delegation, wildcard, CNAME, MX, TXT), over UDP and TCP, from a
/// public and a private source.
pub fn dns_query(data: &[u8]) {
    static AUTHORITY: OnceLock<Authority> = OnceLock::new();
    let authority = AUTHORITY.get_or_init(|| {
        let origin = Name::from_ascii("example.test.").expect("a name");
        let records = parse_master_file(ZONE, &origin, 3600).expect("the zone reads");
        let zone = Zone::build(origin, records).expect("the zone builds");
        Authority::new(vec![ServedZone {
            zone: Arc::new(zone),
            private_to: vec!["10.0.0.0/8".parse().expect("a prefix")],
        }])
    });
    for (src, transport) in [
        ("203.0.113.7", Transport::Udp),
        ("10.1.2.3", Transport::Tcp),
    ] {
        let src: IpAddr = src.parse().expect("an address");
        let _ = authority.answer_bytes(data, src, transport);
    }
}

/// The importers: the first byte picks which input file the rest
/// replaces — one of the AWS describe-* files of the two-tier example
/// (the others stay valid), or a Terraform plan.
pub fn import(data: &[u8]) {
    let Some((&pick, body)) = data.split_first() else {
        return;
    };
    let dir = scratch();
    let options = wirelab_import::Options {
        lab: "fuzz".into(),
        source: "fuzz".into(),
    };
    let files = aws_files();
    let k = usize::from(pick) % (files.len() + 1);
    if k == files.len() {
        let plan = dir.join("plan.json");
        if std::fs::write(&plan, body).is_ok() {
            let _ = wirelab_import::import_terraform(&plan, &options);
        }
        return;
    }
    let aws = dir.join("aws");
    let (name, original) = &files[k];
    if std::fs::write(aws.join(name), body).is_ok() {
        let _ = wirelab_import::import_aws(&aws, &options);
    }
    let _ = std::fs::write(aws.join(name), original);
}

/// The two-tier example's files: (name, contents), sorted.
fn aws_files() -> &'static [(String, Vec<u8>)] {
    static FILES: OnceLock<Vec<(String, Vec<u8>)>> = OnceLock::new();
    FILES.get_or_init(|| {
        let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(example())
            .expect("the two-tier example")
            .filter_map(|e| e.ok())
            .filter(|e| e.path().is_file())
            .map(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                (name, std::fs::read(e.path()).expect("readable"))
            })
            .collect();
        files.sort();
        files
    })
}

/// A folder of this process's own, holding a copy of the example.
fn scratch() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("wirelab-fuzz-{}", std::process::id()));
        copy_tree(&example(), &dir.join("aws"));
        dir
    })
}

/// The AWS example the import target starts from.
fn example() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../crates/wirelab/tests/import/aws/two-tier")
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("a scratch folder");
    for e in std::fs::read_dir(from).expect("readable").filter_map(|e| e.ok()) {
        let (src, dst) = (e.path(), to.join(e.file_name()));
        if src.is_dir() {
            copy_tree(&src, &dst);
        } else {
            std::fs::copy(&src, &dst).expect("a copy");
        }
    }
}

/// An OSPF packet and a RIP datagram as a router decodes them: what
/// decodes encodes again to bytes that decode, and a second round gives
/// the same bytes (the encoding is canonical after one pass).
pub fn routing_wire(data: &[u8]) {
    use wirelab_sim::routing::wire;
    // As sent, and with the checksums made to hold, so that mutations
    // reach the parsing behind them.
    let fixed = wire::with_valid_checksums(data);
    for p in [wire::decode_ospf(data), wire::decode_ospf(&fixed)].into_iter().flatten() {
        let once = wire::encode_ospf(p.router, p.hello, &p.message);
        let q = wire::decode_ospf(&once).expect("a re-encoded OSPF packet decodes");
        let twice = wire::encode_ospf(q.router, q.hello, &q.message);
        assert_eq!(once, twice, "OSPF encoding is canonical after one pass");
    }
    if let Some(m) = wire::decode_rip(data) {
        for datagram in wire::encode_rip(&m) {
            let back = wire::decode_rip(&datagram).expect("a re-encoded RIP datagram decodes");
            for again in wire::encode_rip(&back) {
                assert_eq!(again, datagram, "RIP encoding is canonical after one pass");
            }
        }
    }
}
