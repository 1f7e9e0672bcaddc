//! Writing a YAML tree back as text (`wirelab expand`).
//!
//! The text reads back to the same tree: every string that a YAML reader
//! could take for something else (a number, a boolean, `null`, a key
//! with `: ` in it) is double-quoted, multi-line text is a literal block
//! when that keeps it exactly, and small maps and lists of scalars are
//! written on one line (`{ to: 10.0.0.0/8, via: 10.0.12.2 }`) as labs are.

use crate::yaml::{Node, Value};

/// Longest one-line `{ ... }` or `[ ... ]`.
const FLOW_CHARS_MAX: usize = 100;
const INDENT: usize = 2;

/// The text of a whole document.
pub(crate) fn to_yaml(node: &Node) -> String {
    let mut out = String::new();
    match &node.value {
        Value::Map(entries) if !entries.is_empty() => map_block(&mut out, entries, 0),
        Value::Seq(items) if !items.is_empty() => seq_block(&mut out, items, 0),
        _ => {
            out.push_str(&inline(node).unwrap_or_default());
            out.push('\n');
        }
    }
    out
}

fn map_block(out: &mut String, entries: &[(crate::model::Sp<String>, Node)], indent: usize) {
    for (key, value) in entries {
        out.push_str(&" ".repeat(indent));
        out.push_str(&scalar_str(&key.value));
        out.push(':');
        value_after(out, value, indent);
    }
}

fn seq_block(out: &mut String, items: &[Node], indent: usize) {
    for item in items {
        out.push_str(&" ".repeat(indent));
        out.push('-');
        match &item.value {
            Value::Map(entries) if inline(item).is_none() => {
                // The first key on the dash's line, the others under it.
                let mut nested = String::new();
                map_block(&mut nested, entries, indent + INDENT);
                out.push(' ');
                out.push_str(&nested[indent + INDENT..]);
            }
            _ => value_after(out, item, indent),
        }
    }
}

/// A value after `key:` or `-`, at the indentation `indent` of its key.
fn value_after(out: &mut String, value: &Node, indent: usize) {
    if let Value::Str(text) = &value.value {
        if let Some((indicator, lines)) = literal_block(text) {
            out.push(' ');
            out.push_str(indicator);
            out.push('\n');
            for line in lines {
                if !line.is_empty() {
                    out.push_str(&" ".repeat(indent + INDENT));
                    out.push_str(line);
                }
                out.push('\n');
            }
            return;
        }
    }
    if let Some(text) = inline(value) {
        out.push(' ');
        out.push_str(&text);
        out.push('\n');
        return;
    }
    out.push('\n');
    match &value.value {
        Value::Map(entries) => map_block(out, entries, indent + INDENT),
        Value::Seq(items) => seq_block(out, items, indent + INDENT),
        _ => unreachable!("scalars are always inline"),
    }
}

/// The one-line form of a scalar, or of a short map or list of scalars;
/// `None` for what needs lines of its own.
fn inline(node: &Node) -> Option<String> {
    let text = match &node.value {
        Value::Null => "null".to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Int(i) => i.to_string(),
        Value::Float(f) => float(*f),
        Value::Str(s) => {
            if s.contains('\n') && literal_block(s).is_some() {
                return None;
            }
            scalar_str(s)
        }
        Value::Seq(items) if items.is_empty() => "[]".to_string(),
        Value::Map(entries) if entries.is_empty() => "{}".to_string(),
        Value::Seq(items) => {
            let parts = items.iter().map(flat).collect::<Option<Vec<_>>>()?;
            format!("[{}]", parts.join(", "))
        }
        Value::Map(entries) => {
            let parts = entries
                .iter()
                .map(|(k, v)| flat(v).map(|v| format!("{}: {v}", scalar_str(&k.value))))
                .collect::<Option<Vec<_>>>()?;
            format!("{{ {} }}", parts.join(", "))
        }
    };
    (text.chars().count() <= FLOW_CHARS_MAX || !text.starts_with(['[', '{'])).then_some(text)
}

/// A member of a one-line map or list: a scalar on one line.
fn flat(node: &Node) -> Option<String> {
    match &node.value {
        Value::Seq(_) | Value::Map(_) => None,
        Value::Str(s) if s.contains('\n') => Some(quoted(s)),
        _ => inline(node),
    }
}

fn float(f: f64) -> String {
    if f.is_nan() {
        ".nan".to_string()
    } else if f.is_infinite() {
        if f > 0.0 { ".inf" } else { "-.inf" }.to_string()
    } else {
        // `{:?}` always writes a point or an exponent: it reads back as a float.
        format!("{f:?}")
    }
}

/// A string as a plain scalar when nothing could misread it, else quoted.
fn scalar_str(s: &str) -> String {
    if plain_is_safe(s) {
        s.to_string()
    } else {
        quoted(s)
    }
}

fn quoted(s: &str) -> String {
    // A JSON string is a YAML double-quoted scalar with the same escapes.
    serde_json::to_string(s).expect("a string serializes")
}

/// Names, addresses and prefixes (`web-sg`, `10.0.1.0/24`) stay plain;
/// anything with other characters, or that a reader could take for a
/// number, a boolean or null, is quoted.
fn plain_is_safe(s: &str) -> bool {
    let Some(first) = s.chars().next() else {
        return false;
    };
    let charset = s
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '/' | '-'));
    if !charset || matches!(first, '-' | '.') {
        return false;
    }
    const WORDS: [&str; 13] = [
        "null", "true", "false", "yes", "no", "on", "off", "y", "n", "inf", "nan", "infinity", "~",
    ];
    if WORDS.contains(&s.to_ascii_lowercase().as_str()) {
        return false;
    }
    if first.is_ascii_digit() {
        // An address or a prefix; any other digit-led word (`1e5`, `0x1f`,
        // `10ms`, `2026-01-01`) is quoted.
        return s.matches('.').count() >= 2 || s.contains('/');
    }
    true
}

/// A multi-line string as a literal block: the indicator (`|`, `|-`, `|+`
/// for one, no or several final line breaks) and its lines. `None` when a
/// block would not keep the text exactly.
fn literal_block(s: &str) -> Option<(&'static str, Vec<&str>)> {
    if !s.contains('\n') {
        return None;
    }
    let body = s.trim_end_matches('\n');
    let breaks = s.len() - body.len();
    let printable = s.chars().all(|c| c == '\n' || c == '\t' || !c.is_control());
    let starts_blank = body.starts_with([' ', '\t']) || body.is_empty();
    let bom = s.contains('\u{feff}');
    let trailing_blank = body
        .split('\n')
        .any(|l| l.trim().is_empty() && !l.is_empty());
    if !printable || starts_blank || bom || trailing_blank {
        return None;
    }
    let indicator = match breaks {
        0 => "|-",
        1 => "|",
        _ => "|+",
    };
    let mut lines: Vec<&str> = body.split('\n').collect();
    lines.extend(std::iter::repeat_n("", breaks.saturating_sub(1)));
    Some((indicator, lines))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml;

    /// Trees equal but for positions.
    pub(crate) fn same(a: &Node, b: &Node) -> bool {
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
            (Value::Float(x), Value::Float(y)) => x == y || (x.is_nan() && y.is_nan()),
            (x, y) => x == y,
        }
    }

    fn round_trip(text: &str) {
        let tree = yaml::load(text).unwrap();
        let written = to_yaml(&tree);
        let back = yaml::load(&written)
            .unwrap_or_else(|e| panic!("written YAML does not parse: {e:?}\n{written}"));
        assert!(same(&tree, &back), "differs:\n{text}\n---\n{written}");
    }

    #[test]
    fn scalars_that_look_like_other_things_are_quoted() {
        round_trip(
            "a: 'true'\nb: 'null'\nc: '1.5'\nd: '10'\ne: '1e5'\nf: '0x1f'\ng: 'yes'\nh: ''\ni: '-x'\nj: '.inf'\nk: '~'\nl: 'a: b'\nm: '#x'\nn: \"tab\\there\"\n",
        );
        round_trip("a: 10.0.1.0/24\nb: 2001:db8::1\nc: web-sg\nd: 10ms\ne: 1Gbps\nf: 1024-65535\n");
        round_trip("'1': x\n'true': y\n'a b': z\n");
    }

    #[test]
    fn numbers_and_booleans_keep_their_type() {
        round_trip("a: 1\nb: -5\nc: 1.0\nd: 0.25\ne: true\nf: null\ng: 1e-7\n");
    }

    #[test]
    fn nested_maps_and_lists() {
        round_trip(
            "a:\n  b:\n    - { x: 1, y: [1, 2] }\n    - - 1\n      - 2\n    - []\n    - {}\n  c: {}\nd: [a, 'b c']\n",
        );
        let long: String = (0..40).map(|i| format!("n{i}, ")).collect();
        round_trip(&format!("a: [{long}]\n"));
    }

    #[test]
    fn multi_line_text_is_kept_exactly() {
        round_trip("a: |\n  one\n\n  two\n    indented\n");
        round_trip("a: |-\n  no final break\n");
        round_trip("a: |+\n  several\n\n\n");
        round_trip("a: \"  leading spaces\\nsecond\"\n");
        round_trip("a: \"trailing blank line\\n  \\nend\\n\"\n");
        round_trip("- |\n  in a list\n- x\n");
    }

    #[test]
    fn every_example_lab_reads_back_the_same() {
        let labs = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../labs");
        let mut seen = 0;
        for entry in std::fs::read_dir(labs).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "yaml") {
                round_trip(&std::fs::read_to_string(&path).unwrap());
                seen += 1;
            }
        }
        assert!(seen >= 11, "only {seen} labs");
    }
}
