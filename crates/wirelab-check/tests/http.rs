//! HTTP and HTTPS through the simulated network, through YAML: routes,
//! a proxy chain with its 502 and 504, TLS round trips per version,
//! certificates checked as curl checks them, filters on the way.

use wirelab_check::{run_checks, CheckResult, Status};
use wirelab_net::Network;

const LAB: &str = r#"
lab: web
networks:
  internet: { cidr: 198.51.100.0/24, link: { delay: 10ms } }
  public: { cidr: 10.0.1.0/24 }
  private: { cidr: 10.0.2.0/24 }
routers:
  igw: { interfaces: { internet: 198.51.100.1, public: 10.0.1.1, private: 10.0.2.1 } }
hosts:
  laptop: { network: internet, ip: 198.51.100.20, resolver: resolver }
  office: { network: internet, ip: 198.51.100.21, resolver: resolver, trust: [corp-ca] }
  resolver: { network: internet, ip: 198.51.100.53, services: [{ port: 53, proto: udp, app: resolver }] }
  ns: { network: internet, ip: 198.51.100.54, services: [{ port: 53, proto: udp, app: dns }] }
  nginx:
    network: public
    ip: 10.0.1.10
    security_groups: [web-sg]
    services:
      - port: 443
        app: https
        tls: { certificate: shop }
        routes:
          - { path: /health, text: "ok" }
          - { path: /admin, status: 403 }
          - { path: /slow, upstream: "slow:8000" }
          - { path: /dead, upstream: "db:9999" }
          - { path: /blocked, upstream: "app:9999" }
        upstream: "app:8000"
        timeout: 2s
      - { port: 80, app: http, response: { status: 301, text: "moved" } }
      - { port: 8443, app: https, tls: { version: "1.2", certificate: shop } }
      - { port: 9443, app: https, tls: { certificate: old } }
      - { port: 10443, app: https, tls: { certificate: intranet } }
      - { port: 11443, app: https }
      - { port: 12443, app: http }
  app:
    network: private
    ip: 10.0.2.10
    security_groups: [app-sg]
    services:
      - { port: 8000, app: http, upstream: "db:5432", delay: 5ms }
  slow: { network: private, ip: 10.0.2.11, services: [{ port: 8000, app: http, delay: 10s }] }
  db: { network: private, ip: 10.0.2.20, services: [{ port: 5432, app: postgres }] }
security_groups:
  app-sg:
    inbound: [{ proto: tcp, port: 8000, from: 10.0.1.0/24 }]
  web-sg:
    inbound:
      - { proto: tcp, port: 80, from: 0.0.0.0/0 }
      - { proto: tcp, port: 443, from: 0.0.0.0/0 }
      - { proto: tcp, ports: 8000-12443, from: 198.51.100.0/24 }
tls:
  date: 2026-11-30
  authorities: { public-ca: {}, corp-ca: {} }
  certificates:
    shop: { names: [shop.example.com, "*.shop.example.com"], issuer: public-ca }
    old: { names: [shop.example.com], issuer: public-ca, not_before: 2024-01-01, not_after: 2025-01-01 }
    intranet: { names: [shop.example.com], issuer: corp-ca }
  trusted: [public-ca]
dns:
  zones:
    - name: example.com
      servers: [ns]
      records:
        - { name: shop, type: A, value: 10.0.1.10 }
        - { name: "*.shop", type: A, value: 10.0.1.10 }
        - { name: other, type: A, value: 10.0.1.10 }
checks:
  - { name: home, from: laptop, http: "https://shop.example.com/", expect: { status: 200, body_at_least: 512B } }
  - { name: health, from: laptop, http: "https://shop.example.com/health", expect: { status: 200, contains: ok } }
  - { name: admin, from: laptop, http: "https://shop.example.com/admin", expect: { status: 403 } }
  - { name: slow, from: laptop, http: "https://shop.example.com/slow", expect: { status: 504 } }
  - { name: dead, from: laptop, http: "https://shop.example.com/dead", expect: { status: 502 } }
  - { name: upstream blocked, from: laptop, http: "https://shop.example.com/blocked", expect: { status: 504 } }
  - { name: mismatch, from: laptop, http: "https://other.example.com/", expect: { error: tls-name } }
  - { name: wildcard, from: laptop, http: "https://api.shop.example.com/health", expect: { status: 200 } }
  - { name: redirect, from: laptop, http: "http://shop.example.com/", expect: { status: 301, contains: moved } }
  - { name: nxdomain, from: laptop, http: "https://nosuch.example.com/", expect: { error: resolve } }
  - { name: refused, from: laptop, http: "http://10.0.1.10:8080/", expect: { error: refused } }
  - { name: tls12, from: laptop, http: "https://shop.example.com:8443/", expect: { status: 200 } }
  - { name: expired, from: laptop, http: "https://shop.example.com:9443/", expect: { error: tls-expired } }
  - { name: untrusted, from: laptop, http: "https://shop.example.com:10443/", expect: { error: tls-issuer } }
  - { name: trusted here, from: office, http: "https://shop.example.com:10443/", expect: { status: 200 } }
  - { name: self-signed, from: laptop, http: "https://shop.example.com:11443/", expect: { error: tls-issuer } }
  - { name: tls to plain, from: laptop, http: "https://shop.example.com:12443/", expect: { error: protocol } }
  - { name: plain to tls, from: laptop, http: "http://shop.example.com:443/", expect: { status: 400, contains: HTTPS } }
  - { name: blocked, from: laptop, http: "http://10.0.2.10:8000/", expect: { error: connect } }
  - { name: slow enough, from: laptop, http: "https://shop.example.com/health", expect: { status: 200, within: 100ms } }
"#;

fn results() -> Vec<CheckResult> {
    let lab = wirelab_spec::parse_str("web.yaml", LAB)
        .unwrap_or_else(|d| panic!("{d:#?}"))
        .lab;
    run_checks(&Network::compile(&lab), 2).checks
}

fn by_name<'a>(r: &'a [CheckResult], name: &str) -> &'a CheckResult {
    r.iter().find(|c| c.name == name).unwrap()
}

/// `name 0.123456` from the explanation's timing, in milliseconds.
fn ms(c: &CheckResult, what: &str) -> f64 {
    let at = c
        .explanation
        .find(&format!("{what} "))
        .unwrap_or_else(|| panic!("no {what} in {}", c.explanation));
    let rest = &c.explanation[at + what.len() + 1..];
    let num: String = rest
        .chars()
        .take_while(|ch| ch.is_ascii_digit() || *ch == '.')
        .collect();
    num.parse::<f64>().unwrap() * 1000.0
}

#[test]
fn every_expectation_of_the_web_lab_holds() {
    let r = results();
    for c in r.iter().filter(|c| c.name != "slow enough") {
        assert_eq!(c.status, Status::Pass, "{c:#?}");
    }
    assert_eq!(
        by_name(&r, "slow enough").status,
        Status::Fail,
        "120 ms > 100 ms"
    );
}

#[test]
fn a_proxy_chain_is_followed_to_its_end() {
    let r = results();
    let home = by_name(&r, "home");
    assert_eq!(home.at.as_deref(), Some("db"));
    assert!(
        home.explanation.contains("through nginx → app → db"),
        "{}",
        home.explanation
    );
    let slow = by_name(&r, "slow");
    // The proxy answers 504 when its 2 s timeout expires.
    assert!(
        slow.explanation.contains("HTTP 504 Gateway Timeout"),
        "{}",
        slow.explanation
    );
    assert!(
        (ms(slow, "total") - ms(slow, "appconnect") - 2_000.0).abs() < 25.0,
        "{}",
        slow.explanation
    );
}

#[test]
fn tls_1_3_costs_one_round_trip_and_tls_1_2_two() {
    let r = results();
    // laptop to nginx: 10 ms each way on `internet`, 0.1 ms on `public`.
    let rtt = 20.4;
    let v13 = by_name(&r, "home");
    let v12 = by_name(&r, "tls12");
    let hs13 = ms(v13, "appconnect") - ms(v13, "connect");
    let hs12 = ms(v12, "appconnect") - ms(v12, "connect");
    assert!((hs13 - rtt).abs() < 1.5, "TLS 1.3 handshake {hs13} ms");
    assert!(
        (hs12 - 2.0 * rtt).abs() < 2.5,
        "TLS 1.2 handshake {hs12} ms"
    );
}

#[test]
fn certificate_failures_say_what_curl_says() {
    let r = results();
    let says = |name: &str, words: &str| {
        let c = by_name(&r, name);
        assert!(c.explanation.contains(words), "{name}: {}", c.explanation);
    };
    says("mismatch", "curl: (60) SSL: no alternative certificate subject name matches target host name 'other.example.com'");
    says(
        "expired",
        "curl: (60) SSL certificate problem: certificate has expired",
    );
    says(
        "untrusted",
        "unable to get local issuer certificate (issuer corp-ca is not trusted)",
    );
    says("self-signed", "self-signed certificate");
    says("refused", "curl: (7) Failed to connect: Connection refused");
    says(
        "tls to plain",
        "curl: (35) error:0A00010B:SSL routines::wrong version number",
    );
    says(
        "nxdomain",
        "curl: (6) Could not resolve host: nosuch.example.com",
    );
}

#[test]
fn a_blocked_connection_names_the_filter() {
    let r = results();
    let blocked = by_name(&r, "blocked");
    let e = &blocked.explanation;
    assert!(
        e.contains("curl: (28) Failed to connect: Connection timed out"),
        "{e}"
    );
    assert!(
        e.contains("app dropped a packet of the request (tcp 198.51.100.20 → 10.0.2.10 port 8000)"),
        "{e}"
    );
    assert!(e.contains("app-sg"), "{e}");
    // nginx, in the public subnet, is admitted: the chain still works.
    assert_eq!(by_name(&r, "home").status, Status::Pass);
}
