//! Issue 14 (contract §1.6) against the emulator: tiers and per-tenant API throttling. A folder
//! with two tiers and five tenants applies; the test reads back with its own SDK calls the two
//! usage plans with their limits, the five keys each in its tier's plan, `apiKeySource`
//! AUTHORIZER and `apiKeyRequired` on the guarded method; plan converges and a second apply
//! writes nothing. The authorizer, configured from the package apply deployed, answers a
//! real token of each tenant with that tenant's key. A tier move keeps the key; out-of-band
//! changes are reported by drift and repaired by apply; no key value is ever printed or saved.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use aws_sdk_apigateway::types::{Op, PatchOperation};
use common::*;
use tenantctl_authorizer::keys::{Credentials, HttpKeyLister};
use tenantctl_authorizer::{authorize, HttpJwksFetcher, SystemClock, TokenAuthorizerEvent, Verifier};

const TENANTS: [(&str, &str); 5] =
    [("acme", "basic"), ("globex", "basic"), ("initech", "basic"), ("umbrella", "gold"), ("hooli", "gold")];

fn platform_text(p: &str, api: &str) -> String {
    format!(
        "{}  stage: prod\ntiers:\n  basic: {{isolation: pooled, throttle: {{rateLimit: 10, burstLimit: 20}}, quota: {{limit: 100000, period: MONTH}}}}\n  gold: {{isolation: pooled, throttle: {{rateLimit: 100, burstLimit: 200}}}}\napiUsage: {{restApi: {api}, stage: prod}}\n",
        platform_yaml(p, api, "")
    )
}

fn tenant_text(id: &str, tier: &str) -> String {
    format!("{}tier: {tier}\n", tenant_yaml(id, "pooled", None))
}

/// The folder: two tiers, five tenants.
fn tiers_folder(p: &str, api: &str) -> tempfile::TempDir {
    let dir = folder_for(&platform_text(p, api));
    for (t, tier) in TENANTS {
        write(dir.path(), &format!("tenants/{t}.yaml"), &tenant_text(t, tier));
    }
    dir
}

/// A REST API with GET /orders and a mock integration (a deployment needs one); no stage yet:
/// apply creates `prod` (authorizer.stage) and attaches the plans to it after.
async fn metered_api(sdk: &Sdk, name: &str) -> String {
    let api = rest_api(sdk, name).await;
    mock_integration(sdk, &api, "/orders", "GET").await;
    api
}

/// Usage plans named `<p>-<tier>`: name -> (id, plan).
async fn plans(sdk: &Sdk, p: &str) -> BTreeMap<String, aws_sdk_apigateway::types::UsagePlan> {
    let out = sdk.apigw.get_usage_plans().limit(500).send().await.unwrap();
    out.items()
        .iter()
        .filter(|u| u.name().is_some_and(|n| n.starts_with(&format!("{p}-"))))
        .map(|u| (u.name().unwrap().to_string(), u.clone()))
        .collect()
}

/// The platform's API keys by name: (id, enabled, tenant_id tag).
async fn keys(sdk: &Sdk, p: &str) -> BTreeMap<String, (String, bool, Option<String>)> {
    let out = sdk.apigw.get_api_keys().limit(500).include_values(false).send().await.unwrap();
    out.items()
        .iter()
        .filter(|k| k.name().is_some_and(|n| n.starts_with(&format!("{p}-"))))
        .map(|k| {
            let tenant = k.tags().and_then(|t| t.get("tenant_id")).cloned();
            (k.name().unwrap().to_string(), (k.id().unwrap().to_string(), k.enabled(), tenant))
        })
        .collect()
}

/// Key names in a usage plan.
async fn plan_key_names(sdk: &Sdk, plan_id: &str) -> BTreeSet<String> {
    let out = sdk.apigw.get_usage_plan_keys().usage_plan_id(plan_id).limit(500).send().await.unwrap();
    out.items().iter().filter_map(|k| k.name().map(str::to_string)).collect()
}

async fn key_value(sdk: &Sdk, id: &str) -> String {
    sdk.apigw.get_api_key().api_key(id).include_value(true).send().await.unwrap().value().unwrap().to_string()
}

/// Every text tenantctl printed, for the no-key-value check.
fn all_text(outputs: &[&std::process::Output]) -> String {
    outputs.iter().map(|o| text(o)).collect::<Vec<_>>().join("\n")
}

#[tokio::test(flavor = "multi_thread")]
async fn two_tiers_five_tenants_apply_read_back_converge_and_meter_through_the_authorizer() {
    let Some(ep) = endpoint() else { return };
    let sdk = sdk(&ep).await;
    let p = platform_name("t");
    let api = metered_api(&sdk, &format!("{p}-api")).await;
    let dir = tiers_folder(&p, &format!("{p}-api"));
    let d = dir.path();
    run_ok(d, &ep, &["validate"], 0);
    let plan_file = d.join("plan.json");
    let planned = run_ok(d, &ep, &["plan", "--out", plan_file.to_str().unwrap(), "--format", "json"], 0);
    let applied = run_ok(d, &ep, &["apply", "--auto-approve", "--stats"], 0);

    // Two usage plans with the declared limits, each on the stage.
    let plans = plans(&sdk, &p).await;
    assert_eq!(plans.keys().cloned().collect::<Vec<_>>(), [format!("{p}-basic"), format!("{p}-gold")]);
    let basic = &plans[&format!("{p}-basic")];
    let gold = &plans[&format!("{p}-gold")];
    assert_eq!(basic.throttle().map(|t| (t.rate_limit(), t.burst_limit())), Some((10.0, 20)));
    let q = basic.quota().expect("basic has a quota");
    assert_eq!((q.limit(), q.period().map(|p| p.as_str())), (100000, Some("MONTH")));
    assert_eq!(gold.throttle().map(|t| (t.rate_limit(), t.burst_limit())), Some((100.0, 200)));
    assert!(gold.quota().is_none_or(|q| q.limit() == 0), "gold declares no quota: {:?}", gold.quota());
    for plan in [basic, gold] {
        let stages: Vec<(String, String)> = plan
            .api_stages()
            .iter()
            .map(|s| (s.api_id().unwrap().to_string(), s.stage().unwrap().to_string()))
            .collect();
        assert_eq!(stages, [(api.clone(), "prod".to_string())], "{:?}", plan.name());
        assert_eq!(plan.tags().and_then(|t| t.get("tenantctl:managed")).map(String::as_str), Some("true"));
    }

    // Five keys, tagged with their tenant, each in its tier's plan.
    let keys = keys(&sdk, &p).await;
    assert_eq!(keys.len(), 5, "{keys:?}");
    for (t, _) in TENANTS {
        let (_, enabled, tag) = &keys[&format!("{p}-{t}")];
        assert!(*enabled);
        assert_eq!(tag.as_deref(), Some(t));
    }
    let names = |tier: &str| -> BTreeSet<String> {
        TENANTS.iter().filter(|(_, x)| *x == tier).map(|(t, _)| format!("{p}-{t}")).collect()
    };
    assert_eq!(plan_key_names(&sdk, basic.id().unwrap()).await, names("basic"));
    assert_eq!(plan_key_names(&sdk, gold.id().unwrap()).await, names("gold"));

    // apiKeySource AUTHORIZER; the guarded method requires a key (in the draft and as served).
    let rest = sdk.apigw.get_rest_api().rest_api_id(&api).send().await.unwrap();
    assert_eq!(rest.api_key_source().map(|s| s.as_str()), Some("AUTHORIZER"));
    let res = sdk.apigw.get_resources().rest_api_id(&api).send().await.unwrap();
    let orders = res.items().iter().find(|r| r.path() == Some("/orders")).unwrap().id().unwrap().to_string();
    let m = sdk.apigw.get_method().rest_api_id(&api).resource_id(&orders).http_method("GET").send().await.unwrap();
    assert_eq!(m.api_key_required(), Some(true));
    assert_eq!(m.authorization_type(), Some("CUSTOM"));

    // Converged: plan shows nothing, a second apply writes nothing.
    run_ok(d, &ep, &["plan", "--detailed-exitcode"], 0);
    let again = run_ok(d, &ep, &["apply", "--auto-approve", "--stats"], 0);
    assert_eq!(writes(&again), 0, "{}", text(&again));
    let drift = run_ok(d, &ep, &["drift", "--format", "json"], 0);
    let inventory = run_ok(d, &ep, &["inventory", "--format", "json"], 0);
    let inv = json(&inventory);
    let inv_kinds: BTreeSet<&str> =
        inv["resources"].as_array().into_iter().flatten().filter_map(|r| r["resource"].as_str()).collect();
    assert!(inv_kinds.contains("api_key") && inv_kinds.contains("usage_plan"), "{inv}");

    // The authorizer, from the configuration apply deployed, names each tenant's own key.
    let (config, file) = deployed_config(&sdk, &format!("{p}-authorizer")).await;
    let plan_ids: BTreeSet<&str> = file["usagePlans"].as_array().unwrap().iter().filter_map(|v| v.as_str()).collect();
    assert_eq!(plan_ids, BTreeSet::from([basic.id().unwrap(), gold.id().unwrap()]));
    // The Lambda signs with its runtime credentials; here the test's.
    let lister =
        HttpKeyLister::new(config.apigw_endpoint.clone(), config.region.clone()).with_credentials(Credentials {
            access_key_id: "test".into(),
            secret_access_key: "test".into(),
            session_token: None,
        });
    let verifier = Arc::new(
        Verifier::new(config, Arc::new(HttpJwksFetcher::default()), Arc::new(SystemClock))
            .with_key_lister(Arc::new(lister)),
    );
    let pool = pool_id(&sdk, &p).await;
    let clients = sdk.cognito.list_user_pool_clients().user_pool_id(&pool).send().await.unwrap();
    let client_id = clients.user_pool_clients()[0].client_id().unwrap().to_string();
    let method_arn = format!("arn:aws:execute-api:{REGION}:{ACCOUNT}:{api}/prod/GET/orders");
    let mut values = BTreeMap::new();
    for (t, _) in TENANTS {
        values.insert(t, key_value(&sdk, &keys[&format!("{p}-{t}")].0).await);
    }
    for tenant in ["acme", "umbrella"] {
        let token = sign_in(&sdk, &pool, &client_id, tenant).await;
        let event: TokenAuthorizerEvent = serde_json::from_value(serde_json::json!({
            "type": "TOKEN", "authorizationToken": format!("Bearer {token}"), "methodArn": method_arn,
        }))
        .unwrap();
        let v = verifier.clone();
        let (resp, verified) = tokio::task::spawn_blocking(move || authorize(&v, &event))
            .await
            .unwrap()
            .unwrap_or_else(|d| panic!("{tenant} denied: {d}"));
        assert_eq!(verified.tenant_id, tenant);
        let resp = serde_json::to_value(resp).unwrap();
        assert_eq!(resp["policyDocument"]["Statement"][0]["Effect"], "Allow");
        assert_eq!(resp["usageIdentifierKey"], values[tenant], "{tenant} is metered with its own key");
    }

    // No key value in anything tenantctl printed or saved.
    let saved = std::fs::read_to_string(&plan_file).unwrap();
    let printed = all_text(&[&planned, &applied, &again, &drift, &inventory]);
    for (t, v) in &values {
        assert!(!saved.contains(v.as_str()), "{t}'s key value in the plan file");
        assert!(!printed.contains(v.as_str()), "{t}'s key value in the output");
    }
}

/// A user of `tenant` in `<tenant>-member`, signed in; its ID token.
async fn sign_in(sdk: &Sdk, pool: &str, client_id: &str, tenant: &str) -> String {
    let user = format!("user-{tenant}");
    create_user(sdk, pool, &user, tenant, &[&format!("{tenant}-member")]).await;
    id_token_of(sdk, client_id, &user).await
}

fn drift_items(dir: &std::path::Path, ep: &str) -> Vec<(String, String)> {
    let o = run_ok(dir, ep, &["drift", "--format", "json"], 2);
    json(&o)["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (i["kind"].as_str().unwrap().to_string(), i["address"].as_str().unwrap().to_string()))
        .collect()
}

fn replace(path: &str, value: &str) -> PatchOperation {
    PatchOperation::builder().op(Op::Replace).path(path).value(value).build()
}

#[tokio::test(flavor = "multi_thread")]
async fn tier_moves_keep_the_key_drift_is_repaired_and_destroy_deletes_the_key() {
    let Some(ep) = endpoint() else { return };
    let sdk = sdk(&ep).await;
    let p = platform_name("u");
    let api = metered_api(&sdk, &format!("{p}-api")).await;
    let dir = tiers_folder(&p, &format!("{p}-api"));
    let d = dir.path();
    run_ok(d, &ep, &["apply", "--auto-approve"], 0);
    let plans = plans(&sdk, &p).await;
    let basic = plans[&format!("{p}-basic")].id().unwrap().to_string();
    let gold = plans[&format!("{p}-gold")].id().unwrap().to_string();
    let acme_key = keys(&sdk, &p).await[&format!("{p}-acme")].0.clone();
    let _ = api;

    // acme moves from basic to gold: one change, the same key, now in gold only.
    write(d, "tenants/acme.yaml", &tenant_text("acme", "gold"));
    let plan = json(&run_ok(d, &ep, &["plan", "--format", "json"], 0));
    let changes: Vec<(String, String)> = plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["action"].as_str().unwrap().to_string(), c["address"].as_str().unwrap().to_string()))
        .collect();
    assert_eq!(changes, [("update".to_string(), "tenant/acme/usage_plan_key".to_string())], "{plan}");
    run_ok(d, &ep, &["apply", "--auto-approve"], 0);
    assert_eq!(keys(&sdk, &p).await[&format!("{p}-acme")].0, acme_key, "the key id stays");
    assert!(plan_key_names(&sdk, &gold).await.contains(&format!("{p}-acme")));
    assert!(!plan_key_names(&sdk, &basic).await.contains(&format!("{p}-acme")));
    run_ok(d, &ep, &["drift"], 0);

    // Out-of-band changes, one at a time: reported by drift, repaired by apply.
    let globex_key = keys(&sdk, &p).await[&format!("{p}-globex")].0.clone();
    for case in 0..4 {
        let expected: (&str, String) = match case {
            0 => {
                sdk.apigw.delete_usage_plan_key().usage_plan_id(&basic).key_id(&globex_key).send().await.unwrap();
                ("missing", "tenant/globex/usage_plan_key".into())
            }
            1 => {
                sdk.apigw
                    .update_usage_plan()
                    .usage_plan_id(&basic)
                    .patch_operations(replace("/throttle/rateLimit", "500"))
                    .send()
                    .await
                    .unwrap();
                ("changed", "platform/usage_plan/basic".into())
            }
            2 => {
                sdk.apigw
                    .update_api_key()
                    .api_key(&globex_key)
                    .patch_operations(replace("/enabled", "false"))
                    .send()
                    .await
                    .unwrap();
                ("changed", "tenant/globex/api_key".into())
            }
            _ => {
                let extra =
                    sdk.apigw.create_api_key().name(format!("{p}-intruder")).enabled(true).send().await.unwrap();
                let id = extra.id().unwrap().to_string();
                sdk.apigw
                    .create_usage_plan_key()
                    .usage_plan_id(&basic)
                    .key_id(&id)
                    .key_type("API_KEY")
                    .send()
                    .await
                    .unwrap();
                ("unexpected", format!("platform/usage_plan/basic/key/{id}"))
            }
        };
        let found = drift_items(d, &ep);
        assert_eq!(found, [(expected.0.to_string(), expected.1.clone())], "case {case}");
        run_ok(d, &ep, &["apply", "--auto-approve"], 0);
        run_ok(d, &ep, &["drift"], 0);
    }
    let basic_plan = sdk.apigw.get_usage_plan().usage_plan_id(&basic).send().await.unwrap();
    assert_eq!(basic_plan.throttle().map(|t| t.rate_limit()), Some(10.0));
    assert!(keys(&sdk, &p).await[&format!("{p}-globex")].1, "enabled again");
    assert_eq!(
        plan_key_names(&sdk, &basic).await,
        BTreeSet::from([format!("{p}-globex"), format!("{p}-initech")]),
        "the intruder is out of the tier's plan"
    );

    // Offboarding: destroy deletes the tenant's key (and so its membership).
    run_ok(d, &ep, &["destroy", "--tenant", "initech", "--auto-approve"], 0);
    assert!(!keys(&sdk, &p).await.contains_key(&format!("{p}-initech")));
    assert!(!plan_key_names(&sdk, &basic).await.contains(&format!("{p}-initech")));
}

/// Calls reported by `--stats` ("AWS calls: N (W writes)").
fn calls(o: &std::process::Output) -> u64 {
    let err = String::from_utf8_lossy(&o.stderr);
    let line = err.lines().find(|l| l.starts_with("AWS calls:")).unwrap_or_else(|| panic!("no stats in:\n{err}"));
    line.trim_start_matches("AWS calls:").split_whitespace().next().unwrap().parse().unwrap()
}

/// Issue 14's scale row (BENCHMARKS.md): 1,000 pooled tenants in two tiers (one role each, so
/// the setup fits the strict emulator's per-pool pacing), on an emulator of its own with the
/// roles quota raised. The setup apply runs at the real rates: 1,000 `CreateApiKey` at 5 per
/// second take at least 200 s. Then a converged `plan` makes at most 70 AWS calls.
/// Ignored (about 5 minutes): `cargo test --test tiers -- --ignored --nocapture`.
#[tokio::test(flavor = "multi_thread")]
#[ignore]
async fn thousand_pooled_tenants_in_two_tiers_plan_in_at_most_70_calls() {
    let em = PrivateEmulator::start();
    em.control("POST", "/_tenantctl/strict", Some(&serde_json::json!({"roles_quota": 5000})));
    let ep = em.endpoint.clone();
    let sdk = sdk(&ep).await;
    let p = platform_name("k");
    let api = metered_api(&sdk, &format!("{p}-api")).await;
    let _ = api;
    let dir = folder_for(&platform_text(&p, &format!("{p}-api")));
    let d = dir.path();
    for i in 0..1000 {
        let t = format!("t{i:05}");
        let tier = if i % 2 == 0 { "basic" } else { "gold" };
        let text = format!(
            "apiVersion: tenantctl/v1\nkind: Tenant\nid: {t}\nroles: [member]\nvars: {{bucket: data-{t}}}\ntier: {tier}\n"
        );
        write(d, &format!("tenants/{t}.yaml"), &text);
    }
    let started = std::time::Instant::now();
    let setup = run_ok(d, &ep, &["apply", "--auto-approve", "--stats"], 0);
    let setup_s = started.elapsed().as_secs_f64();
    let keys = sdk.apigw.get_api_keys().limit(500).send().await.unwrap().items().len();
    assert!(keys >= 1000, "{keys} keys");
    assert!(setup_s >= 199.0, "1,000 CreateApiKey at 5/s take at least 199 s, not {setup_s:.1}");
    let started = std::time::Instant::now();
    let plan = run_ok(d, &ep, &["plan", "--detailed-exitcode", "--stats"], 0);
    let plan_s = started.elapsed().as_secs_f64();
    let n = calls(&plan);
    eprintln!(
        "BENCH 1000 pooled, 2 tiers: setup apply {setup_s:.1} s ({} calls); plan {plan_s:.2} s, {n} calls\n{}",
        calls(&setup),
        String::from_utf8_lossy(&plan.stderr)
    );
    assert!(n <= 70, "plan made {n} AWS calls:\n{}", text(&plan));
}
