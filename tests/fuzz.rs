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
//! - the whole folder (`spec::load` + `check::validate`: the folder-wide rules and every kind's) with a mutated tenant file or a
//!   mutated policy template: no panic, and diagnostics point into the file.
//!
//! Cases per target: the defaults below (about 30 s in total in a debug build on two cores);
//! `PROPTEST_CASES=N` runs N cases per target instead. Failures are persisted by proptest in
//! `tests/fuzz.proptest-regressions` and replayed first; the inputs behind every defect found
//! so far are also pinned as plain regression tests in `known_bugs` at the end of this file
//! (all four are fixed in src/spec; the module keeps its name so the history reads). A deeper
//! run: `PROPTEST_CASES=25000 cargo test --test fuzz`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::FileFailurePersistence;
use serde_json::{Map, Value};

use tenantctl::spec::template::{self, Context};
use tenantctl::spec::{self, yaml};

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
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fuzz.proptest-regressions"
        )))),
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
        let mut entries: Vec<PathBuf> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
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

/// `FUZZ_KNOWN_BUGS=tolerate` accepts the defects listed in `known_bugs` below (each pinned by
/// a plain test that fails until it is fixed), so fuzzing can go on past them.
fn tolerate_known() -> bool {
    std::env::var("FUZZ_KNOWN_BUGS").is_ok_and(|v| v == "tolerate")
}

/// The lines of `src` as YAML splits them: `\n`, `\r\n` and a lone `\r` each end a line. A
/// file that ends with a line break has an empty last line (where end-of-input sits).
fn yaml_lines(src: &str) -> Vec<&str> {
    let b = src.as_bytes();
    let mut out = Vec::new();
    let mut start = 0;
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
    out.push(&src[start..]);
    out
}

fn check_pos(src: &str, pos: yaml::Pos, what: &str) -> Result<(), TestCaseError> {
    check_pos_in(&yaml_lines(src), src, pos, what)
}

/// For JSON files: only `\n` ends a line, and columns are counted in bytes (as serde_json
/// counts them; the YAML reader and `spec::locate` count characters).
fn check_json_pos(src: &str, pos: yaml::Pos, what: &str) -> Result<(), TestCaseError> {
    let lines: Vec<&str> = src.split('\n').collect();
    prop_assert!(
        pos.line >= 1 && pos.col >= 1 && pos.line <= lines.len(),
        "{what} at {}:{} outside the input ({} lines): {src:?}",
        pos.line,
        pos.col,
        lines.len()
    );
    prop_assert!(
        pos.col <= lines[pos.line - 1].len() + 1,
        "{what} at {}:{} beyond the end of that line",
        pos.line,
        pos.col
    );
    Ok(())
}

fn check_pos_in(lines: &[&str], src: &str, pos: yaml::Pos, what: &str) -> Result<(), TestCaseError> {
    if tolerate_known() && pos.line == lines.len() + 1 && pos.col == 1 {
        return Ok(()); // known_bugs::yaml_position_past_the_last_line
    }
    prop_assert!(
        pos.line >= 1 && pos.col >= 1 && pos.line <= lines.len(),
        "{what} at {}:{} outside the input ({} lines): {src:?}",
        pos.line,
        pos.col,
        lines.len()
    );
    let width = lines[pos.line - 1].chars().count();
    prop_assert!(
        pos.col <= width + 1,
        "{what} at {}:{} beyond the end of that line ({width} characters): {src:?}",
        pos.line,
        pos.col
    );
    Ok(())
}

/// Parses and checks every position the reader hands out.
fn parse_checked(src: &str) -> Result<(), TestCaseError> {
    let lines = yaml_lines(src);
    let check = |pos: yaml::Pos, what: &dyn Fn() -> String| check_pos_in(&lines, src, pos, &what());
    match yaml::parse_stream(src) {
        Err(e) => {
            check(e.pos, &|| format!("error {:?}", e.message))?;
            prop_assert!(!e.message.is_empty());
        }
        Ok(docs) => {
            for d in &docs {
                check(d.pos, &|| "document".into())?;
                for (path, p) in d.positions.iter().chain(d.key_positions.iter()) {
                    check(*p, &|| format!("node {path:?}"))?;
                }
                // Every path the document reports leads to a position.
                for path in d.ambiguous.keys() {
                    check(d.pos_of(path), &|| format!("ambiguous {path:?}"))?;
                }
            }
        }
    }
    Ok(())
}

// -------------------------------------------------------------------------- mutation

/// Text that YAML gives meaning to, and text that has tripped YAML readers before.
const YAML_TOKENS: &[&str] = &[
    "\n",
    "\r\n",
    "\r",
    "\t",
    " ",
    "  ",
    "    ",
    ":",
    ": ",
    "- ",
    "-",
    "? ",
    "---",
    "\n---\n",
    "...",
    "\n...\n",
    "#",
    " # c",
    "{",
    "}",
    "[",
    "]",
    ",",
    "{}",
    "[]",
    "&a ",
    "*a",
    "&a",
    "*",
    "!",
    "!!str ",
    "!!binary ",
    "!t ",
    "<<: ",
    "<<: *a",
    "|",
    "|-\n  x",
    ">",
    ">+\n  y\n",
    "'",
    "\"",
    "''",
    "\"\\u00e9\"",
    "\"\\x\"",
    "\"\\\n\"",
    "%YAML 1.2\n",
    "%TAG ! !x\n",
    "@",
    "`",
    "\u{feff}",
    "\u{0}",
    "\u{85}",
    "\u{2028}",
    "é",
    "😀",
    "0123",
    "yes",
    "off",
    "~",
    "null",
    "1e3",
    "0x1F",
    ".inf",
    "-.nan",
    "1_000",
    "12:30",
    "9223372036854775808",
    "-9223372036854775809",
    "1.7976931348623157e309",
    "apiVersion",
    "kind",
    "Tenant",
    "Platform",
    "tenantctl/v1",
    "id",
    "roles",
    "vars",
    "tags",
    "isolation",
    "pooled",
    "silo",
    "displayName",
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
    #![proptest_config(config(100000))]

    #[test]
    fn yaml_arbitrary_text(src in prop_oneof![any::<String>(), "[ -~\n\t\r]{0,200}", yaml_soup()]) {
        parse_checked(&src)?;
    }
}

proptest! {
    #![proptest_config(config(100000))]

    #[test]
    fn yaml_mutated_corpus((name, ms) in mutated_yaml()) {
        let src = mutate_named(&name, &ms);
        parse_checked(&src)?;
    }
}

proptest! {
    #![proptest_config(config(2000))]

    #[test]
    fn yaml_deep_nesting(src in deep_nesting()) {
        parse_checked(&src)?;
    }
}

// ----------------------------------------------------------------- template targets

/// String pieces a template string is made of.
const TEMPLATE_PIECES: &[&str] = &[
    "{{",
    "}}",
    "{",
    "}",
    "${",
    "$",
    "*",
    "?",
    "${aws:PrincipalTag/tenant_id}",
    "${aws:username}",
    "{{tenant.id}}",
    "{{ tenant.id }}",
    "{{tenant.vars.bucket}}",
    "{{tenant.vars.a}}",
    "{{tenant.vars.b}}",
    "{{tenant.vars.missing}}",
    "{{platform.name}}",
    "{{role}}",
    "{{aws.accountId}}",
    "{{aws.region}}",
    "{{unknown}}",
    "{{tenant.vars.}}",
    "{{tenant.vars.a.b}}",
    "{{}}",
    "{{{",
    "}}}",
    "{{{{tenant.id}}}}",
    "arn:aws:s3:::",
    "/",
    "-",
    ":",
    "table/",
    "é",
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
        1 => Just(Value::Null),
        1 => any::<bool>().prop_map(Value::Bool),
        1 => any::<i64>().prop_map(Value::from),
        1 => any::<f64>().prop_map(Value::from),
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
        prop::collection::btree_map(
            prop::sample::select(&["bucket", "a", "b", "x"][..]).prop_map(str::to_string),
            var_value(),
            0..4,
        ),
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
            // known_bugs::render_composes_a_policy_variable
            let pats: &[&str] = if tolerate_known() { &["*", "?"] } else { &["*", "?", "${"] };
            for pat in pats {
                let allowed: usize = lits.iter().map(|l| l.matches(*pat).count()).sum();
                let got = o.matches(*pat).count();
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
        // A refusal is allowed only for values that join with their neighbours into a
        // wildcard or a policy variable (e.g. `$` + `{aws:username}`).
        let joins =
            matches!(&rendered, Err(template::TemplateError::Widening { reason, .. }) if reason.contains("joins"));
        if renderable && !joins {
            prop_assert!(rendered.is_ok(), "placeholders {list:?} all resolvable, yet render failed: {rendered:?}");
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(config(60000))]

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
        Ok(folder) => tenantctl::check::validate(&folder),
        Err(e) => e.0,
    };
    for d in &diags {
        let Some(pos) = d.pos else { continue };
        if tolerate_known() && pos.col == 0 && d.message.starts_with("policy template is not valid JSON") {
            continue; // known_bugs::policy_json_error_at_column_zero
        }
        let what = format!("diagnostic {:?} in {}", d.message, d.file);
        match d.file.as_str() {
            f if f.ends_with("t.yaml") => check_pos(tenant, pos, &what)?,
            f if f.ends_with("platform.yaml") => check_pos(corpus_yaml("platform.yaml"), pos, &what)?,
            // serde_json counts columns in bytes, the YAML reader in characters: check the
            // line and a column within the line's bytes.
            f if f.ends_with("tenant-data-rw.json") => check_json_pos(rw, pos, &what)?,
            _ => {}
        }
    }
    Ok(())
}

fn scratch() -> &'static std::sync::Mutex<Scratch> {
    static S: OnceLock<std::sync::Mutex<Scratch>> = OnceLock::new();
    S.get_or_init(|| std::sync::Mutex::new(Scratch::new()))
}

proptest! {
    #![proptest_config(config(8000))]

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
        assert_eq!(tenantctl::check::validate(&folder), vec![], "{tenant}");
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

/// Flow nesting far deeper than any proptest case, within the 1 MiB file limit: refused (the
/// scanner stops at 255 flow levels) or parsed. Block nesting is `known_bugs::
/// deep_block_nesting_overflows_the_stack` (a subprocess: a stack overflow aborts the process).
#[test]
fn yaml_very_deep_flow_nesting() {
    for src in [
        "[".repeat(200_000) + &"]".repeat(200_000),
        "{a: ".repeat(100_000) + "1" + &"}".repeat(100_000),
        "[".repeat(400_000),
    ] {
        parse_checked(&src).unwrap_or_else(|e| panic!("{e}"));
    }
}

// ------------------------------------------------------------------------ known bugs

/// Inputs behind the failures fuzzing found, as plain tests. Each fails until src/spec is
/// fixed; `FUZZ_KNOWN_BUGS=tolerate` lets the proptest targets above go on past them.
mod known_bugs {
    use super::*;

    /// src/spec/yaml.rs `Pos::from(Marker)` (used by `parse_stream` for errors and every node):
    /// yaml-rust2's `fetch_stream_end` moves the end-of-input mark to a new line, so an input
    /// that does not end with a line break gets positions on a line it does not have.
    #[test]
    fn yaml_position_past_the_last_line() {
        let e = yaml::parse_stream("[").unwrap_err();
        assert_eq!(e.pos.line, 1, "{e:?}");
        let e = yaml::parse_stream("a: 1\nt").unwrap_err();
        assert_eq!(e.pos.line, 2, "{e:?}");
        let docs = yaml::parse_stream("- ").unwrap();
        assert_eq!(docs[0].positions["[0]"].line, 1);
    }

    /// src/spec/mod.rs `load_policies` (`Pos { line: e.line(), col: e.column() }`): serde_json
    /// reports column 0 for an error on a line break (here a raw line break inside a string);
    /// the diagnostic then says `policies/tenant-data-rw.json:2:0`.
    #[test]
    fn policy_json_error_at_column_zero() {
        let s = Scratch::new();
        s.set(corpus_yaml("tenant-acme.yaml"), "{\"Version\": \"2012-\n10-17\"}", json_seed("policy-ro.json"));
        let errs = spec::load(s.path()).unwrap_err().0;
        let d = errs.iter().find(|d| d.file.ends_with("tenant-data-rw.json")).expect("a JSON diagnostic");
        let pos = d.pos.expect("a position");
        assert!(pos.line >= 1 && pos.col >= 1, "{}", d.location());
    }

    /// src/spec/template.rs `render`/`resolve`: values are checked one by one
    /// (`widening_reason`), but not the string they are joined into. `$` and `{aws:username}`
    /// are each harmless, yet next to each other (or after a literal `$`) they make an IAM
    /// policy variable: a tenant's vars can turn a fixed resource into a per-caller one.
    /// `validate` accepts such vars too (it applies the same per-value check).
    #[test]
    fn render_composes_a_policy_variable() {
        let vars =
            BTreeMap::from([("a".to_string(), "$".to_string()), ("b".to_string(), "{aws:username}".to_string())]);
        for (k, v) in &vars {
            assert_eq!(template::widening_reason(v), None, "{k} alone passes");
        }
        let ctx = Context {
            tenant_id: "acme",
            vars: &vars,
            platform: "saas",
            role: "admin",
            account_id: "123456789012",
            region: "us-east-1",
        };
        for tpl in [
            serde_json::json!({"Resource": "arn:aws:s3:::{{tenant.vars.a}}{{tenant.vars.b}}"}),
            serde_json::json!({"Resource": "arn:aws:s3:::bucket/${{tenant.vars.b}}"}),
        ] {
            if let Ok(out) = template::render(&tpl, &ctx) {
                let r = out["Resource"].as_str().unwrap();
                assert!(!r.contains("${"), "{tpl} rendered to {r:?}");
            }
        }
    }

    /// src/spec/yaml.rs `parse_stream` -> yaml_rust2 `Parser::load`, which recurses once per
    /// nesting level (load_node <-> load_sequence/load_mapping). Flow collections stop at 255
    /// levels, block collections never: `- - - ... x` (10,000 levels, a 20 KB file, far under
    /// the 1 MiB limit) overflows the stack and aborts `tenantctl validate` (SIGABRT, exit 134).
    #[test]
    fn deep_block_nesting_overflows_the_stack() {
        let s = Scratch::new();
        s.set(&("- ".repeat(10_000) + "x\n"), json_seed("policy-rw.json"), json_seed("policy-ro.json"));
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_tenantctl"))
            .arg("-C")
            .arg(s.path())
            .args(["--no-color", "validate"])
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(1),
            "tenantctl validate on 10,000 nested block sequences: {:?}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
