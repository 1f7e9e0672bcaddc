//! The YAML layer: lab text → a generic tree whose every node keeps its
//! position. This is the only module that knows about `serde-saphyr`; the
//! rest of the crate reads [`Node`]s.
//!
//! Hostile input is bounded here: nesting depth, node and event counts and
//! alias expansion all have limits (a "billion laughs" document or 10,000
//! nested brackets gets a clean error, never a stack overflow).

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::Spanned;

use crate::model::{Sp, Span};

/// Deepest nesting of lists and maps accepted. A lab needs about eight.
pub const DEPTH_MAX: usize = 32;
/// Stack of the thread that parses: the deserializer recurses once per
/// nesting level with large frames (in debug builds ~40 levels fill the 2 MiB
/// of a test thread), so parsing gets a stack of its own, far more than
/// `DEPTH_MAX` levels need.
const PARSE_STACK_BYTES: usize = 64 * 1024 * 1024;
/// Most nodes (scalars, lists, maps) in one lab file.
const NODES_MAX: usize = 1_000_000;
/// Most events (parser events, counting aliases replayed) in one lab file.
const EVENTS_MAX: usize = 4_000_000;
/// Most events that aliases may replay in total.
const ALIAS_REPLAY_MAX: usize = 100_000;

/// One YAML value and where it starts.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    pub value: Value,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    /// Wide enough for every `i64` and `u64` the parser can produce.
    Int(i128),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    /// Entries in file order; keys are scalars turned into text.
    Map(Vec<(Sp<String>, Node)>),
}

impl Value {
    /// What the value is, for "expected X, found Y" messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Null => "nothing (null)",
            Value::Bool(_) => "a boolean",
            Value::Int(_) | Value::Float(_) => "a number",
            Value::Str(_) => "a string",
            Value::Seq(_) => "a list",
            Value::Map(_) => "a map",
        }
    }
}

/// A YAML syntax error (or a parser limit hit), with its position when known.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyntaxError {
    /// `None` when the parser gave no position.
    pub span: Option<Span>,
    pub message: String,
    /// The name of the limit hit (`yaml-depth`, `yaml-aliases`,
    /// `yaml-nodes`), when a limit and not the syntax stopped the parser.
    pub limit: Option<&'static str>,
}

/// How much YAML one file may hold. The defaults are those of every lab;
/// `wirelab grade` passes tighter ones for submissions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct YamlLimits {
    pub depth: usize,
    pub nodes: usize,
    pub events: usize,
    pub alias_events: usize,
}

impl Default for YamlLimits {
    fn default() -> Self {
        YamlLimits {
            depth: DEPTH_MAX,
            nodes: NODES_MAX,
            events: EVENTS_MAX,
            alias_events: ALIAS_REPLAY_MAX,
        }
    }
}

/// Parses one YAML document. An empty document (or one with only comments)
/// is `Value::Null`.
pub fn load(text: &str) -> Result<Node, SyntaxError> {
    load_with(text, YamlLimits::default())
}

/// [`load`] within `limits`.
pub fn load_with(text: &str, limits: YamlLimits) -> Result<Node, SyntaxError> {
    std::thread::scope(|scope| {
        let parser = std::thread::Builder::new()
            .name("wirelab-yaml".to_string())
            .stack_size(PARSE_STACK_BYTES)
            .spawn_scoped(scope, || parse(text, limits));
        match parser {
            Ok(handle) => handle.join().unwrap_or_else(|_| {
                Err(SyntaxError {
                    span: None,
                    message: "the YAML parser failed on this file".to_string(),
                    limit: None,
                })
            }),
            // No thread to be had: parse here (the depth limit still bounds the recursion).
            Err(_) => parse(text, limits),
        }
    })
}

fn parse(text: &str, limits: YamlLimits) -> Result<Node, SyntaxError> {
    // The tree is walked recursively below: never deeper than the stack
    // was sized for, whatever a caller asks.
    let depth = limits.depth.min(DEPTH_MAX);
    let options = serde_saphyr::options! {
        with_snippet: false,
        // YAML 1.2 booleans only: a host named `y` or `on` stays a name.
        strict_booleans: true,
        budget: serde_saphyr::budget! {
            max_depth: depth,
            flow_nesting_limit: depth,
            max_nodes: limits.nodes,
            max_events: limits.events,
            max_documents: 1,
        },
        alias_limits: serde_saphyr::alias_limits! {
            max_total_replayed_events: limits.alias_events,
        },
    };
    match serde_saphyr::from_str_with_options::<Spanned<Tree>>(text, options) {
        Ok(tree) => Ok(into_node(tree, 0)),
        Err(error) => Err(syntax_error(&error, &limits)),
    }
}

fn syntax_error(error: &serde_saphyr::Error, limits: &YamlLimits) -> SyntaxError {
    let span = error
        .location()
        .map(|l| Span {
            line: l.line() as u32,
            column: l.column() as u32,
        })
        .filter(|s| s.line > 0);
    let raw = error.to_string();
    // The rendered error ends with " at line L, column C ..."; the position
    // is reported separately.
    let text = raw.split(" at line ").next().unwrap_or(&raw).trim();
    let depth = limits.depth.min(DEPTH_MAX);
    let (message, limit) = if matches!(error, serde_saphyr::Error::MultipleDocuments { .. })
        || text.contains("Documents")
    {
        (
            "a lab file holds one YAML document, found a second one (after `---`)".to_string(),
            None,
        )
    } else if text.contains("recursion limit") || text.contains("Depth") {
        (
            format!("lists and maps nested too deeply (the limit is {depth} levels)"),
            Some("yaml-depth"),
        )
    } else if text.contains("alias") || text.contains("Alias") {
        (
            format!(
                "too many alias expansions ({text}); the limit is {} replayed events",
                limits.alias_events
            ),
            Some("yaml-aliases"),
        )
    } else if text.contains("budget breached") {
        (
            format!("the document is too large for a lab file ({text})"),
            Some("yaml-nodes"),
        )
    } else {
        (format!("YAML syntax error: {text}"), None)
    };
    SyntaxError {
        span,
        message,
        limit,
    }
}

/// Turns the parsed tree into [`Node`]s. The parser already bounds the depth;
/// `depth` is a second guard so this recursion is bounded whatever it does.
fn into_node(tree: Spanned<Tree>, depth: usize) -> Node {
    let span = Span {
        line: tree.referenced.line() as u32,
        column: tree.referenced.column() as u32,
    };
    let value = match tree.value {
        Tree::Null => Value::Null,
        Tree::Bool(b) => Value::Bool(b),
        Tree::Int(i) => Value::Int(i),
        Tree::Float(f) => Value::Float(f),
        Tree::Str(s) => Value::Str(s),
        _ if depth >= DEPTH_MAX => Value::Null,
        Tree::Seq(items) => {
            Value::Seq(items.into_iter().map(|t| into_node(t, depth + 1)).collect())
        }
        Tree::Map(entries) => Value::Map(
            entries
                .into_iter()
                .map(|(k, v)| {
                    let key_span = Span {
                        line: k.referenced.line() as u32,
                        column: k.referenced.column() as u32,
                    };
                    (Sp::new(k.value.0, key_span), into_node(v, depth + 1))
                })
                .collect(),
        ),
    };
    Node { value, span }
}

/// What serde-saphyr deserializes into.
enum Tree {
    Null,
    Bool(bool),
    Int(i128),
    Float(f64),
    Str(String),
    Seq(Vec<Spanned<Tree>>),
    Map(Vec<(Spanned<Key>, Spanned<Tree>)>),
}

/// A map key: any scalar, as text (`1: x` has the key `"1"`).
struct Key(String);

struct KeyVisitor;

impl<'de> Visitor<'de> for KeyVisitor {
    type Value = Key;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a scalar map key (a name), not a list or a map")
    }
    fn visit_unit<E>(self) -> Result<Key, E> {
        Ok(Key("null".to_string()))
    }
    fn visit_none<E>(self) -> Result<Key, E> {
        Ok(Key("null".to_string()))
    }
    fn visit_bool<E>(self, v: bool) -> Result<Key, E> {
        Ok(Key(v.to_string()))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Key, E> {
        Ok(Key(v.to_string()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Key, E> {
        Ok(Key(v.to_string()))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Key, E> {
        Ok(Key(v.to_string()))
    }
    fn visit_str<E>(self, v: &str) -> Result<Key, E> {
        Ok(Key(v.to_string()))
    }
    fn visit_string<E>(self, v: String) -> Result<Key, E> {
        Ok(Key(v))
    }
}

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(KeyVisitor)
    }
}

struct TreeVisitor;

impl<'de> Visitor<'de> for TreeVisitor {
    type Value = Tree;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_unit<E>(self) -> Result<Tree, E> {
        Ok(Tree::Null)
    }
    fn visit_none<E>(self) -> Result<Tree, E> {
        Ok(Tree::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Tree, D::Error> {
        d.deserialize_any(TreeVisitor)
    }
    fn visit_bool<E>(self, v: bool) -> Result<Tree, E> {
        Ok(Tree::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Tree, E> {
        Ok(Tree::Int(v.into()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Tree, E> {
        Ok(Tree::Int(v.into()))
    }
    fn visit_i128<E>(self, v: i128) -> Result<Tree, E> {
        Ok(Tree::Int(v))
    }
    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Tree, E> {
        Ok(i128::try_from(v).map_or(Tree::Float(v as f64), Tree::Int))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Tree, E> {
        Ok(Tree::Float(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Tree, E> {
        Ok(Tree::Str(v.to_string()))
    }
    fn visit_string<E>(self, v: String) -> Result<Tree, E> {
        Ok(Tree::Str(v))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Tree, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1024));
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Tree::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Tree, A::Error> {
        let mut entries = Vec::with_capacity(map.size_hint().unwrap_or(0).min(1024));
        while let Some(entry) = map.next_entry()? {
            entries.push(entry);
        }
        Ok(Tree::Map(entries))
    }
}

impl<'de> Deserialize<'de> for Tree {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(TreeVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_keep_their_positions() {
        let node = load("a: 1\nb:\n  - x\n").unwrap();
        let Value::Map(entries) = node.value else {
            panic!("not a map")
        };
        assert_eq!(entries[0].0.value, "a");
        assert_eq!(entries[0].1.span, Span { line: 1, column: 4 });
        let Value::Seq(items) = &entries[1].1.value else {
            panic!("not a list")
        };
        assert_eq!(items[0].value, Value::Str("x".into()));
        assert_eq!(items[0].span, Span { line: 3, column: 5 });
    }

    #[test]
    fn scalar_keys_become_text() {
        let node = load("1: x\ntrue: y\n").unwrap();
        let Value::Map(entries) = node.value else {
            panic!("not a map")
        };
        assert_eq!(entries[0].0.value, "1");
        assert_eq!(entries[1].0.value, "true");
    }

    #[test]
    fn complex_keys_are_errors() {
        let error = load("? [a]\n: z\n").unwrap_err();
        assert!(error.span.is_some());
    }

    #[test]
    fn duplicate_keys_are_errors() {
        let error = load("a: 1\na: 2\n").unwrap_err();
        assert_eq!(error.span.map(|s| s.line), Some(2));
        assert!(error.message.contains("duplicate"), "{}", error.message);
    }

    #[test]
    fn second_document_is_an_error() {
        let error = load("a: 1\n---\nb: 2\n").unwrap_err();
        assert!(
            error.message.contains("one YAML document"),
            "{}",
            error.message
        );
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let text = format!("a: {}{}", "[".repeat(10_000), "]".repeat(10_000));
        let error = load(&text).unwrap_err();
        assert!(
            error.message.contains("nested too deeply"),
            "{}",
            error.message
        );
        let mut block = String::from("x:\n");
        for i in 0..10_000 {
            block.push_str(&" ".repeat(2 * i + 2));
            block.push_str(&format!("k{i}:\n"));
        }
        let error = load(&block).unwrap_err();
        assert!(
            error.message.contains("nested too deeply"),
            "{}",
            error.message
        );
    }

    #[test]
    fn billion_laughs_is_an_error() {
        let mut text = String::from("a: &a [x,x,x,x,x,x,x,x,x,x]\n");
        for i in 1..12u8 {
            let (me, prev) = ((b'a' + i) as char, (b'a' + i - 1) as char);
            let refs = vec![format!("*{prev}"); 10].join(",");
            text.push_str(&format!("{me}: &{me} [{refs}]\n"));
        }
        let error = load(&text).unwrap_err();
        assert!(error.message.contains("alias"), "{}", error.message);
    }

    #[test]
    fn tabs_in_indentation_give_a_position() {
        let error = load("a:\n\tb: 1\n").unwrap_err();
        assert_eq!(error.span.map(|s| s.line), Some(2));
    }
}
