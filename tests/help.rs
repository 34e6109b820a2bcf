//! Help that teaches: every flag and argument has a description, every command's `--help`
//! ends with examples, and the `--help` output of every command is an insta snapshot.
//! Also: every `tenantctl` invocation in the CI examples (examples/ci) is one the CLI
//! accepts.

use clap::CommandFactory;
use tenantctl::cli::Cli;

/// Every command path: [] is `tenantctl` itself.
fn command_paths() -> Vec<Vec<String>> {
    fn walk(cmd: &clap::Command, prefix: &[String], out: &mut Vec<Vec<String>>) {
        out.push(prefix.to_vec());
        for sub in cmd.get_subcommands() {
            if sub.get_name() == "help" {
                continue;
            }
            let mut p = prefix.to_vec();
            p.push(sub.get_name().to_string());
            walk(sub, &p, out);
        }
    }
    let mut out = Vec::new();
    walk(&Cli::command(), &[], &mut out);
    out
}

fn help_of(path: &[String]) -> String {
    let cmd = Cli::command().term_width(100).color(clap::ColorChoice::Never);
    let mut argv = vec!["tenantctl".to_string()];
    argv.extend(path.iter().cloned());
    argv.push("--help".into());
    match cmd.try_get_matches_from(argv) {
        Err(e) if e.kind() == clap::error::ErrorKind::DisplayHelp => e.render().to_string(),
        other => panic!("{path:?} --help: {other:?}"),
    }
}

#[test]
fn help_of_every_command_is_snapshotted() {
    let paths = command_paths();
    assert!(paths.len() >= 14, "{paths:?}");
    for path in paths {
        let name = if path.is_empty() { "tenantctl".to_string() } else { format!("tenantctl_{}", path.join("_")) };
        insta::assert_snapshot!(name, help_of(&path));
    }
}

#[test]
fn every_flag_has_a_description_and_every_command_examples() {
    let mut missing = Vec::new();
    fn walk(cmd: &clap::Command, prefix: &str, missing: &mut Vec<String>) {
        let here = format!("{prefix} {}", cmd.get_name()).trim().to_string();
        for a in cmd.get_arguments() {
            if matches!(a.get_id().as_str(), "help" | "version") {
                continue;
            }
            if a.get_help().is_none() && a.get_long_help().is_none() {
                missing.push(format!("{here}: --{} / {} has no description", a.get_long().unwrap_or(""), a.get_id()));
            }
        }
        if cmd.get_about().is_none() {
            missing.push(format!("{here}: no about"));
        }
        let has_sub = cmd.get_subcommands().any(|s| s.get_name() != "help");
        let examples = cmd.get_after_help().map(|h| h.to_string()).unwrap_or_default();
        if !has_sub || prefix.is_empty() {
            let last = examples.rsplit("Examples:\n").next().unwrap_or("");
            let n = last.lines().filter(|l| l.starts_with("  tenantctl ")).count();
            if !examples.contains("Examples:\n  tenantctl ")
                || !(1..=3).contains(&n)
                || last.lines().any(|l| !l.starts_with("  tenantctl "))
            {
                missing.push(format!("{here}: --help does not end with examples"));
            }
        }
        for s in cmd.get_subcommands() {
            if s.get_name() != "help" {
                walk(s, &here, missing);
            }
        }
    }
    walk(&Cli::command(), "", &mut missing);
    assert!(missing.is_empty(), "{}", missing.join("\n"));
    // The examples in the help are commands the CLI accepts.
    for path in command_paths() {
        for line in help_of(&path).lines() {
            let Some(cmdline) = line.trim().strip_prefix("tenantctl ") else { continue };
            let cmdline = cmdline.split(" #").next().unwrap();
            for part in split_commands(&format!("tenantctl {cmdline}")) {
                check_invocation(&part).unwrap_or_else(|e| panic!("help of {path:?}: `{line}`: {e}"));
            }
        }
    }
}

#[test]
fn flag_values_that_would_not_do_what_they_say_are_refused() {
    for bad in [
        &["tenantctl", "inventory", "--format", "markdown"][..],
        &["tenantctl", "apply", "--parallelism", "0"],
        &["tenantctl", "apply", "--rate-scale", "-1"],
        &["tenantctl", "apply", "--rate-scale", "NaN"],
        &["tenantctl", "new", "tenant", "x", "--var", "novalue"],
        &["tenantctl", "new", "tenant", "x", "--isolation", "dedicated"],
        &["tenantctl", "plan", "--format", "yaml"],
    ] {
        assert!(Cli::command().try_get_matches_from(bad).is_err(), "{bad:?} was accepted");
    }
    for good in [
        &["tenantctl", "plan", "--format", "markdown"][..],
        &["tenantctl", "drift", "--format", "markdown"],
        &["tenantctl", "new", "tenant", "beta", "--var", "bucket=beta-data", "--display-name", "Beta"],
        &["tenantctl", "schema"],
    ] {
        Cli::command().try_get_matches_from(good).unwrap_or_else(|e| panic!("{good:?}: {e}"));
    }
}

// ---- CI examples ----------------------------------------------------------------------

/// Splits shell text into simple commands (on newlines, `;`, `&&`, `||`, `|`, `$(`, `)`),
/// with line continuations joined. Quoting is respected.
fn split_commands(text: &str) -> Vec<Vec<String>> {
    let text = text.replace("\\\n", " ");
    let mut cmds = Vec::new();
    let mut words: Vec<String> = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = text.chars().peekable();
    let mut quote: Option<char> = None;
    let mut skip_redirect = false;
    let flush_word = |word: &mut String, in_word: &mut bool, words: &mut Vec<String>, skip: &mut bool| {
        if *in_word {
            if *skip {
                *skip = false;
            } else {
                words.push(std::mem::take(word));
            }
            word.clear();
            *in_word = false;
        }
    };
    while let Some(c) = chars.next() {
        if let Some(q) = quote {
            if c == q {
                quote = None;
            } else {
                word.push(c);
            }
            continue;
        }
        match c {
            '\'' | '"' => {
                quote = Some(c);
                in_word = true;
            }
            ' ' | '\t' => flush_word(&mut word, &mut in_word, &mut words, &mut skip_redirect),
            '\n' | ';' | '|' | '&' | '(' | ')' | '`' => {
                flush_word(&mut word, &mut in_word, &mut words, &mut skip_redirect);
                if !words.is_empty() {
                    cmds.push(std::mem::take(&mut words));
                }
                if c == '(' && word.is_empty() {
                    // `$(`: the `$` was pushed as a word of its own.
                }
            }
            '>' | '<' => {
                // Redirection: drop it, its file descriptor (`2>`) and its target.
                if in_word && word.chars().all(|c| c.is_ascii_digit()) {
                    word.clear();
                    in_word = false;
                }
                flush_word(&mut word, &mut in_word, &mut words, &mut skip_redirect);
                while chars.peek() == Some(&'>') || chars.peek() == Some(&'&') {
                    chars.next();
                }
                skip_redirect = true;
                while chars.peek() == Some(&' ') {
                    chars.next();
                }
            }
            '$' if chars.peek() == Some(&'(') => {
                flush_word(&mut word, &mut in_word, &mut words, &mut skip_redirect);
                chars.next();
                if !words.is_empty() {
                    cmds.push(std::mem::take(&mut words));
                }
            }
            _ => {
                word.push(c);
                in_word = true;
            }
        }
    }
    flush_word(&mut word, &mut in_word, &mut words, &mut skip_redirect);
    if !words.is_empty() {
        cmds.push(words);
    }
    cmds
}

fn check_invocation(words: &[String]) -> Result<(), String> {
    if words.first().map(String::as_str) != Some("tenantctl") {
        return Ok(());
    }
    Cli::command().try_get_matches_from(words).map(|_| ()).map_err(|e| e.render().to_string())
}

fn strings(y: &yaml_rust2::Yaml, out: &mut Vec<String>) {
    use yaml_rust2::Yaml;
    match y {
        Yaml::String(s) => out.push(s.clone()),
        Yaml::Array(a) => a.iter().for_each(|x| strings(x, out)),
        Yaml::Hash(h) => h.iter().for_each(|(k, v)| {
            strings(k, out);
            strings(v, out)
        }),
        _ => {}
    }
}

fn ci_files() -> Vec<std::path::PathBuf> {
    fn walk(d: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        for e in std::fs::read_dir(d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|e| e == "yml" || e == "yaml") {
                out.push(p);
            }
        }
    }
    let mut out = Vec::new();
    walk(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/ci"), &mut out);
    out.sort();
    out
}

#[test]
fn ci_examples_parse_and_invoke_only_what_the_cli_accepts() {
    let files = ci_files();
    assert!(files.len() >= 4, "{files:?}");
    let mut seen: Vec<String> = Vec::new();
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        let docs = yaml_rust2::YamlLoader::load_from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        assert!(!docs.is_empty());
        let mut all = Vec::new();
        docs.iter().for_each(|d| strings(d, &mut all));
        let mut n = 0;
        for s in &all {
            for cmd in split_commands(s) {
                if cmd.first().map(String::as_str) == Some("tenantctl") {
                    check_invocation(&cmd).unwrap_or_else(|e| panic!("{}: `{}`:\n{e}", f.display(), cmd.join(" ")));
                    seen.push(format!("{}: {}", f.display(), cmd.join(" ")));
                    n += 1;
                }
            }
        }
        assert!(n > 0, "{}: no tenantctl invocation found", f.display());
        // Credentials through OIDC role assumption, never stored keys.
        assert!(!text.contains("aws-access-key-id") && !text.contains("AWS_ACCESS_KEY_ID: "), "{}", f.display());
        if f.to_string_lossy().contains("github") {
            assert!(text.contains("id-token: write") && text.contains("role-to-assume"), "{}", f.display());
        } else {
            assert!(text.contains("id_tokens:") && text.contains("assume-role-with-web-identity"), "{}", f.display());
        }
    }
    let has = |needle: &[&str], platform: &str| {
        seen.iter().any(|l| {
            l.contains(platform) && needle.iter().all(|n| l.split(": ").nth(1).unwrap().split(' ').any(|w| w == *n))
        })
    };
    for platform in ["github", "gitlab"] {
        assert!(has(&["validate"], platform), "{platform}: validate\n{seen:#?}");
        assert!(has(&["plan", "--out", "--format", "markdown"], platform), "{platform}: plan --out\n{seen:#?}");
        assert!(has(&["apply", "plan.json"], platform), "{platform}: apply PLANFILE\n{seen:#?}");
        assert!(has(&["drift", "--format", "markdown"], platform), "{platform}: drift\n{seen:#?}");
    }
}

#[test]
fn the_shell_splitter_finds_invocations() {
    let c = split_commands(
        "set +e\ntenantctl plan --out plan.json --format markdown > plan.md || [ $? -eq 2 ]\nx=$(tenantctl drift 2>&1)",
    );
    assert!(
        c.contains(&vec![
            "tenantctl".into(),
            "plan".into(),
            "--out".into(),
            "plan.json".into(),
            "--format".into(),
            "markdown".into()
        ]),
        "{c:?}"
    );
    assert!(c.contains(&vec!["tenantctl".into(), "drift".into()]), "{c:?}");
}
