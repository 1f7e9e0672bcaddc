//! `wirelab grade`: a class of submissions — right, wrong, invalid and
//! hostile — each graded on its own, the others unaffected; the class
//! report read back as CSV, JSON and JUnit XML; the same bytes whatever
//! --jobs.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const EXERCISE: &str = include_str!("../../../labs/05-exercise-fix-the-vpc.yaml");
const SOLUTION: &str = include_str!("../../../labs/solutions/05-exercise-fix-the-vpc.yaml");
const URL_LAB: &str = include_str!("../../../labs/07-what-happens-when-you-type-a-url.yaml");
const ZONE: &str = include_str!("../../../labs/zones/example.com.zone");

/// A named pipe at `path` (made by coreutils' mkfifo).
fn mkfifo(path: &Path) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let made = Command::new("mkfifo")
        .arg(path)
        .status()
        .expect("mkfifo runs");
    assert!(made.success());
}

/// A fresh folder under the system's temporary folder, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let path =
            std::env::temp_dir().join(format!("wirelab-grade-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("a temporary folder");
        TempDir(path)
    }

    fn write(&self, relative: &str, text: &str) -> PathBuf {
        let path = self.0.join(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text).unwrap();
        path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn wirelab(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_wirelab"))
        .args(args)
        .current_dir(dir)
        .env("CI", "1")
        .output()
        .expect("wirelab runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The teacher's lab: exercise 05 with a workload, a check on it, and the
/// parts students may edit.
fn teacher_lab() -> String {
    format!(
        "{EXERCISE}  - {{ name: the nightly dump completes, traffic: dump, expect: {{ complete_within: 60s }}, points: 1 }}\n\
         traffic:\n  - {{ name: dump, from: app1, to: db1, port: 5432, bulk: 200KB }}\n\
         grading:\n  editable: [security_groups, nacls, routers.vpc.routes, traffic]\n"
    )
}

/// The solution's sections (between two top-level keys) as a submission.
fn section(lab: &str, key: &str) -> String {
    let start = lab.find(&format!("\n{key}:\n")).expect("the section") + 1;
    let end = lab[start + 1..]
        .find("\n\n")
        .map_or(lab.len(), |e| start + 1 + e + 1);
    lab[start..end].to_string()
}

fn fixed_filters() -> String {
    format!(
        "{}{}",
        section(SOLUTION, "security_groups"),
        section(SOLUTION, "nacls")
    )
}

/// The teacher's lab with the three fixes of the solution, and a title
/// of the student's own.
fn whole_solution() -> String {
    let lab = teacher_lab()
        .replace("title: \"Exercise: fix the VPC\"", "title: \"Alice's VPC\"")
        .replace(
            "- { proto: tcp, port: 8080, from: web-sg }",
            "- { proto: tcp, port: 8000, from: web-sg }",
        )
        .replace(
            "      data: 10.0.3.1\n",
            "      data: 10.0.3.1\n    routes:\n      - { to: 192.0.2.0/24, via: 10.255.0.2 }\n",
        );
    // The outbound rule 100 of data-nacl (the second one written).
    let rule = "{ rule: 100, action: allow, proto: tcp, port: 5432, cidr: 10.0.2.0/24 }";
    let second = lab.rfind(rule).expect("the outbound rule");
    let fixed = "{ rule: 100, action: allow, proto: tcp, ports: 49152-65535, cidr: 10.0.2.0/24 }";
    format!("{}{fixed}{}", &lab[..second], &lab[second + rule.len()..])
}

fn billion_laughs() -> String {
    let mut t =
        String::from("security_groups:\n  web-sg:\n    description: &a [x,x,x,x,x,x,x,x,x,x]\n");
    for i in 1..12u8 {
        let (me, prev) = ((b'a' + i) as char, (b'a' + i - 1) as char);
        let refs = vec![format!("*{prev}"); 10].join(",");
        t.push_str(&format!("    d{me}: &{me} [{refs}]\n"));
    }
    t
}

fn class(dir: &TempDir) {
    dir.write("lab.yaml", &teacher_lab());
    // Right: the whole lab, fixed, as a folder's lab (its `title` differs
    // from the teacher's: it grades nothing).
    dir.write("class/alice/lab.yaml", &whole_solution());
    // Partly right: the filters fixed, the route back to the office not.
    dir.write("class/bob.yaml", &fixed_filters());
    // Wrong: tries to give itself the points.
    dir.write(
        "class/carol.yaml",
        &format!("{}checks: []\n", fixed_filters()),
    );
    // Invalid YAML.
    dir.write(
        "class/dave.yaml",
        "security_groups:\n  web-sg: { inbound: [\n",
    );
    // Hostile: billion laughs, 5,000 rules, deep nesting, a million hosts.
    dir.write("class/eve.yaml", &billion_laughs());
    let mut rules = String::from("security_groups:\n  web-sg:\n    inbound:\n");
    for port in 1..=5000 {
        rules.push_str(&format!(
            "      - {{ proto: tcp, port: {port}, from: 0.0.0.0/0 }}\n"
        ));
    }
    dir.write("class/frank.yaml", &rules);
    dir.write(
        "class/grace.yaml",
        &format!("nacls: {}{}\n", "[".repeat(5000), "]".repeat(5000)),
    );
    let mut hosts = String::from("hosts:\n");
    for i in 0..1_000_000 {
        hosts.push_str(&format!("  h{i}: {{ network: public }}\n"));
    }
    dir.write("class/heidi.yaml", &hosts);
    // Hostile: a workload that would run for hours.
    dir.write(
        "class/ivan.yaml",
        &format!(
            "{}traffic:\n  - {{ name: dump, from: app1, to: db1, port: 5432, bulk: 1000GB }}\n",
            fixed_filters()
        ),
    );
    // Hostile: a lab file that is a link out of the class's folder.
    std::fs::create_dir_all(dir.0.join("class/judy")).unwrap();
    std::os::unix::fs::symlink(dir.0.join("lab.yaml"), dir.0.join("class/judy/lab.yaml")).unwrap();
    // Not a submission: skipped.
    dir.write("class/README.txt", "hand-ins of week 5\n");
}

// The wall time is ivan's limit (his workload would run for hours); it is
// generous so that no other submission reaches it on a loaded machine,
// which would make --jobs 1 and --jobs 4 differ.
const CLASS_ARGS: [&str; 9] = [
    "grade",
    "lab.yaml",
    "--submissions",
    "class",
    "--limit",
    "wall-time=8s",
    "--limit",
    "sim-events=1000000000",
    "--out",
];

fn grade_class(dir: &TempDir, out: &str, jobs: &str) -> Output {
    let mut args = CLASS_ARGS.to_vec();
    args.extend([out, "--jobs", jobs]);
    wirelab(&args, &dir.0)
}

/// Each student's row of class.json.
fn students(json: &serde_json::Value) -> BTreeMap<String, serde_json::Value> {
    json["students"]
        .as_array()
        .expect("students")
        .iter()
        .map(|s| (s["student"].as_str().unwrap().to_string(), s.clone()))
        .collect()
}

fn reasons(student: &serde_json::Value) -> String {
    student["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["reason"].as_str().unwrap().to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn every_submission_gets_its_own_grade_and_the_others_are_unaffected() {
    let dir = TempDir::new("class");
    class(&dir);
    let run = grade_class(&dir, "out1", "1");
    assert_eq!(run.status.code(), Some(0), "{}", text(&run.stderr));
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.0.join("out1/class.json")).unwrap()).unwrap();
    assert_eq!(json["lab"], "fix-the-vpc");
    assert_eq!(json["max"], 18);
    let s = students(&json);
    let ids: Vec<&str> = s.keys().map(String::as_str).collect();
    assert_eq!(
        ids,
        ["alice", "bob", "carol", "dave", "eve", "frank", "grace", "heidi", "ivan", "judy"]
    );
    let status = |id: &str| s[id]["status"].as_str().unwrap().to_string();
    let score = |id: &str| s[id]["score"].as_u64().unwrap();

    assert_eq!((status("alice"), score("alice")), ("ok".into(), 18));
    assert_eq!(s["alice"]["failed"], 0);

    // The filters fixed, not the route: the two checks over the VPN fail.
    assert_eq!((status("bob"), score("bob")), ("ok".into(), 13));
    assert_eq!(s["bob"]["failed"], 2);
    let bob = s["bob"]["reasons"].as_array().unwrap();
    assert_eq!(
        bob[0]["check"],
        "office admins reach the app server over the vpn"
    );
    assert!(bob[0]["reason"]
        .as_str()
        .unwrap()
        .starts_with("expected allow"));

    assert_eq!((status("carol"), score("carol")), ("invalid".into(), 0));
    let carol = reasons(&s["carol"]);
    assert!(
        carol.starts_with("class/carol.yaml:")
            && carol.contains("error: `checks` is not editable in this lab"),
        "{carol}"
    );

    assert_eq!(status("dave"), "invalid");
    assert!(
        reasons(&s["dave"])
            .starts_with("class/dave.yaml:2:22: error: YAML syntax error: unclosed bracket"),
        "{}",
        reasons(&s["dave"])
    );

    assert_eq!(status("eve"), "limit");
    assert!(
        reasons(&s["eve"]).contains("too many alias expansions"),
        "{}",
        reasons(&s["eve"])
    );

    assert_eq!(status("frank"), "limit");
    assert_eq!(
        reasons(&s["frank"]),
        "class/frank.yaml:3:5: error: limit: 5,000 rules in `web-sg` inbound (at most 1,000; --limit rules=N to change)"
    );

    assert_eq!(status("grace"), "limit");
    assert!(
        reasons(&s["grace"]).contains("nested too deeply"),
        "{}",
        reasons(&s["grace"])
    );

    assert_eq!(status("heidi"), "limit");
    assert!(
        reasons(&s["heidi"]).contains("limit: the file is ")
            && reasons(&s["heidi"]).contains("--limit file-bytes=N"),
        "{}",
        reasons(&s["heidi"])
    );

    assert_eq!((status("ivan"), score("ivan")), ("limit".into(), 0));
    assert_eq!(
        reasons(&s["ivan"]),
        "limit: grading took more than 8s of wall time (--limit wall-time=T to change)"
    );

    assert_eq!(status("judy"), "invalid");
    assert!(
        reasons(&s["judy"]).contains("outside the submissions folder"),
        "{}",
        reasons(&s["judy"])
    );

    // class.json's summary agrees with the rows.
    assert_eq!(json["summary"]["students"], 10);
    assert_eq!(json["summary"]["graded"], 2);
    assert_eq!(json["summary"]["limit"], 5);
    assert_eq!(json["summary"]["invalid"], 3);
    assert_eq!(json["summary"]["mean"], 3.1);

    // class.csv: the same rows, read by a CSV reader.
    let mut csv = csv::Reader::from_path(dir.0.join("out1/class.csv")).unwrap();
    assert_eq!(
        csv.headers().unwrap(),
        vec!["student", "status", "score", "max", "passed", "failed", "reasons"]
    );
    let rows: Vec<csv::StringRecord> = csv.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 10);
    for row in &rows {
        let student = &s[&row[0]];
        assert_eq!(row[1], *student["status"].as_str().unwrap());
        assert_eq!(row[2], student["score"].to_string());
        assert_eq!(&row[3], "18");
    }
    assert!(
        rows[1][6].starts_with("office admins reach the app server over the vpn: expected allow")
    );

    // One JUnit file per student, read by an XML reader.
    let alice = junit(&dir.0.join("out1/junit/alice.xml"));
    assert_eq!(alice.suite, "alice");
    assert_eq!((alice.cases, alice.failures, alice.errors), (11, 0, 0));
    let bob = junit(&dir.0.join("out1/junit/bob.xml"));
    assert_eq!((bob.cases, bob.failures), (11, 2));
    let ivan = junit(&dir.0.join("out1/junit/ivan.xml"));
    assert_eq!((ivan.cases, ivan.errors), (1, 1));
    assert!(
        ivan.messages[0].contains("wall time"),
        "{:?}",
        ivan.messages
    );

    // The terminal summary: a row per student, then the class.
    let summary = text(&run.stdout);
    assert!(summary.contains("\nalice        18/18  ok\n"), "{summary}");
    assert!(
        summary.contains("\nbob          13/18  ok  (2 failed)\n"),
        "{summary}"
    );
    assert!(
        summary.contains("class: 10 students — 2 graded, 3 invalid, 5 over a limit, 0 crashed"),
        "{summary}"
    );
    assert!(summary.contains("mean 3.10/18, median 0/18"), "{summary}");

    // Four jobs: the same bytes.
    let run = grade_class(&dir, "out4", "4");
    assert_eq!(run.status.code(), Some(0), "{}", text(&run.stderr));
    for file in [
        "class.csv",
        "class.json",
        "junit/alice.xml",
        "junit/bob.xml",
        "junit/eve.xml",
        "junit/ivan.xml",
    ] {
        assert_eq!(
            std::fs::read(dir.0.join("out1").join(file)).unwrap(),
            std::fs::read(dir.0.join("out4").join(file)).unwrap(),
            "{file} differs between --jobs 1 and --jobs 4"
        );
    }
    let listing = |out: &str| {
        let mut names: Vec<String> = std::fs::read_dir(dir.0.join(out).join("junit"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    };
    assert_eq!(listing("out1"), listing("out4"));
    assert_eq!(listing("out1").len(), 10);
}

/// What a JUnit file says, read with an XML reader.
struct Junit {
    suite: String,
    cases: usize,
    failures: usize,
    errors: usize,
    messages: Vec<String>,
}

fn junit(path: &Path) -> Junit {
    use quick_xml::events::Event;
    let xml = std::fs::read_to_string(path).unwrap();
    let mut reader = quick_xml::Reader::from_str(&xml);
    let mut j = Junit {
        suite: String::new(),
        cases: 0,
        failures: 0,
        errors: 0,
        messages: Vec::new(),
    };
    loop {
        match reader.read_event().expect("well-formed XML") {
            Event::Eof => break,
            Event::Start(e) | Event::Empty(e) => {
                let attr = |name: &str| {
                    e.try_get_attribute(name)
                        .unwrap()
                        .map(|a| a.unescape_value().unwrap().into_owned())
                };
                match e.name().as_ref() {
                    b"testsuite" => j.suite = attr("name").unwrap(),
                    b"testcase" => j.cases += 1,
                    b"failure" => j.failures += 1,
                    b"error" => {
                        j.errors += 1;
                        j.messages.extend(attr("message"));
                    }
                    _ => {}
                }
            }
            _ => {}
        }
    }
    j
}

#[test]
fn a_whole_lab_may_be_submitted_within_limits_and_its_files_stay_in_its_folder() {
    let dir = TempDir::new("files");
    // The teacher's lab names a zone file; without `grading:` everything
    // but `lab`, `seed` and `checks` is editable.
    dir.write("teacher/lab.yaml", URL_LAB);
    dir.write("teacher/zones/example.com.zone", ZONE);
    // A copy of the lab without its zone file: the teacher's is read.
    dir.write("class/copy/lab.yaml", URL_LAB);
    let escape = URL_LAB.replace(
        "file: zones/example.com.zone",
        "file: ../../../../../etc/passwd",
    );
    assert_ne!(escape, URL_LAB);
    dir.write("class/escape.yaml", &escape);
    let absolute = URL_LAB.replace("file: zones/example.com.zone", "file: /etc/passwd");
    dir.write("class/absolute.yaml", &absolute);
    let linked = URL_LAB.replace("file: zones/example.com.zone", "file: zones/linked.zone");
    dir.write("class/link/lab.yaml", &linked);
    std::fs::create_dir_all(dir.0.join("class/link/zones")).unwrap();
    std::os::unix::fs::symlink("/etc/hostname", dir.0.join("class/link/zones/linked.zone"))
        .unwrap();
    // Named pipes would block a read for ever: a lab file and a zone file.
    let piped = URL_LAB.replace("file: zones/example.com.zone", "file: zones/pipe.zone");
    dir.write("class/pipe/lab.yaml", &piped);
    mkfifo(&dir.0.join("class/pipe/zones/pipe.zone"));
    mkfifo(&dir.0.join("class/fifo.yaml"));
    let mut many = URL_LAB.to_string();
    let at = many.find("hosts:\n").unwrap() + "hosts:\n".len();
    let extra: String = (0..3000)
        .map(|i| format!("  extra{i}: {{ network: home }}\n"))
        .collect();
    many.insert_str(at, &extra);
    dir.write("class/many.yaml", &many);
    let line = many[..at].lines().count();

    let run = wirelab(
        &[
            "grade",
            "teacher/lab.yaml",
            "--submissions",
            "class",
            "--out",
            "out",
        ],
        &dir.0,
    );
    assert_eq!(run.status.code(), Some(0), "{}", text(&run.stderr));
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.0.join("out/class.json")).unwrap()).unwrap();
    let s = students(&json);
    assert_eq!(s["copy"]["status"], "ok", "{}", reasons(&s["copy"]));
    assert_eq!(s["copy"]["score"], json["max"]);
    for id in ["escape", "absolute"] {
        assert_eq!(s[id]["status"], "invalid");
        assert!(
            reasons(&s[id]).contains("leaves the lab's folder"),
            "{}",
            reasons(&s[id])
        );
    }
    assert_eq!(s["link"]["status"], "invalid");
    assert!(
        reasons(&s["link"]).contains("leaves the lab's folder (it links to /etc/hostname)"),
        "{}",
        reasons(&s["link"])
    );
    assert_eq!(s["pipe"]["status"], "invalid");
    assert!(
        reasons(&s["pipe"])
            .contains("zone file `class/pipe/zones/pipe.zone` is not a regular file"),
        "{}",
        reasons(&s["pipe"])
    );
    assert_eq!(s["fifo"]["status"], "invalid");
    assert!(
        reasons(&s["fifo"]).contains("not a regular file"),
        "{}",
        reasons(&s["fifo"])
    );
    assert_eq!(s["many"]["status"], "limit");
    // 3,000 hosts and the lab's own.
    let many = reasons(&s["many"]);
    assert!(
        many.starts_with(&format!("class/many.yaml:{line}:1: error: limit: 3,0"))
            && many.ends_with(" hosts (at most 2,000; --limit hosts=N to change)"),
        "{many}"
    );

    // Raised by a limits file, the hosts are no longer over the limit.
    dir.write("limits.yaml", "hosts: 10000\nwall-time: 20s\n");
    let run = wirelab(
        &[
            "grade",
            "teacher/lab.yaml",
            "--submissions",
            "class",
            "--out",
            "out",
            "--limits",
            "limits.yaml",
        ],
        &dir.0,
    );
    assert_eq!(run.status.code(), Some(0), "{}", text(&run.stderr));
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.0.join("out/class.json")).unwrap()).unwrap();
    assert_ne!(students(&json)["many"]["status"], "limit");
}

#[test]
fn simulated_time_and_events_are_bounded() {
    let dir = TempDir::new("bounds");
    dir.write("lab.yaml", &teacher_lab());
    let late = format!(
        "{}traffic:\n  - {{ name: dump, from: app1, to: db1, port: 5432, bulk: 200KB, start: 5s }}\n",
        fixed_filters()
    );
    dir.write("class/late.yaml", &late);
    let big = late.replace("bulk: 200KB, start: 5s", "bulk: 50MB");
    dir.write("class/big.yaml", &big);
    dir.write("class/right.yaml", &fixed_filters());
    let run = wirelab(
        &[
            "grade",
            "lab.yaml",
            "--submissions",
            "class",
            "--limit",
            "sim-time=2s",
            "--limit",
            "sim-events=20,000",
        ],
        &dir.0,
    );
    assert_eq!(run.status.code(), Some(0), "{}", text(&run.stderr));
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.0.join("grades/class.json")).unwrap()).unwrap();
    let s = students(&json);
    assert_eq!(s["late"]["status"], "limit");
    assert_eq!(
        reasons(&s["late"]),
        "limit: the run of the lab's workloads was still going after 2s of simulated time (--limit sim-time=T to change)"
    );
    assert_eq!(s["big"]["status"], "limit");
    assert_eq!(
        reasons(&s["big"]),
        "limit: the run of the lab's workloads ran 20,000 simulated events (the most one simulation may run; --limit sim-events=N to change)"
    );
    // Within the bounds, the same lab is graded.
    assert_eq!(s["right"]["status"], "ok", "{}", reasons(&s["right"]));
    assert_eq!(s["right"]["score"], 13);
}

#[test]
fn bad_arguments_and_a_bad_teachers_lab_are_usage_errors() {
    let dir = TempDir::new("usage");
    dir.write("lab.yaml", &teacher_lab());
    dir.write("class/a.yaml", "");
    let run = wirelab(&["grade", "lab.yaml", "--submissions", "nowhere"], &dir.0);
    assert_eq!(run.status.code(), Some(2));
    assert!(
        text(&run.stderr).contains("nowhere: cannot read the submissions folder"),
        "{}",
        text(&run.stderr)
    );

    let run = wirelab(
        &[
            "grade",
            "lab.yaml",
            "--submissions",
            "class",
            "--limit",
            "hots=5",
            "--limit",
            "wall-time",
        ],
        &dir.0,
    );
    assert_eq!(run.status.code(), Some(2));
    let err = text(&run.stderr);
    assert!(
        err.contains("unknown limit `hots` (did you mean `hosts`?)"),
        "{err}"
    );
    assert!(
        err.contains("--limit `wall-time`: write NAME=VALUE"),
        "{err}"
    );

    dir.write("limits.yaml", "hosts: many\nwal-time: 1s\n");
    let run = wirelab(
        &[
            "grade",
            "lab.yaml",
            "--submissions",
            "class",
            "--limits",
            "limits.yaml",
        ],
        &dir.0,
    );
    assert_eq!(run.status.code(), Some(2));
    let err = text(&run.stderr);
    assert!(
        err.contains("limits.yaml:1:8: error: limit `hosts`: `many` is not a whole number"),
        "{err}"
    );
    assert!(
        err.contains(
            "limits.yaml:2:1: error: unknown limit `wal-time` (did you mean `wall-time`?)"
        ),
        "{err}"
    );

    // The limits in force, without grading.
    dir.write("raise.yaml", "hosts: 5,000\n");
    let run = wirelab(
        &[
            "grade",
            "--show-limits",
            "--limits",
            "raise.yaml",
            "--limit",
            "wall-time=2s",
        ],
        &dir.0,
    );
    assert_eq!(run.status.code(), Some(0), "{}", text(&run.stderr));
    let shown = text(&run.stdout);
    assert!(shown.contains("\nhosts         5,000 "), "{shown}");
    assert!(shown.contains("\nwall-time     2s "), "{shown}");
    assert!(shown.contains("\nrules         1,000 "), "{shown}");

    dir.write(
        "bad.yaml",
        &teacher_lab().replace("editable: [", "editable: [nacl, "),
    );
    let run = wirelab(&["grade", "bad.yaml", "--submissions", "class"], &dir.0);
    assert_eq!(run.status.code(), Some(2));
    let err = text(&run.stderr);
    assert!(err.contains("error: editable part `nacl` does not start with a section of the lab (did you mean `nacls`?)"), "{err}");
    assert!(
        !dir.0.join("grades").exists(),
        "nothing is written for an invalid teacher's lab"
    );

    // An output folder that cannot be made is known before any grading.
    let run = wirelab(
        &[
            "grade",
            "lab.yaml",
            "--submissions",
            "class",
            "--out",
            "lab.yaml/out",
        ],
        &dir.0,
    );
    assert_eq!(run.status.code(), Some(2));
    assert!(
        text(&run.stderr).contains("lab.yaml/out/junit: cannot write"),
        "{}",
        text(&run.stderr)
    );
    assert!(text(&run.stdout).is_empty());

    // An empty submission is the teacher's lab as given.
    let run = wirelab(&["grade", "lab.yaml", "--submissions", "class"], &dir.0);
    assert_eq!(run.status.code(), Some(0), "{}", text(&run.stderr));
    let out = text(&run.stdout);
    assert!(
        out.lines()
            .any(|l| l.starts_with("a ") && l.ends_with(" 6/18  ok  (5 failed)")),
        "{out}"
    );
}
