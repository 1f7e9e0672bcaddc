//! wirelab-check: runs a lab's checks in the simulator, scores them and
//! explains every verdict; reports as text, JSON, JUnit and TAP.
//!
//! Checks are independent: each runs from a fresh network state with its
//! own seed derived from the lab's, so a report does not depend on how
//! checks are spread over threads.

pub mod diagram;
pub mod dns;
pub mod exchange;
pub mod exhaustive;
pub mod explain;
pub mod http;
pub mod query;
pub mod report;
pub mod runs;
pub mod ssh;
pub mod trace;

use std::sync::atomic::{AtomicUsize, Ordering};

use serde::Serialize;
use wirelab_net::Network;
use wirelab_sim::{Sim, TraceLevel};
use wirelab_spec::{Check, Outcome, Reason};

pub use exchange::{check_seed, run_exchange, trace_exchange, Exchange, Plan, PlanError};
pub use report::{render, Format, Report, StageReport};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pass,
    Fail,
    /// Not run: a check of an earlier stage did not pass.
    Skipped,
}

/// The graded result of one check.
#[derive(Clone, Debug, Serialize)]
pub struct CheckResult {
    pub name: String,
    pub status: Status,
    pub expect: &'static str,
    pub observed: &'static str,
    pub reason: &'static str,
    /// The node where the outcome was decided.
    pub at: Option<String>,
    pub explanation: String,
    /// Why it failed, when it did: which expectation was not met.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
    pub hint: Option<String>,
    pub points: u32,
    pub earned: u32,
    /// Routers the first request crossed, in order.
    pub path: Vec<String>,
    /// Simulated time at which the outcome was known, in nanoseconds.
    pub decided_ns: u64,
}

/// Whether `via` appears in `path` in order (other routers may come
/// between).
fn crosses_in_order(path: &[String], via: &[String]) -> bool {
    let mut it = path.iter();
    via.iter().all(|v| it.any(|p| p == v))
}

/// Runs one check on `sim` (reset first) and grades it.
pub fn run_check(sim: &mut Sim<'_>, net: &Network, index: usize) -> CheckResult {
    let check: &Check = &net.lab.checks[index];
    let seed = check_seed(net.lab.seed, index);
    if let Some(reach) = &check.reach {
        return exhaustive::run_reach_check(net, check, reach);
    }
    if let Some(dns) = &check.dns {
        return dns::run_dns_check(sim, net, check, dns, seed);
    }
    if let Some(http) = &check.http {
        return http::run_http_check(sim, net, check, http, seed);
    }
    if let Some(ssh) = &check.ssh {
        return ssh::run_ssh_check(sim, net, check, ssh, seed);
    }
    if let wirelab_spec::CheckTarget::Name(name) = &check.to {
        return run_named_check(sim, net, check, name, seed);
    }
    let plan = match Plan::for_check(net, check) {
        Ok(p) => p,
        Err(e) => return unrunnable(check, e.to_string()),
    };
    let ex = run_exchange(sim, plan, seed);
    let explanation = explain::explain(net, &ex, sim.trace());
    grade(net, check, &ex, explanation)
}

/// A check whose `to` is a DNS name: the `from` host looks it up first,
/// then the probe goes to the address it got, in the same run.
fn run_named_check(
    sim: &mut Sim<'_>,
    net: &Network,
    check: &Check,
    name: &str,
    seed: u64,
) -> CheckResult {
    sim.reset_to(seed, check.at_ns.map(wirelab_sim::SimTime));
    let address = match dns::resolve_target(sim, net, check, name) {
        Ok(address) => address,
        Err((reason, why)) => {
            let mut failures = Vec::new();
            if check.expect != Outcome::Deny {
                failures.push(format!(
                    "expected {}, observed deny ({reason})",
                    check.expect.code()
                ));
            } else if let Some(want) = check.reason.filter(|r| r.code() != reason) {
                failures.push(format!("expected reason {want}, observed {reason}"));
            }
            let (status, failure, earned) = verdict(check, &failures);
            return CheckResult {
                name: check.name.value.clone(),
                status,
                expect: check.expect.code(),
                observed: Outcome::Deny.code(),
                reason,
                at: None,
                explanation: why,
                failure,
                hint: check.hint.clone(),
                points: check.points,
                earned,
                path: Vec::new(),
                decided_ns: sim.now().as_nanos(),
            };
        }
    };
    let to = wirelab_spec::CheckTarget::Address(address);
    let plan = match Plan::new(net, check.from, &to, check.proto, check.port, check.family) {
        Ok(p) => p,
        Err(e) => return unrunnable(check, e.to_string()),
    };
    let ex = exchange::run_exchange_now(sim, plan);
    let looked_up = format!("{} is {address}; ", name.trim_end_matches('.'));
    let explanation = looked_up + &explain::explain(net, &ex, sim.trace());
    grade(net, check, &ex, explanation)
}

fn unrunnable(check: &Check, why: String) -> CheckResult {
    CheckResult {
        name: check.name.value.clone(),
        status: Status::Fail,
        expect: check.expect.code(),
        observed: Outcome::Deny.code(),
        reason: Reason::NoRoute.code(),
        at: None,
        explanation: format!("the check cannot run: {why}"),
        failure: Some(why),
        hint: check.hint.clone(),
        points: check.points,
        earned: 0,
        path: Vec::new(),
        decided_ns: 0,
    }
}

/// A check of a stage that is not run because an earlier stage failed.
fn skipped(check: &Check, stage: &str) -> CheckResult {
    let why = format!("stage `{stage}` did not pass, so this check was not run");
    CheckResult {
        status: Status::Skipped,
        observed: "skipped",
        reason: "skipped",
        explanation: why.clone(),
        failure: None,
        ..unrunnable(check, why)
    }
}

fn grade(net: &Network, check: &Check, ex: &Exchange, explanation: String) -> CheckResult {
    let r = &ex.result;
    let path: Vec<String> = ex.path.iter().map(|&n| net.nodes[n].name.clone()).collect();
    let via: Vec<String> = check
        .via
        .iter()
        .map(|&r| net.lab.routers[r].name.value.clone())
        .collect();
    let mut failures = Vec::new();
    if r.outcome != check.expect {
        failures.push(format!(
            "expected {}, observed {} ({})",
            check.expect.code(),
            r.outcome.code(),
            r.reason
        ));
    } else if let Some(want) = check.reason {
        if want != r.reason {
            failures.push(format!("expected reason {want}, observed {}", r.reason));
        }
    }
    if !via.is_empty() && !crosses_in_order(&path, &via) {
        let went = if path.is_empty() {
            "no router".to_string()
        } else {
            path.join(", ")
        };
        failures.push(format!(
            "expected the request to cross {}, but it crossed {went}",
            via.join(", ")
        ));
    }
    let (status, failure, earned) = verdict(check, &failures);
    CheckResult {
        name: check.name.value.clone(),
        status,
        expect: check.expect.code(),
        observed: r.outcome.code(),
        reason: r.reason.code(),
        at: r.node.map(|n| net.nodes[n].name.clone()),
        explanation,
        failure,
        hint: check.hint.clone(),
        points: check.points,
        earned,
        path,
        decided_ns: r.time.as_nanos(),
    }
}

/// A check's status, failure message and points earned, from the list of
/// expectations it failed.
fn verdict(check: &Check, failures: &[String]) -> (Status, Option<String>, u32) {
    if failures.is_empty() {
        (Status::Pass, None, check.points)
    } else {
        (Status::Fail, Some(failures.join("; ")), 0)
    }
}

/// How long the run behind workload checks may go on, in simulated time
/// and in events; workloads end long before unless they are stuck.
pub const FLOW_RUN_TIME_MAX: wirelab_sim::SimTime = wirelab_sim::SimTime::from_secs(3600);
pub const FLOW_RUN_EVENTS_MAX: u64 = 200_000_000;

/// Bounds of the simulations behind one lab's checks. The default is what
/// `wirelab test` uses; `wirelab grade` tightens them for untrusted labs.
#[derive(Clone, Debug)]
pub struct Bounds {
    /// Simulated time of the run behind workload checks.
    pub run_until: wirelab_sim::SimTime,
    /// Events of the run behind workload checks.
    pub run_events_max: u64,
    /// Events of the simulation of any one check.
    pub check_events_max: u64,
    /// Raised from outside to stop every simulation of the lab.
    pub stop: Option<wirelab_sim::StopFlag>,
}

impl Default for Bounds {
    fn default() -> Self {
        Bounds {
            run_until: FLOW_RUN_TIME_MAX,
            run_events_max: FLOW_RUN_EVENTS_MAX,
            check_events_max: wirelab_sim::Limits::default().events_max,
            stop: None,
        }
    }
}

/// Which bound stopped a simulation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bound {
    /// The run behind workload checks reached `run_until` with work left.
    SimTime,
    /// A simulation ran its maximum of events.
    SimEvents,
    /// The stop flag was raised.
    Stopped,
}

/// A bound hit while grading, and where: the name of the check, or `None`
/// for the run behind workload checks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BoundHit {
    pub bound: Bound,
    pub check: Option<String>,
}

/// Runs every check of the network's lab on `threads` threads (at least
/// one), results in the lab's order.
pub fn run_checks(net: &Network, threads: usize) -> Report {
    run_checks_bounded(net, threads, &Bounds::default()).0
}

/// [`run_checks`] within `bounds`: also says which bound, if any, cut a
/// simulation short (the first in the lab's order). With one thread, the
/// checks run on the calling thread.
pub fn run_checks_bounded(
    net: &Network,
    threads: usize,
    bounds: &Bounds,
) -> (Report, Option<BoundHit>) {
    run_checks_staged(net, threads, bounds, None)
}

/// [`run_checks_bounded`] stage by stage: the checks of a stage run only
/// when every check of the stages before it passed (the others are
/// [`Status::Skipped`]). With `up_to`, the stages after it are left out
/// of the run and of the report (`wirelab test --stage`). A lab without
/// stages is one stage.
pub fn run_checks_staged(
    net: &Network,
    threads: usize,
    bounds: &Bounds,
    up_to: Option<usize>,
) -> (Report, Option<BoundHit>) {
    let lab = &net.lab;
    let groups: Vec<Vec<usize>> = if lab.stages.is_empty() {
        vec![(0..lab.checks.len()).collect()]
    } else {
        let last = up_to.unwrap_or(usize::MAX).min(lab.stages.len() - 1);
        (0..=last)
            .map(|s| {
                (0..lab.checks.len())
                    .filter(|&i| lab.checks[i].stage == Some(s))
                    .collect()
            })
            .collect()
    };
    let mut results: Vec<(usize, CheckResult)> = Vec::new();
    let mut hit = None;
    let mut failed_stage: Option<usize> = None;
    for (s, group) in groups.iter().enumerate() {
        if let Some(f) = failed_stage {
            let name = &lab.stages[f].name.value;
            results.extend(group.iter().map(|&i| (i, skipped(&lab.checks[i], name))));
            continue;
        }
        let (done, group_hit) = run_group(net, threads, bounds, group);
        hit = hit.or(group_hit);
        if done.iter().any(|(_, r)| r.status != Status::Pass) {
            failed_stage = Some(s);
        }
        results.extend(done);
    }
    results.sort_by_key(|(i, _)| *i);
    let checks = results.into_iter().map(|(_, r)| r).collect();
    (Report::new(lab, checks), hit)
}

/// Runs the checks `group` (indices into the lab's checks) on `threads`
/// workers: their results by index, and the first bound that cut a
/// simulation short.
fn run_group(
    net: &Network,
    threads: usize,
    bounds: &Bounds,
    group: &[usize],
) -> (Vec<(usize, CheckResult)>, Option<BoundHit>) {
    let n = group.len();
    // Checks on workloads grade one run of the lab's traffic and events.
    let mut run_hit = None;
    let run = group
        .iter()
        .any(|&i| net.lab.checks[i].flow.is_some() || net.lab.checks[i].convergence.is_some())
        .then(|| {
            let options = wirelab_sim::scenario::RunOptions {
                until: bounds.run_until,
                events_max: bounds.run_events_max,
                capture: false,
            };
            let mut scenario = wirelab_sim::scenario::Scenario::new(net, options);
            if let Some(stop) = &bounds.stop {
                scenario.set_stop(stop.clone());
            }
            scenario.advance(options.until, &mut |_| {});
            run_hit = match scenario.end() {
                Some(_) if scenario.sim().stopped() => Some(Bound::Stopped),
                Some(wirelab_sim::scenario::RunEnd::EventLimit) => Some(Bound::SimEvents),
                Some(wirelab_sim::scenario::RunEnd::Until) => Some(Bound::SimTime),
                _ => None,
            };
            scenario.report()
        });
    let run = run.as_ref();
    let threads = threads.clamp(1, n.max(1));
    let next = AtomicUsize::new(0);
    let worker = || {
        let mut sim = Sim::new(net, net.lab.seed, TraceLevel::Full);
        sim.set_limits(wirelab_sim::Limits {
            events_max: bounds.check_events_max,
        });
        if let Some(stop) = &bounds.stop {
            sim.set_stop(stop.clone());
        }
        let mut done = Vec::new();
        loop {
            let k = next.fetch_add(1, Ordering::Relaxed);
            if k >= n {
                break done;
            }
            let i = group[k];
            let check = &net.lab.checks[i];
            // Once stopped, the checks left are not run: work outside the
            // engine's loop (exhaustive checks) cannot be stopped midway,
            // but is not started either.
            if bounds
                .stop
                .as_ref()
                .is_some_and(wirelab_sim::StopFlag::is_raised)
            {
                let result = unrunnable(check, "the run was stopped".to_string());
                done.push((i, result, Some(Bound::Stopped)));
                continue;
            }
            let (result, hit) = match (&check.flow, run) {
                (Some(flow), Some(run)) => (runs::grade_flow(check, flow, run), None),
                (None, Some(run)) if check.convergence.is_some() => {
                    let conv = check.convergence.as_ref().expect("checked");
                    (runs::grade_convergence(net, check, conv, run), None)
                }
                _ => {
                    let result = run_check(&mut sim, net, i);
                    let hit = if sim.stopped() {
                        Some(Bound::Stopped)
                    } else if sim.event_limit_hit() {
                        Some(Bound::SimEvents)
                    } else {
                        None
                    };
                    (result, hit)
                }
            };
            done.push((i, result, hit));
        }
    };
    let chunks: Vec<Vec<(usize, CheckResult, Option<Bound>)>> = if threads == 1 {
        vec![worker()]
    } else {
        std::thread::scope(|scope| {
            let workers: Vec<_> = (0..threads).map(|_| scope.spawn(worker)).collect();
            workers
                .into_iter()
                .map(|w| w.join().expect("a check worker panicked"))
                .collect()
        })
    };
    let mut results: Vec<(usize, CheckResult, Option<Bound>)> =
        chunks.into_iter().flatten().collect();
    results.sort_by_key(|(i, _, _)| *i);
    assert_eq!(results.len(), n, "every check ran");
    let hit = run_hit
        .map(|bound| BoundHit { bound, check: None })
        .or_else(|| {
            results.iter().find_map(|(_, r, hit)| {
                hit.map(|bound| BoundHit {
                    bound,
                    check: Some(r.name.clone()),
                })
            })
        });
    let done = results.into_iter().map(|(i, r, _)| (i, r)).collect();
    (done, hit)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(yaml: &str) -> Network {
        Network::compile(
            &wirelab_spec::parse_str("t.yaml", yaml)
                .expect("valid lab")
                .lab,
        )
    }

    const TWO_HOSTS: &str = "lab: t\nnetworks: { a: { cidr: 10.0.0.0/24 } }\nhosts: { c: { network: a }, s: { network: a, services: [{ port: 80 }] } }\n";

    #[test]
    fn bounds_say_which_bound_cut_a_run_short() {
        let checks = "checks:\n  - { name: one, from: c, to: s, port: 80, expect: allow }\n  - { name: two, from: c, to: s, port: 80, expect: allow }\n";
        let net = net(&format!("{TWO_HOSTS}{checks}"));
        let (report, hit) = run_checks_bounded(&net, 1, &Bounds::default());
        assert_eq!((report.passed, hit), (2, None));
        // Too few events for the handshake.
        let few = Bounds {
            check_events_max: 3,
            ..Bounds::default()
        };
        let (_, hit) = run_checks_bounded(&net, 1, &few);
        assert_eq!(
            hit,
            Some(BoundHit {
                bound: Bound::SimEvents,
                check: Some("one".into())
            })
        );
        // Stopped before it starts: no check runs.
        let stop = wirelab_sim::StopFlag::new();
        stop.raise();
        let stopped = Bounds {
            stop: Some(stop),
            ..Bounds::default()
        };
        let (report, hit) = run_checks_bounded(&net, 2, &stopped);
        assert_eq!(report.failed, 2);
        assert_eq!(hit.map(|h| h.bound), Some(Bound::Stopped));
        // The workload run past its simulated time.
        let flow = "traffic:\n  - { name: f, from: c, to: s, port: 80, bulk: 1MB, start: 5s }\nchecks:\n  - { name: f done, traffic: f, expect: { complete_within: 1s } }\n";
        let net = super::tests::net(&format!("{TWO_HOSTS}{flow}"));
        let short = Bounds {
            run_until: wirelab_sim::SimTime::from_secs(2),
            ..Bounds::default()
        };
        let (_, hit) = run_checks_bounded(&net, 1, &short);
        assert_eq!(
            hit,
            Some(BoundHit {
                bound: Bound::SimTime,
                check: None
            })
        );
    }

    #[test]
    fn via_is_an_ordered_subsequence() {
        let p: Vec<String> = ["r1", "r2", "r3"].iter().map(|s| s.to_string()).collect();
        let v = |xs: &[&str]| xs.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(crosses_in_order(&p, &v(&["r1", "r2", "r3"])));
        assert!(crosses_in_order(&p, &v(&["r1", "r3"])));
        assert!(!crosses_in_order(&p, &v(&["r3", "r1"])));
        assert!(!crosses_in_order(&p, &v(&["r4"])));
        assert!(crosses_in_order(&p, &[]));
    }
}
