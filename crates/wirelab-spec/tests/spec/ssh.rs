//! SSH: users and their OpenSSH public keys, the hosts that let them in,
//! and ssh checks with their ProxyJump chains.
//!
//! The keys of the fixtures were made once with `ssh-keygen` (OpenSSH
//! 9.2); the fingerprints asserted here are the ones `ssh-keygen -l`
//! printed for them.

use std::path::Path;

use wirelab_spec::{CheckTarget, Family, Reason, SshAuth, SshHop};

use super::render;

const DIR: &str = "tests/fixtures/ssh";

fn load(name: &str) -> Result<wirelab_spec::Loaded, String> {
    wirelab_spec::load(&Path::new(DIR).join(name)).map_err(|d| render(&d))
}

#[test]
fn every_ssh_mistake_is_reported_where_it_is() {
    let d = match load("mistakes.yaml") {
        Ok(_) => panic!("mistakes.yaml must be rejected"),
        Err(d) => d,
    };
    insta::assert_snapshot!("ssh-mistakes", d);
}

#[test]
fn users_keys_hosts_and_chains_resolve() {
    let loaded = load("valid.yaml").unwrap_or_else(|d| panic!("{d}"));
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    let lab = &loaded.lab;
    let ssh = &lab.ssh;
    let host = |name: &str| lab.host_by_name(name).unwrap();
    let user = |name: &str| ssh.user_by_name(name).unwrap();

    // Every kind of key, with OpenSSH's type, size and SHA256 fingerprint.
    let keys: Vec<(&str, &str, u32, &str, &str)> = ssh
        .users
        .iter()
        .flat_map(|u| {
            u.keys.iter().map(move |k| {
                (
                    u.name.value.as_str(),
                    k.kind,
                    k.bits,
                    k.fingerprint.as_str(),
                    k.comment.as_str(),
                )
            })
        })
        .collect();
    assert_eq!(
        keys,
        [
            (
                "alice",
                "ED25519",
                256,
                "SHA256:LrkwdAiIofAQaKU4aPTHR+DIKfKCE7et6BmwEdaqSSg",
                "alice@wirelab"
            ),
            // Written over several lines with YAML's `\` line continuations.
            (
                "bob",
                "RSA",
                3072,
                "SHA256:JiTZ3mFV5ec5kiyvksV7xjDnhCrkDiakwYmFhWTE9Vw",
                "bob@wirelab"
            ),
            (
                "carol",
                "ECDSA",
                256,
                "SHA256:XP9HHIntQ6lGArxRT0me40k9kKxMHy3kGKYE3lD9mZw",
                "carol@wirelab"
            ),
            (
                "carol",
                "ED25519",
                256,
                "SHA256:xr+plqEfoaGOQW6L4VLH5L+Up7d4IxqFu79zGubXPfs",
                "ops@wirelab"
            ),
            (
                "dave",
                "ECDSA",
                384,
                "SHA256:u4J4kbN0jFvXy+kM6ZYMzzg5Cx0R+slHGP+JB3Y5WVI",
                "dave@wirelab"
            ),
            (
                "erin",
                "ECDSA",
                521,
                "SHA256:1eBGrkfzJ0ZKikD+qwSn+H/TNx6BPK575PKXout/AOQ",
                "erin@wirelab"
            ),
        ]
    );
    assert_eq!(
        ssh.users[0].keys[0].to_string(),
        "ED25519 key SHA256:LrkwdAiIofAQaKU4aPTHR+DIKfKCE7et6BmwEdaqSSg"
    );
    let passwords: Vec<(&str, bool)> = ssh
        .users
        .iter()
        .map(|u| (u.name.value.as_str(), u.password))
        .collect();
    assert_eq!(
        passwords,
        [
            ("alice", false),
            ("bob", true),
            ("carol", false),
            ("dave", false),
            ("erin", false),
            ("frank", true),
            ("nobody", false),
        ]
    );

    // One entry per host; the port is the `app: ssh` service's.
    assert_eq!(ssh.servers.len(), lab.hosts.len());
    assert!(ssh.sshd(host("laptop")).is_none());
    let bastion = ssh.sshd(host("bastion")).unwrap();
    assert_eq!(bastion.port, 22);
    assert_eq!(
        bastion.users,
        [user("alice"), user("bob"), user("carol"), user("frank")]
    );
    assert!(bastion.password_auth);
    let db1 = ssh.sshd(host("db1")).unwrap();
    assert_eq!(
        (db1.port, db1.users.clone()),
        (2222, vec![user("alice"), user("dave")])
    );
    assert!(!db1.password_auth);
    // A host with an sshd but not under `ssh.hosts`: nobody may log in.
    let web1 = ssh.sshd(host("web1")).unwrap();
    assert!(web1.users.is_empty() && !web1.password_auth);

    // Checks: the jump hosts, then the target; a jump host without `USER@`
    // is logged in to as the target's user.
    let hop = |u: &str, h: &str| SshHop {
        user: user(u),
        host: host(h),
    };
    let c = &lab.checks[0];
    let s = c.ssh.as_ref().unwrap();
    assert_eq!(s.hops, [hop("alice", "bastion"), hop("alice", "db1")]);
    assert_eq!(s.auth, SshAuth::Any);
    assert_eq!(
        (c.to.clone(), c.port),
        (CheckTarget::Host(host("db1")), Some(2222))
    );
    assert_eq!(c.family, Family::Ipv4);
    let c = &lab.checks[1];
    assert_eq!(
        c.ssh.as_ref().unwrap().hops,
        [hop("bob", "bastion"), hop("alice", "db1")]
    );
    assert_eq!(c.ssh.as_ref().unwrap().auth, SshAuth::Key);
    assert_eq!(c.reason, Some(Reason::KeyNotAuthorized));
    let c = &lab.checks[2];
    assert_eq!(c.family, Family::Ipv6);
    assert_eq!(c.ssh.as_ref().unwrap().auth, SshAuth::Password);
    assert_eq!((c.points, c.reason), (2, Some(Reason::PasswordRefused)));
}
