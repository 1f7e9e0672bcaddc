//! Live heap bytes of a `wirelab run`, measured with a counting global
//! allocator: after the lab is parsed and compiled (the baseline), and at
//! the highest point during the run. With a lab whose connections all stay
//! open to the end (benches/scenarios/memory-N.yaml), (peak − baseline) / N
//! is what one open connection costs (both of its sockets, the workload's
//! run-time state, indexes and the event queue share), without the parser's
//! transient memory that dominates the process's max RSS.
//!
//! Usage: memprobe LAB.yaml UNTIL_NS   → prints JSON on stdout.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering::Relaxed};

struct Counting;
static LIVE: AtomicI64 = AtomicI64::new(0);
static PEAK: AtomicI64 = AtomicI64::new(0);
static TRACK: AtomicBool = AtomicBool::new(false);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        let p = System.alloc(l);
        if !p.is_null() {
            bump(l.size() as i64);
        }
        p
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        System.dealloc(p, l);
        LIVE.fetch_sub(l.size() as i64, Relaxed);
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, n: usize) -> *mut u8 {
        let q = System.realloc(p, l, n);
        if !q.is_null() {
            bump(n as i64 - l.size() as i64);
        }
        q
    }
}

fn bump(d: i64) {
    let now = LIVE.fetch_add(d, Relaxed) + d;
    if TRACK.load(Relaxed) && now > PEAK.load(Relaxed) {
        PEAK.store(now, Relaxed);
    }
}

#[global_allocator]
static A: Counting = Counting;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let loaded = match wirelab_spec::load(std::path::Path::new(&args[1])) {
        Ok(l) => l,
        Err(e) => panic!("{} problems in the lab", e.len()),
    };
    let until: u64 = args[2].parse().expect("UNTIL_NS");
    let net = wirelab_net::Network::compile(&loaded.lab);
    let base = LIVE.load(Relaxed);
    PEAK.store(base, Relaxed);
    TRACK.store(true, Relaxed);
    let opts = wirelab_sim::scenario::RunOptions {
        until: wirelab_sim::SimTime(until),
        events_max: u64::MAX,
        capture: false,
    };
    let report = wirelab_sim::scenario::run(&net, opts, &mut |_| {});
    TRACK.store(false, Relaxed);
    let open = report
        .flows
        .iter()
        .filter(|f| f.error.as_deref().is_some_and(|e| e.contains("ESTABLISHED")))
        .count();
    println!(
        "{{\"baseline_bytes\": {}, \"peak_bytes\": {}, \"open\": {}, \"events\": {}}}",
        base,
        PEAK.load(Relaxed),
        open,
        report.events
    );
}
