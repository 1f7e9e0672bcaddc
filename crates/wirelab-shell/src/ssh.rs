//! `ssh [-J [USER@]JUMP[,...]] USER@HOST`: log in to another host of the
//! lab, through jump hosts as OpenSSH's ProxyJump does, subject to the
//! network (a TCP connection to each sshd, now, in this session's
//! simulation) and to the lab's `ssh:` section (who may log in where, with
//! which key). On success the shell moves into the target host; `exit`
//! comes back. `USER@` may be left out when the shell knows who is logged
//! in (a session of the SSH gateway). Failures print what OpenSSH prints.

use wirelab_spec::{Family, Reason, SshAuth, SshCheck, SshHop};

use super::{Done, Shell};

const USAGE: &str = "usage: ssh [-J [user@]jump[,...]] user@host\n";
/// OpenSSH's exit status for any failure of its own.
const STATUS_FAILED: u8 = 255;

/// `[USER@]HOST`: the user (else `default`) and the host, by name.
fn destination(shell: &Shell<'_>, text: &str, default: Option<&str>) -> Result<SshHop, String> {
    let lab = &shell.net.lab;
    let (user, host) = match text.split_once('@') {
        Some((u, h)) => (Some(u), h),
        None => (default, text),
    };
    let Some(user) = user else {
        let users: Vec<&str> = lab
            .ssh
            .users
            .iter()
            .map(|u| u.name.value.as_str())
            .collect();
        return Err(format!(
            "ssh: say who logs in: USER@{host} (the lab's users: {})\n",
            if users.is_empty() {
                "none".to_string()
            } else {
                users.join(", ")
            }
        ));
    };
    let host_id = lab
        .hosts
        .iter()
        .position(|h| h.name.value == host)
        .ok_or_else(|| {
            format!("ssh: Could not resolve hostname {host}: Name or service not known\n")
        })?;
    let user_id = lab
        .ssh
        .user_by_name(user)
        .ok_or_else(|| format!("{user}@{host}: Permission denied (publickey).\n"))?;
    Ok(SshHop {
        user: user_id,
        host: host_id,
    })
}

/// What OpenSSH prints when a hop fails.
/// `direct`: the client itself connects (the first hop); later hops are
/// connected by the jump host before them, and OpenSSH reports those as a
/// failed forwarding channel.
fn failure_text(reason: Reason, host: &str, port: u16, user: &str, direct: bool) -> String {
    let connect = |why: &str| {
        if direct {
            format!("ssh: connect to host {host} port {port}: {why}\n")
        } else {
            format!("channel 0: open failed: connect failed: {why}\nstdio forwarding failed\nConnection closed by UNKNOWN port 65535\n")
        }
    };
    match reason {
        Reason::KeyNotAuthorized | Reason::NoKey => {
            format!("{user}@{host}: Permission denied (publickey).\n")
        }
        Reason::PasswordRefused => {
            format!("{user}@{host}: Permission denied (publickey,password).\n")
        }
        Reason::NoSshd | Reason::Refused => connect("Connection refused"),
        Reason::NoRoute | Reason::Blackhole => connect("No route to host"),
        _ => connect("Connection timed out"),
    }
}

pub(crate) fn ssh(shell: &mut Shell<'_>, args: &[String]) -> Done {
    let mut jumps: Vec<String> = Vec::new();
    let mut target: Option<&String> = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "-J" => match it.next() {
                Some(list) => jumps.extend(list.split(',').map(str::to_string)),
                None => return Done::with(USAGE.into(), STATUS_FAILED),
            },
            flag if flag.starts_with('-') => {
                return Done::with(
                    format!("ssh: unknown option -- {}\n{USAGE}", &flag[1..]),
                    STATUS_FAILED,
                )
            }
            _ if target.is_some() => {
                return Done::with(
                    "ssh: commands after the host are not run here: log in, then type them\n"
                        .into(),
                    STATUS_FAILED,
                )
            }
            _ => target = Some(a),
        }
    }
    let Some(target) = target else {
        return Done::with(USAGE.into(), STATUS_FAILED);
    };
    let user = shell.user.clone();
    let last = match destination(shell, target, user.as_deref()) {
        Ok(hop) => hop,
        Err(e) => return Done::with(e, STATUS_FAILED),
    };
    let user_name = shell.net.lab.ssh.users[last.user].name.value.clone();
    let mut hops = Vec::new();
    for jump in &jumps {
        // A jump host without `user@` is logged in to as the target's user.
        match destination(shell, jump, Some(&user_name)) {
            Ok(hop) => hops.push(hop),
            Err(e) => return Done::with(e, STATUS_FAILED),
        }
    }
    hops.push(last);
    let check = SshCheck {
        hops: hops.clone(),
        auth: SshAuth::Any,
    };
    let family = if shell.net.lab.hosts[shell.host].ipv4.is_some() {
        Family::Ipv4
    } else {
        Family::Ipv6
    };
    let net = shell.net;
    let chain = match wirelab_check::ssh::log_in(&mut shell.sim, net, shell.host, &check, family) {
        Ok(chain) => chain,
        Err(e) => return Done::with(format!("ssh: {e}\n"), STATUS_FAILED),
    };
    let lab = &net.lab;
    match chain.failure {
        None => {
            let to = lab.hosts[last.host].name.value.clone();
            let through: Vec<&str> = hops[..hops.len() - 1]
                .iter()
                .map(|h| lab.hosts[h.host].name.value.as_str())
                .collect();
            let via = if through.is_empty() {
                String::new()
            } else {
                format!(" through {}", through.join(", "))
            };
            shell.enter(last.host);
            Done::ok(format!(
                "(simulated) {user_name} logged in to {to}{via}; `exit` comes back\n"
            ))
        }
        Some((reason, _, _)) => {
            // The hop that failed: the first one not logged in.
            let hop = hops[chain.done.len().min(hops.len() - 1)];
            let host = &lab.hosts[hop.host].name.value;
            let port = lab.ssh.sshd(hop.host).map_or(22, |s| s.port);
            let user = &lab.ssh.users[hop.user].name.value;
            let direct = chain.done.is_empty();
            Done::with(
                failure_text(reason, host, port, user, direct),
                STATUS_FAILED,
            )
        }
    }
}
