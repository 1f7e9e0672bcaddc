//! Per-student variants (`variables:`, `${name}`): `wirelab variant`,
//! `wirelab test --student`, `wirelab grade --variants` (a copied answer
//! fails), and the mistakes.

mod common;
use common::{root, wirelab};

const LAB: &str = "crates/wirelab/tests/variants/lab.yaml";

/// The port and client address a variant chose.
fn choices(text: &str) -> (String, String) {
    let rule = text
        .lines()
        .find(|l| l.contains("{ proto: tcp, port: "))
        .expect("the rule");
    let port = rule
        .split("port: ")
        .nth(1)
        .and_then(|r| r.split(',').next())
        .unwrap_or_default();
    let from = rule
        .split("from: ")
        .nth(1)
        .and_then(|r| r.split('/').next())
        .unwrap_or_default();
    (port.to_string(), from.to_string())
}

#[test]
fn each_student_gets_a_stable_valid_variant() {
    let (code, author, _) = wirelab(&["test", LAB]);
    assert_eq!(
        code, 0,
        "the author's version (first choices) passes: {author}"
    );
    let mut seen = std::collections::BTreeSet::new();
    for student in [
        "alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi",
    ] {
        let (code, text, err) = wirelab(&["variant", LAB, "--student", student]);
        assert_eq!(code, 0, "{err}");
        assert!(!text.contains("${"), "{text}");
        let (again_code, again, _) = wirelab(&["variant", LAB, "--student", student]);
        assert_eq!(
            (again_code, &again),
            (0, &text),
            "the same variant every time"
        );
        let (port, ip) = choices(&text);
        assert!(
            ["8080", "8081", "8443", "9000", "9443"].contains(&port.as_str()),
            "{port}"
        );
        assert!(
            ["10.0.0.50", "10.0.0.60", "10.0.0.70"].contains(&ip.as_str()),
            "{ip}"
        );
        seen.insert((port, ip));
        // Each student's own variant passes its checks.
        let (code, out, _) = wirelab(&["test", LAB, "--student", student]);
        assert_eq!(code, 0, "{student}: {out}");
    }
    assert!(
        seen.len() >= 4,
        "eight students, {} distinct variants: {seen:?}",
        seen.len()
    );
}

#[test]
fn a_copied_answer_fails_when_grading_knows_the_variants() {
    // Two students whose variants differ; the second hands in the
    // first's security group.
    let students = ["alice", "bob", "carol", "dave", "erin"];
    let variant = |s: &str| wirelab(&["variant", LAB, "--student", s]).1;
    let first = students[0];
    let copier = students[1..]
        .iter()
        .find(|&&s| choices(&variant(s)) != choices(&variant(first)))
        .expect("two different variants");
    let dir = std::env::temp_dir().join(format!("wirelab-variants-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let answer = |s: &str| {
        let (port, ip) = choices(&variant(s));
        format!("security_groups:\n  web-sg:\n    inbound:\n      - {{ proto: tcp, port: {port}, from: {ip}/32 }}\n")
    };
    for (student, text) in [(first, answer(first)), (*copier, answer(first))] {
        std::fs::create_dir_all(dir.join("class").join(student)).expect("a folder");
        std::fs::write(dir.join("class").join(student).join("lab.yaml"), text).expect("written");
    }
    let class = dir.join("class");
    let out = dir.join("grades");
    let lab = root().join(LAB);
    let (code, table, err) = wirelab(&[
        "grade",
        lab.to_str().expect("utf-8"),
        "--submissions",
        class.to_str().expect("utf-8"),
        "--out",
        out.to_str().expect("utf-8"),
        "--variants",
    ]);
    assert_eq!(code, 0, "{table}{err}");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("class.json")).expect("class.json"))
            .expect("json");
    let score = |s: &str| {
        json["students"]
            .as_array()
            .expect("students")
            .iter()
            .find(|x| x["student"] == s)
            .map(|x| {
                (
                    x["score"].as_u64().unwrap_or(99),
                    x["max"].as_u64().unwrap_or(0),
                )
            })
            .expect("graded")
    };
    assert_eq!(score(first), (3, 3), "{json}");
    assert!(score(copier).0 < 3, "the copy must fail somewhere: {json}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn every_variant_mistake_is_reported_at_once() {
    let file = "crates/wirelab/tests/variants/mistakes.yaml";
    let (code, _, err) = wirelab(&["check", file]);
    assert_eq!(code, 2);
    for want in [
        ":4:30: error: choice `80 80`: use letters, digits",
        ":5:3: error: variable name `Bad-Name`",
        ":6:20: error: `choose` lists 1 to 1000 values",
        ":7:22: error: a placeholder cannot stand inside `variables:`",
        ":11:41: error: unknown variable `web_prot` in `${web_prot}` (did you mean `web_port`?)",
        ":13:27: error: `${` opens a placeholder that is never closed with `}`",
    ] {
        assert!(
            err.contains(&format!("{file}{want}")),
            "missing {want:?} in\n{err}"
        );
    }
    // `wirelab variant` stops at the same mistakes.
    let (code, out, _) = wirelab(&["variant", file, "--student", "alice"]);
    assert_eq!((code, out.as_str()), (2, ""));
    // Without `variables:`, `${` is plain text, as in any version-1 lab.
    let plain = std::env::temp_dir().join(format!("wirelab-plain-{}.yaml", std::process::id()));
    std::fs::write(
        &plain,
        "lab: t\ndescription: \"run `echo ${HOME}` there\"\nnetworks: { lan: { cidr: 10.0.0.0/24 } }\nhosts: { a: { network: lan } }\n",
    )
    .expect("written");
    let (code, _, err) = wirelab(&["check", plain.to_str().expect("utf-8")]);
    assert_eq!(code, 0, "{err}");
    std::fs::remove_file(&plain).ok();
}
