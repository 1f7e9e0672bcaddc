//! The shell of `wirelab shell` and `wirelab ssh-gateway`: a shell inside one host of a lab, with the tools a
//! person would reach for (`ping`, `traceroute`, `dig`, `nslookup`,
//! `curl`, `nc`, `ip`, `ss`), each printing what the real tool prints.
//!
//! ONE simulation lives as long as the session: neighbour caches, the
//! resolver's cache and connection tracking carry over from one command
//! to the next, and each command moves the simulated clock on by as long
//! as the real tool would take. Nothing here reads the wall clock, so the
//! same commands in the same order print the same text.
//!
//! [`Shell`] interprets one line at a time and returns its output, so it
//! can be tested without a terminal; the binary's `repl` puts a line
//! editor (or plain standard input) on top, and the SSH gateway puts an
//! SSH channel on top.

use std::net::IpAddr;

use wirelab_dns::proto::rr::{Name, RecordType};
use wirelab_net::{Network, NodeId};
use wirelab_sim::{Sim, SimTime, TraceLevel};

pub mod dig;
mod dns;
mod http;
mod ip;
mod nc;
mod ping;
mod ssh;
mod words;

/// Exit statuses of the shell itself (bash's).
const STATUS_NOT_FOUND: u8 = 127;
const STATUS_USAGE: u8 = 2;
/// Most lines one session runs: each may add probes and lookups to the
/// one simulation, whose tables grow with them.
const LINES_MAX: u64 = 100_000;

/// The commands, one line of help each, in the order `help` lists them.
const COMMANDS: [(&str, &str); 14] = [
    (
        "ping",
        "ping [-c N] [-i SEC] [-W SEC] [-4|-6] DEST   echo requests (4 by default here)",
    ),
    (
        "traceroute",
        "traceroute [-n] [-m HOPS] [-w SEC] DEST   the routers on the way, by UDP to 33434+",
    ),
    (
        "dig",
        "dig NAME [TYPE] [+short] [+trace]            ask the host's resolver, as BIND's dig",
    ),
    (
        "nslookup",
        "nslookup [-type=TYPE] NAME                  the same, in nslookup's words",
    ),
    (
        "curl",
        "curl [-s] [-i] [-w FMT] URL                 one HTTP(S) request",
    ),
    (
        "nc",
        "nc -z [-v] [-u] [-w SEC] HOST PORT          is a port open? (-v to see the answer)",
    ),
    (
        "ip",
        "ip [-4|-6] addr | route | neigh             the host's addresses, routes, neighbours",
    ),
    (
        "ss",
        "ss -tlnu                                    the sockets listening on this host",
    ),
    (
        "uptime",
        "uptime                                      the simulated time since the lab started",
    ),
    (
        "echo",
        "echo [WORDS...]                             print the words ($? is the last status)",
    ),
    (
        "ssh",
        "ssh [-J [USER@]JUMP,...] USER@HOST          log in to another host (exit comes back)",
    ),
    (
        "help",
        "help                                        this list",
    ),
    (
        "clear",
        "clear                                       clear the screen",
    ),
    (
        "exit",
        "exit [N]                                    leave the shell (or Ctrl-D)",
    ),
];

/// What a command printed and its exit status.
pub struct Done {
    pub out: String,
    pub status: u8,
}

impl Done {
    fn ok(out: String) -> Done {
        Done { out, status: 0 }
    }

    fn with(out: String, status: u8) -> Done {
        Done { out, status }
    }
}

/// How a destination was written, and the address it stands for.
pub(crate) struct Target {
    /// As typed.
    pub text: String,
    pub addr: IpAddr,
    /// It was a name (then tools print names for addresses).
    pub named: bool,
}

/// Why a destination has no address (getaddrinfo's errors).
pub(crate) enum ResolveError {
    /// EAI_NONAME: "Name or service not known".
    Unknown,
    /// EAI_ADDRFAMILY: the name has no address of the family asked.
    Family,
    /// EAI_AGAIN: the resolver did not answer.
    Again,
}

/// A shell in one host of a lab.
pub struct Shell<'n> {
    net: &'n Network,
    sim: Sim<'n>,
    host: usize,
    node: NodeId,
    /// The exit status of the last command (`$?`).
    status: u8,
    /// Set by `exit`.
    exit: Option<u8>,
    lines: u64,
    /// The hosts `ssh` left, innermost last: `exit` goes back to them.
    outer: Vec<usize>,
    /// Who is logged in (the SSH gateway's user): `ssh HOST` logs in as
    /// this user, as OpenSSH logs in as the local user.
    user: Option<String>,
}

impl<'n> Shell<'n> {
    /// A shell in `host` (an index of the lab's hosts), the simulation at
    /// time zero with the given seed.
    pub fn new(net: &'n Network, host: usize, seed: u64) -> Shell<'n> {
        Shell {
            net,
            // No trace: a long session would keep every step of every
            // packet, and no command here explains drops.
            sim: Sim::new(net, seed, TraceLevel::Off),
            host,
            node: net.host_node(host),
            status: 0,
            exit: None,
            lines: 0,
            outer: Vec::new(),
            user: None,
        }
    }

    /// Says who is logged in: `ssh HOST` without `USER@` logs in as them.
    pub fn set_user(&mut self, user: &str) {
        self.user = Some(user.to_string());
    }

    /// The host's name, as the prompt shows it.
    pub fn host_name(&self) -> &str {
        &self.net.lab.hosts[self.host].name.value
    }

    /// The lab's name.
    pub fn lab_name(&self) -> &str {
        &self.net.lab.lab.value
    }

    /// `H:~$ `.
    pub fn prompt(&self) -> String {
        format!("{}:~$ ", self.host_name())
    }

    /// Set once `exit` ran: the status the shell ends with.
    pub fn exited(&self) -> Option<u8> {
        self.exit
    }

    /// The exit status of the last command.
    pub fn status(&self) -> u8 {
        self.status
    }

    /// The simulated clock.
    #[cfg(test)]
    pub fn now(&self) -> SimTime {
        self.sim.now()
    }

    /// Runs one line and returns what it printed.
    pub fn run(&mut self, line: &str) -> String {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            return String::new();
        }
        self.lines += 1;
        if self.lines > LINES_MAX {
            self.exit = Some(self.status);
            return format!(
                "{}: this session ran {LINES_MAX} lines, its limit; start a new one\n",
                self.host_name()
            );
        }
        let done = match words::split(line) {
            Ok(words) if words.is_empty() => return String::new(),
            Ok(words) => self.dispatch(&words),
            Err(why) => Done::with(format!("{}: {why}\n", self.host_name()), STATUS_USAGE),
        };
        self.status = done.status;
        done.out
    }

    fn dispatch(&mut self, words: &[String]) -> Done {
        let args = &words[1..];
        match words[0].as_str() {
            "ping" | "ping6" => {
                let mut args = args.to_vec();
                if words[0] == "ping6" {
                    args.insert(0, "-6".into());
                }
                ping::ping(self, &args)
            }
            "traceroute" => ping::traceroute(self, args),
            "dig" => dns::dig(self, args),
            "nslookup" => dns::nslookup(self, args),
            "curl" => http::curl(self, args),
            "nc" | "netcat" => nc::nc(self, args),
            "ip" => ip::ip(self, args),
            "ss" => ip::ss(self, args),
            "uptime" => Done::ok(uptime(self.sim.now())),
            "echo" => Done::ok(format!("{}\n", self.echo(args))),
            "help" => Done::ok(help()),
            // The ANSI sequence `clear` writes: home, erase the screen.
            "clear" => Done::ok("\x1b[H\x1b[2J".into()),
            "ssh" => ssh::ssh(self, args),
            "exit" | "logout" => self.exit_with(args),
            other => self.not_found(other),
        }
    }

    fn echo(&self, args: &[String]) -> String {
        let status = self.status.to_string();
        let words: Vec<String> = args.iter().map(|w| w.replace("$?", &status)).collect();
        words.join(" ")
    }

    /// Moves the shell into `host` (a successful `ssh`).
    pub(crate) fn enter(&mut self, host: usize) {
        self.outer.push(self.host);
        self.host = host;
        self.node = self.net.host_node(host);
    }

    fn exit_with(&mut self, args: &[String]) -> Done {
        if let Some(outer) = self.outer.pop() {
            let left = self.host_name().to_string();
            self.host = outer;
            self.node = self.net.host_node(outer);
            return Done::ok(format!("logout\nConnection to {left} closed.\n"));
        }
        let status = match args {
            [] => self.status,
            [n] => match n.parse::<i64>() {
                // bash takes the status modulo 256.
                Ok(n) => n.rem_euclid(256) as u8,
                Err(_) => {
                    let text = format!(
                        "{}: exit: {n}: numeric argument required\n",
                        self.host_name()
                    );
                    self.exit = Some(STATUS_USAGE);
                    return Done::with(text, STATUS_USAGE);
                }
            },
            _ => {
                return Done::with(
                    format!("{}: exit: too many arguments\n", self.host_name()),
                    1,
                )
            }
        };
        self.exit = Some(status);
        Done::with(String::new(), status)
    }

    fn not_found(&self, word: &str) -> Done {
        let mut out = format!("{}: command not found: {word}\n", self.host_name());
        let best = COMMANDS
            .iter()
            .map(|(c, _)| (strsim::osa_distance(c, word), *c))
            .min();
        if let Some((_, c)) = best.filter(|(d, _)| *d <= 2) {
            out.push_str(&format!("did you mean `{c}`?\n"));
        }
        Done::with(out, STATUS_NOT_FOUND)
    }

    // ----- what the tools share ---------------------------------------

    /// This host's address of a family.
    fn source(&self, v6: bool) -> Option<IpAddr> {
        let h = &self.net.lab.hosts[self.host];
        if v6 {
            h.ipv6.map(IpAddr::V6)
        } else {
            h.ipv4.map(IpAddr::V4)
        }
    }

    /// Whether the host has a route for `dst` (else the tools fail at
    /// once with "Network is unreachable").
    fn has_route(&self, dst: IpAddr) -> bool {
        dst.is_loopback() || self.net.nodes[self.node].routes.lookup(dst).is_some()
    }

    /// The address of `text` as getaddrinfo would find it: an address as
    /// is, a node of the lab by name (as if every host had the lab in
    /// /etc/hosts), else a DNS lookup through the host's resolver (which
    /// takes simulated time). `v6` picks the family.
    fn resolve(&mut self, text: &str, v6: bool) -> Result<Target, ResolveError> {
        if let Ok(addr) = text.parse::<IpAddr>() {
            if addr.is_ipv6() != v6 {
                return Err(ResolveError::Family);
            }
            return Ok(Target {
                text: text.to_string(),
                addr,
                named: false,
            });
        }
        let target = |addr| Target {
            text: text.to_string(),
            addr,
            named: true,
        };
        if let Some(node) = self.net.nodes.iter().find(|n| n.name == text) {
            let addr = node
                .ifaces
                .iter()
                .find_map(|&i| self.net.ifaces[i].addr(v6));
            return addr.map(target).ok_or(ResolveError::Family);
        }
        if self.net.lab.hosts[self.host].resolvers.is_empty() {
            return Err(ResolveError::Unknown);
        }
        let Ok(mut name) = Name::from_ascii(text) else {
            return Err(ResolveError::Unknown);
        };
        name.set_fqdn(true);
        let qtype = if v6 { RecordType::AAAA } else { RecordType::A };
        let id = dns::lookup(self, &name, qtype);
        let lookup = &self.sim.lookups()[id];
        match wirelab_check::dns::observed_code(lookup) {
            "timeout" | "servfail" | "refused" => return Err(ResolveError::Again),
            "resolves" => {}
            _ => return Err(ResolveError::Unknown),
        }
        wirelab_check::dns::addresses(lookup)
            .into_iter()
            .find(|a| a.is_ipv6() == v6)
            .map(target)
            .ok_or(ResolveError::Family)
    }

    /// The name of the node that has `addr`, as a reverse lookup in
    /// /etc/hosts would give it.
    fn name_of(&self, addr: IpAddr) -> Option<&'n str> {
        if addr.is_loopback() {
            return Some("localhost");
        }
        let iface = self.net.owner(addr)?;
        Some(&self.net.nodes[self.net.ifaces[iface].node].name)
    }

    /// `name (addr)` when names are shown and known, else `addr`.
    fn named(&self, addr: IpAddr, names: bool) -> String {
        match self.name_of(addr).filter(|_| names) {
            Some(name) => format!("{name} ({addr})"),
            None => addr.to_string(),
        }
    }
}

fn help() -> String {
    let mut out =
        String::from("Commands (the simulated clock moves as the real tools would take time):\n");
    for (_, line) in COMMANDS {
        out.push_str(&format!("  {line}\n"));
    }
    out.push_str("Lab host names work wherever a tool takes a host; other names are looked up through the host's resolver.\n");
    out
}

/// `uptime`'s line: the clock of the day starts at midnight when the lab
/// starts, so the time shown is the simulated time.
fn uptime(now: SimTime) -> String {
    let secs = now.as_nanos() / 1_000_000_000;
    let (h, m, s) = (secs / 3600 % 24, secs / 60 % 60, secs % 60);
    let up = if secs < 3600 {
        format!("{} min", secs / 60)
    } else {
        format!("{:2}:{:02}", secs / 3600, secs / 60 % 60)
    };
    format!(" {h:02}:{m:02}:{s:02} up {up},  1 user,  load average: 0.00, 0.00, 0.00\n")
}

/// A port's service name in /etc/services, for `nc` and `ss`.
pub(crate) fn service_name(port: u16, udp: bool) -> Option<&'static str> {
    Some(match (port, udp) {
        (22, false) => "ssh",
        (25, false) => "smtp",
        (53, _) => "domain",
        (80, false) => "http",
        (123, true) => "ntp",
        (443, false) => "https",
        (3306, false) => "mysql",
        (5432, false) => "postgresql",
        (6379, false) => "redis",
        (8080, false) => "http-alt",
        _ => return None,
    })
}

/// A number of seconds as tools take it (`1`, `0.2`), in nanoseconds.
pub(crate) fn parse_secs(text: &str) -> Option<u64> {
    let secs: f64 = text.parse().ok()?;
    (secs.is_finite() && (0.0..=86_400.0).contains(&secs)).then(|| (secs * 1e9).round() as u64)
}

/// The host `name` of `lab`, whose stub has a resolver to ask; otherwise
/// what is wrong, said for a person.
pub fn stub_host(lab: &wirelab_spec::Lab, name: &str) -> Result<usize, String> {
    let Some(host) = lab.host_by_name(name) else {
        return Err(format!(
            "`{name}` is not a host of lab {}{}",
            lab.lab.value,
            suggest(lab, name)
        ));
    };
    if lab.hosts[host].resolvers.is_empty() {
        let with: Vec<&str> = lab
            .hosts
            .iter()
            .filter(|h| !h.resolvers.is_empty())
            .map(|h| h.name.value.as_str())
            .collect();
        let others = if with.is_empty() {
            "no host of the lab has one".to_string()
        } else {
            format!("hosts that have one: {}", with.join(", "))
        };
        return Err(format!(
            "host `{name}` has no `resolver:` to ask; give it one in the lab, or ask from another host ({others})"
        ));
    }
    Ok(host)
}

/// ` (did you mean `NAME`?)` for the lab host nearest to `name`, or
/// nothing.
pub fn suggest(lab: &wirelab_spec::Lab, name: &str) -> String {
    let best = lab
        .hosts
        .iter()
        .map(|h| h.name.value.as_str())
        .map(|n| (strsim::levenshtein(n, name), n))
        .min();
    match best {
        Some((d, n)) if d <= 3 => format!(" (did you mean `{n}`?)"),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests;
