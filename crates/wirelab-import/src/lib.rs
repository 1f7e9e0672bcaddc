//! wirelab-import: lab files from what AWS says about a VPC.
//!
//! Two sources, one model ([`model::Cloud`]) and one writer:
//!
//! - [`import_aws`]: a folder of `aws ec2 describe-*` JSON files, as the
//!   AWS CLI prints them;
//! - [`import_terraform`]: `terraform show -json` of a plan or a state.
//!
//! The lab comes back as YAML text, with the AWS id of every object in a
//! comment beside it, and a warning for everything that could not be
//! represented. Malformed input is an [`ImportError`] naming the file, the
//! object (with its id) and the field. docs/import.md says how AWS maps to
//! wirelab.

mod aws;
mod emit;
mod json;
pub mod model;
mod terraform;

use std::fmt;
use std::path::Path;

pub use aws::COMMANDS;
pub use json::Place;

/// A lab made from AWS: its YAML text and what could not be represented.
#[derive(Debug)]
pub struct Imported {
    pub yaml: String,
    pub warnings: Vec<Warning>,
}

/// Something of the input that the lab does not represent (or represents
/// only approximately), and where it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Warning {
    pub place: Place,
    pub message: String,
}

impl Warning {
    pub(crate) fn at(place: &Place, message: impl Into<String>) -> Warning {
        Warning {
            place: place.clone(),
            message: message.into(),
        }
    }
}

/// `FILE:LINE:COLUMN: OBJECT: FIELD: message`, leaving out the parts that
/// are not known or empty.
fn write_place(f: &mut fmt::Formatter<'_>, place: &Place, message: &str) -> fmt::Result {
    write!(f, "{}", place.file)?;
    if let Some((line, column)) = place.position {
        write!(f, ":{line}:{column}")?;
    }
    for part in [&place.object, &place.field] {
        if !part.is_empty() {
            write!(f, ": {part}")?;
        }
    }
    write!(f, ": {message}")
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_place(f, &self.place, &self.message)
    }
}

/// Why an import failed: a file that cannot be read or is missing, JSON
/// that does not parse, or a value that is missing, of the wrong type or
/// refers to nothing.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("{file}: {message}")]
    File { file: String, message: String },
    #[error("{file}:{line}:{column}: invalid JSON: {message}")]
    Syntax {
        file: String,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{}", FieldDisplay(.place, .message))]
    Field { place: Box<Place>, message: String },
}

struct FieldDisplay<'a>(&'a Place, &'a String);

impl fmt::Display for FieldDisplay<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_place(f, self.0, self.1)
    }
}

/// Gives errors and warnings the line and column of their value, reading
/// each file named once more (the input is machine-written JSON, so the
/// object and field paths say most; the position helps an editor).
fn locate(result: Result<Imported, ImportError>) -> Result<Imported, ImportError> {
    let mut texts: std::collections::BTreeMap<String, Option<String>> = Default::default();
    let mut fix = |place: &mut Place| {
        if place.file.is_empty() {
            return;
        }
        let text = texts
            .entry(place.file.clone())
            .or_insert_with(|| std::fs::read_to_string(&place.file).ok());
        if let Some(text) = text {
            place.locate(text);
        }
    };
    match result {
        Ok(mut imported) => {
            for w in &mut imported.warnings {
                fix(&mut w.place);
            }
            Ok(imported)
        }
        Err(ImportError::Field { mut place, message }) => {
            fix(&mut place);
            Err(ImportError::Field { place, message })
        }
        Err(e) => Err(e),
    }
}

/// What to call the lab and where the input came from, for the header.
#[derive(Clone, Debug)]
pub struct Options {
    /// The lab's id; made a valid identifier if it is not one.
    pub lab: String,
    /// The command line that made the lab, for its first comment.
    pub source: String,
}

/// Imports a folder of `aws ec2 describe-*` JSON files.
pub fn import_aws(dir: &Path, options: &Options) -> Result<Imported, ImportError> {
    locate((|| {
        let mut warnings = Vec::new();
        let cloud = aws::read_dir(dir, &mut warnings)?;
        let yaml = emit::lab(&cloud, options, &mut warnings)?;
        Ok(Imported { yaml, warnings })
    })())
}

/// Imports `terraform show -json` output (a plan or a state).
pub fn import_terraform(path: &Path, options: &Options) -> Result<Imported, ImportError> {
    locate((|| {
        let mut warnings = Vec::new();
        let cloud = terraform::read_file(path, &mut warnings)?;
        let yaml = emit::lab(&cloud, options, &mut warnings)?;
        Ok(Imported { yaml, warnings })
    })())
}

/// `text` as a wirelab identifier: lowercase letters, digits and `-`,
/// starting with a letter or digit, at most 63 characters; empty when
/// nothing of it is usable.
pub fn identifier(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        let c = c.to_ascii_lowercase();
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            out.push(c);
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    while out.ends_with('-') {
        out.pop();
    }
    out.truncate(63);
    while out.ends_with('-') {
        out.pop();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_sanitized() {
        assert_eq!(identifier("Web Server #1"), "web-server-1");
        assert_eq!(identifier("--prod__DB--"), "prod-db");
        assert_eq!(identifier("日本"), "");
        assert_eq!(identifier(&"a".repeat(80)).len(), 63);
    }
}
