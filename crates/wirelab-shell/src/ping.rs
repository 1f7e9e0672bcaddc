//! `ping` (iputils) and `traceroute` (the Linux traceroute of Dmitry
//! Butskoy, UDP probes): one probe per echo or per hop and try, in the
//! session's simulation, printed as those tools print.

use std::net::IpAddr;

use wirelab_sim::packet::{Icmp, Unreachable};
use wirelab_sim::{DropCause, Probe, ProbeKind, SimTime};
use wirelab_spec::Outcome;

use super::{parse_secs, Done, ResolveError, Shell, Target};

/// Echo requests when `-c` is not given. The real ping goes on until
/// Ctrl-C; a shell that cannot be interrupted mid-command stops at 4.
const PING_COUNT_DEFAULT: u32 = 4;
const PING_COUNT_MAX: u32 = 1_000;
/// The shortest interval a user may ask for (iputils: 2 ms for non-root).
const PING_INTERVAL_NS_MIN: u64 = 2_000_000;
/// How long ping waits for the replies after its last request when none
/// came (iputils' linger, `-W`).
const PING_LINGER_NS: u64 = 10_000_000_000;
const PING_USAGE: &str = "Usage: ping [-c count] [-i interval] [-W timeout] [-4|-6] destination\n";

const TRACE_PORT_BASE: u16 = 33_434;
const TRACE_HOPS_DEFAULT: u8 = 30;
const TRACE_PROBES_PER_HOP: u16 = 3;
/// traceroute's `-w`: how long each probe waits for an answer.
const TRACE_WAIT_NS_DEFAULT: u64 = 5_000_000_000;
const TRACE_USAGE: &str = "Usage: traceroute [-n] [-m max_ttl] [-w waittime] host\n";

struct PingArgs {
    count: u32,
    interval_ns: u64,
    linger_ns: u64,
    v6: bool,
    dest: String,
}

fn ping_args(args: &[String]) -> Result<PingArgs, String> {
    let mut a = PingArgs {
        count: PING_COUNT_DEFAULT,
        interval_ns: 1_000_000_000,
        linger_ns: PING_LINGER_NS,
        v6: false,
        dest: String::new(),
    };
    let mut it = args.iter();
    let mut dest = None;
    while let Some(w) = it.next() {
        let mut value = |opt: &str| {
            it.next()
                .cloned()
                .ok_or_else(|| format!("ping: option requires an argument -- '{opt}'"))
        };
        match w.as_str() {
            "-c" => {
                let v = value("c")?;
                a.count = v
                    .parse()
                    .ok()
                    .filter(|n| (1..=PING_COUNT_MAX).contains(n))
                    .ok_or(format!("ping: invalid argument: '{v}': out of range: 1 <= value <= {PING_COUNT_MAX}"))?;
            }
            "-i" => {
                let v = value("i")?;
                a.interval_ns = parse_secs(&v).ok_or(format!("ping: bad timing interval: {v}"))?;
                if a.interval_ns < PING_INTERVAL_NS_MIN {
                    return Err(
                        "ping: cannot flood; minimal interval allowed for user is 2ms".into(),
                    );
                }
            }
            "-W" => {
                let v = value("W")?;
                a.linger_ns = parse_secs(&v).ok_or(format!("ping: bad linger time: {v}"))?;
            }
            "-4" => a.v6 = false,
            "-6" => a.v6 = true,
            opt if opt.starts_with('-') && opt.len() > 1 => {
                return Err(format!("ping: invalid option -- '{}'", &opt[1..]))
            }
            _ if dest.is_some() => return Err("ping: only one destination, please".into()),
            _ => dest = Some(w.clone()),
        }
    }
    a.dest = dest.ok_or("ping: usage error: Destination address required")?;
    Ok(a)
}

/// A round trip as iputils prints it: three significant figures or so.
fn rtt_text(ns: u64) -> String {
    let us = (ns + 500) / 1_000;
    if us >= 100_000 - 50 {
        format!("{}", (us + 500) / 1_000)
    } else if us >= 10_000 - 5 {
        let tenths = (us + 50) / 100;
        format!("{}.{}", tenths / 10, tenths % 10)
    } else if us >= 1_000 {
        let hundredths = (us + 5) / 10;
        format!("{}.{:02}", hundredths / 100, hundredths % 100)
    } else {
        format!("0.{us:03}")
    }
}

/// Microseconds as milliseconds with three decimals.
fn ms3(us: f64) -> String {
    format!("{:.3}", us / 1_000.0)
}

/// C's `%g`: six significant figures, no trailing zeros.
fn percent(value: f64) -> String {
    let digits = if value == 0.0 {
        0
    } else {
        5_i32
            .saturating_sub(value.abs().log10().floor() as i32)
            .max(0) as usize
    };
    let s = format!("{value:.digits$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// getaddrinfo's words for a name that did not resolve.
fn resolve_words(e: &ResolveError) -> &'static str {
    match e {
        ResolveError::Unknown => "Name or service not known",
        ResolveError::Family => "Address family for hostname not supported",
        ResolveError::Again => "Temporary failure in name resolution",
    }
}

/// What an ICMP error says, as ping words it.
fn icmp_words(icmp: &Icmp) -> String {
    match icmp {
        Icmp::Unreachable { why, .. } => match why {
            Unreachable::Net => "Destination Net Unreachable".into(),
            Unreachable::Host => "Destination Host Unreachable".into(),
            Unreachable::Port => "Destination Port Unreachable".into(),
        },
        Icmp::TimeExceeded { .. } => "Time to live exceeded".into(),
        Icmp::TooBig { mtu, .. } => format!("Frag needed and DF set (mtu = {mtu})"),
        other => format!("{other:?}"),
    }
}

pub fn ping(sh: &mut Shell<'_>, args: &[String]) -> Done {
    let a = match ping_args(args) {
        Ok(a) => a,
        Err(e) => return Done::with(format!("{e}\n{PING_USAGE}"), 2),
    };
    let target = match sh.resolve(&a.dest, a.v6) {
        Ok(t) => t,
        Err(e) => return Done::with(format!("ping: {}: {}\n", a.dest, resolve_words(&e)), 2),
    };
    let Some(src) = sh.source(a.v6).filter(|_| sh.has_route(target.addr)) else {
        return Done::with("ping: connect: Network is unreachable\n".into(), 2);
    };
    let mut out = if a.v6 {
        format!("PING {}({}) 56 data bytes\n", target.text, target.addr)
    } else {
        format!(
            "PING {} ({}) 56(84) bytes of data.\n",
            target.text, target.addr
        )
    };
    let start = sh.sim.now();
    let last_send = start + SimTime(a.interval_ns * u64::from(a.count - 1));
    let ids: Vec<(usize, SimTime)> = (0..a.count)
        .map(|k| {
            let at = start + SimTime(a.interval_ns * u64::from(k));
            // Every echo gives up when the whole run does: ping counts a
            // late reply as long as it has not finished.
            let wait = SimTime((last_send - at).as_nanos() + a.linger_ns);
            let probe = Probe::new(sh.node, src, target.addr, ProbeKind::Ping).with_tries(1, wait);
            (sh.sim.add_probe(probe, at), at)
        })
        .collect();
    let until = last_send + SimTime(a.linger_ns);
    sh.sim.run_while(until, |s| {
        ids.iter().all(|&(i, _)| s.probe_result(i).is_some())
    });
    let (lines, stats) = echo_lines(sh, &ids, &target, src);
    for (_, line) in &lines {
        out.push_str(line);
    }
    let end = sh.sim.now().max(last_send);
    out.push_str(&stats.text(&target.text, (end - start).as_nanos()));
    let status = if stats.rtts_us.is_empty() { 1 } else { 0 };
    Done::with(out, status)
}

#[derive(Default)]
struct PingStats {
    sent: u32,
    errors: u32,
    rtts_us: Vec<f64>,
}

impl PingStats {
    fn text(&self, dest: &str, elapsed_ns: u64) -> String {
        let received = self.rtts_us.len() as u32;
        let loss = f64::from(self.sent - received) * 100.0 / f64::from(self.sent);
        let errors = if self.errors > 0 {
            format!("+{} errors, ", self.errors)
        } else {
            String::new()
        };
        let mut out = format!(
            "\n--- {dest} ping statistics ---\n{} packets transmitted, {received} received, {errors}{}% packet loss, time {}ms\n",
            self.sent,
            percent(loss),
            elapsed_ns / 1_000_000
        );
        if received > 0 {
            let n = f64::from(received);
            let min = self.rtts_us.iter().copied().fold(f64::INFINITY, f64::min);
            let max = self.rtts_us.iter().copied().fold(0.0, f64::max);
            let avg = self.rtts_us.iter().sum::<f64>() / n;
            let sq = self.rtts_us.iter().map(|r| r * r).sum::<f64>() / n;
            let mdev = (sq - avg * avg).max(0.0).sqrt();
            out.push_str(&format!(
                "rtt min/avg/max/mdev = {}/{}/{}/{} ms\n",
                ms3(min),
                ms3(avg),
                ms3(max),
                ms3(mdev)
            ));
        }
        out
    }
}

/// One line per echo that got an answer, in the order they came, and the
/// statistics.
fn echo_lines(
    sh: &Shell<'_>,
    ids: &[(usize, SimTime)],
    target: &Target,
    src: IpAddr,
) -> (Vec<(SimTime, String)>, PingStats) {
    let mut stats = PingStats::default();
    let mut lines = Vec::new();
    for (k, &(id, sent_at)) in ids.iter().enumerate() {
        let seq = k + 1;
        let probe = sh.sim.probe(id);
        let Some(r) = probe.result else {
            continue;
        };
        stats.sent += 1;
        match (r.outcome, probe.answer) {
            (Outcome::Allow, Some(ans)) => {
                let rtt = (ans.time - sent_at).as_nanos();
                stats.rtts_us.push((rtt / 1_000) as f64);
                lines.push((
                    ans.time,
                    format!(
                        "64 bytes from {}: icmp_seq={seq} ttl={} time={} ms\n",
                        sh.named(ans.from, target.named),
                        ans.ttl,
                        rtt_text(rtt)
                    ),
                ));
            }
            (_, Some(ans)) => {
                stats.errors += 1;
                lines.push((
                    ans.time,
                    format!(
                        "From {} icmp_seq={seq} {}\n",
                        sh.named(ans.from, target.named),
                        icmp_words(&ans.icmp)
                    ),
                ));
            }
            // The host itself found nobody at the next hop.
            (_, None)
                if matches!(
                    r.drop.map(|d| d.cause),
                    Some(DropCause::HostUnreachable { .. })
                ) && r.node == Some(sh.node) =>
            {
                stats.errors += 1;
                lines.push((
                    r.time,
                    format!(
                        "From {} icmp_seq={seq} Destination Host Unreachable\n",
                        sh.named(src, target.named)
                    ),
                ));
            }
            _ => {}
        }
    }
    // Stable: answers at the same time keep their sequence order.
    lines.sort_by_key(|(t, _)| *t);
    (lines, stats)
}

struct TraceArgs {
    numeric: bool,
    hops_max: u8,
    wait_ns: u64,
    v6: bool,
    dest: String,
}

fn trace_args(args: &[String]) -> Result<TraceArgs, String> {
    let mut a = TraceArgs {
        numeric: false,
        hops_max: TRACE_HOPS_DEFAULT,
        wait_ns: TRACE_WAIT_NS_DEFAULT,
        v6: false,
        dest: String::new(),
    };
    let mut it = args.iter();
    let mut dest = None;
    while let Some(w) = it.next() {
        match w.as_str() {
            "-n" => a.numeric = true,
            "-4" => a.v6 = false,
            "-6" => a.v6 = true,
            "-m" => {
                let v = it.next().ok_or("Option `-m' requires an argument")?;
                a.hops_max = v
                    .parse()
                    .ok()
                    .filter(|&m| m > 0)
                    .ok_or(format!("Cannot handle `-m' option with arg `{v}'"))?;
            }
            "-w" => {
                let v = it.next().ok_or("Option `-w' requires an argument")?;
                a.wait_ns = parse_secs(v)
                    .filter(|&w| w > 0)
                    .ok_or(format!("Cannot handle `-w' option with arg `{v}'"))?;
            }
            opt if opt.starts_with('-') && opt.len() > 1 => {
                return Err(format!("Bad option `{opt}' (argc 1)"))
            }
            _ if dest.is_some() => return Err(format!("Extra arg `{w}' (position 2, argc 2)")),
            _ => dest = Some(w.clone()),
        }
    }
    a.dest = dest.ok_or("Specify \"host\" missing argument.")?;
    Ok(a)
}

/// One probe's answer: who, after how long, and traceroute's mark for
/// an unreachable (`!H`, `!N`).
struct Hop {
    from: IpAddr,
    rtt_ns: u64,
    mark: &'static str,
}

pub fn traceroute(sh: &mut Shell<'_>, args: &[String]) -> Done {
    let a = match trace_args(args) {
        Ok(a) => a,
        Err(e) => return Done::with(format!("{e}\n{TRACE_USAGE}"), 2),
    };
    let target = match sh.resolve(&a.dest, a.v6) {
        Ok(t) => t,
        Err(e) => {
            return Done::with(
                format!(
                    "{}: {}\nCannot handle \"host\" cmdline arg `{}' on position 1 (argc 1)\n",
                    a.dest,
                    resolve_words(&e),
                    a.dest
                ),
                2,
            )
        }
    };
    let Some(src) = sh.source(a.v6).filter(|_| sh.has_route(target.addr)) else {
        return Done::with("connect: Network is unreachable\n".into(), 2);
    };
    let bytes = if a.v6 { 80 } else { 60 };
    let mut out = format!(
        "traceroute to {} ({}), {} hops max, {bytes} byte packets\n",
        target.text, target.addr, a.hops_max
    );
    let mut port = TRACE_PORT_BASE;
    for ttl in 1..=a.hops_max {
        let start = sh.sim.now();
        let ids: Vec<usize> = (0..TRACE_PROBES_PER_HOP)
            .map(|_| {
                let probe = Probe::new(sh.node, src, target.addr, ProbeKind::Udp { port })
                    .with_ttl(ttl)
                    .with_tries(1, SimTime(a.wait_ns));
                port = port.wrapping_add(1).max(TRACE_PORT_BASE);
                sh.sim.add_probe(probe, start)
            })
            .collect();
        let until = start + SimTime(a.wait_ns);
        sh.sim
            .run_while(until, |s| ids.iter().all(|&i| s.probe_result(i).is_some()));
        let hops: Vec<Option<Hop>> = ids.iter().map(|&i| hop(sh, i, start)).collect();
        out.push_str(&hop_line(sh, ttl, &hops, !a.numeric));
        let reached = hops.iter().flatten().any(|h| h.from == target.addr);
        let unreachable = hops.iter().flatten().any(|h| !h.mark.is_empty());
        if reached || unreachable {
            break;
        }
    }
    Done::ok(out)
}

fn hop(sh: &Shell<'_>, id: usize, start: SimTime) -> Option<Hop> {
    let ans = sh.sim.probe(id).answer?;
    let mark = match ans.icmp {
        Icmp::Unreachable {
            why: Unreachable::Host,
            ..
        } => " !H",
        Icmp::Unreachable {
            why: Unreachable::Net,
            ..
        } => " !N",
        _ => "",
    };
    Some(Hop {
        from: ans.from,
        rtt_ns: (ans.time - start).as_nanos(),
        mark,
    })
}

/// ` 1  r1 (10.0.1.1)  0.412 ms  0.398 ms  0.401 ms`, ` 3  * * *`.
fn hop_line(sh: &Shell<'_>, ttl: u8, hops: &[Option<Hop>], names: bool) -> String {
    let mut line = format!("{ttl:2} ");
    let mut last: Option<IpAddr> = None;
    for h in hops {
        match h {
            None => line.push_str(" *"),
            Some(h) => {
                if last != Some(h.from) {
                    let name = sh.name_of(h.from).filter(|_| names);
                    match name {
                        Some(n) => line.push_str(&format!(" {n} ({})", h.from)),
                        None if names => line.push_str(&format!(" {0} ({0})", h.from)),
                        None => line.push_str(&format!(" {}", h.from)),
                    }
                    last = Some(h.from);
                }
                let us = h.rtt_ns as f64 / 1_000.0;
                line.push_str(&format!("  {} ms{}", ms3(us), h.mark));
            }
        }
    }
    line.push('\n');
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_are_printed_as_iputils_does() {
        assert_eq!(rtt_text(412_000), "0.412");
        assert_eq!(rtt_text(4_123_000), "4.12");
        assert_eq!(rtt_text(20_440_000), "20.4");
        assert_eq!(rtt_text(123_400_000), "123");
    }

    #[test]
    fn loss_is_printed_as_percent_g() {
        assert_eq!(percent(0.0), "0");
        assert_eq!(percent(25.0), "25");
        assert_eq!(percent(100.0), "100");
        assert_eq!(percent(100.0 / 3.0), "33.3333");
    }
}
