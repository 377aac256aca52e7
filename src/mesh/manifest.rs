//! The manifest reader: text from a file or stdin into documents, each with
//! the line it starts on.
//!
//! Accepts multi-document YAML (`---`), JSON (one value or a stream of
//! values), and `kind: List` (or `*List`) whose items become documents of
//! their own with their own lines. Empty documents are skipped. A document
//! that is not a mapping, or lacks `apiVersion`, `kind` or `metadata.name`,
//! is an error naming `file:line`; the other documents still load.
//!
//! Hostile input: text must be UTF-8; nesting deeper than [`MAX_DEPTH`] is
//! an error (so no stack overflow), alias expansion is bounded by the YAML
//! parser's budgets, and a duplicate mapping key is an error (as with
//! `kubectl apply`, where strict decoding rejects duplicate fields).

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};
use serde_saphyr::{DefaultMessageFormatter, MessageFormatter, Spanned};

use super::resource::Origin;
use super::snapshot::{AddError, Added, SnapshotBuilder};

/// Deepest YAML nesting accepted (Istio's and Gateway API's CRDs, the
/// deepest objects in practice, nest 28 levels). JSON stops at 128.
pub const MAX_DEPTH: usize = 64;

/// Stack for the parsing thread. Deserializing deep input recurses, and
/// callers may run on small-stack threads (async runtimes use 2 MiB).
const PARSE_STACK: usize = 64 << 20;

/// One document of a manifest.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    /// The object.
    pub value: Value,
    /// Where it starts.
    pub origin: Origin,
}

/// The documents of one manifest, and the documents that could not be read.
#[derive(Debug, Clone, Default)]
pub struct Manifest {
    /// Documents with `apiVersion`, `kind` and `metadata.name`.
    pub documents: Vec<Document>,
    /// Documents that were skipped, with why.
    pub errors: Vec<ManifestError>,
}

/// A manifest that could not be read, or a document in it that was skipped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ManifestError {
    /// The bytes are not UTF-8 text.
    #[error("{path}: not UTF-8 text")]
    NotText {
        /// The path as given.
        path: String,
    },
    /// The text is not valid YAML or JSON.
    #[error("{path}:{line}:{column}: {message}")]
    Syntax {
        /// The path as given.
        path: String,
        /// 1-based line.
        line: u32,
        /// 1-based column.
        column: u32,
        /// What the parser found.
        message: String,
    },
    /// A document is not a mapping.
    #[error("{path}:{line}: document is a {found}, not a Kubernetes object")]
    NotAnObject {
        /// The path as given.
        path: String,
        /// 1-based line.
        line: u32,
        /// What it is instead.
        found: &'static str,
    },
    /// A document lacks `apiVersion` or `kind`, or they are not strings.
    #[error("{path}:{line}: document has no apiVersion and kind")]
    MissingTypeMeta {
        /// The path as given.
        path: String,
        /// 1-based line.
        line: u32,
    },
    /// A document lacks `metadata.name`.
    #[error("{path}:{line}: {kind} has no metadata.name")]
    MissingName {
        /// The path as given.
        path: String,
        /// 1-based line.
        line: u32,
        /// The document's kind.
        kind: String,
    },
    /// A document's `metadata.name` is not a string (an unquoted number, say).
    #[error("{path}:{line}: {kind} metadata.name is a {found}, not a string: quote it")]
    NameNotText {
        /// The path as given.
        path: String,
        /// 1-based line.
        line: u32,
        /// The document's kind.
        kind: String,
        /// What the name is instead.
        found: &'static str,
    },
    /// A document could not be added to the Snapshot.
    #[error(transparent)]
    Object(#[from] AddError),
}

/// Reads a manifest. `path` names it in origins and errors (`-` for stdin).
///
/// # Errors
///
/// Fails when the bytes are not UTF-8 or the text is not valid YAML or
/// JSON; documents that are readable but not objects are reported in
/// [`Manifest::errors`] instead.
pub fn read_manifest(path: &str, bytes: &[u8]) -> Result<Manifest, ManifestError> {
    let text =
        std::str::from_utf8(bytes).map_err(|_| ManifestError::NotText { path: path.into() })?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let raw = parse_on_own_stack(path, text)?;
    let mut manifest = Manifest::default();
    for doc in raw {
        match doc {
            Raw::Object { line, value, items } => {
                manifest.accept(path, line, None, value, items);
            }
            Raw::Other { line, found } => {
                manifest.errors.push(ManifestError::NotAnObject { path: path.into(), line, found });
            }
        }
    }
    Ok(manifest)
}

/// Parses on a thread of its own with a large stack; falls back to the
/// calling thread if no thread can be started.
fn parse_on_own_stack(path: &str, text: &str) -> Result<Vec<Raw>, ManifestError> {
    std::thread::scope(|scope| {
        let worker = std::thread::Builder::new()
            .name("manifest-parser".into())
            .stack_size(PARSE_STACK)
            .spawn_scoped(scope, || parse(path, text));
        match worker {
            Ok(handle) => handle.join().unwrap_or_else(|_| {
                Err(ManifestError::Syntax {
                    path: path.into(),
                    line: 0,
                    column: 0,
                    message: "the parser failed on this input".into(),
                })
            }),
            Err(_) => parse(path, text),
        }
    })
}

fn parse(path: &str, text: &str) -> Result<Vec<Raw>, ManifestError> {
    if !looks_like_json(text) {
        return read_yaml(text).map_err(|e| e.at(path));
    }
    match read_json(text) {
        Ok(docs) => Ok(docs),
        Err(e) if path.ends_with(".json") => Err(e.at(path)),
        Err(_) => read_yaml(text).map_err(|e| e.at(path)),
    }
}

/// Reads a manifest and adds its objects to a builder. Returns how many
/// objects were stored and every document or object that was not.
///
/// # Errors
///
/// Fails as [`read_manifest`] does.
pub fn load_manifest(
    builder: &mut SnapshotBuilder,
    path: &str,
    bytes: &[u8],
) -> Result<(usize, Vec<ManifestError>), ManifestError> {
    Ok(add_documents(builder, read_manifest(path, bytes)?))
}

/// Adds a manifest's documents to `builder`: how many became objects, and the problems of the
/// manifest and of the documents that could not be added.
pub fn add_documents(
    builder: &mut SnapshotBuilder,
    manifest: Manifest,
) -> (usize, Vec<ManifestError>) {
    let mut errors = manifest.errors;
    let mut stored = 0;
    for doc in manifest.documents {
        match builder.add_value(doc.value, doc.origin) {
            Ok(Added::Object(_)) => stored += 1,
            Ok(_) => {}
            Err(e) => errors.push(e.into()),
        }
    }
    (stored, errors)
}

impl Manifest {
    fn accept(
        &mut self,
        path: &str,
        line: u32,
        item: Option<u32>,
        mut value: Value,
        mut items: Option<Vec<(u32, Value)>>,
    ) {
        let (is_list, kind) = match (value.get("apiVersion"), value.get("kind")) {
            (Some(Value::String(a)), Some(Value::String(k))) => {
                (!a.is_empty() && k.ends_with("List"), k.clone())
            }
            _ => {
                self.errors.push(ManifestError::MissingTypeMeta { path: path.into(), line });
                return;
            }
        };
        if is_list && let Some(list) = items.take().or_else(|| take_json_items(&mut value, line)) {
            for (i, (item_line, item_value)) in list.into_iter().enumerate() {
                if !item_value.is_object() {
                    let found = kind_of(&item_value);
                    let e =
                        ManifestError::NotAnObject { path: path.into(), line: item_line, found };
                    self.errors.push(e);
                    continue;
                }
                self.accept(path, item_line, u32::try_from(i).ok(), item_value, None);
            }
            return;
        }
        if let (Some(list), Value::Object(map)) = (items.take(), &mut value) {
            map.insert("items".into(), Value::Array(list.into_iter().map(|(_, v)| v).collect()));
        }
        let name = value.pointer("/metadata/name");
        if let Some(other) = name.filter(|n| !n.is_string() && !n.is_null()) {
            let found = kind_of(other);
            self.errors.push(ManifestError::NameNotText { path: path.into(), line, kind, found });
            return;
        }
        if name.and_then(Value::as_str).is_none_or(|n| n.is_empty()) {
            self.errors.push(ManifestError::MissingName { path: path.into(), line, kind });
            return;
        }
        let origin = Origin::File { path: path.into(), line, item };
        self.documents.push(Document { value, origin });
    }
}

/// A top-level document before validation.
enum Raw {
    Object { line: u32, value: Value, items: Option<Vec<(u32, Value)>> },
    Other { line: u32, found: &'static str },
}

/// A syntax error before the path is known.
struct SyntaxError {
    line: u32,
    column: u32,
    message: String,
}

impl SyntaxError {
    fn at(self, path: &str) -> ManifestError {
        ManifestError::Syntax {
            path: path.into(),
            line: self.line,
            column: self.column,
            message: self.message,
        }
    }
}

fn looks_like_json(text: &str) -> bool {
    matches!(text.trim_start().as_bytes().first(), Some(b'{' | b'['))
}

fn read_json(text: &str) -> Result<Vec<Raw>, SyntaxError> {
    let mut out = Vec::new();
    let mut stream = serde_json::Deserializer::from_str(text).into_iter::<Value>();
    // Lines are counted from the previous document on, so a long stream stays linear.
    let (mut counted, mut line_base) = (0, 1u32);
    loop {
        let start = stream.byte_offset();
        let skipped = text[start..].len() - text[start..].trim_start().len();
        let offset = start + skipped;
        line_base = line_base.saturating_add(line_at(&text[counted..offset], usize::MAX) - 1);
        counted = offset;
        let line = line_base;
        match stream.next() {
            None => break,
            Some(Ok(Value::Array(values))) => {
                // A bare JSON array of objects: each element is a document.
                for v in values {
                    out.push(raw_of(line, v, None));
                }
            }
            Some(Ok(v)) => out.push(raw_of(line, v, None)),
            Some(Err(e)) => {
                let (line, column) = (e.line() as u32, e.column() as u32);
                return Err(SyntaxError { line, column, message: e.to_string() });
            }
        }
    }
    Ok(out)
}

fn raw_of(line: u32, value: Value, items: Option<Vec<(u32, Value)>>) -> Raw {
    match value {
        Value::Object(_) => Raw::Object { line, value, items },
        Value::Null => Raw::Other { line, found: "null value" },
        other => Raw::Other { line, found: kind_of(&other) },
    }
}

/// JSON lists carry no per-item positions: items take the list's line.
fn take_json_items(value: &mut Value, line: u32) -> Option<Vec<(u32, Value)>> {
    match value.as_object_mut()?.remove("items")? {
        Value::Array(items) => Some(items.into_iter().map(|v| (line, v)).collect()),
        other => {
            value.as_object_mut()?.insert("items".into(), other);
            None
        }
    }
}

fn line_at(text: &str, offset: usize) -> u32 {
    let end = offset.min(text.len());
    let newlines = text.as_bytes()[..end].iter().filter(|b| **b == b'\n').count();
    u32::try_from(newlines + 1).unwrap_or(u32::MAX)
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null value",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "sequence",
        Value::Object(_) => "mapping",
    }
}

fn read_yaml(text: &str) -> Result<Vec<Raw>, SyntaxError> {
    let options = serde_saphyr::options! {
        budget: serde_saphyr::budget! {
            max_depth: MAX_DEPTH,
            max_documents: 1_000_000,
            max_nodes: 100_000_000,
            max_events: 400_000_000,
            max_total_scalar_bytes: 1 << 31,
            // Anchors are rare in manifests; a small replay budget stops
            // alias bombs quickly.
            max_recorded_anchor_events: 100_000,
        },
        with_snippet: false,
    };
    let docs: Vec<Spanned<Top>> =
        serde_saphyr::from_multiple_with_options(text, options).map_err(|e| {
            let loc = e.location();
            SyntaxError {
                line: loc.map_or(0, |l| l.line() as u32),
                column: loc.map_or(0, |l| l.column() as u32),
                message: plain_message(
                    &DefaultMessageFormatter.format_message(e.without_snippet()),
                ),
            }
        })?;
    Ok(docs
        .into_iter()
        .map(|d| {
            let line = d.referenced.line() as u32;
            match d.value {
                Top::Map(value, items) => Raw::Object { line, value: Value::Object(value), items },
                Top::Other(found) => Raw::Other { line, found },
            }
        })
        .collect())
}

/// The parser's message as a user reads it: on one line, without the parser's own type names
/// or its advice on parser options.
fn plain_message(raw: &str) -> String {
    let text: String = raw
        .chars()
        .flat_map(|c| match c {
            '\n' | '\r' | '\t' => c.escape_default().collect::<Vec<_>>(),
            c if c.is_control() => c.escape_default().collect(),
            c => vec![c],
        })
        .collect();
    let text = text.split(", set DuplicateKeyPolicy").next().unwrap_or_default().to_string();
    if text.starts_with("recursive references require") {
        return "an alias refers to the anchor it is inside of; YAML objects cannot contain themselves"
            .to_string();
    }
    match text.strip_prefix("budget breached: ") {
        Some(limit) if limit.starts_with("Depth") => {
            format!("nested deeper than {MAX_DEPTH} levels")
        }
        Some(limit) if limit.starts_with("RecordedAnchorEvents") => {
            "aliases expand to more than 100000 nodes; expand them before reading".to_string()
        }
        Some(limit) => {
            let name = limit.split([' ', '{']).next().unwrap_or_default();
            format!("too large to read ({name} limit)")
        }
        None => text,
    }
}

/// A top-level YAML document: a mapping (with line numbers for the
/// elements of a top-level `items` sequence) or something else.
enum Top {
    Map(Map<String, Value>, Option<Vec<(u32, Value)>>),
    Other(&'static str),
}

impl<'de> Deserialize<'de> for Top {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(TopVisitor)
    }
}

struct TopVisitor;

macro_rules! other {
    ($($method:ident($ty:ty) => $found:expr),* $(,)?) => {$(
        fn $method<E: de::Error>(self, _: $ty) -> Result<Top, E> {
            Ok(Top::Other($found))
        }
    )*};
}

impl<'de> Visitor<'de> for TopVisitor {
    type Value = Top;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a Kubernetes object")
    }

    other!(
        visit_bool(bool) => "boolean",
        visit_i64(i64) => "number",
        visit_u64(u64) => "number",
        visit_f64(f64) => "number",
        visit_str(&str) => "string",
    );

    fn visit_unit<E: de::Error>(self) -> Result<Top, E> {
        Ok(Top::Other("null value"))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Top, A::Error> {
        while seq.next_element::<de::IgnoredAny>()?.is_some() {}
        Ok(Top::Other("sequence"))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Top, A::Error> {
        let mut out = Map::new();
        let mut items = None;
        while let Some(key) = map.next_key::<String>()? {
            if key == "items" {
                match map.next_value::<Items>()? {
                    // Kept apart (not copied) so large lists are held once;
                    // `Manifest::accept` puts them back for non-List kinds.
                    Items::Seq(list) => items = Some(list),
                    Items::Value(v) => {
                        out.insert(key, v);
                    }
                }
            } else {
                out.insert(key, map.next_value::<Value>()?);
            }
        }
        Ok(Top::Map(out, items))
    }
}

/// A top-level `items` value: a sequence keeps each element's line.
enum Items {
    Seq(Vec<(u32, Value)>),
    Value(Value),
}

impl<'de> Deserialize<'de> for Items {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Items;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("any value")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Items, A::Error> {
                let mut out = Vec::new();
                while let Some(item) = seq.next_element::<Spanned<Value>>()? {
                    out.push((item.referenced.line() as u32, item.value));
                }
                Ok(Items::Seq(out))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Items, A::Error> {
                Value::deserialize(de::value::MapAccessDeserializer::new(map)).map(Items::Value)
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Items, E> {
                Ok(Items::Value(Value::Bool(v)))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Items, E> {
                Ok(Items::Value(Value::from(v)))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Items, E> {
                Ok(Items::Value(Value::from(v)))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Items, E> {
                Ok(Items::Value(Value::from(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Items, E> {
                Ok(Items::Value(Value::from(v)))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Items, E> {
                Ok(Items::Value(Value::Null))
            }
        }
        deserializer.deserialize_any(V)
    }
}

#[cfg(test)]
#[path = "manifest_tests.rs"]
mod tests;
