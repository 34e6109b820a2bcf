//! insta snapshots of whole CLI runs: the text and JSON plan, drift in every format, a
//! validation error, render. The per-test platform name is redacted to `PLATFORM`, the
//! emulator's address to `ENDPOINT`.

mod common;

use common::*;

/// The per-test platform name and the emulator's address vary from run to run.
fn redact(s: &str, p: &str) -> String {
    let s = s.replace(p, "PLATFORM");
    match std::env::var("TENANTCTL_TEST_ENDPOINT") {
        Ok(ep) if !ep.is_empty() => s.replace(&ep, "ENDPOINT"),
        _ => s,
    }
}

fn stdout(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn plan_and_drift_outputs() {
    let Some(ep) = endpoint() else { return };
    let sdk = sdk(&ep).await;
    let p = platform_name("z");
    rest_api(&sdk, &format!("{p}-api")).await;
    let dir = folder(&p, &format!("{p}-api"), &[("acme", "pooled", None), ("globex", "pooled", Some("member"))]);
    let d = dir.path();

    let text = run_ok(d, &ep, &["plan"], 0);
    insta::assert_snapshot!("plan_text_initial", redact(&stdout(&text), &p));
    let mut json = json(&run_ok(d, &ep, &["plan", "--format", "json"], 0));
    json.as_object_mut().unwrap().remove("metadata");
    insta::assert_snapshot!("plan_json_initial", redact(&serde_json::to_string_pretty(&json).unwrap(), &p));

    run_ok(d, &ep, &["apply", "--auto-approve"], 0);
    let pool = pool_id(&sdk, &p).await;
    // Out of band: a group deleted, an inline policy added, a group's role changed.
    sdk.cognito.delete_group().user_pool_id(&pool).group_name("globex-member").send().await.unwrap();
    sdk.iam
        .put_role_policy()
        .role_name(format!("{p}-acme-admin"))
        .policy_name("extra")
        .policy_document(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#)
        .send()
        .await
        .unwrap();
    sdk.cognito
        .update_group()
        .user_pool_id(&pool)
        .group_name("acme-member")
        .role_arn(format!("arn:aws:iam::{ACCOUNT}:role/tenantctl/{p}/{p}-acme-admin"))
        .precedence(10)
        .description("Tenant acme member (tenantctl)")
        .send()
        .await
        .unwrap();

    for (name, fmt) in [("drift_text", "text"), ("drift_json", "json"), ("drift_markdown", "markdown")] {
        let o = run_ok(d, &ep, &["drift", "--format", fmt], 2);
        insta::assert_snapshot!(name, redact(&stdout(&o), &p));
    }
    let o = run_ok(d, &ep, &["plan"], 0);
    insta::assert_snapshot!("plan_text_repair", redact(&stdout(&o), &p));
}

#[test]
fn validation_error_and_render_outputs() {
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_tenantctl"))
        .args(["--no-color", "validate", "-C"])
        .arg(root.join("tests/fixtures/invalid/tenant-attribute-writable"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    insta::assert_snapshot!("validate_error", String::from_utf8_lossy(&o.stderr));
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_tenantctl"))
        .args(["render", "--tenant", "globex", "--account-id", "123456789012", "-C"])
        .arg(&root)
        .output()
        .unwrap();
    assert!(o.status.success());
    insta::assert_snapshot!("render_globex", String::from_utf8_lossy(&o.stdout));
}
