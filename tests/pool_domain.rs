//! The hosted-UI domain (contract §1.4 `userPool.domain`, resource `pool_domain`): created
//! with its pool (a silo pool gets `<domain>-<tenant>`), kept, replaced when its name changes
//! (Cognito cannot rename a domain), deleted before its pool. Read back with the test's own
//! Cognito calls.

mod common;

use common::*;

/// The user pool a domain prefix points at, as Cognito describes it (None: no such domain).
async fn domain_pool(sdk: &Sdk, domain: &str) -> Option<String> {
    let out = sdk.cognito.describe_user_pool_domain().domain(domain).send().await.unwrap();
    out.domain_description().and_then(|d| d.user_pool_id()).filter(|id| !id.is_empty()).map(str::to_string)
}

async fn live_domain(sdk: &Sdk, pool_id: &str) -> Option<String> {
    let out = sdk.cognito.describe_user_pool().user_pool_id(pool_id).send().await.unwrap();
    out.user_pool().and_then(|p| p.domain()).map(str::to_string)
}

#[tokio::test(flavor = "multi_thread")]
async fn domain_is_created_kept_replaced_and_deleted_before_its_pool() {
    let Some(ep) = endpoint() else { return };
    let sdk = sdk(&ep).await;
    let p = platform_name("dom");
    let api = format!("{p}-api");
    rest_api(&sdk, &api).await;
    let dir = folder_for(&platform_yaml(&p, &api, &format!("  domain: {p}-login\n")));
    let d = dir.path();
    write(d, "tenants/acme.yaml", &tenant_yaml("acme", "pooled", None));
    write(d, "tenants/initech.yaml", &tenant_yaml("initech", "silo", None));

    let plan = json(&run_ok(d, &ep, &["plan", "--format", "json"], 0));
    let domains: Vec<&serde_json::Value> =
        plan["changes"].as_array().unwrap().iter().filter(|c| c["resource"] == "pool_domain").collect();
    assert_eq!(domains.len(), 2, "{domains:#?}");
    run_ok(d, &ep, &["apply", "--auto-approve"], 0);
    let shared = pool_id(&sdk, &p).await;
    let silo = pool_id(&sdk, &format!("{p}-initech")).await;
    assert_eq!(live_domain(&sdk, &shared).await.as_deref(), Some(format!("{p}-login").as_str()));
    assert_eq!(domain_pool(&sdk, &format!("{p}-login")).await.as_deref(), Some(shared.as_str()));
    assert_eq!(domain_pool(&sdk, &format!("{p}-login-initech")).await.as_deref(), Some(silo.as_str()));
    // Kept: nothing to do.
    run_ok(d, &ep, &["plan", "--detailed-exitcode"], 0);

    // Renamed: the old domain goes, the new one points at the same pool.
    write(d, "tenants/platform.yaml", &platform_yaml(&p, &api, &format!("  domain: {p}-signin\n")));
    let plan = json(&run_ok(d, &ep, &["plan", "--format", "json"], 0));
    let c = plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["address"] == "platform/pool/domain")
        .unwrap_or_else(|| panic!("{plan:#}"))
        .clone();
    assert_eq!(c["action"], "replace", "{c:#}");
    assert_eq!(c["resource"], "pool_domain");
    assert_eq!(c["fields"][0]["path"], "domain");
    assert_eq!(c["fields"][0]["before"], format!("{p}-login"));
    assert_eq!(c["fields"][0]["after"], format!("{p}-signin"));
    run_ok(d, &ep, &["apply", "--auto-approve"], 0);
    assert_eq!(domain_pool(&sdk, &format!("{p}-login")).await, None);
    assert_eq!(domain_pool(&sdk, &format!("{p}-signin")).await.as_deref(), Some(shared.as_str()));
    assert_eq!(domain_pool(&sdk, &format!("{p}-login-initech")).await, None);
    assert_eq!(domain_pool(&sdk, &format!("{p}-signin-initech")).await.as_deref(), Some(silo.as_str()));
    run_ok(d, &ep, &["plan", "--detailed-exitcode"], 0);

    // Not declared any more: the live domain is left alone.
    write(d, "tenants/platform.yaml", &platform_yaml(&p, &api, ""));
    run_ok(d, &ep, &["plan", "--detailed-exitcode"], 0);

    // Offboarding the silo tenant deletes its domain before its pool.
    run_ok(d, &ep, &["destroy", "--tenant", "initech", "--auto-approve"], 0);
    assert!(pools_named(&sdk, &format!("{p}-initech")).await.is_empty());
    assert_eq!(domain_pool(&sdk, &format!("{p}-signin-initech")).await, None);
    assert_eq!(domain_pool(&sdk, &format!("{p}-signin")).await.as_deref(), Some(shared.as_str()));
}
