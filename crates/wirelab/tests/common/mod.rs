//! What the tests of `wirelab serve` share: a server on a free port of
//! 127.0.0.1, killed when the test drops it. (Each test binary uses part
//! of it.)
#![allow(dead_code)]

use std::ffi::OsStr;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

pub struct Served {
    pub child: Child,
    /// `http://127.0.0.1:PORT` (the dashboard, `/metrics`).
    pub root: String,
    /// `http://127.0.0.1:PORT/api/v1`.
    pub base: String,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `wirelab serve ARGS... --listen 127.0.0.1:0`, once it listens (its
/// first line on stderr says where).
pub fn serve<I, S>(args: I) -> Served
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut child = Command::new(env!("CARGO_BIN_EXE_wirelab"))
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
    let root = base.trim_end_matches("/api/v1").to_string();
    Served { child, root, base }
}

/// The repository's root (tests name labs relative to it).
pub fn root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Runs `wirelab ARGS...` in the repository's root: (exit status,
/// stdout, stderr).
pub fn wirelab(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_wirelab"))
        .args(args)
        .current_dir(root())
        .output()
        .expect("wirelab runs");
    (
        out.status.code().expect("an exit status"),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A fresh directory for one test's files (under the system's temporary
/// directory, named after this process and the test).
pub fn scratch(test: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("wirelab-test-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The example labs: labs/*.yaml and labs/solutions/*.yaml, sorted.
pub fn example_labs() -> Vec<std::path::PathBuf> {
    let mut labs = Vec::new();
    for dir in ["labs", "labs/solutions"] {
        for entry in std::fs::read_dir(root().join(dir)).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "yaml") {
                labs.push(path);
            }
        }
    }
    labs.sort();
    assert!(labs.len() >= 10, "the example labs are found");
    labs
}
