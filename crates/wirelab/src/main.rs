//! The `wirelab` command: a thin layer over the library crates that reads
//! arguments, prints, and decides exit codes (0 ok, 1 a check failed,
//! 2 invalid input or usage; `dig` adds dig's 9, no reply; `curl` curl's
//! own: 6, 7, 22, 28, 35, 52, 60).

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

mod curl;
mod diff;
mod dig;
mod dns_serve;
mod expand;
mod gateway;
mod grade;
mod grade_report;
mod graph;
mod import;
mod lint;
mod packaging;
mod reach;
mod routes;
mod run;
mod schema;
mod serve;
mod shell;

// The shell's helpers, which `dig` and `curl` share with it.
use wirelab_shell::{stub_host, suggest};

use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};
use wirelab_check::{render, trace_exchange, Format, Plan};
use wirelab_net::Network;
use wirelab_spec::{CheckProto, Diagnostic, Family, Loaded};

#[derive(Parser)]
#[command(
    name = "wirelab",
    version,
    about = "A network lab that runs anywhere: simulate, trace and grade labs written in YAML"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum ReportFormat {
    Text,
    Json,
    Junit,
    Tap,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum TraceFormat {
    /// Every step, one line each.
    Text,
    /// Every step, as JSON.
    Json,
    /// A sequence diagram in text: one lifeline per node, one arrow per frame.
    Sequence,
    /// The same sequence diagram in Mermaid (`sequenceDiagram`).
    Mermaid,
}

#[derive(Clone, Copy, ValueEnum)]
enum ProtoArg {
    Tcp,
    Udp,
    Icmp,
}

#[derive(Clone, Copy, ValueEnum)]
enum FamilyArg {
    Ipv4,
    Ipv6,
}

#[derive(Subcommand)]
enum Command {
    /// Validate lab files and print every problem found.
    Check {
        #[arg(required = true)]
        labs: Vec<PathBuf>,
    },
    /// Run a lab's checks in the simulator and grade them.
    Test(TestArgs),
    /// Send one exchange and print it hop by hop, with every decision.
    Trace(TraceArgs),
    /// Run the lab's traffic and events over time; report every workload
    /// and link.
    Run(run::RunArgs),
    /// Look a name up from a host, as `dig` would: the host's stub asks its
    /// resolver in a fresh simulation. Exit 0 on an answer (any rcode), 9
    /// when no server answered.
    #[command(
        after_help = "Query time and WHEN are simulated; the lab's seed makes the output the same every time.\n\nExit status (as dig's): 0 an answer came, whatever its status (NXDOMAIN too); 9 no server answered; 2 a usage error or an invalid lab.\n\nExamples:\n  wirelab dig LAB --from laptop shop.example.com +trace\n  wirelab dig LAB --from laptop example.com MX +short\n  wirelab dig LAB --from laptop www.example.com --repeat 2 --wait 30s"
    )]
    Dig(dig::DigArgs),
    /// Serve real DNS on a local port (UDP and TCP) as a lab host would
    /// answer: through its resolver in one long-lived simulation, or from
    /// its zones if it is an authoritative server.
    #[command(
        after_help = "Every query runs in ONE simulation that lives as long as the port: the resolver's cache stays warm, and simulated time moves only while a query runs (at most 60 s each; no answer by then is SERVFAIL), so the same queries in the same order get the same answers. After 10,000 queries a fresh simulation starts. Malformed messages get FORMERR, or nothing when no header can be read. Stop with Ctrl-C.\n\nExit status: 2 for a usage error, an invalid lab, or an address that cannot be listened on.\n\nExamples:\n  wirelab dns LAB --listen 127.0.0.1:5353 --as laptop\n  dig @127.0.0.1 -p 5353 shop.example.com\n  dig @127.0.0.1 -p 5353 +tcp example.com MX"
    )]
    Dns(dns_serve::DnsArgs),
    /// Open a shell inside a host: ping, traceroute, dig, nslookup, curl,
    /// nc, ip and ss, each printing what the real tool prints, in one
    /// simulation that lives as long as the session.
    #[command(
        after_help = "The simulation starts when the shell does and lives until it ends: neighbour (ARP/ND) caches, the resolver's cache and connection tracking carry over from one command to the next, and each command moves the simulated clock on by as long as the real tool would take (`uptime` shows it). Lab host names work wherever a tool takes a host, as if /etc/hosts listed the lab; other names are looked up through the host's resolver. `ping` stops after 4 echoes unless -c says otherwise; `nc` prints what happened only with -v, as the real one. `ssh [-J jump] user@host` logs in to another host when the network and the lab's `ssh:` section let it (a TCP connection to each sshd, then the key check), and moves the shell there; `exit` comes back.\n\nWhen standard input is not a terminal, commands are read one per line and only their output is printed, so a script can be piped in.\n\nExit status: that of the last command, or `exit N`; 2 for a usage error or an invalid lab.\n\nExamples:\n  wirelab shell labs/01-one-router.yaml --host client\n  printf 'ping -c 2 server\\nip neigh\\n' | wirelab shell labs/01-one-router.yaml --host client"
    )]
    Shell(shell::repl::ShellArgs),
    /// Make an HTTP(S) request from a host, as `curl` would: the name
    /// looked up through the host's resolver, TCP, TLS, the request and
    /// the response (through any proxies), in a fresh simulation.
    #[command(
        after_help = "Times are simulated; the lab's seed makes the output the same every time. The body is the route's `text:`; a body the lab gives no text prints nothing on stdout and its size on stderr. -v marks what curl would not say with (simulated): the lab, and the hosts a proxy chain went through.\n\nExit status (as curl's): 0 a response came, whatever its status; 6 could not resolve the host; 7 connection refused; 22 with -f, a status of 400 or more; 28 no connection or no response within 30 s; 35 the TLS handshake broke off; 52 empty reply; 60 a certificate curl refuses (name, issuer, dates); 2 a usage error or an invalid lab.\n\nExamples:\n  wirelab curl LAB --from laptop https://shop.example.com/\n  wirelab curl LAB --from laptop https://shop.example.com/ -v\n  wirelab curl LAB --from laptop https://shop.example.com/health -i\n  wirelab curl LAB --from laptop https://shop.example.com/ -w '%{http_code} %{time_total}\\n'\n  wirelab curl LAB --from laptop http://10.0.1.10:8000/ --timing"
    )]
    Curl(curl::CurlArgs),
    /// Serve labs over HTTP: a REST API under /api/v1 (JSON, problem
    /// details, Server-Sent Events) with each lab's traffic and events on a
    /// simulated clock paced against wall time.
    #[command(
        after_help = "Each LAB file is served with the id of its file name without .yaml (03-vpc-security.yaml is /api/v1/labs/03-vpc-security); PUT /api/v1/labs/{id} adds more. --speed 1x makes simulated time follow wall time, 10x ten times faster, max as fast as the machine goes; --speed paused (or --paused with a speed) starts every clock paused (POST /api/v1/labs/{id}/clock resumes, pauses, steps). The API's data is in simulated time. docs/api.md describes every endpoint; the OpenAPI document is at /api/v1/openapi.json.\n\nStops on Ctrl-C. Exit status: 0 after Ctrl-C, 2 for an invalid lab or an address it cannot listen on.\n\nExamples:\n  wirelab serve labs/06-traffic-over-a-wan.yaml\n  wirelab serve labs/*.yaml --listen 127.0.0.1:9000 --speed 10x\n  curl -N localhost:8080/api/v1/labs/06-traffic-over-a-wan/events"
    )]
    Serve(serve::ServeArgs),
    /// Serve real SSH: log in with OpenSSH as USER+HOST and land in that
    /// lab host's shell, when the lab lets USER in from the entry host.
    #[command(
        after_help = "The SSH user name names the lab user and the host: `ssh -p 2222 alice+bastion@127.0.0.1`; through jump hosts, `alice+bastion+db1`. A login is let in when the key is one of the user's keys in the lab's `ssh:` section and the lab lets the user in from the entry host through every hop (TCP to each sshd through the simulated network, then each host's users), as an `ssh` check decides. Public keys only. A refusal says why on the client's standard error. The entry host is `--from`, else the lab's `ssh: { gateway: { from: HOST } }`.\n\nThe host key is made once and kept in $WIRELAB_STATE_DIR, else $XDG_STATE_HOME/wirelab, else ~/.local/state/wirelab (ssh_host_ed25519_key, mode 0600). Limits: 256 connections and 256 sessions at once, 4 sessions a connection, 6 authentication requests a connection, 10 refused logins a minute per client address, 30 s to log in, 15 min of silence. See docs/gateway.md.\n\nExit status: 2 for a usage error, an invalid lab, a host key that cannot be used, or an address that cannot be listened on.\n\nExamples:\n  wirelab ssh-gateway LAB --from laptop\n  ssh -p 2222 alice+bastion@127.0.0.1\n  ssh -p 2222 alice+bastion+db1@127.0.0.1 'ip addr; ping -c 2 web1'"
    )]
    SshGateway(gateway::GatewayArgs),
    /// What one host can reach on another, from the configuration alone
    /// (routes, NACLs, security groups; no simulation): exact port ranges
    /// per protocol, the path, and every component that blocks the rest.
    #[command(
        after_help = "--from A --to B: what A reaches on B; --from A alone: everything A reaches; --to B alone: every host, network address and outside address that reaches B. --from takes a host, a network, `internet` (addresses outside the lab), an address or a prefix; --to a host, a network (its hosts), a host's address, or `internet` (what a host reaches outside). A TCP or UDP port counts when the request is delivered and its reply gets back through every NACL for every ephemeral port (49152-65535); ICMP means echo. See docs/analysis.md.\n\nExit status: 0 something asked for is reachable (with --port: that port, for some pair); 1 nothing is; 2 a usage error or an invalid lab.\n\nExamples:\n  wirelab reach labs/03-vpc-security.yaml --from web1 --to db1\n  wirelab reach labs/03-vpc-security.yaml --to db1 --proto tcp --port 5432\n  wirelab reach labs/03-vpc-security.yaml --from web1 --format json\n  wirelab reach labs/03-vpc-security.yaml --from 10.0.0.0/8 --to db1 --port 5432"
    )]
    Reach(reach::ReachArgs),
    /// What two versions of a lab let through differently (from the
    /// configuration alone), with the configuration changes that explain
    /// each difference.
    #[command(
        after_help = "Hosts are matched by name. For every ordered pair of hosts both labs have, every family and protocol (TCP, UDP, ICMP echo): newly allowed = what NEW reaches minus what OLD reaches, newly denied = the reverse, as port ranges, each with the blocks that dropped it (OLD's for newly allowed, NEW's for newly denied) and the configuration changes that explain it, as OLD:LINE / NEW:LINE. Hosts only one lab has are listed with what they reach; changes that alter no reachability are listed last. See docs/analysis.md.\n\nExit status, like diff(1): 0 no reachability difference (among what is asked); 1 differences; 2 a usage error or an invalid lab.\n\nExamples:\n  wirelab diff labs/05-exercise-fix-the-vpc.yaml labs/solutions/05-exercise-fix-the-vpc.yaml\n  wirelab diff old.yaml new.yaml --to db1 --proto tcp --port 5432\n  wirelab diff old.yaml new.yaml --format json"
    )]
    Diff(diff::DiffArgs),
    /// Find suspicious filter rules from the configuration alone:
    /// redundant and shadowed rules, rules that match nothing, IPv4
    /// openings without their IPv6 twin, NACLs that drop replies, admin
    /// ports open to the world.
    #[command(
        after_help = "Every finding is printed as FILE:LINE:COLUMN: severity[code]: message, then an indented `fix:` line, sorted by line, column and code; docs/analysis.md lists the codes.\n\nExit status: 1 when a finding is at or above --deny (default: error); 0 otherwise; 2 a usage error or an invalid lab.\n\nExamples:\n  wirelab lint labs/03-vpc-security.yaml\n  wirelab lint labs/05-exercise-fix-the-vpc.yaml --deny warning\n  wirelab lint labs/04-dual-stack.yaml --format json"
    )]
    Lint(lint::LintArgs),
    /// Make a lab from AWS: a folder of `aws ec2 describe-*` JSON, or
    /// `terraform show -json` of a plan or state.
    #[command(
        after_help = "Every object's AWS id is written in a comment beside it. What the lab cannot represent is a warning on standard error naming the file, the object and the field. See docs/import.md.\n\nExit status: 0 the lab was written (warnings or not); 2 the input is missing or malformed.\n\nExamples:\n  wirelab import aws ./vpc-dump -o vpc.yaml\n  terraform show -json plan.out > plan.json && wirelab import terraform plan.json -o vpc.yaml"
    )]
    Import(import::ImportArgs),
    /// Print the JSON Schema (draft-07) of the lab format, for editors and
    /// CI validators.
    #[command(
        after_help = "The schema says which keys exist where, their types, units and ranges, with a description of each; `wirelab check` still has the last word (names, addresses, the rules that need the whole lab). The repository keeps a copy at schema/wirelab-lab.schema.json. See docs/editor.md.\n\nExit status: 0 the schema was written; 2 a usage error or a file that cannot be written.\n\nExamples:\n  wirelab schema > wirelab-lab.schema.json\n  wirelab schema -o schema/wirelab-lab.schema.json"
    )]
    Schema(schema::SchemaArgs),
    /// Draw the lab's topology: networks, routers and hosts, and every
    /// attachment with its interface and addresses.
    #[command(
        after_help = "dot, mermaid and d2 are text for Graphviz, Mermaid and D2 to lay out; svg is laid out by wirelab itself (no Graphviz needed). The same lab gives the same bytes. See docs/graph.md.\n\nExit status: 0 the graph was written; 2 a usage error, an invalid lab, or a file that cannot be written.\n\nExamples:\n  wirelab graph labs/03-vpc-security.yaml | dot -Tpng -o vpc.png\n  wirelab graph labs/03-vpc-security.yaml --format svg -o vpc.svg\n  wirelab graph labs/03-vpc-security.yaml --format mermaid"
    )]
    Graph(graph::GraphArgs),
    /// Grade a class: every student's version of a lab (a sub-folder or a
    /// YAML file each) by the teacher's checks, in parallel and within
    /// limits; a class report as CSV and JSON, a JUnit file per student.
    #[command(
        after_help = "A submission is a whole lab or only the parts the teacher's lab declares editable (`grading: { editable: [security_groups, nacls, routers.r1.routes] }`; without it, everything but `lab`, `seed` and `checks`), merged into the teacher's lab: the teacher's checks always grade. Each submission's status is ok, invalid (not a valid lab, or it changes what is not editable), limit (too large or too long; see --limit) or crash (a bug of wirelab, caught); only ok ones score points. Results are sorted by student and the same whatever --jobs. See docs/grading.md for the limits and their defaults.\n\nExit status: 0 the class was graded (whatever the scores); 2 a usage error, an invalid teacher's lab, or an output that cannot be written.\n\nExamples:\n  wirelab grade labs/05-exercise-fix-the-vpc.yaml --submissions class/\n  wirelab grade LAB --submissions class/ --out grades/ --jobs 2\n  wirelab grade LAB --submissions class/ --limit wall-time=2s --limit hosts=200"
    )]
    Grade(grade::GradeArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish,
    /// powershell).
    #[command(
        after_help = "Install, for example:\n  wirelab completions bash > ~/.local/share/bash-completion/completions/wirelab\n  wirelab completions zsh > ~/.zfunc/_wirelab        # with fpath+=(~/.zfunc) before compinit\n  wirelab completions fish > ~/.config/fish/completions/wirelab.fish"
    )]
    Completions(packaging::CompletionsArgs),
    /// Write man pages: wirelab(1) and one per subcommand.
    #[command(
        after_help = "Exit status: 0 the pages were written; 2 the folder cannot be written.\n\nExamples:\n  wirelab man -o man && man -l man/wirelab-reach.1\n  sudo wirelab man -o /usr/local/share/man/man1"
    )]
    Man(packaging::ManArgs),
    /// Print the routing tables, shaped like `ip route`: every router's
    /// (and with --hosts every host's) connected, static and default
    /// routes, longest prefix first.
    #[command(
        after_help = "Each line: the prefix (`default` for /0) or `blackhole PREFIX`, `via` the next hop, `dev` the interface (eth0, eth1, ... in the order wirelab trace numbers them), `proto kernel` (connected), `static` (from the lab, with its line) or `boot` (a host's default gateway), and for connected routes the source address.\n\nExit status: 0 the tables were printed; 2 an invalid lab or an unknown router.\n\nExamples:\n  wirelab routes labs/02-static-routing.yaml\n  wirelab routes labs/02-static-routing.yaml --router hq\n  wirelab routes LAB --hosts --format json"
    )]
    Routes(routes::RoutesArgs),
    /// Write one student's variant of a lab: every `${name}` replaced by
    /// the student's choice among the lab's `variables:`.
    #[command(
        after_help = "The choice of each variable is drawn from the lab's seed and the student's id, the same on every machine; without variables the lab is written as it is. The variant is checked like any lab before it is written. `wirelab test LAB --student ID` and `wirelab grade LAB --variants` grade a student against their variant. See docs/lab-format.md, \"Variants\".\n\nExit status: 0 the variant was written; 2 an invalid lab or variant, or a file that cannot be written.\n\nExamples:\n  wirelab variant labs/05-exercise-fix-the-vpc.yaml --student alice -o alice.yaml\n  for s in alice bob; do wirelab variant LAB --student $s -o $s/lab.yaml; done"
    )]
    Variant(VariantArgs),
    /// Print the lab with its sugar (`vpcs:`, `vpc_peerings:`) expanded
    /// into the plain networks and routers it stands for.
    #[command(
        after_help = "The expansion is what the lab means: every command reads a lab through it, and the printed lab, read back, gives the same networks, routers, routes and NAT, so the same results. A lab without sugar is printed as it reads (comments are not kept). See docs/lab-format.md, \"VPCs\".\n\nExit status: 0 the expansion was written; 2 an invalid lab or a file that cannot be written.\n\nExamples:\n  wirelab expand labs/12-peered-vpcs-transit-trap.yaml\n  wirelab expand LAB -o plain.yaml && wirelab test plain.yaml"
    )]
    Expand(expand::ExpandArgs),
}

#[derive(Args)]
struct VariantArgs {
    lab: PathBuf,
    /// The student's id (a folder name of `wirelab grade --submissions`).
    #[arg(long, value_name = "ID")]
    student: String,
    /// Write it here instead of to stdout.
    #[arg(long, short = 'o', value_name = "FILE")]
    output: Option<PathBuf>,
}

#[derive(Args)]
struct TestArgs {
    lab: PathBuf,
    #[arg(long, value_enum, default_value = "text")]
    format: ReportFormat,
    /// Worker threads (default: the number of cores).
    #[arg(long)]
    threads: Option<usize>,
    /// Use this seed instead of the lab's.
    #[arg(long)]
    seed: Option<u64>,
    /// Also write the check results as Prometheus metrics (text format
    /// 0.0.4) to this file; `-` writes them to stdout instead of the
    /// report.
    #[arg(long, value_name = "FILE")]
    metrics: Option<PathBuf>,
    /// Grade this student's variant of the lab (see `wirelab variant`).
    #[arg(long, value_name = "ID")]
    student: Option<String>,
    /// Grade up to this stage (its number from 1, or its name): the
    /// stages before it run first and must pass; later stages are left
    /// out. Default: every stage.
    #[arg(long, value_name = "N|NAME")]
    stage: Option<String>,
}

#[derive(Args)]
struct TraceArgs {
    lab: PathBuf,
    /// The host that sends.
    #[arg(long)]
    from: String,
    /// A host name or an address.
    #[arg(long)]
    to: String,
    #[arg(long, value_enum, default_value = "tcp")]
    proto: ProtoArg,
    /// Destination port (tcp and udp).
    #[arg(long)]
    port: Option<u16>,
    #[arg(long, value_enum)]
    family: Option<FamilyArg>,
    /// What to print.
    #[arg(long, value_enum, default_value = "text")]
    format: TraceFormat,
    /// Show every frame hop by hop as its layers (Ethernet, IP, TCP/UDP/ICMP)
    /// and what changed from hop to hop.
    #[arg(long, conflicts_with = "format")]
    layers: bool,
    /// Hide ARP and neighbour discovery frames (with --format sequence,
    /// --format mermaid and --layers).
    #[arg(long)]
    no_arp: bool,
    /// Use this seed instead of the lab's.
    #[arg(long)]
    seed: Option<u64>,
    /// Send at this time of a run of the lab's events and routing
    /// protocols (e.g. `30s`), as a check with `at:` does.
    #[arg(long, value_parser = wirelab_spec::quantity::parse_time)]
    at: Option<u64>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let code = match cli.command {
        Command::Check { labs } => cmd_check(&labs),
        Command::Test(args) => cmd_test(&args),
        Command::Trace(args) => cmd_trace(&args),
        Command::Run(args) => run::cmd_run(&args, load),
        Command::Dig(args) => dig::cmd_dig(&args, load),
        Command::Dns(args) => dns_serve::cmd_dns(&args, load),
        Command::Shell(args) => shell::repl::cmd_shell(&args, load),
        Command::Curl(args) => curl::cmd_curl(&args, load),
        Command::Serve(args) => serve::cmd_serve(&args, load),
        Command::SshGateway(args) => gateway::cmd_gateway(&args, load),
        Command::Reach(args) => reach::cmd_reach(&args, load),
        Command::Diff(args) => diff::cmd_diff(&args, load),
        Command::Lint(args) => lint::cmd_lint(&args, load),
        Command::Import(args) => import::cmd_import(&args),
        Command::Schema(args) => schema::cmd_schema(&args),
        Command::Graph(args) => graph::cmd_graph(&args, load),
        Command::Grade(args) => grade::cmd_grade(&args),
        Command::Completions(args) => packaging::cmd_completions(&args, Cli::command()),
        Command::Man(args) => packaging::cmd_man(&args, Cli::command()),
        Command::Routes(args) => routes::cmd_routes(&args, load),
        Command::Variant(args) => cmd_variant(&args),
        Command::Expand(args) => expand::cmd_expand(&args),
    };
    ExitCode::from(code)
}

/// Writes to stdout; a closed pipe (`wirelab ... | head`) ends quietly.
fn emit(text: &str) {
    let mut out = std::io::stdout().lock();
    if out
        .write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .is_err()
    {
        std::process::exit(0);
    }
}

/// Writes `text` to `path`, or to stdout when there is none. Exit status:
/// 0, or 2 when the file cannot be written (`FILE: error: message`).
fn write_output(path: Option<&Path>, text: &str) -> u8 {
    let Some(path) = path else {
        emit(text);
        return 0;
    };
    match std::fs::write(path, text) {
        Ok(()) => 0,
        Err(e) => {
            let reason = match e.kind() {
                std::io::ErrorKind::NotFound => "no such directory".to_string(),
                std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
                _ => e.to_string(),
            };
            eprintln!("{}: error: cannot write the file: {reason}", path.display());
            2
        }
    }
}

fn print_diagnostics(diags: &[Diagnostic]) {
    let mut err = std::io::stderr().lock();
    for d in diags {
        let _ = writeln!(err, "{d}");
    }
}

/// Loads a lab, printing warnings; on errors prints them all and returns
/// `None`.
fn load(path: &Path) -> Option<Loaded> {
    load_student(path, None)
}

/// [`load`] of a student's variant of the lab (`--student`).
fn load_student(path: &Path, student: Option<&str>) -> Option<Loaded> {
    match wirelab_spec::load_variant(path, student) {
        Ok(loaded) => {
            print_diagnostics(&loaded.warnings);
            Some(loaded)
        }
        Err(diags) => {
            print_diagnostics(&diags);
            let errors = diags
                .iter()
                .filter(|d| d.severity == wirelab_spec::Severity::Error)
                .count();
            eprintln!(
                "{}: {errors} error{} found; nothing was run",
                path.display(),
                if errors == 1 { "" } else { "s" }
            );
            None
        }
    }
}

fn cmd_check(labs: &[PathBuf]) -> u8 {
    let mut code = 0;
    for path in labs {
        match load(path) {
            Some(loaded) => {
                let lab = &loaded.lab;
                emit(&format!(
                    "{}: ok — lab {}: {} networks, {} routers, {} hosts, {} security groups, {} NACLs, {} checks\n",
                    path.display(),
                    lab.lab.value,
                    lab.networks.len(),
                    lab.routers.len(),
                    lab.hosts.len(),
                    lab.security_groups.len(),
                    lab.nacls.len(),
                    lab.checks.len()
                ));
            }
            None => code = 2,
        }
    }
    code
}

fn threads(requested: Option<usize>) -> usize {
    requested
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1)
}

fn cmd_test(args: &TestArgs) -> u8 {
    let Some(mut loaded) = load_student(&args.lab, args.student.as_deref()) else {
        return 2;
    };
    if let Some(seed) = args.seed {
        loaded.lab.seed = seed;
    }
    let up_to = match args
        .stage
        .as_deref()
        .map(|s| stage_index(&loaded.lab, s))
        .transpose()
    {
        Ok(up_to) => up_to,
        Err(e) => return usage_error(&e),
    };
    let net = Network::compile(&loaded.lab);
    let bounds = wirelab_check::Bounds::default();
    let threads = threads(args.threads);
    let report = wirelab_check::run_checks_staged(&net, threads, &bounds, up_to).0;
    let color = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let format = match args.format {
        ReportFormat::Text => Format::Text { color },
        ReportFormat::Json => Format::Json,
        ReportFormat::Junit => Format::Junit,
        ReportFormat::Tap => Format::Tap,
    };
    let metrics_to_stdout = args
        .metrics
        .as_deref()
        .is_some_and(|p| p.as_os_str() == "-");
    if let Some(path) = &args.metrics {
        // Check results only: the checks run in many short simulations
        // on worker threads (docs/metrics.md).
        let text = wirelab_metrics::render(&net.lab.lab.value, &net, None, Some(&report));
        if !run::write_metrics(path, &text) {
            return 2;
        }
    }
    if !metrics_to_stdout {
        emit(&render(&report, format));
    }
    if report.all_passed() {
        0
    } else {
        1
    }
}

fn cmd_variant(args: &VariantArgs) -> u8 {
    let file = args.lab.display().to_string();
    let text = match std::fs::read_to_string(&args.lab) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("{file}: error: {e}");
            return 2;
        }
    };
    let variant = match wirelab_spec::variant::variant_text(&file, &text, Some(&args.student)) {
        Ok(v) => v,
        Err(diags) => {
            print_diagnostics(&diags);
            return 2;
        }
    };
    // The variant must be a valid lab: check it as the student will.
    if load_student(&args.lab, Some(&args.student)).is_none() {
        return 2;
    }
    write_output(args.output.as_deref(), &variant)
}

/// `--stage N` (from 1) or `--stage NAME`: the stage's index.
fn stage_index(lab: &wirelab_spec::Lab, text: &str) -> Result<usize, String> {
    let names: Vec<&str> = lab.stages.iter().map(|s| s.name.value.as_str()).collect();
    if names.is_empty() {
        return Err(format!("--stage: lab {} has no stages", lab.lab.value));
    }
    if let Some(i) = names.iter().position(|&n| n == text) {
        return Ok(i);
    }
    match text.parse::<usize>() {
        Ok(n) if (1..=names.len()).contains(&n) => Ok(n - 1),
        _ => Err(format!(
            "--stage {text}: give a number from 1 to {} or a name ({})",
            names.len(),
            names.join(", ")
        )),
    }
}

fn usage_error(msg: &str) -> u8 {
    eprintln!("error: {msg}");
    2
}

fn cmd_trace(args: &TraceArgs) -> u8 {
    let TraceArgs { from, to, port, .. } = args;
    let (from, to, port) = (from.as_str(), to.as_str(), *port);
    let Some(mut loaded) = load(&args.lab) else {
        return 2;
    };
    if let Some(seed) = args.seed {
        loaded.lab.seed = seed;
    }
    let lab = &loaded.lab;
    let query = wirelab_check::query::TraceQuery {
        from,
        to,
        proto: match args.proto {
            ProtoArg::Tcp => CheckProto::Tcp,
            ProtoArg::Udp => CheckProto::Udp,
            ProtoArg::Icmp => CheckProto::Icmp,
        },
        port,
        family: args.family.map(|f| match f {
            FamilyArg::Ipv4 => Family::Ipv4,
            FamilyArg::Ipv6 => Family::Ipv6,
        }),
    };
    let (from_id, target, proto, family) = match wirelab_check::query::resolve(lab, &query) {
        Ok(r) => (r.from, r.target, query.proto, r.family),
        Err(e) => return usage_error(&e),
    };
    let net = Network::compile(lab);
    let plan = match Plan::new(&net, from_id, &target, proto, port, family) {
        Ok(p) => Plan {
            at: args.at.map(wirelab_sim::SimTime),
            ..p
        },
        Err(e) => return usage_error(&e.to_string()),
    };
    if args.no_arp && !args.layers && matches!(args.format, TraceFormat::Text | TraceFormat::Json) {
        return usage_error("--no-arp goes with --format sequence, --format mermaid or --layers");
    }
    let (ex, sim) = trace_exchange(&net, plan, wirelab_check::check_seed(lab.seed, usize::MAX));
    let lines = wirelab_check::trace::lines(&net, &ex, sim.trace());
    let explanation = wirelab_check::explain::explain(&net, &ex, sim.trace());
    let r = &ex.result;
    let at = r.node.map(|n| net.nodes[n].name.clone());
    let what = wirelab_check::explain::what(plan.kind, plan.dst.is_ipv6());
    let title = format!(
        "trace {from} ({}) → {to} ({}) {what}, lab {}, seed {}",
        plan.src, plan.dst, lab.lab.value, lab.seed
    );
    let result = format!(
        "result: {} ({}{})",
        r.outcome.code(),
        r.reason.code(),
        at.as_deref()
            .map(|a| format!(" at {a}"))
            .unwrap_or_default()
    );
    let opts = wirelab_check::diagram::Options { arp: !args.no_arp };
    if args.layers {
        let body = wirelab_check::diagram::render_layers(&net, sim.trace(), &opts);
        emit(&format!("{title}\n\n{body}\n{result}\n"));
        return 0;
    }
    match args.format {
        TraceFormat::Sequence => {
            let seq = wirelab_check::diagram::sequence(&net, &ex, sim.trace(), &opts);
            let legend = wirelab_check::diagram::legend(&net, &seq);
            let body = wirelab_check::diagram::render_text(&net, &seq);
            emit(&format!(
                "{title}\n{legend}\n{body}\n{result}\nwhy: {explanation}\n"
            ));
        }
        TraceFormat::Mermaid => {
            let seq = wirelab_check::diagram::sequence(&net, &ex, sim.trace(), &opts);
            let mut comments = vec![title];
            comments.extend(
                wirelab_check::diagram::legend(&net, &seq)
                    .lines()
                    .map(str::to_string),
            );
            comments.push(result);
            emit(&wirelab_check::diagram::render_mermaid(
                &net, &seq, &comments,
            ));
        }
        TraceFormat::Json => {
            let mut doc = wirelab_check::query::json(&net, &query, &plan, &ex, sim.trace());
            let nat = wirelab_check::trace::nat_entries(&net, &sim);
            if !nat.is_empty() {
                doc["nat"] = serde_json::to_value(&nat).expect("json");
            }
            emit(&format!(
                "{}\n",
                serde_json::to_string_pretty(&doc).expect("json")
            ));
        }
        TraceFormat::Text => {
            let mut out = format!("{title}\n");
            let width = lines.iter().map(|l| l.node.len()).max().unwrap_or(4).max(4);
            // The packet is printed when it changes; the lines after it
            // about the same packet show only the decision.
            let mut last_packet = "";
            for l in &lines {
                let same = l.packet == last_packet;
                last_packet = &l.packet;
                let first = if same && !l.detail.is_empty() {
                    &l.detail
                } else {
                    &l.packet
                };
                out.push_str(&format!(
                    "{}  {:<width$}  {:<8}  {first}\n",
                    l.time, l.node, l.step
                ));
                if !same && !l.detail.is_empty() {
                    out.push_str(&format!(
                        "{:>9}  {:<width$}  {:<8}  {}\n",
                        "", "", "", l.detail
                    ));
                }
            }
            out.push_str(&format!("{result}\nwhy: {explanation}\n"));
            let nat = wirelab_check::trace::nat_entries(&net, &sim);
            if !nat.is_empty() {
                out.push_str("nat tables (original direction; replies):\n");
                for e in &nat {
                    out.push_str(&format!(
                        "  {}  {} {}; {}  ({}, rule at line {})\n",
                        e.router, e.proto, e.original, e.reply, e.kind, e.line
                    ));
                }
            }
            emit(&out);
        }
    }
    0
}
