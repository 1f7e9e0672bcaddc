//! Students' versions of a teacher's lab (`wirelab grade`).
//!
//! A teacher's lab may declare which of its parts students edit:
//!
//! ```yaml
//! grading:
//!   editable: [security_groups, nacls, routers.r1.routes]
//! ```
//!
//! A submission is a YAML file holding those parts (or a whole copy of the
//! lab). It is merged into the teacher's lab: every editable part the
//! submission writes replaces the teacher's; everything else is the
//! teacher's. A submission that writes a part that is not editable, with
//! anything else than the teacher's own value, is rejected, so the
//! teacher's checks always win. Without `grading:`, every section except
//! `lab`, `seed` and `checks` is editable.
//!
//! Positions: the merged lab is read as if the submission came first and
//! the teacher's lab after it, so a problem in the submission is reported
//! at its own line, and one in the teacher's parts at the teacher's line
//! in the teacher's file.

use std::path::Path;

use crate::diag::{Diagnostic, Severity};
use crate::limits::{thousands, Limits};
use crate::model::Sp;
use crate::read::{self, did_you_mean, Diags};
use crate::yaml::{Node, Value};
use crate::Loaded;

/// Top-level keys a submission may write anything in: they grade nothing,
/// and the teacher's are kept.
const IGNORED: [&str; 2] = ["title", "description"];

/// Top-level sections that are never editable without `grading:`.
const FIXED_BY_DEFAULT: [&str; 5] = ["lab", "seed", "checks", "grading", "variables"];

/// The teacher's lab, kept as a tree to merge submissions into.
#[derive(Clone, Debug)]
pub struct Teacher {
    /// The lab file's path, as given.
    file: String,
    tree: Node,
    /// Editable parts, each a path of map keys (`routers.r1.routes`).
    editable: Vec<Vec<String>>,
}

/// Why a submission could not be graded: every problem found, and the
/// name of the limit hit (`hosts`, `file-bytes`, `yaml-aliases`, ...) when
/// a limit and not a mistake stopped it.
#[derive(Clone, Debug)]
pub struct Rejected {
    pub diagnostics: Vec<Diagnostic>,
    pub limit: Option<&'static str>,
}

impl Teacher {
    /// Loads and validates the teacher's lab (with the format's own
    /// limits: the teacher is trusted).
    pub fn load(path: &Path) -> Result<(Teacher, Loaded), Vec<Diagnostic>> {
        Teacher::load_variant(path, None)
    }

    /// [`Teacher::load`] of one student's variant (see [`crate::variant`]).
    pub fn load_variant(
        path: &Path,
        student: Option<&str>,
    ) -> Result<(Teacher, Loaded), Vec<Diagnostic>> {
        let file = path.display().to_string();
        let raw = crate::read_file(path, crate::FILE_BYTES_MAX)
            .map_err(|message| vec![crate::whole_file(&file, message)])?;
        let text = crate::variant::variant_text(&file, &raw, student)?;
        let loaded = crate::parse_str(&file, &text)?;
        let tree = crate::yaml::load(&text).expect("the lab was parsed once already");
        let mut d = Diags::new(&file);
        let declared = match &tree.value {
            Value::Map(top) => top.iter().find(|(k, _)| k.value == "grading"),
            _ => None,
        };
        let editable = match declared {
            Some((_, node)) => read_grading(Some(node), &mut d),
            None => crate::build::TOP_KEYS
                .iter()
                .filter(|k| !FIXED_BY_DEFAULT.contains(k))
                .map(|k| vec![k.to_string()])
                .collect(),
        };
        Ok((
            Teacher {
                file,
                tree,
                editable,
            },
            loaded,
        ))
    }

    /// This lab as `student`'s variant (see [`crate::variant`]): itself
    /// when the lab declares no `variables:`.
    pub fn variant(&self, student: &str) -> Result<Teacher, Vec<Diagnostic>> {
        let declared = matches!(&self.tree.value, Value::Map(top) if top.iter().any(|(k, _)| k.value == "variables"));
        if !declared {
            return Ok(self.clone());
        }
        Teacher::load_variant(Path::new(&self.file), Some(student)).map(|(t, _)| t)
    }

    /// The editable parts, as written (`routers.r1.routes`).
    pub fn editable(&self) -> Vec<String> {
        self.editable.iter().map(|p| p.join(".")).collect()
    }

    /// Loads a submission within `limits`, merged into this lab.
    pub fn load_submission(&self, path: &Path, limits: &Limits) -> Result<Loaded, Rejected> {
        let file = path.display().to_string();
        let reject = |message: String, limit| Rejected {
            diagnostics: vec![crate::whole_file(&file, message)],
            limit,
        };
        match std::fs::metadata(path) {
            Ok(m) if m.len() > limits.file_bytes => {
                return Err(reject(file_limit(m.len(), limits), Some("file-bytes")));
            }
            // A named pipe would block the read for ever.
            Ok(m) if !m.is_file() => {
                return Err(reject(
                    "not a regular file (a pipe or a device?): a lab file is YAML text".to_string(),
                    None,
                ));
            }
            _ => {}
        }
        let text = crate::read_file(path, limits.file_bytes).map_err(|m| reject(m, None))?;
        if text.len() as u64 > limits.file_bytes {
            return Err(reject(
                file_limit(text.len() as u64, limits),
                Some("file-bytes"),
            ));
        }
        if let Some(offset) = text.find('\0') {
            let message = "the file contains NUL bytes: it looks binary, not like YAML".to_string();
            return Err(Rejected {
                diagnostics: vec![crate::at_offset(&file, text.as_bytes(), offset, message)],
                limit: None,
            });
        }
        let student = crate::yaml::load_with(&text, limits.yaml()).map_err(|e| Rejected {
            diagnostics: vec![Diagnostic {
                file: file.clone(),
                span: e.span.unwrap_or_default(),
                severity: Severity::Error,
                message: e.message,
                help: None,
            }],
            limit: e.limit,
        })?;
        let mut d = Diags::new(&file);
        let merged = self.merge(&student, line_count(&text), &mut d);
        if d.has_errors() {
            return Err(Rejected {
                diagnostics: d.into_sorted(),
                limit: None,
            });
        }
        let limit = crate::limits::check_tree(&merged, limits, &mut d);
        if limit.is_some() {
            return Err(Rejected {
                diagnostics: self.attribute(&file, d.into_sorted(), line_count(&text)),
                limit,
            });
        }
        let lines = line_count(&text);
        let teacher_dir = Path::new(&self.file)
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        d.teacher_from = Some((lines + 1, teacher_dir));
        d.untrusted = true;
        let lab = crate::build::build(&merged, &file, &mut d);
        match lab {
            Some(lab) if !d.has_errors() => Ok(Loaded {
                lab,
                warnings: self.attribute(&file, d.into_sorted(), lines),
            }),
            _ => Err(Rejected {
                diagnostics: self.attribute(&file, d.into_sorted(), lines),
                limit: None,
            }),
        }
    }

    /// The teacher's tree with the submission's editable parts grafted in;
    /// the teacher's positions are moved past the submission's `lines`.
    /// Parts of the submission that are not editable and differ from the
    /// teacher's are reported in `d`.
    fn merge(&self, student: &Node, lines: u32, d: &mut Diags) -> Node {
        let mut merged = self.tree.clone();
        shift(&mut merged, lines);
        match &student.value {
            Value::Null => return merged,
            Value::Map(entries) => self.check_fixed(entries, &[], Some(&self.tree), d),
            other => {
                d.error(
                    student.span,
                    format!(
                        "a submission is a map of the lab's sections ({}), found {}",
                        self.editable().join(", "),
                        read::describe(other)
                    ),
                );
                return merged;
            }
        }
        for path in &self.editable {
            graft(&mut merged, student, path);
        }
        merged
    }

    /// Reports every entry under `prefix` that is neither editable nor
    /// the same as the teacher's.
    fn check_fixed(
        &self,
        entries: &[(Sp<String>, Node)],
        prefix: &[String],
        teacher: Option<&Node>,
        d: &mut Diags,
    ) {
        for (key, node) in entries {
            let mut path = prefix.to_vec();
            path.push(key.value.clone());
            let theirs = teacher.and_then(|t| child(t, &key.value));
            let ignored = prefix.is_empty() && IGNORED.contains(&key.value.as_str());
            if ignored || self.editable.iter().any(|e| path.starts_with(e)) {
                continue;
            }
            let leads_to_editable = self
                .editable
                .iter()
                .any(|e| e.len() > path.len() && e.starts_with(&path));
            if leads_to_editable {
                if let Value::Map(inner) = &node.value {
                    self.check_fixed(inner, &path, theirs, d);
                    continue;
                }
            }
            if theirs.is_some_and(|t| same(t, node)) {
                continue;
            }
            let help = did_you_mean(
                &path.join("."),
                self.editable
                    .iter()
                    .map(|e| e.join("."))
                    .collect::<Vec<_>>()
                    .iter()
                    .map(String::as_str),
            )
            .unwrap_or_else(|| format!("editable: {}", self.editable().join(", ")));
            d.error_help(
                key.span,
                format!(
                    "`{}` is not editable in this lab: the submission changes it",
                    path.join(".")
                ),
                Some(help),
            );
        }
    }

    /// Diagnostics of the merged lab, each in the file its position
    /// belongs to: past the submission's `lines`, the teacher's.
    /// Diagnostics of other files (zone files) stay as they are.
    fn attribute(&self, file: &str, mut list: Vec<Diagnostic>, lines: u32) -> Vec<Diagnostic> {
        for diag in &mut list {
            if diag.file == file && diag.span.line > lines {
                diag.span.line -= lines;
                diag.file.clone_from(&self.file);
            }
        }
        list
    }
}

fn file_limit(bytes: u64, limits: &Limits) -> String {
    format!(
        "limit: the file is {} bytes (at most {}; --limit file-bytes=N to change)",
        thousands(bytes),
        thousands(limits.file_bytes)
    )
}

/// Lines of a text, as positions count them (a last line without a
/// newline counts).
fn line_count(text: &str) -> u32 {
    let newlines = text.bytes().filter(|b| *b == b'\n').count();
    let last = usize::from(!text.is_empty() && !text.ends_with('\n'));
    u32::try_from(newlines + last).unwrap_or(u32::MAX)
}

fn child<'a>(node: &'a Node, key: &str) -> Option<&'a Node> {
    match &node.value {
        Value::Map(entries) => entries.iter().find(|(k, _)| k.value == key).map(|(_, v)| v),
        _ => None,
    }
}

/// Moves every position of `node` `lines` further down.
fn shift(node: &mut Node, lines: u32) {
    if node.span.line > 0 {
        node.span.line = node.span.line.saturating_add(lines);
    }
    match &mut node.value {
        Value::Seq(items) => items.iter_mut().for_each(|n| shift(n, lines)),
        Value::Map(entries) => {
            for (k, v) in entries {
                if k.span.line > 0 {
                    k.span.line = k.span.line.saturating_add(lines);
                }
                shift(v, lines);
            }
        }
        _ => {}
    }
}

/// Whether two trees hold the same values (positions aside).
fn same(a: &Node, b: &Node) -> bool {
    match (&a.value, &b.value) {
        (Value::Seq(x), Value::Seq(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b))
        }
        (Value::Map(x), Value::Map(y)) => {
            x.len() == y.len()
                && x.iter()
                    .zip(y)
                    .all(|((ka, va), (kb, vb))| ka.value == kb.value && same(va, vb))
        }
        (Value::Float(x), Value::Float(y)) => x.to_bits() == y.to_bits(),
        (x, y) => x == y,
    }
}

/// Puts the submission's value at `path` into `merged`, when the
/// submission has one; maps on the way are made when the teacher's lab
/// has none.
fn graft(merged: &mut Node, student: &Node, path: &[String]) {
    let Some((first, rest)) = path.split_first() else {
        return;
    };
    let Value::Map(theirs) = &student.value else {
        return;
    };
    let Some((key, value)) = theirs.iter().find(|(k, _)| &k.value == first) else {
        return;
    };
    if matches!(merged.value, Value::Null) || !matches!(merged.value, Value::Map(_)) {
        merged.value = Value::Map(Vec::new());
    }
    let Value::Map(ours) = &mut merged.value else {
        unreachable!("made a map above")
    };
    let index = match ours.iter().position(|(k, _)| &k.value == first) {
        Some(i) => i,
        None => {
            let empty = Node {
                value: Value::Null,
                span: value.span,
            };
            ours.push((key.clone(), empty));
            ours.len() - 1
        }
    };
    if rest.is_empty() {
        // A part copied unchanged stays the teacher's (its positions, and
        // its zone files in the teacher's folder).
        if !same(&ours[index].1, value) {
            ours[index] = (key.clone(), value.clone());
        }
    } else {
        graft(&mut ours[index].1, value, rest);
    }
}

/// `grading: { editable: [PATH, ...] }`: each path is map keys joined by
/// dots, starting with a top-level section.
pub(crate) fn read_grading(node: Option<&Node>, d: &mut Diags) -> Vec<Vec<String>> {
    let Some(node) = node else {
        return Vec::new();
    };
    let Some(fields) = read::fields(node, &["editable"], "`grading`", node.span, d) else {
        return Vec::new();
    };
    let Some(list) = fields.require("editable", "`grading`", d) else {
        return Vec::new();
    };
    let mut paths: Vec<Vec<String>> = Vec::new();
    for item in read::seq(list, "`editable`", d).unwrap_or(&[]) {
        let Some(text) = read::string(item, "an editable part", d) else {
            continue;
        };
        let path: Vec<String> = text.split('.').map(str::to_string).collect();
        if path.iter().any(String::is_empty) {
            d.error(
                item.span,
                format!("editable part `{text}`: write section names joined by dots, e.g. `routers.r1.routes`"),
            );
            continue;
        }
        let sections = crate::build::TOP_KEYS
            .iter()
            .copied()
            .filter(|k| !["lab", "grading"].contains(k));
        if !sections.clone().any(|k| k == path[0]) {
            let help = did_you_mean(&path[0], sections.clone()).unwrap_or_else(|| {
                format!("sections: {}", sections.collect::<Vec<_>>().join(", "))
            });
            d.error_help(
                item.span,
                format!("editable part `{text}` does not start with a section of the lab"),
                Some(help),
            );
            continue;
        }
        if paths.contains(&path) {
            d.warning(item.span, format!("editable part `{text}` is listed twice"));
            continue;
        }
        paths.push(path);
    }
    paths
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(text: &str) -> Node {
        crate::yaml::load(text).unwrap()
    }

    fn teacher(text: &str) -> Teacher {
        let tree = node(text);
        let mut d = Diags::new("t.yaml");
        let editable = read_grading(child(&tree, "grading"), &mut d);
        assert!(!d.has_errors());
        Teacher {
            file: "t.yaml".into(),
            tree,
            editable,
        }
    }

    #[test]
    fn editable_parts_replace_the_teachers() {
        let t = teacher("grading: {editable: [routers.r1.routes]}\nrouters:\n  r1: {routes: [a], x: 1}\n  r2: {routes: [b]}\nchecks: [c]\n");
        let s = node("routers:\n  r1:\n    routes: [z]\n");
        let mut d = Diags::new("s.yaml");
        let merged = t.merge(&s, 3, &mut d);
        assert!(!d.has_errors(), "{:?}", d.list);
        let r1 = child(child(&merged, "routers").unwrap(), "r1").unwrap();
        assert!(same(r1, &node("{routes: [z], x: 1}")));
        let r2 = child(child(&merged, "routers").unwrap(), "r2").unwrap();
        assert!(same(r2, &node("{routes: [b]}")));
        // The teacher's positions come after the submission's three lines.
        assert_eq!(child(&merged, "checks").unwrap().span.line, 5 + 3);
    }

    #[test]
    fn fixed_parts_may_be_copied_but_not_changed() {
        let t = teacher("grading: {editable: [nacls]}\nchecks: [c]\nseed: 3\n");
        let mut d = Diags::new("s.yaml");
        t.merge(&node("checks: [c]\nseed: 3\nnacls: {}\n"), 3, &mut d);
        assert!(!d.has_errors(), "{:?}", d.list);
        t.merge(&node("nacls: {}\nchecks: [c, d]\n"), 2, &mut d);
        let shown: Vec<String> = d.list.iter().map(ToString::to_string).collect();
        assert_eq!(
            shown,
            ["s.yaml:2:1: error: `checks` is not editable in this lab: the submission changes it (editable: nacls)"]
        );
    }

    #[test]
    fn grading_paths_are_validated() {
        let mut d = Diags::new("t.yaml");
        let paths = read_grading(
            Some(&node(
                "editable: [nacl, routers..x, security_groups, security_groups]",
            )),
            &mut d,
        );
        assert_eq!(paths, [vec!["security_groups".to_string()]]);
        let shown: Vec<String> = d.into_sorted().iter().map(ToString::to_string).collect();
        assert!(
            shown[0].contains("`nacl` does not start with a section")
                && shown[0].contains("did you mean `nacls`?"),
            "{shown:?}"
        );
        assert!(shown[1].contains("joined by dots"), "{shown:?}");
        assert!(shown[2].contains("listed twice"), "{shown:?}");
    }
}
