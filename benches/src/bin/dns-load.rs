//! Queries per second on the real DNS port (`wirelab dns`): a small load
//! generator over loopback UDP, for docs/benchmarks.md ("Real DNS port").
//!
//! ```text
//! cargo build --release -p wirelab
//! cargo run --release -p wirelab-bench --bin dns-load -- [--queries N] [--seconds S] [--window W]
//! ```
//!
//! For each workload it starts a fresh `wirelab dns LAB --as HOST` (lab 07,
//! laptop, by default), keeps `window` queries in flight, and stops after
//! `queries` answers or `seconds` of wall time, whichever comes first:
//!
//! - **cold**: every name is new (`n<i>.example.com`), so each query costs
//!   the resolver a walk to the zone's server and ends in NXDOMAIN;
//! - **warm**: four names asked over and over, answered from the cache.
//!
//! Queries are written by hand (RFC 1035 §4.1) so that this tool shares no
//! code with what it measures.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, UdpSocket};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A query with no reply for this long is counted lost.
const REPLY_WAIT: Duration = Duration::from_secs(2);
/// Most queries in flight at once (the port queues at most 256).
const WINDOW_MAX: usize = 128;

struct Options {
    wirelab: String,
    lab: String,
    host: String,
    queries: u64,
    seconds: u64,
    window: usize,
}

fn main() {
    let o = options();
    println!(
        "wirelab dns {} --as {}: {} queries or {} s per workload, {} in flight",
        o.lab, o.host, o.queries, o.seconds, o.window
    );
    for workload in [Workload::Cold, Workload::Warm] {
        let mut server = Server::start(&o);
        let mut result = run(&o, server.addr, workload);
        server.stop();
        println!("{}", result.line(workload));
    }
}

fn options() -> Options {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let mut o = Options {
        wirelab: format!("{root}/target/release/wirelab"),
        lab: format!("{root}/labs/07-what-happens-when-you-type-a-url.yaml"),
        host: "laptop".into(),
        queries: 20_000,
        seconds: 30,
        window: 8,
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    for pair in args.chunks(2) {
        let [flag, value] = pair else {
            usage(&format!("{} needs a value", pair[0]));
        };
        let number = || value.parse().unwrap_or_else(|_| usage(value));
        match flag.as_str() {
            "--wirelab" => o.wirelab = value.clone(),
            "--lab" => o.lab = value.clone(),
            "--as" => o.host = value.clone(),
            "--queries" => o.queries = number(),
            "--seconds" => o.seconds = number(),
            "--window" => o.window = (number() as usize).clamp(1, WINDOW_MAX),
            other => usage(other),
        }
    }
    o
}

fn usage(bad: &str) -> ! {
    eprintln!("dns-load: bad argument `{bad}`; flags: --wirelab PATH --lab PATH --as HOST --queries N --seconds S --window W");
    std::process::exit(2);
}

#[derive(Clone, Copy)]
enum Workload {
    Cold,
    Warm,
}

impl Workload {
    fn name(self, i: u64) -> (String, u16) {
        const MX: u16 = 15;
        match self {
            Workload::Cold => (format!("n{i}.example.com"), 1),
            Workload::Warm => match i % 4 {
                0 => ("www.example.com".into(), 1),
                1 => ("shop.example.com".into(), 1),
                2 => ("example.com".into(), MX),
                _ => ("nosuch.example.com".into(), 1),
            },
        }
    }

    fn label(self) -> &'static str {
        match self {
            Workload::Cold => "cold (distinct names, NXDOMAIN walks)",
            Workload::Warm => "warm (4 names from the cache)",
        }
    }
}

/// `wirelab dns` on a free port, stopped (by its own process id) at the end.
struct Server {
    child: Child,
    addr: SocketAddr,
}

impl Server {
    fn start(o: &Options) -> Server {
        let mut child = Command::new(&o.wirelab)
            .args(["dns", &o.lab, "--listen", "127.0.0.1:0", "--as", &o.host])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| {
                eprintln!(
                    "dns-load: cannot run {}: {e} (cargo build --release -p wirelab)",
                    o.wirelab
                );
                std::process::exit(2)
            });
        let mut line = String::new();
        let stdout = child.stdout.take().expect("piped");
        let _ = BufReader::new(stdout).read_line(&mut line);
        let addr = line
            .split_whitespace()
            .nth(3)
            .and_then(|a| a.parse().ok())
            .unwrap_or_else(|| panic!("no address in the start line {line:?}"));
        Server { child, addr }
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// RFC 1035 §4.1: a header with RD set and one question, class IN.
fn query(id: u16, name: &str, qtype: u16) -> Vec<u8> {
    let mut q = Vec::with_capacity(64);
    q.extend_from_slice(&id.to_be_bytes());
    q.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
    for label in name.split('.').filter(|l| !l.is_empty()) {
        q.push(u8::try_from(label.len()).expect("a label under 64 bytes"));
        q.extend_from_slice(label.as_bytes());
    }
    q.push(0);
    q.extend_from_slice(&qtype.to_be_bytes());
    q.extend_from_slice(&1u16.to_be_bytes());
    q
}

#[derive(Default)]
struct Outcome {
    answered: u64,
    lost: u64,
    by_rcode: [u64; 16],
    latencies_us: Vec<u64>,
    elapsed: Duration,
}

impl Outcome {
    fn line(&mut self, workload: Workload) -> String {
        self.latencies_us.sort_unstable();
        let pct = |p: usize| {
            let n = self.latencies_us.len();
            if n == 0 {
                return 0;
            }
            self.latencies_us[(n * p / 100).min(n - 1)]
        };
        format!(
            "{:<40} {:>7} answered in {:>6.2} s = {:>7.0} queries/s; NOERROR {} NXDOMAIN {} SERVFAIL {}; lost {}; latency p50 {} µs, p99 {} µs",
            workload.label(),
            self.answered,
            self.elapsed.as_secs_f64(),
            self.answered as f64 / self.elapsed.as_secs_f64(),
            self.by_rcode[0],
            self.by_rcode[3],
            self.by_rcode[2],
            self.lost,
            pct(50),
            pct(99),
        )
    }
}

/// Keeps `window` queries in flight until `queries` answers or the time
/// is up; a query unanswered for [`REPLY_WAIT`] is lost and replaced.
fn run(o: &Options, server: SocketAddr, workload: Workload) -> Outcome {
    let socket = UdpSocket::bind("127.0.0.1:0").expect("a client socket");
    socket.connect(server).expect("connect");
    socket
        .set_read_timeout(Some(REPLY_WAIT))
        .expect("a timeout");
    let deadline = Instant::now() + Duration::from_secs(o.seconds);
    let started = Instant::now();
    let mut in_flight: HashMap<u16, Instant> = HashMap::new();
    let mut out = Outcome::default();
    let mut sent = 0u64;
    let mut buf = [0u8; 4096];
    while out.answered < o.queries && Instant::now() < deadline {
        while in_flight.len() < o.window && sent < o.queries + out.lost {
            let id = (sent % 65_536) as u16;
            let (name, qtype) = workload.name(sent);
            socket.send(&query(id, &name, qtype)).expect("send");
            in_flight.insert(id, Instant::now());
            sent += 1;
        }
        match socket.recv(&mut buf) {
            Ok(len) if len >= 12 => {
                let id = u16::from_be_bytes([buf[0], buf[1]]);
                if let Some(at) = in_flight.remove(&id) {
                    out.answered += 1;
                    out.by_rcode[usize::from(buf[3] & 0x0f)] += 1;
                    out.latencies_us.push(at.elapsed().as_micros() as u64);
                }
            }
            Ok(_) => {}
            Err(_) => {
                out.lost += in_flight.len() as u64;
                in_flight.clear();
            }
        }
    }
    out.elapsed = started.elapsed();
    out
}
