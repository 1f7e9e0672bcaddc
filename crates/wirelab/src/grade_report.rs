//! The class report of `wirelab grade`: class.csv, class.json,
//! junit/STUDENT.xml, and the summary printed on the terminal. Every
//! output lists students in id order and holds nothing that depends on
//! the machine (no times, no thread counts), so the same class graded
//! twice gives the same bytes.

use std::fmt::Write as _;
use std::path::Path;

use serde::Serialize;

use crate::grade::{GradeStatus, Graded, Reason};

fn fail(what: &Path, e: std::io::Error) -> String {
    format!("{}: cannot write: {e}", what.display())
}

/// Makes `out` and `out/junit` before any grading (an output that cannot
/// be written is known at once), and removes the JUnit files of earlier
/// runs (junit/*.xml), so the folder will hold this class only.
pub fn prepare(out: &Path) -> Result<(), String> {
    let junit = out.join("junit");
    std::fs::create_dir_all(&junit).map_err(|e| fail(&junit, e))?;
    for entry in std::fs::read_dir(&junit)
        .map_err(|e| fail(&junit, e))?
        .flatten()
    {
        let path = entry.path();
        if path.extension().is_some_and(|e| e == "xml") {
            std::fs::remove_file(&path).map_err(|e| fail(&path, e))?;
        }
    }
    Ok(())
}

/// Writes class.csv, class.json and junit/STUDENT.xml under `out` (made
/// by [`prepare`]).
pub fn write(out: &Path, lab: &str, max: u32, graded: &[Graded]) -> Result<(), String> {
    let junit = out.join("junit");
    let csv_path = out.join("class.csv");
    std::fs::write(&csv_path, csv(graded)).map_err(|e| fail(&csv_path, e))?;
    let json_path = out.join("class.json");
    std::fs::write(&json_path, json(lab, max, graded)).map_err(|e| fail(&json_path, e))?;
    for g in graded {
        let path = junit.join(format!("{}.xml", file_safe(&g.student)));
        std::fs::write(&path, junit_of(lab, g)).map_err(|e| fail(&path, e))?;
    }
    Ok(())
}

/// A student id as a file name: characters other than letters, digits,
/// `-`, `_` and `.` become `_`.
fn file_safe(id: &str) -> String {
    id.chars()
        .map(|c| {
            if c.is_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// One row per student: student, status, score, max, passed, failed, and
/// the reasons, `check: reason` joined by ` | `.
pub fn csv(graded: &[Graded]) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    let header = [
        "student", "status", "score", "max", "passed", "failed", "reasons",
    ];
    w.write_record(header).expect("writing to memory");
    for g in graded {
        let reasons: Vec<String> = g.reasons.iter().map(reason_text).collect();
        w.write_record([
            g.student.clone(),
            g.status.code().to_string(),
            g.score.to_string(),
            g.max.to_string(),
            g.passed.to_string(),
            g.failed.to_string(),
            reasons.join(" | "),
        ])
        .expect("writing to memory");
    }
    String::from_utf8(w.into_inner().expect("writing to memory")).expect("CSV of UTF-8 text")
}

fn reason_text(r: &Reason) -> String {
    match &r.check {
        Some(check) => format!("{check}: {}", r.reason),
        None => r.reason.clone(),
    }
}

#[derive(Serialize)]
struct ClassJson<'a> {
    lab: &'a str,
    max: u32,
    summary: Stats,
    students: Vec<StudentJson<'a>>,
}

#[derive(Serialize)]
struct StudentJson<'a> {
    student: &'a str,
    status: GradeStatus,
    score: u32,
    max: u32,
    passed: usize,
    failed: usize,
    reasons: &'a [Reason],
}

pub fn json(lab: &str, max: u32, graded: &[Graded]) -> String {
    let doc = ClassJson {
        lab,
        max,
        summary: Stats::of(graded, max),
        students: graded
            .iter()
            .map(|g| StudentJson {
                student: &g.student,
                status: g.status,
                score: g.score,
                max: g.max,
                passed: g.passed,
                failed: g.failed,
                reasons: &g.reasons,
            })
            .collect(),
    };
    let mut text = serde_json::to_string_pretty(&doc).expect("a class report serializes");
    text.push('\n');
    text
}

/// The student's checks as a JUnit test suite named after the student; a
/// submission that was not graded is one test case, `grade`, in error.
fn junit_of(lab: &str, g: &Graded) -> String {
    if let Some(report) = &g.report {
        return wirelab_check::report::junit_named(report, &g.student);
    }
    use quick_junit::{NonSuccessKind, Property, Report, TestCase, TestCaseStatus, TestSuite};
    let mut status = TestCaseStatus::non_success(NonSuccessKind::Error);
    status.set_type(g.status.code());
    status.set_message(
        g.reasons
            .first()
            .map(reason_text)
            .unwrap_or_else(|| g.status.code().to_string()),
    );
    let all: Vec<String> = g.reasons.iter().map(reason_text).collect();
    status.set_description(all.join("\n"));
    let mut case = TestCase::new("grade", status);
    case.set_classname(lab.to_string());
    let mut suite = TestSuite::new(g.student.clone());
    suite.add_test_case(case);
    suite.add_property(Property::new("score", "0"));
    suite.add_property(Property::new("max_score", g.max.to_string()));
    suite.add_property(Property::new("status", g.status.code()));
    let mut report = Report::new(format!("wirelab {lab}"));
    report.add_test_suite(suite);
    report.to_string().expect("a JUnit report serializes")
}

/// The class's scores at a glance.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Stats {
    pub students: usize,
    pub graded: usize,
    pub invalid: usize,
    pub limit: usize,
    pub crash: usize,
    /// Mean and median score over every student (0 for those not graded),
    /// to two decimals.
    pub mean: f64,
    pub median: f64,
    /// Students per fifth of the maximum: 0–19 %, 20–39 %, 40–59 %,
    /// 60–79 %, 80–100 %.
    pub distribution: [usize; 5],
}

impl Stats {
    pub fn of(graded: &[Graded], max: u32) -> Stats {
        let count = |s: GradeStatus| graded.iter().filter(|g| g.status == s).count();
        let mut scores: Vec<u32> = graded.iter().map(|g| g.score).collect();
        scores.sort_unstable();
        let n = scores.len();
        let mean = if n == 0 {
            0.0
        } else {
            f64::from(scores.iter().sum::<u32>()) / n as f64
        };
        let median = match n {
            0 => 0.0,
            _ if n % 2 == 1 => f64::from(scores[n / 2]),
            _ => (f64::from(scores[n / 2 - 1]) + f64::from(scores[n / 2])) / 2.0,
        };
        let mut distribution = [0; 5];
        for g in graded {
            let fifth = if max == 0 {
                4
            } else {
                ((u64::from(g.score) * 5) / u64::from(max)).min(4) as usize
            };
            distribution[fifth] += 1;
        }
        Stats {
            students: n,
            graded: count(GradeStatus::Ok),
            invalid: count(GradeStatus::Invalid),
            limit: count(GradeStatus::Limit),
            crash: count(GradeStatus::Crash),
            mean: (mean * 100.0).round() / 100.0,
            median,
            distribution,
        }
    }
}

/// The table printed on the terminal: one line per student, then the
/// class's mean, median and distribution.
pub fn summary(graded: &[Graded], max: u32, out: &Path) -> String {
    let width = graded
        .iter()
        .map(|g| g.student.chars().count())
        .max()
        .unwrap_or(7)
        .max(7);
    let mut text = format!("{:<width$}  {:>9}  status\n", "student", "score");
    for g in graded {
        let score = format!("{}/{}", g.score, g.max);
        let detail = match (g.status, g.reasons.first()) {
            (GradeStatus::Ok, _) if g.failed > 0 => format!("  ({} failed)", g.failed),
            (GradeStatus::Ok, _) | (_, None) => String::new(),
            (_, Some(first)) => format!("  {}", one_line(&reason_text(first))),
        };
        let _ = writeln!(
            text,
            "{:<width$}  {score:>9}  {}{detail}",
            g.student,
            g.status.code()
        );
    }
    let s = Stats::of(graded, max);
    let _ = writeln!(
        text,
        "\nclass: {} students — {} graded, {} invalid, {} over a limit, {} crashed",
        s.students, s.graded, s.invalid, s.limit, s.crash
    );
    let _ = writeln!(text, "mean {:.2}/{max}, median {}/{max}", s.mean, s.median);
    let bands = ["0–19%", "20–39%", "40–59%", "60–79%", "80–100%"];
    let most = s.distribution.iter().copied().max().unwrap_or(0).max(1);
    for (band, n) in bands.iter().zip(s.distribution) {
        let bar = "█".repeat((n * 40).div_ceil(most));
        let _ = writeln!(text, "  {band:>7}  {n:>4}  {bar}");
    }
    let _ = writeln!(
        text,
        "wrote {}, {} and {}",
        out.join("class.csv").display(),
        out.join("class.json").display(),
        out.join("junit").display()
    );
    text
}

/// The first line of a reason, at most 100 characters, for the table.
fn one_line(text: &str) -> String {
    let line = text.lines().next().unwrap_or("");
    if line.chars().count() > 100 {
        let cut: String = line.chars().take(99).collect();
        format!("{cut}…")
    } else {
        line.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graded(student: &str, score: u32, status: GradeStatus) -> Graded {
        Graded {
            student: student.into(),
            status,
            score,
            max: 10,
            passed: 0,
            failed: 0,
            reasons: vec![Reason {
                check: Some("a, \"b\"".into()),
                reason: "x\ny".into(),
            }],
            report: None,
        }
    }

    #[test]
    fn stats_count_every_student() {
        let class = [
            graded("a", 10, GradeStatus::Ok),
            graded("b", 0, GradeStatus::Invalid),
            graded("c", 5, GradeStatus::Ok),
            graded("d", 2, GradeStatus::Ok),
        ];
        let s = Stats::of(&class, 10);
        assert_eq!((s.students, s.graded, s.invalid), (4, 3, 1));
        assert_eq!((s.mean, s.median), (4.25, 3.5));
        assert_eq!(s.distribution, [1, 1, 1, 0, 1]);
    }

    #[test]
    fn csv_quotes_what_needs_quoting() {
        let text = csv(&[graded("a", 1, GradeStatus::Ok)]);
        assert_eq!(
            text,
            "student,status,score,max,passed,failed,reasons\na,ok,1,10,0,0,\"a, \"\"b\"\": x\ny\"\n"
        );
    }

    #[test]
    fn ids_become_safe_file_names() {
        assert_eq!(file_safe("ann-marie_2.b"), "ann-marie_2.b");
        assert_eq!(file_safe("a b/c"), "a_b_c");
    }
}
