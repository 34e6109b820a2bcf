//! The code's structure, read from the source text (no build of the crate needed, no emulator):
//!
//! - `no_import_cycles`: the module graph of `src/` has no cycle. Each file (and each inline
//!   `mod x { .. }`, e.g. a `tests` module) is a node, named by its module path
//!   (`src/kinds/user_pool.rs` is `kinds::user_pool`, `src/kinds/mod.rs` is `kinds`). An edge
//!   `a -> b` is a path of `a`'s code that names `b` or an item of `b`: `use crate::..`,
//!   `use super::..`, `use self::..` (use trees expanded), `crate::b::f(..)` and `super::..`
//!   paths in code, and paths through a module imported by name (`use crate::kinds;` then
//!   `kinds::user_pool::KIND` names `kinds::user_pool`). Declaring a module (`pub mod x;`) is
//!   containment, not a use. A re-export is an alias: `pub use x::Y` by a parent `p` of `x` is no
//!   edge of `p`, and a path naming `p::Y` names `x`, where `Y` lives (so a `mod.rs` that
//!   declares and re-exports its children is a facade; a child's `use super::Kind` is a use of
//!   the file that defines `Kind`). A cycle fails the test, spelled out with the lines that make
//!   each edge, unless one of its edges is in [`KNOWN_CYCLES`].
//! - `no_long_functions`: no `fn` in `src/` is over [`MAX_FN_LINES`] lines (from its `fn` line
//!   to its closing brace), except those in [`LONG_FNS`].
//!
//! Both allow-lists name today's offenders and who removes each; an entry that no longer
//! matches anything fails the test too, so the lists only shrink.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Import edges that close today's cycles (issue 22), `(from, to, who removes it)`; `to` may
/// end in `*` (any module under that prefix). The test removes these edges before looking
/// for cycles. Empty this list as the work lands.
const KNOWN_CYCLES: &[(&str, &str, &str)] = &[];

/// The longest a function may be, in lines.
const MAX_FN_LINES: usize = 120;

/// Functions over [`MAX_FN_LINES`] today, `(file under src/, fn name, who shortens it)`.
const LONG_FNS: &[(&str, &str, &str)] = &[];

// ------------------------------------------------------------------------------- source

fn src_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Every `.rs` file under `src/` (but `main.rs`, the binary, which uses the library by its
/// crate name), with its path relative to `src/`, sorted.
fn sources() -> Vec<(String, String)> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }
    let root = src_dir();
    let mut files = Vec::new();
    walk(&root, &mut files);
    let mut out: Vec<(String, String)> = files
        .iter()
        .map(|p| {
            let rel = p.strip_prefix(&root).unwrap().to_string_lossy().replace('\\', "/");
            (rel, std::fs::read_to_string(p).unwrap())
        })
        .filter(|(rel, _)| rel != "main.rs")
        .collect();
    out.sort();
    out
}

/// The module path of a file under `src/` (`""` for `lib.rs`).
fn module_of(rel: &str) -> String {
    let rel = rel.strip_suffix(".rs").unwrap();
    let rel = rel.strip_suffix("/mod").unwrap_or(rel);
    if rel == "lib" {
        String::new()
    } else {
        rel.replace('/', "::")
    }
}

/// The code with comments, string and char literals blanked (line breaks kept, so lines still
/// count), and lifetimes left alone.
fn code_only(src: &str) -> String {
    let c: Vec<char> = src.chars().collect();
    let mut out = String::with_capacity(src.len());
    let mut i = 0;
    let blank = |out: &mut String, ch: char| out.push(if ch == '\n' { '\n' } else { ' ' });
    while i < c.len() {
        if ch(&c, i) == '/' && ch(&c, i + 1) == '/' {
            while i < c.len() && c[i] != '\n' {
                i += 1;
            }
        } else if ch(&c, i) == '/' && ch(&c, i + 1) == '*' {
            let mut depth = 0;
            while i < c.len() {
                if ch(&c, i) == '/' && ch(&c, i + 1) == '*' {
                    depth += 1;
                    out.push_str("  ");
                    i += 2;
                } else if ch(&c, i) == '*' && ch(&c, i + 1) == '/' {
                    depth -= 1;
                    out.push_str("  ");
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    blank(&mut out, c[i]);
                    i += 1;
                }
            }
        } else if (ch(&c, i) == 'r' || (ch(&c, i) == 'b' && ch(&c, i + 1) == 'r')) && !prev_is_ident(&c, i) && {
            let s = if ch(&c, i) == 'b' { 2 } else { 1 };
            let mut k = s;
            while ch(&c, i + k) == '#' {
                k += 1;
            }
            ch(&c, i + k) == '"'
        } {
            // Raw string: r"..", r#".."#, br"..".
            let s = if ch(&c, i) == 'b' { 2 } else { 1 };
            let mut hashes = 0;
            while ch(&c, i + s + hashes) == '#' {
                hashes += 1;
            }
            out.push('"');
            i += s + hashes + 1;
            while i < c.len() {
                if c[i] == '"' && (0..hashes).all(|h| c.get(i + 1 + h) == Some(&'#')) {
                    i += 1 + hashes;
                    break;
                }
                blank(&mut out, c[i]);
                i += 1;
            }
            out.push('"');
        } else if ch(&c, i) == '"' {
            out.push('"');
            i += 1;
            while i < c.len() && c[i] != '"' {
                if c[i] == '\\' {
                    blank(&mut out, c[i]);
                    i += 1;
                }
                if i < c.len() {
                    blank(&mut out, c[i]);
                    i += 1;
                }
            }
            out.push('"');
            i += 1;
        } else if ch(&c, i) == '\'' && (ch(&c, i + 1) == '\\' || (ch(&c, i + 2) == '\'' && ch(&c, i + 1) != '\'')) {
            // A char literal ('x', '\n', '\u{1F600}'); a lifetime ('a) has no closing quote.
            out.push_str("' '");
            i += 1;
            if ch(&c, i) == '\\' {
                i += 2; // the backslash and the escaped char (which may be a quote)
            }
            while i < c.len() && c[i] != '\'' {
                i += 1;
            }
            i += 1;
        } else {
            out.push(c[i]);
            i += 1;
        }
    }
    out
}

/// The char at `i` (`\0` past the end).
fn ch(c: &[char], i: usize) -> char {
    c.get(i).copied().unwrap_or('\0')
}

fn prev_is_ident(c: &[char], i: usize) -> bool {
    i > 0 && (c[i - 1].is_alphanumeric() || c[i - 1] == '_')
}

// ------------------------------------------------------------------------------ tokens

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Punct(char),
    /// `::`
    Path,
}

/// Identifiers, `::` and single punctuation, each with its line.
fn tokens(code: &str) -> Vec<(Tok, usize)> {
    let c: Vec<char> = code.chars().collect();
    let mut out = Vec::new();
    let (mut i, mut line) = (0, 1);
    while i < c.len() {
        let ch = c[i];
        if ch == '\n' {
            line += 1;
            i += 1;
        } else if ch.is_whitespace() {
            i += 1;
        } else if ch.is_alphabetic() || ch == '_' {
            let s = i;
            while i < c.len() && (c[i].is_alphanumeric() || c[i] == '_') {
                i += 1;
            }
            out.push((Tok::Ident(c[s..i].iter().collect()), line));
        } else if ch.is_ascii_digit() {
            while i < c.len() && (c[i].is_alphanumeric() || c[i] == '_') {
                i += 1;
            }
        } else if ch == ':' && c.get(i + 1) == Some(&':') {
            out.push((Tok::Path, line));
            i += 2;
        } else {
            out.push((Tok::Punct(ch), line));
            i += 1;
        }
    }
    out
}

// ----------------------------------------------------------------------- module graph

/// A path a module names, relative to where it is written.
#[derive(Debug, Clone)]
struct Named {
    /// The module whose code writes it.
    at: String,
    segments: Vec<String>,
    file: String,
    line: usize,
    /// Written in a `pub use` (a re-export).
    reexport: bool,
}

/// What one file says: its modules (inline ones too), the paths it names, its imports by
/// name.
#[derive(Default)]
struct Scan {
    modules: BTreeSet<String>,
    named: Vec<Named>,
    /// (module, local name) -> the path it was imported from (as written).
    imports: BTreeMap<(String, String), (Vec<String>, bool)>,
}

fn join(module: &str, name: &str) -> String {
    if module.is_empty() {
        name.to_string()
    } else {
        format!("{module}::{name}")
    }
}

/// Expands a use tree starting at `toks[*i]` into `(path, local name)` pairs.
fn use_tree(toks: &[(Tok, usize)], i: &mut usize, prefix: &[String], out: &mut Vec<(Vec<String>, Option<String>)>) {
    let mut path = prefix.to_vec();
    loop {
        match toks.get(*i).map(|t| &t.0) {
            Some(Tok::Ident(s)) => {
                path.push(s.clone());
                *i += 1;
            }
            Some(Tok::Punct('*')) => {
                *i += 1;
                path.push("*".into());
                out.push((path, None));
                return;
            }
            Some(Tok::Punct('{')) => {
                *i += 1;
                loop {
                    match toks.get(*i).map(|t| &t.0) {
                        Some(Tok::Punct('}')) => {
                            *i += 1;
                            return;
                        }
                        Some(Tok::Punct(',')) => *i += 1,
                        None => return,
                        _ => use_tree(toks, i, &path, out),
                    }
                }
            }
            _ => return,
        }
        match toks.get(*i).map(|t| &t.0) {
            Some(Tok::Path) => *i += 1,
            Some(Tok::Ident(s)) if s == "as" => {
                *i += 1;
                let alias = match toks.get(*i).map(|t| &t.0) {
                    Some(Tok::Ident(a)) => a.clone(),
                    _ => String::new(),
                };
                *i += 1;
                // `use a::{self as b}` imports `a` as `b`.
                if path.last().map(String::as_str) == Some("self") {
                    path.pop();
                }
                out.push((path, Some(alias)));
                return;
            }
            _ => {
                let name = path.last().cloned();
                // `self` in a group names the group's module: `use a::{self}` imports `a`.
                if path.last().map(String::as_str) == Some("self") && path.len() > 1 {
                    path.pop();
                    let n = path.last().cloned();
                    out.push((path, n));
                } else {
                    out.push((path, name));
                }
                return;
            }
        }
    }
}

fn scan(rel: &str, src: &str) -> Scan {
    let code = code_only(src);
    let toks = tokens(&code);
    let mut s = Scan::default();
    let file_module = module_of(rel);
    s.modules.insert(file_module.clone());
    // The module each open brace belongs to.
    let mut stack: Vec<(usize, String)> = Vec::new();
    let mut depth = 0usize;
    let current = |stack: &Vec<(usize, String)>| stack.last().map_or(file_module.clone(), |(_, m)| m.clone());
    let mut i = 0;
    while i < toks.len() {
        let (t, line) = (&toks[i].0, toks[i].1);
        let ident = |k: usize| match toks.get(k).map(|t| &t.0) {
            Some(Tok::Ident(s)) => Some(s.as_str()),
            _ => None,
        };
        match t {
            Tok::Punct('{') => {
                depth += 1;
                i += 1;
            }
            Tok::Punct('}') => {
                if stack.last().is_some_and(|(d, _)| *d == depth) {
                    stack.pop();
                }
                depth = depth.saturating_sub(1);
                i += 1;
            }
            Tok::Ident(w) if w == "mod" && ident(i + 1).is_some() => {
                let m = join(&current(&stack), ident(i + 1).unwrap());
                s.modules.insert(m.clone());
                if toks.get(i + 2).map(|t| &t.0) == Some(&Tok::Punct('{')) {
                    depth += 1;
                    stack.push((depth, m));
                    i += 3;
                } else {
                    i += 2;
                }
            }
            Tok::Ident(w) if w == "use" => {
                let reexport =
                    i > 0 && (ident(i - 1) == Some("pub") || toks.get(i - 1).map(|t| &t.0) == Some(&Tok::Punct(')')));
                let at = current(&stack);
                i += 1;
                let mut trees = Vec::new();
                use_tree(&toks, &mut i, &[], &mut trees);
                for (path, local) in trees {
                    if let Some(local) = local.filter(|l| l != "_") {
                        s.imports.insert((at.clone(), local), (path.clone(), reexport));
                    }
                    s.named.push(Named { at: at.clone(), segments: path, file: rel.to_string(), line, reexport });
                }
            }
            Tok::Ident(w)
                if (w == "crate" || w == "super" || w == "self")
                    && toks.get(i + 1).map(|t| &t.0) == Some(&Tok::Path)
                    && toks.get(i.wrapping_sub(1)).map(|t| &t.0) != Some(&Tok::Path) =>
            {
                let mut segs = vec![w.clone()];
                let mut k = i + 1;
                while toks.get(k).map(|t| &t.0) == Some(&Tok::Path) {
                    match ident(k + 1) {
                        Some(n) => segs.push(n.to_string()),
                        None => break,
                    }
                    k += 2;
                }
                s.named.push(Named {
                    at: current(&stack),
                    segments: segs,
                    file: rel.to_string(),
                    line,
                    reexport: false,
                });
                i = k;
            }
            Tok::Ident(w)
                if toks.get(i + 1).map(|t| &t.0) == Some(&Tok::Path)
                    && toks.get(i.wrapping_sub(1)).map(|t| &t.0) != Some(&Tok::Path) =>
            {
                // A path through a name imported by `use` (resolved once every import is known).
                let mut segs = vec![w.clone()];
                let mut k = i + 1;
                while toks.get(k).map(|t| &t.0) == Some(&Tok::Path) {
                    match ident(k + 1) {
                        Some(n) => segs.push(n.to_string()),
                        None => break,
                    }
                    k += 2;
                }
                s.named.push(Named {
                    at: current(&stack),
                    segments: segs,
                    file: rel.to_string(),
                    line,
                    reexport: false,
                });
                i = k;
            }
            _ => i += 1,
        }
    }
    s
}

struct Graph {
    modules: BTreeSet<String>,
    /// module -> re-exported name -> absolute path.
    reexports: BTreeMap<String, BTreeMap<String, Vec<String>>>,
    /// (module, local name) -> absolute path of what `use` brought in.
    imports: BTreeMap<(String, String), Vec<String>>,
    /// (module, module it glob-imports: `use super::*`, `use a::b::*`).
    globs: BTreeSet<(String, String)>,
    /// (from, to) -> where (file:line), first seen.
    edges: BTreeMap<(String, String), String>,
}

impl Graph {
    fn build(files: &[(String, String)]) -> Graph {
        let scans: Vec<Scan> = files.iter().map(|(rel, src)| scan(rel, src)).collect();
        let modules: BTreeSet<String> = scans.iter().flat_map(|s| s.modules.iter().cloned()).collect();
        let mut g = Graph {
            modules,
            reexports: BTreeMap::new(),
            imports: BTreeMap::new(),
            globs: BTreeSet::new(),
            edges: BTreeMap::new(),
        };
        // Imports first (a `use` path starts at `crate`, `super`, `self` or a module declared
        // where it is written), then every path.
        for s in &scans {
            for ((m, local), (path, reexport)) in &s.imports {
                let Some(abs) = g.absolute(m, path) else { continue };
                if *reexport {
                    g.reexports.entry(m.clone()).or_default().insert(local.clone(), abs.clone());
                }
                g.imports.insert((m.clone(), local.clone()), abs);
            }
            for n in s.named.iter().filter(|n| n.segments.last().is_some_and(|l| l == "*")) {
                if let Some(abs) = g.absolute(&n.at, &n.segments[..n.segments.len() - 1]) {
                    g.globs.insert((n.at.clone(), abs.join("::")));
                }
            }
        }
        for s in &scans {
            for n in &s.named {
                let segs: Vec<String> = n.segments.iter().filter(|s| *s != "*").cloned().collect();
                let Some(abs) = g.absolute(&n.at, &segs) else { continue };
                let to = g.resolve(&abs, 0);
                // A re-export of a module's own descendant is an alias, no use.
                let own = n.at.is_empty() || to.starts_with(&format!("{}::", n.at));
                if (n.reexport && own) || to == n.at {
                    continue;
                }
                g.edges.entry((n.at.clone(), to)).or_insert_with(|| format!("src/{}:{}", n.file, n.line));
            }
        }
        g
    }

    /// `segments` as written in module `at`, made absolute (from the crate root, without
    /// `crate`); None for a path that does not start in this crate (`std::..`, another crate,
    /// a local name).
    fn absolute(&self, at: &str, segments: &[String]) -> Option<Vec<String>> {
        let mut base: Vec<String> = if at.is_empty() { vec![] } else { at.split("::").map(String::from).collect() };
        let first = segments.first()?;
        let mut rest = segments[1..].iter().peekable();
        match first.as_str() {
            "crate" => base.clear(),
            "self" => {}
            "super" => {
                base.pop();
            }
            // A module declared here, a name imported here, or one a glob import brings.
            name => {
                let mut p = self.lookup(at, name, 0)?;
                p.extend(rest.cloned());
                return Some(p);
            }
        }
        while rest.peek().map(|s| s.as_str()) == Some("super") {
            base.pop();
            rest.next();
        }
        base.extend(rest.cloned());
        Some(base)
    }

    /// What `name` stands for in module `m`: a module declared there (`pub mod x;` then
    /// `x::..`), a name imported there, or (through `use a::*`) one of `a`'s.
    fn lookup(&self, m: &str, name: &str, depth: usize) -> Option<Vec<String>> {
        let declared = join(m, name);
        if self.modules.contains(&declared) {
            return Some(declared.split("::").map(String::from).collect());
        }
        if let Some(p) = self.imports.get(&(m.to_string(), name.to_string())) {
            return Some(p.clone());
        }
        if depth > 4 {
            return None;
        }
        self.globs.iter().filter(|(g, _)| g == m).find_map(|(_, target)| self.lookup(target, name, depth + 1))
    }

    /// The module that defines what `abs` names: its longest module prefix, through
    /// re-exports.
    fn resolve(&self, abs: &[String], depth: usize) -> String {
        let mut m = String::new();
        let mut k = 0;
        while k < abs.len() && self.modules.contains(&join(&m, &abs[k])) {
            m = join(&m, &abs[k]);
            k += 1;
        }
        if let Some(target) = abs.get(k).and_then(|next| self.reexports.get(&m)?.get(next)) {
            if depth < 8 {
                let mut t = target.clone();
                t.extend(abs[k + 1..].iter().cloned());
                return self.resolve(&t, depth + 1);
            }
        }
        m
    }

    /// Whether `from` reaches `to` along the edges.
    fn reaches(&self, from: &str, to: &str) -> bool {
        let mut seen = BTreeSet::from([from.to_string()]);
        let mut todo = vec![from.to_string()];
        while let Some(n) = todo.pop() {
            if n == to {
                return true;
            }
            for (_, b) in
                self.edges.range((n.clone(), String::new())..).take_while(|((a, _), _)| *a == n).map(|(k, _)| k)
            {
                if seen.insert(b.clone()) {
                    todo.push(b.clone());
                }
            }
        }
        false
    }

    /// Every cycle (one per strongly connected component), each as the modules in order,
    /// with the edges in `skip` left out.
    fn cycles(&self, skip: &dyn Fn(&str, &str) -> bool) -> Vec<(Vec<String>, BTreeSet<String>)> {
        let mut adj: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for (a, b) in self.edges.keys() {
            if !skip(a, b) {
                adj.entry(a.as_str()).or_default().push(b.as_str());
            }
        }
        let sccs = tarjan(&adj);
        let mut out = Vec::new();
        for scc in sccs.into_iter().filter(|c| c.len() > 1) {
            let set: BTreeSet<&str> = scc.iter().copied().collect();
            let start = *set.iter().next().unwrap();
            // Shortest way back to `start` inside the component.
            let mut prev: BTreeMap<&str, &str> = BTreeMap::new();
            let mut queue = std::collections::VecDeque::from([start]);
            let mut end = None;
            'bfs: while let Some(n) = queue.pop_front() {
                for &m in adj.get(n).map(Vec::as_slice).unwrap_or(&[]) {
                    if !set.contains(m) {
                        continue;
                    }
                    if m == start {
                        end = Some(n);
                        break 'bfs;
                    }
                    if !prev.contains_key(m) {
                        prev.insert(m, n);
                        queue.push_back(m);
                    }
                }
            }
            let mut path = vec![start.to_string()];
            let mut n = end.unwrap();
            let mut back = vec![];
            while n != start {
                back.push(n.to_string());
                n = prev[n];
            }
            back.reverse();
            path.extend(back);
            path.push(start.to_string());
            out.push((path, set.iter().map(|m| m.to_string()).collect()));
        }
        out
    }
}

fn tarjan<'a>(adj: &BTreeMap<&'a str, Vec<&'a str>>) -> Vec<Vec<&'a str>> {
    struct St<'a> {
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        on: BTreeSet<&'a str>,
        stack: Vec<&'a str>,
        out: Vec<Vec<&'a str>>,
    }
    fn visit<'a>(v: &'a str, adj: &BTreeMap<&'a str, Vec<&'a str>>, st: &mut St<'a>) {
        let i = st.index.len();
        st.index.insert(v, i);
        st.low.insert(v, i);
        st.stack.push(v);
        st.on.insert(v);
        for &w in adj.get(v).map(Vec::as_slice).unwrap_or(&[]) {
            if !st.index.contains_key(w) {
                visit(w, adj, st);
                let l = st.low[v].min(st.low[w]);
                st.low.insert(v, l);
            } else if st.on.contains(w) {
                let l = st.low[v].min(st.index[w]);
                st.low.insert(v, l);
            }
        }
        if st.low[v] == st.index[v] {
            let mut c = Vec::new();
            while let Some(w) = st.stack.pop() {
                st.on.remove(w);
                c.push(w);
                if w == v {
                    break;
                }
            }
            st.out.push(c);
        }
    }
    let mut st = St { index: BTreeMap::new(), low: BTreeMap::new(), on: BTreeSet::new(), stack: vec![], out: vec![] };
    let nodes: BTreeSet<&str> = adj.keys().copied().chain(adj.values().flatten().copied()).collect();
    for n in nodes {
        if !st.index.contains_key(n) {
            visit(n, adj, &mut st);
        }
    }
    st.out
}

fn known(from: &str, to: &str) -> bool {
    KNOWN_CYCLES.iter().any(|(f, t, _)| *f == from && matches(t, to))
}

fn matches(pattern: &str, module: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => module.starts_with(prefix),
        None => pattern == module,
    }
}

fn show(m: &str) -> &str {
    if m.is_empty() {
        "crate"
    } else {
        m
    }
}

#[test]
fn no_import_cycles() {
    let g = Graph::build(&sources());
    // `STRUCTURE_EDGES=1 cargo test --test structure -- --nocapture` prints the graph.
    if std::env::var_os("STRUCTURE_EDGES").is_some() {
        for ((a, b), at) in &g.edges {
            println!("{} -> {}  ({at})", show(a), show(b));
        }
    }
    let mut problems = Vec::new();
    for (cycle, members) in g.cycles(&known) {
        let mut s = format!("import cycle: {}", cycle.iter().map(|m| show(m)).collect::<Vec<_>>().join(" -> "));
        for w in cycle.windows(2) {
            s += &format!("\n    {} -> {}: {}", show(&w[0]), show(&w[1]), g.edges[&(w[0].clone(), w[1].clone())]);
        }
        if members.len() > cycle.len() - 1 {
            s += &format!(
                "\n    (one of the cycles among {} modules: {})",
                members.len(),
                members.iter().map(|m| show(m)).collect::<Vec<_>>().join(", ")
            );
        }
        problems.push(s);
    }
    for (from, to, who) in KNOWN_CYCLES {
        if !g.edges.keys().any(|(a, b)| a == from && matches(to, b)) {
            problems.push(format!(
                "KNOWN_CYCLES lists {from} -> {to} ({who}), an edge no longer in src/: remove the entry"
            ));
        }
    }
    // An allowed edge must still close a cycle (its target reaches back to its source):
    // otherwise it is no longer an exception.
    for (from, to, who) in KNOWN_CYCLES {
        let closes = g.edges.keys().any(|(a, b)| a == from && matches(to, b) && g.reaches(b, a));
        if !closes {
            problems.push(format!(
                "KNOWN_CYCLES lists {from} -> {to} ({who}), which closes no cycle any more: remove the entry"
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

// --------------------------------------------------------------------- function length

/// Every `fn` with a body: (file, name, first line, lines).
fn functions(rel: &str, src: &str) -> Vec<(String, String, usize, usize)> {
    let toks = tokens(&code_only(src));
    let mut out = Vec::new();
    for (i, (t, line)) in toks.iter().enumerate() {
        if *t != Tok::Ident("fn".into()) {
            continue;
        }
        let Some((Tok::Ident(name), _)) = toks.get(i + 1) else { continue };
        // The body's `{`: the first `{` or `;` after the signature at bracket depth 0 (a `fn`
        // type in a signature has no body; `;` ends a declaration without one).
        let mut k = i + 2;
        let mut depth = 0i32;
        let open = loop {
            match toks.get(k).map(|t| &t.0) {
                Some(Tok::Punct('(' | '[' | '<')) => depth += 1,
                // `->` is no closing bracket.
                Some(Tok::Punct('>')) if toks.get(k - 1).map(|t| &t.0) == Some(&Tok::Punct('-')) => {}
                Some(Tok::Punct(')' | ']' | '>')) => depth -= 1,
                Some(Tok::Punct('{')) if depth <= 0 => break Some(k),
                Some(Tok::Punct(';')) if depth <= 0 => break None,
                None => break None,
                _ => {}
            }
            k += 1;
        };
        let Some(open) = open else { continue };
        let mut braces = 0;
        let mut end = *line;
        for (t, l) in &toks[open..] {
            match t {
                Tok::Punct('{') => braces += 1,
                Tok::Punct('}') => {
                    braces -= 1;
                    if braces == 0 {
                        end = *l;
                        break;
                    }
                }
                _ => {}
            }
        }
        out.push((rel.to_string(), name.clone(), *line, end - line + 1));
    }
    out
}

#[test]
fn no_long_functions() {
    let mut problems = Vec::new();
    let mut seen = BTreeSet::new();
    for (rel, src) in sources() {
        for (file, name, line, len) in functions(&rel, &src) {
            let allowed = LONG_FNS.iter().any(|(f, n, _)| *f == file && *n == name);
            if len > MAX_FN_LINES {
                seen.insert((file.clone(), name.clone()));
                if !allowed {
                    problems.push(format!("src/{file}:{line}: fn {name} is {len} lines (at most {MAX_FN_LINES})"));
                }
            }
        }
    }
    for (file, name, who) in LONG_FNS {
        if !seen.contains(&(file.to_string(), name.to_string())) {
            problems.push(format!("LONG_FNS lists src/{file} fn {name} ({who}), which is no longer over {MAX_FN_LINES} lines: remove the entry"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

// ------------------------------------------------------------------ the scanner itself

mod scanner {
    use super::*;

    fn graph(files: &[(&str, &str)]) -> Graph {
        let files: Vec<(String, String)> = files.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect();
        Graph::build(&files)
    }

    fn edges(g: &Graph) -> Vec<String> {
        g.edges.keys().map(|(a, b)| format!("{} -> {}", show(a), show(b))).collect()
    }

    #[test]
    fn comments_and_strings_name_nothing() {
        let g = graph(&[
            ("lib.rs", "pub mod a; pub mod b;"),
            ("a.rs", "//! uses crate::b\n/* crate::b::x */ fn f() { let s = \"crate::b::x\"; let r = r#\"super::b\"#; let c = '\"'; let q = '\\''; let s2 = \"crate::b\"; }"),
            ("b.rs", ""),
        ]);
        assert!(edges(&g).is_empty(), "{:?}", edges(&g));
    }

    #[test]
    fn use_trees_code_paths_and_imported_modules() {
        let g = graph(&[
            ("lib.rs", "pub mod a; pub mod b; pub mod c; pub mod d;"),
            ("a.rs", "use crate::{b::{self, X}, c as cc};\nfn f() { b::y(); }"),
            ("b.rs", "fn g() { crate::d::z(); }"),
            ("c.rs", "use crate::d;\nfn h() { d::k(); }"),
            ("d.rs", ""),
        ]);
        assert_eq!(edges(&g), ["a -> b", "a -> c", "b -> d", "c -> d"]);
    }

    #[test]
    fn a_facade_reexport_is_no_use_and_resolves_to_the_child() {
        let g = graph(&[
            ("lib.rs", "pub mod kinds;"),
            (
                "kinds/mod.rs",
                "pub mod kind; pub mod one; pub mod registry;\npub use kind::Kind;\npub use registry::ALL;",
            ),
            ("kinds/kind.rs", "pub trait Kind {}"),
            ("kinds/one.rs", "use super::Kind;"),
            ("kinds/registry.rs", "use super::one; use super::Kind; pub static ALL: &[u8] = &[];"),
        ]);
        assert_eq!(
            edges(&g),
            ["kinds::one -> kinds::kind", "kinds::registry -> kinds::kind", "kinds::registry -> kinds::one"]
        );
        assert!(g.cycles(&|_, _| false).is_empty());
    }

    #[test]
    fn a_glob_import_brings_the_modules_and_imports_of_its_module() {
        let g = graph(&[
            ("lib.rs", "pub mod kinds; pub mod state;"),
            ("kinds/mod.rs", "pub mod one; mod registry;\nuse crate::state::Item;\npub trait Kind {}"),
            ("kinds/one.rs", "pub struct One;"),
            (
                "kinds/registry.rs",
                "use super::*;\npub static ALL: &[&dyn Kind] = &[&one::One];\nfn f(i: Item) { Item::g(); }",
            ),
            ("state.rs", "pub struct Item;"),
        ]);
        assert_eq!(
            edges(&g),
            ["kinds -> state", "kinds::registry -> kinds", "kinds::registry -> kinds::one", "kinds::registry -> state"]
        );
    }

    #[test]
    fn a_cycle_is_found_and_spelled_out() {
        let g = graph(&[
            ("lib.rs", "pub mod kinds;"),
            ("kinds/mod.rs", "pub mod one;\npub trait Kind {}\npub static ALL: &[&dyn Kind] = &[&one::One];"),
            ("kinds/one.rs", "use super::Kind;\npub struct One;"),
        ]);
        assert_eq!(g.cycles(&|_, _| false)[0].0, ["kinds", "kinds::one", "kinds"]);
        assert_eq!(g.edges[&("kinds::one".to_string(), "kinds".to_string())], "src/kinds/one.rs:1");
    }

    #[test]
    fn inline_test_modules_are_their_own_nodes() {
        let g = graph(&[
            ("lib.rs", "pub mod a; pub mod b;"),
            ("a.rs", "pub fn f() {}\n#[cfg(test)]\nmod tests {\n    use super::*;\n    use crate::b::g;\n}"),
            ("b.rs", "use crate::a::f;\npub fn g() {}"),
        ]);
        assert_eq!(edges(&g), ["a::tests -> a", "a::tests -> b", "b -> a"]);
        assert!(g.cycles(&|_, _| false).is_empty());
    }

    #[test]
    fn function_lengths() {
        let src = "fn a() {\n    let x = 1;\n}\ntrait T { fn b(&self); }\nfn c<F: Fn() -> u8>(f: F) -> u8 where F: Copy {\n    f()\n}\n";
        let got: Vec<(String, usize)> = functions("x.rs", src).into_iter().map(|(_, n, _, l)| (n, l)).collect();
        assert_eq!(got, [("a".to_string(), 3), ("c".to_string(), 3)]);
    }
}
