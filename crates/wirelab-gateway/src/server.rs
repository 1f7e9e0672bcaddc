//! The SSH side: accepting connections, authentication, and session
//! channels, on russh.
//!
//! **How a refusal reaches the client.** russh sends a userauth banner
//! only with its answer to the `ssh-userauth` service request, before the
//! client has said who it is, so the reason cannot be a banner. It is the
//! description of an SSH_MSG_DISCONNECT instead, which OpenSSH prints on
//! standard error ("Received disconnect from ADDR port P:14: wirelab: ...")
//! before exiting with 255. The disconnect has to reach the client while
//! it still listens: after a final USERAUTH_FAILURE, OpenSSH gives up at
//! once and never reads what follows. So the refusal is sent in answer to
//! a request the client expects to continue from: the `none` request
//! (which OpenSSH always sends first; the failure lists `publickey`, so it
//! goes on), or the query whether a key would do (answered "yes, sign",
//! also when the refusal was sent at `none` and the query came first),
//! and the disconnect follows; OpenSSH reads it while it signs. For the
//! disconnect to come before any other answer, the connection stops
//! reading from the client the moment a refusal is decided
//! ([`HeldStream`]): the client's next request is never read, so the
//! disconnect is the only thing left for russh to do. Nothing is ever let in
//! that way: a signed request after a refusal is rejected, and so is any
//! key that is not the user's or a login the lab does not allow.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::task::{Context, Poll};
use std::time::Instant;

use russh::keys::{HashAlg, PrivateKey, PublicKey};
use russh::server::{Auth, Handle, Msg, Session};
use russh::{Channel, ChannelId, Disconnect, MethodKind, MethodSet, SshId};
use tokio::sync::mpsc;
use wirelab_net::Network;
use wirelab_spec::HostId;

use crate::limit::FailureLimiter;
use crate::login::{self, Login, Refusal};
use crate::session::{self, Input, Mode, Output, Place};
use crate::{Options, AUTH_ATTEMPTS_MAX, CHANNELS_MAX, CONNECTIONS_MAX, SESSIONS_MAX};

/// Messages queued from the client to a session's thread, and back.
const INPUT_QUEUE: usize = 16;
const OUTPUT_QUEUE: usize = 16;

/// What every connection shares.
pub(crate) struct Shared {
    net: Arc<Network>,
    from: HostId,
    seed: u64,
    limiter: Mutex<FailureLimiter>,
    sessions: AtomicUsize,
}

impl Shared {
    pub(crate) fn new(net: Arc<Network>, options: &Options) -> Shared {
        Shared {
            net,
            from: options.from,
            seed: options.seed,
            limiter: Mutex::new(FailureLimiter::default()),
            sessions: AtomicUsize::new(0),
        }
    }

    fn limiter(&self) -> std::sync::MutexGuard<'_, FailureLimiter> {
        // A panic while holding it leaves a limiter still worth using.
        self.limiter.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Accepts connections until the listener fails.
pub(crate) async fn accept(
    listener: tokio::net::TcpListener,
    key: PrivateKey,
    shared: Arc<Shared>,
) {
    let config = Arc::new(russh::server::Config {
        server_id: SshId::Standard(concat!("SSH-2.0-wirelab_", env!("CARGO_PKG_VERSION")).into()),
        methods: MethodSet::from(&[MethodKind::PublicKey][..]),
        auth_rejection_time: crate::AUTH_REJECTION_TIME,
        // OpenSSH's first request is `none`, to learn the methods.
        auth_rejection_time_initial: Some(std::time::Duration::ZERO),
        keys: vec![key],
        inactivity_timeout: Some(crate::IDLE_TIMEOUT),
        nodelay: true,
        ..Default::default()
    });
    let connections = Arc::new(tokio::sync::Semaphore::new(CONNECTIONS_MAX));
    loop {
        let (socket, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of file descriptors and the like: wait, then go on.
                eprintln!("wirelab ssh-gateway: accept: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                continue;
            }
        };
        let Ok(permit) = connections.clone().try_acquire_owned() else {
            eprintln!("wirelab ssh-gateway: {peer}: closed: {CONNECTIONS_MAX} connections already");
            drop(socket);
            continue;
        };
        let (config, shared) = (config.clone(), shared.clone());
        tokio::spawn(async move {
            let _permit = permit;
            connection(socket, peer, config, shared).await;
        });
    }
}

/// One connection from the SSH identification to its end.
async fn connection(
    socket: tokio::net::TcpStream,
    peer: SocketAddr,
    config: Arc<russh::server::Config>,
    shared: Arc<Shared>,
) {
    let handler = Conn::new(shared, peer);
    let slot = handler.handle.clone();
    let authenticated = handler.authenticated.clone();
    let socket = HeldStream {
        inner: socket,
        hold: handler.hold.clone(),
    };
    // A client that sends nothing, or garbage, or stops in the middle of
    // the handshake is dropped here (russh reads a bounded identification
    // line and fails on anything that is not SSH).
    let started = tokio::time::timeout(
        crate::LOGIN_GRACE,
        russh::server::run_stream(config, socket, handler),
    )
    .await;
    let running = match started {
        Ok(Ok(running)) => running,
        Ok(Err(_)) | Err(_) => return,
    };
    let handle = running.handle();
    let _ = slot.set(handle.clone());
    let grace = tokio::spawn(async move {
        tokio::time::sleep(crate::LOGIN_GRACE).await;
        if !authenticated.load(Ordering::Relaxed) {
            let why = format!(
                "wirelab: no login within {} s",
                crate::LOGIN_GRACE.as_secs()
            );
            let _ = handle
                .disconnect(Disconnect::ByApplication, why, String::new())
                .await;
        }
    });
    let _ = running.await;
    grace.abort();
}

/// The client's socket, whose reading stops for good once `hold` is set
/// (see the module's comment); writing goes on.
struct HeldStream {
    inner: tokio::net::TcpStream,
    hold: Arc<AtomicBool>,
}

impl tokio::io::AsyncRead for HeldStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        if self.hold.load(Ordering::SeqCst) {
            // Never woken: the session ends with the disconnect.
            return Poll::Pending;
        }
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl tokio::io::AsyncWrite for HeldStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// One session channel.
#[derive(Default)]
struct ChannelState {
    pty: bool,
    /// To the session's thread, once it runs.
    input: Option<mpsc::Sender<Input>>,
}

/// A login that passed: the name, what it asks, the key's fingerprint.
struct Passed {
    name: String,
    login: Login,
}

/// One connection's handler.
struct Conn {
    shared: Arc<Shared>,
    peer: SocketAddr,
    /// The session's handle, to disconnect from the auth callbacks (which
    /// get no session). Set as soon as russh has started the session.
    handle: Arc<OnceLock<Handle>>,
    authenticated: Arc<AtomicBool>,
    /// Stops reading from the client (set with a refusal).
    hold: Arc<AtomicBool>,
    attempts: u32,
    /// A refusal was sent: everything after is refused.
    refused: bool,
    passed: Option<Passed>,
    channels: HashMap<ChannelId, ChannelState>,
}

impl Conn {
    fn new(shared: Arc<Shared>, peer: SocketAddr) -> Conn {
        Conn {
            shared,
            peer,
            handle: Arc::new(OnceLock::new()),
            authenticated: Arc::new(AtomicBool::new(false)),
            hold: Arc::new(AtomicBool::new(false)),
            attempts: 0,
            refused: false,
            passed: None,
            channels: HashMap::new(),
        }
    }

    /// The limits every authentication request is held to.
    fn precheck(&mut self) -> Result<(), Refusal> {
        self.attempts += 1;
        if self.attempts > AUTH_ATTEMPTS_MAX {
            return Err(Refusal::TooManyAttempts {
                attempts_max: AUTH_ATTEMPTS_MAX,
            });
        }
        let ip = self.peer.ip();
        self.shared
            .limiter()
            .check(ip, Instant::now())
            .map_err(|wait| Refusal::RateLimited {
                addr: ip.to_string(),
                failures_max: crate::limit::FAILURES_MAX,
                wait_secs: wait.as_secs_f64().ceil() as u64,
            })
    }

    /// Counts the failure, logs it, and tells the client why, closing the
    /// connection.
    async fn refuse(&mut self, user: &str, refusal: Refusal) {
        if self.refused {
            return;
        }
        self.refused = true;
        if !matches!(refusal, Refusal::RateLimited { .. }) {
            self.shared.limiter().fail(self.peer.ip(), Instant::now());
        }
        eprintln!(
            "wirelab ssh-gateway: {} `{user}`: refused: {refusal}",
            self.peer
        );
        if let Some(handle) = self.handle.get() {
            self.hold.store(true, Ordering::SeqCst);
            let _ = handle
                .disconnect(
                    Disconnect::NoMoreAuthMethodsAvailable,
                    ascii(&refusal.to_string()),
                    String::new(),
                )
                .await;
        }
    }

    /// The name's login if the lab lets it through (a simulation off the
    /// async threads).
    async fn decide(&self, login: Login) -> Result<Login, Refusal> {
        let shared = self.shared.clone();
        tokio::task::spawn_blocking(move || {
            login::decide(&shared.net, shared.from, shared.seed, &login).map(|()| login)
        })
        .await
        .unwrap_or_else(|e| {
            Err(Refusal::BadName {
                name: String::new(),
                why: format!("the decision failed: {e}"),
            })
        })
    }

    /// Checks the name and key of a publickey request; the login if it
    /// passes.
    async fn check_key(&mut self, user: &str, key: &PublicKey) -> Result<Login, Refusal> {
        self.precheck()?;
        let net = &self.shared.net;
        let login = login::parse_name(net, user)?;
        let fingerprint = key.fingerprint(HashAlg::Sha256).to_string();
        if !login::key_of_user(net, login.user, &fingerprint) {
            return Err(Refusal::UnknownKey {
                user: net.lab.ssh.users[login.user].name.value.clone(),
                key: format!(
                    "{} {fingerprint}",
                    key.algorithm()
                        .as_str()
                        .trim_start_matches("ssh-")
                        .to_ascii_uppercase()
                ),
            });
        }
        match &self.passed {
            Some(p) if p.name == user => Ok(p.login.clone()),
            _ => self.decide(login).await,
        }
    }

    /// Starts the session of a channel.
    fn start(
        &mut self,
        channel: ChannelId,
        mode: Mode,
        session: &mut Session,
    ) -> Result<(), russh::Error> {
        let (Some(passed), Some(state)) = (&self.passed, self.channels.get_mut(&channel)) else {
            return session.channel_failure(channel);
        };
        if state.input.is_some() {
            return session.channel_failure(channel);
        }
        let sessions = &self.shared.sessions;
        if sessions.fetch_add(1, Ordering::SeqCst) >= SESSIONS_MAX {
            sessions.fetch_sub(1, Ordering::SeqCst);
            let text = format!("wirelab: the gateway holds {SESSIONS_MAX} sessions, its limit; try again later\r\n");
            session.extended_data(channel, 1, text.into_bytes())?;
            return session.channel_failure(channel);
        }
        let guard = SessionCount(self.shared.clone());
        let place = Place {
            net: self.shared.net.clone(),
            host: passed.login.target(),
            seed: self.shared.seed,
            user: self.shared.net.lab.ssh.users[passed.login.user]
                .name
                .value
                .clone(),
        };
        let (input_tx, input_rx) = mpsc::channel(INPUT_QUEUE);
        let (output_tx, output_rx) = mpsc::channel(OUTPUT_QUEUE);
        let spawned = std::thread::Builder::new()
            .name("wirelab-session".into())
            .stack_size(session::SESSION_STACK_BYTES)
            .spawn(move || {
                let _guard = guard;
                session::run(place, mode, input_rx, output_tx);
            });
        if spawned.is_err() {
            return session.channel_failure(channel);
        }
        tokio::spawn(forward(session.handle(), channel, output_rx));
        state.input = Some(input_tx);
        session.channel_success(channel)
    }
}

/// The text of a disconnect message as OpenSSH shows it well: it prints
/// bytes outside printable ASCII as octal escapes, and at most 400 of them.
fn ascii(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '→' => out.push_str("->"),
            '—' | '–' => out.push('-'),
            ' '..='~' => out.push(c),
            _ => out.push('?'),
        }
    }
    out
}

/// Takes one session off the count when its thread ends.
struct SessionCount(Arc<Shared>);

impl Drop for SessionCount {
    fn drop(&mut self) {
        self.0.sessions.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Sends a session's output to the client; at the end, the exit status,
/// EOF and close.
async fn forward(handle: Handle, channel: ChannelId, mut output: mpsc::Receiver<Output>) {
    while let Some(out) = output.recv().await {
        match out {
            Output::Data(bytes) => {
                if handle.data(channel, bytes).await.is_err() {
                    return;
                }
            }
            Output::Exit(status) => {
                let _ = handle.exit_status_request(channel, status.into()).await;
                let _ = handle.eof(channel).await;
                let _ = handle.close(channel).await;
                return;
            }
        }
    }
}

impl russh::server::Handler for Conn {
    type Error = russh::Error;

    async fn auth_none(&mut self, user: &str) -> Result<Auth, Self::Error> {
        if self.refused {
            return Ok(Auth::reject());
        }
        // What the name alone decides is told now; the rest waits for a
        // key of the user's.
        let checked = self
            .precheck()
            .and_then(|()| login::parse_name(&self.shared.net, user).map(|_| ()));
        if let Err(refusal) = checked {
            self.refuse(user, refusal).await;
        }
        Ok(Auth::reject())
    }

    async fn auth_password(&mut self, user: &str, _: &str) -> Result<Auth, Self::Error> {
        // Never offered; a client that tries anyway is told no.
        let _ = user;
        Ok(Auth::reject())
    }

    async fn auth_publickey_offered(
        &mut self,
        user: &str,
        key: &PublicKey,
    ) -> Result<Auth, Self::Error> {
        // Refused already (at `none`): "sign" keeps the client listening
        // while the refusal reaches it; the signed request is rejected.
        if self.refused {
            return Ok(Auth::Accept);
        }
        match self.check_key(user, key).await {
            Ok(login) => {
                self.passed = Some(Passed {
                    name: user.to_string(),
                    login,
                });
            }
            // "Sign": the client then waits, and reads the refusal that
            // follows (see the module's comment). The signed request is
            // rejected.
            Err(refusal) => self.refuse(user, refusal).await,
        }
        Ok(Auth::Accept)
    }

    async fn auth_publickey(&mut self, user: &str, key: &PublicKey) -> Result<Auth, Self::Error> {
        if self.refused {
            return Ok(Auth::reject());
        }
        // The key signed may differ from the one offered: check it again.
        let fingerprint = key.fingerprint(HashAlg::Sha256).to_string();
        let ok = self.passed.as_ref().is_some_and(|p| {
            p.name == user && login::key_of_user(&self.shared.net, p.login.user, &fingerprint)
        });
        if !ok {
            return Ok(Auth::reject());
        }
        self.authenticated.store(true, Ordering::Relaxed);
        eprintln!(
            "wirelab ssh-gateway: {} `{user}`: logged in with {fingerprint}",
            self.peer
        );
        Ok(Auth::Accept)
    }

    async fn channel_open_session(
        &mut self,
        channel: Channel<Msg>,
        _: &mut Session,
    ) -> Result<bool, Self::Error> {
        if !self.authenticated.load(Ordering::Relaxed) || self.channels.len() >= CHANNELS_MAX {
            return Ok(false);
        }
        self.channels.insert(channel.id(), ChannelState::default());
        Ok(true)
    }

    async fn pty_request(
        &mut self,
        channel: ChannelId,
        _term: &str,
        _cols: u32,
        _rows: u32,
        _pix_width: u32,
        _pix_height: u32,
        _modes: &[(russh::Pty, u32)],
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        match self.channels.get_mut(&channel) {
            Some(state) if state.input.is_none() => {
                state.pty = true;
                session.channel_success(channel)
            }
            _ => session.channel_failure(channel),
        }
    }

    async fn shell_request(
        &mut self,
        channel: ChannelId,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        let pty = self.channels.get(&channel).is_some_and(|s| s.pty);
        let mode = if pty { Mode::Interactive } else { Mode::Piped };
        self.start(channel, mode, session)
    }

    async fn exec_request(
        &mut self,
        channel: ChannelId,
        data: &[u8],
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        let pty = self.channels.get(&channel).is_some_and(|s| s.pty);
        let command = String::from_utf8_lossy(data).into_owned();
        self.start(channel, Mode::Exec { command, pty }, session)
    }

    async fn subsystem_request(
        &mut self,
        channel: ChannelId,
        _name: &str,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        session.channel_failure(channel)
    }

    async fn x11_request(
        &mut self,
        channel: ChannelId,
        _single_connection: bool,
        _x11_auth_protocol: &str,
        _x11_auth_cookie: &str,
        _x11_screen_number: u32,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        session.channel_failure(channel)
    }

    async fn data(
        &mut self,
        channel: ChannelId,
        data: &[u8],
        _: &mut Session,
    ) -> Result<(), Self::Error> {
        if let Some(input) = self.channels.get(&channel).and_then(|s| s.input.as_ref()) {
            // Waits while the session is busy: that is the flow control.
            let _ = input.send(Input::Data(data.to_vec())).await;
        }
        Ok(())
    }

    async fn channel_eof(
        &mut self,
        channel: ChannelId,
        _: &mut Session,
    ) -> Result<(), Self::Error> {
        if let Some(input) = self.channels.get(&channel).and_then(|s| s.input.as_ref()) {
            let _ = input.send(Input::Eof).await;
        }
        Ok(())
    }

    async fn channel_close(
        &mut self,
        channel: ChannelId,
        _: &mut Session,
    ) -> Result<(), Self::Error> {
        // Dropping the sender ends the session's thread.
        self.channels.remove(&channel);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn disconnect_text_is_printable_ascii() {
        assert_eq!(
            super::ascii("laptop → db1:22: it — no\n"),
            "laptop -> db1:22: it - no?"
        );
    }
}
