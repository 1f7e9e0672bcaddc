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
}

impl Place {
    pub(crate) fn error(&self, message: impl Into<String>) -> ImportError {
        ImportError::Field {
            file: self.file.clone(),
            object: self.object.clone(),
            field: self.field.clone(),
            message: message.into(),
        }
    }

    pub(crate) fn at(&self, field: &str) -> Place {
        Place {
            field: join(&self.field, field),
            ..self.clone()
        }
    }
}

impl<'a> Node<'a> {
    pub(crate) fn place(&self) -> Place {
        Place {
            file: self.file.to_string(),
            object: self.object.clone(),
            field: self.path.clone(),
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
            value,
        }))
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
