//! Out-of-band changes: each makes `drift` exit 2 naming exactly that item, `apply` repairs
//! it, and `drift` then exits 0.

mod common;

use aws_sdk_cognitoidentityprovider::types::{ResourceServerScopeType, UserPoolClientType};
use common::*;

fn drift_addresses(dir: &std::path::Path, ep: &str) -> Vec<(String, String)> {
    let o = run_ok(dir, ep, &["drift", "--format", "json"], 2);
    let v = json(&o);
    assert_eq!(v["drifted"], true);
    v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (i["kind"].as_str().unwrap().to_string(), i["address"].as_str().unwrap().to_string()))
        .collect()
}

async fn client(sdk: &Sdk, pool: &str) -> UserPoolClientType {
    let list = sdk.cognito.list_user_pool_clients().user_pool_id(pool).send().await.unwrap();
    let id = list
        .user_pool_clients()
        .iter()
        .find(|c| c.client_name() == Some("web"))
        .unwrap()
        .client_id()
        .unwrap()
        .to_string();
    sdk.cognito
        .describe_user_pool_client()
        .user_pool_id(pool)
        .client_id(id)
        .send()
        .await
        .unwrap()
        .user_pool_client()
        .unwrap()
        .clone()
}

#[tokio::test(flavor = "multi_thread")]
async fn each_out_of_band_change_is_reported_and_repaired() {
    let Some(ep) = endpoint() else { return };
    let sdk = sdk(&ep).await;
    let p = platform_name("d");
    let api = rest_api(&sdk, &format!("{p}-api")).await;
    let dir = folder(&p, &format!("{p}-api"), &[("acme", "pooled", None), ("globex", "pooled", Some("member"))]);
    let d = dir.path();
    run_ok(d, &ep, &["apply", "--auto-approve"], 0);
    run_ok(d, &ep, &["drift"], 0);
    let pool = pool_id(&sdk, &p).await;
    let role = |t: &str, r: &str| format!("{p}-{t}-{r}");
    let fname = format!("{p}-authorizer");

    let mut checked = 0;
    for case in 0..11 {
        let expected: (&str, String) = match case {
            0 => {
                sdk.cognito.delete_group().user_pool_id(&pool).group_name("acme-member").send().await.unwrap();
                ("missing", "platform/pool/group/acme-member".into())
            }
            1 => {
                let doc = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}"#;
                sdk.iam
                    .put_role_policy()
                    .role_name(role("acme", "admin"))
                    .policy_name("tenant-data-rw")
                    .policy_document(doc)
                    .send()
                    .await
                    .unwrap();
                ("changed", "tenant/acme/role/admin/policy/tenant-data-rw".into())
            }
            2 => {
                let doc = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#;
                sdk.iam
                    .put_role_policy()
                    .role_name(role("acme", "admin"))
                    .policy_name("extra")
                    .policy_document(doc)
                    .send()
                    .await
                    .unwrap();
                ("unexpected", "tenant/acme/role/admin/policy/extra".into())
            }
            3 => {
                sdk.iam
                    .delete_role_policy()
                    .role_name(role("acme", "member"))
                    .policy_name("tenant-data-ro")
                    .send()
                    .await
                    .unwrap();
                ("missing", "tenant/acme/role/member/policy/tenant-data-ro".into())
            }
            4 => {
                let loose = format!(
                    r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{ACCOUNT}:root"}},"Action":["sts:AssumeRole","sts:TagSession"]}}]}}"#
                );
                sdk.iam
                    .update_assume_role_policy()
                    .role_name(role("globex", "member"))
                    .policy_document(loose)
                    .send()
                    .await
                    .unwrap();
                ("changed", "tenant/globex/role/member".into())
            }
            5 => {
                let c = client(&sdk, &pool).await;
                let mut write = c.write_attributes().to_vec();
                write.push("custom:tenant_id".into());
                sdk.cognito
                    .update_user_pool_client()
                    .user_pool_id(&pool)
                    .client_id(c.client_id().unwrap())
                    .set_read_attributes(Some(c.read_attributes().to_vec()))
                    .set_write_attributes(Some(write))
                    .set_explicit_auth_flows(Some(c.explicit_auth_flows().to_vec()))
                    .send()
                    .await
                    .unwrap();
                ("changed", "platform/pool/app_client/web".into())
            }
            6 => {
                let live = sdk.cognito.describe_user_pool().user_pool_id(&pool).send().await.unwrap();
                let live = live.user_pool().unwrap();
                let weak = aws_sdk_cognitoidentityprovider::types::UserPoolPolicyType::builder()
                    .password_policy(
                        aws_sdk_cognitoidentityprovider::types::PasswordPolicyType::builder().minimum_length(6).build(),
                    )
                    .build();
                sdk.cognito
                    .update_user_pool()
                    .user_pool_id(&pool)
                    .policies(weak)
                    .set_deletion_protection(live.deletion_protection().cloned())
                    .set_admin_create_user_config(live.admin_create_user_config().cloned())
                    .set_user_pool_tags(live.user_pool_tags().cloned())
                    .send()
                    .await
                    .unwrap();
                ("changed", "platform/pool".into())
            }
            7 => {
                sdk.cognito.create_user_pool_client().user_pool_id(&pool).client_name("rogue").send().await.unwrap();
                ("unexpected", "platform/pool/app_client/rogue".into())
            }
            8 => {
                let id = format!("https://api.{p}.example");
                sdk.cognito
                    .update_resource_server()
                    .user_pool_id(&pool)
                    .identifier(&id)
                    .name(format!("{p}-api"))
                    .scopes(
                        ResourceServerScopeType::builder()
                            .scope_name("orders.read")
                            .scope_description("Read orders")
                            .build()
                            .unwrap(),
                    )
                    .send()
                    .await
                    .unwrap();
                ("changed", format!("platform/pool/resource_server/{id}"))
            }
            9 => {
                let res = sdk.apigw.get_resources().rest_api_id(&api).send().await.unwrap();
                let orders = res.items().iter().find(|r| r.path() == Some("/orders")).unwrap();
                sdk.apigw
                    .update_method()
                    .rest_api_id(&api)
                    .resource_id(orders.id().unwrap())
                    .http_method("GET")
                    .patch_operations(
                        aws_sdk_apigateway::types::PatchOperation::builder()
                            .op(aws_sdk_apigateway::types::Op::Replace)
                            .path("/authorizationType")
                            .value("NONE")
                            .build(),
                    )
                    .send()
                    .await
                    .unwrap();
                ("changed", "platform/authorizer/method/GET /orders".into())
            }
            _ => {
                // tenantctl's own statement widened by hand (no SourceArn: a confused deputy).
                sdk.lambda
                    .remove_permission()
                    .function_name(&fname)
                    .statement_id("tenantctl-apigateway-invoke")
                    .send()
                    .await
                    .unwrap();
                sdk.lambda
                    .add_permission()
                    .function_name(&fname)
                    .statement_id("tenantctl-apigateway-invoke")
                    .action("lambda:InvokeFunction")
                    .principal("apigateway.amazonaws.com")
                    .send()
                    .await
                    .unwrap();
                ("changed", "platform/authorizer/permission".into())
            }
        };
        let items = drift_addresses(d, &ep);
        assert_eq!(items, vec![(expected.0.to_string(), expected.1.clone())], "case {case}");
        run_ok(d, &ep, &["apply", "--auto-approve"], 0);
        let o = run(d, &ep, &["drift"]);
        assert_eq!(o.status.code(), Some(0), "case {case} not repaired:\n{}", text(&o));
        checked += 1;
    }
    assert_eq!(checked, 11);

    // Another REST API that uses the same function has its own statement: not tenantctl's,
    // so neither drift nor deleted by apply.
    let other = format!("arn:aws:execute-api:{REGION}:{ACCOUNT}:otherapi01/authorizers/abc123");
    sdk.lambda
        .add_permission()
        .function_name(&fname)
        .statement_id("other-api-invoke")
        .action("lambda:InvokeFunction")
        .principal("apigateway.amazonaws.com")
        .source_arn(&other)
        .send()
        .await
        .unwrap();
    run_ok(d, &ep, &["drift"], 0);
    run_ok(d, &ep, &["apply", "--auto-approve"], 0);
    let policy = sdk.lambda.get_policy().function_name(&fname).send().await.unwrap();
    let policy: serde_json::Value = serde_json::from_str(policy.policy().unwrap()).unwrap();
    let sids: Vec<&str> = policy["Statement"].as_array().unwrap().iter().filter_map(|s| s["Sid"].as_str()).collect();
    assert!(sids.contains(&"other-api-invoke"), "{sids:?}");
    assert!(sids.contains(&"tenantctl-apigateway-invoke"), "{sids:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn orphans_are_reported_not_deleted_unless_pruned() {
    let Some(ep) = endpoint() else { return };
    let sdk = sdk(&ep).await;
    let p = platform_name("o");
    rest_api(&sdk, &format!("{p}-api")).await;
    let dir = folder(&p, &format!("{p}-api"), &[("acme", "pooled", None), ("gone", "pooled", Some("member"))]);
    let d = dir.path();
    run_ok(d, &ep, &["apply", "--auto-approve"], 0);
    std::fs::remove_file(d.join("tenants/gone.yaml")).unwrap();
    let o = run_ok(d, &ep, &["plan", "--format", "json"], 0);
    let v = json(&o);
    let orphans: Vec<_> =
        v["orphans"].as_array().unwrap().iter().map(|o| o["address"].as_str().unwrap().to_string()).collect();
    assert!(orphans.contains(&"tenant/gone/role/member".to_string()), "{orphans:?}");
    assert!(orphans.contains(&"platform/pool/group/gone-member".to_string()), "{orphans:?}");
    run_ok(d, &ep, &["apply", "--auto-approve"], 0);
    sdk.iam.get_role().role_name(format!("{p}-gone-member")).send().await.expect("kept without --prune");
    run_ok(d, &ep, &["apply", "--auto-approve", "--prune"], 0);
    assert!(sdk.iam.get_role().role_name(format!("{p}-gone-member")).send().await.is_err(), "pruned");
    run_ok(d, &ep, &["drift"], 0);
}
