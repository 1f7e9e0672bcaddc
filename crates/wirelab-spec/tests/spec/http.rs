//! HTTP and HTTPS: services' routes, responses, upstreams and TLS, the
//! `tls:` section, http checks and URLs in `to:`.

use wirelab_spec::{CheckTarget, HttpAction, HttpError, TlsVersion};

use super::{render, valid};

#[test]
fn every_http_mistake_is_reported_where_it_is() {
    let text = std::fs::read_to_string("tests/fixtures/http/mistakes.yaml").unwrap();
    let d = match wirelab_spec::parse_str("mistakes.yaml", &text) {
        Ok(_) => panic!("mistakes.yaml must be rejected"),
        Err(d) => render(&d),
    };
    insta::assert_snapshot!("http-mistakes", d);
}

#[test]
fn services_certificates_and_checks_resolve() {
    let loaded = valid(
        r#"
lab: web
networks:
  lan: { cidr: 10.0.0.0/24 }
hosts:
  client: { network: lan, trust: [corp] }
  web:
    network: lan
    services:
      - port: 443
        app: https
        tls: { version: "1.2", certificate: shop }
        routes: [{ path: /health, text: ok }, { path: /api, upstream: "app:8000" }]
        timeout: 2s
        delay: 5ms
  app: { network: lan, services: [{ port: 8000, app: http }] }
tls:
  date: 2026-11-30
  authorities: { public: {}, corp: {} }
  certificates:
    shop: { names: [Shop.Example.COM, "*.shop.example.com"], issuer: public, not_after: 2027-01-01 }
  trusted: [public]
checks:
  - { name: ok, from: client, http: "https://web/health", expect: { status: 200, contains: ok, within: 1s } }
  - { name: err, from: client, http: "https://web:8443/", expect: { error: tls-expired } }
  - { name: url, from: client, to: "http://web:8080/", expect: allow }
"#,
    );
    let lab = &loaded.lab;
    let web = &lab.hosts[1];
    let http = web.services[0].http.as_ref().unwrap();
    let tls = http.tls.unwrap();
    assert_eq!((tls.version, tls.certificate), (TlsVersion::V1_2, Some(0)));
    assert_eq!((http.timeout_ns, http.delay_ns), (2_000_000_000, 5_000_000));
    assert_eq!(http.routes[0].path, "/health");
    assert_eq!(
        http.routes[1].action,
        HttpAction::Proxy {
            host: 2,
            port: 8000
        }
    );
    assert_eq!(
        http.default,
        HttpAction::Respond {
            status: 200,
            body_bytes: 512,
            text: None
        }
    );
    let cert = &lab.tls.certificates[0];
    assert_eq!(cert.names, ["shop.example.com", "*.shop.example.com"]);
    assert_eq!(cert.not_after_days - cert.not_before_days, 397);
    assert_eq!(lab.tls.trusted, [0]);
    assert_eq!(lab.hosts[0].trust, [1]);
    let ok = lab.checks[0].http.as_ref().unwrap();
    assert_eq!(ok.url.to_string(), "https://web/health");
    assert_eq!(ok.expect.within_ns, Some(1_000_000_000));
    assert_eq!(
        lab.checks[1].http.as_ref().unwrap().expect.error,
        Some(HttpError::TlsExpired)
    );
    assert_eq!(lab.checks[1].port, Some(8443));
    assert_eq!(
        (lab.checks[2].to.clone(), lab.checks[2].port),
        (CheckTarget::Host(1), Some(8080))
    );
}
