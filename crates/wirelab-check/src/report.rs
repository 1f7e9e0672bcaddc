//! Reports of a graded lab: human text, JSON, JUnit XML and TAP 14.

use std::fmt::Write as _;

use serde::Serialize;
use wirelab_spec::Lab;

use crate::{CheckResult, Status};

#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub lab: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    pub seed: u64,
    pub passed: usize,
    pub failed: usize,
    pub score: u32,
    pub max_score: u32,
    pub checks: Vec<CheckResult>,
}

impl Report {
    pub fn new(lab: &Lab, checks: Vec<CheckResult>) -> Report {
        let passed = checks.iter().filter(|c| c.status == Status::Pass).count();
        Report {
            lab: lab.lab.value.clone(),
            title: lab.title.clone(),
            seed: lab.seed,
            passed,
            failed: checks.len() - passed,
            score: checks.iter().map(|c| c.earned).sum(),
            max_score: checks.iter().map(|c| c.points).sum(),
            checks,
        }
    }

    pub fn all_passed(&self) -> bool {
        self.failed == 0
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Text { color: bool },
    Json,
    Junit,
    Tap,
}

pub fn render(report: &Report, format: Format) -> String {
    match format {
        Format::Text { color } => text(report, color),
        Format::Json => {
            let mut s = serde_json::to_string_pretty(report).expect("a report always serializes");
            s.push('\n');
            s
        }
        Format::Junit => junit(report),
        Format::Tap => tap(report),
    }
}

struct Paint {
    on: bool,
}

impl Paint {
    fn wrap(&self, code: &str, s: &str) -> String {
        if self.on {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }
    fn green(&self, s: &str) -> String {
        self.wrap("32", s)
    }
    fn red(&self, s: &str) -> String {
        self.wrap("31", s)
    }
    fn dim(&self, s: &str) -> String {
        self.wrap("2", s)
    }
    fn bold(&self, s: &str) -> String {
        self.wrap("1", s)
    }
    fn yellow(&self, s: &str) -> String {
        self.wrap("33", s)
    }
}

fn text(r: &Report, color: bool) -> String {
    let p = Paint { on: color };
    let mut out = String::new();
    let title = r
        .title
        .as_deref()
        .map(|t| format!(" — {t}"))
        .unwrap_or_default();
    let _ = writeln!(out, "{}{title}", p.bold(&format!("lab {}", r.lab)));
    for c in &r.checks {
        let mark = match c.status {
            Status::Pass => p.green("PASS"),
            Status::Fail => p.red("FAIL"),
        };
        let _ = writeln!(
            out,
            "  {mark}  {}  {}",
            c.name,
            p.dim(&format!("[{}/{}]", c.earned, c.points))
        );
        let at =
            c.at.as_deref()
                .map(|a| format!(" at {a}"))
                .unwrap_or_default();
        let _ = writeln!(
            out,
            "        observed {} ({}{at}); expected {}",
            c.observed, c.reason, c.expect
        );
        if let Some(f) = &c.failure {
            let _ = writeln!(out, "        {} {f}", p.red("why it failed:"));
        }
        let _ = writeln!(out, "        {}", p.dim(&c.explanation));
        if c.status == Status::Fail {
            if let Some(h) = &c.hint {
                let _ = writeln!(out, "        {} {h}", p.yellow("hint:"));
            }
        }
    }
    let summary = format!(
        "score {}/{} — {} passed, {} failed",
        r.score, r.max_score, r.passed, r.failed
    );
    let summary = if r.failed == 0 {
        p.green(&summary)
    } else {
        p.red(&summary)
    };
    let _ = writeln!(out, "{}", p.bold(&summary));
    out
}

fn junit(r: &Report) -> String {
    junit_named(r, &r.lab)
}

/// The JUnit report with its test suite named `suite` (`wirelab grade`
/// names each student's suite after the student).
pub fn junit_named(r: &Report, suite: &str) -> String {
    use quick_junit::{NonSuccessKind, Report as JReport, TestCase, TestCaseStatus, TestSuite};
    let mut report = JReport::new(format!("wirelab {}", r.lab));
    let mut suite = TestSuite::new(suite.to_string());
    for c in &r.checks {
        let status = match c.status {
            Status::Pass => TestCaseStatus::success(),
            Status::Fail => {
                let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
                s.set_message(c.failure.clone().unwrap_or_default());
                s.set_type(c.reason);
                let mut desc = c.explanation.clone();
                if let Some(h) = &c.hint {
                    desc.push_str(&format!("\nhint: {h}"));
                }
                s.set_description(desc);
                s
            }
        };
        let mut case = TestCase::new(c.name.clone(), status);
        case.set_classname(r.lab.clone());
        case.add_property(quick_junit::Property::new("points", c.points.to_string()));
        case.add_property(quick_junit::Property::new("earned", c.earned.to_string()));
        suite.add_test_case(case);
    }
    suite.add_property(quick_junit::Property::new("score", r.score.to_string()));
    suite.add_property(quick_junit::Property::new(
        "max_score",
        r.max_score.to_string(),
    ));
    report.add_test_suite(suite);
    report
        .to_string()
        .expect("a JUnit report always serializes")
}

/// A YAML-safe scalar for TAP diagnostics.
fn yaml_str(s: &str) -> String {
    serde_json::to_string(s).expect("strings serialize")
}

fn tap(r: &Report) -> String {
    let mut out = String::from("TAP version 14\n");
    let _ = writeln!(out, "1..{}", r.checks.len());
    for (i, c) in r.checks.iter().enumerate() {
        let ok = if c.status == Status::Pass {
            "ok"
        } else {
            "not ok"
        };
        let name = c.name.replace('#', "\\#");
        let _ = writeln!(out, "{ok} {} - {name}", i + 1);
        if c.status == Status::Fail {
            let _ = writeln!(out, "  ---");
            let _ = writeln!(out, "  expect: {}", c.expect);
            let _ = writeln!(out, "  observed: {}", c.observed);
            let _ = writeln!(out, "  reason: {}", c.reason);
            if let Some(at) = &c.at {
                let _ = writeln!(out, "  at: {}", yaml_str(at));
            }
            if let Some(f) = &c.failure {
                let _ = writeln!(out, "  message: {}", yaml_str(f));
            }
            let _ = writeln!(out, "  explanation: {}", yaml_str(&c.explanation));
            if let Some(h) = &c.hint {
                let _ = writeln!(out, "  hint: {}", yaml_str(h));
            }
            let _ = writeln!(out, "  points: {}", c.points);
            let _ = writeln!(out, "  ...");
        }
    }
    let _ = writeln!(out, "# score {}/{}", r.score, r.max_score);
    out
}
