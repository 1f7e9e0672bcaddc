//! The dashboard of `wirelab serve` clicked through by Playwright: the
//! Node script web/tests/dashboard.mjs (playwright-core from npm) drives
//! Debian's Chromium over the page as a person would and saves a
//! screenshot of each view in target/dashboard-screenshots/.
//!
//! Needs `node`, web/tests/node_modules/playwright-core (`npm ci --prefix
//! web/tests`) and Chromium (/usr/bin/chromium, or WIRELAB_CHROMIUM).
//! When one is missing the test is skipped with a note, unless
//! WIRELAB_REQUIRE_PLAYWRIGHT=1 (scripts/test-all installs them and sets
//! it), which makes it fail.

use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Everything the script needs, or why the test cannot run.
fn tools() -> Result<PathBuf, String> {
    let node = Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !node {
        return Err("node is not installed".into());
    }
    let package = repo().join("web/tests/node_modules/playwright-core/package.json");
    if !package.is_file() {
        return Err(format!(
            "playwright-core is not installed ({} missing: run `npm ci --prefix web/tests`)",
            package.display()
        ));
    }
    let browser = std::env::var_os("WIRELAB_CHROMIUM")
        .map_or_else(|| "/usr/bin/chromium".into(), PathBuf::from);
    if !browser.is_file() {
        return Err(format!("{} is not installed", browser.display()));
    }
    Ok(browser)
}

mod common;
use common::Served;

fn serve(labs: &[&str], speed: &str) -> Served {
    common::serve(
        labs.iter()
            .map(|l| repo().join("labs").join(l).into_os_string())
            .chain(["--speed".into(), speed.into()]),
    )
}

const SHOTS: [&str; 8] = [
    "topology.png",
    "checks.png",
    "failing-check.png",
    "trace-allowed.png",
    "trace.png",
    "rules.png",
    "flows.png",
    "events.png",
];

/// A PNG of the page: the signature, then an IHDR chunk as wide and high
/// as the viewport the script asks for, and more than a blank page weighs.
fn assert_screenshot(path: &Path) {
    let data = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(
        data.starts_with(b"\x89PNG\r\n\x1a\n") && data.get(12..16) == Some(b"IHDR".as_slice()),
        "{} is not a PNG",
        path.display()
    );
    let width = u32::from_be_bytes(data[16..20].try_into().expect("4 bytes"));
    let height = u32::from_be_bytes(data[20..24].try_into().expect("4 bytes"));
    assert_eq!((width, height), (1400, 900), "{}", path.display());
    assert!(
        data.len() > 20_000,
        "{} has {} bytes: too few for a drawn page",
        path.display(),
        data.len()
    );
}

#[test]
fn a_person_clicks_through_the_dashboard() {
    let browser = match tools() {
        Ok(b) => b,
        Err(why) => {
            assert!(
                std::env::var_os("WIRELAB_REQUIRE_PLAYWRIGHT").is_none(),
                "WIRELAB_REQUIRE_PLAYWRIGHT is set but {why}"
            );
            eprintln!("{why}: Playwright dashboard test skipped");
            return;
        }
    };
    // 1x, so the WAN lab's flows run and its events arrive while the
    // browser looks (the script restarts that lab's clock when it gets
    // there).
    let served = serve(
        &[
            "03-vpc-security.yaml",
            "05-exercise-fix-the-vpc.yaml",
            "06-traffic-over-a-wan.yaml",
        ],
        "1x",
    );
    let shots = repo().join("target/dashboard-screenshots");
    for shot in SHOTS {
        let _ = std::fs::remove_file(shots.join(shot));
    }
    let out = Command::new("node")
        .arg(repo().join("web/tests/dashboard.mjs"))
        .arg(&served.root)
        .arg(&shots)
        .env("WIRELAB_CHROMIUM", &browser)
        .output()
        .expect("node runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "the dashboard script failed ({}):\n{stdout}{stderr}",
        out.status
    );
    assert!(stdout.contains("dashboard: every step passed"), "{stdout}");
    for shot in SHOTS {
        assert_screenshot(&shots.join(shot));
    }
}
