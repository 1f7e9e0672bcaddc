//! `wirelab grade LAB --submissions DIR`: grades every student's version of
//! a lab, in parallel, each within limits, and writes the class report
//! (grade_report.rs).
//!
//! Each submission is graded on one worker thread, alone: its lab is
//! loaded within the limits (wirelab_spec::limits), merged into the
//! teacher's lab (wirelab_spec::submission), and its checks run by the same
//! function as `wirelab test`'s, within simulated-time and event bounds. A
//! timer thread raises the submission's stop flag when its wall time is
//! spent; the engine polls it. A panic is caught and becomes that
//! submission's `crash`. Nothing a submission does reaches another one.

use std::cell::RefCell;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use clap::Args;
use serde::Serialize;
use wirelab_check::{Bound, BoundHit, Bounds, Report, Status};
use wirelab_net::Network;
use wirelab_sim::{SimTime, StopFlag};
use wirelab_spec::limits::thousands;
use wirelab_spec::{Limits, Severity, Teacher};

use crate::grade_report;

#[derive(Args)]
pub struct GradeArgs {
    /// The teacher's lab: its checks grade every submission.
    #[arg(required_unless_present = "show_limits")]
    lab: Option<PathBuf>,
    /// A folder with one sub-folder (holding the lab file) or one YAML
    /// file per student; the student's id is the folder's name or the
    /// file's name without .yaml.
    #[arg(long, value_name = "DIR", required_unless_present = "show_limits")]
    submissions: Option<PathBuf>,
    /// Where to write class.csv, class.json and junit/STUDENT.xml.
    #[arg(long, value_name = "DIR", default_value = "grades")]
    out: PathBuf,
    /// Submissions graded at once (default: the number of cores).
    #[arg(long, value_name = "N")]
    jobs: Option<usize>,
    /// A YAML file of limits over the defaults, e.g. `{ hosts: 500,
    /// wall-time: 5s }`.
    #[arg(long, value_name = "FILE")]
    limits: Option<PathBuf>,
    /// One limit, as NAME=VALUE (applied after --limits); repeat for more.
    /// Names: file-bytes, yaml-depth, yaml-nodes, yaml-aliases, hosts,
    /// networks, routers, rules, traffic, events, checks, sim-time,
    /// sim-events, wall-time.
    #[arg(long = "limit", value_name = "NAME=VALUE")]
    limit: Vec<String>,
    /// Grade each student against their own variant of the lab (the one
    /// `wirelab variant LAB --student ID` writes), when the lab declares
    /// `variables:`; without it, every student is graded against the
    /// author's version.
    #[arg(long)]
    variants: bool,
    /// Print the limits in force (the defaults, then --limits and --limit)
    /// and exit without grading.
    #[arg(long)]
    show_limits: bool,
}

/// How grading a submission ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum GradeStatus {
    /// Its checks ran; the score says how it did.
    Ok,
    /// The submission is not a valid lab (or not allowed: it edits what
    /// is not editable, or there is no lab file).
    Invalid,
    /// A limit was hit: too large, too many of something, too long.
    Limit,
    /// The grader failed on it (a bug of wirelab, caught).
    Crash,
}

impl GradeStatus {
    pub fn code(self) -> &'static str {
        match self {
            GradeStatus::Ok => "ok",
            GradeStatus::Invalid => "invalid",
            GradeStatus::Limit => "limit",
            GradeStatus::Crash => "crash",
        }
    }
}

/// One reason a submission lost points or was not graded.
#[derive(Clone, Debug, Serialize)]
pub struct Reason {
    /// The check that failed; `None` for a reason about the whole
    /// submission.
    pub check: Option<String>,
    pub reason: String,
}

/// The grade of one submission.
#[derive(Clone, Debug)]
pub struct Graded {
    pub student: String,
    pub status: GradeStatus,
    pub score: u32,
    pub max: u32,
    pub passed: usize,
    pub failed: usize,
    pub reasons: Vec<Reason>,
    /// The checks' report, when they ran.
    pub report: Option<Report>,
}

/// One student's submission: the lab file, or why there is none.
#[derive(Clone, Debug)]
pub struct Submission {
    pub student: String,
    pub lab: Result<PathBuf, String>,
}

pub fn cmd_grade(args: &GradeArgs) -> u8 {
    let Some(limits) = read_limits(args) else {
        return 2;
    };
    if args.show_limits {
        crate::emit(&limits.describe());
        return 0;
    }
    let (Some(lab), Some(submissions)) = (&args.lab, &args.submissions) else {
        return crate::usage_error("give the teacher's LAB and --submissions DIR");
    };
    let (teacher, loaded) = match Teacher::load(lab) {
        Ok(t) => t,
        Err(diags) => {
            crate::print_diagnostics(&diags);
            eprintln!(
                "{}: the teacher's lab is invalid; nothing was graded",
                lab.display()
            );
            return 2;
        }
    };
    VARIANTS.store(args.variants, Ordering::Relaxed);
    let max: u32 = loaded.lab.checks.iter().map(|c| c.points).sum();
    let lab_name = lab
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let submissions = match discover(submissions, &lab_name) {
        Ok(s) if s.is_empty() => {
            return crate::usage_error(&format!(
                "{}: no submissions (sub-folders or .yaml files) in this folder",
                submissions.display()
            ))
        }
        Ok(s) => s,
        Err(e) => return crate::usage_error(&e),
    };
    if let Err(e) = grade_report::prepare(&args.out) {
        return crate::usage_error(&e);
    }
    let jobs = crate::threads(args.jobs);
    let progress = progress_bar(submissions.len() as u64);
    let graded = grade_all(&teacher, max, &submissions, &limits, jobs, &|| {
        progress.inc(1)
    });
    progress.finish_and_clear();
    if let Err(e) = grade_report::write(&args.out, &loaded.lab.lab.value, max, &graded) {
        return crate::usage_error(&e);
    }
    crate::emit(&grade_report::summary(&graded, max, &args.out));
    0
}

/// The defaults of [`Limits::grading`], then --limits, then each --limit.
fn read_limits(args: &GradeArgs) -> Option<Limits> {
    let mut limits = match &args.limits {
        Some(path) => match Limits::from_file(path) {
            Ok(l) => l,
            Err(diags) => {
                crate::print_diagnostics(&diags);
                return None;
            }
        },
        None => Limits::grading(),
    };
    let mut ok = true;
    for item in &args.limit {
        let result = match item.split_once('=') {
            Some((name, value)) => limits.set(name.trim(), value),
            None => Err(format!(
                "--limit `{item}`: write NAME=VALUE, e.g. --limit hosts=500"
            )),
        };
        if let Err(e) = result {
            eprintln!("error: {e}");
            ok = false;
        }
    }
    ok.then_some(limits)
}

fn progress_bar(len: u64) -> indicatif::ProgressBar {
    let shown = std::io::stderr().is_terminal() && std::env::var_os("CI").is_none();
    if !shown {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(len);
    bar.set_style(
        indicatif::ProgressStyle::with_template("grading {pos}/{len} {wide_bar} {elapsed}")
            .expect("a valid template"),
    );
    bar
}

/// The submissions in `dir`, sorted by student: each sub-folder (holding
/// `lab_name`, or a single .yaml file) and each .yaml/.yml file. Hidden
/// entries and other files are skipped.
pub fn discover(dir: &Path, lab_name: &str) -> Result<Vec<Submission>, String> {
    let shown = dir.display();
    let root = dir
        .canonicalize()
        .map_err(|e| format!("{shown}: cannot read the submissions folder: {e}"))?;
    let entries = std::fs::read_dir(dir)
        .map_err(|e| format!("{shown}: cannot read the submissions folder: {e}"))?;
    let mut found = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue;
        }
        let path = entry.path();
        let Ok(metadata) = std::fs::metadata(&path) else {
            continue;
        };
        let (student, lab) = if metadata.is_dir() {
            (name, lab_in_folder(&path, lab_name))
        } else if is_yaml(&path) && !metadata.is_file() {
            let student = path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or(name);
            let why = format!(
                "{}: not a regular file (a pipe or a device?)",
                path.display()
            );
            (student, Err(why))
        } else if is_yaml(&path) {
            let stem = path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or(name);
            (stem, Ok(path.clone()))
        } else {
            continue;
        };
        let lab = lab.and_then(|file| inside(&root, &file).map(|()| file));
        found.push(Submission { student, lab });
    }
    found.sort_by(|a, b| a.student.cmp(&b.student));
    // Two entries with one id (`alice/` and `alice.yaml`): neither is
    // graded, rather than one picked by chance.
    let ids: Vec<String> = found.iter().map(|s| s.student.clone()).collect();
    for (i, s) in found.iter_mut().enumerate() {
        let twins = ids.iter().filter(|id| **id == ids[i]).count();
        if twins > 1 {
            s.lab = Err(format!(
                "{twins} submissions have the id `{}` (a folder and a file?): keep one",
                s.student
            ));
        }
    }
    Ok(found)
}

fn is_yaml(path: &Path) -> bool {
    matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("yaml" | "yml")
    )
}

/// The lab file of a student's folder: the teacher's file name, or the
/// only YAML file.
fn lab_in_folder(folder: &Path, lab_name: &str) -> Result<PathBuf, String> {
    let same = folder.join(lab_name);
    if same.is_file() {
        return Ok(same);
    }
    let mut yaml: Vec<PathBuf> = std::fs::read_dir(folder)
        .map_err(|e| format!("{}: cannot read the folder: {e}", folder.display()))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| is_yaml(p) && p.is_file())
        .collect();
    yaml.sort();
    match yaml.len() {
        1 => Ok(yaml.remove(0)),
        0 => Err(format!(
            "{}: no lab file (`{lab_name}`, or one .yaml file)",
            folder.display()
        )),
        n => Err(format!(
            "{}: {n} YAML files and none is named `{lab_name}`: which one is the lab?",
            folder.display()
        )),
    }
}

/// A submission's file must be inside the submissions folder, links
/// followed.
fn inside(root: &Path, file: &Path) -> Result<(), String> {
    let real = file
        .canonicalize()
        .map_err(|e| format!("{}: cannot read: {e}", file.display()))?;
    if real.starts_with(root) {
        Ok(())
    } else {
        Err(format!(
            "{}: links to {}, outside the submissions folder",
            file.display(),
            real.display()
        ))
    }
}

/// Whether each student is graded against their own variant
/// (`--variants`), set once before grading starts.
static VARIANTS: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Grades every submission on `jobs` threads; results in the order of
/// `submissions` (sorted by student), whatever the threads did.
pub fn grade_all(
    teacher: &Teacher,
    max: u32,
    submissions: &[Submission],
    limits: &Limits,
    jobs: usize,
    done: &(dyn Fn() + Sync),
) -> Vec<Graded> {
    install_panic_hook();
    let n = submissions.len();
    let next = AtomicUsize::new(0);
    let work = || {
        let mut graded = Vec::new();
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(submission) = submissions.get(i) else {
                break graded;
            };
            graded.push((i, grade_isolated(teacher, max, submission, limits)));
            done();
        }
    };
    let chunks: Vec<Vec<(usize, Graded)>> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..jobs.clamp(1, n.max(1)))
            .map(|_| scope.spawn(work))
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().expect("grading catches every panic"))
            .collect()
    });
    let mut slots: Vec<Option<Graded>> = vec![None; n];
    for (i, g) in chunks.into_iter().flatten() {
        slots[i] = Some(g);
    }
    slots
        .into_iter()
        .map(|g| g.expect("every submission was graded"))
        .collect()
}

/// Grades one submission within its wall time, a panic caught.
fn grade_isolated(teacher: &Teacher, max: u32, submission: &Submission, limits: &Limits) -> Graded {
    let student = submission.student.clone();
    match &submission.lab {
        Ok(path) => isolated(&student, max, limits, |stop| {
            grade_submission(teacher, max, &student, path, limits, stop)
        }),
        Err(why) => not_graded(student, max, GradeStatus::Invalid, vec![why.clone()]),
    }
}

/// The grade `work` gives, within the wall time of `limits` (`work` is
/// handed the flag to stop at): `limit` when the time ran out, `crash`
/// when it panicked.
fn isolated(
    student: &str,
    max: u32,
    limits: &Limits,
    work: impl FnOnce(&StopFlag) -> Graded,
) -> Graded {
    let stop = StopFlag::new();
    let wall = Duration::from_millis(limits.wall_time_ms);
    let student = student.to_string();
    match within_wall_time(&stop, wall, || work(&stop)) {
        Ok(graded) if stop.is_raised() && graded.status != GradeStatus::Invalid => not_graded(
            student,
            max,
            GradeStatus::Limit,
            vec![wall_time_reason(limits)],
        ),
        Ok(graded) => graded,
        Err(panic) => not_graded(
            student,
            max,
            GradeStatus::Crash,
            vec![format!(
                "the grader failed on this submission (a bug of wirelab; please report it): {panic}"
            )],
        ),
    }
}

/// Runs `work` with `stop` raised once `wall` has passed (by a timer
/// thread, stopped as soon as `work` is over); a panic in `work` is
/// returned as its message.
pub fn within_wall_time<T>(
    stop: &StopFlag,
    wall: Duration,
    work: impl FnOnce() -> T,
) -> Result<T, String> {
    std::thread::scope(|scope| {
        let (over, timer) = mpsc::channel::<()>();
        let flag = stop.clone();
        // Without a timer thread (none to be had), the event and time
        // limits still bound the run.
        let _ = std::thread::Builder::new()
            .name("wirelab-grade-timer".to_string())
            .spawn_scoped(scope, move || {
                if timer.recv_timeout(wall) == Err(mpsc::RecvTimeoutError::Timeout) {
                    flag.raise();
                }
            });
        LAST_PANIC.with(|p| p.borrow_mut().take());
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(work));
        drop(over);
        result.map_err(|payload| {
            LAST_PANIC
                .with(|p| p.borrow_mut().take())
                .unwrap_or_else(|| panic_text(payload.as_ref()))
        })
    })
}

thread_local! {
    /// The message and place of the last panic on this thread, kept by
    /// the panic hook for the submission's report.
    static LAST_PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Panics while grading are reported per submission, not printed.
fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let message = panic_text(info.payload());
        let text = match info.location() {
            Some(at) => format!("{message} (at {}:{})", at.file(), at.line()),
            None => message,
        };
        LAST_PANIC.with(|p| *p.borrow_mut() = Some(text));
    }));
}

fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic".to_string())
}

fn grade_submission(
    teacher: &Teacher,
    max: u32,
    student: &str,
    path: &Path,
    limits: &Limits,
    stop: &StopFlag,
) -> Graded {
    let own;
    let teacher = if VARIANTS.load(Ordering::Relaxed) {
        match teacher.variant(student) {
            Ok(t) => {
                own = t;
                &own
            }
            Err(diags) => {
                let reasons = diags.iter().map(|d| d.to_string()).collect();
                return not_graded(student.to_string(), max, GradeStatus::Invalid, reasons);
            }
        }
    } else {
        teacher
    };
    let loaded = match teacher.load_submission(path, limits) {
        Ok(loaded) => loaded,
        Err(rejected) => {
            let status = if rejected.limit.is_some() {
                GradeStatus::Limit
            } else {
                GradeStatus::Invalid
            };
            let reasons = rejected
                .diagnostics
                .iter()
                .filter(|d| d.severity == Severity::Error)
                .map(ToString::to_string)
                .collect();
            return not_graded(student.to_string(), max, status, reasons);
        }
    };
    let net = Network::compile(&loaded.lab);
    let bounds = Bounds {
        run_until: SimTime(limits.sim_time_ns),
        run_events_max: limits.sim_events,
        check_events_max: limits.sim_events,
        stop: Some(stop.clone()),
    };
    // One thread per submission: the class is the parallel part.
    let (report, hit) = wirelab_check::run_checks_bounded(&net, 1, &bounds);
    if let Some(hit) = hit {
        let reason = match hit.bound {
            Bound::Stopped => wall_time_reason(limits),
            _ => bound_reason(&hit, limits),
        };
        return not_graded(student.to_string(), max, GradeStatus::Limit, vec![reason]);
    }
    let reasons = report
        .checks
        .iter()
        .filter(|c| c.status == Status::Fail)
        .map(|c| Reason {
            check: Some(c.name.clone()),
            reason: c.failure.clone().unwrap_or_else(|| c.explanation.clone()),
        })
        .collect();
    Graded {
        student: student.to_string(),
        status: GradeStatus::Ok,
        score: report.score,
        max: report.max_score,
        passed: report.passed,
        failed: report.failed,
        reasons,
        report: Some(report),
    }
}

fn wall_time_reason(limits: &Limits) -> String {
    format!(
        "limit: grading took more than {} of wall time (--limit wall-time=T to change)",
        millis(limits.wall_time_ms)
    )
}

fn bound_reason(hit: &BoundHit, limits: &Limits) -> String {
    let place = match &hit.check {
        Some(check) => format!("check `{check}`"),
        None => "the run of the lab's workloads".to_string(),
    };
    match hit.bound {
        Bound::SimTime => format!(
            "limit: {place} was still going after {} of simulated time (--limit sim-time=T to change)",
            millis(limits.sim_time_ns / 1_000_000)
        ),
        _ => format!(
            "limit: {place} ran {} simulated events (the most one simulation may run; --limit sim-events=N to change)",
            thousands(limits.sim_events)
        ),
    }
}

/// `1500` → `1.5s`, `250` → `250ms`.
fn millis(ms: u64) -> String {
    if ms >= 1000 {
        format!("{}s", ms as f64 / 1000.0)
    } else {
        format!("{ms}ms")
    }
}

/// A submission whose checks did not run: 0 points, each reason about the
/// whole submission.
fn not_graded(student: String, max: u32, status: GradeStatus, reasons: Vec<String>) -> Graded {
    Graded {
        student,
        status,
        score: 0,
        max,
        passed: 0,
        failed: 0,
        reasons: reasons
            .into_iter()
            .map(|reason| Reason {
                check: None,
                reason,
            })
            .collect(),
        report: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_is_caught_with_its_message() {
        install_panic_hook();
        let stop = StopFlag::new();
        let result: Result<(), String> =
            within_wall_time(&stop, Duration::from_secs(60), || panic!("boom {}", 42));
        let message = result.unwrap_err();
        // The place is added by the hook, which another test may have taken
        // meanwhile: only the message is sure.
        assert!(message.starts_with("boom 42"), "{message}");
        assert!(!stop.is_raised());
        let _ = std::panic::take_hook();
    }

    #[test]
    fn a_panic_is_a_crash_and_a_spent_wall_time_a_limit() {
        install_panic_hook();
        let mut limits = Limits::grading();
        limits.wall_time_ms = 20;
        let crashed = isolated("ann", 9, &limits, |_| panic!("index out of bounds"));
        let _ = std::panic::take_hook();
        assert_eq!(
            (crashed.status, crashed.score, crashed.max),
            (GradeStatus::Crash, 0, 9)
        );
        let reason = &crashed.reasons[0].reason;
        assert!(
            reason.starts_with("the grader failed on this submission (a bug of wirelab; please report it): index out of bounds"),
            "{reason}"
        );
        // Work that runs until it is stopped, as a simulation does.
        let endless = isolated("bo", 9, &limits, |stop| {
            while !stop.is_raised() {
                std::thread::yield_now();
            }
            not_graded("bo".into(), 9, GradeStatus::Ok, Vec::new())
        });
        assert_eq!(endless.status, GradeStatus::Limit);
        assert_eq!(
            endless.reasons[0].reason,
            "limit: grading took more than 20ms of wall time (--limit wall-time=T to change)"
        );
        let quick = isolated("cy", 9, &limits, |_| {
            not_graded("cy".into(), 9, GradeStatus::Ok, Vec::new())
        });
        assert_eq!(quick.status, GradeStatus::Ok);
    }

    #[test]
    fn the_wall_time_raises_the_flag_and_only_then() {
        let stop = StopFlag::new();
        let quick = within_wall_time(&stop, Duration::from_secs(60), || 7);
        assert_eq!(quick, Ok(7));
        assert!(!stop.is_raised(), "the timer stops with the work");
        // The work polls the flag as the engine does, and gives up when it
        // is raised.
        let polls = within_wall_time(&stop, Duration::from_millis(20), || {
            let mut polls = 0u64;
            while !stop.is_raised() {
                polls += 1;
                std::thread::yield_now();
            }
            polls
        });
        assert!(polls.is_ok() && stop.is_raised());
    }
}
