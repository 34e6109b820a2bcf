//! Shared tenancy (contract §1.7, issue 21 item 2) end to end against the emulator: a platform
//! with `tenancy: {roles: shared, groups: shared}`, three pooled tenants and one silo, applied
//! and converged; IAM holds one role per platform role (and the authorizer's), each managed
//! pool one group per role; a real ID token of a pooled tenant's user in group `member` is
//! allowed by the authorizer built from the deployed configuration, with the shared role's ARN
//! in its context, and STS AssumeRole of that role with the session tag succeeds (plain STS and
//! through tenant-credentials); an
//! undeclared tenant is denied. And a live platform switched from per-tenant roles to shared
//! ones in one apply, then converged.
//!
//! Skipped (with a note) when TENANTCTL_TEST_ENDPOINT is unset; `scripts/test` sets it.

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;

use common::*;
use tenant_credentials::{CredentialsCache, RolePin, StsAssumer, TenantContext};
use tenantctl_authorizer::{DenyReason, HttpJwksFetcher, SystemClock, Verifier};

const SHARED: &str = "tenancy: {roles: shared, groups: shared}\n";

/// Policies that reach tenant data only through the session tag (a shared role's may not use
/// `{{tenant.*}}`).
fn shared_policies(dir: &Path) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for p in ["tenant-data-rw.json", "tenant-data-ro.json"] {
        let text = std::fs::read_to_string(root.join("policies").join(p)).unwrap();
        write(dir, &format!("policies/{p}"), &text.replace("{{tenant.vars.bucket}}", "{{platform.name}}-data"));
    }
}

/// The platform `p` with `extra` appended, the tenants acme, globex, hooli (pooled) and initech
/// (silo).
fn shared_folder(p: &str, extra: &str) -> tempfile::TempDir {
    let dir = folder_for(&format!("{}{extra}", platform_yaml(p, &format!("{p}-api"), "")));
    shared_policies(dir.path());
    for (id, iso) in [("acme", "pooled"), ("globex", "pooled"), ("hooli", "pooled"), ("initech", "silo")] {
        write(dir.path(), &format!("tenants/{id}.yaml"), &tenant_yaml(id, iso, None));
    }
    dir
}

/// The names of the roles at the platform's path.
async fn roles_of(sdk: &Sdk, p: &str) -> BTreeSet<String> {
    let out = sdk.iam.list_roles().path_prefix(format!("/tenantctl/{p}/")).max_items(1000).send().await.unwrap();
    out.roles().iter().map(|r| r.role_name().to_string()).collect()
}

/// The groups of a pool: name -> role ARN.
async fn groups_of(sdk: &Sdk, pool: &str) -> std::collections::BTreeMap<String, Option<String>> {
    let out = sdk.cognito.list_groups().user_pool_id(pool).limit(60).send().await.unwrap();
    out.groups().iter().map(|g| (g.group_name().unwrap().to_string(), g.role_arn().map(str::to_string))).collect()
}

/// Creates `user` in `pool` with the tenant attribute `tenant`, in `group`; returns its ID token.
async fn user_token(sdk: &Sdk, pool: &str, client_id: &str, user: &str, tenant: &str, group: &str) -> String {
    create_user(sdk, pool, user, tenant, &[group]).await;
    id_token_of(sdk, client_id, user).await
}

/// The handler's answer to `token` for `method_arn` ([`common::decide`]).
async fn decide(
    verifier: &Arc<Verifier>,
    token: &str,
    method_arn: &str,
) -> Result<(serde_json::Value, tenantctl_authorizer::Verified), tenantctl_authorizer::Deny> {
    common::decide(verifier, token_event(token, method_arn)).await
}

#[tokio::test(flavor = "multi_thread")]
async fn shared_roles_and_groups_serve_every_tenant() {
    let Some(ep) = endpoint() else { return };
    let sdk = sdk(&ep).await;
    let p = platform_name("sh");
    let api = rest_api(&sdk, &format!("{p}-api")).await;
    let dir = shared_folder(&p, SHARED);
    run_ok(dir.path(), &ep, &["apply", "--auto-approve"], 0);
    run_ok(dir.path(), &ep, &["plan", "--detailed-exitcode"], 0);

    // One role per platform role, and the authorizer's; tagged shared, no tenant.
    let want: BTreeSet<String> = ["admin", "member", "authorizer"].iter().map(|r| format!("{p}-{r}")).collect();
    assert_eq!(roles_of(&sdk, &p).await, want);
    let member = sdk.iam.get_role().role_name(format!("{p}-member")).send().await.unwrap();
    let member = member.role().unwrap();
    let role_arn = format!("arn:aws:iam::{ACCOUNT}:role/tenantctl/{p}/{p}-member");
    assert_eq!(member.arn(), role_arn);
    let tags = sdk.iam.list_role_tags().role_name(format!("{p}-member")).send().await.unwrap();
    let tags: std::collections::BTreeMap<&str, &str> = tags.tags().iter().map(|t| (t.key(), t.value())).collect();
    assert_eq!(tags.get("tenantctl:tenancy"), Some(&"shared"));
    assert_eq!(tags.get("tenant_id"), None);

    // Each managed pool holds the role names only, pointing at the shared roles.
    let pool = pool_id(&sdk, &p).await;
    let silo = pool_id(&sdk, &format!("{p}-initech")).await;
    for id in [&pool, &silo] {
        let groups = groups_of(&sdk, id).await;
        assert_eq!(groups.keys().collect::<Vec<_>>(), ["admin", "member"], "pool {id}");
        assert_eq!(groups["member"].as_deref(), Some(role_arn.as_str()));
    }

    // The authorizer's configuration says shared; a pooled tenant's user in `member` is allowed.
    let (config, file) = deployed_config(&sdk, &format!("{p}-authorizer")).await;
    assert_eq!(file["tenancy"], serde_json::json!({"groups": "shared", "roles": "shared"}));
    assert_eq!(file["tenants"], serde_json::json!(["acme", "globex", "hooli", "initech"]));
    let clients = sdk.cognito.list_user_pool_clients().user_pool_id(&pool).send().await.unwrap();
    let web = clients.user_pool_clients().iter().find(|c| c.client_name() == Some("web")).expect("web client");
    let client_id = web.client_id().unwrap().to_string();
    let verifier = Arc::new(Verifier::new(config, Arc::new(HttpJwksFetcher::default()), Arc::new(SystemClock)));
    let method_arn = format!("arn:aws:execute-api:{REGION}:{ACCOUNT}:{api}/prod/GET/orders");
    let token = user_token(&sdk, &pool, &client_id, "alice", "globex", "member").await;
    let (resp, verified) = decide(&verifier, &token, &method_arn).await.unwrap_or_else(|d| panic!("denied: {d}"));
    assert_eq!(resp["policyDocument"]["Statement"][0]["Effect"], "Allow", "{resp}");
    assert_eq!(resp["context"]["tenant_id"], "globex");
    assert_eq!(resp["context"]["role"], "member");
    assert_eq!(resp["context"]["role_arn"], role_arn);
    assert_eq!(verified.groups, ["member"]);

    // The backend assumes the shared role with the tenant as the session tag.
    let tag = aws_sdk_sts::types::Tag::builder().key("tenant_id").value("globex").build().unwrap();
    let out = sdk.sts.assume_role().role_arn(&role_arn).role_session_name("shared-e2e").tags(tag).send().await;
    assert!(out.unwrap_or_else(|e| panic!("AssumeRole: {e:?}")).credentials().is_some());
    // And through tenant-credentials, from the authorizer's context as a backend gets it.
    let ctx: std::collections::HashMap<String, String> = serde_json::from_value(resp["context"].clone()).unwrap();
    let tenant = TenantContext::from_authorizer_context(&ctx).unwrap_or_else(|e| panic!("{e}"));
    let cache = CredentialsCache::new(StsAssumer::new(sdk.sts.clone()), RolePin::new(ACCOUNT, &p).unwrap());
    let creds = cache.credentials(&tenant).await.unwrap_or_else(|e| panic!("{e}"));
    assert!(!creds.access_key_id.is_empty() && !creds.session_token.is_empty());

    // A user whose tenant the platform does not declare, in the same shared group: denied.
    let stranger = user_token(&sdk, &pool, &client_id, "mallory", "umbrella", "member").await;
    let deny = decide(&verifier, &stranger, &method_arn).await.expect_err("an undeclared tenant is denied");
    assert_eq!(deny.reason, DenyReason::UndeclaredTenant, "{deny}");

    // With users in the pools, switching the groups back is a plan error that says why.
    write(
        dir.path(),
        "tenants/platform.yaml",
        &format!("{}tenancy: {{roles: shared}}\n", platform_yaml(&p, &format!("{p}-api"), "")),
    );
    let o = run(dir.path(), &ep, &["plan"]);
    assert_ne!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("tenantctl never moves users"), "{}", text(&o));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_live_platform_switches_to_shared_roles_in_one_apply() {
    let Some(ep) = endpoint() else { return };
    let sdk = sdk(&ep).await;
    let p = platform_name("sw");
    rest_api(&sdk, &format!("{p}-api")).await;
    let dir = shared_folder(&p, "");
    run_ok(dir.path(), &ep, &["apply", "--auto-approve"], 0);
    let per_tenant: BTreeSet<String> = ["acme", "globex", "hooli", "initech"]
        .iter()
        .flat_map(|t| ["admin", "member"].map(|r| format!("{p}-{t}-{r}")))
        .chain([format!("{p}-authorizer")])
        .collect();
    assert_eq!(roles_of(&sdk, &p).await, per_tenant);

    write(
        dir.path(),
        "tenants/platform.yaml",
        &format!("{}tenancy: {{roles: shared}}\n", platform_yaml(&p, &format!("{p}-api"), "")),
    );
    let o = run_ok(dir.path(), &ep, &["apply", "--auto-approve"], 0);
    let out = text(&o);
    assert!(out.contains(&format!("{p}-admin")), "{out}");
    run_ok(dir.path(), &ep, &["plan", "--detailed-exitcode"], 0);
    let want: BTreeSet<String> = ["admin", "member", "authorizer"].iter().map(|r| format!("{p}-{r}")).collect();
    assert_eq!(roles_of(&sdk, &p).await, want);
    // The per-tenant groups stay, now pointing at the shared roles; the authorizer hands them out.
    let pool = pool_id(&sdk, &p).await;
    let groups = groups_of(&sdk, &pool).await;
    assert_eq!(
        groups["acme-member"].as_deref(),
        Some(format!("arn:aws:iam::{ACCOUNT}:role/tenantctl/{p}/{p}-member").as_str())
    );
    let (config, file) = deployed_config(&sdk, &format!("{p}-authorizer")).await;
    assert_eq!(file["tenancy"], serde_json::json!({"groups": "per-tenant", "roles": "shared"}));
    assert_eq!(config.role_arn("acme", "member"), format!("arn:aws:iam::{ACCOUNT}:role/tenantctl/{p}/{p}-member"));

    // And back to per-tenant roles, in one apply too: the tenants' roles, then the groups and
    // the function pointing at them, then the shared roles deleted.
    write(dir.path(), "tenants/platform.yaml", &platform_yaml(&p, &format!("{p}-api"), ""));
    run_ok(dir.path(), &ep, &["apply", "--auto-approve"], 0);
    run_ok(dir.path(), &ep, &["plan", "--detailed-exitcode"], 0);
    assert_eq!(roles_of(&sdk, &p).await, per_tenant);
    let groups = groups_of(&sdk, &pool).await;
    assert_eq!(
        groups["acme-member"].as_deref(),
        Some(format!("arn:aws:iam::{ACCOUNT}:role/tenantctl/{p}/{p}-acme-member").as_str())
    );
    let (config, file) = deployed_config(&sdk, &format!("{p}-authorizer")).await;
    assert_eq!(file["tenancy"], serde_json::json!({"groups": "per-tenant", "roles": "per-tenant"}));
    assert_eq!(config.role_arn("acme", "member"), format!("arn:aws:iam::{ACCOUNT}:role/tenantctl/{p}/{p}-acme-member"));
}

/// Total AWS calls reported by `--stats` ("AWS calls: N (W writes)").
fn calls(o: &std::process::Output) -> u64 {
    let err = String::from_utf8_lossy(&o.stderr);
    let line = err.lines().find(|l| l.starts_with("AWS calls:")).unwrap_or_else(|| panic!("no stats in:\n{err}"));
    line["AWS calls:".len()..].split_whitespace().next().unwrap().parse().unwrap()
}

/// Issue 21: `n` pooled tenants with shared tenancy on an account whose IAM RolesQuota is the
/// default 1,000 (the strict emulator's): apply passes and IAM holds one role per platform role;
/// the converged plan costs at most 20 AWS calls whatever `n`; onboarding one more tenant with
/// `apply --tenant` is one package update in at most 10 calls; the authorizer built from the
/// deployed configuration allows the last tenant, denies an undeclared one, allows the tenant
/// just onboarded, and denies a tenant once the apply that removed its file (without
/// `--prune`) ran.
async fn pooled_tenants_on_shared_tenancy(n: usize) {
    let Some(ep) = endpoint() else { return };
    let sdk = sdk(&ep).await;
    let p = platform_name("k");
    let api = rest_api(&sdk, &format!("{p}-api")).await;
    let dir = folder_for(&format!("{}{SHARED}", platform_yaml(&p, &format!("{p}-api"), "")));
    shared_policies(dir.path());
    let id = |i: usize| format!("t{i:05}");
    for i in 0..n {
        write(dir.path(), &format!("tenants/{}.yaml", id(i)), &tenant_yaml(&id(i), "pooled", Some("member")));
    }
    run_ok(dir.path(), &ep, &["validate"], 0);
    run_ok(dir.path(), &ep, &["apply", "--auto-approve"], 0);
    let o = run_ok(dir.path(), &ep, &["plan", "--detailed-exitcode", "--stats"], 0);
    assert!(calls(&o) <= 20, "converged plan of {n} pooled tenants: {} calls\n{}", calls(&o), text(&o));
    eprintln!("{n} pooled tenants, shared tenancy: converged plan {} AWS calls", calls(&o));
    let want: BTreeSet<String> = ["admin", "member", "authorizer"].iter().map(|r| format!("{p}-{r}")).collect();
    assert_eq!(roles_of(&sdk, &p).await, want);

    // One more tenant: one package update.
    let new = id(n);
    write(dir.path(), &format!("tenants/{new}.yaml"), &tenant_yaml(&new, "pooled", Some("member")));
    let o = run_ok(dir.path(), &ep, &["apply", "--tenant", &new, "--auto-approve", "--stats"], 0);
    assert!(calls(&o) <= 10, "onboarding one pooled tenant: {} calls\n{}", calls(&o), text(&o));
    eprintln!("{n} pooled tenants, shared tenancy: apply --tenant of one more {} AWS calls", calls(&o));
    assert_eq!(calls_of(&o, "lambda:UpdateFunctionCode"), 1, "{}", text(&o));
    assert_eq!(writes(&o), 1, "{}", text(&o));
    run_ok(dir.path(), &ep, &["plan", "--detailed-exitcode"], 0);

    let (config, file) = deployed_config(&sdk, &format!("{p}-authorizer")).await;
    assert_eq!(file["tenants"].as_array().unwrap().len(), n + 1);
    let verifier = Arc::new(Verifier::new(config, Arc::new(HttpJwksFetcher::default()), Arc::new(SystemClock)));
    let method_arn = format!("arn:aws:execute-api:{REGION}:{ACCOUNT}:{api}/prod/GET/orders");
    let pool = pool_id(&sdk, &p).await;
    let clients = sdk.cognito.list_user_pool_clients().user_pool_id(&pool).send().await.unwrap();
    let client = clients.user_pool_clients()[0].client_id().unwrap().to_string();
    let last = id(n - 1);
    for (user, tenant) in [("lena", last.as_str()), ("nico", new.as_str())] {
        let token = user_token(&sdk, &pool, &client, user, tenant, "member").await;
        let (resp, _) = decide(&verifier, &token, &method_arn).await.unwrap_or_else(|d| panic!("{tenant} denied: {d}"));
        assert_eq!(resp["context"]["tenant_id"], tenant);
    }
    let stranger = user_token(&sdk, &pool, &client, "mallory", "zz999", "member").await;
    let deny = decide(&verifier, &stranger, &method_arn).await.expect_err("an undeclared tenant is denied");
    assert_eq!(deny.reason, DenyReason::UndeclaredTenant, "{deny}");

    // The last tenant's file goes; apply without --prune: its token no longer passes.
    std::fs::remove_file(dir.path().join(format!("tenants/{last}.yaml"))).unwrap();
    run_ok(dir.path(), &ep, &["apply", "--auto-approve"], 0);
    let (config, _) = deployed_config(&sdk, &format!("{p}-authorizer")).await;
    let verifier = Arc::new(Verifier::new(config, Arc::new(HttpJwksFetcher::default()), Arc::new(SystemClock)));
    let token = user_token(&sdk, &pool, &client, "lena2", &last, "member").await;
    let deny = decide(&verifier, &token, &method_arn).await.expect_err("an offboarded tenant is denied");
    assert_eq!(deny.reason, DenyReason::UndeclaredTenant, "{deny}");
}

/// The size (about 20 s against the emulator, debug build).
#[tokio::test(flavor = "multi_thread")]
async fn ten_thousand_pooled_tenants_on_shared_tenancy() {
    pooled_tenants_on_shared_tenancy(10_000).await;
}
