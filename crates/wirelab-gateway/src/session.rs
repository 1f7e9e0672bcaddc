//! One SSH session: a [`Shell`] in the target host, on a thread of its own
//! (the shell borrows the network and runs the simulation synchronously),
//! fed by a bounded channel of what the client sends and answering on
//! another. The SSH side never waits on the simulation, and the
//! simulation never sees the network of the real world.
//!
//! Three ways to use it, as with sshd:
//! - `pty-req` then `shell`: interactive, through the [`Editor`], with a
//!   prompt and CR LF line ends;
//! - `shell` without a terminal: one command per line, no prompt (piped);
//! - `exec`: the command line (commands separated by `;` or new lines)
//!   runs, then the channel closes with the exit status.

use std::sync::Arc;

use tokio::sync::mpsc::{Receiver, Sender};
use wirelab_net::Network;
use wirelab_shell::Shell;

use crate::editor::{crlf, Action, Editor};

/// The stack of a session's thread: the shell's commands use little, and
/// 200 sessions should not reserve 200 × 8 MiB.
pub const SESSION_STACK_BYTES: usize = 1024 * 1024;
/// Longest line of a piped session.
pub const PIPED_LINE_BYTES_MAX: usize = 64 * 1024;

/// What the client sent on the channel.
#[derive(Debug)]
pub enum Input {
    Data(Vec<u8>),
    /// The client will send no more (EOF, or the channel closed).
    Eof,
}

/// What goes back on the channel.
#[derive(Debug, PartialEq, Eq)]
pub enum Output {
    Data(Vec<u8>),
    /// The session ended with this status; the channel closes.
    Exit(u8),
}

/// How the client asked for the session.
#[derive(Clone, Debug)]
pub enum Mode {
    Interactive,
    Piped,
    Exec { command: String, pty: bool },
}

/// Where the session's shell runs.
#[derive(Clone)]
pub struct Place {
    pub net: Arc<Network>,
    pub host: usize,
    pub seed: u64,
    /// The lab user logged in: the shell's `ssh HOST` logs in as her.
    pub user: String,
}

/// Runs a session to its end (blocking: call it on the session's thread).
pub fn run(place: Place, mode: Mode, input: Receiver<Input>, output: Sender<Output>) {
    let net = place.net.clone();
    let mut shell = Shell::new(&net, place.host, place.seed);
    shell.set_user(&place.user);
    let mut io = Io { input, output };
    let status = match mode {
        Mode::Exec { command, pty } => exec(&mut shell, &command, pty, &mut io),
        Mode::Piped => piped(&mut shell, &mut io),
        Mode::Interactive => interactive(&mut shell, &mut io),
    };
    // The client may be gone already; nothing is left to tell it then.
    let _ = io.output.blocking_send(Output::Exit(status.unwrap_or(255)));
}

struct Io {
    input: Receiver<Input>,
    output: Sender<Output>,
}

/// `None`: the client went away.
type Status = Option<u8>;

impl Io {
    fn send(&mut self, bytes: Vec<u8>) -> Option<()> {
        if bytes.is_empty() {
            return Some(());
        }
        self.output.blocking_send(Output::Data(bytes)).ok()
    }

    fn recv(&mut self) -> Input {
        self.input.blocking_recv().unwrap_or(Input::Eof)
    }
}

fn final_status(shell: &Shell<'_>) -> u8 {
    shell.exited().unwrap_or(shell.status())
}

fn exec(shell: &mut Shell<'_>, command: &str, pty: bool, io: &mut Io) -> Status {
    for line in split_commands(command) {
        let out = shell.run(&line);
        io.send(if pty { crlf(&out) } else { out.into_bytes() })?;
        if shell.exited().is_some() {
            break;
        }
    }
    Some(final_status(shell))
}

fn piped(shell: &mut Shell<'_>, io: &mut Io) -> Status {
    let mut pending: Vec<u8> = Vec::new();
    loop {
        let data = match io.recv() {
            Input::Data(data) => data,
            Input::Eof => {
                if !pending.is_empty() {
                    let out = shell.run(&String::from_utf8_lossy(&pending));
                    io.send(out.into_bytes())?;
                }
                return Some(final_status(shell));
            }
        };
        pending.extend_from_slice(&data);
        while let Some(end) = pending.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = pending.drain(..=end).collect();
            let out = shell.run(&String::from_utf8_lossy(&line));
            io.send(out.into_bytes())?;
            if let Some(status) = shell.exited() {
                return Some(status);
            }
        }
        if pending.len() > PIPED_LINE_BYTES_MAX {
            io.send(
                format!("wirelab: a line longer than {PIPED_LINE_BYTES_MAX} bytes\n").into_bytes(),
            )?;
            return Some(2);
        }
    }
}

fn interactive(shell: &mut Shell<'_>, io: &mut Io) -> Status {
    let greeting = format!(
        "wirelab shell on {} (lab {}, simulated) — `help` lists the commands, `exit` or Ctrl-D leaves\n",
        shell.host_name(),
        shell_lab(shell),
    );
    io.send(crlf(&greeting))?;
    io.send(shell.prompt().into_bytes())?;
    let mut editor = Editor::new();
    loop {
        let data = match io.recv() {
            Input::Data(data) => data,
            Input::Eof => return Some(final_status(shell)),
        };
        for action in editor.feed(&data) {
            match action {
                Action::Echo(bytes) => io.send(bytes)?,
                Action::Run(line) => {
                    let out = shell.run(&line);
                    io.send(crlf(&out))?;
                    if let Some(status) = shell.exited() {
                        return Some(status);
                    }
                    io.send(shell.prompt().into_bytes())?;
                }
                Action::Interrupt => io.send(shell.prompt().into_bytes())?,
                Action::Eof => {
                    io.send(b"logout\r\n".to_vec())?;
                    return Some(final_status(shell));
                }
            }
        }
    }
}

fn shell_lab(shell: &Shell<'_>) -> String {
    shell.lab_name().to_string()
}

/// The commands of an `exec` line: separated by `;` or new lines outside
/// quotes (the shell's words keep quotes for themselves).
pub fn split_commands(text: &str) -> Vec<String> {
    let mut commands = Vec::new();
    let mut current = String::new();
    let mut quote: Option<char> = None;
    for c in text.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => {
                quote = None;
                current.push(c);
            }
            (None, '\'' | '"') => {
                quote = Some(c);
                current.push(c);
            }
            (None, ';' | '\n') => commands.push(std::mem::take(&mut current)),
            _ => current.push(c),
        }
    }
    commands.push(current);
    commands.retain(|c| !c.trim().is_empty());
    commands
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exec_lines_split_outside_quotes() {
        assert_eq!(
            split_commands("ip addr; ping -c 2 db1\nuptime"),
            vec!["ip addr", " ping -c 2 db1", "uptime"]
        );
        assert_eq!(
            split_commands("echo 'a;b' ; echo \"c;d\";;"),
            vec!["echo 'a;b' ", " echo \"c;d\""]
        );
    }
}
