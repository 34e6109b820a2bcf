//! Past one platform's ceilings (issue 21, contract §1.7): `userPool.triggerScope`. With
//! `pool` every (pool, function) has its own statement in the trigger function's resource
//! policy, which Lambda holds to 20 KB: `plan` and `apply` refuse before any write, naming
//! the size and `triggerScope: account`; with `account` one statement serves every pool, and
//! a switch of scope converges in one apply.

mod common;

use common::*;
use serde_json::Value;

/// The statements of a function's resource policy, and its size in bytes as `GetPolicy`
/// returns it.
async fn policy(sdk: &Sdk, function: &str) -> (Vec<Value>, usize) {
    let p = sdk.lambda.get_policy().function_name(function).send().await.expect("GetPolicy");
    let raw = p.policy().unwrap().to_string();
    let doc: Value = serde_json::from_str(&raw).unwrap();
    let st = match &doc["Statement"] {
        Value::Array(a) => a.clone(),
        v => vec![v.clone()],
    };
    (st, serde_json::to_string(&doc).unwrap().len())
}

/// tenantctl's statements of a policy (its Sids).
fn ours(st: &[Value]) -> Vec<&Value> {
    st.iter().filter(|s| s["Sid"].as_str().is_some_and(|sid| sid.starts_with("tenantctl-cognito-"))).collect()
}

/// The test platform without its authorizer (whose environment bounds silo tenants on its
/// own), with a preSignUp trigger on `function` and `scope`.
fn platform(p: &str, function: &str, scope: &str) -> String {
    let text = platform_yaml(
        p,
        &format!("{p}-api"),
        &format!("  triggers: {{preSignUp: {function}}}\n  triggerScope: {scope}\n"),
    );
    text[..text.find("authorizer:").expect("the test platform has an authorizer")].to_string()
}

/// A folder of `n` silo tenants `t000`.. on `function` with `scope`.
fn silo_folder(p: &str, function: &str, scope: &str, n: usize) -> tempfile::TempDir {
    let dir = folder_for(&platform(p, function, scope));
    for i in 0..n {
        let id = format!("t{i:03}");
        write(dir.path(), &format!("tenants/{id}.yaml"), &tenant_yaml(&id, "silo", None));
    }
    dir
}

/// Someone else's statements on the function until Lambda takes no more
/// (`PolicyLengthExceededException`, the strict emulator's too): long ones, then short ones,
/// so less room is left than one of tenantctl's statements takes.
async fn fill_policy(sdk: &Sdk, function: &str) {
    let mut i = 0;
    for rule in [200, 0] {
        // Bounded: an emulator that does not refuse (plain moto) passes 20 KB after fewer.
        for _ in 0..100 {
            i += 1;
            let added = sdk
                .lambda
                .add_permission()
                .function_name(function)
                .statement_id(format!("s{i}"))
                .action("lambda:InvokeFunction")
                .principal("events.amazonaws.com")
                .source_arn(format!("arn:aws:events:us-east-1:{ACCOUNT}:rule/r{}", "r".repeat(rule)))
                .send()
                .await;
            match added {
                Ok(_) => {}
                Err(e) if format!("{e:?}").contains("PolicyLengthExceededException") => break,
                Err(e) => panic!("AddPermission: {e:?}"),
            }
        }
    }
}

/// 3 silo pools: pool scope, account scope (one statement left), pool scope again (each
/// switch one apply), and a fourth pool refused before any write once the function's other
/// statements leave no room for its statement.
#[tokio::test(flavor = "multi_thread")]
async fn trigger_scope_switches_in_one_apply_and_the_policy_size_is_checked_before_any_write() {
    let Some(ep) = endpoint() else { return };
    let sdk = sdk(&ep).await;
    let p = platform_name("scl");
    let role = lambda_role(&sdk, &format!("{p}-trigger-role")).await;
    let f = trigger_function(&sdk, &format!("{p}-presignup"), &role).await;

    // Pool scope: one statement per pool.
    let dir = silo_folder(&p, &f, "pool", 3);
    let d = dir.path();
    run_ok(d, &ep, &["apply", "--auto-approve"], 0);
    run_ok(d, &ep, &["plan", "--detailed-exitcode"], 0);
    let (st, _) = policy(&sdk, &f).await;
    assert_eq!(ours(&st).len(), 3, "{st:#?}");

    // Account scope: one apply leaves one statement for every pool of the account.
    write(d, "tenants/platform.yaml", &platform(&p, &f, "account"));
    run_ok(d, &ep, &["apply", "--auto-approve"], 0);
    run_ok(d, &ep, &["plan", "--detailed-exitcode"], 0);
    let (st, _) = policy(&sdk, &f).await;
    let o = ours(&st);
    assert_eq!(o.len(), 1, "{st:#?}");
    assert_eq!(o[0]["Sid"], format!("tenantctl-cognito-{p}_account"));
    let arn = o[0]["Condition"]["ArnLike"]["AWS:SourceArn"].as_str().unwrap_or_default();
    assert_eq!(arn, format!("arn:aws:cognito-idp:us-east-1:{ACCOUNT}:userpool/*"), "{st:#?}");

    // Back to pool scope: one apply, the account statement gone.
    write(d, "tenants/platform.yaml", &platform(&p, &f, "pool"));
    run_ok(d, &ep, &["apply", "--auto-approve"], 0);
    run_ok(d, &ep, &["plan", "--detailed-exitcode"], 0);
    let (st, _) = policy(&sdk, &f).await;
    let sids: Vec<&str> = ours(&st).iter().filter_map(|s| s["Sid"].as_str()).collect();
    assert_eq!(sids.len(), 3, "{st:#?}");
    assert!(sids.iter().all(|s| !s.ends_with("_account")), "{sids:?}");

    // Someone else's statements fill the policy: pool scope with a fourth tenant
    // would pass 20 KB. Plan and apply refuse, naming the size and the remedy; nothing written.
    fill_policy(&sdk, &f).await;
    write(d, "tenants/t003.yaml", &tenant_yaml("t003", "silo", None));
    for args in [&["plan"][..], &["apply", "--auto-approve"]] {
        let out = run_ok(d, &ep, args, 1);
        let msg = text(&out);
        assert!(msg.contains("bytes") && msg.contains("20480"), "{args:?}: {msg}");
        assert!(msg.contains("triggerScope: account"), "{args:?}: {msg}");
    }
    assert!(pools_named(&sdk, &format!("{p}-t003")).await.is_empty(), "a pool was created");
    let (st, _) = policy(&sdk, &f).await;
    assert_eq!(ours(&st).len(), 3, "a statement changed: {st:#?}");
}

/// Issue 21: 80 silo pools sharing one trigger function. Pool scope: refused before any
/// write (no pool of the platform exists); account scope: applied, one tenantctl statement.
/// About 80 s on the emulator (debug build, 2 cores), so not ignored.
#[tokio::test(flavor = "multi_thread")]
async fn eighty_silo_pools_on_one_trigger_function() {
    let Some(ep) = endpoint() else { return };
    let sdk = sdk(&ep).await;
    let p = platform_name("scl");
    let role = lambda_role(&sdk, &format!("{p}-trigger-role")).await;
    let f = trigger_function(&sdk, &format!("{p}-presignup"), &role).await;
    let dir = silo_folder(&p, &f, "pool", 80);
    let d = dir.path();
    for args in [&["plan"][..], &["apply", "--auto-approve"]] {
        let msg = text(&run_ok(d, &ep, args, 1));
        assert!(msg.contains("bytes") && msg.contains("triggerScope: account"), "{args:?}: {msg}");
        eprintln!("{args:?}: {msg}");
    }
    for t in ["t000", "t079"] {
        assert!(pools_named(&sdk, &format!("{p}-{t}")).await.is_empty(), "pool {t} was created");
    }
    write(d, "tenants/platform.yaml", &platform(&p, &f, "account"));
    run_ok(d, &ep, &["apply", "--auto-approve"], 0);
    run_ok(d, &ep, &["plan", "--detailed-exitcode"], 0);
    let (st, size) = policy(&sdk, &f).await;
    assert_eq!(ours(&st).len(), 1, "{st:#?}");
    eprintln!("account scope: the policy is {size} bytes");
}
