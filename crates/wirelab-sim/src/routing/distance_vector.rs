//! A distance-vector routing protocol modelled on RIPv2 (RFC 2453), as a
//! sans-IO state machine like [`crate::routing::link_state`].
//!
//! What is modelled, after RFC 2453 §3.4–3.10:
//! - **Responses**: every `update` (30 s) a router sends its whole table on
//!   each interface; a route learned adds the interface's metric (1 by
//!   default) and is kept while refreshed: after `timeout` (180 s) without
//!   news it becomes unreachable (metric 16) and is deleted `garbage`
//!   (120 s) later.
//! - **Infinity is 16**: a metric of 16 means unreachable, so routing
//!   loops count up to it and stop ("counting to infinity", §2.2.1).
//! - **Split horizon** per interface (§3.4.3): `PoisonedReverse` (the
//!   default) advertises routes learned on an interface back on it with
//!   metric 16, `Simple` leaves them out, `Off` advertises them as any
//!   other — which lets count-to-infinity be shown.
//! - **Triggered updates** (§3.10.1): a change is sent `triggered` after
//!   it happens (RFC 2453 draws 1–5 s; a fixed delay keeps runs
//!   deterministic), only the routes that changed.
//! - **Requests** (§3.9.1): an interface that comes up asks its neighbours
//!   for their whole table.
//!
//! A route keeps its next hop until a strictly better metric comes (no
//! equal-cost multipath, as in RIP).

use std::collections::BTreeMap;
use std::net::IpAddr;

use ipnet::IpNet;

use crate::time::SimTime;

/// Unreachable.
pub const INFINITY: u32 = 16;

/// The protocol's timers (RFC 2453 §3.8 defaults).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timers {
    pub update: SimTime,
    pub timeout: SimTime,
    pub garbage: SimTime,
    pub triggered: SimTime,
}

impl Default for Timers {
    fn default() -> Timers {
        Timers {
            update: SimTime::from_secs(30),
            timeout: SimTime::from_secs(180),
            garbage: SimTime::from_secs(120),
            triggered: SimTime::from_secs(2),
        }
    }
}

/// How routes learned on an interface are advertised back on it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SplitHorizon {
    Off,
    Simple,
    #[default]
    PoisonedReverse,
}

/// The protocol's messages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Message {
    /// "Send me your whole table."
    Request,
    /// Routes and their metrics (16: unreachable).
    Response { entries: Vec<(IpNet, u32)> },
}

/// What the protocol sends.
pub type Output = crate::routing::Output<Message>;

pub use crate::routing::IfaceConfig;

/// A route of the table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Route {
    pub prefix: IpNet,
    pub metric: u32,
    /// (interface, neighbour address); `None` for a connected prefix.
    pub next_hop: Option<(usize, IpAddr)>,
}

#[derive(Clone, Debug)]
struct Entry {
    metric: u32,
    next_hop: Option<(usize, IpAddr)>,
    /// When a learned route times out.
    timeout_at: Option<SimTime>,
    /// When an unreachable route is deleted.
    garbage_at: Option<SimTime>,
    /// Changed since the last update sent (for triggered updates).
    changed: bool,
}

#[derive(Clone, Debug)]
struct Iface {
    config: IfaceConfig,
    up: bool,
}

/// One router's protocol instance.
#[derive(Clone, Debug)]
pub struct DistanceVector {
    timers: Timers,
    horizon: SplitHorizon,
    ifaces: Vec<Iface>,
    table: BTreeMap<IpNet, Entry>,
    next_update: SimTime,
    triggered_at: Option<SimTime>,
    /// Updates sent so far (periodic and triggered), for the report.
    pub updates_sent: u64,
}

impl DistanceVector {
    /// A router with these interfaces, all up, at `now`: it asks its
    /// neighbours for their tables at once.
    pub fn new(
        timers: Timers,
        horizon: SplitHorizon,
        ifaces: Vec<IfaceConfig>,
        now: SimTime,
    ) -> Self {
        let mut me = DistanceVector {
            timers,
            horizon,
            ifaces: ifaces
                .into_iter()
                .map(|config| Iface { config, up: true })
                .collect(),
            table: BTreeMap::new(),
            next_update: now + timers.update,
            triggered_at: Some(now),
            updates_sent: 0,
        };
        for i in 0..me.ifaces.len() {
            me.connect(i);
        }
        me
    }

    /// The table: every prefix with its metric (16: being withdrawn).
    pub fn table(&self) -> Vec<Route> {
        self.table
            .iter()
            .map(|(&prefix, e)| Route {
                prefix,
                metric: e.metric,
                next_hop: e.next_hop,
            })
            .collect()
    }

    /// The learned routes that are usable (metric below 16).
    pub fn routes(&self) -> Vec<Route> {
        self.table()
            .into_iter()
            .filter(|r| r.next_hop.is_some() && r.metric < INFINITY)
            .collect()
    }

    fn connect(&mut self, i: usize) {
        for &p in &self.ifaces[i].config.prefixes {
            self.table.insert(
                p,
                Entry {
                    metric: 0,
                    next_hop: None,
                    timeout_at: None,
                    garbage_at: None,
                    changed: true,
                },
            );
        }
    }

    /// Marks a route unreachable: advertised as 16 until deleted.
    fn withdraw(e: &mut Entry, now: SimTime, garbage: SimTime) {
        if e.metric < INFINITY || e.garbage_at.is_none() {
            e.metric = INFINITY;
            e.timeout_at = None;
            e.garbage_at = Some(now + garbage);
            e.changed = true;
        }
    }

    fn trigger(&mut self, now: SimTime) {
        if self.triggered_at.is_none() {
            self.triggered_at = Some(now + self.timers.triggered);
        }
    }

    /// An interface goes down (its routes and connected prefixes become
    /// unreachable at once) or comes up (it asks for the neighbours'
    /// tables).
    pub fn set_iface_up(&mut self, now: SimTime, iface: usize, up: bool) -> Vec<Output> {
        let mut out = Vec::new();
        if self.ifaces[iface].up == up {
            return out;
        }
        self.ifaces[iface].up = up;
        if up {
            self.connect(iface);
            out.push(Output {
                iface,
                to: None,
                message: Message::Request,
            });
        } else {
            let own: Vec<IpNet> = self.ifaces[iface].config.prefixes.clone();
            for (p, e) in self.table.iter_mut() {
                let via = e.next_hop.is_some_and(|(i, _)| i == iface);
                if via || (e.next_hop.is_none() && own.contains(p)) {
                    Self::withdraw(e, now, self.timers.garbage);
                }
            }
        }
        self.trigger(now);
        out
    }

    /// A message that arrived on `iface` from the address `from`.
    pub fn receive(
        &mut self,
        now: SimTime,
        iface: usize,
        from: IpAddr,
        msg: Message,
    ) -> Vec<Output> {
        let mut out = Vec::new();
        if !self.ifaces.get(iface).is_some_and(|i| i.up) {
            return out;
        }
        match msg {
            Message::Request => {
                let entries = self.advertised(iface, false);
                self.updates_sent += 1;
                out.push(Output {
                    iface,
                    to: Some(from),
                    message: Message::Response { entries },
                });
            }
            Message::Response { entries } => {
                let cost = self.ifaces[iface].config.cost;
                let mut changed = false;
                for (prefix, m) in entries {
                    let metric = m.saturating_add(cost).min(INFINITY);
                    changed |= self.learn(now, iface, from, prefix, metric);
                }
                if changed {
                    self.trigger(now);
                }
            }
        }
        out
    }

    /// One advertised route (RFC 2453 §3.9.2); whether the table changed.
    fn learn(
        &mut self,
        now: SimTime,
        iface: usize,
        from: IpAddr,
        prefix: IpNet,
        metric: u32,
    ) -> bool {
        let hop = Some((iface, from));
        let timeout = now + self.timers.timeout;
        match self.table.get_mut(&prefix) {
            None if metric < INFINITY => {
                self.table.insert(
                    prefix,
                    Entry {
                        metric,
                        next_hop: hop,
                        timeout_at: Some(timeout),
                        garbage_at: None,
                        changed: true,
                    },
                );
                true
            }
            None => false,
            // Connected prefixes are never replaced.
            Some(e) if e.next_hop.is_none() && e.metric == 0 => false,
            Some(e) if e.next_hop == hop => {
                if metric < INFINITY {
                    e.timeout_at = Some(timeout);
                    e.garbage_at = None;
                }
                if metric == e.metric {
                    return false;
                }
                if metric >= INFINITY {
                    Self::withdraw(e, now, self.timers.garbage);
                } else {
                    e.metric = metric;
                    e.changed = true;
                }
                true
            }
            Some(e) if metric < e.metric => {
                *e = Entry {
                    metric,
                    next_hop: hop,
                    timeout_at: Some(timeout),
                    garbage_at: None,
                    changed: true,
                };
                true
            }
            Some(_) => false,
        }
    }

    /// The routes to advertise on `iface` (only the changed ones for a
    /// triggered update), split horizon applied.
    fn advertised(&self, iface: usize, changed_only: bool) -> Vec<(IpNet, u32)> {
        let mut out = Vec::new();
        for (&p, e) in &self.table {
            if changed_only && !e.changed {
                continue;
            }
            let learned_here = e.next_hop.is_some_and(|(i, _)| i == iface);
            let metric = match (learned_here, self.horizon) {
                (true, SplitHorizon::Simple) => continue,
                (true, SplitHorizon::PoisonedReverse) => INFINITY,
                _ => e.metric.clamp(1, INFINITY),
            };
            // A connected prefix is advertised with metric 1 (RIP counts
            // the hop to it).
            let metric = if e.next_hop.is_none() && e.metric == 0 {
                1
            } else {
                metric
            };
            out.push((p, metric));
        }
        out
    }

    fn send_all(&mut self, changed_only: bool, out: &mut Vec<Output>) {
        for i in 0..self.ifaces.len() {
            if !self.ifaces[i].up {
                continue;
            }
            let entries = self.advertised(i, changed_only);
            if entries.is_empty() {
                continue;
            }
            self.updates_sent += 1;
            out.push(Output {
                iface: i,
                to: None,
                message: Message::Response { entries },
            });
        }
        for e in self.table.values_mut() {
            e.changed = false;
        }
    }

    /// Timeouts, deletions, periodic and triggered updates.
    pub fn poll(&mut self, now: SimTime) -> Vec<Output> {
        let mut out = Vec::new();
        let mut changed = false;
        for e in self.table.values_mut() {
            if e.timeout_at.is_some_and(|t| t <= now) {
                Self::withdraw(e, now, self.timers.garbage);
                changed = true;
            }
        }
        self.table
            .retain(|_, e| e.garbage_at.is_none_or(|t| t > now));
        if changed {
            self.trigger(now);
        }
        if self.next_update <= now {
            self.next_update = now + self.timers.update;
            self.triggered_at = None;
            self.send_all(false, &mut out);
        } else if self.triggered_at.is_some_and(|t| t <= now) {
            self.triggered_at = None;
            self.send_all(true, &mut out);
        }
        out
    }

    /// When `poll` has something to do next (no allocation: an engine may
    /// ask after every call).
    pub fn poll_at(&self) -> Option<SimTime> {
        let timers = self
            .table
            .values()
            .flat_map(|e| e.timeout_at.into_iter().chain(e.garbage_at));
        self.triggered_at
            .into_iter()
            .chain(timers)
            .fold(self.next_update, SimTime::min)
            .into()
    }
}

#[cfg(test)]
mod tests;
