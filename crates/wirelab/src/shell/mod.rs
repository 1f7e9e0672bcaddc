//! `wirelab shell`: the shell itself is the `wirelab-shell` crate (which
//! the SSH gateway shares); `repl` puts a terminal or a pipe in front of it.

pub mod repl;
