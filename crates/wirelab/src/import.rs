//! `wirelab import aws DIR` and `wirelab import terraform PLAN.json`: a lab
//! from what AWS (or a Terraform plan) says about a VPC. The library
//! (wirelab-import) writes the YAML; this checks it with wirelab-spec,
//! prints the warnings and writes the file. See docs/import.md.

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use wirelab_import::{import_aws, import_terraform, Options};

#[derive(Args)]
pub struct ImportArgs {
    #[command(subcommand)]
    source: Source,
}

#[derive(Subcommand)]
enum Source {
    /// A folder of `aws ec2 describe-*` JSON files (describe-vpcs.json,
    /// describe-subnets.json, describe-security-groups.json, ...).
    Aws(SourceArgs),
    /// `terraform show -json` of a plan or a state.
    Terraform(SourceArgs),
}

#[derive(Args)]
struct SourceArgs {
    input: PathBuf,
    /// Write the lab here instead of to standard output.
    #[arg(short, long, value_name = "LAB")]
    output: Option<PathBuf>,
    /// The lab's id (default: from the input's name).
    #[arg(long)]
    lab: Option<String>,
}

/// Exit status: 0 the lab was written (warnings or not), 2 the input is
/// missing or malformed, or the lab could not be written.
pub fn cmd_import(args: &ImportArgs) -> u8 {
    let (aws, a) = match &args.source {
        Source::Aws(a) => (true, a),
        Source::Terraform(a) => (false, a),
    };
    let stem = a
        .input
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let options = Options {
        lab: a.lab.clone().unwrap_or(stem),
        source: format!(
            "wirelab import {} {}",
            if aws { "aws" } else { "terraform" },
            a.input.display()
        ),
    };
    let result = if aws {
        import_aws(&a.input, &options)
    } else {
        import_terraform(&a.input, &options)
    };
    let imported = match result {
        Ok(i) => i,
        Err(e) => {
            eprintln!("{e}");
            return 2;
        }
    };
    for w in &imported.warnings {
        eprintln!("warning: {w}");
    }
    let shown = a
        .output
        .as_deref()
        .unwrap_or(Path::new("<imported lab>"))
        .display()
        .to_string();
    // The importer should only ever write valid labs; if it did not, say so
    // with wirelab's own diagnostics rather than write a broken file.
    if let Err(diags) = wirelab_spec::parse_str_without_files(&shown, &imported.yaml) {
        for d in &diags {
            eprintln!("{d}");
        }
        eprintln!("error: the imported lab is not valid (above); nothing was written");
        return 2;
    }
    match &a.output {
        Some(path) => {
            if let Err(e) = std::fs::write(path, &imported.yaml) {
                eprintln!("error: cannot write {}: {e}", path.display());
                return 2;
            }
            eprintln!(
                "wrote {} ({} warning{})",
                path.display(),
                imported.warnings.len(),
                if imported.warnings.len() == 1 {
                    ""
                } else {
                    "s"
                }
            );
        }
        None => crate::emit(&imported.yaml),
    }
    0
}
