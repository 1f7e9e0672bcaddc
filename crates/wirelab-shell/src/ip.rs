//! `ip addr`, `ip route`, `ip neigh` (iproute2) and `ss -tlnu`: the host's
//! configuration from the compiled lab, its neighbour cache from the
//! session's simulation.
//!
//! A host has `lo` and one Ethernet interface, `eth0`. Differences from a
//! real Linux host, on purpose: no link-local IPv6 addresses (the lab's
//! neighbour discovery uses the global ones), and neighbour entries stay
//! REACHABLE (the simulation does not age them to STALE).

use std::net::IpAddr;

use wirelab_net::{NextHop, RouteOrigin};
use wirelab_sim::neigh::NeighState;
use wirelab_spec::TransportProto;

use super::{service_name, Done, Shell};

const IP_USAGE: &str =
    "Usage: ip [ -4 | -6 ] { addr | route | neigh } [ show ]\n       ip route get ADDRESS\n";
const SS_USAGE: &str = "Usage: ss [ -t ] [ -u ] [ -l ] [ -a ] [ -n ]\n";
/// A listening TCP socket's backlog, which `ss` shows as Send-Q.
const LISTEN_BACKLOG: u32 = 4096;

/// Which families to show: `-4`, `-6`, or the command's default.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Families {
    Default,
    V4,
    V6,
}

pub fn ip(sh: &mut Shell<'_>, args: &[String]) -> Done {
    let mut families = Families::Default;
    let mut words: Vec<&str> = Vec::new();
    for w in args {
        match w.as_str() {
            "-4" => families = Families::V4,
            "-6" => families = Families::V6,
            w => words.push(w),
        }
    }
    let object = words.first().copied().unwrap_or("");
    let rest = &words[words.len().min(1)..];
    let show = matches!(rest, [] | ["show"] | ["list"] | ["ls"]);
    // iproute2 takes any prefix of an object's name.
    let is = |full: &str| !object.is_empty() && full.starts_with(object);
    match object {
        _ if is("address") && show => Done::ok(addr(sh, families)),
        _ if is("route") && show => Done::ok(route(sh, families)),
        _ if is("route") && rest.first() == Some(&"get") => route_get(sh, &rest[1..]),
        _ if (is("neighbour") || is("neighbor")) && show => Done::ok(neigh(sh, families)),
        "" | "help" => Done::with(IP_USAGE.into(), 255),
        _ if is("address") || is("route") || is("neighbour") => Done::with(
            format!(
                "Command \"{}\" is unknown, try \"ip {object} help\".\n",
                rest.join(" ")
            ),
            255,
        ),
        _ => Done::with(
            format!("Object \"{object}\" is unknown, try \"ip help\".\n"),
            255,
        ),
    }
}

fn addr(sh: &Shell<'_>, families: Families) -> String {
    let (v4, v6) = (families != Families::V6, families != Families::V4);
    let mut out = String::from(
        "1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue state UNKNOWN group default qlen 1000\n    link/loopback 00:00:00:00:00:00 brd 00:00:00:00:00:00\n",
    );
    if v4 {
        out.push_str(
            "    inet 127.0.0.1/8 scope host lo\n       valid_lft forever preferred_lft forever\n",
        );
    }
    if v6 {
        out.push_str(
            "    inet6 ::1/128 scope host\n       valid_lft forever preferred_lft forever\n",
        );
    }
    let iface = &sh.net.ifaces[sh.net.nodes[sh.node].ifaces[0]];
    let segment = &sh.net.segments[iface.segment];
    let link = sh.sim.link(iface.segment);
    let (flags, state) = if link.down {
        ("NO-CARRIER,BROADCAST,MULTICAST,UP", "DOWN")
    } else {
        ("BROADCAST,MULTICAST,UP,LOWER_UP", "UP")
    };
    out.push_str(&format!(
        "2: eth0: <{flags}> mtu {} qdisc fq_codel state {state} group default qlen 1000\n    link/ether {} brd ff:ff:ff:ff:ff:ff\n",
        link.mtu, iface.mac
    ));
    if let (true, Some(a), Some(p)) = (v4, iface.ipv4, segment.ipv4) {
        out.push_str(&format!(
            "    inet {a}/{} brd {} scope global eth0\n       valid_lft forever preferred_lft forever\n",
            p.prefix_len(),
            p.broadcast()
        ));
    }
    if let (true, Some(a), Some(p)) = (v6, iface.ipv6, segment.ipv6) {
        out.push_str(&format!(
            "    inet6 {a}/{} scope global\n       valid_lft forever preferred_lft forever\n",
            p.prefix_len()
        ));
    }
    out
}

fn route(sh: &Shell<'_>, families: Families) -> String {
    let v6 = families == Families::V6;
    let src = sh.source(v6);
    let routes = sh.net.nodes[sh.node].routes.routes();
    let mine = |r: &&wirelab_net::Route| r.prefix.addr().is_ipv6() == v6;
    let mut out = String::new();
    if v6 {
        out.push_str("::1 dev lo proto kernel metric 256 pref medium\n");
        for r in routes.iter().filter(mine) {
            match (r.origin, r.next_hop) {
                (RouteOrigin::Connected, _) => out.push_str(&format!(
                    "{} dev eth0 proto kernel metric 256 pref medium\n",
                    r.prefix
                )),
                (_, NextHop::Gateway(gw)) => out.push_str(&format!(
                    "default via {gw} dev eth0 metric 1024 pref medium\n"
                )),
                _ => {}
            }
        }
        return out;
    }
    // Linux lists the default route first.
    for r in routes.iter().filter(mine) {
        if let (RouteOrigin::DefaultGateway, NextHop::Gateway(gw)) = (r.origin, r.next_hop) {
            out.push_str(&format!("default via {gw} dev eth0\n"));
        }
    }
    for r in routes.iter().filter(mine) {
        if r.origin == RouteOrigin::Connected {
            let src = src.map(|s| format!(" src {s}")).unwrap_or_default();
            out.push_str(&format!(
                "{} dev eth0 proto kernel scope link{src}\n",
                r.prefix
            ));
        }
    }
    out
}

/// `ip route get ADDR`: the route the kernel would pick.
fn route_get(sh: &Shell<'_>, args: &[&str]) -> Done {
    let Some(dst) = args.first().and_then(|a| a.parse::<IpAddr>().ok()) else {
        return Done::with(IP_USAGE.into(), 255);
    };
    let src = sh.source(dst.is_ipv6());
    let route = sh.net.nodes[sh.node].routes.lookup(dst);
    let (Some(route), Some(src)) = (route, src) else {
        return Done::with("RTNETLINK answers: Network is unreachable\n".into(), 2);
    };
    let via = match route.next_hop {
        NextHop::Gateway(gw) => format!(" via {gw}"),
        _ => String::new(),
    };
    Done::ok(format!(
        "{dst}{via} dev eth0 src {src} uid 1000\n    cache\n"
    ))
}

fn neigh(sh: &Shell<'_>, families: Families) -> String {
    let iface = sh.net.nodes[sh.node].ifaces[0];
    let mut out = String::new();
    for n in sh.sim.neighbours(iface) {
        let shown = match families {
            Families::Default => true,
            Families::V4 => n.addr.is_ipv4(),
            Families::V6 => n.addr.is_ipv6(),
        };
        if !shown {
            continue;
        }
        let state = match n.state {
            NeighState::Reachable(mac) => format!("lladdr {mac} REACHABLE"),
            NeighState::Incomplete { .. } => "INCOMPLETE".into(),
            NeighState::Failed => "FAILED".into(),
        };
        out.push_str(&format!("{} dev eth0 {state}\n", n.addr));
    }
    out
}

/// What `ss` was asked to show.
struct SsArgs {
    tcp: bool,
    udp: bool,
    listening: bool,
    numeric: bool,
}

fn ss_args(args: &[String]) -> Result<SsArgs, String> {
    let mut a = SsArgs {
        tcp: false,
        udp: false,
        listening: false,
        numeric: false,
    };
    for w in args {
        let Some(flags) = w
            .strip_prefix('-')
            .filter(|f| !f.is_empty() && !f.starts_with('-'))
        else {
            return Err(format!("ss: unsupported argument \"{w}\""));
        };
        for c in flags.chars() {
            match c {
                't' => a.tcp = true,
                'u' => a.udp = true,
                'l' | 'a' => a.listening = true,
                'n' => a.numeric = true,
                'p' | 'e' | 'o' | '4' | '6' => {}
                other => return Err(format!("ss: invalid option -- '{other}'")),
            }
        }
    }
    if !a.tcp && !a.udp {
        a.tcp = true;
        a.udp = true;
    }
    Ok(a)
}

pub fn ss(sh: &mut Shell<'_>, args: &[String]) -> Done {
    let a = match ss_args(args) {
        Ok(a) => a,
        Err(e) => return Done::with(format!("{e}\n{SS_USAGE}"), 1),
    };
    let host = &sh.net.lab.hosts[sh.host];
    let mut rows: Vec<[String; 6]> = vec![[
        "Netid".into(),
        "State".into(),
        "Recv-Q".into(),
        "Send-Q".into(),
        "Local Address:Port".into(),
        "Peer Address:Port".into(),
    ]];
    // Listening sockets only: the probes and exchanges a shell makes are
    // closed by the time its prompt comes back.
    if a.listening {
        for udp in [true, false] {
            if (udp && !a.udp) || (!udp && !a.tcp) {
                continue;
            }
            let proto = if udp {
                TransportProto::Udp
            } else {
                TransportProto::Tcp
            };
            let mut ports: Vec<u16> = host
                .services
                .iter()
                .filter(|s| s.proto == proto || s.speaks_dns())
                .map(|s| s.port)
                .collect();
            ports.sort_unstable();
            ports.dedup();
            for port in ports {
                let port_text = match service_name(port, udp).filter(|_| !a.numeric) {
                    Some(name) => name.to_string(),
                    None => port.to_string(),
                };
                let any: Vec<&str> = [host.ipv4.map(|_| "0.0.0.0"), host.ipv6.map(|_| "[::]")]
                    .into_iter()
                    .flatten()
                    .collect();
                for local in any {
                    let peer = if local == "[::]" {
                        "[::]:*"
                    } else {
                        "0.0.0.0:*"
                    };
                    rows.push([
                        if udp { "udp" } else { "tcp" }.into(),
                        if udp { "UNCONN" } else { "LISTEN" }.into(),
                        "0".into(),
                        if udp { 0 } else { LISTEN_BACKLOG }.to_string(),
                        format!("{local}:{port_text}"),
                        peer.into(),
                    ]);
                }
            }
        }
    }
    Done::ok(table(&rows))
}

/// ss's columns: the addresses right-aligned, the rest left-aligned.
fn table(rows: &[[String; 6]]) -> String {
    let width = |c: usize| rows.iter().map(|r| r[c].len()).max().unwrap_or(0);
    let w: Vec<usize> = (0..6).map(width).collect();
    let mut out = String::new();
    for r in rows {
        let line = format!(
            "{:<w0$} {:<w1$} {:<w2$} {:<w3$} {:>w4$} {:>w5$}",
            r[0],
            r[1],
            r[2],
            r[3],
            r[4],
            r[5],
            w0 = w[0],
            w1 = w[1],
            w2 = w[2],
            w3 = w[3],
            w4 = w[4],
            w5 = w[5]
        );
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}
