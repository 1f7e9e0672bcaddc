//! Stages (`stages:`, a check's `stage:`): gating in every report format,
//! `wirelab test --stage`, and the mistakes.

mod common;
use common::wirelab;

const STAGED: &str = "crates/wirelab/tests/stages/staged.yaml";

#[test]
fn a_failed_stage_skips_the_stages_after_it() {
    let (code, out, _) = wirelab(&["test", STAGED]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("stage 1 reach — Everything answers  [3/3]\n"),
        "{out}"
    );
    assert!(out.contains("stage 2 secure — Only the web tier reaches the database  [0/3]\n  FAIL  admin cannot reach db"), "{out}");
    assert!(
        out.contains("  SKIP  no ping to db  [0/1]\n        not run: stage `secure` did not pass, so this check was not run\n"),
        "{out}"
    );
    assert!(
        out.ends_with("score 3/7 — 2 passed, 1 failed, 1 skipped\n"),
        "{out}"
    );

    let (_, json, _) = wirelab(&["test", STAGED, "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&json).expect("json");
    assert_eq!(v["skipped"], 1);
    let stages: Vec<(String, String)> = v["stages"]
        .as_array()
        .expect("stages")
        .iter()
        .map(|s| {
            (
                s["name"].as_str().unwrap_or_default().into(),
                s["status"].as_str().unwrap_or_default().into(),
            )
        })
        .collect();
    assert_eq!(
        stages,
        [
            ("reach".into(), "pass".into()),
            ("secure".into(), "fail".into()),
            ("harden".into(), "skipped".into())
        ]
    );
    assert_eq!(v["checks"][3]["status"], "skipped");

    let (_, junit, _) = wirelab(&["test", STAGED, "--format", "junit"]);
    assert_eq!(junit.matches("<skipped ").count(), 1, "{junit}");
    assert_eq!(junit.matches("<failure ").count(), 1, "{junit}");
    let (_, tap, _) = wirelab(&["test", STAGED, "--format", "tap"]);
    assert!(
        tap.contains("ok 4 - no ping to db # SKIP stage `secure` did not pass"),
        "{tap}"
    );
}

#[test]
fn stage_grades_up_to_a_stage_by_number_or_name() {
    let (code, out, _) = wirelab(&["test", STAGED, "--stage", "1"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.ends_with("score 3/3 — 2 passed, 0 failed\n"), "{out}");
    assert!(!out.contains("secure"), "{out}");
    let (code, out, _) = wirelab(&["test", STAGED, "--stage", "secure"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.ends_with("score 3/6 — 2 passed, 1 failed\n"), "{out}");
    for bad in ["0", "4", "hardening"] {
        let (code, _, err) = wirelab(&["test", STAGED, "--stage", bad]);
        assert_eq!(code, 2, "{bad}");
        assert!(
            err.contains("give a number from 1 to 3 or a name (reach, secure, harden)"),
            "{err}"
        );
    }
    let (code, _, err) = wirelab(&["test", "labs/01-one-router.yaml", "--stage", "1"]);
    assert_eq!(code, 2);
    assert!(err.contains("has no stages"), "{err}");
}

#[test]
fn every_stage_mistake_is_reported_at_once() {
    let file = "crates/wirelab/tests/stages/mistakes.yaml";
    let (code, _, err) = wirelab(&["check", file]);
    assert_eq!(code, 2, "{err}");
    for want in [
        format!("{file}:10:13: error: stage `reach` is already declared (line 9)"),
        format!("{file}:11:13: error: stage name `Secure Stage`: use lowercase letters, digits, `-` and `_`"),
        format!("{file}:12:5: error: a stage is missing `name`"),
        format!("{file}:14:25: error: unknown stage `rech` (did you mean `reach`?)"),
        format!("{file}:15:5: error: this lab has stages: the check needs a `stage:` (stages: reach)"),
    ] {
        assert!(err.contains(&want), "missing {want:?} in\n{err}");
    }
    assert!(err.contains(": 5 errors found; nothing was run"), "{err}");
    // A stage without `stages:`.
    let dir = std::env::temp_dir().join(format!("wirelab-stages-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a folder");
    let lab = dir.join("no-stages.yaml");
    std::fs::write(
        &lab,
        "lab: t\nnetworks: { lan: { cidr: 10.0.0.0/24 } }\nhosts: { a: { network: lan }, b: { network: lan } }\nchecks:\n  - { name: one, stage: reach, from: a, to: b, proto: icmp, expect: allow }\n",
    )
    .expect("written");
    let (code, _, err) = wirelab(&["check", lab.to_str().expect("utf-8")]);
    assert_eq!(code, 2);
    assert!(
        err.contains(
            ":5:25: error: the check names stage `reach`, but the lab has no `stages:` list"
        ),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).ok();
}
