//! HTTP in the engine: one request per TCP connection (HTTP/1.1 with
//! `Connection: close`, as `curl` sends it), the TLS handshake before it
//! for `https`, and services that answer from their routes or forward to
//! an upstream service over a connection of their own (a reverse proxy).
//!
//! Both ends of an exchange share one record here, like the DNS exchanges
//! over TCP: the connection carries as many bytes as the real messages
//! would have (request and response headers as curl and a server write
//! them, bodies, TLS records), and each side acts when the bytes it waits
//! for have arrived. TLS costs its round trips and its bytes; its
//! cryptography is not simulated.
//!
//! TLS message sizes (typical for one RSA-2048 certificate and a two-level
//! chain, as measured with `openssl s_client -msg`; documented in
//! docs/semantics.md): TLS 1.3 (RFC 8446 §2) — ClientHello 517 bytes, the
//! server's flight (ServerHello, ChangeCipherSpec, EncryptedExtensions,
//! Certificate, CertificateVerify, Finished) 2,600, the client's Finished
//! 70, then the request: one round trip. TLS 1.2 (RFC 5246 §7.3) —
//! ClientHello 517, ServerHello..ServerHelloDone 2,900, ClientKeyExchange +
//! ChangeCipherSpec + Finished 126, the server's ChangeCipherSpec +
//! Finished 51, then the request: two round trips. Application data pays
//! 22 bytes per 16 KiB record (TLS 1.3) or 29 (TLS 1.2 with AES-GCM).

use std::net::IpAddr;

use wirelab_spec::{HttpAction, HttpError, TlsVersion, TransportProto};

use crate::engine::{Event, Sim};
use crate::tcp::State;
use crate::tcp_apps::App;
use crate::time::SimTime;

/// The flow number of an HTTP exchange: bit 29 set (DNS uses bit 30).
const HTTP_FLOW: u32 = 1 << 29;
/// Most HTTP exchanges one run may start (checks, proxies).
const EXCHANGES_MAX: usize = 1 << 20;
const CLIENT_HELLO: u64 = 517;
const SERVER_FLIGHT_13: u64 = 2_600;
const CLIENT_FINISHED_13: u64 = 70;
const SERVER_FLIGHT_12: u64 = 2_900;
const CLIENT_FINISHED_12: u64 = 126;
const SERVER_FINISHED_12: u64 = 51;
const RECORD_BYTES: u64 = 16_384;
/// What a TLS 1.3 alert costs on the wire (a record with one alert).
const ALERT: u64 = 24;
/// A request to a service that is not HTTP (a database, say): sizes of a
/// small query and its answer.
const RAW_REQUEST: u64 = 64;
const RAW_RESPONSE: u64 = 512;

/// Who started an exchange.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    /// A check, `wirelab curl`, a shell.
    Client,
    /// A proxy forwarding the request of exchange `parent`.
    Proxy { parent: usize },
}

/// What the client side speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Speech {
    Http,
    Https(TlsVersion),
    /// Not HTTP: a proxy's request to a database or the like.
    Raw,
}

/// The response an exchange got.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub body_bytes: u64,
    pub text: Option<String>,
    /// Who produced it (the last server of a proxy chain).
    pub served_by: usize,
}

/// When each step of an exchange happened (curl's `-w` variables).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Timing {
    pub started: SimTime,
    pub connected: Option<SimTime>,
    pub tls_done: Option<SimTime>,
    pub first_byte: Option<SimTime>,
    pub done: Option<SimTime>,
}

/// One request and its response.
#[derive(Clone, Debug)]
pub struct HttpExchange {
    pub origin: Origin,
    pub client_host: usize,
    pub dst: IpAddr,
    pub port: u16,
    pub speech: Speech,
    /// The name the client asked for (TLS server name, `Host:`).
    pub host_name: String,
    pub path: String,
    pub timing: Timing,
    pub result: Option<Result<Response, HttpError>>,
    /// Why a TLS handshake failed, in curl's words.
    pub tls_problem: Option<String>,
    /// Bytes of the request, TLS included.
    request_bytes: u64,
    /// Bytes of the response once the server wrote it, TLS included.
    response_bytes: Option<u64>,
    response: Option<Response>,
    client_conn: Option<usize>,
    server_conn: Option<usize>,
    client_got: u64,
    server_got: u64,
    client_step: u8,
    server_step: u8,
    /// The upstream exchange of a proxying server.
    child: Option<usize>,
}

#[derive(Default)]
pub(crate) struct HttpApps {
    pub(crate) exchanges: Vec<HttpExchange>,
    /// Timers: (exchange, what).
    timers: Vec<(usize, TimerWhat)>,
}

impl HttpApps {
    pub(crate) fn clear(&mut self) {
        self.exchanges.clear();
        self.timers.clear();
    }
}

#[derive(Clone, Copy, Debug)]
enum TimerWhat {
    /// The server's processing time is over.
    Process,
    /// A proxy's upstream did not answer in time.
    UpstreamTimeout,
}

/// TLS record overhead of `bytes` of application data.
fn tls_overhead(version: TlsVersion, bytes: u64) -> u64 {
    let per_record = match version {
        TlsVersion::V1_3 => 22,
        TlsVersion::V1_2 => 29,
    };
    bytes.div_ceil(RECORD_BYTES).max(1) * per_record
}

/// The request curl sends: `GET PATH HTTP/1.1`, Host, User-Agent, Accept.
pub fn request_text(host: &str, path: &str) -> String {
    format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: curl/8.5.0\r\nAccept: */*\r\n\r\n")
}

/// The status line and headers a server writes before `body` bytes.
pub fn response_head(status: u16, body: u64) -> String {
    format!(
        "HTTP/1.1 {status} {}\r\nServer: wirelab\r\nContent-Type: text/plain\r\nContent-Length: {body}\r\nConnection: close\r\n\r\n",
        reason_phrase(status)
    )
}

/// The reason phrase of a status code (RFC 9110 §15).
pub fn reason_phrase(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        301 => "Moved Permanently",
        302 => "Found",
        304 => "Not Modified",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Status",
    }
}

/// The server's TLS flights in order, and the client's, for a version:
/// `(client sends, server sends)` per round before the request.
fn handshake(version: TlsVersion) -> &'static [(u64, u64)] {
    match version {
        TlsVersion::V1_3 => &[(CLIENT_HELLO, SERVER_FLIGHT_13)],
        TlsVersion::V1_2 => &[
            (CLIENT_HELLO, SERVER_FLIGHT_12),
            (CLIENT_FINISHED_12, SERVER_FINISHED_12),
        ],
    }
}

/// What the client sends with its request, after the handshake rounds.
fn request_prefix(version: TlsVersion) -> u64 {
    match version {
        TlsVersion::V1_3 => CLIENT_FINISHED_13,
        TlsVersion::V1_2 => 0,
    }
}

impl<'n> Sim<'n> {
    /// Starts an HTTP(S) request from `host` to `dst`:`port` now; returns
    /// its index for [`Sim::http_exchange`].
    #[allow(clippy::too_many_arguments)]
    pub fn start_http(
        &mut self,
        host: usize,
        dst: IpAddr,
        port: u16,
        speech: Speech,
        host_name: &str,
        path: &str,
    ) -> usize {
        self.start_exchange(Origin::Client, host, dst, port, speech, host_name, path)
    }

    /// An exchange of this run.
    pub fn http_exchange(&self, id: usize) -> &HttpExchange {
        &self.http.exchanges[id]
    }

    /// How many exchanges this run started (proxies' included).
    pub fn http_exchanges_len(&self) -> usize {
        self.http.exchanges.len()
    }

    #[allow(clippy::too_many_arguments)]
    fn start_exchange(
        &mut self,
        origin: Origin,
        host: usize,
        dst: IpAddr,
        port: u16,
        speech: Speech,
        host_name: &str,
        path: &str,
    ) -> usize {
        assert!(
            self.http.exchanges.len() < EXCHANGES_MAX,
            "too many HTTP exchanges in one run"
        );
        let id = self.http.exchanges.len();
        let request_bytes = match speech {
            Speech::Http => request_text(host_name, path).len() as u64,
            Speech::Https(v) => {
                let r = request_text(host_name, path).len() as u64;
                request_prefix(v) + r + tls_overhead(v, r)
            }
            Speech::Raw => RAW_REQUEST,
        };
        self.http.exchanges.push(HttpExchange {
            origin,
            client_host: host,
            dst,
            port,
            speech,
            host_name: host_name.to_string(),
            path: path.to_string(),
            timing: Timing {
                started: self.now,
                ..Timing::default()
            },
            result: None,
            tls_problem: None,
            request_bytes,
            response_bytes: None,
            response: None,
            client_conn: None,
            server_conn: None,
            client_got: 0,
            server_got: 0,
            client_step: 0,
            server_step: 0,
            child: None,
        });
        let h = &self.net.lab.hosts[host];
        let src = match dst {
            IpAddr::V4(_) => h.ipv4.map(IpAddr::V4),
            IpAddr::V6(_) => h.ipv6.map(IpAddr::V6),
        };
        let Some(src) = src else {
            self.http_finish(id, Err(HttpError::Connect));
            return id;
        };
        let flow = HTTP_FLOW | u32::try_from(id).expect("fewer than 2^20 exchanges");
        let node = self.net.host_node(host);
        let x = id as u32;
        self.start_tcp_flow(
            flow,
            node,
            src,
            dst,
            port,
            App::HttpClient { exchange: x },
            App::HttpServer { exchange: x },
        );
        id
    }

    /// The application turn of an HTTP connection (see `tcp_apps`).
    pub(crate) fn http_tcp_app(&mut self, c: usize, readable: u64) {
        match self.tcp.conns[c].app {
            App::HttpClient { exchange } => self.http_client(c, exchange as usize, readable),
            App::HttpServer { exchange } => self.http_server(c, exchange as usize, readable),
            _ => unreachable!("only HTTP connections come here"),
        }
    }

    fn http_client(&mut self, c: usize, id: usize, readable: u64) {
        let now = self.now;
        let state = self.tcp.conns[c].socket.state();
        let x = &mut self.http.exchanges[id];
        if x.client_conn.is_none() {
            self.tcp.conns[c].socket.set_nodelay();
        }
        x.client_conn = Some(c);
        x.client_got += readable;
        if x.result.is_some() {
            return;
        }
        if matches!(state, State::Established | State::CloseWait) && x.timing.connected.is_none() {
            x.timing.connected = Some(now);
        }
        if state == State::Closed && x.timing.connected.is_none() {
            let refused =
                self.tcp.conns[c].socket.error() == Some(crate::tcp::CloseReason::Refused);
            let e = if refused {
                HttpError::Refused
            } else {
                HttpError::Connect
            };
            self.http_finish(id, Err(e));
            return;
        }
        if x.timing.connected.is_none() {
            return;
        }
        // The client's script: the handshake rounds, then the request,
        // then the response.
        let rounds: &[(u64, u64)] = match x.speech {
            Speech::Https(v) => handshake(v),
            _ => &[],
        };
        // Bounded: one step per round and two more.
        for _ in 0..8 {
            let x = &mut self.http.exchanges[id];
            let step = usize::from(x.client_step);
            if step < 2 * rounds.len() {
                let round = step / 2;
                if step % 2 == 0 {
                    self.tcp.conns[c].socket.send(rounds[round].0);
                    self.http.exchanges[id].client_step += 1;
                    continue;
                }
                // Waiting for the server's flight of this round.
                let before: u64 = rounds[..round].iter().map(|r| r.1).sum();
                if x.client_got < before + rounds[round].1 {
                    if matches!(state, State::CloseWait | State::Closed) {
                        // The server answered something else and closed:
                        // it does not speak TLS on this port.
                        x.tls_problem =
                            Some("error:0A00010B:SSL routines::wrong version number".to_string());
                        self.tcp.conns[c].socket.close();
                        self.http_finish(id, Err(HttpError::Protocol));
                    }
                    return;
                }
                x.client_step += 1;
                if round == 0 {
                    if let Err(problem) = self.http_verify_certificate(id) {
                        let x = &mut self.http.exchanges[id];
                        x.tls_problem = Some(problem.1);
                        self.tcp.conns[c].socket.send(ALERT);
                        self.tcp.conns[c].socket.close();
                        self.http_finish(id, Err(problem.0));
                        return;
                    }
                }
                if step + 1 == 2 * rounds.len() {
                    self.http.exchanges[id].timing.tls_done = Some(now);
                }
                continue;
            }
            let handshake_in: u64 = rounds.iter().map(|r| r.1).sum();
            if step == 2 * rounds.len() {
                let request = x.request_bytes;
                x.client_step += 1;
                self.tcp.conns[c].socket.send(request);
                continue;
            }
            // Waiting for the response.
            if x.client_got > handshake_in && x.timing.first_byte.is_none() {
                x.timing.first_byte = Some(now);
            }
            match x.response_bytes {
                Some(n) if x.client_got >= handshake_in + n => {
                    let response = x.response.clone().expect("written with its size");
                    self.tcp.conns[c].socket.close();
                    self.http_finish(id, Ok(response));
                }
                _ => {
                    if state == State::CloseWait || state == State::Closed {
                        // The server closed without an answer.
                        self.tcp.conns[c].socket.close();
                        self.http_finish(id, Err(HttpError::Protocol));
                    }
                }
            }
            return;
        }
    }

    fn http_server(&mut self, c: usize, id: usize, readable: u64) {
        let x = &mut self.http.exchanges[id];
        if x.server_conn.is_none() {
            self.tcp.conns[c].socket.set_nodelay();
        }
        x.server_conn = Some(c);
        x.server_got += readable;
        let conn = &self.tcp.conns[c];
        let state = conn.socket.state();
        let (node, local_port) = (conn.node, conn.socket.local_port());
        // What listens here decides what the server speaks.
        let host = self.net.host_of(node).expect("servers are hosts");
        let service = self.net.service(host, TransportProto::Tcp, local_port);
        let server_tls = service
            .and_then(|s| s.http.as_ref())
            .and_then(|h| h.tls.map(|t| t.version));
        let is_http = service.is_some_and(|s| s.http.is_some());
        let x = &mut self.http.exchanges[id];
        // A client and server that do not speak the same: the server waits
        // for a request that never parses, and closes when the client does.
        let same = match (x.speech, is_http) {
            (Speech::Raw, _) | (Speech::Http, false) => true,
            (Speech::Http, true) => server_tls.is_none(),
            (Speech::Https(_), true) => server_tls.is_some(),
            (Speech::Https(_), false) => false,
        };
        let rounds: &[(u64, u64)] = match (server_tls, same) {
            (Some(v), true) => handshake(v),
            _ => &[],
        };
        for _ in 0..8 {
            let x = &mut self.http.exchanges[id];
            let step = usize::from(x.server_step);
            if step < rounds.len() {
                let in_before: u64 = rounds[..step].iter().map(|r| r.0).sum();
                if x.server_got < in_before + rounds[step].0 {
                    break;
                }
                x.server_step += 1;
                self.tcp.conns[c].socket.send(rounds[step].1);
                continue;
            }
            if step == rounds.len() && same {
                let handshake_in: u64 = rounds.iter().map(|r| r.0).sum();
                if x.server_got < handshake_in + x.request_bytes {
                    break;
                }
                x.server_step += 1;
                if !is_http && x.speech != Speech::Raw {
                    // A plain HTTP request to a service that is not HTTP
                    // (a database): it reads it, finds nonsense, closes.
                    self.tcp.conns[c].socket.close();
                    break;
                }
                let delay = service
                    .and_then(|s| s.http.as_ref())
                    .map_or(0, |h| h.delay_ns);
                self.http_timer(id, SimTime(delay), TimerWhat::Process);
                break;
            }
            if step == rounds.len() && !same {
                // What a server does with bytes it does not understand:
                // nginx answers a ClientHello on a plain port, or plain
                // HTTP on a TLS port, with 400; anything else closes.
                let first = match x.speech {
                    Speech::Https(_) => CLIENT_HELLO,
                    _ => x.request_bytes,
                };
                if x.server_got < first {
                    break;
                }
                x.server_step += 1;
                if is_http {
                    let text = if server_tls.is_some() {
                        "The plain HTTP request was sent to HTTPS port"
                    } else {
                        "Bad Request"
                    };
                    self.http_respond_plain(
                        id,
                        Response {
                            status: 400,
                            body_bytes: text.len() as u64,
                            text: Some(text.to_string()),
                            served_by: host,
                        },
                    );
                } else {
                    self.tcp.conns[c].socket.close();
                }
            }
            break;
        }
        let conn = &mut self.tcp.conns[c];
        if conn.socket.recv_finished() && state == State::CloseWait {
            conn.socket.close();
        }
    }

    /// The server has read the request and its processing time is over:
    /// answer from a route, or forward upstream.
    fn http_process(&mut self, id: usize) {
        let Some(c) = self.http.exchanges[id].server_conn else {
            return;
        };
        let conn = &self.tcp.conns[c];
        let (node, local_port) = (conn.node, conn.socket.local_port());
        let host = self.net.host_of(node).expect("servers are hosts");
        let service = self.net.service(host, TransportProto::Tcp, local_port);
        let Some(http) = service.and_then(|s| s.http.as_ref()) else {
            // Not HTTP: a request/response service answers with bytes.
            let response = Response {
                status: 200,
                body_bytes: RAW_RESPONSE,
                text: None,
                served_by: host,
            };
            self.http_respond(id, response);
            return;
        };
        let path = self.http.exchanges[id].path.clone();
        let action = http
            .routes
            .iter()
            .find(|r| path.starts_with(&r.path))
            .map_or(&http.default, |r| &r.action)
            .clone();
        match action {
            HttpAction::Respond {
                status,
                body_bytes,
                text,
            } => self.http_respond(
                id,
                Response {
                    status,
                    body_bytes,
                    text,
                    served_by: host,
                },
            ),
            HttpAction::Proxy {
                host: upstream,
                port,
            } => {
                let dst = self.http.exchanges[id].dst;
                let h = &self.net.lab.hosts[upstream];
                let addr = match dst {
                    IpAddr::V4(_) => h.ipv4.map(IpAddr::V4),
                    IpAddr::V6(_) => h.ipv6.map(IpAddr::V6),
                }
                .or(h.ipv4.map(IpAddr::V4))
                .or(h.ipv6.map(IpAddr::V6));
                let Some(addr) = addr else {
                    self.http_bad_gateway(id, host, 502);
                    return;
                };
                let speech = match self.net.service(upstream, TransportProto::Tcp, port) {
                    Some(s) => match s.http.as_ref() {
                        Some(h) => match h.tls {
                            Some(t) => Speech::Https(t.version),
                            None => Speech::Http,
                        },
                        None => Speech::Raw,
                    },
                    // Nothing listens: the SYN gets a RST, the proxy 502.
                    None => Speech::Http,
                };
                let name = h.name.value.clone();
                let child = self.start_exchange(
                    Origin::Proxy { parent: id },
                    host,
                    addr,
                    port,
                    speech,
                    &name,
                    &path,
                );
                self.http.exchanges[id].child = Some(child);
                if self.http.exchanges[id].result.is_none()
                    && self.http.exchanges[child].result.is_none()
                {
                    self.http_timer(id, SimTime(http.timeout_ns), TimerWhat::UpstreamTimeout);
                }
            }
        }
    }

    /// The proxy of exchange `id` answers `status` itself (502, 504).
    fn http_bad_gateway(&mut self, id: usize, host: usize, status: u16) {
        let text = format!("{status} {}", reason_phrase(status));
        let response = Response {
            status,
            body_bytes: text.len() as u64,
            text: Some(text),
            served_by: host,
        };
        self.http_respond(id, response);
    }

    /// The server side writes its response.
    fn http_respond(&mut self, id: usize, response: Response) {
        self.http_write_response(id, response, true);
    }

    /// A response without TLS, whatever the client speaks (an error of a
    /// server that did not understand it).
    fn http_respond_plain(&mut self, id: usize, response: Response) {
        self.http_write_response(id, response, false);
    }

    fn http_write_response(&mut self, id: usize, response: Response, tls: bool) {
        let x = &mut self.http.exchanges[id];
        if x.response.is_some() {
            return;
        }
        let Some(c) = x.server_conn else { return };
        let plain = match x.speech {
            Speech::Raw => response.body_bytes,
            _ => {
                response_head(response.status, response.body_bytes).len() as u64
                    + response.body_bytes
            }
        };
        let bytes = match x.speech {
            Speech::Https(v) if tls => plain + tls_overhead(v, plain),
            _ => plain,
        };
        x.response_bytes = Some(bytes);
        x.response = Some(response);
        self.tcp.conns[c].socket.send(bytes);
        self.tcp.conns[c].socket.close();
        let now = self.now;
        self.schedule(now, Event::TcpThink { conn: c as u32 });
    }

    fn http_timer(&mut self, id: usize, after: SimTime, what: TimerWhat) {
        let index = u32::try_from(self.http.timers.len()).expect("fewer than 2^32 timers");
        self.http.timers.push((id, what));
        let at = self.now + after;
        self.schedule(at, Event::HttpTimer { timer: index });
    }

    pub(crate) fn http_timer_fired(&mut self, index: u32) {
        let (id, what) = self.http.timers[index as usize];
        match what {
            TimerWhat::Process => self.http_process(id),
            TimerWhat::UpstreamTimeout => {
                if self.http.exchanges[id].response.is_none() {
                    if let Some(child) = self.http.exchanges[id].child {
                        if self.http.exchanges[child].result.is_none() {
                            if let Some(c) = self.http.exchanges[child].client_conn {
                                self.tcp.conns[c].socket.abort();
                                let now = self.now;
                                self.schedule(now, Event::TcpThink { conn: c as u32 });
                            }
                            self.http_finish(child, Err(HttpError::Timeout));
                        }
                    }
                    let host = self.http_server_host(id);
                    self.http_bad_gateway(id, host, 504);
                }
            }
        }
    }

    fn http_server_host(&self, id: usize) -> usize {
        let x = &self.http.exchanges[id];
        x.server_conn
            .and_then(|c| self.net.host_of(self.tcp.conns[c].node))
            .unwrap_or(x.client_host)
    }

    /// An exchange ended; a proxy's parent answers with what it got.
    fn http_finish(&mut self, id: usize, result: Result<Response, HttpError>) {
        let now = self.now;
        let x = &mut self.http.exchanges[id];
        if x.result.is_some() {
            return;
        }
        x.timing.done = Some(now);
        x.result = Some(result.clone());
        if let Origin::Proxy { parent } = x.origin {
            let proxy = x.client_host;
            match result {
                Ok(r) => self.http_respond(parent, r),
                Err(HttpError::Timeout) => self.http_bad_gateway(parent, proxy, 504),
                Err(_) => self.http_bad_gateway(parent, proxy, 502),
            }
        }
    }

    /// Checks the server's certificate as curl does: a trusted issuer, a
    /// name that matches, the date within its validity.
    fn http_verify_certificate(&self, id: usize) -> Result<(), (HttpError, String)> {
        let x = &self.http.exchanges[id];
        let lab = &self.net.lab;
        let server = x
            .server_conn
            .and_then(|c| self.net.host_of(self.tcp.conns[c].node));
        let service = server.and_then(|h| self.net.service(h, TransportProto::Tcp, x.port));
        let cert = service
            .and_then(|s| s.http.as_ref())
            .and_then(|h| h.tls)
            .and_then(|t| t.certificate)
            .map(|c| &lab.tls.certificates[c]);
        let Some(cert) = cert else {
            return Err((
                HttpError::TlsIssuer,
                "SSL certificate problem: self-signed certificate".to_string(),
            ));
        };
        let name = x.host_name.trim_end_matches('.').to_ascii_lowercase();
        let trusted = |ca: usize| {
            lab.tls.trusted.contains(&ca) || lab.hosts[x.client_host].trust.contains(&ca)
        };
        match cert.issuer {
            None => {
                return Err((
                    HttpError::TlsIssuer,
                    "SSL certificate problem: self-signed certificate".to_string(),
                ))
            }
            Some(ca) if !trusted(ca) => {
                return Err((
                    HttpError::TlsIssuer,
                    format!(
                        "SSL certificate problem: unable to get local issuer certificate (issuer {} is not trusted)",
                        lab.tls.authorities[ca].value
                    ),
                ))
            }
            Some(_) => {}
        }
        let today = lab.tls.date_days;
        if today > cert.not_after_days {
            return Err((
                HttpError::TlsExpired,
                "SSL certificate problem: certificate has expired".to_string(),
            ));
        }
        if today < cert.not_before_days {
            return Err((
                HttpError::TlsExpired,
                "SSL certificate problem: certificate is not yet valid".to_string(),
            ));
        }
        if !cert.names.iter().any(|n| name_matches(n, &name)) {
            return Err((
                HttpError::TlsName,
                format!("SSL: no alternative certificate subject name matches target host name '{name}'"),
            ));
        }
        Ok(())
    }
}

impl<'n> Sim<'n> {
    /// The real bytes a TCP segment of a plain HTTP exchange carries, for
    /// captures: its part of curl's request or of the server's response
    /// (head, then the body's text or the payload pattern). HTTPS
    /// segments keep the pattern: the TLS records are sized, not made.
    pub(crate) fn http_tcp_bytes(
        &self,
        tag: crate::packet::Tag,
        ip: &crate::packet::Ip,
        t: &crate::packet::Tcp,
    ) -> Option<std::sync::Arc<[u8]>> {
        use crate::udp_source::FLOW_TAG;
        if t.payload_len == 0 || tag & FLOW_TAG == 0 || tag & HTTP_FLOW == 0 || tag & (1 << 30) != 0
        {
            return None;
        }
        let x = self
            .http
            .exchanges
            .get((tag & !(FLOW_TAG | HTTP_FLOW)) as usize)?;
        if x.speech != Speech::Http {
            return None;
        }
        let (src, sport, dst, dport) = self.tcp_sender_view(ip, t);
        let to_server = dst == x.dst && dport == x.port;
        let stream: Vec<u8> = if to_server {
            request_text(&x.host_name, &x.path).into_bytes()
        } else {
            let r = x.response.as_ref()?;
            let mut bytes = response_head(r.status, r.body_bytes).into_bytes();
            match &r.text {
                Some(text) => bytes.extend_from_slice(text.as_bytes()),
                // A body without text: printable filler, so that a
                // dissector sees text/plain of the right length.
                None => bytes.extend((0..r.body_bytes).map(|i| b"wirelab "[(i % 8) as usize])),
            }
            bytes
        };
        let iss = self.tcp_iss(src, sport, dst, dport)?;
        let offset = t.seq.wrapping_sub(iss.wrapping_add(1)) as usize;
        let bytes = stream.get(offset..offset + t.payload_len as usize)?;
        Some(bytes.into())
    }
}

/// RFC 6125 §6.4.3: `*.example.com` matches one whole left-most label.
pub fn name_matches(pattern: &str, name: &str) -> bool {
    match pattern.strip_prefix("*.") {
        Some(rest) => name
            .split_once('.')
            .is_some_and(|(first, tail)| !first.is_empty() && tail == rest),
        None => pattern == name,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wildcard_matches_one_label() {
        assert!(name_matches("*.example.com", "shop.example.com"));
        assert!(!name_matches("*.example.com", "a.shop.example.com"));
        assert!(!name_matches("*.example.com", "example.com"));
        assert!(name_matches("example.com", "example.com"));
        assert!(!name_matches("example.com", "www.example.com"));
    }

    #[test]
    fn tls_costs_bytes_per_record() {
        assert_eq!(tls_overhead(TlsVersion::V1_3, 100), 22);
        assert_eq!(tls_overhead(TlsVersion::V1_3, 16_385), 44);
        assert_eq!(tls_overhead(TlsVersion::V1_2, 1), 29);
    }

    #[test]
    fn curls_request_and_a_servers_head_have_their_real_lengths() {
        assert_eq!(
            request_text("shop.example.com", "/").len(),
            "GET / HTTP/1.1\r\nHost: shop.example.com\r\nUser-Agent: curl/8.5.0\r\nAccept: */*\r\n\r\n".len()
        );
        assert!(response_head(502, 15).starts_with("HTTP/1.1 502 Bad Gateway\r\n"));
    }
}
