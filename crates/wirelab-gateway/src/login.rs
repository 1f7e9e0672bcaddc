//! Who logs in where: the SSH user name names the lab user and the lab
//! host (`alice+db1`, or `alice+bastion+db1` through jump hosts), and the
//! decision is the lab's own, made as an `ssh` check makes it: a TCP
//! handshake from the entry host to each hop's sshd through the simulated
//! network, then the hop's `ssh:` users. The presented key must be one of
//! the user's keys in the lab.
//!
//! Every refusal is a [`Refusal`], whose text the gateway shows the client.

use std::fmt;

use wirelab_net::Network;
use wirelab_sim::{Sim, TraceLevel};
use wirelab_spec::{Family, HostId, SshAuth, SshCheck, SshHop, SshUserId};

/// The separator between the user and the hosts in an SSH user name.
pub const SEPARATOR: char = '+';
/// Most jump hosts before the target, as a bound on one decision's work.
pub const JUMPS_MAX: usize = 8;

/// Why a login is refused; its text is what the client sees.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// `alice` alone: no host named.
    NoHost {
        user: String,
        hosts: Vec<String>,
    },
    /// An empty part (`alice++db1`) or too many hops.
    BadName {
        name: String,
        why: String,
    },
    UnknownUser {
        user: String,
        lab: String,
    },
    UnknownHost {
        host: String,
        lab: String,
        hint: String,
    },
    /// The lab's decision: the network or the host's users say no.
    NotPermitted {
        user: String,
        host: String,
        why: String,
    },
    /// The key is none of the user's keys.
    UnknownKey {
        user: String,
        key: String,
    },
    /// Too many failures from the client's address.
    RateLimited {
        addr: String,
        failures_max: u32,
        wait_secs: u64,
    },
    /// Too many authentication requests on one connection.
    TooManyAttempts {
        attempts_max: u32,
    },
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::NoHost { user, hosts } => write!(
                f,
                "wirelab: name the lab host in the user name: {user}+HOST (or {user}+JUMP+HOST through jump hosts); hosts with an sshd: {}",
                if hosts.is_empty() { "none".to_string() } else { hosts.join(", ") }
            ),
            Refusal::BadName { name, why } => write!(f, "wirelab: `{name}`: {why}"),
            Refusal::UnknownUser { user, lab } => {
                write!(f, "wirelab: `{user}` is not a user of lab {lab} (`ssh.users`)")
            }
            Refusal::UnknownHost { host, lab, hint } => {
                write!(f, "wirelab: `{host}` is not a host of lab {lab}{hint}")
            }
            Refusal::NotPermitted { user, host, why } => {
                write!(f, "wirelab: {user} may not log in to {host}: {why}")
            }
            Refusal::UnknownKey { user, key } => {
                write!(
                    f,
                    "wirelab: this key ({key}) is not one of {user}'s keys in the lab; the first key offered decides, so name hers: ssh -o IdentitiesOnly=yes -i KEY"
                )
            }
            Refusal::RateLimited {
                addr,
                failures_max,
                wait_secs,
            } => write!(
                f,
                "wirelab: too many failed logins from {addr} (at most {failures_max} a minute); try again in {wait_secs} s"
            ),
            Refusal::TooManyAttempts { attempts_max } => write!(
                f,
                "wirelab: too many authentication attempts on one connection (at most {attempts_max})"
            ),
        }
    }
}

/// A login the user name asks for: the user, and the hosts in order (the
/// jump hosts, then the target), each logged in to as that user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Login {
    pub user: SshUserId,
    pub hosts: Vec<HostId>,
}

impl Login {
    /// The target host.
    pub fn target(&self) -> HostId {
        *self.hosts.last().expect("a login names a host")
    }

    fn check(&self) -> SshCheck {
        SshCheck {
            hops: self
                .hosts
                .iter()
                .map(|&host| SshHop {
                    user: self.user,
                    host,
                })
                .collect(),
            auth: SshAuth::Key,
        }
    }
}

/// Reads `USER+HOST` or `USER+JUMP+...+HOST`.
pub fn parse_name(net: &Network, name: &str) -> Result<Login, Refusal> {
    let lab = &net.lab;
    let mut parts = name.split(SEPARATOR);
    let user_name = parts.next().unwrap_or_default();
    let hosts: Vec<&str> = parts.collect();
    if hosts.is_empty() {
        let with_sshd = lab
            .hosts
            .iter()
            .enumerate()
            .filter(|(h, _)| lab.ssh.sshd(*h).is_some())
            .map(|(_, h)| h.name.value.clone())
            .collect();
        return Err(Refusal::NoHost {
            user: user_name.to_string(),
            hosts: with_sshd,
        });
    }
    let bad = |why: &str| Refusal::BadName {
        name: name.to_string(),
        why: why.to_string(),
    };
    if user_name.is_empty() || hosts.iter().any(|h| h.is_empty()) {
        return Err(bad("an empty part; write USER+HOST or USER+JUMP+HOST"));
    }
    if hosts.len() > JUMPS_MAX + 1 {
        return Err(bad(&format!("more than {JUMPS_MAX} jump hosts")));
    }
    let user = lab
        .ssh
        .user_by_name(user_name)
        .ok_or_else(|| Refusal::UnknownUser {
            user: user_name.to_string(),
            lab: lab.lab.value.clone(),
        })?;
    let hosts = hosts
        .iter()
        .map(|&h| {
            lab.host_by_name(h).ok_or_else(|| Refusal::UnknownHost {
                host: h.to_string(),
                lab: lab.lab.value.clone(),
                hint: wirelab_shell::suggest(lab, h),
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Login { user, hosts })
}

/// Whether the lab lets the login through from `from`: every hop's TCP
/// handshake in a fresh simulation with `seed`, and every host's users.
pub fn decide(net: &Network, from: HostId, seed: u64, login: &Login) -> Result<(), Refusal> {
    let lab = &net.lab;
    let family = if lab.hosts[from].ipv4.is_some() {
        Family::Ipv4
    } else {
        Family::Ipv6
    };
    let mut sim = Sim::new(net, seed, TraceLevel::Full);
    let refusal = |why: String| Refusal::NotPermitted {
        user: lab.ssh.users[login.user].name.value.clone(),
        host: lab.hosts[login.target()].name.value.clone(),
        why,
    };
    let chain =
        wirelab_check::ssh::log_in(&mut sim, net, from, &login.check(), family).map_err(refusal)?;
    match chain.failure {
        None => Ok(()),
        Some((_, _, text)) => Err(refusal(text)),
    }
}

/// The fingerprint of `key` as the lab writes them (`SHA256:...`), if it
/// is one of the user's keys: the key blobs are compared through their
/// SHA-256, so the comment does not matter.
pub fn key_of_user(net: &Network, user: SshUserId, fingerprint: &str) -> bool {
    net.lab.ssh.users[user]
        .keys
        .iter()
        .any(|k| k.fingerprint == fingerprint)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LAB: &str = "
lab: gw
networks:
  home: { cidr: 203.0.113.0/24 }
  public: { cidr: 10.0.1.0/24 }
  private: { cidr: 10.0.2.0/24 }
routers:
  vpc: { interfaces: { home: 203.0.113.1, public: 10.0.1.1, private: 10.0.2.1 } }
hosts:
  laptop: { network: home, ip: 203.0.113.10 }
  bastion: { network: public, ip: 10.0.1.10, services: [{ port: 22, app: ssh }], security_groups: [ssh-in] }
  db1: { network: private, ip: 10.0.2.10, services: [{ port: 22, app: ssh }], security_groups: [from-bastion] }
security_groups:
  ssh-in: { inbound: [{ proto: tcp, port: 22, from: 0.0.0.0/0 }] }
  from-bastion: { inbound: [{ proto: tcp, port: 22, from: 10.0.1.10/32 }] }
ssh:
  users:
    alice: { keys: [\"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOoxdgdd4YDiZ+Bp1qj+k2msT4Ao3IQEBF8beWHFek8i alice@wirelab\"] }
    bob: { keys: [\"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMf8s5CT4pC5Vuj+HSVVVi7bPqOS88U32Pf2QH+Ct+Fe ops@wirelab\"] }
  hosts:
    bastion: { users: [alice, bob] }
    db1: { users: [alice] }
  gateway: { from: laptop }
";

    fn net() -> Network {
        let loaded = wirelab_spec::parse_str("gw.yaml", LAB).expect("the test lab is valid");
        Network::compile(&loaded.lab)
    }

    #[test]
    fn names_say_user_then_hosts() {
        let net = net();
        let login = parse_name(&net, "alice+bastion+db1").unwrap();
        assert_eq!(login.user, 0);
        assert_eq!(login.hosts, vec![1, 2]);
        assert_eq!(login.target(), 2);
        let text = |name: &str| parse_name(&net, name).unwrap_err().to_string();
        assert_eq!(
            text("alice"),
            "wirelab: name the lab host in the user name: alice+HOST (or alice+JUMP+HOST through jump hosts); hosts with an sshd: bastion, db1"
        );
        assert!(text("alice++db1").contains("an empty part"));
        assert!(text("mallory+db1").contains("`mallory` is not a user of lab gw"));
        assert!(text("alice+db2").contains("`db2` is not a host of lab gw (did you mean `db1`?)"));
    }

    #[test]
    fn the_lab_decides_through_the_network() {
        let net = net();
        let from = net.lab.ssh.gateway_from.unwrap();
        let login = |name: &str| parse_name(&net, name).unwrap();
        assert_eq!(decide(&net, from, 1, &login("alice+bastion")), Ok(()));
        assert_eq!(decide(&net, from, 1, &login("alice+bastion+db1")), Ok(()));
        // db1 lets only the bastion in.
        let direct = decide(&net, from, 1, &login("alice+db1"))
            .unwrap_err()
            .to_string();
        assert!(
            direct.starts_with("wirelab: alice may not log in to db1: laptop → db1:22:"),
            "{direct}"
        );
        assert!(direct.contains("from-bastion"), "{direct}");
        let bob = decide(&net, from, 1, &login("bob+bastion+db1"))
            .unwrap_err()
            .to_string();
        assert!(bob.contains("db1 does not let bob in"), "{bob}");
    }

    #[test]
    fn keys_are_compared_by_fingerprint() {
        let net = net();
        let alice = "SHA256:LrkwdAiIofAQaKU4aPTHR+DIKfKCE7et6BmwEdaqSSg";
        assert!(key_of_user(&net, 0, alice));
        assert!(!key_of_user(&net, 1, alice));
    }
}
