//! `wirelab serve` as a program: it answers what `wirelab test` and
//! `wirelab trace` print, and a schema-based fuzzer (schemathesis) finds
//! neither a 5xx nor an answer that breaks the OpenAPI document.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_wirelab")
}

fn lab(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../labs")
        .join(name)
}

mod common;
use common::serve;

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(120)))
        .build()
        .into()
}

fn cli(args: &[&str]) -> String {
    let out = Command::new(bin())
        .args(args)
        .output()
        .expect("wirelab runs");
    String::from_utf8(out.stdout).expect("UTF-8")
}

#[test]
fn runs_and_traces_answer_what_the_commands_print() {
    let path = lab("03-vpc-security.yaml");
    let path = path.to_str().expect("a UTF-8 path");
    let s = serve([path, "--speed", "max"]);
    let a = agent();
    let mut run = a
        .post(format!("{}/labs/03-vpc-security/runs", s.base))
        .send_empty()
        .expect("an answer");
    assert_eq!(run.status(), 200);
    let body = run.body_mut().read_to_string().expect("text");
    assert_eq!(body, cli(&["test", path, "--format", "json"]));

    for (from, to, port) in [
        ("bastion", "web1", "22"),
        ("web1", "db1", "5432"),
        ("client", "app2", "8080"),
    ] {
        let request =
            serde_json::json!({ "from": from, "to": to, "port": port.parse::<u16>().unwrap() });
        let mut t = a
            .post(format!("{}/labs/03-vpc-security/trace", s.base))
            .header("content-type", "application/json")
            .send(request.to_string())
            .expect("an answer");
        assert_eq!(t.status(), 200);
        let api: serde_json::Value =
            serde_json::from_str(&t.body_mut().read_to_string().expect("text")).expect("json");
        let printed: serde_json::Value = serde_json::from_str(&cli(&[
            "trace", path, "--from", from, "--to", to, "--port", port, "--format", "json",
        ]))
        .expect("json");
        assert_eq!(api, printed, "{from} → {to}:{port}");
    }
}

#[test]
fn an_invalid_lab_is_not_served() {
    let dir = std::env::temp_dir().join(format!("wirelab-serve-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a directory");
    let file = dir.join("bad.yaml");
    std::fs::write(&file, "lab: bad\nnetworks: 5\n").expect("written");
    let out = Command::new(bin())
        .args([
            "serve",
            file.to_str().expect("utf-8"),
            "--listen",
            "127.0.0.1:0",
        ])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.yaml:2:11: error:"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// The schemathesis program: $WIRELAB_SCHEMATHESIS, or on PATH.
fn schemathesis() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("WIRELAB_SCHEMATHESIS") {
        return Some(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join("schemathesis"))
        .find(|p| p.is_file())
}

#[test]
fn schemathesis_finds_no_server_error_and_no_schema_violation() {
    let Some(st) = schemathesis() else {
        if std::env::var_os("WIRELAB_REQUIRE_SCHEMATHESIS").is_some_and(|v| v == "1") {
            panic!("WIRELAB_REQUIRE_SCHEMATHESIS=1 but schemathesis is not installed");
        }
        eprintln!("note: schemathesis not found (pip install schemathesis); API fuzzing skipped");
        return;
    };
    let labs: Vec<String> = [
        "01-one-router.yaml",
        "03-vpc-security.yaml",
        "06-traffic-over-a-wan.yaml",
    ]
    .iter()
    .map(|l| lab(l).to_str().expect("utf-8").to_string())
    .collect();
    let mut args: Vec<&str> = labs.iter().map(String::as_str).collect();
    args.extend(["--speed", "max"]);
    let s = serve(&args);
    let config =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../wirelab-server/tests/schemathesis.toml");
    let out = Command::new(&st)
        .arg("--config-file")
        .arg(&config)
        .args([
            "run",
            &format!("{}/openapi.json", s.base),
            "--checks",
            "all",
            "--max-examples",
            "25",
            "--seed",
            "1",
            "--workers",
            "1",
            "--request-timeout",
            "60",
            // The event stream never ends: tests/api.rs covers it.
            "--exclude-path-regex",
            "/events$",
            "--no-color",
        ])
        .env("SCHEMATHESIS_HOOKS", "")
        // Its cache (.schemathesis/) goes there, not into the source tree.
        .current_dir(std::env::temp_dir())
        .output()
        .expect("schemathesis runs");
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "schemathesis found problems:\n{report}"
    );
    assert!(report.contains("passed"), "{report}");
}

/// `/metrics` covers every lab: what each simulation counted and the last
/// run of each lab's checks; promtool accepts the exposition.
#[test]
fn metrics_cover_every_lab_and_promtool_accepts_them() {
    let vpc = lab("03-vpc-security.yaml");
    let wan = lab("06-traffic-over-a-wan.yaml");
    let s = serve([
        vpc.to_str().expect("UTF-8"),
        wan.to_str().expect("UTF-8"),
        "--speed",
        "max",
    ]);
    let a = agent();
    let run = a
        .post(format!("{}/labs/03-vpc-security/runs", s.base))
        .send_empty()
        .expect("an answer");
    assert_eq!(run.status(), 200);
    // The WAN lab's traffic runs to its end at --speed max; wait for it.
    let mut finished = false;
    for _ in 0..600 {
        let mut lab = a
            .get(format!("{}/labs/06-traffic-over-a-wan", s.base))
            .call()
            .expect("an answer");
        let v: serde_json::Value =
            serde_json::from_str(&lab.body_mut().read_to_string().expect("text")).expect("json");
        if v["clock"]["state"] == "finished" {
            finished = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(finished, "the WAN lab's run ends");
    let root = s.base.trim_end_matches("/api/v1");
    let mut m = a.get(format!("{root}/metrics")).call().expect("an answer");
    assert_eq!(m.status(), 200);
    let ctype = m
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    assert!(ctype.starts_with("text/plain; version=0.0.4"), "{ctype}");
    let text = m.body_mut().read_to_string().expect("text");
    // One HELP per family although two labs report.
    assert_eq!(
        text.matches("# HELP wirelab_interface_bytes_total ")
            .count(),
        1,
        "{text}"
    );
    assert!(text.contains(r#"wirelab_checks{lab="03-vpc-security",result="pass"} 21"#));
    let sent = text
        .lines()
        .filter(|l| {
            l.starts_with(r#"wirelab_interface_bytes_total{lab="06-traffic-over-a-wan""#)
                && l.contains(r#"direction="tx""#)
        })
        .map(|l| {
            l.rsplit(' ')
                .next()
                .unwrap_or("0")
                .parse::<u64>()
                .unwrap_or(0)
        })
        .sum::<u64>();
    assert!(sent > 2_000_000, "the backup's 2 MB crossed: {sent}");

    let promtool = Command::new("promtool").arg("--version").output().is_ok();
    if !promtool {
        assert!(
            std::env::var_os("WIRELAB_REQUIRE_PROMTOOL").is_none(),
            "promtool is not installed, and WIRELAB_REQUIRE_PROMTOOL=1 requires it"
        );
        eprintln!("promtool not installed: the exposition was not checked by it");
        return;
    }
    let mut check = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool runs");
    use std::io::Write;
    check
        .stdin
        .take()
        .expect("stdin")
        .write_all(text.as_bytes())
        .expect("written");
    let out = check.wait_with_output().expect("promtool ends");
    assert!(
        out.status.success() && out.stdout.is_empty() && out.stderr.is_empty(),
        "promtool: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn listening_beyond_loopback_needs_a_token() {
    let path = lab("01-one-router.yaml");
    let path = path.to_str().expect("UTF-8");
    for (args, says) in [
        (vec!["--listen", "0.0.0.0:0"], "not a loopback address"),
        (vec!["--token", "short"], "at least 16 characters"),
    ] {
        let out = Command::new(bin())
            .args(["serve", path])
            .args(&args)
            .env_remove("WIRELAB_TOKEN")
            .output()
            .expect("wirelab runs");
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(says), "{args:?}: {err}");
    }
}

/// SIGTERM and SIGINT (Ctrl-C) stop the server gracefully: exit status 0,
/// and an open event stream ends instead of hanging.
#[test]
fn sigterm_and_sigint_stop_the_server_gracefully() {
    let wan = lab("06-traffic-over-a-wan.yaml");
    for signal in ["-TERM", "-INT"] {
        let mut s = serve([wan.to_str().expect("UTF-8"), "--speed", "1x"]);
        let url = format!("{}/labs/06-traffic-over-a-wan/events", s.base);
        // A subscriber in the middle of its stream.
        let reader = std::thread::spawn(move || {
            let mut r = agent().get(url).call().expect("the stream opens");
            r.body_mut().read_to_string().map(|t| t.len())
        });
        std::thread::sleep(Duration::from_millis(300));
        let status = Command::new("kill")
            .arg(signal)
            .arg(s.child.id().to_string())
            .status()
            .expect("kill runs");
        assert!(status.success());
        let code = s.child.wait().expect("the server ends");
        assert_eq!(code.code(), Some(0), "after kill {signal}");
        let read = reader.join().expect("the reader ends");
        assert!(read.is_ok(), "the stream ended cleanly: {read:?}");
    }
}
