//! wirelab-spec: the lab file, version 1.
//!
//! `load` reads a lab file, parses the YAML keeping the position of every
//! value, validates everything the format implies and returns a [`Lab`] with
//! every reference resolved — or every problem of the file at once.

mod build;
pub mod diag;
mod emit;
pub mod limits;
pub mod model;
pub mod quantity;
mod read;
pub mod schema;
pub mod submission;
pub mod variant;
mod yaml;

pub use build::http::parse_url;
pub use diag::{Diagnostic, Severity};
pub use limits::Limits;
pub use model::*;
pub use submission::{Rejected, Teacher};

/// A lab that passed validation, and the warnings found on the way.
#[derive(Clone, Debug)]
pub struct Loaded {
    pub lab: Lab,
    pub warnings: Vec<Diagnostic>,
}

/// Largest lab file accepted.
pub const FILE_BYTES_MAX: u64 = 8 * 1024 * 1024;

/// Reads and validates the lab file at `path`. `Err` holds every problem
/// found (at least one error; warnings may be among them).
pub fn load(path: &std::path::Path) -> Result<Loaded, Vec<Diagnostic>> {
    load_variant(path, None)
}

/// [`load`] of one student's variant of the lab (see [`variant`]); with
/// `None`, the author's own version (every variable's first choice).
pub fn load_variant(
    path: &std::path::Path,
    student: Option<&str>,
) -> Result<Loaded, Vec<Diagnostic>> {
    let file = path.display().to_string();
    let text =
        read_file(path, FILE_BYTES_MAX).map_err(|message| vec![whole_file(&file, message)])?;
    parse_text(&file, &text, true, student)
}

/// A lab with its sugar (`vpcs:`, `vpc_peerings:`) written out in the
/// plain form it stands for: `wirelab expand`.
#[derive(Clone, Debug)]
pub struct Expanded {
    /// The expanded lab as YAML text; read back, it is the same lab.
    pub yaml: String,
    pub warnings: Vec<Diagnostic>,
}

/// Reads and validates the lab at `path` (every problem at once, as
/// [`load`]), then writes it out with its sugar expanded. A lab without
/// sugar is written as it reads (comments aside). A lab with `variables:`
/// is written as one student's variant (`None`: the author's), its
/// placeholders replaced and `variables:` left out.
pub fn expand(path: &std::path::Path, student: Option<&str>) -> Result<Expanded, Vec<Diagnostic>> {
    let file = path.display().to_string();
    let text =
        read_file(path, FILE_BYTES_MAX).map_err(|message| vec![whole_file(&file, message)])?;
    expand_str(&file, &text, student)
}

/// [`expand`] of lab text; `file` is the name used in diagnostics.
pub fn expand_str(
    file: &str,
    text: &str,
    student: Option<&str>,
) -> Result<Expanded, Vec<Diagnostic>> {
    let loaded = parse_text(file, text, true, student)?;
    let substituted = variant::variant_text(file, text, student)?;
    let root = yaml::load(&substituted).map_err(|e| {
        vec![Diagnostic {
            file: file.to_string(),
            span: e.span.unwrap_or_default(),
            severity: Severity::Error,
            message: e.message,
            help: None,
        }]
    })?;
    let mut d = read::Diags::new(file);
    let mut expanded = build::vpc::expand(&root, &mut d).unwrap_or(root);
    // The placeholders are replaced: the variables have nothing left to do.
    if let yaml::Value::Map(top) = &mut expanded.value {
        top.retain(|(key, _)| key.value != "variables");
    }
    Ok(Expanded {
        yaml: emit::to_yaml(&expanded),
        warnings: loaded.warnings,
    })
}

/// Validates lab text; `file` is the name used in diagnostics.
pub fn parse_str(file: &str, text: &str) -> Result<Loaded, Vec<Diagnostic>> {
    parse_text(file, text, true, None)
}

/// Validates lab text that did not come from a file (a lab uploaded to
/// `wirelab serve`): it has no folder, so a reference to another file (a
/// zone's `file:`) is an error instead of a read.
pub fn parse_str_without_files(file: &str, text: &str) -> Result<Loaded, Vec<Diagnostic>> {
    parse_text(file, text, false, None)
}

fn parse_text(
    file: &str,
    text: &str,
    files_allowed: bool,
    student: Option<&str>,
) -> Result<Loaded, Vec<Diagnostic>> {
    if text.len() as u64 > FILE_BYTES_MAX {
        return Err(vec![whole_file(file, too_large(text.len() as u64))]);
    }
    if let Some(offset) = text.find('\0') {
        let message =
            "the file contains NUL bytes: it looks binary, not like a YAML lab file".to_string();
        return Err(vec![at_offset(file, text.as_bytes(), offset, message)]);
    }
    let substituted = variant::variant_text(file, text, student)?;
    let text = substituted.as_str();
    let root = match yaml::load(text) {
        Ok(root) => root,
        Err(error) => {
            let span = error.span.unwrap_or_default();
            return Err(vec![Diagnostic {
                file: file.to_string(),
                span,
                severity: Severity::Error,
                message: error.message,
                help: None,
            }]);
        }
    };
    let mut d = read::Diags::new(file);
    d.files_allowed = files_allowed;
    let lab = build::build(&root, file, &mut d);
    match lab {
        Some(lab) if !d.has_errors() => Ok(Loaded {
            lab,
            warnings: d.into_sorted(),
        }),
        _ => Err(d.into_sorted()),
    }
}

/// The text of a lab file of at most `bytes_max` bytes, or why there is none.
pub(crate) fn read_file(path: &std::path::Path, bytes_max: u64) -> Result<String, String> {
    use std::io::Read;

    let metadata = std::fs::metadata(path).map_err(|e| io_message(&e))?;
    if metadata.is_dir() {
        return Err("this is a directory, not a lab file".to_string());
    }
    if metadata.len() > bytes_max {
        return Err(too_large(metadata.len()));
    }
    let mut bytes = Vec::new();
    let file = std::fs::File::open(path).map_err(|e| io_message(&e))?;
    // The file may grow between the two looks: read one byte past the limit at most.
    file.take(bytes_max + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| io_message(&e))?;
    if bytes.len() as u64 > bytes_max {
        return Err(too_large(bytes.len() as u64));
    }
    String::from_utf8(bytes).map_err(|e| {
        let valid = e.utf8_error().valid_up_to();
        let (line, column) = line_column(e.as_bytes(), valid);
        format!("the file is not UTF-8 text (invalid byte at line {line}, column {column}): a lab file is YAML text")
    })
}

fn io_message(error: &std::io::Error) -> String {
    match error.kind() {
        std::io::ErrorKind::NotFound => "no such file".to_string(),
        std::io::ErrorKind::PermissionDenied => {
            "cannot read the file: permission denied".to_string()
        }
        _ => format!("cannot read the file: {error}"),
    }
}

fn too_large(bytes: u64) -> String {
    format!(
        "the file is {bytes} bytes; lab files are limited to {} MiB",
        FILE_BYTES_MAX / (1024 * 1024)
    )
}

pub(crate) fn whole_file(file: &str, message: String) -> Diagnostic {
    Diagnostic {
        file: file.to_string(),
        span: Span::default(),
        severity: Severity::Error,
        message,
        help: None,
    }
}

pub(crate) fn at_offset(file: &str, bytes: &[u8], offset: usize, message: String) -> Diagnostic {
    let (line, column) = line_column(bytes, offset);
    Diagnostic {
        file: file.to_string(),
        span: Span { line, column },
        severity: Severity::Error,
        message,
        help: None,
    }
}

/// The 1-based line and character column of a byte offset.
fn line_column(bytes: &[u8], offset: usize) -> (u32, u32) {
    let before = &bytes[..offset.min(bytes.len())];
    let line = before.iter().filter(|b| **b == b'\n').count() + 1;
    let line_start = before
        .iter()
        .rposition(|b| *b == b'\n')
        .map_or(0, |p| p + 1);
    let column = String::from_utf8_lossy(&before[line_start..])
        .chars()
        .count()
        + 1;
    (line as u32, column as u32)
}
