//! `wirelab lint`: every suspicious filter rule of a lab at once
//! (wirelab-analyze's lint), as `FILE:LINE:COLUMN: severity[code]: message`
//! lines with a fix each, or as JSON. See docs/analysis.md.

use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};
use serde_json::{json, Value};
use wirelab_analyze::lint::{lint, Finding, Severity};
use wirelab_net::Network;
use wirelab_spec::Loaded;

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DenyLevel {
    Error,
    Warning,
    Info,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LintFormat {
    Text,
    Json,
}

#[derive(Args)]
pub struct LintArgs {
    lab: PathBuf,
    /// Exit 1 when a finding is at least this severe.
    #[arg(long, value_enum, default_value = "error")]
    deny: DenyLevel,
    #[arg(long, value_enum, default_value = "text")]
    format: LintFormat,
}

/// Exit status: 1 when a finding is at or above `--deny`, else 0; 2 for
/// an invalid lab.
pub fn cmd_lint(args: &LintArgs, load: fn(&Path) -> Option<Loaded>) -> u8 {
    let Some(loaded) = load(&args.lab) else {
        return 2;
    };
    let net = Network::compile(&loaded.lab);
    let net = wirelab_sim::routing_apps::settled_network(&net).unwrap_or(net);
    let findings = lint(&net);
    let file = args.lab.display().to_string();
    // Lint is built on the analysis, which does not model NAT: say so.
    let note = crate::reach::nat_note(&loaded.lab);
    match args.format {
        LintFormat::Text => {
            let mut text = render_text(&file, &findings);
            if let Some(n) = &note {
                text.push_str(&format!("note: {n}\n"));
            }
            crate::emit(&text)
        }
        LintFormat::Json => {
            let mut doc = render_json(&file, &findings);
            if let Some(n) = note {
                doc["notes"] = json!([n]);
            }
            crate::emit(&format!(
                "{}\n",
                serde_json::to_string_pretty(&doc).expect("json")
            ))
        }
    }
    let deny = match args.deny {
        DenyLevel::Error => Severity::Error,
        DenyLevel::Warning => Severity::Warning,
        DenyLevel::Info => Severity::Info,
    };
    if findings.iter().any(|f| f.severity >= deny) {
        1
    } else {
        0
    }
}

fn render_text(file: &str, findings: &[Finding]) -> String {
    let mut out = String::new();
    for f in findings {
        out.push_str(&format!(
            "{file}:{}:{}: {}[{}]: {}\n    fix: {}\n",
            f.span.line,
            f.span.column,
            f.severity.code(),
            f.code.code(),
            f.message,
            f.fix
        ));
    }
    let count = |s: Severity| findings.iter().filter(|f| f.severity == s).count();
    let plural = |n: usize, word: &str| {
        if n == 1 {
            format!("{n} {word}")
        } else {
            format!("{n} {word}s")
        }
    };
    if findings.is_empty() {
        out.push_str(&format!("{file}: no findings\n"));
    } else {
        out.push_str(&format!(
            "{file}: {}, {}, {} info\n",
            plural(count(Severity::Error), "error"),
            plural(count(Severity::Warning), "warning"),
            count(Severity::Info)
        ));
    }
    out
}

fn render_json(file: &str, findings: &[Finding]) -> Value {
    let items: Vec<Value> = findings
        .iter()
        .map(|f| {
            json!({
                "severity": f.severity.code(),
                "code": f.code.code(),
                "file": file,
                "line": f.span.line,
                "column": f.span.column,
                "message": f.message,
                "fix": f.fix,
                "related": f.related.iter().map(|r| json!({
                    "line": r.span.line,
                    "column": r.span.column,
                    "text": r.text,
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    json!({ "findings": items })
}
