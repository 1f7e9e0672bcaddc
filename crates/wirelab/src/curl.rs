//! `wirelab curl`: one request from a host, made as an `http` check makes
//! it (`wirelab_check::http::request`: the name looked up through the
//! host's resolver, TCP, TLS for https, the request, the response through
//! any proxies) in a fresh simulation of the lab, and printed as curl
//! prints it, on the simulated clock.
//!
//! What is printed where, as curl does: the body on stdout (`-i` puts the
//! status line and headers before it, with their CRLFs, as the server
//! wrote them); `-v`'s story on stderr (`*` what happened, `>` sent, `<`
//! received); `-w`'s text on stdout after the body; errors as
//! `curl: (N) message` on stderr.
//!
//! What is not curl's: a body is only known by its size unless the lab
//! gives the route a `text:`; such a body prints nothing on stdout and
//! `[N bytes of body; the lab gives it no text]` on stderr. `-v` adds
//! lines marked `(simulated)`: the lab and the host that asks, and the
//! hosts a proxy chain went through.
//!
//! Exit status, as curl's: 0 when a response came (any status, unless
//! `-f`), 6 the name did not resolve, 7 connection refused, 22 (`-f`) a
//! status of 400 or more, 28 no connection or no response in time, 35 the
//! TLS handshake broke off, 52 the server closed without a response, 60 a
//! certificate curl would refuse; and 2 for usage errors and invalid labs.

use std::net::IpAddr;
use std::path::PathBuf;

use clap::Args;
use wirelab_check::http::{chain, first_drop, request, secs, Outcome, REQUEST_TIME_MAX};
use wirelab_dns::proto::rr::Name;
use wirelab_net::Network;
use wirelab_sim::http_apps::{request_text, response_head, HttpExchange, Response, Speech};
use wirelab_sim::{Sim, SimTime, TraceLevel};
use wirelab_spec::{
    Certificate, Check, CheckProto, CheckTarget, Family, HttpCheck, HttpError, Lab,
    Outcome as Expect, Sp, Span, TransportProto, Url,
};

/// curl's exit status for `-f` and a status of 400 or more.
const EXIT_HTTP_ERROR: u8 = 22;
/// The statuses `-f` fails on.
const STATUS_FAIL_MIN: u16 = 400;

#[derive(Args)]
pub struct CurlArgs {
    lab: PathBuf,
    /// The host that makes the request (it looks names up through its
    /// first `resolver:`).
    #[arg(long)]
    from: String,
    /// http://HOST[:PORT][/PATH] or https://...; HOST is a DNS name, a
    /// host of the lab or an address. Without a scheme, http.
    url: String,
    /// Print FORMAT after the body, with curl's variables filled in:
    /// %{http_code}, %{time_namelookup}, %{time_connect},
    /// %{time_appconnect}, %{time_starttransfer}, %{time_total},
    /// %{size_download}, %{size_header}, %{size_request}, %{remote_ip},
    /// %{remote_port}, %{url_effective}, %{exitcode}, %{errormsg}; and
    /// \n, \t, \r, \\, %%.
    #[arg(short = 'w', long = "write-out", value_name = "FORMAT")]
    write_out: Option<String>,
    /// Print the five times of the request (curl's time_* variables) after
    /// the body.
    #[arg(long, conflicts_with = "write_out")]
    timing: bool,
    /// Print the status line and the headers before the body.
    #[arg(short = 'i', long)]
    include: bool,
    /// Tell the story on stderr: lookup, connection, TLS and certificate,
    /// the request and response headers.
    #[arg(short = 'v', long)]
    verbose: bool,
    /// Print no body and exit 22 when the status is 400 or more.
    #[arg(short = 'f', long)]
    fail: bool,
    /// Use this seed instead of the lab's.
    #[arg(long)]
    seed: Option<u64>,
}

/// A variable of `-w`, as curl names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Var {
    HttpCode,
    TimeNamelookup,
    TimeConnect,
    TimeAppconnect,
    TimeStarttransfer,
    TimeTotal,
    SizeDownload,
    SizeHeader,
    SizeRequest,
    RemoteIp,
    RemotePort,
    UrlEffective,
    ExitCode,
    ErrorMsg,
}

const VARS: [(&str, Var); 14] = [
    ("http_code", Var::HttpCode),
    ("time_namelookup", Var::TimeNamelookup),
    ("time_connect", Var::TimeConnect),
    ("time_appconnect", Var::TimeAppconnect),
    ("time_starttransfer", Var::TimeStarttransfer),
    ("time_total", Var::TimeTotal),
    ("size_download", Var::SizeDownload),
    ("size_header", Var::SizeHeader),
    ("size_request", Var::SizeRequest),
    ("remote_ip", Var::RemoteIp),
    ("remote_port", Var::RemotePort),
    ("url_effective", Var::UrlEffective),
    ("exitcode", Var::ExitCode),
    ("errormsg", Var::ErrorMsg),
];

/// What `--timing` prints: the five times, one a line.
const TIMING_FORMAT: &str = "time_namelookup:    %{time_namelookup}\\ntime_connect:       %{time_connect}\\ntime_appconnect:    %{time_appconnect}\\ntime_starttransfer: %{time_starttransfer}\\ntime_total:         %{time_total}\\n";

#[derive(Clone, Debug, PartialEq, Eq)]
enum Piece {
    Text(String),
    Var(Var),
}

/// Reads a `-w` format: text, `%{variable}`, `%%`, and the escapes `\n`,
/// `\t`, `\r`, `\\` (curl's).
fn parse_write_out(format: &str) -> Result<Vec<Piece>, String> {
    let mut pieces = Vec::new();
    let mut text = String::new();
    let mut chars = format.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, chars.peek().copied()) {
            ('\\', Some(e @ ('n' | 't' | 'r' | '\\'))) => {
                chars.next();
                text.push(match e {
                    'n' => '\n',
                    't' => '\t',
                    'r' => '\r',
                    _ => '\\',
                });
            }
            ('%', Some('%')) => {
                chars.next();
                text.push('%');
            }
            ('%', Some('{')) => {
                chars.next();
                let name: String = chars.by_ref().take_while(|&c| c != '}').collect();
                let Some(&(_, var)) = VARS.iter().find(|(n, _)| *n == name) else {
                    return Err(unknown_var(&name));
                };
                if !text.is_empty() {
                    pieces.push(Piece::Text(std::mem::take(&mut text)));
                }
                pieces.push(Piece::Var(var));
            }
            _ => text.push(c),
        }
    }
    if !text.is_empty() {
        pieces.push(Piece::Text(text));
    }
    Ok(pieces)
}

fn unknown_var(name: &str) -> String {
    let best = VARS
        .iter()
        .map(|(n, _)| (strsim::levenshtein(n, name), *n))
        .min();
    let hint = match best {
        Some((d, n)) if d <= 3 => format!(" (did you mean %{{{n}}}?)"),
        _ => format!(
            "; wirelab curl knows {}",
            VARS.iter()
                .map(|(n, _)| format!("%{{{n}}}"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    format!("unknown -w variable %{{{name}}}{hint}")
}

/// Reads a URL as curl would take it: `http://` or `https://` (any case),
/// or no scheme (http); otherwise the rules of an `http` check's URL.
fn parse_url(text: &str) -> Result<Url, String> {
    if text.contains("://") {
        wirelab_spec::parse_url(text)
    } else {
        wirelab_spec::parse_url(&format!("http://{text}"))
    }
    .map_err(|e| e.replace("this lab can ask", "wirelab curl can ask"))
}

/// Where the URL's host points, and the family to ask in (an `http`
/// check's rules: an address's own; a host's IPv4 address if it has one;
/// a name as A when the asking host speaks IPv4).
fn target(lab: &Lab, from: usize, host: &str) -> Result<(CheckTarget, Family), String> {
    if let Ok(address) = host.parse::<IpAddr>() {
        let family = if address.is_ipv6() {
            Family::Ipv6
        } else {
            Family::Ipv4
        };
        return Ok((CheckTarget::Address(address), family));
    }
    if let Some(h) = lab.host_by_name(host) {
        let family = if lab.hosts[h].ipv4.is_some() {
            Family::Ipv4
        } else {
            Family::Ipv6
        };
        return Ok((CheckTarget::Host(h), family));
    }
    if !host.contains('.') {
        return Err(format!(
            "`{host}` in the URL is neither an address, a host of lab {} nor a DNS name{}",
            lab.lab.value,
            crate::suggest(lab, host)
        ));
    }
    let mut name = Name::from_ascii(host)
        .map_err(|e| format!("`{host}` in the URL is not a domain name: {e}"))?;
    name.set_fqdn(true);
    // The name is looked up through the host's resolver: it needs one.
    crate::stub_host(lab, &lab.hosts[from].name.value)?;
    let family = if lab.hosts[from].ipv4.is_some() {
        Family::Ipv4
    } else {
        Family::Ipv6
    };
    Ok((CheckTarget::Name(name.to_string()), family))
}

/// The check that `request` makes: from `from` to the URL, expecting
/// nothing in particular.
fn check_of(from: usize, to: CheckTarget, family: Family, url: &Url) -> (Check, HttpCheck) {
    let check = Check {
        name: Sp::new("wirelab curl".to_string(), Span::default()),
        from,
        to,
        proto: CheckProto::Tcp,
        port: Some(url.port),
        family,
        expect: Expect::Allow,
        reason: None,
        via: Vec::new(),
        points: 0,
        hint: None,
        flow: None,
        dns: None,
        http: None,
        ssh: None,
        reach: None,
        stage: None,
        at_ns: None,
        convergence: None,
        span: Span::default(),
    };
    let http = HttpCheck {
        url: url.clone(),
        expect: Default::default(),
    };
    (check, http)
}

pub fn cmd_curl(
    args: &CurlArgs,
    load: impl Fn(&std::path::Path) -> Option<wirelab_spec::Loaded>,
) -> u8 {
    let format = match (&args.write_out, args.timing) {
        (Some(f), _) => Some(f.as_str()),
        (None, true) => Some(TIMING_FORMAT),
        (None, false) => None,
    };
    let write_out = match format.map(parse_write_out).transpose() {
        Ok(w) => w,
        Err(e) => return crate::usage_error(&e),
    };
    let url = match parse_url(&args.url) {
        Ok(u) => u,
        Err(e) => return crate::usage_error(&e),
    };
    let Some(mut loaded) = load(&args.lab) else {
        return 2;
    };
    if let Some(seed) = args.seed {
        loaded.lab.seed = seed;
    }
    let lab = &loaded.lab;
    let Some(from) = lab.host_by_name(&args.from) else {
        return crate::usage_error(&format!(
            "`{}` is not a host of lab {}{}",
            args.from,
            lab.lab.value,
            crate::suggest(lab, &args.from)
        ));
    };
    let (to, family) = match target(lab, from, &url.host) {
        Ok(t) => t,
        Err(e) => return crate::usage_error(&e),
    };
    let (check, http) = check_of(from, to, family, &url);
    let net = Network::compile(lab);
    // Full trace: a request that got nowhere is explained by its drop.
    let mut sim = Sim::new(&net, lab.seed, TraceLevel::Full);
    let o = request(&mut sim, &net, &check, &http, lab.seed);
    let x = o.exchange.map(|i| sim.http_exchange(i).clone());
    let response = x
        .as_ref()
        .and_then(|x| x.result.clone())
        .and_then(Result::ok);
    let failed = args.fail
        && response
            .as_ref()
            .is_some_and(|r| r.status >= STATUS_FAIL_MIN);
    let (code, message) = ending(&o, response.as_ref(), failed);
    let story = Story {
        net: &net,
        sim: &sim,
        o: &o,
        x: x.as_ref(),
        response: response.as_ref(),
        url: &url,
        from,
    };
    if args.verbose {
        eprint!("{}", story.verbose(message.as_deref()));
    }
    let mut out = match response.as_ref().filter(|_| !failed) {
        Some(r) => body(r, args.include),
        None => String::new(),
    };
    if let Some(pieces) = &write_out {
        if args.timing && !out.is_empty() && !out.ends_with('\n') {
            out.push('\n');
        }
        let values = Values {
            story: &story,
            code,
            message: message.as_deref(),
        };
        out.push_str(&values.render(pieces));
    }
    crate::emit(&out);
    if let Some(m) = &message {
        eprintln!("{m}");
        if o.error.is_some() {
            if let Some(why) = first_drop(&net, &sim) {
                eprintln!("note: {why}");
            }
        }
    }
    code
}

/// The exit status and curl's error line: the request's error, or with
/// `-f` (`failed`) a status of 400 or more.
fn ending(o: &Outcome, response: Option<&Response>, failed: bool) -> (u8, Option<String>) {
    match (&o.message, response) {
        (Some(m), _) => (o.curl_code.unwrap_or(1), Some(m.clone())),
        (None, Some(r)) if failed => (
            EXIT_HTTP_ERROR,
            Some(format!(
                "curl: ({EXIT_HTTP_ERROR}) The requested URL returned error: {}",
                r.status
            )),
        ),
        (None, _) => (0, None),
    }
}

/// What stdout gets of a response: with `-i` the head the server wrote,
/// then the body's text. A body without text is only a size, said on
/// stderr, so that stdout holds only bytes the lab knows.
fn body(r: &Response, include: bool) -> String {
    let mut out = String::new();
    if include {
        out.push_str(&response_head(r.status, r.body_bytes));
    }
    match &r.text {
        Some(text) => out.push_str(text),
        None if r.body_bytes > 0 => {
            eprintln!("[{} bytes of body; the lab gives it no text]", r.body_bytes)
        }
        None => {}
    }
    out
}

/// One request's facts, for `-v` and `-w`.
struct Story<'a> {
    net: &'a Network,
    sim: &'a Sim<'a>,
    o: &'a Outcome,
    x: Option<&'a HttpExchange>,
    response: Option<&'a Response>,
    url: &'a Url,
    from: usize,
}

impl Story<'_> {
    /// When the request ended: its last byte, its error, or the limit.
    fn end(&self) -> SimTime {
        match self.x {
            None => self.o.namelookup,
            Some(x) => x
                .timing
                .done
                .unwrap_or(self.o.started + REQUEST_TIME_MAX)
                .min(self.sim.now()),
        }
    }

    /// curl's `-v`: what happened (`*`), sent (`>`) and received (`<`).
    fn verbose(&self, error: Option<&str>) -> String {
        let lab = &self.net.lab;
        let host = &lab.hosts[self.from];
        let mut v = Vec::new();
        let address = host
            .ipv4
            .map(|a| a.to_string())
            .or(host.ipv6.map(|a| a.to_string()))
            .unwrap_or_default();
        v.push(format!(
            "* (simulated) lab {}, seed {}: {} ({address}) asks",
            lab.lab.value, lab.seed, host.name.value
        ));
        let name = self.url.host.trim_end_matches('.');
        let Some(x) = self.x else {
            // Only a failed lookup ends before the exchange.
            v.push(format!("* Could not resolve host: {name}"));
            return lines(v);
        };
        if name.parse::<IpAddr>().is_err() && lab.host_by_name(name).is_none() {
            v.push(format!("* Host {name}:{} was resolved.", x.port));
            let family = if x.dst.is_ipv6() { "IPv6" } else { "IPv4" };
            v.push(format!("* {family}: {}", x.dst));
        }
        let at = match x.dst {
            IpAddr::V6(a) => format!("[{a}]"),
            IpAddr::V4(a) => a.to_string(),
        };
        v.push(format!("*   Trying {at}:{}...", x.port));
        if x.timing.connected.is_none() {
            let why = match self.o.curl_code {
                Some(7) => "Connection refused",
                _ => "Connection timed out",
            };
            v.push(format!(
                "* connect to {} port {} failed: {why}",
                x.dst, x.port
            ));
            v.push("* Closing connection".to_string());
            return lines(v);
        }
        v.push(format!("* Connected to {name} ({}) port {}", x.dst, x.port));
        if let Speech::Https(version) = x.speech {
            self.verbose_tls(&mut v, x, version);
        }
        if x.tls_problem.is_some() || (x.speech != Speech::Http && x.timing.tls_done.is_none()) {
            v.push("* Closing connection".to_string());
            return lines(v);
        }
        self.verbose_http(&mut v, x, error);
        v.push("* Closing connection".to_string());
        lines(v)
    }

    /// The request's lines and the response's, or what ended it.
    fn verbose_http(&self, v: &mut Vec<String>, x: &HttpExchange, error: Option<&str>) {
        for line in request_text(&x.host_name, &x.path).split("\r\n") {
            v.push(format!("> {line}").trim_end().to_string());
        }
        v.pop();
        match self.response {
            Some(r) => {
                for line in response_head(r.status, r.body_bytes).split("\r\n") {
                    v.push(format!("< {line}").trim_end().to_string());
                }
                v.pop();
                let hops = chain(self.net, self.sim, self.o.exchange.expect("an exchange"));
                if hops.len() > 1 {
                    v.push(format!("* (simulated) {}", hops.join(" → ")));
                }
            }
            // What ended it, in curl's words without the code.
            None => {
                if let Some((_, words)) = error.and_then(|e| e.split_once(") ")) {
                    v.push(format!("* {words}"));
                }
            }
        }
    }

    /// The handshake's lines: the version, the certificate, its check.
    fn verbose_tls(
        &self,
        v: &mut Vec<String>,
        x: &HttpExchange,
        version: wirelab_spec::TlsVersion,
    ) {
        let version = match version {
            wirelab_spec::TlsVersion::V1_3 => "TLSv1.3",
            wirelab_spec::TlsVersion::V1_2 => "TLSv1.2",
        };
        // A handshake that broke off before a certificate came.
        if let (Some(HttpError::Protocol), Some(problem)) = (self.o.error, &x.tls_problem) {
            v.push(format!("* {problem}"));
            return;
        }
        v.push(format!("* SSL connection using {version}"));
        let lab = &self.net.lab;
        let name = x.host_name.trim_end_matches('.');
        v.push("* Server certificate:".to_string());
        match certificate(self.net, x.dst, x.port) {
            Some(cert) => {
                let subject = cert.names.first().map_or(name, String::as_str);
                v.push(format!("*  subject: CN={subject}"));
                v.push(format!(
                    "*  start date: {}",
                    curl_date(cert.not_before_days)
                ));
                v.push(format!(
                    "*  expire date: {}",
                    curl_date(cert.not_after_days)
                ));
                if x.tls_problem.is_none() {
                    let matched = cert
                        .names
                        .iter()
                        .find(|n| wirelab_sim::http_apps::name_matches(n, name))
                        .map_or(name, String::as_str);
                    v.push(format!(
                        "*  subjectAltName: host \"{name}\" matched cert's \"{matched}\""
                    ));
                }
                let issuer = cert
                    .issuer
                    .map_or(subject, |ca| lab.tls.authorities[ca].value.as_str());
                v.push(format!("*  issuer: CN={issuer}"));
            }
            None => {
                // The server's own self-signed certificate.
                let server = self
                    .net
                    .owner(x.dst)
                    .map(|i| self.net.nodes[self.net.ifaces[i].node].name.clone())
                    .unwrap_or_else(|| name.to_string());
                v.push(format!("*  subject: CN={server}"));
                v.push(format!("*  issuer: CN={server}"));
            }
        }
        match &x.tls_problem {
            Some(p) => v.push(format!("* {p}")),
            None => v.push("*  SSL certificate verify ok.".to_string()),
        }
    }
}

/// The certificate the https service at `addr`:`port` presents, if the
/// lab gives it one.
fn certificate(net: &Network, addr: IpAddr, port: u16) -> Option<&Certificate> {
    let host = net.host_of(net.ifaces[net.owner(addr)?].node)?;
    let tls = net
        .service(host, TransportProto::Tcp, port)?
        .http
        .as_ref()?
        .tls?;
    Some(&net.lab.tls.certificates[tls.certificate?])
}

/// A day (since 1970-01-01) as curl prints certificate dates:
/// `Nov 30 00:00:00 2026 GMT`.
fn curl_date(days: i64) -> String {
    // Civil from days (the inverse of the lab reader's days from civil):
    // eras of 400 years, years starting in March.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    format!(
        "{} {day:>2} 00:00:00 {year} GMT",
        MONTHS[(month - 1) as usize]
    )
}

fn lines(v: Vec<String>) -> String {
    let mut text = v.join("\n");
    text.push('\n');
    text
}

/// `-w`'s variables for one request.
struct Values<'a> {
    story: &'a Story<'a>,
    code: u8,
    message: Option<&'a str>,
}

impl Values<'_> {
    fn render(&self, pieces: &[Piece]) -> String {
        pieces
            .iter()
            .map(|p| match p {
                Piece::Text(t) => t.clone(),
                Piece::Var(v) => self.value(*v),
            })
            .collect()
    }

    fn value(&self, var: Var) -> String {
        let s = self.story;
        let start = s.o.started;
        let t = s.x.map(|x| x.timing).unwrap_or_default();
        // A step never reached is 0, as curl prints it.
        let time =
            |at: Option<SimTime>| at.map_or_else(|| secs(start, start), |at| secs(at, start));
        match var {
            Var::HttpCode => format!("{:03}", s.response.map_or(0, |r| r.status)),
            Var::TimeNamelookup => secs(s.o.namelookup, start),
            Var::TimeConnect => time(t.connected),
            Var::TimeAppconnect => time(t.tls_done),
            Var::TimeStarttransfer => time(t.first_byte),
            Var::TimeTotal => secs(s.end(), start),
            Var::SizeDownload => s.response.map_or(0, |r| r.body_bytes).to_string(),
            Var::SizeHeader => s
                .response
                .map_or(0, |r| response_head(r.status, r.body_bytes).len())
                .to_string(),
            Var::SizeRequest => {
                s.x.filter(|x| x.timing.tls_done.is_some() || x.speech == Speech::Http)
                    .filter(|x| x.timing.connected.is_some())
                    .map_or(0, |x| request_text(&x.host_name, &x.path).len())
                    .to_string()
            }
            Var::RemoteIp => s.x.map(|x| x.dst.to_string()).unwrap_or_default(),
            Var::RemotePort => s.x.map(|x| x.port.to_string()).unwrap_or_default(),
            Var::UrlEffective => s.url.to_string(),
            Var::ExitCode => self.code.to_string(),
            Var::ErrorMsg => self
                .message
                .map(|m| m.split_once(") ").map_or(m, |(_, words)| words))
                .unwrap_or_default()
                .to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_out_reads_variables_escapes_and_percent() {
        let p = parse_write_out("%{http_code} %{time_total}\\n100%%").unwrap();
        assert_eq!(
            p,
            vec![
                Piece::Var(Var::HttpCode),
                Piece::Text(" ".into()),
                Piece::Var(Var::TimeTotal),
                Piece::Text("\n100%".into()),
            ]
        );
        assert_eq!(
            parse_write_out("%{time_totl}").unwrap_err(),
            "unknown -w variable %{time_totl} (did you mean %{time_total}?)"
        );
        assert!(parse_write_out("%{nothing_like_it}")
            .unwrap_err()
            .contains("knows %{http_code}"));
        assert!(parse_write_out(TIMING_FORMAT).is_ok());
    }

    #[test]
    fn urls_take_curls_defaults() {
        let u = parse_url("shop.example.com").unwrap();
        assert_eq!((u.https, u.port, u.path.as_str()), (false, 80, "/"));
        let u = parse_url("HTTPS://Shop.Example.com:8443/a?b=c").unwrap();
        assert_eq!(
            (u.https, u.host.as_str(), u.port, u.path.as_str()),
            (true, "shop.example.com", 8443, "/a?b=c")
        );
        let u = parse_url("http://x?q").unwrap();
        assert_eq!(u.path, "/?q");
        assert!(parse_url("ftp://x/")
            .unwrap_err()
            .contains("not http or https"));
        assert!(parse_url("http://x:99999/").is_err());
        assert!(parse_url("http:///").is_err());
    }

    #[test]
    fn certificate_dates_are_curls() {
        assert_eq!(curl_date(0), "Jan  1 00:00:00 1970 GMT");
        // 2026-11-30.
        assert_eq!(curl_date(20_787), "Nov 30 00:00:00 2026 GMT");
        assert_eq!(curl_date(11_016), "Feb 29 00:00:00 2000 GMT");
    }
}
