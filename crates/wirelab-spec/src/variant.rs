//! Per-student variants of a lab (`variables:`): the author marks values
//! with `${name}` anywhere in the lab and lists the choices of each name;
//! each student gets one choice per name, drawn deterministically from the
//! lab's seed and the student's id, so that two students' answers differ
//! where the author wants them to (a port, a subnet, a host's name).
//!
//! ```yaml
//! variables:
//!   web_port: { choose: [8080, 8081, 8443, 9000] }
//!   app_net: { choose: [10.0.2.0/24, 10.0.12.0/24, 10.0.22.0/24] }
//! hosts:
//!   web1: { network: public, services: [{ port: ${web_port} }] }
//! ```
//!
//! The substitution is textual, before the YAML is read, so a placeholder
//! may stand anywhere a value does. Choices are plain scalars (letters,
//! digits, `.`, `:`, `/`, `-`, `_`), so that the text stays the same YAML.
//! Without a student (`wirelab check`, `wirelab test` alone) every name
//! takes its first choice: the author's own version. Only a lab that
//! declares `variables:` has placeholders; there `$${` is a literal `${`.

use crate::diag::Diagnostic;
use crate::model::Span;
use crate::read::{self, did_you_mean, Diags};
use crate::yaml::{self, Value};

/// Keys of a variable.
pub(crate) const VARIABLE_KEYS: [&str; 1] = ["choose"];
/// Most variables of a lab, and most choices of one.
const VARIABLES_MAX: usize = 1_000;
const CHOICES_MAX: usize = 1_000;

/// One variable: its name and its choices, as text.
struct Variable {
    name: String,
    choices: Vec<String>,
}

/// The lab text with every `${name}` replaced by the student's choice
/// (the first choice without a student). Text without `${` and without
/// `variables:` is returned as is. Every mistake at once: a malformed
/// `variables:`, an unknown or malformed placeholder, a placeholder inside
/// `variables:` itself.
pub fn variant_text(
    file: &str,
    text: &str,
    student: Option<&str>,
) -> Result<String, Vec<Diagnostic>> {
    if !text.contains("${") && !text.contains("variables") {
        return Ok(text.to_string());
    }
    // Placeholders may stand where `{` and `}` mean something to YAML
    // (`{ port: ${p} }`): read the template with each one blanked out
    // (same length, so positions hold) to find `variables:`.
    let Ok(root) = yaml::load(&blanked(text)) else {
        // The reader reports the syntax error with its position.
        return Ok(text.to_string());
    };
    let mut d = Diags::new(file);
    let top = match &root.value {
        Value::Map(entries) => entries.as_slice(),
        _ => &[],
    };
    let seed = top
        .iter()
        .find(|(k, _)| k.value == "seed")
        .and_then(|(_, n)| match n.value {
            Value::Int(i) => u64::try_from(i).ok(),
            _ => None,
        })
        .unwrap_or(1);
    let declared = top.iter().find(|(k, _)| k.value == "variables");
    let variables = match declared {
        Some((_, node)) => read_variables(node, &mut d),
        // Without `variables:`, `${` is plain text, as in any lab of the
        // format's version 1.
        None => return Ok(text.to_string()),
    };
    // The lines `variables:` spans: no placeholder may stand there.
    let section = declared.map(|(k, _)| {
        let after = top
            .iter()
            .map(|(k2, _)| k2.span.line)
            .filter(|&l| l > k.span.line)
            .min()
            .unwrap_or(u32::MAX);
        (k.span.line, after)
    });
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    let mut offset = 0;
    while let Some(i) = rest.find("${") {
        // `$${` is a literal `${`.
        if i > 0 && rest.as_bytes()[i - 1] == b'$' {
            out.push_str(&rest[..i - 1]);
            out.push_str("${");
            offset += i + 2;
            rest = &rest[i + 2..];
            continue;
        }
        out.push_str(&rest[..i]);
        let at = span_of(text, offset + i);
        let Some(end) = rest[i..].find('}') else {
            d.error(at, "`${` opens a placeholder that is never closed with `}`");
            out.push_str(&rest[i..]);
            rest = "";
            break;
        };
        let name = &rest[i + 2..i + end];
        let in_section = section.is_some_and(|(first, after)| at.line > first && at.line < after);
        if in_section {
            d.error(at, "a placeholder cannot stand inside `variables:`");
        } else if let Some(v) = variables.iter().find(|v| v.name == name) {
            out.push_str(&v.choices[choice(seed, student, v)]);
        } else if !valid_name(name) {
            d.error(
                at,
                format!(
                    "`${{{name}}}`: a placeholder is `${{NAME}}`, NAME a variable of `variables:`"
                ),
            );
        } else {
            d.error_help(
                at,
                format!("unknown variable `{name}` in `${{{name}}}`"),
                did_you_mean(name, variables.iter().map(|v| v.name.as_str())).or_else(|| {
                    Some(if variables.is_empty() {
                        "declare it under `variables:` with its choices".to_string()
                    } else {
                        format!(
                            "variables: {}",
                            variables
                                .iter()
                                .map(|v| v.name.as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        )
                    })
                }),
            );
        }
        offset += i + end + 1;
        rest = &rest[i + end + 1..];
    }
    out.push_str(rest);
    if d.has_errors() {
        return Err(d.into_sorted());
    }
    Ok(out)
}

/// `text` with every `${...}` (up to its `}` on the same line) replaced by
/// as many `_`.
fn blanked(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("${") {
        out.push_str(&rest[..i]);
        let line_end = rest[i..].find('\n').map_or(rest.len(), |n| i + n);
        match rest[i..line_end].find('}') {
            Some(end) => {
                out.extend(std::iter::repeat_n('_', end + 1));
                rest = &rest[i + end + 1..];
            }
            None => {
                out.push_str(&rest[i..line_end]);
                rest = &rest[line_end..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// The choice of `v` for `student`: the first without one; otherwise an
/// index drawn from (seed, student, name) by FNV-1a, which is stable
/// across platforms and Rust versions (the standard hasher is not).
fn choice(seed: u64, student: Option<&str>, v: &Variable) -> usize {
    let Some(student) = student else {
        return 0;
    };
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in seed
        .to_le_bytes()
        .iter()
        .chain(student.as_bytes())
        .chain([0u8].iter())
        .chain(v.name.as_bytes())
    {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    (h % v.choices.len() as u64) as usize
}

fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

fn valid_choice(text: &str) -> bool {
    !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || ".:/-_".contains(c))
}

/// `variables:`: a map of name → `{ choose: [scalar, ...] }`.
fn read_variables(node: &yaml::Node, d: &mut Diags) -> Vec<Variable> {
    let mut out = Vec::new();
    let Some(entries) = read::map_or_empty(node, "`variables`", d) else {
        return out;
    };
    if entries.len() > VARIABLES_MAX {
        d.error(
            node.span,
            format!(
                "too many variables ({}; the limit is {VARIABLES_MAX})",
                entries.len()
            ),
        );
        return out;
    }
    for (name, def) in entries {
        if !valid_name(&name.value) {
            d.error(
                name.span,
                format!("variable name `{}`: use lowercase letters, digits and `_`, starting with a letter or `_`", name.value),
            );
            continue;
        }
        let Some(fields) = read::fields(def, &VARIABLE_KEYS, "a variable", def.span, d) else {
            continue;
        };
        let Some(list) = fields.require("choose", "a variable", d) else {
            continue;
        };
        let Some(items) = read::seq(list, "`choose`", d) else {
            continue;
        };
        if items.is_empty() || items.len() > CHOICES_MAX {
            d.error(
                list.span,
                format!("`choose` lists 1 to {CHOICES_MAX} values"),
            );
            continue;
        }
        let mut choices = Vec::new();
        for item in items {
            let Some(text) = read::scalar_text(item, "a choice", d) else {
                continue;
            };
            if !valid_choice(&text) {
                d.error(
                    item.span,
                    format!("choice `{text}`: use letters, digits, `.`, `:`, `/`, `-` and `_` (it is pasted into the lab as it is)"),
                );
                continue;
            }
            choices.push(text);
        }
        // With a bad choice reported, the good ones still count (the name
        // is known, and no placeholder of it is reported as unknown).
        if !choices.is_empty() {
            out.push(Variable {
                name: name.value.clone(),
                choices,
            });
        }
    }
    out
}

/// The line and column of a byte offset.
fn span_of(text: &str, offset: usize) -> Span {
    let before = &text[..offset];
    let line = before.matches('\n').count() as u32 + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) as u32 + 1;
    Span { line, column }
}
