//! Fuzzing at depth with proptest (cargo-fuzz needs a nightly toolchain this project does not
//! assume). Targets:
//!
//! - the strict YAML reader (`spec::yaml::parse_stream`) on arbitrary text, on YAML-shaped
//!   token soup, and on mutated seed files from `tests/fuzz-corpus/`: it never panics, and
//!   every position it reports (errors and node positions) is line >= 1, col >= 1, on a line
//!   the input has;
//! - the policy template renderer (`spec::template::{placeholders, render}`) on arbitrary JSON
//!   values whose strings are made of `{{`, `}}`, `${`, `*`, `?` and placeholders, and on
//!   mutated seed templates: it never panics, a successful render keeps the document's shape,
//!   and it never introduces `*`, `?` or `${` beyond those in the template's literal text;
//! - the whole folder (`spec::load` + `validate::validate`) with a mutated tenant file or a
//!   mutated policy template: no panic, and diagnostics point into the file.
//!
//! Cases per target: the defaults below (about 30 s in total in a debug build); set
//! `PROPTEST_CASES=N` to run N cases per target instead. Failures are persisted by proptest in
//! `tests/fuzz.proptest-regressions` and replayed first; the inputs behind every failure found
//! so far are also pinned as plain tests at the end of this file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use proptest::prelude::*;
use proptest::sample::Index;
use serde_json::{Map, Value};

use tenantctl::spec::template::{self, Context};
use tenantctl::spec::{self, validate, yaml};

// ------------------------------------------------------------------------------ set-up

/// `PROPTEST_CASES` when set, else `default`.
fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn config(default_cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases: cases(default_cases),
        // Shrinking a YAML failure can take many steps; keep it bounded.
        max_shrink_iters: 2048,
        ..ProptestConfig::default()
    }
}

struct Corpus {
    yaml: Vec<(String, String)>,
    json: Vec<(String, String)>,
}

fn corpus() -> &'static Corpus {
    static C: OnceLock<Corpus> = OnceLock::new();
    C.get_or_init(|| {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz-corpus");
        let mut entries: Vec<PathBuf> =
            std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
        entries.sort();
        let mut c = Corpus { yaml: Vec::new(), json: Vec::new() };
        for p in entries {
            let name = p.file_name().unwrap().to_string_lossy().to_string();
            let text = std::fs::read_to_string(&p).unwrap();
            match p.extension().and_then(|e| e.to_str()) {
                Some("yaml" | "yml") => c.yaml.push((name, text)),
                Some("json") => c.json.push((name, text)),
                _ => {}
            }
        }
        assert!(c.yaml.len() >= 3 && c.json.len() >= 2, "seed corpus missing in {}", dir.display());
        c
    })
}

fn corpus_yaml(name: &str) -> &'static str {
    &corpus().yaml.iter().find(|(n, _)| n == name).unwrap_or_else(|| panic!("no corpus file {name}")).1
}

// ------------------------------------------------------------------------- positions

/// Lines of `src` as YAML counts them: `\n`, `\r\n` and a lone `\r` each end a line. A
/// position may sit one past the last character (end of input), hence `+ 1`.
fn line_count(src: &str) -> usize {
    let b = src.as_bytes();
    let mut n = 1;
    for (i, &c) in b.iter().enumerate() {
        if c == b'\n' || (c == b'\r' && b.get(i + 1) != Some(&b'\n')) {
            n += 1;
        }
    }
    n
}

fn check_pos(src: &str, pos: yaml::Pos, what: &str) -> Result<(), TestCaseError> {
    let lines = line_count(src);
    prop_assert!(
        pos.line >= 1 && pos.col >= 1 && pos.line <= lines,
        "{what} at {}:{} outside the input ({lines} lines): {src:?}",
        pos.line,
        pos.col
    );
    Ok(())
}

/// Parses and checks every position the reader hands out.
fn parse_checked(src: &str) -> Result<(), TestCaseError> {
    match yaml::parse_stream(src) {
        Err(e) => {
            check_pos(src, e.pos, &format!("error {:?}", e.message))?;
            prop_assert!(!e.message.is_empty());
        }
        Ok(docs) => {
            for d in &docs {
                check_pos(src, d.pos, "document")?;
                for (path, p) in d.positions.iter().chain(d.key_positions.iter()) {
                    check_pos(src, *p, &format!("node {path:?}"))?;
                }
                // Every path the document reports leads to a position.
                for path in d.ambiguous.keys() {
                    check_pos(src, d.pos_of(path), &format!("ambiguous {path:?}"))?;
                }
            }
        }
    }
    Ok(())
}

// -------------------------------------------------------------------------- mutation

/// Text that YAML gives meaning to, and text that has tripped YAML readers before.
const YAML_TOKENS: &[&str] = &[
    "\n", "\r\n", "\r", "\t", " ", "  ", "    ", ":", ": ", "- ", "-", "? ", "---", "\n---\n", "...",
    "\n...\n", "#", " # c", "{", "}", "[", "]", ",", "{}", "[]", "&a ", "*a", "&a", "*", "!", "!!str ",
    "!!binary ", "!t ", "<<: ", "<<: *a", "|", "|-\n  x", ">", ">+\n  y\n", "'", "\"", "''", "\"\\u00e9\"",
    "\"\\x\"", "\"\\\n\"", "%YAML 1.2\n", "%TAG ! !x\n", "@", "`", "\u{feff}", "\u{0}", "\u{85}",
    "\u{2028}", "é", "😀", "0123", "yes", "off", "~", "null", "1e3", "0x1F", ".inf", "-.nan", "1_000",
    "12:30", "9223372036854775808", "-9223372036854775809", "1.7976931348623157e309", "apiVersion",
    "kind", "Tenant", "Platform", "tenantctl/v1", "id", "roles", "vars", "tags", "isolation",
    "pooled", "silo", "displayName",
];

#[derive(Debug, Clone)]
enum Mutation {
    /// Insert a token at a (char-boundary-adjusted) offset.
    Insert(Index, Index),
    /// Delete up to `len` bytes at an offset.
    Delete(Index, usize),
    /// Replace one line by a token.
    ReplaceLine(Index, Index),
    /// Duplicate a line in place.
    DuplicateLine(Index),
    /// Swap two lines.
    SwapLines(Index, Index),
    /// Change a line's indentation.
    Indent(Index, usize, bool),
    /// Cut the text at an offset.
    Truncate(Index),
    /// Splice in a slice of another corpus file.
    Splice(Index, Index, Index, usize),
    /// Insert arbitrary text.
    InsertText(Index, String),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        4 => (any::<Index>(), any::<Index>()).prop_map(|(a, b)| Mutation::Insert(a, b)),
        2 => (any::<Index>(), 1usize..16).prop_map(|(a, n)| Mutation::Delete(a, n)),
        1 => (any::<Index>(), any::<Index>()).prop_map(|(a, b)| Mutation::ReplaceLine(a, b)),
        1 => any::<Index>().prop_map(Mutation::DuplicateLine),
        1 => (any::<Index>(), any::<Index>()).prop_map(|(a, b)| Mutation::SwapLines(a, b)),
        2 => (any::<Index>(), 0usize..6, any::<bool>()).prop_map(|(a, n, d)| Mutation::Indent(a, n, d)),
        1 => any::<Index>().prop_map(Mutation::Truncate),
        1 => (any::<Index>(), any::<Index>(), any::<Index>(), 1usize..80)
            .prop_map(|(a, b, c, n)| Mutation::Splice(a, b, c, n)),
        1 => (any::<Index>(), ".{0,8}").prop_map(|(a, s)| Mutation::InsertText(a, s)),
    ]
}

fn boundary(s: &str, at: Index) -> usize {
    let mut i = if s.is_empty() { 0 } else { at.index(s.len() + 1) };
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn apply(text: &str, m: &Mutation) -> String {
    let mut s = text.to_string();
    match m {
        Mutation::Insert(at, tok) => {
            let i = boundary(&s, *at);
            s.insert_str(i, YAML_TOKENS[tok.index(YAML_TOKENS.len())]);
        }
        Mutation::Delete(at, n) => {
            let i = boundary(&s, *at);
            let mut j = (i + n).min(s.len());
            while !s.is_char_boundary(j) {
                j += 1;
            }
            s.replace_range(i..j, "");
        }
        Mutation::ReplaceLine(line, tok) => {
            let tok = YAML_TOKENS[tok.index(YAML_TOKENS.len())];
            s = edit_line(&s, *line, |l| *l = tok.to_string());
        }
        Mutation::DuplicateLine(line) => {
            let mut lines: Vec<&str> = s.split('\n').collect();
            let l = line.index(lines.len());
            lines.insert(l, lines[l]);
            s = lines.join("\n");
        }
        Mutation::Indent(line, n, deeper) => {
            s = edit_line(&s, *line, |l| {
                if *deeper {
                    l.insert_str(0, &" ".repeat(*n));
                } else {
                    let strip = l.len() - l.trim_start_matches(' ').len();
                    l.replace_range(..strip.min(*n), "");
                }
            });
        }
        Mutation::SwapLines(a, b) => {
            let mut lines: Vec<&str> = s.split('\n').collect();
            let (a, b) = (a.index(lines.len()), b.index(lines.len()));
            lines.swap(a, b);
            s = lines.join("\n");
        }
        Mutation::Truncate(at) => {
            let i = boundary(&s, *at);
            s.truncate(i);
        }
        Mutation::Splice(at, file, from, n) => {
            let all = &corpus().yaml;
            let other = &all[file.index(all.len())].1;
            let a = boundary(other, *from);
            let mut b = (a + n).min(other.len());
            while !other.is_char_boundary(b) {
                b += 1;
            }
            let i = boundary(&s, *at);
            s.insert_str(i, &other[a..b]);
        }
        Mutation::InsertText(at, t) => {
            let i = boundary(&s, *at);
            s.insert_str(i, t);
        }
    }
    s
}

fn edit_line(s: &str, line: Index, f: impl FnOnce(&mut String)) -> String {
    let mut lines: Vec<String> = s.split('\n').map(str::to_string).collect();
    let l = line.index(lines.len());
    f(&mut lines[l]);
    lines.join("\n")
}

fn mutated_yaml() -> impl Strategy<Value = (String, Vec<Mutation>)> {
    (any::<Index>(), prop::collection::vec(mutation(), 1..8)).prop_map(|(file, ms)| {
        let all = &corpus().yaml;
        (all[file.index(all.len())].0.clone(), ms)
    })
}

fn mutate_named(name: &str, ms: &[Mutation]) -> String {
    let base = corpus().yaml.iter().chain(corpus().json.iter()).find(|(n, _)| n == name).unwrap().1.clone();
    ms.iter().fold(base, |s, m| apply(&s, m))
}

/// YAML-shaped soup: tokens, words and indentation.
fn yaml_soup() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            3 => prop::sample::select(YAML_TOKENS).prop_map(str::to_string),
            2 => "[a-z]{1,6}",
            1 => "\n {0,6}",
            1 => "[ -~]{1,4}",
        ],
        0..60,
    )
    .prop_map(|v| v.concat())
}

/// Deep nesting, to find recursion without a bound.
fn deep_nesting() -> impl Strategy<Value = String> {
    (1usize..3000, 0usize..4).prop_map(|(depth, kind)| match kind {
        0 => "[".repeat(depth) + &"]".repeat(depth),
        1 => "{a: ".repeat(depth) + "1" + &"}".repeat(depth),
        2 => (0..depth.min(400)).map(|i| format!("{}- x\n{}-\n", " ".repeat(i * 2), " ".repeat(i * 2))).collect(),
        _ => "[".repeat(depth),
    })
}

// --------------------------------------------------------------------- yaml targets

proptest! {
    #![proptest_config(config(1500))]

    #[test]
    fn yaml_arbitrary_text(src in prop_oneof![any::<String>(), "[ -~\n\t\r]{0,200}", yaml_soup()]) {
        parse_checked(&src)?;
    }
}

proptest! {
    #![proptest_config(config(1500))]

    #[test]
    fn yaml_mutated_corpus((name, ms) in mutated_yaml()) {
        let src = mutate_named(&name, &ms);
        parse_checked(&src)?;
    }
}

proptest! {
    #![proptest_config(config(40))]

    #[test]
    fn yaml_deep_nesting(src in deep_nesting()) {
        parse_checked(&src)?;
    }
}

// ----------------------------------------------------------------- template targets

/// String pieces a template string is made of.
const TEMPLATE_PIECES: &[&str] = &[
    "{{", "}}", "{", "}", "${", "$", "*", "?", "${aws:PrincipalTag/tenant_id}", "${aws:username}",
    "{{tenant.id}}", "{{ tenant.id }}", "{{tenant.vars.bucket}}", "{{tenant.vars.a}}",
    "{{tenant.vars.b}}", "{{tenant.vars.missing}}", "{{platform.name}}", "{{role}}",
    "{{aws.accountId}}", "{{aws.region}}", "{{unknown}}", "{{tenant.vars.}}", "{{tenant.vars.a.b}}",
    "{{}}", "{{{", "}}}", "{{{{tenant.id}}}}", "arn:aws:s3:::", "/", "-", ":", "table/", "é",
];

fn template_string() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            4 => prop::sample::select(TEMPLATE_PIECES).prop_map(str::to_string),
            1 => "[a-z0-9:/-]{1,8}",
            1 => ".{1,3}",
        ],
        0..8,
    )
    .prop_map(|v| v.concat())
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        4 => template_string().prop_map(Value::String),
    ];
    leaf.prop_recursive(6, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((prop_oneof![3 => "[A-Za-z:]{1,10}", 1 => template_string()], inner), 0..6)
                .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// A seed template with some of its strings mutated.
fn mutated_template() -> impl Strategy<Value = Value> {
    (any::<Index>(), prop::collection::vec((any::<Index>(), any::<Index>(), template_string()), 0..6)).prop_map(
        |(file, edits)| {
            let all = &corpus().json;
            let mut doc: Value = serde_json::from_str(&all[file.index(all.len())].1).unwrap();
            for (which, at, text) in edits {
                let mut strings = Vec::new();
                collect_strings(&mut doc, &mut strings);
                if strings.is_empty() {
                    break;
                }
                let s = strings.swap_remove(which.index(strings.len()));
                let i = boundary(s, at);
                s.insert_str(i, &text);
            }
            doc
        },
    )
}

fn collect_strings<'v>(v: &'v mut Value, out: &mut Vec<&'v mut String>) {
    match v {
        Value::String(s) => out.push(s),
        Value::Array(a) => a.iter_mut().for_each(|x| collect_strings(x, out)),
        Value::Object(m) => m.values_mut().for_each(|x| collect_strings(x, out)),
        _ => {}
    }
}

/// Tenant variable values: plain ones, and ones that are harmless alone but not together.
fn var_value() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => "[a-z0-9-]{1,12}",
        1 => prop::sample::select(&["$", "{", "}", "{aws:username}", "aws:username}", "$x", "x$", "{{", "}}",
                                    "*", "?", "${aws:userid}", "a\"b", "", "{{tenant.id}}"][..])
            .prop_map(str::to_string),
        1 => ".{0,6}",
    ]
}

#[derive(Debug, Clone)]
struct Ctx {
    tenant_id: String,
    vars: BTreeMap<String, String>,
    platform: String,
    role: String,
}

fn ctx() -> impl Strategy<Value = Ctx> {
    (
        prop_oneof![4 => "[a-z0-9][a-z0-9-]{0,10}[a-z0-9]", 1 => ".{0,4}"],
        prop::collection::btree_map(prop::sample::select(&["bucket", "a", "b", "x"][..]).prop_map(str::to_string), var_value(), 0..4),
        "[a-z][a-z0-9]{0,8}",
        prop_oneof!["admin", "member", "[a-z]{1,5}"],
    )
        .prop_map(|(tenant_id, vars, platform, role)| Ctx { tenant_id, vars, platform, role })
}

/// The literal (non-placeholder) pieces of a template string, as the contract splits it:
/// `{{` opens a placeholder that the next `}}` closes.
fn literal_pieces(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = s;
    while let Some(start) = rest.find("{{") {
        out.push(&rest[..start]);
        match rest[start + 2..].find("}}") {
            Some(end) => rest = &rest[start + 2 + end + 2..],
            None => return out,
        }
    }
    out.push(rest);
    out
}

fn check_render(template: &Value, out: &Value, path: &str) -> Result<(), TestCaseError> {
    match (template, out) {
        (Value::String(t), Value::String(o)) => {
            let lits = literal_pieces(t);
            for pat in ["*", "?", "${"] {
                let allowed: usize = lits.iter().map(|l| l.matches(pat).count()).sum();
                let got = o.matches(pat).count();
                prop_assert!(
                    got <= allowed,
                    "render introduced {pat:?} at {path:?}: template {t:?} -> {o:?} ({got} > {allowed} in the literal text)"
                );
            }
        }
        (Value::Array(t), Value::Array(o)) => {
            prop_assert_eq!(t.len(), o.len(), "array length changed at {:?}", path);
            for (i, (a, b)) in t.iter().zip(o).enumerate() {
                check_render(a, b, &format!("{path}/{i}"))?;
            }
        }
        (Value::Object(t), Value::Object(o)) => {
            prop_assert_eq!(t.keys().collect::<Vec<_>>(), o.keys().collect::<Vec<_>>(), "keys changed at {:?}", path);
            for (k, a) in t {
                check_render(a, &o[k], &format!("{path}/{k}"))?;
            }
        }
        (t, o) => prop_assert_eq!(t, o, "non-string value changed at {:?}", path),
    }
    Ok(())
}

fn render_checked(doc: &Value, c: &Ctx) -> Result<(), TestCaseError> {
    let context = Context {
        tenant_id: &c.tenant_id,
        vars: &c.vars,
        platform: &c.platform,
        role: &c.role,
        account_id: "123456789012",
        region: "us-east-1",
    };
    let found = template::placeholders(doc);
    let rendered = template::render(doc, &context);
    if let Ok(out) = &rendered {
        prop_assert!(found.is_ok(), "render succeeded where placeholders() refused: {found:?}");
        check_render(doc, out, "")?;
    }
    // Every placeholder known and every value it needs present and harmless: render succeeds.
    if let Ok(list) = &found {
        let value_of = |name: &str| -> Option<String> {
            match name {
                "tenant.id" => Some(c.tenant_id.clone()),
                "platform.name" => Some(c.platform.clone()),
                "role" => Some(c.role.clone()),
                "aws.accountId" => Some("123456789012".into()),
                "aws.region" => Some("us-east-1".into()),
                other => c.vars.get(other.strip_prefix("tenant.vars.")?).cloned(),
            }
        };
        let renderable =
            list.iter().all(|(_, name)| value_of(name).is_some_and(|v| template::widening_reason(&v).is_none()));
        if renderable {
            prop_assert!(rendered.is_ok(), "placeholders {list:?} all resolvable, yet render failed: {rendered:?}");
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(config(3000))]

    #[test]
    fn template_arbitrary_values(doc in json_value(), c in ctx()) {
        render_checked(&doc, &c)?;
    }

    #[test]
    fn template_mutated_corpus(doc in mutated_template(), c in ctx()) {
        render_checked(&doc, &c)?;
    }
}

// ------------------------------------------------------------------- folder target

/// A folder with the corpus platform, the repository's policy templates and one tenant file.
struct Scratch {
    dir: tempfile::TempDir,
}

impl Scratch {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("tenants")).unwrap();
        std::fs::create_dir_all(dir.path().join("policies")).unwrap();
        std::fs::write(dir.path().join("tenants/platform.yaml"), corpus_yaml("platform.yaml")).unwrap();
        std::fs::write(dir.path().join("authorizer.zip"), b"PK\x05\x06\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0").unwrap();
        Scratch { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn set(&self, tenant: &str, rw: &str, ro: &str) {
        std::fs::write(self.path().join("tenants/t.yaml"), tenant).unwrap();
        std::fs::write(self.path().join("policies/tenant-data-rw.json"), rw).unwrap();
        std::fs::write(self.path().join("policies/tenant-data-ro.json"), ro).unwrap();
    }
}

fn json_seed(name: &str) -> &'static str {
    &corpus().json.iter().find(|(n, _)| n == name).unwrap().1
}

fn folder_checked(s: &Scratch, tenant: &str, rw: &str) -> Result<(), TestCaseError> {
    s.set(tenant, rw, json_seed("policy-ro.json"));
    let diags = match spec::load(s.path()) {
        Ok(folder) => validate::validate(&folder),
        Err(e) => e.0,
    };
    for d in &diags {
        let Some(pos) = d.pos else { continue };
        let src = match d.file.as_str() {
            f if f.ends_with("t.yaml") => tenant,
            f if f.ends_with("tenant-data-rw.json") => rw,
            f if f.ends_with("platform.yaml") => corpus_yaml("platform.yaml"),
            _ => continue,
        };
        check_pos(src, pos, &format!("diagnostic {:?} in {}", d.message, d.file))?;
    }
    Ok(())
}

fn scratch() -> &'static std::sync::Mutex<Scratch> {
    static S: OnceLock<std::sync::Mutex<Scratch>> = OnceLock::new();
    S.get_or_init(|| std::sync::Mutex::new(Scratch::new()))
}

proptest! {
    #![proptest_config(config(300))]

    #[test]
    fn folder_with_mutated_tenant((name, ms) in mutated_yaml()) {
        let tenant = mutate_named(&name, &ms);
        let s = scratch().lock().unwrap_or_else(|p| p.into_inner());
        folder_checked(&s, &tenant, json_seed("policy-rw.json"))?;
    }

    #[test]
    fn folder_with_mutated_policy(ms in prop::collection::vec(mutation(), 1..6), tpl in any::<Index>()) {
        let seeds = ["policy-rw.json", "template-edge.json"];
        let rw = mutate_named(seeds[tpl.index(seeds.len())], &ms);
        let s = scratch().lock().unwrap_or_else(|p| p.into_inner());
        folder_checked(&s, corpus_yaml("tenant-acme.yaml"), &rw)?;
    }
}

// ------------------------------------------------------------- corpus, unmutated

/// Every seed parses (or is refused) with positions inside the file, and the example folder
/// built from the seeds is valid: the fuzz targets start from meaningful inputs.
#[test]
fn seeds_are_meaningful() {
    for (name, text) in &corpus().yaml {
        parse_checked(text).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    let s = Scratch::new();
    for tenant in ["tenant-acme.yaml", "tenants-multi.yaml"] {
        s.set(corpus_yaml(tenant), json_seed("policy-rw.json"), json_seed("policy-ro.json"));
        let folder = spec::load(s.path()).unwrap_or_else(|e| panic!("{tenant}: {e}"));
        assert_eq!(validate::validate(&folder), vec![], "{tenant}");
    }
    s.set(corpus_yaml("tenant-hostile.yaml"), json_seed("policy-rw.json"), json_seed("policy-ro.json"));
    assert!(spec::load(s.path()).is_err(), "the hostile seed is refused");
    for (name, text) in &corpus().json {
        let doc: Value = serde_json::from_str(text).unwrap_or_else(|e| panic!("{name}: {e}"));
        let vars = BTreeMap::from([("bucket".to_string(), "data".to_string())]);
        let c = Ctx { tenant_id: "acme".into(), vars, platform: "saas".into(), role: "admin".into() };
        render_checked(&doc, &c).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
}
