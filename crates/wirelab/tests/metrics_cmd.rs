//! `wirelab run LAB --metrics FILE` and `wirelab test LAB --metrics FILE`:
//! where the exposition goes, that it is the same bytes every time, and
//! that Prometheus's checker accepts it for the example labs.
//!
//! The promtool test skips with a note when promtool (Debian package
//! `prometheus`) is missing, unless `WIRELAB_REQUIRE_PROMTOOL=1` (set by
//! `scripts/test-all`), which makes it fail instead.

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

fn example(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../labs")
        .join(name)
        .to_string_lossy()
        .into_owned()
}

/// A fresh directory for one test's files.
fn scratch(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("wirelab-metrics-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn run_writes_the_metrics_file_besides_its_report_or_only_them_to_stdout() {
    let dir = scratch("run");
    let file = dir.join("wan.prom");
    let lab = example("06-traffic-over-a-wan.yaml");
    let o = wirelab(&["run", &lab, "--metrics", file.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    assert!(stdout(&o).contains("workloads"), "the report still comes");
    let written = std::fs::read_to_string(&file).unwrap();
    assert!(written.contains(
        r#"wirelab_tcp_connections_opened_total{lab="traffic-over-a-wan",side="active"} 2"#
    ));
    let o = wirelab(&["run", &lab, "--metrics", "-"]);
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(stdout(&o), written, "the same bytes, and no report");
}

#[test]
fn test_writes_the_check_results_as_metrics() {
    let lab = example("03-vpc-security.yaml");
    let o = wirelab(&["test", &lab, "--metrics", "-"]);
    let text = stdout(&o);
    assert!(text.starts_with("# HELP wirelab_checks "), "{text}");
    assert!(text.contains(r#"wirelab_check_passed{lab="vpc-security",check=""#));
    assert!(!text.contains("wirelab_interface"), "check results only");
    let again = wirelab(&["test", &lab, "--metrics", "-", "--threads", "1"]);
    assert_eq!(stdout(&again), text);
}

#[test]
fn a_metrics_file_that_cannot_be_written_is_exit_status_2() {
    let dir = scratch("unwritable");
    let file = dir.join("no-such-dir").join("m.prom");
    let o = wirelab(&[
        "run",
        &example("01-one-router.yaml"),
        "--metrics",
        file.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("cannot write the metrics"));
}

#[test]
fn promtool_accepts_the_metrics_of_the_example_labs() {
    let has_promtool = Command::new("promtool").arg("--version").output().is_ok();
    if !has_promtool {
        if std::env::var("WIRELAB_REQUIRE_PROMTOOL").as_deref() == Ok("1") {
            panic!("promtool is not installed, and WIRELAB_REQUIRE_PROMTOOL=1 requires it");
        }
        eprintln!("note: promtool not found (Debian package prometheus): test skipped");
        return;
    }
    let dir = scratch("promtool");
    for name in [
        "03-vpc-security.yaml",
        "06-traffic-over-a-wan.yaml",
        "07-what-happens-when-you-type-a-url.yaml",
        "10-https-three-tier.yaml",
        "13-ospf-triangle.yaml",
    ] {
        for cmd in ["run", "test"] {
            let file = dir.join(format!("{cmd}-{name}.prom"));
            let o = wirelab(&[cmd, &example(name), "--metrics", file.to_str().unwrap()]);
            assert!(matches!(o.status.code(), Some(0 | 1)), "{name}: {o:?}");
            let checked = Command::new("promtool")
                .args(["check", "metrics"])
                .stdin(std::fs::File::open(&file).unwrap())
                .output()
                .unwrap();
            let said = format!(
                "{}{}",
                stdout(&checked),
                String::from_utf8_lossy(&checked.stderr)
            );
            assert!(checked.status.success(), "{cmd} {name}: {said}");
            assert!(said.trim().is_empty(), "{cmd} {name}: {said}");
        }
    }
}
