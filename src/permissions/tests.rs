use std::collections::BTreeSet;
use std::path::Path;

use super::*;
use crate::aws::limits::OPERATIONS;
use crate::kinds::test_support::{example_folder, folder_edited};

/// The example folder with every service and every optional kind: a hosted-UI domain, a
/// trigger, a pool identity provider, a deployed stage, monitoring, tiers and API usage.
fn every_service() -> (tempfile::TempDir, Folder) {
    let edit = |p: &str| {
        let mut p = p.replacen(
            "userPool:\n",
            "userPool:\n  domain: acme-login\n  triggers: {preSignUp: presignup}\n  identityProviders:\n    - {name: Google, type: google, clientId: g1, clientSecretEnv: TCTL_PERM_GOOGLE}\n",
            1,
        );
        p.push_str("  stage: prod\n");
        p.push_str("monitoring: {snsTopicArn: \"arn:aws:sns:us-east-1:123456789012:alerts\", alarms: {signInThrottles: {threshold: 5}}}\n");
        p.push_str("tiers:\n  basic: {isolation: pooled, throttle: {rateLimit: 10, burstLimit: 20}}\napiUsage: {restApi: acme-saas-api, stage: prod}\n");
        p
    };
    let (tmp, f) = folder_edited(&edit, &[("acme", "tier: basic\n")]);
    (tmp, f.unwrap_or_else(|e| panic!("{e}")))
}

fn actions(policy: &Value) -> BTreeSet<String> {
    policy["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["Action"].as_array().unwrap().iter().map(|a| a.as_str().unwrap().to_string()))
        .collect()
}

/// The IAM actions an operation needs.
fn needed(op: &str) -> String {
    match api_gateway_action(op) {
        Some((verb, _)) => format!("apigateway:{verb}"),
        None => iam_action(op),
    }
}

fn statement<'a>(policy: &'a Value, sid: &str) -> &'a Value {
    policy["Statement"].as_array().unwrap().iter().find(|s| s["Sid"] == sid).unwrap_or_else(|| panic!("no {sid}"))
}

/// An action that changes something (by its verb).
fn is_write(action: &str) -> bool {
    let (service, name) = action.split_once(':').unwrap();
    if service == "apigateway" {
        return name != "GET";
    }
    !["Get", "List", "Describe"].iter().any(|p| name.starts_with(p))
}

#[test]
fn plan_and_drift_policies_hold_no_write_action() {
    for folder in [example_folder(), every_service().1] {
        for use_ in [Use::Plan, Use::Drift] {
            let p = policy(&folder, use_, None);
            let writes: Vec<String> = actions(&p).into_iter().filter(|a| is_write(a)).collect();
            assert!(writes.is_empty(), "{use_:?}: {writes:?}");
            assert!(actions(&p).contains("sts:GetCallerIdentity"));
            assert!(actions(&p).contains("cognito-idp:ListUserPools"));
        }
    }
}

/// Every operation tenantctl calls (the declarations, and the rate table of `aws::limits`)
/// is allowed by the apply policy of a folder using every service; every read by the plan
/// policy.
#[test]
fn every_operation_is_in_the_apply_policy_of_a_folder_using_every_service() {
    let (_tmp, folder) = every_service();
    let apply = actions(&policy(&folder, Use::Apply, None));
    let plan = actions(&policy(&folder, Use::Plan, None));
    let declared: BTreeSet<&str> =
        CALLS.iter().flat_map(|k| k.calls.iter().map(|(o, _)| *o)).chain(SESSION_CALLS.iter().copied()).collect();
    // In the rate table for their published categories, called by no kind: in no policy.
    const NOT_CALLED: &[&str] = &[
        "cognito-idp:DescribeUserPoolDomain",
        "cognito-idp:DescribeResourceServer",
        "cognito-idp:ListUsersInGroup",
        "cognito-idp:AdminListGroupsForUser",
    ];
    for (op, _) in OPERATIONS {
        if NOT_CALLED.contains(op) {
            assert!(!apply.contains(*op), "{op} is called by nothing: not in the policy");
            continue;
        }
        assert!(declared.contains(op), "{op} (aws::limits::OPERATIONS) is not declared in permissions::CALLS");
    }
    for op in &declared {
        assert!(apply.contains(&needed(op)), "{op}: {} is not in the apply policy", needed(op));
    }
    for (op, _) in CALLS.iter().flat_map(|k| k.calls.iter()).filter(|(_, a)| *a == Read) {
        assert!(plan.contains(&needed(op)), "{op}: {} is not in the plan policy", needed(op));
    }
    assert!(apply.contains("iam:PassRole"), "CreateFunction passes the execution role");
    for service in ["cognito-idp", "iam", "apigateway", "lambda", "cloudwatch", "sts"] {
        assert!(apply.iter().any(|a| a.starts_with(&format!("{service}:"))), "{service}");
    }
}

/// The operations named in a source file: the `service:Operation` strings that name a call
/// (`.call(aws, "..."`, `call_err("..."`, `acquire_op("..."`), not those in policy documents.
fn named_calls(source: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for marker in ["call_err(\"", "acquire_op(\"", "call(aws, \""] {
        for (i, _) in source.match_indices(marker) {
            let rest = &source[i + marker.len()..];
            let op = &rest[..rest.find('"').unwrap()];
            if op.contains(':') && !op.ends_with(":X") {
                out.insert(op.to_string());
            }
        }
    }
    // `.call(` split over lines: `.call(\n aws, "..."` does not occur; the one-line form is
    // rustfmt's.
    out
}

/// A kind's declaration lists every operation its module names; every declared operation is
/// named somewhere in `src/` (no stale declaration).
#[test]
fn every_operation_a_kind_names_is_declared() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut everywhere = BTreeSet::new();
    for dir in ["kinds", "aws"] {
        for e in std::fs::read_dir(root.join(dir)).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "rs") {
                everywhere.extend(named_calls(&std::fs::read_to_string(&p).unwrap()));
            }
        }
    }
    for k in CALLS {
        assert!(kinds::of(k.kind).is_some(), "{}: no such kind", k.kind);
        let source = std::fs::read_to_string(root.join(format!("kinds/{}.rs", k.module))).unwrap();
        let declared: BTreeSet<&str> = k.calls.iter().map(|(o, _)| *o).collect();
        for op in named_calls(&source) {
            assert!(
                declared.contains(op.as_str()),
                "kinds/{}.rs calls {op}: declare it in permissions::CALLS",
                k.module
            );
        }
        for op in &declared {
            assert!(everywhere.contains(*op), "{}: {op} is declared but nothing calls it", k.kind);
        }
    }
    for e in std::fs::read_dir(root.join("kinds")).unwrap() {
        let p = e.unwrap().path();
        let module = p.file_stem().unwrap().to_str().unwrap().to_string();
        if p.extension().is_some_and(|x| x == "rs") && !named_calls(&std::fs::read_to_string(&p).unwrap()).is_empty() {
            assert!(CALLS.iter().any(|c| c.module == module), "kinds/{module}.rs calls AWS: declare it in CALLS");
        }
    }
}

#[test]
fn roles_are_path_scoped_and_pool_writes_need_the_platform_tag() {
    let folder = example_folder();
    let p = policy(&folder, Use::Apply, None);
    let roles = statement(&p, "PlatformRoles");
    assert_eq!(roles["Resource"], json!(["arn:aws:iam::*:role/tenantctl/acmesaas/*"]));
    assert!(actions(&json!({"Statement": [roles]})).contains("iam:CreateRole"));
    let pools = statement(&p, "CognitoPlatformPools");
    assert_eq!(pools["Condition"], json!({"StringEquals": {"aws:ResourceTag/tenantctl:platform": "acmesaas"}}));
    assert_eq!(pools["Resource"], json!(["arn:aws:cognito-idp:us-east-1:*:userpool/*"]));
    assert!(pools["Action"].as_array().unwrap().iter().all(|a| is_write(a.as_str().unwrap())));
    let function = statement(&p, "AuthorizerFunction");
    assert_eq!(function["Resource"], json!(["arn:aws:lambda:us-east-1:*:function:acme-saas-authorizer"]));
    let pass = statement(&p, "PassAuthorizerRole");
    assert_eq!(pass["Resource"], json!(["arn:aws:iam::*:role/tenantctl/acmesaas/acmesaas-authorizer"]));
    assert_eq!(pass["Action"], json!(["iam:PassRole"]));
    let account = statement(&p, "CognitoAccount");
    assert_eq!(account["Resource"], json!(["*"]));
    assert_eq!(account["Action"], json!(["cognito-idp:CreateUserPool", "cognito-idp:ListUserPools"]));
    // --region: the ARNs of that region and its partition.
    let cn = policy(&folder, Use::Plan, Some("cn-north-1"));
    assert_eq!(statement(&cn, "CognitoPools")["Resource"], json!(["arn:aws-cn:cognito-idp:cn-north-1:*:userpool/*"]));
    // Every Sid once, every statement an Allow with actions and resources.
    let sids: Vec<&str> = p["Statement"].as_array().unwrap().iter().map(|s| s["Sid"].as_str().unwrap()).collect();
    assert_eq!(sids.len(), sids.iter().collect::<BTreeSet<_>>().len(), "{sids:?}");
}

/// Only the services the folder uses: no API Gateway or Lambda without an authorizer, no
/// CloudWatch without monitoring.
#[test]
fn only_the_services_the_folder_uses() {
    let no_authorizer = |p: &str| p[..p.find("authorizer:").unwrap()].to_string();
    let (_tmp, folder) = folder_edited(&no_authorizer, &[("acme", "")]);
    let folder = folder.unwrap_or_else(|e| panic!("{e}"));
    for use_ in [Use::Plan, Use::Apply, Use::Destroy] {
        let a = actions(&policy(&folder, use_, None));
        assert!(!a.iter().any(|a| a.starts_with("apigateway:") || a.starts_with("lambda:")), "{use_:?}: {a:?}");
        assert!(!a.iter().any(|a| a.starts_with("cloudwatch:") || a == "iam:PassRole"), "{use_:?}: {a:?}");
    }
    let a = actions(&policy(&example_folder(), Use::Plan, None));
    assert!(a.contains("apigateway:GET") && a.contains("lambda:GetFunction"));
    assert!(!a.iter().any(|a| a.starts_with("cloudwatch:")));
    let a = actions(&policy(&every_service().1, Use::Plan, None));
    assert!(a.contains("cloudwatch:DescribeAlarms"));
}

/// `destroy` deletes one tenant's resources: deletions and the pool update before a pool is
/// deleted, never a create, nothing of the platform-wide authorizer wiring.
#[test]
fn destroy_deletes_and_creates_nothing() {
    let (_tmp, folder) = every_service();
    let a = actions(&policy(&folder, Use::Destroy, None));
    for must in ["cognito-idp:DeleteUserPool", "cognito-idp:UpdateUserPool", "iam:DeleteRole", "apigateway:DELETE"] {
        assert!(a.contains(must), "{must}: {a:?}");
    }
    let creates: Vec<&String> = a.iter().filter(|a| a.contains(":Create") || a.contains(":Put")).collect();
    assert!(creates.is_empty(), "{creates:?}");
    assert!(!a.iter().any(|a| a.starts_with("lambda:") && a != "lambda:GetFunction" && is_write(a)), "{a:?}");
    assert!(!a.contains("apigateway:POST") && !a.contains("iam:PassRole"));
}
