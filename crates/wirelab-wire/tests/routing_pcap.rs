//! Routing protocols on the wire, read back by the real tshark: the OSPF
//! packets of lab 13 (hellos, updates with router LSAs, acknowledgments)
//! and the RIPv2 responses of lab 14 must decode without a malformed
//! packet or an expert warning, with correct checksums, and say what the
//! simulated routers said: the LSAs' links and costs, RIP's count to 16.
//!
//! tshark is an outside program: when it is missing the test says so and
//! passes, unless `WIRELAB_REQUIRE_TSHARK=1` (set by `scripts/test-all`).

mod common;

use std::path::{Path, PathBuf};

use common::tshark_present;

use wirelab_net::Network;
use wirelab_sim::packet::{Body, Ip, L4};
use wirelab_sim::scenario::{RunOptions, Scenario};
use wirelab_sim::SimTime;

/// Runs a lab for `until` with capture on; the file and the frames.
fn capture(lab: &str, until_s: u64) -> (PathBuf, Vec<wirelab_sim::CapturedFrame>) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../labs")
        .join(lab);
    let lab = wirelab_spec::load(&path).expect("a valid lab").lab;
    capture_lab(&lab, until_s)
}

/// Like [`capture`], for a lab already loaded.
fn capture_lab(
    lab: &wirelab_spec::Lab,
    until_s: u64,
) -> (PathBuf, Vec<wirelab_sim::CapturedFrame>) {
    let net = Network::compile(lab);
    let options = RunOptions {
        until: SimTime::from_secs(until_s),
        events_max: 10_000_000,
        capture: true,
    };
    let mut scenario = Scenario::new(&net, options);
    scenario.advance(options.until, &mut |_| {});
    let frames = scenario.report().frames;
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("wirelab-wire");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join(format!("{}.pcapng", net.lab.lab.value));
    let out = std::fs::File::create(&file).unwrap();
    wirelab_wire::write_capture(&net, &frames, std::io::BufWriter::new(out)).unwrap();
    (file, frames)
}

fn rows(file: &Path, filter: &str, fields: &[&str]) -> Vec<String> {
    common::rows(
        file,
        &[
            "-o",
            "ip.check_checksum:TRUE",
            "-o",
            "udp.check_checksum:TRUE",
        ],
        filter,
        fields,
    )
}

fn assert_clean(file: &Path) {
    let bad = rows(
        file,
        "_ws.malformed || _ws.expert.severity >= warning || ip.checksum.status == 0 \
         || udp.checksum.status == 0",
        &["frame.number", "_ws.col.Info", "_ws.expert.message"],
    );
    assert!(bad.is_empty(), "tshark flags {bad:#?}");
}

#[test]
fn ospf_packets_decode_as_ospf_with_the_routers_lsas() {
    if !tshark_present() {
        return;
    }
    let (file, frames) = capture("13-ospf-triangle.yaml", 100);
    assert_clean(&file);
    // Every OSPF packet the run sent, by type, as tshark counts them.
    let ours = |kind: u8| {
        frames
            .iter()
            .filter(
                |f| matches!(f.packet.body, Body::Ip(Ip { l4: L4::Ospf(o), .. }) if o.kind == kind),
            )
            .count()
    };
    for (kind, name) in [(1, "hello"), (4, "update"), (5, "ack")] {
        let theirs = rows(&file, &format!("ospf.msg == {kind}"), &["frame.number"]).len();
        assert!(ours(kind) > 0, "no OSPF {name} in the run");
        assert_eq!(theirs, ours(kind), "OSPF {name}s as tshark reads them");
    }
    // Hellos: TTL 1 to AllSPFRouters, with the lab's 1 s / 4 s timers.
    let hellos = rows(
        &file,
        "ospf.msg == 1",
        &[
            "ip.dst",
            "ip.ttl",
            "ospf.hello.hello_interval",
            "ospf.hello.router_dead_interval",
        ],
    );
    assert!(
        hellos.iter().all(|h| h == "224.0.0.5|1|1|4"),
        "{:?}",
        &hellos[..3]
    );
    // r1's router LSA (ID 10.1.0.1, its highest address) lists r2 (ID
    // 10.0.23.1) at cost 1, r3 (ID 10.3.0.1) at cost 10 (10 Mbit/s), and
    // its stub networks.
    let lsas = rows(
        &file,
        "ospf.msg == 4 && ospf.advrouter == 10.1.0.1",
        &[
            "ospf.lsa.router.linktype",
            "ospf.lsa.router.linkid",
            "ospf.lsa.router.metric0",
        ],
    );
    let first = lsas
        .iter()
        .find(|r| r.contains("10.3.0.1"))
        .expect("an LSA of r1 with r3");
    let cols: Vec<Vec<&str>> = first.split('|').map(|c| c.split(',').collect()).collect();
    let link = |id: &str| {
        let k = cols[1]
            .iter()
            .position(|x| *x == id)
            .unwrap_or_else(|| panic!("{id} in {first}"));
        (cols[0][k], cols[2][k])
    };
    assert_eq!(
        link("10.0.23.1"),
        ("1", "1"),
        "r2 by its router ID, cost 1: {first}"
    );
    assert_eq!(
        link("10.3.0.1"),
        ("1", "10"),
        "r3 by its router ID, cost 10: {first}"
    );
    assert_eq!(
        link("10.1.0.0"),
        ("3", "1"),
        "lan1 as a stub network: {first}"
    );
}

#[test]
fn rip_responses_decode_and_show_the_count_to_infinity() {
    if !tshark_present() {
        return;
    }
    let (file, _) = capture("14-rip-count-to-infinity.yaml", 60);
    assert_clean(&file);
    let all = rows(
        &file,
        "rip",
        &["ip.dst", "udp.srcport", "udp.dstport", "rip.version"],
    );
    assert!(!all.is_empty());
    assert!(all.iter().all(|r| r == "224.0.0.9|520|520|2"), "{all:?}");
    // What r1 and r2 say about lan3 on their link, in time order: the
    // metric climbs one by one to 16 while they loop.
    let lan3 = rows(
        &file,
        "rip.command == 2 && ip.src == 10.0.12.0/30",
        &["rip.ip", "rip.metric"],
    );
    let mut metrics: Vec<u32> = Vec::new();
    for r in &lan3 {
        let (ips, ms) = r.split_once('|').unwrap();
        for (ip, m) in ips.split(',').zip(ms.split(',')) {
            if ip == "10.3.0.0" {
                metrics.push(m.parse().unwrap());
            }
        }
    }
    let climb: Vec<u32> = metrics.iter().copied().filter(|&m| m >= 3).collect();
    let mut sorted = climb.clone();
    sorted.sort_unstable();
    assert_eq!(climb, sorted, "the metric only climbs: {metrics:?}");
    for m in 4..=16 {
        assert!(
            climb.contains(&m),
            "metric {m} never advertised: {metrics:?}"
        );
    }
}

/// A lab of `labs/` with every `links:` entry made `framing: ppp`.
fn with_ppp_links(file: &str) -> wirelab_spec::Lab {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../labs")
        .join(file);
    let text = std::fs::read_to_string(path).unwrap();
    let text = text.replace("  - { between:", "  - { framing: ppp, between:");
    let text = text.replacen("\nlab: ", "\nlab: ppp-", 1);
    assert!(text.contains("framing: ppp"), "{file} has no links");
    wirelab_spec::parse_str(file, &text)
        .expect("a valid lab")
        .lab
}

/// OSPF and RIP over PPP links: the same packets as over Ethernet links,
/// each behind the 2-byte PPP field on a PPP interface, multicast to the
/// protocols' groups without any ARP, and nothing malformed.
#[test]
fn ospf_and_rip_over_ppp_links_decode_without_arp() {
    if !tshark_present() {
        return;
    }
    for (file, until_s, proto) in [
        ("13-ospf-triangle.yaml", 100, "ospf"),
        ("14-rip-count-to-infinity.yaml", 200, "rip"),
    ] {
        let lab = with_ppp_links(file);
        let links: Vec<String> = lab
            .networks
            .iter()
            .filter(|n| n.link.framing == wirelab_spec::Framing::Ppp)
            .map(|n| n.name.value.clone())
            .collect();
        assert!(!links.is_empty());
        let (file_out, frames) = capture_lab(&lab, until_s);
        assert_clean(&file_out);
        let on_links = |filter: &str| {
            let names: Vec<String> = links
                .iter()
                .map(|l| format!("frame.interface_name == \"{l}\""))
                .collect();
            rows(
                &file_out,
                &format!("({}) && ({filter})", names.join(" || ")),
                &["frame.number"],
            )
            .len()
        };
        let routing_sent = frames
            .iter()
            .filter(|f| {
                f.packet.is_routing() && links.contains(&lab.networks[f.segment].name.value)
            })
            .count();
        assert!(routing_sent > 0, "{file}: no {proto} on the PPP links");
        assert_eq!(on_links(&format!("ppp && {proto}")), routing_sent, "{file}");
        assert_eq!(
            on_links("arp || eth"),
            0,
            "{file}: Ethernet or ARP on a PPP link"
        );
    }
}
