//! `wirelab ssh-gateway`: a real SSH server (russh) in front of a lab. A
//! person logs in with a real OpenSSH client and a real private key as
//! `USER+HOST` (or `USER+JUMP+...+HOST`) and lands in that host's shell
//! (`wirelab-shell`), in a simulation of its own.
//!
//! A login is let in when all of these hold:
//! - the key presented is one of USER's keys in the lab's `ssh:` section
//!   (compared by key blob, through its SHA-256 fingerprint), and the
//!   client proves it holds the private key (russh checks the signature);
//! - the lab lets USER log in from the entry host through every hop, as an
//!   `ssh` check decides it: TCP to each sshd through the simulated
//!   network, then the host's users ([`login::decide`]).
//!
//! Only public keys are offered as a way to log in: the lab's users have
//! no password values. Every refusal is told to the client in words (see
//! [`server`] for how), then the connection closes.
//!
//! Limits (all per gateway process): [`CONNECTIONS_MAX`] connections at
//! once, [`SESSIONS_MAX`] sessions (shells) at once, [`CHANNELS_MAX`] per
//! connection, [`AUTH_ATTEMPTS_MAX`] authentication requests per
//! connection, [`limit::FAILURES_MAX`] refused logins a minute per client
//! address, [`LOGIN_GRACE`] to log in, [`IDLE_TIMEOUT`] of silence.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use wirelab_net::Network;
use wirelab_spec::HostId;

pub mod editor;
pub mod hostkey;
pub mod limit;
pub mod login;
mod server;
pub mod session;

/// Connections held at once; more are closed as soon as they are accepted.
pub const CONNECTIONS_MAX: usize = 256;
/// Sessions (shells, each a thread and a simulation) held at once.
pub const SESSIONS_MAX: usize = 256;
/// Session channels one connection may open.
pub const CHANNELS_MAX: usize = 4;
/// Authentication requests one connection may make (sshd's MaxAuthTries).
pub const AUTH_ATTEMPTS_MAX: u32 = 6;
/// Time from the TCP connection to a successful login (sshd's
/// LoginGraceTime is 120 s; a lab needs less).
pub const LOGIN_GRACE: Duration = Duration::from_secs(30);
/// A connection with no traffic for this long is closed.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(15 * 60);
/// A rejected authentication is answered after this long at the earliest
/// (constant time: a wrong key and an unknown user look alike).
pub const AUTH_REJECTION_TIME: Duration = Duration::from_secs(1);

/// What went wrong starting the gateway.
#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    #[error("host key {path}: {why}", path = .path.display())]
    HostKey { path: PathBuf, why: String },
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot start the gateway's runtime: {0}")]
    Runtime(std::io::Error),
}

/// How to run the gateway.
#[derive(Clone, Debug)]
pub struct Options {
    pub listen: SocketAddr,
    pub host_key: PathBuf,
    /// The entry host: where logins start in the simulated network.
    pub from: HostId,
    /// The seed of every decision's and every session's simulation.
    pub seed: u64,
}

/// What the gateway tells once it listens.
#[derive(Clone, Debug)]
pub struct Started {
    /// The bound address (with the port, when port 0 was asked).
    pub addr: SocketAddr,
    /// `ED25519 SHA256:...`.
    pub fingerprint: String,
    pub host_key: PathBuf,
    /// The host key was made by this start.
    pub made: bool,
}

/// Serves until the process ends. `started` is called once the port is
/// bound (to print the address and the host key's fingerprint).
pub fn serve(
    net: Network,
    options: &Options,
    started: impl FnOnce(&Started),
) -> Result<(), GatewayError> {
    let (key, made) = hostkey::load_or_create(&options.host_key)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_io()
        .enable_time()
        .build()
        .map_err(GatewayError::Runtime)?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(options.listen)
            .await
            .map_err(|source| GatewayError::Listen {
                addr: options.listen,
                source,
            })?;
        let addr = listener
            .local_addr()
            .map_err(|source| GatewayError::Listen {
                addr: options.listen,
                source,
            })?;
        started(&Started {
            addr,
            fingerprint: hostkey::fingerprint(&key),
            host_key: options.host_key.clone(),
            made,
        });
        let shared = Arc::new(server::Shared::new(Arc::new(net), options));
        server::accept(listener, key, shared).await;
        Ok(())
    })
}
