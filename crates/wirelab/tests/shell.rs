//! `wirelab shell` end to end.
//!
//! - `piped`: commands piped into the binary, one per line, on the labs
//!   of the repository; what each tool prints, and the state one session
//!   keeps between commands (neighbours, the resolver's cache, the clock).
//! - `pty`: the shell under a real pseudo-terminal (tmux), typed into as a
//!   person would, history recalled with the up arrow. Without tmux these
//!   tests print a notice and pass, unless `WIRELAB_REQUIRE_TMUX=1`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn lab(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../labs")
        .join(name)
        .to_string_lossy()
        .into_owned()
}

const LAB_01: &str = "01-one-router.yaml";
const LAB_02: &str = "02-static-routing.yaml";
const LAB_07: &str = "07-what-happens-when-you-type-a-url.yaml";
const LAB_10: &str = "10-https-three-tier.yaml";

/// Runs `script` in a shell on `host` of `lab_path`: stdout and the exit
/// status.
fn shell_at(lab_path: &str, host: &str, script: &str) -> (String, Option<i32>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_wirelab"))
        .args(["shell", lab_path, "--host", host])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(script.as_bytes())
        .expect("the script is written");
    let o = child.wait_with_output().expect("the shell ends");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.is_empty(), "stderr: {err}");
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        o.status.code(),
    )
}

fn shell(lab_name: &str, host: &str, script: &str) -> String {
    shell_at(&lab(lab_name), host, script).0
}

/// The output and exit status of each command, run one after the other
/// in one session (split on a marker echoed after each, with `$?`).
fn run_each(lab_name: &str, host: &str, commands: &[&str]) -> (Vec<String>, Vec<u8>) {
    const MARK: &str = "@@@";
    let script: String = commands
        .iter()
        .map(|c| format!("{c}\necho {MARK} $?\n"))
        .collect();
    let out = shell(lab_name, host, &script);
    let (mut texts, mut statuses) = (Vec::new(), Vec::new());
    let mut text = String::new();
    for line in out.split_inclusive('\n') {
        match line.strip_prefix(MARK) {
            Some(status) => {
                texts.push(std::mem::take(&mut text));
                statuses.push(status.trim().parse().expect("a status"));
            }
            None => text.push_str(line),
        }
    }
    assert_eq!(texts.len(), commands.len(), "{out}");
    (texts, statuses)
}

/// The output of each command.
fn outputs(lab_name: &str, host: &str, commands: &[&str]) -> Vec<String> {
    run_each(lab_name, host, commands).0
}

/// A lab file written for one test, removed when dropped.
struct TempLab(PathBuf);

impl TempLab {
    fn new(name: &str, yaml: &str) -> TempLab {
        let path =
            std::env::temp_dir().join(format!("wirelab-shell-{}-{name}.yaml", std::process::id()));
        std::fs::write(&path, yaml).expect("the lab is written");
        TempLab(path)
    }

    fn path(&self) -> String {
        self.0.to_string_lossy().into_owned()
    }
}

impl Drop for TempLab {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

mod piped {
    use super::*;

    #[test]
    fn ping_prints_replies_with_ttls_and_statistics() {
        let out = shell(LAB_01, "client", "ping -c 3 server\n");
        assert!(
            out.starts_with("PING server (10.0.2.20) 56(84) bytes of data.\n"),
            "{out}"
        );
        for seq in 1..=3 {
            // One router on the way: the reply's TTL is 64 - 1.
            let prefix = format!("64 bytes from server (10.0.2.20): icmp_seq={seq} ttl=63 time=");
            assert!(out.contains(&prefix), "{out}");
        }
        assert!(out.contains(
            "\n--- server ping statistics ---\n3 packets transmitted, 3 received, 0% packet loss, time 2000ms\nrtt min/avg/max/mdev = "
        ), "{out}");
        // By address, no names; the gateway itself is one hop: TTL 64.
        let out = shell(LAB_01, "client", "ping -c 1 10.0.1.1\n");
        assert!(
            out.contains("64 bytes from 10.0.1.1: icmp_seq=1 ttl=64 time="),
            "{out}"
        );
    }

    #[test]
    fn ping_reports_the_routers_unreachable_and_exits_1() {
        let out = shell(LAB_01, "client", "ping -c 2 10.0.2.99\necho status $?\n");
        assert!(out.contains("From 10.0.1.1 icmp_seq=1 Destination Host Unreachable\nFrom 10.0.1.1 icmp_seq=2 Destination Host Unreachable\n"), "{out}");
        assert!(
            out.contains("2 packets transmitted, 0 received, +2 errors, 100% packet loss"),
            "{out}"
        );
        assert!(!out.contains("rtt min"), "{out}");
        assert!(out.ends_with("status 1\n"), "{out}");
    }

    #[test]
    fn ping_mistakes_print_the_usage() {
        let out = outputs(LAB_01, "client", &["ping", "ping -x server", "ping nosuch"]);
        assert!(out[0].starts_with("ping: usage error: Destination address required\nUsage: ping"));
        assert!(out[1].starts_with("ping: invalid option -- 'x'\nUsage: ping"));
        assert_eq!(out[2], "ping: nosuch: Name or service not known\n");
    }

    #[test]
    fn traceroute_lists_the_routers_of_each_path() {
        let out = shell(
            LAB_02,
            "hq-pc",
            "traceroute branch-web\ntraceroute -n lab-pc\n",
        );
        let hops: Vec<&str> = out
            .lines()
            .filter(|l| l.starts_with(' '))
            .map(|l| l.split("  ").nth(1).unwrap_or(""))
            .collect();
        assert_eq!(
            hops,
            [
                // The fast path through west...
                "hq (10.1.0.1)",
                "west (10.0.12.2)",
                "branch (10.0.24.2)",
                "branch-web (10.2.0.10)",
                // ...and the covering /16 through east, without names.
                "10.1.0.1",
                "10.0.13.2",
                "10.0.34.2",
                "10.2.1.10",
            ],
            "{out}"
        );
        assert!(out.starts_with("traceroute to branch-web (10.2.0.10), 30 hops max, 60 byte packets\n 1  hq (10.1.0.1)  "), "{out}");
        // Three probes a hop, each with its time.
        let first = out.lines().nth(1).unwrap();
        assert_eq!(first.matches(" ms").count(), 3, "{first}");
    }

    #[test]
    fn traceroute_prints_stars_where_nothing_answers() {
        // Lab 01 with a security group on the server that lets only
        // tcp/80 in: the UDP probes that reach it are dropped silently.
        let yaml = std::fs::read_to_string(lab(LAB_01)).unwrap();
        let yaml = yaml.split("\nchecks:").next().unwrap().replace(
            "    ip: 10.0.2.20\n",
            "    ip: 10.0.2.20\n    security_groups: [web]\n",
        ) + "\nsecurity_groups:\n  web:\n    inbound: [{ proto: tcp, port: 80, from: 0.0.0.0/0 }]\n";
        let lab = TempLab::new("stars", &yaml);
        let (out, _) = shell_at(&lab.path(), "client", "traceroute -m 4 server\nuptime\n");
        let lines: Vec<&str> = out.lines().collect();
        assert!(lines[1].starts_with(" 1  r1 (10.0.1.1)  "), "{out}");
        assert_eq!(
            &lines[2..5],
            [" 2  * * *", " 3  * * *", " 4  * * *"],
            "{out}"
        );
        // Each silent hop waited 5 s for its probes.
        assert!(lines[5].starts_with(" 00:00:15 up 0 min"), "{out}");
    }

    #[test]
    fn dig_answers_and_the_second_comes_from_the_cache() {
        let out = outputs(
            LAB_07,
            "laptop",
            &[
                "dig www.example.com",
                "dig www.example.com",
                "dig example.com MX +short",
            ],
        );
        let time = |text: &str| -> u64 {
            text.lines()
                .find_map(|l| l.strip_prefix(";; Query time: "))
                .and_then(|t| t.strip_suffix(" msec"))
                .and_then(|t| t.parse().ok())
                .unwrap_or_else(|| panic!("no query time in {text}"))
        };
        assert!(
            out[0].contains("www.example.com.\t300\tIN\tA\t203.0.113.80\n"),
            "{}",
            out[0]
        );
        assert!(
            time(&out[1]) < time(&out[0]),
            "{} then {}",
            time(&out[0]),
            time(&out[1])
        );
        assert_eq!(out[2], "10 mail.example.com.\n");
    }

    #[test]
    fn nslookup_prints_the_classic_form() {
        let (out, status) = run_each(
            LAB_07,
            "laptop",
            &["nslookup shop.example.com", "nslookup nosuch.example.com"],
        );
        assert_eq!(
            out[0],
            "Server:\t\t100.64.0.53\nAddress:\t100.64.0.53#53\n\nNon-authoritative answer:\nshop.example.com\tcanonical name = www.example.com.\nName:\twww.example.com\nAddress: 203.0.113.80\n\n"
        );
        assert_eq!(
            out[1],
            "Server:\t\t100.64.0.53\nAddress:\t100.64.0.53#53\n\n** server can't find nosuch.example.com: NXDOMAIN\n\n"
        );
        assert_eq!(status, [0, 1]);
    }

    #[test]
    fn a_host_without_a_resolver_cannot_look_names_up() {
        let out = outputs(
            LAB_01,
            "client",
            &["dig example.com", "nslookup example.com"],
        );
        assert!(
            out[0].starts_with("dig: host `client` has no `resolver:`"),
            "{}",
            out[0]
        );
        assert!(
            out[1].starts_with("nslookup: host `client` has no `resolver:`"),
            "{}",
            out[1]
        );
    }

    #[test]
    fn curl_prints_bodies_statuses_and_errors() {
        let (out, status) = run_each(
            LAB_10,
            "laptop",
            &[
                "curl https://shop.example.com/health",
                "curl -s -o /dev/null -w '%{http_code}\\n' https://shop.example.com/admin",
                "curl -s -w '%{http_code}\\n' https://shop.example.com/admin",
                "curl -i https://shop.example.com/health",
                "curl https://api.example.com/",
                "curl -s https://api.example.com/",
                "curl http://nosuch.example.com/",
            ],
        );
        assert_eq!(out[0], "ok\n");
        assert!(
            out[1].starts_with("curl: option -o: is unknown"),
            "{}",
            out[1]
        );
        assert!(out[2].ends_with("403\n"), "{}", out[2]);
        assert!(out[3].starts_with("HTTP/1.1 200 OK\n"), "{}", out[3]);
        assert!(
            out[3].ends_with("Content-Length: 2\nConnection: close\n\nok\n"),
            "{}",
            out[3]
        );
        assert!(out[4].starts_with("curl: (60) SSL: no alternative certificate subject name matches target host name 'api.example.com'"), "{}", out[4]);
        assert_eq!(out[5], "", "-s hides the error");
        assert_eq!(
            out[6],
            "curl: (6) Could not resolve host: nosuch.example.com\n"
        );
        assert_eq!(status, [0, 2, 0, 0, 60, 60, 6]);
    }

    #[test]
    fn nc_says_succeeded_refused_or_timed_out() {
        let (out, status) = run_each(
            LAB_01,
            "client",
            &[
                "nc -zv server 80",
                "nc -zv server 8080",
                "nc -zv -w 2 10.0.2.99 22",
                "nc -z server 80",
                "nc -zuv server 53",
                "nc -zuv server 123",
            ],
        );
        assert_eq!(
            out[0],
            "Connection to server 80 port [tcp/http] succeeded!\n"
        );
        assert_eq!(
            out[1],
            "nc: connect to server port 8080 (tcp) failed: Connection refused\n"
        );
        assert_eq!(
            out[2],
            "nc: connect to 10.0.2.99 port 22 (tcp) timed out: Operation now in progress\n"
        );
        // Without -v nc says nothing; the status tells.
        assert_eq!(out[3], "");
        assert_eq!(
            out[4],
            "Connection to server 53 port [udp/domain] succeeded!\n"
        );
        assert_eq!(
            out[5],
            "nc: connect to server port 123 (udp) failed: Connection refused\n"
        );
        assert_eq!(status, [0, 1, 1, 0, 0, 1]);
    }

    #[test]
    fn ip_shows_addresses_routes_and_the_neighbours_a_ping_left() {
        let out = outputs(
            LAB_01,
            "client",
            &[
                "ip addr",
                "ip route",
                "ip neigh",
                "ping -c 1 server",
                "ip neigh",
            ],
        );
        assert!(
            out[0].starts_with("1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536"),
            "{}",
            out[0]
        );
        assert!(out[0].contains("2: eth0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc fq_codel state UP group default qlen 1000\n    link/ether 02:00:00:00:00:03 brd ff:ff:ff:ff:ff:ff\n    inet 10.0.1.10/24 brd 10.0.1.255 scope global eth0\n"), "{}", out[0]);
        assert_eq!(out[1], "default via 10.0.1.1 dev eth0\n10.0.1.0/24 dev eth0 proto kernel scope link src 10.0.1.10\n");
        assert_eq!(out[2], "", "an empty cache at the start");
        assert_eq!(
            out[4],
            "10.0.1.1 dev eth0 lladdr 02:00:00:00:00:01 REACHABLE\n"
        );
    }

    #[test]
    fn ss_lists_listening_sockets_dns_on_both_protocols() {
        let out = shell(LAB_01, "server", "ss -tlnu\n");
        let rows: Vec<Vec<&str>> = out
            .lines()
            .map(|l| l.split_whitespace().collect())
            .collect();
        assert_eq!(
            rows[0],
            [
                "Netid",
                "State",
                "Recv-Q",
                "Send-Q",
                "Local",
                "Address:Port",
                "Peer",
                "Address:Port"
            ]
        );
        assert_eq!(
            rows[1..],
            [
                vec!["udp", "UNCONN", "0", "0", "0.0.0.0:53", "0.0.0.0:*"],
                vec!["tcp", "LISTEN", "0", "4096", "0.0.0.0:22", "0.0.0.0:*"],
                vec!["tcp", "LISTEN", "0", "4096", "0.0.0.0:53", "0.0.0.0:*"],
                vec!["tcp", "LISTEN", "0", "4096", "0.0.0.0:80", "0.0.0.0:*"],
            ]
        );
    }

    #[test]
    fn unknown_commands_ssh_help_and_exit() {
        let (out, code) = shell_at(
            &lab(LAB_01),
            "client",
            "pnig server\necho $?\nssh server\nhelp\nexit 3\nping server\n",
        );
        // Lab 01 declares no ssh users: ssh says whom it could log in as.
        assert!(out.starts_with("client: command not found: pnig\ndid you mean `ping`?\n127\nssh: say who logs in: USER@server (the lab's users: none)\n"), "{out}");
        assert!(
            out.contains("ssh [-J [USER@]JUMP,...] USER@HOST          log in to another host"),
            "{out}"
        );
        assert!(!out.contains("PING"), "nothing runs after exit: {out}");
        assert_eq!(code, Some(3));
    }

    #[test]
    fn the_clock_moves_as_the_tools_take_time() {
        let out = outputs(
            LAB_01,
            "client",
            &[
                "uptime",
                "ping -c 3 server",
                "uptime",
                "nc -zv -w 5 10.0.2.99 80",
                "uptime",
            ],
        );
        assert!(out[0].starts_with(" 00:00:00 up 0 min,"), "{}", out[0]);
        // Three echoes a second apart, the last reply under a millisecond later.
        assert!(out[2].starts_with(" 00:00:02 up 0 min,"), "{}", out[2]);
        // r1 gives up on ARP for 10.0.2.99 after 3 s and says so: nc
        // hears "no route to host" before its 5 s are up.
        assert_eq!(
            out[3],
            "nc: connect to 10.0.2.99 port 80 (tcp) failed: No route to host\n"
        );
        assert!(out[4].starts_with(" 00:00:05 up 0 min,"), "{}", out[4]);
    }

    #[test]
    fn the_same_commands_print_the_same_text() {
        let script = "ping -c 2 shop.example.com\ndig www.example.com\ntraceroute www.example.com\ncurl -w '%{time_total}\\n' http://shop.example.com/\n";
        let first = shell(LAB_07, "laptop", script);
        assert_eq!(first, shell(LAB_07, "laptop", script));
        assert!(
            first.contains("PING shop.example.com (203.0.113.80)"),
            "{first}"
        );
    }
}

mod pty {
    use super::*;
    use std::time::{Duration, Instant};

    /// A tmux server of our own (its own socket), killed when dropped.
    struct Tmux {
        socket: String,
    }

    impl Tmux {
        fn run(&self, args: &[&str]) -> std::process::Output {
            Command::new("tmux")
                .arg("-L")
                .arg(&self.socket)
                .args(args)
                .env("TERM", "xterm-256color")
                .output()
                .expect("tmux runs")
        }

        fn screen(&self) -> String {
            let o = self.run(&["capture-pane", "-p", "-t", "t", "-S", "-200"]);
            String::from_utf8_lossy(&o.stdout).into_owned()
        }

        /// Waits (wall clock, at most 20 s) until the screen satisfies
        /// `ok`, and returns it.
        fn wait_for(&self, what: &str, ok: impl Fn(&str) -> bool) -> String {
            let deadline = Instant::now() + Duration::from_secs(20);
            loop {
                let screen = self.screen();
                if ok(&screen) {
                    return screen;
                }
                assert!(
                    Instant::now() < deadline,
                    "waited for {what}; the screen:\n{screen}"
                );
                std::thread::sleep(Duration::from_millis(50));
            }
        }

        fn alive(&self) -> bool {
            self.run(&["has-session", "-t", "t"]).status.success()
        }
    }

    impl Drop for Tmux {
        fn drop(&mut self) {
            let _ = self.run(&["kill-server"]);
        }
    }

    fn tmux_missing() -> bool {
        let found = Command::new("tmux")
            .arg("-V")
            .output()
            .is_ok_and(|o| o.status.success());
        if found {
            return false;
        }
        if std::env::var("WIRELAB_REQUIRE_TMUX").as_deref() == Ok("1") {
            panic!("tmux is missing and WIRELAB_REQUIRE_TMUX=1");
        }
        eprintln!("notice: tmux is missing, the pseudo-terminal test of `wirelab shell` is skipped (apt-get install tmux)");
        true
    }

    #[test]
    fn a_person_types_ping_recalls_it_with_the_up_arrow_and_exits() {
        if tmux_missing() {
            return;
        }
        let tmux = Tmux {
            socket: format!("wirelab-shell-test-{}", std::process::id()),
        };
        let command = format!(
            "{} shell {} --host client",
            env!("CARGO_BIN_EXE_wirelab"),
            lab(LAB_01)
        );
        let o = tmux.run(&[
            "new-session",
            "-d",
            "-s",
            "t",
            "-x",
            "120",
            "-y",
            "50",
            &command,
        ]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        tmux.wait_for("the prompt", |s| s.contains("client:~$"));
        tmux.run(&["send-keys", "-t", "t", "ping -c 2 server", "Enter"]);
        let screen = tmux.wait_for("ping's statistics and a new prompt", |s| {
            s.contains("--- server ping statistics ---") && s.trim_end().ends_with("client:~$")
        });
        assert!(screen.contains("client:~$ ping -c 2 server\nPING server (10.0.2.20) 56(84) bytes of data.\n64 bytes from server (10.0.2.20): icmp_seq=1 ttl=63"), "{screen}");
        assert!(
            screen.contains("2 packets transmitted, 2 received, 0% packet loss"),
            "{screen}"
        );
        // The up arrow brings the command back to the prompt.
        tmux.run(&["send-keys", "-t", "t", "Up"]);
        tmux.wait_for("the recalled command", |s| {
            s.trim_end().ends_with("client:~$ ping -c 2 server")
        });
        tmux.run(&["send-keys", "-t", "t", "Enter"]);
        tmux.wait_for("the second run", |s| {
            s.matches("--- server ping statistics ---").count() == 2
                && s.trim_end().ends_with("client:~$")
        });
        tmux.run(&["send-keys", "-t", "t", "exit", "Enter"]);
        let deadline = Instant::now() + Duration::from_secs(20);
        while tmux.alive() {
            assert!(
                Instant::now() < deadline,
                "the shell did not exit:\n{}",
                tmux.screen()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

mod ssh {
    use super::*;

    #[test]
    fn ssh_logs_in_through_the_bastion_and_exit_comes_back() {
        let (out, status) = run_each(
            "09-ssh-through-a-bastion.yaml",
            "alice-laptop",
            &[
                "ssh alice@db1",
                "ssh -J bastion alice@db1",
                "ip -4 addr",
                "exit",
                "ip -4 addr",
                "ssh -J bastion bob@db1",
                "ssh -J bastion alice@metrics1",
                "ssh db1",
                "ssh alice@nosuch",
            ],
        );
        // Straight to db1: its security group admits only the bastion.
        assert_eq!(
            out[0],
            "ssh: connect to host db1 port 22: Connection timed out\n"
        );
        assert_eq!(
            out[1],
            "(simulated) alice logged in to db1 through bastion; `exit` comes back\n"
        );
        // Inside db1 now: its address, then back on the laptop.
        assert!(out[2].contains("inet 10.0.2.20/24"), "{}", out[2]);
        assert_eq!(out[3], "logout\nConnection to db1 closed.\n");
        assert!(!out[4].contains("10.0.2.20"), "{}", out[4]);
        assert_eq!(out[5], "bob@db1: Permission denied (publickey).\n");
        // The bastion connects to metrics1, which runs no sshd: the
        // forwarding channel fails, as OpenSSH reports it.
        assert!(
            out[6].starts_with("channel 0: open failed: connect failed: Connection refused\n"),
            "{}",
            out[6]
        );
        assert!(
            out[7].starts_with("ssh: say who logs in: USER@db1"),
            "{}",
            out[7]
        );
        assert!(
            out[8].contains("Could not resolve hostname nosuch"),
            "{}",
            out[8]
        );
        assert_eq!(status, [255, 0, 0, 0, 0, 255, 255, 255, 255]);
    }
}
