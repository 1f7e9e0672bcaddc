//! Reading typed values out of the YAML tree while collecting diagnostics.
//!
//! Every helper reports what is wrong at the offending value and returns
//! `None`, so that validation goes on and finds every problem of the file.

use crate::diag::{Diagnostic, Severity};
use crate::model::{Sp, Span};
use crate::yaml::{Node, Value};

/// The problems found so far.
pub struct Diags {
    file: String,
    pub list: Vec<Diagnostic>,
    /// The lab may name other files (zone files). Off for labs that come
    /// from elsewhere than a file (`wirelab serve`'s PUT): they have no
    /// folder, and must not read the server's files.
    pub files_allowed: bool,
    /// In a submission merged into a teacher's lab: the first line of the
    /// teacher's part and the teacher's folder, where its zone files are.
    pub teacher_from: Option<(u32, std::path::PathBuf)>,
    /// The lab is a submission (`wirelab grade`): the files it names must
    /// be regular files.
    pub untrusted: bool,
}

impl Diags {
    pub fn new(file: &str) -> Self {
        Diags {
            file: file.to_string(),
            list: Vec::new(),
            files_allowed: true,
            teacher_from: None,
            untrusted: false,
        }
    }

    pub fn push(&mut self, severity: Severity, span: Span, message: String, help: Option<String>) {
        self.list.push(Diagnostic {
            file: self.file.clone(),
            span,
            severity,
            message,
            help,
        });
    }

    pub fn error(&mut self, span: Span, message: impl Into<String>) {
        self.push(Severity::Error, span, message.into(), None);
    }

    pub fn error_help(&mut self, span: Span, message: impl Into<String>, help: Option<String>) {
        self.push(Severity::Error, span, message.into(), help);
    }

    pub fn warning(&mut self, span: Span, message: impl Into<String>) {
        self.push(Severity::Warning, span, message.into(), None);
    }

    /// An error in another file than the lab (a zone file it names).
    pub fn error_in(&mut self, file: &str, span: Span, message: impl Into<String>) {
        self.list.push(Diagnostic {
            file: file.to_string(),
            span,
            severity: Severity::Error,
            message: message.into(),
            help: None,
        });
    }

    /// How many errors so far (to tell whether a part added any).
    pub fn error_count(&self) -> usize {
        self.list
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .count()
    }

    pub fn has_errors(&self) -> bool {
        self.list.iter().any(|d| d.severity == Severity::Error)
    }

    /// Every diagnostic, in file order (whole-file problems first).
    pub fn into_sorted(self) -> Vec<Diagnostic> {
        let mut list = self.list;
        let lab = self.file;
        // The lab's own problems first, then each other file's, each in
        // file order.
        list.sort_by(|a, b| {
            (a.file != lab, &a.file, a.span).cmp(&(b.file != lab, &b.file, b.span))
        });
        list
    }
}

/// "did you mean `x`?" for the candidate closest to `word`, if any is close.
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<String> {
    let mut best: Option<(usize, &str)> = None;
    for candidate in candidates {
        let distance = strsim::damerau_levenshtein(word, candidate);
        let longest = word.chars().count().max(candidate.chars().count());
        // One edit in three characters; one edit for short names (`r3` → `r1`),
        // none for single letters.
        let limit = if longest >= 2 {
            (longest / 3).max(1)
        } else {
            0
        };
        if distance <= limit && best.is_none_or(|(d, _)| distance < d) {
            best = Some((distance, candidate));
        }
    }
    best.map(|(_, c)| format!("did you mean `{c}`?"))
}

/// The entries of a map node whose keys were checked against `allowed`.
pub struct Fields<'a> {
    entries: &'a [(Sp<String>, Node)],
    /// Where the map is named (its key), for "missing `x`" errors.
    pub at: Span,
}

impl<'a> Fields<'a> {
    pub fn get(&self, key: &str) -> Option<&'a Node> {
        self.entries
            .iter()
            .find(|(k, _)| k.value == key)
            .map(|(_, v)| v)
    }

    pub fn key_span(&self, key: &str) -> Option<Span> {
        self.entries
            .iter()
            .find(|(k, _)| k.value == key)
            .map(|(k, _)| k.span)
    }

    /// The value of a required key; reports it missing otherwise.
    pub fn require(&self, key: &str, what: &str, d: &mut Diags) -> Option<&'a Node> {
        let node = self.get(key);
        if node.is_none() {
            d.error(self.at, format!("{what} is missing `{key}`"));
        }
        node
    }
}

/// Reads `node` as a map with the keys `allowed`; every other key is an
/// error naming it (with a suggestion). `what` names the map in messages;
/// `at` is where the map is named.
pub fn fields<'a>(
    node: &'a Node,
    allowed: &[&str],
    what: &str,
    at: Span,
    d: &mut Diags,
) -> Option<Fields<'a>> {
    let entries = map(node, what, d)?;
    for (key, _) in entries {
        if !allowed.contains(&key.value.as_str()) {
            let help = did_you_mean(&key.value, allowed.iter().copied())
                .or_else(|| Some(format!("valid keys here: {}", allowed.join(", "))));
            d.error_help(
                key.span,
                format!("unknown key `{}` in {what}", key.value),
                help,
            );
        }
    }
    Some(Fields { entries, at })
}

/// Reads `node` as a map (names → values).
pub fn map<'a>(node: &'a Node, what: &str, d: &mut Diags) -> Option<&'a [(Sp<String>, Node)]> {
    match &node.value {
        Value::Map(entries) => Some(entries),
        other => {
            d.error(
                node.span,
                format!("{what} must be a map, found {}", describe(other)),
            );
            None
        }
    }
}

/// Reads `node` as a list. `null` (a key with nothing after it) is an empty list.
pub fn seq<'a>(node: &'a Node, what: &str, d: &mut Diags) -> Option<&'a [Node]> {
    match &node.value {
        Value::Seq(items) => Some(items),
        Value::Null => Some(&[]),
        other => {
            d.error(
                node.span,
                format!("{what} must be a list, found {}", describe(other)),
            );
            None
        }
    }
}

/// Reads `node` as a map, where `null` (nothing written) is an empty map.
pub fn map_or_empty<'a>(
    node: &'a Node,
    what: &str,
    d: &mut Diags,
) -> Option<&'a [(Sp<String>, Node)]> {
    match &node.value {
        Value::Null => Some(&[]),
        _ => map(node, what, d),
    }
}

pub fn string<'a>(node: &'a Node, what: &str, d: &mut Diags) -> Option<&'a str> {
    match &node.value {
        Value::Str(s) => Some(s),
        other => {
            d.error(
                node.span,
                format!("{what} must be a string, found {}", describe(other)),
            );
            None
        }
    }
}

/// A string or a number, as text (for values like `ports: 80` or `loss: 1`).
pub fn scalar_text(node: &Node, what: &str, d: &mut Diags) -> Option<String> {
    match &node.value {
        Value::Str(s) => Some(s.clone()),
        Value::Int(i) => Some(i.to_string()),
        Value::Float(f) => Some(f.to_string()),
        other => {
            d.error(
                node.span,
                format!(
                    "{what} must be a string or a number, found {}",
                    describe(other)
                ),
            );
            None
        }
    }
}

pub fn boolean(node: &Node, what: &str, d: &mut Diags) -> Option<bool> {
    match &node.value {
        Value::Bool(b) => Some(*b),
        other => {
            d.error(
                node.span,
                format!("{what} must be true or false, found {}", describe(other)),
            );
            None
        }
    }
}

/// An integer within `min..=max`.
pub fn int_in(node: &Node, what: &str, min: i128, max: i128, d: &mut Diags) -> Option<i128> {
    match &node.value {
        Value::Int(i) if (min..=max).contains(i) => Some(*i),
        Value::Int(i) => {
            d.error(
                node.span,
                format!("{what} `{i}` is out of range ({min}..={max})"),
            );
            None
        }
        Value::Float(f) => {
            d.error(
                node.span,
                format!("{what} must be a whole number, found `{f}`"),
            );
            None
        }
        other => {
            d.error(
                node.span,
                format!("{what} must be a number, found {}", describe(other)),
            );
            None
        }
    }
}

/// "a string `abc`", "a list", ...: the kind of a value, with short scalars quoted.
pub fn describe(value: &Value) -> String {
    match value {
        Value::Str(s) if s.chars().count() <= 40 => format!("the string `{s}`"),
        Value::Int(i) => format!("the number `{i}`"),
        Value::Float(f) => format!("the number `{f}`"),
        Value::Bool(b) => format!("`{b}`"),
        other => other.kind().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_names_only() {
        assert_eq!(
            did_you_mean("secuirty_groups", ["hosts", "security_groups"]).as_deref(),
            Some("did you mean `security_groups`?")
        );
        assert_eq!(
            did_you_mean("web-sgg", ["web-sg", "db-sg"]).as_deref(),
            Some("did you mean `web-sg`?")
        );
        assert_eq!(did_you_mean("ghost", ["a", "b"]), None);
        assert_eq!(did_you_mean("x", ["y"]), None);
        assert_eq!(
            did_you_mean("r3", ["r1", "x"]).as_deref(),
            Some("did you mean `r1`?")
        );
        assert_eq!(
            did_you_mean("r11", ["r1", "r2"]).as_deref(),
            Some("did you mean `r1`?")
        );
    }
}
