//! ssh checks through the simulated network, as a lab author writes them:
//! every hop of a ProxyJump chain is a TCP handshake from the previous
//! host, every host decides the login, and each way a login fails has
//! its own reason and an explanation that names the hop.

use wirelab_check::{run_checks, Report, Status};
use wirelab_net::Network;

// Public keys made once with `ssh-keygen -t ed25519` and
// `ssh-keygen -t ecdsa -b 256`; the fingerprints are ssh-keygen's.
const ALICE_KEY: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOoxdgdd4YDiZ+Bp1qj+k2msT4Ao3IQEBF8beWHFek8i alice@wirelab";
const ALICE_FINGERPRINT: &str = "SHA256:LrkwdAiIofAQaKU4aPTHR+DIKfKCE7et6BmwEdaqSSg";
const BOB_KEY: &str = "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBEbys92nadAbJWvkTch8fEBsQOmriRn9tXgFZx/FyubI7moGwI7aEyRb+JTFE4Hb4RpzoK+iDyBCq55q2B7T/oU= bob@wirelab";
const BOB_FINGERPRINT: &str = "SHA256:XP9HHIntQ6lGArxRT0me40k9kKxMHy3kGKYE3lD9mZw";

/// A laptop on the internet; a bastion and web1 (an sshd nobody may use)
/// in `public`; db1, app1 and a host without sshd in `private`, whose NACL
/// lets ssh in from anywhere but replies out only to the public subnet;
/// an island no router reaches; a host behind a network that is down.
fn lab(checks: &str) -> String {
    format!(
        r#"
lab: ssh
networks:
  internet: {{ cidr: 203.0.113.0/24 }}
  public: {{ cidr: 10.0.1.0/24 }}
  private: {{ cidr: 10.0.2.0/24, nacl: private-nacl }}
  island: {{ cidr: 10.9.0.0/24 }}
  cut: {{ cidr: 10.0.3.0/24, link: {{ down: true }} }}
routers:
  vpc: {{ interfaces: {{ internet: 203.0.113.1, public: 10.0.1.1, private: 10.0.2.1, cut: 10.0.3.1 }} }}
hosts:
  laptop: {{ network: internet, ip: 203.0.113.10 }}
  bastion: {{ network: public, ip: 10.0.1.5, security_groups: [bastion-sg], services: [{{ port: 22, app: ssh }}] }}
  db1: {{ network: private, ip: 10.0.2.20, security_groups: [db-sg], services: [{{ port: 2222, app: ssh }}] }}
  web1: {{ network: public, ip: 10.0.1.10, services: [{{ port: 22, app: ssh }}] }}
  app1: {{ network: private, ip: 10.0.2.10, services: [{{ port: 22, app: ssh }}] }}
  printer: {{ network: private, ip: 10.0.2.30, services: [{{ port: 631, app: ipp }}] }}
  island: {{ network: island, ip: 10.9.0.5, services: [{{ port: 22, app: ssh }}] }}
  far: {{ network: cut, ip: 10.0.3.5, services: [{{ port: 22, app: ssh }}] }}
security_groups:
  bastion-sg:
    inbound: [{{ proto: tcp, port: 22, from: 203.0.113.0/24 }}]
  db-sg:
    inbound: [{{ proto: tcp, port: 2222, from: bastion-sg }}]
nacls:
  private-nacl:
    inbound:
      - {{ rule: 100, action: allow, proto: tcp, ports: 22-2222, cidr: 0.0.0.0/0 }}
    outbound:
      - {{ rule: 100, action: allow, proto: tcp, ports: 49152-65535, cidr: 10.0.1.0/24 }}
ssh:
  users:
    alice: {{ keys: ["{ALICE_KEY}"] }}
    bob: {{ keys: ["{BOB_KEY}"], password: true }}
    carol: {{ password: true }}
    dave:
  hosts:
    bastion: {{ users: [alice, bob, carol, dave] }}
    db1: {{ users: [alice, carol, dave], password_auth: true }}
    app1: {{ users: [alice, bob], password_auth: true }}
    island: {{ users: [alice] }}
    far: {{ users: [alice] }}
checks:
{checks}
"#
    )
}

fn report(checks: &str) -> Report {
    let yaml = lab(checks);
    let lab = match wirelab_spec::parse_str("ssh.yaml", &yaml) {
        Ok(l) => l.lab,
        Err(d) => panic!("lab does not load: {d:#?}"),
    };
    let net = Network::compile(&lab);
    run_checks(&net, 2)
}

/// One check's (observed, reason, at), and that it passed.
#[track_caller]
fn one(check: &str) -> wirelab_check::CheckResult {
    let r = report(&format!("  - {check}"));
    let c = r.checks[0].clone();
    assert_eq!(c.status, Status::Pass, "{c:#?}");
    c
}

#[test]
fn a_key_login_through_the_bastion_is_allowed_hop_by_hop() {
    let c = one("{ name: c, from: laptop, ssh: alice@db1, jump: [bastion], expect: allow }");
    assert_eq!((c.observed, c.reason), ("allow", "delivered"));
    assert_eq!(c.at.as_deref(), Some("db1"));
    // Both hops crossed the VPC router.
    assert_eq!(c.path, ["vpc", "vpc"]);
    assert_eq!(
        c.explanation,
        format!(
            "laptop → bastion:22 ok, alice logged in with the ED25519 key {ALICE_FINGERPRINT}; \
             bastion → db1:2222 ok, alice logged in with the ED25519 key {ALICE_FINGERPRINT}"
        )
    );
}

#[test]
fn a_password_login_needs_the_user_and_the_host_to_allow_it() {
    // carol has no key; the bastion takes no passwords, db1 does.
    let c = one("{ name: c, from: bastion, ssh: carol@db1, expect: allow }");
    assert!(
        c.explanation.contains("carol logged in with a password"),
        "{}",
        c.explanation
    );
    let c = one(
        "{ name: c, from: laptop, ssh: carol@db1, jump: [bastion], expect: deny, reason: password-refused }",
    );
    assert_eq!(c.at.as_deref(), Some("bastion"));
    assert!(
        c.explanation
            .contains("bastion does not accept passwords (`password_auth` is off)"),
        "{}",
        c.explanation
    );
    // `auth: password` for a user with no password.
    let c = one(
        "{ name: c, from: bastion, ssh: alice@db1, auth: password, expect: deny, reason: password-refused }",
    );
    assert!(
        c.explanation.contains("alice has no password"),
        "{}",
        c.explanation
    );
    // bob has a key and a password: `auth: password` uses the password.
    let c = one("{ name: c, from: bastion, ssh: bob@app1, auth: password, expect: allow }");
    assert!(
        c.explanation.ends_with("bob logged in with a password"),
        "{}",
        c.explanation
    );
}

#[test]
fn a_user_the_host_does_not_list_is_not_authorized_and_the_key_is_named() {
    let c = one(
        "{ name: c, from: laptop, ssh: bob@db1, jump: [bastion], expect: deny, reason: key-not-authorized }",
    );
    assert_eq!(c.at.as_deref(), Some("db1"));
    let e = &c.explanation;
    assert!(
        e.starts_with(&format!(
            "laptop → bastion:22 ok, bob logged in with the ECDSA key {BOB_FINGERPRINT}; bastion → db1:2222: \
             the TCP handshake completed, but db1 does not let bob in: bob is not among its ssh users \
             (alice, carol, dave); bob offered the ECDSA key {BOB_FINGERPRINT}"
        )),
        "{e}"
    );
    // A host with an sshd that `ssh.hosts` does not name lets nobody in.
    let c = one(
        "{ name: c, from: bastion, ssh: alice@web1, expect: deny, reason: key-not-authorized }",
    );
    assert!(
        c.explanation
            .contains("alice is not among its ssh users (nobody)"),
        "{}",
        c.explanation
    );
}

#[test]
fn a_user_without_a_key_or_a_password_has_nothing_to_offer() {
    let c = one("{ name: c, from: bastion, ssh: dave@db1, expect: deny, reason: no-key }");
    assert!(
        c.explanation
            .contains("dave has no key to offer to db1, and no password login either"),
        "{}",
        c.explanation
    );
    // `auth: key` for a user who only has a password.
    let c =
        one("{ name: c, from: bastion, ssh: carol@db1, auth: key, expect: deny, reason: no-key }");
    assert!(c.explanation.contains("keys only"), "{}", c.explanation);
}

#[test]
fn a_host_without_an_ssh_service_has_no_sshd() {
    let c = one(
        "{ name: c, from: laptop, ssh: alice@printer, jump: [bastion], expect: deny, reason: no-sshd }",
    );
    assert_eq!(c.at.as_deref(), Some("printer"));
    assert!(
        c.explanation
            .contains("bastion → printer: printer runs no sshd"),
        "{}",
        c.explanation
    );
}

#[test]
fn the_network_decides_each_hop_and_the_explanation_names_it() {
    // The laptop is not in bastion-sg: db-sg drops the direct SYN.
    let c = one("{ name: c, from: laptop, ssh: alice@db1, expect: deny, reason: sg-inbound }");
    assert_eq!(c.at.as_deref(), Some("db1"));
    assert!(
        c.explanation
            .starts_with("laptop → db1:2222: tcp/2222 to db1 (10.0.2.20): db1 dropped the request")
            && c.explanation.contains("db-sg"),
        "{}",
        c.explanation
    );
    // The second jump leaves from db1: db1 → app1 stays inside the
    // private subnet (no NACL between them) and app1 has no group.
    one("{ name: c, from: laptop, ssh: alice@app1, jump: [bastion, db1], expect: allow }");
    // Directly, app1's SYN-ACK to the laptop leaves the private subnet for
    // the internet: the NACL's outbound rules deny it.
    let c = one("{ name: c, from: laptop, ssh: alice@app1, expect: deny, reason: nacl-outbound }");
    assert!(c.explanation.contains("private-nacl"), "{}", c.explanation);
    // Nobody routes to the island.
    let c = one(
        "{ name: c, from: laptop, ssh: alice@island, jump: [bastion], expect: deny, reason: no-route }",
    );
    assert!(
        c.explanation.contains("bastion → island:22"),
        "{}",
        c.explanation
    );
    // The network in front of `far` is down: the SYN never arrives.
    one(
        "{ name: c, from: laptop, ssh: alice@far, jump: [bastion], expect: deny, reason: timeout }",
    );
}

#[test]
fn a_wrong_expectation_fails_with_the_observed_reason() {
    let r = report(
        "  - { name: c, from: laptop, ssh: bob@db1, jump: [bastion], expect: allow, hint: add bob to db1 }\n  - { name: d, from: laptop, ssh: bob@db1, jump: [bastion], expect: deny, reason: no-key }",
    );
    let c = &r.checks[0];
    assert_eq!(c.status, Status::Fail);
    assert_eq!(
        c.failure.as_deref(),
        Some("expected allow, observed deny (key-not-authorized)")
    );
    assert_eq!(c.hint.as_deref(), Some("add bob to db1"));
    assert_eq!(
        r.checks[1].failure.as_deref(),
        Some("expected reason no-key, observed key-not-authorized")
    );
}

#[test]
fn reports_do_not_depend_on_threads() {
    let checks = "  - { name: a, from: laptop, ssh: alice@db1, jump: [bastion], expect: allow }\n  - { name: b, from: laptop, ssh: bob@db1, jump: [bastion], expect: deny }\n  - { name: c, from: laptop, ssh: alice@far, jump: [bastion], expect: deny }";
    let yaml = lab(checks);
    let lab = wirelab_spec::parse_str("ssh.yaml", &yaml).unwrap().lab;
    let net = Network::compile(&lab);
    let json = |threads| serde_json::to_string(&run_checks(&net, threads)).unwrap();
    assert_eq!(json(1), json(3));
}
