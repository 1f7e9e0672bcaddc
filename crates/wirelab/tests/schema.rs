//! `wirelab schema`: the committed copy is the program's output, every
//! example lab names it on its first line, a real, independent validator
//! (check-jsonschema from PyPI, with its own YAML parser) accepts every lab
//! that `wirelab check` accepts and rejects deliberately wrong ones, and
//! yaml-language-server (what editors run) finds the schema through the
//! first line, underlines mistakes where they are and explains keys on
//! hover.
//!
//! The validator tests skip with a note when check-jsonschema is missing,
//! unless `WIRELAB_REQUIRE_CHECK_JSONSCHEMA=1` (set by `scripts/test-all`,
//! which installs it into a venv under target/ and names it in
//! `WIRELAB_CHECK_JSONSCHEMA`), which makes them fail instead. The
//! yaml-language-server test likewise needs node and `npm ci --prefix
//! crates/wirelab/tests/yamlls`, and `WIRELAB_REQUIRE_YAMLLS=1`.

mod common;
use common::{example_labs, scratch};

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const MODELINE: &str = "# yaml-language-server: $schema=";

fn wirelab(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_wirelab"))
        .args(args)
        .output()
        .expect("the binary runs")
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn committed_schema() -> PathBuf {
    root().join("schema/wirelab-lab.schema.json")
}

#[test]
fn the_committed_schema_is_the_programs_output() {
    let o = wirelab(&["schema"]);
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    let printed = String::from_utf8(o.stdout).unwrap();
    let committed = std::fs::read_to_string(committed_schema()).unwrap();
    assert!(
        printed == committed,
        "schema/wirelab-lab.schema.json is stale: run `wirelab schema -o schema/wirelab-lab.schema.json`"
    );
    let value: serde_json::Value = serde_json::from_str(&printed).expect("JSON");
    assert_eq!(value["$schema"], "http://json-schema.org/draft-07/schema#");
    assert_eq!(value["required"], serde_json::json!(["lab", "hosts"]));
    // `networks:` may be left out when `vpcs:` makes the networks.
    assert_eq!(
        value["anyOf"],
        serde_json::json!([{ "required": ["networks"] }, { "required": ["vpcs"] }])
    );
    // The same bytes again, and the same bytes in a file.
    assert_eq!(wirelab(&["schema"]).stdout, printed.as_bytes());
    let file = scratch("output").join("lab.schema.json");
    let o = wirelab(&["schema", "--output", file.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    assert!(o.stdout.is_empty());
    assert_eq!(std::fs::read_to_string(&file).unwrap(), printed);
}

#[test]
fn a_schema_file_that_cannot_be_written_is_exit_status_2() {
    let file = scratch("unwritable").join("no-such-dir").join("s.json");
    let o = wirelab(&["schema", "-o", file.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.starts_with(&format!("{}: error: cannot write the file", file.display())),
        "{err}"
    );
}

/// yaml-language-server resolves a relative `$schema=` path from the YAML
/// file's own folder; the path written must lead to the committed schema.
#[test]
fn every_example_lab_names_the_schema_on_its_first_line() {
    for lab in example_labs() {
        let text = std::fs::read_to_string(&lab).unwrap();
        let first = text.lines().next().unwrap_or_default();
        let relative = first
            .strip_prefix(MODELINE)
            .unwrap_or_else(|| panic!("{}: the first line is `{first}`", lab.display()));
        let target = lab.parent().unwrap().join(relative);
        assert!(
            relative.starts_with("../") && !relative.contains('\\'),
            "{}: `{relative}` must be relative, with forward slashes",
            lab.display()
        );
        assert_eq!(
            std::fs::canonicalize(&target).ok(),
            std::fs::canonicalize(committed_schema()).ok(),
            "{}: `{relative}` does not lead to schema/wirelab-lab.schema.json",
            lab.display()
        );
    }
}

/// check-jsonschema: $WIRELAB_CHECK_JSONSCHEMA, else on PATH. `None` (the
/// test skips) when missing, unless it is required.
fn check_jsonschema() -> Option<PathBuf> {
    let found = std::env::var_os("WIRELAB_CHECK_JSONSCHEMA")
        .map(PathBuf::from)
        .or_else(|| {
            let path = std::env::var_os("PATH")?;
            std::env::split_paths(&path)
                .map(|d| d.join("check-jsonschema"))
                .find(|p| p.is_file())
        });
    if found.is_none() {
        if std::env::var("WIRELAB_REQUIRE_CHECK_JSONSCHEMA").as_deref() == Ok("1") {
            panic!("check-jsonschema is not installed, and WIRELAB_REQUIRE_CHECK_JSONSCHEMA=1 requires it");
        }
        eprintln!("note: check-jsonschema not found (pip install check-jsonschema): test skipped");
    }
    found
}

/// `check-jsonschema --schemafile SCHEMA FILES...`.
fn validate(tool: &Path, files: &[PathBuf]) -> Output {
    Command::new(tool)
        .arg("--schemafile")
        .arg(committed_schema())
        .args(files)
        .output()
        .expect("check-jsonschema runs")
}

#[test]
fn the_schema_is_a_valid_draft_07_schema() {
    let Some(tool) = check_jsonschema() else {
        return;
    };
    let o = Command::new(&tool)
        .arg("--check-metaschema")
        .arg(committed_schema())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{o:?}");
}

#[test]
fn check_jsonschema_accepts_every_example_lab() {
    let Some(tool) = check_jsonschema() else {
        return;
    };
    let labs = example_labs();
    let o = validate(&tool, &labs);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}

/// Every lab file of the test suites that `wirelab check` accepts is valid
/// against the schema too: the schema never refuses what the reader takes.
#[test]
fn check_jsonschema_accepts_every_lab_the_reader_accepts() {
    let Some(tool) = check_jsonschema() else {
        return;
    };
    let mut files = Vec::new();
    let mut stack = vec![
        root().join("crates/wirelab-spec/tests/fixtures"),
        root().join("crates/wirelab/tests"),
    ];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "yaml") {
                files.push(path);
            }
        }
    }
    files.sort();
    // A template with `variables:` is not YAML for other tools where a
    // `${name}` stands inside `{ }`: what the reader reads, and what the
    // schema must accept, is a variant of it.
    let variants =
        std::env::temp_dir().join(format!("wirelab-schema-variants-{}", std::process::id()));
    std::fs::create_dir_all(&variants).unwrap();
    let accepted: Vec<PathBuf> = files
        .into_iter()
        .filter(|f| wirelab(&["check", f.to_str().unwrap()]).status.success())
        .map(|f| {
            let text = std::fs::read_to_string(&f).unwrap();
            if !text.lines().any(|l| l.starts_with("variables:")) {
                return f;
            }
            let out = variants.join(f.file_name().unwrap());
            let o = wirelab(&[
                "variant",
                f.to_str().unwrap(),
                "--student",
                "schema",
                "-o",
                out.to_str().unwrap(),
            ]);
            assert!(o.status.success(), "{o:?}");
            out
        })
        .collect();
    assert!(accepted.len() >= 20, "only {} labs found", accepted.len());
    let o = validate(&tool, &accepted);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
}

/// A small valid lab, and mistakes made in it one at a time: each is
/// rejected by `wirelab check` and by the schema, at the path given.
const BASE: &str = r#"lab: mistakes
networks:
  lan: { cidr: 10.0.0.0/24, link: { bandwidth: 100Mbps, delay: 1ms } }
  wan: { cidr: 10.9.0.0/24 }
routers:
  r: { interfaces: { lan: 10.0.0.1, wan: 10.9.0.1 }, routes: [{ to: 10.8.0.0/16, via: 10.9.0.2 }] }
hosts:
  a: { network: lan, security_groups: [sg] }
  b: { network: wan, services: [{ port: 80, app: http }] }
security_groups:
  sg:
    inbound:
      - { proto: tcp, ports: 1024-65535, from: 10.0.0.0/8 }
nacls:
  n:
    inbound:
      - { rule: 100, action: allow, proto: all, cidr: 0.0.0.0/0 }
traffic:
  - { name: dl, from: a, to: b, port: 80, bulk: 1MB }
events:
  - { at: 1s, link_down: wan }
checks:
  - { name: web, from: a, to: b, port: 80, expect: allow }
  - { name: dl fast, traffic: dl, expect: { complete_within: 5s } }
"#;

/// (what, the text replaced, its replacement, a word of the validator's
/// message about it).
const MISTAKES: &[(&str, &str, &str, &str)] = &[
    (
        "a misspelt key",
        "security_groups: [sg]",
        "secuirty_groups: [sg]",
        "secuirty_groups",
    ),
    (
        "a bandwidth without a unit",
        "bandwidth: 100Mbps",
        "bandwidth: 100",
        "bandwidth",
    ),
    ("an unknown unit", "delay: 1ms", "delay: 1 sec", "delay"),
    (
        "an unknown protocol",
        "proto: tcp, ports",
        "proto: tpc, ports",
        "proto",
    ),
    (
        "a port out of range",
        "port: 80, app: http",
        "port: 80000, app: http",
        "80000",
    ),
    (
        "a route with no next hop",
        "via: 10.9.0.2 }",
        "blackhole: false }",
        "routes",
    ),
    (
        "a NACL action that is not allow or deny",
        "action: allow",
        "action: permit",
        "permit",
    ),
    (
        "a prefix with a length above 32",
        "cidr: 10.9.0.0/24",
        "cidr: 10.9.0.0/33",
        "10.9.0.0/33",
    ),
    (
        "a workload with two kinds",
        "bulk: 1MB }",
        "bulk: 1MB, ping: { count: 3 } }",
        "traffic",
    ),
    (
        "an event with no action",
        "{ at: 1s, link_down: wan }",
        "{ at: 1s }",
        "events",
    ),
    (
        "a probe that expects a workload's map",
        "port: 80, expect: allow",
        "port: 80, expect: { complete_within: 1s }",
        "checks",
    ),
    (
        "an unknown outcome",
        "expect: allow",
        "expect: allowed",
        "checks",
    ),
    (
        "a check on a workload that names ends",
        "traffic: dl, expect",
        "traffic: dl, from: a, expect",
        "checks",
    ),
    (
        "a host without a network",
        "b: { network: wan, services",
        "b: { services",
        "network",
    ),
    (
        "a tcp probe without a port",
        "to: b, port: 80, expect: allow",
        "to: b, expect: allow",
        "port",
    ),
    (
        "a ping workload with a port",
        "port: 80, bulk: 1MB }",
        "port: 80, ping: { count: 3 } }",
        "does not allow 80",
    ),
    (
        "an ssh user name with capitals",
        "events:\n",
        "ssh:\n  users:\n    Alice: { password: true }\nevents:\n",
        "Alice",
    ),
    (
        "a route that both forwards and answers",
        "app: http }",
        "app: http, routes: [{ path: /x, status: 404, upstream: \"a:80\" }] }",
        "services",
    ),
    (
        "a route path without its slash",
        "app: http }",
        "app: http, routes: [{ path: health, text: ok }] }",
        "health",
    ),
    (
        "an HTTP key on a service that is not HTTP",
        "app: http }",
        "app: ssh, upstream: \"a:80\" }",
        "services",
    ),
];

#[test]
fn check_jsonschema_rejects_mistakes_that_wirelab_check_rejects() {
    let Some(tool) = check_jsonschema() else {
        return;
    };
    let dir = scratch("mistakes");
    let base = dir.join("base.yaml");
    std::fs::write(&base, BASE).unwrap();
    let o = wirelab(&["check", base.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "the base lab is valid: {o:?}");
    let o = validate(&tool, std::slice::from_ref(&base));
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    for (index, (what, from, to, word)) in MISTAKES.iter().enumerate() {
        assert_eq!(BASE.matches(from).count(), 1, "{what}: `{from}` once");
        let file = dir.join(format!("mistake-{index}.yaml"));
        std::fs::write(&file, BASE.replacen(from, to, 1)).unwrap();
        let o = wirelab(&["check", file.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(2), "{what}: wirelab check rejects it");
        let o = validate(&tool, std::slice::from_ref(&file));
        let out = String::from_utf8_lossy(&o.stdout);
        assert_eq!(
            o.status.code(),
            Some(1),
            "{what}: the schema rejects it:\n{out}"
        );
        assert!(out.contains(word), "{what}: `{word}` in\n{out}");
    }
}

/// yaml-language-server's language service (what VS Code's YAML extension
/// and neovim's yamlls run), from crates/wirelab/tests/yamlls (installed by
/// `scripts/test-all` with `npm ci`), driven by node. `None` (the test
/// skips) when missing, unless `WIRELAB_REQUIRE_YAMLLS=1`.
fn yamlls() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/yamlls");
    let installed = dir
        .join("node_modules/yaml-language-server/package.json")
        .is_file();
    let node = Command::new("node").arg("--version").output().is_ok();
    if installed && node {
        return Some(dir.join("check.mjs"));
    }
    if std::env::var("WIRELAB_REQUIRE_YAMLLS").as_deref() == Ok("1") {
        panic!("node or yaml-language-server is missing (npm ci --prefix crates/wirelab/tests/yamlls), and WIRELAB_REQUIRE_YAMLLS=1 requires them");
    }
    eprintln!("note: node or yaml-language-server not installed: test skipped");
    None
}

fn node(script: &Path, args: &[&str]) -> (Option<i32>, String) {
    let o = Command::new("node")
        .arg(script)
        .args(args)
        .output()
        .expect("node runs");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.trim().is_empty(), "node said: {err}");
    (
        o.status.code(),
        String::from_utf8_lossy(&o.stdout).into_owned(),
    )
}

/// `to` written relative to the folder `from`, with forward slashes.
fn relative(from: &Path, to: &Path) -> String {
    let from: Vec<_> = from.components().collect();
    let to: Vec<_> = to.components().collect();
    let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
    let mut parts: Vec<String> = vec!["..".to_string(); from.len() - common];
    parts.extend(
        to[common..]
            .iter()
            .map(|c| c.as_os_str().to_string_lossy().into_owned()),
    );
    parts.join("/")
}

#[test]
fn yaml_language_server_checks_labs_as_an_editor_does() {
    let Some(script) = yamlls() else {
        return;
    };
    // The example labs, each finding the schema through its first line.
    let labs: Vec<String> = example_labs()
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    let labs: Vec<&str> = labs.iter().map(String::as_str).collect();
    let (code, out) = node(&script, &labs);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.is_empty(), "{out}");

    // Hovering over a key explains it.
    let lab = root().join("labs/06-traffic-over-a-wan.yaml");
    let text = std::fs::read_to_string(&lab).unwrap();
    let (line, column) = text
        .lines()
        .enumerate()
        .find_map(|(i, l)| l.find("bandwidth: 10Mbps").map(|c| (i + 1, c + 2)))
        .expect("a bandwidth");
    let (code, hover) = node(
        &script,
        &[
            "--hover",
            lab.to_str().unwrap(),
            &line.to_string(),
            &column.to_string(),
        ],
    );
    assert_eq!(code, Some(0));
    assert!(
        hover.contains("A bandwidth: a number and a unit"),
        "{hover}"
    );

    // Mistakes, each underlined where it is; the schema is found through a
    // relative first line.
    let dir = std::fs::canonicalize(scratch("yamlls")).unwrap();
    let schema = std::fs::canonicalize(committed_schema()).unwrap();
    let file = dir.join("broken.yaml");
    std::fs::write(
        &file,
        format!(
            "{MODELINE}{}\nlab: broken\nnetworks:\n  lan: {{ cidr: 10.0.0.0/24, link: {{ bandwidth: 100 Mbit }} }}\nhosts:\n  a: {{ network: lan, secuirty_groups: [x] }}\n  b: {{ network: lan, services: [{{ port: 70000 }}] }}\ntraffic:\n  - {{ name: dl, from: a, to: b, port: 80, bulk: 1MB }}\nchecks:\n  - {{ name: c, traffic: dl, from: a, expect: {{ complete_within: 1s }} }}\n",
            relative(&dir, &schema)
        ),
    )
    .unwrap();
    let (code, out) = node(&script, &[file.to_str().unwrap()]);
    assert_eq!(code, Some(1), "{out}");
    let f = file.display();
    for expected in [
        format!("{f}:4:48: String does not match the pattern"),
        format!("{f}:6:22: Property secuirty_groups is not allowed."),
        format!("{f}:7:41: Value is above the maximum of 65535."),
        format!("{f}:11:29: Property from is not allowed."),
    ] {
        assert!(out.contains(&expected), "{expected} in\n{out}");
    }
    assert_eq!(out.lines().count(), 4, "{out}");
}
