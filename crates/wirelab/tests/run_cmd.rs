//! `wirelab run` end to end: reports, determinism, limits, and the pcapng
//! capture read back by tshark.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn wirelab(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_wirelab"))
        .args(args)
        .output()
        .expect("the binary runs")
}

fn lab_06() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../labs/06-traffic-over-a-wan.yaml")
        .to_string_lossy()
        .into_owned()
}

fn scratch(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("wirelab-run-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn json(o: &Output) -> serde_json::Value {
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_slice(&o.stdout).expect("JSON")
}

#[test]
fn the_json_report_has_every_workload_and_link() {
    let v = json(&wirelab(&["run", &lab_06(), "--format", "json"]));
    assert_eq!(v["lab"], "traffic-over-a-wan");
    assert_eq!(v["end"], "quiet");
    let flows = v["flows"].as_array().unwrap();
    let names: Vec<&str> = flows.iter().map(|f| f["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        ["nightly backup", "api calls", "voice call", "monitoring"]
    );
    let backup = &flows[0];
    assert_eq!(backup["kind"], "bulk");
    assert_eq!(backup["bytes_delivered"], 2_000_000);
    assert!(backup["completion_ns"].as_u64().unwrap() > 1_600_000_000);
    assert!(
        backup["retransmissions"].as_u64().unwrap() > 0,
        "the outage costs retransmissions"
    );
    let voice = &flows[2];
    assert!(voice["received"].as_u64().unwrap() < voice["sent"].as_u64().unwrap());
    let wan = v["links"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["network"] == "hq-router-branch-router" && l["node"] == "branch-router")
        .expect("the WAN's branch side");
    assert!(wan["drops_down"].as_u64().unwrap() > 0);
}

#[test]
fn runs_and_captures_are_byte_identical() {
    let dir = scratch("determinism");
    let (a, b) = (dir.join("a.pcapng"), dir.join("b.pcapng"));
    let one = wirelab(&[
        "run",
        &lab_06(),
        "--format",
        "json",
        "--pcap",
        a.to_str().unwrap(),
    ]);
    let two = wirelab(&[
        "run",
        &lab_06(),
        "--format",
        "json",
        "--pcap",
        b.to_str().unwrap(),
    ]);
    assert_eq!(one.stdout, two.stdout);
    assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
    let other_seed = wirelab(&["run", &lab_06(), "--format", "json", "--seed", "99"]);
    assert_ne!(
        one.stdout, other_seed.stdout,
        "the seed changes ports and sequence numbers"
    );
}

#[test]
fn limits_stop_a_run_cleanly_and_say_so() {
    let o = wirelab(&["run", &lab_06(), "--until", "1s"]);
    assert_eq!(o.status.code(), Some(0));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("ran 1s of simulated time") && out.contains("stopped at --until 1s"),
        "{out}"
    );
    let o = wirelab(&["run", &lab_06(), "--max-events", "1000", "--format", "json"]);
    let v = json(&o);
    assert_eq!(
        (v["end"].as_str(), v["events"].as_u64()),
        (Some("event-limit"), Some(1000))
    );
    assert!(String::from_utf8_lossy(&o.stderr).contains("--max-events 1000"));
    let o = wirelab(&["run", &lab_06(), "--until", "soon"]);
    assert_eq!(o.status.code(), Some(2));
}

fn tshark() -> bool {
    let ok = Command::new("tshark")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok && std::env::var("WIRELAB_REQUIRE_TSHARK").as_deref() == Ok("1") {
        panic!("tshark is not installed, and WIRELAB_REQUIRE_TSHARK=1 requires it");
    }
    if !ok {
        eprintln!("SKIPPED: tshark is not installed");
    }
    ok
}

#[test]
fn tshark_reads_the_capture_and_sees_the_conversations_of_the_run() {
    if !tshark() {
        return;
    }
    let dir = scratch("tshark");
    let file = dir.join("wan.pcapng");
    let report = json(&wirelab(&[
        "run",
        &lab_06(),
        "--format",
        "json",
        "--pcap",
        file.to_str().unwrap(),
    ]));
    let f = file.to_str().unwrap();
    let bad = Command::new("tshark")
        .args(["-r", f, "-o", "tcp.check_checksum:TRUE", "-o", "ip.check_checksum:TRUE", "-o", "udp.check_checksum:TRUE"])
        .args(["-Y", "_ws.malformed || ip.checksum.status == 0 || tcp.checksum.status == 0 || udp.checksum.status == 0"])
        .output()
        .unwrap();
    assert!(
        bad.status.success(),
        "{}",
        String::from_utf8_lossy(&bad.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&bad.stdout).trim(),
        "",
        "malformed or bad checksums"
    );
    // The two TCP workloads are the two TCP conversations.
    let conv = Command::new("tshark")
        .args(["-r", f, "-q", "-z", "conv,tcp"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&conv.stdout);
    let lines: Vec<&str> = text.lines().filter(|l| l.contains("<->")).collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert!(
        lines
            .iter()
            .any(|l| l.contains("10.2.0.10:") && l.contains("10.1.0.10:873")),
        "{text}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("10.2.0.20:") && l.contains("10.1.0.20:8080")),
        "{text}"
    );
    // Every frame the run reports sending is in the file (once per network).
    let frames: u64 = report["links"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["frames"].as_u64().unwrap())
        .sum();
    let count = Command::new("tshark")
        .args(["-r", f, "-T", "fields", "-e", "frame.number"])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&count.stdout).lines().count() as u64,
        frames
    );
}
