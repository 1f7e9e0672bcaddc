//! NAT through the binary: a lab full of NAT mistakes is rejected with
//! every one at once; `trace` shows each translation in text and JSON;
//! `reach` says it does not analyse NAT; two runs are byte-identical; path
//! MTU discovery works through a NAT (fragmentation needed, translated back).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

const LAB: &str = "11-private-subnet-behind-nat.yaml";

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn lab() -> String {
    root().join("labs").join(LAB).display().to_string()
}

fn wirelab(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_wirelab"))
        .args(args)
        .output()
        .expect("run the wirelab binary")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn every_nat_mistake_is_reported_with_its_position_and_exit_2() {
    let file = root().join("crates/wirelab-spec/tests/fixtures/nat/mistakes.yaml");
    let file = file.display().to_string();
    let out = wirelab(&["check", &file]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    let errors: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with(&format!("{file}:")) && l.contains(": error: "))
        .collect();
    assert!(
        errors.len() >= 20,
        "all at once, found {}:\n{stderr}",
        errors.len()
    );
    for (line, words) in [
        (14, "not an interface of `gw`"),
        (18, "is already used by the pool of `gw` (line 17)"),
        (19, "outside 1-65535"),
        (20, "backwards"),
        (15, "NAT is IPv4-only"),
        (23, "which has none"),
        (42, "already used by a static mapping"),
    ] {
        assert!(
            errors
                .iter()
                .any(|e| e.starts_with(&format!("{file}:{line}:")) && e.contains(words)),
            "no error at line {line} with {words:?}:\n{stderr}"
        );
    }
    // Nothing ran: no report on stdout.
    assert!(out.stdout.is_empty());
}

#[test]
fn trace_shows_each_translation_as_a_step() {
    let lab = lab();
    let args = [
        "trace", &lab, "--from", "app1", "--to", "server", "--port", "443",
    ];
    let text = stdout(&wirelab(&args));
    let new = text
        .lines()
        .find(|l| l.contains(" natgw ") && l.contains(" nat "))
        .expect("a nat step");
    assert!(
        new.contains("tcp 203.0.113.1:1024 > 198.51.100.80:443 [SYN]"),
        "{new}"
    );
    assert!(text.contains("source 10.0.1.10:"), "{text}");
    assert!(
        text.contains("→ 203.0.113.1:1024 (source NAT, new mapping, rule at line 64)"),
        "{text}"
    );
    assert!(text.contains("(source NAT, reply, translated back, rule at line 64)"));
    // The table after the exchange, as conntrack lists it.
    let table = text
        .split("nat tables (original direction; replies):\n")
        .nth(1)
        .expect("a nat tables section");
    assert!(table.starts_with("  natgw  tcp 10.0.1.10:"), "{table}");
    assert!(
        table.contains("> 198.51.100.80:443; 198.51.100.80:443 > 203.0.113.1:1024  (source NAT, rule at line 64)"),
        "{table}"
    );

    let mut json_args = args.to_vec();
    json_args.extend(["--format", "json"]);
    let doc: Value = serde_json::from_str(&stdout(&wirelab(&json_args))).expect("JSON");
    let nat: Vec<&Value> = doc["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .filter(|s| s["step"] == "nat")
        .collect();
    assert!(nat.len() >= 2, "{nat:?}");
    assert_eq!(nat[0]["node"], "natgw");
    assert!(nat[0]["detail"]
        .as_str()
        .unwrap()
        .starts_with("source 10.0.1.10:"));
    assert_eq!(doc["outcome"], "allow");
    assert_eq!(
        doc["nat"][0]["reply"],
        "198.51.100.80:443 > 203.0.113.1:1024"
    );
    assert_eq!(doc["nat"][0]["kind"], "source NAT");
    assert_eq!(
        doc["nat"].as_array().unwrap().len(),
        1,
        "one flow, one entry"
    );
}

#[test]
fn an_icmp_error_is_shown_translated_back() {
    let lab = lab();
    let out = wirelab(&[
        "trace", &lab, "--from", "app1", "--to", "server", "--proto", "udp", "--port", "9",
    ]);
    let text = stdout(&out);
    assert!(
        text.contains("destination 203.0.113.1:1024 → 10.0.1.10:")
            && text.contains("ICMP error about a mapped flow, translated back"),
        "{text}"
    );
    assert!(text.contains("port unreachable (about 10.0.1.10 > 198.51.100.80)"));
    assert!(text.contains("result: refused"));
}

#[test]
fn reach_lint_and_diff_say_they_do_not_analyse_nat() {
    let lab = lab();
    let text = stdout(&wirelab(&[
        "reach", &lab, "--from", "laptop", "--to", "app1",
    ]));
    assert!(
        text.contains("note: NAT on `natgw` is not analysed"),
        "{text}"
    );
    let json = stdout(&wirelab(&[
        "reach", &lab, "--from", "laptop", "--to", "app1", "--format", "json",
    ]));
    let doc: Value = serde_json::from_str(&json).expect("JSON");
    assert!(doc["notes"][0].as_str().unwrap().contains("not analysed"));
    // A lab without NAT gets no note.
    let vpc = root()
        .join("labs/03-vpc-security.yaml")
        .display()
        .to_string();
    let text = stdout(&wirelab(&[
        "reach", &vpc, "--from", "client", "--to", "web1",
    ]));
    assert!(!text.contains("note:"), "{text}");
    // lint and diff stand on the same analysis, and say the same.
    let lint = stdout(&wirelab(&["lint", &lab]));
    assert!(
        lint.contains("note: NAT on `natgw` is not analysed"),
        "{lint}"
    );
    let lint: Value =
        serde_json::from_str(&stdout(&wirelab(&["lint", &lab, "--format", "json"]))).unwrap();
    assert!(lint["notes"][0].as_str().unwrap().contains("not analysed"));
    let diff = stdout(&wirelab(&["diff", &vpc, &lab]));
    assert!(
        diff.contains("note: NAT on `natgw` is not analysed"),
        "{diff}"
    );
    let diff = stdout(&wirelab(&["diff", &vpc, &vpc]));
    assert!(!diff.contains("note:"), "{diff}");
}

#[test]
fn two_runs_are_byte_identical() {
    let lab = lab();
    let run = || {
        let out = wirelab(&["test", &lab, "--format", "json"]);
        assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
        let trace = wirelab(&[
            "trace",
            &lab,
            "--from",
            "laptop",
            "--to",
            "203.0.113.10",
            "--proto",
            "icmp",
        ]);
        (out.stdout, trace.stdout)
    };
    let first = run();
    assert!(String::from_utf8_lossy(&first.1).contains("(1:1 NAT, new mapping"));
    assert_eq!(first, run());
}

/// TCP workloads through a NAT. An upload from behind it crosses a middle
/// link with a 1000-byte MTU: the far router's "fragmentation needed" is
/// addressed to the NAT gateway and quotes its port; translated back, it
/// reaches the sender, which lowers its MSS and completes. (Untranslated,
/// every full-size segment would be lost again and the upload would not
/// finish.) A request/response workload and one into a port forward
/// complete too.
const PMTU_LAB: &str = r#"
lab: pmtu
seed: 5
networks:
  inside: { cidr: 10.0.1.0/24 }
  edge: { cidr: 203.0.113.0/24 }
  internet: { cidr: 198.51.100.0/24 }
links:
  - { between: [isp, far], cidr: 192.0.2.0/30, mtu: 1000 }
routers:
  gw:
    interfaces: { inside: 10.0.1.1, edge: 203.0.113.1 }
    routes: [{ to: 0.0.0.0/0, via: 203.0.113.254 }]
    nat:
      source: [{ from: 10.0.1.0/24, out: edge, to: masquerade }]
      forward: [{ in: edge, port: 8080, to: "a:80" }]
  isp:
    interfaces: { edge: 203.0.113.254 }
    routes: [{ to: 198.51.100.0/24, via: 192.0.2.2 }]
  far:
    interfaces: { internet: 198.51.100.1 }
    routes: [{ to: 203.0.113.0/24, via: 192.0.2.1 }]
hosts:
  a: { network: inside, ip: 10.0.1.10, services: [{ port: 80 }] }
  server: { network: internet, ip: 198.51.100.80, services: [{ port: 80 }] }
traffic:
  - { name: upload, from: a, to: server, port: 80, bulk: 200KB }
  - { name: api, from: a, to: server, port: 80, requests: { count: 20, request: 300B, response: 2KB } }
  - { name: inbound, from: server, to: 203.0.113.1, port: 8080, bulk: 100KB }
checks:
  - { name: upload, traffic: upload, expect: { complete_within: 5s } }
  - { name: api, traffic: api, expect: { complete_within: 5s } }
  - { name: inbound, traffic: inbound, expect: { complete_within: 5s } }
"#;

#[test]
fn path_mtu_discovery_works_through_the_nat() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("nat-cli");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("pmtu.yaml");
    std::fs::write(&file, PMTU_LAB).unwrap();
    let file = file.display().to_string();
    let out = wirelab(&["run", &file, "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let doc: Value = serde_json::from_str(&stdout(&out)).expect("JSON");
    let upload = &doc["flows"][0];
    assert_eq!(upload["bytes_delivered"], 200_000, "{upload}");
    assert!(upload["error"].is_null());
    // The server of a request/response workload answers a client it sees
    // only through the NAT; a workload into a port forward completes.
    for (i, bytes) in [(1, 40_000), (2, 100_000)] {
        let f = &doc["flows"][i];
        assert_eq!(f["bytes_delivered"], bytes, "{f}");
        assert!(f["completion_ns"].is_u64(), "{f}");
    }
    let too_big: u64 = doc["links"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|l| l["drops_too_big"].as_u64())
        .sum();
    assert!(too_big > 0, "the path MTU was met: {doc}");
    let graded = wirelab(&["test", &file]);
    assert_eq!(graded.status.code(), Some(0), "{}", stdout(&graded));
}
