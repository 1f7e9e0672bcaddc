//! The example labs in `labs/` are part of the product: every one must be valid, grade the way
//! its author intended, be deterministic, and trace cleanly with the built binary.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

/// The exercise: its checks fail on purpose until the reader fixes the YAML.
const EXERCISE: &str = "05-exercise-fix-the-vpc.yaml";

/// The labs this suite expects to find (more may be added).
const EXPECTED_LABS: [&str; 14] = [
    "01-one-router.yaml",
    "02-static-routing.yaml",
    "03-vpc-security.yaml",
    "04-dual-stack.yaml",
    EXERCISE,
    "06-traffic-over-a-wan.yaml",
    "07-what-happens-when-you-type-a-url.yaml",
    "08-split-horizon-vpc.yaml",
    "09-ssh-through-a-bastion.yaml",
    "10-https-three-tier.yaml",
    "11-private-subnet-behind-nat.yaml",
    "12-peered-vpcs-transit-trap.yaml",
    "13-ospf-triangle.yaml",
    "14-rip-count-to-infinity.yaml",
];

/// The checks of the exercise that fail as shipped: name, observed outcome, observed reason.
const EXERCISE_FAILURES: [(&str, &str, &str); 4] = [
    ("nginx reaches the app server", "deny", "sg-inbound"),
    (
        "the app server reaches the database",
        "deny",
        "nacl-outbound",
    ),
    (
        "office admins reach the app server over the vpn",
        "deny",
        "no-route",
    ),
    (
        "office admins reach the database over the vpn",
        "deny",
        "no-route",
    ),
];

fn labs_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../labs")
}

fn wirelab(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_wirelab"))
        .args(args)
        .output()
        .expect("run the wirelab binary")
}

fn describe(what: &str, out: &Output) -> String {
    format!(
        "{what}: exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Every `labs/*.yaml`, sorted by file name.
fn lab_files() -> Vec<PathBuf> {
    let mut labs: Vec<PathBuf> = std::fs::read_dir(labs_dir())
        .expect("read labs/")
        .map(|e| e.expect("a directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    labs.sort();
    labs
}

fn solution_file() -> PathBuf {
    labs_dir().join("solutions").join(EXERCISE)
}

fn all_files() -> Vec<PathBuf> {
    let mut files = lab_files();
    files.push(solution_file());
    files
}

fn file_name(path: &Path) -> &str {
    path.file_name()
        .and_then(|n| n.to_str())
        .expect("a UTF-8 file name")
}

fn path_str(path: &Path) -> &str {
    path.to_str().expect("a UTF-8 path")
}

fn test_json(path: &Path) -> (Output, Value) {
    let out = wirelab(&["test", path_str(path), "--format", "json"]);
    let report: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}\n{}", describe("test --format json", &out)));
    (out, report)
}

fn checks(report: &Value) -> &Vec<Value> {
    report["checks"].as_array().expect("a checks array")
}

#[test]
fn the_expected_labs_exist() {
    let names: Vec<String> = lab_files()
        .iter()
        .map(|p| file_name(p).to_owned())
        .collect();
    for lab in EXPECTED_LABS {
        assert!(
            names.iter().any(|n| n == lab),
            "labs/{lab} is missing; found {names:?}"
        );
    }
    assert!(
        solution_file().is_file(),
        "the exercise's solution is missing"
    );
    let readme = std::fs::read_to_string(labs_dir().join("README.md")).expect("labs/README.md");
    for name in &names {
        assert!(
            readme.contains(name.as_str()),
            "labs/README.md does not mention {name}"
        );
    }
}

#[test]
fn every_lab_file_follows_the_house_style() {
    for path in all_files() {
        let text = std::fs::read_to_string(&path).expect("read the lab");
        let name = file_name(&path);
        // The first line points editors at the lab format's JSON Schema
        // (tests/schema.rs checks where it leads); the title comes next.
        let mut head = text.lines();
        assert!(
            head.next()
                .is_some_and(|l| l.starts_with("# yaml-language-server: $schema=")),
            "{name} must start with `# yaml-language-server: $schema=...`"
        );
        assert!(
            head.next()
                .is_some_and(|l| l.starts_with("# wirelab lab — ")),
            "{name}'s second line must be `# wirelab lab — <title>`"
        );
        for (i, line) in text.lines().enumerate() {
            assert!(
                line.chars().count() <= 110,
                "{name}:{} is {} columns wide",
                i + 1,
                line.chars().count()
            );
        }
        for key in ["lab:", "title:", "description:", "seed:", "checks:"] {
            assert!(
                text.lines().any(|l| l.starts_with(key)),
                "{name} has no top-level `{key}`"
            );
        }
    }
}

#[test]
fn every_lab_is_valid() {
    for path in all_files() {
        let out = wirelab(&["check", path_str(&path)]);
        assert!(
            out.status.success(),
            "{}",
            describe(&format!("check {}", file_name(&path)), &out)
        );
    }
}

#[test]
fn every_lab_but_the_exercise_passes_all_its_checks() {
    let mut files: Vec<PathBuf> = lab_files()
        .into_iter()
        .filter(|p| file_name(p) != EXERCISE)
        .collect();
    files.push(solution_file());
    for path in files {
        let name = file_name(&path);
        let (out, report) = test_json(&path);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            describe(&format!("test {name}"), &out)
        );
        assert_eq!(report["failed"], 0, "{name}: {report:#}");
        assert_eq!(report["score"], report["max_score"], "{name}: {report:#}");
        assert!(
            checks(&report).len() >= 8,
            "{name}: a lab needs a real set of checks"
        );
        for check in checks(&report) {
            assert_eq!(check["status"], "pass", "{name}: {check:#}");
            assert!(
                check["hint"].as_str().is_some_and(|h| !h.is_empty()),
                "{name}: every check needs a hint: {check:#}"
            );
        }
    }
}

#[test]
fn the_exercise_fails_exactly_where_it_was_designed_to() {
    let path = labs_dir().join(EXERCISE);
    let (out, report) = test_json(&path);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        describe("test the exercise", &out)
    );
    let failed: BTreeMap<&str, (&str, &str)> = checks(&report)
        .iter()
        .filter(|c| c["status"] != "pass")
        .map(|c| {
            (
                c["name"].as_str().expect("a name"),
                (
                    c["observed"].as_str().expect("an outcome"),
                    c["reason"].as_str().expect("a reason"),
                ),
            )
        })
        .collect();
    let expected: BTreeMap<&str, (&str, &str)> = EXERCISE_FAILURES
        .iter()
        .map(|&(name, observed, reason)| (name, (observed, reason)))
        .collect();
    assert_eq!(failed, expected, "{report:#}");
    assert_eq!(report["failed"], EXERCISE_FAILURES.len());
    for check in checks(&report) {
        assert!(
            check["hint"].as_str().is_some_and(|h| !h.is_empty()),
            "every check of the exercise needs a hint: {check:#}"
        );
    }

    // The solution is the same lab with the same checks, all passing.
    let (_, solved) = test_json(&solution_file());
    let names = |r: &Value| -> Vec<String> {
        checks(r)
            .iter()
            .map(|c| c["name"].as_str().expect("a name").to_owned())
            .collect()
    };
    assert_eq!(names(&report), names(&solved));
    assert_eq!(report["max_score"], solved["max_score"]);
    assert_eq!(solved["score"], solved["max_score"]);
}

#[test]
fn two_runs_give_byte_identical_reports() {
    for path in all_files() {
        let first = wirelab(&["test", path_str(&path), "--format", "json"]);
        let second = wirelab(&["test", path_str(&path), "--format", "json"]);
        let single = wirelab(&[
            "test",
            path_str(&path),
            "--format",
            "json",
            "--threads",
            "1",
        ]);
        assert!(!first.stdout.is_empty());
        assert!(
            first.stdout == second.stdout,
            "{}: two runs differ",
            file_name(&path)
        );
        assert!(
            first.stdout == single.stdout,
            "{}: the report depends on the thread count",
            file_name(&path)
        );
    }
}

#[test]
fn one_trace_per_lab_shows_the_expected_reason() {
    // (lab, trace arguments, the result line the trace must end with)
    let traces: [(&str, &[&str], &str); 9] = [
        (
            "01-one-router.yaml",
            &[
                "--from", "client", "--to", "server", "--proto", "udp", "--port", "123",
            ],
            "result: refused (refused at server)",
        ),
        (
            "02-static-routing.yaml",
            &["--from", "hq-pc", "--to", "10.9.0.1", "--proto", "icmp"],
            "result: deny (ttl-exceeded at west)",
        ),
        (
            "03-vpc-security.yaml",
            &["--from", "app1", "--to", "db1", "--port", "5432"],
            "result: allow (delivered at db1)",
        ),
        (
            "04-dual-stack.yaml",
            &[
                "--from", "laptop", "--to", "web1", "--proto", "icmp", "--family", "ipv6",
            ],
            "result: deny (sg-inbound at web1)",
        ),
        (
            EXERCISE,
            &["--from", "office-pc", "--to", "app1", "--port", "22"],
            "result: deny (no-route at vpc)",
        ),
        (
            "solutions/05-exercise-fix-the-vpc.yaml",
            &["--from", "office-pc", "--to", "app1", "--port", "22"],
            "result: allow (delivered at app1)",
        ),
        (
            "11-private-subnet-behind-nat.yaml",
            &["--from", "laptop", "--to", "app1", "--port", "80"],
            "result: deny (nat-unmapped at natgw)",
        ),
        (
            "13-ospf-triangle.yaml",
            &["--from", "h1", "--to", "h3", "--port", "80", "--at", "31s"],
            "(ospf, metric 11)",
        ),
        (
            "14-rip-count-to-infinity.yaml",
            &[
                "--from", "h1", "--to", "h3", "--proto", "icmp", "--at", "30s",
            ],
            "result: deny (ttl-exceeded at",
        ),
    ];
    for (lab, args, expected) in traces {
        let path = labs_dir().join(lab);
        let mut argv = vec!["trace", path_str(&path)];
        argv.extend_from_slice(args);
        let out = wirelab(&argv);
        let what = format!("trace {lab} {}", args.join(" "));
        assert_eq!(out.status.code(), Some(0), "{}", describe(&what, &out));
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains(expected), "{}", describe(&what, &out));
    }

    // The trace says why, naming the filter and its rule.
    let path = labs_dir().join("03-vpc-security.yaml");
    let out = wirelab(&[
        "trace",
        path_str(&path),
        "--from",
        "app2",
        "--to",
        "db1",
        "--port",
        "5432",
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("result: deny (nacl-inbound at vpc)") && text.contains("rule 90"),
        "{}",
        describe("trace app2 → db1", &out)
    );
}
