//! Stopping a run from outside: a flag another thread raises (a grader
//! whose wall-time budget for a lab is spent) and the engine's loop polls
//! every few thousand events. The engine itself never reads a clock, so
//! a run that is not stopped is the same whatever the flag's owner does.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Events run between two looks at the flag: cheap enough to vanish in
/// the loop, often enough that a raised flag stops a run within
/// microseconds.
pub const POLL_EVENTS: u64 = 4096;

/// A shared "stop now" flag; clones share it.
#[derive(Clone, Debug, Default)]
pub struct StopFlag(Arc<AtomicBool>);

impl StopFlag {
    pub fn new() -> StopFlag {
        StopFlag::default()
    }

    /// Asks every run that polls this flag to stop.
    pub fn raise(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    pub fn is_raised(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}
