//! `wirelab completions SHELL` and `wirelab man`: shell completions
//! (clap_complete) and man pages (clap_mangen) made from the same command
//! definitions as `--help`, so they never drift from the program.

use std::path::PathBuf;

use clap::Args;

#[derive(Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    shell: clap_complete::Shell,
}

#[derive(Args)]
pub struct ManArgs {
    /// The folder to write the pages into (`wirelab.1`, and
    /// `wirelab-SUBCOMMAND.1` for each subcommand); created if missing.
    #[arg(long, short = 'o', default_value = "man")]
    out: PathBuf,
}

/// Prints the completion script of `cmd` for the shell.
pub fn cmd_completions(args: &CompletionsArgs, mut cmd: clap::Command) -> u8 {
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut cmd, "wirelab", &mut script);
    crate::emit(&String::from_utf8_lossy(&script));
    0
}

/// Writes a man page for `cmd` and one for each subcommand.
pub fn cmd_man(args: &ManArgs, cmd: clap::Command) -> u8 {
    if let Err(e) = std::fs::create_dir_all(&args.out) {
        eprintln!("{}: error: {e}", args.out.display());
        return 2;
    }
    let mut pages: Vec<(String, clap::Command)> = vec![("wirelab".to_string(), cmd.clone())];
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        let name = format!("wirelab-{}", sub.get_name());
        // The page's NAME and SYNOPSIS say `wirelab-SUB`, as git's do.
        let page = sub
            .clone()
            .name(name.clone())
            .bin_name(format!("wirelab {}", sub.get_name()))
            .version(cmd.get_version().unwrap_or_default().to_string());
        pages.push((name, page));
    }
    for (name, page) in pages {
        let mut roff = Vec::new();
        let path = args.out.join(format!("{name}.1"));
        let written = clap_mangen::Man::new(page)
            .render(&mut roff)
            .and_then(|()| std::fs::write(&path, &roff));
        if let Err(e) = written {
            eprintln!("{}: error: {e}", path.display());
            return 2;
        }
    }
    0
}
