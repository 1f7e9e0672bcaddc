//! `wirelab expand LAB`: the lab with its sugar (`vpcs:` and
//! `vpc_peerings:`) written out as the plain networks and routers it
//! stands for. The reader itself reads a lab through this expansion, so the
//! text printed here, read back, is the same lab: what the sugar means is
//! what this prints (docs/lab-format.md, "VPCs").

use std::path::PathBuf;

use clap::Args;

#[derive(Args)]
pub struct ExpandArgs {
    lab: PathBuf,
    /// Write the expanded lab to FILE instead of standard output.
    #[arg(long, short, value_name = "FILE")]
    output: Option<PathBuf>,
    /// A lab with `variables:`: expand this student's variant (default:
    /// the author's, every variable's first choice).
    #[arg(long, value_name = "ID")]
    student: Option<String>,
}

/// Exit status: 0 the expansion was written; 2 an invalid lab or a file
/// that cannot be written.
pub fn cmd_expand(args: &ExpandArgs) -> u8 {
    match wirelab_spec::expand(&args.lab, args.student.as_deref()) {
        Ok(expanded) => {
            crate::print_diagnostics(&expanded.warnings);
            let text = format!(
                "# {} expanded by `wirelab expand`: `vpcs:` and `vpc_peerings:` are the\n# networks and routers below (docs/lab-format.md, \"VPCs\"). Comments are not kept.\n{}",
                args.lab.display(),
                expanded.yaml
            );
            crate::write_output(args.output.as_deref(), &text)
        }
        Err(diags) => {
            crate::print_diagnostics(&diags);
            let errors = diags
                .iter()
                .filter(|d| d.severity == wirelab_spec::Severity::Error)
                .count();
            eprintln!(
                "{}: {errors} error{} found; nothing was written",
                args.lab.display(),
                if errors == 1 { "" } else { "s" }
            );
            2
        }
    }
}
