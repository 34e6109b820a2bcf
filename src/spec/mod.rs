//! The config folder: loading, validation and template rendering (contract §1).
//!
//! No I/O beyond reading the folder. Every problem is a [`Diagnostic`] naming file, line and
//! column; loading and validation collect all of them instead of stopping at the first.

pub mod desired;
pub mod lint;
pub mod model;
pub mod schema;
pub mod template;
pub mod validate;
pub mod yaml;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde_json::Value;

pub use model::{Platform, Tenant};
pub use yaml::{Document, Pos};

/// Files larger than this are refused before parsing (a tenant file is a few hundred bytes).
pub const MAX_FILE_BYTES: u64 = 1024 * 1024;

/// One problem in the folder, with its place.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Diagnostic {
    pub file: String,
    pub pos: Option<Pos>,
    pub message: String,
    pub hint: Option<String>,
}

impl Diagnostic {
    pub fn new(file: impl Into<String>, pos: Option<Pos>, message: impl Into<String>) -> Self {
        Diagnostic { file: file.into(), pos, message: message.into(), hint: None }
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// `file:line:col` (or just the file).
    pub fn location(&self) -> String {
        match self.pos {
            Some(p) => format!("{}:{}:{}", self.file, p.line, p.col),
            None => self.file.clone(),
        }
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.location(), self.message)?;
        if let Some(h) = &self.hint {
            write!(f, "\n  hint: {h}")?;
        }
        Ok(())
    }
}

/// Every problem found in a folder.
#[derive(Debug, Clone, thiserror::Error)]
pub struct SpecErrors(pub Vec<Diagnostic>);

impl fmt::Display for SpecErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{d}")?;
        }
        Ok(())
    }
}

/// A value read from a file, with the file and the document's positions.
#[derive(Debug, Clone)]
pub struct Located<T> {
    pub value: T,
    pub file: String,
    pub doc: Arc<Document>,
}

impl<T> Located<T> {
    /// A diagnostic at the value of `path` (dotted, e.g. `userPool.appClients[0].name`).
    pub fn at(&self, path: &str, message: impl Into<String>) -> Diagnostic {
        Diagnostic::new(self.file.clone(), Some(self.doc.pos_of(path)), message)
    }

    /// A diagnostic at the key naming `path` (for map-keyed names like roles and tags).
    pub fn at_key(&self, path: &str, message: impl Into<String>) -> Diagnostic {
        Diagnostic::new(self.file.clone(), Some(self.doc.key_pos_of(path)), message)
    }

    /// Whether the value at `path` is a plain scalar that YAML 1.1 reads as a non-string.
    pub fn ambiguous(&self, path: &str) -> Option<&'static str> {
        self.doc.ambiguous.get(path).copied()
    }
}

/// An IAM policy template from `policies/<name>.json`.
#[derive(Debug, Clone)]
pub struct PolicyTemplate {
    pub name: String,
    pub file: String,
    pub raw: String,
    pub doc: Value,
}

impl PolicyTemplate {
    /// Position of the first occurrence of `needle` in the raw text (1-based), for diagnostics.
    pub fn locate(&self, needle: &str) -> Pos {
        locate(&self.raw, needle)
    }

    pub fn at(&self, needle: &str, message: impl Into<String>) -> Diagnostic {
        Diagnostic::new(self.file.clone(), Some(self.locate(needle)), message)
    }
}

pub fn locate(raw: &str, needle: &str) -> Pos {
    let Some(idx) = raw.find(needle) else {
        return Pos { line: 1, col: 1 };
    };
    let before = &raw[..idx];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    Pos { line, col }
}

/// The whole config folder, loaded but not yet validated.
#[derive(Debug, Clone)]
pub struct Folder {
    pub root: PathBuf,
    pub platform: Located<Platform>,
    pub tenants: Vec<Located<Tenant>>,
    pub policies: BTreeMap<String, PolicyTemplate>,
}

impl Folder {
    pub fn tenant(&self, id: &str) -> Option<&Located<Tenant>> {
        self.tenants.iter().find(|t| t.value.id == id)
    }
}

fn display_path(root: &Path, p: &Path) -> String {
    p.strip_prefix(root).unwrap_or(p).to_string_lossy().replace('\\', "/")
}

fn collect_files(dir: &Path, exts: &[&str], out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        let ft = entry.file_type()?;
        if ft.is_dir() {
            collect_files(&path, exts, out)?;
        } else if path.extension().and_then(|e| e.to_str()).is_some_and(|e| exts.contains(&e)) {
            out.push(path);
        }
    }
    Ok(())
}

fn read_limited(root: &Path, path: &Path, diags: &mut Vec<Diagnostic>) -> Option<String> {
    let shown = display_path(root, path);
    match std::fs::metadata(path) {
        Ok(m) if m.len() > MAX_FILE_BYTES => {
            diags.push(
                Diagnostic::new(
                    shown,
                    Some(Pos { line: 1, col: 1 }),
                    format!("file is {} bytes, over tenantctl's limit of {} bytes", m.len(), MAX_FILE_BYTES),
                )
                .hint("a tenant file is a few hundred bytes; split or fix the file"),
            );
            return None;
        }
        Err(e) => {
            diags.push(Diagnostic::new(shown, None, format!("cannot read: {e}")));
            return None;
        }
        _ => {}
    }
    match std::fs::read(path) {
        Ok(bytes) => match String::from_utf8(bytes) {
            Ok(s) => Some(s),
            Err(e) => {
                let upto = &e.as_bytes()[..e.utf8_error().valid_up_to()];
                let text = String::from_utf8_lossy(upto);
                let line = text.matches('\n').count() + 1;
                let col = text.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
                diags.push(Diagnostic::new(shown, Some(Pos { line, col }), "file is not valid UTF-8"));
                None
            }
        },
        Err(e) => {
            diags.push(Diagnostic::new(shown, None, format!("cannot read: {e}")));
            None
        }
    }
}

/// Checks one document against the schema (every unknown field, wrong type and unknown
/// enum value, with suggestions), then deserializes it into `T`. With problems, the value
/// is still deserialized with the offending parts removed when possible, so the folder-wide
/// rules can look at the rest.
fn from_doc<T: DeserializeOwned>(file: &str, doc: &Document, def: &str) -> (Option<T>, Vec<Diagnostic>) {
    let (problems, cleaned) = schema::check(def, &doc.value);
    if problems.is_empty() {
        return match serde_doc(file, doc) {
            Ok(t) => (Some(t), vec![]),
            Err(d) => (None, vec![d]),
        };
    }
    let diags = problems
        .into_iter()
        .map(|p| {
            let pos = if p.at_key { doc.key_pos_of(&p.path) } else { doc.pos_of(&p.path) };
            let mut d = Diagnostic::new(file, Some(pos), p.message);
            d.hint = p.hint;
            d
        })
        .collect();
    (serde_json::from_value(cleaned).ok(), diags)
}

/// Deserializes one document's value into `T`, turning serde's error into a located diagnostic.
fn serde_doc<T: DeserializeOwned>(file: &str, doc: &Document) -> Result<T, Diagnostic> {
    let de = doc.value.clone();
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = path_string(e.path());
        let inner = e.into_inner().to_string();
        // serde reports an unknown field at the map that holds it; point at the key itself.
        if let Some(field) = inner.strip_prefix("unknown field `").and_then(|r| r.split('`').next()) {
            let key_path = if path.ends_with(field) { path.clone() } else { yaml::join_key(&path, field) };
            let expected = inner.split_once(", expected ").map(|(_, rest)| rest.to_string());
            let mut d = Diagnostic::new(file, Some(doc.key_pos_of(&key_path)), format!("unknown field `{field}`"));
            if let Some(exp) = expected {
                d = d.hint(format!("expected {exp}"));
            }
            return d;
        }
        let mut d = Diagnostic::new(
            file,
            Some(doc.pos_of(&path)),
            if path.is_empty() { inner.clone() } else { format!("`{path}`: {inner}") },
        );
        if inner.contains("expected a string") {
            d = d.hint("quote the value, e.g. \"0123\"");
        } else if inner.starts_with("missing field") {
            d = d.hint("see the file format in the README (contract §1)");
        }
        d
    })
}

fn path_string(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut out = String::new();
    for seg in path.iter() {
        match seg {
            Segment::Seq { index } => out = yaml::join_index(&out, *index),
            Segment::Map { key } => out = yaml::join_key(&out, key),
            Segment::Enum { variant } => out = yaml::join_key(&out, variant),
            Segment::Unknown => {}
        }
    }
    out
}

/// Loads `DIR/tenants/**/*.y{a,}ml` and `DIR/policies/*.json`.
pub fn load(root: &Path) -> Result<Folder, SpecErrors> {
    match load_all(root) {
        (Some(folder), diags) if diags.is_empty() => Ok(folder),
        (_, diags) => Err(SpecErrors(diags)),
    }
}

/// Loads as much of the folder as can be read, with every problem found on the way: a
/// document with problems does not hide the others (of the same file or of other files).
/// The folder is `None` only when no Platform could be read.
pub fn load_all(root: &Path) -> (Option<Folder>, Vec<Diagnostic>) {
    let mut diags = Vec::new();
    let tenants_dir = root.join("tenants");
    let mut files = Vec::new();
    if let Err(e) = collect_files(&tenants_dir, &["yaml", "yml"], &mut files) {
        return (
            None,
            vec![Diagnostic::new(
                display_path(root, &tenants_dir),
                None,
                format!("cannot read the tenants folder: {e}"),
            )
            .hint("run tenantctl in a config folder, or pass -C DIR")],
        );
    }
    files.sort();

    let mut platforms: Vec<Located<Platform>> = Vec::new();
    let mut tenants: Vec<Located<Tenant>> = Vec::new();
    for path in &files {
        let shown = display_path(root, path);
        let Some(text) = read_limited(root, path, &mut diags) else {
            continue;
        };
        // A broken document does not hide the other documents of the file.
        let (docs, errors) = yaml::parse_stream_all(&text);
        for e in errors {
            let mut d = Diagnostic::new(shown.clone(), Some(e.pos), e.message);
            d.hint = e.hint;
            diags.push(d);
        }
        for doc in docs {
            read_document(&shown, doc, &mut diags, &mut platforms, &mut tenants);
        }
    }

    let policies = load_policies(root, &mut diags);

    if platforms.len() != 1 {
        if platforms.is_empty() {
            if diags.is_empty() {
                diags.push(
                    Diagnostic::new(display_path(root, &tenants_dir), None, "no `kind: Platform` document found")
                        .hint("exactly one Platform is required across all files under tenants/"),
                );
            }
        } else {
            for p in &platforms[1..] {
                diags.push(
                    p.at(
                        "kind",
                        format!(
                            "a second Platform (`{}`); the first is in {}:{}",
                            p.value.name,
                            platforms[0].file,
                            platforms[0].doc.pos_of("kind").line
                        ),
                    )
                    .hint("exactly one Platform is allowed across all files"),
                );
            }
        }
    }
    diags.sort();
    diags.dedup();
    if platforms.is_empty() {
        return (None, diags);
    }
    let platform = platforms.remove(0);
    tiers_give_isolation(&platform.value, &mut tenants);
    (Some(Folder { root: root.to_path_buf(), platform, tenants, policies }), diags)
}

/// One document of a tenants file: a Platform or a Tenant, or its problems.
fn read_document(
    shown: &str,
    doc: Document,
    diags: &mut Vec<Diagnostic>,
    platforms: &mut Vec<Located<Platform>>,
    tenants: &mut Vec<Located<Tenant>>,
) {
    let doc = Arc::new(doc);
    let Some(obj) = doc.value.as_object() else {
        diags.push(
            Diagnostic::new(shown.to_string(), Some(doc.pos), "a document must be a mapping with apiVersion and kind")
                .hint("start the document with `apiVersion: tenantctl/v1` and `kind: Tenant`"),
        );
        return;
    };
    match obj.get("apiVersion") {
        Some(Value::String(v)) if v == model::API_VERSION => {}
        Some(other) => {
            diags.push(
                Diagnostic::new(
                    shown.to_string(),
                    Some(doc.pos_of("apiVersion")),
                    format!("unsupported apiVersion {other}"),
                )
                .hint("this tenantctl reads `apiVersion: tenantctl/v1`"),
            );
            return;
        }
        None => {
            diags.push(
                Diagnostic::new(shown.to_string(), Some(doc.pos), "missing field `apiVersion`")
                    .hint("add `apiVersion: tenantctl/v1`"),
            );
            return;
        }
    }
    match obj.get("kind").and_then(Value::as_str) {
        Some("Platform") => {
            let (p, found) = from_doc::<Platform>(shown, &doc, "Platform");
            diags.extend(found);
            if let Some(p) = p {
                platforms.push(Located { value: p, file: shown.to_string(), doc: doc.clone() });
            }
        }
        Some("Tenant") => {
            let (t, found) = from_doc::<Tenant>(shown, &doc, "Tenant");
            diags.extend(found);
            if let Some(t) = t {
                tenants.push(Located { value: t, file: shown.to_string(), doc: doc.clone() });
            }
        }
        Some(other) => diags.push(
            Diagnostic::new(shown.to_string(), Some(doc.pos_of("kind")), format!("unknown kind `{other}`")).hint(
                match schema::did_you_mean(other, ["Platform", "Tenant"]) {
                    Some(m) => format!("did you mean `{m}`? (kind is `Platform` or `Tenant`)"),
                    None => "kind is `Platform` or `Tenant`".to_string(),
                },
            ),
        ),
        None => diags.push(
            Diagnostic::new(shown.to_string(), Some(doc.pos), "missing field `kind`")
                .hint("kind is `Platform` or `Tenant`"),
        ),
    }
}

/// Contract §1.6: a tenant of a tier gets the tier's isolation, unless its file says
/// `isolation` itself (a contradiction is a `validate` error, see `validate::tier_rules`).
fn tiers_give_isolation(platform: &Platform, tenants: &mut [Located<Tenant>]) {
    for t in tenants.iter_mut() {
        let explicit = t.doc.value.get("isolation").is_some();
        if let Some(tier) = t.value.tier.as_ref().and_then(|name| platform.tiers.get(name)) {
            if !explicit {
                t.value.isolation = tier.isolation;
            }
        }
    }
}

fn load_policies(root: &Path, diags: &mut Vec<Diagnostic>) -> BTreeMap<String, PolicyTemplate> {
    let mut out = BTreeMap::new();
    let dir = root.join("policies");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return out;
    };
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().and_then(|e| e.to_str()) == Some("json"))
        .collect();
    paths.sort();
    for path in paths {
        let shown = display_path(root, &path);
        let Some(raw) = read_limited(root, &path, diags) else {
            continue;
        };
        let name = path.file_stem().and_then(|s| s.to_str()).unwrap_or_default().to_string();
        match serde_json::from_str::<Value>(&raw) {
            Ok(doc) => {
                out.insert(name.clone(), PolicyTemplate { name, file: shown, raw, doc });
            }
            Err(e) => diags.push(
                Diagnostic::new(
                    shown,
                    Some(Pos { line: e.line().max(1), col: e.column().max(1) }),
                    format!("policy template is not valid JSON: {e}"),
                )
                .hint("a template is a JSON IAM policy document; placeholders go inside strings"),
            ),
        }
    }
    out
}
