//! The line editor of an interactive session (a client that asked for a
//! pseudo-terminal): the client's terminal is raw, so the gateway echoes
//! what is typed and interprets the keys a shell's line editor would:
//! Enter runs the line, Backspace erases a character, Ctrl-U the line,
//! Ctrl-C drops the line, Ctrl-D on an empty line leaves, the up and down
//! arrows walk the history. Other control keys and escape sequences are
//! ignored. Bytes in, [`Action`]s out: no I/O here.

/// Longest line, in bytes; what is typed beyond it is refused with a bell.
pub const LINE_BYTES_MAX: usize = 4096;
/// Lines the history keeps.
const HISTORY_MAX: usize = 100;

/// What the session does with what was typed.
#[derive(Debug, PartialEq, Eq)]
pub enum Action {
    /// Bytes to send back to the terminal (the echo).
    Echo(Vec<u8>),
    /// A line to run (the echo of Enter was sent before it).
    Run(String),
    /// Ctrl-C: the line is dropped; show a new prompt.
    Interrupt,
    /// Ctrl-D on an empty line.
    Eof,
}

/// Where the editor is in an escape sequence (`ESC [ A`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Escape {
    None,
    /// After ESC.
    Start,
    /// After `ESC [` or `ESC O`: parameters until a final byte.
    Csi,
}

pub struct Editor {
    line: Vec<u8>,
    history: Vec<String>,
    /// The history entry shown, while walking it.
    shown: Option<usize>,
    escape: Escape,
    /// The last byte was CR: a LF right after it is the same Enter.
    after_cr: bool,
}

impl Default for Editor {
    fn default() -> Self {
        Editor::new()
    }
}

impl Editor {
    pub fn new() -> Editor {
        Editor {
            line: Vec::new(),
            history: Vec::new(),
            shown: None,
            escape: Escape::None,
            after_cr: false,
        }
    }

    /// Interprets typed bytes.
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<Action> {
        let mut actions = Vec::new();
        let mut echo = Vec::new();
        for &b in bytes {
            let after_cr = std::mem::replace(&mut self.after_cr, false);
            match self.escape {
                Escape::Start => {
                    self.escape = if b == b'[' || b == b'O' {
                        Escape::Csi
                    } else {
                        Escape::None
                    };
                    continue;
                }
                Escape::Csi => {
                    if (0x40..=0x7e).contains(&b) {
                        self.escape = Escape::None;
                        match b {
                            b'A' => self.recall(true, &mut echo),
                            b'B' => self.recall(false, &mut echo),
                            _ => {}
                        }
                    }
                    continue;
                }
                Escape::None => {}
            }
            match b {
                0x1b => self.escape = Escape::Start,
                b'\r' | b'\n' => {
                    if b == b'\n' && after_cr {
                        continue;
                    }
                    self.after_cr = b == b'\r';
                    echo.extend_from_slice(b"\r\n");
                    flush(&mut echo, &mut actions);
                    let line =
                        String::from_utf8_lossy(&std::mem::take(&mut self.line)).into_owned();
                    self.shown = None;
                    if !line.trim().is_empty() {
                        if self.history.len() == HISTORY_MAX {
                            self.history.remove(0);
                        }
                        self.history.push(line.clone());
                    }
                    actions.push(Action::Run(line));
                }
                0x7f | 0x08 => {
                    if self.pop_char() {
                        echo.extend_from_slice(b"\x08 \x08");
                    }
                }
                0x15 => self.erase_line(&mut echo),
                0x03 => {
                    echo.extend_from_slice(b"^C\r\n");
                    flush(&mut echo, &mut actions);
                    self.line.clear();
                    self.shown = None;
                    actions.push(Action::Interrupt);
                }
                0x04 => {
                    if self.line.is_empty() {
                        flush(&mut echo, &mut actions);
                        actions.push(Action::Eof);
                        return actions;
                    }
                }
                b if b < 0x20 => {}
                b => {
                    if self.line.len() < LINE_BYTES_MAX {
                        self.line.push(b);
                        echo.push(b);
                    } else {
                        echo.push(0x07);
                    }
                }
            }
        }
        flush(&mut echo, &mut actions);
        actions
    }

    /// Removes the last character (all bytes of a UTF-8 one); `false` on
    /// an empty line.
    fn pop_char(&mut self) -> bool {
        let Some(mut b) = self.line.pop() else {
            return false;
        };
        // Continuation bytes are 10xxxxxx: pop back to the lead byte.
        while b & 0xc0 == 0x80 {
            match self.line.pop() {
                Some(prev) => b = prev,
                None => break,
            }
        }
        true
    }

    fn erase_line(&mut self, echo: &mut Vec<u8>) {
        while self.pop_char() {
            echo.extend_from_slice(b"\x08 \x08");
        }
    }

    /// Up (`older`) or down the history: the line shows the entry.
    fn recall(&mut self, older: bool, echo: &mut Vec<u8>) {
        let next = match (self.shown, older) {
            (None, true) => self.history.len().checked_sub(1),
            (None, false) => return,
            (Some(i), true) => Some(i.saturating_sub(1)),
            (Some(i), false) if i + 1 < self.history.len() => Some(i + 1),
            (Some(_), false) => None,
        };
        if older && next.is_none() {
            return;
        }
        self.erase_line(echo);
        self.shown = next;
        if let Some(i) = next {
            self.line = self.history[i].as_bytes().to_vec();
            echo.extend_from_slice(&self.line);
        }
    }
}

fn flush(echo: &mut Vec<u8>, actions: &mut Vec<Action>) {
    if !echo.is_empty() {
        actions.push(Action::Echo(std::mem::take(echo)));
    }
}

/// Output for a terminal: LF becomes CR LF (the terminal is raw).
pub fn crlf(text: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len() + text.len() / 16);
    for b in text.bytes() {
        if b == b'\n' {
            out.push(b'\r');
        }
        out.push(b);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn echo(text: &[u8]) -> Action {
        Action::Echo(text.to_vec())
    }

    #[test]
    fn typing_echoes_and_enter_runs() {
        let mut ed = Editor::new();
        assert_eq!(ed.feed(b"ip a"), vec![echo(b"ip a")]);
        assert_eq!(
            ed.feed(b"ddr\r"),
            vec![echo(b"ddr\r\n"), Action::Run("ip addr".into())]
        );
        // CR LF is one Enter.
        assert_eq!(
            ed.feed(b"x\r\n"),
            vec![echo(b"x\r\n"), Action::Run("x".into())]
        );
        assert_eq!(ed.feed(b"\n"), vec![echo(b"\r\n"), Action::Run("".into())]);
    }

    #[test]
    fn backspace_ctrl_c_ctrl_d() {
        let mut ed = Editor::new();
        ed.feed("pé".as_bytes());
        assert_eq!(ed.feed(b"\x7f"), vec![echo(b"\x08 \x08")]);
        assert_eq!(ed.feed(b"\r"), vec![echo(b"\r\n"), Action::Run("p".into())]);
        assert_eq!(ed.feed(b"\x7f"), vec![]);
        ed.feed(b"junk");
        assert_eq!(ed.feed(b"\x03"), vec![echo(b"^C\r\n"), Action::Interrupt]);
        // Ctrl-D leaves only on an empty line.
        ed.feed(b"a");
        assert_eq!(ed.feed(b"\x04"), vec![]);
        ed.feed(b"\x15");
        assert_eq!(ed.feed(b"\x04"), vec![Action::Eof]);
    }

    #[test]
    fn arrows_walk_the_history() {
        let mut ed = Editor::new();
        ed.feed(b"one\rtwo\r");
        assert_eq!(ed.feed(b"\x1b[A"), vec![echo(b"two")]);
        assert_eq!(
            ed.feed(b"\x1b[A"),
            vec![echo(b"\x08 \x08\x08 \x08\x08 \x08one")]
        );
        // Left and right arrows are ignored.
        assert_eq!(ed.feed(b"\x1b[D"), vec![]);
        assert_eq!(
            ed.feed(b"\r"),
            vec![echo(b"\r\n"), Action::Run("one".into())]
        );
    }

    #[test]
    fn lines_are_bounded() {
        let mut ed = Editor::new();
        ed.feed(&vec![b'a'; LINE_BYTES_MAX]);
        assert_eq!(ed.feed(b"b"), vec![echo(b"\x07")]);
    }

    #[test]
    fn output_gets_carriage_returns() {
        assert_eq!(crlf("a\nb\n"), b"a\r\nb\r\n");
    }
}
