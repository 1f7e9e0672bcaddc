//! `wirelab run`: a lab's traffic and events over time.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::{Args, ValueEnum};
use wirelab_net::Network;
use wirelab_sim::scenario::{self, RunEnd, RunOptions};
use wirelab_sim::SimTime;

#[derive(Clone, Copy, ValueEnum)]
pub enum RunFormat {
    Text,
    Json,
}

#[derive(Args)]
pub struct RunArgs {
    lab: PathBuf,
    /// Stop at this simulated time (e.g. 30s, 500ms, 2min). Default 60s,
    /// or 60s after the lab's last event when that is later.
    #[arg(long, value_parser = parse_time)]
    until: Option<u64>,
    /// Stop after this many events.
    #[arg(long, default_value_t = 200_000_000)]
    max_events: u64,
    /// Write a pcapng capture: a file, or a directory (LAB.pcapng inside).
    #[arg(long)]
    pcap: Option<PathBuf>,
    #[arg(long, value_enum, default_value = "text")]
    format: RunFormat,
    /// Use this seed instead of the lab's.
    #[arg(long)]
    seed: Option<u64>,
    /// After the run, write its counters as Prometheus metrics (text
    /// format 0.0.4) to this file; `-` writes them to stdout instead of
    /// the run's report.
    #[arg(long, value_name = "FILE")]
    metrics: Option<PathBuf>,
}

/// Writes a metrics exposition to `path` (`-`: stdout). Returns false,
/// having said why, when the file cannot be written.
pub fn write_metrics(path: &std::path::Path, text: &str) -> bool {
    if path.as_os_str() == "-" {
        crate::emit(text);
        return true;
    }
    match std::fs::write(path, text) {
        Ok(()) => true,
        Err(e) => {
            eprintln!("error: cannot write the metrics to {}: {e}", path.display());
            false
        }
    }
}

/// `--until` when not given: 60 s, or 60 s after the last event.
const UNTIL_DEFAULT_NS: u64 = 60_000_000_000;

fn parse_time(text: &str) -> Result<u64, String> {
    wirelab_spec::quantity::parse_time(text)
}

/// A progress bar on a terminal, once a run has taken a second of wall
/// time; nothing when output is not a terminal or `CI` is set.
struct Progress {
    bar: Option<indicatif::ProgressBar>,
    started: Instant,
    until_ns: u64,
    allowed: bool,
}

impl Progress {
    fn new(until_ns: u64) -> Progress {
        let allowed = std::io::stderr().is_terminal() && std::env::var_os("CI").is_none();
        Progress {
            bar: None,
            started: Instant::now(),
            until_ns,
            allowed,
        }
    }

    fn tick(&mut self, now: SimTime) {
        if !self.allowed || self.started.elapsed() < Duration::from_secs(1) {
            return;
        }
        let bar = self.bar.get_or_insert_with(|| {
            let bar = indicatif::ProgressBar::new(self.until_ns / 1_000_000);
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "{spinner} simulated {pos}/{len} ms {wide_bar} {elapsed}",
                )
                .expect("a valid template"),
            );
            bar
        });
        bar.set_position(now.0 / 1_000_000);
    }

    fn finish(self) {
        if let Some(bar) = self.bar {
            bar.finish_and_clear();
        }
    }
}

pub fn cmd_run(
    args: &RunArgs,
    load: impl Fn(&std::path::Path) -> Option<wirelab_spec::Loaded>,
) -> u8 {
    let Some(mut loaded) = load(&args.lab) else {
        return 2;
    };
    if let Some(seed) = args.seed {
        loaded.lab.seed = seed;
    }
    let net = Network::compile(&loaded.lab);
    let until = args.until.unwrap_or_else(|| {
        let last = net.lab.events.last().map_or(0, |e| e.at_ns);
        UNTIL_DEFAULT_NS.max(last.saturating_add(UNTIL_DEFAULT_NS))
    });
    let options = RunOptions {
        until: SimTime(until),
        events_max: args.max_events,
        capture: args.pcap.is_some(),
    };
    let mut progress = Progress::new(until);
    let report = scenario::run(&net, options, &mut |now| progress.tick(now));
    progress.finish();
    if let Some(path) = &args.pcap {
        let file = if path.is_dir() {
            path.join(format!("{}.pcapng", net.lab.lab.value))
        } else {
            path.clone()
        };
        let written = std::fs::File::create(&file)
            .map(std::io::BufWriter::new)
            .and_then(|out| wirelab_wire::write_capture(&net, &report.frames, out));
        if let Err(e) = written {
            eprintln!("error: cannot write the capture to {}: {e}", file.display());
            return 2;
        }
        eprintln!("wrote {} frames to {}", report.frames.len(), file.display());
    }
    let metrics_to_stdout = args
        .metrics
        .as_deref()
        .is_some_and(|p| p.as_os_str() == "-");
    if let Some(path) = &args.metrics {
        let text = wirelab_metrics::render(&net.lab.lab.value, &net, Some(&report.counters), None);
        if !write_metrics(path, &text) {
            return 2;
        }
    }
    if !metrics_to_stdout {
        let out = match args.format {
            RunFormat::Text => wirelab_check::runs::text(&net, &report),
            RunFormat::Json => wirelab_check::runs::json(&net, &report),
        };
        crate::emit(&out);
    }
    match report.end {
        RunEnd::EventLimit => {
            eprintln!("note: the run stopped at --max-events {}", args.max_events);
            0
        }
        _ => 0,
    }
}
