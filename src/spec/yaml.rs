//! A strict YAML reader that keeps the position of every node.
//!
//! tenantctl files are configuration that decides who can read whose data, so the reader is
//! deliberately narrow: anchors, aliases, merge keys and explicit tags are refused (they make
//! a file mean something other than what it shows, and aliases allow "billion laughs"
//! expansion), duplicate keys are refused, and plain scalars resolve by the YAML 1.2 core
//! schema. Plain scalars that YAML 1.1 tools would read as something else (`yes`, `off`, `y`)
//! are marked so validation can insist on quotes where an identifier is expected.

use std::collections::HashMap;

use serde_json::{Map, Number, Value};
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

/// 1-based line and column in a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, PartialOrd, Ord)]
pub struct Pos {
    pub line: usize,
    pub col: usize,
}

impl From<Marker> for Pos {
    fn from(m: Marker) -> Self {
        Pos { line: m.line(), col: m.col() + 1 }
    }
}

/// One YAML document turned into JSON, with the position of every value and key.
#[derive(Debug, Clone)]
pub struct Document {
    pub value: Value,
    /// Position of the document's first node.
    pub pos: Pos,
    /// JSON-pointer-like dotted path (`userPool.customAttributes[1].name`) -> position of the value.
    pub positions: HashMap<String, Pos>,
    /// Same paths -> position of the key naming that value (for unknown-field errors).
    pub key_positions: HashMap<String, Pos>,
    /// Paths whose value is a plain scalar that YAML 1.1 would not read as this string.
    pub ambiguous: HashMap<String, &'static str>,
}

impl Document {
    /// Position of `path`, or of its closest ancestor that has one.
    pub fn pos_of(&self, path: &str) -> Pos {
        let mut p = path.to_string();
        loop {
            if p.is_empty() {
                // Marks of block mappings land after their first key; the first key is
                // where a reader expects the document to start.
                return self.key_positions.values().min().copied().unwrap_or(self.pos);
            }
            if let Some(pos) = self.positions.get(&p) {
                return *pos;
            }
            match p.rfind(['.', '[']) {
                Some(i) => p.truncate(i),
                None => p.clear(),
            }
        }
    }

    pub fn key_pos_of(&self, path: &str) -> Pos {
        self.key_positions.get(path).copied().unwrap_or_else(|| self.pos_of(path))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YamlError {
    pub pos: Pos,
    pub message: String,
    pub hint: Option<String>,
}

impl YamlError {
    fn new(pos: Pos, message: impl Into<String>, hint: Option<&str>) -> Self {
        YamlError { pos, message: message.into(), hint: hint.map(str::to_string) }
    }
}

/// Joins a path and a map key.
pub fn join_key(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

pub fn join_index(path: &str, index: usize) -> String {
    format!("{path}[{index}]")
}

enum Frame {
    Seq { items: Vec<Value>, path: String },
    Map { map: Map<String, Value>, path: String, pending_key: Option<(String, Pos)> },
}

struct Builder<'s> {
    src: &'s str,
    docs: Vec<Document>,
    stack: Vec<Frame>,
    current: Option<Document>,
    error: Option<YamlError>,
}

impl Builder<'_> {
    /// yaml-rust2 marks a node after its anchor or tag; point back at the `&` or `!`.
    fn back_to(&self, pos: Pos, ch: char) -> Pos {
        let Some(line) = yaml_lines(self.src).get(pos.line.saturating_sub(1)).copied() else {
            return pos;
        };
        let upto: String = line.chars().take(pos.col.saturating_sub(1)).collect();
        match upto.rfind(ch) {
            Some(mut i) => {
                while i > 0 && upto[..i].ends_with(ch) {
                    i -= ch.len_utf8();
                }
                Pos { line: pos.line, col: upto[..i].chars().count() + 1 }
            }
            None => pos,
        }
    }

    fn fail(&mut self, e: YamlError) {
        if self.error.is_none() {
            self.error = Some(e);
        }
    }

    /// Path at which the next value lands.
    fn next_path(&self) -> String {
        match self.stack.last() {
            None => String::new(),
            Some(Frame::Seq { items, path }) => join_index(path, items.len()),
            Some(Frame::Map { path, pending_key, .. }) => match pending_key {
                Some((k, _)) => join_key(path, k),
                None => path.clone(),
            },
        }
    }

    fn expecting_key(&self) -> bool {
        matches!(self.stack.last(), Some(Frame::Map { pending_key: None, .. }))
    }

    fn push_value(&mut self, value: Value, pos: Pos) {
        let path = self.next_path();
        let Some(doc) = self.current.as_mut() else {
            return;
        };
        doc.positions.entry(path).or_insert(pos);
        match self.stack.last_mut() {
            None => doc.value = value,
            Some(Frame::Seq { items, .. }) => items.push(value),
            Some(Frame::Map { map, pending_key, .. }) => {
                if let Some((k, _)) = pending_key.take() {
                    map.insert(k, value);
                }
            }
        }
    }

    fn on_scalar(&mut self, text: String, style: TScalarStyle, pos: Pos) {
        if self.expecting_key() {
            let path = match self.stack.last() {
                Some(Frame::Map { path, .. }) => path.clone(),
                _ => unreachable!(),
            };
            if style == TScalarStyle::Plain && text == "<<" {
                self.fail(YamlError::new(
                    pos,
                    "YAML merge keys (`<<`) are not allowed in tenantctl files",
                    Some("write the fields out in full; every tenant file should read as what it means"),
                ));
                return;
            }
            let dup = match self.stack.last() {
                Some(Frame::Map { map, .. }) => map.contains_key(&text),
                _ => false,
            };
            if dup {
                self.fail(YamlError::new(
                    pos,
                    format!("duplicate key `{text}`"),
                    Some("each key may appear once in a mapping; remove one of them"),
                ));
                return;
            }
            let key_path = join_key(&path, &text);
            if let Some(doc) = self.current.as_mut() {
                doc.key_positions.insert(key_path, pos);
            }
            if let Some(Frame::Map { pending_key, .. }) = self.stack.last_mut() {
                *pending_key = Some((text, pos));
            }
            return;
        }
        let path = self.next_path();
        let value = if style == TScalarStyle::Plain {
            if let Some(why) = yaml11_reading(&text) {
                if let Some(doc) = self.current.as_mut() {
                    doc.ambiguous.insert(path.clone(), why);
                }
            }
            resolve_plain(&text)
        } else {
            Value::String(text)
        };
        self.push_value(value, pos);
    }

    fn on_start(&mut self, seq: bool, pos: Pos) {
        if self.expecting_key() {
            self.fail(YamlError::new(pos, "a mapping key must be a plain string", None));
            return;
        }
        let path = self.next_path();
        if let Some(doc) = self.current.as_mut() {
            doc.positions.entry(path.clone()).or_insert(pos);
        }
        self.stack.push(if seq {
            Frame::Seq { items: Vec::new(), path }
        } else {
            Frame::Map { map: Map::new(), path, pending_key: None }
        });
    }

    fn on_end(&mut self) {
        let Some(frame) = self.stack.pop() else {
            return;
        };
        let value = match frame {
            Frame::Seq { items, .. } => Value::Array(items),
            Frame::Map { map, .. } => Value::Object(map),
        };
        // The position was recorded at start; push_value keeps the first one.
        self.push_value(value, Pos::default());
    }
}

impl MarkedEventReceiver for Builder<'_> {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        if self.error.is_some() {
            return;
        }
        let pos = clamp(self.src, Pos::from(mark));
        match ev {
            Event::DocumentStart => {
                self.current = Some(Document {
                    value: Value::Null,
                    pos,
                    positions: HashMap::new(),
                    key_positions: HashMap::new(),
                    ambiguous: HashMap::new(),
                });
            }
            Event::DocumentEnd => {
                if let Some(doc) = self.current.take() {
                    self.docs.push(doc);
                }
            }
            Event::Alias(_) => self.fail(YamlError::new(
                pos,
                "YAML aliases (`*name`) are not allowed in tenantctl files",
                Some("write the value out in full; aliases hide what a file grants"),
            )),
            Event::Scalar(text, style, anchor, tag) => {
                if anchor != 0 {
                    self.fail(anchor_error(self.back_to(pos, '&')));
                } else if tag.is_some() {
                    self.fail(tag_error(self.back_to(pos, '!')));
                } else {
                    self.on_scalar(text, style, pos);
                }
            }
            Event::SequenceStart(anchor, ref tag) | Event::MappingStart(anchor, ref tag) => {
                let seq = matches!(ev, Event::SequenceStart(..));
                if anchor != 0 {
                    self.fail(anchor_error(self.back_to(pos, '&')));
                } else if tag.is_some() {
                    self.fail(tag_error(self.back_to(pos, '!')));
                } else {
                    self.on_start(seq, pos);
                }
            }
            Event::SequenceEnd | Event::MappingEnd => self.on_end(),
            Event::StreamStart | Event::StreamEnd | Event::Nothing => {}
        }
    }
}

fn anchor_error(pos: Pos) -> YamlError {
    YamlError::new(
        pos,
        "YAML anchors (`&name`) are not allowed in tenantctl files",
        Some("write the value out in full; anchors and aliases hide what a file grants"),
    )
}

fn tag_error(pos: Pos) -> YamlError {
    YamlError::new(
        pos,
        "explicit YAML tags (`!tag`, `!!type`) are not allowed in tenantctl files",
        Some("quote the value if it is a string"),
    )
}

/// Resolves a plain scalar by the YAML 1.2 core schema.
fn resolve_plain(text: &str) -> Value {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        _ => {}
    }
    let t = text.strip_prefix('+').unwrap_or(text);
    if let Some(hex) = t.strip_prefix("0x") {
        if let Ok(i) = i64::from_str_radix(hex, 16) {
            return Value::Number(i.into());
        }
    }
    if let Some(oct) = t.strip_prefix("0o") {
        if let Ok(i) = i64::from_str_radix(oct, 8) {
            return Value::Number(i.into());
        }
    }
    let digits = t.strip_prefix('-').unwrap_or(t);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        if let Ok(i) = t.parse::<i64>() {
            return Value::Number(i.into());
        }
    }
    let looks_float = !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'-' | b'+'))
        && digits.bytes().any(|b| b.is_ascii_digit())
        && digits.as_bytes()[0] != b'e'
        && digits.as_bytes()[0] != b'E';
    if looks_float {
        if let Ok(f) = t.parse::<f64>() {
            if let Some(n) = Number::from_f64(f) {
                return Value::Number(n);
            }
        }
    }
    match text {
        ".inf" | ".Inf" | ".INF" | "-.inf" | ".nan" | ".NaN" | ".NAN" => Value::String(text.to_string()),
        _ => Value::String(text.to_string()),
    }
}

/// What a YAML 1.1 reader would make of a plain scalar that YAML 1.2 reads as a string.
fn yaml11_reading(text: &str) -> Option<&'static str> {
    match text {
        "y" | "Y" | "yes" | "Yes" | "YES" | "n" | "N" | "no" | "No" | "NO" | "on" | "On" | "ON" | "off" | "Off"
        | "OFF" => Some("a boolean"),
        _ => {
            let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
            if digits.len() > 1 && digits.starts_with('0') && digits.bytes().all(|b| b.is_ascii_digit()) {
                Some("an octal number")
            } else if !digits.is_empty()
                && digits.bytes().all(|b| b.is_ascii_digit() || b == b'_' || b == b':')
                && digits.bytes().any(|b| b == b'_' || b == b':')
            {
                Some("a number")
            } else {
                None
            }
        }
    }
}

/// Lines as YAML counts them: `\r\n`, `\r` and `\n` all end a line.
pub fn yaml_lines(src: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let b = src.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\n' || b[i] == b'\r' {
            out.push(&src[start..i]);
            if b[i] == b'\r' && b.get(i + 1) == Some(&b'\n') {
                i += 1;
            }
            start = i + 1;
        }
        i += 1;
    }
    if start < src.len() {
        out.push(&src[start..]);
    }
    out
}

/// Deepest nesting a tenantctl file may have.
pub const MAX_DEPTH: usize = 64;

/// Keeps a position inside the text: the end-of-input mark sits on a line past the last one.
fn clamp(src: &str, pos: Pos) -> Pos {
    let lines = yaml_lines(src);
    let n = lines.len().max(1);
    if pos.line > n {
        let last = lines.last().map_or(0, |l| l.chars().count());
        return Pos { line: n, col: last + 1 };
    }
    let len = lines.get(pos.line.saturating_sub(1)).map_or(0, |l| l.chars().count());
    Pos { line: pos.line.max(1), col: pos.col.clamp(1, len + 1) }
}

/// Parses every document of a YAML stream.
pub fn parse_stream(src: &str) -> Result<Vec<Document>, YamlError> {
    let mut builder = Builder { src, docs: Vec::new(), stack: Vec::new(), current: None, error: None };
    // Events are pulled in a loop (yaml-rust2's `load` recurses once per nesting level and a
    // deeply nested file would overflow the stack); nesting is capped.
    let mut parser = Parser::new_from_str(src);
    loop {
        let (ev, mark) = match parser.next_token() {
            Ok(x) => x,
            Err(e) => {
                return Err(YamlError::new(
                    clamp(src, Pos::from(*e.marker())),
                    format!("YAML syntax error: {}", e.info()),
                    Some("check the indentation and quoting around this place"),
                ))
            }
        };
        let end = ev == Event::StreamEnd;
        if matches!(ev, Event::SequenceStart(..) | Event::MappingStart(..)) && builder.stack.len() >= MAX_DEPTH {
            return Err(YamlError::new(
                clamp(src, Pos::from(mark)),
                format!("values are nested more than {MAX_DEPTH} levels deep"),
                Some("a tenantctl file is a few levels deep; check the indentation"),
            ));
        }
        builder.on_event(ev, mark);
        if end || builder.error.is_some() {
            break;
        }
    }
    if let Some(e) = builder.error {
        return Err(e);
    }
    Ok(builder.docs.into_iter().filter(|d| !d.value.is_null()).collect())
}

/// Parses every document of a stream, recovering from a broken document: when the stream
/// does not parse as a whole, each `---`-separated part is parsed on its own (line numbers
/// kept), so one document's syntax error does not hide the others.
pub fn parse_stream_all(src: &str) -> (Vec<Document>, Vec<YamlError>) {
    let first = match parse_stream(src) {
        Ok(docs) => return (docs, Vec::new()),
        Err(e) => e,
    };
    let parts = split_documents(src);
    if parts.len() <= 1 {
        return (Vec::new(), vec![first]);
    }
    let mut docs = Vec::new();
    let mut errors = Vec::new();
    for (line, part) in parts {
        // Leading newlines keep every position where it is in the file.
        let padded = format!("{}{part}", "\n".repeat(line));
        match parse_stream(&padded) {
            Ok(d) => docs.extend(d),
            Err(e) => errors.push(e),
        }
    }
    if errors.is_empty() {
        // The split found no broken part: the whole-stream error stands.
        errors.push(first);
    }
    (docs, errors)
}

/// The stream's parts, split before each `---` line, with the 0-based line each starts at.
fn split_documents(src: &str) -> Vec<(usize, &str)> {
    let mut parts = Vec::new();
    let (mut start, mut start_line, mut offset) = (0usize, 0usize, 0usize);
    for line in src.split_inclusive('\n') {
        let is_sep = line.starts_with("---")
            && line[3..].chars().next().is_none_or(|c| c == ' ' || c == '\t' || c == '\n' || c == '\r');
        if is_sep && offset > start {
            parts.push((start_line, &src[start..offset]));
            start = offset;
            start_line = yaml_line_breaks(&src[..offset]);
        }
        offset += line.len();
    }
    if start < src.len() {
        parts.push((start_line, &src[start..]));
    }
    parts
}

/// YAML line breaks in `s`: `\r\n`, a lone `\r` and `\n` each end a line (YAML 1.2 §5.4), so a
/// document after a lone `\r` keeps its real line number.
fn yaml_line_breaks(s: &str) -> usize {
    let b = s.as_bytes();
    (0..b.len()).filter(|&i| b[i] == b'\n' || (b[i] == b'\r' && b.get(i + 1) != Some(&b'\n'))).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Fuzz finding (tests/fuzz.rs, folder_with_mutated_tenant): a lone `\r` before a broken
    /// second document put its error one line too high.
    #[test]
    fn lone_carriage_returns_count_as_line_breaks_when_splitting() {
        assert_eq!(yaml_line_breaks("a\r\nb\rc\n"), 3);
        let parts = split_documents("\rx: 1\n---\ny: 2\n");
        assert_eq!(parts[1].0, 2);
    }

    #[test]
    fn positions_and_paths() {
        let src = "a: 1\nb:\n  - x\n  - {c: d}\n---\nid: \"0123\"\n";
        let docs = parse_stream(src).unwrap();
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[0].positions["a"], Pos { line: 1, col: 4 });
        assert_eq!(docs[0].positions["b[1].c"].line, 4);
        assert_eq!(docs[0].key_positions["b"], Pos { line: 2, col: 1 });
        assert_eq!(docs[1].value["id"], "0123");
        assert_eq!(docs[1].positions["id"], Pos { line: 6, col: 5 });
    }

    #[test]
    fn core_schema_and_yaml11_marks() {
        let docs = parse_stream("a: 0123\nb: yes\nc: 1e3\nd: off\ne: ~\nf: '1'\n").unwrap();
        let v = &docs[0].value;
        assert_eq!(v["a"], 123);
        assert_eq!(v["b"], "yes");
        assert!(v["c"].is_number());
        assert_eq!(v["d"], "off");
        assert!(v["e"].is_null());
        assert_eq!(v["f"], "1");
        assert_eq!(docs[0].ambiguous["b"], "a boolean");
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash_and_positions_stay_inside() {
        let deep = "- ".repeat(10_000) + "x";
        let e = parse_stream(&deep).unwrap_err();
        assert!(e.message.contains("nested more than"), "{}", e.message);
        let e = parse_stream("[").unwrap_err();
        assert_eq!(e.pos.line, 1);
        let docs = parse_stream("- ").unwrap();
        assert!(docs.iter().all(|d| d.positions.values().all(|p| p.line == 1)));
    }

    #[test]
    fn a_broken_document_does_not_hide_the_others() {
        let src = "a: 1\n---\nb: [\n---\nc: 3\n---\nd: &x 4\n";
        let (docs, errors) = parse_stream_all(src);
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[1].positions["c"], Pos { line: 5, col: 4 });
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(errors.iter().any(|e| e.message.contains("anchors") && e.pos.line == 7));
    }

    #[test]
    fn refuses_aliases_anchors_merges_tags_duplicates() {
        for (src, word) in [
            ("a: &x 1\nb: *x\n", "anchors"),
            ("a: {b: 1}\nc:\n  <<: {b: 2}\n", "merge"),
            ("a: !!str 1\n", "tags"),
            ("a: 1\na: 2\n", "duplicate"),
        ] {
            let e = parse_stream(src).unwrap_err();
            assert!(e.message.contains(word), "{src}: {}", e.message);
        }
    }
}
