//! The `vpcs:` sugar (docs/lab-format.md, "VPCs"): a lab written with it
//! means exactly what its expansion (`wirelab expand`) means, its mistakes
//! are reported all at once with their positions, and random VPC layouts
//! behave as a small model of AWS routing says they must (local route,
//! route tables, gateways, non-transitive peering, no edge-to-edge).

mod common;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use common::{scratch, wirelab};

const LAB12: &str = "labs/12-peered-vpcs-transit-trap.yaml";

/// `wirelab test LAB --format json`: (exit status, report).
fn test_json(lab: &str) -> (i32, serde_json::Value) {
    let (code, out, err) = wirelab(&["test", lab, "--format", "json"]);
    let report = serde_json::from_str(&out)
        .unwrap_or_else(|e| panic!("{lab}: not JSON ({e}): {out}\n{err}"));
    (code, report)
}

/// Expands `lab` into `dir/expanded.yaml` and returns its path.
fn expand_into(lab: &str, dir: &Path) -> String {
    let out = dir.join("expanded.yaml");
    let out = out.to_str().unwrap().to_string();
    let (code, _, err) = wirelab(&["expand", lab, "-o", &out]);
    assert_eq!(code, 0, "expand {lab}: {err}");
    out
}

/// The sugar lab and its expansion grade the same, check by check, and
/// compile to the same routing tables (but for the lines they cite).
fn assert_same_meaning(lab: &str, dir: &Path) {
    let expanded = expand_into(lab, dir);
    let text = std::fs::read_to_string(&expanded).unwrap();
    assert!(
        !text
            .lines()
            .any(|l| l.starts_with("vpcs:") || l.starts_with("vpc_peerings:")),
        "the expansion still has sugar:\n{text}"
    );
    let (code_sugar, mut sugar) = test_json(lab);
    let (code_plain, mut plain) = test_json(&expanded);
    strip_lines(&mut sugar);
    strip_lines(&mut plain);
    assert_eq!(code_sugar, code_plain, "{lab}: exit statuses differ");
    assert_eq!(sugar, plain, "{lab}: the expansion grades differently");
    let routes = |lab: &str| {
        let (code, out, err) = wirelab(&["routes", lab, "--format", "json"]);
        assert_eq!(code, 0, "routes {lab}: {err}");
        let mut v: serde_json::Value = serde_json::from_str(&out).unwrap();
        strip_lines(&mut v);
        v
    };
    assert_eq!(
        routes(lab),
        routes(&expanded),
        "{lab}: routing tables differ"
    );
    // The analysis (no simulation) answers the same for every host.
    let (_, out, _) = wirelab(&["routes", lab, "--hosts", "--format", "json"]);
    let tables: serde_json::Value = serde_json::from_str(&out).unwrap();
    for table in tables["tables"].as_array().unwrap() {
        if table["router"] == true {
            continue;
        }
        let host = table["node"].as_str().unwrap();
        let reach = |lab: &str| {
            let (code, out, err) = wirelab(&["reach", lab, "--from", host, "--format", "json"]);
            assert!(code < 2, "reach {lab} --from {host}: {err}");
            let mut v: serde_json::Value = serde_json::from_str(&out).unwrap();
            strip_lines(&mut v);
            v
        };
        assert_eq!(
            reach(lab),
            reach(&expanded),
            "{lab}: reach --from {host} differs"
        );
    }
    // Expanding the expansion changes nothing but the header comment.
    let twice = dir.join("twice.yaml");
    let (code, _, err) = wirelab(&["expand", &expanded, "-o", twice.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let body = |t: &str| t.lines().skip(2).collect::<Vec<_>>().join("\n");
    assert_eq!(
        body(&text),
        body(&std::fs::read_to_string(&twice).unwrap()),
        "{lab}: expansion is not a fixed point"
    );
}

/// Routes and explanations cite the line a route was written on, which
/// the expansion moves: `line 15` becomes `line #`.
fn strip_lines(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Object(map) => {
            map.remove("line");
            map.values_mut().for_each(strip_lines);
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(strip_lines),
        serde_json::Value::String(text) => {
            let mut out = String::new();
            let mut rest = text.as_str();
            while let Some(at) = rest.find("line ") {
                out.push_str(&rest[..at + 5]);
                rest = &rest[at + 5..];
                let digits =
                    rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
                if digits > 0 {
                    out.push('#');
                    rest = &rest[digits..];
                }
            }
            out.push_str(rest);
            *text = out;
        }
        _ => {}
    }
}

#[test]
fn lab_12_means_what_its_expansion_means() {
    let dir = scratch("vpc-lab12");
    assert_same_meaning(LAB12, &dir);
    assert_schema_accepts(&[dir.join("expanded.yaml")]);
    let (code, report) = test_json(LAB12);
    assert_eq!(code, 0, "{report}");
    let outcome = |name: &str| {
        let check = report["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .unwrap_or_else(|| panic!("no check {name}"));
        (
            check["observed"].as_str().unwrap().to_string(),
            check["at"].as_str().unwrap_or_default().to_string(),
        )
    };
    // The lesson: B is no transit hub, and its gateways are its own.
    assert_eq!(
        outcome("A does not reach C through B"),
        ("deny".into(), "pcx/a-b".into())
    );
    assert_eq!(
        outcome("A cannot go out through B's NAT gateway"),
        ("deny".into(), "pcx/a-b".into())
    );
    assert_eq!(outcome("A reaches B through the peering a-b").0, "allow");
    assert_eq!(outcome("B reaches C through the peering b-c").0, "allow");
}

#[test]
fn peering_a_and_c_directly_closes_the_trap() {
    let dir = scratch("vpc-fixed");
    let text = std::fs::read_to_string(common::root().join(LAB12)).unwrap();
    let fixed = text
        .replace(
            "        - { to: 10.3.0.0/16, target: a-b }   # C \"through B\": the transit trap",
            "        - { to: 10.3.0.0/16, target: a-c }",
        )
        .replace(
            "        - { to: 10.1.0.0/16, target: b-c }   # A \"through B\", the other way",
            "        - { to: 10.1.0.0/16, target: a-c }",
        )
        .replace(
            "  b-c: { between: [b, c] }\n",
            "  b-c: { between: [b, c] }\n  a-c: { between: [a, c] }\n",
        );
    assert_ne!(fixed, text, "the lab's lines moved: update this test");
    let path = dir.join("fixed.yaml");
    std::fs::write(&path, fixed).unwrap();
    let (code, report) = test_json(path.to_str().unwrap());
    assert_eq!(code, 1, "{report}");
    let failed: Vec<&str> = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["status"] == "fail")
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        failed,
        [
            "A does not reach C through B",
            "C does not reach A through B either"
        ],
        "a direct peering connects A and C, and only them"
    );
}

#[test]
fn a_lab_without_sugar_expands_to_itself() {
    let dir = scratch("vpc-plain");
    let lab = "labs/11-private-subnet-behind-nat.yaml";
    let expanded = expand_into(lab, &dir);
    let (_, a) = test_json(lab);
    let (_, b) = test_json(&expanded);
    assert_eq!(a, b);
}

/// check-jsonschema ($WIRELAB_CHECK_JSONSCHEMA, else on PATH), as
/// tests/schema.rs finds it; `None` skips unless it is required.
fn check_jsonschema() -> Option<std::path::PathBuf> {
    let tool = std::env::var_os("WIRELAB_CHECK_JSONSCHEMA")
        .map(std::path::PathBuf::from)
        .or_else(|| {
            std::env::var_os("PATH").and_then(|paths| {
                std::env::split_paths(&paths)
                    .map(|d| d.join("check-jsonschema"))
                    .find(|p| p.is_file())
            })
        });
    if tool.is_none() {
        assert!(
            std::env::var_os("WIRELAB_REQUIRE_CHECK_JSONSCHEMA").is_none(),
            "check-jsonschema is required and missing"
        );
        eprintln!("note: check-jsonschema not found: schema validation skipped");
    }
    tool
}

/// The committed JSON Schema accepts every file (sugar and expansions).
fn assert_schema_accepts(files: &[std::path::PathBuf]) {
    let Some(tool) = check_jsonschema() else {
        return;
    };
    let out = std::process::Command::new(tool)
        .arg("--schemafile")
        .arg(common::root().join("schema/wirelab-lab.schema.json"))
        .args(files)
        .output()
        .expect("check-jsonschema runs");
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn vpcs_alone_make_the_networks() {
    let dir = scratch("vpc-alone");
    let lab = dir.join("alone.yaml");
    std::fs::write(
        &lab,
        "lab: alone\nvpcs:\n  a:\n    cidr: 10.1.0.0/16\n    subnets:\n      one: { cidr: 10.1.1.0/24 }\n      two: { cidr: 10.1.2.0/24 }\nhosts:\n  x: { network: a/one }\n  y: { network: a/two, services: [{ port: 22 }] }\nchecks:\n  - { name: the local route, from: x, to: y, port: 22, expect: allow, via: [a/one-rt, a/two-rt] }\n  - { name: an unused address of the VPC, from: x, to: 10.1.9.9, proto: icmp, expect: deny, reason: blackhole }\n",
    )
    .unwrap();
    let lab_str = lab.to_str().unwrap();
    let (code, report) = test_json(lab_str);
    assert_eq!(code, 0, "{report}");
    assert_same_meaning(lab_str, &dir);
    assert_schema_accepts(&[lab, dir.join("expanded.yaml")]);
}

#[test]
fn a_variant_expands_to_the_lab_that_student_is_graded_on() {
    let dir = scratch("vpc-variant");
    let lab = "crates/wirelab/tests/variants/lab.yaml";
    for student in ["alice", "bob"] {
        let out = dir.join(format!("{student}.yaml"));
        let out = out.to_str().unwrap();
        let (code, _, err) = wirelab(&["expand", lab, "--student", student, "-o", out]);
        assert_eq!(code, 0, "{err}");
        let text = std::fs::read_to_string(out).unwrap();
        assert!(
            !text.contains("${") && !text.contains("\nvariables:"),
            "{text}"
        );
        let graded = wirelab(&["test", lab, "--student", student, "--format", "json"]).1;
        let mut graded: serde_json::Value = serde_json::from_str(&graded).unwrap();
        let (_, mut expanded) = test_json(out);
        strip_lines(&mut graded);
        strip_lines(&mut expanded);
        assert_eq!(graded, expanded, "{student}");
    }
}

#[test]
fn a_peering_routed_one_way_warns_and_loses_the_replies() {
    let dir = scratch("vpc-one-way");
    let lab = dir.join("one-way.yaml");
    std::fs::write(&lab, ONE_WAY).unwrap();
    let lab = lab.to_str().unwrap();
    let (code, out, err) = wirelab(&["test", lab]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        err.contains(&format!(
            "{lab}:6:55: warning: no subnet of VPC `b` routes back to `a`"
        )),
        "{err}"
    );
    assert!(out.contains("no-route at b/y-rt"), "{out}");
}

const ONE_WAY: &str = "lab: one-way
vpcs:
  a:
    cidr: 10.1.0.0/16
    subnets: { x: { cidr: 10.1.1.0/24 } }
    route_tables: { main: [{ to: 10.2.0.0/16, target: a-b }] }
  b:
    cidr: 10.2.0.0/16
    subnets: { y: { cidr: 10.2.1.0/24 } }
vpc_peerings:
  a-b: { between: [a, b] }
hosts:
  h: { network: a/x }
  g: { network: b/y }
checks:
  - { name: one way only, from: h, to: g, proto: icmp, expect: deny, reason: no-route }
";

#[test]
fn gone_targets_are_blackholes() {
    let dir = scratch("vpc-gone");
    let lab = dir.join("gone.yaml");
    std::fs::write(
        &lab,
        r#"lab: gone
networks:
  internet: { cidr: 198.51.100.0/24 }
vpcs:
  a:
    cidr: 10.1.0.0/16
    internet_gateway: { network: internet }
    subnets:
      public: { cidr: 10.1.0.0/24, route_table: public }
      private: { cidr: 10.1.1.0/24, route_table: private }
    nat_gateways:
      nat-a: { subnet: public, elastic_ip: 198.51.100.20, state: deleted }
    route_tables:
      public: [{ to: 0.0.0.0/0, target: igw }]
      private: [{ to: 0.0.0.0/0, target: nat-a }, { to: 10.2.0.0/16, target: a-b }]
  b:
    cidr: 10.2.0.0/16
    subnets: { only: { cidr: 10.2.0.0/24 } }
vpc_peerings:
  a-b: { between: [a, b], state: pending-acceptance }
hosts:
  server: { network: internet, ip: 198.51.100.80, services: [{ port: 443 }] }
  app: { network: a/private, ip: 10.1.1.10 }
  other: { network: b/only, ip: 10.2.0.10, services: [{ port: 22 }] }
checks:
  - { name: deleted nat, from: app, to: server, port: 443, expect: deny, reason: blackhole }
  - { name: pending peering, from: app, to: other, port: 22, expect: deny, reason: blackhole }
"#,
    )
    .unwrap();
    let lab = lab.to_str().unwrap();
    let (code, report) = test_json(lab);
    assert_eq!(code, 0, "{report}");
    let (_, out, _) = wirelab(&["expand", lab]);
    assert!(out.contains("{ to: 0.0.0.0/0, blackhole: true }"), "{out}");
    assert!(
        out.contains("{ to: 10.2.0.0/16, blackhole: true }"),
        "{out}"
    );
    assert!(
        !out.contains("a/nat-a:"),
        "a deleted NAT gateway is no router:\n{out}"
    );
    assert!(
        !out.contains("pcx/a-b:"),
        "a pending peering is no router:\n{out}"
    );
    assert_same_meaning(lab, &dir);
}

#[test]
fn every_mistake_is_reported_at_once_with_its_position() {
    let dir = scratch("vpc-bad");
    let lab = dir.join("bad.yaml");
    let text = r#"lab: bad
networks:
  internet: { cidr: 198.51.100.0/24 }
vpcs:
  a:
    cidr: 10.1.0.0/16
    subnets:
      app: { cidr: 10.2.1.0/24, route_table: ap }
      web: { cidr: 10.1.1.0/24, route_table: app }
      web2: { cidr: 10.1.1.128/25 }
    nat_gateways:
      nat-a: { subnet: web, elastic_ip: 198.51.100.20 }
    route_tables:
      app:
        - { to: 0.0.0.0/0, target: nat-aa }
        - { to: 10.1.5.0/24, target: nat-a }
  b:
    cidr: 10.1.0.0/16
    subnets:
      x: { cidr: 10.1.200.0/24 }
    intenet_gateway: { network: internet }
  c:
    cidr: 10.3.0.0/16
    internet_gateway: { network: internett }
    subnets:
      y: { cidr: 10.3.0.0/24 }
    nat_gateways:
      nat-c: { subnet: y, elastic_ip: 198.51.100.21 }
vpc_peerings:
  a-b: { between: [a, b] }
  a-c: { between: [a, cc] }
hosts:
  h: { network: a/webb }
"#;
    std::fs::write(&lab, text).unwrap();
    let lab = lab.to_str().unwrap();
    let (code, out, err) = wirelab(&["check", lab]);
    assert_eq!(code, 2, "{out}{err}");
    let expected = [
        // subnet outside its VPC
        (
            "8:20",
            "subnet `app` (10.2.1.0/24) is outside the CIDR of VPC `a` (10.1.0.0/16)",
        ),
        (
            "8:46",
            "unknown route table `ap` in VPC `a` (did you mean `app`?)",
        ),
        // overlapping subnets (the reader's own check of every network)
        ("10:21", "overlaps `10.1.1.0/24` (network `a/web`)"),
        (
            "12:7",
            "NAT gateway `nat-a` needs an internet gateway in VPC `a`",
        ),
        (
            "15:36",
            "unknown route target `nat-aa` in VPC `a` (did you mean `nat-a`?)",
        ),
        ("16:17", "`10.1.5.0/24` is inside VPC `a` (10.1.0.0/16)"),
        (
            "21:5",
            "unknown key `intenet_gateway` in VPC `b` (did you mean `internet_gateway`?)",
        ),
        ("24:34", "unknown network `internett`"),
        (
            "28:24",
            "whose route table has no route to the internet gateway",
        ),
        (
            "30:19",
            "VPCs `a` (10.1.0.0/16) and `b` (10.1.0.0/16) overlap",
        ),
        ("31:23", "unknown VPC `cc` (did you mean `c`?)"),
        ("33:17", "unknown network `a/webb`"),
    ];
    let lines: Vec<&str> = err.lines().filter(|l| l.contains(": error: ")).collect();
    for (at, message) in expected {
        let prefix = format!("{lab}:{at}: error: ");
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with(&prefix) && l.contains(message)),
            "no `{prefix}...{message}` in:\n{err}"
        );
    }
    assert!(!err.contains("panicked"), "{err}");
    // Nothing was expanded or run.
    let (code, out, _) = wirelab(&["expand", lab]);
    assert_eq!((code, out.as_str()), (2, ""));
}

// ---------------------------------------------------------------------------
// Random VPC layouts against a model of AWS routing.

/// A small deterministic generator (xorshift64*), so that a failing layout
/// is reproduced by its seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

#[derive(Clone, Copy, PartialEq, Debug)]
enum Target {
    Igw,
    Nat,
    Peering(usize),
}

struct Layout {
    /// Per VPC: subnets (their route table), IGW attached?, NAT available?
    vpcs: Vec<VpcModel>,
    /// (a, b, active)
    peerings: Vec<(usize, usize, bool)>,
}

struct VpcModel {
    subnet_tables: Vec<usize>,
    /// Per table: (destination VPC or None for 0.0.0.0/0, target).
    tables: Vec<Vec<(Option<usize>, Target)>>,
    igw: Option<bool>,
    nat: Option<(usize, bool)>,
    /// Subnets whose host has an elastic IP.
    eips: Vec<usize>,
}

fn layout(rng: &mut Rng) -> Layout {
    let count = 2 + rng.below(3);
    let mut peerings = Vec::new();
    for a in 0..count {
        for b in a + 1..count {
            if rng.chance(55) {
                peerings.push((a, b, rng.chance(80)));
            }
        }
    }
    let mut vpcs = Vec::new();
    for v in 0..count {
        let has_igw = rng.chance(60);
        let ntables = 1 + rng.below(2);
        let mine: Vec<usize> = (0..peerings.len())
            .filter(|&p| peerings[p].0 == v || peerings[p].1 == v)
            .collect();
        let mut tables = Vec::new();
        for _ in 0..ntables {
            let mut routes = Vec::new();
            for other in (0..count).filter(|&o| o != v) {
                if !mine.is_empty() && rng.chance(70) {
                    routes.push((Some(other), Target::Peering(mine[rng.below(mine.len())])));
                }
            }
            let mut defaults = Vec::new();
            if has_igw {
                defaults.extend([Target::Igw, Target::Igw, Target::Nat]);
            }
            defaults.extend(mine.iter().map(|&p| Target::Peering(p)));
            if !defaults.is_empty() && rng.chance(70) {
                routes.push((None, defaults[rng.below(defaults.len())]));
            }
            tables.push(routes);
        }
        let nsubnets = 1 + rng.below(3);
        let subnet_tables: Vec<usize> = (0..nsubnets).map(|_| rng.below(ntables)).collect();
        // A NAT gateway needs a subnet whose table routes to the IGW.
        let public: Vec<usize> = (0..nsubnets)
            .filter(|&s| tables[subnet_tables[s]].contains(&(None, Target::Igw)))
            .collect();
        let nat = (has_igw && !public.is_empty())
            .then(|| (public[rng.below(public.len())], rng.chance(80)));
        if nat.is_none() {
            for t in &mut tables {
                t.retain(|r| r.1 != Target::Nat);
            }
        }
        let eips = if has_igw {
            (0..nsubnets).filter(|_| rng.chance(40)).collect()
        } else {
            Vec::new()
        };
        vpcs.push(VpcModel {
            subnet_tables,
            tables,
            igw: has_igw.then(|| rng.chance(85)),
            nat,
            eips,
        });
    }
    Layout { vpcs, peerings }
}

/// Where a packet from a host of (v, s) to `dst` (a VPC, or None for the
/// internet) goes by the subnet's table: longest prefix first.
fn lookup(layout: &Layout, v: usize, s: usize, dst: Option<usize>) -> Option<Target> {
    let table = &layout.vpcs[v].tables[layout.vpcs[v].subnet_tables[s]];
    let specific = dst.and_then(|d| table.iter().find(|r| r.0 == Some(d)));
    specific
        .or_else(|| table.iter().find(|r| r.0.is_none()))
        .map(|r| r.1)
}

/// One way, by AWS's rules: the local route within a VPC; between VPCs
/// only an active peering joining exactly the two.
fn one_way(layout: &Layout, (v, s): (usize, usize), (w, _): (usize, usize)) -> bool {
    if v == w {
        return true;
    }
    match lookup(layout, v, s, Some(w)) {
        Some(Target::Peering(p)) => {
            let (a, b, active) = layout.peerings[p];
            active && ((a, b) == (v, w) || (a, b) == (w, v))
        }
        _ => false,
    }
}

/// To the internet: through the IGW with an elastic IP, or a NAT gateway.
fn to_internet(layout: &Layout, (v, s): (usize, usize)) -> bool {
    let vpc = &layout.vpcs[v];
    let attached = vpc.igw == Some(true);
    match lookup(layout, v, s, None) {
        Some(Target::Igw) => attached && vpc.eips.contains(&s),
        Some(Target::Nat) => attached && vpc.nat.is_some_and(|(_, up)| up),
        _ => false,
    }
}

fn lab_text(name: &str, layout: &Layout) -> String {
    let mut t = format!("lab: {name}\nnetworks:\n  internet: {{ cidr: 198.51.100.0/24 }}\nvpcs:\n");
    for (v, vpc) in layout.vpcs.iter().enumerate() {
        let _ = writeln!(t, "  v{v}:\n    cidr: 10.{v}.0.0/16");
        if let Some(attached) = vpc.igw {
            let state = if attached { "attached" } else { "detached" };
            let _ = writeln!(
                t,
                "    internet_gateway: {{ network: internet, state: {state} }}"
            );
        }
        let _ = writeln!(t, "    subnets:");
        for (s, table) in vpc.subnet_tables.iter().enumerate() {
            let _ = writeln!(
                t,
                "      s{s}: {{ cidr: 10.{v}.{s}.0/24, route_table: t{table} }}"
            );
        }
        if let Some((s, up)) = vpc.nat {
            let state = if up { "available" } else { "deleted" };
            let _ = writeln!(
                t,
                "    nat_gateways:\n      nat: {{ subnet: s{s}, elastic_ip: 198.51.100.{}, state: {state} }}",
                50 + v
            );
        }
        if !vpc.eips.is_empty() {
            let _ = writeln!(t, "    elastic_ips:");
            for s in &vpc.eips {
                let _ = writeln!(t, "      h{v}-{s}: 198.51.100.{}", 100 + v * 10 + s);
            }
        }
        let _ = writeln!(t, "    route_tables:");
        for (i, routes) in vpc.tables.iter().enumerate() {
            let _ = writeln!(t, "      t{i}:");
            for (to, target) in routes {
                let to = to.map_or("0.0.0.0/0".to_string(), |d| format!("10.{d}.0.0/16"));
                let target = match target {
                    Target::Igw => "igw".to_string(),
                    Target::Nat => "nat".to_string(),
                    Target::Peering(p) => format!("p{p}"),
                };
                let _ = writeln!(t, "        - {{ to: {to}, target: {target} }}");
            }
            if routes.is_empty() {
                let _ = writeln!(t, "        []");
            }
        }
    }
    if !layout.peerings.is_empty() {
        t.push_str("vpc_peerings:\n");
        for (p, (a, b, active)) in layout.peerings.iter().enumerate() {
            let state = if *active { "active" } else { "deleted" };
            let _ = writeln!(t, "  p{p}: {{ between: [v{a}, v{b}], state: {state} }}");
        }
    }
    t.push_str("hosts:\n  server: { network: internet, ip: 198.51.100.200 }\n");
    let hosts: Vec<(usize, usize)> = layout
        .vpcs
        .iter()
        .enumerate()
        .flat_map(|(v, vpc)| (0..vpc.subnet_tables.len()).map(move |s| (v, s)))
        .collect();
    for (v, s) in &hosts {
        let _ = writeln!(t, "  h{v}-{s}: {{ network: v{v}/s{s}, ip: 10.{v}.{s}.10 }}");
    }
    t.push_str("checks:\n");
    for &from in &hosts {
        for &to in &hosts {
            if from == to {
                continue;
            }
            let allow = one_way(layout, from, to) && one_way(layout, to, from);
            let _ = writeln!(
                t,
                "  - {{ name: h{}-{} to h{}-{}, from: h{}-{}, to: h{}-{}, proto: icmp, expect: {} }}",
                from.0, from.1, to.0, to.1, from.0, from.1, to.0, to.1,
                if allow { "allow" } else { "deny" }
            );
        }
        let allow = to_internet(layout, from);
        let _ = writeln!(
            t,
            "  - {{ name: h{}-{} to the internet, from: h{}-{}, to: server, proto: icmp, expect: {} }}",
            from.0, from.1, from.0, from.1,
            if allow { "allow" } else { "deny" }
        );
    }
    t
}

#[test]
fn random_layouts_follow_aws_routing_and_mean_their_expansion() {
    let dir = scratch("vpc-random");
    let mut files = Vec::new();
    let mut outcomes: BTreeMap<&str, usize> = BTreeMap::new();
    for seed in 1..=16u64 {
        let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
        let layout = layout(&mut rng);
        let text = lab_text(&format!("random-{seed}"), &layout);
        let path = dir.join(format!("random-{seed}.yaml"));
        std::fs::write(&path, &text).unwrap();
        let path = path.to_str().unwrap();
        let (code, report) = test_json(path);
        let failed: Vec<String> = report["checks"]
            .as_array()
            .unwrap_or_else(|| panic!("seed {seed}: no report:\n{report}\n{text}"))
            .iter()
            .filter(|c| c["status"] != "pass")
            .map(|c| format!("{} ({} at {})", c["name"], c["reason"], c["at"]))
            .collect();
        assert!(
            code == 0 && failed.is_empty(),
            "seed {seed}: the simulation disagrees with the model on {failed:?}\n{text}"
        );
        for c in report["checks"].as_array().unwrap() {
            *outcomes
                .entry(if c["observed"] == "allow" {
                    "allow"
                } else {
                    "deny"
                })
                .or_default() += 1;
        }
        let sub = dir.join(format!("seed-{seed}"));
        std::fs::create_dir_all(&sub).unwrap();
        assert_same_meaning(path, &sub);
        files.push(std::path::PathBuf::from(path));
        files.push(sub.join("expanded.yaml"));
    }
    assert_schema_accepts(&files);
    // The layouts exercise both outcomes, not one.
    assert!(
        outcomes["allow"] >= 20 && outcomes["deny"] >= 20,
        "{outcomes:?}"
    );
}
