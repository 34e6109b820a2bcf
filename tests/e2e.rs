//! End to end against the emulator: apply, read back with our own SDK calls, re-plan to zero,
//! drift and repair, folder changes, fields tenantctl does not manage.

mod common;

use common::*;

fn tenants() -> Vec<(&'static str, &'static str, Option<&'static str>)> {
    vec![("acme", "pooled", None), ("globex", "pooled", Some("member")), ("initech", "silo", None)]
}

#[tokio::test(flavor = "multi_thread")]
async fn apply_creates_everything_then_replans_to_zero() {
    let Some(ep) = endpoint() else { return };
    let sdk = sdk(&ep).await;
    let p = platform_name("e");
    let api = rest_api(&sdk, &format!("{p}-api")).await;
    let dir = folder(&p, &format!("{p}-api"), &tenants());
    let d = dir.path();

    run_ok(d, &ep, &["apply", "--auto-approve"], 0);

    // Pools: shared and silo, tagged, tenant attribute immutable and never client-writable.
    let shared = pool_id(&sdk, &p).await;
    let silo = pool_id(&sdk, &format!("{p}-initech")).await;
    for (id, tenant) in [(&shared, None), (&silo, Some("initech"))] {
        let pool = sdk.cognito.describe_user_pool().user_pool_id(id).send().await.unwrap();
        let pool = pool.user_pool().unwrap();
        let tags = pool.user_pool_tags().unwrap();
        assert_eq!(tags.get("tenantctl:managed").map(String::as_str), Some("true"));
        assert_eq!(tags.get("tenantctl:platform"), Some(&p));
        assert_eq!(tags.get("owner").map(String::as_str), Some("platform-team"));
        assert_eq!(tags.get("tenant_id").map(String::as_str), tenant);
        let ta =
            pool.schema_attributes().iter().find(|a| a.name() == Some("custom:tenant_id")).expect("tenant attribute");
        assert_eq!(ta.mutable(), Some(false));
        assert!(pool.schema_attributes().iter().any(|a| a.name() == Some("custom:tier")));
        assert!(pool.admin_create_user_config().unwrap().allow_admin_create_user_only());
        let clients = sdk.cognito.list_user_pool_clients().user_pool_id(id).send().await.unwrap();
        assert_eq!(clients.user_pool_clients().len(), 1);
        let c = sdk
            .cognito
            .describe_user_pool_client()
            .user_pool_id(id)
            .client_id(clients.user_pool_clients()[0].client_id().unwrap())
            .send()
            .await
            .unwrap();
        let c = c.user_pool_client().unwrap();
        assert!(!c.write_attributes().is_empty(), "write attributes are explicit");
        assert!(!c.write_attributes().iter().any(|a| a == "custom:tenant_id"));
        assert!(c.read_attributes().iter().any(|a| a == "custom:tenant_id"));
        assert!(c.allowed_o_auth_scopes().iter().any(|s| s == &format!("https://api.{p}.example/orders.read")));
        let rs = sdk.cognito.list_resource_servers().user_pool_id(id).max_results(50).send().await.unwrap();
        assert_eq!(rs.resource_servers()[0].scopes().len(), 2);
    }
    // Groups point at the tenant's role.
    let groups = sdk.cognito.list_groups().user_pool_id(&shared).send().await.unwrap();
    let mut names: Vec<_> = groups.groups().iter().map(|g| g.group_name().unwrap().to_string()).collect();
    names.sort();
    assert_eq!(names, ["acme-admin", "acme-member", "globex-member"]);
    for g in groups.groups() {
        let name = g.group_name().unwrap();
        let (t, r) = name.rsplit_once('-').unwrap();
        assert_eq!(g.role_arn().unwrap(), format!("arn:aws:iam::{ACCOUNT}:role/tenantctl/{p}/{p}-{t}-{r}"));
    }
    // Roles: path, tags, trust pinned to the tenant, inline policies.
    for (t, r) in [("acme", "admin"), ("acme", "member"), ("globex", "member"), ("initech", "admin")] {
        let role = sdk.iam.get_role().role_name(format!("{p}-{t}-{r}")).send().await.unwrap();
        let role = role.role().unwrap();
        assert_eq!(role.path(), format!("/tenantctl/{p}/"));
        let tags: std::collections::HashMap<_, _> =
            role.tags().iter().map(|t| (t.key().to_string(), t.value().to_string())).collect();
        assert_eq!(tags["tenant_id"], t);
        assert_eq!(tags["tenantctl:managed"], "true");
        let trust = tenantctl::state::parse_policy_document(role.assume_role_policy_document().unwrap()).unwrap();
        let st = &trust["Statement"][0];
        assert_eq!(st["Condition"]["StringEquals"]["aws:RequestTag/tenant_id"], t);
        let actions = serde_json::to_string(&st["Action"]).unwrap();
        assert!(actions.contains("sts:AssumeRole") && actions.contains("sts:TagSession"));
        let pol = if r == "admin" { "tenant-data-rw" } else { "tenant-data-ro" };
        let doc = sdk.iam.get_role_policy().role_name(format!("{p}-{t}-{r}")).policy_name(pol).send().await.unwrap();
        let doc = tenantctl::state::parse_policy_document(doc.policy_document()).unwrap();
        assert!(doc.to_string().contains("${aws:PrincipalTag/tenant_id}"));
    }
    assert!(sdk.iam.get_role().role_name(format!("{p}-globex-admin")).send().await.is_err(), "globex has only member");
    // Authorizer, permission scoped to it, method guarded.
    let auths = sdk.apigw.get_authorizers().rest_api_id(&api).send().await.unwrap();
    let auth = auths.items().iter().find(|a| a.name() == Some("tenant-authorizer")).expect("authorizer");
    let auth_id = auth.id().unwrap();
    assert!(auth.authorizer_uri().unwrap().contains(&format!("function:{p}-authorizer/invocations")));
    let policy = sdk.lambda.get_policy().function_name(format!("{p}-authorizer")).send().await.unwrap();
    let policy: serde_json::Value = serde_json::from_str(policy.policy().unwrap()).unwrap();
    let st = &policy["Statement"].as_array().unwrap()[0];
    assert_eq!(
        st["Condition"]["ArnLike"]["AWS:SourceArn"],
        format!("arn:aws:execute-api:{REGION}:{ACCOUNT}:{api}/authorizers/{auth_id}")
    );
    let res = sdk.apigw.get_resources().rest_api_id(&api).send().await.unwrap();
    let orders = res.items().iter().find(|r| r.path() == Some("/orders")).unwrap();
    let m = sdk
        .apigw
        .get_method()
        .rest_api_id(&api)
        .resource_id(orders.id().unwrap())
        .http_method("GET")
        .send()
        .await
        .unwrap();
    assert_eq!(m.authorization_type(), Some("CUSTOM"));
    assert_eq!(m.authorizer_id(), Some(auth_id));

    // Converged: plan says nothing, a second apply writes nothing.
    run_ok(d, &ep, &["plan", "--detailed-exitcode"], 0);
    let again = run_ok(d, &ep, &["apply", "--auto-approve", "--stats"], 0);
    assert_eq!(writes(&again), 0, "{}", text(&again));
    run_ok(d, &ep, &["drift"], 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn saved_plans_apply_exactly_and_go_stale() {
    let Some(ep) = endpoint() else { return };
    let sdk = sdk(&ep).await;
    let p = platform_name("s");
    rest_api(&sdk, &format!("{p}-api")).await;
    let dir = folder(&p, &format!("{p}-api"), &[("acme", "pooled", None)]);
    let d = dir.path();
    let planfile = d.join("plan.json");
    let pf = planfile.to_str().unwrap();
    let o = run_ok(d, &ep, &["plan", "--out", pf, "--format", "json"], 0);
    let doc = json(&o);
    assert_eq!(doc["format_version"], 1);
    assert!(doc["summary"]["create"].as_u64().unwrap() > 5);
    // Without a terminal and without --auto-approve, apply refuses.
    let o = run_ok(d, &ep, &["apply"], 1);
    assert!(text(&o).contains("--auto-approve"));
    // The folder changes: the saved plan is stale.
    write(d, "tenants/zeta.yaml", &tenant_yaml("zeta", "pooled", None));
    let o = run_ok(d, &ep, &["apply", pf, "--auto-approve"], 1);
    assert!(text(&o).contains("stale plan"), "{}", text(&o));
    std::fs::remove_file(d.join("tenants/zeta.yaml")).unwrap();
    run_ok(d, &ep, &["apply", pf, "--auto-approve"], 0);
    // Applied: the same plan is now stale (AWS changed).
    let o = run_ok(d, &ep, &["apply", pf, "--auto-approve"], 1);
    assert!(text(&o).contains("stale plan"));
    run_ok(d, &ep, &["plan", "--detailed-exitcode"], 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn folder_changes_apply_in_place_and_users_survive() {
    let Some(ep) = endpoint() else { return };
    let sdk = sdk(&ep).await;
    let p = platform_name("f");
    rest_api(&sdk, &format!("{p}-api")).await;
    let dir = folder(&p, &format!("{p}-api"), &[("acme", "pooled", Some("member"))]);
    let d = dir.path();
    run_ok(d, &ep, &["apply", "--auto-approve"], 0);
    let pool = pool_id(&sdk, &p).await;
    sdk.cognito
        .admin_create_user()
        .user_pool_id(&pool)
        .username("alice")
        .user_attributes(
            aws_sdk_cognitoidentityprovider::types::AttributeType::builder()
                .name("custom:tenant_id")
                .value("acme")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    // A new tenant, a new role for acme, a new custom attribute.
    write(d, "tenants/zeta.yaml", &tenant_yaml("zeta", "pooled", None));
    write(d, "tenants/acme.yaml", &tenant_yaml("acme", "pooled", Some("admin, member")));
    write(
        d,
        "tenants/platform.yaml",
        &platform_yaml(&p, &format!("{p}-api"), "    - {name: plan, type: string, mutable: true}\n"),
    );
    let plan = run_ok(d, &ep, &["plan", "--format", "json"], 0);
    let plan = json(&plan);
    let changes = plan["changes"].as_array().unwrap();
    assert!(changes.iter().all(|c| c["resource"] != "user_pool" || c["action"] != "create"), "never a new pool");
    assert!(changes.iter().any(|c| c["resource"] == "custom_attribute" && c["name"] == "custom:plan"));
    run_ok(d, &ep, &["apply", "--auto-approve"], 0);
    assert_eq!(pool_id(&sdk, &p).await, pool, "same pool");
    let u = sdk.cognito.admin_get_user().user_pool_id(&pool).username("alice").send().await.unwrap();
    assert!(u.user_attributes().iter().any(|a| a.name() == "custom:tenant_id" && a.value() == Some("acme")));
    sdk.iam.get_role().role_name(format!("{p}-zeta-admin")).send().await.unwrap();
    sdk.iam.get_role().role_name(format!("{p}-acme-admin")).send().await.unwrap();
    run_ok(d, &ep, &["plan", "--detailed-exitcode"], 0);

    // Changing an attribute's type: plan fails naming it, and nothing is written.
    let text_before = std::fs::read_to_string(d.join("tenants/platform.yaml")).unwrap();
    write(
        d,
        "tenants/platform.yaml",
        &text_before.replace(
            "{name: tier, type: string, mutable: true, minLength: 1, maxLength: 32}",
            "{name: tier, type: number, mutable: true}",
        ),
    );
    let o = run_ok(d, &ep, &["plan", "--stats"], 1);
    assert!(text(&o).contains("custom:tier"), "{}", text(&o));
    assert_eq!(writes(&o), 0);
    let o = run_ok(d, &ep, &["apply", "--auto-approve", "--stats"], 1);
    assert!(text(&o).contains("custom:tier"));
    assert_eq!(writes(&o), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn unmanaged_fields_survive_updates() {
    let Some(ep) = endpoint() else { return };
    let sdk = sdk(&ep).await;
    let p = platform_name("u");
    rest_api(&sdk, &format!("{p}-api")).await;
    let dir = folder(&p, &format!("{p}-api"), &[("acme", "pooled", None)]);
    let d = dir.path();
    run_ok(d, &ep, &["apply", "--auto-approve"], 0);
    let pool = pool_id(&sdk, &p).await;
    // Out of band: a Lambda trigger and an email message on the pool; a default redirect on the client.
    let live = sdk.cognito.describe_user_pool().user_pool_id(&pool).send().await.unwrap();
    let live = live.user_pool().unwrap();
    let trigger = format!("arn:aws:lambda:{REGION}:{ACCOUNT}:function:presignup");
    sdk.cognito
        .update_user_pool()
        .user_pool_id(&pool)
        .set_policies(live.policies().cloned())
        .set_deletion_protection(live.deletion_protection().cloned())
        .set_admin_create_user_config(live.admin_create_user_config().cloned())
        .set_user_pool_tags(live.user_pool_tags().cloned())
        .lambda_config(
            aws_sdk_cognitoidentityprovider::types::LambdaConfigType::builder().pre_sign_up(&trigger).build(),
        )
        .email_verification_subject("Welcome to acme")
        .send()
        .await
        .unwrap();
    // Folder: a stricter password policy and a shorter access token: the pool and client update.
    let text_before = std::fs::read_to_string(d.join("tenants/platform.yaml")).unwrap();
    write(
        d,
        "tenants/platform.yaml",
        &text_before.replace("minLength: 12", "minLength: 14").replace("access: 60m", "access: 30m"),
    );
    let plan = json(&run_ok(d, &ep, &["plan", "--format", "json"], 0));
    let kinds: Vec<_> = plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["action"].as_str().unwrap().to_string(), c["resource"].as_str().unwrap().to_string()))
        .collect();
    assert!(kinds.contains(&("update".into(), "user_pool".into())), "{kinds:?}");
    assert!(kinds.contains(&("update".into(), "app_client".into())), "{kinds:?}");
    run_ok(d, &ep, &["apply", "--auto-approve"], 0);
    let after = sdk.cognito.describe_user_pool().user_pool_id(&pool).send().await.unwrap();
    let after = after.user_pool().unwrap();
    assert_eq!(after.lambda_config().and_then(|l| l.pre_sign_up()), Some(trigger.as_str()), "trigger survives");
    assert_eq!(after.email_verification_subject(), Some("Welcome to acme"));
    assert_eq!(after.policies().unwrap().password_policy().unwrap().minimum_length(), Some(14));
    run_ok(d, &ep, &["plan", "--detailed-exitcode"], 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failure_mid_apply_reports_done_and_not_done_and_a_rerun_converges() {
    let Some(ep) = endpoint() else { return };
    let sdk = sdk(&ep).await;
    let p = platform_name("m");
    rest_api(&sdk, &format!("{p}-api")).await;
    let dir = folder(&p, &format!("{p}-api"), &[("acme", "pooled", None)]);
    let d = dir.path();
    // The function's execution role does not exist: Lambda refuses it, after IAM and Cognito
    // are done.
    let good = std::fs::read_to_string(d.join("tenants/platform.yaml")).unwrap();
    let missing_role = format!("arn:aws:iam::{ACCOUNT}:role/does-not-exist");
    write(
        d,
        "tenants/platform.yaml",
        &good.replace(
            "    code: authorizer.zip\n",
            &format!("    code: authorizer.zip\n    role: \"{missing_role}\"\n"),
        ),
    );
    let o = run_ok(d, &ep, &["apply", "--auto-approve"], 1);
    let t = text(&o);
    assert!(t.contains("apply stopped:"), "{t}");
    assert!(t.contains("failed: lambda_function"), "{t}");
    assert!(t.contains("not attempted: create authorizer"), "{t}");
    assert!(t.contains("created group"), "earlier phases ran:\n{t}");
    // Fix the folder; a plain re-run converges.
    write(d, "tenants/platform.yaml", &good);
    run_ok(d, &ep, &["apply", "--auto-approve"], 0);
    run_ok(d, &ep, &["plan", "--detailed-exitcode"], 0);
    assert!(!pool_id(&sdk, &p).await.is_empty(), "exactly one pool");
}

#[tokio::test(flavor = "multi_thread")]
async fn destroy_offboards_one_tenant_and_guards_users() {
    let Some(ep) = endpoint() else { return };
    let sdk = sdk(&ep).await;
    let p = platform_name("x");
    rest_api(&sdk, &format!("{p}-api")).await;
    let dir = folder(
        &p,
        &format!("{p}-api"),
        &[("acme", "pooled", None), ("globex", "pooled", None), ("initech", "silo", None)],
    );
    let d = dir.path();
    run_ok(d, &ep, &["apply", "--auto-approve"], 0);
    // Without a terminal, destroy refuses to run unconfirmed.
    run_ok(d, &ep, &["destroy", "--tenant", "globex"], 1);
    run_ok(d, &ep, &["destroy", "--tenant", "globex", "--auto-approve"], 0);
    for r in ["admin", "member"] {
        assert!(sdk.iam.get_role().role_name(format!("{p}-globex-{r}")).send().await.is_err());
    }
    sdk.iam.get_role().role_name(format!("{p}-acme-admin")).send().await.expect("other tenants untouched");
    let shared = pool_id(&sdk, &p).await;
    let groups = sdk.cognito.list_groups().user_pool_id(&shared).send().await.unwrap();
    let names: Vec<_> = groups.groups().iter().filter_map(|g| g.group_name()).collect();
    assert!(!names.iter().any(|g| g.starts_with("globex-")), "{names:?}");
    assert!(names.contains(&"acme-admin"));

    // A silo pool with a user is kept unless --force-delete-users.
    let silo = pool_id(&sdk, &format!("{p}-initech")).await;
    sdk.cognito.admin_create_user().user_pool_id(&silo).username("bob").send().await.unwrap();
    let o = run_ok(d, &ep, &["destroy", "--tenant", "initech", "--auto-approve"], 1);
    assert!(text(&o).contains("--force-delete-users"), "{}", text(&o));
    sdk.cognito.describe_user_pool().user_pool_id(&silo).send().await.expect("pool kept");
    run_ok(d, &ep, &["destroy", "--tenant", "initech", "--auto-approve", "--force-delete-users"], 0);
    assert!(sdk.cognito.describe_user_pool().user_pool_id(&silo).send().await.is_err(), "pool deleted");
}

#[tokio::test(flavor = "multi_thread")]
async fn adopt_takes_over_a_role_with_the_contract_name() {
    let Some(ep) = endpoint() else { return };
    let sdk = sdk(&ep).await;
    let p = platform_name("a");
    rest_api(&sdk, &format!("{p}-api")).await;
    let dir = folder(&p, &format!("{p}-api"), &[("acme", "pooled", None)]);
    let d = dir.path();
    // Made by hand earlier: the right name and path, no tags, a loose trust policy.
    let loose = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{ACCOUNT}:root"}},"Action":"sts:AssumeRole"}}]}}"#
    );
    sdk.iam
        .create_role()
        .role_name(format!("{p}-acme-admin"))
        .path(format!("/tenantctl/{p}/"))
        .assume_role_policy_document(&loose)
        .send()
        .await
        .unwrap();
    let o = run_ok(d, &ep, &["apply", "--auto-approve"], 1);
    assert!(text(&o).contains("tenantctl adopt"), "{}", text(&o));
    let o = run_ok(d, &ep, &["adopt", "--tenant", "acme", "--auto-approve"], 0);
    assert!(text(&o).contains(&format!("Adopting: {p}-acme-admin")), "{}", text(&o));
    let role = sdk.iam.get_role().role_name(format!("{p}-acme-admin")).send().await.unwrap();
    let role = role.role().unwrap();
    assert!(role.tags().iter().any(|t| t.key() == "tenantctl:managed" && t.value() == "true"));
    let trust = tenantctl::state::parse_policy_document(role.assume_role_policy_document().unwrap()).unwrap();
    assert_eq!(trust["Statement"][0]["Condition"]["StringEquals"]["aws:RequestTag/tenant_id"], "acme");
    run_ok(d, &ep, &["apply", "--auto-approve"], 0);
    run_ok(d, &ep, &["plan", "--detailed-exitcode"], 0);
    // A role with the contract name at another path cannot be adopted.
    write(d, "tenants/zeta.yaml", &tenant_yaml("zeta", "pooled", None));
    sdk.iam
        .create_role()
        .role_name(format!("{p}-zeta-admin"))
        .path("/elsewhere/")
        .assume_role_policy_document(&loose)
        .send()
        .await
        .unwrap();
    let o = run_ok(d, &ep, &["adopt", "--tenant", "zeta", "--auto-approve"], 1);
    assert!(text(&o).contains("cannot be adopted"), "{}", text(&o));
}

/// Issue 23 (item 9): a managed pool that lost its tags out of band is never shadowed. `plan`,
/// `apply` and `drift` stop before any write, naming the pool id and the way back; `adopt
/// --tenant` takes the silo pool back and `adopt --platform` the shared one, after which the
/// folder plans clean and each name still has one pool (its users kept).
#[tokio::test(flavor = "multi_thread")]
async fn a_pool_that_lost_its_tags_is_never_shadowed() {
    let Some(ep) = endpoint() else { return };
    let sdk = sdk(&ep).await;
    let p = platform_name("u");
    rest_api(&sdk, &format!("{p}-api")).await;
    let dir = folder(&p, &format!("{p}-api"), &[("acme", "pooled", None), ("initech", "silo", None)]);
    let d = dir.path();
    run_ok(d, &ep, &["apply", "--auto-approve"], 0);
    let shared = pool_id(&sdk, &p).await;
    let silo = pool_id(&sdk, &format!("{p}-initech")).await;
    sdk.cognito.admin_create_user().user_pool_id(&shared).username("alice").send().await.unwrap();
    for id in [&shared, &silo] {
        let arn = format!("arn:aws:cognito-idp:{REGION}:{ACCOUNT}:userpool/{id}");
        let tags = sdk.cognito.list_tags_for_resource().resource_arn(&arn).send().await.unwrap();
        let keys: Vec<String> = tags.tags().map(|t| t.keys().cloned().collect()).unwrap_or_default();
        assert!(!keys.is_empty());
        sdk.cognito.untag_resource().resource_arn(&arn).set_tag_keys(Some(keys)).send().await.unwrap();
    }
    for cmd in [&["plan"][..], &["apply", "--auto-approve"], &["drift"]] {
        let o = run_ok(d, &ep, cmd, 1);
        let out = text(&o);
        assert!(out.contains(&shared) && out.contains("tenantctl adopt --platform"), "{cmd:?}: {out}");
        assert!(out.contains(&silo) && out.contains("tenantctl adopt --tenant initech"), "{cmd:?}: {out}");
    }
    assert_eq!(pools_named(&sdk, &p).await, [shared.as_str()]);
    assert_eq!(pools_named(&sdk, &format!("{p}-initech")).await, [silo.as_str()]);
    // The way back.
    let o = run_ok(d, &ep, &["adopt", "--tenant", "initech", "--auto-approve"], 0);
    assert!(text(&o).contains(&format!("Adopting: {p}-initech")), "{}", text(&o));
    let o = run_ok(d, &ep, &["adopt", "--platform", "--auto-approve"], 0);
    assert!(text(&o).contains(&format!("Adopting: {p}")), "{}", text(&o));
    run_ok(d, &ep, &["plan", "--detailed-exitcode"], 0);
    assert_eq!(pools_named(&sdk, &p).await, [shared.as_str()]);
    assert_eq!(pools_named(&sdk, &format!("{p}-initech")).await, [silo.as_str()]);
    let tags = sdk.cognito.describe_user_pool().user_pool_id(&shared).send().await.unwrap();
    let tags = tags.user_pool().unwrap().user_pool_tags().unwrap();
    assert_eq!(tags.get("tenantctl:managed").map(String::as_str), Some("true"));
    sdk.cognito.admin_get_user().user_pool_id(&shared).username("alice").send().await.expect("alice kept");
}

/// A plan file written by an earlier tenantctl (before the `replace` count existed in its
/// summary) still applies; it is read into the typed saved plan, not indexed as raw JSON.
#[tokio::test(flavor = "multi_thread")]
async fn an_old_format_saved_plan_still_applies() {
    let Some(ep) = endpoint() else { return };
    let sdk = sdk(&ep).await;
    let p = platform_name("o");
    rest_api(&sdk, &format!("{p}-api")).await;
    let dir = folder(&p, &format!("{p}-api"), &[("acme", "pooled", None)]);
    let d = dir.path();
    let planfile = d.join("old-plan.json");
    let pf = planfile.to_str().unwrap();
    run_ok(d, &ep, &["plan", "--out", pf], 0);
    let mut doc: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&planfile).unwrap()).unwrap();
    let summary = doc["summary"].as_object_mut().unwrap();
    summary.remove("replace");
    assert_eq!(summary.keys().collect::<Vec<_>>(), ["create", "delete", "update"]);
    std::fs::write(&planfile, serde_json::to_string_pretty(&doc).unwrap()).unwrap();
    let o = run_ok(d, &ep, &["apply", pf, "--auto-approve"], 0);
    assert!(text(&o).contains("Apply complete"), "{}", text(&o));
    run_ok(d, &ep, &["plan", "--detailed-exitcode"], 0);
}

/// Group names parse one way everywhere (`state::parse_group`): with tenants `acme` and
/// `acme-corp` sharing the pool, inventory and destroy of `acme` see only `acme-<role>`,
/// never `acme-corp-<role>`.
#[tokio::test(flavor = "multi_thread")]
async fn inventory_and_destroy_tell_a_tenant_from_one_whose_id_extends_it() {
    let Some(ep) = endpoint() else { return };
    let sdk = sdk(&ep).await;
    let p = platform_name("g");
    rest_api(&sdk, &format!("{p}-api")).await;
    let dir = folder(&p, &format!("{p}-api"), &[("acme", "pooled", None), ("acme-corp", "pooled", None)]);
    let d = dir.path();
    run_ok(d, &ep, &["apply", "--auto-approve"], 0);
    let inv = json(&run_ok(d, &ep, &["inventory", "--tenant", "acme", "--format", "json"], 0));
    let rows = inv["resources"].as_array().unwrap();
    let groups: Vec<&str> =
        rows.iter().filter(|r| r["resource"] == "group").filter_map(|r| r["name"].as_str()).collect();
    assert_eq!(groups, ["acme-admin", "acme-member"], "{inv:#}");
    assert!(rows.iter().all(|r| r["tenant"] == "acme"), "{inv:#}");
    let all = json(&run_ok(d, &ep, &["inventory", "--format", "json"], 0));
    let corp = all["resources"].as_array().unwrap().iter().filter(|r| r["name"] == "acme-corp-admin").count();
    assert_eq!(corp, 1, "acme-corp's group belongs to acme-corp: {all:#}");

    std::fs::remove_file(d.join("tenants/acme.yaml")).unwrap();
    let o = run_ok(d, &ep, &["destroy", "--tenant", "acme", "--auto-approve"], 0);
    assert!(!text(&o).contains("acme-corp"), "{}", text(&o));
    let shared = pool_id(&sdk, &p).await;
    let listed = sdk.cognito.list_groups().user_pool_id(&shared).send().await.unwrap();
    let mut names: Vec<_> = listed.groups().iter().filter_map(|g| g.group_name()).collect();
    names.sort_unstable();
    assert_eq!(names, ["acme-corp-admin", "acme-corp-member"]);
    // Nothing of acme is left, nothing of acme-corp changes.
    run_ok(d, &ep, &["plan", "--detailed-exitcode"], 0);
}

/// Issue 21 (300 silo tenants at the quota floor): a pool and a client this apply creates are
/// checked for twins after their create (two looks each), and nothing is read that they cannot
/// hold yet: no `GetUserPoolMfaConfig` before setting a new pool's MFA, no client listing
/// before a client's create. Before, each new pool cost one `GetUserPoolMfaConfig` and each
/// new client three `ListUserPoolClients`.
#[tokio::test(flavor = "multi_thread")]
async fn new_pools_and_clients_read_only_their_twin_checks() {
    let Some(ep) = endpoint() else { return };
    let sdk = sdk(&ep).await;
    let p = platform_name("tw");
    rest_api(&sdk, &format!("{p}-api")).await;
    let dir = folder_for(&platform_yaml(&p, &format!("{p}-api"), "").replace("mfa: off", "mfa: optional"));
    for id in ["s1", "s2"] {
        write(dir.path(), &format!("tenants/{id}.yaml"), &tenant_yaml(id, "silo", None));
    }
    let d = dir.path();
    let o = run_ok(d, &ep, &["apply", "--auto-approve", "--stats"], 0);
    // Two silo pools (no pooled tenant: no shared pool), a client in each.
    assert_eq!(calls_of(&o, "cognito-idp:CreateUserPool"), 2, "{}", text(&o));
    assert_eq!(calls_of(&o, "cognito-idp:SetUserPoolMfaConfig"), 2, "{}", text(&o));
    assert_eq!(calls_of(&o, "cognito-idp:GetUserPoolMfaConfig"), 0, "{}", text(&o));
    assert_eq!(calls_of(&o, "cognito-idp:CreateUserPoolClient"), 2, "{}", text(&o));
    assert_eq!(calls_of(&o, "cognito-idp:ListUserPoolClients"), 4, "{}", text(&o));
    for pool in [format!("{p}-s1"), format!("{p}-s2")] {
        let id = pool_id(&sdk, &pool).await;
        let mfa = sdk.cognito.get_user_pool_mfa_config().user_pool_id(&id).send().await.unwrap();
        assert_eq!(mfa.mfa_configuration().map(|m| m.as_str()), Some("OPTIONAL"), "{pool}");
        let clients = sdk.cognito.list_user_pool_clients().user_pool_id(&id).send().await.unwrap();
        assert_eq!(clients.user_pool_clients().len(), 1, "{pool}");
    }
    run_ok(d, &ep, &["plan", "--detailed-exitcode"], 0);
}

/// Issue 21: a converged plan reads what lives in each silo pool (groups, clients, resource
/// servers) as soon as that pool is described, not after every pool is: in the emulator's
/// request log, some pool's children are requested before the last pool is described. The
/// calls are the same as reading kind after kind: one DescribeUserPool, ListGroups,
/// ListResourceServers, ListUserPoolClients and DescribeUserPoolClient per pool.
#[tokio::test(flavor = "multi_thread")]
async fn a_plan_reads_pool_children_while_pools_are_described() {
    let Some(ep) = endpoint() else { return };
    let sdk = sdk(&ep).await;
    let p = platform_name("ov");
    rest_api(&sdk, &format!("{p}-api")).await;
    let silo: Vec<String> = (0..8).map(|i| format!("s{i}")).collect();
    let tenants: Vec<(&str, &str, Option<&str>)> = silo.iter().map(|t| (t.as_str(), "silo", None)).collect();
    let dir = folder(&p, &format!("{p}-api"), &tenants);
    let d = dir.path();
    run_ok(d, &ep, &["apply", "--auto-approve"], 0);
    let mut pools = std::collections::BTreeSet::new();
    for t in &silo {
        pools.insert(pool_id(&sdk, &format!("{p}-{t}")).await);
    }
    // The emulator's strict layer logs every Cognito request with its pool (the emulator is
    // shared: only this platform's pools, from here on). UserPoolRead's 15/s spreads the 8
    // DescribeUserPool over about 0.47 s: room for the first pool's answer and its
    // children's requests.
    let seen = control(&ep, "GET", "/_tenantctl/strict/log", None)["requests"].as_array().unwrap().len();
    let o = run_ok(d, &ep, &["--stats", "plan", "--detailed-exitcode"], 0);
    let log = control(&ep, "GET", "/_tenantctl/strict/log", None);
    let ours: Vec<(f64, String, String)> = log["requests"].as_array().unwrap()[seen..]
        .iter()
        .filter(|r| r["pool"].as_str().is_some_and(|id| pools.contains(id)))
        .map(|r| (r["t"].as_f64().unwrap(), r["operation"].as_str().unwrap().to_string(), r["pool"].to_string()))
        .collect();
    let count = |op: &str| ours.iter().filter(|(_, o, _)| o == op).count();
    let children = ["ListGroups", "ListResourceServers", "ListUserPoolClients", "DescribeUserPoolClient"];
    for op in ["DescribeUserPool"].iter().chain(&children) {
        assert_eq!(count(op), silo.len(), "{op} per pool: {ours:?}");
        assert_eq!(calls_of(&o, &format!("cognito-idp:{op}")), silo.len() as u64, "{}", text(&o));
    }
    let last_described =
        ours.iter().filter(|(_, o, _)| o == "DescribeUserPool").map(|(t, ..)| *t).fold(f64::MIN, f64::max);
    let first_child =
        ours.iter().filter(|(_, o, _)| children.contains(&o.as_str())).map(|(t, ..)| *t).fold(f64::MAX, f64::min);
    assert!(
        first_child < last_described,
        "no pool's children were read before the last pool was described (first child read {:.3} s after it): {ours:?}",
        first_child - last_described
    );
}
