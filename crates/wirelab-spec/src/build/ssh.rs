//! `ssh:` (extension): the people who log in, their OpenSSH public keys,
//! and which hosts let whom in.
//!
//! Keys are the text of a `.pub` file (`ssh-ed25519 AAAA... alice@laptop`),
//! decoded by the `ssh-key` crate and held to what a current OpenSSH
//! server accepts: Ed25519, ECDSA on NIST P-256/384/521, RSA of at least
//! 2048 bits. Fingerprints are OpenSSH's (`SHA256:` and unpadded base64, as
//! `ssh-keygen -l` prints them), so a lab author can compare them with her
//! own keys.

use std::collections::HashMap;

use ssh_key::public::{EcdsaPublicKey, KeyData};
use ssh_key::{HashAlg, PublicKey};

use super::Names;
use crate::model::{Host, Span, Ssh, SshPublicKey, SshUser, Sshd, TransportProto};
use crate::read::{self, did_you_mean, Diags};
use crate::yaml::{Node, Value};

pub(crate) const SSH_KEYS: [&str; 3] = ["users", "hosts", "gateway"];
pub(crate) const GATEWAY_KEYS: [&str; 1] = ["from"];
pub(crate) const USER_KEYS: [&str; 2] = ["keys", "password"];
pub(crate) const HOST_KEYS: [&str; 2] = ["users", "password_auth"];
/// The `app` of a service that makes it an sshd.
pub const APP_SSH: &str = "ssh";
/// Most users in one lab, and most keys of one user.
const USERS_MAX: usize = 10_000;
const KEYS_PER_USER_MAX: usize = 100;
/// Longest login name (Linux's `useradd` limit).
const USER_NAME_LEN_MAX: usize = 32;
/// Smallest RSA modulus accepted, in bits (NIST SP 800-131A; OpenSSH's
/// `ssh-keygen` default is 3072).
const RSA_BITS_MIN: u32 = 2048;
/// The key algorithms a lab may use, as they start a `.pub` line.
const ALGORITHMS: [&str; 5] = [
    "ssh-ed25519",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "ssh-rsa",
];

/// Reads `ssh:`. `hosts` already carry their services; the result has one
/// entry of `servers` per host.
pub(crate) fn read_ssh(node: Option<&Node>, names: &Names, hosts: &[Host], d: &mut Diags) -> Ssh {
    let mut ssh = Ssh {
        users: Vec::new(),
        servers: hosts.iter().map(sshd_of).collect(),
        gateway_from: None,
    };
    let Some(node) = node else { return ssh };
    if let Value::Null = node.value {
        return ssh;
    }
    let Some(fields) = read::fields(node, &SSH_KEYS, "`ssh`", node.span, d) else {
        return ssh;
    };
    if let Some(users) = fields.get("users") {
        ssh.users = read_users(users, d);
    }
    if let Some(entries) = fields
        .get("hosts")
        .and_then(|n| read::map_or_empty(n, "`ssh.hosts`", d))
    {
        for (name, node) in entries {
            read_host(name, node, names, hosts, &mut ssh, d);
        }
    }
    if let Some(gateway) = fields.get("gateway") {
        ssh.gateway_from = read_gateway(gateway, names, d);
    }
    ssh
}

/// `gateway: { from: HOST }`: where `wirelab ssh-gateway`'s connections
/// enter the simulated network (the client's host of its first hop).
fn read_gateway(node: &Node, names: &Names, d: &mut Diags) -> Option<usize> {
    let fields = read::fields(node, &GATEWAY_KEYS, "`ssh.gateway`", node.span, d)?;
    let Some(from) = fields.get("from") else {
        d.error_help(
            node.span,
            "`ssh.gateway` needs `from`: the host where the gateway's logins start",
            Some("e.g. `gateway: { from: laptop }`".to_string()),
        );
        return None;
    };
    let name = read::string(from, "a host name", d)?;
    let host = names.hosts.get(name);
    if host.is_none() {
        let help = if names.routers.get(name).is_some() {
            Some(format!(
                "`{name}` is a router; the gateway's logins start at a host"
            ))
        } else {
            names.hosts.suggest(name)
        };
        d.error_help(
            from.span,
            format!("unknown host `{name}` in `ssh.gateway.from`"),
            help,
        );
    }
    host
}

/// The sshd a host runs: its first `app: ssh` service, whatever else the
/// `ssh:` section says about it.
fn sshd_of(host: &Host) -> Option<Sshd> {
    let service = host
        .services
        .iter()
        .find(|s| s.app.as_deref() == Some(APP_SSH) && s.proto == TransportProto::Tcp)?;
    Some(Sshd {
        port: service.port,
        users: Vec::new(),
        password_auth: false,
    })
}

fn read_users(node: &Node, d: &mut Diags) -> Vec<SshUser> {
    let Some(entries) = read::map_or_empty(node, "`ssh.users`", d) else {
        return Vec::new();
    };
    if entries.len() > USERS_MAX {
        d.error(
            node.span,
            format!(
                "too many ssh users ({}; the limit is {USERS_MAX})",
                entries.len()
            ),
        );
        return Vec::new();
    }
    let mut users: Vec<SshUser> = Vec::with_capacity(entries.len());
    // Where each fingerprint was first seen: (user, line).
    let mut seen: HashMap<String, (String, u32)> = HashMap::new();
    for (name, node) in entries {
        check_user_name(&name.value, name.span, d);
        let mut user = SshUser {
            name: name.clone(),
            keys: Vec::new(),
            password: false,
        };
        let what = format!("ssh user `{}`", name.value);
        let fields = match &node.value {
            Value::Null => None,
            _ => read::fields(node, &USER_KEYS, &what, name.span, d),
        };
        if let Some(fields) = fields {
            if let Some(n) = fields.get("password") {
                user.password = read::boolean(n, "`password`", d).unwrap_or(false);
            }
            if let Some(list) = fields.get("keys") {
                user.keys = read_keys(list, d);
            }
        }
        for key in &user.keys {
            let here = (name.value.clone(), key.span.line);
            match seen.get(&key.fingerprint) {
                Some((owner, line)) if *owner == name.value => d.warning(
                    key.span,
                    format!("this key is listed twice for `{owner}` (line {line})"),
                ),
                Some((owner, line)) => d.warning(
                    key.span,
                    format!(
                        "this key is also `{owner}`'s (line {line}): whoever holds it logs in as both"
                    ),
                ),
                None => {
                    seen.insert(key.fingerprint.clone(), here);
                }
            }
        }
        users.push(user);
    }
    users
}

/// Login names as `useradd` takes them by default.
fn check_user_name(name: &str, span: Span, d: &mut Diags) {
    let mut chars = name.chars();
    let valid_start = chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_');
    let valid_rest =
        chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "_-".contains(c));
    if !valid_start || !valid_rest {
        d.error(
            span,
            format!("user name `{name}` must be lowercase letters, digits, `_` and `-`, starting with a letter or `_`"),
        );
    } else if name.len() > USER_NAME_LEN_MAX {
        d.error(
            span,
            format!("user name `{name}` is longer than {USER_NAME_LEN_MAX} characters"),
        );
    }
}

fn read_keys(node: &Node, d: &mut Diags) -> Vec<SshPublicKey> {
    let items: Vec<&Node> = match &node.value {
        Value::Seq(items) => items.iter().collect(),
        Value::Null => Vec::new(),
        _ => vec![node],
    };
    if items.len() > KEYS_PER_USER_MAX {
        d.error(
            node.span,
            format!(
                "too many keys ({}; the limit is {KEYS_PER_USER_MAX})",
                items.len()
            ),
        );
        return Vec::new();
    }
    let mut keys = Vec::with_capacity(items.len());
    for item in items {
        let Some(text) = read::string(item, "a public key", d) else {
            continue;
        };
        match parse_public_key(text) {
            Ok(mut key) => {
                key.span = item.span;
                keys.push(key);
            }
            Err((message, help)) => d.error_help(item.span, message, help),
        }
    }
    keys
}

/// A problem with a key: the message and maybe a suggestion.
type KeyError = (String, Option<String>);

/// Reads one public key in OpenSSH's one-line format:
/// `ALGORITHM BASE64 [COMMENT]`. The span is left for the caller.
pub fn parse_public_key(text: &str) -> Result<SshPublicKey, KeyError> {
    let text = text.trim();
    if text.starts_with("-----BEGIN") {
        return Err((
            "this is a private key".to_string(),
            Some(
                "paste the public key instead, the `.pub` file; never put a private key in a lab"
                    .to_string(),
            ),
        ));
    }
    let mut words = text.split_whitespace();
    let Some(algorithm) = words.next() else {
        return Err(("the key is empty".to_string(), None));
    };
    check_algorithm(algorithm, text)?;
    let Some(data) = words.next() else {
        return Err((
            format!("the key has no key data after `{algorithm}`"),
            Some("paste the whole line of the `.pub` file".to_string()),
        ));
    };
    let comment = words.collect::<Vec<&str>>().join(" ");
    check_base64(data)?;
    let key = PublicKey::from_openssh(&format!("{algorithm} {data}")).map_err(|_| {
        (
            format!("the key data is not a valid `{algorithm}` key (cut short, or the start of another key?)"),
            Some("paste the whole line of the `.pub` file".to_string()),
        )
    })?;
    let (kind, bits) = kind_and_bits(key.key_data()).ok_or_else(|| {
        (
            format!("the key data is not a valid `{algorithm}` key"),
            None,
        )
    })?;
    if kind == "RSA" && bits < RSA_BITS_MIN {
        return Err((
            format!(
                "this RSA key has {bits} bits; keys of fewer than {RSA_BITS_MIN} bits are refused"
            ),
            Some("make a new key with `ssh-keygen -t ed25519`, or `-t rsa -b 3072`".to_string()),
        ));
    }
    Ok(SshPublicKey {
        kind,
        bits,
        fingerprint: key.fingerprint(HashAlg::Sha256).to_string(),
        comment,
        span: Span::default(),
    })
}

/// The first word of a key line: an algorithm a lab accepts, or an error
/// that says why not.
fn check_algorithm(algorithm: &str, text: &str) -> Result<(), KeyError> {
    if ALGORITHMS.contains(&algorithm) {
        return Ok(());
    }
    let refusal = |message: &str, help: &str| Err((message.to_string(), Some(help.to_string())));
    let ed25519 = "make a new key with `ssh-keygen -t ed25519`";
    if algorithm == "ssh-dss" {
        return refusal(
            "DSA keys (`ssh-dss`) are refused: OpenSSH disabled them in 7.0 and removed them in 9.8",
            ed25519,
        );
    }
    if algorithm.starts_with("sk-") {
        return refusal(
            &format!("`{algorithm}` is a security-key (FIDO) key, which needs a hardware token; labs do not simulate one"),
            ed25519,
        );
    }
    if algorithm.contains("-cert-v01@openssh.com") {
        return refusal(
            "this is an OpenSSH certificate, not a plain public key",
            "give the public key itself (the `.pub` file, not `-cert.pub`)",
        );
    }
    if algorithm.starts_with("rsa-sha2-") {
        return refusal(
            &format!("`{algorithm}` is a signature algorithm, not a key type"),
            "an RSA public key starts with `ssh-rsa`",
        );
    }
    let later = text.split_whitespace().skip(1);
    if later.clone().any(|w| ALGORITHMS.contains(&w)) || algorithm.contains('=') {
        return refusal(
            "options of an `authorized_keys` line (`from=`, `command=`, `no-pty`, ...) are not part of a key",
            "write the key alone, starting with its algorithm",
        );
    }
    let help = did_you_mean(algorithm, ALGORITHMS)
        .or_else(|| Some(format!("accepted: {}", ALGORITHMS.join(", "))));
    Err((format!("unknown key algorithm `{algorithm}`"), help))
}

/// The base64 of a key: the standard alphabet, `=` padding only at the end,
/// a length that is a multiple of four.
fn check_base64(data: &str) -> Result<(), KeyError> {
    let body = data.trim_end_matches('=');
    let padding = data.len() - body.len();
    if let Some((i, c)) = body
        .char_indices()
        .find(|(_, c)| !(c.is_ascii_alphanumeric() || *c == '+' || *c == '/'))
    {
        return Err((
            format!(
                "the key data is not valid base64: `{c}` at character {} of it",
                i + 1
            ),
            None,
        ));
    }
    if padding > 2 || !data.len().is_multiple_of(4) {
        return Err((
            "the key data is not valid base64: its length is wrong (cut short?)".to_string(),
            Some("paste the whole line of the `.pub` file".to_string()),
        ));
    }
    Ok(())
}

/// `ssh-keygen -l`'s type name and size of a key.
fn kind_and_bits(data: &KeyData) -> Option<(&'static str, u32)> {
    match data {
        KeyData::Ed25519(_) => Some(("ED25519", 256)),
        KeyData::Ecdsa(key) => Some((
            "ECDSA",
            match key {
                EcdsaPublicKey::NistP256(_) => 256,
                EcdsaPublicKey::NistP384(_) => 384,
                EcdsaPublicKey::NistP521(_) => 521,
            },
        )),
        KeyData::Rsa(key) => {
            let n = key.n.as_positive_bytes()?;
            let first = *n.first()?;
            let bits = (n.len() as u32 - 1) * 8 + (8 - first.leading_zeros());
            Some(("RSA", bits))
        }
        _ => None,
    }
}

/// One entry of `ssh.hosts`: `bastion: { users: [alice, bob], password_auth: true }`.
fn read_host(
    name: &crate::model::Sp<String>,
    node: &Node,
    names: &Names,
    hosts: &[Host],
    ssh: &mut Ssh,
    d: &mut Diags,
) {
    let what = format!("ssh host `{}`", name.value);
    let fields = match &node.value {
        Value::Null => None,
        _ => read::fields(node, &HOST_KEYS, &what, name.span, d),
    };
    let Some(host) = names.hosts.get(&name.value) else {
        let help = if names.routers.get(&name.value).is_some() {
            Some(format!(
                "`{}` is a router; only hosts run an sshd",
                name.value
            ))
        } else {
            names.hosts.suggest(&name.value)
        };
        d.error_help(
            name.span,
            format!("unknown host `{}` in `ssh.hosts`", name.value),
            help,
        );
        return;
    };
    let mut users = Vec::new();
    let mut password_auth = false;
    if let Some(fields) = &fields {
        if let Some(list) = fields.get("users") {
            users = read_user_refs(list, &name.value, ssh, d);
        }
        if let Some(n) = fields.get("password_auth") {
            password_auth = read::boolean(n, "`password_auth`", d).unwrap_or(false);
        }
    }
    let written = check_ssh_services(&hosts[host], d);
    match &mut ssh.servers[host] {
        Some(sshd) => {
            sshd.users = users;
            sshd.password_auth = password_auth;
        }
        // A service that says `app: ssh` but is wrong was reported above.
        None if written => {}
        None => d.error_help(
            name.span,
            format!(
                "host `{}` has no sshd: it has no `app: ssh` service",
                name.value
            ),
            Some(format!(
                "add `services: [{{ port: 22, app: ssh }}]` to host `{}`",
                name.value
            )),
        ),
    }
}

/// An sshd listens on one TCP port: a second `app: ssh` service, or one on
/// UDP, is a mistake worth saying on a host the lab logs in to. `true`
/// when the host has any `app: ssh` service.
fn check_ssh_services(host: &Host, d: &mut Diags) -> bool {
    let mut written = false;
    let mut first: Option<u16> = None;
    for service in host
        .services
        .iter()
        .filter(|s| s.app.as_deref() == Some(APP_SSH))
    {
        written = true;
        if service.proto != TransportProto::Tcp {
            d.error(
                service.span,
                format!(
                    "an `app: ssh` service runs over TCP; this one says udp (host `{}`)",
                    host.name.value
                ),
            );
            continue;
        }
        match first {
            None => first = Some(service.port),
            Some(port) => d.error(
                service.span,
                format!(
                    "host `{}` already has an `app: ssh` service on port {port}; its sshd listens on one port",
                    host.name.value
                ),
            ),
        }
    }
    written
}

/// `users: [alice, bob]` of an ssh host: names of `ssh.users`.
fn read_user_refs(node: &Node, host: &str, ssh: &Ssh, d: &mut Diags) -> Vec<usize> {
    let mut users = Vec::new();
    for item in read::seq(node, "`users`", d).unwrap_or(&[]) {
        let Some(name) = read::string(item, "a user name", d) else {
            continue;
        };
        match ssh.user_by_name(name) {
            Some(u) if users.contains(&u) => d.warning(
                item.span,
                format!("user `{name}` is listed twice for `{host}`"),
            ),
            Some(u) => users.push(u),
            None => d.error_help(
                item.span,
                format!("unknown ssh user `{name}`"),
                suggest_user(ssh, name),
            ),
        }
    }
    users
}

/// "did you mean" among the users of `ssh.users`.
pub(crate) fn suggest_user(ssh: &Ssh, name: &str) -> Option<String> {
    if ssh.users.is_empty() {
        return Some("declare it under `ssh: { users: ... }`".to_string());
    }
    did_you_mean(name, ssh.users.iter().map(|u| u.name.value.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;

    // Made with `ssh-keygen -t ed25519 -C alice@wirelab` and
    // `ssh-keygen -t rsa -b 1024`; `ssh-keygen -l` printed the fingerprints.
    const ED25519: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOoxdgdd4YDiZ+Bp1qj+k2msT4Ao3IQEBF8beWHFek8i alice@wirelab";

    #[test]
    fn an_ed25519_key_has_openssh_s_fingerprint() {
        let key = parse_public_key(ED25519).unwrap();
        assert_eq!(key.kind, "ED25519");
        assert_eq!(key.bits, 256);
        assert_eq!(
            key.fingerprint,
            "SHA256:LrkwdAiIofAQaKU4aPTHR+DIKfKCE7et6BmwEdaqSSg"
        );
        assert_eq!(key.comment, "alice@wirelab");
    }

    #[test]
    fn wrong_keys_say_why() {
        let err = |text: &str| parse_public_key(text).unwrap_err().0;
        assert!(err("").contains("empty"));
        assert!(err("ssh-ed25519").contains("no key data"));
        assert!(err("ssh-ed2551 AAAA").contains("unknown key algorithm"));
        assert!(err("ssh-ed25519 AAAA!AAA").contains("`!` at character 5"));
        assert!(err("ssh-ed25519 AAAAC3Nza").contains("length"));
        assert!(err(
            "ssh-rsa AAAAC3NzaC1lZDI1NTE5AAAAIOoxdgdd4YDiZ+Bp1qj+k2msT4Ao3IQEBF8beWHFek8i"
        )
        .contains("not a valid `ssh-rsa` key"));
        assert!(err(&format!("from=\"10.0.0.0/8\" {ED25519}")).contains("options"));
        assert!(err("ssh-dss AAAA").contains("DSA"));
        assert!(err("-----BEGIN OPENSSH PRIVATE KEY-----").contains("private key"));
    }

    /// A lab with two hosts and `ssh.gateway` as given.
    fn lab_with_gateway(gateway: &str) -> Result<crate::Loaded, Vec<crate::Diagnostic>> {
        let text = format!(
            "lab: gw\nnetworks:\n  net: {{ cidr: 10.0.0.0/24 }}\nrouters:\n  r1: {{ interfaces: {{ net: 10.0.0.1 }} }}\nhosts:\n  laptop: {{ network: net, ip: 10.0.0.10 }}\n  bastion: {{ network: net, ip: 10.0.0.20, services: [{{ port: 22, app: ssh }}] }}\nssh:\n  gateway: {gateway}\n"
        );
        crate::parse_str("lab.yaml", &text)
    }

    #[test]
    fn the_gateway_entry_is_a_host() {
        let loaded = lab_with_gateway("{ from: laptop }").unwrap();
        assert_eq!(loaded.lab.ssh.gateway_from, Some(0));
        let errors = |gateway: &str| {
            lab_with_gateway(gateway)
                .unwrap_err()
                .iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join("\n")
        };
        let e = errors("{ from: laptp }");
        assert!(
            e.contains("lab.yaml:10:")
                && e.contains("unknown host `laptp` in `ssh.gateway.from`")
                && e.contains("laptop"),
            "{e}"
        );
        assert!(errors("{ from: r1 }").contains("is a router"));
        assert!(errors("{}").contains("needs `from`"));
        assert!(errors("{ from: laptop, to: bastion }").contains("`to`"));
    }
}
