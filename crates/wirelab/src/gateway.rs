//! `wirelab ssh-gateway`: the arguments, the entry host, the host key's
//! place; the server itself is the `wirelab-gateway` crate.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Args;
use wirelab_net::Network;

#[derive(Args)]
pub struct GatewayArgs {
    lab: PathBuf,
    /// The address to listen on (port 0: any free port, printed at start).
    #[arg(long, default_value = "127.0.0.1:2222")]
    listen: SocketAddr,
    /// The host where logins enter the simulated network (overrides the
    /// lab's `ssh: { gateway: { from: HOST } }`).
    #[arg(long)]
    from: Option<String>,
    /// The host key file (OpenSSH format; made if missing).
    #[arg(long)]
    host_key: Option<PathBuf>,
    /// Use this seed instead of the lab's.
    #[arg(long)]
    seed: Option<u64>,
}

pub fn cmd_gateway(
    args: &GatewayArgs,
    load: impl Fn(&std::path::Path) -> Option<wirelab_spec::Loaded>,
) -> u8 {
    let Some(mut loaded) = load(&args.lab) else {
        return 2;
    };
    if let Some(seed) = args.seed {
        loaded.lab.seed = seed;
    }
    let lab = &loaded.lab;
    let from = match &args.from {
        Some(name) => match lab.host_by_name(name) {
            Some(h) => h,
            None => {
                return crate::usage_error(&format!(
                    "--from: `{name}` is not a host of lab {}{}",
                    lab.lab.value,
                    crate::suggest(lab, name)
                ))
            }
        },
        None => match lab.ssh.gateway_from {
            Some(h) => h,
            None => {
                return crate::usage_error(
                    "the gateway needs an entry host, where logins enter the simulated network: give `--from HOST`, or write `ssh: { gateway: { from: HOST } }` in the lab",
                )
            }
        },
    };
    let Some(host_key) = args
        .host_key
        .clone()
        .or_else(wirelab_gateway::hostkey::default_path)
    else {
        return crate::usage_error(
            "no place for the host key: set WIRELAB_STATE_DIR, XDG_STATE_HOME or HOME, or give --host-key FILE",
        );
    };
    if !args.listen.ip().is_loopback() {
        eprintln!(
            "warning: listening on {}, which is not a loopback address: anyone who can reach it may try to log in",
            args.listen
        );
    }
    let options = wirelab_gateway::Options {
        listen: args.listen,
        host_key,
        from,
        seed: lab.seed,
    };
    let lab_name = lab.lab.value.clone();
    let from_name = lab.hosts[from].name.value.clone();
    let example = lab
        .hosts
        .iter()
        .enumerate()
        .find(|(h, _)| lab.ssh.sshd(*h).is_some())
        .map_or("HOST", |(_, h)| h.name.value.as_str())
        .to_string();
    let user = lab
        .ssh
        .users
        .first()
        .map_or("USER", |u| u.name.value.as_str())
        .to_string();
    let net = Network::compile(lab);
    let served = wirelab_gateway::serve(net, &options, |s| {
        let made = if s.made { ", made now" } else { "" };
        crate::emit(&format!(
            "wirelab ssh-gateway: lab {lab_name}, logins enter at {from_name}\nhost key: {} ({}{made})\nlistening on {}\nlog in with: ssh -p {} {user}+{example}@{}\n",
            s.host_key.display(),
            s.fingerprint,
            s.addr,
            s.addr.port(),
            s.addr.ip(),
        ));
    });
    match served {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("error: {e}");
            2
        }
    }
}
