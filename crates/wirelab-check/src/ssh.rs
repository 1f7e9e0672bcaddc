//! `ssh` checks: a user logs in to a host, through jump hosts, the way
//! OpenSSH's ProxyJump (`ssh -J bastion alice@db1`) does it.
//!
//! The client opens a TCP connection from `from` to the first jump host's
//! sshd and authenticates there; that host then opens a TCP connection to
//! the next host's sshd, and the user authenticates again, and so on to
//! the target. Every hop is a real TCP handshake through the simulated
//! network, in one simulation, one after the other: a hop starts when the
//! previous login has succeeded, as a jump host only forwards once the
//! user is logged in. Logins themselves take no simulated time (no SSH
//! bytes cross the network in this version); they are decided from the
//! lab's `ssh:` section: who is listed on the host, their keys, and
//! whether both the user and the host allow passwords.

use wirelab_net::Network;
use wirelab_sim::Sim;
use wirelab_spec::{
    Check, CheckProto, CheckTarget, Outcome, Reason, SshAuth, SshCheck, SshUser, SshUserId, Sshd,
};

use crate::exchange::{run_exchange_now, Plan};
use crate::{explain, verdict, CheckResult};

/// How one hop ended.
struct HopFailure {
    reason: Reason,
    /// The node where it was decided.
    at: Option<String>,
    text: String,
}

/// What a chain of logins came to.
pub struct Chain {
    /// One line per hop that succeeded.
    pub done: Vec<String>,
    /// Why the chain stopped: the reason, where, and a sentence.
    pub failure: Option<(Reason, Option<String>, String)>,
    /// The routers every hop's connection crossed.
    pub path: Vec<String>,
}

/// Logs `ssh`'s user in from `from` through every hop, on the state `sim`
/// is in (each hop's TCP handshake runs now, one after the other). `Err`
/// when a hop cannot even be planned (no address of the family).
pub fn log_in(
    sim: &mut Sim<'_>,
    net: &Network,
    from: usize,
    ssh: &SshCheck,
    family: wirelab_spec::Family,
) -> Result<Chain, String> {
    let lab = &net.lab;
    let mut source = from;
    let mut chain = Chain {
        done: Vec::new(),
        failure: None,
        path: Vec::new(),
    };
    for hop in &ssh.hops {
        let (src, dst) = (
            &lab.hosts[source].name.value,
            &lab.hosts[hop.host].name.value,
        );
        let user = &lab.ssh.users[hop.user];
        let Some(sshd) = lab.ssh.sshd(hop.host) else {
            chain.failure = Some((
                Reason::NoSshd,
                Some(dst.clone()),
                format!(
                    "{src} → {dst}: {dst} runs no sshd (it has no `app: ssh` service), so there is nothing to log in to"
                ),
            ));
            break;
        };
        let label = format!("{src} → {dst}:{}", sshd.port);
        let target = CheckTarget::Host(hop.host);
        let plan = Plan::new(
            net,
            source,
            &target,
            CheckProto::Tcp,
            Some(sshd.port),
            family,
        )
        .map_err(|e| e.to_string())?;
        let trace_start = sim.trace().len();
        let ex = run_exchange_now(sim, plan);
        chain
            .path
            .extend(ex.path.iter().map(|&n| net.nodes[n].name.clone()));
        if ex.result.outcome != Outcome::Allow {
            let text = explain::explain(net, &ex, &sim.trace()[trace_start..]);
            chain.failure = Some((
                ex.result.reason,
                ex.result.node.map(|n| net.nodes[n].name.clone()),
                format!("{label}: {text}"),
            ));
            break;
        }
        match login(hop.user, user, dst, sshd, ssh.auth, &user_names(net, sshd)) {
            Ok(how) => chain.done.push(format!(
                "{label} ok, {} logged in with {how}",
                user.name.value
            )),
            Err((reason, why)) => {
                chain.failure = Some((
                    reason,
                    Some(dst.clone()),
                    format!("{label}: the TCP handshake completed, but {why}"),
                ));
                break;
            }
        }
        source = hop.host;
    }
    Ok(chain)
}

/// Runs an `ssh:` check on `sim` (reset first) and grades it.
pub fn run_ssh_check(
    sim: &mut Sim<'_>,
    net: &Network,
    check: &Check,
    ssh: &SshCheck,
    seed: u64,
) -> CheckResult {
    sim.reset_to(seed, check.at_ns.map(wirelab_sim::SimTime));
    let lab = &net.lab;
    let chain = match log_in(sim, net, check.from, ssh, check.family) {
        Ok(chain) => chain,
        Err(e) => return crate::unrunnable(check, e),
    };
    let Chain {
        done,
        failure,
        path,
    } = chain;
    let failure = failure.map(|(reason, at, text)| HopFailure { reason, at, text });
    let (outcome, reason, at) = match &failure {
        None => (
            Outcome::Allow,
            Reason::Delivered,
            ssh.hops
                .last()
                .map(|h| lab.hosts[h.host].name.value.clone()),
        ),
        Some(f) => (Outcome::Deny, f.reason, f.at.clone()),
    };
    let mut steps = done;
    if let Some(f) = failure {
        steps.push(f.text);
    }
    let mut failures = Vec::new();
    if outcome != check.expect {
        failures.push(format!(
            "expected {}, observed {} ({reason})",
            check.expect.code(),
            outcome.code()
        ));
    } else if let Some(want) = check.reason.filter(|&r| r != reason) {
        failures.push(format!("expected reason {want}, observed {reason}"));
    }
    let (status, failure, earned) = verdict(check, &failures);
    CheckResult {
        name: check.name.value.clone(),
        status,
        expect: check.expect.code(),
        observed: outcome.code(),
        reason: reason.code(),
        at,
        explanation: steps.join("; "),
        failure,
        hint: check.hint.clone(),
        points: check.points,
        earned,
        path,
        decided_ns: sim.now().as_nanos(),
    }
}

/// The users a host lets in, for messages: `alice, bob` or `nobody`.
fn user_names(net: &Network, sshd: &Sshd) -> String {
    if sshd.users.is_empty() {
        return "nobody".to_string();
    }
    let names: Vec<&str> = sshd
        .users
        .iter()
        .map(|&u| net.lab.ssh.users[u].name.value.as_str())
        .collect();
    names.join(", ")
}

/// Whether `user` may log in to `host`: how (`the ED25519 key
/// SHA256:...`, `a password`), or the reason and why not.
///
/// The host's `users` are the accounts on it: a user not listed has no
/// account there, and neither a key nor a password lets her in. A listed
/// user logs in with her first key (every key of hers is in her
/// `authorized_keys`), else with a password where both she and the host
/// allow passwords, as OpenSSH's client tries public keys before
/// passwords.
fn login(
    user_id: SshUserId,
    user: &SshUser,
    host: &str,
    sshd: &Sshd,
    auth: SshAuth,
    allowed: &str,
) -> Result<String, (Reason, String)> {
    let name = &user.name.value;
    if !sshd.users.contains(&user_id) {
        let offered = match user.keys.first() {
            Some(key) => {
                format!("; {name} offered the {key}, which is in no authorized_keys there")
            }
            None => String::new(),
        };
        return Err((
            Reason::KeyNotAuthorized,
            format!("{host} does not let {name} in: {name} is not among its ssh users ({allowed}){offered}"),
        ));
    }
    let key = user.keys.first().filter(|_| auth != SshAuth::Password);
    if let Some(key) = key {
        return Ok(format!("the {key}"));
    }
    if auth != SshAuth::Key && user.password && sshd.password_auth {
        return Ok("a password".to_string());
    }
    let tried_password = auth == SshAuth::Password || (auth == SshAuth::Any && user.password);
    if tried_password {
        let why = if !user.password {
            format!("{name} has no password (`password: true` is not set)")
        } else {
            format!("{host} does not accept passwords (`password_auth` is off)")
        };
        let only = if auth == SshAuth::Password {
            "this check logs in with a password only"
        } else {
            "only a password could log in"
        };
        return Err((
            Reason::PasswordRefused,
            format!("{host} refused {name}'s password login: {only}, and {why}"),
        ));
    }
    let why = if auth == SshAuth::Key {
        "and this check logs in with keys only"
    } else {
        "and no password login either"
    };
    Err((
        Reason::NoKey,
        format!("{name} has no key to offer to {host}, {why}"),
    ))
}
