//! `tenantctl permissions` against the IAM-enforcing emulator (the strict layer's rule 18,
//! `tests/emulator/strict_iam.py`: the caller's identity policy, found by its access key,
//! evaluated by IAM action; resources and conditions are not evaluated there).
//!
//! Each use runs with the policy `permissions --for USE` printed for it, signed with an access
//! key of its own: plan and drift pass with the plan (drift) policy, apply with the plan policy
//! is refused, apply passes with the apply policy, destroy of a tenant with the destroy policy.
//! Then every action the emulator saw for a key is one its policy allows.

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Output;

use common::*;
use serde_json::{json, Value};

/// Runs tenantctl against the emulator (emulator mode), signed with the access key `key`, with
/// the environment variables `vars` set.
fn tenantctl(dir: &Path, endpoint: &str, key: &str, vars: &[(&str, &str)], args: &[&str]) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_tenantctl"))
        .envs(vars.iter().copied())
        .arg("-C")
        .arg(dir)
        .args(["--endpoint-url", endpoint, "--no-color"])
        .args(args)
        .env("TENANTCTL_EMULATOR", "1")
        .env("AWS_ACCESS_KEY_ID", key)
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", REGION)
        .env("TENANTCTL_PROPAGATION_TIMEOUT", "10")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_SESSION_TOKEN")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap()
}

fn expect(o: Output, code: i32, what: &str) -> Output {
    assert_eq!(o.status.code(), Some(code), "{what}:\n{}", text(&o));
    o
}

/// `tenantctl permissions --for USE --format json`: offline, the document alone on stdout.
fn printed_policy(dir: &Path, use_: &str) -> Value {
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_tenantctl"))
        .arg("-C")
        .arg(dir)
        .args(["permissions", "--for", use_, "--format", "json"])
        .env_remove("AWS_ENDPOINT_URL")
        .output()
        .unwrap();
    let o = expect(o, 0, use_);
    let policy = json(&o);
    assert_eq!(policy["Version"], "2012-10-17");
    assert!(policy.as_object().unwrap().keys().all(|k| k == "Version" || k == "Statement"), "{policy}");
    policy
}

/// IAM's action match: case-insensitive, `*` any run of characters, `?` one character.
fn action_matches(pattern: &str, action: &str) -> bool {
    fn go(p: &[u8], a: &[u8]) -> bool {
        match (p.first(), a.first()) {
            (None, None) => true,
            (Some(b'*'), _) => go(&p[1..], a) || (!a.is_empty() && go(p, &a[1..])),
            (Some(b'?'), Some(_)) => go(&p[1..], &a[1..]),
            (Some(x), Some(y)) if x.eq_ignore_ascii_case(y) => go(&p[1..], &a[1..]),
            _ => false,
        }
    }
    go(pattern.as_bytes(), action.as_bytes())
}

/// Whether the policy's statements allow `action` (by action only, as the emulator decides).
fn allows(policy: &Value, action: &str) -> bool {
    let listed = |s: &Value| match &s["Action"] {
        Value::String(a) => action_matches(a, action),
        Value::Array(v) => v.iter().filter_map(Value::as_str).any(|a| action_matches(a, action)),
        _ => false,
    };
    let statements = policy["Statement"].as_array().unwrap();
    !statements.iter().any(|s| s["Effect"] == "Deny" && listed(s))
        && statements.iter().any(|s| s["Effect"] == "Allow" && listed(s))
}

#[test]
fn action_matching_is_iams() {
    assert!(action_matches("cognito-idp:Describe*", "cognito-idp:DescribeUserPool"));
    assert!(action_matches("apigateway:GET", "apigateway:get"));
    assert!(action_matches("iam:?etRole", "iam:GetRole"));
    assert!(!action_matches("iam:GetRole", "iam:GetRolePolicy"));
    let p = json!({"Statement": [{"Effect": "Allow", "Action": "iam:*"}, {"Effect": "Deny", "Action": ["iam:DeleteRole"]}]});
    assert!(allows(&p, "iam:CreateRole") && !allows(&p, "iam:DeleteRole") && !allows(&p, "sts:AssumeRole"));
}

/// Offline: no AWS call (no credentials, an endpoint that answers nothing); an invalid folder
/// is exit 1 with nothing on stdout; text is the summary, then the same document.
#[test]
fn permissions_is_offline_and_refuses_an_invalid_folder() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let run = |dir: &Path, args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_tenantctl"))
            .arg("-C")
            .arg(dir)
            .args(["--endpoint-url", "http://127.0.0.1:1"])
            .args(args)
            .env_remove("AWS_ACCESS_KEY_ID")
            .env_remove("AWS_PROFILE")
            .output()
            .unwrap()
    };
    let bad = run(&root.join("tests/fixtures/invalid/bad-api-version"), &["permissions", "--for", "plan"]);
    assert_eq!(bad.status.code(), Some(1), "{}", text(&bad));
    assert!(bad.stdout.is_empty(), "{}", text(&bad));
    let doc = json(&expect(run(root, &["permissions", "--for", "apply", "--format", "json"]), 0, "json"));
    let summary = expect(run(root, &["permissions", "--for", "apply"]), 0, "text");
    let out = String::from_utf8(summary.stdout).unwrap();
    assert!(out.starts_with("IAM policy for `tenantctl apply` of platform acmesaas"), "{out}");
    let from_text: Value = serde_json::from_str(&out[out.find("\n{").unwrap()..]).unwrap();
    assert_eq!(from_text, doc);
    for s in doc["Statement"].as_array().unwrap() {
        assert!(out.contains(s["Sid"].as_str().unwrap()), "{out}");
    }
}

/// The emulator's log of one key: (actions it saw, actions it refused).
fn seen(log: &Value, key: &str) -> (Vec<String>, Vec<String>) {
    let entry = &log["keys"][key];
    assert_eq!(entry["enforced"], true, "{key}: {entry}");
    let names = |v: &Value| v.as_object().map(|m| m.keys().cloned().collect::<Vec<_>>()).unwrap_or_default();
    (names(&entry["actions"]), names(&entry["denied"]))
}

/// Runs plan, apply (refused with the plan policy, then with the apply policy), plan, drift and
/// `destroy --tenant silo` of the folder in `d`, each signed with a key of its own holding the
/// policy `permissions` printed for it; then checks the emulator's log of every key. Plan after
/// apply has no change and drift finds none.
async fn prove(ep: &str, sdk: &Sdk, p: &str, d: &Path, silo: &str, vars: &[(&str, &str)]) -> Value {
    let policies: Vec<(&str, Value)> =
        ["plan", "drift", "apply", "destroy"].into_iter().map(|u| (u, printed_policy(d, u))).collect();
    let policy = |u: &str| policies.iter().find(|(x, _)| *x == u).unwrap().1.clone();
    // One access key per use, and one for the apply that the plan policy must refuse.
    let key = |u: &str| format!("AKIA{}{}", u.to_uppercase(), p.to_uppercase());
    let mut keys: Vec<(String, Value)> = policies.iter().map(|(u, pol)| (key(u), pol.clone())).collect();
    keys.push((key("refused"), policy("plan")));
    for (k, pol) in &keys {
        control(ep, "POST", "/_tenantctl/strict/iam", Some(&json!({"access_key": k, "policy": pol})));
    }

    let run = |use_: &str, args: &[&str]| tenantctl(d, ep, &key(use_), vars, args);
    expect(run("plan", &["plan"]), 0, "plan with the plan policy");
    let refused = expect(run("refused", &["apply", "--auto-approve"]), 1, "apply with the plan policy is refused");
    assert!(text(&refused).contains("AccessDenied"), "{}", text(&refused));
    expect(run("apply", &["apply", "--auto-approve"]), 0, "apply with the apply policy");
    expect(run("plan", &["plan", "--detailed-exitcode"]), 0, "plan after apply: no changes");
    expect(run("drift", &["drift"]), 0, "drift with the drift policy");
    expect(run("destroy", &["destroy", "--tenant", silo, "--auto-approve"]), 0, "destroy with the destroy policy");
    assert!(pools_named(sdk, &format!("{p}-{silo}")).await.is_empty(), "the silo pool is deleted");

    let log = control(ep, "GET", "/_tenantctl/strict/iam", None);
    for (k, pol) in &keys {
        let (actions, denied) = seen(&log, k);
        assert!(!actions.is_empty(), "{k}: no action seen");
        let beyond: BTreeSet<&String> = actions.iter().filter(|a| !allows(pol, a)).collect();
        if *k == key("refused") {
            assert!(!denied.is_empty(), "{k}: the apply was refused by the emulator");
            assert_eq!(beyond, denied.iter().collect(), "{k}: only the refused writes go beyond the policy");
        } else {
            assert!(beyond.is_empty() && denied.is_empty(), "{k}: beyond its policy: {beyond:?}, refused: {denied:?}");
        }
    }
    let all = |u: &str| {
        let mut v = seen(&log, &key(u)).0;
        v.sort();
        v
    };
    json!({"apply": all("apply"), "destroy": all("destroy"), "plan": all("plan"), "drift": all("drift")})
}

fn has(seen: &Value, use_: &str, actions: &[&str]) {
    let list: Vec<&str> = seen[use_].as_array().unwrap().iter().filter_map(Value::as_str).collect();
    for a in actions {
        assert!(list.contains(a), "{use_} called {a}: {list:?}");
    }
}

/// The test platform: pools, roles, the Lambda authorizer wiring.
#[tokio::test(flavor = "multi_thread")]
async fn each_use_runs_with_its_printed_policy_and_needs_no_more() {
    let Some(ep) = endpoint() else { return };
    let sdk = sdk(&ep).await;
    let p = platform_name("perm");
    rest_api(&sdk, &format!("{p}-api")).await;
    let dir = folder(&p, &format!("{p}-api"), &[("acme", "pooled", None), ("initech", "silo", None)]);
    let seen = prove(&ep, &sdk, &p, dir.path(), "initech", &[]).await;
    has(&seen, "apply", &["iam:CreateRole", "cognito-idp:CreateUserPool", "lambda:CreateFunction", "apigateway:PATCH"]);
    has(&seen, "destroy", &["cognito-idp:DeleteUserPool", "iam:DeleteRole"]);
}

/// Every service and optional kind: a hosted-UI domain, a trigger, the pool's Google
/// provider, monitoring, tiers with API usage and a deployed stage.
#[tokio::test(flavor = "multi_thread")]
async fn every_service_runs_with_its_printed_policy_and_needs_no_more() {
    let Some(ep) = endpoint() else { return };
    let sdk = sdk(&ep).await;
    let p = platform_name("permall");
    let api = rest_api(&sdk, &format!("{p}-api")).await;
    // A deployment needs an integration on the method.
    mock_integration(&sdk, &api, "/orders", "GET").await;
    let role = lambda_role(&sdk, &format!("{p}-trigger-role")).await;
    trigger_function(&sdk, &format!("{p}-presignup"), &role).await;
    let secret_var = format!("TCTL_{}_GOOGLE", p.to_uppercase());
    let pool_extra = format!(
        "  domain: {p}-login\n  triggers: {{preSignUp: {p}-presignup}}\n  identityProviders:\n    - {{name: Google, type: google, clientId: g1.apps.googleusercontent.com, clientSecretEnv: {secret_var}, scopes: [openid, email], attributeMapping: {{email: email}}}}\n"
    );
    let mut platform = platform_yaml(&p, &format!("{p}-api"), &pool_extra);
    platform.push_str("  stage: prod\n");
    platform.push_str("monitoring:\n  snsTopicArn: \"arn:aws:sns:us-east-1:123456789012:alerts\"\n  alarms:\n    signInThrottles: {threshold: 10, periodSeconds: 300}\n");
    platform.push_str(&format!(
        "tiers:\n  basic: {{isolation: pooled, throttle: {{rateLimit: 10, burstLimit: 20}}}}\n  premium: {{isolation: silo, throttle: {{rateLimit: 100, burstLimit: 200}}}}\napiUsage: {{restApi: {p}-api, stage: prod}}\n"
    ));
    let dir = folder_for(&platform);
    for (t, tier) in [("acme", "basic"), ("initech", "premium")] {
        let isolation = if tier == "premium" { "silo" } else { "pooled" };
        write(dir.path(), &format!("tenants/{t}.yaml"), &format!("{}tier: {tier}\n", tenant_yaml(t, isolation, None)));
    }
    let seen = prove(&ep, &sdk, &p, dir.path(), "initech", &[(secret_var.as_str(), "gsecret")]).await;
    has(
        &seen,
        "apply",
        &[
            "cloudwatch:PutMetricAlarm",
            "cognito-idp:CreateUserPoolDomain",
            "cognito-idp:CreateIdentityProvider",
            "lambda:AddPermission",
            "apigateway:POST",
        ],
    );
    has(&seen, "destroy", &["cloudwatch:DeleteAlarms", "cognito-idp:DeleteUserPoolDomain", "apigateway:DELETE"]);
    has(&seen, "drift", &["cloudwatch:DescribeAlarms", "lambda:GetPolicy", "apigateway:GET"]);
}
