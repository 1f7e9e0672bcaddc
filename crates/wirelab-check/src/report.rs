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
    /// Checks not run because an earlier stage did not pass.
    #[serde(skip_serializing_if = "is_zero")]
    pub skipped: usize,
    pub score: u32,
    pub max_score: u32,
    /// The lab's stages that were graded, in order (empty without
    /// `stages:`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub stages: Vec<StageReport>,
    pub checks: Vec<CheckResult>,
}

/// One stage of a report.
#[derive(Clone, Debug, Serialize)]
pub struct StageReport {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// `pass`: every check passed; `fail`: some did not; `skipped`: an
    /// earlier stage did not pass.
    pub status: Status,
    pub score: u32,
    pub max_score: u32,
    /// The names of its checks, in the lab's order.
    pub checks: Vec<String>,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

impl Report {
    /// The report of `checks`, the results of the lab's checks in order
    /// (only those of the stages graded, when the lab has stages).
    pub fn new(lab: &Lab, checks: Vec<CheckResult>) -> Report {
        let count = |st: Status| checks.iter().filter(|c| c.status == st).count();
        let stages = lab
            .stages
            .iter()
            .enumerate()
            .filter_map(|(s, stage)| {
                let mine: Vec<&CheckResult> = lab
                    .checks
                    .iter()
                    .filter(|c| c.stage == Some(s))
                    .filter_map(|c| checks.iter().find(|r| r.name == c.name.value))
                    .collect();
                if mine.is_empty() && lab.checks.iter().any(|c| c.stage == Some(s)) {
                    return None; // after `--stage`: not graded
                }
                let status = if mine.iter().any(|c| c.status == Status::Skipped) {
                    Status::Skipped
                } else if mine.iter().all(|c| c.status == Status::Pass) {
                    Status::Pass
                } else {
                    Status::Fail
                };
                Some(StageReport {
                    name: stage.name.value.clone(),
                    title: stage.title.clone(),
                    status,
                    score: mine.iter().map(|c| c.earned).sum(),
                    max_score: mine.iter().map(|c| c.points).sum(),
                    checks: mine.iter().map(|c| c.name.clone()).collect(),
                })
            })
            .collect();
        Report {
            lab: lab.lab.value.clone(),
            title: lab.title.clone(),
            seed: lab.seed,
            passed: count(Status::Pass),
            failed: count(Status::Fail),
            skipped: count(Status::Skipped),
            score: checks.iter().map(|c| c.earned).sum(),
            max_score: checks.iter().map(|c| c.points).sum(),
            stages,
            checks,
        }
    }

    pub fn all_passed(&self) -> bool {
        self.failed == 0 && self.skipped == 0
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
        // A stage's heading before its first check.
        if let Some((n, stage)) = r
            .stages
            .iter()
            .enumerate()
            .find(|(_, s)| s.checks.first() == Some(&c.name))
        {
            let title = stage
                .title
                .as_deref()
                .map(|t| format!(" — {t}"))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "{}",
                p.bold(&format!(
                    "stage {} {}{title}  [{}/{}]",
                    n + 1,
                    stage.name,
                    stage.score,
                    stage.max_score
                ))
            );
        }
        let mark = match c.status {
            Status::Pass => p.green("PASS"),
            Status::Fail => p.red("FAIL"),
            Status::Skipped => p.yellow("SKIP"),
        };
        let _ = writeln!(
            out,
            "  {mark}  {}  {}",
            c.name,
            p.dim(&format!("[{}/{}]", c.earned, c.points))
        );
        if c.status == Status::Skipped {
            let _ = writeln!(
                out,
                "        {}",
                p.dim(&format!("not run: {}", c.explanation))
            );
            continue;
        }
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
    let mut summary = format!(
        "score {}/{} — {} passed, {} failed",
        r.score, r.max_score, r.passed, r.failed
    );
    if r.skipped > 0 {
        summary.push_str(&format!(", {} skipped", r.skipped));
    }
    let summary = if r.all_passed() {
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
            Status::Skipped => {
                let mut s = TestCaseStatus::skipped();
                s.set_message(c.explanation.clone());
                s
            }
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
        let ok = if c.status == Status::Fail {
            "not ok"
        } else {
            "ok"
        };
        let name = c.name.replace('#', "\\#");
        if c.status == Status::Skipped {
            let _ = writeln!(out, "ok {} - {name} # SKIP {}", i + 1, c.explanation);
            continue;
        }
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
