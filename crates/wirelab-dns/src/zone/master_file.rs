//! Master files (RFC 1035 §5), with every error at once and each error at
//! its own line and column.
//!
//! RFC 1035 §5.1:
//!
//! > The format of these files is a sequence of entries.  Entries are
//! > predominantly line-oriented, though parentheses can be used to continue
//! > a list of items across a line boundary, and text literals can contain
//! > CRLF within the text.  Any combination of tabs and spaces act as a
//! > delimiter between the separate items that make up an entry.  The end of
//! > any line in the master file can end with a comment.  The comment starts
//! > with a ";" (semicolon).
//!
//! hickory-proto's zone parser stops at the first error and does not say
//! where it was. So this module splits the text into entries itself
//! (tracking lines, parentheses, quotes and comments), resolves the owner,
//! TTL, class and type of each entry, and hands only the RDATA of one entry
//! at a time to hickory ([`super::rdata_from_text`]). An error in one entry
//! is recorded with the entry's line and column and parsing goes on with the
//! next entry.
//!
//! Not supported, each reported as an error at its line: `$INCLUDE` (a lab
//! may not read other files) and classes other than IN.

use hickory_proto::rr::{Name, RecordType};
use hickory_proto::serialize::txt::parse_ttl;

use super::{record_from_parts, ZoneRecord};

/// A problem in a master file, at the file's own 1-based line and column.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{line}:{column}: {message}")]
pub struct ZoneFileError {
    /// 1-based line of the zone file.
    pub line: u32,
    /// 1-based column (in characters) of the zone file.
    pub column: u32,
    /// What is wrong, as a sentence fragment without a trailing period.
    pub message: String,
}

/// At most this many errors are reported; the last one then says that
/// parsing stopped. A file this broken is not worth reading further.
pub const ZONE_FILE_ERRORS_MAX: usize = 100;

/// At most this many records are read from one file, so that a lab cannot
/// make the simulator hold an unbounded zone.
pub const ZONE_FILE_RECORDS_MAX: usize = 100_000;

/// Parses an RFC 1035 master file into records, each with its line.
///
/// `origin` is the initial `$ORIGIN` (and the meaning of `@` until a
/// `$ORIGIN` line changes it). `default_ttl` is the TTL of records that give
/// none, until a `$TTL` line (RFC 2308 §4) sets another.
///
/// Understood: `$ORIGIN`, `$TTL`, `@`, names relative to the origin, a
/// blank owner meaning the previous entry's owner, entries continued across
/// lines inside parentheses, `;` comments, quoted strings (with `\"` and
/// `\DDD` escapes), the optional class `IN`, an optional TTL (with unit
/// suffixes such as `1h`), and TTL and class in either order. `ALIAS` is
/// read as wirelab's apex alias (see [`super::Zone`]).
///
/// Every error is returned at once, in file order.
pub fn parse_master_file(
    text: &str,
    origin: &Name,
    default_ttl: u32,
) -> Result<Vec<ZoneRecord>, Vec<ZoneFileError>> {
    let mut reader = EntryReader {
        origin: origin.clone(),
        ttl_default: default_ttl,
        owner_previous: None,
        records: Vec::new(),
        errors: Vec::new(),
    };
    let (entries, lex_errors) = split_entries(text);
    reader.errors.extend(lex_errors);
    for entry in &entries {
        if reader.errors.len() >= ZONE_FILE_ERRORS_MAX {
            break;
        }
        if reader.records.len() >= ZONE_FILE_RECORDS_MAX {
            reader.errors.push(entry.error_at(
                0,
                format!(
                    "more than {ZONE_FILE_RECORDS_MAX} records; the rest of the file is not read"
                ),
            ));
            break;
        }
        if let Err(error) = reader.read(entry) {
            reader.errors.push(error);
        }
    }
    if reader.errors.is_empty() {
        return Ok(reader.records);
    }
    reader.errors.sort_by_key(|e| (e.line, e.column));
    if reader.errors.len() > ZONE_FILE_ERRORS_MAX {
        reader.errors.truncate(ZONE_FILE_ERRORS_MAX);
    }
    if reader.errors.len() == ZONE_FILE_ERRORS_MAX {
        let last = reader
            .errors
            .last()
            .cloned()
            .expect("the limit is not zero");
        reader.errors.push(ZoneFileError {
            message: format!("more than {ZONE_FILE_ERRORS_MAX} errors; stopped reading"),
            ..last
        });
    }
    Err(reader.errors)
}

/// One item of an entry, as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Token {
    /// The text exactly as written, quotes and escapes included.
    pub(crate) text: String,
    /// Whether the token is a `"quoted string"`.
    pub(crate) quoted: bool,
    pub(crate) line: u32,
    pub(crate) column: u32,
}

/// One entry: a directive or a resource record, possibly continued across
/// lines in parentheses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Entry {
    /// The entry began with a blank, so its owner is the previous owner.
    pub(crate) owner_blank: bool,
    /// The lexer found an error in the entry (already reported): the entry
    /// is not read.
    pub(crate) broken: bool,
    pub(crate) tokens: Vec<Token>,
    pub(crate) line: u32,
}

impl Entry {
    /// An error at token `index`, or at the end of the entry when there is
    /// no such token.
    fn error_at(&self, index: usize, message: String) -> ZoneFileError {
        let (line, column) = match self.tokens.get(index).or(self.tokens.last()) {
            Some(token) => (token.line, token.column),
            None => (self.line, 1),
        };
        ZoneFileError {
            line,
            column,
            message,
        }
    }
}

/// Splits master-file text into entries, RFC 1035 §5.1's way: a line ends
/// an entry unless a parenthesis is open; `;` starts a comment outside
/// quotes; `\` escapes the next character.
pub(crate) fn split_entries(text: &str) -> (Vec<Entry>, Vec<ZoneFileError>) {
    let mut splitter = Splitter::default();
    let mut chars = text.chars().peekable();
    let mut line: u32 = 1;
    let mut column: u32 = 1;
    let mut at_line_start = true;
    while let Some(c) = chars.next() {
        let (c_line, c_column) = (line, column);
        if c == '\n' {
            line = line.saturating_add(1);
            column = 1;
        } else {
            column = column.saturating_add(1);
        }
        if at_line_start {
            at_line_start = false;
            if splitter.depth == 0 {
                splitter.start_entry(c_line, c == ' ' || c == '\t');
            }
        }
        match c {
            '\n' => {
                at_line_start = true;
                if splitter.depth == 0 {
                    splitter.end_entry();
                }
            }
            ' ' | '\t' | '\r' => {}
            ';' => {
                // The comment runs to the end of the line; the newline
                // itself is handled by the loop.
                while chars.peek().is_some_and(|&next| next != '\n') {
                    chars.next();
                    column = column.saturating_add(1);
                }
            }
            '(' => {
                splitter.depth += 1;
                splitter.paren_open.push((c_line, c_column));
            }
            ')' => {
                if splitter.depth == 0 {
                    splitter.error(c_line, c_column, "')' without a matching '('");
                } else {
                    splitter.depth -= 1;
                    splitter.paren_open.pop();
                }
            }
            '"' => {
                let mut token = String::from('"');
                let mut closed = false;
                while let Some(next) = chars.next() {
                    if next == '\n' {
                        // A quoted string ends at the end of its line, so
                        // that one missing quote costs one error, not the
                        // rest of the file.
                        line = line.saturating_add(1);
                        column = 1;
                        at_line_start = true;
                        break;
                    }
                    column = column.saturating_add(1);
                    token.push(next);
                    if next == '\\' {
                        if let Some(escaped) = chars.next_if(|&e| e != '\n') {
                            column = column.saturating_add(1);
                            token.push(escaped);
                        }
                    } else if next == '"' {
                        closed = true;
                        break;
                    }
                }
                if closed {
                    splitter.push(token, true, c_line, c_column);
                } else {
                    splitter.error(c_line, c_column, "quoted string without its closing '\"'");
                    if at_line_start && splitter.depth == 0 {
                        splitter.end_entry();
                    }
                }
            }
            _ => {
                let mut token = String::from(c);
                let mut escape = c == '\\';
                while let Some(&next) = chars.peek() {
                    let delimiter =
                        matches!(next, ' ' | '\t' | '\r' | '\n' | ';' | '(' | ')' | '"');
                    if next == '\n' || (delimiter && !escape) {
                        break;
                    }
                    chars.next();
                    column = column.saturating_add(1);
                    token.push(next);
                    escape = next == '\\' && !escape;
                }
                splitter.push(token, false, c_line, c_column);
            }
        }
    }
    if splitter.depth > 0 {
        let (open_line, open_column) = splitter.paren_open[0];
        splitter.error(open_line, open_column, "'(' is never closed");
        // The entry with the open parenthesis swallowed the rest of the
        // file; it is not read.
        splitter.current = None;
    }
    splitter.end_entry();
    (splitter.entries, splitter.errors)
}

#[derive(Default)]
struct Splitter {
    entries: Vec<Entry>,
    errors: Vec<ZoneFileError>,
    current: Option<Entry>,
    depth: u32,
    /// Where each open parenthesis was opened.
    paren_open: Vec<(u32, u32)>,
}

impl Splitter {
    fn start_entry(&mut self, line: u32, owner_blank: bool) {
        debug_assert!(self.current.is_none());
        self.current = Some(Entry {
            owner_blank,
            broken: false,
            tokens: Vec::new(),
            line,
        });
    }

    fn end_entry(&mut self) {
        if let Some(entry) = self.current.take() {
            if !entry.tokens.is_empty() && !entry.broken {
                self.entries.push(entry);
            }
        }
    }

    fn push(&mut self, text: String, quoted: bool, line: u32, column: u32) {
        let entry = self.current.get_or_insert_with(|| Entry {
            owner_blank: false,
            broken: false,
            tokens: Vec::new(),
            line,
        });
        entry.tokens.push(Token {
            text,
            quoted,
            line,
            column,
        });
    }

    fn error(&mut self, line: u32, column: u32, message: &str) {
        if let Some(entry) = &mut self.current {
            entry.broken = true;
        }
        self.errors.push(ZoneFileError {
            line,
            column,
            message: message.to_owned(),
        });
    }
}

/// The state carried from entry to entry: RFC 1035 §5.1's "current origin",
/// RFC 2308's `$TTL`, and the previous owner for blank owners.
struct EntryReader {
    origin: Name,
    ttl_default: u32,
    owner_previous: Option<Name>,
    records: Vec<ZoneRecord>,
    errors: Vec<ZoneFileError>,
}

impl EntryReader {
    fn read(&mut self, entry: &Entry) -> Result<(), ZoneFileError> {
        let first = &entry.tokens[0];
        if !entry.owner_blank && !first.quoted && first.text.starts_with('$') {
            return self.read_directive(entry);
        }
        let (owner, rest) = if entry.owner_blank {
            let owner = self.owner_previous.clone().ok_or_else(|| {
                entry.error_at(
                    0,
                    "the entry starts with a blank but no owner came before it".into(),
                )
            })?;
            (owner, 0)
        } else {
            let owner = parse_owner(&first.text, &self.origin).map_err(|m| entry.error_at(0, m))?;
            (owner, 1)
        };
        self.owner_previous = Some(owner.clone());
        let header = read_ttl_class_type(entry, rest)?;
        let ttl = header.ttl.unwrap_or(self.ttl_default);
        let rdata: Vec<&Token> = entry.tokens[header.rdata_index..].iter().collect();
        let record = record_from_parts(owner, ttl, header.rtype, &rdata, &self.origin)
            .map_err(|m| entry.error_at(header.rdata_index.min(entry.tokens.len() - 1), m))?;
        self.records.push(ZoneRecord {
            record,
            line: entry.line,
        });
        Ok(())
    }

    fn read_directive(&mut self, entry: &Entry) -> Result<(), ZoneFileError> {
        let directive = entry.tokens[0].text.to_ascii_uppercase();
        let argument = entry.tokens.get(1);
        match (directive.as_str(), argument) {
            ("$ORIGIN", Some(name)) => {
                // RFC 1035 §5.1: a relative $ORIGIN is relative to the
                // current origin.
                let origin = Name::parse(&name.text, Some(&self.origin))
                    .map_err(|e| entry.error_at(1, format!("bad $ORIGIN name: {e}")))?;
                self.origin = origin;
            }
            ("$TTL", Some(ttl)) => {
                self.ttl_default = parse_ttl(&ttl.text)
                    .map_err(|_| entry.error_at(1, format!("bad $TTL value '{}'", ttl.text)))?;
            }
            ("$ORIGIN" | "$TTL", None) => {
                return Err(entry.error_at(0, format!("{directive} needs a value")));
            }
            ("$INCLUDE", _) => {
                return Err(entry.error_at(
                    0,
                    "$INCLUDE is not supported: a lab reads no other files".into(),
                ));
            }
            _ => {
                return Err(
                    entry.error_at(0, format!("unknown directive '{}'", entry.tokens[0].text))
                );
            }
        }
        if entry.tokens.len() > 2 {
            return Err(entry.error_at(2, format!("unexpected text after {directive}")));
        }
        Ok(())
    }
}

/// An owner name: `@` is the origin, a name ending in `.` is absolute, any
/// other name is relative to the origin.
pub(crate) fn parse_owner(text: &str, origin: &Name) -> Result<Name, String> {
    if text == "@" {
        return Ok(origin.clone());
    }
    Name::parse(text, Some(origin)).map_err(|e| format!("bad owner name '{text}': {e}"))
}

struct RecordHeader {
    ttl: Option<u32>,
    rtype: RecordType,
    rdata_index: usize,
}

/// Reads `[<TTL>] [<class>] <type>` or `[<class>] [<TTL>] <type>` starting
/// at token `index` (RFC 1035 §5.1 allows both orders).
fn read_ttl_class_type(entry: &Entry, mut index: usize) -> Result<RecordHeader, ZoneFileError> {
    let mut ttl = None;
    let mut class_seen = false;
    loop {
        let Some(token) = entry.tokens.get(index) else {
            return Err(entry.error_at(index, "the record has no type".into()));
        };
        let text = token.text.as_str();
        if !token.quoted && text.starts_with(|c: char| c.is_ascii_digit()) {
            if ttl.is_some() {
                return Err(entry.error_at(index, format!("a second TTL '{text}'")));
            }
            ttl = Some(
                parse_ttl(text).map_err(|_| entry.error_at(index, format!("bad TTL '{text}'")))?,
            );
        } else if text.eq_ignore_ascii_case("IN") {
            if class_seen {
                return Err(entry.error_at(index, "a second class".into()));
            }
            class_seen = true;
        } else if ["CH", "CS", "HS", "NONE", "ANY"]
            .iter()
            .any(|c| text.eq_ignore_ascii_case(c))
        {
            return Err(entry.error_at(index, format!("class {text} is not supported; only IN")));
        } else {
            let rtype = parse_type(text).map_err(|m| entry.error_at(index, m))?;
            return Ok(RecordHeader {
                ttl,
                rtype,
                rdata_index: index + 1,
            });
        }
        index += 1;
    }
}

/// A record type mnemonic; `ALIAS` is wirelab's apex alias, kept as an
/// ANAME record (see [`super::Zone`]).
pub(crate) fn parse_type(text: &str) -> Result<RecordType, String> {
    let upper = text.to_ascii_uppercase();
    if upper == "ALIAS" {
        return Ok(RecordType::ANAME);
    }
    let rtype: RecordType = upper
        .parse()
        .map_err(|_| format!("unknown record type '{text}'"))?;
    match rtype {
        RecordType::OPT
        | RecordType::ANY
        | RecordType::AXFR
        | RecordType::IXFR
        | RecordType::NULL
        | RecordType::ZERO
        | RecordType::Unknown(_) => Err(format!("record type {text} cannot be written in a zone")),
        _ => Ok(rtype),
    }
}
