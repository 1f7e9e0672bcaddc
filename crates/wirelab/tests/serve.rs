//! `wirelab serve` as a program: it answers what `wirelab test` and
//! `wirelab trace` print, and a schema-based fuzzer (schemathesis) finds
//! neither a 5xx nor an answer that breaks the OpenAPI document.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_wirelab")
}

fn lab(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../labs")
        .join(name)
}

/// A `wirelab serve` on a free port of 127.0.0.1; killed when dropped.
struct Served {
    child: Child,
    base: String,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(args: &[&str]) -> Served {
    let mut child = Command::new(bin())
        .arg("serve")
        .args(args)
        .args(["--listen", "127.0.0.1:0"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("wirelab serve starts");
    let stderr = child.stderr.take().expect("stderr");
    let mut line = String::new();
    BufReader::new(stderr)
        .read_line(&mut line)
        .expect("the first line");
    // "serving N labs on http://127.0.0.1:PORT/api/v1/labs (Ctrl-C stops)"
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("no address in {line:?}"));
    let base = url.trim_end_matches("/labs").to_string();
    Served { child, base }
}

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
    let s = serve(&[path, "--speed", "max"]);
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
