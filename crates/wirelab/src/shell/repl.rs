//! The session around [`Shell`]: a line editor with history when
//! standard input is a terminal (rustyline), else one command per line of
//! standard input with nothing printed but the commands' output, so that
//! scripts and tests can pipe commands in.

use std::io::{BufRead, IsTerminal, Read};
use std::path::PathBuf;

use clap::Args;
use rustyline::error::ReadlineError;
use wirelab_net::Network;

use wirelab_shell::Shell;

/// Longest line read from a pipe; longer ones are refused.
const LINE_BYTES_MAX: u64 = 64 * 1024;
/// Lines the editor's history keeps.
const HISTORY_MAX: usize = 1_000;

#[derive(Args)]
pub struct ShellArgs {
    lab: PathBuf,
    /// The host to open the shell in.
    #[arg(long)]
    host: String,
    /// Use this seed instead of the lab's.
    #[arg(long)]
    seed: Option<u64>,
}

pub fn cmd_shell(
    args: &ShellArgs,
    load: impl Fn(&std::path::Path) -> Option<wirelab_spec::Loaded>,
) -> u8 {
    let Some(mut loaded) = load(&args.lab) else {
        return 2;
    };
    if let Some(seed) = args.seed {
        loaded.lab.seed = seed;
    }
    let lab = &loaded.lab;
    let Some(host) = lab.host_by_name(&args.host) else {
        return crate::usage_error(&format!(
            "`{}` is not a host of lab {}{}",
            args.host,
            lab.lab.value,
            crate::suggest(lab, &args.host)
        ));
    };
    let net = Network::compile(lab);
    let mut shell = Shell::new(&net, host, lab.seed);
    if std::io::stdin().is_terminal() {
        edit(&mut shell)
    } else {
        piped(&mut shell)
    }
}

/// A person at a terminal: prompt, line editing, history (up arrow).
fn edit(shell: &mut Shell<'_>) -> u8 {
    let config = rustyline::Config::builder()
        .max_history_size(HISTORY_MAX)
        .map(|b| b.auto_add_history(false).build());
    let editor = config.and_then(rustyline::DefaultEditor::with_config);
    let mut editor = match editor {
        Ok(e) => e,
        Err(e) => {
            eprintln!("error: cannot use the terminal ({e}); reading commands line by line");
            return piped(shell);
        }
    };
    crate::emit(&format!(
        "wirelab shell on {} — `help` lists the commands, `exit` or Ctrl-D leaves\n",
        shell.host_name()
    ));
    loop {
        match editor.readline(&shell.prompt()) {
            Ok(line) => {
                if !line.trim().is_empty() {
                    let _ = editor.add_history_entry(line.as_str());
                }
                crate::emit(&shell.run(&line));
                if let Some(status) = shell.exited() {
                    return status;
                }
            }
            // Ctrl-C drops the line, as bash does.
            Err(ReadlineError::Interrupted) => continue,
            Err(ReadlineError::Eof) => {
                crate::emit("exit\n");
                return shell.status();
            }
            Err(e) => {
                eprintln!("error: {e}");
                return 1;
            }
        }
    }
}

/// Commands from a pipe or a file, one per line.
fn piped(shell: &mut Shell<'_>) -> u8 {
    let stdin = std::io::stdin();
    let mut input = stdin.lock();
    let mut buf = Vec::new();
    loop {
        buf.clear();
        let read = (&mut input)
            .take(LINE_BYTES_MAX)
            .read_until(b'\n', &mut buf);
        match read {
            Ok(0) => return shell.status(),
            Ok(_) if buf.last() != Some(&b'\n') && buf.len() as u64 == LINE_BYTES_MAX => {
                eprintln!("error: a line longer than {LINE_BYTES_MAX} bytes");
                return 2;
            }
            Ok(_) => {
                let line = String::from_utf8_lossy(&buf);
                crate::emit(&shell.run(&line));
                if let Some(status) = shell.exited() {
                    return status;
                }
            }
            Err(e) => {
                eprintln!("error: reading standard input: {e}");
                return 2;
            }
        }
    }
}
