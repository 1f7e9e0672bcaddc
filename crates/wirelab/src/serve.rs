//! `wirelab serve`: the labs behind the HTTP API of wirelab-server.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use clap::Args;
use wirelab_server::{Config, LabSource, Speed};

#[derive(Args)]
pub struct ServeArgs {
    /// Lab files to serve (more can be PUT).
    labs: Vec<PathBuf>,
    /// Address and port to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// How fast simulated time goes: 1x (wall time), 10x, 0.5x, max; or
    /// paused (at 1x once resumed).
    #[arg(long, default_value = "1x", value_parser = parse_speed)]
    speed: (Speed, bool),
    /// Start every lab's clock paused (step or resume it with POST
    /// /api/v1/labs/{id}/clock).
    #[arg(long)]
    paused: bool,
}

/// A speed, and whether it says `paused`.
fn parse_speed(text: &str) -> Result<(Speed, bool), String> {
    if text.trim().eq_ignore_ascii_case("paused") {
        return Ok((Speed::Factor(1.0), true));
    }
    Speed::parse(text)
        .map(|s| (s, false))
        .map_err(|e| format!("{e}, or paused"))
}

pub fn cmd_serve(args: &ServeArgs, load: impl Fn(&Path) -> Option<wirelab_spec::Loaded>) -> u8 {
    let mut labs = Vec::new();
    for path in &args.labs {
        // Prints the diagnostics as the other commands do.
        if load(path).is_none() {
            return 2;
        }
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("{}: cannot read the file: {e}", path.display());
                return 2;
            }
        };
        let id = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        labs.push(LabSource {
            id,
            file: path.display().to_string(),
            text,
        });
    }
    let config = Config {
        listen: args.listen,
        speed: args.speed.0,
        paused: args.paused || args.speed.1,
        ..Config::default()
    };
    let count = labs.len();
    let result = wirelab_server::serve_blocking(config, labs, |addr| {
        eprintln!(
            "serving {count} lab{} on http://{addr}/api/v1/labs (Ctrl-C stops)",
            if count == 1 { "" } else { "s" }
        );
    });
    match result {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("error: {e}");
            2
        }
    }
}
