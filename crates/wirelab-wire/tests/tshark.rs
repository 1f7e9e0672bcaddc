//! Captures of real labs, read back by the real tshark.
//!
//! Each test runs one exchange of a lab written inline, writes the frames
//! as pcapng, and asks tshark (Wireshark's dissectors) what is in it:
//! every file must load, nothing may be malformed or carry a bad checksum
//! (with checksum validation switched on), and the decoded fields must be
//! the ones the simulator sent.
//!
//! tshark is an outside program: when it is missing the tests say so and
//! pass, unless `WIRELAB_REQUIRE_TSHARK=1` (set by `scripts/test-all`),
//! which makes a missing tshark a failure.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::Command;

use wirelab_check::{run_exchange, Plan};
use wirelab_net::{Mac, Network};
use wirelab_sim::packet::{
    tcp_flags, ArpOp, Body, Framing, Icmp, Ip, Quoted, Tcp, Unreachable, L4,
};
use wirelab_sim::{CapturedFrame, Packet, Sim, SimTime, TraceLevel};

/// Two routers in a line between a client and a server, both families.
/// Network `c` has a NACL that drops SSH; `r1` and `r2` bounce 10.9/16
/// and 2001:db8:9::/64 between them until the hop limit runs out.
const LAB: &str = r#"
lab: wire
networks:
  a: { cidr: 10.0.1.0/24, ipv6: "2001:db8:1::/64" }
  b: { cidr: 10.0.2.0/24, ipv6: "2001:db8:2::/64" }
  c: { cidr: 10.0.3.0/24, ipv6: "2001:db8:3::/64", nacl: c-acl }
routers:
  r1:
    interfaces:
      a: { ip: 10.0.1.1, ipv6: "2001:db8:1::1" }
      b: { ip: 10.0.2.1, ipv6: "2001:db8:2::1" }
    routes:
      - { to: 10.0.3.0/24, via: 10.0.2.2 }
      - { to: "2001:db8:3::/64", via: "2001:db8:2::2" }
      - { to: 10.9.0.0/16, via: 10.0.2.2 }
      - { to: "2001:db8:9::/64", via: "2001:db8:2::2" }
  r2:
    interfaces:
      b: { ip: 10.0.2.2, ipv6: "2001:db8:2::2" }
      c: { ip: 10.0.3.1, ipv6: "2001:db8:3::1" }
    routes:
      - { to: 10.0.1.0/24, via: 10.0.2.1 }
      - { to: "2001:db8:1::/64", via: "2001:db8:2::1" }
      - { to: 10.9.0.0/16, via: 10.0.2.1 }
      - { to: "2001:db8:9::/64", via: "2001:db8:2::1" }
hosts:
  client: { network: a, ip: 10.0.1.10, ipv6: "2001:db8:1::10" }
  server:
    network: c
    ip: 10.0.3.10
    ipv6: "2001:db8:3::10"
    services: [{ port: 80 }, { port: 22 }, { port: 5000, proto: udp }, { port: 53, proto: udp }]
nacls:
  c-acl:
    inbound:
      - { rule: 100, action: deny, proto: tcp, port: 22, cidr: 0.0.0.0/0 }
      - { rule: 101, action: deny, proto: tcp, port: 22, cidr: "::/0" }
      - { rule: 200, action: allow, proto: all, cidr: 0.0.0.0/0 }
      - { rule: 201, action: allow, proto: all, cidr: "::/0" }
    outbound:
      - { rule: 200, action: allow, proto: all, cidr: 0.0.0.0/0 }
      - { rule: 201, action: allow, proto: all, cidr: "::/0" }
checks:
  - { name: web, from: client, to: server, port: 80, expect: allow, via: [r1, r2] }
  - { name: web6, from: client, to: server, port: 80, family: ipv6, expect: allow, via: [r1, r2] }
  - { name: closed tcp, from: client, to: server, port: 81, expect: refused }
  - { name: closed udp, from: client, to: server, proto: udp, port: 5001, expect: refused }
  - { name: closed udp6, from: client, to: server, proto: udp, port: 5001, family: ipv6, expect: refused }
  - { name: udp, from: client, to: server, proto: udp, port: 5000, expect: allow }
  - { name: dns, from: client, to: server, proto: udp, port: 53, expect: allow }
  - { name: ping, from: client, to: server, proto: icmp, expect: allow }
  - { name: ping6, from: client, to: server, proto: icmp, family: ipv6, expect: allow }
  - { name: ssh, from: client, to: server, port: 22, expect: deny, reason: nacl-inbound }
  - { name: loop, from: client, to: 10.9.0.1, proto: icmp, expect: deny }
  - { name: loop6, from: client, to: "2001:db8:9::1", proto: icmp, family: ipv6, expect: deny }
"#;

/// Prefs that make tshark verify every checksum it knows how to (ICMP
/// and ICMPv6 checksums are always verified).
const CHECKSUM_PREFS: [&str; 6] = [
    "-o",
    "ip.check_checksum:TRUE",
    "-o",
    "tcp.check_checksum:TRUE",
    "-o",
    "udp.check_checksum:TRUE",
];

/// Whether tshark can run here; `None` means skip (see the module docs).
fn tshark_present(test: &str) -> bool {
    let ok = Command::new("tshark")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if ok {
        return true;
    }
    if std::env::var("WIRELAB_REQUIRE_TSHARK").as_deref() == Ok("1") {
        panic!("tshark is not installed, and WIRELAB_REQUIRE_TSHARK=1 requires it");
    }
    eprintln!(
        "SKIPPED {test}: tshark is not installed (install it, e.g. `apt-get install tshark`, \
         or set WIRELAB_REQUIRE_TSHARK=1 to make this a failure)"
    );
    false
}

/// One exchange's capture, written to a file.
struct Capture {
    file: PathBuf,
    frames: Vec<CapturedFrame>,
    net: Network,
}

impl Capture {
    /// Writes `frames` of `net` as `TEST.pcapng` in the test's temp dir.
    fn written(test: &str, net: Network, frames: Vec<CapturedFrame>) -> Capture {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("wirelab-wire");
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join(format!("{test}.pcapng"));
        let out = std::fs::File::create(&file).unwrap();
        wirelab_wire::write_capture(&net, &frames, std::io::BufWriter::new(out)).unwrap();
        Capture { file, frames, net }
    }

    /// Runs the lab's check `check` as `wirelab trace` does (the exchange,
    /// then one more second so the close is seen) with capture on.
    fn run(test: &str, check: &str) -> Capture {
        Capture::run_lab(test, LAB, check)
    }

    /// Like [`Capture::run`], on the lab `text`.
    fn run_lab(test: &str, text: &str, check: &str) -> Capture {
        let lab = match wirelab_spec::parse_str("wire.yaml", text) {
            Ok(l) => l.lab,
            Err(d) => panic!("lab does not load: {d:#?}"),
        };
        let net = Network::compile(&lab);
        let index = net
            .lab
            .checks
            .iter()
            .position(|c| c.name.value == check)
            .unwrap_or_else(|| panic!("no check {check}"));
        let plan = Plan::for_check(&net, &net.lab.checks[index]).expect("a plan");
        let frames = {
            let mut sim = Sim::new(&net, 7, TraceLevel::Full);
            sim.set_capture(true);
            run_exchange(&mut sim, plan, 7);
            let decided = sim.now();
            sim.run_until(decided + SimTime::from_secs(1));
            sim.captured().to_vec()
        };
        assert!(!frames.is_empty(), "{check}: nothing captured");
        Capture::written(test, net, frames)
    }

    /// tshark's output for `args` after `-r FILE` and the checksum prefs.
    fn tshark(&self, args: &[&str]) -> String {
        let out = Command::new("tshark")
            .arg("-r")
            .arg(&self.file)
            .args(CHECKSUM_PREFS)
            .args(args)
            .output()
            .expect("tshark runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        let complaints: Vec<&str> = stderr
            .lines()
            .filter(|l| !l.contains("Running as user \"root\"") && !l.trim().is_empty())
            .collect();
        assert!(
            out.status.success() && complaints.is_empty(),
            "tshark {args:?} on {}: {}\n{stderr}",
            self.file.display(),
            out.status
        );
        String::from_utf8(out.stdout).expect("tshark prints UTF-8")
    }

    /// One row per frame matching `filter`, one column per field
    /// (repeated fields joined by commas).
    fn rows(&self, filter: &str, fields: &[&str]) -> Vec<Vec<String>> {
        let mut args = vec!["-T", "fields", "-E", "separator=|", "-E", "occurrence=a"];
        if !filter.is_empty() {
            args.extend(["-Y", filter]);
        }
        for f in fields {
            args.extend(["-e", f]);
        }
        self.tshark(&args)
            .lines()
            .map(|l| l.split('|').map(str::to_owned).collect())
            .collect()
    }

    /// Every frame loads, none is malformed, none has a bad checksum or
    /// another error-level finding, and tshark sees exactly the frames
    /// the simulator sent, at the simulated times.
    fn assert_clean(&self) {
        let all = self.rows(
            "",
            &[
                "frame.number",
                "frame.time_epoch",
                "frame.len",
                "frame.interface_name",
            ],
        );
        assert_eq!(all.len(), self.frames.len(), "tshark reads every frame");
        for (row, f) in all.iter().zip(&self.frames) {
            let ns = f.time.as_nanos();
            let time = format!("{}.{:09}", ns / 1_000_000_000, ns % 1_000_000_000);
            assert_eq!(row[1], time, "frame {} timestamp", row[0]);
            assert_eq!(
                row[2],
                f.packet
                    .frame_len(self.net.segments[f.segment].link.framing)
                    .to_string(),
                "frame {} length",
                row[0]
            );
            assert_eq!(
                row[3], self.net.segments[f.segment].name,
                "frame {} interface",
                row[0]
            );
        }
        let bad = self.rows(
            "_ws.malformed || _ws.expert.severity >= error \
             || ip.checksum.status == 0 || tcp.checksum.status == 0 \
             || udp.checksum.status == 0 || icmp.checksum.status == 0 \
             || icmpv6.checksum.status == 0",
            &[
                "frame.number",
                "_ws.col.Protocol",
                "_ws.col.Info",
                "_ws.expert.message",
            ],
        );
        assert!(
            bad.is_empty(),
            "{}: tshark flags {bad:#?}",
            self.file.display()
        );
    }

    /// The frames tshark prints as a summary, one line each (for failures).
    fn summary(&self) -> String {
        self.tshark(&[])
    }
}

/// The fields tshark decodes for every frame (first occurrence each).
const FIELDS: [&str; 30] = [
    "eth.src",
    "eth.dst",
    "arp.opcode",
    "arp.src.hw_mac",
    "arp.src.proto_ipv4",
    "arp.dst.hw_mac",
    "arp.dst.proto_ipv4",
    "ip.src",
    "ip.dst",
    "ip.ttl",
    "ip.id",
    "ip.flags.df",
    "ipv6.src",
    "ipv6.dst",
    "ipv6.hlim",
    "tcp.srcport",
    "tcp.dstport",
    "tcp.seq_raw",
    "tcp.ack_raw",
    "tcp.flags",
    "tcp.window_size_value",
    "tcp.len",
    "tcp.hdr_len",
    "tcp.options.mss_val",
    "udp.srcport",
    "udp.dstport",
    "udp.length",
    "icmp.type",
    "icmpv6.type",
    "icmpv6.nd.ns.target_address",
];

/// What tshark should decode for `p` in the columns of [`FIELDS`]: the
/// simulator's own fields. An ICMP error's transport columns are the
/// quoted datagram's, checked by the tests of errors instead.
fn expected(p: &Packet) -> Vec<(&'static str, String)> {
    let mut e: Vec<(&'static str, String)> = vec![
        ("eth.src", p.src_mac.to_string()),
        ("eth.dst", p.dst_mac.to_string()),
    ];
    let ip = match p.body {
        Body::Arp(a) => {
            let op = match a.op {
                ArpOp::Request => "1",
                ArpOp::Reply => "2",
            };
            e.extend([
                ("arp.opcode", op.to_string()),
                ("arp.src.hw_mac", a.sender_mac.to_string()),
                ("arp.src.proto_ipv4", a.sender_ip.to_string()),
                ("arp.dst.hw_mac", a.target_mac.to_string()),
                ("arp.dst.proto_ipv4", a.target_ip.to_string()),
            ]);
            return e;
        }
        Body::Ip(ip) => ip,
    };
    if ip.is_v6() {
        e.extend([
            ("ipv6.src", ip.src.to_string()),
            ("ipv6.dst", ip.dst.to_string()),
            ("ipv6.hlim", ip.ttl.to_string()),
        ]);
    } else {
        let df = matches!(
            ip.l4,
            L4::Tcp(_) | L4::Udp(_) | L4::Icmp(Icmp::EchoRequest { .. })
        );
        e.extend([
            ("ip.src", ip.src.to_string()),
            ("ip.dst", ip.dst.to_string()),
            ("ip.ttl", ip.ttl.to_string()),
            ("ip.id", format!("0x{:04x}", p.id & 0xffff)),
            ("ip.flags.df", u8::from(df).to_string()),
        ]);
    }
    match ip.l4 {
        L4::Tcp(t) => {
            e.extend([
                ("tcp.srcport", t.src_port.to_string()),
                ("tcp.dstport", t.dst_port.to_string()),
                ("tcp.seq_raw", t.seq.to_string()),
                ("tcp.ack_raw", t.ack.to_string()),
                ("tcp.flags", format!("0x{:04x}", t.flags)),
                ("tcp.window_size_value", t.window.to_string()),
                ("tcp.len", t.payload_len.to_string()),
                ("tcp.hdr_len", (20 + t.options_len()).to_string()),
            ]);
            if let Some(mss) = t.mss {
                e.push(("tcp.options.mss_val", mss.to_string()));
            }
        }
        L4::Udp(u) => e.extend([
            ("udp.srcport", u.src_port.to_string()),
            ("udp.dstport", u.dst_port.to_string()),
            ("udp.length", (8 + u.payload_len).to_string()),
        ]),
        L4::Icmp(i) => {
            let (kind, _) = i.type_code(ip.is_v6());
            let column = if ip.is_v6() {
                "icmpv6.type"
            } else {
                "icmp.type"
            };
            e.push((column, kind.to_string()));
            if let Icmp::NeighborSolicit { target, .. } = i {
                e.push(("icmpv6.nd.ns.target_address", target.to_string()));
            }
        }
        L4::Ospf(o) => e.extend([
            ("ospf.msg", o.kind.to_string()),
            ("ospf.packet_length", o.len.to_string()),
        ]),
    }
    e
}

/// Frames that are ICMP errors (whose transport columns are quoted).
fn is_icmp_error(p: &Packet) -> bool {
    matches!(p.ip().map(|ip| ip.l4), Some(L4::Icmp(i)) if i.is_error())
}

impl Capture {
    /// tshark decodes, for every frame, the fields the simulator sent.
    fn assert_fields_match(&self) {
        let rows = self.rows_first("", &FIELDS);
        assert_eq!(rows.len(), self.frames.len());
        for (n, (row, f)) in rows.iter().zip(&self.frames).enumerate() {
            let mut want = expected(&f.packet);
            if self.net.segments[f.segment].link.framing == Framing::Ppp {
                // No Ethernet header on a PPP link.
                want.retain(|(k, _)| !k.starts_with("eth."));
            }
            for (col, name) in FIELDS.iter().enumerate() {
                let transport = ["tcp.", "udp."].iter().any(|t| name.starts_with(t));
                if transport && is_icmp_error(&f.packet) {
                    continue;
                }
                let value = want
                    .iter()
                    .find(|(k, _)| k == name)
                    .map_or("", |(_, v)| v.as_str());
                assert_eq!(
                    row[col],
                    value,
                    "frame {} ({}): {name}\n{}",
                    n + 1,
                    f.packet,
                    self.summary()
                );
            }
        }
    }

    fn rows_first(&self, filter: &str, fields: &[&str]) -> Vec<Vec<String>> {
        let mut args = vec!["-T", "fields", "-E", "separator=|", "-E", "occurrence=f"];
        if !filter.is_empty() {
            args.extend(["-Y", filter]);
        }
        for f in fields {
            args.extend(["-e", f]);
        }
        self.tshark(&args)
            .lines()
            .map(|l| l.split('|').map(str::to_owned).collect())
            .collect()
    }

    /// The frames the simulator sent that satisfy `pick`.
    fn sent(&self, pick: impl Fn(&Packet) -> bool) -> Vec<&CapturedFrame> {
        self.frames.iter().filter(|f| pick(&f.packet)).collect()
    }

    fn segment_name(&self, f: &CapturedFrame) -> &str {
        &self.net.segments[f.segment].name
    }
}

impl Capture {
    /// The frames of one network alone, in a file of their own, so that
    /// tshark's TCP analysis sees each segment once (in the whole capture
    /// it sees a segment once per network it crosses, and calls the later
    /// copies retransmissions).
    fn on_network(&self, name: &str) -> Capture {
        let file = self.file.with_extension(format!("{name}.pcapng"));
        let filter = format!("frame.interface_name == \"{name}\"");
        let out = file.to_str().expect("a UTF-8 path");
        self.tshark(&["-Y", &filter, "-w", out]);
        let frames = self
            .frames
            .iter()
            .filter(|f| self.net.segments[f.segment].name == name)
            .cloned()
            .collect();
        Capture {
            file,
            frames,
            net: self.net.clone(),
        }
    }

    /// No warning from tshark's analysis on any single network.
    fn assert_no_warnings_per_network(&self) {
        for seg in &self.net.segments {
            let one = self.on_network(&seg.name);
            let warned = one.rows(
                "_ws.expert.severity >= warning",
                &["frame.number", "_ws.col.Info", "_ws.expert.message"],
            );
            assert!(warned.is_empty(), "{}: {warned:#?}", one.file.display());
        }
    }
}

fn tcp_of(p: &Packet) -> Option<Tcp> {
    match p.ip()?.l4 {
        L4::Tcp(t) => Some(t),
        _ => None,
    }
}

/// Runs `check`, asserts the capture is clean and decodes as sent.
fn clean_capture(test: &str, check: &str) -> Option<Capture> {
    if !tshark_present(test) {
        return None;
    }
    let c = Capture::run(test, check);
    c.assert_clean();
    c.assert_fields_match();
    Some(c)
}

#[test]
fn ipv4_tcp_handshake_across_two_routers() {
    let Some(c) = clean_capture("ipv4-tcp", "web") else {
        return;
    };
    c.assert_no_warnings_per_network();
    // The SYN leaves the client with TTL 64 and loses one per router.
    let syns = c.sent(|p| tcp_of(p).is_some_and(|t| t.flags == tcp_flags::SYN));
    let hops: Vec<(&str, u8)> = syns
        .iter()
        .map(|f| (c.segment_name(f), f.packet.ip().unwrap().ttl))
        .collect();
    assert_eq!(hops, [("a", 64), ("b", 63), ("c", 62)]);
    let rows = c.rows(
        "tcp.flags == 0x002",
        &["frame.interface_name", "ip.ttl", "tcp.options.mss_val"],
    );
    assert_eq!(
        rows,
        [
            ["a", "64", "1460"],
            ["b", "63", "1460"],
            ["c", "62", "1460"]
        ]
    );
    // Who-has for the gateway, then for each next hop.
    let who_has = c.rows(
        "arp.opcode == 1",
        &[
            "frame.interface_name",
            "arp.src.proto_ipv4",
            "arp.dst.proto_ipv4",
        ],
    );
    assert_eq!(
        who_has,
        [
            ["a", "10.0.1.10", "10.0.1.1"],
            ["b", "10.0.2.1", "10.0.2.2"],
            ["c", "10.0.3.1", "10.0.3.10"]
        ]
    );
    // One conversation, from the client's port to 80.
    let port = tcp_of(&syns[0].packet).unwrap().src_port;
    let conv = c.tshark(&["-q", "-z", "conv,tcp"]);
    let line = format!("10.0.1.10:{port}");
    let listed: Vec<&str> = conv.lines().filter(|l| l.contains("<->")).collect();
    assert_eq!(listed.len(), 1, "{conv}");
    assert!(
        listed[0].starts_with(&line) && listed[0].contains("10.0.3.10:80"),
        "{conv}"
    );
    // The handshake and the close, as the client's network saw them.
    let flags = c.rows(
        "frame.interface_name == \"a\" && tcp",
        &["tcp.flags.str", "tcp.seq", "tcp.ack", "tcp.len"],
    );
    let seen: Vec<String> = flags.iter().map(|r| r.join(" ")).collect();
    assert_eq!(
        seen,
        [
            "··········S· 0 0 0",
            "·······A··S· 0 1 0",
            "·······A···· 1 1 0",
            "·······AP··· 1 1 32",
            "·······A···F 33 1 0",
            "·······A···· 1 33 0",
            "·······A···F 1 34 0",
            "·······A···· 34 2 0",
        ],
        "{}",
        c.summary()
    );
}

#[test]
fn ipv6_tcp_handshake_with_neighbour_discovery() {
    let Some(c) = clean_capture("ipv6-tcp", "web6") else {
        return;
    };
    c.assert_no_warnings_per_network();
    let ns = c.rows(
        "icmpv6.type == 135",
        &[
            "eth.dst",
            "ipv6.dst",
            "ipv6.hlim",
            "icmpv6.nd.ns.target_address",
            "icmpv6.opt.linkaddr",
        ],
    );
    assert_eq!(ns.len(), 3, "{}", c.summary());
    assert_eq!(
        ns[0],
        [
            "33:33:ff:00:00:01",
            "ff02::1:ff00:1",
            "255",
            "2001:db8:1::1",
            "02:00:00:00:00:05"
        ]
    );
    let na = c.rows(
        "icmpv6.type == 136",
        &[
            "ipv6.src",
            "ipv6.dst",
            "icmpv6.nd.na.target_address",
            "icmpv6.opt.linkaddr",
            "icmpv6.nd.na.flag.s",
            "icmpv6.nd.na.flag.o",
            "icmpv6.nd.na.flag.r",
        ],
    );
    // The router's advertisement has R set (RFC 4861 §4.4); a host's not.
    assert_eq!(
        na[0],
        [
            "2001:db8:1::1",
            "2001:db8:1::10",
            "2001:db8:1::1",
            "02:00:00:00:00:01",
            "1",
            "1",
            "1"
        ]
    );
    assert!(
        na.iter().any(|row| row[6] == "0"),
        "a host answered too: {na:?}"
    );
    let syns = c.rows(
        "tcp.flags == 0x002",
        &["frame.interface_name", "ipv6.hlim", "tcp.options.mss_val"],
    );
    assert_eq!(
        syns,
        [
            ["a", "64", "1460"],
            ["b", "63", "1460"],
            ["c", "62", "1460"]
        ]
    );
    let synack = c.rows(
        "tcp.flags == 0x012",
        &["ipv6.src", "tcp.srcport", "tcp.options.mss_val"],
    );
    assert_eq!(synack[0], ["2001:db8:3::10", "80", "1460"]);
    let conv = c.tshark(&["-q", "-z", "conv,tcp"]);
    let listed: Vec<&str> = conv.lines().filter(|l| l.contains("<->")).collect();
    assert_eq!(listed.len(), 1, "{conv}");
    assert!(
        listed[0].starts_with("2001:db8:1::10:") && listed[0].contains("2001:db8:3::10:80"),
        "{conv}"
    );
}

#[test]
fn a_refused_tcp_port_answers_with_a_reset() {
    let Some(c) = clean_capture("refused-tcp", "closed tcp") else {
        return;
    };
    let rst = c.rows(
        "tcp.flags.reset == 1",
        &[
            "frame.interface_name",
            "ip.src",
            "tcp.srcport",
            "tcp.flags.ack",
            "tcp.ack",
        ],
    );
    assert_eq!(rst[0], ["c", "10.0.3.10", "81", "1", "1"]);
    assert_eq!(rst.len(), 3, "one per network on the way back");
}

/// The client's port of the capture's first UDP datagram.
fn udp_src_port(c: &Capture) -> u16 {
    c.frames
        .iter()
        .find_map(|f| match f.packet.ip()?.l4 {
            L4::Udp(u) => Some(u.src_port),
            _ => None,
        })
        .expect("a UDP datagram")
}

#[test]
fn a_refused_udp_port_answers_with_icmp_quoting_the_ports() {
    let Some(c) = clean_capture("refused-udp", "closed udp") else {
        return;
    };
    let port = udp_src_port(&c).to_string();
    // Outer header, then the quoted datagram's (occurrence=a joins them).
    let rows = c.rows(
        "icmp.type == 3",
        &[
            "frame.interface_name",
            "icmp.code",
            "ip.src",
            "ip.dst",
            "udp.srcport",
            "udp.dstport",
        ],
    );
    assert_eq!(rows.len(), 3);
    assert_eq!(
        rows[0],
        [
            "c",
            "3",
            "10.0.3.10,10.0.1.10",
            "10.0.1.10,10.0.3.10",
            port.as_str(),
            "5001"
        ]
    );
    // The quoted header is the datagram as the server received it: two
    // routers took its TTL from 64 to 62; its identification, lengths and
    // UDP checksum are the ones the client sent.
    let quoted = c.rows(
        "icmp.type == 3",
        &["ip.ttl", "ip.id", "ip.len", "udp.length", "udp.checksum"],
    );
    let sent = c.rows(
        "udp && !icmp",
        &["ip.id", "ip.len", "udp.length", "udp.checksum"],
    );
    // IP fields occur twice (outer, quoted: the second is ours); the UDP
    // fields only in the quote.
    let q: Vec<&str> = quoted[0]
        .iter()
        .map(|f| f.split(',').next_back().unwrap_or(""))
        .collect();
    assert_eq!(q[0], "62", "{quoted:?}");
    assert_eq!(
        &q[1..],
        &sent[0].iter().map(String::as_str).collect::<Vec<_>>()[..],
        "{quoted:?} {sent:?}"
    );
}

#[test]
fn a_refused_udp_port_over_ipv6_answers_with_icmpv6_quoting_the_ports() {
    let Some(c) = clean_capture("refused-udp6", "closed udp6") else {
        return;
    };
    let port = udp_src_port(&c).to_string();
    let rows = c.rows(
        "icmpv6.type == 1",
        &[
            "frame.interface_name",
            "icmpv6.code",
            "ipv6.src",
            "ipv6.dst",
            "udp.srcport",
            "udp.dstport",
        ],
    );
    assert_eq!(rows.len(), 3);
    assert_eq!(
        rows[2],
        [
            "a",
            "4",
            "2001:db8:3::10,2001:db8:1::10",
            "2001:db8:1::10,2001:db8:3::10",
            port.as_str(),
            "5001"
        ]
    );
}

#[test]
fn udp_and_ping_in_both_families() {
    for (test, check) in [("udp", "udp"), ("ping", "ping"), ("ping6", "ping6")] {
        let Some(c) = clean_capture(test, check) else {
            return;
        };
        if check.starts_with("ping") {
            let replies = c.rows(
                "icmp.type == 0 || icmpv6.type == 129",
                &["frame.interface_name"],
            );
            assert_eq!(v(&replies, 0), ["c", "b", "a"], "{check}");
        }
    }
}

#[test]
fn a_flow_dropped_by_a_nacl_never_reaches_its_network() {
    let Some(c) = clean_capture("nacl-drop", "ssh") else {
        return;
    };
    // The SYN crosses a and b, r2's NACL on c drops it; the client tries
    // again after 1 s and 2 s more.
    let syns = c.rows(
        "tcp.dstport == 22",
        &["frame.interface_name", "frame.time_epoch"],
    );
    assert_eq!(v(&syns, 0), ["a", "b", "a", "b", "a", "b"]);
    assert_eq!(syns[2][1], "1.000000000");
    assert_eq!(syns[4][1], "3.000000000");
    assert!(c
        .rows("frame.interface_name == \"c\"", &["frame.number"])
        .is_empty());
}

#[test]
fn a_routing_loop_ends_in_time_exceeded() {
    for (test, check, ttl, error) in [
        ("loop", "loop", "ip.ttl", "icmp.type == 11"),
        ("loop6", "loop6", "ipv6.hlim", "icmpv6.type == 3"),
    ] {
        let Some(c) = clean_capture(test, check) else {
            return;
        };
        let requests = c.rows(
            "(icmp.type == 8 || icmpv6.type == 128) && !(icmp.type == 11 || icmpv6.type == 3)",
            &[ttl],
        );
        let ttls: Vec<u32> = requests.iter().map(|r| r[0].parse().unwrap()).collect();
        assert_eq!(ttls, (1..=64).rev().collect::<Vec<_>>(), "{check}");
        // The router that got it with one hop left reports it, quoting
        // the request: its addresses, TTL 1 and echo identifier.
        let errors = c.rows(error, &[ttl, "frame.interface_name"]);
        assert_eq!(v(&errors, 0), ["64,1", "63,1"], "{check}");
        assert_eq!(v(&errors, 1), ["b", "a"], "{check}");
    }
}

#[test]
fn the_same_run_gives_the_same_file() {
    if !tshark_present("determinism") {
        return;
    }
    let a = Capture::run("same-a", "web6");
    let b = Capture::run("same-b", "web6");
    assert_eq!(
        std::fs::read(&a.file).unwrap(),
        std::fs::read(&b.file).unwrap()
    );
}

fn v(rows: &[Vec<String>], col: usize) -> Vec<&str> {
    rows.iter().map(|r| r[col].as_str()).collect()
}

#[test]
fn the_clean_check_catches_a_bad_checksum() {
    if !tshark_present("bad-checksum") {
        return;
    }
    // A capture of the IPv4 handshake with one bit of the first SYN's
    // checksum flipped must fail `assert_clean`: the check itself works.
    let c = Capture::run("bad-checksum", "web");
    let mut bytes = std::fs::read(&c.file).unwrap();
    let mss = [2, 4, 0x05, 0xb4];
    let at = bytes
        .windows(4)
        .position(|w| w == mss)
        .expect("a SYN's MSS option");
    // The checksum sits 4 bytes before the options (then the urgent pointer).
    bytes[at - 4] ^= 0x01;
    std::fs::write(&c.file, bytes).unwrap();
    let caught = std::panic::catch_unwind(|| c.assert_clean());
    assert!(caught.is_err(), "a corrupted checksum went unnoticed");
}

/// Frames the simulator does not send yet (every TCP option, every ICMP
/// error of both families), built by hand on a one-network lab.
fn hand_built_capture(test: &str) -> Capture {
    let lab = wirelab_spec::parse_str(
        "one.yaml",
        "lab: one\nnetworks:\n  n: { cidr: 10.0.0.0/24, ipv6: \"2001:db8::/64\" }\nhosts:\n  h: { network: n, ip: 10.0.0.10, ipv6: \"2001:db8::10\" }\n",
    )
    .unwrap_or_else(|d| panic!("{d:#?}"))
    .lab;
    let net = Network::compile(&lab);
    let (a, b) = (Mac([2, 0, 0, 0, 0, 1]), Mac([2, 0, 0, 0, 0, 2]));
    let (v4a, v4b): (IpAddr, IpAddr) = ("10.0.0.10".parse().unwrap(), "10.0.0.20".parse().unwrap());
    let (v6a, v6b): (IpAddr, IpAddr) = (
        "2001:db8::10".parse().unwrap(),
        "2001:db8::20".parse().unwrap(),
    );
    let syn = Tcp {
        mss: Some(1460),
        sack_permitted: true,
        timestamps: Some((1, 0)),
        wscale: Some(7),
        ..Tcp::plain(40000, 443, 100, 0, tcp_flags::SYN, 64240)
    };
    let sack = Tcp {
        timestamps: Some((2, 1)),
        sack: [(1000, 2000), (3000, 4000), (5000, 6000)],
        sack_len: 3,
        payload_len: 100,
        ..Tcp::plain(40000, 443, 101, 1, tcp_flags::ACK | tcp_flags::PSH, 501)
    };
    let lone = Tcp {
        sack_permitted: true,
        wscale: Some(0),
        ..Tcp::plain(443, 40000, 7, 101, tcp_flags::SYN | tcp_flags::ACK, 65535)
    };
    let quoted = |src: IpAddr, dst, proto, src_port, dst_port| Quoted {
        src,
        dst,
        proto,
        src_port,
        dst_port,
        ttl: 61,
        total_len: if src.is_ipv6() { 80 } else { 60 },
        id: 3,
        word: 1000,
    };
    let l4s: Vec<(IpAddr, IpAddr, L4)> = vec![
        (v4a, v4b, L4::Tcp(syn)),
        (v6a, v6b, L4::Tcp(syn)),
        (v6a, v6b, L4::Tcp(sack)),
        (v4b, v4a, L4::Tcp(lone)),
        (
            v4b,
            v4a,
            L4::Icmp(Icmp::Unreachable {
                why: Unreachable::Net,
                quoted: quoted(v4a, v4b, 6, 40000, 443),
            }),
        ),
        (
            v4b,
            v4a,
            L4::Icmp(Icmp::Unreachable {
                why: Unreachable::Host,
                quoted: quoted(v4a, v4b, 1, 77, 77),
            }),
        ),
        (
            v6b,
            v6a,
            L4::Icmp(Icmp::TimeExceeded {
                quoted: quoted(v6a, v6b, 6, 40000, 443),
            }),
        ),
        (
            v6b,
            v6a,
            L4::Icmp(Icmp::Unreachable {
                why: Unreachable::Host,
                quoted: quoted(v6a, v6b, 58, 77, 77),
            }),
        ),
        (
            v6b,
            v6a,
            L4::Icmp(Icmp::Unreachable {
                why: Unreachable::Net,
                quoted: quoted(v6a, v6b, 17, 5353, 53),
            }),
        ),
        (
            v4b,
            v4a,
            L4::Icmp(Icmp::TooBig {
                mtu: 1400,
                quoted: quoted(v4a, v4b, 17, 5353, 53),
            }),
        ),
        (
            v6b,
            v6a,
            L4::Icmp(Icmp::TooBig {
                mtu: 1280,
                quoted: quoted(v6a, v6b, 6, 40000, 443),
            }),
        ),
        (
            v6b,
            v6a,
            L4::Icmp(Icmp::NeighborAdvert {
                target: "2001:db8::20".parse().unwrap(),
                target_mac: b,
                router: false,
            }),
        ),
        (
            v4a,
            v4b,
            L4::Icmp(Icmp::EchoReply {
                id: 9,
                seq: 3,
                payload_len: 0,
            }),
        ),
    ];
    let frames: Vec<CapturedFrame> = l4s
        .into_iter()
        .enumerate()
        .map(|(i, (src, dst, l4))| CapturedFrame {
            time: SimTime(1_000 * i as u64 + 7),
            segment: 0,
            iface: 0,
            packet: Packet {
                src_mac: a,
                dst_mac: b,
                body: Body::Ip(Ip {
                    src,
                    dst,
                    ttl: 64,
                    l4,
                }),
                tag: 0,
                id: i as u32 + 1,
            },
            payload: None,
        })
        .collect();
    Capture::written(test, net, frames)
}

#[test]
fn every_tcp_option_and_icmp_error_decodes_cleanly() {
    if !tshark_present("hand-built") {
        return;
    }
    let c = hand_built_capture("hand-built");
    c.assert_clean();
    c.assert_fields_match();
    let opts = c.rows(
        "tcp && !icmp && !icmpv6",
        &[
            "tcp.options.mss_val",
            "tcp.options.sack_perm",
            "tcp.options.timestamp.tsval",
            "tcp.options.wscale.shift",
            "tcp.options.sack.count",
        ],
    );
    assert_eq!(
        opts,
        [
            ["1460", "0402", "1", "7", ""],
            ["1460", "0402", "1", "7", ""],
            ["", "", "2", "", "3"],
            ["", "0402", "", "0", ""],
        ]
    );
    let errors = c.rows(
        "icmp.type == 3 || icmpv6.type == 1 || icmpv6.type == 3",
        &[
            "icmp.code",
            "icmpv6.type",
            "icmpv6.code",
            "tcp.srcport",
            "udp.dstport",
        ],
    );
    assert_eq!(
        errors,
        [
            ["0", "", "", "40000", ""],
            // The quoted echo request decodes as one (code 0, type 128).
            ["1,0", "", "", "", ""],
            ["", "3", "0", "40000", ""],
            ["", "1,128", "3,0", "", ""],
            ["", "1", "0", "", "53"],
            ["4", "", "", "", "53"],
        ]
    );
    let too_big = c.rows(
        "(icmp.type == 3 && icmp.code == 4) || icmpv6.type == 2",
        &["icmp.mtu", "icmpv6.mtu", "udp.dstport", "tcp.dstport"],
    );
    assert_eq!(too_big, [["1400", "", "53", ""], ["", "1280", "", "443"]]);
}

/// A check's UDP probe of port 53 carries a real DNS query (`. NS`), so
/// the capture is clean and tshark decodes it.
#[test]
fn a_udp_probe_to_port_53_is_a_dns_query() {
    let Some(c) = clean_capture("dns", "dns") else {
        return;
    };
    let queries = c.rows(
        "dns",
        &[
            "dns.flags.response",
            "dns.qry.name",
            "dns.qry.type",
            "udp.dstport",
        ],
    );
    // Sent once (seen on each of the three networks), delivered: the
    // server has no DNS application to answer it.
    assert_eq!(
        queries,
        vec![vec!["0", "<Root>", "2", "53"]; 3],
        "{}",
        c.summary()
    );
}

impl Capture {
    /// Captures a lookup of `name`/`qtype` by `host`'s stub in the lab at
    /// `path`, until a second after it ended.
    fn lookup(test: &str, net: Network, host: &str, name: &str, qtype: &str) -> Capture {
        use wirelab_dns::proto::rr::{Name, RecordType};
        let host = net
            .lab
            .hosts
            .iter()
            .position(|h| h.name.value == host)
            .unwrap_or_else(|| panic!("no host {host}"));
        let frames = {
            let mut sim = Sim::new(&net, 7, TraceLevel::Full);
            sim.set_capture(true);
            let qtype: RecordType = qtype.parse().unwrap();
            let id = sim.start_lookup(host, Name::from_ascii(name).unwrap(), qtype);
            sim.run_while(SimTime::from_secs(60), |s| {
                s.lookups()[id].outcome.is_some()
            });
            assert!(sim.lookups()[id].outcome.is_some(), "the lookup ended");
            let done = sim.now();
            sim.run_until(done + SimTime::from_secs(1));
            sim.captured().to_vec()
        };
        Capture::written(test, net, frames)
    }
}

/// The whole walk of lab 07 — stub to resolver, resolver to the root, to
/// `com.`, to `example.com.` and back — is real DNS that tshark decodes.
#[test]
fn a_resolvers_walk_from_the_root_is_real_dns() {
    if !tshark_present("dns-walk") {
        return;
    }
    let path = Path::new("../../labs/07-what-happens-when-you-type-a-url.yaml");
    let lab = wirelab_spec::load(path)
        .unwrap_or_else(|d| panic!("{d:#?}"))
        .lab;
    let c = Capture::lookup(
        "dns-walk",
        Network::compile(&lab),
        "laptop",
        "shop.example.com.",
        "A",
    );
    c.assert_clean();
    c.assert_fields_match();
    let rows = c.rows(
        "dns",
        &[
            "ip.src",
            "ip.dst",
            "dns.flags.response",
            "dns.flags.authoritative",
            "dns.qry.name",
            "dns.a",
        ],
    );
    let row = |src: &str, dst: &str, response: &str| {
        rows.iter()
            .find(|r| r[0] == src && r[1] == dst && r[2] == response)
            .unwrap_or_else(|| panic!("no DNS {src} > {dst} response={response} in {rows:#?}"))
    };
    // The stub's question and the resolver's answer, with the address.
    assert_eq!(
        row("192.168.1.10", "100.64.0.53", "0")[4],
        "shop.example.com"
    );
    assert_eq!(row("100.64.0.53", "192.168.1.10", "1")[5], "203.0.113.80");
    // Referrals from the root and `com.` are not authoritative; the
    // answer of example.com's server is.
    assert_eq!(row("198.41.0.4", "100.64.0.53", "1")[3], "0");
    assert_eq!(row("192.5.6.30", "100.64.0.53", "1")[3], "0");
    let ns1 = row("203.0.113.53", "100.64.0.53", "1");
    assert_eq!((ns1[3].as_str(), ns1[5].as_str()), ("1", "203.0.113.80"));
}

/// An answer too large for UDP: the truncated answer, then the same
/// question over TCP with its two-byte length; every segment decodes.
#[test]
fn dns_over_tcp_after_a_truncated_answer_is_real_dns() {
    if !tshark_present("dns-tcp") {
        return;
    }
    let big: String = (0..10)
        .map(|i| {
            format!(
                "        - {{ name: big, type: TXT, value: '\"{}\"' }}\n",
                i.to_string().repeat(190)
            )
        })
        .collect();
    let yaml = format!(
        r#"
lab: dns-tcp
networks:
  home: {{ cidr: 10.0.1.0/24 }}
  dc: {{ cidr: 10.0.3.0/24 }}
routers:
  r: {{ interfaces: {{ home: 10.0.1.1, dc: 10.0.3.1 }} }}
hosts:
  client: {{ network: home, ip: 10.0.1.10, resolver: resolver }}
  resolver: {{ network: home, ip: 10.0.1.53, services: [{{ port: 53, proto: udp, app: resolver }}] }}
  ns1: {{ network: dc, ip: 10.0.3.53, services: [{{ port: 53, proto: udp, app: dns }}] }}
dns:
  zones:
    - name: example.com
      servers: [ns1]
      records:
{big}"#
    );
    let lab = wirelab_spec::parse_str("dns-tcp.yaml", &yaml)
        .unwrap_or_else(|d| panic!("{d:#?}"))
        .lab;
    let c = Capture::lookup(
        "dns-tcp",
        Network::compile(&lab),
        "client",
        "big.example.com.",
        "TXT",
    );
    c.assert_clean();
    c.assert_fields_match();
    let truncated = c.rows("udp && dns.flags.truncated == 1", &["ip.src"]);
    // ns1's answer is seen on both networks it crosses, the resolver's
    // on the client's.
    assert_eq!(
        v(&truncated, 0),
        ["10.0.3.53", "10.0.3.53", "10.0.1.53"],
        "{}",
        c.summary()
    );
    let over_tcp = c.rows(
        "tcp && dns.flags.response == 1",
        &["ip.src", "dns.count.answers"],
    );
    assert_eq!(
        over_tcp,
        vec![vec!["10.0.3.53", "10"], vec!["10.0.1.53", "10"]],
        "{}",
        c.summary()
    );
}

impl Capture {
    /// Captures one HTTP(S) request of the lab at `path`, until a second
    /// after it ended.
    fn http(test: &str, net: Network, host: &str, port: u16, https: bool, path: &str) -> Capture {
        use wirelab_sim::http_apps::Speech;
        let from = net
            .lab
            .hosts
            .iter()
            .position(|h| h.name.value == host)
            .unwrap();
        let server = &net.lab.hosts[net
            .lab
            .hosts
            .iter()
            .position(|h| h.name.value == "nginx")
            .unwrap()];
        let dst = IpAddr::V4(server.ipv4.unwrap());
        let frames = {
            let mut sim = Sim::new(&net, 7, TraceLevel::Full);
            sim.set_capture(true);
            let speech = if https {
                Speech::Https(wirelab_spec::TlsVersion::V1_3)
            } else {
                Speech::Http
            };
            let id = sim.start_http(from, dst, port, speech, "shop.example.com", path);
            sim.run_while(SimTime::from_secs(30), |s| {
                s.http_exchange(id).result.is_some()
            });
            assert!(
                matches!(sim.http_exchange(id).result, Some(Ok(_))),
                "{:?}",
                sim.http_exchange(id).result
            );
            let done = sim.now();
            sim.run_until(done + SimTime::from_secs(1));
            sim.captured().to_vec()
        };
        Capture::written(test, net, frames)
    }
}

/// An HTTP request through a proxy chain and an HTTPS one: every frame
/// clean, tshark sees the HTTP request and response it should.
#[test]
fn http_and_https_exchanges_decode_cleanly() {
    if !tshark_present("http") {
        return;
    }
    let lab = wirelab_spec::load(Path::new("../../labs/10-https-three-tier.yaml"))
        .unwrap_or_else(|d| panic!("{d:#?}"))
        .lab;
    let net = Network::compile(&lab);
    let c = Capture::http("http", net.clone(), "laptop", 80, false, "/");
    c.assert_clean();
    c.assert_fields_match();
    // curl's request and the server's answer, as tshark's HTTP dissector
    // reads them (once: the copy on the second network is, to tshark, a
    // retransmission).
    let requests = c.rows(
        "http.request",
        &["http.request.method", "http.host", "http.user_agent"],
    );
    assert_eq!(
        requests,
        vec![vec!["GET", "shop.example.com", "curl/8.5.0"]],
        "{}",
        c.summary()
    );
    let responses = c.rows(
        "http.response",
        &[
            "http.response.code",
            "http.content_length",
            "http.file_data",
        ],
    );
    assert_eq!(responses.len(), 1, "{}", c.summary());
    assert_eq!(responses[0][0], "301");
    assert_eq!(responses[0][1], "25");
    // Through the proxy chain the HTTPS request's hop from nginx to app
    // is plain HTTP, whose 200 carries app's answer (db's 512 bytes).
    let c = Capture::http("https", net, "laptop", 443, true, "/");
    c.assert_clean();
    let inner = c.rows(
        "http.response",
        &["ip.src", "http.response.code", "http.content_length"],
    );
    assert!(
        inner.contains(&vec!["10.0.2.10".to_string(), "200".into(), "512".into()]),
        "{inner:?}"
    );
}

// ----- PPP links ---------------------------------------------------------------

/// [`LAB`] with network `b` between the routers made a `links:` entry
/// with `framing: ppp` (network `r1-r2`, the same addresses).
fn ppp_lab() -> String {
    let mut text = LAB.to_string();
    for (from, to) in [
        (
            "  b: { cidr: 10.0.2.0/24, ipv6: \"2001:db8:2::/64\" }\n",
            "",
        ),
        ("      b: { ip: 10.0.2.1, ipv6: \"2001:db8:2::1\" }\n", ""),
        ("      b: { ip: 10.0.2.2, ipv6: \"2001:db8:2::2\" }\n", ""),
        (
            "routers:\n",
            "links:\n  - { between: [r1, r2], cidr: 10.0.2.0/30, ipv6: \"2001:db8:2::/64\", framing: ppp }\nrouters:\n",
        ),
    ] {
        assert!(text.contains(from), "LAB changed: {from}");
        text = text.replacen(from, to, 1);
    }
    text
}

#[test]
fn every_check_over_a_ppp_link_decodes_cleanly() {
    if !tshark_present("ppp-all") {
        return;
    }
    let text = ppp_lab();
    let names = [
        "web",
        "web6",
        "closed tcp",
        "closed udp",
        "closed udp6",
        "udp",
        "dns",
        "ping",
        "ping6",
        "ssh",
        "loop",
        "loop6",
    ];
    for (k, check) in names.iter().enumerate() {
        let c = Capture::run_lab(&format!("ppp-{k}"), &text, check);
        assert!(
            c.frames.iter().any(|f| c.segment_name(f) == "r1-r2"),
            "{check}: nothing crossed the PPP link"
        );
        c.assert_clean();
        c.assert_fields_match();
    }
}

#[test]
fn a_ppp_link_is_a_ppp_interface_without_arp_or_neighbour_discovery() {
    if !tshark_present("ppp-web") {
        return;
    }
    let text = ppp_lab();
    for (test, check, protocol) in [("ppp-web", "web", "0x0021"), ("ppp-web6", "web6", "0x0057")] {
        let c = Capture::run_lab(test, &text, check);
        c.assert_clean();
        c.assert_fields_match();
        c.assert_no_warnings_per_network();
        // Ethernet on the hosts' networks, PPP on the link, per interface.
        let encap: Vec<Vec<String>> = c.rows("", &["frame.interface_name", "frame.encap_type"]);
        for row in &encap {
            let want = if row[0] == "r1-r2" { "4" } else { "1" };
            assert_eq!(row[1], want, "{check}: {row:?} (1 Ethernet, 4 PPP)");
        }
        // Every frame on the link is an IP datagram behind the 2-byte
        // protocol field, sent by r1 or r2 without resolving anything.
        let on_link = c.rows(
            "frame.interface_name == \"r1-r2\"",
            &[
                "ppp.protocol",
                "frame.len",
                "ip.len",
                "ipv6.plen",
                "eth.src",
            ],
        );
        let sent = c
            .frames
            .iter()
            .filter(|f| c.segment_name(f) == "r1-r2")
            .count();
        assert_eq!(on_link.len(), sent);
        assert!(
            sent >= 8,
            "{check}: the handshake, data and close cross the link"
        );
        for row in &on_link {
            assert_eq!(row[0], protocol, "{check}: {row:?}");
            assert_eq!(row[4], "", "{check}: no Ethernet header on PPP");
            let ip_len: u32 = if row[2].is_empty() {
                40 + row[3].parse::<u32>().unwrap()
            } else {
                row[2].parse().unwrap()
            };
            assert_eq!(row[1], (ip_len + 2).to_string(), "{check}: {row:?}");
        }
        let resolving = c.rows(
            "frame.interface_name == \"r1-r2\" && (arp || icmpv6.type == 135 || icmpv6.type == 136)",
            &["frame.number"],
        );
        assert!(
            resolving.is_empty(),
            "{check}: {resolving:?}\n{}",
            c.summary()
        );
        // The hosts' networks still resolve their neighbours.
        let elsewhere = c.rows("arp || icmpv6.type == 135", &["frame.interface_name"]);
        let mut nets: Vec<&str> = elsewhere.iter().map(|r| r[0].as_str()).collect();
        nets.dedup();
        assert_eq!(nets, ["a", "c"], "{check}");
    }
}

/// [`ppp_lab`] with the client's network `a` (the client and `r1`, two
/// ends) point-to-point as well: the client's own frames are PPP.
fn ppp_access_lab() -> String {
    let text = ppp_lab();
    let from = "  a: { cidr: 10.0.1.0/24, ipv6: \"2001:db8:1::/64\" }\n";
    assert!(text.contains(from), "LAB changed: {from}");
    text.replacen(
        from,
        "  a: { cidr: 10.0.1.0/24, ipv6: \"2001:db8:1::/64\", link: { framing: ppp } }\n",
        1,
    )
}

#[test]
fn a_hosts_ppp_access_network_is_a_ppp_interface_without_resolution() {
    if !tshark_present("ppp-access") {
        return;
    }
    let text = ppp_access_lab();
    for (k, check) in ["web", "web6", "ping", "ping6", "dns", "closed tcp"]
        .iter()
        .enumerate()
    {
        let c = Capture::run_lab(&format!("ppp-access-{k}"), &text, check);
        c.assert_clean();
        c.assert_fields_match();
        assert!(
            c.frames.iter().any(|f| c.segment_name(f) == "a"),
            "{check}: nothing crossed the access network"
        );
        let encap: Vec<Vec<String>> = c.rows("", &["frame.interface_name", "frame.encap_type"]);
        for row in &encap {
            let want = if row[0] == "c" { "1" } else { "4" };
            assert_eq!(row[1], want, "{check}: {row:?} (1 Ethernet, 4 PPP)");
        }
        // Only the server's Ethernet network resolves neighbours.
        let resolving = c.rows(
            "arp || icmpv6.type == 135 || icmpv6.type == 136",
            &["frame.interface_name"],
        );
        assert!(
            resolving.iter().all(|r| r[0] == "c"),
            "{check}: {resolving:?}\n{}",
            c.summary()
        );
    }
}
