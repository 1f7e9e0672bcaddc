//! `http` checks: one request from a host, as `curl URL` would make it —
//! the name looked up through the host's resolver, the TCP connection,
//! the TLS handshake for https, the request and the response, possibly
//! through a chain of proxies — graded on status, body, time or the
//! error, with curl's timing breakdown in the explanation.

use std::net::IpAddr;

use wirelab_net::Network;
use wirelab_sim::http_apps::{HttpExchange, Origin, Speech};
use wirelab_sim::{Sim, SimTime, Step};
use wirelab_spec::{
    Check, CheckTarget, Family, HttpCheck, HttpError, TlsVersion, TransportProto, Url,
};

use crate::explain::{drop_text_as, endpoint_name};
use crate::{verdict, CheckResult};

/// A request that has not ended by then has timed out (curl without
/// `--max-time` would wait for the kernel, about two minutes).
pub const REQUEST_TIME_MAX: SimTime = SimTime::from_secs(30);

/// What a request came to.
pub struct Outcome {
    pub exchange: Option<usize>,
    pub error: Option<HttpError>,
    /// curl's message for an error (`curl: (60) SSL: ...`).
    pub message: Option<String>,
    /// curl's exit code for the error (6, 7, 28, 35, 52, 60).
    pub curl_code: Option<u8>,
    /// When the name lookup ended (the start, for an address).
    pub namelookup: SimTime,
    pub started: SimTime,
}

/// curl's exit code and words for an error.
pub fn curl_error(e: HttpError) -> (u8, &'static str) {
    match e {
        HttpError::Resolve => (6, "Could not resolve host"),
        HttpError::Refused => (7, "Failed to connect: Connection refused"),
        HttpError::Connect => (28, "Failed to connect: Connection timed out"),
        HttpError::TlsName | HttpError::TlsIssuer | HttpError::TlsExpired => {
            (60, "SSL certificate problem")
        }
        HttpError::Timeout => (28, "Operation timed out"),
        HttpError::Protocol => (52, "Empty reply from server"),
    }
}

/// The server host at an address, and the TLS version its service on
/// `port` speaks.
fn server_tls(net: &Network, addr: IpAddr, port: u16) -> Option<TlsVersion> {
    let iface = net.owner(addr)?;
    let host = net.host_of(net.ifaces[iface].node)?;
    let service = net.service(host, TransportProto::Tcp, port)?;
    Some(service.http.as_ref()?.tls?.version)
}

/// Makes the request of `check` on `sim` (reset first), from its start to
/// its end or [`REQUEST_TIME_MAX`].
pub fn request(
    sim: &mut Sim<'_>,
    net: &Network,
    check: &Check,
    http: &HttpCheck,
    seed: u64,
) -> Outcome {
    sim.reset_to(seed, check.at_ns.map(SimTime));
    let started = sim.now();
    let addr = match &check.to {
        CheckTarget::Address(a) => Ok(*a),
        CheckTarget::Host(h) => {
            let host = &net.lab.hosts[*h];
            match check.family {
                Family::Ipv4 => host.ipv4.map(IpAddr::V4),
                Family::Ipv6 => host.ipv6.map(IpAddr::V6),
            }
            .ok_or_else(|| {
                format!(
                    "`{}` has no {} address",
                    host.name.value,
                    check.family.code()
                )
            })
        }
        CheckTarget::Name(name) => {
            crate::dns::resolve_target(sim, net, check, name).map_err(|(_, why)| why)
        }
    };
    let namelookup = sim.now();
    let addr = match addr {
        Ok(a) => a,
        Err(why) => {
            return Outcome {
                exchange: None,
                error: Some(HttpError::Resolve),
                message: Some(format!(
                    "curl: (6) Could not resolve host: {}; {why}",
                    http.url.host.trim_end_matches('.')
                )),
                curl_code: Some(6),
                namelookup,
                started,
            }
        }
    };
    request_to(sim, net, check.from, addr, &http.url, started)
}

/// Requests `url` from host `from` at `addr` (its host already looked
/// up, since `started`) on `sim` as it is: caches, connections and the
/// clock go on from where they are, as for a shell's `curl`.
pub fn request_to(
    sim: &mut Sim<'_>,
    net: &Network,
    from: usize,
    addr: IpAddr,
    url: &Url,
    started: SimTime,
) -> Outcome {
    let namelookup = sim.now();
    let speech = if url.https {
        Speech::Https(server_tls(net, addr, url.port).unwrap_or(TlsVersion::V1_3))
    } else {
        Speech::Http
    };
    let host_name = url.host.trim_end_matches('.').to_string();
    let id = sim.start_http(from, addr, url.port, speech, &host_name, &url.path);
    let until = sim.now() + REQUEST_TIME_MAX;
    sim.run_while(until, |s| s.http_exchange(id).result.is_some());
    let x = sim.http_exchange(id);
    let error = match &x.result {
        Some(Err(e)) => Some(*e),
        Some(Ok(_)) => None,
        None if x.timing.connected.is_none() => Some(HttpError::Connect),
        None => Some(HttpError::Timeout),
    };
    let (curl_code, message) = match error {
        None => (None, None),
        Some(e) => {
            let (code, words) = curl_error(e);
            // A handshake that broke off is curl's 35, a certificate it
            // refused 60.
            let code = if e == HttpError::Protocol && x.tls_problem.is_some() {
                35
            } else {
                code
            };
            let message = match &x.tls_problem {
                Some(p) => format!("curl: ({code}) {p}"),
                None => format!("curl: ({code}) {words}"),
            };
            (Some(code), Some(message))
        }
    };
    Outcome {
        exchange: Some(id),
        error,
        message,
        curl_code,
        namelookup,
        started,
    }
}

/// Seconds from `from` to `t`, as curl's `-w` prints them.
pub fn secs(t: SimTime, from: SimTime) -> String {
    format!(
        "{:.6}",
        (t.as_nanos().saturating_sub(from.as_nanos())) as f64 / 1e9
    )
}

/// curl's `-w` timing line: namelookup, connect, appconnect,
/// starttransfer, total, each from the start.
pub fn timing_text(o: &Outcome, x: Option<&HttpExchange>) -> String {
    let s = o.started;
    let mut parts = vec![format!("namelookup {}", secs(o.namelookup, s))];
    if let Some(x) = x {
        let t = &x.timing;
        if let Some(c) = t.connected {
            parts.push(format!("connect {}", secs(c, s)));
        }
        if let Some(c) = t.tls_done {
            parts.push(format!("appconnect {}", secs(c, s)));
        }
        if let Some(c) = t.first_byte {
            parts.push(format!("starttransfer {}", secs(c, s)));
        }
        if let Some(c) = t.done {
            parts.push(format!("total {}", secs(c, s)));
        }
    }
    parts.join(", ")
}

/// The hosts a request went through: the server, and the upstreams its
/// proxy asked, in order.
pub fn chain(net: &Network, sim: &Sim<'_>, id: usize) -> Vec<String> {
    let mut names = Vec::new();
    let mut current = Some(id);
    // Bounded by the number of exchanges (each has at most one child).
    for _ in 0..64 {
        let Some(i) = current else { break };
        let x = sim.http_exchange(i);
        if let Some(iface) = net.owner(x.dst) {
            names.push(net.nodes[net.ifaces[iface].node].name.clone());
        }
        current = (i + 1..sim.http_exchanges_len())
            .find(|&j| sim.http_exchange(j).origin == Origin::Proxy { parent: i });
    }
    names
}

/// The first drop of an HTTP packet in the trace, in a sentence (the
/// trace must be [`wirelab_sim::TraceLevel::Full`]).
pub fn first_drop(net: &Network, sim: &Sim<'_>) -> Option<String> {
    sim.trace().iter().find_map(|e| match e.step {
        Step::Drop(cause) if e.packet.tag & (1 << 31) != 0 && e.packet.tag & (1 << 29) != 0 => {
            Some(drop_text_as(
                net,
                &[],
                "a packet of the request",
                e.node,
                &cause,
                &e.packet,
            ))
        }
        _ => None,
    })
}

/// Runs an `http` check and grades it.
pub fn run_http_check(
    sim: &mut Sim<'_>,
    net: &Network,
    check: &Check,
    http: &HttpCheck,
    seed: u64,
) -> CheckResult {
    let o = request(sim, net, check, http, seed);
    let x = o.exchange.map(|i| sim.http_exchange(i).clone());
    let response = x
        .as_ref()
        .and_then(|x| x.result.clone())
        .and_then(Result::ok);
    let e = &http.expect;
    let mut failures = Vec::new();
    match (e.error, o.error) {
        (Some(want), Some(got)) if want != got => failures.push(format!(
            "expected error {}, got error {}",
            want.code(),
            got.code()
        )),
        (Some(want), None) => failures.push(format!(
            "expected error {}, got HTTP {}",
            want.code(),
            response.as_ref().map_or(0, |r| r.status)
        )),
        (None, Some(got)) => {
            failures.push(format!("expected a response, got error {}", got.code()))
        }
        _ => {}
    }
    if let Some(r) = &response {
        if let Some(want) = e.status {
            if r.status != want {
                failures.push(format!("expected status {want}, got {}", r.status));
            }
        }
        if let Some(min) = e.body_at_least {
            if r.body_bytes < min {
                failures.push(format!(
                    "expected a body of at least {min} bytes, got {}",
                    r.body_bytes
                ));
            }
        }
        if let Some(needle) = &e.contains {
            if !r
                .text
                .as_deref()
                .is_some_and(|t| t.contains(needle.as_str()))
            {
                failures.push(format!("expected the body to contain {needle:?}"));
            }
        }
    }
    let total = x.as_ref().and_then(|x| x.timing.done).unwrap_or(sim.now());
    if let Some(within) = e.within_ns {
        let took = total.as_nanos().saturating_sub(o.started.as_nanos());
        if took > within {
            failures.push(format!(
                "expected it within {:.3} s, it took {:.3} s",
                within as f64 / 1e9,
                took as f64 / 1e9
            ));
        }
    }
    let url = http.url.to_string();
    let from = &net.lab.hosts[check.from].name.value;
    let mut explanation = match (&response, &o.message) {
        (Some(r), _) => {
            let hops = o.exchange.map(|i| chain(net, sim, i)).unwrap_or_default();
            let via = if hops.len() > 1 {
                format!(" (through {})", hops.join(" → "))
            } else {
                String::new()
            };
            format!(
                "{from} → {url}: HTTP {} {}, {} bytes of body from {}{via}",
                r.status,
                wirelab_sim::http_apps::reason_phrase(r.status),
                r.body_bytes,
                net.lab.hosts[r.served_by].name.value
            )
        }
        (None, Some(m)) => format!("{from} → {url}: {m}"),
        (None, None) => format!("{from} → {url}: no response"),
    };
    if let Some(addr) = x.as_ref().map(|x| x.dst) {
        explanation.push_str(&format!(" [{}]", endpoint_name(net, addr)));
    }
    explanation.push_str(&format!("; {}", timing_text(&o, x.as_ref())));
    if o.error.is_some() {
        if let Some(d) = first_drop(net, sim) {
            explanation.push_str(&format!("; {d}"));
        }
    }
    let observed = match (&response, o.error) {
        (_, Some(e)) => e.code(),
        (Some(_), None) => "response",
        (None, None) => "timeout",
    };
    let (status, failure, earned) = verdict(check, &failures);
    CheckResult {
        name: check.name.value.clone(),
        status,
        expect: if e.error.is_some() {
            "error"
        } else {
            "response"
        },
        observed,
        reason: if o.error.is_some() {
            observed
        } else {
            "delivered"
        },
        at: response
            .as_ref()
            .map(|r| net.lab.hosts[r.served_by].name.value.clone()),
        explanation,
        failure,
        hint: check.hint.clone(),
        points: check.points,
        earned,
        path: Vec::new(),
        decided_ns: total.as_nanos(),
    }
}
