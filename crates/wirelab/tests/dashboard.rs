//! The dashboard of `wirelab serve`, in a real browser: headless Chromium
//! loads the page from the server, the page calls the API, and the test
//! reads the document the page built (`--dump-dom`).
//!
//! The page keeps its state in the address's fragment (`#lab=…&tab=…`),
//! and `live=N` makes it stop listening to the event stream after N
//! events, so Chromium's virtual time (which waits for the network to be
//! idle) can end. Needs `chromium`; WIRELAB_REQUIRE_CHROMIUM=1 turns a
//! missing browser into a failure (scripts/test-all installs it).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn lab(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../labs")
        .join(name)
}

fn chromium() -> Option<&'static str> {
    let found = ["chromium", "chromium-browser"].into_iter().find(|c| {
        Command::new(c)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    });
    if found.is_none() {
        assert!(
            std::env::var_os("WIRELAB_REQUIRE_CHROMIUM").is_none(),
            "WIRELAB_REQUIRE_CHROMIUM is set but chromium is not installed"
        );
        eprintln!("chromium not installed: dashboard test skipped");
    }
    found
}

mod common;
use common::Served;

fn serve(labs: &[&Path], speed: &str) -> Served {
    common::serve(
        labs.iter()
            .map(|p| p.as_os_str().to_owned())
            .chain(["--speed".into(), speed.into()]),
    )
}

/// The document the page built, after its requests settled.
fn page(browser: &str, url: &str) -> String {
    let profile = tempdir();
    let out = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--window-size=1400,900",
            "--virtual-time-budget=5000",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(["--dump-dom", url])
        .stderr(Stdio::null())
        .output()
        .expect("chromium runs");
    let _ = std::fs::remove_dir_all(&profile);
    assert!(out.status.success(), "chromium failed on {url}");
    String::from_utf8(out.stdout).expect("UTF-8")
}

fn tempdir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "wirelab-dashboard-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

static COUNTER: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

fn count(haystack: &str, needle: &str) -> usize {
    haystack.matches(needle).count()
}

#[test]
fn the_page_draws_the_lab_and_grades_it() {
    let Some(browser) = chromium() else { return };
    let s = serve(&[&lab("03-vpc-security.yaml")], "max");
    let dom = page(
        browser,
        &format!("{}/#lab=03-vpc-security&tab=checks&run=1&live=0", s.root),
    );
    assert!(!dom.contains("The dashboard failed"), "{dom}");
    // Every node of the lab, routers and hosts by shape, and every network.
    for host in ["client", "admin", "bastion", "web1", "app1", "db1"] {
        assert!(
            dom.contains(&format!(r#"class="node host" data-node="{host}""#)),
            "host {host} is drawn"
        );
    }
    assert!(dom.contains(r#"class="node router" data-node="vpc""#));
    for net in ["internet", "public", "app", "data"] {
        assert!(
            dom.contains(&format!(r#"data-net="{net}""#)),
            "network {net}"
        );
    }
    // One line per interface: the router's four and one per host (nine).
    assert_eq!(count(&dom, r#"class="link"#), 4 + 9, "{dom}");
    // The checks ran: 21 pass, with the score line.
    assert!(
        dom.contains("21 passed, 0 failed · 32/32 points"),
        "the score line: {dom}"
    );
    assert_eq!(count(&dom, r#"<li class="pass">"#), 21);
    assert!(dom.contains("admitted by web-sg inbound rule 1"));
}

#[test]
fn a_failing_check_shows_its_explanation_and_hint() {
    let Some(browser) = chromium() else { return };
    let s = serve(&[&lab("05-exercise-fix-the-vpc.yaml")], "max");
    let dom = page(
        browser,
        &format!(
            "{}/#lab=05-exercise-fix-the-vpc&tab=checks&run=1&live=0",
            s.root
        ),
    );
    let fails = count(&dom, r#"<li class="fail">"#);
    assert!(fails > 0, "the exercise starts with failing checks: {dom}");
    assert_eq!(count(&dom, r#"<div class="hint">hint: "#), fails);
}

#[test]
fn the_trace_is_drawn_as_a_sequence_diagram() {
    let Some(browser) = chromium() else { return };
    let s = serve(&[&lab("03-vpc-security.yaml")], "max");
    let dom = page(
        browser,
        &format!(
            "{}/#lab=03-vpc-security&tab=trace&trace=client,web1,tcp,443&live=0",
            s.root
        ),
    );
    assert!(
        dom.contains(r#"<p id="trace-verdict" class="verdict allow">allow: tcp/443 to web1"#),
        "{dom}"
    );
    // The handshake's three segments and the ARP exchanges before them.
    for label in ["SYN seq=0", "SYN,ACK seq=0 ack=1", "ARP who-has 10.0.1.10"] {
        assert!(dom.contains(label), "arrow {label:?} in {dom}");
    }
    assert!(count(&dom, r#"<g class="frame">"#) >= 6);

    // A blocked exchange ends in a dropped arrow.
    let dom = page(
        browser,
        &format!(
            "{}/#lab=03-vpc-security&tab=trace&trace=web1,db1,tcp,5432&live=0",
            s.root
        ),
    );
    assert!(dom.contains(r#"class="verdict deny""#), "{dom}");
    assert!(dom.contains(r#"class="arrow dropped""#), "{dom}");
}

/// A lab with traffic: the rules panel counts hits (and marks the rule no
/// packet used), the flows table lists the workloads, and events arrive
/// over the live stream.
#[test]
fn rules_flows_and_events_follow_the_traffic() {
    let Some(browser) = chromium() else { return };
    let dir = tempdir();
    let path = dir.join("hits.yaml");
    std::fs::write(
        &path,
        "lab: hits\n\
         networks:\n  lan: { cidr: 10.0.0.0/24 }\n\
         hosts:\n  a: { network: lan }\n  b: { network: lan, security_groups: [b-sg], services: [{ port: 80 }] }\n\
         security_groups:\n  b-sg:\n    inbound:\n      - { proto: tcp, ports: 80, from: 10.0.0.0/24 }\n      - { proto: tcp, ports: 22, from: 10.0.0.0/24 }\n\
         traffic:\n  - { name: web, from: a, to: b, port: 80, bulk: 100KB }\n",
    )
    .expect("lab written");
    let s = serve(&[&path], "max");
    let dom = page(browser, &format!("{}/#lab=hits&tab=rules&live=2", s.root));
    let _ = std::fs::remove_dir_all(&dir);
    assert!(dom.contains("<h3>security group b-sg</h3>"), "{dom}");
    // The port-80 rule admitted the one connection; nobody used port 22.
    assert!(
        dom.contains(
            r#"<td>tcp 80 from 10.0.0.0/24</td><td class="num">10</td><td class="num">1</td>"#
        ),
        "{dom}"
    );
    assert_eq!(count(&dom, r#"<tr class="never-hit">"#), 1, "{dom}");
    assert!(dom.contains(r#"<td>web<div class="note">bulk</div></td>"#));
    assert!(dom.contains("finished"), "the transfer finished: {dom}");
    // The stream delivered the lab's events (two, then the page stopped).
    assert!(
        count(&dom, "<li><span class=\"t\">") >= 2,
        "events arrived: {dom}"
    );
}
