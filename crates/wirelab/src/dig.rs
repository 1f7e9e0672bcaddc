//! `wirelab dig`: one host's stub resolver asks its resolver, in a fresh
//! simulation of the lab, and the answer is printed as BIND's `dig` would
//! print it (`wirelab_dns::dig`), on the simulated clock. The words and the
//! lookup are `wirelab_shell::dig`'s, which the shell's `dig` shares.
//!
//! Exit status, as dig's: 0 when an answer came (whatever its rcode), 9
//! when no server answered ("no servers could be reached"), and 2 for
//! usage errors and invalid labs.

use std::path::PathBuf;

use clap::Args;
use wirelab_net::Network;
use wirelab_shell::dig::{ask, parse_question};
use wirelab_sim::{Sim, SimTime, TraceLevel};

/// dig's exit status when no reply came.
pub const EXIT_NO_REPLY: u8 = 9;
/// Most times one command asks; each is a lookup in the same simulation.
const REPEAT_MAX: u32 = 100;

#[derive(Args)]
pub struct DigArgs {
    lab: PathBuf,
    /// The host whose stub resolver asks (it asks its first `resolver:`).
    #[arg(long)]
    from: String,
    /// NAME, then TYPE (default A), and dig's options: +trace (the
    /// resolver's walk, one server at a time), +short (only the data).
    #[arg(value_name = "NAME [TYPE] [+OPTION]", required = true)]
    query: Vec<String>,
    /// Ask this many times in the same simulation: from the second time on
    /// the answer comes from the resolver's cache, with lower TTLs.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=REPEAT_MAX as i64))]
    repeat: u32,
    /// Simulated time between two repeats (e.g. 10s, 500ms, 2min).
    #[arg(long, default_value = "10s", value_parser = parse_time)]
    wait: u64,
    /// Use this seed instead of the lab's.
    #[arg(long)]
    seed: Option<u64>,
}

fn parse_time(text: &str) -> Result<u64, String> {
    wirelab_spec::quantity::parse_time(text)
}

pub fn cmd_dig(
    args: &DigArgs,
    load: impl Fn(&std::path::Path) -> Option<wirelab_spec::Loaded>,
) -> u8 {
    let question = match parse_question(&args.query) {
        Ok(q) => q,
        Err(e) => return crate::usage_error(&e),
    };
    let Some(mut loaded) = load(&args.lab) else {
        return 2;
    };
    if let Some(seed) = args.seed {
        loaded.lab.seed = seed;
    }
    let lab = &loaded.lab;
    let host = match crate::stub_host(lab, &args.from) {
        Ok(h) => h,
        Err(e) => return crate::usage_error(&e),
    };
    let net = Network::compile(lab);
    // Full trace: when no answer comes, the explanation names the drop.
    let mut sim = Sim::new(&net, lab.seed, TraceLevel::Full);
    let mut code = 0;
    for round in 0..args.repeat {
        if round > 0 && !sim.idle_until(sim.now() + SimTime(args.wait)) {
            eprintln!("error: the simulation hit its event limit");
            return 2;
        }
        let (text, no_reply) = ask(&net, &mut sim, host, &question);
        crate::emit(&text);
        if let Some(why) = no_reply {
            // Why, on stderr: stdout stays what dig prints.
            eprintln!("note: {why}");
            code = EXIT_NO_REPLY;
        }
    }
    code
}
