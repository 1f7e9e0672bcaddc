//! Two sockets joined back to back by a link with a fixed one-way delay,
//! an optional bandwidth and a drop rule: the smallest network on which
//! congestion control and loss recovery can be watched.

use std::collections::BTreeMap;

use super::*;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Dir {
    /// From `a` (the client, usually the sender) to `b`.
    AtoB,
    BtoA,
}

/// Whether to drop a segment: (direction, segment, index of the segment
/// in its direction, time).
pub type DropRule = Box<dyn FnMut(Dir, &Tcp, u64, SimTime) -> bool>;

pub struct Link {
    pub a: Socket,
    pub b: Socket,
    pub now: SimTime,
    pub delay: SimTime,
    /// Bytes per second on each direction; 0 for no limit.
    pub bandwidth_bps: u64,
    /// The application at `b` reads everything it receives at once.
    pub b_reads: bool,
    /// Bytes the application at `a` still wants to write; written as the
    /// send buffer drains.
    pub a_backlog: u64,
    pub drop: DropRule,
    pub dropped: u64,
    in_flight: BTreeMap<(SimTime, u64), (Dir, Tcp)>,
    sent: [u64; 2],
    busy_until: [SimTime; 2],
    serial: u64,
    /// Every segment put on the link: (time, direction, segment).
    pub log: Vec<(SimTime, Dir, Tcp)>,
}

impl Link {
    /// A client at `a` connecting to a listener at `b`.
    pub fn new(a_cfg: &TcpSettings, b_cfg: &TcpSettings, delay: SimTime) -> Link {
        let a = Socket::connect(a_cfg, 40_000, 80, 1_000_000, 1460, SimTime::ZERO);
        let b = Socket::listen(b_cfg, 80, 5_000_000, 1460, SimTime::ZERO);
        Link {
            a,
            b,
            now: SimTime::ZERO,
            delay,
            bandwidth_bps: 0,
            b_reads: true,
            a_backlog: 0,
            drop: Box::new(|_, _, _, _| false),
            dropped: 0,
            in_flight: BTreeMap::new(),
            sent: [0; 2],
            busy_until: [SimTime::ZERO; 2],
            serial: 0,
            log: Vec::new(),
        }
    }

    fn transmit_all(&mut self) {
        if self.a_backlog > 0 {
            self.a_backlog -= self.a.send(self.a_backlog);
        }
        for dir in [Dir::AtoB, Dir::BtoA] {
            loop {
                let socket = match dir {
                    Dir::AtoB => &mut self.a,
                    Dir::BtoA => &mut self.b,
                };
                let Some(seg) = socket.poll_transmit(self.now) else {
                    break;
                };
                self.put(dir, seg);
            }
        }
    }

    fn put(&mut self, dir: Dir, seg: Tcp) {
        let i = dir as usize;
        self.log.push((self.now, dir, seg));
        let index = self.sent[i];
        self.sent[i] += 1;
        if (self.drop)(dir, &seg, index, self.now) {
            self.dropped += 1;
            return;
        }
        let mut depart = self.now;
        let bytes = u64::from(seg.payload_len + 40 + seg.options_len());
        if let Some(ns) = (bytes * 1_000_000_000).checked_div(self.bandwidth_bps) {
            depart = self.busy_until[i].max(self.now) + SimTime(ns);
            self.busy_until[i] = depart;
        }
        self.serial += 1;
        self.in_flight
            .insert((depart + self.delay, self.serial), (dir, seg));
    }

    fn next_event(&self) -> Option<SimTime> {
        let arrival = self.in_flight.keys().next().map(|k| k.0);
        [arrival, self.a.poll_at(), self.b.poll_at()]
            .into_iter()
            .flatten()
            .min()
    }

    /// Run every event up to and including `t`, and stop at `t`.
    pub fn advance_to(&mut self, t: SimTime) {
        loop {
            self.transmit_all();
            match self.next_event() {
                Some(next) if next <= t => {
                    self.step();
                }
                _ => break,
            }
        }
        self.now = self.now.max(t);
        self.transmit_all();
    }

    /// The next event: a segment arriving or a timer. False when there is
    /// nothing left to happen.
    pub fn step(&mut self) -> bool {
        self.transmit_all();
        let arrival = self.in_flight.keys().next().map(|k| k.0);
        let Some(next) = self.next_event() else {
            return false;
        };
        self.now = next;
        if arrival == Some(next) {
            let (_, (dir, seg)) = self.in_flight.pop_first().unwrap();
            match dir {
                Dir::AtoB => self.b.process(next, &seg),
                Dir::BtoA => self.a.process(next, &seg),
            }
        }
        self.a.on_timer(next);
        self.b.on_timer(next);
        if self.b_reads {
            self.b.take_readable();
        }
        self.transmit_all();
        true
    }

    /// Step until `done` holds or `deadline` passes; returns whether `done`.
    pub fn run_until(&mut self, deadline: SimTime, mut done: impl FnMut(&Link) -> bool) -> bool {
        for _ in 0..10_000_000 {
            if done(self) {
                return true;
            }
            if self.now > deadline || !self.step() {
                return done(self);
            }
        }
        panic!("the link did not settle");
    }

    /// Connect (the handshake) and return when `a` is established.
    pub fn handshake(&mut self) {
        assert!(self.run_until(SimTime::from_secs(10), |l| l.a.state()
            == State::Established));
    }
}
