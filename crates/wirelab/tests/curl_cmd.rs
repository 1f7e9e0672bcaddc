//! `wirelab curl` end to end, on a three-tier lab written here: a laptop
//! on the internet, nginx serving https in a public subnet with routes and
//! an upstream (app:8000, which asks db:5432), a certificate from a trusted
//! authority, a resolver and a zone.
//!
//! - what is printed: the body, `-i`'s headers, `-v`'s story, `-w` and
//!   `--timing`;
//! - exit statuses: curl's 6, 7, 22, 28, 35, 52, 60, and 2 for usage;
//! - the same request prints the same bytes.

use std::path::PathBuf;
use std::process::Command;

const LAB: &str = r#"
lab: shop
seed: 7
networks:
  internet: { cidr: 198.51.100.0/24, link: { delay: 10ms } }
  public: { cidr: 10.0.1.0/24 }
  private: { cidr: 10.0.2.0/24 }
routers:
  igw: { interfaces: { internet: 198.51.100.1, public: 10.0.1.1, private: 10.0.2.1 } }
hosts:
  laptop: { network: internet, ip: 198.51.100.20, resolver: resolver }
  kiosk: { network: internet, ip: 198.51.100.30 }
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
          - { path: /health, text: "ok\n" }
        upstream: "app:8000"
      - { port: 9000, app: postgres }
      - { port: 9443, app: https, tls: { certificate: old } }
  app:
    network: private
    ip: 10.0.2.10
    security_groups: [app-sg]
    services:
      - { port: 8000, app: http, upstream: "db:5432", delay: 5ms }
  db: { network: private, ip: 10.0.2.20, services: [{ port: 5432, app: postgres }] }
security_groups:
  app-sg:
    inbound: [{ proto: tcp, port: 8000, from: 10.0.1.0/24 }]
  web-sg:
    inbound:
      - { proto: tcp, port: 443, from: 0.0.0.0/0 }
      - { proto: tcp, ports: 8000-9443, from: 198.51.100.0/24 }
tls:
  date: 2026-11-30
  authorities: { public-ca: {} }
  certificates:
    shop: { names: [shop.example.com], issuer: public-ca }
    old: { names: [shop.example.com], issuer: public-ca, not_before: 2024-01-01, not_after: 2025-01-01 }
  trusted: [public-ca]
dns:
  zones:
    - name: example.com
      servers: [ns]
      records:
        - { name: shop, type: A, value: 10.0.1.10 }
        - { name: other, type: A, value: 10.0.1.10 }
"#;

/// The lab, written once per test binary run.
fn lab() -> String {
    let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("curl-shop.yaml");
    // Every test writes the same bytes: a race between two writers is
    // harmless.
    if std::fs::read_to_string(&path).ok().as_deref() != Some(LAB) {
        // Tests run as threads of one process: each writer needs its own
        // temporary name.
        static WRITERS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = WRITERS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let tmp = path.with_extension(format!("{}.{n}.tmp", std::process::id()));
        std::fs::write(&tmp, LAB).expect("the temp dir is writable");
        std::fs::rename(&tmp, &path).expect("rename in the temp dir");
    }
    path.to_string_lossy().into_owned()
}

/// `wirelab curl LAB --from HOST ARGS...`: stdout, stderr, exit status.
fn curl(host: &str, args: &[&str]) -> (String, String, Option<i32>) {
    let lab = lab();
    let o = Command::new(env!("CARGO_BIN_EXE_wirelab"))
        .args(["curl", lab.as_str(), "--from", host])
        .args(args)
        .output()
        .expect("the binary runs");
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
        o.status.code(),
    )
}

mod output {
    use super::*;

    #[test]
    fn the_body_is_the_routes_text() {
        let (out, err, code) = curl("laptop", &["https://shop.example.com/health"]);
        assert_eq!((out.as_str(), err.as_str(), code), ("ok\n", "", Some(0)));
    }

    #[test]
    fn a_body_without_text_is_only_its_size_on_stderr() {
        // nginx → app → db: the database's 512 bytes, given no text.
        let (out, err, code) = curl("laptop", &["https://shop.example.com/"]);
        assert_eq!(code, Some(0), "{err}");
        assert_eq!(out, "");
        assert_eq!(err, "[512 bytes of body; the lab gives it no text]\n");
    }

    #[test]
    fn include_prints_the_servers_head_with_its_crlfs() {
        let (out, _, code) = curl("laptop", &["-i", "https://shop.example.com/health"]);
        assert_eq!(code, Some(0));
        assert_eq!(
            out,
            "HTTP/1.1 200 OK\r\nServer: wirelab\r\nContent-Type: text/plain\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n"
        );
    }

    #[test]
    fn write_out_prints_code_and_total_time_exactly() {
        let (out, _, code) = curl(
            "laptop",
            &[
                "https://shop.example.com/health",
                "-w",
                "%{http_code} %{time_total}\\n",
            ],
        );
        assert_eq!(code, Some(0));
        // 80 ms of lookup (laptop → resolver → ns, 20 ms a round trip on
        // `internet`, and an ARP round trip before each first packet),
        // then about 20.2 ms each to nginx: ARP for the router, TCP's
        // handshake, TLS 1.3's one round trip, the request and its
        // response. Pinned, as the simulation is deterministic.
        assert_eq!(out, "ok\n200 0.160859\n");
    }

    #[test]
    fn write_out_knows_curls_variables() {
        let (out, _, _) = curl(
            "laptop",
            &[
                "https://shop.example.com/health",
                "-w",
                "%{remote_ip}:%{remote_port} %{size_download} %{size_header} %{size_request} %{exitcode} %{url_effective} 100%%",
            ],
        );
        assert_eq!(
            out,
            "ok\n10.0.1.10:443 3 100 85 0 https://shop.example.com/health 100%"
        );
    }

    #[test]
    fn timing_prints_the_five_times_in_order() {
        let (out, _, code) = curl("laptop", &["https://shop.example.com/health", "--timing"]);
        assert_eq!(code, Some(0));
        let times: Vec<f64> = out
            .lines()
            .skip(1)
            .map(|l| {
                let (name, value) = l.split_once(':').expect("name: value");
                assert!(name.starts_with("time_"), "{l}");
                value.trim().parse().expect("seconds")
            })
            .collect();
        assert_eq!(times.len(), 5, "{out}");
        assert!(times.windows(2).all(|w| w[0] <= w[1]), "{out}");
        // TLS 1.3: one round trip between connect and appconnect.
        let handshake_ms = (times[2] - times[1]) * 1e3;
        assert!((handshake_ms - 20.2).abs() < 1.5, "{out}");
    }

    #[test]
    fn verbose_tells_the_connection_story_on_stderr() {
        let (out, err, code) = curl("laptop", &["-v", "https://shop.example.com/"]);
        assert_eq!((out.as_str(), code), ("", Some(0)));
        let expected = [
            "* (simulated) lab shop, seed 7: laptop (198.51.100.20) asks",
            "* Host shop.example.com:443 was resolved.",
            "* IPv4: 10.0.1.10",
            "*   Trying 10.0.1.10:443...",
            "* Connected to shop.example.com (10.0.1.10) port 443",
            "* SSL connection using TLSv1.3",
            "* Server certificate:",
            "*  subject: CN=shop.example.com",
            "*  issuer: CN=public-ca",
            "*  SSL certificate verify ok.",
            "> GET / HTTP/1.1",
            "> Host: shop.example.com",
            "< HTTP/1.1 200 OK",
            "< Content-Length: 512",
            "* (simulated) nginx → app → db",
            "* Closing connection",
        ];
        let mut rest = err.as_str();
        for line in expected {
            let at = rest
                .find(&format!("{line}\n"))
                .unwrap_or_else(|| panic!("no {line:?} (in order) in:\n{err}"));
            rest = &rest[at + line.len()..];
        }
    }

    #[test]
    fn verbose_says_why_a_handshake_failed() {
        let (_, err, code) = curl("laptop", &["-v", "https://shop.example.com:9443/"]);
        assert_eq!(code, Some(60));
        assert!(
            err.contains("*  expire date: Jan  1 00:00:00 2025 GMT\n"),
            "{err}"
        );
        assert!(
            err.contains(
                "* SSL certificate problem: certificate has expired\n* Closing connection\n"
            ),
            "{err}"
        );
        assert!(
            !err.contains("> GET"),
            "no request after a refused certificate: {err}"
        );
        let (_, err, code) = curl("laptop", &["-v", "https://shop.example.com:9000/"]);
        assert_eq!(code, Some(35));
        assert!(
            err.contains("* error:0A00010B:SSL routines::wrong version number\n"),
            "{err}"
        );
        assert!(!err.contains("SSL connection using"), "{err}");
    }

    #[test]
    fn a_lab_host_name_or_an_address_works_without_dns() {
        // `kiosk` has no resolver; host names and addresses need none.
        let (_, err, code) = curl("kiosk", &["-v", "http://nginx:9443/"]);
        assert!(err.contains("*   Trying 10.0.1.10:9443...\n"), "{err}");
        assert!(!err.contains("was resolved"), "{err}");
        // Plain HTTP to a TLS port: nginx's 400.
        assert_eq!(code, Some(0), "{err}");
        let (out, _, code) = curl("kiosk", &["-w", "%{http_code}", "https://10.0.1.10/health"]);
        // The certificate is for shop.example.com, not for 10.0.1.10.
        assert_eq!((out.as_str(), code), ("000", Some(60)));
    }

    #[test]
    fn the_same_request_prints_the_same_bytes() {
        let args = [
            "-v",
            "-i",
            "-w",
            "%{time_namelookup} %{time_connect} %{time_appconnect} %{time_starttransfer} %{time_total}",
            "https://shop.example.com/health",
        ];
        let first = curl("laptop", &args);
        assert_eq!(first, curl("laptop", &args));
        let other_seed = curl("laptop", &[&args[..], &["--seed", "99"]].concat());
        assert_eq!(other_seed.2, Some(0));
    }
}

mod exit_status {
    use super::*;

    fn fails(host: &str, args: &[&str], code: i32, message: &str) -> String {
        let (out, err, got) = curl(host, args);
        assert_eq!(got, Some(code), "stdout: {out}\nstderr: {err}");
        assert!(
            err.starts_with(&format!("curl: ({code}) {message}")),
            "{err}"
        );
        err
    }

    #[test]
    fn a_certificate_curl_refuses_is_60() {
        fails(
            "laptop",
            &["https://other.example.com/"],
            60,
            "SSL: no alternative certificate subject name matches target host name 'other.example.com'",
        );
        fails(
            "laptop",
            &["https://shop.example.com:9443/"],
            60,
            "SSL certificate problem: certificate has expired",
        );
    }

    #[test]
    fn a_name_that_does_not_resolve_is_6() {
        let err = fails(
            "laptop",
            &["https://nosuch.example.com/"],
            6,
            "Could not resolve host: nosuch.example.com",
        );
        assert!(err.contains("NXDOMAIN"), "{err}");
    }

    #[test]
    fn a_refused_connection_is_7() {
        let (out, err, code) = curl(
            "laptop",
            &[
                "http://10.0.1.10:8080/",
                "-w",
                "%{http_code} %{exitcode}\\n",
            ],
        );
        assert_eq!(code, Some(7));
        assert_eq!(out, "000 7\n");
        assert_eq!(err, "curl: (7) Failed to connect: Connection refused\n");
    }

    #[test]
    fn a_connection_that_never_comes_is_28_and_the_drop_is_named() {
        let err = fails(
            "laptop",
            &["http://10.0.2.10:8000/"],
            28,
            "Failed to connect: Connection timed out",
        );
        assert!(
            err.contains("note: app dropped a packet of the request"),
            "{err}"
        );
        assert!(err.contains("app-sg"), "{err}");
    }

    #[test]
    fn tls_to_a_plain_port_is_35_and_http_to_a_database_52() {
        fails(
            "laptop",
            &["https://shop.example.com:9000/"],
            35,
            "error:0A00010B:SSL routines::wrong version number",
        );
        fails(
            "laptop",
            &["http://shop.example.com:9000/"],
            52,
            "Empty reply from server",
        );
    }

    #[test]
    fn fail_turns_a_status_of_400_or_more_into_22() {
        let (out, err, code) = curl("kiosk", &["-f", "http://nginx:9443/"]);
        assert_eq!((out.as_str(), code), ("", Some(22)));
        assert_eq!(err, "curl: (22) The requested URL returned error: 400\n");
    }
}

mod usage {
    use super::*;

    #[test]
    fn mistakes_exit_2_and_say_what_to_do() {
        let cases: [(&str, &[&str], &str); 7] = [
            ("laptp", &["http://nginx/"], "(did you mean `laptop`?)"),
            ("laptop", &["http://ngin/"], "(did you mean `nginx`?)"),
            (
                "laptop",
                &["ftp://nginx/"],
                "the scheme `ftp` is not http or https",
            ),
            (
                "laptop",
                &["http://nginx:0/"],
                "not a number from 1 to 65535",
            ),
            (
                "laptop",
                &["http://nginx/", "-w", "%{time_totl}"],
                "(did you mean %{time_total}?)",
            ),
            (
                "kiosk",
                &["https://shop.example.com/"],
                "host `kiosk` has no `resolver:` to ask",
            ),
            (
                "laptop",
                &["http://nginx/", "-w", "x", "--timing"],
                "cannot be used with",
            ),
        ];
        for (host, args, words) in cases {
            let (out, err, code) = curl(host, args);
            assert_eq!(code, Some(2), "{host} {args:?}: {err}");
            assert_eq!(out, "", "{host} {args:?}");
            assert!(err.contains(words), "{host} {args:?}: {err}");
        }
    }

    #[test]
    fn an_invalid_lab_is_2() {
        let o = Command::new(env!("CARGO_BIN_EXE_wirelab"))
            .args(["curl", "/nonexistent/lab.yaml", "--from", "a", "http://b/"])
            .output()
            .expect("the binary runs");
        assert_eq!(o.status.code(), Some(2));
        assert!(String::from_utf8_lossy(&o.stderr).contains("no such file"));
    }
}
