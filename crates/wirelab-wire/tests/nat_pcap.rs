//! Captures through a NAT router, read back by the real tshark: every
//! translated header (addresses, ports, echo identifiers, the datagram an
//! ICMP error quotes) must still carry correct checksums, and each network
//! must show the addresses that really travel on it.
//!
//! tshark is an outside program: when it is missing the test says so and
//! passes, unless `WIRELAB_REQUIRE_TSHARK=1` (set by `scripts/test-all`).

mod common;

use std::path::{Path, PathBuf};

use common::tshark_present;

use wirelab_check::{run_exchange, Plan};
use wirelab_net::Network;
use wirelab_sim::{CapturedFrame, Sim, SimTime, TraceLevel};

const CHECKSUM_PREFS: [&str; 6] = [
    "-o",
    "ip.check_checksum:TRUE",
    "-o",
    "tcp.check_checksum:TRUE",
    "-o",
    "udp.check_checksum:TRUE",
];

/// Every check of lab 11, one after the other in one capture.
fn capture() -> (PathBuf, usize) {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../labs/11-private-subnet-behind-nat.yaml");
    let lab = wirelab_spec::load(&path).expect("lab 11 is valid").lab;
    let net = Network::compile(&lab);
    let mut frames: Vec<CapturedFrame> = Vec::new();
    for (i, check) in net.lab.checks.iter().enumerate() {
        let plan = Plan::for_check(&net, check).expect("a plan");
        let mut sim = Sim::new(&net, 11 + i as u64, TraceLevel::Full);
        sim.set_capture(true);
        run_exchange(&mut sim, plan, 11 + i as u64);
        let decided = sim.now();
        sim.run_until(decided + SimTime::from_secs(1));
        // One file, checks one after the other: shift each run's times.
        let offset = SimTime::from_secs(100 * i as u64);
        frames.extend(sim.captured().iter().map(|f| CapturedFrame {
            time: offset + f.time,
            ..f.clone()
        }));
    }
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("wirelab-wire");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("nat.pcapng");
    let out = std::fs::File::create(&file).unwrap();
    wirelab_wire::write_capture(&net, &frames, std::io::BufWriter::new(out)).unwrap();
    (file, frames.len())
}

fn rows(file: &Path, filter: &str, fields: &[&str]) -> Vec<String> {
    common::rows(file, &CHECKSUM_PREFS, filter, fields)
}

#[test]
fn translated_frames_are_well_formed_and_show_each_side_s_addresses() {
    if !tshark_present() {
        return;
    }
    let (file, count) = capture();
    assert_eq!(rows(&file, "", &["frame.number"]).len(), count);
    let bad = rows(
        &file,
        "_ws.malformed || _ws.expert.severity >= error || ip.checksum.status == 0 \
         || tcp.checksum.status == 0 || udp.checksum.status == 0 || icmp.checksum.status == 0",
        &["frame.number", "_ws.col.Info", "_ws.expert.message"],
    );
    assert!(bad.is_empty(), "tshark flags {bad:#?}");

    // The port unreachable about app1's datagram: on the edge it quotes
    // the NAT gateway's address and port, inside it quotes app1's own.
    let errors = rows(
        &file,
        "icmp.type == 3 && icmp.code == 3",
        &["frame.interface_name", "ip.dst", "ip.src", "udp.srcport"],
    );
    let on = |net: &str| {
        errors
            .iter()
            .find(|r| r.starts_with(&format!("{net}|")))
            .cloned()
    };
    let edge = on("edge").expect("the error on the edge network");
    let inside = on("private").expect("the error on the private network");
    assert!(
        edge.starts_with("edge|203.0.113.1,198.51.100.80|198.51.100.80,203.0.113.1|1024"),
        "{edge}"
    );
    assert!(
        inside.starts_with("private|10.0.1.10,198.51.100.80|198.51.100.80,10.0.1.10|"),
        "{inside}"
    );
    assert!(
        !inside.ends_with("|1024"),
        "the quoted port is app1's own: {inside}"
    );

    // No private address ever travels on the edge or the internet.
    let leaked = rows(
        &file,
        "(frame.interface_name == \"edge\" || frame.interface_name == \"internet\") \
         && ip.src == 10.0.0.0/8",
        &["frame.number", "_ws.col.Info"],
    );
    assert!(leaked.is_empty(), "private addresses outside: {leaked:#?}");
}

/// An HTTP request from the internet into the port forward of lab 11: the
/// capture carries curl's request and the server's response as real text
/// on both sides of the NAT (the bytes are found through the NAT table).
#[test]
fn http_through_a_port_forward_reads_as_http_on_both_sides() {
    if !tshark_present() {
        return;
    }
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../labs/11-private-subnet-behind-nat.yaml");
    let lab = wirelab_spec::load(&path).expect("lab 11 is valid").lab;
    let net = Network::compile(&lab);
    let laptop = lab
        .hosts
        .iter()
        .position(|h| h.name.value == "laptop")
        .unwrap();
    let url = wirelab_spec::parse_url("http://203.0.113.1:8080/").expect("a URL");
    let mut sim = Sim::new(&net, 1, TraceLevel::Full);
    sim.set_capture(true);
    let started = sim.now();
    let addr = "203.0.113.1".parse().unwrap();
    let outcome = wirelab_check::http::request_to(&mut sim, &net, laptop, addr, &url, started);
    assert!(outcome.error.is_none(), "{:?}", outcome.message);
    let frames = sim.captured().to_vec();
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("wirelab-wire");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("nat-http.pcapng");
    let out = std::fs::File::create(&file).unwrap();
    wirelab_wire::write_capture(&net, &frames, std::io::BufWriter::new(out)).unwrap();
    let bad = rows(
        &file,
        "_ws.malformed || _ws.expert.severity >= error || tcp.checksum.status == 0",
        &["frame.number", "_ws.col.Info"],
    );
    assert!(bad.is_empty(), "tshark flags {bad:#?}");
    let requests = rows(
        &file,
        "http.request.method == \"GET\"",
        &["frame.interface_name", "ip.dst", "tcp.dstport"],
    );
    // tshark reads a frame seen again on the next network as a
    // retransmission, so HTTP is decoded once per side of the NAT.
    let outside = |rows: &[String], want: &str| {
        ["internet", "edge"]
            .iter()
            .any(|n| rows.contains(&format!("{n}|{want}")))
    };
    assert!(outside(&requests, "203.0.113.1|8080"), "{requests:?}");
    assert!(
        requests.contains(&"private|10.0.1.10|80".to_string()),
        "{requests:?}"
    );
    let responses = rows(
        &file,
        "http.response.code == 200",
        &["frame.interface_name", "ip.src"],
    );
    assert!(outside(&responses, "203.0.113.1"), "{responses:?}");
    assert!(
        responses.contains(&"private|10.0.1.10".to_string()),
        "{responses:?}"
    );
}
