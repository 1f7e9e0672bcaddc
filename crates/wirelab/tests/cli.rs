//! End-to-end tests of the `wirelab` command: exit codes, report formats,
//! traces, and what a new user's mistakes get.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn wirelab(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_wirelab"))
        .args(args)
        .output()
        .expect("the binary runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn fixture(name: &str) -> String {
    repo()
        .join("crates/wirelab-spec/tests/fixtures")
        .join(name)
        .to_string_lossy()
        .into_owned()
}

/// A fresh directory for one test's files.
fn scratch(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("wirelab-cli-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn write(dir: &Path, name: &str, content: impl AsRef<[u8]>) -> String {
    let path = dir.join(name);
    std::fs::write(&path, content).unwrap();
    path.to_string_lossy().into_owned()
}

/// Exit status 2, no panic, and at least one diagnostic naming the file.
fn assert_rejected(o: &Output, file_name: &str) -> String {
    let err = stderr(o);
    assert_eq!(o.status.code(), Some(2), "stderr: {err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(
        err.contains(file_name),
        "no diagnostic names {file_name}: {err}"
    );
    err
}

#[test]
fn check_accepts_a_valid_lab_and_summarizes_it() {
    let o = wirelab(&["check", &fixture("valid/three-tier.yaml")]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("ok — lab three-tier: 4 networks, 1 routers, 5 hosts"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn check_reports_every_problem_of_a_file_with_positions() {
    let o = wirelab(&["check", &fixture("invalid/bad-check.yaml")]);
    let err = assert_rejected(&o, "bad-check.yaml");
    for (line, token) in [(8, "ghost"), (9, "70000"), (10, "maybe")] {
        assert!(
            err.lines()
                .any(|l| l.contains(&format!("bad-check.yaml:{line}:")) && l.contains(token)),
            "no diagnostic on line {line} naming {token}: {err}"
        );
    }
}

#[test]
fn several_files_are_checked_in_one_run() {
    let o = wirelab(&[
        "check",
        &fixture("valid/routing.yaml"),
        &fixture("invalid/bad-cidr.yaml"),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stdout(&o).contains("routing.yaml: ok"));
    assert!(stderr(&o).contains("bad-cidr.yaml:4:"), "{}", stderr(&o));
}

#[test]
fn a_new_users_mistakes_each_get_a_clear_message() {
    let dir = scratch("mistakes");
    std::fs::create_dir_all(dir.join("a-directory.yaml")).unwrap();
    let cases: Vec<(String, &str)> = vec![
        (
            dir.join("missing.yaml").to_string_lossy().into_owned(),
            "no such file",
        ),
        (
            dir.join("a-directory.yaml").to_string_lossy().into_owned(),
            "directory",
        ),
        (write(&dir, "empty.yaml", ""), "empty"),
        (write(&dir, "comments.yaml", "# only a comment\n"), "empty"),
        (
            write(&dir, "junk.yaml", [0xffu8, 0xfe, 0x00, 0x12, 0x80, 0x81]),
            "UTF-8",
        ),
        (write(&dir, "nul.yaml", "lab: x\n\0\0\0\n"), "NUL"),
        (
            write(
                &dir,
                "tabs.yaml",
                "lab: x\nnetworks:\n\tlan: { cidr: 10.0.0.0/24 }\n",
            ),
            "tabs.yaml:3:",
        ),
        (write(&dir, "list.yaml", "- lab: x\n"), "map"),
        (
            write(
                &dir,
                "numbers.yaml",
                "lab: 7\nnetworks:\n  lan: { cidr: 10 }\nhosts:\n  a: { network: 5 }\n",
            ),
            "numbers.yaml:1:6:",
        ),
        (
            write(
                &dir,
                "deep.yaml",
                format!(
                    "lab: x\nnested: {}{}\n",
                    "[".repeat(20_000),
                    "]".repeat(20_000)
                ),
            ),
            "deep",
        ),
        (
            write(&dir, "laughs.yaml", {
                let mut s = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
                for i in 1..10 {
                    s.push_str(&format!(
                        "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n",
                        p = i - 1
                    ));
                }
                s
            }),
            "laughs.yaml",
        ),
        (write(&dir, "huge.yaml", "#".repeat(9 << 20)), "8 MiB"),
    ];
    for (path, expected) in &cases {
        let o = wirelab(&["check", path]);
        let name = Path::new(path)
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let err = assert_rejected(&o, &name);
        assert!(
            err.contains(expected),
            "{name}: expected `{expected}` in: {err}"
        );
        // `test` refuses the same files the same way, running nothing.
        let o = wirelab(&["test", path, "--format", "json"]);
        assert_eq!(o.status.code(), Some(2), "{name}");
        assert!(
            stdout(&o).is_empty(),
            "{name}: a report was printed for an invalid lab"
        );
    }
}

#[test]
fn test_exit_status_says_whether_every_check_passed() {
    assert_eq!(
        wirelab(&["test", &fixture("valid/routing.yaml")])
            .status
            .code(),
        Some(0)
    );
    assert_eq!(
        wirelab(&["test", &fixture("valid/exercise.yaml")])
            .status
            .code(),
        Some(1)
    );
    assert_eq!(
        wirelab(&["test", &fixture("invalid/syntax.yaml")])
            .status
            .code(),
        Some(2)
    );
}

#[test]
fn the_text_report_shows_failures_with_their_hint_and_the_score() {
    let o = wirelab(&["test", &fixture("valid/exercise.yaml")]);
    let out = stdout(&o);
    assert!(
        !out.contains('\x1b'),
        "no colour when stdout is not a terminal"
    );
    assert!(out.contains("FAIL  app talks to the database"), "{out}");
    assert!(
        out.contains("hint: NACLs are stateless: replies need a rule too."),
        "{out}"
    );
    assert!(out.contains("score 4/11 — 3 passed, 3 failed"), "{out}");
}

#[test]
fn the_json_report_carries_what_tools_rely_on() {
    let o = wirelab(&["test", &fixture("valid/exercise.yaml"), "--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON");
    assert_eq!(v["lab"], "exercise");
    assert_eq!(
        (v["passed"].as_u64(), v["failed"].as_u64()),
        (Some(3), Some(3))
    );
    assert_eq!(
        (v["score"].as_u64(), v["max_score"].as_u64()),
        (Some(4), Some(11))
    );
    let c = &v["checks"][1];
    assert_eq!(c["name"], "app talks to the database");
    assert_eq!(c["status"], "fail");
    assert_eq!(
        (c["expect"].as_str(), c["observed"].as_str()),
        (Some("allow"), Some("deny"))
    );
    assert_eq!(
        (c["reason"].as_str(), c["at"].as_str()),
        (Some("nacl-outbound"), Some("vpc"))
    );
    assert_eq!(
        (c["points"].as_u64(), c["earned"].as_u64()),
        (Some(3), Some(0))
    );
    assert!(c["explanation"].as_str().unwrap().contains("data-nacl"));
}

#[test]
fn junit_and_tap_reports_count_the_failures() {
    let junit = stdout(&wirelab(&[
        "test",
        &fixture("valid/exercise.yaml"),
        "--format",
        "junit",
    ]));
    assert!(junit.starts_with("<?xml"), "{junit}");
    assert_eq!(junit.matches("<testcase ").count(), 6, "{junit}");
    assert_eq!(junit.matches("<failure").count(), 3, "{junit}");
    let tap = stdout(&wirelab(&[
        "test",
        &fixture("valid/exercise.yaml"),
        "--format",
        "tap",
    ]));
    assert!(tap.starts_with("TAP version 14\n1..6\n"), "{tap}");
    assert_eq!(
        tap.lines().filter(|l| l.starts_with("not ok ")).count(),
        3,
        "{tap}"
    );
    assert_eq!(
        tap.lines().filter(|l| l.starts_with("ok ")).count(),
        3,
        "{tap}"
    );
}

#[test]
fn reports_and_traces_are_byte_identical_across_runs_and_thread_counts() {
    let lab = fixture("valid/three-tier.yaml");
    let a = wirelab(&["test", &lab, "--format", "json"]);
    let b = wirelab(&["test", &lab, "--format", "json", "--threads", "1"]);
    assert_eq!(a.stdout, b.stdout);
    let trace = [
        "trace", &lab, "--from", "app1", "--to", "db1", "--port", "5432",
    ];
    assert_eq!(wirelab(&trace).stdout, wirelab(&trace).stdout);
}

#[test]
fn trace_explains_each_hop() {
    let lab = fixture("valid/three-tier.yaml");
    let o = wirelab(&[
        "trace", &lab, "--from", "laptop", "--to", "db1", "--port", "5432",
    ]);
    assert_eq!(o.status.code(), Some(0));
    let out = stdout(&o);
    assert!(out.contains("laptop  route"), "{out}");
    assert!(out.contains("0.0.0.0/0 via 198.51.100.1"), "{out}");
    assert!(out.contains("result: deny (nacl-inbound at vpc)"), "{out}");
    let o = wirelab(&[
        "trace", &lab, "--from", "web1", "--to", "app1", "--port", "8000", "--format", "json",
    ]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON");
    assert_eq!(v["outcome"], "allow");
    assert_eq!(v["path"], serde_json::json!(["vpc"]));
    let steps = v["steps"].as_array().unwrap();
    assert!(steps.iter().any(|s| s["step"] == "sg"
        && s["detail"]
            .as_str()
            .unwrap()
            .contains("app-sg inbound rule 1")));
}

#[test]
fn trace_usage_mistakes_exit_2_with_a_message() {
    let lab = fixture("valid/three-tier.yaml");
    let o = wirelab(&[
        "trace", &lab, "--from", "laptp", "--to", "db1", "--port", "22",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("did you mean `laptop`?"),
        "{}",
        stderr(&o)
    );
    let o = wirelab(&["trace", &lab, "--from", "laptop", "--to", "db1"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("needs --port"), "{}", stderr(&o));
    let o = wirelab(&[
        "trace", &lab, "--from", "laptop", "--to", "db1", "--proto", "icmp", "--family", "ipv6",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("`db1` has no ipv6 address"),
        "{}",
        stderr(&o)
    );
    let o = wirelab(&["bogus"]);
    assert_eq!(o.status.code(), Some(2));
}
