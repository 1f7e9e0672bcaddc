//! `wirelab schema`: the JSON Schema (draft-07) of the lab format, for
//! editors (yaml-language-server) and CI validators. The schema is built
//! from wirelab-spec's schema types; docs/editor.md shows how to use it.

use std::path::PathBuf;

use clap::Args;

#[derive(Args)]
pub struct SchemaArgs {
    /// Write the schema to FILE instead of standard output.
    #[arg(long, short, value_name = "FILE")]
    output: Option<PathBuf>,
}

/// Exit status: 0 the schema was written; 2 the file cannot be written.
pub fn cmd_schema(args: &SchemaArgs) -> u8 {
    crate::write_output(
        args.output.as_deref(),
        &wirelab_spec::schema::lab_schema_json(),
    )
}
