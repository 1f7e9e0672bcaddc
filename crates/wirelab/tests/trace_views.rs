//! The views of `wirelab trace`: the sequence diagram (text and Mermaid)
//! and the layers of every frame, checked against the steps of the same
//! trace.

use std::path::Path;
use std::process::{Command, Output};

fn wirelab(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_wirelab"))
        .args(args)
        .output()
        .expect("the binary runs")
}

fn fixture(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../crates/wirelab-spec/tests/fixtures/valid")
        .join(name)
        .to_string_lossy()
        .into_owned()
}

/// Runs `wirelab trace` on a fixture and returns its stdout; the exchange
/// must have been traced (exit 0).
fn trace(lab: &str, args: &[&str]) -> String {
    let lab = fixture(lab);
    let mut all = vec!["trace", lab.as_str()];
    all.extend_from_slice(args);
    let o = wirelab(&all);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{all:?}: {err}");
    String::from_utf8(o.stdout).expect("utf-8")
}

const APP_TO_DB: &[&str] = &["--from", "app1", "--to", "db1", "--port", "5432"];

// ----- reading a text diagram back -----------------------------------------

struct Diagram {
    /// Lifeline names and their columns, left to right.
    lifelines: Vec<(String, usize)>,
    rows: Vec<Vec<char>>,
}

impl Diagram {
    /// The diagram starts after the first blank line: a row of names,
    /// then rows that begin with a timestamp.
    fn parse(out: &str) -> Diagram {
        let mut lines = out.lines().skip_while(|l| !l.is_empty()).skip(1);
        let head: Vec<char> = lines.next().expect("a row of names").chars().collect();
        let mut lifelines = Vec::new();
        let mut k = 0;
        while k < head.len() {
            if head[k] == ' ' {
                k += 1;
                continue;
            }
            let start = k;
            while k < head.len() && head[k] != ' ' {
                k += 1;
            }
            let name: String = head[start..k].iter().collect();
            // Names are centred on their lifeline.
            lifelines.push((name.clone(), start + name.chars().count() / 2));
        }
        let rows = lines
            .take_while(|l| !l.is_empty())
            .map(|l| l.chars().collect())
            .collect();
        Diagram { lifelines, rows }
    }

    fn names(&self) -> Vec<&str> {
        self.lifelines.iter().map(|(n, _)| n.as_str()).collect()
    }

    fn at(&self, col: usize) -> Option<&str> {
        self.lifelines
            .iter()
            .find(|(_, c)| *c == col)
            .map(|(n, _)| n.as_str())
    }

    /// Every arrow: (label, from, to, dropped), in order.
    fn arrows(&self) -> Vec<(String, String, String, bool)> {
        let mut out = Vec::new();
        for row in &self.rows {
            let text: String = row.iter().collect();
            let (Some(tail), Some(head)) = (
                row.iter().position(|&c| c == '├' || c == '┤'),
                row.iter().position(|&c| c == '▶' || c == '◀' || c == '✗'),
            ) else {
                continue;
            };
            if row[head] == '✗' && !text.contains('─') {
                continue; // a drop mark, not an arrow
            }
            let rightward = row[tail] == '├';
            let (from, to) = if rightward {
                (tail, head + 1)
            } else {
                (tail, head - 1)
            };
            let (Some(from), Some(to)) = (self.at(from), self.at(to)) else {
                panic!("an arrow between no lifelines: {text}")
            };
            let lo = tail.min(head) + 1;
            let hi = tail.max(head);
            let label: String = row[lo..hi].iter().collect();
            let label = label.trim_matches(|c| c == '─' || c == ' ').to_string();
            out.push((label, from.to_string(), to.to_string(), row[head] == '✗'));
        }
        out
    }

    /// Words written on a lifeline: TCP states and drops, with the
    /// lifeline, in order.
    fn notes(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for row in &self.rows {
            let text: String = row.iter().collect();
            if text.contains('─') {
                continue;
            }
            for word in text.split_whitespace().skip(1) {
                if word == "│" {
                    continue;
                }
                let start = text.find(word).unwrap();
                let start = text[..start].chars().count();
                let len = word.chars().count();
                let owner = self
                    .lifelines
                    .iter()
                    .min_by_key(|(_, c)| (start + len / 2).abs_diff(*c))
                    .unwrap();
                out.push((word.to_string(), owner.0.clone()));
            }
        }
        out
    }
}

fn position(arrows: &[(String, String, String, bool)], label: &str, from: &str, to: &str) -> usize {
    arrows
        .iter()
        .position(|(l, f, t, _)| l.split(' ').next() == Some(label) && f == from && t == to)
        .unwrap_or_else(|| panic!("no {label} from {from} to {to} in {arrows:#?}"))
}

// ----- sequence diagram ------------------------------------------------------

#[test]
fn sequence_shows_the_handshake_data_and_close_in_order() {
    let out = trace(
        "three-tier.yaml",
        &[APP_TO_DB, &["--format", "sequence"]].concat(),
    );
    let d = Diagram::parse(&out);
    assert_eq!(d.names(), ["app1", "vpc", "db1"], "{out}");
    let arrows = d.arrows();
    // Every hop of the handshake, in order, with its endpoints.
    let steps = [
        ("SYN", "app1", "vpc"),
        ("SYN", "vpc", "db1"),
        ("SYN,ACK", "db1", "vpc"),
        ("SYN,ACK", "vpc", "app1"),
        ("ACK", "app1", "vpc"),
        ("PSH,ACK", "app1", "vpc"),
        ("FIN,ACK", "app1", "vpc"),
        ("FIN,ACK", "vpc", "db1"),
        ("FIN,ACK", "db1", "vpc"),
        ("FIN,ACK", "vpc", "app1"),
    ];
    let at: Vec<usize> = steps
        .iter()
        .map(|(l, f, t)| position(&arrows, l, f, t))
        .collect();
    assert!(at.windows(2).all(|w| w[0] < w[1]), "{at:?}\n{out}");
    // Relative numbers, as a textbook draws them.
    assert!(out.contains("SYN seq=0 "), "{out}");
    assert!(out.contains("SYN,ACK seq=0 ack=1"), "{out}");
    assert!(out.contains("PSH,ACK seq=1 ack=1 len=32"), "{out}");
    // ARP before the first SYN can leave, towards the gateway.
    let arp = position(&arrows, "ARP", "app1", "vpc");
    assert!(arp < at[0], "{out}");
    assert!(arrows.iter().all(|a| !a.3), "nothing dropped: {out}");
    // The inferred TCP states, on the right lifelines, in order.
    let notes = d.notes();
    let state_order = |who: &str| -> Vec<String> {
        notes
            .iter()
            .filter(|(_, n)| n == who)
            .map(|(w, _)| w.clone())
            .collect()
    };
    assert_eq!(
        state_order("app1"),
        [
            "CLOSED",
            "SYN-SENT",
            "ESTABLISHED",
            "FIN-WAIT-1",
            "FIN-WAIT-2",
            "TIME-WAIT"
        ],
        "{out}"
    );
    assert_eq!(
        state_order("db1"),
        [
            "LISTEN",
            "SYN-RECEIVED",
            "ESTABLISHED",
            "CLOSE-WAIT",
            "LAST-ACK",
            "CLOSED"
        ],
        "{out}"
    );
    assert!(out.contains("inferred"), "{out}");
    assert!(out.contains("result: allow"), "{out}");
}

#[test]
fn lifelines_follow_the_path_across_three_routers() {
    let out = trace(
        "routing.yaml",
        &[
            "--from", "h1", "--to", "h3", "--port", "80", "--format", "sequence", "--no-arp",
        ],
    );
    let d = Diagram::parse(&out);
    assert_eq!(d.names(), ["h1", "r1", "r2", "r3", "h3"], "{out}");
    let arrows = d.arrows();
    assert!(arrows.iter().all(|(l, ..)| !l.starts_with("ARP")), "{out}");
    let hops = ["h1", "r1", "r2", "r3", "h3"];
    let mut last = 0;
    for w in hops.windows(2) {
        let k = position(&arrows, "SYN", w[0], w[1]);
        assert!(k >= last, "{out}");
        last = k;
    }
    let back = position(&arrows, "SYN,ACK", "r1", "h1");
    assert!(back > last, "{out}");
}

#[test]
fn four_lifelines_fit_in_120_columns() {
    for (lab, args) in [
        ("three-tier.yaml", APP_TO_DB.to_vec()),
        (
            "routing.yaml",
            vec!["--from", "h1", "--to", "10.3.0.99", "--proto", "icmp"],
        ),
    ] {
        let out = trace(lab, &[args.as_slice(), &["--format", "sequence"]].concat());
        let d = Diagram::parse(&out);
        assert!(d.lifelines.len() <= 4, "{out}");
        for row in &d.rows {
            assert!(row.len() <= 120, "{} columns: {out}", row.len());
        }
    }
}

#[test]
fn a_denied_flow_shows_where_it_was_dropped() {
    let out = trace(
        "three-tier.yaml",
        &[
            "--from", "laptop", "--to", "db1", "--port", "5432", "--format", "sequence",
        ],
    );
    let d = Diagram::parse(&out);
    assert_eq!(d.names(), ["laptop", "vpc", "db1"], "{out}");
    let arrows = d.arrows();
    let syn = position(&arrows, "SYN", "laptop", "vpc");
    assert!(arrows[syn].3, "the SYN's arrow ends in ✗: {out}");
    assert!(
        !arrows.iter().any(|(_, _, to, _)| to == "db1"),
        "nothing reaches db1: {out}"
    );
    let notes = d.notes();
    let k = notes.iter().position(|(w, _)| w == "✗").expect("a drop");
    assert_eq!(notes[k].1, "vpc", "{out}");
    assert_eq!(notes[k + 1].0, "nacl-inbound", "{out}");

    let mermaid = trace(
        "three-tier.yaml",
        &[
            "--from", "laptop", "--to", "db1", "--port", "5432", "--format", "mermaid",
        ],
    );
    assert!(mermaid.contains("laptop--xvpc: "), "{mermaid}");
    assert!(
        mermaid.contains("Note over vpc: ✗ ") && mermaid.contains("dropped: nacl-inbound"),
        "{mermaid}"
    );
    // Dropped at the host by its security group: the last hop ends in ✗.
    let sg = trace(
        "three-tier.yaml",
        &[
            "--from", "laptop", "--to", "web1", "--port", "22", "--format", "mermaid",
        ],
    );
    assert!(sg.contains("vpc--xweb1: "), "{sg}");
    assert!(sg.contains("dropped: sg-inbound"), "{sg}");
}

// ----- Mermaid ---------------------------------------------------------------

/// Frames in the step-by-step JSON of the same trace: IP frames sent
/// (`transmit`), ARP requests (`resolve`) and ARP replies.
fn frames_in_json(lab: &str, args: &[&str]) -> (usize, usize) {
    let out = trace(lab, &[args, &["--format", "json"]].concat());
    let doc: serde_json::Value = serde_json::from_str(&out).expect("json");
    let steps = doc["steps"].as_array().expect("steps");
    let step = |s: &serde_json::Value| s["step"].as_str().unwrap_or_default().to_string();
    let ip = steps.iter().filter(|s| step(s) == "transmit").count();
    let arp = steps
        .iter()
        .filter(|s| {
            let p = s["packet"].as_str().unwrap_or_default();
            (step(s) == "resolve" || step(s) == "reply") && p.starts_with("arp ")
        })
        .count();
    (ip, arp)
}

fn mermaid_arrows(out: &str) -> usize {
    out.lines()
        .filter(|l| {
            let l = l.trim_start();
            !l.starts_with("%%")
                && !l.starts_with("Note")
                && (l.contains("->>") || l.contains("--x"))
        })
        .count()
}

#[test]
fn mermaid_declares_every_participant_once_and_draws_every_frame() {
    let out = trace(
        "three-tier.yaml",
        &[APP_TO_DB, &["--format", "mermaid"]].concat(),
    );
    assert!(out.starts_with("sequenceDiagram\n"), "{out}");
    let participants: Vec<&str> = out
        .lines()
        .filter_map(|l| l.trim_start().strip_prefix("participant "))
        .collect();
    assert_eq!(participants, ["app1", "vpc", "db1"], "{out}");
    // Every message is between declared participants.
    for l in out.lines().map(str::trim_start) {
        if let Some((ends, _)) = l.split_once(": ") {
            if let Some((a, b)) = ends.split_once("->>").or_else(|| ends.split_once("--x")) {
                assert!(participants.contains(&a), "{l}");
                assert!(participants.contains(&b), "{l}");
            }
        }
        assert!(!l.contains(';') && !l.contains('#'), "{l}");
    }
    let (ip, arp) = frames_in_json("three-tier.yaml", APP_TO_DB);
    assert!(ip >= 10 && arp == 4, "{ip} {arp}");
    assert_eq!(mermaid_arrows(&out), ip + arp, "{out}");
    for state in ["SYN-SENT", "ESTABLISHED", "TIME-WAIT", "LAST-ACK"] {
        assert!(out.contains(&format!(": {state}\n")), "{state}: {out}");
    }
    // Without ARP, one arrow per IP frame.
    let quiet = trace(
        "three-tier.yaml",
        &[APP_TO_DB, &["--format", "mermaid", "--no-arp"]].concat(),
    );
    assert_eq!(mermaid_arrows(&quiet), ip, "{quiet}");
    assert!(!quiet.contains("ARP"), "{quiet}");
}

// ----- layers ----------------------------------------------------------------

struct Hop {
    header: String,
    eth: (String, String),
    ip: (String, String),
    ttl: u8,
    transport: String,
}

/// The frames of `--layers` that carry a TCP segment with these flags.
fn hops(out: &str, flags: &str) -> Vec<Hop> {
    let mut hops = Vec::new();
    let blocks = out.split("\n#").skip(1);
    for block in blocks {
        let lines: Vec<&str> = block.lines().collect();
        let field = |name: &str| {
            lines
                .iter()
                .find_map(|l| l.trim_start().strip_prefix(name))
                .map(|rest| rest.trim_start().to_string())
        };
        let Some(tcp) = field("TCP ") else { continue };
        if !tcp.contains(&format!("[{flags}]")) {
            continue;
        }
        let pair = |s: &str| {
            let mut w = s.split_whitespace();
            let a = w.next().unwrap().to_string();
            assert_eq!(w.next(), Some("→"), "{s}");
            (a, w.next().unwrap().to_string())
        };
        let eth = field("Ethernet").expect("an Ethernet layer");
        let ip = field("IPv4").expect("an IPv4 layer");
        let ttl = ip
            .split("ttl ")
            .nth(1)
            .and_then(|r| r.split_whitespace().next())
            .and_then(|t| t.parse().ok())
            .expect("a ttl");
        // The transport fields, without the note about what changed.
        let transport = tcp.split('←').next().unwrap().trim_end().to_string();
        hops.push(Hop {
            header: lines[0].to_string(),
            eth: pair(&eth),
            ip: pair(&ip),
            ttl,
            transport,
        });
    }
    hops
}

#[test]
fn layers_show_macs_change_at_every_router_while_ip_stays() {
    let out = trace(
        "routing.yaml",
        &["--from", "h1", "--to", "h3", "--port", "80", "--layers"],
    );
    let syn = hops(&out, "SYN");
    assert_eq!(syn.len(), 4, "h1, r1, r2, r3 send it: {out}");
    let path: Vec<&str> = syn
        .iter()
        .map(|h| h.header.split_whitespace().nth(2).unwrap())
        .collect();
    assert_eq!(path, ["h1", "r1", "r2", "r3"], "{out}");
    assert!(syn[3].header.contains("→ h3"), "{}", syn[3].header);
    for w in syn.windows(2) {
        assert_ne!(w[0].eth.0, w[1].eth.0, "new source MAC at {}", w[1].header);
        assert_ne!(
            w[0].eth.1, w[1].eth.1,
            "new destination MAC at {}",
            w[1].header
        );
        // Each hop's source is the router that received the last one.
        assert_eq!(w[0].ip, w[1].ip, "same addresses");
        assert_eq!(w[0].ttl, w[1].ttl + 1, "one less per router");
        assert_eq!(w[0].transport, w[1].transport, "TCP untouched");
    }
    assert_eq!(
        syn[0].ip,
        ("10.1.0.10".to_string(), "10.3.0.10".to_string())
    );
    assert_eq!(syn[0].ttl, 64);
    assert_eq!(syn[3].ttl, 61);
    assert!(syn[0].transport.contains("seq ") && syn[0].transport.contains("MSS 1460"));
    // The same holds for the answer, the other way.
    let synack = hops(&out, "SYN,ACK");
    assert_eq!(synack.len(), 4, "{out}");
    assert!(synack
        .windows(2)
        .all(|w| w[0].ttl == w[1].ttl + 1 && w[0].ip == w[1].ip));
    // Hop notes and the closing legend say it, from these numbers.
    assert!(out.contains("← new MACs: r1 sent it on"), "{out}");
    assert!(out.contains("← same addresses, ttl 64 → 63"), "{out}");
    let legend = out
        .split("what changed from hop to hop:")
        .nth(1)
        .expect("a legend");
    assert!(legend.contains("through r1, r2, r3"), "{legend}");
    assert!(legend.contains("64 → 61"), "{legend}");
    assert!(legend.contains("10.1.0.10 → 10.3.0.10"), "{legend}");
}

#[test]
fn layers_show_arp_unless_hidden() {
    let out = trace("three-tier.yaml", &[APP_TO_DB, &["--layers"]].concat());
    assert!(
        out.contains("ff:ff:ff:ff:ff:ff (broadcast)  type ARP (0x0806)"),
        "{out}"
    );
    assert!(out.contains("   ARP       request"), "{out}");
    let quiet = trace(
        "three-tier.yaml",
        &[APP_TO_DB, &["--layers", "--no-arp"]].concat(),
    );
    assert!(!quiet.contains("type ARP"), "{quiet}");
    // Frame numbers stay those of the full view.
    assert!(quiet.contains("\n#3 "), "{quiet}");
    assert!(!quiet.contains("\n#1 "), "{quiet}");
}

// ----- usage and determinism -----------------------------------------------

#[test]
fn views_are_byte_identical_run_to_run() {
    for view in [
        vec!["--format", "sequence"],
        vec!["--format", "mermaid"],
        vec!["--layers"],
    ] {
        for (lab, args) in [
            ("three-tier.yaml", APP_TO_DB.to_vec()),
            (
                "routing.yaml",
                vec!["--from", "h1", "--to", "10.3.0.99", "--proto", "icmp"],
            ),
        ] {
            let all = [args.as_slice(), view.as_slice()].concat();
            let a = trace(lab, &all);
            let b = trace(lab, &all);
            assert_eq!(a, b, "{all:?}");
        }
    }
}

#[test]
fn option_misuse_is_a_usage_error() {
    let lab = fixture("three-tier.yaml");
    let base = [
        "trace",
        lab.as_str(),
        "--from",
        "app1",
        "--to",
        "db1",
        "--port",
        "5432",
    ];
    let o = wirelab(&[&base[..], &["--no-arp"]].concat());
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--no-arp"));
    let o = wirelab(&[&base[..], &["--layers", "--format", "json"]].concat());
    assert_eq!(o.status.code(), Some(2));
}

// ----- PPP links ---------------------------------------------------------------

/// On a `framing: ppp` link the layers show a PPP header of 2 bytes and no
/// MACs, the trace says the frame went to the other end, and nothing is
/// resolved there; the Ethernet hops keep their MACs and their ARP.
#[test]
fn layers_show_ppp_on_point_to_point_links() {
    let args = ["--from", "h1", "--to", "h3", "--port", "80", "--at", "10s"];
    let mut layered = args.to_vec();
    layered.extend(["--layers", "--no-arp"]);
    let out = trace("ppp-links.yaml", &layered);
    // The SYN: 44 bytes of IPv4 (MSS option only) behind the PPP field on
    // both links, in a 60-byte padded Ethernet frame on the LANs.
    let syn_hops: Vec<&str> = out
        .lines()
        .filter(|l| l.trim_start().starts_with("PPP") || l.trim_start().starts_with("Ethernet"))
        .take(4)
        .collect();
    assert_eq!(syn_hops.len(), 4, "{out}");
    assert!(
        syn_hops[0].contains("Ethernet") && syn_hops[0].contains("60 bytes"),
        "{out}"
    );
    for hop in &syn_hops[1..3] {
        assert!(
            hop.contains("PPP")
                && hop.contains("protocol IPv4 (0x0021)  46 bytes")
                && hop.contains("no MACs"),
            "{hop}\n{out}"
        );
    }
    assert!(
        syn_hops[3].contains("Ethernet") && syn_hops[3].contains("new MACs: r3"),
        "{out}"
    );
    assert!(
        out.contains("PPP: frames #") && out.contains("crossed point-to-point links"),
        "{out}"
    );
    let plain = trace("ppp-links.yaml", &args);
    assert!(
        plain.contains("out eth1 (r1-r2) over PPP to the other end"),
        "{plain}"
    );
    // ARP only on the LANs.
    let asked: Vec<&str> = plain
        .lines()
        .filter(|l| l.contains("arp who-has"))
        .collect();
    assert_eq!(asked.len(), 2, "{plain}");
    assert!(asked.iter().all(|l| !l.contains("10.0.")), "{plain}");
}

/// The PPP lab grades as written: OSPF converges over the PPP links and
/// picks them, IPv6 crosses them on static routes, the NACL still drops.
#[test]
fn the_ppp_lab_passes_every_check() {
    let lab = fixture("ppp-links.yaml");
    let o = wirelab(&["test", &lab]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(out.contains("score 5/5"), "{out}");
}
