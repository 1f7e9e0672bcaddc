//! Grading a class (docs/benchmarks.md, "Grading a class"): writes N
//! submissions of labs/03-vpc-security.yaml into a fresh folder — most of
//! them whole copies with a mistake or two, some right, some invalid —
//! then times `wirelab grade` on them, as a teacher would run it.
//!
//! ```text
//! cargo build --release -p wirelab -p wirelab-bench
//! target/release/grade-class [--students 500] [--jobs N] [--runs 3] [--wirelab target/release/wirelab]
//! ```

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

const LAB: &str = include_str!("../../../labs/03-vpc-security.yaml");

/// What student `i` hands in: the lab with the `i`-th kind of change.
fn submission(i: usize) -> String {
    match i % 5 {
        // Right: the lab as given.
        0 => LAB.to_string(),
        // The app port moved: nginx no longer reaches the app.
        1 => LAB.replacen(
            "{ proto: tcp, port: 8000, from: web-sg }",
            "{ proto: tcp, port: 8080, from: web-sg }",
            1,
        ),
        // The database opened to the world.
        2 => LAB.replacen(
            "{ proto: tcp, port: 5432, from: app-sg }",
            "{ proto: tcp, port: 5432, from: 0.0.0.0/0 }",
            1,
        ),
        // Invalid: a group that does not exist.
        3 => LAB.replacen("from: bastion-sg }", "from: bastoin-sg }", 1),
        // Right, with a comment of the student's own.
        _ => format!("# student {i}\n{LAB}"),
    }
}

fn main() {
    let mut students = 500usize;
    let mut jobs: Option<String> = None;
    let mut runs = 3usize;
    let mut wirelab = PathBuf::from("target/release/wirelab");
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || {
            args.next()
                .unwrap_or_else(|| usage(&format!("{arg} needs a value")))
        };
        match arg.as_str() {
            "--students" => students = value().parse().unwrap_or_else(|_| usage("--students N")),
            "--jobs" => jobs = Some(value()),
            "--runs" => runs = value().parse().unwrap_or_else(|_| usage("--runs N")),
            "--wirelab" => wirelab = PathBuf::from(value()),
            _ => usage(&format!("unknown argument {arg}")),
        }
    }
    let dir = std::env::temp_dir().join(format!("wirelab-grade-class-{}", std::process::id()));
    let class = dir.join("class");
    std::fs::create_dir_all(&class).expect("a temporary folder");
    let teacher = dir.join("03-vpc-security.yaml");
    std::fs::write(&teacher, LAB).expect("the teacher's lab");
    for i in 0..students {
        let folder = class.join(format!("student-{i:04}"));
        std::fs::create_dir_all(&folder).expect("a student's folder");
        std::fs::write(folder.join("03-vpc-security.yaml"), submission(i)).expect("a submission");
    }
    println!(
        "{students} submissions of labs/03-vpc-security.yaml; load average before: {}",
        std::fs::read_to_string("/proc/loadavg")
            .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
            .unwrap_or_else(|_| "unknown".into())
    );
    let mut times = Vec::new();
    for run in 1..=runs {
        let seconds = grade(
            &wirelab,
            &teacher,
            &class,
            &dir.join("grades"),
            jobs.as_deref(),
        );
        println!("run {run}: {seconds:.2} s");
        times.push(seconds);
    }
    times.sort_by(f64::total_cmp);
    println!(
        "best {:.2} s, median {:.2} s, worst {:.2} s",
        times[0],
        times[times.len() / 2],
        times[times.len() - 1]
    );
    // What the last run found, as the teacher sees it.
    let report = std::fs::read_to_string(dir.join("grades/class.csv")).unwrap_or_default();
    let mut tally = std::collections::BTreeMap::new();
    for row in report.lines().skip(1) {
        let fields: Vec<&str> = row.splitn(5, ',').collect();
        if let [_, status, score, max, _] = fields[..] {
            *tally.entry(format!("{status} {score}/{max}")).or_insert(0) += 1;
        }
    }
    for (what, n) in tally {
        println!("  {n:>4} × {what}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Wall time of one `wirelab grade`, in seconds.
fn grade(wirelab: &Path, teacher: &Path, class: &Path, out: &Path, jobs: Option<&str>) -> f64 {
    let mut command = Command::new(wirelab);
    command
        .arg("grade")
        .arg(teacher)
        .arg("--submissions")
        .arg(class)
        .arg("--out")
        .arg(out)
        .env("CI", "1");
    if let Some(jobs) = jobs {
        command.args(["--jobs", jobs]);
    }
    let started = Instant::now();
    let output = command
        .output()
        .unwrap_or_else(|e| usage(&format!("cannot run {}: {e}", wirelab.display())));
    let seconds = started.elapsed().as_secs_f64();
    if !output.status.success() {
        eprintln!("{}", String::from_utf8_lossy(&output.stderr));
        std::process::exit(1);
    }
    seconds
}

fn usage(message: &str) -> ! {
    eprintln!("grade-class: {message}\nusage: grade-class [--students N] [--jobs N] [--runs N] [--wirelab PATH]");
    std::process::exit(2);
}
