//! Reading JSON with the way to every value kept, so that a value of the
//! wrong type is reported as `FILE: OBJECT: FIELD: message`, where OBJECT
//! names the AWS object (`SecurityGroups[2] (sg-0abc)`) and FIELD the way
//! inside it (`IpPermissions[0].FromPort`).

use serde_json::Value;

use crate::ImportError;

/// Parses a whole JSON document; a syntax error carries its line and column.
pub(crate) fn parse(file: &str, text: &str) -> Result<Value, ImportError> {
    serde_json::from_str(text).map_err(|e| {
        // serde_json ends its message with the position, given separately.
        let mut message = e.to_string();
        if let Some(i) = message.rfind(" at line ") {
            message.truncate(i);
        }
        ImportError::Syntax {
            file: file.to_string(),
            line: e.line(),
            column: e.column(),
            message,
        }
    })
}

/// A JSON value, where it came from and how it was reached.
#[derive(Clone)]
pub(crate) struct Node<'a> {
    pub file: &'a str,
    pub object: String,
    pub path: String,
    /// Keys and indices from the document's root, to find the value's line.
    pub pointer: Vec<String>,
    pub value: &'a Value,
}

/// What a value is, for "expected X, found Y".
pub(crate) fn describe(value: &Value) -> String {
    match value {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => {
            let mut shown: String = s.chars().take(40).collect();
            if shown.len() < s.len() {
                shown.push('…');
            }
            format!("{shown:?}")
        }
        Value::Array(_) => "a list".into(),
        Value::Object(_) => "a map".into(),
    }
}

/// Joins a field path: `a` + `b` → `a.b`, `a` + `[0]` → `a[0]`.
pub(crate) fn join(path: &str, key: &str) -> String {
    if path.is_empty() || key.starts_with('[') {
        format!("{path}{key}")
    } else {
        format!("{path}.{key}")
    }
}

/// An owned place: the object and field path of a value, to build errors
/// and warnings after the borrow of the document has ended.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Place {
    pub file: String,
    pub object: String,
    pub field: String,
    /// Keys and indices from the document's root.
    pub pointer: Vec<String>,
    /// Line and column (from 1), once located in the file's text.
    pub position: Option<(usize, usize)>,
}

impl Place {
    pub(crate) fn error(&self, message: impl Into<String>) -> ImportError {
        ImportError::Field {
            place: Box::new(self.clone()),
            message: message.into(),
        }
    }

    /// The place of a field below this one: `field` is a path such as
    /// `FromPort` or `Associations[0].SubnetId`.
    pub(crate) fn at(&self, field: &str) -> Place {
        let mut pointer = self.pointer.clone();
        for part in field.split('.') {
            let mut pieces = part.split('[');
            if let Some(key) = pieces.next().filter(|k| !k.is_empty()) {
                pointer.push(key.to_string());
            }
            pointer.extend(pieces.map(|i| i.trim_end_matches(']').to_string()));
        }
        Place {
            field: join(&self.field, field),
            pointer,
            ..self.clone()
        }
    }

    /// This place with its line and column in `text`, when found.
    pub(crate) fn locate(&mut self, text: &str) {
        if self.position.is_none() {
            self.position = locate(text, &self.pointer);
        }
    }
}

/// The line and column (from 1, in characters) where the value at
/// `pointer` starts in the JSON `text`; the deepest value found when the
/// last keys are missing.
pub(crate) fn locate(text: &str, pointer: &[String]) -> Option<(usize, usize)> {
    let bytes = text.as_bytes();
    let mut at = skip_ws(bytes, 0);
    for seg in pointer {
        match bytes.get(at)? {
            b'{' => {
                let mut i = skip_ws(bytes, at + 1);
                let mut found = None;
                while bytes.get(i) == Some(&b'"') {
                    let end = skip_string(bytes, i)?;
                    let key: String = serde_json::from_str(&text[i..end]).ok()?;
                    i = skip_ws(bytes, end);
                    i = skip_ws(bytes, i + 1); // the colon
                    if &key == seg {
                        found = Some(i);
                        break;
                    }
                    i = skip_ws(bytes, skip_value(bytes, i)?);
                    if bytes.get(i) == Some(&b',') {
                        i = skip_ws(bytes, i + 1);
                    }
                }
                match found {
                    Some(i) => at = i,
                    None => break,
                }
            }
            b'[' => {
                let n: usize = seg.parse().ok()?;
                let mut i = skip_ws(bytes, at + 1);
                for _ in 0..n {
                    i = skip_ws(bytes, skip_value(bytes, i)?);
                    if bytes.get(i) != Some(&b',') {
                        return None;
                    }
                    i = skip_ws(bytes, i + 1);
                }
                at = i;
            }
            _ => break,
        }
    }
    let before = text.get(..at)?;
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
    Some((line, column))
}

fn skip_ws(bytes: &[u8], mut i: usize) -> usize {
    while bytes.get(i).is_some_and(|b| b.is_ascii_whitespace()) {
        i += 1;
    }
    i
}

/// The index after the string starting at `i` (a `"`).
fn skip_string(bytes: &[u8], mut i: usize) -> Option<usize> {
    i += 1;
    loop {
        match bytes.get(i)? {
            b'\\' => i += 2,
            b'"' => return Some(i + 1),
            _ => i += 1,
        }
    }
}

/// The index after the value starting at `i`.
fn skip_value(bytes: &[u8], i: usize) -> Option<usize> {
    match bytes.get(i)? {
        b'"' => skip_string(bytes, i),
        b'{' | b'[' => {
            let mut depth = 0usize;
            let mut j = i;
            loop {
                match bytes.get(j)? {
                    b'"' => {
                        j = skip_string(bytes, j)?;
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return Some(j + 1);
                        }
                    }
                    _ => {}
                }
                j += 1;
            }
        }
        _ => {
            let mut j = i;
            while bytes
                .get(j)
                .is_some_and(|b| !matches!(b, b',' | b'}' | b']') && !b.is_ascii_whitespace())
            {
                j += 1;
            }
            Some(j)
        }
    }
}

impl<'a> Node<'a> {
    pub(crate) fn place(&self) -> Place {
        Place {
            file: self.file.to_string(),
            object: self.object.clone(),
            field: self.path.clone(),
            pointer: self.pointer.clone(),
            position: None,
        }
    }

    pub(crate) fn error(&self, message: impl Into<String>) -> ImportError {
        self.place().error(message)
    }

    fn expected(&self, what: &str) -> ImportError {
        self.error(format!("expected {what}, found {}", describe(self.value)))
    }

    pub(crate) fn as_str(&self) -> Result<&'a str, ImportError> {
        self.value.as_str().ok_or_else(|| self.expected("a string"))
    }

    pub(crate) fn as_i64(&self) -> Result<i64, ImportError> {
        self.value.as_i64().ok_or_else(|| self.expected("a number"))
    }

    pub(crate) fn as_bool(&self) -> Result<bool, ImportError> {
        self.value
            .as_bool()
            .ok_or_else(|| self.expected("true or false"))
    }

    /// The top of a document: no object yet.
    pub(crate) fn root(file: &'a str, value: &'a Value) -> Node<'a> {
        Node {
            file,
            object: String::new(),
            path: String::new(),
            pointer: Vec::new(),
            value,
        }
    }

    /// The same value, now known as the object `object` (fields count from
    /// here).
    pub(crate) fn as_object(&self, object: String) -> Node<'a> {
        Node {
            file: self.file,
            object,
            path: String::new(),
            pointer: self.pointer.clone(),
            value: self.value,
        }
    }

    /// A field that may be absent or null.
    pub(crate) fn get(&self, key: &str) -> Result<Option<Node<'a>>, ImportError> {
        let Value::Object(map) = self.value else {
            return Err(self.expected("a map"));
        };
        Ok(map.get(key).filter(|v| !v.is_null()).map(|value| Node {
            file: self.file,
            object: self.object.clone(),
            path: join(&self.path, key),
            pointer: self.pointer_to(key),
            value,
        }))
    }

    fn pointer_to(&self, seg: &str) -> Vec<String> {
        let mut p = self.pointer.clone();
        p.push(seg.to_string());
        p
    }

    /// A field that must be there.
    pub(crate) fn req(&self, key: &str) -> Result<Node<'a>, ImportError> {
        self.get(key)?.ok_or_else(|| {
            Place {
                field: join(&self.path, key),
                ..self.place()
            }
            .error("missing")
        })
    }

    pub(crate) fn str(&self, key: &str) -> Result<&'a str, ImportError> {
        self.req(key)?.as_str()
    }

    pub(crate) fn opt_str(&self, key: &str) -> Result<Option<&'a str>, ImportError> {
        self.get(key)?.map(|n| n.as_str()).transpose()
    }

    pub(crate) fn opt_i64(&self, key: &str) -> Result<Option<i64>, ImportError> {
        self.get(key)?.map(|n| n.as_i64()).transpose()
    }

    pub(crate) fn opt_bool(&self, key: &str) -> Result<Option<bool>, ImportError> {
        self.get(key)?.map(|n| n.as_bool()).transpose()
    }

    /// The elements of a list; an absent or null list is empty.
    pub(crate) fn list(&self, key: &str) -> Result<Vec<Node<'a>>, ImportError> {
        match self.get(key)? {
            None => Ok(Vec::new()),
            Some(n) => n.items(),
        }
    }

    /// The elements of this value, which must be a list.
    pub(crate) fn items(&self) -> Result<Vec<Node<'a>>, ImportError> {
        let Value::Array(items) = self.value else {
            return Err(self.expected("a list"));
        };
        Ok(items
            .iter()
            .enumerate()
            .map(|(i, value)| Node {
                file: self.file,
                object: self.object.clone(),
                path: join(&self.path, &format!("[{i}]")),
                pointer: self.pointer_to(&i.to_string()),
                value,
            })
            .collect())
    }

    /// The elements of a top-level list (`SecurityGroups`), each its own
    /// object named `SecurityGroups[i]`.
    pub(crate) fn objects(&self, key: &str) -> Result<Vec<Node<'a>>, ImportError> {
        Ok(self
            .list(key)?
            .into_iter()
            .enumerate()
            .map(|(i, n)| n.as_object(format!("{key}[{i}]")))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str, pointer: &[&str]) -> Option<(usize, usize)> {
        let p: Vec<String> = pointer.iter().map(|s| s.to_string()).collect();
        locate(text, &p)
    }

    #[test]
    fn values_are_located_by_line_and_column() {
        let text =
            "{\n  \"A\": [1, {\"b\\\"]\": \"x\", \"c\": [2, 3]}],\n  \"D\": \"é\", \"E\": true\n}";
        assert_eq!(at(text, &[]), Some((1, 1)));
        assert_eq!(at(text, &["A"]), Some((2, 8)));
        assert_eq!(at(text, &["A", "1", "c", "1"]), Some((2, 35)));
        assert_eq!(at(text, &["E"]), Some((3, 18)));
        // A missing key: the object that lacks it.
        assert_eq!(at(text, &["A", "1", "zz"]), Some((2, 12)));
        // An index past the end.
        assert_eq!(at(text, &["A", "5"]), None);
    }
}
