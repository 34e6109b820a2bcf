//! The JSON Schema of the v1 files (schema/tenantctl-v1.schema.json): fresh, and agreeing
//! with an independent validator (PyPI check-jsonschema, pinned in .venv by
//! `scripts/emulator install`) on every example, every valid fixture document and every
//! invalid fixture whose rule a schema can express.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use assert_cmd::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn tenantctl() -> Command {
    let mut c = Command::cargo_bin("tenantctl").unwrap();
    c.env_remove("AWS_ENDPOINT_URL").env("NO_COLOR", "1");
    c
}

/// A tool from the project's .venv. Missing: the test fails under CI=true, else it is
/// skipped with a note (run `scripts/emulator install`).
fn venv_tool(name: &str) -> Option<PathBuf> {
    let p = root().join(".venv/bin").join(name);
    if p.exists() {
        return Some(p);
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{} is missing under CI=true: run scripts/emulator install", p.display());
    }
    eprintln!("skipped: {} is missing (scripts/emulator install installs it)", p.display());
    None
}

fn schema_file() -> PathBuf {
    root().join(tenantctl::spec::schema::SCHEMA_PATH)
}

#[test]
fn committed_schema_is_not_stale() {
    let committed = std::fs::read_to_string(schema_file()).unwrap_or_default();
    let fresh = tenantctl::spec::schema::schema_text();
    assert!(
        committed == fresh,
        "{} is stale: regenerate it with `cargo run -- schema --out {}`",
        tenantctl::spec::schema::SCHEMA_PATH,
        tenantctl::spec::schema::SCHEMA_PATH
    );
    let out = tenantctl().arg("schema").output().unwrap();
    assert!(out.status.success());
    assert_eq!(String::from_utf8(out.stdout).unwrap(), fresh, "`tenantctl schema` prints the same");
}

#[test]
fn example_files_point_editors_at_the_schema() {
    for e in std::fs::read_dir(root().join("tenants")).unwrap() {
        let p = e.unwrap().path();
        let text = std::fs::read_to_string(&p).unwrap();
        assert!(
            text.starts_with("# yaml-language-server: $schema=../schema/tenantctl-v1.schema.json\n"),
            "{} lacks the $schema line",
            p.display()
        );
    }
}

/// Runs check-jsonschema on `files`; returns the files it refused.
fn refused_by_check_jsonschema(tool: &Path, schema: &Path, files: &[PathBuf]) -> Vec<PathBuf> {
    let out = std::process::Command::new(tool)
        .arg("--schemafile")
        .arg(schema)
        .args(["--output-format", "json", "--color", "never"])
        .args(files)
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "check-jsonschema: {e}\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    assert!(
        report["parse_errors"].as_array().is_none_or(|a| a.is_empty()),
        "check-jsonschema could not read some files: {report:#}"
    );
    let mut bad: Vec<PathBuf> = report["errors"]
        .as_array()
        .unwrap_or(&vec![])
        .iter()
        .filter_map(|e| e["filename"].as_str().map(PathBuf::from))
        .collect();
    bad.sort();
    bad.dedup();
    bad
}

/// Every document of a YAML file as its own JSON file (check-jsonschema reads one document
/// per file); None when tenantctl's reader refuses the file (anchors, tags, syntax: rules
/// of the reader, not of the document's shape).
fn documents_as_json(file: &Path, out_dir: &Path, tag: &str) -> Option<Vec<PathBuf>> {
    let text = std::fs::read_to_string(file).ok()?;
    let docs = tenantctl::spec::yaml::parse_stream(&text).ok()?;
    Some(
        docs.iter()
            .enumerate()
            .map(|(i, d)| {
                let p = out_dir.join(format!("{tag}--{i}.json"));
                std::fs::write(&p, serde_json::to_string_pretty(&d.value).unwrap()).unwrap();
                p
            })
            .collect(),
    )
}

/// Invalid fixtures whose rule the schema states (unknown field, wrong type, pattern, enum,
/// limits, required fields). Every other fixture's rule needs `validate`: the README lists them.
const SCHEMA_EXPRESSES: &[&str] = &[
    "bad-api-version",
    // `clientSecret` is no field of the schema (validate names the mistake)
    "idp-inline-secret",
    // a tenant has one identity provider (`maxItems: 1`); these fixtures declare two
    "idp-declared-twice",
    "idp-two-per-tenant",
    "custom-attribute-name-too-long",
    // its second id is `ACME`: a pattern problem as well as a case duplicate
    "duplicate-tenant-case",
    "max-session-duration",
    "not-a-mapping",
    "platform-name-hyphen",
    "role-name-hyphen",
    "tenant-id-a-star",
    "tenant-id-aws-prefix",
    "tenant-id-backslash",
    "tenant-id-cyrillic-lookalike",
    "tenant-id-empty",
    "tenant-id-escaped-variable",
    "tenant-id-float",
    "tenant-id-missing",
    "tenant-id-newline",
    "tenant-id-octal",
    "tenant-id-policy-variable",
    "tenant-id-question",
    "tenant-id-quote",
    "tenant-id-slash",
    "tenant-id-star",
    "tenant-id-too-long",
    "tenant-id-trailing-hyphen",
    "tenant-id-uppercase",
    "too-many-custom-attributes",
    "too-many-resource-servers",
    "too-many-scopes",
    "trust-principal-wildcard",
    "unknown-field",
    "unknown-field-nested",
    "unknown-kind",
    "wrong-type",
];

#[test]
fn check_jsonschema_agrees_on_examples_and_fixtures() {
    let Some(tool) = venv_tool("check-jsonschema") else { return };
    let tmp = tempfile::tempdir().unwrap();
    // file -> (fixture, must be refused)
    let mut expect: BTreeMap<PathBuf, (String, bool)> = BTreeMap::new();
    let mut examples = Vec::new();
    for e in std::fs::read_dir(root().join("tenants")).unwrap() {
        let p = e.unwrap().path();
        examples.push(p.clone());
        let tag = format!("example-{}", p.file_stem().unwrap().to_string_lossy());
        for j in documents_as_json(&p, tmp.path(), &tag).expect("the examples parse") {
            expect.insert(j, ("examples".into(), false));
        }
    }
    let mut expressed = 0;
    for e in std::fs::read_dir(root().join("tests/fixtures/invalid")).unwrap() {
        let dir = e.unwrap().path();
        let name = dir.file_name().unwrap().to_string_lossy().to_string();
        let first = std::fs::read_to_string(dir.join("expect")).unwrap();
        let bad_file = first.lines().next().unwrap().split(':').next().unwrap().to_string();
        let schema_rule = SCHEMA_EXPRESSES.contains(&name.as_str());
        let mut files = Vec::new();
        collect_yaml(&dir.join("tenants"), &mut files);
        for f in files {
            let rel = f.strip_prefix(&dir).unwrap().to_string_lossy().replace('\\', "/");
            let tag = format!("{name}--{}", rel.replace('/', "_"));
            let Some(jsons) = documents_as_json(&f, tmp.path(), &tag) else { continue };
            if rel == bad_file && schema_rule {
                expressed += 1;
                // At least one document of the file must be refused: checked per file below.
                for j in jsons {
                    expect.insert(j, (format!("{name} (schema rule)"), true));
                }
            } else {
                // Valid fixture documents (and documents whose problem only validate sees).
                for j in jsons {
                    expect.insert(j, (name.clone(), false));
                }
            }
        }
    }
    assert!(expressed >= 25, "only {expressed} schema-expressible fixtures found");
    let files: Vec<PathBuf> = expect.keys().cloned().collect();
    let refused = refused_by_check_jsonschema(&tool, &schema_file(), &files);
    let mut problems = Vec::new();
    // Files that must be accepted.
    for (f, (what, must_refuse)) in &expect {
        if !must_refuse && refused.contains(f) {
            problems.push(format!("{what}: check-jsonschema refused a valid document {}", f.display()));
        }
    }
    // Fixtures whose bad file must be refused (any of its documents).
    let mut by_fixture: BTreeMap<&str, bool> = BTreeMap::new();
    for (f, (what, must_refuse)) in &expect {
        if *must_refuse {
            *by_fixture.entry(what.as_str()).or_default() |= refused.contains(f);
        }
    }
    for (what, was_refused) in by_fixture {
        if !was_refused {
            problems.push(format!("{what}: the schema accepted the invalid file"));
        }
    }
    // The YAML examples themselves, as editors see them (single-document files directly).
    let single: Vec<PathBuf> =
        examples.into_iter().filter(|p| !std::fs::read_to_string(p).unwrap().contains("\n---")).collect();
    let refused = refused_by_check_jsonschema(&tool, &schema_file(), &single);
    assert!(refused.is_empty(), "{refused:?}");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

fn collect_yaml(d: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(d) else { return };
    for e in rd {
        let p = e.unwrap().path();
        if p.is_dir() {
            collect_yaml(&p, out);
        } else if p.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            out.push(p);
        }
    }
    out.sort();
}

fn copy_dir(src: &Path, dst: &Path) {
    std::fs::create_dir_all(dst).unwrap();
    for e in std::fs::read_dir(src).unwrap() {
        let e = e.unwrap();
        let to = dst.join(e.file_name());
        if e.path().is_dir() {
            copy_dir(&e.path(), &to);
        } else {
            std::fs::copy(e.path(), to).unwrap();
        }
    }
}

/// `new tenant` on the example platform: refused without the var its templates need (the
/// error names the flag), written with `--var`, and the folder validates; check-jsonschema
/// accepts the new file against schema/.
#[test]
fn new_tenant_with_var_validates_and_matches_the_schema() {
    let tmp = tempfile::tempdir().unwrap();
    for sub in ["tenants", "policies", "schema"] {
        copy_dir(&root().join(sub), &tmp.path().join(sub));
    }
    let out = tenantctl().arg("-C").arg(tmp.path()).args(["new", "tenant", "beta"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("--var bucket="), "the error names the flag to add: {stderr}");
    assert!(!tmp.path().join("tenants/beta.yaml").exists());

    tenantctl()
        .arg("-C")
        .arg(tmp.path())
        .args(["new", "tenant", "beta", "--var", "bucket=beta-data"])
        .assert()
        .success();
    let written = std::fs::read_to_string(tmp.path().join("tenants/beta.yaml")).unwrap();
    assert!(written.starts_with("# yaml-language-server: $schema=../schema/tenantctl-v1.schema.json\n"), "{written}");
    assert!(written.contains("bucket: \"beta-data\""), "{written}");
    assert!(written.contains("displayName: \"beta\""), "{written}");
    tenantctl().arg("-C").arg(tmp.path()).arg("validate").assert().success();
    // --display-name, and the file is never overwritten.
    tenantctl()
        .arg("-C")
        .arg(tmp.path())
        .args(["new", "tenant", "gamma", "--var", "bucket=gamma-data", "--display-name", "Gamma \"GmbH\""])
        .assert()
        .success();
    let gamma = std::fs::read_to_string(tmp.path().join("tenants/gamma.yaml")).unwrap();
    assert!(gamma.contains("displayName: \"Gamma \\\"GmbH\\\"\""), "{gamma}");
    tenantctl().arg("-C").arg(tmp.path()).args(["new", "tenant", "beta", "--var", "bucket=x"]).assert().failure();
    assert_eq!(std::fs::read_to_string(tmp.path().join("tenants/beta.yaml")).unwrap(), written);
    tenantctl().arg("-C").arg(tmp.path()).arg("validate").assert().success();

    let Some(tool) = venv_tool("check-jsonschema") else { return };
    let st = std::process::Command::new(tool)
        .arg("--schemafile")
        .arg(tmp.path().join("schema/tenantctl-v1.schema.json"))
        .arg(tmp.path().join("tenants/beta.yaml"))
        .status()
        .unwrap();
    assert!(st.success(), "check-jsonschema refused the new tenant file");
}
