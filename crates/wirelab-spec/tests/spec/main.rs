//! wirelab-spec's integration tests, one binary:
//! - `acceptance`: the shared acceptance labs (valid ones load with the right
//!   content, invalid ones give the expected diagnostics; insta snapshots);
//! - `mistakes`: one user mistake per test, each must be reported where it is;
//! - `resolution`: what the validator fills in (addresses, gateways, links,
//!   defaults, families);
//! - `hostile`: inputs that must give a diagnostic and never a panic;
//! - `traffic`: link jitter and state, TCP settings, workloads, events and
//!   checks on workloads;
//! - `dns`: zones inline and in master files, servers, private zones, the
//!   synthesized hierarchy, resolvers, dns checks and names in `to:`;
//! - `http`: HTTP and HTTPS services, certificates, http checks.
//! - `framing`: `framing:` of links (PPP) and its mistakes.
//! - `ssh`: users and their public keys, ssh hosts, ssh checks and their
//!   jump chains.
//! - `nat`: `nat:` on routers (source NAT, port forwards, 1:1 mappings).
//! - `routing`: `ospf:` and `rip:`, route distances, router events, checks
//!   `at:` a time and convergence checks.

mod acceptance;
mod dns;
mod framing;
mod hostile;
mod http;
mod mistakes;
mod nat;
mod resolution;
mod routing;
mod ssh;
mod traffic;

use wirelab_spec::{parse_str, Diagnostic, Loaded, Severity};

/// Loads lab text that must be valid.
pub fn valid(text: &str) -> Loaded {
    match parse_str("lab.yaml", text) {
        Ok(loaded) => loaded,
        Err(diagnostics) => panic!("expected a valid lab, got:\n{}", render(&diagnostics)),
    }
}

/// The rendered diagnostics of lab text that must be invalid.
pub fn invalid(text: &str) -> Vec<String> {
    match parse_str("lab.yaml", text) {
        Ok(_) => panic!("expected an invalid lab:\n{text}"),
        Err(diagnostics) => {
            assert!(diagnostics.iter().any(|d| d.severity == Severity::Error));
            diagnostics.iter().map(ToString::to_string).collect()
        }
    }
}

/// `tests/fixtures/DIR/NAME`, a file that must be rejected: every
/// diagnostic, rendered.
pub fn mistakes_in(dir: &str, name: &str) -> String {
    let text = std::fs::read_to_string(format!("tests/fixtures/{dir}/{name}")).unwrap();
    match parse_str(name, &text) {
        Ok(_) => panic!("{dir}/{name} must be rejected"),
        Err(diagnostics) => render(&diagnostics),
    }
}

pub fn render(diagnostics: &[Diagnostic]) -> String {
    diagnostics.iter().map(|d| format!("{d}\n")).collect()
}

/// Asserts that one diagnostic starts with `prefix` (`lab.yaml:LINE:COL: error`)
/// and contains every one of `words`.
#[track_caller]
pub fn assert_has(diagnostics: &[String], prefix: &str, words: &[&str]) {
    let found = diagnostics
        .iter()
        .any(|d| d.starts_with(prefix) && words.iter().all(|w| d.contains(w)));
    assert!(
        found,
        "no diagnostic `{prefix}` with {words:?} in:\n{}",
        diagnostics.join("\n")
    );
}

/// A minimal valid lab, to which tests append sections.
pub const BASE: &str =
    "lab: t\nnetworks:\n  lan: { cidr: 10.0.0.0/24 }\nhosts:\n  a: { network: lan }\n";
