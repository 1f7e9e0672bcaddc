//! Concurrent SSH sessions held by `wirelab ssh-gateway`, and what they
//! cost in memory: for docs/benchmarks.md ("SSH gateway").
//!
//! ```text
//! cargo build --release -p wirelab
//! cargo run --release -p wirelab-bench --bin ssh-sessions -- [--sessions N] [--wirelab PATH]
//! ```
//!
//! It makes a throwaway Ed25519 key, writes a small lab whose user `alice`
//! has it (laptop → bastion → db1), starts the gateway on a free loopback
//! port with a fresh state directory, and opens interactive sessions with
//! russh's client, as a person would: a connection, the key, a
//! pseudo-terminal, a shell, and one command (`ping -c 1 db1`) whose
//! answer is awaited. Sessions are held open. At 0, 50, 100, 200 (up to
//! `--sessions`) it reads the gateway's resident memory (VmRSS) and thread
//! count from /proc, then runs `uptime` in every held session to show they
//! all still answer.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use russh::keys::{Algorithm, PrivateKey, PrivateKeyWithHashAlg};
use russh::ChannelMsg;

/// Sessions being opened at once.
const OPENING_AT_ONCE: usize = 16;
/// Longest wait for one answer.
const ANSWER_WAIT: Duration = Duration::from_secs(60);

struct Client;

impl russh::client::Handler for Client {
    type Error = russh::Error;

    async fn check_server_key(
        &mut self,
        _key: &russh::keys::PublicKey,
    ) -> Result<bool, Self::Error> {
        Ok(true)
    }
}

/// One held session.
struct Held {
    _handle: russh::client::Handle<Client>,
    channel: russh::Channel<russh::client::Msg>,
}

fn main() {
    let mut sessions_max = 200usize;
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let mut wirelab = format!("{root}/target/release/wirelab");
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--sessions" => {
                sessions_max = args
                    .next()
                    .and_then(|n| n.parse().ok())
                    .expect("--sessions N")
            }
            "--wirelab" => wirelab = args.next().expect("--wirelab PATH"),
            _ => panic!("usage: ssh-sessions [--sessions N] [--wirelab PATH]"),
        }
    }
    let dir = std::env::temp_dir().join(format!("wirelab-ssh-sessions-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a temp dir");
    let key = PrivateKey::random(&mut rand::rng(), Algorithm::Ed25519).expect("a key");
    let lab = dir.join("lab.yaml");
    std::fs::write(
        &lab,
        lab_text(&key.public_key().to_openssh().expect("openssh")),
    )
    .expect("the lab");
    let (mut gateway, port) = start(&wirelab, &lab, &dir);
    let pid = gateway.id();

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    let key = Arc::new(key);
    let mut held: Vec<Held> = Vec::new();
    println!("wirelab ssh-gateway, {sessions_max} interactive sessions (russh client, each ran `ping -c 1 db1`)");
    println!(
        "| sessions held | gateway VmRSS | threads | per session since 0 | time to open the step |"
    );
    println!("|---:|---:|---:|---:|---:|");
    let rss0 = status(pid, "VmRSS:");
    println!(
        "| 0 | {:.1} MiB | {} | | |",
        rss0 as f64 / 1024.0,
        status(pid, "Threads:")
    );
    for step in [50, 100, 200, 400, 800]
        .into_iter()
        .filter(|&s| s <= sessions_max)
    {
        let t0 = Instant::now();
        let new = runtime.block_on(open(port, key.clone(), step - held.len()));
        let took = t0.elapsed();
        held.extend(new);
        std::thread::sleep(Duration::from_millis(500));
        let rss = status(pid, "VmRSS:");
        println!(
            "| {} | {:.1} MiB | {} | {:.0} KiB | {:.1} s |",
            held.len(),
            rss as f64 / 1024.0,
            status(pid, "Threads:"),
            (rss - rss0) as f64 / held.len() as f64,
            took.as_secs_f64()
        );
    }
    let t0 = Instant::now();
    let answered = runtime.block_on(async {
        let mut answered = 0;
        for h in &mut held {
            h.channel
                .data(&b"uptime\r"[..])
                .await
                .expect("the session is open");
            let mut seen = String::new();
            if until(&mut h.channel, &mut seen, "load average").await {
                answered += 1;
            }
        }
        answered
    });
    println!(
        "\nall held sessions answered `uptime`: {answered} of {} in {:.2} s",
        held.len(),
        t0.elapsed().as_secs_f64()
    );
    drop(held);
    std::thread::sleep(Duration::from_secs(2));
    println!(
        "after closing them all: VmRSS {:.1} MiB, {} threads",
        status(pid, "VmRSS:") as f64 / 1024.0,
        status(pid, "Threads:")
    );
    let _ = gateway.kill();
    let _ = gateway.wait();
    let _ = std::fs::remove_dir_all(&dir);
}

/// Opens `n` sessions, [`OPENING_AT_ONCE`] at a time.
async fn open(port: u16, key: Arc<PrivateKey>, n: usize) -> Vec<Held> {
    let limit = Arc::new(tokio::sync::Semaphore::new(OPENING_AT_ONCE));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..n {
        let (key, limit) = (key.clone(), limit.clone());
        tasks.spawn(async move {
            let _permit = limit.acquire().await.expect("the semaphore");
            session(port, key).await
        });
    }
    let mut held = Vec::with_capacity(n);
    while let Some(done) = tasks.join_next().await {
        held.push(done.expect("a session task"));
    }
    held
}

/// One interactive session, after its first command.
async fn session(port: u16, key: Arc<PrivateKey>) -> Held {
    let config = Arc::new(russh::client::Config::default());
    let mut handle = russh::client::connect(config, ("127.0.0.1", port), Client)
        .await
        .expect("the handshake");
    let auth = handle
        .authenticate_publickey("alice+bastion", PrivateKeyWithHashAlg::new(key, None))
        .await
        .expect("an answer");
    assert!(auth.success(), "the login was refused");
    let mut channel = handle.channel_open_session().await.expect("a channel");
    channel
        .request_pty(true, "xterm", 80, 24, 0, 0, &[])
        .await
        .expect("a pty");
    channel.request_shell(true).await.expect("a shell");
    let mut seen = String::new();
    assert!(
        until(&mut channel, &mut seen, "bastion:~$ ").await,
        "no prompt: {seen:?}"
    );
    channel.data(&b"ping -c 1 db1\r"[..]).await.expect("typed");
    seen.clear();
    assert!(
        until(&mut channel, &mut seen, "1 received").await,
        "no ping: {seen:?}"
    );
    assert!(until(&mut channel, &mut seen, "bastion:~$ ").await);
    Held {
        _handle: handle,
        channel,
    }
}

/// Reads until `text` has come; `false` if it did not.
async fn until(
    channel: &mut russh::Channel<russh::client::Msg>,
    seen: &mut String,
    text: &str,
) -> bool {
    let deadline = tokio::time::Instant::now() + ANSWER_WAIT;
    while !seen.contains(text) {
        match tokio::time::timeout_at(deadline, channel.wait()).await {
            Ok(Some(ChannelMsg::Data { data })) => seen.push_str(&String::from_utf8_lossy(&data)),
            Ok(Some(_)) => {}
            Ok(None) | Err(_) => return false,
        }
    }
    true
}

/// Starts the gateway; its process and port.
fn start(wirelab: &str, lab: &std::path::Path, dir: &std::path::Path) -> (Child, u16) {
    let mut child = Command::new(wirelab)
        .arg("ssh-gateway")
        .arg(lab)
        .args(["--listen", "127.0.0.1:0", "--from", "laptop"])
        .env("WIRELAB_STATE_DIR", dir.join("state"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("{wirelab}: {e} (cargo build --release -p wirelab first)"));
    match child.stdout.take().and_then(read_port) {
        Some(port) => (child, port),
        None => {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the gateway did not start");
        }
    }
}

/// The port of the gateway's `listening on ADDR` line; the rest of its
/// output is drained on a thread.
fn read_port(stdout: std::process::ChildStdout) -> Option<u16> {
    let mut out = BufReader::new(stdout);
    loop {
        let mut line = String::new();
        if out.read_line(&mut line).ok()? == 0 {
            return None;
        }
        if let Some(addr) = line.trim().strip_prefix("listening on ") {
            let addr: std::net::SocketAddr = addr.parse().ok()?;
            std::thread::spawn(move || {
                let mut sink = String::new();
                while out.read_line(&mut sink).is_ok_and(|n| n > 0) {
                    sink.clear();
                }
            });
            return Some(addr.port());
        }
    }
}

/// A number of `/proc/PID/status` (kB for memory).
fn status(pid: u32, field: &str) -> u64 {
    let text =
        std::fs::read_to_string(PathBuf::from(format!("/proc/{pid}/status"))).expect("/proc");
    text.lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .expect("the field")
}

fn lab_text(alice: &str) -> String {
    format!(
        "lab: ssh-sessions
networks:
  home: {{ cidr: 203.0.113.0/24 }}
  public: {{ cidr: 10.0.1.0/24 }}
  private: {{ cidr: 10.0.2.0/24 }}
routers:
  vpc: {{ interfaces: {{ home: 203.0.113.1, public: 10.0.1.1, private: 10.0.2.1 }} }}
hosts:
  laptop: {{ network: home, ip: 203.0.113.10 }}
  bastion: {{ network: public, ip: 10.0.1.10, services: [{{ port: 22, app: ssh }}] }}
  db1: {{ network: private, ip: 10.0.2.10, services: [{{ port: 22, app: ssh }}] }}
ssh:
  users:
    alice: {{ keys: [\"{alice}\"] }}
  hosts:
    bastion: {{ users: [alice] }}
    db1: {{ users: [alice] }}
"
    )
}
