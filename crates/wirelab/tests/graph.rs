//! `wirelab graph`: every example lab in every format, the same bytes on
//! every run; DOT read by real Graphviz, SVG parsed as XML with every node
//! drawn inside the picture and no two boxes overlapping, Mermaid and D2
//! checked for their structure; names that are special characters in each
//! syntax; mistakes.
//!
//! Mermaid's own parser and D2's own compiler (node, with
//! crates/wirelab/tests/{mermaid,d2} installed by `npm ci`) read the
//! Mermaid and D2 output.
//!
//! The Graphviz test skips with a note when `dot` (Debian package graphviz)
//! is missing, and the Mermaid and D2 tests when node or their package is,
//! unless `WIRELAB_REQUIRE_GRAPHVIZ=1` / `WIRELAB_REQUIRE_MERMAID=1` /
//! `WIRELAB_REQUIRE_D2=1` (set by `scripts/test-all`), which make them fail
//! instead.

mod common;
use common::{example_labs, scratch};

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use quick_xml::events::Event;
use quick_xml::Reader;

const FORMATS: [&str; 4] = ["dot", "mermaid", "d2", "svg"];

fn wirelab(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_wirelab"))
        .args(args)
        .output()
        .expect("the binary runs")
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// What the picture must show: (kind, name) of every node, and how many
/// attachments there are.
fn expected(lab: &Path) -> (BTreeSet<(String, String)>, usize) {
    let loaded = wirelab_spec::load(lab).expect("a valid lab");
    let lab = loaded.lab;
    let mut nodes = BTreeSet::new();
    nodes.extend(
        lab.networks
            .iter()
            .map(|n| ("network".to_string(), n.name.value.clone())),
    );
    nodes.extend(
        lab.routers
            .iter()
            .map(|r| ("router".to_string(), r.name.value.clone())),
    );
    nodes.extend(
        lab.hosts
            .iter()
            .map(|h| ("host".to_string(), h.name.value.clone())),
    );
    let edges = lab
        .routers
        .iter()
        .map(|r| r.interfaces.len())
        .sum::<usize>()
        + lab.hosts.len();
    (nodes, edges)
}

fn graph(lab: &Path, format: &str) -> String {
    let o = wirelab(&["graph", lab.to_str().unwrap(), "--format", format]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{} {format}: {o:?}",
        lab.display()
    );
    String::from_utf8(o.stdout).expect("UTF-8")
}

#[test]
fn every_example_lab_renders_in_every_format_the_same_way_twice() {
    for lab in example_labs() {
        for format in FORMATS {
            let first = graph(&lab, format);
            assert!(!first.is_empty() && first.ends_with('\n'));
            assert_eq!(graph(&lab, format), first, "{} {format}", lab.display());
        }
    }
}

#[test]
fn output_goes_to_a_file_with_output() {
    let lab = root().join("labs/03-vpc-security.yaml");
    let file = scratch("output").join("vpc.svg");
    let o = wirelab(&[
        "graph",
        lab.to_str().unwrap(),
        "--format",
        "svg",
        "-o",
        file.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    assert!(o.stdout.is_empty());
    assert_eq!(std::fs::read_to_string(&file).unwrap(), graph(&lab, "svg"));
}

/// A node box of the SVG: kind, name, x, y, width, height.
type Box = (String, String, f64, f64, f64, f64);

/// Parses the SVG as XML (every tag closed, every entity known) and
/// returns the viewBox's size and the node boxes.
fn parse_svg(svg: &str) -> ((f64, f64), Vec<Box>) {
    let mut reader = Reader::from_str(svg);
    reader.config_mut().check_end_names = true;
    let mut stack: Vec<String> = Vec::new();
    let mut view = None;
    let mut boxes: Vec<Box> = Vec::new();
    let mut group: Option<(String, String)> = None;
    loop {
        let event = reader.read_event().unwrap_or_else(|e| {
            panic!(
                "not well-formed at {}: {e}\n{svg}",
                reader.buffer_position()
            )
        });
        let (e, opens) = match event {
            Event::Start(e) => (e, true),
            Event::Empty(e) => (e, false),
            Event::End(_) => {
                stack.pop().expect("an end tag closes an open one");
                continue;
            }
            Event::Text(t) => {
                t.decode().expect("text decodes");
                let raw = String::from_utf8(t.as_ref().to_vec()).unwrap();
                quick_xml::escape::unescape(&raw).expect("known entities");
                continue;
            }
            Event::Eof => break,
            _ => continue,
        };
        {
            {
                let name = String::from_utf8(e.name().as_ref().to_vec()).unwrap();
                let mut attrs = std::collections::BTreeMap::new();
                for a in e.attributes() {
                    let a = a.expect("a well-formed attribute");
                    let key = String::from_utf8(a.key.as_ref().to_vec()).unwrap();
                    let value = a.unescape_value().expect("known entities").into_owned();
                    attrs.insert(key, value);
                }
                if name == "svg" {
                    assert!(stack.is_empty(), "svg is the root");
                    assert_eq!(attrs["xmlns"], "http://www.w3.org/2000/svg");
                    let v: Vec<f64> = attrs["viewBox"]
                        .split(' ')
                        .map(|n| n.parse().unwrap())
                        .collect();
                    assert_eq!(&v[..2], &[0.0, 0.0]);
                    view = Some((v[2], v[3]));
                }
                if name == "g" {
                    if let (Some(class), Some(data)) = (attrs.get("class"), attrs.get("data-name"))
                    {
                        group = Some((class.clone(), data.clone()));
                    }
                }
                if name == "rect" && stack.last().is_some_and(|t| t == "g") {
                    if let Some((kind, node)) = group.take() {
                        let num = |k: &str| attrs[k].parse::<f64>().unwrap();
                        boxes.push((kind, node, num("x"), num("y"), num("width"), num("height")));
                    }
                }
                if opens {
                    stack.push(name);
                }
            }
        }
    }
    assert!(stack.is_empty(), "unclosed tags: {stack:?}");
    (view.expect("an svg root with a viewBox"), boxes)
}

/// The SVG of `lab` is well-formed, draws every node once inside the
/// picture, no two boxes overlapping, and one line per attachment. Returns
/// the boxes.
fn check_svg(lab: &Path) -> ((f64, f64), Vec<Box>) {
    let svg = graph(lab, "svg");
    let ((width, height), boxes) = parse_svg(&svg);
    let (nodes, edges) = expected(lab);
    let drawn: BTreeSet<(String, String)> =
        boxes.iter().map(|b| (b.0.clone(), b.1.clone())).collect();
    assert_eq!(drawn, nodes, "{}", lab.display());
    assert_eq!(boxes.len(), nodes.len(), "each node once");
    assert_eq!(
        svg.matches("<polyline ").count(),
        edges,
        "{}",
        lab.display()
    );
    for (i, a) in boxes.iter().enumerate() {
        assert!(
            a.2 >= 0.0 && a.3 >= 0.0 && a.2 + a.4 <= width && a.3 + a.5 <= height,
            "{}: {a:?} outside {width}x{height}",
            lab.display()
        );
        for b in &boxes[i + 1..] {
            let apart =
                a.2 + a.4 <= b.2 || b.2 + b.4 <= a.2 || a.3 + a.5 <= b.3 || b.3 + b.5 <= a.3;
            assert!(apart, "{}: {a:?} overlaps {b:?}", lab.display());
        }
    }
    ((width, height), boxes)
}

#[test]
fn the_svg_is_well_formed_and_draws_every_node_inside_without_overlaps() {
    for lab in example_labs() {
        check_svg(&lab);
    }
}

/// A subnet of 14 hosts draws as a grid of at most 6 columns under its
/// network, not as one wide row.
#[test]
fn the_hosts_of_a_big_subnet_wrap_into_a_grid() {
    let dir = scratch("grid");
    let lab = dir.join("grid.yaml");
    let mut text = String::from(
        "lab: grid\nnetworks:\n  a: { cidr: 10.0.0.0/24 }\n  b: { cidr: 10.0.1.0/24 }\nrouters:\n  r: { interfaces: { a: 10.0.0.1, b: 10.0.1.1 } }\nhosts:\n",
    );
    for i in 1..=14 {
        text.push_str(&format!("  web{i}: {{ network: a }}\n"));
    }
    text.push_str("  db: { network: b }\n");
    std::fs::write(&lab, text).unwrap();
    let (_, boxes) = check_svg(&lab);
    let web: Vec<&Box> = boxes.iter().filter(|b| b.1.starts_with("web")).collect();
    let columns: BTreeSet<i64> = web.iter().map(|b| (b.2 + b.4 / 2.0) as i64).collect();
    let lines: BTreeSet<i64> = web.iter().map(|b| b.3 as i64).collect();
    assert_eq!((columns.len(), lines.len()), (6, 3), "{web:?}");
    // Each network is above its hosts, and the grid starts in file order.
    let at = |name: &str| boxes.iter().find(|b| b.1 == name).unwrap();
    assert!(at("a").3 + at("a").5 < at("web1").3);
    assert!(at("web1").2 < at("web2").2 && at("web1").3 < at("web7").3);
}

/// `dot -Tsvg`: Graphviz reads the DOT and draws one node and one edge per
/// node and attachment of the lab. `None` when Graphviz is missing.
fn graphviz(dot: &str) -> Option<String> {
    let child = Command::new("dot")
        .arg("-Tsvg")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let Ok(mut child) = child else {
        if std::env::var("WIRELAB_REQUIRE_GRAPHVIZ").as_deref() == Ok("1") {
            panic!("Graphviz (dot) is not installed, and WIRELAB_REQUIRE_GRAPHVIZ=1 requires it");
        }
        eprintln!("note: dot not found (Debian package graphviz): test skipped");
        return None;
    };
    child
        .stdin
        .take()
        .unwrap()
        .write_all(dot.as_bytes())
        .unwrap();
    let o = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        o.status.success() && err.trim().is_empty(),
        "dot refused or warned: {err}\n{dot}"
    );
    Some(String::from_utf8(o.stdout).unwrap())
}

#[test]
fn graphviz_reads_the_dot_of_every_example_lab() {
    for lab in example_labs() {
        let dot = graph(&lab, "dot");
        let Some(svg) = graphviz(&dot) else {
            return;
        };
        let (nodes, edges) = expected(&lab);
        assert_eq!(
            svg.matches("class=\"node\"").count(),
            nodes.len(),
            "{}",
            lab.display()
        );
        assert_eq!(
            svg.matches("class=\"edge\"").count(),
            edges,
            "{}",
            lab.display()
        );
        // Graphviz writes `-` as `&#45;` in titles.
        let svg = quick_xml::escape::unescape(&svg)
            .expect("entities")
            .into_owned();
        for (kind, name) in &nodes {
            assert!(
                svg.contains(&format!("<title>{kind}:{name}</title>")),
                "{}: {kind} {name} not drawn",
                lab.display()
            );
        }
    }
}

/// Mermaid: a front matter title, `flowchart TB`, one declaration per node
/// (an identifier, a shape, a quoted label), edges between declared
/// identifiers with a quoted label, classes for the three kinds.
fn check_mermaid(text: &str, nodes: usize, edges: usize) {
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("---"));
    assert!(lines.next().unwrap().starts_with("title: \""));
    assert_eq!(lines.next(), Some("---"));
    assert_eq!(lines.next(), Some("flowchart TB"));
    let mut declared = BTreeSet::new();
    let mut edge_count = 0;
    for line in lines {
        let line = line.strip_prefix("  ").expect("indented");
        if line.starts_with("classDef ") || line.starts_with("class ") {
            continue;
        }
        if let Some((from, rest)) = line.split_once(" ---|\"") {
            let (label, to) = rest.split_once("\"| ").expect("an edge label");
            assert!(!label.contains('"'), "a quote in `{label}`");
            assert!(declared.contains(from) && declared.contains(to), "{line}");
            edge_count += 1;
            continue;
        }
        let id: String = line
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect();
        let shape = &line[id.len()..];
        let (open, close) = [("([\"", "\"])"), ("{{\"", "\"}}"), ("[\"", "\"]")]
            .into_iter()
            .find(|(o, c)| shape.starts_with(o) && shape.ends_with(c))
            .unwrap_or_else(|| panic!("not a node: {line}"));
        let label = &shape[open.len()..shape.len() - close.len()];
        assert!(!label.contains('"'), "a quote in `{label}`");
        assert!(declared.insert(id.clone()), "{id} declared twice");
    }
    assert_eq!(declared.len(), nodes);
    assert_eq!(edge_count, edges);
}

/// D2: every node declared (`id: "label" { ... }`) before the edges that
/// join them; braces balance; strings are quoted with escapes.
fn check_d2(text: &str, nodes: usize, edges: usize) {
    assert!(text.starts_with("direction: down\n"));
    let mut depth = 0i32;
    let mut declared = BTreeSet::new();
    let mut edge_count = 0;
    for line in text.lines() {
        if depth == 0 {
            if let Some((ends, _label)) = line.split_once(": \"") {
                if let Some((from, to)) = ends.split_once(" -- ") {
                    assert!(declared.contains(from) && declared.contains(to), "{line}");
                    edge_count += 1;
                } else if ends != "title" {
                    assert!(declared.insert(ends.to_string()), "{ends} twice");
                }
            }
        }
        depth += line.matches('{').count() as i32 - line.matches('}').count() as i32;
        assert!(depth >= 0, "unbalanced braces");
    }
    assert_eq!(depth, 0);
    assert_eq!(declared.len(), nodes);
    assert_eq!(edge_count, edges);
}

#[test]
fn mermaid_and_d2_declare_every_node_and_edge() {
    for lab in example_labs() {
        let (nodes, edges) = expected(&lab);
        check_mermaid(&graph(&lab, "mermaid"), nodes.len(), edges);
        check_d2(&graph(&lab, "d2"), nodes.len(), edges);
    }
}

/// Names are map keys: anything YAML can write. Each syntax gets them
/// escaped.
const AWKWARD: &str = r#"lab: awkward
title: "Quotes \" and <angles> & back\\slashes"
networks:
  'lan "one"': { cidr: 10.0.0.0/24 }
  'a|b#c': { cidr: 10.0.1.0/24 }
routers:
  '<r1>': { interfaces: { 'lan "one"': 10.0.0.1, 'a|b#c': 10.0.1.1 } }
hosts:
  'x\y': { network: 'lan "one"' }
  "it's & done": { network: 'a|b#c' }
"#;

#[test]
fn awkward_names_are_escaped_in_every_format() {
    let dir = scratch("awkward");
    let lab = dir.join("awkward.yaml");
    std::fs::write(&lab, AWKWARD).unwrap();
    let (nodes, edges) = expected(&lab);
    assert_eq!(nodes.len(), 5);
    let svg = graph(&lab, "svg");
    let (_, boxes) = parse_svg(&svg);
    let drawn: BTreeSet<(String, String)> =
        boxes.iter().map(|b| (b.0.clone(), b.1.clone())).collect();
    assert_eq!(drawn, nodes);
    check_mermaid(&graph(&lab, "mermaid"), nodes.len(), edges);
    check_d2(&graph(&lab, "d2"), nodes.len(), edges);
    let dot = graph(&lab, "dot");
    if let Some(svg) = graphviz(&dot) {
        assert_eq!(svg.matches("class=\"node\"").count(), nodes.len());
        // Graphviz keeps a doubled backslash of an identifier as two; the
        // label shows one.
        assert!(svg.contains("<title>host:x\\\\y</title>"), "{svg}");
        assert!(svg.contains(">x\\y</text>"), "{svg}");
        assert!(svg.contains("router:&lt;r1&gt;"), "{svg}");
    }
}

#[test]
fn an_invalid_lab_is_diagnosed_and_nothing_is_drawn() {
    let dir = scratch("invalid");
    let lab = dir.join("bad.yaml");
    std::fs::write(
        &lab,
        "lab: bad\nnetworks:\n  lan: { cidr: 10.0.0.0/33 }\nhosts:\n  a: { network: lna }\n",
    )
    .unwrap();
    for format in FORMATS {
        let o = wirelab(&["graph", lab.to_str().unwrap(), "--format", format]);
        assert_eq!(o.status.code(), Some(2));
        assert!(o.stdout.is_empty(), "nothing drawn");
        let err = String::from_utf8_lossy(&o.stderr);
        let file = lab.display();
        assert!(err.contains(&format!("{file}:3:")), "{err}");
        assert!(err.contains(&format!("{file}:5:")), "{err}");
    }
    let missing = dir.join("missing.yaml");
    let o = wirelab(&["graph", missing.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("no such file"));
}

#[test]
fn usage_mistakes_are_exit_status_2() {
    let lab = root().join("labs/01-one-router.yaml");
    let o = wirelab(&["graph", lab.to_str().unwrap(), "--format", "png"]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("png") && err.contains("dot, mermaid, d2, svg"),
        "{err}"
    );
    let file = scratch("unwritable").join("no-such-dir").join("g.dot");
    let o = wirelab(&["graph", lab.to_str().unwrap(), "-o", file.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("cannot write the file"));
}

/// docs/graph.md shows docs/graph/02-static-routing.svg as the program
/// draws it today.
#[test]
fn the_example_picture_in_the_docs_is_the_programs_output() {
    let committed =
        std::fs::read_to_string(root().join("docs/graph/02-static-routing.svg")).unwrap();
    assert!(
        graph(&root().join("labs/02-static-routing.yaml"), "svg") == committed,
        "docs/graph/02-static-routing.svg is stale: run `wirelab graph labs/02-static-routing.yaml --format svg -o docs/graph/02-static-routing.svg`"
    );
}

/// The title is drawn centred and the picture is wide enough for it, even
/// when the lab is small.
#[test]
fn a_long_title_fits_a_small_picture() {
    let dir = scratch("title");
    let lab = dir.join("small.yaml");
    let title = "A rather long title for a lab with one network and one host only";
    std::fs::write(
        &lab,
        format!("lab: small\ntitle: {title}\nnetworks:\n  n: {{ cidr: 10.0.0.0/24 }}\nhosts:\n  h: {{ network: n }}\n"),
    )
    .unwrap();
    let svg = graph(&lab, "svg");
    let ((width, _), boxes) = parse_svg(&svg);
    assert_eq!(boxes.len(), 2);
    // At least 8 px a character of the monospace font, plus margins.
    assert!(width >= 8.0 * title.len() as f64 + 48.0, "{width}");
    assert!(svg.contains(&format!(">{title}</text>")));
}

/// Mermaid's own parser (crates/wirelab/tests/mermaid, installed by
/// `scripts/test-all` with `npm ci`), run by node. `None` (the test skips)
/// when missing, unless `WIRELAB_REQUIRE_MERMAID=1`.
fn mermaid_parser() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/mermaid");
    let installed = dir.join("node_modules/mermaid/package.json").is_file();
    let node = Command::new("node").arg("--version").output().is_ok();
    if installed && node {
        return Some(dir.join("parse.mjs"));
    }
    if std::env::var("WIRELAB_REQUIRE_MERMAID").as_deref() == Ok("1") {
        panic!("node or mermaid is missing (npm ci --prefix crates/wirelab/tests/mermaid), and WIRELAB_REQUIRE_MERMAID=1 requires them");
    }
    eprintln!("note: node or mermaid not installed: test skipped");
    None
}

#[test]
fn mermaid_parses_every_example_lab_and_awkward_names() {
    let Some(parser) = mermaid_parser() else {
        return;
    };
    let dir = scratch("mermaid");
    let awkward = dir.join("awkward.yaml");
    std::fs::write(&awkward, AWKWARD).unwrap();
    let mut labs = example_labs();
    labs.push(awkward);
    let mut files = Vec::new();
    for (i, lab) in labs.iter().enumerate() {
        let file = dir.join(format!("{i}.mmd"));
        std::fs::write(&file, graph(lab, "mermaid")).unwrap();
        files.push(file);
    }
    let o = Command::new("node")
        .arg(&parser)
        .args(&files)
        .output()
        .expect("node runs");
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{out}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    for (lab, file) in labs.iter().zip(&files) {
        let (nodes, edges) = expected(lab);
        let line = format!("{} ok flowchart-v2 {} {edges}", file.display(), nodes.len());
        assert!(out.lines().any(|l| l == line), "{line} in\n{out}");
    }
}

/// D2's own compiler and renderer (crates/wirelab/tests/d2: the WASM build
/// of d2, installed by `scripts/test-all` with `npm ci`), run by node.
/// `None` (the test skips) when missing, unless `WIRELAB_REQUIRE_D2=1`.
fn d2_compiler() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/d2");
    let installed = dir
        .join("node_modules/@terrastruct/d2/package.json")
        .is_file();
    let node = Command::new("node").arg("--version").output().is_ok();
    if installed && node {
        return Some(dir.join("compile.mjs"));
    }
    if std::env::var("WIRELAB_REQUIRE_D2").as_deref() == Ok("1") {
        panic!("node or @terrastruct/d2 is missing (npm ci --prefix crates/wirelab/tests/d2), and WIRELAB_REQUIRE_D2=1 requires them");
    }
    eprintln!("note: node or @terrastruct/d2 not installed: test skipped");
    None
}

/// D2 compiles and renders every lab's D2, with one shape per node whose
/// label starts with the node's name (escapes undone), one connection per
/// attachment, and the title.
#[test]
fn d2_compiles_every_example_lab_and_awkward_names() {
    let Some(compiler) = d2_compiler() else {
        return;
    };
    let dir = scratch("d2");
    let awkward = dir.join("awkward.yaml");
    std::fs::write(&awkward, AWKWARD).unwrap();
    let mut labs = example_labs();
    labs.push(awkward);
    let mut files = Vec::new();
    for (i, lab) in labs.iter().enumerate() {
        let file = dir.join(format!("{i}.d2"));
        std::fs::write(&file, graph(lab, "d2")).unwrap();
        files.push(file);
    }
    let o = Command::new("node")
        .arg(&compiler)
        .args(&files)
        .output()
        .expect("node runs");
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{out}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let results: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    assert_eq!(results.len(), labs.len());
    for (lab, result) in labs.iter().zip(&results) {
        let (nodes, edges) = expected(lab);
        let mut drawn = BTreeSet::new();
        for shape in result["shapes"].as_array().unwrap() {
            let (id, label) = (
                shape["id"].as_str().unwrap(),
                shape["label"].as_str().unwrap(),
            );
            if id == "title" {
                continue;
            }
            let kind: String = id.chars().take_while(|c| c.is_ascii_alphabetic()).collect();
            let name = label.split('\n').next().unwrap().to_string();
            drawn.insert((kind, name));
        }
        assert_eq!(drawn, nodes, "{}", lab.display());
        assert_eq!(result["connections"], edges, "{}", lab.display());
        assert!(result["svg"].as_u64().unwrap() > 1000, "{}", lab.display());
    }
}
