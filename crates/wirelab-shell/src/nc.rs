//! `nc -z`: OpenBSD netcat's port scan. TCP tries a handshake (the SYN
//! and its retransmissions, as the kernel's connect does); UDP sends a
//! datagram and only an ICMP port unreachable says "closed", so a silent
//! UDP port looks open, as with the real nc. As the real nc, it says
//! what happened only with `-v`; the exit status says it either way.

use wirelab_sim::packet::{Icmp, Unreachable};
use wirelab_sim::{DropCause, Probe, ProbeKind, SimTime};
use wirelab_spec::Outcome;

use super::{parse_secs, service_name, Done, ResolveError, Shell};

const USAGE: &str = "usage: nc -z [-uv] [-w timeout] destination port[-port]\n";
/// Most ports one scan may name.
const PORTS_MAX: u32 = 1_024;
/// How long a TCP connect may take without `-w`: the probe's SYN
/// retransmissions end well before this.
const CONNECT_TIME_MAX: SimTime = SimTime::from_secs(60);

struct NcArgs {
    scan: bool,
    verbose: bool,
    udp: bool,
    wait_ns: Option<u64>,
    v6: bool,
    host: String,
    ports: (u16, u16),
}

fn nc_args(args: &[String]) -> Result<NcArgs, String> {
    let mut a = NcArgs {
        scan: false,
        verbose: false,
        udp: false,
        wait_ns: None,
        v6: false,
        host: String::new(),
        ports: (0, 0),
    };
    let mut positional = Vec::new();
    let mut it = args.iter();
    while let Some(w) = it.next() {
        let Some(flags) = w.strip_prefix('-').filter(|f| !f.is_empty()) else {
            positional.push(w.clone());
            continue;
        };
        let letters: Vec<char> = flags.chars().collect();
        for (k, c) in letters.iter().enumerate() {
            match c {
                'z' => a.scan = true,
                'v' => a.verbose = true,
                'u' => a.udp = true,
                'n' => {}
                '4' => a.v6 = false,
                '6' => a.v6 = true,
                'w' => {
                    let rest: String = letters[k + 1..].iter().collect();
                    let v = if rest.is_empty() {
                        it.next()
                            .cloned()
                            .ok_or("nc: option requires an argument -- 'w'")?
                    } else {
                        rest
                    };
                    let ns = parse_secs(&v)
                        .filter(|&ns| ns > 0)
                        .ok_or(format!("nc: timeout invalid: {v}"))?;
                    a.wait_ns = Some(ns);
                    break;
                }
                other => return Err(format!("nc: invalid option -- '{other}'")),
            }
        }
    }
    let [host, ports] = positional.as_slice() else {
        return Err(String::new());
    };
    a.host = host.clone();
    a.ports = parse_ports(ports)?;
    Ok(a)
}

fn parse_ports(text: &str) -> Result<(u16, u16), String> {
    let port = |p: &str| {
        p.parse::<u16>()
            .ok()
            .filter(|&p| p > 0)
            .ok_or(format!("nc: port number invalid: {p}"))
    };
    let (lo, hi) = match text.split_once('-') {
        Some((lo, hi)) => (port(lo)?, port(hi)?),
        None => (port(text)?, port(text)?),
    };
    let (lo, hi) = (lo.min(hi), lo.max(hi));
    if u32::from(hi - lo) >= PORTS_MAX {
        return Err(format!(
            "nc: at most {PORTS_MAX} ports at once in this shell"
        ));
    }
    Ok((lo, hi))
}

pub fn nc(sh: &mut Shell<'_>, args: &[String]) -> Done {
    let a = match nc_args(args) {
        Ok(a) => a,
        Err(e) if e.is_empty() => return Done::with(USAGE.into(), 1),
        Err(e) => return Done::with(format!("{e}\n{USAGE}"), 1),
    };
    if !a.scan {
        return Done::with(
            "nc: this shell has no terminal to talk over a connection: use -z to test a port\n"
                .into(),
            1,
        );
    }
    let proto = if a.udp { "udp" } else { "tcp" };
    let target = match sh.resolve(&a.host, a.v6) {
        Ok(t) => t,
        Err(e) => {
            let words = match e {
                ResolveError::Unknown => "Name or service not known",
                ResolveError::Family => "Address family for hostname not supported",
                ResolveError::Again => "Temporary failure in name resolution",
            };
            return Done::with(
                format!(
                    "nc: getaddrinfo for host \"{}\" port {}: {words}\n",
                    a.host, a.ports.0
                ),
                1,
            );
        }
    };
    let mut out = String::new();
    let mut status = 1;
    for port in a.ports.0..=a.ports.1 {
        let result = match sh.source(a.v6).filter(|_| sh.has_route(target.addr)) {
            None => Err("failed: Network is unreachable"),
            Some(src) => connect(sh, src, target.addr, port, &a),
        };
        match result {
            Ok(()) => {
                status = 0;
                if a.verbose {
                    let service = service_name(port, a.udp).unwrap_or("*");
                    out.push_str(&format!(
                        "Connection to {} {port} port [{proto}/{service}] succeeded!\n",
                        a.host
                    ));
                }
            }
            Err(why) if a.verbose => out.push_str(&format!(
                "nc: connect to {} port {port} ({proto}) {why}\n",
                a.host
            )),
            Err(_) => {}
        }
    }
    Done::with(out, status)
}

/// One port: `Ok` when it is open (as nc can tell), else how it failed
/// in nc's words after "connect to HOST port N (tcp) ".
fn connect(
    sh: &mut Shell<'_>,
    src: std::net::IpAddr,
    dst: std::net::IpAddr,
    port: u16,
    a: &NcArgs,
) -> Result<(), &'static str> {
    let kind = if a.udp {
        ProbeKind::Udp { port }
    } else {
        ProbeKind::Tcp { port }
    };
    let start = sh.sim.now();
    let id = sh.sim.add_probe(Probe::new(sh.node, src, dst, kind), start);
    let until = start + a.wait_ns.map_or(CONNECT_TIME_MAX, SimTime);
    sh.sim.run_while(until, |s| s.probe_result(id).is_some());
    let probe = sh.sim.probe(id);
    let Some(r) = probe.result else {
        // `-w` ran out first. For UDP, silence is success.
        if a.udp {
            return Ok(());
        }
        sh.sim.idle_until(until);
        return Err("timed out: Operation now in progress");
    };
    match r.outcome {
        Outcome::Allow => Ok(()),
        Outcome::Refused => Err("failed: Connection refused"),
        Outcome::Deny if a.udp => Ok(()),
        Outcome::Deny => Err(
            match (probe.answer.map(|x| x.icmp), r.drop.map(|d| d.cause)) {
                (
                    Some(Icmp::Unreachable {
                        why: Unreachable::Net,
                        ..
                    }),
                    _,
                )
                | (_, Some(DropCause::NoRoute)) => "failed: Network is unreachable",
                (Some(Icmp::Unreachable { .. } | Icmp::TimeExceeded { .. }), _)
                | (_, Some(DropCause::HostUnreachable { .. })) => "failed: No route to host",
                _ => "failed: Connection timed out",
            },
        ),
    }
}
