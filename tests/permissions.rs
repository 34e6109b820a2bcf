//! `tenantctl permissions` against the IAM-enforcing emulator (the strict layer's rule 18,
//! `tests/emulator/strict_iam.py`: the caller's identity policy, found by its access key,
//! evaluated by IAM action; resources and conditions are not evaluated there).
//!
//! Each use runs with the policy `permissions --for USE` printed for it, signed with an access
//! key of its own: plan and drift pass with the plan (drift) policy, apply with the plan policy
//! is refused, apply passes with the apply policy, destroy of a tenant with the destroy policy.
//! Then every action the emulator saw for a key is one its policy allows.

mod common;

use std::path::Path;
use std::process::Output;

use common::*;
use serde_json::{json, Value};

/// A JSON request to the emulator's test controls (`/_tenantctl/...`).
fn control(endpoint: &str, method: &str, path: &str, body: Option<&Value>) -> Value {
    use std::io::{Read, Write};
    let addr = endpoint.trim_start_matches("http://").trim_end_matches('/');
    let mut s = std::net::TcpStream::connect(addr).unwrap_or_else(|e| panic!("the emulator at {endpoint}: {e}"));
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).unwrap();
    let (head, payload) = resp.split_once("\r\n\r\n").unwrap_or((&resp, ""));
    assert!(head.starts_with("HTTP/1.1 200") || head.starts_with("HTTP/1.0 200"), "{method} {path}: {head}\n{payload}");
    let start = payload.find(['{', '[']).unwrap_or(0);
    let end = payload.rfind(['}', ']']).map_or(payload.len(), |i| i + 1);
    serde_json::from_str(&payload[start..end]).unwrap_or_else(|e| panic!("{path}: not JSON ({e}): {payload}"))
}

/// Runs tenantctl against the emulator (emulator mode), signed with the access key `key`.
fn tenantctl(dir: &Path, endpoint: &str, key: &str, args: &[&str]) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_tenantctl"))
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

/// The emulator's log of one key: (actions it saw, actions it refused).
fn seen(log: &Value, key: &str) -> (Vec<String>, Vec<String>) {
    let entry = &log["keys"][key];
    assert_eq!(entry["enforced"], true, "{key}: {entry}");
    let names = |v: &Value| v.as_object().map(|m| m.keys().cloned().collect::<Vec<_>>()).unwrap_or_default();
    (names(&entry["actions"]), names(&entry["denied"]))
}

#[tokio::test(flavor = "multi_thread")]
async fn each_use_runs_with_its_printed_policy_and_needs_no_more() {
    let Some(ep) = endpoint() else { return };
    let sdk = sdk(&ep).await;
    let p = platform_name("perm");
    rest_api(&sdk, &format!("{p}-api")).await;
    let dir = folder(&p, &format!("{p}-api"), &[("acme", "pooled", None), ("initech", "silo", None)]);
    let d = dir.path();

    let policies: Vec<(&str, Value)> =
        ["plan", "drift", "apply", "destroy"].into_iter().map(|u| (u, printed_policy(d, u))).collect();
    let policy = |u: &str| policies.iter().find(|(x, _)| *x == u).unwrap().1.clone();
    // One access key per use, and one for the apply that the plan policy must refuse.
    let key = |u: &str| format!("AKIA{}{}", u.to_uppercase(), p.to_uppercase());
    let mut keys: Vec<(String, Value)> = policies.iter().map(|(u, pol)| (key(u), pol.clone())).collect();
    keys.push((key("refused"), policy("plan")));
    for (k, pol) in &keys {
        control(&ep, "POST", "/_tenantctl/strict/iam", Some(&json!({"access_key": k, "policy": pol})));
    }

    expect(tenantctl(d, &ep, &key("plan"), &["plan"]), 0, "plan with the plan policy");
    let refused = expect(
        tenantctl(d, &ep, &key("refused"), &["apply", "--auto-approve"]),
        1,
        "apply with the plan policy is refused",
    );
    assert!(text(&refused).contains("AccessDenied"), "{}", text(&refused));
    expect(tenantctl(d, &ep, &key("apply"), &["apply", "--auto-approve"]), 0, "apply with the apply policy");
    expect(tenantctl(d, &ep, &key("plan"), &["plan", "--detailed-exitcode"]), 0, "plan after apply: no changes");
    expect(tenantctl(d, &ep, &key("drift"), &["drift"]), 0, "drift with the drift policy");
    expect(
        tenantctl(d, &ep, &key("destroy"), &["destroy", "--tenant", "initech", "--auto-approve"]),
        0,
        "destroy with the destroy policy",
    );
    assert!(pools_named(&sdk, &format!("{p}-initech")).await.is_empty(), "the silo pool is deleted");

    let log = control(&ep, "GET", "/_tenantctl/strict/iam", None);
    for (k, pol) in &keys {
        let (actions, denied) = seen(&log, k);
        assert!(!actions.is_empty(), "{k}: no action seen");
        let beyond: Vec<&String> = actions.iter().filter(|a| !allows(pol, a)).collect();
        if *k == key("refused") {
            assert!(!denied.is_empty(), "{k}: the apply was refused by the emulator");
            let denied: std::collections::BTreeSet<&String> = denied.iter().collect();
            assert_eq!(
                beyond.into_iter().collect::<std::collections::BTreeSet<_>>(),
                denied,
                "{k}: only the refused writes go beyond the policy"
            );
        } else {
            assert!(
                beyond.is_empty() && denied.is_empty(),
                "{k}: actions beyond its policy: {beyond:?}, refused: {denied:?}"
            );
        }
    }
    let (apply_actions, _) = seen(&log, &key("apply"));
    for a in ["iam:CreateRole", "cognito-idp:CreateUserPool", "lambda:CreateFunction", "apigateway:PATCH"] {
        assert!(apply_actions.iter().any(|x| x == a), "apply called {a}: {apply_actions:?}");
    }
    let (destroy_actions, _) = seen(&log, &key("destroy"));
    for a in ["cognito-idp:DeleteUserPool", "iam:DeleteRole"] {
        assert!(destroy_actions.iter().any(|x| x == a), "destroy called {a}: {destroy_actions:?}");
    }
}
