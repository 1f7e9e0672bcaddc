//! `wirelab ssh-gateway` end to end: the real binary on a free loopback
//! port, with a lab whose users' keys are made in the test.
//!
//! - `openssh`: the OpenSSH client (`ssh -o BatchMode=yes`) with key pairs
//!   from `ssh-keygen`: permitted logins run commands; refused ones exit
//!   255 with the reason on standard error; garbage and half handshakes
//!   leave the gateway serving; the rate limit. Without OpenSSH these
//!   print a notice and pass, unless `WIRELAB_REQUIRE_OPENSSH=1`.
//! - `russh_client`: russh's client with keys it makes itself: an exec,
//!   and an interactive session under a pseudo-terminal.
//! - `start`: the entry host and the host key, without a client.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// A fresh directory for one test.
fn temp_dir(name: &str) -> PathBuf {
    static COUNT: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "wirelab-gateway-{name}-{}-{}",
        std::process::id(),
        COUNT.fetch_add(1, Ordering::SeqCst)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a temp dir");
    dir
}

/// The lab: laptop (the entry) → bastion → db1, db1 reachable by SSH only
/// from the bastion (security group `from-bastion`); alice may log in to
/// both, bob to the bastion only.
fn lab_text(alice_pub: &str, bob_pub: &str, gateway: bool) -> String {
    let entry = if gateway {
        "  gateway: { from: laptop }\n"
    } else {
        ""
    };
    format!(
        "lab: gateway-test
networks:
  home: {{ cidr: 203.0.113.0/24 }}
  public: {{ cidr: 10.0.1.0/24 }}
  private: {{ cidr: 10.0.2.0/24 }}
routers:
  vpc: {{ interfaces: {{ home: 203.0.113.1, public: 10.0.1.1, private: 10.0.2.1 }} }}
hosts:
  laptop: {{ network: home, ip: 203.0.113.10 }}
  bastion: {{ network: public, ip: 10.0.1.10, services: [{{ port: 22, app: ssh }}], security_groups: [ssh-in] }}
  db1: {{ network: private, ip: 10.0.2.10, services: [{{ port: 22, app: ssh }}], security_groups: [from-bastion] }}
security_groups:
  ssh-in: {{ inbound: [{{ proto: tcp, port: 22, from: 0.0.0.0/0 }}] }}
  from-bastion: {{ inbound: [{{ proto: tcp, port: 22, from: 10.0.1.10/32 }}, {{ proto: icmp, from: 10.0.0.0/8 }}] }}
ssh:
  users:
    alice: {{ keys: [\"{alice_pub}\"] }}
    bob: {{ keys: [\"{bob_pub}\"] }}
  hosts:
    bastion: {{ users: [alice, bob] }}
    db1: {{ users: [alice] }}
{entry}"
    )
}

/// A running gateway; killed when dropped.
struct Gateway {
    child: Child,
    port: u16,
    /// The first lines it printed.
    banner: String,
    stderr: PathBuf,
}

impl Gateway {
    fn start(dir: &Path, lab: &Path, extra: &[&str]) -> Gateway {
        let stderr = dir.join(format!("gateway-{}.err", extra.len()));
        let mut child = Command::new(env!("CARGO_BIN_EXE_wirelab"))
            .arg("ssh-gateway")
            .arg(lab)
            .args(["--listen", "127.0.0.1:0"])
            .args(extra)
            .env("WIRELAB_STATE_DIR", dir.join("state"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&stderr).expect("a stderr file"))
            .spawn()
            .expect("the binary runs");
        let mut out = BufReader::new(child.stdout.take().expect("stdout"));
        let mut banner = String::new();
        let port = loop {
            let mut line = String::new();
            let n = out.read_line(&mut line).expect("stdout is readable");
            assert!(
                n > 0,
                "the gateway ended before listening: {banner}\n{}",
                std::fs::read_to_string(&stderr).unwrap_or_default()
            );
            banner.push_str(&line);
            if let Some(addr) = line.trim().strip_prefix("listening on ") {
                let addr: std::net::SocketAddr = addr.parse().expect("an address");
                assert!(addr.ip().is_loopback(), "{addr}");
                break addr.port();
            }
        };
        // The rest of stdout is not read: keep the pipe open and drained.
        std::thread::spawn(move || {
            let mut sink = Vec::new();
            let _ = out.read_to_end(&mut sink);
        });
        Gateway {
            child,
            port,
            banner,
            stderr,
        }
    }

    fn alive(&mut self) -> bool {
        self.child
            .try_wait()
            .expect("the gateway's status")
            .is_none()
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs a command to its end, killing it after 60 s.
fn run(mut cmd: Command, input: &str) -> Output {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the command runs");
    let mut stdin = child.stdin.take().expect("stdin");
    stdin.write_all(input.as_bytes()).expect("stdin is written");
    drop(stdin);
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().expect("a status").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the command ran for more than 60 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().expect("the output")
}

mod openssh {
    use super::*;

    /// Whether `ssh` and `ssh-keygen` are here; panics when they are
    /// required and missing.
    fn available() -> bool {
        let found = ["ssh", "ssh-keygen"].iter().all(|p| {
            Command::new(p)
                .arg("-V")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok()
        });
        if !found {
            assert!(
                std::env::var("WIRELAB_REQUIRE_OPENSSH").as_deref() != Ok("1"),
                "WIRELAB_REQUIRE_OPENSSH=1 but ssh or ssh-keygen is missing (apt install openssh-client)"
            );
            eprintln!("note: OpenSSH (ssh, ssh-keygen) not found; gateway tests with it skipped");
        }
        found
    }

    /// A key pair made by `ssh-keygen`: the private key's path and the
    /// public key's line.
    fn keygen(dir: &Path, name: &str) -> (PathBuf, String) {
        let path = dir.join(name);
        let status = Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-C"])
            .arg(format!("{name}@test"))
            .arg("-f")
            .arg(&path)
            .status()
            .expect("ssh-keygen runs");
        assert!(status.success());
        let public = std::fs::read_to_string(path.with_extension("pub")).expect("the .pub");
        (path, public.trim().to_string())
    }

    struct Setup {
        dir: PathBuf,
        alice: PathBuf,
        bob: PathBuf,
        stranger: PathBuf,
        gateway: Gateway,
    }

    fn setup(name: &str) -> Option<Setup> {
        if !available() {
            return None;
        }
        let dir = temp_dir(name);
        let (alice, alice_pub) = keygen(&dir, "alice");
        let (bob, bob_pub) = keygen(&dir, "bob");
        let (stranger, _) = keygen(&dir, "stranger");
        let lab = dir.join("lab.yaml");
        std::fs::write(&lab, lab_text(&alice_pub, &bob_pub, true)).expect("the lab");
        let gateway = Gateway::start(&dir, &lab, &[]);
        Some(Setup {
            dir,
            alice,
            bob,
            stranger,
            gateway,
        })
    }

    /// `ssh` as a script would run it: no agent, no config, no prompts,
    /// only the given key.
    fn ssh(port: u16, key: &Path, user: &str, command: Option<&str>) -> Output {
        let mut cmd = Command::new("ssh");
        cmd.args(["-F", "/dev/null", "-o", "BatchMode=yes"])
            .args(["-o", "StrictHostKeyChecking=no"])
            .args(["-o", "UserKnownHostsFile=/dev/null"])
            .args(["-o", "IdentitiesOnly=yes", "-o", "ConnectTimeout=20"])
            .arg("-i")
            .arg(key)
            .arg("-p")
            .arg(port.to_string())
            .arg(format!("{user}@127.0.0.1"))
            .env_remove("SSH_AUTH_SOCK");
        if let Some(c) = command {
            cmd.arg(c);
        }
        run(cmd, "")
    }

    fn text(bytes: &[u8]) -> String {
        String::from_utf8_lossy(bytes).into_owned()
    }

    #[test]
    fn a_permitted_login_runs_commands() {
        let Some(s) = setup("permitted") else { return };
        let port = s.gateway.port;
        let o = ssh(port, &s.alice, "alice+bastion", Some("ip addr"));
        let out = text(&o.stdout);
        assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
        assert!(
            out.contains("inet 10.0.1.10/24 brd 10.0.1.255 scope global eth0"),
            "{out}"
        );
        assert!(!out.contains("10.0.2.10"), "{out}");

        let o = ssh(port, &s.alice, "alice+bastion", Some("ping -c 2 db1"));
        let out = text(&o.stdout);
        assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
        assert!(
            out.starts_with("PING db1 (10.0.2.10) 56(84) bytes of data.\n"),
            "{out}"
        );
        assert!(
            out.contains("2 packets transmitted, 2 received, 0% packet loss"),
            "{out}"
        );

        // Through the bastion, db1 lets alice in; several commands, and
        // the exit status of the last.
        let o = ssh(port, &s.alice, "alice+bastion+db1", Some("ip addr; exit 3"));
        let out = text(&o.stdout);
        assert_eq!(o.status.code(), Some(3), "{}", text(&o.stderr));
        assert!(out.contains("inet 10.0.2.10/24"), "{out}");

        // `ssh` inside the session logs in as alice and moves the shell.
        let o = ssh(port, &s.alice, "alice+bastion", Some("ssh db1; ip -4 addr"));
        let out = text(&o.stdout);
        assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
        assert!(
            out.starts_with("(simulated) alice logged in to db1"),
            "{out}"
        );
        assert!(out.contains("inet 10.0.2.10/24"), "{out}");

        // Commands piped to a shell without a terminal: no prompt.
        let mut cmd = Command::new("ssh");
        cmd.args(["-F", "/dev/null", "-o", "BatchMode=yes", "-T"])
            .args([
                "-o",
                "StrictHostKeyChecking=no",
                "-o",
                "UserKnownHostsFile=/dev/null",
            ])
            .args(["-o", "IdentitiesOnly=yes", "-i"])
            .arg(&s.alice)
            .args(["-p", &port.to_string(), "alice+bastion@127.0.0.1"])
            .env_remove("SSH_AUTH_SOCK");
        let o = run(cmd, "uptime\necho $?\n");
        assert_eq!(
            text(&o.stdout),
            " 00:00:00 up 0 min,  1 user,  load average: 0.00, 0.00, 0.00\n0\n"
        );
        // OpenSSH with a pseudo-terminal (-tt): the prompt, the echo, CR LF,
        // and `exit 5`'s status. What is typed comes in one piece here.
        let mut cmd = Command::new("ssh");
        cmd.args(["-F", "/dev/null", "-o", "BatchMode=yes", "-tt"])
            .args([
                "-o",
                "StrictHostKeyChecking=no",
                "-o",
                "UserKnownHostsFile=/dev/null",
            ])
            .args(["-o", "IdentitiesOnly=yes", "-o", "LogLevel=ERROR", "-i"])
            .arg(&s.alice)
            .args(["-p", &port.to_string(), "alice+bastion+db1@127.0.0.1"])
            .env_remove("SSH_AUTH_SOCK");
        let o = run(cmd, "uptime\rexit 5\r");
        let out = text(&o.stdout);
        assert_eq!(o.status.code(), Some(5), "{out}{}", text(&o.stderr));
        assert!(
            out.contains("db1:~$ uptime\r\n 00:00:00 up 0 min,  1 user,  load average: 0.00, 0.00, 0.00\r\ndb1:~$ exit 5\r\n"),
            "{out:?}"
        );
        assert!(s
            .gateway
            .log()
            .contains("`alice+bastion`: logged in with SHA256:"));
    }

    /// Every refusal: status 255, nothing on stdout, the reason on stderr.
    #[test]
    fn refusals_say_why() {
        let Some(s) = setup("refused") else { return };
        let port = s.gateway.port;
        let cases: [(&Path, &str, &[&str]); 5] = [
            (
                &s.stranger,
                "alice+bastion",
                &[
                    "wirelab: this key (ED25519 SHA256:",
                    "is not one of alice's keys in the lab",
                ],
            ),
            (
                &s.bob,
                "bob+bastion+db1",
                &[
                    "wirelab: bob may not log in to db1:",
                    "db1 does not let bob in",
                ],
            ),
            (
                &s.alice,
                "alice+db1",
                &[
                    "wirelab: alice may not log in to db1: laptop -> db1:22:",
                    "security groups (from-bastion)",
                ],
            ),
            (
                &s.alice,
                "alice+db9",
                &["wirelab: `db9` is not a host of lab gateway-test (did you mean `db1`?)"],
            ),
            (
                &s.alice,
                "alice",
                &[
                    "wirelab: name the lab host in the user name: alice+HOST",
                    "bastion, db1",
                ],
            ),
        ];
        for (key, user, wanted) in cases {
            let o = ssh(port, key, user, Some("ip addr"));
            let err = text(&o.stderr);
            assert_eq!(o.status.code(), Some(255), "{user}: {err}");
            assert_eq!(text(&o.stdout), "", "{user}");
            for w in wanted {
                assert!(err.contains(w), "{user}: `{w}` not in: {err}");
            }
        }
        // No key at all: the only method offered is publickey (never a
        // password), and OpenSSH lists what the server offers.
        let mut cmd = Command::new("ssh");
        cmd.args(["-F", "/dev/null", "-o", "BatchMode=yes"])
            .args([
                "-o",
                "StrictHostKeyChecking=no",
                "-o",
                "UserKnownHostsFile=/dev/null",
            ])
            .args([
                "-o",
                "PubkeyAuthentication=no",
                "-o",
                "PasswordAuthentication=yes",
            ])
            .args([
                "-o",
                "KbdInteractiveAuthentication=yes",
                "-p",
                &port.to_string(),
            ])
            .args(["alice+bastion@127.0.0.1", "ip addr"])
            .env_remove("SSH_AUTH_SOCK");
        let o = run(cmd, "");
        assert_eq!(o.status.code(), Some(255));
        assert!(
            text(&o.stderr).contains("alice+bastion@127.0.0.1: Permission denied (publickey)."),
            "{}",
            text(&o.stderr)
        );
        // A key that is someone's, for a user who is not its owner.
        let o = ssh(port, &s.bob, "alice+bastion", Some("ip addr"));
        assert_eq!(o.status.code(), Some(255));
        assert!(text(&o.stderr).contains("is not one of alice's keys"));
        let _ = &s.dir;
    }

    #[test]
    fn garbage_and_half_handshakes_leave_it_serving() {
        let Some(mut s) = setup("garbage") else {
            return;
        };
        let port = s.gateway.port;
        let connect = || {
            let c = TcpStream::connect(("127.0.0.1", port)).expect("a connection");
            c.set_read_timeout(Some(Duration::from_secs(40))).unwrap();
            c
        };
        // Not SSH at all: the gateway says who it is, then hangs up.
        let mut c = connect();
        c.write_all(b"GET / HTTP/1.0\r\n\r\n\x00\xff\xfe garbage \x01\x02\r\n")
            .unwrap();
        let mut got = Vec::new();
        let _ = c.read_to_end(&mut got);
        assert!(got.starts_with(b"SSH-2.0-wirelab_"), "{:?}", text(&got));
        // Binary noise after a valid identification line.
        let mut c = connect();
        c.write_all(b"SSH-2.0-test\r\n").unwrap();
        c.write_all(&[0xff; 4096]).unwrap();
        let _ = c.read_to_end(&mut got);
        // A client that goes away in the middle of the key exchange.
        for _ in 0..5 {
            let mut c = connect();
            c.write_all(b"SSH-2.0-OpenSSH_9.2\r\n\x00\x00\x01").unwrap();
            drop(c);
        }
        // One that connects and says nothing, left open.
        let _silent = connect();
        assert!(s.gateway.alive());
        let o = ssh(port, &s.alice, "alice+bastion", Some("ip addr"));
        assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
        assert!(text(&o.stdout).contains("inet 10.0.1.10/24"));
        assert!(s.gateway.alive());
    }

    #[test]
    fn failed_logins_are_rate_limited() {
        let Some(s) = setup("rate") else { return };
        let port = s.gateway.port;
        for i in 0..10 {
            let o = ssh(port, &s.stranger, "alice+bastion", Some("ip addr"));
            let err = text(&o.stderr);
            assert_eq!(o.status.code(), Some(255));
            assert!(
                err.contains("is not one of alice's keys"),
                "failure {i}: {err}"
            );
        }
        // Now even the right key is refused, with a reason.
        let o = ssh(port, &s.alice, "alice+bastion", Some("ip addr"));
        let err = text(&o.stderr);
        assert_eq!(o.status.code(), Some(255), "{err}");
        assert!(
            err.contains("wirelab: too many failed logins from 127.0.0.1 (at most 10 a minute); try again in"),
            "{err}"
        );
    }
}

mod russh_client {
    use std::sync::Arc;

    use russh::keys::{Algorithm, PrivateKey, PrivateKeyWithHashAlg};
    use russh::ChannelMsg;

    use super::*;

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

    fn key() -> PrivateKey {
        PrivateKey::random(&mut rand::rng(), Algorithm::Ed25519).expect("a key")
    }

    fn public(key: &PrivateKey) -> String {
        key.public_key().to_openssh().expect("the public key")
    }

    /// A gateway for a lab whose alice has `alice`'s key.
    fn gateway(name: &str, alice: &PrivateKey) -> (PathBuf, Gateway) {
        let dir = temp_dir(name);
        let lab = dir.join("lab.yaml");
        std::fs::write(&lab, lab_text(&public(alice), &public(&key()), true)).unwrap();
        let gw = Gateway::start(&dir, &lab, &[]);
        (dir, gw)
    }

    async fn log_in(
        port: u16,
        user: &str,
        key: &PrivateKey,
    ) -> (russh::client::Handle<Client>, bool) {
        let config = Arc::new(russh::client::Config::default());
        let mut handle = russh::client::connect(config, ("127.0.0.1", port), Client)
            .await
            .expect("the handshake");
        let key = PrivateKeyWithHashAlg::new(Arc::new(key.clone()), None);
        let auth = handle
            .authenticate_publickey(user, key)
            .await
            .expect("an answer");
        (handle, auth.success())
    }

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    #[test]
    fn exec_runs_and_ends_with_the_status() {
        let alice = key();
        let (_dir, gw) = gateway("russh-exec", &alice);
        runtime().block_on(async {
            let (handle, ok) = log_in(gw.port, "alice+bastion", &alice).await;
            assert!(ok);
            let mut channel = handle.channel_open_session().await.unwrap();
            channel
                .exec(true, "ip -4 addr; ping -c 2 db1")
                .await
                .unwrap();
            let (mut out, mut status) = (Vec::new(), None);
            while let Some(msg) = channel.wait().await {
                match msg {
                    ChannelMsg::Data { data } => out.extend_from_slice(&data),
                    ChannelMsg::ExitStatus { exit_status } => status = Some(exit_status),
                    _ => {}
                }
            }
            let out = String::from_utf8(out).unwrap();
            assert_eq!(status, Some(0));
            assert!(out.contains("inet 10.0.1.10/24"), "{out}");
            assert!(out.contains("2 received"), "{out}");

            // Another user's key, or a stranger's: no.
            let (_, ok) = log_in(gw.port, "alice+bastion", &key()).await;
            assert!(!ok);
            let (_, ok) = log_in(gw.port, "alice+db1", &alice).await;
            assert!(!ok);
        });
    }

    /// Reads the channel until `text` has come; everything read.
    async fn until(
        channel: &mut russh::Channel<russh::client::Msg>,
        seen: &mut String,
        text: &str,
    ) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        while !seen.contains(text) {
            let msg = tokio::time::timeout_at(deadline, channel.wait())
                .await
                .unwrap_or_else(|_| panic!("no `{text}` in: {seen:?}"));
            match msg {
                Some(ChannelMsg::Data { data }) => seen.push_str(&String::from_utf8_lossy(&data)),
                Some(_) => {}
                None => panic!("the channel closed before `{text}`: {seen:?}"),
            }
        }
    }

    #[test]
    fn an_interactive_session_edits_lines() {
        let alice = key();
        let (_dir, gw) = gateway("russh-pty", &alice);
        runtime().block_on(async {
            let (handle, ok) = log_in(gw.port, "alice+bastion", &alice).await;
            assert!(ok);
            let mut channel = handle.channel_open_session().await.unwrap();
            channel
                .request_pty(true, "xterm", 80, 24, 0, 0, &[])
                .await
                .unwrap();
            channel.request_shell(true).await.unwrap();
            let mut seen = String::new();
            until(&mut channel, &mut seen, "bastion:~$ ").await;
            assert!(seen.starts_with("wirelab shell on bastion (lab gateway-test, simulated)"));
            assert!(seen.contains("\r\n"), "{seen:?}");
            // A typo erased with backspace; the echo and the output have
            // CR LF line ends.
            seen.clear();
            channel.data(&b"ip addx\x7fr\r"[..]).await.unwrap();
            until(
                &mut channel,
                &mut seen,
                "valid_lft forever preferred_lft forever\r\nbastion:~$ ",
            )
            .await;
            assert!(seen.starts_with("ip addx\x08 \x08r\r\n1: lo:"), "{seen:?}");
            assert!(seen.contains("inet 10.0.1.10/24"), "{seen:?}");
            // Ctrl-C drops a line; the up arrow brings back the last one.
            seen.clear();
            channel.data(&b"nonsense\x03"[..]).await.unwrap();
            until(&mut channel, &mut seen, "^C\r\nbastion:~$ ").await;
            seen.clear();
            channel.data(&b"echo hi\r\x1b[A\r"[..]).await.unwrap();
            until(
                &mut channel,
                &mut seen,
                "hi\r\nbastion:~$ echo hi\r\nhi\r\nbastion:~$ ",
            )
            .await;
            // `exit` ends the session with its status.
            channel.data(&b"exit 4\r"[..]).await.unwrap();
            let mut status = None;
            while let Some(msg) = channel.wait().await {
                if let ChannelMsg::ExitStatus { exit_status } = msg {
                    status = Some(exit_status);
                }
            }
            assert_eq!(status, Some(4));
        });
    }
}

mod start {
    use super::*;

    fn some_key() -> &'static str {
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOoxdgdd4YDiZ+Bp1qj+k2msT4Ao3IQEBF8beWHFek8i a@b"
    }

    #[test]
    fn without_an_entry_host_it_says_both_ways() {
        let dir = temp_dir("no-entry");
        let lab = dir.join("lab.yaml");
        std::fs::write(&lab, lab_text(some_key(), some_key(), false)).unwrap();
        let o = Command::new(env!("CARGO_BIN_EXE_wirelab"))
            .arg("ssh-gateway")
            .arg(&lab)
            .env("WIRELAB_STATE_DIR", dir.join("state"))
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{err}");
        assert!(
            err.contains("--from HOST") && err.contains("ssh: { gateway: { from: HOST } }"),
            "{err}"
        );
        let o = Command::new(env!("CARGO_BIN_EXE_wirelab"))
            .arg("ssh-gateway")
            .arg(&lab)
            .args(["--from", "laptp"])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{err}");
        assert!(
            err.contains("`laptp` is not a host of lab gateway-test (did you mean `laptop`?)"),
            "{err}"
        );
    }

    #[test]
    fn the_host_key_is_made_once_and_kept() {
        let dir = temp_dir("host-key");
        let lab = dir.join("lab.yaml");
        std::fs::write(&lab, lab_text(some_key(), some_key(), false)).unwrap();
        let fingerprint = |banner: &str| {
            banner
                .lines()
                .find_map(|l| l.strip_prefix("host key: "))
                .expect("a host key line")
                .to_string()
        };
        let first = Gateway::start(&dir, &lab, &["--from", "laptop"]);
        let made = fingerprint(&first.banner);
        drop(first);
        let key = dir.join("state/ssh_host_ed25519_key");
        assert!(
            made.starts_with(&format!("{} (ED25519 SHA256:", key.display())),
            "{made}"
        );
        assert!(made.ends_with(", made now)"), "{made}");
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let second = Gateway::start(&dir, &lab, &["--from", "laptop"]);
        let kept = fingerprint(&second.banner);
        assert_eq!(kept, made.replace(", made now", ""));
    }
}
