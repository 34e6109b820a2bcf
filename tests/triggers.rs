//! Identity features of the pool (contract §1.4): the feature plan, threat protection and
//! Lambda triggers with their invoke permissions. Applied, planned to zero, read back with the
//! test's own AWS calls; drift (a trigger removed, a permission widened to any source) is
//! reported by `drift` and repaired by `apply`.

mod common;

use aws_sdk_cognitoidentityprovider::types::{LambdaConfigType, PreTokenGenerationLambdaVersionType};
use common::*;
use serde_json::Value;

/// The statements of a function's resource policy.
async fn statements(sdk: &Sdk, function: &str) -> Vec<Value> {
    let p = sdk.lambda.get_policy().function_name(function).send().await.expect("GetPolicy");
    let doc: Value = serde_json::from_str(p.policy().unwrap()).unwrap();
    match &doc["Statement"] {
        Value::Array(a) => a.clone(),
        v => vec![v.clone()],
    }
}

fn condition(s: &Value, key: &str) -> Option<String> {
    s["Condition"].as_object()?.values().find_map(|m| m.get(key)).and_then(Value::as_str).map(str::to_string)
}

#[tokio::test(flavor = "multi_thread")]
async fn feature_plan_threat_protection_and_triggers_apply_read_back_and_repair() {
    let Some(ep) = endpoint() else { return };
    let sdk = sdk(&ep).await;
    let p = platform_name("trg");
    let api = format!("{p}-api");
    rest_api(&sdk, &api).await;
    let role = lambda_role(&sdk, &format!("{p}-trigger-role")).await;
    let presignup = trigger_function(&sdk, &format!("{p}-presignup"), &role).await;
    let claims = trigger_function(&sdk, &format!("{p}-claims"), &role).await;
    let extra = format!(
        "  featurePlan: plus\n  threatProtection: audit\n  triggers:\n    preSignUp: {p}-presignup\n    preTokenGeneration: {claims}\n"
    );
    let dir = folder_for(&platform_yaml(&p, &api, &extra));
    let d = dir.path();
    write(d, "tenants/acme.yaml", &tenant_yaml("acme", "pooled", None));
    write(d, "tenants/initech.yaml", &tenant_yaml("initech", "silo", None));

    run_ok(d, &ep, &["apply", "--auto-approve"], 0);
    run_ok(d, &ep, &["plan", "--detailed-exitcode"], 0);

    for (name, tenant) in [(p.clone(), None), (format!("{p}-initech"), Some("initech"))] {
        let id = pool_id(&sdk, &name).await;
        let pool = sdk.cognito.describe_user_pool().user_pool_id(&id).send().await.unwrap().user_pool.unwrap();
        assert_eq!(pool.user_pool_tier().map(|t| t.as_str()), Some("PLUS"), "{name}");
        assert_eq!(pool.user_pool_add_ons().map(|a| a.advanced_security_mode().as_str()), Some("AUDIT"), "{name}");
        let l = pool.lambda_config().expect("LambdaConfig");
        assert_eq!(l.pre_sign_up(), Some(presignup.as_str()));
        let v2 = l.pre_token_generation_config().expect("PreTokenGenerationConfig");
        assert_eq!(
            (v2.lambda_arn(), v2.lambda_version()),
            (claims.as_str(), &PreTokenGenerationLambdaVersionType::V20)
        );
        // Each function lets this pool, and only it, invoke it.
        let pool_arn = pool
            .arn()
            .map(str::to_string)
            .unwrap_or_else(|| format!("arn:aws:cognito-idp:us-east-1:{ACCOUNT}:userpool/{id}"));
        for f in [&presignup, &claims] {
            let st = statements(&sdk, f).await;
            let ours: Vec<&Value> = st.iter().filter(|s| s["Sid"] == format!("tenantctl-cognito-{name}")).collect();
            assert_eq!(ours.len(), 1, "{name} {f}: {st:#?} (tenant {tenant:?})");
            assert_eq!(ours[0]["Principal"]["Service"], "cognito-idp.amazonaws.com");
            assert_eq!(condition(ours[0], "AWS:SourceArn").as_deref(), Some(pool_arn.as_str()));
            assert_eq!(condition(ours[0], "AWS:SourceAccount").as_deref(), Some(ACCOUNT));
        }
    }

    // Drift 1: a trigger removed out of band (the raw call keeps the tags and the rest).
    let shared = pool_id(&sdk, &p).await;
    let live = sdk.cognito.describe_user_pool().user_pool_id(&shared).send().await.unwrap().user_pool.unwrap();
    sdk.cognito
        .update_user_pool()
        .user_pool_id(&shared)
        .lambda_config(LambdaConfigType::builder().pre_sign_up(&presignup).build())
        .set_user_pool_tags(live.user_pool_tags().cloned())
        .set_user_pool_tier(live.user_pool_tier().cloned())
        .set_user_pool_add_ons(live.user_pool_add_ons().cloned())
        .set_deletion_protection(live.deletion_protection().cloned())
        .set_policies(live.policies().cloned())
        .set_admin_create_user_config(live.admin_create_user_config().cloned())
        .send()
        .await
        .unwrap();
    let drift = json(&run_ok(d, &ep, &["drift", "--format", "json"], 2));
    let text = drift.to_string();
    assert!(text.contains("triggers.preTokenGeneration"), "{drift:#}");
    run_ok(d, &ep, &["apply", "--auto-approve"], 0);
    run_ok(d, &ep, &["plan", "--detailed-exitcode"], 0);
    let pool = sdk.cognito.describe_user_pool().user_pool_id(&shared).send().await.unwrap().user_pool.unwrap();
    assert_eq!(
        pool.lambda_config().and_then(|l| l.pre_token_generation_config()).map(|c| c.lambda_arn()),
        Some(claims.as_str())
    );

    // Drift 2: the permission widened to any source (same Sid, no SourceArn).
    let sid = format!("tenantctl-cognito-{p}");
    sdk.lambda.remove_permission().function_name(&presignup).statement_id(&sid).send().await.unwrap();
    sdk.lambda
        .add_permission()
        .function_name(&presignup)
        .statement_id(&sid)
        .action("lambda:InvokeFunction")
        .principal("cognito-idp.amazonaws.com")
        .send()
        .await
        .unwrap();
    let drift = json(&run_ok(d, &ep, &["drift", "--format", "json"], 2));
    assert!(drift.to_string().contains("source_arn"), "{drift:#}");
    run_ok(d, &ep, &["apply", "--auto-approve"], 0);
    run_ok(d, &ep, &["plan", "--detailed-exitcode"], 0);
    let st = statements(&sdk, &presignup).await;
    let ours: Vec<&Value> = st.iter().filter(|s| s["Sid"] == sid.as_str()).collect();
    assert_eq!(ours.len(), 1, "{st:#?}");
    assert!(condition(ours[0], "AWS:SourceArn").is_some_and(|a| a.ends_with(&shared)), "{st:#?}");

    // No trigger named any more: the live triggers are left alone.
    let extra = "  featurePlan: plus\n  threatProtection: audit\n";
    write(d, "tenants/platform.yaml", &platform_yaml(&p, &api, extra));
    run_ok(d, &ep, &["plan", "--detailed-exitcode"], 0);
}
