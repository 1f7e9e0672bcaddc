//! What the capture tests read back with tshark share (each test binary
//! uses part of it).
#![allow(dead_code)]

use std::path::Path;
use std::process::Command;

/// Whether tshark is installed. When it is not, the test says so and
/// passes, unless `WIRELAB_REQUIRE_TSHARK=1` (set by `scripts/test-all`).
pub fn tshark_present() -> bool {
    let ok = Command::new("tshark")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok && std::env::var("WIRELAB_REQUIRE_TSHARK").as_deref() == Ok("1") {
        panic!("tshark is not installed, and WIRELAB_REQUIRE_TSHARK=1 requires it");
    }
    if !ok {
        eprintln!("SKIPPED: tshark is not installed (apt-get install tshark)");
    }
    ok
}

/// `tshark -r FILE PREFS -Y FILTER -T fields -e FIELD...`: one line per
/// frame, fields separated by `|`, every occurrence (comma-separated).
pub fn rows(file: &Path, prefs: &[&str], filter: &str, fields: &[&str]) -> Vec<String> {
    let mut cmd = Command::new("tshark");
    cmd.arg("-r").arg(file).args(prefs);
    cmd.args(["-T", "fields", "-E", "separator=|", "-E", "occurrence=a"]);
    if !filter.is_empty() {
        cmd.args(["-Y", filter]);
    }
    for f in fields {
        cmd.args(["-e", f]);
    }
    let out = cmd.output().expect("tshark runs");
    assert!(
        out.status.success(),
        "tshark: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}
