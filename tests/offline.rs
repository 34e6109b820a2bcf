//! Offline commands: `validate` and `render` on the example folder and on every invalid
//! fixture (tests/fixtures/invalid/*, written by tests/fixtures/make_invalid.py).

use std::path::{Path, PathBuf};

use assert_cmd::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn tenantctl() -> Command {
    let mut c = Command::cargo_bin("tenantctl").unwrap();
    // No AWS settings from the environment may leak into offline commands.
    c.env_remove("AWS_ENDPOINT_URL").env("NO_COLOR", "1");
    c
}

#[test]
fn example_folder_is_valid() {
    tenantctl().args(["validate", "-C"]).arg(root()).assert().success();
}

fn fixtures() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(root().join("tests/fixtures/invalid"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    dirs
}

fn run_validate(dir: &Path, extra: &[&str]) -> (i32, String) {
    let out = tenantctl().arg("validate").arg("-C").arg(dir).args(extra).output().unwrap();
    assert!(out.stdout.is_empty(), "validate printed to stdout");
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn every_invalid_fixture_fails_with_its_place_and_message_and_no_aws_call() {
    let dirs = fixtures();
    assert!(dirs.len() >= 60, "expected the generated fixtures, found {}", dirs.len());
    let mut failures = Vec::new();
    for dir in &dirs {
        let expect = std::fs::read_to_string(dir.join("expect")).unwrap();
        let mut lines = expect.lines();
        let loc = lines.next().unwrap();
        let msg = lines.next().unwrap();
        let (code, stderr) = run_validate(dir, &[]);
        let name = dir.file_name().unwrap().to_string_lossy();
        if code != 1 {
            failures.push(format!("{name}: exit {code}\n{stderr}"));
            continue;
        }
        let located = stderr.lines().any(|l| l.contains(&format!("{loc}:")) && l.contains(msg));
        if !located {
            failures.push(format!("{name}: expected `{loc}: ...{msg}...`, got:\n{stderr}"));
        }
        if !stderr.contains("hint:") {
            failures.push(format!("{name}: no hint in\n{stderr}"));
        }
        // An endpoint at a closed port makes no difference: nothing talks to AWS.
        let (code2, stderr2) = run_validate(dir, &["--endpoint-url", "http://127.0.0.1:9"]);
        if (code2, &stderr2) != (code, &stderr) {
            failures.push(format!("{name}: output differs with --endpoint-url"));
        }
    }
    assert!(failures.is_empty(), "{} fixture(s) failed:\n{}", failures.len(), failures.join("\n"));
}

/// Templates the lint must accept (tests/fixtures/valid/*, written by make_invalid.py): AWS's
/// documented idioms and delimited tenant values.
#[test]
fn every_valid_fixture_passes_validate() {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(root().join("tests/fixtures/valid"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    assert!(dirs.len() >= 4, "expected the generated valid fixtures, found {}", dirs.len());
    let failures: Vec<String> = dirs
        .iter()
        .filter_map(|dir| {
            let (code, stderr) = run_validate(dir, &[]);
            (code != 0).then(|| format!("{}: exit {code}\n{stderr}", dir.file_name().unwrap().to_string_lossy()))
        })
        .collect();
    assert!(failures.is_empty(), "{} valid fixture(s) refused:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn a_ten_megabyte_file_is_refused_before_parsing() {
    let tmp = tempfile::tempdir().unwrap();
    let src = root().join("tests/fixtures/invalid/unknown-field");
    copy_dir(&src, tmp.path());
    let big = "# padding\n".repeat(1024 * 1024);
    std::fs::write(tmp.path().join("tenants/big.yaml"), big).unwrap();
    std::fs::write(
        tmp.path().join("tenants/acme.yaml"),
        "apiVersion: tenantctl/v1\nkind: Tenant\nid: acme\nvars: {bucket: demo-data}\n",
    )
    .unwrap();
    let (code, stderr) = run_validate(tmp.path(), &[]);
    assert_eq!(code, 1);
    assert!(stderr.contains("tenants/big.yaml:1:1: file is 10485760 bytes"), "{stderr}");
}

fn copy_dir(src: &Path, dst: &Path) {
    for e in std::fs::read_dir(src).unwrap() {
        let e = e.unwrap();
        let to = dst.join(e.file_name());
        if e.path().is_dir() {
            std::fs::create_dir_all(&to).unwrap();
            copy_dir(&e.path(), &to);
        } else {
            std::fs::copy(e.path(), to).unwrap();
        }
    }
}

#[test]
fn new_tenant_writes_a_valid_file_and_never_overwrites() {
    let tmp = tempfile::tempdir().unwrap();
    copy_dir(&root().join("tests/fixtures/invalid/unknown-field"), tmp.path());
    std::fs::write(
        tmp.path().join("tenants/acme.yaml"),
        "apiVersion: tenantctl/v1\nkind: Tenant\nid: acme\nvars: {bucket: demo-data}\n",
    )
    .unwrap();
    tenantctl().arg("-C").arg(tmp.path()).args(["new", "tenant", "zeta", "--roles", "member"]).assert().failure();
    // The fixture's templates need a bucket var, so the new file is rolled back.
    assert!(!tmp.path().join("tenants/zeta.yaml").exists());
    std::fs::write(tmp.path().join("policies/data.json"), r#"{"Version":"2012-10-17","Statement":[{"Sid":"Own","Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/${aws:PrincipalTag/tenant_id}/*"}]}"#).unwrap();
    tenantctl().arg("-C").arg(tmp.path()).args(["new", "tenant", "zeta", "--roles", "member"]).assert().success();
    tenantctl().arg("-C").arg(tmp.path()).arg("validate").assert().success();
    tenantctl().arg("-C").arg(tmp.path()).args(["new", "tenant", "zeta"]).assert().failure();
    tenantctl().arg("-C").arg(tmp.path()).args(["new", "tenant", "${aws:username}"]).assert().failure();
}

fn render_example() -> serde_json::Value {
    let out = tenantctl().args(["render", "-C"]).arg(root()).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("render prints JSON")
}

#[test]
fn render_prints_pinned_trust_and_scoped_policies() {
    let r = render_example();
    let roles = r["roles"].as_array().unwrap();
    // acme: admin+member, globex: member, initech: admin+member
    assert_eq!(roles.len(), 5);
    for role in roles {
        let tenant = role["tenant"].as_str().unwrap();
        assert_eq!(role["path"], "/tenantctl/acmesaas/");
        assert_eq!(role["name"], format!("acmesaas-{tenant}-{}", role["role"].as_str().unwrap()));
        let st = &role["trust_policy"]["Statement"][0];
        assert_eq!(st["Condition"]["StringEquals"]["aws:RequestTag/tenant_id"], tenant);
        // Issue 23 (item 4): the source identity may be set, and no session tag but tenant_id.
        assert_eq!(st["Action"], serde_json::json!(["sts:AssumeRole", "sts:SetSourceIdentity", "sts:TagSession"]));
        assert_eq!(st["Condition"]["ForAllValues:StringEquals"]["aws:TagKeys"], serde_json::json!(["tenant_id"]));
        // The authorizer calls no STS: only trust.principals are trusted.
        let principals = serde_json::to_string(&st["Principal"]).unwrap();
        assert!(!principals.contains("authorizer"), "{principals}");
        let text = serde_json::to_string(&role["policies"]).unwrap();
        assert!(text.contains("${aws:PrincipalTag/tenant_id}"));
        for other in ["acme", "globex", "initech"] {
            if other != tenant {
                assert!(!serde_json::to_string(role).unwrap().contains(&format!("\"{other}\"")));
            }
        }
    }
    let only = tenantctl().args(["render", "--tenant", "globex", "-C"]).arg(root()).output().unwrap();
    let only: serde_json::Value = serde_json::from_slice(&only.stdout).unwrap();
    assert_eq!(only["roles"].as_array().unwrap().len(), 1);
}

/// parliament (PyPI) finds nothing of medium severity or above in the rendered inline
/// policies. Trust policies are resource policies (no Resource element) and are checked above.
#[test]
fn rendered_policies_pass_parliament() {
    let parliament = root().join(".venv/bin/parliament");
    assert!(parliament.exists(), "parliament is missing: run scripts/emulator install");
    let r = render_example();
    let tmp = tempfile::tempdir().unwrap();
    let mut n = 0;
    for role in r["roles"].as_array().unwrap() {
        for (name, doc) in role["policies"].as_object().unwrap() {
            let f = tmp.path().join(format!("{}-{name}.json", role["name"].as_str().unwrap()));
            std::fs::write(f, serde_json::to_string_pretty(doc).unwrap()).unwrap();
            n += 1;
        }
    }
    assert!(n >= 5);
    let out = std::process::Command::new(parliament)
        .arg("--directory")
        .arg(tmp.path())
        .args(["--json", "--minimum_severity", "MEDIUM"])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "parliament failed: {}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.trim().is_empty(), "parliament findings:\n{stdout}");
}

/// Five problems in three files (a misspelt field, a misspelt enum value, a bad tenant id, a
/// duplicate tenant, an unknown policy) are all reported by one `validate` run, each with
/// file:line:col and, where it applies, a "did you mean" suggestion.
#[test]
fn validate_reports_every_problem_of_every_file_in_one_run() {
    let tmp = tempfile::tempdir().unwrap();
    for sub in ["tenants", "policies"] {
        std::fs::create_dir_all(tmp.path().join(sub)).unwrap();
        copy_dir(&root().join(sub), &tmp.path().join(sub));
    }
    let t = tmp.path().join("tenants");
    let platform = std::fs::read_to_string(t.join("platform.yaml")).unwrap();
    let platform = platform
        .replace("  selfSignUp: false\n", "  selfSignup: false\n")
        .replace("policies: [tenant-data-ro]", "policies: [tenant-data-rx]");
    std::fs::write(t.join("platform.yaml"), platform).unwrap();
    std::fs::write(
        t.join("acme.yaml"),
        "apiVersion: tenantctl/v1\nkind: Tenant\nid: acme\nisolation: siloo\nvars: {bucket: acme-data}\n",
    )
    .unwrap();
    std::fs::write(
        t.join("more.yaml"),
        "apiVersion: tenantctl/v1\nkind: Tenant\nid: Globex_Corp\nvars: {bucket: globex-data}\n---\n\
         apiVersion: tenantctl/v1\nkind: Tenant\nid: acme\nvars: {bucket: acme-data}\n",
    )
    .unwrap();
    let (code, stderr) = run_validate(tmp.path(), &[]);
    assert_eq!(code, 1, "{stderr}");
    let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error: ")).collect();
    assert_eq!(errors.len(), 5, "{stderr}");
    // Each with its place (and the suggestion on the hint line that follows it).
    let expect = [
        ("tenants/platform.yaml:", "unknown field `selfSignup`", Some("did you mean `selfSignUp`?")),
        ("tenants/platform.yaml:", "policy template `tenant-data-rx` not found", Some("did you mean `tenant-data-r")),
        ("tenants/acme.yaml:4:12:", "unknown value `siloo`", Some("did you mean `silo`?")),
        ("tenants/more.yaml:3:5:", "tenant id `Globex_Corp` must match", None),
        ("tenants/more.yaml:8:5:", "duplicate tenant id `acme` in tenants/acme.yaml:3", None),
    ];
    let lines: Vec<&str> = stderr.lines().collect();
    for (place, msg, hint) in expect {
        let i = lines
            .iter()
            .position(|l| l.starts_with(&format!("error: {place}")) && l.contains(msg))
            .unwrap_or_else(|| panic!("no `{place} ...{msg}` in\n{stderr}"));
        let loc = lines[i].trim_start_matches("error: ").split(": ").next().unwrap();
        assert_eq!(loc.split(':').count(), 3, "file:line:col in `{}`", lines[i]);
        if let Some(h) = hint {
            assert!(lines[i + 1].contains(h), "hint `{h}` after `{}`:\n{stderr}", lines[i]);
        }
    }
    assert!(stderr.contains("5 problems found"), "{stderr}");
}

/// A YAML syntax error in one document of a file hides neither the schema problems of the
/// file's other documents nor those of other files.
#[test]
fn a_broken_document_does_not_hide_the_others() {
    let tmp = tempfile::tempdir().unwrap();
    for sub in ["tenants", "policies"] {
        copy_dir_new(&root().join(sub), &tmp.path().join(sub));
    }
    std::fs::write(
        tmp.path().join("tenants/more.yaml"),
        "apiVersion: tenantctl/v1\nkind: Tenant\nid: globex\nvars: {bucket: [\n---\n\
         apiVersion: tenantctl/v1\nkind: Tenant\nid: initech\ndisplayname: Initech\nvars: {bucket: b}\n",
    )
    .unwrap();
    let (code, stderr) = run_validate(tmp.path(), &[]);
    assert_eq!(code, 1);
    assert!(stderr.contains("tenants/more.yaml:4:17: YAML syntax error"), "{stderr}");
    assert!(stderr.contains("tenants/more.yaml:9:1: unknown field `displayname`"), "{stderr}");
    assert!(stderr.contains("did you mean `displayName`?"), "{stderr}");
}

fn copy_dir_new(src: &Path, dst: &Path) {
    std::fs::create_dir_all(dst).unwrap();
    copy_dir(src, dst);
}

/// The lint's IAM data-action catalogue is the one scripts/gen-data-actions generates from the
/// parliament installed in .venv (re-run the script after upgrading parliament).
#[test]
fn data_action_catalogue_is_current() {
    let python = root().join(".venv/bin/python");
    assert!(python.exists(), "the .venv is missing: run scripts/emulator install");
    let out = std::process::Command::new(python)
        .arg(root().join("scripts/gen-data-actions"))
        .arg("--check")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

/// `apply PLANFILE` reads the saved plan before it talks to AWS: a file that is not a plan, or
/// a plan of another format_version, fails with exit 1 and the file's name, and no AWS call.
#[test]
fn a_corrupt_or_foreign_saved_plan_is_refused_naming_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    for (file, text, why) in [
        ("truncated.json", "{\"format_version\": 1, \"platform\": \"acmesaas\", \"chan", "not a tenantctl plan"),
        ("empty-object.json", "{}", "not a tenantctl plan"),
        ("no-metadata.json", "{\"format_version\": 1, \"platform\": \"acmesaas\", \"changes\": []}", "metadata"),
        ("future.json", "{\"format_version\": 2, \"platform\": \"acmesaas\"}", "format_version 2"),
    ] {
        let path = tmp.path().join(file);
        std::fs::write(&path, text).unwrap();
        let out = tenantctl()
            .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
            .args(["apply", "--auto-approve", "-C"])
            .arg(root())
            .arg(&path)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{file}: {stderr}");
        assert!(stderr.contains(&path.display().to_string()), "{file}: the file is named: {stderr}");
        assert!(stderr.contains(why), "{file}: {stderr}");
    }
}
