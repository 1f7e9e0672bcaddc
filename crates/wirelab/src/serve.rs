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
    /// Requests that change or run something (PUT, DELETE, POST) must
    /// carry `Authorization: Bearer TOKEN`. Needed to listen on an
    /// address other than loopback. Also read from WIRELAB_TOKEN.
    #[arg(long)]
    token: Option<String>,
}

/// Shortest token accepted: a guessable one protects nothing.
const TOKEN_CHARS_MIN: usize = 16;

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
    let token = args
        .token
        .clone()
        .or_else(|| std::env::var("WIRELAB_TOKEN").ok())
        .filter(|t| !t.is_empty());
    if let Some(t) = &token {
        if t.chars().count() < TOKEN_CHARS_MIN
            || t.chars().any(|c| c.is_whitespace() || c.is_control())
        {
            return crate::usage_error(&format!(
                "--token must be at least {TOKEN_CHARS_MIN} characters without spaces (e.g. from `openssl rand -hex 16`)"
            ));
        }
    }
    if !args.listen.ip().is_loopback() && token.is_none() {
        return crate::usage_error(&format!(
            "--listen {} is not a loopback address: anyone who reaches it could replace, delete and run labs, so give a token with --token TOKEN (or WIRELAB_TOKEN); requests that change something must then carry `Authorization: Bearer TOKEN`",
            args.listen
        ));
    }
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
        token,
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
